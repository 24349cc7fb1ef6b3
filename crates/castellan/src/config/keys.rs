//! The settings' names: file key, environment variable and flag of each, in one table that the
//! file check, `--help` and the README test all read.

use clap::Command;

/// One setting's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The config file's key, e.g. `job_lease_secs`.
    pub name: &'static str,
    /// The environment variable, e.g. `CASTELLAN_JOB_LEASE_SECS`.
    pub var: &'static str,
    /// The flag without its dashes, e.g. `job-lease-secs`.
    pub flag: &'static str,
    /// A secret: also read from the file `<var>_FILE` names, and never quoted in errors.
    pub secret: bool,
}

const fn key(name: &'static str, var: &'static str, flag: &'static str) -> Key {
    Key {
        name,
        var,
        flag,
        secret: false,
    }
}

const fn secret(name: &'static str, var: &'static str, flag: &'static str) -> Key {
    Key {
        secret: true,
        ..key(name, var, flag)
    }
}

/// The config file itself (flag and variable only: a file does not name another).
pub const CONFIG: Key = key("config", "CASTELLAN_CONFIG", "config");

// The settings, in the README's order. Each one's type, unit, range and default are in the
// README's table and in its flag's `--help`; where it is read, in the module that resolves it.

pub const DATA_DIR: Key = key("data_dir", "CASTELLAN_DATA_DIR", "data-dir");
pub const DATABASE_URL: Key = secret("database_url", "CASTELLAN_DATABASE_URL", "database-url");
pub const MASTER_KEY_FILE: Key = key(
    "master_key_file",
    "CASTELLAN_MASTER_KEY_FILE",
    "master-key-file",
);
pub const LISTEN: Key = key("listen", "CASTELLAN_LISTEN", "listen");
pub const WORKSPACE_NAME: Key = key(
    "workspace_name",
    "CASTELLAN_WORKSPACE_NAME",
    "workspace-name",
);
pub const LOG_FORMAT: Key = key("log_format", "CASTELLAN_LOG_FORMAT", "log-format");
pub const SERVER: Key = key("server", "CASTELLAN_SERVER", "server");

pub const WORKERS: Key = key("workers", "CASTELLAN_WORKERS", "workers");
pub const JOB_LEASE_SECS: Key = key(
    "job_lease_secs",
    "CASTELLAN_JOB_LEASE_SECS",
    "job-lease-secs",
);
pub const SCHEDULE_POLL_SECS: Key = key(
    "schedule_poll_secs",
    "CASTELLAN_SCHEDULE_POLL_SECS",
    "schedule-poll-secs",
);
pub const RETRY_BASE_SECS: Key = key(
    "retry_base_secs",
    "CASTELLAN_RETRY_BASE_SECS",
    "retry-base-secs",
);

pub const SMTP_LISTEN: Key = key("smtp_listen", "CASTELLAN_SMTP_LISTEN", "smtp-listen");
pub const SMTP_TLS_CERT: Key = key("smtp_tls_cert", "CASTELLAN_SMTP_TLS_CERT", "smtp-tls-cert");
pub const SMTP_TLS_KEY: Key = key("smtp_tls_key", "CASTELLAN_SMTP_TLS_KEY", "smtp-tls-key");
/// The one flag that is not the key's spelling: `--mail-domain`, repeated.
pub const MAIL_DOMAINS: Key = key("mail_domains", "CASTELLAN_MAIL_DOMAINS", "mail-domain");
pub const MAX_MESSAGE_BYTES: Key = key(
    "max_message_bytes",
    "CASTELLAN_MAX_MESSAGE_BYTES",
    "max-message-bytes",
);
pub const INBOX_RETENTION_DAYS: Key = key(
    "inbox_retention_days",
    "CASTELLAN_INBOX_RETENTION_DAYS",
    "inbox-retention-days",
);
pub const SMS_AUTH_TOKEN: Key = secret(
    "sms_auth_token",
    "CASTELLAN_SMS_AUTH_TOKEN",
    "sms-auth-token",
);
pub const PUBLIC_URL: Key = key("public_url", "CASTELLAN_PUBLIC_URL", "public-url");

pub const MAX_PASSWORD_HASHES: Key = key(
    "max_password_hashes",
    "CASTELLAN_MAX_PASSWORD_HASHES",
    "max-password-hashes",
);
pub const PASSWORD_HASH_WAIT_MS: Key = key(
    "password_hash_wait_ms",
    "CASTELLAN_PASSWORD_HASH_WAIT_MS",
    "password-hash-wait-ms",
);
pub const MAX_CONNECTIONS: Key = key(
    "max_connections",
    "CASTELLAN_MAX_CONNECTIONS",
    "max-connections",
);
pub const HEADER_READ_TIMEOUT_SECS: Key = key(
    "header_read_timeout_secs",
    "CASTELLAN_HEADER_READ_TIMEOUT_SECS",
    "header-read-timeout-secs",
);
pub const IDLE_TIMEOUT_SECS: Key = key(
    "idle_timeout_secs",
    "CASTELLAN_IDLE_TIMEOUT_SECS",
    "idle-timeout-secs",
);
pub const REQUEST_TIMEOUT_SECS: Key = key(
    "request_timeout_secs",
    "CASTELLAN_REQUEST_TIMEOUT_SECS",
    "request-timeout-secs",
);
pub const SHUTDOWN_DRAIN_SECS: Key = key(
    "shutdown_drain_secs",
    "CASTELLAN_SHUTDOWN_DRAIN_SECS",
    "shutdown-drain-secs",
);
pub const SMTP_MAX_SESSIONS: Key = key(
    "smtp_max_sessions",
    "CASTELLAN_SMTP_MAX_SESSIONS",
    "smtp-max-sessions",
);
pub const SMTP_COMMAND_TIMEOUT_SECS: Key = key(
    "smtp_command_timeout_secs",
    "CASTELLAN_SMTP_COMMAND_TIMEOUT_SECS",
    "smtp-command-timeout-secs",
);
pub const SMTP_SESSION_TIMEOUT_SECS: Key = key(
    "smtp_session_timeout_secs",
    "CASTELLAN_SMTP_SESSION_TIMEOUT_SECS",
    "smtp-session-timeout-secs",
);

