//! **A stand-in for Zendesk Support's Users API, not Zendesk.** It serves the endpoints the
//! `zendesk` connector uses, in Zendesk's shapes, from memory, one account per [`Zendesk`]:
//!
//! - `GET /api/v2/users/me`: the caller; the anonymous user (`id: null`, `end-user`) without
//!   credentials.
//! - `GET /api/v2/users?role[]=…&page[size]=…&page[after]=…`: cursor pagination (`page[size]`
//!   at most 100; `meta.has_more`, `meta.after_cursor`, `meta.before_cursor`, `links.next`,
//!   `links.prev`), users by id.
//! - `GET /api/v2/users/search?query=…`: `email:<addr>` matches the address exactly (any case);
//!   other text matches part of a name or address (`users`, `next_page`, `count`).
//! - `GET /api/v2/users/{id}`, `POST /api/v2/users`, `PUT /api/v2/users/{id}` with
//!   `{"user": {…}}` (`name`, `email`, `role`; `role`, `suspended`).
//!
//! Authentication: HTTP Basic `{email}/token:{api_token}`, or an OAuth token (Bearer); a wrong
//! one is 401 `{"error": "Couldn't authenticate you"}`. Agents may read users; only admins may
//! create or change agents and admins (403 `{"error": {"title": "Forbidden", …}}`). Errors are
//! `{"error", "description", "details"}`: 404 `RecordNotFound`, 422 `RecordInvalid` with
//! `details.<field>[].error` (`DuplicateValue` for a taken address, `InvalidValue`,
//! `BlankValue`), 400 `InvalidPaginationParameter`. Every answer carries `X-Rate-Limit` and
//! `X-Rate-Limit-Remaining`; past the per-minute limit, 429 with `Retry-After` (seconds) and a
//! plain-text body. New users are `verified: false` (they have not set a password yet).
//!
//! Not modelled: deletion, custom roles, organizations, identities, offset pagination, the
//! search syntax beyond `email:`. Pages followed:
//! - Users: <https://developer.zendesk.com/api-reference/ticketing/users/users/>
//! - Cursor pagination:
//!   <https://developer.zendesk.com/documentation/api-basics/pagination/paginating-through-lists-using-cursor-pagination>
//! - Rate limits: <https://developer.zendesk.com/api-reference/introduction/rate-limits/>
//! - Authentication: <https://support.zendesk.com/hc/en-us/articles/4408831452954>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests a minute before 429 unless a test sets another limit (Zendesk Suite
/// Enterprise Plus; the stand-in's suites stay under it).
pub const DEFAULT_LIMIT: u32 = 2500;
const MAX_PAGE: usize = 100;

/// A running stand-in of one Zendesk account: its base URL, its admin (the automation account)
/// and an agent (signs in, may not manage agents), with their API tokens and an OAuth token of
/// the admin.
#[derive(Debug, Clone)]
pub struct Zendesk {
    /// `http://127.0.0.1:<port>`, where `/api/v2/…` is served.
    pub base_url: String,
    /// The admin's email (the username of its API token).
    pub admin_email: String,
    /// The admin's API token.
    pub admin_token: String,
    /// The admin's user id.
    pub admin_id: u64,
    /// An OAuth access token of the admin (Bearer).
    pub oauth_token: String,
    /// An agent's email.
    pub agent_email: String,
    /// The agent's API token.
    pub agent_token: String,
    account: Arc<Account>,
}

#[derive(Debug)]
struct Account {
    users: Mutex<Vec<User>>,
    next_id: AtomicU64,
    /// `(email, API token or OAuth token, user id)`; an OAuth token has no email.
    tokens: Vec<(Option<String>, String, u64)>,
    limit: RateLimit,
    served: AtomicU64,
    base_url: Mutex<String>,
}

