//! OAuth 2.0 grants and authorization requests in flight, as the SQL store's `oauth2_grants` and
//! `oauth2_flows` tables keep them.

use async_trait::async_trait;
use castellan_core::ids::AccountId;
use castellan_core::ports::{KeptOAuth2Grant, OAuth2Flow, OAuth2Store};
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};

use super::tables::{ms, OAuth2GrantRow};
use super::MemoryStore;

impl MemoryStore {
    /// The grants kept for `account` (any scope), for tests that look at what is stored.
    pub fn oauth2_grants_of(&self, account: AccountId) -> Vec<KeptOAuth2Grant> {
        self.lock()
            .tables
            .oauth2_grants
            .iter()
            .filter(|((a, _), _)| *a == account)
            .map(|(_, r)| r.grant.clone())
            .collect()
    }
}

#[async_trait]
impl OAuth2Store for MemoryStore {
    async fn oauth2_grant(
        &self,
        account: AccountId,
        scope: &str,
    ) -> CoreResult<Option<KeptOAuth2Grant>> {
        self.read(|t| {
            Ok(t.oauth2_grants
                .get(&(account, scope.to_owned()))
                .map(|r| r.grant.clone()))
        })
    }

    /// `NotFound { kind: "account" }` when the account is missing.
    async fn put_oauth2_grant(&self, g: &KeptOAuth2Grant) -> CoreResult<i64> {
        self.write(|tx| {
            if !tx.t.accounts.contains_key(&g.account_id) {
                return Err(CoreError::NotFound { kind: "account" });
            }
            let key = (g.account_id, g.scope.clone());
            let version = tx.t.oauth2_grants.get(&key).map_or(0, |r| r.grant.version) + 1;
            let mut grant = g.clone();
            grant.version = version;
            grant.updated_at = ms(g.updated_at);
            grant.expires_at = g.expires_at.map(ms);
            tx.t.oauth2_grants
                .insert(key, OAuth2GrantRow { grant, claim: None });
            Ok(version)
        })
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
        self.write(|tx| {
            let Some(row) = tx.t.oauth2_grants.get_mut(&(account, scope.to_owned())) else {
                return Ok(false);
            };
            let free = match &row.claim {
                None => true,
                Some((by, end)) => *end <= ms(now) || by == holder,
            };
            if row.grant.version != version || !free {
                return Ok(false);
            }
            row.claim = Some((holder.to_owned(), ms(until)));
            Ok(true)
        })
    }

    async fn swap_oauth2_grant(&self, g: &KeptOAuth2Grant, holder: &str) -> CoreResult<bool> {
        self.write(|tx| {
            let Some(row) = tx.t.oauth2_grants.get_mut(&(g.account_id, g.scope.clone())) else {
                return Ok(false);
            };
            let mine = row.claim.as_ref().is_some_and(|(by, _)| by == holder);
            if row.grant.version != g.version - 1 || !mine {
                return Ok(false);
            }
            let mut grant = g.clone();
            grant.updated_at = ms(g.updated_at);
            grant.expires_at = g.expires_at.map(ms);
            *row = OAuth2GrantRow { grant, claim: None };
            Ok(true)
        })
    }

    async fn release_oauth2_refresh(
        &self,
        account: AccountId,
        scope: &str,
        holder: &str,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if let Some(row) = tx.t.oauth2_grants.get_mut(&(account, scope.to_owned())) {
                if row.claim.as_ref().is_some_and(|(by, _)| by == holder) {
                    row.claim = None;
                }
            }
            Ok(())
        })
    }

    /// `Conflict` when the state is already kept; `NotFound { kind: "hub" }` for a missing hub.
    async fn insert_oauth2_flow(&self, f: &OAuth2Flow) -> CoreResult<()> {
        self.write(|tx| {
            if !tx.t.hubs.contains_key(&f.hub_id) {
                return Err(CoreError::NotFound { kind: "hub" });
            }
            let at = ms(f.created_at);
            tx.t.oauth2_flows.retain(|_, old| old.expires_at >= at);
            if tx.t.oauth2_flows.contains_key(&f.state_hash) {
                return Err(CoreError::Conflict(
                    "this authorization is already kept".into(),
                ));
            }
            let mut flow = f.clone();
            flow.created_at = at;
            flow.expires_at = ms(f.expires_at);
            tx.t.oauth2_flows.insert(f.state_hash.clone(), flow);
            Ok(())
        })
    }

    async fn take_oauth2_flow(
        &self,
        state_hash: &str,
        session_hash: &str,
    ) -> CoreResult<Option<OAuth2Flow>> {
        self.write(|tx| {
            let mine =
                tx.t.oauth2_flows
                    .get(state_hash)
                    .is_some_and(|f| f.session_hash == session_hash);
            Ok(mine.then(|| tx.t.oauth2_flows.remove(state_hash)).flatten())
        })
    }
}
