//! Zendesk Support, through its Users API as an administrator. Members are the seats Zendesk
//! bills: agents and admins (`role` as on the wire: `admin`, `agent`). The automation account
//! signs in with its email and an API token (HTTP Basic `{email}/token:{api_token}`) or with an
//! OAuth access token (Bearer), as the hub's `auth_with` says, and must be an `admin`.
//!
//! - Listing: `GET /api/v2/users?role[]=agent&role[]=admin&page[size]=100`, cursor paging with
//!   `page[after]=<meta.after_cursor>` while `meta.has_more`: one call a hundred members.
//! - Lookups: `GET /api/v2/users/{id}`; by email `GET /api/v2/users/search?query=email:<addr>`.
//! - Invitation: `POST /api/v2/users` with the role (Zendesk sends its welcome email; the member
//!   is `invited` until they verify an address). An end user (a customer) who holds the address
//!   already is upgraded to the role instead: Zendesk keeps one user an address.
//! - Role change: `PUT /api/v2/users/{id}` with `role` (one call: a user has one role).
//! - Removal, as Zendesk's "Best practices for removing agents" advises (never delete an agent
//!   who leaves: downgrade, then suspend): one `PUT` of `role: end-user` and `suspended: true`.
//!   The billed seat is freed, the user's tickets, reports and articles keep their author, and
//!   the account cannot sign in. Such a member reads back `deactivated` with the role
//!   `end-user` and is no longer listed; inviting the address again gives the role back and
//!   lifts the suspension in one `PUT`. Keep-seat removal suspends the agent only
//!   (`suspended: true`): the seat stays billed and assigned, signing in does not work.
//! - Rate limits: 429 with `Retry-After` (seconds), `X-Rate-Limit` and
//!   `X-Rate-Limit-Remaining`; the SDK waits and retries reads ([`crate::sdk::http`]).
//! - Errors: `{"error", "description", "details"}` ([`model::map_error`]).
//!
//! Not modelled: custom agent roles (`custom_role_id`, Enterprise), light agents, and
//! `DELETE`. Reference pages:
//! - Users: <https://developer.zendesk.com/api-reference/ticketing/users/users/>
//! - Search users: <https://developer.zendesk.com/api-reference/ticketing/users/users/#search-users>
//! - Cursor pagination:
//!   <https://developer.zendesk.com/documentation/api-basics/pagination/paginating-through-lists-using-cursor-pagination>
//! - Authentication (API token, OAuth): <https://support.zendesk.com/hc/en-us/articles/4408831452954>
//! - Rate limits: <https://developer.zendesk.com/api-reference/introduction/rate-limits/>
//! - Best practices for removing agents:
//!   <https://support.zendesk.com/hc/en-us/articles/4408888690842>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppRole, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E,
    ConnectorInfo, MemberPage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Invitee, Members};
use crate::sdk::errors::found;
use crate::sdk::http::{segment, Request};
use crate::sdk::members::{email_local_part, given};
use crate::sdk::rest::json_body;
use crate::sdk::roles::{known, labelled};
use crate::sdk::saas::{self, next_cursor};
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{map_error, ZdUser, ROLES};
pub use model::{ADMIN, AGENT, END_USER};

/// The connector's name in the catalog.
pub const NAME: &str = "zendesk";
/// How the automation account signs in ([`AUTH_WITH`]): [`AUTH_API_TOKEN`] (default), the
/// account's email (its username) and an API token, HTTP Basic; or [`AUTH_OAUTH`], an OAuth
/// access token with the `users:write` scope, Bearer.
pub use crate::sdk::saas::{AUTH_API_TOKEN, AUTH_OAUTH, AUTH_WITH};
pub(crate) const APP: &str = "Zendesk";
const USERS: &str = "/api/v2/users";
const ME: &str = "/api/v2/users/me";
const SEARCH: &str = "/api/v2/users/search";
/// Users per page: the Users API's largest `page[size]`.
const PAGE: usize = 100;

type R<T> = Result<T, E>;

