//! The browser engine port: what a browser connector needs from a headless browser to manage an
//! app through its own admin pages, as a person would (DESIGN.md: "connector … browser (headless
//! Chromium on the app's own pages)").
//!
//! The engine (an adapter, e.g. `castellan-browser`'s Chromium over W3C WebDriver) hands out
//! [`BrowserTab`]s: each is an isolated browser with its own profile (cookies, storage), so two
//! automation accounts never share a sign-in. Connectors drive a tab through the SDK's step
//! recorder, which keeps the URL and a screenshot of every step; the signed-in state lives in the
//! tab's cookies ([`BrowserCookie`]), which the connector returns as its [`super::AppSession`]
//! and the bot keeps sealed in the store between jobs like any app session.
//!
//! Every method's error is a [`ConnectorError`]: `Unavailable` when the browser cannot be had or
//! a step timed out (retried), `AppChanged` when an element the step needs is not on the page.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::ConnectorError;

type R<T> = Result<T, ConnectorError>;

/// What a browser may reach for one tab: the hub's own host and port and nothing else, so that
/// a page cannot make the bot's browser fetch other hosts (trackers, avatars, cloud metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabScope {
    /// The host of the hub's base URL as the URL writes it, e.g. `127.0.0.1`, `[::1]` or
    /// `app.example.com`.
    pub host: String,
    /// Its port (the scheme's default when the URL names none).
    pub port: u16,
    /// The address the host resolved to and the hub's address policy allowed: the browser
    /// connects there and nowhere else (no second lookup that could answer otherwise).
    pub ip: std::net::IpAddr,
}

/// A headless browser engine with a bounded pool of isolated browsers.
#[async_trait]
pub trait BrowserEngine: Send + Sync + std::fmt::Debug {
    /// Opens a new isolated browser (its own empty profile) that may reach only `scope`, waiting
    /// for a free place in the pool.
    ///
    /// Errors: `Unavailable` when no place frees up in time or the browser does not start (the
    /// message says which Debian package is missing, if one is).
    async fn open(&self, scope: &TabScope) -> R<Box<dyn BrowserTab>>;
}

/// How a page load ended ([`BrowserTab::goto`], [`BrowserTab::click`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLoad {
    /// The URL the tab shows after the load (after redirects).
    pub url: String,
    /// The HTTP status of the document (`PerformanceNavigationTiming.responseStatus`), `None`
    /// when the browser shows its own error page (the connection failed) or does not say.
    pub status: Option<u16>,
    /// The browser's own error page is shown (`chrome-error://…`): no answer from the app.
    pub failed: bool,
}

/// A cookie of a tab, as W3C WebDriver §14 names its fields. The whole jar is a secret: it signs
/// the automation account in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserCookie {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Its path, e.g. `/wp-admin`.
    pub path: Option<String>,
    /// Its domain as the browser reports it.
    pub domain: Option<String>,
    /// Sent over HTTPS only.
    pub secure: bool,
    /// Hidden from scripts.
    pub http_only: bool,
    /// When it expires, in seconds since the Unix epoch; `None` for a session cookie.
    pub expiry: Option<u64>,
}

/// One isolated browser, driven one step at a time. Selectors are CSS selectors. Each step waits
/// at most the engine's step timeout. Dropping a tab closes its browser.
#[async_trait]
pub trait BrowserTab: Send + Sync {
    /// Loads `url` and waits for the document to load.
    async fn goto(&mut self, url: &str) -> R<PageLoad>;

    /// How the current document loaded.
    async fn loaded(&mut self) -> R<PageLoad>;

    /// Replaces the value of the field `css` with `value` (typed as a person would).
    ///
    /// Errors: `AppChanged` when no such field is on the page; `Configuration` for a value
    /// with characters the browser would read as keys (U+E000 to U+F8FF), never typed.
    async fn fill(&mut self, css: &str, value: &str) -> R<()>;

    /// Chooses the option with value `value` of the `<select>` `css`.
    ///
    /// Errors: `AppChanged` when there is no such select or option.
    async fn choose(&mut self, css: &str, value: &str) -> R<()>;

    /// Clicks the element `css` (a box, a tab, a panel's toggle: nothing that loads a page).
    ///
    /// Errors: `AppChanged` when no such element is on the page.
    async fn click(&mut self, css: &str) -> R<()>;

    /// Clicks the element `css` (a submit button, a link) once it is enabled (waiting at most
    /// the step timeout) and waits for the new page it loads.
    ///
    /// Errors: `AppChanged` when no such element is on the page or it stays disabled;
    /// `Unavailable` when no new page has loaded within the step timeout.
    async fn submit(&mut self, css: &str) -> R<PageLoad>;

    /// Waits up to `timeout` for an element matching `css`; whether one came.
    async fn wait_for(&mut self, css: &str, timeout: Duration) -> R<bool>;

    /// Runs `script` (the body of a JavaScript function, whose `arguments` are `args`) in the
    /// page and returns its JSON result: to read a table, a form or a message at once.
    async fn read(&mut self, script: &str, args: Vec<serde_json::Value>) -> R<serde_json::Value>;

    /// A PNG screenshot of the viewport.
    async fn screenshot(&mut self) -> R<Vec<u8>>;

    /// The cookies the current page's origin sees.
    async fn cookies(&mut self) -> R<Vec<BrowserCookie>>;

    /// Adds cookies for the current page's origin (load a page of the app first).
    async fn add_cookies(&mut self, cookies: &[BrowserCookie]) -> R<()>;

    /// Ends the browser (its profile is deleted).
    async fn close(self: Box<Self>);
}
