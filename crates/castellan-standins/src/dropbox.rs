//! **A stand-in for the team member endpoints of Dropbox's API v2, not Dropbox.** It serves the
//! routes the `dropbox` connector uses, each a `POST` of JSON under `/2/team/`, in Dropbox's
//! shapes (from the API's Stone specification), from memory, one team per [`Dropbox`]:
//!
//! - `token/get_authenticated_admin`: `{"admin_profile": TeamMemberProfile}`.
//! - `members/list_v2` (`limit` 1 to 1000, default 1000; `include_removed`) and
//!   `members/list/continue_v2` (`cursor`): `{"members": [TeamMemberInfoV2], "cursor",
//!   "has_more"}`; a cursor it did not give is 409 `invalid_cursor`.
//! - `members/get_info_v2` (`members`: `UserSelectorArg`s): `{"members_info": [{".tag":
//!   "member_info", …} | {".tag": "id_not_found", …}]}`, removed members included.
//! - `members/get_available_team_member_roles`: `{"roles": [TeamMemberRole]}`: Team admin, User
//!   management admin, Support admin, Billing admin (ids of the stand-in's own).
//! - `members/add_v2` (`new_members` with `member_email`, `member_given_name`, `member_surname`,
//!   `send_welcome_email`, `role_ids`; `force_async`): `{".tag": "complete", "complete":
//!   [MemberAddV2Result]}` (an invited member, or `user_already_on_team`), or `{".tag":
//!   "async_job_id"}` when `force_async` or a test asks; `members/add/job_status/get_v2`
//!   answers `in_progress` once, then the result.
//! - `members/set_admin_permissions_v2` (`user`, `new_roles`: none, or one role id):
//!   `{"team_member_id", "roles"}`; errors `user_not_found`, `cannot_set_permissions`
//!   (suspended), `role_not_found`, `last_admin`.
//! - `members/remove` (`user`, `wipe_data`, `keep_account`): `{".tag": "complete"}` or an
//!   asynchronous job (`members/remove/job_status/get`); the member is `removed`, recoverable;
//!   errors `user_not_found`, `user_not_in_team`, `remove_last_admin`,
//!   `cannot_keep_account_and_delete_data`, `cannot_keep_invited_user_account`.
//! - `members/suspend` (`user`, `wipe_data`), `members/unsuspend`, `members/recover`: `null`;
//!   errors `suspend_inactive_user`, `suspend_last_admin`, `unsuspend_non_suspended_member`,
//!   `user_unrecoverable`.
//!
//! Tokens (Bearer) with scopes: the team admin's has `members.read`, `members.write`,
//! `members.delete` and `team_info.read`; a support admin's only the two read scopes. Errors are
//! Dropbox's: 400 plain text for a malformed call, 401 `{"error_summary", "error": {".tag":
//! "invalid_access_token"}}` or `missing_scope` with `required_scope`, 409 a route's own error as
//! `{"error_summary": "<tag>/...", "error": {".tag": "<tag>"}}`, 429 `{"error_summary",
//! "error": {"reason": {".tag": "too_many_requests"}, "retry_after"}}` with `Retry-After`.
//!
//! The stand-in's own choices, where Dropbox publishes nothing: the role ids, the request budget
//! (per minute), what recovering a member who is not removed answers (`user_unrecoverable`), an
//! unknown role id given to `members/add_v2` (400), removed members recoverable until a test
//! expires them, and recovery giving back the status they had (active or invited).
//!
//! Not modelled: groups, files and their transfer, `keep_account` beyond its checks, external
//! and persistent ids, secondary emails, `members/get_info` v1 and `members/list` v1. Pages:
//! - Team endpoints: <https://www.dropbox.com/developers/documentation/http/teams>
//! - Errors: <https://www.dropbox.com/developers/documentation/http/documentation#error-handling>
//! - Stone specification (`team.stone`, `async.stone`, `auth.stone`):
//!   <https://github.com/dropbox/dropbox-api-spec>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// Requests a minute before 429 unless a test sets another limit.
pub const DEFAULT_LIMIT: u32 = 1_000_000;
const MAX_LIMIT: u64 = 1000;
/// The team's roles: `(role_id, name, description)`.
const ROLES: [(&str, &str, &str); 4] = [
    (
        "pid_dbtmr:st01",
        "Team admin",
        "User can do most user provisioning, de-provisioning and management.",
    ),
    (
        "pid_dbtmr:st02",
        "User management admin",
        "Add, remove, and manage member accounts.",
    ),
    (
        "pid_dbtmr:st03",
        "Support admin",
        "Help members with limited tasks, including password reset.",
    ),
    (
        "pid_dbtmr:st04",
        "Billing admin",
        "Make payments and renew contracts.",
    ),
];
const READ: [&str; 2] = ["members.read", "team_info.read"];
const ALL: [&str; 4] = [
    "members.read",
    "team_info.read",
    "members.write",
    "members.delete",
];

