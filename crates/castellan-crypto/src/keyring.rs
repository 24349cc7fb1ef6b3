//! The workspace keyring: master keys (key-encryption keys) that wrap vault
//! data keys.
//!
//! A [`Keyring`] holds one or more [`MasterKey`]s; exactly one is *active* and
//! wraps new data keys. Older keys stay in the ring so that data keys wrapped
//! before a [`Keyring::rotate`] can still be unwrapped, until an operator
//! re-wraps them and calls [`Keyring::retire`].
//!
//! Wrapping is XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`) of the 32
//! data-key bytes under the master key, with a random 192-bit nonce.
//!
//! # Key file
//! The keyring is persisted as a JSON file by [`Keyring::save`] and read by
//! [`Keyring::load`] (format version 1):
//! ```json
//! {"version":1,"active":"mk-…","keys":[{"id":"mk-…","key":"<base64 of 32 bytes>","created_at_unix":1700000000}]}
//! ```
//! `key` is standard base64 (RFC 4648 §4, padded) of the 32 raw key bytes;
//! `created_at_unix` is seconds since the Unix epoch. On Unix the file must
//! have no group/other permission bits (`chmod 600`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::envelope::{DataKey, SecretKeyBytes};
use crate::error::CryptoError;

/// Identifier of a key, e.g. `"mk-0192f0c1a2b37c4d8e9fa0b1c2d3e4f5"`.
///
/// Master key ids are `"mk-"` followed by a UUID v7 (RFC 9562) in simple
/// form (32 lowercase hex digits), so they sort by creation time.
/// Serializes as a plain JSON string.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(pub String);

