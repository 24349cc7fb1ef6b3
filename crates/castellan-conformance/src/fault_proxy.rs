//! A fault-injecting HTTP proxy for end-to-end tests: it sits between Castellan and a real app
//! on loopback, forwards every request, and on request fails chosen ones the way networks and
//! apps fail: the connection is reset before the app sees the request (or after the app carried
//! it out, before the answer), the app answers 503 or 429, the answer is slow, or the request is
//! held (the test then kills Castellan, or lets the request through late).
//! It logs every write it forwarded, so tests can check that no write was done twice
//! ([`FaultProxy::repeated_writes`]).
//!
//! One request per connection (`Connection: close`), HTTP/1.1 with `Content-Length` bodies:
//! what Castellan's connectors send. Every request header but the hop-by-hop ones (RFC 9110
//! §7.6.1) and `Host` is passed on, and every answer header but those and `Content-Length`
//! comes back (cookies and redirects included: web sign-ins work through the proxy); the proxy
//! follows no redirect.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};

/// What happens to a matching request.
#[derive(Debug)]
pub enum Fault {
    /// Close the connection without forwarding: the app never sees the request.
    Reset,
    /// Answer with this status (and a JSON error body) without forwarding.
    Status(u16),
    /// Answer with this status, these extra headers (e.g. `Retry-After`) and a JSON error body,
    /// without forwarding.
    StatusWith(u16, Vec<(String, String)>),
    /// Keep the request until the test releases it ([`Held`]).
    Hold(Arc<Held>),
    /// Forward the request, and keep the app's answer until the test releases it, when the
    /// answer's body contains this text (otherwise pass it on and stay armed).
    HoldAnswer(Arc<Held>, String),
    /// Wait this long, then forward: a slow network or a slow app.
    Delay(Duration),
    /// Forward the request, let the app carry it out, then close the connection without
    /// answering: the client cannot know whether its write was done.
    ResetAfter,
    /// Answer with this status and this HTML page without forwarding: an interstitial in
    /// front of the app (a captcha, a consent or maintenance page).
    Page(u16, String),
}

/// The `method` of [`FaultProxy::fail`] that matches every write: any method but `GET`, `HEAD`
/// and `OPTIONS`, and but the `POST`s [`FaultProxy::reads_by_post`] names.
pub const ANY_WRITE: &str = "WRITE";

/// The `method` of [`FaultProxy::fail`] that matches every read: `GET`, `HEAD`, `OPTIONS`, and
/// the `POST`s [`FaultProxy::reads_by_post`] names.
pub const ANY_READ: &str = "READ";

/// Whether `method` is a write (not `GET`, `HEAD` or `OPTIONS`).
fn is_write(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// Whether a request is a `POST` that only reads, by the paths [`FaultProxy::reads_by_post`]
/// names.
fn read_by_post(state: &State, method: &str, path: &str) -> bool {
    method == "POST" && state.reads.lock().unwrap().iter().any(|r| path.contains(r))
}

/// A held request: the test waits for it to arrive, then lets it through or drops it.
#[derive(Debug, Default)]
pub struct Held {
    arrived: Notify,
    release: Mutex<Option<oneshot::Sender<bool>>>,
    count: Mutex<usize>,
}

impl Held {
    /// Marks a request as held now; returns what releasing it sends.
    fn arm(&self) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        *self.release.lock().unwrap() = Some(tx);
        *self.count.lock().unwrap() += 1;
        self.arrived.notify_waiters();
        rx
    }

    /// Waits until a request is held (at most `limit`).
    pub async fn arrived(&self, limit: Duration) {
        if *self.count.lock().unwrap() > 0 {
            return;
        }
        tokio::time::timeout(limit, self.arrived.notified())
            .await
            .expect("the held request never came");
    }

    /// Lets the held request through to the app (whether or not its client is still there), or
    /// a held answer through to the client.
    pub fn forward(&self) {
        self.finish(true)
    }

    /// Drops the held request: the app never sees it.
    pub fn drop_it(&self) {
        self.finish(false)
    }

    fn finish(&self, forward: bool) {
        if let Some(tx) = self.release.lock().unwrap().take() {
            let _sent = tx.send(forward);
        }
    }
}

