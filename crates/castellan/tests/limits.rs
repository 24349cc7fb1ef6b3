//! The server under load and slow clients (issue 10, points 1 and 2), against the real binary:
//! half-sent request heads, header and idle timeouts, the bounded shutdown, busy password-hash
//! slots, and a bot job interrupted by a shutdown.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{host_args, Cli, Server};
use serde_json::{json, Value};

/// Raises this process's soft open-files limit to `n` (within the hard limit): the tests open
/// hundreds of sockets, and the servers they start inherit the limit.
fn raise_open_files(n: u64) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current.is_some_and(|c| c < n) {
        lim.current = Some(lim.maximum.map_or(n, |m| m.min(n)));
        setrlimit(Resource::Nofile, lim).expect("raise RLIMIT_NOFILE");
    }
    let have = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    assert!(
        have >= n,
        "this test needs {n} open files; the hard limit allows {have} (raise it with ulimit -Hn)"
    );
}

/// A GET over a fresh connection with a 10 s read timeout: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: castellan\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read the response");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

/// Whether the server closed `s` within `within` (EOF or reset), rather than leaving it open.
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            // A response (a timeout answer) before the close is fine: keep reading.
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// 500 connections that send half a request head and stop: other clients keep getting answers,
/// and SIGTERM stops the server within its drain time although none of them ever finishes (the
/// header timeout is set far beyond the test).
#[test]
fn half_sent_request_heads_neither_block_other_clients_nor_shutdown() {
    raise_open_files(2048);
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_env(
        &host_args(&tmp.path().join("data"), None, None),
        &[
            ("CASTELLAN_LOG", "info"),
            ("CASTELLAN_SHUTDOWN_DRAIN_SECS", "2"),
            ("CASTELLAN_HEADER_READ_TIMEOUT_SECS", "600"),
            ("CASTELLAN_IDLE_TIMEOUT_SECS", "600"),
        ],
    );
    let addr = server.addr();
    let mut slow: Vec<TcpStream> = (0..500)
        .map(|i| {
            let mut s =
                TcpStream::connect(&addr).unwrap_or_else(|e| panic!("connection {i} refused: {e}"));
            s.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: castellan\r\nX-Half: ")
                .unwrap();
            s
        })
        .collect();
    for _ in 0..5 {
        let (status, body) = get(&addr, "/api/v1/health");
        assert_eq!(status, 200, "{body}");
        let (status, body) = get(&addr, "/api/v1/health/ready");
        assert_eq!(status, 200, "{body}");
    }
    // The half-sent requests are still waiting: no answer, no close.
    assert!(!closed_by_server(&mut slow[0], Duration::from_millis(300)));
    assert!(!closed_by_server(
        &mut slow[499],
        Duration::from_millis(300)
    ));

    let status = server
        .terminate(Duration::from_secs(2 + 8))
        .expect("SIGTERM must stop the server within its 2 s drain time (and some slack)");
    assert!(status.success(), "exit status {status}: {}", server.logs());
    for s in slow.iter_mut().step_by(50) {
        assert!(closed_by_server(s, Duration::from_secs(5)));
    }
    assert!(
        server.logs().contains("closing the connections still open"),
        "{}",
        server.logs()
    );
}

/// A request head that stops half-way is cut off after the header read timeout, while an idle
/// connection (no byte sent) is held to the longer idle timeout; and a keep-alive connection is
/// closed once it has been idle for the idle timeout.
#[test]
fn stalled_heads_and_idle_connections_are_closed_after_their_timeouts() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(
        &host_args(&tmp.path().join("a"), None, None),
        &[
            ("CASTELLAN_LOG", "info"),
            ("CASTELLAN_HEADER_READ_TIMEOUT_SECS", "1"),
            ("CASTELLAN_IDLE_TIMEOUT_SECS", "600"),
        ],
    );
    let mut idle = TcpStream::connect(server.addr()).unwrap();
    let mut half = TcpStream::connect(server.addr()).unwrap();
    half.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: c")
        .unwrap();
    assert!(
        closed_by_server(&mut half, Duration::from_secs(10)),
        "a stalled request head must be cut off after the 1 s header timeout"
    );
    assert!(
        !closed_by_server(&mut idle, Duration::from_millis(500)),
        "an idle connection is held to the idle timeout (600 s here), not the header timeout"
    );
    drop(server);

    let server = Server::start_env(
        &host_args(&tmp.path().join("b"), None, None),
        &[
            ("CASTELLAN_LOG", "info"),
            ("CASTELLAN_IDLE_TIMEOUT_SECS", "1"),
        ],
    );
    let mut kept = TcpStream::connect(server.addr()).unwrap();
    kept.write_all(b"GET /api/v1/health/live HTTP/1.1\r\nHost: castellan\r\n\r\n")
        .unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        closed_by_server(&mut kept, Duration::from_secs(10)),
        "an idle keep-alive connection must be closed after the 1 s idle timeout"
    );
}

