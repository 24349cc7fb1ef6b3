//! One-time passwords for Castellan's authenticator ("2FA managed by Castellan").
//!
//! - Codes: HOTP (RFC 4226), TOTP (RFC 6238) with HMAC-SHA1, SHA-256 or SHA-512, 6 to 10
//!   digits and any period, and Steam Guard codes. See [`code_at`], [`hotp`],
//!   [`seconds_remaining`], [`verify_totp`].
//! - Adding 2FA to an account: a pasted base32 secret ([`parse_secret`]), an `otpauth://` URI
//!   in the Google Key URI Format ([`parse_uri`], <https://github.com/google/google-authenticator/wiki/Key-Uri-Format>),
//!   a QR code image ([`decode_qr_image`]), or a Google Authenticator export
//!   ([`parse_migration`]).
//! - Exporting: [`to_uri`], [`qr_png`], [`migration_uri`].
//!
//! Parsing is tolerant where real apps differ and refuses with an [`OtpError`] that names the
//! problem; what is accepted but questionable comes back as [`Warning`]s. Secrets live in
//! [`Secret`], whose `Debug` is redacted and whose bytes are wiped on drop.
//!
//! Policy that needs storage (never accepting the same time step twice, advancing HOTP
//! counters atomically, recording reveals) belongs to the caller.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codes;
mod error;
mod migration;
mod params;
mod qr;
mod secret;
mod uri;

pub use codes::{code_at, hotp, seconds_remaining, verify_totp, STEAM_ALPHABET};
pub use error::{OtpError, Warning};
pub use migration::{migration_uri, parse_migration};
pub use params::{
    Algorithm, Kind, OtpParams, DEFAULT_DIGITS, DEFAULT_PERIOD, MAX_PERIOD_SECS, STEAM_DIGITS,
};
pub use qr::{decode_qr_image, qr_png, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS};
pub use secret::{parse_secret, Secret, RECOMMENDED_MIN_BITS};
pub use uri::{parse_uri, to_uri};
