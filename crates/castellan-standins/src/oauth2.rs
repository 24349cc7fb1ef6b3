//! A stand-in OAuth 2.0 authorization server, written from RFC 6749 (the authorization-code grant,
//! §4.1, and refreshing, §6) and RFC 7636 (PKCE), for the tests of Castellan's OAuth hubs; plus a
//! tiny protected API that checks its bearer tokens (RFC 6750 §2.1).
//!
//! - `GET /authorize` (§4.1.1): approves at once for the test user and redirects to the client's
//!   registered `redirect_uri` with `code` and `state` (§4.1.2); after
//!   [`OAuth2StandIn::deny_next`], with `error=access_denied` (§4.1.2.1). An unknown client or a
//!   redirect URI other than the registered one gets a 400 page, never a redirect (§4.1.2.1).
//!   A `code_challenge` must use `S256` (RFC 7636 §4.3); a client registered as needing PKCE
//!   must send one.
//! - `POST /token` (§3.2, form body): the client authenticates with HTTP Basic or with
//!   `client_id`/`client_secret` in the body (§2.3.1), or, as a public client, with its
//!   `client_id` alone. `grant_type=authorization_code` (§4.1.3): the code is single use (a second
//!   use is `invalid_grant` and revokes what the first issued, §4.1.2), bound to its client and
//!   `redirect_uri`, and needs the `code_verifier` whose S256 is the challenge (RFC 7636 §4.6).
//!   `grant_type=refresh_token` (§6): each refresh token works once and is rotated; a revoked
//!   grant answers `invalid_grant` with an `error_description`. Errors are JSON (§5.2).
//! - `GET /api/me` and `GET /api/members`: 200 with a valid, unexpired access token, else 401
//!   with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
//!
//! The test sets the access token lifetime ([`OAuth2StandIn::set_token_lifetime`]), revokes the
//! grants ([`OAuth2StandIn::revoke_all`]) and reads what happened ([`OAuth2StandIn::stats`]).
//! Not modelled: scopes are echoed, not enforced; no consent page or user sign-in; no
//! revocation (RFC 7009) or introspection endpoints.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::kit::{spawn, Served};

/// The client the stand-in knows (RFC 6749 §2).
#[derive(Debug, Clone)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// `client_secret`; `None` for a public client.
    pub secret: Option<String>,
    /// The one registered redirect URI (compared as a whole string, §3.1.2.3).
    pub redirect_uri: String,
    /// Whether the client must use PKCE.
    pub require_pkce: bool,
}

/// What the stand-in saw, for the test's assertions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Codes issued by `/authorize`.
    pub codes_issued: usize,
    /// Codes exchanged successfully.
    pub codes_exchanged: usize,
    /// Successful refreshes.
    pub refreshes: usize,
    /// Refused token requests, by `error` code, in order.
    pub refused: Vec<String>,
    /// The PKCE challenge methods seen at `/authorize`, in order (`""` when none).
    pub challenge_methods: Vec<String>,
}

/// One issued code.
#[derive(Debug)]
struct Code {
    redirect_uri: String,
    challenge: Option<String>,
    used: bool,
    /// The grant it started, once exchanged (revoked on a second use).
    grant: Option<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    codes: HashMap<String, Code>,
    /// Valid refresh tokens, by token: their grant.
    refresh: HashMap<String, u64>,
    /// Valid access tokens, by token: their grant and expiry.
    access: HashMap<String, (u64, Instant)>,
    revoked: Vec<u64>,
    next_grant: u64,
    deny_next: bool,
    lifetime: Option<Duration>,
    /// Whether token responses leave `expires_in` out (RFC 6749 §5.1: it is RECOMMENDED).
    silent_lifetime: bool,
    stats: Stats,
    /// The refresh token last issued.
    last_refresh: Option<String>,
    /// The access token last issued.
    last_access: Option<String>,
}

#[derive(Debug, Clone)]
struct Shared {
    client: Client,
    inner: Arc<Mutex<Inner>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running stand-in authorization server.
#[derive(Debug, Clone)]
pub struct OAuth2StandIn {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    shared: Shared,
}

/// The access token lifetime unless the test sets another: one hour.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

impl OAuth2StandIn {
    /// Serves the stand-in for `client` on a loopback port.
    pub fn start(client: Client) -> Self {
        let shared = Shared {
            client,
            inner: Arc::default(),
        };
        let router = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/api/me", get(me))
            .route("/api/members", get(members))
            .with_state(shared.clone());
        let Served { base_url } = spawn(router);
        Self { base_url, shared }
    }

