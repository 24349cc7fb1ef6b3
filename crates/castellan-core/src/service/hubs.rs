//! Business hubs: connect, list, show, members, grants (share, change role, revoke), matching
//! and exemptions, syncs on demand, and the automation log.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::{AccountInput, AccountView};
use super::{Castellan, Hubs};
use crate::activity::{Actor, NewEvent};
use crate::desired::{member_job_key, supersede_prefix};
use crate::error::{CoreError, CoreResult};
use crate::hub::{
    Grant, Hub, HubId, HubMember, HubRole, HubStatus, Job, JobId, JobState, Matching, SyncReport,
    Task, Trigger,
};
use crate::ids::{AccountId, PersonId, VaultId};
use crate::model::{AccountSetup, PersonStatus};
use crate::permissions::{can, Permit};
use crate::ports::{JobFilter, Supersede};
use crate::validate;

/// Default safeguard threshold: a sync or plan that would remove more than 20% halts.
pub const DEFAULT_SAFEGUARD: f64 = 0.2;
/// Default schedule: daily.
pub const DEFAULT_SYNC_INTERVAL_SECS: i64 = 86_400;
/// Attempts before a job gives up.
pub const MAX_ATTEMPTS: i32 = 5;

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
    pub last_report_at: Option<chrono::DateTime<Utc>>,
    /// The last report.
    pub last_report: Option<SyncReport>,
    /// Unfinished jobs.
    pub pending_jobs: usize,
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

impl Castellan {
    // Eight arguments until job parameters are typed per task (issue 11, point 5).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_job(
        &self,
        hub: HubId,
        task: Task,
        trigger: Trigger,
        actor: &Actor,
        target: Option<String>,
        params: serde_json::Value,
        dedupe: Option<String>,
    ) -> Job {
        let now = self.now();
        Job {
            id: JobId::new(),
            hub_id: hub,
            task,
            state: JobState::Queued,
            trigger,
            actor: actor.name.clone(),
            target,
            params,
            attempts: 0,
            max_attempts: MAX_ATTEMPTS,
            run_at: now,
            worker_id: None,
            lease_until: None,
            progress: None,
            dedupe_key: dedupe,
            error: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// A `check_for_updates` job for a hub (one unfinished per hub).
    pub(crate) fn sync_job(
        &self,
        hub: HubId,
        trigger: Trigger,
        actor: &Actor,
        confirm: bool,
    ) -> Job {
        self.new_job(
            hub,
            Task::CheckForUpdates,
            trigger,
            actor,
            None,
            serde_json::json!({ "confirm": confirm }),
            Some(format!("sync:{hub}:{confirm}")),
        )
    }
}

/// The write jobs a change of `person`'s grant on `hub` makes obsolete, with the reason and
/// the `job.superseded` event for the automation log.
fn supersede(
    now: DateTime<Utc>,
    actor: &Actor,
    hub: HubId,
    person: PersonId,
    what: &str,
) -> Supersede {
    let reason = format!("superseded: the grant was {what} by {}", actor.name);
    let event = NewEvent::new(actor, "job.superseded", now)
        .details(serde_json::json!({ "hub_id": hub, "person_id": person, "reason": reason }));
    Supersede {
        key_prefix: supersede_prefix(hub, person),
        reason,
        event,
    }
}

fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}

