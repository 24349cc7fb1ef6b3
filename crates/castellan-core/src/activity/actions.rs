//! The catalog of activity actions: every action Castellan writes to the log, with its stored
//! dotted name, what it means, the kind of target it names and the detail fields it records.
//! `docs/activity-actions.md` is generated from this table (see [`catalog_markdown`]).

use std::fmt;
use std::str::FromStr;

/// Declares [`ActivityAction`] from one table: `Variant = "dotted.name", target, [fields], "meaning"`.
macro_rules! activity_actions {
    ($( $variant:ident = $name:literal, $target:expr, [$($field:literal),* $(,)?], $meaning:literal; )+) => {
        /// An action in the activity log. The dotted name ([`ActivityAction::as_str`]) is what is
        /// stored, listed and filtered on; it never changes for an existing action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ActivityAction {
            $(
                #[doc = $meaning]
                $variant,
            )+
        }

        impl ActivityAction {
            const ALL: &'static [ActivityAction] = &[$(ActivityAction::$variant),+];

            /// Every action, in catalog order.
            pub fn all() -> &'static [ActivityAction] {
                Self::ALL
            }

            /// The stored dotted name, e.g. `account.create`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ActivityAction::$variant => $name,)+
                }
            }

            /// What the action means, in one line.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ActivityAction::$variant => $meaning,)+
                }
            }

            /// The kind of target the event names (`account`, `hub`, `person`…), if any.
            pub fn target(self) -> Option<&'static str> {
                match self {
                    $(ActivityAction::$variant => $target,)+
                }
            }

            /// The fields of the event's details object.
            pub fn fields(self) -> &'static [&'static str] {
                match self {
                    $(ActivityAction::$variant => &[$($field),*],)+
                }
            }
        }
    };
}

const ACCOUNT: Option<&str> = Some("account");
const APP: Option<&str> = Some("app");
const HUB: Option<&str> = Some("hub");
const JOB: Option<&str> = Some("job");
const MASTER_KEY: Option<&str> = Some("master_key");
const PERSON: Option<&str> = Some("person");
const TASK: Option<&str> = Some("task");
const TEAM: Option<&str> = Some("team");
const COLLECTION: Option<&str> = Some("collection");
const TOKEN: Option<&str> = Some("token");
const VAULT: Option<&str> = Some("vault");
const WORKSPACE: Option<&str> = Some("workspace");
const NONE: Option<&str> = None;

