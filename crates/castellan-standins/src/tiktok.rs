//! **A stand-in for TikTok API for Business (a Business Center: its members, invitations and
//! advertiser accounts), not TikTok.** It serves the v1.3 endpoints the `tiktok_business`
//! connector uses, in TikTok's shapes, from memory, one Business Center per [`TikTok`], under
//! `/open_api`:
//!
//! - `GET /v1.3/user/info/` (`core_user_id`, `display_name`, `email` of the token's user);
//!   `GET /v1.3/bc/get/?bc_id=…` (`list: [{bc_info, user_role, ext_user_role}]`).
//! - `GET /v1.3/bc/member/get/` (`page`, `page_size` 1–20, default 10; `filtering` JSON with
//!   `keyword`, `user_role`, `relation_status`): `user_id`, `user_name`, `user_email`,
//!   `user_role`, `relation_status` (`BOUND`, `PENDING`).
//! - `POST /v1.3/bc/member/invite/` (`emails`, `user_role`; addresses invited before are
//!   ignored), `/bc/member/update/` (`user_id`, `user_role`, `user_name`), `/bc/member/delete/`
//!   (`user_id`, or `user_email` for a pending invitation).
//! - `GET /v1.3/bc/asset/get/?asset_type=ADVERTISER` (`page_size` 1–50), `GET
//!   /v1.3/bc/asset/member/get/` (`asset_id`), `POST /v1.3/bc/asset/assign/` (`user_id`,
//!   `asset_type`, `asset_id`, `advertiser_role`: it sets the role), `/bc/asset/unassign/`.
//!
//! Every answer is HTTP 200 `{"code", "message", "request_id", "data"}`; lists carry
//! `page_info: {page, page_size, total_number, total_page}`. Tokens (`Access-Token`): a
//! Business Center admin's and a standard member's (who may read, not write: 40001). Codes:
//! 40001 no permission, 40002 bad parameter, 40105 bad token, 40100 past the per-minute budget.
//!
//! The stand-in's choices where the reference is silent: 40007 for a member or account it does
//! not have; `keyword` matches a member's name or address, case-insensitive; an invitee joins
//! only through [`TikTok::accept`] (or at once after [`TikTok::accept_at_once`]) and gets a new
//! `user_id`. Not modelled: finance roles' effects, assets given with an invitation, catalogs,
//! pixels, TikTok accounts, partners. Pages followed:
//! <https://business-api.tiktok.com/portal/docs> ("Business Center > Members", "Business
//! Center > Assets", "Return codes"), cross-checked with the field notes of the Go SDK
//! `bububa/tiktok-business` (`model/bc`).

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
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests a minute before 40100 unless a test sets another.
pub const DEFAULT_LIMIT: u32 = 10_000;
/// The Business Center's id.
pub const BC_ID: &str = "7100000000000000001";
const ROLES: [&str; 2] = ["ADMIN", "STANDARD"];
const ADVERTISER_ROLES: [&str; 3] = ["ADMIN", "OPERATOR", "ANALYST"];

/// A running stand-in of one Business Center: its base URL, the admin's and a standard
/// member's access tokens, the admin's user id and its seeded advertiser account.
#[derive(Debug, Clone)]
pub struct TikTok {
    /// `http://127.0.0.1:<port>` (the API's origin; paths start with `/open_api`).
    pub base_url: String,
    /// The Business Center admin's access token.
    pub admin_token: String,
    /// The admin's `user_id`.
    pub admin_id: String,
    /// A standard member's access token.
    pub standard_token: String,
    /// An advertiser account of the Business Center.
    pub advertiser_id: String,
    bc: Arc<Center>,
}

/// A member or an invitee: `user_id` (none while pending), name, email, role, status.
#[derive(Debug, Clone)]
struct Member {
    user_id: Option<String>,
    name: String,
    email: String,
    role: String,
    status: &'static str,
}

#[derive(Debug, Default)]
struct Rows {
    members: Vec<Member>,
    /// `(asset id, name)`.
    advertisers: Vec<(String, String)>,
    /// Asset id → user id → advertiser role.
    roles: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug)]
