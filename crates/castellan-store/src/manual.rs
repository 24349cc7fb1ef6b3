//! Manual hubs: each hub's roster and its app admin's tasks (`castellan_core::manual`).

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::connector::MemberState;
use castellan_core::hub::{HubId, Job};
use castellan_core::ids::PersonId;
use castellan_core::manual::{
    plan_open, provisional_renames, task_event, verified_tasks, ManualTask, ManualTaskId,
    RosterMember, TaskState,
};
use castellan_core::ports::ManualStore;
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::activity::append_in_tx;
use crate::db::{
    bad_json, db_err, get, map_err, ms, opt_ms, opt_time, opt_uuid, parse, time, uuid, Sql,
};
use crate::jobs::enqueue_in_tx;
use crate::vaults::exists;
use crate::SqlStore;

const TASK_COLS: &str = "id, hub_id, kind, app_member_id, email, role, assignee, state, due_at, \
     created_at, done_at, done_by, verified_at, cancelled_at";

/// Roster rows per `INSERT`: 200 rows × 6 values, far below both backends' bound-value limits.
const ROSTER_BATCH: usize = 200;

fn state_str(s: MemberState) -> &'static str {
    match s {
        MemberState::Active => "active",
        MemberState::Invited => "invited",
        MemberState::Deactivated => "deactivated",
    }
}

fn row_to_member(row: &AnyRow) -> CoreResult<RosterMember> {
    let state: String = get(row, "state")?;
    Ok(RosterMember {
        app_member_id: get(row, "app_member_id")?,
        email: get(row, "email")?,
        name: get(row, "name")?,
        roles: serde_json::from_str(&get::<String>(row, "roles")?).map_err(bad_json("roles"))?,
        state: match state.as_str() {
            "active" => MemberState::Active,
            "invited" => MemberState::Invited,
            "deactivated" => MemberState::Deactivated,
            other => {
                return Err(CoreError::Internal(format!(
                    "column `state`: unknown member state `{other}`"
                )))
            }
        },
    })
}

fn row_to_task(row: &AnyRow) -> CoreResult<ManualTask> {
    Ok(ManualTask {
        id: ManualTaskId(uuid(row, "id")?),
        hub_id: HubId(uuid(row, "hub_id")?),
        kind: parse(row, "kind")?,
        app_member_id: get(row, "app_member_id")?,
        email: get(row, "email")?,
        role: get(row, "role")?,
        assignee: PersonId(uuid(row, "assignee")?),
        state: parse(row, "state")?,
        due_at: time(row, "due_at")?,
        created_at: time(row, "created_at")?,
        done_at: opt_time(row, "done_at")?,
        done_by: opt_uuid(row, "done_by")?.map(PersonId),
        verified_at: opt_time(row, "verified_at")?,
        cancelled_at: opt_time(row, "cancelled_at")?,
    })
}

/// The hub's tasks in `states` (all when empty), newest first.
async fn tasks_in(
    conn: &mut AnyConnection,
    hub: HubId,
    states: &[TaskState],
) -> CoreResult<Vec<ManualTask>> {
    let mut sql = Sql::new(&format!(
        "SELECT {TASK_COLS} FROM manual_tasks WHERE hub_id = "
    ));
    let h = sql.text(hub.to_string());
    sql.push(&h);
    if !states.is_empty() {
        let list = sql.text_list(states.iter().map(|s| s.as_str().to_owned()));
        sql.push(&format!(" AND state IN ({list})"));
    }
    sql.push(" ORDER BY created_at DESC, id DESC");
    let rows = sql.query().fetch_all(&mut *conn).await.map_err(db_err)?;
    rows.iter().map(row_to_task).collect()
}

