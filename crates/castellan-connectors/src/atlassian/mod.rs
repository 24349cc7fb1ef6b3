//! Atlassian Cloud, through the organizations REST API of Atlassian Administration with an
//! organization API key (Bearer) made by an organization admin; the hub's organization id is
//! Atlassian's organization ID. The organization must use the centralized user management
//! experience (its users and groups in Directory), which the directory endpoints require.
//!
//! Members are the users of the organization's directories, with their organization role
//! (`organization_admin`: Atlassian's `atlassian/org-admin` role; `user`: everybody else);
//! suspended users (and deactivated accounts) are shown deactivated. Resources are the
//! directories' groups, which give app access (Jira, Confluence…) to their members; the one role
//! on a group is `member`. Paths below are under `/admin` (the hub's base URL is the API's
//! origin, `https://api.atlassian.com`).
//!
//! - Sign-in and permission probe: `GET /v2/orgs/{orgId}/directories`, which needs an org
//!   admin's key for this organization (`ADMIN-403-3` otherwise) and shows the organization has
//!   a directory.
//! - Listing: `GET /v2/orgs/{orgId}/directories/-/users?limit=50&status=active&status=suspended
//!   &status=deactivated` (`-`: every directory the key may manage), paged with `cursor` from
//!   `links.next`; the organization admins among a page are read with one more call, the same
//!   listing filtered by the page's `accountIds` and `roleIds=atlassian/org-admin`.
//! - Lookups: the listing filtered by `accountIds`, or by `searchTerm` (nickname and email)
//!   with the email compared exactly.
//! - Invitation: `POST /v2/orgs/{orgId}/users/invite` with `emails` and `sendNotification`
//!   (Atlassian emails the person); `data[0].id` is the account. It gives no app access: groups
//!   do. Atlassian offers it to organizations with at least one paid subscription.
//! - Role change: `POST /v1/orgs/{orgId}/users/{accountId}/role-assignments/assign` (or
//!   `/revoke`) with `{"role": "atlassian/org-admin"}`.
//! - Removal: `DELETE /v1/orgs/{orgId}/directory/users/{accountId}` (removes the user's access
//!   and group memberships; the Atlassian account stays). Keep seat: `POST /v1/orgs/{orgId}/
//!   directory/users/{accountId}/suspend-access` (not billed; groups kept), undone by
//!   `/restore-access` when the person is invited again.
//! - Resources: `GET /v2/orgs/{orgId}/directories/-/groups`; who is in one: the user listing
//!   filtered by `groupIds`; a grant is `POST /v1/orgs/{orgId}/directory/groups/{groupId}/
//!   memberships` with `account_id`, a revocation `DELETE …/memberships/{accountId}`.
//! - Errors: `{"errors": [{"code", "title", "detail"}]}` ([`model::map_error`]); 429 with
//!   `Retry-After`, which the SDK honours.
//!
//! Choices where the reference is silent (assumptions): the page size is 50, the documented
//! default (no maximum is published); `-` reaches every directory for reads, and the v1
//! directory endpoints act on the user in the organization's directory; an invitation without
//! app roles adds the person to the directory with no app access; a role change is answered as
//! made (Atlassian applies it within 30 s, eventually consistent) rather than read back. The
//! organization API key belongs to no account: the automation account's username is the email
//! of the org admin the hub acts for, and the connector never demotes, removes or suspends the
//! member with that address. The v1 `GET /v1/orgs/{orgId}/users` listing is not used: it lists
//! managed accounts only (verified domains), without their organization roles or suspensions.
//!
//! Pages:
//! - Introduction (API key, rate limits): <https://developer.atlassian.com/cloud/admin/organization/rest/intro/>
//! - Users (directory users, invite, role assignments): <https://developer.atlassian.com/cloud/admin/organization/rest/api-group-users/>
//! - Groups: <https://developer.atlassian.com/cloud/admin/organization/rest/api-group-groups/>
//! - Directory (remove, suspend, restore, group memberships): <https://developer.atlassian.com/cloud/admin/organization/rest/api-group-directory/>

