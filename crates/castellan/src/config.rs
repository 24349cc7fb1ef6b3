//! Layered configuration for host-local commands (`serve`, `init`, `keys`): defaults, then the
//! TOML file (`--config` / `CASTELLAN_CONFIG`), then `CASTELLAN_*` environment variables and
//! flags (a flag beats its variable). Secrets may come from `*_FILE` variables.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Deserialize;

/// Default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8460";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./castellan-data";

/// The config file's keys (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    database_url: Option<String>,
    master_key_file: Option<PathBuf>,
    workspace_name: Option<String>,
    log_format: Option<String>,
    server: Option<String>,
    // The shared inbox (`serve`); read by `inbox_glue`.
    pub(crate) smtp_listen: Option<String>,
    pub(crate) smtp_tls_cert: Option<PathBuf>,
    pub(crate) smtp_tls_key: Option<PathBuf>,
    pub(crate) mail_domains: Option<Vec<String>>,
    pub(crate) max_message_bytes: Option<usize>,
    pub(crate) inbox_retention_days: Option<u32>,
    pub(crate) sms_auth_token: Option<String>,
    pub(crate) public_url: Option<String>,
    // Limits of `serve`; read by `ops`.
    pub(crate) max_password_hashes: Option<usize>,
    pub(crate) password_hash_wait_ms: Option<u64>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) header_read_timeout_secs: Option<u64>,
    pub(crate) idle_timeout_secs: Option<u64>,
    pub(crate) request_timeout_secs: Option<u64>,
    pub(crate) shutdown_drain_secs: Option<u64>,
    pub(crate) smtp_max_sessions: Option<usize>,
    pub(crate) smtp_command_timeout_secs: Option<u64>,
    pub(crate) smtp_session_timeout_secs: Option<u64>,
}

/// Flags shared by host-local commands.
#[derive(Debug, Clone, Args)]
pub struct HostArgs {
    /// Data directory (SQLite database, master key file).
    #[arg(long, env = "CASTELLAN_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB` (default: SQLite in the data dir).
    #[arg(
        long,
        env = "CASTELLAN_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Workspace master key file (created with mode 0600 if missing on a new workspace).
    #[arg(long, env = "CASTELLAN_MASTER_KEY_FILE", value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
    /// TOML config file.
    #[arg(long, env = "CASTELLAN_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Resolved settings for host-local commands.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL (secret: may carry a password; never logged).
    pub database_url: String,
    /// Master key file.
    pub master_key_file: PathBuf,
    /// Listen address.
    pub listen: String,
    /// Workspace name for a new workspace.
    pub workspace_name: String,
    /// `text` or `json`.
    pub log_format: String,
}

pub(crate) fn read_file_config(path: Option<&Path>) -> Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

/// Reads a secret from `NAME_FILE` if set (trailing newline trimmed).
pub(crate) fn secret_from_file_var(name: &str) -> Result<Option<String>> {
    match std::env::var_os(format!("{name}_FILE")) {
        None => Ok(None),
        Some(p) => {
            let s = std::fs::read_to_string(&p).with_context(|| {
                format!("cannot read {name}_FILE {}", PathBuf::from(&p).display())
            })?;
            Ok(Some(s.trim_end_matches(['\n', '\r']).to_owned()))
        }
    }
}

impl HostArgs {
    /// Resolves flags, environment, config file and defaults.
    pub fn resolve(
        &self,
        listen: Option<&str>,
        workspace_name: Option<&str>,
        log_format: Option<&str>,
    ) -> Result<HostConfig> {
        let file = read_file_config(self.config.as_deref())?;
        let data_dir = self
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = match self.database_url.clone() {
            Some(u) => u,
            None => match secret_from_file_var("CASTELLAN_DATABASE_URL")? {
                Some(u) => u,
                None => file.database_url.unwrap_or_else(|| {
                    format!("sqlite://{}", data_dir.join("castellan.db").display())
                }),
            },
        };
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            bail!("the database URL must start with sqlite:// or postgres://");
        }
        let master_key_file = self
            .master_key_file
            .clone()
            .or(file.master_key_file)
            .unwrap_or_else(|| data_dir.join("master.key"));
        let listen = listen
            .map(str::to_owned)
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let workspace_name = workspace_name
            .map(str::to_owned)
            .or(file.workspace_name)
            .unwrap_or_else(|| "Castellan".into());
        let log_format = log_format
            .map(str::to_owned)
            .or(file.log_format)
            .unwrap_or_else(|| "text".into());
        if !matches!(log_format.as_str(), "text" | "json") {
            bail!("log format must be `text` or `json`");
        }
        let _ = file.server;
        Ok(HostConfig {
            data_dir,
            database_url,
            master_key_file,
            listen,
            workspace_name,
            log_format,
        })
    }
}

/// The server URL for client commands: `--server`, `CASTELLAN_SERVER`, config `server`, default.
pub fn client_server(flag: Option<&str>, config: Option<&Path>) -> Result<String> {
    if let Some(s) = flag {
        return Ok(s.trim_end_matches('/').to_owned());
    }
    let file = read_file_config(config)?;
    Ok(file
        .server
        .unwrap_or_else(|| format!("http://{DEFAULT_LISTEN}"))
        .trim_end_matches('/')
        .to_owned())
}
