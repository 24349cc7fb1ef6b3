//! The permission matrix, end to end: a test walks every API endpoint with a token of every
//! workspace role and asserts allow or deny from `castellan_core::permissions::allows`.
//!
//! The table below names, for every authenticated endpoint, the [`Action`] its core use case
//! takes a permit for (`Permit<can::X>`, checked against the matrix). A completeness test
//! compares the table with the OpenAPI document, so an endpoint added without a row here fails.

mod common;
#[path = "common/manual_fixture.rs"]
mod manual_fixture;

use std::collections::BTreeSet;

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use castellan_core::permissions::{allows, Action};
use common::{Resp, Session, TestApp, World, PROBLEM_JSON, ROLES};
use serde_json::{json, Value};

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

/// Fixtures shared by the walk: the default vault and a bystander person that grants and
/// unshares point at.
struct Walk {
    w: World,
    vault: String,
    bystander: String,
    n: usize,
}

impl Walk {
    async fn new() -> Self {
        let w = World::new().await;
        let owner = w.owner.token.clone();
        let vault = w.app.default_vault(&owner).await;
        // Every non-owner role manages the default vault, so it can add accounts and see it.
        for s in &w.people[1..] {
            w.app
                .put(
                    &format!("/api/v1/vaults/{vault}/access/{}", s.person_id),
                    &owner,
                    json!({ "role": "manager" }),
                )
                .await
                .ok();
        }
        let (bystander, _) = w
            .app
            .invite(&owner, "bystander@example.com", WorkspaceRole::User)
            .await;
        Self {
            w,
            vault,
            bystander,
            n: 0,
        }
    }

    fn owner(&self) -> &str {
        &self.w.owner.token
    }

    fn next(&mut self) -> usize {
        self.n += 1;
        self.n
    }

    /// A fresh hub connected by the owner (no worker runs here, so its first sync stays queued).
    async fn hub(&mut self) -> String {
        let n = self.next();
        let owner = self.owner().to_owned();
        let acc = self
            .w
            .app
            .post(
                "/api/v1/accounts",
                &owner,
                json!({ "label": format!("Bot {n}"), "username": "admin", "password": "adminpass" }),
            )
            .await
            .ok()
            .str("id");
        self.w
            .app
            .post(
                "/api/v1/hubs",
                &owner,
                json!({ "app": "matrix-synapse", "label": format!("Fixture hub {n}"), "base_url": "http://127.0.0.1:9", "automation_account_id": acc }),
            )
            .await
            .ok()
            .str("id")
    }

    /// A fresh manual hub on Slack (no connector: tasks for an app admin) whose app admin is
    /// `who` when the matrix lets their role work on tasks, else the bystander; with one open
    /// invitation task. Returns (hub id, task id).
    async fn manual_hub(&mut self, who: &Session) -> (String, String) {
        let n = self.next();
        let admin = if allows(who.role, Action::HubTasks) {
            who.email.clone()
        } else {
            "bystander@example.com".to_owned()
        };
        let owner = self.owner().to_owned();
        manual_fixture::manual_hub_with_task(&self.w.app, &owner, n, &admin).await
    }

    /// A fresh account shared with `who` as manager, with 2FA managed by Castellan.
    async fn account_with_totp(&mut self, who: &Session) -> String {
        let a = self.account_for(who, "manager").await;
        let owner = self.owner().to_owned();
        self.w
            .app
            .put(
                &format!("/api/v1/accounts/{a}/totp"),
                &owner,
                json!({ "secret": "JBSWY3DPEHPK3PXP" }),
            )
            .await
            .ok();
        a
    }

    /// A free number in the workspace's pool (added by the owner).
    async fn free_number(&mut self) -> String {
        let n = self.next();
        let owner = self.owner().to_owned();
        let number = format!("+1500555{n:04}");
        self.w
            .app
            .post(
                "/api/v1/phone-numbers",
                &owner,
                json!({ "numbers": [number] }),
            )
            .await
            .ok();
        number
    }

