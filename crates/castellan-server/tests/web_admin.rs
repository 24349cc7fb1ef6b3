//! Two-step sign-in and the admin pages through the router: setting up a person's own
//! authenticator (a wrong code, then the right one), signing in with it on the web form and on
//! the API (missing, wrong and replayed codes refused), people and workspace roles with
//! invitations accepted on the web, vaults and their access, the activity log's filter and its
//! CSV export (formula cells neutralised), CSRF refusals, and people without an admin role
//! refused by the permission matrix.

mod common;

use axum::http::{header, StatusCode};
use castellan_otp::{Kind, OtpParams};
use common::{Resp, TestApp, PASSWORD};
use serde_json::json;

const FORM: &str = "application/x-www-form-urlencoded";

/// A browser: a cookie jar and the CSRF token of the current page or session.
mod web {
    use super::*;

    /// One browser over a [`TestApp`].
    pub struct Browser<'a> {
        pub app: &'a TestApp,
        cookies: Vec<(String, String)>,
        /// The CSRF token forms carry (from the last page, or bound to the session).
        pub csrf: String,
    }

    /// The value of hidden field `name` in `html`.
    pub fn hidden(html: &str, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let at = html
            .find(&needle)
            .unwrap_or_else(|| panic!("no hidden {name} in {html}"));
        let rest = &html[at + needle.len()..];
        rest[..rest.find('"').expect("closing quote")].to_owned()
    }

    /// The text of the element with `id` (up to its first `<`).
    pub fn by_id(html: &str, id: &str) -> String {
        let at = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id} in {html}"));
        let rest = &html[at..];
        let start = rest.find('>').expect("tag end") + 1;
        let rest = &rest[start..];
        rest[..rest.find('<').expect("next tag")].to_owned()
    }

    impl<'a> Browser<'a> {
        /// A browser with no cookies.
        pub fn new(app: &'a TestApp) -> Self {
            Self {
                app,
                cookies: vec![],
                csrf: String::new(),
            }
        }

        /// A browser already signed in as `email` (password [`super::PASSWORD`]): a web
        /// session issued by the service, as the sign-in form does, without counting against
        /// the sign-in rate limit.
        pub async fn with_session(app: &'a TestApp, email: &str) -> Self {
            let r = app
                .svc
                .sessions()
                .sign_in(
                    &castellan_core::activity::Actor::anonymous(None, None),
                    castellan_core::service::SignIn {
                        email: email.into(),
                        password: super::PASSWORD.to_owned().into(),
                        totp_code: None,
                        token_name: Some("web session: test".into()),
                        expires_in_days: Some(1),
                        web_session: true,
                    },
                )
                .await
                .expect("web session");
            let mut b = Self::new(app);
            b.cookies
                .push(("castellan_session".into(), r.token.clone()));
            b.csrf = castellan_server::web::security::csrf_for_session(&r.token);
            b
        }

        /// The value of a cookie in the jar.
        pub fn cookie(&self, name: &str) -> Option<&str> {
            self.cookies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }

        fn cookie_header(&self) -> String {
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        }

        fn keep_cookies(&mut self, r: &Resp) {
            for v in r.headers.get_all(header::SET_COOKIE) {
                let v = v.to_str().expect("ascii cookie");
                let pair = v.split(';').next().unwrap_or_default();
                let (name, value) = pair.split_once('=').expect("name=value");
                self.cookies.retain(|(n, _)| n != name);
                if !value.is_empty() && !v.contains("Max-Age=0") {
                    self.cookies.push((name.into(), value.into()));
                }
            }
            if let Some(s) = self.cookie("castellan_session") {
                self.csrf = castellan_server::web::security::csrf_for_session(s);
            }
        }

        /// GET with the jar's cookies; keeps new cookies.
        pub async fn get(&mut self, path: &str) -> Resp {
            let cookies = self.cookie_header();
            let mut h = vec![];
            if !cookies.is_empty() {
                h.push((header::COOKIE, cookies.as_str()));
            }
            let r = self.app.raw("GET", path, &h, vec![]).await;
            self.keep_cookies(&r);
            r
        }

        /// GET a public form page and take its CSRF token.
        pub async fn open_form(&mut self, path: &str) -> Resp {
            let r = self.get(path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
            self.csrf = hidden(&r.text(), "csrf");
            r
        }

        /// POSTs `fields` as a form, with `csrf` as given (not added).
        pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish();
            let cookies = self.cookie_header();
            let mut h = vec![(header::CONTENT_TYPE, FORM)];
            if !cookies.is_empty() {
                h.push((header::COOKIE, cookies.as_str()));
            }
            let r = self.app.raw("POST", path, &h, body.into_bytes()).await;
            self.keep_cookies(&r);
            r
        }

        /// POSTs `fields` with the current CSRF token.
        pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
            let csrf = self.csrf.clone();
            let mut all = vec![("csrf", csrf.as_str())];
            all.extend_from_slice(fields);
            self.post_raw(path, &all).await
        }

        /// Signs in through the web form (`code` empty for none).
        pub async fn sign_in(&mut self, email: &str, password: &str, code: &str) -> Resp {
            self.open_form("/sign-in").await;
            self.post(
                "/sign-in",
                &[
                    ("email", email),
                    ("password", password),
                    ("code", code),
                    ("next", "/accounts"),
                ],
            )
            .await
        }
    }
}

