//! The arguments of `serve`, `worker` and `init`, and what each resolves to.

use std::net::SocketAddr;

use anyhow::Result;
use clap::Args;

use super::host::DEFAULT_LISTEN;
use super::keys::{LISTEN, LOG_FORMAT, WORKSPACE_NAME};
use super::{
    BotArgs, BotSettings, Env, HostArgs, HostConfig, InboxArgs, InboxSettings, Layers, LimitArgs,
    Limits, LogFormat,
};

/// The name of a new workspace when none is given.
const DEFAULT_WORKSPACE_NAME: &str = "Castellan";

/// `castellan serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub host: HostArgs,
    /// HTTP listen address, an IP address and port (default 127.0.0.1:8460; port 0 picks a
    /// free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Name of the workspace created on first start; default Castellan.
    #[arg(long, value_name = "NAME")]
    workspace_name: Option<String>,
    /// Log format: `text` or `json`; default text. Levels come from `CASTELLAN_LOG` (default
    /// `info`).
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    #[command(flatten)]
    bot: BotArgs,
    #[command(flatten)]
    inbox: InboxArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Everything `serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Data directory, database, master key file.
    pub host: HostConfig,
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Name of a new workspace.
    pub workspace_name: String,
    /// Log format.
    pub log_format: LogFormat,
    /// The bot.
    pub bot: BotSettings,
    /// The shared inbox.
    pub inbox: InboxSettings,
    /// Limits.
    pub limits: Limits,
}

/// `castellan worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    bot: BotArgs,
    /// Log format: `text` or `json`; default text.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

/// Everything `worker` runs with.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Data directory, database, master key file.
    pub host: HostConfig,
    /// The bot.
    pub bot: BotSettings,
    /// Log format.
    pub log_format: LogFormat,
}

/// `castellan init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    host: HostArgs,
    /// Name of the workspace; default Castellan.
    #[arg(long, value_name = "NAME")]
    workspace_name: Option<String>,
    /// Issue a new setup token for an unclaimed workspace (the old one stops working).
    #[arg(long)]
    pub new_setup_token: bool,
}

/// What `init` runs with.
#[derive(Debug, Clone)]
pub struct InitConfig {
    /// Data directory, database, master key file.
    pub host: HostConfig,
    /// Name of a new workspace.
    pub workspace_name: String,
}

fn log_format(layers: &Layers, flag: Option<LogFormat>) -> Result<LogFormat> {
    Ok(layers.get_or(&LOG_FORMAT, flag, LogFormat::Text)?.value)
}

fn workspace_name(layers: &Layers, flag: Option<&String>) -> Result<String> {
    Ok(layers
        .get_or(
            &WORKSPACE_NAME,
            flag.cloned(),
            DEFAULT_WORKSPACE_NAME.into(),
        )?
        .value)
}

impl ServeArgs {
    /// Resolves every setting of `serve` over the config file and `env`. Errors: the file
    /// cannot be read or has an unknown key, or a value does not parse or is out of its
    /// bounds; each names where the value came from.
    pub fn resolve(&self, env: Env) -> Result<ServeConfig> {
        let layers = self.host.layers(env)?;
        Ok(ServeConfig {
            host: self.host.resolve(&layers)?,
            listen: layers
                .get_or(
                    &LISTEN,
                    self.listen,
                    DEFAULT_LISTEN.parse().expect("a socket address"),
                )?
                .value,
            workspace_name: workspace_name(&layers, self.workspace_name.as_ref())?,
            log_format: log_format(&layers, self.log_format)?,
            bot: self.bot.resolve(&layers)?,
            inbox: self.inbox.resolve(&layers)?,
            limits: self.limits.resolve(&layers)?,
        })
    }
}

impl WorkerArgs {
    /// Resolves every setting of `worker` (errors as [`ServeArgs::resolve`]).
    pub fn resolve(&self, env: Env) -> Result<WorkerConfig> {
        let layers = self.host.layers(env)?;
        Ok(WorkerConfig {
            host: self.host.resolve(&layers)?,
            bot: self.bot.resolve(&layers)?,
            log_format: log_format(&layers, self.log_format)?,
        })
    }
}

