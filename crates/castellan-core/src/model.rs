//! The domain model: roles, people, vaults, accounts, tokens. Rows as the store keeps them and
//! views as the API shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{
    AccountId, AppId, DataKeyId, PasswordResetId, PersonId, TokenId, VaultId, WorkspaceId,
};

#[macro_export]
#[doc(hidden)]
macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and database spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::CoreError;
            /// Parses the wire spelling (case-insensitive, `-` accepted for `_`).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let norm = s.trim().to_ascii_lowercase().replace('-', "_");
                match norm.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::error::CoreError::invalid(
                        $what,
                        format!(
                            "`{}` is not one of: {}",
                            $crate::validate::clip(s),
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }
    };
}

crate::str_enum!(
    /// Workspace roles, most privileged first. Exactly one person is `owner`.
    WorkspaceRole, "role" {
        /// The one owner: everything, including transferring ownership.
        Owner = "owner",
        /// Everything but ownership; sees every vault.
        SuperAdmin = "super_admin",
        /// Manages people, vaults, the catalog and the activity log.
        Admin = "admin",
        /// Creates and shares accounts; uses what is shared with them.
        User = "user",
        /// Signs in to apps with shared accounts; never sees a password.
        LoginOnly = "login_only",
        /// An outside collaborator with access to a few shared accounts only.
        Guest = "guest",
    }
);

impl WorkspaceRole {
    /// 0 for `owner` up to 5 for `guest`: a lower rank is more privileged.
    pub fn rank(self) -> u8 {
        self as u8
    }
}

crate::str_enum!(
    /// Item roles on an account (and the default item role a vault grant gives).
    ItemRole, "item_role" {
        /// Everything, including delete and sharing.
        Owner = "owner",
        /// Use, reveal, edit and share.
        Manager = "manager",
        /// Use the account to sign in; may not reveal its password.
        Collaborator = "collaborator",
    }
);

crate::str_enum!(
    /// How an account was set up (see the glossary "account setup").
    AccountSetup, "setup" {
        /// A dedicated "ghost" account on a Castellan-managed email and phone.
        Placeholder = "placeholder",
        /// Created by the IdP (federated); only for apps with SAML SSO.
        IdpProvisioned = "idp_provisioned",
        /// A person's own profile account, re-pointed to managed email and phone.
        Individual = "individual",
        /// A shared team login.
        Shared = "shared",
    }
);

crate::str_enum!(
    /// Where a vault's data key lives.
    VaultKind, "kind" {
        /// Encrypted at rest on the server: the data key is wrapped by the workspace master key.
        Cloud = "cloud",
        /// End-to-end encrypted: the data key is wrapped only to trusted devices' public keys.
        Local = "local",
    }
);

crate::str_enum!(
    /// A person's state.
    PersonStatus, "status" {
        /// Invited: has an invitation token and no password yet.
        Invited = "invited",
        /// Active.
        Active = "active",
        /// Deactivated: cannot sign in; tokens refused.
        Deactivated = "deactivated",
    }
);

/// The workspace row.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Id.
    pub id: WorkspaceId,
    /// Display name.
    pub name: String,
    /// SHA-256 hex of the setup token while the workspace is unclaimed; `None` once claimed.
    pub setup_token_hash: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// One email address of a person as the identity provider wrote it: a value of the SCIM
/// User's multi-valued `emails` (RFC 7643 §4.1.2), with its `type`, `primary` and `display`
/// sub-attributes (RFC 7643 §2.4) kept as sent (an absent one stays absent), so that it reads
/// back as written. Stored as JSON (`{"value", "type", "primary", "display"}`, absent ones left
/// out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpEmail {
    /// The address as written (case kept; the person's `email` is its lowercased form when
    /// this is their email).
    pub value: String,
    /// Its label (`work`, `home`, `other` or the IdP's own), if sent.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether it is the preferred address, if sent (at most one is `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Its human-readable name, if sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// Most email addresses kept of one person from the identity provider.
pub const MAX_IDP_EMAILS: usize = 20;

