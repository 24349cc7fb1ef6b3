//! Evaluating a filter against a SCIM resource (RFC 7644 §3.4.2.2).

use super::{CompareOp, Filter};
use crate::datetime;
use crate::json::{get_ci, is_unassigned};
use crate::path::AttrPath;
use crate::schema::AttributeTypes;
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;

/// Whether `resource` (a SCIM resource as JSON, e.g. a User) matches `filter`
/// (RFC 7644 §3.4.2.2).
///
/// - Attribute names and schema URIs are found case-insensitively (RFC 7643 §2.1). A path
///   with the URI of an extension looks into that extension's object
///   (`resource["urn:…:enterprise:2.0:User"]["employeeNumber"]`); with the core schema's URI
///   (per [`AttributeTypes::is_core_schema`]), at the top level; without URI, at the top level.
/// - A multi-valued attribute matches when any of its values does. A comparison on a complex
///   multi-valued attribute without sub-attribute (`emails co "@example.com"`) compares the
///   values' `value` sub-attribute. `attr[filter]` matches when some value matches `filter`.
/// - Strings compare case-insensitively unless [`AttributeTypes::case_exact`]; `gt`/`ge`/`lt`/
///   `le` order strings lexicographically (by code point, after lower-casing when not
///   caseExact), numbers numerically, and [`AttributeTypes::is_date_time`] values as instants
///   (RFC 3339 with a time zone; unparseable ones as strings). `co`/`sw`/`ew` apply to
///   strings only. A literal of another type than the value never matches, and ordering
///   booleans never matches ([`super::check`] reports those as errors instead).
/// - `pr` matches a value that is not null, `""`, `[]` or `{}`. `eq null` matches when the
///   attribute has no such value (is unassigned, RFC 7643 §2.5), `ne null` when it has one.
/// - `ne` is the negation of `eq`: `emails ne "a@x"` matches when no email is `a@x`, and an
///   unassigned attribute is "not equal" to any value.
pub fn matches(filter: &Filter, resource: &Value, schema: &dyn AttributeTypes) -> bool {
    eval(filter, &Ctx::Resource(resource), schema)
}

/// What a filter's paths are relative to.
#[derive(Clone, Copy)]
pub(crate) enum Ctx<'a> {
    /// The resource: paths are full attribute paths.
    Resource(&'a Value),
    /// One value of the multi-valued attribute `parent` (inside `parent[…]`): paths name its
    /// sub-attributes.
    Element {
        parent: &'a AttrPath,
        value: &'a Value,
    },
}

/// Whether one value of the multi-valued attribute `parent` matches the filter of a value path
/// (`parent[filter]`), as PATCH needs it.
pub(crate) fn element_matches(
    filter: &Filter,
    parent: &AttrPath,
    value: &Value,
    schema: &dyn AttributeTypes,
) -> bool {
    eval(filter, &Ctx::Element { parent, value }, schema)
}

/// The object that holds the attributes of `uri`'s schema in `resource`: the extension object
/// named `uri`, or the resource itself for the core schema or no URI.
pub(crate) fn schema_object<'a>(
    resource: &'a Map<String, Value>,
    uri: Option<&str>,
    schema: &dyn AttributeTypes,
) -> Option<&'a Map<String, Value>> {
    match uri {
        None => Some(resource),
        Some(uri) => match get_ci(resource, uri) {
            Some(Value::Object(ext)) => Some(ext),
            _ if schema.is_core_schema(uri) => Some(resource),
            _ => None,
        },
    }
}

fn push_flat<'a>(out: &mut Vec<&'a Value>, v: &'a Value) {
    match v {
        Value::Array(items) => out.extend(items.iter()),
        v => out.push(v),
    }
}

