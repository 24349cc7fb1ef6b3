//! **A stand-in for the App Store Connect API (one team's Users and Access: its users and user
//! invitations), not Apple.** It serves the v1 endpoints the `app_store_connect` connector uses,
//! in Apple's JSON:API shapes, from memory, one team per [`AppStoreConnect`], under `/v1`:
//!
//! - `GET /users` (`limit` 1–200, default 50, `cursor`, `filter[username]`, `filter[roles]`,
//!   `fields[users]`), `GET|PATCH|DELETE /users/{id}` (`PATCH` takes `roles` and
//!   `allAppsVisible`; the Account Holder is neither changed nor removed).
//! - `GET /userInvitations` (`limit`, `cursor`, `filter[email]`, `filter[roles]`,
//!   `fields[userInvitations]`), `POST /userInvitations` (201; `email`, `firstName`, `lastName`,
//!   `roles` required), `GET|DELETE /userInvitations/{id}`.
//!
//! Documents are `{"data", "links": {"self", "next"}, "meta": {"paging": {"total", "limit"}}}`,
//! `links.next` (with an opaque `cursor`) left out on the last page; an unknown parameter is 400
//! `PARAMETER_ERROR.ILLEGAL`. Every request needs `Authorization: Bearer <JWT>`: the header's
//! `kid` names one of the team's API keys, whose public key must verify the ES256 signature, and
//! the claims must have `iss` the team's issuer id, `aud` `appstoreconnect-v1`, an `exp` not
//! passed, and at most 20 minutes from `iat` to `exp`; else 401 `NOT_AUTHORIZED`. A key of the
//! Developer role is refused these endpoints (403 `FORBIDDEN_ERROR`). Errors are `{"errors":
//! [{"id", "status", "code", "title", "detail"}]}`. Every answer carries `X-Rate-Limit:
//! user-hour-lim:N;user-hour-rem:M;`; past the hour's budget, 429 `RATE_LIMIT_EXCEEDED`.
//!
//! The stand-in's choices where the reference is silent: the page size by default; the cursor's
//! form; 409 `ENTITY_ERROR.ATTRIBUTE.INVALID` for an unknown role, a bad address or
//! `ACCOUNT_HOLDER` given, 409 `ENTITY_ERROR` for an address already on the team or invited;
//! an invitee joins only through [`AppStoreConnect::accept`] (or at once after
//! [`AppStoreConnect::accept_at_once`]) and gets a new user id; no `Retry-After`; the messages.
//! The keys are made fresh for each stand-in (P-256, PKCS#8 PEM, like the `.p8` files Apple
//! gives). Not modelled: visible apps, provisioning, sorting, `include`, individual keys, token
//! scopes. Pages followed:
//! - <https://developer.apple.com/documentation/appstoreconnectapi/users>
//! - <https://developer.apple.com/documentation/appstoreconnectapi/user-invitations>
//! - <https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests>
//! - <https://developer.apple.com/documentation/appstoreconnectapi/parsing-the-error-response-code>
//! - <https://developer.apple.com/documentation/appstoreconnectapi/identifying-rate-limits>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Map, Value};

use crate::kit::{self, param, Budget, RateLimit};

/// Requests an hour before 429 unless a test sets another.
pub const DEFAULT_LIMIT: u32 = 3_500;
/// The tokens' audience.
pub const AUDIENCE: &str = "appstoreconnect-v1";
const ROLES: [&str; 12] = [
    "ADMIN",
    "FINANCE",
    "APP_MANAGER",
    "DEVELOPER",
    "MARKETING",
    "SALES",
    "CUSTOMER_SUPPORT",
    "ACCESS_TO_REPORTS",
    "IMAGE_MANAGER",
    "CREATE_APPS",
    "CLOUD_MANAGED_DEVELOPER_ID",
    "CLOUD_MANAGED_APP_DISTRIBUTION",
];
const USER_FIELDS: [&str; 6] = [
    "username",
    "firstName",
    "lastName",
    "roles",
    "allAppsVisible",
    "provisioningAllowed",
];
const INVITE_FIELDS: [&str; 7] = [
    "email",
    "firstName",
    "lastName",
    "expirationDate",
    "roles",
    "allAppsVisible",
    "provisioningAllowed",
];