use web::{by_id, hidden, Browser};

#[path = "web_admin/collections.rs"]
mod collections;
#[path = "web_admin/people.rs"]
mod people;
#[path = "web_admin/teams.rs"]
mod teams;
#[path = "web_admin/vaults_and_activity.rs"]
mod vaults_and_activity;

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970")
}

fn params(secret: &str) -> OtpParams {
    let (s, _) = castellan_otp::parse_secret(secret).expect("base32 secret");
    OtpParams::new(Kind::Totp, s)
}

/// The code `secret` shows `offset` seconds from now.
fn code(secret: &str, offset: u64) -> String {
    castellan_otp::code_at(&params(secret), now() + offset)
}

/// A code that matches no step within ±2 of now.
fn wrong_code(secret: &str) -> String {
    let p = params(secret);
    let near: Vec<String> = (0..5)
        .map(|i| castellan_otp::code_at(&p, now() + i * 30 - 60))
        .collect();
    ["000000", "111111", "222222", "333333", "444444", "555555"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .expect("one of six codes is not among five")
        .to_owned()
}

#[track_caller]
fn assert_status(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "body: {}", r.text());
}

#[track_caller]
fn assert_redirect(r: &Resp, to: &str) {
    assert_status(r, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], to);
}

/// Sets up two-step sign-in through the web for a signed-in browser; returns the secret.
/// Checks the wrong-code round on the way.
async fn enroll(b: &mut Browser<'_>) -> String {
    let page = b.get("/account-security").await;
    assert_status(&page, StatusCode::OK);
    let html = page.text();
    assert_eq!(by_id(&html, "two-step-status"), "Off");
    // No secret before the explicit "Set up" post.
    assert!(!html.contains("data:image/png") && !html.contains("name=\"secret\""));

    let setup = b.post("/account-security/two-step/begin", &[]).await;
    assert_status(&setup, StatusCode::OK);
    let html = setup.text();
    assert!(html.contains("src=\"data:image/png;base64,"), "{html}");
    assert!(html.contains("id=\"two-step-code\"") && html.contains("id=\"two-step-enable\""));
    let secret = hidden(&html, "secret");
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    let grouped = by_id(&html, "two-step-secret");
    assert_eq!(grouped.replace(' ', ""), secret);

    // A wrong code: the same secret again, the error next to the code field, nothing stored.
    let bad = wrong_code(&secret);
    let again = b
        .post(
            "/account-security/two-step",
            &[("secret", &secret), ("code", &bad), ("password", PASSWORD)],
        )
        .await;
    assert_status(&again, StatusCode::UNPROCESSABLE_ENTITY);
    let html = again.text();
    assert!(
        html.contains("aria-describedby=\"two-step-code-error\""),
        "{html}"
    );
    assert!(by_id(&html, "two-step-code-error").contains("does not match"));
    assert_eq!(hidden(&html, "secret"), secret);
    assert!(
        html.contains(&format!("value=\"{bad}\"")),
        "keeps what was typed"
    );
    let html = b.get("/account-security").await.text();
    assert_eq!(by_id(&html, "two-step-status"), "Off");

    // The right code without the person's password: refused, nothing stored.
    let no_pw = b
        .post(
            "/account-security/two-step",
            &[
                ("secret", &secret),
                ("code", &code(&secret, 0)),
                ("password", "not my password"),
            ],
        )
        .await;
    assert_status(&no_pw, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(by_id(&no_pw.text(), "two-step-confirm-password-error").contains("password"));
    let html = b.get("/account-security").await.text();
    assert_eq!(by_id(&html, "two-step-status"), "Off");

    let ok = b
        .post(
            "/account-security/two-step",
            &[
                ("secret", &secret),
                ("code", &code(&secret, 0)),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_redirect(&ok, "/account-security?done=on");
    let html = b.get("/account-security?done=on").await.text();
    assert_eq!(by_id(&html, "two-step-status"), "On");
    assert!(html.contains("role=\"status\""), "a notice: {html}");
    assert!(!html.contains(&secret), "the secret is not shown again");
    secret
}

#[tokio::test]
async fn two_step_enrollment_and_web_sign_in() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let mut b = Browser::new(&app);
    let r = b.sign_in(&owner.email, PASSWORD, "").await;
    assert_redirect(&r, "/accounts");
    assert!(b.cookie("castellan_session").is_some());

    // Forms need the session's CSRF token.
    let no = b.post_raw("/account-security/two-step/begin", &[]).await;
    assert_status(&no, StatusCode::FORBIDDEN);
    let wrong = b
        .post_raw(
            "/account-security/two-step/begin",
            &[("csrf", &"0".repeat(64))],
        )
        .await;
    assert_status(&wrong, StatusCode::FORBIDDEN);

    let secret = enroll(&mut b).await;
    // Setting up again while on is refused.
    let twice = b.post("/account-security/two-step/begin", &[]).await;
    assert_status(&twice, StatusCode::CONFLICT);

    // A new browser: the password alone now asks for the code.
    let mut other = Browser::new(&app);
    let r = other.sign_in(&owner.email, PASSWORD, "").await;
    assert_status(&r, StatusCode::UNAUTHORIZED);
    let html = r.text();
    assert!(
        by_id(&html, "code-error").contains("two-step code is required"),
        "{html}"
    );
    assert!(html.contains("aria-describedby=\"code-error\""));
    assert!(other.cookie("castellan_session").is_none());
    // The next step's code signs in; the same code again is refused.
    let next = code(&secret, 30);
    let r = other.sign_in(&owner.email, PASSWORD, &next).await;
    assert_redirect(&r, "/accounts");
    assert!(other.cookie("castellan_session").is_some());
    let mut third = Browser::new(&app);
    let r = third.sign_in(&owner.email, PASSWORD, &next).await;
    assert_status(&r, StatusCode::UNAUTHORIZED);
    assert!(by_id(&r.text(), "code-error").contains("two-step code is not valid"));
    assert!(third.cookie("castellan_session").is_none());
    // A wrong password says only that, even with a good code: nothing tells two-step is on.
    let r = third
        .sign_in(&owner.email, "not the password at all", &code(&secret, 30))
        .await;
    assert_status(&r, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("wrong email or password"));
    assert!(!r.text().contains("two-step code is"));
    assert!(!r.text().contains("id=\"code-error\""));

    // Failed codes are in the activity log.
    let events = app
        .get("/api/v1/activity?action=auth.sign_in_failed", &owner.token)
        .await
        .ok()
        .json();
    let reasons: Vec<String> = events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["details"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        reasons.iter().any(|d| d.contains("two_step_code_missing")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|d| d.contains("two_step_code_reused")),
        "{reasons:?}"
    );
    let enabled = app
        .get(
            "/api/v1/activity?action=person.two_step_enable",
            &owner.token,
        )
        .await
        .ok()
        .json();
    // (`action` filters by prefix: the refused attempt without the password is there too.)
    let count = |a: &str| {
        enabled
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == a)
            .count()
    };
    assert_eq!(count("person.two_step_enable"), 1);
    assert_eq!(count("person.two_step_enable_failed"), 1);

    // Turning it off needs the password: a wrong one is shown next to the field.
    let bad = b
        .post(
            "/account-security/two-step/disable",
            &[("password", "not the password at all")],
        )
        .await;
    assert_status(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text();
    assert!(by_id(&html, "two-step-password-error").contains("password"));
    assert!(
        !html.contains("not the password at all"),
        "passwords are not echoed"
    );
    let off = b
        .post(
            "/account-security/two-step/disable",
            &[("password", PASSWORD)],
        )
        .await;
    assert_redirect(&off, "/account-security?done=off");
    let html = b.get("/account-security").await.text();
    assert_eq!(by_id(&html, "two-step-status"), "Off");
    let me = app.get("/api/v1/me", &owner.token).await.ok().json();
    assert_eq!(me["two_step"], json!(false));
}

#[tokio::test]
async fn api_sign_in_enforces_two_step() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let mut b = Browser::with_session(&app, &owner.email).await;
    let secret = enroll(&mut b).await;
    let me = app.get("/api/v1/me", &owner.token).await.ok().json();
    assert_eq!(me["two_step"], json!(true));
    // Five attempts: the sign-in rate limit allows five per email per minute.
    let sign_in = |code: Option<String>, password: &'static str| {
        let mut body = json!({ "email": owner.email, "password": password });
        if let Some(c) = code {
            body["totp_code"] = json!(c);
        }
        app.call("POST", "/api/v1/auth/sign-in", None, Some(body))
    };
    sign_in(None, PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["a two-step code is required"]);
    sign_in(Some(wrong_code(&secret)), PASSWORD)
        .await
        .assert_problem(
            StatusCode::UNAUTHORIZED,
            &["the two-step code is not valid"],
        );
    // The enrollment's own code was used up by turning it on.
    sign_in(Some(code(&secret, 0)), PASSWORD)
        .await
        .assert_problem(
            StatusCode::UNAUTHORIZED,
            &["the two-step code is not valid"],
        );
    let next = code(&secret, 30);
    let r = sign_in(Some(next.clone()), PASSWORD).await;
    assert_status(&r, StatusCode::CREATED);
    assert!(r.str("token").starts_with("cst_"));
    sign_in(Some(next), PASSWORD).await.assert_problem(
        StatusCode::UNAUTHORIZED,
        &["the two-step code is not valid"],
    );
}
