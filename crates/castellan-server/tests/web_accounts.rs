//! Router tests of the web app's account pages: "Add item → Account" (with the password
//! generator and field errors that keep what was typed), the account page (reveal, 2FA by
//! secret and by QR upload, managed email address and phone number, sharing, activity) and the
//! shared inbox with its filters. People sign in through the web sign-in form.

mod common;

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use common::{Resp, TestApp, PASSWORD};
use serde_json::json;

#[path = "web_accounts/inbox.rs"]
mod inbox;
#[path = "web_accounts/two_factor.rs"]
mod two_factor;
#[path = "common/web.rs"]
mod web;

/// The text inside the element with `id` (up to the next tag), unescaped and trimmed.
fn text_of(html: &str, id: &str) -> Option<String> {
    let t = web::tag(html, id)?;
    let at = html.find(t)? + t.len();
    let len = html[at..].find('<')?;
    Some(web::unescape(html[at..at + len].trim()))
}

/// Posts `multipart/form-data` with the session cookie: text fields, then one file field.
async fn post_multipart(
    b: &Browser,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    file: (&str, &str, &[u8]),
) -> Resp {
    let boundary = "castellan-test-boundary-7f3a";
    let mut body: Vec<u8> = vec![];
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    let (name, filename, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    app.raw(
        "POST",
        path,
        &[(header::COOKIE, &b.cookie), (header::CONTENT_TYPE, &ct)],
        body,
    )
    .await
}

use web::{api_account, assert_see_other, attr, events, location, owner_in_browser, tag, Browser};

/// The "Add account" form for a Slack account saved with a generated password.
fn with_generated<'a>(
    label: &'a str,
    password: &'a str,
    vault: &'a str,
) -> [(&'a str, &'a str); 7] {
    [
        ("label", label),
        ("app", "Slack"),
        ("username", "ops@example.com"),
        ("password", password),
        ("generated", "1"),
        ("vault", vault),
        ("action", "save"),
    ]
}

