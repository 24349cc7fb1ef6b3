//! The edits PATCH makes to a resource object: add, replace and remove at one attribute path,
//! with or without a value filter (RFC 7644 §3.5.2.1-3).

use super::{Op, PatchError};
use crate::error::ScimType;
use crate::filter::{eval::element_matches, CompareOp, Filter};
use crate::json::{get_ci, get_ci_mut, key_ci, remove_ci, set_ci, value_eq};
use crate::path::AttrPath;
use crate::schema::AttributeTypes;
use serde_json::{Map, Value};

type Obj = Map<String, Value>;

fn err(kind: ScimType, detail: String) -> PatchError {
    PatchError::new(kind, detail)
}

/// Adds `uri` to the resource's `schemas` array when it is not there (RFC 7643 §3: an extension
/// in use is listed).
fn add_schema_uri(res: &mut Obj, uri: &str) {
    if let Some(Value::Array(list)) = get_ci_mut(res, "schemas") {
        if !list
            .iter()
            .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(uri)))
        {
            list.push(Value::String(uri.to_string()));
        }
    }
}

/// Removes the extension object `uri` and its `schemas` entry.
pub(super) fn drop_extension(res: &mut Obj, uri: &str) {
    remove_ci(res, uri);
    if let Some(Value::Array(list)) = get_ci_mut(res, "schemas") {
        list.retain(|u| !u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(uri)));
    }
}

/// Removes the extension object `uri` when a removal left it empty.
pub(super) fn tidy_extension(res: &mut Obj, uri: &str, schema: &dyn AttributeTypes) {
    if schema.is_core_schema(uri) {
        return;
    }
    if matches!(get_ci(res, uri), Some(Value::Object(o)) if o.is_empty()) {
        drop_extension(res, uri);
    }
}

/// The object holding the attributes of schema `uri`: the resource for the core schema (or no
/// URI), else the extension object, created (and listed in `schemas`) when `create`.
fn container<'a>(
    res: &'a mut Obj,
    uri: Option<&str>,
    schema: &dyn AttributeTypes,
    create: bool,
) -> Result<Option<&'a mut Obj>, PatchError> {
    let Some(uri) = uri else {
        return Ok(Some(res));
    };
    let key = match key_ci(res, uri) {
        Some(key) => key,
        None if schema.is_core_schema(uri) => return Ok(Some(res)),
        None if !create => return Ok(None),
        None => {
            add_schema_uri(res, uri);
            res.insert(uri.to_string(), Value::Object(Map::new()));
            uri.to_string()
        }
    };
    match res.get_mut(&key) {
        Some(Value::Object(ext)) => Ok(Some(ext)),
        _ => Err(err(
            ScimType::InvalidPath,
            format!("`{uri}` in the resource is not an extension object"),
        )),
    }
}

/// Sets `obj[key] = value`, or removes it when `value` is null (unassigning, RFC 7643 §2.5).
fn set_or_unset(obj: &mut Obj, key: &str, value: Value) {
    if value.is_null() {
        remove_ci(obj, key);
    } else {
        set_ci(obj, key, value);
    }
}

/// Sets the sub-attributes given in `value` on `obj`, leaving the others (RFC 7644 §3.5.2.1
/// and §3.5.2.3 for complex attributes).
fn merge(obj: &mut Obj, value: Obj) {
    for (k, v) in value {
        set_or_unset(obj, &k, v);
    }
}

fn items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        v => vec![v],
    }
}

/// After `touched` values of a multi-valued attribute were written: when one of them is
/// `primary: true`, no other value stays primary (RFC 7644 §3.5.2, RFC 7643 §2.4). The last
/// touched primary wins.
fn fix_primary(list: &mut [Value], touched: &[usize]) {
    let is_primary = |v: &Value| {
        v.as_object()
            .and_then(|o| get_ci(o, "primary"))
            .is_some_and(|p| p == &Value::Bool(true))
    };
    let Some(&winner) = touched.iter().rev().find(|&&i| is_primary(&list[i])) else {
        return;
    };
    for (i, v) in list.iter_mut().enumerate() {
        if i != winner && is_primary(v) {
            if let Some(o) = v.as_object_mut() {
                set_ci(o, "primary", Value::Bool(false));
            }
        }
    }
}

