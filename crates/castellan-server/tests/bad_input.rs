//! Bad input returns a 4xx `application/problem+json` with a clear message and writes nothing
//! half-way: each case compares the account count and the activity chain head before and after.

mod common;

use axum::http::{header, StatusCode};
use common::{Resp, Session, TestApp};
use serde_json::{json, Value};

/// A claimed app whose owner token has been used once (so its throttled `token.use` event is
/// already written and later requests append nothing by themselves).
async fn claimed() -> (TestApp, Session) {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    app.warm_up(&owner.token).await;
    (app, owner)
}

/// Sends `req`, asserts the problem and that neither the accounts nor the activity log moved.
macro_rules! refused_without_writes {
    ($app:expr, $owner:expr, $status:expr, $needles:expr, $send:expr) => {{
        let before = $app.snapshot(&$owner.token).await;
        let r: Resp = $send.await;
        let detail = r.assert_problem($status, $needles);
        let after = $app.snapshot(&$owner.token).await;
        assert_eq!(
            before, after,
            "(accounts, chain head) moved after a refused request: {detail}"
        );
        r
    }};
}

fn account(label: &str) -> Value {
    json!({ "label": label, "username": "ann@example.com", "password": "a fine password" })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

// Declared below `refused_without_writes!`: a `macro_rules!` macro is in scope only after it.
#[path = "bad_input/accounts.rs"]
mod accounts;
#[path = "bad_input/bodies.rs"]
mod bodies;
#[path = "bad_input/credentials.rs"]
mod credentials;
#[path = "bad_input/fields.rs"]
mod fields;
#[path = "bad_input/hubs_and_access.rs"]
mod hubs_and_access;

#[tokio::test]
async fn unknown_path_is_404_problem() {
    let (app, owner) = claimed().await;
    for path in [
        "/api/v1/nope",
        "/api/v2/accounts",
        "/no-such-page",
        "/api/v1/accounts/a/b/c",
    ] {
        refused_without_writes!(
            app,
            owner,
            StatusCode::NOT_FOUND,
            &["no such endpoint"],
            app.get(path, &owner.token)
        );
    }
    // An unknown id on a known route is a 404 problem too.
    let id = uuid::Uuid::now_v7();
    refused_without_writes!(
        app,
        owner,
        StatusCode::NOT_FOUND,
        &["account"],
        app.get(&format!("/api/v1/accounts/{id}"), &owner.token)
    );
}

#[tokio::test]
async fn wrong_method_is_405_problem() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    for (m, path) in [
        ("PUT", "/api/v1/accounts"),
        ("DELETE", "/api/v1/people"),
        ("POST", "/api/v1/health"),
        ("PATCH", "/api/v1/openapi.json"),
    ] {
        let r = refused_without_writes!(
            app,
            owner,
            StatusCode::METHOD_NOT_ALLOWED,
            &["method"],
            app.call(m, path, Some(t), Some(json!({})))
        );
        // RFC 9110 section 15.5.6: a 405 response MUST carry an Allow header.
        let allow = r
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(!allow.is_empty(), "{m} {path}: 405 without an Allow header");
    }
}

#[tokio::test]
async fn error_bodies_never_leak_internals() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    let auth = format!("Bearer {t}");
    let json_ct = [
        (header::AUTHORIZATION, auth.as_str()),
        (header::CONTENT_TYPE, "application/json"),
    ];
    app.post("/api/v1/accounts", t, account("Dup")).await.ok();
    app.post("/api/v1/vaults", t, json!({ "name": "Dup vault" }))
        .await
        .ok();
    let sql = "'; DROP TABLE accounts; --";
    // SQL-looking text is data: stored and searched verbatim.
    let stored = app.post("/api/v1/accounts", t, account(sql)).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text());
    assert_eq!(stored.json()["label"], json!(sql));
    let found = app
        .get(
            "/api/v1/accounts?q=%27%3B%20DROP%20TABLE%20accounts%3B%20--",
            t,
        )
        .await
        .ok()
        .json();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    let none = app
        .get("/api/v1/accounts?q=%25%25%5C%5C_", t)
        .await
        .ok()
        .json();
    assert_eq!(
        none.as_array().unwrap().len(),
        0,
        "LIKE wildcards are escaped: {none}"
    );
    let mut responses = vec![
        app.post("/api/v1/accounts", t, account("dup")).await,
        app.post("/api/v1/vaults", t, json!({ "name": "DUP VAULT" })).await,
        app.post("/api/v1/accounts", t, account(sql)).await,
        app.post("/api/v1/accounts", t, with(account("q"), "vault_id", json!(sql))).await,
        app.get("/api/v1/activity?limit=abc", t).await,
        app.get("/api/v1/activity?since=yesterday", t).await,
        app.get("/api/v1/activity?before_seq=99999999999999999999999", t).await,
        app.raw("POST", "/api/v1/accounts", &json_ct, b"{\"label\": \"x\", ".to_vec()).await,
        app.raw("POST", "/api/v1/accounts", &json_ct, vec![0xff, 0xfe, 0x00]).await,
        app.get("/api/v1/people/00000000-0000-0000-0000-000000000000", t).await,
        app.put(&format!("/api/v1/accounts/{}/access/{}", uuid::Uuid::now_v7(), uuid::Uuid::now_v7()), t, json!({ "role": "owner" })).await,
        app.post("/api/v1/people", t, json!({ "email": owner.email, "name": "Dup", "role": "user" })).await,
        app.post("/api/v1/people", t, json!({ "email": "x@example.com", "name": "Own", "role": "owner" })).await,
        app.post("/api/v1/apps", t, json!({ "id": "slack", "name": "Slack", "login_urls": ["https://slack.com"], "domains": ["slack.com"],
                                             "password_rules": { "min_length": 8, "max_length": 64 } })).await,
        app.post("/api/v1/generate", t, json!({ "length": 100000 })).await,
        app.post("/api/v1/generate", t, json!({ "mode": "passphrase", "words": 1 })).await,
        app.post(&format!("/api/v1/people/{}/transfer-ownership", owner.person_id), t, json!({})).await,
    ];
    responses.push(
        app.call(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            Some(json!({ "email": sql, "password": sql })),
        )
        .await,
    );
    for r in &responses {
        assert!(
            r.status.is_client_error(),
            "expected a 4xx, got {}: {}",
            r.status,
            r.text()
        );
        assert!(
            r.is_problem(),
            "{} is not a problem document: {}",
            r.status,
            r.text()
        );
        assert!(!r.detail().is_empty(), "no detail: {}", r.text());
        r.assert_no_leak();
    }
}
