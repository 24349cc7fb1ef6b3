//! **A stand-in for Calendly's API v2 (users, organization memberships and invitations), not
//! Calendly.** It serves the endpoints the `calendly` connector uses, in Calendly's shapes, from
//! memory, one organization per [`Calendly`]:
//!
//! - `GET /users/me`: `{"resource": {"uri", "name", "email", "current_organization", …}}`.
//! - `GET /organization_memberships?organization=…&user=…&email=…&count=…&page_token=…`,
//!   `GET|DELETE /organization_memberships/{uuid}`: memberships `{"uri", "role", "user": {…},
//!   "organization"}`; an owner cannot be removed (403).
//! - `GET|POST /organizations/{uuid}/invitations` (`status`, `email`, `count`, `page_token`;
//!   `{"email"}`), `GET|DELETE /organizations/{uuid}/invitations/{uuid}`: invitations `{"uri",
//!   "organization", "email", "status": "pending" | "revoked" | …}`.
//!
//! Collections are `{"collection": [...], "pagination": {"count", "next_page",
//! "next_page_token", "previous_page", "previous_page_token"}}` (`count` at most 100, default
//! 20). Personal access tokens (Bearer): the owner's, and a plain `user`'s (who may read but not
//! manage members: 403). Errors are `{"title", "message", "details"}`: 401 `Unauthenticated`,
//! 403 `Permission Denied`, 404 `Resource Not Found`, 400 `Invalid Argument` with `details`,
//! and (the stand-in's choice, not shown in the reference) 409 `Already Invited` for an address
//! with a pending invitation or a membership. Every answer carries `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds); past the per-minute limit, 429
//! with those headers and no `Retry-After`, as Calendly answers.
//!
//! Not modelled: groups, event types, scheduling, role changes (Calendly's API has none).
//! Pages followed:
//! - Memberships:
//!   <https://developer.calendly.com/api-docs/calendly-api/organizations/list-organization-memberships>
//! - Revoke an invitation:
//!   <https://developer.calendly.com/api-docs/calendly-api/organizations/revoke-organization-invitation>
//! - Rate limits: <https://developer.calendly.com/api-docs/overview/rate-limits>

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

/// Requests a minute before 429 unless a test sets another (above Calendly's 500 for paid
/// plans, so the conformance suite runs at full speed).
pub const DEFAULT_LIMIT: u32 = 10_000;
const ORG: &str = "ORGSTANDIN000001";

/// A running stand-in of one Calendly organization: its base URL, the owner's personal access
/// token and membership, and a plain member's token.
#[derive(Debug, Clone)]
pub struct Calendly {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The owner's personal access token.
    pub owner_token: String,
    /// The owner's membership uuid.
    pub owner_membership: String,
    /// A `user` member's personal access token.
    pub user_token: String,
    org: Arc<Organization>,
}

#[derive(Debug)]
struct Organization {
    state: Mutex<Rows>,
    tokens: Vec<(String, String)>,
    limit: RateLimit,
    next: AtomicU64,
    base_url: Mutex<String>,
}

#[derive(Debug, Default)]
struct Rows {
    /// `(membership uuid, user uuid, name, email, role)`, by uuid.
    members: Vec<(String, String, String, String, String)>,
    /// `(invitation uuid, email, status)`, by uuid.
    invitations: Vec<(String, String, String)>,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl Calendly {
    /// Starts an organization with its owner and a `user`.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let member = |m: &str, u: &str, name: &str, email: &str, role: &str| {
            (m.into(), u.into(), name.into(), email.into(), role.into())
        };
        let org = Arc::new(Organization {
            state: Mutex::new(Rows {
                members: vec![
                    member(
                        "M0000000000000001",
                        "U0000000000000001",
                        "Owner",
                        "owner@standin.test",
                        "owner",
                    ),
                    member(
                        "M0000000000000002",
                        "U0000000000000002",
                        "Plain",
                        "user@standin.test",
                        "user",
                    ),
                ],
                invitations: vec![],
            }),
            tokens: vec![
                (format!("cal-owner-{n}"), "U0000000000000001".into()),
                (format!("cal-user-{n}"), "U0000000000000002".into()),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            next: AtomicU64::new(100),
            base_url: Mutex::new(String::new()),
        });
        let router = Router::new()
            .route("/users/me", get(me))
            .route("/organization_memberships", get(memberships))
            .route(
                "/organization_memberships/{uuid}",
                get(membership).delete(remove_membership),
            )
            .route(
                "/organizations/{org}/invitations",
                get(invitations).post(invite),
            )
            .route(
                "/organizations/{org}/invitations/{uuid}",
                get(show_invitation).delete(revoke),
            )
            .with_state(org.clone());
        let base_url = kit::spawn(router).base_url;
        *org.base_url.lock().unwrap() = base_url.clone();
        Self {
            base_url,
            owner_token: org.tokens[0].0.clone(),
            owner_membership: "M0000000000000001".into(),
            user_token: org.tokens[1].0.clone(),
            org,
        }
    }

