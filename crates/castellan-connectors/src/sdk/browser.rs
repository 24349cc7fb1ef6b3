//! Browser connectors' plumbing: apps managed through their own web pages in a headless browser
//! (the core port [`BrowserEngine`]; Chromium in `castellan-browser`).
//!
//! - [`BrowserBot`]: the engine and the idle browsers kept per signed-in session, shared by every
//!   browser connector of a process. A call takes its session's browser if one is idle (still
//!   signed in, no new browser to start), else closes the idle ones (their places in the pool)
//!   and opens a new one with the session's cookies. An idle browser lives [`IDLE`] at most,
//!   and none is kept while another call waits for a place in the engine's pool.
//! - [`CallPage`]: the browser of one connector call, taken from its session's idle ones or
//!   opened with the session's cookies, and kept idle again when the call ends.
//! - [`Page`]: one browser driven in readable steps: [`Page::visit`] a path of the app,
//!   [`Page::fill`], [`Page::choose`], [`Page::click`], [`Page::submit`], [`Page::read`] a table or a message
//!   with a script. Every step notes what it did and the URL it ended on ([`Page::steps`]), and
//!   a failing one names the step and its URL in the error. Values typed are never noted.
//! - **The job's record**: when the call has a [`StepRecorder`] (the bot's), every page loaded,
//!   every click and every failing step is recorded with the URL and a screenshot (the bot seals
//!   them); [`Page::failed`] records a failure the connector decides.
//! - **Answers**: a page the browser could not load (reset, refused) is `Unavailable`; a 429 is
//!   `RateLimited` and a 502, 503 or 504 `Unavailable`. Page loads that only read ([`Page::visit`])
//!   are retried in the call, after 1 s then 2 s: a browser cannot read an answer's
//!   `Retry-After` header (WebDriver exposes no headers). A write ([`Page::submit`]) is never sent
//!   twice in a call; the engine re-reads before it tries again.
//! - **Sessions**: the cookies of a signed-in browser are the [`AppSession`]'s token (JSON, a
//!   secret), which the bot keeps sealed in the store between jobs like any app session.
//! - **Where the browser may go**: the hub's base URL is checked against the hub's address
//!   policy as for HTTP connectors, its name resolved once, and the browser reaches that address
//!   and nothing else ([`TabScope`]).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use castellan_core::connector::browser::{
    BrowserCookie, BrowserEngine, BrowserTab, PageLoad, TabScope,
};
use castellan_core::connector::steps::{RecordedStep, StepRecorder};
use castellan_core::connector::{AppSession, ConnectorContext as Ctx, ConnectorError as E};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::address::{policy_of, AddressPolicy};
use super::http::BaseUrl;
use super::redact;

type R<T> = Result<T, E>;

/// How long an idle browser is kept for its session.
pub const IDLE: Duration = Duration::from_secs(60);
/// The waits before the in-call retries of a page load that only reads.
const RETRY_WAITS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];
/// Steps kept in a page's record (the last ones).
const KEPT_STEPS: usize = 50;
/// How many times [`Page::submit`] types again what a page's scripts took from its fields.
const RETYPES: usize = 3;

/// The browser engine and the idle browsers of every browser connector of a process. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct BrowserBot {
    engine: Arc<dyn BrowserEngine>,
    idle: Arc<Mutex<Vec<(u64, Instant, Page)>>>,
    /// Calls waiting for a browser: while any waits, no browser is kept idle (it would hold a
    /// place in the pool the waiting call needs).
    waiting: Arc<AtomicUsize>,
    /// Whether a task is closing idle browsers past [`IDLE`] (one at a time, while any is idle).
    sweeping: Arc<AtomicBool>,
}

impl BrowserBot {
    /// A bot on `engine`.
    pub fn new(engine: Arc<dyn BrowserEngine>) -> Self {
        let (idle, waiting, sweeping) = (Arc::default(), Arc::default(), Arc::default());
        Self {
            engine,
            idle,
            waiting,
            sweeping,
        }
    }

