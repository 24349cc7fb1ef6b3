//! The debug log lines of requests and replies, with secrets redacted: the values of
//! `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie` and of any header, query
//! parameter, form field or JSON key whose name looks like a secret's ([`is_secret_name`]).
//! Reply bodies are never logged (a page may show an API key), only their length.

use reqwest::header::{HeaderName, AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, SET_COOKIE};
use reqwest::Method;
use serde_json::Value;

use super::http::{Body, Reply};

/// What stands for a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Whether a header, parameter or field named `name` holds a secret (case-insensitive): names
/// with `password`, `passwd`, `retype` (a password typed again, e.g. MediaWiki's), `secret`,
/// `token`, `key`, `auth`, `cookie`, `session`, `code`, `otp` or `signature` in them.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "retype",
        "secret",
        "token",
        "key",
        "auth",
        "cookie",
        "session",
        "code",
        "otp",
        "signature",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// The prefixes of rate-limit headers: counters and windows, never secrets, though their names
/// may say `token` or `key` (Trello's `X-Rate-Limit-Api-Token-Remaining`).
const RATE_LIMIT_HEADERS: [&str; 3] = ["x-rate-limit-", "x-ratelimit-", "ratelimit-"];

/// Whether a header holds a secret: `Authorization`, `Proxy-Authorization`, `Cookie`,
/// `Set-Cookie`, or a name [`is_secret_name`] flags, except rate-limit headers.
pub fn is_secret_header(name: &HeaderName) -> bool {
    let counter = RATE_LIMIT_HEADERS
        .iter()
        .any(|p| name.as_str().starts_with(p));
    [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE, SET_COOKIE].contains(name)
        || (!counter && is_secret_name(name.as_str()))
}

/// `url` with the values of secret query parameters (and any user info) redacted.
pub fn url(raw: &str) -> String {
    let Ok(mut u) = url::Url::parse(raw) else {
        return REDACTED.to_owned();
    };
    let _ = u.set_username("");
    let _ = u.set_password(None);
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// `v` with the values of secret keys redacted, at any depth.
pub fn json(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(json).collect()),
        other => other.clone(),
    }
}

/// The log line of a request about to be sent.
pub(super) fn request_line(req: &reqwest::Request, body: &Body) -> String {
    let headers: Vec<String> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            let v = if is_secret_header(k) {
                REDACTED
            } else {
                v.to_str().unwrap_or("…")
            };
            format!("{k}: {v}")
        })
        .collect();
    let body = match body {
        Body::None => String::new(),
        Body::Json(v) => format!(" json={}", json(v)),
        Body::Form(f) => {
            let fields: Vec<String> = f
                .iter()
                .map(|(k, v)| match is_secret_name(k) {
                    true => format!("{k}={REDACTED}"),
                    false => format!("{k}={v}"),
                })
                .collect();
            format!(" form={}", fields.join("&"))
        }
    };
    format!(
        "→ {} {} [{}]{body}",
        req.method(),
        url(req.url().as_str()),
        headers.join(", ")
    )
}

/// The log line of a reply: status, redirect target, wait asked for, cookie names, body length.
pub(super) fn reply_line(method: &Method, path: &str, r: &Reply) -> String {
    let path = url(&format!("http://x{path}"));
    let path = path.strip_prefix("http://x").unwrap_or(&path);
    let mut line = format!("← {} {method} {path}", r.status.as_u16());
    if let Some(loc) = &r.location {
        let shown = match url::Url::parse(loc) {
            Ok(_) => url(loc),
            Err(_) => url(&format!("http://x{loc}"))
                .trim_start_matches("http://x")
                .to_owned(),
        };
        line.push_str(&format!(" location={shown}"));
    }
    if let Some(wait) = r.retry_after {
        line.push_str(&format!(" retry_after={}ms", wait.as_millis()));
    }
    if !r.set_cookies.is_empty() {
        let names: Vec<&str> = r
            .set_cookies
            .iter()
            .filter_map(|c| c.split('=').next())
            .map(str::trim)
            .collect();
        line.push_str(&format!(" set-cookie={}={REDACTED}", names.join(",")));
    }
    line.push_str(&format!(" ({} bytes)", r.text.len()));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRETS: [&str; 8] = [
        "s3cr3t-bearer",
        "s3cr3t-cookie",
        "s3cr3t-query",
        "s3cr3t-pw",
        "s3cr3t-key",
        "s3cr3t-form",
        "s3cr3t-set",
        "s3cr3t-loc",
    ];

    fn assert_clean(line: &str) {
        for s in SECRETS {
            assert!(!line.contains(s), "{s} in {line}");
        }
    }

    #[test]
    fn a_logged_request_never_shows_a_secret() {
        let http = reqwest::Client::new();
        let req = http
            .post("https://u:s3cr3t-pw@h/_matrix/login?access_token=s3cr3t-query&limit=1")
            .bearer_auth("s3cr3t-bearer")
            .header(COOKIE, "Redmine=s3cr3t-cookie")
            .header("X-Redmine-API-Key", "s3cr3t-key")
            .header("Accept", "text/html")
            .build()
            .unwrap();
        let body = Body::Json(json!({
            "type": "m.login.password",
            "password": "s3cr3t-pw",
            "nested": [{"api_key": "s3cr3t-key", "medium": "email"}],
        }));
        let line = request_line(&req, &body);
        assert_clean(&line);
        assert!(line.contains("limit=1"), "{line}");
        assert!(line.contains("m.login.password"), "{line}");
        assert!(line.contains("accept: text/html"), "{line}");
        assert!(line.contains("medium"), "{line}");
        let form = Body::Form(vec![
            ("username".into(), "bot".into()),
            ("password".into(), "s3cr3t-form".into()),
            ("authenticity_token".into(), "s3cr3t-form".into()),
            ("twofa_code".into(), "s3cr3t-form".into()),
        ]);
        let line = request_line(&req, &form);
        assert_clean(&line);
        assert!(line.contains("username=bot"), "{line}");
    }

    #[test]
    fn rate_limit_headers_are_no_secrets() {
        let h = |n: &'static str| HeaderName::from_static(n);
        assert!(!is_secret_header(&h("x-rate-limit-api-token-remaining")));
        assert!(!is_secret_header(&h("ratelimit-remaining")));
        assert!(is_secret_header(&h("x-api-token")));
        assert!(is_secret_header(&AUTHORIZATION));
    }

    #[test]
    fn a_logged_reply_never_shows_a_secret() {
        let mut r = Reply::new(
            302,
            "<pre>s3cr3t-key</pre>",
            Some("/cb?token=s3cr3t-loc&x=1"),
            "http://h",
        );
        r.set_cookies = vec!["Redmine=s3cr3t-set; path=/; HttpOnly".into()];
        let line = reply_line(&Method::GET, "/my/api_key?key=s3cr3t-query", &r);
        assert_clean(&line);
        assert!(line.contains("302"), "{line}");
        assert!(line.contains("set-cookie=Redmine="), "{line}");
        assert!(line.contains("x=1"), "{line}");
    }
}
