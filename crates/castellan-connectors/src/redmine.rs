//! Redmine, signed in through its web login (password, then a TOTP code from Castellan's
//! authenticator when the account has two-factor authentication), then driven through its REST
//! API with the account's own API key.
//!
//! App roles are Redmine's administrator flag: `admin` and `user`. Project memberships with
//! project roles (Manager, Developer, Reporter…) are not managed yet; they would come through
//! the Memberships API. Removal locks the user (status 3), which keeps the user's issues,
//! comments and history: Redmine could delete users (`DELETE /users/{id}.json`), but the
//! connector never does. States: status 1 (active) → `active`, 2 (registered, not yet
//! activated) → `invited`, 3 (locked) → `deactivated`.
//!
//! How a session is made ([`RedmineConnector::login`]):
//! 1. `GET /login` gives the session cookie and the form's `authenticity_token` (Rails CSRF).
//! 2. `POST /login` with `username`, `password`: a wrong password renders the login page again
//!    with an error (HTTP 200); success redirects to `/my/page`; when the account has 2FA on,
//!    Redmine redirects to `/account/twofa/confirm` (`AccountController#password_authentication`
//!    in Redmine 5.0).
//! 3. Second factor: `GET /account/twofa/confirm`, then `POST /account/twofa` with
//!    `twofa_code`. The code comes from [`castellan_otp::code_at`] at that moment. Redmine
//!    remembers the last time step it accepted (`twofa_totp_last_used_at`) and refuses a code of
//!    that step or an earlier one, so a refused code is tried once more with the next step's
//!    code. Redmine allows three codes per password entry. It keeps one pending two-factor
//!    sign-in per user: two concurrent sign-ins of the same account end each other's
//!    (`Unavailable`, retryable), so the bot should not sign in twice at once with one account.
//! 4. `GET /my/api_key` shows the account's API key (Redmine creates it if there is none). The
//!    REST API does not accept the web session (`ApplicationController#find_current_user`
//!    ignores the session for `.json` requests, and refuses HTTP Basic with a password once 2FA
//!    is on), so every later call sends the key in `X-Redmine-API-Key`.
//!
//! The [`AppSession`]'s token holds the API key and the web session's cookies (never logged); its
//! data holds the account's user id, login and administrator flag.
//!
//! Turning 2FA on with Castellan as the authenticator ([`enable_totp_for`], then
//! [`confirm_totp`]) follows Redmine's own pairing pages: `POST /my/twofa/totp/activate/init`
//! (a new secret is stored on the user), `GET /my/twofa/totp/activate/confirm` (the page shows
//! the secret as a QR code and as plain text), `POST /my/twofa/totp/activate` with `twofa_code`.
//!
//! APIs and pages used:
//! - REST API (authentication by API key, paging with `offset`/`limit` ≤ 100, `total_count`):
//!   <https://www.redmine.org/projects/redmine/wiki/Rest_api>
//! - Users API (list with `status` (1 active, 2 registered, 3 locked; empty for all) and `name`
//!   filters, show, create with `generate_password`, update `admin` and `status`):
//!   <https://www.redmine.org/projects/redmine/wiki/Rest_Users>
//! - Two-factor authentication (TOTP, Redmine 4.2+, the administration setting
//!   "Two-factor authentication": disabled, optional, required, required for administrators):
//!   <https://www.redmine.org/projects/redmine/wiki/RedmineAccounts> and
//!   <https://www.redmine.org/projects/redmine/wiki/RedmineSettings#Two-factor-authentication>
//! - API access key on the "My account" page: <https://www.redmine.org/projects/redmine/wiki/RedmineAccounts#My-account>

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo, Invitation,
    MemberPage, MemberState,
};
use castellan_otp::{Kind, OtpParams};
use regex::Regex;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tracing::{debug, instrument};

/// The connector's name in the catalog.
pub const NAME: &str = "redmine";

const ROLE_ADMIN: &str = "admin";
const ROLE_USER: &str = "user";
/// Users per page: the REST API's maximum `limit`.
const PAGE_SIZE: usize = 100;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Redmine's user statuses (`User::STATUS_*`), listed in this order.
const STATUS_ACTIVE: u8 = 1;
const STATUS_REGISTERED: u8 = 2;
const STATUS_LOCKED: u8 = 3;
const STATUSES: [u8; 3] = [STATUS_ACTIVE, STATUS_REGISTERED, STATUS_LOCKED];
/// Redmine's limits (`app/models/user.rb`).
const LOGIN_MAX: usize = 60;
const NAME_MAX: usize = 30;
/// Slack after a TOTP time step starts before its code is sent, for clock differences.
const STEP_MARGIN: Duration = Duration::from_secs(1);

const NO_SECOND_FACTOR: &str =
    "Redmine asks for a second factor and the account has no 2FA managed by Castellan";

/// The Redmine connector. Cheap to clone; share one per process (it pools connections).
#[derive(Debug, Clone)]
pub struct RedmineConnector {
    http: reqwest::Client,
}

impl Default for RedmineConnector {
    fn default() -> Self {
        Self::new()
    }
}

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
    ConnectorContext {
        base_url: base_url.to_owned(),
        organization_id: None,
        username: username.to_owned(),
        password: SecretString::from(password.to_owned()),
        totp: None,
        codes: None,
        timeout: DEFAULT_TIMEOUT,
    }
}

impl RedmineConnector {
    /// A connector with its own HTTP client (no redirects followed: the login reads them, and
    /// the API key never leaves the configured base URL).
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("castellan/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        Self { http }
    }

    /// A connector over a given HTTP client (it must not follow redirects).
    pub fn with_client(http: reqwest::Client) -> Self {
        Self { http }
    }

    /// Starts Redmine's TOTP pairing for the context's account; see [`enable_totp_for`].
    #[instrument(skip_all, fields(connector = NAME, username = %ctx.username))]
    pub async fn enable_totp(&self, ctx: &ConnectorContext) -> Result<TotpSetup, ConnectorError> {
        let mut web = self.web(ctx)?;
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
        let mut web = self.web(ctx)?;
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

    fn web(&self, ctx: &ConnectorContext) -> Result<Web<'_>, ConnectorError> {
        Ok(Web {
            http: &self.http,
            base: base_url(&ctx.base_url)?,
            timeout: timeout(ctx),
            cookies: BTreeMap::new(),
        })
    }

