//! Box, through the Box Platform API's users endpoints (`https://api.box.com/2.0`) with an OAuth
//! 2.0 access token (Bearer) of a Box app: a Client Credentials Grant token (the app authorised
//! in the Admin Console, its service account or an admin user as the subject) or any other
//! OAuth token of an admin. Members are the enterprise's managed users (App Users, which hold
//! no seat, are left out), with their `role` as on the wire: `admin` (the primary admin, read
//! only), `coadmin`, `user`.
//!
//! - Sign-in and probe: `GET /users/me` must be `admin` or `coadmin`, and `GET
//!   /users?user_type=managed&limit=1` must answer (a co-admin without the "Manage users"
//!   permission, or an app without the Manage users scope, is refused there).
//! - Listing: `GET /users?user_type=managed&usemarker=true&limit=1000&fields=…`, then
//!   `marker=<next_marker>` until `next_marker` is null: the marker-based paging Box
//!   recommends for lists that change (offset paging stops at 10 000 and may skip or repeat
//!   users while they change): one call a thousand users.
//! - Lookups: `GET /users/{id}?fields=…`; by email `GET /users?user_type=managed&filter_term=
//!   <login>` (Box matches the start of a name or login: the exact login is kept). `managed`
//!   rather than `all`: external users are no seats of the enterprise.
//! - Invitation: `POST /users` with `login`, `name` (at most 50 characters; the address's local
//!   part without one) and `role` (`coadmin` or `user`); Box emails them to set a password.
//! - Role change: `PUT /users/{id}` with `role` (one call). The primary admin's role is changed
//!   in the Admin Console only (`Configuration`).
//! - Removal: Box refuses to delete a user who owns content unless forced, and forcing deletes
//!   the files. The connector keeps them: `PUT /users/{id}/folders/0?notify=false` with
//!   `owned_by.id` moves everything the user owns into a folder "<name>'s Files and Folders"
//!   of the hub's `transfer_to` user (default: the automation account), as Box's guide to
//!   deleting users advises, then `DELETE /users/{id}?notify=false&force=true` (forced: nothing
//!   is left to lose, and Box also refuses unforced deletes of recently active users). A user
//!   gone at either step is done. The app needs the "Read and write all files and folders"
//!   scope for the move.
//! - Keep-seat: `PUT /users/{id}` with `status: inactive` (the seat and files stay, signing in
//!   does not); inviting the address again sends `status: active` with the role in one call.
//! - Rate limits: 429 with `retry-after` (seconds; about 1000 requests a minute a user); the
//!   SDK waits and retries reads ([`crate::sdk::http`]). Errors: `{"type": "error", "status",
//!   "code", "message", "request_id"}` ([`model::map_error`]).
//!
//! Assumptions where the reference is silent: a new managed user reads back `active` (Box's
//! guide calls the account pending until the password is set, but `status` has no such value:
//! the connector reports them active); the co-admin permissions are not readable, so a
//! co-admin's right to manage users is proven by listing them. Not modelled: groups, folders
//! and collaborations as resources, tracking codes, external users, enterprise invites of
//! personal accounts (`POST /invites`: a taken login is `Conflict`). Pages:
//! - List enterprise users: <https://developer.box.com/reference/get-users/>
//! - Get current user: <https://developer.box.com/reference/get-users-me/>
//! - Create user: <https://developer.box.com/reference/post-users/>
//! - Update user: <https://developer.box.com/reference/put-users-id/>
//! - Delete user: <https://developer.box.com/reference/delete-users-id/>
//! - Transfer owned folders: <https://developer.box.com/reference/put-users-id-folders-0/>
//! - Marker-based pagination: <https://developer.box.com/guides/api-calls/pagination/marker-based/>
//! - Rate limits: <https://developer.box.com/guides/api-calls/permissions-and-errors/rate-limits/>
//! - Client Credentials Grant: <https://developer.box.com/guides/authentication/client-credentials/>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Invitee, Members};
use crate::sdk::errors::found;
use crate::sdk::http::{segment, Request};
use crate::sdk::members::{email_local_part, given, normalize_email};
use crate::sdk::rest::json_body;
use crate::sdk::roles::known;
use crate::sdk::saas::{self, next_cursor};
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{map_error, BoxUser, FIELDS, INACTIVE, MANAGERS, ROLES};
pub use model::{ADMIN, COADMIN, USER};

/// The connector's name in the catalog.
pub const NAME: &str = "box";
/// The hub setting naming the Box user id who receives a removed user's files (default: the
/// automation account).
pub const TRANSFER_TO: &str = "transfer_to";
pub(crate) const APP: &str = "Box";
const USERS: &str = "/users";
/// Users per page: the largest `limit` of `GET /users`.
const PAGE: usize = 1000;
/// The longest `name` Box takes.
const NAME_MAX: usize = 50;