/// Writes a task's mutable columns (state, role, member id and the times).
async fn update_task(conn: &mut AnyConnection, t: &ManualTask) -> CoreResult<()> {
    sqlx::query(
        "UPDATE manual_tasks SET app_member_id = $1, role = $2, state = $3, done_at = $4, \
         done_by = $5, verified_at = $6, cancelled_at = $7 WHERE id = $8",
    )
    .bind(&t.app_member_id)
    .bind(&t.role)
    .bind(t.state.as_str())
    .bind(opt_ms(t.done_at))
    .bind(t.done_by.map(|p| p.to_string()))
    .bind(opt_ms(t.verified_at))
    .bind(opt_ms(t.cancelled_at))
    .bind(t.id.to_string())
    .execute(conn)
    .await
    .map_err(|e| map_err(e, "the hub already has a pending task like it", "person"))?;
    Ok(())
}

/// Cancels each task (pending ones only) and appends a `cancelled` event per task.
async fn cancel_in_tx(
    conn: &mut AnyConnection,
    tasks: impl IntoIterator<Item = ManualTask>,
    now: DateTime<Utc>,
    cancelled: &NewEvent,
) -> CoreResult<Vec<ManualTask>> {
    let mut out = vec![];
    for mut t in tasks.into_iter().filter(ManualTask::is_pending) {
        t.state = TaskState::Cancelled;
        t.cancelled_at = Some(now);
        update_task(&mut *conn, &t).await?;
        append_in_tx(&mut *conn, &task_event(cancelled, &t)).await?;
        out.push(t);
    }
    Ok(out)
}

