//! OAuth 2.0 grants and authorization requests in flight (`castellan_core::ports::OAuth2Store`):
//! every token sealed by core before it gets here; each grant write is a compare-and-set on its
//! version under the refresh claim, and a flow is taken with one `DELETE … RETURNING`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use castellan_core::error::CoreResult;
use castellan_core::hub::HubId;
use castellan_core::ids::{AccountId, DataKeyId, PersonId};
use castellan_core::ports::{KeptOAuth2Grant, OAuth2Flow, OAuth2Store};

use crate::db::{db_err, get, map_err, ms, opt_ms, opt_time, time, uuid};
use crate::SqlStore;

fn row_to_grant(account: AccountId, scope: &str, r: &AnyRow) -> CoreResult<KeptOAuth2Grant> {
    Ok(KeptOAuth2Grant {
        account_id: account,
        scope: scope.to_owned(),
        dek_id: DataKeyId(uuid(r, "dek_id")?),
        ciphertext: get(r, "ciphertext")?,
        expires_at: opt_time(r, "expires_at")?,
        version: get(r, "version")?,
        updated_at: time(r, "updated_at")?,
    })
}

fn row_to_flow(r: &AnyRow) -> CoreResult<OAuth2Flow> {
    Ok(OAuth2Flow {
        state_hash: get(r, "state_hash")?,
        hub_id: HubId(uuid(r, "hub_id")?),
        person_id: PersonId(uuid(r, "person_id")?),
        session_hash: get(r, "session_hash")?,
        redirect_uri: get(r, "redirect_uri")?,
        dek_id: DataKeyId(uuid(r, "dek_id")?),
        sealed_verifier: get(r, "sealed_verifier")?,
        created_at: time(r, "created_at")?,
        expires_at: time(r, "expires_at")?,
    })
}

#[async_trait]
impl OAuth2Store for SqlStore {
    async fn oauth2_grant(
        &self,
        account: AccountId,
        scope: &str,
    ) -> CoreResult<Option<KeptOAuth2Grant>> {
        let row = sqlx::query(
            "SELECT dek_id, ciphertext, expires_at, version, updated_at FROM oauth2_grants \
             WHERE account_id = $1 AND scope = $2",
        )
        .bind(account.to_string())
        .bind(scope)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| row_to_grant(account, scope, &r)).transpose()
    }

    async fn put_oauth2_grant(&self, g: &KeptOAuth2Grant) -> CoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO oauth2_grants (account_id, scope, dek_id, ciphertext, expires_at, \
             version, updated_at, refresh_by, refresh_until) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, NULL, NULL) \
             ON CONFLICT (account_id, scope) DO UPDATE SET dek_id = excluded.dek_id, \
             ciphertext = excluded.ciphertext, expires_at = excluded.expires_at, \
             version = oauth2_grants.version + 1, updated_at = excluded.updated_at, \
             refresh_by = NULL, refresh_until = NULL RETURNING version",
        )
        .bind(g.account_id.to_string())
        .bind(&g.scope)
        .bind(g.dek_id.to_string())
        .bind(&g.ciphertext)
        .bind(opt_ms(g.expires_at))
        .bind(ms(g.updated_at))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map_err(e, "this grant is already kept", "account"))?;
        get(&row, "version")
    }

    async fn claim_oauth2_refresh(
        &self,
        account: AccountId,
        scope: &str,
        version: i64,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> CoreResult<bool> {
        let done = sqlx::query(
            "UPDATE oauth2_grants SET refresh_by = $1, refresh_until = $2 \
             WHERE account_id = $3 AND scope = $4 AND version = $5 \
             AND (refresh_until IS NULL OR refresh_until <= $6 OR refresh_by = $1)",
        )
        .bind(holder)
        .bind(ms(until))
        .bind(account.to_string())
        .bind(scope)
        .bind(version)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn swap_oauth2_grant(&self, g: &KeptOAuth2Grant, holder: &str) -> CoreResult<bool> {
        let done = sqlx::query(
            "UPDATE oauth2_grants SET dek_id = $1, ciphertext = $2, expires_at = $3, \
             version = $4, updated_at = $5, refresh_by = NULL, refresh_until = NULL \
             WHERE account_id = $6 AND scope = $7 AND version = $8 AND refresh_by = $9",
        )
        .bind(g.dek_id.to_string())
        .bind(&g.ciphertext)
        .bind(opt_ms(g.expires_at))
        .bind(g.version)
        .bind(ms(g.updated_at))
        .bind(g.account_id.to_string())
        .bind(&g.scope)
        .bind(g.version - 1)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_oauth2_refresh(
        &self,
        account: AccountId,
        scope: &str,
        holder: &str,
    ) -> CoreResult<()> {
        sqlx::query(
            "UPDATE oauth2_grants SET refresh_by = NULL, refresh_until = NULL \
             WHERE account_id = $1 AND scope = $2 AND refresh_by = $3",
        )
        .bind(account.to_string())
        .bind(scope)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn insert_oauth2_flow(&self, f: &OAuth2Flow) -> CoreResult<()> {
        let mut tx = self.begin_unchained().await?;
        sqlx::query("DELETE FROM oauth2_flows WHERE expires_at < $1")
            .bind(ms(f.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO oauth2_flows (state_hash, hub_id, person_id, session_hash, \
             redirect_uri, dek_id, sealed_verifier, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&f.state_hash)
        .bind(f.hub_id.to_string())
        .bind(f.person_id.to_string())
        .bind(&f.session_hash)
        .bind(&f.redirect_uri)
        .bind(f.dek_id.to_string())
        .bind(&f.sealed_verifier)
        .bind(ms(f.created_at))
        .bind(ms(f.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, "this authorization is already kept", "hub"))?;
        tx.commit().await.map_err(db_err)
    }

    async fn take_oauth2_flow(
        &self,
        state_hash: &str,
        session_hash: &str,
    ) -> CoreResult<Option<OAuth2Flow>> {
        let row = sqlx::query(
            "DELETE FROM oauth2_flows WHERE state_hash = $1 AND session_hash = $2 \
             RETURNING state_hash, hub_id, \
             person_id, session_hash, redirect_uri, dek_id, sealed_verifier, created_at, \
             expires_at",
        )
        .bind(state_hash)
        .bind(session_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(row_to_flow).transpose()
    }
}
