//! One-time code and verification link extraction from mail and SMS.
//!
//! Order of decisions:
//! 1. [`Hints`] first: when the sender matches (or no senders are given) and the app's
//!    `code_pattern` matches the subject or text, its capture is the code, confidence 1.
//! 2. Otherwise candidates are scored (see `code.rs`): shapes of codes, code words in many
//!    languages close by, and rejections for dates, times, prices, colours, phone, order and
//!    postal numbers.
//! 3. Links (see `link.rs`): the best-scoring verification / sign-in / magic link, unwrapped from
//!    click-tracking redirects.
//! 4. Expiry (see `expiry.rs`): stated in the text, else 10 minutes for a code, 24 hours for a
//!    link alone.

mod candidates;
mod code;
mod expiry;
mod lexicon;
mod link;

use std::time::Duration;

use regex::RegexBuilder;

use crate::mime::{html, ParsedMail};

pub use link::unwrap as unwrap_tracking_link;

/// Expiry assumed for a code when the text states none: 10 minutes.
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Expiry assumed for a link when the text states none: 24 hours.
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Per-app hints from the catalog; they take precedence over the general rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// Expected senders: full addresses (`no-reply@accounts.example.com`) or domains
    /// (`@example.com`, which also matches subdomains). Empty means any sender.
    pub senders: Vec<String>,
    /// A regular expression (Rust `regex` syntax) with one capture group around the code, for
    /// example `(?:code|Code):\s*([0-9]{6})`. Without a group the whole match is the code.
    pub code_pattern: Option<String>,
}

/// What was found in one message.
#[derive(Clone, Default, PartialEq)]
pub struct Extraction {
    /// The code, normalized: ASCII letters and digits only (spaces, hyphens and prefixes such
    /// as `G-` removed; full-width and Arabic-Indic digits mapped to ASCII).
    pub code: Option<String>,
    /// The code as written in the message (for display), e.g. `123 456` or `G-123456`.
    pub raw_code: Option<String>,
    /// The verification, sign-in or magic link, unwrapped from click-tracking redirects when
    /// possible.
    pub link: Option<String>,
    /// How long the code or link stays valid: as stated in the text ("expires in 10 minutes",
    /// in many languages), else [`DEFAULT_CODE_TTL`] for a code and [`DEFAULT_LINK_TTL`] for a
    /// link. `None` when nothing was found.
    pub expires_in: Option<Duration>,
    /// From 0 (nothing found) to 1 (an app hint matched).
    pub confidence: f32,
}

impl std::fmt::Debug for Extraction {
    // Codes and links are secrets: print whether they exist, never their value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extraction")
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .field("link", &self.link.as_ref().map(|_| "<redacted>"))
            .field("expires_in", &self.expires_in)
            .field("confidence", &self.confidence)
            .finish_non_exhaustive()
    }
}

/// Extracts the code and link of a parsed email.
pub fn extract(mail: &ParsedMail, hints: Option<&Hints>) -> Extraction {
    let page = mail.html.as_deref().map(html::render);
    let subject = mail.subject.as_deref().unwrap_or_default();
    let mut texts: Vec<&str> = vec![subject, &mail.text];
    if let Some(p) = &page {
        if p.text != mail.text {
            texts.push(&p.text);
        }
    }
    let sender_ok = hints.is_some_and(|h| sender_matches(&h.senders, mail.from.as_deref()));
    let hinted = hints
        .filter(|_| sender_ok)
        .and_then(|h| by_pattern(h, &texts));

    let mut links: Vec<(String, String)> = Vec::new();
    if let Some(p) = &page {
        links.extend(p.anchors.iter().map(|a| (a.href.clone(), a.text.clone())));
    }
    for text in &texts[1..] {
        links.extend(urls_with_context(text));
    }
    let chosen = link::choose(&links);
    finish(&texts, hinted, chosen.map(|c| (c.url, c.score)))
}

/// Extracts the code (and link, if any) of an SMS body. The sender is not known here, so a
/// hint's `code_pattern` applies whatever its `senders`.
pub fn extract_sms(body: &str, hints: Option<&Hints>) -> Extraction {
    let texts = [body];
    let hinted = hints.and_then(|h| by_pattern(h, &texts));
    let chosen = link::choose(&urls_with_context(body));
    finish(&texts, hinted, chosen.map(|c| (c.url, c.score)))
}