    fn api<'a>(
        &'a self,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> Result<Api<'a>, ConnectorError> {
        Ok(Api {
            http: &self.http,
            base: base_url(&ctx.base_url)?,
            key: SessionToken::parse(s)?.api_key,
            timeout: timeout(ctx),
        })
    }

    /// The password step, for the pairing helpers: an account that already has 2FA is a
    /// conflict there.
    async fn web_login_for_pairing(
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

    /// A user by numeric id (`None` when Redmine does not know it), with its status.
    async fn user(&self, api: &Api<'_>, id: u64) -> Result<Option<RedmineUser>, ConnectorError> {
        let r = api
            .send(Method::GET, &format!("/users/{id}.json"), &[], None)
            .await?;
        if r.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = r.json(Call::Api, "read a user")?;
        RedmineUser::from_json(body.get("user").unwrap_or(&Value::Null), None)
            .map(Some)
            .ok_or_else(|| unexpected("read a user"))
    }

    /// Users whose login, name or email contains `q` (any status), as listed (no status).
    async fn search(&self, api: &Api<'_>, q: &str) -> Result<Vec<Value>, ConnectorError> {
        let mut found = Vec::new();
        let mut offset = 0;
        loop {
            let body = api
                .send(
                    Method::GET,
                    "/users.json",
                    &[
                        ("status", String::new()),
                        ("name", q.to_owned()),
                        ("limit", PAGE_SIZE.to_string()),
                        ("offset", offset.to_string()),
                    ],
                    None,
                )
                .await?
                .json(Call::Api, "search users")?;
            let rows = body
                .get("users")
                .and_then(Value::as_array)
                .ok_or_else(|| unexpected("search users"))?;
            offset += rows.len();
            found.extend(rows.iter().cloned());
            let total = body.get("total_count").and_then(Value::as_u64).unwrap_or(0);
            if rows.is_empty() || offset as u64 >= total {
                return Ok(found);
            }
        }
    }

    async fn user_by_email(
        &self,
        api: &Api<'_>,
        email: &str,
    ) -> Result<Option<RedmineUser>, ConnectorError> {
        let email = email.trim().to_lowercase();
        if email.is_empty() {
            return Ok(None);
        }
        let rows = self.search(api, &email).await?;
        let hit = rows.iter().find(|u| {
            u.get("mail")
                .and_then(Value::as_str)
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(&email))
        });
        match hit.and_then(|u| u.get("id")).and_then(Value::as_u64) {
            Some(id) => self.user(api, id).await,
            None => Ok(None),
        }
    }

    async fn user_by_login(
        &self,
        api: &Api<'_>,
        login: &str,
    ) -> Result<Option<RedmineUser>, ConnectorError> {
        let login = login.trim();
        if login.is_empty() {
            return Ok(None);
        }
        let rows = self.search(api, login).await?;
        let hit = rows.iter().find(|u| {
            u.get("login")
                .and_then(Value::as_str)
                .is_some_and(|l| l.eq_ignore_ascii_case(login))
        });
        match hit.and_then(|u| u.get("id")).and_then(Value::as_u64) {
            Some(id) => self.user(api, id).await,
            None => Ok(None),
        }
    }

    /// A member by app id: Redmine's numeric user id, or a login.
    async fn resolve(
        &self,
        api: &Api<'_>,
        id: &str,
    ) -> Result<Option<RedmineUser>, ConnectorError> {
        match id.trim().parse::<u64>() {
            Ok(n) => self.user(api, n).await,
            Err(_) => self.user_by_login(api, id).await,
        }
    }

