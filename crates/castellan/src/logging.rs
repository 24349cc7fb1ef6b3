//! Logging of the host commands (`serve`, `worker`): `tracing` to standard error, and the few
//! lines meant for the operator (the address served, where the key file went).
//!
//! - A lost log sink never stops the process: writes to a closed or broken standard error (or
//!   standard output, for the setup token) are dropped, never a panic.
//! - Colours only on a terminal: logs written to a file or a pipe carry no ANSI codes.
//! - `--log-format json` keeps standard error JSON only: operator lines become log events.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Whether standard error carries JSON logs (set by [`init`]).
static JSON: AtomicBool = AtomicBool::new(false);

/// Standard error for log lines; a failed write (closed pipe, full disk) drops the line.
#[derive(Debug, Clone, Copy, Default)]
pub struct LossyStderr;

impl Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LossyStderr {
    type Writer = LossyStderr;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// Starts `tracing` in `format` at the levels in `CASTELLAN_LOG` (default `info`).
pub fn init(format: crate::config::LogFormat) {
    let json = format == crate::config::LogFormat::Json;
    JSON.store(json, Ordering::Relaxed);
    let filter =
        EnvFilter::try_from_env("CASTELLAN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LossyStderr)
        .with_ansi(!json && std::io::stderr().is_terminal())
        .log_internal_errors(false);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// A line for the operator on standard error: plain text, or an `info` event in JSON mode.
pub fn notice(line: &str) {
    if JSON.load(Ordering::Relaxed) {
        tracing::info!(target: "castellan", "{line}");
    } else {
        // One write of the whole line: `writeln!` writes the text and the newline apart, and a
        // log line from another thread could land between them.
        let _ = LossyStderr.write(format!("{line}\n").as_bytes());
    }
}

/// A fatal error for the operator: `error: …` on standard error, or an `error` event in JSON
/// mode.
pub fn fatal(message: &str) {
    if JSON.load(Ordering::Relaxed) {
        tracing::error!(target: "castellan", "{message}");
    } else {
        let _ = LossyStderr.write(format!("error: {message}\n").as_bytes());
    }
}

/// Lines on standard output that may be lost without harm to the process (the setup token of
/// `serve`, which `castellan init --new-setup-token` can replace).
pub fn stdout_lines(lines: &[&str]) {
    let mut out = std::io::stdout().lock();
    for l in lines {
        if writeln!(out, "{l}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}
