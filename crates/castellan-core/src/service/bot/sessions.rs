//! Session reuse: a signed-in app session is kept per automation account and app for
//! [`SESSION_REUSE`], so jobs in a row sign in once (Redmine with TOTP waits up to a time step
//! per sign-in). The session is kept in the store ([`crate::ports::AppSessionStore`]), sealed
//! under the account's vault data key like its own secrets, so it survives a restart and every
//! instance on one database shares it. One sign-in at a time runs per account and app: within
//! a process behind a lock, across instances behind a claim in the store that the signing-in
//! process renews while it signs in, so a process killed mid-sign-in holds the others back for
//! [`SIGN_IN_CLAIM`] at most.
//!
//! The sealed session carries a SHA-256 fingerprint of the credentials it was made with: after
//! a password or token change it no longer matches and the bot signs in again, so an old session
//! never serves new credentials. Deleting the account deletes its sessions.
//!
//! A reused session the app no longer accepts (it answers `BadCredentials`) is forgotten, the
//! bot signs in once more and repeats the call: a refused call did not reach the app's data, so
//! repeating it never acts twice. A refusal right after a fresh sign-in is reported as usual.
//!
//! Keeping sessions only saves sign-ins: when the store cannot keep or read one, the bot logs it
//! and signs in as it would without reuse.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use castellan_crypto::field_aad;
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::catalog::Capability;
use crate::connector::{
    AppMember, AppRole, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo,
    Invitation, MemberPage, ResourceGrant, ResourceMemberPage, ResourcePage, TwoFactorState,
};
use crate::error::CoreResult;
use crate::ids::{AccountId, VaultId};
use crate::ports::KeptAppSession;
use crate::service::Castellan;

/// How long a signed-in session is reused.
pub const SESSION_REUSE: Duration = Duration::minutes(10);

/// How long a sign-in's claim on its account and app lasts unless renewed: a process that dies
/// (or is stopped) in the middle of a sign-in holds the others back this long at most.
const SIGN_IN_CLAIM: Duration = Duration::seconds(15);

/// How often a running sign-in renews its claim.
const SIGN_IN_RENEW: std::time::Duration = std::time::Duration::from_secs(5);

/// How long (real time) a sign-in waits for another instance's sign-in before signing in itself.
const SIGN_IN_WAIT: std::time::Duration = std::time::Duration::from_secs(90);

/// How often a waiting sign-in looks for the other instance's session.
const SIGN_IN_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Which account and app a session is for, and with which credentials.
#[derive(Clone)]
pub(crate) struct SessionKey {
    account: AccountId,
    vault: VaultId,
    /// Hex SHA-256 of the connector, base URL and organization.
    scope: String,
    /// Hex SHA-256 of the username, password and API token (kept only inside the sealed session).
    credentials: Zeroizing<String>,
}

fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

impl SessionKey {
    /// The key of `connector`'s session for `ctx`, signed in as `account` (kept in `vault`).
    pub(crate) fn new(
        connector: &str,
        ctx: &ConnectorContext,
        account: AccountId,
        vault: VaultId,
    ) -> Self {
        let scope = digest(&[
            connector,
            &ctx.base_url,
            ctx.organization_id.as_deref().unwrap_or(""),
        ]);
        let credentials = Zeroizing::new(digest(&[
            &ctx.username,
            ctx.password.expose_secret(),
            ctx.api_token.as_ref().map_or("", |t| t.expose_secret()),
        ]));
        Self {
            account,
            vault,
            scope,
            credentials,
        }
    }

    fn aad(&self) -> Vec<u8> {
        field_aad("app_sessions", &self.account.to_string(), &self.scope)
    }
}

/// What is sealed: the session and the fingerprint of the credentials that made it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    token: String,
    data: serde_json::Value,
    credentials: String,
}

/// One process's lock on the sign-in for an account and scope.
type Gate = Arc<tokio::sync::Mutex<()>>;

/// The sign-in locks of one process, shared by its workers; the sessions live in the store.
pub(crate) struct AppSessions {
    /// Names this process's sign-in (and OAuth refresh) claims in the store.
    pub(crate) holder: String,
    sign_ins: Mutex<HashMap<(AccountId, String), Gate>>,
}

