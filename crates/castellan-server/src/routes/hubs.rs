//! Business hubs, their members and grants, and the automation log (jobs).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use castellan_core::hub::{HubId, JobId, JobState, Matching, Trigger};
use castellan_core::ids::PersonId;
use castellan_core::ports::JobFilter;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::wire::{
    self, ConnectHub, Grant, Hub, HubDetail, HubMember, HubPatch, Job, JobStep, MemberAction,
    RevokeHub, SessionExport, SessionUpload, ShareHub,
};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_hubs, connect_hub))
        .routes(routes!(get_hub, update_hub))
        .routes(routes!(sync_hub))
        .routes(routes!(hub_members))
        .routes(routes!(member_action))
        .routes(routes!(hub_grants))
        .routes(routes!(share_hub))
        .routes(routes!(revoke_hub))
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(retry_job))
        .routes(routes!(cancel_job))
        .routes(routes!(job_steps))
        .routes(routes!(job_step_screenshot))
        .routes(routes!(upload_session))
}

/// Asking for a sync.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Let a plan halted by the safeguard proceed.
    #[serde(default)]
    pub confirm: bool,
}

/// Member tab filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// `onboarded`, `unmatched`, `guest` or `exempted`.
    #[param(value_type = Option<String>)]
    pub matching: Option<Matching>,
}

/// Automation log filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only this hub.
    #[param(value_type = Option<String>)]
    pub hub_id: Option<HubId>,
    /// Only this state.
    #[param(value_type = Option<String>)]
    pub state: Option<JobState>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

/// Hubs.
#[utoipa::path(get, path = "/api/v1/hubs", tag = "hubs", security(("bearer" = [])), responses((status = 200, body = Vec<Hub>)))]
async fn list_hubs(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Json<Vec<Hub>>> {
    Ok(Json(wire::list(s.svc.hubs().list(&a.permit()?).await?)))
}

/// Connects a business hub with its automation account; queues validation and a first sync.
#[utoipa::path(post, path = "/api/v1/hubs", tag = "hubs", security(("bearer" = [])), request_body = ConnectHub,
    responses((status = 201, body = Hub), (status = 422, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn connect_hub(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<ConnectHub>,
) -> ApiResult<(StatusCode, Json<Hub>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.svc.hubs().connect(&a.permit()?, req.into()).await?.into()),
    ))
}

/// One hub with status, warnings and the last sync report.
#[utoipa::path(get, path = "/api/v1/hubs/{id}", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hub id")), responses((status = 200, body = HubDetail)))]
async fn get_hub(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
) -> ApiResult<Json<HubDetail>> {
    Ok(Json(s.svc.hubs().get(&a.permit()?, id).await?.into()))
}

/// Changes a hub's settings (label, base URL, safeguard threshold, schedule, automation account).
#[utoipa::path(patch, path = "/api/v1/hubs/{id}", tag = "hubs", security(("bearer" = [])), request_body = HubPatch,
    params(("id" = String, Path, description = "Hub id")), responses((status = 200, body = Hub)))]
async fn update_hub(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
    ApiJson(p): ApiJson<HubPatch>,
) -> ApiResult<Json<Hub>> {
    Ok(Json(
        s.svc
            .hubs()
            .update(&a.permit()?, id, p.into())
            .await?
            .into(),
    ))
}

/// Checks for updates now; `confirm` lets a plan halted by the safeguard proceed.
#[utoipa::path(post, path = "/api/v1/hubs/{id}/sync", tag = "hubs", security(("bearer" = [])), request_body = SyncRequest,
    params(("id" = String, Path, description = "Hub id")), responses((status = 202, body = Job)))]
async fn sync_hub(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let confirm = crate::extract::optional_json::<SyncRequest>(body)?.is_some_and(|b| b.confirm);
    Ok((
        StatusCode::ACCEPTED,
        Json(
            s.svc
                .hubs()
                .sync(&a.permit()?, id, confirm, Trigger::Api)
                .await?
                .into(),
        ),
    ))
}

/// The member snapshot (one matching tab with `?matching=`).
#[utoipa::path(get, path = "/api/v1/hubs/{id}/members", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hub id"), MemberQuery), responses((status = 200, body = Vec<HubMember>)))]
async fn hub_members(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
    ApiQuery(q): ApiQuery<MemberQuery>,
) -> ApiResult<Json<Vec<HubMember>>> {
    Ok(Json(wire::list(
        s.svc.hubs().members(&a.permit()?, id, q.matching).await?,
    )))
}

/// Matches a member to a person, exempts them with a reason, or removes them.
#[utoipa::path(post, path = "/api/v1/hubs/{id}/members/{app_member_id}", tag = "hubs", security(("bearer" = [])), request_body = MemberAction,
    params(("id" = String, Path, description = "Hub id"), ("app_member_id" = String, Path, description = "The app's member id")),
    responses((status = 200, body = HubMember)))]
