//! Account recovery: password reset links and setting a person's password (which ends their
//! other sessions, tokens and pending links in the same transaction).

use castellan_core::activity::NewEvent;
use castellan_core::ids::{PasswordResetId, PersonId};
use castellan_core::model::{NewPassword, PasswordResetRecord, PersonRecord};
use castellan_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;

use crate::activity::append_in_tx;
use crate::db::{db_err, get, map_err, ms, opt_ms, opt_time, opt_uuid, time, uuid};
use crate::people::by_hash_with_person;
use crate::SqlStore;

fn row_to_reset(row: &AnyRow) -> CoreResult<PasswordResetRecord> {
    Ok(PasswordResetRecord {
        id: PasswordResetId(uuid(row, "id")?),
        person_id: PersonId(uuid(row, "person_id")?),
        hash: get(row, "hash")?,
        created_by: opt_uuid(row, "created_by")?.map(PersonId),
        created_at: time(row, "created_at")?,
        expires_at: time(row, "expires_at")?,
        used_at: opt_time(row, "used_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

/// Revokes the person's pending reset links at `at`.
async fn revoke_pending(
    conn: &mut sqlx::AnyConnection,
    person: PersonId,
    at: i64,
) -> CoreResult<()> {
    sqlx::query(
        "UPDATE password_resets SET revoked_at = $1 \
         WHERE person_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(person.to_string())
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl SqlStore {
    #[tracing::instrument(skip_all, err, fields(person_id = %r.person_id))]
    pub(crate) async fn insert_reset(
        &self,
        r: &PasswordResetRecord,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        revoke_pending(&mut tx, r.person_id, ms(r.created_at)).await?;
        sqlx::query(
            "INSERT INTO password_resets (id, person_id, hash, created_by, created_at, \
             expires_at, used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.id.to_string())
        .bind(r.person_id.to_string())
        .bind(&r.hash)
        .bind(r.created_by.map(|p| p.to_string()))
        .bind(ms(r.created_at))
        .bind(ms(r.expires_at))
        .bind(opt_ms(r.used_at))
        .bind(opt_ms(r.revoked_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, "this reset link already exists", "person"))?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn reset_by_hash(
        &self,
        hash: &str,
    ) -> CoreResult<Option<(PasswordResetRecord, PersonRecord)>> {
        by_hash_with_person(
            &self.pool,
            "password_resets",
            "x.id, x.person_id, x.hash, x.created_by, x.created_at, x.expires_at, x.used_at, \
             x.revoked_at",
            hash,
            row_to_reset,
        )
        .await
    }

    #[tracing::instrument(skip_all, err, fields(person_id = %c.person_id))]
    pub(crate) async fn store_password(
        &self,
        c: &NewPassword,
        event: &NewEvent,
    ) -> CoreResult<Option<u64>> {
        let at = ms(c.at);
        let mut tx = self.begin_write().await?;
        if let Some(reset) = c.reset {
            let used = sqlx::query(
                "UPDATE password_resets SET used_at = $1 WHERE id = $2 AND person_id = $3 \
                 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
            )
            .bind(at)
            .bind(reset.to_string())
            .bind(c.person_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if used.rows_affected() == 0 {
                tx.rollback().await.map_err(db_err)?;
                return Ok(None);
            }
        }
        let done = sqlx::query(
            "UPDATE people SET password_hash = $1, updated_at = $2, version = version + 1 \
                 WHERE id = $3",
        )
        .bind(&c.password_hash)
        .bind(at)
        .bind(c.person_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound { kind: "person" });
        }
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 \
             WHERE person_id = $2 AND revoked_at IS NULL AND id <> $3",
        )
        .bind(at)
        .bind(c.person_id.to_string())
        .bind(c.keep_token.map(|t| t.to_string()).unwrap_or_default())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        revoke_pending(&mut tx, c.person_id, at).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(revoked))
    }
}
