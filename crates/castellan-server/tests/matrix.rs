//! The permission matrix, end to end: a test walks every API endpoint with a token of every
//! workspace role and asserts allow or deny from `castellan_core::permissions::allows`.
//!
//! The table below names, for every authenticated endpoint, the [`Action`] its core use case
//! takes a permit for (`Permit<can::X>`, checked against the matrix). A completeness test
//! compares the table with the OpenAPI document, so an endpoint added without a row here fails.

mod common;
#[path = "common/manual_fixture.rs"]
mod manual_fixture;
#[path = "matrix/walk.rs"]
mod walk;

use std::collections::BTreeSet;

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use castellan_core::permissions::{allows, Action};
use common::{Resp, Session, TestApp, PROBLEM_JSON, ROLES};
use serde_json::{json, Value};
use walk::Walk;

/// An authenticated endpoint and the matrix action that guards it.
#[derive(Debug, Clone, Copy)]
struct Endpoint {
    method: &'static str,
    path: &'static str,
    action: Action,
}

const fn ep(method: &'static str, path: &'static str, action: Action) -> Endpoint {
    Endpoint {
        method,
        path,
        action,
    }
}

/// Every authenticated endpoint. The transfer of ownership is in the table too; the walk runs it
/// last because a successful transfer changes who the owner is.
const AUTHENTICATED: &[Endpoint] = &[
    ep("GET", "/api/v1/me", Action::WorkspaceRead),
    ep("GET", "/api/v1/people", Action::PeopleRead),
    ep("POST", "/api/v1/people", Action::PeopleManage),
    ep("GET", "/api/v1/people/{id}", Action::PeopleRead),
    ep("PATCH", "/api/v1/people/{id}", Action::PeopleManage),
    ep(
        "POST",
        "/api/v1/people/{id}/transfer-ownership",
        Action::OwnershipTransfer,
    ),
    ep(
        "POST",
        "/api/v1/people/{id}/password-reset",
        Action::PeopleManage,
    ),
    ep(
        "POST",
        "/api/v1/people/{id}/invitation",
        Action::PeopleManage,
    ),
    ep("POST", "/api/v1/me/password", Action::TokensManageOwn),
    ep("GET", "/api/v1/tokens", Action::TokensManageOwn),
    ep("POST", "/api/v1/tokens", Action::TokensManageOwn),
    ep("DELETE", "/api/v1/tokens/{id}", Action::TokensManageOwn),
    ep("GET", "/api/v1/scim/tokens", Action::ScimTokensManage),
    ep("POST", "/api/v1/scim/tokens", Action::ScimTokensManage),
    ep(
        "DELETE",
        "/api/v1/scim/tokens/{id}",
        Action::ScimTokensManage,
    ),
    ep("GET", "/api/v1/teams", Action::PeopleRead),
    ep("POST", "/api/v1/teams", Action::PeopleManage),
    ep("GET", "/api/v1/teams/{id}", Action::PeopleRead),
    ep("PUT", "/api/v1/teams/{id}", Action::PeopleManage),
    ep("DELETE", "/api/v1/teams/{id}", Action::PeopleManage),
    ep("GET", "/api/v1/teams/{id}/grants", Action::HubRead),
    ep("GET", "/api/v1/hubs/{id}/teams", Action::HubRead),
    ep(
        "PUT",
        "/api/v1/hubs/{id}/teams/{team_id}",
        Action::HubManage,
    ),
    ep(
        "DELETE",
        "/api/v1/hubs/{id}/teams/{team_id}",
        Action::HubManage,
    ),
    ep("GET", "/api/v1/collections", Action::VaultRead),
    ep("POST", "/api/v1/collections", Action::VaultManage),
    ep("GET", "/api/v1/collections/{id}", Action::VaultRead),
    ep("PUT", "/api/v1/collections/{id}", Action::VaultManage),
    ep("DELETE", "/api/v1/collections/{id}", Action::VaultManage),
    ep(
        "GET",
        "/api/v1/collections/{id}/shares",
        Action::VaultManage,
    ),
    ep(
        "PUT",
        "/api/v1/collections/{id}/access/{person_id}",
        Action::VaultManage,
    ),
    ep(
        "DELETE",
        "/api/v1/collections/{id}/access/{person_id}",
        Action::VaultManage,
    ),
    ep("GET", "/api/v1/teams/{id}/shares", Action::VaultManage),
    ep(
        "PUT",
        "/api/v1/teams/{id}/shares/{kind}/{target_id}",
        Action::VaultManage,
    ),
    ep(
        "DELETE",
        "/api/v1/teams/{id}/shares/{kind}/{target_id}",
        Action::VaultManage,
    ),
    ep("GET", "/api/v1/vaults", Action::VaultRead),
    ep("POST", "/api/v1/vaults", Action::VaultManage),
    ep("GET", "/api/v1/vaults/{id}", Action::VaultRead),
    ep("GET", "/api/v1/vaults/{id}/access", Action::VaultManage),
    ep(
        "PUT",
        "/api/v1/vaults/{id}/access/{person_id}",
        Action::VaultManage,
    ),
    ep(
        "DELETE",
        "/api/v1/vaults/{id}/access/{person_id}",
        Action::VaultManage,
    ),
    ep("GET", "/api/v1/accounts", Action::AccountRead),
    ep("POST", "/api/v1/accounts", Action::AccountCreate),
    ep("GET", "/api/v1/accounts/{id}", Action::AccountRead),
    ep("PATCH", "/api/v1/accounts/{id}", Action::AccountWrite),
    ep("DELETE", "/api/v1/accounts/{id}", Action::AccountWrite),
    ep(
        "POST",
        "/api/v1/accounts/{id}/reveal",
        Action::AccountReveal,
    ),
    ep("GET", "/api/v1/accounts/{id}/access", Action::AccountRead),
    ep(
        "PUT",
        "/api/v1/accounts/{id}/access/{person_id}",
        Action::AccountWrite,
    ),
    ep(
        "DELETE",
        "/api/v1/accounts/{id}/access/{person_id}",
        Action::AccountWrite,
    ),
    ep("GET", "/api/v1/apps", Action::CatalogRead),
    ep("POST", "/api/v1/apps", Action::CatalogManage),
    ep("GET", "/api/v1/apps/{id}", Action::CatalogRead),
    ep("GET", "/api/v1/apps/{id}/connector", Action::CatalogRead),
    ep("POST", "/api/v1/generate", Action::Generate),
    ep("GET", "/api/v1/activity", Action::ActivityRead),
    ep("GET", "/api/v1/activity/export.csv", Action::ActivityRead),
    ep("GET", "/api/v1/activity/verify", Action::ActivityVerify),
    ep("GET", "/api/v1/accounts/{id}/totp", Action::AccountRead),
    ep("PUT", "/api/v1/accounts/{id}/totp", Action::AccountWrite),
    ep("DELETE", "/api/v1/accounts/{id}/totp", Action::AccountWrite),
    ep(
        "GET",
        "/api/v1/accounts/{id}/totp/code",
        Action::AccountRead,
    ),
    ep(
        "POST",
        "/api/v1/accounts/{id}/totp/verify",
        Action::AccountRead,
    ),
    ep(
        "GET",
        "/api/v1/accounts/{id}/totp/export",
        Action::AccountReveal,
    ),
    ep(
        "GET",
        "/api/v1/accounts/{id}/totp/qr.png",
        Action::AccountReveal,
    ),
    ep(
        "POST",
        "/api/v1/accounts/import-migration",
        Action::AccountCreate,
    ),
    ep("GET", "/api/v1/hubs", Action::HubRead),
    ep("POST", "/api/v1/hubs", Action::HubManage),
    ep("GET", "/api/v1/hubs/{id}", Action::HubRead),
    ep("PATCH", "/api/v1/hubs/{id}", Action::HubManage),
    ep("POST", "/api/v1/hubs/{id}/oauth2/start", Action::HubManage),
    ep("POST", "/api/v1/oauth2/callback", Action::HubManage),
    ep("POST", "/api/v1/hubs/{id}/sync", Action::HubManage),
    ep("GET", "/api/v1/hubs/{id}/members", Action::HubRead),
    ep(
        "POST",
        "/api/v1/hubs/{id}/members/{app_member_id}",
        Action::HubManage,
    ),
    ep("GET", "/api/v1/hubs/{id}/grants", Action::HubRead),
    ep(
        "PUT",
        "/api/v1/hubs/{id}/grants/{person_id}",
        Action::HubManage,
    ),
    ep("POST", "/api/v1/hubs/{id}/revoke", Action::HubManage),
    ep("PUT", "/api/v1/hubs/{id}/roster", Action::HubManage),
    // The use case also asks for HubRead / HubManage unless the caller is the hub's app admin:
    // the walk makes every role the matrix allows the app admin of its fixture hub.
    ep("GET", "/api/v1/hubs/{id}/tasks", Action::HubTasks),
    ep("GET", "/api/v1/tasks", Action::HubTasks),
    ep(
        "POST",
        "/api/v1/hubs/{id}/tasks/{task_id}/done",
        Action::HubTasks,
    ),
    ep("GET", "/api/v1/jobs", Action::HubRead),
    ep("GET", "/api/v1/jobs/{id}", Action::HubRead),
    ep("POST", "/api/v1/jobs/{id}/retry", Action::HubManage),
    ep("POST", "/api/v1/jobs/{id}/cancel", Action::HubManage),
    ep("GET", "/api/v1/jobs/{id}/steps", Action::HubRead),
    ep(
        "GET",
        "/api/v1/jobs/{id}/steps/{seq}/screenshot",
        Action::HubRead,
    ),
    ep("PUT", "/api/v1/hubs/{id}/session", Action::HubManage),
    ep("POST", "/api/v1/accounts/{id}/email", Action::AccountWrite),
    ep("POST", "/api/v1/accounts/{id}/phone", Action::AccountWrite),
    ep("GET", "/api/v1/phone-numbers", Action::InboxManage),
    ep("POST", "/api/v1/phone-numbers", Action::InboxManage),
    ep("GET", "/api/v1/inbox", Action::AccountRead),
    ep("GET", "/api/v1/inbox/{id}", Action::AccountRead),
    ep(
        "GET",
        "/api/v1/accounts/{id}/inbox/code",
        Action::AccountRead,
    ),
];

