//! Security plumbing of the web app: session and CSRF cookies, CSRF tokens, the sign-in rate
//! limit and the response headers every page carries.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

/// Name of the session cookie. Its value is a `cst_…` token issued at sign-in.
pub const SESSION_COOKIE: &str = "castellan_session";
/// Name of the CSRF cookie used by forms shown before sign-in (double-submit pattern).
pub const CSRF_COOKIE: &str = "castellan_csrf";
/// Name of the hidden form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// Lifetime of a web session, in days (the token expires then; the cookie too).
pub const SESSION_DAYS: u32 = 1;

/// The Content-Security-Policy of every page: scripts and styles only from `/static/` (no
/// `unsafe-inline`), images also as `data:` (QR codes), no framing, forms only to this origin.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

/// Reads one cookie from the request headers (`None` when absent or not valid UTF-8).
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value: `HttpOnly`, `Secure`, `SameSite=Strict`, `Path=/`. `max_age` in
/// seconds; `0` deletes the cookie. Browsers accept `Secure` cookies from `http://localhost`
/// and `http://127.0.0.1` (potentially trustworthy origins), so local use works too.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let c = Cookie::build((name, value))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&c.encoded().to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// The CSRF token bound to a session token: hex SHA-256 over a fixed label and the token.
/// Forms of a signed-in person carry it; it changes with every session.
pub fn csrf_for_session(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"castellan web csrf v1\0");
    h.update(session_token.as_bytes());
    hex::encode(h.finalize())
}

/// Compares two CSRF tokens in constant time.
pub fn csrf_matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && castellan_crypto::hashes_equal(expected, given)
}

/// A fresh random CSRF cookie value (256 bits, hex).
pub fn new_csrf_cookie() -> String {
    let issued = castellan_crypto::issue_token("csrf");
    hex::encode(Sha256::digest(
        secrecy::ExposeSecret::expose_secret(&issued.secret).as_bytes(),
    ))
}

/// Sign-in and claim attempts allowed per client IP address, per minute.
pub const ATTEMPTS_PER_IP_PER_MINUTE: u32 = 20;
/// Sign-in attempts allowed per email address, per minute (burst), refilling one every 12 s.
pub const ATTEMPTS_PER_EMAIL_PER_MINUTE: u32 = 5;

/// The sign-in rate limit (GCRA, `governor`), kept in this process's memory: per client IP
/// and per email address. Every attempt counts, successful or not. With several instances
/// each enforces its own limit.
#[derive(Clone)]
pub struct SignInLimiter {
    by_ip: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    by_email: Arc<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for SignInLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInLimiter").finish_non_exhaustive()
    }
}

impl Default for SignInLimiter {
    fn default() -> Self {
        Self::new(ATTEMPTS_PER_IP_PER_MINUTE, ATTEMPTS_PER_EMAIL_PER_MINUTE)
    }
}

impl SignInLimiter {
    /// A limiter allowing `per_ip` attempts per minute per IP and `per_email` per email (both
    /// at least 1).
    pub fn new(per_ip: u32, per_email: u32) -> Self {
        let q = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            by_ip: Arc::new(RateLimiter::keyed(q(per_ip))),
            by_email: Arc::new(RateLimiter::keyed(q(per_email))),
        }
    }

    /// Counts one attempt from `ip` (if known) for `email` (lowercased; empty = none).
    /// Returns `Err(wait)` when the attempt is over the limit: how long until the next one is
    /// allowed (rounded up to whole seconds, at least 1 s).
    pub fn check(&self, ip: Option<IpAddr>, email: &str) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        // Whole seconds, rounded up, at least 1.
        let round = |d: Duration| {
            Duration::from_secs((d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1))
        };
        if self.by_ip.len() > 100_000 {
            self.by_ip.retain_recent();
        }
        if self.by_email.len() > 100_000 {
            self.by_email.retain_recent();
        }
        if let Some(ip) = ip {
            if let Err(n) = self.by_ip.check_key(&ip) {
                return Err(round(n.wait_time_from(now)));
            }
        }
        let email = email.trim().to_lowercase();
        if !email.is_empty() {
            if let Err(n) = self.by_email.check_key(&email) {
                return Err(round(n.wait_time_from(now)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let a = csrf_for_session("cst_a");
        assert_eq!(a.len(), 64);
        assert_ne!(a, csrf_for_session("cst_b"));
        assert!(csrf_matches(&a, &a.clone()));
        assert!(!csrf_matches(&a, &a[..63]));
        assert!(!csrf_matches("", ""));
    }

    #[test]
    fn limiter_refuses_after_the_quota_and_keys_are_independent() {
        let l = SignInLimiter::new(100, 3);
        for _ in 0..3 {
            assert!(l.check(None, "a@x.test").is_ok());
        }
        let wait = l.check(None, "A@x.test").unwrap_err();
        assert!(
            wait >= Duration::from_secs(1) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(l.check(None, "b@x.test").is_ok());
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        let l = SignInLimiter::new(2, 100);
        assert!(l.check(Some(ip), "1@x.test").is_ok());
        assert!(l.check(Some(ip), "2@x.test").is_ok());
        assert!(l.check(Some(ip), "3@x.test").is_err());
    }

    #[test]
    fn cookies_are_http_only_secure_strict() {
        let v = set_cookie(SESSION_COOKIE, "cst_x", 60);
        let s = v.to_str().unwrap();
        for part in [
            "castellan_session=cst_x",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(s.contains(part), "{s}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; castellan_session=cst_y"),
        );
        assert_eq!(cookie_value(&h, SESSION_COOKIE).as_deref(), Some("cst_y"));
        assert_eq!(cookie_value(&h, CSRF_COOKIE), None);
    }
}
