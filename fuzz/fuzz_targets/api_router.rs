//! The real `/api/v1` router (castellan_server::router_and_openapi over a SQLite store in a
//! temporary directory), driven in-process with `tower::ServiceExt::oneshot`.
//!
//! Input: the first byte picks an endpoint from [`ENDPOINTS`]; the rest is its JSON body, or
//! the query string of the GET endpoints, or the form of the SMS webhook (signed here, so the
//! handler gets past the signature check). Requests carry the workspace owner's API token,
//! except the unauthenticated ones. Ids in paths are an account, a vault, a hub and a person
//! made once when the process starts.
//!
//! Checks: no panic and no 5xx, whatever the body; every 4xx is an RFC 9457 problem document
//! (`application/problem+json`, its `status` the response's, a `detail`) and no response body
//! carries internal text (SQL errors, panics).
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode, Uri};
use axum::Router;
use castellan_core::{Castellan, StaticKeys};
use castellan_crypto::Keyring;
use castellan_server::{router_and_openapi, AppState, SmsWebhook};
use castellan_store::SqlStore;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tower::ServiceExt;

const SMS_TOKEN: &str = "fuzz-sms-auth-token";
const SMS_URL: &str = "http://castellan.test";
/// Text that must never reach a client (as in castellan-server's tests).
const LEAKS: &[&str] = &["sqlx", "sqlite", "constraint", "syntax error", "panicked"];

/// How an endpoint takes the fuzzer's bytes.
#[derive(Clone, Copy, PartialEq)]
enum Input {
    Json,
    /// JSON without a token.
    JsonAnonymous,
    Query,
    SmsForm,
}

/// (method, path with `{account}`, `{vault}`, `{hub}`, `{person}`, input).
const ENDPOINTS: &[(&str, &str, Input)] = &[
    ("POST", "/api/v1/accounts", Input::Json),
    ("PATCH", "/api/v1/accounts/{account}", Input::Json),
    ("POST", "/api/v1/accounts/{account}/reveal", Input::Json),
    (
        "PUT",
        "/api/v1/accounts/{account}/access/{person}",
        Input::Json,
    ),
    ("PUT", "/api/v1/accounts/{account}/totp", Input::Json),
    (
        "POST",
        "/api/v1/accounts/{account}/totp/verify",
        Input::Json,
    ),
    ("POST", "/api/v1/accounts/import-migration", Input::Json),
    ("POST", "/api/v1/accounts/{account}/email", Input::Json),
    ("POST", "/api/v1/phone-numbers", Input::Json),
    ("POST", "/api/v1/apps", Input::Json),
    ("POST", "/api/v1/generate", Input::Json),
    ("POST", "/api/v1/vaults", Input::Json),
    ("PUT", "/api/v1/vaults/{vault}/access/{person}", Input::Json),
    ("POST", "/api/v1/people", Input::Json),
    ("PATCH", "/api/v1/people/{person}", Input::Json),
    ("POST", "/api/v1/tokens", Input::Json),
    ("POST", "/api/v1/hubs", Input::Json),
    ("PATCH", "/api/v1/hubs/{hub}", Input::Json),
    ("POST", "/api/v1/hubs/{hub}/sync", Input::Json),
    (
        "POST",
        "/api/v1/hubs/{hub}/members/@ann:example.org",
        Input::Json,
    ),
    ("PUT", "/api/v1/hubs/{hub}/grants/{person}", Input::Json),
    ("POST", "/api/v1/hubs/{hub}/revoke", Input::Json),
    ("POST", "/api/v1/setup/claim", Input::JsonAnonymous),
    (
        "POST",
        "/api/v1/auth/accept-invitation",
        Input::JsonAnonymous,
    ),
    ("POST", "/api/v1/webhooks/sms", Input::SmsForm),
    ("GET", "/api/v1/accounts", Input::Query),
    ("GET", "/api/v1/inbox", Input::Query),
    ("GET", "/api/v1/activity", Input::Query),
    ("GET", "/api/v1/activity/export.csv", Input::Query),
    ("GET", "/api/v1/jobs", Input::Query),
];

/// Characters of a query string sent as they are; everything else is percent-encoded so that
/// any input makes a valid URI (`%` stays, so the fuzzer can write its own escapes).
const QUERY_RAW: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

struct Fixture {
    rt: tokio::runtime::Runtime,
    router: Router,
    token: String,
    account: String,
    vault: String,
    hub: String,
    person: String,
    _dir: tempfile::TempDir,
}

async fn send(router: &Router, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, content_type, body.to_vec())
}

fn json_request(method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::from(body)).expect("request")
}