/// A running stand-in of one Dropbox team: its base URL, a team admin who authorized the
/// automation account's token, and a support admin whose token has only the read scopes.
#[derive(Debug, Clone)]
pub struct Dropbox {
    /// `http://127.0.0.1:<port>` (the routes are under `/2/team/`).
    pub base_url: String,
    /// The team admin's token (every scope the connector needs).
    pub admin_token: String,
    /// The team admin's `team_member_id`.
    pub admin_id: String,
    /// The support admin's token (`members.read`, `team_info.read`).
    pub support_token: String,
    team: Arc<Team>,
}

#[derive(Debug)]
struct Team {
    members: Mutex<Vec<Member>>,
    seq: AtomicU64,
    /// `(token, team_member_id, scopes)`.
    tokens: Mutex<Vec<(String, String, &'static [&'static str])>>,
    limit: RateLimit,
    served: AtomicU64,
    asynchronous: AtomicBool,
    /// `(async_job_id, in_progress answers left, result)`.
    jobs: Mutex<Vec<(String, u32, Value)>>,
    /// Every write's route and body, in order.
    writes: Mutex<Vec<(String, Value)>>,
}

#[derive(Debug, Clone)]
struct Member {
    seq: u64,
    id: String,
    email: String,
    given: String,
    surname: String,
    /// `active`, `invited`, `suspended` or `removed`.
    status: String,
    /// The status before a removal, given back by a recovery.
    before: String,
    recoverable: bool,
    /// An index in [`ROLES`], `None` for a member only.
    role: Option<usize>,
}

type Answer = Result<Value, Response>;

impl Dropbox {
    /// Starts a team with its team admin and support admin on a loopback port.
    pub fn start() -> Self {
        let n = kit::instance();
        let team = Arc::new(Team {
            members: Mutex::new(vec![]),
            seq: AtomicU64::new(1),
            tokens: Mutex::new(vec![]),
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            served: AtomicU64::new(0),
            asynchronous: AtomicBool::new(false),
            jobs: Mutex::new(vec![]),
            writes: Mutex::new(vec![]),
        });
        let router = Router::new()
            .route("/2/team/{*route}", post(dispatch))
            .with_state(team.clone());
        let mut d = Self {
            base_url: kit::spawn(router).base_url,
            admin_token: format!("sl.team-admin-{n}"),
            admin_id: String::new(),
            support_token: format!("sl.team-support-{n}"),
            team,
        };
        d.admin_id = d.seed("admin@standin.test", "Ada Admin", "team_admin", "active");
        let support = d.seed(
            "support@standin.test",
            "Sam Support",
            "support_admin",
            "active",
        );
        *d.team.tokens.lock().unwrap() = vec![
            (d.admin_token.clone(), d.admin_id.clone(), &ALL),
            (d.support_token.clone(), support, &READ),
        ];
        d
    }

    /// Makes sure a member with `email` exists, with the role `role` (`team_admin`,
    /// `user_management_admin`, `support_admin`, `billing_admin`, or anything else for none)
    /// and the `status` (`active`, `invited`, `suspended`), as an admin would in the Admin
    /// Console; returns its `team_member_id`.
    pub fn seed(&self, email: &str, name: &str, role: &str, status: &str) -> String {
        let mut members = self.team.members.lock().unwrap();
        if let Some(m) = members.iter().find(|m| m.email.eq_ignore_ascii_case(email)) {
            return m.id.clone();
        }
        let (given, surname) = name.split_once(' ').unwrap_or((name, ""));
        let role = ROLES.iter().position(|r| wire(r.1) == role);
        let m = self.team.member(email, given, surname, role, status);
        let id = m.id.clone();
        members.push(m);
        id
    }

