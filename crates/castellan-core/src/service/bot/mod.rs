//! The bot (no capability handle: the host runs it beside the service). Its job engine: claims durable jobs from the store, runs them through the app's
//! connector with the automation account, retries with exponential backoff and jitter, and
//! takes over jobs whose worker died once their lease expires.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use crate::clock::Jitter;
use chrono::{Duration, Utc};

use super::hubs::{unfinished, CONNECTOR_CALL_TIMEOUT};
use super::Castellan;
use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry,
};
use crate::error::{CoreError, CoreResult};
use crate::hub::{Attention, Hub, HubStatus, Job, JobParams, JobState, Task, Trigger};
use crate::ports::{FollowUp, JobFilter};

mod check;
mod converge;
mod listing;
mod oauth2;
mod resources;
mod sessions;
pub use listing::RESUME_WITHIN;
pub use sessions::SESSION_REUSE;
pub(crate) use sessions::{AppSessions, SessionKey};

/// The error a job released at shutdown carries until its next attempt.
const INTERRUPTED: &str = "interrupted by a shutdown; released for another worker";

/// Settings of one worker.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// This worker's id (host:pid:n).
    pub worker_id: String,
    /// How long a claim holds before another worker may take the job over.
    pub lease: Duration,
    /// Idle wait between polls when the queue is empty.
    pub poll: StdDuration,
    /// First retry delay; doubles per attempt (with ±20% jitter), capped at 10 minutes.
    pub backoff_base: Duration,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            worker_id: format!("worker-{}", std::process::id()),
            lease: Duration::seconds(60),
            poll: StdDuration::from_millis(500),
            backoff_base: Duration::seconds(5),
        }
    }
}

/// A worker.
#[derive(Debug, Clone)]
pub struct Bot {
    svc: Castellan,
    registry: Arc<dyn ConnectorRegistry>,
    cfg: BotConfig,
}

enum Failure {
    Connector(ConnectorError),
    Core(CoreError),
    LeaseLost,
}

impl From<ConnectorError> for Failure {
    fn from(e: ConnectorError) -> Self {
        Self::Connector(e)
    }
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Self {
        Self::Core(e)
    }
}

/// The retry delay before attempt `attempt` (1-based): `base * 2^(attempt-1)`, ±20% jitter,
/// at most 10 minutes; an app's `retry_after` wins when longer.
pub fn backoff(
    jitter: &dyn Jitter,
    base: Duration,
    attempt: i32,
    retry_after: Option<StdDuration>,
) -> Duration {
    let exp = base
        .num_milliseconds()
        .saturating_mul(1i64 << (attempt - 1).clamp(0, 16));
    let capped = exp.min(600_000) as f64;
    let jitter = jitter.factor(0.8, 1.2);
    let mut ms = (capped * jitter) as i64;
    if let Some(ra) = retry_after {
        ms = ms.max(ra.as_millis() as i64);
    }
    Duration::milliseconds(ms)
}

impl Bot {
    /// The service clock's current instant (milliseconds).
    fn now(&self) -> chrono::DateTime<Utc> {
        self.svc.now()
    }

    /// A worker over the service and the connectors.
    pub fn new(svc: Castellan, registry: Arc<dyn ConnectorRegistry>, cfg: BotConfig) -> Self {
        Self { svc, registry, cfg }
    }