/// With one password-hash slot and no wait, concurrent sign-ins from 40 addresses (each under
/// the per-IP limit, each with its own email) get either the usual 401 or 503 with
/// `Retry-After` and an `overloaded` problem, never 500; liveness answers meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_password_hash_slots_answer_503_with_retry_after() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(
        &host_args(&tmp.path().join("data"), None, None),
        &[
            ("CASTELLAN_LOG", "info"),
            ("CASTELLAN_MAX_PASSWORD_HASHES", "1"),
            ("CASTELLAN_PASSWORD_HASH_WAIT_MS", "0"),
        ],
    );
    let owner = Cli::new(&server.url, &tmp.path().join("owner"));
    owner.claim(&server.setup_token(), "owner@example.com");
    let attempts: Vec<_> = (0..40u8).map(|i| {
        let url = format!("{}/api/v1/auth/sign-in", server.url);
        let local = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 10 + i));
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .local_address(local)
                .build()
                .unwrap();
            let r = http
                .post(url)
                .json(&json!({ "email": format!("user{i}@example.com"), "password": "not-the-password-1" }))
                .send()
                .await
                .expect("an answer");
            let status = r.status().as_u16();
            let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, retry, body)
        })
    }).collect();
    let live = reqwest::get(format!("{}/api/v1/health/live", server.url))
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let mut busy = 0;
    let mut refused = 0;
    for a in attempts {
        let (status, retry, body) = a.await.unwrap();
        match status {
            401 => refused += 1,
            503 => {
                busy += 1;
                assert_eq!(retry.as_deref(), Some("1"), "{body}");
                assert_eq!(body["type"], "urn:castellan:problem:overloaded", "{body}");
            }
            other => panic!("sign-in answered {other}: {body}"),
        }
    }
    assert!(refused > 0, "some attempts got a slot and were checked");
    assert!(
        busy > 0,
        "with one slot and no wait, some of 40 attempts must find it busy"
    );
}

/// A bot job in progress when SIGTERM arrives gets the drain time, then is interrupted and
/// released: its lease ends at once (the interrupted attempt is not counted), and the next
/// server's worker takes it up immediately rather than after the 60 s lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_job_interrupted_by_shutdown_is_released_for_another_worker() {
    // An "app" that accepts connections and never answers: the job hangs in its sign-in.
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_addr = hole.local_addr().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    {
        let calls = calls.clone();
        std::thread::spawn(move || {
            let mut held = vec![];
            for s in hole.incoming().map_while(Result::ok) {
                calls.fetch_add(1, Ordering::SeqCst);
                held.push(s);
            }
        });
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let env = [
        ("CASTELLAN_LOG", "info"),
        ("CASTELLAN_SHUTDOWN_DRAIN_SECS", "2"),
        ("CASTELLAN_JOB_LEASE_SECS", "60"),
    ];
    let mut server = Server::start_env(&host_args(&data, None, None), &env);
    let owner = Cli::new(&server.url, &tmp.path().join("owner"));
    owner.claim(&server.setup_token(), "owner@example.com");
    owner.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "Chat bot",
            "--app",
            "matrix-synapse",
            "--username",
            "castellan-bot",
            "--setup",
            "placeholder",
            "--password-stdin",
        ],
        "bot-password-1\n",
    );
    owner.json(&[
        "hub",
        "connect",
        "--app",
        "matrix-synapse",
        "--label",
        "Chat",
        "--account",
        "Chat bot",
        "--base-url",
        &format!("http://{hole_addr}"),
    ]);
    wait_for(
        || calls.load(Ordering::SeqCst) > 0,
        "the job reaches the app",
    );
    let status = server
        .terminate(Duration::from_secs(2 + 8))
        .expect("SIGTERM must stop the server within the drain time although a job hangs");
    assert!(status.success(), "{}", server.logs());
    assert!(
        server
            .logs()
            .contains("released the job for another worker"),
        "{}",
        server.logs()
    );

    let db = format!("sqlite://{}", data.join("castellan.db").display());
    let held = held_jobs(&db).await;
    assert_eq!(
        held.len(),
        1,
        "exactly the interrupted job is held: {held:?}"
    );
    let (id, worker, lease_until, attempts) = held[0].clone();
    assert!(
        lease_until <= chrono::Utc::now().timestamp_millis(),
        "the lease of a released job has ended"
    );
    assert_eq!(attempts, 0, "the interrupted attempt is not counted");

    let before = calls.load(Ordering::SeqCst);
    let mut next = Server::start_env(&host_args(&data, None, None), &env);
    wait_for(
        || calls.load(Ordering::SeqCst) > before,
        "the next server's worker resumes the released job",
    );
    let again = held_jobs(&db).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].0, id, "the same job");
    assert_ne!(again[0].1, worker, "taken over by the new worker");
    next.stop();
}

/// Jobs in `started`/`running`: (id, worker_id, lease_until ms, attempts).
async fn held_jobs(db: &str) -> Vec<(String, String, i64, i64)> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::SqliteConnection::connect(db).await.unwrap();
    sqlx::query(
        "SELECT id, worker_id, lease_until, attempts FROM jobs WHERE state IN ('started', 'running')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

/// Polls `cond` every 100 ms for up to 30 s.
fn wait_for(cond: impl Fn() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
