//! Session reuse: a signed-in app session is kept per automation account (its credentials, the
//! connector and the base URL) for [`SESSION_REUSE`], so jobs in a row do not sign in again
//! (Redmine with TOTP waits up to a time step per sign-in), and one sign-in at a time runs per
//! account. The session lives in this process's memory only, as a `SecretString` (never logged,
//! wiped on drop); a changed password or token gives another key, so the old session is never
//! used with new credentials.
//!
//! A reused session the app no longer accepts (it answers `BadCredentials`) is forgotten, the
//! bot signs in once more and repeats the call: a refused call did not reach the app's data, so
//! repeating it never acts twice. A refusal right after a fresh sign-in is reported as usual.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::catalog::Capability;
use crate::connector::{
    AppMember, AppRole, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo,
    Invitation, MemberPage, ResourceGrant, ResourceMemberPage, ResourcePage, TwoFactorState,
};

/// How long a signed-in session is reused.
pub const SESSION_REUSE: Duration = Duration::minutes(10);

type Key = [u8; 32];

/// The app sessions of one process, shared by its workers.
pub(crate) struct AppSessions {
    /// A random salt: keys are hashes of credentials and must not be guessable from them.
    salt: [u8; 32],
    sessions: Mutex<HashMap<Key, (AppSession, DateTime<Utc>)>>,
    sign_ins: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for AppSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSessions").finish_non_exhaustive()
    }
}

impl Default for AppSessions {
    fn default() -> Self {
        Self {
            salt: rand::random(),
            sessions: Mutex::new(HashMap::new()),
            sign_ins: Mutex::new(HashMap::new()),
        }
    }
}

impl AppSessions {
    fn key(&self, connector: &str, ctx: &ConnectorContext) -> Key {
        let mut h = Sha256::new();
        h.update(self.salt);
        for part in [
            connector,
            &ctx.base_url,
            ctx.organization_id.as_deref().unwrap_or(""),
            &ctx.username,
            ctx.password.expose_secret(),
            ctx.api_token.as_ref().map_or("", |t| t.expose_secret()),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    }

    fn fresh(&self, key: &Key, now: DateTime<Utc>) -> Option<AppSession> {
        let mut m = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match m.get(key) {
            Some((s, at)) if now - *at < SESSION_REUSE && now >= *at => Some(s.clone()),
            Some(_) => {
                m.remove(key);
                None
            }
            None => None,
        }
    }

    /// A session for `ctx` on `c` at `now`: the kept one while it is fresh (`true`), else a new
    /// sign-in (`false`), one at a time per key (a second caller waits and reuses it).
    pub(crate) async fn get(
        &self,
        c: &dyn Connector,
        ctx: &ConnectorContext,
        now: DateTime<Utc>,
    ) -> Result<(AppSession, bool), ConnectorError> {
        let key = self.key(&c.describe().name, ctx);
        if let Some(s) = self.fresh(&key, now) {
            return Ok((s, true));
        }
        let gate = self
            .sign_ins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        let _one = gate.lock().await;
        if let Some(s) = self.fresh(&key, now) {
            return Ok((s, true));
        }
        let s = c.login(ctx).await?;
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (s.clone(), now));
        Ok((s, false))
    }

    /// Forgets the session kept for `ctx` on `connector`.
    pub(crate) fn forget(&self, connector: &str, ctx: &ConnectorContext) {
        let key = self.key(connector, ctx);
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }
}

type Call<'c, T> = Pin<Box<dyn Future<Output = Result<T, ConnectorError>> + Send + 'c>>;

/// A connector whose calls use a kept session, signing in again once when the app refuses a
/// reused one. The session passed to its methods is ignored: it holds its own.
pub(crate) struct Reusing {
    inner: Arc<dyn Connector>,
    sessions: Arc<AppSessions>,
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
        sessions: Arc<AppSessions>,
        now: DateTime<Utc>,
        session: AppSession,
        reused: bool,
    ) -> Self {
        Self {
            inner,
            sessions,
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
                self.sessions.forget(&self.inner.describe().name, ctx);
                let (fresh, _) = self.sessions.get(&*self.inner, ctx, self.now).await?;
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
