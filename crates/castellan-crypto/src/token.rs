//! Bearer tokens: personal API tokens, the setup token, invitation tokens.
//!
//! A token is `"{prefix}_{secret}"` where `secret` is 32 bytes (256 bits)
//! from `OsRng`, base64url-encoded without padding (RFC 4648 §5): 43 chars.
//! The server stores only the lowercase hex SHA-256 (FIPS 180-4) of the whole
//! token string; since the token has 256 bits of entropy, a fast unsalted
//! hash is sufficient (no password-hashing needed).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Number of random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;

/// A freshly issued token: the secret to show once to its owner and the hash
/// to store. `Debug` shows the hash only.
pub struct IssuedToken {
    /// The full token `"{prefix}_{43 base64url chars}"`; show it once, never store it.
    pub secret: SecretString,
    /// Lowercase hex SHA-256 of the full token (64 chars), as [`hash_token`] computes.
    pub hash: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("secret", &"[REDACTED]")
            .field("hash", &self.hash)
            .finish()
    }
}

/// Issues a new token `"{prefix}_{43 chars}"`: the 43 chars are base64url
/// (RFC 4648 §5, no padding) of 32 random bytes from `OsRng`; `hash` is
/// [`hash_token`] of the full token string.
///
/// `prefix` (e.g. `"cst_pat"`) tells token kinds apart in logs and secret
/// scanners; it is used verbatim and should be short ASCII without spaces.
pub fn issue_token(prefix: &str) -> IssuedToken {
    let mut raw = Zeroizing::new([0u8; TOKEN_BYTES]);
    OsRng.fill_bytes(&mut raw[..]);
    // Exact capacity: the String is never reallocated, and converting it to
    // the boxed secret does not copy it.
    let mut token = String::with_capacity(prefix.len() + 1 + 43);
    token.push_str(prefix);
    token.push('_');
    URL_SAFE_NO_PAD.encode_string(&raw[..], &mut token);
    let hash = hash_token(&token);
    IssuedToken {
        secret: SecretString::from(token),
        hash,
    }
}

/// Lowercase hex SHA-256 (FIPS 180-4) of the UTF-8 bytes of `token`:
/// always 64 chars. Deterministic, so it can be used as a lookup key.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two hashes (e.g. hex strings from [`hash_token`]) in time that
/// does not depend on where they differ (`subtle::ConstantTimeEq`).
/// Byte-for-byte, so case matters; different lengths give `false` (lengths
/// are not secret).
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn token_shape() {
        let t = issue_token("cst_pat");
        let s = t.secret.expose_secret();
        let rest = s.strip_prefix("cst_pat_").unwrap();
        assert_eq!(rest.len(), 43);
        assert!(rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(rest).unwrap().len(), 32);
        assert_eq!(t.hash.len(), 64);
        assert!(t
            .hash
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }

    #[test]
    fn hash_is_stable_and_differs_per_token() {
        let a = issue_token("x");
        let b = issue_token("x");
        assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
        assert_ne!(a.hash, b.hash);
        assert_eq!(hash_token(a.secret.expose_secret()), a.hash);
        assert_eq!(hash_token(a.secret.expose_secret()), a.hash);
        // Known answer: SHA-256("abc") (FIPS 180-2 appendix B.1).
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hashes_equal_works() {
        let h = hash_token("t");
        assert!(hashes_equal(&h, &h.clone()));
        assert!(!hashes_equal(&h, &hash_token("u")));
        assert!(!hashes_equal(&h, &h[..63]));
        assert!(!hashes_equal(&h, ""));
        assert!(hashes_equal("", ""));
    }

    #[test]
    fn debug_is_redacted() {
        let t = issue_token("cst_inv");
        let dbg = format!("{t:?}");
        assert!(!dbg.contains(t.secret.expose_secret()));
        assert!(!dbg.contains(&t.secret.expose_secret()[8..]));
        assert!(dbg.contains("REDACTED"));
    }
}
