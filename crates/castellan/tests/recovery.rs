//! Account recovery end to end with the real binary: renewing an invitation, a password reset
//! link from `castellan people reset-password` used with `castellan password reset`, changing
//! one's own password, and the Owner's host-local `castellan owner reset-password`, which
//! refuses without this workspace's master key file.

mod common;

use std::path::Path;
use std::process::Output;

use common::{bin, host_args, run_with_stdin, Cli, Server};

/// `castellan owner reset-password --password-stdin` with `host` flags, fed `stdin`.
fn owner_reset(host: &[String], extra: &[&str], stdin: &str) -> Output {
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["owner", "reset-password", "--password-stdin"])
        .args(extra)
        .args(host)
        .env_remove("CASTELLAN_DATABASE_URL")
        .env_remove("CASTELLAN_MASTER_KEY_FILE");
    run_with_stdin(&mut cmd, stdin)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Signs `email` in with `password` in a fresh CLI config dir; returns whether it worked.
fn can_sign_in(server: &str, dir: &Path, email: &str, password: &str) -> bool {
    let cli = Cli::new(server, dir);
    cli.run_stdin(
        &["login", "--email", email, "--password-stdin"],
        &format!("{password}\n"),
    )
    .status
    .success()
}

#[test]
fn people_recover_their_access_with_renewed_invitations_and_reset_links() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&host_args(&data, None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("owner"));
    cli.claim(&server.setup_token(), "owner@example.com");

    // An invitation that was lost is renewed: the old token stops working.
    let first = cli.json(&[
        "people",
        "invite",
        "--email",
        "ana@example.com",
        "--name",
        "Ana",
        "--role",
        "user",
    ]);
    let old = first["invitation_token"].as_str().unwrap().to_owned();
    let again = cli.run(&[
        "people",
        "invite",
        "--email",
        "ana@example.com",
        "--name",
        "Ana",
        "--role",
        "user",
    ]);
    assert!(!again.status.success());
    assert!(text(&again).contains("reinvite"), "{}", text(&again));
    let renewed = cli.json(&["people", "reinvite", "ana@example.com"]);
    let new = renewed["invitation_token"].as_str().unwrap().to_owned();
    let ana = Cli::new(&server.url, &tmp.path().join("ana"));
    let accept = |token: &str| {
        ana.run_stdin(
            &[
                "accept-invitation",
                "--email",
                "ana@example.com",
                "--invitation-token",
                token,
                "--password-stdin",
            ],
            "ana-password-0001\n",
        )
    };
    assert!(!accept(&old).status.success(), "the old token is refused");
    assert!(accept(&new).status.success(), "{}", text(&accept(&new)));

    // A forgotten password: the admin's link, used from Ana's terminal.
    let out = cli.ok(&["people", "reset-password", "ana@example.com"]);
    let link = out
        .lines()
        .find(|l| l.contains("/reset-password?token=cst_reset_"))
        .unwrap_or_else(|| panic!("a link in: {out}"))
        .trim()
        .to_owned();
    assert!(link.starts_with(&server.url), "{link}");
    ana.ok_stdin(
        &["password", "reset", "--token", &link, "--password-stdin"],
        "ana-password-0002\n",
    );
    let reuse = ana.run_stdin(
        &["password", "reset", "--token", &link, "--password-stdin"],
        "ana-password-0003\n",
    );
    assert!(!reuse.status.success(), "a link works once");
    assert!(text(&reuse).contains("already used"), "{}", text(&reuse));
    // The new password signs in (each attempt counts against the limit of 5 a minute per
    // email, so this test keeps to 5 for Ana).
    ana.ok_stdin(
        &["login", "--email", "ana@example.com", "--password-stdin"],
        "ana-password-0002\n",
    );

    // Changing one's own password keeps the saved login and ends the other ones.
    let laptop = Cli::new(&server.url, &tmp.path().join("ana-laptop"));
    laptop.ok_stdin(
        &["login", "--email", "ana@example.com", "--password-stdin"],
        "ana-password-0002\n",
    );
    let out = ana.ok_stdin(
        &["password", "change", "--password-stdin"],
        "ana-password-0002\nana-password-0004\n",
    );
    assert!(out.contains("signed out"), "{out}");
    assert!(ana.run(&["whoami"]).status.success(), "this login stays");
    assert!(
        !laptop.run(&["whoami"]).status.success(),
        "the other login ended"
    );

    let log = cli.ok(&["activity", "list", "--limit", "500"]);
    for action in [
        "person.invitation_renew",
        "person.password_reset_issue",
        "person.password_reset",
        "person.password_change",
    ] {
        assert!(log.contains(action), "{action} in the log");
    }
    assert!(!log.contains("ana-password-000"), "no password in the log");
}

