//! The bot's durable job queue: enqueue with deduplication, claims with leases, guarded
//! updates and the run log.
//!
//! Claims and lease updates append no event and take no chain lock, so on PostgreSQL several
//! workers claim concurrently (`FOR UPDATE SKIP LOCKED`); on SQLite every write holds the
//! database write lock anyway.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::hub::{HubId, Job, JobId, JobState};
use castellan_core::ports::{FollowUp, JobFilter, JobStore, ListedPage, Supersede};
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::activity::append_in_tx;
use crate::db::{
    bad_json, db_err, get, map_err, ms, opt_json, opt_json_text, opt_ms, opt_time, parse, time,
    uuid, Sql,
};
use crate::SqlStore;

pub(crate) const JOB_COLS: &str = "id, hub_id, task, state, \"trigger\", actor, target, params, \
     attempts, max_attempts, run_at, worker_id, lease_until, progress, dedupe_key, error, \
     created_at, updated_at, attention, scim_request";

/// The states of a waiting job, as SQL. Must match the predicate of the `jobs_one_waiting`
/// index verbatim (it is also the `ON CONFLICT` target's predicate).
const WAITING: &str = "state IN ('queued', 'retrying')";

/// The states a worker may still write while it holds the job.
const HELD: &str = "state IN ('started', 'running', 'retrying')";

const DUPLICATE_WAITING: &str =
    "another job with the same deduplication key is waiting to run; wait for it to finish";

