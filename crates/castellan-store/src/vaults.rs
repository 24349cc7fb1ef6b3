//! Vaults, their grants and their wrapped data keys.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::ids::{DataKeyId, PersonId, VaultId};
use castellan_core::model::{ItemRole, Vault, VaultAccess, VaultKeyRecord};
use castellan_core::ports::VaultStore;
use castellan_core::validate::label_key;
use castellan_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::activity::append_in_tx;
use crate::db::{boolean, db_err, flag, get, map_err, ms, parse, time, uuid};
use crate::SqlStore;

const VAULT_COLS: &str = "id, name, description, kind, is_default, created_at";
const KEY_COLS: &str = "vault_id, dek_id, wrap_kind, wrapping_key_id, wrapped, created_at";

fn row_to_vault(row: &AnyRow) -> CoreResult<Vault> {
    Ok(Vault {
        id: VaultId(uuid(row, "id")?),
        name: get(row, "name")?,
        description: get(row, "description")?,
        kind: parse(row, "kind")?,
        is_default: boolean(row, "is_default")?,
        created_at: time(row, "created_at")?,
    })
}

fn row_to_access(row: &AnyRow) -> CoreResult<VaultAccess> {
    Ok(VaultAccess {
        vault_id: VaultId(uuid(row, "vault_id")?),
        person_id: PersonId(uuid(row, "person_id")?),
        role: parse(row, "role")?,
    })
}

fn row_to_key(row: &AnyRow) -> CoreResult<VaultKeyRecord> {
    Ok(VaultKeyRecord {
        vault_id: VaultId(uuid(row, "vault_id")?),
        dek_id: DataKeyId(uuid(row, "dek_id")?),
        wrap_kind: parse(row, "wrap_kind")?,
        wrapping_key_id: get(row, "wrapping_key_id")?,
        wrapped: get(row, "wrapped")?,
        created_at: time(row, "created_at")?,
    })
}

/// Inserts a vault row inside a write transaction. `Conflict` on a duplicate name
/// (case- and space-insensitive: the `name_key` column is unique).
pub(crate) async fn insert_vault_in_tx(conn: &mut AnyConnection, v: &Vault) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO vaults (id, name, name_key, description, kind, is_default, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(v.id.to_string())
    .bind(&v.name)
    .bind(label_key(&v.name))
    .bind(&v.description)
    .bind(v.kind.as_str())
    .bind(flag(v.is_default))
    .bind(ms(v.created_at))
    .execute(conn)
    .await
    .map_err(|e| {
        map_err(
            e,
            &format!("a vault named `{}` already exists", v.name),
            "vault",
        )
    })?;
    Ok(())
}

/// Inserts one wrapped data key inside a write transaction.
pub(crate) async fn insert_key_in_tx(
    conn: &mut AnyConnection,
    k: &VaultKeyRecord,
) -> CoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO vault_keys ({KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(k.vault_id.to_string())
    .bind(k.dek_id.to_string())
    .bind(k.wrap_kind.as_str())
    .bind(&k.wrapping_key_id)
    .bind(&k.wrapped)
    .bind(ms(k.created_at))
    .execute(conn)
    .await
    .map_err(|e| map_err(e, "this wrapped data key already exists", "vault"))?;
    Ok(())
}

/// Inserts or replaces a person's grant on a vault inside a write transaction.
async fn upsert_access_in_tx(conn: &mut AnyConnection, g: &VaultAccess) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO vault_access (vault_id, person_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT (vault_id, person_id) DO UPDATE SET role = excluded.role",
    )
    .bind(g.vault_id.to_string())
    .bind(g.person_id.to_string())
    .bind(g.role.as_str())
    .execute(conn)
    .await
    .map_err(|e| map_err(e, "this grant already exists", "person"))?;
    Ok(())
}

