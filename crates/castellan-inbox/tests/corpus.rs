//! Every message of `tests/corpus/` extracts exactly its expected code and link.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use castellan_inbox::{extract, extract_sms, parse_mail, Extraction, Hints};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Expected {
    #[serde(default)]
    mail: Vec<Case>,
    #[serde(default)]
    sms: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    file: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    charset: Option<String>,
    #[serde(default)]
    hazards: Vec<String>,
    code: Option<String>,
    raw_code: Option<String>,
    link: Option<String>,
    expires_minutes: Option<u64>,
    hints: Option<HintsToml>,
}

#[derive(Debug, Deserialize)]
struct HintsToml {
    #[serde(default)]
    senders: Vec<String>,
    code_pattern: Option<String>,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn load() -> Expected {
    let text = std::fs::read_to_string(corpus_dir().join("expected.toml")).expect("expected.toml");
    toml::from_str(&text).expect("expected.toml parses")
}

fn hints(case: &Case) -> Option<Hints> {
    case.hints.as_ref().map(|h| Hints {
        senders: h.senders.clone(),
        code_pattern: h.code_pattern.clone(),
    })
}

/// Compares one result; returns a description of each mismatch.
fn check(case: &Case, got: &Extraction) -> Vec<String> {
    let mut problems = Vec::new();
    if got.code != case.code {
        problems.push(format!("code: got {:?}, want {:?}", got.code, case.code));
    }
    if let Some(raw) = &case.raw_code {
        if got.raw_code.as_ref() != Some(raw) {
            problems.push(format!("raw_code: got {:?}, want {raw:?}", got.raw_code));
        }
    }
    if got.link != case.link {
        problems.push(format!("link: got {:?}, want {:?}", got.link, case.link));
    }
    if let Some(minutes) = case.expires_minutes {
        let got_minutes = got.expires_in.map(|d| d.as_secs() / 60);
        if got_minutes != Some(minutes) {
            problems.push(format!(
                "expires: got {got_minutes:?} min, want {minutes} min"
            ));
        }
    }
    if (case.code.is_some() || case.link.is_some()) && got.confidence <= 0.0 {
        problems.push("confidence is zero".to_owned());
    }
    problems
}

#[test]
fn corpus_is_large_and_varied() {
    let expected = load();
    assert!(expected.mail.len() >= 40, "at least 40 messages");
    let langs: std::collections::BTreeSet<_> = expected
        .mail
        .iter()
        .filter_map(|c| c.lang.as_deref())
        .collect();
    assert!(langs.len() >= 8, "at least 8 languages: {langs:?}");
    let charsets: std::collections::BTreeSet<_> = expected
        .mail
        .iter()
        .filter_map(|c| c.charset.as_deref())
        .filter(|c| !c.starts_with("utf-8") && !c.starts_with("us-ascii"))
        .collect();
    assert!(charsets.len() >= 4, "at least 4 charsets: {charsets:?}");
    for hazard in [
        "html-only",
        "quoted-printable",
        "base64",
        "mislabeled-charset",
        "split-space",
        "split-hyphen",
        "prefixed",
        "date",
        "price",
        "css-colour",
        "phone",
        "order-number",
        "click-tracking",
        "magic-link",
        "app-hint",
    ] {
        let covered = expected
            .mail
            .iter()
            .chain(&expected.sms)
            .any(|c| c.hazards.iter().any(|h| h == hazard));
        assert!(covered, "hazard {hazard} has no message");
    }
}

#[test]
fn every_mail_extracts_its_code_or_link() {
    let expected = load();
    let mut failures = Vec::new();
    for case in &expected.mail {
        let raw = std::fs::read(corpus_dir().join(&case.file)).expect("corpus file");
        let parsed = match parse_mail(&raw) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: parse error {e}", case.file));
                continue;
            }
        };
        let got = extract(&parsed, hints(case).as_ref());
        for problem in check(case, &got) {
            failures.push(format!("{}: {problem}", case.file));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} messages failed:\n{}",
        failures.len(),
        expected.mail.len(),
        failures.join("\n")
    );
}

#[test]
fn every_sms_extracts_its_code_or_link() {
    let expected = load();
    assert!(expected.sms.len() >= 10);
    let mut failures = Vec::new();
    for case in &expected.sms {
        let body = std::fs::read_to_string(corpus_dir().join(&case.file)).expect("sms file");
        let got = extract_sms(&body, hints(case).as_ref());
        for problem in check(case, &got) {
            failures.push(format!("{}: {problem}", case.file));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
