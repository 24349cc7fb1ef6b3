//! DocuSign eSignature, through its REST API v2.1 Users and permission profiles, with an OAuth
//! access token (Bearer; authorization code grant with PKCE, scopes `signature extended`, the
//! hub's OAuth settings: the bot refreshes the token and hands it over) of a user who may manage
//! users: an Account Administrator (`isAdmin`), or a profile with `canManageUsers`. The hub's
//! base URL is the account's server with `/restapi` (`https://<server>.docusign.net/restapi`),
//! its organization id the account id (GUID); paths are under
//! `/v2.1/accounts/{accountId}`.
//!
//! Members are the account's users; a member's role is their permission profile by name as
//! DocuSign sends it (`Account Administrator`, `DocuSign Sender`, `DocuSign Viewer`, or a custom
//! profile's name; [`Capability::ListRoles`]: `GET /permission_profiles`).
//!
//! - Sign-in: `GET /oauth/userinfo` on the account server (the origin of the hub's OAuth token
//!   URL, `https://account.docusign.com` by default) names the token's user (`sub`) and its
//!   accounts, which must include the hub's; then `GET /users/{userId}` must show it may
//!   manage users.
//! - Listing: `GET /users?start_position=…&count=100`, paged by `resultSetSize` and
//!   `totalSetSize` (`nextUri` while more). Closed users are listed `deactivated`.
//! - Lookups: `GET /users/{userId}`; by email `GET /users?email=<addr>` (the exact address;
//!   an open membership before a closed one, as older accounts may have several).
//! - Invitation: `POST /users` with `newUsers: [{userName, email, permissionProfileId}]`;
//!   DocuSign emails an activation and the user is `invited` (`ActivationSent`) until they
//!   activate. A per-user `errorDetails` is the error.
//! - Role change: one `PUT /users/{userId}` with `permissionProfileId` (a user has one
//!   profile), then the user read again.
//! - Removal: `DELETE /users` with `{"users": [{"userId"}]}` closes the membership, as DocuSign
//!   documents it ("Users are never deleted from an account, but closing a user prevents them
//!   from using account functions"); a closed user is invited again with `POST /users` of the
//!   same address, which reopens the membership.
//! - Rate limits: an hourly limit an account (3,000 by default) and a 30-second burst limit;
//!   answers carry `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`. A 429, or
//!   an `errorCode` ending in `_LIMIT_EXCEEDED`, waits `Retry-After`, else until
//!   `X-RateLimit-Reset` ([`model::throttle`]).
//! - Errors: `{"errorCode", "message"}`, most with HTTP 400 ([`model::map_error`]).
//!
//! Assumptions where the reference is silent: the list's users carry `permissionProfileName`
//! without `additional_info`; `POST /users` of a closed user's address reopens that user (the
//! same `userId`); `X-RateLimit-Reset` is a UTC epoch time (the platform page) or seconds (the
//! blog), told apart by size ([`crate::sdk::http::reset_wait`]); the error codes of an unknown
//! user (`INVALID_USERID` and its kin). Not modelled: groups, signing groups, user settings,
//! the Admin API's memberships, JWT grant (the bot refreshes authorization-code tokens).
//!
//! Pages:
//! - Users: <https://developers.docusign.com/docs/esign-rest-api/reference/users/users/>
//! - Permission profiles:
//!   <https://developers.docusign.com/docs/esign-rest-api/reference/accounts/accountpermissionprofiles/list/>
//! - User info: <https://developers.docusign.com/platform/auth/reference/user-info>
//! - Authorization code grant (PKCE): <https://developers.docusign.com/platform/auth/authcode>
//! - Resource limits: <https://developers.docusign.com/platform/resource-limits>,
//!   <https://developers.docusign.com/docs/esign-rest-api/esign101/rules-and-limits/>
//! - The OpenAPI description: <https://github.com/docusign/OpenAPI-Specifications>
//!   (`esignature.rest.swagger-v2.1.json`)

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::oauth2::{self, OAuth2Spec, OAUTH2_TOKEN_URL};
use castellan_core::connector::settings::{SettingField, SettingKind, BASE_URL, ORGANIZATION_ID};
use castellan_core::connector::{
    AppMember, AppRole, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E,
    ConnectorInfo, MemberPage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{confirmed, App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, unexpected};
use crate::sdk::http::{segment, Request};
use crate::sdk::members::{email_local_part, given, normalize_email};
use crate::sdk::rest::json_body;
use crate::sdk::roles::{known, ranked};
use crate::sdk::saas;
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{map_error, next_start, profiles, throttle, DsUser};
pub use model::{ACCOUNT_ADMINISTRATOR, ROLES, SENDER, VIEWER};

/// The connector's name in the catalog.
pub const NAME: &str = "docusign";
pub(crate) const APP: &str = "DocuSign";
/// DocuSign's account server (production), whose `/oauth/*` issues and describes tokens.
pub const ACCOUNT_SERVER: &str = "https://account.docusign.com";
/// Users per page: the list's largest `count`.
const PAGE: usize = 100;

type R<T> = Result<T, E>;

/// The DocuSign connector ([`AppConnector`] of [`DocuSign`]); the registry builds it with
/// [`saas::connector`].
pub type DocuSignConnector = AppConnector<DocuSign>;

/// DocuSign eSignature as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DocuSign;

/// DocuSign's OAuth 2.0 server: the authorization code grant with PKCE on the production
/// account server (a developer account's hub sets `account-d.docusign.com`).
pub fn oauth2_spec() -> OAuth2Spec {
    OAuth2Spec {
        authorize_url: Some(format!("{ACCOUNT_SERVER}/oauth/auth")),
        token_url: Some(format!("{ACCOUNT_SERVER}/oauth/token")),
        scopes: "signature extended".into(),
        pkce: true,
    }
}

#[async_trait]
impl App for DocuSign {
    const NAME: &'static str = NAME;
    type Api<'a> = Account<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Text, Url};
        let account = SettingField::new(ORGANIZATION_ID, "Account ID", Text, true)
            .help("Settings → Apps and Keys → API Account ID (a GUID)");
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: ROLES.map(String::from).into(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, ListRoles],
            default_role: SENDER.to_owned(),
            sign_in: SignIn::OAuth2,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true).help(
                    "the account's base URI with /restapi, e.g. https://na3.docusign.net/restapi \
                     (https://demo.docusign.net/restapi for a developer account)",
                ),
                std::iter::once(account).chain(oauth2::fields(&oauth2_spec())),
            ),
        }
    }

    /// Reads the token's user (`/oauth/userinfo`), which must be in the hub's account and
    /// manage users there.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let account = Account::new(http, ctx, &token, None)?;
        let me = userinfo(http, ctx, &token, &account.id).await?;
        account.manager(&me, "sign in").await?;
        debug!(user_id = %me, "signed in to DocuSign");
        Ok(Session {
            token,
            data: json!({ "user_id": me }),
        })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Account<'a>> {
        let me = s.data["user_id"].as_str().map(str::to_owned);
        Account::new(http, ctx, &s.token, me)
    }
}

