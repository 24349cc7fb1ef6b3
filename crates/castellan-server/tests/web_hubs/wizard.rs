//! The connect wizard: its steps in order, field errors that keep what was typed, and a
//! placeholder automation account whose password is never echoed.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::common::TestApp;
use super::web::{self, attr, block, has_attr};
use super::{bot_account, owner_world, refused, see_other};

/// The hub (as the API shows it) whose page `location` is.
async fn hub_at(app: &TestApp, token: &str, location: &str) -> Value {
    let id = location
        .trim_start_matches("/hubs/")
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    app.get(&format!("/api/v1/hubs/{id}"), token)
        .await
        .ok()
        .json()
}

/// The wizard's answers so far, plus `more`.
fn answers<'a>(
    base: &[(&'a str, &'a str)],
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut v = base.to_vec();
    v.extend_from_slice(more);
    v
}

#[tokio::test]
async fn the_wizard_connects_a_hub_step_by_step_and_keeps_what_was_typed() {
    let (app, token, b) = owner_world().await;
    let acc = bot_account(&app, &token, "Synapse bot", "placeholder").await;

    // Step 1: apps with a connector first, then the others as manual hubs.
    let p = b.get(&app, "/hubs/new").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text());
    let html = p.text();
    let select = block(&html, "hub-app", "</select>").expect("the app select");
    let (automated, manual) = select
        .split_once("Manual: tasks for an app admin")
        .expect("a group of manual apps");
    assert!(automated.contains("value=\"matrix-synapse\""), "{select}");
    assert!(!automated.contains("Slack"), "{select}");
    assert!(
        manual.contains("Slack (manual: tasks for an app admin)"),
        "{select}"
    );
    assert!(html.contains("id=\"hub-next\""));
    assert!(html.contains("aria-current=\"step\""));

    let html = refused(&b, &app, "/hubs/new", &[("step", "1"), ("app", "")]).await;
    assert!(has_attr(&html, "hub-app", "aria-invalid"));
    assert!(html.contains("Choose an app."), "{}", html);
    // Slack has no connector: its step 2 asks for the manual connector's app admin.
    let r = b
        .post(&app, "/hubs/new", &[("step", "1"), ("app", "slack")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.text().contains("id=\"hub-setting_app_admin\""),
        "{}",
        r.text()
    );

    // Step 2: label, organization id and (self-hosted) base URL.
    let s1 = [("app", "matrix-synapse")];
    let r = b
        .post(&app, "/hubs/new", &answers(&s1, &[("step", "1")]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    for id in ["hub-label", "hub-org", "hub-url", "hub-next", "hub-back"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(
        has_attr(&html, "hub-url", "required"),
        "a self-hosted app needs its URL"
    );
    assert!(
        html.contains("name=\"app\" value=\"matrix-synapse\""),
        "step 1 is carried"
    );

    let bad = [
        ("step", "2"),
        ("label", "Matrix <team>"),
        ("organization_id", "acme"),
        ("base_url", "not a url"),
    ];
    let html = refused(&b, &app, "/hubs/new", &answers(&s1, &bad)).await;
    assert_eq!(
        attr(&html, "hub-label", "value").as_deref(),
        Some("Matrix <team>")
    );
    assert_eq!(attr(&html, "hub-org", "value").as_deref(), Some("acme"));
    assert_eq!(
        attr(&html, "hub-url", "value").as_deref(),
        Some("not a url")
    );
    assert!(has_attr(&html, "hub-url", "aria-invalid"));
    assert_eq!(
        attr(&html, "hub-url", "aria-describedby").as_deref(),
        Some("hub-url-hint hub-url-error")
    );
    assert!(html.contains("id=\"hub-url-error\""));
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(&s1, &[("step", "2"), ("label", "Matrix"), ("base_url", "")]),
    )
    .await;
    assert!(
        html.contains("address of your Matrix Synapse server"),
        "{}",
        html
    );

    // Step 3: user management and login method.
    let s2 = answers(
        &s1,
        &[
            ("label", "Matrix"),
            ("organization_id", "acme"),
            ("base_url", "http://127.0.0.1:9/"),
        ],
    );
    let r = b
        .post(&app, "/hubs/new", &answers(&s2, &[("step", "2")]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains("id=\"hub-user-management\"") && html.contains("id=\"hub-login-method\"")
    );
    assert!(
        html.contains("name=\"label\" value=\"Matrix\""),
        "step 2 is carried"
    );
    assert!(
        html.contains("invite members"),
        "the app's capabilities are shown"
    );
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(
            &s2,
            &[
                ("step", "3"),
                ("user_management", "api"),
                ("login_method", "carrier pigeon"),
            ],
        ),
    )
    .await;
    assert!(has_attr(&html, "hub-login-method", "aria-invalid"));
    // Back keeps the answers.
    let r = b
        .post(
            &app,
            "/hubs/new",
            &answers(&s2, &[("step", "3"), ("go", "back")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        attr(&r.text(), "hub-label", "value").as_deref(),
        Some("Matrix")
    );

    // Step 4: the automation account.
    let s3 = answers(
        &s2,
        &[("user_management", "api"), ("login_method", "password")],
    );
    let r = b
        .post(&app, "/hubs/new", &answers(&s3, &[("step", "3")]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    let select = block(&html, "hub-account", "</select>").expect("the account select");
    assert!(select.contains(&format!("value=\"{acc}\"")), "{select}");
    assert!(select.contains("Matrix Synapse accounts"), "{select}");
    assert!(html.contains("id=\"hub-connect\""));
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(&s3, &[("step", "4"), ("automation_account_id", "")]),
    )
    .await;
    assert!(has_attr(&html, "hub-account", "aria-invalid"));

    let r = b
        .post(
            &app,
            "/hubs/new",
            &answers(&s3, &[("step", "4"), ("automation_account_id", &acc)]),
        )
        .await;
    let to = see_other(&r, "/hubs/");
    assert!(to.ends_with("?done=connected"), "{to}");
    let h = hub_at(&app, &token, &to).await;
    assert_eq!(h["label"], "Matrix");
    assert_eq!(h["organization_id"], "acme");
    assert_eq!(h["base_url"], "http://127.0.0.1:9");
    assert_eq!(h["status"], "under_validation");
    assert_eq!(h["automation_account_id"], acc.as_str());
    let page = b.get(&app, &to).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("The hub is connected."));

    // The same label again is refused at step 2, and at the end (with the step shown again).
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(
            &s1,
            &[
                ("step", "2"),
                ("label", "matrix"),
                ("base_url", "http://x.test"),
            ],
        ),
    )
    .await;
    assert!(html.contains("already exists"), "{}", html);
    let again = answers(
        &s1,
        &[
            ("label", "MATRIX"),
            ("base_url", "http://x.test"),
            ("user_management", "api"),
            ("login_method", "password"),
            ("automation_account_id", &acc),
            ("step", "4"),
        ],
    );
    let html = refused(&b, &app, "/hubs/new", &again).await;
    assert!(
        has_attr(&html, "hub-label", "aria-invalid"),
        "back on step 2: {html}"
    );
    assert_eq!(attr(&html, "hub-label", "value").as_deref(), Some("MATRIX"));
    assert_eq!(
        web::hidden(&html, "automation_account_id").as_deref(),
        Some(acc.as_str()),
        "later answers are carried too"
    );
}

#[tokio::test]
async fn the_wizard_makes_a_placeholder_account_and_never_echoes_its_password() {
    let (app, token, b) = owner_world().await;
    let s3 = [
        ("app", "matrix-synapse"),
        ("label", "Ghosted"),
        ("base_url", "http://127.0.0.1:9"),
        ("user_management", "api"),
        ("login_method", "password_totp"),
        ("step", "4"),
        ("automation_account_id", "placeholder"),
    ];
    let secret = "typed-Secret-4711";
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(
            &s3,
            &[
                ("placeholder_username", ""),
                ("placeholder_password", secret),
            ],
        ),
    )
    .await;
    assert!(has_attr(&html, "hub-placeholder-username", "aria-invalid"));
    assert!(!html.contains(secret), "the password is not shown again");
    assert_eq!(
        app.account_count(&token).await,
        0,
        "no account before the step passes"
    );

    let r = b
        .post(
            &app,
            "/hubs/new",
            &answers(
                &s3,
                &[
                    ("placeholder_username", "castellan-bot"),
                    ("placeholder_password", secret),
                ],
            ),
        )
        .await;
    let to = see_other(&r, "/hubs/");
    let h = hub_at(&app, &token, &to).await;
    assert_eq!(h["login_method"], "password_totp");
    let acc = h["automation_account_id"].as_str().unwrap().to_owned();
    let a = app
        .get(&format!("/api/v1/accounts/{acc}"), &token)
        .await
        .ok()
        .json();
    assert_eq!(a["setup"], "placeholder");
    assert_eq!(a["username"], "castellan-bot");
    assert_eq!(a["label"], "Matrix Synapse automation (Ghosted)");
    let revealed = app
        .post(
            &format!("/api/v1/accounts/{acc}/reveal"),
            &token,
            json!({ "fields": ["password"] }),
        )
        .await
        .ok();
    assert_eq!(
        revealed.json()["password"],
        secret,
        "the typed password is stored"
    );
    // The hub warns: no 2FA managed by Castellan on the new account.
    let page = b.get(&app, &to).await.text();
    let status = block(&page, "hub-status", "</section>").expect("status");
    assert!(status.contains("no 2FA managed by Castellan"), "{status}");
    assert!(!page.contains(secret));

    // A refused connect (the label is taken by now) makes no placeholder account.
    let before = app.account_count(&token).await;
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(
            &s3[..4],
            &[
                ("login_method", "password"),
                ("step", "4"),
                ("automation_account_id", "placeholder"),
                ("placeholder_username", "other-bot"),
            ],
        ),
    )
    .await;
    assert!(has_attr(&html, "hub-label", "aria-invalid"), "{html}");
    assert_eq!(app.account_count(&token).await, before);
}

/// Choosing the browser in step 3 makes step 2's settings the browser connector's: a setting
/// only the browser connector has is refused on the API path, offered on the browser path
/// (going back to step 2), and the hub connects on the browser connector with it.
#[tokio::test]
async fn the_browser_path_asks_for_the_browser_connectors_settings() {
    let (app, token, b) = owner_world().await;
    let acc = app
        .post(
            "/api/v1/accounts",
            &token,
            json!({ "label": "Redmine bot", "app": "redmine", "username": "admin", "password": "adminpass", "setup": "placeholder" }),
        )
        .await
        .ok()
        .str("id");
    let s2 = [
        ("app", "redmine"),
        ("label", "Redmine pages"),
        ("base_url", "http://127.0.0.1:9"),
        ("setting_sign_in_with", "emailed_link"),
    ];
    let api = answers(
        &s2,
        &[("user_management", "api"), ("login_method", "password")],
    );
    let browser = answers(
        &s2,
        &[("user_management", "browser"), ("login_method", "password")],
    );

    // Through the API, `sign_in_with` is no setting: step 2 says so and does not offer it.
    let html = refused(&b, &app, "/hubs/new", &answers(&api, &[("step", "3")])).await;
    assert!(
        html.contains("is not a setting of this connector"),
        "{html}"
    );
    assert!(!html.contains("id=\"hub-setting_sign_in_with\""), "{html}");

    // On the app's pages, step 2 offers it (back from step 3) with what was typed, and the
    // steps go on to the automation account.
    let back = answers(&browser, &[("step", "3"), ("go", "back")]);
    let r = b.post(&app, "/hubs/new", &back).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.text().contains("id=\"hub-setting_sign_in_with\""),
        "{}",
        r.text()
    );
    let r = b
        .post(&app, "/hubs/new", &answers(&browser, &[("step", "3")]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("id=\"hub-connect\""), "{}", r.text());

    let done = answers(&browser, &[("step", "4"), ("automation_account_id", &acc)]);
    let r = b.post(&app, "/hubs/new", &done).await;
    let hub = hub_at(&app, &token, &see_other(&r, "/hubs/")).await;
    assert_eq!(hub["connector"], "redmine_browser", "{hub:#}");
    assert_eq!(hub["settings"]["sign_in_with"], "emailed_link", "{hub:#}");
}
