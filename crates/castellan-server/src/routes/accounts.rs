//! Accounts: add, list and search, show, reveal, update, delete, share.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use castellan_core::ids::{AccountId, PersonId, VaultId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::vaults::{ConfirmQuery, RoleGrant};
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::wire::{self, AccountInput, AccountPatch, AccountSecrets, AccountView, ItemRole};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(get_account, update_account, delete_account))
        .routes(routes!(reveal))
        .routes(routes!(account_access))
        .routes(routes!(share, unshare))
}

/// Listing filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Search: case-insensitive substring of label, username, app or login URL.
    pub q: Option<String>,
    /// Only this vault.
    #[param(value_type = Option<String>)]
    pub vault_id: Option<VaultId>,
    /// Only this catalog app id.
    pub app: Option<String>,
}

/// Which secret fields to reveal.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// Field names (`password`, `notes`, `backup_codes`, `custom:<name>`); all when absent.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
}

/// A direct grant on an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountGrant {
    /// The person.
    #[schema(value_type = String, format = Uuid)]
    pub person_id: PersonId,
    /// Their item role.
    pub role: ItemRole,
}

fn grants(list: Vec<(PersonId, castellan_core::model::ItemRole)>) -> Json<Vec<AccountGrant>> {
    Json(
        list.into_iter()
            .map(|(person_id, role)| AccountGrant {
                person_id,
                role: role.into(),
            })
            .collect(),
    )
}

/// Accounts the caller can reach, with search.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", security(("bearer" = [])), params(AccountQuery),
    responses((status = 200, body = Vec<AccountView>)))]
async fn list_accounts(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<Vec<AccountView>>> {
    Ok(Json(wire::list(
        s.svc
            .accounts()
            .list(&a.permit()?, q.q, q.vault_id, q.app)
            .await?,
    )))
}

/// Adds an account (the "Add account" form). Secrets are sealed under the vault's data key. A
/// label that looks like another one in the vault is refused (422 naming it) unless
/// `confirm_confusable=true`.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", security(("bearer" = [])), request_body = AccountInput,
    params(ConfirmQuery),
    responses((status = 201, body = AccountView), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_account(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiQuery(q): ApiQuery<ConfirmQuery>,
    ApiJson(req): ApiJson<AccountInput>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.svc
                .accounts()
                .create_checked(&a.permit()?, req.into(), q.look_alike())
                .await?
                .into(),
        ),
    ))
}

/// One account, without secret values.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id (UUID)")),
    responses((status = 200, body = AccountView), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_account(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(s.svc.accounts().get(&a.permit()?, id).await?.into()))
}

/// Changes an account; send `version` to refuse a stale edit. A new label that looks like
/// another one in the vault is refused (422) unless `confirm_confusable=true`.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts", security(("bearer" = [])), request_body = AccountPatch,
    params(("id" = String, Path, description = "Account id (UUID)"), ConfirmQuery),
    responses((status = 200, body = AccountView), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_account(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
    ApiQuery(q): ApiQuery<ConfirmQuery>,
    ApiJson(p): ApiJson<AccountPatch>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(
        s.svc
            .accounts()
            .update_checked(&a.permit()?, id, p.into(), q.look_alike())
            .await?
            .into(),
    ))
}

/// Deletes an account and its secrets (item owners only).
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id (UUID)")), responses((status = 204)))]
async fn delete_account(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<StatusCode> {
    s.svc.accounts().delete(&a.permit()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reveals secret fields; recorded as `account.reveal`. Collaborators, login-only and guests may not.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/reveal", tag = "accounts", security(("bearer" = [])), request_body = RevealRequest,
    params(("id" = String, Path, description = "Account id (UUID)")),
    responses((status = 200, body = AccountSecrets), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn reveal(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<AccountSecrets>> {
    // The body is optional: empty means every field.
    let fields = crate::extract::optional_json::<RevealRequest>(body)?.and_then(|r| r.fields);
    Ok(Json(
        s.svc
            .accounts()
            .reveal(&a.permit()?, id, fields)
            .await?
            .into(),
    ))
}

/// Direct grants on an account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/access", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id (UUID)")), responses((status = 200, body = Vec<AccountGrant>)))]
async fn account_access(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<Vec<AccountGrant>>> {
    Ok(grants(s.svc.accounts().access(&a.permit()?, id).await?))
}

/// Shares an account with a person with an item role.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/access/{person_id}", tag = "accounts", security(("bearer" = [])), request_body = RoleGrant,
    params(("id" = String, Path, description = "Account id"), ("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = Vec<AccountGrant>)))]
async fn share(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, person)): ApiPath<(AccountId, PersonId)>,
    ApiJson(g): ApiJson<RoleGrant>,
) -> ApiResult<Json<Vec<AccountGrant>>> {
    Ok(grants(
        s.svc
            .accounts()
            .share(&a.permit()?, id, person, Some(g.role.into()))
            .await?,
    ))
}

/// Stops sharing an account with a person.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/access/{person_id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id"), ("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = Vec<AccountGrant>)))]
async fn unshare(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, person)): ApiPath<(AccountId, PersonId)>,
) -> ApiResult<Json<Vec<AccountGrant>>> {
    Ok(grants(
        s.svc
            .accounts()
            .share(&a.permit()?, id, person, None)
            .await?,
    ))
}
