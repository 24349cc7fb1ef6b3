//! **A stand-in for HubSpot's user provisioning API, not HubSpot.** It serves the endpoints the
//! `hubspot` connector uses, in HubSpot's shapes, from memory, one account per [`HubSpot`]:
//!
//! - `GET /settings/v3/users/?limit=…&after=…`: `{"results": [...], "paging": {"next":
//!   {"after", "link"}}}` (`limit` at most 100), users by id.
//! - `GET|PUT|DELETE /settings/v3/users/{userId}` (`?idProperty=EMAIL` takes an address),
//!   `POST /settings/v3/users/` (`email`, `sendWelcomeEmail`, `firstName`, `lastName`,
//!   `roleId`), `GET /settings/v3/users/roles` (`{"results": [{"id", "name",
//!   "requiresBillingWrite"}]}`).
//! - `POST /oauth/v2/private-apps/get/access-token-info` with `{"tokenKey"}`: `userId`,
//!   `hubId`, `appId`, `scopes`.
//!
//! Private app tokens (Bearer) with scopes: the admin's has `settings.users.read` and
//! `settings.users.write`, the other only `settings.users.read`. Errors are `{"status":
//! "error", "message", "correlationId", "category"}`: 401 `INVALID_AUTHENTICATION`, 403
//! `MISSING_SCOPES`, 404 `OBJECT_NOT_FOUND`, 400 `VALIDATION_ERROR`, and (not shown in the
//! reference: the stand-in's choice) 409 `CONFLICT` for an address that has a user. Every
//! answer carries `X-HubSpot-RateLimit-Max`, `-Remaining` and `-Interval-Milliseconds` (a
//! ten-second window); past it, 429 with `policyName: TEN_SECONDLY_ROLLING` and no
//! `Retry-After`, as HubSpot answers.
//!
//! Not modelled: teams, seats, `roleIds` with several roles. Pages followed:
//! - User provisioning:
//!   <https://developers.hubspot.com/docs/api-reference/legacy/account/settings/user-provisioning/guide>
//! - Create a user: <https://developers.hubspot.com/docs/api-reference/settings-user-provisioning-v3/users/post-settings-v3-users->
//! - Private apps (token info): <https://developers.hubspot.com/docs/api/private-apps>
//! - API usage and limits: <https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests each ten seconds before 429 unless a test sets another limit (above HubSpot's
/// 190, so the conformance suite runs at full speed).
pub const DEFAULT_LIMIT: u32 = 10_000;
const READ: &str = "settings.users.read";
const WRITE: &str = "settings.users.write";

/// A running stand-in of one HubSpot account: its base URL, a private app token that may manage
/// users (made by the super admin [`HubSpot::admin_id`]) and one that may only read them, and
/// the account's roles (`id`, `name`).
#[derive(Debug, Clone)]
pub struct HubSpot {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// A token with `settings.users.read` and `settings.users.write`.
    pub admin_token: String,
    /// The user id of the super admin who made the admin's private app.
    pub admin_id: u64,
    /// A token with `settings.users.read` only.
    pub read_only_token: String,
    /// The account's roles, `(id, name)`.
    pub roles: Vec<(String, String)>,
    account: Arc<Account>,
}

#[derive(Debug)]
struct Account {
    users: Mutex<Vec<User>>,
    next_id: AtomicU64,
    tokens: Vec<(String, u64, Vec<&'static str>)>,
    roles: Vec<(String, String)>,
    limit: RateLimit,
    served: AtomicU64,
    base_url: Mutex<String>,
}

#[derive(Debug, Clone)]
struct User {
    id: u64,
    email: String,
    first: String,
    last: String,
    role_id: Option<String>,
    super_admin: bool,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl HubSpot {
    /// Starts an account with its super admin, a reader, and the roles `Sales Rep` (`1001`) and
    /// `Marketing Manager` (`1002`).
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let admin_token = format!("pat-na1-admin-{n}");
        let read_only_token = format!("pat-na1-reader-{n}");
        let roles = vec![
            ("1001".to_owned(), "Sales Rep".to_owned()),
            ("1002".to_owned(), "Marketing Manager".to_owned()),
        ];
        let user = |id, email: &str, first: &str, super_admin| User {
            id,
            email: email.into(),
            first: first.into(),
            last: String::new(),
            role_id: None,
            super_admin,
        };
        let account = Arc::new(Account {
            users: Mutex::new(vec![
                user(1, "owner@standin.test", "Owner", true),
                user(2, "reader@standin.test", "Reader", false),
            ]),
            next_id: AtomicU64::new(5000),
            tokens: vec![
                (admin_token.clone(), 1, vec![READ, WRITE]),
                (read_only_token.clone(), 2, vec![READ]),
            ],
            roles: roles.clone(),
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(10)),
            served: AtomicU64::new(0),
            base_url: Mutex::new(String::new()),
        });
        let router = Router::new()
            .route("/settings/v3/users/", get(list).post(create))
            .route("/settings/v3/users/roles", get(roles_list))
            .route(
                "/settings/v3/users/{id}",
                get(show).put(update).delete(remove),
            )
            .route(
                "/oauth/v2/private-apps/get/access-token-info",
                post(token_info),
            )
            .with_state(account.clone());
        let base_url = kit::spawn(router).base_url;
        *account.base_url.lock().unwrap() = base_url.clone();
        Self {
            base_url,
            admin_token,
            admin_id: 1,
            read_only_token,
            roles,
            account,
        }
    }

