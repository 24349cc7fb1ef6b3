//! Business hubs, app members, grants, jobs and sync reports: the model of the bot's work.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::connector::{AppMember, MemberState};
use crate::ids::{AccountId, AppId, PersonId};
pub use crate::job_params::{CheckParams, InviteParams, JobParams, RemoveParams, RoleParams};

crate::uuid_id!(/// A business hub.
    HubId, "hub");
crate::uuid_id!(/// A job of the bot.
    JobId, "job");

crate::str_enum!(
    /// Hub status.
    HubStatus, "status" {
        /// Just connected; the account is being validated.
        UnderValidation = "under_validation",
        /// The hub's settings need attention (URL, organization, connector).
        ReviewConfiguration = "review_configuration",
        /// The automation account was refused or lacks permissions.
        ReviewServiceAccount = "review_service_account",
        /// Changes wait: a sync or a plan was halted by the safeguard, or never ran.
        RequiresSync = "requires_sync",
        /// Synced and in line with the grants.
        Healthy = "healthy",
    }
);

crate::str_enum!(
    /// How an app member relates to the workspace.
    Matching, "matching" {
        /// Matched to a person.
        Onboarded = "onboarded",
        /// No person matches.
        Unmatched = "unmatched",
        /// An address outside the workspace's domains.
        Guest = "guest",
        /// Left alone by an admin, with a reason.
        Exempted = "exempted",
    }
);

crate::str_enum!(
    /// The bot's tasks.
    Task, "task" {
        /// Sync members and roles, write a report, plan changes.
        CheckForUpdates = "check_for_updates",
        /// Invite a member.
        InviteMember = "invite_member",
        /// Change a member's app role.
        UpdateMemberRole = "update_member_role",
        /// Remove (or deactivate) a member.
        RemoveMember = "remove_member",
    }
);

crate::str_enum!(
    /// Job states.
    JobState, "state" {
        /// Waiting for a worker.
        Queued = "queued",
        /// Claimed by a worker.
        Started = "started",
        /// Talking to the app.
        Running = "running",
        /// Failed with a retryable error; waits for `run_at`.
        Retrying = "retrying",
        /// Stopped at something only a person can get past (a captcha, a consent screen, a
        /// page the flow does not know): not retried; see [`Attention`]. A person resolves it
        /// by uploading a signed-in session for the automation account or by retrying.
        NeedsAttention = "needs_attention",
        /// Gave up, failed permanently or was cancelled.
        NotCompleted = "not_completed",
        /// Done.
        Completed = "completed",
    }
);

crate::str_enum!(
    /// Why a job needs a person (state `needs_attention`).
    Attention, "attention" {
        /// The app asks for a captcha, a consent or another check only a person can pass.
        Challenge = "challenge",
        /// The app showed a page (or an answer) the connector does not know.
        UnexpectedPage = "unexpected_page",
    }
);

impl Attention {
    /// What the automation log shows: "Captcha resolution required" or "Unexpected page".
    pub fn label(self) -> &'static str {
        match self {
            Self::Challenge => "Captcha resolution required",
            Self::UnexpectedPage => "Unexpected page",
        }
    }
}

crate::str_enum!(
    /// What made a job.
    Trigger, "trigger" {
        /// An admin clicked or ran a command.
        Manual = "manual",
        /// The hub's schedule.
        Schedule = "schedule",
        /// A grant changed (share, role change, revoke, deactivation).
        GrantChange = "grant_change",
        /// An API client.
        Api = "api",
        /// Connecting the hub.
        Connect = "connect",
    }
);

crate::str_enum!(
    /// A hub role: what a person may do with the hub in Castellan.
    HubRole, "hub_role" {
        /// Everything.
        Owner = "owner",
        /// Share, change roles, sync.
        Manager = "manager",
        /// A member of the app through Castellan.
        Collaborator = "collaborator",
    }
);

crate::str_enum!(
    /// How the bot manages a hub's members. Stored and sent as its `snake_case` name.
    #[derive(Default)]
    UserManagement, "user_management" {
        /// With the app's API (the default).
        #[default]
        Api = "api",
        /// On the app's own web pages, in a headless browser.
        Browser = "browser",
    }
);

crate::str_enum!(
    /// How the bot signs in with a hub's automation account. Stored and sent as its
    /// `snake_case` name.
    #[derive(Default)]
    LoginMethod, "login_method" {
        /// Username and password (the default).
        #[default]
        Password = "password",
        /// Password, then a TOTP code from Castellan's authenticator.
        PasswordTotp = "password_totp",
        /// Password, then a code the app emails to the account's managed address.
        PasswordEmailCode = "password_email_code",
    }
);

/// A business hub row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hub {
    /// Id.
    pub id: HubId,
    /// Catalog app.
    pub app_id: AppId,
    /// Label, unique per workspace.
    pub label: String,
    /// The app's organization or business id, if it has one.
    pub organization_id: Option<String>,
    /// The app instance's base URL (self-hosted apps) or API base.
    pub base_url: String,
    /// The connector's other plain settings by key (its settings schema,
    /// `connector::settings`); never secrets.
    #[serde(default)]
    pub settings: std::collections::BTreeMap<String, String>,
    /// The connector that drives the hub when not the app's own (the catalog's `connector`):
    /// `Some("manual")` for a manual hub (tasks for an app admin, [`crate::manual`]).
    #[serde(default)]
    pub connector: Option<String>,
    /// How users are managed (`api` or `browser`).
    pub user_management: UserManagement,
    /// How the bot signs in (`password`, `password_totp`, `password_email_code`).
    pub login_method: LoginMethod,
    /// The automation account item.
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
    pub created_by: Option<PersonId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An app member as the hub keeps it after a sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubMember {
    /// The app's id.
    pub app_member_id: String,
    /// Email (lowercased), if known.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// The app role (first of the member's roles).
    pub app_role: Option<String>,
    /// Every app role the member holds, as the app lists them (an app may give several;
    /// `app_role` is the first). Empty in snapshots taken before roles were kept: then
    /// `app_role` alone counts.
    pub roles: Vec<String>,
    /// State in the app.
    pub state: MemberState,
    /// Matching result.
    pub matching: Matching,
    /// The matched person.
    pub person_id: Option<PersonId>,
    /// Why exempted.
    pub exempt_reason: Option<String>,
    /// First seen by a sync.
    pub first_seen_at: DateTime<Utc>,
    /// Last seen by a sync.
    pub last_seen_at: DateTime<Utc>,
}

