//! OAuth 2.0 for apps that require it (issue 14): what a connector declares, what a hub sets, and
//! the port through which core runs the vendor's authorization-code flow without making HTTP
//! calls itself (core depends on no adapter; `castellan-connectors`' `sdk::oauth2` implements
//! [`OAuth2Client`] over the `oauth2` crate, and the connector registry hands it out).
//!
//! A connector signs in with OAuth 2.0 when its [`super::ConnectorInfo::sign_in`] is
//! [`super::SignIn::OAuth2`] and its settings hold the fields of [`fields`]:
//! - [`OAUTH2_CLIENT_ID`]: the client id the vendor gave when the app was registered (plain);
//! - [`OAUTH2_CLIENT_SECRET`]: its client secret, a secret custom field of the automation account
//!   (sealed like its password); absent for a public client, which then must use PKCE;
//! - [`OAUTH2_AUTHORIZE_URL`], [`OAUTH2_TOKEN_URL`]: the authorization and token endpoints
//!   (RFC 6749 §3.1, §3.2), defaulted by the connector for a SaaS vendor;
//! - [`OAUTH2_SCOPES`]: the scopes asked for, space separated (RFC 6749 §3.3);
//! - [`OAUTH2_PKCE`]: `yes` when the vendor supports PKCE (RFC 7636, `S256` only);
//! - [`OAUTH2_REDIRECT_URI`]: optional, Castellan's callback URL as registered at the vendor
//!   (by default the server's own `/oauth2/callback`).
//!
//! The grant's tokens (access token, its expiry, refresh token) are sealed under the automation
//! account's vault data key, never stored in plaintext. Before each job the bot refreshes an
//! access token that expires within [`REFRESH_MARGIN`] (RFC 6749 §6) and hands the connector the
//! current one as [`super::ConnectorContext::api_token`]. A refresh the vendor refuses with
//! `invalid_grant` (the grant was revoked or expired) is [`ConnectorError::BadCredentials`] with
//! the vendor's `error_description`, which puts the hub in `review_service_account`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use super::settings::{SettingField, SettingKind};
use super::ConnectorError;

/// The client id the vendor issued (RFC 6749 §2.2), a plain hub setting.
pub const OAUTH2_CLIENT_ID: &str = "oauth2_client_id";
/// The client secret (RFC 6749 §2.3.1): a secret custom field of the automation account.
pub const OAUTH2_CLIENT_SECRET: &str = "oauth2_client_secret";
/// The authorization endpoint (RFC 6749 §3.1).
pub const OAUTH2_AUTHORIZE_URL: &str = "oauth2_authorize_url";
/// The token endpoint (RFC 6749 §3.2).
pub const OAUTH2_TOKEN_URL: &str = "oauth2_token_url";
/// The scopes to ask for, space separated (RFC 6749 §3.3).
pub const OAUTH2_SCOPES: &str = "oauth2_scopes";
/// Whether the vendor supports PKCE (RFC 7636): `yes` or `no`.
pub const OAUTH2_PKCE: &str = "oauth2_pkce";
/// Castellan's redirection endpoint as registered at the vendor (RFC 6749 §3.1.2).
pub const OAUTH2_REDIRECT_URI: &str = "oauth2_redirect_uri";

/// How long before its expiry an access token is refreshed before a job: 5 minutes.
pub const REFRESH_MARGIN: chrono::Duration = chrono::Duration::minutes(5);

/// What a connector knows of its vendor's OAuth 2.0 server; the hub's settings may override the
/// endpoints and scopes (a vendor's regional or self-hosted server, a test stand-in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuth2Spec {
    /// The authorization endpoint, if the vendor has one fixed URL.
    pub authorize_url: Option<String>,
    /// The token endpoint, if the vendor has one fixed URL.
    pub token_url: Option<String>,
    /// The scopes the connector needs, space separated (may be empty).
    pub scopes: String,
    /// Whether the vendor supports PKCE with `S256` (RFC 7636 §4.2).
    pub pkce: bool,
}

