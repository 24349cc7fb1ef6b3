//! Jobs' step records, as the SQL store's `job_steps` table keeps them.

use async_trait::async_trait;
use castellan_core::hub::JobId;
use castellan_core::ids::DataKeyId;
use castellan_core::ports::{JobStepStore, KeptJobStep};
use castellan_core::{CoreError, CoreResult};

use super::tables::ms;
use super::MemoryStore;

impl MemoryStore {
    /// Every kept step with its sealed screenshot, for tests that look at what is stored.
    pub fn kept_job_steps(&self) -> Vec<KeptJobStep> {
        self.lock().tables.job_steps.values().cloned().collect()
    }
}

#[async_trait]
impl JobStepStore for MemoryStore {
    /// `NotFound { kind: "job" }` for a missing job; `Conflict` on a taken seq.
    async fn add_job_step(&self, s: &KeptJobStep) -> CoreResult<()> {
        self.write(|tx| {
            if !tx.t.jobs.contains_key(&s.job_id) {
                return Err(CoreError::NotFound { kind: "job" });
            }
            let key = (s.job_id, s.seq);
            if tx.t.job_steps.contains_key(&key) {
                return Err(CoreError::Conflict(
                    "the job already has a step with this number".into(),
                ));
            }
            let mut kept = s.clone();
            kept.at = ms(s.at);
            kept.has_screenshot = s.screenshot.is_some();
            tx.t.job_steps.insert(key, kept);
            Ok(())
        })
    }

    async fn job_steps(&self, job: JobId) -> CoreResult<Vec<KeptJobStep>> {
        self.read(|t| {
            Ok(t.job_steps
                .range((job, i64::MIN)..=(job, i64::MAX))
                .map(|(_, s)| KeptJobStep {
                    screenshot: None,
                    ..s.clone()
                })
                .collect())
        })
    }

    async fn job_step_screenshot(
        &self,
        job: JobId,
        seq: i64,
    ) -> CoreResult<Option<(DataKeyId, Vec<u8>)>> {
        self.read(|t| {
            Ok(t.job_steps
                .get(&(job, seq))
                .and_then(|s| Some((s.dek_id, s.screenshot.clone()?))))
        })
    }

    async fn drop_job_screenshots(&self, job: JobId) -> CoreResult<u64> {
        self.write(|tx| {
            let mut n = 0;
            for (_, s) in tx.t.job_steps.range_mut((job, i64::MIN)..=(job, i64::MAX)) {
                if s.screenshot.take().is_some() {
                    n += 1;
                }
                s.has_screenshot = false;
            }
            Ok(n)
        })
    }
}
