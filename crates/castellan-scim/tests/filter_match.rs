//! Matching filters against SCIM resources (RFC 7644 §3.4.2.2) and checking them.

use castellan_scim::filter::{check, matches, parse};
use castellan_scim::{AttrPath, AttributeTypes, CoreSchema};
use serde_json::{json, Value};

fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Bjensen-Ext",
        "userName": "bjensen@example.com",
        "name": {"familyName": "O'Malley", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "loginCount": 42,
        "rating": -1.5,
        "nickName": "",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        },
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z"
        }
    })
}

#[track_caller]
fn yes(f: &str) {
    let parsed = parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
    assert!(
        matches(&parsed, &user(), &CoreSchema::User),
        "should match: {f}"
    );
}

#[track_caller]
fn no(f: &str) {
    let parsed = parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
    assert!(
        !matches(&parsed, &user(), &CoreSchema::User),
        "should not match: {f}"
    );
}

#[test]
fn each_operator_on_strings() {
    yes(r#"title eq "Tour Guide""#);
    no(r#"title eq "Tour""#);
    yes(r#"title ne "Tour""#);
    no(r#"title ne "tour guide""#);
    yes(r#"title co "ur gu""#);
    no(r#"title co "xyz""#);
    yes(r#"title sw "tour""#);
    no(r#"title sw "guide""#);
    yes(r#"title ew "GUIDE""#);
    no(r#"title ew "tour""#);
    yes(r#"title gt "Tour Gui""#);
    no(r#"title gt "tour guide""#);
    yes(r#"title ge "tour guide""#);
    yes(r#"title lt "U""#);
    no(r#"title lt "A""#);
    yes(r#"title le "TOUR GUIDE""#);
    no(r#"title le "Tour Gu""#);
}

#[test]
fn numbers_and_booleans() {
    yes("loginCount eq 42");
    yes("loginCount eq 42.0");
    yes("loginCount gt 41.5 and loginCount lt 4.3e1");
    yes("loginCount ge 42 and loginCount le 42");
    no("loginCount gt 42");
    yes("rating lt -1 and rating gt -2");
    yes("rating eq -15e-1");
    no(r#"loginCount eq "42""#);
    yes("active eq true");
    yes("active ne false");
    no("active eq false");
    // Ordering booleans never matches; check() reports it.
    no("active gt false");
    no("active lt true");
}

#[test]
fn presence_and_null() {
    yes("title pr");
    no("nickName pr"); // ""
    no("ims pr"); // []
    no("nonexistent pr");
    yes("emails pr");
    yes("name.givenName pr");
    no("name.middleName pr");
    yes("nonexistent eq null");
    yes("nickName eq null");
    no("title eq null");
    yes("title ne null");
    no("nonexistent ne null");
    // ne matches an unassigned attribute.
    yes(r#"nonexistent ne "x""#);
}

#[test]
fn names_and_values_case_insensitive_unless_case_exact() {
    yes(r#"USERNAME eq "BJENSEN@EXAMPLE.COM""#);
    yes(r#"Name.FamilyName co "o'malley""#);
    // id and externalId are caseExact (RFC 7643 §3.1).
    yes(r#"id eq "2819c223-7f76-453a-919d-413861904646""#);
    no(r#"id eq "2819C223-7F76-453A-919D-413861904646""#);
    yes(r#"externalId eq "Bjensen-Ext""#);
    no(r#"externalId eq "bjensen-ext""#);
    no(r#"externalId sw "bjensen""#);
    // userName is not.
    yes(r#"userName sw "BJensen""#);
}

#[test]
fn multi_valued_any_match_and_value_paths() {
    yes(r#"emails co "jensen.org""#);
    yes(r#"emails eq "BJENSEN@example.com""#);
    yes(r#"emails.value ew "@example.com""#);
    yes(r#"emails.type eq "home""#);
    no(r#"emails.type eq "other""#);
    yes(r#"emails[type eq "work" and value co "@example.com"]"#);
    no(r#"emails[type eq "home" and value co "@example.com"]"#);
    yes(r#"emails[type eq "work"]"#);
    yes(r#"emails[primary eq true and type eq "WORK"]"#);
    yes(r#"emails[not (type eq "work")]"#);
    no(r#"emails[type eq "work" and not (primary eq true)]"#);
    no(r#"ims[type eq "xmpp"]"#);
    yes(r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#);
    yes(r#"emails[type eq "x"] or ims[type eq "xmpp"] or title pr"#);
    // ne is "no value equals".
    no(r#"emails ne "babs@jensen.org""#);
    yes(r#"emails ne "other@jensen.org""#);
    // Simple multi-valued attributes: the element itself is `value`.
    yes(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#);
    yes(r#"schemas[value sw "urn:ietf:params:scim:schemas:core"]"#);
}

#[test]
fn urn_paths_into_extensions_and_core() {
    yes(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#);
    yes(r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER eq "701984""#);
    no(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#);
    yes(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
    );
    // manager.value holds an id: caseExact.
    no(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87E4-49D8CA9F808D""#,
    );
    yes(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[displayName sw "john"]"#,
    );
    yes(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#);
    yes(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "barbara""#);
    // Unqualified names are the core schema's.
    no(r#"employeeNumber eq "701984""#);
    // Another resource type's core schema or an unknown extension holds nothing.
    no(r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName pr"#);
    no(r#"urn:example:ext:2.0:User:employeeNumber pr"#);
}

#[test]
fn date_times_compare_as_instants() {
    yes(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#);
    yes(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#);
    yes(r#"meta.lastModified eq "2011-05-13T04:42:34.000Z""#);
    yes(r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#);
    // As strings "2011-05-13T05..." > "2011-05-13T04...", but as instants it is earlier.
    yes(r#"meta.lastModified gt "2011-05-13T05:42:34+02:00""#);
    no(r#"meta.lastModified lt "2011-05-13T05:42:34+02:00""#);
    yes(r#"meta.created lt "2011-05-13T04:42:34Z" and meta.created le "2010-01-23T04:56:22Z""#);
    no(r#"meta.created gt "2010-01-23T04:56:22Z""#);
    yes(r#"meta.lastModified sw "2011-05""#);
}

#[test]
fn check_refuses_what_the_rfc_calls_invalid() {
    let s = CoreSchema::User;
    for bad in [
        "active gt true",
        "x le false",
        "x ge null",
        "active lt \"x\"",
        "title co 5",
        "title sw true",
        "active ew \"rue\"",
        r#"emails[primary gt true]"#,
        r#"title pr and not (emails[primary co "t"])"#,
    ] {
        let e = check(&parse(bad).unwrap(), &s).expect_err(bad);
        assert_eq!(e.scim_type(), "invalidFilter");
        assert_eq!(e.position(), None);
        assert!(e.to_string().starts_with("invalid filter: `"), "{e}");
    }
    for good in [
        r#"title gt "a""#,
        "loginCount le 5",
        r#"emails[primary eq true]"#,
        r#"meta.created gt "2011-05-13T04:42:34Z""#,
        "title pr",
    ] {
        check(&parse(good).unwrap(), &s).expect(good);
    }
}

/// A schema of our own: everything caseExact.
struct Exact;

impl AttributeTypes for Exact {
    fn case_exact(&self, _path: &AttrPath) -> bool {
        true
    }
}

#[test]
fn schema_decides_case_exactness() {
    let f = parse(r#"userName eq "BJENSEN@EXAMPLE.COM""#).unwrap();
    assert!(matches(&f, &user(), &CoreSchema::User));
    assert!(!matches(&f, &user(), &Exact));
    // A filter on a non-object matches nothing.
    assert!(!matches(&f, &json!([1, 2]), &CoreSchema::User));
}

#[test]
fn groups() {
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ]
    });
    let g = CoreSchema::Group;
    let m = |f: &str| matches(&parse(f).unwrap(), &group, &g);
    assert!(m(r#"displayName eq "tour guides""#));
    assert!(m(
        r#"members[value eq "902c246b-6245-4190-8e05-00816be7344a"]"#
    ));
    assert!(!m(
        r#"members[value eq "902C246B-6245-4190-8E05-00816BE7344A"]"#
    ));
    assert!(m(r#"members.display co "mandy""#));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName pr"#
    ));
    assert!(!m(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:displayName pr"#
    ));
}