/// The settings fields of an OAuth 2.0 connector (see the [module](self)), with `spec`'s values
/// as defaults: an endpoint the spec fixes is optional, one it leaves out is required.
pub fn fields(spec: &OAuth2Spec) -> Vec<SettingField> {
    let url = |key: &str, label: &str, default: &Option<String>, help: &str| {
        let f = SettingField::new(key, label, SettingKind::Url, default.is_none()).help(help);
        match default {
            Some(d) => f.default_value(d),
            None => f,
        }
    };
    let yes_no = SettingKind::Choice(vec!["yes".into(), "no".into()]);
    vec![
        SettingField::new(OAUTH2_CLIENT_ID, "OAuth client id", SettingKind::Text, true)
            .help("The client id the app gave when Castellan was registered as an OAuth app"),
        SettingField::new(
            OAUTH2_CLIENT_SECRET,
            "OAuth client secret",
            SettingKind::Secret,
            false,
        )
        .help("The client secret of that registration (none for a public client using PKCE)"),
        url(
            OAUTH2_AUTHORIZE_URL,
            "Authorization URL",
            &spec.authorize_url,
            "The app's OAuth authorization endpoint",
        ),
        url(
            OAUTH2_TOKEN_URL,
            "Token URL",
            &spec.token_url,
            "The app's OAuth token endpoint",
        ),
        SettingField::new(OAUTH2_SCOPES, "Scopes", SettingKind::Text, false)
            .help("The scopes to ask for, separated by spaces")
            .default_value(&spec.scopes),
        SettingField::new(OAUTH2_PKCE, "PKCE", yes_no, false)
            .help("yes when the app supports PKCE (S256)")
            .default_value(if spec.pkce { "yes" } else { "no" }),
        SettingField::new(OAUTH2_REDIRECT_URI, "Redirect URI", SettingKind::Url, false)
            .help("Castellan's callback URL as registered at the app (default: this server's /oauth2/callback)"),
    ]
}

/// Whether a hub's settings are those of an OAuth 2.0 connector (they hold a client id).
pub fn is_oauth2(settings: &BTreeMap<String, String>) -> bool {
    settings
        .get(OAUTH2_CLIENT_ID)
        .is_some_and(|v| !v.trim().is_empty())
}

/// One hub's OAuth 2.0 client: the connector's spec with the hub's settings applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Config {
    /// The client id (RFC 6749 §2.2).
    pub client_id: String,
    /// The authorization endpoint (RFC 6749 §3.1), an http(s) URL.
    pub authorize_url: String,
    /// The token endpoint (RFC 6749 §3.2), an http(s) URL.
    pub token_url: String,
    /// The scopes, each one token (RFC 6749 §3.3).
    pub scopes: Vec<String>,
    /// Whether to send a PKCE `S256` challenge and verifier (RFC 7636).
    pub pkce: bool,
    /// Whether the endpoints may be on loopback or private addresses and over plain `http`
    /// (the hub's `allow_private`; default: its connector's, else no).
    pub allow_private: bool,
}

impl OAuth2Config {
    /// The config of a hub whose connector declares `spec`, from the hub's plain `settings`;
    /// private addresses only where `allow_private` says `yes`.
    ///
    /// Errors: `Configuration` naming the setting when the client id or an endpoint is missing,
    /// or an endpoint is not `https` on a hub that does not allow private addresses.
    pub fn resolve(
        spec: &OAuth2Spec,
        settings: &BTreeMap<String, String>,
    ) -> Result<Self, ConnectorError> {
        Self::resolve_with(spec, settings, false)
    }

