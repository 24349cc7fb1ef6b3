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

#[cfg(test)]
mod tests {
    use super::*;
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
