//! **A stand-in for DocuSign's eSignature REST API v2.1 (Users, permission profiles) and its
//! account server's user info, not DocuSign.** It serves, in DocuSign's shapes, from memory, one
//! account per [`DocuSign`]:
//!
//! - `GET /oauth/userinfo` (the account server): the token's user, `sub`, `email`, `name` and
//!   `accounts: [{account_id, is_default, account_name, base_uri}]`.
//! - Under `/restapi/v2.1/accounts/{accountId}`:
//!   - `GET /users?start_position=…&count=…&email=…`: `users`, `resultSetSize`,
//!     `totalSetSize`, `startPosition`, `endPosition`, `nextUri`, `previousUri` (numbers as
//!     strings; `count` 1 to 100), users in the order they were added;
//!   - `POST /users` with `newUsers: [{userName, email, permissionProfileId}]`: 201 with
//!     `newUsers` (`userStatus: ActivationSent`), a per-user `errorDetails` for a user who
//!     exists (`USER_ALREADY_EXISTS_IN_ACCOUNT`), an invalid address or profile;
//!   - `GET`, `PUT /users/{userId}` (`permissionProfileId`; other fields ignored);
//!   - `DELETE /users` with `{"users": [{"userId"}]}`: closes each (`userStatus: Closed`);
//!   - `GET /permission_profiles`: `permissionProfiles: [{permissionProfileId,
//!     permissionProfileName, userCount}]`.
//!
//! Users carry `isAdmin` (`"True"`/`"False"`), `permissionProfileId`, `permissionProfileName`,
//! `userStatus` (`Active`, `ActivationSent`, `Closed`) and, read one at a time, `userSettings`
//! with `accountManagementGranular.canManageUsers`. The account has the built-in profiles
//! (Account Administrator, DocuSign Sender, DocuSign Viewer) and a custom "User Manager" that can
//! manage users without being an administrator. Authentication: an OAuth access token (Bearer);
//! a missing or wrong one is 401 `AUTHORIZATION_INVALID_TOKEN`. Only a user who can manage users
//! may list, add, change or close users or read another user (400 `USER_LACKS_PERMISSIONS`);
//! anyone may read themselves. Errors are `{"errorCode", "message"}` with 400. Every answer
//! carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (a UTC epoch
//! time); past the hourly limit, 429 `HOURLY_APIINVOCATION_LIMIT_EXCEEDED`.
//!
//! The stand-in's own choices, where the reference is silent: adding the address of a closed
//! user reopens that user (same `userId`, the new profile, `ActivationSent`); an unknown user id
//! is `INVALID_USERID`; another account's id in the path is
//! `USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT`; the error codes of a bad address
//! (`INVALID_EMAIL_ADDRESS_FOR_USER`) and profile (`INVALID_PERMISSION_PROFILE`); the 429 status of
//! the hourly limit (DocuSign has answered limits with 400 too). Not modelled: the burst limit,
//! groups, user settings beyond `canManageUsers`, `additional_info`, `status` and the other
//! filters, invitees activating. Pages followed:
//! - Users: <https://developers.docusign.com/docs/esign-rest-api/reference/users/users/>
//! - Permission profiles:
//!   <https://developers.docusign.com/docs/esign-rest-api/reference/accounts/accountpermissionprofiles/list/>
//! - User info: <https://developers.docusign.com/platform/auth/reference/user-info>
//! - Resource limits: <https://developers.docusign.com/platform/resource-limits>
//! - The OpenAPI description: <https://github.com/docusign/OpenAPI-Specifications>

// Handlers answer a refusal as the `Err` of a `Result` (axum's `Response`, large but built once
// a request).
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// The account's id (a GUID), its organization id.
pub const ACCOUNT_ID: &str = "f636f297-0000-4000-8000-8e7a14715950";
/// Requests an hour before 429 (DocuSign's default).
pub const DEFAULT_LIMIT: u32 = 3000;
/// The name of the custom profile that can manage users but is no administrator.
pub const USER_MANAGER: &str = "User Manager";

/// `(id, name, admin, can manage users)` of the account's permission profiles.
const PROFILES: [(&str, &str, bool, bool); 4] = [
    ("10000001", "Account Administrator", true, true),
    ("10000002", "DocuSign Sender", false, false),
    ("10000003", "DocuSign Viewer", false, false),
    ("10000004", USER_MANAGER, false, true),
];

