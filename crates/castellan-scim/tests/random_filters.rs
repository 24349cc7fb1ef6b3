//! Seeded random filters and PATCH paths, from the grammar and from a soup of tokens: parsing never panics, a
//! parsed filter writes back to the same tree, and evaluating and checking it never panic.
//! (The fuzz target `scim_filter` does the same from arbitrary bytes.)

use castellan_scim::filter::{self, MAX_FILTER_LEN};
use castellan_scim::{CoreSchema, PatchPath};
use serde_json::json;

const TOKENS: &[&str] = &[
    "userName",
    "emails",
    "emails.value",
    "name.givenName",
    "meta.created",
    "active",
    "type",
    "value",
    "primary",
    "members",
    "$ref",
    "not",
    "NOT",
    "and",
    "AND",
    "or",
    "Or",
    "eq",
    "ne",
    "co",
    "sw",
    "ew",
    "gt",
    "ge",
    "lt",
    "le",
    "pr",
    "PR",
    "(",
    ")",
    "[",
    "]",
    ".",
    "\"x\"",
    "\"\"",
    "\"a\\\"b\"",
    "\"\\u00e9\"",
    "\"2011-05-13T04:42:34Z\"",
    "1",
    "-1.5",
    "2e3",
    "0",
    "true",
    "False",
    "null",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "x:y",
    "a.b.c",
    "9",
    "\"",
    "\\",
    "&",
];

/// A small xorshift generator, so that failures are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PATHS: &[&str] = &[
    "userName",
    "emails",
    "emails.value",
    "name.givenName",
    "meta.created",
    "active",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
];
const SUBS: &[&str] = &["type", "value", "primary", "display"];
const OPS: &[&str] = &["eq", "NE", "co", "Sw", "ew", "gt", "ge", "lt", "le"];
const VALUES: &[&str] = &[
    "\"x\"",
    "\"\"",
    "\"a\\\"b\"",
    "\"\\u00e9\\n\"",
    "\"2011-05-13T04:42:34Z\"",
    "1",
    "-1.5",
    "2e3",
    "1E-7",
    "0",
    "true",
    "False",
    "null",
];

/// A filter from RFC 7644 Figure 1's grammar, keywords in random case, with now and then a
/// random token in place of a part.
fn grammar(rng: &mut Rng, depth: usize, in_brackets: bool, out: &mut String) {
    if rng.below(40) == 0 {
        out.push_str(TOKENS[rng.below(TOKENS.len())]);
        return;
    }
    let pick = |rng: &mut Rng, list: &[&'static str]| list[rng.below(list.len())];
    match if depth > 4 { 0 } else { rng.below(7) } {
        0 | 1 => {
            out.push_str(pick(rng, if in_brackets { SUBS } else { PATHS }));
            if rng.below(4) == 0 {
                out.push_str(" pr");
            } else {
                out.push(' ');
                out.push_str(pick(rng, OPS));
                out.push(' ');
                out.push_str(pick(rng, VALUES));
            }
        }
        2 => {
            out.push('(');
            grammar(rng, depth + 1, in_brackets, out);
            out.push(')');
        }
        3 => {
            out.push_str(if rng.below(2) == 0 { "not (" } else { "NOT(" });
            grammar(rng, depth + 1, in_brackets, out);
            out.push(')');
        }
        4 | 5 => {
            grammar(rng, depth + 1, in_brackets, out);
            out.push_str(pick(rng, &[" and ", " or ", " AND ", " Or "]));
            grammar(rng, depth + 1, in_brackets, out);
        }
        _ if !in_brackets => {
            out.push_str(pick(rng, &["emails", "members", "addresses"]));
            out.push('[');
            grammar(rng, depth + 1, true, out);
            out.push(']');
        }
        _ => grammar(rng, depth + 1, in_brackets, out),
    }
}

#[test]
fn random_filters() {
    let user = json!({
        "userName": "bjensen", "active": true, "name": {"givenName": "Barbara"},
        "emails": [{"value": "a@x", "type": "work", "primary": true}],
        "meta": {"created": "2011-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}}
    });
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut parsed, mut paths) = (0, 0);
    for round in 0..20_000 {
        let text = if round % 2 == 0 {
            let mut text = String::new();
            for i in 0..1 + rng.below(12) {
                if i > 0 && rng.below(5) != 0 {
                    text.push(' ');
                }
                text.push_str(TOKENS[rng.below(TOKENS.len())]);
            }
            text
        } else if round % 5 == 1 {
            // A PATCH path: `attr[valFilter]` with or without `.sub`.
            let mut text = String::from("emails[");
            grammar(&mut rng, 1, true, &mut text);
            text.push(']');
            if rng.below(2) == 0 {
                text.push_str(".value");
            }
            text
        } else {
            let mut text = String::new();
            grammar(&mut rng, 0, false, &mut text);
            text
        };
        if let Ok(path) = PatchPath::parse(&text, &CoreSchema::User) {
            paths += 1;
            let written = path.to_string();
            if written.len() <= MAX_FILTER_LEN {
                let back = PatchPath::parse(&written, &CoreSchema::User)
                    .unwrap_or_else(|e| panic!("path {text:?} written as {written:?}: {e}"));
                assert_eq!(back, path, "path {text:?} written as {written:?}");
            }
        }
        let Ok(f) = filter::parse(&text) else {
            continue;
        };
        parsed += 1;
        let written = f.to_string();
        if written.len() <= MAX_FILTER_LEN {
            let back = filter::parse(&written)
                .unwrap_or_else(|e| panic!("{text:?} written as {written:?}: {e}"));
            assert_eq!(back, f, "{text:?} written as {written:?}");
        }
        let _ = filter::matches(&f, &user, &CoreSchema::User);
        let _ = filter::check(&f, &CoreSchema::User);
    }
    // The grammar's rounds nearly always parse.
    assert!(parsed > 6_000, "only {parsed} parsed");
    assert!(paths > 1_000, "only {paths} PATCH paths parsed");
}
