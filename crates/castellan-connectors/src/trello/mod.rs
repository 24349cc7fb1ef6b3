//! Trello, one workspace (an "organization" in Trello's REST API) through the REST API at
//! `https://api.trello.com/1`, as a workspace admin. Members are the workspace's memberships,
//! known by their member id (`idMember`, the id Trello's member endpoints take; a username is
//! accepted in lookups too), with their `memberType` as the role, as on the wire: `admin` or
//! `normal` (Trello's pages call the latter "Member").
//!
//! - **Sign-in**: the API key (a hub setting: it names the Power-Up the token was made for, and
//!   is no secret) and the automation account's token go in one header,
//!   `Authorization: OAuth oauth_consumer_key="{key}", oauth_token="{token}"`, which Trello takes
//!   instead of the `key` and `token` query parameters: the token never lands in a URL (or a
//!   proxy's log of one). `GET /members/me` reads the token's member; the **permission probe**
//!   reads its own membership (`GET /organizations/{id}/memberships?filter=me`), whose
//!   `memberType` must be `admin`.
//! - **Listing**: `GET /organizations/{id}/memberships?member=true&member_fields=…`. **Trello
//!   has no paging on memberships**: every call answers the whole workspace, so a listing is
//!   one page of one call (as Pipedrive's users), which can neither lose nor repeat anybody.
//!   Lookups by id, username or address read the same answer.
//!   `deactivated` memberships are `deactivated`; `unconfirmed` ones (an address Trello invited
//!   with no confirmed account yet) are `invited`.
//! - **Invite**: `PUT /organizations/{id}/members?email=…&fullName=…&type=…` (Trello adds the
//!   address's account, or makes an unconfirmed one and emails the invitation; sending it again
//!   sets the type again, so it is safe to repeat). The member is read again: by its address,
//!   else as the one membership that was not there before.
//! - **Role change**: `PUT /organizations/{id}/members/{idMember}?type=admin|normal` (one call:
//!   a membership has one type), read again to confirm.
//! - **Remove**: `DELETE /organizations/{id}/members/{idMember}/all`, which takes the member off
//!   the workspace **and every board in it** (the plain `DELETE …/members/{idMember}` leaves
//!   their board memberships, so a removed person would keep working on the boards); gone
//!   already is done.
//!   **Keep seat**: `PUT /organizations/{id}/members/{idMember}/deactivated?value=true`, in paid
//!   workspaces (Trello's support pages: Standard and Premium; Enterprise): the member keeps the
//!   account and their cards, loses access, and frees the seat. Inviting a deactivated member's
//!   address again reactivates them (`value=false`).
//! - **Rate limits**: 100 requests per 10 s per token, 300 per key; a 429 says which in its
//!   body and carries no `Retry-After`: it is retried after the window the
//!   `X-Rate-Limit-*-Interval-Ms` headers name ([`model::throttle`]), else `RateLimited`.
//! - **Errors**: plain-text bodies ([`model::map_error`]); 401 is a key or token Trello does
//!   not accept (`invalid token`) or a member who may not (`unauthorized permission
//!   requested`).
//!
//! Assumptions where the reference is silent: Trello shows a member's `email` only where it
//! may (the Member object has the field, but Trello's own answer in
//! <https://github.com/trello-archive/api-docs/issues/130> is that other members' addresses are
//! not accessible): a member whose address Trello withholds has none here and is not found by
//! it, and an invitation is then known by the membership it added. `member_fields` is sent as
//! for every nested member resource; the answers of the writes are not read.
//!
//! Not modelled: boards and board guests, multi-board guests, Enterprise-managed members
//! (`/enterprises/{id}/members`). Reference pages:
//! - Organizations: <https://developer.atlassian.com/cloud/trello/rest/api-group-organizations/>
//! - Members: <https://developer.atlassian.com/cloud/trello/rest/api-group-members/>
//! - Authorization: <https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/>
//! - Rate limits: <https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/>
//! - Removing and deactivating members:
//!   <https://support.atlassian.com/trello/docs/removing-people-from-a-workspace/>,
//!   <https://support.atlassian.com/trello/docs/what-is-a-deactivated-user>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{
    SettingField, SettingKind, API_TOKEN, BASE_URL, ORGANIZATION_ID,
};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, MemberState, SignIn,
};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{confirmed, existing, App, AppConnector, Invitee, Members};
use crate::sdk::errors::unexpected;
use crate::sdk::http::{segment, Request};
use crate::sdk::members::{email_local_part, given, normalize_email};
use crate::sdk::rest::json_body;
use crate::sdk::roles::known;
use crate::sdk::saas;
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{map_error, memberships, ROLES};
pub use model::{ADMIN, NORMAL};

/// The connector's name in the catalog.
pub const NAME: &str = "trello";
/// Trello's REST API: the base URL when the hub sets none.
pub const DEFAULT_BASE_URL: &str = "https://api.trello.com/1";
/// The hub setting holding the API key (of the Power-Up the token was made for; not a secret).
pub const API_KEY: &str = "api_key";
pub(crate) const APP: &str = "Trello";
/// The nested member fields read with the memberships.
const MEMBER_FIELDS: &str = "fullName,username,email";

