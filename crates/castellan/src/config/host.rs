//! The settings every host-local command shares: the data directory, the database, the master
//! key file; and the log format and client `server`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Result};
use clap::Args;

use super::keys::{DATABASE_URL, DATA_DIR, MASTER_KEY_FILE, SERVER};
use super::{Env, Layers, Secret};

/// Default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8460";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./castellan-data";

/// Flags shared by host-local commands.
#[derive(Debug, Clone, Default, Args)]
pub struct HostArgs {
    /// Data directory (SQLite database, master key file); default ./castellan-data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB` (default:
    /// SQLite in the data directory).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<Secret>,
    /// Workspace master key file (created with mode 0600 if missing on a new workspace);
    /// default <data-dir>/master.key.
    #[arg(long, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
    /// TOML config file: one flat table of the keys shown as `[config: KEY]`.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Where the workspace lives, resolved.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL, `sqlite:…`, `postgres://…` or `postgresql://…` (secret: it may hold a
    /// password).
    pub database_url: Secret,
    /// Master key file.
    pub master_key_file: PathBuf,
}

impl HostArgs {
    /// The config file these flags (or `CASTELLAN_CONFIG` in `env`) name, and `env`. Errors as
    /// [`Layers::load`].
    pub fn layers(&self, env: Env) -> Result<Layers> {
        Layers::load(self.config.as_deref(), env)
    }

    /// Resolves the host settings from the flags and `layers`. Errors: a value from any layer
    /// does not parse, or the database URL is neither SQLite nor PostgreSQL.
    pub fn resolve(&self, layers: &Layers) -> Result<HostConfig> {
        let data_dir = layers
            .get_or(&DATA_DIR, self.data_dir.clone(), DEFAULT_DATA_DIR.into())?
            .value;
        let database_url = match layers.get::<Secret>(&DATABASE_URL, self.database_url.clone())? {
            Some(url) => {
                let u = url.value.expose();
                if !(u.starts_with("sqlite:")
                    || u.starts_with("postgres://")
                    || u.starts_with("postgresql://"))
                {
                    bail!(
                        "{} must start with sqlite://, postgres:// or postgresql://",
                        url.origin
                    );
                }
                url.value
            }
            None => Secret::from(format!(
                "sqlite://{}",
                data_dir.join("castellan.db").display()
            )),
        };
        let master_key_file = layers
            .get(&MASTER_KEY_FILE, self.master_key_file.clone())?
            .map_or_else(|| data_dir.join("master.key"), |s| s.value);
        Ok(HostConfig {
            data_dir,
            database_url,
            master_key_file,
        })
    }

    /// [`HostArgs::resolve`] over the process environment and the config file it names.
    pub fn load(&self) -> Result<HostConfig> {
        self.resolve(&self.layers(Env::Process)?)
    }
}

/// The log format of `serve` and `worker`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (colours only on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("the log format is `text` or `json`".into()),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// The server URL for client commands, without a trailing `/`: `flag` (`--server` or
/// `CASTELLAN_SERVER`), else the `server` key of the config file `config` (or of
/// `CASTELLAN_CONFIG`), else `http://127.0.0.1:8460`. Errors: the config file cannot be read or
/// is invalid.
pub fn client_server(flag: Option<&str>, config: Option<&Path>) -> Result<String> {
    let layers = Layers::load(config, Env::Process)?;
    let server = layers.get_or(
        &SERVER,
        flag.map(str::to_owned),
        format!("http://{DEFAULT_LISTEN}"),
    )?;
    Ok(server.value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_layers;

    fn resolve(args: &HostArgs, file: &str, env: &[(&str, &str)]) -> Result<HostConfig> {
        args.resolve(&test_layers(file, env)?)
    }

    #[test]
    fn defaults_follow_the_data_directory() {
        let cfg = resolve(&HostArgs::default(), "data_dir = \"/srv/c\"", &[]).unwrap();
        assert_eq!(cfg.data_dir, Path::new("/srv/c"));
        assert_eq!(cfg.database_url.expose(), "sqlite:///srv/c/castellan.db");
        assert_eq!(cfg.master_key_file, Path::new("/srv/c/master.key"));
    }

    #[test]
    fn the_database_url_is_checked_and_never_quoted() {
        let e = resolve(
            &HostArgs::default(),
            "",
            &[("CASTELLAN_DATABASE_URL", "mysql://u:hunter2@db/c")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("CASTELLAN_DATABASE_URL must start with sqlite://"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn debug_of_the_host_config_hides_the_database_password() {
        let args = HostArgs {
            database_url: Some("postgres://castellan:hunter2@db:5432/c".parse().unwrap()),
            ..HostArgs::default()
        };
        let cfg = resolve(&args, "", &[]).unwrap();
        assert_eq!(
            cfg.database_url.expose(),
            "postgres://castellan:hunter2@db:5432/c"
        );
        for shown in [format!("{cfg:?}"), format!("{args:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }

    #[test]
    fn log_formats_parse() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
