//! Pipedrive, through its API v1 Users and PermissionSets endpoints as a user with account
//! settings access (Pipedrive's user management). The token is the user's API token, sent in
//! the `x-api-token` header (never the `api_token` query parameter, which would put it in
//! URLs and logs), or an OAuth access token with the `admin` scope, Bearer, with
//! `auth_with = oauth`. The hub's base URL holds the API's version path:
//! `https://<company>.pipedrive.com/api/v1` or `https://api.pipedrive.com/v1`.
//!
//! Members are the company's users. A member's role is their Deals app access (the seat
//! Pipedrive bills): `admin` and `regular` for Pipedrive's built-in Deals permission sets (their
//! `type`), a custom set by its id as on the wire, `no_deals_access` without Deals access
//! ([`Capability::ListRoles`]: the Deals sets from `GET /permissionSets?app=sales`, labelled
//! with their names).
//!
//! - Sign-in: `GET /users/me` (the token's user, its `id` and `access`), which must hold
//!   `account_settings` access (in answers from before February 2023, `is_admin`).
//! - Listing: `GET /users`, every user in one answer: Pipedrive documents no paging for it, so
//!   the listing is one page, one call (and `GET /permissionSets?app=sales` when a user's Deals
//!   set is not the admin one, to name it). Deactivated users are listed `deactivated`; users
//!   with `is_deleted` are not members.
//! - Lookups: `GET /users/{id}`; by email `GET /users/find?term=<addr>&search_by_email=1`
//!   (a partial match: the exact address is kept).
//! - Invitation: `POST /users` with `email` and `access: [{app: "sales", admin}]`, or
//!   `permission_set_id` for a custom set; Pipedrive emails the invitation and the user is
//!   `invited` (`activated: false`) until they accept.
//! - Role change: unsupported. `PUT /users/{id}` changes only `active_flag` (Pipedrive's
//!   reference: "Currently, only `active_flag` can be updated"), and the PermissionSets API only
//!   reads: an admin changes access rights in Company settings > Manage users.
//! - Removal: Pipedrive cannot delete users: `PUT /users/{id}` with `active_flag: false`
//!   deactivates the user (they cannot sign in; their deals, contacts and history stay);
//!   inviting the address again sets `active_flag: true`.
//! - Rate limits: token-based daily budgets and per-token limits in 2-second windows; every
//!   answer carries `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset`
//!   (seconds until the window resets), and a 429 is waited for by `Retry-After` when sent,
//!   else `x-ratelimit-reset` ([`crate::sdk::http::Endpoint::with_wait_header`]).
//! - Errors: `{"success": false, "error", "error_info"}` ([`model::map_error`]).
//!
//! Not modelled: visibility groups, teams, role assignments (`/roles`), the access of apps
//! other than Deals (global permissions, Projects, Campaigns), and seats. Assumptions where the
//! reference is silent: `activated: false` marks a user who has not accepted the invitation
//! yet; `access: [{app: "sales", admin: false}]` gives the Deals app's regular set (the
//! reference: "If both are omitted, the default access for the corresponding app will be
//! used"); `/users/find` answers `data: null` or `[]` for no match; a 404 means no such user.
//!
//! Pages:
//! - Users: <https://developers.pipedrive.com/docs/api/v1/Users>
//! - Permission sets: <https://developers.pipedrive.com/docs/api/v1/PermissionSets>
//! - Authentication (`x-api-token`, OAuth): <https://pipedrive.readme.io/docs/core-api-concepts-authentication>
//! - Rate limiting: <https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting>
//! - Global user management (account settings access):
//!   <https://support.pipedrive.com/en/article/global-user-management>

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
use crate::sdk::errors::{found, gone};
use crate::sdk::http::Request;
use crate::sdk::members::normalize_email;
use crate::sdk::rest::json_body;
use crate::sdk::roles::known;
use crate::sdk::saas;
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{data, map_error, PdUser, Sets, SALES};
pub use model::{ADMIN, NO_DEALS, REGULAR};

/// The connector's name in the catalog.
pub const NAME: &str = "pipedrive";
pub(crate) const APP: &str = "Pipedrive";
const USERS: &str = "/users";

type R<T> = Result<T, E>;