#[derive(Debug, Clone)]
struct User {
    id: u64,
    name: String,
    email: String,
    role: String,
    suspended: bool,
    verified: bool,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl Zendesk {
    /// Starts an account with its admin and an agent on a loopback port.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let (admin_email, agent_email) = ("admin@standin.test", "agent@standin.test");
        let admin_token = format!("zd-admin-token-{n}");
        let oauth_token = format!("zd-oauth-token-{n}");
        let agent_token = format!("zd-agent-token-{n}");
        let user = |id, name: &str, email: &str, role: &str| User {
            id,
            name: name.into(),
            email: email.into(),
            role: role.into(),
            suspended: false,
            verified: true,
        };
        let account = Arc::new(Account {
            users: Mutex::new(vec![
                user(1, "Automation", admin_email, "admin"),
                user(2, "Agent", agent_email, "agent"),
            ]),
            next_id: AtomicU64::new(1000),
            tokens: vec![
                (Some(admin_email.into()), admin_token.clone(), 1),
                (None, oauth_token.clone(), 1),
                (Some(agent_email.into()), agent_token.clone(), 2),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            served: AtomicU64::new(0),
            base_url: Mutex::new(String::new()),
        });
        let router = Router::new()
            .route("/api/v2/users/me", get(me))
            .route("/api/v2/users/search", get(search))
            .route("/api/v2/users", get(list).post(create))
            .route("/api/v2/users/{id}", get(show).put(update))
            .with_state(account.clone());
        let base_url = kit::spawn(router).base_url;
        *account.base_url.lock().unwrap() = base_url.clone();
        Self {
            base_url,
            admin_email: admin_email.into(),
            admin_token,
            admin_id: 1,
            oauth_token,
            agent_email: agent_email.into(),
            agent_token,
            account,
        }
    }

    /// Makes sure a verified user with `email` exists, with `role` (`agent`, `admin`,
    /// `end-user`), as an admin would in Zendesk's own pages; returns its id.
    pub fn seed(&self, email: &str, name: &str, role: &str) -> u64 {
        let mut users = self.account.users.lock().unwrap();
        if let Some(u) = users.iter().find(|u| u.email.eq_ignore_ascii_case(email)) {
            return u.id;
        }
        let id = self.account.next_id.fetch_add(1, Ordering::Relaxed);
        users.push(User {
            id,
            name: name.into(),
            email: email.to_lowercase(),
            role: role.into(),
            suspended: false,
            verified: true,
        });
        id
    }

    /// The user `id` as the API shows it, `None` when there is none.
    pub fn user(&self, id: u64) -> Option<Value> {
        let base = self.base_url.clone();
        let users = self.account.users.lock().unwrap();
        users.iter().find(|u| u.id == id).map(|u| u.json(&base))
    }

    /// Sets the requests allowed a minute from now on (a new window starts).
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.account.limit.set_limit(per_minute);
    }

    /// How many requests the stand-in answered (429s included).
    pub fn served(&self) -> u64 {
        self.account.served.load(Ordering::Relaxed)
    }
}

impl User {
    fn json(&self, base: &str) -> Value {
        json!({
            "id": self.id,
            "url": format!("{base}/api/v2/users/{}.json", self.id),
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "role_type": null,
            "custom_role_id": null,
            "active": true,
            "suspended": self.suspended,
            "verified": self.verified,
            "restricted_agent": self.role == "agent",
            "created_at": "2024-01-01T00:00:00Z",
        })
    }
}

/// An answer with the rate-limit headers.
type Answer = Result<(u32, Value, StatusCode), Response>;

/// Counts the request against the budget and finds the caller: `Ok(None)` without credentials.
fn gate(a: &Account, h: &HeaderMap) -> Result<(u32, Option<User>), Response> {
    a.served.fetch_add(1, Ordering::Relaxed);
    let left = match a.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(secs) => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                "Number of allowed API requests per minute exceeded",
            )
                .into_response();
            let headers = [
                ("retry-after", secs.to_string()),
                ("x-rate-limit", a.limit.limit().to_string()),
                ("x-rate-limit-remaining", "0".to_owned()),
            ];
            for (k, v) in headers {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            return Err(r);
        }
    };
    // Basic `{email}/token:{token}` for API tokens, Bearer for OAuth tokens (no email).
    let presented = match (kit::basic(h), kit::bearer(h)) {
        (Some((user, pass)), _) => Some((user.strip_suffix("/token").map(str::to_lowercase), pass)),
        (None, Some(token)) => Some((None, token)),
        (None, None) => None,
    };
    let id = match presented {
        None => None,
        Some((email, token)) => {
            match a.tokens.iter().find(|(e, t, _)| *t == token && *e == email) {
                Some((_, _, id)) => Some(*id),
                None => {
                    let body = json!({"error": "Couldn't authenticate you"});
                    return Err(error(a, left, 401, body));
                }
            }
        }
    };
    let users = a.users.lock().unwrap();
    Ok((
        left,
        id.and_then(|id| users.iter().find(|u| u.id == id).cloned()),
    ))
}