    async fn resolve_existing(
        &self,
        api: &Api<'_>,
        id: &str,
    ) -> Result<RedmineUser, ConnectorError> {
        self.resolve(api, id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no Redmine user {id}")))
    }

    /// `PUT /users/{id}.json` with `fields`, then the user as Redmine now has it.
    async fn update_user(
        &self,
        api: &Api<'_>,
        id: u64,
        fields: Value,
        what: &str,
    ) -> Result<RedmineUser, ConnectorError> {
        api.send(
            Method::PUT,
            &format!("/users/{id}.json"),
            &[],
            Some(&json!({ "user": fields })),
        )
        .await?
        .ok(Call::Api, what)?;
        self.user(api, id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no Redmine user {id}")))
    }
}

#[async_trait]
impl Connector for RedmineConnector {
    fn describe(&self) -> ConnectorInfo {
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: vec![ROLE_ADMIN.to_owned(), ROLE_USER.to_owned()],
            capabilities: vec![
                Capability::ListMembers,
                Capability::Invite,
                Capability::UpdateRole,
                Capability::Remove,
                Capability::KeepSeat,
            ],
            default_role: ROLE_USER.to_owned(),
        }
    }

    #[instrument(skip_all, fields(connector = NAME, username = %ctx.username))]
    async fn login(&self, ctx: &ConnectorContext) -> Result<AppSession, ConnectorError> {
        if let Some(p) = &ctx.totp {
            if p.kind != Kind::Totp {
                return Err(ConnectorError::Configuration(
                    "Redmine's second factor is TOTP, but the account's authenticator is not"
                        .into(),
                ));
            }
        }
        let mut web = self.web(ctx)?;
        let second_factor = match password_step(&mut web, ctx).await? {
            AfterPassword::SignedIn => false,
            AfterPassword::SecondFactor => {
                let params = ctx
                    .totp
                    .as_ref()
                    .ok_or_else(|| ConnectorError::BadCredentials(NO_SECOND_FACTOR.into()))?;
                totp_step(&mut web, params).await?;
                true
            }
        };

        let page = web.get("/my/api_key").await?;
        let api_key = match (page.status, page.location_path()) {
            (StatusCode::OK, _) => html::api_key(&page.text).ok_or_else(|| {
                if html::has_field(&page.text, "sudo_password") {
                    ConnectorError::Configuration(
                        "Redmine asks for the password again (sudo mode) to show the API key"
                            .into(),
                    )
                } else {
                    unexpected_page(&page, "show the API key")
                }
            })?,
            (s, Some(path)) if s.is_redirection() => {
                return Err(if path.ends_with("/my/password") {
                    ConnectorError::BadCredentials(
                        "Redmine requires a new password for the account".into(),
                    )
                } else if path.contains("/my/twofa/") {
                    ConnectorError::BadCredentials(
                        "Redmine requires two-factor authentication for the account and it is \
                         not on: turn it on with Castellan as the authenticator"
                            .into(),
                    )
                } else if path.ends_with("/login") {
                    ConnectorError::BadCredentials("Redmine ended the web session".into())
                } else {
                    unexpected_page(&page, "show the API key")
                });
            }
            _ => return Err(map_error(&page, Call::Web, "show the API key")),
        };

        // The key just read must open the REST API; a 401 here means the API is disabled.
        let key = SecretString::from(api_key);
        let api = Api {
            http: &self.http,
            base: web.base.clone(),
            key: key.clone(),
            timeout: web.timeout,
        };
        let r = api
            .send(Method::GET, "/users/current.json", &[], None)
            .await?;
        if r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::FORBIDDEN {
            return Err(ConnectorError::Configuration(
                "Redmine's REST API is disabled: enable it in Administration → Settings → API"
                    .into(),
            ));
        }
        let me = r.json(Call::Api, "read the signed-in user")?;
        let me = me.get("user").unwrap_or(&Value::Null);
        let (Some(id), Some(login)) = (
            me.get("id").and_then(Value::as_u64),
            me.get("login").and_then(Value::as_str),
        ) else {
            return Err(unexpected("read the signed-in user"));
        };
        debug!(user_id = id, second_factor, "signed in to Redmine");
        Ok(AppSession {
            token: SessionToken {
                api_key: key,
                cookie: web.cookie_header(),
            }
            .encode(),
            data: json!({
                "user_id": id,
                "login": login,
                "admin": me.get("admin").and_then(Value::as_bool).unwrap_or(false),
                "second_factor": if second_factor { "totp" } else { "none" },
            }),
        })
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn verify_permissions(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> Result<(), ConnectorError> {
        let api = self.api(ctx, s)?;
        api.send(
            Method::GET,
            "/users.json",
            &[("status", String::new()), ("limit", "1".into())],
            None,
        )
        .await?
        .json(Call::Api, "list users")
        .map(drop)
    }

    #[instrument(skip_all, fields(connector = NAME, cursor = cursor.as_deref().unwrap_or("")))]
    async fn list_members(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        cursor: Option<String>,
    ) -> Result<MemberPage, ConnectorError> {
        let api = self.api(ctx, s)?;
        let mut cursor = match cursor {
            Some(c) => Cursor::parse(&c)?,
            None => Cursor::start(STATUS_ACTIVE),
        };
        // Status by status (the list does not report a user's status); an empty status moves
        // on to the next one within the same call.
        loop {
            let (members, next) = self.list_page(&api, &cursor).await?;
            if !members.is_empty() {
                debug!(
                    count = members.len(),
                    status = cursor.status,
                    "listed a page of Redmine users"
                );
                return Ok(MemberPage {
                    members,
                    next: next.map(|c| c.encode()),
                });
            }
            match next {
                Some(n) => cursor = n,
                None => {
                    return Ok(MemberPage {
                        members,
                        next: None,
                    })
                }
            }
        }
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id))]
    async fn get_member(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        let api = self.api(ctx, s)?;
        Ok(self.resolve(&api, app_member_id).await?.map(|u| u.member))
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn find_by_email(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        email: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        let api = self.api(ctx, s)?;
        Ok(self.user_by_email(&api, email).await?.map(|u| u.member))
    }

    #[instrument(skip_all, fields(connector = NAME, role = %inv.role))]
    async fn invite(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        inv: &Invitation,
    ) -> Result<AppMember, ConnectorError> {
        let admin = role_is_admin(&inv.role)?;
        let email = normalize_email(&inv.email)?;
        let api = self.api(ctx, s)?;

        // Whoever already holds the address is the invitee: invite is idempotent by email.
        if let Some(existing) = self.user_by_email(&api, &email).await? {
            if existing.status != STATUS_LOCKED {
                debug!(member = %existing.member.app_member_id, "already a user with this email");
                return Ok(existing.member);
            }
            let u = self
                .update_user(
                    &api,
                    existing.id,
                    json!({ "status": STATUS_ACTIVE, "admin": admin }),
                    "unlock a user",
                )
                .await?;
            debug!(member = %u.member.app_member_id, "unlocked a Redmine user");
            return Ok(u.member);
        }

        let login = match inv.username.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => derive_login(u)?,
            _ => derive_login(email_local_part(&email))?,
        };
        let (firstname, lastname) = split_name(inv.name.as_deref(), &email);
        let body = json!({
            "user": {
                "login": login,
                "firstname": firstname,
                "lastname": lastname,
                "mail": email,
                "generate_password": true,
                "admin": admin,
            },
            // Redmine mails the new user their login and the generated password.
            "send_information": true,
        });
        let created = api
            .send(Method::POST, "/users.json", &[], Some(&body))
            .await?
            .json(Call::Api, "create a user")?;
        let u = RedmineUser::from_json(created.get("user").unwrap_or(&Value::Null), None)
            .ok_or_else(|| unexpected("create a user"))?;
        debug!(member = %u.member.app_member_id, "created a Redmine user");
        Ok(u.member)
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id, role = %role))]
    async fn update_role(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
        role: &str,
    ) -> Result<AppMember, ConnectorError> {
        let admin = role_is_admin(role)?;
        let api = self.api(ctx, s)?;
        let current = self.resolve_existing(&api, app_member_id).await?;
        if current.admin == admin {
            return Ok(current.member);
        }
        if !admin && session_user(s) == Some(current.id) {
            return Err(ConnectorError::Conflict(
                "the automation account cannot take away its own administrator flag".into(),
            ));
        }
        let u = self
            .update_user(
                &api,
                current.id,
                json!({ "admin": admin }),
                "set the administrator flag",
            )
            .await?;
        Ok(u.member)
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id))]
    async fn remove(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
    ) -> Result<(), ConnectorError> {
        let api = self.api(ctx, s)?;
        let current = self.resolve_existing(&api, app_member_id).await?;
        if session_user(s) == Some(current.id) {
            return Err(ConnectorError::Conflict(
                "the automation account cannot lock itself".into(),
            ));
        }
        if current.status == STATUS_LOCKED {
            return Ok(());
        }
        self.update_user(
            &api,
            current.id,
            json!({ "status": STATUS_LOCKED }),
            "lock a user",
        )
        .await?;
        debug!(member = current.id, "locked a Redmine user");
        Ok(())
    }
}

