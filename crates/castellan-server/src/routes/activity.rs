//! The activity log: list and filter, CSV export, chain verification.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use castellan_core::activity::{ActivityEvent, ChainReport};
use castellan_core::ports::ActivityFilter;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Auth};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_activity))
        .routes(routes!(export_activity))
        .routes(routes!(verify_activity))
}

/// Activity filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Action or action prefix, e.g. `account.` or `account.reveal`.
    pub action: Option<String>,
    /// Actor person id.
    pub actor_id: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// At or after (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Events with a smaller sequence number only (paging).
    pub before_seq: Option<i64>,
    /// At most this many (1..=1000, default 100).
    pub limit: Option<u32>,
}

impl From<ActivityQuery> for ActivityFilter {
    fn from(q: ActivityQuery) -> Self {
        Self {
            action: q.action,
            actor_id: q.actor_id,
            target_id: q.target_id,
            since: q.since,
            until: q.until,
            before_seq: q.before_seq,
            limit: q.limit,
        }
    }
}

/// Events, newest first.
#[utoipa::path(get, path = "/api/v1/activity", tag = "activity", security(("bearer" = [])), params(ActivityQuery),
    responses((status = 200, body = Vec<ActivityEvent>)))]
async fn list_activity(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<Vec<ActivityEvent>>> {
    Ok(Json(s.svc.activity(&a, q.into()).await?))
}

/// Every matching event as CSV (RFC 4180), oldest first.
#[utoipa::path(get, path = "/api/v1/activity/export.csv", tag = "activity", security(("bearer" = [])), params(ActivityQuery),
    responses((status = 200, content_type = "text/csv", body = String)))]
async fn export_activity(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<impl IntoResponse> {
    let events = s.svc.activity_export(&a, q.into()).await?;
    let mut w = csv::Writer::from_writer(vec![]);
    let fail = |e: csv::Error| ApiError::from(castellan_core::CoreError::internal(e));
    w.write_record([
        "seq",
        "at",
        "actor_kind",
        "actor_id",
        "actor_name",
        "token_id",
        "action",
        "target_kind",
        "target_id",
        "target_label",
        "source_ip",
        "user_agent",
        "details",
        "hash",
    ])
    .map_err(fail)?;
    for e in events {
        let kind = serde_json::to_value(e.actor_kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        w.write_record([
            e.seq.to_string(),
            e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            kind,
            e.actor_id.unwrap_or_default(),
            e.actor_name,
            e.token_id.unwrap_or_default(),
            e.action,
            e.target_kind.unwrap_or_default(),
            e.target_id.unwrap_or_default(),
            e.target_label.unwrap_or_default(),
            e.source_ip.unwrap_or_default(),
            e.user_agent.unwrap_or_default(),
            e.details,
            e.hash,
        ])
        .map_err(fail)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| ApiError::from(castellan_core::CoreError::internal(e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"castellan-activity.csv\"",
            ),
        ],
        body,
    ))
}

/// Walks the hash chain and reports every changed, removed or inserted event.
#[utoipa::path(get, path = "/api/v1/activity/verify", tag = "activity", security(("bearer" = [])),
    responses((status = 200, body = ChainReport)))]
async fn verify_activity(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Json<ChainReport>> {
    Ok(Json(s.svc.verify_activity(&a).await?))
}