    /// The member `id` as `members/get_info_v2` shows it (`{"profile", "roles"}`), `None` when
    /// there is none.
    pub fn member(&self, id: &str) -> Option<Value> {
        let members = self.team.members.lock().unwrap();
        members.iter().find(|m| m.id == id).map(Member::json)
    }

    /// Makes a removed member unrecoverable, as Dropbox does after a while.
    pub fn expire_removal(&self, id: &str) {
        let mut members = self.team.members.lock().unwrap();
        members
            .iter_mut()
            .filter(|m| m.id == id)
            .for_each(|m| m.recoverable = false);
    }

    /// The bodies of the writes sent to `route` (e.g. `members/remove`), in order.
    pub fn writes(&self, route: &str) -> Vec<Value> {
        let writes = self.team.writes.lock().unwrap();
        writes
            .iter()
            .filter(|(r, _)| r == route)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Whether additions and removals answer with an asynchronous job from now on.
    pub fn set_async(&self, on: bool) {
        self.team.asynchronous.store(on, Ordering::Relaxed);
    }

    /// Sets the requests allowed a minute from now on (a new window starts).
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.team.limit.set_limit(per_minute);
    }

    /// How many requests the stand-in answered (429s included).
    pub fn served(&self) -> u64 {
        self.team.served.load(Ordering::Relaxed)
    }
}

/// A role's wire name from its display name (`Team admin` is `team_admin`).
fn wire(name: &str) -> String {
    name.to_lowercase().replace(' ', "_")
}

fn role_json(i: usize) -> Value {
    let (id, name, description) = ROLES[i];
    json!({ "role_id": id, "name": name, "description": description })
}

impl Team {
    fn member(
        &self,
        email: &str,
        given: &str,
        surname: &str,
        role: Option<usize>,
        status: &str,
    ) -> Member {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        Member {
            seq,
            id: format!("dbmid:AAD{seq:08}x"),
            email: email.to_lowercase(),
            given: given.into(),
            surname: surname.into(),
            status: status.into(),
            before: status.into(),
            recoverable: false,
            role,
        }
    }

    /// A new job answering `in_progress` once, then `result`; its launch answer.
    fn job(&self, result: Value) -> Value {
        let id = format!("dbjob:{}", self.seq.fetch_add(1, Ordering::Relaxed));
        self.jobs.lock().unwrap().push((id.clone(), 1, result));
        json!({ ".tag": "async_job_id", "async_job_id": id })
    }

    /// `result` as it is, or as the result of a job when additions and removals are
    /// asynchronous (or `force` asks).
    fn launch(&self, result: Value, force: bool) -> Value {
        match force || self.asynchronous.load(Ordering::Relaxed) {
            true => self.job(result),
            false => result,
        }
    }
}

impl Member {
    fn profile(&self) -> Value {
        let status = match self.status.as_str() {
            "removed" => json!({ ".tag": "removed", "is_recoverable": self.recoverable,
                "is_disconnected": false }),
            s => json!({ ".tag": s }),
        };
        let display = format!("{} {}", self.given, self.surname).trim().to_owned();
        json!({
            "team_member_id": self.id, "account_id": format!("dbid:AAH{:08}", self.seq),
            "email": self.email, "email_verified": self.status != "invited", "status": status,
            "name": { "given_name": self.given, "surname": self.surname,
                "familiar_name": self.given, "display_name": display,
                "abbreviated_name": display.split(' ').filter_map(|w| w.chars().next()).collect::<String>() },
            "membership_type": { ".tag": "full" }, "groups": [],
            "member_folder_id": format!("{}", 1000 + self.seq), "root_folder_id": "7",
        })
    }

