//! OAuth 2.0 hubs end to end, in process (issue 14): Castellan's own routes (the web app's
//! "Connect with <app>", its callback and finish), the SDK's OAuth client, the bot, and the
//! SQLite store, against the stand-in authorization server (`castellan_standins::oauth2`, written
//! from RFC 6749 and RFC 7636).
//!
//! - (a) the authorization code with PKCE: start → the vendor's authorize → callback → finish;
//!   the tokens are kept sealed (no token in the database file), the code and the state work
//!   once, a refusal (`access_denied`) and a replay show what to do;
//! - (b) refresh before expiry: access tokens that live less than the refresh margin are
//!   refreshed before each job, and the rotated refresh token is the one kept (the next refresh
//!   works only with it);
//! - (c) a revoked grant: the next job leaves the hub in `review_service_account` with the
//!   vendor's reason.
//!
//! The app is the catalog's `synapse` entry, its connector replaced by [`VendorConnector`], a
//! minimal connector that signs in with OAuth and lists the stand-in's members with the bearer
//! token. `cargo test -p castellan --test oauth2_hub`

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use castellan_connectors::sdk::oauth2::OAuth2Http;
use castellan_core::connector::oauth2::{self, OAuth2Client, OAuth2Spec};
use castellan_core::connector::settings::{allow_private, SettingField, SettingKind, BASE_URL};
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo,
    ConnectorRegistry, Invitation, MemberPage, MemberState, SignIn,
};
use castellan_core::service::{Bot, BotConfig};
use castellan_core::{Castellan, StaticKeys};
use castellan_crypto::Keyring;
use castellan_standins::oauth2::{Client, OAuth2StandIn};
use http_body_util::BodyExt;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tower::ServiceExt;

const CLIENT_ID: &str = "castellan-client";
const CLIENT_SECRET: &str = "client-secret-5b1d";
/// The host the test's requests name; the callback URL derives from it.
const HOST: &str = "castellan.test";
const REDIRECT: &str = "http://castellan.test/oauth2/callback";
const PASSWORD: &str = "correct horse battery staple";

/// A minimal connector on OAuth: the bearer token is the context's `api_token`.
#[derive(Debug, Default)]
struct VendorConnector;

impl VendorConnector {
    async fn get(ctx: &ConnectorContext, path: &str) -> Result<Value, ConnectorError> {
        let token = ctx
            .api_token
            .as_ref()
            .ok_or_else(|| ConnectorError::BadCredentials("no access token".into()))?;
        let r = reqwest::Client::new()
            .get(format!("{}{path}", ctx.base_url))
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| ConnectorError::Unavailable(e.to_string()))?;
        match r.status().as_u16() {
            200 => r
                .json()
                .await
                .map_err(|e| ConnectorError::AppChanged(e.to_string())),
            401 => Err(ConnectorError::BadCredentials(
                "the app refused the access token".into(),
            )),
            s => Err(ConnectorError::Unavailable(format!("status {s}"))),
        }
    }
}

#[async_trait]
impl Connector for VendorConnector {
    fn describe(&self) -> ConnectorInfo {
        let mut settings = vec![SettingField::new(
            BASE_URL,
            "Base URL",
            SettingKind::Url,
            true,
        )];
        settings.extend(oauth2::fields(&OAuth2Spec {
            authorize_url: None,
            token_url: None,
            scopes: "users:read users:write".into(),
            pkce: true,
        }));
        // A self-hosted app's: its authorization server may be on loopback (the stand-in).
        settings.push(allow_private());
        ConnectorInfo {
            name: "synapse".into(),
            roles: vec!["admin".into(), "member".into()],
            capabilities: vec![],
            default_role: "member".into(),
            sign_in: SignIn::OAuth2,
            settings,
        }
    }
    async fn login(&self, ctx: &ConnectorContext) -> Result<AppSession, ConnectorError> {
        Self::get(ctx, "/api/me").await?;
        Ok(AppSession {
            token: ctx.api_token.clone().unwrap_or_default(),
            data: json!({}),
        })
    }
    async fn verify_permissions(
        &self,
        ctx: &ConnectorContext,
        _: &AppSession,
    ) -> Result<(), ConnectorError> {
        Self::get(ctx, "/api/me").await.map(drop)
    }
    async fn list_members(
        &self,
        ctx: &ConnectorContext,
        _: &AppSession,
        _: Option<String>,
    ) -> Result<MemberPage, ConnectorError> {
        let v = Self::get(ctx, "/api/members").await?;
        let members = v["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| AppMember {
                app_member_id: m["id"].as_str().unwrap_or_default().into(),
                email: m["email"].as_str().map(str::to_owned),
                name: None,
                roles: vec![m["role"].as_str().unwrap_or_default().into()],
                state: MemberState::Active,
            })
            .collect();
        Ok(MemberPage {
            members,
            next: None,
        })
    }
    async fn get_member(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        Ok(None)
    }
    async fn find_by_email(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        Ok(None)
    }
    async fn invite(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &Invitation,
    ) -> Result<AppMember, ConnectorError> {
        Err(ConnectorError::Unsupported(
            "read-only test connector".into(),
        ))
    }
    async fn update_role(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &str,
        _: &str,
    ) -> Result<AppMember, ConnectorError> {
        Err(ConnectorError::Unsupported(
            "read-only test connector".into(),
        ))
    }
    async fn remove(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &str,
    ) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported(
            "read-only test connector".into(),
        ))
    }
}

