//! SCIM Groups against the real `castellan serve`: the request sequences Okta and Microsoft
//! Entra ID send for group push and membership (issue 15), with the team's state asserted
//! after each, and the refusals that write nothing. The bodies follow the vendors' guides:
//! - Okta, "SCIM 2.0 protocol reference", Group operations
//!   (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20): the `displayName eq`
//!   lookup, the create with `members: []`, the path-less `replace` of `displayName` that sends
//!   `id` along, `add` of `members` with `display`, `remove` by `members[value eq "…"]`, and
//!   DELETE.
//! - Microsoft Entra ID, "Tutorial: Develop and plan provisioning for a SCIM endpoint", Group
//!   operations (learn.microsoft.com/entra/identity/app-provisioning/
//!   use-scim-to-provision-users-and-groups): the create with `externalId` and Microsoft's extra
//!   schema URI, reads with `excludedAttributes=members`, `Replace` of `displayName` by path,
//!   `Add` and `Remove` of `members` with `value` arrays (`"$ref": null`), and DELETE.
//!
//! And the activity log of a lifecycle (issue 15): each event a SCIM request writes names it.

mod common;

#[path = "common/scim.rs"]
mod scim;

use reqwest::{Method, StatusCode};
use scim::*;
use serde_json::{json, Value};