fn finish(
    texts: &[&str],
    hinted: Option<(String, String)>,
    link: Option<(String, f32)>,
) -> Extraction {
    let (code, raw_code, code_conf) = match hinted {
        Some((code, raw)) => (Some(code), Some(raw), 1.0),
        None => match code::best_code(texts) {
            Some(found) => (
                Some(found.code),
                Some(found.raw),
                (found.score / 10.0).min(0.95),
            ),
            None => (None, None, 0.0),
        },
    };
    let link_conf = link.as_ref().map_or(0.0, |(_, s)| (s / 10.0).min(0.9));
    let link = link.map(|(url, _)| url);
    let stated = texts
        .iter()
        .find_map(|t| expiry::parse_expiry(&code::normalize(t)));
    let expires_in = match (&code, &link) {
        (None, None) => None,
        (Some(_), _) => Some(stated.unwrap_or(DEFAULT_CODE_TTL)),
        (None, Some(_)) => Some(stated.unwrap_or(DEFAULT_LINK_TTL)),
    };
    Extraction {
        code,
        raw_code,
        link,
        expires_in,
        confidence: f32::max(code_conf, link_conf),
    }
}

/// Whether `from` is one of `senders` (addresses, or `@domain` including subdomains).
fn sender_matches(senders: &[String], from: Option<&str>) -> bool {
    if senders.is_empty() {
        return true;
    }
    let Some(from) = from.map(str::to_lowercase) else {
        return false;
    };
    let domain = from.rsplit_once('@').map_or("", |(_, d)| d);
    senders.iter().any(|s| {
        let s = s.trim().to_lowercase();
        match s.strip_prefix('@') {
            Some(d) => domain == d || domain.ends_with(&format!(".{d}")),
            None => s == from,
        }
    })
}

/// The code the app's pattern finds, as (normalized, raw).
fn by_pattern(hints: &Hints, texts: &[&str]) -> Option<(String, String)> {
    let pattern = hints.code_pattern.as_deref()?;
    let re = match RegexBuilder::new(pattern).size_limit(1 << 20).build() {
        Ok(re) => re,
        Err(e) => {
            tracing::warn!(error = %e, "invalid code_pattern in app hints; ignored");
            return None;
        }
    };
    texts.iter().find_map(|t| {
        let t = code::normalize(t);
        let caps = re.captures(&t)?;
        let raw = caps
            .get(1)
            .or_else(|| caps.get(0))?
            .as_str()
            .trim()
            .to_owned();
        let code: String = raw.chars().filter(char::is_ascii_alphanumeric).collect();
        (!code.is_empty()).then_some((code, raw))
    })
}

/// URLs in plain text, each with the words before it on its line and the line above.
fn urls_with_context(text: &str) -> Vec<(String, String)> {
    html::text_urls(text)
        .into_iter()
        .map(|url| {
            let at = text.find(&url).unwrap_or(0);
            let head = &text[..at];
            let from = head
                .rfind('\n')
                .and_then(|i| head[..i].rfind('\n'))
                .map_or(0, |i| i + 1);
            let label = head[from..].trim().to_owned();
            (url, label)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_overrides_scoring() {
        let mail = ParsedMail {
            from: Some("noreply@login.example.com".to_owned()),
            text: "Your code is 111111. Ref 22-AA-3333.".to_owned(),
            ..ParsedMail::default()
        };
        let hints = Hints {
            senders: vec!["@example.com".to_owned()],
            code_pattern: Some(r"Ref (\d\d-AA-\d{4})".to_owned()),
        };
        let e = extract(&mail, Some(&hints));
        assert_eq!(e.code.as_deref(), Some("22AA3333"));
        assert_eq!(e.raw_code.as_deref(), Some("22-AA-3333"));
        assert!((e.confidence - 1.0).abs() < f32::EPSILON);
        let other = Hints {
            senders: vec!["@other.example".to_owned()],
            ..hints
        };
        assert_eq!(extract(&mail, Some(&other)).code.as_deref(), Some("111111"));
    }

    #[test]
    fn sms() {
        let e = extract_sms("G-482913 is your Google verification code.", None);
        assert_eq!(e.code.as_deref(), Some("482913"));
        assert_eq!(e.raw_code.as_deref(), Some("G-482913"));
        assert_eq!(e.expires_in, Some(DEFAULT_CODE_TTL));
        let none = extract_sms("See you at 10:30!", None);
        assert_eq!(none, Extraction::default());
    }

    #[test]
    fn debug_redacts() {
        let e = extract_sms("Your code: 123456", None);
        assert!(!format!("{e:?}").contains("123456"));
    }
}
