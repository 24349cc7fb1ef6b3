//! The GitLab stand-in's routes and answers (see [the module](super) for what they follow).

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{Invite, Lab, Member, Rows, Space, ENTERPRISE_DOMAIN};
use crate::kit::Budget;

type Answer = Result<Response, Response>;
type L = State<Arc<Lab>>;
type Q = Query<Vec<(String, String)>>;
type Body = Option<Json<Value>>;
type P2 = Path<(String, String)>;
type P3 = Path<(String, String, String)>;

/// The access levels GitLab gives, with their names.
const LEVELS: [(u64, &str); 6] = [
    (10, "Guest"),
    (15, "Planner"),
    (20, "Reporter"),
    (30, "Developer"),
    (40, "Maintainer"),
    (50, "Owner"),
];

pub(super) fn router(lab: Arc<Lab>) -> Router {
    let one = get(member).put(set_member).delete(remove_member);
    let invitation = put(set_invitation).delete(remove_invitation);
    Router::new()
        .route("/api/v4/user", get(user))
        .route("/api/v4/{kind}/{id}/members", get(members).post(add_member))
        .route("/api/v4/{kind}/{id}/members/{uid}", one)
        .route("/api/v4/{kind}/{id}/members/all/{uid}", get(inherited))
        .route(
            "/api/v4/{kind}/{id}/invitations",
            get(invitations).post(invite),
        )
        .route("/api/v4/{kind}/{id}/invitations/{email}", invitation)
        .route("/api/v4/{kind}/{id}/descendant_groups", get(descendants))
        .route("/api/v4/{kind}/{id}/projects", get(projects))
        .with_state(lab)
}

fn param(q: &[(String, String)], k: &str) -> Option<String> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

fn json_of(body: Body) -> Value {
    body.map(|Json(b)| b).unwrap_or_default()
}

/// `body` (none for `null`) with `status` and GitLab's `RateLimit-*` headers.
fn answer(lab: &Lab, left: u32, status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let mut r = match body {
        Value::Null => status.into_response(),
        body => (status, Json(body)).into_response(),
    };
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let limit = lab.limit.limit();
    let observed = limit.saturating_sub(left);
    let headers = [
        ("ratelimit-limit", limit.to_string()),
        ("ratelimit-observed", observed.to_string()),
        ("ratelimit-remaining", left.to_string()),
        ("ratelimit-reset", reset.to_string()),
    ];
    set_headers(&mut r, headers);
    r
}

fn set_headers(r: &mut Response, headers: impl IntoIterator<Item = (&'static str, String)>) {
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(HeaderName::from_static(k), v);
        }
    }
}

/// Counts and records the request and reads its token (`PRIVATE-TOKEN` or Bearer): the
/// requests left in the minute and the caller's user id.
fn call(lab: &Lab, p: &Parts) -> Result<(u32, u64), Response> {
    let line = format!("{} {}", p.method, p.uri);
    lab.requests.lock().unwrap().push(line);
    let left = match lab.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(secs) => {
            let mut r = answer(lab, 0, 429, Value::Null);
            *r.body_mut() = "Retry later\n".into();
            set_headers(&mut r, [("retry-after", secs.to_string())]);
            return Err(r);
        }
    };
    let header = |n: &str| p.headers.get(n).and_then(|v| v.to_str().ok());
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    let token = header("private-token").or(bearer).unwrap_or("");
    match lab.tokens.iter().find(|(t, _)| t == token) {
        Some((_, caller)) => Ok((left, *caller)),
        None => Err(answer(
            lab,
            left,
            401,
            json!({"message": "401 Unauthorized"}),
        )),
    }
}

/// A request on a group or project: who calls, the rows (locked) and the space.
struct Req<'l> {
    lab: &'l Lab,
    left: u32,
    caller: u64,
    rows: MutexGuard<'l, Rows>,
    space: Space,
}

/// The request `p` on the group (`kind` `groups`) or project named by `id` (its id or full
/// path), where the caller's level (inherited included) must be Owner of a group or Maintainer
/// of a project for a `write`, any for a read: 404 where they have none (GitLab does not show
/// it), 403 where it is lower.
fn enter<'l>(
    lab: &'l Lab,
    p: &Parts,
    kind: &str,
    id: &str,
    write: bool,
) -> Result<Req<'l>, Response> {
    let (left, caller) = call(lab, p)?;
    let rows = lab.rows.lock().unwrap();
    let project = kind == "projects";
    let says = match project {
        true => "404 Project Not Found",
        false => "404 Group Not Found",
    };
    let fail = |status, says: &str| answer(lab, left, status, json!({ "message": says }));
    let named = |s: &&Space| (s.id.to_string() == id || s.path == id) && s.project == project;
    let hit = rows
        .spaces
        .iter()
        .find(named)
        .filter(|_| project || kind == "groups");
    let Some(space) = hit.cloned() else {
        return Err(fail(404, says));
    };
    let need = match (write, project) {
        (false, _) => 10,
        (true, true) => 40,
        (true, false) => 50,
    };
    match rows.inherited(space.id, caller) {
        None => Err(fail(404, says)),
        Some((l, _)) if l < need => Err(fail(403, "403 Forbidden")),
        Some(_) => Ok(Req {
            lab,
            left,
            caller,
            rows,
            space,
        }),
    }
}

