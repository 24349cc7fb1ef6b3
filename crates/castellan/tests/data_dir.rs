//! Data-directory safety (issue 10, point 4), against the real binary: one `serve` per SQLite
//! database, and no silent new workspace when the database is gone but the key file is not.

mod common;

use std::path::Path;
use std::process::Output;

use common::{bin, host_args, serve_command, Server};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `castellan serve` expecting it to refuse to start.
fn refused_serve(host: &[String]) -> String {
    let out = serve_command(host, &[]).output().unwrap();
    assert!(!out.status.success(), "serve started: {}", stderr(&out));
    stderr(&out)
}

/// A second `serve` on the same data directory refuses at once, naming the first one's pid
/// and the lock file; once the first is gone (even killed), the next one starts.
#[test]
fn one_serve_per_sqlite_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let host = host_args(&data, None, None);
    let mut first = Server::start(&host);
    let err = refused_serve(&host);
    assert!(
        err.contains(&format!(
            "another castellan serve (pid {})",
            first.child.id()
        )),
        "{err}"
    );
    assert!(
        err.contains(&data.join("castellan.db.lock").display().to_string()),
        "{err}"
    );
    // The first one is unharmed.
    let setup = std::process::Command::new("curl")
        .args(["-sf", &format!("{}/api/v1/setup", first.url)])
        .output()
        .unwrap();
    assert!(setup.status.success());

    // A crash releases the lock with the process.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let mut second = Server::start(&host);
    second.stop();
    // Another data directory is another lock.
    let _a = Server::start(&host);
    let _b = Server::start(&host_args(&tmp.path().join("other"), None, None));
}

fn remove_sqlite(data: &Path) {
    for f in ["castellan.db", "castellan.db-wal", "castellan.db-shm"] {
        let _ = std::fs::remove_file(data.join(f));
    }
}

fn init(host: &[String]) -> Output {
    std::process::Command::new(bin())
        .arg("init")
        .args(host)
        .env_remove("CASTELLAN_DATABASE_URL")
        .output()
        .unwrap()
}

/// With the master key file present but the SQLite database gone, `serve` refuses and names
/// both paths, and creates nothing; `castellan init` creates the workspace on purpose (keeping
/// the key file), after which `serve` starts. The first start on an empty directory still
/// creates the workspace by itself.
#[test]
fn a_missing_database_beside_an_existing_key_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let host = host_args(&data, None, None);
    let mut server = Server::start(&host);
    assert!(server.setup_token().starts_with("cst_setup_"));
    server.stop();
    let key = data.join("master.key");
    let key_before = std::fs::read(&key).unwrap();

    remove_sqlite(&data);
    let err = refused_serve(&host);
    assert!(err.contains(&key.display().to_string()), "{err}");
    assert!(
        err.contains(&data.join("castellan.db").display().to_string()),
        "{err}"
    );
    assert!(err.contains("castellan init"), "{err}");
    assert!(
        !data.join("castellan.db").exists(),
        "a refused start creates no database"
    );
    assert_eq!(std::fs::read(&key).unwrap(), key_before);

    let out = init(&host);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cst_setup_"));
    assert_eq!(
        std::fs::read(&key).unwrap(),
        key_before,
        "init keeps the key file"
    );
    let mut server = Server::start(&host);
    server.stop();
}

/// The same on PostgreSQL: a key file beside a database that holds no workspace is refused
/// (naming the database without its password); `init` creates the workspace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_beside_an_empty_postgres_database_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("shared.key");
    let first = init(&host_args(&tmp.path().join("a"), None, Some(&key)));
    assert!(first.status.success(), "{}", stderr(&first));
    let (url, name) = common::fresh_pg_db().await;
    let host = host_args(&tmp.path().join("b"), Some(&url), Some(&key));
    let err = refused_serve(&host);
    assert!(err.contains("holds no workspace"), "{err}");
    assert!(err.contains(&key.display().to_string()), "{err}");
    assert!(err.contains(&name), "{err}");
    let out = init(&host);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut server = Server::start(&host);
    server.stop();
    common::drop_pg_db(&name).await;
}
