//! Router tests of the web app's recovery pages and account gaps: changing one's password,
//! password reset links and renewed invitations from the people page, the public reset page,
//! editing and deleting an account, the accounts page in pages of 50, the confirmation before
//! removing 2FA, look-alike labels on the forms, and TOTP reads counted once per session.

mod common;

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use common::{Resp, Session, TestApp, PASSWORD};
use serde_json::json;

#[path = "common/web.rs"]
mod web;

use web::{
    api_account, assert_see_other, attr, events, hidden, location, owner_in_browser, set_cookie,
    tag, Browser,
};

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn changing_the_password_keeps_this_browser_and_signs_out_the_others() {
    let (app, owner, b) = owner_in_browser().await;
    let other = Browser::sign_in(&app, "owner@example.com", PASSWORD).await;
    let (api_token, _) = app.new_token(&owner.token, "script").await;

    let page = b.get(&app, "/account-security").await.text();
    assert_eq!(
        attr(&page, "change-password", "href").as_deref(),
        Some("/account-security/password")
    );
    let form = b.get(&app, "/account-security/password").await;
    assert_eq!(form.status, StatusCode::OK);
    for id in ["current_password", "new_password", "confirm_password"] {
        assert_eq!(
            attr(&form.text(), id, "type").as_deref(),
            Some("password"),
            "{id}"
        );
    }
    let path = "/account-security/password";
    let fields = |current: &'static str, new: &'static str, again: &'static str| {
        [
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", again),
        ]
    };
    // The two new passwords must match (checked before anything else).
    let r = b
        .post(
            &app,
            path,
            &fields(PASSWORD, NEW_PASSWORD, "a brand new passphrasf"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        tag(&r.text(), "confirm_password-error").is_some(),
        "{}",
        r.text()
    );
    // A wrong current password is refused next to its field.
    let r = b
        .post(
            &app,
            path,
            &fields("not my password", NEW_PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().contains("the password is not right"),
        "{}",
        r.text()
    );
    assert!(tag(&r.text(), "current_password-error").is_some());

    let r = b
        .post(&app, path, &fields(PASSWORD, NEW_PASSWORD, NEW_PASSWORD))
        .await;
    assert_see_other(&r, "/account-security?done=password");
    let notice = b.get(&app, &location(&r)).await.text();
    assert!(notice.contains("Your password was changed"), "{notice}");
    // This browser stays; the other browser and the API token are signed out.
    assert_eq!(b.get(&app, "/accounts").await.status, StatusCode::OK);
    let r = other.get(&app, "/accounts").await;
    assert_see_other(&r, "/sign-in");
    app.get("/api/v1/me", &api_token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["revoked"]);
    // The other browser signs in again although it still sends its ended session's cookie
    // (its sign-in form carries the token that cookie binds).
    let page = other.get(&app, "/sign-in").await;
    let csrf = hidden(&page.text(), "csrf").expect("a csrf field");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf", csrf.as_str()),
            ("email", "owner@example.com"),
            ("password", NEW_PASSWORD),
        ])
        .finish();
    let r = app
        .raw(
            "POST",
            "/sign-in",
            &[
                (header::COOKIE, other.cookie.as_str()),
                (header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            ],
            body.into_bytes(),
        )
        .await;
    assert_see_other(&r, "/accounts");
}

