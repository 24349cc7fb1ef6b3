//! Wire types of accounts, their custom fields and revealed secrets.

use super::ItemRole;
use castellan_core::ids::{AccountId, AppId, VaultId};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// How an account was set up (see the glossary "account setup").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AccountSetup {
    /// A dedicated "ghost" account on a Castellan-managed email and phone.
    Placeholder,
    /// Created by the IdP (federated); only for apps with SAML SSO.
    IdpProvisioned,
    /// A person's own profile account, re-pointed to managed email and phone.
    Individual,
    /// A shared team login.
    Shared,
}

impl From<castellan_core::model::AccountSetup> for AccountSetup {
    fn from(v: castellan_core::model::AccountSetup) -> Self {
        match v {
            castellan_core::model::AccountSetup::Placeholder => Self::Placeholder,
            castellan_core::model::AccountSetup::IdpProvisioned => Self::IdpProvisioned,
            castellan_core::model::AccountSetup::Individual => Self::Individual,
            castellan_core::model::AccountSetup::Shared => Self::Shared,
        }
    }
}

impl From<AccountSetup> for castellan_core::model::AccountSetup {
    fn from(v: AccountSetup) -> Self {
        match v {
            AccountSetup::Placeholder => Self::Placeholder,
            AccountSetup::IdpProvisioned => Self::IdpProvisioned,
            AccountSetup::Individual => Self::Individual,
            AccountSetup::Shared => Self::Shared,
        }
    }
}

/// A custom field on an account. Secret ones are sealed; their `value` is only filled on reveal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomField {
    /// Field name, unique on the account (1..=100 characters).
    pub name: String,
    /// Value (non-secret fields always; secret fields only when revealed).
    pub value: Option<String>,
    /// Whether the value is a secret (sealed at rest, hidden until revealed).
    #[serde(default)]
    pub secret: bool,
}

impl From<CustomField> for castellan_core::model::CustomField {
    fn from(v: CustomField) -> Self {
        Self {
            name: v.name,
            value: v.value,
            secret: v.secret,
        }
    }
}

impl From<castellan_core::model::CustomField> for CustomField {
    fn from(v: castellan_core::model::CustomField) -> Self {
        Self {
            name: v.name,
            value: v.value,
            secret: v.secret,
        }
    }
}

/// The "Add account" form.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// Account label, unique in its vault (case-insensitive), 1..=200 characters.
    pub label: String,
    /// App: a catalog app id or name (`slack`, `Slack`), or a login URL (`https://…`).
    #[serde(default)]
    pub app: Option<String>,
    /// Explicit login URL (overrides the app's first login URL).
    #[serde(default)]
    pub login_url: Option<String>,
    /// Username or email used to sign in (at most 320 characters).
    #[serde(default)]
    pub username: Option<String>,
    /// Current password (at most 4096 bytes).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub password: Option<SecretString>,
    /// Generate a password that fits the app's password rules instead of giving one.
    #[serde(default)]
    pub generate_password: bool,
    /// Vault (default: the default vault).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub vault_id: Option<VaultId>,
    /// Account setup kind (default `shared`).
    #[serde(default)]
    pub setup: Option<AccountSetup>,
    /// Notes (sealed; at most 64 KiB).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Option<SecretString>,
    /// Custom fields (at most 50).
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    /// Backup codes (sealed; at most 64 of at most 100 characters).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub backup_codes: Vec<SecretString>,
}

impl From<AccountInput> for castellan_core::service::AccountInput {
    fn from(v: AccountInput) -> Self {
        Self {
            label: v.label,
            app: v.app,
            login_url: v.login_url,
            username: v.username,
            password: v.password,
            generate_password: v.generate_password,
            vault_id: v.vault_id,
            setup: v.setup.map(Into::into),
            notes: v.notes,
            custom_fields: v.custom_fields.into_iter().map(Into::into).collect(),
            backup_codes: v.backup_codes,
        }
    }
}

