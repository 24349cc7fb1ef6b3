//! Small helpers for JSON REST APIs: the body of a success or the connector's typed error, a
//! count from a header, and the text of an error message written in HTML.

use castellan_core::connector::ConnectorError;
use serde_json::Value;

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
        ConnectorError::Configuration(format!(
            "{} answered '{what}' without JSON: not {app}'s API (check the base URL)",
            r.base
        ))
    })
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
    }
}
