//! Fresh databases for each test, on each backend.
//!
//! SQLite: a new temporary directory per test. PostgreSQL: a new database
//! `castellan_test_<uuid>` on the server at `CASTELLAN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends (best effort).
//! An unreachable PostgreSQL fails the test unless `CASTELLAN_TEST_SKIP_PG=1`.
//!
//! The cases are generic over [`SuiteStore`], so they also run on `castellan-testkit`'s
//! `MemoryStore`: that run is the proof that the fake behaves like the real stores.

use std::any::Any;
use std::future::Future;

use castellan_core::ports::Store;
use castellan_store::SqlStore;
use castellan_testkit::MemoryStore;
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

/// What the cases need from a store besides the ports: the few things that reach behind them.
pub trait SuiteStore: Store + Clone + Send + Sync + 'static {
    /// Changes the stored action of event `seq` behind the store's back (its hash stays).
    fn tamper_action(&self, seq: i64, action: &str) -> impl Future<Output = ()> + Send;
    /// Holds the activity chain lock until the returned guard is dropped, where there is one to
    /// hold apart from the write lock (PostgreSQL); `None` elsewhere.
    fn hold_chain_lock(&self) -> impl Future<Output = Option<Box<dyn Any + Send>>> + Send;
    /// Closes this instance's connections.
    fn close_store(&self) -> impl Future<Output = ()> + Send;
}

impl SuiteStore for SqlStore {
    async fn tamper_action(&self, seq: i64, action: &str) {
        sqlx::query("UPDATE activity_events SET action = $1 WHERE seq = $2")
            .bind(action.to_owned())
            .bind(seq)
            .execute(self.pool())
            .await
            .unwrap();
    }

    async fn hold_chain_lock(&self) -> Option<Box<dyn Any + Send>> {
        if self.backend_name() != "postgres" {
            return None;
        }
        let mut tx = self.pool().begin().await.unwrap();
        sqlx::query("SELECT seq FROM activity_head WHERE id = 1 FOR UPDATE")
            .execute(&mut *tx)
            .await
            .unwrap();
        Some(Box::new(tx))
    }

    async fn close_store(&self) {
        self.close().await;
    }
}

impl SuiteStore for MemoryStore {
    async fn tamper_action(&self, seq: i64, action: &str) {
        assert!(self.tamper_event(seq, |e| e.action = action.to_owned()));
    }

    /// One mutex serializes everything: there is no separate chain lock.
    async fn hold_chain_lock(&self) -> Option<Box<dyn Any + Send>> {
        None
    }

    async fn close_store(&self) {}
}

/// Several instances on one database (each its own pool, as separate processes would be).
pub trait Instances: Send + 'static {
    /// The store type.
    type S: SuiteStore;
    /// Opens another instance.
    fn open(&self) -> impl Future<Output = Self::S> + Send;
}

/// SQL instances: a new connection pool on the database each time.
pub struct SqlInstances(String);

impl Instances for SqlInstances {
    type S = SqlStore;
    async fn open(&self) -> SqlStore {
        SqlStore::connect(&self.0).await.unwrap()
    }
}

/// Memory "instances": handles on one shared in-memory state.
pub struct MemoryInstances(MemoryStore);

impl Instances for MemoryInstances {
    type S = MemoryStore;
    async fn open(&self) -> MemoryStore {
        self.0.clone()
    }
}

/// Runs `case` with several instances on a fresh database.
pub async fn run_instances<F, Fut>(db: Db, case: F)
where
    F: FnOnce(SqlInstances) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_url(db, |url| case(SqlInstances(url))).await;
}

/// Runs `case` with a fresh [`MemoryStore`].
pub async fn run_memory<F, Fut>(case: F)
where
    F: FnOnce(MemoryStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(case(MemoryStore::new())).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs `case` with several handles on one fresh [`MemoryStore`].
pub async fn run_memory_instances<F, Fut>(case: F)
where
    F: FnOnce(MemoryInstances) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_memory(|store| case(MemoryInstances(store))).await;
}