impl std::fmt::Debug for AppSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSessions").finish_non_exhaustive()
    }
}

impl Default for AppSessions {
    fn default() -> Self {
        Self {
            holder: hex::encode(rand::random::<[u8; 16]>()),
            sign_ins: Mutex::new(HashMap::new()),
        }
    }
}

impl AppSessions {
    /// The kept session for `key` if it is fresh at `now` and was made with `key`'s credentials.
    async fn fresh(
        &self,
        svc: &Castellan,
        key: &SessionKey,
        now: DateTime<Utc>,
    ) -> Option<AppSession> {
        let kept = match svc.store.kept_app_session(key.account, &key.scope).await {
            Ok(k) => k?,
            Err(e) => {
                tracing::warn!(error = %e, "reading a kept app session failed; signing in");
                return None;
            }
        };
        if now >= kept.expires_at || now < kept.signed_in_at {
            return None;
        }
        let opened = async {
            let (dek_id, dek) = svc.data_key(key.vault).await.ok()?;
            if dek_id != kept.dek_id {
                return None;
            }
            let plain = Zeroizing::new(dek.open(&kept.ciphertext, &key.aad()).ok()?);
            serde_json::from_slice::<Sealed>(&plain).ok()
        }
        .await;
        match opened {
            Some(s) if s.credentials == *key.credentials => Some(AppSession {
                token: SecretString::from(s.token),
                data: s.data,
            }),
            // Other credentials made it, or it no longer opens: never use it.
            _ => None,
        }
    }

    async fn keep(&self, svc: &Castellan, key: &SessionKey, s: &AppSession, now: DateTime<Utc>) {
        if let Err(e) = self.keep_until(svc, key, s, now, now + SESSION_REUSE).await {
            tracing::warn!(error = %e, "keeping the app session failed; the next job signs in");
        }
    }