/// The `value` sub-attribute of a complex value, if set.
fn value_of(v: &Value) -> Option<&Value> {
    v.as_object()
        .and_then(|o| get_ci(o, "value"))
        .filter(|v| !v.is_null())
}

/// How the values of a multi-valued attribute are told apart: by their `value` sub-attribute
/// when the value given has one, else whole; case-insensitively unless caseExact.
struct Identity {
    value_exact: bool,
    exact: bool,
}

impl Identity {
    fn new(path: &AttrPath, schema: &dyn AttributeTypes) -> Identity {
        Identity {
            value_exact: schema.case_exact(&path.parent().with_sub("value")),
            exact: schema.case_exact(path),
        }
    }

    /// Whether `v` is the value `item` names.
    fn same(&self, v: &Value, item: &Value) -> bool {
        match value_of(item) {
            Some(key) => value_of(v).is_some_and(|x| value_eq(x, key, self.value_exact)),
            None => value_eq(v, item, self.exact),
        }
    }
}

/// Appends `item` to a multi-valued attribute unless a value with the same `value`
/// sub-attribute (or, without one, an equal value) is there; then the new sub-attributes are
/// merged into that one (RFC 7644 §3.5.2.1: an add of a value already present changes nothing
/// else). Returns the index written.
fn append_unique(list: &mut Vec<Value>, item: Value, id: &Identity) -> usize {
    match list.iter().position(|e| id.same(e, &item)) {
        Some(i) => {
            if let (Value::Object(existing), Value::Object(new)) = (&mut list[i], item) {
                merge(existing, new);
            }
            i
        }
        None => {
            list.push(item);
            list.len() - 1
        }
    }
}

fn no_values(attr: &str, sub: &str) -> PatchError {
    err(
        ScimType::NoTarget,
        format!(
            "`{attr}` has no values to set `{sub}` on; add whole values, or select them with \
             `{attr}[…].{sub}`"
        ),
    )
}

/// `add` or `replace` of a sub-attribute (`name.givenName`, `emails.type`): set on the complex
/// value, or on every value of a multi-valued one.
fn set_sub(
    obj: &mut Obj,
    path: &AttrPath,
    sub: &str,
    value: Value,
    schema: &dyn AttributeTypes,
) -> Result<(), PatchError> {
    match get_ci_mut(obj, &path.attr) {
        None | Some(Value::Null) => {
            if schema.is_multi_valued(&path.parent()) {
                return Err(no_values(&path.attr, sub));
            }
            if !value.is_null() {
                let mut new = Map::new();
                new.insert(sub.to_string(), value);
                set_ci(obj, &path.attr, Value::Object(new));
            }
        }
        Some(Value::Object(o)) => set_or_unset(o, sub, value),
        Some(Value::Array(list)) if !list.is_empty() => {
            for v in list.iter_mut() {
                match v {
                    Value::Object(o) => set_or_unset(o, sub, value.clone()),
                    _ => {
                        return Err(err(
                            ScimType::InvalidPath,
                            format!("the values of `{}` have no sub-attributes", path.attr),
                        ))
                    }
                }
            }
        }
        Some(Value::Array(_)) => return Err(no_values(&path.attr, sub)),
        Some(_) => {
            return Err(err(
                ScimType::InvalidPath,
                format!(
                    "`{}` is not complex: it has no sub-attribute `{sub}`",
                    path.attr
                ),
            ))
        }
    }
    Ok(())
}

