//! Account items, their sealed secrets and direct grants.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::ids::{AccountId, AppId, DataKeyId, PersonId, VaultId};
use castellan_core::model::{AccountRecord, ItemRole, SealedField};
use castellan_core::ports::{AccountFilter, AccountStore};
use castellan_core::validate::label_key;
use castellan_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::activity::append_in_tx;
use crate::db::{
    bad_json, db_err, get, like_contains, map_err, ms, opt_uuid, parse, time, uuid, Sql,
};
use crate::vaults::exists;
use crate::SqlStore;

const ACCOUNT_COLS: &str = "id, vault_id, label, app_id, login_url, username, setup, \
     custom_fields, secret_fields, version, created_by, created_at, updated_at";

fn row_to_account(row: &AnyRow) -> CoreResult<AccountRecord> {
    let app_id = get::<Option<String>>(row, "app_id")?
        .map(|s| AppId::parse(&s).map_err(|e| CoreError::Internal(format!("column `app_id`: {e}"))))
        .transpose()?;
    Ok(AccountRecord {
        id: AccountId(uuid(row, "id")?),
        vault_id: VaultId(uuid(row, "vault_id")?),
        label: get(row, "label")?,
        app_id,
        login_url: get(row, "login_url")?,
        username: get(row, "username")?,
        setup: parse(row, "setup")?,
        custom_fields: serde_json::from_str(&get::<String>(row, "custom_fields")?)
            .map_err(bad_json("custom_fields"))?,
        secret_fields: serde_json::from_str(&get::<String>(row, "secret_fields")?)
            .map_err(bad_json("secret_fields"))?,
        version: get(row, "version")?,
        created_by: opt_uuid(row, "created_by")?.map(PersonId),
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn row_to_sealed(row: &AnyRow) -> CoreResult<SealedField> {
    Ok(SealedField {
        field: get(row, "field")?,
        dek_id: DataKeyId(uuid(row, "dek_id")?),
        ciphertext: get(row, "ciphertext")?,
    })
}

fn duplicate_label(a: &AccountRecord) -> String {
    format!(
        "an account labelled `{}` already exists in this vault",
        a.label
    )
}

/// Inserts or replaces one sealed field.
async fn upsert_sealed(conn: &mut AnyConnection, id: AccountId, s: &SealedField) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO account_secrets (account_id, field, dek_id, ciphertext) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, field) \
         DO UPDATE SET dek_id = excluded.dek_id, ciphertext = excluded.ciphertext",
    )
    .bind(id.to_string())
    .bind(&s.field)
    .bind(s.dek_id.to_string())
    .bind(&s.ciphertext)
    .execute(conn)
    .await
    .map_err(|e| map_err(e, "this secret field already exists", "account"))?;
    Ok(())
}

