//! **A stand-in for Atlassian's organizations REST API (Atlassian Administration: an
//! organization's directory users, groups, invitations and organization admin role), not
//! Atlassian.** It serves the endpoints the `atlassian` connector uses, in Atlassian's shapes,
//! from memory, one organization with one directory per [`Atlassian`], under `/admin`:
//!
//! - `GET /v2/orgs/{orgId}/directories`: `{"data": [{directoryId, name, icon}], "links"}`.
//! - `GET /v2/orgs/{orgId}/directories/{directoryId}/users` (`-` or the directory's id):
//!   filters `accountIds`, `groupIds`, `roleIds` (`atlassian/org-admin`), `status`,
//!   `searchTerm` (nickname and email), `limit` (1–100, default 50), `cursor`; rows `{accountId,
//!   accountType, status, accountStatus, membershipStatus, name, nickname, email, …}`.
//! - `GET /v2/orgs/{orgId}/directories/{directoryId}/groups` (`limit`, `cursor`): `{id, name,
//!   description, directoryId, …}`.
//! - `POST /v2/orgs/{orgId}/users/invite` (`emails`, `additionalGroups`, `sendNotification`):
//!   `{"data": [{id, email, results}]}`; an address with an account gets that account back.
//! - `POST /v1/orgs/{orgId}/users/{accountId}/role-assignments/assign|revoke` with `{"role":
//!   "atlassian/org-admin"}` (204).
//! - `DELETE /v1/orgs/{orgId}/directory/users/{accountId}` (204);
//!   `POST …/directory/users/{accountId}/suspend-access|restore-access` (`{"message"}`).
//! - `POST /v1/orgs/{orgId}/directory/groups/{groupId}/memberships` with `{"account_id"}`,
//!   `DELETE …/memberships/{accountId}` (`{"message"}`).
//!
//! Lists are `{"data": [...], "links": {"self", "prev", "next"}}`, paged with `links.next` as
//! `cursor`. API keys (Bearer): the organization's (an org admin's) and another organization's,
//! refused here with 403 `ADMIN-403-3`. Errors are `{"errors": [{"id", "status", "code",
//! "title", "detail"}]}`: 401, 403 `ADMIN-403-3`, 404 `ADMIN-404-8` (user) and `ADMIN-404-10`
//! (group), 400 `ADMIN-400-1` (cursor) and `ADMIN-400-24` (body), 429 `ADMIN-429-1` with
//! `Retry-After` past the per-minute budget.
//!
//! The stand-in's own choices where the reference is silent: cursors are the last account or
//! group id (an empty one is `ADMIN-400-1`); an invitation answers 200 and makes the account an `active` member at once;
//! removing a user also takes the org admin role and the group memberships away; role
//! assignments apply at once (Atlassian's are eventually consistent). Not modelled: several
//! directories, app roles (`permissionRules`), managed accounts' lifecycle, SCIM-synced groups,
//! site admins. Pages followed:
//! - <https://developer.atlassian.com/cloud/admin/organization/rest/intro/>
//! - <https://developer.atlassian.com/cloud/admin/organization/rest/api-group-users/>
//! - <https://developer.atlassian.com/cloud/admin/organization/rest/api-group-groups/>
//! - <https://developer.atlassian.com/cloud/admin/organization/rest/api-group-directory/>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests a minute before 429 unless a test sets another.
pub const DEFAULT_LIMIT: u32 = 10_000;
/// The organization's id.
pub const ORG_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// The organization's one directory.
pub const DIRECTORY_ID: &str = "5d6e7f80-9a0b-4c1d-8e2f-3a4b5c6d7e8f";
const ORG_ADMIN: &str = "atlassian/org-admin";

/// A running stand-in of one organization: its base URL, its API key, another organization's
/// key, its org admin (the automation account) and a group.
#[derive(Debug, Clone)]
pub struct Atlassian {
    /// `http://127.0.0.1:<port>` (the API's origin; paths start with `/admin`).
    pub base_url: String,
    /// The organization's API key.
    pub api_key: String,
    /// An API key of another organization.
    pub other_key: String,
    /// The org admin's account id.
    pub admin_id: String,
    /// The org admin's email.
    pub admin_email: String,
    /// The id of the group `jira-software-users`.
    pub group_id: String,
    org: Arc<Org>,
}

