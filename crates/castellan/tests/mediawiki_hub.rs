//! The whole story on a real MediaWiki (Debian package, SQLite): connect a hub with a sysop and
//! bureaucrat as the automation account, share it with a person (an account is created with a
//! group), change the role (the group changes), revoke (the account loses its groups and is
//! blocked: MediaWiki cannot delete users), and the next check for updates finds no drift.
//!
//! The wiki is started with `scripts/start-mediawiki.sh` in `CASTELLAN_MEDIAWIKI_DIR` (default
//! `<workspace>/target/mediawiki`) on `CASTELLAN_MEDIAWIKI_PORT` (default 18081).

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;

use std::path::PathBuf;
use std::process::Command;

use hub_fixture::wait_idle;
use serde_json::Value;

/// Starts the wiki (shared harness); returns its base URL and directory.
fn mediawiki() -> (String, PathBuf) {
    let wiki = castellan_conformance::harness::start_app("mediawiki", 18081);
    (wiki.base_url, wiki.dir)
}

/// A sysop and bureaucrat made with the wiki's own CLI (maintenance/createAndPromote.php).
fn make_admin(dir: &std::path::Path, name: &str, password: &str) {
    let out = Command::new("php")
        .arg("/usr/share/mediawiki/maintenance/createAndPromote.php")
        .args(["--sysop", "--bureaucrat", name, password])
        .env("MW_CONFIG_FILE", dir.join("LocalSettings.php"))
        .output()
        .expect("run createAndPromote.php");
    assert!(
        out.status.success(),
        "createAndPromote.php: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A user as the wiki shows it to anybody (`list=users`: groups, block), by user id.
async fn wiki_user(base: &str, id: &str) -> Value {
    let v: Value = reqwest::Client::new()
        .get(format!("{base}/api.php"))
        .query(&[
            ("action", "query"),
            ("list", "users"),
            ("ususerids", id),
            ("usprop", "groups|blockinfo"),
            ("format", "json"),
            ("formatversion", "2"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["query"]["users"][0].clone()
}

fn explicit_groups(u: &Value) -> Vec<String> {
    u["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|g| !["*", "user", "autoconfirmed"].contains(g))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story_on_mediawiki() {
    let (base, dir) = mediawiki();
    let t = uuid::Uuid::now_v7().simple().to_string()[20..].to_owned();
    let bot = format!("Castellan bot {t}");
    let password = format!("Bot-password-{t}");
    make_admin(&dir, &bot, &password);

    let tmp = tempfile::tempdir().unwrap();
    let (_server, cli, ana) = hub_fixture::story_workspace(tmp.path(), "Ana", &t);

    // 1. Store the automation account. 2. Connect the hub: the first check for updates lists the
    //    wiki's members with their groups.
    hub_fixture::add_app_account(
        &cli,
        "Wiki bot",
        "mediawiki",
        &bot,
        &password,
        "placeholder",
        &[],
    );
    let label = format!("Wiki {t}");
    hub_fixture::connect_healthy(&cli, "mediawiki", &label, "Wiki bot", &base, &[]);
    let members = cli.json(&["hub", "members", &label]);
    let named = |n: &str| {
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == n)
            .cloned()
    };
    assert_eq!(
        named(&bot).expect("the bot is listed")["app_role"],
        "bureaucrat"
    );
    assert_eq!(
        named("Admin").expect("Admin is listed")["app_role"],
        "bureaucrat"
    );

    // 3. Share the hub with Ana as a plain user: an account is made for her address.
    cli.ok(&["hub", "share", &label, &ana, "--app-role", "user"]);
    wait_idle(&cli, &label);
    let onboarded = cli.json(&["hub", "members", &label, "--matching", "onboarded"]);
    let her = onboarded
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == ana.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("Ana is onboarded: {onboarded:#}"));
    assert_eq!(her["app_role"], "user", "{her:#}");
    assert_eq!(her["name"], format!("Ana {t}"), "{her:#}");
    let id = her["app_member_id"].as_str().unwrap().to_owned();
    let u = wiki_user(&base, &id).await;
    assert!(explicit_groups(&u).is_empty(), "{u:#}");
    assert!(u.get("blockid").is_none(), "{u:#}");

    // 4. Change her role: she is a sysop in the wiki, and only that.
    cli.ok(&["hub", "share", &label, &ana, "--app-role", "sysop"]);
    wait_idle(&cli, &label);
    assert_eq!(explicit_groups(&wiki_user(&base, &id).await), ["sysop"]);

    // 5. Revoke: her account loses its groups and is blocked.
    cli.ok(&["hub", "revoke", &label, &ana]);
    let jobs = wait_idle(&cli, &label);
    let u = wiki_user(&base, &id).await;
    assert!(explicit_groups(&u).is_empty(), "{u:#}");
    assert_eq!(u["blockexpiry"], "infinite", "{u:#}");
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

    // 6. The next check for updates finds no drift; she is listed as deactivated.
    let out = cli.json(&["hub", "sync", &label]);
    assert_eq!(out["state"], "completed", "{out:#}");
    let shown = cli.json(&["hub", "show", &label]);
    assert_eq!(shown["status"], "healthy", "{shown:#}");
    assert_eq!(shown["last_report"]["drift"], 0, "{shown:#}");
    let members = cli.json(&["hub", "members", &label]);
    let her = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["app_member_id"] == id.as_str())
        .cloned()
        .expect("still listed");
    assert_eq!(her["state"], "deactivated", "{her:#}");
    assert!(cli.ok(&["activity", "verify"]).contains("intact"));
}
