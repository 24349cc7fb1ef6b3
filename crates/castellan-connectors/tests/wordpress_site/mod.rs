//! The real WordPress the WordPress connectors' tests share: started once per test binary, its
//! REST API as `admin` out of band, and members seeded through it.
#![allow(dead_code)]

use std::collections::HashSet;

use castellan_conformance::harness::{start_app, unique, AdminApi, StartedApp};
use castellan_core::connector::{AppRole, ConnectorContext};
use futures::stream::{self, StreamExt};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

pub const ADMIN: &str = "admin";
/// An account that signs in but may not manage members: an editor with its own application
/// password.
pub const EDITOR: &str = "castellan_editor";
/// The custom role the start script adds.
pub const CUSTOM_ROLE: &str = "castellan_reviewer";

pub fn site() -> StartedApp {
    start_app("wordpress", 18080)
}

pub fn secret_file(name: &str) -> String {
    let file = site().dir.join(name);
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .trim()
        .to_owned()
}

/// A context at `base` as `username` with an application password as its API token.
pub fn token_context(base: &str, username: &str, token: &str) -> ConnectorContext {
    let mut ctx = ConnectorContext::new(base, username, SecretString::from("unused".to_owned()));
    ctx.api_token = Some(SecretString::from(token.to_owned()));
    ctx
}

/// WordPress's REST API (`/wp-json/…`) as `admin`, to set up and to check.
pub fn raw() -> AdminApi {
    let basic = format!("{ADMIN}:{}", secret_file("app-password"));
    let basic = data_encoding::BASE64.encode(basic.as_bytes());
    AdminApi::new(&site().base_url).with_header("Authorization", &format!("Basic {basic}"))
}

/// Every user whose email, username or name holds `search`.
pub async fn search(raw: &AdminApi, search: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let path =
            format!("/wp-json/wp/v2/users?context=edit&per_page=100&page={page}&search={search}");
        match raw.call(Method::GET, &path, None).await {
            (200, Value::Array(rows)) if !rows.is_empty() => all.extend(rows),
            _ => return all,
        }
    }
    all
}

pub async fn create_user(raw: &AdminApi, login: &str, email: &str, role: &str) -> Value {
    let body = json!({"username": login, "email": email, "password": unique(), "roles": [role]});
    raw.ok(Method::POST, "/wp-json/wp/v2/users", Some(body))
        .await
}

/// Subscribers `<prefix><i>@seed.test`, made through the REST API as `admin`, four at a
/// time (PHP's server has four workers). A user made meanwhile by another test binary
/// (`existing_user_*`) is taken as made.
pub async fn seed(prefix: &str, n: usize) -> Vec<String> {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = ONE_AT_A_TIME.lock().await;
    let raw = raw();
    let emails: Vec<String> = (0..n).map(|i| format!("{prefix}{i}@seed.test")).collect();
    let have: HashSet<String> = search(&raw, prefix)
        .await
        .iter()
        .filter_map(|u| u["email"].as_str().map(str::to_lowercase))
        .collect();
    let missing: Vec<&String> = emails.iter().filter(|e| !have.contains(*e)).collect();
    stream::iter(missing)
        .for_each_concurrent(4, |e| {
            let raw = &raw;
            async move {
                let login = e.split('@').next().unwrap();
                let body = json!({"username": login, "email": e, "password": unique(),
                    "roles": ["subscriber"]});
                let (status, v) = raw
                    .call(Method::POST, "/wp-json/wp/v2/users", Some(body))
                    .await;
                let code = v["code"].as_str().unwrap_or("");
                assert!(
                    status == 201 || code.starts_with("existing_user_"),
                    "seed {e}: {status} {v}"
                );
            }
        })
        .await;
    emails
}

/// The roles listed are WordPress's five, most privileged first, with their labels, and the
/// custom role the start script adds.
pub fn check_roles(listed: &[AppRole]) {
    let names: Vec<&str> = listed.iter().map(|r| r.role.as_str()).collect();
    let five = [
        "administrator",
        "editor",
        "author",
        "contributor",
        "subscriber",
    ];
    assert_eq!(names[..5], five);
    assert!(names.contains(&CUSTOM_ROLE), "{names:?}");
    let labels = (listed[0].label.as_str(), listed[4].label.as_str());
    assert_eq!(labels, ("Administrator", "Subscriber"));
}
