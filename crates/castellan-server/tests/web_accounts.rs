//! Router tests of the web app's account pages: "Add item → Account" (with the password
//! generator and field errors that keep what was typed), the account page (reveal, 2FA by
//! secret and by QR upload, managed email address and phone number, sharing, activity) and the
//! shared inbox with its filters. People sign in through the web sign-in form.

mod common;

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use castellan_otp::{Kind, OtpParams};
use common::{Resp, TestApp, PASSWORD};
use serde_json::json;

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

/// The codes valid around now for `p` (the step may turn between request and check).
fn codes_now(p: &OtpParams) -> Vec<String> {
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    [now.saturating_sub(2), now, now + 2]
        .iter()
        .map(|t| castellan_otp::code_at(p, *t))
        .collect()
}

#[tokio::test]
async fn two_factor_by_secret_and_by_qr_upload_shows_the_right_code() {
    let (app, owner, b) = owner_in_browser().await;
    let a = api_account(
        &app,
        &owner.token,
        json!({ "label": "Redmine", "app": "redmine" }),
    )
    .await;
    let q = api_account(
        &app,
        &owner.token,
        json!({ "label": "Notion", "app": "notion" }),
    )
    .await;

    // No 2FA yet: the forms to add it.
    let html = b.get(&app, &format!("/accounts/{a}")).await.text();
    assert!(tag(&html, "totp-code").is_none());
    assert!(tag(&html, "totp-secret").is_some());
    let qr = tag(&html, "totp-qr").expect("the QR upload");
    assert!(qr.contains("type=\"file\"") && qr.contains("accept=\"image/*\""));
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(tag(&html, "totp-qr-submit").is_some());

    // A bad secret: the error next to the field, nothing echoed.
    let r = b
        .post(
            &app,
            &format!("/accounts/{a}/totp"),
            &[("secret", "not base32 !!")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = r.text();
    assert!(text_of(&html, "totp-secret-error").is_some(), "{html}");
    assert!(!html.contains("not base32 !!"));

    // By secret.
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let r = b
        .post(&app, &format!("/accounts/{a}/totp"), &[("secret", secret)])
        .await;
    assert_see_other(&r, &format!("/accounts/{a}?done=totp"));
    let html = b.get(&app, &format!("/accounts/{a}")).await.text();
    let (p, _) = castellan_otp::parse_uri(&format!("otpauth://totp/R:me?secret={secret}")).unwrap();
    let shown = text_of(&html, "totp-code").expect("a code");
    assert!(codes_now(&p).contains(&shown), "{shown}");
    let seconds: u64 = text_of(&html, "totp-countdown").unwrap().parse().unwrap();
    assert!((1..=30).contains(&seconds), "{seconds}");
    assert_eq!(
        attr(&html, "totp-countdown", "data-code-url"),
        Some(format!("/accounts/{a}/totp-code.json"))
    );
    assert!(!html.contains(secret), "the secret is in the page");
    assert!(events(&app, &owner.token, "account.totp_code", &a).await >= 1);
    let j = b.get(&app, &format!("/accounts/{a}/totp-code.json")).await;
    assert_eq!(j.status, StatusCode::OK);
    assert!(j.content_type().starts_with("application/json"));
    assert!(codes_now(&p).contains(&j.json()["code"].as_str().unwrap().to_owned()));

    // By an otpauth URI pasted in the same field.
    let uri = "otpauth://totp/Notion:ops@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Notion&digits=8";
    let r = b
        .post(&app, &format!("/accounts/{q}/totp"), &[("secret", uri)])
        .await;
    assert_see_other(&r, &format!("/accounts/{q}"));
    let html = b.get(&app, &format!("/accounts/{q}")).await.text();
    assert_eq!(text_of(&html, "totp-code").unwrap().len(), 8);
    let r = b
        .post(
            &app,
            &format!("/accounts/{q}/totp/remove"),
            &[("confirm", "1")],
        )
        .await;
    assert_see_other(&r, &format!("/accounts/{q}?done=totp-removed"));
    let html = b.get(&app, &format!("/accounts/{q}")).await.text();
    assert!(tag(&html, "totp-code").is_none() && tag(&html, "totp-qr").is_some());

    // HOTP: the page never uses a code up on its own; the button shows the next one.
    let h = api_account(
        &app,
        &owner.token,
        json!({ "label": "Counter", "app": "miro" }),
    )
    .await;
    let hotp = "otpauth://hotp/Miro:ops?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=5";
    let r = b
        .post(&app, &format!("/accounts/{h}/totp"), &[("secret", hotp)])
        .await;
    assert_see_other(&r, &format!("/accounts/{h}"));
    let html = b.get(&app, &format!("/accounts/{h}")).await.text();
    assert!(tag(&html, "totp-code").is_none() && tag(&html, "totp-next").is_some());
    assert_eq!(
        b.get(&app, &format!("/accounts/{h}/totp-code.json"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let (hp, _) = castellan_otp::parse_uri(hotp).unwrap();
    let expected: Vec<String> = (5..8).map(|c| castellan_otp::hotp(&hp, c)).collect();
    let first = text_of(
        &b.post(&app, &format!("/accounts/{h}/totp/next"), &[])
            .await
            .text(),
        "totp-code",
    )
    .unwrap();
    let second = text_of(
        &b.post(&app, &format!("/accounts/{h}/totp/next"), &[])
            .await
            .text(),
        "totp-code",
    )
    .unwrap();
    assert!(
        expected.contains(&first) && expected.contains(&second),
        "{first} {second} {expected:?}"
    );
    assert_ne!(first, second);

    // By QR upload: an image that is not a QR code is refused next to the upload field.
    let r = post_multipart(
        &b,
        &app,
        &format!("/accounts/{q}/totp/qr"),
        &[("csrf", &b.csrf)],
        ("qr", "cat.png", b"\x89PNG not really"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(text_of(&r.text(), "totp-qr-error").is_some());
    let (mut p, _) = castellan_otp::parse_secret("KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU")
        .map(|(s, w)| (OtpParams::new(Kind::Totp, s), w))
        .unwrap();
    p.issuer = Some("Notion".into());
    p.account_name = Some("ops@example.com".into());
    let png = castellan_otp::qr_png(&p).unwrap();
    let r = post_multipart(
        &b,
        &app,
        &format!("/accounts/{q}/totp/qr"),
        &[("csrf", &b.csrf)],
        ("qr", "qr.png", &png),
    )
    .await;
    assert_see_other(&r, &format!("/accounts/{q}?done=totp"));
    let html = b.get(&app, &format!("/accounts/{q}")).await.text();
    let shown = text_of(&html, "totp-code").expect("a code");
    assert!(codes_now(&p).contains(&shown), "{shown}");
    assert!(html.contains("(Notion)"));
}

#[tokio::test]
async fn managed_email_address_and_phone_number_from_the_account_page() {
    let (app, owner, b) = owner_in_browser().await;
    let id = api_account(
        &app,
        &owner.token,
        json!({ "label": "Canva", "app": "canva" }),
    )
    .await;

    // No free number yet: the error is shown on the page.
    let r = b.post(&app, &format!("/accounts/{id}/phone"), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(text_of(&r.text(), "phone-error").is_some_and(|t| t.contains("no free phone number")));
    app.post(
        "/api/v1/phone-numbers",
        &owner.token,
        json!({ "numbers": ["+1 500 555 0006"] }),
    )
    .await
    .ok();
    let r = b.post(&app, &format!("/accounts/{id}/phone"), &[]).await;
    assert_see_other(&r, &format!("/accounts/{id}?done=phone"));

    let r = b.post(&app, &format!("/accounts/{id}/email"), &[]).await;
    assert_see_other(&r, &format!("/accounts/{id}?done=email"));
    let html = b.get(&app, &format!("/accounts/{id}")).await.text();
    assert!(html.contains("+15005550006"));
    let address = html
        .split(['>', '<'])
        .find(|s| s.ends_with("@castellan.localhost"))
        .expect("the managed address")
        .to_owned();
    assert!(address.starts_with("canva-"), "{address}");
    assert!(tag(&html, "assign-email").is_none() && tag(&html, "assign-phone").is_none());
    assert_eq!(
        attr(&html, "account-inbox", "href"),
        Some(format!("/inbox?account={id}"))
    );

    let r = b
        .post(
            &app,
            &format!("/accounts/{id}/email"),
            &[("use_as_username", "1")],
        )
        .await;
    assert_see_other(&r, &format!("/accounts/{id}?done=username"));
    let html = b.get(&app, &format!("/accounts/{id}")).await.text();
    assert_eq!(text_of(&html, "account-username"), Some(address));
    assert!(tag(&html, "use-email-as-username").is_none());
}

#[tokio::test]
async fn the_shared_inbox_filters_and_shows_a_message_escaped() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let t = owner.token.as_str();
    let b = Browser::sign_in(&app, "owner@example.com", PASSWORD).await;
    let marketing = app
        .post("/api/v1/vaults", t, json!({ "name": "Marketing" }))
        .await
        .ok()
        .str("id");
    let gh = api_account(&app, t, json!({ "label": "GitHub bot", "app": "github" })).await;
    let sl = api_account(
        &app,
        t,
        json!({ "label": "Slack bot", "app": "slack", "vault_id": marketing }),
    )
    .await;
    app.post(
        "/api/v1/phone-numbers",
        t,
        json!({ "numbers": ["+15005550006", "+15005550007"] }),
    )
    .await
    .ok();
    let n_gh = app
        .post(&format!("/api/v1/accounts/{gh}/phone"), t, json!({}))
        .await
        .ok()
        .str("e164");
    let n_sl = app
        .post(&format!("/api/v1/accounts/{sl}/phone"), t, json!({}))
        .await
        .ok()
        .str("e164");
    app.sms("+14155550100", &n_gh, "Your GitHub code: 834921", "SM1")
        .await
        .ok();
    app.sms(
        "+14155550101",
        &n_sl,
        "Slack code 112233 <script>alert(1)</script>",
        "SM2",
    )
    .await
    .ok();

    // An email for the GitHub account's managed address, as the SMTP receiver hands it over.
    let address = app
        .post(&format!("/api/v1/accounts/{gh}/email"), t, json!({}))
        .await
        .ok()
        .str("address");
    app.svc
        .inbox_delivery()
        .receive_email(castellan_core::service::ReceivedMessage {
            to: address,
            from: "noreply@github.com".into(),
            subject: Some("[GitHub] Please verify your device".into()),
            text: "Verification code: 654321".into(),
            received_at: chrono::Utc::now(),
            message_key: "<m1@github.com>".into(),
            code: Some("654321".into()),
            ..Default::default()
        })
        .await
        .expect("email stored");

    let count = |html: &str| html.matches("<a href=\"/inbox/").count();
    let all = b.get(&app, "/inbox").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    let html = all.text();
    assert_eq!(count(&html), 3, "{html}");
    assert!(html.contains("GitHub bot") && html.contains("Slack bot"));
    assert!(html.contains("[GitHub] Please verify your device"));
    assert!(
        !html.contains("834921") && !html.contains("654321"),
        "codes are shown only when a message is opened"
    );
    let today = chrono::Utc::now();
    let day = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d").to_string();
    for (query, n) in [
        (format!("account={gh}"), 2),
        (format!("account={sl}"), 1),
        (format!("vault={marketing}"), 1),
        ("app=github".to_owned(), 2),
        ("app=slack".to_owned(), 1),
        ("app=figma".to_owned(), 0),
        ("kind=sms".to_owned(), 2),
        ("kind=email".to_owned(), 1),
        (format!("since={}", day(today)), 3),
        (format!("until={}", day(today)), 3),
        (
            format!("since={}", day(today + chrono::Duration::days(1))),
            0,
        ),
        (
            format!("until={}", day(today - chrono::Duration::days(1))),
            0,
        ),
        (
            format!("kind=sms&app=&account={gh}&vault=&since=&until="),
            1,
        ),
        (format!("kind=email&account={sl}"), 0),
    ] {
        let r = b.get(&app, &format!("/inbox?{query}")).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text());
        assert_eq!(count(&r.text()), n, "{query}");
    }
    let r = b.get(&app, "/inbox?since=yesterday").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&r.text(), "f-since-error").is_some());
    let r = b
        .get(&app, "/inbox?since=2030-01-02&until=2030-01-01")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Opening a message shows its code and its text, escaped, and is recorded.
    let html = b.get(&app, &format!("/inbox?account={sl}")).await.text();
    let at = html.find("<a href=\"/inbox/").unwrap() + 16;
    let msg = &html[at..at + 36];
    let before = events(&app, t, "inbox.read", &sl).await;
    let m = b.get(&app, &format!("/inbox/{msg}")).await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.text());
    let html = m.text();
    assert_eq!(text_of(&html, "inbox-code").as_deref(), Some("112233"));
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"));
    assert_eq!(events(&app, t, "inbox.read", &sl).await, before + 1);

    // A person who may not see the accounts sees no messages, and not the message itself.
    app.person(t, "user@example.com", WorkspaceRole::User).await;
    let ub = Browser::sign_in(&app, "user@example.com", PASSWORD).await;
    let r = ub.get(&app, "/inbox").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(count(&r.text()), 0);
    assert_eq!(
        ub.get(&app, &format!("/inbox/{msg}")).await.status,
        StatusCode::NOT_FOUND
    );
}
