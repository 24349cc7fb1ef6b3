//! The automation log (every job of the bot, or one hub's), the hub page's live progress feed
//! (`GET /hubs/{id}/jobs.json`) and the retry and cancel buttons.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use castellan_core::hub::{HubId, Job, JobId, JobState};
use castellan_core::ports::JobFilter;
use castellan_core::service::unfinished;
use serde::{Deserialize, Serialize};

use super::{hub_id, humanize, query, RECENT_JOBS};
use crate::web::pages::when;
use crate::web::{render, see_other, Chrome, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

/// Jobs the automation log shows at most.
pub const LOG_LIMIT: u32 = 200;

/// One job as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    /// Job id.
    pub id: String,
    /// The hub's id.
    pub hub_id: String,
    /// The hub's label (automation log only).
    #[serde(skip)]
    pub hub_label: String,
    /// Task, as its API name (`check_for_updates`, …).
    pub task: String,
    /// Task in words.
    pub task_label: String,
    /// State, as its API name.
    pub state: String,
    /// State in words.
    pub state_label: String,
    /// What made it, in words.
    pub trigger: String,
    /// Who asked.
    pub actor: String,
    /// Target: person email or app member id.
    pub target: String,
    /// Progress text while running.
    pub progress: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// The error, when not completed or retrying.
    pub error: String,
    /// Creation time, as shown.
    pub created: String,
    /// Last change, as shown.
    pub updated: String,
    /// Whether it is queued, started, running or retrying.
    pub active: bool,
    /// Whether it may be retried (`not_completed`, `needs_attention`).
    pub can_retry: bool,
    /// Why a person is needed ("Captcha resolution required", "Unexpected page"), or empty.
    pub attention: String,
    /// Whether it may be cancelled (`queued` or `retrying`).
    pub can_cancel: bool,
}

