//! Zoom, through its REST API v2 (`https://api.zoom.us/v2`) with the access token of a
//! Server-to-Server OAuth app (Bearer). The connector is given the token; the hub gets it from
//! the app's account credentials (`POST https://zoom.us/oauth/token` with `grant_type=
//! account_credentials` and the account id, the client id and secret as Basic), and a new one
//! every hour (Zoom's tokens of this grant live an hour and have no refresh token). The app
//! needs the scopes `user:read:admin`, `user:write:admin`, `role:read:admin` and
//! `role:write:admin` (or their granular equivalents).
//!
//! Members are the account's users, in all three of Zoom's states: `active`, `pending` (invited,
//! not confirmed yet: `invited`) and `inactive` (deactivated). Roles are Zoom's roles: `owner`,
//! `admin` and `member` for Zoom's system roles (ids `0`, `1`, `2`), a custom role by its id
//! (labelled with its name, [`Capability::ListRoles`]). The license (`type`: 1 Basic,
//! 2 Licensed) is no role: new users get the hub's `license_type` (default Licensed), and a
//! role change never touches it.
//!
//! - Sign-in: `GET /users/me`, the user the token acts as (for a Server-to-Server OAuth app, the
//!   user who owns the app: an assumption, the reference does not say), who must be the owner or
//!   an admin; that user is the automation account and never changes or removes itself.
//! - Listing: `GET /users?status=active|pending|inactive&page_size=300`, each status in turn,
//!   paged with `next_page_token`.
//! - Lookups: `GET /users/{userId}`, which takes an id or an email address.
//! - Invitation: `POST /users` with `action: create` and `user_info` (`email`, `type`,
//!   `first_name`, `last_name`): Zoom emails the confirmation link; the user is `pending`, a
//!   Member, until they confirm. Another role is then assigned as for a role change.
//! - Role change: `POST /roles/{roleId}/members` with the user's id gives `admin` or a custom
//!   role (assumption: Zoom replaces the user's role, as a user holds one); `member` is
//!   `DELETE /roles/{roleId}/members/{userId}` of the role held (Zoom makes them a Member).
//!   The user is read back to confirm. The owner's role never changes here.
//! - Removal, as Zoom's "Removing a user from your account" describes: an admin is made a member
//!   first, then `DELETE /users/{userId}?action=disassociate` (the API's default: the user keeps
//!   a free account of their own and their data, the license returns to the account; the only
//!   action for a pending user), or `action=delete` (everything deleted for good) when the hub's
//!   `remove_with` says `delete` (accounts with a managed domain cannot disassociate its users).
//!   Already gone is done.
//! - Keep-seat: `PUT /users/{userId}/status` with `deactivate` (an admin made a member first):
//!   the account and its settings stay, signing in does not; Zoom takes the licenses back.
//!   Inviting the address again activates the user (`activate`), gives the hub's license type
//!   back (`PATCH /users/{userId}` with `type`) and then the role.
//! - Rate limits: 429 with `X-RateLimit-Type` (`QPS` or `Daily-limit`), `X-RateLimit-Category`,
//!   `X-RateLimit-Limit`, `X-RateLimit-Remaining` and, for a daily limit, `Retry-After` as an
//!   RFC 3339 date (read by the SDK); a per-second 429 without one waits a second
//!   ([`model::per_second`]). Errors: `{"code", "message"}` ([`model::map_error`]).
//!
//! Not modelled: sub accounts, groups, custom attributes, `ssoCreate`/`autoCreate`, transfers of
//! meetings and recordings on removal. Pages:
//! - Users API: <https://developers.zoom.us/docs/api/users/>
//! - Roles (Accounts API): <https://developers.zoom.us/docs/api/accounts/>
//! - Pagination: <https://developers.zoom.us/docs/api/pagination>
//! - Errors: <https://developers.zoom.us/docs/api/errors/>
//! - Rate limits: <https://developers.zoom.us/docs/api/rate-limits/>
//! - Server-to-Server OAuth: <https://developers.zoom.us/docs/internal-apps/s2s-oauth/>
//! - Removing a user from your account:
//!   <https://support.zoom.us/hc/en-us/articles/115005269946-Removing-a-user-from-your-account>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppRole, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E,
    ConnectorInfo, MemberPage, MemberState, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{confirmed, existing, App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, unexpected};
