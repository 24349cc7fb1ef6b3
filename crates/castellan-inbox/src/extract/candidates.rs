//! Code-shaped tokens of a text, with the rejections that need only their surroundings
//! (see `code.rs` for the rules and the scoring).

use std::sync::LazyLock;

use regex::Regex;

static CLUSTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]+(?:[ \-./:,][0-9]+)*").expect("valid"));
static PREFIXED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Z]{1,3}-([0-9]{4,8})").expect("valid"));
static TOKEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9]+").expect("valid"));

const CURRENCY: &[char] = &[
    '$', '€', '£', '¥', '₹', '₩', '₽', '¢', '₺', '₫', '₱', '฿', '₪',
];
const CURRENCY_WORDS: &[&str] = &[
    "usd", "eur", "gbp", "jpy", "cny", "rmb", "chf", "pln", "rub",
];
const CURRENCY_AFTER: &[&str] = &[
    "€", "$", "%", "円", "元", "원", "₽", "zł", "руб", "eur", "usd", "kr", "chf", "pln",
];

/// A candidate before scoring.
pub(super) struct Cand {
    pub code: String,
    pub raw: String,
    pub start: usize,
    pub end: usize,
    pub base: f32,
}

/// Every candidate of `text` (already normalized and with URLs masked).
pub(super) fn candidates(text: &str) -> Vec<Cand> {
    let mut out = Vec::new();
    numeric(text, &mut out);
    prefixed(text, &mut out);
    alphanumeric(text, &mut out);
    out
}

pub(super) fn prev_char(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

fn next_char(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

fn is_alnum(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Whether the number at `start..end` is glued to a bigger token (`ABC-1234`, `v1.2345`).
fn glued(text: &str, start: usize, end: usize) -> bool {
    if is_alnum(prev_char(text, start)) || is_alnum(next_char(text, end)) {
        return true;
    }
    // "ABC-1234", "v.1234", "x_1234", "a=1234" are ids; "code:1234" and "1234.Next" are not.
    let before = prev_char(text, start);
    let after = next_char(text, end);
    let glued_before = matches!(before, Some('-' | '.' | '/' | '_' | '='))
        && is_alnum(prev_char(text, start - before.map_or(0, char::len_utf8)));
    let glued_after =
        matches!(after, Some('-' | '/' | '_' | '=')) && is_alnum(text[end..].chars().nth(1));
    glued_before || glued_after
}

fn numeric(text: &str, out: &mut Vec<Cand>) {
    for m in CLUSTER.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        if glued(text, start, end) {
            continue;
        }
        let raw = m.as_str();
        let seps: Vec<char> = raw.chars().filter(|c| !c.is_ascii_digit()).collect();
        if seps.is_empty() {
            single(text, start, end, out);
            continue;
        }
        if seps.iter().any(|c| matches!(c, '.' | ',' | '/' | ':')) {
            continue; // dates, times, prices, decimals, addresses
        }
        let before = text[..start].trim_end().chars().next_back();
        if matches!(before, Some('+' | '(')) {
            continue; // phone numbers
        }
        let groups: Vec<&str> = raw.split([' ', '-']).collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        let all_space = seps.iter().all(|c| *c == ' ');
        let equal = lens.iter().all(|l| *l == lens[0]);
        let split_code = equal
            && ((lens.len() == 2 && (3..=4).contains(&lens[0]))
                || (lens.len() == 3 && lens[0] == 2 && all_space)
                || (lens.len() == 3 && lens[0] == 3 && all_space));
        if split_code {
            out.push(Cand {
                code: groups.concat(),
                raw: raw.to_owned(),
                start,
                end,
                base: 3.0,
            });
            continue;
        }
        let total: usize = lens.iter().sum();
        let phone = matches!(
            lens.as_slice(),
            [3, 3, 4]
                | [3, 4]
                | [1, 3, 3, 4]
                | [2, 4, 4]
                | [4, 3, 3]
                | [2, 3, 3, 3]
                | [4, 4]
                | [3, 3]
        ) || (lens.len() >= 3 && (9..=15).contains(&total));
        if phone || !all_space {
            continue; // phone numbers, ISO dates, other hyphenated ids
        }
        // Unrelated numbers that happen to be one space apart: judge each alone.
        let mut at = start;
        for g in groups {
            single(text, at, at + g.len(), out);
            at += g.len() + 1;
        }
    }
}

fn single(text: &str, start: usize, end: usize, out: &mut Vec<Cand>) {
    let raw = &text[start..end];
    let len = raw.len();
    if !(4..=10).contains(&len) {
        return;
    }
    let before = prev_char(text, start);
    if matches!(before, Some('#' | '+' | '(' | '@' | '&' | '№'))
        || before.is_some_and(|c| CURRENCY.contains(&c))
    {
        return;
    }
    let near_before: String = text[..start]
        .chars()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let near_before = near_before.to_lowercase();
    if near_before.trim_end().ends_with(CURRENCY)
        || CURRENCY_WORDS
            .iter()
            .any(|w| near_before.trim_end().ends_with(w))
    {
        return;
    }
    let after: String = text[end..]
        .chars()
        .take(5)
        .collect::<String>()
        .to_lowercase();
    if CURRENCY_AFTER
        .iter()
        .any(|w| after.trim_start().starts_with(w))
    {
        return;
    }
    let base = match len {
        6 => 3.0,
        4 | 5 | 7 | 8 => 2.0,
        _ => 0.5,
    };
    out.push(Cand {
        code: raw.to_owned(),
        raw: raw.to_owned(),
        start,
        end,
        base,
    });
}

fn prefixed(text: &str, out: &mut Vec<Cand>) {
    for c in PREFIXED.captures_iter(text) {
        let (Some(all), Some(digits)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if is_alnum(prev_char(text, all.start())) || is_alnum(next_char(text, all.end())) {
            continue;
        }
        if matches!(next_char(text, all.end()), Some('-' | '.' | '/' | ','))
            && is_alnum(text[all.end()..].chars().nth(1))
        {
            continue;
        }
        out.push(Cand {
            code: digits.as_str().to_owned(),
            raw: all.as_str().to_owned(),
            start: all.start(),
            end: all.end(),
            base: 4.0,
        });
    }
}

fn alphanumeric(text: &str, out: &mut Vec<Cand>) {
    for m in TOKEN.find_iter(text) {
        let t = m.as_str();
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        let ok = (6..=8).contains(&t.len())
            && digits >= 2
            && digits < t.len()
            && !t.bytes().any(|b| b.is_ascii_lowercase());
        if !ok
            || matches!(
                prev_char(text, m.start()),
                Some('#' | '-' | '.' | '/' | '_' | '&' | '=')
            )
        {
            continue;
        }
        if matches!(next_char(text, m.end()), Some('-' | '_' | '/')) {
            continue;
        }
        out.push(Cand {
            code: t.to_owned(),
            raw: t.to_owned(),
            start: m.start(),
            end: m.end(),
            base: 1.0,
        });
    }
}
