//! Received mail as raw bytes, down the path the SMTP receiver and the store take:
//! castellan_inbox::check_structure, parse_mail, then extract without and with app hints.
//! Checks: no panic; check_structure and parse_mail agree; the parsed mail and the extraction
//! have their documented shape.
#![no_main]

use castellan_fuzz::{check_extraction, check_parsed_mail, github_hints};
use castellan_inbox::mime::check_structure;
use castellan_inbox::{extract, parse_mail};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let checked = check_structure(data);
    let parsed = parse_mail(data);
    assert_eq!(
        checked.clone().err(),
        parsed.as_ref().err().cloned(),
        "check_structure and parse_mail disagree"
    );
    let Ok(mail) = parsed else {
        return;
    };
    check_parsed_mail(&mail);
    check_extraction(&extract(&mail, None));
    let hints = github_hints();
    check_extraction(&extract(&mail, Some(&hints)));
});