async fn member_action(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, member)): ApiPath<(HubId, String)>,
    ApiJson(act): ApiJson<MemberAction>,
) -> ApiResult<Json<HubMember>> {
    Ok(Json(
        s.svc
            .hubs()
            .act_on_member(&a.permit()?, id, &member, act.into())
            .await?
            .into(),
    ))
}

/// Grants: who is given the hub, with which hub role and app role.
#[utoipa::path(get, path = "/api/v1/hubs/{id}/grants", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hub id")), responses((status = 200, body = Vec<Grant>)))]
async fn hub_grants(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
) -> ApiResult<Json<Vec<Grant>>> {
    Ok(Json(wire::list(
        s.svc.hubs().grants(&a.permit()?, id).await?,
    )))
}

/// Shares the hub with a person or changes their app role; the bot invites or updates them.
#[utoipa::path(put, path = "/api/v1/hubs/{id}/grants/{person_id}", tag = "hubs", security(("bearer" = [])), request_body = ShareHub,
    params(("id" = String, Path, description = "Hub id"), ("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = Grant)))]
async fn share_hub(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, person)): ApiPath<(HubId, PersonId)>,
    ApiJson(req): ApiJson<ShareHub>,
) -> ApiResult<Json<Grant>> {
    Ok(Json(
        s.svc
            .hubs()
            .share(&a.permit()?, id, person, req.into())
            .await?
            .into(),
    ))
}

/// Revokes people's grants in one plan; the bot removes them (keep-seat drops only Castellan's management).
#[utoipa::path(post, path = "/api/v1/hubs/{id}/revoke", tag = "hubs", security(("bearer" = [])), request_body = RevokeHub,
    params(("id" = String, Path, description = "Hub id")), responses((status = 200, body = Vec<Grant>)))]
async fn revoke_hub(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
    ApiJson(req): ApiJson<RevokeHub>,
) -> ApiResult<Json<Vec<Grant>>> {
    Ok(Json(wire::list(
        s.svc.hubs().revoke(&a.permit()?, id, req.into()).await?,
    )))
}

/// The automation log: jobs, newest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = [])), params(JobQuery), responses((status = 200, body = Vec<Job>)))]
async fn list_jobs(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> ApiResult<Json<Vec<Job>>> {
    let f = JobFilter {
        hub_id: q.hub_id,
        states: q.state.map(|s| vec![s]),
        limit: q.limit,
    };
    Ok(Json(wire::list(s.svc.hubs().jobs(&a.permit()?, f).await?)))
}

/// One job.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Job id")), responses((status = 200, body = Job)))]
async fn get_job(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Json<Job>> {
    Ok(Json(s.svc.hubs().job(&a.permit()?, id).await?.into()))
}

/// Queues a not-completed job again.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Job id")), responses((status = 200, body = Job)))]
async fn retry_job(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Json<Job>> {
    Ok(Json(s.svc.hubs().retry_job(&a.permit()?, id).await?.into()))
}

/// Cancels a queued or retrying job.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Job id")), responses((status = 200, body = Job)))]
async fn cancel_job(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Json<Job>> {
    Ok(Json(
        s.svc.hubs().cancel_job(&a.permit()?, id).await?.into(),
    ))
}

/// A job's record: each step the bot took (what, the URL, the error of a failing one), oldest
/// first; screenshots are fetched one by one.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/steps", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Job id")), responses((status = 200, body = Vec<JobStep>)))]
async fn job_steps(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Json<Vec<JobStep>>> {
    Ok(Json(wire::list(
        s.svc.hubs().job_steps(&a.permit()?, id).await?,
    )))
}

/// The screenshot of a job's step, as a PNG (it may show personal data: each view is recorded
/// as `job.screenshot_view`). 404 once the job completed (its screenshots are dropped).
#[utoipa::path(get, path = "/api/v1/jobs/{id}/steps/{seq}/screenshot", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Job id"), ("seq" = i64, Path, description = "Step number")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn job_step_screenshot(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, seq)): ApiPath<(JobId, i64)>,
) -> ApiResult<impl IntoResponse> {
    let png = s
        .svc
        .hubs()
        .job_step_screenshot(&a.permit()?, id, seq)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    ))
}

/// Uploads a signed-in session for the hub's automation account (cookies exported from a
/// browser: a JSON export or a `cookies.txt`), checked against the app and kept sealed; the
/// hub's jobs that need attention run again.
#[utoipa::path(put, path = "/api/v1/hubs/{id}/session", tag = "hubs", security(("bearer" = [])), request_body = SessionExport,
    params(("id" = String, Path, description = "Hub id")),
    responses((status = 200, body = SessionUpload), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn upload_session(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
    ApiJson(req): ApiJson<SessionExport>,
) -> ApiResult<Json<SessionUpload>> {
    Ok(Json(
        s.svc
            .hubs()
            .upload_session(&a.permit()?, id, &req.cookies)
            .await?
            .into(),
    ))
}
