//! **A stand-in for the Box Platform API's users endpoints, not Box.** It serves what the `box`
//! connector uses, in Box's shapes, from memory, one enterprise per [`BoxEnterprise`], under
//! `/2.0`:
//!
//! - `GET /users/me`; `GET /users` (`user_type` `all`, `managed` or `external`; `filter_term`
//!   matching the start of a name or login, any case; `limit` up to 1000, more is cut to 1000;
//!   `offset` up to 10 000 with `total_count`, or `usemarker=true` with `marker` and
//!   `next_marker`, null on the last page).
//! - `GET|PUT|DELETE /users/{id}` (`role`, `status`; `force`, `notify`), `POST /users`
//!   (`login`, `name` of 1 to 50 characters, `role` `coadmin` or `user`, `status`,
//!   `is_platform_access_only`), `PUT /users/{id}/folders/0` with `owned_by.id` (moves what the
//!   user owns into a new folder "<name>'s Files and Folders" of that user: 200 with the folder).
//! - `fields`: the standard user without it (no `role`), else the mini user (`id`, `type`,
//!   `name`, `login`) and the fields asked for, as Box answers.
//!
//! Bearer access tokens: the primary admin's, a co-admin's with the "Manage users" permission,
//! a co-admin's without it, and a user's. A wrong token is 401 with an empty body and
//! `WWW-Authenticate`; users and co-admins without the permission get 403
//! `access_denied_insufficient_permissions` on other users. Errors are `{"type": "error",
//! "status", "code", "message", "help_url", "request_id"}`: 404 `not_found`, 409
//! `user_login_already_used`, 400 `bad_request` (with `context_info.message`). Past the
//! per-minute budget, 429 `rate_limit_exceeded` with `retry-after` (seconds).
//!
//! The stand-in's choices where the reference is silent: ids are digits and grow; a delete of a
//! user who owns items without `force` is 400 `bad_request`, and a forced one loses them
//! ([`BoxEnterprise::purged`]); the primary admin's role cannot change and it cannot be deleted
//! (403); a transfer to a user Box does not have is 404. Not modelled: groups, folders' contents,
//! collaborations, external users, co-admins' other permissions, `notify` emails. Pages
//! followed:
//! - <https://developer.box.com/reference/get-users/>, <https://developer.box.com/reference/post-users/>,
//!   <https://developer.box.com/reference/put-users-id/>, <https://developer.box.com/reference/delete-users-id/>
//! - Transfer owned folders: <https://developer.box.com/reference/put-users-id-folders-0/>
//! - User (Full): <https://developer.box.com/reference/resources/user--full/>
//! - Client error: <https://developer.box.com/reference/resources/client-error/>
//! - Marker-based pagination: <https://developer.box.com/guides/api-calls/pagination/marker-based/>
//! - Rate limits: <https://developer.box.com/guides/api-calls/permissions-and-errors/rate-limits/>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests a minute before 429 unless a test sets another limit (above Box's 1000 a user, so
/// the conformance suite runs at full speed).
pub const DEFAULT_LIMIT: u32 = 10_000;
const MAX_LIMIT: usize = 1000;
const MAX_OFFSET: usize = 10_000;
const STATUSES: [&str; 4] = [
    "active",
    "inactive",
    "cannot_delete_edit",
    "cannot_delete_edit_upload",
];

/// A running stand-in of one Box enterprise: its base URL and the access tokens of its primary
/// admin (the automation account), a co-admin who may manage users, one who may not, and a user.
#[derive(Debug, Clone)]
pub struct BoxEnterprise {
    /// `http://127.0.0.1:<port>/2.0`.
    pub base_url: String,
    /// The primary admin's token.
    pub admin_token: String,
    /// The primary admin's user id.
    pub admin_id: String,
    /// A co-admin's token, with the "Manage users" permission.
    pub coadmin_token: String,
    /// A co-admin's token, without it.
    pub limited_coadmin_token: String,
    /// A managed user's token (no admin rights).
    pub user_token: String,
    ent: Arc<Ent>,
}

#[derive(Debug)]
struct Ent {
    state: Mutex<Rows>,
    /// `(token, user id)`.
    tokens: Vec<(String, u64)>,
    limit: RateLimit,
    served: AtomicU64,
}