/// A running stand-in of one team: its base URL (with `/v1`), its issuer id, an Admin API key
/// and a Developer API key (ids and private keys in PKCS#8 PEM), its Account Holder's user id.
#[derive(Debug, Clone)]
pub struct AppStoreConnect {
    /// `http://127.0.0.1:<port>/v1`.
    pub base_url: String,
    /// The team's issuer id (the tokens' `iss`).
    pub issuer_id: String,
    /// The Admin key's id (a token's `kid`).
    pub admin_key_id: String,
    /// The Admin key, PKCS#8 PEM (a `.p8` file's content).
    pub admin_key: String,
    /// The Developer key's id.
    pub developer_key_id: String,
    /// The Developer key, PKCS#8 PEM.
    pub developer_key: String,
    /// The Account Holder's user id.
    pub account_holder_id: String,
    team: Arc<Team>,
}

/// An API key: id, role, public point.
#[derive(Debug)]
struct ApiKey {
    id: String,
    role: &'static str,
    public: Vec<u8>,
}

/// A user or an invitation: id, address, names, roles, all apps visible.
#[derive(Debug, Clone)]
struct Person {
    id: String,
    email: String,
    first: String,
    last: String,
    roles: Vec<String>,
    all_apps: bool,
}

#[derive(Debug, Default)]
struct Rows {
    users: Vec<Person>,
    invites: Vec<Person>,
}

#[derive(Debug)]
struct Team {
    state: Mutex<Rows>,
    keys: Vec<ApiKey>,
    issuer: String,
    limit: RateLimit,
    next: AtomicU64,
    at_once: AtomicBool,
    base_url: Mutex<String>,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

/// A fresh P-256 key: its PKCS#8 PEM and public point.
fn new_key() -> (String, Vec<u8>) {
    let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
    let der = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("a P-256 key");
    let pair = EcdsaKeyPair::from_pkcs8(alg, der.as_ref()).expect("the key just made");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (pem, pair.public_key().as_ref().to_vec())
}

impl AppStoreConnect {
    /// Starts a team with its Account Holder, an Admin key and a Developer key.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let (admin_pem, admin_public) = new_key();
        let (dev_pem, dev_public) = new_key();
        let (admin_kid, dev_kid) = (format!("ADM{n:07}"), format!("DEV{n:07}"));
        let holder = Person {
            id: "d1a0c0de-0000-4000-8000-000000000001".into(),
            email: "holder@standin.test".into(),
            first: "Account".into(),
            last: "Holder".into(),
            roles: vec!["ACCOUNT_HOLDER".into(), "ADMIN".into()],
            all_apps: true,
        };
        let team = Arc::new(Team {
            state: Mutex::new(Rows {
                users: vec![holder.clone()],
                invites: vec![],
            }),
            keys: vec![
                ApiKey {
                    id: admin_kid.clone(),
                    role: "ADMIN",
                    public: admin_public,
                },
                ApiKey {
                    id: dev_kid.clone(),
                    role: "DEVELOPER",
                    public: dev_public,
                },
            ],
            issuer: format!("57246542-96fe-1a63-e053-{n:012}"),
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(3600)),
            next: AtomicU64::new(1000),
            at_once: AtomicBool::new(false),
            base_url: Mutex::new(String::new()),
        });
        let v1 = Router::new()
            .route("/{*rest}", any(handle))
            .with_state(team.clone());
        let base_url = format!("{}/v1", kit::spawn(Router::new().nest("/v1", v1)).base_url);
        *team.base_url.lock().unwrap() = base_url.clone();
        Self {
            base_url,
            issuer_id: team.issuer.clone(),
            admin_key_id: admin_kid,
            admin_key: admin_pem,
            developer_key_id: dev_kid,
            developer_key: dev_pem,
            account_holder_id: holder.id,
            team,
        }
    }

    /// Makes sure a user with `email` and `roles` exists; returns their id.
    pub fn seed(&self, email: &str, first: &str, roles: &[&str]) -> String {
        let mut rows = self.team.state.lock().unwrap();
        if let Some(u) = rows
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
        {
            return u.id.clone();
        }
        let u = Person {
            id: new_id(&self.team),
            email: email.to_lowercase(),
            first: first.into(),
            last: "Seeded".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            all_apps: true,
        };
        rows.users.push(u.clone());
        u.id
    }

    /// The invitee of `email` accepts and becomes a user (a new id); `None` without an
    /// invitation.
    pub fn accept(&self, email: &str) -> Option<String> {
        let mut rows = self.team.state.lock().unwrap();
        let i = rows
            .invites
            .iter()
            .position(|i| i.email.eq_ignore_ascii_case(email))?;
        let mut u = rows.invites.remove(i);
        u.id = new_id(&self.team);
        rows.users.push(u.clone());
        Some(u.id)
    }

    /// Whether invitees accept at once (an invitation makes a user straight away).
    pub fn accept_at_once(&self, yes: bool) {
        self.team.at_once.store(yes, Ordering::Relaxed);
    }

    /// The roles of the user `id`, `None` when there is none.
    pub fn roles(&self, id: &str) -> Option<Vec<String>> {
        let rows = self.team.state.lock().unwrap();
        rows.users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.roles.clone())
    }

    /// The roles and names of the pending invitation of `email`, `None` when there is none.
    pub fn invitation(&self, email: &str) -> Option<(Vec<String>, String, String)> {
        let rows = self.team.state.lock().unwrap();
        let i = rows
            .invites
            .iter()
            .find(|i| i.email.eq_ignore_ascii_case(email))?;
        Some((i.roles.clone(), i.first.clone(), i.last.clone()))
    }

    /// A token with `claims` signed by the Admin key (tests make expired or foreign ones).
    pub fn token(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = Some(self.admin_key_id.clone());
        let key = jsonwebtoken::EncodingKey::from_ec_pem(self.admin_key.as_bytes())
            .expect("the stand-in's own key");
        jsonwebtoken::encode(&header, claims, &key).expect("a token")
    }

    /// Sets the requests allowed an hour from now on.
    pub fn set_rate_limit(&self, per_hour: u32) {
        self.team.limit.set_limit(per_hour);
    }
}

