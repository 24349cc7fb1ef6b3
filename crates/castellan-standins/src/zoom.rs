//! **A stand-in for Zoom's REST API v2 (users and roles), not Zoom.** It serves, under `/v2`,
//! the endpoints the `zoom` connector uses, in Zoom's shapes, from memory, one account per
//! [`Zoom`]:
//!
//! - `GET /v2/users?status=active|inactive|pending&page_size=…&next_page_token=…`:
//!   `{"page_count", "page_number", "page_size", "total_records", "next_page_token", "users"}`
//!   (`page_size` 30 by default, at most 300; `next_page_token` empty on the last page).
//! - `GET /v2/users/{userId}` (an id, an email address, or `me`: the token's user),
//!   `PATCH /v2/users/{userId}` (`type`, `first_name`, `last_name`; 204),
//!   `DELETE /v2/users/{userId}?action=disassociate|delete` (204),
//!   `PUT /v2/users/{userId}/status` with `{"action": "activate"|"deactivate"}` (204).
//! - `POST /v2/users` with `{"action": "create", "user_info": {"email", "type", "first_name",
//!   "last_name"}}`: 201 `{"id", "first_name", "last_name", "email", "type"}`; the user is
//!   `pending`, a Member (role `2`).
//! - `GET /v2/roles`: `{"total_records", "roles": [{"id", "name", "description",
//!   "total_members"}]}`: Owner `0`, Admin `1`, Member `2` and a custom role (Help desk);
//!   `POST /v2/roles/{roleId}/members` with `{"members": [{"id"} | {"email"}]}` (201 `{"ids",
//!   "add_at"}`: the users now hold that role); `DELETE /v2/roles/{roleId}/members/{memberId}`
//!   (204: the user is a Member again).
//!
//! Tokens (Bearer): a Server-to-Server OAuth app's, acting as an admin, with the admin scopes;
//! a member's, without them. Errors are `{"code", "message"}`: 401 code 124 (`Invalid access
//! token.`), 404 code 1001 (no such user), 409 code 1005 (the address has a user), 400 code 4711
//! for a token without the admin scopes, 400 code 300 for invalid fields (with `errors[]`).
//! Deactivating a user takes its license (`type` 1), as Zoom does. Every answer carries
//! `X-RateLimit-Category`, `X-RateLimit-Limit` and `X-RateLimit-Remaining`; past the per-second
//! limit, 429 with `X-RateLimit-Type: QPS` and no `Retry-After`; past a daily limit (off unless a
//! test sets one), 429 with `X-RateLimit-Type: Daily-limit` and `Retry-After` as the RFC 3339
//! date of the next midnight UTC, Zoom's own example.
//!
//! The stand-in's own choices, where the reference is silent: what a refused removal,
//! deactivation or role assignment answers (400 code 300 with a message): an admin must be made
//! a member before being removed or deactivated (Zoom's help page asks it), a pending user can
//! only be disassociated (the reference's note) and cannot be deactivated, the owner cannot be
//! removed, deactivated or given another role, a role nobody has is 404 code 300 to an
//! assignment and 400 code 300 to an unassignment.
//!
//! Not modelled: `page_number` paging, tokens expiring after 15 minutes, sub accounts, groups,
//! custom attributes, other `action`s than `create`, transfers on removal. Pages followed:
//! - Users API: <https://developers.zoom.us/docs/api/users/>
//! - Roles (Accounts API): <https://developers.zoom.us/docs/api/accounts/>
//! - Pagination: <https://developers.zoom.us/docs/api/pagination>
//! - Errors: <https://developers.zoom.us/docs/api/errors/>
//! - Rate limits: <https://developers.zoom.us/docs/api/rate-limits/>
//! - Removing a user:
//!   <https://support.zoom.us/hc/en-us/articles/115005269946-Removing-a-user-from-your-account>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests a second before 429 unless a test sets another limit (above Zoom's, so the
/// conformance suite runs at full speed).
pub const DEFAULT_LIMIT: u32 = 10_000;
const MAX_PAGE: usize = 300;
const ROLES: [(&str, &str); 4] = [
    ("0", "Owner"),
    ("1", "Admin"),
    ("2", "Member"),
    ("hd7Kq2LmRd", "Help desk"),
];
/// The custom role's id.
pub const HELP_DESK: &str = "hd7Kq2LmRd";

