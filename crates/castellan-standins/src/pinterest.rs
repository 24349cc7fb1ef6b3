//! **A stand-in for Pinterest API v5's Business Access (one business: its members, member
//! invitations, ad accounts and profiles), not Pinterest.** It serves the endpoints the
//! `pinterest_business` connector uses, in the shapes of Pinterest's OpenAPI description, from
//! memory, one business per [`Pinterest`], under `/v5`:
//!
//! - `GET /user_account` (`Account`: `id`, `username`, `account_type`).
//! - `GET /businesses/employers` (`UserBusinessRoleBinding`s of the token's user: `id` and
//!   `user.id` the business's, `business_roles`).
//! - `GET /businesses/{business_id}/members` (`member_ids` comma separated): `id`,
//!   `business_roles`, `user` `{id, email, username}`; `PATCH` (`[{member_id, business_role}]`,
//!   answer `{"items": [{member_id, business_role}]}`); `DELETE` (`{"members": [{member_id,
//!   business_role}]}`, answer `{"deleted_members": [...]}`, only rows whose role matches).
//! - `GET /businesses/{business_id}/invites` (`is_member`, `invite_status`, `invite_type`):
//!   `InviteResponse`s; `POST` (`invite_type` `MEMBER_INVITE`, `business_role`, `members`),
//!   answer `{"items": [{"exception", "invite": {id, user}}]}`; `DELETE` (`{"invite_ids"}`),
//!   answer `{"items": [{"exception", "invite"}]}`.
//! - `GET /businesses/{business_id}/assets` (`asset_type`, default `AD_ACCOUNT`): `asset_id`,
//!   `asset_type`; `GET /businesses/{business_id}/assets/{asset_id}/members`: `permissions`,
//!   `user`.
//! - `PATCH /businesses/{business_id}/members/assets/access` (`{"accesses": [{asset_id,
//!   member_id, permissions}]}`: the permissions replace the member's on the asset), answer
//!   `{"items": [{"response": {asset_id, member_id, permissions}}]}`; `DELETE` (`{"accesses":
//!   [{asset_id, member_id}]}`), answer `{"items": [{asset_id, member_id}]}`.
//!
//! Lists take `page_size` (1–250, default 25) and `bookmark`, and answer `{"items", "bookmark"}`
//! (`bookmark` null on the last page). Tokens (Bearer): a `BIZ_ADMIN` member's and an
//! `EMPLOYEE` member's; every `/businesses/{business_id}/…` call needs a `BIZ_ADMIN`. Errors are
//! `{"code", "message"}`: 401 code 2 for a bad token, 403 code 29 for a non-admin, 400 code 1
//! for a bad parameter, 404 for an unknown member or asset. Every answer carries
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (seconds to the end of the
//! minute's window) and `x-pinterest-rid`; past the budget, 429 code 8 without `Retry-After`.
//!
//! The stand-in's choices where the reference is silent: members' ids are their user ids; an
//! invitee joins only through [`Pinterest::accept`] (or at once after
//! [`Pinterest::accept_at_once`]) and gets a new id; invitations go to addresses only (a
//! username is answered with an item exception, code 404); inviting a member or a pending
//! invitee again is an item exception with code 409; a permission of the other kind of asset
//! is 400 code 1; the headers' names and the reset's unit; the messages. Not modelled:
//! partners, system users, asset groups, catalogs, invitations with asset permissions,
//! `start_index`. Pages followed:
//! - <https://github.com/pinterest/api-description> (`v5/openapi.yaml`, release 5.23.0)
//! - <https://developers.pinterest.com/docs/api/v5/#operation/get/business_members>
//! - <https://developers.pinterest.com/docs/api/v5/#operation/create_membership_or_partnership_invites>
//! - <https://developers.pinterest.com/docs/api/v5/#operation/business_members_asset_access/update>
//! - <https://developers.pinterest.com/docs/reference/rate-limits/>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use serde_json::{json, Value};

use crate::kit::{self, param, Budget, RateLimit};

/// Requests a minute before 429 unless a test sets another.
pub const DEFAULT_LIMIT: u32 = 10_000;
/// The business's id.
pub const BUSINESS: &str = "700000000000000001";
const ROLES: [&str; 2] = ["BIZ_ADMIN", "EMPLOYEE"];
const AD_ACCOUNT_PERMISSIONS: [&str; 9] = [
    "ADMIN",
    "ANALYST",
    "FINANCE_MANAGER",
    "FINANCE_EDIT",
    "FINANCE_VIEW",
    "AUDIENCE_MANAGER",
    "CAMPAIGN_MANAGER",
    "CATALOGS_MANAGER",
    "CATALOGS_VIEWER",
];
const PROFILE_PERMISSIONS: [&str; 1] = ["PROFILE_PUBLISHER"];

/// A running stand-in of one business: its base URL (with `/v5`), the admin's and an
/// employee's access tokens and member ids, its ad account and profile.
#[derive(Debug, Clone)]
pub struct Pinterest {
    /// `http://127.0.0.1:<port>/v5`.
    pub base_url: String,
    /// The `BIZ_ADMIN` member's access token.
    pub admin_token: String,
    /// The admin's member (user account) id.
    pub admin_id: String,
    /// The `EMPLOYEE` member's access token.
    pub employee_token: String,
    /// An ad account of the business.
    pub ad_account_id: String,
    /// A profile of the business.
    pub profile_id: String,
    biz: Arc<Biz>,
}

/// A member: user id, email, username, business role.
#[derive(Debug, Clone)]
struct Member {
    id: String,
    email: String,
    username: String,
    role: String,
}

/// A member invitation: id, email, role, status (`PENDING`, `ACCEPTED`, `CANCELLED`).
#[derive(Debug, Clone)]
struct Invite {
    id: String,
    email: String,
    role: String,
    status: &'static str,
}

#[derive(Debug, Default)]
struct Rows {
    members: Vec<Member>,
    invites: Vec<Invite>,
    /// Asset id → `AD_ACCOUNT` or `PROFILE`.
    assets: BTreeMap<String, &'static str>,
    /// Asset id → member id → permissions.
    access: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

#[derive(Debug)]
struct Biz {
    state: Mutex<Rows>,
    /// `(token, user id)`.
    tokens: Vec<(String, String)>,
    limit: RateLimit,
    next: AtomicU64,
    at_once: AtomicBool,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl Pinterest {
    /// Starts a business with its admin and employee members, an ad account and a profile.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let (admin, employee) = ("500000000000000001", "500000000000000002");
        let (ad_account, profile) = ("549755885175", "630433785246278264");
        let m = |id: &str, email: &str, username: &str, role: &str| Member {
            id: id.into(),
            email: email.into(),
            username: username.into(),
            role: role.into(),
        };
        let biz = Arc::new(Biz {
            state: Mutex::new(Rows {
                members: vec![
                    m(admin, "bot@standin.test", "castellan_bot", "BIZ_ADMIN"),
                    m(employee, "staff@standin.test", "staff", "EMPLOYEE"),
                ],
                assets: BTreeMap::from([
                    (ad_account.to_owned(), "AD_ACCOUNT"),
                    (profile.to_owned(), "PROFILE"),
                ]),
                ..Rows::default()
            }),
            tokens: vec![
                (format!("pina_admin{n}"), admin.into()),
                (format!("pina_employee{n}"), employee.into()),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            next: AtomicU64::new(1000),
            at_once: AtomicBool::new(false),
        });
        let v5 = Router::new()
            .route("/user_account", get(user_account))
            .route("/businesses/employers", get(employers))
            .route("/businesses/{b}/{*rest}", any(business))
            .with_state(biz.clone());
        let served = kit::spawn(Router::new().nest("/v5", v5));
        Self {
            base_url: format!("{}/v5", served.base_url),
            admin_token: biz.tokens[0].0.clone(),
            admin_id: admin.into(),
            employee_token: biz.tokens[1].0.clone(),
            ad_account_id: ad_account.into(),
            profile_id: profile.into(),
            biz,
        }
    }

    /// Makes sure a member with `email` and `role` exists; returns their id.
    pub fn seed(&self, email: &str, username: &str, role: &str) -> String {
        let id = new_id(&self.biz);
        let mut rows = self.biz.state.lock().unwrap();
        if let Some(m) = rows
            .members
            .iter()
            .find(|m| m.email.eq_ignore_ascii_case(email))
        {
            return m.id.clone();
        }
        rows.members.push(Member {
            id: id.clone(),
            email: email.to_lowercase(),
            username: username.into(),
            role: role.into(),
        });
        id
    }

    /// The invitee of `email` accepts and becomes a member (a new id); `None` without a
    /// pending invitation.
    pub fn accept(&self, email: &str) -> Option<String> {
        let id = new_id(&self.biz);
        let mut rows = self.biz.state.lock().unwrap();
        let inv = rows
            .invites
            .iter_mut()
            .find(|i| i.email.eq_ignore_ascii_case(email) && i.status == "PENDING")?;
        inv.status = "ACCEPTED";
        let m = Member {
            id: id.clone(),
            email: inv.email.clone(),
            username: inv.email.split('@').next().unwrap_or_default().to_owned(),
            role: inv.role.clone(),
        };
        rows.members.push(m);
        Some(id)
    }

    /// Whether invitees accept at once (an invitation makes a member straight away).
    pub fn accept_at_once(&self, yes: bool) {
        self.biz.at_once.store(yes, Ordering::Relaxed);
    }

    /// The status of the last invitation of `email`, `None` when there is none.
    pub fn invitation_status(&self, email: &str) -> Option<String> {
        let rows = self.biz.state.lock().unwrap();
        let inv = rows
            .invites
            .iter()
            .rev()
            .find(|i| i.email.eq_ignore_ascii_case(email));
        inv.map(|i| i.status.to_owned())
    }

    /// The role of the member `id`, `None` when there is none.
    pub fn role(&self, id: &str) -> Option<String> {
        let rows = self.biz.state.lock().unwrap();
        rows.members
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.role.clone())
    }

    /// The permissions of the member `id` on `asset` (empty for none).
    pub fn permissions(&self, asset: &str, id: &str) -> Vec<String> {
        let rows = self.biz.state.lock().unwrap();
        let held = rows.access.get(asset).and_then(|a| a.get(id));
        held.cloned().unwrap_or_default()
    }

    /// Sets the requests allowed a minute from now on.
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.biz.limit.set_limit(per_minute);
    }
}

fn new_id(b: &Biz) -> String {
    (500_000_000_000_001_000 + b.next.fetch_add(1, Ordering::Relaxed)).to_string()
}

type Q = Vec<(String, String)>;

/// An answer with the rate-limit headers (`left` requests left in the window) and a request id.
fn answer(b: &Biz, left: u32, status: StatusCode, body: Value) -> Response {
    static REQUESTS: AtomicU64 = AtomicU64::new(1);
    let rid = format!("standin{:08}", REQUESTS.fetch_add(1, Ordering::Relaxed));
    let headers = vec![
        ("x-ratelimit-limit", b.limit.limit().to_string()),
        ("x-ratelimit-remaining", left.to_string()),
        ("x-ratelimit-reset", b.limit.resets_in().to_string()),
        ("x-pinterest-rid", rid),
    ];
    kit::reply(status, headers, body)
}

/// An error answer: `{"code", "message"}`.
fn error(b: &Biz, left: u32, status: u16, code: u32, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    answer(b, left, status, json!({ "code": code, "message": message }))
}

/// Counts the request and finds the token's user; for a business path, the business must be
/// this one and the user its `BIZ_ADMIN`. Returns the budget left and the user id.
fn gate(b: &Biz, h: &HeaderMap, business: Option<&str>) -> Result<(u32, String), Response> {
    let left = match b.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(_) => {
            let m = "This request exceeded a rate limit. This can happen if the client exceeds \
                     one of the published rate limits within a short time window.";
            return Err(error(b, 0, 429, 8, m));
        }
    };
    let token = kit::bearer(h);
    let Some((_, user)) = b.tokens.iter().find(|(t, _)| Some(t) == token.as_ref()) else {
        return Err(error(b, left, 401, 2, "Authentication failed."));
    };
    if let Some(business) = business {
        let rows = b.state.lock().unwrap();
        let admin = rows
            .members
            .iter()
            .any(|m| &m.id == user && m.role == "BIZ_ADMIN");
        if business != BUSINESS || !admin {
            let m = "You are not permitted to access that resource.";
            return Err(error(b, left, 403, 29, m));
        }
    }
    Ok((left, user.clone()))
}

