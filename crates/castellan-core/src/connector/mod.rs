//! The connector contract: how the bot drives one app through its automation account.
//! `castellan-connectors` implements it, one module per app (API first; a headless browser where
//! an app has no API).
//!
//! Contract v2: besides members and their app role, a connector may read the app's roles, list
//! resources inside the app and the roles members hold on them ([`resources`]), remove a member
//! while keeping their seat, and manage the automation account's own password and second factor.
//! Each of these is a [`Capability`] the connector declares in [`ConnectorInfo`] and confirms at
//! run time with [`Connector::discover`]; a method it does not have answers
//! [`ConnectorError::Unsupported`] (the trait's defaults). It also declares the settings a hub
//! needs ([`settings`]).

pub mod browser;
pub mod cookie_import;
pub mod oauth2;
pub mod resources;
pub mod settings;
pub mod steps;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::catalog::Capability;
use crate::inbox::InboxCode;
pub use resources::{
    AppResource, AppRole, ResourceGrant, ResourceMember, ResourceMemberPage, ResourcePage,
    TwoFactorState,
};
pub use settings::{SettingField, SettingKind, SignIn};

/// What a connector can do and which roles its app knows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectorInfo {
    /// Connector name (the catalog's `connector` value), e.g. `synapse`.
    pub name: String,
    /// The app's roles, most privileged first.
    pub roles: Vec<String>,
    /// What it can do to members.
    pub capabilities: Vec<Capability>,
    /// The role given when an invite names none.
    pub default_role: String,
    /// How the automation account signs in.
    pub sign_in: SignIn,
    /// The settings a hub on this connector needs, in the order to ask for them.
    pub settings: Vec<SettingField>,
}

impl ConnectorInfo {
    /// Whether the connector declares `c`.
    pub fn can(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }
}

/// A member as the app reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMember {
    /// The app's own id for the member (e.g. `@ana:example.org`).
    pub app_member_id: String,
    /// Email, if the app exposes one (lowercased).
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// App role(s), most privileged first.
    pub roles: Vec<String>,
    /// `active`, `invited` or `deactivated`.
    pub state: MemberState,
}

/// A member's state in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// Can sign in.
    Active,
    /// Invited, not yet joined.
    Invited,
    /// Deactivated, suspended or locked (keeps a seat in some apps).
    Deactivated,
}

/// One page of members and the cursor of the next page (`None` at the end).
#[derive(Debug, Clone)]
pub struct MemberPage {
    /// Members on this page.
    pub members: Vec<AppMember>,
    /// Opaque cursor for the next page.
    pub next: Option<String>,
}

/// Whom to invite.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// Their email.
    pub email: String,
    /// Preferred username (apps that need one derive it from the email otherwise). When it
    /// names a deactivated member, that member is reactivated: the engine passes only the
    /// person's own former member. A username derived from the email must never revive another
    /// person's deactivated account.
    pub username: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// App role.
    pub role: String,
}

