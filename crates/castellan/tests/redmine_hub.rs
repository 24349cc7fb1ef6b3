//! The bot signs in to a real Redmine (Debian package) with username, password and a TOTP code
//! from Castellan's authenticator, and lists the users (issue 4's acceptance story).

mod common;

use common::{host_args, Cli, Server};
use secrecy::ExposeSecret;
use serde_json::json;

/// Starts Redmine (shared harness); returns its base URL and the admin's API key.
fn redmine() -> (String, String) {
    let app = castellan_conformance::harness::start_app("redmine", 13001);
    let key = std::fs::read_to_string(app.dir.join("api-key"))
        .expect("api-key")
        .trim()
        .to_owned();
    (app.base_url, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_signs_in_to_redmine_with_castellans_totp_and_lists_users() {
    let (base, admin_key) = redmine();
    let t = uuid::Uuid::now_v7().simple().to_string()[20..].to_owned();
    let bot = format!("castellanbot{t}");
    let password = format!("Bot-password-{t}");
    // A dedicated administrator for the automation account.
    let r = reqwest::Client::new()
        .post(format!("{base}/users.json"))
        .header("X-Redmine-API-Key", &admin_key)
        .json(&json!({ "user": { "login": bot, "firstname": "Castellan", "lastname": "Bot", "mail": format!("{bot}@example.com"), "password": password, "admin": true, "must_change_passwd": false } }))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "create bot: {}",
        r.text().await.unwrap()
    );

    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(
        &host_args(&tmp.path().join("data"), None, None),
        &[
            ("CASTELLAN_JOB_LEASE_SECS", "120"),
            ("CASTELLAN_RETRY_BASE_SECS", "1"),
        ],
    );
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    cli.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "Redmine bot",
            "--app",
            "redmine",
            "--username",
            &bot,
            "--setup",
            "placeholder",
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );

    // 1. Turn on 2FA in Redmine with Castellan as the authenticator: Redmine shows the secret,
    //    Castellan stores it, Castellan's code confirms the pairing.
    let setup = castellan_connectors::redmine::enable_totp_for(&base, &bot, &password)
        .await
        .expect("start pairing");
    cli.ok_stdin(
        &["totp", "add", "Redmine bot", "--secret-stdin"],
        &format!("{}\n", setup.secret.expose_secret()),
    );
    let code = cli.json(&["totp", "show", "Redmine bot"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    castellan_connectors::redmine::confirm_totp(&base, &bot, &password, &code)
        .await
        .expect("confirm pairing");

    // 2. The bot signs in with username, password and a TOTP code, and 3. lists the users.
    let hub = cli.json(&[
        "hub",
        "connect",
        "--app",
        "redmine",
        "--label",
        "Redmine",
        "--account",
        "Redmine bot",
        "--base-url",
        &base,
        "--login-method",
        "password_totp",
        "--wait",
    ]);
    assert_eq!(hub["status"], "healthy", "{hub:#}");
    assert!(!hub["warnings"].to_string().contains("no 2FA"), "{hub:#}");
    let members = cli.json(&["hub", "members", "Redmine"]);
    let members = members.as_array().unwrap();
    assert!(
        members.iter().any(
            |m| m["email"] == format!("{bot}@example.com").as_str() && m["app_role"] == "admin"
        ),
        "bot listed"
    );
    assert!(
        members.iter().any(
            |m| m["app_role"] == "admin" && m["email"] != format!("{bot}@example.com").as_str()
        ),
        "the admin listed"
    );
    // The bot's use of the account (and so of its authenticator) is in the activity log.
    let uses = cli.json(&["activity", "list", "--action", "account.use"]);
    assert!(!uses.as_array().unwrap().is_empty());
}
