//! **A stand-in for Freshdesk's API v2 (agents, roles, contacts), not Freshdesk.** It serves the
//! endpoints the `freshdesk` connector uses, in Freshdesk's shapes, from memory, one account
//! per [`Freshdesk`], under `/api/v2`:
//!
//! - `GET /agents/me`; `GET /agents` (`page` from 1, `per_page` 1–100, default 30; `email`,
//!   `state` `fulltime`/`occasional`; a `Link: <…>; rel="next"` header while there is more);
//!   `GET|PUT|DELETE /agents/{id}`; `POST /agents` (`email`, `ticket_scope` 1–3, `role_ids`,
//!   `agent_type` 1–3, `occasional`, `name`).
//! - `GET /roles` (`id`, `name`, `description`, `default`): the default roles Account
//!   Administrator, Administrator, Supervisor and Agent, and a custom "Billing Specialist".
//! - `GET /contacts?email=`, `GET /contacts/{id}`, `PUT /contacts/{id}/make_agent`
//!   (`ticket_scope`, `role_ids`, `occasional`).
//!
//! HTTP Basic with an API key as username (any password): an Account Administrator's and an
//! Agent's. A wrong key is 401 `{"code": "invalid_credentials", "message"}`; writes to agents
//! and the roles ask for an Account Administrator or Administrator (403 `{"code":
//! "access_denied", "message"}`). Validation errors are 400 `{"description": "Validation
//! failed", "errors": [{"field", "message", "code"}]}` (`missing_field`, `invalid_value`), an
//! address an agent or contact holds 409 `duplicate_value`, a record it does not have 404
//! with no body. Deleting an agent makes them a contact (same id). Every answer carries
//! `X-RateLimit-Total`, `X-RateLimit-Remaining` and `X-RateLimit-Used-CurrentRequest`; past the
//! per-minute budget, 429 with `Retry-After` (seconds).
//!
//! The stand-in's choices where the reference is silent: agents and contacts share one id; an
//! agent may not change their own roles or delete themselves (400 `invalid_value`); the 429's
//! body (`{"code": "rate_limit_exceeded", "message"}`); `make_agent` answers the contact with
//! its `agent`; a converted contact who had activated their account before is active at once.
//! Not modelled: groups, skills, field agents' and collaborators' roles, the agent seat limit,
//! searches, deleted contacts. Pages followed:
//! - API v2 (authentication, pagination, rate limit, errors, agents, roles, contacts):
//!   <https://developers.freshdesk.com/api/>
//! - Agents: <https://developers.freshdesk.com/api/#agents>; roles:
//!   <https://developers.freshdesk.com/api/#roles>; make agent:
//!   <https://developers.freshdesk.com/api/#make_agent>

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
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests a minute before 429 unless a test sets another limit (above Freshdesk's plans, 700
/// at most, so the conformance suite runs at full speed).
pub const DEFAULT_LIMIT: u32 = 10_000;
const MAX_PAGE: usize = 100;
/// The account's roles: `(id, name, default)`.
const ROLES: [(u64, &str, bool); 5] = [
    (43_000_000_101, "Account Administrator", true),
    (43_000_000_102, "Administrator", true),
    (43_000_000_103, "Supervisor", true),
    (43_000_000_104, "Agent", true),
    (43_000_000_105, "Billing Specialist", false),
];

/// A running stand-in of one Freshdesk account: its base URL (the helpdesk's address) and the
/// API keys of its Account Administrator (the automation account) and of an Agent.
#[derive(Debug, Clone)]
pub struct Freshdesk {
    /// `http://127.0.0.1:<port>` (paths start with `/api/v2`).
    pub base_url: String,
    /// The Account Administrator's API key.
    pub admin_key: String,
    /// The Account Administrator's agent id.
    pub admin_id: String,
    /// An Agent's API key (may not manage agents).
    pub agent_key: String,
    desk: Arc<Desk>,
}

#[derive(Debug)]
struct Desk {
    users: Mutex<Vec<User>>,
    next_id: AtomicU64,
    /// `(API key, user id)`.
    keys: Vec<(String, u64)>,
    limit: RateLimit,
    served: AtomicU64,
    base_url: Mutex<String>,
}

/// A user: a contact, and an agent when `agent` is set.
#[derive(Debug, Clone)]
struct User {
    id: u64,
    name: String,
    email: String,
    /// Whether they activated their account (the contact's `active`).
    active: bool,
    agent: Option<Agent>,
}

#[derive(Debug, Clone)]
struct Agent {
    role_ids: Vec<u64>,
    ticket_scope: u64,
    occasional: bool,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl Freshdesk {
    /// Starts an account with its Account Administrator and an Agent.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let (admin_key, agent_key) = (format!("fd-admin-key-{n}"), format!("fd-agent-key-{n}"));
        let user = |id, name: &str, email: &str, role| User {
            id,
            name: name.into(),
            email: email.into(),
            active: true,
            agent: Some(Agent {
                role_ids: vec![role],
                ticket_scope: 1,
                occasional: false,
            }),
        };
        let desk = Arc::new(Desk {
            users: Mutex::new(vec![
                user(1, "Automation", "admin@standin.test", ROLES[0].0),
                user(2, "Agent", "agent@standin.test", ROLES[3].0),
            ]),
            next_id: AtomicU64::new(43_000_500_000),
            keys: vec![(admin_key.clone(), 1), (agent_key.clone(), 2)],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            served: AtomicU64::new(0),
            base_url: Mutex::new(String::new()),
        });
        let api = Router::new()
            .route("/agents/me", get(me))
            .route("/agents", get(list).post(create))
            .route("/agents/{id}", get(show).put(update).delete(remove))
            .route("/roles", get(roles))
            .route("/contacts", get(contacts))
            .route("/contacts/{id}", get(contact))
            .route("/contacts/{id}/make_agent", put(make_agent))
            .with_state(desk.clone());
        let base_url = kit::spawn(Router::new().nest("/api/v2", api)).base_url;
        *desk.base_url.lock().unwrap() = base_url.clone();
        Self {
            base_url,
            admin_key,
            admin_id: "1".into(),
            agent_key,
            desk,
        }
    }

    /// The id of the role named `name` (`Agent`, `Billing Specialist`…).
    pub fn role_id(name: &str) -> Option<u64> {
        ROLES.iter().find(|r| r.1 == name).map(|r| r.0)
    }

    /// Makes sure an activated agent with `email` exists, with the role named `role`, as an
    /// admin would in Freshdesk's own pages; returns its id.
    pub fn seed(&self, email: &str, name: &str, role: &str) -> u64 {
        let role_ids = Self::role_id(role).into_iter().collect();
        let agent = Agent {
            role_ids,
            ticket_scope: 1,
            occasional: false,
        };
        self.add(email, name, Some(agent))
    }

    /// Makes sure a contact (a customer) with `email` exists; returns its id.
    pub fn seed_contact(&self, email: &str, name: &str) -> u64 {
        self.add(email, name, None)
    }

    fn add(&self, email: &str, name: &str, agent: Option<Agent>) -> u64 {
        let mut users = self.desk.users.lock().unwrap();
        if let Some(u) = users.iter().find(|u| u.email.eq_ignore_ascii_case(email)) {
            return u.id;
        }
        let id = self.desk.next_id.fetch_add(1, Ordering::Relaxed);
        let email = email.to_lowercase();
        let (name, active) = (name.to_owned(), true);
        users.push(User {
            id,
            name,
            email,
            active,
            agent,
        });
        id
    }

    /// The agent `id` as the API shows it, `None` when there is no such agent.
    pub fn agent(&self, id: u64) -> Option<Value> {
        let users = self.desk.users.lock().unwrap();
        let u = users.iter().find(|u| u.id == id)?;
        u.agent.as_ref().map(|a| u.agent_json(a))
    }

    /// The contact `id` (not an agent), `None` when there is none.
    pub fn contact(&self, id: u64) -> Option<Value> {
        let users = self.desk.users.lock().unwrap();
        let u = users.iter().find(|u| u.id == id && u.agent.is_none())?;
        Some(u.contact_json())
    }

    /// Sets the requests allowed a minute from now on (a new window starts).
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.desk.limit.set_limit(per_minute);
    }

    /// How many requests the stand-in answered.
    pub fn served(&self) -> u64 {
        self.desk.served.load(Ordering::Relaxed)
    }
}

