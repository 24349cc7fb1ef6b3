//! A person in the loop on the browser bot, on the real WordPress behind a proxy that puts a
//! page the flow does not know in front of one step:
//! - a captcha on the sign-in: the job becomes `needs_attention` ("Captcha resolution
//!   required") with its steps and a screenshot, and completes after the hub's manager uploads
//!   the cookies of their own sign-in (the bot never signs in again meanwhile);
//! - a maintenance page instead of the users list: `needs_attention` ("Unexpected page"), and
//!   the job completes when retried once the page is gone.
//!
//! The database holds the screenshots and the uploaded cookies sealed only.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;
#[path = "common/wordpress.rs"]
mod wordpress_common;

use castellan_conformance::fault_proxy::{Fault, FaultProxy};
use hub_fixture::wait_idle;
use serde_json::Value;
use synapse_common::tag;
use wordpress_common::{add_bot, signed_in_cookies_txt, users_with, wordpress};

/// A challenge page as sites put in front of a sign-in (no WordPress form on it).
const CAPTCHA: &str = "<!doctype html><html><head><title>Just a moment…</title></head><body>\
    <h1>Verify you are human</h1><div class=\"captcha\"><img alt=\"captcha\" src=\"data:,\">\
    <input name=\"captcha_answer\"></div></body></html>";

/// A maintenance page in front of wp-admin.
const MAINTENANCE: &str = "<!doctype html><html><head><title>Maintenance</title></head><body>\
    <h1>Briefly unavailable for scheduled maintenance.</h1></body></html>";

/// The PNG signature (RFC 2083 §3.1).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

fn connect(cli: &common::Cli, label: &str, url: &str) {
    let mut args = vec!["hub", "connect", "--app", "wordpress", "--label", label];
    args.extend(["--account", "WordPress bot", "--base-url", url]);
    args.extend(["--setting", "reassign_to=admin"]);
    args.extend(["--connector", "wordpress_browser"]);
    cli.ok(&args);
}

