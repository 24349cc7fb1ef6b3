//! Collections, their accounts and shares (migration `0020_collections.sql`).

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::collection::{Collection, CollectionId, Grantee, ItemTarget, Reach, Share};
use castellan_core::ids::{AccountId, PersonId, VaultId};
use castellan_core::model::ItemRole;
use castellan_core::ports::CollectionStore;
use castellan_core::team::TeamId;
use castellan_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::activity::append_in_tx;
use crate::db::{db_err, get, map_err, ms, parse, replace_links, time, uuid, Sql};
use crate::vaults::exists;
use crate::SqlStore;

const COLLECTION_COLS: &str = "id, name, description, version, created_at, updated_at";

fn row_to_collection(row: &AnyRow) -> CoreResult<Collection> {
    Ok(Collection {
        id: CollectionId(uuid(row, "id")?),
        name: get(row, "name")?,
        description: get(row, "description")?,
        version: get(row, "version")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn conflict(e: sqlx::Error, c: &Collection) -> CoreError {
    map_err(
        e,
        &format!("a collection named `{}` already exists", c.name),
        "account",
    )
}

/// `(kind, id)` of a grantee as stored.
fn grantee_key(g: Grantee) -> (&'static str, String) {
    match g {
        Grantee::Person(p) => ("person", p.to_string()),
        Grantee::Team(t) => ("team", t.to_string()),
    }
}

fn row_to_grantee(r: &AnyRow) -> CoreResult<Grantee> {
    let kind: String = get(r, "grantee_kind")?;
    let id = uuid(r, "grantee_id")?;
    match kind.as_str() {
        "person" => Ok(Grantee::Person(PersonId(id))),
        "team" => Ok(Grantee::Team(TeamId(id))),
        other => Err(CoreError::Internal(format!(
            "unknown grantee kind `{other}` in shares"
        ))),
    }
}

fn row_to_target(r: &AnyRow) -> CoreResult<ItemTarget> {
    let kind: String = get(r, "target_kind")?;
    let id = uuid(r, "target_id")?;
    match kind.as_str() {
        "vault" => Ok(ItemTarget::Vault(VaultId(id))),
        "collection" => Ok(ItemTarget::Collection(CollectionId(id))),
        "account" => Ok(ItemTarget::Account(AccountId(id))),
        other => Err(CoreError::Internal(format!(
            "unknown target kind `{other}` in shares"
        ))),
    }
}

fn row_to_share(r: &AnyRow) -> CoreResult<Share> {
    Ok(Share {
        grantee: row_to_grantee(r)?,
        target: row_to_target(r)?,
        role: parse(r, "role")?,
        updated_at: time(r, "updated_at")?,
    })
}

const SHARE_COLS: &str = "grantee_kind, grantee_id, target_kind, target_id, role, updated_at";

/// Replaces the accounts of `collection` with `accounts`. `NotFound { kind: "account" }` for
/// an unknown account.
async fn set_accounts(
    conn: &mut AnyConnection,
    collection: CollectionId,
    accounts: &[AccountId],
) -> CoreResult<()> {
    let ids: Vec<String> = accounts.iter().map(ToString::to_string).collect();
    let table = ("collection_accounts", "collection_id", "account_id");
    replace_links(conn, table, collection.to_string(), &ids, "account").await
}

/// `NotFound { kind: "collection" }` or `Stale` after a conditional write touched no row.
async fn missing_or_stale(conn: &mut AnyConnection, id: CollectionId) -> CoreError {
    match exists(conn, "collections", id.to_string()).await {
        Ok(true) => CoreError::Stale { kind: "collection" },
        Ok(false) => CoreError::NotFound { kind: "collection" },
        Err(e) => e,
    }
}

#[async_trait]
impl CollectionStore for SqlStore {
    #[tracing::instrument(skip_all, err(level = "debug"), fields(collection_id = %c.id))]
    async fn insert_collection(
        &self,
        c: &Collection,
        accounts: &[AccountId],
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO collections ({COLLECTION_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(c.id.to_string())
        .bind(&c.name)
        .bind(&c.description)
        .bind(c.version)
        .bind(ms(c.created_at))
        .bind(ms(c.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, c))?;
        set_accounts(&mut tx, c.id, accounts).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn collection(&self, id: CollectionId) -> CoreResult<Option<Collection>> {
        let row = sqlx::query(&format!(
            "SELECT {COLLECTION_COLS} FROM collections WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(row_to_collection).transpose()
    }

    async fn collections(&self) -> CoreResult<Vec<Collection>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLLECTION_COLS} FROM collections ORDER BY lower(name), id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_collection).collect()
    }

    async fn collection_accounts(&self, id: CollectionId) -> CoreResult<Vec<AccountId>> {
        let rows = sqlx::query(
            "SELECT account_id FROM collection_accounts WHERE collection_id = $1 \
             ORDER BY account_id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok(AccountId(uuid(r, "account_id")?)))
            .collect()
    }

    #[tracing::instrument(skip_all, err(level = "debug"), fields(collection_id = %c.id))]
    async fn update_collection(
        &self,
        c: &Collection,
        accounts: Option<&[AccountId]>,
        event: &NewEvent,
    ) -> CoreResult<Collection> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE collections SET name = $1, description = $2, updated_at = $3, \
             version = version + 1 WHERE id = $4 AND version = $5",
        )
        .bind(&c.name)
        .bind(&c.description)
        .bind(ms(c.updated_at))
        .bind(c.id.to_string())
        .bind(c.version)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, c))?;
        if done.rows_affected() == 0 {
            return Err(missing_or_stale(&mut tx, c.id).await);
        }
        if let Some(a) = accounts {
            set_accounts(&mut tx, c.id, a).await?;
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        let mut c = c.clone();
        c.version += 1;
        Ok(c)
    }

    #[tracing::instrument(skip_all, err(level = "debug"), fields(collection_id = %id))]
    async fn delete_collection(
        &self,
        id: CollectionId,
        version: Option<i64>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        let mut sql = Sql::new("DELETE FROM collections WHERE id = ");
        let at = sql.text(id.to_string());
        sql.push(&at);
        if let Some(v) = version {
            let v = sql.int(v);
            sql.push(&format!(" AND version = {v}"));
        }
        let done = sql.query().execute(&mut *tx).await.map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(missing_or_stale(&mut tx, id).await);
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn set_share(
        &self,
        grantee: Grantee,
        target: ItemTarget,
        role: Option<ItemRole>,
        team_version: Option<i64>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let (gk, gid) = grantee_key(grantee);
        let (tk, tid) = (target.kind(), target.id_string());
        let mut tx = self.begin_write().await?;
        if let (Grantee::Team(team), Some(v)) = (grantee, team_version) {
            let done = sqlx::query(
                "UPDATE teams SET version = version + 1 WHERE id = $1 AND version = $2",
            )
            .bind(team.to_string())
            .bind(v)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(if exists(&mut tx, "teams", team.to_string()).await? {
                    CoreError::Stale { kind: "team" }
                } else {
                    CoreError::NotFound { kind: "team" }
                });
            }
        }
        match role {
            None => {
                sqlx::query(
                    "DELETE FROM shares WHERE grantee_kind = $1 AND grantee_id = $2 \
                     AND target_kind = $3 AND target_id = $4",
                )
                .bind(gk)
                .bind(&gid)
                .bind(tk)
                .bind(&tid)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            Some(role) => {
                // The grantee's and the target's own columns carry the foreign keys.
                let sql = format!(
                    "INSERT INTO shares ({SHARE_COLS}, {gk}_id, {tk}_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $2, $4) \
                     ON CONFLICT (grantee_kind, grantee_id, target_kind, target_id) \
                     DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at"
                );
                sqlx::query(&sql)
                    .bind(gk)
                    .bind(&gid)
                    .bind(tk)
                    .bind(&tid)
                    .bind(role.as_str())
                    .bind(ms(event.at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| map_err(e, "this share already exists", "share"))?;
            }
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn shares_of(&self, grantee: Grantee) -> CoreResult<Vec<Share>> {
        let (gk, gid) = grantee_key(grantee);
        let rows = sqlx::query(&format!(
            "SELECT {SHARE_COLS} FROM shares WHERE grantee_kind = $1 AND grantee_id = $2 \
             ORDER BY target_kind, target_id"
        ))
        .bind(gk)
        .bind(gid)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_share).collect()
    }

    async fn shares_on(&self, target: ItemTarget) -> CoreResult<Vec<Share>> {
        let rows = sqlx::query(&format!(
            "SELECT {SHARE_COLS} FROM shares WHERE target_kind = $1 AND target_id = $2 \
             ORDER BY grantee_kind, grantee_id"
        ))
        .bind(target.kind())
        .bind(target.id_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_share).collect()
    }

    async fn reach(&self, person: PersonId) -> CoreResult<Reach> {
        let me = person.to_string();
        let rows = sqlx::query(&format!(
            "SELECT {SHARE_COLS} FROM shares WHERE grantee_kind = 'person' AND grantee_id = $1 \
             UNION ALL SELECT s.grantee_kind, s.grantee_id, s.target_kind, s.target_id, s.role, \
             s.updated_at FROM shares s JOIN team_members m ON m.team_id = s.team_id \
             WHERE s.grantee_kind = 'team' AND m.person_id = $1"
        ))
        .bind(&me)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let shares = rows
            .iter()
            .map(|r| Ok((row_to_target(r)?, parse(r, "role")?)))
            .collect::<CoreResult<Vec<(ItemTarget, ItemRole)>>>()?;
        if !shares
            .iter()
            .any(|(t, _)| matches!(t, ItemTarget::Collection(_)))
        {
            return Ok(Reach {
                shares,
                collection_accounts: vec![],
            });
        }
        let rows = sqlx::query(
            "SELECT DISTINCT c.collection_id, c.account_id FROM collection_accounts c \
             JOIN shares s ON s.collection_id = c.collection_id \
             LEFT JOIN team_members m ON m.team_id = s.team_id \
             WHERE s.person_id = $1 OR m.person_id = $1",
        )
        .bind(&me)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut collection_accounts = rows
            .iter()
            .map(|r| {
                Ok((
                    CollectionId(uuid(r, "collection_id")?),
                    AccountId(uuid(r, "account_id")?),
                ))
            })
            .collect::<CoreResult<Vec<_>>>()?;
        collection_accounts.sort();
        Ok(Reach {
            shares,
            collection_accounts,
        })
    }
}