    /// Keeps `s` for `key`, signed in at `now` and reused until `until`.
    pub(crate) async fn keep_until(
        &self,
        svc: &Castellan,
        key: &SessionKey,
        s: &AppSession,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> CoreResult<()> {
        async {
            let (dek_id, dek) = svc.data_key(key.vault).await?;
            let plain = Zeroizing::new(
                serde_json::to_vec(&Sealed {
                    token: s.token.expose_secret().to_owned(),
                    data: s.data.clone(),
                    credentials: key.credentials.to_string(),
                })
                .map_err(crate::error::CoreError::internal)?,
            );
            svc.store
                .keep_app_session(&KeptAppSession {
                    account_id: key.account,
                    scope: key.scope.clone(),
                    dek_id,
                    ciphertext: dek.seal(&plain, &key.aad()),
                    signed_in_at: now,
                    expires_at: until,
                })
                .await
        }
        .await
    }

    /// Claims (or renews) the store's sign-in claim on `key` for [`SIGN_IN_CLAIM`] from now:
    /// `true` when this process holds it.
    async fn claim_once(&self, svc: &Castellan, key: &SessionKey) -> CoreResult<bool> {
        let now = svc.now();
        svc.store
            .claim_app_sign_in(
                key.account,
                &key.scope,
                &self.holder,
                now,
                now + SIGN_IN_CLAIM,
            )
            .await
    }

    /// Waits (up to [`SIGN_IN_WAIT`]) until this process holds the store's sign-in claim for
    /// `key`, or another instance's sign-in left a fresh session (returned).
    async fn claim(&self, svc: &Castellan, key: &SessionKey) -> Option<AppSession> {
        let started = tokio::time::Instant::now();
        loop {
            let claimed = self.claim_once(svc, key).await;
            match claimed {
                Ok(true) => return None,
                Ok(false) if started.elapsed() < SIGN_IN_WAIT => {}
                Ok(false) => {
                    tracing::warn!("another instance's sign-in is taking long; signing in");
                    return None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming the sign-in failed; signing in");
                    return None;
                }
            }
            tokio::time::sleep(SIGN_IN_POLL).await;
            if let Some(s) = self.fresh(svc, key, svc.now()).await {
                return Some(s);
            }
        }
    }

    /// A session for `ctx` on `c` at `now`: the kept one while it is fresh (`true`), else a new
    /// sign-in (`false`), one at a time per key (a second caller waits and reuses it).
    pub(crate) async fn get(
        &self,
        svc: &Castellan,
        c: &dyn Connector,
        ctx: &ConnectorContext,
        key: &SessionKey,
        now: DateTime<Utc>,
    ) -> Result<(AppSession, bool), ConnectorError> {
        if let Some(s) = self.fresh(svc, key, now).await {
            return Ok((s, true));
        }
        let gate = self
            .sign_ins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((key.account, key.scope.clone()))
            .or_default()
            .clone();
        let _one = gate.lock().await;
        if let Some(s) = self.fresh(svc, key, now).await {
            return Ok((s, true));
        }
        if let Some(s) = self.claim(svc, key).await {
            return Ok((s, true));
        }
        let signed_in = self.renewing_claim(svc, key, c.login(ctx)).await;
        match &signed_in {
            Ok(s) => self.keep(svc, key, s, now).await,
            Err(_) => {
                let released = svc
                    .store
                    .release_app_sign_in(key.account, &key.scope, &self.holder)
                    .await;
                if let Err(e) = released {
                    tracing::warn!(error = %e, "releasing the sign-in claim failed");
                }
            }
        }
        Ok((signed_in?, false))
    }

    /// Runs `sign_in` while renewing this process's claim on `key` every [`SIGN_IN_RENEW`], so a
    /// slow sign-in (a TOTP wait) keeps it and a dead process's claim ends soon.
    async fn renewing_claim<T>(
        &self,
        svc: &Castellan,
        key: &SessionKey,
        sign_in: impl Future<Output = T>,
    ) -> T {
        tokio::pin!(sign_in);
        let mut beat = tokio::time::interval(SIGN_IN_RENEW);
        beat.tick().await;
        loop {
            tokio::select! {
                out = &mut sign_in => return out,
                _ = beat.tick() => {
                    if let Err(e) = self.claim_once(svc, key).await {
                        tracing::warn!(error = %e, "renewing the sign-in claim failed");
                    }
                }
            }
        }
    }

    /// Forgets the session kept for `key`.
    pub(crate) async fn forget(&self, svc: &Castellan, key: &SessionKey) {
        if let Err(e) = svc.store.forget_app_session(key.account, &key.scope).await {
            tracing::warn!(error = %e, "forgetting a refused app session failed");
        }
    }
}

type Call<'c, T> = Pin<Box<dyn Future<Output = Result<T, ConnectorError>> + Send + 'c>>;

/// A connector whose calls use a kept session, signing in again once when the app refuses a
/// reused one. The session passed to its methods is ignored: it holds its own.
pub(crate) struct Reusing {
    inner: Arc<dyn Connector>,
    svc: Castellan,
    sessions: Arc<AppSessions>,
    key: SessionKey,
    now: DateTime<Utc>,
    current: tokio::sync::Mutex<(AppSession, bool)>,
}

impl std::fmt::Debug for Reusing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reusing")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Reusing {
    /// Wraps `inner` with `session` (`reused`: whether it came from the kept ones).
    pub(crate) fn new(
        inner: Arc<dyn Connector>,
        svc: Castellan,
        key: SessionKey,
        now: DateTime<Utc>,
        session: AppSession,
        reused: bool,
    ) -> Self {
        Self {
            inner,
            sessions: svc.app_sessions.clone(),
            svc,
            key,
            now,
            current: tokio::sync::Mutex::new((session, reused)),
        }
    }

    async fn call<'c, T>(
        &'c self,
        ctx: &'c ConnectorContext,
        f: impl Fn(Arc<dyn Connector>, AppSession) -> Call<'c, T>,
    ) -> Result<T, ConnectorError> {
        let (s, reused) = self.current.lock().await.clone();
        match f(self.inner.clone(), s).await {
            Err(ConnectorError::BadCredentials(why)) if reused => {
                tracing::info!(reason = %why, "the app refused a reused session; signing in again");
                self.sessions.forget(&self.svc, &self.key).await;
                let (fresh, _) = self
                    .sessions
                    .get(&self.svc, &*self.inner, ctx, &self.key, self.now)
                    .await?;
                *self.current.lock().await = (fresh.clone(), false);
                f(self.inner.clone(), fresh).await
            }
            r => r,
        }
    }
}

