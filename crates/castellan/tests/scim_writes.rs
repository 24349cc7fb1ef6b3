//! SCIM writes that must not lose anything (issue 15), end to end on the real `castellan serve`:
//! concurrent PATCHes, DELETEs and admin changes never undo one another (each person has a row
//! version, written by compare-and-swap); `If-Match` writes only over the version read (412
//! otherwise); a PATCH that changes what Castellan does not keep is refused by name instead of
//! answering 200 with nothing changed; `userName` and the primary email stay one address;
//! `emails` read back as written, with `type`, `primary` and `display` (RFC 7643 §4.1.2); the
//! old Owner's SCIM tokens end with an ownership transfer; filters find what a create would
//! refuse as taken.

mod common;

#[path = "common/scim.rs"]
mod scim;

use reqwest::{Method, StatusCode};
use scim::*;
use serde_json::{json, Value};

fn patch(ops: Value) -> Option<Value> {
    Some(json!({ "schemas": [PATCH_SCHEMA], "Operations": ops }))
}

/// Rounds of each race: enough to interleave the reads and writes many ways.
const ROUNDS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_racing_patches_always_leaves_the_person_deactivated() {
    let s = Scim::start().await;
    for round in 0..ROUNDS {
        let (id, _) = s
            .active_person(&format!("race{round}@example.com"), "user")
            .await;
        let path = format!("/Users/{id}");
        let patches = (0..6).map(|i| {
            let (s, path) = (&s, path.clone());
            async move {
                s.scim(
                    Method::PATCH,
                    &path,
                    patch(json!([{ "op": "replace", "path": "displayName", "value": format!("Name {i}") }])),
                )
                .await
            }
        });
        let delete = s.scim(Method::DELETE, &path, None);
        let (answers, deleted) = tokio::join!(futures::future::join_all(patches), delete);
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        // A PATCH that comes after the DELETE finds no User (RFC 7644 §3.6).
        for r in answers {
            assert!(
                r.status == StatusCode::OK || r.status == StatusCode::NOT_FOUND,
                "{}",
                r.body
            );
        }
        let p = s.person(&id).await;
        assert_eq!(p["status"], "deactivated", "round {round}: {p}");
        let u = s.scim(Method::GET, &path, None).await;
        assert_eq!(u.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_demotion_racing_scim_patches_is_kept() {
    let s = Scim::start().await;
    let owner = s.owner.clone();
    for round in 0..ROUNDS {
        let (id, _) = s
            .active_person(&format!("demote{round}@example.com"), "admin")
            .await;
        let path = format!("/Users/{id}");
        let patches = (0..6).map(|i| {
            let (s, path) = (&s, path.clone());
            async move {
                s.scim(
                    Method::PATCH,
                    &path,
                    patch(json!([{ "op": "Replace", "path": "name.formatted", "value": format!("N {i}") }])),
                )
                .await
            }
        });
        let person_path = format!("/api/v1/people/{id}");
        let demote = s.call(
            Method::PATCH,
            &person_path,
            &owner,
            Some(json!({ "role": "user" })),
        );
        let (answers, demoted) = tokio::join!(futures::future::join_all(patches), demote);
        assert_eq!(demoted.status, StatusCode::OK, "{}", demoted.body);
        for r in answers {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let p = s.person(&id).await;
        assert_eq!(p["role"], "user", "round {round}: {p}");
        assert!(p["name"].as_str().unwrap().starts_with("N "), "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_writes_only_over_the_version_read() {
    let s = Scim::start().await;
    let u = s.create(user("Eve", "e1")).await;
    let id = u["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let v1 = u["meta"]["version"].as_str().unwrap().to_owned();
    assert!(v1.starts_with("W/\""), "{v1}");
    let got = s.scim(Method::GET, &path, None).await;
    assert_eq!(got.body["meta"]["version"], v1.as_str());

    let rename = |v: &str| patch(json!([{ "op": "replace", "path": "displayName", "value": v }]));
    let r = s
        .scim_with(
            Method::PATCH,
            &path,
            &[("if-match", &v1)],
            rename("Eve Two"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v2 = r.body["meta"]["version"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);

    // Every write made from the first version is refused, and nothing changes.
    let before = s.counts().await;
    let r = s
        .scim_with(Method::PATCH, &path, &[("if-match", &v1)], rename("Stale"))
        .await;
    assert_scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    let put = json!({ "schemas": [USER_SCHEMA], "userName": "eve@example.com", "displayName": "Put", "active": true });
    let r = s
        .scim_with(Method::PUT, &path, &[("if-match", &v1)], Some(put.clone()))
        .await;
    assert_scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    let r = s
        .scim_with(Method::DELETE, &path, &[("if-match", &v1)], None)
        .await;
    assert_scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    let r = s
        .scim_with(Method::DELETE, &path, &[("if-match", "W/\"nope\"")], None)
        .await;
    assert_scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    assert_eq!(s.counts().await, before);
    let p = s.person(id).await;
    assert_eq!(
        (p["name"].as_str(), p["status"].as_str()),
        (Some("Eve Two"), Some("invited"))
    );

    // A list of tags matches when one of them is the current version.
    let list = format!("W/\"999\", {v2}");
    let r = s
        .scim_with(
            Method::PATCH,
            &path,
            &[("if-match", &list)],
            rename("Eve Two"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The current version (or `*`) writes.
    let r = s
        .scim_with(Method::PUT, &path, &[("if-match", &v2)], Some(put))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(s.person(id).await["name"], "Put");
    let r = s
        .scim_with(Method::DELETE, &path, &[("if-match", "*")], None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(s.person(id).await["status"], "deactivated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_name_and_primary_email_stay_one_address() {
    let s = Scim::start().await;
    let u = s.create(user("Fay", "f1")).await;
    let id = u["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    // Entra ID changes the mail: the email (and userName) follow.
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "fay.new@example.com" }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["userName"], "fay.new@example.com");
    assert_eq!(s.person(id).await["email"], "fay.new@example.com");
    // Okta changes userName: the email follows.
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "replace", "value": { "userName": "Fay.Other@Example.com" } }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["emails"][0]["value"], "fay.other@example.com");
    assert_eq!(s.person(id).await["email"], "fay.other@example.com");
    // A userName apart from the email (Entra ID's UPN) is kept apart, and moves alone.
    let mut upn = user("Gus", "g1");
    upn["userName"] = "Gus@Corp.Example".into();
    upn["emails"] = json!([{ "value": "gus@example.com", "type": "work", "primary": true }]);
    let g = s.create(upn.clone()).await;
    assert_eq!(g["userName"], "gus@corp.example");
    let gid = g["id"].as_str().unwrap();
    assert_eq!(s.person(gid).await["email"], "gus@example.com");
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{gid}"),
            patch(json!([{ "op": "replace", "path": "userName", "value": "gus2@corp.example" }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["emails"][0]["value"], "gus@example.com");
    // userNames are unique whatever their case, and against other people's emails too.
    let before = s.counts().await;
    let mut again = upn.clone();
    again["userName"] = "GUS2@corp.example".into();
    again["emails"] = json!([{ "value": "other@example.com", "primary": true }]);
    let r = s.scim(Method::POST, "/Users", Some(again)).await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    let mut taken = upn.clone();
    taken["userName"] = "fay.other@example.com".into();
    taken["emails"] = json!([{ "value": "new@example.com", "primary": true }]);
    let r = s.scim(Method::POST, "/Users", Some(taken)).await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    // A userName that is not an address, without `emails`: there is no email to keep.
    let mut no_email = user("Hu", "h9");
    no_email["userName"] = "Test_User_1".into();
    let r = s.scim(Method::POST, "/Users", Some(no_email)).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("emails"),
        "{}",
        r.body
    );
    assert_eq!(s.counts().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_of_what_castellan_does_not_keep_is_refused_and_writes_nothing() {
    let s = Scim::start().await;
    let u = s.create(user("Hal", "h1")).await;
    let id = u["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let before = s.counts().await;
    let cases = [
        (
            json!([{ "op": "replace", "path": "password", "value": "hunter2-hunter2" }]),
            "mutability",
        ),
        (
            json!([{ "op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales" }]),
            "invalidPath",
        ),
        (
            json!([{ "op": "replace", "value": { "title": "CTO", "displayName": "Hal Two" } }]),
            "invalidPath",
        ),
        (json!([{ "op": "remove", "path": "emails" }]), "mutability"),
        (
            json!([{ "op": "remove", "path": "displayName" }]),
            "mutability",
        ),
        (
            json!([{ "op": "replace", "path": "displayName", "value": "  " }]),
            "invalidValue",
        ),
        // An email sub-attribute RFC 7643 §4.1.2 does not define would be dropped.
        (
            json!([{ "op": "add", "path": "emails[type eq \"work\"].verified", "value": true }]),
            "invalidPath",
        ),
        // The email (and the userName that follows it) must be an address.
        (
            json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "not-an-address" }]),
            "invalidValue",
        ),
    ];
    for (ops, scim_type) in cases {
        let r = s.scim(Method::PATCH, &path, patch(ops.clone())).await;
        assert_scim_error(&r, StatusCode::BAD_REQUEST, Some(scim_type));
        assert!(
            !r.body["detail"].as_str().unwrap().contains("hunter2"),
            "{}",
            r.body
        );
        assert_eq!(s.counts().await, before, "{ops}");
    }
    assert_eq!(s.person(id).await["name"], "Hal Doe");
    // One part of the name changes alone; the other is kept.
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "replace", "path": "name.familyName", "value": "Silva" }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"]["givenName"], "Hal");
    assert_eq!(s.person(id).await["name"], "Hal Silva");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_find_what_a_create_refuses_and_bad_queries_are_scim_errors() {
    let s = Scim::start().await;
    // Stored in NFC: `é` as one code point.
    let mut u = user("x", "j1");
    u["userName"] = "jos\u{e9}@example.com".into();
    s.create(u.clone()).await;
    // The IdP looks for it decomposed (`e` + combining acute) and with spaces: found.
    let r = s.filter("userName eq \" jose\u{301}@example.com \"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    // … and a create of it is taken.
    u["userName"] = "jose\u{301}@example.com".into();
    let r = s.scim(Method::POST, "/Users", Some(u)).await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    // A parameter given twice is a SCIM error, not a plain-text one.
    let r = s.scim(Method::GET, "/Users?count=1&count=2", None).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    // An address the email rules refuse.
    for bad in [
        "<script>@example.com",
        "a\"b@example.com",
        "a\u{ff20}b@example.com",
    ] {
        let mut u = user("y", "y1");
        u["userName"] = bad.into();
        let r = s.scim(Method::POST, "/Users", Some(u)).await;
        assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive_and_a_transfer_ends_the_old_owner_s_tokens() {
    let s = Scim::start().await;
    let auth = format!("BEARER {}", s.scim);
    let r = s
        .scim_with(Method::GET, "/Users", &[("authorization", &auth)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let (heir, heir_token) = s.active_person("heir@example.com", "super_admin").await;
    let r = s
        .call(
            Method::POST,
            &format!("/api/v1/people/{heir}/transfer-ownership"),
            &s.owner.clone(),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    // The old owner's SCIM token ends; their API token stays (they are a super admin now).
    let r = s.scim(Method::GET, "/Users", None).await;
    assert_scim_error(&r, StatusCode::UNAUTHORIZED, None);
    let me = s
        .call(Method::GET, "/api/v1/me", &s.owner.clone(), None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    // The new owner creates their own.
    let r = s
        .call(
            Method::POST,
            "/api/v1/scim/tokens",
            &heir_token,
            Some(json!({ "name": "entra" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idp_reactivates_only_whom_it_deactivated() {
    let s = Scim::start().await;
    let owner = s.owner.clone();
    let (id, _) = s.active_person("leaver@example.com", "admin").await;
    let path = format!("/Users/{id}");
    // An admin deactivates them in Castellan (a security response).
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/people/{id}"),
            &owner,
            Some(json!({ "status": "deactivated" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Okta's next profile push carries `active: true`: refused, and they stay deactivated.
    let put = json!({ "schemas": [USER_SCHEMA], "userName": "leaver@example.com",
        "name": { "formatted": "Person" }, "active": true });
    let r = s.scim(Method::PUT, &path, Some(put.clone())).await;
    assert_scim_error(&r, StatusCode::FORBIDDEN, None);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("deactivated by"),
        "{}",
        r.body
    );
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "replace", "value": { "active": true } }])),
        )
        .await;
    assert_scim_error(&r, StatusCode::FORBIDDEN, None);
    assert_eq!(s.person(&id).await["status"], "deactivated");
    // A PUT that keeps them deactivated still writes the rest.
    let mut rename = put.clone();
    rename["active"] = false.into();
    rename["name"]["formatted"] = "Renamed".into();
    let r = s.scim(Method::PUT, &path, Some(rename)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(s.person(&id).await["name"], "Renamed");

    // Whom the IdP deactivated, it reactivates.
    let (other, _) = s.active_person("mover@example.com", "user").await;
    let other_path = format!("/Users/{other}");
    let r = s
        .scim(
            Method::PATCH,
            &other_path,
            patch(json!([{ "op": "replace", "path": "active", "value": false }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut back = put;
    back["userName"] = "mover@example.com".into();
    let r = s.scim(Method::PUT, &other_path, Some(back)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(s.person(&other).await["status"], "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_name_per_person_even_when_creates_race() {
    let s = Scim::start().await;
    for round in 0..4 {
        let name = format!("race{round}@example.com");
        let creates = (0..8).map(|i| {
            let mut u = user("R", &format!("r{round}-{i}"));
            u["userName"] = name.clone().into();
            if i % 2 == 0 {
                // Half give the userName apart from the email, half as the email.
                u["emails"] =
                    json!([{ "value": format!("r{round}-{i}@example.com"), "primary": true }]);
            }
            let s = &s;
            async move { s.scim(Method::POST, "/Users", Some(u)).await }
        });
        let answers = futures::future::join_all(creates).await;
        let made: Vec<_> = answers
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .collect();
        assert_eq!(made.len(), 1, "round {round}");
        for r in answers.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_scim_error(r, StatusCode::CONFLICT, Some("uniqueness"));
        }
        let found = s.filter(&format!("userName eq \"{name}\"")).await;
        assert_eq!(found.body["totalResults"], 1, "{}", found.body);
        // The one made can always be deprovisioned.
        let id = made[0].body["id"].as_str().unwrap();
        let r = s.scim(Method::DELETE, &format!("/Users/{id}"), None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_keeps_an_email_apart_and_a_part_never_shortens_a_name() {
    let s = Scim::start().await;
    let mut kim = user("Kim", "k1");
    kim["userName"] = "kim.upn@corp.example".into();
    kim["emails"] = json!([{ "value": "kim@example.com", "type": "work", "primary": true }]);
    let k = s.create(kim).await;
    let kid = k["id"].as_str().unwrap();
    // A PUT without `emails`: the email stays (the UPN is not an address to take).
    let r = s
        .scim(
            Method::PUT,
            &format!("/Users/{kid}"),
            Some(
                json!({ "schemas": [USER_SCHEMA], "userName": "kim.upn@corp.example",
                "name": { "givenName": "Kim", "familyName": "Doe" } }),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(s.person(kid).await["email"], "kim@example.com");

    // A person invited in Castellan has a name and no parts: one part does not replace it.
    let (maria, _) = s.active_person("maria@example.com", "user").await;
    let owner = s.owner.clone();
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/people/{maria}"),
            &owner,
            Some(json!({ "name": "Maria Garcia" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let path = format!("/Users/{maria}");
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "replace", "path": "name.familyName", "value": "Garcia" }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(s.person(&maria).await["name"], "Maria Garcia");
    assert_eq!(r.body["name"]["familyName"], "Garcia");
    // Two display names at once: refused, nothing written.
    let before = s.counts().await;
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "replace", "value": { "name.formatted": "Formal", "displayName": "Disp" } }])),
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert_eq!(s.counts().await, before);
}

/// RFC 7643 §4.1.2: `emails` read back exactly as the identity provider wrote them, `type`,
/// `primary` and `display` included (absent ones stay absent), after POST, PUT and PATCH, in
/// their answers and on GET; the person's email in Castellan is the primary one, else the
/// `work` one, else the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_round_trip_as_written_and_the_primary_is_the_email() {
    let s = Scim::start().await;
    let get = |id: String| {
        let s = &s;
        async move {
            let r = s.scim(Method::GET, &format!("/Users/{id}"), None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body["emails"].clone()
        }
    };
    let mut ivy = user("Ivy", "i1");
    ivy["userName"] = "ivy.upn@corp.example".into();
    let written = json!([
        { "value": "Ivy.Home@Example.com", "type": "home", "primary": false },
        { "value": "ivy@example.com", "type": "work", "primary": true, "display": "Ivy at work" },
        { "value": "ivy.alias@example.com" },
    ]);
    ivy["emails"] = written.clone();
    let c = s.create(ivy.clone()).await;
    let id = c["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    assert_eq!(c["emails"], written, "POST");
    assert_eq!(get(id.clone()).await, written, "GET after POST");
    assert_eq!(s.person(&id).await["email"], "ivy@example.com");
    // The filters see them too.
    let r = s
        .filter("emails[type eq \"home\" and value eq \"ivy.home@example.com\"]")
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);

    // PUT: other addresses; the primary one is now the home one.
    let put = json!([
        { "value": "ivy.home@example.com", "type": "home", "primary": true },
        { "value": "ivy@example.com", "type": "work", "display": "Ivy" },
    ]);
    ivy["emails"] = put.clone();
    let r = s.scim(Method::PUT, &path, Some(ivy.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["emails"], put, "PUT");
    assert_eq!(get(id.clone()).await, put, "GET after PUT");
    assert_eq!(s.person(&id).await["email"], "ivy.home@example.com");

    // PATCH replace of `emails` with values only (the scim2 checker's form): exactly that back.
    let only = json!([{ "value": "ivy.new@example.com" }]);
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([{ "op": "replace", "path": "emails", "value": only }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["emails"], only, "PATCH replace");
    assert_eq!(get(id.clone()).await, only, "GET after PATCH");
    assert_eq!(s.person(&id).await["email"], "ivy.new@example.com");

    // PATCH add of a primary address: it becomes the email, and the value that was primary
    // no longer is (RFC 7644 §3.5.2); a sub-attribute set by a value filter.
    let r = s
        .scim(
            Method::PATCH,
            &path,
            patch(json!([
                { "op": "replace", "path": "emails", "value": [{ "value": "ivy.new@example.com", "primary": true }] },
                { "op": "add", "path": "emails", "value": [{ "value": "Ivy.Work@Example.com", "type": "work", "primary": true }] },
                { "op": "add", "path": "emails[value eq \"ivy.new@example.com\"].display", "value": "Old" },
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let want = json!([
        { "value": "ivy.new@example.com", "primary": false, "display": "Old" },
        { "value": "Ivy.Work@Example.com", "type": "work", "primary": true },
    ]);
    assert_eq!(r.body["emails"], want, "PATCH add");
    assert_eq!(get(id.clone()).await, want, "GET after PATCH add");
    assert_eq!(s.person(&id).await["email"], "ivy.work@example.com");

    // Two primary addresses in one body: 400, nothing written.
    let before = s.counts().await;
    ivy["emails"] = json!([
        { "value": "a@example.com", "primary": true },
        { "value": "b@example.com", "primary": true },
    ]);
    let r = s.scim(Method::PUT, &path, Some(ivy)).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert_eq!(s.counts().await, before);
    assert_eq!(get(id).await, want);
}
