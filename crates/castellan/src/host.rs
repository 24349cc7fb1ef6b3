//! Host-local commands: `serve`, `init`, `keys`, and offline `activity verify`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use castellan_core::{Castellan, CoreError, CoreResult, KeyProvider};
use castellan_crypto::Keyring;
use castellan_store::SqlStore;
use secrecy::ExposeSecret;

use crate::config::HostConfig;

/// The master keyring, re-read from its file whenever the file changes (so `keys rotate` takes
/// effect in a running server).
#[derive(Debug)]
pub struct FileKeys {
    path: PathBuf,
    cached: RwLock<(Option<SystemTime>, Arc<Keyring>)>,
}

impl FileKeys {
    /// Loads the key file. Errors name the path.
    pub fn load(path: &Path) -> Result<Self> {
        let ring = Keyring::load(path)
            .with_context(|| format!("cannot load the master key file {}", path.display()))?;
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Ok(Self {
            path: path.to_owned(),
            cached: RwLock::new((mtime, Arc::new(ring))),
        })
    }
}

impl KeyProvider for FileKeys {
    fn keyring(&self) -> CoreResult<Arc<Keyring>> {
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        {
            let c = self.cached.read().map_err(CoreError::internal)?;
            if c.0 == mtime {
                return Ok(c.1.clone());
            }
        }
        self.reload()
    }

    fn reload(&self) -> CoreResult<Arc<Keyring>> {
        let ring = Arc::new(Keyring::load(&self.path)?);
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        *self.cached.write().map_err(CoreError::internal)? = (mtime, ring.clone());
        Ok(ring)
    }
}

/// Creates the data directory (mode 0700) when the database is SQLite inside it.
fn ensure_data_dir(cfg: &HostConfig) -> Result<()> {
    if !cfg.data_dir.exists() {
        std::fs::create_dir_all(&cfg.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                cfg.data_dir.display()
            )
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&cfg.data_dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// When [`open`] may create a keyring (and so a new workspace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    /// Never: the workspace must exist.
    Never,
    /// `serve`: only on a first start, when neither the key file nor a workspace exists.
    FirstStart,
    /// `init`: whenever the database holds no workspace (an existing key file is kept).
    Explicit,
}

/// Opens the store (running migrations) and the keyring, creating a keyring only when `create`
/// and the database holds no workspace yet (`castellan init`).
pub async fn open(cfg: &HostConfig, create: bool) -> Result<Castellan> {
    open_as(
        cfg,
        if create {
            Create::Explicit
        } else {
            Create::Never
        },
    )
    .await
}

/// [`open`] for `serve`: creates the workspace on a first start (empty data directory), but
/// refuses when the master key file exists while the database is missing or holds no workspace
/// (a lost or misplaced database must not silently become a new, empty workspace).
pub async fn open_for_serve(cfg: &HostConfig) -> Result<Castellan> {
    open_as(cfg, Create::FirstStart).await
}

/// The refusal of a first start beside an existing key file, naming both.
fn orphan_key_file(cfg: &HostConfig, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the master key file {} exists, but the database {} {what}. Restore the database (or \
         point --data-dir / --database-url at it); Castellan will not start a new workspace \
         beside an existing key file. To create a new workspace on purpose, run `castellan init` \
         with the same settings (it keeps this key file)",
        cfg.master_key_file.display(),
        describe_database(cfg.database_url.expose())
    )
}

/// The database for messages: the SQLite file's path, or the PostgreSQL URL without password.
pub fn describe_database(url: &str) -> String {
    if let Some(p) = castellan_store::sqlite_path(url) {
        return p.display().to_string();
    }
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "(unparsable database URL)".into(),
    }
}

async fn open_as(cfg: &HostConfig, create: Create) -> Result<Castellan> {
    ensure_data_dir(cfg)?;
    let key_exists = cfg.master_key_file.exists();
    if create == Create::FirstStart && key_exists {
        if let Some(db) = castellan_store::sqlite_path(cfg.database_url.expose()) {
            if !db.exists() {
                return Err(orphan_key_file(cfg, "is missing"));
            }
        }
    }
    let store = SqlStore::connect(cfg.database_url.expose())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {}", describe(&e)))?;
    let has_workspace = castellan_core::ports::WorkspaceStore::workspace(&store)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the database: {}", describe(&e)))?
        .is_some();
    if create == Create::FirstStart && key_exists && !has_workspace {
        return Err(orphan_key_file(cfg, "holds no workspace"));
    }
    if !key_exists {
        if has_workspace {
            bail!(
                "the master key file {} is missing, but the database already holds a workspace: \
                 its data keys cannot be unwrapped without it. Restore the key file (or point \
                 CASTELLAN_MASTER_KEY_FILE at it); Castellan will not make a new one",
                cfg.master_key_file.display()
            );
        }
        if create == Create::Never {
            bail!("no workspace yet: run `castellan init` or `castellan serve` first");
        }
        let (_, created) = Keyring::load_or_create(&cfg.master_key_file).with_context(|| {
            format!(
                "cannot create the master key file {}",
                cfg.master_key_file.display()
            )
        })?;
        if created {
            crate::logging::notice(&format!("wrote the workspace master key file {} (mode 0600): back it up; without it the vaults cannot be read", cfg.master_key_file.display()));
        }
    }
    let keys = FileKeys::load(&cfg.master_key_file)?;
    // The connectors ([`registry`]): connecting a hub checks its app's connector exists and
    // takes its settings schema; the bot's workers use the same registry.
    let svc = Castellan::new(Arc::new(store), Arc::new(keys))
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_connectors(registry());
    if has_workspace {
        svc.keys().check().await.map_err(|e| {
            anyhow::anyhow!(
                "the master key file {} does not open this database's vault keys ({}); is it the right file?",
                cfg.master_key_file.display(),
                describe(&e)
            )
        })?;
    }
    Ok(svc)
}