/// Forwards one method through [`Reusing::call`].
macro_rules! through {
    ($self:ident, $ctx:ident, |$c:ident, $s:ident| $body:expr) => {
        $self
            .call($ctx, |$c, $s| Box::pin(async move { $body.await }))
            .await
    };
}

#[async_trait]
impl Connector for Reusing {
    fn describe(&self) -> ConnectorInfo {
        self.inner.describe()
    }

    async fn login(&self, _ctx: &ConnectorContext) -> Result<AppSession, ConnectorError> {
        Ok(self.current.lock().await.0.clone())
    }

    async fn verify_permissions(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<(), ConnectorError> {
        through!(self, ctx, |c, s| c.verify_permissions(ctx, &s))
    }

    async fn list_members(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        cursor: Option<String>,
    ) -> Result<MemberPage, ConnectorError> {
        let cursor = &cursor;
        through!(self, ctx, |c, s| c.list_members(ctx, &s, cursor.clone()))
    }

    async fn get_member(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        id: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        through!(self, ctx, |c, s| c.get_member(ctx, &s, id))
    }

    async fn find_by_email(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        email: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        through!(self, ctx, |c, s| c.find_by_email(ctx, &s, email))
    }

    async fn invite(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        inv: &Invitation,
    ) -> Result<AppMember, ConnectorError> {
        through!(self, ctx, |c, s| c.invite(ctx, &s, inv))
    }

    async fn update_role(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        id: &str,
        role: &str,
    ) -> Result<AppMember, ConnectorError> {
        through!(self, ctx, |c, s| c.update_role(ctx, &s, id, role))
    }

    async fn remove(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        id: &str,
    ) -> Result<(), ConnectorError> {
        through!(self, ctx, |c, s| c.remove(ctx, &s, id))
    }

    async fn discover(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<Vec<Capability>, ConnectorError> {
        through!(self, ctx, |c, s| c.discover(ctx, &s))
    }

    async fn list_roles(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<Vec<AppRole>, ConnectorError> {
        through!(self, ctx, |c, s| c.list_roles(ctx, &s))
    }

    async fn remove_keep_seat(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        id: &str,
    ) -> Result<AppMember, ConnectorError> {
        through!(self, ctx, |c, s| c.remove_keep_seat(ctx, &s, id))
    }

    async fn list_resources(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        cursor: Option<String>,
    ) -> Result<ResourcePage, ConnectorError> {
        let cursor = &cursor;
        through!(self, ctx, |c, s| c.list_resources(ctx, &s, cursor.clone()))
    }

    async fn list_resource_members(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        resource_id: &str,
        cursor: Option<String>,
    ) -> Result<ResourceMemberPage, ConnectorError> {
        let cursor = &cursor;
        through!(self, ctx, |c, s| c.list_resource_members(
            ctx,
            &s,
            resource_id,
            cursor.clone()
        ))
    }

    async fn grant_resource_role(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        grant: &ResourceGrant,
    ) -> Result<(), ConnectorError> {
        through!(self, ctx, |c, s| c.grant_resource_role(ctx, &s, grant))
    }

    async fn revoke_resource_role(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        resource_id: &str,
        id: &str,
    ) -> Result<(), ConnectorError> {
        through!(self, ctx, |c, s| c.revoke_resource_role(
            ctx,
            &s,
            resource_id,
            id
        ))
    }

    async fn change_own_password(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        new_password: &SecretString,
    ) -> Result<(), ConnectorError> {
        through!(self, ctx, |c, s| c.change_own_password(
            ctx,
            &s,
            new_password
        ))
    }

    async fn two_factor(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<TwoFactorState, ConnectorError> {
        through!(self, ctx, |c, s| c.two_factor(ctx, &s))
    }

    async fn enable_two_factor(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<SecretString, ConnectorError> {
        through!(self, ctx, |c, s| c.enable_two_factor(ctx, &s))
    }
}