impl RedmineConnector {
    /// One request of the listing at `cursor`: the page's members and the next cursor.
    async fn list_page(
        &self,
        api: &Api<'_>,
        cursor: &Cursor,
    ) -> Result<(Vec<AppMember>, Option<Cursor>), ConnectorError> {
        // With an anchor, re-read the previous page's last user too (it shows whether users
        // were added or removed before the cursor meanwhile).
        let start = if cursor.anchor.is_some() {
            cursor.offset.saturating_sub(1)
        } else {
            cursor.offset
        };
        let body = api
            .send(
                Method::GET,
                "/users.json",
                &[
                    ("status", cursor.status.to_string()),
                    ("sort", "login".into()),
                    ("limit", PAGE_SIZE.to_string()),
                    ("offset", start.to_string()),
                ],
                None,
            )
            .await?
            .json(Call::Api, "list users")?;
        let rows = body
            .get("users")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected("list users"))?;
        let total = body
            .get("total_count")
            .and_then(Value::as_u64)
            .ok_or_else(|| unexpected("list users"))? as usize;
        let users = rows
            .iter()
            .map(|r| RedmineUser::from_json(r, Some(cursor.status)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected("list users"))?;
        let skip = match &cursor.anchor {
            None => 0,
            Some(anchor) => match users.iter().position(|u| &u.login == anchor) {
                Some(i) => i + 1,
                // The anchor moved more than a page (or is gone): trust the offset.
                None => 1.min(users.len()),
            },
        };
        let end = start + users.len();
        let next = if !users.is_empty() && end < total {
            Some(Cursor {
                status: cursor.status,
                offset: end,
                anchor: users.last().map(|u| u.login.clone()),
            })
        } else {
            STATUSES
                .iter()
                .skip_while(|s| **s != cursor.status)
                .nth(1)
                .map(|s| Cursor::start(*s))
        };
        let members = users.into_iter().skip(skip).map(|u| u.member).collect();
        Ok((members, next))
    }
}

// ---- web login ---------------------------------------------------------------------------------

/// Where the password step leads.
enum AfterPassword {
    SignedIn,
    SecondFactor,
}

