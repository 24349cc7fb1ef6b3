//! The activity log: list and filter, CSV export, chain verification.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use castellan_core::activity::ActivityEvent;
use castellan_core::ports::ActivityFilter;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use castellan_core::CoreError;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Auth};
use crate::wire::{self, ChainReport};
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
    responses((status = 200, body = Vec<wire::ActivityEvent>)))]
async fn list_activity(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<Vec<wire::ActivityEvent>>> {
    Ok(Json(wire::list(
        s.svc.activity().list(&a.permit()?, q.into()).await?,
    )))
}

/// Every matching event as CSV (RFC 4180), oldest first.
#[utoipa::path(get, path = "/api/v1/activity/export.csv", tag = "activity", security(("bearer" = [])), params(ActivityQuery),
    responses((status = 200, content_type = "text/csv", body = String)))]
async fn export_activity(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<impl IntoResponse> {
    let events = s.svc.activity().export(&a.permit()?, q.into()).await?;
    let body = activity_csv(events).map_err(ApiError::from)?;
    Ok(csv_download(body))
}

/// The CSV (RFC 4180) of activity events, with a header row; shared by the API and the web
/// export. Every cell goes through [`csv_cell`].
pub(crate) fn activity_csv(events: Vec<ActivityEvent>) -> Result<Vec<u8>, CoreError> {
    let mut w = csv::Writer::from_writer(vec![]);
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
    .map_err(CoreError::internal)?;
    for e in events {
        let kind = serde_json::to_value(e.actor_kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let row = [
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
        ];
        w.write_record(row.into_iter().map(csv_cell))
            .map_err(CoreError::internal)?;
    }
    w.into_inner().map_err(CoreError::internal)
}

/// The CSV as a download: `text/csv`, `Content-Disposition: attachment`.
pub(crate) fn csv_download(body: Vec<u8>) -> axum::response::Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"castellan-activity.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

/// A cell made safe for spreadsheets (OWASP "CSV injection"): text that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return would be read as a formula, so it gets a leading `'`.
/// Labels, names and user agents come from people and apps, so any of them may try.
pub(crate) fn csv_cell(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

/// Walks the hash chain and reports every changed, removed or inserted event.
#[utoipa::path(get, path = "/api/v1/activity/verify", tag = "activity", security(("bearer" = [])),
    responses((status = 200, body = ChainReport)))]
async fn verify_activity(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Json<ChainReport>> {
    Ok(Json(s.svc.activity().verify(&a.permit()?).await?.into()))
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"] {
            assert_eq!(csv_cell(bad.into()), format!("'{bad}"));
        }
        for fine in ["account.reveal", "", "{\"a\":1}", "12", "a=b"] {
            assert_eq!(csv_cell(fine.into()), fine);
        }
    }
}
