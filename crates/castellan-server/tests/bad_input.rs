//! Bad input returns a 4xx `application/problem+json` with a clear message and writes nothing
//! half-way: each case compares the account count and the activity chain head before and after.

mod common;

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use common::{Resp, Session, TestApp, PASSWORD};
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

#[tokio::test]
async fn unknown_vault_is_422_naming_vault_id() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    let unknown = uuid::Uuid::now_v7().to_string();
    let body = with(account("Unknown vault"), "vault_id", json!(unknown));
    let r = refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["vault_id"],
        app.post("/api/v1/accounts", t, body)
    );
    assert_eq!(
        r.json()["errors"][0]["field"],
        json!("vault_id"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn malformed_vault_id_is_4xx() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    // In a body: the JSON does not fit the schema.
    let body = with(account("Malformed vault"), "vault_id", json!("not-a-uuid"));
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["vault_id"],
        app.post("/api/v1/accounts", t, body)
    );
    // In a path: no such resource.
    refused_without_writes!(
        app,
        owner,
        StatusCode::NOT_FOUND,
        &["not-a-uuid"],
        app.get("/api/v1/vaults/not-a-uuid", t)
    );
    // In a query: a malformed request.
    refused_without_writes!(
        app,
        owner,
        StatusCode::BAD_REQUEST,
        &["vault_id"],
        app.get("/api/v1/accounts?vault_id=not-a-uuid", t)
    );
}

#[tokio::test]
async fn duplicate_label_is_409() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    app.post("/api/v1/accounts", t, account("Team Slack Admin"))
        .await
        .ok();
    for dup in [
        "team slack admin",
        "TEAM SLACK ADMIN",
        "  Team   Slack  Admin ",
        "Team Slack\u{a0}Admin",
    ] {
        refused_without_writes!(
            app,
            owner,
            StatusCode::CONFLICT,
            &["already exists"],
            app.post("/api/v1/accounts", t, account(dup))
        );
    }
    // Renaming another account onto the taken label is refused the same way.
    let other = app
        .post("/api/v1/accounts", t, account("Other"))
        .await
        .ok()
        .str("id");
    refused_without_writes!(
        app,
        owner,
        StatusCode::CONFLICT,
        &["already exists"],
        app.patch(
            &format!("/api/v1/accounts/{other}"),
            t,
            json!({ "label": "team  SLACK admin" })
        )
    );
}

