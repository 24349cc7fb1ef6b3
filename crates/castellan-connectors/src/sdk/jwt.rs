//! JSON Web Tokens (RFC 7519) that a connector signs itself, for vendors whose API takes a
//! token made with a private key the vendor issued to the account (App Store Connect's API keys):
//! ES256 (ECDSA with P-256 and SHA-256, RFC 7518 §3.4) over a key in PKCS#8 PEM (RFC 5958,
//! RFC 7468), on the `jsonwebtoken` crate with its AWS-LC backend.
//!
//! The key is a secret of the automation account: it is read from a [`SecretString`], never
//! logged, and an error names what is wrong without quoting it. The token is a secret too (a
//! bearer credential until it expires).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use castellan_core::connector::ConnectorError;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// `claims` signed with ES256 by `key_pem` (a P-256 private key in PKCS#8 PEM, `-----BEGIN
/// PRIVATE KEY-----`), with the header `{"alg": "ES256", "kid": key_id, "typ": "JWT"}`: the
/// compact serialization (RFC 7515 §7.1).
///
/// Errors: `BadCredentials` when the key is not such a key (the account's secret is wrong; the
/// message does not quote it).
pub fn es256(
    key_pem: &SecretString,
    key_id: &str,
    claims: &Value,
) -> Result<SecretString, ConnectorError> {
    let bad = || {
        ConnectorError::BadCredentials(
            "the automation account's private key is not a P-256 key in PKCS#8 PEM (the .p8 \
             file the vendor gave)"
                .into(),
        )
    };
    let key =
        EncodingKey::from_ec_pem(key_pem.expose_secret().trim().as_bytes()).map_err(|_| bad())?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key_id.to_owned());
    // A key of another curve parses as an EC key but cannot sign ES256.
    let token = encode(&header, claims, &key).map_err(|_| bad())?;
    Ok(SecretString::from(token))
}

/// Seconds since the Unix epoch now (the `iat` and `exp` of claims, RFC 7519 §4.1.4, §4.1.6).
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
    use serde_json::json;

    /// A fresh P-256 key as PKCS#8 PEM, and its public point.
    fn key() -> (SecretString, Vec<u8>) {
        use base64::Engine;
        let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
        let der = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
        let public = EcdsaKeyPair::from_pkcs8(alg, der.as_ref())
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
        (SecretString::from(pem), public)
    }

    #[test]
    fn tokens_verify_with_the_public_key_and_bad_keys_are_bad_credentials() {
        let (pem, public) = key();
        let claims = json!({"iss": "issuer", "iat": now(), "exp": now() + 600, "aud": "x"});
        let token = es256(&pem, "KEY123", &claims).unwrap();
        let token = token.expose_secret();
        let header = decode_header(token).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref(), header.typ.as_deref()),
            (Algorithm::ES256, Some("KEY123"), Some("JWT"))
        );
        let mut v = Validation::new(Algorithm::ES256);
        v.set_audience(&["x"]);
        let got = decode::<Value>(token, &DecodingKey::from_ec_der(&public), &v).unwrap();
        assert_eq!(got.claims["iss"], "issuer");
        let (_, other) = key();
        assert!(decode::<Value>(token, &DecodingKey::from_ec_der(&other), &v).is_err());

        let secret = "-----BEGIN PRIVATE KEY-----\nnotakey\n-----END PRIVATE KEY-----";
        for wrong in ["wrong-token", secret] {
            let err = es256(&SecretString::from(wrong.to_owned()), "K", &claims).unwrap_err();
            assert!(
                matches!(&err, ConnectorError::BadCredentials(m) if !m.contains("notakey")),
                "{err}"
            );
        }
    }
}
