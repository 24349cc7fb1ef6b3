//! Castellan's store: one type, [`SqlStore`], implementing every port of
//! `castellan_core::ports` on SQLite (the embedded default) and PostgreSQL (several instances).
//!
//! Queries are written once (sqlx `Any` driver, `$1, $2…` placeholders); the few dialect
//! differences stay in this crate behind a private `Backend`. Ids are stored as hyphenated UUID
//! text, times as Unix **milliseconds**, booleans as 0/1, JSON as text, ciphertexts as bytes.
//!
//! Every write runs in one transaction that takes the write lock with its first statement and
//! appends the write's activity event to the hash chain before it commits. The bot's
//! bookkeeping writes that record no event (job claims and lease updates, the sync schedule,
//! run records) skip the chain lock, so workers on several instances do not queue behind it.
#![forbid(unsafe_code)]

mod accounts;
mod activity;
mod app_sessions;
mod catalog;
mod collections;
mod db;
mod hubs;
mod inbox;
mod job_steps;
mod jobs;
mod manual;
mod oauth2;
mod otp;
mod people;
mod recovery;
mod teams;
mod tokens;
mod vaults;
mod workspace;

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use castellan_core::ports::Store;
use castellan_core::{CoreError, CoreResult};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyPool;
use sqlx::{Any, Transaction};

use crate::db::db_err;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Run on every new SQLite connection. `busy_timeout` first, so the others wait for a lock.
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA busy_timeout = 10000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
];

static INSTALL_DRIVERS: Once = Once::new();

/// Which database a [`SqlStore`] talks to. Dialect branches look at this and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The store: a connection pool to SQLite or PostgreSQL. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

impl SqlStore {
    /// Connects and runs the embedded migrations of the URL's dialect.
    ///
    /// `database_url` is `sqlite://PATH` (relative, or absolute as `sqlite:///abs/path`; the file
    /// is created with mode 0600 when missing, its directory must exist) or
    /// `postgres://…` / `postgresql://…`.
    ///
    /// Errors: `Validation` (field `database_url`) for another scheme or an in-memory SQLite
    /// database; `Unavailable` when the database cannot be created or reached; `Internal` when a
    /// migration fails.
    pub async fn connect(database_url: &str) -> CoreResult<SqlStore> {
        INSTALL_DRIVERS.call_once(sqlx::any::install_default_drivers);
        let (backend, url) = normalize_url(database_url)?;
        let options = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            for pragma in SQLITE_PRAGMAS {
                                sqlx::query(pragma).execute(&mut *conn).await?;
                            }
                            Ok(())
                        })
                    })
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(10),
        };
        let pool = options
            .after_release(|conn, _meta| Box::pin(release_check(conn)))
            .acquire_timeout(Duration::from_secs(30))
            .connect(&url)
            .await
            .map_err(|e| CoreError::Unavailable(format!("cannot connect to the database: {e}")))?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| CoreError::Internal(format!("database migration failed: {e}")))?;
        Ok(SqlStore { pool, backend })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The connection pool, for crates that add their own tables on the same database, and for
    /// tests. Queries on it must use `$N` placeholders and only the `Any` driver's types.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool and waits for its connections to close.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write transaction that already holds the write lock, so it never fails later
    /// on a lock upgrade: SQLite `BEGIN IMMEDIATE` (the database write lock, waiting up to the
    /// busy timeout), PostgreSQL `BEGIN` + a row lock on the chain head (every write appends an
    /// event, so writers are serialized there anyway; taking it first avoids deadlocks).
    pub(crate) async fn begin_write(&self) -> CoreResult<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(db_err),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                sqlx::query("SELECT seq FROM activity_head WHERE id = 1 FOR UPDATE")
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                Ok(tx)
            }
        }
    }

    /// Begins a write transaction that does not take the activity chain lock, for writes that
    /// append no event (job claims and lease updates, which must run concurrently on
    /// PostgreSQL): SQLite `BEGIN IMMEDIATE` (there is only one writer anyway), PostgreSQL a
    /// plain `BEGIN` (row locks only).
    pub(crate) async fn begin_unchained(&self) -> CoreResult<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(db_err),
            Backend::Postgres => self.pool.begin().await.map_err(db_err),
        }
    }

    /// [`Self::begin_write`] when the write appends `event`, else [`Self::begin_unchained`].
    pub(crate) async fn begin_for(
        &self,
        event: Option<&castellan_core::activity::NewEvent>,
    ) -> CoreResult<Transaction<'static, Any>> {
        match event {
            Some(_) => self.begin_write().await,
            None => self.begin_unchained().await,
        }
    }

    /// `" FOR UPDATE"` on PostgreSQL, nothing on SQLite (whose write transaction already
    /// holds the database lock).
    pub(crate) fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// `" FOR UPDATE SKIP LOCKED"` on PostgreSQL (a claimer passes over rows another claimer
    /// holds), nothing on SQLite (one writer at a time).
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend_name()
    }
}

/// Whether a connection going back to the pool may be handed out again: only when no
/// transaction is open on it. A dropped transaction queues its `ROLLBACK`; the ping waits for it.
/// When the rollback itself failed (SQLite had already rolled the transaction back after
/// `SQLITE_FULL`, say), sqlx still counts the transaction as open and every later `BEGIN` on that
/// connection would fail ("begin_with at non-zero transaction depth"): such a connection is
/// closed instead, and the pool opens a fresh one when needed.
async fn release_check(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if conn.is_in_transaction() {
        conn.ping().await?;
        if conn.is_in_transaction() {
            tracing::warn!("closing a database connection left inside a transaction");
            return Ok(false);
        }
    }
    Ok(true)
}

/// The file path and query of a `sqlite://PATH?QUERY` or `sqlite:PATH` URL.
fn sqlite_parts(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(rest.split_once('?').unwrap_or((rest, "")))
}

/// The database file of a SQLite URL (`sqlite://PATH`, query string ignored); `None` for
/// another scheme or an in-memory database.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let (path, query) = sqlite_parts(url)?;
    (!path.is_empty() && path != ":memory:" && !query.contains("mode=memory"))
        .then(|| std::path::PathBuf::from(path))
}

/// Picks the backend and, for SQLite, creates the file (0600) and adds `mode=rwc`.
fn normalize_url(url: &str) -> CoreResult<(Backend, String)> {
    let bad = |msg: &str| CoreError::invalid("database_url", msg);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    let Some((path, query)) = sqlite_parts(url) else {
        return Err(bad("use sqlite://PATH or postgres://USER@HOST/DATABASE"));
    };
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return Err(bad(
            "an in-memory SQLite database is not supported: give a file path",
        ));
    }
    ensure_file(Path::new(path))?;
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    if !params.iter().any(|p| p.starts_with("mode=")) {
        params.push("mode=rwc");
    }
    Ok((
        Backend::Sqlite,
        format!("sqlite://{path}?{}", params.join("&")),
    ))
}

/// Creates the SQLite file if missing, readable by its owner only (on unix).
fn ensure_file(path: &Path) -> CoreResult<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(CoreError::Unavailable(format!(
            "cannot create the SQLite database file {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let (b, url) = normalize_url(&format!("sqlite://{}", path.display())).unwrap();
        assert_eq!(b, Backend::Sqlite);
        assert_eq!(url, format!("sqlite://{}?mode=rwc", path.display()));
        assert!(path.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (b, _) = normalize_url("postgresql://u@h/db").unwrap();
        assert_eq!(b, Backend::Postgres);
        assert!(normalize_url("mysql://x").is_err());
        assert!(normalize_url("sqlite::memory:").is_err());
    }
}