/// The Pipedrive connector ([`AppConnector`] of [`Pipedrive`]); the registry builds it with
/// [`saas::connector`].
pub type PipedriveConnector = AppConnector<Pipedrive>;

/// Pipedrive as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Pipedrive;

#[async_trait]
impl App for Pipedrive {
    const NAME: &'static str = NAME;
    type Api<'a> = Company<'a>;

    /// One declared role, [`REGULAR`] (the default): the others are the company's Deals
    /// permission sets ([`Capability::ListRoles`]), which invitations give and no call changes.
    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Url};
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: vec![REGULAR.to_owned()],
            capabilities: vec![ListMembers, Invite, Remove, ListRoles],
            default_role: REGULAR.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true).help(
                    "https://<company>.pipedrive.com/api/v1 (or https://api.pipedrive.com/v1)",
                ),
                [
                    SettingField::new(API_TOKEN, "API token", Secret, true).help(
                        "Personal preferences → API: the API token of a user with account \
                         settings access (or an OAuth access token with the admin scope, with \
                         auth_with = oauth)",
                    ),
                    saas::auth_with("api_token (default): the x-api-token header; oauth: Bearer"),
                ],
            ),
        }
    }

    /// Reads the token's user (`/users/me`), who must have account settings access.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let company = Company::new(http, ctx, &token, None)?;
        let me = company.me("sign in").await?;
        debug!(user_id = me.id, "signed in to Pipedrive");
        let data = json!({ "user_id": me.id.to_string() });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Company<'a>> {
        let me = s.data["user_id"].as_str().map(str::to_owned);
        Company::new(http, ctx, &s.token, me)
    }
}

/// Pipedrive's API v1 as the automation account (user id `me`) for one call.
#[derive(Debug)]
pub struct Company<'a> {
    api: Endpoint<'a>,
    me: Option<String>,
}

impl<'a> Company<'a> {
    /// The API at the hub's base URL with `token` in `x-api-token`, or as Bearer with
    /// `auth_with = oauth`.
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: Option<String>) -> R<Self> {
        let auth = match saas::uses_oauth(ctx) {
            true => Auth::Bearer(token.clone()),
            false => Auth::Header("x-api-token", token.clone()),
        };
        let api = http.endpoint_for(ctx)?.with_auth(auth);
        let api = api.with_wait_header("x-ratelimit-reset");
        Ok(Self { api, me })
    }

    /// Sends `req` (writes once, unless marked idempotent): the answer's `data`.
    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        data(json_body(r, APP, what, |r| map_error(r, what))?, what)
    }

    /// The token's user, who must manage users.
    ///
    /// Errors: `InsufficientPermission` without account settings access.
    async fn me(&self, what: &str) -> R<PdUser> {
        let me = PdUser::parse(&Self::send(self.api.get("/users/me"), what).await?, what)?;
        match me.manages_users() {
            true => Ok(me),
            false => Err(E::InsufficientPermission(
                "the token's Pipedrive user has no account settings access (user management): \
                 give it account settings access in Company settings > Manage users"
                    .into(),
            )),
        }
    }

    /// The Deals app's permission sets.
    async fn sets(&self) -> R<Sets> {
        let what = "list permission sets";
        let q = [("app", SALES.to_owned())];
        let req = self.api.get("/permissionSets").query(&q);
        Sets::parse(&Self::send(req, what).await?, what)
    }

    /// `users` (not deleted) as members, the permission sets read when a role needs them.
    async fn members(&self, users: Vec<PdUser>) -> R<Vec<AppMember>> {
        let users: Vec<PdUser> = users.into_iter().filter(|u| !u.is_deleted).collect();
        let sets = match users.iter().any(PdUser::needs_sets) {
            true => self.sets().await?,
            false => Sets::default(),
        };
        Ok(users.iter().map(|u| u.member(&sets)).collect())
    }

    /// The one member of `user`, when there is one and it is not deleted.
    async fn one(&self, user: Option<PdUser>) -> R<Option<AppMember>> {
        let members = self.members(user.into_iter().collect()).await?;
        Ok(members.into_iter().next())
    }

    /// Sets the user `id`'s `active_flag` (safe to send twice) and returns them as after.
    async fn activate(&self, id: &str, on: bool, what: &str) -> R<AppMember> {
        let path = format!("{USERS}/{}", digits(id)?);
        let req = self.api.request(Method::PUT, &path);
        let req = req.json(json!({ "active_flag": on })).idempotent();
        let user = PdUser::parse(&Self::send(req, what).await?, what)?;
        self.one(Some(user))
            .await?
            .ok_or_else(|| E::NotFound(format!("Pipedrive user {id} is deleted")))
    }
}

