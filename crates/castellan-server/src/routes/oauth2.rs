//! "Connect with <app>" over the API: start a hub's OAuth 2.0 authorization (RFC 6749 §4.1) and
//! finish it with what the vendor sent back to the redirect URI. The web app's pages do the same
//! in the browser (`web/hubs/oauth2.rs`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use castellan_core::hub::HubId;
use castellan_core::service::OAuth2Refusal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::wire::Hub;
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_oauth2))
        .routes(routes!(finish_oauth2))
}

/// Where to send the admin's browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuth2Started {
    /// The vendor's authorization URL, with `state` and (where supported) a PKCE challenge.
    /// Valid for 10 minutes, once, and only in the session that asked for it.
    pub authorization_url: String,
}

/// What the vendor sent back to the redirect URI (its query parameters). Its `Debug` shows
/// neither the code nor the state.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Callback {
    /// The `state` parameter.
    pub state: String,
    /// The authorization `code`, when the admin approved.
    #[serde(default)]
    pub code: Option<String>,
    /// The `error` code (e.g. `access_denied`), when they did not.
    #[serde(default)]
    pub error: Option<String>,
    /// The vendor's `error_description`, if any.
    #[serde(default)]
    pub error_description: Option<String>,
}

impl std::fmt::Debug for OAuth2Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Callback")
            .field("state", &"[redacted]")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish()
    }
}

impl OAuth2Callback {
    /// The code, or the vendor's refusal. A callback with neither is refused as `invalid_request`.
    pub fn outcome(self) -> Result<secrecy::SecretString, OAuth2Refusal> {
        match (self.code.filter(|c| !c.is_empty()), self.error) {
            (Some(code), None) => Ok(code.into()),
            (_, Some(error)) => Err(OAuth2Refusal {
                error,
                description: self.error_description,
            }),
            (None, None) => Err(OAuth2Refusal {
                error: "invalid_request".into(),
                description: Some("the callback carried neither a code nor an error".into()),
            }),
        }
    }
}

/// The server's own callback URL: `<origin>/oauth2/callback` on the server's
/// [`public_origin`](crate::public_origin). A hub may name another one (`oauth2_redirect_uri`).
pub(crate) fn callback_url(s: &AppState, headers: &HeaderMap) -> String {
    format!("{}/oauth2/callback", crate::public_origin(s, headers))
}

/// Starts connecting a hub with its app over OAuth 2.0: returns the vendor's authorization URL.
#[utoipa::path(post, path = "/api/v1/hubs/{id}/oauth2/start", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hub id")),
    responses((status = 200, body = OAuth2Started), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn start_oauth2(
    State(s): State<AppState>,
    Auth(a): Auth,
    headers: HeaderMap,
    ApiPath(id): ApiPath<HubId>,
) -> ApiResult<Json<OAuth2Started>> {
    let url = s
        .svc
        .hubs()
        .start_oauth2(&a.permit()?, id, &callback_url(&s, &headers))
        .await?;
    Ok(Json(OAuth2Started {
        authorization_url: url,
    }))
}

/// Finishes connecting a hub over OAuth 2.0 with the vendor's answer (same session as the start):
/// keeps the tokens sealed with the automation account and queues a check for updates.
#[utoipa::path(post, path = "/api/v1/oauth2/callback", tag = "hubs", security(("bearer" = [])),
    request_body = OAuth2Callback,
    responses((status = 200, body = Hub), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn finish_oauth2(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(cb): ApiJson<OAuth2Callback>,
) -> ApiResult<Json<Hub>> {
    let state = cb.state.clone();
    let hub = s
        .svc
        .hubs()
        .finish_oauth2(&a.permit()?, &state, cb.outcome())
        .await?;
    Ok(Json(hub.into()))
}
