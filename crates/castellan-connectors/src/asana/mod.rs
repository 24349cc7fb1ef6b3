//! Asana, through its REST API 1.0 with a personal access token or an OAuth access token
//! (Bearer) of a workspace admin; the hub's organization id is the workspace's (or
//! organization's) gid, and its base URL `https://app.asana.com/api/1.0`.
//!
//! Members are the workspace's active memberships, named by their user's gid, with the role
//! Asana shows (`admin`: `is_admin`; `guest`: `is_guest`; `member`). Resources are the
//! organization's teams; the one role on a team is `member`.
//!
//! - Sign-in: `GET /users/me` (the account's gid); the probe reads the account's own
//!   membership, `GET /workspaces/{gid}/workspace_memberships?user=me`, which must be
//!   `is_admin` (only admins remove users).
//! - Listing: `GET /workspaces/{gid}/workspace_memberships?limit=100&opt_fields=user.name,
//!   user.email,is_active,is_admin,is_guest`, paged with `offset` from `next_page.offset`;
//!   removed users (`is_active` false) are left out.
//! - Lookups: the same listing filtered by `user` (a user gid or an email address).
//! - Invitation: `POST /workspaces/{gid}/addUser` with `{"data": {"user": <email>}}` (Asana
//!   emails the person); the member is read again.
//! - Roles: Asana's API sets none. An invitation makes addresses of the organization's domains
//!   members and others guests, and admins are made in the admin console; the connector declares
//!   only `member` and answers `Unsupported` for `admin` and `guest`, and for an invitee Asana
//!   made a guest.
//! - Removal: `POST /workspaces/{gid}/removeUser` with `{"data": {"user": <gid>}}`.
//! - Resources: `GET /workspaces/{gid}/teams` (organizations have teams); who is in one:
//!   `GET /teams/{team_gid}/team_memberships`; a grant is `POST /teams/{team_gid}/addUser`, a
//!   revocation `POST /teams/{team_gid}/removeUser`, each after `GET /team_memberships?team=…
//!   &user=…` shows whether there is anything to do. Asana lets only the team's members change
//!   it: the automation account must be in the teams it manages.
//! - Errors: `{"errors": [{"message", "help"}]}` ([`model::map_error`]); 429 with `Retry-After`
//!   (150 requests a minute on free domains, 1,500 on paid ones), which the SDK honours.
//!
//! Choices where the reference is silent (assumptions): the `user` filter of the membership
//! listing answers 404 (or no row) for an address or gid nobody has; ids that are not gids (all
//! digits) name nobody and are not sent; a retried removal or team change is safe (each sets a
//! state). Not modelled: view-only members, limited access members, team admins, custom fields,
//! SCIM (see the catalog).
//!
//! Pages:
//! - Workspace memberships: <https://developers.asana.com/reference/getworkspacemembershipsforworkspace>
//! - Add and remove a user: <https://developers.asana.com/reference/adduserforworkspace>,
//!   <https://developers.asana.com/reference/removeuserforworkspace>
//! - Teams: <https://developers.asana.com/reference/getteamsforworkspace>,
//!   <https://developers.asana.com/reference/getteammembershipsforteam>,
//!   <https://developers.asana.com/reference/adduserforteam>,
//!   <https://developers.asana.com/reference/removeuserforteam>
//! - Pagination, errors, rate limits: <https://developers.asana.com/docs/pagination>,
//!   <https://developers.asana.com/docs/errors>, <https://developers.asana.com/docs/rate-limits>

mod model;
mod teams;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{
    SettingField, SettingKind, API_TOKEN, BASE_URL, ORGANIZATION_ID,
};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, ResourceGrant, ResourceMemberPage, ResourcePage,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, unexpected};
use crate::sdk::http::{segment, Request};
use crate::sdk::json::{id, text};
use crate::sdk::members::{member, normalize_email};
use crate::sdk::rest::json_body;
use crate::sdk::saas::{self, next_cursor};
use crate::sdk::{Endpoint, HttpClient};
use model::{data, map_error, membership, MEMBERSHIP_FIELDS, SHOWN};
pub use model::{ADMIN, GUEST, MEMBER};

