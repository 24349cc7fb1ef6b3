//! **A stand-in for Pipedrive's API v1 (Users and PermissionSets), not Pipedrive.** It serves
//! the endpoints the `pipedrive` connector uses, in Pipedrive's shapes, from memory, one company
//! per [`Pipedrive`], under `/api/v1` (as `https://<company>.pipedrive.com/api/v1`):
//!
//! - `GET /users`: every user of the company in one answer (`{"success": true, "data": […]}`;
//!   Pipedrive documents no paging for it).
//! - `GET /users/me`: the caller, with `company_id`, `company_name`, `company_domain`.
//! - `GET /users/find?term=…&search_by_email=1`: users whose address (or, without
//!   `search_by_email`, name) contains the term, any case; `data: null` for none.
//! - `GET /users/{id}`, `POST /users` (`email`, `access: [{app, admin, permission_set_id}]`,
//!   `active_flag`), `PUT /users/{id}` (`active_flag` only: the reference says nothing else can
//!   be updated, so any other field is ignored).
//! - `GET /permissionSets?app=…`: `id`, `name`, `description`, `app`, `type`,
//!   `assignment_count`.
//!
//! Users carry `access` (`sales` the Deals app, `global`, `account_settings`), `active_flag`,
//! `activated` (false until the invitee accepts, which the stand-in never does by itself),
//! `is_deleted`, `is_you`. Authentication: the API token in the `x-api-token` header, or an OAuth
//! access token (Bearer); a missing or wrong one is 401 `{"success": false, "error":
//! "unauthorized access", "errorCode": 401, "error_info"}`. Only users with `account_settings`
//! access may add or change users (403 otherwise). Errors are `{"success": false, "error",
//! "error_info", "data": null, "additional_data": null}`: 404 `User not found`, 400 for an
//! invalid address, an unknown app or permission set, or a `PUT` without `active_flag`. Every
//! answer carries `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset` for a
//! 2-second window; past the limit, 429 with those headers (no `Retry-After`).
//!
//! The stand-in's own choices: a token in the `api_token` query parameter is refused with 401
//! and counted ([`Pipedrive::query_tokens`]), so a connector that puts it in URLs fails; adding
//! an address that is a user already answers that user unchanged (what One Identity's
//! Pipedrive connector documents of the real API); an `access` item with neither `admin` nor
//! `permission_set_id` gets the app's regular set; a new user's name is their address (the
//! changelog: the name "can initially be filled by the provided e-mail address"); the wording
//! of the 403, 400 and 429 messages. Not modelled: the token-cost daily budget, visibility
//! groups, teams, roles (`/roles`), deletion, `x-daily-requests-left`. Pages followed:
//! - Users: <https://developers.pipedrive.com/docs/api/v1/Users>
//! - Permission sets: <https://developers.pipedrive.com/docs/api/v1/PermissionSets>
//! - Authentication: <https://pipedrive.readme.io/docs/core-api-concepts-authentication>
//! - Rate limiting: <https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting>
//! - `access` and the removal of `name` and `is_admin`:
//!   <https://developers.pipedrive.com/changelog/post/improvements-to-permissionsets-api-and-users-api>,
//!   <https://developers.pipedrive.com/changelog/post/removal-of-fields-from-users-api>
//! - Duplicate users: <https://support.oneidentity.com/technical-documents/starling-connect/hosted/one-identity-manager-administration-guide/27>

