//! The walk's fixtures: for every endpoint and caller, a concrete path and body (fresh hubs,
//! accounts, tasks, jobs, numbers and messages) that let the call succeed when the matrix allows it.

use castellan_core::model::WorkspaceRole;
use castellan_core::permissions::{allows, Action};
use serde_json::{json, Value};

use super::common::{self, Session, World};
use super::{manual_fixture, Endpoint};

/// Fixtures shared by the walk: the default vault and a bystander person that grants and
/// unshares point at.
pub(super) struct Walk {
    pub(super) w: World,
    vault: String,
    bystander: String,
    n: usize,
}

impl Walk {
    pub(super) async fn new() -> Self {
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

    pub(super) fn owner(&self) -> &str {
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

    /// A fresh self-managed team made by the owner, with the bystander in it.
    async fn team(&mut self) -> String {
        let n = self.next();
        let owner = self.owner().to_owned();
        let by = self.bystander.clone();
        self.w
            .app
            .post(
                "/api/v1/teams",
                &owner,
                json!({ "name": format!("Fixture team {n}"), "members": [by] }),
            )
            .await
            .ok()
            .str("id")
    }

    /// A fresh collection made by the owner, shared with `with` (unless that is the owner, who
    /// sees every collection).
    async fn collection(&mut self, with: Option<&Session>) -> String {
        let n = self.next();
        let owner = self.owner().to_owned();
        let c = self
            .w
            .app
            .post(
                "/api/v1/collections",
                &owner,
                json!({ "name": format!("Fixture collection {n}") }),
            )
            .await
            .ok()
            .str("id");
        if let Some(who) = with.filter(|w| w.role != WorkspaceRole::Owner) {
            self.w
                .app
                .put(
                    &format!("/api/v1/collections/{c}/access/{}", who.person_id),
                    &owner,
                    json!({ "role": "collaborator" }),
                )
                .await
                .ok();
        }
        c
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
    pub(super) async fn prepare(&mut self, e: &Endpoint, who: &Session) -> (String, Option<Value>) {
        let owner = self.owner().to_owned();
        let app_slug = format!("custom-{}", who.role.as_str().replace('_', "-"));
        let n = self.next();
        let vault = self.vault.clone();
        let by = self.bystander.clone();
        let p = |s: &str| s.to_owned();
        match (e.method, e.path) {
            (
                "GET",
                "/api/v1/me"
                | "/api/v1/people"
                | "/api/v1/tokens"
                | "/api/v1/scim/tokens"
                | "/api/v1/vaults"
                | "/api/v1/accounts"
                | "/api/v1/apps",
            )
            | (
                "GET",
                "/api/v1/activity" | "/api/v1/activity/export.csv" | "/api/v1/activity/verify",
            ) => (p(e.path), None),
            ("GET", "/api/v1/teams") => (p(e.path), None),
            ("POST", "/api/v1/teams") => (
                p(e.path),
                Some(json!({ "name": format!("Team {n}"), "members": [by] })),
            ),
            ("GET", "/api/v1/teams/{id}" | "/api/v1/teams/{id}/grants") => {
                (e.path.replace("{id}", &self.team().await), None)
            }
            ("PUT", "/api/v1/teams/{id}") => (
                e.path.replace("{id}", &self.team().await),
                Some(json!({ "name": format!("Renamed team {n}"), "members": [] })),
            ),
            ("DELETE", "/api/v1/teams/{id}") => (e.path.replace("{id}", &self.team().await), None),
            ("GET", "/api/v1/hubs/{id}/teams") => (e.path.replace("{id}", &self.hub().await), None),
            ("PUT", "/api/v1/hubs/{id}/teams/{team_id}") => {
                let (hub, team) = (self.hub().await, self.team().await);
                (
                    e.path.replace("{id}", &hub).replace("{team_id}", &team),
                    Some(json!({ "app_role": "user" })),
                )
            }
            ("DELETE", "/api/v1/hubs/{id}/teams/{team_id}") => {
                let (hub, team) = (self.hub().await, self.team().await);
                self.w
                    .app
                    .put(
                        &format!("/api/v1/hubs/{hub}/teams/{team}"),
                        &owner,
                        json!({ "app_role": "user" }),
                    )
                    .await
                    .ok();
                (
                    e.path.replace("{id}", &hub).replace("{team_id}", &team),
                    None,
                )
            }
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
            ("POST", "/api/v1/scim/tokens") => (
                p(e.path),
                Some(json!({ "name": format!("matrix SCIM token {n}") })),
            ),
            ("DELETE", "/api/v1/scim/tokens/{id}") => {
                // A SCIM token the owner made.
                let r = self
                    .w
                    .app
                    .post(
                        "/api/v1/scim/tokens",
                        &owner,
                        json!({ "name": format!("SCIM to revoke {n}") }),
                    )
                    .await;
                (format!("/api/v1/scim/tokens/{}", r.str("id")), None)
            }
            ("GET", "/api/v1/collections") => (p(e.path), None),
            ("POST", "/api/v1/collections") => (
                p(e.path),
                Some(json!({ "name": format!("Collection {n}") })),
            ),
            ("GET", "/api/v1/collections/{id}") => {
                let c = self.collection(Some(who)).await;
                (e.path.replace("{id}", &c), None)
            }
            ("PUT", "/api/v1/collections/{id}") => (
                e.path.replace("{id}", &self.collection(None).await),
                Some(json!({ "name": format!("Renamed collection {n}") })),
            ),
            ("DELETE", "/api/v1/collections/{id}") | ("GET", "/api/v1/collections/{id}/shares") => {
                (e.path.replace("{id}", &self.collection(None).await), None)
            }
            ("PUT", "/api/v1/collections/{id}/access/{person_id}") => (
                e.path
                    .replace("{id}", &self.collection(None).await)
                    .replace("{person_id}", &by),
                Some(json!({ "role": "collaborator" })),
            ),
            ("DELETE", "/api/v1/collections/{id}/access/{person_id}") => {
                let c = self.collection(None).await;
                let path = format!("/api/v1/collections/{c}/access/{by}");
                self.w
                    .app
                    .put(&path, &owner, json!({ "role": "collaborator" }))
                    .await
                    .ok();
                (path, None)
            }
            ("GET", "/api/v1/teams/{id}/shares") => {
                (e.path.replace("{id}", &self.team().await), None)
            }
            ("PUT", "/api/v1/teams/{id}/shares/{kind}/{target_id}") => (
                format!("/api/v1/teams/{}/shares/vault/{vault}", self.team().await),
                Some(json!({ "role": "collaborator" })),
            ),
            ("DELETE", "/api/v1/teams/{id}/shares/{kind}/{target_id}") => {
                let path = format!("/api/v1/teams/{}/shares/vault/{vault}", self.team().await);
                self.w
                    .app
                    .put(&path, &owner, json!({ "role": "collaborator" }))
                    .await
                    .ok();
                (path, None)
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
            // The OAuth 2.0 connect steps on a hub whose connector has no OAuth sign-in: the
            // permission check passes or refuses before the use case answers 422 (the whole
            // flow, with an authorization server, is `castellan/tests/oauth2_hub.rs`).
            ("POST", "/api/v1/hubs/{id}/oauth2/start") => {
                (e.path.replace("{id}", &self.hub().await), None)
            }
            ("POST", "/api/v1/oauth2/callback") => (
                p(e.path),
                Some(json!({ "state": format!("never-started-{n}"), "code": "c" })),
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
