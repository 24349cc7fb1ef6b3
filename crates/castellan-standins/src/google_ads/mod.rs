//! **A stand-in for the Google Ads API's user access (REST, version 26), not Google Ads.** It
//! serves the endpoints the `google_ads` connector uses, in Google's REST shapes, from memory:
//! one client account ([`CLIENT`]) under one manager account ([`MANAGER`]), per [`GoogleAds`]:
//!
//! - `POST /v26/customers/{customerId}/googleAds:search` with `{"query", "pageToken"}`: Google
//!   Ads Query Language over `customer_user_access` (`resource_name`, `user_id`,
//!   `email_address`, `access_role`, `access_creation_date_time`, `inviter_user_email_address`)
//!   and `customer_user_access_invitation` (`resource_name`, `invitation_id`, `email_address`,
//!   `access_role`, `creation_date_time`, `invitation_status`): `SELECT … FROM … [WHERE a = v
//!   [AND …]]`, values numbers, quoted strings or enum constants. Answers `{"results":
//!   [{"customerUserAccess": {…}}], "nextPageToken", "fieldMask"}` in proto3 JSON (camelCase
//!   fields, int64 as strings, enums by name), up to 10,000 rows a page (a test may lower it,
//!   [`GoogleAds::set_page_rows`]).
//! - `POST /v26/customers/{customerId}/customerUserAccesses:mutate` with one `operation`:
//!   `{"update": {"resourceName", "accessRole"}, "updateMask": "accessRole"}` or `{"remove":
//!   "customers/{id}/customerUserAccesses/{userId}"}`.
//! - `POST /v26/customers/{customerId}/customerUserAccessInvitations:mutate` with one
//!   `operation`: `{"create": {"emailAddress", "accessRole"}}` or `{"remove":
//!   "customers/{id}/customerUserAccessInvitations/{invitationId}"}`.
//! - Mutations answer `{"result": {"resourceName"}}`, or under multi-party approval
//!   ([`GoogleAds::require_approval`]) `{"result": {"multiPartyAuthReview"}}` and nothing changes.
//!
//! Headers: `Authorization: Bearer <OAuth access token>` (the automation account, an `ADMIN` of
//! the client account; a `STANDARD` user; an `ADMIN` of the manager account only, who reaches
//! the client account with `login-customer-id`); `login-customer-id` (digits); `developer-token`,
//! accepted and ignored, as Google does since developer tokens were sunset. Access roles:
//! `ADMIN`, `STANDARD`, `READ_ONLY`, `EMAIL_ONLY`; only an `ADMIN` may mutate. Errors are
//! `{"error": {"code", "message", "status", "details": [{"@type":
//! "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure", "errors":
//! [{"errorCode": {"<kind>Error": "<CODE>"}, "message"}], "requestId"}]}}`: 401 `UNAUTHENTICATED`
//! (`authenticationError`), 403 `PERMISSION_DENIED` (`authorizationError`), 400
//! `INVALID_ARGUMENT` (`queryError`, `requestError`, `customerUserAccessError`,
//! `accessInvitationError`, `headerError`), and past the per-minute budget 429
//! `RESOURCE_EXHAUSTED` with `quotaError` `RESOURCE_TEMPORARILY_EXHAUSTED` and
//! `details.quotaErrorDetails.retryDelay` (no `Retry-After`).
//!
//! The stand-in's choices where Google's reference is silent: an unknown customer is 400
//! `authenticationError` `CUSTOMER_NOT_FOUND`; a non-admin's mutation is 403
//! `ACTION_NOT_PERMITTED`; the page token is the offset; emails compare without case; a removed
//! invitation, or one that is not pending, is `INVALID_INVITATION_ID`; an invitee joins only
//! through [`GoogleAds::accept`]. Not modelled: `SearchStream`, `validate_only`, search
//! settings, `ORDER BY`, `LIMIT`, operators other than `=`, other resources and attributed
//! `customer.*` fields, service accounts, daily operation quotas by access level, the manager
//! account's own client links beyond the one client. Pages followed:
//! - Manage user access: <https://developers.google.com/google-ads/api/docs/account-management/managing-users>
//! - Manage user access invitations:
//!   <https://developers.google.com/google-ads/api/docs/account-management/managing-invitations>
//! - `CustomerUserAccess`, `CustomerUserAccessInvitation`, their services and errors:
//!   <https://developers.google.com/google-ads/api/reference/rpc/v26/CustomerUserAccess>,
//!   <https://developers.google.com/google-ads/api/reference/rpc/v26/CustomerUserAccessInvitation>
//! - REST search and headers: <https://developers.google.com/google-ads/api/rest/common/search>,
//!   <https://developers.google.com/google-ads/api/rest/auth>
//! - Errors: <https://developers.google.com/google-ads/api/docs/get-started/handle-errors>;
//!   rate limits: <https://developers.google.com/google-ads/api/docs/best-practices/rate-limits>