/// The account id in `/accounts/{id}?…`.
fn account_in(location: &str) -> String {
    location
        .trim_start_matches("/accounts/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn add_account_with_the_generator_and_field_errors_that_keep_what_was_typed() {
    let (app, owner, b) = owner_in_browser().await;

    let form = b.get(&app, "/accounts/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    let html = form.text();
    for id in ["label", "app", "username", "password", "generate", "save"] {
        assert!(tag(&html, id).is_some(), "no #{id} in the form");
        if !["generate", "save"].contains(&id) {
            assert!(
                html.contains(&format!("<label for=\"{id}\"")),
                "#{id} has no label"
            );
        }
    }
    assert!(html.contains("<datalist id=\"apps\">") && html.contains("<option value=\"Slack\">"));
    assert_eq!(attr(&html, "app", "list").as_deref(), Some("apps"));
    assert_eq!(attr(&html, "password", "type").as_deref(), Some("password"));
    // Only the default vault: the vault field is hidden.
    assert_eq!(attr(&html, "vault", "type").as_deref(), Some("hidden"));
    let default_vault = app.default_vault(&owner.token).await;
    assert_eq!(attr(&html, "vault", "value"), Some(default_vault.clone()));

    // Generate: the form comes back with a fresh password, shown, and what was typed kept.
    let typed = [
        ("label", "Team Slack"),
        ("app", "Slack"),
        ("username", "ops@example.com"),
        ("vault", default_vault.as_str()),
    ];
    let mut fields = typed.to_vec();
    fields.push(("password", ""));
    fields.push(("action", "generate"));
    let g = b.post(&app, "/accounts/new", &fields).await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.text());
    let html = g.text();
    let generated = attr(&html, "password", "value").expect("a generated password");
    assert!(generated.chars().count() >= 12, "{generated}");
    assert_eq!(attr(&html, "password", "type").as_deref(), Some("text"));
    assert_eq!(attr(&html, "label", "value").as_deref(), Some("Team Slack"));
    assert_eq!(attr(&html, "app", "value").as_deref(), Some("Slack"));
    assert_eq!(
        attr(&html, "username", "value").as_deref(),
        Some("ops@example.com")
    );
    let g2 = b.post(&app, "/accounts/new", &fields).await;
    assert_ne!(
        attr(&g2.text(), "password", "value"),
        Some(generated.clone())
    );

    // A validation error: shown next to the field, everything typed kept, the generated
    // password too (it was on screen already).
    let bad = b
        .post(
            &app,
            "/accounts/new",
            &with_generated("   ", &generated, &default_vault),
        )
        .await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad.text()
    );
    let html = bad.text();
    assert_eq!(
        attr(&html, "label", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        attr(&html, "label", "aria-describedby").as_deref(),
        Some("label-error")
    );
    assert!(
        text_of(&html, "label-error").is_some_and(|t| t.contains("empty")),
        "{html}"
    );
    assert_eq!(attr(&html, "app", "value").as_deref(), Some("Slack"));
    assert_eq!(
        attr(&html, "username", "value").as_deref(),
        Some("ops@example.com")
    );
    assert_eq!(attr(&html, "password", "value"), Some(generated.clone()));

    // A typed password is never echoed back; an unknown app is named next to the app field.
    let typed_secret = "typed-secret-Zq9!xx";
    let bad = b
        .post(
            &app,
            "/accounts/new",
            &[
                ("label", "Typed"),
                ("app", "No Such App"),
                ("username", "me"),
                ("password", typed_secret),
                ("vault", &default_vault),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text();
    assert!(!html.contains(typed_secret), "a typed password came back");
    assert!(text_of(&html, "app-error").is_some_and(|t| t.contains("not a catalog app")));
    assert!(text_of(&html, "password-error").is_some_and(|t| t.contains("type it again")));
    assert_eq!(attr(&html, "app", "value").as_deref(), Some("No Such App"));

    // Saving: 303 to the account page; the API shows what was saved.
    let saved = b
        .post(
            &app,
            "/accounts/new",
            &with_generated("Team Slack", &generated, &default_vault),
        )
        .await;
    let to = assert_see_other(&saved, "/accounts/");
    let id = account_in(&to);
    let v = app
        .get(&format!("/api/v1/accounts/{id}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(v["label"], "Team Slack");
    assert_eq!(v["app_id"], "slack");
    assert_eq!(v["username"], "ops@example.com");
    assert_eq!(v["vault_id"], json!(default_vault));
    let secrets = app
        .post(
            &format!("/api/v1/accounts/{id}/reveal"),
            &owner.token,
            json!({}),
        )
        .await
        .ok()
        .json();
    assert_eq!(secrets["password"], json!(generated));
    let page = b.get(&app, &to).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Account added."));

    // A URL instead of an app name gives the login URL.
    let url = b
        .post(
            &app,
            "/accounts/new",
            &[
                ("label", "Intranet"),
                ("app", "https://intranet.example.org/login"),
            ],
        )
        .await;
    let id = account_in(&assert_see_other(&url, "/accounts/"));
    let v = app
        .get(&format!("/api/v1/accounts/{id}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(v["login_url"], "https://intranet.example.org/login");

    // The same label in the same vault: said next to the label.
    let dup = b
        .post(
            &app,
            "/accounts/new",
            &[("label", "team slack"), ("app", "Slack")],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&dup.text(), "label-error").is_some_and(|t| t.contains("already exists")));

    // With a second vault the field is a drop-down.
    app.post(
        "/api/v1/vaults",
        &owner.token,
        json!({ "name": "Marketing" }),
    )
    .await
    .ok();
    let html = b.get(&app, "/accounts/new").await.text();
    assert!(
        tag(&html, "vault").is_some_and(|t| t.starts_with("<select")),
        "{html}"
    );
    assert!(html.contains(">Marketing</option>"));
    assert!(html.contains("<label for=\"vault\">"));
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let (app, owner, b) = owner_in_browser().await;
    let id = api_account(
        &app,
        &owner.token,
        json!({ "label": "GitHub", "app": "github", "password": "hunter2-very-long" }),
    )
    .await;
    let before = events(&app, &owner.token, "account.reveal", &id).await;
    for fields in [
        vec![],
        vec![("csrf", "0".repeat(64))],
        vec![("csrf", String::new())],
    ] {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = b
            .post_raw(&app, &format!("/accounts/{id}/reveal"), &f)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        assert!(!r.text().contains("hunter2"));
        let r = b
            .post_raw(
                &app,
                "/accounts/new",
                &[f.as_slice(), &[("label", "X")]].concat(),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    // A cross-site post is refused even with the token.
    let r = app
        .raw(
            "POST",
            &format!("/accounts/{id}/reveal"),
            &[
                (header::COOKIE, &b.cookie),
                (header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
                (
                    header::HeaderName::from_static("sec-fetch-site"),
                    "cross-site",
                ),
            ],
            format!("csrf={}", b.csrf).into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The multipart QR upload checks the token too.
    let r = post_multipart(
        &b,
        &app,
        &format!("/accounts/{id}/totp/qr"),
        &[("csrf", "nope")],
        ("qr", "qr.png", b"not an image"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post_multipart(
        &b,
        &app,
        &format!("/accounts/{id}/totp/qr"),
        &[],
        ("qr", "qr.png", b"x"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        events(&app, &owner.token, "account.reveal", &id).await,
        before
    );
    // Signed out: forms and pages send to sign-in.
    let r = app
        .raw("GET", &format!("/accounts/{id}"), &[], vec![])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/sign-in?next="));
}

#[tokio::test]
async fn the_password_is_in_the_page_only_after_an_explicit_recorded_reveal() {
    let (app, owner, b) = owner_in_browser().await;
    let secret = "S3cret&<Passw0rd>\"'";
    let id = api_account(
        &app,
        &owner.token,
        json!({ "label": "Figma admin", "app": "figma", "username": "design@example.com", "password": secret }),
    )
    .await;

    let page = b.get(&app, &format!("/accounts/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("<h1>Figma admin</h1>"));
    assert!(html.contains("Figma") && html.contains("design@example.com"));
    assert!(
        !html.contains("S3cret"),
        "the password is in the page before a reveal"
    );
    assert!(tag(&html, "revealed-password").is_none());
    assert!(tag(&html, "reveal").is_some_and(|t| t.starts_with("<button")));
    assert_eq!(events(&app, &owner.token, "account.reveal", &id).await, 0);

    let r = b.post(&app, &format!("/accounts/{id}/reveal"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert_eq!(
        attr(&html, "revealed-password", "value").as_deref(),
        Some(secret)
    );
    assert!(tag(&html, "revealed-password").is_some_and(|t| t.contains(" readonly")));
    assert!(html.contains("data-copy=\"#revealed-password\""));
    assert_eq!(events(&app, &owner.token, "account.reveal", &id).await, 1);
    // The account's activity on its page lists the reveal.
    let html = b.get(&app, &format!("/accounts/{id}")).await.text();
    assert!(html.contains("<code>account.reveal</code>"), "{html}");
    assert!(!html.contains("S3cret"));
}

#[tokio::test]
async fn people_see_only_what_their_roles_allow() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let user = app
        .person(&owner.token, "user@example.com", WorkspaceRole::User)
        .await;
    app.person(&owner.token, "guest@example.com", WorkspaceRole::Guest)
        .await;
    let id = api_account(
        &app,
        &owner.token,
        json!({ "label": "Zoom", "app": "zoom", "password": "zoom-password-123" }),
    )
    .await;
    let ub = Browser::sign_in(&app, "user@example.com", PASSWORD).await;

    // No access: every page and form of the account answers 404.
    assert_eq!(
        ub.get(&app, &format!("/accounts/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    for path in ["reveal", "email", "phone", "totp/next"] {
        let r = ub.post(&app, &format!("/accounts/{id}/{path}"), &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text());
    }
    let r = ub
        .post(
            &app,
            &format!("/accounts/{id}/totp"),
            &[("secret", "JBSWY3DPEHPK3PXP")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        ub.get(&app, &format!("/accounts/{id}/totp-code.json"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ub.get(&app, "/accounts/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );

    // Shared as collaborator through the owner's form: the user sees it, may not reveal or
    // share, and the owner's page lists them.
    let ob = Browser::sign_in(&app, "owner@example.com", PASSWORD).await;
    let html = ob.get(&app, &format!("/accounts/{id}")).await.text();
    for id in ["share-person", "share-role", "share-submit"] {
        assert!(tag(&html, id).is_some(), "no #{id}");
    }
    assert!(html.contains(&format!("<option value=\"{}\"", user.person_id)));
    let r = ob
        .post(
            &app,
            &format!("/accounts/{id}/share"),
            &[("person", &user.person_id), ("role", "collaborator")],
        )
        .await;
    assert_see_other(&r, &format!("/accounts/{id}"));
    let html = ob.get(&app, &format!("/accounts/{id}")).await.text();
    assert!(html.contains("Person user@example.com") && html.contains("<td>collaborator</td>"));
    let page = ub.get(&app, &format!("/accounts/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(tag(&html, "reveal").is_none() && tag(&html, "share-submit").is_none());
    assert!(html.contains("not see its password"));
    let r = ub.post(&app, &format!("/accounts/{id}/reveal"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.text().contains("zoom-password"));

    // A share form error keeps the choice and says what is wrong next to the field.
    let r = ob
        .post(
            &app,
            &format!("/accounts/{id}/share"),
            &[("person", ""), ("role", "manager")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(text_of(&html, "share-person-error").is_some_and(|t| t.contains("Choose a person")));
    assert!(html.contains("<option value=\"manager\" selected>"));

    // Unsharing takes it away again.
    let r = ob
        .post(
            &app,
            &format!("/accounts/{id}/unshare"),
            &[("person", &user.person_id)],
        )
        .await;
    assert_see_other(&r, &format!("/accounts/{id}"));
    assert_eq!(
        ub.get(&app, &format!("/accounts/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // A guest may not add accounts.
    let gb = Browser::sign_in(&app, "guest@example.com", PASSWORD).await;
    assert_eq!(
        gb.get(&app, "/accounts/new").await.status,
        StatusCode::FORBIDDEN
    );
    let r = gb.post(&app, "/accounts/new", &[("label", "Mine")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
