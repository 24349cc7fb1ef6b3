//! Fresh databases for each test, on each backend.
//!
//! SQLite: a new temporary directory per test. PostgreSQL: a new database
//! `castellan_test_<uuid>` on the server at `CASTELLAN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends (best effort).
//! An unreachable PostgreSQL fails the test unless `CASTELLAN_TEST_SKIP_PG=1`.

use std::future::Future;

use castellan_store::SqlStore;
use sqlx::Connection;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A fresh, empty database and what it takes to remove it.
struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    async fn new(db: Db) -> Option<TestDb> {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("castellan.db").display());
                Some(TestDb {
                    url,
                    _dir: Some(dir),
                    pg: None,
                })
            }
            Db::Postgres => {
                let admin_url = std::env::var("CASTELLAN_TEST_PG_URL")
                    .unwrap_or_else(|_| DEFAULT_PG_URL.into());
                let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
                    Ok(c) => c,
                    Err(e) if std::env::var("CASTELLAN_TEST_SKIP_PG").as_deref() == Ok("1") => {
                        eprintln!("SKIPPED on PostgreSQL (CASTELLAN_TEST_SKIP_PG=1): {e}");
                        return None;
                    }
                    Err(e) => panic!(
                        "PostgreSQL is not reachable at {admin_url}: {e}\n\
                         Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect 15 main start`), \
                         point CASTELLAN_TEST_PG_URL at a server, or set CASTELLAN_TEST_SKIP_PG=1 \
                         to skip the PostgreSQL half of the store tests."
                    ),
                };
                let name = format!("castellan_test_{}", uuid::Uuid::now_v7().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                let url = with_database(&admin_url, &name);
                Some(TestDb {
                    url,
                    _dir: None,
                    pg: Some((admin_url, name)),
                })
            }
        }
    }

    async fn remove(self) {
        if let Some((admin_url, name)) = &self.pg {
            if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(e) = sqlx::query(&drop).execute(&mut admin).await {
                    eprintln!("could not drop test database {name}: {e}");
                }
                admin.close().await.ok();
            }
        }
    }
}

/// `postgres://u@h:p/old?x` → `postgres://u@h:p/<name>?x`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (scheme, rest) = base.split_once("://").expect("a URL with a scheme");
    let host = rest.split_once('/').map_or(rest, |(h, _)| h);
    match query {
        Some(q) => format!("{scheme}://{host}/{name}?{q}"),
        None => format!("{scheme}://{host}/{name}"),
    }
}

/// Runs `case` with the URL of a fresh database, then removes the database, even if the case
/// panicked (the panic is then re-raised).
pub async fn run_url<F, Fut>(db: Db, case: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(test_db) = TestDb::new(db).await else {
        return;
    };
    let outcome = tokio::spawn(case(test_db.url.clone())).await;
    test_db.remove().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs `case` with a store connected to a fresh database.
pub async fn run<F, Fut>(db: Db, case: F)
where
    F: FnOnce(SqlStore) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_url(db, |url| async move {
        let store = SqlStore::connect(&url)
            .await
            .expect("connect to the test database");
        case(store.clone()).await;
        store.close().await;
    })
    .await;
}

#[test]
fn database_names_replace_the_path() {
    assert_eq!(
        with_database("postgres://p@h:5432/postgres", "t1"),
        "postgres://p@h:5432/t1"
    );
    assert_eq!(
        with_database("postgres://p@h?sslmode=disable", "t1"),
        "postgres://p@h/t1?sslmode=disable"
    );
}