    /// Makes sure a member with `email` and `role` exists (as if they accepted an invitation);
    /// returns its membership uuid.
    pub fn seed(&self, email: &str, name: &str, role: &str) -> String {
        let mut rows = self.org.state.lock().unwrap();
        if let Some(m) = rows
            .members
            .iter()
            .find(|m| m.3.eq_ignore_ascii_case(email))
        {
            return m.0.clone();
        }
        let n = self.org.next.fetch_add(1, Ordering::Relaxed);
        let (m, u) = (format!("M{n:016}"), format!("U{n:016}"));
        rows.members
            .push((m.clone(), u, name.into(), email.to_lowercase(), role.into()));
        m
    }

    /// The status of the invitation `uuid`, `None` when there is none.
    pub fn invitation_status(&self, uuid: &str) -> Option<String> {
        let rows = self.org.state.lock().unwrap();
        rows.invitations
            .iter()
            .find(|i| i.0 == uuid)
            .map(|i| i.2.clone())
    }

    /// Whether the membership `uuid` exists.
    pub fn has_membership(&self, uuid: &str) -> bool {
        self.org
            .state
            .lock()
            .unwrap()
            .members
            .iter()
            .any(|m| m.0 == uuid)
    }

    /// Sets the requests allowed a minute from now on.
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.org.limit.set_limit(per_minute);
    }
}

/// A request's answer: a JSON body and status, or a finished error response.
type Answer = Result<(StatusCode, Value), Response>;

fn api(o: &Organization) -> String {
    o.base_url.lock().unwrap().clone()
}

fn error(o: &Organization, left: u32, status: u16, title: &str, message: &str) -> Response {
    let body = json!({ "title": title, "message": message });
    limits(
        o,
        left,
        kit::reply(StatusCode::from_u16(status).unwrap(), vec![], body),
    )
}

/// 404 as Calendly answers it.
fn not_found(o: &Organization, left: u32) -> Response {
    let says = "The server could not find the requested resource.";
    error(o, left, 404, "Resource Not Found", says)
}

fn limits(o: &Organization, left: u32, mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", o.limit.limit().into());
    h.insert("x-ratelimit-remaining", left.into());
    h.insert("x-ratelimit-reset", 60.into());
    r
}

/// Counts the request; the caller's user uuid and role, who must be an owner or admin when
/// `manage`.
fn gate(o: &Organization, h: &HeaderMap, manage: bool) -> Result<(u32, String), Response> {
    let left = match o.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(secs) => {
            let mut r = error(o, 0, 429, "Too Many Requests", "Rate limit exceeded");
            r.headers_mut().insert("x-ratelimit-reset", secs.into());
            return Err(r);
        }
    };
    let token = kit::bearer(h).unwrap_or_default();
    let Some((_, user)) = o.tokens.iter().find(|(t, _)| *t == token) else {
        return Err(error(
            o,
            left,
            401,
            "Unauthenticated",
            "The access token is invalid",
        ));
    };
    let rows = o.state.lock().unwrap();
    let role = rows
        .members
        .iter()
        .find(|m| m.1 == *user)
        .map(|m| m.4.clone());
    if manage && !matches!(role.as_deref(), Some("owner" | "admin")) {
        let says = "You do not have permission to access this resource.";
        return Err(error(o, left, 403, "Permission Denied", says));
    }
    Ok((left, user.clone()))
}