// Handlers answer a refusal as the `Err` of a `Result` (axum's `Response`, large but built once
// a request).
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests per 2-second window before 429 (Pipedrive's Enterprise api_token limit).
pub const DEFAULT_LIMIT: u32 = 120;
/// The Deals app's built-in admin permission set.
pub const SALES_ADMIN: &str = "5e2b0a6c-1d3f-4a71-9c52-0d4e8a1b7c01";
/// The Deals app's built-in regular permission set (the default access).
pub const SALES_REGULAR: &str = "5e2b0a6c-1d3f-4a71-9c52-0d4e8a1b7c02";
/// A custom Deals app permission set, "Closer".
pub const SALES_CUSTOM: &str = "5e2b0a6c-1d3f-4a71-9c52-0d4e8a1b7c03";
const INFO: &str =
    "Please check developers.pipedrive.com for more information about Pipedrive API.";

/// `(id, name, app, type)` of the company's permission sets.
const SETS: [(&str, &str, &str, &str); 6] = [
    (SALES_ADMIN, "Deals admin", "sales", "admin"),
    (SALES_REGULAR, "Regular user", "sales", "regular"),
    (SALES_CUSTOM, "Closer", "sales", "custom"),
    (
        "5e2b0a6c-1d3f-4a71-9c52-0d4e8a1b7c11",
        "Global admin",
        "global",
        "admin",
    ),
    (
        "5e2b0a6c-1d3f-4a71-9c52-0d4e8a1b7c12",
        "Regular user",
        "global",
        "regular",
    ),
    (
        "5e2b0a6c-1d3f-4a71-9c52-0d4e8a1b7c21",
        "Account settings",
        "account_settings",
        "admin",
    ),
];

/// A running stand-in of one Pipedrive company: its base URL (with `/api/v1`), a user with
/// account settings access (the automation account) and a regular user, with their API tokens,
/// and an OAuth access token of the first.
#[derive(Debug, Clone)]
pub struct Pipedrive {
    /// `http://127.0.0.1:<port>/api/v1`.
    pub base_url: String,
    /// The admin's API token.
    pub admin_token: String,
    /// The admin's user id.
    pub admin_id: u64,
    /// An OAuth access token of the admin (Bearer).
    pub oauth_token: String,
    /// A regular user's API token (Deals access, no account settings access).
    pub regular_token: String,
    company: Arc<Company>,
}

#[derive(Debug)]
struct Company {
    users: Mutex<Vec<User>>,
    next_id: AtomicU64,
    /// `(token, user id, an OAuth token)`: API tokens go in `x-api-token`, OAuth ones as Bearer.
    tokens: Vec<(String, u64, bool)>,
    limit: RateLimit,
    served: AtomicU64,
    query_tokens: AtomicU64,
}

#[derive(Debug, Clone)]
struct User {
    id: u64,
    name: String,
    email: String,
    /// `(app, permission set id)`.
    access: Vec<(String, String)>,
    active_flag: bool,
    activated: bool,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

/// The set of `app` with this `type`.
fn set_of(app: &str, kind: &str) -> Option<&'static str> {
    SETS.iter().find(|s| s.2 == app && s.3 == kind).map(|s| s.0)
}

impl Pipedrive {
    /// Starts a company with its admin and a regular user on a loopback port.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let (admin_token, oauth_token) = (format!("pd-admin-{n}"), format!("pd-oauth-{n}"));
        let regular_token = format!("pd-regular-{n}");
        let user = |id, name: &str, email: &str, sets: &[&str]| User {
            id,
            name: name.into(),
            email: email.into(),
            access: sets
                .iter()
                .filter_map(|id| SETS.iter().find(|s| s.0 == *id))
                .map(|s| (s.2.to_owned(), s.0.to_owned()))
                .collect(),
            active_flag: true,
            activated: true,
        };
        let admin_sets = [SALES_ADMIN, SETS[3].0, SETS[5].0];
        let company = Arc::new(Company {
            users: Mutex::new(vec![
                user(1, "Automation", "admin@standin.test", &admin_sets),
                user(
                    2,
                    "Regular",
                    "regular@standin.test",
                    &[SALES_REGULAR, SETS[4].0],
                ),
            ]),
            next_id: AtomicU64::new(1000),
            tokens: vec![
                (admin_token.clone(), 1, false),
                (oauth_token.clone(), 1, true),
                (regular_token.clone(), 2, false),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(2)),
            served: AtomicU64::new(0),
            query_tokens: AtomicU64::new(0),
        });
        let router = Router::new()
            .route("/api/v1/users", get(list).post(create))
            .route("/api/v1/users/me", get(me))
            .route("/api/v1/users/find", get(find))
            .route("/api/v1/users/{id}", get(show).put(update))
            .route("/api/v1/permissionSets", get(permission_sets))
            .with_state(company.clone());
        let base_url = format!("{}/api/v1", kit::spawn(router).base_url);
        Self {
            base_url,
            admin_token,
            admin_id: 1,
            oauth_token,
            regular_token,
            company,
        }
    }

    /// Makes sure a user with `email` exists who accepted their invitation, with the Deals
    /// permission set `sales_set` (e.g. [`SALES_REGULAR`]) and the global regular set, as an
    /// admin would in Pipedrive's own pages; returns its id.
    pub fn seed(&self, email: &str, name: &str, sales_set: &str) -> u64 {
        let mut users = self.company.users.lock().unwrap();
        if let Some(u) = users.iter().find(|u| u.email.eq_ignore_ascii_case(email)) {
            return u.id;
        }
        let id = self.company.next_id.fetch_add(1, Ordering::Relaxed);
        let global = set_of("global", "regular").unwrap_or_default();
        users.push(User {
            id,
            name: name.into(),
            email: email.to_lowercase(),
            access: vec![
                ("sales".into(), sales_set.into()),
                ("global".into(), global.into()),
            ],
            active_flag: true,
            activated: true,
        });
        id
    }

    /// The user `id` as the API shows it, `None` when there is none.
    pub fn user(&self, id: u64) -> Option<Value> {
        let users = self.company.users.lock().unwrap();
        users.iter().find(|u| u.id == id).map(|u| u.json(None))
    }

    /// Sets the requests allowed a 2-second window from now on (a new window starts).
    pub fn set_rate_limit(&self, per_window: u32) {
        self.company.limit.set_limit(per_window);
    }

    /// How many requests the stand-in answered (429s included).
    pub fn served(&self) -> u64 {
        self.company.served.load(Ordering::Relaxed)
    }

    /// How many requests carried a token in the `api_token` query parameter (all refused).
    pub fn query_tokens(&self) -> u64 {
        self.company.query_tokens.load(Ordering::Relaxed)
    }
}