impl Req<'_> {
    fn ok(&self, status: u16, body: Value) -> Answer {
        Ok(answer(self.lab, self.left, status, body))
    }

    fn fail(&self, status: u16, says: &str) -> Response {
        answer(self.lab, self.left, status, json!({ "message": says }))
    }

    /// Whether the caller owns the space (and so sees enterprise users' addresses).
    fn owner(&self) -> bool {
        let mine = self.rows.inherited(self.space.id, self.caller);
        mine.is_some_and(|(l, _)| l >= 50)
    }

    /// `access_level` of a body: one of [`LEVELS`], else 400 as GitLab's parameter check.
    fn level(&self, body: &Value) -> Result<u64, Response> {
        let raw = &body["access_level"];
        let l = raw.as_u64().or_else(|| raw.as_str()?.parse().ok());
        match l.filter(|l| LEVELS.iter().any(|(k, _)| k == l)) {
            Some(l) => Ok(l),
            None => Err(answer(
                self.lab,
                self.left,
                400,
                json!({"error": "access_level does not have a valid value"}),
            )),
        }
    }

    /// 400 when `level` is below what `user` inherits on the space from its ancestors.
    fn above_inherited(&self, user: u64, level: u64) -> Result<(), Response> {
        let held = self.space.parent.and_then(|p| self.rows.inherited(p, user));
        let Some((held, from)) = held.filter(|(held, _)| level < *held) else {
            return Ok(());
        };
        let name = LEVELS
            .iter()
            .find(|(l, _)| *l == held)
            .map_or("", |(_, n)| *n);
        let why = format!(
            "should be greater than or equal to {name} inherited membership from group {}",
            from.name
        );
        Err(answer(
            self.lab,
            self.left,
            400,
            json!({"message": {"access_level": [why]}}),
        ))
    }

    fn member_json(&self, m: &Member) -> Value {
        let u = self.rows.users.iter().find(|u| u.id == m.user);
        let text = |f: fn(&super::User) -> &str| u.map_or("", f).to_owned();
        let username = text(|u| &u.username);
        let base = self.lab.base_url.lock().unwrap().replace("/api/v4", "");
        let mut v = json!({"id": m.user, "username": username, "name": text(|u| &u.name),
            "state": text(|u| &u.state), "avatar_url": null,
            "web_url": format!("{base}/{username}"), "access_level": m.level,
            "created_at": "2024-01-01T00:00:00.000Z", "expires_at": null,
            "membership_state": "active"});
        let email = text(|u| &u.email);
        if self.owner() && email.ends_with(&format!("@{ENTERPRISE_DOMAIN}")) {
            v["email"] = json!(email);
        }
        v
    }

    /// The position of the space's direct membership of `uid`, else 404.
    fn member_at(&self, uid: &str) -> Result<usize, Response> {
        let s = self.space.id;
        let at = self
            .rows
            .members
            .iter()
            .position(|m| m.space == s && m.user.to_string() == uid);
        at.ok_or_else(|| self.fail(404, "404 Member Not Found"))
    }

    /// The position of the space's invitation of `email`, else 404.
    fn invitation_at(&self, email: &str) -> Result<usize, Response> {
        let s = self.space.id;
        let hit = |i: &Invite| i.space == s && i.email.eq_ignore_ascii_case(email);
        let at = self.rows.invites.iter().position(hit);
        at.ok_or_else(|| self.fail(404, "404 Not found"))
    }

    /// One page of `all` (`page`, `per_page` at most 100, 20 by default) with GitLab's paging
    /// headers.
    fn paged(&self, p: &Parts, q: &[(String, String)], all: Vec<Value>) -> Answer {
        let number = |k: &str, or: usize| param(q, k).and_then(|v| v.parse().ok()).unwrap_or(or);
        let (per, page) = (
            number("per_page", 20).clamp(1, 100),
            number("page", 1).max(1),
        );
        let (total, pages) = (all.len(), all.len().div_ceil(per).max(1));
        let rows: Vec<Value> = all.into_iter().skip((page - 1) * per).take(per).collect();
        let near = |n: usize, ok: bool| if ok { n.to_string() } else { String::new() };
        let (next, prev) = (
            near(page + 1, page < pages),
            near(page.wrapping_sub(1), page > 1),
        );
        let mut r = answer(self.lab, self.left, 200, Value::Array(rows));
        let mut headers = vec![
            ("x-page", page.to_string()),
            ("x-per-page", per.to_string()),
            ("x-next-page", next.clone()),
            ("x-prev-page", prev),
            ("x-total", total.to_string()),
            ("x-total-pages", pages.to_string()),
        ];
        if !next.is_empty() {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.extend_pairs(q.iter().filter(|(k, _)| k != "page"));
            query.append_pair("page", &next);
            let base = self.lab.base_url.lock().unwrap().replace("/api/v4", "");
            let link = format!("<{base}{}?{}>; rel=\"next\"", p.uri.path(), query.finish());
            headers.push(("link", link));
        }
        set_headers(&mut r, headers);
        Ok(r)
    }
}

