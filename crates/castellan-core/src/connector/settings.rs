//! The settings schema a connector declares: what a hub on its app needs (base URL,
//! organization id, a password or an API token, extra fields), so the wizard, the API and the
//! CLI ask for exactly that and check it the same way.
//!
//! Where values live: `base_url` and `organization_id` are the hub's own fields; other plain
//! fields are the hub's `settings`; secrets (`api_token`, an OAuth client secret) belong to the
//! automation account and are sealed in its vault like its password.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::validate;

/// The hub's base URL (key of the well-known field).
pub const BASE_URL: &str = "base_url";
/// The organization, workspace or business id in the app.
pub const ORGANIZATION_ID: &str = "organization_id";
/// An API token or application password the automation account signs in with.
pub const API_TOKEN: &str = "api_token";

/// The most requests per second the bot sends to the hub's app (every connector honours it;
/// unset: no limit but the app's own answers, 429 with `Retry-After`).
pub const REQUESTS_PER_SECOND: &str = "requests_per_second";

/// Whether the hub's app may be on a loopback or private address: [`ALLOW_PRIVATE_YES`] for a
/// self-hosted app on the company's own network, [`ALLOW_PRIVATE_NO`] for a SaaS app (public
/// addresses only). Unset: the connector's default (`yes` for the self-hostable connectors).
/// Link-local and cloud metadata addresses are refused either way.
pub const ALLOW_PRIVATE: &str = "allow_private";
/// The setting of browser connectors that says how the bot signs in: [`SIGN_IN_PASSWORD`]
/// (default) or [`SIGN_IN_EMAILED_LINK`] (a link the app emails to the automation account's
/// managed address; the connector sets a new random password with it at every sign-in, so only
/// a placeholder account may sign in so).
pub const SIGN_IN_WITH: &str = "sign_in_with";
/// [`SIGN_IN_WITH`]: the automation account's password (and TOTP).
pub const SIGN_IN_PASSWORD: &str = "password";
/// [`SIGN_IN_WITH`]: a link the app emails to the automation account's managed address.
pub const SIGN_IN_EMAILED_LINK: &str = "emailed_link";

/// Whether a hub's settings (by key) sign in with an emailed link ([`SIGN_IN_WITH`] is
/// [`SIGN_IN_EMAILED_LINK`], any case, around spaces).
pub fn signs_in_with_emailed_link(settings: &BTreeMap<String, String>) -> bool {
    settings
        .get(SIGN_IN_WITH)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(SIGN_IN_EMAILED_LINK))
}
/// [`ALLOW_PRIVATE`]'s value that allows loopback and private addresses.
pub const ALLOW_PRIVATE_YES: &str = "yes";
/// [`ALLOW_PRIVATE`]'s value that allows public addresses only.
pub const ALLOW_PRIVATE_NO: &str = "no";

/// Longest plain setting value, in bytes.
pub const MAX_SETTING_LEN: usize = 2048;

/// What kind of value a setting holds; decides how it is asked for and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "choices")]
pub enum SettingKind {
    /// An `http` or `https` URL.
    Url,
    /// One line of text.
    Text,
    /// A secret (token, client secret): kept in the automation account's vault, never shown.
    Secret,
    /// One of a fixed list.
    Choice(Vec<String>),
    /// A whole number in `min..=max`.
    Number {
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
}

/// How the automation account proves who it is to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignIn {
    /// Username and password (and the account's TOTP, when the app asks).
    Password,
    /// An API token or application password ([`API_TOKEN`]); no password needed.
    ApiToken,
    /// Username with an API token or application password ([`API_TOKEN`]) for the API.
    UsernameAndToken,
    /// An OAuth 2.0 grant the hub's admin gave in the app's consent page (authorization code,
    /// RFC 6749 §4.1): the settings hold [`super::oauth2::fields`], the bot refreshes the access
    /// token and hands it over as the context's `api_token`; no password needed.
    #[serde(rename = "oauth2")]
    OAuth2,
}

