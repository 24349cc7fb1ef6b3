//! Finding the one-time code in a text: candidates, rejections and scores.
//!
//! Candidates: runs of 4 to 10 digits; digit groups split by one space or hyphen into equal
//! groups ("123 456", "1234-5678", "12 34 56"); prefixed codes ("G-123456", code 123456); and
//! 6 to 8 character upper-case tokens with at least 2 digits ("AB12CD"). Word edges are checked
//! by hand on ASCII letters and digits, not with `\b`: Rust's `\b` is Unicode-aware, and a code
//! written against CJK text ("验证码123456") must still be found.
//!
//! Rejected outright: numbers joined by `.`, `,`, `/` or `:` to other digits (dates, times,
//! prices, decimals, IP addresses), ISO dates, phone shapes and numbers after `+` or inside
//! `(...)`, numbers after `#` (order numbers, CSS colours), next to a currency sign, or right
//! after an order/invoice/account/phone word. Penalized: years (1900 to 2099) and postal codes on
//! address lines. Scored up: a code word (many languages) close before or after, a line of its
//! own, a colon before it, and repeats of the same code.

use std::sync::LazyLock;

use regex::Regex;

use super::candidates::{candidates, Cand};
use super::lexicon::{ADDRESS, CODE, NOT_CODE};

/// The least score a candidate needs to be reported.
pub(super) const THRESHOLD: f32 = 5.0;

/// A code found in a text.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Found {
    /// Digits and letters only.
    pub code: String,
    /// As written (digits normalized to ASCII).
    pub raw: String,
    pub score: f32,
}

static MASK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:https?://|www\.)[^\s<>]+|[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
        .expect("valid")
});
static STATE_ZIP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[\s,])[A-Z]{2}\s$").expect("valid"));

/// Maps full-width, Arabic-Indic, Persian and Devanagari digits and full-width Latin letters to
/// ASCII, dash and space variants to `-` and ` `, and drops zero-width characters.
pub(super) fn normalize(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let u = c as u32;
            Some(match c {
                '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (u - 0xFF10) as u8),
                '\u{0660}'..='\u{0669}' => char::from(b'0' + (u - 0x0660) as u8),
                '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (u - 0x06F0) as u8),
                '\u{0966}'..='\u{096F}' => char::from(b'0' + (u - 0x0966) as u8),
                '\u{FF21}'..='\u{FF3A}' => char::from(b'A' + (u - 0xFF21) as u8),
                '\u{FF41}'..='\u{FF5A}' => char::from(b'a' + (u - 0xFF41) as u8),
                '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2212}' | '\u{FF0D}' => '-',
                '\u{A0}' | '\u{2007}' | '\u{2009}' | '\u{202F}' | '\u{3000}' | '\t' => ' ',
                '\u{FF1A}' => ':',
                '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{AD}' => return None,
                _ => c,
            })
        })
        .collect()
}

/// The best code over several texts (subject, plain text, HTML text), if one scores enough.
pub(super) fn best_code(texts: &[&str]) -> Option<Found> {
    let mut found: Vec<Found> = Vec::new();
    for text in texts {
        let text = MASK.replace_all(&normalize(text), " ").into_owned();
        let keywords = CODE.find(&text);
        for c in candidates(&text) {
            let score = c.base + context_score(&text, &keywords, &c);
            found.push(Found {
                code: c.code,
                raw: c.raw,
                score,
            });
        }
    }
    // Repeats of one code (preheader, subject and body) add a little.
    let mut best: Option<Found> = None;
    for f in &found {
        let repeats = found.iter().filter(|g| g.code == f.code).count() as f32;
        let score = f.score + (repeats - 1.0).min(2.0) * 0.5;
        if best.as_ref().is_none_or(|b| score > b.score) {
            best = Some(Found { score, ..f.clone() });
        }
    }
    best.filter(|b| b.score >= THRESHOLD)
}

