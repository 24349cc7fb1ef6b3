//! Applying PATCH operations (RFC 7644 §3.5.2): expanding each into edits at attribute paths,
//! normalizing values, and enforcing mutability and required attributes.

use super::edit;
use super::{Op, PatchError, PatchOp, PatchPath, MAX_OPERATIONS};
use crate::error::ScimType;
use crate::filter::{eval::schema_object, Filter};
use crate::json::{get_ci, is_unassigned, value_eq};
use crate::path::{parse_at, AttrPath};
use crate::schema::{AttributeTypes, Mutability};
use serde_json::{Map, Value};

/// Applies `ops` to `resource` in order (RFC 7644 §3.5.2), all or nothing: on error the
/// resource is left as it was (the operations run on a copy that replaces it at the end).
///
/// - `add` (§3.5.2.1): to a multi-valued attribute appends the values, except one whose
///   `value` sub-attribute (or whole value) is already there, which is merged into it; to a
///   complex attribute sets the given sub-attributes; elsewhere sets the value. With a value
///   filter, sets the sub-attribute (or merges the value) on the matching values; when none
///   match and the filter is `eq` comparisons joined by `and`, adds a value made of them
///   (Entra ID's `emails[type eq "work"].value`), else `noTarget`.
/// - `replace` (§3.5.2.3): replaces a multi-valued attribute's values, merges sub-attributes
///   into a complex one, sets others (a missing attribute is added); with a value filter,
///   replaces the matching values or their sub-attribute, `noTarget` when none match. A null
///   value unassigns.
/// - `remove` (§3.5.2.2): unassigns the attribute or sub-attribute; with a value filter,
///   removes the matching values (or their sub-attribute), `noTarget` when none match; with
///   path `members` and a `value` array (Entra ID), removes those values. Emptied complex and
///   multi-valued attributes, and emptied extensions, are removed.
/// - Without `path`, `add` and `replace` take each member of the value object as a path:
///   `name.givenName` and `urn:…:enterprise:2.0:User:employeeNumber` keys, and schema URI keys
///   holding that schema's attributes, are understood.
/// - A `primary: true` written makes the other values of that attribute non-primary
///   (RFC 7644 §3.5.2). Extensions that gain an object are added to `schemas`.
/// - Values of boolean attributes ([`AttributeTypes::is_boolean`]) given as the strings
///   `"true"`/`"false"` in any case become booleans (Entra ID sends `"False"`); another
///   non-boolean is `invalidValue`.
///
/// Errors (RFC 7644 §3.12, Table 9), their detail starting `Operations[i] (op path): `:
/// `mutability` when a `readOnly` attribute would change (writing its current value is
/// accepted, as Okta's group rename sends `id` along), an `immutable` one that has a value would
/// change, or a required one would become unassigned; `noTarget` as above; `invalidPath` for
/// sub-attributes of a simple attribute or filters on a single-valued one; `invalidValue` for
/// missing or ill-typed values and more than [`MAX_OPERATIONS`] operations.
pub fn apply(
    resource: &mut Value,
    ops: &[PatchOp],
    schema: &dyn AttributeTypes,
) -> Result<(), PatchError> {
    if ops.len() > MAX_OPERATIONS {
        return Err(PatchError::new(
            ScimType::InvalidValue,
            format!(
                "{} operations; at most {MAX_OPERATIONS} are accepted",
                ops.len()
            ),
        ));
    }
    let mut work = resource.clone();
    let Value::Object(obj) = &mut work else {
        return Err(PatchError::new(
            ScimType::InvalidValue,
            "the resource is not a JSON object",
        ));
    };
    for (i, op) in ops.iter().enumerate() {
        apply_one(obj, op, schema).map_err(|e| e.in_op(i, op))?;
    }
    *resource = work;
    Ok(())
}

/// One edit at one attribute path.
enum Edit<'a> {
    Set(AttrPath, Value),
    Remove(AttrPath, Option<&'a Value>),
    Filtered(AttrPath, Filter, Option<String>, Option<Value>),
    DropSchema(String),
}

fn err(kind: ScimType, detail: String) -> PatchError {
    PatchError::new(kind, detail)
}

/// Whether `uri` names a schema of this resource: per the schema, or listed in its `schemas`.
fn is_resource_schema(res: &Map<String, Value>, uri: &str, schema: &dyn AttributeTypes) -> bool {
    schema.is_schema_uri(uri)
        || get_ci(res, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|l| {
                l.iter()
                    .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(uri)))
            })
}

