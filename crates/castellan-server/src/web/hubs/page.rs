//! The hub page: status, members in tabs, grants and their actions, the last sync report and
//! live job progress. It is rendered by [`hub_page_html`], a plain function over [`HubData`],
//! so a benchmark can call it without a server; the forms on it post to [`super::actions`],
//! which show the page again through [`show_hub`] when one fails.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use castellan_core::catalog::Capability;
use castellan_core::connector::MemberState;
use castellan_core::hub::{Grant, HubId, HubMember, HubRole, Job, Matching, SyncReport};
use castellan_core::ids::PersonId;
use castellan_core::model::{Person, PersonStatus};
use castellan_core::ports::JobFilter;
use castellan_core::service::HubDetail;
use castellan_core::CoreError;
use serde::Deserialize;

use super::{
    dom_id, done_notice, hub_id, query, sentence, status_class, JobRow, MEMBERS_PER_PAGE,
    RECENT_JOBS,
};
use crate::web::auth::FieldErrors;
use crate::web::pages::when;
use crate::web::{render_status, Chrome, WebResult, WebUser};
use crate::AppState;

/// Names shown per list of the sync report before "and N more".
const REPORT_NAMES: usize = 20;

/// The member tabs, in order: (matching, tab label).
const TABS: [(Matching, &str); 4] = [
    (Matching::Onboarded, "Onboarded"),
    (Matching::Unmatched, "Unmatched"),
    (Matching::Guest, "Guest"),
    (Matching::Exempted, "Exempted"),
];

fn state_label(s: MemberState) -> &'static str {
    match s {
        MemberState::Active => "active",
        MemberState::Invited => "invited",
        MemberState::Deactivated => "deactivated",
    }
}

/// Everything the hub page shows, as the core services return it.
#[derive(Debug, Clone)]
pub struct HubData {
    /// The hub with its last report.
    pub detail: HubDetail,
    /// Every member of the snapshot (all tabs).
    pub members: Vec<HubMember>,
    /// The hub's grants.
    pub grants: Vec<Grant>,
    /// The workspace's people (for names, emails and the share field's suggestions).
    pub people: Vec<Person>,
    /// The hub's most recent jobs, newest first.
    pub jobs: Vec<Job>,
    /// The app's roles, most privileged first.
    pub roles: Vec<String>,
    /// Whether the app can keep a member's seat on revoke.
    pub keep_seat: bool,
    /// The automation account's label, when the viewer can see the account.
    pub account_label: Option<String>,
    /// A manual hub's tasks for its app admin, newest first (`None` for other hubs).
    pub tasks: Option<Vec<castellan_core::service::TaskView>>,
}

/// The hub page's query: `?tab=unmatched&page=2&done=shared`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HubQuery {
    /// The member tab: `onboarded` (default), `unmatched`, `guest` or `exempted`.
    #[serde(default)]
    pub tab: Option<String>,
    /// The page of the tab, from 1.
    #[serde(default)]
    pub page: Option<String>,
    /// What was just done (shows a notice): `connected`, `shared`, `role`, `revoked`, ….
    #[serde(default)]
    pub done: Option<String>,
    /// `all` also lists members the app has deactivated (hidden by default: they left).
    #[serde(default)]
    pub state: Option<String>,
}

impl HubQuery {
    fn tab(&self) -> Matching {
        self.tab
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(Matching::Onboarded)
    }
    fn all_states(&self) -> bool {
        self.state.as_deref() == Some("all")
    }
    fn page(&self) -> usize {
        self.page
            .as_deref()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(1)
            .max(1)
    }
}

/// A form on the hub page that failed: which one, the errors and what was typed.
#[derive(Debug, Default)]
pub(super) struct FormState {
    /// `share`, `role:<person id>`, `member:<app member id>` or `general`.
    key: String,
    errors: FieldErrors,
    values: HashMap<String, String>,
}