/// Every key the config file takes.
pub const KEYS: &[Key] = &[
    DATA_DIR,
    DATABASE_URL,
    MASTER_KEY_FILE,
    LISTEN,
    WORKSPACE_NAME,
    LOG_FORMAT,
    SERVER,
    WORKERS,
    JOB_LEASE_SECS,
    SCHEDULE_POLL_SECS,
    RETRY_BASE_SECS,
    SMTP_LISTEN,
    SMTP_TLS_CERT,
    SMTP_TLS_KEY,
    MAIL_DOMAINS,
    MAX_MESSAGE_BYTES,
    INBOX_RETENTION_DAYS,
    SMS_AUTH_TOKEN,
    PUBLIC_URL,
    MAX_PASSWORD_HASHES,
    PASSWORD_HASH_WAIT_MS,
    MAX_CONNECTIONS,
    HEADER_READ_TIMEOUT_SECS,
    IDLE_TIMEOUT_SECS,
    REQUEST_TIMEOUT_SECS,
    SHUTDOWN_DRAIN_SECS,
    SMTP_MAX_SESSIONS,
    SMTP_COMMAND_TIMEOUT_SECS,
    SMTP_SESSION_TIMEOUT_SECS,
];

/// The file key `name`, if it is one.
pub fn by_name(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The key whose flag is `--flag`, `--config` included.
fn by_flag(flag: &str) -> Option<&'static Key> {
    KEYS.iter()
        .chain(std::iter::once(&CONFIG))
        .find(|k| k.flag == flag)
}

/// The precedence, for the `--help` of the host-local commands.
pub const AFTER_HELP: &str = "Each setting is taken from its flag, else its CASTELLAN_* \
variable, else its key in the --config file, else its default. A secret (database URL, SMS \
auth token) may also come from the file that <VARIABLE>_FILE names. A key the file does not \
know is refused. Log levels: CASTELLAN_LOG (default info).";

/// `cmd` and its subcommands, with `[env: VAR] [config: key]` after the help of every flag
/// that is a setting (and `[env: VAR or VAR_FILE]` for a secret). Flags that clap itself reads
/// from the environment (`--server`) are left alone.
pub fn annotate_help(mut cmd: Command) -> Command {
    let found: Vec<(clap::Id, &Key)> = cmd
        .get_arguments()
        .filter(|a| a.get_env().is_none())
        .filter_map(|a| Some((a.get_id().clone(), by_flag(a.get_long()?)?)))
        .collect();
    for (id, key) in found {
        let env = if key.secret {
            format!("{0} or {0}_FILE", key.var)
        } else {
            key.var.to_owned()
        };
        let tail = if key.name == CONFIG.name {
            format!(" [env: {env}]")
        } else {
            format!(" [env: {env}] [config: {}]", key.name)
        };
        cmd = cmd.mut_arg(id, |a| {
            let help = a.get_help().map(ToString::to_string).unwrap_or_default();
            let long = a.get_long_help().map(ToString::to_string);
            let a = a.help(format!("{help}{tail}"));
            match long {
                Some(l) => a.long_help(format!("{l}{tail}")),
                None => a,
            }
        });
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, annotate_help);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_follows_the_rule() {
        for k in KEYS.iter().chain([&CONFIG]) {
            assert_eq!(k.var, format!("CASTELLAN_{}", k.name.to_uppercase()));
            if *k != MAIL_DOMAINS {
                assert_eq!(k.flag, k.name.replace('_', "-"));
            }
        }
    }

    #[test]
    fn the_readme_documents_every_setting() {
        let readme = include_str!("../../../../README.md");
        let section = readme
            .split("## Configuration reference")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("the README has a configuration reference");
        for k in KEYS {
            for name in [
                format!("`{}`", k.name),
                format!("`{}`", k.var),
                format!("`--{}", k.flag),
            ] {
                assert!(section.contains(&name), "README lacks {name}");
            }
            if k.secret {
                assert!(section.contains(&format!("`{}_FILE`", k.var)), "{}", k.var);
            }
        }
    }

    #[test]
    fn help_names_each_flags_variable_and_key() {
        let cmd = annotate_help(crate::cli::command_without_annotations());
        let mut serve = cmd.find_subcommand("serve").unwrap().clone();
        let help = serve.render_long_help().to_string();
        for k in KEYS.iter().filter(|k| **k != SERVER) {
            assert!(help.contains(&format!("[env: {}", k.var)), "{}", k.var);
            assert!(
                help.contains(&format!("[config: {}]", k.name)),
                "{}",
                k.name
            );
        }
        assert!(help.contains("CASTELLAN_DATABASE_URL_FILE"));
        assert!(help.contains("else its key in the --config file"));
    }
}
