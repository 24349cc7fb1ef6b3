//! HTML to plain text, and the links of a page, for mail bodies.
//!
//! A tolerant single pass over the markup (mail HTML is rarely well formed): the content of
//! `<style>`, `<script>`, `<template>` and `<head>`-level `<title>` is dropped (so CSS colours
//! never reach the extractor), comments and attributes are dropped, block elements and table
//! cells start new lines, and character references are decoded with `mail-parser`'s entity
//! table. Anchors keep their `href` and their visible text (or an image's `alt`).

use std::sync::LazyLock;

use regex::Regex;

/// One `<a href>` of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Anchor {
    /// The `href`, character references decoded.
    pub href: String,
    /// The visible text inside the anchor, whitespace collapsed.
    pub text: String,
}

/// A page reduced to text and anchors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Page {
    pub text: String,
    pub anchors: Vec<Anchor>,
}

static HREF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)\b(href|alt)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#).expect("valid")
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\bhttps?://[^\s<>"'\[\]{}|\\^`]+"#).expect("valid"));

const SKIPPED: &[&str] = &["style", "script", "template", "title", "xml", "head"];
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "tr",
    "td",
    "th",
    "li",
    "ul",
    "ol",
    "table",
    "tbody",
    "thead",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "hr",
    "center",
    "section",
    "article",
    "header",
    "footer",
    "pre",
    "dd",
    "dt",
    "dl",
    "body",
    "form",
    "address",
];

/// Converts HTML to text and collects its anchors.
pub(crate) fn render(html: &str) -> Page {
    let mut out = String::with_capacity(html.len() / 2);
    let mut anchors = Vec::new();
    // (href, start of its text in `out`, alt texts seen inside)
    let mut open: Option<(String, usize, String)> = None;
    let mut skipping: Option<&'static str> = None;
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if skipping.is_none() {
                push_text(&mut out, rest);
            }
            break;
        };
        if skipping.is_none() {
            push_text(&mut out, &rest[..lt]);
        }
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        let (closing, name, tag, next) = match split_tag(rest) {
            Some(t) => t,
            None => {
                // A lone '<': text.
                if skipping.is_none() {
                    out.push('<');
                }
                rest = &rest[1..];
                continue;
            }
        };
        rest = next;
        let name = name.to_ascii_lowercase();
        if let Some(skip) = skipping {
            if closing && name == skip {
                skipping = None;
            }
            continue;
        }
        if let Some(skip) = SKIPPED.iter().find(|s| **s == name) {
            // <head> is skipped only for its own text; its end tag or <body> ends it.
            if !closing && !tag.ends_with("/>") && name != "head" {
                skipping = Some(skip);
            }
            continue;
        }
        match name.as_str() {
            "br" => out.push('\n'),
            "a" if closing => {
                if let Some((href, start, alt)) = open.take() {
                    let mut text = collapse(&out[start.min(out.len())..]);
                    if text.is_empty() {
                        text = collapse(&alt);
                    }
                    anchors.push(Anchor { href, text });
                }
            }
            "a" => {
                if let Some(href) = attribute(tag, "href") {
                    open = Some((href.trim().to_owned(), out.len(), String::new()));
                }
            }
            "img" => {
                if let (Some((_, _, alt)), Some(text)) = (open.as_mut(), attribute(tag, "alt")) {
                    alt.push_str(&text);
                    alt.push(' ');
                }
            }
            n if BLOCKS.contains(&n) => out.push('\n'),
            _ => {}
        }
    }
    if let Some((href, start, alt)) = open {
        let text = collapse(&format!("{} {alt}", &out[start.min(out.len())..]));
        anchors.push(Anchor { href, text });
    }
    Page {
        text: tidy(&out),
        anchors,
    }
}

/// URLs written out in plain text, trailing punctuation trimmed.
pub(crate) fn text_urls(text: &str) -> Vec<String> {
    URL.find_iter(text)
        .map(|m| {
            m.as_str()
                .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '>', '\'', '"'])
                .to_owned()
        })
        .collect()
}

/// Splits `<name ...>` off the front of `s`: (closing, name, whole tag, rest).
fn split_tag(s: &str) -> Option<(bool, &str, &str, &str)> {
    let body = &s[1..];
    let (closing, body) = match body.strip_prefix('/') {
        Some(b) => (true, b),
        None => (false, body),
    };
    let bang = body.starts_with('!') || body.starts_with('?');
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '-'))
        .unwrap_or(body.len());
    if name_len == 0 && !bang {
        return None;
    }
    // Find the closing '>' outside quotes.
    let mut quote: Option<char> = None;
    let mut end = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if !bang => quote = Some(c),
            (None, '>') => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let name = if bang { "!" } else { &body[..name_len] };
    // '>' is one byte, so `end + 1` is a char boundary; an unclosed tag runs to the end.
    Some(match end {
        Some(end) => (closing, name, &s[..=end], &s[end + 1..]),
        None => (closing, name, s, ""),
    })
}

/// The decoded value of attribute `name` in a start tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    HREF.captures_iter(tag)
        .find(|c| c[1].eq_ignore_ascii_case(name))
        .and_then(|c| c.get(2).or(c.get(3)).or(c.get(4)))
        .map(|m| decode_entities(m.as_str()))
}

/// Appends a text run: whitespace collapsed, character references decoded.
fn push_text(out: &mut String, run: &str) {
    let decoded = decode_entities(run);
    for c in decoded.chars() {
        if c.is_whitespace() {
            if !out.ends_with([' ', '\n']) && !out.is_empty() {
                out.push(' ');
            }
        } else if !matches!(
            c,
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' | '\u{ad}'
        ) {
            out.push(c);
        }
    }
}

/// Decodes `&name;`, `&#NNN;` and `&#xHH;` (unknown references stay as written).
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest[1..]
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '#' || *c == ';')
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i + 1);
        match semi {
            Some(semi) if semi <= 32 => {
                mail_parser::decoders::html::add_html_token(
                    &mut out,
                    &rest.as_bytes()[..=semi],
                    false,
                );
                rest = &rest[semi + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whitespace collapsed to single spaces, trimmed.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lines trimmed, runs of empty lines reduced to one.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines().map(str::trim) {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_anchors() {
        let page = render(
            "<html><head><title>T</title><style>.c{color:#ff0000}</style></head><body>\
             <p>Your code:</p><td style=\"color:#123456\">482&nbsp;913</td>\
             <a href=\"https://x.example/v?a=1&amp;b=2\">Verify <b>now</b></a>\
             <a href='https://x.example/u'><img alt=\"Unsubscribe\"></a><!-- 999999 --></body>",
        );
        assert_eq!(page.text, "Your code:\n\n482 913\nVerify now");
        assert_eq!(page.anchors.len(), 2);
        assert_eq!(page.anchors[0].href, "https://x.example/v?a=1&b=2");
        assert_eq!(page.anchors[0].text, "Verify now");
        assert_eq!(page.anchors[1].text, "Unsubscribe");
    }

    #[test]
    fn broken_markup_does_not_panic() {
        for html in [
            "<",
            "<a href=",
            "<<>>",
            "<a href='x'>é",
            "&#xZZ;",
            "&",
            "<style>",
            "é<",
            "<aé",
            "<a href=\"é",
        ] {
            let _ = render(html);
        }
    }

    #[test]
    fn urls_in_text() {
        assert_eq!(
            text_urls("Go to https://a.example/x?y=1. Or (http://b.example/)"),
            vec!["https://a.example/x?y=1", "http://b.example/"]
        );
    }
}
