//! An account's life: versions, a stale patch refused with 409, reveal, a collaborator who sees
//! but may not reveal; and a patch of a custom app's account that keeps the app's rules.

use axum::http::StatusCode;
use castellan_core::model::WorkspaceRole;
use serde_json::{json, Value};

use super::claimed;

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
