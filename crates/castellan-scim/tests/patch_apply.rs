//! Applying PATCH (RFC 7644 §3.5.2): multi-valued semantics and the errors (noTarget,
//! mutability, invalidPath, invalidValue), all or nothing.

mod common;

use castellan_scim::patch::{apply, parse_request, PATCH_OP_SCHEMA};
use castellan_scim::CoreSchema;
use common::{fails, group, ok, run, user, ENTERPRISE};
use serde_json::json;

#[test]
fn multi_valued_semantics() {
    let mut u = user();
    // A new primary takes over (RFC 7644 §3.5.2).
    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "add", "path": "emails",
        "value": {"value": "new@example.com", "type": "work", "primary": "True"}}]),
    );
    assert_eq!(u["emails"][0]["primary"], false);
    assert_eq!(
        u["emails"][2],
        json!({"value": "new@example.com", "type": "work", "primary": true})
    );
    // Case-insensitive duplicate (emails.value is not caseExact): merged, not added.
    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "add", "path": "emails",
        "value": [{"value": "NEW@example.com", "display": "New"}]}]),
    );
    assert_eq!(u["emails"].as_array().unwrap().len(), 3);
    assert_eq!(u["emails"][2]["display"], "New");
    // A sub-attribute across all values, and remove of a sub-attribute of matching values.
    ok(
        &mut u,
        CoreSchema::User,
        json!([
            {"op": "remove", "path": "emails[type eq \"home\"].type"},
            {"op": "replace", "path": "emails[value sw \"new\"].display", "value": "Newest"},
        ]),
    );
    assert_eq!(u["emails"][1], json!({"value": "babs@jensen.org"}));
    assert_eq!(u["emails"][2]["display"], "Newest");
    // Removing the last value unassigns the attribute.
    ok(
        &mut u,
        CoreSchema::User,
        json!([{"op": "remove", "path": "addresses[locality eq \"hollywood\"]"}]),
    );
    assert!(u.get("addresses").is_none());
    // Replace with null unassigns; remove of a missing attribute is a no-op.
    ok(
        &mut u,
        CoreSchema::User,
        json!([
            {"op": "replace", "path": "name.givenName", "value": null},
            {"op": "remove", "path": "nickName"},
        ]),
    );
    assert_eq!(u["name"], json!({"familyName": "Jensen"}));
}

#[test]
fn no_target() {
    let u = user();
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x"}]),
        "noTarget",
        "no value of `emails` matches `[type eq \"other\"]`",
    );
    let g = group();
    fails(
        &g,
        CoreSchema::Group,
        json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
        "noTarget",
        "Operations[0] (remove members[value eq \"nobody\"]): no value of `members` matches",
    );
    // members.value is caseExact: an id in another case is another id.
    fails(
        &g,
        CoreSchema::Group,
        json!([{"op": "remove", "path": "members[value eq \"902C246B-6245-4190-8E05-00816BE7344A\"]"}]),
        "noTarget",
        "no value of `members` matches",
    );
    // An add whose filter is not a plain `eq` cannot make a value.
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "add", "path": "ims[type ne \"x\"].value", "value": "x"}]),
        "noTarget",
        "no value of `ims` matches",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "add", "path": "ims.value", "value": "x"}]),
        "noTarget",
        "`ims` has no values",
    );
}

