//! Inputs the fuzz targets (fuzz/, docs/fuzzing.md) found to break a property, kept as tests.

use castellan_otp::{migration_uri, parse_migration, parse_uri, to_uri, Kind, OtpParams, Secret};

/// fuzz/artifacts/otp_migration/crash-b281a542…: an exported HOTP account named `:o:p demo`
/// (an empty issuer prefix, then an account name holding a `:`). It reads as no label issuer
/// and the account `o:p demo`; migration_uri wrote the name `o:p demo`, which read back as the
/// label issuer `o` and the account `p demo`.
#[test]
fn migration_round_trip_keeps_an_account_name_with_a_colon() {
    let uri = "otpauth-migration://offline?data=CiUKEPqlBekxoNE%2BkL7qlsjBCDYSCTpvOnAgZGVtbyABKAEwATgEEAEYASAAKNuv15jR%2F%2F%2F%2F%2FwE%3D";
    let accounts: Vec<OtpParams> = parse_migration(uri)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].kind, Kind::Hotp);
    assert_eq!(accounts[0].label_issuer, None);
    assert_eq!(accounts[0].account_name.as_deref(), Some("o:p demo"));
    let back: Vec<OtpParams> = parse_migration(&migration_uri(&accounts))
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(back, accounts);
}

/// The same names through otpauth URIs: an account name with a `:` and no issuer is written
/// after an empty issuer prefix and reads back whole; with an issuer, only the first `:` splits.
#[test]
fn uri_round_trip_keeps_an_account_name_with_a_colon() {
    for (label_issuer, account) in [(None, "o:p demo"), (Some("Acme"), "o:p"), (None, ":")] {
        let mut p = OtpParams::new(Kind::Totp, Secret::from_bytes(vec![7; 20]));
        p.label_issuer = label_issuer.map(str::to_owned);
        p.account_name = Some(account.to_owned());
        let uri = to_uri(&p);
        let (back, _) = parse_uri(&uri).unwrap();
        assert_eq!(back, p, "{uri}");
    }
    let plain = OtpParams::new(Kind::Totp, Secret::from_bytes(vec![7; 20]));
    assert!(
        to_uri(&plain).starts_with("otpauth://totp/?secret="),
        "no label: {}",
        to_uri(&plain)
    );
}
