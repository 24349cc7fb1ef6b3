//! **A stand-in for Asana's REST API 1.0 (an organization's users, workspace memberships and
//! teams), not Asana.** It serves the endpoints the `asana` connector uses, in Asana's shapes,
//! from memory, one organization per [`Asana`], under `/api/1.0`:
//!
//! - `GET /users/me`: `{"data": {gid, resource_type, name, email, workspaces}}`.
//! - `GET /workspaces/{gid}/workspace_memberships` (`user`: `me`, an email or a gid; `limit`,
//!   `offset`, `opt_fields`): compact records `{gid, resource_type, user: {gid, resource_type,
//!   name}, workspace}` with `user.email`, `is_active`, `is_admin` and `is_guest` when asked in
//!   `opt_fields`; removed users stay with `is_active` false.
//! - `POST /workspaces/{gid}/addUser` and `/removeUser` with `{"data": {"user": <email or
//!   gid>}}`: the user record, `{"data": {}}`.
//! - `GET /workspaces/{gid}/teams`, `GET /teams/{gid}/team_memberships`, `GET
//!   /team_memberships?team=…&user=…`, `POST /teams/{gid}/addUser` and `/removeUser`.
//!
//! Lists take `limit` (1–100) and answer `{"data": [...], "next_page": {"offset", "path",
//! "uri"} | null}`; without `limit`, everything and no `next_page`. Tokens (Bearer): an admin's
//! and a plain member's. Errors are `{"errors": [{"message", "help"}]}`: 401 `Not Authorized`,
//! 403 `Forbidden` (removing users needs an admin, changing a team needs one of its members),
//! 404 `Unknown object`, 400 for bad input and invalid offsets; 429 with `Retry-After` past the
//! per-minute budget.
//!
//! The stand-in's own choices where the reference is silent: `addUser` makes addresses of the
//! organization's domains (`example.com`, `standin.test`) members and others guests, and gives
//! a removed user their membership back; the `user` filter answers 404 for an address or gid
//! nobody has; offsets are the last row's gid in base64; `opt_fields` adds the fields above to
//! the compact records rather than choosing every field. Not modelled: several workspaces,
//! projects and tasks, team admins, view-only and limited access members, SCIM. Pages followed:
//! - <https://developers.asana.com/reference/getworkspacemembershipsforworkspace>
//! - <https://developers.asana.com/reference/adduserforworkspace>,
//!   <https://developers.asana.com/reference/removeuserforworkspace>
//! - <https://developers.asana.com/reference/getteamsforworkspace>,
//!   <https://developers.asana.com/reference/getteammembershipsforteam>,
//!   <https://developers.asana.com/reference/adduserforteam>
//! - <https://developers.asana.com/docs/pagination>, <https://developers.asana.com/docs/errors>,
//!   <https://developers.asana.com/docs/rate-limits>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests a minute before 429 unless a test sets another.
pub const DEFAULT_LIMIT: u32 = 10_000;
/// The organization's gid.
pub const WORKSPACE: &str = "1200000000000001";
/// The organization's email domains: other addresses join as guests.
const DOMAINS: [&str; 2] = ["example.com", "standin.test"];

/// A running stand-in of one Asana organization: its base URL (with `/api/1.0`), an admin's
/// and a plain member's tokens, the admin's gid and a team.
#[derive(Debug, Clone)]
pub struct Asana {
    /// `http://127.0.0.1:<port>/api/1.0`.
    pub base_url: String,
    /// The admin's personal access token.
    pub admin_token: String,
    /// A plain member's personal access token.
    pub member_token: String,
    /// The admin's user gid.
    pub admin_gid: String,
    /// The team `Marketing` (the admin is in it).
    pub team_gid: String,
    ws: Arc<Ws>,
}

#[derive(Debug, Clone)]
struct User {
    gid: String,
    name: String,
    email: String,
    active: bool,
    admin: bool,
    guest: bool,
}

#[derive(Debug, Default)]
struct Rows {
    users: Vec<User>,
    /// `(gid, name)`.
    teams: Vec<(String, String)>,
    /// Team gid → user gids.
    members: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug)]
