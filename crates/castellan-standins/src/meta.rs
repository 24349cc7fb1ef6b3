//! **A stand-in for Meta's Graph API (a Business Manager business: its people, invitations,
//! Pages and ad accounts), not Meta.** It serves the nodes and edges the `meta_business`
//! connector uses, in Graph's shapes, from memory, one business per [`Meta`], under
//! `/v21.0`:
//!
//! - `GET /me` (`{"id", "name"}` of the token's system user).
//! - `GET /{business-id}/system_users|business_users|pending_users|owned_pages|owned_ad_accounts`
//!   (`fields`, `limit` ≤ 100, default 25, `after`; `pending_users` takes `email`).
//! - `POST /{business-id}/business_users` (`email`, `role`): an invitation (a business role
//!   request, `status` `PENDING`), `{"id"}`.
//! - `GET|POST|DELETE /{id}`: a business user (`id`, `name`, `email`, `role`, `business`) or a
//!   role request (`id`, `email`, `role`, `status`); `POST` takes `role`; `{"success": true}`.
//! - `GET|POST|DELETE /{asset-id}/assigned_users` (`business` required; `user`, `tasks` as a
//!   JSON array): rows `{"id", "name", "tasks", "permitted_tasks"}`. A grant sets the user's
//!   task set on the asset; only business users of the business may be assigned.
//!
//! Lists are `{"data": [...], "paging": {"cursors": {"before", "after"}, "next"}}`, `next` left
//! out on the last page. Tokens: an admin system user's and an employee system user's (Bearer
//! or `access_token`); the employee may read, not write (403, code 200). Errors are
//! `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`: 400 code 190 for a
//! bad token, 400 code 100 subcode 33 for an unknown object, 400 code 100 for a bad parameter.
//! Every answer carries `X-App-Usage` and `X-Business-Use-Case-Usage`; past the per-minute
//! budget, 400 code 17 with `estimated_time_to_regain_access` (minutes) in the latter.
//!
//! The stand-in's choices where the reference is silent: an invitee accepts only through
//! [`Meta::accept`] (or at once after [`Meta::accept_at_once`], for suites that grant assets
//! right after inviting) and becomes a business user with a new id; the HTTP status of
//! throttles (400) and the messages. Not modelled: finance roles, asset groups, Instagram
//! accounts, catalogs, business verification. Pages followed:
//! - <https://developers.facebook.com/docs/marketing-api/reference/business/business_users/>
//! - <https://developers.facebook.com/docs/marketing-api/reference/business/pending_users/>
//! - <https://developers.facebook.com/docs/graph-api/reference/business-role-request/>
//! - <https://developers.facebook.com/docs/graph-api/reference/page/assigned_users/>
//! - <https://developers.facebook.com/docs/graph-api/guides/error-handling/>
//! - <https://developers.facebook.com/docs/graph-api/overview/rate-limiting/>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde_json::{json, Map, Value};

use crate::kit::{self, Budget, RateLimit};

/// The Graph API version the stand-in serves under.
pub const VERSION: &str = "v21.0";
/// Requests a minute before throttling unless a test sets another.
pub const DEFAULT_LIMIT: u32 = 10_000;
/// The business's id.
pub const BUSINESS: &str = "100000000000001";
/// Tasks assignable on a Page.
pub const PAGE_TASKS: [&str; 6] = [
    "MANAGE",
    "CREATE_CONTENT",
    "MODERATE",
    "MESSAGING",
    "ADVERTISE",
    "ANALYZE",
];
/// Tasks assignable on an ad account.
pub const AD_ACCOUNT_TASKS: [&str; 4] = ["MANAGE", "ADVERTISE", "ANALYZE", "DRAFT"];

/// A running stand-in of one business: its base URL, its id, the admin and
/// employee system users' tokens, and its seeded Page and ad account.
#[derive(Debug, Clone)]
pub struct Meta {
    /// `http://127.0.0.1:<port>` (the Graph API's origin; paths start with `/v21.0`).
    pub base_url: String,
    /// The admin system user's access token.
    pub admin_token: String,
    /// An employee system user's access token (reads only).
    pub employee_token: String,
    /// A Page of the business.
    pub page_id: String,
    /// An ad account of the business (`act_<id>`).
    pub ad_account_id: String,
    biz: Arc<Biz>,
}