// Handlers return an early answer as the error of a `Result` (axum's `Response`, large but
// built once a request): boxing it would only add noise to a test stand-in.
#![allow(clippy::result_large_err)]

mod gaql;
mod mutate;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::kit::{self, Budget, RateLimit};

/// The client account's customer ID.
pub const CLIENT: &str = "1234567890";
/// The manager account's customer ID (it manages [`CLIENT`]).
pub const MANAGER: &str = "9876543210";
/// Rows a page unless a test lowers it (Google's fixed page size).
pub const PAGE_ROWS: usize = 10_000;
/// Requests a minute before 429 unless a test sets another.
pub const DEFAULT_LIMIT: u32 = 10_000;
const ROLES: [&str; 4] = ["ADMIN", "STANDARD", "READ_ONLY", "EMAIL_ONLY"];

/// A running stand-in: its base URL (Google's origin), the automation account (an `ADMIN` of
/// the client account) with its address, user id and access token, a `STANDARD` user's token,
/// and a manager account admin's token and address.
#[derive(Debug, Clone)]
pub struct GoogleAds {
    /// `http://127.0.0.1:<port>` (paths start with `/v26`).
    pub base_url: String,
    /// The automation account's Google account address.
    pub admin_email: String,
    /// Its user id.
    pub admin_id: String,
    /// Its OAuth access token.
    pub admin_token: String,
    /// A `STANDARD` user's access token (address `standard@standin.test`).
    pub standard_token: String,
    /// The address of an `ADMIN` of the manager account, with no access of its own on the
    /// client account.
    pub manager_email: String,
    /// That manager admin's access token.
    pub manager_token: String,
    ads: Arc<Ads>,
}

#[derive(Debug, Clone)]
struct Access {
    user_id: u64,
    email: String,
    role: String,
}

#[derive(Debug, Clone)]
struct Invitation {
    id: u64,
    email: String,
    role: String,
    status: &'static str,
}

#[derive(Debug)]
struct Customer {
    id: String,
    manager: Option<String>,
    accesses: Vec<Access>,
    invitations: Vec<Invitation>,
}

#[derive(Debug)]
struct Ads {
    customers: Mutex<Vec<Customer>>,
    /// `(token, address)`.
    tokens: Vec<(String, String)>,
    limit: RateLimit,
    page_rows: AtomicUsize,
    approval: AtomicBool,
    next: AtomicU64,
    /// The `developer-token` (whether one came) and `login-customer-id` of every request.
    seen: Mutex<Vec<(bool, Option<String>)>>,
}

