//! Wire types of the app catalog and the password generator.

use castellan_core::ids::{AccountId, AppId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an automation account may do in the app through its connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// List members with their roles.
    ListMembers,
    /// Invite (create) a member.
    Invite,
    /// Change a member's app role.
    UpdateRole,
    /// Remove or deactivate a member.
    Remove,
    /// Keep a paid seat when a member leaves.
    KeepSeat,
    /// Read the app's own roles (custom roles included).
    ListRoles,
    /// List resources inside the app (rooms, projects, sites, teams, groups).
    ListResources,
    /// List, grant and revoke members' roles on resources.
    ResourceRoles,
    /// Change the automation account's own password.
    ChangeOwnPassword,
    /// Read whether the automation account has a second factor.
    ReadTwoFactor,
    /// Turn on TOTP for the automation account.
    EnableTwoFactor,
}

impl From<castellan_core::catalog::Capability> for Capability {
    fn from(v: castellan_core::catalog::Capability) -> Self {
        match v {
            castellan_core::catalog::Capability::ListMembers => Self::ListMembers,
            castellan_core::catalog::Capability::Invite => Self::Invite,
            castellan_core::catalog::Capability::UpdateRole => Self::UpdateRole,
            castellan_core::catalog::Capability::Remove => Self::Remove,
            castellan_core::catalog::Capability::KeepSeat => Self::KeepSeat,
            castellan_core::catalog::Capability::ListRoles => Self::ListRoles,
            castellan_core::catalog::Capability::ListResources => Self::ListResources,
            castellan_core::catalog::Capability::ResourceRoles => Self::ResourceRoles,
            castellan_core::catalog::Capability::ChangeOwnPassword => Self::ChangeOwnPassword,
            castellan_core::catalog::Capability::ReadTwoFactor => Self::ReadTwoFactor,
            castellan_core::catalog::Capability::EnableTwoFactor => Self::EnableTwoFactor,
        }
    }
}

impl From<Capability> for castellan_core::catalog::Capability {
    fn from(v: Capability) -> Self {
        match v {
            Capability::ListMembers => Self::ListMembers,
            Capability::Invite => Self::Invite,
            Capability::UpdateRole => Self::UpdateRole,
            Capability::Remove => Self::Remove,
            Capability::KeepSeat => Self::KeepSeat,
            Capability::ListRoles => Self::ListRoles,
            Capability::ListResources => Self::ListResources,
            Capability::ResourceRoles => Self::ResourceRoles,
            Capability::ChangeOwnPassword => Self::ChangeOwnPassword,
            Capability::ReadTwoFactor => Self::ReadTwoFactor,
            Capability::EnableTwoFactor => Self::EnableTwoFactor,
        }
    }
}

/// A character class a password rule may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CharClass {
    /// a-z
    Lower,
    /// A-Z
    Upper,
    /// 0-9
    Digit,
    /// symbols
    Symbol,
}

impl From<castellan_core::catalog::CharClass> for CharClass {
    fn from(v: castellan_core::catalog::CharClass) -> Self {
        match v {
            castellan_core::catalog::CharClass::Lower => Self::Lower,
            castellan_core::catalog::CharClass::Upper => Self::Upper,
            castellan_core::catalog::CharClass::Digit => Self::Digit,
            castellan_core::catalog::CharClass::Symbol => Self::Symbol,
        }
    }
}

impl From<CharClass> for castellan_core::catalog::CharClass {
    fn from(v: CharClass) -> Self {
        match v {
            CharClass::Lower => Self::Lower,
            CharClass::Upper => Self::Upper,
            CharClass::Digit => Self::Digit,
            CharClass::Symbol => Self::Symbol,
        }
    }
}

/// An app's password policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRules {
    /// Minimum length, in characters.
    pub min_length: usize,
    /// Maximum length, in characters.
    pub max_length: usize,
    /// Accepted symbols; `None` means any printable ASCII symbol.
    #[serde(default)]
    pub symbols: Option<String>,
    /// Classes the app requires.
    #[serde(default)]
    pub require: Vec<CharClass>,
}