fn respond(o: &Organization, left: u32, out: Answer) -> Response {
    match out {
        Ok((StatusCode::NO_CONTENT, _)) => limits(o, left, StatusCode::NO_CONTENT.into_response()),
        Ok((status, body)) => limits(o, left, (status, Json(body)).into_response()),
        Err(r) => r,
    }
}

fn membership_json(o: &Organization, m: &(String, String, String, String, String)) -> Value {
    let base = api(o);
    json!({
        "uri": format!("{base}/organization_memberships/{}", m.0),
        "role": m.4,
        "user": {"uri": format!("{base}/users/{}", m.1), "name": m.2, "email": m.3,
            "slug": m.2.to_lowercase(), "timezone": "UTC"},
        "organization": format!("{base}/organizations/{ORG}"),
        "created_at": "2024-01-01T00:00:00.000000Z",
    })
}

fn invitation_json(o: &Organization, i: &(String, String, String)) -> Value {
    let base = api(o);
    json!({
        "uri": format!("{base}/organizations/{ORG}/invitations/{}", i.0),
        "organization": format!("{base}/organizations/{ORG}"),
        "email": i.1,
        "status": i.2,
        "created_at": "2024-01-01T00:00:00.000000Z",
        "last_sent_at": "2024-01-01T00:00:00.000000Z",
    })
}

/// A page of `rows` (JSON, each with its key) after `page_token`, as a collection.
fn collection(
    o: &Organization,
    left: u32,
    rows: Vec<(String, Value)>,
    q: &[(String, String)],
    path: &str,
) -> Answer {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let count = match get("count").map(|c| c.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            let body = json!({"title": "Invalid Argument", "message": "The supplied parameters are invalid.",
                "details": [{"parameter": "count", "message": "must be between 1 and 100"}]});
            return Err(limits(
                o,
                left,
                kit::reply(StatusCode::BAD_REQUEST, vec![], body),
            ));
        }
    };
    let after = get("page_token");
    let (page, next) = kit::page_after(&rows, |r| r.0.clone(), after.as_ref(), count);
    let next_page = next
        .as_ref()
        .map(|t| format!("{}{path}?count={count}&page_token={t}", api(o)));
    let body = json!({
        "collection": page.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
        "pagination": {"count": page.len(), "next_page": next_page, "next_page_token": next,
            "previous_page": null, "previous_page_token": null},
    });
    Ok((StatusCode::OK, body))
}

async fn me(State(o): State<Arc<Organization>>, h: HeaderMap) -> Response {
    let (left, user) = match gate(&o, &h, false) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let rows = o.state.lock().unwrap();
    let m = rows.members.iter().find(|m| m.1 == user).unwrap();
    let base = api(&o);
    let body = json!({"resource": {"uri": format!("{base}/users/{}", m.1), "name": m.2,
        "email": m.3, "current_organization": format!("{base}/organizations/{ORG}"),
        "resource_type": "User"}});
    respond(&o, left, Ok((StatusCode::OK, body)))
}

async fn memberships(
    State(o): State<Arc<Organization>>,
    h: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let (left, _) = match gate(&o, &h, false) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let base = api(&o);
    if get("organization").is_some_and(|org| org != format!("{base}/organizations/{ORG}")) {
        return error(
            &o,
            left,
            403,
            "Permission Denied",
            "You do not have permission to access this resource.",
        );
    }
    let rows = o.state.lock().unwrap();
    let mut hits: Vec<(String, Value)> = rows
        .members
        .iter()
        .filter(|m| get("email").is_none_or(|e| m.3.eq_ignore_ascii_case(&e)))
        .filter(|m| get("user").is_none_or(|u| u == format!("{base}/users/{}", m.1)))
        .map(|m| (m.0.clone(), membership_json(&o, m)))
        .collect();
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    let out = collection(&o, left, hits, &q, "/organization_memberships");
    respond(&o, left, out)
}

