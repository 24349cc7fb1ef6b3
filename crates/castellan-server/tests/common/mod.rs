//! Shared fixtures for the router tests: a fresh app on its own SQLite file, a request helper
//! over `tower::ServiceExt::oneshot`, and people of every workspace role.
//!
//! Each test builds its own [`TestApp`] (its own temporary directory and database), so no test
//! depends on another's order.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use castellan_core::connector::settings::{self_hosted, SettingField, SettingKind, BASE_URL};
use castellan_core::connector::SignIn;
use castellan_core::model::WorkspaceRole;
use castellan_core::{Castellan, StaticKeys};
use castellan_crypto::Keyring;
use castellan_server::{router_and_openapi, AppState};
use castellan_store::SqlStore;
use http_body_util::BodyExt;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

/// The password every test person uses (at least 12 characters).
pub const PASSWORD: &str = "correct horse battery staple";

/// The SMS webhook's auth token in every test app.
pub const SMS_AUTH_TOKEN: &str = "test-sms-auth-token";

/// The public URL the SMS webhook's signatures cover in every test app.
pub const SMS_PUBLIC_URL: &str = "http://castellan.test";

/// Media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Text that must never reach a client in an error body.
pub const LEAKS: &[&str] = &["sqlx", "SQLITE", "constraint", "syntax error", "panicked"];

