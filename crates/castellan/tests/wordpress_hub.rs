//! The whole story on a real WordPress (Debian package, `scripts/start-wordpress.sh`): the hub
//! connects with the administrator's application password, a share invites the person, a new
//! app role changes theirs, a revoke deletes them with their posts handed to the automation
//! account, and the next check for updates finds no drift.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;

use std::path::PathBuf;
use std::process::Command;

use common::{host_args, Cli, Server};
use hub_fixture::{wait_idle, FAST_BOT};
use reqwest::Method;
use serde_json::{json, Value};
use synapse_common::tag;

/// The shared WordPress (started on first use) and the administrator's application password.
fn wordpress() -> (String, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::var("CASTELLAN_WORDPRESS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/wordpress"));
    let port = std::env::var("CASTELLAN_WORDPRESS_PORT").unwrap_or_else(|_| "18080".into());
    let out = Command::new("bash")
        .arg(root.join("scripts/start-wordpress.sh"))
        .arg(&dir)
        .arg(&port)
        .output()
        .expect("run start-wordpress.sh");
    assert!(
        out.status.success(),
        "scripts/start-wordpress.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = std::fs::read_to_string(dir.join("app-password")).expect("app-password");
    (format!("http://127.0.0.1:{port}"), token.trim().to_owned())
}

/// WordPress's REST API as `admin`, to check what the bot did.
async fn wp(base: &str, token: &str, method: Method, route: &str, body: Option<Value>) -> Value {
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
async fn users_with(base: &str, token: &str, email: &str) -> Vec<Value> {
    let route = format!("/wp/v2/users?context=edit&search={email}");
    let found = wp(base, token, Method::GET, &route, None).await;
    let found = found.as_array().unwrap().iter();
    found.filter(|u| u["email"] == email).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story_on_wordpress() {
    let (base, token) = wordpress();
    let t = tag();
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(&host_args(&tmp.path().join("data"), None, None), FAST_BOT);
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    let ana = format!("ana_{t}@example.com");
    cli.ok(&[
        "people", "invite", "--email", &ana, "--name", "Ana", "--role", "user",
    ]);

    // 1. The automation account: `admin`, with its application password as the password.
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
            "--password-stdin",
        ],
        &format!("{token}\n"),
    );
    // 2. The hub connects and the first check for updates lists the members with their roles.
    let label = format!("WordPress {t}");
    let hub = cli.json(&[
        "hub",
        "connect",
        "--app",
        "wordpress",
        "--label",
        &label,
        "--account",
        "WordPress bot",
        "--base-url",
        &base,
        "--wait",
    ]);
    assert_eq!(hub["status"], "healthy", "{hub:#}");
    let members = cli.json(&["hub", "members", &label]);
    let admin = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["app_member_id"] == "1");
    assert_eq!(admin.expect("admin listed")["app_role"], "administrator");

    // 3. Share: the person is a WordPress user with the role.
    cli.ok(&["hub", "share", &label, &ana, "--app-role", "author"]);
    wait_idle(&cli, &label);
    let found = users_with(&base, &token, &ana).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["roles"], json!(["author"]));
    let id = found[0]["id"].as_u64().unwrap();
    let onboarded = cli.json(&["hub", "members", &label, "--matching", "onboarded"]);
    let listed = onboarded.as_array().unwrap().iter();
    assert!(listed
        .clone()
        .any(|m| m["email"] == ana.as_str() && m["app_role"] == "author"));

    // 4. A new app role: WordPress shows it.
    cli.ok(&["hub", "share", &label, &ana, "--app-role", "editor"]);
    wait_idle(&cli, &label);
    let found = users_with(&base, &token, &ana).await;
    assert_eq!(found[0]["roles"], json!(["editor"]));

    // 5. Revoke: the user is deleted and their post handed to the automation account.
    let post = json!({"title": format!("Ana's post {t}"), "status": "publish", "author": id});
    let post = wp(&base, &token, Method::POST, "/wp/v2/posts", Some(post)).await;
    cli.ok(&["hub", "revoke", &label, &ana]);
    let jobs = wait_idle(&cli, &label);
    assert!(jobs.iter().all(|j| j["state"] == "completed"), "{jobs:#?}");
    for task in [
        "check_for_updates",
        "invite_member",
        "update_member_role",
        "remove_member",
    ] {
        assert!(
            jobs.iter().any(|j| j["task"] == task),
            "no {task} in the automation log"
        );
    }
    assert!(users_with(&base, &token, &ana).await.is_empty());
    let route = format!("/wp/v2/posts/{}?context=edit", post["id"]);
    assert_eq!(
        wp(&base, &token, Method::GET, &route, None).await["author"],
        1
    );

    // 6. The next check for updates finds no drift.
    let out = cli.json(&["hub", "sync", &label]);
    assert_eq!(out["state"], "completed", "{out:#}");
    let shown = cli.json(&["hub", "show", &label]);
    assert_eq!(shown["status"], "healthy", "{shown:#}");
    assert_eq!(shown["last_report"]["drift"], 0, "{shown:#}");
}
