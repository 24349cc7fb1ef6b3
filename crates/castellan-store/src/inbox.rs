//! The shared inbox: managed addresses, the phone number pool and received messages.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::ids::{AccountId, AppId, DataKeyId, VaultId};
use castellan_core::inbox::{
    InboxFilter, InboxMessageId, InboxMessageRecord, InboxStore, ManagedAddress, ManagedAddressId,
    ManagedNumber, ManagedNumberId,
};
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use crate::activity::append_in_tx;
use crate::db::{
    boolean, db_err, flag, get, map_err, ms, opt_ms, opt_time, opt_uuid, parse, time, uuid,
    violated, Sql,
};
use crate::vaults::exists;
use crate::SqlStore;

const MESSAGE_COLS: &str = "m.id, m.kind, m.account_id, m.vault_id, m.app_id, m.received_at, \
     m.from_addr, m.to_addr, m.has_code, m.has_link, m.expires_at, m.message_key, m.dek_id, \
     m.content, m.raw_bytes";

fn row_to_address(row: &AnyRow) -> CoreResult<ManagedAddress> {
    Ok(ManagedAddress {
        id: ManagedAddressId(uuid(row, "id")?),
        account_id: AccountId(uuid(row, "account_id")?),
        address: get(row, "address")?,
        created_at: time(row, "created_at")?,
    })
}

fn row_to_number(row: &AnyRow) -> CoreResult<ManagedNumber> {
    Ok(ManagedNumber {
        id: ManagedNumberId(uuid(row, "id")?),
        e164: get(row, "e164")?,
        account_id: opt_uuid(row, "account_id")?.map(AccountId),
        created_at: time(row, "created_at")?,
        assigned_at: opt_time(row, "assigned_at")?,
    })
}

/// A message row; `with_raw` when the query selected `m.raw`.
fn row_to_message(row: &AnyRow, with_raw: bool) -> CoreResult<InboxMessageRecord> {
    let app_id = get::<Option<String>>(row, "app_id")?
        .map(|s| AppId::parse(&s).map_err(|e| CoreError::Internal(format!("column `app_id`: {e}"))))
        .transpose()?;
    Ok(InboxMessageRecord {
        id: InboxMessageId(uuid(row, "id")?),
        kind: parse(row, "kind")?,
        account_id: AccountId(uuid(row, "account_id")?),
        vault_id: VaultId(uuid(row, "vault_id")?),
        app_id,
        received_at: time(row, "received_at")?,
        from: get(row, "from_addr")?,
        to: get(row, "to_addr")?,
        has_code: boolean(row, "has_code")?,
        has_link: boolean(row, "has_link")?,
        expires_at: opt_time(row, "expires_at")?,
        message_key: get(row, "message_key")?,
        dek_id: DataKeyId(uuid(row, "dek_id")?),
        content: get(row, "content")?,
        raw: if with_raw { get(row, "raw")? } else { None },
        raw_bytes: get(row, "raw_bytes")?,
    })
}

