//! Wire types of business hubs, their members and grants.

use castellan_core::hub::{HubId, LoginMethod, UserManagement};
use castellan_core::ids::{AccountId, AppId, PersonId, VaultId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppResource, ResourceRole};

/// Hub status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HubStatus {
    /// Just connected; the account is being validated.
    UnderValidation,
    /// The hub's settings need attention (URL, organization, connector).
    ReviewConfiguration,
    /// The automation account was refused or lacks permissions.
    ReviewServiceAccount,
    /// Changes wait: a sync or a plan was halted by the safeguard, or never ran.
    RequiresSync,
    /// Synced and in line with the grants.
    Healthy,
}

impl From<castellan_core::hub::HubStatus> for HubStatus {
    fn from(v: castellan_core::hub::HubStatus) -> Self {
        match v {
            castellan_core::hub::HubStatus::UnderValidation => Self::UnderValidation,
            castellan_core::hub::HubStatus::ReviewConfiguration => Self::ReviewConfiguration,
            castellan_core::hub::HubStatus::ReviewServiceAccount => Self::ReviewServiceAccount,
            castellan_core::hub::HubStatus::RequiresSync => Self::RequiresSync,
            castellan_core::hub::HubStatus::Healthy => Self::Healthy,
        }
    }
}

impl From<HubStatus> for castellan_core::hub::HubStatus {
    fn from(v: HubStatus) -> Self {
        match v {
            HubStatus::UnderValidation => Self::UnderValidation,
            HubStatus::ReviewConfiguration => Self::ReviewConfiguration,
            HubStatus::ReviewServiceAccount => Self::ReviewServiceAccount,
            HubStatus::RequiresSync => Self::RequiresSync,
            HubStatus::Healthy => Self::Healthy,
        }
    }
}

/// How an app member relates to the workspace.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Matching {
    /// Matched to a person.
    Onboarded,
    /// No person matches.
    Unmatched,
    /// An address outside the workspace's domains.
    Guest,
    /// Left alone by an admin, with a reason.
    Exempted,
}

impl From<castellan_core::hub::Matching> for Matching {
    fn from(v: castellan_core::hub::Matching) -> Self {
        match v {
            castellan_core::hub::Matching::Onboarded => Self::Onboarded,
            castellan_core::hub::Matching::Unmatched => Self::Unmatched,
            castellan_core::hub::Matching::Guest => Self::Guest,
            castellan_core::hub::Matching::Exempted => Self::Exempted,
        }
    }
}

impl From<Matching> for castellan_core::hub::Matching {
    fn from(v: Matching) -> Self {
        match v {
            Matching::Onboarded => Self::Onboarded,
            Matching::Unmatched => Self::Unmatched,
            Matching::Guest => Self::Guest,
            Matching::Exempted => Self::Exempted,
        }
    }
}

/// A hub role: what a person may do with the hub in Castellan.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HubRole {
    /// Everything.
    Owner,
    /// Share, change roles, sync.
    Manager,
    /// A member of the app through Castellan.
    Collaborator,
}

impl From<castellan_core::hub::HubRole> for HubRole {
    fn from(v: castellan_core::hub::HubRole) -> Self {
        match v {
            castellan_core::hub::HubRole::Owner => Self::Owner,
            castellan_core::hub::HubRole::Manager => Self::Manager,
            castellan_core::hub::HubRole::Collaborator => Self::Collaborator,
        }
    }
}

impl From<HubRole> for castellan_core::hub::HubRole {
    fn from(v: HubRole) -> Self {
        match v {
            HubRole::Owner => Self::Owner,
            HubRole::Manager => Self::Manager,
            HubRole::Collaborator => Self::Collaborator,
        }
    }
}

/// A member's state in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// Can sign in.
    Active,
    /// not yet joined.
    Invited,
    /// Deactivated, suspended or locked (keeps a seat in some apps).
    Deactivated,
}

impl From<castellan_core::connector::MemberState> for MemberState {
    fn from(v: castellan_core::connector::MemberState) -> Self {
        match v {
            castellan_core::connector::MemberState::Active => Self::Active,
            castellan_core::connector::MemberState::Invited => Self::Invited,
            castellan_core::connector::MemberState::Deactivated => Self::Deactivated,
        }
    }
}

impl From<MemberState> for castellan_core::connector::MemberState {
    fn from(v: MemberState) -> Self {
        match v {
            MemberState::Active => Self::Active,
            MemberState::Invited => Self::Invited,
            MemberState::Deactivated => Self::Deactivated,
        }
    }
}

