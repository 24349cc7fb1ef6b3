//! Hostile MIME through `parse_mail`: no panic, bounded work, a clean result.
//! (The same inputs go through the SMTP receiver in `smtp.rs`.)
#![forbid(unsafe_code)]

mod common;

use castellan_inbox::mime::{check_structure, MimeError};
use castellan_inbox::{extract, parse_mail};
use common::hostile;

#[test]
fn deep_nesting_is_refused() {
    let raw = hostile::deep_nesting(10_000, true);
    let err = parse_mail(&raw).unwrap_err();
    assert!(
        matches!(err, MimeError::TooDeep | MimeError::TooManyParts),
        "{err}"
    );
    // Without closing delimiters as well.
    let raw = hostile::deep_nesting(10_000, false);
    assert!(parse_mail(&raw).is_err());
    // Just past the limit, with few parts: the depth itself is the reason.
    let raw = hostile::deep_nesting(25, true);
    assert_eq!(parse_mail(&raw).unwrap_err(), MimeError::TooDeep);
    // Within the limit: parsed, code found.
    let raw = hostile::deep_nesting(15, true);
    let mail = parse_mail(&raw).expect("15 levels are fine");
    assert_eq!(extract(&mail, None).code.as_deref(), Some("918273"));
}

#[test]
fn huge_header_is_refused() {
    let raw = hostile::huge_header(1024 * 1024, false);
    assert_eq!(parse_mail(&raw).unwrap_err(), MimeError::HeadersTooLarge);
    // Folded into many short lines (as SMTP would carry it).
    let raw = hostile::huge_header(1024 * 1024, true);
    assert_eq!(
        check_structure(&raw).unwrap_err(),
        MimeError::HeadersTooLarge
    );
    // Large headers inside a part count too.
    let raw = hostile::huge_part_headers(300 * 1024);
    assert_eq!(parse_mail(&raw).unwrap_err(), MimeError::HeadersTooLarge);
}

#[test]
fn endless_boundary_parses_what_is_there() {
    let raw = hostile::endless_boundary();
    let mail = parse_mail(&raw).expect("parsed");
    assert_eq!(extract(&mail, None).code.as_deref(), Some("246135"));
}

#[test]
fn many_empty_parts_are_refused() {
    let raw = hostile::many_parts(100_000);
    assert_eq!(parse_mail(&raw).unwrap_err(), MimeError::TooManyParts);
    let raw = hostile::many_parts(900);
    assert!(parse_mail(&raw).is_ok());
}

#[test]
fn garbage_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces: [&[u8]; 12] = [
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b"--x\r\n",
        b"--x--\r\n",
        b"\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"=E2=80=\r\n",
        b"Content-Type: text/html; charset=shift_jis\r\n",
        b"<a href=\"https://x.example/verify\">\xff\xfe</a>",
        b"Content-Type: message/rfc822\r\n",
        b"Subject: =?utf-8?B?////?=\r\n",
        b"code 123456 \x00\x1b$B",
    ];
    for _ in 0..2000 {
        let mut raw = Vec::new();
        for _ in 0..(next() % 40) {
            raw.extend_from_slice(pieces[(next() % 12) as usize]);
        }
        if let Ok(mail) = parse_mail(&raw) {
            let _ = extract(&mail, None);
        }
    }
}
