//! The shared real WordPress of the hub tests (Debian package, `scripts/start-wordpress.sh`):
//! where it runs, its REST API as `admin` to check what the bot did, the automation account,
//! and a person's own sign-in (the cookies they would export from their browser).
#![allow(dead_code)]

use castellan_conformance::harness::start_app;
use reqwest::Method;
use serde_json::Value;

use crate::common::Cli;

/// The shared WordPress (started on first use), and the administrator's application password
/// and password.
pub fn wordpress() -> (String, String, String) {
    let site = start_app("wordpress", 18080);
    let read = |f: &str| {
        std::fs::read_to_string(site.dir.join(f))
            .expect(f)
            .trim()
            .to_owned()
    };
    (site.base_url, read("app-password"), read("admin-password"))
}

/// WordPress's REST API as `admin`, to check what the bot did.
pub async fn wp(
    base: &str,
    token: &str,
    method: Method,
    route: &str,
    body: Option<Value>,
) -> Value {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}/wp-json{route}"))
        .basic_auth("admin", Some(token));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{route}: {}", r.status());
    r.json().await.unwrap()
}

/// The WordPress users whose email is `email`.
pub async fn users_with(base: &str, token: &str, email: &str) -> Vec<Value> {
    let route = format!("/wp/v2/users?context=edit&search={email}");
    let found = wp(base, token, Method::GET, &route, None).await;
    let found = found.as_array().unwrap().iter();
    found.filter(|u| u["email"] == email).cloned().collect()
}

/// Stores the automation account `WordPress bot`: `admin` with its password and its application
/// password (the secret custom field `api_token`).
pub fn add_bot(cli: &Cli, token: &str, password: &str) {
    cli.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "WordPress bot",
            "--app",
            "wordpress",
            "--username",
            "admin",
            "--setup",
            "placeholder",
            "--secret-field",
            &format!("api_token={token}"),
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );
}

/// A person signs in to wp-admin as `admin` on `base` (as they would in their own browser) and
/// exports the cookies WordPress set, as a Netscape `cookies.txt` for `host`.
pub async fn signed_in_cookies_txt(base: &str, password: &str, host: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = [
        ("log", "admin"),
        ("pwd", password),
        ("wp-submit", "Log In"),
        ("testcookie", "1"),
    ];
    let r = http
        .post(format!("{base}/wp-login.php"))
        .header("Cookie", "wordpress_test_cookie=WP%20Cookie%20check")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "the sign-in is answered with a redirect");
    let mut out = String::from("# Netscape HTTP Cookie File\n");
    for v in r.headers().get_all("set-cookie") {
        let v = v.to_str().unwrap();
        let mut parts = v.split(';').map(str::trim);
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        if name == "wordpress_test_cookie" {
            continue;
        }
        let path = parts
            .find_map(|p| p.strip_prefix("path=").or(p.strip_prefix("Path=")))
            .unwrap_or("/");
        let line = format!("#HttpOnly_{host}\tFALSE\t{path}\tFALSE\t0\t{name}\t{value}\n");
        out.push_str(&line);
    }
    assert!(out.contains("wordpress_logged_in_"), "{out}");
    out
}

/// Sends the shared WordPress's mail for `address` to the SMTP receiver at `smtp` (the route
/// file `scripts/wordpress-mail.php` reads); other mail is not sent.
pub fn route_mail(address: &str, smtp: &(String, u16)) {
    let routes = start_app("wordpress", 18080).dir.join("mail-routes");
    std::fs::create_dir_all(&routes).unwrap();
    let line = format!("{}:{}\n", smtp.0, smtp.1);
    std::fs::write(routes.join(address.to_lowercase()), line).unwrap();
}