#[tokio::test]
async fn over_long_fields_are_422_naming_the_field() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    let cases = [
        ("label", with(account("x"), "label", json!("l".repeat(201)))),
        (
            "username",
            with(account("Long username"), "username", json!("u".repeat(321))),
        ),
        (
            "password",
            with(
                account("Long password"),
                "password",
                json!("p".repeat(4097)),
            ),
        ),
        (
            "notes",
            with(
                account("Long notes"),
                "notes",
                json!("n".repeat(64 * 1024 + 1)),
            ),
        ),
        (
            "custom_fields",
            with(
                account("Many fields"),
                "custom_fields",
                Value::Array(
                    (0..51)
                        .map(|i| json!({ "name": format!("f{i}"), "value": "v" }))
                        .collect(),
                ),
            ),
        ),
    ];
    for (field, body) in cases {
        let r = refused_without_writes!(
            app,
            owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[field],
            app.post("/api/v1/accounts", t, body)
        );
        assert_eq!(r.json()["errors"][0]["field"], json!(field), "{}", r.text());
    }
    // An unknown key inside a custom field is refused like one at the top.
    let r = app
        .post(
            "/api/v1/accounts",
            t,
            json!({ "label": "x6", "custom_fields": [{ "name": "a", "value": "b", "bogus": 1 }] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("bogus"), "{}", r.text());
    // Exactly at the limits is fine.
    let at_limits = json!({
        "label": "l".repeat(200),
        "username": "u".repeat(320),
        "password": "p".repeat(4096),
        "notes": "n".repeat(64 * 1024),
        "custom_fields": (0..50).map(|i| json!({ "name": format!("f{i}"), "value": "v" })).collect::<Vec<_>>(),
    });
    let r = app.post("/api/v1/accounts", t, at_limits).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

#[tokio::test]
async fn over_long_fields_in_a_patch_are_422_naming_the_field() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    let id = app
        .post("/api/v1/accounts", t, account("To patch"))
        .await
        .ok()
        .str("id");
    let path = format!("/api/v1/accounts/{id}");
    for (field, body) in [
        ("label", json!({ "label": "l".repeat(201) })),
        ("username", json!({ "username": "u".repeat(321) })),
        ("password", json!({ "password": "p".repeat(4097) })),
        ("notes", json!({ "notes": "n".repeat(64 * 1024 + 1) })),
        (
            "custom_fields",
            json!({ "custom_fields": (0..51).map(|i| json!({ "name": format!("f{i}") })).collect::<Vec<_>>() }),
        ),
        ("login_url", json!({ "login_url": "javascript:alert(1)" })),
    ] {
        refused_without_writes!(
            app,
            owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[field],
            app.patch(&path, t, body)
        );
    }
    let v = app.get(&path, t).await.ok().json();
    assert_eq!(
        v["version"],
        json!(1),
        "refused patches leave the version alone: {v}"
    );
}

#[tokio::test]
async fn other_invalid_fields_are_422_naming_the_field() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    let cases: Vec<(&str, Value)> = vec![
        ("label", with(account("x"), "label", json!("   "))),
        ("label", with(account("x"), "label", json!("bell\u{7}"))),
        (
            "backup_codes",
            with(
                account("Codes"),
                "backup_codes",
                json!((0..65).map(|i| format!("code-{i}")).collect::<Vec<_>>()),
            ),
        ),
        (
            "backup_codes[1]",
            with(
                account("Code"),
                "backup_codes",
                json!(["ok", "c".repeat(101)]),
            ),
        ),
        (
            "custom_fields[1].name",
            with(
                account("Twice"),
                "custom_fields",
                json!([{ "name": "PIN", "value": "1" }, { "name": "pin", "value": "2" }]),
            ),
        ),
        (
            "custom_fields[0].name",
            with(
                account("Nameless"),
                "custom_fields",
                json!([{ "name": " ", "value": "1" }]),
            ),
        ),
        (
            "password",
            with(
                with(account("Both"), "generate_password", json!(true)),
                "password",
                json!("given"),
            ),
        ),
        (
            "setup",
            with(
                with(
                    account("Federated"),
                    "login_url",
                    json!("https://example.com/login"),
                ),
                "setup",
                json!("idp_provisioned"),
            ),
        ),
        ("setup", with(account("Bad setup"), "setup", json!("ghost"))),
        (
            "custom_fields",
            with(account("Bad type"), "custom_fields", json!("not a list")),
        ),
    ];
    for (field, body) in cases {
        refused_without_writes!(
            app,
            owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[field],
            app.post("/api/v1/accounts", t, body)
        );
    }
    // Moving an account to an unknown vault is refused the same way as creating one there.
    let id = app
        .post("/api/v1/accounts", t, account("Mover"))
        .await
        .ok()
        .str("id");
    let unknown = uuid::Uuid::now_v7().to_string();
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["vault_id"],
        app.patch(
            &format!("/api/v1/accounts/{id}"),
            t,
            json!({ "vault_id": unknown, "label": "Moved" })
        )
    );
    assert_eq!(
        app.get(&format!("/api/v1/accounts/{id}"), t)
            .await
            .ok()
            .json()["label"],
        json!("Mover")
    );
    // Other resources name their fields too.
    for (path, field, body) in [
        ("/api/v1/vaults", "name", json!({ "name": "" })),
        (
            "/api/v1/vaults",
            "kind",
            json!({ "name": "Local", "kind": "local" }),
        ),
        (
            "/api/v1/tokens",
            "expires_in_days",
            json!({ "name": "t", "expires_in_days": 0 }),
        ),
        (
            "/api/v1/tokens",
            "expires_in_days",
            json!({ "name": "t", "expires_in_days": 366 }),
        ),
        (
            "/api/v1/people",
            "email",
            json!({ "email": "not an email", "name": "N", "role": "user" }),
        ),
        (
            "/api/v1/people",
            "role",
            json!({ "email": "n@example.com", "name": "N", "role": "owner" }),
        ),
        (
            "/api/v1/people",
            "role",
            json!({ "email": "n@example.com", "name": "N", "role": "emperor" }),
        ),
        ("/api/v1/generate", "length", json!({ "length": 7 })),
        ("/api/v1/generate", "mode", json!({ "mode": "poem" })),
    ] {
        refused_without_writes!(
            app,
            owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[field],
            app.post(path, t, body)
        );
    }
}

#[tokio::test]
async fn invalid_urls_are_422_naming_the_field() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    for (field, value) in [
        ("login_url", "htp:/x"),
        ("app", "https://"),
        ("login_url", "javascript:alert(1)"),
        ("login_url", "ftp://files.example.com"),
        ("app", "http://"),
    ] {
        let body = with(account(&format!("URL {value}")), field, json!(value));
        let r = refused_without_writes!(
            app,
            owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[field],
            app.post("/api/v1/accounts", t, body)
        );
        assert_eq!(r.json()["errors"][0]["field"], json!(field), "{}", r.text());
    }
    // An unknown catalog app name is refused too.
    let body = with(account("Unknown app"), "app", json!("no-such-app"));
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["app", "no-such-app"],
        app.post("/api/v1/accounts", t, body)
    );
}