#[derive(Debug)]
struct Biz {
    state: Mutex<Rows>,
    /// `(token, system user id, name, role)`.
    system_users: Vec<(String, String, String, String)>,
    limit: RateLimit,
    next: AtomicU64,
    at_once: AtomicBool,
    base_url: Mutex<String>,
}

/// A business user or an invitation: id, name, email, role, status (`ACCEPTED` for users).
#[derive(Debug, Clone)]
struct Person {
    id: String,
    name: String,
    email: String,
    role: String,
}

#[derive(Debug, Default)]
struct Rows {
    users: Vec<Person>,
    /// Role requests: the person (no name) and `status`.
    requests: Vec<(Person, String)>,
    /// `(asset id, name)`.
    pages: Vec<(String, String)>,
    ad_accounts: Vec<(String, String)>,
    /// Asset id → user id → tasks.
    tasks: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl Meta {
    /// Starts a business with its admin and employee system users, a Page and an ad account.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let su = |t: String, id: &str, name: &str, role: &str| {
            (t, id.to_owned(), name.to_owned(), role.to_owned())
        };
        let biz = Arc::new(Biz {
            state: Mutex::new(Rows {
                pages: vec![("200000000000001".into(), "Acme".into())],
                ad_accounts: vec![("act_300000000000001".into(), "Acme Ads".into())],
                ..Rows::default()
            }),
            system_users: vec![
                su(
                    format!("EAAmeta-admin-{n}"),
                    "61500000000001",
                    "Castellan bot",
                    "ADMIN",
                ),
                su(
                    format!("EAAmeta-employee-{n}"),
                    "61500000000002",
                    "Reporting",
                    "EMPLOYEE",
                ),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            next: AtomicU64::new(1000),
            at_once: AtomicBool::new(false),
            base_url: Mutex::new(String::new()),
        });
        let graph = Router::new()
            .route("/me", get(me))
            .route(
                "/{node}",
                get(read_node).post(update_node).delete(delete_node),
            )
            .route(
                "/{node}/{edge}",
                get(read_edge).post(post_edge).delete(delete_edge),
            )
            .with_state(biz.clone());
        let base_url = kit::spawn(Router::new().nest(&format!("/{VERSION}"), graph)).base_url;
        *biz.base_url.lock().unwrap() = format!("{base_url}/{VERSION}");
        Self {
            base_url,
            admin_token: biz.system_users[0].0.clone(),
            employee_token: biz.system_users[1].0.clone(),
            page_id: "200000000000001".into(),
            ad_account_id: "act_300000000000001".into(),
            biz,
        }
    }

    fn id(&self) -> String {
        (10_000_000_000 + self.biz.next.fetch_add(1, Ordering::Relaxed)).to_string()
    }

    /// Makes sure a business user with `email` and `role` exists (as if they accepted an
    /// invitation); returns their id.
    pub fn seed(&self, email: &str, name: &str, role: &str) -> String {
        let mut rows = self.biz.state.lock().unwrap();
        if let Some(u) = rows
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
        {
            return u.id.clone();
        }
        let id = self.id();
        rows.users.push(Person {
            id: id.clone(),
            name: name.into(),
            email: email.to_lowercase(),
            role: role.into(),
        });
        id
    }

    /// Adds a Page (or, for `act_` ids, an ad account) to the business.
    pub fn add_asset(&self, id: &str, name: &str) {
        let mut rows = self.biz.state.lock().unwrap();
        let list = match id.starts_with("act_") {
            true => &mut rows.ad_accounts,
            false => &mut rows.pages,
        };
        list.push((id.into(), name.into()));
        list.sort();
    }

    /// The invitee of `email` accepts: their pending invitation becomes a business user (a new
    /// id). Returns that id, `None` without a pending invitation.
    pub fn accept(&self, email: &str) -> Option<String> {
        let id = self.id();
        let mut rows = self.biz.state.lock().unwrap();
        let r = rows
            .requests
            .iter_mut()
            .find(|r| r.0.email.eq_ignore_ascii_case(email) && r.1 == "PENDING")?;
        r.1 = "ACCEPTED".into();
        let p = Person {
            id: id.clone(),
            ..r.0.clone()
        };
        rows.users.push(p);
        Some(id)
    }