    /// A new browser at the hub's base URL for `app` (its name in messages): the URL checked
    /// against the hub's address policy and resolved once ([`TabScope`]).
    ///
    /// Errors: `Configuration` for a base URL the policy refuses or a name that does not
    /// resolve; `Unavailable` when no browser can be had.
    pub async fn open(&self, ctx: &Ctx, app: &'static str) -> R<Page> {
        let policy = policy_of(ctx, AddressPolicy::SELF_HOSTED);
        let base = BaseUrl::parse(&ctx.base_url, policy)?;
        let url = url::Url::parse(base.as_str()).map_err(|e| E::Configuration(e.to_string()))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let unresolved =
            || E::Configuration(format!("the base URL's host {host} does not resolve"));
        let name = host.trim_matches(['[', ']']);
        let found = tokio::net::lookup_host((name, port)).await;
        let ip = found
            .ok()
            .and_then(|mut f| f.next())
            .ok_or_else(unresolved)?
            .ip();
        policy
            .check(ip)
            .map_err(|r| E::Configuration(format!("the base URL: {r}")))?;
        self.close_idle(None);
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let tab = self.engine.open(&TabScope { host, port, ip }).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let tab = tab?;
        let base = base.as_str().to_owned();
        Ok(Page {
            tab,
            base,
            app,
            steps: Vec::new(),
            broken: false,
            recorder: ctx.steps.clone(),
            typed: Vec::new(),
        })
    }

    /// A new browser ([`Self::open`]) signed in with `cookies` a person uploaded: `landing` (a
    /// page of the app that needs no session) is opened and the cookies set ([`Page::restore`]).
    /// The connector then checks the app takes them as its automation account.
    ///
    /// Errors: [`Self::open`]'s and [`Page::restore`]'s.
    pub async fn open_with(
        &self,
        ctx: &Ctx,
        app: &'static str,
        cookies: Vec<BrowserCookie>,
        landing: &str,
    ) -> R<Page> {
        let mut p = self.open(ctx, app).await?;
        let token = serde_json::to_string(&cookies).map_err(|e| E::Configuration(e.to_string()))?;
        let uploaded = AppSession {
            token: token.into(),
            data: Value::Null,
        };
        p.restore(&uploaded, landing).await?;
        Ok(p)
    }

    /// The bot a browser connector holds, or `Unavailable` when there is none (Chromium is
    /// missing: the connector was made without a bot).
    pub fn running(bot: Option<&BrowserBot>) -> R<&BrowserBot> {
        let why = "the browser bot is not running (Chromium is missing: see the README)";
        bot.ok_or_else(|| E::Unavailable(why.into()))
    }

    /// The idle browser of session `s`, if any (idle ones past [`IDLE`] are closed).
    pub fn take(&self, ctx: &Ctx, s: &AppSession) -> Option<Page> {
        let key = key(ctx, s);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let at = idle
            .iter()
            .position(|(k, t, _)| *k == key && t.elapsed() < IDLE)?;
        let mut page = idle.swap_remove(at).2;
        page.recorder = ctx.steps.clone();
        Some(page)
    }

    /// Keeps `page`, signed in as `s`, for the session's next call (a page whose browser failed
    /// is closed instead).
    pub fn keep(&self, ctx: &Ctx, s: &AppSession, mut page: Page) {
        page.recorder = None;
        if page.broken || self.waiting.load(Ordering::SeqCst) > 0 {
            return close(page);
        }
        let entry = (key(ctx, s), Instant::now(), page);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry);
        // Closed once idle for [`IDLE`], unless taken before: one sweeping task while any
        // browser is idle.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.sweeping.swap(true, Ordering::SeqCst) {
            let bot = self.clone();
            rt.spawn(async move {
                loop {
                    tokio::time::sleep(IDLE / 4).await;
                    bot.close_idle(Some(IDLE));
                    let empty = || {
                        bot.idle
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .is_empty()
                    };
                    if !empty() {
                        continue;
                    }
                    bot.sweeping.store(false, Ordering::SeqCst);
                    // A browser kept meanwhile saw the flag still set: sweep on for it, unless
                    // another task already does.
                    if empty() || bot.sweeping.swap(true, Ordering::SeqCst) {
                        break;
                    }
                }
            });
        }
    }

    /// Closes the idle browsers (those past [`IDLE`] only, with `Some(IDLE)`), giving their
    /// places in the pool back.
    fn close_idle(&self, older_than: Option<Duration>) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let all = std::mem::take(&mut *idle);
        for (k, t, page) in all {
            match older_than {
                Some(age) if t.elapsed() < age => idle.push((k, t, page)),
                _ => close(page),
            }
        }
    }
}

