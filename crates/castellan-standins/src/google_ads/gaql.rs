//! The stand-in's `googleAds:search`: the part of Google Ads Query Language the connector
//! sends (see the [module](super)), over the two user access resources.

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::{invalid, Access, Ads, Invitation};
use crate::kit;

const ACCESS_FIELDS: [&str; 6] = [
    "resource_name",
    "user_id",
    "email_address",
    "access_role",
    "access_creation_date_time",
    "inviter_user_email_address",
];
const INVITATION_FIELDS: [&str; 6] = [
    "resource_name",
    "invitation_id",
    "email_address",
    "access_role",
    "creation_date_time",
    "invitation_status",
];

/// A parsed query: the resource, its selected fields and `field = value` conditions (values
/// as text: numbers, strings without their quotes, enum constants).
struct Query {
    resource: String,
    fields: Vec<String>,
    conditions: Vec<(String, String)>,
}

fn query_error(code: &str, message: &str) -> Response {
    invalid("queryError", code, message)
}

/// The position of the keyword `kw` (any case, a whole word) in `q`.
fn keyword(q: &str, kw: &str) -> Option<usize> {
    let upper = q.to_ascii_uppercase();
    upper.match_indices(kw).map(|(i, _)| i).find(|&i| {
        let before = upper[..i].chars().last().is_none_or(char::is_whitespace);
        let after = upper[i + kw.len()..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace);
        before && after
    })
}

fn parse(q: &str) -> Result<Query, Response> {
    let q = q.trim();
    let select = keyword(q, "SELECT").filter(|i| *i == 0);
    let Some(_) = select else {
        return Err(query_error("EXPECTED_SELECT", "SELECT is missing."));
    };
    let Some(from) = keyword(q, "FROM") else {
        return Err(query_error("EXPECTED_FROM", "Missing FROM clause."));
    };
    let fields: Vec<String> = q[6..from].split(',').map(|f| f.trim().to_owned()).collect();
    let rest = &q[from + 4..];
    let (resource, conditions) = match keyword(rest, "WHERE") {
        Some(w) => (rest[..w].trim(), Some(&rest[w + 5..])),
        None => (rest.trim(), None),
    };
    let known: &[&str] = match resource {
        "customer_user_access" => &ACCESS_FIELDS,
        "customer_user_access_invitation" => &INVITATION_FIELDS,
        _ => {
            let msg = "Invalid resource type was specified in the FROM clause.";
            return Err(query_error("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", msg));
        }
    };
    let field_ok = |f: &str| {
        f.strip_prefix(resource)
            .and_then(|f| f.strip_prefix('.'))
            .is_some_and(|f| known.contains(&f))
    };
    if fields.iter().any(|f| !field_ok(f)) {
        let msg = "Query contains one or more unrecognized fields.";
        return Err(query_error("UNRECOGNIZED_FIELD", msg));
    }
    let mut conds = Vec::new();
    for c in conditions.map(split_and).unwrap_or_default() {
        let Some((field, value)) = c.split_once('=') else {
            return Err(query_error("BAD_OPERATOR", "Invalid operator encountered."));
        };
        let (field, value) = (field.trim(), value.trim());
        if !field_ok(field) {
            let msg = "Query contains one or more unrecognized fields.";
            return Err(query_error("UNRECOGNIZED_FIELD", msg));
        }
        let quoted = ['"', '\''].iter().find_map(|q| {
            value
                .strip_prefix(*q)
                .and_then(|v| v.strip_suffix(*q))
                .map(str::to_owned)
        });
        let bare = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        let Some(value) = quoted.or(bare.then(|| value.to_owned())) else {
            return Err(query_error("BAD_VALUE", "Value is invalid."));
        };
        let name = field.rsplit('.').next().unwrap_or(field);
        conds.push((name.to_owned(), value));
    }
    let fields = fields
        .iter()
        .map(|f| f.rsplit('.').next().unwrap_or(f).to_owned())
        .collect();
    Ok(Query {
        resource: resource.to_owned(),
        fields,
        conditions: conds,
    })
}

/// The conditions of a `WHERE` clause, split at `AND` (any case).
fn split_and(w: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = w;
    while let Some(i) = keyword(rest, "AND") {
        out.push(rest[..i].trim().to_owned());
        rest = &rest[i + 3..];
    }
    out.push(rest.trim().to_owned());
    out
}

/// `user_access_role` → `userAccessRole` (proto3 JSON names).
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in snake.chars() {
        match (c, up) {
            ('_', _) => up = true,
            (c, true) => {
                out.push(c.to_ascii_uppercase());
                up = false;
            }
            (c, false) => out.push(c),
        }
    }
    out
}