impl From<PasswordRules> for castellan_core::catalog::PasswordRules {
    fn from(v: PasswordRules) -> Self {
        Self {
            min_length: v.min_length,
            max_length: v.max_length,
            symbols: v.symbols,
            require: v.require.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<castellan_core::catalog::PasswordRules> for PasswordRules {
    fn from(v: castellan_core::catalog::PasswordRules) -> Self {
        Self {
            min_length: v.min_length,
            max_length: v.max_length,
            symbols: v.symbols,
            require: v.require.into_iter().map(Into::into).collect(),
        }
    }
}

/// Hints for reading the app's verification messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct InboxHints {
    /// Expected senders: full addresses or `@domain`.
    #[serde(default)]
    pub senders: Vec<String>,
    /// A regex with one capture group for the code.
    #[serde(default)]
    pub code_pattern: Option<String>,
}

impl From<InboxHints> for castellan_core::catalog::InboxHints {
    fn from(v: InboxHints) -> Self {
        Self {
            senders: v.senders,
            code_pattern: v.code_pattern,
        }
    }
}

impl From<castellan_core::catalog::InboxHints> for InboxHints {
    fn from(v: castellan_core::catalog::InboxHints) -> Self {
        Self {
            senders: v.senders,
            code_pattern: v.code_pattern,
        }
    }
}

/// How an app's SCIM 2.0 service provider (RFC 7643/7644) is reached, for the `scim` connector,
/// from the vendor's own documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimInfo {
    /// The SCIM base URL as a pattern, customer parts in braces
    /// (`https://www.figma.com/scim/v2/{tenant_id}`).
    pub base_url: String,
    /// What token it takes and where an admin makes it.
    pub token: String,
    /// The plan or add-on that has SCIM.
    pub plan: String,
    /// What the provider does differently from RFC 7644.
    #[serde(default)]
    pub quirks: Vec<String>,
    /// The vendor's SCIM documentation page.
    pub docs: String,
}

impl From<ScimInfo> for castellan_core::catalog::ScimInfo {
    fn from(v: ScimInfo) -> Self {
        Self {
            base_url: v.base_url,
            token: v.token,
            plan: v.plan,
            quirks: v.quirks,
            docs: v.docs,
        }
    }
}

impl From<castellan_core::catalog::ScimInfo> for ScimInfo {
    fn from(v: castellan_core::catalog::ScimInfo) -> Self {
        Self {
            base_url: v.base_url,
            token: v.token,
            plan: v.plan,
            quirks: v.quirks,
            docs: v.docs,
        }
    }
}

/// Whether an entry ships with Castellan or was added by the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum AppSource {
    /// From `catalog/apps.toml`.
    #[default]
    Builtin,
    /// Added through the API.
    Custom,
}

impl From<castellan_core::catalog::AppSource> for AppSource {
    fn from(v: castellan_core::catalog::AppSource) -> Self {
        match v {
            castellan_core::catalog::AppSource::Builtin => Self::Builtin,
            castellan_core::catalog::AppSource::Custom => Self::Custom,
        }
    }
}

impl From<AppSource> for castellan_core::catalog::AppSource {
    fn from(v: AppSource) -> Self {
        match v {
            AppSource::Builtin => Self::Builtin,
            AppSource::Custom => Self::Custom,
        }
    }
}

/// A catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Slug id, e.g. `matrix-synapse`.
    #[schema(value_type = String)]
    pub id: AppId,
    /// Display name.
    pub name: String,
    /// Login URLs (at least one).
    pub login_urls: Vec<String>,
    /// Registrable domains for matching a URL to the app.
    pub domains: Vec<String>,
    /// Whether the app offers SAML 2.0 SSO (needed for `idp_provisioned` accounts).
    #[serde(default)]
    pub saml_sso: bool,
    /// The connector that drives it, if any.
    #[serde(default)]
    pub connector: Option<String>,
    /// A connector that drives it through its own web pages in the browser bot, which a hub may
    /// choose instead (`connector` at connect), if any.
    #[serde(default)]
    pub browser_connector: Option<String>,
    /// The app's own roles, most privileged first.
    #[serde(default)]
    pub roles: Vec<String>,
    /// What an automation account can do to members.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Category (chat, design, social, ...).
    #[serde(default)]
    pub category: Option<String>,
    /// Free notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Password policy.
    pub password_rules: PasswordRules,
    /// Inbox hints.
    #[serde(default)]
    pub inbox_hints: Option<InboxHints>,
    /// Its SCIM 2.0 endpoint for admins, when it publishes one.
    #[serde(default)]
    pub scim: Option<ScimInfo>,
    /// Built-in or custom.
    #[serde(default)]
    pub source: AppSource,
}

