//! What keeps `castellan serve` up under load and faults: its limits (password hashing,
//! connections, timeouts, the bounded shutdown), the open-files limit, and the readiness checks
//! of the host (the master key file, the data directory's disk, the SMTP receiver).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use castellan_server::{CheckFailure, CheckFuture, ReadinessCheck, ServeLimits};
use clap::Args;

use crate::config::read_file_config;

/// File descriptors kept for everything but HTTP and SMTP connections (database, logs, key file).
const RESERVED_FDS: u64 = 128;

/// `castellan serve` flags of its limits. Each also reads its variable and config key.
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Password hashes (Argon2id, 19 MiB each) computed at once; sign-ins beyond wait (see
    /// --password-hash-wait-ms), then get 503 with Retry-After (default: the CPU cores, fewer on
    /// small memory).
    #[arg(long, env = "CASTELLAN_MAX_PASSWORD_HASHES", value_name = "N")]
    max_password_hashes: Option<usize>,
    /// Milliseconds a sign-in waits for a free password-hash slot before 503 (default 2000).
    #[arg(long, env = "CASTELLAN_PASSWORD_HASH_WAIT_MS", value_name = "MS")]
    password_hash_wait_ms: Option<u64>,
    /// Most open HTTP connections (default 1024); one more gets 503 and is closed.
    #[arg(long, env = "CASTELLAN_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,
    /// Seconds a request head may take once its first byte arrived (default 10).
    #[arg(long, env = "CASTELLAN_HEADER_READ_TIMEOUT_SECS", value_name = "S")]
    header_read_timeout_secs: Option<u64>,
    /// Seconds an idle keep-alive connection stays open (default 60).
    #[arg(long, env = "CASTELLAN_IDLE_TIMEOUT_SECS", value_name = "S")]
    idle_timeout_secs: Option<u64>,
    /// Seconds a request may take, long polls aside (default 30); then 503.
    #[arg(long, env = "CASTELLAN_REQUEST_TIMEOUT_SECS", value_name = "S")]
    request_timeout_secs: Option<u64>,
    /// Seconds requests and jobs in progress get to finish on SIGTERM or Ctrl-C (default 10).
    #[arg(long, env = "CASTELLAN_SHUTDOWN_DRAIN_SECS", value_name = "S")]
    shutdown_drain_secs: Option<u64>,
    /// Most SMTP sessions at once (default 100); one more gets 421.
    #[arg(long, env = "CASTELLAN_SMTP_MAX_SESSIONS", value_name = "N")]
    smtp_max_sessions: Option<usize>,
    /// Seconds the SMTP receiver waits for the client's next command or line (default 60).
    #[arg(long, env = "CASTELLAN_SMTP_COMMAND_TIMEOUT_SECS", value_name = "S")]
    smtp_command_timeout_secs: Option<u64>,
    /// Longest SMTP session in seconds (default 600).
    #[arg(long, env = "CASTELLAN_SMTP_SESSION_TIMEOUT_SECS", value_name = "S")]
    smtp_session_timeout_secs: Option<u64>,
}

/// The resolved limits of `serve`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Concurrent password hashes.
    pub max_password_hashes: usize,
    /// How long a password hash waits for a slot.
    pub password_hash_wait: Duration,
    /// The HTTP server's limits.
    pub http: ServeLimits,
    /// Concurrent SMTP sessions.
    pub smtp_max_sessions: usize,
    /// SMTP per-command (per-line) timeout.
    pub smtp_command_timeout: Duration,
    /// SMTP per-session timeout.
    pub smtp_session_timeout: Duration,
}

/// The longest timeout or drain any setting takes, in seconds (a day): larger values are
/// mistakes, and would overflow the clock arithmetic of a deadline.
const MAX_SECS: u64 = 86_400;
/// The longest wait for a password-hash slot, in milliseconds.
const MAX_HASH_WAIT_MS: u64 = 60_000;
/// The most password hashes at once an operator may ask for (19 MiB each: 4.75 GiB).
const MAX_PASSWORD_HASHES: usize = 256;

/// A number of seconds from 1 to a day, named for the error.
fn secs(v: u64, name: &str) -> Result<Duration> {
    if !(1..=MAX_SECS).contains(&v) {
        bail!("{name} must be between 1 and {MAX_SECS} (a day), not {v}");
    }
    Ok(Duration::from_secs(v))
}