/// The caller, who must be signed in (and an admin when `admin`).
fn caller(a: &Account, h: &HeaderMap, admin: bool) -> Result<u32, Response> {
    let (left, who) = gate(a, h)?;
    match who {
        None => Err(error(
            a,
            left,
            401,
            json!({"error": "Couldn't authenticate you"}),
        )),
        Some(u) if admin && u.role != "admin" => Err(error(
            a,
            left,
            403,
            json!({"error": {"title": "Forbidden", "message": "You do not have access to this \
                page. Please contact the account owner of this help desk for further help."}}),
        )),
        Some(_) => Ok(left),
    }
}

fn respond(a: &Account, out: Answer) -> Response {
    match out {
        Ok((left, body, status)) => with_limits(a, left, (status, Json(body)).into_response()),
        Err(r) => r,
    }
}

fn with_limits(a: &Account, left: u32, mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("x-rate-limit", a.limit.limit().into());
    h.insert("x-rate-limit-remaining", left.into());
    r
}

fn error(a: &Account, left: u32, status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    with_limits(a, left, kit::reply(status, vec![], body))
}

fn not_found(a: &Account, left: u32) -> Response {
    error(
        a,
        left,
        404,
        json!({"error": "RecordNotFound", "description": "Not found"}),
    )
}

fn invalid(a: &Account, left: u32, field: &str, code: &str, says: &str) -> Response {
    let details = json!({ field: [{ "description": says, "error": code }] });
    let body = json!({"error": "RecordInvalid", "description": "Record validation errors",
        "details": details});
    error(a, left, 422, body)
}

fn base(a: &Account) -> String {
    a.base_url.lock().unwrap().clone()
}

async fn me(State(a): State<Arc<Account>>, h: HeaderMap) -> Response {
    let out = gate(&a, &h).map(|(left, who)| {
        let user = match who {
            Some(u) => u.json(&base(&a)),
            None => json!({"id": null, "url": null, "name": "Anonymous user", "email": null,
                "role": "end-user", "active": true, "verified": false}),
        };
        (left, json!({ "user": user }), StatusCode::OK)
    });
    respond(&a, out)
}

async fn list(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let out = caller(&a, &h, false).and_then(|left| {
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let roles: Vec<&str> = q
            .iter()
            .filter(|(k, _)| k == "role[]" || k == "role")
            .map(|(_, v)| v.as_str())
            .collect();
        let size = match get("page[size]").map(str::parse::<usize>) {
            None => MAX_PAGE,
            Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
            Some(_) => {
                let body = json!({"error": "InvalidPaginationParameter",
                    "description": format!("page[size] must be a number from 1 to {MAX_PAGE}")});
                return Err(error(&a, left, 400, body));
            }
        };
        let after = match get("page[after]").map(decode_cursor) {
            None => None,
            Some(Some(id)) => Some(id),
            Some(None) => {
                let body = json!({"error": "InvalidPaginationParameter",
                    "description": "page[after] is not a valid cursor"});
                return Err(error(&a, left, 400, body));
            }
        };
        let users = a.users.lock().unwrap();
        let mut rows: Vec<&User> = users
            .iter()
            .filter(|u| roles.is_empty() || roles.contains(&u.role.as_str()))
            .collect();
        rows.sort_by_key(|u| u.id);
        let (page, next) = kit::page_after(&rows, |u| u.id, after.as_ref(), size);
        let base = base(&a);
        let link = |cursor: String, dir: &str| {
            let roles: String = roles.iter().map(|r| format!("&role%5B%5D={r}")).collect();
            format!(
                "{base}/api/v2/users.json?page%5B{dir}%5D={cursor}&page%5Bsize%5D={size}{roles}"
            )
        };
        let after_cursor = page.last().map(|u| encode_cursor(u.id));
        let before_cursor = page.first().map(|u| encode_cursor(u.id));
        let body = json!({
            "users": page.iter().map(|u| u.json(&base)).collect::<Vec<_>>(),
            "meta": {"has_more": next.is_some(), "after_cursor": after_cursor,
                "before_cursor": before_cursor},
            "links": {
                "next": next.map(|_| link(after_cursor.clone().unwrap_or_default(), "after")),
                "prev": before_cursor.map(|c| link(c, "before")),
            },
        });
        Ok((left, body, StatusCode::OK))
    });
    respond(&a, out)
}