impl HubMember {
    /// The member as [`crate::desired::step`] sees it.
    pub fn seen(&self) -> crate::desired::Seen<'_> {
        crate::desired::Seen {
            state: self.state,
            roles: self.held_roles(),
        }
    }

    /// Every role the member holds: [`HubMember::roles`], or `app_role` alone when the snapshot
    /// predates it.
    pub fn held_roles(&self) -> &[String] {
        if self.roles.is_empty() {
            self.app_role.as_slice()
        } else {
            &self.roles
        }
    }

    /// The member as the connector reported it.
    pub fn as_app_member(&self) -> AppMember {
        AppMember {
            app_member_id: self.app_member_id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            roles: self.held_roles().to_vec(),
            state: self.state,
        }
    }
}

/// Desired access: a person given the hub with a hub role and an app role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// The person.
    pub person_id: PersonId,
    /// Hub role.
    pub hub_role: HubRole,
    /// App role.
    pub app_role: String,
    /// `active` or `revoked`.
    pub revoked: bool,
    /// On revoke, keep the member in the app and drop only Castellan's management.
    pub keep_seat: bool,
    /// Roles on resources inside the app, besides the app role; an entry without a role takes
    /// the role the member holds there away ([`crate::resource_roles`]). Ordered by resource.
    #[serde(default)]
    pub resource_roles: Vec<crate::resource_roles::ResourceRole>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One run of a task.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// The hub.
    pub hub_id: HubId,
    /// Task.
    pub task: Task,
    /// State.
    pub state: JobState,
    /// What made it.
    pub trigger: Trigger,
    /// Who asked (email, or `bot`/`schedule`).
    pub actor: String,
    /// The SCIM request that caused the job, when an identity provider's change did: the
    /// request that queued it, or for a write job, the one that queued the check that planned
    /// it. A job merged into one already waiting with its dedupe key names the first request
    /// only. The bot's events about the job carry it as `scim_request`.
    pub scim_request: Option<crate::activity::ScimRequest>,
    /// Target: person email or app member id.
    pub target: Option<String>,
    /// Task parameters, typed per task (always the shape `task` takes).
    pub params: JobParams,
    /// Attempts so far.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Not before.
    pub run_at: DateTime<Utc>,
    /// Worker holding it.
    pub worker_id: Option<String>,
    /// Lease end; a job whose worker died is taken up again after it.
    pub lease_until: Option<DateTime<Utc>>,
    /// Progress text while running.
    pub progress: Option<String>,
    /// At most one waiting job per key (e.g. `member:<hub>:<person>`), and jobs with one key
    /// run one at a time; `None` = no dedupe.
    pub dedupe_key: Option<String>,
    /// Error, when not completed or retrying.
    pub error: Option<String>,
    /// Why a person is needed, when the state is `needs_attention`.
    pub attention: Option<Attention>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What a sync found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// The app's own roles as it listed them at this check, most privileged first (connectors
    /// that read roles from the app, `Capability::ListRoles`); empty otherwise.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The app's resources as it listed them at this check (`Capability::ListResources`):
    /// what a share may give roles on.
    #[serde(default)]
    pub resources: Vec<crate::connector::AppResource>,
    /// Roles on resources planned, one line each: `<app member id> on <resource>: <role|none>`.
    #[serde(default)]
    pub planned_resource_roles: Vec<String>,
    /// The capabilities the connector discovered at this check (`Connector::discover`): what
    /// this app instance really has for the automation account.
    #[serde(default)]
    pub capabilities: Vec<crate::catalog::Capability>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CoreError;

    /// The names are the strings stored and sent before these were enums.
    #[test]
    fn hub_choices_keep_their_names_and_refuse_others_by_field() {
        let names = |all: &[&str]| all.join(",");
        let um: Vec<_> = UserManagement::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(names(&um), "api,browser");
        let lm: Vec<_> = LoginMethod::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(names(&lm), "password,password_totp,password_email_code");
        assert_eq!(UserManagement::default(), UserManagement::Api);
        assert_eq!(LoginMethod::default(), LoginMethod::Password);
        assert_eq!(
            serde_json::to_string(&LoginMethod::PasswordEmailCode).unwrap(),
            "\"password_email_code\""
        );
        assert_eq!(
            "password_totp".parse::<LoginMethod>().unwrap(),
            LoginMethod::PasswordTotp
        );
        match "carrier pigeon".parse::<LoginMethod>() {
            Err(CoreError::Validation { field, message }) => {
                assert_eq!(field, "login_method");
                assert!(message.contains("password_totp"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            "ldap".parse::<UserManagement>(),
            Err(CoreError::Validation { field, .. }) if field == "user_management"
        ));
    }
}
