//! The request sequences Okta and Microsoft Entra ID send to a SCIM 2.0 service provider for a
//! user's create, update and deactivation, replayed against the real `castellan serve` with
//! Castellan's state asserted after each (issue 15). The bodies follow the vendors' published
//! guides:
//! - Okta, "SCIM 2.0 protocol reference" (developer.okta.com/docs/api/openapi/okta-scim/guides/
//!   scim-20): the `userName eq` lookup with `startIndex=1&count=100`, the create with `locale`,
//!   `groups: []` and a `password` (sent when password sync is on), the profile PUT, and the
//!   path-less `replace` of `active` to deactivate and reactivate.
//! - Microsoft Entra ID, "Tutorial: Develop and plan provisioning for a SCIM endpoint" (request
//!   and response examples, learn.microsoft.com/entra/identity/app-provisioning/
//!   use-scim-to-provision-users-and-groups): a `userName` that is not the email, the enterprise
//!   extension in `schemas`, `roles: []`, `Replace` with paths, the multi-valued update
//!   (`emails[type eq "work"].value` with `name.familyName`), the `userName` update, the
//!   deactivation and the DELETE.

mod common;

#[path = "common/scim.rs"]
mod scim;

use reqwest::{Method, StatusCode};
use scim::*;
use serde_json::{json, Value};

fn patch(ops: Value) -> Option<Value> {
    Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": ops }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_create_update_deactivate_reactivate() {
    let s = Scim::start().await;
    // Okta looks the user up first.
    let r = s.filter("userName eq \"test.user@okta.local\"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 0);
    let before = s.counts().await;
    let r = s
        .scim(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": [USER_SCHEMA],
                "userName": "test.user@okta.local",
                "name": { "givenName": "Test", "familyName": "User" },
                "emails": [{ "primary": true, "value": "test.user@okta.local", "type": "work" }],
                "displayName": "Test User",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "groups": [],
                "password": "1mz050nq",
                "active": true
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(!r.body.to_string().contains("1mz050nq"), "no password back");
    let p = s.person(&id).await;
    assert_eq!(p["email"], "test.user@okta.local");
    assert_eq!(p["name"], "Test User");
    assert_eq!(p["status"], "invited");
    assert_eq!(p["role"], "user");
    assert_eq!(p["external_id"], "00ujl29u0le5T6Aj10h7");
    let after = s.counts().await;
    assert_eq!(after.0, before.0 + 1, "one person");
    // The lookup finds it now; the GET by id too.
    let r = s.filter("userName eq \"test.user@okta.local\"").await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    let path = format!("/Users/{id}");
    let r = s.scim(Method::GET, &path, None).await;
    assert_eq!(r.body["name"]["givenName"], "Test");
    assert_eq!(r.body["active"], true);

    // A profile push: PUT of the whole user, a new family name.
    let r = s
        .scim(
            Method::PUT,
            &path,
            Some(json!({
                "schemas": [USER_SCHEMA],
                "id": id,
                "userName": "test.user@okta.local",
                "name": { "givenName": "Test", "familyName": "Userson" },
                "emails": [{ "primary": true, "value": "test.user@okta.local", "type": "work" }],
                "displayName": "Test Userson",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "groups": [],
                "active": true
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(s.person(&id).await["name"], "Test Userson");

    // Deactivation, then reactivation: path-less replace of `active`.
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "replace", "value": { "active": false } }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(s.person(&id).await["status"], "deactivated");
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "replace", "value": { "active": true } }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        s.person(&id).await["status"],
        "invited",
        "back to invited: they never set a password"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_create_update_disable_delete() {
    let s = Scim::start().await;
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1";
    let r = s.filter(&format!("userName eq \"{user_name}\"")).await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    let r = s
        .scim(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
                ],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": user_name,
                "active": true,
                "emails": [{
                    "primary": true,
                    "type": "work",
                    "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
                }],
                "meta": { "resourceType": "User" },
                "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" },
                "roles": []
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["userName"], user_name.to_lowercase());
    let id = r.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let p = s.person(&id).await;
    assert_eq!(
        p["email"],
        "test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
    );
    assert_eq!(p["name"], "givenName familyName");
    assert_eq!(p["external_id"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    // Entra looks it up by userName (any case) before each update.
    let r = s
        .filter(&format!("userName eq \"{}\"", user_name.to_uppercase()))
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);

    // Update [multi-valued properties]: the work email and the family name.
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com" },
                { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" }
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = s.person(&id).await;
    assert_eq!(p["email"], "updatedemail@microsoft.com");
    assert_eq!(p["name"], "givenName updatedFamilyName");
    assert_eq!(
        r.body["userName"],
        user_name.to_lowercase(),
        "the UPN stays"
    );
    assert_eq!(r.body["name"]["givenName"], "givenName");

    // Update [single-valued properties]: the userName.
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["userName"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
    assert_eq!(
        s.person(&id).await["email"],
        "updatedemail@microsoft.com",
        "the email stays"
    );

    // Disable, then DELETE.
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "Replace", "path": "active", "value": false }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(s.person(&id).await["status"], "deactivated");
    let r = s.scim(Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // Gone for SCIM (RFC 7644 §3.6), kept and deactivated in Castellan.
    let r = s.scim(Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(s.person(&id).await["status"], "deactivated");
}
