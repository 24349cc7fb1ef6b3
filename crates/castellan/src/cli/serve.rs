//! `serve`, `init` and `keys`: commands that run on the host with the database and key file.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use castellan_crypto::Keyring;
use clap::{Args, Subcommand};

use crate::config::{BotSettings, Env, HostArgs};
pub use crate::config::{InitArgs, ServeArgs, WorkerArgs};
use crate::{host, logging};

/// Starts `n` workers and the scheduler; returns their handles. Once `shutdown` turns true, a
/// job in progress gets `grace` to finish before it is interrupted and released.
fn start_bots(
    svc: &castellan_core::Castellan,
    a: &BotSettings,
    shutdown: tokio::sync::watch::Receiver<bool>,
    grace: Duration,
) -> Vec<tokio::task::JoinHandle<()>> {
    let registry: std::sync::Arc<dyn castellan_core::connector::ConnectorRegistry> =
        host::registry();
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let mut handles = vec![];
    for n in 0..a.workers {
        let cfg = castellan_core::service::BotConfig {
            worker_id: format!("{host}:{}:{n}", std::process::id()),
            lease: chrono_duration(a.job_lease),
            poll: std::time::Duration::from_millis(300),
            backoff_base: chrono_duration(a.retry_base),
        };
        let bot = castellan_core::service::Bot::new(svc.clone(), registry.clone(), cfg);
        let mut rx = shutdown.clone();
        handles.push(tokio::spawn(async move {
            let stop = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            bot.run_bounded(stop, grace).await;
        }));
        if n == 0 {
            let sched = castellan_core::service::Bot::new(
                svc.clone(),
                registry.clone(),
                castellan_core::service::BotConfig::default(),
            );
            let every = a.schedule_poll;
            let mut rx = shutdown.clone();
            handles.push(tokio::spawn(async move {
                loop {
                    if let Err(e) = sched.schedule_due().await {
                        tracing::warn!(error = %e, "scheduling due syncs failed");
                    }
                    tokio::select! {
                        _ = rx.wait_for(|stop| *stop) => break,
                        _ = tokio::time::sleep(every) => {}
                    }
                }
            }));
        }
    }
    handles
}

/// Runs bot workers (no HTTP) until SIGINT or SIGTERM; a job in progress then gets the default
/// drain time (10 s) to finish before it is released for another worker.
pub async fn worker(a: WorkerArgs) -> Result<ExitCode> {
    let cfg = a.resolve(Env::Process)?;
    logging::init(cfg.log_format);
    let svc = host::open(&cfg.host, false).await?;
    let grace = castellan_server::ServeLimits::default().shutdown_drain;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let handles = start_bots(&svc, &cfg.bot, rx, grace);
    logging::notice(&format!(
        "castellan worker running {} worker(s)",
        cfg.bot.workers
    ));
    logging::notice(&host::browser_status());
    shutdown_signal().await;
    let _ = tx.send(true);
    join_bounded(handles, tokio::time::Instant::now() + grace).await;
    Ok(ExitCode::SUCCESS)
}

/// Waits for `handles` until `until` plus a little (a released job's last write); aborts the
/// rest.
async fn join_bounded(handles: Vec<tokio::task::JoinHandle<()>>, until: tokio::time::Instant) {
    let deadline = until + Duration::from_secs(3);
    for mut h in handles {
        if tokio::time::timeout_at(deadline, &mut h).await.is_err() {
            h.abort();
        }
    }
}

/// `castellan keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Add a new master key, make it active and re-wrap every vault data key under it. A
    /// running server keeps serving and picks up the new key file.
    Rotate(HostOnly),
    /// Re-wrap data keys still under an older master key (finishes an interrupted rotation).
    Rewrap(HostOnly),
    /// List master key ids (the active one first).
    List(HostOnly),
    /// Remove an old master key from the key file once no data key is wrapped by it.
    Retire {
        /// The key id (`mk-…`).
        key_id: String,
        #[command(flatten)]
        host: HostArgs,
    },
}

/// Only the host flags.
#[derive(Debug, Args)]
pub struct HostOnly {
    #[command(flatten)]
    host: HostArgs,
}

