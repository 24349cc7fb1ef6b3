//! Wire types of people, workspace roles, API tokens and password changes.

use castellan_core::ids::{PersonId, TokenId};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Workspace roles, most privileged first. Exactly one person is `owner`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceRole {
    /// The one owner: everything, including transferring ownership.
    Owner,
    /// Everything but ownership; sees every vault.
    SuperAdmin,
    /// Manages people, vaults, the catalog and the activity log.
    Admin,
    /// Creates and shares accounts; uses what is shared with them.
    User,
    /// Signs in to apps with shared accounts; never sees a password.
    LoginOnly,
    /// An outside collaborator with access to a few shared accounts only.
    Guest,
}

impl From<castellan_core::model::WorkspaceRole> for WorkspaceRole {
    fn from(v: castellan_core::model::WorkspaceRole) -> Self {
        match v {
            castellan_core::model::WorkspaceRole::Owner => Self::Owner,
            castellan_core::model::WorkspaceRole::SuperAdmin => Self::SuperAdmin,
            castellan_core::model::WorkspaceRole::Admin => Self::Admin,
            castellan_core::model::WorkspaceRole::User => Self::User,
            castellan_core::model::WorkspaceRole::LoginOnly => Self::LoginOnly,
            castellan_core::model::WorkspaceRole::Guest => Self::Guest,
        }
    }
}

impl From<WorkspaceRole> for castellan_core::model::WorkspaceRole {
    fn from(v: WorkspaceRole) -> Self {
        match v {
            WorkspaceRole::Owner => Self::Owner,
            WorkspaceRole::SuperAdmin => Self::SuperAdmin,
            WorkspaceRole::Admin => Self::Admin,
            WorkspaceRole::User => Self::User,
            WorkspaceRole::LoginOnly => Self::LoginOnly,
            WorkspaceRole::Guest => Self::Guest,
        }
    }
}

/// A person's state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    /// Invited: has an invitation token and no password yet.
    Invited,
    /// Active.
    Active,
    /// Deactivated: cannot sign in; tokens refused.
    Deactivated,
}

impl From<castellan_core::model::PersonStatus> for PersonStatus {
    fn from(v: castellan_core::model::PersonStatus) -> Self {
        match v {
            castellan_core::model::PersonStatus::Invited => Self::Invited,
            castellan_core::model::PersonStatus::Active => Self::Active,
            castellan_core::model::PersonStatus::Deactivated => Self::Deactivated,
        }
    }
}

impl From<PersonStatus> for castellan_core::model::PersonStatus {
    fn from(v: PersonStatus) -> Self {
        match v {
            PersonStatus::Invited => Self::Invited,
            PersonStatus::Active => Self::Active,
            PersonStatus::Deactivated => Self::Deactivated,
        }
    }
}

/// A person as the API shows them (no hashes).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Person {
    /// Id (UUID).
    #[schema(value_type = String, format = Uuid)]
    pub id: PersonId,
    /// Email, lowercased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Workspace role.
    pub role: WorkspaceRole,
    /// State.
    pub status: PersonStatus,
    /// IdP id, if any.
    pub external_id: Option<String>,
    /// Whether they sign in with a two-step code from their own authenticator.
    #[serde(default)]
    pub two_step: bool,
    /// Creation time (RFC 3339).
    pub created_at: DateTime<Utc>,
}

impl From<castellan_core::model::Person> for Person {
    fn from(v: castellan_core::model::Person) -> Self {
        Self {
            id: v.id,
            email: v.email,
            name: v.name,
            role: v.role.into(),
            status: v.status.into(),
            external_id: v.external_id,
            two_step: v.two_step,
            created_at: v.created_at,
        }
    }
}

/// A token as the API lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiToken {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: TokenId,
    /// Label.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use, if any.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<castellan_core::model::ApiToken> for ApiToken {
    fn from(v: castellan_core::model::ApiToken) -> Self {
        Self {
            id: v.id,
            name: v.name,
            created_at: v.created_at,
            expires_at: v.expires_at,
            last_used_at: v.last_used_at,
            revoked_at: v.revoked_at,
        }
    }
}

