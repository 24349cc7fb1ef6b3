//! The shared inbox: managed addresses, the phone number pool and received messages.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::ids::AccountId;
use castellan_core::inbox::{
    InboxFilter, InboxMessageId, InboxMessageRecord, InboxStore, ManagedAddress, ManagedNumber,
};
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};

use super::tables::{ms, Stored, Tables};
use super::MemoryStore;

impl Tables {
    fn account_exists(&self, id: AccountId) -> CoreResult<()> {
        if self.accounts.contains_key(&id) {
            Ok(())
        } else {
            Err(CoreError::NotFound { kind: "account" })
        }
    }

    /// Whether the message passes the filter (its account's current vault decides `vaults`
    /// and `vault_id`).
    fn message_matches(&self, m: &InboxMessageRecord, f: &InboxFilter) -> bool {
        let Some(account) = self.accounts.get(&m.account_id) else {
            return false;
        };
        f.vaults.as_ref().is_none_or(|vs| {
            vs.contains(&account.vault_id) || f.also_accounts.contains(&account.id)
        }) && f.account_id.is_none_or(|a| m.account_id == a)
            && f.vault_id.is_none_or(|v| account.vault_id == v)
            && f.app_id
                .as_deref()
                .is_none_or(|app| m.app_id.as_ref().is_some_and(|x| x.as_str() == app))
            && f.kind.is_none_or(|k| m.kind == k)
            && f.since.is_none_or(|s| m.received_at >= ms(s))
            && f.until.is_none_or(|u| m.received_at < ms(u))
            && (!f.with_code_or_link || m.has_code || m.has_link)
            && f.valid_at
                .is_none_or(|v| m.expires_at.is_some_and(|e| e > ms(v)))
    }
}

