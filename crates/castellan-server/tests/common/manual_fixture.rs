//! Manual hubs for router tests: a manual monday.com hub with one open task (no worker runs in
//! router tests, so the task is opened through the manual connector itself, as a job of the
//! bot would), and a sender that posts a roster as `text/csv`. Include it with
//! `#[path = "common/manual_fixture.rs"] mod manual_fixture;` next to `mod common;`.
#![allow(dead_code)]

use axum::http::header;
use castellan_core::activity::Actor;
use castellan_core::connector::{Connector, ConnectorContext, Invitation};
use castellan_core::service::ManualConnector;
use serde_json::{json, Value};

use super::common::{Resp, TestApp};

/// Connects, as `owner`, a manual hub on monday.com (`Manual hub {n}`) whose app admin is `admin`
/// (an active person with a role that may work on tasks), and opens one invitation task
/// (for `newcomer{n}@example.com`). Returns (hub id, task id).
pub async fn manual_hub_with_task(
    app: &TestApp,
    owner: &str,
    n: usize,
    admin: &str,
) -> (String, String) {
    let acc = app
        .post(
            "/api/v1/accounts",
            owner,
            json!({ "label": format!("monday.com admin {n}"), "app": "monday", "username": "it@example.com", "password": "adminpass" }),
        )
        .await
        .ok()
        .str("id");
    let hub = app
        .post(
            "/api/v1/hubs",
            owner,
            json!({ "app": "monday", "label": format!("Manual hub {n}"), "connector": "manual", "automation_account_id": acc, "settings": { "app_admin": admin } }),
        )
        .await
        .ok()
        .str("id");
    let monday = app
        .svc
        .catalog()
        .get(&Actor::system("router test").permit().unwrap(), "monday")
        .await
        .unwrap();
    let c = ManualConnector::new(app.svc.clone(), &monday);
    let mut ctx = ConnectorContext::new("https://monday.com", "", String::new().into());
    ctx.hub_id = Some(hub.parse().unwrap());
    ctx.settings.insert("app_admin".into(), admin.to_owned());
    let s = c.login(&ctx).await.unwrap();
    let inv = Invitation {
        email: format!("newcomer{n}@example.com"),
        username: None,
        name: None,
        role: "member".into(),
    };
    c.invite(&ctx, &s, &inv).await.unwrap();
    let tasks = app
        .get(&format!("/api/v1/hubs/{hub}/tasks"), owner)
        .await
        .ok()
        .json();
    let task = tasks[0]["id"].as_str().expect("a task").to_owned();
    (hub, task)
}

/// Sends one call as `token`: a JSON string body as `text/csv` (a roster upload), any other
/// body as JSON.
pub async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Resp {
    match body {
        Some(Value::String(csv)) => {
            let auth = format!("Bearer {token}");
            app.raw(
                method,
                path,
                &[
                    (header::AUTHORIZATION, auth.as_str()),
                    (header::CONTENT_TYPE, "text/csv"),
                ],
                csv.into_bytes(),
            )
            .await
        }
        body => app.call(method, path, Some(token), body).await,
    }
}
