//! The single error type returned by every fallible function of this crate.

/// Errors of `castellan-crypto`.
///
/// Messages never contain key bytes, passwords or token secrets: they name
/// paths, key ids and option values only.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// An AEAD open/unwrap failed: wrong key, wrong associated data, tampered
    /// or truncated ciphertext, or a data key of the wrong length (not 32 bytes).
    #[error("decryption failed: wrong key or tampered data")]
    Decrypt,
    /// A wrapped key names a master key id (the `String`) that the keyring
    /// does not hold, or [`crate::Keyring::retire`] was given an unknown id.
    #[error("unknown key id {0}")]
    UnknownKey(String),
    /// The keyring file is malformed, has unsafe permissions, or a keyring
    /// operation would leave it invalid (e.g. retiring the active key).
    /// The `String` explains what is wrong and how to fix it.
    #[error("invalid key file: {0}")]
    KeyFile(String),
    /// An I/O error while reading or writing the keyring file.
    #[error("io error on key file: {0}")]
    Io(#[from] std::io::Error),
    /// Password or passphrase generator options are out of range; the
    /// `String` names the offending option.
    #[error("invalid generator options: {0}")]
    Generator(String),
    /// Argon2id hashing failed (only on internal errors of the `argon2` crate).
    #[error("password hashing failed")]
    PasswordHash,
    /// Every password-hashing slot stayed busy for the gate's wait
    /// ([`crate::password_hash::HashGate`]); retry after `retry_after`.
    #[error("too many password checks in progress")]
    Busy {
        /// When a retry is likely to find a free slot.
        retry_after: std::time::Duration,
    },
}