/// One setting a connector needs for a hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingField {
    /// Key: [`BASE_URL`], [`ORGANIZATION_ID`], [`API_TOKEN`] or the connector's own
    /// (`[a-z][a-z0-9_]*`).
    pub key: String,
    /// What a person sees (`Base URL`).
    pub label: String,
    /// Its kind.
    #[serde(flatten)]
    pub kind: SettingKind,
    /// Whether a hub needs it.
    pub required: bool,
    /// One sentence of help: where to find the value in the app.
    pub help: String,
    /// The value used when the hub sets none (e.g. a SaaS vendor's fixed OAuth endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl SettingField {
    /// A field with no help text.
    pub fn new(key: &str, label: &str, kind: SettingKind, required: bool) -> Self {
        Self {
            key: key.to_owned(),
            label: label.to_owned(),
            kind,
            required,
            help: String::new(),
            default: None,
        }
    }

    /// The same field with a default value (see [`SettingField::default`]).
    pub fn default_value(mut self, value: &str) -> Self {
        self.default = Some(value.to_owned());
        self
    }

    /// The same field with help text.
    pub fn help(mut self, help: &str) -> Self {
        self.help = help.to_owned();
        self
    }

    /// Checks one value: a URL parses as http(s), a choice is one of the list, text is at
    /// most [`MAX_SETTING_LEN`] bytes with no control characters. Secrets are checked by length
    /// only. Errors: a validation error naming the field.
    pub fn check(&self, value: &str) -> Result<(), CoreError> {
        let field = format!("settings.{}", self.key);
        match &self.kind {
            SettingKind::Url => validate::http_url(&field, value).map(drop),
            SettingKind::Text => validate::text(&field, value, MAX_SETTING_LEN).map(drop),
            SettingKind::Secret => validate::secret(&field, value, MAX_SETTING_LEN),
            SettingKind::Number { min, max } => match value.trim().parse::<u64>() {
                Ok(n) if (*min..=*max).contains(&n) => Ok(()),
                _ => Err(CoreError::invalid(
                    &field,
                    format!("must be a whole number from {min} to {max}"),
                )),
            },
            SettingKind::Choice(choices) => {
                if choices.iter().any(|c| c.eq_ignore_ascii_case(value.trim())) {
                    Ok(())
                } else {
                    Err(CoreError::invalid(
                        &field,
                        format!("must be one of {}", choices.join(", ")),
                    ))
                }
            }
        }
    }
}

/// Checks a hub's values against a schema: every required field is present and not blank,
/// every value passes [`SettingField::check`], and no key is unknown. `values` maps keys to
/// values (secrets included, for the check only). Errors: the first problem found, as a
/// validation error.
pub fn check_settings(
    schema: &[SettingField],
    values: &BTreeMap<String, String>,
) -> Result<(), CoreError> {
    for key in values.keys() {
        if !schema.iter().any(|f| &f.key == key) {
            return Err(CoreError::invalid(
                format!("settings.{key}"),
                "is not a setting of this connector",
            ));
        }
    }
    for f in schema {
        match values.get(&f.key).map(|v| v.trim()) {
            Some("") | None if f.required => {
                return Err(CoreError::invalid(
                    format!("settings.{}", f.key),
                    format!("({}) is required", f.label),
                ))
            }
            // A blank choice is a typo or an unset shell variable, not "the default".
            Some("") if matches!(f.kind, SettingKind::Choice(_)) => f.check("")?,
            Some("") | None => {}
            Some(v) => f.check(v)?,
        }
    }
    Ok(())
}

/// The optional request-rate setting every connector takes ([`REQUESTS_PER_SECOND`]).
pub fn requests_per_second() -> SettingField {
    SettingField::new(
        REQUESTS_PER_SECOND,
        "Requests per second",
        SettingKind::Number { min: 1, max: 1000 },
        false,
    )
    .help("The most requests per second the bot sends to the app (default: no limit of its own; the bot still slows down when the app answers 429)")
}

/// The optional address setting every self-hostable connector takes ([`ALLOW_PRIVATE`]): a
/// choice of `yes` (the default) or `no`.
pub fn allow_private() -> SettingField {
    SettingField::new(
        ALLOW_PRIVATE,
        "Allow private addresses",
        SettingKind::Choice(vec![ALLOW_PRIVATE_YES.into(), ALLOW_PRIVATE_NO.into()]),
        false,
    )
    .help("yes (default): the app may be on a loopback or private address (a self-hosted app); no: public addresses only (a SaaS app). Link-local and cloud metadata addresses are refused either way")
    .default_value(ALLOW_PRIVATE_YES)
}