impl User {
    fn json(&self, me: Option<u64>) -> Value {
        let access: Vec<Value> = self
            .access
            .iter()
            .map(|(app, set)| {
                let admin = SETS.iter().any(|s| s.0 == set && s.3 == "admin");
                json!({"app": app, "admin": admin, "permission_set_id": set})
            })
            .collect();
        json!({
            "id": self.id, "name": self.name, "email": self.email, "access": access,
            "active_flag": self.active_flag, "activated": self.activated,
            "is_deleted": false, "is_you": me == Some(self.id), "default_currency": "EUR",
            "locale": "en_US", "lang": 1, "phone": null, "timezone_name": "Europe/Tallinn",
            "created": "2024-01-01 00:00:00", "modified": null, "last_login": null,
            "icon_url": null, "role_id": 1, "has_created_company": self.id == 1,
        })
    }

    fn manages_users(&self) -> bool {
        self.access.iter().any(|(app, _)| app == "account_settings")
    }
}

/// The caller (by token) and the requests left in the window.
fn gate(c: &Company, h: &HeaderMap, q: &[(String, String)]) -> Result<(u32, User), Response> {
    c.served.fetch_add(1, Ordering::Relaxed);
    let left = match c.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(secs) => {
            let body = json!({"success": false, "error": "Request over limit", "errorCode": 429,
                "error_info": INFO, "data": null, "additional_data": null});
            let mut headers = limits(c, 0);
            headers.push(("x-ratelimit-reset", secs.to_string()));
            return Err(kit::reply(StatusCode::TOO_MANY_REQUESTS, headers, body));
        }
    };
    if q.iter().any(|(k, _)| k == "api_token") {
        c.query_tokens.fetch_add(1, Ordering::Relaxed);
        return Err(unauthorized(c, left));
    }
    let header = h.get("x-api-token").and_then(|v| v.to_str().ok());
    let presented = match (header, kit::bearer(h)) {
        (Some(t), _) => Some((t.to_owned(), false)),
        (None, Some(t)) => Some((t, true)),
        (None, None) => None,
    };
    let id = presented.and_then(|(t, oauth)| {
        let known = c.tokens.iter().find(|(k, _, o)| *k == t && *o == oauth);
        known.map(|(_, id, _)| *id)
    });
    let users = c.users.lock().unwrap();
    match id.and_then(|id| users.iter().find(|u| u.id == id && u.active_flag)) {
        Some(u) => Ok((left, u.clone())),
        None => Err(unauthorized(c, left)),
    }
}