    /// As `TeamMemberInfoV2`.
    fn json(&self) -> Value {
        let roles: Vec<Value> = self.role.into_iter().map(role_json).collect();
        json!({ "profile": self.profile(), "roles": roles })
    }

    fn is(&self, selector: &Value) -> bool {
        match selector[".tag"].as_str() {
            Some("email") => selector["email"]
                .as_str()
                .is_some_and(|e| self.email.eq_ignore_ascii_case(e)),
            Some("team_member_id") => selector["team_member_id"] == self.id.as_str(),
            _ => false,
        }
    }
}

/// A 409 with the route's error `tag`.
fn conflict(tag: &str) -> Response {
    let body = json!({ "error_summary": format!("{tag}/..."), "error": { ".tag": tag } });
    kit::reply(StatusCode::CONFLICT, vec![], body)
}

/// A 400 with Dropbox's plain-text message for a malformed call.
fn malformed(route: &str, why: &str) -> Response {
    let text = format!("Error in call to API function \"team/{route}\": {why}");
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// Counts the request against the budget and finds the caller, whose token must have `scope`.
fn gate(t: &Team, h: &HeaderMap, scope: &str) -> Result<Member, Response> {
    t.served.fetch_add(1, Ordering::Relaxed);
    if let Budget::Wait(secs) = t.limit.take() {
        let body = json!({ "error_summary": "too_many_requests/...", "error": {
            "reason": { ".tag": "too_many_requests" }, "retry_after": secs } });
        let headers = vec![("retry-after", secs.to_string())];
        return Err(kit::reply(StatusCode::TOO_MANY_REQUESTS, headers, body));
    }
    let token = kit::bearer(h).unwrap_or_default();
    let tokens = t.tokens.lock().unwrap();
    let Some((_, id, scopes)) = tokens.iter().find(|(tk, _, _)| *tk == token) else {
        let body = json!({ "error_summary": "invalid_access_token/...",
            "error": { ".tag": "invalid_access_token" } });
        return Err(kit::reply(StatusCode::UNAUTHORIZED, vec![], body));
    };
    if !scopes.contains(&scope) {
        let body = json!({ "error_summary": "missing_scope/...",
            "error": { ".tag": "missing_scope", "required_scope": scope } });
        return Err(kit::reply(StatusCode::UNAUTHORIZED, vec![], body));
    }
    let members = t.members.lock().unwrap();
    let me = members.iter().find(|m| m.id == *id).cloned();
    me.ok_or_else(|| conflict("admin_not_active"))
}

type Route = fn(&Team, &Member, &Value, &str) -> Answer;

/// The routes: `(route, scope, handler)`.
const ROUTES: [(&str, &str, Route); 13] = [
    ("token/get_authenticated_admin", "team_info.read", admin),
    ("members/list_v2", "members.read", list),
    ("members/list/continue_v2", "members.read", list),
    ("members/get_info_v2", "members.read", info),
    (
        "members/get_available_team_member_roles",
        "members.read",
        roles,
    ),
    ("members/add_v2", "members.write", add),
    ("members/add/job_status/get_v2", "members.write", job_status),
    (
        "members/set_admin_permissions_v2",
        "members.write",
        set_roles,
    ),
    ("members/remove", "members.delete", remove),
    (
        "members/remove/job_status/get",
        "members.delete",
        job_status,
    ),
    ("members/suspend", "members.write", status),
    ("members/unsuspend", "members.write", status),
    ("members/recover", "members.delete", status),
];

async fn dispatch(
    State(t): State<Arc<Team>>,
    Path(route): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((_, scope, handler)) = ROUTES.iter().find(|(r, _, _)| *r == route) else {
        return malformed(&route, "unknown API function");
    };
    let caller = match gate(&t, &h, scope) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body: Value = match body.is_empty() {
        true => Value::Null,
        false => match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return malformed(&route, "could not decode input as JSON"),
        },
    };
    if !route.contains("job_status") && !matches!(*scope, "members.read" | "team_info.read") {
        t.writes.lock().unwrap().push((route.clone(), body.clone()));
    }
    match handler(&t, &caller, &body, &route) {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(r) => r,
    }
}

fn admin(_: &Team, me: &Member, _: &Value, _: &str) -> Answer {
    Ok(json!({ "admin_profile": me.profile() }))
}

