//! The access token of an OAuth 2.0 hub before each job: the kept one while it has more than
//! [`REFRESH_MARGIN`] to live, else a refreshed one (RFC 6749 §6).
//!
//! One refresh at a time per grant, across workers and instances: a worker claims the refresh
//! in the store at the grant's version, refreshes, and writes the new tokens only if its claim
//! still holds at that version (compare-and-set); others wait and read what it wrote. So a
//! rotated refresh token is used once, never by two workers (vendors that detect reuse of a
//! rotated refresh token revoke the whole grant). A vendor that rotates nothing keeps the old
//! refresh token.
//!
//! A refusal of the refresh (`invalid_grant`: revoked or expired) is `BadCredentials` with the
//! vendor's `error_description`, which the job's end turns into `review_service_account`.
//!
//! An access token the vendor gave without a lifetime is used until the app refuses it at
//! sign-in; the bot then refreshes once ([`Bot::oauth2_token`] with `force`) and signs in
//! again. The refresh itself, from the token request to keeping the new tokens, runs as its own
//! task: a job cancelled meanwhile (shutdown, a lost lease) cannot drop a rotated refresh token
//! that the vendor has already issued and the old one no longer works.

use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};

use super::{Bot, Failure};
use crate::connector::oauth2::{OAuth2Config, REFRESH_MARGIN};
use crate::connector::ConnectorError;
use crate::error::CoreError;
use crate::hub::{Hub, HubId};
use crate::model::AccountRecord;
use crate::ports::KeptOAuth2Grant;
use crate::service::hubs::{expiry, grant_scope, SealedTokens};
use crate::service::Castellan;

/// How long a refresh claim holds: longer than one token request may take.
const REFRESH_CLAIM: Duration = Duration::seconds(60);

/// How long (real time) a worker waits for another's refresh before giving up for this attempt.
const REFRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(90);

/// How often a waiting worker looks for the other's refresh.
const REFRESH_POLL: std::time::Duration = std::time::Duration::from_millis(200);

impl Bot {
    /// The access token for `hub`'s job: kept, or refreshed as the [module](self) says; with
    /// `force`, the kept one was just refused by the app and is refreshed unless another worker
    /// already did.
    ///
    /// Errors: `BadCredentials` when the hub was never connected with OAuth, when the vendor
    /// refuses the refresh (its reason), or when the token expired (or was refused) with no
    /// refresh token; `Unavailable` (retried) when the vendor cannot be reached or another
    /// worker's refresh takes too long; `Configuration` for incomplete settings.
    pub(super) async fn oauth2_token(
        &self,
        hub: &Hub,
        force: bool,
    ) -> Result<SecretString, Failure> {
        let svc = &self.svc;
        let (_, cfg) = svc
            .oauth2_config(hub)
            .await
            .map_err(|e| ConnectorError::Configuration(e.to_string()))?;
        let acc = svc
            .store
            .account(hub.automation_account_id)
            .await?
            .ok_or(CoreError::NotFound { kind: "account" })?;
        let scope = grant_scope(&cfg);
        let holder = format!("{}/{}", svc.app_sessions.holder, self.cfg.worker_id);
        let started = tokio::time::Instant::now();
        // The version whose access token the app refused: any later one is fresh.
        let mut refused: Option<i64> = None;
        loop {
            let grant = svc.store.oauth2_grant(acc.id, &scope).await?.ok_or_else(|| {
                ConnectorError::BadCredentials(
                    "the hub is not connected with the app yet: use \"Connect with the app\" on the hub's page".into(),
                )
            })?;
            if force && refused.is_none() {
                refused = Some(grant.version);
            }
            let tokens = svc.open_grant(acc.vault_id, &grant).await?;
            let now = self.now();
            let fresh = grant.expires_at.is_none_or(|at| at > now + REFRESH_MARGIN)
                && refused != Some(grant.version);
            if fresh {
                return Ok(SecretString::from(tokens.access_token));
            }
            let Some(refresh) = tokens.refresh_token.map(SecretString::from) else {
                if refused.is_none() && grant.expires_at.is_some_and(|at| at > now) {
                    return Ok(SecretString::from(tokens.access_token));
                }
                return Err(ConnectorError::BadCredentials(
                    "the OAuth access token expired or was refused, and the app gave no refresh token: connect with the app again".into(),
                )
                .into());
            };
            let claimed = svc
                .store
                .claim_oauth2_refresh(
                    acc.id,
                    &scope,
                    grant.version,
                    &holder,
                    now,
                    now + REFRESH_CLAIM,
                )
                .await?;
            if !claimed {
                if started.elapsed() >= REFRESH_WAIT {
                    return Err(ConnectorError::Unavailable(
                        "another worker's OAuth token refresh is taking long".into(),
                    )
                    .into());
                }
                tokio::time::sleep(REFRESH_POLL).await;
                continue;
            }
            let task = Refresh {
                svc: svc.clone(),
                hub: hub.id,
                acc,
                cfg,
                scope,
                holder,
                refresh,
                version: grant.version,
            };
            // Not cancelled with this job: see the module's docs.
            return tokio::spawn(task.run())
                .await
                .map_err(|e| CoreError::Internal(format!("the OAuth refresh task failed: {e}")))?;
        }
    }
}

/// One claimed refresh of a grant at `version`, run to its end.
struct Refresh {
    svc: Castellan,
    hub: HubId,
    acc: AccountRecord,
    cfg: OAuth2Config,
    scope: String,
    holder: String,
    refresh: SecretString,
    version: i64,
}

impl Refresh {
    /// Asks the vendor for new tokens and keeps them under the claim; releases the claim when
    /// the vendor refuses. Returns the new access token.
    async fn run(self) -> Result<SecretString, Failure> {
        let Self {
            svc,
            hub,
            acc,
            cfg,
            scope,
            holder,
            refresh,
            version,
        } = self;
        let secret = svc.oauth2_client_secret(&acc).await?;
        let client = svc
            .oauth2_client()
            .map_err(|e| ConnectorError::Configuration(e.to_string()))?;
        let new = match client.refresh(&cfg, secret.as_ref(), &refresh).await {
            Ok(new) => new,
            Err(e) => {
                if let Err(r) = svc
                    .store
                    .release_oauth2_refresh(acc.id, &scope, &holder)
                    .await
                {
                    tracing::warn!(error = %r, "releasing the OAuth refresh claim failed");
                }
                return Err(e.into());
            }
        };
        let now = svc.now();
        let sealed = SealedTokens {
            access_token: new.access_token.expose_secret().to_owned(),
            // RFC 6749 §6: without a new refresh token the old one stays valid.
            refresh_token: Some(
                new.refresh_token
                    .as_ref()
                    .unwrap_or(&refresh)
                    .expose_secret()
                    .to_owned(),
            ),
        };
        let mut next: KeptOAuth2Grant = svc
            .seal_grant(&acc, &scope, &sealed, expiry(&new, now), now)
            .await?;
        next.version = version + 1;
        if !svc.store.swap_oauth2_grant(&next, &holder).await? {
            // Our claim ran out mid-refresh and another worker refreshed: the vendor may
            // have rotated twice; the kept grant is the other worker's.
            tracing::error!(hub_id = %hub, "an OAuth refresh claim ran out; the refreshed tokens were not kept");
            return Err(ConnectorError::Unavailable(
                "the OAuth token refresh raced another worker; retrying".into(),
            )
            .into());
        }
        tracing::info!(hub_id = %hub, rotated = new.refresh_token.is_some(), expires_at = ?next.expires_at, "refreshed the OAuth access token");
        Ok(new.access_token)
    }
}