/// Whether `id` exists in `table` (a fixed table name, never user input).
pub(crate) async fn exists(conn: &mut AnyConnection, table: &str, id: String) -> CoreResult<bool> {
    let row = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

#[async_trait]
impl VaultStore for SqlStore {
    /// `NotFound { kind: "person" }` when a grant names a missing person.
    #[tracing::instrument(skip_all, err, fields(vault_id = %v.id))]
    async fn insert_vault(
        &self,
        v: &Vault,
        keys: &[VaultKeyRecord],
        grants: &[VaultAccess],
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_vault_in_tx(&mut tx, v).await?;
        for k in keys {
            insert_key_in_tx(&mut tx, k).await?;
        }
        for g in grants {
            upsert_access_in_tx(&mut tx, g).await?;
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn vault(&self, id: VaultId) -> CoreResult<Option<Vault>> {
        let row = sqlx::query(&format!("SELECT {VAULT_COLS} FROM vaults WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(row_to_vault).transpose()
    }

    async fn vaults(&self) -> CoreResult<Vec<Vault>> {
        let rows = sqlx::query(&format!(
            "SELECT {VAULT_COLS} FROM vaults ORDER BY name_key, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_vault).collect()
    }

    /// `NotFound` (`vault` or `person`) when either is missing. Revoking a grant that does not
    /// exist is not an error.
    #[tracing::instrument(skip_all, err, fields(vault_id = %vault, person_id = %person))]
    async fn set_vault_access(
        &self,
        vault: VaultId,
        person: PersonId,
        role: Option<ItemRole>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        if !exists(&mut tx, "vaults", vault.to_string()).await? {
            return Err(CoreError::NotFound { kind: "vault" });
        }
        if !exists(&mut tx, "people", person.to_string()).await? {
            return Err(CoreError::NotFound { kind: "person" });
        }
        match role {
            Some(role) => {
                let g = VaultAccess {
                    vault_id: vault,
                    person_id: person,
                    role,
                };
                upsert_access_in_tx(&mut tx, &g).await?;
            }
            None => {
                sqlx::query("DELETE FROM vault_access WHERE vault_id = $1 AND person_id = $2")
                    .bind(vault.to_string())
                    .bind(person.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn vault_access(&self, vault: VaultId) -> CoreResult<Vec<VaultAccess>> {
        let rows = sqlx::query(
            "SELECT vault_id, person_id, role FROM vault_access WHERE vault_id = $1 \
             ORDER BY person_id",
        )
        .bind(vault.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_access).collect()
    }

    async fn vault_grants_of(&self, person: PersonId) -> CoreResult<Vec<VaultAccess>> {
        let rows = sqlx::query(
            "SELECT vault_id, person_id, role FROM vault_access WHERE person_id = $1 \
             ORDER BY vault_id",
        )
        .bind(person.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_access).collect()
    }

    /// Every wrapped copy stored for the vault, newest first.
    async fn vault_keys(&self, vault: VaultId) -> CoreResult<Vec<VaultKeyRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLS} FROM vault_keys WHERE vault_id = $1 \
             ORDER BY created_at DESC, dek_id, wrap_kind, wrapping_key_id"
        ))
        .bind(vault.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_key).collect()
    }

    async fn keys_wrapped_by(&self, wrapping_key_id: &str) -> CoreResult<Vec<VaultKeyRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLS} FROM vault_keys WHERE wrapping_key_id = $1 \
             ORDER BY vault_id, dek_id, wrap_kind"
        ))
        .bind(wrapping_key_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_key).collect()
    }

    /// Each `(old, new)` pair: the row matching `old`'s (vault, dek, wrap kind, wrapping key id)
    /// takes every column of `new`. A pair whose old row is gone replaces nothing.
    #[tracing::instrument(skip_all, err, fields(count = replacements.len()))]
    async fn rewrap_keys(
        &self,
        replacements: &[(VaultKeyRecord, VaultKeyRecord)],
        event: &NewEvent,
    ) -> CoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let mut replaced = 0;
        for (old, new) in replacements {
            let done = sqlx::query(
                "UPDATE vault_keys SET vault_id = $1, dek_id = $2, wrap_kind = $3, \
                 wrapping_key_id = $4, wrapped = $5, created_at = $6 \
                 WHERE vault_id = $7 AND dek_id = $8 AND wrap_kind = $9 AND wrapping_key_id = $10",
            )
            .bind(new.vault_id.to_string())
            .bind(new.dek_id.to_string())
            .bind(new.wrap_kind.as_str())
            .bind(&new.wrapping_key_id)
            .bind(&new.wrapped)
            .bind(ms(new.created_at))
            .bind(old.vault_id.to_string())
            .bind(old.dek_id.to_string())
            .bind(old.wrap_kind.as_str())
            .bind(&old.wrapping_key_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_err(e, "this wrapped data key already exists", "vault"))?;
            replaced += done.rows_affected();
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(replaced)
    }
}
