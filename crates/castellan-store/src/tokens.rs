//! Personal API tokens.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::ids::{PersonId, TokenId};
use castellan_core::model::{PersonRecord, TokenKind, TokenRecord};
use castellan_core::ports::TokenStore;
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::activity::append_in_tx;
use crate::db::{db_err, get, map_err, ms, opt_ms, opt_time, time, uuid};
use crate::people::by_hash_with_person;
use crate::SqlStore;

const TOKEN_COLS: &str =
    "id, kind, person_id, name, hash, created_at, expires_at, last_used_at, revoked_at";

fn row_to_token(row: &AnyRow) -> CoreResult<TokenRecord> {
    let kind: String = get(row, "kind")?;
    Ok(TokenRecord {
        id: TokenId(uuid(row, "id")?),
        kind: kind.parse()?,
        person_id: PersonId(uuid(row, "person_id")?),
        name: get(row, "name")?,
        hash: get(row, "hash")?,
        created_at: time(row, "created_at")?,
        expires_at: opt_time(row, "expires_at")?,
        last_used_at: opt_time(row, "last_used_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

/// Inserts a token inside a write transaction. `NotFound { kind: "person" }` when its person is
/// missing; `Conflict` on a duplicate id or hash.
pub(crate) async fn insert_token_in_tx(
    conn: &mut AnyConnection,
    t: &TokenRecord,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO api_tokens (id, person_id, name, hash, created_at, expires_at, \
         last_used_at, revoked_at, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(t.id.to_string())
    .bind(t.person_id.to_string())
    .bind(&t.name)
    .bind(&t.hash)
    .bind(ms(t.created_at))
    .bind(opt_ms(t.expires_at))
    .bind(opt_ms(t.last_used_at))
    .bind(opt_ms(t.revoked_at))
    .bind(t.kind.as_str())
    .execute(conn)
    .await
    .map_err(|e| map_err(e, "this token already exists", "person"))?;
    Ok(())
}

#[async_trait]
impl TokenStore for SqlStore {
    #[tracing::instrument(skip_all, err, fields(token_id = %t.id, person_id = %t.person_id))]
    async fn insert_token(&self, t: &TokenRecord, event: &NewEvent) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_token_in_tx(&mut tx, t).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn token_by_hash(&self, hash: &str) -> CoreResult<Option<(TokenRecord, PersonRecord)>> {
        by_hash_with_person(
            &self.pool,
            "api_tokens",
            "x.id, x.kind, x.person_id, x.name, x.hash, x.created_at, x.expires_at, x.last_used_at, \
             x.revoked_at",
            hash,
            row_to_token,
        )
        .await
    }

    async fn tokens_of(&self, person: PersonId) -> CoreResult<Vec<TokenRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE person_id = $1 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(person.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_token).collect()
    }

    async fn tokens_of_kind(&self, kind: TokenKind) -> CoreResult<Vec<TokenRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE kind = $1 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_token).collect()
    }

    /// Keeps an earlier `revoked_at` if the token was already revoked.
    #[tracing::instrument(skip_all, err, fields(token_id = %id, kind = %kind))]
    async fn revoke_token_of_kind(
        &self,
        kind: TokenKind,
        id: TokenId,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.revoke_token_where(id, ("kind", kind.as_str().to_owned()), at, event)
            .await
    }

    /// Keeps an earlier `revoked_at` if the token was already revoked.
    #[tracing::instrument(skip_all, err, fields(token_id = %id, person_id = %person))]
    async fn revoke_token(
        &self,
        person: PersonId,
        id: TokenId,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.revoke_token_where(id, ("person_id", person.to_string()), at, event)
            .await
    }

    /// Appends `event` when the token was never used or its previous use is strictly older
    /// than `log_after` before `at`. `NotFound` if the token is missing.
    #[tracing::instrument(skip_all, err, fields(token_id = %id))]
    async fn touch_token(
        &self,
        id: TokenId,
        at: DateTime<Utc>,
        log_after: chrono::Duration,
        event: &NewEvent,
    ) -> CoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT last_used_at FROM api_tokens WHERE id = $1{}",
            self.for_update()
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or(CoreError::NotFound { kind: "token" })?;
        let previous = opt_time(&row, "last_used_at")?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(ms(at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let log = castellan_core::activity::log_due(previous, at, log_after);
        if log {
            append_in_tx(&mut tx, event).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(log)
    }
}

impl SqlStore {
    /// Revokes token `id` when its column `scope.0` (a fixed column name, never input) holds
    /// `scope.1`, with its event, keeping an earlier `revoked_at`. `NotFound` otherwise.
    async fn revoke_token_where(
        &self,
        id: TokenId,
        scope: (&'static str, String),
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(&format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) \
             WHERE id = $2 AND {} = $3",
            scope.0
        ))
        .bind(ms(at))
        .bind(id.to_string())
        .bind(scope.1)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound { kind: "token" });
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }
}
