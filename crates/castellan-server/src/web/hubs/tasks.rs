//! Manual hubs in the web app: the app admin's tasks (on the hub page, and on `/tasks`, the
//! app admin's own list, which needs no admin role) with their "Mark done" buttons, and the
//! roster upload (a CSV file, or members typed in as CSV) on the hub page.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use castellan_core::manual::{ManualTaskId, TaskKind, TaskState, MAX_ROSTER_BYTES};
use castellan_core::service::TaskView;
use castellan_core::CoreError;
use serde::Deserialize;

use super::{field_errors, hub_id, show_hub, FormState, HubQuery};
use crate::web::pages::when;
use crate::web::security::CSRF_FIELD;
use crate::web::{
    check_csrf, check_csrf_source, render, see_other, Chrome, WebError, WebForm, WebResult, WebUser,
};
use crate::AppState;

/// One task as a table row.
#[derive(Debug, Clone)]
pub(super) struct TaskRow {
    pub id: String,
    pub hub_id: String,
    pub hub_label: String,
    /// "Invite", "Change role", "Remove".
    pub kind: &'static str,
    pub email: String,
    pub member: String,
    pub role: String,
    /// `open`, `done`, `verified`, `cancelled`.
    pub state: &'static str,
    pub overdue: bool,
    pub due: String,
    pub opened: String,
    pub closed: String,
    pub assignee: String,
    /// Still open: the app admin may mark it done.
    pub open: bool,
}

impl TaskRow {
    /// The row of a task of the hub `hub_id` labelled `hub_label`.
    pub(super) fn of(v: &TaskView, hub_label: &str) -> Self {
        let t = &v.task;
        Self {
            id: t.id.to_string(),
            hub_id: t.hub_id.to_string(),
            hub_label: hub_label.to_owned(),
            kind: match t.kind {
                TaskKind::Invite => "Invite",
                TaskKind::UpdateRole => "Change role",
                TaskKind::Remove => "Remove",
            },
            email: t.email.clone(),
            member: t.app_member_id.clone().unwrap_or_default(),
            role: t.role.clone().unwrap_or_default(),
            state: t.state.as_str(),
            overdue: v.overdue,
            due: when(t.due_at),
            opened: when(t.created_at),
            closed: t
                .verified_at
                .or(t.cancelled_at)
                .or(t.done_at)
                .map(when)
                .unwrap_or_default(),
            assignee: v.assignee_email.clone().unwrap_or_default(),
            open: t.state == TaskState::Open,
        }
    }
}

#[derive(askama::Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    chrome: Chrome,
    pending: Vec<TaskRow>,
    closed: Vec<TaskRow>,
}

