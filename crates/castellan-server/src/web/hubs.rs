//! Business hub pages: the hubs list (here), the connect wizard ([`wizard`]), the hub page
//! ([`page`]: status, members in tabs, grants, the last sync report, live job progress), the
//! hub page's forms ([`actions`]), the automation log ([`jobs`]) and manual hubs' tasks and
//! roster upload ([`tasks`]).
//!
//! Every page and action calls the core services with the signed-in person's actor, so the
//! permission matrix applies unchanged (hubs need an admin role). The hub page is rendered by
//! [`hub_page_html`], a plain function over [`HubData`], so a benchmark can call it without a
//! server.

mod actions;
mod job_page;
mod jobs;
mod oauth2;
mod page;
mod tasks;
mod wizard;
mod wizard_settings;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::hub::{HubId, HubStatus};
use castellan_core::CoreError;

use super::auth::FieldErrors;
use super::pages::when;
use super::{render, Chrome, WebError, WebResult, WebUser};
use crate::AppState;
pub use jobs::JobRow;
pub use page::{hub_page_html, HubData, HubQuery};
use page::{show_hub, FormState};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hubs", get(hubs_page))
        .route("/hubs/new", get(wizard::start).post(wizard::step))
        .route("/hubs/{id}", get(page::hub_page))
        .route("/hubs/{id}/share", post(actions::share))
        .route("/hubs/{id}/revoke", post(actions::revoke))
        .route("/hubs/{id}/members", post(actions::member_action))
        .route("/hubs/{id}/sync", post(actions::sync))
        .route("/hubs/{id}/oauth2/start", post(oauth2::start))
        .route("/oauth2/callback", get(oauth2::callback))
        .route("/oauth2/finish", get(oauth2::finish))
        .route("/hubs/{id}/jobs.json", get(jobs::jobs_json))
        .route("/hubs/{id}/log", get(jobs::hub_log))
        .route("/hubs/{id}/tasks/{task}/done", post(tasks::mark_done))
        .route(
            "/hubs/{id}/roster",
            post(tasks::upload).layer(axum::extract::DefaultBodyLimit::max(
                castellan_core::manual::MAX_ROSTER_BYTES + 64 * 1024,
            )),
        )
        .route("/tasks", get(tasks::my_tasks))
        .route("/automation-log", get(jobs::automation_log))
        .route("/automation-log/{job}", get(job_page::show))
        .route(
            "/automation-log/{job}/steps/{seq}",
            get(job_page::screenshot),
        )
        .route(
            "/hubs/{id}/session",
            post(job_page::upload).layer(axum::extract::DefaultBodyLimit::max(
                castellan_core::connector::cookie_import::MAX_EXPORT * 2,
            )),
        )
        .route("/automation-log/{job}/retry", post(jobs::retry))
        .route("/automation-log/{job}/cancel", post(jobs::cancel))
}

/// Members shown per page of a tab.
pub const MEMBERS_PER_PAGE: usize = 200;
/// Jobs shown in the hub page's live progress section (and returned by `jobs.json`).
pub const RECENT_JOBS: u32 = 10;
/// Parses a hub id from a path; anything else is "no such hub" (404).
fn hub_id(s: &str) -> WebResult<HubId> {
    s.parse()
        .map_err(|_| WebError::status(StatusCode::NOT_FOUND, "No such business hub."))
}

/// `under_validation` → "Under validation".
pub(crate) fn humanize(code: &str) -> String {
    capitalized(&code.replace('_', " "))
}

/// A core message as a sentence: capitalized, ending with a full stop.
pub(crate) fn sentence(msg: &str) -> String {
    let mut s = capitalized(msg.trim());
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Field errors from a core error, worded as sentences, with the core field renamed by `map`.
pub(crate) fn field_errors(e: CoreError, map: &[(&str, &str)]) -> FieldErrors {
    let mut fe = FieldErrors::from_core(e);
    for (field, msg) in &mut fe.0 {
        if let Some((_, to)) = map.iter().find(|(from, _)| from == field) {
            *field = (*to).to_owned();
        }
        *msg = sentence(msg);
    }
    fe
}

/// An id usable as an HTML id: the value with whitespace replaced by `_`.
pub(crate) fn dom_id(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect()
}

/// The CSS class of a status badge.
fn status_class(s: HubStatus) -> &'static str {
    match s {
        HubStatus::Healthy => "ok",
        HubStatus::ReviewConfiguration | HubStatus::ReviewServiceAccount => "bad",
        HubStatus::UnderValidation | HubStatus::RequiresSync => "",
    }
}

