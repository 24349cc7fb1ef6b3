//! **A stand-in for Slack's SCIM API (version 2.0), not Slack.** It serves the endpoints the
//! `slack` connector uses, in Slack's shapes, from memory, one workspace per [`Slack`], under
//! `/scim/v2` (Slack's base URL is `https://api.slack.com/scim/v2`):
//!
//! - `GET /ServiceProviderConfig`: PATCH and filters supported, `filter.maxResults` (1,000 unless
//!   a test lowers it, see [`Slack::set_max_results`]).
//! - `GET /Users?startIndex=…&count=…&filter=…`: a list response (`Resources`, `totalResults`,
//!   `itemsPerPage`, `startIndex`), ten users a page by default, `count` capped at
//!   `maxResults`; filters `userName eq "…"` and `email eq "…"` (attribute and operator in any
//!   case, the value a JSON string, compared without case); another filter is 400
//!   `invalid_query`.
//! - `GET /Users/{id}`, `POST /Users`, `PATCH /Users/{id}` (`PatchOp`: `replace` of `active`;
//!   `add` of the guest extension `urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User`
//!   with `{"type": "multi"}` makes a multi-channel guest, `remove` of it a full member, both
//!   reactivating a deactivated user), `DELETE /Users/{id}` (deactivates: `active: false`, 204).
//! - `GET /Groups`, `GET /Groups/{id}`, `PATCH /Groups/{id}` (`add` on `members`, `remove` on
//!   `members[value eq "U…"]` or, as Slack's own example writes it, `members[value eq U…]`,
//!   `remove` or `replace` of all `members`).
//!
//! Users carry `id` (`U…`), `userName` (Slack's: an address given as `userName` becomes its
//! local part; characters other than letters, digits, `.`, `_` and `-` become `_`; at most 21
//! characters), `nickName`, `name`, `displayName`, `active`, `emails` (the primary one), `groups`
//! and, for guests, the guest extension with `type` `multi` or `single`. Tokens (Bearer): the
//! primary owner's user token with the `admin` scope; a full member's token (the stand-in's
//! model of a token whose user is no Owner or Admin: 403 `permission_denied` on every call);
//! anything else 401 `invalid_authentication` (no token: `missing_authentication`). Errors are
//! SCIM 2.0 error bodies with Slack's codes as `detail` and the status as a number:
//! `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "detail":
//! "missing_schema_element", "status": 400}`. Past the organization-wide limits (1,000 reads
//! and 600 writes a minute), 429 with `Retry-After` and `too_many_requests`.
//!
//! The stand-in's choices where Slack's reference is silent: 404 `no_such_user` and
//! `no_such_group`; 409 `email_taken` for an address any user (deactivated ones included) has;
//! a taken `userName` gets a number appended; a token whose user is not an Owner or Admin is
//! 403 on reads too; deleting a deactivated user is 204 again; the primary owner cannot be
//! deactivated (400 `cannot_disable_primary_owner`), Owners and Admins cannot be made guests
//! (400 `cannot_make_user_guest`), deactivated users and single-channel guests cannot join a
//! group (400 `unable_to_add_deleted_or_guest_to_group`); the guest extension of a
//! single-channel guest reads `{"type": "single"}` (single-channel guests are made in Slack's
//! admin pages, see [`Slack::seed`]). Not modelled: `PUT`, `POST` and `DELETE` of groups,
//! profile fields beyond names and the primary address, guest expiration and channels,
//! Enterprise Grid workspaces, the per-endpoint limits, the lock of a user being updated, SCIM
//! 1.1. Pages followed:
//! - Using the SCIM API: <https://docs.slack.dev/admins/scim-api>
//! - Reference (v2.0 users, groups, filters, errors):
//!   <https://docs.slack.dev/reference/scim-api>
//! - Rate limits: <https://docs.slack.dev/reference/scim-api/rate-limits>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

mod groups;
mod users;

use groups::{get_group, list_groups, patch_group};
use users::{create_user, delete_user, get_user, list_users, patch_user, user_json};

/// Slack's guest extension of a User.
pub const GUEST: &str = "urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The most users a page unless a test lowers it.
pub const MAX_RESULTS: usize = 1000;
/// Account types, as [`Slack::seed`] takes them.
const KINDS: [&str; 6] = [
    "primary_owner",
    "owner",
    "admin",
    "member",
    "multi_channel_guest",
    "single_channel_guest",
];

/// A running stand-in of one Slack workspace: its SCIM base URL, the primary owner (the
/// automation account: address, user id, token) and a full member's token.
#[derive(Debug, Clone)]
pub struct Slack {
    /// `http://127.0.0.1:<port>/scim/v2`, the SCIM base URL.
    pub base_url: String,
    /// The primary owner's address.
    pub owner_email: String,
    /// The primary owner's user id.
    pub owner_id: String,
    /// The primary owner's user token with the `admin` scope.
    pub owner_token: String,
    /// A full member's user token (no Owner or Admin).
    pub member_token: String,
    org: Arc<Org>,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    user_name: String,
    email: String,
    name: String,
    kind: &'static str,
    active: bool,
}

