//! Credentials: the recovery endpoints, bad API tokens, a wrong password (which looks like an
//! unknown email and is recorded), and claiming a workspace twice or with a wrong setup token.

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use serde_json::{json, Value};

use super::common::{Resp, TestApp, PASSWORD};
use super::{account, claimed};

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