const TRANSFER: &str = "/api/v1/people/{id}/transfer-ownership";

/// Endpoints that take no token.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/health/live"),
    ("GET", "/api/v1/health/ready"),
    ("GET", "/api/v1/setup"),
    ("POST", "/api/v1/setup/claim"),
    ("POST", "/api/v1/auth/sign-in"),
    ("POST", "/api/v1/auth/accept-invitation"),
    ("POST", "/api/v1/auth/reset-password"),
    ("GET", "/api/v1/openapi.json"),
    // Signed by the SMS provider (`X-Twilio-Signature`) instead of a bearer token.
    ("POST", "/api/v1/webhooks/sms"),
];

/// Public routes that the OpenAPI document does not describe: the document itself.
const UNDOCUMENTED: &[(&str, &str)] = &[("GET", "/api/v1/openapi.json")];
/// The OAuth 2.0 connect steps, which the walk cannot finish without an authorization server.
const OAUTH2_STEPS: &[&str] = &["/api/v1/hubs/{id}/oauth2/start", "/api/v1/oauth2/callback"];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "options", "head", "trace",
];

/// (METHOD, path) of every operation in an OpenAPI document (as JSON).
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths object") {
        for m in METHODS {
            if item.get(*m).is_some_and(|op| !op.is_null()) {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn table() -> BTreeSet<(String, String)> {
    AUTHENTICATED
        .iter()
        .map(|e| (e.method.to_owned(), e.path.to_owned()))
        .chain(
            PUBLIC
                .iter()
                .map(|(m, p)| ((*m).to_owned(), (*p).to_owned())),
        )
        .collect()
}

#[tokio::test]
async fn matrix_table_covers_every_documented_endpoint() {
    let app = TestApp::new().await;
    let from_router = serde_json::to_value(&app.openapi).expect("openapi to json");
    // The served document is the same as the one the builder returned.
    let served = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text());
    assert_eq!(
        served.json(),
        from_router,
        "served document differs from the built one"
    );

    let doc = documented(&from_router);
    let table = table();
    let undocumented: BTreeSet<(String, String)> = UNDOCUMENTED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();

    let missing_rows: Vec<_> = doc.difference(&table).collect();
    assert!(
        missing_rows.is_empty(),
        "endpoints without a matrix row: {missing_rows:?}"
    );
    let stale_rows: Vec<_> = table
        .difference(&doc)
        .filter(|e| !undocumented.contains(*e))
        .collect();
    assert!(
        stale_rows.is_empty(),
        "matrix rows with no such endpoint in the OpenAPI document: {stale_rows:?}"
    );

    // No endpoint is both public and authenticated, and no row is doubled.
    assert_eq!(
        table.len(),
        AUTHENTICATED.len() + PUBLIC.len(),
        "a row appears twice"
    );

    // The document marks exactly the authenticated operations with the bearer scheme.
    for (path, item) in from_router["paths"].as_object().expect("paths") {
        for m in METHODS {
            let Some(op) = item.get(*m).filter(|op| !op.is_null()) else {
                continue;
            };
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let authenticated = AUTHENTICATED
                .iter()
                .any(|e| e.method.eq_ignore_ascii_case(m) && e.path == path);
            assert_eq!(
                secured,
                authenticated,
                "{} {path}: bearer security in the document",
                m.to_uppercase()
            );
        }
    }
}

#[tokio::test]
async fn public_endpoints_answer_without_a_token() {
    let app = TestApp::new().await;
    for (m, p) in [
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/health/live"),
        ("GET", "/api/v1/health/ready"),
        ("GET", "/api/v1/setup"),
        ("GET", "/api/v1/openapi.json"),
    ] {
        let r = app.call(m, p, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{m} {p}: {}", r.text());
    }
    // The POST ones are reachable without a token: a bad body is a 4xx about the body, not 401.
    for (m, p) in [
        ("POST", "/api/v1/setup/claim"),
        ("POST", "/api/v1/auth/sign-in"),
        ("POST", "/api/v1/auth/accept-invitation"),
        ("POST", "/api/v1/auth/reset-password"),
    ] {
        let r = app.call(m, p, None, Some(json!({}))).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{m} {p}: {}",
            r.text()
        );
    }
}

/// Checks one response against the matrix; returns a description of the mismatch, if any.
fn judge(e: &Endpoint, role: WorkspaceRole, path: &str, r: &Resp) -> Option<String> {
    let what = format!("{role:>11} {} {path} ({:?})", e.method, e.action);
    if allows(role, e.action) {
        if r.status == StatusCode::UNAUTHORIZED || r.is_matrix_denial() {
            return Some(format!(
                "{what}: allowed by the matrix but got {}: {}",
                r.status,
                r.text()
            ));
        }
        // The OAuth 2.0 connect steps need a vendor's authorization server to succeed; allowed,
        // they reach the use case, which refuses the walk's hub and state (422).
        if OAUTH2_STEPS.contains(&e.path) {
            return (r.status != StatusCode::UNPROCESSABLE_ENTITY).then(|| {
                format!(
                    "{what}: allowed, expected 422 from the use case, got {}: {}",
                    r.status,
                    r.text()
                )
            });
        }
        // Every allowed call has fixtures that make it succeed (login_only and guest are capped
        // at the collaborator item role, but every call they are allowed only needs `View`).
        if !r.status.is_success() {
            return Some(format!(
                "{what}: allowed, expected 2xx, got {}: {}",
                r.status,
                r.text()
            ));
        }
    } else {
        let prefix = format!("the workspace role `{role}` may not");
        if r.status != StatusCode::FORBIDDEN
            || r.content_type() != PROBLEM_JSON
            || !r.detail().starts_with(&prefix)
        {
            return Some(format!(
                "{what}: denied by the matrix, expected 403 {PROBLEM_JSON} with detail {prefix:?}…, got {} {}: {}",
                r.status,
                r.content_type(),
                r.text()
            ));
        }
    }
    None
}

#[tokio::test]
async fn every_role_on_every_endpoint_is_allowed_or_denied_by_the_matrix() {
    let mut walk = Walk::new().await;
    let mut failures = vec![];
    let mut calls = 0;
    let people = walk.w.people.clone();
    for who in &people {
        for e in AUTHENTICATED.iter().filter(|e| e.path != TRANSFER) {
            let (path, body) = walk.prepare(e, who).await;
            let r = manual_fixture::send(&walk.w.app, e.method, &path, &who.token, body).await;
            calls += 1;
            r.assert_no_leak();
            failures.extend(judge(e, who.role, &path, &r));
        }
    }

    // Transfer of ownership last: every other role first (all denied), then the owner, whose
    // success hands the owner role to a fresh active person.
    let transfer = AUTHENTICATED
        .iter()
        .find(|e| e.path == TRANSFER)
        .expect("transfer row");
    let owner = walk.owner().to_owned();
    let heir = walk
        .w
        .app
        .person(&owner, "heir@example.com", WorkspaceRole::User)
        .await;
    let path = format!("/api/v1/people/{}/transfer-ownership", heir.person_id);
    let mut order: Vec<&Session> = people
        .iter()
        .filter(|s| s.role != WorkspaceRole::Owner)
        .collect();
    order.push(walk.w.of(WorkspaceRole::Owner));
    for who in order {
        let r = walk.w.app.call("POST", &path, Some(&who.token), None).await;
        calls += 1;
        failures.extend(judge(transfer, who.role, &path, &r));
    }
    let me = walk.w.app.get("/api/v1/me", &heir.token).await.ok().json();
    assert_eq!(
        me["role"],
        json!("owner"),
        "the heir is the owner after the transfer"
    );
    let old = walk.w.app.get("/api/v1/me", &owner).await.ok().json();
    assert_eq!(
        old["role"],
        json!("super_admin"),
        "the old owner became super_admin"
    );

    assert_eq!(calls, ROLES.len() * AUTHENTICATED.len());
    assert!(
        failures.is_empty(),
        "{} of {calls} calls disagree with the matrix:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A concrete path for `ep` with random ids: fine for calls refused before the handler runs.
fn any_path(e: &Endpoint) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    e.path
        .replace(
            "{id}",
            if e.path.starts_with("/api/v1/apps/") {
                "slack"
            } else {
                &id
            },
        )
        .replace("{person_id}", &id)
        .replace("{task_id}", &id)
}

#[track_caller]
fn assert_unauthenticated(e: &Endpoint, r: &Resp, why: &str) {
    let what = format!("{} {} with {why}", e.method, e.path);
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text());
    assert_eq!(r.content_type(), PROBLEM_JSON, "{what}");
    let www = r
        .headers
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        www.starts_with("Bearer"),
        "{what}: WWW-Authenticate {www:?}"
    );
    assert!(!r.detail().is_empty(), "{what}: no detail");
    r.assert_no_leak();
}

