//! The endpoints the stand-in serves, dispatched by method and path, each with GitHub's checks
//! (the token, the organization, an owner's rights), its answers, `Link` paging and the
//! `x-ratelimit-*` headers.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::state::{Data, Invitation, Limit, Team, User};
use super::wire;

/// The stand-in's data, shared by its handlers.
pub(crate) type Shared = Arc<Mutex<Data>>;

/// The requests of one call, answered in one place.
pub(crate) async fn handle(
    State(data): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    let mut d = data.lock().unwrap_or_else(|e| e.into_inner());
    d.used += 1;
    let call = Call {
        base,
        method,
        uri,
        headers,
        body,
    };
    let (status, body, extra) = call.answer(&mut d);
    reply(&d, status, body, extra)
}

/// An answer: status, JSON body (`Null`: none), extra headers.
type Answer = (StatusCode, Value, Vec<(&'static str, String)>);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The answer with GitHub's headers: the media type, the API version and the rate limit.
fn reply(
    d: &Data,
    status: StatusCode,
    body: Value,
    extra: Vec<(&'static str, String)>,
) -> Response {
    let limited = extra.iter().any(|(k, _)| *k == "x-ratelimit-remaining");
    let mut resp = match body {
        Value::Null => status.into_response(),
        body => (status, axum::Json(body)).into_response(),
    };
    let h = resp.headers_mut();
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set("x-github-api-version-selected", "2022-11-28".into());
    set("x-github-media-type", "github.v3; format=json".into());
    if !limited {
        set("x-ratelimit-limit", "5000".into());
        set(
            "x-ratelimit-remaining",
            5000u64.saturating_sub(d.used).to_string(),
        );
        set("x-ratelimit-used", d.used.min(5000).to_string());
        set("x-ratelimit-reset", (now() + 3600).to_string());
        set("x-ratelimit-resource", "core".into());
    }
    for (k, v) in extra {
        set(k, v);
    }
    resp
}

fn err(status: StatusCode, message: &str) -> Answer {
    (status, wire::error(status.as_u16(), message), vec![])
}

fn not_found() -> Answer {
    err(StatusCode::NOT_FOUND, "Not Found")
}

fn invalid(resource: &str, field: &str, code: &str, message: &str) -> Answer {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        wire::invalid(resource, field, code, message),
        vec![],
    )
}

struct Call {
    base: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Call {
    /// A query parameter.
    fn q(&self, name: &str) -> Option<String> {
        let q = self.uri.query().unwrap_or("");
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The JSON body, `{}` when there is none.
    fn json(&self) -> Result<Value, Answer> {
        if self.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&self.body)
            .map_err(|_| err(StatusCode::BAD_REQUEST, "Problems parsing JSON"))
    }

    /// One page of `rows` as `page` and `per_page` say (30 and at most 100), with the `Link`
    /// header to the others, which names the organization by its id
    /// (`/organizations/{org_id}/members?page=2`, as GitHub's links do).
    fn page(&self, rows: Vec<Value>) -> Answer {
        let per_page = self
            .q("per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(30usize)
            .clamp(1, 100);
        let page = self
            .q("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1usize)
            .max(1);
        let last = rows.len().div_ceil(per_page).max(1);
        let body: Vec<Value> = rows
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let link = |p: usize, rel: &str| {
            let q = self.uri.query().unwrap_or("");
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()).filter(|(k, _)| k != "page") {
                s.append_pair(&k, &v);
            }
            s.append_pair("page", &p.to_string());
            // As GitHub does, links name the organization by its id, not its login.
            let path = self.uri.path();
            let path = match path.strip_prefix("/orgs/").and_then(|r| r.split_once('/')) {
                Some((_, rest)) => format!("/organizations/{}/{rest}", super::state::ORG_ID),
                None => path.to_owned(),
            };
            format!("<{}{path}?{}>; rel=\"{rel}\"", self.base, s.finish())
        };
        let mut links = Vec::new();
        if page > 1 {
            links.extend([link(page - 1, "prev"), link(1, "first")]);
        }
        if page < last {
            links.extend([link(page + 1, "next"), link(last, "last")]);
        }
        let extra = match links.is_empty() {
            true => vec![],
            false => vec![("link", links.join(", "))],
        };
        (StatusCode::OK, Value::Array(body), extra)
    }

    fn answer(&self, d: &mut Data) -> Answer {
        if self
            .headers
            .get("x-github-api-version")
            .is_some_and(|v| v != "2022-11-28")
        {
            return err(
                StatusCode::BAD_REQUEST,
                "Unsupported 'X-GitHub-Api-Version'",
            );
        }
        let token = self
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("token "))
                    .map(str::trim)
            });
        let Some(me) = token.and_then(|t| d.by_token(t)) else {
            return err(StatusCode::UNAUTHORIZED, "Bad credentials");
        };
        if let Some((limit, n)) = d.limit.take() {
            d.limit = (n > 1).then_some((limit, n - 1));
            return limited(limit);
        }
        let path: Vec<String> = self
            .uri
            .path()
            .split('/')
            .skip(1)
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let m = self.method.clone();
        match (m, path.as_slice()) {
            (Method::GET, ["user"]) => {
                (StatusCode::OK, wire::private_user(&self.base, &me), vec![])
            }
            (m, ["orgs", org, rest @ ..]) if org.eq_ignore_ascii_case(&d.org) => {
                self.org(d, &me, m, rest)
            }
            _ => not_found(),
        }
    }

    /// `/orgs/{org}/…` as `me`.
    fn org(&self, d: &mut Data, me: &User, m: Method, rest: &[&str]) -> Answer {
        let my_role = d.role(&me.login).map(str::to_owned);
        let Some(my_role) = my_role else {
            return not_found();
        };
        let owner = my_role == "admin";
        let must_own = || {
            err(
                StatusCode::FORBIDDEN,
                "You must be an organization owner to do this.",
            )
        };
        match (m, rest) {
            (Method::GET, ["members"]) => {
                let role = match self.q("role").as_deref() {
                    None | Some("all") => None,
                    Some(r @ ("admin" | "member")) => Some(r.to_owned()),
                    Some(_) => return invalid("Member", "role", "invalid", "role is not valid"),
                };
                let rows = d
                    .members_with(role.as_deref())
                    .iter()
                    .map(|u| wire::simple_user(&self.base, u))
                    .collect();
                self.page(rows)
            }
            (Method::GET, ["memberships", login]) => self.membership(d, login),
            (Method::PUT, ["memberships", _]) if !owner => must_own(),
            (Method::PUT, ["memberships", login]) => self.set_membership(d, me, login),
            (Method::DELETE, ["memberships", _]) if !owner => must_own(),
            (Method::DELETE, ["memberships", login]) => {
                let key = login.to_lowercase();
                if d.members.remove(&key).is_some() {
                    d.teams
                        .iter_mut()
                        .for_each(|t| drop(t.members.remove(&key)));
                    return (StatusCode::NO_CONTENT, Value::Null, vec![]);
                }
                let before = d.invitations.len();
                d.invitations.retain(|i| {
                    !i.login
                        .as_deref()
                        .is_some_and(|l| l.eq_ignore_ascii_case(login))
                });
                match d.invitations.len() < before {
                    true => (StatusCode::NO_CONTENT, Value::Null, vec![]),
                    false => not_found(),
                }
            }
            (_, ["invitations", ..]) if !owner => not_found(),
            (Method::GET, ["invitations"]) => {
                let org_id = d.org_id;
                let rows = d
                    .invitations
                    .iter()
                    .map(|i| {
                        let inviter = d
                            .users
                            .values()
                            .find(|u| u.id == i.inviter)
                            .cloned()
                            .unwrap_or(me.clone());
                        wire::invitation(&self.base, org_id, i, &inviter)
                    })
                    .collect();
                self.page(rows)
            }
            (Method::POST, ["invitations"]) => self.invite(d, me),
            (Method::DELETE, ["invitations", id]) => {
                let before = d.invitations.len();
                d.invitations.retain(|i| i.id.to_string() != *id);
                match d.invitations.len() < before {
                    true => (StatusCode::NO_CONTENT, Value::Null, vec![]),
                    false => not_found(),
                }
            }
            (Method::GET, ["teams"]) => {
                let rows = d
                    .teams
                    .iter()
                    .map(|t| wire::team(&self.base, d.org_id, t))
                    .collect();
                self.page(rows)
            }
            (m, ["teams", slug, rest @ ..]) => match d.team(slug) {
                None => not_found(),
                Some(i) => self.team(d, owner, i, m, rest),
            },
            _ => not_found(),
        }
    }

    /// `GET /orgs/{org}/memberships/{username}`: a member, or a pending invitation by login.
    fn membership(&self, d: &mut Data, login: &str) -> Answer {
        let org = (d.org.clone(), d.org_id);
        let org = (org.0.as_str(), org.1);
        if let (Some(u), Some(role)) = (d.find(login), d.role(login)) {
            return (
                StatusCode::OK,
                wire::membership(&self.base, org, &u, role, "active"),
                vec![],
            );
        }
        let pending = d.invitations.iter().find(|i| {
            i.login
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(login))
        });
        match (pending, d.find(login)) {
            (Some(i), Some(u)) => {
                let role = if i.role == "direct_member" {
                    "member"
                } else {
                    i.role.as_str()
                };
                (
                    StatusCode::OK,
                    wire::membership(&self.base, org, &u, role, "pending"),
                    vec![],
                )
            }
            _ => not_found(),
        }
    }

    /// `PUT /orgs/{org}/memberships/{username}` with `role`: a member's new role, or an
    /// invitation of an account that is none.
    fn set_membership(&self, d: &mut Data, me: &User, login: &str) -> Answer {
        let body = match self.json() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let role = body["role"].as_str().unwrap_or("member").to_owned();
        if !matches!(role.as_str(), "admin" | "member") {
            return invalid("Membership", "role", "invalid", "role is not valid");
        }
        let Some(u) = d.find(login) else {
            return invalid("User", "username", "missing", "no such user");
        };
        let key = u.login.to_lowercase();
        let owners = d.members.values().filter(|r| *r == "admin").count();
        match d.members.get_mut(&key) {
            Some(r) if r == "admin" && role != "admin" && owners == 1 => {
                return invalid(
                    "Membership",
                    "role",
                    "invalid",
                    "You can't demote the last owner",
                )
            }
            Some(r) => *r = role,
            None => {
                let wire_role = if role == "member" {
                    "direct_member"
                } else {
                    "admin"
                }
                .to_owned();
                match d
                    .invitations
                    .iter_mut()
                    .find(|i| i.login.as_deref() == Some(&u.login))
                {
                    Some(i) => i.role = wire_role,
                    None => {
                        let id = d.id();
                        let inv = Invitation {
                            id,
                            login: Some(u.login.clone()),
                            email: None,
                            role: wire_role,
                            inviter: me.id,
                        };
                        d.invitations.push(inv);
                    }
                }
            }
        }
        self.membership(d, login)
    }

    /// `POST /orgs/{org}/invitations` with `email` (or `invitee_id`) and `role`.
    fn invite(&self, d: &mut Data, me: &User) -> Answer {
        let body = match self.json() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let role = body["role"].as_str().unwrap_or("direct_member").to_owned();
        if !matches!(
            role.as_str(),
            "admin" | "direct_member" | "billing_manager" | "reinstate"
        ) {
            return invalid(
                "OrganizationInvitation",
                "role",
                "invalid",
                "role is not valid",
            );
        }
        let Some(email) = body["email"].as_str().map(|e| e.trim().to_lowercase()) else {
            return invalid(
                "OrganizationInvitation",
                "email",
                "missing_field",
                "email is required (invitee_id is not modelled)",
            );
        };
        if email
            .split_once('@')
            .is_none_or(|(l, h)| l.is_empty() || !h.contains('.'))
        {
            return invalid(
                "OrganizationInvitation",
                "email",
                "invalid",
                "Invitee email is invalid",
            );
        }
        if d.invitations
            .iter()
            .any(|i| i.email.as_deref() == Some(email.as_str()))
        {
            return invalid(
                "OrganizationInvitation",
                "email",
                "already_exists",
                "Invitee is already invited",
            );
        }
        let member_has = d.users.values().any(|u| {
            u.public_email.as_deref() == Some(email.as_str())
                && d.members.contains_key(&u.login.to_lowercase())
        });
        if member_has {
            return invalid(
                "OrganizationInvitation",
                "email",
                "already_exists",
                "Invitee is already a part of this organization",
            );
        }
        let inv = Invitation {
            id: d.id(),
            login: None,
            email: Some(email),
            role,
            inviter: me.id,
        };
        d.invitations.push(inv.clone());
        (
            StatusCode::CREATED,
            wire::invitation(&self.base, d.org_id, &inv, me),
            vec![],
        )
    }

    /// `/orgs/{org}/teams/{team_slug}/…` of the team at `i`.
    fn team(&self, d: &mut Data, owner: bool, i: usize, m: Method, rest: &[&str]) -> Answer {
        let org = (d.org.clone(), d.org_id);
        let t: &Team = &d.teams[i];
        match (m, rest) {
            (Method::GET, []) => (
                StatusCode::OK,
                wire::team_full(&self.base, (&org.0, org.1), t),
                vec![],
            ),
            (Method::GET, ["members"]) => {
                let want = self.q("role").unwrap_or_else(|| "all".into());
                let mut users: Vec<User> = t
                    .members
                    .iter()
                    .filter(|(_, r)| want == "all" || **r == want)
                    .filter_map(|(l, _)| d.users.get(l).cloned())
                    .collect();
                users.sort_by_key(|u| u.id);
                self.page(
                    users
                        .iter()
                        .map(|u| wire::simple_user(&self.base, u))
                        .collect(),
                )
            }
            (Method::GET, ["memberships", login]) => match t.members.get(&login.to_lowercase()) {
                Some(role) => (
                    StatusCode::OK,
                    wire::team_membership(&self.base, org.1, t, login, role),
                    vec![],
                ),
                None => not_found(),
            },
            (Method::PUT | Method::DELETE, ["memberships", _]) if !owner => err(
                StatusCode::FORBIDDEN,
                "You must be an organization owner or team maintainer.",
            ),
            (Method::PUT, ["memberships", login]) => {
                let body = match self.json() {
                    Ok(b) => b,
                    Err(e) => return e,
                };
                let role = body["role"].as_str().unwrap_or("member").to_owned();
                if !matches!(role.as_str(), "member" | "maintainer") {
                    return invalid("TeamMember", "role", "invalid", "role is not valid");
                }
                if d.role(login).is_none() {
                    return invalid("TeamMember", "user", "invalid", "the user is not a member of the organization (the stand-in does not invite through teams)");
                }
                let t = &mut d.teams[i];
                t.members.insert(login.to_lowercase(), role.clone());
                (
                    StatusCode::OK,
                    wire::team_membership(&self.base, org.1, t, login, &role),
                    vec![],
                )
            }
            (Method::DELETE, ["memberships", login]) => {
                d.teams[i].members.remove(&login.to_lowercase());
                (StatusCode::NO_CONTENT, Value::Null, vec![])
            }
            _ => not_found(),
        }
    }
}

/// The answer of a rate limit, as GitHub's rate-limit page shows them.
fn limited(limit: Limit) -> Answer {
    match limit {
        Limit::Primary { reset_in } => (
            StatusCode::FORBIDDEN,
            wire::error(403, "API rate limit exceeded for user ID 1001. If you reach out to GitHub Support for help, please include the request ID."),
            vec![
                ("x-ratelimit-limit", "5000".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-used", "5000".into()),
                ("x-ratelimit-reset", (now() + reset_in).to_string()),
                ("x-ratelimit-resource", "core".into()),
            ],
        ),
        Limit::Secondary { retry_after } => (
            StatusCode::FORBIDDEN,
            wire::error(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."),
            vec![("retry-after", retry_after.to_string())],
        ),
    }
}
