//! The vaults page and their access, the activity log's filter, paging and CSV export (formula
//! cells neutralised), and the admin pages refused to people without an admin role.

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;

use super::common::TestApp;
use super::web::Browser;
use super::{assert_redirect, assert_status};

#[tokio::test]
async fn vaults_create_and_grant_access() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let user = app
        .person(&owner.token, "ursula@example.com", WorkspaceRole::User)
        .await;
    let mut b = Browser::with_session(&app, &owner.email).await;
    let html = b.get("/vaults").await.text();
    assert!(
        html.contains("Shared") && html.contains(">cloud<"),
        "{html}"
    );

    let r = b
        .post("/vaults", &[("name", ""), ("description", "kept text")])
        .await;
    assert_status(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"vault-name-error\""));
    assert!(r.text().contains("value=\"kept text\""));

    let r = b
        .post(
            "/vaults",
            &[("name", "Marketing"), ("description", "Social apps")],
        )
        .await;
    assert_status(&r, StatusCode::SEE_OTHER);
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("/vaults/") && to.ends_with("?done=created"),
        "{to}"
    );
    let vault_path = to.split('?').next().unwrap().to_owned();
    let html = b.get(&to).await.text();
    assert!(html.contains("Vault Marketing") && html.contains("Social apps"));
    assert!(
        html.contains("owner@example.com"),
        "the creator is its owner"
    );
    let r = b
        .post("/vaults", &[("name", "marketing"), ("description", "")])
        .await;
    assert_status(&r, StatusCode::CONFLICT);
    assert!(r.text().contains("id=\"vault-name-error\""));

    let r = b
        .post(
            &format!("{vault_path}/access"),
            &[("person_id", &user.person_id), ("role", "manager")],
        )
        .await;
    assert_redirect(&r, &format!("{vault_path}?done=access"));
    let html = b.get(&vault_path).await.text();
    assert!(
        html.contains("ursula@example.com") && html.contains(">manager<"),
        "{html}"
    );
    // Ursula now reaches the vault through the API.
    let vaults = app.get("/api/v1/vaults", &user.token).await.ok().json();
    assert!(vaults
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == "Marketing"));
    let r = b
        .post(
            &format!("{vault_path}/access"),
            &[("person_id", &user.person_id), ("role", "none")],
        )
        .await;
    assert_redirect(&r, &format!("{vault_path}?done=access"));
    let vaults = app.get("/api/v1/vaults", &user.token).await.ok().json();
    assert!(!vaults
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == "Marketing"));

    // Ursula (a user) is refused the vault pages and forms.
    let mut u = Browser::with_session(&app, &user.email).await;
    assert_status(&u.get(&vault_path).await, StatusCode::FORBIDDEN);
    let r = u.post("/vaults", &[("name", "Mine")]).await;
    assert_status(&r, StatusCode::FORBIDDEN);
    assert_status(&b.get("/vaults/not-a-uuid").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn activity_filter_paging_and_csv_export() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let mut b = Browser::with_session(&app, &owner.email).await;
    // A vault name that a spreadsheet would run as a formula.
    let evil = "=HYPERLINK(\"http://evil.test\",\"x\")";
    let r = b.post("/vaults", &[("name", evil)]).await;
    assert_status(&r, StatusCode::SEE_OTHER);
    let r = b.post("/vaults", &[("name", "+plain")]).await;
    assert_status(&r, StatusCode::SEE_OTHER);

    let page = b.get("/activity?action=vault.").await;
    assert_status(&page, StatusCode::OK);
    let html = page.text();
    assert!(html
        .contains("id=\"activity-filter-action\" name=\"action\" type=\"text\" value=\"vault.\""));
    assert!(html.contains("vault.create"));
    assert!(!html.contains("workspace.claim"), "filtered out: {html}");
    assert!(
        html.contains("href=\"/activity.csv?action=vault.\""),
        "{html}"
    );
    let all = b.get("/activity").await.text();
    assert!(all.contains("workspace.claim") && all.contains("vault.create"));
    assert!(all.contains("href=\"/activity.csv\""));

    // Paging: only events before a sequence number.
    let first = app
        .get("/api/v1/activity?action=vault.create", &owner.token)
        .await
        .ok()
        .json();
    let newest = first[0]["seq"].as_i64().unwrap();
    let older = b
        .get(&format!("/activity?action=vault.&before={newest}"))
        .await
        .text();
    assert!(older.contains("vault.create"));
    assert!(!older.contains("+plain"), "the newest is on the newer page");

    // A bad date is a field error.
    let r = b.get("/activity?since=2024-13-45").await;
    assert_status(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"activity-filter-since-error\""));
    let future = b.get("/activity?since=2999-01-01").await.text();
    assert!(future.contains("No events match."));
    let r = b.get("/activity?until=2000-01-01&action=vault.").await;
    assert!(r.text().contains("No events match."));

    // The CSV: same filters, an attachment, formula cells neutralised.
    let csv = b.get("/activity.csv?action=vault.").await;
    assert_status(&csv, StatusCode::OK);
    assert!(csv.content_type().starts_with("text/csv"));
    let cd = csv.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(cd.starts_with("attachment;"), "{cd}");
    let text = csv.text();
    assert!(text.starts_with("seq,at,"), "{text}");
    assert!(!text.contains("workspace.claim"));
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let labels: Vec<String> = rows
        .records()
        .map(|r| r.expect("csv row")[9].to_owned())
        .collect();
    assert!(labels.contains(&format!("'{evil}")), "{labels:?}");
    assert!(labels.contains(&"'+plain".to_owned()), "{labels:?}");
    assert!(!labels
        .iter()
        .any(|l| l.starts_with('=') || l.starts_with('+')));
    // The API's export shares the writer.
    let api = app
        .get("/api/v1/activity/export.csv?action=vault.", &owner.token)
        .await
        .ok()
        .text();
    assert!(
        api.contains("'=HYPERLINK") && api.contains("'+plain"),
        "{api}"
    );
    // The export itself is recorded.
    let exports = app
        .get("/api/v1/activity?action=activity.export", &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(exports.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn admin_pages_follow_the_matrix() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    for role in [
        WorkspaceRole::SuperAdmin,
        WorkspaceRole::Admin,
        WorkspaceRole::User,
        WorkspaceRole::LoginOnly,
        WorkspaceRole::Guest,
    ] {
        let email = format!("{}@example.com", role.as_str().replace('_', "-"));
        let s = app.person(&owner.token, &email, role).await;
        let mut b = Browser::with_session(&app, &s.email).await;
        let admin = matches!(role, WorkspaceRole::SuperAdmin | WorkspaceRole::Admin);
        for path in ["/people", "/teams", "/vaults", "/activity", "/activity.csv"] {
            let r = b.get(path).await;
            let want = if admin {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(r.status, want, "{role:?} {path}: {}", r.text());
        }
        // Everyone reaches their own two-step page.
        assert_status(&b.get("/account-security").await, StatusCode::OK);
    }
    // Signed out: to the sign-in page.
    let mut anon = Browser::new(&app);
    let r = anon.get("/people").await;
    assert_redirect(&r, "/sign-in?next=%2Fpeople");
}
