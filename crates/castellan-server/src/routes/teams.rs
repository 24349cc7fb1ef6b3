//! Teams: self-managed teams admins edit, teams the identity provider keeps (read-only here;
//! SCIM `/scim/v2/Groups` changes them), and teams' grants on hubs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use castellan_core::hub::HubId;
use castellan_core::team::{TeamId, TeamKind};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::wire::{self, ShareHubWithTeam, Team, TeamGrant, TeamInput, TeamView};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, replace_team, delete_team))
        .routes(routes!(team_grants))
        .routes(routes!(hub_teams))
        .routes(routes!(share_hub_with_team, revoke_hub_from_team))
}

/// Every team, ordered by name. Roles: owner, super_admin, admin, user.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<Team>), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_teams(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(wire::list(s.svc.teams().list(&a.permit()?).await?)))
}

/// Makes a self-managed team with its members. Roles: owner, super_admin, admin.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])), request_body = TeamInput,
    responses((status = 201, body = TeamView), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_team(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<TeamInput>,
) -> ApiResult<(StatusCode, Json<TeamView>)> {
    let t = s
        .svc
        .teams()
        .create(&a.permit()?, TeamKind::Managed, req.into())
        .await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

/// One team with its members. Roles: owner, super_admin, admin, user.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")),
    responses((status = 200, body = TeamView), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_team(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<TeamId>,
) -> ApiResult<Json<TeamView>> {
    Ok(Json(s.svc.teams().get(&a.permit()?, id).await?.into()))
}

/// Replaces a self-managed team's name and members: members who leave lose the team's hubs
/// (the bot removes them unless another grant keeps them). A team the identity provider keeps
/// is 403. Roles: owner, super_admin, admin.
#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])), request_body = TeamInput,
    params(("id" = String, Path, description = "Team id")),
    responses((status = 200, body = TeamView), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn replace_team(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<TeamId>,
    ApiJson(req): ApiJson<TeamInput>,
) -> ApiResult<Json<TeamView>> {
    let t = s
        .svc
        .teams()
        .replace(&a.permit()?, id, TeamKind::Managed, None, req.into())
        .await?;
    Ok(Json(t.into()))
}

/// Deletes a self-managed team; its members lose its hubs. Roles: owner, super_admin, admin.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_team(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<TeamId>,
) -> ApiResult<StatusCode> {
    s.svc
        .teams()
        .delete(&a.permit()?, id, TeamKind::Managed, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A team's grants on hubs. Roles: owner, super_admin, admin.
#[utoipa::path(get, path = "/api/v1/teams/{id}/grants", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")),
    responses((status = 200, body = Vec<TeamGrant>), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn team_grants(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<TeamId>,
) -> ApiResult<Json<Vec<TeamGrant>>> {
    Ok(Json(wire::list(
        s.svc.teams().grants(&a.permit()?, id).await?,
    )))
}

/// The teams granted a hub. Roles: owner, super_admin, admin.
#[utoipa::path(get, path = "/api/v1/hubs/{id}/teams", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hub id")),
    responses((status = 200, body = Vec<TeamGrant>), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn hub_teams(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
) -> ApiResult<Json<Vec<TeamGrant>>> {
    let grants = s.svc.teams().on_hub(&a.permit()?, id).await?;
    Ok(Json(grants.into_iter().map(|g| (id, g).into()).collect()))
}

/// Gives a team the hub (or changes its roles there): the bot invites each member with the
/// team's app role unless a grant of their own or another team's ranks higher. Roles: owner,
/// super_admin, admin.
#[utoipa::path(put, path = "/api/v1/hubs/{id}/teams/{team_id}", tag = "teams", security(("bearer" = [])), request_body = ShareHubWithTeam,
    params(("id" = String, Path, description = "Hub id"), ("team_id" = String, Path, description = "Team id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn share_hub_with_team(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, team)): ApiPath<(HubId, TeamId)>,
    ApiJson(req): ApiJson<ShareHubWithTeam>,
) -> ApiResult<StatusCode> {
    s.svc
        .teams()
        .grant_hub(
            &a.permit()?,
            id,
            team,
            req.hub_role.map(Into::into),
            req.app_role,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes the hub from a team: members no other grant keeps are removed from the app. Roles:
/// owner, super_admin, admin.
#[utoipa::path(delete, path = "/api/v1/hubs/{id}/teams/{team_id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hub id"), ("team_id" = String, Path, description = "Team id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn revoke_hub_from_team(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, team)): ApiPath<(HubId, TeamId)>,
) -> ApiResult<StatusCode> {
    s.svc.teams().revoke_hub(&a.permit()?, id, team).await?;
    Ok(StatusCode::NO_CONTENT)
}
