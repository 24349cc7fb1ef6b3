//! What keeps `castellan serve` up under load and faults: its limits (password hashing,
//! connections, timeouts, the bounded shutdown), the open-files limit, and the readiness checks
//! of the host (the master key file, the data directory's disk, the SMTP receiver).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Result};
use castellan_server::{CheckFailure, CheckFuture, ReadinessCheck};

use crate::config::Limits;

/// File descriptors kept for everything but HTTP and SMTP connections (database, logs, key file).
const RESERVED_FDS: u64 = 128;

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