/// `GET /login`, then `POST /login` with the username and password.
async fn password_step(
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
            ConnectorError::Configuration(format!("{}/login is not a Redmine login page", web.base))
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
async fn totp_step(web: &mut Web<'_>, params: &OtpParams) -> Result<(), ConnectorError> {
    let period = params.period.max(1);
    let mut used_step = None;
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
        let mut now = unix_now();
        if let Some(step) = used_step {
            // Wait for the next time step, so that Redmine sees a step it has not used.
            let next_start = (step + 1) * period;
            if now < next_start {
                let wait = Duration::from_secs(next_start - now) + STEP_MARGIN;
                debug!(
                    wait_secs = wait.as_secs(),
                    "waiting for the next TOTP time step"
                );
                tokio::time::sleep(wait).await;
                now = unix_now();
            }
        }
        let code = castellan_otp::code_at(params, now);
        used_step = Some(now / period);
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
    Err(ConnectorError::BadCredentials(
        "Redmine refused the TOTP codes from Castellan's authenticator: is the account's 2FA \
         secret the one paired in Redmine?"
            .into(),
    ))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Redmine keeps one pending two-factor sign-in per user (`Token` action `twofa_session`,
/// `max_instances` 1) for two minutes: another sign-in of the same account meanwhile ends this
/// one. A retry (with a fresh password step) may succeed.
fn twofa_session_ended() -> ConnectorError {
    ConnectorError::Unavailable(
        "Redmine ended the two-factor sign-in before a code was accepted (another sign-in of \
         the same account meanwhile?); retry"
            .into(),
    )
}

fn twofa_disabled() -> ConnectorError {
    ConnectorError::Configuration(
        "two-factor authentication is disabled in Redmine (Administration → Settings → \
         Authentication)"
            .into(),
    )
}

fn unexpected_page(r: &Reply, what: &str) -> ConnectorError {
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
fn uri_secret(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    let secret = url
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.trim().to_ascii_uppercase())?;
    (!secret.is_empty()).then_some(secret)
}

/// A browser's view of Redmine: the cookies it set, no redirects followed.
struct Web<'a> {
    http: &'a reqwest::Client,
    base: String,
    timeout: Duration,
    cookies: BTreeMap<String, String>,
}

impl Web<'_> {
    async fn get(&mut self, path: &str) -> Result<Reply, ConnectorError> {
        self.send(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Result<Reply, ConnectorError> {
        let mut fields = vec![("utf8", "✓")];
        fields.extend_from_slice(form);
        self.send(Method::POST, path, Some(&fields)).await
    }

    /// The CSRF token of the page at `path`.
    async fn csrf_token_from(&mut self, path: &str) -> Result<String, ConnectorError> {
        let page = self.get(path).await?;
        if !page.status.is_success() {
            return Err(unexpected_page(&page, "show a page"));
        }
        html::csrf_token(&page.text).ok_or_else(|| unexpected_page(&page, "show a page"))
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Result<Reply, ConnectorError> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "text/html");
        if !self.cookies.is_empty() {
            req = req.header(
                reqwest::header::COOKIE,
                self.cookie_header().expose_secret(),
            );
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(&self.base, &e))?;
        for v in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            if let Ok(v) = v.to_str() {
                store_cookie(&mut self.cookies, v);
            }
        }
        Reply::read(resp, &self.base).await
    }

    fn cookie_header(&self) -> SecretString {
        SecretString::from(
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// The base URL's path with a trailing slash (Redmine's home page).
    fn base_path(&self) -> String {
        let path = url::Url::parse(&self.base)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{path}/")
    }
}

/// Records one `Set-Cookie` header (name and value; attributes are not needed on loopback or
/// one host). An empty value or an expiry in the past deletes the cookie.
fn store_cookie(jar: &mut BTreeMap<String, String>, header: &str) {
    let mut parts = header.split(';');
    let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
        return;
    };
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return;
    }
    let expired = parts.any(|a| {
        let a = a.trim().to_ascii_lowercase();
        a == "max-age=0" || a.starts_with("max-age=-") || a.contains("1970")
    });
    if value.is_empty() || expired {
        jar.remove(name);
    } else {
        jar.insert(name.to_owned(), value.to_owned());
    }
}

/// Extraction from Redmine's HTML pages (Redmine 5.0 views).
mod html {
    use super::*;

    fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
        cell.get_or_init(|| Regex::new(pattern).expect("a valid static pattern"))
    }

    /// The page's CSRF token: the `csrf-token` meta tag, else a form's `authenticity_token`.
    /// Rails accepts either for any form of the session (tokens are not per form in Redmine).
    pub(super) fn csrf_token(page: &str) -> Option<String> {
        static META: OnceLock<Regex> = OnceLock::new();
        static FIELD: OnceLock<Regex> = OnceLock::new();
        re(&META, r#"<meta\s+name="csrf-token"\s+content="([^"]+)""#)
            .captures(page)
            .or_else(|| re(&FIELD, r#"name="authenticity_token"\s+value="([^"]+)""#).captures(page))
            .map(|c| unescape(&c[1]))
    }

    /// Whether the page has a form field named `name`.
    pub(super) fn has_field(page: &str, name: &str) -> bool {
        page.contains(&format!("name=\"{name}\""))
    }

    /// The text of the page's error flash (`<div class="flash error" id="flash_error">`).
    pub(super) fn flash_error(page: &str) -> Option<String> {
        static FLASH: OnceLock<Regex> = OnceLock::new();
        re(&FLASH, r#"(?s)id="flash_error"[^>]*>(.*?)</div>"#)
            .captures(page)
            .map(|c| unescape(strip_tags(&c[1]).trim()))
            .filter(|m| !m.is_empty())
    }

    /// The API key on `/my/api_key` (`<pre>` holding 40 hex digits).
    pub(super) fn api_key(page: &str) -> Option<String> {
        static KEY: OnceLock<Regex> = OnceLock::new();
        re(&KEY, r"<pre>\s*([0-9a-f]{40})\s*</pre>")
            .captures(page)
            .map(|c| c[1].to_owned())
    }

    /// The plain text key on the TOTP pairing page (`<code>ABCD EFGH …</code>`), without spaces.
    pub(super) fn totp_key(page: &str) -> Option<String> {
        static KEY: OnceLock<Regex> = OnceLock::new();
        re(
            &KEY,
            r"<code>\s*([A-Z2-7]{4}(?:\s+[A-Z2-7]{1,4})+)\s*</code>",
        )
        .captures(page)
        .map(|c| c[1].split_whitespace().collect())
    }

    /// The QR code image on the TOTP pairing page (a PNG in a `data:` URL).
    pub(super) fn qr_png(page: &str) -> Option<Vec<u8>> {
        static IMG: OnceLock<Regex> = OnceLock::new();
        let b64 = re(&IMG, r#"src="data:image/png;base64,([A-Za-z0-9+/=]+)""#)
            .captures(page)?
            .get(1)?
            .as_str();
        data_encoding::BASE64.decode(b64.as_bytes()).ok()
    }

    fn strip_tags(s: &str) -> String {
        static TAG: OnceLock<Regex> = OnceLock::new();
        re(&TAG, r"<[^>]*>").replace_all(s, "").into_owned()
    }

    /// The few entities Rails' `html_escape` writes.
    fn unescape(s: &str) -> String {
        s.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }
}

// ---- REST API ----------------------------------------------------------------------------------

/// What a call was, for mapping its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// A web page of the login or pairing flow.
    Web,
    /// A REST API call with the session's API key: 403 means the account is no administrator.
    Api,
}

/// The REST side of one connector call.
struct Api<'a> {
    http: &'a reqwest::Client,
    base: String,
    key: SecretString,
    timeout: Duration,
}

impl Api<'_> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Reply, ConnectorError> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .timeout(self.timeout)
            .header("X-Redmine-API-Key", self.key.expose_secret());
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(&self.base, &e))?;
        Reply::read(resp, &self.base).await
    }
}

/// One HTTP answer: its status, redirect target and body.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    text: String,
    retry_after: Option<Duration>,
    location: Option<String>,
    base: String,
}

impl Reply {
    async fn read(resp: reqwest::Response, base: &str) -> Result<Self, ConnectorError> {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await.map_err(|e| transport_error(base, &e))?;
        Ok(Self {
            status,
            text,
            retry_after,
            location,
            base: base.to_owned(),
        })
    }

    fn body(&self) -> Option<Value> {
        serde_json::from_str(&self.text).ok()
    }

    /// The path of the redirect target, resolved against the base URL.
    fn location_path(&self) -> Option<String> {
        let loc = self.location.as_deref()?;
        let base = url::Url::parse(&format!("{}/", self.base)).ok()?;
        base.join(loc).ok().map(|u| u.path().to_owned())
    }

    /// Whether this is a redirect to a path ending with `suffix`.
    fn redirects_to(&self, suffix: &str) -> bool {
        self.status.is_redirection()
            && self
                .location_path()
                .is_some_and(|p| p.trim_end_matches('/').ends_with(suffix))
    }

    /// Success, or the typed error (bodies are not needed: `PUT` answers with none).
    fn ok(self, call: Call, what: &str) -> Result<(), ConnectorError> {
        if self.status.is_success() {
            Ok(())
        } else {
            Err(map_error(&self, call, what))
        }
    }

    /// The JSON body of a success, or the typed error.
    fn json(self, call: Call, what: &str) -> Result<Value, ConnectorError> {
        if !self.status.is_success() {
            return Err(map_error(&self, call, what));
        }
        self.body().ok_or_else(|| {
            ConnectorError::Configuration(format!(
                "{} answered '{what}' without JSON: not a Redmine with the REST API",
                self.base
            ))
        })
    }

