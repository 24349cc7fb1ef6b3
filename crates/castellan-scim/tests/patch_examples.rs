//! Applying PATCH (RFC 7644 §3.5.2): the RFC's examples and what Okta and Entra ID send.

mod common;

use castellan_scim::CoreSchema;
use common::{fails, group, member_ids, ok, user, ENTERPRISE};
use serde_json::json;

// RFC 7644 §3.5.2.1: "add" examples.
#[test]
fn rfc_add_member() {
    let mut g = group();
    ok(
        &mut g,
        CoreSchema::Group,
        json!([{
            "op": "add", "path": "members",
            "value": [{"display": "Babs Jensen",
                       "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                       "value": "2819c223-7f76-453a-919d-413861904646"},
                      {"display": "James Smith", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}]
        }]),
    );
    // The one already there is not added twice; its new sub-attributes are merged in.
    assert_eq!(
        member_ids(&g),
        [
            "2819c223-7f76-453a-919d-413861904646",
            "902c246b-6245-4190-8e05-00816be7344a",
            "08e1d05d-121c-4561-8b96-473d93df9210"
        ]
    );
    assert_eq!(
        g["members"][0]["$ref"],
        "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
    );
}

#[test]
fn rfc_add_without_path() {
    let mut u = user();
    ok(
        &mut u,
        CoreSchema::User,
        json!([{
            "op": "add",
            "value": {"emails": [{"value": "babs@jensen.org", "type": "home"},
                                 {"value": "barbara@example.net", "type": "other"}],
                      "nickname": "Babs"}
        }]),
    );
    assert_eq!(u["emails"].as_array().unwrap().len(), 3);
    assert_eq!(u["nickname"], "Babs");
}

// RFC 7644 §3.5.2.2: "remove" examples.
#[test]
fn rfc_remove() {
    let mut g = group();
    ok(
        &mut g,
        CoreSchema::Group,
        json!([
            {"op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}
        ]),
    );
    assert_eq!(member_ids(&g), ["902c246b-6245-4190-8e05-00816be7344a"]);

    let mut g = group();
    ok(
        &mut g,
        CoreSchema::Group,
        json!([{"op": "remove", "path": "members"}]),
    );
    assert!(g.get("members").is_none());

    let mut u = user();
    ok(
        &mut u,
        CoreSchema::User,
        json!([
            {"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}
        ]),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}])
    );

    // Replace all members: remove, then add.
    let mut g = group();
    ok(
        &mut g,
        CoreSchema::Group,
        json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [
                {"display": "James Smith", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}]}
        ]),
    );
    assert_eq!(member_ids(&g), ["08e1d05d-121c-4561-8b96-473d93df9210"]);
}

// RFC 7644 §3.5.2.3: "replace" examples.
#[test]
fn rfc_replace() {
    let mut g = group();
    ok(
        &mut g,
        CoreSchema::Group,
        json!([{
            "op": "replace", "path": "members",
            "value": [{"display": "Babs Jensen", "value": "2819c223-7f76-453a-919d-413861904646"},
                      {"display": "James Smith", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}]
        }]),
    );
    assert_eq!(
        member_ids(&g),
        [
            "2819c223-7f76-453a-919d-413861904646",
            "08e1d05d-121c-4561-8b96-473d93df9210"
        ]
    );

    let mut u = user();
    ok(
        &mut u,
        CoreSchema::User,
        json!([{
            "op": "replace", "path": "addresses[type eq \"work\"]",
            "value": {"type": "work", "streetAddress": "911 Universal City Plaza",
                      "locality": "Hollywood", "region": "CA", "postalCode": "91608",
                      "country": "US", "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
                      "primary": true}
        }]),
    );
    assert_eq!(
        u["addresses"][0]["streetAddress"],
        "911 Universal City Plaza"
    );
    assert_eq!(u["addresses"][0]["primary"], true);
    assert_eq!(u["addresses"][1]["streetAddress"], "456 Hollywood Blvd");

    let mut u = user();
    ok(
        &mut u,
        CoreSchema::User,
        json!([{
            "op": "replace", "path": "addresses[type eq \"work\"].streetAddress",
            "value": "1010 Broadway Ave"
        }]),
    );
    assert_eq!(u["addresses"][0]["streetAddress"], "1010 Broadway Ave");
    assert_eq!(u["addresses"][0]["locality"], "Hollywood");

    let mut u = user();
    ok(
        &mut u,
        CoreSchema::User,
        json!([{
            "op": "replace",
            "value": {"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                                 {"value": "babs@jensen.org", "type": "home"}],
                      "nickname": "Babs"}
        }]),
    );
    assert_eq!(u["emails"].as_array().unwrap().len(), 2);
    assert_eq!(u["nickname"], "Babs");
    // A complex attribute's replace sets the sub-attributes given and keeps the others.
    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]),
    );
    assert_eq!(
        u["name"],
        json!({"familyName": "Jensen", "givenName": "Babs"})
    );
}