#[derive(Debug, Default)]
struct Rows {
    users: Vec<User>,
    /// `(folder id, name, owner, items)`.
    folders: Vec<(u64, String, u64, u32)>,
    next_id: u64,
    purged: u64,
}

#[derive(Debug, Clone)]
struct User {
    id: u64,
    name: String,
    login: String,
    role: String,
    status: String,
    app_user: bool,
    manage_users: bool,
    /// Items the user owns in their root folder.
    items: u32,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl BoxEnterprise {
    /// Starts an enterprise with its primary admin, two co-admins and a user.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let token = |who: &str| format!("box-{who}-token-{n}");
        let user = |id, name: &str, login: &str, role: &str, manage_users| User {
            id,
            name: name.into(),
            login: login.into(),
            role: role.into(),
            status: "active".into(),
            app_user: false,
            manage_users,
            items: 0,
        };
        let rows = Rows {
            users: vec![
                user(1, "Automation", "admin@standin.test", "admin", true),
                user(2, "Co Admin", "coadmin@standin.test", "coadmin", true),
                user(3, "Limited", "limited@standin.test", "coadmin", false),
                user(4, "User", "user@standin.test", "user", false),
            ],
            next_id: 1000,
            ..Rows::default()
        };
        let tokens: Vec<(String, u64)> = ["admin", "coadmin", "limited", "user"]
            .iter()
            .zip(1..)
            .map(|(who, id)| (token(who), id))
            .collect();
        let ent = Arc::new(Ent {
            state: Mutex::new(rows),
            tokens: tokens.clone(),
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            served: AtomicU64::new(0),
        });
        let api = Router::new()
            .route("/users/me", get(me))
            .route("/users", get(list).post(create))
            .route("/users/{id}", get(show).put(update).delete(remove))
            .route("/users/{id}/folders/{folder}", put(transfer))
            .with_state(ent.clone());
        let origin = kit::spawn(Router::new().nest("/2.0", api)).base_url;
        Self {
            base_url: format!("{origin}/2.0"),
            admin_token: tokens[0].0.clone(),
            admin_id: "1".into(),
            coadmin_token: tokens[1].0.clone(),
            limited_coadmin_token: tokens[2].0.clone(),
            user_token: tokens[3].0.clone(),
            ent,
        }
    }

    /// Makes sure a managed user with `login` exists (active, with `role`), as an admin would in
    /// the Admin Console; returns its id.
    pub fn seed(&self, login: &str, name: &str, role: &str) -> String {
        self.add(login, name, role, false)
    }

    /// Makes sure an App User (a service's account, `is_platform_access_only`) with `login`
    /// exists; returns its id.
    pub fn seed_app_user(&self, login: &str, name: &str) -> String {
        self.add(login, name, "user", true)
    }

    fn add(&self, login: &str, name: &str, role: &str, app_user: bool) -> String {
        let mut rows = self.ent.state.lock().unwrap();
        if let Some(u) = rows
            .users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
        {
            return u.id.to_string();
        }
        let id = rows.next();
        rows.users.push(User {
            id,
            name: name.into(),
            login: login.to_lowercase(),
            role: role.into(),
            status: "active".into(),
            app_user,
            manage_users: false,
            items: 0,
        });
        id.to_string()
    }

    /// Gives the user `id` `items` items of their own (as if they had uploaded files).
    pub fn give_items(&self, id: &str, items: u32) {
        let mut rows = self.ent.state.lock().unwrap();
        if let Some(u) = rows.users.iter_mut().find(|u| u.id.to_string() == id) {
            u.items += items;
        }
    }

    /// The user `id` in full (every field), `None` when there is none.
    pub fn user(&self, id: &str) -> Option<Value> {
        let rows = self.ent.state.lock().unwrap();
        let u = rows.users.iter().find(|u| u.id.to_string() == id)?;
        Some(u.json(Some("role,is_platform_access_only,status")))
    }

    /// The folders the user `owner` received by transfers: `(name, items)`.
    pub fn received(&self, owner: &str) -> Vec<(String, u32)> {
        let rows = self.ent.state.lock().unwrap();
        let mine = rows.folders.iter().filter(|f| f.2.to_string() == owner);
        mine.map(|f| (f.1.clone(), f.3)).collect()
    }

    /// How many items forced deletes lost.
    pub fn purged(&self) -> u64 {
        self.ent.state.lock().unwrap().purged
    }