    /// Redmine's validation messages (`{"errors": ["Login has already been taken", …]}`).
    fn errors(&self) -> Vec<String> {
        self.body()
            .and_then(|b| b.get("errors").cloned())
            .and_then(|e| serde_json::from_value::<Vec<String>>(e).ok())
            .unwrap_or_default()
    }
}

/// The one table from Redmine's HTTP answers to connector errors.
fn map_error(r: &Reply, call: Call, what: &str) -> ConnectorError {
    use ConnectorError as E;
    let status = r.status;
    if status == StatusCode::TOO_MANY_REQUESTS {
        return E::RateLimited {
            retry_after: r.retry_after,
        };
    }
    if status.is_server_error() {
        return E::Unavailable(format!("{} failed to {what}: HTTP {status}", r.base));
    }
    if status.is_redirection() {
        return E::Configuration(format!(
            "{} redirects '{what}' to {}: set the base URL to Redmine's address",
            r.base,
            r.location.as_deref().unwrap_or("another address")
        ));
    }
    match (call, status) {
        (Call::Api, StatusCode::UNAUTHORIZED) => E::BadCredentials(
            "Redmine refused the session's API key (reset, or the REST API was disabled); \
             sign in again"
                .into(),
        ),
        (_, StatusCode::FORBIDDEN) => {
            E::InsufficientPermission("the account is not a Redmine administrator".into())
        }
        (Call::Api, StatusCode::NOT_FOUND) => E::NotFound(format!("{what}: HTTP 404")),
        (Call::Web, StatusCode::NOT_FOUND) => E::Configuration(format!(
            "{} has no page to {what}: not a Redmine (or not its base URL)",
            r.base
        )),
        (Call::Api, StatusCode::UNPROCESSABLE_ENTITY) => {
            let errors = r.errors().join("; ");
            if errors.contains("has already been taken") {
                E::Conflict(format!("{what}: {errors}"))
            } else {
                E::Configuration(format!("Redmine refused to {what}: {errors}"))
            }
        }
        // Rails answers 422 to a form whose CSRF token it does not accept.
        (Call::Web, StatusCode::UNPROCESSABLE_ENTITY) => E::Unavailable(format!(
            "Redmine refused the form to {what} (session or CSRF token not accepted)"
        )),
        _ => E::Configuration(format!(
            "{} answered '{what}' with HTTP {status}: not a Redmine?",
            r.base
        )),
    }
}

fn transport_error(base: &str, e: &reqwest::Error) -> ConnectorError {
    if e.is_builder() {
        ConnectorError::Configuration(format!("cannot build a request to {base}: {e}"))
    } else if e.is_timeout() {
        ConnectorError::Unavailable(format!("{base} did not answer in time"))
    } else if e.is_connect() {
        ConnectorError::Unavailable(format!("cannot connect to {base}"))
    } else {
        ConnectorError::Unavailable(format!("request to {base} failed: {e}"))
    }
}

fn unexpected(what: &str) -> ConnectorError {
    ConnectorError::Unavailable(format!("Redmine answered '{what}' with an unexpected body"))
}

fn timeout(ctx: &ConnectorContext) -> Duration {
    if ctx.timeout.is_zero() {
        DEFAULT_TIMEOUT
    } else {
        ctx.timeout
    }
}