/// A row's fields by name, as text.
fn access_fields(customer: &str, a: &Access) -> Vec<(&'static str, Value)> {
    vec![
        (
            "resource_name",
            json!(format!(
                "customers/{customer}/customerUserAccesses/{}",
                a.user_id
            )),
        ),
        ("user_id", json!(a.user_id.to_string())),
        ("email_address", json!(a.email)),
        ("access_role", json!(a.role)),
        ("access_creation_date_time", json!("2026-01-05 09:15:00")),
        ("inviter_user_email_address", json!("admin@standin.test")),
    ]
}

fn invitation_fields(customer: &str, i: &Invitation) -> Vec<(&'static str, Value)> {
    vec![
        (
            "resource_name",
            json!(format!(
                "customers/{customer}/customerUserAccessInvitations/{}",
                i.id
            )),
        ),
        ("invitation_id", json!(i.id.to_string())),
        ("email_address", json!(i.email)),
        ("access_role", json!(i.role)),
        ("creation_date_time", json!("2026-01-05 09:15:00")),
        ("invitation_status", json!(i.status)),
    ]
}

/// Whether a row's fields meet every condition (strings without case).
fn matches(row: &[(&str, Value)], conds: &[(String, String)]) -> bool {
    conds.iter().all(|(f, v)| {
        row.iter()
            .find(|(n, _)| n == f)
            .and_then(|(_, x)| x.as_str())
            .is_some_and(|x| x.eq_ignore_ascii_case(v))
    })
}

/// Runs `body.query` on `customer`, one page from `body.pageToken` (an offset).
pub(super) fn search(ads: &Ads, customer: &str, body: &Value) -> Response {
    let q = match parse(body["query"].as_str().unwrap_or("")) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let offset = match body["pageToken"].as_str().filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match t.strip_prefix("offset-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                let msg = "Next page token specified in user request is invalid.";
                return invalid("requestError", "INVALID_PAGE_TOKEN", msg);
            }
        },
    };
    let all = ads.customers.lock().unwrap();
    let Some(c) = all.iter().find(|c| c.id == customer) else {
        return invalid(
            "requestError",
            "INVALID_CUSTOMER_ID",
            "Customer ID is invalid.",
        );
    };
    let (key, rows): (&str, Vec<Vec<(&str, Value)>>) = match q.resource.as_str() {
        "customer_user_access" => (
            "customerUserAccess",
            c.accesses
                .iter()
                .map(|a| access_fields(customer, a))
                .collect(),
        ),
        _ => (
            "customerUserAccessInvitation",
            c.invitations
                .iter()
                .map(|i| invitation_fields(customer, i))
                .collect(),
        ),
    };
    let hits: Vec<Value> = rows
        .into_iter()
        .filter(|r| matches(r, &q.conditions))
        .map(|r| {
            let mut o = Map::new();
            for (name, value) in r {
                if name == "resource_name" || q.fields.iter().any(|f| f == name) {
                    o.insert(camel(name), value);
                }
            }
            json!({ key: o })
        })
        .collect();
    let size = ads.page_rows.load(Ordering::Relaxed);
    let more = hits.len() > offset + size;
    let page: Vec<Value> = hits.into_iter().skip(offset).take(size).collect();
    let mask: Vec<String> = q
        .fields
        .iter()
        .map(|f| format!("{key}.{}", camel(f)))
        .collect();
    let mut out = json!({"results": page, "fieldMask": mask.join(",")});
    if more {
        out["nextPageToken"] = json!(format!("offset-{}", offset + size));
    }
    kit::reply(StatusCode::OK, vec![], out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse() {
        let q = parse(
            "SELECT customer_user_access.user_id, customer_user_access.access_role FROM \
             customer_user_access WHERE customer_user_access.user_id = 7 AND \
             customer_user_access.email_address = \"a@b.c\"",
        )
        .unwrap_or_else(|_| panic!("parses"));
        assert_eq!(q.fields, ["user_id", "access_role"]);
        assert_eq!(
            q.conditions,
            [
                ("user_id".into(), "7".into()),
                ("email_address".into(), "a@b.c".into())
            ]
        );
        assert!(parse("SELECT customer_user_access.nope FROM customer_user_access").is_err());
        assert!(parse("SELECT campaign.id FROM campaign").is_err());
        assert!(parse("FROM customer_user_access").is_err());
        assert_eq!(camel("access_creation_date_time"), "accessCreationDateTime");
    }
}
