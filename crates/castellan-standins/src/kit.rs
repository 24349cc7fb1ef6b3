//! What every stand-in shares: serving a router on loopback from its own thread, so it outlives
//! the test's runtime and is ready before the first request.

use std::net::TcpListener as StdListener;

use axum::Router;

/// A stand-in being served: its base URL (`http://127.0.0.1:<port>`, no trailing slash).
#[derive(Debug, Clone)]
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
}

/// Serves `router` on `127.0.0.1` at a free port, from a thread with its own Tokio runtime that
/// lives as long as the test process. The socket is bound before this returns, so the first
/// request cannot be refused.
///
/// Panics when no loopback port can be bound (a test environment fault).
pub fn spawn(router: Router) -> Served {
    let std = StdListener::bind("127.0.0.1:0").expect("bind a loopback port for a stand-in");
    std.set_nonblocking(true).expect("non-blocking listener");
    let port = std.local_addr().expect("bound address").port();
    std::thread::Builder::new()
        .name(format!("standin-{port}"))
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the stand-in");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std).expect("tokio listener");
                axum::serve(listener, router)
                    .await
                    .expect("stand-in serves");
            });
        })
        .expect("a thread for the stand-in");
    Served {
        base_url: format!("http://127.0.0.1:{port}"),
    }
}

/// A number no stand-in of this process had before, for tokens and ids that differ between the
/// instances a test binary starts.
pub fn instance() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A JSON answer: `status`, `body`, and `headers` (e.g. a vendor's rate-limit headers).
pub fn reply(
    status: axum::http::StatusCode,
    headers: Vec<(&'static str, String)>,
    body: serde_json::Value,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut r = (status, axum::Json(body)).into_response();
    for (k, v) in headers {
        if let Ok(v) = axum::http::HeaderValue::from_str(&v) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The user and password of an `Authorization: Basic …` header (RFC 7617).
pub fn basic(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// A vendor's request budget: at most `limit` requests a fixed window (a minute for Zendesk,
/// ten seconds for HubSpot), then 429 until the window ends.
#[derive(Debug)]
pub struct RateLimit {
    limit: std::sync::atomic::AtomicU32,
    window: std::time::Duration,
    used: std::sync::Mutex<(std::time::Instant, u32)>,
}

/// What a request may do under a [`RateLimit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Go on; this many requests are left in the window.
    Left(u32),
    /// 429: the window ends in this many whole seconds (at least 1).
    Wait(u64),
}

impl RateLimit {
    /// `limit` requests each `window`.
    pub fn new(limit: u32, window: std::time::Duration) -> Self {
        Self {
            limit: limit.into(),
            window,
            used: std::sync::Mutex::new((std::time::Instant::now(), 0)),
        }
    }

    /// The limit of a window.
    pub fn limit(&self) -> u32 {
        self.limit.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the limit, and starts a new window (tests make a vendor busy with it).
    pub fn set_limit(&self, limit: u32) {
        self.limit
            .store(limit, std::sync::atomic::Ordering::Relaxed);
        *self.used.lock().unwrap_or_else(|e| e.into_inner()) = (std::time::Instant::now(), 0);
    }

    /// The whole seconds until the current window ends (at least 1), for a vendor's reset
    /// header on answers that are not refused.
    pub fn resets_in(&self) -> u64 {
        let used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let left = self.window.saturating_sub(used.0.elapsed());
        left.as_secs_f64().ceil().max(1.0) as u64
    }

    /// Counts one request.
    pub fn take(&self) -> Budget {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        if now.duration_since(used.0) >= self.window {
            *used = (now, 0);
        }
        let limit = self.limit();
        if used.1 >= limit {
            let left = self.window.saturating_sub(now.duration_since(used.0));
            return Budget::Wait(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        used.1 += 1;
        Budget::Left(limit - used.1)
    }
}

/// The value of the query (or form) parameter `k` among `q`, the first when it repeats.
pub fn param(q: &[(String, String)], k: &str) -> Option<String> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// A page of `size` rows after the row whose key is `after` (`None`: from the first), the rows
/// being in key order, and the key to read the next page after (`None` on the last page). Keyed
/// on the last row, not an offset, so a listing stays whole while rows are added or removed.
pub fn page_after<'a, T, K: PartialOrd + Clone>(
    rows: &'a [T],
    key: impl Fn(&T) -> K,
    after: Option<&K>,
    size: usize,
) -> (Vec<&'a T>, Option<K>) {
    let rest: Vec<&T> = rows
        .iter()
        .filter(|r| after.is_none_or(|a| key(r) > *a))
        .collect();
    let more = rest.len() > size;
    let page: Vec<&T> = rest.into_iter().take(size).collect();
    let next = page.last().filter(|_| more).map(|r| key(r));
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_and_pages() {
        let limit = RateLimit::new(2, std::time::Duration::from_secs(60));
        assert_eq!(limit.take(), Budget::Left(1));
        assert_eq!(limit.take(), Budget::Left(0));
        assert!(matches!(limit.take(), Budget::Wait(s) if (59..=60).contains(&s)));
        limit.set_limit(1);
        assert!((59..=60).contains(&limit.resets_in()));
        assert_eq!(limit.take(), Budget::Left(0));
        let q = vec![
            ("a".to_owned(), "1".to_owned()),
            ("a".to_owned(), "2".to_owned()),
        ];
        assert_eq!(
            (param(&q, "a").as_deref(), param(&q, "b")),
            (Some("1"), None)
        );

        let rows: Vec<u64> = (1..=5).collect();
        let (p, next) = page_after(&rows, |r| *r, None, 2);
        assert_eq!((p, next), (vec![&1, &2], Some(2)));
        let (p, next) = page_after(&rows, |r| *r, Some(&4), 2);
        assert_eq!((p, next), (vec![&5], None));

        let mut h = axum::http::HeaderMap::new();
        h.insert(
            "authorization",
            "Basic YUBiLm9yZy90b2tlbjpzZWNyZXQ=".parse().unwrap(),
        );
        assert_eq!(basic(&h), Some(("a@b.org/token".into(), "secret".into())));
        assert_eq!(bearer(&h), None);
        h.insert("authorization", "Bearer xyz".parse().unwrap());
        assert_eq!(bearer(&h).as_deref(), Some("xyz"));
    }
}