/// A business hub row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Hub {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: HubId,
    /// Catalog app.
    #[schema(value_type = String)]
    pub app_id: AppId,
    /// Label, unique per workspace.
    pub label: String,
    /// The app's organization or business id, if it has one.
    pub organization_id: Option<String>,
    /// The app instance's base URL (self-hosted apps) or API base.
    pub base_url: String,
    /// The connector's other plain settings by key (never secrets).
    pub settings: std::collections::BTreeMap<String, String>,
    /// The connector driving the hub when not its app's own: `manual` for a manual hub, whose
    /// changes are tasks for the app admin named in `settings.app_admin`.
    pub connector: Option<String>,
    /// How users are managed (`api` or `browser`).
    #[schema(value_type = String)]
    pub user_management: UserManagement,
    /// How the bot signs in (`password`, `password_totp`, `password_email_code`).
    #[schema(value_type = String)]
    pub login_method: LoginMethod,
    /// The automation account item.
    #[schema(value_type = String, format = Uuid)]
    pub automation_account_id: AccountId,
    /// Status.
    pub status: HubStatus,
    /// Why, for every status but `healthy`.
    pub status_reason: Option<String>,
    /// Warnings about the automation account (individual account, no managed 2FA).
    pub warnings: Vec<String>,
    /// Share of members (0..=1) above which a sync or plan halts for confirmation.
    pub safeguard_threshold: f64,
    /// Seconds between scheduled syncs.
    pub sync_interval_secs: i64,
    /// Next scheduled sync.
    pub next_sync_at: Option<DateTime<Utc>>,
    /// Last completed sync.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Who connected it.
    #[schema(value_type = Option<String>)]
    pub created_by: Option<PersonId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<castellan_core::hub::Hub> for Hub {
    fn from(v: castellan_core::hub::Hub) -> Self {
        Self {
            id: v.id,
            app_id: v.app_id,
            label: v.label,
            organization_id: v.organization_id,
            base_url: v.base_url,
            settings: v.settings,
            connector: v.connector,
            user_management: v.user_management,
            login_method: v.login_method,
            automation_account_id: v.automation_account_id,
            status: v.status.into(),
            status_reason: v.status_reason,
            warnings: v.warnings,
            safeguard_threshold: v.safeguard_threshold,
            sync_interval_secs: v.sync_interval_secs,
            next_sync_at: v.next_sync_at,
            last_sync_at: v.last_sync_at,
            created_by: v.created_by,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// An app member as the hub keeps it after a sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HubMember {
    /// The app's id.
    pub app_member_id: String,
    /// Email (lowercased), if known.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// The app role (first of the member's roles).
    pub app_role: Option<String>,
    /// Every app role the member holds, as the app lists them (`app_role` is the first).
    pub roles: Vec<String>,
    /// State in the app.
    pub state: MemberState,
    /// Matching result.
    pub matching: Matching,
    /// The matched person.
    #[schema(value_type = Option<String>)]
    pub person_id: Option<PersonId>,
    /// Why exempted.
    pub exempt_reason: Option<String>,
    /// First seen by a sync.
    pub first_seen_at: DateTime<Utc>,
    /// Last seen by a sync.
    pub last_seen_at: DateTime<Utc>,
}

impl From<castellan_core::hub::HubMember> for HubMember {
    fn from(v: castellan_core::hub::HubMember) -> Self {
        let roles = v.held_roles().to_vec();
        Self {
            app_member_id: v.app_member_id,
            email: v.email,
            name: v.name,
            roles,
            app_role: v.app_role,
            state: v.state.into(),
            matching: v.matching.into(),
            person_id: v.person_id,
            exempt_reason: v.exempt_reason,
            first_seen_at: v.first_seen_at,
            last_seen_at: v.last_seen_at,
        }
    }
}

/// Desired access: a person given the hub with a hub role and an app role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    /// The person.
    #[schema(value_type = String, format = Uuid)]
    pub person_id: PersonId,
    /// Hub role.
    pub hub_role: HubRole,
    /// App role.
    pub app_role: String,
    /// `active` or `revoked`.
    pub revoked: bool,
    /// On revoke, keep the member in the app and drop only Castellan's management.
    pub keep_seat: bool,
    /// Roles on resources inside the app; an entry with a null role is one the bot takes away.
    pub resource_roles: Vec<ResourceRole>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<castellan_core::hub::Grant> for Grant {
    fn from(v: castellan_core::hub::Grant) -> Self {
        Self {
            person_id: v.person_id,
            hub_role: v.hub_role.into(),
            app_role: v.app_role,
            revoked: v.revoked,
            keep_seat: v.keep_seat,
            resource_roles: v.resource_roles.into_iter().map(Into::into).collect(),
            updated_at: v.updated_at,
        }
    }
}

/// What a sync found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SyncReport {
    /// Members now.
    pub total: usize,
    /// New since the last sync.
    pub new: Vec<String>,
    /// Changed role, state or email.
    pub changed: Vec<String>,
    /// Gone since the last sync.
    pub gone: Vec<String>,
    /// Counts per matching.
    pub onboarded: usize,
    /// Unmatched members.
    pub unmatched: usize,
    /// Guests.
    pub guests: usize,
    /// Exempted.
    pub exempted: usize,
    /// Invites planned.
    pub planned_invites: Vec<String>,
    /// Role updates planned.
    pub planned_updates: Vec<String>,
    /// Removals planned.
    pub planned_removals: Vec<String>,
    /// Drift: grants not reflected in the app (0 = in line).
    pub drift: usize,
    /// The safeguard halted: the reason.
    pub halted: Option<String>,
    /// The app's own roles as it listed them at this check (connectors that read roles from
    /// the app); empty otherwise.
    pub roles: Vec<String>,
    /// The app's resources as this check listed them (connectors with resources): what a
    /// share's `resource_roles` may name.
    #[serde(default)]
    pub resources: Vec<AppResource>,
    /// Roles on resources planned, one line each: `<member> on <resource>: <role|none>`.
    #[serde(default)]
    pub planned_resource_roles: Vec<String>,
    /// The capabilities the connector found this app instance has at this check.
    #[serde(default)]
    pub capabilities: Vec<super::Capability>,
}

impl From<castellan_core::hub::SyncReport> for SyncReport {
    fn from(v: castellan_core::hub::SyncReport) -> Self {
        Self {
            total: v.total,
            new: v.new,
            changed: v.changed,
            gone: v.gone,
            onboarded: v.onboarded,
            unmatched: v.unmatched,
            guests: v.guests,
            exempted: v.exempted,
            planned_invites: v.planned_invites,
            planned_updates: v.planned_updates,
            planned_removals: v.planned_removals,
            drift: v.drift,
            halted: v.halted,
            roles: v.roles,
            resources: v.resources.into_iter().map(Into::into).collect(),
            planned_resource_roles: v.planned_resource_roles,
            capabilities: v.capabilities.into_iter().map(Into::into).collect(),
        }
    }
}

/// A hub with its latest report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HubDetail {
    /// The hub.
    #[serde(flatten)]
    pub hub: Hub,
    /// App name.
    pub app_name: String,
    /// When the last report was made.
    pub last_report_at: Option<DateTime<Utc>>,
    /// The last report.
    pub last_report: Option<SyncReport>,
    /// Unfinished jobs.
    pub pending_jobs: usize,
}