use crate::sdk::http::{segment, Request};
use crate::sdk::members::{email_local_part, first_and_last, given, normalize_email};
use crate::sdk::rest::json_body;
use crate::sdk::roles::known;
use crate::sdk::saas::{self, next_cursor};
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{map_error, role_id, role_name, ZoomUser};
pub use model::{ADMIN, MEMBER, OWNER};

/// The connector's name in the catalog.
pub const NAME: &str = "zoom";
pub(crate) const APP: &str = "Zoom";
/// The hub setting choosing the license of new users: [`LICENSED`] (default) or [`BASIC`].
pub const LICENSE_TYPE: &str = "license_type";
/// [`LICENSE_TYPE`]: Zoom's `type` 2, a paid license.
pub const LICENSED: &str = "licensed";
/// [`LICENSE_TYPE`]: Zoom's `type` 1, no paid license.
pub const BASIC: &str = "basic";
/// The hub setting choosing how a member is removed: [`DISASSOCIATE`] (default) or [`DELETE`].
pub const REMOVE_WITH: &str = "remove_with";
/// [`REMOVE_WITH`]: unlink the user, who keeps a free Zoom account and their data.
pub const DISASSOCIATE: &str = "disassociate";
/// [`REMOVE_WITH`]: delete the user and their data for good.
pub const DELETE: &str = "delete";
const USERS: &str = "/users";
/// Users per page: the API's largest `page_size`.
const PAGE: usize = 300;
/// Listing cursors: each status in turn, with Zoom's `next_page_token`.
const LISTINGS: [&str; 3] = ["active:", "pending:", "inactive:"];

type R<T> = Result<T, E>;

/// The Zoom connector ([`AppConnector`] of [`Zoom`]); the registry builds it with
/// [`saas::connector`].
pub type ZoomConnector = AppConnector<Zoom>;

/// Zoom as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Zoom;

#[async_trait]
impl App for Zoom {
    const NAME: &'static str = NAME;
    type Api<'a> = Account<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Choice, Secret, Url};
        let choice = |a: &str, b: &str| Choice(vec![a.to_owned(), b.to_owned()]);
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: vec![ADMIN.to_owned(), MEMBER.to_owned()],
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, KeepSeat, ListRoles],
            default_role: MEMBER.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true)
                    .help("https://api.zoom.us/v2 (Zoom's REST API, for every account)"),
                [
                    SettingField::new(API_TOKEN, "Access token", Secret, true).help(
                        "an access token of a Server-to-Server OAuth app (App Marketplace → \
                         Develop → Build app) made by the owner or an admin, with the scopes \
                         user:read:admin, user:write:admin, role:read:admin, role:write:admin; \
                         from its account credentials, renewed hourly",
                    ),
                    SettingField::new(
                        LICENSE_TYPE,
                        "License of new users",
                        choice(LICENSED, BASIC),
                        false,
                    )
                    .default_value(LICENSED)
                    .help("licensed (default): Zoom's type 2, a paid license; basic: type 1"),
                    SettingField::new(REMOVE_WITH, "Removal", choice(DISASSOCIATE, DELETE), false)
                        .default_value(DISASSOCIATE)
                        .help(
                            "disassociate (default): the user keeps a free account and their \
                             data; delete: the user and their data are deleted for good",
                        ),
                ],
            ),
        }
    }

    /// Reads the token's user (`/users/me`), who must be the owner or an admin.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let me = Account::new(http, ctx, &token, None)?.me("sign in").await?;
        debug!(user_id = %me.id, "signed in to Zoom");
        let data = json!({ "user_id": me.id });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Account<'a>> {
        Account::new(http, ctx, &s.token, s.data["user_id"].as_str())
    }
}

/// Zoom's REST API as the token's user for one call, with the hub's license type and removal.
#[derive(Debug)]
pub struct Account<'a> {
    api: Endpoint<'a>,
    me: Option<String>,
    /// Zoom's `type` of new users.
    license: u64,
    /// `DELETE /users/{id}`'s `action`.
    removal: &'static str,
}

