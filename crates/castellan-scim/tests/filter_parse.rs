//! Parsing filters (RFC 7644 §3.4.2.2, Figure 1): the AST, precedence, literals, paths,
//! errors with their positions, and the canonical form read back.

use castellan_scim::filter::{self, MAX_DEPTH, MAX_FILTER_LEN};
use castellan_scim::{AttrPath, CompareOp, Filter};
use serde_json::{json, Value};

fn p(s: &str) -> Filter {
    filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn path(s: &str) -> AttrPath {
    AttrPath::parse(s).unwrap()
}

fn cmp(a: &str, op: CompareOp, v: Value) -> Filter {
    Filter::Compare {
        path: path(a),
        op,
        value: v,
    }
}

fn pr(a: &str) -> Filter {
    Filter::Present(path(a))
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn err(s: &str) -> (usize, String) {
    let e = filter::parse(s).expect_err(s);
    assert_eq!(e.scim_type(), "invalidFilter");
    assert!(e.to_string().starts_with("invalid filter at byte "), "{e}");
    (e.position().unwrap(), e.message().to_string())
}

#[test]
fn every_operator() {
    for (kw, op) in [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("ew", CompareOp::Ew),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ] {
        assert_eq!(
            p(&format!("title {kw} \"x\"")),
            cmp("title", op, json!("x"))
        );
        let upper = kw.to_uppercase();
        assert_eq!(
            p(&format!("title {upper} \"x\"")),
            cmp("title", op, json!("x"))
        );
    }
    assert_eq!(p("title pr"), pr("title"));
    assert_eq!(p("title PR"), pr("title"));
}

#[test]
fn and_binds_tighter_than_or() {
    let a = cmp("a", CompareOp::Eq, json!(1));
    let b = cmp("b", CompareOp::Eq, json!(2));
    let c = cmp("c", CompareOp::Eq, json!(3));
    assert_eq!(
        p("a eq 1 or b eq 2 and c eq 3"),
        or(a.clone(), and(b.clone(), c.clone()))
    );
    assert_eq!(
        p("a eq 1 and b eq 2 or c eq 3"),
        or(and(a.clone(), b.clone()), c.clone())
    );
    assert_eq!(
        p("(a eq 1 or b eq 2) and c eq 3"),
        and(or(a.clone(), b.clone()), c.clone())
    );
    // Left-associative.
    assert_eq!(
        p("a eq 1 or b eq 2 or c eq 3"),
        or(or(a.clone(), b.clone()), c.clone())
    );
    assert_eq!(p("a eq 1 AND b eq 2 Or c eq 3"), or(and(a, b), c));
}

#[test]
fn not_and_groups() {
    assert_eq!(p("not (title pr)"), Filter::Not(Box::new(pr("title"))));
    assert_eq!(p("NOT(title pr)"), Filter::Not(Box::new(pr("title"))));
    assert_eq!(
        p("userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")"),
        and(
            cmp("userType", CompareOp::Ne, json!("Employee")),
            Filter::Not(Box::new(or(
                cmp("emails", CompareOp::Co, json!("example.com")),
                cmp("emails.value", CompareOp::Co, json!("example.org")),
            )))
        )
    );
    // Redundant parentheses leave no trace.
    assert_eq!(p("((title pr))"), pr("title"));
    // An attribute may be called `not`.
    assert_eq!(p("not pr"), pr("not"));
}

#[test]
fn literals() {
    assert_eq!(
        p(r#"name.familyName co "O'Malley""#),
        cmp("name.familyName", CompareOp::Co, json!("O'Malley"))
    );
    assert_eq!(
        p(r#"displayName eq "say \"hi\" \\ \u00e9\n""#),
        cmp("displayName", CompareOp::Eq, json!("say \"hi\" \\ é\n"))
    );
    assert_eq!(p("x eq -12"), cmp("x", CompareOp::Eq, json!(-12)));
    assert_eq!(p("x gt 1.5"), cmp("x", CompareOp::Gt, json!(1.5)));
    assert_eq!(p("x lt -2.5e3"), cmp("x", CompareOp::Lt, json!(-2500.0)));
    assert_eq!(p("x le 1E-2"), cmp("x", CompareOp::Le, json!(0.01)));
    assert_eq!(
        p("active eq true"),
        cmp("active", CompareOp::Eq, json!(true))
    );
    assert_eq!(
        p("active eq False"),
        cmp("active", CompareOp::Eq, json!(false))
    );
    assert_eq!(p("title eq NULL"), cmp("title", CompareOp::Eq, Value::Null));
    // Any whitespace separates tokens.
    assert_eq!(
        p(" \ttitle\n eq  \"x\"  "),
        cmp("title", CompareOp::Eq, json!("x"))
    );
}

#[test]
fn value_paths() {
    assert_eq!(
        p(r#"emails[type eq "work" and value co "@example.com"]"#),
        Filter::ValuePath {
            path: path("emails"),
            filter: Box::new(and(
                cmp("type", CompareOp::Eq, json!("work")),
                cmp("value", CompareOp::Co, json!("@example.com")),
            )),
        }
    );
    assert_eq!(
        p(r#"emails[type eq "work"]"#),
        Filter::ValuePath {
            path: path("emails"),
            filter: Box::new(cmp("type", CompareOp::Eq, json!("work"))),
        }
    );
    assert_eq!(
        p(r#"emails[not (type eq "work")] and title pr"#),
        and(
            Filter::ValuePath {
                path: path("emails"),
                filter: Box::new(Filter::Not(Box::new(cmp(
                    "type",
                    CompareOp::Eq,
                    json!("work")
                )))),
            },
            pr("title")
        )
    );
}

#[test]
fn urn_paths() {
    let f = p(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"",
    );
    let Filter::Compare { path: number, .. } = &f else {
        panic!("{f:?}")
    };
    assert_eq!(
        number,
        &AttrPath {
            uri: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            attr: "employeeNumber".into(),
            sub_attr: None,
        }
    );
    let f = p("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName sw \"J\"");
    let Filter::Compare { path: name, .. } = &f else {
        panic!("{f:?}")
    };
    assert_eq!(
        name,
        &AttrPath {
            uri: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
            attr: "name".into(),
            sub_attr: Some("familyName".into()),
        }
    );
    assert_eq!(
        name.to_string(),
        "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName"
    );
    assert_eq!(
        p("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"26118915\"]"),
        Filter::ValuePath {
            path: path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
            filter: Box::new(cmp("value", CompareOp::Eq, json!("26118915"))),
        }
    );
    assert_eq!(p("members.$ref pr"), pr("members.$ref"));
}

/// Every example filter of RFC 7644 §3.4.2.2.
const RFC_EXAMPLES: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"name.familyName co "O'Malley""#,
    r#"userName sw "J""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    r#"title pr"#,
    r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
    r#"title pr and userType eq "Employee""#,
    r#"title pr or userType eq "Intern""#,
    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType eq "Employee" and (emails.type eq "work")"#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
];

/// Filters Okta and Entra ID send, and others the canonical form must keep.
const MORE: &[&str] = &[
    r#"userName eq "test.user@okta.local""#,
    r#"externalId eq "8cdfd3f6-2b8a-4a23-9b3a-07c8f6a0b6d3""#,
    r#"displayName eq "Group \"A\"""#,
    r#"a eq 1 or b eq 2 and c eq 3"#,
    r#"a eq 1 or (b eq 2 or c eq 3)"#,
    r#"a eq 1 and (b eq 2 and c eq 3)"#,
    r#"(a eq 1 or b eq 2) and (c eq 3 or d eq 4)"#,
    r#"not (not (a pr))"#,
    r#"x eq -0.5 or y lt 1e300 or z ge 18446744073709551615 or w le -9223372036854775808"#,
    // Found by the fuzz target: an integer below i64::MIN becomes an f64, which must read
    // back from its written form to the same value.
    r#"w le -9223372787405365808 or z ge 18446.44073709551615 or v eq 123456789012345678901234567890"#,
    r#"emails[type eq "work" and (value ew "@x.org" or primary eq true)]"#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
    r#"meta.created eq null"#,
];

#[test]
fn rfc_examples_parse_and_round_trip() {
    for s in RFC_EXAMPLES.iter().chain(MORE) {
        let f = p(s);
        let written = f.to_string();
        assert_eq!(p(&written), f, "{s} written as {written}");
        // The canonical form is a fixed point.
        assert_eq!(p(&written).to_string(), written);
    }
    assert_eq!(
        p(r#"userType eq "Employee" AND (emails.type EQ "work")"#).to_string(),
        r#"userType eq "Employee" and emails.type eq "work""#
    );
    assert_eq!(
        p("a eq 1 or (b eq 2 or c eq 3)").to_string(),
        "a eq 1 or (b eq 2 or c eq 3)"
    );
    assert_eq!(
        p("(a pr or b pr) and c pr").to_string(),
        "(a pr or b pr) and c pr"
    );
    assert_eq!(p("NOT ( a pr )").to_string(), "not (a pr)");
}

#[test]
fn malformed_filters_say_where_and_what() {
    let (at, msg) = err("(userName eq \"x\"");
    assert_eq!(
        (at, msg.as_str()),
        (16, "missing `)` to close the `(` at byte 0")
    );
    let (at, msg) = err("userName eq \"x\")");
    assert_eq!(
        (at, msg.as_str()),
        (15, "unexpected `)` with no `(` to close")
    );
    let (at, msg) = err("userName eqq \"x\"");
    assert_eq!(at, 9);
    assert!(
        msg.starts_with("unknown operator `eqq` after `userName`"),
        "{msg}"
    );
    let (at, msg) = err("userName eq");
    assert_eq!(at, 11);
    assert!(
        msg.starts_with("missing comparison value after `eq`"),
        "{msg}"
    );
    let (at, msg) = err("userName eq bjensen");
    assert_eq!(at, 12);
    assert!(msg.contains("strings need double quotes"), "{msg}");
    let (at, msg) = err("userName pr garbage");
    assert_eq!(at, 12);
    assert!(
        msg.starts_with("unexpected `garbage` after a complete expression"),
        "{msg}"
    );
    let (at, msg) = err("userName");
    assert_eq!(at, 8);
    assert!(
        msg.starts_with("missing operator after `userName`"),
        "{msg}"
    );
    let (at, msg) = err("userName eq \"unterminated");
    assert_eq!(
        (at, msg.as_str()),
        (12, "unterminated string (a `\"` is missing)")
    );
    let (at, msg) = err(r#"userName eq "bad \q escape""#);
    assert_eq!(at, 18);
    assert!(msg.contains("invalid escape"), "{msg}");
    let (at, msg) = err("x eq 01");
    assert_eq!(at, 5);
    assert!(msg.starts_with("`01` is not a JSON number"), "{msg}");
    let (_, msg) = err("x eq 1e999");
    assert!(msg.contains("out of range"), "{msg}");
    let (at, msg) = err("userName eq\"x\"");
    assert_eq!(
        (at, msg.as_str()),
        (11, "expected a space between `eq` and `\"`")
    );
    let (at, msg) = err("");
    assert_eq!((at, msg.as_str()), (0, "empty filter"));
    let (at, _) = err("title pr and");
    assert_eq!(at, 12);
    // `or` may name an attribute, so the second `or` reads as one.
    let (at, msg) = err("title pr or or b pr");
    assert_eq!(at, 15);
    assert!(msg.starts_with("unknown operator `b` after `or`"), "{msg}");
    let (at, msg) = err("title pr or )");
    assert_eq!(at, 12);
    assert!(msg.contains("found `)`"), "{msg}");
    let (at, msg) = err("emails[type eq \"work\"");
    assert_eq!(
        (at, msg.as_str()),
        (21, "missing `]` to close the `[` at byte 6")
    );
    let (at, msg) = err("emails[type[value pr]]");
    assert_eq!(at, 11);
    assert!(msg.contains("do not nest"), "{msg}");
    let (at, msg) = err("emails[x.y pr]");
    assert_eq!(at, 7);
    assert!(msg.contains("inside `[…]`"), "{msg}");
    let (at, msg) = err("emails[type eq \"work\"].value eq \"x\"");
    assert_eq!(at, 22);
    assert!(msg.contains("is a PATCH path"), "{msg}");
    let (at, msg) = err("1abc pr");
    assert_eq!(at, 1);
    assert!(msg.starts_with("expected a space between `1`"), "{msg}");
    let (at, msg) = err("name.given.family pr");
    assert_eq!(at, 0);
    assert!(msg.contains("more than one sub-attribute"), "{msg}");
    let (at, msg) = err("user_ eq 1 and x:y pr");
    assert_eq!(at, 15);
    assert!(msg.contains("schema URI"), "{msg}");
    let (at, msg) = err("title pr & x pr");
    assert_eq!((at, msg.as_str()), (9, "unexpected character `&`"));
    let (at, msg) = err("not title pr");
    assert_eq!(at, 4);
    assert!(
        msg.contains("unknown operator `title` after `not`"),
        "{msg}"
    );
}

#[test]
fn hostile_input_is_bounded() {
    let ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(p(&ok), pr("a"));
    let deep = format!(
        "{}a pr{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let (at, msg) = err(&deep);
    assert_eq!(at, MAX_DEPTH);
    assert_eq!(
        msg,
        format!("nested deeper than {MAX_DEPTH} levels of parentheses and brackets")
    );
    let nots = format!(
        "{}a pr{}",
        "not (".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(err(&nots).1.starts_with("nested deeper"));
    // Far deeper than any stack: refused at the limit, not overflowing.
    let huge = "(".repeat(4000);
    assert!(err(&huge).1.starts_with("nested deeper"));
    let long = format!("a eq \"{}\"", "x".repeat(MAX_FILTER_LEN));
    let (at, msg) = err(&long);
    assert_eq!(at, MAX_FILTER_LEN);
    assert!(
        msg.starts_with(&format!("longer than {MAX_FILTER_LEN} bytes")),
        "{msg}"
    );
    // A long flat chain is fine (built in a loop), and writes back.
    let chain = vec!["a pr"; 500].join(" or ");
    assert!(chain.len() <= MAX_FILTER_LEN);
    let f = p(&chain);
    assert_eq!(f.to_string(), chain);
}

#[test]
fn attr_path_parsing() {
    assert_eq!(path("userName"), AttrPath::new("userName"));
    assert_eq!(
        path("name.givenName"),
        AttrPath::new("name").with_sub("givenName")
    );
    assert!(AttrPath::parse("").is_err());
    assert!(AttrPath::parse("9lives").is_err());
    assert!(AttrPath::parse("a.").is_err());
    assert!(AttrPath::parse(":a").is_err());
    assert!(path("NAME.GivenName").same_as(&path("name.givenname")));
    assert!(!path("name").same_as(&path("name.givenName")));
}