    /// Makes sure a user with `email` exists (with the role id `role_id`), as a super admin
    /// would in HubSpot's own pages; returns its id.
    pub fn seed(&self, email: &str, role_id: Option<&str>) -> u64 {
        let mut users = self.account.users.lock().unwrap();
        if let Some(u) = users.iter().find(|u| u.email.eq_ignore_ascii_case(email)) {
            return u.id;
        }
        let id = self.account.next_id.fetch_add(1, Ordering::Relaxed);
        users.push(User {
            id,
            email: email.to_lowercase(),
            first: "Seeded".into(),
            last: String::new(),
            role_id: role_id.map(str::to_owned),
            super_admin: false,
        });
        id
    }

    /// The user `id` as the API shows it, `None` when there is none.
    pub fn user(&self, id: u64) -> Option<Value> {
        let users = self.account.users.lock().unwrap();
        users.iter().find(|u| u.id == id).map(User::json)
    }

    /// Sets the requests allowed each ten seconds from now on.
    pub fn set_rate_limit(&self, per_ten_seconds: u32) {
        self.account.limit.set_limit(per_ten_seconds);
    }

    /// How many requests the stand-in answered.
    pub fn served(&self) -> u64 {
        self.account.served.load(Ordering::Relaxed)
    }
}

impl User {
    fn json(&self) -> Value {
        let role_ids: Vec<&String> = self.role_id.iter().collect();
        json!({
            "id": self.id.to_string(),
            "email": self.email,
            "firstName": self.first,
            "lastName": self.last,
            "roleId": self.role_id,
            "roleIds": role_ids,
            "primaryTeamId": null,
            "secondaryTeamIds": [],
            "superAdmin": self.super_admin,
            "sendWelcomeEmail": false,
        })
    }
}

type Answer = Result<(StatusCode, Value), Response>;

/// Counts the request and checks the token has `scope`; `Ok` with the requests left.
fn gate(a: &Account, h: &HeaderMap, scope: Option<&str>) -> Result<u32, Response> {
    a.served.fetch_add(1, Ordering::Relaxed);
    let left = match a.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(_) => {
            let body = json!({"status": "error", "message":
                "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT",
                "correlationId": correlation(a), "policyName": "TEN_SECONDLY_ROLLING"});
            return Err(error(a, 0, 429, body));
        }
    };
    let Some(scope) = scope else { return Ok(left) };
    let token = kit::bearer(h).unwrap_or_default();
    match a.tokens.iter().find(|(t, _, _)| *t == token) {
        None => Err(fail(
            a,
            left,
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication",
        )),
        Some((_, _, scopes)) if !scopes.contains(&scope) => Err(fail(
            a,
            left,
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call.",
        )),
        Some(_) => Ok(left),
    }
}

fn correlation(a: &Account) -> String {
    format!(
        "00000000-0000-4000-8000-{:012x}",
        a.served.load(Ordering::Relaxed)
    )
}

fn headers(a: &Account, left: u32, mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("x-hubspot-ratelimit-max", a.limit.limit().into());
    h.insert("x-hubspot-ratelimit-remaining", left.into());
    h.insert("x-hubspot-ratelimit-interval-milliseconds", 10_000.into());
    r
}

fn error(a: &Account, left: u32, status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    headers(a, left, kit::reply(status, vec![], body))
}

fn fail(a: &Account, left: u32, status: u16, category: &str, message: &str) -> Response {
    let body = json!({"status": "error", "message": message, "correlationId": correlation(a),
        "category": category});
    error(a, left, status, body)
}

fn respond(a: &Account, left: u32, out: Answer) -> Response {
    match out {
        Ok((StatusCode::NO_CONTENT, _)) => headers(a, left, StatusCode::NO_CONTENT.into_response()),
        Ok((status, body)) => headers(a, left, (status, Json(body)).into_response()),
        Err(r) => r,
    }
}

async fn list(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let left = match gate(&a, &h, Some(READ)) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let limit = get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let after = get("after").and_then(|c| c.parse::<u64>().ok());
    let users = a.users.lock().unwrap();
    let mut rows: Vec<&User> = users.iter().collect();
    rows.sort_by_key(|u| u.id);
    let (page, next) = kit::page_after(&rows, |u| u.id, after.as_ref(), limit);
    let base = a.base_url.lock().unwrap().clone();
    let mut body = json!({ "results": page.iter().map(|u| u.json()).collect::<Vec<_>>() });
    if let Some(n) = next {
        let link = format!("{base}/settings/v3/users/?limit={limit}&after={n}");
        body["paging"] = json!({ "next": { "after": n.to_string(), "link": link } });
    }
    respond(&a, left, Ok((StatusCode::OK, body)))
}