/// Every workspace role, most privileged first.
pub const ROLES: [WorkspaceRole; 6] = [
    WorkspaceRole::Owner,
    WorkspaceRole::SuperAdmin,
    WorkspaceRole::Admin,
    WorkspaceRole::User,
    WorkspaceRole::LoginOnly,
    WorkspaceRole::Guest,
];

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body text when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response {} is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// The `content-type` header, or "".
    pub fn content_type(&self) -> String {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether this is a problem document.
    pub fn is_problem(&self) -> bool {
        self.content_type() == PROBLEM_JSON
    }

    /// The problem's `detail`, or "" when the body is not a problem document with one.
    pub fn detail(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Whether this is a 403 from the workspace permission matrix (not from an item role).
    pub fn is_matrix_denial(&self) -> bool {
        self.status == StatusCode::FORBIDDEN && self.detail().starts_with("the workspace role")
    }

    /// A string field of the JSON body.
    pub fn str(&self, key: &str) -> String {
        self.json()[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{key}` in {}", self.text()))
            .to_owned()
    }

    /// Panics unless the status is 2xx.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(
            self.status.is_success(),
            "expected 2xx, got {}: {}",
            self.status,
            self.text()
        );
        self
    }

    /// Asserts an RFC 9457 problem: `status`, `application/problem+json`, a body whose `status`
    /// matches, a non-empty `detail` that contains every one of `needles`, and no internal
    /// text. Returns the detail.
    #[track_caller]
    pub fn assert_problem(&self, status: StatusCode, needles: &[&str]) -> String {
        assert_eq!(self.status, status, "status; body: {}", self.text());
        assert_eq!(
            self.content_type(),
            PROBLEM_JSON,
            "content-type; body: {}",
            self.text()
        );
        let v = self.json();
        assert_eq!(
            v["status"].as_u64(),
            Some(u64::from(status.as_u16())),
            "problem status: {v}"
        );
        assert!(
            v["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:castellan:problem:")),
            "problem type: {v}"
        );
        assert!(
            v["title"].as_str().is_some_and(|t| !t.is_empty()),
            "problem title: {v}"
        );
        let detail = self.detail();
        assert!(!detail.is_empty(), "problem without detail: {v}");
        for n in needles {
            assert!(
                detail.contains(n),
                "detail {detail:?} does not mention {n:?}"
            );
        }
        self.assert_no_leak();
        detail
    }

    /// Asserts the body carries no SQL or internal text.
    #[track_caller]
    pub fn assert_no_leak(&self) {
        let text = self.text();
        for l in LEAKS {
            assert!(
                !text.to_lowercase().contains(&l.to_lowercase()),
                "body leaks {l:?}: {text}"
            );
        }
    }
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    pub role: WorkspaceRole,
    pub person_id: String,
    pub email: String,
    pub token: String,
    pub token_id: String,
}

/// One Castellan instance over its own SQLite file.
pub struct TestApp {
    pub router: Router,
    pub openapi: utoipa::openapi::OpenApi,
    /// The service behind the router (for what has no HTTP route, such as receiving mail).
    pub svc: Castellan,
    pub db_url: String,
    pub setup_token: String,
    dir: TempDir,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("db_url", &self.db_url)
            .finish_non_exhaustive()
    }
}

impl TestApp {
    /// A fresh, initialized but unclaimed workspace.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path: PathBuf = dir.path().join("c.db");
        let db_url = format!("sqlite://{}", path.display());
        let store = SqlStore::connect(&db_url).await.expect("connect");
        // Fakes stand in for the built-in connectors the catalog names (the server crate does not
        // depend on the connectors crate): hubs on them can be connected and the wizard offers
        // them; the other catalog apps have no connector here.
        let registry = castellan_testkit::FakeRegistry::new();
        for name in ["synapse", "redmine"] {
            let fake =
                castellan_testkit::FakeConnector::new(name).with_roles(&["admin", "user"], "user");
            registry.register(name, Arc::new(fake));
        }
        // Redmine's browser connector has a setting the API one has not (as `redmine_browser`'s
        // and `wordpress_browser`'s emailed-link sign-in): the wizard asks for its settings
        // once the browser is chosen.
        let browser = castellan_testkit::FakeConnector::new("redmine_browser")
            .with_roles(&["admin", "user"], "user")
            .with_schema(SignIn::Password, browser_settings());
        registry.register("redmine_browser", Arc::new(browser));
        let svc = Castellan::new(
            Arc::new(store),
            Arc::new(StaticKeys(Arc::new(Keyring::generate()))),
        )
        .expect("service")
        .with_connectors(Arc::new(registry));
        let setup_token = svc
            .sessions()
            .init("Test")
            .await
            .expect("init")
            .expect("a fresh database gives a setup token")
            .expose_secret()
            .to_owned();
        // The SMS webhook is on, with a fixed auth token (see [`SMS_AUTH_TOKEN`]).
        let sms =
            castellan_server::SmsWebhook::new(SMS_AUTH_TOKEN.to_owned().into(), SMS_PUBLIC_URL);
        let (router, openapi) = router_and_openapi(AppState {
            sms,
            ..AppState::new(svc.clone())
        });
        Self {
            router,
            openapi,
            svc,
            db_url,
            setup_token,
            dir,
        }
    }

    /// Sends a request through a clone of the router and reads the whole response.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A JSON request: `body` is sent as `application/json` when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => {
                let bytes = serde_json::to_vec(&v).expect("json");
                b.header(header::CONTENT_TYPE, "application/json")
                    .header(header::CONTENT_LENGTH, bytes.len())
                    .body(Body::from(bytes))
            }
            None => b.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    /// A request with a raw body and explicit headers.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(header::HeaderName, &str)],
        body: Vec<u8>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(path);
        for (k, v) in headers {
            b = b.header(k, HeaderValue::from_str(v).expect("header value"));
        }
        self.send(b.body(Body::from(body)).expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("PATCH", path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call("DELETE", path, Some(token), None).await
    }

    /// Claims the workspace; returns the owner's session.
    pub async fn claim(&self) -> Session {
        let r = self
            .call(
                "POST",
                "/api/v1/setup/claim",
                None,
                Some(json!({
                    "setup_token": self.setup_token,
                    "email": "owner@example.com",
                    "name": "Olive Owner",
                    "password": PASSWORD,
                })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "claim: {}", r.text());
        session_from(WorkspaceRole::Owner, &r.json())
    }

    /// Invites a person (by `by`); returns (person id, invitation token).
    pub async fn invite(&self, by: &str, email: &str, role: WorkspaceRole) -> (String, String) {
        let r = self
            .post(
                "/api/v1/people",
                by,
                json!({ "email": email, "name": format!("Person {email}"), "role": role.as_str() }),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "invite {email}: {}",
            r.text()
        );
        let v = r.json();
        (
            v["person"]["id"].as_str().expect("person id").to_owned(),
            v["invitation_token"]
                .as_str()
                .expect("invitation token")
                .to_owned(),
        )
    }

    /// Accepts an invitation with [`PASSWORD`].
    pub async fn accept(&self, email: &str, invitation: &str) {
        let r = self
            .call(
                "POST",
                "/api/v1/auth/accept-invitation",
                None,
                Some(
                    json!({ "email": email, "invitation_token": invitation, "password": PASSWORD }),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "accept {email}: {}", r.text());
    }

    /// Signs in with [`PASSWORD`].
    pub async fn sign_in(&self, email: &str, role: WorkspaceRole) -> Session {
        let r = self
            .call(
                "POST",
                "/api/v1/auth/sign-in",
                None,
                Some(json!({ "email": email, "password": PASSWORD })),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "sign in {email}: {}",
            r.text()
        );
        session_from(role, &r.json())
    }

    /// An active person of `role`, invited by `owner`, signed in.
    pub async fn person(&self, owner: &str, email: &str, role: WorkspaceRole) -> Session {
        let (_, inv) = self.invite(owner, email, role).await;
        self.accept(email, &inv).await;
        self.sign_in(email, role).await
    }

    /// A personal API token made through `POST /api/v1/tokens`; returns (secret, id).
    pub async fn new_token(&self, token: &str, name: &str) -> (String, String) {
        let r = self
            .post("/api/v1/tokens", token, json!({ "name": name }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "new token: {}", r.text());
        (r.str("secret"), r.str("id"))
    }

    /// Makes a token expired by writing the store directly (no API can backdate one).
    pub async fn expire_token(&self, token_id: &str) {
        let store = SqlStore::connect(&self.db_url)
            .await
            .expect("second connection");
        let done = sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE id = $1")
            .bind(token_id.to_owned())
            .execute(store.pool())
            .await
            .expect("update api_tokens");
        assert_eq!(done.rows_affected(), 1, "no token {token_id}");
        store.close().await;
    }

    /// POSTs an inbound SMS to the webhook as Twilio would: form-encoded `From`, `To`, `Body`
    /// and `MessageSid`, signed with [`SMS_AUTH_TOKEN`] over [`SMS_PUBLIC_URL`] + the path.
    pub async fn sms(&self, from: &str, to: &str, body: &str, sid: &str) -> Resp {
        let params: Vec<(String, String)> = [
            ("From", from),
            ("To", to),
            ("Body", body),
            ("MessageSid", sid),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let path = "/api/v1/webhooks/sms";
        let signature = castellan_inbox::twilio_signature(
            SMS_AUTH_TOKEN,
            &format!("{SMS_PUBLIC_URL}{path}"),
            &params,
        );
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        self.raw(
            "POST",
            path,
            &[
                (header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
                (
                    header::HeaderName::from_static("x-twilio-signature"),
                    &signature,
                ),
            ],
            form.into_bytes(),
        )
        .await
    }

    /// Delivers an email to a managed address as the SMTP receiver does: parsed, with the code
    /// or link extracted (no app hints). Panics when the address is not managed.
    pub async fn email(&self, from: &str, to: &str, subject: &str, body: &str) {
        let raw = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{}@test>\r\n\r\n{body}\r\n",
            uuid::Uuid::now_v7()
        )
        .into_bytes();
        let parsed = castellan_inbox::parse_mail(&raw).expect("a parsable mail");
        let found = castellan_inbox::extract(&parsed, None);
        self.svc
            .inbox_delivery()
            .receive_email(castellan_core::service::ReceivedMessage {
                to: to.to_owned(),
                from: from.to_owned(),
                subject: parsed.subject.clone(),
                text: parsed.text.clone(),
                raw: Some(raw),
                received_at: chrono::Utc::now(),
                message_key: format!("test:{}", uuid::Uuid::now_v7()),
                code: found.code,
                link: found.link,
                expires_in: found.expires_in,
            })
            .await
            .expect("the email is stored");
    }

    /// Puts one member into a hub's snapshot, as a sync would.
    pub async fn seed_hub_member(&self, hub: &str, app_member_id: &str) {
        use castellan_core::ports::HubStore;
        let store = SqlStore::connect(&self.db_url)
            .await
            .expect("second connection");
        let now = chrono::Utc::now();
        let m = castellan_core::hub::HubMember {
            app_member_id: app_member_id.to_owned(),
            email: Some(format!(
                "{}@example.com",
                app_member_id
                    .trim_start_matches('@')
                    .split(':')
                    .next()
                    .unwrap_or("x")
            )),
            name: None,
            app_role: Some("user".into()),
            state: castellan_core::connector::MemberState::Active,
            matching: castellan_core::hub::Matching::Unmatched,
            person_id: None,
            exempt_reason: None,
            first_seen_at: now,
            last_seen_at: now,
            roles: vec![],
        };
        store
            .upsert_hub_member(hub.parse().expect("hub id"), &m, None)
            .await
            .expect("seed member");
        store.close().await;
    }

    /// The default vault's id.
    pub async fn default_vault(&self, owner: &str) -> String {
        let v = self.get("/api/v1/vaults", owner).await.ok().json();
        v.as_array()
            .expect("vault list")
            .iter()
            .find(|x| x["is_default"] == json!(true))
            .and_then(|x| x["id"].as_str())
            .expect("a default vault")
            .to_owned()
    }

    /// How many accounts `token` can list.
    pub async fn account_count(&self, token: &str) -> usize {
        self.get("/api/v1/accounts", token)
            .await
            .ok()
            .json()
            .as_array()
            .expect("account list")
            .len()
    }

    /// The activity chain head (`seq` of the newest event; 0 when empty).
    pub async fn chain_head(&self, token: &str) -> i64 {
        let v = self
            .get("/api/v1/activity?limit=1", token)
            .await
            .ok()
            .json();
        v.as_array()
            .expect("event list")
            .first()
            .map(|e| e["seq"].as_i64().expect("seq"))
            .unwrap_or(0)
    }

    /// (account count, chain head), both read with an owner-level token. Call [`warm_up`]
    /// first so the reading token's throttled `token.use` event is already written.
    pub async fn snapshot(&self, token: &str) -> (usize, i64) {
        (
            self.account_count(token).await,
            self.chain_head(token).await,
        )
    }

    /// One authenticated request, so the token's `token.use` event (written at most once per
    /// 5 minutes) lands before a test compares snapshots.
    pub async fn warm_up(&self, token: &str) {
        self.get("/api/v1/me", token).await.ok();
    }
}

fn session_from(role: WorkspaceRole, v: &Value) -> Session {
    Session {
        role,
        person_id: v["person"]["id"].as_str().expect("person id").to_owned(),
        email: v["person"]["email"].as_str().expect("email").to_owned(),
        token: v["token"].as_str().expect("token").to_owned(),
        token_id: v["token_id"].as_str().expect("token id").to_owned(),
    }
}

/// A claimed workspace with one signed-in person of every role.
#[derive(Debug)]
pub struct World {
    pub app: TestApp,
    pub owner: Session,
    /// One session per role, in [`ROLES`] order (the owner first).
    pub people: Vec<Session>,
}

impl World {
    /// Claims the workspace and invites, activates and signs in a person of every other role.
    pub async fn new() -> Self {
        let app = TestApp::new().await;
        let owner = app.claim().await;
        let mut people = vec![owner.clone()];
        for role in &ROLES[1..] {
            let email = format!("{}@example.com", role.as_str().replace('_', "-"));
            people.push(app.person(&owner.token, &email, *role).await);
        }
        Self { app, owner, people }
    }

    /// The session of `role`.
    pub fn of(&self, role: WorkspaceRole) -> &Session {
        self.people
            .iter()
            .find(|s| s.role == role)
            .expect("every role has a person")
    }
}

/// The settings of the fake `redmine_browser`: the base URL and the optional `sign_in_with`
/// choice (`password` or `emailed_link`).
fn browser_settings() -> Vec<SettingField> {
    let url = SettingField::new(BASE_URL, "Base URL", SettingKind::Url, true);
    let how = SettingKind::Choice(vec!["password".into(), "emailed_link".into()]);
    let how = SettingField::new("sign_in_with", "How the bot signs in", how, false);
    self_hosted(url, [how])
}
