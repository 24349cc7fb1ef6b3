//! A record of every exchange a stand-in served (the request as it arrived, the answer as it
//! left), so a test can check them afterwards, e.g. against the vendor's OpenAPI description
//! ([`crate::openapi`]). The `Authorization` header's value is never kept.

use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::Router;

/// The most of a body that is kept (and served): 4 MiB.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The request's method, e.g. `GET`.
    pub method: String,
    /// The request's path, percent-encoded as sent.
    pub path: String,
    /// The request's query (without `?`), when it had one.
    pub query: Option<String>,
    /// The request's headers, names lowercase (`authorization` as `[REDACTED]`).
    pub request_headers: Vec<(String, String)>,
    /// The request's body (empty when none).
    pub request_body: String,
    /// The answer's status.
    pub status: u16,
    /// The answer's headers, names lowercase.
    pub response_headers: Vec<(String, String)>,
    /// The answer's body.
    pub response_body: String,
}

impl Exchange {
    /// The value of a request header (`name` lowercase), the first when repeated.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        header(&self.request_headers, name)
    }

    /// The value of an answer's header (`name` lowercase), the first when repeated.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        header(&self.response_headers, name)
    }
}

fn header<'a>(all: &'a [(String, String)], name: &str) -> Option<&'a str> {
    all.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The exchanges of one stand-in, in the order they were answered. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Exchange>>>);

impl Recorder {
    /// Every exchange so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `router` with every exchange recorded here.
    pub fn around(&self, router: Router) -> Router {
        let rec = self.clone();
        router.layer(from_fn(move |req: Request, next: Next| {
            let rec = rec.clone();
            async move { rec.record(req, next).await }
        }))
    }

    async fn record(&self, req: Request, next: Next) -> Response {
        let (parts, body) = req.into_parts();
        let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
        let headers = |h: &axum::http::HeaderMap| -> Vec<(String, String)> {
            h.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "authorization" => "[REDACTED]".to_owned(),
                        _ => String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    };
                    (k.as_str().to_owned(), v)
                })
                .collect()
        };
        let mut ex = Exchange {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            request_headers: headers(&parts.headers),
            request_body: String::from_utf8_lossy(&bytes).into_owned(),
            status: 0,
            response_headers: vec![],
            response_body: String::new(),
        };
        let resp = next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
        let (parts, body) = resp.into_parts();
        let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
        ex.status = parts.status.as_u16();
        ex.response_headers = headers(&parts.headers);
        ex.response_body = String::from_utf8_lossy(&bytes).into_owned();
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(ex);
        Response::from_parts(parts, Body::from(bytes))
    }
}
