//! Teams, their members and their grants on hubs (migration `0019_teams.sql`).

use std::collections::HashMap;

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::hub::{HubId, HubRole};
use castellan_core::ids::PersonId;
use castellan_core::ports::{AccessChange, TeamStore};
use castellan_core::team::{Team, TeamGrant, TeamId};
use castellan_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::activity::append_in_tx;
use crate::db::{db_err, flag, get, map_err, ms, parse, replace_links, time, uuid, violated, Sql};
use crate::hubs::bump_grants_version;
use crate::jobs::enqueue_in_tx;
use crate::vaults::exists;
use crate::SqlStore;

const TEAM_COLS: &str = "id, name, kind, external_id, version, created_at, updated_at";

fn row_to_team(row: &AnyRow) -> CoreResult<Team> {
    Ok(Team {
        id: TeamId(uuid(row, "id")?),
        name: get(row, "name")?,
        kind: parse(row, "kind")?,
        external_id: get(row, "external_id")?,
        version: get(row, "version")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// A team grant from a row of `team_grants` joined with the team's `name` (no members).
fn row_to_grant(r: &AnyRow) -> CoreResult<TeamGrant> {
    Ok(TeamGrant {
        team_id: TeamId(uuid(r, "team_id")?),
        team_name: get(r, "name")?,
        hub_role: parse(r, "hub_role")?,
        app_role: get(r, "app_role")?,
        members: vec![],
        updated_at: time(r, "updated_at")?,
    })
}

/// A unique violation on `teams`: which of the name and the external id is taken.
fn team_conflict(e: sqlx::Error, t: &Team) -> CoreError {
    let which = violated(&e);
    let msg = if which.contains("external_id") {
        format!(
            "a team with external id `{}` already exists",
            t.external_id.as_deref().unwrap_or_default()
        )
    } else {
        format!("a team named `{}` already exists", t.name)
    };
    map_err(e, &msg, "team")
}

/// Replaces the members of `team` with `members`. `NotFound { kind: "person" }` for an
/// unknown person.
async fn set_members(
    conn: &mut AnyConnection,
    team: TeamId,
    members: &[PersonId],
) -> CoreResult<()> {
    let ids: Vec<String> = members.iter().map(ToString::to_string).collect();
    let table = ("team_members", "team_id", "person_id");
    replace_links(conn, table, team.to_string(), &ids, "person").await
}

/// Writes what a team change does to hubs (see [`AccessChange`]) and appends `event`.
async fn apply_change(
    conn: &mut AnyConnection,
    change: &AccessChange,
    event: &NewEvent,
) -> CoreResult<()> {
    for (hub, g) in &change.ended {
        sqlx::query(
            "INSERT INTO hub_grants (hub_id, person_id, hub_role, app_role, revoked, keep_seat, \
             updated_at, resource_roles) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (hub_id, person_id) DO NOTHING",
        )
        .bind(hub.to_string())
        .bind(g.person_id.to_string())
        .bind(g.hub_role.as_str())
        .bind(&g.app_role)
        .bind(flag(g.revoked))
        .bind(flag(g.keep_seat))
        .bind(ms(g.updated_at))
        .bind("[]")
        .execute(&mut *conn)
        .await
        .map_err(|e| map_err(e, "this grant already exists", "person"))?;
    }
    bump_grants_version(conn, &change.hubs).await?;
    enqueue_in_tx(conn, &change.jobs).await?;
    append_in_tx(conn, event).await?;
    Ok(())
}

#[async_trait]
impl TeamStore for SqlStore {
    #[tracing::instrument(skip_all, err(level = "debug"), fields(team_id = %t.id))]
    async fn insert_team(
        &self,
        t: &Team,
        members: &[PersonId],
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO teams ({TEAM_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(t.id.to_string())
        .bind(&t.name)
        .bind(t.kind.as_str())
        .bind(&t.external_id)
        .bind(t.version)
        .bind(ms(t.created_at))
        .bind(ms(t.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| team_conflict(e, t))?;
        set_members(&mut tx, t.id, members).await?;
        apply_change(&mut tx, change, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn team(&self, id: TeamId) -> CoreResult<Option<Team>> {
        let row = sqlx::query(&format!("SELECT {TEAM_COLS} FROM teams WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(row_to_team).transpose()
    }

    async fn teams(&self) -> CoreResult<Vec<Team>> {
        let rows = sqlx::query(&format!(
            "SELECT {TEAM_COLS} FROM teams ORDER BY lower(name), id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_team).collect()
    }

    async fn team_members(&self, id: TeamId) -> CoreResult<Vec<PersonId>> {
        let rows =
            sqlx::query("SELECT person_id FROM team_members WHERE team_id = $1 ORDER BY person_id")
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok(PersonId(uuid(r, "person_id")?)))
            .collect()
    }

    async fn teams_of_person(&self, person: PersonId) -> CoreResult<Vec<TeamId>> {
        let rows =
            sqlx::query("SELECT team_id FROM team_members WHERE person_id = $1 ORDER BY team_id")
                .bind(person.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok(TeamId(uuid(r, "team_id")?)))
            .collect()
    }

    /// One conditional `UPDATE`: on PostgreSQL a concurrent change waits on the row and then
    /// finds the version moved (`Stale`).
    #[tracing::instrument(skip_all, err(level = "debug"), fields(team_id = %t.id))]
    async fn update_team(
        &self,
        t: &Team,
        members: Option<&[PersonId]>,
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<Team> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE teams SET name = $1, external_id = $2, updated_at = $3, \
             version = version + 1 WHERE id = $4 AND version = $5",
        )
        .bind(&t.name)
        .bind(&t.external_id)
        .bind(ms(t.updated_at))
        .bind(t.id.to_string())
        .bind(t.version)
        .execute(&mut *tx)
        .await
        .map_err(|e| team_conflict(e, t))?;
        if done.rows_affected() == 0 {
            return Err(if exists(&mut tx, "teams", t.id.to_string()).await? {
                CoreError::Stale { kind: "team" }
            } else {
                CoreError::NotFound { kind: "team" }
            });
        }
        if let Some(m) = members {
            set_members(&mut tx, t.id, m).await?;
        }
        apply_change(&mut tx, change, event).await?;
        tx.commit().await.map_err(db_err)?;
        let mut t = t.clone();
        t.version += 1;
        Ok(t)
    }

    #[tracing::instrument(skip_all, err(level = "debug"), fields(team_id = %id))]
    async fn delete_team(
        &self,
        id: TeamId,
        version: Option<i64>,
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        // Access ends first: the revoked grants are written while the team's rows still exist.
        apply_change(&mut tx, change, event).await?;
        let mut sql = Sql::new("DELETE FROM teams WHERE id = ");
        let at = sql.text(id.to_string());
        sql.push(&at);
        if let Some(v) = version {
            let v = sql.int(v);
            sql.push(&format!(" AND version = {v}"));
        }
        let done = sql.query().execute(&mut *tx).await.map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(if exists(&mut tx, "teams", id.to_string()).await? {
                CoreError::Stale { kind: "team" }
            } else {
                CoreError::NotFound { kind: "team" }
            });
        }
        tx.commit().await.map_err(db_err)
    }

    async fn team_grants(&self, hub: HubId) -> CoreResult<Vec<TeamGrant>> {
        let rows = sqlx::query(
            "SELECT g.team_id, t.name, g.hub_role, g.app_role, g.updated_at FROM team_grants g \
             JOIN teams t ON t.id = g.team_id WHERE g.hub_id = $1 ORDER BY lower(t.name), t.id",
        )
        .bind(hub.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut grants = rows
            .iter()
            .map(row_to_grant)
            .collect::<CoreResult<Vec<_>>>()?;
        if grants.is_empty() {
            return Ok(grants);
        }
        let rows = sqlx::query(
            "SELECT m.team_id, m.person_id FROM team_members m \
             JOIN team_grants g ON g.team_id = m.team_id WHERE g.hub_id = $1 \
             ORDER BY m.person_id",
        )
        .bind(hub.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let at: HashMap<TeamId, usize> = grants
            .iter()
            .enumerate()
            .map(|(i, g)| (g.team_id, i))
            .collect();
        for r in &rows {
            let team = TeamId(uuid(r, "team_id")?);
            if let Some(&i) = at.get(&team) {
                grants[i].members.push(PersonId(uuid(r, "person_id")?));
            }
        }
        Ok(grants)
    }

    async fn grants_of_team(&self, team: TeamId) -> CoreResult<Vec<(HubId, TeamGrant)>> {
        let rows = sqlx::query(
            "SELECT g.hub_id, g.team_id, t.name, g.hub_role, g.app_role, g.updated_at \
             FROM team_grants g JOIN teams t ON t.id = g.team_id WHERE g.team_id = $1 \
             ORDER BY g.hub_id",
        )
        .bind(team.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((HubId(uuid(r, "hub_id")?), row_to_grant(r)?)))
            .collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"), fields(hub_id = %hub, team_id = %team))]
    async fn set_team_grant(
        &self,
        hub: HubId,
        team: TeamId,
        grant: Option<(HubRole, &str)>,
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        if !exists(&mut tx, "hubs", hub.to_string()).await? {
            return Err(CoreError::NotFound { kind: "hub" });
        }
        if !exists(&mut tx, "teams", team.to_string()).await? {
            return Err(CoreError::NotFound { kind: "team" });
        }
        match grant {
            Some((hub_role, app_role)) => {
                sqlx::query(
                    "INSERT INTO team_grants (hub_id, team_id, hub_role, app_role, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hub_id, team_id) DO UPDATE SET \
                     hub_role = excluded.hub_role, app_role = excluded.app_role, \
                     updated_at = excluded.updated_at",
                )
                .bind(hub.to_string())
                .bind(team.to_string())
                .bind(hub_role.as_str())
                .bind(app_role)
                .bind(ms(event.at))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            None => {
                let gone =
                    sqlx::query("DELETE FROM team_grants WHERE hub_id = $1 AND team_id = $2")
                        .bind(hub.to_string())
                        .bind(team.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                if gone.rows_affected() == 0 {
                    return Err(CoreError::NotFound { kind: "grant" });
                }
            }
        }
        apply_change(&mut tx, change, event).await?;
        tx.commit().await.map_err(db_err)
    }
}