fn list(t: &Team, _: &Member, b: &Value, route: &str) -> Answer {
    let (limit, removed, after) = match route {
        "members/list_v2" => {
            let limit = b["limit"].as_u64().unwrap_or(MAX_LIMIT);
            if !(1..=MAX_LIMIT).contains(&limit) {
                return Err(malformed(route, "limit: out of range"));
            }
            (limit, b["include_removed"] == true, None)
        }
        _ => {
            let c = b["cursor"].as_str().unwrap_or_default();
            let parts: Vec<&str> = c
                .strip_prefix("ZtkX")
                .unwrap_or_default()
                .split('.')
                .collect();
            match parts.as_slice() {
                [l, r, a] => match (l.parse(), u64::from_str_radix(a, 16)) {
                    (Ok(l), Ok(a)) => (l, *r == "1", Some(a)),
                    _ => return Err(conflict("invalid_cursor")),
                },
                _ => return Err(conflict("invalid_cursor")),
            }
        }
    };
    let members = t.members.lock().unwrap();
    let rows: Vec<&Member> = members
        .iter()
        .filter(|m| removed || m.status != "removed")
        .collect();
    let (page, next) = kit::page_after(&rows, |m| m.seq, after.as_ref(), limit as usize);
    let last = page.last().map_or(after.unwrap_or(0), |m| m.seq);
    let cursor = format!("ZtkX{limit}.{}.{last:x}", u8::from(removed));
    Ok(
        json!({ "members": page.iter().map(|m| m.json()).collect::<Vec<_>>(),
        "cursor": cursor, "has_more": next.is_some() }),
    )
}

fn info(t: &Team, _: &Member, b: &Value, _: &str) -> Answer {
    let members = t.members.lock().unwrap();
    let found = b["members"].as_array().into_iter().flatten().map(|s| {
        match members.iter().find(|m| m.is(s)) {
            Some(m) => {
                let mut v = m.json();
                v[".tag"] = json!("member_info");
                v
            }
            None => {
                let key = s["email"]
                    .as_str()
                    .or(s["team_member_id"].as_str())
                    .unwrap_or("");
                json!({ ".tag": "id_not_found", "id_not_found": key })
            }
        }
    });
    Ok(json!({ "members_info": found.collect::<Vec<_>>() }))
}

fn roles(_: &Team, _: &Member, _: &Value, _: &str) -> Answer {
    Ok(json!({ "roles": (0..ROLES.len()).map(role_json).collect::<Vec<_>>() }))
}

fn add(t: &Team, _: &Member, b: &Value, route: &str) -> Answer {
    let Some(new) = b["new_members"].as_array() else {
        return Err(malformed(route, "new_members: missing"));
    };
    let mut members = t.members.lock().unwrap();
    let mut results = vec![];
    for n in new {
        let email = n["member_email"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        if !email.contains('@') {
            return Err(malformed(route, "member_email: not an email address"));
        }
        let ids: Vec<&str> = n["role_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let role = match ids.as_slice() {
            [] => None,
            [id] => match ROLES.iter().position(|r| r.0 == *id) {
                Some(i) => Some(i),
                None => return Err(malformed(route, "role_ids: unknown role")),
            },
            _ => return Err(malformed(route, "role_ids: more than 1 item")),
        };
        let on_team = members
            .iter()
            .any(|m| m.email == email && (m.status != "removed" || m.recoverable));
        if on_team {
            results.push(json!({ ".tag": "user_already_on_team", "user_already_on_team": email }));
            continue;
        }
        let text = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
        let m = t.member(
            &email,
            &text("member_given_name"),
            &text("member_surname"),
            role,
            "invited",
        );
        let mut v = m.json();
        v[".tag"] = json!("success");
        results.push(v);
        members.push(m);
    }
    let result = json!({ ".tag": "complete", "complete": results });
    Ok(t.launch(result, b["force_async"] == true))
}

fn job_status(t: &Team, _: &Member, b: &Value, _: &str) -> Answer {
    let mut jobs = t.jobs.lock().unwrap();
    let Some(job) = jobs.iter_mut().find(|j| b["async_job_id"] == j.0.as_str()) else {
        return Err(conflict("invalid_async_job_id"));
    };
    if job.1 > 0 {
        job.1 -= 1;
        return Ok(json!({ ".tag": "in_progress" }));
    }
    Ok(job.2.clone())
}

/// The member `b.user` selects, who is on the team (not removed), and the team's admins.
fn on_team<'m>(members: &'m mut [Member], b: &Value) -> Result<&'m mut Member, Response> {
    match members.iter_mut().find(|m| m.is(&b["user"])) {
        None => Err(conflict("user_not_found")),
        Some(m) if m.status == "removed" => Err(conflict("user_not_in_team")),
        Some(m) => Ok(m),
    }
}