/// `add` (RFC 7644 §3.5.2.1) or `replace` (§3.5.2.3) at an attribute path without filter.
pub(super) fn set(
    res: &mut Obj,
    op: Op,
    path: &AttrPath,
    value: Value,
    schema: &dyn AttributeTypes,
) -> Result<(), PatchError> {
    if op == Op::Replace && value.is_null() {
        return remove(res, path, None, schema);
    }
    if value.is_null() {
        return Err(err(
            ScimType::InvalidValue,
            "add needs a value, not null".into(),
        ));
    }
    let Some(obj) = container(res, path.uri.as_deref(), schema, true)? else {
        return Ok(());
    };
    if let Some(sub) = &path.sub_attr {
        return set_sub(obj, path, sub, value, schema);
    }
    let id = Identity::new(path, schema);
    let existing = get_ci_mut(obj, &path.attr);
    let multi = schema.is_multi_valued(path) || matches!(existing, Some(Value::Array(_)));
    match (existing, value) {
        (Some(Value::Array(list)), value) if op == Op::Add => {
            let touched: Vec<usize> = items(value)
                .into_iter()
                .map(|item| append_unique(list, item, &id))
                .collect();
            fix_primary(list, &touched);
        }
        (_, value) if multi => {
            let mut list = Vec::new();
            let touched: Vec<usize> = items(value)
                .into_iter()
                .map(|item| append_unique(&mut list, item, &id))
                .collect();
            fix_primary(&mut list, &touched);
            set_ci(obj, &path.attr, Value::Array(list));
        }
        (Some(Value::Object(o)), Value::Object(v)) => merge(o, v),
        (_, value) => set_ci(obj, &path.attr, value),
    }
    Ok(())
}

/// `remove` at an attribute path without filter (RFC 7644 §3.5.2.2): the attribute, or the
/// sub-attribute of the complex value or of every value. With `values` (Entra ID's
/// `{"op":"Remove","path":"members","value":[{"value":"id"}]}`), only those values of a
/// multi-valued attribute; values that are not there are ignored.
pub(super) fn remove(
    res: &mut Obj,
    path: &AttrPath,
    values: Option<&Value>,
    schema: &dyn AttributeTypes,
) -> Result<(), PatchError> {
    let Some(obj) = container(res, path.uri.as_deref(), schema, false)? else {
        return Ok(());
    };
    let values = values.filter(|v| !v.is_null());
    match (&path.sub_attr, values) {
        (None, None) => {
            remove_ci(obj, &path.attr);
        }
        (None, Some(values)) => {
            let gone: Vec<Value> = items(values.clone());
            let id = Identity::new(path, schema);
            match get_ci_mut(obj, &path.attr) {
                Some(Value::Array(list)) => {
                    list.retain(|v| !gone.iter().any(|g| id.same(v, g)));
                    if list.is_empty() {
                        remove_ci(obj, &path.attr);
                    }
                }
                Some(v) if gone.iter().any(|g| id.same(v, g)) => {
                    remove_ci(obj, &path.attr);
                }
                _ => {}
            }
        }
        (Some(sub), _) => {
            let now_empty = match get_ci_mut(obj, &path.attr) {
                Some(Value::Object(o)) => {
                    remove_ci(o, sub);
                    o.is_empty()
                }
                Some(Value::Array(list)) => {
                    for v in list.iter_mut() {
                        if let Value::Object(o) = v {
                            remove_ci(o, sub);
                        }
                    }
                    list.retain(|v| !matches!(v, Value::Object(o) if o.is_empty()));
                    list.is_empty()
                }
                _ => false,
            };
            if now_empty {
                remove_ci(obj, &path.attr);
            }
        }
    }
    Ok(())
}

/// The value a filter of `eq` comparisons joined by `and` describes (`type eq "work"` gives
/// `{"type": "work"}`), for an `add` whose value path matches nothing; `None` for others.
fn seed(filter: &Filter) -> Option<Obj> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.uri.is_none() && path.sub_attr.is_none() && !value.is_null() => {
            let mut o = Map::new();
            o.insert(path.attr.clone(), value.clone());
            Some(o)
        }
        Filter::And(a, b) => {
            let mut o = seed(a)?;
            o.extend(seed(b)?);
            Some(o)
        }
        _ => None,
    }
}

