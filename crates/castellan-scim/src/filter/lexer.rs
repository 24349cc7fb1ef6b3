//! Tokens of a filter (RFC 7644 §3.4.2.2 Figure 1) or PATCH path (Figure 7).

use super::FilterError;
use serde_json::Number;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `.` right after `]` (a PATCH path's `emails[type eq "work"].value`).
    Dot,
    /// An attribute path, operator or keyword: letters, digits, `-`, `_`, `:`, `.` and `$`.
    Word(&'a str),
    /// A JSON string, unescaped.
    Str(String),
    /// A JSON number.
    Num(Number),
    End,
}

/// A token and the byte range it came from.
#[derive(Debug, Clone)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub start: usize,
    pub end: usize,
}

fn word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b':' | b'.' | b'$')
}

/// Where a token that must stand alone (a word, string or number) may end: at the end, a space
/// or a bracket. Anything else glued to it (`eq"x"`, `"a""b"`, `1x`) is an error.
fn separated(input: &str, end: usize, what: &str) -> Result<(), FilterError> {
    match input.as_bytes().get(end) {
        None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b'[' | b']') => Ok(()),
        Some(_) => {
            let next = input[end..].chars().next().unwrap_or(' ');
            Err(FilterError::new(
                end,
                format!("expected a space between {what} and `{next}`"),
            ))
        }
    }
}

/// serde_json's message without its "at line 1 column N" (the position is ours).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A JSON number (RFC 8259 §6 grammar, checked by serde_json). Integers that fit stay
/// integers; others become the nearest `f64`, rounded correctly by the standard library (so
/// that the shortest form serde_json writes reads back to the same value, which serde_json's
/// own parsing of overlong integers does not guarantee).
fn number(raw: &str) -> Result<Number, String> {
    let checked: Number = serde_json::from_str(raw).map_err(|e| json_message(&e))?;
    if checked.is_i64() || checked.is_u64() {
        return Ok(checked);
    }
    raw.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or_else(|| "number out of range".to_string())
}

/// Splits `input` into tokens, the last one [`Tok::End`].
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let tok = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBracket,
            b']' => Tok::RBracket,
            b'.' => Tok::Dot,
            b'"' => {
                let mut j = i + 1;
                loop {
                    match bytes.get(j) {
                        None => {
                            return Err(FilterError::new(
                                start,
                                "unterminated string (a `\"` is missing)",
                            ))
                        }
                        Some(b'\\') => j += 2,
                        Some(b'"') => break,
                        Some(_) => j += 1,
                    }
                }
                let raw = &input[start..=j];
                let s: String = serde_json::from_str(raw).map_err(|e| {
                    FilterError::new(
                        start + e.column().saturating_sub(1),
                        format!("invalid string {raw}: {}", json_message(&e)),
                    )
                })?;
                i = j + 1;
                separated(input, i, &format!("the string {raw}"))?;
                out.push(Token {
                    tok: Tok::Str(s),
                    start,
                    end: i,
                });
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let mut j = i + 1;
                while j < bytes.len()
                    && matches!(bytes[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    j += 1;
                }
                let raw = &input[start..j];
                let n = number(raw).map_err(|why| {
                    FilterError::new(start, format!("`{raw}` is not a JSON number: {why}"))
                })?;
                i = j;
                separated(input, i, &format!("`{raw}`"))?;
                out.push(Token {
                    tok: Tok::Num(n),
                    start,
                    end: i,
                });
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'$' => {
                let mut j = i + 1;
                while j < bytes.len() && word_char(bytes[j]) {
                    j += 1;
                }
                let word = &input[start..j];
                i = j;
                separated(input, i, &format!("`{word}`"))?;
                out.push(Token {
                    tok: Tok::Word(word),
                    start,
                    end: i,
                });
                continue;
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('?');
                return Err(FilterError::new(
                    start,
                    format!("unexpected character `{}`", ch.escape_debug()),
                ));
            }
        };
        i += 1;
        out.push(Token { tok, start, end: i });
    }
    out.push(Token {
        tok: Tok::End,
        start: input.len(),
        end: input.len(),
    });
    Ok(out)
}