// Okta's "SCIM 2.0 protocol reference".
#[test]
fn okta() {
    let mut u = user();
    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "replace", "value": {"active": false}}]),
    );
    assert_eq!(u["active"], false);

    // Group rename: Okta sends the id along.
    let mut g = group();
    ok(
        &mut g,
        CoreSchema::Group,
        json!([{"op": "replace", "value": {
        "id": "acbf3ae7-8463-4692-b4fd-9b4da3f908ce", "displayName": "Test SCIMv2"}}]),
    );
    assert_eq!(g["displayName"], "Test SCIMv2");

    let mut g = group();
    ok(
        &mut g,
        CoreSchema::Group,
        json!([
            {"op": "remove", "path": "members[value eq \"902c246b-6245-4190-8e05-00816be7344a\"]"},
            {"op": "add", "path": "members", "value": [{"value": "00u1f96ECLNVOKVMUSEA", "display": "test.user@okta.local"}]}
        ]),
    );
    assert_eq!(
        member_ids(&g),
        [
            "2819c223-7f76-453a-919d-413861904646",
            "00u1f96ECLNVOKVMUSEA"
        ]
    );
}

// Microsoft Entra ID (its SCIM endpoint tutorial and known issues).
#[test]
fn entra_id() {
    let mut u = user();
    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(u["active"], false);
    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "Replace", "path": "active", "value": "true"}]),
    );
    assert_eq!(u["active"], true);
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "Replace", "path": "active", "value": "yes"}]),
        "invalidValue",
        "`active` is a boolean",
    );

    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "Add", "value": {"name.givenName": "Barbara Ann"}}]),
    );
    assert_eq!(
        u["name"],
        json!({"familyName": "Jensen", "givenName": "Barbara Ann"})
    );

    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "Replace", "value": {
            "displayName": "Babs",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984"
        }}]),
    );
    assert_eq!(u["displayName"], "Babs");
    // A value path as a key of a path-less value.
    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "Replace", "value": {
            "emails[type eq \"home\"].primary": "True"
        }}]),
    );
    assert_eq!(u["emails"][1]["primary"], true);
    assert_eq!(u["emails"][0]["primary"], false);
    assert_eq!(u[ENTERPRISE]["employeeNumber"], "701984");
    assert!(u["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(ENTERPRISE)));

    // A work phone that is not there yet: Entra adds it through a value path.
    ok(
        &mut u,
        CoreSchema::User,
        json!([
            {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "555-555-5555"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"}
        ]),
    );
    assert_eq!(
        u["phoneNumbers"],
        json!([{"type": "work", "value": "555-555-5555"}])
    );
    assert_eq!(u["emails"][0]["value"], "babs@example.com");
    assert_eq!(u["emails"].as_array().unwrap().len(), 2);

    let mut g = group();
    ok(
        &mut g,
        CoreSchema::Group,
        json!([
            {"op": "Add", "path": "members", "value": [{"value": "08e1d05d-121c-4561-8b96-473d93df9210"}]},
            {"op": "Remove", "path": "members", "value": [
                {"value": "2819c223-7f76-453a-919d-413861904646"},
                {"value": "not-a-member"}]}
        ]),
    );
    assert_eq!(
        member_ids(&g),
        [
            "902c246b-6245-4190-8e05-00816be7344a",
            "08e1d05d-121c-4561-8b96-473d93df9210"
        ]
    );
}

#[test]
fn extensions() {
    let mut u = user();
    ok(
        &mut u,
        CoreSchema::User,
        json!([
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
             "value": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
            {"op": "add", "value": {ENTERPRISE: {"department": "Tours", "costCenter": "4130"}}},
        ]),
    );
    assert_eq!(
        u[ENTERPRISE],
        json!({"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
               "department": "Tours", "costCenter": "4130"})
    );
    ok(
        &mut u,
        CoreSchema::User,
        json!([
            {"op": "replace", "path": ENTERPRISE, "value": {"department": "Sales"}},
            {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"},
        ]),
    );
    assert_eq!(u[ENTERPRISE]["department"], "Sales");
    assert!(u[ENTERPRISE].get("costCenter").is_none());
    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "remove", "path": ENTERPRISE}]),
    );
    assert!(u.get(ENTERPRISE).is_none());
    assert_eq!(
        u["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    // The core schema URI in a path means the top level.
    ok(
        &mut u,
        CoreSchema::User,
        json!([
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "value": "J."}
        ]),
    );
    assert_eq!(u["name"]["familyName"], "J.");
}