    /// Sets the requests allowed a minute from now on (a new window starts).
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.ent.limit.set_limit(per_minute);
    }

    /// How many requests the stand-in answered (429s and 401s included).
    pub fn served(&self) -> u64 {
        self.ent.served.load(Ordering::Relaxed)
    }
}

impl Rows {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.users.iter().position(|u| u.id.to_string() == id)
    }
}

impl User {
    /// The user with `fields` (comma-separated) as Box answers: the standard variant without
    /// them, else the mini variant and the fields asked for.
    fn json(&self, fields: Option<&str>) -> Value {
        let mut full = Map::new();
        for (k, v) in [
            ("id", json!(self.id.to_string())),
            ("type", json!("user")),
            ("name", json!(self.name)),
            ("login", json!(self.login)),
            ("created_at", json!("2024-01-01T10:00:00-08:00")),
            ("language", json!("en")),
            ("space_amount", json!(10_737_418_240_u64)),
            ("space_used", json!(u64::from(self.items) * 1024)),
            ("status", json!(self.status)),
            ("job_title", json!("")),
        ] {
            full.insert(k.into(), v);
        }
        let Some(fields) = fields else {
            return Value::Object(full);
        };
        full.insert("role".into(), json!(self.role));
        full.insert("is_platform_access_only".into(), json!(self.app_user));
        full.insert(
            "enterprise".into(),
            json!({"id": "77", "type": "enterprise"}),
        );
        let asked: Vec<&str> = fields.split(',').map(str::trim).collect();
        let keep = |k: &String| {
            ["id", "type", "name", "login"].contains(&k.as_str()) || asked.contains(&k.as_str())
        };
        Value::Object(full.into_iter().filter(|(k, _)| keep(k)).collect())
    }
}

type Q = Vec<(String, String)>;

fn param<'q>(q: &'q Q, k: &str) -> Option<&'q str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Box's error body, with a request id of its own.
fn error(a: &Ent, status: u16, code: &str, message: &str, context: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let mut body = json!({"type": "error", "status": status.as_u16(), "code": code,
        "message": message, "help_url":
        "https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/",
        "request_id": format!("{:012x}", a.served.load(Ordering::Relaxed))});
    if let Some(c) = context {
        body["context_info"] = json!({ "message": c });
    }
    kit::reply(status, vec![], body)
}

fn bad(a: &Ent, says: &str) -> Response {
    error(a, 400, "bad_request", "Bad Request", Some(says))
}

fn not_found(a: &Ent) -> Response {
    error(a, 404, "not_found", "Not Found", None)
}

fn denied(a: &Ent) -> Response {
    let says = "Access denied - insufficient permission";
    error(a, 403, "access_denied_insufficient_permissions", says, None)
}

/// Counts the request and finds the caller by its token.
fn gate(a: &Ent, h: &HeaderMap) -> Result<User, Response> {
    a.served.fetch_add(1, Ordering::Relaxed);
    if let Budget::Wait(secs) = a.limit.take() {
        let says = "Request rate limit exceeded, please try again later";
        let mut r = error(a, 429, "rate_limit_exceeded", says, None);
        r.headers_mut().insert("retry-after", secs.into());
        return Err(r);
    }
    let token = kit::bearer(h).unwrap_or_default();
    let rows = a.state.lock().unwrap();
    let who = a.tokens.iter().find(|(t, _)| *t == token);
    match who.and_then(|(_, id)| rows.users.iter().find(|u| u.id == *id)) {
        Some(u) => Ok(u.clone()),
        None => {
            let mut r = StatusCode::UNAUTHORIZED.into_response();
            let says = "Bearer realm=\"Service\", error=\"invalid_token\", \
                error_description=\"The access token provided is invalid.\"";
            r.headers_mut()
                .insert("www-authenticate", says.parse().unwrap());
            Err(r)
        }
    }
}

/// The caller, who must manage users ([`may_manage`]).
fn manager(a: &Ent, h: &HeaderMap) -> Result<User, Response> {
    let u = gate(a, h)?;
    may_manage(a, &u).map(|()| u)
}

/// Whether `u` manages users: the primary admin, or a co-admin with the permission.
fn may_manage(a: &Ent, u: &User) -> Result<(), Response> {
    match u.role.as_str() == "admin" || (u.role == "coadmin" && u.manage_users) {
        true => Ok(()),
        false => Err(denied(a)),
    }
}