/// The browser of one call of a browser connector, signed in as a session: the session's idle
/// browser, or on first use a new one with the session's cookies (set at `landing`, a page of
/// the app that needs no session); kept idle again for the session when the call ends.
#[derive(Debug)]
pub struct CallPage {
    bot: BrowserBot,
    ctx: Ctx,
    s: AppSession,
    app: &'static str,
    landing: &'static str,
    page: tokio::sync::Mutex<Option<Page>>,
}

impl CallPage {
    /// The browser of a call as `s` for `app` (its name in messages); none is opened yet.
    pub fn new(
        bot: BrowserBot,
        ctx: Ctx,
        s: AppSession,
        app: &'static str,
        landing: &'static str,
    ) -> Self {
        let page = tokio::sync::Mutex::new(None);
        Self {
            bot,
            ctx,
            s,
            app,
            landing,
            page,
        }
    }

    /// The call's context.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The page, signed in (taken or opened on first use).
    ///
    /// Errors: [`BrowserBot::open`]'s and those of restoring the session.
    pub async fn get(&self) -> R<tokio::sync::MappedMutexGuard<'_, Page>> {
        let mut g = self.page.lock().await;
        if g.is_none() {
            let p = match self.bot.take(&self.ctx, &self.s) {
                Some(p) => p,
                None => {
                    let mut p = self.bot.open(&self.ctx, self.app).await?;
                    p.restore(&self.s, self.landing).await?;
                    p
                }
            };
            *g = Some(p);
        }
        Ok(tokio::sync::MutexGuard::map(g, |p| {
            p.as_mut().expect("opened above")
        }))
    }
}

impl Drop for CallPage {
    fn drop(&mut self) {
        if let Some(p) = self.page.get_mut().take() {
            self.bot.keep(&self.ctx, &self.s, p);
        }
    }
}

/// Ends a page's browser in the background.
fn close(page: Page) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(page.tab.close());
    }
}

/// The key of a session's idle browser: the base URL and the session's token.
fn key(ctx: &Ctx, s: &AppSession) -> u64 {
    let mut h = DefaultHasher::new();
    (ctx.base_url.as_str(), s.token.expose_secret()).hash(&mut h);
    h.finish()
}

/// A session whose token is the browser's cookies (JSON) and `data` the connector's values.
///
/// Errors: `Unavailable` when the cookies cannot be read.
pub async fn session_of(page: &mut Page, data: Value) -> R<AppSession> {
    let cookies = page.tab.cookies().await?;
    let json = serde_json::to_string(&cookies).map_err(|e| E::Unavailable(e.to_string()))?;
    Ok(AppSession {
        token: SecretString::from(json),
        data,
    })
}

/// The cookies of a session made by [`session_of`] (none for another token).
pub fn cookies_of(s: &AppSession) -> Vec<BrowserCookie> {
    serde_json::from_str(s.token.expose_secret()).unwrap_or_default()
}

/// One step a page took: what it did and the URL it ended on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What, e.g. ``visit /wp-admin/users.php`` or ``fill `#user_login` ``.
    pub what: String,
    /// The URL the page showed after it.
    pub url: String,
}

