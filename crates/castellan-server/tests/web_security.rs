//! The web app's security plumbing through the router: page headers (CSP without
//! `unsafe-inline`, `frame-ancestors 'none'`, `no-referrer`), CSRF on forms before and after
//! sign-in, the sign-in rate limit on the web form and on the API, and sign-out revoking the
//! session on the server.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::{header, StatusCode};
use common::{Resp, TestApp, PASSWORD};
use serde_json::json;

const FORM: &str = "application/x-www-form-urlencoded";

fn cookie(r: &Resp, name: &str) -> Option<String> {
    web::set_cookie(r, name)
}

fn hidden(html: &str, name: &str) -> String {
    web::hidden(html, name).unwrap_or_else(|| panic!("no hidden {name} in {html}"))
}

fn enc(pairs: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
        .into_bytes()
}

/// GET /sign-in: the CSRF cookie and the form's token.
async fn sign_in_form(app: &TestApp) -> (String, String) {
    let r = app.raw("GET", "/sign-in", &[], vec![]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let c = cookie(&r, "castellan_csrf").expect("csrf cookie");
    let t = hidden(&r.text(), "csrf");
    assert_eq!(c, t);
    (c, t)
}

async fn post_sign_in(app: &TestApp, csrf_cookie: &str, csrf: &str, email: &str, pw: &str) -> Resp {
    app.raw(
        "POST",
        "/sign-in",
        &[
            (header::CONTENT_TYPE, FORM),
            (header::COOKIE, &format!("castellan_csrf={csrf_cookie}")),
        ],
        enc(&[
            ("csrf", csrf),
            ("email", email),
            ("password", pw),
            ("next", "/accounts"),
        ]),
    )
    .await
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let app = TestApp::new().await;
    for path in ["/setup", "/static/app.css"] {
        let r = app.raw("GET", path, &[], vec![]).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(r.headers[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(r.headers[header::X_FRAME_OPTIONS], "DENY");
    }
    let html = app.raw("GET", "/setup", &[], vec![]).await.text();
    assert!(!html.contains("<script>") && !html.contains(" style=") && !html.contains(" onclick="));
    // The API keeps its own stricter policy.
    let r = app.raw("GET", "/api/v1/setup", &[], vec![]).await;
    assert_eq!(
        r.headers[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let app = TestApp::new().await;
    app.claim().await;
    let (c, t) = sign_in_form(&app).await;
    // No cookie, a wrong token, and a cross-site post: all 403, nobody signed in.
    let none = app
        .raw(
            "POST",
            "/sign-in",
            &[(header::CONTENT_TYPE, FORM)],
            enc(&[
                ("csrf", &t),
                ("email", "owner@example.com"),
                ("password", PASSWORD),
            ]),
        )
        .await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    let wrong = post_sign_in(&app, &c, &"0".repeat(64), "owner@example.com", PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let cross = app
        .raw(
            "POST",
            "/sign-in",
            &[
                (header::CONTENT_TYPE, FORM),
                (header::COOKIE, &format!("castellan_csrf={c}")),
                (
                    header::HeaderName::from_static("sec-fetch-site"),
                    "cross-site",
                ),
            ],
            enc(&[
                ("csrf", &t),
                ("email", "owner@example.com"),
                ("password", PASSWORD),
            ]),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    for r in [&none, &wrong, &cross] {
        assert!(cookie(r, "castellan_session").is_none());
    }

    // Signed in: the session's token is required; the pre-sign-in token no longer works.
    let ok = post_sign_in(&app, &c, &t, "owner@example.com", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    assert_eq!(ok.headers[header::LOCATION], "/accounts");
    let session = cookie(&ok, "castellan_session").expect("session cookie");
    let set = ok
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookies = format!("castellan_session={session}; castellan_csrf={c}");
    let page = app
        .raw("GET", "/sessions", &[(header::COOKIE, &cookies)], vec![])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let session_csrf = hidden(&page.text(), "csrf");

    // A web session is not an API token, and an API token is not a web session.
    assert!(session.starts_with("cstweb_"), "{session}");
    app.get("/api/v1/me", &session).await.assert_problem(
        StatusCode::UNAUTHORIZED,
        &["web session cannot be used as an API token"],
    );
    let api = app
        .sign_in(
            "owner@example.com",
            castellan_core::model::WorkspaceRole::Owner,
        )
        .await;
    let as_cookie = app
        .raw(
            "GET",
            "/accounts",
            &[(header::COOKIE, &format!("castellan_session={}", api.token))],
            vec![],
        )
        .await;
    assert_eq!(
        as_cookie.status,
        StatusCode::SEE_OTHER,
        "an API token opened a page"
    );
    assert_ne!(session_csrf, t);
    let stale = app
        .raw(
            "POST",
            "/sign-out",
            &[(header::CONTENT_TYPE, FORM), (header::COOKIE, &cookies)],
            enc(&[("csrf", &t)]),
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    let still = app
        .raw("GET", "/accounts", &[(header::COOKIE, &cookies)], vec![])
        .await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "a refused sign-out must not sign out"
    );

    // Sign out revokes the token on the server: the cookie and the token as a Bearer both fail.
    let out = app
        .raw(
            "POST",
            "/sign-out",
            &[(header::CONTENT_TYPE, FORM), (header::COOKIE, &cookies)],
            enc(&[("csrf", &session_csrf)]),
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = app
        .raw("GET", "/accounts", &[(header::COOKIE, &cookies)], vec![])
        .await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/sign-in?next="));
    assert_eq!(
        app.get("/api/v1/me", &session).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn raw_non_ascii_form_bytes_and_odd_next_values_are_refused() {
    let app = TestApp::new().await;
    app.claim().await;
    let (c, t) = sign_in_form(&app).await;
    let mut body = enc(&[
        ("csrf", &t),
        ("email", "owner@example.com"),
        ("password", PASSWORD),
    ]);
    body.extend_from_slice(b"&x=\xff\xfe");
    let r = app
        .raw(
            "POST",
            "/sign-in",
            &[
                (header::CONTENT_TYPE, FORM),
                (header::COOKIE, &format!("castellan_csrf={c}")),
            ],
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(cookie(&r, "castellan_session").is_none());
    // `next` with a tab, a newline or a backslash falls back to /accounts (no open redirect, no 500).
    for next in [
        "/\t/evil.test",
        "/\n/evil.test",
        "/a\r\nSet-Cookie: x=1",
        "/x/\\evil.test",
    ] {
        let r = app
            .raw(
                "POST",
                "/sign-in",
                &[
                    (header::CONTENT_TYPE, FORM),
                    (header::COOKIE, &format!("castellan_csrf={c}")),
                ],
                enc(&[
                    ("csrf", &t),
                    ("email", "owner@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ]),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.text());
        assert_eq!(r.headers[header::LOCATION], "/accounts", "{next:?}");
    }
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_email_on_the_web_and_the_api() {
    let app = TestApp::new().await;
    app.claim().await;
    let (c, t) = sign_in_form(&app).await;
    let mut statuses = vec![];
    for _ in 0..6 {
        statuses.push(
            post_sign_in(&app, &c, &t, "owner@example.com", "wrong password!!")
                .await
                .status,
        );
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5], "{statuses:?}");
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
    // Even the right password waits now, on the web and on the API (the limit is shared).
    let r = post_sign_in(&app, &c, &t, "OWNER@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().contains("Too many attempts"), "{}", r.text());
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    let api = app
        .call(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"email": "owner@example.com", "password": PASSWORD})),
        )
        .await;
    api.assert_problem(
        StatusCode::TOO_MANY_REQUESTS,
        &["too many sign-in attempts"],
    );
    assert!(api.headers.contains_key(header::RETRY_AFTER));
    // Another email is not affected.
    let other = app
        .call(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"email": "nobody@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_person_sees_their_sessions_and_revokes_another_one() {
    let app = TestApp::new().await;
    app.claim().await;
    let a = web::Browser::sign_in(&app, "owner@example.com", PASSWORD).await;
    let b = web::Browser::sign_in(&app, "owner@example.com", PASSWORD).await;
    let page = a.get(&app, "/sessions").await.text();
    // Two sessions listed, one marked as this browser; the other one's revoke form.
    let forms: Vec<&str> = page.split("action=\"/sessions/").skip(1).collect();
    assert_eq!(forms.len(), 2, "{page}");
    assert_eq!(page.matches("this browser").count(), 1, "{page}");
    let rows: Vec<&str> = page.split("<tr>").skip(2).collect();
    let other = rows
        .iter()
        .find(|r| !r.contains("this browser"))
        .and_then(|r| r.split("action=\"/sessions/").nth(1))
        .and_then(|r| r.split('/').next())
        .expect("the other session's id");
    assert_eq!(b.get(&app, "/accounts").await.status, StatusCode::OK);
    let r = a
        .post(&app, &format!("/sessions/{other}/revoke"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(web::location(&r), "/sessions");
    // The other browser is signed out at once; this one stays.
    assert_eq!(b.get(&app, "/accounts").await.status, StatusCode::SEE_OTHER);
    assert_eq!(a.get(&app, "/accounts").await.status, StatusCode::OK);
    assert_eq!(
        a.get(&app, "/sessions")
            .await
            .text()
            .matches("action=\"/sessions/")
            .count(),
        1
    );
}

#[tokio::test]
async fn the_accounts_page_searches_by_label_app_and_username() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    for (label, app_id, user) in [
        ("Design Figma", "figma", "design@example.com"),
        ("Sales Slack", "slack", "sales@example.com"),
        ("Ops Slack", "slack", "ops@example.com"),
    ] {
        let r = app
            .post(
                "/api/v1/accounts",
                &owner.token,
                json!({ "label": label, "app": app_id, "username": user }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let b = web::Browser::sign_in(&app, "owner@example.com", PASSWORD).await;
    let cards = |html: &str| html.matches("class=\"card\"").count();
    let all = b.get(&app, "/accounts").await.text();
    assert_eq!(cards(&all), 3);
    let slack = b.get(&app, "/accounts?q=slack").await.text();
    assert_eq!(cards(&slack), 2, "{slack}");
    assert!(slack.contains("Sales Slack") && !slack.contains("Design Figma"));
    let by_user = b.get(&app, "/accounts?q=ops%40").await.text();
    assert_eq!(cards(&by_user), 1, "{by_user}");
    assert!(by_user.contains("Ops Slack"));
    assert!(
        by_user.contains("value=\"ops@\""),
        "the search box keeps the query"
    );
}
