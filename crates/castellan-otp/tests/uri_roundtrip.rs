//! `to_uri` → `parse_uri` gives back the same parameters, and `to_uri` writes what the Key
//! URI Format says (checked on the text, not only through our own parser).

use castellan_otp::{parse_uri, to_uri, Algorithm, Kind, OtpParams, Secret};
use rand::{Rng, SeedableRng};

fn params(kind: Kind, secret: &[u8]) -> OtpParams {
    OtpParams::new(kind, Secret::from_bytes(secret.to_vec()))
}

fn assert_round_trip(p: &OtpParams) {
    let uri = to_uri(p);
    let (back, _) = parse_uri(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
    assert_eq!(&back, p, "through {uri}");
}

#[test]
fn totp_with_every_field() {
    let mut p = params(Kind::Totp, b"12345678901234567890123456789012");
    p.algorithm = Algorithm::Sha256;
    p.digits = 8;
    p.period = 60;
    p.issuer = Some("ACME Co".into());
    p.label_issuer = Some("ACME Co".into());
    p.account_name = Some("john.doe@email.com".into());
    assert_round_trip(&p);
    assert_eq!(
        to_uri(&p),
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA\
         &issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60"
    );
}

#[test]
fn hotp_keeps_its_counter() {
    let mut p = params(Kind::Hotp, b"12345678901234567890");
    p.counter = u64::MAX;
    p.account_name = Some("counter".into());
    assert_round_trip(&p);
    assert!(to_uri(&p).contains("&counter=18446744073709551615"));
}

#[test]
fn steam_stays_steam() {
    let mut p = params(Kind::Steam, b"12345678901234567890");
    p.label_issuer = Some("Steam".into());
    p.account_name = Some("gaben".into());
    assert_round_trip(&p);
    assert!(to_uri(&p).starts_with("otpauth://steam/Steam:gaben?"));
}

#[test]
fn names_with_reserved_characters() {
    let names = [
        "a&b=c",
        "50% off",
        "plus+sign",
        "slash/and?query#frag",
        "ünïcødé 名前",
        "tab\there",
        "semi;colon",
        "quote\"s",
        "a@b.example",
    ];
    for name in names {
        let mut p = params(Kind::Totp, b"12345678901234567890");
        p.account_name = Some(name.into());
        p.issuer = Some(name.into());
        p.label_issuer = Some(name.replace(':', ""));
        assert_round_trip(&p);
    }
}

#[test]
fn without_any_name() {
    assert_round_trip(&params(Kind::Totp, b"1234567890"));
    let mut p = params(Kind::Totp, b"1234567890");
    p.label_issuer = Some("OnlyIssuer".into());
    assert_round_trip(&p);
}

#[test]
fn disagreeing_issuers_survive() {
    let mut p = params(Kind::Totp, b"12345678901234567890");
    p.issuer = Some("Parameter Inc".into());
    p.label_issuer = Some("Label Ltd".into());
    p.account_name = Some("me".into());
    assert_round_trip(&p);
}

#[test]
fn random_parameters() {
    // Seeded, so a failure reproduces.
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let alphabet: Vec<char> = "aZ09 @.-_~+%&=?#/;é名:".chars().collect();
    let name = |rng: &mut rand::rngs::StdRng, allow_colon: bool| -> Option<String> {
        let len = rng.gen_range(0..12);
        let s: String = (0..len)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
            .filter(|c| allow_colon || *c != ':')
            .collect();
        let s = s.trim().to_string();
        (!s.is_empty()).then_some(s)
    };
    for _ in 0..300 {
        let kind = [Kind::Totp, Kind::Hotp, Kind::Steam][rng.gen_range(0..3)];
        let secret: Vec<u8> = (0..rng.gen_range(1..70)).map(|_| rng.gen()).collect();
        let mut p = params(kind, &secret);
        if kind != Kind::Steam {
            p.algorithm =
                [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][rng.gen_range(0..3)];
            p.digits = rng.gen_range(6..=10);
        }
        p.period = rng.gen_range(1..=300);
        if kind == Kind::Hotp {
            p.counter = rng.gen();
        }
        p.issuer = name(&mut rng, true);
        p.label_issuer = name(&mut rng, false);
        // Without a label issuer, a ':' in the account would read as the issuer separator.
        p.account_name = name(&mut rng, p.label_issuer.is_some());
        assert_round_trip(&p);
    }
}
