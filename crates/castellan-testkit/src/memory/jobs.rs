//! The bot's durable job queue: enqueue with deduplication, claims with leases, guarded updates
//! and the run log.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::hub::{HubId, Job, JobId, JobState, Task};
use castellan_core::ids::EventId;
use castellan_core::ports::{FollowUp, JobFilter, JobStore, Supersede};
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};

use super::tables::{ms, oms, RunRow, Stored, Tables};
use super::{MemoryStore, Tx};

const DUPLICATE_WAITING: &str =
    "another job with the same deduplication key is waiting to run; wait for it to finish";

/// Queued or retrying: at most one such job per dedupe key (the `jobs_one_waiting` index).
fn waiting(s: JobState) -> bool {
    matches!(s, JobState::Queued | JobState::Retrying)
}

/// Started or running: a worker holds it.
fn held(s: JobState) -> bool {
    matches!(s, JobState::Started | JobState::Running)
}

impl Tables {
    /// Whether a job other than `except` with this dedupe key is in a state `in_state` accepts.
    fn key_taken(&self, key: &str, except: JobId, in_state: fn(JobState) -> bool) -> bool {
        self.jobs
            .values()
            .any(|j| j.id != except && in_state(j.state) && j.dedupe_key.as_deref() == Some(key))
    }

    /// Whether another job with this job's dedupe key is held, or, for a check for updates,
    /// another check of its hub (so this one may not start).
    fn twin_held(&self, j: &Job) -> bool {
        let check = |x: &Job| x.task == Task::CheckForUpdates;
        j.dedupe_key
            .as_deref()
            .is_some_and(|k| self.key_taken(k, j.id, held))
            || (check(j)
                && self
                    .jobs
                    .values()
                    .any(|h| h.id != j.id && held(h.state) && check(h) && h.hub_id == j.hub_id))
    }

    /// Inserts each job unless a waiting job (stored, or earlier in `jobs`) has its dedupe
    /// key; returns the ids inserted. `NotFound { kind: "hub" }` when a job names a missing hub;
    /// `Conflict` on a duplicate job id.
    pub(crate) fn enqueue(&mut self, jobs: &[Job]) -> CoreResult<Vec<JobId>> {
        let mut inserted = Vec::with_capacity(jobs.len());
        for j in jobs {
            let dup = waiting(j.state)
                && j.dedupe_key
                    .as_deref()
                    .is_some_and(|k| self.key_taken(k, j.id, waiting));
            if dup {
                continue;
            }
            if !self.hubs.contains_key(&j.hub_id) {
                return Err(CoreError::NotFound { kind: "hub" });
            }
            if self.jobs.contains_key(&j.id) {
                return Err(CoreError::Conflict(format!(
                    "a job with id {} already exists",
                    j.id
                )));
            }
            self.jobs.insert(j.id, j.stored());
            inserted.push(j.id);
        }
        Ok(inserted)
    }

    /// The hub's grants version. `NotFound { kind: "hub" }` when missing.
    pub(crate) fn grants_version(&self, hub: HubId) -> CoreResult<i64> {
        self.hubs
            .get(&hub)
            .map(|h| h.grants_version)
            .ok_or(CoreError::NotFound { kind: "hub" })
    }

    /// Writes a job's mutable fields (and `worker_id` when `with_worker`), refusing a second
    /// waiting job with the same dedupe key.
    fn write_job(&mut self, job: &Job, with_worker: bool) -> CoreResult<()> {
        let busy = waiting(job.state)
            && self
                .jobs
                .get(&job.id)
                .and_then(|j| j.dedupe_key.clone())
                .is_some_and(|k| self.key_taken(&k, job.id, waiting));
        if busy {
            return Err(CoreError::Conflict(DUPLICATE_WAITING.into()));
        }
        let Some(row) = self.jobs.get_mut(&job.id) else {
            return Err(CoreError::NotFound { kind: "job" });
        };
        row.state = job.state;
        row.attempts = job.attempts;
        row.run_at = ms(job.run_at);
        row.lease_until = oms(job.lease_until);
        row.progress = job.progress.clone();
        row.error = job.error.clone();
        row.attention = job.attention;
        row.updated_at = ms(job.updated_at);
        if with_worker {
            row.worker_id = job.worker_id.clone();
        }
        Ok(())
    }
}

impl Tx<'_> {
    /// Cancels the hub's `queued` and `retrying` jobs whose dedupe key starts with the prefix,
    /// each with a copy of the event targeted at it; returns their ids (by job id). Held jobs
    /// are left alone.
    pub(crate) fn supersede(
        &mut self,
        hub: HubId,
        s: &Supersede,
        now: DateTime<Utc>,
    ) -> Vec<JobId> {
        let mut ids = vec![];
        for j in self.t.jobs.values_mut() {
            let obsolete = j.hub_id == hub
                && matches!(j.state, JobState::Queued | JobState::Retrying)
                && j.dedupe_key
                    .as_deref()
                    .is_some_and(|k| k.starts_with(&s.key_prefix));
            if obsolete {
                j.state = JobState::NotCompleted;
                j.error = Some(s.reason.clone());
                j.lease_until = None;
                j.updated_at = ms(now);
                ids.push((j.id, j.task));
            }
        }
        ids.into_iter()
            .map(|(id, task)| {
                let mut ev = s.event.clone();
                ev.id = EventId::new();
                self.append(&ev.target("job", id, task.as_str()));
                id
            })
            .collect()
    }
}

#[async_trait]
impl JobStore for MemoryStore {
    async fn enqueue(&self, jobs: &[Job], event: Option<&NewEvent>) -> CoreResult<Vec<JobId>> {
        self.write(|tx| {
            let ids = tx.t.enqueue(jobs)?;
            if let Some(ev) = event {
                tx.append(ev);
            }
            Ok(ids)
        })
    }

