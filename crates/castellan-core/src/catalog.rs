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

/// How an app's SCIM 2.0 service provider (RFC 7643/7644) is reached, for the `scim` connector:
/// where its base URL is, what token it takes, which plan has it and what it does differently.
/// Every field comes from the vendor's own documentation ([`ScimInfo::docs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimInfo {
    /// The SCIM base URL, as a pattern: `https://api.slack.com/scim/v2`, or with the parts each
    /// customer fills in braces, `https://www.figma.com/scim/v2/{tenant_id}`.
    pub base_url: String,
    /// What token the hub's API token is and where an admin makes it (`bearer token generated in
    /// Admin settings`, `OAuth access token with the admin scope`).
    pub token: String,
    /// The plan or add-on that has SCIM (`Enterprise`, `Business+ or Enterprise Grid`).
    pub plan: String,
    /// What the provider does differently from RFC 7644, one short sentence each.
    #[serde(default)]
    pub quirks: Vec<String>,
    /// The vendor's SCIM documentation page (`https`).
    pub docs: String,
}

/// The longest [`ScimInfo`] text field, in characters.
const SCIM_TEXT_MAX: usize = 300;

impl ScimInfo {
    /// Checks the table: `base_url` is an http(s) URL once each `{placeholder}` is filled in,
    /// `docs` an `https` URL, `token` and `plan` one line of text, and at most 20 quirks of one
    /// line each. Errors: `Validation` naming the field (`scim.base_url`, `scim.quirks[2]`).
    pub fn validate(&mut self) -> CoreResult<()> {
        let filled = fill_placeholders(self.base_url.trim()).ok_or_else(|| {
            CoreError::invalid("scim.base_url", "has an unclosed or empty `{placeholder}`")
        })?;
        validate::http_url("scim.base_url", &filled)?;
        self.base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        if validate::http_url("scim.docs", &self.docs)?.scheme() != "https" {
            return Err(CoreError::invalid("scim.docs", "must be an https URL"));
        }
        self.docs = self.docs.trim().to_owned();
        self.token = validate::text("scim.token", &self.token, SCIM_TEXT_MAX)?;
        self.plan = validate::text("scim.plan", &self.plan, SCIM_TEXT_MAX)?;
        if self.quirks.len() > 20 {
            return Err(CoreError::invalid("scim.quirks", "at most 20 quirks"));
        }
        for (i, q) in self.quirks.iter_mut().enumerate() {
            *q = validate::text(&format!("scim.quirks[{i}]"), q, SCIM_TEXT_MAX)?;
        }
        Ok(())
    }
}

/// `url` with each `{name}` (ASCII letters, digits, `_`) replaced by `x`; `None` when a brace is
/// unbalanced or a name is empty or odd.
fn fill_placeholders(url: &str) -> Option<String> {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return None;
        }
        let close = open + rest[open..].find('}')?;
        let name = &rest[open + 1..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        out.push_str(&rest[..open]);
        out.push('x');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
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
    /// A connector that drives it through its own web pages in the browser bot, which a hub may
    /// choose instead of [`App::connector`] (e.g. when the app's API is off).
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
    /// Its SCIM 2.0 endpoint for admins, when it publishes one (required with `connector =
    /// "scim"`).
    #[serde(default)]
    pub scim: Option<ScimInfo>,
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
    /// Whether a hub on this app may run on the connector `name`: `manual` (any app), the app's
    /// own connector, or its browser connector. The one place this is decided.
    pub fn drives(&self, name: &str) -> bool {
        name == crate::manual::MANUAL
            || Some(name) == self.connector.as_deref()
            || Some(name) == self.browser_connector.as_deref()
    }

    /// Checks an entry: non-empty name, at least one valid http(s) login URL, at least one
    /// domain, sane password rules (8..=128 not required, but `1 <= min <= max <= 4096`), and
    /// a valid `scim` table ([`ScimInfo::validate`]), which `connector = "scim"` needs.
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
        match (&mut self.scim, self.connector.as_deref()) {
            (Some(scim), _) => scim.validate()?,
            (None, Some("scim")) => {
                return Err(CoreError::invalid(
                    "scim",
                    "an app driven by the scim connector needs its [app.scim] table",
                ))
            }
            (None, _) => {}
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
    fn scim_apps_have_their_table_from_the_vendors_docs() {
        let apps = parse_catalog(BUILTIN_CATALOG).unwrap();
        // Every app on the SCIM connector has its table (validated), and so may an app on
        // another connector (GitHub's, for Enterprise Cloud's SCIM, kept as documentation).
        let scim: Vec<(&App, &ScimInfo)> = apps
            .iter()
            .filter_map(|a| a.scim.as_ref().map(|t| (a, t)))
            .collect();
        assert!(scim.len() >= 10, "only {} SCIM apps", scim.len());
        for (a, t) in scim {
            assert!(t.docs.starts_with("https://"), "{}", a.id);
            assert!(!t.token.is_empty() && !t.plan.is_empty(), "{}", a.id);
        }
        let figma = apps.iter().find(|a| a.id.as_str() == "figma").unwrap();
        assert_eq!(
            figma.scim.as_ref().unwrap().base_url,
            "https://www.figma.com/scim/v2/{tenant_id}"
        );
    }

    fn scim_app(connector: &str, scim: &str) -> String {
        format!(
            r#"version = 1
[[app]]
id = "x-app"
name = "X"
login_urls = ["https://x.example.com/login"]
domains = ["x.example.com"]
connector = "{connector}"
[app.password_rules]
min_length = 8
max_length = 64
{scim}"#
        )
    }

    #[test]
    fn scim_tables_are_checked() {
        let table = |base: &str, docs: &str| {
            format!(
                "[app.scim]\nbase_url = \"{base}\"\ntoken = \"bearer token\"\nplan = \"Enterprise\"\nquirks = [\"q\"]\ndocs = \"{docs}\"\n"
            )
        };
        let ok = table(
            "https://{sub}.x.example.com/scim/v2/",
            "https://x.example.com/scim",
        );
        let apps = parse_catalog(&scim_app("scim", &ok)).unwrap();
        assert_eq!(
            apps[0].scim.as_ref().unwrap().base_url,
            "https://{sub}.x.example.com/scim/v2"
        );
        // The scim table without the scim connector is allowed (documentation only).
        assert!(parse_catalog(&scim_app("other", &ok)).is_ok());
        let err = |text: String| parse_catalog(&text).unwrap_err().to_string();
        assert!(err(scim_app("scim", "")).contains("[app.scim]"));
        for (base, docs, field) in [
            (
                "https://{sub.x.example.com",
                "https://d.example",
                "scim.base_url",
            ),
            (
                "https://{}.x.example.com",
                "https://d.example",
                "scim.base_url",
            ),
            ("ftp://x.example.com", "https://d.example", "scim.base_url"),
            ("https://x.example.com", "http://d.example", "scim.docs"),
        ] {
            assert!(
                err(scim_app("scim", &table(base, docs))).contains(field),
                "{base} {docs}"
            );
        }
        let unknown = format!("{ok}extra = 1\n");
        assert!(parse_catalog(&scim_app("scim", &unknown)).is_err());
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
