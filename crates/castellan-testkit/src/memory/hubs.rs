//! Business hubs: settings, member snapshots, sync reports, grants and the sync schedule.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::hub::{Grant, Hub, HubId, HubMember, Job, JobId, SyncReport};
use castellan_core::ids::PersonId;
use castellan_core::ports::{HubStore, Supersede, GRANTS_CHANGED};
use castellan_core::validate::label_key;
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};

use super::tables::{ms, HubRow, ReportRow, Stored, Tables};
use super::MemoryStore;

fn duplicate_label(h: &Hub) -> CoreError {
    CoreError::Conflict(format!("a hub labelled `{}` already exists", h.label))
}

impl Tables {
    fn hub_label_taken(&self, h: &Hub) -> bool {
        let key = label_key(&h.label);
        self.hubs
            .values()
            .any(|o| o.hub.id != h.id && label_key(&o.hub.label) == key)
    }

    /// Writes every column but id, `created_*` and the grants version. `NotFound { kind:
    /// "hub" }` when missing, `Conflict` on a duplicate label.
    fn update_hub(&mut self, h: &Hub) -> CoreResult<()> {
        if !self.hubs.contains_key(&h.id) {
            return Err(CoreError::NotFound { kind: "hub" });
        }
        if self.hub_label_taken(h) {
            return Err(duplicate_label(h));
        }
        if let Some(row) = self.hubs.get_mut(&h.id) {
            let (created_by, created_at) = (row.hub.created_by, row.hub.created_at);
            row.hub = Hub {
                created_by,
                created_at,
                ..h.stored()
            };
        }
        Ok(())
    }

    /// Inserts or replaces members, keyed by app member id (a later duplicate wins).
    /// `NotFound { kind: "person" }` when a member names a missing person.
    fn upsert_members(&mut self, hub: HubId, members: &[HubMember]) -> CoreResult<()> {
        if members
            .iter()
            .filter_map(|m| m.person_id)
            .any(|p| !self.people.contains_key(&p))
        {
            return Err(CoreError::NotFound { kind: "person" });
        }
        let snapshot = self.members.entry(hub).or_default();
        for m in members {
            snapshot.insert(m.app_member_id.clone(), m.stored());
        }
        Ok(())
    }

    /// Bumps the grants version of each existing hub; returns how many exist.
    pub(crate) fn bump_grants_version(&mut self, hubs: &[HubId]) -> u64 {
        let mut n = 0;
        for h in hubs {
            if let Some(row) = self.hubs.get_mut(h) {
                row.grants_version += 1;
                n += 1;
            }
        }
        n
    }
}

#[async_trait]
impl HubStore for MemoryStore {
    /// `Conflict` on a duplicate id or label; `NotFound { kind: "person" }` when `created_by`
    /// is missing; the jobs are deduplicated like `enqueue`.
    async fn insert_hub(&self, h: &Hub, jobs: &[Job], event: &NewEvent) -> CoreResult<()> {
        self.write(|tx| {
            if tx.t.hubs.contains_key(&h.id) || tx.t.hub_label_taken(h) {
                return Err(duplicate_label(h));
            }
            if h.created_by.is_some_and(|p| !tx.t.people.contains_key(&p)) {
                return Err(CoreError::NotFound { kind: "person" });
            }
            tx.t.hubs.insert(
                h.id,
                HubRow {
                    hub: h.stored(),
                    grants_version: 0,
                },
            );
            tx.t.enqueue(jobs)?;
            tx.append(event);
            Ok(())
        })
    }

    async fn hub(&self, id: HubId) -> CoreResult<Option<Hub>> {
        self.read(|t| Ok(t.hubs.get(&id).map(|r| r.hub.clone())))
    }

    /// Ordered by label (case- and space-insensitive), then id.
    async fn hubs(&self) -> CoreResult<Vec<Hub>> {
        self.read(|t| {
            let mut all: Vec<Hub> = t.hubs.values().map(|r| r.hub.clone()).collect();
            all.sort_by_cached_key(|h| (label_key(&h.label), h.id));
            Ok(all)
        })
    }