impl Castellan {
    async fn hub_record(&self, id: HubId) -> CoreResult<Hub> {
        self.store
            .hub(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "hub" })
    }

    async fn connector_roles(&self, hub: &Hub) -> CoreResult<(Vec<String>, String)> {
        let app = self
            .all_apps()
            .await?
            .into_iter()
            .find(|a| a.id == hub.app_id)
            .ok_or(CoreError::NotFound { kind: "app" })?;
        let from_connector = app
            .connector
            .as_deref()
            .and_then(|c| self.connectors.as_ref().and_then(|r| r.connector(c)))
            .map(|c| c.describe());
        Ok(match from_connector {
            Some(info) => (info.roles, info.default_role),
            None => {
                let default = app.roles.last().cloned().unwrap_or_else(|| "user".into());
                (app.roles, default)
            }
        })
    }

    /// Deactivation of a person: revokes their grants on every hub (called by `update_person`).
    pub(crate) async fn revoke_everywhere(
        &self,
        actor: &Actor,
        person: PersonId,
    ) -> CoreResult<()> {
        // Every hub re-plans: members matched to the person are removed even without a grant.
        // Their desired state changed, so jobs running now queue a follow-up when they finish.
        let hubs: Vec<HubId> = self.store.hubs().await?.iter().map(|h| h.id).collect();
        let syncs: Vec<Job> = hubs
            .iter()
            .map(|h| self.sync_job(*h, Trigger::GrantChange, actor, false))
            .collect();
        self.store.mark_desired_changed(&hubs, &syncs).await?;
        for (hub, mut g) in self.store.grants_of_person(person).await? {
            if g.revoked {
                continue;
            }
            g.revoked = true;
            g.updated_at = self.now();
            let ev = NewEvent::new(actor, "hub.revoke", self.now())
                .target("hub", hub, "")
                .details(
                    serde_json::json!({ "person_id": person, "reason": "person deactivated" }),
                );
            self.store
                .upsert_grant(
                    hub,
                    &g,
                    &supersede(
                        self.now(),
                        actor,
                        hub,
                        person,
                        "revoked: the person was deactivated",
                    ),
                    &[self.sync_job(hub, Trigger::GrantChange, actor, false)],
                    &ev,
                )
                .await?;
        }
        Ok(())
    }

    /// The automation account's credentials for one bot call, decrypted now and recorded as
    /// `account.use` by the bot, with its shared inbox (codes read as the bot, each wait capped
    /// at `max_code_wait`).
    pub(crate) async fn bot_context(
        &self,
        hub: &Hub,
        job: &Job,
        max_code_wait: std::time::Duration,
    ) -> CoreResult<crate::connector::ConnectorContext> {
        let acc = self
            .store
            .account(hub.automation_account_id)
            .await?
            .ok_or(CoreError::NotFound { kind: "account" })?;
        let plain = self.open_fields(&acc).await?;
        let password = plain
            .iter()
            .find(|(f, _)| f == super::accounts::PASSWORD)
            .map(|(_, v)| secrecy::SecretString::from(v.clone()))
            .ok_or_else(|| {
                CoreError::invalid(
                    "automation_account_id",
                    "the automation account has no password",
                )
            })?;
        let bot = Actor::bot(&format!("bot ({})", job.task));
        let ev = NewEvent::new(&bot, "account.use", self.now())
            .target("account", acc.id, &acc.label)
            .details(serde_json::json!({ "hub_id": hub.id, "job_id": job.id, "task": job.task }));
        self.store.append(&ev).await?;
        Ok(crate::connector::ConnectorContext {
            base_url: hub.base_url.clone(),
            organization_id: hub.organization_id.clone(),
            username: acc.username.clone().unwrap_or_default(),
            password,
            totp: self.otp_params(&acc).await?.map(|(_, p)| p),
            codes: Some(std::sync::Arc::new(super::inbox::InboxCodeWaiter::new(
                self.clone(),
                acc.id,
                bot.permit()?,
                max_code_wait,
            ))),
            timeout: std::time::Duration::from_secs(30),
        })
    }
}

