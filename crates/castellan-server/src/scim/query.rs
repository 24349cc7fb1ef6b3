//! What every SCIM resource type shares: list queries and SearchRequests (RFC 7644 §3.4.2,
//! §3.4.3) with their filters and paging, `attributes`/`excludedAttributes` (§3.9), and
//! versions as ETags with `If-Match` (§3.14).

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use castellan_core::{validate, CoreError};
use castellan_scim::{filter, CoreSchema};
use serde::Deserialize;
use serde_json::{json, Value};

use super::discovery::MAX_RESULTS;
use super::user_json::get_ci;
use super::{scim_response, ScimError, ScimResult, LIST_SCHEMA};

/// A list of attribute paths as `attributes` and `excludedAttributes` give them (RFC 7644
/// §3.4.2.5, §3.9): comma-separated, the core User or Group schema's URN prefix optional, names
/// case-insensitive. Each is `(attribute, sub-attribute)`.
fn attribute_list(text: &str) -> Vec<(String, Option<String>)> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let t = [castellan_scim::CORE_USER, castellan_scim::CORE_GROUP]
                .iter()
                .find_map(|uri| {
                    t.get(..uri.len() + 1)
                        .filter(|p| p.eq_ignore_ascii_case(&format!("{uri}:")))
                        .map(|p| &t[p.len()..])
                })
                .unwrap_or(t);
            match t.split_once('.') {
                Some((a, sub)) => (a.to_owned(), Some(sub.to_owned())),
                None => (t.to_owned(), None),
            }
        })
        .collect()
}

/// Applies `attributes` (only these, with `id` and `schemas`, which are always returned) or
/// else `excludedAttributes` (all but these; never `id` or `schemas`) to a resource (RFC 7644
/// §3.9). A sub-attribute path keeps or drops that sub-attribute in the complex value (in each
/// value of a multi-valued one).
pub(super) fn project(resource: &mut Value, attributes: Option<&str>, excluded: Option<&str>) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    let always = |k: &str| k.eq_ignore_ascii_case("id") || k.eq_ignore_ascii_case("schemas");
    let subs_of = |v: &mut Value, keep: &dyn Fn(&str) -> bool| {
        let mut one = |x: &mut Value| {
            if let Some(o) = x.as_object_mut() {
                o.retain(|k, _| keep(k));
            }
        };
        match v {
            Value::Array(items) => items.iter_mut().for_each(&mut one),
            other => one(other),
        }
    };
    if let Some(list) = attributes.map(attribute_list).filter(|l| !l.is_empty()) {
        obj.retain(|k, _| always(k) || list.iter().any(|(a, _)| a.eq_ignore_ascii_case(k)));
        for (k, v) in obj.iter_mut() {
            let named: Vec<&String> = list
                .iter()
                .filter(|(a, _)| a.eq_ignore_ascii_case(k))
                .map(|(_, sub)| sub.as_ref())
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default();
            if !named.is_empty() {
                subs_of(v, &|sk| named.iter().any(|n| n.eq_ignore_ascii_case(sk)));
            }
        }
    } else if let Some(list) = excluded.map(attribute_list) {
        for (a, sub) in &list {
            if always(a) {
                continue;
            }
            match sub {
                None => obj.retain(|k, _| !k.eq_ignore_ascii_case(a)),
                Some(sub) => {
                    if let Some((_, v)) = obj.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(a)) {
                        subs_of(v, &|sk| !sk.eq_ignore_ascii_case(sub));
                    }
                }
            }
        }
    }
}

/// A resource's version as a weak entity tag (RFC 7644 §3.14, RFC 7232 §2.3): `W/"<version>"`.
pub(super) fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The versions an `If-Match` header names (RFC 7232 §3.1): `None` without the header or for
/// `*`; else the versions of its tags (`W/"v"` or `"v"`, comma-separated). A header that names
/// no version of ours is 412 `Precondition Failed`.
pub(super) fn if_match(headers: &HeaderMap) -> ScimResult<Option<Vec<i64>>> {
    let Some(h) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = h.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    let versions: Vec<i64> = text
        .split(',')
        .filter_map(|t| {
            let t = t.trim();
            let t = t.strip_prefix("W/").unwrap_or(t);
            t.strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<i64>().ok())
        })
        .collect();
    if versions.is_empty() {
        return Err(precondition_failed());
    }
    Ok(Some(versions))
}

