//! Extractors: the authenticated actor, the request's source, and JSON bodies whose
//! rejections become problem documents.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use castellan_core::activity::Actor;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};
use crate::AppState;

/// Where a request came from: peer IP and user agent (at most 512 characters).
#[derive(Debug, Clone)]
pub struct Source {
    /// Peer IP address.
    pub ip: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        Ok(Self { ip, user_agent })
    }
}

/// The signed-in caller, from `Authorization: Bearer <token>`. Missing, unknown, expired or
/// revoked tokens are refused with 401 before the handler runs.
#[derive(Debug, Clone)]
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let src = Source::from_request_parts(parts, state).await?;
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::from(castellan_core::CoreError::Unauthenticated(
                    "send an API token as `Authorization: Bearer <token>`".into(),
                ))
            })?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::from(castellan_core::CoreError::Unauthenticated(
                    "the Authorization header must use the Bearer scheme".into(),
                ))
            })?;
        let actor = state
            .svc
            .sessions()
            .authenticate(
                token,
                castellan_core::service::TokenUse::Api,
                src.ip,
                src.user_agent,
            )
            .await?;
        Ok(Self(actor))
    }
}

/// A JSON body. Wrong content type → 415, malformed JSON → 400, schema mismatch → 422, too
/// large → 413; each as a problem document that quotes the parser's position, never the body.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

/// The field a body that does not fit the schema names, from serde's message: axum reports the
/// path to the value (`resource_roles[1].role: invalid type: …`, via `serde_path_to_error`);
/// a missing field at the top has no path but names it (``missing field `label` ``). `body`
/// when neither says.
fn schema_error(detail: &str) -> FieldError {
    let is_path = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-'))
    };
    let (field, message) = match detail.split_once(": ") {
        Some((path, rest)) if is_path(path) => (path.to_owned(), rest),
        _ => ("body".to_owned(), detail),
    };
    let field = match message.strip_prefix("missing field `") {
        Some(rest) => {
            let name = rest.split('`').next().unwrap_or_default();
            if field == "body" {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            }
        }
        None => field,
    };
    FieldError {
        field,
        message: message.to_owned(),
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    match e {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(format!(
            "the body is not valid JSON: {}",
            e.body_text()
                .replace("Failed to parse the request body as JSON: ", "")
        )),
        JsonRejection::JsonDataError(e) => {
            let detail = e.body_text().replace(
                "Failed to deserialize the JSON body into the target type: ",
                "",
            );
            let error = schema_error(&detail);
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
                detail,
            )
            .with_errors(vec![error])
        }
        JsonRejection::BytesRejection(e) => {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    "Payload too large",
                    "the body is larger than 1 MiB",
                )
            } else {
                ApiError::bad_request("the body could not be read")
            }
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

/// Path parameters whose rejections are problem documents (e.g. a malformed id → 400... 404).
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(path_rejection(e)),
        }
    }
}

fn path_rejection(e: PathRejection) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        format!(
            "invalid path parameter: {}",
            e.body_text().replace("Invalid URL: ", "")
        ),
    )
}

/// Query parameters whose rejections are problem documents (400).
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> ApiError {
    ApiError::bad_request(e.body_text())
}

/// An optional JSON body: empty (or only white space) gives `None`; a body over the limit
/// gives 413, and one that does not parse gives 400, as problem documents.
pub fn optional_json<T: DeserializeOwned>(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Option<T>, ApiError> {
    let body = body.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Payload too large",
            "the body is larger than 1 MiB",
        )
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid: {e}")))
}