    /// Whether invitees accept at once (the invitation makes a business user straight away).
    pub fn accept_at_once(&self, yes: bool) {
        self.biz.at_once.store(yes, Ordering::Relaxed);
    }

    /// The tasks business user `user` holds on the asset `asset`, sorted (empty for none).
    pub fn tasks(&self, asset: &str, user: &str) -> Vec<String> {
        let rows = self.biz.state.lock().unwrap();
        let mut t = rows.tasks.get(asset).and_then(|a| a.get(user)).cloned();
        t.get_or_insert_with(Vec::new).sort();
        t.unwrap_or_default()
    }

    /// The role of the business user with `email`, `None` when there is none.
    pub fn role_of(&self, email: &str) -> Option<String> {
        let rows = self.biz.state.lock().unwrap();
        let u = rows
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email));
        u.map(|u| u.role.clone())
    }

    /// The business user id of `email`, `None` when there is none.
    pub fn user_id(&self, email: &str) -> Option<String> {
        let rows = self.biz.state.lock().unwrap();
        let u = rows
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email));
        u.map(|u| u.id.clone())
    }

    /// The status of the invitation of `email` (`PENDING`, `CANCELED`), `None` for none.
    pub fn invitation_status(&self, email: &str) -> Option<String> {
        let rows = self.biz.state.lock().unwrap();
        let r = rows
            .requests
            .iter()
            .rev()
            .find(|r| r.0.email.eq_ignore_ascii_case(email));
        r.map(|r| r.1.clone())
    }

    /// Sets the requests allowed a minute from now on.
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.biz.limit.set_limit(per_minute);
    }
}

type Q = Vec<(String, String)>;

fn param(q: &Q, k: &str) -> Option<String> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// A Graph error answer.
fn graph_error(status: u16, code: i64, sub: Option<i64>, kind: &str, message: &str) -> Response {
    let mut e = json!({"message": message, "type": kind, "code": code,
        "fbtrace_id": "AStandInTrace"});
    if let Some(s) = sub {
        e["error_subcode"] = json!(s);
    }
    kit::reply(
        StatusCode::from_u16(status).unwrap(),
        vec![],
        json!({ "error": e }),
    )
}

fn unknown(id: &str) -> Response {
    let m = format!(
        "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to \
         missing permissions, or does not support this operation."
    );
    graph_error(400, 100, Some(33), "GraphMethodException", &m)
}

fn bad_param(message: &str) -> Response {
    graph_error(
        400,
        100,
        None,
        "OAuthException",
        &format!("(#100) {message}"),
    )
}