impl User {
    fn contact_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "email": self.email, "active": self.active,
            "deleted": false, "job_title": null, "language": "en", "phone": null,
            "mobile": null, "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z"})
    }

    fn agent_json(&self, a: &Agent) -> Value {
        json!({"id": self.id, "available": true, "occasional": a.occasional,
            "signature": null, "ticket_scope": a.ticket_scope, "group_ids": [],
            "role_ids": a.role_ids, "skill_ids": [], "type": "support_agent",
            "available_since": null, "focus_mode": true,
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "contact": {"active": self.active, "email": self.email, "name": self.name,
                "job_title": null, "language": "en", "mobile": null, "phone": null,
                "time_zone": "Eastern Time (US & Canada)"}})
    }
}

/// An answer's status and body (`Null`: none), or an early answer.
type Answer = Result<(StatusCode, Value), Response>;
type Q = Vec<(String, String)>;

fn param<'q>(q: &'q Q, k: &str) -> Option<&'q str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Freshdesk's validation error: one `errors[]` entry.
fn invalid(status: u16, field: &str, message: &str, code: &str) -> Response {
    let body = json!({"description": "Validation failed",
        "errors": [{"field": field, "message": message, "code": code}]});
    kit::reply(StatusCode::from_u16(status).unwrap(), vec![], body)
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// Counts the request and finds the calling agent by its API key; `admin`: it must be an
/// Account Administrator or Administrator. `Ok` with the requests left and the caller.
fn gate(d: &Desk, h: &HeaderMap, admin: bool) -> Result<(u32, User), Response> {
    d.served.fetch_add(1, Ordering::Relaxed);
    let left = match d.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(secs) => {
            let body = json!({"code": "rate_limit_exceeded",
                "message": "You have exceeded the limit of requests per minute"});
            let r = kit::reply(StatusCode::TOO_MANY_REQUESTS, vec![], body);
            let mut r = limits(d, 0, r);
            r.headers_mut().insert("retry-after", secs.into());
            return Err(r);
        }
    };
    let key = kit::basic(h).map(|(user, _)| user).unwrap_or_default();
    let users = d.users.lock().unwrap();
    let who = d.keys.iter().find(|(k, _)| *k == key);
    let Some(me) = who.and_then(|(_, id)| users.iter().find(|u| u.id == *id && u.agent.is_some()))
    else {
        let body = json!({"code": "invalid_credentials",
            "message": "You have to be logged in to perform this action."});
        return Err(limits(
            d,
            left,
            kit::reply(StatusCode::UNAUTHORIZED, vec![], body),
        ));
    };
    let roles = me
        .agent
        .as_ref()
        .map(|a| a.role_ids.clone())
        .unwrap_or_default();
    if admin && !roles.iter().any(|r| [ROLES[0].0, ROLES[1].0].contains(r)) {
        let body = json!({"code": "access_denied",
            "message": "You are not authorized to perform this action."});
        return Err(limits(
            d,
            left,
            kit::reply(StatusCode::FORBIDDEN, vec![], body),
        ));
    }
    Ok((left, me.clone()))
}