fn new_id(t: &Team) -> String {
    let n = t.next.fetch_add(1, Ordering::Relaxed);
    format!("5a1e{n:04x}-0000-4000-8000-{n:012}")
}

type Q = Vec<(String, String)>;
/// An error: status, `code`, `detail`.
type Fail = (u16, &'static str, String);

/// An answer with `X-Rate-Limit` (`left` requests left this hour); `None` for no body (204).
fn answer(t: &Team, left: u32, status: StatusCode, body: Option<Value>) -> Response {
    let limit = format!("user-hour-lim:{};user-hour-rem:{left};", t.limit.limit());
    let mut r = kit::reply(
        status,
        vec![("x-rate-limit", limit)],
        body.unwrap_or(Value::Null),
    );
    if status == StatusCode::NO_CONTENT {
        *r.body_mut() = axum::body::Body::empty();
    }
    r
}

/// Apple's error document for `(status, code, detail)`.
fn error(t: &Team, left: u32, (status, code, detail): Fail) -> Response {
    static IDS: AtomicU64 = AtomicU64::new(1);
    let title = match status {
        401 => "Authentication credentials are missing or invalid.",
        403 => "The given operation is not allowed",
        404 => "The specified resource does not exist",
        409 => "The provided entity includes an attribute with an invalid value",
        429 => "The request rate limit has been reached.",
        _ => "A parameter has an invalid value",
    };
    let id = format!(
        "0e7e{:04x}-0000-4000-8000-000000000000",
        IDS.fetch_add(1, Ordering::Relaxed)
    );
    let body = json!({"errors": [{"id": id, "status": status.to_string(), "code": code,
        "title": title, "detail": detail}]});
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    answer(t, left, status, Some(body))
}

/// Counts the request and checks its token; returns the budget left and the key's role.
fn authorize(t: &Team, h: &HeaderMap) -> Result<(u32, &'static str), Response> {
    let left = match t.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(_) => {
            let d = "We've received too many requests for this API. Please wait and try again or \
                     slow down your request rate.";
            return Err(error(t, 0, (429, "RATE_LIMIT_EXCEEDED", d.into())));
        }
    };
    let refuse = |why: &str| {
        let d = format!(
            "Provide a properly configured and signed bearer token, and make sure that it has \
             not expired. ({why})"
        );
        error(t, left, (401, "NOT_AUTHORIZED", d))
    };
    let token = kit::bearer(h).ok_or_else(|| refuse("no bearer token"))?;
    let header = decode_header(&token).map_err(|_| refuse("not a JWT"))?;
    let key = t.keys.iter().find(|k| Some(&k.id) == header.kid.as_ref());
    let key = key.ok_or_else(|| refuse("no such key"))?;
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&[AUDIENCE]);
    v.set_issuer(&[t.issuer.as_str()]);
    v.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    v.leeway = 0;
    let claims = decode::<Value>(&token, &DecodingKey::from_ec_der(&key.public), &v)
        .map_err(|e| refuse(&format!("{:?}", e.kind())))?
        .claims;
    let life = claims["exp"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(claims["iat"].as_u64().unwrap_or(0));
    if life > 20 * 60 {
        return Err(refuse("a lifetime over 20 minutes"));
    }
    Ok((left, key.role))
}