fn row_to_job(row: &AnyRow) -> CoreResult<Job> {
    let int32 = |col: &str| -> CoreResult<i32> {
        let v: i64 = get(row, col)?;
        i32::try_from(v)
            .map_err(|_| CoreError::Internal(format!("column `{col}`: {v} is too large")))
    };
    Ok(Job {
        id: JobId(uuid(row, "id")?),
        hub_id: HubId(uuid(row, "hub_id")?),
        task: parse(row, "task")?,
        state: parse(row, "state")?,
        trigger: parse(row, "trigger")?,
        actor: get(row, "actor")?,
        scim_request: opt_json(row, "scim_request")?,
        target: get(row, "target")?,
        params: {
            let task = parse(row, "task")?;
            let raw: String = get(row, "params")?;
            match serde_json::from_str(&raw) {
                Ok(v) => castellan_core::hub::JobParams::from_stored(task, v),
                Err(e) => castellan_core::hub::JobParams::Unreadable {
                    task,
                    stored: serde_json::Value::String(raw),
                    error: format!("not JSON: {e}"),
                },
            }
        },
        attempts: int32("attempts")?,
        max_attempts: int32("max_attempts")?,
        run_at: time(row, "run_at")?,
        worker_id: get(row, "worker_id")?,
        lease_until: opt_time(row, "lease_until")?,
        progress: get(row, "progress")?,
        dedupe_key: get(row, "dedupe_key")?,
        error: get(row, "error")?,
        attention: get::<Option<String>>(row, "attention")?
            .map(|a| a.parse())
            .transpose()
            .map_err(|e| CoreError::Internal(format!("column `attention`: {e}")))?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Inserts each job unless a waiting job (already stored, or earlier in `jobs`) has the same
/// `dedupe_key`; returns the ids inserted. A job that a worker holds does not absorb it. The partial unique index decides, through
/// `ON CONFLICT … DO NOTHING`, so concurrent enqueuers cannot both win.
/// `NotFound { kind: "hub" }` when a job names a missing hub; `Conflict` on a duplicate job id.
pub(crate) async fn enqueue_in_tx(
    conn: &mut AnyConnection,
    jobs: &[Job],
) -> CoreResult<Vec<JobId>> {
    let mut inserted = Vec::with_capacity(jobs.len());
    for j in jobs {
        let done = sqlx::query(&format!(
            "INSERT INTO jobs ({JOB_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, $17, $18, $19, $20) \
             ON CONFLICT (dedupe_key) WHERE {WAITING} DO NOTHING"
        ))
        .bind(j.id.to_string())
        .bind(j.hub_id.to_string())
        .bind(j.task.as_str())
        .bind(j.state.as_str())
        .bind(j.trigger.as_str())
        .bind(&j.actor)
        .bind(&j.target)
        .bind(serde_json::to_string(&j.params).map_err(bad_json("params"))?)
        .bind(i64::from(j.attempts))
        .bind(i64::from(j.max_attempts))
        .bind(ms(j.run_at))
        .bind(&j.worker_id)
        .bind(opt_ms(j.lease_until))
        .bind(&j.progress)
        .bind(&j.dedupe_key)
        .bind(&j.error)
        .bind(ms(j.created_at))
        .bind(ms(j.updated_at))
        .bind(j.attention.map(|a| a.as_str()))
        .bind(opt_json_text(j.scim_request.as_ref(), "scim_request")?)
        .execute(&mut *conn)
        .await
        .map_err(|e| map_err(e, &format!("a job with id {} already exists", j.id), "hub"))?;
        if done.rows_affected() == 1 {
            inserted.push(j.id);
        }
    }
    Ok(inserted)
}

/// The hub's grants version (`NotFound { kind: "hub" }` when missing).
pub(crate) async fn grants_version_in_tx(conn: &mut AnyConnection, hub: HubId) -> CoreResult<i64> {
    let row = sqlx::query("SELECT grants_version FROM hubs WHERE id = $1")
        .bind(hub.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or(CoreError::NotFound { kind: "hub" })?;
    get(&row, "grants_version")
}

/// Cancels the hub's `queued` and `retrying` jobs whose dedupe key starts with the prefix, each
/// with a copy of the event targeted at it; returns their ids. Held jobs are left alone.
pub(crate) async fn supersede_in_tx(
    conn: &mut AnyConnection,
    hub: HubId,
    s: &Supersede,
    now: DateTime<Utc>,
) -> CoreResult<Vec<JobId>> {
    // The prefix is `member:<uuid>:<uuid>:` (no LIKE wildcards); escape anyway.
    let pattern = format!(
        "{}%",
        s.key_prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows = sqlx::query(
        "UPDATE jobs SET state = 'not_completed', error = $1, lease_until = NULL, updated_at = $2 \
         WHERE hub_id = $3 AND state IN ('queued', 'retrying') \
           AND dedupe_key LIKE $4 ESCAPE '\\' \
         RETURNING id, task",
    )
    .bind(&s.reason)
    .bind(ms(now))
    .bind(hub.to_string())
    .bind(pattern)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut ids = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = JobId(uuid(r, "id")?);
        let task: String = get(r, "task")?;
        let mut ev = s.event.clone();
        ev.id = castellan_core::ids::EventId::new();
        append_in_tx(conn, &ev.target("job", id, task)).await?;
        ids.push(id);
    }
    Ok(ids)
}

#[async_trait]
impl JobStore for SqlStore {
    /// Takes the chain lock only when `event` is given (the deduplication does not need it).
    #[tracing::instrument(skip_all, err, fields(jobs = jobs.len()))]
    async fn enqueue(&self, jobs: &[Job], event: Option<&NewEvent>) -> CoreResult<Vec<JobId>> {
        let mut tx = self.begin_for(event).await?;
        let ids = enqueue_in_tx(&mut tx, jobs).await?;
        if let Some(ev) = event {
            append_in_tx(&mut tx, ev).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(ids)
    }

    /// One `UPDATE … WHERE id = (SELECT … LIMIT 1 [FOR UPDATE SKIP LOCKED]) RETURNING`, oldest
    /// `run_at` first, skipping a job whose dedupe key another held job has, and a check for
    /// updates while another check of its hub is held. Appends no event and takes no chain
    /// lock.
    #[tracing::instrument(skip_all, err, fields(worker = %worker))]
    async fn claim_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> CoreResult<Option<Job>> {
        let mut tx = self.begin_unchained().await?;
        let row = sqlx::query(&format!(
            "UPDATE jobs SET state = 'started', worker_id = $1, lease_until = $2, updated_at = $3 \
             WHERE id = (SELECT c.id FROM jobs c \
                 WHERE ((c.state IN ('queued', 'retrying') AND c.run_at <= $3) \
                    OR (c.state IN ('started', 'running') AND c.lease_until < $3)) \
                   AND NOT EXISTS (SELECT 1 FROM jobs h WHERE h.id <> c.id \
                       AND h.state IN ('started', 'running') \
                       AND (h.dedupe_key = c.dedupe_key \
                         OR (c.task = 'check_for_updates' AND h.task = 'check_for_updates' \
                             AND h.hub_id = c.hub_id))) \
                 ORDER BY c.run_at, c.created_at, c.id LIMIT 1{}) \
             RETURNING {JOB_COLS}",
            self.skip_locked()
        ))
        .bind(worker)
        .bind(ms(now + lease))
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let job = row.as_ref().map(row_to_job).transpose()?;
        tx.commit().await.map_err(db_err)?;
        Ok(job)
    }

    /// Checks the *stored* state and worker, so the engine may write `retrying`, `completed`
    /// or `not_completed` through this call. Nothing is written (not even `event`) when the
    /// lease was lost.
    #[tracing::instrument(skip_all, err, fields(job_id = %job.id, state = %job.state))]
    async fn update_job(
        &self,
        job: &Job,
        worker: &str,
        event: Option<&NewEvent>,
        follow_up: Option<&FollowUp>,
    ) -> CoreResult<bool> {
        let mut tx = self.begin_for(event).await?;
        let done = sqlx::query(&format!(
            "UPDATE jobs SET state = $1, attempts = $2, run_at = $3, lease_until = $4, \
             progress = $5, error = $6, updated_at = $7, attention = $8 \
             WHERE id = $9 AND worker_id = $10 AND {HELD}"
        ))
        .bind(job.state.as_str())
        .bind(i64::from(job.attempts))
        .bind(ms(job.run_at))
        .bind(opt_ms(job.lease_until))
        .bind(&job.progress)
        .bind(&job.error)
        .bind(ms(job.updated_at))
        .bind(job.attention.map(|a| a.as_str()))
        .bind(job.id.to_string())
        .bind(worker)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, DUPLICATE_WAITING, "job"))?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(ev) = event {
            // The chain lock taken by `begin_write` is the lock every grant change takes first:
            // the version read here is final until this transaction commits.
            if let Some(f) = follow_up {
                if grants_version_in_tx(&mut tx, job.hub_id).await? > f.seen_grants_version {
                    enqueue_in_tx(&mut tx, std::slice::from_ref(&f.job)).await?;
                }
                if let Some(settle) = &f.settle {
                    enqueue_in_tx(&mut tx, std::slice::from_ref(settle)).await?;
                }
            }
            append_in_tx(&mut tx, ev).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, err, fields(job_id = %id, worker = %worker))]
    async fn renew_lease(&self, id: JobId, worker: &str, until: DateTime<Utc>) -> CoreResult<bool> {
        let mut tx = self.begin_unchained().await?;
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = $1 \
             WHERE id = $2 AND worker_id = $3 AND state IN ('started', 'running')",
        )
        .bind(ms(until))
        .bind(id.to_string())
        .bind(worker)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    /// Also writes `worker_id`. `Conflict` when re-queueing would make a second waiting
    /// job with the same `dedupe_key`. `from` empty: `false`.
    #[tracing::instrument(skip_all, err, fields(job_id = %job.id, state = %job.state))]
    async fn update_job_if(
        &self,
        job: &Job,
        from: &[JobState],
        event: &NewEvent,
    ) -> CoreResult<bool> {
        if from.is_empty() {
            return Ok(false);
        }
        let mut tx = self.begin_write().await?;
        let mut sql = Sql::new("UPDATE jobs SET state = ");
        let p = sql.text(job.state.as_str());
        sql.push(&p).push(", attempts = ");
        let p = sql.int(i64::from(job.attempts));
        sql.push(&p).push(", run_at = ");
        let p = sql.int(ms(job.run_at));
        sql.push(&p).push(", worker_id = ");
        let p = sql.opt_text(job.worker_id.clone());
        sql.push(&p).push(", lease_until = ");
        let p = sql.opt_int(opt_ms(job.lease_until));
        sql.push(&p).push(", progress = ");
        let p = sql.opt_text(job.progress.clone());
        sql.push(&p).push(", error = ");
        let p = sql.opt_text(job.error.clone());
        sql.push(&p).push(", updated_at = ");
        let p = sql.int(ms(job.updated_at));
        sql.push(&p).push(", attention = ");
        let p = sql.opt_text(job.attention.map(|a| a.as_str().to_owned()));
        sql.push(&p).push(" WHERE id = ");
        let p = sql.text(job.id.to_string());
        sql.push(&p).push(" AND state IN (");
        let list = sql.text_list(from.iter().map(|s| s.as_str().to_owned()));
        sql.push(&list).push(")");
        let done = sql
            .query()
            .execute(&mut *tx)
            .await
            .map_err(|e| map_err(e, DUPLICATE_WAITING, "job"))?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn job(&self, id: JobId) -> CoreResult<Option<Job>> {
        let row = sqlx::query(&format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(row_to_job).transpose()
    }

    /// Newest first (`created_at`, then id). `states: Some(empty)` matches nothing.
    async fn jobs(&self, f: &JobFilter) -> CoreResult<Vec<Job>> {
        let mut sql = Sql::new(&format!("SELECT {JOB_COLS} FROM jobs WHERE 1 = 1"));
        if let Some(hub) = f.hub_id {
            let p = sql.text(hub.to_string());
            sql.push(&format!(" AND hub_id = {p}"));
        }
        if let Some(states) = &f.states {
            if states.is_empty() {
                return Ok(vec![]);
            }
            let list = sql.text_list(states.iter().map(|s| s.as_str().to_owned()));
            sql.push(&format!(" AND state IN ({list})"));
        }
        let limit = sql.int(i64::from(f.limit.unwrap_or(100)));
        sql.push(&format!(" ORDER BY created_at DESC, id DESC LIMIT {limit}"));
        let rows = sql.query().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(row_to_job).collect()
    }

    /// `NotFound { kind: "job" }` when the job is missing.
    #[tracing::instrument(skip_all, err, fields(job_id = %id, worker = %worker))]
    async fn record_job_run(
        &self,
        id: JobId,
        worker: &str,
        at: DateTime<Utc>,
        outcome: &str,
    ) -> CoreResult<()> {
        let mut tx = self.begin_unchained().await?;
        sqlx::query("INSERT INTO job_runs (job_id, worker, at, outcome) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(worker)
            .bind(ms(at))
            .bind(outcome)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_err(e, "this run is already recorded", "job"))?;
        tx.commit().await.map_err(db_err)
    }

    /// Jobs with at least one run, by job id.
    async fn job_run_counts(&self) -> CoreResult<Vec<(JobId, i64)>> {
        let rows = sqlx::query(
            "SELECT job_id, COUNT(*) AS n FROM job_runs GROUP BY job_id ORDER BY job_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((JobId(uuid(r, "job_id")?), get(r, "n")?)))
            .collect()
    }

    /// `NotFound { kind: "job" }` when the job is missing.
    #[tracing::instrument(skip_all, err, fields(job_id = %id, page = page.page))]
    async fn save_listed_page(&self, id: JobId, page: &ListedPage) -> CoreResult<()> {
        let mut tx = self.begin_unchained().await?;
        sqlx::query(
            "INSERT INTO listed_pages (job_id, page, members, next_cursor, listed_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id, page) DO UPDATE SET \
             members = excluded.members, next_cursor = excluded.next_cursor, \
             listed_at = excluded.listed_at",
        )
        .bind(id.to_string())
        .bind(page.page)
        .bind(serde_json::to_string(&page.members).map_err(bad_json("members"))?)
        .bind(&page.next)
        .bind(ms(page.listed_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, "this page is already kept", "job"))?;
        tx.commit().await.map_err(db_err)
    }

    async fn listed_pages(&self, id: JobId) -> CoreResult<Vec<ListedPage>> {
        let rows = sqlx::query(
            "SELECT page, members, next_cursor, listed_at FROM listed_pages WHERE job_id = $1 \
             ORDER BY page",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ListedPage {
                    page: get(r, "page")?,
                    members: serde_json::from_str(&get::<String>(r, "members")?)
                        .map_err(bad_json("members"))?,
                    next: get(r, "next_cursor")?,
                    listed_at: time(r, "listed_at")?,
                })
            })
            .collect()
    }

    async fn clear_listed_pages(&self, id: JobId) -> CoreResult<()> {
        let mut tx = self.begin_unchained().await?;
        sqlx::query("DELETE FROM listed_pages WHERE job_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}