/// A running stand-in of one DocuSign account: its REST base URL (with `/restapi`), its
/// account server's token URL (whose origin serves `/oauth/userinfo`), and OAuth tokens of an
/// Account Administrator (the automation account), a DocuSign Sender (no user management) and a
/// User Manager.
#[derive(Debug, Clone)]
pub struct DocuSign {
    /// `http://127.0.0.1:<port>/restapi`.
    pub base_url: String,
    /// `http://127.0.0.1:<port>/oauth/token` (not served: its origin is the account server).
    pub token_url: String,
    /// The administrator's access token.
    pub admin_token: String,
    /// The administrator's user id.
    pub admin_id: String,
    /// A DocuSign Sender's access token.
    pub sender_token: String,
    /// A User Manager's access token.
    pub manager_token: String,
    account: Arc<Account>,
}

#[derive(Debug)]
struct Account {
    users: Mutex<Vec<User>>,
    next: AtomicU64,
    /// `(token, user id)`.
    tokens: Vec<(String, String)>,
    limit: RateLimit,
    served: AtomicU64,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    name: String,
    email: String,
    profile: &'static str,
    status: &'static str,
}

static INSTANCES: AtomicU64 = AtomicU64::new(1);

fn guid(n: u64) -> String {
    format!("{n:08x}-5a5a-4000-8000-{n:012x}")
}

fn profile(id: &str) -> Option<&'static (&'static str, &'static str, bool, bool)> {
    PROFILES.iter().find(|p| p.0 == id)
}

impl DocuSign {
    /// Starts an account with its administrator, a sender and a user manager on a loopback
    /// port.
    pub fn start() -> Self {
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let token = |who: &str| format!("ds-{who}-{n}");
        let user = |i: u64, name: &str, email: &str, profile| User {
            id: guid(i),
            name: name.into(),
            email: email.into(),
            profile,
            status: "Active",
        };
        let account = Arc::new(Account {
            users: Mutex::new(vec![
                user(1, "Automation", "admin@standin.test", PROFILES[0].0),
                user(2, "Sender", "sender@standin.test", PROFILES[1].0),
                user(3, "Manager", "manager@standin.test", PROFILES[3].0),
            ]),
            next: AtomicU64::new(1000),
            tokens: vec![
                (token("admin"), guid(1)),
                (token("sender"), guid(2)),
                (token("manager"), guid(3)),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(3600)),
            served: AtomicU64::new(0),
        });
        let users = "/restapi/v2.1/accounts/{account}/users";
        let router = Router::new()
            .route("/oauth/userinfo", get(userinfo))
            .route(users, get(list).post(create).delete(close))
            .route(&format!("{users}/{{id}}"), get(show).put(update))
            .route(
                "/restapi/v2.1/accounts/{account}/permission_profiles",
                get(profiles),
            )
            .with_state(account.clone());
        let base = kit::spawn(router).base_url;
        Self {
            base_url: format!("{base}/restapi"),
            token_url: format!("{base}/oauth/token"),
            admin_token: token("admin"),
            admin_id: guid(1),
            sender_token: token("sender"),
            manager_token: token("manager"),
            account,
        }
    }

    /// Makes sure an active user with `email` exists with the profile named `profile_name`, as
    /// an administrator would in DocuSign's own pages; returns its id.
    ///
    /// Panics for a profile the account does not have (a test's mistake).
    pub fn seed(&self, email: &str, name: &str, profile_name: &str) -> String {
        let p = PROFILES.iter().find(|p| p.1 == profile_name);
        let p = p.unwrap_or_else(|| panic!("no profile {profile_name:?}"));
        let mut users = self.account.users.lock().unwrap();
        if let Some(u) = users.iter().find(|u| u.email.eq_ignore_ascii_case(email)) {
            return u.id.clone();
        }
        let id = guid(self.account.next.fetch_add(1, Ordering::Relaxed));
        users.push(User {
            id: id.clone(),
            name: name.into(),
            email: email.to_lowercase(),
            profile: p.0,
            status: "Active",
        });
        id
    }