/// Where and as whom the connector works: the hub's settings and the automation account's
/// credentials, decrypted for this call only.
#[derive(Debug, Clone)]
pub struct ConnectorContext {
    /// The hub the call is for (set by the bot; `None` in connector tests and one-off
    /// helpers). Connectors whose state is Castellan's own data (the manual connector) need it.
    pub hub_id: Option<crate::hub::HubId>,
    /// The app instance's base URL (self-hosted apps) or API base.
    pub base_url: String,
    /// Organization / business id in the app, if any.
    pub organization_id: Option<String>,
    /// The automation account's username.
    pub username: String,
    /// Its password.
    pub password: SecretString,
    /// Its authenticator, when 2FA is managed by Castellan: the connector computes a code with
    /// `castellan_otp::code_at(params, now)` at the moment the app asks for it (and may wait
    /// for the next time step when the app refuses a code it has already seen).
    pub totp: Option<castellan_otp::OtpParams>,
    /// The shared inbox of the automation account, for apps that send a one-time code or a
    /// magic link by email or SMS during sign-in: take `since` as the current time just before the
    /// step that makes the app send it, then call [`CodeWaiter::next_code`]. `None` outside
    /// the bot (connector tests, one-off helpers); the bot always sets it.
    pub codes: Option<Arc<dyn CodeWaiter>>,
    /// An API token or application password, for connectors whose [`ConnectorInfo::sign_in`]
    /// uses one (sealed in the automation account's vault like its password); for
    /// [`SignIn::OAuth2`], the current OAuth access token, refreshed by the bot before the job.
    pub api_token: Option<SecretString>,
    /// The hub's other plain settings, by key (see [`settings`]); never secrets.
    pub settings: BTreeMap<String, String>,
    /// Request timeout.
    pub timeout: Duration,
    /// Where the connector reports the steps it takes for the job's record (the bot always
    /// sets it; `None` in connector tests and one-off helpers).
    pub steps: Option<Arc<dyn steps::StepRecorder>>,
}

impl ConnectorContext {
    /// A context for `base_url` as `username` with `password`: no hub, organization, TOTP, inbox,
    /// token or extra settings; a 30 s timeout. Tests and one-off helpers start here.
    pub fn new(base_url: &str, username: &str, password: SecretString) -> Self {
        Self {
            hub_id: None,
            base_url: base_url.to_owned(),
            organization_id: None,
            username: username.to_owned(),
            password,
            totp: None,
            codes: None,
            api_token: None,
            settings: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            steps: None,
        }
    }

