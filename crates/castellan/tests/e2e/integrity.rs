//! What is stored stays secret and whole: a known secret reaches no database file, log line or
//! error body, and a changed or removed activity row is reported by `activity verify`.

use serde_json::Value;

use super::common::{self, host_args, Cli, Server};

/// Writes a known secret through the API, then looks for it everywhere it must not be.
#[test]
fn canary_secret_reaches_no_database_file_log_line_or_error_body() {
    const CANARY: &str = "CANARY-7f3a9c1e-secret-value";
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&host_args(&data, None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    let token = cli.token();
    let curl = |method: &str, path: &str, body: &str| -> (String, String) {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-X",
                method,
                "-H",
                &format!("authorization: Bearer {token}"),
                "-H",
                "content-type: application/json",
                "-w",
                "\n%{http_code}",
                "--data-binary",
                body,
            ])
            .arg(format!("{}/api/v1{path}", server.url))
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.to_owned(), body.to_owned())
    };
    let body = format!(
        r#"{{"label":"Canary","app":"slack","username":"u@example.com","password":"{CANARY}","notes":"{CANARY}-notes","custom_fields":[{{"name":"pin","value":"{CANARY}-pin","secret":true}}],"backup_codes":["{CANARY}-code"]}}"#
    );
    let (code, created) = curl("POST", "/accounts", &body);
    assert_eq!(code, "201", "{created}");
    let id = serde_json::from_str::<Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!created.contains(CANARY));
    // Error paths that carry the secret in the request must not echo it.
    let mut error_bodies = vec![];
    error_bodies.push(curl("POST", "/accounts", &body)); // duplicate label: 409
    error_bodies.push(curl(
        "POST",
        "/accounts",
        &body.replace("\"Canary\"", &format!("\"{}\"", "x".repeat(300))),
    )); // 422
    error_bodies.push(curl(
        "POST",
        "/accounts",
        &body.replace("\"slack\"", "\"htp:/bad\""),
    )); // 422
    error_bodies.push(curl(
        "POST",
        "/accounts",
        &format!("{{\"label\": \"{CANARY}\", \"password\": {{\"x\": \"{CANARY}\"}}}}"),
    )); // 422
    error_bodies.push(curl(
        "POST",
        "/accounts",
        &format!("{{\"password\": \"{CANARY}\""),
    )); // 400 malformed
    error_bodies.push(curl(
        "PATCH",
        &format!("/accounts/{id}"),
        &format!("{{\"version\": 99, \"password\": \"{CANARY}\"}}"),
    )); // 409
    error_bodies.push(curl(
        "POST",
        "/auth/sign-in",
        &format!("{{\"email\": \"owner@example.com\", \"password\": \"{CANARY}\"}}"),
    )); // 401
    for (code, b) in &error_bodies {
        assert!(code.starts_with('4'), "{code} {b}");
        assert!(!b.contains(CANARY), "error body leaks the secret: {b}");
    }
    // The secret is readable through an explicit reveal...
    let (code, revealed) = curl("POST", &format!("/accounts/{id}/reveal"), "");
    assert_eq!(code, "200");
    assert!(revealed.contains(CANARY));
    // ...and appears in no database file (including the WAL) while serving or after a stop,
    // and in no log line at debug level.
    let scan = |when: &str| {
        for entry in std::fs::read_dir(&data).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            for needle in [
                CANARY.as_bytes().to_vec(),
                CANARY
                    .encode_utf16()
                    .flat_map(|u| u.to_le_bytes())
                    .collect(),
            ] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                    "{when}: {} contains the secret",
                    path.display()
                );
            }
        }
    };
    let files: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("-wal")),
        "expected a WAL file, found {files:?}"
    );
    scan("while serving");
    server.stop();
    scan("after stop");
    let logs = server.logs();
    assert!(
        logs.contains("DEBUG") || logs.contains("INFO"),
        "logs were captured"
    );
    assert!(!logs.contains(CANARY), "a log line contains the secret");
}

/// Changes one activity row straight in the database; `castellan activity verify` finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_activity_row_is_reported() {
    use sqlx::Connection;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&host_args(&data, None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    for i in 0..3 {
        cli.ok_stdin(
            &[
                "accounts",
                "add",
                "--label",
                &format!("acct {i}"),
                "--app",
                "github",
                "--password-stdin",
            ],
            "pw-123456789\n",
        );
    }
    assert!(cli.ok(&["activity", "verify"]).contains("intact"));
    let list = cli.json(&["activity", "list", "--action", "account.create"]);
    let seq = list.as_array().unwrap().last().unwrap()["seq"]
        .as_i64()
        .unwrap();

    let url = format!("sqlite://{}", data.join("castellan.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let changed =
        sqlx::query("UPDATE activity_events SET target_label = 'nothing to see' WHERE seq = $1")
            .bind(seq)
            .execute(&mut conn)
            .await
            .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    drop(conn);

    let out = cli.run(&["activity", "verify"]);
    assert!(!out.status.success(), "verify must fail on a changed event");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("event #{seq}")), "{text}");
    assert!(text.contains("changed"), "{text}");
    // The host-local verifier agrees, reading the database directly.
    let local = std::process::Command::new(common::bin())
        .args(["activity", "verify", "--local"])
        .args(host_args(&data, None, None))
        .output()
        .unwrap();
    assert!(!local.status.success());
    assert!(String::from_utf8_lossy(&local.stdout).contains(&format!("event #{seq}")));

    // Removing an event is found too.
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM activity_events WHERE seq = $1")
        .bind(seq - 1)
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let text = cli.run(&["activity", "verify"]).stdout;
    assert!(
        String::from_utf8_lossy(&text).contains("missing"),
        "{}",
        String::from_utf8_lossy(&text)
    );
}