    /// Oldest `run_at` first (then `created_at`, then id), skipping a job whose dedupe key
    /// another held job has, and a check for updates while another check of its hub is held.
    async fn claim_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> CoreResult<Option<Job>> {
        self.write(|tx| {
            let now = ms(now);
            let due = tx
                .t
                .jobs
                .values()
                .filter(|j| match j.state {
                    JobState::Queued | JobState::Retrying => j.run_at <= now,
                    JobState::Started | JobState::Running => j.lease_until.is_some_and(|l| l < now),
                    _ => false,
                })
                .filter(|j| !tx.t.twin_held(j))
                .min_by_key(|j| (j.run_at, j.created_at, j.id))
                .map(|j| j.id);
            let Some(id) = due else { return Ok(None) };
            let Some(j) = tx.t.jobs.get_mut(&id) else {
                return Ok(None);
            };
            j.state = JobState::Started;
            j.worker_id = Some(worker.to_owned());
            j.lease_until = Some(ms(now + lease));
            j.updated_at = now;
            Ok(Some(j.clone()))
        })
    }

    /// Checks the stored state and worker; nothing is written (not even `event`) when the
    /// lease was lost.
    async fn update_job(
        &self,
        job: &Job,
        worker: &str,
        event: Option<&NewEvent>,
        follow_up: Option<&FollowUp>,
    ) -> CoreResult<bool> {
        self.write(|tx| {
            let held = tx.t.jobs.get(&job.id).is_some_and(|j| {
                j.worker_id.as_deref() == Some(worker)
                    && matches!(
                        j.state,
                        JobState::Started | JobState::Running | JobState::Retrying
                    )
            });
            if !held {
                return Ok(false);
            }
            tx.t.write_job(job, false)?;
            if let Some(ev) = event {
                if let Some(f) = follow_up {
                    if tx.t.grants_version(job.hub_id)? > f.seen_grants_version {
                        tx.t.enqueue(std::slice::from_ref(&f.job))?;
                    }
                    if let Some(settle) = &f.settle {
                        tx.t.enqueue(std::slice::from_ref(settle))?;
                    }
                }
                tx.append(ev);
            }
            Ok(true)
        })
    }

    async fn renew_lease(&self, id: JobId, worker: &str, until: DateTime<Utc>) -> CoreResult<bool> {
        self.write(|tx| {
            let Some(j) = tx.t.jobs.get_mut(&id).filter(|j| {
                j.worker_id.as_deref() == Some(worker)
                    && matches!(j.state, JobState::Started | JobState::Running)
            }) else {
                return Ok(false);
            };
            j.lease_until = Some(ms(until));
            Ok(true)
        })
    }

    /// Also writes `worker_id`. `Conflict` when re-queueing would make a second waiting job
    /// with the same dedupe key. `from` empty: `false`.
    async fn update_job_if(
        &self,
        job: &Job,
        from: &[JobState],
        event: &NewEvent,
    ) -> CoreResult<bool> {
        self.write(|tx| {
            let ok =
                tx.t.jobs
                    .get(&job.id)
                    .is_some_and(|j| from.contains(&j.state));
            if !ok {
                return Ok(false);
            }
            tx.t.write_job(job, true)?;
            tx.append(event);
            Ok(true)
        })
    }

    async fn job(&self, id: JobId) -> CoreResult<Option<Job>> {
        self.read(|t| Ok(t.jobs.get(&id).cloned()))
    }

    /// Newest first (`created_at`, then id). `states: Some(empty)` matches nothing.
    async fn jobs(&self, f: &JobFilter) -> CoreResult<Vec<Job>> {
        self.read(|t| {
            let mut all: Vec<Job> = t
                .jobs
                .values()
                .filter(|j| f.hub_id.is_none_or(|h| j.hub_id == h))
                .filter(|j| f.states.as_ref().is_none_or(|s| s.contains(&j.state)))
                .cloned()
                .collect();
            all.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
            all.truncate(f.limit.unwrap_or(100) as usize);
            Ok(all)
        })
    }

    /// `NotFound { kind: "job" }` when the job is missing.
    async fn record_job_run(
        &self,
        id: JobId,
        _worker: &str,
        _at: DateTime<Utc>,
        _outcome: &str,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if !tx.t.jobs.contains_key(&id) {
                return Err(CoreError::NotFound { kind: "job" });
            }
            tx.t.job_runs.push(RunRow { job_id: id });
            Ok(())
        })
    }

    /// Jobs with at least one run, by job id.
    async fn job_run_counts(&self) -> CoreResult<Vec<(JobId, i64)>> {
        self.read(|t| {
            let mut counts = std::collections::BTreeMap::<JobId, i64>::new();
            for r in &t.job_runs {
                *counts.entry(r.job_id).or_default() += 1;
            }
            Ok(counts.into_iter().collect())
        })
    }

    /// `NotFound { kind: "job" }` when the job is missing.
    async fn save_listed_page(
        &self,
        id: JobId,
        page: &castellan_core::ports::ListedPage,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if !tx.t.jobs.contains_key(&id) {
                return Err(CoreError::NotFound { kind: "job" });
            }
            tx.t.listed_pages
                .entry(id)
                .or_default()
                .insert(page.page, page.clone());
            Ok(())
        })
    }

    async fn listed_pages(&self, id: JobId) -> CoreResult<Vec<castellan_core::ports::ListedPage>> {
        self.read(|t| {
            Ok(t.listed_pages
                .get(&id)
                .map(|p| p.values().cloned().collect())
                .unwrap_or_default())
        })
    }

    async fn clear_listed_pages(&self, id: JobId) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.listed_pages.remove(&id);
            Ok(())
        })
    }
}
