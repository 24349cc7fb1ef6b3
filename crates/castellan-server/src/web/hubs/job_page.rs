//! One job of the automation log: its record (each step the bot took, the URL, the failing
//! step's error, and the screenshots while the job has not completed), and for a job that
//! needs attention, what a person can do: upload a signed-in session for the automation
//! account (cookies exported from their browser) or retry once the cause is fixed.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use castellan_core::hub::JobId;
use castellan_core::CoreError;
use serde::Deserialize;

use super::{hub_id, JobRow};
use crate::web::pages::when;
use crate::web::{render, see_other, Chrome, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

/// One step as the page shows it.
#[derive(Debug)]
struct StepRow {
    seq: i64,
    attempt: i32,
    at: String,
    what: String,
    url: String,
    error: String,
    screenshot: bool,
}

#[derive(askama::Template)]
#[template(path = "job_page.html")]
struct JobPage {
    chrome: Chrome,
    j: JobRow,
    attention: String,
    steps: Vec<StepRow>,
    here: String,
    /// Why the last session upload was refused.
    upload_error: Option<String>,
}

fn job_id(s: &str) -> WebResult<JobId> {
    s.parse()
        .map_err(|_| WebError::status(StatusCode::NOT_FOUND, "No such job."))
}

/// `?done=` after an action.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Done {
    done: Option<String>,
}

async fn page(
    s: &AppState,
    user: &WebUser,
    id: JobId,
    done: Option<&str>,
    upload_error: Option<String>,
) -> WebResult {
    let hubs = s.svc.hubs();
    let job = hubs.job(&user.actor.permit()?, id).await?;
    let hub = hubs.get(&user.actor.permit()?, job.hub_id).await?;
    let steps = hubs
        .job_steps(&user.actor.permit()?, id)
        .await?
        .into_iter()
        .map(|st| StepRow {
            seq: st.seq,
            attempt: st.attempt,
            at: when(st.at),
            what: st.what,
            url: st.url,
            error: st.error.unwrap_or_default(),
            screenshot: st.screenshot,
        })
        .collect();
    let mut chrome = user.chrome(
        format!("Job: {}", job.task.as_str().replace('_', " ")),
        "hubs",
    );
    chrome.notice = super::done_notice(done);
    Ok(render(&JobPage {
        chrome,
        attention: job
            .attention
            .map(|a| a.label().to_owned())
            .unwrap_or_default(),
        j: JobRow::of(&job, Some(&hub.hub.label)),
        steps,
        here: format!("/automation-log/{id}"),
        upload_error,
    }))
}

/// `GET /automation-log/{job}`: the job and its record.
pub(super) async fn show(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> WebResult {
    page(&s, &user, job_id(&id)?, q.done.as_deref(), None).await
}

/// `GET /automation-log/{job}/steps/{seq}.png`: a step's screenshot (recorded as viewed).
pub(super) async fn screenshot(
    State(s): State<AppState>,
    user: WebUser,
    Path((id, seq)): Path<(String, String)>,
) -> WebResult {
    let seq: i64 = seq
        .strip_suffix(".png")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| WebError::status(StatusCode::NOT_FOUND, "No such screenshot."))?;
    let png = s
        .svc
        .hubs()
        .job_step_screenshot(&user.actor.permit()?, job_id(&id)?, seq)
        .await?;
    let mut r = png.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The session upload form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SessionForm {
    cookies: String,
    /// The job page to return to.
    job: String,
}

/// `POST /hubs/{id}/session`: the pasted cookies become the automation account's session and
/// the hub's jobs that need attention run again; a refusal is shown on the job's page.
pub(super) async fn upload(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<SessionForm>,
) -> WebResult {
    let hub = hub_id(&id)?;
    let job = job_id(&f.job)?;
    match s
        .svc
        .hubs()
        .upload_session(&user.actor.permit()?, hub, &f.cookies)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/automation-log/{job}?done=session"))),
        Err(CoreError::Validation { message, .. }) => {
            page(&s, &user, job, None, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}