impl Hubs<'_> {
    /// Connects a hub. Checks the app has a connector, the account-setup rules (an
    /// `idp_provisioned` account needs an app with SAML SSO), makes a placeholder account when
    /// asked, records warnings (individual account, no 2FA managed by Castellan), sets the status
    /// `under_validation` and queues `check_for_updates`. Needs `HubManage`.
    pub async fn connect(
        &self,
        permit: &Permit<can::HubManage>,
        input: ConnectHub,
    ) -> CoreResult<Hub> {
        let actor = permit.actor();
        let label = validate::text("label", &input.label, validate::MAX_LABEL)?;
        let app = self
            .catalog()
            .get(&actor.permit()?, input.app.trim())
            .await
            .map_err(|_| {
                CoreError::invalid(
                    "app",
                    format!("`{}` is not a catalog app", validate::clip(&input.app)),
                )
            })?;
        let connector = app.connector.clone().ok_or_else(|| {
            CoreError::invalid(
                "app",
                format!("Castellan has no connector for {} yet", app.name),
            )
        })?;
        if let Some(reg) = &self.connectors {
            if reg.connector(&connector).is_none() {
                return Err(CoreError::invalid(
                    "app",
                    format!("the `{connector}` connector is not available in this build"),
                ));
            }
        }
        let threshold = input.safeguard_threshold.unwrap_or(DEFAULT_SAFEGUARD);
        if !(0.0..=1.0).contains(&threshold) || threshold.is_nan() {
            return Err(CoreError::invalid(
                "safeguard_threshold",
                "must be between 0 and 1",
            ));
        }
        let interval = input
            .sync_interval_secs
            .unwrap_or(DEFAULT_SYNC_INTERVAL_SECS);
        if !(300..=2_592_000).contains(&interval) {
            return Err(CoreError::invalid(
                "sync_interval_secs",
                "must be between 300 (5 minutes) and 2592000 (30 days)",
            ));
        }
        let user_management = input.user_management.unwrap_or_else(|| "api".into());
        if !matches!(user_management.as_str(), "api" | "browser") {
            return Err(CoreError::invalid(
                "user_management",
                "must be `api` or `browser`",
            ));
        }
        let login_method = input.login_method.unwrap_or_else(|| "password".into());
        if !matches!(
            login_method.as_str(),
            "password" | "password_totp" | "password_email_code"
        ) {
            return Err(CoreError::invalid(
                "login_method",
                "must be `password`, `password_totp` or `password_email_code`",
            ));
        }
        let organization_id = validate::opt_text(
            "organization_id",
            input.organization_id.as_deref(),
            validate::MAX_LABEL,
        )?;
        let key = validate::label_key(&label);
        if self
            .store
            .hubs()
            .await?
            .iter()
            .any(|h| validate::label_key(&h.label) == key)
        {
            return Err(CoreError::Conflict(format!(
                "a hub labelled `{label}` already exists"
            )));
        }
        let account: AccountView = match (input.automation_account_id, &input.placeholder) {
            (Some(_), Some(_)) => {
                return Err(CoreError::invalid(
                    "automation_account_id",
                    "choose an existing account or a placeholder, not both",
                ))
            }
            (None, None) => {
                return Err(CoreError::invalid(
                    "automation_account_id",
                    "choose the automation account, or ask for a placeholder",
                ))
            }
            (Some(id), None) => {
                self.accounts()
                    .get(&actor.permit()?, id)
                    .await
                    .map_err(|e| match e {
                        CoreError::NotFound { .. } => CoreError::invalid(
                            "automation_account_id",
                            "no such account that you can reach",
                        ),
                        other => other,
                    })?
            }
            (None, Some(p)) => {
                let input = AccountInput {
                    label: format!("{} automation ({label})", app.name),
                    app: Some(app.id.to_string()),
                    login_url: input.base_url.clone(),
                    username: Some(p.username.clone()),
                    password: None,
                    generate_password: true,
                    vault_id: p.vault_id,
                    setup: Some(AccountSetup::Placeholder),
                    notes: None,
                    custom_fields: vec![],
                    backup_codes: vec![],
                };
                self.accounts().create(&actor.permit()?, input).await?
            }
        };
        // Pointing the bot at a URL sends it the account's password: only someone who may reveal
        // the password may choose the account and the URL.
        self.account_for(actor, account.id, crate::permissions::ItemAction::Reveal)
            .await?;
        account_fits_app(&account, &app)?;
        if account.setup == AccountSetup::IdpProvisioned && !app.saml_sso {
            return Err(CoreError::invalid(
                "automation_account_id",
                format!("{} does not support SAML SSO, so an `idp_provisioned` automation account cannot work", app.name),
            ));
        }
        if !account.has_password {
            return Err(CoreError::invalid(
                "automation_account_id",
                "the automation account has no password stored",
            ));
        }
        let mut warnings = vec![];
        if account.setup == AccountSetup::Individual {
            warnings.push("the automation account is a person's individual account: use a dedicated (placeholder or IdP-provisioned) account".to_owned());
        }
        if !account.has_totp {
            warnings.push("the automation account has no 2FA managed by Castellan: turn on 2FA with Castellan as the authenticator".to_owned());
        }
        let base_url = match input.base_url.as_deref() {
            Some(u) => validate::http_url("base_url", u)?
                .origin()
                .ascii_serialization(),
            None => account
                .login_url
                .as_deref()
                .and_then(origin_of)
                .or_else(|| app.login_urls.first().and_then(|u| origin_of(u)))
                .ok_or_else(|| CoreError::invalid("base_url", "give the app's base URL"))?,
        };
        let now = self.now();
        let hub = Hub {
            id: HubId::new(),
            app_id: app.id.clone(),
            label,
            organization_id,
            base_url,
            user_management,
            login_method,
            automation_account_id: account.id,
            status: HubStatus::UnderValidation,
            status_reason: Some("validating the automation account".into()),
            warnings,
            safeguard_threshold: threshold,
            sync_interval_secs: interval,
            next_sync_at: Some(now + Duration::seconds(interval)),
            last_sync_at: None,
            created_by: actor.person_id,
            created_at: now,
            updated_at: now,
        };
        let job = self.sync_job(hub.id, Trigger::Connect, actor, false);
        let ev = NewEvent::new(actor, "hub.connect", self.now())
            .target("hub", hub.id, &hub.label)
            .details(serde_json::json!({ "app_id": hub.app_id, "automation_account_id": hub.automation_account_id, "warnings": hub.warnings }));
        self.store.insert_hub(&hub, &[job], &ev).await?;
        Ok(hub)
    }

    /// Every hub. Needs `HubRead`.
    pub async fn list(&self, _: &Permit<can::HubRead>) -> CoreResult<Vec<Hub>> {
        self.store.hubs().await
    }

    /// One hub with its latest report. Needs `HubRead`.
    pub async fn get(&self, _: &Permit<can::HubRead>, id: HubId) -> CoreResult<HubDetail> {
        let hub = self.hub_record(id).await?;
        let report = self.store.last_report(id).await?;
        let pending = self
            .store
            .jobs(&JobFilter {
                hub_id: Some(id),
                states: Some(unfinished()),
                limit: Some(10_000),
            })
            .await?
            .len();
        let app_name = self
            .all_apps()
            .await?
            .into_iter()
            .find(|a| a.id == hub.app_id)
            .map(|a| a.name)
            .unwrap_or_default();
        Ok(HubDetail {
            app_name,
            last_report_at: report.as_ref().map(|r| r.0),
            last_report: report.map(|r| r.1),
            pending_jobs: pending,
            hub,
        })
    }

    /// Changes a hub's settings. Needs `HubManage`.
    pub async fn update(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        p: HubPatch,
    ) -> CoreResult<Hub> {
        let actor = permit.actor();
        let mut hub = self.hub_record(id).await?;
        if let Some(l) = &p.label {
            hub.label = validate::text("label", l, validate::MAX_LABEL)?;
        }
        if p.base_url.is_some() || p.automation_account_id.is_some() {
            let acc = p.automation_account_id.unwrap_or(hub.automation_account_id);
            self.account_for(actor, acc, crate::permissions::ItemAction::Reveal)
                .await?;
        }
        if let Some(u) = &p.base_url {
            hub.base_url = validate::http_url("base_url", u)?
                .origin()
                .ascii_serialization();
        }
        if let Some(t) = p.safeguard_threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(CoreError::invalid(
                    "safeguard_threshold",
                    "must be between 0 and 1",
                ));
            }
            hub.safeguard_threshold = t;
        }
        if let Some(i) = p.sync_interval_secs {
            if !(300..=2_592_000).contains(&i) {
                return Err(CoreError::invalid(
                    "sync_interval_secs",
                    "must be between 300 and 2592000",
                ));
            }
            hub.sync_interval_secs = i;
            hub.next_sync_at = Some(self.now() + Duration::seconds(i));
        }
        if let Some(a) = p.automation_account_id {
            let account = self.accounts().get(&actor.permit()?, a).await?;
            let app = self
                .catalog()
                .get(&actor.permit()?, hub.app_id.as_str())
                .await?;
            account_fits_app(&account, &app)?;
            hub.automation_account_id = a;
        }
        hub.updated_at = self.now();
        let ev = NewEvent::new(actor, "hub.update", self.now()).target("hub", hub.id, &hub.label);
        self.store.update_hub(&hub, Some(&ev)).await?;
        Ok(hub)
    }

    /// Queues `check_for_updates`; with `confirm`, a plan halted by the safeguard proceeds.
    /// Needs `HubManage`. Returns the job (or the unfinished one already queued).
    pub async fn sync(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        confirm: bool,
        trigger: Trigger,
    ) -> CoreResult<Job> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        let job = self.sync_job(hub.id, trigger, actor, confirm);
        let ev = NewEvent::new(actor, "hub.sync", self.now())
            .target("hub", hub.id, &hub.label)
            .details(serde_json::json!({ "confirm": confirm }));
        let ids = self
            .store
            .enqueue(std::slice::from_ref(&job), Some(&ev))
            .await?;
        if ids.contains(&job.id) {
            return Ok(job);
        }
        let pending = self
            .store
            .jobs(&JobFilter {
                hub_id: Some(id),
                states: Some(unfinished()),
                limit: Some(100),
            })
            .await?;
        pending
            .into_iter()
            .find(|j| j.task == Task::CheckForUpdates)
            .ok_or_else(|| CoreError::Conflict("a sync is already running; try again".into()))
    }

    /// The member snapshot, optionally one matching tab. Needs `HubRead`.
    pub async fn members(
        &self,
        _: &Permit<can::HubRead>,
        id: HubId,
        matching: Option<Matching>,
    ) -> CoreResult<Vec<HubMember>> {
        self.hub_record(id).await?;
        let all = self.store.hub_members(id).await?;
        Ok(all
            .into_iter()
            .filter(|m| matching.is_none_or(|x| m.matching == x))
            .collect())
    }

    /// The hub's grants. Needs `HubRead`.
    pub async fn grants(&self, _: &Permit<can::HubRead>, id: HubId) -> CoreResult<Vec<Grant>> {
        self.hub_record(id).await?;
        self.store.grants(id).await
    }

    /// Shares the hub with a person (or changes their app role): the bot then invites them or
    /// updates their role. Needs `HubManage`.
    pub async fn share(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        person: PersonId,
        s: ShareHub,
    ) -> CoreResult<Grant> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        let p = self.person_record(person).await?;
        if p.status == PersonStatus::Deactivated {
            return Err(CoreError::invalid(
                "person_id",
                "this person is deactivated",
            ));
        }
        let (roles, default) = self.connector_roles(&hub).await?;
        let app_role = s
            .app_role
            .map(|r| r.trim().to_lowercase())
            .unwrap_or(default);
        if !roles.contains(&app_role) {
            return Err(CoreError::invalid(
                "app_role",
                format!(
                    "`{}` is not one of the app's roles: {}",
                    validate::clip(&app_role),
                    roles.join(", ")
                ),
            ));
        }
        let g = Grant {
            person_id: person,
            hub_role: s.hub_role.unwrap_or(HubRole::Collaborator),
            app_role,
            revoked: false,
            keep_seat: false,
            updated_at: self.now(),
        };
        let ev = NewEvent::new(actor, "hub.share", self.now())
            .target("hub", hub.id, &hub.label)
            .details(serde_json::json!({ "person_id": p.id, "email": p.email, "hub_role": g.hub_role, "app_role": g.app_role }));
        let why = format!("shared with app role `{}`", g.app_role);
        self.store
            .upsert_grant(
                id,
                &g,
                &supersede(self.now(), actor, id, person, &why),
                &[self.sync_job(id, Trigger::GrantChange, actor, false)],
                &ev,
            )
            .await?;
        Ok(g)
    }

    /// Revokes people's grants: the bot removes them (or, with keep-seat, only stops managing
    /// them). All revocations land in one plan, so the safeguard sees them together.
    pub async fn revoke(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        r: RevokeHub,
    ) -> CoreResult<Vec<Grant>> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        if r.person_ids.is_empty() {
            return Err(CoreError::invalid("person_ids", "name at least one person"));
        }
        let grants = self.store.grants(id).await?;
        let mut out = vec![];
        for (i, pid) in r.person_ids.iter().enumerate() {
            let mut g = grants
                .iter()
                .find(|g| g.person_id == *pid && !g.revoked)
                .cloned()
                .ok_or_else(|| {
                    CoreError::invalid(
                        format!("person_ids[{i}]"),
                        "this person holds no active grant on the hub",
                    )
                })?;
            g.revoked = true;
            g.keep_seat = r.keep_seat;
            g.updated_at = self.now();
            out.push(g);
        }
        let last = out.len() - 1;
        for (i, g) in out.iter().enumerate() {
            let ev = NewEvent::new(actor, "hub.revoke", self.now())
                .target("hub", hub.id, &hub.label)
                .details(serde_json::json!({ "person_id": g.person_id, "keep_seat": g.keep_seat }));
            // One sync job after the last grant: the plan sees every revocation at once.
            let jobs = if i == last {
                vec![self.sync_job(id, Trigger::GrantChange, actor, false)]
            } else {
                vec![]
            };
            let why = if g.keep_seat {
                "revoked, keeping the seat"
            } else {
                "revoked"
            };
            self.store
                .upsert_grant(
                    id,
                    g,
                    &supersede(self.now(), actor, id, g.person_id, why),
                    &jobs,
                    &ev,
                )
                .await?;
        }
        Ok(out)
    }

    /// Matches an unmatched member to a person, exempts them with a reason, or removes them.
    pub async fn act_on_member(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        app_member_id: &str,
        a: MemberAction,
    ) -> CoreResult<HubMember> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        let mut m = self
            .store
            .hub_members(id)
            .await?
            .into_iter()
            .find(|m| m.app_member_id == app_member_id)
            .ok_or(CoreError::NotFound { kind: "member" })?;
        match a {
            MemberAction::Match { person_id } => {
                let p = self.person_record(person_id).await?;
                if p.status == crate::model::PersonStatus::Deactivated {
                    // The next sync would plan this member's removal (a deactivated person has
                    // no access): exempt the member instead, or reactivate the person.
                    return Err(CoreError::invalid(
                        "person_id",
                        format!(
                            "{} is deactivated; matching would remove this member from the app",
                            p.email
                        ),
                    ));
                }
                m.matching = Matching::Onboarded;
                m.person_id = Some(p.id);
                m.exempt_reason = None;
                let ev = NewEvent::new(actor, "hub.member_match", self.now())
                    .target("hub", hub.id, &hub.label)
                    .details(
                        serde_json::json!({ "app_member_id": m.app_member_id, "person_id": p.id }),
                    );
                self.store.upsert_hub_member(id, &m, Some(&ev)).await?;
            }
            MemberAction::Exempt { reason } => {
                let reason = validate::text("reason", &reason, 500)?;
                m.matching = Matching::Exempted;
                m.exempt_reason = Some(reason.clone());
                let ev = NewEvent::new(actor, "hub.member_exempt", self.now())
                    .target("hub", hub.id, &hub.label)
                    .details(
                        serde_json::json!({ "app_member_id": m.app_member_id, "reason": reason }),
                    );
                self.store.upsert_hub_member(id, &m, Some(&ev)).await?;
            }
            MemberAction::Remove => {
                if let Some(pid) = m.person_id {
                    let grants = self.store.grants(id).await?;
                    if grants.iter().any(|g| g.person_id == pid && !g.revoked) {
                        // The grant would bring the member back: one intent at a time.
                        return Err(CoreError::Conflict(
                            "this member's person holds an active grant on the hub: revoke the grant instead".into(),
                        ));
                    }
                }
                // An admin's explicit removal (no person in the parameters: the job removes,
                // whatever the grants say); a later grant for the person supersedes it.
                let job = self.new_job(
                    id,
                    Task::RemoveMember,
                    Trigger::Manual,
                    actor,
                    Some(m.app_member_id.clone()),
                    serde_json::json!({
                        "app_member_ids": [m.app_member_id], "manual": true, "person_id": m.person_id,
                    }),
                    Some(member_job_key(id, m.person_id, Some(&m.app_member_id))),
                );
                let ev = NewEvent::new(actor, "hub.member_remove", self.now())
                    .target("hub", hub.id, &hub.label)
                    .details(serde_json::json!({ "app_member_id": m.app_member_id }));
                if self.store.enqueue(&[job], Some(&ev)).await?.is_empty() {
                    return Err(CoreError::Conflict(
                        "the bot already has a pending job for this member: wait for it to finish"
                            .into(),
                    ));
                }
            }
        }
        Ok(m)
    }

    /// The automation log: jobs, newest first. Needs `HubRead`.
    pub async fn jobs(&self, _: &Permit<can::HubRead>, f: JobFilter) -> CoreResult<Vec<Job>> {
        let mut f = f;
        f.limit = Some(f.limit.unwrap_or(100).min(1000));
        self.store.jobs(&f).await
    }

    /// One job. Needs `HubRead`.
    pub async fn job(&self, _: &Permit<can::HubRead>, id: JobId) -> CoreResult<Job> {
        self.store
            .job(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "job" })
    }

    /// Queues a `not_completed` job again. Needs `HubManage`.
    pub async fn retry_job(&self, permit: &Permit<can::HubManage>, id: JobId) -> CoreResult<Job> {
        let actor = permit.actor();
        let mut j = self
            .store
            .job(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "job" })?;
        if j.state != JobState::NotCompleted {
            return Err(CoreError::Conflict(format!(
                "only a not_completed job can be retried; this one is {}",
                j.state
            )));
        }
        if j.error
            .as_deref()
            .is_some_and(|e| e.starts_with("superseded"))
        {
            // A newer grant change replaced it: running it now would undo that change.
            return Err(CoreError::Conflict(
                "this job was superseded by a newer change to the grant and cannot run again; check for updates instead".into(),
            ));
        }
        j.state = JobState::Queued;
        j.attempts = 0;
        j.error = None;
        j.worker_id = None;
        j.lease_until = None;
        j.run_at = self.now();
        j.updated_at = j.run_at;
        let ev = NewEvent::new(actor, "job.retry", self.now()).target("job", j.id, j.task.as_str());
        if !self
            .store
            .update_job_if(&j, &[JobState::NotCompleted], &ev)
            .await?
        {
            return Err(CoreError::Conflict("the job changed; reload".into()));
        }
        Ok(j)
    }

    /// Cancels a queued or retrying job. Needs `HubManage`.
    pub async fn cancel_job(&self, permit: &Permit<can::HubManage>, id: JobId) -> CoreResult<Job> {
        let actor = permit.actor();
        let mut j = self
            .store
            .job(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "job" })?;
        if !matches!(j.state, JobState::Queued | JobState::Retrying) {
            return Err(CoreError::Conflict(format!(
                "only a queued or retrying job can be cancelled; this one is {}",
                j.state
            )));
        }
        j.state = JobState::NotCompleted;
        j.error = Some(format!("cancelled by {}", actor.name));
        j.updated_at = self.now();
        let ev =
            NewEvent::new(actor, "job.cancel", self.now()).target("job", j.id, j.task.as_str());
        if !self
            .store
            .update_job_if(&j, &[JobState::Queued, JobState::Retrying], &ev)
            .await?
        {
            return Err(CoreError::Conflict(
                "the job was taken by a worker; it can no longer be cancelled".into(),
            ));
        }
        Ok(j)
    }
}

/// States of a job that is not finished.
pub fn unfinished() -> Vec<JobState> {
    vec![
        JobState::Queued,
        JobState::Started,
        JobState::Running,
        JobState::Retrying,
    ]
}

/// An automation account must be for the hub's app (an account with only a login URL and no
/// catalog app is accepted). Errors: `Validation` on `automation_account_id` naming both apps.
fn account_fits_app(account: &AccountView, app: &crate::catalog::App) -> CoreResult<()> {
    match &account.app_id {
        Some(other) if other.as_str() != app.id.as_str() => Err(CoreError::invalid(
            "automation_account_id",
            format!(
                "the account `{}` is for {}, not {}",
                account.label,
                account.app_name.as_deref().unwrap_or(other.as_str()),
                app.name
            ),
        )),
        _ => Ok(()),
    }
}