    async fn update_hub(&self, h: &Hub, event: Option<&NewEvent>) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.update_hub(h)?;
            if let Some(ev) = event {
                tx.append(ev);
            }
            Ok(())
        })
    }

    /// Ordered by app member id.
    async fn hub_members(&self, id: HubId) -> CoreResult<Vec<HubMember>> {
        self.read(|t| {
            Ok(t.members
                .get(&id)
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default())
        })
    }

    /// The report is dated `h.last_sync_at`, else the event's time.
    async fn save_sync(
        &self,
        h: &Hub,
        members: &[HubMember],
        report: &SyncReport,
        _job: JobId,
        event: &NewEvent,
        jobs: &[Job],
    ) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.update_hub(h)?;
            tx.t.members.remove(&h.id);
            tx.t.upsert_members(h.id, members)?;
            let n = tx.t.reports.len() as u64;
            tx.t.reports.push(ReportRow {
                hub_id: h.id,
                at: ms(h.last_sync_at.unwrap_or(event.at)),
                n,
                report: report.clone(),
            });
            tx.t.enqueue(jobs)?;
            tx.append(event);
            Ok(())
        })
    }

    /// The newest report by time, then by insertion order.
    async fn last_report(&self, id: HubId) -> CoreResult<Option<(DateTime<Utc>, SyncReport)>> {
        self.read(|t| {
            Ok(t.reports
                .iter()
                .filter(|r| r.hub_id == id)
                .max_by_key(|r| (r.at, r.n))
                .map(|r| (r.at, r.report.clone())))
        })
    }

    async fn upsert_hub_member(
        &self,
        id: HubId,
        m: &HubMember,
        event: Option<&NewEvent>,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if !tx.t.hubs.contains_key(&id) {
                return Err(CoreError::NotFound { kind: "hub" });
            }
            tx.t.upsert_members(id, std::slice::from_ref(m))?;
            if let Some(ev) = event {
                tx.append(ev);
            }
            Ok(())
        })
    }

    /// Ordered by person id.
    async fn grants(&self, id: HubId) -> CoreResult<Vec<Grant>> {
        self.read(|t| {
            Ok(t.grants
                .iter()
                .filter(|((h, _), _)| *h == id)
                .map(|(_, g)| g.clone())
                .collect())
        })
    }

    async fn upsert_grant(
        &self,
        id: HubId,
        g: &Grant,
        expected: Option<i64>,
        supersede: &Supersede,
        jobs: &[Job],
        event: &NewEvent,
    ) -> CoreResult<Vec<JobId>> {
        self.write(|tx| {
            if let Some(v) = expected {
                if tx.t.grants_version(id)? != v {
                    return Err(CoreError::Conflict(GRANTS_CHANGED.into()));
                }
            }
            if tx.t.bump_grants_version(&[id]) == 0 {
                return Err(CoreError::NotFound { kind: "hub" });
            }
            if !tx.t.people.contains_key(&g.person_id) {
                return Err(CoreError::NotFound { kind: "person" });
            }
            tx.t.grants.insert((id, g.person_id), g.stored());
            let superseded = tx.supersede(id, supersede, event.at);
            tx.t.enqueue(jobs)?;
            tx.append(event);
            Ok(superseded)
        })
    }

    async fn grants_version(&self, id: HubId) -> CoreResult<i64> {
        self.read(|t| t.grants_version(id))
    }

    async fn mark_desired_changed(&self, hubs: &[HubId], jobs: &[Job]) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.bump_grants_version(hubs);
            tx.t.enqueue(jobs)?;
            Ok(())
        })
    }

    /// Ordered by hub id.
    async fn grants_of_person(&self, person: PersonId) -> CoreResult<Vec<(HubId, Grant)>> {
        self.read(|t| {
            Ok(t.grants
                .iter()
                .filter(|((_, p), _)| *p == person)
                .map(|((h, _), g)| (*h, g.clone()))
                .collect())
        })
    }

    /// Each due hub's `next_sync_at` moves to `now + interval`; ids sorted. No event.
    async fn claim_due_syncs(&self, now: DateTime<Utc>) -> CoreResult<Vec<HubId>> {
        self.write(|tx| {
            let now = ms(now);
            let mut ids = vec![];
            for row in tx.t.hubs.values_mut() {
                if row.hub.next_sync_at.is_some_and(|n| n <= now) {
                    row.hub.next_sync_at =
                        Some(now + chrono::Duration::seconds(row.hub.sync_interval_secs));
                    ids.push(row.hub.id);
                }
            }
            Ok(ids)
        })
    }
}
