//! End-to-end: the real binary, real HTTP, real SQLite files and a real PostgreSQL.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{host_args, Cli, Server};
use serde_json::Value;

#[path = "e2e/integrity.rs"]
mod integrity;
#[path = "e2e/keys.rs"]
mod keys;

#[test]
fn first_start_creates_workspace_key_file_and_claim_works() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&host_args(&data, None, None));
    let key = data.join("master.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "master key file mode");
    let dir_mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700, "data dir mode");

    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    let token = server.setup_token();
    // A wrong setup token is refused and claims nothing.
    let bad = cli.run_stdin(
        &[
            "claim",
            "--setup-token",
            "cst_setup_wrong",
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--password-stdin",
        ],
        "owner-password-123\n",
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("setup token is not valid"));
    cli.claim(&token, "Owner@Example.com");
    let me = cli.json(&["whoami"]);
    assert_eq!(me["email"], "owner@example.com");
    assert_eq!(me["role"], "owner");
    // The token is single-use.
    let again = Cli::new(&server.url, &tmp.path().join("cfg2"));
    let out = again.run_stdin(
        &[
            "claim",
            "--setup-token",
            &token,
            "--email",
            "b@example.com",
            "--name",
            "B",
            "--password-stdin",
        ],
        "owner-password-123\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already claimed"));

    // A restart keeps everything and prints no new setup token.
    server.stop();
    let server = Server::start(&host_args(&data, None, None));
    assert!(!server.logs().contains("cst_setup_"));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    // The saved login belongs to the old address (port 0 picks a new one): sign in again.
    cli.ok_stdin(
        &["login", "--email", "owner@example.com", "--password-stdin"],
        "owner-password-123\n",
    );
    assert_eq!(cli.json(&["whoami"])["email"], "owner@example.com");

    // `logout` revokes the saved token on the server, not only on this machine.
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("cfg").join("credentials.json")).unwrap(),
    )
    .unwrap();
    assert!(saved["token_id"].as_str().is_some(), "{saved}");
    let out = cli.ok(&["logout"]);
    assert!(out.contains("revoked on the server"), "{out}");
    assert!(!tmp.path().join("cfg").join("credentials.json").exists());
    // A copy of the old login kept elsewhere no longer works.
    let other = Cli::new(&server.url, &tmp.path().join("cfg3"));
    std::fs::create_dir_all(&other.config_dir).unwrap();
    std::fs::write(other.config_dir.join("credentials.json"), saved.to_string()).unwrap();
    let refused = other.run(&["whoami"]);
    assert!(!refused.status.success(), "the old token still works");
}