#[async_trait]
impl InboxStore for MemoryStore {
    async fn insert_managed_address(&self, a: &ManagedAddress, event: &NewEvent) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.account_exists(a.account_id)?;
            if tx
                .t
                .addresses
                .values()
                .any(|o| o.account_id == a.account_id)
            {
                return Err(CoreError::Conflict(
                    "this account already has a managed email address".into(),
                ));
            }
            if tx.t.addresses.contains_key(&a.id)
                || tx.t.addresses.values().any(|o| o.address == a.address)
            {
                return Err(CoreError::Conflict(
                    "this managed email address is taken".into(),
                ));
            }
            tx.t.addresses.insert(a.id, a.stored());
            tx.append(event);
            Ok(())
        })
    }

    async fn managed_address_of(&self, account: AccountId) -> CoreResult<Option<ManagedAddress>> {
        self.read(|t| {
            Ok(t.addresses
                .values()
                .find(|a| a.account_id == account)
                .cloned())
        })
    }

    async fn managed_address(&self, address: &str) -> CoreResult<Option<ManagedAddress>> {
        self.read(|t| Ok(t.addresses.values().find(|a| a.address == address).cloned()))
    }

    /// Numbers already in the pool (by E.164) are skipped. `Conflict` when a number names an
    /// account that already has one; `NotFound { kind: "account" }` when it names a missing one.
    async fn add_numbers(&self, numbers: &[ManagedNumber], event: &NewEvent) -> CoreResult<u64> {
        self.write(|tx| {
            let mut added = 0;
            for n in numbers {
                if tx.t.numbers.values().any(|o| o.e164 == n.e164) {
                    continue;
                }
                let taken = n
                    .account_id
                    .is_some_and(|a| tx.t.numbers.values().any(|o| o.account_id == Some(a)));
                if taken || tx.t.numbers.contains_key(&n.id) {
                    return Err(CoreError::Conflict(
                        "this phone number is already assigned".into(),
                    ));
                }
                if let Some(a) = n.account_id {
                    tx.t.account_exists(a)?;
                }
                tx.t.numbers.insert(n.id, n.stored());
                added += 1;
            }
            tx.append(event);
            Ok(added)
        })
    }

    /// Ordered by number.
    async fn numbers(&self) -> CoreResult<Vec<ManagedNumber>> {
        self.read(|t| {
            let mut all: Vec<ManagedNumber> = t.numbers.values().cloned().collect();
            all.sort_by(|a, b| a.e164.cmp(&b.e164));
            Ok(all)
        })
    }

    async fn number(&self, e164: &str) -> CoreResult<Option<ManagedNumber>> {
        self.read(|t| Ok(t.numbers.values().find(|n| n.e164 == e164).cloned()))
    }

    async fn number_of(&self, account: AccountId) -> CoreResult<Option<ManagedNumber>> {
        self.read(|t| {
            Ok(t.numbers
                .values()
                .find(|n| n.account_id == Some(account))
                .cloned())
        })
    }

    /// The free number first by E.164. `Conflict` when the account already has one.
    async fn assign_free_number(
        &self,
        account: AccountId,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<Option<ManagedNumber>> {
        self.write(|tx| {
            tx.t.account_exists(account)?;
            let free =
                tx.t.numbers
                    .values()
                    .filter(|n| n.account_id.is_none())
                    .min_by(|a, b| a.e164.cmp(&b.e164))
                    .map(|n| n.id);
            let Some(id) = free else { return Ok(None) };
            if tx.t.numbers.values().any(|n| n.account_id == Some(account)) {
                return Err(CoreError::Conflict(
                    "this account already has a managed phone number".into(),
                ));
            }
            let Some(n) = tx.t.numbers.get_mut(&id) else {
                return Ok(None);
            };
            n.account_id = Some(account);
            n.assigned_at = Some(ms(at));
            let n = n.clone();
            tx.append(event);
            Ok(Some(n))
        })
    }

    /// `false` (nothing written) when a message with the same key is stored.
    async fn insert_inbox_message(
        &self,
        m: &InboxMessageRecord,
        event: &NewEvent,
    ) -> CoreResult<bool> {
        self.write(|tx| {
            if tx
                .t
                .messages
                .values()
                .any(|o| o.message_key == m.message_key)
            {
                return Ok(false);
            }
            if tx.t.messages.contains_key(&m.id) {
                return Err(CoreError::Conflict("this message is already stored".into()));
            }
            tx.t.account_exists(m.account_id)?;
            tx.t.messages.insert(m.id, m.stored());
            tx.append(event);
            Ok(true)
        })
    }

    /// Newest first (then by id, descending), without raw messages; at most `limit` (100).
    async fn inbox_messages(&self, f: &InboxFilter) -> CoreResult<Vec<InboxMessageRecord>> {
        self.read(|t| {
            if let Some(vaults) = &f.vaults {
                if vaults.is_empty() && f.also_accounts.is_empty() {
                    return Ok(vec![]);
                }
            }
            let mut all: Vec<InboxMessageRecord> = t
                .messages
                .values()
                .filter(|m| t.message_matches(m, f))
                .map(|m| InboxMessageRecord {
                    raw: None,
                    ..m.clone()
                })
                .collect();
            all.sort_by_key(|m| std::cmp::Reverse((m.received_at, m.id)));
            all.truncate(f.limit.unwrap_or(100) as usize);
            Ok(all)
        })
    }

    async fn inbox_message(&self, id: InboxMessageId) -> CoreResult<Option<InboxMessageRecord>> {
        self.read(|t| Ok(t.messages.get(&id).cloned()))
    }

    /// The event's details get `deleted: n`; no event when nothing was deleted.
    async fn purge_inbox(&self, before: DateTime<Utc>, event: &NewEvent) -> CoreResult<u64> {
        self.write(|tx| {
            let n0 = tx.t.messages.len();
            tx.t.messages.retain(|_, m| m.received_at >= ms(before));
            let n = (n0 - tx.t.messages.len()) as u64;
            if n > 0 {
                let mut ev = event.clone();
                let mut details: serde_json::Value =
                    serde_json::from_str(&ev.details).unwrap_or_else(|_| serde_json::json!({}));
                details["deleted"] = n.into();
                ev.details = details.to_string();
                tx.append(&ev);
            }
            Ok(n)
        })
    }
}
