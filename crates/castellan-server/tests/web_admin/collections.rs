//! Collections and team shares on the web and over the API: making a collection, adding
//! accounts, sharing it with a person and a vault with a team, what those people then reach
//! through `/api/v1/accounts`, the errors shown on the forms, and access ending at once.

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use serde_json::{json, Value};

use super::common::TestApp;
use super::web::Browser;
use super::{assert_redirect, assert_status};

/// The labels of the accounts `token` can list, sorted, with their item role.
async fn reachable(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let r = app.get("/api/v1/accounts", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v: Value = serde_json::from_str(&r.text()).unwrap();
    let mut out: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["label"].as_str().unwrap().to_owned(),
                a["my_role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pair(label: &str, role: &str) -> (String, String) {
    (label.to_owned(), role.to_owned())
}

#[tokio::test]
async fn collections_and_team_shares_on_the_web() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let ursula = app
        .person(&owner.token, "ursula@example.com", WorkspaceRole::User)
        .await;
    let vince = app
        .person(&owner.token, "vince@example.com", WorkspaceRole::User)
        .await;
    let vault = app
        .post("/api/v1/vaults", &owner.token, json!({ "name": "Ops" }))
        .await
        .ok()
        .str("id");
    let mut ids = vec![];
    for label in ["Slack", "Notion", "Figma"] {
        let body = json!({ "label": label, "username": "ops@example.com", "password": "a-long-password", "vault_id": if label == "Figma" { Value::Null } else { json!(vault) } });
        ids.push(
            app.post("/api/v1/accounts", &owner.token, body)
                .await
                .ok()
                .str("id"),
        );
    }
    let mut b = Browser::with_session(&app, &owner.email).await;

    // A collection with Figma, shared with Ursula as manager.
    assert!(b
        .get("/collections")
        .await
        .text()
        .contains("No collections yet."));
    let r = b.post("/collections", &[("name", "")]).await;
    assert_status(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"collection-name-error\""));
    let r = b.post("/collections", &[("name", "Launch")]).await;
    assert_status(&r, StatusCode::SEE_OTHER);
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    let page = to.split('?').next().unwrap().to_owned();
    let r = b
        .post(&format!("{page}/accounts"), &[("account_id", "x")])
        .await;
    assert_status(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let r = b
        .post(&format!("{page}/accounts"), &[("account_id", &ids[2])])
        .await;
    assert_redirect(&r, &format!("{page}?done=accounts"));
    assert!(b.get(&page).await.text().contains("Figma"));
    let r = b
        .post(
            &format!("{page}/access"),
            &[("grantee", ursula.person_id.as_str()), ("role", "manager")],
        )
        .await;
    assert_redirect(&r, &format!("{page}?done=access"));
    assert!(b.get(&page).await.text().contains("ursula@example.com"));
    assert_eq!(
        reachable(&app, &ursula.token).await,
        vec![pair("Figma", "manager")]
    );

    // A team with Ursula and Vince is given the Ops vault as collaborator.
    let team = app
        .post(
            "/api/v1/teams",
            &owner.token,
            json!({ "name": "Support", "members": [ursula.person_id, vince.person_id] }),
        )
        .await
        .ok()
        .str("id");
    let r = b
        .post(
            &format!("/teams/{team}/shares"),
            &[("target", "vault:nope"), ("role", "collaborator")],
        )
        .await;
    assert_status(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().contains("id=\"share-target-error\""),
        "{}",
        r.text()
    );
    let target = format!("vault:{vault}");
    let r = b
        .post(
            &format!("/teams/{team}/shares"),
            &[("target", target.as_str()), ("role", "collaborator")],
        )
        .await;
    assert_redirect(&r, &format!("/teams/{team}?done=shares"));
    assert!(b
        .get(&format!("/teams/{team}"))
        .await
        .text()
        .contains("vault Ops"));
    let shares = app
        .get(&format!("/api/v1/teams/{team}/shares"), &owner.token)
        .await;
    assert!(shares.text().contains(&vault), "{}", shares.text());
    assert_eq!(
        reachable(&app, &vince.token).await,
        vec![
            pair("Notion", "collaborator"),
            pair("Slack", "collaborator")
        ]
    );
    assert_eq!(
        reachable(&app, &ursula.token).await,
        vec![
            pair("Figma", "manager"),
            pair("Notion", "collaborator"),
            pair("Slack", "collaborator")
        ]
    );
    // A collaborator may not reveal a password.
    let r = app
        .post(
            &format!("/api/v1/accounts/{}/reveal", ids[0]),
            &vince.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    // Vince leaves the team: the vault is gone for him at once.
    let r = app
        .put(
            &format!("/api/v1/teams/{team}"),
            &owner.token,
            json!({ "name": "Support", "members": [ursula.person_id] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(reachable(&app, &vince.token).await.is_empty());
    let r = app
        .get(&format!("/api/v1/accounts/{}", ids[0]), &vince.token)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());

    // The team loses the vault on the web; the collection loses Figma over the API.
    let r = b
        .post(&format!("/teams/{team}/shares/vault/{vault}/remove"), &[])
        .await;
    assert_redirect(&r, &format!("/teams/{team}?done=shares"));
    let cid = page.rsplit('/').next().unwrap();
    let r = app
        .put(
            &format!("/api/v1/collections/{cid}"),
            &owner.token,
            json!({ "name": "Launch", "accounts": [] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(reachable(&app, &ursula.token).await.is_empty());

    // Bad input over the API: an unknown kind is no such path (404, as every bad path
    // parameter); a bad id or role is refused with the field named.
    let r = app
        .put(
            &format!("/api/v1/teams/{team}/shares/folder/{vault}"),
            &owner.token,
            json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(r.text().contains("folder"), "{}", r.text());
    for (path, body) in [
        (
            format!("/api/v1/teams/{team}/shares/vault/nope"),
            json!({ "role": "owner" }),
        ),
        (
            format!("/api/v1/teams/{team}/shares/vault/{vault}"),
            json!({ "role": "boss" }),
        ),
    ] {
        let r = app.put(&path, &owner.token, body).await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::BAD_REQUEST,
            "{path}: {} {}",
            r.status,
            r.text()
        );
    }
    let r = app
        .post(
            "/api/v1/collections",
            &owner.token,
            json!({ "name": "X", "accounts": ["00000000-0000-0000-0000-000000000000"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = app
        .post(
            "/api/v1/collections",
            &owner.token,
            json!({ "name": "launch" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    // People without an admin role get the 403 page.
    let mut u = Browser::with_session(&app, "ursula@example.com").await;
    assert_status(&u.get("/collections").await, StatusCode::FORBIDDEN);
}