/// A user: account id, name, email, membership (`active`, `suspended`, `no_membership`), org
/// admin.
#[derive(Debug, Clone)]
struct User {
    id: String,
    name: String,
    email: String,
    membership: &'static str,
    admin: bool,
}

#[derive(Debug, Default)]
struct Rows {
    users: Vec<User>,
    /// `(id, name, description)`, by id.
    groups: Vec<(String, String, String)>,
    /// Group id → account ids.
    members: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug)]
struct Org {
    state: Mutex<Rows>,
    key: String,
    other: String,
    limit: RateLimit,
    next: AtomicU64,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl Atlassian {
    /// Starts an organization with its org admin, a plain user and the group
    /// `jira-software-users`.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let group = "7e1c0000-0000-4000-8000-000000000001".to_owned();
        let org = Arc::new(Org {
            state: Mutex::new(Rows::default()),
            key: format!("ATATT-org-{n}"),
            other: format!("ATATT-other-{n}"),
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            next: AtomicU64::new(1),
        });
        let admin_email = "admin@standin.test";
        let admin_id = seed(&org, admin_email, "Castellan bot", true);
        seed(&org, "plain@standin.test", "Plain", false);
        org.state.lock().unwrap().groups.push((
            group.clone(),
            "jira-software-users".into(),
            "Grants access to Jira".into(),
        ));
        let v1 = Router::new()
            .route("/{org}/users/{id}/role-assignments/{action}", post(role))
            .route("/{org}/directory/users/{id}", delete(remove))
            .route("/{org}/directory/users/{id}/{action}", post(access))
            .route("/{org}/directory/groups/{group}/memberships", post(join))
            .route(
                "/{org}/directory/groups/{group}/memberships/{id}",
                delete(leave),
            );
        let v2 = Router::new()
            .route("/{org}/directories", get(directories))
            .route("/{org}/directories/{dir}/users", get(users))
            .route("/{org}/directories/{dir}/groups", get(groups))
            .route("/{org}/users/invite", post(invite));
        let app = Router::new()
            .nest("/admin/v1/orgs", v1)
            .nest("/admin/v2/orgs", v2)
            .with_state(org.clone());
        Self {
            base_url: kit::spawn(app).base_url,
            api_key: org.key.clone(),
            other_key: org.other.clone(),
            admin_id,
            admin_email: admin_email.into(),
            group_id: group,
            org,
        }
    }

    /// Makes sure an active member with `email` exists (an org admin when `admin`); returns its
    /// account id.
    pub fn seed(&self, email: &str, name: &str, admin: bool) -> String {
        seed(&self.org, email, name, admin)
    }

    /// `(account id, membership, org admin)` of the user with `email`.
    pub fn user(&self, email: &str) -> Option<(String, String, bool)> {
        let rows = self.org.state.lock().unwrap();
        let u = rows
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))?;
        Some((u.id.clone(), u.membership.to_owned(), u.admin))
    }

    /// Whether the account `id` is in the group `group`.
    pub fn in_group(&self, group: &str, id: &str) -> bool {
        let rows = self.org.state.lock().unwrap();
        rows.members.get(group).is_some_and(|m| m.contains(id))
    }

    /// Sets the requests allowed a minute from now on.
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.org.limit.set_limit(per_minute);
    }
}

/// The account id of the user with `email`, made an active member (an org admin when `admin`)
/// when there is none.
fn seed(o: &Org, email: &str, name: &str, admin: bool) -> String {
    let mut rows = o.state.lock().unwrap();
    if let Some(u) = rows
        .users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(email))
    {
        return u.id.clone();
    }
    let id = new_id(o);
    let user = User {
        id: id.clone(),
        name: name.into(),
        email: email.to_lowercase(),
        membership: "active",
        admin,
    };
    rows.users.push(user);
    id
}