    /// The user `id` as the API shows it to an administrator, `None` when there is none.
    pub fn user(&self, id: &str) -> Option<Value> {
        let users = self.account.users.lock().unwrap();
        users.iter().find(|u| u.id == id).map(|u| u.json(true))
    }

    /// Sets the requests allowed an hour from now on (a new window starts).
    pub fn set_rate_limit(&self, per_hour: u32) {
        self.account.limit.set_limit(per_hour);
    }

    /// How many requests the stand-in answered (429s included).
    pub fn served(&self) -> u64 {
        self.account.served.load(Ordering::Relaxed)
    }
}

impl User {
    fn json(&self, settings: bool) -> Value {
        let (pid, pname, admin, manages) = profile(self.profile).copied().unwrap_or_default();
        let (first, last) = self.name.split_once(' ').unwrap_or((&self.name, ""));
        let mut v = json!({
            "userName": self.name, "userId": self.id, "userType": "CompanyUser",
            "isAdmin": if admin { "True" } else { "False" }, "isNAREnabled": "false",
            "userStatus": self.status, "uri": format!("/users/{}", self.id),
            "email": self.email, "createdDateTime": "2024-01-01T00:00:00.0000000Z",
            "firstName": first, "lastName": last, "jobTitle": "", "company": "Stand-in",
            "permissionProfileId": pid, "permissionProfileName": pname,
        });
        if settings {
            let flag = if manages { "true" } else { "false" };
            v["userSettings"] = json!({"accountManagementGranular": {"canManageUsers": flag}});
        }
        v
    }

    fn manages_users(&self) -> bool {
        profile(self.profile).is_some_and(|p| p.3)
    }
}

type Answer = Result<Response, Response>;

fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn limits(a: &Account, left: u32, reset: u64) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", a.limit.limit().to_string()),
        ("x-ratelimit-remaining", left.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ]
}

/// The caller (by its Bearer token) and the requests left this hour.
fn gate(a: &Account, h: &HeaderMap) -> Result<(u32, User), Response> {
    a.served.fetch_add(1, Ordering::Relaxed);
    let hour_end = epoch() / 3600 * 3600 + 3600;
    let left = match a.limit.take() {
        Budget::Left(n) => n,
        Budget::Wait(secs) => {
            let says = format!(
                "The maximum number of hourly API invocations has been exceeded. The hourly \
                 limit is {}.",
                a.limit.limit()
            );
            let body = json!({"errorCode": "HOURLY_APIINVOCATION_LIMIT_EXCEEDED", "message": says});
            let headers = limits(a, 0, epoch() + secs);
            return Err(kit::reply(StatusCode::TOO_MANY_REQUESTS, headers, body));
        }
    };
    let id = kit::bearer(h).and_then(|t| a.tokens.iter().find(|(k, _)| *k == t).cloned());
    let users = a.users.lock().unwrap();
    let who = id.and_then(|(_, id)| users.iter().find(|u| u.id == id && u.status != "Closed"));
    match who {
        Some(u) => Ok((left, u.clone())),
        None => {
            let body = json!({"errorCode": "AUTHORIZATION_INVALID_TOKEN",
                "message": "The access token provided is expired, revoked or malformed."});
            Err(kit::reply(
                StatusCode::UNAUTHORIZED,
                limits(a, left, hour_end),
                body,
            ))
        }
    }
}

/// The caller in the account `account`, who must manage users when `manage`.
fn caller(
    a: &Account,
    h: &HeaderMap,
    account: &str,
    manage: bool,
) -> Result<(u32, User), Response> {
    let (left, who) = gate(a, h)?;
    if !account.eq_ignore_ascii_case(ACCOUNT_ID) {
        let says = "The specified User is not a member of the specified Account.";
        return Err(error(
            a,
            left,
            "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT",
            says,
        ));
    }
    if manage && !who.manages_users() {
        let says = "This user lacks sufficient permissions to access this resource.";
        return Err(error(a, left, "USER_LACKS_PERMISSIONS", says));
    }
    Ok((left, who))
}

/// A write's caller, who must manage users, and its JSON body (`null` without one).
fn write(
    a: &Account,
    h: &HeaderMap,
    account: &str,
    body: Option<Json<Value>>,
) -> Result<(u32, Value), Response> {
    let (left, _) = caller(a, h, account, true)?;
    Ok((left, body.map(|Json(b)| b).unwrap_or_default()))
}

