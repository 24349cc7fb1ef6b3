//! OAuth 2.0 for apps that require it, on the `oauth2` crate: the
//! [`castellan_core::connector::oauth2::OAuth2Client`] port of core.
//!
//! - the authorization request (RFC 6749 §4.1.1): `response_type=code`, the client id, the
//!   redirect URI, the scopes, a random `state` (RFC 6749 §10.12) and, where the vendor supports
//!   it, a PKCE challenge with `S256` (RFC 7636 §4.2; `plain` is never sent);
//! - the code exchange (RFC 6749 §4.1.3) with the PKCE verifier (RFC 7636 §4.5), and the refresh
//!   (RFC 6749 §6), authenticating the client with HTTP Basic (RFC 6749 §2.3.1) when it has a
//!   secret, else sending only its `client_id` (a public client);
//! - the token endpoint's errors (RFC 6749 §5.2) as [`ConnectorError`]s: `invalid_grant` (a code
//!   used twice, a revoked or expired refresh token) and `invalid_client` are `BadCredentials`
//!   with the vendor's `error_description`, `invalid_scope` and `unauthorized_client` are
//!   `Configuration`, `temporarily_unavailable` and unreachable endpoints `Unavailable`; an answer
//!   that is no token response is `AppChanged`, without its body (it could hold a token).
//!
//! Requests go through the SDK's own `reqwest` client ([`HttpClient::reqwest`]): no redirects
//! followed, the hub's address policy enforced at DNS resolution and on literal IPs, no proxy.

use async_trait::async_trait;
use castellan_core::connector::oauth2::{
    AuthorizationRequest, OAuth2Client, OAuth2Config, OAuth2Tokens,
};
use castellan_core::connector::ConnectorError as E;
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType as T};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};

use super::http::{BaseUrl, DEFAULT_TIMEOUT};
use super::{AddressPolicy, HttpClient};

type R<T> = Result<T, E>;

/// A client with its authorization and token endpoints set.
type Configured =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The OAuth 2.0 client: requests with the SDK's HTTP client, each within
/// [`DEFAULT_TIMEOUT`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OAuth2Http {
    http: HttpClient,
}

impl Default for OAuth2Http {
    /// Over a new [`HttpClient`] allowing private addresses to hubs whose `allow_private` does
    /// not say `no`.
    fn default() -> Self {
        Self::new(HttpClient::new(AddressPolicy::SELF_HOSTED))
    }
}

impl OAuth2Http {
    /// Over `http`.
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    fn client(cfg: &OAuth2Config, secret: Option<&SecretString>) -> R<Configured> {
        let bad = |what: &str, e: url::ParseError| {
            E::Configuration(format!("the {what} is not a valid URL: {e}"))
        };
        let client = BasicClient::new(ClientId::new(cfg.client_id.clone()))
            .set_auth_uri(
                AuthUrl::new(cfg.authorize_url.clone()).map_err(|e| bad("authorization URL", e))?,
            )
            .set_token_uri(TokenUrl::new(cfg.token_url.clone()).map_err(|e| bad("token URL", e))?);
        Ok(match secret {
            Some(s) => client
                .set_client_secret(ClientSecret::new(s.expose_secret().to_owned()))
                .set_auth_type(AuthType::BasicAuth),
            // A public client sends its client_id in the body (RFC 6749 §3.2.1).
            None => client.set_auth_type(AuthType::RequestBody),
        })
    }

    /// The reqwest client for `cfg`'s token endpoint, after checking a literal IP host against
    /// the hub's address policy (names are checked when they are resolved).
    fn reqwest_for(&self, cfg: &OAuth2Config) -> R<&reqwest::Client> {
        let policy = match cfg.allow_private {
            true => AddressPolicy::SELF_HOSTED,
            false => AddressPolicy::PUBLIC_ONLY,
        };
        let mut origin = url::Url::parse(&cfg.token_url)
            .map_err(|e| E::Configuration(format!("the token URL is not a valid URL: {e}")))?;
        origin.set_query(None);
        origin.set_fragment(None);
        BaseUrl::parse(origin.as_str(), policy)
            .map_err(|e| E::Configuration(e.to_string().replace("base URL", "token URL")))?;
        Ok(self.http.reqwest(cfg.allow_private))
    }
}

/// Tokens from a token response.
fn tokens(t: &impl TokenResponse) -> OAuth2Tokens {
    OAuth2Tokens {
        access_token: SecretString::from(t.access_token().secret().to_owned()),
        refresh_token: t
            .refresh_token()
            .map(|r| SecretString::from(r.secret().to_owned())),
        expires_in: t.expires_in(),
    }
}

