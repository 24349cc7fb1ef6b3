//! "Connect with <app>": the hub wizard's OAuth 2.0 step (authorization code, RFC 6749 §4.1,
//! with PKCE where the vendor supports it, RFC 7636), and the sealing of the grant's tokens.
//!
//! [`Hubs::start_oauth2`] makes the authorization request and keeps its `state` (hashed) and PKCE
//! verifier (sealed) server-side for [`FLOW_TTL`], bound to the admin and their session;
//! [`Hubs::finish_oauth2`] takes that request once (a replayed callback finds nothing), checks it
//! is the same admin in the same session and in time, exchanges the code and keeps the tokens
//! sealed under the automation account's vault data key ([`crate::ports::OAuth2Store`]), then
//! queues the hub's first check for updates. The bot refreshes them before its jobs
//! (`service/bot/oauth2.rs`).

use std::sync::Arc;

use castellan_crypto::field_aad;
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::activity::{ActivityAction, NewEvent};
use crate::connector::oauth2::{
    OAuth2Client, OAuth2Config, OAuth2Tokens, OAUTH2_CLIENT_SECRET, OAUTH2_REDIRECT_URI,
};
use crate::connector::{ConnectorError, ConnectorInfo, SignIn};
use crate::error::{CoreError, CoreResult};
use crate::hub::{Hub, HubId, HubStatus, Trigger};
use crate::model::AccountRecord;
use crate::permissions::{can, ItemAction, Permit};
use crate::ports::{KeptOAuth2Grant, OAuth2Flow};
use crate::service::{Castellan, Hubs};
use crate::validate;

/// How long an authorization request may take (the admin at the vendor's consent page).
pub const FLOW_TTL: Duration = Duration::minutes(10);

/// Hex SHA-256 of length-prefixed parts.
fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The grant's key for `cfg`: its client id and token endpoint.
pub(crate) fn grant_scope(cfg: &OAuth2Config) -> String {
    digest(&["oauth2", &cfg.client_id, &cfg.token_url])
}

/// What is sealed in a grant.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct SealedTokens {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
}

/// What the vendor answered at the callback when it did not give a code (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone)]
pub struct OAuth2Refusal {
    /// The `error` code, e.g. `access_denied`.
    pub error: String,
    /// The `error_description`, if any.
    pub description: Option<String>,
}

impl Castellan {
    /// The OAuth 2.0 client of the connectors adapter. `Conflict` when this build has none.
    pub(crate) fn oauth2_client(&self) -> CoreResult<Arc<dyn OAuth2Client>> {
        self.connectors
            .as_ref()
            .and_then(|r| r.oauth2())
            .ok_or_else(|| {
                CoreError::Conflict("this build of Castellan has no OAuth client".into())
            })
    }

    /// The hub's connector declaration and OAuth config. `Validation` when its connector does
    /// not sign in with OAuth 2.0 or a setting is missing.
    pub(crate) async fn oauth2_config(
        &self,
        hub: &Hub,
    ) -> CoreResult<(ConnectorInfo, OAuth2Config)> {
        let app = self.app_of(hub).await?;
        let info = self
            .connector_info(&app, hub.connector.as_deref())
            .filter(|i| i.sign_in == SignIn::OAuth2)
            .ok_or_else(|| {
                CoreError::invalid("hub", "this hub's connector does not sign in with OAuth")
            })?;
        let cfg = OAuth2Config::from_schema(&info.settings, &hub.settings)
            .map_err(|e| CoreError::invalid("settings", e.to_string()))?;
        Ok((info, cfg))
    }

    /// The automation account's client secret (its secret custom field), if it holds one.
    pub(crate) async fn oauth2_client_secret(
        &self,
        acc: &AccountRecord,
    ) -> CoreResult<Option<SecretString>> {
        let key = crate::service::accounts::custom_field_key(OAUTH2_CLIENT_SECRET);
        Ok(self
            .open_fields(acc)
            .await?
            .into_iter()
            .find(|(f, _)| *f == key)
            .map(|(_, v)| SecretString::from(v)))
    }

