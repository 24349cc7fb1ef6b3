//! The HTTP error type: RFC 9457 `application/problem+json` bodies, one status table, and
//! internal detail logged inside the request span but never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use castellan_core::CoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Media type of problem documents (RFC 9457 section 3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, e.g. `label` or `custom_fields[2].name`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A problem details object (RFC 9457 section 3.1) with Castellan's extension `errors`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type: `urn:castellan:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong this time, safe to show.
    pub detail: String,
    /// Invalid fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An API error: a status, a problem body, and (for 5xx) a private log message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
}

/// The one status table: every core error maps here.
fn classify(e: &CoreError) -> (StatusCode, &'static str, &'static str) {
    match e {
        CoreError::Validation { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
        ),
        CoreError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found", "Not found"),
        CoreError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
        CoreError::Stale { .. } => (StatusCode::CONFLICT, "stale", "Changed meanwhile"),
        CoreError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
        CoreError::Unauthenticated(_) => (
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
        ),
        CoreError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        ),
        CoreError::Overloaded { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Server busy")
        }
        CoreError::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        ),
    }
}

impl ApiError {
    /// The status and the detail safe to show (what a web page displays for this error).
    pub fn public_parts(&self) -> (StatusCode, String) {
        (self.status, self.detail.clone())
    }

    /// A problem with an explicit status, slug and detail.
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: vec![],
            retry_after: None,
        }
    }

    /// The same error naming the invalid fields (`errors` in the problem document).
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// 400 for a body that is not valid JSON or does not fit the schema.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }

    /// 429 with `Retry-After` seconds.
    pub fn too_many(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            detail,
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let (status, slug, title) = classify(&e);
        let (detail, errors) = match &e {
            CoreError::Validation { field, message } => (
                format!("{field}: {message}"),
                vec![FieldError {
                    field: field.clone(),
                    message: message.clone(),
                }],
            ),
            CoreError::Internal(private) | CoreError::Unavailable(private) => {
                // Logged inside the request span; the client gets only the generic text.
                tracing::error!(error = %private, "request failed");
                let d = if status == StatusCode::SERVICE_UNAVAILABLE {
                    "the service is temporarily unavailable; retry later"
                } else {
                    "an internal error occurred; it has been logged"
                };
                (d.to_owned(), vec![])
            }
            other => (other.to_string(), vec![]),
        };
        let retry_after = match e {
            CoreError::Overloaded { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        Self {
            status,
            slug,
            title,
            detail,
            errors,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("urn:castellan:problem:{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
        };
        let mut resp = (self.status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"castellan\""),
            );
        }
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                h.insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