struct Rule {
    method: String,
    path_contains: String,
    fault: Fault,
    times: usize,
}

/// A write the proxy forwarded to the app, with the app's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The request body (JSON as sent).
    pub body: String,
    /// The app's status.
    pub status: u16,
}

struct State {
    upstream: String,
    /// The proxy's own base URL, which replaces the upstream's in answers.
    url: String,
    rules: Mutex<Vec<Rule>>,
    /// Path parts of `POST`s that only read ([`FaultProxy::reads_by_post`]).
    reads: Mutex<Vec<String>>,
    writes: Mutex<Vec<Write>>,
    requests: Mutex<Vec<(String, String)>>,
    http: reqwest::Client,
}

/// A running proxy; `url` is what a hub's base URL points at.
#[derive(Clone)]
pub struct FaultProxy {
    /// The proxy's base URL (`http://127.0.0.1:<port>`).
    pub url: String,
    state: Arc<State>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("url", &self.url)
            .field("upstream", &self.state.upstream)
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:18008`) on a free loopback port.
    pub async fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            url: url.clone(),
            rules: Mutex::new(vec![]),
            reads: Mutex::new(vec![]),
            writes: Mutex::new(vec![]),
            requests: Mutex::new(vec![]),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("the proxy's HTTP client builds"),
        });
        let st = state.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, st.clone()));
            }
        });
        FaultProxy { url, state }
    }

    /// Counts the `POST`s whose path contains `path_contains` as reads (APIs that query with
    /// `POST`, such as a GraphQL endpoint or Google Ads' `googleAds:search`): [`ANY_READ`]
    /// matches them, [`ANY_WRITE`] does not, and they are not logged as writes.
    pub fn reads_by_post(&self, path_contains: &str) {
        let mut reads = self.state.reads.lock().unwrap();
        reads.push(path_contains.to_owned());
    }

    /// Applies `fault` to the next `times` requests with this method ([`ANY_WRITE`] for any
    /// write, [`ANY_READ`] for any read) whose path contains `path_contains` (`""` for any
    /// path).
    pub fn fail(&self, method: &str, path_contains: &str, fault: Fault, times: usize) {
        self.state.rules.lock().unwrap().push(Rule {
            method: method.to_owned(),
            path_contains: path_contains.to_owned(),
            fault,
            times,
        });
    }

    /// Holds the next matching request; returns the handle to release it.
    pub fn hold(&self, method: &str, path_contains: &str) -> Arc<Held> {
        let held = Arc::new(Held::default());
        self.fail(method, path_contains, Fault::Hold(held.clone()), 1);
        held
    }

    /// Forwards the next matching request whose answer contains `answer_contains`, and keeps
    /// that answer until released: the app has carried the request out, the client has not
    /// heard back yet (e.g. a listing that read the app before a concurrent write landed).
    pub fn hold_answer(
        &self,
        method: &str,
        path_contains: &str,
        answer_contains: &str,
    ) -> Arc<Held> {
        let held = Arc::new(Held::default());
        self.fail(
            method,
            path_contains,
            Fault::HoldAnswer(held.clone(), answer_contains.to_owned()),
            1,
        );
        held
    }

    /// How many faults are still armed (the `times` not yet spent of every rule): 0 once every
    /// fault asked for has hit a request.
    pub fn pending(&self) -> usize {
        self.state
            .rules
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.times)
            .sum()
    }

    /// Every request that reached the proxy so far, as method and path (with the query), in
    /// order: e.g. to show a browser connector called no API endpoint.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Every write (any request but a `GET`, and but a `POST` that only reads) forwarded so far,
    /// in order.
    pub fn writes(&self) -> Vec<Write> {
        self.state.writes.lock().unwrap().clone()
    }

    /// The writes the app carried out (2xx) more than once with the same method, path and body:
    /// each such write once, in the order of its first success. Empty when no write was done
    /// twice.
    pub fn repeated_writes(&self) -> Vec<Write> {
        self.repeated_writes_where(|w| (200..300).contains(&w.status))
    }

    /// As [`FaultProxy::repeated_writes`], with `done` telling which writes the app carried out
    /// (a web form's is a redirect: POST/redirect/GET; a form shown again is a refusal).
    pub fn repeated_writes_where(&self, done: impl Fn(&Write) -> bool) -> Vec<Write> {
        let done: Vec<Write> = self.writes().into_iter().filter(|w| done(w)).collect();
        let mut repeated: Vec<Write> = Vec::new();
        for (i, w) in done.iter().enumerate() {
            let same = |o: &Write| o.method == w.method && o.path == w.path && o.body == w.body;
            if done[..i].iter().any(same) && !repeated.iter().any(same) {
                repeated.push(w.clone());
            }
        }
        repeated
    }
}

enum Plan {
    Forward,
    Reset,
    ResetAfter,
    Delay(Duration),
    Status(u16, Vec<(String, String)>),
    Page(u16, String),
    Hold(oneshot::Receiver<bool>),
    HoldAnswer(Arc<Held>, String),
}

fn plan(state: &State, method: &str, path: &str) -> Plan {
    let mut rules = state.rules.lock().unwrap();
    let write = is_write(method) && !read_by_post(state, method, path);
    let Some(i) = rules.iter().position(|r| {
        r.times > 0
            && (r.method == method
                || (r.method == ANY_WRITE && write)
                || (r.method == ANY_READ && !write))
            && path.contains(&r.path_contains)
    }) else {
        return Plan::Forward;
    };
    if let Fault::HoldAnswer(h, text) = &rules[i].fault {
        // Decided once the answer is known ([`hold_if_answer`]).
        return Plan::HoldAnswer(h.clone(), text.clone());
    }
    rules[i].times -= 1;
    match &rules[i].fault {
        Fault::Reset => Plan::Reset,
        Fault::ResetAfter => Plan::ResetAfter,
        Fault::Delay(d) => Plan::Delay(*d),
        Fault::Status(s) => Plan::Status(*s, vec![]),
        Fault::StatusWith(s, headers) => Plan::Status(*s, headers.clone()),
        Fault::Page(s, html) => Plan::Page(*s, html.clone()),
        Fault::Hold(h) => Plan::Hold(h.arm()),
        Fault::HoldAnswer(..) => unreachable!("decided above"),
    }
}

/// For a [`Fault::HoldAnswer`] rule: when `answer` contains its text and the rule is still
/// armed, spends it and returns the receiver to wait on before answering.
fn hold_if_answer(
    state: &State,
    held: &Arc<Held>,
    text: &str,
    answer: &[u8],
) -> Option<oneshot::Receiver<bool>> {
    if !String::from_utf8_lossy(answer).contains(text) {
        return None;
    }
    let mut rules = state.rules.lock().unwrap();
    let rule = rules.iter_mut().find(|r| {
        r.times > 0 && matches!(&r.fault, Fault::HoldAnswer(h, _) if Arc::ptr_eq(h, held))
    })?;
    rule.times -= 1;
    Some(held.arm())
}

/// Reads one request: method, path, headers (lowercased names) and body.
async fn read_request(
    sock: &mut TcpStream,
) -> Option<(String, String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let mut chunk = vec![0u8; len - body.len()];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((method, path, headers, body))
}

/// Headers that belong to one connection (RFC 9110 §7.6.1), and the body framing the proxy sets
/// itself.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
    )
}

async fn respond(sock: &mut TcpStream, status: u16, headers: &[(String, String)], body: &[u8]) {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    // The client may be gone (killed while the request was held): nothing to do then.
    let _gone = sock.write_all(out.as_bytes()).await;
    let _gone = sock.write_all(body).await;
    let _gone = sock.shutdown().await;
}

async fn serve(mut sock: TcpStream, state: Arc<State>) {
    let Some((method, path, headers, body)) = read_request(&mut sock).await else {
        return;
    };
    let seen = (method.clone(), path.clone());
    state.requests.lock().unwrap().push(seen);
    let mut answer_hold = None;
    let mut reset_after = false;
    match plan(&state, &method, &path) {
        Plan::Forward => {}
        Plan::HoldAnswer(h, text) => answer_hold = Some((h, text)),
        Plan::Reset => return,
        Plan::ResetAfter => reset_after = true,
        Plan::Delay(d) => tokio::time::sleep(d).await,
        Plan::Status(s, extra) => {
            let body = br#"{"errcode":"M_UNKNOWN","error":"injected by the fault proxy"}"#;
            let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
            headers.extend(extra);
            return respond(&mut sock, s, &headers, body).await;
        }
        Plan::Page(s, html) => {
            let headers = [(
                "Content-Type".to_owned(),
                "text/html; charset=utf-8".to_owned(),
            )];
            return respond(&mut sock, s, &headers, html.as_bytes()).await;
        }
        Plan::Hold(rx) => {
            if !rx.await.unwrap_or(false) {
                return;
            }
        }
    }
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = state
        .http
        .request(m, format!("{}{path}", state.upstream))
        .timeout(Duration::from_secs(60))
        .body(body.clone());
    for (k, v) in &headers {
        if !hop_by_hop(k) && k != "host" {
            req = req.header(k, v);
        }
    }
    let Ok(resp) = req.send().await else {
        return;
    };
    let status = resp.status().as_u16();
    if is_write(&method) && !read_by_post(&state, &method, &path) {
        state.writes.lock().unwrap().push(Write {
            method: method.clone(),
            path: path.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            status,
        });
    }
    // Links and redirects to the app's own address (also as JSON writes it in a page's
    // scripts, `http:\/\/…`) point at the proxy instead, so that a browser behind it stays
    // behind it.
    let escaped = |u: &str| u.replace('/', "\\/");
    let here = |v: &str| {
        let v = v.replace(&state.upstream, &state.url);
        v.replace(&escaped(&state.upstream), &escaped(&state.url))
    };
    let keep: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter(|(k, _)| !hop_by_hop(k.as_str()))
        .map(|(k, v)| (k.to_string(), here(v.to_str().unwrap_or(""))))
        .collect();
    let html = keep
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("text/html"));
    let bytes = resp.bytes().await.unwrap_or_default();
    let bytes: Vec<u8> = match std::str::from_utf8(&bytes) {
        Ok(text) if html => here(text).into_bytes(),
        _ => bytes.to_vec(),
    };
    if reset_after {
        return;
    }
    if let Some(rx) = answer_hold.and_then(|(h, text)| hold_if_answer(&state, &h, &text, &bytes)) {
        if !rx.await.unwrap_or(false) {
            return;
        }
    }
    respond(&mut sock, status, &keep, &bytes).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::canned_server;

    async fn post(url: &str) -> Result<u16, reqwest::Error> {
        let r = reqwest::Client::new()
            .post(format!("{url}/users"))
            .header("X-Api-Key", "k")
            .body("{}")
            .send()
            .await?;
        Ok(r.status().as_u16())
    }

    #[tokio::test]
    async fn faults_hit_writes_and_writes_done_twice_are_found() {
        let app = canned_server("201 Created", "application/json", "{}").await;
        let proxy = FaultProxy::start(&app).await;
        proxy.fail(ANY_WRITE, "", Fault::ResetAfter, 1);
        proxy.fail(ANY_WRITE, "", Fault::Status(503), 1);
        // Reads pass; the first write reaches the app but its answer is lost.
        let get = reqwest::get(format!("{}/users", proxy.url)).await.unwrap();
        assert_eq!(get.status().as_u16(), 201);
        assert!(post(&proxy.url).await.is_err(), "the connection is reset");
        assert_eq!(proxy.pending(), 1);
        assert_eq!(post(&proxy.url).await.unwrap(), 503);
        assert_eq!(proxy.pending(), 0);
        assert_eq!(proxy.writes().len(), 1, "the 503 never reached the app");
        assert!(proxy.repeated_writes().is_empty());
        assert_eq!(post(&proxy.url).await.unwrap(), 201);
        let repeated = proxy.repeated_writes();
        assert_eq!(repeated.len(), 1);
        assert_eq!(
            (repeated[0].method.as_str(), repeated[0].path.as_str()),
            ("POST", "/users")
        );
    }

    #[tokio::test]
    async fn a_delayed_request_arrives_late() {
        let app = canned_server("200 OK", "application/json", "{}").await;
        let proxy = FaultProxy::start(&app).await;
        proxy.fail("GET", "", Fault::Delay(Duration::from_millis(300)), 1);
        let started = std::time::Instant::now();
        let r = reqwest::get(format!("{}/x", proxy.url)).await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
