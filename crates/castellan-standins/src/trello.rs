//! **A stand-in for Trello's REST API (one workspace's members), not Trello.** It serves the
//! endpoints the `trello` connector uses, under `/1` as `https://api.trello.com/1` does, from
//! memory, one workspace per [`Trello`]:
//!
//! - `GET /1/members/me?fields=…`: the token's member `{"id", "username", "fullName",
//!   "email", "confirmed"}`.
//! - `GET /1/organizations/{id}/memberships?filter=…&member=true&member_fields=…`: an array of
//!   `{"id", "idMember", "memberType": "admin" | "normal", "unconfirmed", "deactivated",
//!   "member": {"id", …the fields asked for}}`; `filter` is `all` (the default) or a
//!   comma-separated list of `active`, `admin`, `deactivated`, `me`, `normal`. No paging: the
//!   whole workspace every time, as Trello answers.
//! - `PUT /1/organizations/{id}/members?email=…&fullName=…&type=admin|normal`: adds the
//!   address's account, or makes an unconfirmed one (`unconfirmed: true` until the person
//!   signs up); an address already in the workspace gets the type.
//! - `PUT /1/organizations/{id}/members/{idMember}?type=…` (adds a member by id or sets the
//!   type), `DELETE /1/organizations/{id}/members/{idMember}/all` (off the workspace and its
//!   boards),
//!   `PUT /1/organizations/{id}/members/{idMember}/deactivated?value=true|false`.
//!
//! Workspaces and members are named by their 24-hex id or their name. The key and token come
//! in `Authorization: OAuth oauth_consumer_key="…", oauth_token="…"`; a wrong key is 401
//! `invalid key`, a wrong token 401 `invalid token`, a normal member's write 401 `unauthorized
//! permission requested`, a malformed id 400 `invalid id`, an unknown one 404 `The requested
//! resource was not found.` (plain-text bodies, as Trello's). Every answer carries
//! `X-Rate-Limit-Api-Token-Interval-Ms`, `-Max`, `-Remaining` and the same `X-Rate-Limit-Api-Key-*`
//! headers; past the limit of a window, 429 with `{"error": "API_TOKEN_LIMIT_EXCEEDED",
//! "message": "Rate limit exceeded"}` and no `Retry-After`.
//!
//! The stand-in's own choices, where Trello's reference is silent: members' `email` is shown to
//! the workspace's admins (`null` to others; Trello shows it where it may); the writes answer
//! `{"id", "memberships"}` (the connector reads none of them); deactivation in a free workspace
//! is 403 `deactivating members needs a paid workspace` ([`Trello::set_paid`]); an unconfirmed
//! account's username is its address's local part.
//!
//! Not modelled: boards, guests, Enterprise, the `/1/members/` limit of 100 requests per 900 s.
//! Pages followed:
//! - <https://developer.atlassian.com/cloud/trello/rest/api-group-organizations/>
//! - <https://developer.atlassian.com/cloud/trello/rest/api-group-members/>
//! - <https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/>
//! - <https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests a window before 429 unless a test sets another (above Trello's 100 a token, so the
/// conformance suite runs at full speed).
pub const DEFAULT_LIMIT: u32 = 100_000;
/// The workspace's name.
pub const ORG_NAME: &str = "castellan-standin";

/// A running stand-in of one Trello workspace: its base URL (`…/1`), ids, the API key, and the
/// tokens of its admin and of a normal member.
#[derive(Debug, Clone)]
pub struct Trello {
    /// `http://127.0.0.1:<port>/1`.
    pub base_url: String,
    /// The workspace's 24-hex id.
    pub org_id: String,
    /// The API key every request must carry.
    pub api_key: String,
    /// The workspace admin's token.
    pub admin_token: String,
    /// The admin's member id.
    pub admin_id: String,
    /// A normal member's token.
    pub normal_token: String,
    /// The normal member's id.
    pub normal_id: String,
    ws: Arc<Space>,
}

#[derive(Debug)]
struct Space {
    rows: Mutex<Rows>,
    org_id: String,
    key: String,
    tokens: Vec<(String, String)>,
    limit: RateLimit,
    window_ms: u64,
    next: AtomicU64,
    paid: AtomicBool,
    requests: Mutex<Vec<String>>,
}