    /// A fresh account shared with `who` as collaborator that received one SMS with a code
    /// (through the signed webhook); returns (account id, message id).
    async fn account_with_message(&mut self, who: &Session) -> (String, String) {
        let a = self.account_for(who, "collaborator").await;
        self.free_number().await;
        let owner = self.owner().to_owned();
        let number = self
            .w
            .app
            .post(&format!("/api/v1/accounts/{a}/phone"), &owner, json!({}))
            .await
            .ok()
            .str("e164");
        let n = self.next();
        self.w
            .app
            .sms(
                "+14155550100",
                &number,
                "Your code is 246810",
                &format!("SM{n}"),
            )
            .await
            .ok();
        let list = self
            .w
            .app
            .get(&format!("/api/v1/inbox?account_id={a}"), &owner)
            .await
            .ok()
            .json();
        let id = list[0]["id"].as_str().expect("a message").to_owned();
        (a, id)
    }

    /// A queued job: the first sync of a fresh hub.
    async fn queued_job(&mut self) -> String {
        let hub = self.hub().await;
        let owner = self.owner().to_owned();
        let jobs = self
            .w
            .app
            .get(&format!("/api/v1/jobs?hub_id={hub}"), &owner)
            .await
            .ok()
            .json();
        jobs[0]["id"].as_str().expect("a queued job").to_owned()
    }

    /// Records a step with a screenshot for `job` as the bot would; returns its number.
    async fn screenshot_of(&mut self, job: &str) -> i64 {
        use castellan_core::connector::steps::RecordedStep;
        use castellan_core::ports::JobStore;
        let store = castellan_store::SqlStore::connect(&self.w.app.db_url)
            .await
            .expect("second connection");
        let j = store.job(job.parse().unwrap()).await.unwrap().unwrap();
        store.close().await;
        let recorder = self.w.app.svc.job_steps_recorder(&j).await.unwrap();
        recorder
            .record(RecordedStep {
                what: "visit /".into(),
                url: "http://127.0.0.1:9/".into(),
                error: None,
                screenshot: Some(b"\x89PNG\r\n\x1a\nfixture".to_vec()),
            })
            .await;
        let owner = self.owner().to_owned();
        let steps = self
            .w
            .app
            .get(&format!("/api/v1/jobs/{job}/steps"), &owner)
            .await
            .ok()
            .json();
        steps.as_array().unwrap().last().expect("the step is kept")["seq"]
            .as_i64()
            .unwrap()
    }

    /// A fresh account made by the owner and shared with `who` with `item_role`.
    async fn account_for(&mut self, who: &Session, item_role: &str) -> String {
        let n = self.next();
        let owner = self.owner().to_owned();
        let a = self
            .w
            .app
            .post(
                "/api/v1/accounts",
                &owner,
                json!({ "label": format!("Fixture {n}"), "username": format!("fixture{n}@example.com"), "password": "fixture-password" }),
            )
            .await
            .ok()
            .str("id");
        self.w
            .app
            .put(
                &format!("/api/v1/accounts/{a}/access/{}", who.person_id),
                &owner,
                json!({ "role": item_role }),
            )
            .await
            .ok();
        a
    }