/// A page of `rows` (each with its key) as `{"items", "bookmark"}`.
fn paged(q: &Q, rows: Vec<(String, Value)>) -> Out {
    let size = match param(q, "page_size").map(|s| s.parse::<usize>()) {
        None => 25,
        Some(Ok(n)) if (1..=250).contains(&n) => n,
        Some(_) => return Err((400, 1, "page_size must be between 1 and 250.".into())),
    };
    let after = param(q, "bookmark");
    let (page, next) = kit::page_after(&rows, |r| r.0.clone(), after.as_ref(), size);
    let items: Vec<Value> = page.into_iter().map(|r| r.1.clone()).collect();
    Ok(json!({ "items": items, "bookmark": next }))
}

fn user_json(id: Option<&str>, email: &str, username: Option<&str>) -> Value {
    json!({ "id": id, "email": email, "username": username })
}

fn member_json(m: &Member) -> Value {
    json!({"id": m.id, "business_roles": [m.role], "created_time": 1_646_767_577_816_u64,
        "user": user_json(Some(&m.id), &m.email, Some(&m.username)), "assets_summary": null})
}

fn invite_json(i: &Invite) -> Value {
    json!({"id": i.id, "business_roles": [i.role], "is_received_invite": false,
        "created_time": 1_646_767_577_816_u64,
        "invite_data": {"invite_status": i.status, "invite_type": "MEMBER_INVITE",
            "invite_expiration": 1_709_748_104_775_u64},
        "user": user_json(None, &i.email, None)})
}