struct Ws {
    state: Mutex<Rows>,
    /// `(token, user gid)`.
    tokens: Vec<(String, String)>,
    limit: RateLimit,
    next: AtomicU64,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl Asana {
    /// Starts an organization with an admin (in the team `Marketing`) and a plain member.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let (mut rows, next) = (Rows::default(), AtomicU64::new(1));
        let admin = add_user(
            &mut rows,
            &next,
            "admin@standin.test",
            "Castellan bot",
            "admin",
        );
        let member = add_user(&mut rows, &next, "member@standin.test", "Plain", "member");
        let team = "1230000000000001".to_owned();
        rows.teams.push((team.clone(), "Marketing".into()));
        let held = BTreeSet::from([admin.clone()]);
        rows.members.insert(team.clone(), held);
        let ws = Arc::new(Ws {
            state: Mutex::new(rows),
            tokens: vec![
                (format!("2/{n}/admin:pat"), admin.clone()),
                (format!("2/{n}/member:pat"), member),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            next,
        });
        let api = Router::new()
            .route("/users/me", get(me))
            .route("/workspaces/{ws}/workspace_memberships", get(memberships))
            .route("/workspaces/{ws}/{action}", post(workspace_user))
            .route("/workspaces/{ws}/teams", get(teams))
            .route("/teams/{team}/team_memberships", get(team_memberships))
            .route("/team_memberships", get(team_memberships_query))
            .route("/teams/{team}/{action}", post(team_user))
            .with_state(ws.clone());
        let base = kit::spawn(Router::new().nest("/api/1.0", api)).base_url;
        Self {
            base_url: format!("{base}/api/1.0"),
            admin_token: ws.tokens[0].0.clone(),
            member_token: ws.tokens[1].0.clone(),
            admin_gid: admin,
            team_gid: team,
            ws,
        }
    }

    /// Makes sure an active user with `email` and `role` (`admin`, `member`, `guest`) exists;
    /// returns their gid.
    pub fn seed(&self, email: &str, name: &str, role: &str) -> String {
        let mut rows = self.ws.state.lock().unwrap();
        add_user(&mut rows, &self.ws.next, email, name, role)
    }

    /// `(gid, active, admin, guest)` of the user with `email`.
    pub fn user(&self, email: &str) -> Option<(String, bool, bool, bool)> {
        let rows = self.ws.state.lock().unwrap();
        let u = rows
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))?;
        Some((u.gid.clone(), u.active, u.admin, u.guest))
    }

    /// Whether the user `gid` is in the team `team`.
    pub fn in_team(&self, team: &str, gid: &str) -> bool {
        let rows = self.ws.state.lock().unwrap();
        rows.members.get(team).is_some_and(|m| m.contains(gid))
    }

    /// Sets the requests allowed a minute from now on.
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.ws.limit.set_limit(per_minute);
    }
}

/// The gid of the user with `email`, made an active user with `role` (`admin`, `member`,
/// `guest`) when there is none.
fn add_user(rows: &mut Rows, next: &AtomicU64, email: &str, name: &str, role: &str) -> String {
    if let Some(u) = rows
        .users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(email))
    {
        return u.gid.clone();
    }
    let gid = (1_210_000_000_000_000 + next.fetch_add(1, Ordering::Relaxed)).to_string();
    rows.users.push(User {
        gid: gid.clone(),
        name: name.to_owned(),
        email: email.to_lowercase(),
        active: true,
        admin: role == "admin",
        guest: role == "guest",
    });
    gid
}

fn error(status: StatusCode, message: &str) -> Response {
    let help = "For more information on API status codes and how to handle them, read the docs \
                on errors: https://developers.asana.com/docs/errors";
    let body = json!({"errors": [{"message": message, "help": help}]});
    kit::reply(status, vec![], body)
}

fn unknown(what: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("{what}: Unknown object: {id}"),
    )
}

type Q = Vec<(String, String)>;