/// A new account id, growing (24 hex digits, as Atlassian's older account ids are).
fn new_id(o: &Org) -> String {
    format!("5f{:022x}", o.next.fetch_add(1, Ordering::Relaxed))
}

/// An error answer as Atlassian writes them.
fn error(status: u16, code: &str, title: &str, detail: &str) -> Response {
    static IDS: AtomicU64 = AtomicU64::new(1);
    let id = format!("err-{:08}", IDS.fetch_add(1, Ordering::Relaxed));
    let body = json!({"errors": [{"id": id, "status": status.to_string(), "code": code,
        "title": title, "detail": detail}]});
    kit::reply(StatusCode::from_u16(status).unwrap(), vec![], body)
}

fn no_user() -> Response {
    error(404, "ADMIN-404-8", "Not Found", "User not found")
}

fn message(text: String) -> Response {
    kit::reply(StatusCode::OK, vec![], json!({ "message": text }))
}

type Q = Vec<(String, String)>;

fn all(q: &Q, k: &str) -> Vec<String> {
    q.iter()
        .filter(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Counts the request and checks the key: the organization's may manage it.
fn gate(o: &Org, h: &HeaderMap, org: &str) -> Result<(), Response> {
    if let Budget::Wait(secs) = o.limit.take() {
        let mut r = error(429, "ADMIN-429-1", "Too Many Requests", "Limit exceeded");
        r.headers_mut().insert("retry-after", secs.into());
        return Err(r);
    }
    match kit::bearer(h) {
        Some(k) if k == o.key && org == ORG_ID => Ok(()),
        Some(k) if k == o.key || k == o.other => Err(error(
            403,
            "ADMIN-403-3",
            "Forbidden",
            "Not allowed to manage the org",
        )),
        _ => Err(error(401, "ADMIN-401-1", "Unauthorized", "Invalid API key")),
    }
}

/// [`gate`], and a directory that is `-` (every directory) or the organization's.
fn directory(o: &Org, h: &HeaderMap, org: &str, dir: &str) -> Result<(), Response> {
    gate(o, h, org)?;
    match dir == "-" || dir == DIRECTORY_ID {
        true => Ok(()),
        false => Err(error(404, "ADMIN-404-1", "Not Found", "Unknown directory")),
    }
}

/// A page of `rows` (each with its id) from the cursor of `q`, with its links.
fn page(q: &Q, rows: Vec<(String, Value)>) -> Response {
    let limit = match all(q, "limit").first().map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return error(400, "ADMIN-400-24", "Bad Request", "limit: 1 to 100"),
    };
    let after = all(q, "cursor").pop();
    if after.as_ref().is_some_and(|c| c.trim().is_empty()) {
        return error(400, "ADMIN-400-1", "Bad Request", "Invalid page cursor");
    }
    let (rows_page, next) = kit::page_after(&rows, |r| r.0.clone(), after.as_ref(), limit);
    let data: Vec<Value> = rows_page.iter().map(|r| r.1.clone()).collect();
    let body = json!({"data": data, "links": {"self": after, "prev": null, "next": next}});
    kit::reply(StatusCode::OK, vec![], body)
}

fn status_of(u: &User) -> &'static str {
    match u.membership {
        "active" => "active",
        "suspended" => "suspended",
        _ => "not_invited",
    }
}

fn user_json(u: &User) -> Value {
    json!({"accountId": u.id, "accountType": "atlassian", "status": status_of(u),
        "accountStatus": "active", "membershipStatus": u.membership,
        "addedToOrg": "2024-01-01T00:00:00Z", "name": u.name,
        "nickname": u.email.split('@').next().unwrap_or_default(), "email": u.email,
        "emailVerified": true, "claimStatus": "unmanaged", "links": {"self": u.id}})
}