/// The answer of a handler's outcome: the body with 200, or the error it names.
fn finish(b: &Biz, left: u32, out: Out) -> Response {
    match out {
        Ok(v) => answer(b, left, StatusCode::OK, v),
        Err((status, code, m)) => error(b, left, status, code, &m),
    }
}

fn body_of(bytes: &Bytes) -> Out {
    serde_json::from_slice(bytes)
        .map_err(|_| (400, 1, "The request body is not valid JSON.".into()))
}

async fn user_account(State(b): State<Arc<Biz>>, h: HeaderMap) -> Response {
    let (left, user) = match gate(&b, &h, None) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let rows = b.state.lock().unwrap();
    let name = rows
        .members
        .iter()
        .find(|m| m.id == user)
        .map(|m| m.username.clone());
    let body = json!({"id": user, "username": name, "account_type": "BUSINESS",
        "business_name": null});
    answer(&b, left, StatusCode::OK, body)
}

async fn employers(State(b): State<Arc<Biz>>, h: HeaderMap, Query(q): Query<Q>) -> Response {
    let (left, user) = match gate(&b, &h, None) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let rows = b.state.lock().unwrap();
    let all = rows.members.iter().filter(|m| m.id == user).map(|m| {
        let row = json!({"id": BUSINESS, "business_roles": [m.role],
            "user": user_json(Some(BUSINESS), "", Some("acme_business"))});
        (BUSINESS.to_owned(), row)
    });
    finish(&b, left, paged(&q, all.collect()))
}