#[derive(Debug, Clone)]
struct Account {
    id: String,
    username: String,
    full_name: String,
    email: String,
    confirmed: bool,
}

#[derive(Debug, Clone)]
struct Membership {
    id: String,
    member: String,
    kind: String,
    deactivated: bool,
}

#[derive(Debug, Default)]
struct Rows {
    accounts: Vec<Account>,
    memberships: Vec<Membership>,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl Trello {
    /// Starts a paid workspace with its admin and a normal member, counting requests in
    /// Trello's 10-second windows.
    pub fn start() -> Self {
        Self::start_with_window(Duration::from_secs(10))
    }

    /// As [`Trello::start`], with rate-limit windows of `window` (tests keep them short).
    pub fn start_with_window(window: Duration) -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let ws = Arc::new(Space {
            rows: Mutex::new(Rows::default()),
            org_id: format!("{:024x}", 0x5abb_0000_0000_u64 + n),
            key: format!("{n:032x}"),
            tokens: vec![
                (format!("ATTAadmin{n:08}"), hex_id(1)),
                (format!("ATTAnormal{n:08}"), hex_id(2)),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, window),
            window_ms: window.as_millis().try_into().unwrap_or(u64::MAX),
            next: AtomicU64::new(1),
            paid: AtomicBool::new(true),
            requests: Mutex::new(Vec::new()),
        });
        let t = Self {
            base_url: String::new(),
            org_id: ws.org_id.clone(),
            api_key: ws.key.clone(),
            admin_token: ws.tokens[0].0.clone(),
            admin_id: hex_id(1),
            normal_token: ws.tokens[1].0.clone(),
            normal_id: hex_id(2),
            ws: ws.clone(),
        };
        let people = [("admin", "Workspace Admin"), ("normal", "Plain Member")];
        for (i, (kind, name)) in people.into_iter().enumerate() {
            let id = t.add(&format!("{kind}@standin.test"), name, kind);
            assert_eq!(id, hex_id(i as u64 + 1));
        }
        let router = Router::new()
            .route("/1/members/me", get(me))
            .route("/1/organizations/{org}/memberships", get(memberships))
            .route("/1/organizations/{org}/members", put(invite))
            .route("/1/organizations/{org}/members/{member}", put(set_type))
            // Off the workspace and all its boards (the stand-in has no boards, so the plain
            // `DELETE …/members/{idMember}` is not served: a connector using it fails).
            .route(
                "/1/organizations/{org}/members/{member}/all",
                axum::routing::delete(remove),
            )
            .route(
                "/1/organizations/{org}/members/{member}/deactivated",
                put(deactivated),
            )
            .with_state(ws);
        Self {
            base_url: format!("{}/1", kit::spawn(router).base_url),
            ..t
        }
    }

    /// Adds a confirmed account, and its membership of type `kind` unless it is empty.
    fn add(&self, email: &str, name: &str, kind: &str) -> String {
        let mut rows = self.ws.rows.lock().unwrap();
        let id = account(&self.ws, &mut rows, email, name, true);
        if !kind.is_empty() {
            join(&mut rows, &id, kind);
        }
        id
    }

    /// Makes sure a confirmed member with `email` and the `kind` (`admin`, `normal`) is in the
    /// workspace (as if they accepted an invitation); returns the member id.
    pub fn seed(&self, email: &str, name: &str, kind: &str) -> String {
        if let Some(id) = self.account(email) {
            return id;
        }
        self.add(email, name, kind)
    }

    /// A confirmed Trello account with `email` outside the workspace; returns its member id.
    pub fn seed_account(&self, email: &str, name: &str) -> String {
        self.add(email, name, "")
    }