fn ok(a: &Account, left: u32, status: StatusCode, body: Value) -> Response {
    kit::reply(status, limits(a, left, epoch() / 3600 * 3600 + 3600), body)
}

fn error(a: &Account, left: u32, code: &str, says: &str) -> Response {
    let body = json!({"errorCode": code, "message": says});
    ok(a, left, StatusCode::BAD_REQUEST, body)
}

fn param<'q>(q: &'q [(String, String)], k: &str) -> Option<&'q str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

type Q = Query<Vec<(String, String)>>;

async fn userinfo(State(a): State<Arc<Account>>, h: HeaderMap) -> Answer {
    let (left, who) = gate(&a, &h)?;
    let body = json!({"sub": who.id, "name": who.name, "email": who.email,
        "created": "2024-01-01T00:00:00.0", "accounts": [{"account_id": ACCOUNT_ID,
        "is_default": true, "account_name": "Stand-in", "base_uri": "http://127.0.0.1"}]});
    Ok(ok(&a, left, StatusCode::OK, body))
}

async fn list(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(account): Path<String>,
    Query(q): Q,
) -> Answer {
    let (left, _) = caller(&a, &h, &account, true)?;
    let num = |k: &str, d: usize| param(&q, k).map_or(Some(d), |v| v.trim().parse().ok());
    let (Some(start), Some(count)) = (num("start_position", 0), num("count", 100)) else {
        return Err(error(
            &a,
            left,
            "INVALID_REQUEST_PARAMETER",
            "Not a number.",
        ));
    };
    if !(1..=100).contains(&count) {
        let says = "The count must be between 1 and 100.";
        return Err(error(&a, left, "INVALID_REQUEST_PARAMETER", says));
    }
    let email = param(&q, "email").map(|e| e.trim().to_lowercase());
    let users = a.users.lock().unwrap();
    let all: Vec<&User> = users
        .iter()
        .filter(|u| email.as_ref().is_none_or(|e| u.email == *e))
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(count)
        .map(|u| u.json(false))
        .collect();
    let (n, total) = (page.len(), all.len());
    let uri =
        |s: usize| format!("/v2.1/accounts/{ACCOUNT_ID}/users?start_position={s}&count={count}");
    let body = json!({
        "users": page, "resultSetSize": n.to_string(), "totalSetSize": total.to_string(),
        "startPosition": start.to_string(), "endPosition": (start + n).saturating_sub(1).to_string(),
        "nextUri": if start + n < total { uri(start + n) } else { String::new() },
        "previousUri": if start > 0 { uri(start.saturating_sub(count)) } else { String::new() },
    });
    Ok(ok(&a, left, StatusCode::OK, body))
}

/// One `newUsers` item added (or a closed user reopened), or its `errorDetails`.
fn add(a: &Account, users: &mut Vec<User>, item: &Value) -> Value {
    let text = |k: &str| item[k].as_str().unwrap_or("").trim().to_owned();
    let (name, email) = (text("userName"), text("email").to_lowercase());
    let fail = |code: &str, says: &str| {
        json!({"email": email, "userName": name,
            "errorDetails": {"errorCode": code, "message": says}})
    };
    let valid = email
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if !valid || name.is_empty() {
        return fail(
            "INVALID_EMAIL_ADDRESS_FOR_USER",
            "Invalid email address or user name.",
        );
    }
    let pid = item["permissionProfileId"]
        .as_str()
        .unwrap_or(PROFILES[1].0);
    let Some(p) = profile(pid) else {
        return fail(
            "INVALID_PERMISSION_PROFILE",
            "The permission profile does not exist.",
        );
    };
    let made = match users.iter_mut().find(|u| u.email == email) {
        Some(u) if u.status == "Closed" => {
            (u.profile, u.status, u.name) = (p.0, "ActivationSent", name);
            u.clone()
        }
        Some(_) => {
            let says = "Username and email combination already exists for this account.";
            return fail("USER_ALREADY_EXISTS_IN_ACCOUNT", says);
        }
        None => {
            let id = guid(a.next.fetch_add(1, Ordering::Relaxed));
            let u = User {
                id,
                name,
                email,
                profile: p.0,
                status: "ActivationSent",
            };
            users.push(u.clone());
            u
        }
    };
    let v = made.json(false);
    json!({"userId": made.id, "uri": v["uri"], "email": made.email, "userName": made.name,
        "userStatus": made.status, "permissionProfileId": p.0, "permissionProfileName": p.1,
        "createdDateTime": v["createdDateTime"]})
}

