//! Wire types of 2FA managed by Castellan (authenticators and Google Authenticator import).

use super::AccountView;
use castellan_core::ids::VaultId;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Adding 2FA to an account: exactly one of `secret`, `uri`, `qr_image_base64`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpInput {
    /// A base32 secret (any case; spaces, hyphens and missing padding are fine).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub secret: Option<SecretString>,
    /// An `otpauth://` URI (Key URI Format).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub uri: Option<SecretString>,
    /// A PNG or JPEG image of the QR code, base64.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub qr_image_base64: Option<SecretString>,
    /// With `secret`: `sha1` (default), `sha256` or `sha512`.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// With `secret`: code length, 6 (default) to 10.
    #[serde(default)]
    pub digits: Option<u32>,
    /// With `secret`: time step in seconds (default 30).
    #[serde(default)]
    pub period: Option<u64>,
}

impl From<TotpInput> for castellan_core::service::TotpInput {
    fn from(v: TotpInput) -> Self {
        Self {
            secret: v.secret,
            uri: v.uri,
            qr_image_base64: v.qr_image_base64,
            algorithm: v.algorithm,
            digits: v.digits,
            period: v.period,
        }
    }
}

/// An account's authenticator as shown (no secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotpView {
    /// `totp`, `hotp` or `steam`.
    pub kind: String,
    /// `sha1`, `sha256` or `sha512`.
    pub algorithm: String,
    /// Code length.
    pub digits: i64,
    /// Time step in seconds.
    pub period: i64,
    /// Issuer (parameter, else label prefix).
    pub issuer: Option<String>,
    /// Account name from the label.
    pub account_name: Option<String>,
    /// Warnings about the secret (e.g. shorter than 128 bits, issuers disagree).
    pub warnings: Vec<String>,
}

impl From<castellan_core::service::TotpView> for TotpView {
    fn from(v: castellan_core::service::TotpView) -> Self {
        Self {
            kind: v.kind,
            algorithm: v.algorithm,
            digits: v.digits,
            period: v.period,
            issuer: v.issuer,
            account_name: v.account_name,
            warnings: v.warnings,
        }
    }
}

/// A code to type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotpCode {
    /// The code.
    pub code: String,
    /// Seconds until it changes (0 for HOTP).
    pub seconds_remaining: u64,
    /// Time step in seconds.
    pub period: i64,
    /// `totp`, `hotp` or `steam`.
    pub kind: String,
}

impl From<castellan_core::service::TotpCode> for TotpCode {
    fn from(v: castellan_core::service::TotpCode) -> Self {
        Self {
            code: v.code,
            seconds_remaining: v.seconds_remaining,
            period: v.period,
            kind: v.kind,
        }
    }
}

/// The result of verifying a typed code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotpVerification {
    /// Whether the code is accepted.
    pub valid: bool,
    /// Why not, when refused.
    pub reason: Option<String>,
}

impl From<castellan_core::service::TotpVerification> for TotpVerification {
    fn from(v: castellan_core::service::TotpVerification) -> Self {
        Self {
            valid: v.valid,
            reason: v.reason,
        }
    }
}

/// The secret, exported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotpExport {
    /// `otpauth://` URI.
    pub uri: String,
    /// PNG of the QR code, base64.
    pub qr_png_base64: String,
}

impl From<castellan_core::service::TotpExport> for TotpExport {
    fn from(v: castellan_core::service::TotpExport) -> Self {
        Self {
            uri: v.uri,
            qr_png_base64: v.qr_png_base64,
        }
    }
}

/// Importing a Google Authenticator export.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationImport {
    /// The `otpauth-migration://offline?data=…` URI (from the export QR code).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub uri: Option<SecretString>,
    /// Or the export QR image (PNG/JPEG), base64.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub qr_image_base64: Option<SecretString>,
    /// Vault for the new accounts (default vault when absent).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub vault_id: Option<VaultId>,
}

impl From<MigrationImport> for castellan_core::service::MigrationImport {
    fn from(v: MigrationImport) -> Self {
        Self {
            uri: v.uri,
            qr_image_base64: v.qr_image_base64,
            vault_id: v.vault_id,
        }
    }
}

/// One imported account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportedAccount {
    /// The new account.
    pub account: AccountView,
    /// Warnings for its secret.
    pub warnings: Vec<String>,
}

impl From<castellan_core::service::ImportedAccount> for ImportedAccount {
    fn from(v: castellan_core::service::ImportedAccount) -> Self {
        Self {
            account: v.account.into(),
            warnings: v.warnings,
        }
    }
}
