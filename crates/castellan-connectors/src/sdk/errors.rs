//! Error mapping shared by connectors: transport failures, and the HTTP answers every app means
//! the same way. Each connector keeps one small table for the rest (its error bodies, what a
//! 401, 403 or 404 means for each kind of call).

use castellan_core::connector::ConnectorError;
use reqwest::StatusCode;

use super::address::Refused;
use super::http::Reply;

/// A failed request to `base` as a connector error: an address the outbound policy refuses, or a
/// request that cannot be built, is `Configuration`; a timeout, a refused connection or any
/// other transport failure is `Unavailable` (retryable).
pub fn transport_error(base: &str, e: &reqwest::Error) -> ConnectorError {
    if let Some(refused) = Refused::find(e) {
        ConnectorError::Configuration(format!("cannot connect to {base}: {refused}"))
    } else if e.is_builder() {
        ConnectorError::Configuration(format!("cannot build a request to {base}: {e}"))
    } else if e.is_timeout() {
        ConnectorError::Unavailable(format!("{base} did not answer in time"))
    } else if e.is_connect() {
        ConnectorError::Unavailable(format!("cannot connect to {base}"))
    } else {
        ConnectorError::Unavailable(format!("request to {base} failed: {e}"))
    }
}

/// The error of an answer every app means the same way, `None` for the connector's own table:
/// - 429 Too Many Requests (RFC 6585 §4), or a reply the endpoint's throttle recognised as
///   the app's rate limit ([`Reply::throttled`]) → `RateLimited` with the reply's wait;
/// - 5xx (RFC 9110 §15.6) → `Unavailable`;
/// - 3xx (RFC 9110 §15.4; connectors follow no redirect) → `Configuration` naming the
///   `Location` and `fix`, what to set the base URL to (e.g. "Redmine's address").
///
/// `what` is the call in words, e.g. `list users`.
pub fn common_error(r: &Reply, what: &str, fix: &str) -> Option<ConnectorError> {
    let status = r.status;
    if status == StatusCode::TOO_MANY_REQUESTS || r.throttled {
        Some(ConnectorError::RateLimited {
            retry_after: r.retry_after,
        })
    } else if status.is_server_error() {
        Some(ConnectorError::Unavailable(format!(
            "{} failed to {what}: HTTP {status}",
            r.base
        )))
    } else if status.is_redirection() {
        Some(ConnectorError::Configuration(format!(
            "{} redirects '{what}' to {}: set the base URL to {fix}",
            r.base,
            r.location.as_deref().unwrap_or("another address")
        )))
    } else {
        None
    }
}

/// A success whose body is not what `app`'s API documents: `AppChanged` (an upgrade, a
/// proxy's page). Not retried blindly: the hub asks an admin to look.
pub fn unexpected(app: &str, what: &str) -> ConnectorError {
    ConnectorError::AppChanged(format!("{app} answered '{what}' with an unexpected body"))
}

/// A lookup's result with `NotFound` as `None`: for things that may not exist.
///
/// Errors: any other error of `r`.
pub fn found<T>(r: Result<T, ConnectorError>) -> Result<Option<T>, ConnectorError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ConnectorError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A removal's result with `NotFound` as done: what is gone already needs no removing.
///
/// Errors: any other error of `r`.
pub fn gone<T>(r: Result<T, ConnectorError>) -> Result<(), ConnectorError> {
    found(r).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn not_found_is_none_or_done() {
        let missing = || Err::<u8, _>(ConnectorError::NotFound("x".into()));
        assert_eq!((found(Ok(1)), found(missing())), (Ok(Some(1)), Ok(None)));
        assert_eq!((gone(Ok(1)), gone(missing())), (Ok(()), Ok(())));
        let down = Err::<u8, _>(ConnectorError::Unavailable("x".into()));
        assert!(found(down.clone()).is_err() && gone(down).is_err());
    }

    #[test]
    fn common_answers_map_once() {
        let mut r = Reply::new(429, "", None, "http://h");
        r.retry_after = Some(Duration::from_secs(3));
        assert_eq!(
            common_error(&r, "x", "the app"),
            Some(ConnectorError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            })
        );
        let e = common_error(&Reply::new(503, "", None, "http://h"), "x", "y").unwrap();
        assert!(e.is_retryable());
        let e = common_error(
            &Reply::new(301, "", Some("https://o/"), "http://h"),
            "x",
            "y",
        );
        assert!(matches!(e, Some(ConnectorError::Configuration(m)) if m.contains("https://o/")));
        assert_eq!(
            common_error(&Reply::new(404, "", None, "http://h"), "x", "y"),
            None
        );
        assert_eq!(
            common_error(&Reply::new(200, "", None, "http://h"), "x", "y"),
            None
        );
    }
}