/// A Pipedrive user id: digits.
///
/// Errors: `NotFound` for anything else (no user has it).
fn digits(id: &str) -> R<u64> {
    id.trim()
        .parse()
        .map_err(|_| E::NotFound(format!("no Pipedrive user {id}")))
}

#[async_trait]
impl Members for Company<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.me("read the account").await.map(drop)
    }

    /// Every user, in one answer (Pipedrive's `GET /users` does not page).
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        if let Some(c) = cursor {
            let why = format!("Pipedrive lists every user in one page: no cursor {c:?}");
            return Err(E::Configuration(why));
        }
        let what = "list users";
        let users = PdUser::list(&Self::send(self.api.get(USERS), what).await?, what)?;
        let members = self.members(users).await?;
        Ok(MemberPage {
            members,
            next: None,
        })
    }

    /// A user by id (digits) or email (with `@`).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        let Ok(n) = digits(id) else {
            return Ok(None);
        };
        let what = "read a user";
        let got = found(Self::send(self.api.get(&format!("{USERS}/{n}")), what).await)?;
        let user = got.map(|v| PdUser::parse(&v, what)).transpose()?;
        self.one(user).await
    }

    /// The user whose address this is (`/users/find` with `search_by_email=1`, exact match).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let what = "find a user by email";
        let q = [
            ("term", email.to_owned()),
            ("search_by_email", "1".to_owned()),
        ];
        let v = Self::send(self.api.get(&format!("{USERS}/find")).query(&q), what).await?;
        let hit = PdUser::list(&v, what)?
            .into_iter()
            .find(|u| !u.is_deleted && u.email() == email);
        self.one(hit).await
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.as_deref() == Some(m.app_member_id.as_str())
    }

    /// The Deals app's permission sets: `admin`, the custom ones by id, `regular`.
    async fn roles(&self) -> R<Vec<AppRole>> {
        Ok(self.sets().await?.roles())
    }

    /// One of [`Members::roles`]; `no_deals_access` is never given.
    async fn role(&self, role: &str) -> R<String> {
        let roles: Vec<String> = self.roles().await?.into_iter().map(|r| r.role).collect();
        known(APP, role, &roles).map(|()| role.to_owned())
    }

    /// Pipedrive's API changes no user's access.
    async fn set_role(&self, _m: AppMember, role: &str) -> R<AppMember> {
        Err(E::Unsupported(format!(
            "Pipedrive's API cannot give the role {role} to an existing user (PUT /users/{{id}} \
             changes only active_flag): an admin with account settings access does it in \
             Company settings > Manage users"
        )))
    }

    /// A deactivated user is activated again (their access as it was).
    async fn reactivate(&self, m: AppMember, _to: &Invitee<'_>) -> R<AppMember> {
        self.activate(&m.app_member_id, true, "reactivate a user")
            .await
    }

    /// Pipedrive has no usernames: the address names the user.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Adds the user with the role's Deals access; Pipedrive emails the invitation. Sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let deals = match to.role {
            ADMIN => json!({ "app": SALES, "admin": true }),
            REGULAR => json!({ "app": SALES, "admin": false }),
            set => json!({ "app": SALES, "permission_set_id": set }),
        };
        let body = json!({ "email": to.email, "access": [deals] });
        let what = "add a user";
        let req = self.api.request(Method::POST, USERS).json(body);
        let user = PdUser::parse(&Self::send(req, what).await?, what)?;
        debug!(member = user.id, "added a Pipedrive user");
        self.one(Some(user))
            .await?
            .ok_or_else(|| crate::sdk::errors::unexpected(APP, what))
    }

    /// Deactivates the user (`active_flag: false`): Pipedrive cannot delete users. One already
    /// deactivated or gone is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        if m.state == castellan_core::connector::MemberState::Deactivated {
            return Ok(());
        }
        gone(
            self.activate(&m.app_member_id, false, "deactivate a user")
                .await,
        )
    }
}
