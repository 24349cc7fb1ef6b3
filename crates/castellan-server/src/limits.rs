//! The server's time and connection limits, and the per-request deadline layer.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// Limits of the HTTP server. [`ServeLimits::default`] gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Most open connections; one more gets a bare 503 and is closed. Default 1024.
    pub max_connections: usize,
    /// Once the first byte of a request head has arrived, the whole head must arrive within
    /// this, or the connection is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this; a response
    /// the client does not read for this long is abandoned. Default 60 s.
    pub idle_timeout: Duration,
    /// Longest pause while reading a request body (tower-http `RequestBodyTimeoutLayer`);
    /// then the request fails with 400. Default 10 s.
    pub body_timeout: Duration,
    /// Longest time a request may take, body read included, except long polls; then 503
    /// (`urn:castellan:problem:timeout`). Default 30 s.
    pub request_timeout: Duration,
    /// Longest time of a long poll (`GET /api/v1/accounts/{id}/inbox/code?wait=`, which
    /// waits at most 120 s). Default 130 s.
    pub long_poll_timeout: Duration,
    /// On shutdown, how long requests in progress may finish before the connections left are
    /// closed. Default 10 s.
    pub shutdown_drain: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            long_poll_timeout: Duration::from_secs(130),
            shutdown_drain: Duration::from_secs(10),
        }
    }
}

impl ServeLimits {
    /// The deadline of one request: `long_poll_timeout` for the long-poll routes, else
    /// `request_timeout`.
    pub fn deadline_for(&self, method: &Method, path: &str) -> Duration {
        if is_long_poll(method, path) {
            self.long_poll_timeout
        } else {
            self.request_timeout
        }
    }
}

/// `GET /api/v1/accounts/{id}/inbox/code`: the only route that waits for something to happen.
fn is_long_poll(method: &Method, path: &str) -> bool {
    method == Method::GET
        && path
            .strip_prefix("/api/v1/accounts/")
            .and_then(|rest| rest.strip_suffix("/inbox/code"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Runs the rest of the stack under the request's deadline; past it the handler is dropped
/// (its database transaction rolls back) and the client gets 503 `timeout`.
pub(crate) async fn deadline(limits: ServeLimits, req: Request, next: Next) -> Response {
    let limit = limits.deadline_for(req.method(), req.uri().path());
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs_f64(), "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Request timed out",
                format!(
                    "the request took longer than {} seconds and was stopped",
                    limit.as_secs()
                ),
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_code_wait_is_a_long_poll() {
        let l = ServeLimits::default();
        let id = "0190a2b4-0000-7000-8000-000000000000";
        let code = format!("/api/v1/accounts/{id}/inbox/code");
        assert_eq!(l.deadline_for(&Method::GET, &code), l.long_poll_timeout);
        assert_eq!(l.deadline_for(&Method::POST, &code), l.request_timeout);
        for other in [
            "/api/v1/accounts",
            "/api/v1/accounts//inbox/code",
            "/api/v1/accounts/a/b/inbox/code",
            "/api/v1/inbox",
            "/hubs/x/jobs.json",
        ] {
            assert_eq!(
                l.deadline_for(&Method::GET, other),
                l.request_timeout,
                "{other}"
            );
        }
    }
}
