//! Business hubs: settings, member snapshots, sync reports, grants and the sync schedule.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::connector::MemberState;
use castellan_core::hub::{Grant, Hub, HubId, HubMember, Job, JobId, SyncReport};
use castellan_core::ids::{AccountId, AppId, PersonId};
use castellan_core::ports::{HubStore, Supersede, GRANTS_CHANGED};
use castellan_core::validate::label_key;
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::activity::append_in_tx;
use crate::db::{
    bad_json, boolean, db_err, flag, get, map_err, ms, opt_ms, opt_time, opt_uuid, parse, time,
    uuid, Sql,
};
use crate::jobs::{enqueue_in_tx, grants_version_in_tx, supersede_in_tx};
use crate::vaults::exists;
use crate::SqlStore;

const HUB_COLS: &str = "id, app_id, label, organization_id, base_url, user_management, \
     login_method, automation_account_id, status, status_reason, warnings, safeguard_threshold, \
     sync_interval_secs, next_sync_at, last_sync_at, created_by, created_at, updated_at, settings, \
     connector";
const MEMBER_COLS: &str = "app_member_id, email, name, app_role, state, matching, person_id, \
     exempt_reason, first_seen_at, last_seen_at, roles";
const GRANT_COLS: &str =
    "person_id, hub_role, app_role, revoked, keep_seat, updated_at, resource_roles";

/// Members per `INSERT` when a snapshot is saved: 200 rows × 12 values stays far below both
/// backends' limits on bound values (SQLite 32,766; PostgreSQL 65,535).
const MEMBER_BATCH: usize = 200;

fn row_to_hub(row: &AnyRow) -> CoreResult<Hub> {
    let app_id: String = get(row, "app_id")?;
    Ok(Hub {
        id: HubId(uuid(row, "id")?),
        app_id: AppId::parse(&app_id)
            .map_err(|e| CoreError::Internal(format!("column `app_id`: {e}")))?,
        label: get(row, "label")?,
        organization_id: get(row, "organization_id")?,
        base_url: get(row, "base_url")?,
        user_management: parse(row, "user_management")?,
        login_method: parse(row, "login_method")?,
        automation_account_id: AccountId(uuid(row, "automation_account_id")?),
        status: parse(row, "status")?,
        status_reason: get(row, "status_reason")?,
        warnings: serde_json::from_str(&get::<String>(row, "warnings")?)
            .map_err(bad_json("warnings"))?,
        safeguard_threshold: get(row, "safeguard_threshold")?,
        sync_interval_secs: get(row, "sync_interval_secs")?,
        next_sync_at: opt_time(row, "next_sync_at")?,
        last_sync_at: opt_time(row, "last_sync_at")?,
        created_by: opt_uuid(row, "created_by")?.map(PersonId),
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        settings: serde_json::from_str(&get::<String>(row, "settings")?)
            .map_err(bad_json("settings"))?,
        connector: get(row, "connector")?,
    })
}

fn row_to_member(row: &AnyRow) -> CoreResult<HubMember> {
    Ok(HubMember {
        app_member_id: get(row, "app_member_id")?,
        email: get(row, "email")?,
        name: get(row, "name")?,
        app_role: get(row, "app_role")?,
        state: member_state(&get::<String>(row, "state")?)?,
        matching: parse(row, "matching")?,
        person_id: opt_uuid(row, "person_id")?.map(PersonId),
        exempt_reason: get(row, "exempt_reason")?,
        first_seen_at: time(row, "first_seen_at")?,
        last_seen_at: time(row, "last_seen_at")?,
        roles: serde_json::from_str(&get::<String>(row, "roles")?).map_err(bad_json("roles"))?,
    })
}

fn row_to_grant(row: &AnyRow) -> CoreResult<Grant> {
    Ok(Grant {
        person_id: PersonId(uuid(row, "person_id")?),
        hub_role: parse(row, "hub_role")?,
        app_role: get(row, "app_role")?,
        revoked: boolean(row, "revoked")?,
        keep_seat: boolean(row, "keep_seat")?,
        updated_at: time(row, "updated_at")?,
        resource_roles: serde_json::from_str(&get::<String>(row, "resource_roles")?)
            .map_err(bad_json("resource_roles"))?,
    })
}

/// `MemberState` has serde names but no `as_str`/`FromStr` in core; these mirror its
/// `snake_case` serde spelling.
fn member_state_str(s: MemberState) -> &'static str {
    match s {
        MemberState::Active => "active",
        MemberState::Invited => "invited",
        MemberState::Deactivated => "deactivated",
    }
}

fn member_state(s: &str) -> CoreResult<MemberState> {
    Ok(match s {
        "active" => MemberState::Active,
        "invited" => MemberState::Invited,
        "deactivated" => MemberState::Deactivated,
        other => {
            return Err(CoreError::Internal(format!(
                "column `state`: unknown member state `{other}`"
            )))
        }
    })
}