#[async_trait]
impl ManualStore for SqlStore {
    /// Deletes the old rows and inserts the new ones in batches of 200.
    #[tracing::instrument(skip_all, err, fields(hub_id = %hub, members = members.len()))]
    async fn replace_roster(
        &self,
        hub: HubId,
        members: &[RosterMember],
        now: DateTime<Utc>,
        event: &NewEvent,
        verified: &NewEvent,
        jobs: &[Job],
    ) -> CoreResult<Vec<ManualTask>> {
        let mut tx = self.begin_write().await?;
        if !exists(&mut tx, "hubs", hub.to_string()).await? {
            return Err(CoreError::NotFound { kind: "hub" });
        }
        sqlx::query("DELETE FROM manual_roster WHERE hub_id = $1")
            .bind(hub.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for chunk in members.chunks(ROSTER_BATCH) {
            let mut sql = Sql::new(
                "INSERT INTO manual_roster (hub_id, app_member_id, email, name, roles, state) VALUES ",
            );
            let mut rows = vec![];
            for m in chunk {
                let roles = serde_json::to_string(&m.roles).map_err(bad_json("roles"))?;
                let values = [
                    sql.text(hub.to_string()),
                    sql.text(m.app_member_id.clone()),
                    sql.text(m.email.clone()),
                    sql.opt_text(m.name.clone()),
                    sql.text(roles),
                    sql.text(state_str(m.state)),
                ];
                rows.push(format!("({})", values.join(", ")));
            }
            sql.push(&rows.join(", "));
            sql.query()
                .execute(&mut *tx)
                .await
                .map_err(|e| map_err(e, "a member id appears twice in the roster", "hub"))?;
        }
        let rows = sqlx::query("SELECT app_member_id, email FROM hub_members WHERE hub_id = $1")
            .bind(hub.to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let snapshot = rows
            .iter()
            .map(|r| Ok((get(r, "app_member_id")?, get(r, "email")?)))
            .collect::<CoreResult<Vec<(String, Option<String>)>>>()?;
        for (old, new) in provisional_renames(&snapshot, members) {
            sqlx::query(
                "UPDATE hub_members SET app_member_id = $1 WHERE hub_id = $2 AND app_member_id = $3",
            )
            .bind(new)
            .bind(hub.to_string())
            .bind(old)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        let pending = tasks_in(&mut tx, hub, &[TaskState::Open, TaskState::Done]).await?;
        let ids = verified_tasks(&pending, members);
        append_in_tx(&mut tx, event).await?;
        let mut out = vec![];
        for mut t in pending.into_iter().filter(|t| ids.contains(&t.id)) {
            t.state = TaskState::Verified;
            t.verified_at = Some(now);
            update_task(&mut tx, &t).await?;
            append_in_tx(&mut tx, &task_event(verified, &t)).await?;
            out.push(t);
        }
        enqueue_in_tx(&mut tx, jobs).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn roster(&self, hub: HubId) -> CoreResult<Vec<RosterMember>> {
        let rows = sqlx::query(
            "SELECT app_member_id, email, name, roles, state FROM manual_roster \
             WHERE hub_id = $1 ORDER BY app_member_id",
        )
        .bind(hub.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_member).collect()
    }

    #[tracing::instrument(skip_all, err, fields(hub_id = %task.hub_id, kind = %task.kind))]
    async fn open_task(
        &self,
        task: &ManualTask,
        opened: &NewEvent,
        cancelled: &NewEvent,
    ) -> CoreResult<ManualTask> {
        let mut tx = self.begin_write().await?;
        if !exists(&mut tx, "hubs", task.hub_id.to_string()).await? {
            return Err(CoreError::NotFound { kind: "hub" });
        }
        let pending = tasks_in(&mut tx, task.hub_id, &[TaskState::Open, TaskState::Done]).await?;
        let plan = plan_open(&pending, task);
        let cancel = pending.into_iter().filter(|t| plan.cancel.contains(&t.id));
        cancel_in_tx(&mut tx, cancel, task.created_at, cancelled).await?;
        let out = match plan.keep {
            Some(kept) => {
                if plan.changed {
                    update_task(&mut tx, &kept).await?;
                    append_in_tx(&mut tx, &task_event(opened, &kept)).await?;
                }
                kept
            }
            None => {
                sqlx::query(&format!(
                    "INSERT INTO manual_tasks ({TASK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                     $8, $9, $10, $11, $12, $13, $14)"
                ))
                .bind(task.id.to_string())
                .bind(task.hub_id.to_string())
                .bind(task.kind.as_str())
                .bind(&task.app_member_id)
                .bind(&task.email)
                .bind(&task.role)
                .bind(task.assignee.to_string())
                .bind(task.state.as_str())
                .bind(ms(task.due_at))
                .bind(ms(task.created_at))
                .bind(opt_ms(task.done_at))
                .bind(task.done_by.map(|p| p.to_string()))
                .bind(opt_ms(task.verified_at))
                .bind(opt_ms(task.cancelled_at))
                .execute(&mut *tx)
                .await
                .map_err(|e| map_err(e, "the hub already has a pending task like it", "person"))?;
                append_in_tx(&mut tx, &task_event(opened, task)).await?;
                task.clone()
            }
        };
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    /// Newest first (by creation time, then id).
    async fn tasks(&self, hub: HubId) -> CoreResult<Vec<ManualTask>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        tasks_in(&mut conn, hub, &[]).await
    }

    #[tracing::instrument(skip_all, err, fields(hub_id = %hub, task_id = %task))]
    async fn mark_task_done(
        &self,
        hub: HubId,
        task: ManualTaskId,
        person: PersonId,
        now: DateTime<Utc>,
        done: &NewEvent,
    ) -> CoreResult<ManualTask> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT {TASK_COLS} FROM manual_tasks WHERE id = $1 AND hub_id = $2{}",
            self.for_update()
        ))
        .bind(task.to_string())
        .bind(hub.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut t = row
            .as_ref()
            .map(row_to_task)
            .transpose()?
            .ok_or(CoreError::NotFound { kind: "task" })?;
        if !t.mark_done(person, now)? {
            return Ok(t);
        }
        update_task(&mut tx, &t).await?;
        append_in_tx(&mut tx, &task_event(done, &t)).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(t)
    }

    #[tracing::instrument(skip_all, err, fields(hub_id = %hub, tasks = tasks.len()))]
    async fn cancel_tasks(
        &self,
        hub: HubId,
        tasks: &[ManualTaskId],
        now: DateTime<Utc>,
        cancelled: &NewEvent,
    ) -> CoreResult<Vec<ManualTask>> {
        let mut tx = self.begin_write().await?;
        let pending = tasks_in(&mut tx, hub, &[TaskState::Open, TaskState::Done]).await?;
        let chosen = pending.into_iter().filter(|t| tasks.contains(&t.id));
        let out = cancel_in_tx(&mut tx, chosen, now, cancelled).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }
}
