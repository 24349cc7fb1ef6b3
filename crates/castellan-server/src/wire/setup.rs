//! Wire types of setup, claiming and signing in.

use super::Person;
use castellan_core::ids::TokenId;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether the workspace exists and has an owner.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SetupStatus {
    /// A workspace exists.
    pub initialized: bool,
    /// The owner has claimed it.
    pub claimed: bool,
    /// Workspace name, when initialized.
    pub workspace_name: Option<String>,
}

impl From<castellan_core::service::SetupStatus> for SetupStatus {
    fn from(v: castellan_core::service::SetupStatus) -> Self {
        Self {
            initialized: v.initialized,
            claimed: v.claimed,
            workspace_name: v.workspace_name,
        }
    }
}

/// Claiming the workspace with the setup token.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The setup token printed by `castellan serve` / `castellan init`.
    #[schema(value_type = String)]
    pub setup_token: SecretString,
    /// The owner's email.
    pub email: String,
    /// The owner's name.
    pub name: String,
    /// The owner's password (at least 12 characters).
    #[schema(value_type = String)]
    pub password: SecretString,
}

impl From<Claim> for castellan_core::service::Claim {
    fn from(v: Claim) -> Self {
        Self {
            setup_token: v.setup_token,
            email: v.email,
            name: v.name,
            password: v.password,
        }
    }
}

/// Signing in with email and password.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// Email.
    pub email: String,
    /// Password.
    #[schema(value_type = String)]
    pub password: SecretString,
    /// The person's current two-step code (RFC 6238 TOTP, 6 digits), required when they have
    /// set up two-step sign-in.
    #[serde(default)]
    pub totp_code: Option<String>,
    /// Label for the token created (default "sign-in").
    #[serde(default)]
    pub token_name: Option<String>,
    /// Token lifetime in days (1..=365, default 30).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

impl From<SignIn> for castellan_core::service::SignIn {
    fn from(v: SignIn) -> Self {
        Self {
            email: v.email,
            password: v.password,
            totp_code: v.totp_code,
            token_name: v.token_name,
            expires_in_days: v.expires_in_days,
            web_session: Default::default(),
        }
    }
}

/// A person and the token issued to them (shown once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimResult {
    /// The person.
    pub person: Person,
    /// The new API token: shown once, stored only as a hash.
    pub token: String,
    /// Token id.
    #[schema(value_type = String, format = Uuid)]
    pub token_id: TokenId,
}

impl From<castellan_core::service::ClaimResult> for ClaimResult {
    fn from(v: castellan_core::service::ClaimResult) -> Self {
        Self {
            person: v.person.into(),
            token: v.token,
            token_id: v.token_id,
        }
    }
}

/// Using a password reset link.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UseResetLink {
    /// The link's token (`cst_reset_…`).
    #[schema(value_type = String)]
    pub reset_token: SecretString,
    /// The new password (at least 12 characters).
    #[schema(value_type = String)]
    pub new_password: SecretString,
}

impl From<UseResetLink> for castellan_core::service::UseResetLink {
    fn from(v: UseResetLink) -> Self {
        Self {
            reset_token: v.reset_token,
            new_password: v.new_password,
        }
    }
}