/// The schema of a self-hostable app: its `base_url` field (with the app's own label and help),
/// the connector's `own` fields, then the request rate ([`requests_per_second`]) and whether its
/// address may be private ([`allow_private`]).
pub fn self_hosted(
    base_url: SettingField,
    own: impl IntoIterator<Item = SettingField>,
) -> Vec<SettingField> {
    let mut all = vec![base_url];
    all.extend(own);
    all.extend([requests_per_second(), allow_private()]);
    all
}

/// The schema of a self-hosted app signed in with a password: its base URL, the request rate
/// and whether its address may be private ([`self_hosted`]).
pub fn self_hosted_password() -> Vec<SettingField> {
    let url = SettingField::new(BASE_URL, "Base URL", SettingKind::Url, true)
        .help("The address people open the app at, e.g. https://chat.example.org");
    self_hosted(url, [])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Vec<SettingField> {
        vec![
            SettingField::new(BASE_URL, "Base URL", SettingKind::Url, true),
            SettingField::new(API_TOKEN, "API token", SettingKind::Secret, true),
            SettingField::new(
                "deactivate_with",
                "Deactivate with",
                SettingKind::Choice(vec!["active_false".into(), "delete".into()]),
                false,
            ),
        ]
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_complete_set_passes() {
        let v = values(&[(BASE_URL, "https://a.example"), (API_TOKEN, "t0k")]);
        check_settings(&schema(), &v).unwrap();
        let v = values(&[
            (BASE_URL, "https://a.example"),
            (API_TOKEN, "t0k"),
            ("deactivate_with", "delete"),
        ]);
        check_settings(&schema(), &v).unwrap();
    }

    #[test]
    fn missing_unknown_and_bad_values_are_refused() {
        let err = |pairs: &[(&str, &str)]| {
            check_settings(&schema(), &values(pairs))
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[(BASE_URL, "https://a.example")]).contains("settings.api_token"));
        assert!(err(&[(BASE_URL, " "), (API_TOKEN, "x")]).contains("settings.base_url"));
        assert!(err(&[(BASE_URL, "ftp://a"), (API_TOKEN, "x")]).contains("settings.base_url"));
        assert!(err(&[
            (BASE_URL, "https://a.example"),
            (API_TOKEN, "x"),
            ("zone", "1")
        ])
        .contains("settings.zone: is not a setting"));
        assert!(err(&[
            (BASE_URL, "https://a.example"),
            (API_TOKEN, "x"),
            ("deactivate_with", "suspend")
        ])
        .contains("one of active_false, delete"));
    }

    #[test]
    fn numbers_are_whole_and_in_range() {
        let f = requests_per_second();
        f.check("5").unwrap();
        f.check(" 1000 ").unwrap();
        for bad in ["0", "1001", "2.5", "-1", "ten"] {
            let e = f.check(bad).unwrap_err().to_string();
            assert!(e.contains("whole number from 1 to 1000"), "{bad}: {e}");
        }
    }

    #[test]
    fn allow_private_is_yes_or_no() {
        let f = allow_private();
        assert!(!f.required);
        f.check("yes").unwrap();
        f.check("no").unwrap();
        f.check(" YES ").unwrap();
        // Blank is refused, not taken for the default.
        let blank = values(&[(ALLOW_PRIVATE, " ")]);
        let e = check_settings(std::slice::from_ref(&f), &blank)
            .unwrap_err()
            .to_string();
        assert!(e.contains("one of yes, no"), "{e}");
        let e = f.check("maybe").unwrap_err().to_string();
        assert!(
            e.contains("settings.allow_private") && e.contains("one of yes, no"),
            "{e}"
        );
        let keys: Vec<String> = self_hosted_password().into_iter().map(|f| f.key).collect();
        assert_eq!(keys, [BASE_URL, REQUESTS_PER_SECOND, ALLOW_PRIVATE]);
    }

    #[test]
    fn the_schema_serializes_with_its_kind_inline() {
        let s = serde_json::to_value(&schema()[2]).unwrap();
        assert_eq!(s["kind"], "choice");
        assert_eq!(s["choices"][1], "delete");
        let s = serde_json::to_value(&schema()[0]).unwrap();
        assert_eq!(s["kind"], "url");
    }
}