/// The token's user id (`sub` of `GET /oauth/userinfo` on the account server, the origin of
/// the hub's OAuth token URL), which must be a member of `account`.
///
/// Errors: `BadCredentials` for a token the account server refuses; `InsufficientPermission`
/// when the user is not in the account; `AppChanged` without a `sub`.
async fn userinfo(http: &HttpClient, ctx: &Ctx, token: &SecretString, account: &str) -> R<String> {
    let what = "read the token's user";
    let token_url = ctx.setting(OAUTH2_TOKEN_URL).map(str::trim);
    let server = token_url
        .filter(|u| !u.is_empty())
        .and_then(|u| url::Url::parse(u).ok())
        .map_or(ACCOUNT_SERVER.to_owned(), |u| {
            u.origin().ascii_serialization()
        });
    let mut at = ctx.clone();
    at.base_url = server;
    let api = http
        .endpoint_for(&at)?
        .with_auth(Auth::Bearer(token.clone()));
    let r = api.get("/oauth/userinfo").send().await?;
    let v = json_body(r, APP, what, |r| map_error(r, what))?;
    let me = crate::sdk::json::id(&v["sub"]).ok_or_else(|| unexpected(APP, what))?;
    let accounts = crate::sdk::json::items(&v["accounts"]);
    let member = |a: &Value| crate::sdk::json::text(&a["account_id"]).eq_ignore_ascii_case(account);
    match accounts.is_empty() || accounts.iter().any(member) {
        true => Ok(me),
        false => Err(E::InsufficientPermission(format!(
            "the token's DocuSign user is not a member of the account {account}"
        ))),
    }
}

