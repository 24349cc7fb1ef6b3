//! Accounts' authenticators: parameters, HOTP counters and replay protection.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::ids::AccountId;
use castellan_core::model::{AccountRecord, OtpRecord, SealedField};
use castellan_core::ports::OtpStore;
use castellan_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;

use crate::accounts::update_account_tx;
use crate::activity::append_in_tx;
use crate::db::{db_err, get, ms, time, uuid};
use crate::SqlStore;

fn row_to_otp(row: &AnyRow) -> CoreResult<OtpRecord> {
    Ok(OtpRecord {
        account_id: AccountId(uuid(row, "account_id")?),
        kind: get(row, "kind")?,
        algorithm: get(row, "algorithm")?,
        digits: get(row, "digits")?,
        period: get(row, "period")?,
        counter: get(row, "counter")?,
        issuer: get(row, "issuer")?,
        label_issuer: get(row, "label_issuer")?,
        account_name: get(row, "account_name")?,
        last_step: get(row, "last_step")?,
        created_at: time(row, "created_at")?,
    })
}

#[async_trait]
impl OtpStore for SqlStore {
    #[tracing::instrument(skip_all, err, fields(account_id = %a.id))]
    async fn set_account_otp(
        &self,
        a: &AccountRecord,
        sealed: &[SealedField],
        remove_fields: &[String],
        otp: Option<&OtpRecord>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        update_account_tx(&mut tx, a, sealed, remove_fields).await?;
        sqlx::query("DELETE FROM account_otp WHERE account_id = $1")
            .bind(a.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(o) = otp {
            sqlx::query(
                "INSERT INTO account_otp (account_id, kind, algorithm, digits, period, counter, \
                 issuer, label_issuer, account_name, last_step, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(a.id.to_string())
            .bind(&o.kind)
            .bind(&o.algorithm)
            .bind(o.digits)
            .bind(o.period)
            .bind(o.counter)
            .bind(&o.issuer)
            .bind(&o.label_issuer)
            .bind(&o.account_name)
            .bind(o.last_step)
            .bind(ms(o.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn account_otp(&self, id: AccountId) -> CoreResult<Option<OtpRecord>> {
        sqlx::query("SELECT * FROM account_otp WHERE account_id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(row_to_otp)
            .transpose()
    }

    async fn next_hotp_counter(&self, id: AccountId, event: &NewEvent) -> CoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE account_otp SET counter = counter + 1 WHERE account_id = $1 RETURNING counter",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or(CoreError::NotFound {
            kind: "authenticator",
        })?;
        let next: i64 = get(&row, "counter")?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(next - 1)
    }

    async fn claim_otp_step(&self, id: AccountId, step: i64, event: &NewEvent) -> CoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE account_otp SET last_step = $2 \
             WHERE account_id = $1 AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(id.to_string())
        .bind(step)
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
}