/// One browser at an app's base URL, driven in steps (see the module's doc).
pub struct Page {
    tab: Box<dyn BrowserTab>,
    base: String,
    app: &'static str,
    steps: Vec<Step>,
    broken: bool,
    /// Where the current call's job records its steps.
    recorder: Option<Arc<dyn StepRecorder>>,
    /// What [`Page::fill`] typed into the page shown (field, value), checked before a submit.
    typed: Vec<(String, SecretString)>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("base", &self.base)
            .field("steps", &self.steps.len())
            .finish()
    }
}

impl Page {
    /// The steps taken, oldest first (the last [`KEPT_STEPS`]).
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The URL of `path` (starting with `/`) at the base URL.
    pub fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The path (and query) of the URL the page shows, relative to the base URL.
    pub fn path(&self) -> &str {
        let url = self.steps.last().map_or("", |s| s.url.as_str());
        url.strip_prefix(&self.base).unwrap_or(url)
    }

    fn note(&mut self, what: String, url: &str) {
        if self.steps.len() == KEPT_STEPS {
            self.steps.remove(0);
        }
        self.steps.push(Step {
            what,
            url: url.to_owned(),
        });
    }

    /// `r`, with the step and the page's URL in the message of an error; an `Unavailable`
    /// marks the browser broken (not kept for the next call).
    fn noted<T>(&mut self, what: &str, r: R<T>) -> R<T> {
        r.map_err(|e| {
            // A URL can carry a secret (an emailed link's key): its secret parameters redacted.
            let at = self
                .steps
                .last()
                .map_or(String::new(), |s| format!(" at {}", redact::url(&s.url)));
            let say = |m: String| format!("{}: {what}{at}: {m}", self.app);
            match e {
                E::Unavailable(m) => {
                    self.broken = true;
                    E::Unavailable(say(m))
                }
                E::AppChanged(m) => E::AppChanged(say(m)),
                e => e,
            }
        })
    }

    /// [`Self::noted`], and an error recorded in the job's record with a screenshot.
    async fn checked<T>(&mut self, what: &str, r: R<T>) -> R<T> {
        let r = self.noted(what, r);
        if let Err(e) = &r {
            self.record(what, Some(e)).await;
        }
        r
    }

    /// Records `what` in the job's record (when the call has one): the URL the page shows, a
    /// screenshot unless the browser failed, and the error of a failing step.
    async fn record(&mut self, what: &str, error: Option<&E>) {
        let Some(recorder) = self.recorder.clone() else {
            return;
        };
        let url = self
            .steps
            .last()
            .map_or(String::new(), |s| redact::url(&s.url));
        let screenshot = match self.broken {
            true => None,
            false => self.tab.screenshot().await.ok(),
        };
        let error = error.map(ToString::to_string);
        let what = what.to_owned();
        recorder
            .record(RecordedStep {
                what,
                url,
                error,
                screenshot,
            })
            .await;
    }

    /// How a page load ended, as an error when the app did not answer with the page.
    fn answered(&self, what: &str, load: &PageLoad) -> R<()> {
        let app = self.app;
        let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
        let elsewhere = origin(&load.url) != origin(&self.base);
        match (load.failed, load.status) {
            // The browser may reach the hub's origin only: the app sent it somewhere else.
            (true, _) if elsewhere => Err(E::Configuration(format!(
                "{app} sent the browser to {}, outside the hub's base URL {}: give the address \
                 the app itself uses ({what})",
                origin(&load.url).map_or("?".into(), |o| o.ascii_serialization()),
                self.base
            ))),
            (true, _) => Err(E::Unavailable(format!("{app} did not answer ({what})"))),
            (_, Some(429)) => Err(E::RateLimited { retry_after: None }),
            (_, Some(s @ (502..=504))) => {
                Err(E::Unavailable(format!("{app} answered {s} ({what})")))
            }
            _ => Ok(()),
        }
    }

