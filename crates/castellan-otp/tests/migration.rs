//! Google Authenticator exports (`otpauth-migration://`): published exports, a payload whose
//! protobuf bytes are assembled by hand here, and the round trip through `migration_uri`.

use castellan_otp::{
    migration_uri, parse_migration, Algorithm, Kind, OtpError, OtpParams, Secret, Warning,
};

/// The secret of scito/extract_otp_secrets' examples (from the Raspberry Pi blog's 2FA guide).
const PI_SECRET: &str = "7KSQL2JTUDIS5EF65KLMRQIIGY";

#[test]
fn published_export_with_two_accounts() {
    // scito/extract_otp_secrets, example_export.txt, third URI; its comment and
    // tests/data/url_list_output.txt give the contents:
    //   otpauth://totp/pi@raspberrypi?secret=7KSQL2JTUDIS5EF65KLMRQIIGY&issuer=raspberrypi
    //   otpauth://totp/pi@raspberrypi?secret=7KSQL2JTUDIS5EF65KLMRQIIGY
    // (the file lists them in the opposite order of the payload, which has no issuer first).
    let uri = "otpauth-migration://offline?data=CigKEPqlBekzoNEukL7qlsjBCDYSDnBpQHJhc3BiZXJyeXBpIAEoATACCjUKEPqlBekzoNEukL7qlsjBCDYSDnBpQHJhc3BiZXJyeXBpGgtyYXNwYmVycnlwaSABKAEwAhABGAEgACiQ7OOa%2Bf%2F%2F%2F%2F8B";
    let accounts = parse_migration(uri).unwrap();
    assert_eq!(accounts.len(), 2);
    let issuers: Vec<Option<&str>> = accounts.iter().map(|(p, _)| p.issuer.as_deref()).collect();
    assert_eq!(issuers, [None, Some("raspberrypi")]);
    for (p, warnings) in &accounts {
        assert_eq!(p.kind, Kind::Totp);
        assert_eq!(p.secret.to_base32(), PI_SECRET);
        assert_eq!(p.account_name.as_deref(), Some("pi@raspberrypi"));
        assert_eq!(p.label_issuer, None);
        assert_eq!((p.algorithm, p.digits, p.period), (Algorithm::Sha1, 6, 30));
        assert!(warnings.is_empty(), "128-bit secret");
    }
}

#[test]
fn published_hotp_and_utf8_exports() {
    // Same file: "otpauth://hotp/hotp%20demo?secret=7KSQL2JTUDIS5EF65KLMRQIIGY&counter=4".
    let hotp = "otpauth-migration://offline?data=CiUKEPqlBekzoNEukL7qlsjBCDYSCWhvdHAgZGVtbyABKAEwATgEEAEYASAAKNuv15j6%2F%2F%2F%2F%2FwE%3D";
    let (p, _) = parse_migration(hotp).unwrap().remove(0);
    assert_eq!((p.kind, p.counter), (Kind::Hotp, 4));
    assert_eq!(p.account_name.as_deref(), Some("hotp demo"));
    assert_eq!(p.secret.to_base32(), PI_SECRET);
    // Same file: name "encoding: ¿äÄéÉ? (demo)". The ':' makes "encoding" the label issuer,
    // as it would in a URI label.
    let utf8 = "otpauth-migration://offline?data=CjYKEPqlBekzoNEukL7qlsjBCDYSHGVuY29kaW5nOiDCv8Okw4TDqcOJPyAoZGVtbykgASgBMAIQARgBIAAorfCurv%2F%2F%2F%2F%2F%2FAQ%3D%3D";
    let (p, _) = parse_migration(utf8).unwrap().remove(0);
    assert_eq!(p.label_issuer.as_deref(), Some("encoding"));
    assert_eq!(p.account_name.as_deref(), Some("¿äÄéÉ? (demo)"));
}

