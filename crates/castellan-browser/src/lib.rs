//! Castellan's browser engine ([`BrowserEngine`]): Debian's headless Chromium (package
//! `chromium`) driven over W3C WebDriver by `chromedriver` (package `chromium-driver`) with
//! fantoccini.
//!
//! - **One chromedriver per process**, started on first use on a free loopback port (allowed
//!   only from `127.0.0.1`) and started again if it has died.
//! - **One browser per tab**: every [`BrowserEngine::open`] makes a new WebDriver session, i.e. a
//!   new Chromium with an empty profile in a temporary directory (deleted when the tab ends), so
//!   two automation accounts never share cookies or storage.
//! - **A pool** bounds the browsers alive at once ([`ChromiumConfig::max_browsers`]; each takes
//!   100 to 300 MB); `open` waits for a place at most [`ChromiumConfig::open_timeout`].
//! - **Every step has a timeout** ([`ChromiumConfig::step_timeout`]): WebDriver's page-load and
//!   script timeouts, and the same bound around each command.
//! - **Nowhere but the hub**: each browser sends every request to a closed loopback port
//!   (`--proxy-server`) except those to the hub's own `host:port` (`--proxy-bypass-list`, after
//!   `<-loopback>`, which must come first, so other loopback ports are not bypassed either): a page's trackers, avatars
//!   or links to cloud metadata addresses go nowhere. The hub's name resolves only to the address
//!   the connector checked against the hub's address policy (`--host-resolver-rules`).
//! - **No browser outlives Castellan**: chromedriver leads its own process group with every
//!   Chromium it starts; the group is killed when the engine ends, and a small `sh` watcher
//!   kills it when the Castellan process is gone, even after `kill -9`, and deletes the
//!   browsers' profile directories. WebRTC may not send UDP around the proxy.
//! - The engine installs nothing: [`ChromiumConfig::missing`] says which package is missing.
//!
//! Sources: <https://www.w3.org/TR/webdriver2/>, <https://developer.chrome.com/docs/chromedriver/capabilities>,
//! <https://chromium.googlesource.com/chromium/src/+/HEAD/net/docs/proxy.md>.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod tab;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use castellan_core::connector::browser::{BrowserEngine, BrowserTab, TabScope};
use castellan_core::connector::ConnectorError as E;
use fantoccini::ClientBuilder;
use serde_json::{json, Value};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, Semaphore};

pub use tab::ChromiumTab;

type R<T> = Result<T, E>;

/// Where the browser and its driver are and how many may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChromiumConfig {
    /// The Chromium binary (Debian: `/usr/bin/chromium`).
    pub chromium: PathBuf,
    /// The chromedriver binary (Debian: `/usr/bin/chromedriver`).
    pub chromedriver: PathBuf,
    /// Browsers alive at once, at least 1.
    pub max_browsers: usize,
    /// The longest one step may take (a page load, a script, a click).
    pub step_timeout: Duration,
    /// The longest [`BrowserEngine::open`] waits for a place in the pool.
    pub open_timeout: Duration,
    /// The longest a browser may take to start, once it has its place.
    pub start_timeout: Duration,
}

impl Default for ChromiumConfig {
    /// Debian's paths, 2 browsers, 30 s a step, 60 s to wait for a place and 60 s to start.
    fn default() -> Self {
        Self {
            chromium: "/usr/bin/chromium".into(),
            chromedriver: "/usr/bin/chromedriver".into(),
            max_browsers: 2,
            step_timeout: Duration::from_secs(30),
            open_timeout: Duration::from_secs(60),
            start_timeout: Duration::from_secs(60),
        }
    }
}

impl ChromiumConfig {
    /// What is missing to run browsers, as a sentence naming the Debian package; `None` when
    /// both binaries are there.
    pub fn missing(&self) -> Option<String> {
        let lacks = [
            (&self.chromium, "chromium"),
            (&self.chromedriver, "chromium-driver"),
        ];
        let lacks: Vec<_> = lacks.iter().filter(|(p, _)| !p.is_file()).collect();
        let names: Vec<String> = lacks
            .iter()
            .map(|(p, pkg)| format!("{} (Debian package `{pkg}`)", p.display()))
            .collect();
        (!names.is_empty()).then(|| format!("the browser bot needs {}", names.join(" and ")))
    }
}

/// A running chromedriver, the leader of its process group.
#[derive(Debug)]
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    /// Ends chromedriver and every browser it started (its process group).
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            end_group(pid);
        }
    }
}

/// Kills the process group `group` (chromedriver's, with its browsers).
fn end_group(group: u32) {
    if group > 1 {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .stderr(Stdio::null())
            .status();
    }
}

/// The prefix of the profile directories of this process's browsers (in the temporary
/// directory).
fn profile_prefix(pid: u32) -> String {
    format!("castellan-browser-{pid}-")
}

