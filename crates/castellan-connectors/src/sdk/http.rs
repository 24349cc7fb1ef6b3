//! One HTTP layer for connectors: a checked base URL, requests with a per-call timeout and the
//! app's authentication, JSON and form bodies, a [`Reply`] with what connectors decide on, in-call
//! retries of idempotent requests on 429 and 503, and debug logs with secrets redacted.
//!
//! Retries (RFC 9110 §15.5.20 (429 is RFC 6585 §4), §15.6.4 (503), §10.2.3 (`Retry-After`)):
//! a request that is safe to repeat (`GET`, `HEAD`, or a write marked with
//! [`Request::idempotent`], such as a `PUT` upsert) answered with 429 or 503 is sent again, at
//! most [`MAX_ATTEMPTS`] times in all, after the wait the app asked for (`Retry-After` as
//! delta-seconds or an HTTP-date, or an app-specific hint from the body, see
//! [`Endpoint::with_retry_hint`]), else after an exponential backoff from [`FIRST_BACKOFF`].
//! The waits of one call add up to [`MAX_RETRY_WAIT`] at most: when the next wait would go
//! beyond it, or the attempts are spent, the last reply is returned, and the connector's error
//! mapping ([`super::errors::common_error`]) makes it `RateLimited { retry_after }` or
//! `Unavailable`, so the engine's job retry takes over. A non-idempotent write (a `POST` that
//! creates) is never sent twice by the SDK: the app may have carried out the first one.
//!
//! Apps that signal a rate limit otherwise (GitHub answers its primary and secondary limits with
//! 403 or 429 and `x-ratelimit-*` headers) say how with [`Endpoint::with_throttle`]: a reply it
//! recognises is [`Reply::throttled`], retried like a 429 after the wait it names, and mapped to
//! `RateLimited` by [`super::errors::common_error`].

use std::time::{Duration, SystemTime};

use castellan_core::connector::ConnectorError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderName, ACCEPT, COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tracing::debug;

use super::address::{AddressPolicy, PolicyResolver};
use super::cookies::CookieJar;
use super::errors::transport_error;
use super::redact;

/// The timeout of one request when the hub sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an idle pooled connection is kept: under the shortest keep-alive of the servers
/// connectors talk to (the test Redmine's WEBrick closes idle ones after 5 s, Apache's default
/// is 5 s), so the client never reuses one the server is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a TCP (and TLS) connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times one call sends a retryable request at most (the first try included).
pub const MAX_ATTEMPTS: u32 = 3;
/// The most one call waits in all between its attempts.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// The wait before the second attempt when the app names none; it doubles at each attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Characters escaped in a path segment: all but RFC 3986's unreserved ones (§2.3), so `@`,
/// `:`, `+` and `/` are escaped too.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded as one path segment (RFC 3986 §3.3): `@ana:example.org` gives
/// `%40ana%3Aexample.org`. `.` and `..` stay as they are, and [`Request::send`] refuses a path
/// holding them as a segment.
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Refuses a request path with a `.` or `..` segment, literal or percent-encoded (`%2E`): URL
/// parsers remove them (RFC 3986 §5.2.4, and the WHATWG URL standard decodes `%2e` first), so
/// an id such as `..` put in a path with [`segment`] would aim the request at another
/// resource. The query is not a path.
///
/// Errors: `Conflict` naming the method's path pattern, never the id.
fn refuse_dot_segments(path: &str) -> Result<(), ConnectorError> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dot = path.split('/').any(|seg| {
        let seg = seg.to_ascii_lowercase().replace("%2e", ".");
        seg == "." || seg == ".."
    });
    match dot {
        true => Err(ConnectorError::Conflict(
            "an id of `.` or `..` cannot name anything in the app; the request was not sent".into(),
        )),
        false => Ok(()),
    }
}

/// The hub's request timeout, or [`DEFAULT_TIMEOUT`] when it is zero (unset).
pub fn call_timeout(hub_timeout: Duration) -> Duration {
    if hub_timeout.is_zero() {
        DEFAULT_TIMEOUT
    } else {
        hub_timeout
    }
}

/// A checked base URL: `http` or `https`, a host, no credentials, no query or fragment, and
/// (with a literal IP host) an address the [`AddressPolicy`] allows. Kept without a trailing
/// slash; a path prefix is kept (apps behind a reverse proxy or under a sub-URI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    url: String,
    path: String,
}

