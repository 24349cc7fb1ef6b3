//! The limits of `serve`: password hashing, connections, timeouts and the shutdown drain.
//! What they do at run time lives in `crate::ops`.

use std::time::Duration;

use anyhow::Result;
use castellan_server::ServeLimits;
use clap::Args;

use super::keys::{
    HEADER_READ_TIMEOUT_SECS, IDLE_TIMEOUT_SECS, MAX_CONNECTIONS, MAX_PASSWORD_HASHES,
    PASSWORD_HASH_WAIT_MS, REQUEST_TIMEOUT_SECS, SHUTDOWN_DRAIN_SECS, SMTP_COMMAND_TIMEOUT_SECS,
    SMTP_MAX_SESSIONS, SMTP_SESSION_TIMEOUT_SECS,
};
use super::{secs, Key, Layers};

/// `castellan serve` flags of its limits.
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Password hashes (Argon2id, 19 MiB each) computed at once, 1 to 256; sign-ins beyond
    /// wait (see --password-hash-wait-ms), then get 503 with Retry-After (default: the CPU
    /// cores, fewer on small memory).
    #[arg(long, value_name = "N")]
    max_password_hashes: Option<usize>,
    /// Milliseconds a sign-in waits for a free password-hash slot before 503, 0 to 60000;
    /// default 2000.
    #[arg(long, value_name = "MS")]
    password_hash_wait_ms: Option<u64>,
    /// Most open HTTP connections, at least 1; default 1024. One more gets 503 and is closed.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Seconds a request head may take once its first byte arrived, 1 to 86400; default 10.
    #[arg(long, value_name = "S")]
    header_read_timeout_secs: Option<u64>,
    /// Seconds an idle keep-alive connection stays open, 1 to 86400; default 60.
    #[arg(long, value_name = "S")]
    idle_timeout_secs: Option<u64>,
    /// Seconds a request may take, long polls aside, 1 to 86400; default 30. Then 503.
    #[arg(long, value_name = "S")]
    request_timeout_secs: Option<u64>,
    /// Seconds requests and jobs in progress get to finish on SIGTERM or Ctrl-C, 1 to 86400;
    /// default 10.
    #[arg(long, value_name = "S")]
    shutdown_drain_secs: Option<u64>,
    /// Most SMTP sessions at once, at least 1; default 100. One more gets 421.
    #[arg(long, value_name = "N")]
    smtp_max_sessions: Option<usize>,
    /// Seconds the SMTP receiver waits for the client's next command or line, 1 to 86400;
    /// default 60.
    #[arg(long, value_name = "S")]
    smtp_command_timeout_secs: Option<u64>,
    /// Longest SMTP session in seconds, 1 to 86400; default 600.
    #[arg(long, value_name = "S")]
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
const MAX_PASSWORD_HASHES_LIMIT: usize = 256;

impl LimitArgs {
    /// Resolves the flags over `layers`. Errors: a value does not parse or is out of its
    /// bounds (the message names its flag, variable or file key). Warns when the password-hash
    /// limit is far above what the machine suggests.
    pub fn resolve(&self, layers: &Layers) -> Result<Limits> {
        let d = ServeLimits::default();
        let smtp = castellan_inbox::SmtpConfig::default();
        let timeout = |key: &Key, flag: Option<u64>, default: Duration| -> Result<Duration> {
            secs(layers.get_or(key, flag, default.as_secs())?, 1, MAX_SECS)
        };
        let suggested = castellan_crypto::default_hash_concurrency();
        let max_password_hashes = layers
            .get_or(&MAX_PASSWORD_HASHES, self.max_password_hashes, suggested)?
            .within(1, MAX_PASSWORD_HASHES_LIMIT, "")?;
        if max_password_hashes > suggested.saturating_mul(4) {
            tracing::warn!(
                max_password_hashes,
                suggested,
                "max_password_hashes is far above what this machine's cores and memory suggest: concurrent sign-ins may use {} MiB",
                max_password_hashes * 19
            );
        }
        let default_wait = castellan_crypto::password_hash::DEFAULT_HASH_WAIT;
        let wait_ms = layers
            .get_or(
                &PASSWORD_HASH_WAIT_MS,
                self.password_hash_wait_ms,
                u64::try_from(default_wait.as_millis()).unwrap_or(u64::MAX),
            )?
            .within(0, MAX_HASH_WAIT_MS, " milliseconds")?;
        let http = ServeLimits {
            max_connections: layers
                .get_or(&MAX_CONNECTIONS, self.max_connections, d.max_connections)?
                .at_least(1)?,
            header_read_timeout: timeout(
                &HEADER_READ_TIMEOUT_SECS,
                self.header_read_timeout_secs,
                d.header_read_timeout,
            )?,
            idle_timeout: timeout(&IDLE_TIMEOUT_SECS, self.idle_timeout_secs, d.idle_timeout)?,
            request_timeout: timeout(
                &REQUEST_TIMEOUT_SECS,
                self.request_timeout_secs,
                d.request_timeout,
            )?,
            shutdown_drain: timeout(
                &SHUTDOWN_DRAIN_SECS,
                self.shutdown_drain_secs,
                d.shutdown_drain,
            )?,
            ..d
        };
        Ok(Limits {
            max_password_hashes,
            password_hash_wait: Duration::from_millis(wait_ms),
            http,
            smtp_max_sessions: layers
                .get_or(
                    &SMTP_MAX_SESSIONS,
                    self.smtp_max_sessions,
                    smtp.max_sessions,
                )?
                .at_least(1)?,
            smtp_command_timeout: timeout(
                &SMTP_COMMAND_TIMEOUT_SECS,
                self.smtp_command_timeout_secs,
                smtp.idle_timeout,
            )?,
            smtp_session_timeout: timeout(
                &SMTP_SESSION_TIMEOUT_SECS,
                self.smtp_session_timeout_secs,
                smtp.session_timeout,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded_on_both_sides() {
        let none = Layers::default();
        assert!(LimitArgs::default().resolve(&none).is_ok());
        let huge = LimitArgs {
            shutdown_drain_secs: Some(u64::MAX),
            ..Default::default()
        };
        let e = huge.resolve(&none).unwrap_err().to_string();
        assert!(
            e.contains("--shutdown-drain-secs must be between 1 and 86400"),
            "{e}"
        );
        let zero = LimitArgs {
            request_timeout_secs: Some(0),
            ..Default::default()
        };
        assert!(zero.resolve(&none).is_err());
        let wait = LimitArgs {
            password_hash_wait_ms: Some(u64::MAX),
            ..Default::default()
        };
        let e = wait.resolve(&none).unwrap_err().to_string();
        assert!(e.contains("between 0 and 60000 milliseconds"), "{e}");
        let hashes = LimitArgs {
            max_password_hashes: Some(100_000),
            ..Default::default()
        };
        let e = hashes.resolve(&none).unwrap_err().to_string();
        assert!(e.contains("between 1 and 256"), "{e}");
        let no_sessions = LimitArgs {
            smtp_max_sessions: Some(0),
            ..Default::default()
        };
        let e = no_sessions.resolve(&none).unwrap_err().to_string();
        assert_eq!(e, "--smtp-max-sessions must be at least 1, not 0");
    }
}