/// What a business call answers: its body, or `(status, code, message)`.
type Out = Result<Value, (u16, u32, String)>;

/// Every `/businesses/{business_id}/…` call, by method and the rest of its path.
async fn business(
    State(b): State<Arc<Biz>>,
    method: Method,
    h: HeaderMap,
    Path((business, rest)): Path<(String, String)>,
    Query(q): Query<Q>,
    bytes: Bytes,
) -> Response {
    let (left, _) = match gate(&b, &h, Some(&business)) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let mut rows = b.state.lock().unwrap();
    let body = || body_of(&bytes);
    let parts: Vec<&str> = rest.split('/').collect();
    let out = match (&method, parts.as_slice()) {
        (&Method::GET, ["members"]) => list_members(&rows, &q),
        (&Method::PATCH, ["members"]) => body().and_then(|v| update_roles(&mut rows, &v)),
        (&Method::DELETE, ["members"]) => body().map(|v| terminate(&mut rows, &v)),
        (&Method::GET, ["invites"]) => list_invites(&rows, &q),
        (&Method::POST, ["invites"]) => body().and_then(|v| send_invites(&b, &mut rows, &v)),
        (&Method::DELETE, ["invites"]) => body().map(|v| cancel_invites(&mut rows, &v)),
        (&Method::GET, ["assets"]) => list_assets(&rows, &q),
        (&Method::GET, ["assets", asset, "members"]) => asset_members(&rows, asset, &q),
        (&Method::PATCH | &Method::DELETE, ["members", "assets", "access"]) => {
            let delete = method == Method::DELETE;
            body().and_then(|v| access(&mut rows, &v, delete))
        }
        _ => Err((
            404,
            404,
            format!("No {method} /businesses/{business}/{rest}."),
        )),
    };
    finish(&b, left, out)
}

