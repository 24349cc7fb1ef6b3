//! Shared by the PATCH tests: sample resources and helpers that run a request body.
#![allow(dead_code)]

use castellan_scim::patch::{apply, parse_request, PATCH_OP_SCHEMA};
use castellan_scim::{CoreSchema, PatchError};
use serde_json::{json, Value};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen",
        "userName": "bjensen@example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"},
            {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}
        ],
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "version": "W/\"a330bc54f0671c9\""}
    })
}

pub fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "acbf3ae7-8463-4692-b4fd-9b4da3f908ce",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ]
    })
}

pub fn run(resource: &mut Value, schema: CoreSchema, ops: Value) -> Result<(), PatchError> {
    let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops});
    let ops = parse_request(&body, &schema)?;
    apply(resource, &ops, &schema)
}

#[track_caller]
pub fn ok(resource: &mut Value, schema: CoreSchema, ops: Value) {
    run(resource, schema, ops.clone()).unwrap_or_else(|e| panic!("{ops}: {e}"));
}

#[track_caller]
pub fn fails(resource: &Value, schema: CoreSchema, ops: Value, kind: &str, detail: &str) {
    let mut r = resource.clone();
    let e = run(&mut r, schema, ops.clone()).expect_err(&ops.to_string());
    assert_eq!(e.scim_type(), kind, "{ops}: {e}");
    assert!(e.detail().contains(detail), "{ops}: {e}");
    assert_eq!(&r, resource, "a failed PATCH changed the resource");
}

pub fn member_ids(g: &Value) -> Vec<&str> {
    g["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap()).collect())
        .unwrap_or_default()
}