async fn roles_list(State(a): State<Arc<Account>>, h: HeaderMap) -> Response {
    let left = match gate(&a, &h, Some(READ)) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let results: Vec<Value> = a
        .roles
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name, "requiresBillingWrite": false}))
        .collect();
    respond(
        &a,
        left,
        Ok((StatusCode::OK, json!({ "results": results }))),
    )
}

/// The index of the user `key` names (an id, or an address with `idProperty=EMAIL`).
fn find(users: &[User], key: &str, q: &[(String, String)]) -> Option<usize> {
    let by_email = q.iter().any(|(k, v)| k == "idProperty" && v == "EMAIL");
    users.iter().position(|u| match by_email {
        true => u.email.eq_ignore_ascii_case(key),
        false => u.id.to_string() == key,
    })
}

async fn show(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(key): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let left = match gate(&a, &h, Some(READ)) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let users = a.users.lock().unwrap();
    let out = match find(&users, &key, &q) {
        Some(i) => Ok((StatusCode::OK, users[i].json())),
        None => Err(fail(&a, left, 404, "OBJECT_NOT_FOUND", "User not found")),
    };
    respond(&a, left, out)
}

/// `Ok(role)` for a role id of the account (or `null`/absent: none).
fn role_of(a: &Account, v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(id) if a.roles.iter().any(|(r, _)| r == id) => Ok(Some(id.clone())),
        other => Err(format!("Role {other} does not exist in this account")),
    }
}

async fn create(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let left = match gate(&a, &h, Some(WRITE)) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let email = b["email"].as_str().unwrap_or("").trim().to_lowercase();
    if !email.contains('@') || b["sendWelcomeEmail"].as_bool().is_none() {
        let says = "email and sendWelcomeEmail are required";
        return fail(&a, left, 400, "VALIDATION_ERROR", says);
    }
    let role_id = match role_of(&a, &b["roleId"]) {
        Ok(r) => r,
        Err(says) => return fail(&a, left, 400, "VALIDATION_ERROR", &says),
    };
    let mut users = a.users.lock().unwrap();
    if users.iter().any(|u| u.email == email) {
        let says = format!("A user with the email {email} already exists");
        return fail(&a, left, 409, "CONFLICT", &says);
    }
    let text = |k: &str| b[k].as_str().unwrap_or("").to_owned();
    let made = User {
        id: a.next_id.fetch_add(1, Ordering::Relaxed),
        email,
        first: text("firstName"),
        last: text("lastName"),
        role_id,
        super_admin: false,
    };
    let mut out = made.json();
    out["sendWelcomeEmail"] = b["sendWelcomeEmail"].clone();
    users.push(made);
    respond(&a, left, Ok((StatusCode::CREATED, out)))
}

async fn update(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(key): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    body: Option<Json<Value>>,
) -> Response {
    let left = match gate(&a, &h, Some(WRITE)) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let mut users = a.users.lock().unwrap();
    let Some(i) = find(&users, &key, &q) else {
        return fail(&a, left, 404, "OBJECT_NOT_FOUND", "User not found");
    };
    if let Some(v) = b.get("roleId") {
        match role_of(&a, v) {
            Ok(r) => users[i].role_id = r,
            Err(says) => return fail(&a, left, 400, "VALIDATION_ERROR", &says),
        }
    }
    for (k, field) in [("firstName", 0), ("lastName", 1)] {
        if let Some(t) = b[k].as_str() {
            match field {
                0 => users[i].first = t.to_owned(),
                _ => users[i].last = t.to_owned(),
            }
        }
    }
    respond(&a, left, Ok((StatusCode::OK, users[i].json())))
}

async fn remove(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(key): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let left = match gate(&a, &h, Some(WRITE)) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let mut users = a.users.lock().unwrap();
    let out = match find(&users, &key, &q) {
        Some(i) => {
            users.remove(i);
            Ok((StatusCode::NO_CONTENT, Value::Null))
        }
        None => Err(fail(&a, left, 404, "OBJECT_NOT_FOUND", "User not found")),
    };
    respond(&a, left, out)
}

async fn token_info(State(a): State<Arc<Account>>, body: Option<Json<Value>>) -> Response {
    let left = match gate(&a, &HeaderMap::new(), None) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let key = body.and_then(|Json(b)| b["tokenKey"].as_str().map(str::to_owned));
    let out = match a.tokens.iter().find(|(t, _, _)| Some(t) == key.as_ref()) {
        Some((_, user, scopes)) => Ok((
            StatusCode::OK,
            json!({"userId": user, "hubId": 4242,
            "appId": 77, "scopes": scopes}),
        )),
        None => Err(fail(&a, left, 404, "OBJECT_NOT_FOUND", "Token not found")),
    };
    respond(&a, left, out)
}