fn param(q: &Q, k: &str) -> Option<String> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// Counts the request and checks the token; the caller's gid.
fn gate(ws: &Ws, h: &HeaderMap) -> Result<String, Response> {
    if let Budget::Wait(secs) = ws.limit.take() {
        let says = "You've made too many requests and hit a rate limit. Please retry after the \
                    given amount of time.";
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, says);
        r.headers_mut().insert("retry-after", secs.into());
        return Err(r);
    }
    let token = kit::bearer(h).unwrap_or_default();
    match ws.tokens.iter().find(|(t, _)| *t == token) {
        Some((_, gid)) => Ok(gid.clone()),
        None => Err(error(StatusCode::UNAUTHORIZED, "Not Authorized")),
    }
}

/// `gate` for a path in the organization `ws_gid`.
fn in_workspace(ws: &Ws, h: &HeaderMap, ws_gid: &str) -> Result<String, Response> {
    let me = gate(ws, h)?;
    match ws_gid == WORKSPACE {
        true => Ok(me),
        false => Err(unknown("workspace", ws_gid)),
    }
}

/// A page of `rows` (each with its gid, in gid order) after the `offset` of `q`, as Asana
/// answers it at `path`.
fn page(q: &Q, rows: Vec<(String, Value)>, path: &str) -> Response {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Some(limit) = param(q, "limit") else {
        let data: Vec<Value> = rows.into_iter().map(|r| r.1).collect();
        return kit::reply(StatusCode::OK, vec![], json!({ "data": data }));
    };
    let limit = match limit.parse::<usize>() {
        Ok(n) if (1..=100).contains(&n) => n,
        _ => return error(StatusCode::BAD_REQUEST, "limit: Must be between 1 and 100"),
    };
    let after = match param(q, "offset").map(|o| engine.decode(o)) {
        None => None,
        Some(Ok(raw)) if !raw.is_empty() => Some(String::from_utf8_lossy(&raw).into_owned()),
        Some(_) => {
            let says = "offset: Your pagination token is invalid";
            return error(StatusCode::BAD_REQUEST, says);
        }
    };
    let (rows, next) = kit::page_after(&rows, |r| r.0.clone(), after.as_ref(), limit);
    let next = next.map(|last| {
        let offset = engine.encode(last);
        let path = format!("{path}?limit={limit}&offset={offset}");
        json!({"offset": offset, "uri": format!("https://app.asana.com/api/1.0{path}"),
            "path": path})
    });
    let data: Vec<Value> = rows.iter().map(|r| r.1.clone()).collect();
    kit::reply(
        StatusCode::OK,
        vec![],
        json!({ "data": data, "next_page": next }),
    )
}

fn user_compact(u: &User) -> Value {
    json!({"gid": u.gid, "resource_type": "user", "name": u.name})
}

/// A workspace membership with the `opt_fields` of `q` among those Asana offers.
fn membership_json(u: &User, q: &Q) -> Value {
    let fields = param(q, "opt_fields").unwrap_or_default();
    let asked: Vec<&str> = fields.split(',').map(str::trim).collect();
    let mut m = json!({"gid": format!("122{}", &u.gid[3..]), "resource_type":
        "workspace_membership", "user": user_compact(u),
        "workspace": {"gid": WORKSPACE, "resource_type": "workspace", "name": "Acme"}});
    if asked.contains(&"user.email") {
        m["user"]["email"] = json!(u.email);
    }
    for (field, value) in [
        ("is_active", u.active),
        ("is_admin", u.admin),
        ("is_guest", u.guest),
    ] {
        if asked.contains(&field) {
            m[field] = json!(value);
        }
    }
    m
}

/// The user a `{"data": {"user": …}}` body names, trimmed and lowercased.
fn user_of(b: &Value) -> String {
    let user = b["data"]["user"].as_str().unwrap_or_default();
    user.trim().to_lowercase()
}

/// The index of the user `user` names (`me`, an email or a gid).
fn find(rows: &Rows, me: &str, user: &str) -> Option<usize> {
    let user = if user == "me" { me } else { user };
    rows.users
        .iter()
        .position(|u| u.gid == user || u.email.eq_ignore_ascii_case(user))
}