#[tokio::test]
async fn malformed_json_is_400() {
    let (app, owner) = claimed().await;
    let auth = format!("Bearer {}", owner.token);
    let headers = [
        (header::AUTHORIZATION, auth.as_str()),
        (header::CONTENT_TYPE, "application/json"),
    ];
    refused_without_writes!(
        app,
        owner,
        StatusCode::BAD_REQUEST,
        &["JSON"],
        app.raw("POST", "/api/v1/accounts", &headers, b"{bad".to_vec())
    );
    refused_without_writes!(
        app,
        owner,
        StatusCode::BAD_REQUEST,
        &["JSON"],
        app.raw("POST", "/api/v1/accounts", &headers, b"".to_vec())
    );
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let (app, owner) = claimed().await;
    let auth = format!("Bearer {}", owner.token);
    let body = serde_json::to_vec(&account("Plain text")).unwrap();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut headers = vec![(header::AUTHORIZATION, auth.as_str())];
        if let Some(ct) = ct {
            headers.push((header::CONTENT_TYPE, ct));
        }
        refused_without_writes!(
            app,
            owner,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &["Content-Type: application/json"],
            app.raw("POST", "/api/v1/accounts", &headers, body.clone())
        );
    }
}

/// A valid account body padded past 1 MiB with a long notes field.
fn huge_body() -> Vec<u8> {
    serde_json::to_vec(&with(
        account("Huge"),
        "notes",
        json!("n".repeat(castellan_server::MAX_BODY_BYTES + 16)),
    ))
    .unwrap()
}

#[tokio::test]
async fn body_over_1_mib_without_content_length_is_413() {
    let (app, owner) = claimed().await;
    let auth = format!("Bearer {}", owner.token);
    let headers = [
        (header::AUTHORIZATION, auth.as_str()),
        (header::CONTENT_TYPE, "application/json"),
    ];
    refused_without_writes!(
        app,
        owner,
        StatusCode::PAYLOAD_TOO_LARGE,
        &["1 MiB"],
        app.raw("POST", "/api/v1/accounts", &headers, huge_body())
    );
}

/// Real clients (curl, browsers, reqwest) send `Content-Length` with a buffered body; the size
/// limit then refuses the request before any extractor runs.
#[tokio::test]
async fn body_over_1_mib_with_content_length_is_413_problem_json() {
    let (app, owner) = claimed().await;
    let auth = format!("Bearer {}", owner.token);
    let body = huge_body();
    let len = body.len().to_string();
    let headers = [
        (header::AUTHORIZATION, auth.as_str()),
        (header::CONTENT_TYPE, "application/json"),
        (header::CONTENT_LENGTH, len.as_str()),
    ];
    refused_without_writes!(
        app,
        owner,
        StatusCode::PAYLOAD_TOO_LARGE,
        &["1 MiB"],
        app.raw("POST", "/api/v1/accounts", &headers, body)
    );
}

#[tokio::test]
async fn unknown_json_field_is_422() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    let body = with(account("Unknown field"), "passwrod", json!("typo"));
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["passwrod"],
        app.post("/api/v1/accounts", t, body)
    );
    let id = app
        .post("/api/v1/accounts", t, account("Patch target"))
        .await
        .ok()
        .str("id");
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["lable"],
        app.patch(
            &format!("/api/v1/accounts/{id}"),
            t,
            json!({ "lable": "typo" })
        )
    );
    // A wrong type names the field too.
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["label"],
        app.post("/api/v1/accounts", t, json!({ "label": 42 }))
    );
}