fn duplicate_label(h: &Hub) -> String {
    format!("a hub labelled `{}` already exists", h.label)
}

/// Writes every column but `id` and `created_*`. `NotFound { kind: "hub" }` when missing,
/// `Conflict` on a duplicate label.
async fn update_hub_in_tx(conn: &mut AnyConnection, h: &Hub) -> CoreResult<()> {
    let done = sqlx::query(
        "UPDATE hubs SET app_id = $1, label = $2, label_key = $3, organization_id = $4, \
         base_url = $5, user_management = $6, login_method = $7, automation_account_id = $8, \
         status = $9, status_reason = $10, warnings = $11, safeguard_threshold = $12, \
         sync_interval_secs = $13, next_sync_at = $14, last_sync_at = $15, updated_at = $16, \
         settings = $17, connector = $18 WHERE id = $19",
    )
    .bind(h.app_id.as_str())
    .bind(&h.label)
    .bind(label_key(&h.label))
    .bind(&h.organization_id)
    .bind(&h.base_url)
    .bind(h.user_management.as_str())
    .bind(h.login_method.as_str())
    .bind(h.automation_account_id.to_string())
    .bind(h.status.as_str())
    .bind(&h.status_reason)
    .bind(serde_json::to_string(&h.warnings).map_err(bad_json("warnings"))?)
    .bind(h.safeguard_threshold)
    .bind(h.sync_interval_secs)
    .bind(opt_ms(h.next_sync_at))
    .bind(opt_ms(h.last_sync_at))
    .bind(ms(h.updated_at))
    .bind(serde_json::to_string(&h.settings).map_err(bad_json("settings"))?)
    .bind(&h.connector)
    .bind(h.id.to_string())
    .execute(conn)
    .await
    .map_err(|e| map_err(e, &duplicate_label(h), "hub"))?;
    if done.rows_affected() == 0 {
        return Err(CoreError::NotFound { kind: "hub" });
    }
    Ok(())
}

/// Adds one member's values to a multi-row `INSERT`; returns the row's `(…)` tuple.
fn member_values(sql: &mut Sql, hub: &str, m: &HubMember) -> String {
    let values = [
        sql.text(hub),
        sql.text(m.app_member_id.clone()),
        sql.opt_text(m.email.clone()),
        sql.opt_text(m.name.clone()),
        sql.opt_text(m.app_role.clone()),
        sql.text(member_state_str(m.state)),
        sql.text(m.matching.as_str()),
        sql.opt_text(m.person_id.map(|p| p.to_string())),
        sql.opt_text(m.exempt_reason.clone()),
        sql.int(ms(m.first_seen_at)),
        sql.int(ms(m.last_seen_at)),
        sql.text(serde_json::to_string(&m.roles).unwrap_or_else(|_| "[]".into())),
    ];
    format!("({})", values.join(", "))
}

/// Inserts or replaces members (in batches), keyed by (hub, app member id).
/// `NotFound { kind: "person" }` when a member names a missing person.
async fn upsert_members(
    conn: &mut AnyConnection,
    hub: HubId,
    members: &[HubMember],
) -> CoreResult<()> {
    let hub = hub.to_string();
    for chunk in members.chunks(MEMBER_BATCH) {
        let mut sql = Sql::new(&format!(
            "INSERT INTO hub_members (hub_id, {MEMBER_COLS}) VALUES "
        ));
        let rows: Vec<String> = chunk
            .iter()
            .map(|m| member_values(&mut sql, &hub, m))
            .collect();
        sql.push(&rows.join(", ")).push(
            " ON CONFLICT (hub_id, app_member_id) DO UPDATE SET email = excluded.email, \
             name = excluded.name, app_role = excluded.app_role, state = excluded.state, \
             matching = excluded.matching, person_id = excluded.person_id, \
             exempt_reason = excluded.exempt_reason, first_seen_at = excluded.first_seen_at, \
             last_seen_at = excluded.last_seen_at, roles = excluded.roles",
        );
        sql.query()
            .execute(&mut *conn)
            .await
            .map_err(|e| map_err(e, "an app member appears twice in the snapshot", "person"))?;
    }
    Ok(())
}

/// Bumps the grants version of each hub; returns how many hubs exist among them.
pub(crate) async fn bump_grants_version(
    conn: &mut AnyConnection,
    hubs: &[HubId],
) -> CoreResult<u64> {
    let mut n = 0;
    for h in hubs {
        n += sqlx::query("UPDATE hubs SET grants_version = grants_version + 1 WHERE id = $1")
            .bind(h.to_string())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?
            .rows_affected();
    }
    Ok(n)
}