/// The version a write must happen over, given the versions `If-Match` named (`tags`, see
/// [`if_match`]) and the resource's `current` one: `None` without the header; `current` when
/// the header names it; else 412.
pub(super) fn matched_version(tags: Option<&[i64]>, current: i64) -> ScimResult<Option<i64>> {
    match tags {
        None => Ok(None),
        Some(t) if t.contains(&current) => Ok(Some(current)),
        Some(_) => Err(precondition_failed()),
    }
}

/// 412: the resource changed since the version `If-Match` names.
pub(super) fn precondition_failed() -> ScimError {
    ScimError::new(
        StatusCode::PRECONDITION_FAILED,
        None,
        "the resource changed since that version (If-Match): read it again",
    )
}

/// A core error of a write made under `If-Match`: a stale version is 412.
pub(super) fn under_if_match<T>(e: CoreError, if_match: Option<T>) -> ScimError {
    match e {
        CoreError::Stale { .. } if if_match.is_some() => precondition_failed(),
        e => e.into(),
    }
}

/// The query of a list request (RFC 7644 §3.4.2). Numbers are read by hand so that a bad one
/// is a SCIM error.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    pub(super) filter: Option<String>,
    #[serde(rename = "startIndex")]
    pub(super) start_index: Option<String>,
    pub(super) count: Option<String>,
    pub(super) attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    pub(super) excluded_attributes: Option<String>,
}

/// A query string read into `T`; one that does not read (a parameter given twice) is a SCIM
/// error too.
pub(super) fn read_query<T>(q: Result<Query<T>, QueryRejection>) -> ScimResult<T> {
    q.map(|Query(q)| q).map_err(|e| {
        ScimError::bad(
            "invalidValue",
            format!("the query string could not be read: {}", e.body_text()),
        )
    })
}

fn number(name: &str, v: Option<&str>) -> ScimResult<Option<i64>> {
    v.map(|x| {
        x.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::bad("invalidValue", format!("`{name}` must be an integer")))
    })
    .transpose()
}

/// Puts the string literals of `eq` and `ne` comparisons in the form stored text has
/// ([`validate::normalized`]: trimmed, NFC), so that the User an IdP's `userName eq "…"` looks
/// for is found whenever a create with that `userName` would be refused as taken.
pub(super) fn normalize_literals(f: &mut filter::Filter) {
    use filter::{CompareOp, Filter};
    match f {
        Filter::Compare {
            op: CompareOp::Eq | CompareOp::Ne,
            value: Value::String(s),
            ..
        } => *s = validate::normalized(s),
        Filter::Compare { .. } | Filter::Present(_) => {}
        Filter::And(a, b) | Filter::Or(a, b) => {
            normalize_literals(a);
            normalize_literals(b);
        }
        Filter::Not(x) | Filter::ValuePath { filter: x, .. } => normalize_literals(x),
    }
}