/// The members, or those of `member_ids` (comma separated).
fn list_members(rows: &Rows, q: &Q) -> Out {
    let ids = param(q, "member_ids").unwrap_or_default();
    let wanted: Vec<&str> = ids
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .collect();
    let all = rows
        .members
        .iter()
        .filter(|m| wanted.is_empty() || wanted.contains(&m.id.as_str()));
    paged(q, all.map(|m| (m.id.clone(), member_json(m))).collect())
}

fn update_roles(rows: &mut Rows, v: &Value) -> Out {
    let mut done = Vec::new();
    for u in v.as_array().map_or(&[][..], Vec::as_slice) {
        let (id, role) = (
            u["member_id"].as_str().unwrap_or(""),
            u["business_role"].as_str().unwrap_or(""),
        );
        if !ROLES.contains(&role) {
            return Err((
                400,
                1,
                "business_role must be one of EMPLOYEE, BIZ_ADMIN.".into(),
            ));
        }
        let Some(m) = rows.members.iter_mut().find(|m| m.id == id) else {
            return Err((404, 404, format!("Member {id} not found.")));
        };
        m.role = role.to_owned();
        done.push(json!({"member_id": id, "business_role": role}));
    }
    match done.is_empty() {
        true => Err((400, 1, "At least one member is required.".into())),
        false => Ok(json!({ "items": done })),
    }
}

/// Ends the memberships named with their role; their asset permissions go with them.
fn terminate(rows: &mut Rows, v: &Value) -> Value {
    let mut deleted = Vec::new();
    for d in v["members"].as_array().map_or(&[][..], Vec::as_slice) {
        let (id, role) = (
            d["member_id"].as_str().unwrap_or(""),
            d["business_role"].as_str().unwrap_or(""),
        );
        if let Some(i) = rows
            .members
            .iter()
            .position(|m| m.id == id && m.role == role)
        {
            rows.members.remove(i);
            for a in rows.access.values_mut() {
                a.remove(id);
            }
            deleted.push(id.to_owned());
        }
    }
    json!({ "deleted_members": deleted })
}

/// The member invitations with the statuses asked (all without `invite_status`); none for
/// partners' (`is_member=false` or another `invite_type`).
fn list_invites(rows: &Rows, q: &Q) -> Out {
    let statuses: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "invite_status")
        .map(|(_, v)| v.as_str())
        .collect();
    let partners = param(q, "is_member").as_deref() == Some("false")
        || param(q, "invite_type").is_some_and(|t| t != "MEMBER_INVITE");
    let all = rows
        .invites
        .iter()
        .filter(|i| !partners && (statuses.is_empty() || statuses.contains(&i.status)));
    paged(q, all.map(|i| (i.id.clone(), invite_json(i))).collect())
}

fn send_invites(b: &Biz, rows: &mut Rows, v: &Value) -> Out {
    let role = v["business_role"].as_str().unwrap_or("");
    if v["invite_type"] != "MEMBER_INVITE" || !ROLES.contains(&role) {
        return Err((
            400,
            1,
            "Only MEMBER_INVITE with EMPLOYEE or BIZ_ADMIN is modelled.".into(),
        ));
    }
    let people = v["members"].as_array().map_or(&[][..], Vec::as_slice);
    if people.is_empty() || people.len() > 50 {
        return Err((400, 1, "members must list 1 to 50 people.".into()));
    }
    let mut items = Vec::new();
    for p in people {
        let who = p.as_str().unwrap_or("").trim().to_lowercase();
        let exception = |code: u32, message: &str| {
            json!({"exception": {"code": code, "message": message,
                "users_or_partner_ids": [who]}, "invite": null})
        };
        let taken = rows.members.iter().any(|m| m.email == who)
            || rows
                .invites
                .iter()
                .any(|i| i.email == who && i.status == "PENDING");
        if !who.contains('@') {
            items.push(exception(404, "No Pinterest user has this username."));
        } else if taken {
            items.push(exception(
                409,
                "This person is already a member or invited.",
            ));
        } else {
            let id = new_id(b);
            let accepted = b.at_once.load(Ordering::Relaxed);
            rows.invites.push(Invite {
                id: id.clone(),
                email: who.clone(),
                role: role.to_owned(),
                status: if accepted { "ACCEPTED" } else { "PENDING" },
            });
            if accepted {
                let username = who.split('@').next().unwrap_or_default().to_owned();
                let m = Member {
                    id: new_id(b),
                    email: who.clone(),
                    username,
                    role: role.to_owned(),
                };
                rows.members.push(m);
            }
            items.push(json!({"exception": null, "invite": {"id": id,
                "user": user_json(None, &who, None)}}));
        }
    }
    Ok(json!({ "items": items }))
}

