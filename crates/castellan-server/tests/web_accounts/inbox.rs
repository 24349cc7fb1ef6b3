//! The account page's managed email address and phone number, and the shared inbox with its
//! filters, showing a message escaped.

use axum::http::StatusCode;
use castellan_core::model::WorkspaceRole;
use serde_json::json;

use super::common::{TestApp, PASSWORD};
use super::text_of;
use super::web::{api_account, assert_see_other, attr, events, owner_in_browser, tag, Browser};

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