impl InitArgs {
    /// Resolves every setting of `init` (errors as [`ServeArgs::resolve`]).
    pub fn resolve(&self, env: Env) -> Result<InitConfig> {
        let layers = self.host.layers(env)?;
        Ok(InitConfig {
            host: self.host.resolve(&layers)?,
            workspace_name: workspace_name(&layers, self.workspace_name.as_ref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn serve(args: &[&str], file: Option<&str>, env: &[(&str, &str)]) -> Result<ServeConfig> {
        let dir = tempfile::tempdir().unwrap();
        let mut argv = vec!["serve".to_owned()];
        if let Some(text) = file {
            let path = dir.path().join("castellan.toml");
            std::fs::write(&path, text).unwrap();
            argv.extend(["--config".to_owned(), path.display().to_string()]);
        }
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        let cli = Cli::try_parse_from(argv)?;
        cli.serve.resolve(Env::map(env.iter().copied()))
    }

    #[test]
    fn the_file_then_the_environment_then_flags() {
        let file =
            "listen = \"127.0.0.1:1000\"\nworkspace_name = \"File\"\nlog_format = \"json\"\n\
                    workers = 2\nsmtp_listen = \"off\"\nidle_timeout_secs = 5";
        let env = [
            ("CASTELLAN_WORKSPACE_NAME", "Env"),
            ("CASTELLAN_WORKERS", "3"),
            ("CASTELLAN_IDLE_TIMEOUT_SECS", "6"),
        ];
        let from_file = serve(&[], Some(file), &[]).unwrap();
        assert_eq!(from_file.listen, "127.0.0.1:1000".parse().unwrap());
        assert_eq!(from_file.workspace_name, "File");
        assert_eq!(from_file.log_format, LogFormat::Json);
        assert_eq!(from_file.bot.workers, 2);
        assert_eq!(from_file.inbox.smtp_listen, None);
        assert_eq!(from_file.limits.http.idle_timeout.as_secs(), 5);
        let from_env = serve(&[], Some(file), &env).unwrap();
        assert_eq!(from_env.workspace_name, "Env");
        assert_eq!(from_env.bot.workers, 3);
        assert_eq!(from_env.limits.http.idle_timeout.as_secs(), 6);
        assert_eq!(from_env.listen, "127.0.0.1:1000".parse().unwrap());
        let flags = [
            "--workspace-name",
            "Flag",
            "--workers",
            "4",
            "--idle-timeout-secs",
            "7",
            "--log-format",
            "text",
        ];
        let from_flags = serve(&flags, Some(file), &env).unwrap();
        assert_eq!(from_flags.workspace_name, "Flag");
        assert_eq!(from_flags.bot.workers, 4);
        assert_eq!(from_flags.limits.http.idle_timeout.as_secs(), 7);
        assert_eq!(from_flags.log_format, LogFormat::Text);
        let defaults = serve(&[], None, &[]).unwrap();
        assert_eq!(defaults.listen, DEFAULT_LISTEN.parse().unwrap());
        assert_eq!(defaults.workspace_name, DEFAULT_WORKSPACE_NAME);
    }

    #[test]
    fn config_names_the_file_in_the_environment_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "workers = 5").unwrap();
        let path = path.display().to_string();
        let cfg = serve(&[], None, &[("CASTELLAN_CONFIG", &path)]).unwrap();
        assert_eq!(cfg.bot.workers, 5);
        let e = serve(&[], None, &[("CASTELLAN_CONFIG", "/nonexistent/c.toml")]).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/c.toml"), "{e}");
    }

    #[test]
    fn bad_flags_and_values_are_refused() {
        assert!(serve(&["--listen", "localhost"], None, &[]).is_err());
        assert!(serve(&["--log-format", "xml"], None, &[]).is_err());
        let e = serve(&[], None, &[("CASTELLAN_LOG_FORMAT", "xml")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("CASTELLAN_LOG_FORMAT: `xml` is not valid"),
            "{e}"
        );
        let e = serve(&[], Some("listen = 8460"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`listen` in "), "{e}");
        let e = serve(&[], Some("worker = 1"), &[]).unwrap_err().to_string();
        assert!(e.contains("unknown key `worker`"), "{e}");
    }

    #[test]
    fn debug_of_the_whole_config_shows_no_secret() {
        let env = [
            (
                "CASTELLAN_DATABASE_URL",
                "postgres://castellan:hunter2@db:5432/c",
            ),
            ("CASTELLAN_SMS_AUTH_TOKEN", "s3cr3t-sms-token"),
        ];
        let cfg = serve(&[], None, &env).unwrap();
        assert_eq!(cfg.host.database_url.expose(), env[0].1);
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("database_url: [redacted]"), "{shown}");
        let flags = Cli::try_parse_from([
            "serve",
            "--database-url",
            "postgres://castellan:hunter2@db/c",
            "--sms-auth-token",
            "s3cr3t-sms-token",
        ])
        .unwrap();
        let shown = format!("{flags:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