/// A watcher (`sh`) that ends the process group `group` once this process is gone, even after
/// `kill -9`, or once its leader (chromedriver) has died: no browser outlives Castellan. Once
/// this process is gone, it deletes its browsers' profile directories too.
fn reap_after_us(group: u32) {
    const WATCH: &str = "while kill -0 \"$1\" 2>/dev/null && kill -0 \"$2\" 2>/dev/null; \
                         do sleep 1; done; kill -KILL -\"$2\" 2>/dev/null; \
                         kill -0 \"$1\" 2>/dev/null || rm -rf -- \"${TMPDIR:-/tmp}/$3\"*";
    let me = std::process::id().to_string();
    let spawned = Command::new("sh")
        .args([
            "-c",
            WATCH,
            "castellan-browser-reaper",
            &me,
            &group.to_string(),
        ])
        .arg(profile_prefix(std::process::id()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no watcher for the browsers: they may outlive a killed castellan");
    }
}

/// The Chromium engine. Cheap to share behind an `Arc`; one per process.
#[derive(Debug)]
pub struct ChromiumEngine {
    cfg: ChromiumConfig,
    driver: Mutex<Option<Driver>>,
    pool: Arc<Semaphore>,
}

impl ChromiumEngine {
    /// An engine with `cfg`; nothing starts until the first [`BrowserEngine::open`].
    pub fn new(cfg: ChromiumConfig) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let pool = Arc::new(Semaphore::new(cfg.max_browsers.max(1)));
        Self {
            cfg,
            driver: Mutex::new(None),
            pool,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &ChromiumConfig {
        &self.cfg
    }

    /// The URL of a live chromedriver, started (again) when there is none.
    async fn driver_url(&self) -> R<String> {
        let mut driver = self.driver.lock().await;
        if let Some(d) = driver.as_mut() {
            if matches!(d.child.try_wait(), Ok(None)) {
                return Ok(d.url.clone());
            }
        }
        if let Some(why) = self.cfg.missing() {
            return Err(E::Unavailable(why));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| E::Unavailable(format!("no free loopback port for chromedriver: {e}")))?
            .port();
        let child = Command::new(&self.cfg.chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // Its own process group, with every Chromium it starts: ended as one.
            .process_group(0)
            .spawn()
            .map_err(|e| E::Unavailable(format!("cannot start chromedriver: {e}")))?;
        let group = child.id().unwrap_or_default();
        reap_after_us(group);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err(E::Unavailable("chromedriver did not start in 20 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let url = format!("http://127.0.0.1:{port}");
        tracing::debug!(port, "started chromedriver");
        *driver = Some(Driver {
            child,
            url: url.clone(),
        });
        Ok(url)
    }

    /// The W3C capabilities of a new browser for `scope` with its profile in `profile`.
    fn capabilities(
        &self,
        scope: &TabScope,
        profile: &std::path::Path,
    ) -> serde_json::Map<String, Value> {
        let ms = u64::try_from(self.cfg.step_timeout.as_millis()).unwrap_or(u64::MAX);
        let caps = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": { "pageLoad": ms, "script": ms, "implicit": 0 },
            "goog:chromeOptions": {
                "binary": self.cfg.chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--disable-quic", "--window-size=1280,900", "--lang=en-US",
                    format!("--user-data-dir={}", profile.display()),
                    // Everything but the hub goes to a closed port, and the hub's name
                    // resolves to the address checked already (see the crate's doc).
                    "--proxy-server=http://127.0.0.1:9",
                    format!("--proxy-bypass-list=<-loopback>;{}:{}", scope.host, scope.port),
                    format!("--host-resolver-rules={}", resolver_rules(scope)),
                    // WebRTC's UDP would not go through the proxy.
                    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
                ]
            }
        });
        match caps {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }
}

/// The browser's name resolution: the hub's host (a name, or an IP literal, which the rules
/// match too) to the address checked already, every other name to nothing.
fn resolver_rules(scope: &TabScope) -> String {
    let ip = match scope.ip {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("MAP {} {ip}, MAP * ~NOTFOUND", scope.host)
}

#[async_trait]
impl BrowserEngine for ChromiumEngine {
    async fn open(&self, scope: &TabScope) -> R<Box<dyn BrowserTab>> {
        let wait = self.cfg.open_timeout;
        let permit = tokio::time::timeout(wait, self.pool.clone().acquire_owned())
            .await
            .map_err(|_| E::Unavailable(format!("no browser free in {} s", wait.as_secs())))?
            .map_err(|_| E::Unavailable("the browser pool is closed".into()))?;
        let profile = tempfile::Builder::new()
            .prefix(&profile_prefix(std::process::id()))
            .tempdir()
            .map_err(|e| E::Unavailable(format!("no temporary profile directory: {e}")))?;
        let url = self.driver_url().await?;
        let mut builder = ClientBuilder::rustls()
            .map_err(|e| E::Unavailable(format!("no TLS for the WebDriver client: {e}")))?;
        builder.capabilities(self.capabilities(scope, profile.path()));
        let start = self.cfg.start_timeout;
        let client = tokio::time::timeout(start, builder.connect(&url))
            .await
            .map_err(|_| {
                E::Unavailable(format!(
                    "the browser did not start in {} s",
                    start.as_secs()
                ))
            })?
            .map_err(|e| E::Unavailable(format!("the browser did not start: {e}")))?;
        Ok(Box::new(ChromiumTab::new(
            client,
            permit,
            profile,
            self.cfg.step_timeout,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_missing_names_the_debian_packages() {
        let cfg = ChromiumConfig {
            chromium: "/nonexistent/chromium".into(),
            chromedriver: "/nonexistent/chromedriver".into(),
            ..ChromiumConfig::default()
        };
        let why = cfg.missing().expect("both are missing");
        assert!(
            why.contains("Debian package `chromium`") && why.contains("`chromium-driver`"),
            "{why}"
        );
        let one = ChromiumConfig {
            chromium: std::env::current_exe().unwrap(),
            ..cfg
        };
        let why = one.missing().expect("the driver is missing");
        assert!(
            !why.contains("`chromium`)") && why.contains("`chromium-driver`"),
            "{why}"
        );
    }
}
