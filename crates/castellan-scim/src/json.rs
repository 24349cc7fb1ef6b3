//! JSON helpers: case-insensitive member names (RFC 7643 §2.1), unassigned values (§2.5).

use serde_json::{Map, Value};

/// The member of `obj` whose name equals `key` ASCII case-insensitively (an exact match first).
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The name under which `obj` holds `key` (case-insensitively), if it does.
pub(crate) fn key_ci(obj: &Map<String, Value>, key: &str) -> Option<String> {
    if obj.contains_key(key) {
        return Some(key.to_string());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// `obj[key]` for a case-insensitive `key`, mutably.
pub(crate) fn get_ci_mut<'a>(obj: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    let k = key_ci(obj, key)?;
    obj.get_mut(&k)
}

/// Sets `obj[key]` (keeping the spelling of an existing case-insensitive match).
pub(crate) fn set_ci(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let k = key_ci(obj, key).unwrap_or_else(|| key.to_string());
    obj.insert(k, value);
}

/// Removes `obj[key]` (case-insensitively), returning it.
pub(crate) fn remove_ci(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let k = key_ci(obj, key)?;
    obj.remove(&k)
}

/// Whether a value counts as unassigned: null, an empty string, an empty array or an empty
/// complex value (RFC 7643 §2.5 makes null, unassigned and `[]` equivalent; `""` and `{}` are
/// treated alike here, as RFC 7644 §3.4.2.2 `pr` asks for a non-empty value).
pub(crate) fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.iter().all(is_unassigned),
        Value::Object(o) => o.values().all(is_unassigned),
        _ => false,
    }
}

/// Whether two strings are equal, case-insensitively unless `case_exact`.
pub(crate) fn str_eq(a: &str, b: &str, case_exact: bool) -> bool {
    if case_exact {
        a == b
    } else {
        a == b || a.to_lowercase() == b.to_lowercase()
    }
}

/// Whether two JSON values are the same SCIM value: strings compared as [`str_eq`], numbers
/// numerically, objects member by member (names case-insensitively), arrays in order.
pub(crate) fn value_eq(a: &Value, b: &Value, case_exact: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => str_eq(x, y, case_exact),
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| value_eq(x, y, case_exact))
        }
        (Value::Object(x), Value::Object(y)) => {
            let assigned = |m: &Map<String, Value>| m.values().filter(|v| !v.is_null()).count();
            assigned(x) == assigned(y)
                && x.iter().all(|(k, v)| {
                    v.is_null() || get_ci(y, k).is_some_and(|w| value_eq(v, w, case_exact))
                })
        }
        _ => a == b,
    }
}
