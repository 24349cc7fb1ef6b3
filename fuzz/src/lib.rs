//! Checks shared by Castellan's fuzz targets (docs/fuzzing.md): what every result of a parser
//! must satisfy, whatever the input. A broken check panics, and libFuzzer reports a crash.
#![forbid(unsafe_code)]

use castellan_inbox::{Extraction, Hints, ParsedMail};
use castellan_otp::{code_at, hotp, seconds_remaining, verify_totp, Kind, OtpParams};

/// Unix times at which codes are computed: the epoch, RFC 6238's test times, a current one and
/// the largest.
const TIMES: [u64; 5] = [0, 59, 1_111_111_109, 1_700_000_000, u64::MAX];

/// Checks parameters a parser returned: valid ([`OtpParams::validate`]) and normalized (no
/// counter outside HOTP, trimmed non-empty names), and codes of the declared length come out
/// at any time and verify.
pub fn check_otp_params(p: &OtpParams) {
    p.validate()
        .unwrap_or_else(|e| panic!("a parser returned invalid parameters: {e}"));
    if p.kind != Kind::Hotp {
        assert_eq!(p.counter, 0, "counter outside HOTP");
    }
    for name in [&p.issuer, &p.label_issuer, &p.account_name]
        .into_iter()
        .flatten()
    {
        assert!(
            !name.is_empty() && name.trim() == name,
            "not normalized: {name:?}"
        );
    }
    let digits = p.digits as usize;
    for t in TIMES {
        let code = code_at(p, t);
        assert_eq!(code.chars().count(), digits, "code length at {t}");
        let remaining = seconds_remaining(p, t);
        if p.kind == Kind::Hotp {
            assert_eq!(remaining, 0);
        } else {
            assert!(
                (1..=p.period).contains(&remaining),
                "remaining {remaining} at {t}"
            );
            assert!(
                verify_totp(p, &code, t, 1).is_some(),
                "own code refused at {t}"
            );
        }
    }
    assert_eq!(hotp(p, u64::MAX).chars().count(), digits);
}

/// Checks an extraction against the documented shape of [`Extraction`].
pub fn check_extraction(e: &Extraction) {
    if let Some(code) = &e.code {
        assert!(!code.is_empty(), "empty code");
        assert!(
            code.chars().all(|c| c.is_ascii_alphanumeric()),
            "code not normalized: {code:?}"
        );
        assert!(e.raw_code.is_some(), "code without its raw form");
    } else {
        assert!(e.raw_code.is_none(), "raw code without a code");
    }
    assert_eq!(
        e.expires_in.is_some(),
        e.code.is_some() || e.link.is_some(),
        "expiry iff something was found"
    );
    assert!(
        (0.0..=1.0).contains(&e.confidence),
        "confidence {}",
        e.confidence
    );
    if e.code.is_none() && e.link.is_none() {
        assert!(e.confidence == 0.0, "confidence without a finding");
    }
}

/// Checks a parsed mail: lowercased addresses and links without duplicates.
pub fn check_parsed_mail(m: &ParsedMail) {
    for a in m.from.iter().chain(&m.to) {
        assert_eq!(a, &a.to_lowercase(), "address not lowercased");
    }
    for (i, l) in m.links.iter().enumerate() {
        assert!(!m.links[..i].contains(l), "duplicate link");
    }
}

/// The catalog's GitHub inbox hints: a sender domain and a pattern with one capture group.
pub fn github_hints() -> Hints {
    Hints {
        senders: vec!["@github.com".to_owned(), "noreply@github.com".to_owned()],
        code_pattern: Some(r"(?i)verification code:?\s*([0-9]{6,8})".to_owned()),
    }
}
