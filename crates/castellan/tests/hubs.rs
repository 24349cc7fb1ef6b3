//! Business hubs and the bot, end to end on a real Matrix Synapse.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;

use std::time::{Duration, Instant};

use common::{host_args, Cli, Server};
use hub_fixture::{add_bot_account, assert_no_drift, assert_story_jobs, wait_idle, FAST_BOT};
use serde_json::Value;
use synapse_common::{tag, Synapse};

fn hub_show(cli: &Cli, hub: &str) -> Value {
    cli.json(&["hub", "show", hub])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story_on_synapse() {
    let syn = Synapse::ensure("main", Synapse::main_port()).await;
    let t = tag();
    let bot = format!("castellan_bot_{t}");
    syn.put_user(&bot, "bot-password-1", true, None).await;

    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(&host_args(&tmp.path().join("data"), None, None), FAST_BOT);
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    let ana = format!("ana_{t}@example.com");
    cli.ok(&[
        "people", "invite", "--email", &ana, "--name", "Ana", "--role", "user",
    ]);

    // 1. Store the automation account. 2. Connect the hub.
    add_bot_account(&cli, "Synapse bot", &bot, "bot-password-1", "placeholder");
    let label = format!("Matrix {t}");
    let hub = cli.json(&[
        "hub",
        "connect",
        "--app",
        "matrix-synapse",
        "--label",
        &label,
        "--account",
        "Synapse bot",
        "--base-url",
        &syn.base,
        "--wait",
    ]);
    assert_eq!(hub["status"], "healthy", "{hub:#}");
    let warnings = hub["warnings"].to_string();
    assert!(
        warnings.contains("no 2FA managed by Castellan"),
        "{warnings}"
    );
    assert!(!warnings.contains("individual"), "{warnings}");

    // 3. The sync shows the existing members with their roles.
    let members = cli.json(&["hub", "members", &label]);
    let find = |id: &str| {
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["app_member_id"] == id)
            .cloned()
    };
    assert_eq!(
        find("@admin:localhost").expect("admin listed")["app_role"],
        "admin"
    );
    assert_eq!(
        find(&format!("@{bot}:localhost")).expect("bot listed")["app_role"],
        "admin"
    );
    assert!(hub["last_report"]["total"].as_u64().unwrap() >= 2);

    // 4. Share the hub with a person: the member exists in Synapse with the right role.
    cli.ok(&["hub", "share", &label, &ana, "--app-role", "user"]);
    wait_idle(&cli, &label);
    let u = syn
        .user_by_email(&ana)
        .await
        .expect("ana exists in Synapse");
    assert_eq!(u["admin"], false);
    assert_eq!(u["deactivated"], false);
    let onboarded = cli.json(&["hub", "members", &label, "--matching", "onboarded"]);
    assert!(
        onboarded
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == ana.as_str() && m["app_role"] == "user"),
        "{onboarded:#}"
    );

    // 5. Change the role: Synapse shows it.
    cli.ok(&["hub", "share", &label, &ana, "--app-role", "admin"]);
    wait_idle(&cli, &label);
    assert_eq!(syn.user_by_email(&ana).await.unwrap()["admin"], true);

    // 6. Revoke: the member is deactivated in Synapse.
    let ana_id = syn.user_by_email(&ana).await.unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    cli.ok(&["hub", "revoke", &label, &ana]);
    let jobs = wait_idle(&cli, &label);
    // (Synapse drops a deactivated user's email addresses: look the user up by id.)
    assert_eq!(syn.user(&ana_id).await.unwrap()["deactivated"], true);
    assert_story_jobs(&jobs);
    let remove = jobs.iter().find(|j| j["task"] == "remove_member").unwrap();
    assert_eq!(remove["trigger"], "grant_change");
    assert_eq!(remove["actor"], "owner@example.com");

    // 7. The next sync reports no drift.
    assert_no_drift(&cli, &label);

    // The bot's use of the automation account and every step are in the activity log.
    let acts = cli.json(&["activity", "list", "--limit", "500"]);
    let actions: Vec<&str> = acts
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "hub.connect",
        "hub.share",
        "hub.revoke",
        "account.use",
        "hub.check_for_updates",
        "job.completed",
    ] {
        assert!(actions.contains(&a), "no {a} in the activity log");
    }
    assert!(cli.ok(&["activity", "verify"]).contains("intact"));
    // Deactivating a person removes them from every hub (here: re-share, then deactivate).
    let bo = format!("bo_{t}@example.com");
    cli.ok(&[
        "people", "invite", "--email", &bo, "--name", "Bo", "--role", "user",
    ]);
    cli.ok(&["hub", "share", &label, &bo]);
    wait_idle(&cli, &label);
    let bo_id = syn.user_by_email(&bo).await.unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(syn.user(&bo_id).await.unwrap()["deactivated"], false);
    // An invited person is deactivated by an admin before accepting.
    cli.ok(&["people", "update", &bo, "--status", "deactivated"]);
    wait_idle(&cli, &label);
    assert_eq!(syn.user(&bo_id).await.unwrap()["deactivated"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_a_non_admin_account_needs_review() {
    let syn = Synapse::ensure("main", Synapse::main_port()).await;
    let t = tag();
    let bot = format!("castellan_badbot_{t}");
    let plain = format!("castellan_plain_{t}");
    syn.put_user(&bot, "right-password-1", true, None).await;
    syn.put_user(&plain, "plain-password-1", false, None).await;

    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(&host_args(&tmp.path().join("data"), None, None), FAST_BOT);
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");

    add_bot_account(
        &cli,
        "Wrong password",
        &bot,
        "not-the-password",
        "placeholder",
    );
    let (h, stderr) = cli.json_failing(&[
        "hub",
        "connect",
        "--app",
        "matrix-synapse",
        "--label",
        "Bad creds",
        "--account",
        "Wrong password",
        "--base-url",
        &syn.base,
        "--wait",
    ]);
    assert_eq!(h["status"], "review_service_account", "{h:#}");
    assert!(
        stderr.contains("the hub is review_service_account"),
        "{stderr}"
    );
    assert!(
        h["status_reason"]
            .as_str()
            .unwrap()
            .contains("refused the automation account's credentials"),
        "{h:#}"
    );

    add_bot_account(
        &cli,
        "Not an admin",
        &plain,
        "plain-password-1",
        "individual",
    );
    let (h, stderr) = cli.json_failing(&[
        "hub",
        "connect",
        "--app",
        "matrix-synapse",
        "--label",
        "No rights",
        "--account",
        "Not an admin",
        "--base-url",
        &syn.base,
        "--wait",
    ]);
    assert_eq!(h["status"], "review_service_account", "{h:#}");
    assert!(
        stderr.contains("the hub is review_service_account"),
        "{stderr}"
    );
    assert!(
        h["status_reason"]
            .as_str()
            .unwrap()
            .contains("lacks permission"),
        "{h:#}"
    );
    assert!(
        h["warnings"].to_string().contains("individual account"),
        "{h:#}"
    );

    // A hub on an app without SAML SSO refuses an IdP-provisioned account.
    cli.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "Fed",
            "--app",
            "redmine",
            "--username",
            "x",
            "--password-stdin",
        ],
        "x-123456789\n",
    );
    let out = cli.run(&["accounts", "update", "Fed", "--setup", "idp_provisioned"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SAML SSO"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_after_its_side_effect_completes_exactly_once_after_restart() {
    let syn = Synapse::ensure("main", Synapse::main_port()).await;
    let t = tag();
    let bot = format!("castellan_crashbot_{t}");
    syn.put_user(&bot, "bot-password-1", true, None).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_env(&host_args(&data, None, None), FAST_BOT);
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    let cy = format!("cy_{t}@example.com");
    cli.ok(&[
        "people", "invite", "--email", &cy, "--name", "Cy", "--role", "user",
    ]);
    add_bot_account(&cli, "Bot", &bot, "bot-password-1", "placeholder");
    let label = format!("Crash {t}");
    cli.json(&[
        "hub",
        "connect",
        "--app",
        "matrix-synapse",
        "--label",
        &label,
        "--account",
        "Bot",
        "--base-url",
        &syn.base,
        "--wait",
    ]);
    drop(server);

    // The server dies (abort, like SIGKILL) right after Synapse created the member and before
    // the job is marked completed.
    let mut env = FAST_BOT.to_vec();
    env.push(("CASTELLAN_FAILPOINT", "abort_after:invite_member"));
    let mut crashing = Server::start_env(&host_args(&data, None, None), &env);
    let cli = Cli::new(&crashing.url, &tmp.path().join("cfg"));
    cli.ok_stdin(
        &["login", "--email", "owner@example.com", "--password-stdin"],
        "owner-password-123\n",
    );
    cli.ok(&["hub", "share", &label, &cy]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while crashing.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the failpoint never fired");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        syn.user_by_email(&cy).await.is_some(),
        "the side effect happened before the crash"
    );
    crashing.stop();

    // After a restart the job is taken up again once its lease expires, re-reads Synapse,
    // and completes without inviting twice.
    let server = Server::start_env(&host_args(&data, None, None), FAST_BOT);
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.ok_stdin(
        &["login", "--email", "owner@example.com", "--password-stdin"],
        "owner-password-123\n",
    );
    let jobs = wait_idle(&cli, &label);
    let invites: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["task"] == "invite_member")
        .collect();
    assert_eq!(invites.len(), 1, "{jobs:#?}");
    assert_eq!(invites[0]["state"], "completed");
    assert_eq!(
        invites[0]["attempts"], 2,
        "one attempt died, the second completed"
    );
    assert!(
        invites[0]["progress"]
            .as_str()
            .unwrap()
            .contains("already_member"),
        "{:#}",
        invites[0]
    );
    let id = invites[0]["id"].as_str().unwrap();
    let completed = cli.json(&[
        "activity",
        "list",
        "--action",
        "job.completed",
        "--target",
        id,
    ]);
    assert_eq!(
        completed.as_array().unwrap().len(),
        1,
        "completed exactly once"
    );
    assert_eq!(syn.user_by_email(&cy).await.unwrap()["deactivated"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_safeguard_halts_a_plan_that_would_remove_30_percent() {
    // A dedicated small Synapse (fresh for this run): 10 members.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = format!("sg-{}", tag());
    let syn = Synapse::ensure(&dir, port).await;
    let _stop = synapse_common::StopOnDrop(dir.clone());
    let t = tag();
    let bot = format!("sgbot_{t}");
    syn.put_user(&bot, "bot-password-1", true, None).await;
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(&host_args(&tmp.path().join("data"), None, None), FAST_BOT);
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    add_bot_account(&cli, "Bot", &bot, "bot-password-1", "placeholder");
    let label = "Safeguard";
    cli.json(&[
        "hub",
        "connect",
        "--app",
        "matrix-synapse",
        "--label",
        label,
        "--account",
        "Bot",
        "--base-url",
        &syn.base,
        "--wait",
    ]);
    let before = cli
        .json(&["hub", "members", label])
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] != "deactivated")
        .count();
    // Bring the hub to 10 active members with people Castellan manages.
    let mut emails = vec![];
    for i in 0..(10 - before) {
        let e = format!("sg{i}_{t}@example.com");
        cli.ok(&[
            "people",
            "invite",
            "--email",
            &e,
            "--name",
            &format!("P{i}"),
            "--role",
            "user",
        ]);
        cli.ok(&["hub", "share", label, &e]);
        emails.push(e);
    }
    wait_idle(&cli, label);
    let active = cli
        .json(&["hub", "members", label])
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] != "deactivated")
        .count();
    assert_eq!(active, 10);

    // Revoking 3 of 10 at once (30%, above the default 20%) halts and waits for an admin.
    cli.ok(&["hub", "revoke", label, &emails[0], &emails[1], &emails[2]]);
    wait_idle(&cli, label);
    let h = hub_show(&cli, label);
    assert_eq!(h["status"], "requires_sync", "{h:#}");
    assert!(
        h["status_reason"].as_str().unwrap().contains("safeguard"),
        "{h:#}"
    );
    assert_eq!(
        h["last_report"]["planned_removals"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let mut ids = vec![];
    for e in &emails[..3] {
        let u = syn.user_by_email(e).await.expect("still there");
        assert_eq!(u["deactivated"], false, "nobody was removed");
        ids.push(u["name"].as_str().unwrap().to_owned());
    }
    // Confirming lets the plan proceed.
    let job = cli.json(&["hub", "sync", label, "--confirm"]);
    assert_eq!(job["state"], "completed");
    wait_idle(&cli, label);
    for id in &ids {
        assert_eq!(syn.user(id).await.unwrap()["deactivated"], true);
    }
    assert_eq!(
        syn.user_by_email(&emails[3]).await.unwrap()["deactivated"],
        false
    );
}

/// Two `castellan worker` processes on one PostgreSQL database run 200 queued invites; none runs twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_postgres_run_200_jobs_once_each() {
    let syn = Synapse::ensure("main", Synapse::main_port()).await;
    let t = tag();
    let bot = format!("pgbot_{t}");
    syn.put_user(&bot, "bot-password-1", true, None).await;
    let (url, name) = common::fresh_pg_db().await;
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("shared.key");
    let host = host_args(&tmp.path().join("a"), Some(&url), Some(&key));
    let server = Server::start_env(&host, &[("CASTELLAN_WORKERS", "0")]);
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    add_bot_account(&cli, "Bot", &bot, "bot-password-1", "placeholder");
    let label = format!("PG {t}");
    cli.json(&[
        "hub",
        "connect",
        "--app",
        "matrix-synapse",
        "--label",
        &label,
        "--account",
        "Bot",
        "--base-url",
        &syn.base,
    ]);
    // 200 people shared through the API (one sync job stays queued: no worker yet).
    let token = cli.token();
    let http = reqwest::Client::new();
    let hub_id = cli.json(&["hub", "show", &label])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..200 {
        let p: Value = http.post(format!("{}/api/v1/people", server.url)).bearer_auth(&token)
            .json(&serde_json::json!({ "email": format!("w{i}_{t}@example.com"), "name": format!("W{i}"), "role": "user" }))
            .send().await.unwrap().json().await.unwrap();
        let pid = p["person"]["id"].as_str().unwrap();
        let r = http
            .put(format!("{}/api/v1/hubs/{hub_id}/grants/{pid}", server.url))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "app_role": "user" }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let workers: Vec<std::process::Child> = (0..2)
        .map(|_| {
            std::process::Command::new(common::bin())
                .arg("worker")
                .args(&host)
                .env("CASTELLAN_WORKERS", "2")
                .env("CASTELLAN_JOB_LEASE_SECS", "30")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let jobs = wait_idle(&cli, &label);
    for mut w in workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    let invites: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["task"] == "invite_member")
        .collect();
    assert_eq!(invites.len(), 200, "200 invite jobs");
    assert!(
        invites
            .iter()
            .all(|j| j["state"] == "completed" && j["attempts"] == 1),
        "every job ran once"
    );
    let workers_used: std::collections::HashSet<&str> = invites
        .iter()
        .filter_map(|j| j["worker_id"].as_str())
        .map(|w| w.rsplit_once(':').map(|x| x.0).unwrap_or(w))
        .collect();
    assert_eq!(
        workers_used.len(),
        2,
        "both worker processes took jobs: {workers_used:?}"
    );
    // The store's run log: exactly one run per job, each an invitation.
    let counts = run_counts(&url).await;
    assert_eq!(counts.len(), 200);
    assert!(
        counts
            .iter()
            .all(|(_, n, outcome)| *n == 1 && outcome == "invited"),
        "{counts:?}"
    );
    drop(server);
    common::drop_pg_db(&name).await;
}

async fn run_counts(url: &str) -> Vec<(String, i64, String)> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(
        "SELECT job_id, COUNT(*) AS n, MIN(outcome) AS outcome FROM job_runs GROUP BY job_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get::<String, _>("job_id"),
            r.get::<i64, _>("n"),
            r.get::<String, _>("outcome"),
        )
    })
    .collect()
}