async fn me(State(ws): State<Arc<Ws>>, h: HeaderMap) -> Response {
    let me = match gate(&ws, &h) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let rows = ws.state.lock().unwrap();
    let Some(i) = find(&rows, &me, "me") else {
        return unknown("user", &me);
    };
    let u = &rows.users[i];
    let body = json!({"data": {"gid": u.gid, "resource_type": "user", "name": u.name,
        "email": u.email, "workspaces": [{"gid": WORKSPACE, "resource_type": "workspace",
        "name": "Acme"}]}});
    kit::reply(StatusCode::OK, vec![], body)
}

async fn memberships(
    State(ws): State<Arc<Ws>>,
    h: HeaderMap,
    Path(ws_gid): Path<String>,
    Query(q): Query<Q>,
) -> Response {
    let me = match in_workspace(&ws, &h, &ws_gid) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let rows = ws.state.lock().unwrap();
    let users: Vec<&User> = match param(&q, "user") {
        Some(user) => match find(&rows, &me, &user) {
            Some(i) => vec![&rows.users[i]],
            None => return unknown("user", &user),
        },
        None => rows.users.iter().collect(),
    };
    let mut hits: Vec<(String, Value)> = users
        .into_iter()
        .map(|u| (u.gid.clone(), membership_json(u, &q)))
        .collect();
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    page(
        &q,
        hits,
        &format!("/workspaces/{WORKSPACE}/workspace_memberships"),
    )
}

/// `addUser` and `removeUser` of the organization.
async fn workspace_user(
    State(ws): State<Arc<Ws>>,
    h: HeaderMap,
    Path((ws_gid, action)): Path<(String, String)>,
    Json(b): Json<Value>,
) -> Response {
    let me = match in_workspace(&ws, &h, &ws_gid) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let user = user_of(&b);
    let mut rows = ws.state.lock().unwrap();
    let found = find(&rows, &me, &user);
    let caller_admin = find(&rows, &me, "me").is_some_and(|i| rows.users[i].admin);
    match (action.as_str(), found) {
        ("addUser", None) if user.contains('@') => {
            let domain = user.rsplit('@').next().unwrap_or_default();
            let role = if DOMAINS.contains(&domain) {
                "member"
            } else {
                "guest"
            };
            let name = user.split('@').next().unwrap_or_default().to_owned();
            let gid = add_user(&mut rows, &ws.next, &user, &name, role);
            added(&rows, &gid)
        }
        ("addUser", Some(i)) => {
            rows.users[i].active = true;
            let gid = rows.users[i].gid.clone();
            added(&rows, &gid)
        }
        ("removeUser", _) if !caller_admin => error(StatusCode::FORBIDDEN, "Forbidden"),
        ("removeUser", Some(i)) if rows.users[i].active => {
            (rows.users[i].active, rows.users[i].admin) = (false, false);
            let gid = rows.users[i].gid.clone();
            for m in rows.members.values_mut() {
                m.remove(&gid);
            }
            kit::reply(StatusCode::OK, vec![], json!({"data": {}}))
        }
        ("addUser" | "removeUser", _) if user.is_empty() => {
            error(StatusCode::BAD_REQUEST, "user: Missing input")
        }
        ("addUser" | "removeUser", _) => unknown("user", &user),
        _ => unknown("route", &action),
    }
}

/// The user record `addUser` answers with.
fn added(rows: &Rows, gid: &str) -> Response {
    let u = rows.users.iter().find(|u| u.gid == gid);
    let body = u.map(|u| {
        json!({"gid": u.gid, "resource_type": "user", "name": u.name, "email": u.email,
            "photo": null})
    });
    kit::reply(StatusCode::OK, vec![], json!({ "data": body }))
}