    /// The concrete path and body for `ep` called by `who`, with fixtures that let the call
    /// succeed when the matrix allows it.
    async fn prepare(&mut self, e: &Endpoint, who: &Session) -> (String, Option<Value>) {
        let owner = self.owner().to_owned();
        let app_slug = format!("custom-{}", who.role.as_str().replace('_', "-"));
        let n = self.next();
        let vault = self.vault.clone();
        let by = self.bystander.clone();
        let p = |s: &str| s.to_owned();
        match (e.method, e.path) {
            (
                "GET",
                "/api/v1/me" | "/api/v1/people" | "/api/v1/tokens" | "/api/v1/vaults"
                | "/api/v1/accounts" | "/api/v1/apps",
            )
            | (
                "GET",
                "/api/v1/activity" | "/api/v1/activity/export.csv" | "/api/v1/activity/verify",
            ) => (p(e.path), None),
            ("POST", "/api/v1/people") => (
                p(e.path),
                Some(
                    json!({ "email": format!("invitee{n}@example.com"), "name": format!("Invitee {n}"), "role": "guest" }),
                ),
            ),
            ("GET", "/api/v1/people/{id}") => (format!("/api/v1/people/{by}"), None),
            ("PATCH", "/api/v1/people/{id}") => {
                // A fresh guest invitee: every role that may manage people may manage guests.
                let (id, _) = self
                    .w
                    .app
                    .invite(
                        &owner,
                        &format!("patchme{n}@example.com"),
                        WorkspaceRole::Guest,
                    )
                    .await;
                (
                    format!("/api/v1/people/{id}"),
                    Some(json!({ "name": format!("Renamed {n}") })),
                )
            }
            ("POST", "/api/v1/people/{id}/password-reset") => {
                // A fresh active guest: every role that may manage people may manage guests.
                let guest = self
                    .w
                    .app
                    .person(
                        &owner,
                        &format!("resetme{n}@example.com"),
                        WorkspaceRole::Guest,
                    )
                    .await;
                (e.path.replace("{id}", &guest.person_id), None)
            }
            ("POST", "/api/v1/people/{id}/invitation") => {
                let (id, _) = self
                    .w
                    .app
                    .invite(
                        &owner,
                        &format!("renewme{n}@example.com"),
                        WorkspaceRole::Guest,
                    )
                    .await;
                (e.path.replace("{id}", &id), None)
            }
            // The caller's own password, changed to a new one (their session stays valid).
            ("POST", "/api/v1/me/password") => (
                p(e.path),
                Some(
                    json!({ "current_password": common::PASSWORD, "new_password": format!("{} {n}", common::PASSWORD) }),
                ),
            ),
            ("POST", "/api/v1/tokens") => (
                p(e.path),
                Some(json!({ "name": format!("matrix token {n}") })),
            ),
            ("DELETE", "/api/v1/tokens/{id}") => {
                // A token of the caller themselves, made by themselves when they may.
                let id = if allows(who.role, Action::TokensManageOwn) {
                    self.w
                        .app
                        .new_token(&who.token, &format!("to revoke {n}"))
                        .await
                        .1
                } else {
                    self.w.app.sign_in(&who.email, who.role).await.token_id
                };
                (format!("/api/v1/tokens/{id}"), None)
            }
            ("POST", "/api/v1/vaults") => {
                (p(e.path), Some(json!({ "name": format!("Vault {n}") })))
            }
            ("GET", "/api/v1/vaults/{id}") => (format!("/api/v1/vaults/{vault}"), None),
            ("GET", "/api/v1/vaults/{id}/access") => {
                (format!("/api/v1/vaults/{vault}/access"), None)
            }
            ("PUT", "/api/v1/vaults/{id}/access/{person_id}") => (
                format!("/api/v1/vaults/{vault}/access/{by}"),
                Some(json!({ "role": "collaborator" })),
            ),
            ("DELETE", "/api/v1/vaults/{id}/access/{person_id}") => {
                let path = format!("/api/v1/vaults/{vault}/access/{by}");
                self.w
                    .app
                    .put(&path, &owner, json!({ "role": "collaborator" }))
                    .await
                    .ok();
                (path, None)
            }
            ("POST", "/api/v1/accounts") => (
                p(e.path),
                Some(
                    json!({ "label": format!("Made by {} {n}", who.role), "app": "slack", "username": "me@example.com", "password": "hunter2-but-longer" }),
                ),
            ),
            ("GET", "/api/v1/accounts/{id}") => (
                format!(
                    "/api/v1/accounts/{}",
                    self.account_for(who, "manager").await
                ),
                None,
            ),
            ("PATCH", "/api/v1/accounts/{id}") => (
                format!(
                    "/api/v1/accounts/{}",
                    self.account_for(who, "manager").await
                ),
                Some(json!({ "username": "patched@example.com", "version": 1 })),
            ),
            // Deleting needs the `owner` item role: share the fixture as owner.
            ("DELETE", "/api/v1/accounts/{id}") => (
                format!("/api/v1/accounts/{}", self.account_for(who, "owner").await),
                None,
            ),
            ("POST", "/api/v1/accounts/{id}/reveal") => (
                format!(
                    "/api/v1/accounts/{}/reveal",
                    self.account_for(who, "manager").await
                ),
                Some(json!({ "fields": ["password"] })),
            ),
            ("GET", "/api/v1/accounts/{id}/access") => (
                format!(
                    "/api/v1/accounts/{}/access",
                    self.account_for(who, "manager").await
                ),
                None,
            ),
            ("PUT", "/api/v1/accounts/{id}/access/{person_id}") => (
                format!(
                    "/api/v1/accounts/{}/access/{by}",
                    self.account_for(who, "manager").await
                ),
                Some(json!({ "role": "collaborator" })),
            ),
            ("DELETE", "/api/v1/accounts/{id}/access/{person_id}") => {
                let a = self.account_for(who, "manager").await;
                let path = format!("/api/v1/accounts/{a}/access/{by}");
                self.w
                    .app
                    .put(&path, &owner, json!({ "role": "collaborator" }))
                    .await
                    .ok();
                (path, None)
            }
            ("POST", "/api/v1/apps") => (
                p(e.path),
                Some(json!({
                    "id": app_slug,
                    "name": format!("Custom app {n}"),
                    "login_urls": [format!("https://{app_slug}.example.com/login")],
                    "domains": [format!("{app_slug}.example.com")],
                    "password_rules": { "min_length": 8, "max_length": 64 },
                })),
            ),
            ("GET", "/api/v1/apps/{id}") => (p("/api/v1/apps/slack"), None),
            ("GET", "/api/v1/apps/{id}/connector") => {
                (p("/api/v1/apps/matrix-synapse/connector"), None)
            }
            ("POST", "/api/v1/generate") => (p(e.path), Some(json!({ "length": 24 }))),
            ("PUT", "/api/v1/accounts/{id}/totp") => (
                e.path
                    .replace("{id}", &self.account_for(who, "manager").await),
                Some(json!({ "secret": "JBSWY3DPEHPK3PXP" })),
            ),
            (
                "GET" | "DELETE",
                "/api/v1/accounts/{id}/totp"
                | "/api/v1/accounts/{id}/totp/code"
                | "/api/v1/accounts/{id}/totp/export"
                | "/api/v1/accounts/{id}/totp/qr.png",
            ) => (
                e.path.replace("{id}", &self.account_with_totp(who).await),
                None,
            ),
            ("POST", "/api/v1/accounts/{id}/totp/verify") => (
                e.path.replace("{id}", &self.account_with_totp(who).await),
                Some(json!({ "code": "000000" })),
            ),
            ("POST", "/api/v1/accounts/import-migration") => {
                let mut otp = castellan_otp::OtpParams::new(
                    castellan_otp::Kind::Totp,
                    castellan_otp::Secret::from_bytes(b"12345678901234567890".to_vec()),
                );
                otp.issuer = Some(format!("Imported {n}"));
                otp.account_name = Some(format!("who{n}@example.com"));
                (
                    p(e.path),
                    Some(json!({ "uri": castellan_otp::migration_uri(&[otp]) })),
                )
            }
            ("GET", "/api/v1/hubs" | "/api/v1/jobs" | "/api/v1/tasks") => (p(e.path), None),
            ("POST", "/api/v1/hubs") => {
                let acc = self.account_for(who, "manager").await;
                (
                    p(e.path),
                    Some(
                        json!({ "app": "matrix-synapse", "label": format!("Hub {n}"), "base_url": "http://127.0.0.1:9", "automation_account_id": acc }),
                    ),
                )
            }
            (
                "GET",
                "/api/v1/hubs/{id}" | "/api/v1/hubs/{id}/members" | "/api/v1/hubs/{id}/grants",
            ) => (e.path.replace("{id}", &self.hub().await), None),
            ("PATCH", "/api/v1/hubs/{id}") => (
                e.path.replace("{id}", &self.hub().await),
                Some(json!({ "safeguard_threshold": 0.25 })),
            ),
            ("POST", "/api/v1/hubs/{id}/sync") => (
                e.path.replace("{id}", &self.hub().await),
                Some(json!({ "confirm": false })),
            ),
            ("POST", "/api/v1/hubs/{id}/members/{app_member_id}") => {
                let hub = self.hub().await;
                let member = format!("@member{n}:localhost");
                self.w.app.seed_hub_member(&hub, &member).await;
                (
                    format!(
                        "/api/v1/hubs/{hub}/members/{}",
                        member.replace('@', "%40").replace(':', "%3A")
                    ),
                    Some(json!({ "action": "exempt", "reason": "service account" })),
                )
            }
            ("PUT", "/api/v1/hubs/{id}/grants/{person_id}") => (
                format!("/api/v1/hubs/{}/grants/{by}", self.hub().await),
                Some(json!({ "app_role": "user" })),
            ),
            ("POST", "/api/v1/hubs/{id}/revoke") => {
                let hub = self.hub().await;
                self.w
                    .app
                    .put(
                        &format!("/api/v1/hubs/{hub}/grants/{by}"),
                        &owner,
                        json!({ "app_role": "user" }),
                    )
                    .await
                    .ok();
                (
                    format!("/api/v1/hubs/{hub}/revoke"),
                    Some(json!({ "person_ids": [by] })),
                )
            }
            ("PUT", "/api/v1/hubs/{id}/roster") => {
                let (hub, _) = self.manual_hub(who).await;
                (
                    e.path.replace("{id}", &hub),
                    Some(Value::String(format!(
                        "email,name,role\nmember{n}@example.com,Member {n},member\n"
                    ))),
                )
            }
            ("GET", "/api/v1/hubs/{id}/tasks") => {
                let (hub, _) = self.manual_hub(who).await;
                (e.path.replace("{id}", &hub), None)
            }
            ("POST", "/api/v1/hubs/{id}/tasks/{task_id}/done") => {
                let (hub, task) = self.manual_hub(who).await;
                (
                    e.path.replace("{id}", &hub).replace("{task_id}", &task),
                    None,
                )
            }
            ("GET", "/api/v1/jobs/{id}") => {
                (format!("/api/v1/jobs/{}", self.queued_job().await), None)
            }
            ("GET", "/api/v1/jobs/{id}/steps") => (
                format!("/api/v1/jobs/{}/steps", self.queued_job().await),
                None,
            ),
            ("GET", "/api/v1/jobs/{id}/steps/{seq}/screenshot") => {
                let job = self.queued_job().await;
                let seq = self.screenshot_of(&job).await;
                (format!("/api/v1/jobs/{job}/steps/{seq}/screenshot"), None)
            }
            ("PUT", "/api/v1/hubs/{id}/session") => (
                e.path.replace("{id}", &self.hub().await),
                Some(json!({ "cookies": "[{\"name\": \"sid\", \"value\": \"x\"}]" })),
            ),
            ("POST", "/api/v1/jobs/{id}/cancel") => (
                format!("/api/v1/jobs/{}/cancel", self.queued_job().await),
                None,
            ),
            ("POST", "/api/v1/jobs/{id}/retry") => {
                // A not-completed job: cancel a queued one first (as the owner).
                let job = self.queued_job().await;
                self.w
                    .app
                    .post(&format!("/api/v1/jobs/{job}/cancel"), &owner, json!({}))
                    .await
                    .ok();
                (format!("/api/v1/jobs/{job}/retry"), None)
            }
            ("POST", "/api/v1/accounts/{id}/email") => (
                e.path
                    .replace("{id}", &self.account_for(who, "manager").await),
                Some(json!({ "use_as_username": true })),
            ),
            ("POST", "/api/v1/accounts/{id}/phone") => {
                self.free_number().await;
                (
                    e.path
                        .replace("{id}", &self.account_for(who, "manager").await),
                    None,
                )
            }
            ("GET", "/api/v1/phone-numbers" | "/api/v1/inbox") => (p(e.path), None),
            ("POST", "/api/v1/phone-numbers") => (
                p(e.path),
                Some(json!({ "numbers": [format!("+1415555{n:04}")] })),
            ),
            ("GET", "/api/v1/inbox/{id}") => {
                let (_, id) = self.account_with_message(who).await;
                (format!("/api/v1/inbox/{id}"), None)
            }
            ("GET", "/api/v1/accounts/{id}/inbox/code") => {
                let (a, _) = self.account_with_message(who).await;
                (e.path.replace("{id}", &a), None)
            }
            (m, path) => panic!("no fixture for {m} {path}: add one to `prepare`"),
        }
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