fn answer(out: Result<(StatusCode, Value), Response>) -> Response {
    match out {
        Ok((StatusCode::NO_CONTENT, _)) => StatusCode::NO_CONTENT.into_response(),
        Ok((status, body)) => (status, Json(body)).into_response(),
        Err(r) => r,
    }
}

async fn me(State(a): State<Arc<Ent>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    answer(gate(&a, &h).map(|u| (StatusCode::OK, u.json(param(&q, "fields")))))
}

/// Opaque markers, as Box's are: the last id listed, with a prefix, in hex.
fn marker(id: u64) -> String {
    format!("JV9{:x}", u128::from(id) | (0xb0_u128 << 64))
}

fn unmark(m: &str) -> Option<u64> {
    let n = u128::from_str_radix(m.strip_prefix("JV9")?, 16).ok()?;
    (n >> 64 == 0xb0).then_some(n as u64)
}

async fn list(State(a): State<Arc<Ent>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    let out = manager(&a, &h).and_then(|_| {
        let kind = param(&q, "user_type").unwrap_or("all");
        if !["all", "managed", "external"].contains(&kind) {
            return Err(bad(&a, "user_type must be all, managed or external"));
        }
        let limit = match param(&q, "limit").map(str::parse::<usize>) {
            None => 100,
            Some(Ok(n)) if n > 0 => n.min(MAX_LIMIT),
            Some(_) => return Err(bad(&a, "limit must be a positive number")),
        };
        let term = param(&q, "filter_term").map(str::to_lowercase);
        let rows = a.state.lock().unwrap();
        let starts = |u: &&User| {
            term.as_deref()
                .is_none_or(|t| u.login.starts_with(t) || u.name.to_lowercase().starts_with(t))
        };
        let mut users: Vec<&User> = match kind {
            "external" => vec![],
            _ => rows.users.iter().filter(starts).collect(),
        };
        users.sort_by_key(|u| u.id);
        let fields = param(&q, "fields");
        let page = |p: Vec<&User>| p.iter().map(|u| u.json(fields)).collect::<Vec<_>>();
        if param(&q, "usemarker") == Some("true") {
            let after = match param(&q, "marker").map(unmark) {
                None => None,
                Some(Some(id)) => Some(id),
                Some(None) => return Err(bad(&a, "invalid marker")),
            };
            let (rows, next) = kit::page_after(&users, |u| u.id, after.as_ref(), limit);
            let rows: Vec<&User> = rows.into_iter().copied().collect();
            let body = json!({"limit": limit, "next_marker": next.map(marker),
                "prev_marker": null, "entries": page(rows)});
            return Ok((StatusCode::OK, body));
        }
        let offset = param(&q, "offset")
            .and_then(|o| o.parse().ok())
            .unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(bad(&a, "offset must not exceed 10000"));
        }
        let slice = users.get(offset..).unwrap_or_default();
        let slice = &slice[..slice.len().min(limit)];
        let body = json!({"total_count": users.len(), "limit": limit, "offset": offset,
            "entries": page(slice.to_vec())});
        Ok((StatusCode::OK, body))
    });
    answer(out)
}

async fn show(
    State(a): State<Arc<Ent>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Q>,
) -> Response {
    let out = gate(&a, &h).and_then(|me| {
        if me.id.to_string() != id {
            may_manage(&a, &me)?;
        }
        let rows = a.state.lock().unwrap();
        match rows.find(&id) {
            Some(i) => Ok((StatusCode::OK, rows.users[i].json(param(&q, "fields")))),
            None => Err(not_found(&a)),
        }
    });
    answer(out)
}

