//! The whole story on a real WordPress (Debian package, `scripts/start-wordpress.sh`): the hub
//! connects with the administrator's application password and reads the site's roles (a custom
//! one included), a share invites the person, a new app role (the custom one) changes theirs, a
//! revoke deletes them with their posts handed to the automation account, and the next check for
//! updates finds no drift. The story runs twice: on the REST API connector, and on the browser
//! connector (wp-admin in headless Chromium), which a hub chooses with `--connector`.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;
#[path = "common/wordpress.rs"]
mod wordpress_common;

use std::time::{Duration, Instant};

use castellan_conformance::fault_proxy::FaultProxy;
use hub_fixture::{assert_no_drift, assert_story_jobs, wait_idle};
use reqwest::Method;
use serde_json::json;
use synapse_common::tag;
use wordpress_common::{add_bot, users_with, wordpress, wp};

/// The custom role `scripts/start-wordpress.sh` adds to the site.
const CUSTOM_ROLE: &str = "castellan_reviewer";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story_on_wordpress() {
    story(None).await;
}

/// The same story with the hub on the browser connector: the bot drives wp-admin's pages in
/// headless Chromium, signed in with the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story_on_wordpress_through_its_admin_pages() {
    story(Some("wordpress_browser")).await;
}

/// The story on the hub's `connector` (`None`: the app's own, the REST API).
async fn story(connector: Option<&str>) {
    let (base, token, password) = wordpress();
    let t = tag();
    let tmp = tempfile::tempdir().unwrap();
    let (server, cli, ana) = hub_fixture::story_workspace(tmp.path(), "Ana", &t);

    // 1. The automation account: `admin`, its password, and its application password as the
    //    secret custom field `api_token`, which the API connector signs in with.
    add_bot(&cli, &token, &password);
    // A user holds the site's custom role, so the app's roles include it.
    let holder = json!({"username": format!("reviewer_{t}"), "email": format!("reviewer_{t}@example.org"),
        "password": format!("Pw-{t}-x"), "roles": [CUSTOM_ROLE]});
    wp(&base, &token, Method::POST, "/wp/v2/users", Some(holder)).await;

    // 2. The hub connects; the first check for updates lists the members with their roles and
    //    reads the site's roles, the custom one included.
    let label = format!("WordPress {t}");
    let mut connect = vec!["hub", "connect", "--app", "wordpress", "--label", &label];
    connect.extend(["--account", "WordPress bot", "--base-url", &base]);
    connect.extend(["--setting", "reassign_to=admin", "--wait"]);
    connect.extend(connector.iter().flat_map(|c| ["--connector", *c]));
    let hub = cli.json(&connect);
    assert_eq!(hub["status"], "healthy", "{hub:#}");
    assert_eq!(hub["connector"].as_str(), connector, "{hub:#}");
    let members = cli.json(&["hub", "members", &label]);
    let admin = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["app_member_id"] == "1");
    assert_eq!(admin.expect("admin listed")["app_role"], "administrator");
    let roles = &cli.json(&["hub", "show", &label])["last_report"]["roles"];
    assert_eq!(roles[0], "administrator", "{roles}");
    assert!(
        roles.as_array().unwrap().contains(&json!(CUSTOM_ROLE)),
        "{roles}"
    );

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

    // 4. A new app role, the custom one: WordPress shows it.
    cli.ok(&["hub", "share", &label, &ana, "--app-role", CUSTOM_ROLE]);
    wait_idle(&cli, &label);
    let found = users_with(&base, &token, &ana).await;
    assert_eq!(found[0]["roles"], json!([CUSTOM_ROLE]));

    // 5. Revoke: the user is deleted and their post handed to the automation account.
    let post = json!({"title": format!("Ana's post {t}"), "status": "publish", "author": id});
    let post = wp(&base, &token, Method::POST, "/wp/v2/posts", Some(post)).await;
    cli.ok(&["hub", "revoke", &label, &ana]);
    let jobs = wait_idle(&cli, &label);
    assert_story_jobs(&jobs);
    assert!(users_with(&base, &token, &ana).await.is_empty());
    let route = format!("/wp/v2/posts/{}?context=edit", post["id"]);
    assert_eq!(
        wp(&base, &token, Method::GET, &route, None).await["author"],
        1
    );

    // 6. The next check for updates finds no drift.
    assert_no_drift(&cli, &label);

    // 7. The browser's signed-in cookies (the kept app session) and the password are sealed:
    //    no database file and no log line holds them in plaintext.
    let secrets = [
        password.as_bytes(),
        b"wordpress_logged_in_",
        b"wordpress_sec_",
    ];
    for entry in std::fs::read_dir(tmp.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for s in secrets {
            let found = bytes.windows(s.len()).any(|w| w == s);
            assert!(
                !found,
                "{} holds {:?} in plaintext",
                path.display(),
                String::from_utf8_lossy(s)
            );
        }
    }
    let logs = server.logs();
    assert!(
        secrets
            .iter()
            .all(|s| !logs.contains(&*String::from_utf8_lossy(s))),
        "a log line holds a secret"
    );
}

/// kill -9 in the middle of a browser invite: the Add New User form's POST is held at a proxy
/// when the server is killed (its browser dies with it), then reaches WordPress. After a
/// restart the job, taken over when its lease ends, completes and the person is a WordPress
/// user exactly once, with the role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_invite_killed_midway_completes_once_after_a_restart() {
    let (base, token, password) = wordpress();
    let proxy = FaultProxy::start(&base).await;
    let t = tag();
    let tmp = tempfile::tempdir().unwrap();
    let (mut server, cli, ana) = hub_fixture::story_workspace(tmp.path(), "Ana", &t);
    add_bot(&cli, &token, &password);
    let label = format!("WordPress pages {t}");
    let mut connect = vec!["hub", "connect", "--app", "wordpress", "--label", &label];
    connect.extend(["--account", "WordPress bot", "--base-url", &proxy.url]);
    connect.extend([
        "--setting",
        "reassign_to=admin",
        "--connector",
        "wordpress_browser",
    ]);
    let hub = cli.json(&[connect, vec!["--wait"]].concat());
    assert_eq!(hub["status"], "healthy", "{hub:#}");

    let create = proxy.hold("POST", "/wp-admin/user-new.php");
    cli.ok(&["hub", "share", &label, &ana, "--app-role", "author"]);
    create.arrived(Duration::from_secs(120)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    create.forward();
    let deadline = Instant::now() + Duration::from_secs(30);
    while users_with(&base, &token, &ana).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the held form never made the user"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let data = tmp.path().join("data");
    let _server =
        common::Server::start_env(&common::host_args(&data, None, None), hub_fixture::FAST_BOT);
    let cli = common::Cli::new(&_server.url, &tmp.path().join("cfg"));
    let owner = format!("{}\n", hub_fixture::OWNER_PASSWORD);
    cli.ok_stdin(
        &["login", "--email", "owner@example.com", "--password-stdin"],
        &owner,
    );
    let jobs = wait_idle(&cli, &label);
    assert!(jobs.iter().all(|j| j["state"] == "completed"), "{jobs:#?}");
    let invites: Vec<_> = jobs
        .iter()
        .filter(|j| j["task"] == "invite_member")
        .collect();
    assert_eq!(invites.len(), 1, "{jobs:#?}");
    let found = users_with(&base, &token, &ana).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["roles"], json!(["author"]));
}