type R<T> = Result<T, E>;

/// The Trello connector ([`AppConnector`] of [`Trello`]); the registry builds it with
/// [`saas::connector`].
pub type TrelloConnector = AppConnector<Trello>;

/// Trello as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Trello;

#[async_trait]
impl App for Trello {
    const NAME: &'static str = NAME;
    type Api<'a> = Workspace<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Text, Url};
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: ROLES.map(String::from).into(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, KeepSeat],
            default_role: NORMAL.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, false)
                    .default_value(DEFAULT_BASE_URL)
                    .help("https://api.trello.com/1 (the default: Trello's REST API)"),
                [
                    SettingField::new(ORGANIZATION_ID, "Workspace id", Text, true).help(
                        "The workspace's id or short name, as in https://trello.com/w/<name>",
                    ),
                    SettingField::new(API_KEY, "API key", Text, true).help(
                        "The API key of the Power-Up the token was made for \
                         (https://trello.com/power-ups/admin → API key)",
                    ),
                    SettingField::new(API_TOKEN, "Token", Secret, true).help(
                        "A token of a workspace admin for that key, with read and write scope",
                    ),
                ],
            ),
        }
    }

    /// Reads the token's member (`/members/me`) and its membership, which must be `admin`.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let mut ws = Workspace::new(http, ctx, &token, "")?;
        let me = Workspace::send(
            ws.api.get("/members/me").query(&[("fields", "id".into())]),
            "sign in",
        )
        .await?;
        ws.me = crate::sdk::json::id(&me["id"])
            .ok_or_else(|| E::AppChanged("Trello's /members/me names no member id".into()))?;
        ws.check_admin().await?;
        debug!(member = %ws.me, "signed in to Trello");
        let data = json!({ "member_id": ws.me });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Workspace<'a>> {
        let me = s.data["member_id"].as_str().unwrap_or_default();
        Workspace::new(http, ctx, &s.token, me)
    }
}

/// Trello's REST API as the automation account (member `me`) for one call, in the workspace
/// `org`.
#[derive(Debug)]
pub struct Workspace<'a> {
    api: Endpoint<'a>,
    org: String,
    me: String,
}

impl<'a> Workspace<'a> {
    /// The API at the hub's base URL (Trello's when blank), with the key and token in the
    /// `Authorization` header and Trello's rate limit read from its 429s.
    ///
    /// Errors: `Configuration` without a workspace or an API key, or for a key that is not
    /// letters and digits; `BadCredentials` for a token that is not (neither is ever echoed).
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: &str) -> R<Self> {
        let org = saas::organization(ctx, "Trello workspace")?;
        let key = ctx.setting(API_KEY).unwrap_or("");
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            let why = "the hub's Trello API key (api_key) is missing or not letters and digits";
            return Err(E::Configuration(why.into()));
        }
        let token = token.expose_secret().trim();
        if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
            let why = "the automation account's Trello token is missing or not letters and digits";
            return Err(E::BadCredentials(why.into()));
        }
        let header = format!("OAuth oauth_consumer_key=\"{key}\", oauth_token=\"{token}\"");
        let api = saas::endpoint_or(http, ctx, DEFAULT_BASE_URL)?
            .with_auth(Auth::Header("Authorization", SecretString::from(header)))
            .with_throttle(model::throttle);
        Ok(Self {
            api,
            org: org.to_owned(),
            me: me.to_owned(),
        })
    }

    /// Sends `req` and reads the JSON answer of a success, else the error table's error.
    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// `/organizations/<org><rest>`.
    fn path(&self, rest: &str) -> String {
        format!("/organizations/{}{rest}", segment(&self.org))
    }

    /// `/organizations/<org>/members/<id><rest>`.
    fn member_path(&self, id: &str, rest: &str) -> String {
        self.path(&format!("/members/{}{rest}", segment(id)))
    }

    /// The workspace's memberships filtered by `filter`, each with its member's username.
    async fn memberships(&self, filter: &str, what: &str) -> R<Vec<(AppMember, String)>> {
        let q = [
            ("filter", filter.to_owned()),
            ("member", "true".to_owned()),
            ("member_fields", MEMBER_FIELDS.to_owned()),
        ];
        let v = Self::send(self.api.get(&self.path("/memberships")).query(&q), what).await?;
        memberships(&v, what)
    }

    /// Every membership (one call: Trello has no paging).
    async fn all(&self, what: &str) -> R<Vec<(AppMember, String)>> {
        self.memberships("all", what).await
    }

    /// The member for whom `hit` holds (given their username), `None` when there is none.
    async fn find(&self, hit: impl Fn(&AppMember, &str) -> bool) -> R<Option<AppMember>> {
        let all = self.all("find a member").await?;
        Ok(all.into_iter().find(|(m, u)| hit(m, u)).map(|(m, _)| m))
    }

    /// Checks that the token's member is an admin of the workspace.
    ///
    /// Errors: `InsufficientPermission` for a normal member or someone outside the workspace;
    /// `Configuration` when Trello has no such workspace.
    async fn check_admin(&self) -> R<()> {
        let mine = match self
            .memberships("me", "read the account's membership")
            .await
        {
            Err(E::NotFound(why)) => {
                return Err(E::Configuration(format!(
                    "Trello has no workspace {:?} (check the organization id): {why}",
                    self.org
                )))
            }
            other => other?,
        };
        match mine.first().map(|(m, _)| m.roles[0].as_str()) {
            Some(ADMIN) => Ok(()),
            Some(role) => Err(E::InsufficientPermission(format!(
                "the automation account is a {role} member of the Trello workspace: make it an \
                 admin"
            ))),
            None => Err(E::InsufficientPermission(
                "the automation account is not a member of the Trello workspace".into(),
            )),
        }
    }

    /// A `PUT` to `path` with the query `q`, whose answer is not read; safe to send twice.
    async fn put(&self, path: &str, q: &[(&str, String)], what: &str) -> R<()> {
        let req = self.api.request(Method::PUT, path).query(q).idempotent();
        let r = req.send().await?;
        match r.status.is_success() {
            true => Ok(()),
            false => Err(map_error(&r, what)),
        }
    }
}

