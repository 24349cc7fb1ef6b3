//! Small helpers for JSON REST APIs: the body of a success or the connector's typed error (also
//! for APIs that report errors in the body of a 200), the errors most JSON APIs mean alike, a
//! count from a header, and the text of an HTML message.

use std::time::Duration;

use castellan_core::connector::ConnectorError;
use reqwest::StatusCode;
use serde_json::Value;

use super::errors::common_error;
use super::Reply;

/// The JSON body of a 2xx reply; otherwise `map(&reply)`, the connector's one error table.
///
/// Errors: `map`'s error; `Configuration` when a success is not JSON (the base URL points at
/// something that is not `app`'s API, e.g. a web page).
pub fn json_body(
    r: Reply,
    app: &str,
    what: &str,
    map: impl FnOnce(&Reply) -> ConnectorError,
) -> Result<Value, ConnectorError> {
    if !r.status.is_success() {
        return Err(map(&r));
    }
    r.json.ok_or_else(|| {
        // What came instead (its type and size, never its text) says whether this is a web page
        // (a wrong base URL) or a broken answer.
        let ctype = r
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type");
        ConnectorError::Configuration(format!(
            "{} answered '{what}' without JSON (HTTP {}, {ctype}, {} bytes): not {app}'s API \
             (check the base URL)",
            r.base,
            r.status.as_u16(),
            r.text.len()
        ))
    })
}

/// The JSON object of an answer from `app`'s API that reports its errors in the body of a 200
/// (MediaWiki's `{"error": {"code": …}}`; Slack's `{"ok": false, "error": …}` and Nextcloud's
/// OCS `meta` alike): [`common_error`] first (429, 5xx, 3xx: `fix` says what to set the base URL
/// to), then `error(body, retry_after)`, the connector's table of the app's own errors, `None`
/// for a success.
///
/// Errors: those; `Configuration` ("no <app> API under <base>") for an answer that is not a JSON
/// object with 200.
pub fn body_json(
    r: Reply,
    app: &str,
    what: &str,
    fix: &str,
    error: impl FnOnce(&Value, Option<Duration>) -> Option<ConnectorError>,
) -> Result<Value, ConnectorError> {
    if let Some(e) = common_error(&r, what, fix) {
        return Err(e);
    }
    match r.json {
        Some(v) if r.status == StatusCode::OK && v.is_object() => match error(&v, r.retry_after) {
            Some(e) => Err(e),
            None => Ok(v),
        },
        _ => Err(ConnectorError::Configuration(format!(
            "no {app} API under {}",
            r.base
        ))),
    }
}

/// The error of a failed call of `app`'s JSON API by its status, for what the connector's own
/// table leaves: [`common_error`] (429, 5xx, 3xx), then 401 → `BadCredentials`, 403 →
/// `InsufficientPermission`, an answer that is not JSON → `Configuration` (not `app`'s API: the
/// base URL is wrong), 404 → `NotFound`, another 4xx → `Configuration` (what was asked is
/// refused), anything else → `AppChanged`. `says` is the app's own message, for the error text.
pub fn status_error(r: &Reply, app: &str, what: &str, says: &str) -> ConnectorError {
    use ConnectorError as E;
    if let Some(e) = common_error(r, what, &format!("{app}'s address")) {
        return e;
    }
    match r.status {
        StatusCode::UNAUTHORIZED => E::BadCredentials(format!("{app} refused to {what}: {says}")),
        StatusCode::FORBIDDEN => E::InsufficientPermission(says.to_owned()),
        s if r.json.is_none() => E::Configuration(format!(
            "{} answered '{what}' with HTTP {s}: not {app} (or not its address)",
            r.base
        )),
        StatusCode::NOT_FOUND => E::NotFound(says.to_owned()),
        s if s.is_client_error() => E::Configuration(says.to_owned()),
        s => E::AppChanged(format!("{app} answered '{what}' with HTTP {s}")),
    }
}

/// A header holding a count, such as `X-Total-Count` or WordPress's `X-WP-Total`.
pub fn header_count(r: &Reply, name: &str) -> Option<usize> {
    r.header(name).and_then(|v| v.trim().parse().ok())
}

/// The text of an HTML message (`<strong>Error:</strong> Unknown user.` gives `Error: Unknown
/// user.`): tags dropped, entities left as written.
pub fn plain_text(html: &str) -> String {
    let mut parts = html.split('<');
    let first = parts.next().unwrap_or("");
    let rest = parts.map(|p| p.split_once('>').map_or("", |(_, text)| text));
    std::iter::once(first).chain(rest).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_counts_and_text() {
        let ok = Reply::new(200, r#"{"a":1}"#, None, "http://h");
        let fail = |_: &Reply| ConnectorError::NotFound("x".into());
        assert_eq!(json_body(ok, "App", "x", fail).unwrap()["a"], 1);
        let page = Reply::new(200, "<html>", None, "http://h");
        let e = json_body(page, "App", "list", fail).unwrap_err();
        assert!(matches!(e, ConnectorError::Configuration(m) if m.contains("not App's API")));
        let gone = Reply::new(404, "{}", None, "http://h");
        assert!(matches!(
            json_body(gone, "App", "x", fail),
            Err(ConnectorError::NotFound(_))
        ));
        let mut r = Reply::new(200, "[]", None, "http://h");
        r.headers.insert("x-total", " 42".parse().unwrap());
        assert_eq!(
            (header_count(&r, "X-Total"), header_count(&r, "x-other")),
            (Some(42), None)
        );
        assert_eq!(
            plain_text("<strong>Error:</strong> no <em>user</em>."),
            "Error: no user."
        );
        assert_eq!(plain_text("plain"), "plain");
        let e = |status: u16, body: &str| {
            status_error(
                &Reply::new(status, body, None, "http://h"),
                "App",
                "x",
                "no",
            )
        };
        assert!(matches!(e(401, "{}"), ConnectorError::BadCredentials(_)));
        assert!(matches!(
            e(403, "{}"),
            ConnectorError::InsufficientPermission(_)
        ));
        assert!(matches!(e(404, "{}"), ConnectorError::NotFound(_)));
        assert!(matches!(e(404, "<html>"), ConnectorError::Configuration(_)));
        assert!(matches!(e(422, "{}"), ConnectorError::Configuration(_)));
        assert!(matches!(e(418, "<p>"), ConnectorError::Configuration(_)));
        assert!(matches!(e(204, "{}"), ConnectorError::AppChanged(_)));
        assert!(e(503, "{}").is_retryable());
    }

    #[test]
    fn errors_in_the_body_of_a_200() {
        let read = |status: u16, body: &str| {
            let r = Reply::new(status, body, None, "http://h");
            let error = |v: &Value, _| v.get("error").map(|_| ConnectorError::NotFound("x".into()));
            body_json(r, "App", "x", "the app's address", error)
        };
        assert_eq!(read(200, r#"{"a":1}"#).unwrap()["a"], 1);
        assert!(matches!(
            read(200, r#"{"error":{}}"#),
            Err(ConnectorError::NotFound(_))
        ));
        for (status, body) in [(200, "[1]"), (200, "<html>"), (404, "{}")] {
            let e = read(status, body).unwrap_err();
            assert!(
                matches!(e, ConnectorError::Configuration(m) if m == "no App API under http://h")
            );
        }
        assert!(read(503, "{}").unwrap_err().is_retryable());
    }
}