/// A SearchRequest body (RFC 7644 §3.4.3: `filter`, `startIndex`, `count`, `attributes`,
/// `excludedAttributes`, the last two as lists) as a list query. Errors: 400 `invalidSyntax`
/// for a body that is not an object, `invalidValue` for a member of the wrong type.
pub(super) fn search_query(body: &Value) -> ScimResult<ListQuery> {
    if !body.is_object() {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a SearchRequest is a JSON object",
        ));
    }
    let text = |k: &str| -> ScimResult<Option<String>> {
        match get_ci(body, k) {
            None => Ok(None),
            Some(Value::String(t)) => Ok(Some(t.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(|l| Some(l.join(",")))
                .ok_or_else(|| ScimError::bad("invalidValue", format!("`{k}` must list strings"))),
            Some(_) => Err(ScimError::bad(
                "invalidValue",
                format!("`{k}` has the wrong type"),
            )),
        }
    };
    if get_ci(body, "filter").is_some_and(|f| !f.is_string()) {
        return Err(ScimError::bad("invalidValue", "`filter` must be a string"));
    }
    Ok(ListQuery {
        filter: text("filter")?,
        start_index: text("startIndex")?,
        count: text("count")?,
        attributes: text("attributes")?,
        excluded_attributes: text("excludedAttributes")?,
    })
}

/// The query's filter, parsed and checked against one of `schemas` (string literals of `eq`
/// and `ne` normalised as stored text); `None` without one. A filter that does not parse, or
/// compares in a way RFC 7644 §3.4.2.2 refuses for every schema, is 400 `invalidFilter`.
pub(super) fn query_filter(
    q: &ListQuery,
    schemas: &[CoreSchema],
) -> ScimResult<Option<filter::Filter>> {
    let Some(text) = q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let mut f = filter::parse(text).map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?;
    let refused: Vec<_> = schemas
        .iter()
        .filter_map(|sc| filter::check(&f, sc).err())
        .collect();
    if refused.len() == schemas.len() {
        if let Some(e) = refused.into_iter().next() {
            return Err(ScimError::bad("invalidFilter", e.to_string()));
        }
    }
    normalize_literals(&mut f);
    Ok(Some(f))
}

/// The schema of a resource among `schemas`: the one whose core URI its `schemas` names, else
/// the first.
fn schema_of(v: &Value, schemas: &[CoreSchema]) -> CoreSchema {
    let named = |sc: &CoreSchema| {
        v["schemas"]
            .as_array()
            .is_some_and(|l| l.iter().any(|u| u.as_str() == Some(sc.core_uri())))
    };
    schemas.iter().copied().find(named).unwrap_or(schemas[0])
}

/// A ListResponse (RFC 7644 §3.4.2) of the resources in `all` (of the resource types of
/// `schemas`: one, or every one for a search at the root) that match the query's filter,
/// the page `startIndex` (1-based; below 1 counts as 1) and `count` (capped at
/// [`MAX_RESULTS`]; below 0 counts as 0) ask for, each projected by `attributes` or
/// `excludedAttributes`.
pub(super) fn list_response(
    all: Vec<Value>,
    q: &ListQuery,
    schemas: &[CoreSchema],
) -> ScimResult<Response> {
    let start = number("startIndex", q.start_index.as_deref())?
        .unwrap_or(1)
        .max(1);
    let count = number("count", q.count.as_deref())?
        .unwrap_or(MAX_RESULTS as i64)
        .clamp(0, MAX_RESULTS as i64);
    let f = query_filter(q, schemas)?;
    let all: Vec<Value> = all
        .into_iter()
        .filter(|r| {
            f.as_ref()
                .is_none_or(|f| filter::matches(f, r, &schema_of(r, schemas)))
        })
        .collect();
    let total = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .map(|mut r| {
            project(
                &mut r,
                q.attributes.as_deref(),
                q.excluded_attributes.as_deref(),
            );
            r
        })
        .collect();
    Ok(scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    ))
}

/// A resource answer with `Location` and `ETag` (RFC 7644 §3.1, §3.14), projected by the
/// query's `attributes` or `excludedAttributes` when given.
pub(super) fn resource_response(
    status: StatusCode,
    mut v: Value,
    location: &str,
    version: i64,
    q: Option<&ListQuery>,
) -> Response {
    if let Some(q) = q {
        project(
            &mut v,
            q.attributes.as_deref(),
            q.excluded_attributes.as_deref(),
        );
    }
    let mut r = scim_response(status, &v);
    if let Ok(loc) = axum::http::HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    if let Ok(tag) = axum::http::HeaderValue::from_str(&etag(version)) {
        r.headers_mut().insert(header::ETAG, tag);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn if_match_reads_weak_and_strong_tags_and_lists() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match(&h).unwrap(), None);
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"7\""));
        assert_eq!(if_match(&h).unwrap(), Some(vec![7]));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"8\", W/\"9\""));
        assert_eq!(if_match(&h).unwrap(), Some(vec![8, 9]));
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&h).unwrap(), None);
        for bad in ["W/\"x\"", "W/\"+1\"", "\"\"", "7"] {
            h.insert(header::IF_MATCH, HeaderValue::from_static(bad));
            assert!(if_match(&h).is_err(), "{bad}");
        }
    }
}