impl LimitArgs {
    /// Flags and variables, then the config file `config`, then defaults.
    pub fn resolve(&self, config: Option<&Path>) -> Result<Limits> {
        let file = read_file_config(config)?;
        let d = ServeLimits::default();
        let smtp = castellan_inbox::SmtpConfig::default();
        let pick = |flag: Option<u64>, key: Option<u64>, name: &str, default: Duration| {
            flag.or(key).map_or(Ok(default), |v| secs(v, name))
        };
        let max_password_hashes = self
            .max_password_hashes
            .or(file.max_password_hashes)
            .unwrap_or_else(castellan_crypto::default_hash_concurrency);
        let max_connections = self
            .max_connections
            .or(file.max_connections)
            .unwrap_or(d.max_connections);
        let smtp_max_sessions = self
            .smtp_max_sessions
            .or(file.smtp_max_sessions)
            .unwrap_or(smtp.max_sessions);
        if max_password_hashes == 0 || max_connections == 0 || smtp_max_sessions == 0 {
            bail!("--max-password-hashes, --max-connections and --smtp-max-sessions must be at least 1");
        }
        if max_password_hashes > MAX_PASSWORD_HASHES {
            bail!(
                "--max-password-hashes must be at most {MAX_PASSWORD_HASHES} (each hash holds 19 MiB), not {max_password_hashes}"
            );
        }
        let suggested = castellan_crypto::default_hash_concurrency();
        if max_password_hashes > suggested.saturating_mul(4) {
            tracing::warn!(
                max_password_hashes,
                suggested,
                "--max-password-hashes is far above what this machine's cores and memory suggest: concurrent sign-ins may use {} MiB",
                max_password_hashes * 19
            );
        }
        let http = ServeLimits {
            max_connections,
            header_read_timeout: pick(
                self.header_read_timeout_secs,
                file.header_read_timeout_secs,
                "--header-read-timeout-secs",
                d.header_read_timeout,
            )?,
            idle_timeout: pick(
                self.idle_timeout_secs,
                file.idle_timeout_secs,
                "--idle-timeout-secs",
                d.idle_timeout,
            )?,
            request_timeout: pick(
                self.request_timeout_secs,
                file.request_timeout_secs,
                "--request-timeout-secs",
                d.request_timeout,
            )?,
            shutdown_drain: pick(
                self.shutdown_drain_secs,
                file.shutdown_drain_secs,
                "--shutdown-drain-secs",
                d.shutdown_drain,
            )?,
            ..d
        };
        let password_hash_wait = self
            .password_hash_wait_ms
            .or(file.password_hash_wait_ms)
            .map_or(
                Ok(castellan_crypto::password_hash::DEFAULT_HASH_WAIT),
                |ms| {
                    if ms > MAX_HASH_WAIT_MS {
                        bail!(
                            "--password-hash-wait-ms must be at most {MAX_HASH_WAIT_MS}, not {ms}"
                        );
                    }
                    Ok(Duration::from_millis(ms))
                },
            )?;
        Ok(Limits {
            max_password_hashes,
            password_hash_wait,
            http,
            smtp_max_sessions,
            smtp_command_timeout: pick(
                self.smtp_command_timeout_secs,
                file.smtp_command_timeout_secs,
                "--smtp-command-timeout-secs",
                smtp.idle_timeout,
            )?,
            smtp_session_timeout: pick(
                self.smtp_session_timeout_secs,
                file.smtp_session_timeout_secs,
                "--smtp-session-timeout-secs",
                smtp.session_timeout,
            )?,
        })
    }
}

impl Limits {
    /// Sizes the process-wide password-hash gate; call before anything hashes.
    pub fn apply_hash_limit(&self) -> Result<()> {
        if !castellan_crypto::configure_hash_gate(self.max_password_hashes, self.password_hash_wait)
        {
            bail!("the password hash limit was set too late (a hash already ran)");
        }
        Ok(())
    }

