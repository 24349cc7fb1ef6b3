//! Collections (named sets of accounts shared together) and shares: a person's collections,
//! and a team's vaults, collections and accounts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use castellan_core::collection::{CollectionId, Grantee, ItemTarget};
use castellan_core::ids::PersonId;
use castellan_core::team::TeamId;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::vaults::RoleGrant;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::wire::{self, Collection, CollectionInput, CollectionView, Share, ShareTargetKind};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_collections, create_collection))
        .routes(routes!(
            get_collection,
            replace_collection,
            delete_collection
        ))
        .routes(routes!(collection_shares))
        .routes(routes!(share_collection, unshare_collection))
        .routes(routes!(team_shares))
        .routes(routes!(share_with_team, unshare_from_team))
}

/// The collections the caller can see (admins: all; others: those shared with them or a team
/// they are in), ordered by name. Roles: every role.
#[utoipa::path(get, path = "/api/v1/collections", tag = "collections", security(("bearer" = [])),
    responses((status = 200, body = Vec<Collection>)))]
async fn list_collections(
    State(s): State<AppState>,
    Auth(a): Auth,
) -> ApiResult<Json<Vec<Collection>>> {
    Ok(Json(wire::list(
        s.svc.collections().list(&a.permit()?).await?,
    )))
}

/// Makes a collection with its accounts. Roles: owner, super_admin, admin.
#[utoipa::path(post, path = "/api/v1/collections", tag = "collections", security(("bearer" = [])), request_body = CollectionInput,
    responses((status = 201, body = CollectionView), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_collection(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<CollectionInput>,
) -> ApiResult<(StatusCode, Json<CollectionView>)> {
    let c = s.svc.collections().create(&a.permit()?, req.into()).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

/// One collection the caller can see, with its accounts. Roles: every role.
#[utoipa::path(get, path = "/api/v1/collections/{id}", tag = "collections", security(("bearer" = [])),
    params(("id" = String, Path, description = "Collection id")),
    responses((status = 200, body = CollectionView), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_collection(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<CollectionId>,
) -> ApiResult<Json<CollectionView>> {
    Ok(Json(
        s.svc.collections().get(&a.permit()?, id).await?.into(),
    ))
}

/// Replaces a collection's name, description and accounts (over `version` when given: 409 if
/// it changed since): whoever reached an account only through it loses it at once. Only an
/// admin who may change the access of everyone holding it may (not one who holds it). Roles:
/// owner, super_admin, admin.
#[utoipa::path(put, path = "/api/v1/collections/{id}", tag = "collections", security(("bearer" = [])), request_body = CollectionInput,
    params(("id" = String, Path, description = "Collection id")),
    responses((status = 200, body = CollectionView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn replace_collection(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<CollectionId>,
    ApiJson(req): ApiJson<CollectionInput>,
) -> ApiResult<Json<CollectionView>> {
    let version = req.version;
    let c = s
        .svc
        .collections()
        .replace(&a.permit()?, id, version, req.into())
        .await?;
    Ok(Json(c.into()))
}

/// Deletes a collection and its shares (the accounts stay). Roles: owner, super_admin, admin.
#[utoipa::path(delete, path = "/api/v1/collections/{id}", tag = "collections", security(("bearer" = [])),
    params(("id" = String, Path, description = "Collection id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_collection(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<CollectionId>,
) -> ApiResult<StatusCode> {
    s.svc.collections().delete(&a.permit()?, id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who holds a collection: people and teams, with their item role. Roles: owner, super_admin,
/// admin.
#[utoipa::path(get, path = "/api/v1/collections/{id}/shares", tag = "collections", security(("bearer" = [])),
    params(("id" = String, Path, description = "Collection id")),
    responses((status = 200, body = Vec<Share>), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn collection_shares(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<CollectionId>,
) -> ApiResult<Json<Vec<Share>>> {
    let target = ItemTarget::Collection(id);
    Ok(Json(wire::list(
        s.svc.shares().on(&a.permit()?, target).await?,
    )))
}

/// Shares a collection with a person with an item role (replaces an earlier one). Roles:
/// owner, super_admin, admin (not for their own access).
#[utoipa::path(put, path = "/api/v1/collections/{id}/access/{person_id}", tag = "collections", security(("bearer" = [])), request_body = RoleGrant,
    params(("id" = String, Path, description = "Collection id"), ("person_id" = String, Path, description = "Person id")),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn share_collection(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, person)): ApiPath<(CollectionId, PersonId)>,
    ApiJson(g): ApiJson<RoleGrant>,
) -> ApiResult<StatusCode> {
    let (who, what) = (Grantee::Person(person), ItemTarget::Collection(id));
    s.svc
        .shares()
        .set(&a.permit()?, who, what, Some(g.role.into()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a collection from a person. Roles: owner, super_admin, admin.
#[utoipa::path(delete, path = "/api/v1/collections/{id}/access/{person_id}", tag = "collections", security(("bearer" = [])),
    params(("id" = String, Path, description = "Collection id"), ("person_id" = String, Path, description = "Person id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn unshare_collection(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, person)): ApiPath<(CollectionId, PersonId)>,
) -> ApiResult<StatusCode> {
    let (who, what) = (Grantee::Person(person), ItemTarget::Collection(id));
    s.svc.shares().set(&a.permit()?, who, what, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A team's shares: the vaults, collections and accounts its members reach. Roles: owner,
/// super_admin, admin.
#[utoipa::path(get, path = "/api/v1/teams/{id}/shares", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")),
    responses((status = 200, body = Vec<Share>), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn team_shares(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<TeamId>,
) -> ApiResult<Json<Vec<Share>>> {
    Ok(Json(wire::list(
        s.svc.shares().of(&a.permit()?, Grantee::Team(id)).await?,
    )))
}

/// Shares a vault, a collection or an account with a team: each member, while a member, uses
/// every account it reaches with the item role, unless a grant of their own or another
/// team's ranks higher. Roles: owner, super_admin, admin (not on a team they are in).
#[utoipa::path(put, path = "/api/v1/teams/{id}/shares/{kind}/{target_id}", tag = "teams", security(("bearer" = [])), request_body = RoleGrant,
    params(("id" = String, Path, description = "Team id"), ("kind" = ShareTargetKind, Path, description = "`vault`, `collection` or `account`"), ("target_id" = String, Path, description = "The vault's, collection's or account's id")),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn share_with_team(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, kind, target)): ApiPath<(TeamId, ShareTargetKind, String)>,
    ApiJson(g): ApiJson<RoleGrant>,
) -> ApiResult<StatusCode> {
    let what = kind.target(&target)?;
    s.svc
        .shares()
        .set(&a.permit()?, Grantee::Team(id), what, Some(g.role.into()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a vault, a collection or an account from a team: members no other grant keeps lose
/// it at once. Roles: owner, super_admin, admin (not on a team they are in).
#[utoipa::path(delete, path = "/api/v1/teams/{id}/shares/{kind}/{target_id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id"), ("kind" = ShareTargetKind, Path, description = "`vault`, `collection` or `account`"), ("target_id" = String, Path, description = "The vault's, collection's or account's id")),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn unshare_from_team(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, kind, target)): ApiPath<(TeamId, ShareTargetKind, String)>,
) -> ApiResult<StatusCode> {
    let what = kind.target(&target)?;
    s.svc
        .shares()
        .set(&a.permit()?, Grantee::Team(id), what, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