/// Runs the server until SIGINT or SIGTERM, then stops within the drain time: the listeners
/// close, requests, SMTP sessions and bot jobs in progress get `--shutdown-drain-secs` to
/// finish, and what is left is closed (a bot job is released for another worker).
pub async fn serve(a: ServeArgs) -> Result<ExitCode> {
    let cfg = a.resolve(Env::Process)?;
    let mut limits = cfg.limits;
    logging::init(cfg.log_format);
    let _lock = host::lock_sqlite(&cfg.host)?;
    limits.fit_open_files();
    limits.apply_hash_limit()?;
    let svc = host::open_for_serve(&cfg.host).await?;
    host::init(&svc, &cfg.workspace_name, false).await?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let inbox = crate::inbox_glue::start(svc, &cfg.inbox, &limits, addr, rx.clone()).await?;
    let svc = inbox.svc;
    tracing::info!(
        %addr,
        backend = svc.backend(),
        max_password_hashes = limits.max_password_hashes,
        max_connections = limits.http.max_connections,
        "castellan is serving"
    );
    logging::notice(&format!("castellan is serving on http://{addr}"));
    logging::notice(&host::browser_status());
    let drain = limits.http.shutdown_drain;
    let mut handles = start_bots(&svc, &cfg.bot, rx.clone(), drain);
    handles.extend(inbox.tasks);
    let mut readiness = castellan_server::Readiness::default().with(Arc::new(
        crate::ops::KeyFileCheck(cfg.host.master_key_file.clone(), svc.clone()),
    ));
    if let Some(db) = castellan_store::sqlite_path(cfg.host.database_url.expose()) {
        let dir = db.parent().map(ToOwned::to_owned).unwrap_or_default();
        readiness = readiness.with(Arc::new(crate::ops::DiskCheck(dir)));
    }
    if let Some(up) = inbox.smtp_up {
        readiness = readiness.with(Arc::new(crate::ops::SmtpCheck(up)));
    }
    let state = castellan_server::AppState {
        sms: inbox.sms,
        limits: limits.http,
        readiness,
        public_url: cfg.inbox.public_url.clone(),
        ..castellan_server::AppState::new(svc)
    };
    // One stop signal for the HTTP server, the SMTP receiver and the bots alike; the drain
    // time counts from it for all of them.
    let (drained_tx, drained_by) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping");
        let _ = drained_tx.send(tokio::time::Instant::now() + drain);
        let _ = tx.send(true);
    });
    let mut stop = rx;
    castellan_server::serve(listener, state, async move {
        let _ = stop.wait_for(|s| *s).await;
    })
    .await?;
    let until = drained_by
        .await
        .unwrap_or_else(|_| tokio::time::Instant::now());
    join_bounded(handles, until).await;
    tracing::info!("castellan stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Creates the workspace and prints the setup token.
pub async fn init(a: InitArgs) -> Result<ExitCode> {
    let cfg = a.resolve(Env::Process)?;
    let svc = host::open(&cfg.host, true).await?;
    host::init(&svc, &cfg.workspace_name, a.new_setup_token).await?;
    Ok(ExitCode::SUCCESS)
}

/// Key administration.
pub async fn keys(cmd: KeysCmd) -> Result<ExitCode> {
    match cmd {
        KeysCmd::Rotate(h) => {
            let cfg = h.host.load()?;
            // One key operation at a time: two rotations racing on the key file could leave data
            // keys wrapped by a key that was overwritten.
            let _lock = lock_key_file(&cfg.master_key_file)?;
            // Open first: proves the current key file matches the database.
            let svc = host::open(&cfg, false).await?;
            let mut ring = Keyring::load(&cfg.master_key_file)?;
            let new_id = ring.rotate();
            ring.save(&cfg.master_key_file)?;
            let report = svc
                .keys()
                .rewrap()
                .await
                .map_err(|e| anyhow::anyhow!(host::describe(&e)))?;
            out!(
                "new active master key {new_id}; re-wrapped {} vault data key(s)",
                report.rewrapped
            );
            out!("the old key stays in the key file for reading; remove it with `castellan keys retire ID` once backups no longer need it");
        }
        KeysCmd::Rewrap(h) => {
            let cfg = h.host.load()?;
            let _lock = lock_key_file(&cfg.master_key_file)?;
            let svc = host::open(&cfg, false).await?;
            let report = svc
                .keys()
                .rewrap()
                .await
                .map_err(|e| anyhow::anyhow!(host::describe(&e)))?;
            out!(
                "active master key {}; re-wrapped {} vault data key(s)",
                report.active_key_id,
                report.rewrapped
            );
        }
        KeysCmd::List(h) => {
            let cfg = h.host.load()?;
            let ring = Keyring::load(&cfg.master_key_file)?;
            for (i, id) in ring.key_ids().iter().enumerate() {
                out!("{id}{}", if i == 0 { "  (active)" } else { "" });
            }
        }
        KeysCmd::Retire { key_id, host: h } => {
            let cfg = h.load()?;
            let _lock = lock_key_file(&cfg.master_key_file)?;
            let svc = host::open(&cfg, false).await?;
            let in_use = svc
                .keys()
                .wrapped_by(&key_id)
                .await
                .map_err(|e| anyhow::anyhow!(host::describe(&e)))?;
            if in_use > 0 {
                anyhow::bail!("{in_use} vault data key(s) are still wrapped by {key_id}: run `castellan keys rewrap` first");
            }
            let mut ring = Keyring::load(&cfg.master_key_file)?;
            ring.retire(&castellan_crypto::KeyId(key_id.clone()))?;
            ring.save(&cfg.master_key_file)?;
            out!("retired {key_id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An exclusive advisory lock on `<key file>.lock`, held until dropped (`File::lock`, flock on Unix).
fn lock_key_file(key: &std::path::Path) -> Result<std::fs::File> {
    let mut name = key.as_os_str().to_owned();
    name.push(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .with_context(|| {
            format!(
                "cannot open the key lock file {}",
                std::path::Path::new(&name).display()
            )
        })?;
    f.lock().context("cannot lock the key file")?;
    Ok(f)
}

/// A `std` duration as a `chrono` one (the bot's engine counts in `chrono`); the settings
/// are bounded to a day, far inside `chrono`'s range.
fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
