//! The browser bot signs in with a link the app emails to the automation account's managed
//! address: the real WordPress sends its password-reset mail over SMTP
//! (`scripts/wordpress-mail.php`) to `castellan serve`'s SMTP receiver; the bot asks for the
//! link on "Lost your password?", reads it in the shared inbox (recorded as a code read by the
//! bot), opens it, sets a new random password and signs in, then does the hub's work. The
//! password in the vault is never used, and the link is nowhere in plaintext in the database.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;
#[path = "common/wordpress.rs"]
mod wordpress_common;

use common::{Cli, Server};
use hub_fixture::wait_idle;
use reqwest::Method;
use serde_json::{json, Value};
use synapse_common::tag;
use wordpress_common::{route_mail, users_with, wordpress, wp};

const BOT: &str = "WordPress link bot";

/// A workspace with a placeholder automation account whose stored password is not
/// WordPress's, on a managed address; WordPress has it as an administrator with that address
/// (and, when `routed`, sends the address's mail to Castellan's SMTP receiver); a hub on the
/// browser connector that signs in with the emailed link. Returns the server, the CLI, the
/// person Ana's email and the hub's label.
async fn hub_by_link(tmp: &std::path::Path, routed: bool) -> (Server, Cli, String, String) {
    let (base, token, _) = wordpress();
    let t = tag();
    let (server, cli, ana) = hub_fixture::story_workspace(tmp, "Ana", &t);
    let login = format!("castellan_link_bot_{t}");
    let mut args = vec!["accounts", "add", "--label", BOT, "--app", "wordpress"];
    args.extend(["--username", &login, "--setup", "placeholder"]);
    args.push("--password-stdin");
    cli.ok_stdin(&args, "not-the-wordpress-password\n");
    let address = cli.json(&["accounts", "email", BOT])["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = json!({
        "username": login,
        "email": address,
        "password": format!("Unknown-{t}-pass!"),
        "roles": ["administrator"],
    });
    wp(&base, &token, Method::POST, "/wp/v2/users", Some(made)).await;
    if routed {
        route_mail(&address, &server.smtp_addr());
    }
    let label = format!("WordPress by link {t}");
    let mut args = vec!["hub", "connect", "--app", "wordpress", "--label", &label];
    args.extend(["--account", BOT, "--base-url", &base]);
    args.extend(["--connector", "wordpress_browser"]);
    args.extend(["--setting", "reassign_to=admin"]);
    args.extend(["--setting", "sign_in_with=emailed_link"]);
    cli.ok(&args);
    (server, cli, ana, label)
}

/// The hub's first check for updates and an invitation complete with the link: the mail is in
/// the shared inbox, the bot's read of it in the activity log, the step in the job's record
/// (without the link), and the link's key nowhere in plaintext in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_signs_in_with_the_link_wordpress_emails_to_the_managed_address() {
    let (base, token, _) = wordpress();
    let tmp = tempfile::tempdir().unwrap();
    let (server, cli, ana, label) = hub_by_link(tmp.path(), true).await;
    cli.ok(&["hub", "share", &label, &ana, "--app-role", "author"]);
    let jobs = wait_idle(&cli, &label);
    assert!(jobs.iter().all(|j| j["state"] == "completed"), "{jobs:#?}");
    assert!(
        jobs.iter().any(|j| j["task"] == "invite_member"),
        "{jobs:#?}"
    );
    let hub = cli.json(&["hub", "show", &label]);
    assert_eq!(hub["status"], "healthy", "{hub:#}");
    let invited = users_with(&base, &token, &ana).await;
    assert_eq!(invited.len(), 1, "{invited:#?}");
    assert_eq!(invited[0]["roles"], json!(["author"]));

    // 2. The mail came to the shared inbox, with a link to WordPress; the bot read it, and
    //    the job's record names the step, not the link.
    let mail = cli.json(&["inbox", "list", "--account", BOT]);
    let mail = mail.as_array().unwrap();
    assert!(!mail.is_empty(), "no mail in the inbox");
    assert!(mail.iter().any(|m| m["has_link"] == true), "{mail:#?}");
    let reads = cli.json(&["activity", "list", "--action", "inbox.code_read"]);
    assert!(!reads.as_array().unwrap().is_empty(), "{reads:#}");
    let first = jobs.last().unwrap();
    let steps = cli.json(&["jobs", "steps", first["id"].as_str().unwrap()]);
    let steps = steps.as_array().unwrap();
    let opened: Vec<&Value> = steps
        .iter()
        .filter(|s| s["what"] == "open the password-reset link from the inbox")
        .collect();
    assert_eq!(opened.len(), 1, "{steps:#?}");
    assert!(
        steps
            .iter()
            .all(|s| !s["what"].as_str().unwrap().contains("key=")
                && !s["url"].as_str().unwrap_or_default().contains("key=")),
        "{steps:#?}"
    );

    // 3. The link signs in: its key is nowhere in plaintext in the database.
    let with_link = mail.iter().find(|m| m["has_link"] == true).unwrap();
    let link = cli.json(&["inbox", "show", with_link["id"].as_str().unwrap()])["link"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(link.starts_with(&format!("{base}/wp-login.php?")), "{link}");
    let key = link
        .split('&')
        .find_map(|p| p.strip_prefix("key="))
        .expect("the link has a key");
    assert!(
        !common::data_holds(&tmp.path().join("data"), key.as_bytes()),
        "the link's key is in plaintext in the database"
    );
    drop(server);
}

/// When WordPress cannot send the link (no mail route for the address: wp_mail() fails), the
/// bot stops with WordPress's own words and the hub asks a person to review the automation
/// account; nothing reached the inbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_wordpress_cannot_send_stops_with_its_words() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, cli, _, label) = hub_by_link(tmp.path(), false).await;
    let jobs = wait_idle(&cli, &label);
    assert!(jobs.iter().all(|j| j["state"] != "completed"), "{jobs:#?}");
    let hub = cli.json(&["hub", "show", &label]);
    assert_eq!(hub["status"], "review_service_account", "{hub:#}");
    let reason = hub["status_reason"].as_str().unwrap();
    assert!(reason.contains("could not be sent"), "{reason}");
    let mail = cli.json(&["inbox", "list", "--account", BOT]);
    assert!(mail.as_array().unwrap().is_empty(), "{mail:#}");
}
