//! Vaults and access to them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use castellan_core::ids::{PersonId, VaultId};
use castellan_core::validate::LookAlike;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::wire::{self, ItemRole, NewVault, Vault, VaultAccess};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_vaults, create_vault))
        .routes(routes!(get_vault))
        .routes(routes!(vault_access))
        .routes(routes!(grant_vault, revoke_vault))
}

/// A role to grant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    /// The item role.
    pub role: ItemRole,
}

/// Confirming a label or vault name that looks like an existing one.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfirmQuery {
    /// `true` keeps a label that looks like another one (same letters from another script,
    /// `I` for `l`…); without it such a label is refused with 422 naming the existing one.
    #[serde(default)]
    pub confirm_confusable: bool,
}

impl ConfirmQuery {
    /// The core's look-alike setting for this request.
    pub fn look_alike(&self) -> LookAlike {
        LookAlike::confirmed(self.confirm_confusable)
    }
}

/// Vaults the caller can reach.
#[utoipa::path(get, path = "/api/v1/vaults", tag = "vaults", security(("bearer" = [])), responses((status = 200, body = Vec<Vault>)))]
async fn list_vaults(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Json<Vec<Vault>>> {
    Ok(Json(wire::list(s.svc.vaults().list(&a.permit()?).await?)))
}

/// Creates a cloud vault with its own data key; the creator gets `owner` on it. A name that
/// looks like another vault's is refused (422) unless `confirm_confusable=true`.
#[utoipa::path(post, path = "/api/v1/vaults", tag = "vaults", security(("bearer" = [])), request_body = NewVault,
    params(ConfirmQuery),
    responses((status = 201, body = Vault), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_vault(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiQuery(q): ApiQuery<ConfirmQuery>,
    ApiJson(req): ApiJson<NewVault>,
) -> ApiResult<(StatusCode, Json<Vault>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.svc
                .vaults()
                .create_checked(&a.permit()?, req.into(), q.look_alike())
                .await?
                .into(),
        ),
    ))
}

/// One vault.
#[utoipa::path(get, path = "/api/v1/vaults/{id}", tag = "vaults", security(("bearer" = [])),
    params(("id" = String, Path, description = "Vault id (UUID)")),
    responses((status = 200, body = Vault), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_vault(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<VaultId>,
) -> ApiResult<Json<Vault>> {
    Ok(Json(s.svc.vaults().get(&a.permit()?, id).await?.into()))
}

/// Who can reach a vault, with which item role.
#[utoipa::path(get, path = "/api/v1/vaults/{id}/access", tag = "vaults", security(("bearer" = [])),
    params(("id" = String, Path, description = "Vault id (UUID)")), responses((status = 200, body = Vec<VaultAccess>)))]
async fn vault_access(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<VaultId>,
) -> ApiResult<Json<Vec<VaultAccess>>> {
    Ok(Json(wire::list(
        s.svc.vaults().access(&a.permit()?, id).await?,
    )))
}

/// Grants a person access to a vault with an item role (replaces an earlier grant).
#[utoipa::path(put, path = "/api/v1/vaults/{id}/access/{person_id}", tag = "vaults", security(("bearer" = [])), request_body = RoleGrant,
    params(("id" = String, Path, description = "Vault id"), ("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = Vec<VaultAccess>)))]
async fn grant_vault(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, person)): ApiPath<(VaultId, PersonId)>,
    ApiJson(g): ApiJson<RoleGrant>,
) -> ApiResult<Json<Vec<VaultAccess>>> {
    Ok(Json(wire::list(
        s.svc
            .vaults()
            .set_access(&a.permit()?, id, person, Some(g.role.into()))
            .await?,
    )))
}

/// Revokes a person's access to a vault.
#[utoipa::path(delete, path = "/api/v1/vaults/{id}/access/{person_id}", tag = "vaults", security(("bearer" = [])),
    params(("id" = String, Path, description = "Vault id"), ("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = Vec<VaultAccess>)))]
async fn revoke_vault(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, person)): ApiPath<(VaultId, PersonId)>,
) -> ApiResult<Json<Vec<VaultAccess>>> {
    Ok(Json(wire::list(
        s.svc
            .vaults()
            .set_access(&a.permit()?, id, person, None)
            .await?,
    )))
}