/// The connector's name in the catalog.
pub const NAME: &str = "asana";
pub(crate) const APP: &str = "Asana";
/// Rows a page: Asana's largest `limit`.
const PAGE: usize = 100;

type R<T> = Result<T, E>;

/// The Asana connector ([`AppConnector`] of [`Asana`]); the registry builds it with
/// [`saas::connector`].
pub type AsanaConnector = AppConnector<Asana>;

/// Asana as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Asana;

#[async_trait]
impl App for Asana {
    const NAME: &'static str = NAME;
    type Api<'a> = Workspace<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Text, Url};
        let capabilities = vec![ListMembers, Invite, Remove, ListResources, ResourceRoles];
        let base_url = SettingField::new(BASE_URL, "API address", Url, true)
            .help("https://app.asana.com/api/1.0 (Asana's REST API)");
        let workspace = SettingField::new(ORGANIZATION_ID, "Workspace gid", Text, true)
            .help("the gid of the workspace or organization (GET /workspaces lists them)");
        let token = SettingField::new(API_TOKEN, "Access token", Secret, true).help(
            "a personal access token (My settings → Apps → Developer apps) or an OAuth access \
             token of a workspace admin",
        );
        saas::token_app(
            NAME,
            &[MEMBER],
            MEMBER,
            capabilities,
            base_url,
            [workspace, token],
        )
    }

    /// Reads the account (`/users/me`), which must be an admin of the workspace.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let workspace = saas::organization(ctx, "Asana workspace gid")?;
        let ws = Workspace::new(http, ctx, &token, &json!({ "workspace": workspace }))?;
        let q = [("opt_fields", "email,name".to_owned())];
        let me = ws.read("/users/me", &q, "sign in").await?;
        let me = id(&me["data"]["gid"]);
        // The token's own user: without it the automation account could remove itself.
        let me = me.ok_or_else(|| E::AppChanged("Asana's /users/me names no gid".into()))?;
        ws.check_admin().await?;
        debug!(workspace, "signed in to Asana");
        let data = json!({ "workspace": workspace, "me": me });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Workspace<'a>> {
        Workspace::new(http, ctx, &s.token, &s.data)
    }
}

/// Asana's API as the automation account for one call, in its workspace.
#[derive(Debug)]
pub struct Workspace<'a> {
    api: Endpoint<'a>,
    workspace: String,
    /// The account's user gid.
    me: String,
}

