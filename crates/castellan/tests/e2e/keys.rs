//! The workspace's master key: `keys rotate` re-wraps while the server keeps serving, and a
//! missing, foreign or too-open key file stops the server with a clear error.

use std::os::unix::fs::PermissionsExt;

use super::common::{self, host_args, Cli, Server};

#[test]
fn keys_rotate_rewraps_while_the_server_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&host_args(&data, None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    cli.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "Zoom",
            "--app",
            "zoom",
            "--password-stdin",
        ],
        "zoom-pass-0001\n",
    );
    cli.ok(&["vaults", "create", "Finance"]);
    let keys = |args: &[&str]| {
        let out = std::process::Command::new(common::bin())
            .args(["keys"])
            .args(args)
            .args(host_args(&data, None, None))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "keys {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let before = keys(&["list"]);
    assert_eq!(before.lines().count(), 1);
    let old_id = before.split_whitespace().next().unwrap().to_owned();
    let out = keys(&["rotate"]);
    assert!(out.contains("re-wrapped 2 vault data key(s)"), "{out}");
    let after = keys(&["list"]);
    assert_eq!(after.lines().count(), 2);
    assert!(
        !after.lines().next().unwrap().contains(&old_id),
        "a new key is active"
    );

    // The running server still reads secrets and makes new vaults under the new key.
    assert_eq!(
        cli.json(&["accounts", "show", "Zoom", "--reveal"])["secret.password"],
        "zoom-pass-0001"
    );
    cli.ok(&["vaults", "create", "Legal"]);
    cli.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "Docs",
            "--vault",
            "Legal",
            "--app",
            "docusign",
            "--password-stdin",
        ],
        "docs-pass-0002\n",
    );
    // The old key can be retired once nothing uses it, and a restart still reads everything.
    keys(&["retire", &old_id]);
    assert_eq!(keys(&["list"]).lines().count(), 1);
    server.stop();
    let server = Server::start(&host_args(&data, None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.ok_stdin(
        &["login", "--email", "owner@example.com", "--password-stdin"],
        "owner-password-123\n",
    );
    assert_eq!(
        cli.json(&["accounts", "show", "Zoom", "--reveal"])["secret.password"],
        "zoom-pass-0001"
    );
    assert_eq!(
        cli.json(&["accounts", "show", "Docs", "--reveal"])["secret.password"],
        "docs-pass-0002"
    );
}

#[test]
fn a_missing_or_wrong_master_key_file_stops_the_server_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&host_args(&data, None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    server.stop();
    let key = data.join("master.key");
    let saved = std::fs::read(&key).unwrap();

    let start = |extra: Vec<String>| {
        std::process::Command::new(common::bin())
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(extra)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    std::fs::remove_file(&key).unwrap();
    let out = start(host_args(&data, None, None));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("master key file") && err.contains("missing"),
        "{err}"
    );
    assert!(
        !key.exists(),
        "no new key file may be made for an existing workspace"
    );

    // Another workspace's key file: refused, nothing changed.
    let other = tmp.path().join("other.key");
    let o = std::process::Command::new(common::bin())
        .arg("init")
        .args(host_args(&tmp.path().join("other"), None, Some(&other)))
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = start(host_args(&data, None, Some(&other)));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not open"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A key file readable by others is refused.
    std::fs::write(&key, &saved).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = start(host_args(&data, None, None));
    assert!(!out.status.success());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = Server::start(&host_args(&data, None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.ok_stdin(
        &["login", "--email", "owner@example.com", "--password-stdin"],
        "owner-password-123\n",
    );
    assert_eq!(cli.json(&["whoami"])["role"], "owner");
}