/// `add`, `replace` or `remove` at `path[filter]` or `path[filter].sub` (RFC 7644 §3.5.2).
///
/// Matching values get the sub-attribute set (add, replace) or removed, or are themselves
/// merged with the value (add), replaced (replace) or removed. No match is `noTarget` — except
/// for an `add` whose filter is `eq` comparisons joined by `and` (what Entra ID sends, e.g.
/// `emails[type eq "work"].value`): then a new value is made from them.
pub(super) fn filtered(
    res: &mut Obj,
    op: Op,
    path: &AttrPath,
    filter: &Filter,
    sub: Option<&str>,
    value: Option<Value>,
    schema: &dyn AttributeTypes,
) -> Result<(), PatchError> {
    let value = value.unwrap_or(Value::Null);
    let no_target = || {
        err(
            ScimType::NoTarget,
            format!("no value of `{path}` matches `[{filter}]`"),
        )
    };
    let Some(obj) = container(res, path.uri.as_deref(), schema, op == Op::Add)? else {
        return Err(no_target());
    };
    let hits: Vec<usize> = match get_ci(obj, &path.attr) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => (0..list.len())
            .filter(|&i| element_matches(filter, path, &list[i], schema))
            .collect(),
        Some(_) => {
            return Err(err(
                ScimType::InvalidPath,
                format!(
                "`{path}` is not multi-valued: `[…]` selects values of a multi-valued attribute"
            ),
            ))
        }
    };
    if hits.is_empty() {
        let new = match (op, seed(filter)) {
            (Op::Add, Some(mut new)) => {
                match (sub, value) {
                    (Some(sub), value) => {
                        new.insert(sub.to_string(), value);
                    }
                    (None, Value::Object(v)) => merge(&mut new, v),
                    (None, _) => return Err(no_target()),
                }
                Value::Object(new)
            }
            _ => return Err(no_target()),
        };
        let list = match get_ci_mut(obj, &path.attr) {
            Some(Value::Array(list)) => list,
            _ => {
                set_ci(obj, &path.attr, Value::Array(Vec::new()));
                match get_ci_mut(obj, &path.attr) {
                    Some(Value::Array(list)) => list,
                    _ => return Err(no_target()),
                }
            }
        };
        list.push(new);
        let last = list.len() - 1;
        fix_primary(list, &[last]);
        return Ok(());
    }
    let Some(Value::Array(list)) = get_ci_mut(obj, &path.attr) else {
        return Err(no_target());
    };
    match (op, sub) {
        (Op::Remove, None) => {
            let mut gone = vec![false; list.len()];
            for &i in &hits {
                gone[i] = true;
            }
            let mut gone = gone.into_iter();
            list.retain(|_| !gone.next().unwrap_or(false));
        }
        (Op::Remove, Some(sub)) => {
            for &i in &hits {
                if let Value::Object(o) = &mut list[i] {
                    remove_ci(o, sub);
                }
            }
            list.retain(|v| !matches!(v, Value::Object(o) if o.is_empty()));
        }
        (_, Some(sub)) => {
            for &i in &hits {
                match &mut list[i] {
                    Value::Object(o) => set_or_unset(o, sub, value.clone()),
                    _ => {
                        return Err(err(
                            ScimType::InvalidPath,
                            format!("the values of `{path}` have no sub-attributes"),
                        ))
                    }
                }
            }
        }
        (Op::Add, None) => {
            let Value::Object(v) = value else {
                return Err(err(
                    ScimType::InvalidValue,
                    format!("add to `{path}[…]` needs an object of sub-attributes"),
                ));
            };
            for &i in &hits {
                if let Value::Object(o) = &mut list[i] {
                    merge(o, v.clone());
                }
            }
        }
        (Op::Replace, None) => {
            if value.is_null() {
                return Err(err(
                    ScimType::InvalidValue,
                    format!("replace of `{path}[…]` needs a value"),
                ));
            }
            for &i in &hits {
                list[i] = value.clone();
            }
        }
    }
    if op != Op::Remove {
        fix_primary(list, &hits);
    }
    if list.is_empty() {
        remove_ci(obj, &path.attr);
    }
    Ok(())
}
