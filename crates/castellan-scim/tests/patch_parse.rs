//! Reading PATCH request bodies (RFC 7644 §3.5.2) and their paths (Figure 7).

use castellan_scim::patch::{parse_request, MAX_OPERATIONS, MAX_VALUES, PATCH_OP_SCHEMA};
use castellan_scim::{AttrPath, CoreSchema, Filter, Op, PatchError, PatchOp, PatchPath};
use serde_json::{json, Value};

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

fn ops(ops: Value) -> Vec<PatchOp> {
    parse_request(&body(ops.clone()), &CoreSchema::User).unwrap_or_else(|e| panic!("{ops}: {e}"))
}

fn fails(b: Value) -> PatchError {
    parse_request(&b, &CoreSchema::User).expect_err(&b.to_string())
}

#[test]
fn reads_operations() {
    let parsed = ops(json!([
        {"op": "add", "path": "members", "value": [{"value": "2819c223"}]},
        {"op": "Replace", "path": "name.givenName", "value": "Barbara"},
        {"op": "REMOVE", "path": "emails[type eq \"work\" and value ew \"example.com\"]"},
        {"Op": "replace", "Value": {"active": false}},
        {"op": "add", "path": "emails[type eq \"work\"].value", "value": "x@example.com"},
    ]));
    assert_eq!(parsed.len(), 5);
    assert_eq!(parsed[0].op, Op::Add);
    assert_eq!(
        parsed[0].path,
        Some(PatchPath::Attr(AttrPath::new("members")))
    );
    assert_eq!(parsed[1].op, Op::Replace);
    assert_eq!(
        parsed[1].path,
        Some(PatchPath::Attr(AttrPath::new("name").with_sub("givenName")))
    );
    assert_eq!(parsed[2].op, Op::Remove);
    assert_eq!(parsed[2].value, None);
    let Some(PatchPath::ValuePath {
        path,
        filter,
        sub_attr: None,
    }) = &parsed[2].path
    else {
        panic!("{:?}", parsed[2].path)
    };
    assert_eq!(path, &AttrPath::new("emails"));
    assert!(matches!(filter, Filter::And(..)));
    assert_eq!(parsed[3].path, None);
    assert_eq!(parsed[3].value, Some(json!({"active": false})));
    let Some(PatchPath::ValuePath { sub_attr, .. }) = &parsed[4].path else {
        panic!("{:?}", parsed[4].path)
    };
    assert_eq!(sub_attr.as_deref(), Some("value"));
    assert_eq!(parsed[4].to_string(), r#"add emails[type eq "work"].value"#);
    assert_eq!(parsed[3].to_string(), "replace (no path)");
}

#[test]
fn lenient_member_names_and_schema_case() {
    let b = json!({
        "SCHEMAS": ["URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],
        "operations": [{"OP": "Add", "PATH": "title", "VALUE": "Boss"}]
    });
    let parsed = parse_request(&b, &CoreSchema::User).unwrap();
    assert_eq!(parsed[0].op, Op::Add);
    assert_eq!(parsed[0].value, Some(json!("Boss")));
}

#[test]
fn schema_paths() {
    let parsed = ops(json!([
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
         "value": {"department": "Tour Operations"}},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
         "value": "Tours"},
    ]));
    assert_eq!(
        parsed[0].path,
        Some(PatchPath::Schema(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()
        ))
    );
    let Some(PatchPath::Attr(p)) = &parsed[1].path else {
        panic!()
    };
    assert_eq!(p.attr, "department");
    assert_eq!(
        parsed[1].path.as_ref().unwrap().to_string(),
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
    );
}