impl KeyId {
    /// A fresh master key id: `"mk-"` + UUID v7 simple hex (35 chars in total).
    pub(crate) fn new_master() -> Self {
        Self(format!("mk-{}", uuid::Uuid::now_v7().simple()))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A workspace master key: a [`KeyId`] plus 32 secret bytes (256 bits),
/// zeroized on drop. `Debug` shows the id and creation time, never the bytes.
#[derive(Clone)]
pub struct MasterKey {
    pub(crate) id: KeyId,
    pub(crate) key: SecretKeyBytes,
    pub(crate) created_at_unix: u64,
}

impl MasterKey {
    /// A new key: fresh `"mk-…"` id, 32 bytes from `OsRng`, created now.
    pub fn generate() -> Self {
        Self {
            id: KeyId::new_master(),
            key: SecretKeyBytes::random(),
            created_at_unix: now_unix(),
        }
    }

    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// Creation time in seconds since the Unix epoch (UTC).
    pub fn created_at_unix(&self) -> u64 {
        self.created_at_unix
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("created_at_unix", &self.created_at_unix)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// A data key wrapped (encrypted) under a master key.
///
/// `ciphertext` is `nonce (24 bytes) || XChaCha20-Poly1305 ciphertext (32 bytes) || tag (16 bytes)`,
/// 72 bytes in total. Neither field is secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    /// Id of the master key that wrapped the data key.
    pub key_id: KeyId,
    /// `nonce || ciphertext || tag`, see the type documentation.
    pub ciphertext: Vec<u8>,
}

/// An ordered set of master keys with exactly one active key.
///
/// Invariants: at least one key; ids are unique; the active id is present.
/// Keys are kept in creation order (oldest first). `Debug` shows ids only.
#[derive(Clone, Debug)]
pub struct Keyring {
    pub(crate) keys: Vec<MasterKey>,
    pub(crate) active: KeyId,
}

impl Keyring {
    /// A new keyring with one freshly generated, active master key.
    pub fn generate() -> Self {
        let key = MasterKey::generate();
        Self {
            active: key.id.clone(),
            keys: vec![key],
        }
    }

    /// The active master key (the one [`Keyring::wrap`] uses).
    pub fn active(&self) -> &MasterKey {
        self.get(&self.active)
            .expect("keyring invariant: the active key is present")
    }

    /// The master key with this id, if the ring holds it.
    pub fn get(&self, id: &KeyId) -> Option<&MasterKey> {
        self.keys.iter().find(|k| &k.id == id)
    }

    /// Ids of all keys: the active key first, then the other keys from
    /// newest to oldest (by the order they were added to the ring).
    pub fn key_ids(&self) -> Vec<KeyId> {
        let mut ids = Vec::with_capacity(self.keys.len());
        ids.push(self.active.clone());
        ids.extend(
            self.keys
                .iter()
                .rev()
                .filter(|k| k.id != self.active)
                .map(|k| k.id.clone()),
        );
        ids
    }

    /// Adds a newly generated master key and makes it active. Older keys stay
    /// in the ring for unwrapping. Returns the new key's id.
    ///
    /// The change is in memory only; call [`Keyring::save`] to persist it.
    pub fn rotate(&mut self) -> KeyId {
        let key = MasterKey::generate();
        let id = key.id.clone();
        self.keys.push(key);
        self.active = id.clone();
        id
    }

    /// Removes a non-active master key (after every data key wrapped under it
    /// has been re-wrapped). In memory only; call [`Keyring::save`] after.
    ///
    /// # Errors
    /// - [`CryptoError::UnknownKey`] if the ring has no key with this id;
    /// - [`CryptoError::KeyFile`] if `id` is the active key (rotate first).
    pub fn retire(&mut self, id: &KeyId) -> Result<(), CryptoError> {
        if id == &self.active {
            return Err(CryptoError::KeyFile(format!(
                "cannot retire the active master key {id}; rotate to a new key first"
            )));
        }
        let pos = self
            .keys
            .iter()
            .position(|k| &k.id == id)
            .ok_or_else(|| CryptoError::UnknownKey(id.0.clone()))?;
        self.keys.remove(pos);
        Ok(())
    }

    /// Wraps (encrypts) a 32-byte data key under the ACTIVE master key,
    /// authenticating `aad` (use [`crate::data_key_aad`]).
    ///
    /// Output: [`WrappedKey`] with the active key's id and a 72-byte
    /// `nonce || ciphertext || tag`.
    pub fn wrap(&self, dek: &DataKey, aad: &[u8]) -> WrappedKey {
        let mk = self.active();
        WrappedKey {
            key_id: mk.id.clone(),
            ciphertext: mk.key.seal(&dek.to_bytes(), aad),
        }
    }

    /// Unwraps a data key with the master key named by `wrapped.key_id`
    /// (active or not) and the same `aad` used for wrapping.
    ///
    /// # Errors
    /// - [`CryptoError::UnknownKey`] if that master key is not in the ring
    ///   (e.g. it was retired);
    /// - [`CryptoError::Decrypt`] if the ciphertext or `aad` do not authenticate.
    pub fn unwrap(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<DataKey, CryptoError> {
        let mk = self
            .get(&wrapped.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(wrapped.key_id.0.clone()))?;
        let bytes = zeroize::Zeroizing::new(mk.key.open(&wrapped.ciphertext, aad)?);
        DataKey::from_bytes(&bytes)
    }
}

/// Seconds since the Unix epoch; 0 if the clock is before 1970.
fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::data_key_aad;

    #[test]
    fn key_id_format() {
        let k = MasterKey::generate();
        let id = k.id().as_str();
        assert!(id.starts_with("mk-"), "{id}");
        assert_eq!(id.len(), 35);
        assert!(id[3..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(k.id().to_string(), id);
        assert_eq!(serde_json::to_string(k.id()).unwrap(), format!("\"{id}\""));
    }

    #[test]
    fn wrap_rotate_unwrap() {
        let mut ring = Keyring::generate();
        let first = ring.active().id().clone();
        let dek = DataKey::generate();
        let aad = data_key_aad("vault-1", "dek-1");
        let old = ring.wrap(&dek, &aad);
        assert_eq!(old.key_id, first);
        assert_eq!(old.ciphertext.len(), 72);

        let second = ring.rotate();
        assert_ne!(first, second);
        assert_eq!(ring.active().id(), &second);
        assert_eq!(ring.key_ids(), vec![second.clone(), first.clone()]);

        // Old wrapped key still unwraps, to the same key.
        let back = ring.unwrap(&old, &aad).unwrap();
        assert_eq!(*back.to_bytes(), *dek.to_bytes());

        // New wraps use the new key.
        let new = ring.wrap(&dek, &aad);
        assert_eq!(new.key_id, second);
        assert_eq!(
            *ring.unwrap(&new, &aad).unwrap().to_bytes(),
            *dek.to_bytes()
        );

        // Wrong AAD fails.
        let bad = ring.unwrap(&new, &data_key_aad("vault-2", "dek-1"));
        assert!(matches!(bad, Err(CryptoError::Decrypt)));

        // A key wrapped under one id but labelled with another fails.
        let mut relabelled = old.clone();
        relabelled.key_id = second.clone();
        assert!(matches!(
            ring.unwrap(&relabelled, &aad),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn retire_rules() {
        let mut ring = Keyring::generate();
        let first = ring.active().id().clone();
        let aad = data_key_aad("v", "d");
        let old = ring.wrap(&DataKey::generate(), &aad);
        assert!(matches!(ring.retire(&first), Err(CryptoError::KeyFile(_))));
        let second = ring.rotate();
        let third = ring.rotate();
        assert_eq!(
            ring.key_ids(),
            vec![third.clone(), second.clone(), first.clone()]
        );
        ring.retire(&first).unwrap();
        assert!(ring.get(&first).is_none());
        assert_eq!(ring.key_ids(), vec![third, second]);
        assert!(matches!(
            ring.retire(&first),
            Err(CryptoError::UnknownKey(_))
        ));
        match ring.unwrap(&old, &aad) {
            Err(CryptoError::UnknownKey(id)) => assert_eq!(id, first.0),
            other => panic!("expected UnknownKey, got {other:?}"),
        }
    }

    #[test]
    fn debug_is_redacted() {
        let ring = Keyring::generate();
        let mk = ring.active();
        let raw = mk.key.as_bytes();
        let dbg = format!("{mk:?} {ring:?}");
        assert!(dbg.contains("REDACTED"));
        assert!(dbg.contains(mk.id().as_str()));
        assert!(!dbg.contains(&hex::encode(raw)));
        assert!(!dbg.contains(&format!("{:?}", &raw[..])));
        assert!(!dbg.contains(&format!("{raw:?}")));
    }
}
