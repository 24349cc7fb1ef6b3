//! Google Authenticator exports (castellan_otp::parse_migration). The first byte chooses the
//! input's shape: even, the rest of the bytes are the protobuf payload, wrapped here in
//! `otpauth-migration://offline?data=` + percent-encoded base64 (so the fuzzer works on the
//! protobuf itself); odd, the rest is the URI as text. Checks: no panic; every imported
//! account is valid and gives codes; migration_uri writes what parse_migration reads back.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use castellan_fuzz::check_otp_params;
use castellan_otp::{migration_uri, parse_migration, OtpParams};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let uri = if mode % 2 == 0 {
        let b64 = STANDARD.encode(rest);
        format!(
            "otpauth-migration://offline?data={}",
            utf8_percent_encode(&b64, NON_ALPHANUMERIC)
        )
    } else {
        match std::str::from_utf8(rest) {
            Ok(s) => s.to_owned(),
            Err(_) => return,
        }
    };
    let Ok(accounts) = parse_migration(&uri) else {
        return;
    };
    assert!(!accounts.is_empty(), "an empty batch was accepted");
    let params: Vec<OtpParams> = accounts.into_iter().map(|(p, _)| p).collect();
    for p in &params {
        check_otp_params(p);
    }
    let back: Vec<OtpParams> = parse_migration(&migration_uri(&params))
        .unwrap_or_else(|e| panic!("migration_uri wrote an export parse_migration refuses: {e}"))
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(back, params, "round trip through migration_uri");
});
