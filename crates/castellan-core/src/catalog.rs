//! The app catalog: built-in entries from `catalog/apps.toml` (embedded at build time) plus
//! custom entries added through the API and kept in the store.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
use crate::ids::AppId;
use crate::validate;

/// The built-in catalog file, embedded in the binary.
pub const BUILTIN_CATALOG: &str = include_str!("../../../catalog/apps.toml");

/// What an automation account may do in the app through its connector (contract v2: the
/// first four are the base contract; the rest are optional, see `connector::resources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// A character class a password rule may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// An app's password policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Hints for reading the app's verification messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InboxHints {
    /// Expected senders: full addresses or `@domain`.
    #[serde(default)]
    pub senders: Vec<String>,
    /// A regex with one capture group for the code.
    #[serde(default)]
    pub code_pattern: Option<String>,
}

/// Whether an entry ships with Castellan or was added by the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AppSource {
    /// From `catalog/apps.toml`.
    #[default]
    Builtin,
    /// Added through the API.
    Custom,
}

/// A catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Slug id, e.g. `matrix-synapse`.
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
    /// Built-in or custom.
    #[serde(default)]
    pub source: AppSource,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    version: u32,
    app: Vec<App>,
}

impl App {
    /// Checks an entry: non-empty name, at least one valid http(s) login URL, at least one
    /// domain, sane password rules (8..=128 not required, but `1 <= min <= max <= 4096`).
    /// Errors: `Validation` naming the field.
    pub fn validate(&mut self) -> CoreResult<()> {
        self.name = validate::text("name", &self.name, validate::MAX_LABEL)?;
        if self.login_urls.is_empty() {
            return Err(CoreError::invalid(
                "login_urls",
                "needs at least one login URL",
            ));
        }
        for (i, u) in self.login_urls.iter().enumerate() {
            validate::http_url(&format!("login_urls[{i}]"), u)?;
        }
        if self.domains.is_empty() {
            return Err(CoreError::invalid("domains", "needs at least one domain"));
        }
        for (i, d) in self.domains.iter_mut().enumerate() {
            let norm = d.trim().trim_start_matches('.').to_ascii_lowercase();
            if norm.is_empty() || norm.contains(['/', ' ', '@']) || !norm.contains('.') {
                return Err(CoreError::invalid(
                    format!("domains[{i}]"),
                    format!("`{}` is not a domain name", validate::clip(d)),
                ));
            }
            *d = norm;
        }
        let r = &self.password_rules;
        if r.min_length == 0 || r.min_length > r.max_length || r.max_length > 4096 {
            return Err(CoreError::invalid(
                "password_rules",
                "needs 1 <= min_length <= max_length <= 4096",
            ));
        }
        if self.roles.len() > 100 || self.roles.iter().any(|r| r.trim().is_empty()) {
            return Err(CoreError::invalid(
                "roles",
                "roles must be non-empty names (at most 100)",
            ));
        }
        Ok(())
    }

    /// Whether `url`'s host is one of the app's domains or a subdomain of one.
    pub fn matches_url(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        self.domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
            || self.login_urls.iter().any(|l| {
                url::Url::parse(l)
                    .ok()
                    .and_then(|l| l.host_str().map(|h| h.eq_ignore_ascii_case(&host)))
                    .unwrap_or(false)
            })
    }
}

/// Parses a catalog file (TOML, `version = 1`, `[[app]]` tables). Errors name the entry and the
/// field that failed; duplicate ids are refused.
pub fn parse_catalog(text: &str) -> CoreResult<Vec<App>> {
    let file: CatalogFile = toml::from_str(text)
        .map_err(|e| CoreError::invalid("catalog", format!("cannot parse catalog: {e}")))?;
    if file.version != 1 {
        return Err(CoreError::invalid("catalog", "unsupported catalog version"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut apps = file.app;
    for app in &mut apps {
        app.source = AppSource::Builtin;
        app.validate()
            .map_err(|e| CoreError::invalid(format!("catalog app `{}`", app.id), e.to_string()))?;
        if !seen.insert(app.id.clone()) {
            return Err(CoreError::invalid(
                "catalog",
                format!("duplicate app id `{}`", app.id),
            ));
        }
    }
    Ok(apps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses_with_enough_apps() {
        let apps = parse_catalog(BUILTIN_CATALOG).unwrap();
        assert!(apps.len() >= 24, "only {} apps", apps.len());
        let synapse = apps
            .iter()
            .find(|a| a.id.as_str() == "matrix-synapse")
            .unwrap();
        assert_eq!(synapse.connector.as_deref(), Some("synapse"));
        assert!(apps.iter().any(|a| a.category.as_deref() == Some("social")));
    }

    #[test]
    fn url_matching_uses_domains() {
        let apps = parse_catalog(BUILTIN_CATALOG).unwrap();
        let slack = apps.iter().find(|a| a.id.as_str() == "slack").unwrap();
        assert!(slack.matches_url(&url::Url::parse("https://acme.slack.com/signin").unwrap()));
        assert!(!slack.matches_url(&url::Url::parse("https://slack.com.evil.example/").unwrap()));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let one = r#"
[[app]]
id = "x-app"
name = "X"
login_urls = ["https://x.example.com/login"]
domains = ["x.example.com"]
[app.password_rules]
min_length = 8
max_length = 64
"#;
        let text = format!("version = 1\n{one}{one}");
        assert!(parse_catalog(&text).is_err());
    }
}