fn limits(d: &Desk, left: u32, mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("x-ratelimit-total", d.limit.limit().into());
    h.insert("x-ratelimit-remaining", left.into());
    h.insert("x-ratelimit-used-currentrequest", 1.into());
    r
}

fn respond(d: &Desk, left: u32, out: Answer) -> Response {
    match out {
        Ok((status, Value::Null)) => limits(d, left, status.into_response()),
        Ok((status, body)) => limits(d, left, (status, Json(body)).into_response()),
        Err(r) => limits(d, left, r),
    }
}

/// Runs `f` for a caller who passed the [`gate`].
fn call(d: &Desk, h: &HeaderMap, admin: bool, f: impl FnOnce(User) -> Answer) -> Response {
    match gate(d, h, admin) {
        Ok((left, me)) => respond(d, left, f(me)),
        Err(r) => r,
    }
}

async fn me(State(d): State<Arc<Desk>>, h: HeaderMap) -> Response {
    call(&d, &h, false, |me| {
        let a = me.agent.as_ref().ok_or_else(not_found)?;
        Ok((StatusCode::OK, me.agent_json(a)))
    })
}

async fn list(State(d): State<Arc<Desk>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    call(&d, &h, false, |_| {
        let number = |k: &str, default: usize| match param(&q, k) {
            None => Ok(default),
            Some(v) => v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or(()),
        };
        let per_page = number("per_page", 30).ok().filter(|n| *n <= MAX_PAGE);
        let Some(per_page) = per_page else {
            let says = "It should be a Positive Integer less than or equal to 100";
            return Err(invalid(400, "per_page", says, "invalid_value"));
        };
        let Ok(page) = number("page", 1) else {
            let says = "It should be a Positive Integer";
            return Err(invalid(400, "page", says, "invalid_value"));
        };
        let email = param(&q, "email").map(str::to_lowercase);
        let state = param(&q, "state");
        let users = d.users.lock().unwrap();
        let mut rows: Vec<(&User, &Agent)> = users
            .iter()
            .filter_map(|u| Some((u, u.agent.as_ref()?)))
            .filter(|(u, _)| email.as_ref().is_none_or(|e| u.email == *e))
            .filter(|(_, a)| state.is_none_or(|s| (s == "occasional") == a.occasional))
            .collect();
        rows.sort_by_key(|(u, _)| u.id);
        let from = (page - 1).saturating_mul(per_page);
        let body: Vec<Value> = rows
            .iter()
            .skip(from)
            .take(per_page)
            .map(|(u, a)| u.agent_json(a))
            .collect();
        // A page with its `Link` header: answered as it is (the early answer of `call`).
        let mut r = (StatusCode::OK, Json(json!(body))).into_response();
        if from + per_page < rows.len() {
            let base = d.base_url.lock().unwrap().clone();
            let mut query = format!("per_page={per_page}&page={}", page + 1);
            if let Some(e) = &email {
                query.push_str(&format!("&email={}", e.replace('@', "%40")));
            }
            let link = format!("<{base}/api/v2/agents?{query}>; rel=\"next\"");
            r.headers_mut().insert("link", link.parse().unwrap());
        }
        Err(r)
    })
}