impl BaseUrl {
    /// Checks `raw` (surrounding spaces ignored).
    ///
    /// Errors: `Configuration` naming what is wrong (never echoing credentials).
    pub fn parse(raw: &str, policy: AddressPolicy) -> Result<Self, ConnectorError> {
        let bad = |m: String| ConnectorError::Configuration(m);
        let url = url::Url::parse(raw.trim())
            .map_err(|e| bad(format!("the base URL is not a valid URL: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("the base URL must not contain credentials".into()));
        }
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad(format!("the base URL {url} is not an http(s) URL")));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad(format!("the base URL {url} must not have a query")));
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(ip.into()),
            Some(url::Host::Ipv6(ip)) => Some(ip.into()),
            _ => None,
        };
        if let Some(ip) = literal {
            policy
                .check(ip)
                .map_err(|r| bad(format!("the base URL {url} is refused: {r}")))?;
        }
        Ok(Self {
            path: url.path().trim_end_matches('/').to_owned(),
            url: url.as_str().trim_end_matches('/').to_owned(),
        })
    }

    /// The URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The path prefix without a trailing slash (`""` at the root, `/redmine` under a sub-URI).
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// How requests authenticate to the app. Values are secrets: never logged.
#[derive(Debug, Clone)]
pub enum Auth {
    /// None (a login, a public page).
    None,
    /// `Authorization: Bearer <token>` (RFC 6750 §2.1), e.g. a Matrix access token.
    Bearer(SecretString),
    /// `Authorization: Basic …` (RFC 7617).
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: SecretString,
    },
    /// An app-specific header holding a key, e.g. Redmine's `X-Redmine-API-Key`.
    Header(&'static str, SecretString),
}

/// Reads an app-specific retry hint from an error body (e.g. Matrix's `retry_after_ms`); it
/// wins over the `Retry-After` header.
pub type RetryHint = fn(&Value) -> Option<Duration>;

/// Recognises an app's own rate-limit answers beyond 429 (e.g. GitHub's 403 with
/// `x-ratelimit-remaining: 0`): the wait the app asks for when `reply` is one, else `None`.
pub type Throttle = fn(&Reply) -> Option<Duration>;

/// The connectors' HTTP client: redirects are never followed (a token never leaves the
/// configured base URL, and logins read the redirects), a connect timeout of
/// [`CONNECT_TIMEOUT`], the `castellan/<version>` user agent, and the [`AddressPolicy`] of each
/// hub enforced at DNS resolution: one pooled client for each policy, and the connector's own
/// policy for hubs that choose none ([`super::address::policy_of`]). Cheap to clone (it shares
/// the connection pools).
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// Resolves under [`AddressPolicy::SELF_HOSTED`].
    private: reqwest::Client,
    /// Resolves under [`AddressPolicy::PUBLIC_ONLY`].
    public: reqwest::Client,
    policy: AddressPolicy,
    limits: super::rate::RateLimits,
}

/// A client that resolves names under `policy`.
fn build_client(policy: AddressPolicy) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        // Drop an idle connection before servers with a short keep-alive do (WEBrick, which
        // Redmine runs on, closes after 2 s): reusing one the server is closing fails a
        // request that may not be retried (a sign-in POST after waiting for a TOTP step).
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .user_agent(concat!("castellan/", env!("CARGO_PKG_VERSION")))
        // No proxy from the environment (`HTTP_PROXY`, `ALL_PROXY`…): through a proxy, the
        // resolver would only check the proxy's address, and a hub could reach any address the
        // proxy can (vaultwarden's outbound-HTTP policy makes the same choice for its checks).
        .no_proxy()
        .dns_resolver(std::sync::Arc::new(PolicyResolver::new(policy)))
        .build()
        .expect("the HTTP client builds with static settings")
}

impl HttpClient {
    /// A client enforcing `policy` on hubs that choose none.
    pub fn new(policy: AddressPolicy) -> Self {
        Self {
            private: build_client(AddressPolicy::SELF_HOSTED),
            public: build_client(AddressPolicy::PUBLIC_ONLY),
            policy,
            limits: Default::default(),
        }
    }

    /// Over a client built elsewhere, which must not follow redirects. Its DNS resolution is its
    /// own: only literal IP base URLs are checked against the hub's policy (`policy` when the
    /// hub chooses none).
    pub fn with_client(http: reqwest::Client, policy: AddressPolicy) -> Self {
        Self {
            private: http.clone(),
            public: http,
            policy,
            limits: Default::default(),
        }
    }