/// A running stand-in of one Zoom account: its base URL, the owner, an admin whose
/// Server-to-Server OAuth app's token is the automation account's, and a member with a token
/// without the admin scopes.
#[derive(Debug, Clone)]
pub struct Zoom {
    /// `http://127.0.0.1:<port>/v2`.
    pub base_url: String,
    /// The owner's user id.
    pub owner_id: String,
    /// The admin's user id (the app's user, `me`).
    pub admin_id: String,
    /// The app's access token.
    pub admin_token: String,
    /// The member's user id.
    pub member_id: String,
    /// The member's token (no admin scopes).
    pub member_token: String,
    account: Arc<Account>,
}

#[derive(Debug)]
struct Account {
    users: Mutex<Vec<User>>,
    seq: AtomicU64,
    /// `(token, user id, admin scopes)`.
    tokens: Vec<(String, String, bool)>,
    qps: RateLimit,
    daily: Mutex<Option<u32>>,
    served: AtomicU64,
    removed: Mutex<Vec<(String, String)>>,
}

#[derive(Debug, Clone)]
struct User {
    seq: u64,
    id: String,
    email: String,
    first: String,
    last: String,
    kind: u64,
    status: String,
    role: String,
}

impl Zoom {
    /// Starts an account with its owner, admin and member on a loopback port.
    pub fn start() -> Self {
        let n = kit::instance();
        let (admin_token, member_token) = (format!("zoom-s2s-{n}"), format!("zoom-member-{n}"));
        let account = Arc::new(Account {
            users: Mutex::new(vec![]),
            seq: AtomicU64::new(1),
            tokens: vec![],
            qps: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(1)),
            daily: Mutex::new(None),
            served: AtomicU64::new(0),
            removed: Mutex::new(vec![]),
        });
        let mut zoom = Self {
            base_url: String::new(),
            owner_id: String::new(),
            admin_id: String::new(),
            admin_token,
            member_id: String::new(),
            member_token,
            account,
        };
        zoom.owner_id = zoom.seed("owner@standin.test", "Olga Owner", "0", "active");
        zoom.admin_id = zoom.seed("admin@standin.test", "Ada Admin", "1", "active");
        zoom.member_id = zoom.seed("member@standin.test", "Max Member", "2", "active");
        let tokens = vec![
            (zoom.admin_token.clone(), zoom.admin_id.clone(), true),
            (zoom.member_token.clone(), zoom.member_id.clone(), false),
        ];
        let account = Arc::get_mut(&mut zoom.account).expect("not shared yet");
        account.tokens = tokens;
        let router = Router::new()
            .route("/v2/users", get(list).post(create))
            .route("/v2/users/{id}", get(show).patch(update).delete(remove))
            .route("/v2/users/{id}/status", put(status))
            .route("/v2/roles", get(roles))
            .route("/v2/roles/{role}/members", post(assign))
            .route("/v2/roles/{role}/members/{id}", delete(unassign))
            .with_state(zoom.account.clone());
        zoom.base_url = format!("{}/v2", kit::spawn(router).base_url);
        zoom
    }

    /// Makes sure a user with `email` exists, with the role id `role` and the `status`, as an
    /// admin would in Zoom's web portal; returns its id.
    pub fn seed(&self, email: &str, name: &str, role: &str, status: &str) -> String {
        let mut users = self.account.users.lock().unwrap();
        if let Some(u) = users.iter().find(|u| u.email.eq_ignore_ascii_case(email)) {
            return u.id.clone();
        }
        let (first, last) = name.split_once(' ').unwrap_or((name, ""));
        let u = self.account.user(email, first, last, 2);
        let id = u.id.clone();
        users.push(User {
            role: role.into(),
            status: status.into(),
            ..u
        });
        id
    }

    /// The user `id` as `GET /users/{id}` shows it, `None` when there is none.
    pub fn user(&self, id: &str) -> Option<Value> {
        let users = self.account.users.lock().unwrap();
        users.iter().find(|u| u.id == id).map(User::json)
    }

    /// The removals asked for, in order: `(user id, action)`.
    pub fn removals(&self) -> Vec<(String, String)> {
        self.account.removed.lock().unwrap().clone()
    }

    /// Sets the requests allowed a second from now on (a new window starts).
    pub fn set_rate_limit(&self, per_second: u32) {
        self.account.qps.set_limit(per_second);
    }

    /// Allows `n` more requests today, then 429 until midnight UTC.
    pub fn set_daily_limit(&self, n: u32) {
        *self.account.daily.lock().unwrap() = Some(n);
    }

    /// How many requests the stand-in answered (429s included).
    pub fn served(&self) -> u64 {
        self.account.served.load(Ordering::Relaxed)
    }
}