/// DocuSign's eSignature API as the automation account (user id `me`) for one call, in its
/// account.
#[derive(Debug)]
pub struct Account<'a> {
    api: Endpoint<'a>,
    /// The account id.
    id: String,
    me: Option<String>,
}

impl<'a> Account<'a> {
    /// The API at the hub's base URL with the OAuth token (Bearer), in the hub's account.
    ///
    /// Errors: `Configuration` without an account id, or for a refused base URL.
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: Option<String>) -> R<Self> {
        let id = ctx.organization_id.as_deref().map(str::trim).unwrap_or("");
        if id.is_empty() {
            let why = "the hub has no DocuSign account id (its organization id)";
            return Err(E::Configuration(why.into()));
        }
        let api = http.endpoint_for(ctx)?;
        let api = api
            .with_auth(Auth::Bearer(token.clone()))
            .with_throttle(throttle);
        Ok(Self {
            api,
            id: id.to_owned(),
            me,
        })
    }

    /// `/v2.1/accounts/{accountId}{rest}`.
    fn path(&self, rest: &str) -> String {
        format!("/v2.1/accounts/{}{rest}", segment(&self.id))
    }

    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// The user `id`, `None` when DocuSign has none.
    async fn user(&self, id: &str) -> R<Option<DsUser>> {
        let what = "read a user";
        let req = self.api.get(&self.path(&format!("/users/{}", segment(id))));
        let got = found(Self::send(req, what).await)?;
        got.map(|v| DsUser::parse(&v, what)).transpose()
    }

    /// The user `id` (the automation account), who must manage users.
    ///
    /// Errors: `InsufficientPermission` otherwise; `Configuration` when the account has no
    /// such user.
    async fn manager(&self, id: &str, what: &str) -> R<()> {
        let Some(me) = self.user(id).await? else {
            return Err(E::Configuration(format!(
                "DocuSign account {} has no user {id} (the token's): {what}",
                self.id
            )));
        };
        match me.manages_users() {
            true => Ok(()),
            false => Err(E::InsufficientPermission(format!(
                "the token's DocuSign user has the profile {}: give it Account Administrator, or \
                 a permission profile that can manage users",
                me.role().unwrap_or_default()
            ))),
        }
    }

    /// The permission profiles as `(id, name)`.
    async fn profile_list(&self) -> R<Vec<(String, String)>> {
        let what = "list permission profiles";
        let v = Self::send(self.api.get(&self.path("/permission_profiles")), what).await?;
        profiles(&v, what)
    }

    /// The id of the profile named `role`.
    ///
    /// Errors: `Configuration` when the account has none.
    async fn profile_id(&self, role: &str) -> R<String> {
        let list = self.profile_list().await?;
        let hit = list.into_iter().find(|(_, name)| name == role);
        hit.map(|(id, _)| id)
            .ok_or_else(|| E::Configuration(format!("DocuSign has no permission profile {role:?}")))
    }

    /// Adds the user `to` with the profile `role` (`POST /users`); sent once. DocuSign reopens
    /// a closed user of that address.
    async fn add(&self, name: &str, to: &Invitee<'_>, what: &str) -> R<AppMember> {
        let profile = self.profile_id(to.role).await?;
        let new = json!({ "userName": name, "email": to.email, "permissionProfileId": profile });
        let req = self.api.request(Method::POST, &self.path("/users"));
        let v = Self::send(req.json(json!({ "newUsers": [new] })), what).await?;
        let made = DsUser::list(&v, "newUsers", what)?.into_iter().next();
        let made = made.ok_or_else(|| unexpected(APP, what))?;
        if let Some(e) = made.error_details() {
            return Err(e.error(what));
        }
        debug!(member = %made.user_id, "added a DocuSign user");
        match made.role() {
            Some(_) => Ok(made.member()),
            None => crate::sdk::builder::existing(self, &made.user_id).await,
        }
    }
}