/// Every JSON body refuses a field it does not know (a typo must not be silently dropped, e.g.
/// `expires_in_day` on sign-in would give a 30-day token instead of a 1-day one).
#[tokio::test]
async fn unknown_json_field_is_422_on_every_json_body() {
    let app = TestApp::new().await;
    // Before claiming: a claim with an extra field must not claim the workspace.
    let claim = json!({ "setup_token": app.setup_token, "email": "owner@example.com", "name": "O", "password": PASSWORD, "colour": "blue" });
    let r = app
        .call("POST", "/api/v1/setup/claim", None, Some(claim))
        .await;
    let mut failures = vec![];
    let mut check = |what: &str, r: &Resp| {
        if r.status != StatusCode::UNPROCESSABLE_ENTITY
            || !r.is_problem()
            || !r.detail().contains("unknown field")
        {
            failures.push(format!(
                "{what}: expected 422 naming the unknown field, got {}: {}",
                r.status,
                r.text()
            ));
        }
    };
    check("POST /api/v1/setup/claim", &r);
    let setup = app.call("GET", "/api/v1/setup", None, None).await.json();
    let owner = if setup["claimed"] == json!(true) {
        // The claim went through: sign in to carry on.
        app.sign_in("owner@example.com", WorkspaceRole::Owner).await
    } else {
        app.claim().await
    };
    let t = owner.token.as_str();
    let vault = app.default_vault(t).await;
    let acc = app
        .post("/api/v1/accounts", t, account("Target"))
        .await
        .ok()
        .str("id");
    let (pid, inv) = app
        .invite(t, "guest@example.com", WorkspaceRole::Guest)
        .await;

    let cases: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/api/v1/auth/sign-in".into(),
            json!({ "email": "owner@example.com", "password": PASSWORD, "expires_in_day": 1 }),
        ),
        (
            "POST",
            "/api/v1/auth/accept-invitation".into(),
            json!({ "email": "guest@example.com", "invitation_token": inv, "password": PASSWORD, "x": 1 }),
        ),
        (
            "POST",
            "/api/v1/people".into(),
            json!({ "email": "p@example.com", "name": "P", "role": "user", "x": 1 }),
        ),
        (
            "POST",
            "/api/v1/auth/reset-password".into(),
            json!({ "reset_token": "cst_reset_x", "new_password": PASSWORD, "x": 1 }),
        ),
        (
            "POST",
            "/api/v1/me/password".into(),
            json!({ "current_password": PASSWORD, "new_password": "another long password", "x": 1 }),
        ),
        (
            "PATCH",
            format!("/api/v1/people/{pid}"),
            json!({ "name": "P", "x": 1 }),
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            json!({ "name": "t", "x": 1 }),
        ),
        (
            "POST",
            "/api/v1/vaults".into(),
            json!({ "name": "V", "x": 1 }),
        ),
        (
            "PUT",
            format!("/api/v1/vaults/{vault}/access/{pid}"),
            json!({ "role": "collaborator", "x": 1 }),
        ),
        (
            "POST",
            "/api/v1/accounts".into(),
            with(account("X"), "x", json!(1)),
        ),
        (
            "PATCH",
            format!("/api/v1/accounts/{acc}"),
            json!({ "label": "Y", "x": 1 }),
        ),
        (
            "PUT",
            format!("/api/v1/accounts/{acc}/access/{pid}"),
            json!({ "role": "collaborator", "x": 1 }),
        ),
        (
            "POST",
            "/api/v1/generate".into(),
            json!({ "length": 20, "x": 1 }),
        ),
        (
            "POST",
            "/api/v1/apps".into(),
            json!({ "id": "my-app", "name": "My app", "login_urls": ["https://my.example.com"], "domains": ["my.example.com"],
                    "password_rules": { "min_length": 8, "max_length": 64 }, "x": 1 }),
        ),
    ];
    for (m, path, body) in cases {
        let token = if path.starts_with("/api/v1/auth/") {
            None
        } else {
            Some(t)
        };
        let r = app.call(m, &path, token, Some(body)).await;
        check(&format!("{m} {path}"), &r);
    }
    // The reveal body is optional but, when given, is checked the same way (400 or 422).
    let r = app
        .post(
            &format!("/api/v1/accounts/{acc}/reveal"),
            t,
            json!({ "fieldz": ["password"] }),
        )
        .await;
    assert!(
        r.status.is_client_error() && r.is_problem() && r.detail().contains("fieldz"),
        "reveal: {}",
        r.text()
    );
    assert!(
        failures.is_empty(),
        "{} bodies accept unknown fields:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn recovery_endpoints_refuse_bad_input_without_writes() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    let nobody = uuid::Uuid::now_v7();
    for path in [
        format!("/api/v1/people/{nobody}/password-reset"),
        format!("/api/v1/people/{nobody}/invitation"),
    ] {
        refused_without_writes!(
            app,
            owner,
            StatusCode::NOT_FOUND,
            &["person"],
            app.post(&path, t, json!({}))
        );
        let r = app
            .post(&path.replace(&nobody.to_string(), "nope"), t, json!({}))
            .await;
        assert!(r.status.is_client_error() && r.is_problem(), "{}", r.text());
    }
    // Missing, mistyped or too short fields: 422 naming them, before any password is checked.
    for (body, field) in [
        (json!({ "current_password": PASSWORD }), "new_password"),
        (
            json!({ "current_password": PASSWORD, "new_password": 12 }),
            "new_password",
        ),
        (
            json!({ "current_password": PASSWORD, "new_password": "short" }),
            "new_password",
        ),
        (
            json!({ "current_password": PASSWORD, "new_password": "x".repeat(2000) }),
            "new_password",
        ),
    ] {
        refused_without_writes!(
            app,
            owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[field],
            app.post("/api/v1/me/password", t, body)
        );
    }
    for (body, field) in [
        (json!({ "new_password": PASSWORD }), "reset_token"),
        (
            json!({ "reset_token": "cst_reset_x", "new_password": "short" }),
            "new_password",
        ),
    ] {
        refused_without_writes!(
            app,
            owner,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[field],
            app.call("POST", "/api/v1/auth/reset-password", None, Some(body))
        );
    }
    let bearer = format!("Bearer {t}");
    for (path, auth) in [
        ("/api/v1/me/password", Some(bearer.as_str())),
        ("/api/v1/auth/reset-password", None),
    ] {
        let mut headers = vec![(header::CONTENT_TYPE, "application/json")];
        headers.extend(auth.map(|a| (header::AUTHORIZATION, a)));
        refused_without_writes!(
            app,
            owner,
            StatusCode::BAD_REQUEST,
            &[],
            app.raw("POST", path, &headers, b"{\"new_password\": ".to_vec())
        );
    }
    // A reset token that is not one is refused (and, like a failed sign-in, recorded).
    let r = app
        .call(
            "POST",
            "/api/v1/auth/reset-password",
            None,
            Some(json!({ "reset_token": "", "new_password": "a long enough password" })),
        )
        .await;
    r.assert_problem(StatusCode::UNAUTHORIZED, &["not valid"]);
    // The look-alike confirmation takes a boolean.
    refused_without_writes!(
        app,
        owner,
        StatusCode::BAD_REQUEST,
        &["confirm_confusable"],
        app.post(
            "/api/v1/accounts?confirm_confusable=maybe",
            t,
            account("Maybe")
        )
    );
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let (app, owner) = claimed().await;
    let (expired, expired_id) = app.new_token(&owner.token, "to expire").await;
    app.expire_token(&expired_id).await;
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        (
            "expired token",
            Some(format!("Bearer {expired}")),
            "expired",
        ),
        (
            "garbage token",
            Some("Bearer cst_this-is-not-a-token".into()),
            "not valid",
        ),
        ("empty bearer", Some("Bearer ".into()), "not valid"),
        (
            "basic auth",
            Some("Basic b3duZXJAZXhhbXBsZS5jb206cGFzc3dvcmQ=".into()),
            "Bearer",
        ),
        ("bare token", Some(owner.token.clone()), "Bearer"),
        ("no header", None, "Bearer"),
    ];
    for (what, authz, needle) in cases {
        let mut headers = vec![(header::CONTENT_TYPE, "application/json")];
        if let Some(a) = authz.as_deref() {
            headers.push((header::AUTHORIZATION, a));
        }
        let body = serde_json::to_vec(&account(&format!("Bad token {what}"))).unwrap();
        let r = refused_without_writes!(
            app,
            owner,
            StatusCode::UNAUTHORIZED,
            &[needle],
            app.raw("POST", "/api/v1/accounts", &headers, body)
        );
        let www = r
            .headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            www.starts_with("Bearer"),
            "{what}: WWW-Authenticate {www:?}"
        );
    }
}

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
async fn wrong_password_looks_like_unknown_email_and_is_recorded() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    let failed = |v: &Value| {
        v.as_array()
            .expect("events")
            .iter()
            .filter(|e| e["action"] == json!("auth.sign_in_failed"))
            .count()
    };
    let tokens_before = app
        .get("/api/v1/tokens", t)
        .await
        .ok()
        .json()
        .as_array()
        .unwrap()
        .len();
    let failed_before = failed(
        &app.get("/api/v1/activity?action=auth.sign_in_failed", t)
            .await
            .ok()
            .json(),
    );
    let (accounts_before, head_before) = app.snapshot(t).await;

    let sign_in = |email: &str, pw: &str| {
        app.call(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            Some(json!({ "email": email, "password": pw })),
        )
    };
    let wrong = sign_in(&owner.email, "not the right password").await;
    let unknown = sign_in("nobody@example.com", "not the right password").await;
    let wrong_case = sign_in("OWNER@example.com", "not the right password").await;
    let d1 = wrong.assert_problem(StatusCode::UNAUTHORIZED, &["wrong email or password"]);
    let d2 = unknown.assert_problem(StatusCode::UNAUTHORIZED, &["wrong email or password"]);
    let d3 = wrong_case.assert_problem(StatusCode::UNAUTHORIZED, &[]);
    assert_eq!(
        d1, d2,
        "a wrong password and an unknown email must read the same"
    );
    assert_eq!(d1, d3);
    assert_eq!(
        wrong.json(),
        unknown.json(),
        "the whole problem documents must be the same"
    );

    let events = app
        .get("/api/v1/activity?action=auth.sign_in_failed", t)
        .await
        .ok()
        .json();
    assert_eq!(
        failed(&events) - failed_before,
        3,
        "each failed attempt is recorded: {events}"
    );
    let newest = &events[0];
    assert_eq!(newest["action"], json!("auth.sign_in_failed"));
    // The attempt on a known email names its target; the unknown email names none.
    let known = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["target_label"] == json!(owner.email));
    assert!(
        known.is_some(),
        "the failed attempt on a known email targets that person: {events}"
    );

    // Nothing else was written: no token, no account; the chain moved by exactly the 3 events.
    let (accounts_after, head_after) = app.snapshot(t).await;
    assert_eq!(accounts_before, accounts_after);
    assert_eq!(
        head_after - head_before,
        3,
        "only the three failure events were appended"
    );
    let tokens_after = app
        .get("/api/v1/tokens", t)
        .await
        .ok()
        .json()
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        tokens_before, tokens_after,
        "a failed sign-in issues no token"
    );

    // A deactivated person, an invited person who never set a password and a malformed email
    // all read the same as an unknown email, even with the right password.
    let gone = app.person(t, "gone@example.com", WorkspaceRole::User).await;
    app.patch(
        &format!("/api/v1/people/{}", gone.person_id),
        t,
        json!({ "status": "deactivated" }),
    )
    .await
    .ok();
    app.invite(t, "pending@example.com", WorkspaceRole::User)
        .await;
    for email in ["gone@example.com", "pending@example.com", "not-an-email"] {
        let r = sign_in(email, PASSWORD).await;
        assert_eq!(
            r.assert_problem(StatusCode::UNAUTHORIZED, &[]),
            d1,
            "{email}"
        );
    }
    // The deactivated person's earlier token stopped working (deactivating revokes it).
    app.get("/api/v1/me", &gone.token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["API token"]);

    // The right password still works.
    let r = sign_in(&owner.email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

#[tokio::test]
async fn claim_twice_is_409() {
    let (app, owner) = claimed().await;
    let again = json!({ "setup_token": app.setup_token, "email": "second@example.com", "name": "Second", "password": PASSWORD });
    let r = refused_without_writes!(
        app,
        owner,
        StatusCode::CONFLICT,
        &["already claimed"],
        app.call("POST", "/api/v1/setup/claim", None, Some(again))
    );
    drop(r);
    let people = app.get("/api/v1/people", &owner.token).await.ok().json();
    assert_eq!(
        people.as_array().unwrap().len(),
        1,
        "no second person: {people}"
    );
    let r = app
        .call(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            Some(json!({ "email": "second@example.com", "password": PASSWORD })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn claim_with_a_wrong_setup_token_is_401() {
    let app = TestApp::new().await;
    let bad = json!({ "setup_token": "cst_setup_wrong", "email": "owner@example.com", "name": "Mallory", "password": PASSWORD });
    let r = app
        .call("POST", "/api/v1/setup/claim", None, Some(bad))
        .await;
    r.assert_problem(StatusCode::UNAUTHORIZED, &["setup token"]);
    let setup = app.call("GET", "/api/v1/setup", None, None).await.json();
    assert_eq!(
        setup["claimed"],
        json!(false),
        "a wrong setup token claims nothing: {setup}"
    );
    // Validation comes first and names the field.
    let short = json!({ "setup_token": app.setup_token, "email": "owner@example.com", "name": "O", "password": "short" });
    app.call("POST", "/api/v1/setup/claim", None, Some(short))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["password", "12"]);
    let email = json!({ "setup_token": app.setup_token, "email": "not-an-email", "name": "O", "password": PASSWORD });
    app.call("POST", "/api/v1/setup/claim", None, Some(email))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["email"]);
    // The right token still claims afterwards, and the failed attempt is in the log.
    let owner = app.claim().await;
    let events = app
        .get(
            "/api/v1/activity?action=workspace.claim_failed",
            &owner.token,
        )
        .await
        .ok()
        .json();
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
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

/// create → get → patch with `version` → stale patch → 409 → reveal; a collaborator sees the
/// account but may not reveal it.
#[tokio::test]
async fn account_lifecycle_with_versions_reveal_and_collaborator() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    let created = app
        .post(
            "/api/v1/accounts",
            t,
            json!({
                "label": "Slack admin",
                "app": "Slack",
                "username": "admin@example.com",
                "password": "s3cret password",
                "notes": "recovery notes",
                "backup_codes": ["1111-2222", "3333-4444"],
                "custom_fields": [{ "name": "workspace", "value": "acme" }, { "name": "pin", "value": "9876", "secret": true }],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let c = created.json();
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(c["app_id"], json!("slack"));
    assert_eq!(c["login_url"], json!("https://slack.com/signin"));
    assert_eq!(c["version"], json!(1));
    assert_eq!(c["has_password"], json!(true));
    assert_eq!(c["my_role"], json!("owner"));
    assert!(
        !created.text().contains("s3cret password"),
        "no secret in the create response"
    );
    assert_eq!(
        c["custom_fields"][1],
        json!({ "name": "pin", "value": null, "secret": true })
    );

    let path = format!("/api/v1/accounts/{id}");
    let got = app.get(&path, t).await.ok();
    assert_eq!(got.json()["label"], json!("Slack admin"));
    assert!(
        !got.text().contains("s3cret") && !got.text().contains("9876"),
        "no secret in GET: {}",
        got.text()
    );

    let p1 = app
        .patch(
            &path,
            t,
            json!({ "version": 1, "username": "owner@example.com" }),
        )
        .await
        .ok()
        .json();
    assert_eq!(p1["version"], json!(2));
    assert_eq!(p1["username"], json!("owner@example.com"));

    let before = app.snapshot(t).await;
    let stale = app
        .patch(
            &path,
            t,
            json!({ "version": 1, "username": "stale@example.com" }),
        )
        .await;
    stale.assert_problem(StatusCode::CONFLICT, &["version 1", "version 2"]);
    assert_eq!(
        app.snapshot(t).await,
        before,
        "a stale patch writes nothing"
    );
    let now = app.get(&path, t).await.ok().json();
    assert_eq!(now["username"], json!("owner@example.com"));
    assert_eq!(now["version"], json!(2));

    let secrets = app
        .post(&format!("{path}/reveal"), t, json!({}))
        .await
        .ok()
        .json();
    assert_eq!(secrets["password"], json!("s3cret password"));
    assert_eq!(secrets["notes"], json!("recovery notes"));
    assert_eq!(secrets["backup_codes"], json!(["1111-2222", "3333-4444"]));
    assert_eq!(secrets["custom_fields"], json!({ "pin": "9876" }));
    let only = app
        .post(
            &format!("{path}/reveal"),
            t,
            json!({ "fields": ["password"] }),
        )
        .await
        .ok()
        .json();
    assert_eq!(only["password"], json!("s3cret password"));
    assert_eq!(only["notes"], Value::Null);
    let empty_body = app
        .call("POST", &format!("{path}/reveal"), Some(t), None)
        .await
        .ok()
        .json();
    assert_eq!(empty_body["password"], json!("s3cret password"));
    let reveals = app
        .get(
            &format!("/api/v1/activity?action=account.reveal&target_id={id}"),
            t,
        )
        .await
        .ok()
        .json();
    assert_eq!(
        reveals.as_array().unwrap().len(),
        3,
        "every reveal is recorded"
    );
    assert!(
        !reveals.to_string().contains("s3cret"),
        "the log names fields, never values"
    );

    // A `user` with the collaborator item role: sees the account, may not reveal it.
    let collab = app
        .person(t, "collab@example.com", WorkspaceRole::User)
        .await;
    let share = app
        .put(
            &format!("{path}/access/{}", collab.person_id),
            t,
            json!({ "role": "collaborator" }),
        )
        .await
        .ok()
        .json();
    assert!(share
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["person_id"] == json!(collab.person_id) && g["role"] == json!("collaborator")));
    let seen = app.get(&path, &collab.token).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text());
    assert_eq!(seen.json()["my_role"], json!("collaborator"));
    app.warm_up(&collab.token).await;
    let before = app.snapshot(t).await;
    let denied = app
        .post(&format!("{path}/reveal"), &collab.token, json!({}))
        .await;
    denied.assert_problem(StatusCode::FORBIDDEN, &["collaborator"]);
    assert!(!denied.text().contains("s3cret"));
    let edit = app
        .patch(&path, &collab.token, json!({ "label": "Mine now" }))
        .await;
    edit.assert_problem(StatusCode::FORBIDDEN, &["collaborator"]);
    assert_eq!(
        app.snapshot(t).await,
        before,
        "refused reveal and edit write nothing"
    );

    // Someone it is not shared with cannot even tell it exists.
    let stranger = app
        .person(t, "stranger@example.com", WorkspaceRole::User)
        .await;
    app.get(&path, &stranger.token)
        .await
        .assert_problem(StatusCode::NOT_FOUND, &["account"]);
    app.post(&format!("{path}/reveal"), &stranger.token, json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, &["account"]);
}

/// Patching an account whose app is a *custom* catalog app keeps that app's rules: an
/// `idp_provisioned` account of a custom SAML app stays valid when only its label changes, and a
/// password generated by a patch follows the custom app's password rules like one generated at
/// creation.
#[tokio::test]
async fn patching_an_account_of_a_custom_app_keeps_the_app_rules() {
    let (app, owner) = claimed().await;
    let t = owner.token.as_str();
    app.post(
        "/api/v1/apps",
        t,
        json!({ "id": "inhouse", "name": "In-house", "login_urls": ["https://inhouse.example.com/login"],
                "domains": ["inhouse.example.com"], "saml_sso": true,
                "password_rules": { "min_length": 8, "max_length": 12, "symbols": "", "require": ["digit"] } }),
    )
    .await
    .ok();
    let mut failures = vec![];

    // 1. Renaming an idp_provisioned account of the custom SAML app.
    let id = app
        .post(
            "/api/v1/accounts",
            t,
            json!({ "label": "In-house federated", "app": "inhouse", "setup": "idp_provisioned" }),
        )
        .await
        .ok()
        .str("id");
    let r = app
        .patch(
            &format!("/api/v1/accounts/{id}"),
            t,
            json!({ "label": "In-house (federated)" }),
        )
        .await;
    if r.status != StatusCode::OK {
        failures.push(format!(
            "renaming an idp_provisioned account of a custom SAML app: expected 200, got {}: {}",
            r.status,
            r.text()
        ));
    }

    // 2. A generated password follows the custom app's rules (at most 12 characters, no
    // symbols), on create and on patch alike.
    let id = app
        .post(
            "/api/v1/accounts",
            t,
            json!({ "label": "In-house shared", "app": "inhouse", "generate_password": true }),
        )
        .await
        .ok()
        .str("id");
    let path = format!("/api/v1/accounts/{id}");
    let created = app
        .post(&format!("{path}/reveal"), t, json!({}))
        .await
        .ok()
        .json()["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        created.chars().count() <= 12 && created.chars().all(char::is_alphanumeric),
        "create follows the custom app's rules: {created:?}"
    );
    app.patch(&path, t, json!({ "generate_password": true }))
        .await
        .ok();
    let patched = app
        .post(&format!("{path}/reveal"), t, json!({}))
        .await
        .ok()
        .json()["password"]
        .as_str()
        .unwrap()
        .to_owned();
    if patched.chars().count() > 12 || !patched.chars().all(char::is_alphanumeric) {
        failures.push(format!(
            "a password generated by PATCH ignores the custom app's rules (max 12, no symbols): {patched:?} ({} chars)",
            patched.chars().count()
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_hub_refuses_an_automation_account_of_another_app() {
    let (app, owner) = claimed().await;
    let slack = app
        .post(
            "/api/v1/accounts",
            &owner.token,
            json!({ "label": "Slack admin", "app": "slack", "username": "a@example.com", "password": "pw-1234567890" }),
        )
        .await
        .ok()
        .str("id");
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["is for Slack, not Matrix Synapse"],
        app.post(
            "/api/v1/hubs",
            &owner.token,
            json!({ "app": "matrix-synapse", "label": "Matrix", "base_url": "http://127.0.0.1:9", "automation_account_id": slack }),
        )
    );
    // Switching a hub to such an account is refused too.
    let hub = synapse_hub(&app, &owner).await;
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["is for Slack"],
        app.patch(
            &format!("/api/v1/hubs/{hub}"),
            &owner.token,
            json!({ "automation_account_id": slack }),
        )
    );
}

#[tokio::test]
async fn admins_cannot_grant_themselves_vault_access_or_cut_off_those_above_them() {
    let (app, owner) = claimed().await;
    let vault = app.default_vault(&owner.token).await;
    let admin = app
        .person(&owner.token, "admin@example.com", WorkspaceRole::Admin)
        .await;
    let user = app
        .person(&owner.token, "user@example.com", WorkspaceRole::User)
        .await;
    let owner_id = app.get("/api/v1/me", &owner.token).await.ok().str("id");
    app.warm_up(&admin.token).await;
    let put = |who: &str| format!("/api/v1/vaults/{vault}/access/{who}");
    refused_without_writes!(
        app,
        owner,
        StatusCode::FORBIDDEN,
        &["your own vault access"],
        app.put(
            &put(&admin.person_id),
            &admin.token,
            json!({ "role": "owner" })
        )
    );
    refused_without_writes!(
        app,
        owner,
        StatusCode::FORBIDDEN,
        &["may not change the vault access of a `owner`"],
        app.delete(&put(&owner_id), &admin.token)
    );
    // Admins still manage the vault access of users.
    let r = app
        .put(
            &put(&user.person_id),
            &admin.token,
            json!({ "role": "collaborator" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn a_member_cannot_be_matched_to_a_deactivated_person() {
    let (app, owner) = claimed().await;
    let hub = synapse_hub(&app, &owner).await;
    app.seed_hub_member(&hub, "@gone:localhost").await;
    let gone = app
        .person(&owner.token, "gone@example.com", WorkspaceRole::User)
        .await;
    app.patch(
        &format!("/api/v1/people/{}", gone.person_id),
        &owner.token,
        json!({ "status": "deactivated" }),
    )
    .await
    .ok();
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["is deactivated"],
        app.post(
            &format!("/api/v1/hubs/{hub}/members/%40gone%3Alocalhost"),
            &owner.token,
            json!({ "action": "match", "person_id": gone.person_id }),
        )
    );
}

/// A Synapse hub "Matrix" (at a closed port: no worker runs here) with its automation account
/// "Synapse bot"; returns the hub id.
async fn synapse_hub(app: &TestApp, owner: &Session) -> String {
    let acc = app
        .post(
            "/api/v1/accounts",
            &owner.token,
            json!({ "label": "Synapse bot", "app": "matrix-synapse", "username": "bot", "password": "pw-1234567890" }),
        )
        .await
        .ok()
        .str("id");
    app.post(
        "/api/v1/hubs",
        &owner.token,
        json!({ "app": "matrix-synapse", "label": "Matrix", "base_url": "http://127.0.0.1:9", "automation_account_id": acc }),
    )
    .await
    .ok()
    .str("id")
}
