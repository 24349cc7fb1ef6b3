//! Listings are complete: more accounts than the store's default page (500) are all listed,
//! by the API and on the accounts page (in pages of 50).

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn more_than_500_accounts_are_all_listed() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    for i in 0..501 {
        let r = app
            .post(
                "/api/v1/accounts",
                &owner.token,
                json!({ "label": format!("Account {i:04}"), "app": "slack" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    assert_eq!(app.account_count(&owner.token).await, 501);
    let session = app
        .svc
        .sessions()
        .sign_in(
            &castellan_core::activity::Actor::anonymous(None, None),
            castellan_core::service::SignIn {
                email: owner.email.clone(),
                password: common::PASSWORD.to_owned().into(),
                totp_code: None,
                token_name: None,
                expires_in_days: None,
                web_session: true,
            },
        )
        .await
        .unwrap();
    let cookie = format!("castellan_session={}", session.token);
    let get = |path: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            let page = app
                .raw(
                    "GET",
                    path,
                    &[(axum::http::header::COOKIE, &cookie)],
                    vec![],
                )
                .await;
            assert_eq!(page.status, StatusCode::OK);
            page.text()
        }
    };
    // The page counts them all and shows them 50 at a time: the last one is on page 11.
    let html = get("/accounts").await;
    assert!(html.contains("501 accounts"), "the count");
    let last = get("/accounts?page=11").await;
    assert!(
        last.contains("Account 0500"),
        "the last account is on the last page"
    );
}
