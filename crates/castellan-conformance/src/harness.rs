//! What connector test files share besides the suite: starting a real app with its
//! `scripts/start-<app>.sh`, unique suffixes for names and emails, an out-of-band HTTP client for
//! the app's own admin API, a canned HTTP server for bad-base-URL tests, listing every member,
//! and the check of a vendor's long 429 ([`assert_rate_limited`]).
//!
//! Start scripts follow one convention (see `scripts/start-synapse.sh`): `start-<app>.sh DIR
//! PORT` installs the app on first use, is idempotent and serialised with `flock`, leaves the app
//! running for the next test binary, creates the admin account and prints nothing secret. `DIR`
//! comes from `CASTELLAN_<APP>_DIR` (default `<workspace>/target/<app>`), `PORT` from
//! `CASTELLAN_<APP>_PORT` (default: the fixture's).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError,
};
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    ws.canonicalize().unwrap_or(ws)
}

/// A real app started by its script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The script's `DIR` (the app's files, e.g. Redmine's `api-key`).
    pub dir: PathBuf,
    /// The port it listens on.
    pub port: u16,
}

/// Starts `app` (lowercase, e.g. `redmine`) with `scripts/start-<app>.sh DIR PORT` once per
/// process and returns where it runs; later calls return the same app (or the same failure).
///
/// Panics with the script's output when it fails, or when `CASTELLAN_<APP>_PORT` is no port.
pub fn start_app(app: &str, default_port: u16) -> StartedApp {
    type Started = HashMap<String, Result<StartedApp, String>>;
    static STARTED: OnceLock<Mutex<Started>> = OnceLock::new();
    // Held while the script runs: the first caller starts the app, the others wait for it.
    let mut started = STARTED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let result = started
        .entry(app.to_owned())
        .or_insert_with(|| run_start_script(app, default_port));
    match result {
        Ok(s) => s.clone(),
        Err(e) => panic!("{e}"),
    }
}

fn run_start_script(app: &str, default_port: u16) -> Result<StartedApp, String> {
    let ws = workspace();
    let var = |what: &str| format!("CASTELLAN_{}_{what}", app.to_ascii_uppercase());
    let dir = std::env::var_os(var("DIR"))
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.join("target").join(app));
    let port = match std::env::var(var("PORT")) {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("{}={p:?} is not a port", var("PORT")))?,
        Err(_) => default_port,
    };
    let script = ws.join(format!("scripts/start-{app}.sh"));
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .arg(port.to_string())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} {port} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            script.display(),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        ));
    }
    Ok(StartedApp {
        base_url: format!("http://127.0.0.1:{port}"),
        dir,
        port,
    })
}

/// A real app whose automation account signs in with a username and a password: the fixed half
/// of most fixtures (see [`crate::password_fixture`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordApp {
    /// The app's name in `scripts/start-<app>.sh` and `CASTELLAN_<APP>_DIR`, lowercase.
    pub app: &'static str,
    /// The port it listens on unless `CASTELLAN_<APP>_PORT` says otherwise.
    pub port: u16,
    /// The automation account's username (made by the start script).
    pub username: &'static str,
    /// Its password.
    pub password: &'static str,
}

impl PasswordApp {
    /// `app` on `port` with the automation account `username` / `password`.
    pub const fn new(
        app: &'static str,
        port: u16,
        username: &'static str,
        password: &'static str,
    ) -> Self {
        Self {
            app,
            port,
            username,
            password,
        }
    }

    /// The app, started on first use ([`start_app`]).
    pub fn started(&self) -> StartedApp {
        start_app(self.app, self.port)
    }

    /// The app's base URL, started on first use.
    pub fn base_url(&self) -> String {
        self.started().base_url
    }

    /// The automation account's context at `base_url` (the app's, or a proxy's).
    pub fn context(&self, base_url: &str) -> ConnectorContext {
        password_context(base_url, self.username, self.password)
    }
}

/// A context at `base_url` as `username` with `password` ([`ConnectorContext::new`]).
pub fn password_context(base_url: &str, username: &str, password: &str) -> ConnectorContext {
    ConnectorContext::new(base_url, username, SecretString::from(password.to_owned()))
}

/// A context at `base_url` as `username` (blank where the app takes none) with the API token
/// `token` and no password, which may reach loopback and private addresses
/// (`allow_private = yes`): an automation account of a SaaS app, against its stand-in on
/// loopback (or the suite's fault proxy in front of it).
pub fn token_context(base_url: &str, username: &str, token: &str) -> ConnectorContext {
    use castellan_core::connector::settings::{ALLOW_PRIVATE, ALLOW_PRIVATE_YES};
    let mut c = password_context(base_url, username, "");
    c.api_token = Some(SecretString::from(token.to_owned()));
    c.settings
        .insert(ALLOW_PRIVATE.to_owned(), ALLOW_PRIVATE_YES.to_owned());
    c
}

/// The emails `<prefix><i>@example.com` (lowercase) for `i` in `0..n`, each made by `seed` (a
/// stand-in's own setup, out of band), for [`crate::Fixture::seed_members`].
pub fn seeded_emails(prefix: &str, n: usize, mut seed: impl FnMut(&str, usize)) -> Vec<String> {
    let emails: Vec<String> = (0..n)
        .map(|i| format!("{prefix}{i}@example.com").to_lowercase())
        .collect();
    for (i, email) in emails.iter().enumerate() {
        seed(email, i);
    }
    emails
}