mod groups;
mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{
    SettingField, SettingKind, API_TOKEN, BASE_URL, ORGANIZATION_ID,
};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, MemberState, ResourceGrant, ResourceMemberPage, ResourcePage,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Invitee, Members};
use crate::sdk::http::{segment, Request};
use crate::sdk::json::text;
use crate::sdk::members::{member, normalize_email};
use crate::sdk::rest::json_body;
use crate::sdk::roles::known;
use crate::sdk::saas::{self, next_cursor};
use crate::sdk::{Endpoint, HttpClient};
use model::{data, directory_user, map_error, ORG_ADMIN_ROLE, ROLES};
pub use model::{MEMBER, ORG_ADMIN, USER};

/// The connector's name in the catalog.
pub const NAME: &str = "atlassian";
pub(crate) const APP: &str = "Atlassian";
/// Users and groups a page: the documented default `limit`.
const PAGE: usize = 50;
/// The statuses of the organization's members (not `not_invited`, `for_deletion`).
const MEMBER_STATUSES: [&str; 3] = ["active", "suspended", "deactivated"];

type R<T> = Result<T, E>;

/// The Atlassian connector ([`AppConnector`] of [`Atlassian`]); the registry builds it with
/// [`saas::connector`].
pub type AtlassianConnector = AppConnector<Atlassian>;

/// Atlassian Cloud's organization administration as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Atlassian;

#[async_trait]
impl App for Atlassian {
    const NAME: &'static str = NAME;
    type Api<'a> = Org<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Text, Url};
        let capabilities = vec![
            ListMembers,
            Invite,
            UpdateRole,
            Remove,
            KeepSeat,
            ListResources,
            ResourceRoles,
        ];
        let base_url = SettingField::new(BASE_URL, "API address", Url, true)
            .help("https://api.atlassian.com (Atlassian's admin APIs)");
        let org = SettingField::new(ORGANIZATION_ID, "Organization ID", Text, true)
            .help("admin.atlassian.com → Settings → API keys (shown with the key)");
        let key = SettingField::new(API_TOKEN, "Organization API key", Secret, true).help(
            "admin.atlassian.com → Settings → API keys, made by an organization admin (with \
             scopes: read and write of users, groups and directories)",
        );
        saas::token_app(NAME, &ROLES, USER, capabilities, base_url, [org, key])
    }

    /// Checks the key on the organization's directories; the automation account is the org
    /// admin whose email is the hub's username, found in the directory and kept by its account
    /// id (an API key belongs to no account, so this is how the guard around the automation
    /// account knows it).
    ///
    /// Errors: `Configuration` when the hub's username is not an email, or no directory user
    /// has it (the guard would otherwise protect nobody); the key's check's.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let org = saas::organization(ctx, "Atlassian organization id")?;
        let email = ctx.username.trim().to_lowercase();
        let who = "the email of the organization admin the hub acts as";
        if !email.contains('@') {
            return Err(E::Configuration(format!(
                "the hub's username must be {who}"
            )));
        }
        let unknown = json!({ "org": org, "me": "" });
        let api = Org::new(http, ctx, &token, &unknown)?;
        api.check().await?;
        let me = api.by_email(&email).await?.ok_or_else(|| {
            E::Configuration(format!(
                "no user of the Atlassian organization has the hub's username: it must be {who}"
            ))
        })?;
        let data = json!({ "org": org, "me": me.app_member_id });
        debug!(org, "signed in to Atlassian Administration");
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Org<'a>> {
        Org::new(http, ctx, &s.token, &s.data)
    }
}

/// Atlassian's organizations REST API with the organization's API key, for one call.
#[derive(Debug)]
pub struct Org<'a> {
    api: Endpoint<'a>,
    org: String,
    /// The automation account's account id, found at sign-in by the hub's username (empty
    /// only while signing in).
    me: String,
}

