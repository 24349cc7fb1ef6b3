//! The SCIM 2.0 service provider at `/scim/v2` (RFC 7643, RFC 7644), called by the identity
//! provider (Okta, Microsoft Entra ID) with a SCIM token (a token kind of its own, created by the
//! workspace Owner: `POST /api/v1/scim/tokens`).
//!
//! - [`discovery`]: `ServiceProviderConfig`, `ResourceTypes`, `Schemas` (RFC 7644 §4).
//! - [`users`]: `/Users` backed by Castellan's people (RFC 7644 §3.3–§3.6).
//! - [`groups`]: `/Groups` backed by teams the identity provider keeps.
//! - [`query`]: list queries, filters, paging, projections and ETags, shared by both.
//! - here: authentication ([`ScimAuth`]), request bodies ([`ScimBody`]), responses in
//!   `application/scim+json` and errors in SCIM's error schema ([`ScimError`], RFC 7644 §3.12).
//!
//! The wire format stays in this module; every write goes through a core use case
//! (`People::provision`, `reprovision`, `deprovision`; `Teams::create`, `replace`, `delete`), so the rules and the activity log are
//! those of the rest of Castellan, with the actor `SCIM (<token name>)`, and each event names
//! the request that caused it (`scim_request`: method and path).

mod discovery;
mod groups;
mod query;
mod user_json;
mod users;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use castellan_core::activity::{Actor, ScimRequest};
use castellan_core::CoreError;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::Source;
use crate::AppState;

/// Media type of SCIM bodies (RFC 7644 §3.1).
pub const SCIM_JSON: &str = "application/scim+json";
/// Schema URI of SCIM error bodies (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Schema URI of list responses (RFC 7644 §3.4.2).
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The `/scim/v2` routes (SCIM's own 404 for other paths under it).
pub(crate) fn routes() -> Router<AppState> {
    let v2 = Router::new()
        .merge(discovery::routes())
        .merge(users::routes())
        .merge(groups::routes())
        .route("/.search", axum::routing::post(search_root))
        .fallback(|| async { ScimError::new(StatusCode::NOT_FOUND, None, "no such SCIM endpoint") })
        .method_not_allowed_fallback(|| async {
            ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "this SCIM endpoint does not take that method (RFC 7644 §3.2)",
            )
        });
    Router::new().nest("/scim/v2", v2)
}

/// `POST /scim/v2/.search` (RFC 7644 §3.4.3): a SearchRequest over every resource type, Users
/// then Groups, each matched against its own schema.
async fn search_root(
    axum::extract::State(s): axum::extract::State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: axum::http::HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let q = query::search_query(&body)?;
    let base = base_url(&s, &headers);
    let mut all = users::all_users(&s, &a, &base).await?;
    all.extend(groups::all_groups(&s, &a, &base).await?);
    query::list_response(
        all,
        &q,
        &[
            castellan_scim::CoreSchema::User,
            castellan_scim::CoreSchema::Group,
        ],
    )
}

/// An error in SCIM's error schema (RFC 7644 §3.12): `{"schemas": [Error], "status": "409",
/// "scimType": "uniqueness", "detail": "…"}`, served as `application/scim+json`. Its detail is
/// the safe text of the core error (internal causes are logged, never sent).
#[derive(Debug, Clone)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    /// An error with a status, an optional `scimType` keyword (RFC 7644 §3.12, Table 9) and a
    /// detail.
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// The `scimType` keyword, if any.
    pub fn scim_type(&self) -> Option<&'static str> {
        self.scim_type
    }

    /// The detail text.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// 400 with a `scimType` keyword.
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
}

impl From<CoreError> for ScimError {
    /// The status table of the API ([`ApiError`]), with SCIM's keywords: a validation error is
    /// 400 `invalidValue`, a conflict 409 `uniqueness`.
    fn from(e: CoreError) -> Self {
        let validation = matches!(e, CoreError::Validation { .. });
        let conflict = matches!(e, CoreError::Conflict(_));
        let (status, detail) = ApiError::from(e).public_parts();
        if validation {
            Self::bad("invalidValue", detail)
        } else if conflict {
            Self::new(status, Some("uniqueness"), detail)
        } else {
            Self::new(status, None, detail)
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = t.into();
        }
        let mut r = scim_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"castellan-scim\""),
            );
        }
        r
    }
}

/// A SCIM handler's result.
pub type ScimResult<T> = Result<T, ScimError>;

/// A JSON value as an `application/scim+json` response with `status`.
pub fn scim_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))],
        body.to_string(),
    )
        .into_response()
}

/// The identity provider, from `Authorization: Bearer <SCIM token>`. Missing, unknown, expired
/// and revoked tokens, API tokens and web sessions are refused with 401 in SCIM's error schema
/// before the handler runs. The actor is named `SCIM (<token name>)` in the activity log and
/// serves the request ([`ScimRequest`]: its method and path, never its query or body), so that
/// every event the request writes, and every job it queues, names it as `scim_request`.
#[derive(Debug, Clone)]
pub struct ScimAuth(pub Actor);

impl FromRequestParts<AppState> for ScimAuth {
    type Rejection = ScimError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauth = |d: &str| ScimError::new(StatusCode::UNAUTHORIZED, None, d);
        let src = Source::from_request_parts(parts, state)
            .await
            .map_err(|_| unauth("the request's source could not be read"))?;
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauth("send a SCIM token as `Authorization: Bearer <token>`"))?;
        // The scheme name is case-insensitive (RFC 7235 §2.1).
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| unauth("the Authorization header must use the Bearer scheme"))?;
        let actor = state
            .svc
            .sessions()
            .authenticate(
                token,
                castellan_core::service::TokenUse::Scim,
                src.ip,
                src.user_agent,
            )
            .await?;
        // Nested under `/scim/v2`, the request's own URI lost that prefix: the original has it.
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path(), |u| u.0.path());
        let request = ScimRequest::new(parts.method.as_str(), path);
        Ok(Self(actor.with_scim_request(Some(request))))
    }
}

/// A SCIM request body: `application/scim+json` or `application/json` (RFC 7644 §3.1), parsed
/// as JSON. Another content type is 415; a body that is not JSON is 400 `invalidSyntax` whose
/// detail gives the parser's position, never the body.
#[derive(Debug, Clone)]
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ctype = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if ctype != SCIM_JSON && ctype != "application/json" {
            return Err(ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                "send the body with `Content-Type: application/scim+json` or `application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ScimError::new(e.status(), None, "the request body could not be read"))?;
        let v = serde_json::from_slice(&bytes).map_err(|e| {
            ScimError::bad(
                "invalidSyntax",
                format!(
                    "the body is not valid JSON: {} at line {} column {}",
                    match e.classify() {
                        serde_json::error::Category::Eof => "unexpected end of input",
                        _ => "unexpected character",
                    },
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Ok(Self(v))
    }
}

/// The base URL of resource locations (`Location`, `meta.location`): the server's
/// [`public_origin`](crate::public_origin).
pub(crate) fn base_url(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    crate::public_origin(state, headers)
}
