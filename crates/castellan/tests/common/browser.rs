//! A real headless Chromium (Debian's `chromium`) driven through `chromedriver` (W3C
//! WebDriver) with fantoccini. Screenshots go to `target/browser-screenshots/<test>/`.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// Fails with a clear message when a tool the browser test needs is missing.
pub fn require(tool: &str, package: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{tool}` is missing: install the Debian package `{package}` (scripts/install-test-deps.sh does)"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver process and a browser session; both end when dropped.
pub struct Browser {
    pub c: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    step: usize,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session with a
    /// fresh profile and a 1280×900 window. `name` names the screenshot folder.
    pub async fn start(name: &str) -> Browser {
        require("chromium", "chromium");
        require("chromedriver", "chromium-driver");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = free_port();
        // Its own process group, so that dropping the browser ends Chromium too, even when a
        // test panics before closing its session.
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let c = loop {
            match ClientBuilder::rustls()
                .expect("rustls")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "chromedriver did not answer: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/browser-screenshots")
            .join(name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            c,
            driver,
            _profile: profile,
            shots,
            step: 0,
        }
    }

    /// Saves a PNG screenshot named `NN-<what>.png`.
    pub async fn shot(&mut self, what: &str) {
        self.step += 1;
        let png = self.c.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{:02}-{what}.png", self.step));
        std::fs::write(&path, png).unwrap();
    }

    /// Scrolls the element `css` to the middle of the window, then saves a screenshot.
    pub async fn shot_at(&mut self, css: &str, what: &str) {
        self.js(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
            vec![json!(css)],
        )
        .await;
        self.shot(what).await;
    }

    /// Opens `url` and waits for the document to load.
    pub async fn goto(&self, url: &str) {
        self.c.goto(url).await.expect("goto");
    }

    /// The element matching `css`, waiting up to 20 s for it to appear. A wait cut short by a
    /// navigation (a form's answer arriving) starts again on the new page.
    pub async fn el(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self
                .c
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css(css))
                .await
            {
                Ok(e) => return e,
                Err(e)
                    if e.to_string().contains("aborted by navigation")
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no element `{css}`: {e}"),
            }
        }
    }

    /// The element matching `css`, waiting up to `secs` for it to appear (without reloading).
    pub async fn el_within(&self, css: &str, secs: u64) -> Element {
        self.c
            .wait()
            .at_most(Duration::from_secs(secs))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element `{css}` within {secs} s: {e}"))
    }

    /// Clears the field `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.el(css).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        self.el(css).await.click().await.expect("click");
    }

    /// Chooses the option of the <select> `css` whose text or value is `text` (case-insensitive),
    /// else the first whose text contains it.
    pub async fn select(&self, css: &str, text: &str) {
        // Wait for the <select> first: after a click that navigates, the next page may not
        // be there yet (the script would then find no element).
        self.el(css).await;
        let found: bool = self
            .js(
                "const s = document.querySelector(arguments[0]);
                 const want = arguments[1].toLowerCase();
                 const opts = [...s.options];
                 const o = opts.find(o => o.text.trim().toLowerCase() === want || o.value.toLowerCase() === want)
                        || opts.find(o => o.text.toLowerCase().includes(want));
                 if (!o) return false; s.value = o.value;
                 s.dispatchEvent(new Event('change', {bubbles: true})); return true;",
                vec![json!(css), json!(text)],
            )
            .await
            .as_bool()
            .unwrap_or(false);
        assert!(found, "no option containing `{text}` in `{css}`");
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.c.execute(script, args).await.expect("execute")
    }

    /// The page's current HTML.
    pub async fn html(&self) -> String {
        self.c.source().await.expect("source")
    }

    /// The visible text of the page body.
    pub async fn text(&self) -> String {
        self.el("body").await.text().await.expect("text")
    }

    /// The current URL's path.
    pub async fn path(&self) -> String {
        self.c.current_url().await.expect("url").path().to_owned()
    }

    /// Waits (up to `secs`, without reloading) until the page's visible text contains
    /// `needle`: a form's answer has arrived. Panics otherwise.
    pub async fn wait_text(&self, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            // Errors while the page changes under the script count as "not yet".
            let text = self
                .c
                .execute(
                    "return document.body ? document.body.innerText : '';",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            if text.contains(needle) {
                return;
            }
            assert!(Instant::now() < deadline, "no `{needle}` within {secs} s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to `secs`) until the current path is `want` (a form's answer may still be on
    /// its way after the click returns); returns the last path seen.
    pub async fn wait_path(&self, want: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let path = self.path().await;
            if path == want || Instant::now() > deadline {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to `secs`) until the page, reloaded every second, contains `needle` in its
    /// visible text. Returns the text.
    pub async fn reload_until(&self, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let t = self.text().await;
            if t.contains(needle) {
                return t;
            }
            assert!(Instant::now() < deadline, "`{needle}` never appeared:\n{t}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.c.refresh().await.expect("refresh");
        }
    }

    /// Waits (up to `secs`) until an element matching `css` is on the page, reloading it every
    /// second. Returns the page's visible text.
    pub async fn reload_until_css(&self, css: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.c.find(Locator::Css(css)).await.is_ok() {
                return self.text().await;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` never appeared:\n{}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.c.refresh().await.expect("refresh");
        }
    }

    /// Presses a key on the focused element (e.g. [`Key::Tab`], [`Key::Enter`]).
    pub async fn press(&self, key: Key) {
        let active = self.c.active_element().await.expect("active element");
        active
            .send_keys(&char::from(key).to_string())
            .await
            .expect("key");
    }

    /// Types text into the focused element.
    pub async fn type_here(&self, text: &str) {
        let active = self.c.active_element().await.expect("active element");
        active.send_keys(text).await.expect("type");
    }

    /// What the keyboard user is on: `{tag, id, name, type, label, focus_visible}`, where
    /// `label` is the accessible name from a <label>, `aria-label` or the text content, and
    /// `focus_visible` says whether a focus indicator (outline or box shadow) is drawn.
    pub async fn focused(&self) -> Value {
        self.js(
            "const e = document.activeElement;
             const lbl = (e.labels && e.labels.length) ? e.labels[0].textContent.trim()
                       : (e.getAttribute('aria-label') || e.textContent || e.value || '').trim();
             const cs = getComputedStyle(e);
             return {tag: e.tagName.toLowerCase(), id: e.id || '', name: e.getAttribute('name') || '',
                     type: e.getAttribute('type') || '', label: lbl.replace(/\\s+/g, ' '),
                     focus_visible: e.matches(':focus-visible') && (cs.outlineStyle !== 'none' || cs.boxShadow !== 'none')};",
            vec![],
        )
        .await
    }

    /// Tabs forward until the element with id `id` has focus (at most `max` presses) and
    /// returns the ids (or tag names) passed on the way, `id` included. Each stop must have an
    /// accessible name and a visible focus indicator.
    pub async fn tab_to(&self, id: &str, max: usize) -> Vec<String> {
        let mut seen = vec![];
        for _ in 0..max {
            self.press(Key::Tab).await;
            let f = self.focused().await;
            let here = f["id"].as_str().unwrap_or("").to_owned();
            let name = if here.is_empty() {
                f["tag"].as_str().unwrap().to_owned()
            } else {
                here.clone()
            };
            assert!(
                !f["label"].as_str().unwrap_or("").is_empty() || f["type"] == "hidden",
                "focus stop {name} has no accessible name: {f}"
            );
            assert_eq!(
                f["focus_visible"], true,
                "focus stop {name} shows no focus indicator: {f}"
            );
            seen.push(name);
            if here == id {
                return seen;
            }
        }
        panic!("#{id} not reached with {max} Tab presses; passed {seen:?}");
    }
}

impl Drop for Browser {
    /// Ends chromedriver's process group: chromedriver and the Chromium it started.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
