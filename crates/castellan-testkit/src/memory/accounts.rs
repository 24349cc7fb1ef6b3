//! Account items, their sealed secrets and direct grants, and their authenticators.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::ids::{AccountId, DataKeyId, PersonId};
use castellan_core::model::{AccountRecord, ItemRole, OtpRecord, SealedField};
use castellan_core::ports::{AccountFilter, AccountStore, OtpStore};
use castellan_core::validate::label_key;
use castellan_core::{CoreError, CoreResult};

use super::tables::{Stored, Tables};
use super::MemoryStore;

fn duplicate_label(a: &AccountRecord) -> CoreError {
    CoreError::Conflict(format!(
        "an account labelled `{}` already exists in this vault",
        a.label
    ))
}

impl Tables {
    /// Whether another account in `a`'s vault has `a`'s label (case- and space-insensitive).
    fn label_taken(&self, a: &AccountRecord) -> bool {
        let key = label_key(&a.label);
        self.accounts
            .values()
            .any(|o| o.id != a.id && o.vault_id == a.vault_id && label_key(&o.label) == key)
    }

    /// The body of `update_account`: the version-checked row update (`Conflict` on a stale
    /// version or a duplicate label, `NotFound` when missing or when the new vault is), sealed
    /// upserts and removals.
    pub(crate) fn update_account(
        &mut self,
        a: &AccountRecord,
        sealed: &[SealedField],
        remove_fields: &[String],
    ) -> CoreResult<()> {
        let Some(row) = self.accounts.get(&a.id) else {
            return Err(CoreError::NotFound { kind: "account" });
        };
        if row.version != a.version - 1 {
            return Err(CoreError::Conflict(
                "the account was changed meanwhile; reload it and try again".into(),
            ));
        }
        if self.label_taken(a) {
            return Err(duplicate_label(a));
        }
        if !self.vaults.contains_key(&a.vault_id) {
            return Err(CoreError::NotFound { kind: "vault" });
        }
        let (created_by, created_at) = (row.created_by, row.created_at);
        self.accounts.insert(
            a.id,
            AccountRecord {
                created_by,
                created_at,
                ..a.stored()
            },
        );
        for s in sealed {
            self.secrets.insert((a.id, s.field.clone()), s.clone());
        }
        for field in remove_fields {
            self.secrets.remove(&(a.id, field.clone()));
        }
        Ok(())
    }

    /// Deletes an account and what hangs on it, as the SQL foreign keys do: secrets, grants,
    /// authenticator, managed address and inbox messages go; its phone number returns to the pool.
    fn delete_account(&mut self, id: AccountId) -> CoreResult<()> {
        if self.accounts.remove(&id).is_none() {
            return Err(CoreError::NotFound { kind: "account" });
        }
        self.secrets.retain(|(a, _), _| *a != id);
        self.account_access.retain(|(a, _), _| *a != id);
        self.collection_accounts.retain(|(_, a)| *a != id);
        self.shares
            .retain(|(_, t), _| *t != castellan_core::collection::ItemTarget::Account(id));
        self.otp.remove(&id);
        self.app_sessions.retain(|(a, _), _| *a != id);
        self.oauth2_grants.retain(|(a, _), _| *a != id);
        self.addresses.retain(|_, m| m.account_id != id);
        self.messages.retain(|_, m| m.account_id != id);
        for n in self.numbers.values_mut() {
            if n.account_id == Some(id) {
                n.account_id = None;
            }
        }
        Ok(())
    }

    /// Inserts or replaces a person's item role. `NotFound { kind: "person" }` when the
    /// account or the person is missing.
    fn upsert_account_access(
        &mut self,
        id: AccountId,
        person: PersonId,
        role: ItemRole,
    ) -> CoreResult<()> {
        if !self.accounts.contains_key(&id) || !self.people.contains_key(&person) {
            return Err(CoreError::NotFound { kind: "person" });
        }
        self.account_access.insert((id, person), role);
        Ok(())
    }
}

/// Whether `a` matches the filter's query: label, username, app id or login URL contain it,
/// ignoring case (label also with spaces folded).
fn matches_query(a: &AccountRecord, q: &str) -> bool {
    let q_lower = q.to_lowercase();
    let contains = |s: Option<&str>| s.is_some_and(|s| s.to_lowercase().contains(&q_lower));
    contains(Some(&a.label))
        || label_key(&a.label).contains(&label_key(q))
        || contains(a.username.as_deref())
        || contains(a.app_id.as_ref().map(|x| x.as_str()))
        || contains(a.login_url.as_deref())
}

