//! Router tests of the web app's business hub pages: the connect wizard (steps, field errors that
//! keep what was typed, a placeholder account), the hub page (status and warnings, member tabs
//! and pages, share / change role / revoke, match and exempt, check for updates, the safeguard's
//! confirm button, live job progress as JSON), the automation log with retry and cancel, CSRF
//! refusals and the permission matrix. No worker runs here, so jobs stay queued.

mod common;
#[path = "web_hubs/members.rs"]
mod members;
#[path = "web_hubs/sync.rs"]
mod sync;
#[path = "common/web.rs"]
mod web;
#[path = "web_hubs/wizard.rs"]
mod wizard;

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
