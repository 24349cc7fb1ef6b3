//! Manual hubs: rosters and the app admin's tasks, with the SQL store's rules (the shared
//! `castellan_core::manual` helpers decide verification and what opening a task does).

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::hub::{HubId, Job};
use castellan_core::ids::PersonId;
use castellan_core::manual::{
    plan_open, provisional_renames, task_event, verified_tasks, ManualTask, ManualTaskId,
    RosterMember, TaskState,
};
use castellan_core::ports::ManualStore;
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};

use super::tables::{ms, Stored, Tables};
use super::{MemoryStore, Tx};

/// The hub's tasks, newest first (creation time, then id), like the SQL store's order.
fn hub_tasks(t: &Tables, hub: HubId) -> Vec<ManualTask> {
    let mut all: Vec<ManualTask> = t
        .tasks
        .values()
        .filter(|t| t.hub_id == hub)
        .cloned()
        .collect();
    all.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    all
}

impl Tx<'_> {
    /// The hub's tasks, newest first.
    fn hub_tasks(&self, hub: HubId) -> Vec<ManualTask> {
        hub_tasks(&self.t, hub)
    }

    /// Stores `t` (replacing the task with its id) and queues `template`'s event for it.
    fn put_task(&mut self, t: &ManualTask, template: &NewEvent) {
        let t = t.stored();
        self.t.tasks.insert(t.id, t.clone());
        self.append(&task_event(template, &t));
    }

    /// Cancels the given tasks that are pending, each with an event.
    fn cancel(
        &mut self,
        tasks: Vec<ManualTask>,
        now: DateTime<Utc>,
        cancelled: &NewEvent,
    ) -> Vec<ManualTask> {
        let mut out = vec![];
        for mut t in tasks.into_iter().filter(ManualTask::is_pending) {
            t.state = TaskState::Cancelled;
            t.cancelled_at = Some(ms(now));
            self.put_task(&t, cancelled);
            out.push(t.stored());
        }
        out
    }
}

#[async_trait]
impl ManualStore for MemoryStore {
    async fn replace_roster(
        &self,
        hub: HubId,
        members: &[RosterMember],
        now: DateTime<Utc>,
        event: &NewEvent,
        verified: &NewEvent,
        jobs: &[Job],
    ) -> CoreResult<Vec<ManualTask>> {
        self.write(|tx| {
            if !tx.t.hubs.contains_key(&hub) {
                return Err(CoreError::NotFound { kind: "hub" });
            }
            let mut roster = std::collections::BTreeMap::new();
            for m in members {
                if roster.insert(m.app_member_id.clone(), m.clone()).is_some() {
                    return Err(CoreError::Conflict(
                        "a member id appears twice in the roster".into(),
                    ));
                }
            }
            tx.t.rosters.insert(hub, roster);
            if let Some(snap) = tx.t.members.get_mut(&hub) {
                let pairs: Vec<(String, Option<String>)> = snap
                    .values()
                    .map(|m| (m.app_member_id.clone(), m.email.clone()))
                    .collect();
                for (old, new) in provisional_renames(&pairs, members) {
                    if let Some(mut m) = snap.remove(&old) {
                        m.app_member_id = new.clone();
                        snap.insert(new, m);
                    }
                }
            }
            let pending: Vec<ManualTask> = tx
                .hub_tasks(hub)
                .into_iter()
                .filter(ManualTask::is_pending)
                .collect();
            let ids = verified_tasks(&pending, members);
            tx.append(event);
            let mut out = vec![];
            for mut t in pending.into_iter().filter(|t| ids.contains(&t.id)) {
                t.state = TaskState::Verified;
                t.verified_at = Some(ms(now));
                tx.put_task(&t, verified);
                out.push(t.stored());
            }
            tx.t.enqueue(jobs)?;
            Ok(out)
        })
    }

    async fn roster(&self, hub: HubId) -> CoreResult<Vec<RosterMember>> {
        self.read(|t| {
            Ok(t.rosters
                .get(&hub)
                .map(|r| r.values().cloned().collect())
                .unwrap_or_default())
        })
    }

    async fn open_task(
        &self,
        task: &ManualTask,
        opened: &NewEvent,
        cancelled: &NewEvent,
    ) -> CoreResult<ManualTask> {
        self.write(|tx| {
            if !tx.t.hubs.contains_key(&task.hub_id) {
                return Err(CoreError::NotFound { kind: "hub" });
            }
            if !tx.t.people.contains_key(&task.assignee) {
                return Err(CoreError::NotFound { kind: "person" });
            }
            let pending: Vec<ManualTask> = tx
                .hub_tasks(task.hub_id)
                .into_iter()
                .filter(ManualTask::is_pending)
                .collect();
            let plan = plan_open(&pending, task);
            let cancel = pending
                .into_iter()
                .filter(|t| plan.cancel.contains(&t.id))
                .collect();
            tx.cancel(cancel, task.created_at, cancelled);
            Ok(match plan.keep {
                Some(kept) => {
                    if plan.changed {
                        tx.put_task(&kept, opened);
                    }
                    kept.stored()
                }
                None => {
                    tx.put_task(task, opened);
                    task.stored()
                }
            })
        })
    }

    async fn tasks(&self, hub: HubId) -> CoreResult<Vec<ManualTask>> {
        self.read(|t| Ok(hub_tasks(t, hub)))
    }

    async fn mark_task_done(
        &self,
        hub: HubId,
        task: ManualTaskId,
        person: PersonId,
        now: DateTime<Utc>,
        done: &NewEvent,
    ) -> CoreResult<ManualTask> {
        self.write(|tx| {
            let mut t =
                tx.t.tasks
                    .get(&task)
                    .filter(|t| t.hub_id == hub)
                    .cloned()
                    .ok_or(CoreError::NotFound { kind: "task" })?;
            if !t.mark_done(person, ms(now))? {
                return Ok(t);
            }
            tx.put_task(&t, done);
            Ok(t.stored())
        })
    }

    async fn cancel_tasks(
        &self,
        hub: HubId,
        tasks: &[ManualTaskId],
        now: DateTime<Utc>,
        cancelled: &NewEvent,
    ) -> CoreResult<Vec<ManualTask>> {
        self.write(|tx| {
            let chosen = tx
                .hub_tasks(hub)
                .into_iter()
                .filter(|t| tasks.contains(&t.id))
                .collect();
            Ok(tx.cancel(chosen, now, cancelled))
        })
    }
}
