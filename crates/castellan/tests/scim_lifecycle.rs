//! The identity provider drives a real Matrix Synapse through Castellan (issue 15): SCIM Users
//! and a SCIM Group become people and a team; the team granted the hub makes the bot invite its
//! members with the team's role; moving a member to another group changes their role; a SCIM
//! deactivation removes the person from the app, a reactivation brings them back; and a mass
//! deactivation (30% of the hub's members) halts at the safeguard until an admin confirms.
//!
//! The Synapse is a dedicated small one (fresh for this run), so the share of members is known.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;

use hub_fixture::{HubStory, FAST_BOT};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use synapse_common::{tag, Synapse};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// One call to the running server with a bearer token; asserts the status class is 2xx.
async fn call(
    story: &HubStory,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut rb = reqwest::Client::new()
        .request(method.clone(), format!("{}{path}", story.server.url))
        .bearer_auth(token);
    if let Some(b) = body {
        rb = rb
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    if status == StatusCode::NO_CONTENT || text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

fn active_patch(active: bool) -> Option<Value> {
    Some(
        json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": active } }] }),
    )
}

/// Whether the Synapse user `id` (`@name:server`) is deactivated (a deactivation drops the
/// user's email from Synapse, so users are looked up by id).
async fn deactivated(syn: &Synapse, id: &str) -> bool {
    syn.user(id).await.expect("in Synapse")["deactivated"] == true
}

/// Restarts the server with `workers` bot workers.
fn restart_with_workers(story: &mut HubStory, workers: &str) {
    for (k, v) in &mut story.env {
        if k == "CASTELLAN_WORKERS" {
            *v = workers.to_owned();
        }
    }
    story.restart();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_groups_drive_a_synapse_hub_and_a_mass_deactivation_halts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = format!("scim-{}", tag());
    let syn = Synapse::ensure(&dir, port).await;
    let _stop = synapse_common::StopOnDrop(dir.clone());
    let mut story = HubStory::connect(&syn, &syn.base, FAST_BOT, &[]).await;
    let t = story.t.clone();
    let owner = story.cli.token();
    let scim = call(
        &story,
        &owner,
        Method::POST,
        "/api/v1/scim/tokens",
        Some(json!({ "name": "okta" })),
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let hub = story.cli.json(&["hub", "show", &story.label])["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The identity provider creates ten users and pushes a group of them.
    let mut users = vec![];
    for i in 0..10 {
        let email = format!("scim{i}_{t}@example.com");
        let u = call(
            &story,
            &scim,
            Method::POST,
            "/scim/v2/Users",
            Some(json!({ "schemas": [USER], "userName": email, "name": { "givenName": "P", "familyName": format!("{i}") },
                "emails": [{ "value": email, "primary": true, "type": "work" }], "active": true })),
        )
        .await;
        users.push((u["id"].as_str().unwrap().to_owned(), email));
    }
    let members: Vec<Value> = users.iter().map(|(id, _)| json!({ "value": id })).collect();
    let eng = call(
        &story,
        &scim,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({ "schemas": [GROUP], "displayName": format!("Engineering {t}"), "members": members })),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An admin gives the team the hub (with the CLI): the bot invites every member with the
    // team's role.
    story
        .cli
        .ok(&["teams", "grant", &eng, &story.label, "--app-role", "user"]);
    let held = story
        .cli
        .json(&["teams", "hubs", &format!("engineering {t}")]);
    assert_eq!(held[0]["hub_id"], hub.as_str(), "{held}");
    story.wait_idle();
    // Each user's Synapse id, by index (a deactivation drops the email from Synapse).
    let mut mx = vec![];
    for (_, email) in &users {
        let u = syn.user_by_email(email).await.expect("invited");
        assert_eq!(
            (u["deactivated"].as_bool(), u["admin"].as_bool()),
            (Some(false), Some(false)),
            "{u}"
        );
        mx.push(u["name"].as_str().unwrap().to_owned());
    }

    // Moved between groups: a group granted the hub as `admin` takes the first user, who leaves
    // the first group; the bot changes their role.
    let admins = call(
        &story,
        &scim,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({ "schemas": [GROUP], "displayName": format!("Admins {t}"), "members": [{ "value": users[0].0 }] })),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &story,
        &owner,
        Method::PUT,
        &format!("/api/v1/hubs/{hub}/teams/{admins}"),
        Some(json!({ "app_role": "admin" })),
    )
    .await;
    call(
        &story,
        &scim,
        Method::PATCH,
        &format!("/scim/v2/Groups/{eng}"),
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "remove", "path": format!("members[value eq \"{}\"]", users[0].0) }] })),
    )
    .await;
    story.wait_idle();
    let u0 = syn.user(&mx[0]).await.unwrap();
    assert_eq!(
        (u0["deactivated"].as_bool(), u0["admin"].as_bool()),
        (Some(false), Some(true)),
        "{u0}"
    );

    // A SCIM deactivation removes the person from the app; a reactivation brings them back.
    call(
        &story,
        &scim,
        Method::PATCH,
        &format!("/scim/v2/Users/{}", users[1].0),
        active_patch(false),
    )
    .await;
    story.wait_idle();
    assert!(deactivated(&syn, &mx[1]).await);
    call(
        &story,
        &scim,
        Method::PATCH,
        &format!("/scim/v2/Users/{}", users[1].0),
        active_patch(true),
    )
    .await;
    story.wait_idle();
    assert!(
        !deactivated(&syn, &mx[1]).await,
        "reactivated through the team"
    );

    // A mass deactivation: 30% or more of the hub's active members at once (the bot is
    // stopped meanwhile, so one check plans them all) halts at the safeguard.
    let active = story
        .cli
        .json(&["hub", "members", &story.label])
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] != "deactivated")
        .count();
    let k = (active * 3).div_ceil(10);
    assert!(k <= 8, "{active} active members");
    restart_with_workers(&mut story, "0");
    let gone: Vec<(String, String)> = users[2..2 + k].to_vec();
    let gone_mx: Vec<String> = mx[2..2 + k].to_vec();
    for (id, _) in &gone {
        call(
            &story,
            &scim,
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            active_patch(false),
        )
        .await;
    }
    restart_with_workers(&mut story, "1");
    story.wait_idle();
    let h = story.cli.json(&["hub", "show", &story.label]);
    assert_eq!(h["status"], "requires_sync", "{h:#}");
    assert!(
        h["status_reason"].as_str().unwrap().contains("safeguard"),
        "{h:#}"
    );
    for (_, email) in &gone {
        assert!(
            !deactivated(&syn, email).await,
            "nobody is removed before the confirmation"
        );
    }
    // The admin confirms: the plan proceeds.
    story.cli.json(&["hub", "sync", &story.label, "--confirm"]);
    story.wait_idle();
    for id in &gone_mx {
        assert!(deactivated(&syn, id).await);
    }
    assert!(!deactivated(&syn, &mx[9]).await);
}
