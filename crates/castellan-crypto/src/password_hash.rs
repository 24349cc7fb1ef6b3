//! Sign-in password hashing with Argon2id (RFC 9106), via the RustCrypto
//! `argon2` 0.5 crate.
//!
//! Parameters are the crate defaults, which are RFC 9106's second recommended
//! option (§4, memory-constrained): Argon2id v0x13, m = 19 MiB (19456 KiB),
//! t = 2 passes, p = 1 lane, 32-byte output, with a random 16-byte salt from
//! `OsRng`. Results are PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), which carry their own
//! parameters, so verification keeps working if the defaults change.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;

use crate::error::CryptoError;

/// Hashes `password` (UTF-8 bytes, any length) with Argon2id and a fresh
/// 16-byte random salt; returns the PHC string (about 97 ASCII chars).
///
/// # Errors
/// [`CryptoError::PasswordHash`] if the `argon2` crate reports an error
/// (not expected with default parameters).
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| CryptoError::PasswordHash)
}

/// Checks `password` against a PHC string from [`hash_password`] (any Argon2
/// variant and parameters encoded in the string; comparison is constant-time
/// inside `password-hash`).
///
/// Returns `true` only on a match; `false` on mismatch or a malformed /
/// unsupported PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let phc = hash_password("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify_password("correct horse battery staple", &phc));
        assert!(!verify_password("correct horse battery stapler", &phc));
        assert!(!verify_password("", &phc));
        // Salted: same password, different hash; both verify.
        let phc2 = hash_password("correct horse battery staple").unwrap();
        assert_ne!(phc, phc2);
        assert!(verify_password("correct horse battery staple", &phc2));
    }

    #[test]
    fn malformed_phc_is_false() {
        assert!(!verify_password("x", ""));
        assert!(!verify_password("x", "not a phc string"));
        assert!(!verify_password("x", "$argon2id$v=19$m=19456,t=2,p=1$"));
        let phc = hash_password("x").unwrap();
        let truncated = &phc[..phc.len() - 5];
        assert!(!verify_password("x", truncated));
    }

    #[test]
    fn unicode_and_empty_passwords() {
        for pw in ["", "pässwörd 🔐", " leading and trailing "] {
            let phc = hash_password(pw).unwrap();
            assert!(verify_password(pw, &phc));
            assert!(!verify_password(&format!("{pw}x"), &phc));
        }
    }
}