async fn membership(
    State(o): State<Arc<Organization>>,
    h: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let (left, _) = match gate(&o, &h, false) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let rows = o.state.lock().unwrap();
    match rows.members.iter().find(|m| m.0 == uuid) {
        Some(m) => respond(
            &o,
            left,
            Ok((StatusCode::OK, json!({"resource": membership_json(&o, m)}))),
        ),
        None => not_found(&o, left),
    }
}

async fn remove_membership(
    State(o): State<Arc<Organization>>,
    h: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let (left, _) = match gate(&o, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let mut rows = o.state.lock().unwrap();
    match rows.members.iter().position(|m| m.0 == uuid) {
        Some(i) if rows.members[i].4 == "owner" => error(
            &o,
            left,
            403,
            "Permission Denied",
            "The owner cannot be removed from the organization.",
        ),
        Some(i) => {
            rows.members.remove(i);
            respond(&o, left, Ok((StatusCode::NO_CONTENT, Value::Null)))
        }
        None => not_found(&o, left),
    }
}

async fn invitations(
    State(o): State<Arc<Organization>>,
    h: HeaderMap,
    Path(org): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let (left, _) = match gate(&o, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if org != ORG {
        return not_found(&o, left);
    }
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let rows = o.state.lock().unwrap();
    let mut hits: Vec<(String, Value)> = rows
        .invitations
        .iter()
        .filter(|i| get("email").is_none_or(|e| i.1.eq_ignore_ascii_case(&e)))
        .filter(|i| get("status").is_none_or(|s| i.2 == s))
        .map(|i| (i.0.clone(), invitation_json(&o, i)))
        .collect();
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    let out = collection(
        &o,
        left,
        hits,
        &q,
        &format!("/organizations/{ORG}/invitations"),
    );
    respond(&o, left, out)
}

async fn invite(
    State(o): State<Arc<Organization>>,
    h: HeaderMap,
    Path(org): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let (left, _) = match gate(&o, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if org != ORG {
        return not_found(&o, left);
    }
    let email = body
        .and_then(|Json(b)| b["email"].as_str().map(|e| e.trim().to_lowercase()))
        .unwrap_or_default();
    if !email.contains('@') {
        let body = json!({"title": "Invalid Argument", "message": "The supplied parameters are invalid.",
            "details": [{"parameter": "email", "message": "is not a valid email"}]});
        return limits(&o, left, kit::reply(StatusCode::BAD_REQUEST, vec![], body));
    }
    let mut rows = o.state.lock().unwrap();
    let pending = rows
        .invitations
        .iter()
        .any(|i| i.1 == email && i.2 == "pending");
    if pending || rows.members.iter().any(|m| m.3 == email) {
        return error(
            &o,
            left,
            409,
            "Already Invited",
            "This user is already invited or a member.",
        );
    }
    let uuid = format!("I{:016}", o.next.fetch_add(1, Ordering::Relaxed));
    let made = (uuid, email, "pending".to_owned());
    let body = json!({ "resource": invitation_json(&o, &made) });
    rows.invitations.push(made);
    respond(&o, left, Ok((StatusCode::CREATED, body)))
}

async fn show_invitation(
    State(o): State<Arc<Organization>>,
    h: HeaderMap,
    Path((org, uuid)): Path<(String, String)>,
) -> Response {
    let (left, _) = match gate(&o, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let rows = o.state.lock().unwrap();
    match rows.invitations.iter().find(|i| i.0 == uuid && org == ORG) {
        Some(i) => respond(
            &o,
            left,
            Ok((StatusCode::OK, json!({"resource": invitation_json(&o, i)}))),
        ),
        None => not_found(&o, left),
    }
}

async fn revoke(
    State(o): State<Arc<Organization>>,
    h: HeaderMap,
    Path((org, uuid)): Path<(String, String)>,
) -> Response {
    let (left, _) = match gate(&o, &h, true) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let mut rows = o.state.lock().unwrap();
    match rows
        .invitations
        .iter_mut()
        .find(|i| i.0 == uuid && org == ORG && i.2 == "pending")
    {
        Some(i) => {
            i.2 = "revoked".into();
            respond(&o, left, Ok((StatusCode::NO_CONTENT, Value::Null)))
        }
        None => not_found(&o, left),
    }
}