async fn show(State(d): State<Arc<Desk>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    call(&d, &h, false, |_| {
        let users = d.users.lock().unwrap();
        let u = users.iter().find(|u| u.id.to_string() == id);
        let (u, a) = u
            .and_then(|u| Some((u, u.agent.as_ref()?)))
            .ok_or_else(not_found)?;
        Ok((StatusCode::OK, u.agent_json(a)))
    })
}

async fn roles(State(d): State<Arc<Desk>>, h: HeaderMap) -> Response {
    call(&d, &h, true, |_| {
        let all: Vec<Value> = ROLES
            .iter()
            .map(|(id, name, default)| {
                json!({"id": id, "name": name, "description": format!("The {name} role"),
                "default": default, "created_at": "2016-02-29T06:32:28Z",
                "updated_at": "2016-02-29T06:32:28Z"})
            })
            .collect();
        Ok((StatusCode::OK, json!(all)))
    })
}

/// `role_ids` as sent: at least one, each a role of the account.
fn role_ids(v: &Value) -> Result<Vec<u64>, Response> {
    let ids: Option<Vec<u64>> = v
        .as_array()
        .and_then(|a| a.iter().map(Value::as_u64).collect());
    match ids {
        Some(ids) if !ids.is_empty() && ids.iter().all(|i| ROLES.iter().any(|r| r.0 == *i)) => {
            Ok(ids)
        }
        _ => Err(invalid(
            400,
            "role_ids",
            "It should contain valid role ids",
            "invalid_value",
        )),
    }
}

/// The agent fields of a create, update or `make_agent` body over `was`.
fn agent_fields(b: &Value, was: Option<&Agent>, need_scope: bool) -> Result<Agent, Response> {
    let scope = match (&b["ticket_scope"], was) {
        (Value::Null, Some(a)) => a.ticket_scope,
        (Value::Null, None) if !need_scope => 1,
        (Value::Null, None) => {
            return Err(invalid(
                400,
                "ticket_scope",
                "It should be a/an Integer",
                "missing_field",
            ))
        }
        (v, _) => v.as_u64().filter(|s| (1..=3).contains(s)).ok_or_else(|| {
            invalid(
                400,
                "ticket_scope",
                "It should be one of these values: '1,2,3'",
                "invalid_value",
            )
        })?,
    };
    let role_ids = match (&b["role_ids"], was) {
        (Value::Null, Some(a)) => a.role_ids.clone(),
        (Value::Null, None) => vec![ROLES[3].0],
        (v, _) => role_ids(v)?,
    };
    let occasional = b["occasional"].as_bool().or(was.map(|a| a.occasional));
    Ok(Agent {
        role_ids,
        ticket_scope: scope,
        occasional: occasional.unwrap_or(false),
    })
}