async fn create(
    State(a): State<Arc<Ent>>,
    h: HeaderMap,
    Query(q): Query<Q>,
    body: Option<Json<Value>>,
) -> Response {
    let out = manager(&a, &h).and_then(|_| {
        let b = body.map(|Json(b)| b).unwrap_or_default();
        let text = |k: &str| b[k].as_str().unwrap_or("").trim().to_owned();
        let (login, name) = (text("login").to_lowercase(), text("name"));
        let app_user = b["is_platform_access_only"] == true;
        let role = Some(text("role")).filter(|r| !r.is_empty());
        let status = Some(text("status")).filter(|s| !s.is_empty());
        let (role, status) = (
            role.unwrap_or("user".into()),
            status.unwrap_or("active".into()),
        );
        if name.is_empty() || name.chars().count() > 50 {
            return Err(bad(&a, "name must have 1 to 50 characters"));
        }
        if !app_user && !login.contains('@') {
            return Err(bad(&a, "login must be an email address"));
        }
        if !["coadmin", "user"].contains(&role.as_str()) || !STATUSES.contains(&status.as_str()) {
            return Err(bad(&a, "role must be coadmin or user, status one of Box's"));
        }
        let mut rows = a.state.lock().unwrap();
        if rows.users.iter().any(|u| u.login == login) {
            let says = "User with the specified login already exists";
            return Err(error(&a, 409, "user_login_already_used", says, None));
        }
        let id = rows.next();
        let made = User {
            id,
            name,
            login,
            role,
            status,
            app_user,
            manage_users: false,
            items: 0,
        };
        let out = made.json(param(&q, "fields"));
        rows.users.push(made);
        Ok((StatusCode::CREATED, out))
    });
    answer(out)
}

async fn update(
    State(a): State<Arc<Ent>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Q>,
    body: Option<Json<Value>>,
) -> Response {
    let out = manager(&a, &h).and_then(|_| {
        let b = body.map(|Json(b)| b).unwrap_or_default();
        let mut rows = a.state.lock().unwrap();
        let i = rows.find(&id).ok_or_else(|| not_found(&a))?;
        let u = &mut rows.users[i];
        if let Some(role) = b["role"].as_str() {
            if u.role == "admin" {
                return Err(denied(&a));
            }
            if !["coadmin", "user"].contains(&role) {
                return Err(bad(&a, "role must be coadmin or user"));
            }
            u.role = role.to_owned();
        }
        if let Some(status) = b["status"].as_str() {
            if !STATUSES.contains(&status) {
                return Err(bad(&a, "status must be one of Box's"));
            }
            u.status = status.to_owned();
        }
        Ok((StatusCode::OK, u.json(param(&q, "fields"))))
    });
    answer(out)
}

async fn remove(
    State(a): State<Arc<Ent>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Q>,
) -> Response {
    let out = manager(&a, &h).and_then(|_| {
        let mut rows = a.state.lock().unwrap();
        let i = rows.find(&id).ok_or_else(|| not_found(&a))?;
        let u = &rows.users[i];
        if u.role == "admin" {
            return Err(denied(&a));
        }
        let received: u32 = rows
            .folders
            .iter()
            .filter(|f| f.2 == u.id)
            .map(|f| f.3)
            .sum();
        let owned = u.items + received;
        if owned > 0 && param(&q, "force") != Some("true") {
            return Err(bad(
                &a,
                "the user still owns content: move it first, or force",
            ));
        }
        let gone = rows.users.remove(i).id;
        rows.folders.retain(|f| f.2 != gone);
        rows.purged += u64::from(owned);
        Ok((StatusCode::NO_CONTENT, Value::Null))
    });
    answer(out)
}

async fn transfer(
    State(a): State<Arc<Ent>>,
    h: HeaderMap,
    Path((id, folder)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Response {
    let out = manager(&a, &h).and_then(|_| {
        if folder != "0" {
            return Err(bad(&a, "only the root folder (0) can be transferred"));
        }
        let b = body.map(|Json(b)| b).unwrap_or_default();
        let to = b["owned_by"]["id"].as_str().unwrap_or("").to_owned();
        let mut rows = a.state.lock().unwrap();
        let from = rows.find(&id).ok_or_else(|| not_found(&a))?;
        let dest = rows.find(&to).ok_or_else(|| not_found(&a))?;
        if from == dest {
            return Err(bad(&a, "a user's folders cannot be moved to themselves"));
        }
        let name = format!("{}'s Files and Folders", rows.users[from].name);
        let items = std::mem::take(&mut rows.users[from].items);
        let (owner, folder_id) = (rows.users[dest].clone(), rows.next());
        rows.folders
            .push((folder_id, name.clone(), owner.id, items));
        let body = json!({"id": folder_id.to_string(), "type": "folder", "name": name,
            "owned_by": {"type": "user", "id": owner.id.to_string(), "name": owner.name,
            "login": owner.login}});
        Ok((StatusCode::OK, body))
    });
    answer(out)
}