impl Ads {
    fn new_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

impl GoogleAds {
    /// Starts the two accounts with their users.
    pub fn start() -> Self {
        static N: AtomicU64 = AtomicU64::new(1);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let a = |user_id, email: &str, role: &str| Access {
            user_id,
            email: email.into(),
            role: role.into(),
        };
        let customers = vec![
            Customer {
                id: CLIENT.into(),
                manager: Some(MANAGER.into()),
                accesses: vec![
                    a(7_000_000_001, "admin@standin.test", "ADMIN"),
                    a(7_000_000_002, "standard@standin.test", "STANDARD"),
                ],
                invitations: Vec::new(),
            },
            Customer {
                id: MANAGER.into(),
                manager: None,
                accesses: vec![a(7_000_000_003, "manager@standin.test", "ADMIN")],
                invitations: Vec::new(),
            },
        ];
        let ads = Arc::new(Ads {
            customers: Mutex::new(customers),
            tokens: vec![
                (format!("ya29.admin-{n}"), "admin@standin.test".into()),
                (format!("ya29.standard-{n}"), "standard@standin.test".into()),
                (format!("ya29.manager-{n}"), "manager@standin.test".into()),
            ],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            page_rows: AtomicUsize::new(PAGE_ROWS),
            approval: AtomicBool::new(false),
            next: AtomicU64::new(7_100_000_000),
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v26/customers/{customer}/{method}", post(dispatch))
            .with_state(ads.clone());
        Self {
            base_url: kit::spawn(app).base_url,
            admin_email: "admin@standin.test".into(),
            admin_id: "7000000001".into(),
            admin_token: ads.tokens[0].0.clone(),
            standard_token: ads.tokens[1].0.clone(),
            manager_email: "manager@standin.test".into(),
            manager_token: ads.tokens[2].0.clone(),
            ads,
        }
    }

    fn with_client<T>(&self, f: impl FnOnce(&mut Customer) -> T) -> T {
        let mut all = self.ads.customers.lock().unwrap();
        let c = all.iter_mut().find(|c| c.id == CLIENT).expect("the client");
        f(c)
    }

    /// Makes sure the client account has a user with `email` and `role` (as the Google Ads UI
    /// would, once an invitation is accepted); returns their user id.
    pub fn seed(&self, email: &str, role: &str) -> String {
        let id = self.ads.new_id();
        self.with_client(|c| {
            if let Some(a) = c
                .accesses
                .iter()
                .find(|a| a.email.eq_ignore_ascii_case(email))
            {
                return a.user_id.to_string();
            }
            c.accesses.push(Access {
                user_id: id,
                email: email.to_lowercase(),
                role: role.into(),
            });
            id.to_string()
        })
    }

    /// The pending invitation of `email` is accepted: the person gets a user id and the
    /// invitation's role; `None` without one.
    pub fn accept(&self, email: &str) -> Option<String> {
        let id = self.ads.new_id();
        self.with_client(|c| {
            let inv = c
                .invitations
                .iter_mut()
                .find(|i| i.email.eq_ignore_ascii_case(email) && i.status == "PENDING")?;
            inv.status = "ACCEPTED";
            let (email, role) = (inv.email.clone(), inv.role.clone());
            c.accesses.push(Access {
                user_id: id,
                email,
                role,
            });
            Some(id.to_string())
        })
    }

    /// The role of the client account's user with `email`.
    pub fn role(&self, email: &str) -> Option<String> {
        self.with_client(|c| {
            let a = c
                .accesses
                .iter()
                .find(|a| a.email.eq_ignore_ascii_case(email));
            a.map(|a| a.role.clone())
        })
    }

    /// The role of the pending invitation of `email`.
    pub fn invited(&self, email: &str) -> Option<String> {
        self.with_client(|c| {
            let i = c
                .invitations
                .iter()
                .find(|i| i.email.eq_ignore_ascii_case(email) && i.status == "PENDING");
            i.map(|i| i.role.clone())
        })
    }

    /// `(developer token sent, login-customer-id)` of every request so far.
    pub fn headers_seen(&self) -> Vec<(bool, Option<String>)> {
        self.ads.seen.lock().unwrap().clone()
    }

    /// Sets the rows a page, so tests page without 10,000 users.
    pub fn set_page_rows(&self, n: usize) {
        self.ads.page_rows.store(n.max(1), Ordering::Relaxed);
    }

    /// Sets the requests allowed a minute from now on.
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.ads.limit.set_limit(per_minute);
    }

    /// Whether mutations wait for a second admin's approval (multi-party approval).
    pub fn require_approval(&self, yes: bool) {
        self.ads.approval.store(yes, Ordering::Relaxed);
    }
}

/// A Google Ads API failure: `status` and Google's `status` name, the message, and the
/// `GoogleAdsError`s as `(kind, code, message, details)`.
fn failure(
    http: StatusCode,
    status: &str,
    message: &str,
    errors: &[(&str, &str, &str, Value)],
) -> Response {
    static REQUESTS: AtomicU64 = AtomicU64::new(1);
    let request_id = format!("sTaNdIn{:09}", REQUESTS.fetch_add(1, Ordering::Relaxed));
    let errors: Vec<Value> = errors
        .iter()
        .map(|(kind, code, msg, details)| {
            let mut e = json!({"errorCode": {*kind: code}, "message": msg});
            if !details.is_null() {
                e["details"] = details.clone();
            }
            e
        })
        .collect();
    let body = json!({"error": {"code": http.as_u16(), "message": message, "status": status,
        "details": [{"@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
            "errors": errors, "requestId": request_id}]}});
    kit::reply(http, vec![("request-id", request_id)], body)
}

/// 400 `INVALID_ARGUMENT` with one error.
fn invalid(kind: &str, code: &str, message: &str) -> Response {
    let errors = [(kind, code, message, Value::Null)];
    failure(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        &errors,
    )
}

fn denied(code: &str, message: &str) -> Response {
    let errors = [("authorizationError", code, message, Value::Null)];
    failure(
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "The caller does not have permission",
        &errors,
    )
}

/// The caller's role on `customer`: counts the request, checks the token, the customer ID and
/// `login-customer-id` (a manager's users act on the accounts it manages with their manager
/// role).
fn gate(ads: &Ads, h: &HeaderMap, customer: &str) -> Result<String, Response> {
    let header = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let login = header("login-customer-id");
    let dev = header("developer-token").is_some();
    ads.seen.lock().unwrap().push((dev, login.clone()));
    if let Budget::Wait(secs) = ads.limit.take() {
        let details = json!({"quotaErrorDetails": {"rateScope": "ACCOUNT",
            "rateName": "Requests per account", "retryDelay": format!("{secs}s")}});
        let errors = [(
            "quotaError",
            "RESOURCE_TEMPORARILY_EXHAUSTED",
            "Too many requests in a short amount of time.",
            details,
        )];
        let msg = "Too many requests. Retry in 60 seconds.";
        return Err(failure(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            msg,
            &errors,
        ));
    }
    let token = kit::bearer(h);
    let Some((_, email)) = ads.tokens.iter().find(|(t, _)| Some(t) == token.as_ref()) else {
        let errors = [(
            "authenticationError",
            "OAUTH_TOKEN_INVALID",
            "OAuth token in the header is not valid.",
            Value::Null,
        )];
        let msg = "Request is missing required authentication credential.";
        return Err(failure(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            msg,
            &errors,
        ));
    };
    let digits = |s: &str| s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(customer) {
        let msg = "Customer ID is invalid.";
        return Err(invalid("requestError", "INVALID_CUSTOMER_ID", msg));
    }
    if login.as_deref().is_some_and(|l| !digits(l)) {
        let msg = "The login customer ID could not be validated.";
        return Err(invalid("headerError", "INVALID_LOGIN_CUSTOMER_ID", msg));
    }
    let all = ads.customers.lock().unwrap();
    let Some(target) = all.iter().find(|c| c.id == customer) else {
        let msg = "No customer found for the provided customer id.";
        return Err(invalid("authenticationError", "CUSTOMER_NOT_FOUND", msg));
    };
    let acting = login.as_deref().unwrap_or(customer);
    let reaches = acting == customer || target.manager.as_deref() == Some(acting);
    let role = all
        .iter()
        .find(|c| c.id == acting && reaches)
        .and_then(|c| c.accesses.iter().find(|a| a.email == *email))
        .map(|a| a.role.clone());
    role.ok_or_else(|| {
        denied(
            "USER_PERMISSION_DENIED",
            "User doesn't have permission to access customer. Note: If you're accessing a \
             client customer, the manager's customer id must be set in the 'login-customer-id' \
             header.",
        )
    })
}

/// `googleAds:search`, `customerUserAccesses:mutate`, `customerUserAccessInvitations:mutate`.
async fn dispatch(
    State(ads): State<Arc<Ads>>,
    h: HeaderMap,
    Path((customer, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let role = match gate(&ads, &h, &customer) {
        Ok(role) => role,
        Err(r) => return r,
    };
    match method.as_str() {
        "googleAds:search" => gaql::search(&ads, &customer, &body),
        "customerUserAccesses:mutate" | "customerUserAccessInvitations:mutate" => {
            if role != "ADMIN" {
                return denied(
                    "ACTION_NOT_PERMITTED",
                    "The user does not have permission to perform this action on the resource.",
                );
            }
            let invitation = method.starts_with("customerUserAccessInvitations");
            mutate::mutate(&ads, &customer, invitation, &body)
        }
        _ => failure(StatusCode::NOT_FOUND, "NOT_FOUND", "Method not found.", &[]),
    }
}
