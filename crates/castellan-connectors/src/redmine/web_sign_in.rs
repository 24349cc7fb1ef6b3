//! Redmine's web sign-in (password, then a TOTP code) and its TOTP pairing pages: what the
//! connector does as a browser would, with a cookie jar and the pages' CSRF tokens.

use castellan_core::connector::ConnectorContext;
use castellan_core::connector::ConnectorError;
use castellan_otp::OtpParams;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tracing::{debug, instrument};

use super::html;
use super::rest::{map_error, Call};
use super::twofa::{codes_refused, twofa_code, twofa_session_ended};
use super::{RedmineConnector, NAME};
use crate::sdk::cookies::CookieJar;
use crate::sdk::http::DEFAULT_TIMEOUT;
use crate::sdk::HttpClient;
use crate::sdk::{Endpoint, Reply};

/// What Redmine's TOTP pairing page shows, from [`enable_totp_for`].
///
/// `Debug` is redacted: both fields carry the secret.
pub struct TotpSetup {
    /// The base32 secret (Redmine's "plain text key", without spaces): 160 bits from
    /// `ROTP::Base32.random`, for HMAC-SHA1, 6 digits, 30-second steps (ROTP's defaults).
    pub secret: SecretString,
    /// The `otpauth://totp/<host name>:<login>?secret=…&issuer=<host name>` URI read from the
    /// page's QR code, when it could be decoded.
    pub otpauth_uri: Option<SecretString>,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpSetup")
            .field("secret", &"[REDACTED]")
            .field(
                "otpauth_uri",
                &self.otpauth_uri.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// Starts turning on two-factor authentication (TOTP) for `username` on the Redmine at
/// `base_url`: signs in on the web with the password, starts the pairing and returns the secret
/// the page shows. Give it to Castellan's authenticator, then finish with [`confirm_totp`] and
/// a code computed from it. There is no hurry: Redmine keeps the pending secret on the user
/// until the pairing is confirmed or started again (each start makes a new secret).
///
/// The steps: `GET /login`, `POST /login` (`username`, `password`), `GET /my/account` (for the
/// CSRF token), `POST /my/twofa/totp/activate/init` (Redmine stores a new secret and redirects
/// to the next page), `GET /my/twofa/totp/activate/confirm` (the secret as a QR code of the
/// `otpauth://` URI and as plain text in groups of four).
///
/// Errors: `BadCredentials` (wrong password, locked account), `Conflict` (2FA is already on:
/// Redmine asks for a code at sign-in), `Configuration` (2FA is disabled in Redmine's settings,
/// or the page is not Redmine's), `Unavailable`.
pub async fn enable_totp_for(
    base_url: &str,
    username: &str,
    password: &str,
) -> Result<TotpSetup, ConnectorError> {
    RedmineConnector::new()
        .enable_totp(&web_ctx(base_url, username, password))
        .await
}

/// Finishes turning on two-factor authentication started by [`enable_totp_for`]: signs in on
/// the web again and sends `code` (the current TOTP code of the secret it returned) to
/// Redmine's pairing form. After this, Redmine asks for a code at every web sign-in, and it
/// has used up the code's time step: a sign-in right after waits for the next step (the
/// connector's login does so by itself).
///
/// The steps: `GET /login`, `POST /login`, `GET /my/twofa/totp/activate/confirm` (the form and
/// its CSRF token), `POST /my/twofa/totp/activate` (`twofa_code`): a redirect to `/my/account`
/// means paired, a redirect back to the confirm page means the code was refused.
///
/// Errors: `BadCredentials` (wrong password, or Redmine refused the code), `Conflict` (2FA is
/// already on), `Configuration`, `Unavailable`.
pub async fn confirm_totp(
    base_url: &str,
    username: &str,
    password: &str,
    code: &str,
) -> Result<(), ConnectorError> {
    RedmineConnector::new()
        .confirm_totp(&web_ctx(base_url, username, password), code)
        .await
}

fn web_ctx(base_url: &str, username: &str, password: &str) -> ConnectorContext {
    let mut ctx =
        ConnectorContext::new(base_url, username, SecretString::from(password.to_owned()));
    ctx.timeout = DEFAULT_TIMEOUT;
    ctx
}

impl RedmineConnector {
    #[instrument(skip_all, fields(connector = NAME, username = %ctx.username))]
    pub async fn enable_totp(&self, ctx: &ConnectorContext) -> Result<TotpSetup, ConnectorError> {
        let mut web = web(self.http(), ctx)?;
        self.web_login_for_pairing(&mut web, ctx).await?;
        let token = web.csrf_token_from("/my/account").await?;
        let r = web
            .post(
                "/my/twofa/totp/activate/init",
                &[("authenticity_token", token.as_str())],
            )
            .await?;
        if r.status == StatusCode::FORBIDDEN {
            return Err(twofa_disabled());
        }
        if !r.redirects_to("/my/twofa/totp/activate/confirm") {
            return Err(unexpected_page(&r, "start the TOTP pairing"));
        }
        let page = web.get("/my/twofa/totp/activate/confirm").await?;
        if !page.status.is_success() {
            return Err(unexpected_page(&page, "show the TOTP pairing page"));
        }
        let shown = html::totp_key(&page.text).ok_or_else(|| {
            ConnectorError::Unavailable(
                "Redmine's TOTP pairing page shows no plain text key".into(),
            )
        })?;
        let uri = html::qr_png(&page.text)
            .and_then(|png| castellan_otp::decode_qr_image(&png).ok())
            .filter(|u| u.starts_with("otpauth://"));
        // Redmine prints the key in groups of four and drops a last group shorter than four
        // (`scan(/.{4}/)`), so the QR code's URI is the complete source when it reads.
        let secret = match uri.as_deref().and_then(uri_secret) {
            Some(full) if full.starts_with(&shown) => full,
            Some(_) => {
                return Err(ConnectorError::Unavailable(
                    "Redmine's TOTP pairing page shows two different secrets".into(),
                ))
            }
            None => shown,
        };
        debug!(qr = uri.is_some(), "Redmine showed a TOTP secret to pair");
        Ok(TotpSetup {
            secret: SecretString::from(secret),
            otpauth_uri: uri.map(SecretString::from),
        })
    }

    /// Finishes Redmine's TOTP pairing with `code`; see [`confirm_totp`].
    #[instrument(skip_all, fields(connector = NAME, username = %ctx.username))]
    pub async fn confirm_totp(
        &self,
        ctx: &ConnectorContext,
        code: &str,
    ) -> Result<(), ConnectorError> {
        let mut web = web(self.http(), ctx)?;
        self.web_login_for_pairing(&mut web, ctx).await?;
        let page = web.get("/my/twofa/totp/activate/confirm").await?;
        if page.status == StatusCode::FORBIDDEN {
            return Err(twofa_disabled());
        }
        if !page.status.is_success() {
            return Err(unexpected_page(&page, "show the TOTP pairing page"));
        }
        let token = html::csrf_token(&page.text)
            .ok_or_else(|| unexpected_page(&page, "show the TOTP pairing page"))?;
        let r = web
            .post(
                "/my/twofa/totp/activate",
                &[
                    ("authenticity_token", token.as_str()),
                    ("twofa_code", code.trim()),
                ],
            )
            .await?;
        if r.redirects_to("/my/account") {
            debug!("Redmine paired the TOTP authenticator");
            Ok(())
        } else if r.redirects_to("/my/twofa/totp/activate/confirm") {
            Err(ConnectorError::BadCredentials(
                "Redmine refused the TOTP code for the pairing".into(),
            ))
        } else {
            Err(unexpected_page(&r, "confirm the TOTP pairing"))
        }
    }

    /// The password step, for the pairing helpers: an account that already has 2FA is a
    /// conflict there.
    pub(super) async fn web_login_for_pairing(
        &self,
        web: &mut Web<'_>,
        ctx: &ConnectorContext,
    ) -> Result<(), ConnectorError> {
        match password_step(web, ctx).await? {
            AfterPassword::SignedIn => Ok(()),
            AfterPassword::SecondFactor => Err(ConnectorError::Conflict(
                "two-factor authentication is already on for this Redmine account".into(),
            )),
        }
    }
}

// ---- web login ---------------------------------------------------------------------------------

/// Where the password step leads.
pub(super) enum AfterPassword {
    /// Signed in.
    SignedIn,
    /// Redmine asks for the second factor.
    SecondFactor,
}

/// `GET /login`, then `POST /login` with the username and password.
pub(super) async fn password_step(
    web: &mut Web<'_>,
    ctx: &ConnectorContext,
) -> Result<AfterPassword, ConnectorError> {
    let user = ctx.username.trim();
    if user.is_empty() {
        return Err(ConnectorError::Configuration(
            "the automation account has no username".into(),
        ));
    }
    let page = web.get("/login").await?;
    if !page.status.is_success() {
        return Err(map_error(&page, Call::Web, "show the login page"));
    }
    let token = html::csrf_token(&page.text)
        .filter(|_| html::has_field(&page.text, "password"))
        .ok_or_else(|| {
            ConnectorError::Configuration(format!(
                "{}/login is not a Redmine login page",
                web.ep.base()
            ))
        })?;
    let r = web
        .post(
            "/login",
            &[
                ("authenticity_token", token.as_str()),
                ("username", user),
                ("password", ctx.password.expose_secret()),
                ("login", "Login"),
            ],
        )
        .await?;
    if r.status == StatusCode::OK {
        // The login page again, with the reason in its flash message.
        return Err(ConnectorError::BadCredentials(
            match html::flash_error(&r.text) {
                Some(m) => format!("Redmine refused the login: {m}"),
                None => "Redmine refused the username or password".into(),
            },
        ));
    }
    if !r.status.is_redirection() {
        return Err(map_error(&r, Call::Web, "log in"));
    }
    if r.redirects_to("/account/twofa/confirm") {
        return Ok(AfterPassword::SecondFactor);
    }
    if r.redirects_to("/login") {
        // A locked or not yet activated account: the reason is on the login page.
        let page = web.get("/login").await?;
        return Err(ConnectorError::BadCredentials(
            match html::flash_error(&page.text) {
                Some(m) => format!("Redmine refused the login: {m}"),
                None => "Redmine refused the login (locked or not activated account)".into(),
            },
        ));
    }
    Ok(AfterPassword::SignedIn)
}

/// The second factor: a code from Castellan's authenticator, and once more with the next time
/// step's code when Redmine refuses the first (it refuses a step it has already accepted).
pub(super) async fn totp_step(web: &mut Web<'_>, params: &OtpParams) -> Result<(), ConnectorError> {
    let mut refused = None;
    for attempt in 0..2 {
        let page = web.get("/account/twofa/confirm").await?;
        if page.status.is_redirection() {
            return Err(twofa_session_ended());
        }
        if !page.status.is_success() {
            return Err(map_error(&page, Call::Web, "show the two-factor page"));
        }
        let token = html::csrf_token(&page.text)
            .filter(|_| html::has_field(&page.text, "twofa_code"))
            .ok_or_else(|| unexpected_page(&page, "show the two-factor page"))?;
        let (code, step) = twofa_code(params, refused).await;
        let r = web
            .post(
                "/account/twofa",
                &[
                    ("authenticity_token", token.as_str()),
                    ("twofa_code", code.as_str()),
                    ("submit_otp", "Login"),
                ],
            )
            .await?;
        if !r.status.is_redirection() {
            return Err(map_error(&r, Call::Web, "send the two-factor code"));
        }
        if r.redirects_to("/account/twofa/confirm") {
            debug!(attempt, "Redmine refused the TOTP code");
            refused = Some(step);
            continue;
        }
        // Redmine allows three codes per password entry and this sends two at most, so a
        // redirect home means the two-factor session is gone, not that the tries ran out.
        if r.location_path().as_deref() == Some(web.base_path().as_str())
            || r.redirects_to("/login")
        {
            return Err(twofa_session_ended());
        }
        return Ok(());
    }
    Err(codes_refused())
}

fn twofa_disabled() -> ConnectorError {
    ConnectorError::Configuration(
        "two-factor authentication is disabled in Redmine (Administration → Settings → \
         Authentication)"
            .into(),
    )
}

pub(super) fn unexpected_page(r: &Reply, what: &str) -> ConnectorError {
    match r.location_path() {
        Some(path) if r.status.is_redirection() => ConnectorError::Unavailable(format!(
            "Redmine answered '{what}' with a redirect to {path}"
        )),
        _ if !r.status.is_success() => map_error(r, Call::Web, what),
        _ => ConnectorError::Unavailable(format!(
            "Redmine answered '{what}' with an unexpected page"
        )),
    }
}

/// The `secret` parameter of an `otpauth://` URI, uppercased.
pub(super) fn uri_secret(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    let secret = url
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.trim().to_ascii_uppercase())?;
    (!secret.is_empty()).then_some(secret)
}

/// A browser's view of Redmine at the hub's base URL, with no cookie yet.
pub(super) fn web<'a>(
    http: &'a HttpClient,
    ctx: &ConnectorContext,
) -> Result<Web<'a>, ConnectorError> {
    Ok(Web {
        ep: http.endpoint_for(ctx)?,
        cookies: CookieJar::default(),
    })
}