/// Checks the hub's base URL: http(s), a host, no credentials, no query. Returns it without a
/// trailing slash (a path prefix is kept, for Redmine under a sub-URI).
fn base_url(raw: &str) -> Result<String, ConnectorError> {
    let raw = raw.trim();
    let url = url::Url::parse(raw).map_err(|e| {
        ConnectorError::Configuration(format!("the base URL is not a valid URL: {e}"))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConnectorError::Configuration(
            "the base URL must not contain credentials".into(),
        ));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConnectorError::Configuration(format!(
            "the base URL {url} is not an http(s) URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConnectorError::Configuration(format!(
            "the base URL {url} must not have a query"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

// ---- session, cursor, members --------------------------------------------------------------------

/// The secret half of a [`AppSession`]: the API key for the REST API and the web session's
/// cookies (kept for web-only pages), as JSON inside the `SecretString`.
struct SessionToken {
    api_key: SecretString,
    cookie: SecretString,
}

impl SessionToken {
    fn encode(&self) -> SecretString {
        SecretString::from(
            json!({
                "api_key": self.api_key.expose_secret(),
                "cookie": self.cookie.expose_secret(),
            })
            .to_string(),
        )
    }

    fn parse(s: &AppSession) -> Result<Self, ConnectorError> {
        let bad = || {
            ConnectorError::Configuration(
                "the session is not a Redmine session; log in again".into(),
            )
        };
        let v: Value = serde_json::from_str(s.token.expose_secret()).map_err(|_| bad())?;
        let field = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(|x| SecretString::from(x.to_owned()))
        };
        Ok(Self {
            api_key: field("api_key").ok_or_else(bad)?,
            cookie: field("cookie").unwrap_or_else(|| SecretString::from(String::new())),
        })
    }
}

fn session_user(s: &AppSession) -> Option<u64> {
    s.data.get("user_id").and_then(Value::as_u64)
}

/// Opaque list cursor: `<status>:<offset>[:<login of the previous page's last user>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    status: u8,
    offset: usize,
    anchor: Option<String>,
}

impl Cursor {
    fn start(status: u8) -> Self {
        Self {
            status,
            offset: 0,
            anchor: None,
        }
    }

    fn parse(raw: &str) -> Result<Self, ConnectorError> {
        let bad = || ConnectorError::Configuration(format!("not a Redmine member cursor: {raw:?}"));
        let mut parts = raw.splitn(3, ':');
        let status: u8 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let offset: usize = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let anchor = parts.next().map(str::to_owned);
        if !STATUSES.contains(&status)
            || anchor.as_deref().is_some_and(str::is_empty)
            || (anchor.is_some() && offset == 0)
        {
            return Err(bad());
        }
        Ok(Self {
            status,
            offset,
            anchor,
        })
    }

    fn encode(&self) -> String {
        match &self.anchor {
            Some(a) => format!("{}:{}:{a}", self.status, self.offset),
            None => format!("{}:{}", self.status, self.offset),
        }
    }
}

/// A user as Redmine reports it, with the fields the connector decides on.
#[derive(Debug, Clone)]
struct RedmineUser {
    id: u64,
    login: String,
    admin: bool,
    status: u8,
    member: AppMember,
}

impl RedmineUser {
    /// From a list row (whose status is the list's `status` filter) or a user's details (which
    /// report `status` to administrators).
    fn from_json(v: &Value, listed_status: Option<u8>) -> Option<Self> {
        let id = v.get("id")?.as_u64()?;
        let login = v.get("login")?.as_str()?.to_owned();
        let admin = v.get("admin").and_then(Value::as_bool).unwrap_or(false);
        let status = listed_status
            .or_else(|| {
                v.get("status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u8::try_from(s).ok())
            })
            .unwrap_or(STATUS_ACTIVE);
        let name = [v.get("firstname"), v.get("lastname")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let member = AppMember {
            app_member_id: id.to_string(),
            email: v
                .get("mail")
                .and_then(Value::as_str)
                .map(|m| m.trim().to_lowercase())
                .filter(|m| !m.is_empty()),
            name: (!name.is_empty()).then_some(name),
            roles: vec![if admin { ROLE_ADMIN } else { ROLE_USER }.to_owned()],
            state: match status {
                STATUS_REGISTERED => MemberState::Invited,
                STATUS_LOCKED => MemberState::Deactivated,
                _ => MemberState::Active,
            },
        };
        Some(Self {
            id,
            login,
            admin,
            status,
            member,
        })
    }
}

fn role_is_admin(role: &str) -> Result<bool, ConnectorError> {
    match role.trim().to_ascii_lowercase().as_str() {
        ROLE_ADMIN => Ok(true),
        ROLE_USER => Ok(false),
        other => Err(ConnectorError::Configuration(format!(
            "Redmine has no role {other:?} (its roles: admin, user)"
        ))),
    }
}

fn normalize_email(email: &str) -> Result<String, ConnectorError> {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !email.contains(char::is_whitespace) =>
        {
            Ok(email)
        }
        _ => Err(ConnectorError::Configuration(format!(
            "{email:?} is not an email address"
        ))),
    }
}

fn email_local_part(email: &str) -> &str {
    email.rsplit_once('@').map_or(email, |(local, _)| local)
}

/// A Redmine login from a username or an email's local part: lowercase, `[a-z0-9_-@.]` kept
/// (Redmine's rule), anything else replaced with `_`, at most 60 characters.
fn derive_login(raw: &str) -> Result<String, ConnectorError> {
    let login: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' | '@' | '.' => c,
            _ => '_',
        })
        .take(LOGIN_MAX)
        .collect();
    if login.is_empty() {
        return Err(ConnectorError::Configuration(format!(
            "cannot derive a Redmine login from {raw:?}"
        )));
    }
    Ok(login)
}

/// First and last name (both required by Redmine, 30 characters each): from the display name
/// (last word apart), else from the email's local part (`ana.lopez` → `Ana`, `Lopez`); `-`
/// stands for a missing last name.
fn split_name(name: Option<&str>, email: &str) -> (String, String) {
    let words: Vec<String> = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.split_whitespace().map(str::to_owned).collect(),
        None => email_local_part(email)
            .split(['.', '_', '-', '+'])
            .filter(|w| !w.is_empty())
            .map(capitalize)
            .collect(),
    };
    let clip = |s: &str| s.chars().take(NAME_MAX).collect::<String>();
    match words.as_slice() {
        [] => (clip(email_local_part(email)), "-".to_owned()),
        [one] => (clip(one), "-".to_owned()),
        [first @ .., last] => (clip(&first.join(" ")), clip(last)),
    }
}

fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, text: &str, location: Option<&str>) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            text: text.to_owned(),
            retry_after: None,
            location: location.map(str::to_owned),
            base: "http://h/redmine".into(),
        }
    }

    #[test]
    fn pages_are_read() {
        let login = r#"<meta name="csrf-param" content="authenticity_token" />
<meta name="csrf-token" content="aVeo+/w==" />
<form action="/login"><input type="hidden" name="authenticity_token" value="U5d4&amp;x" />
<input type="password" name="password" id="password" />"#;
        assert_eq!(html::csrf_token(login).as_deref(), Some("aVeo+/w=="));
        assert_eq!(
            html::csrf_token(
                r#"<input type="hidden" name="authenticity_token" value="U5&amp;x" />"#
            )
            .as_deref(),
            Some("U5&x")
        );
        assert!(html::has_field(login, "password"));
        assert!(!html::has_field(login, "twofa_code"));
        assert_eq!(
            html::flash_error(
                r#"<div class="flash error" id="flash_error">Invalid user or password</div>"#
            )
            .as_deref(),
            Some("Invalid user or password")
        );
        assert_eq!(html::flash_error("<p>fine</p>"), None);
        assert_eq!(
            html::api_key(
                "<div class=\"box\">\n  <pre>a936fd920294cad8fafe0540a4af2fb95dc105f3</pre>"
            )
            .as_deref(),
            Some("a936fd920294cad8fafe0540a4af2fb95dc105f3")
        );
        let pairing =
            "<label>Plain text key</label>\n  <code>CS3O IO4L TYCQ ZPZL M62R 5DD5 2NRF HKD4</code>";
        assert_eq!(
            html::totp_key(pairing).as_deref(),
            Some("CS3OIO4LTYCQZPZLM62R5DD52NRFHKD4")
        );
        assert_eq!(html::totp_key("<code>let x = 1;</code>"), None);
        assert_eq!(
            html::qr_png(r#"<img id="twofa_code" src="data:image/png;base64,iVBORw0KGgo=" />"#),
            Some(vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a])
        );
    }

    #[test]
    fn cookies_are_kept_and_dropped() {
        let mut jar = BTreeMap::new();
        store_cookie(&mut jar, "Redmine=abc%3D--12; path=/; HttpOnly");
        store_cookie(&mut jar, "other=1; path=/");
        assert_eq!(jar["Redmine"], "abc%3D--12");
        store_cookie(&mut jar, "Redmine=def; path=/; HttpOnly");
        assert_eq!(jar["Redmine"], "def");
        store_cookie(
            &mut jar,
            "autologin=; path=/; max-age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT",
        );
        store_cookie(&mut jar, "other=x; Max-Age=0");
        assert_eq!(jar.len(), 1);
        store_cookie(&mut jar, "garbage");
        assert_eq!(jar.len(), 1);
    }

    #[test]
    fn redirects_are_resolved_against_the_base() {
        let r = reply(302, "", Some("http://h/redmine/account/twofa/confirm"));
        assert!(r.redirects_to("/account/twofa/confirm"));
        assert!(!r.redirects_to("/login"));
        let r = reply(302, "", Some("/redmine/my/page"));
        assert_eq!(r.location_path().as_deref(), Some("/redmine/my/page"));
        assert!(!reply(200, "", Some("/login")).redirects_to("/login"));
    }

    #[test]
    fn errors_map_to_the_contract() {
        let r = reply(403, "", None);
        assert_eq!(
            map_error(&r, Call::Api, "list users"),
            ConnectorError::InsufficientPermission(
                "the account is not a Redmine administrator".into()
            )
        );
        let r = reply(422, r#"{"errors":["Login has already been taken"]}"#, None);
        assert!(matches!(
            map_error(&r, Call::Api, "create a user"),
            ConnectorError::Conflict(_)
        ));
        let r = reply(422, r#"{"errors":["Email is invalid"]}"#, None);
        assert_eq!(
            map_error(&r, Call::Api, "create a user"),
            ConnectorError::Configuration(
                "Redmine refused to create a user: Email is invalid".into()
            )
        );
        assert!(map_error(&reply(422, "<html>", None), Call::Web, "log in").is_retryable());
        assert!(map_error(&reply(503, "", None), Call::Api, "x").is_retryable());
        assert!(matches!(
            map_error(&reply(429, "", None), Call::Api, "x"),
            ConnectorError::RateLimited { .. }
        ));
        assert!(matches!(
            map_error(&reply(401, "", None), Call::Api, "x"),
            ConnectorError::BadCredentials(_)
        ));
        assert!(matches!(
            map_error(&reply(404, "", None), Call::Api, "x"),
            ConnectorError::NotFound(_)
        ));
        assert!(matches!(
            map_error(&reply(404, "", None), Call::Web, "x"),
            ConnectorError::Configuration(_)
        ));
        assert!(matches!(
            map_error(&reply(301, "", Some("https://h/")), Call::Api, "x"),
            ConnectorError::Configuration(_)
        ));
    }

    #[test]
    fn cursors_round_trip() {
        for c in [
            Cursor::start(2),
            Cursor {
                status: 1,
                offset: 100,
                anchor: Some("ana.lopez@x".into()),
            },
        ] {
            assert_eq!(Cursor::parse(&c.encode()).unwrap(), c);
        }
        for bad in ["", "x", "4:0", "1:x", "1:0:a", "1:5:", "0:1"] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logins_and_names_are_derived() {
        assert_eq!(derive_login("Ana.Lopez+x").unwrap(), "ana.lopez_x");
        assert_eq!(derive_login("zoë@h").unwrap(), "zo_@h");
        assert_eq!(derive_login(&"a".repeat(80)).unwrap().len(), LOGIN_MAX);
        assert!(derive_login(" ").is_err());
        assert_eq!(
            split_name(Some("Ana María López"), "x@y"),
            ("Ana María".into(), "López".into())
        );
        assert_eq!(split_name(Some("Cher"), "x@y"), ("Cher".into(), "-".into()));
        assert_eq!(
            split_name(None, "ana.lopez@x.org"),
            ("Ana".into(), "Lopez".into())
        );
        assert_eq!(split_name(None, "bob@x.org"), ("Bob".into(), "-".into()));
        assert_eq!(split_name(Some(&"x".repeat(40)), "a@b").0.len(), NAME_MAX);
    }

    #[test]
    fn users_are_read() {
        let u = RedmineUser::from_json(
            &json!({"id": 7, "login": "ana", "admin": true, "firstname": "Ana", "lastname": "L",
                    "mail": "Ana@X.org", "status": 3}),
            None,
        )
        .unwrap();
        assert_eq!(u.member.app_member_id, "7");
        assert_eq!(u.member.email.as_deref(), Some("ana@x.org"));
        assert_eq!(u.member.name.as_deref(), Some("Ana L"));
        assert_eq!(u.member.roles, ["admin"]);
        assert_eq!(u.member.state, MemberState::Deactivated);
        let u = RedmineUser::from_json(&json!({"id": 8, "login": "b", "admin": false}), Some(2))
            .unwrap();
        assert_eq!(
            (u.member.roles[0].as_str(), u.member.state),
            ("user", MemberState::Invited)
        );
        assert!(RedmineUser::from_json(&json!({"login": "x"}), None).is_none());
    }

    #[test]
    fn session_tokens_round_trip_and_are_redacted() {
        let t = SessionToken {
            api_key: SecretString::from("k".repeat(40)),
            cookie: SecretString::from("Redmine=abc".to_owned()),
        };
        let s = AppSession {
            token: t.encode(),
            data: json!({"user_id": 5}),
        };
        assert!(!format!("{s:?}").contains("kkkk"));
        let back = SessionToken::parse(&s).unwrap();
        assert_eq!(back.api_key.expose_secret(), "k".repeat(40));
        assert_eq!(back.cookie.expose_secret(), "Redmine=abc");
        assert_eq!(session_user(&s), Some(5));
        let other = AppSession {
            token: SecretString::from("syt_x".to_owned()),
            data: json!({}),
        };
        assert!(matches!(
            SessionToken::parse(&other),
            Err(ConnectorError::Configuration(_))
        ));
    }

    #[test]
    fn otpauth_secrets_are_read() {
        assert_eq!(
            uri_secret("otpauth://totp/h:bot?secret=abcd2345&issuer=h").as_deref(),
            Some("ABCD2345")
        );
        assert_eq!(uri_secret("otpauth://totp/h:bot?issuer=h"), None);
    }

    #[test]
    fn totp_setup_debug_is_redacted() {
        let s = TotpSetup {
            secret: SecretString::from("JBSWY3DPEHPK3PXP".to_owned()),
            otpauth_uri: Some(SecretString::from(
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP".to_owned(),
            )),
        };
        assert!(!format!("{s:?}").contains("JBSW"));
    }
}
