//! Castellan's cryptography: the workspace keyring of master keys
//! (key-encryption keys), envelope encryption of vault fields with per-vault
//! data keys, bearer-token issuing and hashing, Argon2id password hashing and
//! a password / passphrase generator.
//!
//! All primitives come from maintained RustCrypto crates (`chacha20poly1305`,
//! `argon2`, `sha2`, `subtle`) and all randomness from the operating system
//! (`rand::rngs::OsRng`). Secret-holding types zeroize on drop and print
//! `[REDACTED]` in their `Debug` output.
//!
//! Modules:
//! - [`keyring`]: [`Keyring`], [`MasterKey`], [`KeyId`], [`WrappedKey`];
//!   key file load/save.
//! - [`envelope`]: [`DataKey`] seal/open, [`field_aad`], [`data_key_aad`].
//! - [`token`]: [`issue_token`], [`hash_token`], [`hashes_equal`].
//! - [`password_hash`]: [`hash_password`], [`verify_password`] (through the bounded
//!   [`HashGate`]; [`configure_hash_gate`] sizes it).
//! - [`generator`]: [`generate_password`], [`generate_passphrase`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod envelope;
pub mod error;
pub mod generator;
mod keyfile;
pub mod keyring;
pub mod password_hash;
pub mod token;

pub use envelope::{data_key_aad, field_aad, DataKey};
pub use error::CryptoError;
pub use generator::{
    generate_passphrase, generate_password, CharClasses, Generated, PassphraseOptions,
    PasswordOptions,
};
pub use keyring::{KeyId, Keyring, MasterKey, WrappedKey};
pub use password_hash::{
    configure_hash_gate, default_hash_concurrency, hash_gate, hash_password, verify_password,
    HashGate,
};
pub use token::{hash_token, hashes_equal, issue_token, IssuedToken};