fn cancel_invites(rows: &mut Rows, v: &Value) -> Value {
    let ids = v["invite_ids"].as_array().map_or(&[][..], Vec::as_slice);
    let items: Vec<Value> = ids
        .iter()
        .map(|id| {
            let id = id.as_str().unwrap_or("");
            match rows
                .invites
                .iter_mut()
                .find(|i| i.id == id && i.status == "PENDING")
            {
                Some(i) => {
                    i.status = "CANCELLED";
                    json!({"exception": null, "invite": invite_json(i)})
                }
                None => json!({"exception": {"invite_id": id, "message":
                    "Business Invite request cannot be performed on current invitation status."},
                    "invite": null}),
            }
        })
        .collect();
    json!({ "items": items })
}

/// The assets of `asset_type` (default `AD_ACCOUNT`).
fn list_assets(rows: &Rows, q: &Q) -> Out {
    let kind = param(q, "asset_type").unwrap_or_else(|| "AD_ACCOUNT".into());
    let all = rows.assets.iter().filter(|(_, t)| **t == kind);
    let all = all.map(|(id, t)| (id.clone(), json!({"asset_id": id, "asset_type": t})));
    paged(q, all.collect())
}

/// The members with permissions on `asset`.
fn asset_members(rows: &Rows, asset: &str, q: &Q) -> Out {
    if !rows.assets.contains_key(asset) {
        return Err((404, 404, "Asset not found.".into()));
    }
    let held = rows.access.get(asset).cloned().unwrap_or_default();
    let all = held.into_iter().filter_map(|(id, perms)| {
        let m = rows.members.iter().find(|m| m.id == id)?;
        let user = user_json(Some(&m.id), &m.email, Some(&m.username));
        Some((id, json!({ "permissions": perms, "user": user })))
    });
    paged(q, all.collect())
}

/// Sets (or, to `delete`, takes away) members' permissions on assets.
fn access(rows: &mut Rows, v: &Value, delete: bool) -> Out {
    let accesses = v["accesses"].as_array().map_or(&[][..], Vec::as_slice);
    let mut items = Vec::new();
    for a in accesses {
        let asset = a["asset_id"].as_str().unwrap_or("");
        let id = a["member_id"].as_str().unwrap_or("");
        let Some(kind) = rows.assets.get(asset).copied() else {
            return Err((404, 404, format!("Asset {asset} not found.")));
        };
        if !rows.members.iter().any(|m| m.id == id) {
            return Err((404, 404, format!("Member {id} not found.")));
        }
        let held = rows.access.entry(asset.to_owned()).or_default();
        if delete {
            held.remove(id);
            items.push(json!({"asset_id": asset, "member_id": id}));
            continue;
        }
        let allowed: &[&str] = match kind {
            "PROFILE" => &PROFILE_PERMISSIONS,
            _ => &AD_ACCOUNT_PERMISSIONS,
        };
        let perms: Vec<String> = strings(&a["permissions"]);
        if perms.is_empty() || !perms.iter().all(|p| allowed.contains(&p.as_str())) {
            let m = format!("permissions must be some of {allowed:?} on a {kind}.");
            return Err((400, 1, m));
        }
        held.insert(id.to_owned(), perms.clone());
        let done = json!({"asset_id": asset, "member_id": id, "permissions": perms});
        items.push(json!({ "response": done }));
    }
    match items.is_empty() {
        true => Err((400, 1, "accesses must list 1 to 50 accesses.".into())),
        false => Ok(json!({ "items": items })),
    }
}

/// The strings of a JSON array (none for anything else).
fn strings(v: &Value) -> Vec<String> {
    let all = v.as_array().map_or(&[][..], Vec::as_slice);
    all.iter()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect()
}
