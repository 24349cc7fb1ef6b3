//! Kept app sessions and sign-in claims (`castellan_core::ports::AppSessionStore`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use castellan_core::error::CoreResult;
use castellan_core::ids::{AccountId, DataKeyId};
use castellan_core::ports::{AppSessionStore, KeptAppSession};

use crate::db::{db_err, get, map_err, ms, time, uuid};
use crate::SqlStore;

fn row_to_kept(account: AccountId, scope: &str, r: &AnyRow) -> CoreResult<Option<KeptAppSession>> {
    let Some(ciphertext) = get::<Option<Vec<u8>>>(r, "ciphertext")? else {
        // Only a sign-in claim: no session yet.
        return Ok(None);
    };
    Ok(Some(KeptAppSession {
        account_id: account,
        scope: scope.to_owned(),
        dek_id: DataKeyId(uuid(r, "dek_id")?),
        ciphertext,
        signed_in_at: time(r, "signed_in_at")?,
        expires_at: time(r, "expires_at")?,
    }))
}

#[async_trait]
impl AppSessionStore for SqlStore {
    async fn kept_app_session(
        &self,
        account: AccountId,
        scope: &str,
    ) -> CoreResult<Option<KeptAppSession>> {
        let row = sqlx::query(
            "SELECT dek_id, ciphertext, signed_in_at, expires_at FROM app_sessions \
             WHERE account_id = $1 AND scope = $2",
        )
        .bind(account.to_string())
        .bind(scope)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        match row {
            Some(r) => row_to_kept(account, scope, &r),
            None => Ok(None),
        }
    }

    async fn keep_app_session(&self, s: &KeptAppSession) -> CoreResult<()> {
        let mut tx = self.begin_unchained().await?;
        sqlx::query(
            "DELETE FROM app_sessions WHERE (expires_at IS NULL OR expires_at < $1) \
             AND (sign_in_until IS NULL OR sign_in_until < $1)",
        )
        .bind(ms(s.signed_in_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO app_sessions (account_id, scope, dek_id, ciphertext, signed_in_at, \
             expires_at, sign_in_by, sign_in_until) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL) \
             ON CONFLICT (account_id, scope) DO UPDATE SET dek_id = excluded.dek_id, \
             ciphertext = excluded.ciphertext, signed_in_at = excluded.signed_in_at, \
             expires_at = excluded.expires_at, sign_in_by = NULL, sign_in_until = NULL",
        )
        .bind(s.account_id.to_string())
        .bind(&s.scope)
        .bind(s.dek_id.to_string())
        .bind(&s.ciphertext)
        .bind(ms(s.signed_in_at))
        .bind(ms(s.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, "this session is already kept", "account"))?;
        tx.commit().await.map_err(db_err)
    }

    async fn forget_app_session(&self, account: AccountId, scope: &str) -> CoreResult<()> {
        sqlx::query("DELETE FROM app_sessions WHERE account_id = $1 AND scope = $2")
            .bind(account.to_string())
            .bind(scope)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn claim_app_sign_in(
        &self,
        account: AccountId,
        scope: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> CoreResult<bool> {
        // One statement: the insert or the conditional update wins the row, never both holders.
        let done = sqlx::query(
            "INSERT INTO app_sessions (account_id, scope, sign_in_by, sign_in_until) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, scope) DO UPDATE SET \
             sign_in_by = excluded.sign_in_by, sign_in_until = excluded.sign_in_until \
             WHERE app_sessions.sign_in_until IS NULL OR app_sessions.sign_in_until <= $5 \
             OR app_sessions.sign_in_by = $3",
        )
        .bind(account.to_string())
        .bind(scope)
        .bind(holder)
        .bind(ms(until))
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(|e| map_err(e, "this sign-in is already claimed", "account"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_app_sign_in(
        &self,
        account: AccountId,
        scope: &str,
        holder: &str,
    ) -> CoreResult<()> {
        sqlx::query(
            "UPDATE app_sessions SET sign_in_by = NULL, sign_in_until = NULL \
             WHERE account_id = $1 AND scope = $2 AND sign_in_by = $3",
        )
        .bind(account.to_string())
        .bind(scope)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