type R<T> = Result<T, E>;

/// The Box connector ([`AppConnector`] of [`BoxPlatform`]); the registry builds it with
/// [`saas::connector`].
pub type BoxConnector = AppConnector<BoxPlatform>;

/// Box as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BoxPlatform;

#[async_trait]
impl App for BoxPlatform {
    const NAME: &'static str = NAME;
    type Api<'a> = Enterprise<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Text, Url};
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: ROLES.map(String::from).into(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, KeepSeat],
            default_role: USER.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true)
                    .help("https://api.box.com/2.0 (Box's API, for every enterprise)"),
                [
                    SettingField::new(API_TOKEN, "Access token", Secret, true).help(
                        "an OAuth 2.0 access token of a Box app with the Manage users scope \
                         (and Read and write all files and folders), e.g. from its Client \
                         Credentials Grant; its user must be the admin or a co-admin who may \
                         manage users",
                    ),
                    SettingField::new(TRANSFER_TO, "Move removed users' files to", Text, false)
                        .help("a Box user id; default: the automation account"),
                ],
            ),
        }
    }

    /// Reads the account itself (an admin or co-admin) and one managed user.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let ent = Enterprise::new(http, ctx, &token, None)?;
        let me = ent.manager().await?;
        debug!(user_id = %me.id, role = %me.role, "signed in to Box");
        Ok(Session {
            token,
            data: json!({ "user_id": me.id }),
        })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Enterprise<'a>> {
        let me = s.data["user_id"].as_str().map(str::to_owned);
        Enterprise::new(http, ctx, &s.token, me)
    }
}

/// The users endpoints as the automation account (user id `me`) for one call.
#[derive(Debug)]
pub struct Enterprise<'a> {
    api: Endpoint<'a>,
    me: Option<String>,
    /// Who receives a removed user's files: the hub's [`TRANSFER_TO`], else `me`.
    heir: Option<String>,
}

impl<'a> Enterprise<'a> {
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: Option<String>) -> R<Self> {
        let api = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()));
        let heir = ctx.setting(TRANSFER_TO).map(str::to_owned).or(me.clone());
        Ok(Self { api, me, heir })
    }

    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// A request to `path` asking for [`FIELDS`].
    fn user_req(&self, method: Method, path: &str) -> Request<'_> {
        let req = self.api.request(method, path);
        req.query(&[("fields", FIELDS.to_owned())])
    }

    /// The account itself, an `admin` or `coadmin` who may list the managed users.
    ///
    /// Errors: `InsufficientPermission` for a `user`, or a co-admin (or app) that may not list
    /// users.
    async fn manager(&self) -> R<BoxUser> {
        let what = "read the account";
        let req = self.user_req(Method::GET, &format!("{USERS}/me"));
        let me = BoxUser::parse(&Self::send(req, what).await?, what)?;
        if !MANAGERS.contains(&me.role.as_str()) {
            return Err(E::InsufficientPermission(format!(
                "the automation account is a Box {}: make it the admin or a co-admin with the \
                 Manage users permission",
                me.role
            )));
        }
        let q = [("user_type", "managed".to_owned()), ("limit", "1".into())];
        let what = "list managed users";
        match Self::send(self.api.get(USERS).query(&q), what).await {
            Err(E::InsufficientPermission(why)) => Err(E::InsufficientPermission(format!(
                "the automation account (a Box {}) may not manage users: give the co-admin the \
                 Manage users permission and the app the Manage users scope ({why})",
                me.role
            ))),
            other => other.map(|_| me),
        }
    }

    /// One page of managed users after `marker` (`filter_term`: a login's start), and the next
    /// marker.
    async fn users(&self, marker: Option<&str>, filter: Option<&str>) -> R<(Vec<BoxUser>, Value)> {
        let mut q = vec![
            ("user_type", "managed".to_owned()),
            ("usemarker", "true".to_owned()),
            ("limit", PAGE.to_string()),
        ];
        q.extend(marker.map(|m| ("marker", m.to_owned())));
        q.extend(filter.map(|f| ("filter_term", f.to_owned())));
        let what = "list managed users";
        let v = Self::send(self.user_req(Method::GET, USERS).query(&q), what).await?;
        let users = BoxUser::entries(&v, what)?;
        Ok((users.into_iter().filter(|u| !u.app_user).collect(), v))
    }

    /// Changes the user `id` with `fields` (`role`, `status`); safe to send twice.
    async fn put(&self, id: &str, fields: Value, what: &str) -> R<AppMember> {
        let req = self.user_req(Method::PUT, &format!("{USERS}/{}", segment(id)));
        let v = Self::send(req.json(fields).idempotent(), what).await?;
        Ok(BoxUser::parse(&v, what)?.member())
    }

    /// Moves everything `id` owns to the heir (a folder "<name>'s Files and Folders" in its
    /// root). A 404 is read again: the user gone already is done (nothing to move), else the
    /// heir is missing and nothing may be deleted.
    ///
    /// Errors: `Configuration` when the user is the heir, there is none, or Box has no such
    /// heir.
    async fn transfer(&self, id: &str) -> R<()> {
        let heir = match self.heir.as_deref() {
            Some(h) if h != id => h,
            _ => {
                return Err(E::Configuration(format!(
                    "Box user {id} cannot receive their own files: set the hub's {TRANSFER_TO} \
                     to another user"
                )))
            }
        };
        let what = "move a removed user's files";
        let path = format!("{USERS}/{}/folders/0", segment(id));
        let req = self.api.request(Method::PUT, &path);
        let q = [("notify", "false".to_owned()), ("fields", "id,name".into())];
        let body = json!({ "owned_by": { "id": heir } });
        match Self::send(req.query(&q).json(body), what).await {
            Err(E::NotFound(why)) => match self.member(id).await? {
                None => Ok(()),
                Some(_) => Err(E::Configuration(format!(
                    "Box could not move user {id}'s files to user {heir} ({why}): check the \
                     hub's {TRANSFER_TO}"
                ))),
            },
            other => other.map(drop),
        }
    }
}