impl<'a> Org<'a> {
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, data: &Value) -> R<Self> {
        Ok(Self {
            api: saas::bearer(http, ctx, token)?,
            org: text(&data["org"]).to_owned(),
            me: text(&data["me"]).to_owned(),
        })
    }

    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// `/admin/<version>/orgs/{orgId}<rest>`.
    fn path(&self, version: &str, rest: &str) -> String {
        format!("/admin/{version}/orgs/{}{rest}", segment(&self.org))
    }

    /// A write whose answer holds nothing to read (a `204`, or a `message`). Every such write
    /// sets a state (a role held, access suspended or restored, a membership), so it is safe
    /// to send twice and retried in the call.
    async fn write(&self, method: Method, path: &str, body: Option<Value>, what: &str) -> R<()> {
        let mut req = self.api.request(method, path).idempotent();
        if let Some(body) = body {
            req = req.json(body);
        }
        saas::sent(req, |r| map_error(r, what)).await
    }

    /// Reads the organization's directories: the key must be an org admin's key for it.
    ///
    /// Errors: `InsufficientPermission` (`ADMIN-403-3`); `Configuration` when the organization
    /// has no directory (it does not use centralized user management).
    async fn check(&self) -> R<()> {
        let what = "read the organization's directories";
        let req = self.api.get(&self.path("v2", "/directories"));
        let v = Self::send(req, what).await?;
        match data(&v, what)?.is_empty() {
            false => Ok(()),
            true => Err(E::Configuration(
                "the Atlassian organization has no directory: it must use centralized user \
                 management"
                    .into(),
            )),
        }
    }

    /// One page of the users of every directory after `cursor`, filtered by `q`.
    async fn users(&self, mut q: Vec<(&str, String)>, cursor: Option<&str>) -> R<Value> {
        q.push(("limit", PAGE.to_string()));
        q.extend(cursor.map(|c| ("cursor", c.to_owned())));
        let req = self.api.get(&self.path("v2", "/directories/-/users"));
        Self::send(req.query(&q), "list users").await
    }

    /// The members of `rows` (one page at most), the organization admins among them marked
    /// with one more call.
    async fn members_of(&self, rows: &[Value]) -> R<Vec<AppMember>> {
        let found = rows.iter().map(|r| directory_user(r, "list users"));
        let mut members: Vec<AppMember> = found
            .collect::<R<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        if members.is_empty() {
            return Ok(members);
        }
        let mut q: Vec<(&str, String)> = members
            .iter()
            .map(|m| ("accountIds", m.app_member_id.clone()))
            .collect();
        q.push(("roleIds", ORG_ADMIN_ROLE.to_owned()));
        let v = self.users(q, None).await?;
        let admins: Vec<&str> = data(&v, "list organization admins")?
            .iter()
            .filter_map(|r| r["accountId"].as_str())
            .collect();
        for m in &mut members {
            if admins.contains(&m.app_member_id.as_str()) {
                m.roles = vec![ORG_ADMIN.to_owned()];
            }
        }
        Ok(members)
    }

    /// The member made of the one row whose `key` is `value` among `rows`, `None` for none.
    async fn the_one(&self, rows: &[Value], key: &str, value: &str) -> R<Option<AppMember>> {
        let same = |r: &&Value| {
            let v = r[key].as_str().unwrap_or_default();
            v.eq_ignore_ascii_case(value)
        };
        match rows.iter().find(same) {
            Some(row) => Ok(self.members_of(std::slice::from_ref(row)).await?.pop()),
            None => Ok(None),
        }
    }

    /// The member `m` read again after a change, as it was when Atlassian shows it no more.
    async fn again(&self, m: AppMember, state: MemberState) -> R<AppMember> {
        Ok(match self.member(&m.app_member_id).await? {
            Some(now) => now,
            None => AppMember { state, ..m },
        })
    }

    /// `/v1/…/directory/users/{accountId}<action>`.
    fn directory_user(&self, id: &str, action: &str) -> String {
        self.path("v1", &format!("/directory/users/{}{action}", segment(id)))
    }
}