/// The body of `update_account` inside a caller's transaction: the version-checked row update,
/// sealed upserts and removals.
pub(crate) async fn update_account_tx(
    conn: &mut AnyConnection,
    a: &AccountRecord,
    sealed: &[SealedField],
    remove_fields: &[String],
) -> CoreResult<()> {
    let done = sqlx::query(
        "UPDATE accounts SET vault_id = $1, label = $2, label_key = $3, app_id = $4, \
             login_url = $5, username = $6, setup = $7, custom_fields = $8, secret_fields = $9, \
             version = $10, updated_at = $11 WHERE id = $12 AND version = $13",
    )
    .bind(a.vault_id.to_string())
    .bind(&a.label)
    .bind(label_key(&a.label))
    .bind(a.app_id.as_ref().map(|x| x.as_str().to_owned()))
    .bind(&a.login_url)
    .bind(&a.username)
    .bind(a.setup.as_str())
    .bind(serde_json::to_string(&a.custom_fields).map_err(bad_json("custom_fields"))?)
    .bind(serde_json::to_string(&a.secret_fields).map_err(bad_json("secret_fields"))?)
    .bind(a.version)
    .bind(ms(a.updated_at))
    .bind(a.id.to_string())
    .bind(a.version - 1)
    .execute(&mut *conn)
    .await
    .map_err(|e| map_err(e, &duplicate_label(a), "vault"))?;
    if done.rows_affected() == 0 {
        if exists(conn, "accounts", a.id.to_string()).await? {
            return Err(CoreError::Conflict(
                "the account was changed meanwhile; reload it and try again".into(),
            ));
        }
        return Err(CoreError::NotFound { kind: "account" });
    }
    for s in sealed {
        upsert_sealed(conn, a.id, s).await?;
    }
    for field in remove_fields {
        sqlx::query("DELETE FROM account_secrets WHERE account_id = $1 AND field = $2")
            .bind(a.id.to_string())
            .bind(field)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Inserts or replaces a person's item role on an account.
async fn upsert_access(
    conn: &mut AnyConnection,
    id: AccountId,
    person: PersonId,
    role: ItemRole,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO account_access (account_id, person_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id, person_id) DO UPDATE SET role = excluded.role",
    )
    .bind(id.to_string())
    .bind(person.to_string())
    .bind(role.as_str())
    .execute(conn)
    .await
    .map_err(|e| map_err(e, "this grant already exists", "person"))?;
    Ok(())
}

#[async_trait]
impl AccountStore for SqlStore {
    /// `Conflict` on a duplicate label in the vault (case- and space-insensitive), writing
    /// nothing; `NotFound` (`vault` or `person`) when the vault or a grantee is missing.
    #[tracing::instrument(skip_all, err, fields(account_id = %a.id, vault_id = %a.vault_id))]
    async fn insert_account(
        &self,
        a: &AccountRecord,
        sealed: &[SealedField],
        grants: &[(PersonId, ItemRole)],
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO accounts ({ACCOUNT_COLS}, label_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(a.id.to_string())
        .bind(a.vault_id.to_string())
        .bind(&a.label)
        .bind(a.app_id.as_ref().map(|x| x.as_str().to_owned()))
        .bind(&a.login_url)
        .bind(&a.username)
        .bind(a.setup.as_str())
        .bind(serde_json::to_string(&a.custom_fields).map_err(bad_json("custom_fields"))?)
        .bind(serde_json::to_string(&a.secret_fields).map_err(bad_json("secret_fields"))?)
        .bind(a.version)
        .bind(a.created_by.map(|p| p.to_string()))
        .bind(ms(a.created_at))
        .bind(ms(a.updated_at))
        .bind(label_key(&a.label))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, &duplicate_label(a), "vault"))?;
        for s in sealed {
            upsert_sealed(&mut tx, a.id, s).await?;
        }
        for (person, role) in grants {
            upsert_access(&mut tx, a.id, *person, *role).await?;
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Replaces every column but `id`, `created_by` and `created_at`. `NotFound` if the account
    /// is missing; `Conflict` on a stale version or a duplicate label.
    #[tracing::instrument(skip_all, err, fields(account_id = %a.id, version = a.version))]
    async fn update_account(
        &self,
        a: &AccountRecord,
        sealed: &[SealedField],
        remove_fields: &[String],
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        update_account_tx(&mut tx, a, sealed, remove_fields).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    /// `NotFound` if the account is missing. Secrets and grants are deleted explicitly (and
    /// would also cascade).
    #[tracing::instrument(skip_all, err, fields(account_id = %id))]
    async fn delete_account(&self, id: AccountId, event: &NewEvent) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        for table in ["account_secrets", "account_access"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let done = sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound { kind: "account" });
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn account(&self, id: AccountId) -> CoreResult<Option<AccountRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(row_to_account).transpose()
    }

    /// `vaults: Some(list)` keeps accounts in those vaults OR listed in `also_accounts` (both
    /// empty: nothing). The query matches label, username, app id or login URL, ignoring case
    /// (SQLite folds ASCII letters only in username, app id and URL).
    async fn accounts(&self, f: &AccountFilter) -> CoreResult<Vec<AccountRecord>> {
        let mut sql = Sql::new(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE 1 = 1"));
        if let Some(vaults) = &f.vaults {
            let mut reach = vec![];
            if !vaults.is_empty() {
                let list = sql.text_list(vaults.iter().map(|v| v.to_string()));
                reach.push(format!("vault_id IN ({list})"));
            }
            if !f.also_accounts.is_empty() {
                let list = sql.text_list(f.also_accounts.iter().map(|a| a.to_string()));
                reach.push(format!("id IN ({list})"));
            }
            if reach.is_empty() {
                return Ok(vec![]);
            }
            sql.push(&format!(" AND ({})", reach.join(" OR ")));
        }
        if let Some(q) = f.query.as_deref().filter(|q| !q.trim().is_empty()) {
            let p = sql.text(like_contains(&q.to_lowercase()));
            let folded = sql.text(like_contains(&label_key(q)));
            sql.push(&format!(
                " AND (LOWER(label) LIKE {p} ESCAPE '\\' OR label_key LIKE {folded} ESCAPE '\\' \
                 OR LOWER(username) LIKE {p} ESCAPE '\\' OR LOWER(app_id) LIKE {p} ESCAPE '\\' \
                 OR LOWER(login_url) LIKE {p} ESCAPE '\\')"
            ));
        }
        if let Some(app) = &f.app_id {
            let p = sql.text(app.clone());
            sql.push(&format!(" AND app_id = {p}"));
        }
        let limit = sql.int(i64::from(f.limit.unwrap_or(500)));
        sql.push(&format!(" ORDER BY label_key, id LIMIT {limit}"));
        let rows = sql.query().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(row_to_account).collect()
    }

    async fn sealed_fields(&self, id: AccountId) -> CoreResult<Vec<SealedField>> {
        let rows = sqlx::query(
            "SELECT field, dek_id, ciphertext FROM account_secrets WHERE account_id = $1 \
             ORDER BY field",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_sealed).collect()
    }

    async fn account_access(&self, id: AccountId) -> CoreResult<Vec<(PersonId, ItemRole)>> {
        let rows = sqlx::query(
            "SELECT person_id, role FROM account_access WHERE account_id = $1 ORDER BY person_id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((PersonId(uuid(r, "person_id")?), parse(r, "role")?)))
            .collect()
    }

    async fn account_grants_of(&self, person: PersonId) -> CoreResult<Vec<(AccountId, ItemRole)>> {
        let rows = sqlx::query(
            "SELECT account_id, role FROM account_access WHERE person_id = $1 ORDER BY account_id",
        )
        .bind(person.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((AccountId(uuid(r, "account_id")?), parse(r, "role")?)))
            .collect()
    }

    /// `NotFound` (`account` or `person`) when either is missing. Revoking a grant that does
    /// not exist is not an error.
    #[tracing::instrument(skip_all, err, fields(account_id = %id, person_id = %person))]
    async fn set_account_access(
        &self,
        id: AccountId,
        person: PersonId,
        role: Option<ItemRole>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        if !exists(&mut tx, "accounts", id.to_string()).await? {
            return Err(CoreError::NotFound { kind: "account" });
        }
        if !exists(&mut tx, "people", person.to_string()).await? {
            return Err(CoreError::NotFound { kind: "person" });
        }
        match role {
            Some(role) => upsert_access(&mut tx, id, person, role).await?,
            None => {
                sqlx::query("DELETE FROM account_access WHERE account_id = $1 AND person_id = $2")
                    .bind(id.to_string())
                    .bind(person.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn count_sealed_with(&self, dek: DataKeyId) -> CoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM account_secrets WHERE dek_id = $1")
            .bind(dek.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        get(&row, "n")
    }
}