/// An anonymous browser's CSRF cookie and form token from `page`.
async fn anonymous_form(app: &TestApp, page: &str) -> (String, String, String) {
    let r = app.raw("GET", page, &[], vec![]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let cookie = format!(
        "castellan_csrf={}",
        set_cookie(&r, "castellan_csrf").expect("a CSRF cookie")
    );
    let csrf = hidden(&r.text(), "csrf").expect("a csrf field");
    (cookie, csrf, r.text())
}

/// Posts the public reset form.
async fn post_reset(app: &TestApp, cookie: &str, fields: &[(&str, &str)]) -> Resp {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish();
    app.raw(
        "POST",
        "/reset-password",
        &[
            (header::COOKIE, cookie),
            (header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
        ],
        body.into_bytes(),
    )
    .await
}

#[tokio::test]
async fn admins_hand_out_reset_links_and_renewed_invitations_from_the_people_page() {
    let (app, owner, b) = owner_in_browser().await;
    let ana = app
        .person(&owner.token, "ana@example.com", WorkspaceRole::User)
        .await;
    let (bob, old_invite) = app
        .invite(&owner.token, "bob@example.com", WorkspaceRole::Guest)
        .await;
    let people = b.get(&app, "/people").await.text();
    let owner_id = &owner.person_id;
    assert!(tag(&people, &format!("reset-link-{}", ana.person_id)).is_some());
    assert!(tag(&people, &format!("renew-invitation-{bob}")).is_some());
    assert!(
        tag(&people, &format!("reset-link-{bob}")).is_none(),
        "invited: renew instead"
    );
    assert!(
        tag(&people, &format!("reset-link-{owner_id}")).is_none(),
        "not for oneself"
    );

    // Renewing shows the new token once; the old one stops working.
    let r = b
        .post(&app, &format!("/people/{bob}/invitation"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("Invitation renewed"));
    let html = r.text();
    let new_invite = web::unescape(
        html.split("id=\"invitation-token\">")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .expect("the token"),
    );
    assert_ne!(new_invite, old_invite);
    let accept = |token: &str| json!({ "email": "bob@example.com", "invitation_token": token, "password": PASSWORD });
    app.call(
        "POST",
        "/api/v1/auth/accept-invitation",
        None,
        Some(accept(&old_invite)),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, &["not valid"]);
    app.call(
        "POST",
        "/api/v1/auth/accept-invitation",
        None,
        Some(accept(&new_invite)),
    )
    .await
    .ok();

    // The reset link is shown once, as a full link to the reset page.
    let r = b
        .post(
            &app,
            &format!("/people/{}/password-reset", ana.person_id),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let link = attr(&r.text(), "reset-link", "value").expect("the link");
    let path = link
        .strip_prefix("http://127.0.0.1:8460")
        .unwrap_or_else(|| panic!("a link to this server: {link}"));
    assert!(
        path.starts_with("/reset-password?token=cst_reset_"),
        "{path}"
    );

    // Ana opens it without a session: the token rides in a hidden field.
    let (cookie, csrf, page) = anonymous_form(&app, path).await;
    let token = hidden(&page, "token").expect("the token in the form");
    assert!(tag(&page, "token").is_none(), "no field to type it in");
    let r = post_reset(
        &app,
        &cookie,
        &[
            ("csrf", &csrf),
            ("token", &token),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", "something else entirely"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(tag(&r.text(), "confirm_password-error").is_some());
    let fields = [
        ("csrf", csrf.as_str()),
        ("token", token.as_str()),
        ("new_password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ];
    let r = post_reset(&app, &cookie, &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(tag(&r.text(), "reset-done").is_some());
    app.get("/api/v1/me", &ana.token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["revoked"]);
    Browser::sign_in(&app, "ana@example.com", NEW_PASSWORD).await;
    // The link worked once.
    let r = post_reset(&app, &cookie, &fields).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("already used"), "{}", r.text());

    // An admin cannot reset the owner: no button, and the form is refused.
    app.person(&owner.token, "admin@example.com", WorkspaceRole::Admin)
        .await;
    let ab = Browser::sign_in(&app, "admin@example.com", PASSWORD).await;
    let people = ab.get(&app, "/people").await.text();
    assert!(tag(&people, &format!("reset-link-{owner_id}")).is_none());
    let r = ab
        .post(&app, &format!("/people/{owner_id}/password-reset"), &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
}

#[tokio::test]
async fn editing_and_deleting_an_account_follow_the_api_rules() {
    let (app, owner, b) = owner_in_browser().await;
    let t = &owner.token;
    let id = api_account(
        &app,
        t,
        json!({ "label": "Slack admin", "app": "slack", "username": "ops@example.com", "password": "old secret value" }),
    )
    .await;
    api_account(&app, t, json!({ "label": "GitHub" })).await;
    let page = b.get(&app, &format!("/accounts/{id}")).await.text();
    assert_eq!(
        attr(&page, "edit-account", "href"),
        Some(format!("/accounts/{id}/edit"))
    );
    let form = b.get(&app, &format!("/accounts/{id}/edit")).await.text();
    assert_eq!(
        attr(&form, "label", "value").as_deref(),
        Some("Slack admin")
    );
    assert_eq!(attr(&form, "app", "value").as_deref(), Some("Slack"));
    assert_eq!(
        attr(&form, "username", "value").as_deref(),
        Some("ops@example.com")
    );
    let version = hidden(&form, "version").expect("version");
    let vault = hidden(&form, "vault").expect("vault");
    let path = format!("/accounts/{id}/edit");
    let edit = |label: &'static str, version: &str, extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, String)> = vec![
            ("label", label.into()),
            ("app", "Slack".into()),
            ("username", "admin@example.com".into()),
            ("password", String::new()),
            ("vault", vault.clone()),
            ("version", version.into()),
        ];
        f.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        f
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let b = b.clone();
        let app = &app;
        let path = path.clone();
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post(app, &path, &refs).await
        }
    };

    let r = post(edit("Slack admins", &version, &[])).await;
    assert_see_other(&r, &format!("/accounts/{id}?done=updated"));
    let v = app
        .get(&format!("/api/v1/accounts/{id}"), t)
        .await
        .ok()
        .json();
    assert_eq!(v["label"], json!("Slack admins"));
    assert_eq!(v["username"], json!("admin@example.com"));
    assert_eq!(v["app_id"], json!("slack"), "an unchanged app stays");
    assert_eq!(
        v["has_password"],
        json!(true),
        "an empty password keeps the stored one"
    );
    assert_eq!(v["version"], json!(2));

    // The same version again is stale: refused at the top of the form.
    let r = post(edit("Slack admin 2", &version, &[])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("changed since version"), "{}", r.text());
    // A taken label, next to the label.
    let r = post(edit("github", "2", &[])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(tag(&r.text(), "label-error").is_some());
    // A look-alike label offers the confirmation box, and is saved with it ticked.
    let r = post(edit("G\u{456}tHub", "2", &[])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().contains("looks like the existing label"),
        "{}",
        r.text()
    );
    assert!(tag(&r.text(), "confirm_confusable").is_some());
    let r = post(edit("G\u{456}tHub", "2", &[("confirm_confusable", "1")])).await;
    assert_see_other(&r, &format!("/accounts/{id}"));

    // A collaborator may neither edit nor delete.
    let user = app.person(t, "user@example.com", WorkspaceRole::User).await;
    app.put(
        &format!("/api/v1/accounts/{id}/access/{}", user.person_id),
        t,
        json!({ "role": "collaborator" }),
    )
    .await
    .ok();
    let ub = Browser::sign_in(&app, "user@example.com", PASSWORD).await;
    let page = ub.get(&app, &format!("/accounts/{id}")).await.text();
    assert!(tag(&page, "edit-account").is_none() && tag(&page, "delete-account").is_none());
    assert_eq!(ub.get(&app, &path).await.status, StatusCode::FORBIDDEN);
    let r = ub.post(&app, &format!("/accounts/{id}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    // Deleting asks first, then deletes.
    let confirm = b.get(&app, &format!("/accounts/{id}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(tag(&confirm.text(), "delete-confirm").is_some());
    assert_eq!(
        app.get(&format!("/api/v1/accounts/{id}"), t).await.status,
        StatusCode::OK,
        "showing the question deletes nothing"
    );
    let r = b.post(&app, &format!("/accounts/{id}/delete"), &[]).await;
    assert_see_other(&r, "/accounts?done=deleted");
    assert!(b
        .get(&app, "/accounts?done=deleted")
        .await
        .text()
        .contains("The account was deleted."));
    assert_eq!(
        app.get(&format!("/api/v1/accounts/{id}"), t).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(events(&app, t, "account.delete", &id).await, 1);
}

/// How many account cards a page shows.
fn cards(html: &str) -> usize {
    html.matches("<li class=\"card\">").count()
}

#[tokio::test]
async fn the_accounts_page_shows_50_at_a_time_and_keeps_the_search() {
    let (app, owner, b) = owner_in_browser().await;
    for n in 1..=120 {
        api_account(
            &app,
            &owner.token,
            json!({ "label": format!("Acct {n:03}") }),
        )
        .await;
    }
    for n in 1..=3 {
        api_account(&app, &owner.token, json!({ "label": format!("Other {n}") })).await;
    }
    let first = b.get(&app, "/accounts").await.text();
    assert_eq!(cards(&first), 50);
    assert!(first.contains("123 accounts: showing 1–50"), "{first}");
    assert!(tag(&first, "accounts-prev").is_none());
    assert_eq!(
        attr(&first, "accounts-next", "href").as_deref(),
        Some("/accounts?page=2")
    );
    let last = b.get(&app, "/accounts?page=3").await.text();
    assert_eq!(cards(&last), 23);
    assert!(last.contains("Other 3") && !last.contains("Acct 100"));
    assert_eq!(
        attr(&last, "accounts-prev", "href").as_deref(),
        Some("/accounts?page=2")
    );
    assert!(tag(&last, "accounts-next").is_none());
    // Past the end, or not a number: the nearest page.
    assert_eq!(cards(&b.get(&app, "/accounts?page=99").await.text()), 23);
    assert_eq!(cards(&b.get(&app, "/accounts?page=x").await.text()), 50);

    // A search that fits one page: no pager.
    let searched = b.get(&app, "/accounts?q=acct+1").await.text();
    assert_eq!(cards(&searched), 21, "Acct 100 to Acct 120");
    assert!(tag(&searched, "accounts-next").is_none() && tag(&searched, "accounts-prev").is_none());
    let q = b.get(&app, "/accounts?q=Acct&page=3").await.text();
    assert_eq!(cards(&q), 20);
    assert_eq!(
        attr(&q, "accounts-prev", "href").as_deref(),
        Some("/accounts?q=Acct&page=2")
    );
    assert!(
        q.contains("120 accounts matching “Acct”: showing 101–120"),
        "{q}"
    );
}

/// A "GitHub" account with 2FA managed by Castellan.
async fn github_with_totp(app: &TestApp, owner: &Session) -> String {
    let id = api_account(app, &owner.token, json!({ "label": "GitHub" })).await;
    app.put(
        &format!("/api/v1/accounts/{id}/totp"),
        &owner.token,
        json!({ "secret": "JBSWY3DPEHPK3PXP" }),
    )
    .await
    .ok();
    id
}

#[tokio::test]
async fn removing_2fa_needs_the_box_ticked() {
    let (app, owner, b) = owner_in_browser().await;
    let id = github_with_totp(&app, &owner).await;
    let page = b.get(&app, &format!("/accounts/{id}")).await.text();
    assert!(web::has_attr(&page, "totp-remove-confirm", "required"));
    let path = format!("/accounts/{id}/totp/remove");
    let r = b.post(&app, &path, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(tag(&r.text(), "totp-remove-error").is_some());
    let v = app
        .get(&format!("/api/v1/accounts/{id}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(
        v["has_totp"],
        json!(true),
        "nothing removed without the box"
    );
    let r = b.post(&app, &path, &[("confirm", "1")]).await;
    assert_see_other(&r, &format!("/accounts/{id}?done=totp-removed"));
    let v = app
        .get(&format!("/api/v1/accounts/{id}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(v["has_totp"], json!(false));
}

#[tokio::test]
async fn a_page_left_open_records_its_totp_reads_once() {
    let (app, owner, b) = owner_in_browser().await;
    let id = github_with_totp(&app, &owner).await;
    let code = "account.totp_code";
    // The page and its countdown script's refreshes: one event for this session.
    assert_eq!(
        b.get(&app, &format!("/accounts/{id}")).await.status,
        StatusCode::OK
    );
    for _ in 0..5 {
        let r = b.get(&app, &format!("/accounts/{id}/totp-code.json")).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    assert_eq!(events(&app, &owner.token, code, &id).await, 1);
    // Another browser session counts on its own, and so does an API token.
    let other = Browser::sign_in(&app, "owner@example.com", PASSWORD).await;
    other
        .get(&app, &format!("/accounts/{id}/totp-code.json"))
        .await;
    other
        .get(&app, &format!("/accounts/{id}/totp-code.json"))
        .await;
    assert_eq!(events(&app, &owner.token, code, &id).await, 2);
    app.get(&format!("/api/v1/accounts/{id}/totp/code"), &owner.token)
        .await
        .ok();
    app.get(&format!("/api/v1/accounts/{id}/totp/code"), &owner.token)
        .await
        .ok();
    assert_eq!(events(&app, &owner.token, code, &id).await, 3);
}

#[tokio::test]
async fn look_alike_labels_on_the_add_form_need_the_box_ticked() {
    let (app, owner, b) = owner_in_browser().await;
    api_account(&app, &owner.token, json!({ "label": "Slack admin" })).await;
    let vault = app.default_vault(&owner.token).await;
    let fields = |extra: Option<(&'static str, &'static str)>| {
        let mut f = vec![
            ("label", "Sl\u{430}ck admin"),
            ("app", ""),
            ("username", "x@example.com"),
            ("password", ""),
            ("vault", vault.as_str()),
            ("action", "save"),
        ];
        f.extend(extra);
        f
    };
    let r = b.post(&app, "/accounts/new", &fields(None)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("`Slack admin`"), "{}", r.text());
    assert!(tag(&r.text(), "confirm_confusable").is_some());
    let r = b
        .post(
            &app,
            "/accounts/new",
            &fields(Some(("confirm_confusable", "1"))),
        )
        .await;
    assert_see_other(&r, "/accounts/");
    // Invisible characters are refused outright, naming the field.
    let r = b
        .post(
            &app,
            "/accounts/new",
            &[("label", "Pay\u{200B}roll"), ("vault", vault.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("U+200B"), "{}", r.text());
    assert!(tag(&r.text(), "confirm_confusable").is_none());
}