/// The Zendesk connector ([`AppConnector`] of [`Zendesk`]); the registry builds it with
/// [`saas::connector`] (public addresses unless the hub allows private ones).
pub type ZendeskConnector = AppConnector<Zendesk>;

/// Zendesk Support as the connector builder's [`App`]: its settings, its sign-in (`GET
/// /api/v2/users/me`, an `admin`), and its Users API ([`Desk`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Zendesk;

#[async_trait]
impl App for Zendesk {
    const NAME: &'static str = NAME;
    type Api<'a> = Desk<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Url};
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: ROLES.map(String::from).into(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, KeepSeat, ListRoles],
            default_role: AGENT.to_owned(),
            sign_in: SignIn::UsernameAndToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "Zendesk address", Url, true)
                    .help("https://<subdomain>.zendesk.com, the address agents sign in at"),
                [
                    SettingField::new(API_TOKEN, "API token", Secret, false).help(
                        "Admin Center → Apps and integrations → APIs → Zendesk API → add an API \
                         token (or an OAuth access token with auth_with = oauth); the username \
                         is the automation account's email, an admin",
                    ),
                    saas::auth_with(
                        "api_token (default): email/token Basic; oauth: a Bearer token",
                    ),
                ],
            ),
        }
    }

    /// Reads the account itself (`/api/v2/users/me`), which must be an `admin`.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let desk = Desk::new(http, ctx, &token, None)?;
        let me = desk.me("sign in").await?;
        let id = me.id.unwrap_or_default();
        debug!(user_id = id, "signed in to Zendesk");
        Ok(Session {
            token,
            data: json!({ "user_id": id }),
        })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Desk<'a>> {
        Desk::new(http, ctx, &s.token, s.data["user_id"].as_u64())
    }
}

/// The Users API as the automation account (user id `me`) for one call.
#[derive(Debug)]
pub struct Desk<'a> {
    api: Endpoint<'a>,
    me: Option<u64>,
}

impl<'a> Desk<'a> {
    /// The API at the hub's base URL with `token`: Basic `{username}/token:{token}`, or Bearer
    /// with `auth_with = oauth`.
    ///
    /// Errors: `Configuration` for a refused base URL, or an API token without the account's
    /// email as its username.
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: Option<u64>) -> R<Self> {
        let oauth = saas::uses_oauth(ctx);
        let auth = match ctx.username.trim() {
            _ if oauth => Auth::Bearer(token.clone()),
            "" => {
                return Err(E::Configuration(
                    "a Zendesk API token needs the automation account's email as its username"
                        .into(),
                ))
            }
            email => Auth::Basic {
                user: format!("{email}/token"),
                password: token.clone(),
            },
        };
        let api = http.endpoint_for(ctx)?.with_auth(auth);
        Ok(Self { api, me })
    }

    /// Sends `req` (writes once, unless marked idempotent): the JSON answer.
    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// The account itself, an `admin`.
    ///
    /// Errors: `BadCredentials` for the anonymous user (no credentials taken);
    /// `InsufficientPermission` for an agent or end user.
    async fn me(&self, what: &str) -> R<ZdUser> {
        let me = ZdUser::from_envelope(&Self::send(self.api.get(ME), what).await?, what)?;
        if me.id.is_none() {
            let why = "Zendesk answered as the anonymous user: check the email and token";
            return Err(E::BadCredentials(why.into()));
        }
        match me.role.as_str() {
            ADMIN => Ok(me),
            role => Err(E::InsufficientPermission(format!(
                "the automation account is a Zendesk {role}: make it an admin"
            ))),
        }
    }

    /// A user by id, `None` when Zendesk has none or it is deleted.
    async fn user(&self, id: u64) -> R<Option<ZdUser>> {
        let got = found(Self::send(self.api.get(&format!("{USERS}/{id}")), "read a user").await)?;
        let user = got.map(|v| ZdUser::from_envelope(&v, "read a user"));
        Ok(user.transpose()?.filter(|u| u.active))
    }

    /// Changes the user `id` with `fields` (`role`, `suspended`); safe to send twice.
    async fn put(&self, id: &str, fields: Value, what: &str) -> R<AppMember> {
        let req = self
            .api
            .request(Method::PUT, &format!("{USERS}/{}", segment(id)));
        let v = Self::send(req.json(json!({ "user": fields })).idempotent(), what).await?;
        Ok(ZdUser::from_envelope(&v, what)?.member())
    }
}

