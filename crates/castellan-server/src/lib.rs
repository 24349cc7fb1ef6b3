//! Castellan's HTTP server: the `/api/v1` JSON API (RFC 9457 problem details for errors) and
//! its OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the handlers.
#![forbid(unsafe_code)]

pub mod error;
pub mod extract;
pub mod limits;
mod routes;
pub mod scim;
mod serve;
pub mod web;
pub mod wire;

use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use castellan_core::Castellan;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use error::{ApiError, ApiResult, Problem};
pub use limits::ServeLimits;
pub use routes::health::{CheckFailure, CheckFuture, Readiness, ReadinessCheck};
pub use routes::inbox::SmsWebhook;
pub use serve::serve;

/// Largest request body, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The application service.
    pub svc: Castellan,
    /// The inbound SMS webhook (off by default).
    pub sms: SmsWebhook,
    /// The sign-in and claim rate limit (web and API).
    pub limiter: web::security::SignInLimiter,
    /// Connection and time limits ([`ServeLimits::default`] unless configured).
    pub limits: ServeLimits,
    /// The host's readiness checks besides the database (none by default).
    pub readiness: Readiness,
    /// The server's public base URL (`public_url`, e.g. `https://castellan.example.com`, no
    /// trailing slash), when configured: OAuth 2.0 redirect URIs are built on it rather than on
    /// a request's `Host` header. `None` by default.
    pub public_url: Option<String>,
}

/// The server's origin as its clients reach it, for URLs it hands out (OAuth 2.0 redirect URIs,
/// SCIM `Location` and `meta.location`): the configured `public_url` (no trailing slash); else
/// from the request, `<scheme>://<Host>`, the scheme from `X-Forwarded-Proto`, else `http` on
/// loopback hosts and `https` elsewhere. A `Host` that is not a plain host name is `localhost`.
/// Configure `public_url` behind a proxy or wherever the `Host` header is not trusted.
pub(crate) fn public_origin(s: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(base) = s.public_url.as_deref() {
        return base.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let loopback = ["localhost", "127.", "[::1]"]
        .iter()
        .any(|p| host.starts_with(p));
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| matches!(*p, "http" | "https"))
        .unwrap_or(if loopback { "http" } else { "https" });
    format!("{scheme}://{host}")
}

impl AppState {
    /// State with the optional parts off (no SMS webhook) and the default limits.
    pub fn new(svc: Castellan) -> Self {
        Self {
            svc,
            sms: SmsWebhook::default(),
            limiter: web::security::SignInLimiter::default(),
            limits: ServeLimits::default(),
            readiness: Readiness::default(),
            public_url: None,
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cst_…")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Castellan API",
        description = "Identity and access lifecycle for the apps your identity provider cannot manage. \
            Authenticate with `Authorization: Bearer <token>`. Errors are RFC 9457 `application/problem+json`.",
        license(name = "AGPL-3.0-only")
    ),
    modifiers(&BearerAuth),
    components(schemas(error::Problem, error::FieldError))
)]
struct ApiDoc;

/// Builds the router and the OpenAPI document from the handlers.
pub fn router_and_openapi(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (api, doc) = routes::api().split_for_parts();
    let doc = {
        let mut base = ApiDoc::openapi();
        base.merge(doc);
        base
    };
    let spec = doc.clone();
    let limits = state.limits;
    let router = Router::new()
        .merge(api)
        .merge(web::routes())
        .merge(scim::routes())
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let spec = spec.clone();
                async move { axum::Json(spec) }
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(axum::middleware::from_fn(move |req, next| {
            limits::deadline(limits, req, next)
        }))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                // The path only: query strings may carry search terms.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %uuid::Uuid::now_v7())
            }),
        );
    (router, doc)
}

/// The router alone.
pub fn router(state: AppState) -> Router {
    router_and_openapi(state).0
}

async fn not_found() -> impl IntoResponse {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such endpoint; see /api/v1/openapi.json",
    )
}

async fn method_not_allowed() -> impl IntoResponse {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this endpoint does not take that method",
    )
}