async fn directories(State(o): State<Arc<Org>>, h: HeaderMap, Path(org): Path<String>) -> Response {
    if let Err(r) = gate(&o, &h, &org) {
        return r;
    }
    let body = json!({"data": [{"directoryId": DIRECTORY_ID, "name": "Acme", "icon": ""}],
        "links": {"self": null, "prev": null, "next": null}});
    kit::reply(StatusCode::OK, vec![], body)
}

async fn users(
    State(o): State<Arc<Org>>,
    h: HeaderMap,
    Path((org, dir)): Path<(String, String)>,
    Query(q): Query<Q>,
) -> Response {
    if let Err(r) = directory(&o, &h, &org, &dir) {
        return r;
    }
    let (ids, groups, roles) = (
        all(&q, "accountIds"),
        all(&q, "groupIds"),
        all(&q, "roleIds"),
    );
    let (statuses, term) = (all(&q, "status"), all(&q, "searchTerm").pop());
    let rows = o.state.lock().unwrap();
    let in_any = |u: &User| {
        groups
            .iter()
            .any(|g| rows.members.get(g).is_some_and(|m| m.contains(&u.id)))
    };
    let mut hits: Vec<(String, Value)> = rows
        .users
        .iter()
        .filter(|u| ids.is_empty() || ids.contains(&u.id))
        .filter(|u| groups.is_empty() || in_any(u))
        .filter(|u| roles.is_empty() || roles.iter().any(|r| r == ORG_ADMIN) && u.admin)
        .filter(|u| statuses.is_empty() || statuses.iter().any(|s| s == status_of(u)))
        .filter(|u| {
            let text = format!("{} {}", u.email, u.name).to_lowercase();
            term.as_ref()
                .is_none_or(|t| text.contains(&t.to_lowercase()))
        })
        .map(|u| (u.id.clone(), user_json(u)))
        .collect();
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    page(&q, hits)
}

async fn groups(
    State(o): State<Arc<Org>>,
    h: HeaderMap,
    Path((org, dir)): Path<(String, String)>,
    Query(q): Query<Q>,
) -> Response {
    if let Err(r) = directory(&o, &h, &org, &dir) {
        return r;
    }
    let rows = o.state.lock().unwrap();
    let hits = rows.groups.iter().map(|(id, name, description)| {
        let json = json!({"id": id, "name": name, "description": description,
            "directoryId": DIRECTORY_ID, "externalSynced": false, "managedBy": "admins",
            "links": {"self": id}});
        (id.clone(), json)
    });
    page(&q, hits.collect())
}

async fn invite(
    State(o): State<Arc<Org>>,
    h: HeaderMap,
    Path(org): Path<String>,
    Json(b): Json<Value>,
) -> Response {
    if let Err(r) = gate(&o, &h, &org) {
        return r;
    }
    let emails: Vec<String> = b["emails"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e.as_str()).map(str::to_lowercase))
        .into_iter()
        .flatten()
        .collect();
    if emails.is_empty() || emails.len() > 10 || emails.iter().any(|e| !e.contains('@')) {
        let says = "emails: 1 to 10 email addresses";
        return error(400, "ADMIN-400-24", "Bad Request", says);
    }
    let extra: Vec<String> = b["additionalGroups"]
        .as_array()
        .map(|a| a.iter().filter_map(|g| g.as_str()).map(str::to_owned))
        .into_iter()
        .flatten()
        .collect();
    let mut rows = o.state.lock().unwrap();
    if extra.iter().any(|g| !rows.groups.iter().any(|x| x.0 == *g)) {
        return error(404, "ADMIN-404-10", "Not Found", "Group not found");
    }
    let mut data = Vec::new();
    for email in emails {
        let id = match rows.users.iter_mut().find(|u| u.email == email) {
            Some(u) => {
                if u.membership == "no_membership" {
                    u.membership = "active";
                }
                u.id.clone()
            }
            None => {
                let id = new_id(&o);
                let name = email.split('@').next().unwrap_or_default().to_owned();
                let user = User {
                    id: id.clone(),
                    name,
                    email: email.clone(),
                    membership: "active",
                    admin: false,
                };
                rows.users.push(user);
                id
            }
        };
        for g in &extra {
            rows.members
                .entry(g.clone())
                .or_default()
                .insert(id.clone());
        }
        data.push(json!({"id": id, "email": email, "results": []}));
    }
    kit::reply(StatusCode::OK, vec![], json!({ "data": data }))
}