/// The edits for a schema's attributes given as an object (a path-less value's schema key, or
/// a schema path's value).
fn schema_edits(
    uri: &str,
    value: &Value,
    schema: &dyn AttributeTypes,
    out: &mut Vec<Edit<'_>>,
) -> Result<(), PatchError> {
    let Value::Object(attrs) = value else {
        return Err(err(
            ScimType::InvalidValue,
            format!("`{uri}` needs an object of its attributes, not {value}"),
        ));
    };
    let uri = (!schema.is_core_schema(uri)).then(|| uri.to_string());
    for (key, v) in attrs {
        let mut path = parse_at(key, 0).map_err(|e| {
            err(
                ScimType::InvalidPath,
                format!(
                    "`{key}` in `{}`: {e}",
                    uri.as_deref().unwrap_or("the core schema")
                ),
            )
        })?;
        if path.uri.is_some() {
            return Err(err(
                ScimType::InvalidPath,
                format!("`{key}` inside a schema object names a schema URI"),
            ));
        }
        path.uri.clone_from(&uri);
        out.push(Edit::Set(path, v.clone()));
    }
    Ok(())
}

/// The edits of an operation on a whole schema (`path` is a schema URI).
fn whole_schema<'a>(
    op: &PatchOp,
    uri: &str,
    schema: &dyn AttributeTypes,
) -> Result<Vec<Edit<'a>>, PatchError> {
    if op.op != Op::Remove {
        let mut out = Vec::new();
        schema_edits(
            uri,
            op.value.as_ref().unwrap_or(&Value::Null),
            schema,
            &mut out,
        )?;
        return Ok(out);
    }
    if schema.is_core_schema(uri) {
        return Err(err(
            ScimType::InvalidPath,
            format!("the core schema `{uri}` cannot be removed"),
        ));
    }
    Ok(vec![Edit::DropSchema(uri.to_string())])
}

/// What `op` does, as edits at attribute paths.
fn edits<'a>(
    res: &Map<String, Value>,
    op: &'a PatchOp,
    schema: &dyn AttributeTypes,
) -> Result<Vec<Edit<'a>>, PatchError> {
    let value = op.value.as_ref();
    // A schema URI that parsed as an attribute path (an extension the schema does not know
    // but the resource lists) is a schema path too.
    if let Some(PatchPath::Attr(p)) = &op.path {
        if p.uri.is_some()
            && p.sub_attr.is_none()
            && is_resource_schema(res, &p.to_string(), schema)
        {
            return whole_schema(op, &p.to_string(), schema);
        }
    }
    let mut out = Vec::new();
    match (op.op, &op.path) {
        (_, Some(PatchPath::Schema(uri))) => return whole_schema(op, uri, schema),
        (Op::Remove, None) => {
            return Err(err(
                ScimType::NoTarget,
                "remove needs a `path` (RFC 7644 §3.5.2.2)".into(),
            ))
        }
        (_, None) => {
            let Some(Value::Object(members)) = value else {
                return Err(err(
                    ScimType::InvalidValue,
                    "without `path` the value must be an object of attributes".into(),
                ));
            };
            for (key, v) in members {
                if is_resource_schema(res, key, schema) && v.is_object() {
                    schema_edits(key, v, schema, &mut out)?;
                    continue;
                }
                let bad =
                    |e: String| err(ScimType::InvalidPath, format!("value member `{key}`: {e}"));
                if key.contains('[') {
                    // `"emails[type eq \"work\"].value": "…"`, a value path as a key.
                    match PatchPath::parse(key, schema).map_err(|e| bad(e.detail().to_string()))? {
                        PatchPath::ValuePath {
                            path,
                            filter,
                            sub_attr,
                        } => {
                            out.push(Edit::Filtered(path, filter, sub_attr, Some(v.clone())));
                        }
                        other => return Err(bad(format!("unexpected path {other}"))),
                    }
                    continue;
                }
                let path = parse_at(key, 0).map_err(|e| bad(e.to_string()))?;
                out.push(Edit::Set(path, v.clone()));
            }
        }
        (Op::Remove, Some(PatchPath::Attr(p))) => out.push(Edit::Remove(p.clone(), value)),
        (_, Some(PatchPath::Attr(p))) => {
            let Some(v) = value else {
                return Err(err(
                    ScimType::InvalidValue,
                    format!("{} needs a `value`", op.op.as_str()),
                ));
            };
            out.push(Edit::Set(p.clone(), v.clone()));
        }
        (
            _,
            Some(PatchPath::ValuePath {
                path,
                filter,
                sub_attr,
            }),
        ) => {
            if op.op == Op::Add && value.is_none_or(Value::is_null) {
                return Err(err(ScimType::InvalidValue, "add needs a value".into()));
            }
            out.push(Edit::Filtered(
                path.clone(),
                filter.clone(),
                sub_attr.clone(),
                value.cloned(),
            ));
        }
    }
    Ok(out)
}