impl Account {
    /// A new user's record (pending Member) with the next id.
    fn user(&self, email: &str, first: &str, last: &str, kind: u64) -> User {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        User {
            seq,
            id: format!("zU{seq:06}qW"),
            email: email.to_lowercase(),
            first: first.into(),
            last: last.into(),
            kind,
            status: "pending".into(),
            role: "2".into(),
        }
    }
}

impl User {
    fn json(&self) -> Value {
        let role_name = ROLES.iter().find(|(id, _)| *id == self.role).map(|r| r.1);
        json!({
            "id": self.id, "email": self.email, "first_name": self.first,
            "last_name": self.last, "display_name": format!("{} {}", self.first, self.last),
            "type": self.kind, "status": self.status, "role_id": self.role,
            "role_name": role_name, "pmi": 8_000_000_000u64 + self.seq, "timezone": "UTC",
            "verified": 1, "dept": "", "language": "en-US",
            "created_at": "2024-01-01T00:00:00Z",
        })
    }

    fn is(&self, key: &str) -> bool {
        self.id == key || self.email.eq_ignore_ascii_case(key)
    }
}

/// A Zoom error body with the rate-limit headers.
fn error(a: &Account, left: u32, status: u16, code: u64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let r = kit::reply(status, vec![], json!({ "code": code, "message": message }));
    with_limits(a, left, r)
}

fn with_limits(a: &Account, left: u32, mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("x-ratelimit-category", "Light".parse().unwrap());
    h.insert("x-ratelimit-limit", a.qps.limit().into());
    h.insert("x-ratelimit-remaining", left.into());
    r
}

/// A 429 of `kind` (`QPS` or `Daily-limit`).
fn limited(a: &Account, kind: &str, message: &str, retry_after: Option<String>) -> Response {
    let mut headers = vec![("x-ratelimit-type", kind.to_owned())];
    headers.extend(retry_after.map(|r| ("retry-after", r)));
    let body = json!({ "code": 429, "message": message });
    with_limits(
        a,
        0,
        kit::reply(StatusCode::TOO_MANY_REQUESTS, headers, body),
    )
}

/// The next midnight UTC as RFC 3339, as Zoom's `Retry-After` of a daily limit.
fn next_midnight() -> String {
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    format!("{}T00:00:00Z", tomorrow.format("%Y-%m-%d"))
}

/// Counts the request against the limits and finds the caller (with the admin scopes when
/// `admin`): the caller and the requests left this second.
fn gate(a: &Account, h: &HeaderMap, admin: bool) -> Result<(User, u32), Response> {
    a.served.fetch_add(1, Ordering::Relaxed);
    {
        let mut daily = a.daily.lock().unwrap();
        match daily.as_mut() {
            Some(0) => {
                let says = "You have exceeded the daily rate limit of API requests permitted for \
                    this account. You may resume these requests at GMT 00:00:00.";
                return Err(limited(a, "Daily-limit", says, Some(next_midnight())));
            }
            Some(n) => *n -= 1,
            None => {}
        }
    }
    let left = match a.qps.take() {
        Budget::Left(n) => n,
        Budget::Wait(_) => {
            let says = "You have reached the maximum per-second rate limit for this API. Try \
                again later.";
            return Err(limited(a, "QPS", says, None));
        }
    };
    let token = kit::bearer(h).unwrap_or_default();
    let Some((_, id, scopes)) = a.tokens.iter().find(|(t, _, _)| *t == token) else {
        return Err(error(a, left, 401, 124, "Invalid access token."));
    };
    if admin && !scopes {
        let says = "Invalid access token, does not contain scopes:[user:read:admin, \
            user:write:admin, role:read:admin, role:write:admin].";
        return Err(error(a, left, 400, 4711, says));
    }
    let users = a.users.lock().unwrap();
    match users.iter().find(|u| u.id == *id) {
        Some(u) => Ok((u.clone(), left)),
        None => Err(error(a, left, 401, 124, "Invalid access token.")),
    }
}

/// Answers `out` (a status and a body, or an early answer) with the rate-limit headers.
fn respond(a: &Account, left: u32, out: Result<(StatusCode, Value), Response>) -> Response {
    match out {
        Ok((StatusCode::NO_CONTENT, _)) => {
            with_limits(a, left, StatusCode::NO_CONTENT.into_response())
        }
        Ok((status, body)) => with_limits(a, left, (status, Json(body)).into_response()),
        Err(r) => r,
    }
}