/// A protobuf field key: (field number << 3) | wire type (0 varint, 2 length-delimited).
fn key(field: u8, wire_type: u8) -> u8 {
    (field << 3) | wire_type
}

/// A length-delimited field (lengths here are all below 128, so one varint byte).
fn bytes_field(field: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![key(field, 2), u8::try_from(value.len()).unwrap()];
    out.extend_from_slice(value);
    out
}

/// A varint field with a value below 128 (one byte).
fn small_varint_field(field: u8, value: u8) -> Vec<u8> {
    assert!(value < 128);
    vec![key(field, 0), value]
}

/// Percent-encodes standard base64 for a query value.
fn query_value(base64: &str) -> String {
    base64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

fn hand_assembled_uri(accounts: &[Vec<u8>]) -> String {
    let mut payload = Vec::new();
    for account in accounts {
        payload.extend(bytes_field(1, account));
    }
    payload.extend(small_varint_field(2, 1)); // version
    payload.extend(small_varint_field(3, 1)); // batch_size
    payload.extend(small_varint_field(4, 0)); // batch_index
    payload.extend(small_varint_field(5, 42)); // batch_id
    let base64 = data_encoding::BASE64.encode(&payload);
    format!("otpauth-migration://offline?data={}", query_value(&base64))
}

#[test]
fn hand_assembled_payload() {
    let mut sha256 = bytes_field(1, b"12345678901234567890123456789012");
    sha256.extend(bytes_field(2, b"ACME Co:alice@example.com"));
    sha256.extend(bytes_field(3, b"ACME"));
    sha256.extend(small_varint_field(4, 2)); // algorithm SHA256
    sha256.extend(small_varint_field(5, 2)); // digits EIGHT
    sha256.extend(small_varint_field(6, 2)); // type TOTP
    let mut hotp = bytes_field(1, b"1234567890");
    hotp.extend(bytes_field(2, b"bob"));
    hotp.extend(small_varint_field(4, 1)); // SHA1
    hotp.extend(small_varint_field(5, 1)); // SIX
    hotp.extend(small_varint_field(6, 1)); // HOTP
    hotp.extend(small_varint_field(7, 7)); // counter 7
                                           // Only the secret: everything unspecified.
    let minimal = bytes_field(1, b"abcdefghijklmnopqrst");

    let accounts = parse_migration(&hand_assembled_uri(&[sha256, hotp, minimal])).unwrap();
    assert_eq!(accounts.len(), 3);

    let (a, warnings) = &accounts[0];
    assert_eq!(a.secret.as_bytes(), b"12345678901234567890123456789012");
    assert_eq!(
        (a.kind, a.algorithm, a.digits, a.period),
        (Kind::Totp, Algorithm::Sha256, 8, 30)
    );
    assert_eq!(a.label_issuer.as_deref(), Some("ACME Co"));
    assert_eq!(a.account_name.as_deref(), Some("alice@example.com"));
    assert_eq!(a.issuer.as_deref(), Some("ACME"));
    assert_eq!(
        warnings,
        &[Warning::IssuerMismatch {
            label: "ACME Co".into(),
            parameter: "ACME".into()
        }]
    );

    let (b, warnings) = &accounts[1];
    assert_eq!(
        (b.kind, b.algorithm, b.digits, b.counter),
        (Kind::Hotp, Algorithm::Sha1, 6, 7)
    );
    assert_eq!(
        (b.account_name.as_deref(), b.issuer.as_deref()),
        (Some("bob"), None)
    );
    assert_eq!(warnings, &[Warning::ShortSecret { bits: 80 }]);

    let (c, warnings) = &accounts[2];
    assert_eq!(
        (c.kind, c.algorithm, c.digits),
        (Kind::Totp, Algorithm::Sha1, 6)
    );
    assert_eq!(
        (c.account_name.as_deref(), c.issuer.as_deref()),
        (None, None)
    );
    assert!(warnings.is_empty());
}

#[test]
fn md5_and_empty_secret_are_refused_naming_the_account() {
    let good = bytes_field(1, b"12345678901234567890");
    let mut md5 = bytes_field(1, b"12345678901234567890");
    md5.extend(small_varint_field(4, 4));
    let err = parse_migration(&hand_assembled_uri(&[good.clone(), md5])).unwrap_err();
    assert_eq!(err.to_string(), "account 2 of 2: unsupported algorithm MD5");

    let empty = bytes_field(2, b"no secret");
    let err = parse_migration(&hand_assembled_uri(&[empty, good.clone()])).unwrap_err();
    assert_eq!(err.to_string(), "account 1 of 2: secret is empty");

    let mut seven_digits = good.clone();
    seven_digits.extend(small_varint_field(5, 3));
    let err = parse_migration(&hand_assembled_uri(&[seven_digits])).unwrap_err();
    assert!(matches!(
        err,
        OtpError::MigrationAccount { index: 1, total: 1, ref source } if **source == OtpError::MigrationDigits(3)
    ));
}

#[test]
fn malformed_exports() {
    assert_eq!(
        parse_migration("otpauth://totp/x?secret=AAAA"),
        Err(OtpError::NotMigrationUri)
    );
    assert_eq!(
        parse_migration("otpauth-migration://online?data=AA"),
        Err(OtpError::NotMigrationUri)
    );
    assert_eq!(
        parse_migration("otpauth-migration://offline?foo=bar"),
        Err(OtpError::MigrationMissingData)
    );
    assert!(matches!(
        parse_migration("otpauth-migration://offline?data=%%%%"),
        Err(OtpError::MigrationBase64(_))
    ));
    // Valid base64 of bytes that are not a protobuf message (field 0 is illegal).
    assert!(matches!(
        parse_migration("otpauth-migration://offline?data=AAAA"),
        Err(OtpError::MigrationProtobuf(_))
    ));
    // An empty payload: only the version field.
    assert_eq!(
        parse_migration("otpauth-migration://offline?data=EAE%3D"),
        Err(OtpError::MigrationEmpty)
    );
}

#[test]
fn raw_plus_and_url_safe_base64_are_tolerated() {
    let published =
        "CiUKEPqlBekzoNEukL7qlsjBCDYSCWhvdHAgZGVtbyABKAEwATgEEAEYASAAKNuv15j6%2F%2F%2F%2F%2FwE%3D";
    let raw = published.replace("%2F", "/").replace("%3D", "=");
    let url_safe = raw.replace('/', "_").trim_end_matches('=').to_string();
    for data in [raw, url_safe] {
        let uri = format!("otpauth-migration://offline?data={data}");
        assert_eq!(parse_migration(&uri).unwrap()[0].0.counter, 4, "{uri}");
    }
}

fn account(kind: Kind, secret: &[u8]) -> OtpParams {
    OtpParams::new(kind, Secret::from_bytes(secret.to_vec()))
}

#[test]
fn migration_uri_round_trip_with_four_accounts() {
    let mut a = account(Kind::Totp, b"12345678901234567890");
    a.issuer = Some("GitHub".into());
    a.label_issuer = Some("GitHub".into());
    a.account_name = Some("octocat".into());
    let mut b = account(Kind::Totp, b"12345678901234567890123456789012");
    b.algorithm = Algorithm::Sha256;
    b.digits = 8;
    b.issuer = Some("Parameter".into());
    b.label_issuer = Some("Label".into());
    b.account_name = Some("ünïcødé user".into());
    let mut c = account(Kind::Hotp, b"1234567890");
    c.counter = 123_456;
    c.account_name = Some("hotp".into());
    let mut d = account(Kind::Totp, &[0xff; 64]);
    d.algorithm = Algorithm::Sha512;
    let accounts = vec![a, b, c, d];

    let uri = migration_uri(&accounts);
    assert!(uri.starts_with("otpauth-migration://offline?data="));
    let back: Vec<OtpParams> = parse_migration(&uri)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(back, accounts);
}
