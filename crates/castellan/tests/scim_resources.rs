//! Roles on resources through the SCIM connector on a real SCIM 2.0 service provider
//! (`scim2-server`, PyPI, shared harness), as a Notion hub (catalog `connector = "scim"`) whose
//! Groups are resources (`roles_from = none`): a share makes the person a member of a Group,
//! narrowing the share takes them out, a revoke deactivates them, and the next check finds no
//! drift. The same pipeline as Redmine's projects, on another connector.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;

use castellan_conformance::harness::{start_app, AdminApi};
use hub_fixture::{assert_no_drift, wait_idle};
use reqwest::Method;
use serde_json::{json, Value};

/// The port `scripts/start-scim.sh` serves on in the tests.
const PORT: u16 = 18082;

/// The SCIM members of the Group `id`, by user id.
async fn group_members(api: &AdminApi, id: &str) -> Vec<String> {
    let g = api.ok(Method::GET, &format!("/Groups/{id}"), None).await;
    let members = g["members"].as_array().cloned().unwrap_or_default();
    members
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect()
}

/// The SCIM user whose email is `email`.
async fn user_with(api: &AdminApi, email: &str) -> Value {
    let all = api.ok(Method::GET, "/Users?count=1000", None).await;
    let all = all["Resources"].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .find(|u| u["emails"].to_string().contains(email))
        .unwrap_or_else(|| panic!("no SCIM user with {email}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_puts_the_person_in_a_scim_group_and_narrowing_takes_them_out() {
    let app = start_app("scim", PORT);
    let base = format!("{}/v2", app.base_url);
    let token = std::fs::read_to_string(app.dir.join("token")).expect("token");
    let token = token.trim().to_owned();
    let api = AdminApi::new(&base).with_bearer(&token);
    let t = synapse_common::tag();
    let group = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": format!("Designers {t}") });
    let group = api.ok(Method::POST, "/Groups", Some(group)).await;
    let gid = group["id"].as_str().unwrap().to_owned();

    let tmp = tempfile::tempdir().unwrap();
    let (_server, cli, ana) = hub_fixture::story_workspace(tmp.path(), "Ana", &t);
    // The token goes in through a file, never on the command line.
    let token_file = tmp.path().join("scim-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let secret = format!("api_token={}", token_file.display());
    let extra = ["--secret-field-file", secret.as_str()];
    hub_fixture::add_app_account(
        &cli,
        "SCIM bot",
        "notion",
        "scim-bot",
        "unused-password",
        "placeholder",
        &extra,
    );
    let label = format!("Notion {t}");
    let settings = [
        "--setting",
        "roles_from=none",
        "--setting",
        "deactivate_with=active_false",
    ];
    hub_fixture::connect_healthy(&cli, "notion", &label, "SCIM bot", &base, &settings);
    let report = &cli.json(&["hub", "show", &label])["last_report"];
    let caps = report["capabilities"].as_array().unwrap();
    assert!(caps.contains(&json!("resource_roles")), "{report:#}");
    assert!(!caps.contains(&json!("list_roles")), "{report:#}");

    // A share with the Group as a resource: the person is made and put in the Group.
    cli.ok(&[
        "hub",
        "share",
        &label,
        &ana,
        "--resource",
        &format!("{gid}=member"),
    ]);
    wait_idle(&cli, &label);
    let user = user_with(&api, &ana).await;
    let uid = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["active"], true);
    assert_eq!(group_members(&api, &gid).await, [uid]);
    assert_no_drift(&cli, &label);

    // Narrowing the share takes them out of the Group; they stay a member of the app.
    cli.ok(&["hub", "share", &label, &ana, "--no-resources"]);
    wait_idle(&cli, &label);
    assert!(group_members(&api, &gid).await.is_empty());
    assert_eq!(user_with(&api, &ana).await["active"], true);
    assert_no_drift(&cli, &label);

    // Revoke: deactivated; no drift.
    cli.ok(&["hub", "revoke", &label, &ana]);
    wait_idle(&cli, &label);
    assert_eq!(user_with(&api, &ana).await["active"], false);
    assert_no_drift(&cli, &label);
}
