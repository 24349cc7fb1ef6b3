//! Wire types of a connector's declaration: what it can do and which settings a hub on it needs
//! (contract v2, `castellan_core::connector`).

use serde::Serialize;
use utoipa::ToSchema;

use super::Capability;

/// How the automation account proves who it is to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorSignIn {
    /// Username and password (and the account's TOTP when the app asks).
    Password,
    /// An API token (the automation account's secret custom field `api_token`); no password.
    ApiToken,
    /// Username with an API token or application password (secret custom field `api_token`).
    UsernameAndToken,
    /// An OAuth 2.0 grant (authorization code): the hub's admin connects with the app once,
    /// the bot refreshes the tokens; no password.
    #[serde(rename = "oauth2")]
    OAuth2,
}

impl From<castellan_core::connector::SignIn> for ConnectorSignIn {
    fn from(v: castellan_core::connector::SignIn) -> Self {
        match v {
            castellan_core::connector::SignIn::Password => Self::Password,
            castellan_core::connector::SignIn::ApiToken => Self::ApiToken,
            castellan_core::connector::SignIn::UsernameAndToken => Self::UsernameAndToken,
            castellan_core::connector::SignIn::OAuth2 => Self::OAuth2,
        }
    }
}

/// One setting a hub on this connector needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ConnectorSetting {
    /// Key: `base_url` and `organization_id` are the hub's own fields; a `secret` is a secret
    /// custom field of that name on the automation account; any other key goes in the hub's
    /// `settings`.
    pub key: String,
    /// What a person sees.
    pub label: String,
    /// `url`, `text`, `secret`, `choice` or `number`.
    pub kind: String,
    /// The allowed values of a `choice`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// The smallest value of a `number`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// The largest value of a `number`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// Whether a hub needs it.
    pub required: bool,
    /// Where to find the value in the app.
    pub help: String,
    /// The value used when the hub sets none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl From<castellan_core::connector::SettingField> for ConnectorSetting {
    fn from(v: castellan_core::connector::SettingField) -> Self {
        use castellan_core::connector::SettingKind as K;
        let (mut min, mut max) = (None, None);
        let (kind, choices) = match v.kind {
            K::Url => ("url", vec![]),
            K::Text => ("text", vec![]),
            K::Secret => ("secret", vec![]),
            K::Choice(c) => ("choice", c),
            K::Number { min: lo, max: hi } => {
                (min, max) = (Some(lo), Some(hi));
                ("number", vec![])
            }
        };
        Self {
            key: v.key,
            label: v.label,
            kind: kind.to_owned(),
            choices,
            min,
            max,
            required: v.required,
            help: v.help,
            default: v.default,
        }
    }
}

/// What an app's connector can do and what a hub on it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ConnectorInfo {
    /// The connector's name (the catalog's `connector`).
    pub name: String,
    /// Its roles (the catalog's fallback when the app does not list its own), most privileged
    /// first.
    pub roles: Vec<String>,
    /// The role an invite gets when none is named.
    pub default_role: String,
    /// What it can do.
    pub capabilities: Vec<Capability>,
    /// How the automation account signs in.
    pub sign_in: ConnectorSignIn,
    /// The settings a hub needs, in the order to ask for them.
    pub settings: Vec<ConnectorSetting>,
}

impl From<castellan_core::connector::ConnectorInfo> for ConnectorInfo {
    fn from(v: castellan_core::connector::ConnectorInfo) -> Self {
        Self {
            name: v.name,
            roles: v.roles,
            default_role: v.default_role,
            capabilities: super::list(v.capabilities),
            sign_in: v.sign_in.into(),
            settings: super::list(v.settings),
        }
    }
}