impl From<castellan_core::service::HubDetail> for HubDetail {
    fn from(v: castellan_core::service::HubDetail) -> Self {
        Self {
            hub: v.hub.into(),
            app_name: v.app_name,
            last_report_at: v.last_report_at,
            last_report: v.last_report.map(Into::into),
            pending_jobs: v.pending_jobs,
        }
    }
}

/// A new placeholder ("ghost") automation account made while connecting.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlaceholder {
    /// The account's username in the app.
    pub username: String,
    /// Vault for the new account (default vault when absent).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub vault_id: Option<VaultId>,
}

impl From<NewPlaceholder> for castellan_core::service::NewPlaceholder {
    fn from(v: NewPlaceholder) -> Self {
        Self {
            username: v.username,
            vault_id: v.vault_id,
        }
    }
}

/// Connecting a hub.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectHub {
    /// Catalog app id or name.
    pub app: String,
    /// Hub label (unique).
    pub label: String,
    /// The app's organization or business id.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The app instance's base URL (default: the account's or the app's login URL origin).
    #[serde(default)]
    pub base_url: Option<String>,
    /// `api` (default) or `browser`.
    #[serde(default)]
    pub user_management: Option<String>,
    /// `password` (default), `password_totp` or `password_email_code`.
    #[serde(default)]
    pub login_method: Option<String>,
    /// An existing account item to use as the automation account.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub automation_account_id: Option<AccountId>,
    /// Or a new placeholder account with a generated password.
    #[serde(default)]
    pub placeholder: Option<NewPlaceholder>,
    /// Safeguard threshold, 0.0..=1.0 (default 0.2).
    #[serde(default)]
    pub safeguard_threshold: Option<f64>,
    /// Seconds between scheduled syncs, 300..=2592000 (default 86400).
    #[serde(default)]
    pub sync_interval_secs: Option<i64>,
    /// The connector's other plain settings by key, as its settings schema declares them
    /// (`GET /api/v1/catalog/{app}/connector`). Secrets such as an API token are not given
    /// here: they are secret custom fields of the automation account.
    #[serde(default)]
    pub settings: std::collections::BTreeMap<String, String>,
    /// `manual` to make the hub a manual one (any catalog app: members from an uploaded
    /// roster, changes as tasks for an app admin); default: the app's own connector.
    #[serde(default)]
    pub connector: Option<String>,
}