fn no_user(a: &Account, left: u32, key: &str) -> Response {
    error(a, left, 404, 1001, &format!("User does not exist: {key}."))
}

fn refused(a: &Account, left: u32, says: &str) -> Response {
    error(a, left, 400, 300, says)
}

async fn list(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let (_, left) = match gate(&a, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let status = get("status").unwrap_or("active");
    if !["active", "inactive", "pending"].contains(&status) {
        return refused(&a, left, "Invalid field: status.");
    }
    let size = get("page_size").and_then(|s| s.parse::<usize>().ok());
    let size = size.unwrap_or(30).clamp(1, MAX_PAGE);
    let after = match get("next_page_token").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match t
            .strip_prefix("npt")
            .and_then(|n| u64::from_str_radix(n, 16).ok())
        {
            Some(seq) => Some(seq),
            None => return refused(&a, left, "Invalid next_page_token."),
        },
    };
    let users = a.users.lock().unwrap();
    let rows: Vec<&User> = users.iter().filter(|u| u.status == status).collect();
    let (page, next) = kit::page_after(&rows, |u| u.seq, after.as_ref(), size);
    let body = json!({
        "page_count": rows.len().div_ceil(size), "page_number": 1, "page_size": size,
        "total_records": rows.len(),
        "next_page_token": next.map(|s| format!("npt{s:x}")).unwrap_or_default(),
        "users": page.iter().map(|u| u.json()).collect::<Vec<_>>(),
    });
    let mut r = respond(&a, left, Ok((StatusCode::OK, body)));
    r.headers_mut()
        .insert("x-ratelimit-category", "Medium".parse().unwrap());
    r
}