#[test]
fn malformed_bodies() {
    let cases = [
        (json!([]), "invalidSyntax", "a PATCH request body is a JSON object"),
        (
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": [{"op": "add", "value": {}}]}),
            "invalidSyntax",
            "`schemas` must contain",
        ),
        (json!({"schemas": [PATCH_OP_SCHEMA]}), "invalidSyntax", "`Operations` is missing"),
        (body(json!({})), "invalidSyntax", "`Operations` is not an array"),
        (body(json!([])), "invalidSyntax", "`Operations` is empty"),
        (body(json!([1])), "invalidSyntax", "Operations[0]: not a JSON object"),
        (
            body(json!([{"op": "add", "path": "title", "value": "x"}, {"op": "frob", "path": "title"}])),
            "invalidSyntax",
            "Operations[1]: `op` is \"frob\"; expected add, replace or remove",
        ),
        (body(json!([{"path": "title"}])), "invalidSyntax", "`op` is missing"),
        (body(json!([{"op": "remove"}])), "noTarget", "Operations[0]: remove needs a `path`"),
        (body(json!([{"op": "add", "path": "title"}])), "invalidValue", "Operations[0]: add needs a `value`"),
        (
            body(json!([{"op": "replace", "value": "x"}])),
            "invalidValue",
            "Operations[0]: replace without `path` needs an object",
        ),
        (body(json!([{"op": "remove", "path": 5}])), "invalidPath", "`path` is not a string"),
        (body(json!([{"op": "remove", "path": ""}])), "invalidPath", "Operations[0]: empty path"),
        (
            body(json!([{"op": "remove", "path": "name.given.family"}])),
            "invalidPath",
            "Operations[0]: path `name.given.family`: invalid path at byte 0: `name.given.family` has more than one sub-attribute",
        ),
        (
            body(json!([{"op": "remove", "path": "emails[type eq work]"}])),
            "invalidFilter",
            "Operations[0]: path `emails[type eq work]`: invalid filter at byte 15: `work` is not a comparison value",
        ),
        (
            body(json!([{"op": "remove", "path": "emails[type eq \"work\""}])),
            "invalidFilter",
            "missing `]`",
        ),
        (
            body(json!([{"op": "remove", "path": "emails[primary gt true]"}])),
            "invalidFilter",
            "gt, ge, lt and le do not apply",
        ),
        (
            body(json!([{"op": "remove", "path": "emails[type eq \"work\"] x"}])),
            "invalidPath",
            "unexpected `x` after the path",
        ),
        (
            body(json!([{"op": "remove", "path": "name.givenName[type pr]"}])),
            "invalidPath",
            "a value filter follows an attribute",
        ),
    ];
    for (b, kind, detail) in cases {
        let e = fails(b.clone());
        assert_eq!(e.scim_type(), kind, "{b}: {e}");
        assert!(e.detail().contains(detail), "{b}: {e}");
        assert_eq!(e.to_string(), e.detail());
    }
}

#[test]
fn too_many_operations() {
    let one = json!({"op": "replace", "path": "title", "value": "x"});
    let ok = Value::Array(vec![one.clone(); MAX_OPERATIONS]);
    assert_eq!(ops(ok).len(), MAX_OPERATIONS);
    let e = fails(body(Value::Array(vec![one; MAX_OPERATIONS + 1])));
    assert_eq!(e.scim_type(), "invalidValue");
    assert_eq!(
        e.detail(),
        format!(
            "{} operations in one request; at most {MAX_OPERATIONS} are accepted",
            MAX_OPERATIONS + 1
        )
    );
}

#[test]
fn patch_paths_write_back() {
    for text in [
        "members",
        "name.familyName",
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        r#"addresses[type eq "work"].streetAddress"#,
        r#"emails[type eq "work" and value ew "example.com"]"#,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ] {
        let p = PatchPath::parse(text, &CoreSchema::User).unwrap();
        assert_eq!(p.to_string(), text);
    }
}

/// A request may carry at most `MAX_VALUES` values in its operations' `value`s, counted in
/// nested arrays and objects too (an add of 28,000 emails once took minutes to merge).
#[test]
fn too_many_values() {
    let emails = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({ "value": format!("e{i}@example.com") }))
            .collect()
    };
    // Each email is an object and its string: two values, plus the array and the object.
    let fits = (MAX_VALUES - 2) / 2;
    let add = |n| json!({"op": "add", "value": {"emails": emails(n)}});
    assert_eq!(ops(Value::Array(vec![add(fits)])).len(), 1);
    let e = fails(body(Value::Array(vec![add(fits + 1)])));
    assert_eq!(e.scim_type(), "invalidValue");
    assert_eq!(
        e.detail(),
        format!("over {MAX_VALUES} values in one request's operations")
    );
    // Spread over operations, the values count together.
    let half = json!({"op": "add", "path": "emails", "value": emails(MAX_VALUES / 4)});
    let e = fails(body(Value::Array(vec![half.clone(), half.clone(), half])));
    assert_eq!(e.scim_type(), "invalidValue");
}