/// Inviting a person.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitePerson {
    /// Email (unique in the workspace).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Workspace role (not `owner`: ownership is transferred).
    pub role: WorkspaceRole,
    /// IdP id, if provisioned from the IdP.
    #[serde(default)]
    pub external_id: Option<String>,
}

impl From<InvitePerson> for castellan_core::service::InvitePerson {
    fn from(v: InvitePerson) -> Self {
        Self {
            email: v.email,
            name: v.name,
            role: v.role.into(),
            external_id: v.external_id,
        }
    }
}

/// A new person with their invitation token (shown once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invited {
    /// The person, in status `invited`.
    pub person: Person,
    /// The invitation token: give it to the person; valid for 7 days.
    pub invitation_token: String,
}

impl From<castellan_core::service::Invited> for Invited {
    fn from(v: castellan_core::service::Invited) -> Self {
        Self {
            person: v.person.into(),
            invitation_token: v.invitation_token,
        }
    }
}

/// Changing a person.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    /// New display name.
    #[serde(default)]
    pub name: Option<String>,
    /// New workspace role (not `owner`).
    #[serde(default)]
    pub role: Option<WorkspaceRole>,
    /// `active` or `deactivated`.
    #[serde(default)]
    pub status: Option<PersonStatus>,
}

impl From<PersonPatch> for castellan_core::service::PersonPatch {
    fn from(v: PersonPatch) -> Self {
        Self {
            name: v.name,
            role: v.role.map(Into::into),
            status: v.status.map(Into::into),
        }
    }
}

/// A new API token request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Label.
    pub name: String,
    /// Lifetime in days (1..=365, default 90).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

impl From<NewToken> for castellan_core::service::NewToken {
    fn from(v: NewToken) -> Self {
        Self {
            name: v.name,
            expires_in_days: v.expires_in_days,
        }
    }
}

/// A newly issued token: the secret is shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedApiToken {
    /// The token row.
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret, shown once.
    pub secret: String,
}

impl From<castellan_core::service::IssuedApiToken> for IssuedApiToken {
    fn from(v: castellan_core::service::IssuedApiToken) -> Self {
        Self {
            token: v.token.into(),
            secret: v.secret,
        }
    }
}

/// Changing one's own password.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    #[schema(value_type = String)]
    pub current_password: SecretString,
    /// The new password (at least 12 characters, not the current one).
    #[schema(value_type = String)]
    pub new_password: SecretString,
}

impl From<ChangePassword> for castellan_core::service::ChangePassword {
    fn from(v: ChangePassword) -> Self {
        Self {
            current_password: v.current_password,
            new_password: v.new_password,
        }
    }
}

/// A password that was set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasswordChanged {
    /// The person.
    pub person: Person,
    /// How many of their other web sessions and API tokens were ended.
    pub revoked_tokens: u64,
}

impl From<castellan_core::service::PasswordChanged> for PasswordChanged {
    fn from(v: castellan_core::service::PasswordChanged) -> Self {
        Self {
            person: v.person.into(),
            revoked_tokens: v.revoked_tokens,
        }
    }
}

/// A new password reset link (its token is shown once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasswordResetLink {
    /// Whose password it resets.
    pub person: Person,
    /// The link's token: give it to the person; it works once, for 60 minutes.
    pub reset_token: String,
    /// The web page to open, with the token: `/reset-password?token=…` (prefix the server's
    /// address).
    pub reset_path: String,
    /// When it stops working (RFC 3339).
    pub expires_at: DateTime<Utc>,
}

impl From<castellan_core::service::PasswordResetLink> for PasswordResetLink {
    fn from(v: castellan_core::service::PasswordResetLink) -> Self {
        Self {
            person: v.person.into(),
            reset_token: v.reset_token,
            reset_path: v.reset_path,
            expires_at: v.expires_at,
        }
    }
}