/// The values `path` selects in `ctx` (arrays flattened), and the path to ask the schema about.
fn select<'a>(
    ctx: &Ctx<'a>,
    path: &AttrPath,
    schema: &dyn AttributeTypes,
) -> (Vec<&'a Value>, AttrPath) {
    let (found, schema_path, sub): (Option<&'a Value>, AttrPath, Option<&str>) = match *ctx {
        Ctx::Resource(resource) => {
            let found = resource
                .as_object()
                .and_then(|r| schema_object(r, path.uri.as_deref(), schema))
                .and_then(|o| get_ci(o, &path.attr));
            (found, path.clone(), path.sub_attr.as_deref())
        }
        Ctx::Element { parent, value } => {
            let schema_path = parent.with_sub(&path.attr);
            // A sub-attribute below a sub-attribute does not exist in SCIM (RFC 7643 §2.3.8).
            if path.sub_attr.is_some() {
                return (Vec::new(), schema_path);
            }
            let found = match value {
                Value::Object(o) => get_ci(o, &path.attr),
                // A simple multi-valued attribute's values are their own `value`.
                v if path.attr.eq_ignore_ascii_case("value") => Some(v),
                _ => None,
            };
            (found, schema_path, None)
        }
    };
    let mut top = Vec::new();
    if let Some(v) = found {
        push_flat(&mut top, v);
    }
    let Some(sub) = sub else {
        return (top, schema_path);
    };
    let mut out = Vec::new();
    for v in top {
        if let Some(x) = v.as_object().and_then(|o| get_ci(o, sub)) {
            push_flat(&mut out, x);
        }
    }
    (out, schema_path)
}

fn eval(filter: &Filter, ctx: &Ctx<'_>, schema: &dyn AttributeTypes) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, ctx, schema) && eval(b, ctx, schema),
        Filter::Or(a, b) => eval(a, ctx, schema) || eval(b, ctx, schema),
        Filter::Not(a) => !eval(a, ctx, schema),
        Filter::Present(path) => {
            let (values, _) = select(ctx, path, schema);
            values.iter().any(|v| !is_unassigned(v))
        }
        Filter::ValuePath { path, filter } => {
            let (values, schema_path) = select(ctx, &path.parent(), schema);
            values.iter().any(|v| {
                eval(
                    filter,
                    &Ctx::Element {
                        parent: &schema_path,
                        value: v,
                    },
                    schema,
                )
            })
        }
        Filter::Compare { path, op, value } => {
            let (values, mut schema_path) = select(ctx, path, schema);
            // `emails co "x"`: the `value` sub-attribute of complex values.
            let complex = values.iter().any(|v| v.is_object());
            let values: Vec<&Value> = values
                .into_iter()
                .filter_map(|v| match v {
                    Value::Object(o) => get_ci(o, "value"),
                    v => Some(v),
                })
                .collect();
            if complex && schema_path.sub_attr.is_none() {
                schema_path = schema_path.with_sub("value");
            }
            let case_exact = schema.case_exact(&schema_path);
            let date_time = schema.is_date_time(&schema_path);
            let any_eq = |lit: &Value| {
                values
                    .iter()
                    .any(|v| compare(v, CompareOp::Eq, lit, case_exact, date_time))
            };
            match op {
                _ if value.is_null() => {
                    let assigned = values.iter().any(|v| !is_unassigned(v));
                    match op {
                        CompareOp::Eq => !assigned,
                        CompareOp::Ne => assigned,
                        _ => false,
                    }
                }
                CompareOp::Ne => !any_eq(value),
                op => values
                    .iter()
                    .any(|v| compare(v, *op, value, case_exact, date_time)),
            }
        }
    }
}

fn number_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn ordered(ord: Option<Ordering>, op: CompareOp) -> bool {
    let Some(ord) = ord else { return false };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// One value against the literal.
fn compare(v: &Value, op: CompareOp, lit: &Value, case_exact: bool, date_time: bool) -> bool {
    match (v, lit) {
        (Value::String(a), Value::String(b)) => {
            if date_time && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                if let (Some(x), Some(y)) = (datetime::parse(a), datetime::parse(b)) {
                    return ordered(Some(x.cmp(&y)), op);
                }
            }
            let (a, b) = if case_exact {
                (a.clone(), b.clone())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                op => ordered(Some(a.cmp(&b)), op),
            }
        }
        (Value::Number(a), Value::Number(b)) => ordered(number_cmp(a, b), op),
        (Value::Bool(a), Value::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        _ => false,
    }
}
