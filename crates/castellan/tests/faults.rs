//! Faults around the server (issue 10, point 3), against the real binary: the log sink goes
//! away, logs land in a pipe (no colour) or must be JSON only, and the disk fills up and is
//! freed again.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{host_args, serve_command, serving_url, sigterm, wait_exit, Cli, Server};
use serde_json::{json, Value};

/// The server's standard error and output are pipes whose reading ends close while it serves
/// (the log collector died): it keeps answering, logging all the while (`debug`), and a
/// SIGTERM still ends it cleanly with status 0 (writing to the closed pipe used to panic: 101).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_serving_after_its_log_pipe_closes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = serve_command(&host_args(&tmp.path().join("data"), None, None), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| serving_url(&l))
        .expect("the server prints its address");
    drop(lines);
    drop(child.stdout.take());
    let http = reqwest::Client::new();
    for path in [
        "/api/v1/health",
        "/api/v1/health/live",
        "/api/v1/health/ready",
        "/api/v1/setup",
        "/no/such/page",
    ]
    .iter()
    .cycle()
    .take(50)
    {
        let r = http.get(format!("{url}{path}")).send().await.unwrap();
        assert!(r.status().as_u16() < 500, "{path}: {}", r.status());
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server must outlive its log pipe"
    );
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(20)).expect("SIGTERM stops it");
    assert_eq!(status.code(), Some(0), "{status}");
}

/// Logs written to a pipe carry no ANSI colour codes; with `--log-format json` every line on
/// standard error is a JSON object (the operator's notices too: address, key file).
#[test]
fn piped_logs_have_no_colour_and_json_logs_are_json_only() {
    let tmp = tempfile::tempdir().unwrap();
    for format in ["text", "json"] {
        let mut server = Server::start_env(
            &host_args(&tmp.path().join(format), None, None),
            &[("CASTELLAN_LOG_FORMAT", format)],
        );
        let cli = Cli::new(&server.url, &tmp.path().join(format!("cli-{format}")));
        cli.claim(&server.setup_token(), "owner@example.com");
        let bad = cli.run_stdin(
            &["login", "--email", "owner@example.com", "--password-stdin"],
            "wrong-password-123\n",
        );
        assert!(!bad.status.success());
        server.stop();
        let stderr = server.stderr.lock().unwrap().clone();
        assert!(
            !stderr.contains('\u{1b}'),
            "ANSI codes in piped logs:\n{stderr}"
        );
        if format == "json" {
            for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
                let v: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                assert!(v.is_object(), "{line}");
            }
            assert!(stderr.contains("wrote the workspace master key file"));
        }
    }
}

/// A tmpfs mounted for one test and unmounted when dropped.
struct Tmpfs(PathBuf);

/// Says that a test was skipped, on the real standard error (not captured by the test harness,
/// so it shows even when the test "passes").
fn skipped(why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED a_full_disk_fails_writes_and_readiness_until_space_is_freed: {why} ***\n"
    );
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -t tmpfs -o size=…`) at `dir`; `None`, with a loud
    /// message, where this process may not mount (not root, or no mount privilege).
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        if !rustix::process::geteuid().is_root() {
            skipped("not root, so no tmpfs can be mounted");
            return None;
        }
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Self(dir.to_owned())),
            Ok(o) => {
                skipped(&format!(
                    "mounting a tmpfs failed ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
                None
            }
            Err(e) => {
                skipped(&format!("cannot run mount: {e}"));
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Writes 1 MiB blocks to `path` until the filesystem is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0xa5u8; 1024 * 1024];
    loop {
        if let Err(e) = f.write_all(&block).and_then(|()| f.sync_all()) {
            assert_eq!(e.raw_os_error(), Some(28), "expected ENOSPC: {e}");
            return;
        }
    }
}

/// POST /api/v1/accounts with 48 KiB of (sealed, so incompressible) notes.
async fn add_account(http: &reqwest::Client, url: &str, token: &str, n: usize) -> (u16, Value) {
    let r = http
        .post(format!("{url}/api/v1/accounts"))
        .bearer_auth(token)
        .json(&json!({ "label": format!("Account {n}"), "app": "github",
            "password": format!("password-{n:06}"), "notes": "n".repeat(48 * 1024) }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn readiness(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = http
        .get(format!("{url}/api/v1/health/ready"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The data directory sits on a small tmpfs. Filled up, writes fail with 503 and readiness
/// reports the disk; once space is freed the very next writes succeed and readiness recovers,
/// without a restart (a connection left inside a failed transaction used to make every later
/// request fail with 500 until a restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_and_readiness_until_space_is_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let Some(_mount) = Tmpfs::mount(&mnt, "48m") else {
        return;
    };
    let data = mnt.join("data");
    let mut server = Server::start_env(
        &host_args(&data, None, None),
        &[("CASTELLAN_LOG", "info"), ("CASTELLAN_SMTP_LISTEN", "off")],
    );
    let cli = Cli::new(&server.url, &tmp.path().join("cli"));
    cli.claim(&server.setup_token(), "owner@example.com");
    let token = cli.token();
    let http = reqwest::Client::new();
    let url = server.url.clone();
    assert_eq!(add_account(&http, &url, &token, 0).await.0, 201);
    assert_eq!(readiness(&http, &url).await.0, 200);

    let filler = mnt.join("filler");
    fill(&filler);
    let mut failure = None;
    for n in 1..=300 {
        let (status, body) = add_account(&http, &url, &token, n).await;
        if status != 201 {
            failure = Some((status, body));
            break;
        }
    }
    let (status, body) = failure.expect("writes must fail on a full disk");
    assert_eq!(
        status, 503,
        "a full disk is 'unavailable', not an internal error: {body}"
    );
    assert_eq!(body["type"], "urn:castellan:problem:unavailable", "{body}");
    let (status, ready) = readiness(&http, &url).await;
    assert_eq!(status, 503, "{ready}");
    let failed: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"disk"), "{ready}");
    // Reads still work.
    let r = http
        .get(format!("{url}/api/v1/accounts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    std::fs::remove_file(&filler).unwrap();
    // Enough writes to go through every pooled connection.
    for n in 1000..1030 {
        let (status, body) = add_account(&http, &url, &token, n).await;
        assert_eq!(status, 201, "write {n} after freeing the disk: {body}");
    }
    let (status, ready) = readiness(&http, &url).await;
    assert_eq!(status, 200, "{ready}");
    let r = http
        .get(format!("{url}/api/v1/accounts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(cli.ok(&["activity", "verify"]).contains("intact"));
    server.stop();
}

/// The key file is swapped for another workspace's while serving: readiness fails on
/// `key_file` (the next start would refuse), and recovers when the right file is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_refuses_another_workspaces_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (mine, other) = (tmp.path().join("a"), tmp.path().join("b"));
    let server = Server::start(&host_args(&mine, None, None));
    let second = Server::start(&host_args(&other, None, None));
    let http = reqwest::Client::new();
    let (status, _) = readiness(&http, &server.url).await;
    assert_eq!(status, 200);
    let key = mine.join("master.key");
    let kept = std::fs::read(&key).unwrap();
    std::fs::copy(other.join("master.key"), &key).unwrap();
    let (status, body) = readiness(&http, &server.url).await;
    assert_eq!(status, 503, "{body:#}");
    assert!(
        body.to_string()
            .contains("does not belong to this workspace"),
        "{body:#}"
    );
    std::fs::write(&key, kept).unwrap();
    let (status, body) = readiness(&http, &server.url).await;
    assert_eq!(status, 200, "{body:#}");
    drop(second);
}
