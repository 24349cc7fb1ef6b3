//! Health, setup (claiming the workspace), signing in and invitations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use castellan_core::activity::Actor;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Auth, Source};
use crate::wire::{Claim, ClaimResult, Person, SetupStatus, SignIn, UseResetLink};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(setup_status))
        .routes(routes!(claim))
        .routes(routes!(sign_in))
        .routes(routes!(accept_invitation))
        .routes(routes!(reset_password))
        .routes(routes!(me))
}

/// Liveness and store reachability.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Castellan version.
    pub version: String,
}

/// Health check (no authentication).
#[utoipa::path(get, path = "/api/v1/health", tag = "setup",
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json")))]
async fn health(State(s): State<AppState>) -> ApiResult<Json<Health>> {
    s.svc.sessions().setup_status().await?;
    Ok(Json(Health {
        status: "ok".into(),
        backend: s.svc.backend().into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

/// Whether the workspace is initialized and claimed (no authentication).
#[utoipa::path(get, path = "/api/v1/setup", tag = "setup", responses((status = 200, body = SetupStatus)))]
async fn setup_status(State(s): State<AppState>) -> ApiResult<Json<SetupStatus>> {
    Ok(Json(s.svc.sessions().setup_status().await?.into()))
}

/// The Owner claims the workspace with the setup token printed at first start. Returns the
/// owner and a first API token (shown once).
#[utoipa::path(post, path = "/api/v1/setup/claim", tag = "setup", request_body = Claim,
    responses((status = 201, body = ClaimResult), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn claim(
    State(s): State<AppState>,
    src: Source,
    ApiJson(c): ApiJson<Claim>,
) -> ApiResult<(StatusCode, Json<ClaimResult>)> {
    rate_limit(&s, &src, "")?;
    let actor = Actor::anonymous(src.ip, src.user_agent);
    Ok((
        StatusCode::CREATED,
        Json(s.svc.sessions().claim(&actor, c.into()).await?.into()),
    ))
}

/// Signs in with email and password; returns a new API token (shown once). Every attempt is
/// recorded in the activity log.
#[utoipa::path(post, path = "/api/v1/auth/sign-in", tag = "setup", request_body = SignIn,
    responses((status = 201, body = ClaimResult), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
async fn sign_in(
    State(s): State<AppState>,
    src: Source,
    ApiJson(req): ApiJson<SignIn>,
) -> ApiResult<(StatusCode, Json<ClaimResult>)> {
    rate_limit(&s, &src, &req.email)?;
    let actor = Actor::anonymous(src.ip, src.user_agent);
    Ok((
        StatusCode::CREATED,
        Json(s.svc.sessions().sign_in(&actor, req.into()).await?.into()),
    ))
}

/// Counts a sign-in, claim, invitation, reset-link or password-change attempt against the
/// shared limit (per IP, per email); over the limit → 429 with `Retry-After` (seconds).
pub(super) fn rate_limit(s: &AppState, src: &Source, email: &str) -> Result<(), ApiError> {
    limit(s, src.ip.as_deref(), email)
}

/// [`rate_limit`] from a source IP as text.
pub(super) fn limit(s: &AppState, ip: Option<&str>, email: &str) -> Result<(), ApiError> {
    let ip = ip.and_then(|i| i.parse().ok());
    s.limiter.check(ip, email).map_err(|wait| {
        ApiError::too_many(
            format!(
                "too many sign-in attempts; retry in {} seconds",
                wait.as_secs()
            ),
            wait.as_secs(),
        )
    })
}

/// Accepting an invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The invited email.
    pub email: String,
    /// The invitation token.
    #[schema(value_type = String)]
    pub invitation_token: SecretString,
    /// The new password (at least 12 characters).
    #[schema(value_type = String)]
    pub password: SecretString,
}

/// Accepts an invitation: sets the password and activates the person. Rate limited like
/// sign-in.
#[utoipa::path(post, path = "/api/v1/auth/accept-invitation", tag = "setup", request_body = AcceptInvitation,
    responses((status = 200, body = Person), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
async fn accept_invitation(
    State(s): State<AppState>,
    src: Source,
    ApiJson(req): ApiJson<AcceptInvitation>,
) -> ApiResult<Json<Person>> {
    rate_limit(&s, &src, &req.email)?;
    let actor = Actor::anonymous(src.ip, src.user_agent);
    Ok(Json(
        s.svc
            .sessions()
            .accept_invitation(&actor, &req.email, &req.invitation_token, &req.password)
            .await?
            .into(),
    ))
}

/// Uses a password reset link (no authentication: the link's token is the credential): sets
/// the new password, ends every session and token of the person; the link works once, for 60
/// minutes. Rate limited like sign-in.
#[utoipa::path(post, path = "/api/v1/auth/reset-password", tag = "setup", request_body = UseResetLink,
    responses((status = 200, body = Person), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
async fn reset_password(
    State(s): State<AppState>,
    src: Source,
    ApiJson(req): ApiJson<UseResetLink>,
) -> ApiResult<Json<Person>> {
    rate_limit(&s, &src, "")?;
    let actor = Actor::anonymous(src.ip, src.user_agent);
    Ok(Json(
        s.svc
            .sessions()
            .reset_password(&actor, &req.into())
            .await?
            .into(),
    ))
}

/// The signed-in person.
#[utoipa::path(get, path = "/api/v1/me", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = Person), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn me(State(s): State<AppState>, Auth(actor): Auth) -> ApiResult<Json<Person>> {
    Ok(Json(s.svc.people().me(&actor.permit()?).await?.into()))
}