    /// Loads `path` (starting with `/`) of the app; a page the app did not give (no answer, 429,
    /// 502 to 504) is loaded again after 1 s, then 2 s.
    ///
    /// Errors: `RateLimited` or `Unavailable` after the retries.
    pub async fn visit(&mut self, path: &str) -> R<PageLoad> {
        self.load(path, format!("visit {path}")).await
    }

    /// Opens `path`, a link that signs in (an emailed link's path and query:
    /// [`crate::sdk::emailed::emailed_link`]), as [`Self::visit`] does; the job's record names
    /// the step `what`, never the link.
    pub async fn open_link(&mut self, path: &str, what: &str) -> R<PageLoad> {
        self.load(path, what.to_owned()).await
    }

    async fn load(&mut self, path: &str, what: String) -> R<PageLoad> {
        let url = self.url_of(path);
        let mut waits = RETRY_WAITS.iter();
        self.typed.clear();
        loop {
            let load = self.tab.goto(&url).await;
            let load = self.checked(&what, load).await?;
            self.note(what.clone(), &load.url);
            match self.answered(&what, &load) {
                Err(e) if e.is_retryable() => match waits.next() {
                    Some(wait) => tokio::time::sleep(*wait).await,
                    None => return self.checked(&what, Err(e)).await,
                },
                Err(e) => return self.checked(&what, Err(e)).await,
                Ok(()) => {
                    self.record(&what, None).await;
                    return Ok(load);
                }
            }
        }
    }

    /// Types `value` into the field `css` (the value is never noted).
    ///
    /// Errors: `AppChanged` when the field is not on the page.
    pub async fn fill(&mut self, css: &str, value: &str) -> R<()> {
        let what = format!("fill `{css}`");
        let r = self.tab.fill(css, value).await;
        self.checked(&what, r).await?;
        self.typed.retain(|(c, _)| c != css);
        self.typed.push((css.to_owned(), value.into()));
        Ok(())
    }

    /// Types again each value [`Self::fill`] typed into this page that is no longer in its
    /// field, until all hold (at most [`RETYPES`] rounds). A page's script that moves the focus
    /// while a value is typed (WordPress's sign-in page selects the username 200 ms after it
    /// loads) sends the rest of the value to another field; one may also fill a field itself.
    ///
    /// Errors: `AppChanged` naming the field that keeps losing its value.
    async fn retype(&mut self, what: &str) -> R<()> {
        const VALUE: &str =
            "const e = document.querySelector(arguments[0]); return e ? e.value : null;";
        let typed = self.typed.clone();
        let mut round = 0;
        loop {
            let mut lost = Vec::new();
            for (css, value) in &typed {
                let now = self.tab.read(VALUE, vec![Value::from(css.as_str())]).await;
                let now = self.checked(what, now).await?;
                if now.as_str() != Some(value.expose_secret()) {
                    lost.push((css, value));
                }
            }
            if lost.is_empty() {
                return Ok(());
            }
            if round == RETYPES {
                let names: Vec<String> = lost.iter().map(|(c, _)| format!("`{c}`")).collect();
                let why = format!(
                    "the page keeps changing what was typed into {}",
                    names.join(", ")
                );
                return self.checked(what, Err(E::AppChanged(why))).await;
            }
            round += 1;
            for (css, value) in lost {
                let r = self.tab.fill(css, value.expose_secret()).await;
                self.checked(&format!("fill `{css}` again"), r).await?;
            }
        }
    }

    /// Chooses the option `value` of the select `css`.
    ///
    /// Errors: `AppChanged` when the select or the option is not on the page.
    pub async fn choose(&mut self, css: &str, value: &str) -> R<()> {
        let what = format!("choose `{value}` in `{css}`");
        let r = self.tab.choose(css, value).await;
        self.checked(&what, r).await
    }

    /// Clicks `css`: something that loads no page (a box, a panel's toggle).
    ///
    /// Errors: `AppChanged` when `css` is not on the page.
    pub async fn click(&mut self, css: &str) -> R<()> {
        let what = format!("click `{css}`");
        let r = self.tab.click(css).await;
        self.checked(&what, r).await?;
        self.record(&what, None).await;
        Ok(())
    }