struct Center {
    state: Mutex<Rows>,
    /// `(token, user id)`.
    tokens: Vec<(String, String)>,
    limit: RateLimit,
    next: AtomicU64,
    at_once: AtomicBool,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl TikTok {
    /// Starts a Business Center with its admin, a standard member and an advertiser account.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let m = |id: &str, name: &str, email: &str, role: &str| Member {
            user_id: Some(id.into()),
            name: name.into(),
            email: email.into(),
            role: role.into(),
            status: "BOUND",
        };
        let (admin, standard) = ("7200000000000000001", "7200000000000000002");
        let bc = Arc::new(Center {
            state: Mutex::new(Rows {
                members: vec![
                    m(admin, "Castellan bot", "bot@standin.test", "ADMIN"),
                    m(standard, "Plain", "plain@standin.test", "STANDARD"),
                ],
                advertisers: vec![("7300000000000000001".into(), "Acme Ads".into())],
                roles: BTreeMap::new(),
            }),
            tokens: vec![
                (format!("tt-admin-{n}"), admin.into()),
                (format!("tt-standard-{n}"), standard.into()),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            next: AtomicU64::new(1000),
            at_once: AtomicBool::new(false),
        });
        let v13 = Router::new()
            .route("/user/info/", get(user_info))
            .route("/bc/get/", get(bc_get))
            .route("/bc/member/get/", get(member_get))
            .route("/bc/asset/get/", get(asset_get))
            .route("/bc/asset/member/get/", get(asset_member_get))
            .route("/bc/{group}/{action}/", post(write))
            .route("/bc/asset/{action}/", post(write_asset))
            .with_state(bc.clone());
        let app = Router::new().nest("/open_api/v1.3", v13);
        let base_url = kit::spawn(app).base_url;
        Self {
            base_url,
            admin_token: bc.tokens[0].0.clone(),
            admin_id: admin.into(),
            standard_token: bc.tokens[1].0.clone(),
            advertiser_id: "7300000000000000001".into(),
            bc,
        }
    }

    fn new_id(&self) -> String {
        new_id(&self.bc)
    }

    /// Makes sure a member who joined with `email` and `role` exists; returns their `user_id`.
    pub fn seed(&self, email: &str, name: &str, role: &str) -> String {
        let id = self.new_id();
        let mut rows = self.bc.state.lock().unwrap();
        if let Some(m) = rows
            .members
            .iter()
            .find(|m| m.email.eq_ignore_ascii_case(email))
        {
            if let Some(id) = &m.user_id {
                return id.clone();
            }
        }
        rows.members.push(Member {
            user_id: Some(id.clone()),
            name: name.into(),
            email: email.to_lowercase(),
            role: role.into(),
            status: "BOUND",
        });
        id
    }

    /// The invitee of `email` joins (a new `user_id`); `None` without a pending invitation.
    pub fn accept(&self, email: &str) -> Option<String> {
        let id = self.new_id();
        let mut rows = self.bc.state.lock().unwrap();
        let m = rows
            .members
            .iter_mut()
            .find(|m| m.email.eq_ignore_ascii_case(email) && m.status == "PENDING")?;
        (m.user_id, m.status) = (Some(id.clone()), "BOUND");
        Some(id)
    }

    /// Whether invitees join at once (an invitation makes a member straight away).
    pub fn accept_at_once(&self, yes: bool) {
        self.bc.at_once.store(yes, Ordering::Relaxed);
    }

    /// `(user_id, role, relation_status)` of the member or invitee with `email`.
    pub fn member(&self, email: &str) -> Option<(Option<String>, String, String)> {
        let rows = self.bc.state.lock().unwrap();
        let m = rows
            .members
            .iter()
            .find(|m| m.email.eq_ignore_ascii_case(email))?;
        Some((m.user_id.clone(), m.role.clone(), m.status.to_owned()))
    }

    /// The advertiser role of `user_id` on the account `asset`, `None` for none.
    pub fn advertiser_role(&self, asset: &str, user_id: &str) -> Option<String> {
        let rows = self.bc.state.lock().unwrap();
        rows.roles.get(asset)?.get(user_id).cloned()
    }

    /// Sets the requests allowed a minute from now on.
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.bc.limit.set_limit(per_minute);
    }
}

fn new_id(bc: &Center) -> String {
    (7_200_000_000_000_001_000 + bc.next.fetch_add(1, Ordering::Relaxed)).to_string()
}

/// An answer: HTTP 200 with `code`, `message`, a `request_id` and `data`.
fn answer(code: u32, message: &str, data: Value) -> Response {
    static REQUESTS: AtomicU64 = AtomicU64::new(1);
    let id = format!(
        "2024010100000{:08}",
        REQUESTS.fetch_add(1, Ordering::Relaxed)
    );
    let body = json!({"code": code, "message": message, "request_id": id, "data": data});
    kit::reply(StatusCode::OK, vec![], body)
}

fn fail(code: u32, message: &str) -> Response {
    answer(code, message, json!({}))
}

type Q = Vec<(String, String)>;

