//! SCIM tokens: the workspace Owner creates, lists and revokes the bearer tokens the identity
//! provider calls `/scim/v2` with. A SCIM token opens `/scim/v2` only; `/api/v1` refuses it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use castellan_core::ids::TokenId;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::wire::{self, ApiToken, IssuedApiToken, NewToken};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_scim_tokens, create_scim_token))
        .routes(routes!(revoke_scim_token))
}

/// The workspace's SCIM tokens, newest first. Role: owner.
#[utoipa::path(get, path = "/api/v1/scim/tokens", tag = "scim", security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiToken>), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_scim_tokens(
    State(s): State<AppState>,
    Auth(a): Auth,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(wire::list(
        s.svc.sessions().scim_tokens(&a.permit()?).await?,
    )))
}

/// Issues a SCIM token for the identity provider (shown once; only its SHA-256 is stored;
/// lifetime 1..=365 days, default 365). Role: owner.
#[utoipa::path(post, path = "/api/v1/scim/tokens", tag = "scim", security(("bearer" = [])), request_body = NewToken,
    responses((status = 201, body = IssuedApiToken), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_scim_token(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<IssuedApiToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.svc
                .sessions()
                .create_scim_token(&a.permit()?, req.into())
                .await?
                .into(),
        ),
    ))
}

/// Revokes a SCIM token: the identity provider's next call is refused. Role: owner.
#[utoipa::path(delete, path = "/api/v1/scim/tokens/{id}", tag = "scim", security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id (UUID)")),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn revoke_scim_token(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<TokenId>,
) -> ApiResult<StatusCode> {
    s.svc.sessions().revoke_scim_token(&a.permit()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
