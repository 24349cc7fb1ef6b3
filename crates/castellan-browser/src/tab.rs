//! One Chromium, driven one step at a time ([`BrowserTab`]).

use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use castellan_core::connector::browser::{BrowserCookie, BrowserTab, PageLoad};
use castellan_core::connector::ConnectorError as E;
use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;

type R<T> = Result<T, E>;

/// The status of the document the tab shows (`PerformanceNavigationTiming.responseStatus`,
/// <https://w3c.github.io/navigation-timing/#dom-performanceresourcetiming-responsestatus>).
/// The page's own `location` is `chrome-error://…` when the browser shows its error page
/// (WebDriver's current URL is then the URL asked for).
const STATUS: &str = "const n = performance.getEntriesByType('navigation')[0]; \
                      return [location.href, n && n.responseStatus ? n.responseStatus : null];";

/// Marks the document shown before a click that should load another.
const MARK: &str = "window.__castellanOldPage = true;";
/// Whether a new document (without the mark) has loaded.
const NEW_PAGE: &str = "return !window.__castellanOldPage && document.readyState === 'complete';";

/// A Chromium session of [`crate::ChromiumEngine`]: its WebDriver client, its place in the
/// pool and its profile directory. Ended by [`BrowserTab::close`], or in the background when
/// dropped.
#[derive(Debug)]
pub struct ChromiumTab {
    client: Option<Client>,
    permit: Option<OwnedSemaphorePermit>,
    profile: Option<tempfile::TempDir>,
    step: Duration,
}

impl ChromiumTab {
    pub(crate) fn new(
        client: Client,
        permit: OwnedSemaphorePermit,
        profile: tempfile::TempDir,
        step: Duration,
    ) -> Self {
        let (client, permit, profile) = (Some(client), Some(permit), Some(profile));
        Self {
            client,
            permit,
            profile,
            step,
        }
    }

    fn client(&self) -> R<&Client> {
        self.client
            .as_ref()
            .ok_or_else(|| E::Unavailable("the browser has ended".into()))
    }

    /// `f` within the step timeout, its WebDriver error mapped ([`mapped`]); `what` names the
    /// step in errors (never a value typed).
    async fn step<T>(&self, what: &str, f: impl Future<Output = Result<T, CmdError>>) -> R<T> {
        match tokio::time::timeout(self.step + Duration::from_secs(5), f).await {
            Ok(r) => r.map_err(|e| mapped(&e, what)),
            Err(_) => Err(E::Unavailable(format!(
                "{what}: no answer in {} s",
                self.step.as_secs()
            ))),
        }
    }

    /// A step that loads a page, as [`Self::step`], except that a page the browser could not
    /// load is no error here: chromedriver reports it (`net::ERR_…`), the browser shows its
    /// error page, and `loaded` reads it as failed.
    async fn navigate(&self, what: &str, f: impl Future<Output = Result<(), CmdError>>) -> R<()> {
        let f = async {
            match f.await {
                Err(e) if e.to_string().contains("net::ERR_") => Ok(()),
                r => r,
            }
        };
        self.step(what, f).await
    }

    async fn find(&self, css: &str) -> R<fantoccini::elements::Element> {
        let c = self.client()?;
        self.step(&format!("find `{css}`"), c.find(Locator::Css(css)))
            .await
    }
}

/// A WebDriver error as a connector error: no such element (or one that cannot be used) is
/// `AppChanged` (the page is not the one the flow knows); the rest — a timeout, a network error
/// of the page, a browser or driver that died — is `Unavailable`.
fn mapped(e: &CmdError, what: &str) -> E {
    let detail = format!("{what}: {e}");
    if e.is_no_such_element()
        || e.is_element_not_interactable()
        || e.is_invalid_selector()
        || e.is_javascript_error()
        || e.is_stale_element_reference()
    {
        E::AppChanged(detail)
    } else {
        E::Unavailable(detail)
    }
}

#[async_trait]
impl BrowserTab for ChromiumTab {
    async fn goto(&mut self, url: &str) -> R<PageLoad> {
        let c = self.client()?;
        self.navigate("load a page", c.goto(url)).await?;
        self.loaded().await
    }

    async fn loaded(&mut self) -> R<PageLoad> {
        let c = self.client()?;
        let url = self
            .step("read the URL", c.current_url())
            .await?
            .to_string();
        let v = self
            .step("read the status", c.execute(STATUS, vec![]))
            .await?;
        let failed = v[0]
            .as_str()
            .unwrap_or_default()
            .starts_with("chrome-error:");
        let status = v[1].as_u64().and_then(|s| u16::try_from(s).ok());
        Ok(PageLoad {
            url,
            status,
            failed,
        })
    }

    async fn fill(&mut self, css: &str, value: &str) -> R<()> {
        // WebDriver reads U+E000..U+F8FF as keys (Enter, Tab…): typed, they would submit the
        // form or move to another field (W3C WebDriver §17.4.2, "keyboard actions").
        if value
            .chars()
            .any(|c| ('\u{E000}'..='\u{F8FF}').contains(&c))
        {
            let why = format!(
                "the value for `{css}` holds private-use characters a browser would read as keys"
            );
            return Err(E::Configuration(why));
        }
        let field = self.find(css).await?;
        self.step(&format!("clear `{css}`"), field.clear()).await?;
        self.step(&format!("type into `{css}`"), field.send_keys(value))
            .await
    }