#[test]
fn the_owner_resets_a_lost_password_on_the_host_only_with_the_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let host = host_args(&data, None, None);
    let server = Server::start(&host);
    let cli = Cli::new(&server.url, &tmp.path().join("owner"));
    cli.claim(&server.setup_token(), "owner@example.com");
    assert!(cli.run(&["whoami"]).status.success());

    // No key file: refused, nothing changed.
    let missing = host_args(&data, None, Some(&tmp.path().join("nowhere.key")));
    let out = owner_reset(&missing, &[], "brand-new-owner-pass\n");
    assert!(!out.status.success());
    assert!(text(&out).contains("master key file"), "{}", text(&out));
    // Another workspace's key file: refused too.
    let other = tmp.path().join("other");
    let init = std::process::Command::new(bin())
        .args(["init", "--data-dir"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", text(&init));
    let wrong = host_args(&data, None, Some(&other.join("master.key")));
    let out = owner_reset(&wrong, &[], "brand-new-owner-pass\n");
    assert!(!out.status.success());
    assert!(text(&out).contains("does not open"), "{}", text(&out));
    // A password under 12 characters: refused.
    let out = owner_reset(&host, &[], "short\n");
    assert!(!out.status.success());
    assert!(text(&out).contains("at least 12"), "{}", text(&out));
    let logins = tmp.path().join("logins");
    assert!(can_sign_in(
        &server.url,
        &logins,
        "owner@example.com",
        "owner-password-123"
    ));
    assert!(
        cli.run(&["whoami"]).status.success(),
        "nothing was signed out"
    );

    // With this workspace's key file, while the server runs.
    let out = owner_reset(&host, &[], "brand-new-owner-pass\n");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("owner@example.com"), "{}", text(&out));
    assert!(
        !cli.run(&["whoami"]).status.success(),
        "the Owner's logins ended"
    );
    assert!(!can_sign_in(
        &server.url,
        &logins,
        "owner@example.com",
        "owner-password-123"
    ));
    assert!(can_sign_in(
        &server.url,
        &logins,
        "owner@example.com",
        "brand-new-owner-pass"
    ));

    let me = Cli::new(&server.url, &logins);
    let log = me.ok(&[
        "activity",
        "list",
        "--action",
        "person.owner_password_reset",
    ]);
    assert!(log.contains("castellan owner reset-password"), "{log}");
    assert!(!log.contains("brand-new-owner-pass"));
}

/// Runs `castellan ARGS` on a pseudo-terminal (util-linux `script`), typing `typed`: what a
/// person at a terminal sees, where `rpassword` prompts instead of reading stdin.
fn on_a_terminal(server: &str, config_dir: &Path, args: &[&str], typed: &str) -> Output {
    let mut line = format!("'{}'", bin().display());
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env("CASTELLAN_SERVER", server)
        .env("CASTELLAN_CONFIG_DIR", config_dir);
    run_with_stdin(&mut cmd, typed)
}

#[test]
fn claim_asks_for_the_password_twice_on_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&host_args(&tmp.path().join("data"), None, None));
    let token = server.setup_token();
    let dir = tmp.path().join("cfg");
    let claim = [
        "claim",
        "--setup-token",
        token.as_str(),
        "--email",
        "owner@example.com",
        "--name",
        "Owner",
    ];
    let out = on_a_terminal(
        &server.url,
        &dir,
        &claim,
        "owner-password-123\nowner-password-124\n",
    );
    assert!(!out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("Type it again"), "{shown}");
    assert!(shown.contains("the two passwords differ"), "{shown}");
    let cli = Cli::new(&server.url, &dir);
    assert!(
        !cli.run(&["whoami"]).status.success(),
        "nothing was claimed"
    );
    let out = on_a_terminal(
        &server.url,
        &dir,
        &claim,
        "owner-password-123\nowner-password-123\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(cli.ok(&["whoami"]).contains("owner@example.com"));
}