impl<'a> Account<'a> {
    /// The API at the hub's base URL with `token` and the hub's settings.
    ///
    /// Errors: `Configuration` for a refused base URL or a setting's unknown value.
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: Option<&str>) -> R<Self> {
        let bad = |key: &str, v: &str| E::Configuration(format!("{key} cannot be {v:?}"));
        let license = match ctx.setting(LICENSE_TYPE).unwrap_or(LICENSED) {
            LICENSED => 2,
            BASIC => 1,
            v => return Err(bad(LICENSE_TYPE, v)),
        };
        let removal = match ctx.setting(REMOVE_WITH).unwrap_or(DISASSOCIATE) {
            DISASSOCIATE => DISASSOCIATE,
            DELETE => DELETE,
            v => return Err(bad(REMOVE_WITH, v)),
        };
        let api = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()))
            .with_throttle(model::per_second);
        let me = me.map(str::to_owned);
        Ok(Self {
            api,
            me,
            license,
            removal,
        })
    }

    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// Sends a write Zoom answers with no body (204): any success is done.
    async fn done(req: Request<'_>, what: &str) -> R<()> {
        let r = req.send().await?;
        match r.status.is_success() {
            true => Ok(()),
            false => Err(map_error(&r, what)),
        }
    }

    /// The token's user, the owner or an admin.
    ///
    /// Errors: `InsufficientPermission` for a member or a custom role.
    async fn me(&self, what: &str) -> R<ZoomUser> {
        let me = ZoomUser::parse(&Self::send(self.api.get("/users/me"), what).await?, what)?;
        match me.role().as_str() {
            OWNER | ADMIN => Ok(me),
            role => Err(E::InsufficientPermission(format!(
                "the token's Zoom user has the role {role}: the app must be made by the owner or \
                 an admin"
            ))),
        }
    }

    /// A user by id or email address, `None` when the account has none.
    async fn user(&self, key: &str) -> R<Option<ZoomUser>> {
        let what = "read a user";
        let req = self.api.get(&format!("{USERS}/{}", segment(key)));
        let got = found(Self::send(req, what).await)?;
        got.map(|v| ZoomUser::parse(&v, what)).transpose()
    }

    /// `PUT /users/{id}/status` with `action` (`activate`, `deactivate`); safe to send twice.
    async fn status(&self, id: &str, action: &str) -> R<()> {
        let path = format!("{USERS}/{}/status", segment(id));
        let req = self.api.request(Method::PUT, &path);
        let req = req.json(json!({ "action": action })).idempotent();
        Self::done(req, &format!("{action} a user")).await
    }

    /// Makes `m` a Member (Zoom's advice before a removal or a deactivation): takes the role
    /// they hold away, unless it is `member` already.
    async fn to_member(&self, m: &AppMember) -> R<()> {
        let Some(held) = m.roles.first().filter(|r| *r != MEMBER) else {
            return Ok(());
        };
        let path = format!(
            "/roles/{}/members/{}",
            segment(role_id(held)),
            segment(&m.app_member_id)
        );
        let req = self.api.request(Method::DELETE, &path).idempotent();
        Self::done(req, "unassign a role").await
    }

    /// The account's roles as sent: `(id, name)`.
    async fn role_list(&self) -> R<Vec<(String, String)>> {
        let what = "list roles";
        let v = Self::send(self.api.get("/roles"), what).await?;
        let roles = v["roles"].as_array().ok_or_else(|| unexpected(APP, what))?;
        let text = |r: &Value, k: &str| crate::sdk::json::id(&r[k]);
        Ok(roles
            .iter()
            .filter_map(|r| Some((text(r, "id")?, text(r, "name")?)))
            .collect())
    }
}

/// `Conflict` for the account owner, whose role and account the connector never changes.
fn not_owner(m: &AppMember, what: &str) -> R<()> {
    match m.roles.iter().any(|r| r == OWNER) {
        true => Err(E::Conflict(format!(
            "Zoom's account owner cannot be {what} (ownership moves in Zoom's web portal)"
        ))),
        false => Ok(()),
    }
}

