//! HubSpot, through its user provisioning API (`/settings/v3/users`) with a private app's access
//! token (Bearer) that has the `settings.users.read` and `settings.users.write` scopes.
//!
//! Roles are the account's own, as on the wire: a member's role is its role id (`roleId`, or
//! each of `roleIds`), labelled with the role's name from `GET /settings/v3/users/roles`
//! ([`Capability::ListRoles`]); `user` is a user with no role (HubSpot's default permissions,
//! the default role) and `super_admin` a super admin (read only: the API makes none).
//!
//! - Sign-in: `GET /settings/v3/users/?limit=1` (the token is valid and may read users), then
//!   `POST /oauth/v2/private-apps/get/access-token-info` (the token's scopes include
//!   `settings.users.write`; its `userId` is the automation account, which never changes or
//!   removes itself).
//! - Listing: `GET /settings/v3/users/?limit=100&after=<paging.next.after>`.
//! - Lookups: `GET /settings/v3/users/{userId}`; by email with `?idProperty=EMAIL`.
//! - Invitation: `POST /settings/v3/users/` with `email`, `sendWelcomeEmail: true`, the names
//!   and `roleId` (none for `user`); HubSpot's welcome email asks them to set a password.
//! - Role change: one `PUT /settings/v3/users/{userId}` with `roleId` (HubSpot replaces the
//!   role; `null` for `user`, which the reference does not show: unverified against HubSpot).
//! - Removal: `DELETE /settings/v3/users/{userId}` (HubSpot has no deactivation: the seat is
//!   freed with the user).
//! - Rate limits: 429 with `policyName` in the body (`SECONDLY`, `TEN_SECONDLY_ROLLING`:
//!   [`model::retry_hint`]) and the `X-HubSpot-RateLimit-*` headers; the SDK waits and retries
//!   reads. Errors: `{status, message, correlationId, category}` ([`model::map_error`]).
//!
//! Not modelled: teams (`primaryTeamId`, `GET /settings/v3/users/teams`) and seats. Pages:
//! - User provisioning:
//!   <https://developers.hubspot.com/docs/api-reference/legacy/account/settings/user-provisioning/guide>
//! - Create a user: <https://developers.hubspot.com/docs/api-reference/settings-user-provisioning-v3/users/post-settings-v3-users->
//! - Remove a user: <https://developers.hubspot.com/docs/api-reference/legacy/account/settings/user-provisioning/users/delete-user>
//! - Private apps (token and its scopes): <https://developers.hubspot.com/docs/api/private-apps>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppRole, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E,
    ConnectorInfo, MemberPage, SignIn,
};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, unexpected};
use crate::sdk::http::{segment, Request};
use crate::sdk::members::{given, normalize_email};
use crate::sdk::rest::json_body;
use crate::sdk::roles::known;
use crate::sdk::saas::{self, next_cursor};
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{map_error, retry_hint, HsUser};
pub use model::{SUPER_ADMIN, USER};

/// The connector's name in the catalog.
pub const NAME: &str = "hubspot";
pub(crate) const APP: &str = "HubSpot";
const USERS: &str = "/settings/v3/users/";
const ROLES: &str = "/settings/v3/users/roles";
const TOKEN_INFO: &str = "/oauth/v2/private-apps/get/access-token-info";
/// The scopes the private app needs.
pub const SCOPES: [&str; 2] = ["settings.users.read", "settings.users.write"];
/// Users per page: the API's largest `limit`.
const PAGE: usize = 100;

type R<T> = Result<T, E>;

/// The HubSpot connector ([`AppConnector`] of [`HubSpot`]); the registry builds it with
/// [`saas::connector`].
pub type HubSpotConnector = AppConnector<HubSpot>;

/// HubSpot as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct HubSpot;

#[async_trait]
impl App for HubSpot {
    const NAME: &'static str = NAME;
    type Api<'a> = Portal<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Url};
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: vec![USER.to_owned()],
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, ListRoles],
            default_role: USER.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true)
                    .help("https://api.hubapi.com (HubSpot's API, for every account)"),
                [SettingField::new(API_TOKEN, "Private app access token", Secret, true).help(
                    "Settings → Integrations → Private Apps (a super admin): a private app with \
                     the settings.users.read and settings.users.write scopes",
                )],
            ),
        }
    }

    /// Reads one user with the token, then its scopes (it must manage users).
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let portal = Portal::new(http, ctx, &token, None)?;
        let q = [("limit", "1".to_owned())];
        Portal::send(portal.api.get(USERS).query(&q), "sign in").await?;
        let info = portal.token_info(&token).await?;
        debug!(hub_id = %info["hubId"], "signed in to HubSpot");
        // The token's own user: without it the automation account could remove itself.
        let me = crate::sdk::json::id(&info["userId"])
            .ok_or_else(|| E::AppChanged("HubSpot's token information names no userId".into()))?;
        let data = json!({ "user_id": me, "hub_id": info["hubId"] });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Portal<'a>> {
        let me = s.data["user_id"].as_str().map(str::to_owned);
        Portal::new(http, ctx, &s.token, me)
    }
}

/// The user provisioning API as the private app for one call (`me`: the user id of its token).
#[derive(Debug)]
pub struct Portal<'a> {
    api: Endpoint<'a>,
    token: SecretString,
    me: Option<String>,
}