/// An invitation of `email` with `role`, no username and no name.
pub fn invitation(email: &str, role: &str) -> castellan_core::connector::Invitation {
    castellan_core::connector::Invitation {
        email: email.to_owned(),
        username: None,
        name: None,
        role: role.to_owned(),
    }
}

/// The built-in catalog's entry of the app `id`, for the vendor tests that check it names the
/// connector as it is.
///
/// Panics when the catalog does not parse or has no such app.
pub fn catalog_app(id: &str) -> castellan_core::catalog::App {
    use castellan_core::catalog::{parse_catalog, BUILTIN_CATALOG};
    let apps = parse_catalog(BUILTIN_CATALOG).expect("the built-in catalog parses");
    let app = apps.into_iter().find(|a| a.id.as_str() == id);
    app.unwrap_or_else(|| panic!("the catalog has no app {id:?}"))
}

/// A host-only session cookie `name=value` on path `/`, HTTP-only, with no expiry: a cookie as
/// a person exports it from their browser for a session upload (`Connector::adopt_session`).
pub fn session_cookie(
    name: &str,
    value: &str,
) -> castellan_core::connector::browser::BrowserCookie {
    castellan_core::connector::browser::BrowserCookie {
        name: name.to_owned(),
        value: value.to_owned(),
        path: Some("/".into()),
        domain: None,
        secure: false,
        http_only: true,
        expiry: None,
    }
}

/// A suffix no other test (or earlier run) uses: 10 lowercase hex digits.
pub fn unique() -> String {
    format!("{:010x}", rand::random::<u64>() & 0xff_ffff_ffff)
}

/// An app's own HTTP API used directly (not through a connector), to set up and to check what a
/// connector did. Sends one authentication header on every call (a bearer token, an API key);
/// its value is never shown by `Debug`.
#[derive(Clone)]
pub struct AdminApi {
    http: reqwest::Client,
    base: String,
    auth: Option<(String, String)>,
}

impl std::fmt::Debug for AdminApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApi")
            .field("base", &self.base)
            .field("auth", &self.auth.as_ref().map(|(name, _)| name))
            .finish()
    }
}

impl AdminApi {
    /// Without authentication, at `base` (e.g. `http://127.0.0.1:18008`).
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            auth: None,
        }
    }

    /// With `name: value` on every call (e.g. `X-Redmine-API-Key`).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.auth = Some((name.to_owned(), value.to_owned()));
        self
    }

    /// With `Authorization: Bearer <token>` on every call (RFC 6750 §2.1).
    pub fn with_bearer(self, token: &str) -> Self {
        self.with_header("Authorization", &format!("Bearer {token}"))
    }

    /// `method path` (path and query, from `/`) with an optional JSON body: the status and the
    /// JSON answer (`Null` when the answer is not JSON). Panics when the app cannot be reached.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some((name, value)) = &self.auth {
            req = req.header(name, value);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Like [`AdminApi::call`], and panics unless the status is 2xx; returns the JSON answer.
    pub async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method.clone(), path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: HTTP {status} {answer}"
        );
        answer
    }

    /// `GET path`: the JSON answer, or `None` on 404. Panics on another non-2xx status.
    pub async fn get(&self, path: &str) -> Option<Value> {
        let (status, answer) = self.call(reqwest::Method::GET, path, None).await;
        match status {
            404 => None,
            200..=299 => Some(answer),
            s => panic!("GET {path}: HTTP {s} {answer}"),
        }
    }
}

/// An HTTP server on loopback answering every request with `status` (e.g. `404 Not Found`),
/// `content_type` and `body`: a web server that is not the app, for bad-base-URL tests. Returns
/// its base URL.
pub async fn canned_server(status: &str, content_type: &str, body: &str) -> String {
    let response: Arc<str> = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the body announced by Content-Length, then answer.
                loop {
                    let n = match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let _gone = sock.write_all(response.as_bytes()).await;
                let _gone = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// A base URL where nothing listens (a loopback port just freed).
pub fn nothing_listens() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    format!("http://127.0.0.1:{port}")
}

/// Every member, page by page through [`Connector::list_members`]: the members in listing order
/// and the number of pages. Stops with `AppChanged` after 10,000 pages (a listing that does not
/// end).
pub async fn list_all(
    c: &dyn Connector,
    ctx: &ConnectorContext,
    s: &AppSession,
) -> Result<(Vec<AppMember>, usize), ConnectorError> {
    let mut all = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = c.list_members(ctx, s, cursor).await?;
        pages += 1;
        all.extend(page.members);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok((all, pages)),
        }
        if pages >= 10_000 {
            return Err(ConnectorError::AppChanged(
                "the listing did not end after 10,000 pages".into(),
            ));
        }
    }
}

/// Panics unless `got` is `RateLimited` with the wait the app asked for, longer than `above`
/// and at most `most`: a vendor's 429 whose `Retry-After` (or own header) is longer than the
/// SDK waits in one call, so the engine's job retry takes over.
pub fn assert_rate_limited<T: std::fmt::Debug>(
    got: Result<T, ConnectorError>,
    above: std::time::Duration,
    most: std::time::Duration,
) {
    match got {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => assert!(
            d > above && d <= most,
            "waits {d:?}, not in ({above:?}, {most:?}]"
        ),
        other => panic!("not RateLimited with a wait: {other:?}"),
    }
}