/// A person as the store keeps them.
#[derive(Debug, Clone)]
pub struct PersonRecord {
    /// Id.
    pub id: PersonId,
    /// Normalized (lowercased) email; unique.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Workspace role.
    pub role: WorkspaceRole,
    /// State.
    pub status: PersonStatus,
    /// Argon2id PHC string, once a password is set.
    pub password_hash: Option<String>,
    /// SHA-256 hex of a pending invitation token.
    pub invitation_hash: Option<String>,
    /// When the invitation token stops working.
    pub invitation_expires_at: Option<DateTime<Utc>>,
    /// IdP id (SCIM `externalId`), if provisioned.
    pub external_id: Option<String>,
    /// The identity provider's `userName` when it is not the email (lowercased; unique across
    /// people's userNames, which are this or else the email). `None`: the userName is the email.
    pub user_name: Option<String>,
    /// Given name (SCIM `name.givenName`), when the identity provider gave one.
    pub given_name: Option<String>,
    /// Family name (SCIM `name.familyName`), when the identity provider gave one.
    pub family_name: Option<String>,
    /// The email addresses the identity provider gave (SCIM `emails`, as written), one of
    /// which is `email`; empty when it gave none beyond `email` itself (SCIM then shows `email`
    /// as the one `work` and primary address).
    pub idp_emails: Vec<IdpEmail>,
    /// When the identity provider deleted them (SCIM DELETE): they stay, deactivated, and SCIM
    /// answers 404 for them (RFC 7644 §3.6) until a create with their userName or email.
    pub idp_deleted_at: Option<DateTime<Utc>>,
    /// Their own authenticator for two-step sign-in, when they set one up.
    pub two_step: Option<PersonTwoStep>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Row version: 1 when inserted, one more with each write. `PeopleStore::update_person`
    /// writes a changed record only while the stored version is still this one (else
    /// [`CoreError::Stale`](crate::CoreError::Stale)), so two changes made from the same read
    /// never undo one another. SCIM shows it as the ETag `W/"<version>"` (RFC 7644 §3.14).
    pub version: i64,
}

/// A person's own authenticator (two-step sign-in): the TOTP secret sealed with a vault's
/// data key, which key sealed it, and the last accepted time step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonTwoStep {
    /// The base32 secret sealed with the data key `dek_id` of `vault_id`, AAD
    /// `field_aad("people", <person id>, "totp_secret")`.
    pub sealed_secret: Vec<u8>,
    /// The vault whose data key sealed it (the default vault at setup).
    pub vault_id: VaultId,
    /// The data key that sealed it.
    pub dek_id: DataKeyId,
    /// The last accepted time step; a code of this step or an earlier one is refused.
    pub last_step: Option<i64>,
}

/// A person as the API shows them (no hashes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Person {
    /// Id (UUID).
    pub id: PersonId,
    /// Email, lowercased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Workspace role.
    pub role: WorkspaceRole,
    /// State.
    pub status: PersonStatus,
    /// IdP id, if any.
    pub external_id: Option<String>,
    /// The identity provider's `userName` when it is not the email.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Given name from the identity provider.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name from the identity provider.
    #[serde(default)]
    pub family_name: Option<String>,
    /// The email addresses the identity provider gave, as written (see
    /// [`PersonRecord::idp_emails`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idp_emails: Vec<IdpEmail>,
    /// When the identity provider deleted them (SCIM DELETE), if it did.
    #[serde(default)]
    pub idp_deleted_at: Option<DateTime<Utc>>,
    /// Whether they sign in with a two-step code from their own authenticator.
    #[serde(default)]
    pub two_step: bool,
    /// Creation time (RFC 3339).
    pub created_at: DateTime<Utc>,
    /// Last change (RFC 3339).
    #[serde(default = "epoch")]
    pub updated_at: DateTime<Utc>,
    /// Row version: one more with each change (see [`PersonRecord::version`]).
    #[serde(default)]
    pub version: i64,
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