/// Calls the router during setup; panics unless 2xx.
async fn setup_call(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> Value {
    let req = json_request(
        method,
        path,
        token,
        serde_json::to_vec(&body).expect("json"),
    );
    let (status, _, body) = send(router, req).await;
    let text = String::from_utf8_lossy(&body);
    assert!(
        status.is_success(),
        "setup {method} {path}: {status} {text}"
    );
    serde_json::from_slice(&body).expect("setup response is JSON")
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        // The database lives in memory-backed /dev/shm where there is one: no disk writes.
        let shm = std::path::Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::tempdir_in(base).expect("a temporary directory");
        let db_url = format!("sqlite://{}", dir.path().join("fuzz.db").display());
        let (router, token, account, vault, hub, person) = rt.block_on(async {
            let store = SqlStore::connect(&db_url).await.expect("SQLite store");
            let svc = Castellan::new(
                Arc::new(store),
                Arc::new(StaticKeys(Arc::new(Keyring::generate()))),
            )
            .expect("service");
            let setup_token = svc
                .sessions()
                .init("Fuzz")
                .await
                .expect("init")
                .expect("a setup token")
                .expose_secret()
                .to_owned();
            let (router, _) = router_and_openapi(AppState {
                sms: SmsWebhook::new(SMS_TOKEN.to_owned().into(), SMS_URL),
                ..AppState::new(svc)
            });
            let claimed = setup_call(
                &router,
                "POST",
                "/api/v1/setup/claim",
                None,
                json!({ "setup_token": setup_token, "email": "owner@example.com",
                        "name": "Olive Owner", "password": "correct horse battery staple" }),
            )
            .await;
            let token = claimed["token"].as_str().expect("token").to_owned();
            let t = Some(token.as_str());
            let id = |v: Value, key: &str| v[key].as_str().expect("an id").to_owned();
            let invited = setup_call(
                &router,
                "POST",
                "/api/v1/people",
                t,
                json!({ "email": "ann@example.com", "name": "Ann", "role": "user" }),
            )
            .await;
            let person = invited["person"]["id"]
                .as_str()
                .expect("person id")
                .to_owned();
            let vault = id(
                setup_call(
                    &router,
                    "POST",
                    "/api/v1/vaults",
                    t,
                    json!({ "name": "Marketing" }),
                )
                .await,
                "id",
            );
            let account = id(
                setup_call(
                    &router,
                    "POST",
                    "/api/v1/accounts",
                    t,
                    json!({ "label": "Synapse bot", "app": "matrix-synapse", "username": "bot",
                        "password": "pw-1234567890" }),
                )
                .await,
                "id",
            );
            let hub = id(
                setup_call(
                    &router,
                    "POST",
                    "/api/v1/hubs",
                    t,
                    json!({ "app": "matrix-synapse", "label": "Matrix",
                        "base_url": "http://127.0.0.1:9", "automation_account_id": account }),
                )
                .await,
                "id",
            );
            (router, token, account, vault, hub, person)
        });
        Fixture {
            rt,
            router,
            token,
            account,
            vault,
            hub,
            person,
            _dir: dir,
        }
    })
}

fn request(f: &Fixture, endpoint: usize, input: &[u8]) -> Option<Request<Body>> {
    let (method, template, kind) = ENDPOINTS[endpoint];
    let path = template
        .replace("{account}", &f.account)
        .replace("{vault}", &f.vault)
        .replace("{hub}", &f.hub)
        .replace("{person}", &f.person);
    match kind {
        Input::Json => Some(json_request(method, &path, Some(&f.token), input.to_vec())),
        Input::JsonAnonymous => Some(json_request(method, &path, None, input.to_vec())),
        Input::Query => {
            let query =
                utf8_percent_encode(std::str::from_utf8(input).ok()?, QUERY_RAW).to_string();
            let uri: Uri = format!("{path}?{query}").parse().ok()?;
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
                .body(Body::empty())
                .ok()
        }
        Input::SmsForm => {
            let params: Vec<(String, String)> = url::form_urlencoded::parse(input)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let signature =
                castellan_inbox::twilio_signature(SMS_TOKEN, &format!("{SMS_URL}{path}"), &params);
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("x-twilio-signature", signature)
                .body(Body::from(input.to_vec()))
                .ok()
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let endpoint = usize::from(pick) % ENDPOINTS.len();
    let Some(req) = request(f, endpoint, input) else {
        return;
    };
    let (method, path, _) = ENDPOINTS[endpoint];
    let (status, content_type, body) = f.rt.block_on(send(&f.router, req));
    let text = String::from_utf8_lossy(&body);
    assert!(
        !status.is_server_error(),
        "{method} {path} answered {status}: {text}"
    );
    // Error details may quote the input: a word the input holds is no leak.
    let lower = text.to_lowercase();
    let sent = String::from_utf8_lossy(input).to_lowercase();
    for leak in LEAKS.iter().filter(|l| !sent.contains(*l)) {
        assert!(
            !lower.contains(leak),
            "{method} {path} leaks {leak:?}: {text}"
        );
    }
    if status.is_client_error() {
        assert_eq!(
            content_type, "application/problem+json",
            "{method} {path} answered {status} without a problem document: {text}"
        );
        let problem: Value = serde_json::from_slice(&body).expect("a problem document is JSON");
        assert_eq!(
            problem["status"].as_u64(),
            Some(u64::from(status.as_u16())),
            "{text}"
        );
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "problem without detail: {text}"
        );
    }
});