/// A browser's view of Redmine: the cookies it set, no redirects followed.
pub(super) struct Web<'a> {
    pub(super) ep: Endpoint<'a>,
    pub(super) cookies: CookieJar,
}

impl Web<'_> {
    pub(super) async fn get(&mut self, path: &str) -> Result<Reply, ConnectorError> {
        let r = self
            .ep
            .get(path)
            .html()
            .cookies(&self.cookies)
            .send()
            .await?;
        self.cookies.store_all(&r.set_cookies);
        Ok(r)
    }

    pub(super) async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Reply, ConnectorError> {
        let mut fields = vec![("utf8", "✓")];
        fields.extend_from_slice(form);
        let r = self
            .ep
            .request(Method::POST, path)
            .html()
            .cookies(&self.cookies)
            .form(&fields)
            .send()
            .await?;
        self.cookies.store_all(&r.set_cookies);
        Ok(r)
    }

    /// The CSRF token of the page at `path`.
    async fn csrf_token_from(&mut self, path: &str) -> Result<String, ConnectorError> {
        let page = self.get(path).await?;
        if !page.status.is_success() {
            return Err(unexpected_page(&page, "show a page"));
        }
        html::csrf_token(&page.text).ok_or_else(|| unexpected_page(&page, "show a page"))
    }

    /// The base URL's path with a trailing slash (Redmine's home page).
    fn base_path(&self) -> String {
        format!("{}/", self.ep.base().path())
    }
}