async fn create(State(d): State<Arc<Desk>>, h: HeaderMap, body: Option<Json<Value>>) -> Response {
    call(&d, &h, true, |_| {
        let b = body.map(|Json(b)| b).unwrap_or_default();
        let email = b["email"].as_str().unwrap_or("").trim().to_lowercase();
        if !email.contains('@') {
            let says = "It should be a valid email address";
            return Err(invalid(400, "email", says, "invalid_value"));
        }
        let agent = agent_fields(&b, None, true)?;
        if !matches!(b["agent_type"].as_u64(), None | Some(1..=3)) {
            let says = "It should be one of these values: '1,2,3'";
            return Err(invalid(400, "agent_type", says, "invalid_value"));
        }
        let mut users = d.users.lock().unwrap();
        if users.iter().any(|u| u.email == email) {
            let says = "It should be a unique value";
            return Err(invalid(409, "email", says, "duplicate_value"));
        }
        let name = b["name"]
            .as_str()
            .map_or_else(|| email.clone(), str::to_owned);
        let id = d.next_id.fetch_add(1, Ordering::Relaxed);
        let made = User {
            id,
            name,
            email,
            active: false,
            agent: Some(agent),
        };
        let out = made.agent_json(made.agent.as_ref().unwrap());
        users.push(made);
        Ok((StatusCode::CREATED, out))
    })
}

async fn update(
    State(d): State<Arc<Desk>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    call(&d, &h, true, |me| {
        let b = body.map(|Json(b)| b).unwrap_or_default();
        let mut users = d.users.lock().unwrap();
        let u = users.iter_mut().find(|u| u.id.to_string() == id);
        let u = u.filter(|u| u.agent.is_some()).ok_or_else(not_found)?;
        if u.id == me.id && !b["role_ids"].is_null() {
            let says = "You cannot change your own roles";
            return Err(invalid(400, "role_ids", says, "invalid_value"));
        }
        let agent = agent_fields(&b, u.agent.as_ref(), false)?;
        let out = u.agent_json(&agent);
        u.agent = Some(agent);
        Ok((StatusCode::OK, out))
    })
}

async fn remove(State(d): State<Arc<Desk>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    call(&d, &h, true, |me| {
        let mut users = d.users.lock().unwrap();
        let u = users.iter_mut().find(|u| u.id.to_string() == id);
        let u = u.filter(|u| u.agent.is_some()).ok_or_else(not_found)?;
        if u.id == me.id {
            let says = "You cannot delete yourself";
            return Err(invalid(400, "id", says, "invalid_value"));
        }
        u.agent = None;
        Ok((StatusCode::NO_CONTENT, Value::Null))
    })
}

async fn contacts(State(d): State<Arc<Desk>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    call(&d, &h, false, |_| {
        let email = param(&q, "email").map(str::to_lowercase);
        let users = d.users.lock().unwrap();
        let rows: Vec<Value> = users
            .iter()
            .filter(|u| u.agent.is_none())
            .filter(|u| email.as_ref().is_none_or(|e| u.email == *e))
            .map(User::contact_json)
            .collect();
        Ok((StatusCode::OK, json!(rows)))
    })
}

async fn contact(State(d): State<Arc<Desk>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    call(&d, &h, false, |_| {
        let users = d.users.lock().unwrap();
        let u = users
            .iter()
            .find(|u| u.id.to_string() == id && u.agent.is_none());
        Ok((StatusCode::OK, u.ok_or_else(not_found)?.contact_json()))
    })
}

async fn make_agent(
    State(d): State<Arc<Desk>>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    call(&d, &h, true, |_| {
        let b = body.map(|Json(b)| b).unwrap_or_default();
        let agent = agent_fields(&b, None, false)?;
        let mut users = d.users.lock().unwrap();
        let u = users
            .iter_mut()
            .find(|u| u.id.to_string() == id && u.agent.is_none());
        let u = u.ok_or_else(not_found)?;
        let mut out = u.contact_json();
        out["agent"] = u.agent_json(&agent);
        u.agent = Some(agent);
        Ok((StatusCode::OK, out))
    })
}
