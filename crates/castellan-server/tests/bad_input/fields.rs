//! Invalid fields: an unknown or malformed vault id, a duplicate label, over-long fields (on
//! create and on patch), other invalid fields and invalid URLs, each refused naming the field.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::common::Resp;
use super::{account, claimed, with};

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