impl JobRow {
    /// The row of `j`, with its hub's label when known.
    pub fn of(j: &Job, hub_label: Option<&str>) -> Self {
        Self {
            id: j.id.to_string(),
            hub_id: j.hub_id.to_string(),
            hub_label: hub_label.unwrap_or_default().to_owned(),
            task: j.task.as_str().to_owned(),
            task_label: humanize(j.task.as_str()),
            state: j.state.as_str().to_owned(),
            state_label: j.state.as_str().replace('_', " "),
            trigger: humanize(j.trigger.as_str()),
            actor: j.actor.clone(),
            target: j.target.clone().unwrap_or_default(),
            progress: j.progress.clone().unwrap_or_default(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            error: j.error.clone().unwrap_or_default(),
            created: when(j.created_at),
            updated: when(j.updated_at),
            active: unfinished().contains(&j.state),
            can_retry: matches!(j.state, JobState::NotCompleted | JobState::NeedsAttention),
            attention: j
                .attention
                .map(|a| a.label().to_owned())
                .unwrap_or_default(),
            can_cancel: matches!(j.state, JobState::Queued | JobState::Retrying),
        }
    }
}

/// The body of `GET /hubs/{id}/jobs.json`.
#[derive(Debug, Serialize)]
struct JobsFeed {
    /// The hub's most recent jobs, newest first.
    jobs: Vec<JobRow>,
    /// How many of them are not finished.
    active: usize,
}

/// The hub's recent jobs as JSON, for the hub page's live progress (session-authenticated).
pub(super) async fn jobs_json(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> WebResult {
    let id = hub_id(&id)?;
    let jobs = s
        .svc
        .hubs()
        .jobs(
            &user.actor.permit()?,
            JobFilter {
                hub_id: Some(id),
                states: None,
                limit: Some(RECENT_JOBS),
            },
        )
        .await?;
    let jobs: Vec<JobRow> = jobs.iter().map(|j| JobRow::of(j, None)).collect();
    let active = jobs.iter().filter(|j| j.active).count();
    let mut r = Json(JobsFeed { jobs, active }).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// A hub in the log's filter.
#[derive(Debug)]
struct HubChoice {
    id: String,
    label: String,
    selected: bool,
}

#[derive(askama::Template)]
#[template(path = "hub_log.html")]
struct LogPage {
    chrome: Chrome,
    /// The hub when the log is one hub's.
    hub: Option<HubChoice>,
    hubs: Vec<HubChoice>,
    states: Vec<(&'static str, String, bool)>,
    jobs: Vec<JobRow>,
    here: String,
}

/// The automation log's filter.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LogQuery {
    #[serde(default)]
    hub: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// `GET /automation-log`: every hub's jobs, newest first, filtered by hub and state.
pub(super) async fn automation_log(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<LogQuery>,
) -> WebResult {
    let hub = match q.hub.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(h) => Some(hub_id(h)?),
    };
    log_page(&s, &user, hub, &q, false).await
}

/// `GET /hubs/{id}/log`: one hub's automation log.
pub(super) async fn hub_log(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> WebResult {
    let id = hub_id(&id)?;
    log_page(&s, &user, Some(id), &q, true).await
}

async fn log_page(
    s: &AppState,
    user: &WebUser,
    hub: Option<HubId>,
    q: &LogQuery,
    one_hub: bool,
) -> WebResult {
    let state: Option<JobState> = q.state.as_deref().and_then(|st| st.parse().ok());
    let hubs = s.svc.hubs().list(&user.actor.permit()?).await?;
    if let Some(h) = hub {
        if !hubs.iter().any(|x| x.id == h) {
            return Err(WebError::status(
                StatusCode::NOT_FOUND,
                "No such business hub.",
            ));
        }
    }
    let labels: HashMap<HubId, &str> = hubs.iter().map(|h| (h.id, h.label.as_str())).collect();
    let jobs = s
        .svc
        .hubs()
        .jobs(
            &user.actor.permit()?,
            JobFilter {
                hub_id: hub,
                states: state.map(|st| vec![st]),
                limit: Some(LOG_LIMIT),
            },
        )
        .await?;
    let mut choices: Vec<HubChoice> = hubs
        .iter()
        .map(|h| HubChoice {
            id: h.id.to_string(),
            label: h.label.clone(),
            selected: Some(h.id) == hub,
        })
        .collect();
    choices.sort_by_key(|c| c.label.to_lowercase());
    let this = hub.and_then(|h| {
        choices
            .iter()
            .find(|c| c.id == h.to_string())
            .map(|c| HubChoice {
                id: c.id.clone(),
                label: c.label.clone(),
                selected: true,
            })
    });
    let states = [
        JobState::Queued,
        JobState::Started,
        JobState::Running,
        JobState::Retrying,
        JobState::NeedsAttention,
        JobState::NotCompleted,
        JobState::Completed,
    ]
    .iter()
    .map(|st| {
        (
            st.as_str(),
            st.as_str().replace('_', " "),
            Some(*st) == state,
        )
    })
    .collect();
    let title = match &this {
        Some(h) if one_hub => format!("Automation log: {}", h.label),
        _ => "Automation log".to_owned(),
    };
    let state_str = state.map(|st| st.as_str()).unwrap_or("");
    let here = match (&this, one_hub) {
        (Some(h), true) => format!("/hubs/{}/log{}", h.id, query(&[("state", state_str)])),
        _ => format!(
            "/automation-log{}",
            query(&[
                ("hub", &hub.map(|h| h.to_string()).unwrap_or_default()),
                ("state", state_str)
            ])
        ),
    };
    let jobs = jobs
        .iter()
        .map(|j| JobRow::of(j, labels.get(&j.hub_id).copied()))
        .collect();
    let mut chrome = user.chrome(title, "hubs");
    chrome.notice = super::done_notice(q.done.as_deref());
    Ok(render(&LogPage {
        chrome,
        hub: if one_hub { this } else { None },
        hubs: choices,
        states,
        jobs,
        here,
    }))
}

/// The retry and cancel buttons: where to return afterwards.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct JobForm {
    back: String,
}

/// Where to return after a job action: a hub page or the automation log (never elsewhere).
fn back_from(back: &str, done: &str) -> Response {
    let back = if (back.starts_with("/hubs/") || back.starts_with("/automation-log"))
        && !back.contains("//")
        && crate::web::is_local_path(back)
    {
        back.split('#').next().unwrap_or("/automation-log")
    } else {
        "/automation-log"
    };
    let sep = if back.contains('?') { '&' } else { '?' };
    let anchor = if back.starts_with("/hubs/") && !back.contains("/log") {
        "#hub-jobs"
    } else {
        ""
    };
    see_other(&format!("{back}{sep}done={done}{anchor}"))
}

fn job_id(s: &str) -> WebResult<JobId> {
    s.parse()
        .map_err(|_| WebError::status(StatusCode::NOT_FOUND, "No such job."))
}

/// Queues a `not_completed` job again.
pub(super) async fn retry(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<JobForm>,
) -> WebResult {
    s.svc
        .hubs()
        .retry_job(&user.actor.permit()?, job_id(&id)?)
        .await?;
    Ok(back_from(&f.back, "retried"))
}

/// Cancels a queued or retrying job.
pub(super) async fn cancel(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<JobForm>,
) -> WebResult {
    s.svc
        .hubs()
        .cancel_job(&user.actor.permit()?, job_id(&id)?)
        .await?;
    Ok(back_from(&f.back, "cancelled"))
}

#[cfg(test)]
mod tests {
    use super::back_from;

    fn location(r: &axum::response::Response) -> String {
        r.headers()["location"].to_str().unwrap().to_owned()
    }

    #[test]
    fn job_actions_return_only_to_hub_pages_or_the_log() {
        assert_eq!(
            location(&back_from("/hubs/x?tab=guest", "retried")),
            "/hubs/x?tab=guest&done=retried#hub-jobs"
        );
        assert_eq!(
            location(&back_from("/hubs/x/log", "cancelled")),
            "/hubs/x/log?done=cancelled"
        );
        assert_eq!(
            location(&back_from("https://evil.test/", "retried")),
            "/automation-log?done=retried"
        );
        assert_eq!(
            location(&back_from("/hubs//evil.test", "retried")),
            "/automation-log?done=retried"
        );
    }
}