/// A one-line description of a core error for the terminal (internal detail included: this
/// is the operator's own console, not a client).
pub fn describe(e: &CoreError) -> String {
    match e {
        CoreError::Internal(d) | CoreError::Unavailable(d) => d.clone(),
        other => other.to_string(),
    }
}

/// Initializes the workspace if needed and prints the setup token once.
pub async fn init(svc: &Castellan, name: &str, new_setup_token: bool) -> Result<()> {
    match svc
        .sessions()
        .init(name)
        .await
        .map_err(|e| anyhow::anyhow!(describe(&e)))?
    {
        Some(token) => print_setup_token(token.expose_secret()),
        None if new_setup_token => {
            let t = svc
                .sessions()
                .new_setup_token()
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            print_setup_token(t.expose_secret());
        }
        None => {
            let st = svc
                .sessions()
                .setup_status()
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            if st.claimed {
                crate::logging::notice("the workspace is initialized and claimed");
            } else {
                crate::logging::notice("the workspace is initialized but not claimed; the setup token was printed at first start (run `castellan init --new-setup-token` for a new one)");
            }
        }
    }
    Ok(())
}

fn print_setup_token(token: &str) {
    let indented = format!("    {token}");
    let example = format!(
        "  castellan claim --setup-token {token} --email you@example.com --name 'Your Name'"
    );
    crate::logging::stdout_lines(&[
        "Castellan workspace created. Claim it as the Owner with this setup token (shown once):",
        "",
        &indented,
        "",
        &example,
    ]);
}

/// An exclusive advisory lock (`flock`) on `<SQLite database>.lock`, holding this process's pid,
/// so that one `serve` at a time runs on a SQLite database. Released when dropped or when the
/// process ends, however it ends.
#[derive(Debug)]
pub struct ServeLock {
    _file: std::fs::File,
}

/// Takes the [`ServeLock`] of the configured SQLite database; `None` on PostgreSQL (several
/// instances are supported there). Errors: another process holds it (the message names its pid,
/// the database and the lock file), or the lock file cannot be opened.
pub fn lock_sqlite(cfg: &HostConfig) -> Result<Option<ServeLock>> {
    use std::io::Write;
    let Some(db) = castellan_store::sqlite_path(cfg.database_url.expose()) else {
        return Ok(None);
    };
    ensure_data_dir(cfg)?;
    let mut name = db.clone().into_os_string();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&lock_path)
        .with_context(|| format!("cannot open the lock file {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            let pid = holder.trim();
            let pid = if pid.is_empty() { "unknown" } else { pid };
            bail!(
                "another castellan serve (pid {pid}) is already running on the SQLite database {} \
                 (lock file {}); stop it first, or give this one another --data-dir",
                db.display(),
                lock_path.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
        }
    }
    file.set_len(0)?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()?;
    Ok(Some(ServeLock { _file: file }))
}

/// The connectors of this process, made once: the built-in API connectors and the browser
/// connectors on one headless Chromium engine ([`castellan_browser::ChromiumEngine`], Debian's
/// `chromium` and `chromium-driver`); without Chromium the browser connectors answer that the
/// browser bot is off ([`browser_status`] says why).
pub fn registry() -> Arc<castellan_connectors::Registry> {
    static REGISTRY: std::sync::OnceLock<Arc<castellan_connectors::Registry>> =
        std::sync::OnceLock::new();
    let make = || {
        let cfg = castellan_browser::ChromiumConfig::default();
        let bot = cfg.missing().is_none().then(|| {
            let engine = castellan_browser::ChromiumEngine::new(cfg);
            castellan_connectors::sdk::browser::BrowserBot::new(Arc::new(engine))
        });
        Arc::new(castellan_connectors::Registry::default().with_browser(bot))
    };
    REGISTRY.get_or_init(make).clone()
}

/// A sentence on the browser bot for the server's start: the browsers it may run, or what is
/// missing for it.
pub fn browser_status() -> String {
    let cfg = castellan_browser::ChromiumConfig::default();
    match cfg.missing() {
        None => format!(
            "browser bot: headless {} (up to {} browsers at once)",
            cfg.chromium.display(),
            cfg.max_browsers
        ),
        Some(why) => format!("browser bot off: {why}; browser connectors (wordpress_browser, redmine_browser, mediawiki_browser) will fail until it is installed"),
    }
}