fn invite_json(i: &Invite) -> Value {
    json!({"id": i.id, "invite_email": i.email, "created_at": "2024-01-01T00:00:00.000Z",
        "access_level": i.level, "expires_at": null, "user_name": null,
        "created_by_name": "Group Owner"})
}

async fn user(State(lab): L, p: Parts) -> Answer {
    let (left, caller) = call(&lab, &p)?;
    let rows = lab.rows.lock().unwrap();
    let Some(u) = rows.users.iter().find(|u| u.id == caller) else {
        return Err(answer(
            &lab,
            left,
            401,
            json!({"message": "401 Unauthorized"}),
        ));
    };
    let body = json!({"id": u.id, "username": u.username, "name": u.name, "state": u.state,
        "email": u.email});
    Ok(answer(&lab, left, 200, body))
}

async fn members(State(lab): L, p: Parts, Path((kind, id)): P2, Query(q): Q) -> Answer {
    let r = enter(&lab, &p, &kind, &id, false)?;
    let query = param(&q, "query").unwrap_or_default().to_lowercase();
    let hit = |m: &&Member| {
        let u = r.rows.users.iter().find(|u| u.id == m.user);
        let has = |s: &str| s.to_lowercase().contains(&query);
        query.is_empty() || u.is_some_and(|u| u.email == query || has(&u.name) || has(&u.username))
    };
    let all = r
        .rows
        .members
        .iter()
        .filter(|m| m.space == r.space.id)
        .filter(hit);
    let all = all.map(|m| r.member_json(m)).collect();
    r.paged(&p, &q, all)
}

async fn member(State(lab): L, p: Parts, Path((kind, id, uid)): P3) -> Answer {
    let r = enter(&lab, &p, &kind, &id, false)?;
    let at = r.member_at(&uid)?;
    r.ok(200, r.member_json(&r.rows.members[at]))
}

async fn inherited(State(lab): L, p: Parts, Path((kind, id, uid)): P3) -> Answer {
    let r = enter(&lab, &p, &kind, &id, false)?;
    let user = uid.parse().unwrap_or(0);
    let held = r.rows.inherited(r.space.id, user).map(|(l, _)| l);
    let level = held.ok_or_else(|| r.fail(404, "404 Member Not Found"))?;
    let m = Member {
        space: r.space.id,
        user,
        level,
    };
    r.ok(200, r.member_json(&m))
}

async fn add_member(State(lab): L, p: Parts, Path((kind, id)): P2, body: Body) -> Answer {
    let mut r = enter(&lab, &p, &kind, &id, true)?;
    let body = json_of(body);
    let raw = &body["user_id"];
    let user = raw.as_u64().or_else(|| raw.as_str()?.parse().ok());
    let user = user.filter(|u| r.rows.users.iter().any(|x| x.id == *u));
    let user = user.ok_or_else(|| r.fail(404, "404 User Not Found"))?;
    let level = r.level(&body)?;
    if r.member_at(&user.to_string()).is_ok() {
        return Err(r.fail(409, "Member already exists"));
    }
    r.above_inherited(user, level)?;
    let m = Member {
        space: r.space.id,
        user,
        level,
    };
    r.rows.members.push(m.clone());
    r.ok(201, r.member_json(&m))
}

async fn set_member(State(lab): L, p: Parts, Path((kind, id, uid)): P3, body: Body) -> Answer {
    let mut r = enter(&lab, &p, &kind, &id, true)?;
    let level = r.level(&json_of(body))?;
    let at = r.member_at(&uid)?;
    r.above_inherited(r.rows.members[at].user, level)?;
    r.rows.members[at].level = level;
    r.ok(200, r.member_json(&r.rows.members[at]))
}

