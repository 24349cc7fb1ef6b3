//! One-time code and link extraction on text, without MIME: castellan_inbox::extract on a
//! ParsedMail built from the input, extract_sms, unwrap_tracking_link and the inbound SMS
//! webhook's form parser. The input is split at the first two NUL bytes into subject, plain
//! text and HTML. Checks: no panic; extractions have their documented shape; a normalized
//! E.164 number normalizes to itself.
#![no_main]

use castellan_fuzz::{check_extraction, github_hints};
use castellan_inbox::extract::unwrap_tracking_link;
use castellan_inbox::{extract, extract_sms, normalize_e164, parse_sms_form, ParsedMail};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((sms, _params)) = parse_sms_form(data) {
        check_extraction(&extract_sms(&sms.body, None));
    }
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let subject = parts.next().unwrap_or_default();
    let plain = parts.next().unwrap_or_default();
    let html = parts.next();
    let mail = ParsedMail {
        from: Some("noreply@github.com".to_owned()),
        subject: Some(subject.to_owned()),
        text: plain.to_owned(),
        html: html.map(str::to_owned),
        ..ParsedMail::default()
    };
    check_extraction(&extract(&mail, None));
    let hints = github_hints();
    check_extraction(&extract(&mail, Some(&hints)));
    check_extraction(&extract_sms(&text, None));
    check_extraction(&extract_sms(&text, Some(&hints)));
    if let Some(e164) = normalize_e164(&text) {
        assert!(e164.starts_with('+'), "E.164 without +: {e164}");
        assert_eq!(normalize_e164(&e164).as_deref(), Some(e164.as_str()));
    }
    let _ = unwrap_tracking_link(&text);
});
