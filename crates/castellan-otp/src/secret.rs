//! The shared secret and the tolerant base32 parser for pasted secrets.

use std::fmt;

use data_encoding::{Encoding, Specification, BASE32_NOPAD};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{OtpError, Warning};

/// Secrets shorter than this many bits get [`Warning::ShortSecret`] (RFC 4226 section 4:
/// "The length of the shared secret MUST be at least 128 bits").
pub const RECOMMENDED_MIN_BITS: usize = 128;

/// The shared secret of an authenticator: raw key bytes for HMAC.
///
/// `Debug` prints only the length; the bytes are wiped from memory when the value is dropped.
/// Equality is compared in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps raw key bytes (any length, including empty: validation is the parsers' job).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as RFC 4648 base32: upper case, no padding (the Key URI Format's `secret`).
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// Length of the secret in bits (bytes × 8).
    pub fn bits(&self) -> usize {
        self.0.len() * 8
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted, {} bits>)", self.bits())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

/// RFC 4648 base32 without padding that ignores the unused low bits of the last character.
///
/// Services generate random base32 strings of any length (26 characters for 128 bits is
/// common), whose last character carries bits that do not make a whole byte. Authenticator apps
/// ignore them, so we do too; the strict `BASE32_NOPAD` would refuse such secrets.
fn lenient_base32() -> Encoding {
    let mut spec = Specification::new();
    spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    spec.check_trailing_bits = false;
    // The specification is a constant, valid RFC 4648 alphabet; this cannot fail.
    spec.encoding().expect("valid base32 specification")
}

/// Parses a pasted base32 secret, as apps show it during 2FA setup.
///
/// Tolerated: any letter case; spaces, tabs, newlines and hyphens anywhere; `=` padding at
/// the end, present, partial or missing; unused low bits in the last character.
///
/// Output: the secret and warnings ([`Warning::ShortSecret`] below 128 bits).
///
/// Errors: [`OtpError::EmptySecret`] when nothing but separators remains;
/// [`OtpError::InvalidBase32Char`] naming the first character outside `A-Z`, `2-7` (for
/// example `0`, `1`, `8`, `9` or an `=` followed by more data) and its 1-based position in
/// `input`; [`OtpError::InvalidSecretLength`] when the character count modulo 8 is 1, 3 or 6.
pub fn parse_secret(input: &str) -> Result<(Secret, Vec<Warning>), OtpError> {
    let mut clean = Zeroizing::new(String::with_capacity(input.len()));
    let mut padding_at: Option<(char, usize)> = None;
    for (index, ch) in input.chars().enumerate() {
        let position = index + 1;
        if ch.is_whitespace() || ch == '-' {
            continue;
        }
        if ch == '=' {
            padding_at.get_or_insert((ch, position));
            continue;
        }
        let upper = ch.to_ascii_uppercase();
        if !(upper.is_ascii_uppercase() || ('2'..='7').contains(&upper)) {
            return Err(OtpError::InvalidBase32Char { ch, position });
        }
        if let Some((ch, position)) = padding_at {
            // Padding is only allowed at the end.
            return Err(OtpError::InvalidBase32Char { ch, position });
        }
        clean.push(upper);
    }
    if clean.is_empty() {
        return Err(OtpError::EmptySecret);
    }
    if matches!(clean.len() % 8, 1 | 3 | 6) {
        return Err(OtpError::InvalidSecretLength { chars: clean.len() });
    }
    let bytes = lenient_base32()
        .decode(clean.as_bytes())
        .map_err(|_| OtpError::InvalidSecretLength { chars: clean.len() })?;
    let secret = Secret::from_bytes(bytes);
    let warnings = short_secret_warning(&secret).into_iter().collect();
    Ok((secret, warnings))
}

/// [`Warning::ShortSecret`] if `secret` has fewer than [`RECOMMENDED_MIN_BITS`] bits.
pub(crate) fn short_secret_warning(secret: &Secret) -> Option<Warning> {
    (secret.bits() < RECOMMENDED_MIN_BITS).then(|| Warning::ShortSecret {
        bits: secret.bits(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::from_bytes(b"12345678901234567890".to_vec());
        let shown = format!("{secret:?}");
        assert_eq!(shown, "Secret(<redacted, 160 bits>)");
        assert!(!shown.contains("1234"));
    }

    #[test]
    fn base32_round_trip_matches_rfc4648_vector() {
        // RFC 4648 section 10: BASE32("foobar") = "MZXW6YTBOI======".
        let (secret, _) = parse_secret("MZXW6YTBOI======").unwrap();
        assert_eq!(secret.as_bytes(), b"foobar");
        assert_eq!(secret.to_base32(), "MZXW6YTBOI");
    }

    #[test]
    fn tolerates_case_separators_and_padding() {
        for input in [
            "mzxw6ytboi",
            "MZXW 6YTB OI",
            "mzxw-6ytb-oi==",
            " MzXw6YtBoI=\n",
        ] {
            let (secret, _) = parse_secret(input).unwrap();
            assert_eq!(secret.as_bytes(), b"foobar", "input {input:?}");
        }
    }

    #[test]
    fn names_the_bad_character_and_its_position() {
        let err = parse_secret("ABCD1FGH").unwrap_err();
        assert_eq!(
            err,
            OtpError::InvalidBase32Char {
                ch: '1',
                position: 5
            }
        );
        assert_eq!(
            err.to_string(),
            "`1` at position 5 is not a base32 character (A-Z, 2-7)"
        );
        // Positions count the input as typed, separators included.
        let err = parse_secret("AB CD-0").unwrap_err();
        assert_eq!(
            err,
            OtpError::InvalidBase32Char {
                ch: '0',
                position: 7
            }
        );
        // Padding followed by data is refused at the padding.
        let err = parse_secret("MZ==XW").unwrap_err();
        assert_eq!(
            err,
            OtpError::InvalidBase32Char {
                ch: '=',
                position: 3
            }
        );
    }

    #[test]
    fn refuses_empty_and_impossible_lengths() {
        assert_eq!(parse_secret("").unwrap_err(), OtpError::EmptySecret);
        assert_eq!(parse_secret(" - == ").unwrap_err(), OtpError::EmptySecret);
        assert_eq!(
            parse_secret("ABCDEFGHA").unwrap_err(),
            OtpError::InvalidSecretLength { chars: 9 }
        );
    }

    #[test]
    fn warns_below_128_bits_only() {
        let (_, warnings) = parse_secret("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(warnings, vec![Warning::ShortSecret { bits: 80 }]);
        let (_, warnings) = parse_secret(&"A".repeat(26)).unwrap();
        assert!(warnings.is_empty(), "26 characters hold 128 bits");
    }
}
