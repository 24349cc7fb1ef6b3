//! The real Redmine the Redmine connectors' tests share (`tests/redmine.rs`,
//! `tests/redmine_browser.rs`): started once per test binary with `scripts/start-redmine.sh`,
//! its REST API as `admin` out of band (to set up and to check), members seeded through it, and
//! an administrator with two-factor authentication paired through Redmine's own pages.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use castellan_conformance::harness::{password_context, AdminApi, PasswordApp};
use castellan_connectors::redmine;
use castellan_core::connector::ConnectorContext;
use castellan_otp::{Kind, OtpParams};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

/// The app and its automation account (a server admin, made by the start script).
pub const REDMINE: PasswordApp = PasswordApp::new("redmine", 13001, "admin", "adminpass123");
pub const ADMIN: &str = REDMINE.username;
pub const ADMIN_PASS: &str = REDMINE.password;
/// An account that signs in but is no administrator.
pub const PLAIN: &str = "conformance_plain";
pub const PLAIN_PASS: &str = "plain-pass-123";

pub fn base() -> String {
    REDMINE.base_url()
}

/// The admin's API key, written by the start script.
pub fn api_key() -> String {
    let file = REDMINE.started().dir.join("api-key");
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .trim()
        .to_owned()
}

pub fn ctx(username: &str, password: &str) -> ConnectorContext {
    password_context(&base(), username, password)
}

/// Redmine's REST API as `admin`.
pub fn raw() -> AdminApi {
    AdminApi::new(&base()).with_header("X-Redmine-API-Key", &api_key())
}

/// Creates a user (`login`, names, `mail`, `password`, and any other field of `extra`); returns
/// its id, or `None` when Redmine refuses because the login or the email is taken (another test
/// run made it first).
pub async fn try_create_user(login: &str, mail: &str, password: &str, extra: Value) -> Option<u64> {
    let mut user = json!({"login": login, "firstname": "Test", "lastname": "User",
        "mail": mail, "password": password});
    if let (Some(u), Some(e)) = (user.as_object_mut(), extra.as_object()) {
        u.extend(e.clone());
    }
    let body = Some(json!({ "user": user }));
    match raw().call(Method::POST, "/users.json", body).await {
        (201, created) => Some(created["user"]["id"].as_u64().unwrap()),
        (422, why) if why.to_string().contains("has already been taken") => None,
        (status, why) => panic!("create {login}: HTTP {status} {why}"),
    }
}

/// Like [`try_create_user`], for a user nobody else makes.
pub async fn create_user(login: &str, mail: &str, password: &str, extra: Value) -> u64 {
    try_create_user(login, mail, password, extra)
        .await
        .unwrap_or_else(|| panic!("{login} or {mail} is taken"))
}

/// A user as the REST API shows it to `admin` (`None`: gone).
pub async fn user(id: &str) -> Option<Value> {
    raw()
        .get(&format!("/users/{id}.json"))
        .await
        .map(|b| b["user"].clone())
}

pub async fn set_status(id: u64, status: u8) {
    let body = json!({"user": {"status": status}});
    raw()
        .ok(Method::PUT, &format!("/users/{id}.json"), Some(body))
        .await;
}

/// Logins (any status) containing `part`.
pub async fn logins_containing(part: &str) -> Vec<String> {
    let mut found = Vec::new();
    loop {
        let path = format!(
            "/users.json?status=&name={part}&limit=100&offset={}",
            found.len()
        );
        let body = raw().ok(Method::GET, &path, None).await;
        let rows = body["users"].as_array().unwrap();
        found.extend(rows.iter().map(|u| u["login"].as_str().unwrap().to_owned()));
        if rows.is_empty() || found.len() as u64 >= body["total_count"].as_u64().unwrap() {
            return found;
        }
    }
}

/// The context of `conformance_plain`, who signs in but is no administrator (made on first
/// use).
pub async fn plain_context(base_url: &str) -> ConnectorContext {
    if !logins_containing(PLAIN).await.iter().any(|l| l == PLAIN) {
        let mail = format!("{PLAIN}@example.com");
        try_create_user(PLAIN, &mail, PLAIN_PASS, json!({})).await;
    }
    password_context(base_url, PLAIN, PLAIN_PASS)
}

/// The conformance suite's members `<prefix><i>@example.com` (login `<prefix><i>`), made once.
/// Sequential: Redmine's SQLite database takes one writer at a time.
pub async fn seed(prefix: &str, n: usize) -> Vec<String> {
    let existing = logins_containing(prefix).await;
    let email = |i: usize| format!("{prefix}{i}@example.com");
    for i in 0..n {
        let login = format!("{prefix}{i}");
        if !existing.contains(&login) {
            let names = json!({"firstname": "Page", "lastname": i.to_string()});
            try_create_user(&login, &email(i), "page-pass-123", names).await;
        }
    }
    (0..n).map(email).collect()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn totp_from_secret(secret: &str) -> OtpParams {
    let (secret, warnings) = castellan_otp::parse_secret(secret).expect("a base32 secret");
    assert!(warnings.is_empty(), "{warnings:?}");
    OtpParams::new(Kind::Totp, secret)
}

/// An administrator `login` (password `password`, made with the REST API) with two-factor
/// authentication turned on through Redmine's own pairing pages, Castellan's authenticator
/// holding the secret: its user id and the authenticator's parameters.
pub async fn admin_with_totp(login: &str, mail: &str, password: &str) -> (u64, OtpParams) {
    let names = json!({"firstname": "Castellan", "lastname": "Bot", "admin": true});
    let id = create_user(login, mail, password, names).await;
    let setup = redmine::enable_totp_for(&base(), login, password)
        .await
        .expect("the pairing starts");
    let params = totp_from_secret(setup.secret.expose_secret());
    let code = castellan_otp::code_at(&params, now());
    redmine::confirm_totp(&base(), login, password, &code)
        .await
        .expect("the pairing is confirmed with Castellan's code");
    assert_eq!(user(&id.to_string()).await.unwrap()["twofa_scheme"], "totp");
    (id, params)
}
