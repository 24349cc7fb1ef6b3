//! MIME parsing of received mail into a [`ParsedMail`].
//!
//! `mail-parser` does the MIME work (RFC 2045 and 2046 structure and transfer encodings,
//! RFC 2047 encoded words, charsets through `encoding_rs`). Around it this module adds limits
//! against hostile input ([`check_structure`]), a repair step for mislabeled charsets
//! (`charset.rs`) and HTML to text with link collection (`html.rs`).

mod charset;
pub(crate) mod html;

use chrono::{DateTime, Utc};
use mail_parser::{Message, MessageParser, PartType};

/// Deepest accepted nesting of multiparts and attached messages (the top level is depth 1).
pub const MAX_DEPTH: usize = 20;
/// Most header bytes accepted, summed over the message and all its parts: 256 KiB.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;
/// Most MIME parts accepted, containers included.
pub const MAX_PARTS: usize = 1000;

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    /// Multiparts or attached messages nest deeper than [`MAX_DEPTH`].
    #[error("MIME nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// Headers total more than [`MAX_HEADER_BYTES`] (the count stops at the first overflow).
    #[error("headers over {MAX_HEADER_BYTES} bytes")]
    HeadersTooLarge,
    /// More than [`MAX_PARTS`] MIME parts.
    #[error("more than {MAX_PARTS} MIME parts")]
    TooManyParts,
    /// Nothing that looks like an RFC 5322 message (no header at all).
    #[error("not an RFC 5322 message")]
    NotAMessage,
}

/// A received message, reduced to what the inbox shows and the extractor reads.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ParsedMail {
    /// The first `From:` address, lowercased.
    pub from: Option<String>,
    /// The `To:` addresses, lowercased.
    pub to: Vec<String>,
    /// The `Subject:`, RFC 2047 words decoded.
    pub subject: Option<String>,
    /// The `Date:` header, in UTC.
    pub date: Option<DateTime<Utc>>,
    /// The `Message-ID:` without angle brackets.
    pub message_id: Option<String>,
    /// The best plain text: the text/plain body parts, else the HTML converted to text.
    pub text: String,
    /// The HTML body parts, concatenated, if any.
    pub html: Option<String>,
    /// Link targets in document order: `href`s from the HTML, then URLs in the plain text,
    /// without duplicates.
    pub links: Vec<String>,
}

impl std::fmt::Debug for ParsedMail {
    // Bodies and subjects can hold codes: print sizes only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedMail")
            .field("date", &self.date)
            .field("message_id", &self.message_id)
            .field("text_bytes", &self.text.len())
            .field("html_bytes", &self.html.as_ref().map(String::len))
            .field("links", &self.links.len())
            .finish_non_exhaustive()
    }
}

/// Checks a raw message against [`MAX_DEPTH`], [`MAX_HEADER_BYTES`] and [`MAX_PARTS`] without
/// building a [`ParsedMail`]. The SMTP receiver runs it before storing a message.
///
/// # Errors
/// The first limit broken, or [`MimeError::NotAMessage`].
pub fn check_structure(raw: &[u8]) -> Result<(), MimeError> {
    parse_checked(raw).map(|_| ())
}

/// Parses a raw RFC 5322 message. Never panics; a multipart whose closing delimiter never comes
/// is read to the end of the message.
///
/// # Errors
/// [`MimeError`] when a limit is broken or the input has no header at all.
pub fn parse_mail(raw: &[u8]) -> Result<ParsedMail, MimeError> {
    let message = parse_checked(raw)?;
    let mut plain = Vec::new();
    let mut html = Vec::new();
    for id in message.text_body.iter().chain(&message.html_body) {
        let Some(part) = message.parts.get(*id as usize) else {
            continue;
        };
        let (text, is_html) = match &part.body {
            PartType::Text(t) => (t, false),
            PartType::Html(h) => (h, true),
            _ => continue,
        };
        let text = charset::repair(part, message.raw_message(), text)
            .unwrap_or_else(|| text.clone().into_owned());
        let list = if is_html { &mut html } else { &mut plain };
        if !list.contains(&text) {
            list.push(text);
        }
    }
    let html = (!html.is_empty()).then(|| html.join("\n"));
    let page = html.as_deref().map(html::render);
    let plain = plain.join("\n");
    let mut links: Vec<String> = Vec::new();
    let text_links = html::text_urls(&plain);
    let anchors = page.iter().flat_map(|p| p.anchors.iter().map(|a| &a.href));
    for link in anchors.chain(text_links.iter()) {
        if !links.contains(link) {
            links.push(link.clone());
        }
    }
    let text = if plain.trim().is_empty() {
        page.map(|p| p.text).unwrap_or_default()
    } else {
        plain
    };
    let addresses = |a: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address())
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default()
    };
    Ok(ParsedMail {
        from: addresses(message.from()).into_iter().next(),
        to: addresses(message.to()),
        subject: message.subject().map(str::to_owned),
        date: message
            .date()
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        message_id: message.message_id().map(str::to_owned),
        text,
        html,
        links,
    })
}