#[test]
fn mutability() {
    let u = user();
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "replace", "path": "id", "value": "other"}]),
        "mutability",
        "Operations[0] (replace id): `id` is readOnly",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "remove", "path": "id"}]),
        "mutability",
        "`id` is readOnly",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "replace", "value": {"id": "other"}}]),
        "mutability",
        "`id` is readOnly",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
        "mutability",
        "`meta.created` is readOnly",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "remove", "path": "meta"}]),
        "mutability",
        "`meta` is readOnly",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]),
        "mutability",
        "`groups` is readOnly",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "remove", "path": "userName"}]),
        "mutability",
        "`userName` is required",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "replace", "path": "userName", "value": ""}]),
        "mutability",
        "`userName` is required",
    );
    fails(
        &group(),
        CoreSchema::Group,
        json!([{"op": "remove", "path": "displayName"}]),
        "mutability",
        "`displayName` is required",
    );
    fails(
        &group(),
        CoreSchema::Group,
        json!([{"op": "replace", "path": "members[display eq \"Babs Jensen\"].value", "value": "someone-else"}]),
        "mutability",
        "`members.value` is immutable",
    );
    // Writing the current value of a readOnly attribute changes nothing and passes.
    let mut same = user();
    ok(
        &mut same,
        CoreSchema::User,
        json!([{"op": "replace", "value": {
        "id": "2819c223-7f76-453a-919d-413861904646", "meta": u["meta"].clone(), "title": "x"}}]),
    );
    assert_eq!(same["title"], "x");
    // No path on remove.
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "remove", "value": {"title": "x"}}]),
        "noTarget",
        "remove needs a `path`",
    );
}

#[test]
fn invalid_path_and_value() {
    let u = user();
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "replace", "path": "userName.first", "value": "x"}]),
        "invalidPath",
        "`userName` is not complex",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "replace", "path": "name[givenName eq \"Barbara\"].givenName", "value": "x"}]),
        "invalidPath",
        "`name` is not multi-valued",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "add", "value": {"bad key!": 1}}]),
        "invalidPath",
        "value member `bad key!`",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "add", "path": "title", "value": null}]),
        "invalidValue",
        "add needs a value",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "add", "path": "emails[type eq \"work\"]", "value": "x"}]),
        "invalidValue",
        "needs an object of sub-attributes",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "replace", "path": ENTERPRISE, "value": "x"}]),
        "invalidValue",
        "needs an object of its attributes",
    );
    fails(
        &u,
        CoreSchema::User,
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:User"}]),
        "invalidPath",
        "cannot be removed",
    );
    let mut not_object = json!([1]);
    let ops = parse_request(
        &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "remove", "path": "x"}]}),
        &CoreSchema::User,
    )
    .unwrap();
    assert_eq!(
        apply(&mut not_object, &ops, &CoreSchema::User)
            .unwrap_err()
            .scim_type(),
        "invalidValue"
    );
}

#[test]
fn atomic() {
    let u = user();
    let mut r = u.clone();
    let e = run(
        &mut r,
        CoreSchema::User,
        json!([
            {"op": "replace", "path": "displayName", "value": "Babs"},
            {"op": "add", "path": "emails", "value": [{"value": "x@example.com"}]},
            {"op": "replace", "path": "id", "value": "stolen"},
        ]),
    )
    .unwrap_err();
    assert_eq!(e.scim_type(), "mutability");
    assert!(
        e.detail().starts_with("Operations[2] (replace id): "),
        "{e}"
    );
    assert_eq!(r, u);
}

#[test]
fn large_groups() {
    let members: Vec<_> = (0..5000)
        .map(|i| json!({"value": format!("user-{i:05}"), "display": format!("User {i}")}))
        .collect();
    let mut g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "id": "g", "displayName": "Everyone", "members": members});
    let added: Vec<_> = (5000..6000)
        .map(|i| json!({"value": format!("user-{i:05}")}))
        .collect();
    let removed: Vec<_> = (0..500)
        .map(|i| json!({"value": format!("user-{:05}", i * 2)}))
        .collect();
    ok(
        &mut g,
        CoreSchema::Group,
        json!([
            {"op": "Add", "path": "members", "value": added},
            {"op": "Remove", "path": "members", "value": removed},
            {"op": "remove", "path": "members[value sw \"user-01\"]"},
        ]),
    );
    let n = g["members"].as_array().unwrap().len();
    assert_eq!(n, 6000 - 500 - 1000);
}