/// Changes to an account. Absent fields stay; `""` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// The version the change is based on (from `GET`); a stale one is refused with 409.
    #[serde(default)]
    pub version: Option<i64>,
    /// New label.
    #[serde(default)]
    pub label: Option<String>,
    /// New app (id, name or URL); `""` clears.
    #[serde(default)]
    pub app: Option<String>,
    /// New login URL; `""` clears.
    #[serde(default)]
    pub login_url: Option<String>,
    /// New username; `""` clears.
    #[serde(default)]
    pub username: Option<String>,
    /// New password; `""` clears.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub password: Option<SecretString>,
    /// Generate a new password under the app's rules.
    #[serde(default)]
    pub generate_password: bool,
    /// Move to another vault (secrets are re-sealed under its key).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub vault_id: Option<VaultId>,
    /// New setup kind.
    #[serde(default)]
    pub setup: Option<AccountSetup>,
    /// New notes; `""` clears.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Option<SecretString>,
    /// Replaces all custom fields; a secret field given with no value keeps its stored value.
    #[serde(default)]
    pub custom_fields: Option<Vec<CustomField>>,
    /// Replaces the backup codes; `[]` clears.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub backup_codes: Option<Vec<SecretString>>,
}

impl From<AccountPatch> for castellan_core::service::AccountPatch {
    fn from(v: AccountPatch) -> Self {
        Self {
            version: v.version,
            label: v.label,
            app: v.app,
            login_url: v.login_url,
            username: v.username,
            password: v.password,
            generate_password: v.generate_password,
            vault_id: v.vault_id,
            setup: v.setup.map(Into::into),
            notes: v.notes,
            custom_fields: v
                .custom_fields
                .map(|l| l.into_iter().map(Into::into).collect()),
            backup_codes: v.backup_codes,
        }
    }
}

/// An account as listed and shown (no secret values).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: AccountId,
    /// Vault.
    #[schema(value_type = String, format = Uuid)]
    pub vault_id: VaultId,
    /// Label.
    pub label: String,
    /// Catalog app id, if matched.
    #[schema(value_type = Option<String>)]
    pub app_id: Option<AppId>,
    /// Catalog app name, if matched.
    pub app_name: Option<String>,
    /// Login URL.
    pub login_url: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Setup kind.
    pub setup: AccountSetup,
    /// Custom fields; secret values are `null` until revealed.
    pub custom_fields: Vec<CustomField>,
    /// Whether a password is stored.
    pub has_password: bool,
    /// Whether a TOTP secret is stored (2FA managed by Castellan).
    pub has_totp: bool,
    /// Whether notes are stored.
    pub has_notes: bool,
    /// Whether backup codes are stored.
    pub has_backup_codes: bool,
    /// The caller's item role.
    pub my_role: ItemRole,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<castellan_core::service::AccountView> for AccountView {
    fn from(v: castellan_core::service::AccountView) -> Self {
        Self {
            id: v.id,
            vault_id: v.vault_id,
            label: v.label,
            app_id: v.app_id,
            app_name: v.app_name,
            login_url: v.login_url,
            username: v.username,
            setup: v.setup.into(),
            custom_fields: v.custom_fields.into_iter().map(Into::into).collect(),
            has_password: v.has_password,
            has_totp: v.has_totp,
            has_notes: v.has_notes,
            has_backup_codes: v.has_backup_codes,
            my_role: v.my_role.into(),
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// Revealed secret fields (only those that are set and were asked for).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AccountSecrets {
    /// Password.
    pub password: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Backup codes.
    pub backup_codes: Option<Vec<String>>,
    /// Secret custom fields by name.
    pub custom_fields: BTreeMap<String, String>,
}

impl From<castellan_core::service::AccountSecrets> for AccountSecrets {
    fn from(v: castellan_core::service::AccountSecrets) -> Self {
        Self {
            password: v.password,
            notes: v.notes,
            backup_codes: v.backup_codes,
            custom_fields: v.custom_fields,
        }
    }
}