/// Every call, by method and path.
async fn handle(
    State(t): State<Arc<Team>>,
    method: Method,
    h: HeaderMap,
    Path(rest): Path<String>,
    Query(q): Query<Q>,
    bytes: Bytes,
) -> Response {
    let (left, role) = match authorize(&t, &h) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if role != "ADMIN" {
        let d = "The API key in use does not allow this request".to_owned();
        return error(&t, left, (403, "FORBIDDEN_ERROR", d));
    }
    let body = || -> Result<Value, Fail> {
        serde_json::from_slice(&bytes).map_err(|_| {
            (
                400,
                "ENTITY_INVALID",
                "The request entity is not valid JSON.".into(),
            )
        })
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let mut rows = t.state.lock().unwrap();
    let out: Result<(StatusCode, Option<Value>), Fail> = match (&method, parts.as_slice()) {
        (&Method::GET, ["users"]) => list(&t, &q, "users", &rows.users),
        (&Method::GET, ["userInvitations"]) => list(&t, &q, "userInvitations", &rows.invites),
        (&Method::GET, ["users", id]) => one(&t, &q, "users", &rows.users, id),
        (&Method::GET, ["userInvitations", id]) => {
            one(&t, &q, "userInvitations", &rows.invites, id)
        }
        (&Method::PATCH, ["users", id]) => body().and_then(|v| update(&t, &mut rows, id, &v)),
        (&Method::DELETE, ["users", id]) => remove_user(&mut rows, id),
        (&Method::POST, ["userInvitations"]) => body().and_then(|v| invite(&t, &mut rows, &v)),
        (&Method::DELETE, ["userInvitations", id]) => {
            let before = rows.invites.len();
            rows.invites.retain(|i| i.id != *id);
            match rows.invites.len() < before {
                true => Ok((StatusCode::NO_CONTENT, None)),
                false => Err(not_found(id)),
            }
        }
        _ => Err((
            404,
            "PATH_ERROR",
            format!("The URL path '/v1/{rest}' is not valid."),
        )),
    };
    match out {
        Ok((status, body)) => answer(&t, left, status, body),
        Err(f) => error(&t, left, f),
    }
}

fn not_found(id: &str) -> Fail {
    (
        404,
        "NOT_FOUND",
        format!("There is no resource with id '{id}'."),
    )
}

/// The fields of a resource type, and the attributes of `p` as it shows them.
fn attributes(kind: &str, p: &Person) -> (&'static [&'static str], Map<String, Value>) {
    let (fields, name): (&'static [&'static str], &str) = match kind {
        "users" => (&USER_FIELDS, "username"),
        _ => (&INVITE_FIELDS, "email"),
    };
    let a = json!({name: p.email, "firstName": p.first, "lastName": p.last, "roles": p.roles,
        "allAppsVisible": p.all_apps, "provisioningAllowed": false,
        "expirationDate": "2030-01-01T00:00:00.000+0000"});
    let mut a = match a {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    a.retain(|k, _| fields.contains(&k.as_str()));
    (fields, a)
}