/// Length of the top-level header block: up to the first empty line, or all of it.
fn header_block_len(raw: &[u8]) -> usize {
    let mut at_line_start = true;
    for (i, &b) in raw.iter().enumerate() {
        match b {
            b'\n' if at_line_start => return i,
            b'\n' => at_line_start = true,
            b'\r' => {}
            _ => at_line_start = false,
        }
    }
    raw.len()
}

fn parse_checked(raw: &[u8]) -> Result<Message<'_>, MimeError> {
    // Refuse a huge top-level header before the parser spends time on it.
    if header_block_len(raw) > MAX_HEADER_BYTES {
        return Err(MimeError::HeadersTooLarge);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(MimeError::NotAMessage)?;
    if message.parts.is_empty() {
        return Err(MimeError::NotAMessage);
    }
    let mut parts = 0usize;
    let mut header_bytes = 0usize;
    // Depth-first over (message, part id, depth) without recursion: nesting is input-controlled.
    let mut stack: Vec<(&Message<'_>, u32, usize)> = vec![(&message, 0, 1)];
    while let Some((msg, id, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(MimeError::TooDeep);
        }
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        parts += 1;
        if parts > MAX_PARTS {
            return Err(MimeError::TooManyParts);
        }
        header_bytes += part.offset_body.saturating_sub(part.offset_header) as usize;
        if header_bytes > MAX_HEADER_BYTES {
            return Err(MimeError::HeadersTooLarge);
        }
        match &part.body {
            PartType::Multipart(children) => {
                // Children always come after their parent; anything else is ignored.
                let children = children.iter().filter(|c| **c > id);
                stack.extend(children.map(|c| (msg, *c, depth + 1)));
            }
            PartType::Message(inner) => stack.push((inner, 0, depth + 1)),
            _ => {}
        }
    }
    // Parts the tree does not reach (a multipart that never closed) still count.
    if message.parts.len() > MAX_PARTS {
        return Err(MimeError::TooManyParts);
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_block_is_measured() {
        assert_eq!(header_block_len(b"A: b\r\n\r\nbody"), 7);
        assert_eq!(header_block_len(b"A: b\n\nbody"), 5);
        assert_eq!(header_block_len(b"A: b\r\n"), 6);
    }

    #[test]
    fn simple_message() {
        let raw = b"From: Shop <No-Reply@Shop.example>\r\nTo: a@b.example\r\nSubject: =?utf-8?q?Hall=C3=B6?=\r\nDate: Tue, 1 Oct 2024 10:00:00 +0200\r\nMessage-ID: <x@y>\r\n\r\nSee https://shop.example/a?b=1.\r\n";
        let m = parse_mail(raw).unwrap();
        assert_eq!(m.from.as_deref(), Some("no-reply@shop.example"));
        assert_eq!(m.to, vec!["a@b.example"]);
        assert_eq!(m.subject.as_deref(), Some("Hallö"));
        assert_eq!(m.message_id.as_deref(), Some("x@y"));
        assert_eq!(m.date.unwrap().to_rfc3339(), "2024-10-01T08:00:00+00:00");
        assert_eq!(m.links, vec!["https://shop.example/a?b=1"]);
    }

    #[test]
    fn garbage_does_not_panic() {
        for raw in [&b""[..], b"\r\n\r\n", b"\x00\xff\xfe", b"--x\r\n--x--"] {
            let _ = parse_mail(raw);
        }
    }
}