impl From<&PersonRecord> for Person {
    fn from(p: &PersonRecord) -> Self {
        Self {
            id: p.id,
            email: p.email.clone(),
            name: p.name.clone(),
            role: p.role,
            status: p.status,
            external_id: p.external_id.clone(),
            user_name: p.user_name.clone(),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            idp_emails: p.idp_emails.clone(),
            idp_deleted_at: p.idp_deleted_at,
            two_step: p.two_step.is_some(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

/// A vault row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vault {
    /// Id (UUID).
    pub id: VaultId,
    /// Name, unique in the workspace (case-insensitive).
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Cloud or local.
    pub kind: VaultKind,
    /// The vault made at init.
    pub is_default: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A grant of a vault to a person: every account in it is reachable with `role`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultAccess {
    /// The vault.
    pub vault_id: VaultId,
    /// The person.
    pub person_id: PersonId,
    /// The item role on the vault's accounts.
    pub role: ItemRole,
}

crate::str_enum!(
    /// What wraps a vault data key.
    WrapKind, "wrap_kind" {
        /// The workspace master key (cloud vaults).
        Master = "master",
        /// A trusted device's public key (local vaults; a later issue).
        Device = "device",
    }
);

/// One wrapped copy of a vault data key. A cloud vault has one `master` copy; a local vault will
/// have one `device` copy per trusted device and none under the master key.
#[derive(Debug, Clone)]
pub struct VaultKeyRecord {
    /// The vault.
    pub vault_id: VaultId,
    /// The data key's id (stored beside every ciphertext it sealed).
    pub dek_id: DataKeyId,
    /// What wraps it.
    pub wrap_kind: WrapKind,
    /// The wrapping key's id: a master key id (`mk-…`) or a device id.
    pub wrapping_key_id: String,
    /// nonce || ciphertext || tag.
    pub wrapped: Vec<u8>,
    /// When wrapped.
    pub created_at: DateTime<Utc>,
}

/// A custom field on an account. Secret ones are sealed; their `value` is only filled on reveal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomField {
    /// Field name, unique on the account (1..=100 characters).
    pub name: String,
    /// Value (non-secret fields always; secret fields only when revealed).
    pub value: Option<String>,
    /// Whether the value is a secret (sealed at rest, hidden until revealed).
    #[serde(default)]
    pub secret: bool,
}

/// An account item as the store keeps its non-secret part.
#[derive(Debug, Clone)]
pub struct AccountRecord {
    /// Id.
    pub id: AccountId,
    /// Vault.
    pub vault_id: VaultId,
    /// Label, unique per vault (case-insensitive).
    pub label: String,
    /// Catalog app, when matched.
    pub app_id: Option<AppId>,
    /// Login URL (from the form, or the app's first login URL).
    pub login_url: Option<String>,
    /// Username or email used to sign in.
    pub username: Option<String>,
    /// Account setup kind.
    pub setup: AccountSetup,
    /// Custom fields; secret ones have `value: None` here.
    pub custom_fields: Vec<CustomField>,
    /// Which secret fields are set (`password`, `totp_secret`, `backup_codes`, `notes`, `custom:<name>`).
    pub secret_fields: Vec<String>,
    /// Optimistic-concurrency version, +1 on every update.
    pub version: i64,
    /// Who made it.
    pub created_by: Option<PersonId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A sealed secret field of an account: AEAD ciphertext under the vault data key `dek_id`, with
/// associated data binding it to `accounts/<account_id>/<field>`.
#[derive(Debug, Clone)]
pub struct SealedField {
    /// `password`, `totp_secret`, `backup_codes`, `notes` or `custom:<name>`.
    pub field: String,
    /// The data key that sealed it.
    pub dek_id: DataKeyId,
    /// nonce || ciphertext || tag.
    pub ciphertext: Vec<u8>,
}

crate::str_enum!(
    /// What a token opens.
    TokenKind, "kind" {
        /// A personal API token or a web session: `/api/v1` and the web app.
        Api = "api",
        /// A SCIM token, created by the Owner for the identity provider: `/scim/v2` only.
        Scim = "scim",
    }
);

/// A personal API token row (the secret itself is never stored: only its SHA-256).
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// Id.
    pub id: TokenId,
    /// What it opens: `api` (personal tokens, web sessions) or `scim`.
    pub kind: TokenKind,
    /// Owner of the token.
    pub person_id: PersonId,
    /// Label.
    pub name: String,
    /// SHA-256 hex of the token.
    pub hash: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry; `None` never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A password reset link as the store keeps it: only the SHA-256 of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordResetRecord {
    /// Id.
    pub id: PasswordResetId,
    /// Whose password it resets.
    pub person_id: PersonId,
    /// SHA-256 hex of the link's token.
    pub hash: String,
    /// The admin who issued it.
    pub created_by: Option<PersonId>,
    /// When issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used (it works once).
    pub used_at: Option<DateTime<Utc>>,
    /// When a newer link or a password change made it void.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new password for a person, and what setting it ends: every token (web sessions and API
/// tokens) of the person except `keep_token`, and every pending reset link.
#[derive(Debug, Clone)]
pub struct NewPassword {
    /// The person.
    pub person_id: PersonId,
    /// The new Argon2id PHC string.
    pub password_hash: String,
    /// When (tokens and links are revoked at this time).
    pub at: DateTime<Utc>,
    /// The token that stays valid (the one the change was made with), if any.
    pub keep_token: Option<TokenId>,
    /// The reset link being used: the change happens only while it is unused, not revoked and
    /// not expired at `at`, and marks it used.
    pub reset: Option<PasswordResetId>,
}

/// A token as the API lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiToken {
    /// Id.
    pub id: TokenId,
    /// Label.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use, if any.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&TokenRecord> for ApiToken {
    fn from(t: &TokenRecord) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// An account's authenticator settings (non-secret; the secret itself is the sealed field
/// `totp_secret`).
#[derive(Debug, Clone, PartialEq)]
pub struct OtpRecord {
    /// The account.
    pub account_id: AccountId,
    /// `totp`, `hotp` or `steam`.
    pub kind: String,
    /// `sha1`, `sha256` or `sha512`.
    pub algorithm: String,
    /// Code length (5 for Steam).
    pub digits: i64,
    /// Time step in seconds (TOTP, Steam).
    pub period: i64,
    /// Next HOTP counter.
    pub counter: i64,
    /// `issuer` parameter.
    pub issuer: Option<String>,
    /// Issuer prefix of the label.
    pub label_issuer: Option<String>,
    /// Account name of the label.
    pub account_name: Option<String>,
    /// Last time step (TOTP) or counter (HOTP) accepted by a verification; never accepted again.
    pub last_step: Option<i64>,
    /// When set.
    pub created_at: DateTime<Utc>,
}