/// Whether `id` is the team's last active team admin.
fn last_admin(members: &[Member], id: &str) -> bool {
    let admins: Vec<&Member> = members
        .iter()
        .filter(|m| m.role == Some(0) && m.status == "active")
        .collect();
    admins.len() == 1 && admins[0].id == id
}

fn set_roles(t: &Team, _: &Member, b: &Value, route: &str) -> Answer {
    let ids: Vec<&str> = b["new_roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let role = match ids.as_slice() {
        [] => None,
        [id] => Some(
            ROLES
                .iter()
                .position(|r| r.0 == *id)
                .ok_or_else(|| conflict("role_not_found"))?,
        ),
        _ => return Err(malformed(route, "new_roles: more than 1 item")),
    };
    let mut members = t.members.lock().unwrap();
    let last = {
        let m = on_team(&mut members, b)?;
        m.id.clone()
    };
    let last = last_admin(&members, &last) && role != Some(0);
    let m = on_team(&mut members, b)?;
    if m.status == "suspended" {
        return Err(conflict("cannot_set_permissions"));
    }
    if last {
        return Err(conflict("last_admin"));
    }
    m.role = role;
    let roles: Vec<Value> = role.into_iter().map(role_json).collect();
    Ok(json!({ "team_member_id": m.id, "roles": roles }))
}

fn remove(t: &Team, _: &Member, b: &Value, _: &str) -> Answer {
    let wipe = b["wipe_data"] != false;
    let keep = b["keep_account"] == true;
    let mut members = t.members.lock().unwrap();
    let id = on_team(&mut members, b)?.id.clone();
    let last = last_admin(&members, &id);
    let m = on_team(&mut members, b)?;
    let refusal = match () {
        _ if keep && wipe => Some("cannot_keep_account_and_delete_data"),
        _ if keep && m.status == "invited" => Some("cannot_keep_invited_user_account"),
        _ if last => Some("remove_last_admin"),
        _ => None,
    };
    if let Some(tag) = refusal {
        return Err(conflict(tag));
    }
    (m.before, m.status, m.recoverable) = (m.status.clone(), "removed".into(), true);
    Ok(t.launch(json!({ ".tag": "complete" }), false))
}

/// `members/suspend`, `members/unsuspend` and `members/recover`.
fn status(t: &Team, _: &Member, b: &Value, route: &str) -> Answer {
    let mut members = t.members.lock().unwrap();
    if route == "members/recover" {
        let m = members.iter_mut().find(|m| m.is(&b["user"]));
        let m = m.ok_or_else(|| conflict("user_not_found"))?;
        if m.status != "removed" || !m.recoverable {
            return Err(conflict("user_unrecoverable"));
        }
        (m.status, m.recoverable) = (m.before.clone(), false);
        return Ok(Value::Null);
    }
    let id = on_team(&mut members, b)?.id.clone();
    let last = last_admin(&members, &id);
    let m = on_team(&mut members, b)?;
    let next = match (route, m.status.as_str()) {
        ("members/suspend", "active") if last => return Err(conflict("suspend_last_admin")),
        ("members/suspend", "active") => "suspended",
        ("members/suspend", _) => return Err(conflict("suspend_inactive_user")),
        (_, "suspended") => "active",
        _ => return Err(conflict("unsuspend_non_suspended_member")),
    };
    m.status = next.into();
    Ok(Value::Null)
}
