//! Castellan as a SCIM 2.0 service provider (issue 15, Users), end to end: the real
//! `castellan serve` on SQLite, called over HTTP the way Okta and Microsoft Entra ID call it.
//! Each test starts its own server on its own data directory; one runs the main story on
//! PostgreSQL (its own database, from `CASTELLAN_TEST_PG_URL` or the local default).

mod common;

#[path = "common/scim.rs"]
mod scim;

use reqwest::{Method, StatusCode};
use scim::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_each_kind_open_only_their_own_api() {
    let s = Scim::start().await;
    // The SCIM token on the API: refused.
    let r = s
        .call(Method::GET, "/api/v1/people", &s.scim.clone(), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("/scim/v2"));
    // The owner's API token on SCIM: 401 in SCIM's error schema.
    let r = s
        .call(Method::GET, "/scim/v2/Users", &s.owner.clone(), None)
        .await;
    assert_scim_error(&r, StatusCode::UNAUTHORIZED, None);
    // No token, a made-up token.
    let r = s.call(Method::GET, "/scim/v2/Users", "nope", None).await;
    assert_scim_error(&r, StatusCode::UNAUTHORIZED, None);
    // The SCIM token on SCIM: fine.
    let r = s.scim(Method::GET, "/Users", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.ctype.starts_with(SCIM_JSON));

    // A super admin may not create, list or revoke SCIM tokens.
    let (_, admin) = s.active_person("super@example.com", "super_admin").await;
    for (m, path) in [
        (Method::POST, "/api/v1/scim/tokens"),
        (Method::GET, "/api/v1/scim/tokens"),
    ] {
        let body = (m == Method::POST).then(|| json!({ "name": "mine" }));
        let r = s.call(m, path, &admin, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    // The owner lists SCIM tokens (not among personal tokens) and revokes one.
    let owner = s.owner.clone();
    let list = s
        .call(Method::GET, "/api/v1/scim/tokens", &owner, None)
        .await;
    let tokens = list.body.as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{}", list.body);
    assert!(tokens[0].get("secret").is_none(), "shown once only");
    let mine = s.call(Method::GET, "/api/v1/tokens", &owner, None).await;
    assert!(mine
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["name"] != "okta"));
    let id = tokens[0]["id"].as_str().unwrap();
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &owner,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not a personal token");
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/scim/tokens/{id}"),
            &owner,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = s.scim(Method::GET, "/Users", None).await;
    assert_scim_error(&r, StatusCode::UNAUTHORIZED, None);
    // Both actions are in the activity log.
    let log = s
        .call(Method::GET, "/api/v1/activity?limit=1000", &owner, None)
        .await;
    let text = log.body.to_string();
    assert!(text.contains("token.create") && text.contains("token.revoke"));
    assert!(!text.contains(&s.scim), "the secret is never logged");
    assert!(
        !s.server.logs().contains(&s.scim),
        "the secret is never logged"
    );
}

/// Revoked means revoked: the Owner's new password ends every token of theirs but the one
/// used, the identity provider's SCIM token too (one stolen session could have made it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_of_the_owner_ends_their_scim_tokens() {
    let s = Scim::start().await;
    let r = s.scim(Method::GET, "/Users", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let body = json!({
        "current_password": "owner-password-123",
        "new_password": "owner-password-456",
    });
    let r = s
        .call(
            Method::POST,
            "/api/v1/me/password",
            &s.owner.clone(),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = s.scim(Method::GET, "/Users", None).await;
    assert_scim_error(&r, StatusCode::UNAUTHORIZED, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_declares_what_is_implemented() {
    let s = Scim::start().await;
    let r = s.scim(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let c = &r.body;
    assert_eq!(c["patch"]["supported"], true);
    assert_eq!(c["filter"]["supported"], true);
    assert_eq!(c["filter"]["maxResults"], 200);
    assert_eq!(c["etag"]["supported"], true);
    for off in ["bulk", "sort", "changePassword"] {
        assert_eq!(c[off]["supported"], false, "{off}");
    }
    assert_eq!(c["authenticationSchemes"][0]["type"], "oauthbearertoken");
    let r = s.scim(Method::GET, "/ResourceTypes", None).await;
    assert_eq!(r.body["totalResults"], 2);
    assert_eq!(r.body["Resources"][0]["endpoint"], "/Users");
    assert_eq!(r.body["Resources"][1]["endpoint"], "/Groups");
    let r = s.scim(Method::GET, "/ResourceTypes/Group", None).await;
    assert_eq!(r.body["schema"], GROUP_SCHEMA);
    let r = s
        .scim(Method::GET, &format!("/Schemas/{GROUP_SCHEMA}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["attributes"][1]["name"], "members");
    let r = s.scim(Method::GET, "/ResourceTypes/User", None).await;
    assert_eq!(r.body["schema"], USER_SCHEMA);
    let r = s.scim(Method::GET, "/Schemas", None).await;
    assert_eq!(r.body["Resources"][0]["id"], USER_SCHEMA);
    let r = s
        .scim(Method::GET, &format!("/Schemas/{USER_SCHEMA}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> = r.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"userName") && names.contains(&"active"));
    let r = s.scim(Method::GET, "/Schemas/urn:nope", None).await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    let r = s.scim(Method::GET, "/Bulk", None).await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    // A method an endpoint does not take is a SCIM error too.
    let r = s.scim(Method::DELETE, "/Users", None).await;
    assert_scim_error(&r, StatusCode::METHOD_NOT_ALLOWED, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_read_listed_and_filtered() {
    let s = Scim::start().await;
    let ana = s.create(user("Ana", "okta-ana")).await;
    assert_eq!(ana["userName"], "ana@example.com", "lowercased");
    assert_eq!(ana["name"]["formatted"], "Ana Doe");
    assert_eq!(ana["externalId"], "okta-ana");
    assert_eq!(ana["active"], true);
    assert_eq!(ana["meta"]["resourceType"], "User");
    let id = ana["id"].as_str().unwrap();
    assert!(ana["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/scim/v2/Users/{id}")));
    assert!(ana["meta"]["created"].is_string() && ana["meta"]["lastModified"].is_string());
    // The person: invited with the role user, linked by external id.
    let p = s.person(id).await;
    assert_eq!(p["status"], "invited");
    assert_eq!(p["role"], "user");
    assert_eq!(p["external_id"], "okta-ana");
    // Read back.
    let r = s.scim(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["userName"], "ana@example.com");
    let r = s.scim(Method::GET, "/Users/not-an-id", None).await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    // A name from displayName only, and inactive at creation.
    let bo = s
        .create(json!({ "schemas": [USER_SCHEMA], "userName": "bo@example.com", "displayName": "Bo", "active": false }))
        .await;
    assert_eq!(bo["active"], false);
    assert_eq!(bo["name"]["formatted"], "Bo");
    assert_eq!(
        s.person(bo["id"].as_str().unwrap()).await["status"],
        "deactivated"
    );

    // Filters: userName case-insensitively, externalId exactly (Entra's form).
    let r = s.filter("userName eq \"ANA@example.COM\"").await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], id);
    let r = s.filter("externalId eq \"okta-ana\"").await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    let r = s.filter("externalId eq \"OKTA-ANA\"").await;
    assert_eq!(
        r.body["totalResults"], 0,
        "externalId is caseExact: {}",
        r.body
    );
    let r = s.filter("userName eq \"nobody@example.com\"").await;
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
    let r = s.filter("active eq false").await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    let r = s.filter("favoriteColor eq \"red\"").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "an unknown attribute matches nothing"
    );
    assert_eq!(r.body["totalResults"], 0);
    // Malformed filters: 400 invalidFilter.
    for bad in [
        "userName eq",
        "userName zz \"a\"",
        "(userName eq \"a\"",
        "active gt true",
    ] {
        let r = s.filter(bad).await;
        assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidFilter"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_paged_from_one() {
    let s = Scim::start().await;
    for i in 0..5 {
        s.create(user(&format!("p{i}"), &format!("x{i}"))).await;
    }
    // Six people: the owner and five.
    let r = s
        .scim(Method::GET, "/Users?startIndex=2&count=2", None)
        .await;
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(r.body["totalResults"], 6);
    assert_eq!(r.body["startIndex"], 2);
    assert_eq!(r.body["itemsPerPage"], 2);
    let all = s.scim(Method::GET, "/Users", None).await;
    let names = |v: &Value| -> Vec<String> {
        v["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&r.body), names(&all.body)[1..3].to_vec());
    let r = s
        .scim(Method::GET, "/Users?startIndex=6&count=10", None)
        .await;
    assert_eq!(r.body["itemsPerPage"], 1);
    let r = s
        .scim(Method::GET, "/Users?startIndex=0&count=0", None)
        .await;
    assert_eq!(r.body["totalResults"], 6);
    assert_eq!(r.body["Resources"], json!([]));
    let r = s.scim(Method::GET, "/Users?count=100000", None).await;
    assert_eq!(r.body["itemsPerPage"], 6, "capped, and there are only 6");
    let r = s.scim(Method::GET, "/Users?count=many", None).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_scim_errors_and_write_nothing() {
    let s = Scim::start().await;
    s.create(user("Ana", "a1")).await;
    let before = s.counts().await;
    assert!(before.0 == 2 && before.1 > 0, "{before:?}");
    // Duplicate userName, in another case: 409 uniqueness.
    let mut dup = user("ANA", "a2");
    dup["userName"] = "ana@EXAMPLE.com".into();
    let r = s.scim(Method::POST, "/Users", Some(dup)).await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    // Not JSON: 400 invalidSyntax, the body not echoed.
    let r = s
        .http
        .post(format!("{}/scim/v2/Users", s.server.url))
        .bearer_auth(&s.scim)
        .header("content-type", "application/json")
        .body("{\"userName\": \"secret-ish")
        .send()
        .await
        .unwrap();
    let r = Scim::read(r).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    assert!(!r.body.to_string().contains("secret-ish"));
    // No userName; a userName that is not an email; a wrong type.
    for body in [
        json!({ "schemas": [USER_SCHEMA], "displayName": "X" }),
        json!({ "schemas": [USER_SCHEMA], "userName": "not an email" }),
        json!({ "schemas": [USER_SCHEMA], "userName": "c@example.com", "active": 7 }),
    ] {
        let r = s.scim(Method::POST, "/Users", Some(body)).await;
        assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    // A PATCH that fails half-way (second operation bad) changes nothing.
    let r = s.filter("userName eq \"ana@example.com\"").await;
    let id = r.body["Resources"][0]["id"].as_str().unwrap().to_owned();
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": [
                { "op": "replace", "path": "displayName", "value": "Changed" },
                { "op": "replace", "path": "active", "value": "maybe" },
            ]})),
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    // The owner cannot be changed or deactivated through SCIM.
    let r = s.filter("userName eq \"owner@example.com\"").await;
    let owner_id = r.body["Resources"][0]["id"].as_str().unwrap().to_owned();
    let r = s
        .scim(Method::DELETE, &format!("/Users/{owner_id}"), None)
        .await;
    assert_scim_error(&r, StatusCode::FORBIDDEN, None);
    assert!(r.body["detail"].as_str().unwrap().contains("owner"));
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{owner_id}"),
            Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": [{ "op": "replace", "path": "displayName", "value": "Boss" }]})),
        )
        .await;
    assert_scim_error(&r, StatusCode::FORBIDDEN, None);
    assert_eq!(
        s.counts().await,
        before,
        "no person and no event was written"
    );
    let p = s.person(&id).await;
    assert_eq!(p["name"], "Ana Doe");
    assert_eq!(p["status"], "invited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_and_entra_deactivate_put_replaces_and_delete_deactivates() {
    let s = Scim::start().await;
    // Okta: PATCH with a path-less replace of `active`.
    let (okta_id, okta_token) = s.active_person("okta@example.com", "user").await;
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{okta_id}"),
            Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": [{ "op": "replace", "value": { "active": false } }]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(s.person(&okta_id).await["status"], "deactivated");
    let me = s.call(Method::GET, "/api/v1/me", &okta_token, None).await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "their API token is revoked"
    );
    // Okta reactivates: back to active (they have a password).
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{okta_id}"),
            Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": [{ "op": "replace", "value": { "active": true } }]})),
        )
        .await;
    assert_eq!(r.body["active"], true, "{}", r.body);
    assert_eq!(s.person(&okta_id).await["status"], "active");

    // Entra: `Replace`, a path, and a boolean as a string.
    let (entra_id, _) = s.active_person("entra@example.com", "user").await;
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{entra_id}"),
            Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": [{ "op": "Replace", "path": "active", "value": "False" }]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(s.person(&entra_id).await["status"], "deactivated");

    // PUT replaces userName, name and externalId.
    let u = s.create(user("Cy", "c1")).await;
    let cy = u["id"].as_str().unwrap();
    let r = s
        .scim(
            Method::PUT,
            &format!("/Users/{cy}"),
            Some(
                json!({ "schemas": [USER_SCHEMA], "id": cy, "userName": "Cyrus@Example.com",
                "name": { "formatted": "Cyrus Doe" }, "externalId": "c2", "active": true }),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = s.person(cy).await;
    assert_eq!(p["email"], "cyrus@example.com");
    assert_eq!(p["name"], "Cyrus Doe");
    assert_eq!(p["external_id"], "c2");
    // PUT onto another person's userName: 409.
    let r = s
        .scim(
            Method::PUT,
            &format!("/Users/{cy}"),
            Some(
                json!({ "schemas": [USER_SCHEMA], "userName": "OKTA@example.com", "active": true }),
            ),
        )
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    // PATCH of the name by a path (Okta's profile update).
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{cy}"),
            Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": [{ "op": "replace", "path": "displayName", "value": "Cy D." }]})),
        )
        .await;
    assert_eq!(r.body["displayName"], "Cy D.", "{}", r.body);

    // DELETE: deactivated and kept in Castellan, their API token refused; for SCIM the User is
    // gone (RFC 7644 §3.6): 404 on every operation, absent from lists.
    let (del_id, del_token) = s.active_person("leaver@example.com", "admin").await;
    let del_path = format!("/Users/{del_id}");
    let r = s.scim(Method::DELETE, &del_path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(s.person(&del_id).await["status"], "deactivated");
    let me = s.call(Method::GET, "/api/v1/me", &del_token, None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let rename = json!({ "schemas": [PATCH_SCHEMA], "Operations": [{ "op": "replace", "path": "displayName", "value": "X" }]});
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(rename)),
        (Method::PUT, Some(user("leaver", "l1"))),
        (Method::DELETE, None),
    ] {
        let r = s.scim(method.clone(), &del_path, body).await;
        assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    }
    let r = s.filter("userName eq \"leaver@example.com\"").await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    // A create with their userName brings them back, with the same id (they never set a
    // password through the IdP, but had one: active again).
    let mut again = user("leaver", "l2");
    again["userName"] = "leaver@example.com".into();
    let back = s.create(again).await;
    assert_eq!(back["id"], del_id.as_str());
    assert_eq!(s.person(&del_id).await["status"], "active");
    let r = s.scim(Method::GET, &del_path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The log names the IdP as the actor.
    let owner = s.owner.clone();
    let log = s
        .call(Method::GET, "/api/v1/activity?limit=1000", &owner, None)
        .await;
    let text = log.body.to_string();
    assert!(text.contains("SCIM (okta)"), "{text}");
    assert!(text.contains("person.provision") && text.contains("person.deactivate"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_story_runs_on_postgresql() {
    let (url, name) = common::fresh_pg_db().await;
    let s = Scim::start_on(Some(&url)).await;
    let u = s.create(user("Pg", "pg-1")).await;
    let id = u["id"].as_str().unwrap().to_owned();
    let r = s.filter("userName eq \"PG@example.com\"").await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    let r = s.filter("externalId eq \"pg-1\"").await;
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    let r = s
        .scim(Method::POST, "/Users", Some(user("pg", "pg-2")))
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": [{ "op": "Replace", "path": "active", "value": "False" }]})),
        )
        .await;
    assert_eq!(r.body["active"], false, "{}", r.body);
    assert_eq!(s.person(&id).await["status"], "deactivated");
    // A UPN userName apart from the email, name parts, a DELETE and the create that brings the
    // person back: the new columns on PostgreSQL.
    let mut upn = user("Up", "pg-3");
    upn["userName"] = "up.n@corp.example".into();
    upn["emails"] = json!([{ "value": "up@example.com", "type": "work", "primary": true }]);
    let up = s.create(upn.clone()).await;
    let up_id = up["id"].as_str().unwrap().to_owned();
    assert_eq!(up["name"]["givenName"], "Up");
    let r = s
        .scim(Method::DELETE, &format!("/Users/{up_id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = s.scim(Method::GET, &format!("/Users/{up_id}"), None).await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    let back = s.create(upn).await;
    assert_eq!(back["id"], up_id.as_str());
    assert_eq!(back["userName"], "up.n@corp.example");
    let r = s
        .call(Method::GET, "/api/v1/people", &s.scim.clone(), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    drop(s);
    common::drop_pg_db(&name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_excluded_attributes_and_search() {
    let s = Scim::start().await;
    let ana = s.create(user("Ana", "okta-ana")).await;
    let id = ana["id"].as_str().unwrap();
    let r = s
        .scim(
            Method::GET,
            &format!("/Users/{id}?attributes=userName,name.givenName"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["userName"], "ana@example.com");
    assert_eq!(r.body["name"], json!({ "givenName": "Ana" }));
    assert!(
        r.body.get("emails").is_none() && r.body["id"] == id,
        "{}",
        r.body
    );
    let r = s
        .scim(Method::GET, "/Users?excludedAttributes=name,emails", None)
        .await;
    let first = &r.body["Resources"][0];
    assert!(
        first.get("name").is_none() && first.get("emails").is_none(),
        "{first}"
    );
    assert!(first.get("userName").is_some());
    // The same query as a SearchRequest, under /Users and at the root.
    for path in ["/Users/.search", "/.search"] {
        let r = s
            .scim(
                Method::POST,
                path,
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName sw \"ana\"",
                    "attributes": ["userName"],
                    "startIndex": 1,
                    "count": 10
                })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(r.body["totalResults"], 1, "{}", r.body);
        assert_eq!(
            r.body["Resources"][0],
            json!({ "schemas": [USER_SCHEMA], "id": id, "userName": "ana@example.com" })
        );
    }
    let r = s
        .scim(Method::POST, "/.search", Some(json!({ "filter": 3 })))
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
}