#[async_trait]
impl Members for Desk<'_> {
    const APP: &'static str = APP;

    /// The account must be an `admin` (agents may not add or change agents).
    async fn verify_permissions(&self) -> R<()> {
        self.me("read the account").await.map(drop)
    }

    /// Agents and admins, 100 a page, after the previous page's `meta.after_cursor`.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let mut q = vec![
            ("role[]", AGENT.to_owned()),
            ("role[]", ADMIN.to_owned()),
            ("page[size]", PAGE.to_string()),
        ];
        q.extend(cursor.map(|c| ("page[after]", c.to_owned())));
        let what = "list agents";
        let v = Self::send(self.api.get(USERS).query(&q), what).await?;
        let members = ZdUser::list(&v, what)?.into_iter().map(ZdUser::member);
        let next = match v["meta"]["has_more"] == true {
            true => next_cursor(&v, "/meta/after_cursor"),
            false => None,
        };
        Ok(MemberPage {
            members: members.collect(),
            next,
        })
    }

    /// A user by id (digits) or email (with `@`); end users too (`deactivated`).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self
                .by_email(&crate::sdk::members::normalize_email(id)?)
                .await;
        }
        match id.parse::<u64>() {
            Ok(n) => Ok(self.user(n).await?.map(ZdUser::member)),
            Err(_) => Ok(None),
        }
    }

    /// The user whose address this is (`query=email:<addr>`, exact match kept).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let q = [("query", format!("email:{email}"))];
        let what = "search users";
        let v = Self::send(self.api.get(SEARCH).query(&q), what).await?;
        let hit = ZdUser::list(&v, what)?
            .into_iter()
            .find(|u| u.active && u.email() == email);
        Ok(hit.map(ZdUser::member))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.is_some_and(|me| m.app_member_id == me.to_string())
    }

    /// `admin` and `agent`, the roles of seats (custom agent roles are not read).
    async fn roles(&self) -> R<Vec<AppRole>> {
        Ok(labelled(&ROLES, []))
    }

    /// `admin` or `agent` as written: `end-user` is no seat (removal gives it).
    async fn role(&self, role: &str) -> R<String> {
        let roles = ROLES.map(String::from);
        known(APP, role, &roles).map(|()| role.to_owned())
    }

    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let what = "change a user's role";
        self.put(&m.app_member_id, json!({ "role": role }), what)
            .await
    }

    /// An end user or a suspended agent is given the role and unsuspended in one call.
    async fn reactivate(&self, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
        let fields = json!({ "role": to.role, "suspended": false });
        self.put(&m.app_member_id, fields, "reactivate a user")
            .await
    }

    /// Zendesk has no usernames: the address names the user.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Creates the user with the role; Zendesk emails them to set a password. Sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let name = given(&to.inv.name).unwrap_or_else(|| email_local_part(to.email));
        let body = json!({ "user": { "name": name, "email": to.email, "role": to.role } });
        let req = self.api.request(Method::POST, USERS).json(body);
        let v = Self::send(req, "create a user").await?;
        let u = ZdUser::from_envelope(&v, "create a user")?;
        debug!(member = u.id, "created a Zendesk user");
        Ok(u.member())
    }

    /// Downgrades the member to `end-user` and suspends them: the seat is freed, the user and
    /// their tickets stay, signing in does not.
    async fn remove(&self, m: AppMember) -> R<()> {
        let what = "downgrade and suspend a user";
        let fields = json!({ "role": END_USER, "suspended": true });
        let gone = self.put(&m.app_member_id, fields, what);
        crate::sdk::errors::gone(gone.await)
    }

    /// Suspends the agent: the seat and role stay, signing in does not.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        let what = "suspend a user";
        self.put(&m.app_member_id, json!({ "suspended": true }), what)
            .await
    }
}