/// `/tasks?done=task_done`.
#[derive(Debug, Default, Deserialize)]
pub(in crate::web) struct TasksQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /tasks`: the signed-in person's tasks as the app admin of manual hubs.
pub(in crate::web) async fn my_tasks(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<TasksQuery>,
) -> WebResult {
    let mut chrome = user.chrome("Tasks for the app admin", "tasks");
    chrome.notice = super::done_notice(q.done.as_deref());
    let all = s.svc.hubs().my_tasks(&user.actor.permit()?).await?;
    let (pending, closed): (Vec<_>, Vec<_>) = all
        .iter()
        .map(|t| TaskRow::of(&t.view, &t.hub_label))
        .partition(|r| matches!(r.state, "open" | "done"));
    Ok(render(&TasksPage {
        chrome,
        pending,
        closed,
    }))
}

/// The "Mark done" form: where to go back to.
#[derive(Debug, Deserialize)]
pub(in crate::web) struct DoneForm {
    /// `tasks` (the app admin's list) or `hub` (the hub page).
    #[serde(default)]
    back: String,
}

/// `POST /hubs/{id}/tasks/{task}/done`: marks a task done, then back to the list it came from.
pub(in crate::web) async fn mark_done(
    State(s): State<AppState>,
    user: WebUser,
    Path((id, task)): Path<(String, String)>,
    WebForm(f): WebForm<DoneForm>,
) -> WebResult {
    let id = hub_id(&id)?;
    let task: ManualTaskId = task
        .parse()
        .map_err(|_| WebError::status(StatusCode::NOT_FOUND, "No such task."))?;
    s.svc
        .hubs()
        .mark_task_done(&user.actor.permit()?, id, task)
        .await?;
    Ok(match f.back.as_str() {
        "hub" => see_other(&format!("/hubs/{id}?done=task_done#tasks")),
        _ => see_other("/tasks?done=task_done"),
    })
}

/// `POST /hubs/{id}/roster` (multipart, CSRF field first): the roster as a CSV file (`roster`)
/// or typed in (`roster_text`, used when no file is chosen). A bad row shows the hub page
/// again (422) with the error by the form; nothing is written then.
pub(in crate::web) async fn upload(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    parts: Parts,
    mut form: Multipart,
) -> WebResult {
    let id = hub_id(&id)?;
    let bad_form = |_| WebError::status(StatusCode::BAD_REQUEST, "The upload could not be read.");
    let too_large = || {
        WebError::status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The roster is too large (at most 20 MiB).",
        )
    };
    check_csrf_source(&parts)?;
    let (mut csrf_ok, mut file, mut typed) = (false, Vec::new(), String::new());
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        match field.name().map(str::to_owned).as_deref() {
            Some(CSRF_FIELD) => {
                check_csrf(&parts.headers, &field.text().await.map_err(bad_form)?)?;
                csrf_ok = true;
            }
            // The token must come first (it does in the form).
            _ if !csrf_ok => return Err(WebError::Csrf),
            Some("roster") => file = field.bytes().await.map_err(|_| too_large())?.to_vec(),
            Some("roster_text") => typed = field.text().await.map_err(|_| too_large())?,
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(WebError::Csrf);
    }
    if file.len() > MAX_ROSTER_BYTES {
        return Err(too_large());
    }
    let text = if file.is_empty() {
        Ok(typed.clone())
    } else {
        String::from_utf8(file)
            .map_err(|_| CoreError::invalid("roster", "the file is not UTF-8 text"))
    };
    let result = match text {
        Ok(t) if t.trim().is_empty() => Err(CoreError::invalid(
            "roster",
            "choose a CSV file, or type the members in",
        )),
        Ok(t) => s
            .svc
            .hubs()
            .upload_roster(&user.actor.permit()?, id, &t)
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see_other(&format!("/hubs/{id}?done=roster#tasks"))),
        Err(e @ (CoreError::Validation { .. } | CoreError::Conflict(_))) => {
            let e = match e {
                CoreError::Conflict(m) => CoreError::invalid("roster", m),
                e => e,
            };
            let form = FormState::new("roster", field_errors(e, &[]), &[("roster_text", &typed)]);
            show_hub(
                &s,
                &user,
                id,
                &HubQuery::default(),
                &form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The manual part of the hub page: the tasks and the upload form's state.
#[derive(Debug, Default)]
pub(super) struct ManualView {
    /// The hub is a manual one.
    pub on: bool,
    /// The app admin's email.
    pub app_admin: String,
    pub tasks: Vec<TaskRow>,
    pub pending: usize,
    pub overdue: usize,
    pub roster_text: String,
    pub roster_error: String,
}

impl ManualView {
    /// The view of a manual hub's `tasks` (none for other hubs).
    pub(super) fn of(
        tasks: Option<&[TaskView]>,
        app_admin: Option<&str>,
        hub_label: &str,
        typed: String,
        error: String,
    ) -> Self {
        let Some(tasks) = tasks else {
            return Self::default();
        };
        let rows: Vec<TaskRow> = tasks.iter().map(|t| TaskRow::of(t, hub_label)).collect();
        Self {
            on: true,
            app_admin: app_admin.unwrap_or_default().to_owned(),
            pending: rows
                .iter()
                .filter(|r| matches!(r.state, "open" | "done"))
                .count(),
            overdue: rows.iter().filter(|r| r.overdue).count(),
            tasks: rows,
            roster_text: typed,
            roster_error: error,
        }
    }
}

/// Whether `id` is a manual hub, so its page loads the tasks.
pub(super) fn is_manual(hub: &castellan_core::hub::Hub) -> bool {
    hub.connector.as_deref() == Some(castellan_core::manual::MANUAL)
}
