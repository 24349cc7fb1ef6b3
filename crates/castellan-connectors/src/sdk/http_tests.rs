//! Unit tests of `http.rs` (a child module of it, so they see its private items).

use super::*;

#[test]
fn retry_after_takes_seconds_and_dates() {
    let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
    assert_eq!(
        parse_retry_after(" 120 ", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now),
        Some(Duration::from_secs(5))
    );
    assert_eq!(
        parse_retry_after("Wednesday, 21-Oct-15 07:28:03 GMT", now),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(
        parse_retry_after("2015-10-21T07:29:00Z", now),
        Some(Duration::from_secs(60))
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-1", now), None);
}

#[test]
fn reset_headers_are_epochs_or_seconds() {
    let mut r = Reply::new(429, "", None, "h");
    assert_eq!(reset_wait(&r, "x-ratelimit-reset"), None);
    r.headers.insert("x-ratelimit-reset", " 2".parse().unwrap());
    assert_eq!(
        reset_wait(&r, "x-ratelimit-reset"),
        Some(Duration::from_secs(2))
    );
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = (now + 60).to_string();
    r.headers.insert("x-ratelimit-reset", at.parse().unwrap());
    let wait = reset_wait(&r, "x-ratelimit-reset").unwrap();
    assert!(wait <= Duration::from_secs(60) && wait >= Duration::from_secs(58));
    let past = (now - 5).to_string();
    r.headers.insert("x-ratelimit-reset", past.parse().unwrap());
    assert_eq!(reset_wait(&r, "x-ratelimit-reset"), Some(Duration::ZERO));
}

#[test]
fn base_urls_are_checked() {
    let ok = |s| BaseUrl::parse(s, AddressPolicy::SELF_HOSTED);
    assert_eq!(
        ok("http://127.0.0.1:8008/").unwrap().as_str(),
        "http://127.0.0.1:8008"
    );
    let b = ok(" https://h/matrix/ ").unwrap();
    assert_eq!((b.as_str(), b.path()), ("https://h/matrix", "/matrix"));
    assert_eq!(ok("https://h").unwrap().path(), "");
    for bad in ["not a url", "ftp://h", "https://h/?a=1", "https://h/#x"] {
        assert!(
            matches!(ok(bad), Err(ConnectorError::Configuration(_))),
            "{bad}"
        );
    }
    let err = ok("https://u:secret@h").unwrap_err();
    assert!(!err.to_string().contains("secret"));
    // Literal addresses in forbidden ranges are refused before any request.
    for bad in [
        "http://169.254.169.254/latest",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]:8008",
        "http://100.100.100.200",
    ] {
        assert!(
            matches!(ok(bad), Err(ConnectorError::Configuration(_))),
            "{bad}"
        );
    }
    assert!(BaseUrl::parse("http://127.0.0.1", AddressPolicy::PUBLIC_ONLY).is_err());
    assert!(BaseUrl::parse("http://[::1]", AddressPolicy::PUBLIC_ONLY).is_err());
    assert!(BaseUrl::parse("https://example.org", AddressPolicy::PUBLIC_ONLY).is_ok());
}

/// A hub whose `allow_private` is `no` may not reach loopback, by literal address or by
/// name; with `yes` (or unset, the connectors' default) it may. Metadata never.
#[tokio::test]
async fn the_hub_setting_chooses_the_address_policy() {
    use castellan_core::connector::settings::ALLOW_PRIVATE;
    use castellan_core::connector::ConnectorContext;
    // A port nobody listens on: an allowed request fails to connect (`Unavailable`).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = HttpClient::new(AddressPolicy::SELF_HOSTED);
    let hub = |base: &str, allow: Option<&str>| {
        let pw = SecretString::from(String::new());
        let mut ctx = ConnectorContext::new(base, "u", pw);
        ctx.settings
            .extend(allow.map(|a| (ALLOW_PRIVATE.into(), a.into())));
        ctx
    };
    let loopback = format!("http://127.0.0.1:{port}");
    let err = http.endpoint_for(&hub(&loopback, Some("no"))).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(m)
            if m.contains("127.0.0.1") && m.contains("allow_private")),
        "{err}"
    );
    for allow in [Some("yes"), None] {
        assert!(
            http.endpoint_for(&hub(&loopback, allow)).is_ok(),
            "{allow:?}"
        );
    }
    for allow in [Some("yes"), Some("no"), None] {
        let err = http
            .endpoint_for(&hub("http://169.254.169.254/latest", allow))
            .unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Configuration(m) if m.contains("cloud metadata")),
            "{allow:?}: {err}"
        );
    }
    // By name: the resolver of the hub's policy decides.
    let by_name = format!("http://localhost:{port}");
    let ep = http.endpoint_for(&hub(&by_name, Some("no"))).unwrap();
    let err = ep.get("/").send().await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(m) if m.contains("allow_private")),
        "{err}"
    );
    let ep = http.endpoint_for(&hub(&by_name, Some("yes"))).unwrap();
    let err = ep.get("/").send().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err}");
}

#[test]
fn segments_are_percent_encoded() {
    assert_eq!(segment("@ana:example.org"), "%40ana%3Aexample.org");
    assert_eq!(segment("a+b@x.org"), "a%2Bb%40x.org");
    assert_eq!(segment("a/b c~_.-"), "a%2Fb%20c~_.-");
}

#[test]
fn redirects_are_resolved_against_the_base() {
    let r = Reply::new(
        302,
        "",
        Some("http://h/redmine/account/twofa/confirm"),
        "http://h/redmine",
    );
    assert!(r.redirects_to("/account/twofa/confirm"));
    assert!(!r.redirects_to("/login"));
    let r = Reply::new(302, "", Some("/redmine/my/page"), "http://h/redmine");
    assert_eq!(r.location_path().as_deref(), Some("/redmine/my/page"));
    assert!(!Reply::new(200, "", Some("/login"), "http://h").redirects_to("/login"));
}

#[test]
fn call_timeouts_default() {
    assert_eq!(call_timeout(Duration::ZERO), DEFAULT_TIMEOUT);
    assert_eq!(call_timeout(Duration::from_secs(2)), Duration::from_secs(2));
}