/// The vendor's `error_description`, as plain text of at most 300 characters.
fn description(e: &BasicErrorResponse) -> String {
    match e
        .error_description()
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
    {
        Some(d) => {
            let d: String = d.chars().filter(|c| !c.is_control()).take(300).collect();
            format!(": {d}")
        }
        None => String::new(),
    }
}

/// Maps a token request's failure (see the [module](self)); `what` names the request.
fn token_error<HE: std::error::Error>(
    what: &str,
    e: RequestTokenError<HE, BasicErrorResponse>,
) -> E {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let (code, why) = (r.error().as_ref().to_owned(), description(&r));
            match r.error() {
                T::InvalidGrant => E::BadCredentials(format!(
                    "the app refused the OAuth grant at the {what} (invalid_grant){why}; connect with the app again"
                )),
                T::InvalidClient => E::BadCredentials(format!(
                    "the app refused the OAuth client (invalid_client){why}; check the client id and secret"
                )),
                T::InvalidScope | T::UnauthorizedClient | T::UnsupportedGrantType | T::InvalidRequest => {
                    E::Configuration(format!("the app refused the {what} ({code}){why}"))
                }
                T::Extension(x) if x == "temporarily_unavailable" || x == "server_error" => {
                    E::Unavailable(format!("the app's token endpoint answered {code}{why}"))
                }
                T::Extension(_) => E::AppChanged(format!("the app refused the {what} ({}){why}", clip(&code))),
            }
        }
        // The transport error's text names the URL and the failure, never the body.
        RequestTokenError::Request(e) => E::Unavailable(format!(
            "the app's token endpoint could not be reached: {e}"
        )),
        RequestTokenError::Parse(..) => E::AppChanged(format!(
            "the app's answer to the {what} is not an OAuth token response"
        )),
        RequestTokenError::Other(m) => E::AppChanged(format!(
            "the app's answer to the {what} is not an OAuth token response ({})",
            clip(&m)
        )),
    }
}

/// `s` without control characters, at most 64 characters.
fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// Runs a token request within [`DEFAULT_TIMEOUT`].
async fn timed<T>(f: impl std::future::Future<Output = R<T>>) -> R<T> {
    tokio::time::timeout(DEFAULT_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| {
            Err(E::Unavailable(format!(
                "the app's token endpoint did not answer within {} s",
                DEFAULT_TIMEOUT.as_secs()
            )))
        })
}

#[async_trait]
impl OAuth2Client for OAuth2Http {
    fn authorization_request(
        &self,
        cfg: &OAuth2Config,
        redirect_uri: &str,
    ) -> R<AuthorizationRequest> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| E::Configuration(format!("the redirect URI is not a valid URL: {e}")))?;
        let client = Self::client(cfg, None)?.set_redirect_uri(redirect);
        let mut req = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(cfg.scopes.iter().cloned().map(Scope::new));
        let mut verifier = None;
        if cfg.pkce {
            let (challenge, v) = PkceCodeChallenge::new_random_sha256();
            req = req.set_pkce_challenge(challenge);
            verifier = Some(SecretString::from(v.secret().to_owned()));
        }
        let (url, state) = req.url();
        Ok(AuthorizationRequest {
            url: url.to_string(),
            state: SecretString::from(state.secret().to_owned()),
            verifier,
        })
    }

    async fn exchange_code(
        &self,
        cfg: &OAuth2Config,
        client_secret: Option<&SecretString>,
        redirect_uri: &str,
        code: &SecretString,
        verifier: Option<&SecretString>,
    ) -> R<OAuth2Tokens> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| E::Configuration(format!("the redirect URI is not a valid URL: {e}")))?;
        let client = Self::client(cfg, client_secret)?.set_redirect_uri(redirect);
        let http = self.reqwest_for(cfg)?;
        let mut req = client.exchange_code(AuthorizationCode::new(code.expose_secret().to_owned()));
        if let Some(v) = verifier {
            req = req.set_pkce_verifier(PkceCodeVerifier::new(v.expose_secret().to_owned()));
        }
        timed(async {
            req.request_async(http)
                .await
                .map(|t| tokens(&t))
                .map_err(|e| token_error("code exchange", e))
        })
        .await
    }

    async fn refresh(
        &self,
        cfg: &OAuth2Config,
        client_secret: Option<&SecretString>,
        refresh_token: &SecretString,
    ) -> R<OAuth2Tokens> {
        let client = Self::client(cfg, client_secret)?;
        let http = self.reqwest_for(cfg)?;
        let refresh = RefreshToken::new(refresh_token.expose_secret().to_owned());
        timed(async {
            client
                .exchange_refresh_token(&refresh)
                .request_async(http)
                .await
                .map(|t| tokens(&t))
                .map_err(|e| token_error("token refresh", e))
        })
        .await
    }
}