#[async_trait]
impl InboxStore for SqlStore {
    #[tracing::instrument(skip_all, err, fields(account_id = %a.account_id))]
    async fn insert_managed_address(&self, a: &ManagedAddress, event: &NewEvent) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        if !exists(&mut tx, "accounts", a.account_id.to_string()).await? {
            return Err(CoreError::NotFound { kind: "account" });
        }
        sqlx::query(
            "INSERT INTO managed_addresses (id, account_id, address, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(a.id.to_string())
        .bind(a.account_id.to_string())
        .bind(&a.address)
        .bind(ms(a.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            let which = violated(&e);
            let msg = if which.contains("account_id") {
                "this account already has a managed email address"
            } else {
                "this managed email address is taken"
            };
            map_err(e, msg, "account")
        })?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn managed_address_of(&self, account: AccountId) -> CoreResult<Option<ManagedAddress>> {
        sqlx::query("SELECT * FROM managed_addresses WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(row_to_address)
            .transpose()
    }

    async fn managed_address(&self, address: &str) -> CoreResult<Option<ManagedAddress>> {
        sqlx::query("SELECT * FROM managed_addresses WHERE address = $1")
            .bind(address.to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(row_to_address)
            .transpose()
    }

    #[tracing::instrument(skip_all, err, fields(count = numbers.len()))]
    async fn add_numbers(&self, numbers: &[ManagedNumber], event: &NewEvent) -> CoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for n in numbers {
            let done = sqlx::query(
                "INSERT INTO managed_numbers (id, e164, account_id, created_at, assigned_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (e164) DO NOTHING",
            )
            .bind(n.id.to_string())
            .bind(&n.e164)
            .bind(n.account_id.map(|a| a.to_string()))
            .bind(ms(n.created_at))
            .bind(opt_ms(n.assigned_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_err(e, "this phone number is already assigned", "account"))?;
            added += done.rows_affected();
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(added)
    }

    async fn numbers(&self) -> CoreResult<Vec<ManagedNumber>> {
        let rows = sqlx::query("SELECT * FROM managed_numbers ORDER BY e164")
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(row_to_number).collect()
    }

    async fn number(&self, e164: &str) -> CoreResult<Option<ManagedNumber>> {
        sqlx::query("SELECT * FROM managed_numbers WHERE e164 = $1")
            .bind(e164.to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(row_to_number)
            .transpose()
    }

    async fn number_of(&self, account: AccountId) -> CoreResult<Option<ManagedNumber>> {
        sqlx::query("SELECT * FROM managed_numbers WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(row_to_number)
            .transpose()
    }

    /// The write lock (SQLite) or the chain-head lock (PostgreSQL) taken by `begin_write`
    /// serializes assigners, so a free number is never handed out twice.
    #[tracing::instrument(skip_all, err, fields(account_id = %account))]
    async fn assign_free_number(
        &self,
        account: AccountId,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<Option<ManagedNumber>> {
        let mut tx = self.begin_write().await?;
        if !exists(&mut tx, "accounts", account.to_string()).await? {
            return Err(CoreError::NotFound { kind: "account" });
        }
        let free = sqlx::query(&format!(
            "SELECT id FROM managed_numbers WHERE account_id IS NULL ORDER BY e164 LIMIT 1{}",
            self.for_update()
        ))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(free) = free else {
            tx.rollback().await.map_err(db_err)?;
            return Ok(None);
        };
        let id: String = get(&free, "id")?;
        let row = sqlx::query(
            "UPDATE managed_numbers SET account_id = $1, assigned_at = $2 \
             WHERE id = $3 AND account_id IS NULL RETURNING *",
        )
        .bind(account.to_string())
        .bind(ms(at))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            map_err(
                e,
                "this account already has a managed phone number",
                "account",
            )
        })?;
        let n = row_to_number(&row)?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(n))
    }

    #[tracing::instrument(skip_all, err, fields(message_id = %m.id, account_id = %m.account_id))]
    async fn insert_inbox_message(
        &self,
        m: &InboxMessageRecord,
        event: &NewEvent,
    ) -> CoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO inbox_messages (id, kind, account_id, vault_id, app_id, received_at, \
             from_addr, to_addr, has_code, has_link, expires_at, message_key, dek_id, content, \
             raw, raw_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16) ON CONFLICT (message_key) DO NOTHING",
        )
        .bind(m.id.to_string())
        .bind(m.kind.as_str())
        .bind(m.account_id.to_string())
        .bind(m.vault_id.to_string())
        .bind(m.app_id.as_ref().map(|a| a.as_str().to_owned()))
        .bind(ms(m.received_at))
        .bind(&m.from)
        .bind(&m.to)
        .bind(flag(m.has_code))
        .bind(flag(m.has_link))
        .bind(opt_ms(m.expires_at))
        .bind(&m.message_key)
        .bind(m.dek_id.to_string())
        .bind(&m.content)
        .bind(m.raw.as_deref())
        .bind(m.raw_bytes)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, "this message is already stored", "account"))?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(db_err)?;
            return Ok(false);
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn inbox_messages(&self, f: &InboxFilter) -> CoreResult<Vec<InboxMessageRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {MESSAGE_COLS} FROM inbox_messages m JOIN accounts a ON a.id = m.account_id \
             WHERE 1 = 1"
        ));
        if let Some(vaults) = &f.vaults {
            let mut reach = vec![];
            if !vaults.is_empty() {
                let list = sql.text_list(vaults.iter().map(|v| v.to_string()));
                reach.push(format!("a.vault_id IN ({list})"));
            }
            if !f.also_accounts.is_empty() {
                let list = sql.text_list(f.also_accounts.iter().map(|a| a.to_string()));
                reach.push(format!("a.id IN ({list})"));
            }
            if reach.is_empty() {
                return Ok(vec![]);
            }
            sql.push(&format!(" AND ({})", reach.join(" OR ")));
        }
        if let Some(a) = f.account_id {
            let p = sql.text(a.to_string());
            sql.push(&format!(" AND m.account_id = {p}"));
        }
        if let Some(v) = f.vault_id {
            let p = sql.text(v.to_string());
            sql.push(&format!(" AND a.vault_id = {p}"));
        }
        if let Some(app) = &f.app_id {
            let p = sql.text(app.clone());
            sql.push(&format!(" AND m.app_id = {p}"));
        }
        if let Some(k) = f.kind {
            let p = sql.text(k.as_str());
            sql.push(&format!(" AND m.kind = {p}"));
        }
        if let Some(t) = f.since {
            let p = sql.int(ms(t));
            sql.push(&format!(" AND m.received_at >= {p}"));
        }
        if let Some(t) = f.until {
            let p = sql.int(ms(t));
            sql.push(&format!(" AND m.received_at < {p}"));
        }
        if f.with_code_or_link {
            sql.push(" AND (m.has_code = 1 OR m.has_link = 1)");
        }
        if let Some(t) = f.valid_at {
            let p = sql.int(ms(t));
            sql.push(&format!(" AND m.expires_at > {p}"));
        }
        let limit = sql.int(i64::from(f.limit.unwrap_or(100)));
        sql.push(&format!(
            " ORDER BY m.received_at DESC, m.id DESC LIMIT {limit}"
        ));
        let rows = sql.query().fetch_all(self.pool()).await.map_err(db_err)?;
        rows.iter().map(|r| row_to_message(r, false)).collect()
    }

    async fn inbox_message(&self, id: InboxMessageId) -> CoreResult<Option<InboxMessageRecord>> {
        sqlx::query(&format!(
            "SELECT {MESSAGE_COLS}, m.raw FROM inbox_messages m WHERE m.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?
        .as_ref()
        .map(|r| row_to_message(r, true))
        .transpose()
    }

    #[tracing::instrument(skip_all, err)]
    async fn purge_inbox(&self, before: DateTime<Utc>, event: &NewEvent) -> CoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM inbox_messages WHERE received_at < $1")
            .bind(ms(before))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let n = done.rows_affected();
        if n == 0 {
            tx.rollback().await.map_err(db_err)?;
            return Ok(0);
        }
        let mut ev = event.clone();
        let mut details: serde_json::Value =
            serde_json::from_str(&ev.details).unwrap_or_else(|_| serde_json::json!({}));
        details["deleted"] = n.into();
        ev.details = details.to_string();
        append_in_tx(&mut tx, &ev).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }
}