    /// Raises the soft open-files limit toward the hard one so that the connection caps fit,
    /// and lowers the caps (with a warning) where even the hard limit is too small.
    pub fn fit_open_files(&mut self) {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let wanted = (self.http.max_connections + self.smtp_max_sessions) as u64 + RESERVED_FDS;
        let mut lim = getrlimit(Resource::Nofile);
        let current = lim.current.unwrap_or(u64::MAX);
        if current < wanted {
            let target = lim.maximum.map_or(wanted, |max| max.min(wanted));
            lim.current = Some(target);
            if let Err(e) = setrlimit(Resource::Nofile, lim) {
                tracing::warn!(error = %e, "cannot raise the open-files limit");
            }
        }
        let have = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
        if have < wanted {
            let room = have.saturating_sub(RESERVED_FDS).max(2);
            let smtp = (self.smtp_max_sessions as u64).min(room / 4).max(1);
            let http = room.saturating_sub(smtp).max(1);
            tracing::warn!(
                open_files = have,
                max_connections = http,
                smtp_max_sessions = smtp,
                "the open-files limit is too low for the configured connection caps; lowered them"
            );
            self.http.max_connections = usize::try_from(http).unwrap_or(usize::MAX);
            self.smtp_max_sessions = usize::try_from(smtp).unwrap_or(usize::MAX);
        }
    }
}

/// Readiness: the master key file can be read and parsed (re-read each time) and opens this
/// database's vault keys (another workspace's key file would make the next start refuse).
#[derive(Debug)]
pub struct KeyFileCheck(pub PathBuf, pub castellan_core::Castellan);

impl ReadinessCheck for KeyFileCheck {
    fn name(&self) -> &'static str {
        "key_file"
    }

    fn check(&self) -> CheckFuture<'_> {
        let path = self.0.clone();
        Box::pin(async move {
            let ring = tokio::task::spawn_blocking(move || castellan_crypto::Keyring::load(&path))
                .await
                .map_err(|e| failure("cannot read the master key file", e))?
                .map_err(|e| failure("cannot read the master key file", e))?;
            self.1
                .keys()
                .check_keyring(&ring)
                .await
                .map_err(|e| failure("the master key file does not belong to this workspace", e))
        })
    }
}

/// Readiness: a 4 KiB file can be written and synced in the data directory (the SQLite
/// database's), so a full disk shows even while the database's own files still have room.
#[derive(Debug)]
pub struct DiskCheck(pub PathBuf);

impl ReadinessCheck for DiskCheck {
    fn name(&self) -> &'static str {
        "disk"
    }

    fn check(&self) -> CheckFuture<'_> {
        let probe = self.0.join(".castellan-ready-probe");
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                let written = std::fs::File::create(&probe).and_then(|mut f| {
                    f.write_all(&[0u8; 4096])?;
                    f.sync_all()
                });
                let _ = std::fs::remove_file(&probe);
                written
            })
            .await
            .map_err(|e| failure("cannot write in the data directory", e))?
            .map_err(|e| failure("cannot write in the data directory", e))
        })
    }
}

/// Readiness: the SMTP receiver's accept loop is running.
#[derive(Debug, Clone, Default)]
pub struct SmtpCheck(pub Arc<AtomicBool>);

impl ReadinessCheck for SmtpCheck {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn check(&self) -> CheckFuture<'_> {
        let up = self.0.load(Ordering::Acquire);
        Box::pin(async move {
            if up {
                Ok(())
            } else {
                Err(CheckFailure {
                    public: "the SMTP receiver is not running",
                    private: "the SMTP accept loop ended".into(),
                })
            }
        })
    }
}

fn failure(public: &'static str, e: impl std::fmt::Display) -> CheckFailure {
    CheckFailure {
        public,
        private: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded_on_both_sides() {
        assert!(LimitArgs::default().resolve(None).is_ok());
        let huge = LimitArgs {
            shutdown_drain_secs: Some(u64::MAX),
            ..Default::default()
        };
        let e = huge.resolve(None).unwrap_err().to_string();
        assert!(
            e.contains("--shutdown-drain-secs must be between 1 and 86400"),
            "{e}"
        );
        let zero = LimitArgs {
            request_timeout_secs: Some(0),
            ..Default::default()
        };
        assert!(zero.resolve(None).is_err());
        let wait = LimitArgs {
            password_hash_wait_ms: Some(u64::MAX),
            ..Default::default()
        };
        assert!(wait
            .resolve(None)
            .unwrap_err()
            .to_string()
            .contains("at most 60000"));
        let hashes = LimitArgs {
            max_password_hashes: Some(100_000),
            ..Default::default()
        };
        assert!(hashes
            .resolve(None)
            .unwrap_err()
            .to_string()
            .contains("at most 256"));
    }
}
