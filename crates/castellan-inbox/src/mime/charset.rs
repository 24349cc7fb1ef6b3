//! Repair of mislabeled charsets.
//!
//! `mail-parser` decodes each text part with the charset its `Content-Type` declares (or UTF-8
//! when none is declared). Senders get this wrong: windows-1252 or Shift_JIS bytes labeled
//! `utf-8`, UTF-8 labeled `iso-8859-1`, ISO-2022-JP labeled `us-ascii`, no label at all. The
//! strategy, applied to one part at a time:
//!
//! 1. Suspect the decoding when the text holds U+FFFD replacement characters (bytes invalid in
//!    the declared charset), ESC characters (an ISO-2022 escape read as ASCII), or when a
//!    part declared in a legacy charset has bytes that form valid multi-byte UTF-8 (the usual
//!    `Ã©` mojibake). Otherwise keep mail-parser's text.
//! 2. Undo the transfer encoding again (quoted-printable or base64) to get the part's bytes.
//! 3. Bytes that are valid UTF-8 are UTF-8: multi-byte UTF-8 sequences almost never occur by
//!    chance in legacy encodings.
//! 4. Otherwise ask `chardetng` (Firefox's detector over `encoding_rs`: it scores windows-125x,
//!    ISO-8859-x, KOI8, IBM866, Shift_JIS, EUC-JP, ISO-2022-JP, EUC-KR, GBK and Big5 by the
//!    plausibility of the decoded text) and decode with its guess.
//! 5. Keep the new text only if it has fewer replacement characters (and no more ESC) than the
//!    old one.

use mail_parser::{Encoding, MessagePart, MimeHeaders};

const REPLACEMENT: char = '\u{FFFD}';
const ESC: char = '\u{1b}';

/// A better decoding of `part` than `decoded`, if one is found.
pub(super) fn repair(part: &MessagePart<'_>, raw: &[u8], decoded: &str) -> Option<String> {
    let declared = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(str::to_ascii_lowercase);
    let declared_utf8 = declared
        .as_deref()
        .is_none_or(|c| c == "utf-8" || c == "utf8");
    let damaged = decoded.contains(REPLACEMENT) || decoded.contains(ESC);
    let legacy_label = !declared_utf8 && !decoded.is_ascii();
    if !damaged && !legacy_label {
        return None;
    }
    let bytes = part_bytes(part, raw)?;
    if !damaged {
        // A legacy label on text that decodes fine: only UTF-8 in disguise is worth a change.
        let text = std::str::from_utf8(&bytes).ok()?;
        return (!text.is_ascii() && text != decoded).then(|| text.to_owned());
    }
    let candidate = match std::str::from_utf8(&bytes) {
        Ok(text) if !bytes.contains(&0x1b) => text.to_owned(),
        _ => {
            let mut detector =
                chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
            detector.feed(&bytes, true);
            let (text, _, _) = detector
                .guess(None, chardetng::Utf8Detection::Allow)
                .decode(&bytes);
            text.into_owned()
        }
    };
    let count = |s: &str, c: char| s.chars().filter(|x| *x == c).count();
    let (before, after) = (count(decoded, REPLACEMENT), count(&candidate, REPLACEMENT));
    let better =
        after < before || (after == before && count(&candidate, ESC) < count(decoded, ESC));
    better.then_some(candidate)
}

/// The part's body bytes with the transfer encoding undone, before any charset decoding.
fn part_bytes(part: &MessagePart<'_>, raw: &[u8]) -> Option<Vec<u8>> {
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    match part.encoding {
        Encoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
        }
        Encoding::Base64 => mail_parser::decoders::base64::base64_decode(body),
        Encoding::None => Some(body.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use crate::mime::parse_mail;

    fn mail(charset: &str, body: &[u8]) -> Vec<u8> {
        let mut raw =
            format!("From: a@b.example\r\nContent-Type: text/plain; charset={charset}\r\n\r\n")
                .into_bytes();
        raw.extend_from_slice(body);
        raw
    }

    #[test]
    fn latin1_labeled_utf8() {
        let m = parse_mail(&mail(
            "utf-8",
            b"Ihr Best\xe4tigungscode lautet 123456. Gr\xfc\xdfe",
        ))
        .unwrap();
        assert!(m.text.contains("Bestätigungscode"), "{}", m.text);
        assert!(m.text.contains("Grüße"));
    }

    #[test]
    fn utf8_labeled_latin1() {
        let m = parse_mail(&mail("iso-8859-1", "Código de verificação".as_bytes())).unwrap();
        assert_eq!(m.text.trim(), "Código de verificação");
    }

    #[test]
    fn shift_jis_labeled_utf8() {
        let (bytes, _, _) =
            encoding_rs::SHIFT_JIS.encode("あなたの認証コードは 482913 です。有効期限は10分です。");
        let m = parse_mail(&mail("utf-8", &bytes)).unwrap();
        assert!(m.text.contains("認証コード"), "{}", m.text);
    }

    #[test]
    fn iso2022jp_labeled_ascii() {
        let (bytes, _, _) = encoding_rs::ISO_2022_JP.encode("認証コード: 551204");
        let m = parse_mail(&mail("us-ascii", &bytes)).unwrap();
        assert!(m.text.contains("認証コード"), "{}", m.text);
    }

    #[test]
    fn correct_labels_are_left_alone() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Ваш код подтверждения: 7788");
        let m = parse_mail(&mail("windows-1251", &bytes)).unwrap();
        assert!(m.text.contains("код подтверждения"), "{}", m.text);
    }
}