#[async_trait]
impl Members for Workspace<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.check_admin().await
    }

    /// The whole workspace, one page of one call (Trello does not page memberships).
    ///
    /// Errors: `Configuration` for a cursor, which no listing of this connector hands out.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        if let Some(c) = cursor {
            let why = format!("Trello lists a whole workspace in one page: no cursor {c:?}");
            return Err(E::Configuration(why));
        }
        let all = self.all("list members").await?;
        let members = all.into_iter().map(|(m, _)| m).collect();
        Ok(MemberPage {
            members,
            next: None,
        })
    }

    /// A member by id, username or address.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        if id.is_empty() {
            return Ok(None);
        }
        self.find(|m, username| m.app_member_id == id || username.eq_ignore_ascii_case(id))
            .await
    }

    /// The member with this address, where Trello shows it.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        self.find(|m, _| m.email.as_deref() == Some(email)).await
    }

    fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }

    /// `admin` or `normal` (any case).
    async fn role(&self, role: &str) -> R<String> {
        let role = role.to_ascii_lowercase();
        known(APP, &role, &ROLES.map(String::from)).map(|()| role)
    }

    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let q = [("type", role.to_owned())];
        let path = self.member_path(&m.app_member_id, "");
        self.put(&path, &q, "change a member's type").await?;
        confirmed(self, &m.app_member_id, role).await
    }

    /// Reactivates the deactivated member; [`crate::sdk::builder::rejoin`] then gives the role.
    async fn reactivate(&self, m: AppMember, _to: &Invitee<'_>) -> R<AppMember> {
        let path = self.member_path(&m.app_member_id, "/deactivated");
        let q = [("value", "false".to_owned())];
        self.put(&path, &q, "reactivate a member").await?;
        existing(self, &m.app_member_id).await
    }

    /// Trello has no usernames to choose: the address names the person.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Adds the address with the type (Trello emails an invitation to an address without an
    /// account), then reads the member: by address, else the membership that was not there
    /// before.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "invite a member";
        let before = self.all(what).await?;
        let name = given(&to.inv.name).unwrap_or_else(|| email_local_part(to.email));
        let q = [
            ("email", to.email.to_owned()),
            ("fullName", name.to_owned()),
            ("type", to.role.to_owned()),
        ];
        self.put(&self.path("/members"), &q, what).await?;
        let after: Vec<AppMember> = self.all(what).await?.into_iter().map(|(m, _)| m).collect();
        let known = |m: &&AppMember| {
            before
                .iter()
                .any(|(b, _)| b.app_member_id == m.app_member_id)
        };
        let by_address = after.iter().find(|m| m.email.as_deref() == Some(to.email));
        let m = by_address.or_else(|| after.iter().find(|m| !known(m)));
        let m = m.cloned().ok_or_else(|| {
            E::Conflict(format!(
                "Trello added {} to a member whose address it does not show",
                to.email
            ))
        })?;
        debug!(member = %m.app_member_id, "invited to a Trello workspace");
        Ok(m)
    }

    /// Removes the member from the workspace and all its boards; gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let req = self
            .api
            .request(Method::DELETE, &self.member_path(&m.app_member_id, "/all"));
        saas::deleted(req, |r| map_error(r, "remove a member")).await
    }

    /// Deactivates the member (paid workspaces): the account and their cards stay, access and
    /// the seat go.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        let path = self.member_path(&m.app_member_id, "/deactivated");
        let q = [("value", "true".to_owned())];
        self.put(&path, &q, "deactivate a member").await?;
        let after = existing(self, &m.app_member_id).await?;
        match after.state {
            MemberState::Deactivated => Ok(after),
            _ => Err(unexpected(APP, "deactivate a member")),
        }
    }
}