/// The caller, who must have account settings access (user management).
fn manager(c: &Company, h: &HeaderMap, q: &[(String, String)]) -> Result<u32, Response> {
    let (left, who) = gate(c, h, q)?;
    match who.manages_users() {
        true => Ok(left),
        false => Err(error(
            c,
            left,
            403,
            "You do not have permission to manage users.",
        )),
    }
}

fn limits(c: &Company, left: u32) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", c.limit.limit().to_string()),
        ("x-ratelimit-remaining", left.to_string()),
    ]
}

fn ok(c: &Company, left: u32, status: StatusCode, data: Value) -> Response {
    let mut headers = limits(c, left);
    headers.push(("x-ratelimit-reset", "2".to_owned()));
    kit::reply(status, headers, json!({"success": true, "data": data}))
}

fn error(c: &Company, left: u32, status: u16, says: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({"success": false, "error": says, "error_info": INFO, "data": null,
        "additional_data": null});
    kit::reply(status, limits(c, left), body)
}

fn unauthorized(c: &Company, left: u32) -> Response {
    let body = json!({"success": false, "error": "unauthorized access", "errorCode": 401,
        "error_info": INFO});
    kit::reply(StatusCode::UNAUTHORIZED, limits(c, left), body)
}

type Q = Query<Vec<(String, String)>>;
/// A handler's answer: an error answer is the `Err` (a refused caller, a bad request).
type Answer = Result<Response, Response>;

fn param<'q>(q: &'q [(String, String)], k: &str) -> Option<&'q str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

async fn list(State(c): State<Arc<Company>>, h: HeaderMap, Query(q): Q) -> Answer {
    let (left, who) = gate(&c, &h, &q)?;
    let users = c.users.lock().unwrap();
    let all: Vec<Value> = users.iter().map(|u| u.json(Some(who.id))).collect();
    Ok(ok(&c, left, StatusCode::OK, json!(all)))
}

async fn me(State(c): State<Arc<Company>>, h: HeaderMap, Query(q): Q) -> Answer {
    let (left, who) = gate(&c, &h, &q)?;
    let mut v = who.json(Some(who.id));
    v["company_id"] = json!(77);
    v["company_name"] = json!("Stand-in Ltd");
    v["company_domain"] = json!("standin");
    Ok(ok(&c, left, StatusCode::OK, v))
}

async fn find(State(c): State<Arc<Company>>, h: HeaderMap, Query(q): Q) -> Answer {
    let (left, who) = gate(&c, &h, &q)?;
    let term = param(&q, "term").unwrap_or("").trim().to_lowercase();
    if term.is_empty() {
        return Err(error(&c, left, 400, "term is required"));
    }
    let by_email = param(&q, "search_by_email") == Some("1");
    let users = c.users.lock().unwrap();
    let hits: Vec<Value> = users
        .iter()
        .filter(|u| match by_email {
            true => u.email.contains(&term),
            false => u.name.to_lowercase().contains(&term),
        })
        .map(|u| u.json(Some(who.id)))
        .collect();
    let data = if hits.is_empty() {
        Value::Null
    } else {
        json!(hits)
    };
    Ok(ok(&c, left, StatusCode::OK, data))
}

