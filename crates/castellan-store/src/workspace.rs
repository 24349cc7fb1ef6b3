//! The workspace row and its one-time setup.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::ids::WorkspaceId;
use castellan_core::model::{PersonRecord, TokenRecord, Vault, VaultKeyRecord, Workspace};
use castellan_core::ports::WorkspaceStore;
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use crate::activity::append_in_tx;
use crate::db::{db_err, get, map_err, ms, time, uuid};
use crate::people::insert_person_in_tx;
use crate::tokens::insert_token_in_tx;
use crate::vaults::{insert_key_in_tx, insert_vault_in_tx};
use crate::SqlStore;

fn row_to_workspace(row: &AnyRow) -> CoreResult<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(uuid(row, "id")?),
        name: get(row, "name")?,
        setup_token_hash: get(row, "setup_token_hash")?,
        created_at: time(row, "created_at")?,
    })
}

#[async_trait]
impl WorkspaceStore for SqlStore {
    async fn workspace(&self) -> CoreResult<Option<Workspace>> {
        let row = sqlx::query("SELECT id, name, setup_token_hash, created_at FROM workspace")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(row_to_workspace).transpose()
    }

    /// `Conflict` when a workspace already exists (a unique `singleton` column allows one row).
    #[tracing::instrument(skip_all, err, fields(workspace_id = %ws.id, vault_id = %default_vault.id))]
    async fn create_workspace(
        &self,
        ws: &Workspace,
        default_vault: &Vault,
        vault_key: &VaultKeyRecord,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO workspace (id, name, setup_token_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(ws.id.to_string())
        .bind(&ws.name)
        .bind(&ws.setup_token_hash)
        .bind(ms(ws.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, "a workspace already exists", "workspace"))?;
        insert_vault_in_tx(&mut tx, default_vault).await?;
        insert_key_in_tx(&mut tx, vault_key).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    #[tracing::instrument(skip_all, err)]
    async fn reset_setup_token(&self, hash: &str, event: &NewEvent) -> CoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE workspace SET setup_token_hash = $1 WHERE setup_token_hash IS NOT NULL",
        )
        .bind(hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(db_err)?;
            return Ok(false);
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, err, fields(person_id = %owner.id, token_id = %token.id))]
    async fn claim_workspace(
        &self,
        setup_token_hash: &str,
        owner: &PersonRecord,
        token: &TokenRecord,
        event: &NewEvent,
    ) -> CoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE workspace SET setup_token_hash = NULL WHERE setup_token_hash = $1")
                .bind(setup_token_hash)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(db_err)?;
            return Ok(false);
        }
        insert_person_in_tx(&mut tx, owner).await?;
        insert_token_in_tx(&mut tx, token).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    /// A write transaction without the chain lock (no event is appended), so a probe never
    /// queues behind the activity chain on PostgreSQL.
    async fn probe_write(&self, at: DateTime<Utc>) -> CoreResult<()> {
        let mut tx = self.begin_unchained().await?;
        let done = sqlx::query("UPDATE health_probe SET checked_at = $1 WHERE id = 1")
            .bind(ms(at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Err(CoreError::Internal(
                "the readiness probe row (health_probe id 1) is missing".into(),
            ));
        }
        tx.commit().await.map_err(db_err)
    }
}