    fn resolve_with(
        spec: &OAuth2Spec,
        settings: &BTreeMap<String, String>,
        private_by_default: bool,
    ) -> Result<Self, ConnectorError> {
        let get = |k: &str| {
            settings
                .get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let need = |k: &str, default: &Option<String>| {
            get(k).or_else(|| default.clone()).ok_or_else(|| {
                ConnectorError::Configuration(format!("the hub's `{k}` setting is missing"))
            })
        };
        let scopes = get(OAUTH2_SCOPES).unwrap_or_else(|| spec.scopes.clone());
        let pkce = match get(OAUTH2_PKCE) {
            Some(v) => v.eq_ignore_ascii_case("yes"),
            None => spec.pkce,
        };
        let allow_private = match get(super::settings::ALLOW_PRIVATE) {
            Some(v) => v.eq_ignore_ascii_case(super::settings::ALLOW_PRIVATE_YES),
            None => private_by_default,
        };
        let endpoint = |k: &str, default: &Option<String>| {
            let url = need(k, default)?;
            match allow_private
                || url
                    .get(..8)
                    .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
            {
                true => Ok(url),
                false => Err(ConnectorError::Configuration(format!(
                    "the hub's `{k}` must be an https URL (allow_private = yes lets a server \
                     on the company's own network use http)"
                ))),
            }
        };
        Ok(Self {
            client_id: need(OAUTH2_CLIENT_ID, &None)?,
            authorize_url: endpoint(OAUTH2_AUTHORIZE_URL, &spec.authorize_url)?,
            token_url: endpoint(OAUTH2_TOKEN_URL, &spec.token_url)?,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            pkce,
            allow_private,
        })
    }

    /// The config of a hub from its settings alone, with the defaults its connector's settings
    /// schema declares (see [`fields`]; `allow_private` as the schema's field says, else no).
    ///
    /// Errors: as [`OAuth2Config::resolve`].
    pub fn from_schema(
        schema: &[SettingField],
        settings: &BTreeMap<String, String>,
    ) -> Result<Self, ConnectorError> {
        let default = |k: &str| {
            schema
                .iter()
                .find(|f| f.key == k)
                .and_then(|f| f.default.clone())
        };
        let spec = OAuth2Spec {
            authorize_url: default(OAUTH2_AUTHORIZE_URL),
            token_url: default(OAUTH2_TOKEN_URL),
            scopes: default(OAUTH2_SCOPES).unwrap_or_default(),
            pkce: default(OAUTH2_PKCE).is_some_and(|v| v == "yes"),
        };
        let private = default(super::settings::ALLOW_PRIVATE)
            .is_some_and(|v| v == super::settings::ALLOW_PRIVATE_YES);
        Self::resolve_with(&spec, settings, private)
    }
}

/// An authorization request to send the admin's browser to (RFC 6749 §4.1.1, RFC 7636 §4.3).
#[derive(Debug)]
pub struct AuthorizationRequest {
    /// The authorization endpoint with `response_type=code`, `client_id`, `redirect_uri`,
    /// `scope`, `state` and (with PKCE) `code_challenge` and `code_challenge_method=S256`.
    pub url: String,
    /// The `state` value: unguessable, checked at the callback (RFC 6749 §10.12).
    pub state: SecretString,
    /// The PKCE code verifier (RFC 7636 §4.1), kept server-side for the exchange; `None`
    /// without PKCE.
    pub verifier: Option<SecretString>,
}

/// Tokens from the token endpoint (RFC 6749 §5.1).
#[derive(Debug, Clone)]
pub struct OAuth2Tokens {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, when one was issued (on a refresh: a rotated one, or `None` when the
    /// vendor keeps the old one, RFC 6749 §6).
    pub refresh_token: Option<SecretString>,
    /// The access token's lifetime (`expires_in`), when the vendor gave one.
    pub expires_in: Option<Duration>,
}

/// The vendor's token endpoint and authorization URL, as an adapter reaches them. Errors never
/// carry a token, a code or a secret.
#[async_trait]
pub trait OAuth2Client: Send + Sync + std::fmt::Debug {
    /// A new authorization request for `cfg` redirecting to `redirect_uri`, with a fresh random
    /// `state` and, when `cfg.pkce`, a fresh `S256` challenge.
    ///
    /// Errors: `Configuration` for a malformed endpoint or redirect URI.
    fn authorization_request(
        &self,
        cfg: &OAuth2Config,
        redirect_uri: &str,
    ) -> Result<AuthorizationRequest, ConnectorError>;