#[derive(Debug, Clone)]
struct Group {
    id: String,
    name: String,
    members: Vec<String>,
}

#[derive(Debug, Default)]
struct Rows {
    users: Vec<User>,
    groups: Vec<Group>,
}

#[derive(Debug)]
struct Org {
    rows: Mutex<Rows>,
    /// `(token, user id)`.
    tokens: Vec<(String, String)>,
    reads: RateLimit,
    writes: RateLimit,
    max_results: AtomicUsize,
    next: AtomicU64,
    /// `"<METHOD> <path>[?filter]"` of every request, for tests.
    log: Mutex<Vec<String>>,
    base_url: Mutex<String>,
}

impl Org {
    fn new_id(&self, prefix: char) -> String {
        format!("{prefix}{:08}", self.next.fetch_add(1, Ordering::Relaxed))
    }
}

impl Slack {
    /// Starts a workspace with its primary owner (`owner@standin.test`) and a full member.
    pub fn start() -> Self {
        static N: AtomicU64 = AtomicU64::new(1);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let org = Arc::new(Org {
            rows: Mutex::new(Rows::default()),
            tokens: vec![
                (format!("xoxp-owner-{n}"), "U00000001".into()),
                (format!("xoxp-member-{n}"), "U00000002".into()),
            ],
            reads: RateLimit::new(1000, Duration::from_secs(60)),
            writes: RateLimit::new(600, Duration::from_secs(60)),
            max_results: AtomicUsize::new(MAX_RESULTS),
            next: AtomicU64::new(100),
            log: Mutex::new(Vec::new()),
            base_url: Mutex::new(String::new()),
        });
        {
            let mut rows = org.rows.lock().unwrap();
            let u = |id: &str, name: &str, email: &str, kind| User {
                id: id.into(),
                user_name: user_name(email, &[]),
                email: email.into(),
                name: name.into(),
                kind,
                active: true,
            };
            rows.users.push(u(
                "U00000001",
                "Castellan bot",
                "owner@standin.test",
                "primary_owner",
            ));
            rows.users
                .push(u("U00000002", "Plain", "plain@standin.test", "member"));
        }
        let routes = Router::new()
            .route("/ServiceProviderConfig", get(config))
            .route("/Users", get(list_users).post(create_user))
            .route(
                "/Users/{id}",
                get(get_user).patch(patch_user).delete(delete_user),
            )
            .route("/Groups", get(list_groups))
            .route("/Groups/{id}", get(get_group).patch(patch_group))
            .with_state(org.clone());
        let origin = kit::spawn(Router::new().nest("/scim/v2", routes)).base_url;
        let base_url = format!("{origin}/scim/v2");
        org.base_url.lock().unwrap().clone_from(&base_url);
        Self {
            base_url,
            owner_email: "owner@standin.test".into(),
            owner_id: "U00000001".into(),
            owner_token: org.tokens[0].0.clone(),
            member_token: org.tokens[1].0.clone(),
            org,
        }
    }

    /// Makes sure a user with `email` exists, as Slack's admin pages would make one, with the
    /// account type `kind` (`primary_owner`, `owner`, `admin`, `member`,
    /// `multi_channel_guest`, `single_channel_guest`); returns their id.
    ///
    /// Panics on another kind (a test's mistake).
    pub fn seed(&self, email: &str, name: &str, kind: &str) -> String {
        let kind = KINDS
            .into_iter()
            .find(|k| *k == kind)
            .unwrap_or_else(|| panic!("no Slack account type {kind}"));
        let id = self.org.new_id('U');
        let mut rows = self.org.rows.lock().unwrap();
        if let Some(u) = rows
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
        {
            return u.id.clone();
        }
        let taken: Vec<String> = rows.users.iter().map(|u| u.user_name.clone()).collect();
        rows.users.push(User {
            id: id.clone(),
            user_name: user_name(email, &taken),
            email: email.to_lowercase(),
            name: name.into(),
            kind,
            active: true,
        });
        id
    }

    /// Makes a group (an IdP group) called `name`; returns its id.
    pub fn group(&self, name: &str) -> String {
        let id = self.org.new_id('S');
        let g = Group {
            id: id.clone(),
            name: name.into(),
            members: Vec::new(),
        };
        self.org.rows.lock().unwrap().groups.push(g);
        id
    }

    /// The ids of the group's members, in the order they joined.
    pub fn group_members(&self, id: &str) -> Vec<String> {
        let rows = self.org.rows.lock().unwrap();
        let g = rows.groups.iter().find(|g| g.id == id);
        g.map(|g| g.members.clone()).unwrap_or_default()
    }

