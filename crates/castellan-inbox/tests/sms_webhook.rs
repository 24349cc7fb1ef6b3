//! The Twilio-compatible SMS webhook: the published signature example, tampering, form parsing.
#![forbid(unsafe_code)]

use castellan_inbox::{
    extract_sms, parse_sms_form, twilio_signature, verify_twilio_signature, SmsError,
};

const TOKEN: &str = "12345";
const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
/// The expected header of the worked example on Twilio's "Webhooks security" page.
const PUBLISHED: &str = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

fn example() -> Vec<(String, String)> {
    [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

#[test]
fn twilios_published_example_verifies() {
    assert_eq!(twilio_signature(TOKEN, URL, &example()), PUBLISHED);
    assert!(verify_twilio_signature(TOKEN, URL, &example(), PUBLISHED));
    // Parameter order in the request does not matter: the signature sorts them.
    let mut reversed = example();
    reversed.reverse();
    assert!(verify_twilio_signature(TOKEN, URL, &reversed, PUBLISHED));
}

#[test]
fn tampered_requests_are_refused() {
    let mut changed = example();
    changed[2].1 = "9999".to_owned();
    assert!(!verify_twilio_signature(TOKEN, URL, &changed, PUBLISHED));

    let mut added = example();
    added.push(("Body".to_owned(), "hi".to_owned()));
    assert!(!verify_twilio_signature(TOKEN, URL, &added, PUBLISHED));

    let mut removed = example();
    removed.pop();
    assert!(!verify_twilio_signature(TOKEN, URL, &removed, PUBLISHED));

    for url in [
        "https://mycompany.com/myapp.php?foo=1&bar=3",
        "https://mycompany.com/myapp.php",
        "https://evil.example/myapp.php?foo=1&bar=2",
        "http://mycompany.com/myapp.php?foo=1&bar=2",
    ] {
        assert!(
            !verify_twilio_signature(TOKEN, url, &example(), PUBLISHED),
            "{url}"
        );
    }
    assert!(!verify_twilio_signature(
        "54321",
        URL,
        &example(),
        PUBLISHED
    ));
    assert!(!verify_twilio_signature(TOKEN, URL, &example(), ""));
    assert!(!verify_twilio_signature(
        TOKEN,
        URL,
        &example(),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ"
    ));
}

#[test]
fn a_signed_inbound_sms_round_trip() {
    let body = b"ToCountry=US&ToState=CA&SmsMessageSid=SM0123456789abcdef&NumMedia=0\
&Body=G-482913+is+your+Google+verification+code.&To=%2B1+415-555-0100\
&From=%2B447700900123&MessageSid=SM0123456789abcdef&AccountSid=AC0123&ApiVersion=2010-04-01";
    let (sms, params) = parse_sms_form(body).expect("valid form");
    assert_eq!(sms.to, "+14155550100");
    assert_eq!(sms.from, "+447700900123");
    assert_eq!(sms.body, "G-482913 is your Google verification code.");
    let url = "https://castellan.example/api/v1/webhooks/sms/twilio";
    let header = twilio_signature("secret-token", url, &params);
    assert!(verify_twilio_signature(
        "secret-token",
        url,
        &params,
        &header
    ));
    assert_eq!(extract_sms(&sms.body, None).code.as_deref(), Some("482913"));
}

#[test]
fn bad_forms_are_refused() {
    assert_eq!(
        parse_sms_form(b"To=%2B14155550100&Body=hi").unwrap_err(),
        SmsError::Missing("From")
    );
    assert_eq!(
        parse_sms_form(b"From=%2B14155550100&Body=hi").unwrap_err(),
        SmsError::Missing("To")
    );
    assert_eq!(
        parse_sms_form(b"From=%2B14155550100&To=4155550100&Body=hi").unwrap_err(),
        SmsError::InvalidNumber("To")
    );
    assert_eq!(
        parse_sms_form(b"From=%2B12&To=%2B14155550100").unwrap_err(),
        SmsError::InvalidNumber("From")
    );
    let huge = vec![b'a'; 70 * 1024];
    assert!(matches!(parse_sms_form(&huge), Err(SmsError::TooLarge(_))));
    // Short codes and alphanumeric senders are how verification SMS usually arrive.
    let (sms, _) = parse_sms_form(b"From=22395&To=%2B14155550100&Body=x").unwrap();
    assert_eq!(sms.from, "22395");
}
