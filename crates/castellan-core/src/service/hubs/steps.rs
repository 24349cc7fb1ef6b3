//! Jobs' step records, on the [`Hubs`] capability: the bot's [`StepRecorder`] (each step sealed
//! under the automation account's vault data key before it reaches the store), and the steps
//! and screenshots of the automation log.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use castellan_crypto::field_aad;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::activity::{ActivityAction, NewEvent};
use crate::connector::steps::{JobStep, RecordedStep, StepRecorder};
use crate::error::{CoreError, CoreResult};
use crate::hub::{Job, JobId};
use crate::ids::VaultId;
use crate::permissions::{can, Permit};
use crate::ports::KeptJobStep;
use crate::service::{Castellan, Hubs};

/// Steps kept per job at most (a job that takes more keeps its first ones and its failures).
pub const MAX_STEPS: i64 = 400;
/// The largest screenshot kept, in bytes (a larger one is dropped, its step kept).
pub const MAX_SCREENSHOT: usize = 8 << 20;

/// What is sealed of a step besides its screenshot.
#[derive(Serialize, Deserialize)]
struct Sealed {
    what: String,
    url: String,
    error: Option<String>,
}

fn aad(job: JobId, seq: i64, part: &str) -> Vec<u8> {
    field_aad("job_steps", &job.to_string(), &format!("{seq}-{part}"))
}

/// The bot's recorder for one attempt of a job.
pub(crate) struct JobSteps {
    svc: Castellan,
    job: JobId,
    attempt: i32,
    vault: VaultId,
    next: AtomicI64,
}

impl std::fmt::Debug for JobSteps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSteps")
            .field("job", &self.job)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl JobSteps {
    /// The recorder of `job`'s current attempt, its steps sealed under `vault`'s data key and
    /// numbered after the ones kept.
    pub(crate) async fn new(svc: &Castellan, job: &Job, vault: VaultId) -> CoreResult<Self> {
        let last = svc
            .store
            .job_steps(job.id)
            .await?
            .last()
            .map_or(0, |s| s.seq);
        Ok(Self {
            svc: svc.clone(),
            job: job.id,
            attempt: job.attempts,
            vault,
            next: AtomicI64::new(last + 1),
        })
    }

    async fn keep(&self, step: RecordedStep) -> CoreResult<()> {
        let seq = self.next.fetch_add(1, Ordering::SeqCst);
        if seq > MAX_STEPS && step.error.is_none() {
            return Ok(());
        }
        let (dek_id, dek) = self.svc.data_key(self.vault).await?;
        let plain = Zeroizing::new(
            serde_json::to_vec(&Sealed {
                what: step.what,
                url: step.url,
                error: step.error,
            })
            .map_err(CoreError::internal)?,
        );
        let screenshot = step
            .screenshot
            .filter(|png| png.len() <= MAX_SCREENSHOT)
            .map(|png| dek.seal(&png, &aad(self.job, seq, "screenshot")));
        self.svc
            .store
            .add_job_step(&KeptJobStep {
                job_id: self.job,
                seq,
                attempt: self.attempt,
                at: self.svc.now(),
                dek_id,
                sealed: dek.seal(&plain, &aad(self.job, seq, "step")),
                has_screenshot: screenshot.is_some(),
                screenshot,
            })
            .await
    }
}

#[async_trait]
impl StepRecorder for JobSteps {
    async fn record(&self, step: RecordedStep) {
        if let Err(e) = self.keep(step).await {
            tracing::warn!(job_id = %self.job, error = %e, "a job's step was not recorded");
        }
    }
}

impl Castellan {
    /// The vault whose data key seals `job`'s steps: the hub's automation account's.
    async fn steps_vault(&self, job: &Job) -> CoreResult<VaultId> {
        let hub = self
            .store
            .hub(job.hub_id)
            .await?
            .ok_or(CoreError::NotFound { kind: "hub" })?;
        let account = self
            .store
            .account(hub.automation_account_id)
            .await?
            .ok_or(CoreError::NotFound { kind: "account" })?;
        Ok(account.vault_id)
    }

    /// The recorder the bot hands the connector for `job`'s current attempt: each step sealed
    /// under the hub's automation account's vault key and kept in the job's record (also for
    /// whoever drives a connector for a job outside the bot).
    ///
    /// Errors: `NotFound` when the job's hub or account is gone.
    pub async fn job_steps_recorder(&self, job: &Job) -> CoreResult<Arc<dyn StepRecorder>> {
        let vault = self.steps_vault(job).await?;
        Ok(Arc::new(JobSteps::new(self, job, vault).await?))
    }
}

impl Hubs<'_> {
    /// The steps of a job, oldest first: what the bot did, the URL, the error of a failing step
    /// and whether a screenshot is kept. Needs `HubRead`. `NotFound { kind: "job" }`.
    pub async fn job_steps(&self, _: &Permit<can::HubRead>, id: JobId) -> CoreResult<Vec<JobStep>> {
        let job = self
            .store
            .job(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "job" })?;
        let (dek_id, dek) = self.data_key(self.steps_vault(&job).await?).await?;
        let kept = self.store.job_steps(id).await?;
        kept.into_iter()
            .map(|k| {
                let unreadable = || CoreError::Internal(format!("step {} of job {id}", k.seq));
                if k.dek_id != dek_id {
                    return Err(unreadable());
                }
                let plain = Zeroizing::new(
                    dek.open(&k.sealed, &aad(id, k.seq, "step"))
                        .map_err(|_| unreadable())?,
                );
                let s: Sealed = serde_json::from_slice(&plain).map_err(|_| unreadable())?;
                Ok(JobStep {
                    job_id: id,
                    seq: k.seq,
                    attempt: k.attempt,
                    at: k.at,
                    what: s.what,
                    url: s.url,
                    error: s.error,
                    screenshot: k.has_screenshot,
                })
            })
            .collect()
    }

    /// The screenshot (PNG bytes) of step `seq` of a job, recorded as `job.screenshot_view` (it
    /// may show personal data). Needs `HubRead`. `NotFound { kind: "screenshot" }` when none
    /// is kept (a completed job's are dropped).
    pub async fn job_step_screenshot(
        &self,
        permit: &Permit<can::HubRead>,
        id: JobId,
        seq: i64,
    ) -> CoreResult<Vec<u8>> {
        let job = self
            .store
            .job(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "job" })?;
        let none = CoreError::NotFound { kind: "screenshot" };
        let (kept_dek, sealed) = self.store.job_step_screenshot(id, seq).await?.ok_or(none)?;
        let (dek_id, dek) = self.data_key(self.steps_vault(&job).await?).await?;
        if kept_dek != dek_id {
            return Err(CoreError::Internal(format!("screenshot {seq} of job {id}")));
        }
        let png = dek
            .open(&sealed, &aad(id, seq, "screenshot"))
            .map_err(|_| CoreError::Internal(format!("screenshot {seq} of job {id}")))?;
        let ev = NewEvent::new(
            permit.actor(),
            ActivityAction::JobScreenshotView,
            self.now(),
        )
        .target("job", id, job.task.as_str())
        .details(serde_json::json!({ "hub_id": job.hub_id, "seq": seq }));
        self.store.append(&ev).await?;
        Ok(png)
    }
}