/// The resource `p` of `kind` with the `fields[<kind>]` asked (all without).
fn resource(t: &Team, q: &Q, kind: &str, p: &Person) -> Result<Value, Fail> {
    let (fields, mut a) = attributes(kind, p);
    if let Some(asked) = param(q, &format!("fields[{kind}]")) {
        let asked: Vec<&str> = asked.split(',').map(str::trim).collect();
        if let Some(bad) = asked.iter().find(|f| !fields.contains(f)) {
            let d = format!("'{bad}' is not a valid field name for fields[{kind}]");
            return Err((400, "PARAMETER_ERROR.INVALID", d));
        }
        a.retain(|k, _| asked.contains(&k.as_str()));
    }
    let base = t.base_url.lock().unwrap().clone();
    Ok(json!({"type": kind, "id": p.id, "attributes": a,
        "links": {"self": format!("{base}/{kind}/{}", p.id)}}))
}

/// One resource by id.
fn one(
    t: &Team,
    q: &Q,
    kind: &str,
    all: &[Person],
    id: &str,
) -> Result<(StatusCode, Option<Value>), Fail> {
    let p = all
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| not_found(id))?;
    let base = t.base_url.lock().unwrap().clone();
    let doc =
        json!({"data": resource(t, q, kind, p)?, "links": {"self": format!("{base}/{kind}/{id}")}});
    Ok((StatusCode::OK, Some(doc)))
}

/// A page of `all` filtered as `q` asks, with `links.next` while more follow.
fn list(t: &Team, q: &Q, kind: &str, all: &[Person]) -> Result<(StatusCode, Option<Value>), Fail> {
    let by = if kind == "users" { "username" } else { "email" };
    let (fields_k, filter_k) = (format!("fields[{kind}]"), format!("filter[{by}]"));
    let allowed = ["limit", "cursor", &fields_k, &filter_k, "filter[roles]"];
    if let Some((k, _)) = q.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        return Err((
            400,
            "PARAMETER_ERROR.ILLEGAL",
            format!("'{k}' is not a valid parameter"),
        ));
    }
    let limit = match param(q, "limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if (1..=200).contains(&n) => n,
        Some(_) => {
            return Err((
                400,
                "PARAMETER_ERROR.INVALID",
                "limit must be 1 to 200".into(),
            ))
        }
    };
    let list_of = |k: &str| {
        param(q, k).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_lowercase())
                .collect::<Vec<_>>()
        })
    };
    let (names, roles) = (list_of(&filter_k), list_of("filter[roles]"));
    let mut rows: Vec<&Person> = all
        .iter()
        .filter(|p| {
            names
                .as_ref()
                .is_none_or(|n| n.contains(&p.email.to_lowercase()))
        })
        .filter(|p| {
            roles
                .as_ref()
                .is_none_or(|r| p.roles.iter().any(|x| r.contains(&x.to_lowercase())))
        })
        .collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let after = param(q, "cursor")
        .and_then(|c| b64.decode(c).ok())
        .and_then(|c| String::from_utf8(c).ok());
    let (page, last) = kit::page_after(&rows, |p| p.id.clone(), after.as_ref(), limit);
    let data = page
        .iter()
        .map(|p| resource(t, q, kind, p))
        .collect::<Result<Vec<_>, _>>()?;
    let base = t.base_url.lock().unwrap().clone();
    let query = |cursor: Option<String>| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.iter().filter(|(k, _)| k != "cursor") {
            pairs.append_pair(k, v);
        }
        if let Some(c) = cursor {
            pairs.append_pair("cursor", &c);
        }
        format!("{base}/{kind}?{}", pairs.finish())
    };
    let mut links = json!({ "self": query(None) });
    if let Some(last) = last {
        links["next"] = json!(query(Some(b64.encode(last))));
    }
    let doc = json!({"data": data, "links": links,
        "meta": {"paging": {"total": rows.len(), "limit": limit}}});
    Ok((StatusCode::OK, Some(doc)))
}