#[async_trait]
impl Members for Org<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.check().await
    }

    /// The directories' active, suspended and deactivated users, 50 a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let q = MEMBER_STATUSES.map(|s| ("status", s.to_owned())).to_vec();
        let v = self.users(q, cursor).await?;
        let members = self.members_of(data(&v, "list users")?).await?;
        let next = next_cursor(&v, "/links/next");
        Ok(MemberPage { members, next })
    }

    /// A user by account id (or email), `None` without a membership.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        if id.is_empty() {
            return Ok(None);
        }
        let v = self
            .users(vec![("accountIds", id.to_owned())], None)
            .await?;
        self.the_one(data(&v, "read a user")?, "accountId", id)
            .await
    }

    /// The user with this address, through `searchTerm` (every page of matches read).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let mut cursor: Option<String> = None;
        loop {
            let q = vec![("searchTerm", email.to_owned())];
            let v = self.users(q, cursor.as_deref()).await?;
            let rows = data(&v, "find a user")?;
            if let Some(m) = self.the_one(rows, "email", email).await? {
                return Ok(Some(m));
            }
            match next_cursor(&v, "/links/next") {
                Some(n) => cursor = Some(n),
                None => return Ok(None),
            }
        }
    }

    fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }

    /// `organization_admin` or `user` (any case).
    async fn role(&self, role: &str) -> R<String> {
        let role = role.to_ascii_lowercase();
        let roles: Vec<String> = ROLES.iter().map(|r| (*r).to_owned()).collect();
        known(APP, &role, &roles).map(|()| role)
    }

    /// Assigns or revokes `atlassian/org-admin`; answered as made (eventually consistent).
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let action = match role == ORG_ADMIN {
            true => "assign",
            false => "revoke",
        };
        let rest = format!(
            "/users/{}/role-assignments/{action}",
            segment(&m.app_member_id)
        );
        let body = json!({ "role": ORG_ADMIN_ROLE });
        let path = self.path("v1", &rest);
        self.write(Method::POST, &path, Some(body), "change a user's role")
            .await?;
        debug!(member = %m.app_member_id, action, "changed an Atlassian organization role");
        Ok(AppMember {
            roles: vec![role.to_owned()],
            ..m
        })
    }

    /// Restores the suspended user's access (their groups come back with it).
    async fn reactivate(&self, m: AppMember, _to: &Invitee<'_>) -> R<AppMember> {
        let path = self.directory_user(&m.app_member_id, "/restore-access");
        self.write(Method::POST, &path, None, "restore a user's access")
            .await?;
        self.again(m, MemberState::Active).await
    }

    /// Atlassian has no usernames: the address names the person.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Invites the address to the organization (Atlassian emails the person); sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "invite a user";
        let body = json!({ "emails": [to.email], "sendNotification": true });
        let req = self
            .api
            .request(Method::POST, &self.path("v2", "/users/invite"));
        let v = Self::send(req.json(body), what).await?;
        let id = data(&v, what)?
            .first()
            .and_then(|d| crate::sdk::json::id(&d["id"]));
        let Some(id) = id else {
            return Err(crate::sdk::errors::unexpected(APP, what));
        };
        debug!(member = %id, "invited to an Atlassian organization");
        let invited = member(&id, Some(to.email), None, vec![USER.to_owned()], false);
        self.again(invited, MemberState::Active).await
    }

    /// Removes the user's access and group memberships; gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let req = self
            .api
            .request(Method::DELETE, &self.directory_user(&m.app_member_id, ""));
        saas::deleted(req, |r| map_error(r, "remove a user")).await
    }

    /// Suspends the user's access: not billed, groups kept for a restore.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        let path = self.directory_user(&m.app_member_id, "/suspend-access");
        self.write(Method::POST, &path, None, "suspend a user's access")
            .await?;
        self.again(m, MemberState::Deactivated).await
    }

    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        self.groups(cursor).await
    }

    async fn resource_members(&self, id: &str, cursor: Option<&str>) -> R<ResourceMemberPage> {
        self.group_members(id, cursor).await
    }

    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        self.join(grant).await
    }

    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        self.leave(id, member).await
    }
}
