//! Runs `tests/uri_suite.toml`: secrets and otpauth:// URIs written for the project, each with
//! its expected parse, warnings and codes at fixed times, or its expected refusal. Where the
//! expected values come from is explained at the top of the TOML file.

use castellan_otp::{
    code_at, hotp, parse_secret, parse_uri, seconds_remaining, to_uri, verify_totp, Kind, OtpError,
    OtpParams, Warning,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    uri: Option<String>,
    secret: Option<String>,
    error: Option<String>,
    kind: Option<String>,
    algorithm: Option<String>,
    digits: Option<u32>,
    period: Option<u64>,
    counter: Option<u64>,
    issuer: Option<String>,
    label_issuer: Option<String>,
    account: Option<String>,
    secret_base32: Option<String>,
    warnings: Option<Vec<String>>,
    codes: Option<Vec<(u64, String)>>,
}

fn load() -> Vec<Case> {
    let text = include_str!("uri_suite.toml");
    let suite: Suite = toml::from_str(text).expect("uri_suite.toml parses");
    suite.case
}

/// The suite's notation for a warning.
fn warning_text(w: &Warning) -> String {
    match w {
        Warning::ShortSecret { bits } => format!("short_secret:{bits}"),
        Warning::IssuerMismatch { label, parameter } => {
            format!("issuer_mismatch:{label}|{parameter}")
        }
        other => panic!("warning without a suite notation: {other:?}"),
    }
}

/// `""` in the suite means "absent".
fn opt(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn parse(case: &Case) -> Result<(OtpParams, Vec<Warning>), OtpError> {
    match (&case.uri, &case.secret) {
        (Some(uri), None) => parse_uri(uri),
        (None, Some(secret)) => {
            parse_secret(secret).map(|(s, w)| (OtpParams::new(Kind::Totp, s), w))
        }
        _ => panic!("{}: give exactly one of uri and secret", case.name),
    }
}

fn check_fields(case: &Case, p: &OtpParams) {
    let name = &case.name;
    let required = "URI cases state every field";
    assert_eq!(
        serde_json::to_value(p.kind).unwrap(),
        case.kind.as_deref().expect(required),
        "{name}: kind"
    );
    assert_eq!(
        serde_json::to_value(p.algorithm).unwrap(),
        case.algorithm.as_deref().expect(required),
        "{name}: algorithm"
    );
    assert_eq!(p.digits, case.digits.expect(required), "{name}: digits");
    assert_eq!(p.period, case.period.expect(required), "{name}: period");
    assert_eq!(p.counter, case.counter.expect(required), "{name}: counter");
    assert!(case.issuer.is_some() && case.label_issuer.is_some() && case.account.is_some());
    assert_eq!(p.issuer.as_deref(), opt(&case.issuer), "{name}: issuer");
    assert_eq!(
        p.label_issuer.as_deref(),
        opt(&case.label_issuer),
        "{name}: label_issuer"
    );
    assert_eq!(
        p.account_name.as_deref(),
        opt(&case.account),
        "{name}: account"
    );
}

fn check_accepted(case: &Case, p: &OtpParams, warnings: &[Warning]) {
    let name = &case.name;
    if case.uri.is_some() {
        check_fields(case, p);
        // Re-serializing and parsing again gives the same parameters and warnings.
        let (again, again_warnings) = parse_uri(&to_uri(p)).unwrap();
        assert_eq!(&again, p, "{name}: to_uri round trip");
        assert_eq!(
            again_warnings, warnings,
            "{name}: warnings after round trip"
        );
    } else {
        assert!(
            case.kind.is_none(),
            "{name}: secret cases use the TOTP defaults"
        );
    }
    assert_eq!(
        p.secret.to_base32(),
        case.secret_base32.as_deref().expect("secret_base32"),
        "{name}: secret"
    );
    let got: Vec<String> = warnings.iter().map(warning_text).collect();
    assert_eq!(
        &got,
        case.warnings.as_ref().expect("warnings"),
        "{name}: warnings"
    );
    let codes = case.codes.as_ref().expect("codes");
    assert!(
        codes.len() >= 2,
        "{name}: codes at two fixed times at least"
    );
    for (n, expected) in codes {
        if p.kind == Kind::Hotp {
            assert_eq!(&hotp(p, *n), expected, "{name}: hotp counter {n}");
        } else {
            assert_eq!(&code_at(p, *n), expected, "{name}: code at {n}");
            let step = n / p.period;
            assert_eq!(
                verify_totp(p, expected, *n, 1),
                Some(step),
                "{name}: verify at {n}"
            );
            assert!((1..=p.period).contains(&seconds_remaining(p, *n)));
        }
    }
}

#[test]
fn suite_has_enough_cases_of_each_sort() {
    let cases = load();
    let refusals = cases.iter().filter(|c| c.error.is_some()).count();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    assert!(refusals >= 10, "{refusals} refusals");
    assert!(
        cases.len() - refusals >= 25,
        "{} accepted",
        cases.len() - refusals
    );
}

#[test]
fn every_case() {
    let mut failures = Vec::new();
    for case in load() {
        let outcome = std::panic::catch_unwind(|| match (parse(&case), &case.error) {
            (Ok((p, warnings)), None) => check_accepted(&case, &p, &warnings),
            (Err(e), Some(expected)) => assert!(
                e.to_string().contains(expected.as_str()),
                "{}: error `{e}` does not contain `{expected}`",
                case.name
            ),
            (Ok((p, _)), Some(expected)) => {
                panic!("{}: accepted {p:?}, expected error `{expected}`", case.name)
            }
            (Err(e), None) => panic!("{}: refused: {e}", case.name),
        });
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(message);
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