    /// The member id of the account with `email`.
    pub fn account(&self, email: &str) -> Option<String> {
        let rows = self.ws.rows.lock().unwrap();
        let a = rows
            .accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email));
        a.map(|a| a.id.clone())
    }

    /// The membership of the member `id`: its type, whether unconfirmed, whether deactivated.
    pub fn membership(&self, id: &str) -> Option<(String, bool, bool)> {
        let rows = self.ws.rows.lock().unwrap();
        let m = rows.memberships.iter().find(|m| m.member == id)?;
        let confirmed = rows.accounts.iter().any(|a| a.id == id && a.confirmed);
        Some((m.kind.clone(), !confirmed, m.deactivated))
    }

    /// Whether the workspace is on a paid plan (deactivation needs one).
    pub fn set_paid(&self, paid: bool) {
        self.ws.paid.store(paid, Ordering::Relaxed);
    }

    /// Sets the requests allowed a window from now on.
    pub fn set_rate_limit(&self, per_window: u32) {
        self.ws.limit.set_limit(per_window);
    }

    /// Every request served so far, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.ws.requests.lock().unwrap().clone()
    }
}

/// The 24-hex id of number `n`.
fn hex_id(n: u64) -> String {
    format!("5e00{n:020x}")
}

/// A handler's answer: a success, or an error answered early.
type Answer = Result<Response, Response>;
type Q = Query<Vec<(String, String)>>;
type Member = Path<(String, String)>;

const NOT_FOUND: &str = "The requested resource was not found.";

fn param(q: &[(String, String)], k: &str) -> Option<String> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// A plain-text answer with the rate-limit headers, as Trello's errors are.
fn text(ws: &Space, left: u32, status: u16, body: &str) -> Response {
    let r = (StatusCode::from_u16(status).unwrap(), body.to_owned()).into_response();
    limits(ws, left, r)
}

fn limits(ws: &Space, left: u32, mut r: Response) -> Response {
    let h = r.headers_mut();
    for scope in ["token", "key"] {
        let pairs = [
            ("interval-ms", ws.window_ms.to_string()),
            ("max", ws.limit.limit().to_string()),
            ("remaining", left.to_string()),
        ];
        for (what, v) in pairs {
            let k = format!("x-rate-limit-api-{scope}-{what}");
            if let (Ok(k), Ok(v)) = (k.parse::<axum::http::HeaderName>(), v.parse()) {
                h.insert(k, v);
            }
        }
    }
    r
}

/// The key and token of `Authorization: OAuth oauth_consumer_key="…", oauth_token="…"`.
fn oauth(h: &HeaderMap) -> (String, String) {
    let v = h.get("authorization").and_then(|v| v.to_str().ok());
    let params = v.and_then(|v| v.strip_prefix("OAuth ")).unwrap_or("");
    let get = |name: &str| {
        let found = params.split(',').find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k == name).then(|| v.trim_matches('"').to_owned())
        });
        found.unwrap_or_default()
    };
    (get("oauth_consumer_key"), get("oauth_token"))
}

/// A request: counted and recorded; the key, the token and the workspace `org` (none for `""`)
/// checked, and an admin caller for a `write`. The requests left in the window and the
/// caller's member id.
fn call(ws: &Space, p: &Parts, org: &str, write: bool) -> Result<(u32, String), Response> {
    let (method, uri) = (&p.method, &p.uri);
    ws.requests.lock().unwrap().push(format!("{method} {uri}"));
    let left = match ws.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(_) => {
            let body =
                json!({"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"});
            let r = kit::reply(StatusCode::TOO_MANY_REQUESTS, vec![], body);
            return Err(limits(ws, 0, r));
        }
    };
    let (key, token) = oauth(&p.headers);
    if key != ws.key {
        return Err(text(ws, left, 401, "invalid key"));
    }
    let Some((_, caller)) = ws.tokens.iter().find(|(t, _)| *t == token) else {
        return Err(text(ws, left, 401, "invalid token"));
    };
    if !org.is_empty() && org != ws.org_id && org != ORG_NAME {
        return Err(text(ws, left, 404, NOT_FOUND));
    }
    let kind = kind_of(&ws.rows.lock().unwrap(), caller);
    match (write, kind.as_deref()) {
        (_, None) if !org.is_empty() => {
            Err(text(ws, left, 401, "unauthorized permission requested"))
        }
        (true, Some(k)) if k != "admin" => {
            Err(text(ws, left, 401, "unauthorized permission requested"))
        }
        _ => Ok((left, caller.clone())),
    }
}

/// The caller's membership type, `None` outside the workspace.
fn kind_of(rows: &Rows, member: &str) -> Option<String> {
    let m = rows.memberships.iter().find(|m| m.member == member);
    m.map(|m| m.kind.clone())
}