#[async_trait]
impl Members for Account<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        let me = self.me.clone().ok_or_else(|| unexpected(APP, "sign in"))?;
        self.manager(&me, "read the account's user").await
    }

    /// Users, 100 a page, by `start_position`.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let start: usize = match cursor {
            None => 0,
            Some(c) => c
                .trim()
                .parse()
                .map_err(|_| E::Configuration(format!("not a DocuSign cursor: {c:?}")))?,
        };
        let what = "list users";
        let q = [
            ("start_position", start.to_string()),
            ("count", PAGE.to_string()),
        ];
        let v = Self::send(self.api.get(&self.path("/users")).query(&q), what).await?;
        let users = DsUser::list(&v, "users", what)?;
        Ok(MemberPage {
            members: users.iter().map(DsUser::member).collect(),
            next: next_start(&v, start).map(|n| n.to_string()),
        })
    }

    /// A user by id or email (with `@`).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        match id.trim() {
            "" => Ok(None),
            email if email.contains('@') => self.by_email(&normalize_email(email)?).await,
            id => Ok(self.user(id).await?.as_ref().map(DsUser::member)),
        }
    }

    /// The user with this address (`?email=`), an open membership before a closed one.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let what = "find a user by email";
        let q = [("email", email.to_owned())];
        let v = Self::send(self.api.get(&self.path("/users")).query(&q), what).await?;
        let mut hits: Vec<DsUser> = DsUser::list(&v, "users", what)?
            .into_iter()
            .filter(|u| u.email() == email)
            .collect();
        hits.sort_by_key(DsUser::closed);
        Ok(hits.first().map(DsUser::member))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me
            .as_deref()
            .is_some_and(|me| me.eq_ignore_ascii_case(&m.app_member_id))
    }

    /// The account's permission profiles by name: the built-in ones first.
    async fn roles(&self) -> R<Vec<AppRole>> {
        let names = self.profile_list().await?.into_iter().map(|(_, n)| n);
        Ok(ranked(names, &ROLES)
            .iter()
            .map(|r| AppRole::plain(r))
            .collect())
    }

    /// A profile name the account has.
    async fn role(&self, role: &str) -> R<String> {
        let names: Vec<String> = self.roles().await?.into_iter().map(|r| r.role).collect();
        known(APP, role, &names).map(|()| role.to_owned())
    }

    /// Gives the user the profile (`PUT /users/{userId}`), then reads them again.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let what = "change a user's permission profile";
        let profile = self.profile_id(role).await?;
        let path = self.path(&format!("/users/{}", segment(&m.app_member_id)));
        let req = self.api.request(Method::PUT, &path);
        let body = json!({ "permissionProfileId": profile });
        Self::send(req.json(body).idempotent(), what).await?;
        confirmed(self, &m.app_member_id, role).await
    }

    /// A closed user is added again with the address, which reopens the membership.
    async fn reactivate(&self, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
        let name = m
            .name
            .clone()
            .unwrap_or_else(|| email_local_part(to.email).to_owned());
        self.add(&name, to, "reopen a user").await
    }

    /// DocuSign has no usernames: the address names the user.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Adds the user with the profile; DocuSign emails an activation. Sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let name = given(&to.inv.name).unwrap_or_else(|| email_local_part(to.email));
        self.add(name, to, "add a user").await
    }

    /// Closes the membership (`DELETE /users`); a user DocuSign does not have is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let what = "close a user";
        let body = json!({ "users": [{ "userId": m.app_member_id }] });
        let req = self.api.request(Method::DELETE, &self.path("/users"));
        let v = match Self::send(req.json(body).idempotent(), what).await {
            Err(E::NotFound(_)) => return Ok(()),
            v => v?,
        };
        let closed = DsUser::list(&v, "users", what)?;
        match closed.first().and_then(DsUser::error_details) {
            Some(e) if !e.no_user() => Err(e.error(what)),
            _ => Ok(()),
        }
    }
}
