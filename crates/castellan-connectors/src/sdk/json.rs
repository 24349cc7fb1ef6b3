//! Small readers of JSON answers (`serde_json::Value`) that connectors share.

use serde_json::Value;

/// The elements of `v` when it is an array, else none (a missing or null field reads as empty).
pub fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// The string `v` holds, else `""`.
pub fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// An id as an app sends it, a non-empty string or an integer (`"123"` and `123` both give
/// `"123"`); `None` for anything else (missing, null, empty, a fraction, an object).
pub fn id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strings_or_integers() {
        use serde_json::json;
        assert_eq!(id(&json!("123")), Some("123".into()));
        assert_eq!(id(&json!(123)), Some("123".into()));
        for no in [
            json!(null),
            json!(""),
            json!(" "),
            json!(1.5),
            json!({}),
            json!([1]),
        ] {
            assert_eq!(id(&no), None, "{no}");
        }
    }
    use serde_json::json;

    #[test]
    fn missing_fields_read_as_empty() {
        let v = json!({"a": [1, 2], "s": "x"});
        assert_eq!(items(&v["a"]).len(), 2);
        assert!(items(&v["nope"]).is_empty() && items(&v["s"]).is_empty());
        assert_eq!(
            (text(&v["s"]), text(&v["a"]), text(&v["nope"])),
            ("x", "", "")
        );
    }
}