#[async_trait]
impl AccountStore for MemoryStore {
    /// `Conflict` on a duplicate id or label in the vault; `NotFound` (`vault` for the vault or
    /// the creator, `person` for a grantee) when a referenced row is missing.
    async fn insert_account(
        &self,
        a: &AccountRecord,
        sealed: &[SealedField],
        grants: &[(PersonId, ItemRole)],
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if tx.t.accounts.contains_key(&a.id) || tx.t.label_taken(a) {
                return Err(duplicate_label(a));
            }
            let creator_missing = a.created_by.is_some_and(|p| !tx.t.people.contains_key(&p));
            if !tx.t.vaults.contains_key(&a.vault_id) || creator_missing {
                return Err(CoreError::NotFound { kind: "vault" });
            }
            tx.t.accounts.insert(a.id, a.stored());
            for s in sealed {
                tx.t.secrets.insert((a.id, s.field.clone()), s.clone());
            }
            for (person, role) in grants {
                tx.t.upsert_account_access(a.id, *person, *role)?;
            }
            tx.append(event);
            Ok(())
        })
    }

    async fn update_account(
        &self,
        a: &AccountRecord,
        sealed: &[SealedField],
        remove_fields: &[String],
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.update_account(a, sealed, remove_fields)?;
            tx.append(event);
            Ok(())
        })
    }

    async fn delete_account(&self, id: AccountId, event: &NewEvent) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.delete_account(id)?;
            tx.append(event);
            Ok(())
        })
    }

    async fn account(&self, id: AccountId) -> CoreResult<Option<AccountRecord>> {
        self.read(|t| Ok(t.accounts.get(&id).cloned()))
    }

    /// Ordered by label (case- and space-insensitive), then id; at most `limit` (500).
    async fn accounts(&self, f: &AccountFilter) -> CoreResult<Vec<AccountRecord>> {
        self.read(|t| {
            if let Some(vaults) = &f.vaults {
                if vaults.is_empty() && f.also_accounts.is_empty() {
                    return Ok(vec![]);
                }
            }
            let query = f.query.as_deref().filter(|q| !q.trim().is_empty());
            let mut all: Vec<AccountRecord> = t
                .accounts
                .values()
                .filter(|a| {
                    f.vaults.as_ref().is_none_or(|vs| {
                        vs.contains(&a.vault_id) || f.also_accounts.contains(&a.id)
                    })
                })
                .filter(|a| query.is_none_or(|q| matches_query(a, q)))
                .filter(|a| {
                    f.app_id
                        .as_deref()
                        .is_none_or(|app| a.app_id.as_ref().is_some_and(|x| x.as_str() == app))
                })
                .cloned()
                .collect();
            all.sort_by_cached_key(|a| (label_key(&a.label), a.id));
            all.truncate(f.limit.unwrap_or(500) as usize);
            Ok(all)
        })
    }

    /// Ordered by field name.
    async fn sealed_fields(&self, id: AccountId) -> CoreResult<Vec<SealedField>> {
        self.read(|t| {
            Ok(t.secrets
                .iter()
                .filter(|((a, _), _)| *a == id)
                .map(|(_, s)| s.clone())
                .collect())
        })
    }

    /// Ordered by person id.
    async fn account_access(&self, id: AccountId) -> CoreResult<Vec<(PersonId, ItemRole)>> {
        self.read(|t| {
            Ok(t.account_access
                .iter()
                .filter(|((a, _), _)| *a == id)
                .map(|((_, p), r)| (*p, *r))
                .collect())
        })
    }

    /// Ordered by account id.
    async fn account_grants_of(&self, person: PersonId) -> CoreResult<Vec<(AccountId, ItemRole)>> {
        self.read(|t| {
            Ok(t.account_access
                .iter()
                .filter(|((_, p), _)| *p == person)
                .map(|((a, _), r)| (*a, *r))
                .collect())
        })
    }

    async fn set_account_access(
        &self,
        id: AccountId,
        person: PersonId,
        role: Option<ItemRole>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if !tx.t.accounts.contains_key(&id) {
                return Err(CoreError::NotFound { kind: "account" });
            }
            if !tx.t.people.contains_key(&person) {
                return Err(CoreError::NotFound { kind: "person" });
            }
            match role {
                Some(role) => tx.t.upsert_account_access(id, person, role)?,
                None => {
                    tx.t.account_access.remove(&(id, person));
                }
            }
            tx.append(event);
            Ok(())
        })
    }

    async fn count_sealed_with(&self, dek: DataKeyId) -> CoreResult<i64> {
        self.read(|t| Ok(t.secrets.values().filter(|s| s.dek_id == dek).count() as i64))
    }
}

#[async_trait]
impl OtpStore for MemoryStore {
    async fn set_account_otp(
        &self,
        a: &AccountRecord,
        sealed: &[SealedField],
        remove_fields: &[String],
        otp: Option<&OtpRecord>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.update_account(a, sealed, remove_fields)?;
            tx.t.otp.remove(&a.id);
            if let Some(o) = otp {
                let o = OtpRecord {
                    account_id: a.id,
                    ..o.stored()
                };
                tx.t.otp.insert(a.id, o);
            }
            tx.append(event);
            Ok(())
        })
    }

    async fn account_otp(&self, id: AccountId) -> CoreResult<Option<OtpRecord>> {
        self.read(|t| Ok(t.otp.get(&id).cloned()))
    }

    /// `NotFound { kind: "authenticator" }` without settings.
    async fn next_hotp_counter(&self, id: AccountId, event: &NewEvent) -> CoreResult<i64> {
        self.write(|tx| {
            let o = tx.t.otp.get_mut(&id).ok_or(CoreError::NotFound {
                kind: "authenticator",
            })?;
            o.counter += 1;
            let used = o.counter - 1;
            tx.append(event);
            Ok(used)
        })
    }

    async fn claim_otp_step(&self, id: AccountId, step: i64, event: &NewEvent) -> CoreResult<bool> {
        self.write(|tx| {
            let Some(o) =
                tx.t.otp
                    .get_mut(&id)
                    .filter(|o| o.last_step.is_none_or(|last| last < step))
            else {
                return Ok(false);
            };
            o.last_step = Some(step);
            tx.append(event);
            Ok(true)
        })
    }
}