/// Changes the account named by `member` (its id or username) under the lock with `change`,
/// then answers the workspace's memberships. 400 `invalid id` for a malformed name, 404 for an
/// unknown one.
fn on_member(
    ws: &Space,
    left: u32,
    member: &str,
    change: impl FnOnce(&mut Rows, &str) -> Result<(), Response>,
) -> Answer {
    {
        let mut rows = ws.rows.lock().unwrap();
        let hit = rows
            .accounts
            .iter()
            .find(|a| a.id == member || a.username == member);
        let id = match hit {
            Some(a) => a.id.clone(),
            None if member.len() == 24 && member.chars().all(|c| c.is_ascii_hexdigit()) => {
                return Err(text(ws, left, 404, NOT_FOUND))
            }
            None => return Err(text(ws, left, 400, "invalid id")),
        };
        change(&mut rows, &id)?;
    }
    let rows = ws.rows.lock().unwrap();
    let all: Vec<Value> = rows
        .memberships
        .iter()
        .map(|m| membership_json(&rows, m, None, true))
        .collect();
    let body = json!({"id": ws.org_id, "memberships": all});
    Ok(limits(ws, left, Json(body).into_response()))
}

fn membership_json(rows: &Rows, m: &Membership, fields: Option<&[&str]>, admin: bool) -> Value {
    let a = rows.accounts.iter().find(|a| a.id == m.member);
    let confirmed = a.is_some_and(|a| a.confirmed);
    let mut v = json!({"id": m.id, "idMember": m.member, "memberType": m.kind,
        "unconfirmed": !confirmed, "deactivated": m.deactivated});
    if let (Some(fields), Some(a)) = (fields, a) {
        let mut who = json!({"id": a.id});
        for f in fields {
            who[*f] = match *f {
                "fullName" => json!(a.full_name),
                "username" => json!(a.username),
                "email" if admin => json!(a.email),
                "email" => Value::Null,
                "confirmed" => json!(a.confirmed),
                _ => continue,
            };
        }
        v["member"] = who;
    }
    v
}

/// `type`, `normal` when absent: 400 for another value.
fn member_type(ws: &Space, left: u32, q: &[(String, String)]) -> Result<String, Response> {
    match param(q, "type").as_deref() {
        None | Some("normal") => Ok("normal".into()),
        Some("admin") => Ok("admin".into()),
        Some(_) => Err(text(ws, left, 400, "invalid value for type")),
    }
}

/// A new account for `email`, named by its address's local part (a number added when taken).
fn account(ws: &Space, rows: &mut Rows, email: &str, name: &str, confirmed: bool) -> String {
    let id = hex_id(ws.next.fetch_add(1, Ordering::Relaxed));
    let local = email.split('@').next().unwrap_or("").replace('.', "_");
    let taken = rows.accounts.iter().any(|a| a.username == local);
    let username = match taken {
        true => format!("{local}{}", rows.accounts.len()),
        false => local,
    };
    let (full_name, email) = (name.to_owned(), email.to_lowercase());
    let a = Account {
        id: id.clone(),
        username,
        full_name,
        email,
        confirmed,
    };
    rows.accounts.push(a);
    id
}

/// Puts the account `member` in the workspace with `kind`, or gives its membership `kind`.
fn join(rows: &mut Rows, member: &str, kind: &str) {
    match rows.memberships.iter_mut().find(|m| m.member == member) {
        Some(m) => m.kind = kind.to_owned(),
        None => {
            // One membership an account: its id is the account's, marked.
            let id = format!("5e01{}", member.get(4..).unwrap_or(""));
            let (member, kind) = (member.to_owned(), kind.to_owned());
            rows.memberships.push(Membership {
                id,
                member,
                kind,
                deactivated: false,
            });
        }
    }
}

async fn me(State(ws): S, p: Parts) -> Answer {
    let (left, caller) = call(&ws, &p, "", false)?;
    let rows = ws.rows.lock().unwrap();
    let a = rows.accounts.iter().find(|a| a.id == caller);
    let a = a.ok_or_else(|| text(&ws, left, 401, "invalid token"))?;
    let body = json!({"id": a.id, "username": a.username, "fullName": a.full_name,
        "email": a.email, "confirmed": a.confirmed});
    Ok(limits(&ws, left, Json(body).into_response()))
}

