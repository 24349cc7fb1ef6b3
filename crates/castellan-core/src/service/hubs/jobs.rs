//! Jobs, on the [`Hubs`] capability: syncs on demand and the automation log (list, show, retry,
//! cancel), and the jobs and connector context the service makes for the bot.

use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::hub::{
    CheckParams, Hub, HubId, HubStatus, Job, JobId, JobParams, JobState, Task, Trigger,
};
use crate::permissions::{can, Permit};
use crate::ports::JobFilter;
use crate::service::{Castellan, Hubs};

/// Attempts before a job gives up.
pub const MAX_ATTEMPTS: i32 = 5;

/// How long one connector call may take before the bot gives up on it (the request timeout
/// every connector is given). It also bounds how long after an interrupted attempt a call it
/// sent may still land in the app.
pub const CONNECTOR_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Castellan {
    /// A queued job for `hub`, due now, of the task `params` are for, naming the SCIM request
    /// `actor` serves, if any.
    pub(crate) fn new_job(
        &self,
        hub: HubId,
        trigger: Trigger,
        actor: &Actor,
        target: Option<String>,
        params: JobParams,
        dedupe: Option<String>,
    ) -> Job {
        let now = self.now();
        Job {
            id: JobId::new(),
            hub_id: hub,
            task: params.task(),
            state: JobState::Queued,
            trigger,
            actor: actor.name.clone(),
            scim_request: actor.scim_request.clone(),
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
            attention: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// A `check_for_updates` job for a hub (one waiting, and one running, per hub).
    pub(crate) fn sync_job(
        &self,
        hub: HubId,
        trigger: Trigger,
        actor: &Actor,
        confirm: bool,
    ) -> Job {
        self.new_job(
            hub,
            trigger,
            actor,
            None,
            JobParams::CheckForUpdates(CheckParams { confirm }),
            Some(format!("sync:{hub}:{confirm}")),
        )
    }

    /// A check for updates due at `at`, after a job whose earlier attempt was interrupted: a
    /// call of that attempt may land in the app until then. Its own key (`settle:<hub>`), so a
    /// check waiting to run now does not absorb it.
    pub(crate) fn settle_job(&self, hub: HubId, at: chrono::DateTime<chrono::Utc>) -> Job {
        let mut job = self.new_job(
            hub,
            Trigger::GrantChange,
            &Actor::bot("bot (an earlier attempt's call may still land)"),
            None,
            JobParams::CheckForUpdates(CheckParams { confirm: false }),
            Some(format!("settle:{hub}")),
        );
        job.run_at = at;
        job
    }

    /// The automation account's credentials for one bot call, decrypted now and recorded as
    /// `account.use` by the bot, with its shared inbox (codes read as the bot, each wait capped
    /// at `max_code_wait`). A manual hub's context carries its settings only: its connector
    /// signs in nowhere, so the account is neither decrypted nor recorded as used.
    pub(crate) async fn bot_context(
        &self,
        hub: &Hub,
        job: &Job,
        max_code_wait: std::time::Duration,
    ) -> CoreResult<crate::connector::ConnectorContext> {
        let bot =
            Actor::bot(&format!("bot ({})", job.task)).with_scim_request(job.scim_request.clone());
        let details = serde_json::json!({ "hub_id": hub.id, "job_id": job.id, "task": job.task });
        self.context_as(hub, &bot, &bot, details, max_code_wait)
            .await
    }

    /// [`Self::bot_context`] with the account's use recorded as `user` with `details`, and
    /// codes read as `reader` (a bot actor).
    pub(crate) async fn context_as(
        &self,
        hub: &Hub,
        user: &Actor,
        reader: &Actor,
        details: serde_json::Value,
        max_code_wait: std::time::Duration,
    ) -> CoreResult<crate::connector::ConnectorContext> {
        if hub.connector.as_deref() == Some(crate::manual::MANUAL) {
            // The manual connector signs in nowhere: the account's secrets stay sealed.
            let mut ctx = crate::connector::ConnectorContext::new(
                &hub.base_url,
                "",
                secrecy::SecretString::from(String::new()),
            );
            ctx.hub_id = Some(hub.id);
            ctx.organization_id.clone_from(&hub.organization_id);
            ctx.settings.clone_from(&hub.settings);
            ctx.timeout = CONNECTOR_CALL_TIMEOUT;
            return Ok(ctx);
        }
        let acc = self
            .store
            .account(hub.automation_account_id)
            .await?
            .ok_or(CoreError::NotFound { kind: "account" })?;
        let plain = self.open_fields(&acc).await?;
        let field = |name: &str| {
            plain
                .iter()
                .find(|(f, _)| f == name)
                .map(|(_, v)| secrecy::SecretString::from(v.clone()))
        };
        let api_token = field(&crate::service::accounts::custom_field_key(
            crate::connector::settings::API_TOKEN,
        ));
        let password = match (field(crate::service::accounts::PASSWORD), &api_token) {
            (Some(p), _) => p,
            // A connector that signs in with a token (or an OAuth grant) needs no password.
            (None, Some(_)) => secrecy::SecretString::from(String::new()),
            (None, None) if crate::connector::oauth2::is_oauth2(&hub.settings) => {
                secrecy::SecretString::from(String::new())
            }
            (None, None) => {
                return Err(CoreError::invalid(
                    "automation_account_id",
                    "the automation account has no password",
                ))
            }
        };
        let ev = NewEvent::new(user, ActivityAction::AccountUse, self.now())
            .target("account", acc.id, &acc.label)
            .details(details);
        self.store.append(&ev).await?;
        Ok(crate::connector::ConnectorContext {
            hub_id: Some(hub.id),
            base_url: hub.base_url.clone(),
            organization_id: hub.organization_id.clone(),
            username: acc.username.clone().unwrap_or_default(),
            password,
            totp: self.otp_params(&acc).await?.map(|(_, p)| p),
            codes: Some(std::sync::Arc::new(
                crate::service::inbox::InboxCodeWaiter::new(
                    self.clone(),
                    acc.id,
                    reader.permit()?,
                    max_code_wait,
                ),
            )),
            api_token,
            settings: hub.settings.clone(),
            timeout: CONNECTOR_CALL_TIMEOUT,
            steps: None,
        })
    }
}

impl Hubs<'_> {
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
        let ev = NewEvent::new(actor, ActivityAction::HubSync, self.now())
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

    /// Queues a `not_completed` or `needs_attention` job again (after the cause was fixed in
    /// the app). Needs `HubManage`.
    pub async fn retry_job(&self, permit: &Permit<can::HubManage>, id: JobId) -> CoreResult<Job> {
        let actor = permit.actor();
        let mut j = self
            .store
            .job(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "job" })?;
        let from = j.state;
        if !matches!(from, JobState::NotCompleted | JobState::NeedsAttention) {
            return Err(CoreError::Conflict(format!(
                "only a not_completed or needs_attention job can be retried; this one is {}",
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
        if !self.requeue(&mut j, actor, from).await? {
            return Err(CoreError::Conflict("the job changed; reload".into()));
        }
        if from == JobState::NeedsAttention {
            self.note_requeued(j.hub_id, actor, 1).await?;
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
        let ev = NewEvent::new(actor, ActivityAction::JobCancel, self.now()).target(
            "job",
            j.id,
            j.task.as_str(),
        );
        if !self
            .store
            .update_job_if(&j, &[JobState::Queued, JobState::Retrying], &ev)
            .await?
        {
            return Err(CoreError::Conflict(
                "the job was taken by a worker; it can no longer be cancelled".into(),
            ));
        }
        // A cancelled change leaves the app short of what the grants ask: the hub says so
        // until a check for updates plans it again (the bot never marks it healthy meanwhile).
        if j.task != Task::CheckForUpdates {
            if let Some(mut hub) = self.store.hub(j.hub_id).await? {
                hub.status = HubStatus::RequiresSync;
                hub.status_reason = Some(format!(
                    "a planned change ({}) was cancelled by {}: run a check for updates to plan it again",
                    j.task, actor.name
                ));
                hub.updated_at = self.now();
                self.store.update_hub(&hub, None).await?;
            }
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
