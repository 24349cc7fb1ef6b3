//! Bodies that cannot be read: malformed JSON, a wrong content type, bodies over 1 MiB (with and
//! without a content length) and unknown JSON fields on every JSON body.

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use serde_json::{json, Value};

use super::common::{Resp, TestApp, PASSWORD};
use super::{account, claimed, with};

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