fn param(q: &Q, k: &str) -> Option<String> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// Counts the request, checks the token and the Business Center; returns the caller's
/// `user_id`, who must be an admin to `write`.
fn gate(bc: &Center, h: &HeaderMap, bc_id: Option<&str>, write: bool) -> Result<String, Response> {
    if let Budget::Wait(_) = bc.limit.take() {
        return Err(fail(40100, "Too many requests. Please retry in some time."));
    }
    let token = h.get("access-token").and_then(|v| v.to_str().ok());
    let Some((_, user)) = bc.tokens.iter().find(|(t, _)| Some(t.as_str()) == token) else {
        return Err(fail(
            40105,
            "Access token is incorrect or has been revoked.",
        ));
    };
    if bc_id.is_some_and(|b| b != BC_ID) {
        return Err(fail(
            40001,
            "No permission to operate this Business Center.",
        ));
    }
    let rows = bc.state.lock().unwrap();
    let admin = rows
        .members
        .iter()
        .any(|m| m.user_id.as_ref() == Some(user) && m.role == "ADMIN");
    if write && !admin {
        return Err(fail(
            40001,
            "No permission to operate. Only admins can manage members.",
        ));
    }
    Ok(user.clone())
}

/// A page of `rows` as `{list, page_info}`; `max` is the largest `page_size`.
fn paged(q: &Q, rows: Vec<Value>, max: usize) -> Response {
    let size = match param(q, "page_size").map(|s| s.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (1..=max).contains(&n) => n,
        Some(_) => return fail(40002, &format!("page_size: must be between 1 and {max}.")),
    };
    let page = param(q, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let total = rows.len();
    let list: Vec<Value> = rows
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    let info = json!({"page": page, "page_size": size, "total_number": total,
        "total_page": total.div_ceil(size)});
    answer(0, "OK", json!({"list": list, "page_info": info}))
}

fn member_json(m: &Member) -> Value {
    json!({"user_id": m.user_id, "user_name": m.name, "user_email": m.email,
        "user_role": m.role, "relation_status": m.status,
        "ext_user_role": {"finance_role": null}})
}

async fn user_info(State(bc): State<Arc<Center>>, h: HeaderMap) -> Response {
    let user = match gate(&bc, &h, None, false) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let rows = bc.state.lock().unwrap();
    let m = rows
        .members
        .iter()
        .find(|m| m.user_id.as_ref() == Some(&user));
    let (name, email) = m
        .map(|m| (m.name.clone(), m.email.clone()))
        .unwrap_or_default();
    answer(
        0,
        "OK",
        json!({"core_user_id": user, "display_name": name, "email": email}),
    )
}

async fn bc_get(State(bc): State<Arc<Center>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    let user = match gate(&bc, &h, param(&q, "bc_id").as_deref(), false) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let rows = bc.state.lock().unwrap();
    let m = rows
        .members
        .iter()
        .find(|m| m.user_id.as_ref() == Some(&user));
    let row = json!({"bc_info": {"bc_id": BC_ID, "name": "Acme", "status": "ENABLE"},
        "user_role": m.map(|m| m.role.clone()), "ext_user_role": {"finance_role": null}});
    paged(&q, vec![row], 50)
}

async fn member_get(State(bc): State<Arc<Center>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    if let Err(r) = gate(&bc, &h, param(&q, "bc_id").as_deref(), false) {
        return r;
    }
    let filter: Value = param(&q, "filtering")
        .and_then(|f| serde_json::from_str(&f).ok())
        .unwrap_or_default();
    let has = |k: &str, v: &str| filter[k].as_str().is_none_or(|f| f == v);
    let keyword = filter["keyword"].as_str().map(str::to_lowercase);
    let rows = bc.state.lock().unwrap();
    let list = rows
        .members
        .iter()
        .filter(|m| has("user_role", &m.role) && has("relation_status", m.status))
        .filter(|m| {
            let text = format!("{} {}", m.name, m.email).to_lowercase();
            keyword.as_ref().is_none_or(|k| text.contains(k))
        })
        .map(member_json)
        .collect();
    paged(&q, list, 20)
}

async fn asset_get(State(bc): State<Arc<Center>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    if let Err(r) = gate(&bc, &h, param(&q, "bc_id").as_deref(), false) {
        return r;
    }
    if param(&q, "asset_type").as_deref() != Some("ADVERTISER") {
        return paged(&q, vec![], 50);
    }
    let rows = bc.state.lock().unwrap();
    let list = rows.advertisers.iter().map(|(id, name)| {
        json!({"asset_id": id, "asset_name": name, "asset_type": "ADVERTISER",
            "advertiser_role": "ADMIN"})
    });
    paged(&q, list.collect(), 50)
}

async fn asset_member_get(
    State(bc): State<Arc<Center>>,
    h: HeaderMap,
    Query(q): Query<Q>,
) -> Response {
    if let Err(r) = gate(&bc, &h, param(&q, "bc_id").as_deref(), false) {
        return r;
    }
    let rows = bc.state.lock().unwrap();
    let asset = param(&q, "asset_id").unwrap_or_default();
    if !rows.advertisers.iter().any(|a| a.0 == asset) {
        return fail(40007, "The asset does not exist in the Business Center.");
    }
    let held = rows.roles.get(&asset).cloned().unwrap_or_default();
    let list = held.iter().filter_map(|(user, role)| {
        let m = rows
            .members
            .iter()
            .find(|m| m.user_id.as_ref() == Some(user))?;
        let mut row = member_json(m);
        row["advertiser_role"] = json!(role);
        Some(row)
    });
    paged(&q, list.collect(), 50)
}

/// `member/invite`, `member/update` and `member/delete`.
async fn write(
    State(bc): State<Arc<Center>>,
    h: HeaderMap,
    Path((group, action)): Path<(String, String)>,
    Json(b): Json<Value>,
) -> Response {
    if let Err(r) = gate(&bc, &h, Some(b["bc_id"].as_str().unwrap_or("")), true) {
        return r;
    }
    let role = b["user_role"].as_str();
    if role.is_some_and(|r| !ROLES.contains(&r)) {
        return fail(40002, "user_role: must be one of ADMIN, STANDARD.");
    }
    let id = new_id(&bc);
    let mut rows = bc.state.lock().unwrap();
    let user = b["user_id"].as_str();
    let found = rows.members.iter().position(|m| {
        let by_email = b["user_email"]
            .as_str()
            .is_some_and(|e| m.email == e && m.user_id.is_none());
        by_email || user.is_some() && m.user_id.as_deref() == user
    });
    match (group.as_str(), action.as_str(), found) {
        ("member", "invite", _) => {
            let emails = b["emails"].as_array().cloned().unwrap_or_default();
            let emails: Vec<String> = emails
                .iter()
                .filter_map(|e| e.as_str())
                .map(str::to_lowercase)
                .collect();
            if emails.is_empty() || emails.iter().any(|e| !e.contains('@')) {
                return fail(40002, "emails: must be a list of email addresses.");
            }
            let at_once = bc.at_once.load(Ordering::Relaxed);
            for (i, email) in emails.into_iter().enumerate() {
                if rows.members.iter().any(|m| m.email == email) {
                    continue;
                }
                let name = email.split('@').next().unwrap_or_default().to_owned();
                rows.members.push(Member {
                    user_id: at_once.then(|| format!("{id}{i}")),
                    name,
                    email,
                    role: role.unwrap_or("STANDARD").into(),
                    status: if at_once { "BOUND" } else { "PENDING" },
                });
            }
            answer(0, "OK", json!({}))
        }
        ("member", "update", Some(i)) if rows.members[i].user_id.is_some() => {
            let m = &mut rows.members[i];
            m.role = role.unwrap_or(&m.role).to_owned();
            if let Some(name) = b["user_name"].as_str() {
                m.name = name.into();
            }
            answer(0, "OK", json!({}))
        }
        ("member", "delete", Some(i)) => {
            let m = rows.members.remove(i);
            if let Some(id) = m.user_id {
                for a in rows.roles.values_mut() {
                    a.remove(&id);
                }
            }
            answer(0, "OK", json!({}))
        }
        ("member", "update" | "delete", _) => {
            fail(40007, "The user is not in the Business Center.")
        }
        _ => fail(40002, "Unknown endpoint."),
    }
}

/// `asset/assign` and `asset/unassign`.
async fn write_asset(
    State(bc): State<Arc<Center>>,
    h: HeaderMap,
    Path(action): Path<String>,
    Json(b): Json<Value>,
) -> Response {
    if let Err(r) = gate(&bc, &h, Some(b["bc_id"].as_str().unwrap_or("")), true) {
        return r;
    }
    let mut rows = bc.state.lock().unwrap();
    let (asset, user) = (
        b["asset_id"].as_str().unwrap_or(""),
        b["user_id"].as_str().unwrap_or(""),
    );
    if b["asset_type"] != "ADVERTISER" || !rows.advertisers.iter().any(|a| a.0 == asset) {
        return fail(40007, "The asset does not exist in the Business Center.");
    }
    if !rows
        .members
        .iter()
        .any(|m| m.user_id.as_deref() == Some(user) && m.status == "BOUND")
    {
        return fail(
            40002,
            "user_id: the user must be a member of the Business Center.",
        );
    }
    match action.as_str() {
        "assign" => {
            let role = b["advertiser_role"].as_str().unwrap_or("");
            if !ADVERTISER_ROLES.contains(&role) {
                return fail(
                    40002,
                    "advertiser_role: must be one of ADMIN, OPERATOR, ANALYST.",
                );
            }
            rows.roles
                .entry(asset.into())
                .or_default()
                .insert(user.into(), role.into());
        }
        "unassign" => {
            if let Some(a) = rows.roles.get_mut(asset) {
                a.remove(user);
            }
        }
        _ => return fail(40002, "Unknown endpoint."),
    }
    answer(0, "OK", json!({}))
}