impl From<App> for castellan_core::catalog::App {
    fn from(v: App) -> Self {
        Self {
            id: v.id,
            name: v.name,
            login_urls: v.login_urls,
            domains: v.domains,
            saml_sso: v.saml_sso,
            connector: v.connector,
            browser_connector: v.browser_connector,
            roles: v.roles,
            capabilities: v.capabilities.into_iter().map(Into::into).collect(),
            category: v.category,
            notes: v.notes,
            password_rules: v.password_rules.into(),
            inbox_hints: v.inbox_hints.map(Into::into),
            scim: v.scim.map(Into::into),
            source: v.source.into(),
        }
    }
}

impl From<castellan_core::catalog::App> for App {
    fn from(v: castellan_core::catalog::App) -> Self {
        Self {
            id: v.id,
            name: v.name,
            login_urls: v.login_urls,
            domains: v.domains,
            saml_sso: v.saml_sso,
            connector: v.connector,
            browser_connector: v.browser_connector,
            roles: v.roles,
            capabilities: v.capabilities.into_iter().map(Into::into).collect(),
            category: v.category,
            notes: v.notes,
            password_rules: v.password_rules.into(),
            inbox_hints: v.inbox_hints.map(Into::into),
            scim: v.scim.map(Into::into),
            source: v.source.into(),
        }
    }
}

/// A generator request. With `app` or `account_id`, the app's password rules win: the length is
/// clamped to its range, its symbol set is used and its required classes are turned on.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// `password` (default) or `passphrase`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Length in characters, 8..=128 (default 20).
    #[serde(default)]
    pub length: Option<usize>,
    /// Include a-z (default true).
    #[serde(default)]
    pub lower: Option<bool>,
    /// Include A-Z (default true).
    #[serde(default)]
    pub upper: Option<bool>,
    /// Include 0-9 (default true).
    #[serde(default)]
    pub digits: Option<bool>,
    /// Include symbols (default true).
    #[serde(default)]
    pub symbols: Option<bool>,
    /// The symbol set to draw from.
    #[serde(default)]
    pub symbol_set: Option<String>,
    /// Leave out look-alike characters (I l 1 O 0 o | ` ' ").
    #[serde(default)]
    pub exclude_lookalikes: bool,
    /// Passphrase: number of words, 3..=20 (default 5).
    #[serde(default)]
    pub words: Option<usize>,
    /// Passphrase: separator (default "-").
    #[serde(default)]
    pub separator: Option<String>,
    /// Passphrase: capitalize words.
    #[serde(default)]
    pub capitalize: bool,
    /// Passphrase: add a digit.
    #[serde(default)]
    pub include_number: bool,
    /// Follow this catalog app's password rules.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub app: Option<String>,
    /// Follow the password rules of this account's app.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub account_id: Option<AccountId>,
}

impl From<GenerateRequest> for castellan_core::service::GenerateRequest {
    fn from(v: GenerateRequest) -> Self {
        Self {
            mode: v.mode,
            length: v.length,
            lower: v.lower,
            upper: v.upper,
            digits: v.digits,
            symbols: v.symbols,
            symbol_set: v.symbol_set,
            exclude_lookalikes: v.exclude_lookalikes,
            words: v.words,
            separator: v.separator,
            capitalize: v.capitalize,
            include_number: v.include_number,
            app: v.app,
            account_id: v.account_id,
        }
    }
}

/// A generated secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GenerateResult {
    /// The password or passphrase.
    pub value: String,
    /// Strength estimate in bits (log2 of the number of equally likely outcomes).
    pub entropy_bits: f64,
    /// Length in characters.
    pub length: usize,
    /// The app whose rules were applied, if any.
    pub rules_from: Option<String>,
}

impl From<castellan_core::service::GenerateResult> for GenerateResult {
    fn from(v: castellan_core::service::GenerateResult) -> Self {
        Self {
            value: v.value,
            entropy_bits: v.entropy_bits,
            length: v.length,
            rules_from: v.rules_from,
        }
    }
}