fn only<'a>(jobs: &'a [Value], task: &str) -> &'a Value {
    let found: Vec<&Value> = jobs.iter().filter(|j| j["task"] == task).collect();
    assert_eq!(found.len(), 1, "{jobs:#?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captcha_at_sign_in_waits_for_a_person_and_an_uploaded_session_resolves_it() {
    let (base, _token, password) = wordpress();
    let proxy = FaultProxy::start(&base).await;
    proxy.fail(
        "POST",
        "/wp-login.php",
        Fault::Page(200, CAPTCHA.into()),
        1000,
    );
    let t = tag();
    let tmp = tempfile::tempdir().unwrap();
    let (server, cli, _ana) = hub_fixture::story_workspace(tmp.path(), "Ana", &t);
    add_bot(&cli, &_token, &password);
    let label = format!("WordPress captcha {t}");
    connect(&cli, &label, &proxy.url);

    // 1. The first check for updates stops at the captcha and waits for a person.
    let jobs = wait_idle(&cli, &label);
    let check = only(&jobs, "check_for_updates");
    assert_eq!(check["state"], "needs_attention", "{check:#}");
    assert_eq!(check["attention"], "challenge");
    assert_eq!(check["attention_label"], "Captcha resolution required");
    let hub = cli.json(&["hub", "show", &label]);
    assert_eq!(hub["status"], "review_service_account", "{hub:#}");
    assert!(
        hub["status_reason"]
            .as_str()
            .unwrap()
            .starts_with("Captcha resolution required"),
        "{hub:#}"
    );
    let sign_ins = || {
        let r = proxy.requests();
        r.iter()
            .filter(|(m, p)| m == "POST" && p.starts_with("/wp-login.php"))
            .count()
    };
    let tried = sign_ins();
    assert!(tried >= 1);

    // 2. Its record: the steps up to the sign-in, the failing one with the error and a
    //    screenshot of the captcha; viewing it is recorded.
    let id = check["id"].as_str().unwrap();
    let steps = cli.json(&["jobs", "steps", id]);
    let steps = steps.as_array().unwrap();
    assert!(
        steps.iter().any(|s| s["what"] == "visit /wp-login.php"),
        "{steps:#?}"
    );
    let failed = steps.last().unwrap();
    assert!(
        failed["error"].as_str().unwrap().contains("asks for more"),
        "{failed:#}"
    );
    assert_eq!(failed["screenshot"], true, "{failed:#}");
    assert!(
        failed["url"].as_str().unwrap().contains("/wp-login.php"),
        "{failed:#}"
    );
    let shot = tmp.path().join("captcha.png");
    let seq = failed["seq"].to_string();
    cli.ok(&[
        "jobs",
        "screenshot",
        id,
        &seq,
        "--out",
        shot.to_str().unwrap(),
    ]);
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(PNG), "a PNG");
    let viewed = cli.json(&["activity", "list", "--action", "job.screenshot_view"]);
    assert_eq!(viewed.as_array().unwrap().len(), 1, "{viewed:#}");

    // 3. A bad upload is refused and changes nothing.
    let other = tmp.path().join("other.txt");
    std::fs::write(&other, "other.test\tFALSE\t/\tFALSE\t0\tsid\tx\n").unwrap();
    let out = cli.run(&["hub", "session", &label, other.to_str().unwrap()]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("none of the 1 cookies is for 127.0.0.1"),
        "{said}"
    );

    // 4. The hub's manager signs in as the automation account in their own browser (past the
    //    captcha) and uploads the cookies: the job runs again on them and completes, and the bot
    //    never signs in meanwhile.
    let cookies = signed_in_cookies_txt(&base, &password, "127.0.0.1").await;
    let file = tmp.path().join("cookies.txt");
    std::fs::write(&file, &cookies).unwrap();
    let said = cli.ok(&["hub", "session", &label, file.to_str().unwrap()]);
    assert!(said.contains("queued again: 1"), "{said}");
    let jobs = wait_idle(&cli, &label);
    let check = only(&jobs, "check_for_updates");
    assert_eq!(check["state"], "completed", "{check:#}");
    assert_eq!(sign_ins(), tried, "the bot used the uploaded session");
    let hub = cli.json(&["hub", "show", &label]);
    assert_eq!(hub["status"], "healthy", "{hub:#}");
    let members = cli.json(&["hub", "members", &label]);
    assert!(members
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["app_member_id"] == "1"));
    let uploaded = cli.json(&["activity", "list", "--action", "hub.session_upload"]);
    let details: Value = serde_json::from_str(uploaded[0]["details"].as_str().unwrap()).unwrap();
    let sent = cookies
        .lines()
        .filter(|l| l.contains("\twordpress_"))
        .count();
    assert_eq!(details["cookies"], sent, "{uploaded:#}");
    assert_eq!(details["requeued"], serde_json::json!([id]));

    // 5. A completed job keeps its steps and drops its screenshots.
    let steps = cli.json(&["jobs", "steps", id]);
    assert!(steps
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["screenshot"] == false));
    assert!(!cli
        .run(&[
            "jobs",
            "screenshot",
            id,
            &seq,
            "--out",
            shot.to_str().unwrap()
        ])
        .status
        .success());

    // 6. Nothing of it in plaintext in the database: no cookie, no PNG.
    let data = tmp.path().join("data");
    let value = cookies
        .lines()
        .find(|l| l.contains("wordpress_logged_in_"))
        .unwrap();
    let value = value.rsplit('\t').next().unwrap();
    assert!(
        !common::data_holds(&data, value.as_bytes()),
        "an uploaded cookie in plaintext"
    );
    assert!(!common::data_holds(&data, b"wordpress_logged_in_"));
    assert!(!common::data_holds(&data, PNG), "a screenshot in plaintext");
    assert!(
        !server.logs().contains(value),
        "a log line holds the cookie"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unexpected_page_waits_for_a_person_and_a_retry_completes_the_job() {
    let (base, token, password) = wordpress();
    let proxy = FaultProxy::start(&base).await;
    let t = tag();
    let tmp = tempfile::tempdir().unwrap();
    let (_server, cli, ana) = hub_fixture::story_workspace(tmp.path(), "Ana", &t);
    add_bot(&cli, &token, &password);
    let label = format!("WordPress maintenance {t}");
    connect(&cli, &label, &proxy.url);
    assert!(wait_idle(&cli, &label)
        .iter()
        .all(|j| j["state"] == "completed"));

    // The share's check for updates reads the users list first: a maintenance page instead.
    proxy.fail(
        "GET",
        "/wp-admin/users.php",
        Fault::Page(200, MAINTENANCE.into()),
        1,
    );
    cli.ok(&["hub", "share", &label, &ana, "--app-role", "author"]);
    let jobs = wait_idle(&cli, &label);
    let waiting: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["state"] == "needs_attention")
        .collect();
    assert_eq!(waiting.len(), 1, "{jobs:#?}");
    let stopped = waiting[0];
    assert_eq!(stopped["attention_label"], "Unexpected page");
    assert!(
        stopped["error"]
            .as_str()
            .unwrap()
            .contains("no users table"),
        "{stopped:#}"
    );
    let hub = cli.json(&["hub", "show", &label]);
    assert_eq!(hub["status"], "review_configuration", "{hub:#}");
    let id = stopped["id"].as_str().unwrap();
    let steps = cli.json(&["jobs", "steps", id]);
    let last = steps.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["screenshot"], true, "{last:#}");
    assert!(users_with(&base, &token, &ana).await.is_empty());

    // The page is gone (the proxy injected it once): a retry completes the invite.
    cli.ok(&["jobs", "retry", id]);
    let jobs = wait_idle(&cli, &label);
    assert!(jobs.iter().all(|j| j["state"] == "completed"), "{jobs:#?}");
    assert_eq!(
        only(&jobs, "invite_member")["state"],
        "completed",
        "{jobs:#?}"
    );
    let found = users_with(&base, &token, &ana).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    let hub = cli.json(&["hub", "show", &label]);
    assert_eq!(hub["status"], "healthy", "{hub:#}");
}
