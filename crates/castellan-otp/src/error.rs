//! Errors (refusals) and warnings (accepted, but worth telling the admin).

use std::fmt;

/// Why an input was refused. Each message names the problem in words an admin can act on.
///
/// The messages are part of the user interface (the server shows them as they are), so they
/// never contain secret material: at most the single offending character of a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtpError {
    /// The secret is empty, or holds only spaces, hyphens and padding.
    #[error("secret is empty")]
    EmptySecret,
    /// A character of the secret is not in the RFC 4648 base32 alphabet.
    /// `position` counts characters of the input as typed, starting at 1.
    #[error("`{ch}` at position {position} is not a base32 character (A-Z, 2-7)")]
    InvalidBase32Char {
        /// The offending character.
        ch: char,
        /// 1-based position in the input, counted in characters.
        position: usize,
    },
    /// The number of base32 characters cannot encode a whole number of bytes
    /// (length modulo 8 is 1, 3 or 6): a character is probably missing or extra.
    #[error(
        "a base32 secret of {chars} characters does not encode whole bytes; \
         a character is probably missing or extra"
    )]
    InvalidSecretLength {
        /// Number of base32 characters after removing spaces, hyphens and padding.
        chars: usize,
    },
    /// The text does not start with `otpauth://`.
    #[error("not an otpauth:// URI")]
    NotOtpauthUri,
    /// The URI's type (its host part) is not `totp`, `hotp` or `steam`.
    #[error("unknown OTP type `{0}`: expected totp, hotp or steam")]
    UnknownType(String),
    /// The URI has no `secret` parameter.
    #[error("URI has no secret parameter")]
    MissingSecret,
    /// `digits` is not a number from 6 to 10 (TOTP and HOTP).
    #[error("digits must be 6 to 10 (got `{0}`)")]
    InvalidDigits(String),
    /// A Steam Guard URI asked for a code length other than 5.
    #[error("Steam Guard codes have 5 characters (got digits `{0}`)")]
    SteamDigits(String),
    /// Steam Guard codes are always HMAC-SHA1.
    #[error("Steam Guard codes use SHA1 (got {0})")]
    SteamAlgorithm(String),
    /// `period` is not a whole number of seconds of at least 1.
    #[error("period must be a whole number of seconds from 1 to 86400 (got `{0}`)")]
    InvalidPeriod(String),
    /// The algorithm is not SHA1, SHA256 or SHA512 (for example MD5).
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// A `hotp` URI has no `counter` parameter.
    #[error("hotp URI needs a counter")]
    MissingCounter,
    /// `counter` is not a whole number from 0 to 2^64-1.
    #[error("counter must be a whole number, 0 or more (got `{0}`)")]
    InvalidCounter(String),
    /// A part of the URI is not valid UTF-8 once percent-decoded.
    #[error("the {0} is not valid UTF-8 after percent-decoding")]
    InvalidUtf8(&'static str),
    /// The text does not start with `otpauth-migration://offline`.
    #[error("not an otpauth-migration://offline URI")]
    NotMigrationUri,
    /// The migration URI has no `data` parameter.
    #[error("migration URI has no data parameter")]
    MigrationMissingData,
    /// The `data` parameter is not base64.
    #[error("migration data is not valid base64: {0}")]
    MigrationBase64(String),
    /// The decoded `data` is not a `MigrationPayload` protobuf message.
    #[error("migration data is not a valid export payload: {0}")]
    MigrationProtobuf(String),
    /// The payload decoded but holds no accounts.
    #[error("migration payload holds no accounts")]
    MigrationEmpty,
    /// The export's digits code is not 0 (unspecified), 1 (six) or 2 (eight).
    #[error("unsupported digits code {0} in the export (expected six or eight)")]
    MigrationDigits(i32),
    /// The export's OTP type code is not 0 (unspecified), 1 (HOTP) or 2 (TOTP).
    #[error("unsupported OTP type code {0} in the export (expected HOTP or TOTP)")]
    MigrationType(i32),
    /// The export's counter is negative.
    #[error("negative HOTP counter {0} in the export")]
    MigrationCounter(i64),
    /// One account of a migration payload was refused; `index` counts from 1.
    #[error("account {index} of {total}: {source}")]
    MigrationAccount {
        /// 1-based position of the account in the payload.
        index: usize,
        /// Number of accounts in the payload.
        total: usize,
        /// Why that account was refused.
        source: Box<OtpError>,
    },
    /// The URI is too long for a QR code.
    #[error("the URI does not fit in a QR code: {0}")]
    QrEncode(String),
    /// Writing the PNG failed.
    #[error("could not write the PNG image: {0}")]
    PngEncode(String),
    /// The upload is neither PNG nor JPEG.
    #[error("not an image: expected a PNG or JPEG file")]
    NotAnImage,
    /// The upload is larger than 10 MiB.
    #[error("image too large: the file has {bytes} bytes, the limit is 10 MiB")]
    FileTooLarge {
        /// Size of the upload in bytes.
        bytes: usize,
    },
    /// The image has more than 20 megapixels.
    #[error("image too large: {width}×{height} pixels, the limit is 20 megapixels")]
    ImageTooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The PNG or JPEG is damaged or uses an unsupported variant.
    #[error("could not decode the image: {0}")]
    ImageDecode(String),
    /// No QR code was found in the image.
    #[error("no QR code found in the image")]
    NoQrCode,
    /// A QR code was located but its content could not be read.
    #[error("a QR code was found but could not be read: {0}")]
    QrUnreadable(String),
}

/// Something accepted that the admin should know about. `Display` is a human sentence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Warning {
    /// The secret is shorter than the 128 bits RFC 4226 section 4 requires (160 recommended).
    /// Accepted because many real services issue 80-bit secrets.
    ShortSecret {
        /// Length of the secret in bits.
        bits: usize,
    },
    /// The issuer prefix of the label and the `issuer` parameter differ
    /// (compared ignoring case). Both are kept in [`crate::OtpParams`].
    IssuerMismatch {
        /// The prefix before `:` in the label.
        label: String,
        /// The `issuer` parameter.
        parameter: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::ShortSecret { bits } => write!(
                f,
                "the secret is only {bits} bits long; 128 bits or more is recommended, \
                 but many services issue 80-bit secrets, so it was accepted"
            ),
            Warning::IssuerMismatch { label, parameter } => write!(
                f,
                "the label names the issuer \"{label}\" but the issuer parameter says \
                 \"{parameter}\"; both were kept"
            ),
        }
    }
}