    /// Clicks `css` (a submit button, a link) and waits for the page it loads. Sent once: a
    /// page the app did not give is an error, not retried here. Before, the values
    /// [`Self::fill`] typed into this page are checked and typed again where the page's scripts
    /// changed them.
    ///
    /// Errors: `AppChanged` when `css` is not on the page, stays disabled, or a field keeps
    /// losing what was typed; `RateLimited`, `Unavailable`.
    pub async fn submit(&mut self, css: &str) -> R<PageLoad> {
        let what = format!("submit `{css}`");
        self.retype(&what).await?;
        let load = self.tab.submit(css).await;
        self.typed.clear();
        let load = self.checked(&what, load).await?;
        self.note(what.clone(), &load.url);
        let r = self.answered(&what, &load);
        self.checked(&what, r).await?;
        self.record(&what, None).await;
        Ok(load)
    }

    /// Waits up to `timeout` for `css`; whether it came.
    pub async fn wait_for(&mut self, css: &str, timeout: Duration) -> R<bool> {
        let r = self.tab.wait_for(css, timeout).await;
        self.checked(&format!("wait for `{css}`"), r).await
    }

    /// Waits up to `timeout` for `css` to be shown (laid out with a height: e.g. a panel a click
    /// slides open); whether it was.
    pub async fn wait_shown(&mut self, css: &str, timeout: Duration) -> R<bool> {
        // Laid out, and what a click at its centre would hit (not clipped by a sliding panel).
        const SHOWN: &str = "const e = document.querySelector(arguments[0]); if (!e) return false; \
                             const r = e.getBoundingClientRect(); if (r.height <= 0) return false; \
                             const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); \
                             return !!at && (at === e || e.contains(at));";
        let deadline = Instant::now() + timeout;
        loop {
            let shown = self.tab.read(SHOWN, vec![Value::from(css)]).await;
            let shown = self
                .checked(&format!("wait for `{css}` to show"), shown)
                .await?;
            if shown == Value::Bool(true) {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` (a function body reading the page; `arguments` are `args`) and reads its
    /// JSON result as `T`.
    ///
    /// Errors: `AppChanged` when the result is not a `T` (the page is not the one expected).
    pub async fn read<T: DeserializeOwned>(
        &mut self,
        what: &str,
        script: &str,
        args: Vec<Value>,
    ) -> R<T> {
        let v = self.tab.read(script, args).await;
        let v = self.checked(what, v).await?;
        let t =
            serde_json::from_value(v).map_err(|e| E::AppChanged(format!("unexpected page: {e}")));
        self.checked(what, t).await
    }

    /// `e`, recorded as the failing step `what` of the job's record with a screenshot of the
    /// page: for a failure the connector decides (a page it does not know, a challenge).
    pub async fn failed(&mut self, what: &str, e: E) -> E {
        self.record(what, Some(&e)).await;
        e
    }

    /// A PNG screenshot of what the page shows now.
    pub async fn screenshot(&mut self) -> R<Vec<u8>> {
        let r = self.tab.screenshot().await;
        self.noted("take a screenshot", r)
    }

    /// Signs the browser in with `s`'s cookies: loads `path` (a page of the app that needs no
    /// session, so the cookies have their origin), then adds them.
    /// A cookie without a domain is the base URL host's own (WebDriver refuses an empty one).
    pub async fn restore(&mut self, s: &AppSession, path: &str) -> R<()> {
        self.visit(path).await?;
        let host = url::Url::parse(&self.base)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()));
        let mut cookies = cookies_of(s);
        for c in &mut cookies {
            if c.domain.as_deref().is_none_or(str::is_empty) {
                c.domain.clone_from(&host);
            }
        }
        let r = self.tab.add_cookies(&cookies).await;
        self.checked("restore the session", r).await
    }
}