    /// The pooled `reqwest` client that resolves names under the self-hosted policy
    /// (`allow_private`) or the public-only one, for calls beside [`Endpoint`]s (the OAuth 2.0
    /// token endpoint, [`super::oauth2`]). It follows no redirects.
    pub fn reqwest(&self, allow_private: bool) -> &reqwest::Client {
        if allow_private {
            &self.private
        } else {
            &self.public
        }
    }

    /// The endpoint of a connector call: the hub's base URL under the hub's address policy
    /// ([`super::address::policy_of`]: its `allow_private` setting), its call timeout, and its
    /// request rate limit when it sets one ([`super::rate::rate_of`]).
    ///
    /// Errors: `Configuration` when the base URL is refused ([`BaseUrl::parse`]), e.g. a
    /// loopback address for a hub whose `allow_private` is `no`.
    pub fn endpoint_for(
        &self,
        ctx: &castellan_core::connector::ConnectorContext,
    ) -> Result<Endpoint<'_>, ConnectorError> {
        let policy = super::address::policy_of(ctx, self.policy);
        let rate = super::rate::rate_of(ctx);
        self.endpoint_at(&ctx.base_url, ctx.timeout, rate, policy)
    }

    /// The endpoint at the hub's base URL, with a per-request timeout (see [`call_timeout`]),
    /// the client's own address policy and no request rate limit of its own (prefer
    /// [`HttpClient::endpoint_for`] in connectors).
    ///
    /// Errors: `Configuration` when the base URL is refused ([`BaseUrl::parse`]).
    pub fn endpoint(
        &self,
        base_url: &str,
        timeout: Duration,
    ) -> Result<Endpoint<'_>, ConnectorError> {
        self.endpoint_at(base_url, timeout, None, self.policy)
    }

    fn endpoint_at(
        &self,
        base_url: &str,
        timeout: Duration,
        per_second: Option<u32>,
        policy: AddressPolicy,
    ) -> Result<Endpoint<'_>, ConnectorError> {
        let base = BaseUrl::parse(base_url, policy)?;
        Ok(Endpoint {
            http: if policy.allow_private {
                &self.private
            } else {
                &self.public
            },
            limiter: per_second.map(|r| self.limits.limiter(base.as_str(), r)),
            base,
            timeout: call_timeout(timeout),
            auth: Auth::None,
            retry_hint: None,
            wait_header: None,
            throttle: None,
        })
    }
}

/// An app's base URL with the client, timeout and authentication of one connector call.
#[derive(Debug, Clone)]
pub struct Endpoint<'a> {
    http: &'a reqwest::Client,
    limiter: Option<std::sync::Arc<super::rate::Limiter>>,
    base: BaseUrl,
    timeout: Duration,
    auth: Auth,
    retry_hint: Option<RetryHint>,
    wait_header: Option<&'static str>,
    throttle: Option<Throttle>,
}

impl<'a> Endpoint<'a> {
    /// With this authentication on every request.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// With an app-specific retry hint read from error bodies.
    pub fn with_retry_hint(mut self, hint: RetryHint) -> Self {
        self.retry_hint = Some(hint);
        self
    }

    /// With an app-specific header holding the seconds to wait, read when an answer has no
    /// `Retry-After` (e.g. Calendly's `X-RateLimit-Reset` on a 429).
    pub fn with_wait_header(mut self, name: &'static str) -> Self {
        self.wait_header = Some(name);
        self
    }

    /// With an app-specific reading of rate-limit answers ([`Throttle`]): a reply it recognises
    /// is [`Reply::throttled`] with its wait in [`Reply::retry_after`], retried in the call like
    /// a 429 (idempotent requests only) and `RateLimited` after.
    pub fn with_throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// The checked base URL.
    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// A request to `path` (appended to the base URL; it starts with `/`).
    pub fn request(&self, method: Method, path: &str) -> Request<'_> {
        Request {
            endpoint: self,
            method,
            path: path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::None,
            idempotent: false,
        }
    }

    /// A `GET` request to `path`.
    pub fn get(&self, path: &str) -> Request<'_> {
        self.request(Method::GET, path)
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub(super) enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