impl<'a> Workspace<'a> {
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, data: &Value) -> R<Self> {
        Ok(Self {
            api: saas::bearer(http, ctx, token)?,
            workspace: text(&data["workspace"]).to_owned(),
            me: text(&data["me"]).to_owned(),
        })
    }

    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// A `GET` of `path` with `q`.
    async fn read(&self, path: &str, q: &[(&str, String)], what: &str) -> R<Value> {
        Self::send(self.api.get(path).query(q), what).await
    }

    /// A `POST` of `{"data": {"user": <user>}}` to `path`; `safe` when it sets a state.
    fn user_call(&self, path: &str, user: &str, safe: bool) -> Request<'_> {
        let req = self.api.request(Method::POST, path);
        let req = req.json(json!({ "data": { "user": user } }));
        match safe {
            true => req.idempotent(),
            false => req,
        }
    }

    /// `/workspaces/{gid}<rest>`.
    fn path(&self, rest: &str) -> String {
        format!("/workspaces/{}{rest}", segment(&self.workspace))
    }

    /// One page of workspace memberships after `offset`, of `user` when given.
    async fn memberships(&self, user: Option<&str>, offset: Option<&str>) -> R<Value> {
        let mut q = vec![
            ("limit", PAGE.to_string()),
            ("opt_fields", MEMBERSHIP_FIELDS.to_owned()),
        ];
        q.extend(user.map(|u| ("user", u.to_owned())));
        q.extend(offset.map(|o| ("offset", o.to_owned())));
        let path = self.path("/workspace_memberships");
        self.read(&path, &q, "list workspace memberships").await
    }

    /// The active member `user` (a gid, an email or `me`) whose `key` (`gid` or `email`) is
    /// `want`, `None` when Asana has none.
    async fn one(&self, user: &str, key: &str, want: &str) -> R<Option<AppMember>> {
        let Some(v) = found(self.memberships(Some(user), None).await)? else {
            return Ok(None);
        };
        for row in data(&v, "read a workspace membership")? {
            let same = text(&row["user"][key]).eq_ignore_ascii_case(want);
            if let Some(m) = membership(row, "read a workspace membership")?.filter(|_| same) {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }

    /// Checks that the account is an admin of the workspace.
    ///
    /// Errors: `InsufficientPermission` for a member or guest.
    async fn check_admin(&self) -> R<()> {
        let what = "read the account's workspace membership";
        let v = self.memberships(Some("me"), None).await?;
        let mine = data(&v, what)?
            .first()
            .ok_or_else(|| unexpected(APP, what))?;
        let role = match membership(mine, what)? {
            Some(m) => m.roles.join(""),
            None => "removed user".to_owned(),
        };
        match role.as_str() {
            ADMIN => Ok(()),
            other => Err(E::InsufficientPermission(format!(
                "the automation account is an Asana {other} of the workspace: make it an admin"
            ))),
        }
    }
}

#[async_trait]
impl Members for Workspace<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.check_admin().await
    }

    /// Active workspace memberships, 100 a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let v = self.memberships(None, cursor).await?;
        let rows = data(&v, "list workspace memberships")?.iter();
        let members = rows.map(|r| membership(r, "list workspace memberships"));
        let members = members
            .filter_map(Result::transpose)
            .collect::<R<Vec<_>>>()?;
        let next = next_cursor(&v, "/next_page/offset");
        Ok(MemberPage { members, next })
    }

    /// A member by user gid (or email).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        match !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            true => self.one(id, "gid", id).await,
            false => Ok(None),
        }
    }

    /// The active member with this address, through the listing's `user` filter.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        self.one(email, "email", email).await
    }

    fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }

    /// Only `member`: Asana's API gives no role.
    ///
    /// Errors: `Unsupported` for `admin` and `guest`, `Configuration` for any other.
    async fn role(&self, role: &str) -> R<String> {
        match role.to_ascii_lowercase().as_str() {
            MEMBER => Ok(MEMBER.to_owned()),
            r @ (ADMIN | GUEST) => Err(E::Unsupported(format!(
                "Asana's API gives no role {r}: admins are made in the admin console, and \
                 addresses outside the organization's domains join as guests"
            ))),
            r => Err(E::Configuration(format!(
                "Asana has no role {r:?} (its roles: {})",
                SHOWN.join(", ")
            ))),
        }
    }

    /// Asana's API changes no role; an invitee Asana made a guest stays one.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let who = m.email.as_deref().unwrap_or(&m.app_member_id);
        Err(E::Unsupported(format!(
            "Asana's API cannot make {who} ({}) a {role}: addresses outside the organization's \
             domains join as guests, and an admin changes roles in the admin console",
            m.roles.join(", ")
        )))
    }

    /// Asana has no usernames: the address names the person.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Adds the address to the workspace (Asana emails the person); sent once. The member is
    /// read again for the role Asana gave.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "add a user to the workspace";
        let req = self.user_call(&self.path("/addUser"), to.email, false);
        let v = Self::send(req, what).await?;
        let user = &v["data"];
        let gid = id(&user["gid"]).ok_or_else(|| unexpected(APP, what))?;
        debug!(member = %gid, "added to an Asana workspace");
        let read = self.one(&gid, "gid", &gid).await?;
        let made = || {
            member(
                &gid,
                Some(to.email),
                user["name"].as_str(),
                vec![MEMBER.into()],
                false,
            )
        };
        Ok(read.unwrap_or_else(made))
    }

    /// Removes the user from the workspace; gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let req = self.user_call(&self.path("/removeUser"), &m.app_member_id, true);
        let r = saas::sent(req, |r| map_error(r, "remove a user")).await;
        crate::sdk::errors::gone(r)
    }

    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        self.teams(cursor).await
    }

    async fn resource_members(&self, id: &str, cursor: Option<&str>) -> R<ResourceMemberPage> {
        self.team_members(id, cursor).await
    }

    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        self.join(grant).await
    }

    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        self.leave(id, member).await
    }
}