fn body_for(e: &Endpoint) -> Option<Value> {
    matches!(e.method, "POST" | "PUT" | "PATCH").then(|| json!({}))
}

#[tokio::test]
async fn authenticated_endpoints_refuse_a_missing_token() {
    let app = TestApp::new().await;
    app.claim().await;
    for e in AUTHENTICATED {
        let r = app.call(e.method, &any_path(e), None, body_for(e)).await;
        assert_unauthenticated(e, &r, "no token");
        assert!(
            r.detail().contains("Bearer"),
            "{} {}: detail should say how to authenticate: {}",
            e.method,
            e.path,
            r.detail()
        );
    }
}

#[tokio::test]
async fn authenticated_endpoints_refuse_revoked_and_expired_tokens() {
    let app = TestApp::new().await;
    let owner = app.claim().await;

    let (revoked, revoked_id) = app.new_token(&owner.token, "to revoke").await;
    app.get("/api/v1/me", &revoked).await.ok();
    let r = app
        .delete(&format!("/api/v1/tokens/{revoked_id}"), &owner.token)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());

    let (expired, expired_id) = app.new_token(&owner.token, "to expire").await;
    app.get("/api/v1/me", &expired).await.ok();
    app.expire_token(&expired_id).await;

    for e in AUTHENTICATED {
        let r = app
            .call(e.method, &any_path(e), Some(&revoked), body_for(e))
            .await;
        assert_unauthenticated(e, &r, "a revoked token");
        assert!(r.detail().contains("revoked"), "{}", r.detail());
        let r = app
            .call(e.method, &any_path(e), Some(&expired), body_for(e))
            .await;
        assert_unauthenticated(e, &r, "an expired token");
        assert!(r.detail().contains("expired"), "{}", r.detail());
    }
    // The owner's own token still works.
    app.get("/api/v1/me", &owner.token).await.ok();
}