async fn create(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(account): Path<String>,
    body: Option<Json<Value>>,
) -> Answer {
    let (left, body) = write(&a, &h, &account, body)?;
    let Some(items) = body["newUsers"].as_array() else {
        return Err(error(
            &a,
            left,
            "INVALID_REQUEST_BODY",
            "newUsers is required.",
        ));
    };
    let mut users = a.users.lock().unwrap();
    let made: Vec<Value> = items.iter().map(|i| add(&a, &mut users, i)).collect();
    Ok(ok(
        &a,
        left,
        StatusCode::CREATED,
        json!({ "newUsers": made }),
    ))
}

async fn show(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path((account, id)): Path<(String, String)>,
) -> Answer {
    let (left, who) = caller(&a, &h, &account, false)?;
    if !who.manages_users() && !who.id.eq_ignore_ascii_case(&id) {
        let says = "This user lacks sufficient permissions to access this resource.";
        return Err(error(&a, left, "USER_LACKS_PERMISSIONS", says));
    }
    let users = a.users.lock().unwrap();
    match users.iter().find(|u| u.id.eq_ignore_ascii_case(&id)) {
        Some(u) => Ok(ok(&a, left, StatusCode::OK, u.json(true))),
        None => Err(error(&a, left, "INVALID_USERID", "Invalid UserId.")),
    }
}

async fn update(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path((account, id)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Answer {
    let (left, body) = write(&a, &h, &account, body)?;
    let mut users = a.users.lock().unwrap();
    let Some(u) = users.iter_mut().find(|u| u.id.eq_ignore_ascii_case(&id)) else {
        return Err(error(&a, left, "INVALID_USERID", "Invalid UserId."));
    };
    if let Some(pid) = body["permissionProfileId"].as_str() {
        let Some(p) = profile(pid) else {
            let says = "The permission profile does not exist.";
            return Err(error(&a, left, "INVALID_PERMISSION_PROFILE", says));
        };
        u.profile = p.0;
    }
    Ok(ok(&a, left, StatusCode::OK, u.json(true)))
}

async fn close(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(account): Path<String>,
    body: Option<Json<Value>>,
) -> Answer {
    let (left, body) = write(&a, &h, &account, body)?;
    let mut users = a.users.lock().unwrap();
    let items = body["users"].as_array().cloned().unwrap_or_default();
    let closed: Vec<Value> = items
        .iter()
        .map(|i| {
            let id = i["userId"].as_str().unwrap_or("");
            match users.iter_mut().find(|u| u.id.eq_ignore_ascii_case(id)) {
                Some(u) => {
                    u.status = "Closed";
                    json!({"userId": u.id, "email": u.email, "userName": u.name,
                        "userStatus": "closed", "uri": format!("/users/{}", u.id)})
                }
                None => json!({"userId": id, "errorDetails": {"errorCode": "INVALID_USERID",
                    "message": "Invalid UserId."}}),
            }
        })
        .collect();
    Ok(ok(&a, left, StatusCode::OK, json!({ "users": closed })))
}

async fn profiles(
    State(a): State<Arc<Account>>,
    h: HeaderMap,
    Path(account): Path<String>,
) -> Answer {
    let (left, _) = caller(&a, &h, &account, true)?;
    let users = a.users.lock().unwrap();
    let list: Vec<Value> = PROFILES
        .iter()
        .map(|(id, name, _, _)| {
            let count = users
                .iter()
                .filter(|u| u.profile == *id && u.status != "Closed");
            json!({"permissionProfileId": id, "permissionProfileName": name,
                "modifiedDateTime": "2024-01-01T00:00:00.0000000Z",
                "userCount": count.count().to_string()})
        })
        .collect();
    Ok(ok(
        &a,
        left,
        StatusCode::OK,
        json!({ "permissionProfiles": list }),
    ))
}
