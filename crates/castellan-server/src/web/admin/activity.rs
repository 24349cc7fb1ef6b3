//! The activity log: newest first, filtered by actor, action, target and dates, paged, and
//! exported as CSV with the same filters (the API's CSV writer, so cells are neutralised
//! against formula injection the same way).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use castellan_core::activity::ActivityEvent;
use castellan_core::permissions::{self, Action};
use castellan_core::ports::ActivityFilter;
use castellan_core::CoreError;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Deserialize;

use super::Choice;
use crate::web::auth::FieldErrors;
use crate::web::pages::when;
use crate::web::{render_status, Chrome, WebError, WebResult, WebUser};
use crate::AppState;

/// Events per page.
pub const PAGE_SIZE: u32 = 50;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/activity", get(activity_page))
        .route("/activity.csv", get(activity_csv))
}

/// The filter as typed (all text, so a bad value is a field error, not a 400).
#[derive(Debug, Default, Clone, Deserialize)]
struct FilterQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    before: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A date (`YYYY-MM-DD`, the start of that day in UTC; with `end`, the start of the next day)
/// or an RFC 3339 time.
fn parse_time(field: &str, s: &str, end: bool) -> Result<Option<DateTime<Utc>>, CoreError> {
    let Some(s) = opt(s) else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map_err(|_| CoreError::invalid(field, "give a date as YYYY-MM-DD"))?;
    let d = if end {
        d.checked_add_days(Days::new(1)).unwrap_or(d)
    } else {
        d
    };
    Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
}

impl FilterQuery {
    /// The store filter. Errors: `Validation` naming the field with a bad value.
    fn filter(&self) -> Result<ActivityFilter, CoreError> {
        let before_seq = match opt(&self.before) {
            None => None,
            Some(b) => Some(
                b.parse::<i64>()
                    .map_err(|_| CoreError::invalid("before", "must be a whole number"))?,
            ),
        };
        Ok(ActivityFilter {
            action: opt(&self.action),
            actor_id: opt(&self.actor),
            target_id: opt(&self.target),
            since: parse_time("since", &self.since, false)?,
            until: parse_time("until", &self.until, true)?,
            before_seq,
            limit: None,
        })
    }

    /// The query string of these filters (without paging), for links.
    fn query_string(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if let Some(v) = opt(v) {
                q.append_pair(k, &v);
            }
        }
        q.finish()
    }
}

/// One row of the log.
#[derive(Debug)]
struct EventRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    source_ip: String,
    details: String,
}

impl From<ActivityEvent> for EventRow {
    fn from(e: ActivityEvent) -> Self {
        let target = match (e.target_kind, e.target_label) {
            (Some(k), Some(l)) if !l.is_empty() => format!("{k}: {l}"),
            (Some(k), _) => format!("{k} {}", e.target_id.unwrap_or_default()),
            _ => String::new(),
        };
        Self {
            seq: e.seq,
            at: when(e.at),
            actor: e.actor_name,
            action: e.action,
            target,
            source_ip: e.source_ip.unwrap_or_default(),
            details: if e.details == "{}" || e.details == "null" {
                String::new()
            } else {
                e.details
            },
        }
    }
}

#[derive(askama::Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    chrome: Chrome,
    q: FilterQuery,
    actors: Vec<Choice>,
    events: Vec<EventRow>,
    /// Link to the next (older) page, if there is one.
    older: Option<String>,
    /// Link to the CSV of the same filters.
    export: String,
    errors: FieldErrors,
}

async fn activity_page(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<FilterQuery>,
) -> WebResult {
    permissions::require(user.actor.role, Action::ActivityRead)?;
    let actors = s
        .svc
        .people()
        .list(&user.actor.permit()?)
        .await?
        .into_iter()
        .map(|p| Choice {
            selected: p.id.to_string() == q.actor.trim(),
            value: p.id.to_string(),
            label: p.email,
        })
        .collect();
    let (events, older, errors, status) = match q.filter() {
        Ok(mut f) => {
            f.limit = Some(PAGE_SIZE + 1);
            let mut events = s.svc.activity().list(&user.actor.permit()?, f).await?;
            let more = events.len() > PAGE_SIZE as usize;
            events.truncate(PAGE_SIZE as usize);
            let older = match events.last() {
                Some(last) if more => {
                    let qs = q.query_string();
                    let sep = if qs.is_empty() { "" } else { "&" };
                    Some(format!("/activity?{qs}{sep}before={}", last.seq))
                }
                _ => None,
            };
            (events, older, FieldErrors::default(), StatusCode::OK)
        }
        Err(e) => (
            vec![],
            None,
            FieldErrors::from_core(e),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let qs = q.query_string();
    let export = if qs.is_empty() {
        "/activity.csv".to_owned()
    } else {
        format!("/activity.csv?{qs}")
    };
    Ok(render_status(
        status,
        &ActivityPage {
            chrome: user.chrome("Activity", "activity"),
            q,
            actors,
            events: events.into_iter().map(EventRow::from).collect(),
            older,
            export,
            errors,
        },
    ))
}

/// Every event matching the filters, oldest first, as a CSV download.
async fn activity_csv(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<FilterQuery>,
) -> WebResult {
    let mut f = q.filter()?;
    f.before_seq = None;
    let events = s.svc.activity().export(&user.actor.permit()?, f).await?;
    let body = crate::routes::activity::activity_csv(events).map_err(WebError::from)?;
    Ok(crate::routes::activity::csv_download(body))
}
