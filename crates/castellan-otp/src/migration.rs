//! Google Authenticator exports: `otpauth-migration://offline?data=BASE64`.
//!
//! `data` is a base64 `MigrationPayload` protobuf message. Google does not publish its
//! schema; the one below is the schema published by the reverse-engineering projects
//! (e.g. scito/extract_otp_secrets `google_auth.proto`, dim13/otpauth `migration.proto`):
//!
//! ```text
//! message MigrationPayload {
//!   repeated OtpParameters otp_parameters = 1;
//!   int32 version = 2; int32 batch_size = 3; int32 batch_index = 4; int32 batch_id = 5;
//! }
//! message OtpParameters {
//!   bytes secret = 1; string name = 2; string issuer = 3;
//!   Algorithm algorithm = 4;  // 0 unspecified, 1 SHA1, 2 SHA256, 3 SHA512, 4 MD5
//!   DigitCount digits = 5;    // 0 unspecified, 1 six, 2 eight
//!   OtpType type = 6;         // 0 unspecified, 1 HOTP, 2 TOTP
//!   int64 counter = 7;
//! }
//! ```
//!
//! The structs are written by hand with `prost` derives (no code generation, no build.rs);
//! enum fields are read as plain `int32` so that unknown values reach our error messages.

use std::fmt;

use data_encoding::{BASE64, BASE64_NOPAD};
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use prost::Message;
use zeroize::{Zeroize, Zeroizing};

use crate::secret::short_secret_warning;
use crate::uri::{issuer_mismatch, join_label, non_empty, split_label, strip_prefix_ignore_case};
use crate::{Algorithm, Kind, OtpError, OtpParams, Secret, Warning};

/// `MigrationPayload` (see the module documentation).
#[derive(Message)]
struct MigrationPayload {
    #[prost(message, repeated, tag = "1")]
    otp_parameters: Vec<OtpParameters>,
    #[prost(int32, tag = "2")]
    version: i32,
    #[prost(int32, tag = "3")]
    batch_size: i32,
    #[prost(int32, tag = "4")]
    batch_index: i32,
    #[prost(int32, tag = "5")]
    batch_id: i32,
}

/// `MigrationPayload.OtpParameters`; the secret is wiped on drop and not shown by `Debug`.
#[derive(Message)]
#[prost(skip_debug)]
struct OtpParameters {
    #[prost(bytes = "vec", tag = "1")]
    secret: Vec<u8>,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, tag = "3")]
    issuer: String,
    #[prost(int32, tag = "4")]
    algorithm: i32,
    #[prost(int32, tag = "5")]
    digits: i32,
    #[prost(int32, tag = "6")]
    otp_type: i32,
    #[prost(int64, tag = "7")]
    counter: i64,
}

impl fmt::Debug for OtpParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpParameters")
            .field("secret", &"<redacted>")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("otp_type", &self.otp_type)
            .field("counter", &self.counter)
            .finish()
    }
}

impl Drop for OtpParameters {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

/// The `data` parameter, percent-decoded but not form-decoded: a raw `+` is base64, not a space.
fn data_parameter(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.eq_ignore_ascii_case("data")
            .then(|| percent_decode_str(value).decode_utf8_lossy().into_owned())
    })
}