activity_actions! {
    // The workspace.
    WorkspaceCreate = "workspace.create", WORKSPACE, [], "The workspace was initialized (`castellan init`).";
    WorkspaceSetupTokenReset = "workspace.setup_token_reset", NONE, [], "A new setup token was issued for the unclaimed workspace.";
    WorkspaceClaim = "workspace.claim", PERSON, [], "The workspace was claimed; the target is the new owner.";
    WorkspaceClaimFailed = "workspace.claim_failed", NONE, [], "Someone tried to claim the workspace with a wrong setup token.";
    WorkspaceTransferOwnership = "workspace.transfer_ownership", PERSON, [], "Workspace ownership was transferred; the target is the new owner.";
    // Signing in and tokens.
    AuthSignIn = "auth.sign_in", PERSON, [], "A person signed in.";
    AuthSignInFailed = "auth.sign_in_failed", PERSON, ["reason"], "A sign-in was refused (wrong password or two-step code); the target is set when the person is known.";
    TokenCreate = "token.create", TOKEN, ["kind"], "An API token was created (`kind` is `scim` for a SCIM token, absent for a personal API token).";
    TokenRevoke = "token.revoke", TOKEN, ["kind"], "An API token was revoked (`kind` is `scim` for a SCIM token, absent for a personal API token).";
    TokenUse = "token.use", TOKEN, [], "An API token was used (logged at most once per window).";
    // People.
    PersonInvite = "person.invite", PERSON, ["role"], "A person was invited to the workspace.";
    PersonProvision = "person.provision", PERSON, ["role", "status", "external_id"], "The identity provider (SCIM) created a person: `invited` with no invitation token yet (an admin renews the invitation to hand one over), or `deactivated`.";
    PersonInvitationRenew = "person.invitation_renew", PERSON, ["expires_at"], "A person's invitation was renewed with a new token.";
    PersonAcceptInvitation = "person.accept_invitation", PERSON, [], "A person accepted their invitation and set a password.";
    PersonUpdate = "person.update", PERSON, ["name", "role", "status", "email", "external_id", "user_name", "given_name", "family_name", "emails", "source"], "A person's name, role, status, email or external id was changed (each field present only when changed, as `from`/`to`; email, external id and the addresses as the IdP wrote them (`emails`) only by the identity provider, whose changes carry `source: idp`).";
    PersonDeactivate = "person.deactivate", PERSON, ["name", "role", "status", "email", "external_id", "user_name", "given_name", "family_name", "emails", "source"], "A person was deactivated (their hubs are revoked next); `source: idp` when the identity provider did it, which alone may reactivate them over SCIM.";
    PersonPasswordChange = "person.password_change", PERSON, [], "A person changed their own password.";
    PersonPasswordChangeFailed = "person.password_change_failed", PERSON, [], "A password change was refused: the current password was wrong.";
    PersonPasswordResetIssue = "person.password_reset_issue", PERSON, ["reset_id", "expires_at"], "An admin issued a password reset link for a person.";
    PersonPasswordReset = "person.password_reset", PERSON, ["reset_id"], "A person set a new password with a reset link.";
    PersonPasswordResetFailed = "person.password_reset_failed", PERSON, [], "A password reset link was refused; the target is set when the person is known.";
    PersonOwnerPasswordReset = "person.owner_password_reset", PERSON, [], "The owner's password was reset from the host (`castellan owner reset-password`).";
    PersonTwoStepEnable = "person.two_step_enable", PERSON, [], "A person turned on two-step sign-in.";
    PersonTwoStepEnableFailed = "person.two_step_enable_failed", PERSON, [], "Turning on two-step sign-in was refused: the password was wrong.";
    PersonTwoStepDisable = "person.two_step_disable", PERSON, [], "A person turned off two-step sign-in.";
    PersonTwoStepDisableFailed = "person.two_step_disable_failed", PERSON, [], "Turning off two-step sign-in was refused: the password was wrong.";
    PersonTwoStepReset = "person.two_step_reset", PERSON, [], "A person's two-step sign-in was turned off by an admin or from the host.";
    // Vaults.
    VaultCreate = "vault.create", VAULT, [], "A vault was created.";
    VaultGrant = "vault.grant", VAULT, ["person_id", "email", "role"], "A person was given (or changed) a role on a vault.";
    VaultRevoke = "vault.revoke", VAULT, ["person_id", "email", "role"], "A person's access to a vault was removed.";
    // Accounts.
    AccountCreate = "account.create", ACCOUNT, ["vault_id", "app_id", "setup"], "An account item was created.";
    AccountUpdate = "account.update", ACCOUNT, ["changed"], "An account item was changed; `changed` lists the field names, never values.";
    AccountDelete = "account.delete", ACCOUNT, [], "An account item was deleted.";
    AccountReveal = "account.reveal", ACCOUNT, ["fields"], "Secret fields of an account were revealed.";
    AccountShare = "account.share", ACCOUNT, ["person_id", "email", "role"], "A person was given (or changed) an item role on an account.";
    AccountUnshare = "account.unshare", ACCOUNT, ["person_id", "email", "role"], "A person's access to an account was removed.";
    AccountUse = "account.use", ACCOUNT, ["hub_id", "job_id", "task"], "The bot used an automation account's credentials for a job.";
    AccountTotpSet = "account.totp_set", ACCOUNT, ["kind", "algorithm", "digits", "period", "warnings"], "An account's TOTP/HOTP secret was set (Castellan became its authenticator).";
    AccountTotpRemove = "account.totp_remove", ACCOUNT, [], "An account's TOTP/HOTP secret was removed.";
    AccountTotpCode = "account.totp_code", ACCOUNT, [], "A one-time code for an account was produced (repeated reads logged once per window).";
    AccountTotpVerify = "account.totp_verify", ACCOUNT, [], "A one-time code for an account was checked.";
    AccountTotpExport = "account.totp_export", ACCOUNT, [], "An account's authenticator secret was exported as an `otpauth://` URI.";
    // The app catalog.
    CatalogAddApp = "catalog.add_app", APP, [], "A custom app was added to the catalog.";
    // The shared inbox.
    InboxAddressAssign = "inbox.address_assign", ACCOUNT, ["address"], "A managed email address was assigned to an account.";
    InboxNumbersAdd = "inbox.numbers_add", NONE, ["numbers"], "Phone numbers were added to the workspace's pool.";
    InboxNumberAssign = "inbox.number_assign", ACCOUNT, [], "A managed phone number was assigned to an account.";
    InboxCodeReceived = "inbox.code_received", ACCOUNT, ["message_id", "kind", "from", "has_code", "has_link"], "An email or SMS with a code or link arrived for an account (never the code itself).";
    InboxMessageReceived = "inbox.message_received", ACCOUNT, ["message_id", "kind", "from", "has_code", "has_link"], "An email or SMS with no code or link arrived for an account.";
    InboxRead = "inbox.read", ACCOUNT, ["message_id", "kind"], "A received message was read.";
    InboxCodeRead = "inbox.code_read", ACCOUNT, ["message_id", "kind"], "The latest code or link received for an account was read.";
    InboxPurge = "inbox.purge", NONE, ["older_than_seconds", "before"], "Old inbox messages were deleted by the retention rule.";
    // Business hubs.
    HubConnect = "hub.connect", HUB, ["app_id", "automation_account_id", "warnings"], "A business hub was connected to an app through an automation account.";
    HubUpdate = "hub.update", HUB, [], "A hub's settings were changed.";
    HubOAuthConnect = "hub.oauth_connect", HUB, ["automation_account_id", "pkce", "refresh_token"], "An admin connected a hub with its app over OAuth 2.0: the grant's tokens are kept sealed with the automation account (never in the log).";
    HubSync = "hub.sync", HUB, ["confirm"], "A sync was requested (`confirm` releases a halted sync).";
    HubCheckForUpdates = "hub.check_for_updates", HUB, ["job_id", "total", "new", "changed", "gone", "drift", "halted"], "The bot listed the app's members and wrote a sync report.";
    HubShare = "hub.share", HUB, ["person_id", "email", "hub_role", "app_role"], "A person was granted a hub with a hub role and an app role.";
    HubRevoke = "hub.revoke", HUB, ["person_id", "keep_seat", "reason"], "A person's hub grant was removed (`reason` when done for a deactivation).";
    HubShareTeam = "hub.share_team", HUB, ["team_id", "team_name", "hub_role", "app_role"], "A team was granted a hub (or its roles there changed): each member gets the roles unless a grant of their own or another team's ranks higher.";
    HubRevokeTeam = "hub.revoke_team", HUB, ["team_id", "team_name"], "A team's grant on a hub was removed: members no other grant keeps are removed from the app.";
    HubMemberMatch = "hub.member_match", HUB, ["app_member_id", "person_id"], "An app member was matched to a person.";
    HubMemberExempt = "hub.member_exempt", HUB, ["app_member_id", "reason"], "An app member was exempted from matching.";
    HubMemberRemove = "hub.member_remove", HUB, ["app_member_id"], "Removal of an app member from the app was requested.";
    // Manual hubs: the roster and the app admin's tasks.
    HubRosterUpload = "hub.roster_upload", HUB, ["members"], "A manual hub's roster was uploaded (or typed in); each task it showed done has its own `hub.task_verified` event.";
    HubTaskOpen = "hub.task_open", TASK, ["hub_id", "kind", "email", "role", "assignee", "due_at"], "A task (invite, role change or removal) was opened for a manual hub's app admin, or an open one got a new role.";
    HubTaskDone = "hub.task_done", TASK, ["hub_id", "kind", "email", "role", "assignee", "due_at"], "A manual hub's app admin (or an admin) marked a task done.";
    HubTaskVerified = "hub.task_verified", TASK, ["hub_id", "kind", "email", "role", "assignee", "due_at"], "A roster upload showed a manual hub's task done.";
    HubTaskCancel = "hub.task_cancel", TASK, ["hub_id", "kind", "email", "role", "assignee", "due_at"], "A manual hub's task was cancelled: a check for updates no longer plans its change.";
    // Jobs.
    JobRetry = "job.retry", JOB, [], "A person asked for a job to run again.";
    JobCancel = "job.cancel", JOB, [], "A person cancelled a job.";
    JobSuperseded = "job.superseded", JOB, ["hub_id", "person_id", "reason"], "A pending job was cancelled because a newer decision replaced it (a grant changed, or a newer job with the same key waits); `person_id` is set when a grant change caused it.";
    JobCompleted = "job.completed", JOB, ["hub_id", "attempts", "error", "outcome"], "The bot completed a job.";
    JobRetrying = "job.retrying", JOB, ["hub_id", "attempts", "error", "outcome"], "A job failed with a retryable error and will run again later.";
    JobGaveUp = "job.gave_up", JOB, ["hub_id", "attempts", "error", "outcome"], "A job failed with a retryable error and has no attempts left.";
    JobNotCompleted = "job.not_completed", JOB, ["hub_id", "attempts", "error", "outcome"], "A job failed with an error that retrying will not fix.";
    JobNeedsAttention = "job.needs_attention", JOB, ["hub_id", "attempts", "error", "outcome", "attention"], "A job stopped at something only a person can get past (a captcha, a consent screen, an unexpected page): it waits for a session upload or a retry.";
    JobScreenshotView = "job.screenshot_view", JOB, ["hub_id", "seq"], "A person viewed the screenshot of a job's step (it may show personal data).";
    HubSessionUpload = "hub.session_upload", HUB, ["cookies", "requeued"], "A person uploaded a signed-in session (browser cookies) for a hub's automation account; the jobs that needed attention were queued again.";
    // Teams.
    TeamCreate = "team.create", TEAM, ["kind", "external_id", "members", "source"], "A team was made (`kind` `idp` when the identity provider keeps it, `source: idp` when it made it over SCIM).";
    TeamUpdate = "team.update", TEAM, ["name", "external_id", "added", "added_count", "removed", "removed_count", "source"], "A team's name, external id or members changed (`added` and `removed` list up to 100 person ids; the counts are complete).";
    TeamDelete = "team.delete", TEAM, ["members", "source"], "A team was deleted; its members lost its hubs.";
    // Collections and shares.
    CollectionCreate = "collection.create", COLLECTION, ["description", "accounts"], "A collection (a named set of accounts shared together) was made.";
    CollectionUpdate = "collection.update", COLLECTION, ["name", "description", "added", "removed"], "A collection's name, description or accounts changed (`added` and `removed` list account ids).";
    CollectionDelete = "collection.delete", COLLECTION, ["accounts"], "A collection was deleted; its shares went with it (the accounts stay).";
    ShareGrant = "share.grant", NONE, ["grantee", "target", "role"], "A person or a team was given an item role on a vault, a collection or an account (`grantee` and `target` are `{kind, id, name}`).";
    ShareRevoke = "share.revoke", NONE, ["grantee", "target", "role"], "A person's or a team's share of a vault, a collection or an account was removed (`role` is the one it had).";
    // Keys and the log itself.
    KeysRewrap = "keys.rewrap", MASTER_KEY, ["count"], "Data keys were re-wrapped under the active master key (`castellan keys rotate`).";
    ActivityExport = "activity.export", NONE, [], "The activity log was exported.";
}