/// The test's registry: the vendor connector under `synapse`, and the SDK's OAuth client.
#[derive(Debug)]
struct Registry(Arc<OAuth2Http>);

impl ConnectorRegistry for Registry {
    fn connector(&self, name: &str) -> Option<Arc<dyn Connector>> {
        (name == "synapse").then(|| Arc::new(VendorConnector) as Arc<dyn Connector>)
    }
    fn oauth2(&self) -> Option<Arc<dyn OAuth2Client>> {
        Some(self.0.clone())
    }
}

/// A response, read whole.
struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Resp {
    fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                let (k, val) = v.split(';').next()?.split_once('=')?;
                (k == name && !val.is_empty()).then(|| val.to_owned())
            })
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }
}

/// The value of the first hidden input `name`.
fn hidden(html: &str, name: &str) -> String {
    let needle = format!("type=\"hidden\" name=\"{name}\" value=\"");
    let at = html.find(&needle).expect("a hidden field") + needle.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// One Castellan over its own SQLite file, its owner signed in on the API and in a browser,
/// a hub on the stand-in, and a bot worker.
struct World {
    router: axum::Router,
    db: std::path::PathBuf,
    token: String,
    cookie: String,
    csrf: String,
    hub: String,
    account: String,
    vendor: OAuth2StandIn,
    bot: Bot,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new(lifetime: Duration) -> Self {
        let vendor = OAuth2StandIn::start(Client {
            id: CLIENT_ID.into(),
            secret: Some(CLIENT_SECRET.into()),
            redirect_uri: REDIRECT.into(),
            require_pkce: true,
        });
        vendor.set_token_lifetime(lifetime);
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.db");
        let store = castellan_store::SqlStore::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let registry = Arc::new(Registry(Arc::new(OAuth2Http::default())));
        let svc = Castellan::new(
            Arc::new(store),
            Arc::new(StaticKeys(Arc::new(Keyring::generate()))),
        )
        .unwrap()
        .with_connectors(registry.clone());
        let setup = svc.sessions().init("Test").await.unwrap().unwrap();
        let (router, _) =
            castellan_server::router_and_openapi(castellan_server::AppState::new(svc.clone()));
        let bot = Bot::new(
            svc.clone(),
            registry,
            BotConfig {
                worker_id: "oauth-test-worker".into(),
                lease: chrono::Duration::seconds(30),
                poll: Duration::from_millis(50),
                backoff_base: chrono::Duration::seconds(1),
            },
        );
        let mut w = Self {
            router,
            db,
            token: String::new(),
            cookie: String::new(),
            csrf: String::new(),
            hub: String::new(),
            account: String::new(),
            vendor,
            bot,
            _dir: dir,
        };
        let claim = json!({ "setup_token": setup.expose_secret(), "email": "owner@example.com",
            "name": "Olive Owner", "password": PASSWORD });
        let r = w.api("POST", "/api/v1/setup/claim", Some(claim)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        w.token = r.json()["token"].as_str().unwrap().to_owned();
        w.sign_in().await;
        let acc = json!({ "label": "Vendor automation", "app": "matrix-synapse", "username": "bot@vendor.test",
            "custom_fields": [{ "name": "oauth2_client_secret", "value": CLIENT_SECRET, "secret": true }] });
        let r = w.api("POST", "/api/v1/accounts", Some(acc)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        w.account = r.json()["id"].as_str().unwrap().to_owned();
        let hub = json!({ "app": "matrix-synapse", "label": "Vendor", "base_url": w.vendor.base_url,
            "automation_account_id": w.account, "settings": {
                "oauth2_client_id": CLIENT_ID,
                "oauth2_authorize_url": w.vendor.authorize_url(),
                "oauth2_token_url": w.vendor.token_url(),
            } });
        let r = w.api("POST", "/api/v1/hubs", Some(hub)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let v = r.json();
        w.hub = v["id"].as_str().unwrap().to_owned();
        assert_eq!(v["status"], "under_validation");
        assert!(
            v["status_reason"]
                .as_str()
                .unwrap()
                .contains("connect with the app"),
            "{v}"
        );
        w
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        let r = self.router.clone().oneshot(req).await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        let body = r.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            text: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, HOST)
            .header("x-forwarded-proto", "http");
        if !self.token.is_empty() {
            b = b.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    /// A browser request: `cookie` (if any), a form body (if any).
    async fn page(
        &self,
        method: &str,
        path: &str,
        cookie: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, HOST)
            .header("x-forwarded-proto", "http");
        if !cookie.is_empty() {
            b = b.header(header::COOKIE, cookie);
        }
        let req = match form {
            Some(f) => b
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(
                    url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(f.iter())
                        .finish(),
                )),
            None => b.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    async fn sign_in(&mut self) {
        let page = self.page("GET", "/sign-in", "", None).await;
        let csrf_cookie = page.cookie("castellan_csrf").expect("a CSRF cookie");
        let field = hidden(&page.text, "csrf");
        let cookie = format!("castellan_csrf={csrf_cookie}");
        let form = [
            ("csrf", field.as_str()),
            ("email", "owner@example.com"),
            ("password", PASSWORD),
        ];
        let r = self.page("POST", "/sign-in", &cookie, Some(&form)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        self.cookie = format!(
            "castellan_session={}",
            r.cookie("castellan_session").unwrap()
        );
        let p = self.page("GET", "/sessions", &self.cookie, None).await;
        self.csrf = hidden(&p.text, "csrf");
    }

    /// "Connect with <app>" on the hub page up to the vendor's redirect back: the callback URL.
    async fn to_vendor_and_back(&self) -> String {
        let hub_page = self
            .page("GET", &format!("/hubs/{}", self.hub), &self.cookie, None)
            .await;
        assert!(
            hub_page.text.contains("id=\"connect-oauth2\""),
            "no Connect button"
        );
        let form = [("csrf", self.csrf.as_str())];
        let r = self
            .page(
                "POST",
                &format!("/hubs/{}/oauth2/start", self.hub),
                &self.cookie,
                Some(&form),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let to = r.location();
        assert!(to.starts_with(&self.vendor.authorize_url()), "{to}");
        let q: Vec<(String, String)> = url::Url::parse(&to)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(get("redirect_uri").as_deref(), Some(REDIRECT));
        assert_eq!(get("client_id").as_deref(), Some(CLIENT_ID));
        // The admin's browser at the vendor: it approves and redirects back.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let back = http.get(&to).send().await.unwrap();
        assert_eq!(back.status(), 303);
        let back = back.headers()["location"].to_str().unwrap().to_owned();
        assert!(back.starts_with(REDIRECT), "{back}");
        back
    }

    /// The browser arrives at the callback (cross-site: no cookie), follows its same-site hop
    /// to `/oauth2/finish` with the session.
    async fn callback(&self, back: &str) -> Resp {
        let path = back.strip_prefix("http://castellan.test").unwrap();
        let hop = self.page("GET", path, "", None).await;
        assert_eq!(hop.status, StatusCode::OK, "{}", hop.text);
        let at = hop.text.find("url=").expect("a refresh") + 4;
        let next = hop.text[at..at + hop.text[at..].find('"').unwrap()].replace("&amp;", "&");
        assert!(next.starts_with("/oauth2/finish?"), "{next}");
        self.page("GET", &next, &self.cookie, None).await
    }

    async fn connect(&self) {
        let back = self.to_vendor_and_back().await;
        let r = self.callback(&back).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert_eq!(r.location(), format!("/hubs/{}?done=oauth2", self.hub));
    }

    async fn hub(&self) -> Value {
        self.api("GET", &format!("/api/v1/hubs/{}", self.hub), None)
            .await
            .json()
    }

    /// Queues a check for updates and runs it with the bot; returns the job.
    async fn sync(&self) -> Value {
        let r = self
            .api(
                "POST",
                &format!("/api/v1/hubs/{}/sync", self.hub),
                Some(json!({})),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
        self.run_jobs().await
    }

    /// Runs every queued job; returns the last one.
    async fn run_jobs(&self) -> Value {
        while self.bot.run_one().await.unwrap() {}
        let jobs = self
            .api("GET", &format!("/api/v1/jobs?hub_id={}", self.hub), None)
            .await
            .json();
        jobs[0].clone()
    }

    /// Whether any file of the data directory holds `needle`.
    fn db_holds(&self, needle: &str) -> bool {
        let dir = self.db.parent().unwrap();
        std::fs::read_dir(dir).unwrap().any(|e| {
            let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
    }

    /// The kept grant's version (the row holds no plaintext token).
    async fn grant_version(&self) -> i64 {
        use sqlx::Row;
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", self.db.display()))
            .await
            .unwrap();
        let row = sqlx::query("SELECT version FROM oauth2_grants WHERE account_id = ?")
            .bind(&self.account)
            .fetch_one(&pool)
            .await
            .unwrap();
        row.get::<i64, _>("version")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_authorization_code_with_pkce_through_castellans_routes() {
    let w = World::new(Duration::from_secs(3600)).await;
    // Before connecting, a job says what to do.
    let job = w.sync().await;
    assert_eq!(job["state"], "not_completed", "{job}");
    let hub = w.hub().await;
    assert_eq!(hub["status"], "review_service_account", "{hub}");
    assert!(
        hub["status_reason"]
            .as_str()
            .unwrap()
            .contains("not connected"),
        "{hub}"
    );

    // The admin refuses at the vendor: a clear page, nothing kept.
    w.vendor.deny_next();
    let back = w.to_vendor_and_back().await;
    assert!(back.contains("error=access_denied"), "{back}");
    let r = w.callback(&back).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("did not authorize Castellan"), "{}", r.text);
    assert!(r.text.contains("access_denied"), "{}", r.text);

    // The hub's token endpoint changes while the admin is at the vendor: the code is not sent
    // to the new one, and the admin starts again.
    let back = w.to_vendor_and_back().await;
    let settings = |token_url: &str| {
        json!({ "settings": {
            "oauth2_client_id": CLIENT_ID,
            "oauth2_authorize_url": w.vendor.authorize_url(),
            "oauth2_token_url": token_url,
        } })
    };
    let path = format!("/api/v1/hubs/{}", w.hub);
    let moved = format!("{}?moved=1", w.vendor.token_url());
    let r = w.api("PATCH", &path, Some(settings(&moved))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = w.callback(&back).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("changed since this authorization started"),
        "{}",
        r.text
    );
    assert_eq!(w.vendor.stats().codes_exchanged, 0);
    let r = w
        .api("PATCH", &path, Some(settings(&w.vendor.token_url())))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Approved: the code is exchanged with the verifier, the tokens are kept sealed.
    let back = w.to_vendor_and_back().await;
    let r = w.callback(&back).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.location(), format!("/hubs/{}?done=oauth2", w.hub));
    let stats = w.vendor.stats();
    assert_eq!(stats.codes_exchanged, 1);
    assert_eq!(stats.challenge_methods, ["S256", "S256", "S256"]);
    assert_eq!(w.grant_version().await, 1);
    let (access, refresh) = (
        w.vendor.last_access_token().unwrap(),
        w.vendor.last_refresh_token().unwrap(),
    );
    assert!(
        !w.db_holds(&access),
        "the access token is in the database in plaintext"
    );
    assert!(
        !w.db_holds(&refresh),
        "the refresh token is in the database in plaintext"
    );
    assert!(
        !w.db_holds(CLIENT_SECRET),
        "the client secret is in the database in plaintext"
    );

    // A replayed callback finds nothing (state and code are single use).
    let r = w.callback(&back).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("already used"), "{}", r.text);
    // A state from another session (the API token's) is refused the same way.
    let bad = json!({ "state": "forged-state", "code": "x" });
    let r = w.api("POST", "/api/v1/oauth2/callback", Some(bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(w.vendor.stats().codes_exchanged, 1);

    // The queued check for updates signs in with the access token and lists the members.
    let job = w.run_jobs().await;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(w.hub().await["status"], "healthy");
    assert_eq!(
        w.vendor.stats().refreshes,
        0,
        "a fresh token needs no refresh"
    );
    // Nothing of the grant reached the activity log.
    let events = w
        .api("GET", "/api/v1/activity?action=hub.oauth_connect", None)
        .await;
    assert!(events.text.contains("hub.oauth_connect"), "{}", events.text);
    assert!(!events.text.contains(&access) && !events.text.contains(&refresh));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_a_token_about_to_expire_is_refreshed_and_the_rotated_one_kept() {
    // Tokens live 2 minutes: under the 5-minute margin, so each job refreshes first.
    let w = World::new(Duration::from_secs(120)).await;
    w.connect().await;
    let first_refresh = w.vendor.last_refresh_token().unwrap();
    let job = w.run_jobs().await;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(w.vendor.stats().refreshes, 1);
    let rotated = w.vendor.last_refresh_token().unwrap();
    assert_ne!(rotated, first_refresh);
    assert_eq!(w.grant_version().await, 2);
    assert!(
        !w.db_holds(&rotated),
        "the rotated refresh token is in plaintext"
    );
    // The stand-in takes only the rotated token now: a second job refreshes with it.
    let job = w.sync().await;
    assert_eq!(job["state"], "completed", "{job}");
    let stats = w.vendor.stats();
    assert_eq!(stats.refreshes, 2);
    assert!(stats.refused.is_empty(), "{:?}", stats.refused);
    assert_eq!(w.grant_version().await, 3);
    assert_eq!(w.hub().await["status"], "healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_a_revoked_grant_puts_the_hub_in_review_service_account_with_the_reason() {
    let w = World::new(Duration::from_secs(60)).await;
    w.connect().await;
    assert_eq!(w.run_jobs().await["state"], "completed");
    w.vendor.revoke_all();
    let job = w.sync().await;
    assert_eq!(job["state"], "not_completed", "{job}");
    let hub = w.hub().await;
    assert_eq!(hub["status"], "review_service_account", "{hub}");
    let reason = hub["status_reason"].as_str().unwrap();
    assert!(reason.contains("invalid_grant"), "{reason}");
    assert!(
        reason.contains("The refresh token is invalid, expired or revoked"),
        "{reason}"
    );
    assert!(reason.contains("connect with the app again"), "{reason}");
    assert!(!reason.contains(&w.vendor.last_refresh_token().unwrap()));
    assert_eq!(w.vendor.stats().refused, ["invalid_grant"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d_a_token_without_a_lifetime_is_refreshed_once_the_app_refuses_it() {
    let w = World::new(Duration::from_secs(3600)).await;
    w.vendor.omit_expires_in();
    w.connect().await;
    assert_eq!(w.run_jobs().await["state"], "completed");
    assert_eq!(
        w.vendor.stats().refreshes,
        0,
        "no lifetime: nothing to refresh ahead"
    );
    // The vendor lets the access token lapse without having said when: the next sign-in is
    // refused, and the bot refreshes once and goes on.
    w.vendor.expire_access_tokens();
    let job = w.sync().await;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(w.vendor.stats().refreshes, 1);
    assert_eq!(w.grant_version().await, 2);
    assert_eq!(w.hub().await["status"], "healthy");
    // Revoked for good: the refresh is refused, and the hub says so.
    w.vendor.revoke_all();
    let job = w.sync().await;
    assert_eq!(job["state"], "not_completed", "{job}");
    assert_eq!(w.hub().await["status"], "review_service_account");
    assert_eq!(w.vendor.stats().refreshes, 1);
}