async fn create(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let (_, left) = match gate(&a, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let info = &b["user_info"];
    let text = |k: &str| info[k].as_str().unwrap_or("").trim().to_owned();
    let email = text("email").to_lowercase();
    let kind = info["type"].as_u64().unwrap_or(1);
    let mut invalid = vec![];
    if b["action"] != "create" {
        invalid.push("action");
    }
    if email
        .split_once('@')
        .is_none_or(|(l, d)| l.is_empty() || !d.contains('.'))
    {
        invalid.push("user_info.email");
    }
    if ![1, 2].contains(&kind) {
        invalid.push("user_info.type");
    }
    if !invalid.is_empty() {
        let errors: Vec<Value> = invalid
            .iter()
            .map(|f| json!({ "field": f, "message": "Invalid field." }))
            .collect();
        let body = json!({ "code": 300, "message": "Validation Failed.", "errors": errors });
        let r = kit::reply(StatusCode::BAD_REQUEST, vec![], body);
        return with_limits(&a, left, r);
    }
    let mut users = a.users.lock().unwrap();
    if users.iter().any(|u| u.email == email) {
        return error(
            &a,
            left,
            409,
            1005,
            &format!("User already in the account: {email}"),
        );
    }
    let u = a.user(&email, &text("first_name"), &text("last_name"), kind);
    let body = json!({ "id": u.id, "first_name": u.first, "last_name": u.last,
        "email": u.email, "type": u.kind });
    users.push(u);
    respond(&a, left, Ok((StatusCode::CREATED, body)))
}

async fn show(State(a): State<Arc<Account>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    // `me` is the caller, whatever its scopes; others need the admin scopes.
    let (me, left) = match gate(&a, &h, id != "me") {
        Ok(g) => g,
        Err(r) => return r,
    };
    let key = if id == "me" { me.id } else { id };
    let users = a.users.lock().unwrap();
    let out = match users.iter().find(|u| u.is(&key)) {
        Some(u) => Ok((StatusCode::OK, u.json())),
        None => Err(no_user(&a, left, &key)),
    };
    respond(&a, left, out)
}

/// Runs `f` on the user `key` (by id or email) as an admin: 204, or its refusal (400 code 300
/// with `f`'s message).
fn change(
    a: &Account,
    h: &HeaderMap,
    key: &str,
    f: impl FnOnce(&mut User) -> Result<(), String>,
) -> Response {
    let (_, left) = match gate(a, h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let mut users = a.users.lock().unwrap();
    let out = match users.iter_mut().find(|u| u.is(key)) {
        None => Err(no_user(a, left, key)),
        Some(u) => f(u)
            .map(|()| (StatusCode::NO_CONTENT, Value::Null))
            .map_err(|says| refused(a, left, &says)),
    };
    respond(a, left, out)
}

async fn update(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let b = body.map(|Json(b)| b).unwrap_or_default();
    change(&a, &h, &id, |u| {
        if let Some(kind) = b["type"].as_u64() {
            u.kind = kind;
        }
        for (k, field) in [("first_name", &mut u.first), ("last_name", &mut u.last)] {
            if let Some(v) = b[k].as_str() {
                *field = v.to_owned();
            }
        }
        Ok(())
    })
}

/// Why `u` may not be removed or deactivated: the owner, and an admin (made a member first).
fn kept(u: &User) -> Option<&'static str> {
    match u.role.as_str() {
        "0" => Some("The account owner cannot be removed or deactivated."),
        "1" => Some("Change the user's role to Member before removing or deactivating them."),
        _ => None,
    }
}

async fn status(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let action = body.map(|Json(b)| b["action"].clone()).unwrap_or_default();
    change(&a, &h, &id, |u| {
        if u.status == "pending" {
            return Err("The user has not activated their account yet.".into());
        }
        match action.as_str() {
            Some("deactivate") => {
                if let Some(why) = kept(u) {
                    return Err(why.into());
                }
                // Deactivation takes every license away.
                (u.status, u.kind) = ("inactive".into(), 1);
            }
            Some("activate") => u.status = "active".into(),
            _ => return Err("Invalid field: action.".into()),
        }
        Ok(())
    })
}

async fn remove(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let (_, left) = match gate(&a, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let action = q
        .iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.as_str());
    let action = action.unwrap_or("disassociate");
    let mut users = a.users.lock().unwrap();
    let Some(i) = users.iter().position(|u| u.is(&id)) else {
        return no_user(&a, left, &id);
    };
    let why = match (action, users[i].status.as_str()) {
        ("disassociate" | "delete", _) if kept(&users[i]).is_some() => kept(&users[i]),
        ("delete", "pending") => Some("To delete a pending user, use disassociate."),
        ("disassociate" | "delete", _) => None,
        _ => Some("Invalid field: action."),
    };
    if let Some(why) = why {
        return refused(&a, left, why);
    }
    let u = users.remove(i);
    a.removed.lock().unwrap().push((u.id, action.to_owned()));
    respond(&a, left, Ok((StatusCode::NO_CONTENT, Value::Null)))
}

async fn roles(State(a): State<Arc<Account>>, h: HeaderMap) -> Response {
    let (_, left) = match gate(&a, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let users = a.users.lock().unwrap();
    let roles: Vec<Value> = ROLES
        .iter()
        .map(|(id, name)| {
            let n = users.iter().filter(|u| u.role == *id).count();
            json!({ "id": id, "name": name, "description": format!("{name} role"),
                "total_members": n })
        })
        .collect();
    let body = json!({ "total_records": roles.len(), "roles": roles });
    respond(&a, left, Ok((StatusCode::OK, body)))
}

async fn assign(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(role): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let (_, left) = match gate(&a, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if !ROLES.iter().any(|(id, _)| *id == role) {
        return error(&a, left, 404, 300, "Role does not exist.");
    }
    if role == "0" {
        return refused(&a, left, "The Owner role cannot be assigned.");
    }
    let members = body.map(|Json(b)| b["members"].clone()).unwrap_or_default();
    let keys: Vec<String> = members
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str().or(m["email"].as_str()).map(str::to_owned))
        .collect();
    let mut users = a.users.lock().unwrap();
    let mut ids = vec![];
    for key in &keys {
        match users.iter_mut().find(|u| u.is(key)) {
            None => return no_user(&a, left, key),
            Some(u) if u.role == "0" => {
                return refused(&a, left, "The account owner's role cannot change.")
            }
            Some(u) => {
                u.role = role.clone();
                ids.push(u.id.clone());
            }
        }
    }
    let body = json!({ "ids": ids.join(","), "add_at": "2024-01-01T00:00:00Z" });
    respond(&a, left, Ok((StatusCode::CREATED, body)))
}

async fn unassign(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path((role, id)): Path<(String, String)>,
) -> Response {
    let known = ROLES.iter().any(|(r, _)| *r == role);
    change(&a, &h, &id, |u| {
        match (known, u.role == role && role != "0") {
            (false, _) => Err("Role does not exist.".into()),
            (true, true) => {
                u.role = "2".into();
                Ok(())
            }
            (true, false) => Err("The user does not have this role.".into()),
        }
    })
}