async fn teams(
    State(ws): State<Arc<Ws>>,
    h: HeaderMap,
    Path(ws_gid): Path<String>,
    Query(q): Query<Q>,
) -> Response {
    if let Err(r) = in_workspace(&ws, &h, &ws_gid) {
        return r;
    }
    let rows = ws.state.lock().unwrap();
    let hits = rows.teams.iter().map(|(gid, name)| {
        let json = json!({"gid": gid, "resource_type": "team", "name": name});
        (gid.clone(), json)
    });
    page(
        &q,
        hits.collect(),
        &format!("/workspaces/{WORKSPACE}/teams"),
    )
}

/// The team memberships of `team` (of `user` only, when given).
fn team_rows(rows: &Rows, team: &str, user: Option<&User>) -> Vec<(String, Value)> {
    let Some((_, name)) = rows.teams.iter().find(|t| t.0 == team) else {
        return vec![];
    };
    let held = rows.members.get(team).cloned().unwrap_or_default();
    rows.users
        .iter()
        .filter(|u| held.contains(&u.gid) && user.is_none_or(|x| x.gid == u.gid))
        .map(|u| {
            let json = json!({"gid": format!("124{}", &u.gid[3..]), "resource_type":
                "team_membership", "user": user_compact(u), "team": {"gid": team,
                "resource_type": "team", "name": name}, "is_guest": u.guest, "is_admin": false,
                "is_limited_access": false});
            (u.gid.clone(), json)
        })
        .collect()
}

async fn team_memberships(
    State(ws): State<Arc<Ws>>,
    h: HeaderMap,
    Path(team): Path<String>,
    Query(q): Query<Q>,
) -> Response {
    if let Err(r) = gate(&ws, &h) {
        return r;
    }
    let rows = ws.state.lock().unwrap();
    if !rows.teams.iter().any(|t| t.0 == team) {
        return unknown("team", &team);
    }
    page(
        &q,
        team_rows(&rows, &team, None),
        &format!("/teams/{team}/team_memberships"),
    )
}

async fn team_memberships_query(
    State(ws): State<Arc<Ws>>,
    h: HeaderMap,
    Query(q): Query<Q>,
) -> Response {
    let me = match gate(&ws, &h) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let Some(team) = param(&q, "team") else {
        return error(StatusCode::BAD_REQUEST, "team: Missing input");
    };
    let rows = ws.state.lock().unwrap();
    if !rows.teams.iter().any(|t| t.0 == team) {
        return unknown("team", &team);
    }
    let user = match param(&q, "user").map(|u| find(&rows, &me, &u).ok_or(u)) {
        None => None,
        Some(Ok(i)) => Some(&rows.users[i]),
        Some(Err(u)) => return unknown("user", &u),
    };
    page(&q, team_rows(&rows, &team, user), "/team_memberships")
}

/// `addUser` and `removeUser` of a team: the caller must be in it.
async fn team_user(
    State(ws): State<Arc<Ws>>,
    h: HeaderMap,
    Path((team, action)): Path<(String, String)>,
    Json(b): Json<Value>,
) -> Response {
    let me = match gate(&ws, &h) {
        Ok(me) => me,
        Err(r) => return r,
    };
    let user = user_of(&b);
    let mut rows = ws.state.lock().unwrap();
    if !rows.teams.iter().any(|t| t.0 == team) {
        return unknown("team", &team);
    }
    if !rows.members.get(&team).is_some_and(|m| m.contains(&me)) {
        return error(StatusCode::FORBIDDEN, "Forbidden");
    }
    let Some(i) = find(&rows, &me, &user).filter(|i| rows.users[*i].active) else {
        return error(
            StatusCode::BAD_REQUEST,
            "user: Not a member of the organization",
        );
    };
    let gid = rows.users[i].gid.clone();
    let held = rows.members.entry(team.clone()).or_default();
    match action.as_str() {
        "addUser" => {
            held.insert(gid.clone());
            let row = team_rows(&rows, &team, Some(&rows.users[i])).pop();
            let body = json!({ "data": row.map(|r| r.1) });
            kit::reply(StatusCode::OK, vec![], body)
        }
        "removeUser" => {
            held.remove(&gid);
            kit::reply(StatusCode::OK, vec![], json!({"data": {}}))
        }
        _ => unknown("route", &action),
    }
}