async fn show(
    State(c): State<Arc<Company>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Answer {
    let (left, who) = gate(&c, &h, &q)?;
    let users = c.users.lock().unwrap();
    match users.iter().find(|u| u.id.to_string() == id) {
        Some(u) => Ok(ok(&c, left, StatusCode::OK, u.json(Some(who.id)))),
        None => Err(error(&c, left, 404, "User not found")),
    }
}

/// The `(app, set)` pairs of a `POST /users` body's `access`.
fn access_of(body: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(items) = body.get("access").and_then(Value::as_array) else {
        let sales = set_of("sales", "regular").unwrap_or_default();
        let global = set_of("global", "regular").unwrap_or_default();
        return Ok(vec![
            ("sales".into(), sales.into()),
            ("global".into(), global.into()),
        ]);
    };
    let mut out = Vec::new();
    for item in items {
        let app = item["app"].as_str().unwrap_or("");
        if !SETS.iter().any(|s| s.2 == app) {
            return Err(format!("Unknown app: {app:?}"));
        }
        let set = match (item["permission_set_id"].as_str(), item["admin"].as_bool()) {
            (Some(id), _) => SETS.iter().find(|s| s.0 == id && s.2 == app).map(|s| s.0),
            (None, Some(true)) => set_of(app, "admin"),
            (None, _) => set_of(app, "regular").or(set_of(app, "admin")),
        };
        match set {
            Some(set) => out.push((app.to_owned(), set.to_owned())),
            None => return Err(format!("Permission set not found for app {app}")),
        }
    }
    Ok(out)
}

async fn create(
    State(c): State<Arc<Company>>,
    h: HeaderMap,
    Query(q): Q,
    body: Option<Json<Value>>,
) -> Answer {
    let left = manager(&c, &h, &q)?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let email = body["email"].as_str().unwrap_or("").trim().to_lowercase();
    let valid = email
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if !valid || email.contains(char::is_whitespace) {
        return Err(error(&c, left, 400, "Invalid email address"));
    }
    let access = access_of(&body).map_err(|says| error(&c, left, 400, &says))?;
    let mut users = c.users.lock().unwrap();
    if let Some(u) = users.iter().find(|u| u.email == email) {
        return Ok(ok(&c, left, StatusCode::OK, u.json(None)));
    }
    let made = User {
        id: c.next_id.fetch_add(1, Ordering::Relaxed),
        name: email.clone(),
        email,
        access,
        active_flag: body["active_flag"].as_bool().unwrap_or(true),
        activated: false,
    };
    let v = made.json(None);
    users.push(made);
    Ok(ok(&c, left, StatusCode::CREATED, v))
}

async fn update(
    State(c): State<Arc<Company>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
    body: Option<Json<Value>>,
) -> Answer {
    let left = manager(&c, &h, &q)?;
    let Some(on) = body.and_then(|Json(b)| b["active_flag"].as_bool()) else {
        return Err(error(&c, left, 400, "active_flag is required"));
    };
    let mut users = c.users.lock().unwrap();
    match users.iter_mut().find(|u| u.id.to_string() == id) {
        Some(u) => {
            u.active_flag = on;
            Ok(ok(&c, left, StatusCode::OK, u.json(None)))
        }
        None => Err(error(&c, left, 404, "User not found")),
    }
}

async fn permission_sets(State(c): State<Arc<Company>>, h: HeaderMap, Query(q): Q) -> Answer {
    let (left, _) = gate(&c, &h, &q)?;
    let app = param(&q, "app");
    let users = c.users.lock().unwrap();
    let sets: Vec<Value> = SETS
        .iter()
        .filter(|s| app.is_none_or(|a| a == s.2))
        .map(|(id, name, app, kind)| {
            let count = users.iter().filter(|u| u.access.iter().any(|a| a.1 == *id));
            json!({"id": id, "name": name, "app": app, "type": kind,
                "description": format!("{name} ({app})"), "assignment_count": count.count()})
        })
        .collect();
    Ok(ok(&c, left, StatusCode::OK, json!(sets)))
}
