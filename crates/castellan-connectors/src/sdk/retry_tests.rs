//! In-call retries against a scripted HTTP server on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use castellan_core::connector::ConnectorError;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::address::AddressPolicy;
use super::http::{Auth, HttpClient};

/// A server answering each request with the next `(status, extra headers)` of its script (200
/// once the script is spent), recording each request's method.
async fn scripted(
    script: Vec<(u16, Vec<(&'static str, String)>)>,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut script = script.into_iter();
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).to_string();
            log.lock()
                .unwrap()
                .push(head.split(' ').next().unwrap_or("").to_owned());
            let (status, headers) = script.next().unwrap_or((200, vec![]));
            let body = format!(r#"{{"status":{status}}}"#);
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = sock.write_all(out.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (url, seen)
}

fn client() -> HttpClient {
    HttpClient::new(AddressPolicy::SELF_HOSTED)
}

#[tokio::test]
async fn a_429_with_an_http_date_is_retried_in_the_call() {
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let (url, seen) = scripted(vec![(429, vec![("Retry-After", at)])]).await;
    let http = client();
    let ep = http
        .endpoint(&url, Duration::from_secs(5))
        .unwrap()
        .with_auth(Auth::Bearer("t".to_owned().into()));
    let started = Instant::now();
    let r = ep.get("/users").send().await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json, Some(json!({"status": 200})));
    assert_eq!(*seen.lock().unwrap(), ["GET", "GET"]);
    // The date has a one-second resolution: the wait was between 1 and 2 s.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn idempotent_writes_are_retried_and_creates_are_not() {
    let (url, seen) = scripted(vec![
        (503, vec![]),
        (503, vec![("Retry-After", "0".into())]),
    ])
    .await;
    let http = client();
    let ep = http.endpoint(&url, Duration::from_secs(5)).unwrap();
    let r = ep
        .request(Method::PUT, "/u/1")
        .json(json!({}))
        .idempotent()
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(*seen.lock().unwrap(), ["PUT", "PUT", "PUT"]);

    let (url, seen) = scripted(vec![(503, vec![])]).await;
    let ep = http.endpoint(&url, Duration::from_secs(5)).unwrap();
    let r = ep
        .request(Method::POST, "/u")
        .json(json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(*seen.lock().unwrap(), ["POST"]);
}

#[tokio::test]
async fn retries_stop_at_the_attempt_cap_and_the_wait_cap() {
    let zero = || (429, vec![("Retry-After", "0".to_owned())]);
    let (url, seen) = scripted(vec![zero(), zero(), zero(), zero()]).await;
    let http = client();
    let ep = http.endpoint(&url, Duration::from_secs(5)).unwrap();
    let r = ep.get("/x").send().await.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        seen.lock().unwrap().len(),
        super::http::MAX_ATTEMPTS as usize
    );

    // A wait beyond the cap goes back to the engine at once, with the wait asked for.
    let (url, seen) = scripted(vec![(429, vec![("Retry-After", "3600".to_owned())])]).await;
    let ep = http.endpoint(&url, Duration::from_secs(5)).unwrap();
    let r = ep.get("/x").send().await.unwrap();
    assert_eq!(r.retry_after, Some(Duration::from_secs(3600)));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_reply_keeps_its_headers_but_not_the_secret_ones() {
    let (url, _) = scripted(vec![(
        200,
        vec![
            ("X-WP-Total", "250".to_owned()),
            ("Set-Cookie", "sid=s3cret".to_owned()),
            ("X-Api-Key", "k3y".to_owned()),
        ],
    )])
    .await;
    let http = client();
    let r = http
        .endpoint(&url, Duration::from_secs(5))
        .unwrap()
        .get("/users")
        .send()
        .await
        .unwrap();
    assert_eq!(r.header("x-wp-total"), Some("250"));
    assert_eq!(r.header("X-Api-Key"), None);
    assert_eq!(r.header("set-cookie"), None);
    assert_eq!(r.set_cookies, ["sid=s3cret"]);
    assert!(!format!("{:?}", r.headers).contains("k3y"));
}

/// A hub's `requests_per_second` spaces its requests out; another hub (another base URL) has
/// its own budget, and a hub without the setting is not slowed down.
#[tokio::test]
async fn a_hubs_request_rate_is_honoured() {
    use castellan_core::connector::settings::REQUESTS_PER_SECOND;
    use castellan_core::connector::ConnectorContext;
    let (url, seen) = scripted(vec![]).await;
    let http = client();
    let mut ctx = ConnectorContext::new(&url, "bot", String::new().into());
    ctx.settings.insert(REQUESTS_PER_SECOND.into(), "4".into());
    let started = Instant::now();
    for _ in 0..8 {
        let ep = http.endpoint_for(&ctx).unwrap();
        ep.get("/users").send().await.unwrap();
    }
    // 4 at once (the burst), then 4 more at 4 a second.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(seen.lock().unwrap().len(), 8);

    let (other, _) = scripted(vec![]).await;
    let free = ConnectorContext::new(&other, "bot", String::new().into());
    let started = Instant::now();
    for _ in 0..8 {
        http.endpoint_for(&free)
            .unwrap()
            .get("/users")
            .send()
            .await
            .unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

/// An endpoint's throttle makes an app's own rate-limit answer (here a 403 with a header, as
/// GitHub's) a retry in the call with the wait it reads; other 403s are left alone, and a
/// throttled answer the call gives up on is `RateLimited`.
#[tokio::test]
async fn a_throttle_recognises_the_apps_own_rate_limit_answers() {
    fn throttle(r: &super::http::Reply) -> Option<Duration> {
        (r.status == StatusCode::FORBIDDEN && r.header("x-limited") == Some("1"))
            .then_some(Duration::from_millis(200))
    }
    let limited = || (403, vec![("x-limited", "1".to_owned())]);
    let (url, seen) = scripted(vec![limited()]).await;
    let http = client();
    let ep = http.endpoint(&url, Duration::from_secs(5)).unwrap();
    let ep = ep.with_throttle(throttle);
    let r = ep.get("/x").send().await.unwrap();
    assert_eq!((r.status, r.throttled), (StatusCode::OK, false));
    assert_eq!(seen.lock().unwrap().len(), 2);

    let (url, seen) = scripted(vec![(403, vec![])]).await;
    let ep = http.endpoint(&url, Duration::from_secs(5)).unwrap();
    let r = ep.with_throttle(throttle).get("/x").send().await.unwrap();
    assert_eq!((r.status, r.throttled), (StatusCode::FORBIDDEN, false));
    assert_eq!(seen.lock().unwrap().len(), 1);

    let (url, _) = scripted(vec![limited(), limited(), limited()]).await;
    let ep = http.endpoint(&url, Duration::from_secs(5)).unwrap();
    let r = ep.with_throttle(throttle).get("/x").send().await.unwrap();
    assert!(r.throttled);
    assert_eq!(
        super::errors::common_error(&r, "x", "y"),
        Some(castellan_core::connector::ConnectorError::RateLimited {
            retry_after: Some(Duration::from_millis(200))
        })
    );
}

#[tokio::test]
async fn an_id_of_dot_or_dot_dot_is_refused_before_anything_is_sent() {
    let (url, seen) = scripted(vec![]).await;
    let http = client();
    let ep = http.endpoint(&url, Duration::from_secs(5)).unwrap();
    for id in ["..", ".", "%2E%2e", "%2e"] {
        let path = format!("/orgs/acme/members/{id}");
        let e = ep.request(Method::DELETE, &path).send().await.unwrap_err();
        assert!(matches!(e, ConnectorError::Conflict(_)), "{id}: {e}");
    }
    // Dots inside a segment, or in the query, are ordinary.
    let r = ep
        .get(&format!("/users/{}", super::http::segment("a..b.c")))
        .query(&[("q", "..".to_owned())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(*seen.lock().unwrap(), ["GET"]);
}