/// One request being built; [`Request::send`] sends it.
#[derive(Debug)]
pub struct Request<'e> {
    endpoint: &'e Endpoint<'e>,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(HeaderName, SecretString)>,
    body: Body,
    idempotent: bool,
}

impl Request<'_> {
    /// Adds query parameters (form-urlencoded).
    pub fn query(mut self, pairs: &[(&str, String)]) -> Self {
        self.query
            .extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        self
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form(mut self, fields: &[(&str, &str)]) -> Self {
        self.body = Body::Form(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        self
    }

    /// A header. Its value is logged only when its name is not a secret's (see the redaction
    /// rules in [`super::redact`]).
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        self.headers
            .push((name, SecretString::from(value.to_owned())));
        self
    }

    /// `Accept: text/html`, for apps driven through their web pages.
    pub fn html(self) -> Self {
        self.header(ACCEPT, "text/html")
    }

    /// The `Cookie` header of `jar`, when it holds any cookie (RFC 6265 §5.4).
    pub fn cookies(mut self, jar: &CookieJar) -> Self {
        if !jar.is_empty() {
            self.headers.push((COOKIE, jar.header()));
        }
        self
    }

    /// Marks a write as safe to send twice (e.g. a `PUT` upsert), so it is retried in the call
    /// like a `GET`.
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    fn retryable(&self) -> bool {
        self.idempotent || matches!(self.method, Method::GET | Method::HEAD)
    }

    /// Sends the request, retrying as the [module](self) says.
    ///
    /// Errors: only transport failures (see [`transport_error`]): timeouts and refused
    /// connections are `Unavailable`; an address the policy refuses or a request that cannot be
    /// built is `Configuration`. Any HTTP status is an `Ok` [`Reply`].
    pub async fn send(self) -> Result<Reply, ConnectorError> {
        refuse_dot_segments(&self.path)?;
        let mut waited = Duration::ZERO;
        let mut attempt = 1;
        loop {
            let reply = self.send_once().await?;
            let busy = reply.throttled
                || matches!(
                    reply.status,
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                );
            if !busy || !self.retryable() || attempt >= MAX_ATTEMPTS {
                return Ok(reply);
            }
            let wait = reply
                .retry_after
                .unwrap_or(FIRST_BACKOFF * 2u32.pow(attempt - 1));
            if waited + wait > MAX_RETRY_WAIT {
                return Ok(reply);
            }
            debug!(
                method = %self.method,
                status = reply.status.as_u16(),
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "retrying in the call"
            );
            tokio::time::sleep(wait).await;
            waited += wait;
            attempt += 1;
        }
    }

    async fn send_once(&self) -> Result<Reply, ConnectorError> {
        let ep = self.endpoint;
        if let Some(l) = &ep.limiter {
            l.until_ready().await;
        }
        let base = ep.base.as_str();
        let mut req = ep
            .http
            .request(self.method.clone(), format!("{base}{}", self.path))
            .timeout(ep.timeout);
        if !self.query.is_empty() {
            req = req.query(&self.query);
        }
        req = match &ep.auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t.expose_secret()),
            Auth::Basic { user, password } => req.basic_auth(user, Some(password.expose_secret())),
            Auth::Header(name, v) => req.header(*name, v.expose_secret()),
        };
        for (name, value) in &self.headers {
            req = req.header(name, value.expose_secret());
        }
        req = match &self.body {
            Body::None => req,
            Body::Json(v) => req.json(v),
            Body::Form(f) => req.form(f),
        };
        let req = req.build().map_err(|e| transport_error(base, &e))?;
        debug!("{}", redact::request_line(&req, &self.body));
        let resp = ep
            .http
            .execute(req)
            .await
            .map_err(|e| transport_error(base, &e))?;
        let mut reply = Reply::read(resp, base, ep.retry_hint, ep.wait_header).await?;
        if let Some(wait) = ep.throttle.and_then(|t| t(&reply)) {
            reply.throttled = true;
            reply.retry_after = Some(wait);
        }
        debug!("{}", redact::reply_line(&self.method, &self.path, &reply));
        Ok(reply)
    }
}

