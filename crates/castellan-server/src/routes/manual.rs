//! Manual hubs: the roster upload and the app admin's tasks (`castellan_core::manual`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use castellan_core::hub::HubId;
use castellan_core::manual::{ManualTaskId, MAX_ROSTER_BYTES};
use castellan_core::CoreError;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, Auth};
use crate::wire::{self, AssignedTask, ManualTask, RosterUploaded};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    // A roster may be larger than the API's usual 1 MiB body: 20 MiB of CSV, plus headroom.
    let roster = OpenApiRouter::new()
        .routes(routes!(upload_roster))
        .layer(DefaultBodyLimit::max(MAX_ROSTER_BYTES + 64 * 1024));
    OpenApiRouter::new()
        .merge(roster)
        .routes(routes!(list_tasks))
        .routes(routes!(my_tasks))
        .routes(routes!(mark_task_done))
}

/// The roster's text from a `text/csv` body: 415 for another type, 413 past 20 MiB, 422 when
/// it is not UTF-8.
fn csv_text(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult<String> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if mime != "text/csv" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the roster as CSV with `Content-Type: text/csv`",
        ));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Payload too large",
                "the roster is larger than 20 MiB",
            )
        } else {
            ApiError::bad_request("the body could not be read")
        }
    })?;
    String::from_utf8(body.to_vec())
        .map_err(|_| CoreError::invalid("roster", "the roster is not UTF-8 text").into())
}

/// Replaces a manual hub's roster with a CSV (`email,name,role[,state][,id]`; several roles
/// separated by `;`; state `active`, `invited` or `deactivated`; id defaults to the email) and
/// verifies the app admin's tasks it shows done, then queues a check for updates. Every row is
/// checked first: one bad row (422, naming its line) writes nothing. At most 100,000 members.
#[utoipa::path(put, path = "/api/v1/hubs/{id}/roster", tag = "hubs", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "The roster, header first"),
    params(("id" = String, Path, description = "Hub id")),
    responses((status = 200, body = RosterUploaded),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn upload_roster(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<RosterUploaded>> {
    let permit = a.permit()?;
    let text = csv_text(&headers, body)?;
    Ok(Json(
        s.svc.hubs().upload_roster(&permit, id, &text).await?.into(),
    ))
}

/// A manual hub's tasks for its app admin, newest first, each flagged `overdue` when still
/// pending past its due time. The hub's app admin sees them without `HubRead`.
#[utoipa::path(get, path = "/api/v1/hubs/{id}/tasks", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hub id")), responses((status = 200, body = Vec<ManualTask>)))]
async fn list_tasks(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<HubId>,
) -> ApiResult<Json<Vec<ManualTask>>> {
    Ok(Json(wire::list(
        s.svc.hubs().tasks(&a.permit()?, id).await?,
    )))
}

/// The caller's own tasks, as the app admin of manual hubs: pending ones first (the soonest
/// due first), then the others, newest first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "hubs", security(("bearer" = [])),
    responses((status = 200, body = Vec<AssignedTask>)))]
async fn my_tasks(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Json<Vec<AssignedTask>>> {
    Ok(Json(wire::list(s.svc.hubs().my_tasks(&a.permit()?).await?)))
}

/// Marks a task done: the app admin made the change in the app; the next roster upload
/// verifies it. The hub's app admin may, without `HubManage`. Repeating it changes nothing.
#[utoipa::path(post, path = "/api/v1/hubs/{id}/tasks/{task_id}/done", tag = "hubs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hub id"), ("task_id" = String, Path, description = "Task id")),
    responses((status = 200, body = ManualTask), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn mark_task_done(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath((id, task)): ApiPath<(HubId, ManualTaskId)>,
) -> ApiResult<Json<ManualTask>> {
    Ok(Json(
        s.svc
            .hubs()
            .mark_task_done(&a.permit()?, id, task)
            .await?
            .into(),
    ))
}