async fn remove_member(State(lab): L, p: Parts, Path((kind, id, uid)): P3) -> Answer {
    let mut r = enter(&lab, &p, &kind, &id, true)?;
    let at = r.member_at(&uid)?;
    r.rows.members.remove(at);
    r.ok(204, Value::Null)
}

async fn invitations(State(lab): L, p: Parts, Path((kind, id)): P2, Query(q): Q) -> Answer {
    let r = enter(&lab, &p, &kind, &id, true)?;
    let query = param(&q, "query").unwrap_or_default().to_lowercase();
    let hit = |i: &&Invite| i.space == r.space.id && (query.is_empty() || i.email == query);
    let all = r.rows.invites.iter().filter(hit).map(invite_json).collect();
    r.paged(&p, &q, all)
}

async fn invite(State(lab): L, p: Parts, Path((kind, id)): P2, body: Body) -> Answer {
    let mut r = enter(&lab, &p, &kind, &id, true)?;
    let body = json_of(body);
    let level = r.level(&body)?;
    let email = body["email"].as_str().unwrap_or("").trim().to_lowercase();
    let refused = |why: &str| json!({"status": "error", "message": {email.clone(): why}});
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return r.ok(201, refused("Invite email is invalid"));
    }
    let known = r.rows.users.iter().find(|u| u.email == email).map(|u| u.id);
    let user = match known {
        None if r.lab.sign_up.load(Ordering::Relaxed) => {
            let (id, name) = (
                r.lab.next(),
                email.split('@').next().unwrap_or("").to_owned(),
            );
            Some(r.rows.user(id, &email, &name))
        }
        other => other,
    };
    let space = r.space.id;
    let pending = r
        .rows
        .invites
        .iter()
        .any(|i| i.space == space && i.email == email);
    match user {
        Some(u) if r.member_at(&u.to_string()).is_ok() => {
            r.ok(201, refused("User already exists in source"))
        }
        Some(user) => {
            r.rows.members.push(Member { space, user, level });
            r.ok(201, json!({"status": "success"}))
        }
        None if pending => r.ok(201, refused("Invite email has already been taken")),
        None => {
            let id = r.lab.next();
            let email = email.clone();
            r.rows.invites.push(Invite {
                id,
                space,
                email,
                level,
            });
            r.ok(201, json!({"status": "success"}))
        }
    }
}

async fn set_invitation(
    State(lab): L,
    p: Parts,
    Path((kind, id, email)): P3,
    body: Body,
) -> Answer {
    let mut r = enter(&lab, &p, &kind, &id, true)?;
    let level = r.level(&json_of(body))?;
    let at = r.invitation_at(&email)?;
    r.rows.invites[at].level = level;
    r.ok(200, invite_json(&r.rows.invites[at]))
}

async fn remove_invitation(State(lab): L, p: Parts, Path((kind, id, email)): P3) -> Answer {
    let mut r = enter(&lab, &p, &kind, &id, true)?;
    let at = r.invitation_at(&email)?;
    r.rows.invites.remove(at);
    r.ok(204, Value::Null)
}

/// The groups or `projects` below the group `kind`/`id`: every level, or (projects without
/// `include_subgroups=true`) its own.
fn below(
    lab: &Lab,
    p: &Parts,
    (kind, id): (String, String),
    q: &[(String, String)],
    projects: bool,
) -> Answer {
    let r = enter(lab, p, &kind, &id, false)?;
    if kind != "groups" {
        return Err(r.fail(404, "404 Not found"));
    }
    let deep = !projects || param(q, "include_subgroups").as_deref() == Some("true");
    let top = r.space.id;
    let under = |x: &&Space| {
        let inside = match deep {
            true => r.rows.chain(x.id).iter().any(|a| a.id == top),
            false => x.parent == Some(top),
        };
        x.project == projects && x.id != top && inside
    };
    let row = |x: &Space| {
        let path = x.path.rsplit('/').next().unwrap_or("");
        match projects {
            true => json!({"id": x.id, "name": x.name, "path": path,
                "path_with_namespace": x.path, "name_with_namespace": x.name}),
            false => json!({"id": x.id, "name": x.name, "path": path, "full_path": x.path,
                "parent_id": x.parent}),
        }
    };
    let all = r.rows.spaces.iter().filter(under).map(row).collect();
    r.paged(p, q, all)
}

async fn descendants(State(lab): L, p: Parts, Path(at): P2, Query(q): Q) -> Answer {
    below(&lab, &p, at, &q, false)
}

async fn projects(State(lab): L, p: Parts, Path(at): P2, Query(q): Q) -> Answer {
    below(&lab, &p, at, &q, true)
}