    /// Runs until `shutdown` resolves: claims and runs jobs one at a time; a job in progress
    /// when `shutdown` resolves is finished first.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        self.run_bounded(shutdown, StdDuration::MAX).await;
    }

    /// Like [`Bot::run`], but a job in progress when `shutdown` resolves gets at most `grace`
    /// to finish. Past it the job is interrupted (its future dropped) and its lease released
    /// ([`Bot::release`]), so another worker takes it up at once, as after a worker's death:
    /// invite, update-role and remove re-read the app first, so the resumed job does not act
    /// twice.
    pub async fn run_bounded(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
        grace: StdDuration,
    ) {
        tokio::pin!(shutdown);
        loop {
            // Never start a job once stopping (checked without waiting).
            tokio::select! {
                biased;
                _ = &mut shutdown => return,
                _ = std::future::ready(()) => {}
            }
            match self.claim().await {
                Ok(Some(job)) => {
                    let id = job.id;
                    let work = self.execute(job);
                    tokio::pin!(work);
                    let finished = tokio::select! {
                        r = &mut work => Some(r),
                        _ = &mut shutdown => None,
                    };
                    let Some(result) = finished else {
                        match tokio::time::timeout(grace, &mut work).await {
                            Ok(r) => self.log_failure(r),
                            Err(_) => self.release(id).await,
                        }
                        return;
                    };
                    self.log_failure(result);
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, worker = %self.cfg.worker_id, "claiming a job failed")
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.cfg.poll) => {}
            }
        }
    }

    fn log_failure(&self, r: CoreResult<()>) {
        if let Err(e) = r {
            tracing::warn!(error = %e, worker = %self.cfg.worker_id, "running a job failed");
        }
    }

    /// Gives up a job this worker holds after an interrupted run (shutdown): its lease ends
    /// now, so any worker claims it at once, and the interrupted attempt is not counted. Does
    /// nothing when the job moved on (finished, or taken over). Errors are logged: the lease
    /// then simply expires.
    async fn release(&self, id: crate::hub::JobId) {
        let released = async {
            let Some(mut job) = self.svc.store.job(id).await? else {
                return Ok(false);
            };
            let mine = job.worker_id.as_deref() == Some(self.cfg.worker_id.as_str());
            if !mine || !matches!(job.state, JobState::Started | JobState::Running) {
                return Ok(false);
            }
            let now = self.now();
            job.lease_until = Some(now - Duration::milliseconds(1));
            job.attempts = (job.attempts - 1).max(0);
            job.updated_at = now;
            // The next attempt must know a call of this one may still land (see `execute`).
            job.error = Some(INTERRUPTED.into());
            self.svc
                .store
                .update_job(&job, &self.cfg.worker_id, None, None)
                .await
        }
        .await;
        match released {
            Ok(true) => {
                tracing::info!(job_id = %id, worker = %self.cfg.worker_id, "interrupted by shutdown; released the job for another worker")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(job_id = %id, error = %e, "releasing an interrupted job failed; its lease will expire")
            }
        }
    }

    /// Enqueues `check_for_updates` for every hub whose schedule is due (one instance wins each).
    pub async fn schedule_due(&self) -> CoreResult<usize> {
        let due = self.svc.store.claim_due_syncs(self.now()).await?;
        let actor = Actor::bot("schedule");
        let jobs: Vec<Job> = due
            .iter()
            .map(|h| self.svc.sync_job(*h, Trigger::Schedule, &actor, false))
            .collect();
        if jobs.is_empty() {
            return Ok(0);
        }
        Ok(self.svc.store.enqueue(&jobs, None).await?.len())
    }

    /// Claims one job and runs it. Returns whether a job was found.
    pub async fn run_one(&self) -> CoreResult<bool> {
        let Some(job) = self.claim().await? else {
            return Ok(false);
        };
        self.execute(job).await?;
        Ok(true)
    }

    /// Claims the next due job for this worker, if any.
    async fn claim(&self) -> CoreResult<Option<Job>> {
        self.svc
            .store
            .claim_job(&self.cfg.worker_id, self.now(), self.cfg.lease)
            .await
    }

    #[tracing::instrument(skip_all, err, fields(job_id = %job.id, hub_id = %job.hub_id, task = %job.task))]
    async fn execute(&self, mut job: Job) -> CoreResult<()> {
        if job.attempts >= job.max_attempts {
            // Taken over after a lease expired more times than allowed (a worker keeps dying).
            let err = Failure::Core(CoreError::Conflict(format!(
                "gave up after {} attempts",
                job.attempts
            )));
            job.state = JobState::Running;
            return self.finish(job, Err(err), None).await;
        }
        // An earlier attempt that did not end with the app's answer (a dead worker, a shutdown,
        // a timeout before a retry) may have a call in flight that lands after this attempt
        // re-read the app: completing then queues a check for updates once such a call has
        // ended.
        let interrupted_before = job.attempts > 0 || job.error.is_some();
        if let JobParams::Unreadable { error, .. } = &job.params {
            let err = Failure::Core(CoreError::Conflict(format!(
                "its stored parameters cannot be read ({error}); run a check for updates to plan the change again"
            )));
            job.state = JobState::Running;
            return self.finish(job, Err(err), None).await;
        }
        job.state = JobState::Running;
        job.attempts += 1;
        job.updated_at = self.now();
        job.lease_until = Some(job.updated_at + self.cfg.lease);
        if !self
            .svc
            .store
            .update_job(&job, &self.cfg.worker_id, None, None)
            .await?
        {
            return Ok(());
        }
        let hub = match self.svc.store.hub(job.hub_id).await? {
            Some(h) => h,
            None => {
                return self
                    .finish(
                        job,
                        Err(Failure::Core(CoreError::NotFound { kind: "hub" })),
                        None,
                    )
                    .await
            }
        };
        // Read before the job reads any grant: a change after this point moves the version,
        // and completing the job then queues a check for updates in the same transaction.
        let seen = self.svc.store.grants_version(hub.id).await?;
        let id = job.id;
        let result = tokio::select! {
            r = self.dispatch(&mut job, &hub) => r,
            () = self.heartbeat(id) => Err(Failure::LeaseLost),
        };
        let settle = if interrupted_before && job.task != Task::CheckForUpdates {
            Some(self.svc.settle_job(hub.id, self.now() + self.settle()))
        } else if job.params.manual() {
            Some(self.svc.sync_job(
                hub.id,
                Trigger::GrantChange,
                &Actor::bot("bot (after a manual removal)"),
                false,
            ))
        } else {
            None
        };
        let follow_up = FollowUp {
            seen_grants_version: seen,
            job: self.svc.sync_job(
                hub.id,
                Trigger::GrantChange,
                &Actor::bot("bot (the grants changed while a job ran)"),
                false,
            ),
            settle,
        };
        self.finish(job, result, Some(&follow_up)).await
    }

    /// How long after an interrupted attempt a call it sent may still land: the connector call
    /// timeout, or the lease when that is shorter (a short lease is a test setting).
    fn settle(&self) -> Duration {
        let call = Duration::from_std(CONNECTOR_CALL_TIMEOUT).unwrap_or(Duration::seconds(30));
        call.min(self.cfg.lease)
    }

    /// Checks that this worker still holds the job right before a write to the app (and
    /// extends the lease): a worker that was stopped (SIGSTOP, a long pause) past its lease
    /// must not write after another worker took the job over. `LeaseLost` otherwise.
    async fn fence(&self, job: &Job) -> Result<(), Failure> {
        let until = self.now() + self.cfg.lease;
        if self
            .svc
            .store
            .renew_lease(job.id, &self.cfg.worker_id, until)
            .await?
        {
            Ok(())
        } else {
            Err(Failure::LeaseLost)
        }
    }

    /// Renews the job's lease every third of it while the job runs, so a slow connector call
    /// never lets another worker take over a job whose worker is alive (only a dead worker's
    /// job is taken over). Resolves only when the lease was lost.
    async fn heartbeat(&self, id: crate::hub::JobId) {
        let every = (self.cfg.lease / 3)
            .to_std()
            .unwrap_or(StdDuration::from_secs(1))
            .max(StdDuration::from_millis(200));
        loop {
            tokio::time::sleep(every).await;
            let until = self.now() + self.cfg.lease;
            match self
                .svc
                .store
                .renew_lease(id, &self.cfg.worker_id, until)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job_id = %id, "lease lost; stopping this attempt");
                    return;
                }
                // A database hiccup: the next beat tries again (the lease still runs).
                Err(e) => tracing::warn!(job_id = %id, error = %e, "renewing the lease failed"),
            }
        }
    }

    async fn connector(&self, hub: &Hub) -> Result<Arc<dyn Connector>, Failure> {
        self.svc
            .hub_connector(hub, Some(self.registry.as_ref()))
            .await?
            .ok_or_else(|| {
                Failure::Connector(ConnectorError::Configuration(format!(
                    "no connector for app {}",
                    hub.app_id
                )))
            })
    }

    async fn session(
        &self,
        job: &Job,
        hub: &Hub,
    ) -> Result<(Arc<dyn Connector>, ConnectorContext, AppSession), Failure> {
        let c = self.connector(hub).await?;
        // A connector waiting for a code holds the job: keep the wait well inside the lease, so
        // no other worker takes the job over meanwhile.
        let max_code_wait = (self.cfg.lease / 2).to_std().unwrap_or(StdDuration::ZERO);
        let mut ctx = self.svc.bot_context(hub, job, max_code_wait).await?;
        let oauth2 = c.describe().sign_in == crate::connector::SignIn::OAuth2;
        if oauth2 {
            ctx.api_token = Some(self.oauth2_token(hub, false).await?);
        }
        match self.svc.job_steps_recorder(job).await {
            Ok(r) => ctx.steps = Some(r),
            Err(e) => tracing::warn!(job_id = %job.id, error = %e, "the job's steps go unrecorded"),
        }
        let account = self
            .svc
            .store
            .account(hub.automation_account_id)
            .await?
            .ok_or(crate::error::CoreError::NotFound { kind: "account" })?;
        let mut key =
            sessions::SessionKey::new(&c.describe().name, &ctx, account.id, account.vault_id);
        let mut got = match oauth2 {
            // An OAuth access token is its own session: each job signs in with it, so that a
            // token the app refuses before its time (or that has none) is refreshed here, once.
            true => c.login(&ctx).await.map(|s| (s, false)),
            false => {
                self.svc
                    .app_sessions
                    .get(&self.svc, &*c, &ctx, &key, self.now())
                    .await
            }
        };
        if oauth2 && matches!(got, Err(ConnectorError::BadCredentials(_))) {
            ctx.api_token = Some(self.oauth2_token(hub, true).await?);
            key = sessions::SessionKey::new(&c.describe().name, &ctx, account.id, account.vault_id);
            got = c.login(&ctx).await.map(|s| (s, false));
        }
        let (s, reused) = got?;
        let c = Arc::new(sessions::Reusing::new(
            c,
            self.svc.clone(),
            key,
            self.now(),
            s.clone(),
            reused,
        ));
        Ok((c, ctx, s))
    }

    async fn progress(&self, job: &mut Job, text: String) -> Result<(), Failure> {
        job.progress = Some(text);
        job.updated_at = self.now();
        job.lease_until = Some(job.updated_at + self.cfg.lease);
        if self
            .svc
            .store
            .update_job(job, &self.cfg.worker_id, None, None)
            .await?
        {
            Ok(())
        } else {
            Err(Failure::LeaseLost)
        }
    }

    async fn dispatch(&self, job: &mut Job, hub: &Hub) -> Result<String, Failure> {
        match job.task {
            Task::CheckForUpdates => self.check_for_updates(job, hub).await,
            Task::InviteMember | Task::UpdateMemberRole | Task::RemoveMember => {
                self.converge(job, hub).await
            }
        }
    }

    async fn record(&self, job: &Job, outcome: &str) -> CoreResult<()> {
        self.svc
            .store
            .record_job_run(job.id, &self.cfg.worker_id, self.now(), outcome)
            .await?;
        // Crash-test failpoint: `CASTELLAN_FAILPOINT=abort_after:<task>` kills the process right
        // after the app was changed and before the job is marked completed, as a SIGKILL would.
        // Compiled only with the `failpoints` feature, which only the tests turn on.
        #[cfg(feature = "failpoints")]
        if let Ok(fp) = std::env::var("CASTELLAN_FAILPOINT") {
            let side_effect = matches!(outcome, "invited" | "role_updated" | "removed");
            if fp == format!("abort_after:{}", job.task) && side_effect {
                tracing::error!(job_id = %job.id, "failpoint: aborting after the side effect");
                std::process::abort();
            }
        }
        Ok(())
    }

    /// Records a job that would retry while a newer job with its dedupe key waits as
    /// superseded (`not_completed`, with a `job.superseded` event): the newer one decides from
    /// the current grants and app when it runs, so retrying the older one would only repeat or
    /// contradict it. Returns `false` when the lease was lost meanwhile.
    async fn superseded_by_newer(&self, job: &mut Job, bot: &Actor) -> CoreResult<bool> {
        let reason = format!(
            "superseded: a newer job for the same change is waiting (this attempt failed: {})",
            job.error.as_deref().unwrap_or("unknown error")
        );
        job.state = JobState::NotCompleted;
        job.error = Some(reason.clone());
        job.run_at = job.updated_at;
        let ev = NewEvent::new(bot, ActivityAction::JobSuperseded, self.now())
            .target("job", job.id, job.task.as_str())
            .details(serde_json::json!({ "hub_id": job.hub_id, "reason": reason }));
        self.svc
            .store
            .update_job(job, &self.cfg.worker_id, Some(&ev), None)
            .await
    }

    /// Writes the job's outcome (and, when it completed, the follow-up check for updates if
    /// the grants moved under it, in the same transaction) and updates the hub's status.
    async fn finish(
        &self,
        mut job: Job,
        result: Result<String, Failure>,
        follow_up: Option<&FollowUp>,
    ) -> CoreResult<()> {
        let now = self.now();
        job.updated_at = now;
        let bot =
            Actor::bot(&format!("bot ({})", job.task)).with_scim_request(job.scim_request.clone());
        let mut hub_update: Option<(HubStatus, String)> = None;
        job.attention = None;
        let action = match result {
            Ok(summary) => {
                job.state = JobState::Completed;
                job.progress = Some(summary);
                job.error = None;
                job.lease_until = None;
                ActivityAction::JobCompleted
            }
            Err(Failure::LeaseLost) => {
                tracing::warn!(job_id = %job.id, "lease lost; another worker took the job over");
                return Ok(());
            }
            Err(Failure::Connector(e)) if e.is_retryable() && job.attempts < job.max_attempts => {
                let retry_after = match &e {
                    ConnectorError::RateLimited { retry_after } => *retry_after,
                    _ => None,
                };
                job.state = JobState::Retrying;
                job.error = Some(e.to_string());
                job.run_at = now
                    + backoff(
                        self.svc.jitter.as_ref(),
                        self.cfg.backoff_base,
                        job.attempts,
                        retry_after,
                    );
                job.lease_until = None;
                ActivityAction::JobRetrying
            }
            // A person must get past it: the job waits for a session upload or a retry.
            Err(Failure::Connector(
                e @ (ConnectorError::NeedsHuman(_) | ConnectorError::AppChanged(_)),
            )) => {
                job.state = JobState::NeedsAttention;
                job.attention = Some(match e {
                    ConnectorError::NeedsHuman(_) => Attention::Challenge,
                    _ => Attention::UnexpectedPage,
                });
                job.error = Some(e.to_string());
                job.lease_until = None;
                let status = match e {
                    ConnectorError::NeedsHuman(_) => HubStatus::ReviewServiceAccount,
                    _ => HubStatus::ReviewConfiguration,
                };
                let label = job.attention.map_or("", Attention::label);
                hub_update = Some((status, format!("{label}: {e}")));
                ActivityAction::JobNeedsAttention
            }
            Err(Failure::Connector(e)) => {
                job.state = JobState::NotCompleted;
                job.error = Some(e.to_string());
                job.lease_until = None;
                hub_update = match &e {
                    ConnectorError::BadCredentials(_)
                    | ConnectorError::InsufficientPermission(_) => {
                        Some((HubStatus::ReviewServiceAccount, e.to_string()))
                    }
                    ConnectorError::Configuration(_) | ConnectorError::Unavailable(_) => {
                        Some((HubStatus::ReviewConfiguration, e.to_string()))
                    }
                    _ => None,
                };
                if job.attempts >= job.max_attempts && e.is_retryable() {
                    ActivityAction::JobGaveUp
                } else {
                    ActivityAction::JobNotCompleted
                }
            }
            Err(Failure::Core(e)) => {
                job.state = JobState::NotCompleted;
                job.error = Some(match &e {
                    CoreError::Internal(_) | CoreError::Unavailable(_) => {
                        "internal error (see the server log)".into()
                    }
                    other => other.to_string(),
                });
                tracing::error!(job_id = %job.id, error = %e, "job failed");
                job.lease_until = None;
                ActivityAction::JobNotCompleted
            }
        };
        let ev = NewEvent::new(&bot, action, self.now())
            .target("job", job.id, job.task.as_str())
            .details(serde_json::json!({
                "hub_id": job.hub_id, "attempts": job.attempts, "error": job.error,
                "outcome": if job.state == JobState::Completed { job.progress.clone() } else { None },
                "attention": job.attention,
            }));
        let follow_up = follow_up.filter(|_| job.state == JobState::Completed);
        // What the run found out about the hub (its account refused, a page it does not know) is
        // written before the job shows as finished: whoever waits for the job (`hub connect
        // --wait`, the web app) then reads the hub's new status, never the old one.
        if let Some((status, reason)) = hub_update {
            if let Some(mut hub) = self.svc.store.hub(job.hub_id).await? {
                hub.status = status;
                hub.status_reason = Some(reason);
                hub.updated_at = now;
                self.svc.store.update_hub(&hub, None).await?;
            }
        }
        let written = match self
            .svc
            .store
            .update_job(&job, &self.cfg.worker_id, Some(&ev), follow_up)
            .await
        {
            // A newer job with this key waits and runs from the current state: this one yields.
            Err(CoreError::Conflict(_)) if job.state == JobState::Retrying => {
                self.superseded_by_newer(&mut job, &bot).await?
            }
            r => r?,
        };
        if !written {
            tracing::warn!(job_id = %job.id, "lease lost before finishing");
            return Ok(());
        }
        if job.state == JobState::Completed {
            // Its screenshots served to show what went wrong; the steps' URLs stay.
            if let Err(e) = self.svc.store.drop_job_screenshots(job.id).await {
                tracing::warn!(job_id = %job.id, error = %e, "the job's screenshots were kept");
            }
        }
        if let Some(mut hub) = self.svc.store.hub(job.hub_id).await? {
            if job.state == JobState::Completed
                // A check counts too: a write that finished between the check's save and its
                // end saw the check still running, so the check is the last to settle.
                && hub.status == HubStatus::RequiresSync
                && hub
                    .status_reason
                    .as_deref()
                    .is_some_and(|r| r.ends_with("queued for the bot"))
            {
                let pending = self
                    .svc
                    .store
                    .jobs(&JobFilter {
                        hub_id: Some(hub.id),
                        states: Some(unfinished()),
                        limit: Some(1),
                    })
                    .await?;
                if pending.is_empty() {
                    // A manual hub's changes are tasks now: it says so until a roster shows them.
                    let waiting = self.svc.manual_status(&hub).await?;
                    hub.status = if waiting.is_some() {
                        HubStatus::RequiresSync
                    } else {
                        HubStatus::Healthy
                    };
                    hub.status_reason = waiting;
                    hub.updated_at = now;
                    self.svc.store.update_hub(&hub, None).await?;
                }
            }
        }
        Ok(())
    }
}
