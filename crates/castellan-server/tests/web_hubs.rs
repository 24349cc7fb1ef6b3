//! Router tests of the web app's business hub pages: the connect wizard (steps, field errors that
//! keep what was typed, a placeholder account), the hub page (status and warnings, member tabs
//! and pages, share / change role / revoke, match and exempt, check for updates, the safeguard's
//! confirm button, live job progress as JSON), the automation log with retry and cancel, CSRF
//! refusals and the permission matrix. No worker runs here, so jobs stay queued.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;
use castellan_core::activity::{ActivityAction, Actor, NewEvent};
use castellan_core::connector::MemberState;
use castellan_core::hub::{HubMember, HubStatus, Matching, SyncReport};
use castellan_core::model::WorkspaceRole;
use castellan_core::ports::{HubStore, JobFilter, JobStore};
use castellan_store::SqlStore;
use common::{Resp, TestApp, PASSWORD};
use serde_json::{json, Value};
use web::{attr, block, has_attr, location, Browser};

/// A claimed workspace, the owner's API token and the owner signed in on the web.
async fn owner_world() -> (TestApp, String, Browser) {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let b = Browser::sign_in(&app, &owner.email, PASSWORD).await;
    (app, owner.token, b)
}

/// An automation account made through the API; returns its id.
async fn bot_account(app: &TestApp, token: &str, label: &str, setup: &str) -> String {
    app.post(
        "/api/v1/accounts",
        token,
        json!({ "label": label, "app": "matrix-synapse", "username": "admin", "password": "adminpass", "setup": setup }),
    )
    .await
    .ok()
    .str("id")
}

/// A hub connected through the API (as tests/matrix.rs does); returns its id.
async fn api_hub(app: &TestApp, token: &str, label: &str, setup: &str) -> String {
    let acc = bot_account(app, token, &format!("{label} bot"), setup).await;
    app.post(
        "/api/v1/hubs",
        token,
        json!({ "app": "matrix-synapse", "label": label, "base_url": "http://127.0.0.1:9", "automation_account_id": acc }),
    )
    .await
    .ok()
    .str("id")
}

fn member(id: &str, email: &str, matching: Matching, role: &str) -> HubMember {
    let now = chrono::Utc::now();
    HubMember {
        app_member_id: id.to_owned(),
        email: Some(email.to_owned()),
        name: None,
        app_role: Some(role.to_owned()),
        state: MemberState::Active,
        matching,
        person_id: None,
        exempt_reason: None,
        first_seen_at: now,
        last_seen_at: now,
        roles: vec![role.to_owned()],
    }
}

/// Stores a finished sync as the bot would: the member snapshot, the report and the hub status.
async fn seed_sync(
    app: &TestApp,
    hub: &str,
    members: &[HubMember],
    report: &SyncReport,
    status: HubStatus,
) {
    let store = SqlStore::connect(&app.db_url)
        .await
        .expect("second connection");
    let id = hub.parse().expect("hub id");
    let mut h = store.hub(id).await.unwrap().expect("hub");
    h.status = status;
    h.status_reason = report.halted.clone();
    h.last_sync_at = Some(chrono::Utc::now());
    let job = store
        .jobs(&JobFilter {
            hub_id: Some(id),
            ..Default::default()
        })
        .await
        .unwrap()
        .first()
        .expect("the connect job")
        .id;
    let ev = NewEvent::new(
        &Actor::bot("test"),
        ActivityAction::HubSync,
        chrono::Utc::now(),
    );
    store
        .save_sync(&h, members, report, job, &ev, &[])
        .await
        .expect("save sync");
    store.close().await;
}

/// The hub (as the API shows it) whose page `location` is.
async fn hub_at(app: &TestApp, token: &str, location: &str) -> Value {
    let id = location
        .trim_start_matches("/hubs/")
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    app.get(&format!("/api/v1/hubs/{id}"), token)
        .await
        .ok()
        .json()
}

/// Posts a form that must be refused with 422 (field errors); returns the page shown again.
async fn refused(b: &Browser, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> String {
    let r = b.post(app, path, fields).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "POST {path}: {}",
        r.text()
    );
    r.text()
}

#[track_caller]
fn see_other(r: &Resp, starts_with: &str) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = location(r);
    assert!(to.starts_with(starts_with), "redirect to {to}");
    to
}