    async fn choose(&mut self, css: &str, value: &str) -> R<()> {
        let select = self.find(css).await?;
        self.step(&format!("choose in `{css}`"), select.select_by_value(value))
            .await
    }

    async fn click(&mut self, css: &str) -> R<()> {
        let el = self.find(css).await?;
        self.step(&format!("click `{css}`"), el.click()).await
    }

    async fn submit(&mut self, css: &str) -> R<PageLoad> {
        let el = self.find(css).await?;
        // A page's scripts may hold the button disabled for a while (WordPress's, until its
        // password-strength meter has judged the password): a click would then send nothing.
        let deadline = Instant::now() + self.step;
        let asked = format!("read whether `{css}` is enabled");
        while !self.step(&asked, el.is_enabled()).await? {
            if Instant::now() >= deadline {
                return Err(E::AppChanged(format!(
                    "`{css}` stayed disabled for {} s: the page wants something the flow does not give",
                    self.step.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let c = self.client()?;
        self.step("mark the page", c.execute(MARK, vec![])).await?;
        self.navigate(&format!("click `{css}`"), el.click()).await?;
        // A new document has no mark; until it has loaded, scripts may fail or see the old one.
        let deadline = Instant::now() + self.step;
        loop {
            let c = self.client()?;
            if let Ok(v) = c.execute(NEW_PAGE, vec![]).await {
                if v == Value::Bool(true) {
                    return self.loaded().await;
                }
            }
            if Instant::now() >= deadline {
                let why = format!(
                    "no page came in {} s after clicking `{css}`",
                    self.step.as_secs()
                );
                return Err(E::Unavailable(why));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_for(&mut self, css: &str, timeout: Duration) -> R<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let c = self.client()?;
            match self
                .step("look for an element", c.find_all(Locator::Css(css)))
                .await
            {
                Ok(found) if !found.is_empty() => return Ok(true),
                Ok(_) | Err(E::AppChanged(_)) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn read(&mut self, script: &str, args: Vec<Value>) -> R<Value> {
        let c = self.client()?;
        self.step("read the page", c.execute(script, args)).await
    }

    async fn screenshot(&mut self) -> R<Vec<u8>> {
        let c = self.client()?;
        self.step("take a screenshot", c.screenshot()).await
    }

    async fn cookies(&mut self) -> R<Vec<BrowserCookie>> {
        let c = self.client()?;
        let all = self.step("read the cookies", c.get_all_cookies()).await?;
        Ok(all.iter().map(from_webdriver).collect())
    }

    async fn add_cookies(&mut self, cookies: &[BrowserCookie]) -> R<()> {
        let c = self.client()?;
        for k in cookies {
            self.step("set a cookie", c.add_cookie(to_webdriver(k)))
                .await?;
        }
        Ok(())
    }

    async fn close(mut self: Box<Self>) {
        if let Some(c) = self.client.take() {
            let _ = tokio::time::timeout(self.step, c.close()).await;
        }
    }
}

impl Drop for ChromiumTab {
    /// Ends the browser in the background (a tab dropped without [`BrowserTab::close`], e.g. a
    /// cancelled job); the pool's place and the profile are given back once it has ended.
    fn drop(&mut self) {
        let (client, permit, profile) =
            (self.client.take(), self.permit.take(), self.profile.take());
        let Some(client) = client else { return };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let step = self.step;
            rt.spawn(async move {
                let _ = tokio::time::timeout(step, client.close()).await;
                drop((permit, profile));
            });
        }
    }
}

fn from_webdriver(k: &cookie::Cookie<'static>) -> BrowserCookie {
    let expiry = k
        .expires_datetime()
        .and_then(|t| u64::try_from(t.unix_timestamp()).ok());
    BrowserCookie {
        name: k.name().to_owned(),
        value: k.value().to_owned(),
        path: k.path().map(str::to_owned),
        domain: k.domain().map(str::to_owned),
        secure: k.secure().unwrap_or(false),
        http_only: k.http_only().unwrap_or(false),
        expiry,
    }
}

fn to_webdriver(k: &BrowserCookie) -> cookie::Cookie<'static> {
    let mut c = cookie::Cookie::new(k.name.clone(), k.value.clone());
    c.set_path(k.path.clone().unwrap_or_else(|| "/".into()));
    if let Some(d) = &k.domain {
        c.set_domain(d.clone());
    }
    // fantoccini sends `SameSite=None` when none is set, which Chromium refuses without
    // `Secure`; the browser reports none (WebDriver's cookies carry it, fantoccini drops it).
    c.set_same_site(cookie::SameSite::Lax);
    c.set_secure(k.secure);
    c.set_http_only(k.http_only);
    let at = k.expiry.and_then(|s| i64::try_from(s).ok());
    if let Some(t) = at.and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok()) {
        c.set_expires(t);
    }
    c
}