/// The roles of a request's attributes: known, not `ACCOUNT_HOLDER`, at least one.
fn roles_in(a: &Value) -> Result<Vec<String>, Fail> {
    let roles: Vec<String> = a["roles"].as_array().map_or(vec![], |r| {
        r.iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    });
    if roles.is_empty() || !roles.iter().all(|r| ROLES.contains(&r.as_str())) {
        let d = format!("roles must be some of {ROLES:?}, not {roles:?}");
        return Err((409, "ENTITY_ERROR.ATTRIBUTE.INVALID", d));
    }
    Ok(roles)
}

fn update(
    t: &Team,
    rows: &mut Rows,
    id: &str,
    v: &Value,
) -> Result<(StatusCode, Option<Value>), Fail> {
    let d = &v["data"];
    if d["type"] != "users" || d["id"] != id {
        return Err((
            409,
            "ENTITY_ERROR",
            "The entity's type or id does not match the URL.".into(),
        ));
    }
    let u = rows
        .users
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(|| not_found(id))?;
    if u.roles.iter().any(|r| r == "ACCOUNT_HOLDER") {
        return Err((
            403,
            "FORBIDDEN_ERROR",
            "The Account Holder's roles cannot be changed.".into(),
        ));
    }
    let a = &d["attributes"];
    if !a["roles"].is_null() {
        u.roles = roles_in(a)?;
    }
    if let Some(all) = a["allAppsVisible"].as_bool() {
        u.all_apps = all;
    }
    let u = u.clone();
    one(t, &Q::new(), "users", &[u], id)
}

fn remove_user(rows: &mut Rows, id: &str) -> Result<(StatusCode, Option<Value>), Fail> {
    let i = rows
        .users
        .iter()
        .position(|u| u.id == id)
        .ok_or_else(|| not_found(id))?;
    if rows.users[i].roles.iter().any(|r| r == "ACCOUNT_HOLDER") {
        return Err((
            409,
            "ENTITY_ERROR",
            "The Account Holder cannot be removed.".into(),
        ));
    }
    rows.users.remove(i);
    Ok((StatusCode::NO_CONTENT, None))
}

fn invite(t: &Team, rows: &mut Rows, v: &Value) -> Result<(StatusCode, Option<Value>), Fail> {
    let d = &v["data"];
    if d["type"] != "userInvitations" {
        return Err((
            409,
            "ENTITY_ERROR",
            "The entity's type must be userInvitations.".into(),
        ));
    }
    let a = &d["attributes"];
    let text = |k: &str| a[k].as_str().unwrap_or("").trim().to_owned();
    let email = text("email").to_lowercase();
    if !email.contains('@') || text("firstName").is_empty() || text("lastName").is_empty() {
        let m = "email must be an address; firstName and lastName are required".into();
        return Err((409, "ENTITY_ERROR.ATTRIBUTE.INVALID", m));
    }
    let roles = roles_in(a)?;
    if rows
        .users
        .iter()
        .chain(&rows.invites)
        .any(|p| p.email == email)
    {
        let m = format!("{email} is already on the team or invited.");
        return Err((409, "ENTITY_ERROR", m));
    }
    let p = Person {
        id: new_id(t),
        email,
        first: text("firstName"),
        last: text("lastName"),
        roles,
        all_apps: a["allAppsVisible"].as_bool().unwrap_or(false),
    };
    let doc = one(
        t,
        &Q::new(),
        "userInvitations",
        std::slice::from_ref(&p),
        &p.id,
    )?;
    match t.at_once.load(Ordering::Relaxed) {
        true => rows.users.push(Person { id: new_id(t), ..p }),
        false => rows.invites.push(p),
    }
    Ok((StatusCode::CREATED, doc.1))
}
