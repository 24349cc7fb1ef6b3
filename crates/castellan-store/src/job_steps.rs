//! Jobs' step records (`castellan_core::ports::JobStepStore`): sealed by core before they
//! arrive; the store keeps and returns the ciphertexts.

use async_trait::async_trait;
use castellan_core::error::CoreResult;
use castellan_core::hub::JobId;
use castellan_core::ids::DataKeyId;
use castellan_core::ports::{JobStepStore, KeptJobStep};

use crate::db::{db_err, get, map_err, ms, time, uuid};
use crate::SqlStore;

#[async_trait]
impl JobStepStore for SqlStore {
    async fn add_job_step(&self, s: &KeptJobStep) -> CoreResult<()> {
        sqlx::query(
            "INSERT INTO job_steps (job_id, seq, attempt, at, dek_id, sealed, screenshot) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(s.job_id.to_string())
        .bind(s.seq)
        .bind(i64::from(s.attempt))
        .bind(ms(s.at))
        .bind(s.dek_id.to_string())
        .bind(&s.sealed)
        .bind(s.screenshot.as_deref())
        .execute(&self.pool)
        .await
        .map_err(|e| map_err(e, "the job already has a step with this number", "job"))?;
        Ok(())
    }

    async fn job_steps(&self, job: JobId) -> CoreResult<Vec<KeptJobStep>> {
        let rows = sqlx::query(
            "SELECT seq, attempt, at, dek_id, sealed, \
             CASE WHEN screenshot IS NULL THEN 0 ELSE 1 END AS has_screenshot \
             FROM job_steps WHERE job_id = $1 ORDER BY seq",
        )
        .bind(job.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let attempt: i64 = get(r, "attempt")?;
                let has: i64 = get(r, "has_screenshot")?;
                Ok(KeptJobStep {
                    job_id: job,
                    seq: get(r, "seq")?,
                    attempt: i32::try_from(attempt).unwrap_or(i32::MAX),
                    at: time(r, "at")?,
                    dek_id: DataKeyId(uuid(r, "dek_id")?),
                    sealed: get(r, "sealed")?,
                    screenshot: None,
                    has_screenshot: has == 1,
                })
            })
            .collect()
    }

    async fn job_step_screenshot(
        &self,
        job: JobId,
        seq: i64,
    ) -> CoreResult<Option<(DataKeyId, Vec<u8>)>> {
        let row = sqlx::query(
            "SELECT dek_id, screenshot FROM job_steps WHERE job_id = $1 AND seq = $2 \
             AND screenshot IS NOT NULL",
        )
        .bind(job.to_string())
        .bind(seq)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| Ok((DataKeyId(uuid(&r, "dek_id")?), get(&r, "screenshot")?)))
            .transpose()
    }

    async fn drop_job_screenshots(&self, job: JobId) -> CoreResult<u64> {
        let done = sqlx::query(
            "UPDATE job_steps SET screenshot = NULL WHERE job_id = $1 AND screenshot IS NOT NULL",
        )
        .bind(job.to_string())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
