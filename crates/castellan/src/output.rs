//! Terminal output: aligned tables for people, `--json` for scripts.

use serde_json::Value;

/// Renders a JSON value at `pointer` as a table cell.
fn cell(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => {
            if *b {
                "yes".into()
            } else {
                "no".into()
            }
        }
        Some(other) => other.to_string(),
    }
}

/// Prints `rows` as JSON (`json`) or as a table with `(header, JSON pointer)` columns.
pub fn list(rows: &Value, json: bool, columns: &[(&str, &str)]) {
    if json {
        println!("{}", serde_json::to_string_pretty(rows).unwrap_or_default());
        return;
    }
    let items = rows.as_array().cloned().unwrap_or_default();
    let table: Vec<Vec<String>> = items
        .iter()
        .map(|r| columns.iter().map(|(_, p)| cell(r, p)).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (h, _))| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
                .min(60)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                let c: String = c.chars().take(*w).collect();
                format!("{c:<w$}")
            })
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(columns.iter().map(|(h, _)| h.to_uppercase()).collect());
    for r in table {
        line(r);
    }
    if items.is_empty() {
        println!("(none)");
    }
}

/// Prints one object as JSON or as `key: value` lines.
pub fn object(v: &Value, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
        return;
    }
    if let Some(map) = v.as_object() {
        let w = map.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, val) in map {
            let s = match val {
                Value::String(s) => s.clone(),
                Value::Null => "-".into(),
                other => other.to_string(),
            };
            println!("{k:<w$}  {s}");
        }
    } else {
        println!("{v}");
    }
}