    /// `tokens` sealed for `acc` and `scope`, as a grant at version 0 (the store sets it),
    /// expiring `expires_in` after `now`.
    pub(crate) async fn seal_grant(
        &self,
        acc: &AccountRecord,
        scope: &str,
        tokens: &SealedTokens,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> CoreResult<KeptOAuth2Grant> {
        let (dek_id, dek) = self.data_key(acc.vault_id).await?;
        let plain = Zeroizing::new(serde_json::to_vec(tokens).map_err(CoreError::internal)?);
        let aad = field_aad("oauth2_grants", &acc.id.to_string(), scope);
        Ok(KeptOAuth2Grant {
            account_id: acc.id,
            scope: scope.to_owned(),
            dek_id,
            ciphertext: dek.seal(&plain, &aad),
            expires_at,
            version: 0,
            updated_at: now,
        })
    }

    /// The tokens sealed in `g` (kept for an account of `vault`). `Internal` when they do not
    /// open (another key, a tampered row).
    pub(crate) async fn open_grant(
        &self,
        vault: crate::ids::VaultId,
        g: &KeptOAuth2Grant,
    ) -> CoreResult<SealedTokens> {
        let (dek_id, dek) = self.data_key(vault).await?;
        if dek_id != g.dek_id {
            return Err(CoreError::Internal(
                "an OAuth grant under an old data key".into(),
            ));
        }
        let aad = field_aad("oauth2_grants", &g.account_id.to_string(), &g.scope);
        let plain = Zeroizing::new(
            dek.open(&g.ciphertext, &aad)
                .map_err(|_| CoreError::Internal("an OAuth grant does not open".into()))?,
        );
        serde_json::from_slice(&plain).map_err(CoreError::internal)
    }
}

/// When tokens with `expires_in` expire, from `now`.
pub(crate) fn expiry(tokens: &OAuth2Tokens, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let secs = tokens.expires_in?.as_secs().min(10 * 365 * 86_400) as i64;
    Some(now + Duration::seconds(secs))
}

/// The associated data of a flow's sealed PKCE verifier: the flow and the client it was
/// started for (client id and token endpoint, [`grant_scope`]), so that a code is exchanged
/// only where the authorization was asked for. Settings changed in between leave the verifier
/// unopenable, and the admin starts again.
fn verifier_aad(state_hash: &str, cfg: &OAuth2Config) -> Vec<u8> {
    field_aad(
        "oauth2_flows",
        state_hash,
        &format!("verifier {}", grant_scope(cfg)),
    )
}

/// The hash that binds a flow to the admin's session (their token id).
fn session_hash(actor: &crate::activity::Actor) -> CoreResult<String> {
    let token = actor.token_id.ok_or_else(|| {
        CoreError::Unauthenticated("connecting with OAuth needs a signed-in session".into())
    })?;
    Ok(digest(&["session", &token.to_string()]))
}

/// A vendor's refusal as plain text: clipped, without control characters.
fn refusal_text(r: &OAuth2Refusal) -> String {
    let code = validate::clip(&r.error);
    match r
        .description
        .as_deref()
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
    {
        Some(d) => {
            let d: String = d.chars().take(300).filter(|c| !c.is_control()).collect();
            format!("{code}: {d}")
        }
        None => code,
    }
}

impl Hubs<'_> {
    /// Starts "Connect with <app>" for hub `id`: returns the vendor's authorization URL to send
    /// the admin's browser to. `default_redirect_uri` is the server's callback URL, used unless
    /// the hub sets `oauth2_redirect_uri`. The request is kept for [`FLOW_TTL`] and can be
    /// finished once, by the same admin in the same session. Needs `HubManage` and the right to
    /// reveal the automation account's secrets (the grant will be kept with them).
    ///
    /// Errors: `Validation` when the hub's connector does not sign in with OAuth or its
    /// settings are incomplete; `Conflict` when this build has no OAuth client.
    pub async fn start_oauth2(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        default_redirect_uri: &str,
    ) -> CoreResult<String> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        let (acc, _) = self
            .account_for(actor, hub.automation_account_id, ItemAction::Reveal)
            .await?;
        let (_, cfg) = self.oauth2_config(&hub).await?;
        let client = self.oauth2_client()?;
        let redirect = match hub.settings.get(OAUTH2_REDIRECT_URI).map(|v| v.trim()) {
            Some(v) if !v.is_empty() => v.to_owned(),
            _ => default_redirect_uri.to_owned(),
        };
        validate::http_url("redirect_uri", &redirect)?;
        let req = client
            .authorization_request(&cfg, &redirect)
            .map_err(|e| CoreError::invalid("settings", e.to_string()))?;
        let state_hash = digest(&["state", req.state.expose_secret()]);
        let (dek_id, dek) = self.data_key(acc.vault_id).await?;
        let verifier = req.verifier.as_ref().map_or("", |v| v.expose_secret());
        let aad = verifier_aad(&state_hash, &cfg);
        let now = self.now();
        let person_id = actor
            .person_id
            .ok_or_else(|| CoreError::Forbidden("only a person can connect with OAuth".into()))?;
        self.store
            .insert_oauth2_flow(&OAuth2Flow {
                state_hash,
                hub_id: hub.id,
                person_id,
                session_hash: session_hash(actor)?,
                redirect_uri: redirect,
                dek_id,
                sealed_verifier: dek.seal(verifier.as_bytes(), &aad),
                created_at: now,
                expires_at: now + FLOW_TTL,
            })
            .await?;
        Ok(req.url)
    }

    /// Finishes "Connect with <app>" at the callback: `state` as the vendor sent it back, and
    /// its `code` or its refusal. Takes the request (once), checks the admin, session and
    /// expiry, exchanges the code (with the PKCE verifier), keeps the tokens sealed with the
    /// automation account, and queues a check for updates. Returns the hub. Needs `HubManage`.
    ///
    /// Errors (`Validation`, with a sentence for the admin): `state` unknown, used or expired;
    /// started by someone else or in another session; the vendor's refusal (`access_denied`…);
    /// the vendor refusing the code. `Unavailable` when the vendor cannot be reached.
    pub async fn finish_oauth2(
        &self,
        permit: &Permit<can::HubManage>,
        state: &str,
        outcome: Result<SecretString, OAuth2Refusal>,
    ) -> CoreResult<Hub> {
        let actor = permit.actor();
        let state_hash = digest(&["state", state.trim()]);
        let again = "start Connect with the app again from the hub's page";
        let flow = self
            .store
            .take_oauth2_flow(&state_hash, &session_hash(actor)?)
            .await?
            .ok_or_else(|| {
                CoreError::invalid(
                    "state",
                    format!("this authorization is unknown, was already used, or was started in another session: {again}"),
                )
            })?;
        if Some(flow.person_id) != actor.person_id {
            return Err(CoreError::invalid(
                "state",
                format!("this authorization was started by someone else: {again}"),
            ));
        }
        let now = self.now();
        if now >= flow.expires_at {
            return Err(CoreError::invalid(
                "state",
                format!("this authorization expired: {again}"),
            ));
        }
        let mut hub = self.hub_record(flow.hub_id).await?;
        let code = outcome.map_err(|r| {
            CoreError::invalid(
                "error",
                format!("the app did not authorize Castellan ({})", refusal_text(&r)),
            )
        })?;
        let (acc, _) = self
            .account_for(actor, hub.automation_account_id, ItemAction::Reveal)
            .await?;
        let (_, cfg) = self.oauth2_config(&hub).await?;
        let (dek_id, dek) = self.data_key(acc.vault_id).await?;
        if dek_id != flow.dek_id {
            return Err(CoreError::invalid(
                "state",
                format!("this authorization expired: {again}"),
            ));
        }
        let aad = verifier_aad(&flow.state_hash, &cfg);
        let verifier = Zeroizing::new(dek.open(&flow.sealed_verifier, &aad).map_err(|_| {
            CoreError::invalid(
                "state",
                format!("the hub's OAuth client or token URL changed since this authorization started: {again}"),
            )
        })?);
        let verifier = match verifier.is_empty() {
            true => None,
            false => Some(SecretString::from(
                String::from_utf8(verifier.to_vec()).map_err(CoreError::internal)?,
            )),
        };
        let secret = self.oauth2_client_secret(&acc).await?;
        let tokens = self
            .oauth2_client()?
            .exchange_code(
                &cfg,
                secret.as_ref(),
                &flow.redirect_uri,
                &code,
                verifier.as_ref(),
            )
            .await
            .map_err(|e| match e {
                // The code is spent either way (single use): the admin starts again.
                e @ (ConnectorError::Unavailable(_) | ConnectorError::RateLimited { .. }) => {
                    CoreError::Conflict(format!("{e}: {again}"))
                }
                other => CoreError::invalid(
                    "code",
                    format!("the app refused to give Castellan its tokens ({other}): {again}"),
                ),
            })?;
        let sealed = SealedTokens {
            access_token: tokens.access_token.expose_secret().to_owned(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
        };
        let scope = grant_scope(&cfg);
        let grant = self
            .seal_grant(&acc, &scope, &sealed, expiry(&tokens, now), now)
            .await?;
        self.store.put_oauth2_grant(&grant).await?;
        hub.status = HubStatus::UnderValidation;
        hub.status_reason = Some("validating the automation account".into());
        hub.updated_at = now;
        let ev = NewEvent::new(actor, ActivityAction::HubOAuthConnect, now)
            .target("hub", hub.id, &hub.label)
            .details(serde_json::json!({
                "automation_account_id": acc.id,
                "pkce": cfg.pkce,
                "refresh_token": sealed.refresh_token.is_some(),
            }));
        self.store.update_hub(&hub, Some(&ev)).await?;
        let job = self.sync_job(hub.id, Trigger::Connect, actor, false);
        self.store.enqueue(std::slice::from_ref(&job), None).await?;
        Ok(hub)
    }
}