#[async_trait]
impl HubStore for SqlStore {
    /// The jobs are deduplicated like `enqueue`. `Conflict` on a duplicate label (case- and
    /// space-insensitive), writing nothing.
    #[tracing::instrument(skip_all, err, fields(hub_id = %h.id))]
    async fn insert_hub(&self, h: &Hub, jobs: &[Job], event: &NewEvent) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO hubs ({HUB_COLS}, label_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
        ))
        .bind(h.id.to_string())
        .bind(h.app_id.as_str())
        .bind(&h.label)
        .bind(&h.organization_id)
        .bind(&h.base_url)
        .bind(h.user_management.as_str())
        .bind(h.login_method.as_str())
        .bind(h.automation_account_id.to_string())
        .bind(h.status.as_str())
        .bind(&h.status_reason)
        .bind(serde_json::to_string(&h.warnings).map_err(bad_json("warnings"))?)
        .bind(h.safeguard_threshold)
        .bind(h.sync_interval_secs)
        .bind(opt_ms(h.next_sync_at))
        .bind(opt_ms(h.last_sync_at))
        .bind(h.created_by.map(|p| p.to_string()))
        .bind(ms(h.created_at))
        .bind(ms(h.updated_at))
        .bind(serde_json::to_string(&h.settings).map_err(bad_json("settings"))?)
        .bind(&h.connector)
        .bind(label_key(&h.label))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, &duplicate_label(h), "person"))?;
        enqueue_in_tx(&mut tx, jobs).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn hub(&self, id: HubId) -> CoreResult<Option<Hub>> {
        let row = sqlx::query(&format!("SELECT {HUB_COLS} FROM hubs WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(row_to_hub).transpose()
    }

    /// Ordered by label (case- and space-insensitive), then id.
    async fn hubs(&self) -> CoreResult<Vec<Hub>> {
        let rows = sqlx::query(&format!(
            "SELECT {HUB_COLS} FROM hubs ORDER BY label_key, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_hub).collect()
    }

    /// `NotFound` when the hub is missing; `Conflict` on a duplicate label. Takes the chain
    /// lock only when `event` is given.
    #[tracing::instrument(skip_all, err, fields(hub_id = %h.id))]
    async fn update_hub(&self, h: &Hub, event: Option<&NewEvent>) -> CoreResult<()> {
        let mut tx = self.begin_for(event).await?;
        update_hub_in_tx(&mut tx, h).await?;
        if let Some(ev) = event {
            append_in_tx(&mut tx, ev).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn hub_members(&self, id: HubId) -> CoreResult<Vec<HubMember>> {
        let rows = sqlx::query(&format!(
            "SELECT {MEMBER_COLS} FROM hub_members WHERE hub_id = $1 ORDER BY app_member_id"
        ))
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_member).collect()
    }

    /// Updates the hub row first (`NotFound` when missing), then replaces the members in
    /// batches of 200 rows, stores the report (dated `h.last_sync_at`, else the event's time)
    /// and appends the event.
    #[tracing::instrument(skip_all, err, fields(hub_id = %h.id, job_id = %job, members = members.len()))]
    async fn save_sync(
        &self,
        h: &Hub,
        members: &[HubMember],
        report: &SyncReport,
        job: JobId,
        event: &NewEvent,
        jobs: &[Job],
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        update_hub_in_tx(&mut tx, h).await?;
        sqlx::query("DELETE FROM hub_members WHERE hub_id = $1")
            .bind(h.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        upsert_members(&mut tx, h.id, members).await?;
        sqlx::query(
            "INSERT INTO hub_reports (id, hub_id, job_id, at, report) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(h.id.to_string())
        .bind(job.to_string())
        .bind(ms(h.last_sync_at.unwrap_or(event.at)))
        .bind(serde_json::to_string(report).map_err(bad_json("report"))?)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        enqueue_in_tx(&mut tx, jobs).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    /// The newest report by time (then by insertion order).
    async fn last_report(&self, id: HubId) -> CoreResult<Option<(DateTime<Utc>, SyncReport)>> {
        let row = sqlx::query(
            "SELECT at, report FROM hub_reports WHERE hub_id = $1 ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| {
            let report =
                serde_json::from_str(&get::<String>(&r, "report")?).map_err(bad_json("report"))?;
            Ok((time(&r, "at")?, report))
        })
        .transpose()
    }

    /// `NotFound` (`hub` or `person`) when the hub or the matched person is missing. Takes
    /// the chain lock only when `event` is given.
    #[tracing::instrument(skip_all, err, fields(hub_id = %id))]
    async fn upsert_hub_member(
        &self,
        id: HubId,
        m: &HubMember,
        event: Option<&NewEvent>,
    ) -> CoreResult<()> {
        let mut tx = self.begin_for(event).await?;
        if !exists(&mut tx, "hubs", id.to_string()).await? {
            return Err(CoreError::NotFound { kind: "hub" });
        }
        upsert_members(&mut tx, id, std::slice::from_ref(m)).await?;
        if let Some(ev) = event {
            append_in_tx(&mut tx, ev).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    /// Ordered by person id.
    async fn grants(&self, id: HubId) -> CoreResult<Vec<Grant>> {
        let rows = sqlx::query(&format!(
            "SELECT {GRANT_COLS} FROM hub_grants WHERE hub_id = $1 ORDER BY person_id"
        ))
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_grant).collect()
    }

    /// `NotFound` (`hub` or `person`) when either is missing, writing nothing.
    #[tracing::instrument(skip_all, err, fields(hub_id = %id, person_id = %g.person_id))]
    async fn upsert_grant(
        &self,
        id: HubId,
        g: &Grant,
        expected: Option<i64>,
        supersede: &Supersede,
        jobs: &[Job],
        event: &NewEvent,
    ) -> CoreResult<Vec<JobId>> {
        let mut tx = self.begin_write().await?;
        if let Some(v) = expected {
            // One conditional UPDATE: on PostgreSQL a concurrent share waits on the row and then
            // finds the version moved, so one of two racing shares gets `Conflict`.
            let bumped = sqlx::query(
                "UPDATE hubs SET grants_version = grants_version + 1 \
                 WHERE id = $1 AND grants_version = $2",
            )
            .bind(id.to_string())
            .bind(v)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if bumped == 0 {
                grants_version_in_tx(&mut tx, id).await?; // `NotFound` for a missing hub
                return Err(CoreError::Conflict(GRANTS_CHANGED.into()));
            }
        } else if bump_grants_version(&mut tx, &[id]).await? == 0 {
            return Err(CoreError::NotFound { kind: "hub" });
        }
        if !exists(&mut tx, "people", g.person_id.to_string()).await? {
            return Err(CoreError::NotFound { kind: "person" });
        }
        sqlx::query(&format!(
            "INSERT INTO hub_grants (hub_id, {GRANT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (hub_id, person_id) DO UPDATE SET hub_role = excluded.hub_role, \
             app_role = excluded.app_role, revoked = excluded.revoked, \
             keep_seat = excluded.keep_seat, updated_at = excluded.updated_at, \
             resource_roles = excluded.resource_roles"
        ))
        .bind(id.to_string())
        .bind(g.person_id.to_string())
        .bind(g.hub_role.as_str())
        .bind(&g.app_role)
        .bind(flag(g.revoked))
        .bind(flag(g.keep_seat))
        .bind(ms(g.updated_at))
        .bind(serde_json::to_string(&g.resource_roles).map_err(bad_json("resource_roles"))?)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, "this grant already exists", "person"))?;
        let superseded = supersede_in_tx(&mut tx, id, supersede, event.at).await?;
        enqueue_in_tx(&mut tx, jobs).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(superseded)
    }

    async fn grants_version(&self, id: HubId) -> CoreResult<i64> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        grants_version_in_tx(&mut conn, id).await
    }

    /// Takes the chain lock like every grant change (see `upsert_grant`).
    #[tracing::instrument(skip_all, err, fields(hubs = hubs.len()))]
    async fn mark_desired_changed(&self, hubs: &[HubId], jobs: &[Job]) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        bump_grants_version(&mut tx, hubs).await?;
        enqueue_in_tx(&mut tx, jobs).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Ordered by hub id.
    async fn grants_of_person(&self, person: PersonId) -> CoreResult<Vec<(HubId, Grant)>> {
        let rows = sqlx::query(&format!(
            "SELECT hub_id, {GRANT_COLS} FROM hub_grants WHERE person_id = $1 ORDER BY hub_id"
        ))
        .bind(person.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((HubId(uuid(r, "hub_id")?), row_to_grant(r)?)))
            .collect()
    }

    /// One `UPDATE … RETURNING id`: on PostgreSQL a concurrent caller waits for the row lock,
    /// re-checks `next_sync_at <= now` on the new value and skips the hub. No chain lock, no
    /// event. Ids sorted.
    #[tracing::instrument(skip_all, err)]
    async fn claim_due_syncs(&self, now: DateTime<Utc>) -> CoreResult<Vec<HubId>> {
        let mut tx = self.begin_unchained().await?;
        let rows = sqlx::query(
            "UPDATE hubs SET next_sync_at = $1 + sync_interval_secs * 1000 \
             WHERE next_sync_at <= $1 RETURNING id",
        )
        .bind(ms(now))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let mut ids = rows
            .iter()
            .map(|r| Ok(HubId(uuid(r, "id")?)))
            .collect::<CoreResult<Vec<_>>>()?;
        ids.sort();
        Ok(ids)
    }
}