impl<'a> Portal<'a> {
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: Option<String>) -> R<Self> {
        let api = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()));
        let api = api.with_retry_hint(retry_hint);
        let token = token.clone();
        Ok(Self { api, token, me })
    }

    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// The token's metadata (`userId`, `hubId`, `scopes`), which must include [`SCOPES`].
    ///
    /// Errors: `InsufficientPermission` naming the missing scopes.
    async fn token_info(&self, token: &SecretString) -> R<Value> {
        let what = "read the token's scopes";
        let body = json!({ "tokenKey": token.expose_secret() });
        // Safe to send twice: it reads.
        let req = self.api.request(Method::POST, TOKEN_INFO).json(body);
        let info = Self::send(req.idempotent(), what).await?;
        let scopes: Vec<&str> = info["scopes"]
            .as_array()
            .ok_or_else(|| unexpected(APP, what))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let has = |s: &str| scopes.contains(&s);
        crate::sdk::members::require_rights(&SCOPES, has, "give the private app these scopes")?;
        Ok(info)
    }

    /// A user by id or email (`idProperty=EMAIL`), `None` when HubSpot has none.
    async fn user(&self, key: &str, by_email: bool) -> R<Option<AppMember>> {
        let what = "read a user";
        let mut req = self.api.get(&format!("{USERS}{}", segment(key)));
        if by_email {
            req = req.query(&[("idProperty", "EMAIL".to_owned())]);
        }
        let got = found(Self::send(req, what).await)?;
        let user = got.map(|v| HsUser::parse(&v, what)).transpose()?;
        Ok(user.map(HsUser::member))
    }

    /// The account's roles as sent: `(id, name)`.
    async fn role_list(&self) -> R<Vec<(String, String)>> {
        let what = "list roles";
        let v = Self::send(self.api.get(ROLES), what).await?;
        let roles = v["results"]
            .as_array()
            .ok_or_else(|| unexpected(APP, what))?;
        let text = |r: &Value, k: &str| r[k].as_str().map(str::to_owned);
        Ok(roles
            .iter()
            .filter_map(|r| Some((text(r, "id")?, text(r, "name")?)))
            .collect())
    }
}

#[async_trait]
impl Members for Portal<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.token_info(&self.token).await.map(drop)
    }

    /// Users, 100 a page, after `paging.next.after`.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let mut q = vec![("limit", PAGE.to_string())];
        q.extend(cursor.map(|c| ("after", c.to_owned())));
        let what = "list users";
        let v = Self::send(self.api.get(USERS).query(&q), what).await?;
        let members = HsUser::page(&v, what)?.into_iter().map(HsUser::member);
        Ok(MemberPage {
            members: members.collect(),
            next: next_cursor(&v, "/paging/next/after"),
        })
    }

    /// A user by id (digits) or email (with `@`).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        match !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            true => self.user(id, false).await,
            false => Ok(None),
        }
    }

    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let m = self.user(email, true).await?;
        Ok(m.filter(|m| m.email.as_deref() == Some(email)))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.as_deref() == Some(m.app_member_id.as_str())
    }

    /// The account's roles (ids labelled with their names), then `user`.
    async fn roles(&self) -> R<Vec<AppRole>> {
        let mut roles: Vec<AppRole> = self
            .role_list()
            .await?
            .into_iter()
            .map(|(role, label)| AppRole { role, label })
            .collect();
        roles.push(AppRole {
            role: USER.to_owned(),
            label: "User (no role)".to_owned(),
        });
        Ok(roles)
    }

    /// `user`, or a role id of the account; `super_admin` is refused (the API makes none).
    async fn role(&self, role: &str) -> R<String> {
        if role == USER {
            return Ok(role.to_owned());
        }
        if role == SUPER_ADMIN {
            let why =
                "HubSpot's API cannot make super admins: a super admin does, in Users & Teams";
            return Err(E::Configuration(why.into()));
        }
        let ids: Vec<String> = self
            .role_list()
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        known(APP, role, &ids).map(|()| role.to_owned())
    }

    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let what = "change a user's role";
        let role_id = (role != USER).then_some(role);
        let path = format!("{USERS}{}", segment(&m.app_member_id));
        let req = self.api.request(Method::PUT, &path);
        let v = Self::send(req.json(json!({ "roleId": role_id })).idempotent(), what).await?;
        Ok(HsUser::parse(&v, what)?.member())
    }

    /// HubSpot has no usernames: the address names the user.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Creates the user with the role and HubSpot's welcome email; sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let mut body = json!({ "email": to.email, "sendWelcomeEmail": true });
        if let Some(name) = given(&to.inv.name) {
            let (first, last) = name.split_once(' ').unwrap_or((name, ""));
            body["firstName"] = json!(first);
            if !last.trim().is_empty() {
                body["lastName"] = json!(last.trim());
            }
        }
        if to.role != USER {
            body["roleId"] = json!(to.role);
        }
        let v = Self::send(
            self.api.request(Method::POST, USERS).json(body),
            "create a user",
        )
        .await?;
        let u = HsUser::parse(&v, "create a user")?;
        debug!(member = %u.id, "created a HubSpot user");
        Ok(u.member())
    }

    /// Deletes the user; one already gone is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let path = format!("{USERS}{}", segment(&m.app_member_id));
        let req = self.api.request(Method::DELETE, &path);
        saas::deleted(req, |r| map_error(r, "remove a user")).await
    }
}