impl From<ConnectHub> for castellan_core::service::ConnectHub {
    fn from(v: ConnectHub) -> Self {
        Self {
            app: v.app,
            label: v.label,
            organization_id: v.organization_id,
            base_url: v.base_url,
            user_management: v.user_management,
            login_method: v.login_method,
            automation_account_id: v.automation_account_id,
            placeholder: v.placeholder.map(Into::into),
            safeguard_threshold: v.safeguard_threshold,
            sync_interval_secs: v.sync_interval_secs,
            settings: v.settings,
            connector: v.connector,
        }
    }
}

/// Changing a hub's settings.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HubPatch {
    /// New label.
    #[serde(default)]
    pub label: Option<String>,
    /// New base URL.
    #[serde(default)]
    pub base_url: Option<String>,
    /// New safeguard threshold.
    #[serde(default)]
    pub safeguard_threshold: Option<f64>,
    /// New schedule.
    #[serde(default)]
    pub sync_interval_secs: Option<i64>,
    /// Another automation account.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub automation_account_id: Option<AccountId>,
    /// The connector's plain settings, replacing the hub's (checked against its schema).
    #[serde(default)]
    pub settings: Option<std::collections::BTreeMap<String, String>>,
}

impl From<HubPatch> for castellan_core::service::HubPatch {
    fn from(v: HubPatch) -> Self {
        Self {
            label: v.label,
            base_url: v.base_url,
            safeguard_threshold: v.safeguard_threshold,
            sync_interval_secs: v.sync_interval_secs,
            automation_account_id: v.automation_account_id,
            settings: v.settings,
        }
    }
}

/// Sharing a hub (or changing the app role).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareHub {
    /// Hub role (default collaborator).
    #[serde(default)]
    pub hub_role: Option<HubRole>,
    /// App role (default: the connector's default role).
    #[serde(default)]
    pub app_role: Option<String>,
    /// Roles on resources inside the app. Absent: the grant's stay as they are; a list
    /// replaces them, and a resource the grant named before that the list leaves out loses its
    /// role. Each names a resource of the hub's last report.
    #[serde(default)]
    pub resource_roles: Option<Vec<ResourceRole>>,
}

impl From<ShareHub> for castellan_core::service::ShareHub {
    fn from(v: ShareHub) -> Self {
        Self {
            hub_role: v.hub_role.map(Into::into),
            app_role: v.app_role,
            resource_roles: v
                .resource_roles
                .map(|r| r.into_iter().map(Into::into).collect()),
        }
    }
}

/// Revoking people's access.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeHub {
    /// The people.
    #[schema(value_type = Vec<String>)]
    pub person_ids: Vec<PersonId>,
    /// Keep their seat: drop only Castellan's management.
    #[serde(default)]
    pub keep_seat: bool,
}

impl From<RevokeHub> for castellan_core::service::RevokeHub {
    fn from(v: RevokeHub) -> Self {
        Self {
            person_ids: v.person_ids,
            keep_seat: v.keep_seat,
        }
    }
}

/// What to do with an unmatched member.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "action", deny_unknown_fields)]
pub enum MemberAction {
    /// Match to a person.
    Match {
        /// The person.
        #[schema(value_type = String, format = Uuid)]
        person_id: PersonId,
    },
    /// Exempt with a reason.
    Exempt {
        /// Why.
        reason: String,
    },
    /// Remove from the app.
    Remove,
}

impl From<MemberAction> for castellan_core::service::MemberAction {
    fn from(v: MemberAction) -> Self {
        match v {
            MemberAction::Match { person_id } => Self::Match { person_id },
            MemberAction::Exempt { reason } => Self::Exempt { reason },
            MemberAction::Remove => Self::Remove,
        }
    }
}