    /// `<base>/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/authorize", self.base_url)
    }

    /// `<base>/token`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url)
    }

    /// Access tokens issued from now on live `lifetime` (`expires_in` says so).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().lifetime = Some(lifetime);
    }

    /// Token responses from now on leave `expires_in` out (the tokens still expire).
    pub fn omit_expires_in(&self) {
        self.shared.lock().silent_lifetime = true;
    }

    /// Every access token issued so far stops working, as at its expiry; refresh tokens stay
    /// valid.
    pub fn expire_access_tokens(&self) {
        self.shared.lock().access.clear();
    }

    /// The next `/authorize` is refused by the "user" (`error=access_denied`).
    pub fn deny_next(&self) {
        self.shared.lock().deny_next = true;
    }

    /// Revokes every grant: their refresh and access tokens stop working.
    pub fn revoke_all(&self) {
        let mut g = self.shared.lock();
        g.refresh.clear();
        g.access.clear();
        let all: Vec<u64> = (1..=g.next_grant).collect();
        g.revoked = all;
    }

    /// What the stand-in saw.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// The refresh token issued last (to compare with what Castellan kept).
    pub fn last_refresh_token(&self) -> Option<String> {
        self.shared.lock().last_refresh.clone()
    }

    /// The access token issued last (to look for it where it must not be).
    pub fn last_access_token(&self) -> Option<String> {
        self.shared.lock().last_access.clone()
    }
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{prefix}-{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A token endpoint error (RFC 6749 §5.2): 400 (401 for `invalid_client`) with JSON.
fn refuse(s: &Shared, error: &str, description: &str) -> Response {
    s.lock().stats.refused.push(error.to_owned());
    let status = match error {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = json!({ "error": error, "error_description": description });
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// `uri` with query `pairs` appended (form-encoded, §4.1.2 keeps the URI's own query).
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

async fn authorize(State(s): State<Shared>, Query(q): Query<AuthorizeQuery>) -> Response {
    // §4.1.2.1: a bad client or redirect URI is told to the user, never redirected.
    if q.client_id.as_deref() != Some(s.client.id.as_str()) {
        return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
    }
    let redirect = q
        .redirect_uri
        .clone()
        .unwrap_or_else(|| s.client.redirect_uri.clone());
    if redirect != s.client.redirect_uri {
        return (StatusCode::BAD_REQUEST, "redirect_uri is not registered").into_response();
    }
    let state = q.state.clone().unwrap_or_default();
    let back = |pairs: &[(&str, &str)]| {
        let mut all = pairs.to_vec();
        if !state.is_empty() {
            all.push(("state", &state));
        }
        Redirect::to(&with_query(&redirect, &all)).into_response()
    };
    let method = q.code_challenge_method.clone().unwrap_or_default();
    s.lock().stats.challenge_methods.push(method.clone());
    if q.response_type.as_deref() != Some("code") {
        return back(&[("error", "unsupported_response_type")]);
    }
    let challenge = q.code_challenge.clone().filter(|c| !c.is_empty());
    match (&challenge, method.as_str()) {
        (None, _) if s.client.require_pkce => {
            return back(&[
                ("error", "invalid_request"),
                ("error_description", "PKCE required"),
            ])
        }
        (Some(_), m) if m != "S256" => {
            return back(&[
                ("error", "invalid_request"),
                ("error_description", "transform algorithm not supported"),
            ])
        }
        _ => {}
    }
    let denied = std::mem::take(&mut s.lock().deny_next);
    if denied {
        return back(&[
            ("error", "access_denied"),
            ("error_description", "The user denied the request"),
        ]);
    }
    let code = random_token("code");
    {
        let mut g = s.lock();
        g.codes.insert(
            code.clone(),
            Code {
                redirect_uri: redirect.clone(),
                challenge,
                used: false,
                grant: None,
            },
        );
        g.stats.codes_issued += 1;
    }
    back(&[("code", &code)])
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Decodes a form-encoded component (`+` is a space; RFC 6749 §2.3.1 encodes Basic's parts).
fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Checks the client's authentication (RFC 6749 §2.3.1): HTTP Basic (form-encoded id and
/// secret), or the body's `client_id` and `client_secret`; a public client gives its id alone.
fn client_ok(s: &Shared, headers: &HeaderMap, f: &TokenForm) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|p| {
            p.split_once(':')
                .map(|(i, s)| (form_decode(i), form_decode(s)))
        });
    let (id, secret) = match basic {
        Some((i, sec)) => (Some(i), Some(sec)),
        None => (f.client_id.clone(), f.client_secret.clone()),
    };
    id.as_deref() == Some(s.client.id.as_str()) && secret == s.client.secret
}

/// Issues an access and a refresh token for `grant`.
fn issue(g: &mut Inner, grant: u64) -> Response {
    let lifetime = g.lifetime.unwrap_or(DEFAULT_LIFETIME);
    let (access, refresh) = (random_token("at"), random_token("rt"));
    g.access
        .insert(access.clone(), (grant, Instant::now() + lifetime));
    g.refresh.insert(refresh.clone(), grant);
    g.last_refresh = Some(refresh.clone());
    g.last_access = Some(access.clone());
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "refresh_token": refresh,
    });
    if g.silent_lifetime {
        body.as_object_mut().map(|o| o.remove("expires_in"));
    }
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}

async fn token(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Response {
    if !client_ok(&s, &headers, &f) {
        return refuse(&s, "invalid_client", "client authentication failed");
    }
    match f.grant_type.as_deref() {
        Some("authorization_code") => exchange(&s, &f),
        Some("refresh_token") => refresh(&s, &f),
        _ => refuse(
            &s,
            "unsupported_grant_type",
            "only authorization_code and refresh_token",
        ),
    }
}

fn exchange(s: &Shared, f: &TokenForm) -> Response {
    let mut g = s.lock();
    let Some(code) = f.code.as_deref().and_then(|c| g.codes.get_mut(c)) else {
        drop(g);
        return refuse(s, "invalid_grant", "unknown authorization code");
    };
    if code.used {
        // §4.1.2: a code used twice revokes what it gave.
        let grant = code.grant;
        if let Some(grant) = grant {
            g.refresh.retain(|_, v| *v != grant);
            g.access.retain(|_, (v, _)| *v != grant);
            g.revoked.push(grant);
        }
        drop(g);
        return refuse(s, "invalid_grant", "authorization code already used");
    }
    code.used = true;
    if f.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
        drop(g);
        return refuse(s, "invalid_grant", "redirect_uri does not match");
    }
    if let Some(challenge) = code.challenge.clone() {
        let Some(verifier) = f.code_verifier.as_deref() else {
            drop(g);
            return refuse(s, "invalid_grant", "code_verifier missing");
        };
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if computed != challenge {
            drop(g);
            return refuse(s, "invalid_grant", "code_verifier does not match");
        }
    }
    g.next_grant += 1;
    let grant = g.next_grant;
    if let Some(c) = f.code.as_deref().and_then(|c| g.codes.get_mut(c)) {
        c.grant = Some(grant);
    }
    g.stats.codes_exchanged += 1;
    issue(&mut g, grant)
}

fn refresh(s: &Shared, f: &TokenForm) -> Response {
    let mut g = s.lock();
    let token = f.refresh_token.clone().unwrap_or_default();
    let Some(grant) = g.refresh.remove(&token) else {
        drop(g);
        return refuse(
            s,
            "invalid_grant",
            "The refresh token is invalid, expired or revoked",
        );
    };
    g.stats.refreshes += 1;
    issue(&mut g, grant)
}

/// Whether the request carries a valid, unexpired bearer token of a grant not revoked.
fn bearer_ok(s: &Shared, headers: &HeaderMap) -> bool {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let g = s.lock();
    matches!(token.and_then(|t| g.access.get(t)),
        Some((grant, until)) if *until > Instant::now() && !g.revoked.contains(grant))
}

/// The 401 of a missing or invalid bearer token (RFC 6750 §3.1).
fn invalid_token() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        Json(json!({ "error": "invalid_token" })),
    )
        .into_response()
}

async fn me(State(s): State<Shared>, headers: HeaderMap) -> Response {
    if !bearer_ok(&s, &headers) {
        return invalid_token();
    }
    Json(json!({ "id": "u-admin", "email": "admin@vendor.test", "role": "admin" })).into_response()
}

async fn members(State(s): State<Shared>, headers: HeaderMap) -> Response {
    if !bearer_ok(&s, &headers) {
        return invalid_token();
    }
    Json(json!({ "members": [
        { "id": "u-admin", "email": "admin@vendor.test", "role": "admin" },
        { "id": "u-ana", "email": "ana@example.com", "role": "member" },
    ]}))
    .into_response()
}