/// Checks the key, then answers with `f` of the rows and the index of the member `id` (a user
/// with a membership); 404 `ADMIN-404-8` without one.
fn on_member(
    o: &Org,
    h: &HeaderMap,
    org: &str,
    id: &str,
    f: impl FnOnce(&mut Rows, usize) -> Response,
) -> Response {
    if let Err(r) = gate(o, h, org) {
        return r;
    }
    let mut rows = o.state.lock().unwrap();
    let found = rows
        .users
        .iter()
        .position(|u| u.id == id && u.membership != "no_membership");
    match found {
        Some(i) => f(&mut rows, i),
        None => no_user(),
    }
}

async fn role(
    State(o): State<Arc<Org>>,
    h: HeaderMap,
    Path((org, id, action)): Path<(String, String, String)>,
    Json(b): Json<Value>,
) -> Response {
    on_member(&o, &h, &org, &id, |rows, i| {
        if b["role"] != ORG_ADMIN || !matches!(action.as_str(), "assign" | "revoke") {
            return error(
                400,
                "ADMIN-400-24",
                "Bad Request",
                "role: atlassian/org-admin",
            );
        }
        rows.users[i].admin = action == "assign";
        StatusCode::NO_CONTENT.into_response()
    })
}

async fn remove(
    State(o): State<Arc<Org>>,
    h: HeaderMap,
    Path((org, id)): Path<(String, String)>,
) -> Response {
    on_member(&o, &h, &org, &id, |rows, i| {
        (rows.users[i].membership, rows.users[i].admin) = ("no_membership", false);
        for m in rows.members.values_mut() {
            m.remove(&id);
        }
        StatusCode::NO_CONTENT.into_response()
    })
}

/// `suspend-access` and `restore-access`.
async fn access(
    State(o): State<Arc<Org>>,
    h: HeaderMap,
    Path((org, id, action)): Path<(String, String, String)>,
) -> Response {
    on_member(&o, &h, &org, &id, |rows, i| {
        let (state, done) = match action.as_str() {
            "suspend-access" => ("suspended", "suspended"),
            "restore-access" => ("active", "restored"),
            _ => return error(404, "ADMIN-404-1", "Not Found", "Unknown resource"),
        };
        rows.users[i].membership = state;
        message(format!("Access to organization {org} {done} for user {id}"))
    })
}

async fn join(
    State(o): State<Arc<Org>>,
    h: HeaderMap,
    Path((org, group)): Path<(String, String)>,
    Json(b): Json<Value>,
) -> Response {
    if let Err(r) = gate(&o, &h, &org) {
        return r;
    }
    let mut rows = o.state.lock().unwrap();
    if !rows.groups.iter().any(|g| g.0 == group) {
        return error(404, "ADMIN-404-10", "Not Found", "Group not found");
    }
    let id = b["account_id"].as_str().unwrap_or_default().to_owned();
    let member = |u: &User| u.id == id && u.membership != "no_membership";
    if !rows.users.iter().any(member) {
        return no_user();
    }
    rows.members
        .entry(group.clone())
        .or_default()
        .insert(id.clone());
    message(format!("User {id} added to group {group}"))
}

async fn leave(
    State(o): State<Arc<Org>>,
    h: HeaderMap,
    Path((org, group, id)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = gate(&o, &h, &org) {
        return r;
    }
    let mut rows = o.state.lock().unwrap();
    if !rows.groups.iter().any(|g| g.0 == group) {
        return error(404, "ADMIN-404-10", "Not Found", "Group not found");
    }
    match rows.members.get_mut(&group).is_some_and(|m| m.remove(&id)) {
        true => message(format!("User {id} removed from group {group}")),
        false => no_user(),
    }
}