#[test]
fn init_is_non_interactive_and_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = |extra: &[&str]| {
        let mut c = std::process::Command::new(common::bin());
        c.arg("init")
            .args(host_args(&data, None, None))
            .args(extra)
            .stdin(std::process::Stdio::null());
        c.output().unwrap()
    };
    let first = run(&["--workspace-name", "Acme"]);
    assert!(first.status.success());
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(out.contains("cst_setup_"), "{out}");
    let second = run(&[]);
    assert!(second.status.success());
    assert!(!String::from_utf8_lossy(&second.stdout).contains("cst_setup_"));
    let fresh = run(&["--new-setup-token"]);
    let new_token = String::from_utf8_lossy(&fresh.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("cst_setup_"))
        .unwrap()
        .to_owned();
    let server = Server::start(&host_args(&data, None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    // The first token was replaced; the new one claims.
    let old_token = out
        .split_whitespace()
        .find(|w| w.starts_with("cst_setup_"))
        .unwrap()
        .to_owned();
    assert!(!cli
        .run_stdin(
            &[
                "claim",
                "--setup-token",
                &old_token,
                "--email",
                "o@example.com",
                "--name",
                "O",
                "--password-stdin"
            ],
            "owner-password-123\n"
        )
        .status
        .success());
    cli.claim(&new_token, "o@example.com");
    let status: Value = reqwest::blocking_get(&format!("{}/api/v1/setup", server.url));
    assert_eq!(status["workspace_name"], "Acme");
    assert_eq!(status["claimed"], true);
}

mod reqwest {
    /// Tiny blocking GET (the CLI is the real client; this is for a public endpoint).
    pub fn blocking_get(url: &str) -> serde_json::Value {
        let out = std::process::Command::new("curl")
            .args(["-sf", url])
            .output()
            .expect("curl");
        serde_json::from_slice(&out.stdout).expect("json")
    }
}

#[test]
fn people_vaults_accounts_and_activity_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&host_args(&tmp.path().join("data"), None, None));
    let owner = Cli::new(&server.url, &tmp.path().join("owner"));
    owner.claim(&server.setup_token(), "owner@example.com");

    // Invite a user; they accept and sign in with their own CLI login.
    let inv = owner.json(&[
        "people",
        "invite",
        "--email",
        "Uma@Example.com",
        "--name",
        "Uma",
        "--role",
        "user",
    ]);
    let inv_token = inv["invitation_token"].as_str().unwrap();
    let uma = Cli::new(&server.url, &tmp.path().join("uma"));
    uma.ok_stdin(
        &[
            "accept-invitation",
            "--email",
            "uma@example.com",
            "--invitation-token",
            inv_token,
            "--password-stdin",
        ],
        "uma-password-1234\n",
    );
    let wrong = uma.run_stdin(
        &["login", "--email", "uma@example.com", "--password-stdin"],
        "not-her-password\n",
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong email or password"));
    uma.ok_stdin(
        &["login", "--email", "uma@example.com", "--password-stdin"],
        "uma-password-1234\n",
    );

    // Owner makes a vault, grants Uma manager, adds accounts.
    owner.ok(&["vaults", "create", "Marketing"]);
    owner.ok(&[
        "vaults",
        "grant",
        "Marketing",
        "uma@example.com",
        "--role",
        "manager",
    ]);
    let acc = owner.json(&[
        "accounts",
        "add",
        "--label",
        "Figma team",
        "--app",
        "figma",
        "--vault",
        "Marketing",
        "--username",
        "design@example.com",
        "--generate-password",
    ]);
    assert_eq!(acc["app_id"], "figma");
    assert_eq!(acc["has_password"], true);
    owner.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "Intranet",
            "--app",
            "https://intranet.example.org/login",
            "--password-stdin",
            "--notes",
            "ask IT",
        ],
        "s3cret-intranet\n",
    );

    // Uma sees only the Marketing account; search works; she can reveal (manager).
    let list = uma.json(&["accounts", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        uma.json(&["accounts", "search", "figm"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        uma.json(&["accounts", "search", "nothing-like-this"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let shown = uma.json(&["accounts", "show", "Figma team", "--reveal"]);
    let pw = shown["secret.password"].as_str().unwrap();
    assert!(pw.len() >= 8, "generated password {pw}");
    // Without --reveal no secret is shown.
    let plain = uma.ok(&["accounts", "show", "Figma team"]);
    assert!(!plain.contains(pw));

    // Owner's intranet account is out of Uma's reach.
    let out = uma.run(&["accounts", "show", "Intranet"]);
    assert!(!out.status.success());

    // Demote Uma to collaborator on the vault: she can use but not reveal.
    owner.ok(&[
        "vaults",
        "grant",
        "Marketing",
        "uma@example.com",
        "--role",
        "collaborator",
    ]);
    let out = uma.run(&["accounts", "show", "Figma team", "--reveal"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not allow"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Update and delete.
    owner.ok(&[
        "accounts",
        "update",
        "Intranet",
        "--username",
        "it@example.org",
    ]);
    assert_eq!(
        owner.json(&["accounts", "show", "Intranet"])["username"],
        "it@example.org"
    );
    owner.ok(&["accounts", "delete", "Intranet"]);
    assert!(!owner
        .run(&["accounts", "show", "Intranet"])
        .status
        .success());

    // Deactivating Uma revokes her tokens.
    owner.ok(&["people", "deactivate", "uma@example.com"]);
    let out = uma.run(&["accounts", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));

    // The activity log recorded all of it, with source IP and user agent, and verifies.
    let events = owner.json(&["activity", "list", "--limit", "200"]);
    let actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "workspace.create",
        "workspace.claim",
        "person.invite",
        "person.accept_invitation",
        "auth.sign_in_failed",
        "auth.sign_in",
        "vault.create",
        "vault.grant",
        "account.create",
        "account.reveal",
        "account.update",
        "account.delete",
        "person.deactivate",
        "token.use",
    ] {
        assert!(actions.contains(&a), "missing {a} in {actions:?}");
    }
    let reveal = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "account.reveal")
        .unwrap();
    assert_eq!(reveal["source_ip"], "127.0.0.1");
    assert!(reveal["user_agent"]
        .as_str()
        .unwrap()
        .starts_with("castellan-cli/"));
    let reveals = owner.json(&["activity", "list", "--action", "account.reveal"]);
    assert!(reveals
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["action"] == "account.reveal"));
    let csv = owner.ok(&["activity", "export"]);
    assert!(csv.starts_with("seq,at,actor_kind"));
    assert!(csv.lines().count() > actions.len() / 2);
    assert!(owner.ok(&["activity", "verify"]).contains("intact"));
}

/// Two servers on one PostgreSQL database with a shared key file: one workspace, both serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_postgres_database() {
    let (url, name) = common::fresh_pg_db().await;
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("shared.key");
    let a = Server::start(&host_args(&tmp.path().join("a"), Some(&url), Some(&key)));
    let b = Server::start(&host_args(&tmp.path().join("b"), Some(&url), Some(&key)));
    assert!(
        !b.logs().contains("cst_setup_"),
        "the second instance must not create a second workspace"
    );
    let ca = Cli::new(&a.url, &tmp.path().join("ca"));
    ca.claim(&a.setup_token(), "owner@example.com");
    ca.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "Slack",
            "--app",
            "slack",
            "--password-stdin",
        ],
        "pg-secret-0001\n",
    );
    // The same login works against the other instance.
    let cb = Cli::new(&b.url, &tmp.path().join("cb"));
    cb.ok_stdin(
        &["login", "--email", "owner@example.com", "--password-stdin"],
        "owner-password-123\n",
    );
    assert_eq!(
        cb.json(&["accounts", "show", "Slack", "--reveal"])["secret.password"],
        "pg-secret-0001"
    );
    // Concurrent writes through both instances keep one intact chain.
    let ha = std::thread::spawn({
        let url = a.url.clone();
        let dir = tmp.path().join("ca");
        move || {
            let c = Cli::new(&url, &dir);
            for i in 0..5 {
                c.ok_stdin(
                    &[
                        "accounts",
                        "add",
                        "--label",
                        &format!("a{i}"),
                        "--app",
                        "github",
                        "--password-stdin",
                    ],
                    "x-123456789\n",
                );
            }
        }
    });
    for i in 0..5 {
        cb.ok_stdin(
            &[
                "accounts",
                "add",
                "--label",
                &format!("b{i}"),
                "--app",
                "github",
                "--password-stdin",
            ],
            "y-123456789\n",
        );
    }
    ha.join().unwrap();
    assert_eq!(ca.json(&["accounts", "list"]).as_array().unwrap().len(), 11);
    assert!(cb.ok(&["activity", "verify"]).contains("intact"));
    drop(a);
    drop(b);
    common::drop_pg_db(&name).await;
}

/// Output piped into a reader that is gone (`castellan … | head -0`) ends the command quietly
/// with status 0, not with a panic on the broken pipe.
#[test]
fn a_closed_stdout_pipe_ends_commands_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let init = std::process::Command::new(common::bin())
        .args(["init", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(common::bin())
        .args(["keys", "list", "--data-dir"])
        .arg(&data)
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn teams_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&host_args(&tmp.path().join("data"), None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    cli.ok(&[
        "people",
        "invite",
        "--email",
        "ana@example.com",
        "--name",
        "Ana",
        "--role",
        "user",
    ]);
    let t = cli.json(&[
        "teams",
        "create",
        "--name",
        "Support",
        "--member",
        "ana@example.com",
    ]);
    assert_eq!(t["members"].as_array().unwrap().len(), 1, "{t}");
    // A rename keeps the members; --clear empties the team.
    let t = cli.json(&["teams", "set", "support", "--name", "Help desk"]);
    assert_eq!(t["name"], "Help desk");
    assert_eq!(
        t["members"].as_array().unwrap().len(),
        1,
        "members kept: {t}"
    );
    let t = cli.json(&["teams", "set", "help desk", "--clear"]);
    assert!(t["members"].as_array().unwrap().is_empty(), "{t}");
    let list = cli.json(&["teams", "list"]);
    assert_eq!(list[0]["kind"], "managed", "{list}");
    cli.ok(&["teams", "delete", "Help desk"]);
    assert!(cli.json(&["teams", "list"]).as_array().unwrap().is_empty());
    let out = cli.run(&["teams", "show", "Help desk"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no team named"));
}

#[test]
fn collections_and_team_shares_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&host_args(&tmp.path().join("data"), None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    cli.ok(&[
        "people",
        "invite",
        "--email",
        "ana@example.com",
        "--name",
        "Ana",
        "--role",
        "user",
    ]);
    cli.ok(&["vaults", "create", "Ops"]);
    for label in ["Figma", "Slack"] {
        cli.ok(&[
            "accounts",
            "add",
            "--label",
            label,
            "--username",
            "ops@example.com",
            "--vault",
            "Ops",
            "--generate-password",
        ]);
    }
    let c = cli.json(&[
        "collections",
        "create",
        "--name",
        "Launch",
        "--account",
        "Figma",
    ]);
    assert_eq!(c["accounts"].as_array().unwrap().len(), 1, "{c}");
    cli.ok(&[
        "collections",
        "share",
        "launch",
        "ana@example.com",
        "--role",
        "manager",
    ]);
    let holders = cli.json(&["collections", "shares", "Launch"]);
    assert_eq!(holders[0]["grantee_kind"], "person", "{holders}");
    assert_eq!(holders[0]["role"], "manager", "{holders}");
    // --clear empties it, a rename keeps the accounts.
    let c = cli.json(&["collections", "set", "Launch", "--name", "Launch 2"]);
    assert_eq!(c["accounts"].as_array().unwrap().len(), 1, "{c}");
    let c = cli.json(&["collections", "set", "launch 2", "--clear"]);
    assert!(c["accounts"].as_array().unwrap().is_empty(), "{c}");

    // A team holds the vault; exactly one target is required.
    cli.ok(&[
        "teams",
        "create",
        "--name",
        "Support",
        "--member",
        "ana@example.com",
    ]);
    cli.ok(&[
        "teams",
        "share",
        "Support",
        "--vault",
        "Ops",
        "--role",
        "collaborator",
    ]);
    let shares = cli.json(&["teams", "shares", "Support"]);
    assert_eq!(shares[0]["target_kind"], "vault", "{shares}");
    let out = cli.run(&[
        "teams",
        "share",
        "Support",
        "--vault",
        "Ops",
        "--account",
        "Figma",
    ]);
    assert!(!out.status.success());
    cli.ok(&["teams", "unshare", "Support", "--vault", "Ops"]);
    assert!(cli
        .json(&["teams", "shares", "Support"])
        .as_array()
        .unwrap()
        .is_empty());
    let out = cli.run(&["teams", "unshare", "Support", "--vault", "Ops"]);
    assert!(
        !out.status.success(),
        "taking away a share that is not there fails"
    );
    cli.ok(&["collections", "unshare", "Launch 2", "ana@example.com"]);
    cli.ok(&["collections", "delete", "Launch 2"]);
    let out = cli.run(&["collections", "show", "Launch 2"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no collection named"));
}