/// One HTTP answer: its status, body, and the headers connectors decide on.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The body as text (lossy UTF-8).
    pub text: String,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
    /// How long the app asks to wait: the retry hint of the body when the endpoint has one,
    /// else `Retry-After` (delta-seconds or HTTP-date, see [`parse_retry_after`]), else the
    /// endpoint's wait header in seconds ([`Endpoint::with_wait_header`]).
    pub retry_after: Option<Duration>,
    /// The `Location` header, as sent (maybe relative).
    pub location: Option<String>,
    /// Every `Set-Cookie` header, as sent.
    pub set_cookies: Vec<String>,
    /// The other headers, without those that hold secrets ([`redact::is_secret_header`]):
    /// read app-specific ones (`X-WP-Total`, `Link`) with [`Reply::header`].
    pub headers: HeaderMap,
    /// The base URL the request went to (for messages).
    pub base: String,
    /// Whether the endpoint's [`Throttle`] recognised this reply as the app's rate limit (its
    /// wait is then in [`Reply::retry_after`]).
    pub throttled: bool,
}

impl Reply {
    async fn read(
        resp: reqwest::Response,
        base: &str,
        hint: Option<RetryHint>,
        wait_header: Option<&'static str>,
    ) -> Result<Self, ConnectorError> {
        let status = resp.status();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = header(RETRY_AFTER)
            .as_deref()
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let waited: Option<u64> =
            wait_header.and_then(|h| resp.headers().get(h)?.to_str().ok()?.trim().parse().ok());
        let retry_after = retry_after.or(waited.map(Duration::from_secs));
        let location = header(LOCATION);
        let set_cookies = resp
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let mut headers = resp.headers().clone();
        let secret: Vec<HeaderName> = headers
            .keys()
            .filter(|k| redact::is_secret_header(k))
            .cloned()
            .collect();
        for k in secret {
            headers.remove(k);
        }
        let bytes = resp.bytes().await.map_err(|e| transport_error(base, &e))?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        let from_body = hint.and_then(|h| json.as_ref().and_then(h));
        Ok(Self {
            status,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            retry_after: from_body.or(retry_after),
            json,
            location,
            set_cookies,
            headers,
            base: base.to_owned(),
            throttled: false,
        })
    }

    /// A reply made by hand (connector unit tests): no JSON unless `text` is JSON.
    pub fn new(status: u16, text: &str, location: Option<&str>, base: &str) -> Self {
        Self {
            status: StatusCode::from_u16(status).expect("a valid status"),
            text: text.to_owned(),
            json: serde_json::from_str(text).ok(),
            retry_after: None,
            location: location.map(str::to_owned),
            set_cookies: Vec::new(),
            headers: HeaderMap::new(),
            base: base.to_owned(),
            throttled: false,
        }
    }

    /// The value of a (non-secret) header, when it is present and visible ASCII; the first one
    /// when it repeats.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The path of the redirect target, resolved against the base URL (RFC 9110 §10.2.2).
    pub fn location_path(&self) -> Option<String> {
        let loc = self.location.as_deref()?;
        let base = url::Url::parse(&format!("{}/", self.base)).ok()?;
        base.join(loc).ok().map(|u| u.path().to_owned())
    }

    /// Whether this is a redirect to a path ending with `suffix` (a trailing slash ignored).
    pub fn redirects_to(&self, suffix: &str) -> bool {
        self.status.is_redirection()
            && self
                .location_path()
                .is_some_and(|p| p.trim_end_matches('/').ends_with(suffix))
    }
}

/// The wait a rate-limit reset header of `r` names (e.g. `x-ratelimit-reset`), as vendors
/// write it: a UTC epoch time in seconds (GitHub; DocuSign's platform page), the wait until
/// then, none when past; or, for a value under a billion (before 2001 as a time), the seconds to
/// wait (Pipedrive; DocuSign's blog). `None` without the header or a number in it.
pub fn reset_wait(r: &Reply, header: &str) -> Option<Duration> {
    let v: u64 = r.header(header)?.trim().parse().ok()?;
    if v < 1_000_000_000 {
        return Some(Duration::from_secs(v));
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Some(Duration::from_secs(v).saturating_sub(now))
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delta-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, and the obsolete RFC 850 and asctime forms), as a wait
/// from `now`; also an RFC 3339 date-time (`2020-05-31T00:00:00Z`), which some vendors send
/// instead (Zoom, for its daily limits). A date in the past is no wait; anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = match httpdate::parse_http_date(value) {
        Ok(at) => at,
        Err(_) => chrono::DateTime::parse_from_rfc3339(value).ok()?.into(),
    };
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
