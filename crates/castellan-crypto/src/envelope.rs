//! Envelope encryption of vault fields.
//!
//! Each cloud vault has one or more [`DataKey`]s (32 random bytes). A data key
//! seals individual field values with XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha,
//! built on RFC 8439 ChaCha20-Poly1305; implementation: RustCrypto
//! `chacha20poly1305` 0.10) under a fresh random 192-bit nonce from `OsRng`.
//! The data key itself is stored wrapped by a workspace master key
//! (see [`crate::Keyring::wrap`]).
//!
//! Associated data binds every ciphertext to where it belongs, so that a value
//! copied to another row or field fails to open: use [`field_aad`] for fields
//! and [`data_key_aad`] for wrapped data keys.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

use crate::error::CryptoError;

/// Length of every symmetric key of this crate, in bytes (256 bits).
pub(crate) const KEY_LEN: usize = 32;
/// Length of an XChaCha20-Poly1305 nonce, in bytes (192 bits).
pub(crate) const NONCE_LEN: usize = 24;
/// Length of a Poly1305 tag, in bytes (128 bits).
pub(crate) const TAG_LEN: usize = 16;

/// 32 secret bytes on the heap, zeroized on drop, never printed.
pub(crate) struct SecretKeyBytes(Box<[u8; KEY_LEN]>);

impl SecretKeyBytes {
    /// 32 fresh bytes from the OS CSPRNG.
    pub(crate) fn random() -> Self {
        let mut b = Box::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(&mut b[..]);
        Self(b)
    }

    /// Copies exactly 32 bytes; `None` for any other length.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let mut b = Box::new([0u8; KEY_LEN]);
        b.copy_from_slice(bytes);
        Some(Self(b))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// AEAD-encrypts `plaintext`: returns `nonce (24 bytes) || ciphertext || tag (16 bytes)`.
    pub(crate) fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Only fails for plaintexts beyond the XChaCha20 limit (~256 GiB).
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory sizes");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Inverse of [`Self::seal`]; [`CryptoError::Decrypt`] on any failure.
    pub(crate) fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| CryptoError::Decrypt)
    }
}

impl Clone for SecretKeyBytes {
    fn clone(&self) -> Self {
        let mut b = Box::new([0u8; KEY_LEN]);
        b.copy_from_slice(&self.0[..]);
        Self(b)
    }
}

impl Drop for SecretKeyBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretKeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// A per-vault data-encryption key: 32 secret bytes (256 bits) for
/// XChaCha20-Poly1305.
///
/// Zeroized on drop; `Debug` prints `DataKey([REDACTED])`. Cloning copies the
/// secret into a second zeroize-on-drop buffer.
#[derive(Clone)]
pub struct DataKey(SecretKeyBytes);

impl DataKey {
    /// A new random key: 32 bytes from `OsRng`.
    pub fn generate() -> Self {
        Self(SecretKeyBytes::random())
    }

    /// Encrypts `plaintext` bound to `aad` (associated data, authenticated but
    /// not encrypted; use [`field_aad`]).
    ///
    /// Output: `nonce (24 bytes) || ciphertext (len(plaintext) bytes) || tag (16 bytes)`,
    /// i.e. `plaintext.len() + 40` bytes. The nonce is random (192 bits), so
    /// sealing the same input twice gives different outputs.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        self.0.seal(plaintext, aad)
    }

    /// Decrypts the output of [`DataKey::seal`] with the same `aad`.
    ///
    /// # Errors
    /// [`CryptoError::Decrypt`] on any failure: wrong key, different `aad`,
    /// any modified byte, or input shorter than 40 bytes (nonce + tag).
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.open(sealed, aad)
    }

    /// The raw 32 key bytes in a zeroize-on-drop buffer, for wrapping to other
    /// recipients (e.g. trusted devices' public keys). Handle with care.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.as_bytes().to_vec())
    }

    /// Rebuilds a key from exactly 32 raw bytes (the output of [`DataKey::to_bytes`]).
    ///
    /// # Errors
    /// [`CryptoError::Decrypt`] if `b` is not exactly 32 bytes long (such
    /// input normally comes from an unwrapping step, so a wrong length means a
    /// wrong key or corrupted data).
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        SecretKeyBytes::from_slice(b)
            .map(Self)
            .ok_or(CryptoError::Decrypt)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