fn patch(ops: Value) -> Option<Value> {
    Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": ops }))
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|x| x["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

async fn user(s: &Scim, email: &str) -> String {
    let u = s
        .create(json!({
            "schemas": [USER_SCHEMA],
            "userName": email,
            "name": { "givenName": "Test", "familyName": "User" },
            "emails": [{ "primary": true, "value": email, "type": "work" }],
            "active": true,
        }))
        .await;
    u["id"].as_str().unwrap().to_owned()
}

async fn group(s: &Scim, id: &str) -> Value {
    let r = s.scim(Method::GET, &format!("/Groups/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_group_push_and_membership() {
    let s = Scim::start().await;
    let ana = user(&s, "ana@okta.local").await;
    let bo = user(&s, "bo@okta.local").await;
    let q = "displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100";
    let r = s
        .scim(Method::GET, &format!("/Groups?filter={q}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 0);
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": [] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.ctype, SCIM_JSON);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert!(r.body["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/scim/v2/Groups/{id}")));
    let r = s
        .scim(Method::GET, &format!("/Groups?filter={q}"), None)
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());

    // Rename: a path-less replace that sends the id along.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([{ "op": "replace", "value": { "id": id, "displayName": "Test SCIMv2 (renamed)" } }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Test SCIMv2 (renamed)");

    // Members added with their display names, then one removed by a value filter.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([{ "op": "add", "path": "members", "value": [
                { "value": ana, "display": "ana@okta.local" },
                { "value": bo, "display": "bo@okta.local" },
            ] }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(member_ids(&r.body), sorted(vec![ana.clone(), bo.clone()]));
    assert_eq!(r.body["members"][0]["type"], "User");
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([{ "op": "remove", "path": format!("members[value eq \"{ana}\"]") }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(member_ids(&group(&s, &id).await), vec![bo.clone()]);
    // Removed again (Okta retries a removal): nothing to do, not an error.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([{ "op": "remove", "path": format!("members[value eq \"{ana}\"]") }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(member_ids(&r.body), vec![bo.clone()]);
    // A full replacement (PUT) as older integrations send it.
    let r = s
        .scim(
            Method::PUT,
            &format!("/Groups/{id}"),
            Some(
                json!({ "schemas": [GROUP_SCHEMA], "id": id, "displayName": "Test SCIMv2 (renamed)",
                "members": [{ "value": ana }] }),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(member_ids(&r.body), vec![ana.clone()]);
    // A member filter finds the group.
    let f = format!("members%5Bvalue%20eq%20%22{ana}%22%5D");
    let r = s
        .scim(Method::GET, &format!("/Groups?filter={f}"), None)
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);

    // The activity log says the identity provider did it.
    let r = s
        .call(
            Method::GET,
            "/api/v1/activity?action=team.&limit=100",
            &s.owner.clone(),
            None,
        )
        .await;
    let events = r.body.as_array().cloned().unwrap_or_default();
    assert!(events.len() >= 5, "{}", r.body);
    assert!(events
        .iter()
        .all(|e| e["details"]["source"] == "idp" || e["details"].to_string().contains("idp")));

    let r = s.scim(Method::DELETE, &format!("/Groups/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s.scim(Method::GET, &format!("/Groups/{id}"), None).await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_group_provisioning() {
    let s = Scim::start().await;
    let ana = user(&s, "ana@entra.local").await;
    let bo = user(&s, "bo@entra.local").await;
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": [GROUP_SCHEMA,
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "displayName",
                "meta": { "resourceType": "Group" },
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    let r = s
        .scim(
            Method::GET,
            &format!("/Groups/{id}?excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("members").is_none(), "{}", r.body);
    assert_eq!(r.body["displayName"], "displayName");
    let f = "externalId%20eq%20%228aa1a0c0-c4c3-4bc0-b4a5-2ef676900159%22";
    let r = s
        .scim(
            Method::GET,
            &format!("/Groups?excludedAttributes=members&filter={f}"),
            None,
        )
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    assert!(r.body["Resources"][0].get("members").is_none());

    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([{ "op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName" }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([{ "op": "Add", "path": "members", "value": [
                { "$ref": null, "value": ana },
                { "$ref": null, "value": bo },
            ] }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([{ "op": "Remove", "path": "members", "value": [{ "$ref": null, "value": ana }] }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let g = group(&s, &id).await;
    assert_eq!(member_ids(&g), vec![bo.clone()]);
    assert_eq!(
        g["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
    let r = s.scim(Method::DELETE, &format!("/Groups/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_groups_get_scim_errors_and_write_nothing() {
    let s = Scim::start().await;
    let ana = user(&s, "ana@bad.local").await;
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": [{ "value": ana }] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let before = s.counts().await;
    let version = r.body["meta"]["version"].as_str().unwrap().to_owned();
    let unknown = "0193a5f0-0000-7000-8000-000000000000";
    for (body, status, kind) in [
        (
            json!({ "schemas": [GROUP_SCHEMA], "displayName": "sales" }),
            StatusCode::CONFLICT,
            "uniqueness",
        ),
        (
            json!({ "schemas": [GROUP_SCHEMA] }),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            json!({ "schemas": [GROUP_SCHEMA], "displayName": 7 }),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            json!({ "schemas": [GROUP_SCHEMA], "displayName": "X", "members": [{ "value": unknown }] }),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            json!({ "schemas": [GROUP_SCHEMA], "displayName": "X", "members": [{ "value": "not-an-id" }] }),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            json!({ "schemas": [GROUP_SCHEMA], "displayName": "X", "members": [{ "value": id, "type": "Group" }] }),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
    ] {
        let r = s.scim(Method::POST, "/Groups", Some(body.clone())).await;
        assert_scim_error(&r, status, Some(kind));
        assert!(!r.body["detail"].as_str().unwrap().is_empty(), "{body}");
    }
    // A PATCH whose second operation fails writes nothing of the first.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([
                { "op": "replace", "path": "displayName", "value": "Renamed" },
                { "op": "add", "path": "members", "value": [{ "value": unknown }] },
            ])),
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([{ "op": "remove", "path": "members[value eq" }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    // A stale If-Match is 412.
    let r = s
        .scim_with(
            Method::PATCH,
            &format!("/Groups/{id}"),
            &[("if-match", "W/\"99\"")],
            patch(json!([{ "op": "replace", "path": "displayName", "value": "Renamed" }])),
        )
        .await;
    assert_scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    assert_eq!(s.counts().await, before, "refusals write nothing");
    let g = group(&s, &id).await;
    assert_eq!(g["displayName"], "Sales");
    assert_eq!(g["meta"]["version"], version.as_str());
    assert_eq!(member_ids(&g), vec![ana.clone()]);
    // A name too long is named by its SCIM attribute.
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": [GROUP_SCHEMA], "displayName": "x".repeat(300) })),
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("displayName:"),
        "{}",
        r.body
    );
    // A User the identity provider deletes leaves its groups, and cannot join one again.
    let r = s.scim(Method::DELETE, &format!("/Users/{ana}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(member_ids(&group(&s, &id).await), Vec::<String>::new());
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([{ "op": "add", "path": "members", "value": [{ "value": ana }] }])),
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    // Unknown ids are 404; API tokens do not open SCIM.
    let r = s
        .scim(Method::GET, &format!("/Groups/{unknown}"), None)
        .await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    let r = s
        .call(Method::GET, "/scim/v2/Groups", &s.owner.clone(), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// The events of the activity log whose action is `action` and whose target is `target`, with
/// their details parsed (newest first).
async fn events_of(s: &Scim, action: &str, target: &str) -> Vec<Value> {
    let owner = s.owner.clone();
    let r = s
        .call(
            Method::GET,
            &format!("/api/v1/activity?action={action}&target_id={target}&limit=1000"),
            &owner,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .map(|e| {
            let mut e = e.clone();
            e["details"] = serde_json::from_str(e["details"].as_str().unwrap()).unwrap();
            e
        })
        .collect()
}

/// Issue 15's lifecycle in the activity log: the create of a User, its deactivation and a
/// Group's new member each write events by `SCIM (okta)` that name the request that caused
/// them (`scim_request`: method and path, never the query or the body).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_names_the_scim_request_that_caused_it() {
    let s = Scim::start().await;
    let ana = user(&s, "ana@cause.local").await;
    let bo = user(&s, "bo@cause.local").await;
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{ana}?attributes=userName"),
            patch(json!([{ "op": "replace", "value": { "active": false } }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": [GROUP_SCHEMA], "displayName": "Cause", "members": [] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_owned();
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            patch(json!([{ "op": "add", "path": "members", "value": [{ "value": bo }] }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let request = |e: &Value| e["details"]["scim_request"].clone();
    let created = events_of(&s, "person.provision", &ana).await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["actor_name"], "SCIM (okta)");
    assert_eq!(
        request(&created[0]),
        json!({ "method": "POST", "path": "/scim/v2/Users" })
    );
    assert_eq!(created[0]["details"]["role"], "user", "the rest stays");
    let gone = events_of(&s, "person.deactivate", &ana).await;
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(
        request(&gone[0]),
        json!({ "method": "PATCH", "path": format!("/scim/v2/Users/{ana}") }),
        "no query"
    );
    assert_eq!(gone[0]["details"]["source"], "idp");
    let made = events_of(&s, "team.create", &gid).await;
    assert_eq!(
        request(&made[0]),
        json!({ "method": "POST", "path": "/scim/v2/Groups" })
    );
    let joined = events_of(&s, "team.update", &gid).await;
    assert_eq!(joined.len(), 1, "{joined:?}");
    assert_eq!(
        request(&joined[0]),
        json!({ "method": "PATCH", "path": format!("/scim/v2/Groups/{gid}") })
    );
    // An event of the API names no SCIM request.
    let owner = s.owner.clone();
    let r = s
        .call(
            Method::POST,
            "/api/v1/people",
            &owner,
            Some(json!({ "email": "cy@cause.local", "name": "Cy", "role": "user" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cy = r.body["person"]["id"].as_str().unwrap().to_owned();
    let invited = events_of(&s, "person.invite", &cy).await;
    assert!(
        invited[0]["details"].get("scim_request").is_none(),
        "{invited:?}"
    );
}

/// The labels of the accounts `token` can list.
async fn labels(s: &Scim, token: &str) -> Vec<String> {
    let r = s.call(Method::GET, "/api/v1/accounts", token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut out: Vec<String> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["label"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_reaches_the_vault_its_team_holds_while_a_member() {
    let s = Scim::start().await;
    let owner = s.owner.clone();
    let (ana, token) = s.active_person("ana@acme.io", "user").await;
    let vault = s
        .call(
            Method::POST,
            "/api/v1/vaults",
            &owner,
            Some(json!({ "name": "Ops" })),
        )
        .await;
    assert_eq!(vault.status, StatusCode::CREATED, "{}", vault.body);
    let vault = vault.body["id"].as_str().unwrap().to_owned();
    let acc = s
        .call(
            Method::POST,
            "/api/v1/accounts",
            &owner,
            Some(json!({ "label": "Ops Slack", "username": "ops@acme.io", "password": "a-long-password", "vault_id": vault })),
        )
        .await;
    assert_eq!(acc.status, StatusCode::CREATED, "{}", acc.body);
    assert!(labels(&s, &token).await.is_empty());

    // The identity provider pushes the group with Ana in it; an admin gives its team the vault.
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": [GROUP_SCHEMA], "displayName": "Ops", "members": [{ "value": ana }] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let group = r.body["id"].as_str().unwrap().to_owned();
    let r = s
        .call(
            Method::PUT,
            &format!("/api/v1/teams/{group}/shares/vault/{vault}"),
            &owner,
            Some(json!({ "role": "collaborator" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(labels(&s, &token).await, vec!["Ops Slack".to_owned()]);

    // Removed from the group, Ana loses the vault on her next request.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{group}"),
            patch(json!([{ "op": "remove", "path": format!("members[value eq \"{ana}\"]") }])),
        )
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    assert!(labels(&s, &token).await.is_empty());
    let r = s
        .call(
            Method::GET,
            "/api/v1/activity?action=share.grant",
            &owner,
            None,
        )
        .await;
    assert!(r.body.to_string().contains("share.grant"), "{}", r.body);
}
