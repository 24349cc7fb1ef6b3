//! Refusals around hubs and access: an automation account of another app, admins granting
//! themselves vault access or cutting off those above them, and a member matched to a
//! deactivated person.

use axum::http::StatusCode;
use castellan_core::model::WorkspaceRole;
use serde_json::json;

use super::claimed;
use super::common::{Resp, Session, TestApp};

#[tokio::test]
async fn a_hub_refuses_an_automation_account_of_another_app() {
    let (app, owner) = claimed().await;
    let slack = app
        .post(
            "/api/v1/accounts",
            &owner.token,
            json!({ "label": "Slack admin", "app": "slack", "username": "a@example.com", "password": "pw-1234567890" }),
        )
        .await
        .ok()
        .str("id");
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["is for Slack, not Matrix Synapse"],
        app.post(
            "/api/v1/hubs",
            &owner.token,
            json!({ "app": "matrix-synapse", "label": "Matrix", "base_url": "http://127.0.0.1:9", "automation_account_id": slack }),
        )
    );
    // Switching a hub to such an account is refused too.
    let hub = synapse_hub(&app, &owner).await;
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["is for Slack"],
        app.patch(
            &format!("/api/v1/hubs/{hub}"),
            &owner.token,
            json!({ "automation_account_id": slack }),
        )
    );
}

#[tokio::test]
async fn admins_cannot_grant_themselves_vault_access_or_cut_off_those_above_them() {
    let (app, owner) = claimed().await;
    let vault = app.default_vault(&owner.token).await;
    let admin = app
        .person(&owner.token, "admin@example.com", WorkspaceRole::Admin)
        .await;
    let user = app
        .person(&owner.token, "user@example.com", WorkspaceRole::User)
        .await;
    let owner_id = app.get("/api/v1/me", &owner.token).await.ok().str("id");
    app.warm_up(&admin.token).await;
    let put = |who: &str| format!("/api/v1/vaults/{vault}/access/{who}");
    refused_without_writes!(
        app,
        owner,
        StatusCode::FORBIDDEN,
        &["your own vault access"],
        app.put(
            &put(&admin.person_id),
            &admin.token,
            json!({ "role": "owner" })
        )
    );
    refused_without_writes!(
        app,
        owner,
        StatusCode::FORBIDDEN,
        &["may not change the vault access of a `owner`"],
        app.delete(&put(&owner_id), &admin.token)
    );
    // Admins still manage the vault access of users.
    let r = app
        .put(
            &put(&user.person_id),
            &admin.token,
            json!({ "role": "collaborator" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn a_member_cannot_be_matched_to_a_deactivated_person() {
    let (app, owner) = claimed().await;
    let hub = synapse_hub(&app, &owner).await;
    app.seed_hub_member(&hub, "@gone:localhost").await;
    let gone = app
        .person(&owner.token, "gone@example.com", WorkspaceRole::User)
        .await;
    app.patch(
        &format!("/api/v1/people/{}", gone.person_id),
        &owner.token,
        json!({ "status": "deactivated" }),
    )
    .await
    .ok();
    refused_without_writes!(
        app,
        owner,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["is deactivated"],
        app.post(
            &format!("/api/v1/hubs/{hub}/members/%40gone%3Alocalhost"),
            &owner.token,
            json!({ "action": "match", "person_id": gone.person_id }),
        )
    );
}

/// A Synapse hub "Matrix" (at a closed port: no worker runs here) with its automation account
/// "Synapse bot"; returns the hub id.
async fn synapse_hub(app: &TestApp, owner: &Session) -> String {
    let acc = app
        .post(
            "/api/v1/accounts",
            &owner.token,
            json!({ "label": "Synapse bot", "app": "matrix-synapse", "username": "bot", "password": "pw-1234567890" }),
        )
        .await
        .ok()
        .str("id");
    app.post(
        "/api/v1/hubs",
        &owner.token,
        json!({ "app": "matrix-synapse", "label": "Matrix", "base_url": "http://127.0.0.1:9", "automation_account_id": acc }),
    )
    .await
    .ok()
    .str("id")
}
