//! `otpauth://` URIs (castellan_otp::parse_uri) and pasted secrets (parse_secret), from
//! arbitrary text. Checks: no panic; accepted parameters are valid and give codes; a URI
//! written by to_uri reads back the same.
#![no_main]

use castellan_fuzz::check_otp_params;
use castellan_otp::{parse_secret, parse_uri, to_uri, Warning};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((secret, _)) = parse_secret(text) {
        assert!(!secret.as_bytes().is_empty(), "empty secret accepted");
    }
    let Ok((p, warnings)) = parse_uri(text) else {
        return;
    };
    check_otp_params(&p);
    for w in &warnings {
        if let Warning::ShortSecret { bits } = w {
            assert_eq!(*bits, p.secret.bits());
        }
    }
    // to_uri's documented limit: a `:` in the label issuer cannot be written (parse_uri splits
    // the label at its first `:`, so it never returns one).
    let written = to_uri(&p);
    let (back, _) =
        parse_uri(&written).unwrap_or_else(|e| panic!("to_uri wrote a URI parse_uri refuses: {e}"));
    if !p.label_issuer.as_deref().unwrap_or("").contains(':') {
        assert_eq!(back, p, "round trip through to_uri");
    }
});