type S = State<Arc<Space>>;

async fn memberships(State(ws): S, p: Parts, Path(org): Path<String>, Query(q): Q) -> Answer {
    let (left, caller) = call(&ws, &p, &org, false)?;
    let filter = param(&q, "filter").unwrap_or_else(|| "all".into());
    let filters: Vec<&str> = filter.split(',').map(str::trim).collect();
    let known = ["all", "active", "admin", "deactivated", "me", "normal"];
    if filters.iter().any(|f| !known.contains(f)) {
        return Err(text(&ws, left, 400, "invalid value for filter"));
    }
    let keep = |m: &Membership| {
        filters.iter().any(|f| match *f {
            "all" => true,
            "active" => !m.deactivated,
            "deactivated" => m.deactivated,
            "me" => m.member == caller,
            kind => m.kind == kind,
        })
    };
    let fields = param(&q, "member_fields").unwrap_or_else(|| "fullName,username".into());
    let fields: Vec<&str> = fields.split(',').map(str::trim).collect();
    let nested = (param(&q, "member").as_deref() == Some("true")).then_some(fields.as_slice());
    let rows = ws.rows.lock().unwrap();
    let admin = kind_of(&rows, &caller).as_deref() == Some("admin");
    let all: Vec<Value> = rows
        .memberships
        .iter()
        .filter(|m| keep(m))
        .map(|m| membership_json(&rows, m, nested, admin))
        .collect();
    Ok(limits(&ws, left, Json(Value::Array(all)).into_response()))
}

async fn invite(State(ws): S, p: Parts, Path(org): Path<String>, Query(q): Q) -> Answer {
    let (left, _) = call(&ws, &p, &org, true)?;
    let email = param(&q, "email").unwrap_or_default().trim().to_lowercase();
    let name = param(&q, "fullName").unwrap_or_default();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return Err(text(&ws, left, 400, "invalid value for email"));
    }
    if name.is_empty() || name.trim() != name {
        return Err(text(&ws, left, 400, "invalid value for fullName"));
    }
    let kind = member_type(&ws, left, &q)?;
    // An address without an account gets an unconfirmed one.
    let id = {
        let mut rows = ws.rows.lock().unwrap();
        match rows.accounts.iter().find(|a| a.email == email) {
            Some(a) => a.id.clone(),
            None => account(&ws, &mut rows, &email, &name, false),
        }
    };
    on_member(&ws, left, &id, |rows, id| {
        join(rows, id, &kind);
        Ok(())
    })
}

async fn set_type(State(ws): S, p: Parts, Path((org, member)): Member, Query(q): Q) -> Answer {
    let (left, _) = call(&ws, &p, &org, true)?;
    let kind = member_type(&ws, left, &q)?;
    on_member(&ws, left, &member, |rows, id| {
        join(rows, id, &kind);
        Ok(())
    })
}

async fn remove(State(ws): S, p: Parts, Path((org, member)): Member) -> Answer {
    let (left, _) = call(&ws, &p, &org, true)?;
    on_member(&ws, left, &member, |rows, id| {
        let before = rows.memberships.len();
        rows.memberships.retain(|m| m.member != id);
        match rows.memberships.len() < before {
            true => Ok(()),
            false => Err(text(&ws, left, 404, NOT_FOUND)),
        }
    })
}

async fn deactivated(State(ws): S, p: Parts, Path((org, member)): Member, Query(q): Q) -> Answer {
    let (left, _) = call(&ws, &p, &org, true)?;
    let value = match param(&q, "value").as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(text(&ws, left, 400, "invalid value for value")),
    };
    if !ws.paid.load(Ordering::Relaxed) {
        let says = "deactivating members needs a paid workspace";
        return Err(text(&ws, left, 403, says));
    }
    on_member(&ws, left, &member, |rows, id| {
        match rows.memberships.iter_mut().find(|m| m.member == id) {
            Some(m) => {
                m.deactivated = value;
                Ok(())
            }
            None => Err(text(&ws, left, 404, NOT_FOUND)),
        }
    })
}