/// `"True"`/`"false"` to booleans for boolean attributes, recursively one level into complex
/// values (`emails[…].primary`); other values of boolean attributes are `invalidValue`.
fn normalize(
    value: Value,
    path: &AttrPath,
    schema: &dyn AttributeTypes,
) -> Result<Value, PatchError> {
    if schema.is_boolean(path) {
        return match value {
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            v @ (Value::Bool(_) | Value::Null) => Ok(v),
            v => Err(err(
                ScimType::InvalidValue,
                format!("`{path}` is a boolean, not {v}"),
            )),
        };
    }
    match value {
        Value::Object(o) if path.sub_attr.is_none() => {
            let mut out = Map::new();
            for (k, v) in o {
                let v = normalize(v, &path.with_sub(&k), schema)?;
                out.insert(k, v);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) if path.sub_attr.is_none() => items
            .into_iter()
            .map(|v| normalize(v, path, schema))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        v => Ok(v),
    }
}

/// The attribute an edit changes, for the mutability checks.
fn touched(edit: &Edit<'_>) -> Option<AttrPath> {
    match edit {
        Edit::Set(p, _) | Edit::Remove(p, _) => Some(p.clone()),
        Edit::Filtered(p, _, sub, _) => Some(match sub {
            Some(s) => p.with_sub(s),
            None => p.clone(),
        }),
        Edit::DropSchema(_) => None,
    }
}

/// The current value at `path` (a sub-attribute across all values), `null` when unassigned.
fn snapshot(res: &Map<String, Value>, path: &AttrPath, schema: &dyn AttributeTypes) -> Value {
    let Some(v) =
        schema_object(res, path.uri.as_deref(), schema).and_then(|o| get_ci(o, &path.attr))
    else {
        return Value::Null;
    };
    let Some(sub) = &path.sub_attr else {
        return v.clone();
    };
    let pick = |v: &Value| {
        v.as_object()
            .and_then(|o| get_ci(o, sub))
            .cloned()
            .unwrap_or(Value::Null)
    };
    match v {
        Value::Array(list) => Value::Array(list.iter().map(pick).collect()),
        v => pick(v),
    }
}

/// What must not change at `path`, if anything.
fn guarded(path: &AttrPath, schema: &dyn AttributeTypes) -> Option<Mutability> {
    let parent_read_only =
        path.sub_attr.is_some() && schema.mutability(&path.parent()) == Mutability::ReadOnly;
    match schema.mutability(path) {
        _ if parent_read_only => Some(Mutability::ReadOnly),
        m @ (Mutability::ReadOnly | Mutability::Immutable) => Some(m),
        _ => None,
    }
}

fn apply_one(
    res: &mut Map<String, Value>,
    op: &PatchOp,
    schema: &dyn AttributeTypes,
) -> Result<(), PatchError> {
    for edit in edits(res, op, schema)? {
        let path = touched(&edit);
        let guard = path
            .as_ref()
            .and_then(|p| guarded(p, schema).map(|m| (p, m)));
        let required = path
            .as_ref()
            .filter(|p| p.sub_attr.is_none() && schema.is_required(p));
        let before = guard.map(|(p, _)| snapshot(res, p, schema));
        match edit {
            Edit::Set(p, v) => {
                let v = normalize(v, &p, schema)?;
                edit::set(res, op.op, &p, v, schema)?;
            }
            Edit::Remove(p, values) => {
                edit::remove(res, &p, values, schema)?;
                if let Some(uri) = &p.uri {
                    edit::tidy_extension(res, uri, schema);
                }
            }
            Edit::Filtered(p, filter, sub, v) => {
                let target = sub.as_deref().map_or_else(|| p.clone(), |s| p.with_sub(s));
                let v = v.map(|v| normalize(v, &target, schema)).transpose()?;
                edit::filtered(res, op.op, &p, &filter, sub.as_deref(), v, schema)?;
                if op.op == Op::Remove {
                    if let Some(uri) = &p.uri {
                        edit::tidy_extension(res, uri, schema);
                    }
                }
            }
            Edit::DropSchema(uri) => edit::drop_extension(res, &uri),
        }
        if let (Some((p, m)), Some(before)) = (guard, before) {
            let after = snapshot(res, p, schema);
            if !value_eq(&before, &after, true) {
                match m {
                    Mutability::ReadOnly => {
                        return Err(err(
                            ScimType::Mutability,
                            format!("`{p}` is readOnly (RFC 7643 §2.2)"),
                        ))
                    }
                    _ if !is_unassigned(&before) => {
                        return Err(err(
                            ScimType::Mutability,
                            format!(
                                "`{p}` is immutable: it cannot change once set (RFC 7643 §2.2)"
                            ),
                        ))
                    }
                    _ => {}
                }
            }
        }
        if let Some(p) = required {
            let after = snapshot(res, p, schema);
            if is_unassigned(&after) {
                return Err(err(
                    ScimType::Mutability,
                    format!("`{p}` is required and cannot be removed (RFC 7644 §3.5.2.2)"),
                ));
            }
        }
    }
    Ok(())
}