/// A query string (`?a=1&b=2`) from pairs, leaving out empty values.
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        s.append_pair(k, v);
        any = true;
    }
    if any {
        format!("?{}", s.finish())
    } else {
        String::new()
    }
}

/// The notice for `?done=`: fixed texts only (never echoed from the URL).
fn done_notice(done: Option<&str>) -> Option<String> {
    let n = match done? {
        "connected" => "The hub is connected. The bot is validating the automation account and checking for updates.",
        "oauth2" => "Connected with the app: its tokens are kept sealed with the automation account. The bot is validating them and checking for updates.",
        "shared" => "Shared. The bot will invite the person or update their app role.",
        "role" => "App role changed. The bot will update the member in the app.",
        "revoked" => "Revoked. The bot will remove the person from the app.",
        "matched" => "The member is matched to the person.",
        "exempted" => "The member is exempted.",
        "sync" => "Checking for updates. Follow the progress under Jobs.",
        "confirmed" => "Confirmed: the halted changes will proceed.",
        "retried" => "The job is queued again.",
        "session" => "The session is uploaded: the hub's jobs that needed attention run again.",
        "cancelled" => "The job is cancelled.",
        "task_done" => "Marked done. The next roster upload verifies it.",
        "roster" => "The roster is uploaded. Tasks it shows done are verified; the bot is checking for updates.",
        _ => return None,
    };
    Some(n.to_owned())
}

// ---------------------------------------------------------------------------------------------
// The hubs list
// ---------------------------------------------------------------------------------------------

/// One row of the hubs list.
#[derive(Debug)]
struct HubRow {
    id: String,
    label: String,
    app: String,
    status: String,
    status_class: &'static str,
    reason: String,
    warnings: usize,
    counts: Option<SyncCounts>,
    last_sync: String,
    pending: usize,
}

/// Member counts of the last sync.
#[derive(Debug)]
struct SyncCounts {
    total: usize,
    onboarded: usize,
    unmatched: usize,
    guests: usize,
    exempted: usize,
}

#[derive(askama::Template)]
#[template(path = "hubs.html")]
struct HubsPage {
    chrome: Chrome,
    hubs: Vec<HubRow>,
}

async fn hubs_page(State(s): State<AppState>, user: WebUser) -> WebResult {
    let mut hubs = s.svc.hubs().list(&user.actor.permit()?).await?;
    hubs.sort_by_key(|h| h.label.to_lowercase());
    let mut rows = Vec::with_capacity(hubs.len());
    for h in hubs {
        let d = s.svc.hubs().get(&user.actor.permit()?, h.id).await?;
        rows.push(HubRow {
            id: h.id.to_string(),
            app: d.app_name.clone(),
            status: h.status.as_str().replace('_', " "),
            status_class: status_class(h.status),
            reason: h.status_reason.clone().unwrap_or_default(),
            warnings: h.warnings.len(),
            counts: d.last_report.as_ref().map(|r| SyncCounts {
                total: r.total,
                onboarded: r.onboarded,
                unmatched: r.unmatched,
                guests: r.guests,
                exempted: r.exempted,
            }),
            last_sync: h.last_sync_at.map(when).unwrap_or_else(|| "never".into()),
            pending: d.pending_jobs,
            label: h.label,
        });
    }
    Ok(render(&HubsPage {
        chrome: user.chrome("Business hubs", "hubs"),
        hubs: rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_ids() {
        assert_eq!(humanize("review_service_account"), "Review service account");
        assert_eq!(sentence("must not be empty"), "Must not be empty.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(dom_id("John Smith"), "John_Smith");
        assert_eq!(query(&[("tab", "guest"), ("page", "")]), "?tab=guest");
        assert_eq!(query(&[("tab", "")]), "");
        assert_eq!(query(&[("a", "x y&")]), "?a=x+y%26");
    }

    #[test]
    fn unknown_done_codes_show_nothing() {
        assert!(done_notice(Some("shared")).is_some());
        assert!(done_notice(Some("<script>")).is_none());
        assert!(done_notice(None).is_none());
    }
}