    /// The user with `email` as Slack's SCIM API shows them.
    pub fn user(&self, email: &str) -> Option<Value> {
        let rows = self.org.rows.lock().unwrap();
        let u = rows
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))?;
        Some(user_json(&self.base_url, &rows, u))
    }

    /// `"<METHOD> <path>"` of every request so far (with `?filter=…` for filtered listings).
    pub fn requests(&self) -> Vec<String> {
        self.org.log.lock().unwrap().clone()
    }

    /// Caps the users a page at `n` (`filter.maxResults`), so tests page without seeding
    /// thousands of users.
    pub fn set_max_results(&self, n: usize) {
        self.org.max_results.store(n, Ordering::Relaxed);
    }

    /// Sets the reads and writes allowed a minute from now on.
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.org.reads.set_limit(per_minute);
        self.org.writes.set_limit(per_minute);
    }
}

/// Slack's `userName` for `given` (an address's local part; other characters than letters,
/// digits, `.`, `_`, `-` as `_`; at most 21), with a number appended when it is `taken`.
fn user_name(given: &str, taken: &[String]) -> String {
    let local = given.split('@').next().unwrap_or(given).to_lowercase();
    let base: String = local
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                true => c,
                false => '_',
            },
        )
        .take(21)
        .collect();
    let mut name = base.clone();
    let mut n = 1;
    while taken.contains(&name) {
        n += 1;
        let suffix = n.to_string();
        name = format!("{}{suffix}", &base[..base.len().min(21 - suffix.len())]);
    }
    name
}

fn error(status: StatusCode, detail: &str) -> Response {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": detail, "status": status.as_u16()});
    kit::reply(status, vec![], body)
}

fn bad(detail: &str) -> Response {
    error(StatusCode::BAD_REQUEST, detail)
}

type Q = Vec<(String, String)>;

fn param<'q>(q: &'q Q, k: &str) -> Option<&'q str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Logs and counts the request, and checks the token: its user must be an Owner or Admin.
fn gate(org: &Org, h: &HeaderMap, method: &Method, path: &str) -> Result<(), Response> {
    org.log.lock().unwrap().push(format!("{method} {path}"));
    let budget = match *method == Method::GET {
        true => &org.reads,
        false => &org.writes,
    };
    if let Budget::Wait(secs) = budget.take() {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "detail": "too_many_requests", "status": 429});
        let wait = vec![("retry-after", secs.to_string())];
        return Err(kit::reply(StatusCode::TOO_MANY_REQUESTS, wait, body));
    }
    let Some(token) = kit::bearer(h) else {
        return Err(error(StatusCode::UNAUTHORIZED, "missing_authentication"));
    };
    let Some((_, id)) = org.tokens.iter().find(|(t, _)| *t == token) else {
        return Err(error(StatusCode::UNAUTHORIZED, "invalid_authentication"));
    };
    let rows = org.rows.lock().unwrap();
    let caller = rows.users.iter().find(|u| u.id == *id);
    match caller.is_some_and(|u| u.active && ["primary_owner", "owner", "admin"].contains(&u.kind))
    {
        true => Ok(()),
        false => Err(error(StatusCode::FORBIDDEN, "permission_denied")),
    }
}

/// A page of `rows` as a list response from `startIndex` (1-based) and `count` (default 10,
/// capped at `maxResults`).
fn list(org: &Org, q: &Q, rows: Vec<Value>) -> Response {
    let start = param(q, "startIndex")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let max = org.max_results.load(Ordering::Relaxed);
    let count = param(q, "count")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10usize)
        .min(max);
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(start - 1).take(count).collect();
    let body = json!({"schemas": [LIST], "Resources": page, "totalResults": total,
        "itemsPerPage": page.len(), "startIndex": start});
    kit::reply(StatusCode::OK, vec![], body)
}

async fn config(State(org): State<Arc<Org>>, h: HeaderMap) -> Response {
    if let Err(r) = gate(&org, &h, &Method::GET, "/ServiceProviderConfig") {
        return r;
    }
    let max = org.max_results.load(Ordering::Relaxed);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true}, "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max}, "changePassword": {"supported": false},
        "sort": {"supported": false}, "etag": {"supported": false},
        "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard"}],
    });
    kit::reply(StatusCode::OK, vec![], body)
}

/// The `Operations` of a PATCH body (RFC 7644 §3.5.2).
///
/// Errors: 400 `missing_schema_element` without the `PatchOp` schema.
fn operations(b: &Value) -> Result<&[Value], Response> {
    match (b["schemas"][0] == PATCH_OP, b["Operations"].as_array()) {
        (true, Some(ops)) => Ok(ops),
        _ => Err(bad("missing_schema_element")),
    }
}
