//! A Synapse hub ready for a story: a workspace claimed by `owner@example.com`, people invited,
//! the automation account stored and the hub connected (optionally through a fault proxy),
//! plus the waits and restarts the bot's end-to-end tests share.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{host_args, Cli, Server};
use crate::synapse_common::{tag, Synapse};

/// A short lease and quick retries, one worker.
pub const FAST_BOT: &[(&str, &str)] = &[
    ("CASTELLAN_JOB_LEASE_SECS", "3"),
    ("CASTELLAN_RETRY_BASE_SECS", "1"),
    ("CASTELLAN_WORKERS", "1"),
];

/// The owner's password in every story.
pub const OWNER_PASSWORD: &str = "owner-password-123";

/// Polls the automation log until the hub has no unfinished job (at most `limit`); returns
/// its jobs, newest first.
pub fn wait_idle_for(cli: &Cli, hub: &str, limit: Duration) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let jobs = cli.json(&["jobs", "list", "--hub", hub, "--limit", "1000"]);
        let jobs = jobs.as_array().unwrap().clone();
        if !jobs.is_empty()
            && jobs.iter().all(|j| {
                matches!(
                    j["state"].as_str(),
                    Some("completed" | "not_completed" | "needs_attention")
                )
            })
        {
            return jobs;
        }
        assert!(Instant::now() < deadline, "jobs did not finish: {jobs:#?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// [`wait_idle_for`] with three minutes.
pub fn wait_idle(cli: &Cli, hub: &str) -> Vec<Value> {
    wait_idle_for(cli, hub, Duration::from_secs(180))
}

/// A workspace for a story on a real app: a server on a fresh data directory under `tmp` with
/// [`FAST_BOT`], claimed by `owner@example.com`, and the person `name_<t>@example.com` (`name`
/// lowercased) invited as a user. Returns the server, its CLI and the person's email.
pub fn story_workspace(tmp: &std::path::Path, name: &str, t: &str) -> (Server, Cli, String) {
    let server = Server::start_env(&host_args(&tmp.join("data"), None, None), FAST_BOT);
    let cli = Cli::new(&server.url, &tmp.join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    let email = format!("{}_{t}@example.com", name.to_lowercase());
    cli.ok(&[
        "people", "invite", "--email", &email, "--name", name, "--role", "user",
    ]);
    (server, cli, email)
}

/// Stores a Synapse automation account with the CLI.
pub fn add_bot_account(cli: &Cli, label: &str, username: &str, password: &str, setup: &str) {
    let url = ["--login-url", "http://127.0.0.1/_matrix/client/v3/login"];
    add_app_account(
        cli,
        label,
        "matrix-synapse",
        username,
        password,
        setup,
        &url,
    );
}

/// Stores an automation account for the catalog app `app` with the CLI (`extra`: more
/// `accounts add` arguments); the password goes through stdin.
pub fn add_app_account(
    cli: &Cli,
    label: &str,
    app: &str,
    username: &str,
    password: &str,
    setup: &str,
    extra: &[&str],
) {
    let mut args = vec![
        "accounts",
        "add",
        "--label",
        label,
        "--app",
        app,
        "--username",
        username,
        "--setup",
        setup,
        "--password-stdin",
    ];
    args.extend_from_slice(extra);
    cli.ok_stdin(&args, &format!("{password}\n"));
}

/// Connects a hub on `app` at `base` with the account `account`, waits for its first check
/// for updates (`extra`: more `hub connect` arguments) and fails unless it is healthy; returns
/// the hub.
pub fn connect_healthy(
    cli: &Cli,
    app: &str,
    label: &str,
    account: &str,
    base: &str,
    extra: &[&str],
) -> Value {
    let mut args = vec![
        "hub",
        "connect",
        "--app",
        app,
        "--label",
        label,
        "--account",
        account,
        "--base-url",
        base,
        "--wait",
    ];
    args.extend_from_slice(extra);
    let hub = cli.json(&args);
    assert_eq!(hub["status"], "healthy", "{hub:#}");
    hub
}

/// A connected Synapse hub and the server that drives it.
pub struct HubStory {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub env: Vec<(String, String)>,
    pub server: Server,
    pub cli: Cli,
    pub label: String,
    /// A tag unique to this story (in emails and labels).
    pub t: String,
}

impl HubStory {
    /// Claims a workspace, invites `people` (`<name>_<tag>@example.com`), stores a new Synapse
    /// admin as the automation account and connects a hub at `base_url` (Synapse itself or a
    /// proxy in front of it), waiting until it is healthy.
    pub async fn connect(
        syn: &Synapse,
        base_url: &str,
        env: &[(&str, &str)],
        people: &[&str],
    ) -> HubStory {
        let t = tag();
        let bot = format!("castellan_bot_{t}");
        syn.put_user(&bot, "bot-password-1", true, None).await;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let server = Server::start_env(&host_args(&data, None, None), env);
        let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
        cli.claim(&server.setup_token(), "owner@example.com");
        let story = HubStory {
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            label: format!("Matrix {t}"),
            tmp,
            data,
            server,
            cli,
            t,
        };
        for name in people {
            let email = story.email(name);
            story.cli.ok(&[
                "people", "invite", "--email", &email, "--name", name, "--role", "user",
            ]);
        }
        add_bot_account(
            &story.cli,
            "Synapse bot",
            &bot,
            "bot-password-1",
            "placeholder",
        );
        let hub = story.cli.json(&[
            "hub",
            "connect",
            "--app",
            "matrix-synapse",
            "--label",
            &story.label,
            "--account",
            "Synapse bot",
            "--base-url",
            base_url,
            "--wait",
        ]);
        assert_eq!(hub["status"], "healthy", "{hub:#}");
        story
    }

    /// The email of a person of this story.
    pub fn email(&self, name: &str) -> String {
        format!("{}_{}@example.com", name.to_lowercase(), self.t)
    }

    /// Kills the server with SIGKILL (when it still runs) and starts it again on the same data
    /// directory; signs the CLI in again (the new server has a new port).
    pub fn restart(&mut self) {
        let _already_gone = self.server.child.kill();
        let _status = self.server.child.wait();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.server = Server::start_env(&host_args(&self.data, None, None), &env);
        self.cli = Cli::new(&self.server.url, &self.tmp.path().join("cfg"));
        self.cli.ok_stdin(
            &["login", "--email", "owner@example.com", "--password-stdin"],
            &format!("{OWNER_PASSWORD}\n"),
        );
    }

    /// Shares the hub with a person with an app role.
    pub fn share(&self, name: &str, role: &str) {
        self.cli.ok(&[
            "hub",
            "share",
            &self.label,
            &self.email(name),
            "--app-role",
            role,
        ]);
    }

    /// Revokes a person's grant.
    pub fn revoke(&self, name: &str) {
        self.cli
            .ok(&["hub", "revoke", &self.label, &self.email(name)]);
    }

    /// Waits until the hub's jobs are all finished; returns them.
    pub fn wait_idle(&self) -> Vec<Value> {
        wait_idle(&self.cli, &self.label)
    }
}

/// Fails unless every job of a share → role change → revoke story completed and each of its
/// tasks (a check, an invite, a role change, a removal) is in the automation log.
pub fn assert_story_jobs(jobs: &[Value]) {
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
}

/// Runs a check for updates and fails unless it completes, the hub is healthy and the report
/// finds no drift.
pub fn assert_no_drift(cli: &Cli, hub: &str) {
    let out = cli.json(&["hub", "sync", hub]);
    assert_eq!(out["state"], "completed", "{out:#}");
    let shown = cli.json(&["hub", "show", hub]);
    assert_eq!(shown["status"], "healthy", "{shown:#}");
    assert_eq!(shown["last_report"]["drift"], 0, "{shown:#}");
}