/// Associated data binding a ciphertext to its row and field:
/// the UTF-8 bytes of `"castellan/v1/{table}/{row_id}/{field}"`.
///
/// The components are joined verbatim, so they must not contain `/`
/// (table and field names are fixed identifiers, row ids are UUIDs).
pub fn field_aad(table: &str, row_id: &str, field: &str) -> Vec<u8> {
    format!("castellan/v1/{table}/{row_id}/{field}").into_bytes()
}

/// AAD for wrapping a vault data key: the UTF-8 bytes of
/// `"castellan/v1/vault-key/{vault_id}/{dek_id}"`.
///
/// The components must not contain `/` (they are UUIDs / key ids).
pub fn data_key_aad(vault_id: &str, dek_id: &str) -> Vec<u8> {
    format!("castellan/v1/vault-key/{vault_id}/{dek_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip() {
        let k = DataKey::generate();
        let aad = field_aad("accounts", "0190-row", "password");
        let sealed = k.seal(b"hunter2", &aad);
        assert_eq!(sealed.len(), 7 + NONCE_LEN + TAG_LEN);
        assert_eq!(k.open(&sealed, &aad).unwrap(), b"hunter2");
        // Empty plaintext works too.
        let sealed = k.seal(b"", &aad);
        assert_eq!(k.open(&sealed, &aad).unwrap(), b"");
        // Fresh nonce each time.
        assert_ne!(k.seal(b"x", &aad), k.seal(b"x", &aad));
    }

    #[test]
    fn open_with_wrong_aad_fails() {
        let k = DataKey::generate();
        let sealed = k.seal(b"secret", &field_aad("accounts", "r1", "password"));
        let err = k.open(&sealed, &field_aad("accounts", "r2", "password"));
        assert!(matches!(err, Err(CryptoError::Decrypt)));
        let err = k.open(&sealed, &field_aad("accounts", "r1", "notes"));
        assert!(matches!(err, Err(CryptoError::Decrypt)));
    }

    #[test]
    fn open_with_flipped_byte_fails() {
        let k = DataKey::generate();
        let aad = b"aad";
        let sealed = k.seal(b"some secret value", aad);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                matches!(k.open(&bad, aad), Err(CryptoError::Decrypt)),
                "flip at byte {i} was accepted"
            );
        }
    }

    #[test]
    fn open_short_input_and_wrong_key_fail() {
        let k = DataKey::generate();
        for n in 0..(NONCE_LEN + TAG_LEN) {
            assert!(matches!(
                k.open(&vec![0u8; n], b""),
                Err(CryptoError::Decrypt)
            ));
        }
        let sealed = k.seal(b"v", b"");
        let other = DataKey::generate();
        assert!(matches!(
            other.open(&sealed, b""),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn bytes_round_trip_and_length_check() {
        let k = DataKey::generate();
        let bytes = k.to_bytes();
        assert_eq!(bytes.len(), KEY_LEN);
        let k2 = DataKey::from_bytes(&bytes).unwrap();
        assert_eq!(k2.open(&k.seal(b"m", b"a"), b"a").unwrap(), b"m");
        assert!(DataKey::from_bytes(&[0u8; 31]).is_err());
        assert!(DataKey::from_bytes(&[0u8; 33]).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let k = DataKey::from_bytes(&[0xAB; KEY_LEN]).unwrap();
        let dbg = format!("{k:?} {:?}", k.clone());
        assert!(dbg.contains("REDACTED"));
        assert!(!dbg.to_lowercase().contains("ab, ab"));
        assert!(!dbg.contains("171"));
        assert!(!dbg.to_lowercase().contains("abab"));
    }

    #[test]
    fn aad_formats() {
        assert_eq!(
            field_aad("items", "r-1", "password"),
            b"castellan/v1/items/r-1/password".to_vec()
        );
        assert_eq!(
            data_key_aad("v-1", "dek-2"),
            b"castellan/v1/vault-key/v-1/dek-2".to_vec()
        );
    }
}
