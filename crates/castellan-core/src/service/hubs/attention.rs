//! A person in the loop, on the [`Hubs`] capability: a job the bot stopped at a captcha, a
//! consent screen or a page it does not know (`needs_attention`) goes on after the hub's
//! manager uploads a signed-in session for the automation account (cookies exported from their
//! own browser, sealed on arrival as every kept app session is) or retries it after fixing the
//! cause in the app.

use chrono::Duration;
use serde::Serialize;

use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::connector::cookie_import::import_cookies;
use crate::connector::ConnectorError;
use crate::error::{CoreError, CoreResult};
use crate::hub::{Hub, HubId, HubStatus, Job, JobId, JobState};
use crate::permissions::{can, Permit};
use crate::ports::JobFilter;
use crate::service::bot::SessionKey;
use crate::service::Hubs;

/// How long an uploaded session is reused unless the app refuses it sooner (then the bot signs
/// in by itself again).
pub const UPLOADED_SESSION_REUSE: Duration = Duration::hours(12);

/// What a session upload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionUpload {
    /// Cookies kept (those for the hub's host, still valid).
    pub cookies: usize,
    /// The jobs that needed attention, queued again.
    pub requeued: Vec<JobId>,
}

/// The reason a hub shows once a person sent its waiting jobs back to the bot; the bot marks
/// the hub healthy when they complete (see the bot's `finish`).
fn queued_again(who: &str, n: usize) -> String {
    format!("{who} resolved what needed attention: {n} job(s) queued for the bot")
}

impl Hubs<'_> {
    /// Takes a signed-in session for the hub's automation account from `export` (a JSON cookie
    /// export or a `cookies.txt`, see [`crate::connector::cookie_import`]): the connector
    /// checks the app takes it, it is kept sealed for [`UPLOADED_SESSION_REUSE`], and the hub's
    /// `needs_attention` jobs are queued again. Needs `HubManage`.
    ///
    /// Errors: `Validation { field: "cookies" }` for an export that is unreadable, holds no
    /// cookie for the hub's host, or that the app does not take as signed in;
    /// `Validation { field: "hub" }` when the hub's connector works without a browser;
    /// `Unavailable` when the app cannot be reached.
    pub async fn upload_session(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        export: &str,
    ) -> CoreResult<SessionUpload> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        let host = url::Url::parse(&hub.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| CoreError::invalid("hub", "the hub has no base URL with a host"))?;
        let now = self.now();
        let cookies = import_cookies(export, &host, now.timestamp().max(0) as u64)
            .map_err(|m| CoreError::invalid("cookies", m))?;
        let kept = cookies.len();
        let connector = self.hub_connector(&hub, None).await?.ok_or_else(|| {
            CoreError::invalid("hub", "this build has no connector for the hub's app")
        })?;
        let reader = Actor::bot("bot (session upload)");
        let details = serde_json::json!({ "hub_id": hub.id, "task": "session_upload" });
        let ctx = self
            .context_as(&hub, actor, &reader, details, std::time::Duration::ZERO)
            .await?;
        let session = connector
            .adopt_session(&ctx, cookies)
            .await
            .map_err(|e| match e {
                ConnectorError::BadCredentials(m) => CoreError::invalid("cookies", m),
                ConnectorError::Unsupported(_) => CoreError::invalid(
                    "hub",
                    "the hub's connector works over the app's API, not in a browser: it takes no uploaded session",
                ),
                ConnectorError::Unavailable(m) => CoreError::Unavailable(m),
                ConnectorError::RateLimited { .. } => {
                    CoreError::Unavailable("the app asks to slow down; try again later".into())
                }
                other => CoreError::invalid("cookies", other.to_string()),
            })?;
        let account = self
            .store
            .account(hub.automation_account_id)
            .await?
            .ok_or(CoreError::NotFound { kind: "account" })?;
        let key = SessionKey::new(
            &connector.describe().name,
            &ctx,
            account.id,
            account.vault_id,
        );
        self.app_sessions
            .keep_until(self, &key, &session, now, now + UPLOADED_SESSION_REUSE)
            .await?;
        let requeued = self.requeue_attention(&hub, actor).await?;
        let ev = NewEvent::new(actor, ActivityAction::HubSessionUpload, self.now())
            .target("hub", hub.id, &hub.label)
            .details(serde_json::json!({ "cookies": kept, "requeued": requeued }));
        self.store.append(&ev).await?;
        Ok(SessionUpload {
            cookies: kept,
            requeued,
        })
    }

    /// Queues the hub's `needs_attention` jobs again (each with a `job.retry` event by `actor`)
    /// and says so in the hub's status; a job whose change a newer waiting job carries is left
    /// as superseded. Returns the jobs queued.
    async fn requeue_attention(&self, hub: &Hub, actor: &Actor) -> CoreResult<Vec<JobId>> {
        let waiting = self
            .store
            .jobs(&JobFilter {
                hub_id: Some(hub.id),
                states: Some(vec![JobState::NeedsAttention]),
                limit: Some(1000),
            })
            .await?;
        let mut requeued = Vec::new();
        for mut j in waiting {
            match self.requeue(&mut j, actor, JobState::NeedsAttention).await {
                Ok(true) => requeued.push(j.id),
                Ok(false) => {}
                Err(CoreError::Conflict(_)) => {
                    j.state = JobState::NotCompleted;
                    j.attention = None;
                    j.error = Some("superseded: a newer job for the same change is waiting".into());
                    let ev = NewEvent::new(actor, ActivityAction::JobSuperseded, self.now())
                        .target("job", j.id, j.task.as_str())
                        .details(serde_json::json!({ "hub_id": hub.id, "reason": j.error }));
                    self.store
                        .update_job_if(&j, &[JobState::NeedsAttention], &ev)
                        .await?;
                }
                Err(e) => return Err(e),
            }
        }
        self.note_requeued(hub.id, actor, requeued.len()).await?;
        Ok(requeued)
    }

    /// Writes `j` back as queued (attempts from 0) if it is still `from`, with a `job.retry`
    /// event by `actor`. `Ok(false)` when it changed meanwhile; `Conflict` when a newer job
    /// with its key waits.
    pub(super) async fn requeue(
        &self,
        j: &mut Job,
        actor: &Actor,
        from: JobState,
    ) -> CoreResult<bool> {
        j.state = JobState::Queued;
        j.attempts = 0;
        j.error = None;
        j.attention = None;
        j.worker_id = None;
        j.lease_until = None;
        j.run_at = self.now();
        j.updated_at = j.run_at;
        let ev = NewEvent::new(actor, ActivityAction::JobRetry, self.now()).target(
            "job",
            j.id,
            j.task.as_str(),
        );
        self.store.update_job_if(j, &[from], &ev).await
    }

    /// After a person sent jobs back to the bot: the hub waits for them (and turns healthy when
    /// they complete) instead of asking for a review.
    pub(super) async fn note_requeued(
        &self,
        hub: HubId,
        actor: &Actor,
        n: usize,
    ) -> CoreResult<()> {
        if n == 0 {
            return Ok(());
        }
        let Some(mut hub) = self.store.hub(hub).await? else {
            return Ok(());
        };
        if matches!(
            hub.status,
            HubStatus::ReviewConfiguration | HubStatus::ReviewServiceAccount
        ) {
            hub.status = HubStatus::RequiresSync;
            hub.status_reason = Some(queued_again(&actor.name, n));
            hub.updated_at = self.now();
            self.store.update_hub(&hub, None).await?;
        }
        Ok(())
    }
}