    /// A plain setting's value, trimmed; `None` when absent or blank.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// The port through which a connector waits for a one-time code sent to the automation account
/// during a login. The bot's implementation reads the shared inbox as the bot, so every code
/// it hands out is recorded as an `inbox.code_read` activity, like any other read.
#[async_trait]
pub trait CodeWaiter: Send + Sync + std::fmt::Debug {
    /// The newest message with a code or link received for the automation account at or after
    /// `since` (inclusive, compared at millisecond precision), waiting up to `timeout` for one
    /// to arrive: its code (normalized: `G-123 456` gives `123456`) and/or link, sender, kind,
    /// time received and expiry. The wait is capped by the bot at half the job's lease and at
    /// `castellan_core::service::MAX_CODE_WAIT` (120 s); `Duration::ZERO` looks once.
    ///
    /// `Ok(None)` when nothing came in time. Errors: `Configuration` when the automation account
    /// is gone or cannot be read, `Unavailable` when the inbox cannot be read now (retryable).
    async fn next_code(
        &self,
        since: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<Option<InboxCode>, ConnectorError>;
}

/// A signed-in app session (opaque to core): e.g. an access token or a cookie jar. "App
/// session" is the bot's sign-in to an app; a web session is a person's sign-in to Castellan.
#[derive(Debug, Clone)]
pub struct AppSession {
    /// The bearer token or session cookie.
    pub token: SecretString,
    /// Connector-specific values (server name, CSRF token, …). Never secrets of the account.
    pub data: serde_json::Value,
}

/// Typed connector failures. The engine retries `RateLimited` and `Unavailable` only; the
/// hub's status says what a person must do after `BadCredentials`, `InsufficientPermission`
/// and `NeedsHuman` (review the automation account) or `Configuration` and `AppChanged`
/// (review the hub's settings).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConnectorError {
    /// The app refused the automation account's username, password or second factor.
    #[error("the app refused the automation account's credentials: {0}")]
    BadCredentials(String),
    /// Signed in, but the account may not manage members.
    #[error("the automation account lacks permission: {0}")]
    InsufficientPermission(String),
    /// The app asks the client to slow down.
    #[error("rate limited by the app; retry after {retry_after:?}")]
    RateLimited {
        /// How long the app asked to wait.
        retry_after: Option<Duration>,
    },
    /// The member (or other target) does not exist.
    #[error("not found in the app: {0}")]
    NotFound(String),
    /// The app refused because of its current state (e.g. the username is taken).
    #[error("conflict in the app: {0}")]
    Conflict(String),
    /// The app could not be reached or answered with a server error.
    #[error("the app is unavailable: {0}")]
    Unavailable(String),
    /// The hub's settings are wrong (bad base URL, unknown organization, unknown role).
    #[error("the hub's configuration is wrong: {0}")]
    Configuration(String),
    /// The connector (or this app's plan) cannot do what was asked, e.g. keep a seat on
    /// removal. Not retried.
    #[error("the app's connector does not support this: {0}")]
    Unsupported(String),
    /// The app wants a person before it goes on: a captcha, a consent screen, a new-device
    /// check it sends to no inbox Castellan reads. Not retried: the hub asks for a person.
    #[error("the app needs a person to continue: {0}")]
    NeedsHuman(String),
    /// The app answered with a page or a shape the connector does not know (an upgrade, a
    /// proxy's page): not retried blindly; the hub asks an admin to look.
    #[error("the app answered in a way the connector does not know: {0}")]
    AppChanged(String),
}

impl ConnectorError {
    /// Whether a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

/// The contract every app connector implements. All methods are idempotent reads or
/// single writes; the engine re-reads before it writes so a retry never acts twice.
#[async_trait]
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// Roles and capabilities.
    fn describe(&self) -> ConnectorInfo;
    /// Signs in as the automation account. Errors: `BadCredentials`, `Unavailable`, `Configuration`.
    async fn login(&self, ctx: &ConnectorContext) -> Result<AppSession, ConnectorError>;
    /// Checks the account may list and change members. Errors: `InsufficientPermission`.
    async fn verify_permissions(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> Result<(), ConnectorError>;
    /// One page of members; `cursor` is `None` for the first page. Pages never lose or repeat
    /// a member while the member set is unchanged.
    async fn list_members(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        cursor: Option<String>,
    ) -> Result<MemberPage, ConnectorError>;
    /// One member by app id, `None` if absent.
    async fn get_member(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
    ) -> Result<Option<AppMember>, ConnectorError>;
    /// Finds a member by email, `None` if absent.
    async fn find_by_email(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        email: &str,
    ) -> Result<Option<AppMember>, ConnectorError>;
    /// Invites (creates) a member with a role.
    async fn invite(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        inv: &Invitation,
    ) -> Result<AppMember, ConnectorError>;
    /// Sets a member's app role.
    async fn update_role(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
        role: &str,
    ) -> Result<AppMember, ConnectorError>;
    /// Removes or deactivates a member (where the app cannot delete).
    async fn remove(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
    ) -> Result<(), ConnectorError>;

    // ---- optional capabilities (contract v2): the defaults answer `Unsupported` ----------------

    /// The capabilities this app instance really has for this account, checked at run time (a
    /// plan without an API, a single site rather than a network, a SCIM server without PATCH).
    /// A subset of [`ConnectorInfo::capabilities`]. Default: all the declared ones.
    async fn discover(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<Vec<Capability>, ConnectorError> {
        Ok(self.describe().capabilities)
    }

    /// The app's roles as the app defines them ([`Capability::ListRoles`]), most privileged first;
    /// the catalog's list is the fallback. Default: [`ConnectorInfo::roles`].
    async fn list_roles(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<Vec<AppRole>, ConnectorError> {
        Ok(self
            .describe()
            .roles
            .iter()
            .map(|r| AppRole::plain(r))
            .collect())
    }

    /// Removes a member but keeps the paid seat ([`Capability::KeepSeat`]): the app's own
    /// "deactivate, keep license" or a demotion to no role. Returns the member as it is after.
    async fn remove_keep_seat(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        _app_member_id: &str,
    ) -> Result<AppMember, ConnectorError> {
        Err(unsupported(self, "keeping a seat on removal"))
    }

    /// One page of the app's resources ([`Capability::ListResources`]); `cursor` is `None` for
    /// the first page.
    async fn list_resources(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        _cursor: Option<String>,
    ) -> Result<ResourcePage, ConnectorError> {
        Err(unsupported(self, "resources"))
    }

    /// One page of who holds which role on a resource ([`Capability::ResourceRoles`]).
    /// Errors: `NotFound` when the resource is gone.
    async fn list_resource_members(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        _resource_id: &str,
        _cursor: Option<String>,
    ) -> Result<ResourceMemberPage, ConnectorError> {
        Err(unsupported(self, "roles on resources"))
    }

    /// Gives a member a role on a resource, replacing the role they held there
    /// ([`Capability::ResourceRoles`]). Idempotent. Errors: `NotFound` (resource or member),
    /// `Configuration` (a role the resource does not have).
    async fn grant_resource_role(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        _grant: &ResourceGrant,
    ) -> Result<(), ConnectorError> {
        Err(unsupported(self, "roles on resources"))
    }

    /// Takes every role a member holds on a resource away ([`Capability::ResourceRoles`]).
    /// Idempotent: a member who holds none is done.
    async fn revoke_resource_role(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        _resource_id: &str,
        _app_member_id: &str,
    ) -> Result<(), ConnectorError> {
        Err(unsupported(self, "roles on resources"))
    }

    /// Changes the automation account's own password ([`Capability::ChangeOwnPassword`]).
    async fn change_own_password(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        _new_password: &SecretString,
    ) -> Result<(), ConnectorError> {
        Err(unsupported(
            self,
            "changing the automation account's password",
        ))
    }

    /// Whether the automation account has a second factor ([`Capability::ReadTwoFactor`]).
    async fn two_factor(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<TwoFactorState, ConnectorError> {
        Err(unsupported(
            self,
            "reading the automation account's second factor",
        ))
    }

    /// Turns TOTP on for the automation account ([`Capability::EnableTwoFactor`]) and returns
    /// the app's `otpauth://` URI (RFC 6238 parameters) for Castellan to keep; the connector has
    /// confirmed it with a first code.
    async fn enable_two_factor(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<SecretString, ConnectorError> {
        Err(unsupported(
            self,
            "turning on the automation account's second factor",
        ))
    }

    /// A session from `cookies` a person exported from their own browser, signed in as the
    /// automation account (see [`cookie_import`]): the connector checks the app takes them and
    /// reads what its sign-in reads. How a job stopped by a captcha goes on.
    ///
    /// Errors: `BadCredentials` when the app does not take them (not signed in, expired);
    /// `Unsupported` for a connector that does not work in a browser (the default).
    async fn adopt_session(
        &self,
        _ctx: &ConnectorContext,
        _cookies: Vec<browser::BrowserCookie>,
    ) -> Result<AppSession, ConnectorError> {
        Err(unsupported(
            self,
            "use for a session uploaded from a browser",
        ))
    }
}

/// The `Unsupported` error a connector without an optional capability answers.
fn unsupported<C: Connector + ?Sized>(c: &C, what: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!("the {} connector has no {what}", c.describe().name))
}

/// Finds the connector for a catalog `connector` name.
pub trait ConnectorRegistry: Send + Sync + std::fmt::Debug {
    /// The connector, or `None` when Castellan has none by that name.
    fn connector(&self, name: &str) -> Option<std::sync::Arc<dyn Connector>>;

    /// The OAuth 2.0 client for connectors that sign in with [`SignIn::OAuth2`] (the adapter's
    /// HTTP calls to vendors' authorization servers). Default: none, and such hubs cannot be
    /// authorized.
    fn oauth2(&self) -> Option<std::sync::Arc<dyn oauth2::OAuth2Client>> {
        None
    }
}