    /// Exchanges an authorization `code` for tokens (RFC 6749 §4.1.3), with the PKCE `verifier`
    /// (RFC 7636 §4.5) and the same `redirect_uri` as the request, authenticating the client
    /// with `client_secret` when there is one (HTTP Basic, RFC 6749 §2.3.1).
    ///
    /// Errors: `BadCredentials` with the vendor's `error` and `error_description` when it
    /// refuses the code (`invalid_grant`, `invalid_client`); `Unavailable` when it cannot be
    /// reached; `AppChanged` for an answer that is not a token response.
    async fn exchange_code(
        &self,
        cfg: &OAuth2Config,
        client_secret: Option<&SecretString>,
        redirect_uri: &str,
        code: &SecretString,
        verifier: Option<&SecretString>,
    ) -> Result<OAuth2Tokens, ConnectorError>;

    /// Refreshes the access token (RFC 6749 §6).
    ///
    /// Errors: `BadCredentials` ("the OAuth grant was refused (invalid_grant): <description>")
    /// when the vendor answers `invalid_grant` (revoked or expired grant) or `invalid_client`;
    /// otherwise as [`OAuth2Client::exchange_code`].
    async fn refresh(
        &self,
        cfg: &OAuth2Config,
        client_secret: Option<&SecretString>,
        refresh_token: &SecretString,
    ) -> Result<OAuth2Tokens, ConnectorError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_hub_overrides_the_spec_and_missing_endpoints_are_named() {
        let spec = OAuth2Spec {
            authorize_url: Some("https://v.example/authorize".into()),
            token_url: None,
            scopes: "users:read users:write".into(),
            pkce: true,
        };
        let e = OAuth2Config::resolve(&spec, &settings(&[(OAUTH2_CLIENT_ID, "c")])).unwrap_err();
        assert!(e.to_string().contains("oauth2_token_url"), "{e}");
        let cfg = OAuth2Config::resolve(
            &spec,
            &settings(&[
                (OAUTH2_CLIENT_ID, " c1 "),
                (OAUTH2_TOKEN_URL, "https://v.example/token"),
                (OAUTH2_PKCE, "no"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.client_id, "c1");
        assert_eq!(cfg.authorize_url, "https://v.example/authorize");
        assert_eq!(cfg.scopes, ["users:read", "users:write"]);
        assert!(!cfg.pkce && !cfg.allow_private);
        let e = OAuth2Config::resolve(&spec, &settings(&[])).unwrap_err();
        assert!(e.to_string().contains("oauth2_client_id"), "{e}");
        // Plain http only where the hub allows private addresses.
        let http = |private: &str| {
            OAuth2Config::resolve(
                &spec,
                &settings(&[
                    (OAUTH2_CLIENT_ID, "c1"),
                    (OAUTH2_TOKEN_URL, "http://10.0.0.5/token"),
                    (super::super::settings::ALLOW_PRIVATE, private),
                ]),
            )
        };
        let e = http("no").unwrap_err();
        assert!(
            e.to_string()
                .contains("`oauth2_token_url` must be an https URL"),
            "{e}"
        );
        assert!(http("yes").unwrap().allow_private);
    }

    #[test]
    fn the_schema_carries_the_defaults() {
        let spec = OAuth2Spec {
            authorize_url: Some("https://v.example/a".into()),
            token_url: Some("https://v.example/t".into()),
            scopes: "s".into(),
            pkce: true,
        };
        let schema = fields(&spec);
        let token = schema.iter().find(|f| f.key == OAUTH2_TOKEN_URL).unwrap();
        assert!(!token.required);
        let cfg =
            OAuth2Config::from_schema(&schema, &settings(&[(OAUTH2_CLIENT_ID, "c")])).unwrap();
        assert_eq!(cfg.token_url, "https://v.example/t");
        assert!(cfg.pkce && !cfg.allow_private);
        // A self-hosted connector's schema allows private addresses unless the hub says no.
        let mut schema = schema;
        schema.push(super::super::settings::allow_private());
        let cfg =
            OAuth2Config::from_schema(&schema, &settings(&[(OAUTH2_CLIENT_ID, "c")])).unwrap();
        assert!(cfg.allow_private);
        assert!(is_oauth2(&settings(&[(OAUTH2_CLIENT_ID, "c")])));
        assert!(!is_oauth2(&settings(&[])));
    }
}
