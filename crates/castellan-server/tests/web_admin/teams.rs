//! The teams pages: making a self-managed team, its members, giving and taking hubs, the
//! errors shown on the forms, a team the identity provider keeps shown read-only, and the pages
//! refused to people without an admin role.

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use serde_json::json;

use super::common::TestApp;
use super::web::Browser;
use super::{assert_redirect, assert_status};

#[tokio::test]
async fn teams_members_and_hubs_on_the_web() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let ursula = app
        .person(&owner.token, "ursula@example.com", WorkspaceRole::User)
        .await;
    let acc = app
        .post(
            "/api/v1/accounts",
            &owner.token,
            json!({ "label": "Bot", "username": "admin", "password": "adminpass" }),
        )
        .await
        .ok()
        .str("id");
    let hub = app
        .post(
            "/api/v1/hubs",
            &owner.token,
            json!({ "app": "matrix-synapse", "label": "Chat", "base_url": "http://127.0.0.1:9", "automation_account_id": acc }),
        )
        .await
        .ok()
        .str("id");
    let mut b = Browser::with_session(&app, &owner.email).await;
    assert!(b.get("/teams").await.text().contains("No teams yet."));
    let r = b.post("/teams", &[("name", "  ")]).await;
    assert_status(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"team-name-error\""));
    let r = b.post("/teams", &[("name", "Support")]).await;
    assert_status(&r, StatusCode::SEE_OTHER);
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("/teams/") && to.ends_with("?done=created"),
        "{to}"
    );
    let team = to.split('?').next().unwrap().to_owned();
    let r = b.post("/teams", &[("name", "SUPPORT")]).await;
    assert_status(&r, StatusCode::CONFLICT);
    assert!(r.text().contains("id=\"team-name-error\""));

    // Members: Ursula is added, shown, and then the team is given the hub.
    let r = b
        .post(
            &format!("{team}/members"),
            &[("person_id", &ursula.person_id)],
        )
        .await;
    assert_redirect(&r, &format!("{team}?done=members"));
    let html = b.get(&team).await.text();
    assert!(html.contains("ursula@example.com"), "{html}");
    let r = b
        .post(
            &format!("{team}/hubs"),
            &[("hub_id", &hub), ("app_role", "nope")],
        )
        .await;
    assert_status(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"give-role-error\""), "{}", r.text());
    let r = b
        .post(
            &format!("{team}/hubs"),
            &[("hub_id", &hub), ("app_role", "admin")],
        )
        .await;
    assert_redirect(&r, &format!("{team}?done=hubs"));
    let html = b.get(&team).await.text();
    assert!(
        html.contains(">Chat<") && html.contains(">admin<"),
        "{html}"
    );
    let id = team.trim_start_matches("/teams/");
    let held = app
        .get(&format!("/api/v1/hubs/{hub}/teams"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(held[0]["team_id"], id, "{held}");
    let r = b.post(&format!("{team}/hubs/{hub}/revoke"), &[]).await;
    assert_redirect(&r, &format!("{team}?done=hubs"));
    let r = b
        .post(&format!("{team}/members/{}/remove", ursula.person_id), &[])
        .await;
    assert_redirect(&r, &format!("{team}?done=members"));
    let html = b.get(&team).await.text();
    assert!(
        html.contains("No members yet.") && html.contains("holds no hub"),
        "{html}"
    );
    let view = app
        .get(&format!("/api/v1/teams/{id}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(view["members"], json!([]), "{view}");

    // A team the identity provider keeps: shown read-only; a change is refused on the page.
    let scim = app
        .post(
            "/api/v1/scim/tokens",
            &owner.token,
            json!({ "name": "okta" }),
        )
        .await
        .ok()
        .str("secret");
    let group = app
        .post(
            "/scim/v2/Groups",
            &scim,
            json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "From Okta", "members": [{ "value": ursula.person_id }] }),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text());
    let gid = group.json()["id"].as_str().unwrap().to_owned();
    let html = b.get(&format!("/teams/{gid}")).await.text();
    assert!(html.contains("kept by the identity provider") && !html.contains("id=\"member-add\""));
    assert!(html.contains("ursula@example.com"));
    let r = b
        .post(
            &format!("/teams/{gid}/members/{}/remove", ursula.person_id),
            &[],
        )
        .await;
    assert_status(&r, StatusCode::FORBIDDEN);
    assert!(r.text().contains("change the group there"), "{}", r.text());

    // A user is refused; an unknown id is 404.
    let mut u = Browser::with_session(&app, &ursula.email).await;
    assert_status(&u.get("/teams").await, StatusCode::FORBIDDEN);
    assert_status(
        &u.post("/teams", &[("name", "Mine")]).await,
        StatusCode::FORBIDDEN,
    );
    assert_status(&b.get("/teams/not-a-uuid").await, StatusCode::NOT_FOUND);
}