async fn grants(app: &TestApp, token: &str, hub: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/hubs/{hub}/grants"), token)
        .await
        .ok()
        .json()
        .as_array()
        .expect("grants")
        .clone()
}

async fn members(app: &TestApp, token: &str, hub: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/hubs/{hub}/members"), token)
        .await
        .ok()
        .json()
        .as_array()
        .expect("members")
        .clone()
}

/// The wizard's answers so far, plus `more`.
fn answers<'a>(
    base: &[(&'a str, &'a str)],
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut v = base.to_vec();
    v.extend_from_slice(more);
    v
}

#[tokio::test]
async fn the_wizard_connects_a_hub_step_by_step_and_keeps_what_was_typed() {
    let (app, token, b) = owner_world().await;
    let acc = bot_account(&app, &token, "Synapse bot", "placeholder").await;

    // Step 1: apps with a connector first, then the others as manual hubs.
    let p = b.get(&app, "/hubs/new").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text());
    let html = p.text();
    let select = block(&html, "hub-app", "</select>").expect("the app select");
    let (automated, manual) = select
        .split_once("Manual: tasks for an app admin")
        .expect("a group of manual apps");
    assert!(automated.contains("value=\"matrix-synapse\""), "{select}");
    assert!(!automated.contains("Slack"), "{select}");
    assert!(
        manual.contains("Slack (manual: tasks for an app admin)"),
        "{select}"
    );
    assert!(html.contains("id=\"hub-next\""));
    assert!(html.contains("aria-current=\"step\""));

    let html = refused(&b, &app, "/hubs/new", &[("step", "1"), ("app", "")]).await;
    assert!(has_attr(&html, "hub-app", "aria-invalid"));
    assert!(html.contains("Choose an app."), "{}", html);
    // Slack has no connector: its step 2 asks for the manual connector's app admin.
    let r = b
        .post(&app, "/hubs/new", &[("step", "1"), ("app", "slack")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.text().contains("id=\"hub-setting_app_admin\""),
        "{}",
        r.text()
    );

    // Step 2: label, organization id and (self-hosted) base URL.
    let s1 = [("app", "matrix-synapse")];
    let r = b
        .post(&app, "/hubs/new", &answers(&s1, &[("step", "1")]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    for id in ["hub-label", "hub-org", "hub-url", "hub-next", "hub-back"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(
        has_attr(&html, "hub-url", "required"),
        "a self-hosted app needs its URL"
    );
    assert!(
        html.contains("name=\"app\" value=\"matrix-synapse\""),
        "step 1 is carried"
    );

    let bad = [
        ("step", "2"),
        ("label", "Matrix <team>"),
        ("organization_id", "acme"),
        ("base_url", "not a url"),
    ];
    let html = refused(&b, &app, "/hubs/new", &answers(&s1, &bad)).await;
    assert_eq!(
        attr(&html, "hub-label", "value").as_deref(),
        Some("Matrix <team>")
    );
    assert_eq!(attr(&html, "hub-org", "value").as_deref(), Some("acme"));
    assert_eq!(
        attr(&html, "hub-url", "value").as_deref(),
        Some("not a url")
    );
    assert!(has_attr(&html, "hub-url", "aria-invalid"));
    assert_eq!(
        attr(&html, "hub-url", "aria-describedby").as_deref(),
        Some("hub-url-hint hub-url-error")
    );
    assert!(html.contains("id=\"hub-url-error\""));
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(&s1, &[("step", "2"), ("label", "Matrix"), ("base_url", "")]),
    )
    .await;
    assert!(
        html.contains("address of your Matrix Synapse server"),
        "{}",
        html
    );

    // Step 3: user management and login method.
    let s2 = answers(
        &s1,
        &[
            ("label", "Matrix"),
            ("organization_id", "acme"),
            ("base_url", "http://127.0.0.1:9/"),
        ],
    );
    let r = b
        .post(&app, "/hubs/new", &answers(&s2, &[("step", "2")]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains("id=\"hub-user-management\"") && html.contains("id=\"hub-login-method\"")
    );
    assert!(
        html.contains("name=\"label\" value=\"Matrix\""),
        "step 2 is carried"
    );
    assert!(
        html.contains("invite members"),
        "the app's capabilities are shown"
    );
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(
            &s2,
            &[
                ("step", "3"),
                ("user_management", "api"),
                ("login_method", "carrier pigeon"),
            ],
        ),
    )
    .await;
    assert!(has_attr(&html, "hub-login-method", "aria-invalid"));
    // Back keeps the answers.
    let r = b
        .post(
            &app,
            "/hubs/new",
            &answers(&s2, &[("step", "3"), ("go", "back")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        attr(&r.text(), "hub-label", "value").as_deref(),
        Some("Matrix")
    );

    // Step 4: the automation account.
    let s3 = answers(
        &s2,
        &[("user_management", "api"), ("login_method", "password")],
    );
    let r = b
        .post(&app, "/hubs/new", &answers(&s3, &[("step", "3")]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    let select = block(&html, "hub-account", "</select>").expect("the account select");
    assert!(select.contains(&format!("value=\"{acc}\"")), "{select}");
    assert!(select.contains("Matrix Synapse accounts"), "{select}");
    assert!(html.contains("id=\"hub-connect\""));
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(&s3, &[("step", "4"), ("automation_account_id", "")]),
    )
    .await;
    assert!(has_attr(&html, "hub-account", "aria-invalid"));

    let r = b
        .post(
            &app,
            "/hubs/new",
            &answers(&s3, &[("step", "4"), ("automation_account_id", &acc)]),
        )
        .await;
    let to = see_other(&r, "/hubs/");
    assert!(to.ends_with("?done=connected"), "{to}");
    let h = hub_at(&app, &token, &to).await;
    assert_eq!(h["label"], "Matrix");
    assert_eq!(h["organization_id"], "acme");
    assert_eq!(h["base_url"], "http://127.0.0.1:9");
    assert_eq!(h["status"], "under_validation");
    assert_eq!(h["automation_account_id"], acc.as_str());
    let page = b.get(&app, &to).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("The hub is connected."));

    // The same label again is refused at step 2, and at the end (with the step shown again).
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(
            &s1,
            &[
                ("step", "2"),
                ("label", "matrix"),
                ("base_url", "http://x.test"),
            ],
        ),
    )
    .await;
    assert!(html.contains("already exists"), "{}", html);
    let again = answers(
        &s1,
        &[
            ("label", "MATRIX"),
            ("base_url", "http://x.test"),
            ("user_management", "api"),
            ("login_method", "password"),
            ("automation_account_id", &acc),
            ("step", "4"),
        ],
    );
    let html = refused(&b, &app, "/hubs/new", &again).await;
    assert!(
        has_attr(&html, "hub-label", "aria-invalid"),
        "back on step 2: {html}"
    );
    assert_eq!(attr(&html, "hub-label", "value").as_deref(), Some("MATRIX"));
    assert_eq!(
        web::hidden(&html, "automation_account_id").as_deref(),
        Some(acc.as_str()),
        "later answers are carried too"
    );
}

#[tokio::test]
async fn the_wizard_makes_a_placeholder_account_and_never_echoes_its_password() {
    let (app, token, b) = owner_world().await;
    let s3 = [
        ("app", "matrix-synapse"),
        ("label", "Ghosted"),
        ("base_url", "http://127.0.0.1:9"),
        ("user_management", "api"),
        ("login_method", "password_totp"),
        ("step", "4"),
        ("automation_account_id", "placeholder"),
    ];
    let secret = "typed-Secret-4711";
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(
            &s3,
            &[
                ("placeholder_username", ""),
                ("placeholder_password", secret),
            ],
        ),
    )
    .await;
    assert!(has_attr(&html, "hub-placeholder-username", "aria-invalid"));
    assert!(!html.contains(secret), "the password is not shown again");
    assert_eq!(
        app.account_count(&token).await,
        0,
        "no account before the step passes"
    );

    let r = b
        .post(
            &app,
            "/hubs/new",
            &answers(
                &s3,
                &[
                    ("placeholder_username", "castellan-bot"),
                    ("placeholder_password", secret),
                ],
            ),
        )
        .await;
    let to = see_other(&r, "/hubs/");
    let h = hub_at(&app, &token, &to).await;
    assert_eq!(h["login_method"], "password_totp");
    let acc = h["automation_account_id"].as_str().unwrap().to_owned();
    let a = app
        .get(&format!("/api/v1/accounts/{acc}"), &token)
        .await
        .ok()
        .json();
    assert_eq!(a["setup"], "placeholder");
    assert_eq!(a["username"], "castellan-bot");
    assert_eq!(a["label"], "Matrix Synapse automation (Ghosted)");
    let revealed = app
        .post(
            &format!("/api/v1/accounts/{acc}/reveal"),
            &token,
            json!({ "fields": ["password"] }),
        )
        .await
        .ok();
    assert_eq!(
        revealed.json()["password"],
        secret,
        "the typed password is stored"
    );
    // The hub warns: no 2FA managed by Castellan on the new account.
    let page = b.get(&app, &to).await.text();
    let status = block(&page, "hub-status", "</section>").expect("status");
    assert!(status.contains("no 2FA managed by Castellan"), "{status}");
    assert!(!page.contains(secret));

    // A refused connect (the label is taken by now) makes no placeholder account.
    let before = app.account_count(&token).await;
    let html = refused(
        &b,
        &app,
        "/hubs/new",
        &answers(
            &s3[..4],
            &[
                ("login_method", "password"),
                ("step", "4"),
                ("automation_account_id", "placeholder"),
                ("placeholder_username", "other-bot"),
            ],
        ),
    )
    .await;
    assert!(has_attr(&html, "hub-label", "aria-invalid"), "{html}");
    assert_eq!(app.account_count(&token).await, before);
}

#[tokio::test]
async fn the_hub_page_shows_status_warnings_tabs_and_pages_of_members() {
    let (app, token, b) = owner_world().await;
    let hub = api_hub(&app, &token, "Chat", "individual").await;

    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let status = block(&html, "hub-status", "</section>").expect("status");
    assert!(status.contains("under validation"), "{status}");
    assert!(
        status.contains("validating the automation account"),
        "{status}"
    );
    assert!(status.contains("individual account"), "{status}");
    assert!(html.contains("id=\"check-for-updates\""));
    assert!(html.contains("No sync has finished yet."));

    // A snapshot: two onboarded-to-be, one unmatched, 205 guests, one exempted.
    let mut ms = vec![
        member(
            "@ana:example.org",
            "ana@example.com",
            Matching::Onboarded,
            "admin",
        ),
        member(
            "@bob:example.org",
            "bob@example.com",
            Matching::Unmatched,
            "user",
        ),
        member(
            "@ex:example.org",
            "ex@example.com",
            Matching::Exempted,
            "user",
        ),
    ];
    ms[2].exempt_reason = Some("CI service user".into());
    for i in 0..205 {
        ms.push(member(
            &format!("@g{i:03}:other.org"),
            &format!("g{i:03}@other.org"),
            Matching::Guest,
            "user",
        ));
    }
    let report = SyncReport {
        total: ms.len(),
        new: ms.iter().map(|m| m.app_member_id.clone()).collect(),
        onboarded: 1,
        unmatched: 1,
        guests: 205,
        exempted: 1,
        ..Default::default()
    };
    seed_sync(&app, &hub, &ms, &report, HubStatus::Healthy).await;

    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let status = block(&html, "hub-status", "</section>").unwrap();
    assert!(status.contains("healthy"), "{status}");
    assert!(has_attr(&html, "tab-onboarded", "aria-current"));
    assert!(!has_attr(&html, "tab-unmatched", "aria-current"));
    assert!(html.contains("id=\"member-@ana:example.org\""));
    assert!(
        !html.contains("id=\"member-@bob:example.org\""),
        "bob is in another tab"
    );
    let report_html = block(&html, "hub-report", "</section>").unwrap();
    assert!(
        report_html.contains("Added (208)") && report_html.contains("188 more"),
        "{report_html}"
    );

    let html = b
        .get(&app, &format!("/hubs/{hub}?tab=unmatched"))
        .await
        .ok()
        .text();
    assert!(has_attr(&html, "tab-unmatched", "aria-current"));
    let row = block(&html, "member-@bob:example.org", "</tr>").expect("bob's row");
    assert!(
        row.contains("bob@example.com") && row.contains(">user<") && row.contains("active"),
        "{row}"
    );
    assert!(row.contains("id=\"reason-@bob:example.org\""), "{row}");
    assert!(!html.contains("id=\"member-@ana:example.org\""));

    let html = b
        .get(&app, &format!("/hubs/{hub}?tab=exempted"))
        .await
        .ok()
        .text();
    let row = block(&html, "member-@ex:example.org", "</tr>").expect("exempted row");
    assert!(row.contains("CI service user"), "{row}");

    // 205 guests: 200 on the first page, 5 on the second.
    let html = b
        .get(&app, &format!("/hubs/{hub}?tab=guest"))
        .await
        .ok()
        .text();
    assert_eq!(html.matches("<tr id=\"member-").count(), 200);
    assert!(html.contains("1–200 of 205"));
    let next = attr(&html, "members-next", "href").expect("a next page link");
    assert!(html.contains("id=\"member-@g000:other.org\""));
    let html = b.get(&app, &next).await.ok().text();
    assert_eq!(html.matches("<tr id=\"member-").count(), 5);
    assert!(html.contains("id=\"member-@g204:other.org\""));
    assert!(attr(&html, "members-prev", "href").is_some());
    assert!(!html.contains("id=\"members-next\""));

    // The hubs list shows the hub with its status and counts.
    let list = b.get(&app, "/hubs").await.ok().text();
    assert!(list.contains("id=\"connect-hub\""));
    let row = block(&list, "connect-hub", "</table>").unwrap();
    assert!(
        row.contains("Chat") && row.contains("healthy") && row.contains("208"),
        "{row}"
    );

    // An unknown hub or a malformed id is 404.
    assert_eq!(
        b.get(&app, "/hubs/not-a-hub").await.status,
        StatusCode::NOT_FOUND
    );
    let other = uuid::Uuid::now_v7();
    assert_eq!(
        b.get(&app, &format!("/hubs/{other}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn share_change_role_and_revoke_from_the_hub_page() {
    let (app, token, b) = owner_world().await;
    app.person(&token, "ana@example.com", WorkspaceRole::User)
        .await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    let path = format!("/hubs/{hub}/share");

    // Unknown person and unknown role: field errors, what was typed kept.
    let html = refused(
        &b,
        &app,
        &path,
        &[
            ("form", "share"),
            ("person", "nobody@example.com"),
            ("app_role", "user"),
        ],
    )
    .await;
    assert_eq!(
        attr(&html, "share-person", "value").as_deref(),
        Some("nobody@example.com")
    );
    assert!(has_attr(&html, "share-person", "aria-invalid"));
    assert!(html.contains("No person in the workspace has this email."));
    let html = refused(
        &b,
        &app,
        &path,
        &[
            ("form", "share"),
            ("person", "ana@example.com"),
            ("app_role", "wizard"),
        ],
    )
    .await;
    assert!(has_attr(&html, "share-role", "aria-invalid"), "{html}");
    assert!(
        html.contains("is not one of the app&#39;s roles")
            || html.contains("is not one of the app's roles")
    );
    assert!(grants(&app, &token, &hub).await.is_empty());

    // Share.
    let r = b
        .post(
            &app,
            &path,
            &[
                ("form", "share"),
                ("person", "Ana@Example.com"),
                ("app_role", "user"),
            ],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?done=shared"));
    let g = grants(&app, &token, &hub).await;
    assert_eq!(g.len(), 1);
    assert_eq!(g[0]["app_role"], "user");
    assert_eq!(g[0]["revoked"], false);
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let row = block(&html, "grant-ana@example.com", "</tr>").expect("grant row");
    assert!(
        row.contains("id=\"revoke-ana@example.com\"")
            && row.contains("data-email=\"ana@example.com\""),
        "{row}"
    );

    // Change role.
    let r = b
        .post(
            &app,
            &path,
            &[
                ("form", "role"),
                ("person", "ana@example.com"),
                ("hub_role", "collaborator"),
                ("app_role", "admin"),
            ],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?done=role"));
    assert_eq!(grants(&app, &token, &hub).await[0]["app_role"], "admin");

    // Revoke.
    let person = g[0]["person_id"].as_str().unwrap();
    let r = b
        .post(
            &app,
            &format!("/hubs/{hub}/revoke"),
            &[("person_id", person)],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?done=revoked"));
    let g = grants(&app, &token, &hub).await;
    assert_eq!(g[0]["revoked"], true);
    // While ana is still a member of the app, the revoked grant is listed (being removed)…
    let mut ana = member(
        "@ana:example.org",
        "ana@example.com",
        Matching::Onboarded,
        "admin",
    );
    ana.person_id = Some(person.parse().unwrap());
    seed_sync(
        &app,
        &hub,
        &[ana.clone()],
        &SyncReport::default(),
        HubStatus::Healthy,
    )
    .await;
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let row = block(&html, "grant-ana@example.com", "</tr>").expect("the revoked grant");
    assert!(row.contains("revoked"), "{row}");
    assert!(
        !row.contains("id=\"revoke-ana@example.com\""),
        "no revoke button on a revoked grant"
    );
    // …and once the app has deactivated her, she is gone from the page's grants and members.
    ana.state = MemberState::Deactivated;
    ana.email = None;
    seed_sync(
        &app,
        &hub,
        &[ana],
        &SyncReport::default(),
        HubStatus::Healthy,
    )
    .await;
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let shared = block(&html, "grants", "</section>").unwrap();
    let listed = block(&html, "members", "</section>").unwrap();
    assert!(!shared.contains("ana@example.com"), "{shared}");
    assert!(!listed.contains("ana@example.com"), "{listed}");
    assert!(listed.contains("Show 1 deactivated member"), "{listed}");
    let all = b
        .get(&app, &format!("/hubs/{hub}?tab=onboarded&state=all"))
        .await
        .ok()
        .text();
    let row = block(&all, "member-@ana:example.org", "</tr>").expect("shown on request");
    assert!(
        row.contains("deactivated") && row.contains("ana@example.com"),
        "{row}"
    );
    assert_eq!(
        attr(&all, "tab-guest", "href").as_deref(),
        Some(format!("/hubs/{hub}?tab=guest&state=all#members").as_str())
    );
    // Revoking again is a form error, not a crash.
    let html = refused(
        &b,
        &app,
        &format!("/hubs/{hub}/revoke"),
        &[("person_id", person)],
    )
    .await;
    assert!(html.contains("role=\"alert\""));
}

#[tokio::test]
async fn match_and_exempt_members_an_exemption_needs_a_reason() {
    let (app, token, b) = owner_world().await;
    app.person(&token, "ana@example.com", WorkspaceRole::User)
        .await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    let ms = [
        member(
            "@bob:example.org",
            "bob@example.com",
            Matching::Unmatched,
            "user",
        ),
        member(
            "@ana2:example.org",
            "ana.other@example.com",
            Matching::Unmatched,
            "user",
        ),
    ];
    seed_sync(&app, &hub, &ms, &SyncReport::default(), HubStatus::Healthy).await;
    let path = format!("/hubs/{hub}/members");

    let html = refused(
        &b,
        &app,
        &path,
        &[
            ("member", "@bob:example.org"),
            ("action", "exempt"),
            ("reason", "  "),
            ("tab", "unmatched"),
        ],
    )
    .await;
    assert!(
        has_attr(&html, "reason-@bob:example.org", "aria-invalid"),
        "{html}"
    );
    assert!(html.contains("id=\"reason-@bob:example.org-error\""));
    assert!(
        has_attr(&html, "tab-unmatched", "aria-current"),
        "the same tab is shown again"
    );

    let r = b
        .post(
            &app,
            &path,
            &[
                ("member", "@bob:example.org"),
                ("action", "exempt"),
                ("reason", "CI service user"),
                ("tab", "unmatched"),
            ],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?tab=unmatched&done=exempted"));

    let html = refused(
        &b,
        &app,
        &path,
        &[
            ("member", "@ana2:example.org"),
            ("action", "match"),
            ("person", "zed@example.com"),
            ("tab", "unmatched"),
        ],
    )
    .await;
    assert_eq!(
        attr(&html, "match-@ana2:example.org", "value").as_deref(),
        Some("zed@example.com")
    );
    let r = b
        .post(
            &app,
            &path,
            &[
                ("member", "@ana2:example.org"),
                ("action", "match"),
                ("person", "ana@example.com"),
                ("tab", "unmatched"),
            ],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?tab=unmatched&done=matched"));

    let ms = members(&app, &token, &hub).await;
    let by = |id: &str| {
        ms.iter()
            .find(|m| m["app_member_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by("@bob:example.org")["matching"], "exempted");
    assert_eq!(by("@bob:example.org")["exempt_reason"], "CI service user");
    assert_eq!(by("@ana2:example.org")["matching"], "onboarded");
    let html = b
        .get(&app, &format!("/hubs/{hub}?tab=onboarded"))
        .await
        .ok()
        .text();
    let row = block(&html, "member-@ana2:example.org", "</tr>").unwrap();
    assert!(
        row.contains("ana@example.com"),
        "the matched person is shown: {row}"
    );

    let r = b
        .post(
            &app,
            &path,
            &[("member", "@nobody"), ("action", "exempt"), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn check_for_updates_live_progress_and_the_automation_log() {
    let (app, token, b) = owner_world().await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    let other = api_hub(&app, &token, "Wiki", "placeholder").await;

    // The first sync is queued: the page polls its feed and offers Refresh and Cancel.
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    assert_eq!(
        attr(&html, "hub-jobs", "data-poll"),
        Some(format!("/hubs/{hub}/jobs.json"))
    );
    assert_eq!(
        attr(&html, "jobs-refresh", "href"),
        Some(format!("/hubs/{hub}?tab=onboarded#hub-jobs"))
    );

    let r = b.post(&app, &format!("/hubs/{hub}/sync"), &[]).await;
    see_other(&r, &format!("/hubs/{hub}?done=sync"));
    let feed = b.get(&app, &format!("/hubs/{hub}/jobs.json")).await.ok();
    assert!(
        feed.content_type().starts_with("application/json"),
        "{}",
        feed.content_type()
    );
    let feed = feed.json();
    let jobs = feed["jobs"].as_array().unwrap();
    assert!(!jobs.is_empty());
    assert!(
        jobs.iter().all(|j| j["hub_id"] == hub.as_str()),
        "only this hub's jobs: {feed}"
    );
    assert_eq!(jobs[0]["task"], "check_for_updates");
    assert_eq!(jobs[0]["state"], "queued");
    assert_eq!(feed["active"], jobs.len());
    let job = jobs[0]["id"].as_str().unwrap().to_owned();

    // Cancel, then retry, from the hub page.
    let back = format!("/hubs/{hub}?tab=guest");
    let r = b
        .post(
            &app,
            &format!("/automation-log/{job}/cancel"),
            &[("back", &back)],
        )
        .await;
    assert_eq!(
        see_other(&r, &back),
        format!("{back}&done=cancelled#hub-jobs")
    );
    let j = app
        .get(&format!("/api/v1/jobs/{job}"), &token)
        .await
        .ok()
        .json();
    assert_eq!(j["state"], "not_completed");
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    assert!(html.contains(&format!("id=\"retry-{job}\"")));
    assert!(
        attr(&html, "hub-jobs", "data-poll").is_none(),
        "nothing to follow"
    );
    let r = b
        .post(
            &app,
            &format!("/automation-log/{job}/retry"),
            &[("back", "https://evil.test/")],
        )
        .await;
    see_other(&r, "/automation-log?done=retried");
    let j = app
        .get(&format!("/api/v1/jobs/{job}"), &token)
        .await
        .ok()
        .json();
    assert_eq!(j["state"], "queued");
    // A `back` with a CR/LF (header injection attempt) falls back to the log, no 500.
    let r = b
        .post(
            &app,
            &format!("/automation-log/{job}/cancel"),
            &[("back", &format!("/hubs/{hub}\r\nSet-Cookie: x=1"))],
        )
        .await;
    see_other(&r, "/automation-log?done=cancelled");
    let r = b
        .post(
            &app,
            &format!("/automation-log/{job}/retry"),
            &[("back", "/automation-log")],
        )
        .await;
    see_other(&r, "/automation-log?done=retried");
    // Retrying a queued job is refused with the reason.
    let r = b
        .post(&app, &format!("/automation-log/{job}/retry"), &[])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // The automation log: every hub, one hub, one state.
    let html = b.get(&app, "/automation-log").await.ok().text();
    assert!(html.contains(&format!("data-job=\"{job}\"")));
    assert!(html.contains("Chat") && html.contains("Wiki"));
    let html = b.get(&app, &format!("/hubs/{other}/log")).await.ok().text();
    assert!(
        !html.contains(&format!("data-job=\"{job}\"")),
        "another hub's log"
    );
    assert!(html.contains("Check for updates"));
    let html = b
        .get(&app, &format!("/automation-log?hub={hub}&state=completed"))
        .await
        .ok()
        .text();
    assert!(!html.contains(&format!("data-job=\"{job}\"")));
    assert!(html.contains("0 jobs"));
}

#[tokio::test]
async fn a_halted_sync_offers_a_confirm_button() {
    let (app, token, b) = owner_world().await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    // Let the connect job finish so the confirming sync is a new job.
    let store = SqlStore::connect(&app.db_url).await.unwrap();
    let mut j = store
        .jobs(&JobFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.hub_id.to_string() == hub)
        .unwrap();
    j.state = castellan_core::hub::JobState::Completed;
    let ev = NewEvent::new(
        &Actor::bot("test"),
        ActivityAction::JobCompleted,
        chrono::Utc::now(),
    );
    assert!(store
        .update_job_if(&j, &[castellan_core::hub::JobState::Queued], &ev)
        .await
        .unwrap());
    store.close().await;
    let report = SyncReport {
        total: 10,
        planned_removals: vec!["@a:x".into(), "@b:x".into(), "@c:x".into()],
        halted: Some("3 of 10 members (30%) would be removed; the safeguard allows 20%".into()),
        ..Default::default()
    };
    seed_sync(&app, &hub, &[], &report, HubStatus::RequiresSync).await;

    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let halted = block(&html, "safeguard-halted", "</div>").expect("the halted notice");
    assert!(halted.contains("30%"), "{halted}");
    assert!(halted.contains("id=\"confirm-sync\""));
    assert!(block(&html, "hub-status", "</section>")
        .unwrap()
        .contains("requires sync"));

    let r = b
        .post(&app, &format!("/hubs/{hub}/sync"), &[("confirm", "true")])
        .await;
    see_other(&r, &format!("/hubs/{hub}?done=confirmed"));
    let jobs = app
        .get(&format!("/api/v1/jobs?hub_id={hub}&state=queued"), &token)
        .await
        .ok()
        .json();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["params"]["confirm"], true);
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let (app, token, b) = owner_world().await;
    app.person(&token, "ana@example.com", WorkspaceRole::User)
        .await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    let fields = [("person", "ana@example.com"), ("app_role", "user")];
    let r = b
        .post_raw(&app, &format!("/hubs/{hub}/share"), &fields)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut wrong = vec![("csrf", "0".repeat(64))];
    wrong.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .post_raw(&app, &format!("/hubs/{hub}/share"), &wrong)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(grants(&app, &token, &hub).await.is_empty());
    for path in [
        format!("/hubs/{hub}/sync"),
        format!("/hubs/{hub}/revoke"),
        format!("/hubs/{hub}/members"),
        "/hubs/new".to_owned(),
    ] {
        let r = b
            .post_raw(&app, &path, &[("step", "1"), ("app", "matrix-synapse")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn only_admins_reach_hubs_and_signed_out_visitors_sign_in_first() {
    let (app, token, _) = owner_world().await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    let admin = app
        .person(&token, "admin@example.com", WorkspaceRole::Admin)
        .await;
    app.person(&token, "user@example.com", WorkspaceRole::User)
        .await;

    let a = Browser::sign_in(&app, &admin.email, PASSWORD).await;
    assert_eq!(
        a.get(&app, &format!("/hubs/{hub}")).await.status,
        StatusCode::OK
    );

    let u = Browser::sign_in(&app, "user@example.com", PASSWORD).await;
    for path in [
        "/hubs".to_owned(),
        "/hubs/new".to_owned(),
        format!("/hubs/{hub}"),
        format!("/hubs/{hub}/jobs.json"),
        format!("/hubs/{hub}/log"),
        "/automation-log".to_owned(),
    ] {
        assert_eq!(
            u.get(&app, &path).await.status,
            StatusCode::FORBIDDEN,
            "GET {path}"
        );
    }
    let r = u
        .post(
            &app,
            &format!("/hubs/{hub}/share"),
            &[("person", "user@example.com"), ("app_role", "user")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = u.post(&app, &format!("/hubs/{hub}/sync"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = u
        .post(
            &app,
            "/hubs/new",
            &[("step", "1"), ("app", "matrix-synapse")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(grants(&app, &token, &hub).await.is_empty());

    let r = app.raw("GET", &format!("/hubs/{hub}"), &[], vec![]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        location(&r).starts_with("/sign-in?next="),
        "{}",
        location(&r)
    );
}
