//! SCIM filters (castellan_scim::filter::parse) and PATCH paths (PatchPath::parse) from
//! arbitrary text. Checks: no panic (nor stack overflow: nesting is bounded); a parsed filter or
//! path written back (Display) parses to the same tree, when it stays within MAX_FILTER_LEN
//! (numbers may be written longer, `1e15` as `1000000000000000.0`); `check` and `matches`
//! against a sample User run without panic.
#![no_main]

use castellan_scim::filter::{self, MAX_FILTER_LEN};
use castellan_scim::{CoreSchema, PatchPath};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use std::sync::LazyLock;

static USER: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen", "active": true, "loginCount": 42,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"employeeNumber": "701984", "manager": {"value": "26118915"}}
    })
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let schema = CoreSchema::User;
    if let Ok(path) = PatchPath::parse(text, &schema) {
        let written = path.to_string();
        if written.len() <= MAX_FILTER_LEN {
            let back = PatchPath::parse(&written, &schema)
                .unwrap_or_else(|e| panic!("path {text:?} written as {written:?}: {e}"));
            assert_eq!(back, path, "path {text:?} written as {written:?}");
        }
    }
    let Ok(f) = filter::parse(text) else {
        return;
    };
    let written = f.to_string();
    if written.len() <= MAX_FILTER_LEN {
        let back = filter::parse(&written)
            .unwrap_or_else(|e| panic!("{text:?} written as {written:?}: {e}"));
        assert_eq!(back, f, "{text:?} written as {written:?}");
        assert_eq!(back.to_string(), written, "the written form is not a fixed point");
    }
    let _ = filter::check(&f, &schema);
    let _ = filter::matches(&f, &USER, &schema);
});