/// The usage headers of an answer (`regain`: minutes until a throttle lifts).
fn usage(b: &Biz, left: u32, regain: u64, mut r: Response) -> Response {
    let limit = b.limit.limit().max(1);
    let pct = 100 - (u64::from(left) * 100 / u64::from(limit)).min(100);
    let buc = json!({ BUSINESS: [{"type": "business_management", "call_count": pct,
        "total_cputime": 1, "total_time": 1, "estimated_time_to_regain_access": regain}]});
    let app = json!({"call_count": pct, "total_cputime": 1, "total_time": 1});
    for (k, v) in [("x-business-use-case-usage", buc), ("x-app-usage", app)] {
        if let Ok(v) = v.to_string().parse() {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

/// Counts the request and finds its system user (Bearer or `access_token`), who must be an
/// admin to `write`. Returns the budget left and the system user's index.
fn gate(b: &Biz, h: &HeaderMap, q: &Q, write: bool) -> Result<(u32, usize), Response> {
    let left = match b.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(secs) => {
            let m = "(#17) User request limit reached";
            let r = graph_error(400, 17, Some(2_446_079), "OAuthException", m);
            return Err(usage(b, 0, secs.div_ceil(60), r));
        }
    };
    let token = kit::bearer(h).or_else(|| param(q, "access_token"));
    let Some(who) = b
        .system_users
        .iter()
        .position(|s| Some(&s.0) == token.as_ref())
    else {
        let m = "Invalid OAuth access token - Cannot parse access token";
        return Err(usage(
            b,
            left,
            0,
            graph_error(400, 190, None, "OAuthException", m),
        ));
    };
    if write && b.system_users[who].3 != "ADMIN" {
        let m = "(#200) Requires business_management permission to manage the object";
        return Err(usage(
            b,
            left,
            0,
            graph_error(403, 200, None, "OAuthException", m),
        ));
    }
    Ok((left, who))
}

fn ok(b: &Biz, left: u32, body: Value) -> Response {
    usage(b, left, 0, kit::reply(StatusCode::OK, vec![], body))
}

/// The requested `fields` of `node` (default `id` and `name`).
///
/// Errors: code 100 for a field the node type does not have.
fn pick(node: &Map<String, Value>, q: &Q, kind: &str) -> Result<Value, Response> {
    let fields = param(q, "fields").unwrap_or_else(|| "id,name".into());
    let mut out = Map::new();
    for f in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let f = f.split('{').next().unwrap_or(f);
        match node.get(f) {
            Some(v) => out.insert(f.to_owned(), v.clone()),
            None => {
                let m = format!("Tried accessing nonexisting field ({f}) on node type ({kind})");
                return Err(bad_param(&m));
            }
        };
    }
    Ok(Value::Object(out))
}

/// A page of `rows` (each with its id) after `after`, as a Graph list.
fn list(b: &Biz, q: &Q, path: &str, rows: Vec<(String, Map<String, Value>)>, kind: &str) -> Answer {
    let limit = param(q, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25usize)
        .clamp(1, 100);
    let after = param(q, "after");
    let (page, more) = kit::page_after(&rows, |r| r.0.clone(), after.as_ref(), limit);
    let data = page
        .iter()
        .map(|r| pick(&r.1, q, kind))
        .collect::<Result<Vec<_>, _>>()?;
    let mut paging = json!({"cursors": {"before": page.first().map(|r| r.0.clone()),
        "after": page.last().map(|r| r.0.clone())}});
    if let Some(m) = more {
        let base = b.base_url.lock().unwrap().clone();
        paging["next"] = json!(format!("{base}{path}?limit={limit}&after={m}"));
    }
    Ok(json!({ "data": data, "paging": paging }))
}

type Answer = Result<Value, Response>;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn user_node(u: &Person) -> Map<String, Value> {
    obj(
        json!({"id": u.id, "name": u.name, "email": u.email, "role": u.role,
        "business": {"id": BUSINESS, "name": "Acme"}}),
    )
}

fn request_node(r: &(Person, String)) -> Map<String, Value> {
    obj(
        json!({"id": r.0.id, "email": r.0.email, "role": r.0.role, "status": r.1,
        "created_time": "2024-01-01T00:00:00+0000", "expiration_time": "2024-01-31T00:00:00+0000"}),
    )
}

fn respond(b: &Biz, left: u32, out: Answer) -> Response {
    match out {
        Ok(v) => ok(b, left, v),
        Err(r) => usage(b, left, 0, r),
    }
}

async fn me(State(b): State<Arc<Biz>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    match gate(&b, &h, &q, false) {
        Ok((left, who)) => {
            let su = &b.system_users[who];
            ok(&b, left, json!({"id": su.1, "name": su.2}))
        }
        Err(r) => r,
    }
}

async fn read_node(
    State(b): State<Arc<Biz>>,
    h: HeaderMap,
    Path(node): Path<String>,
    Query(q): Query<Q>,
) -> Response {
    let (left, _) = match gate(&b, &h, &q, false) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let rows = b.state.lock().unwrap();
    let out = if let Some(u) = rows.users.iter().find(|u| u.id == node) {
        pick(&user_node(u), &q, "BusinessUser")
    } else if let Some(r) = rows.requests.iter().find(|r| r.0.id == node) {
        pick(&request_node(r), &q, "BusinessRoleRequest")
    } else if node == BUSINESS {
        pick(
            &obj(json!({"id": BUSINESS, "name": "Acme"})),
            &q,
            "Business",
        )
    } else {
        Err(unknown(&node))
    };
    respond(&b, left, out)
}

async fn update_node(
    State(b): State<Arc<Biz>>,
    h: HeaderMap,
    Path(node): Path<String>,
    Query(q): Query<Q>,
    Form(f): Form<Q>,
) -> Response {
    let (left, _) = match gate(&b, &h, &q, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let role = param(&f, "role").unwrap_or_default();
    if !["ADMIN", "EMPLOYEE"].contains(&role.as_str()) {
        return respond(
            &b,
            left,
            Err(bad_param("Param role must be one of {ADMIN, EMPLOYEE}")),
        );
    }
    let mut rows = b.state.lock().unwrap();
    let out = if let Some(u) = rows.users.iter_mut().find(|u| u.id == node) {
        u.role = role;
        Ok(json!({"success": true}))
    } else if let Some(r) = rows
        .requests
        .iter_mut()
        .find(|r| r.0.id == node && r.1 == "PENDING")
    {
        r.0.role = role;
        Ok(json!({"success": true}))
    } else {
        Err(unknown(&node))
    };
    respond(&b, left, out)
}

async fn delete_node(
    State(b): State<Arc<Biz>>,
    h: HeaderMap,
    Path(node): Path<String>,
    Query(q): Query<Q>,
) -> Response {
    let (left, _) = match gate(&b, &h, &q, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let mut rows = b.state.lock().unwrap();
    let out = if let Some(i) = rows.users.iter().position(|u| u.id == node) {
        rows.users.remove(i);
        for a in rows.tasks.values_mut() {
            a.remove(&node);
        }
        Ok(json!({"success": true}))
    } else if let Some(r) = rows
        .requests
        .iter_mut()
        .find(|r| r.0.id == node && r.1 == "PENDING")
    {
        r.1 = "CANCELED".into();
        Ok(json!({"success": true}))
    } else {
        Err(unknown(&node))
    };
    respond(&b, left, out)
}

async fn read_edge(
    State(b): State<Arc<Biz>>,
    h: HeaderMap,
    Path((node, edge)): Path<(String, String)>,
    Query(q): Query<Q>,
) -> Response {
    let (left, _) = match gate(&b, &h, &q, false) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let path = format!("/{node}/{edge}");
    let rows = b.state.lock().unwrap();
    let out = match (node == BUSINESS, edge.as_str()) {
        (true, "business_users") => {
            let all = rows
                .users
                .iter()
                .map(|u| (u.id.clone(), user_node(u)))
                .collect();
            list(&b, &q, &path, all, "BusinessUser")
        }
        (true, "pending_users") => {
            let email = param(&q, "email");
            let all = rows
                .requests
                .iter()
                .filter(|r| r.1 == "PENDING")
                .filter(|r| {
                    email
                        .as_ref()
                        .is_none_or(|e| r.0.email.eq_ignore_ascii_case(e))
                })
                .map(|r| (r.0.id.clone(), request_node(r)))
                .collect();
            list(&b, &q, &path, all, "BusinessRoleRequest")
        }
        (true, "system_users") => {
            let all = b.system_users.iter().map(|s| {
                (
                    s.1.clone(),
                    obj(json!({"id": s.1, "name": s.2, "role": s.3})),
                )
            });
            list(&b, &q, &path, all.collect(), "SystemUser")
        }
        (true, "owned_pages" | "owned_ad_accounts") => {
            let assets = match edge.as_str() {
                "owned_pages" => &rows.pages,
                _ => &rows.ad_accounts,
            };
            let all = assets.iter().map(|(id, name)| {
                let account = id.trim_start_matches("act_");
                let node = json!({"id": id, "name": name, "account_id": account});
                (id.clone(), obj(node))
            });
            list(&b, &q, &path, all.collect(), "Page")
        }
        (false, "assigned_users") => assigned(&b, &rows, &node, &q, &path),
        _ => Err(unknown(&node)),
    };
    respond(&b, left, out)
}

/// The permitted tasks of the asset `id`, `None` when the business has no such asset.
fn permitted(rows: &Rows, id: &str) -> Option<&'static [&'static str]> {
    let has = |l: &[(String, String)]| l.iter().any(|a| a.0 == id);
    match (has(&rows.pages), has(&rows.ad_accounts)) {
        (true, _) => Some(&PAGE_TASKS),
        (_, true) => Some(&AD_ACCOUNT_TASKS),
        _ => None,
    }
}

fn assigned(b: &Biz, rows: &Rows, asset: &str, q: &Q, path: &str) -> Answer {
    let Some(tasks) = permitted(rows, asset) else {
        return Err(unknown(asset));
    };
    if param(q, "business").as_deref() != Some(BUSINESS) {
        return Err(bad_param("The parameter business is required"));
    }
    let held = rows.tasks.get(asset).cloned().unwrap_or_default();
    let all = held.into_iter().filter_map(|(user, t)| {
        let u = rows.users.iter().find(|u| u.id == user)?;
        let node = json!({"id": u.id, "name": u.name, "user_type": "BUSINESS_USER",
            "tasks": t, "permitted_tasks": tasks});
        Some((user, obj(node)))
    });
    list(b, q, path, all.collect(), "AssignedUser")
}

async fn post_edge(
    State(b): State<Arc<Biz>>,
    h: HeaderMap,
    Path((node, edge)): Path<(String, String)>,
    Query(q): Query<Q>,
    Form(f): Form<Q>,
) -> Response {
    let (left, _) = match gate(&b, &h, &q, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let id = (10_000_000_000 + b.next.fetch_add(1, Ordering::Relaxed)).to_string();
    let mut rows = b.state.lock().unwrap();
    let out = match (node == BUSINESS, edge.as_str()) {
        (true, "business_users") => invite(&b, &mut rows, &f, id),
        (false, "assigned_users") => assign(&mut rows, &node, &f),
        _ => Err(unknown(&node)),
    };
    respond(&b, left, out)
}

fn invite(b: &Biz, rows: &mut Rows, f: &Q, id: String) -> Answer {
    let email = param(f, "email").unwrap_or_default().trim().to_lowercase();
    let role = param(f, "role").unwrap_or_else(|| "EMPLOYEE".into());
    if !email.contains('@') {
        return Err(bad_param("Param email must be a valid email address"));
    }
    if !["ADMIN", "EMPLOYEE"].contains(&role.as_str()) {
        return Err(bad_param("Param role must be one of {ADMIN, EMPLOYEE}"));
    }
    let pending = rows
        .requests
        .iter()
        .any(|r| r.0.email == email && r.1 == "PENDING");
    if pending || rows.users.iter().any(|u| u.email == email) {
        return Err(bad_param(
            "This person is already in the business or invited to it",
        ));
    }
    let name = email.split('@').next().unwrap_or_default().to_owned();
    let p = Person {
        id: id.clone(),
        name,
        email,
        role,
    };
    match b.at_once.load(Ordering::Relaxed) {
        true => rows.users.push(p),
        false => rows.requests.push((p, "PENDING".into())),
    }
    Ok(json!({ "id": id }))
}

fn assign(rows: &mut Rows, asset: &str, f: &Q) -> Answer {
    let Some(permitted) = permitted(rows, asset) else {
        return Err(unknown(asset));
    };
    if param(f, "business")
        .as_deref()
        .is_some_and(|b| b != BUSINESS)
    {
        return Err(bad_param("The business does not own this asset"));
    }
    let user = param(f, "user").unwrap_or_default();
    if !rows.users.iter().any(|u| u.id == user) {
        return Err(bad_param(
            "Param user must be a business-scoped user id of the business",
        ));
    }
    let tasks: Vec<String> = param(f, "tasks")
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if tasks.is_empty() || !tasks.iter().all(|t| permitted.contains(&t.as_str())) {
        return Err(bad_param(&format!(
            "Param tasks must be a list of {permitted:?}"
        )));
    }
    rows.tasks
        .entry(asset.to_owned())
        .or_default()
        .insert(user, tasks);
    Ok(json!({"success": true}))
}

async fn delete_edge(
    State(b): State<Arc<Biz>>,
    h: HeaderMap,
    Path((node, edge)): Path<(String, String)>,
    Query(q): Query<Q>,
) -> Response {
    let (left, _) = match gate(&b, &h, &q, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let mut rows = b.state.lock().unwrap();
    let out = match (edge.as_str(), permitted(&rows, &node)) {
        ("assigned_users", Some(_)) => {
            let user = param(&q, "user").unwrap_or_default();
            if let Some(a) = rows.tasks.get_mut(&node) {
                a.remove(&user);
            }
            Ok(json!({"success": true}))
        }
        _ => Err(unknown(&node)),
    };
    respond(&b, left, out)
}