#[async_trait]
impl Members for Account<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.me("read the account").await.map(drop)
    }

    /// Active, then pending, then inactive users, 300 a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (i, token) = saas::phase(APP, cursor, &LISTINGS)?;
        let status = LISTINGS[i].trim_end_matches(':');
        let mut q = vec![
            ("status", status.to_owned()),
            ("page_size", PAGE.to_string()),
        ];
        q.extend(token.map(|t| ("next_page_token", t.to_owned())));
        let what = "list users";
        let v = Self::send(self.api.get(USERS).query(&q), what).await?;
        let members = ZoomUser::page(&v, what)?.into_iter().map(ZoomUser::member);
        let next = next_cursor(&v, "/next_page_token");
        Ok(MemberPage {
            members: members.collect(),
            next: saas::next_phase(&LISTINGS, i, next),
        })
    }

    /// A user by id, or by email address (with `@`).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        match id.is_empty() {
            true => Ok(None),
            false => Ok(self.user(id).await?.map(ZoomUser::member)),
        }
    }

    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let m = self.user(email).await?.map(ZoomUser::member);
        Ok(m.filter(|m| m.email.as_deref() == Some(email)))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.as_deref() == Some(m.app_member_id.as_str())
    }

    /// The account's roles: the system ones by name, custom ones by id with their names.
    async fn roles(&self) -> R<Vec<AppRole>> {
        let roles = self.role_list().await?.into_iter();
        Ok(roles
            .map(|(id, label)| AppRole {
                role: role_name(&id),
                label,
            })
            .collect())
    }

    /// `admin`, `member` or a custom role's id; `owner` is refused (the API makes none).
    async fn role(&self, role: &str) -> R<String> {
        match role {
            ADMIN | MEMBER => Ok(role.to_owned()),
            OWNER => Err(E::Configuration(
                "Zoom's API makes no owner: the owner transfers ownership in Zoom's web portal"
                    .into(),
            )),
            _ => {
                let roles = self.role_list().await?.into_iter();
                let names: Vec<String> = roles.map(|(id, _)| role_name(&id)).collect();
                let custom: Vec<String> = names.into_iter().filter(|r| r != OWNER).collect();
                known(APP, role, &custom).map(|()| role.to_owned())
            }
        }
    }

    /// Assigns `admin` or a custom role, or unassigns the held one for `member`; read back.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        not_owner(&m, "given another role")?;
        if role == MEMBER {
            self.to_member(&m).await?;
        } else {
            let path = format!("/roles/{}/members", segment(role_id(role)));
            let body = json!({ "members": [{ "id": m.app_member_id }] });
            // Safe to send twice: it sets the user's one role.
            let req = self.api.request(Method::POST, &path).json(body);
            Self::send(req.idempotent(), "assign a role").await?;
        }
        confirmed(self, &m.app_member_id, role).await
    }

    /// Activates a deactivated user and gives the hub's license back; read back.
    async fn reactivate(&self, m: AppMember, _to: &Invitee<'_>) -> R<AppMember> {
        let id = m.app_member_id.as_str();
        self.status(id, "activate").await?;
        let after = self.user(id).await?;
        if after.as_ref().and_then(|u| u.kind) != Some(self.license) {
            let path = format!("{USERS}/{}", segment(id));
            let body = json!({ "type": self.license });
            let req = self.api.request(Method::PATCH, &path).json(body);
            Self::done(req.idempotent(), "give a license").await?;
        }
        existing(self, id).await
    }

    /// Zoom has no usernames: the address names the user.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Creates the user (`action: create`): Zoom emails the confirmation link. Sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "create a user";
        let name = given(&to.inv.name).unwrap_or_else(|| email_local_part(to.email));
        let (first, last) = first_and_last(name);
        let mut info = json!({ "email": to.email, "type": self.license, "first_name": first });
        if let Some(last) = last {
            info["last_name"] = json!(last);
        }
        let body = json!({ "action": "create", "user_info": info });
        let v = Self::send(self.api.request(Method::POST, USERS).json(body), what).await?;
        let m = ZoomUser::parse(&v, what)?.member();
        debug!(member = %m.app_member_id, "created a Zoom user");
        Ok(m)
    }

    /// Disassociates (or deletes, as the hub says) the user, an admin made a member first; a
    /// pending user is disassociated, as Zoom asks. Gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        not_owner(&m, "removed")?;
        crate::sdk::errors::gone(self.to_member(&m).await)?;
        let action = match m.state {
            MemberState::Invited => DISASSOCIATE,
            _ => self.removal,
        };
        let path = format!("{USERS}/{}", segment(&m.app_member_id));
        let req = self.api.request(Method::DELETE, &path);
        let req = req.query(&[("action", action.to_owned())]);
        saas::deleted(req, |r| map_error(r, "remove a user")).await
    }

    /// Deactivates the user (an admin made a member first): the account stays, signing in and
    /// the licenses do not.
    ///
    /// Errors: `Conflict` for the owner, or a pending user (no account to keep yet).
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        not_owner(&m, "deactivated")?;
        if m.state == MemberState::Invited {
            return Err(E::Conflict(format!(
                "Zoom user {} has not confirmed the invitation: there is no account to keep, \
                 remove it instead",
                m.app_member_id
            )));
        }
        self.to_member(&m).await?;
        self.status(&m.app_member_id, "deactivate").await?;
        existing(self, &m.app_member_id).await
    }
}