/// Decodes base64 in the standard or URL-safe alphabet, with or without padding; a space
/// (a `+` that went through form-decoding somewhere) is read as `+`.
fn decode_base64(text: &str) -> Result<Zeroizing<Vec<u8>>, OtpError> {
    let normalized: String = text
        .trim()
        .trim_end_matches('=')
        .chars()
        .filter(|c| *c != '\n' && *c != '\r')
        .map(|c| match c {
            ' ' | '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    BASE64_NOPAD
        .decode(normalized.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| OtpError::MigrationBase64(e.to_string()))
}

/// One exported account to [`OtpParams`], taking its secret out of `o`.
fn account(o: &mut OtpParameters) -> Result<(OtpParams, Vec<Warning>), OtpError> {
    if o.secret.is_empty() {
        return Err(OtpError::EmptySecret);
    }
    let algorithm = match o.algorithm {
        0 | 1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        4 => return Err(OtpError::UnsupportedAlgorithm("MD5".into())),
        n => return Err(OtpError::UnsupportedAlgorithm(format!("with code {n}"))),
    };
    let digits = match o.digits {
        0 | 1 => 6,
        2 => 8,
        n => return Err(OtpError::MigrationDigits(n)),
    };
    let kind = match o.otp_type {
        // Unspecified: Google Authenticator always writes the type; TOTP is the common case.
        0 | 2 => Kind::Totp,
        1 => Kind::Hotp,
        n => return Err(OtpError::MigrationType(n)),
    };
    let counter = match kind {
        Kind::Hotp => {
            u64::try_from(o.counter).map_err(|_| OtpError::MigrationCounter(o.counter))?
        }
        _ => 0,
    };
    let mut p = OtpParams::new(kind, Secret::from_bytes(std::mem::take(&mut o.secret)));
    p.algorithm = algorithm;
    p.digits = digits;
    p.counter = counter;
    (p.label_issuer, p.account_name) = split_label(&o.name);
    p.issuer = non_empty(&o.issuer);
    let mut warnings: Vec<Warning> = short_secret_warning(&p.secret).into_iter().collect();
    warnings.extend(issuer_mismatch(&p));
    Ok((p, warnings))
}

/// Parses a Google Authenticator export, `otpauth-migration://offline?data=…`.
///
/// Input: the URI (usually read from a QR code with [`crate::decode_qr_image`]); `data` is
/// percent-encoded base64 (standard or URL-safe, padding optional). One QR code holds one
/// batch; a large export is several URIs, each parsed on its own.
///
/// Output: one entry per account, in order, with its warnings. Unspecified algorithm means
/// SHA1, unspecified digits 6, unspecified type TOTP; the period is always 30 seconds (the
/// format has no field for it). The name is split at its first `:` like a URI label.
///
/// Errors: [`OtpError::NotMigrationUri`], [`OtpError::MigrationMissingData`],
/// [`OtpError::MigrationBase64`], [`OtpError::MigrationProtobuf`], [`OtpError::MigrationEmpty`],
/// and [`OtpError::MigrationAccount`] naming the first refused account and why (empty secret,
/// MD5 or unknown algorithm, digits or type codes, negative counter). Nothing is imported
/// when an account is refused.
pub fn parse_migration(uri: &str) -> Result<Vec<(OtpParams, Vec<Warning>)>, OtpError> {
    let rest = strip_prefix_ignore_case(uri.trim(), "otpauth-migration://")
        .ok_or(OtpError::NotMigrationUri)?;
    let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !host.trim_end_matches('/').eq_ignore_ascii_case("offline") {
        return Err(OtpError::NotMigrationUri);
    }
    let data = Zeroizing::new(data_parameter(query).ok_or(OtpError::MigrationMissingData)?);
    let bytes = decode_base64(&data)?;
    let mut payload = MigrationPayload::decode(bytes.as_slice())
        .map_err(|e| OtpError::MigrationProtobuf(e.to_string()))?;
    let total = payload.otp_parameters.len();
    if total == 0 {
        return Err(OtpError::MigrationEmpty);
    }
    payload
        .otp_parameters
        .iter_mut()
        .enumerate()
        .map(|(i, o)| {
            account(o).map_err(|source| OtpError::MigrationAccount {
                index: i + 1,
                total,
                source: Box::new(source),
            })
        })
        .collect()
}

/// Writes accounts as one Google Authenticator export URI (the inverse of
/// [`parse_migration`], for round-trip tests and for moving accounts to a phone).
///
/// Output: `otpauth-migration://offline?data=…` with version 1, batch size 1, batch index 0,
/// batch id 0. The name is `label_issuer:account_name`, or the account name (after a `:` when
/// it holds one, so that it reads back whole).
///
/// The format is narrower than [`OtpParams`]: digits other than 6 and 8 are written as
/// "unspecified" (read back as 6), Steam accounts as TOTP, the period is dropped (read back
/// as 30) and counters above 2^63-1 are capped. Check [`OtpParams`] before exporting if
/// those matter.
pub fn migration_uri(accounts: &[OtpParams]) -> String {
    let otp_parameters = accounts
        .iter()
        .map(|p| OtpParameters {
            secret: p.secret.as_bytes().to_vec(),
            name: join_label(
                p.label_issuer.as_deref(),
                p.account_name.as_deref(),
                str::to_owned,
            ),
            issuer: p.issuer.clone().unwrap_or_default(),
            algorithm: match p.algorithm {
                Algorithm::Sha1 => 1,
                Algorithm::Sha256 => 2,
                Algorithm::Sha512 => 3,
            },
            digits: match p.digits {
                6 => 1,
                8 => 2,
                _ => 0,
            },
            otp_type: if p.kind == Kind::Hotp { 1 } else { 2 },
            counter: i64::try_from(p.counter).unwrap_or(i64::MAX),
        })
        .collect();
    let payload = MigrationPayload {
        otp_parameters,
        version: 1,
        batch_size: 1,
        batch_index: 0,
        batch_id: 0,
    };
    let bytes = Zeroizing::new(payload.encode_to_vec());
    let data = Zeroizing::new(BASE64.encode(&bytes));
    format!(
        "otpauth-migration://offline?data={}",
        utf8_percent_encode(&data, NON_ALPHANUMERIC)
    )
}
