//! People, workspace roles and personal API tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use castellan_core::ids::{PersonId, TokenId};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::wire::{
    self, ApiToken, ChangePassword, InvitePerson, Invited, IssuedApiToken, NewToken,
    PasswordChanged, PasswordResetLink, Person, PersonPatch,
};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_people, invite_person))
        .routes(routes!(get_person, update_person))
        .routes(routes!(transfer_ownership))
        .routes(routes!(issue_password_reset))
        .routes(routes!(renew_invitation))
        .routes(routes!(change_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// Lists people. Roles: owner, super_admin, admin, user.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = Vec<Person>), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_people(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Json<Vec<Person>>> {
    Ok(Json(wire::list(s.svc.people().list(&a.permit()?).await?)))
}

/// Invites a person with a workspace role; returns the invitation token once.
#[utoipa::path(post, path = "/api/v1/people", tag = "people", security(("bearer" = [])), request_body = InvitePerson,
    responses((status = 201, body = Invited), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn invite_person(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<InvitePerson>,
) -> ApiResult<(StatusCode, Json<Invited>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.svc
                .people()
                .invite(&a.permit()?, req.into())
                .await?
                .into(),
        ),
    ))
}

/// One person.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "Person id (UUID)")),
    responses((status = 200, body = Person), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_person(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Json<Person>> {
    Ok(Json(s.svc.people().get(&a.permit()?, id).await?.into()))
}

/// Changes a person's name, role or status (`active`/`deactivated`).
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "people", security(("bearer" = [])), request_body = PersonPatch,
    params(("id" = String, Path, description = "Person id (UUID)")),
    responses((status = 200, body = Person), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn update_person(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<PersonId>,
    ApiJson(p): ApiJson<PersonPatch>,
) -> ApiResult<Json<Person>> {
    Ok(Json(
        s.svc
            .people()
            .update(&a.permit()?, id, p.into())
            .await?
            .into(),
    ))
}

/// Hands the Owner role to this person; the caller (the owner) becomes super_admin.
#[utoipa::path(post, path = "/api/v1/people/{id}/transfer-ownership", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "The new owner's person id")),
    responses((status = 200, body = Person), (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn transfer_ownership(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Json<Person>> {
    Ok(Json(
        s.svc
            .people()
            .transfer_ownership(&a.permit()?, id)
            .await?
            .into(),
    ))
}

/// Issues a single-use password reset link for an active person whose role the caller manages
/// (the same rule as for roles: admins reset users, login-only people and guests; super admins
/// also admins and super admins; nobody the Owner). The token is shown once and works for 60
/// minutes; an earlier pending link of the person stops working.
#[utoipa::path(post, path = "/api/v1/people/{id}/password-reset", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "Person id (UUID)")),
    responses((status = 201, body = PasswordResetLink), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn issue_password_reset(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<(StatusCode, Json<PasswordResetLink>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.svc
                .people()
                .issue_password_reset(&a.permit()?, id)
                .await?
                .into(),
        ),
    ))
}

/// Renews an invitation that was not accepted: a new token (shown once, valid 7 days); the
/// old one stops working.
#[utoipa::path(post, path = "/api/v1/people/{id}/invitation", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "Person id (UUID)")),
    responses((status = 201, body = Invited), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn renew_invitation(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<(StatusCode, Json<Invited>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.svc
                .people()
                .renew_invitation(&a.permit()?, id)
                .await?
                .into(),
        ),
    ))
}

/// Changes the caller's own password (needs the current one). Every other web session and
/// API token of theirs ends; the token used stays. Rate limited like sign-in.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "people", security(("bearer" = [])), request_body = ChangePassword,
    responses((status = 200, body = PasswordChanged), (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
async fn change_password(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<ChangePassword>,
) -> ApiResult<Json<PasswordChanged>> {
    super::setup::limit(&s, a.source_ip.as_deref(), &a.name)?;
    Ok(Json(
        s.svc
            .sessions()
            .change_password(&a.permit()?, &req.into())
            .await?
            .into(),
    ))
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])), responses((status = 200, body = Vec<ApiToken>)))]
async fn list_tokens(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(wire::list(
        s.svc.sessions().tokens(&a.permit()?).await?,
    )))
}

/// Issues a personal API token (the secret is shown once; only its SHA-256 is stored).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])), request_body = NewToken,
    responses((status = 201, body = IssuedApiToken)))]
async fn create_token(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<IssuedApiToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.svc
                .sessions()
                .create_token(&a.permit()?, req.into())
                .await?
                .into(),
        ),
    ))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id (UUID)")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn revoke_token(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<TokenId>,
) -> ApiResult<StatusCode> {
    s.svc.sessions().revoke_token(&a.permit()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