/// Points from the candidate's surroundings; a large negative value rejects it.
fn context_score(text: &str, keywords: &[(usize, usize)], c: &Cand) -> f32 {
    let line_start = text[..c.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[c.end..].find('\n').map_or(text.len(), |i| c.end + i);
    let line = &text[line_start..line_end];
    // What stands just before: the last code word must come after the last not-code word.
    let window_start = floor_boundary(text, c.start.saturating_sub(40).max(line_start));
    let before = &text[window_start..c.start];
    let last_not = NOT_CODE.find(before).last().map(|m| m.1);
    let last_code = CODE.find(before).last().map(|m| m.1);
    if let Some(n) = last_not {
        if last_code.is_none_or(|k| k < n) {
            return -100.0;
        }
    }
    let mut score = 0.0f32;
    let digits_only = c.code.bytes().all(|b| b.is_ascii_digit());
    // A year, unless a code word stands right before it ("Your code is 2049").
    let tight = keywords.iter().any(|&(_, ke)| {
        ke <= c.start
            && !text[ke..c.start].contains('\n')
            && text[ke..c.start].chars().count() <= 12
    });
    if digits_only && c.code.len() == 4 {
        if let Ok(year) = c.code.parse::<u32>() {
            if (1900..=2099).contains(&year) {
                score -= if tight { 1.0 } else { 3.0 };
            }
        }
    }
    // Postal codes: 4 to 6 digits (6 in Russia, India, China) on an address line.
    if digits_only && (4..=6).contains(&c.code.len()) && c.raw == c.code {
        let head = &text[line_start..c.start];
        let address_line = ADDRESS.any(line) && !CODE.any(line);
        if address_line || (c.code.len() == 5 && STATE_ZIP.is_match(head)) {
            score -= 6.0;
        }
    }
    // Nearest code word before (up to three lines up) and after (same line).
    let mut near = 0.0f32;
    for &(ks, ke) in keywords {
        if ke <= c.start {
            let gap = &text[ke..c.start];
            let lines = gap.matches('\n').count();
            let d = gap.chars().count();
            let points = match d {
                _ if lines > 3 => 0.0,
                0..=30 => 5.0,
                31..=80 => 3.5,
                81..=200 => 2.0,
                _ => 0.0,
            };
            near = near.max(points);
        } else if ks >= c.end {
            let gap = &text[c.end..ks];
            if gap.contains('\n') {
                continue;
            }
            let points = match gap.chars().count() {
                0..=30 => 4.0,
                31..=80 => 2.5,
                _ => 0.0,
            };
            near = near.max(points);
        }
    }
    score += near;
    if line.trim() == c.raw {
        score += 2.0;
    }
    if before.trim_end().ends_with([':', '：']) {
        score += 1.0;
    }
    score
}

/// The largest char boundary of `text` at or before `at`.
fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<String> {
        best_code(&[text]).map(|f| f.code)
    }

    #[test]
    fn plain_codes() {
        assert_eq!(
            code("Your verification code is 482913.").as_deref(),
            Some("482913")
        );
        assert_eq!(
            code("您的验证码是123456，5分钟内有效").as_deref(),
            Some("123456")
        );
        assert_eq!(code("Code: 123 456").as_deref(), Some("123456"));
        assert_eq!(
            code("G-193847 is your Google verification code.").as_deref(),
            Some("193847")
        );
        assert_eq!(code("Your code: AB12CD").as_deref(), Some("AB12CD"));
        assert_eq!(code("Netflix: Your code is 2049.").as_deref(), Some("2049"));
        assert_eq!(code("Ваш код: ٤٨٢٩١٣").as_deref(), Some("482913"));
        assert_eq!(
            code("Your Example Inc. code is 123456").as_deref(),
            Some("123456")
        );
        assert_eq!(
            code("Code:482913.Do not share it").as_deref(),
            Some("482913")
        );
    }

    #[test]
    fn other_numbers_are_not_codes() {
        for text in [
            "Order #123456 ships on 2024-05-01",
            "Total: €12.99 or $1,299 — call +1 415 555 0100",
            "Meeting at 10:30 on 12.05.2024, room 4410",
            "Your order number 88812345 code word",
            "(415) 555-0100",
            "© 2024 Example Inc., 500 Main Street, Springfield, IL 62701",
            "Яндекс, ул. Льва Толстого, 16, Москва, 119021",
            "Reply STOP to 89203 to unsubscribe",
            "Your verification link expires on May 1, 2024.",
        ] {
            assert_eq!(code(text), None, "{text}");
        }
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize("１２３\u{200B}４"), "1234");
    }
}