impl fmt::Display for ActivityAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown action name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAction(
    /// The name given.
    pub String,
);

impl fmt::Display for UnknownAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an activity action", self.0)
    }
}

impl std::error::Error for UnknownAction {}

impl FromStr for ActivityAction {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::all()
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAction(s.to_owned()))
    }
}

/// The catalog as Markdown: the page committed as `docs/activity-actions.md`.
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "# Activity actions\n\n\
         <!-- Generated from `ActivityAction` in crates/castellan-core/src/activity/actions.rs; \
         do not edit. Regenerate with \
         `CASTELLAN_BLESS=1 cargo test -p castellan-core --test activity_catalog`. -->\n\n\
         Every event in the activity log has one of these actions. The action is stored as its \
         dotted name; the API's `action` filter matches a prefix of it (`account.` lists every \
         account action). The target is the kind of thing the event names (`target_kind`, with \
         its id and label at the time); the fields are the keys of the event's `details` object, \
         which never holds a secret. Besides those, every event written while serving a SCIM \
         request, and every event of the bot about a job such a request caused, has \
         `scim_request`: the request's `method` and `path` (never its query or body).\n\n\
         | action | meaning | target | fields |\n|---|---|---|---|\n",
    );
    for a in ActivityAction::all() {
        let fields = a
            .fields()
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            a.as_str(),
            a.meaning().replace('|', "\\|"),
            a.target().map_or("—".to_owned(), |t| format!("`{t}`")),
            if fields.is_empty() {
                "—".to_owned()
            } else {
                fields
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_dotted_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for a in ActivityAction::all() {
            let name = a.as_str();
            assert!(seen.insert(name), "{name} appears twice");
            let (area, verb) = name.split_once('.').expect("dotted");
            let ok =
                |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            assert!(ok(area) && ok(verb), "{name}");
            assert_eq!(name.parse::<ActivityAction>(), Ok(*a));
            assert_eq!(a.to_string(), name);
            assert!(a.meaning().ends_with('.'), "{name}: one sentence");
        }
        assert!("x.test".parse::<ActivityAction>().is_err());
    }
}
