//! Kept app sessions and sign-in claims, as the SQL store's `app_sessions` table keeps them.

use async_trait::async_trait;
use castellan_core::ids::AccountId;
use castellan_core::ports::{AppSessionStore, KeptAppSession};
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};

use super::tables::{ms, AppSessionRow};
use super::MemoryStore;

impl MemoryStore {
    /// The sessions kept for `account` (any scope), for tests that look at what is stored.
    pub fn kept_sessions_of(&self, account: AccountId) -> Vec<KeptAppSession> {
        self.lock()
            .tables
            .app_sessions
            .iter()
            .filter(|((a, _), _)| *a == account)
            .filter_map(|(_, r)| r.kept.clone())
            .collect()
    }
}

#[async_trait]
impl AppSessionStore for MemoryStore {
    async fn kept_app_session(
        &self,
        account: AccountId,
        scope: &str,
    ) -> CoreResult<Option<KeptAppSession>> {
        self.read(|t| {
            Ok(t.app_sessions
                .get(&(account, scope.to_owned()))
                .and_then(|r| r.kept.clone()))
        })
    }

    /// `NotFound { kind: "account" }` when the account is missing.
    async fn keep_app_session(&self, s: &KeptAppSession) -> CoreResult<()> {
        self.write(|tx| {
            if !tx.t.accounts.contains_key(&s.account_id) {
                return Err(CoreError::NotFound { kind: "account" });
            }
            let at = ms(s.signed_in_at);
            tx.t.app_sessions.retain(|_, r| {
                r.kept.as_ref().is_some_and(|k| k.expires_at >= at)
                    || r.claim.as_ref().is_some_and(|(_, until)| *until >= at)
            });
            let mut kept = s.clone();
            kept.signed_in_at = at;
            kept.expires_at = ms(s.expires_at);
            tx.t.app_sessions.insert(
                (s.account_id, s.scope.clone()),
                AppSessionRow {
                    kept: Some(kept),
                    claim: None,
                },
            );
            Ok(())
        })
    }

    async fn forget_app_session(&self, account: AccountId, scope: &str) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.app_sessions.remove(&(account, scope.to_owned()));
            Ok(())
        })
    }

    /// `NotFound { kind: "account" }` when the account is missing.
    async fn claim_app_sign_in(
        &self,
        account: AccountId,
        scope: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> CoreResult<bool> {
        self.write(|tx| {
            if !tx.t.accounts.contains_key(&account) {
                return Err(CoreError::NotFound { kind: "account" });
            }
            let row =
                tx.t.app_sessions
                    .entry((account, scope.to_owned()))
                    .or_default();
            let free = match &row.claim {
                None => true,
                Some((by, end)) => *end <= ms(now) || by == holder,
            };
            if free {
                row.claim = Some((holder.to_owned(), ms(until)));
            }
            Ok(free)
        })
    }

    async fn release_app_sign_in(
        &self,
        account: AccountId,
        scope: &str,
        holder: &str,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if let Some(r) = tx.t.app_sessions.get_mut(&(account, scope.to_owned())) {
                if r.claim.as_ref().is_some_and(|(by, _)| by == holder) {
                    r.claim = None;
                }
            }
            Ok(())
        })
    }
}