/// Opaque cursors, as Zendesk's are: the id behind a prefix, hex-encoded.
fn encode_cursor(id: u64) -> String {
    format!("{:x}", u128::from(id) | (0x5a_u128 << 64))
}

fn decode_cursor(c: &str) -> Option<u64> {
    let n = u128::from_str_radix(c, 16).ok()?;
    (n >> 64 == 0x5a).then_some(n as u64)
}

async fn search(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let out = caller(&a, &h, false).map(|left| {
        let query = q
            .iter()
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v.trim().to_lowercase())
            .unwrap_or_default();
        let users = a.users.lock().unwrap();
        let hits: Vec<Value> = users
            .iter()
            .filter(|u| match query.strip_prefix("email:") {
                Some(e) => u.email.eq_ignore_ascii_case(e.trim().trim_matches('"')),
                None => {
                    !query.is_empty()
                        && (u.email.contains(&query) || u.name.to_lowercase().contains(&query))
                }
            })
            .map(|u| u.json(&base(&a)))
            .collect();
        let count = hits.len();
        let body = json!({"users": hits, "next_page": null, "previous_page": null,
            "count": count});
        (left, body, StatusCode::OK)
    });
    respond(&a, out)
}

async fn show(State(a): State<Arc<Account>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let out = caller(&a, &h, false).and_then(|left| {
        let users = a.users.lock().unwrap();
        let id = id.trim_end_matches(".json");
        match users.iter().find(|u| u.id.to_string() == id) {
            Some(u) => Ok((left, json!({ "user": u.json(&base(&a)) }), StatusCode::OK)),
            None => Err(not_found(&a, left)),
        }
    });
    respond(&a, out)
}

const ROLES: [&str; 3] = ["end-user", "agent", "admin"];

async fn create(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let out = caller(&a, &h, true).and_then(|left| {
        let u = body.map(|Json(b)| b["user"].clone()).unwrap_or_default();
        let text = |k: &str| u[k].as_str().unwrap_or("").trim().to_owned();
        let (name, email, role) = (text("name"), text("email").to_lowercase(), text("role"));
        let role = if role.is_empty() {
            "end-user".to_owned()
        } else {
            role
        };
        if name.is_empty() {
            return Err(invalid(
                &a,
                left,
                "name",
                "BlankValue",
                "Name: cannot be blank",
            ));
        }
        if !ROLES.contains(&role.as_str()) {
            let says = format!("Role: {role} is not a valid role");
            return Err(invalid(&a, left, "role", "InvalidValue", &says));
        }
        let mut users = a.users.lock().unwrap();
        if !email.is_empty() && users.iter().any(|u| u.email == email) {
            let says = format!("Email: {email} is already being used by another user");
            return Err(invalid(&a, left, "email", "DuplicateValue", &says));
        }
        let id = a.next_id.fetch_add(1, Ordering::Relaxed);
        let made = User {
            id,
            name,
            email,
            role,
            suspended: false,
            verified: false,
        };
        let body = json!({ "user": made.json(&base(&a)) });
        users.push(made);
        Ok((left, body, StatusCode::CREATED))
    });
    respond(&a, out)
}

async fn update(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let out = caller(&a, &h, true).and_then(|left| {
        let fields = body.map(|Json(b)| b["user"].clone()).unwrap_or_default();
        let mut users = a.users.lock().unwrap();
        let id = id.trim_end_matches(".json");
        let Some(u) = users.iter_mut().find(|u| u.id.to_string() == id) else {
            return Err(not_found(&a, left));
        };
        if let Some(role) = fields["role"].as_str() {
            if !ROLES.contains(&role) {
                let says = format!("Role: {role} is not a valid role");
                return Err(invalid(&a, left, "role", "InvalidValue", &says));
            }
            u.role = role.to_owned();
        }
        if let Some(s) = fields["suspended"].as_bool() {
            u.suspended = s;
        }
        Ok((left, json!({ "user": u.json(&base(&a)) }), StatusCode::OK))
    });
    respond(&a, out)
}
