//! Terminal output: aligned tables for people, `--json` for scripts.

/// `println!` for command output: when stdout is closed early (piped into `head`, say), the
/// command stops quietly with exit status 0 instead of panicking on the broken pipe.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let mut o = std::io::stdout().lock();
        if let Err(e) = writeln!(o, $($t)*) {
            $crate::output::stdout_failed(&e);
        }
    }};
}

/// What a failed write to stdout does: a closed pipe ends the process with status 0 (the reader
/// has what it wanted); any other error is reported on stderr with status 1.
pub fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {e}");
    std::process::exit(1);
}

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
        out!("{}", serde_json::to_string_pretty(rows).unwrap_or_default());
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
        out!("{}", parts.join("  ").trim_end());
    };
    line(columns.iter().map(|(h, _)| h.to_uppercase()).collect());
    for r in table {
        line(r);
    }
    if items.is_empty() {
        out!("(none)");
    }
}

/// Prints one object as JSON or as `key: value` lines.
pub fn object(v: &Value, json: bool) {
    if json {
        out!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
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
            out!("{k:<w$}  {s}");
        }
    } else {
        out!("{v}");
    }
}
