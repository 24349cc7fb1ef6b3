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

/// Opens the store (running migrations) and the keyring, creating a keyring only when the
/// database holds no workspace yet. Returns the service and whether the workspace is new.
pub async fn open(cfg: &HostConfig, create: bool) -> Result<Castellan> {
    ensure_data_dir(cfg)?;
    let store = SqlStore::connect(&cfg.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {}", describe(&e)))?;
    let has_workspace = castellan_core::ports::WorkspaceStore::workspace(&store)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the database: {}", describe(&e)))?
        .is_some();
    if !cfg.master_key_file.exists() {
        if has_workspace {
            bail!(
                "the master key file {} is missing, but the database already holds a workspace: \
                 its data keys cannot be unwrapped without it. Restore the key file (or point \
                 CASTELLAN_MASTER_KEY_FILE at it); Castellan will not make a new one",
                cfg.master_key_file.display()
            );
        }
        if !create {
            bail!("no workspace yet: run `castellan init` or `castellan serve` first");
        }
        let (_, created) = Keyring::load_or_create(&cfg.master_key_file).with_context(|| {
            format!(
                "cannot create the master key file {}",
                cfg.master_key_file.display()
            )
        })?;
        if created {
            eprintln!("wrote the workspace master key file {} (mode 0600): back it up; without it the vaults cannot be read", cfg.master_key_file.display());
        }
    }
    let keys = FileKeys::load(&cfg.master_key_file)?;
    let svc =
        Castellan::new(Arc::new(store), Arc::new(keys)).map_err(|e| anyhow::anyhow!("{e}"))?;
    if has_workspace {
        svc.check_keys().await.map_err(|e| {
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
        .init(name)
        .await
        .map_err(|e| anyhow::anyhow!(describe(&e)))?
    {
        Some(token) => print_setup_token(token.expose_secret()),
        None if new_setup_token => {
            let t = svc
                .new_setup_token()
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            print_setup_token(t.expose_secret());
        }
        None => {
            let st = svc
                .setup_status()
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            if st.claimed {
                eprintln!("the workspace is initialized and claimed");
            } else {
                eprintln!("the workspace is initialized but not claimed; the setup token was printed at first start (run `castellan init --new-setup-token` for a new one)");
            }
        }
    }
    Ok(())
}

fn print_setup_token(token: &str) {
    println!(
        "Castellan workspace created. Claim it as the Owner with this setup token (shown once):"
    );
    println!();
    println!("    {token}");
    println!();
    println!("  castellan claim --setup-token {token} --email you@example.com --name 'Your Name'");
}