#[async_trait]
impl Members for Enterprise<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.manager().await.map(drop)
    }

    /// Managed users, a thousand a page, after the previous page's `next_marker`.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (users, v) = self.users(cursor, None).await?;
        Ok(MemberPage {
            members: users.into_iter().map(BoxUser::member).collect(),
            next: next_cursor(&v, "/next_marker"),
        })
    }

    /// A managed user by id (digits) or login (with `@`).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let what = "read a user";
        let req = self.user_req(Method::GET, &format!("{USERS}/{id}"));
        let got = found(Self::send(req, what).await)?;
        let user = got.map(|v| BoxUser::parse(&v, what)).transpose()?;
        Ok(user.filter(|u| !u.app_user).map(BoxUser::member))
    }

    /// The managed user whose login this is (`filter_term`, exact login kept).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let (users, _) = self.users(None, Some(email)).await?;
        let hit = users.into_iter().find(|u| u.login == email);
        Ok(hit.map(BoxUser::member))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.as_deref() == Some(m.app_member_id.as_str())
    }

    /// `coadmin` or `user` as written; `admin` is the primary admin, whom the API never makes.
    async fn role(&self, role: &str) -> R<String> {
        if role == ADMIN {
            let why = "Box's API makes no primary admin (it is transferred in the Admin Console)";
            return Err(E::Configuration(why.into()));
        }
        let roles = ROLES.map(String::from);
        known(APP, role, &roles).map(|()| role.to_owned())
    }

    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        if m.roles.iter().any(|r| r == ADMIN) {
            let why = "the primary admin's role changes in Box's Admin Console only";
            return Err(E::Configuration(why.into()));
        }
        let what = "change a user's role";
        self.put(&m.app_member_id, json!({ "role": role }), what)
            .await
    }

    /// An inactive user is made active with the role in one call.
    async fn reactivate(&self, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
        let fields = json!({ "status": "active", "role": to.role });
        self.put(&m.app_member_id, fields, "reactivate a user")
            .await
    }

    /// Box has no usernames: the login (an address) names the user.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Creates the managed user with the role; Box emails them. Sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let name = given(&to.inv.name).unwrap_or_else(|| email_local_part(to.email));
        let name: String = name.chars().take(NAME_MAX).collect();
        let body = json!({ "login": to.email, "name": name, "role": to.role });
        let what = "create a user";
        let req = self.user_req(Method::POST, USERS).json(body);
        let u = BoxUser::parse(&Self::send(req, what).await?, what)?;
        debug!(member = %u.id, "created a Box user");
        Ok(u.member())
    }

    /// Moves the user's files to the heir, then deletes the user (forced: nothing is left).
    async fn remove(&self, m: AppMember) -> R<()> {
        let id = &m.app_member_id;
        self.transfer(id).await?;
        let path = format!("{USERS}/{}", segment(id));
        let q = [("notify", "false".to_owned()), ("force", "true".into())];
        let req = self.api.request(Method::DELETE, &path).query(&q);
        saas::deleted(req, |r| map_error(r, "delete a user")).await
    }

    /// Sets the user `inactive`: the seat, role and files stay, signing in does not.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        let what = "set a user inactive";
        self.put(&m.app_member_id, json!({ "status": INACTIVE }), what)
            .await
    }
}