impl FormState {
    pub(super) fn new(
        key: impl Into<String>,
        errors: FieldErrors,
        values: &[(&str, &str)],
    ) -> Self {
        Self {
            key: key.into(),
            errors,
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }
    fn value(&self, key: &str, field: &str) -> String {
        if self.key == key {
            self.values.get(field).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }
    fn error(&self, key: &str, field: &str) -> String {
        if self.key == key {
            self.errors.get(field).to_owned()
        } else {
            String::new()
        }
    }
}

/// The hub's status block.
#[derive(Debug)]
struct StatusView {
    code: &'static str,
    label: String,
    class: &'static str,
    reason: String,
    warnings: Vec<String>,
}

/// A member tab link.
#[derive(Debug)]
struct TabLink {
    key: &'static str,
    label: &'static str,
    count: usize,
    current: bool,
}

/// One row of the members table.
#[derive(Debug)]
struct MemberRow {
    id: String,
    dom: String,
    name: String,
    email: String,
    app_role: String,
    state: &'static str,
    person: String,
    reason: String,
    match_value: String,
    match_error: String,
    reason_value: String,
    reason_error: String,
}

/// One row of the grants table.
#[derive(Debug)]
struct GrantRow {
    person_id: String,
    email: String,
    dom: String,
    name: String,
    hub_role: &'static str,
    app_role: String,
    revoked: bool,
    keep_seat: bool,
    updated: String,
    roles: Vec<(String, bool)>,
    role_error: String,
    /// The grant's roles on resources, `project-x: Manager, project-y: none`.
    resource_roles: String,
}

/// Part of a list of names in the sync report.
#[derive(Debug, Default)]
struct Names {
    shown: Vec<String>,
    more: usize,
}

impl Names {
    fn of(all: &[String]) -> Self {
        let mut sorted: Vec<&String> = all.iter().collect();
        sorted.sort_unstable_by_key(|n| n.to_lowercase());
        Self {
            shown: sorted.into_iter().take(REPORT_NAMES).cloned().collect(),
            more: all.len().saturating_sub(REPORT_NAMES),
        }
    }
    fn count(&self) -> usize {
        self.shown.len() + self.more
    }
}

/// The last sync report.
#[derive(Debug)]
struct ReportView {
    at: String,
    total: usize,
    onboarded: usize,
    unmatched: usize,
    guests: usize,
    exempted: usize,
    drift: usize,
    /// (title, names): added, changed, removed, and the planned invites, updates, removals.
    lists: Vec<(&'static str, Names)>,
    halted: Option<String>,
}

impl ReportView {
    fn of(at: String, r: &SyncReport) -> Self {
        Self {
            at,
            total: r.total,
            onboarded: r.onboarded,
            unmatched: r.unmatched,
            guests: r.guests,
            exempted: r.exempted,
            drift: r.drift,
            lists: vec![
                ("Added", Names::of(&r.new)),
                ("Changed", Names::of(&r.changed)),
                ("Removed", Names::of(&r.gone)),
                ("Invites planned", Names::of(&r.planned_invites)),
                ("Role updates planned", Names::of(&r.planned_updates)),
                ("Removals planned", Names::of(&r.planned_removals)),
            ],
            halted: r.halted.clone(),
        }
    }
}

/// The share form's state.
#[derive(Debug, Default)]
struct ShareView {
    person: String,
    role: String,
    hub_role: String,
    person_error: String,
    role_error: String,
}

#[derive(askama::Template)]
#[template(path = "hub.html")]
struct HubPage {
    chrome: Chrome,
    id: String,
    label: String,
    app_name: String,
    base_url: String,
    organization_id: String,
    user_management: String,
    login_method: String,
    account_id: String,
    account_label: String,
    threshold_pct: String,
    last_sync: String,
    next_sync: String,
    status: StatusView,
    tabs: Vec<TabLink>,
    tab: &'static str,
    tab_label: &'static str,
    members: Vec<MemberRow>,
    page: usize,
    pages: usize,
    first: usize,
    last: usize,
    in_tab: usize,
    /// Deactivated members of this tab, and the link that shows or hides them.
    deactivated: usize,
    all_states: bool,
    toggle_href: String,
    prev: Option<String>,
    next: Option<String>,
    grants: Vec<GrantRow>,
    roles: Vec<String>,
    hub_roles: Vec<&'static str>,
    people: Vec<String>,
    keep_seat: bool,
    share: ShareView,
    report: Option<ReportView>,
    jobs: Vec<JobRow>,
    jobs_active: bool,
    general_error: String,
    here: String,
    /// A manual hub's tasks and roster upload.
    manual: super::tasks::ManualView,
    /// Whether the hub signs in with OAuth 2.0 ("Connect with <app>").
    oauth2: bool,
}

/// Builds the hub page from its data: pure, no I/O.
fn build_hub_page(mut chrome: Chrome, d: &HubData, q: &HubQuery, form: &FormState) -> HubPage {
    let hub = &d.detail.hub;
    let id = hub.id.to_string();
    let people: HashMap<PersonId, &Person> = d.people.iter().map(|p| (p.id, p)).collect();
    let tab = q.tab();
    let tab_key = tab.as_str();

    // Members the app deactivated have left: listed only on request.
    let all_states = q.all_states();
    let mut counts = [0usize; 4];
    let mut in_tab: Vec<&HubMember> = Vec::new();
    let mut deactivated = 0;
    for m in &d.members {
        let gone = m.state == MemberState::Deactivated;
        if gone && m.matching == tab {
            deactivated += 1;
        }
        if gone && !all_states {
            continue;
        }
        if let Some(i) = TABS.iter().position(|(t, _)| *t == m.matching) {
            counts[i] += 1;
        }
        if m.matching == tab {
            in_tab.push(m);
        }
    }
    let sort_key = |m: &HubMember| {
        m.email
            .clone()
            .or_else(|| m.name.clone())
            .unwrap_or_else(|| m.app_member_id.clone())
            .to_lowercase()
    };
    in_tab.sort_by_cached_key(|m| sort_key(m));
    let pages = in_tab.len().div_ceil(MEMBERS_PER_PAGE).max(1);
    let page = q.page().min(pages);
    let start = (page - 1) * MEMBERS_PER_PAGE;
    let shown = &in_tab[start.min(in_tab.len())..(start + MEMBERS_PER_PAGE).min(in_tab.len())];
    let state_key = if all_states { "all" } else { "" };
    let page_href = |p: usize| {
        let ps = p.to_string();
        format!(
            "/hubs/{id}{}#members",
            query(&[
                ("tab", tab_key),
                ("page", if p > 1 { &ps } else { "" }),
                ("state", state_key)
            ])
        )
    };
    let toggle_href = format!(
        "/hubs/{id}{}#members",
        query(&[
            ("tab", tab_key),
            ("state", if all_states { "" } else { "all" })
        ])
    );
    let members = shown
        .iter()
        .map(|m| {
            let key = format!("member:{}", m.app_member_id);
            MemberRow {
                id: m.app_member_id.clone(),
                dom: dom_id(&m.app_member_id),
                name: m.name.clone().unwrap_or_default(),
                email: m.email.clone().unwrap_or_default(),
                app_role: match m.held_roles() {
                    [] => "—".into(),
                    held => held.join(", "),
                },
                state: state_label(m.state),
                person: m
                    .person_id
                    .and_then(|p| people.get(&p))
                    .map(|p| p.email.clone())
                    .unwrap_or_default(),
                reason: m.exempt_reason.clone().unwrap_or_default(),
                match_value: form.value(&key, "person"),
                match_error: form.error(&key, "person"),
                reason_value: form.value(&key, "reason"),
                reason_error: form.error(&key, "reason"),
            }
        })
        .collect();

    // A revoked grant is listed while the person is still a member (being removed, or a kept
    // seat); once the app no longer has them, it is history (in the activity log).
    let still_in: HashSet<PersonId> = d
        .members
        .iter()
        .filter(|m| m.state != MemberState::Deactivated)
        .filter_map(|m| m.person_id)
        .collect();
    let grants = d
        .grants
        .iter()
        .filter(|g| !g.revoked || still_in.contains(&g.person_id))
        .map(|g| {
            let p = people.get(&g.person_id);
            let email = p.map(|p| p.email.clone()).unwrap_or_default();
            let key = format!("role:{}", g.person_id);
            let wanted = form.value(&key, "app_role");
            let selected = if wanted.is_empty() {
                g.app_role.clone()
            } else {
                wanted
            };
            GrantRow {
                person_id: g.person_id.to_string(),
                dom: dom_id(
                    if email.is_empty() {
                        g.person_id.to_string()
                    } else {
                        email.clone()
                    }
                    .as_str(),
                ),
                name: p.map(|p| p.name.clone()).unwrap_or_default(),
                email,
                hub_role: g.hub_role.as_str(),
                app_role: g.app_role.clone(),
                revoked: g.revoked,
                keep_seat: g.keep_seat,
                updated: when(g.updated_at),
                roles: d
                    .roles
                    .iter()
                    .map(|r| (r.clone(), *r == selected))
                    .collect(),
                role_error: form.error(&key, "app_role"),
                resource_roles: g
                    .resource_roles
                    .iter()
                    .map(castellan_core::resource_roles::describe)
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })
        .collect();

    let share = ShareView {
        person: form.value("share", "person"),
        role: form.value("share", "app_role"),
        hub_role: form.value("share", "hub_role"),
        person_error: form.error("share", "person"),
        role_error: form.error("share", "app_role"),
    };
    let jobs: Vec<JobRow> = d.jobs.iter().map(|j| JobRow::of(j, None)).collect();
    let jobs_active = jobs.iter().any(|j| j.active);
    let general_error = form.error("general", "general");
    chrome.notice = done_notice(q.done.as_deref());
    let manual = super::tasks::ManualView::of(
        d.tasks.as_deref(),
        hub.settings
            .get(castellan_core::manual::APP_ADMIN)
            .map(String::as_str),
        &hub.label,
        form.value("roster", "roster_text"),
        form.error("roster", "roster"),
    );
    // This page without its fragment: where the job buttons return, and the Refresh link.
    let here = page_href(page).trim_end_matches("#members").to_owned();

    HubPage {
        chrome,
        label: hub.label.clone(),
        app_name: d.detail.app_name.clone(),
        base_url: hub.base_url.clone(),
        organization_id: hub.organization_id.clone().unwrap_or_default(),
        user_management: hub.user_management.to_string(),
        login_method: hub.login_method.as_str().replace('_', " + "),
        account_id: hub.automation_account_id.to_string(),
        account_label: d.account_label.clone().unwrap_or_default(),
        threshold_pct: format!("{:.0}%", hub.safeguard_threshold * 100.0),
        last_sync: hub.last_sync_at.map(when).unwrap_or_else(|| "never".into()),
        next_sync: hub.next_sync_at.map(when).unwrap_or_else(|| "—".into()),
        status: StatusView {
            code: hub.status.as_str(),
            label: hub.status.as_str().replace('_', " "),
            class: status_class(hub.status),
            reason: hub.status_reason.clone().unwrap_or_default(),
            warnings: hub.warnings.iter().map(|w| sentence(w)).collect(),
        },
        tabs: TABS
            .iter()
            .zip(counts)
            .map(|((t, label), count)| TabLink {
                key: t.as_str(),
                label,
                count,
                current: *t == tab,
            })
            .collect(),
        tab: tab_key,
        tab_label: TABS
            .iter()
            .find(|(t, _)| *t == tab)
            .map(|(_, l)| *l)
            .unwrap_or("Onboarded"),
        members,
        page,
        pages,
        first: if in_tab.is_empty() { 0 } else { start + 1 },
        last: start + shown.len(),
        in_tab: in_tab.len(),
        deactivated,
        all_states,
        toggle_href,
        prev: (page > 1).then(|| page_href(page - 1)),
        next: (page < pages).then(|| page_href(page + 1)),
        grants,
        roles: d.roles.clone(),
        hub_roles: vec![
            HubRole::Collaborator.as_str(),
            HubRole::Manager.as_str(),
            HubRole::Owner.as_str(),
        ],
        people: d
            .people
            .iter()
            .filter(|p| p.status != PersonStatus::Deactivated)
            .map(|p| p.email.clone())
            .collect(),
        keep_seat: d.keep_seat,
        share,
        report: d
            .detail
            .last_report
            .as_ref()
            .map(|r| ReportView::of(d.detail.last_report_at.map(when).unwrap_or_default(), r)),
        jobs,
        jobs_active,
        general_error,
        here,
        manual,
        oauth2: castellan_core::connector::oauth2::is_oauth2(&hub.settings),
        id,
    }
}

/// Renders the hub page for `data` as the person with `chrome` sees it, on the tab and page of
/// `q`. A plain function over data (no I/O), for the server and for benchmarks.
pub fn hub_page_html(chrome: Chrome, data: &HubData, q: &HubQuery) -> askama::Result<String> {
    askama::Template::render(&build_hub_page(chrome, data, q, &FormState::default()))
}

/// Loads everything the hub page shows, through the services (so permissions apply).
async fn load_hub(s: &AppState, user: &WebUser, id: HubId) -> Result<HubData, CoreError> {
    let a = &user.actor;
    // One permit per capability the page reads; the futures below borrow them.
    let (hubs, hub_read) = (s.svc.hubs(), a.permit()?);
    let (catalog, catalog_read) = (s.svc.catalog(), a.permit()?);
    let (people, people_read) = (s.svc.people(), a.permit()?);
    let detail = hubs.get(&hub_read, id).await?;
    let (members, grants, people, jobs, app) = tokio::try_join!(
        hubs.members(&hub_read, id, None),
        hubs.grants(&hub_read, id),
        people.list(&people_read),
        hubs.jobs(
            &hub_read,
            JobFilter {
                hub_id: Some(id),
                states: None,
                limit: Some(RECENT_JOBS),
            }
        ),
        catalog.get(&catalog_read, detail.hub.app_id.as_str()),
    )?;
    let tasks = if super::tasks::is_manual(&detail.hub) {
        Some(hubs.tasks(&a.permit()?, id).await?)
    } else {
        None
    };
    let account_label = s
        .svc
        .accounts()
        .get(&a.permit()?, detail.hub.automation_account_id)
        .await
        .ok()
        .map(|acc| acc.label);
    // A manual hub's roles and capabilities are its connector's, not the catalog's.
    let (roles, keep_seat) = match s.svc.connector_info(&app, detail.hub.connector.as_deref()) {
        Some(info) if tasks.is_some() => (info.roles.clone(), info.can(Capability::KeepSeat)),
        _ => (
            app.roles.clone(),
            app.capabilities.contains(&Capability::KeepSeat),
        ),
    };
    Ok(HubData {
        members,
        grants,
        people,
        jobs,
        keep_seat,
        roles,
        account_label,
        tasks,
        detail,
    })
}

/// Loads and renders the hub page with `status` (422 when a form failed).
pub(super) async fn show_hub(
    s: &AppState,
    user: &WebUser,
    id: HubId,
    q: &HubQuery,
    form: &FormState,
    status: StatusCode,
) -> WebResult {
    let data = load_hub(s, user, id).await?;
    let title = data.detail.hub.label.clone();
    let page = build_hub_page(user.chrome(title, "hubs"), &data, q, form);
    Ok(render_status(status, &page))
}

pub(super) async fn hub_page(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<HubQuery>,
) -> WebResult {
    let id = hub_id(&id)?;
    show_hub(&s, &user, id, &q, &FormState::default(), StatusCode::OK).await
}
