//! GitLab, one group on GitLab.com or a self-managed instance, through the REST API v4 with an
//! access token (personal, or a group access token) of a group owner, sent in the
//! `PRIVATE-TOKEN` header. The base URL is `https://gitlab.com/api/v4` (the default) or
//! `https://<host>/api/v4`; a self-managed instance on the company's network needs the hub's
//! `allow_private` ([`crate::sdk::saas`]). The group is the hub's organization id: its numeric id
//! or its full path (`my-group/sub`), URL-encoded into every path.
//!
//! - **Roles** are GitLab's access levels, named here, and mapped to the numbers on the wire:
//!   `guest` 10, `planner` 15, `reporter` 20, `developer` 30, `maintainer` 40, `owner` 50
//!   ([`model::LEVELS`]; 5, Minimal access, is read as `minimal_access` but not given).
//! - **Sign-in** reads the token's user (`GET /user`); the **permission probe** reads that
//!   user's membership of the group, inherited ones included
//!   (`GET /groups/{id}/members/all/{user_id}`), which must be Owner.
//! - **Members** are the group's direct members (`GET /groups/{id}/members`), known by their
//!   user id, then its pending invitations (`GET /groups/{id}/invitations`), `invited`, known as
//!   `invitation:<email>`; 100 a page, following `X-Next-Page` (or `Link: rel="next"`). Group
//!   members have offset pages only: GitLab's keyset pagination covers other listings. GitLab
//!   shows a member's `email` only for the group's enterprise users, to its owners: others have
//!   no address here, except the one they were found by.
//! - **Lookups**: `GET /groups/{id}/members/{user_id}`; by address, the `query` filter of both
//!   listings (GitLab matches a member's address exactly).
//! - **Invite**: `POST /groups/{id}/invitations` with `email` and `access_level`: GitLab adds a
//!   user who has that (verified) address at once, else emails an invitation. Its answer is
//!   `{"status": …}`; the member is read again by address.
//! - **Role change**: `PUT /groups/{id}/members/{user_id}` or
//!   `PUT /groups/{id}/invitations/{email}` with `access_level` (one call).
//! - **Remove**: `DELETE /groups/{id}/members/{user_id}` or
//!   `DELETE /groups/{id}/invitations/{email}`; gone already is done.
//! - **Resources** are the group's subgroups (`GET /groups/{id}/descendant_groups`, kind
//!   `subgroup`, id `group:<id>`) and projects (`GET /groups/{id}/projects?include_subgroups=
//!   true`, kind `project`, id `project:<id>`), with the same six roles: direct memberships
//!   read, given and taken with `/groups/{id}/members` and `/projects/{id}/members`
//!   ([`resources`]). GitLab gives them to users who joined (a pending invitee is a `Conflict`),
//!   and not below what the user inherits from the group.
//! - **Rate limits**: 429 with `Retry-After` and `RateLimit-*` headers: the SDK waits and
//!   retries reads ([`crate::sdk::http`]), then `RateLimited`.
//! - **Errors**: `{"message": …}` or `{"error": …}` ([`model::map_error`]).
//!
//! Assumptions where the reference is silent: an invitation's `POST` answers its `status`
//! body with 201 even for `"error"`, which is read as an error; a `query` that is a whole
//! address and finds one member who shows none names that member's address. Not modelled:
//! billable members and seat states (`/members/{id}/state`), custom roles (`member_role_id`),
//! membership expiry, invited groups, SAML and SCIM identities. Reference pages:
//! - Members: <https://docs.gitlab.com/api/members/>
//! - Invitations: <https://docs.gitlab.com/api/invitations/>
//! - Groups (descendant groups, projects): <https://docs.gitlab.com/api/groups/>
//! - Current user: <https://docs.gitlab.com/api/users/#get-the-current-user>
//! - Authentication: <https://docs.gitlab.com/api/rest/authentication/>
//! - Pagination: <https://docs.gitlab.com/api/rest/#pagination>
//! - Rate limits: <https://docs.gitlab.com/security/rate_limits/>
//! - Status codes and errors: <https://docs.gitlab.com/api/rest/troubleshooting/>

mod model;
mod resources;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{
    SettingField, SettingKind, API_TOKEN, BASE_URL, ORGANIZATION_ID,
};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, ResourceGrant, ResourceMemberPage, ResourcePage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, unexpected};
use crate::sdk::http::{segment, Request};
use crate::sdk::members::normalize_email;
use crate::sdk::rest::json_body;
use crate::sdk::roles::known;
use crate::sdk::saas;
use crate::sdk::{Auth, Endpoint, HttpClient, Reply};
use model::{
    group_member, invitation, invitation_error, level_of, map_error, next_page, rows, INVITATION,
    LEVELS,
};
pub use model::{GUEST, OWNER};

/// The connector's name in the catalog.
pub const NAME: &str = "gitlab";
/// GitLab.com's REST API: the base URL when the hub sets none.
pub const DEFAULT_BASE_URL: &str = "https://gitlab.com/api/v4";
pub(crate) const APP: &str = "GitLab";
/// Rows per page: the most GitLab gives.
pub const PAGE: usize = 100;
/// Listing cursors: direct members, then pending invitations, each with its page number.
const LISTINGS: [&str; 2] = ["m:", "i:"];

type R<T> = Result<T, E>;

/// The GitLab connector ([`AppConnector`] of [`GitLab`]); the registry builds it with
/// [`saas::connector`].
pub type GitLabConnector = AppConnector<GitLab>;

/// GitLab as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GitLab;

#[async_trait]
impl App for GitLab {
    const NAME: &'static str = NAME;
    type Api<'a> = Group<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Text, Url};
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: LEVELS.iter().map(|(r, _)| (*r).to_owned()).collect(),
            capabilities: vec![
                ListMembers,
                Invite,
                UpdateRole,
                Remove,
                ListResources,
                ResourceRoles,
            ],
            default_role: GUEST.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, false)
                    .default_value(DEFAULT_BASE_URL)
                    .help(
                        "https://gitlab.com/api/v4 (the default); a self-managed instance: \
                         https://<host>/api/v4 (on a private network, set allow_private)",
                    ),
                [
                    SettingField::new(ORGANIZATION_ID, "Group", Text, true)
                        .help("The group's id or full path, as in https://gitlab.com/<path>"),
                    SettingField::new(API_TOKEN, "Access token", Secret, true).help(
                        "A personal or group access token of a group owner, with the api scope",
                    ),
                ],
            ),
        }
    }

    /// Reads the token's user (`GET /user`), who must own the group.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let mut group = Group::new(http, ctx, &token, "")?;
        let me = Group::send(group.api.get("/user"), "sign in").await?;
        group.me = crate::sdk::json::id(&me["id"])
            .ok_or_else(|| E::AppChanged("GitLab's /user names no user id".into()))?;
        group.check_owner().await?;
        debug!(user = %group.me, "signed in to GitLab");
        let data = json!({ "user_id": group.me });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Group<'a>> {
        let me = s.data["user_id"].as_str().unwrap_or_default();
        Group::new(http, ctx, &s.token, me)
    }
}

/// GitLab's REST API as the automation account (user `me`) for one call, in the group `group`.
#[derive(Debug)]
pub struct Group<'a> {
    api: Endpoint<'a>,
    group: String,
    me: String,
}

impl<'a> Group<'a> {
    /// The API at the hub's base URL (GitLab.com's when blank) with the token in
    /// `PRIVATE-TOKEN`.
    ///
    /// Errors: `Configuration` without a group, or for a refused base URL.
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: &str) -> R<Self> {
        let group = saas::organization(ctx, "GitLab group")?;
        let api = saas::endpoint_or(http, ctx, DEFAULT_BASE_URL)?;
        let api = api.with_auth(Auth::Header("PRIVATE-TOKEN", token.clone()));
        Ok(Self {
            api,
            group: group.to_owned(),
            me: me.to_owned(),
        })
    }

    /// Sends `req`: the JSON answer of a success, else the error table's error.
    pub(crate) async fn send(req: Request<'_>, what: &str) -> R<Value> {
        Self::reply(req, what).await.map(|(v, _)| v)
    }

    /// Sends `req`: the JSON answer of a success and the reply (for its headers).
    async fn reply(req: Request<'_>, what: &str) -> R<(Value, Reply)> {
        let r = req.send().await?;
        let headers = r.clone();
        Ok((json_body(r, APP, what, |r| map_error(r, what))?, headers))
    }

    /// `/groups/<group><rest>`.
    pub(crate) fn path(&self, rest: &str) -> String {
        format!("/groups/{}{rest}", segment(&self.group))
    }

    /// One page (`None`: the first) of the listing at `path` with the query `q`: its rows and
    /// the next page.
    pub(crate) async fn listing(
        &self,
        path: &str,
        page: Option<&str>,
        q: &[(&str, String)],
        what: &str,
    ) -> R<(Vec<Value>, Option<String>)> {
        let mut query = vec![
            ("per_page", PAGE.to_string()),
            ("page", page.unwrap_or("1").to_owned()),
        ];
        query.extend(q.iter().cloned());
        let (v, r) = Self::reply(self.api.get(path).query(&query), what).await?;
        Ok((rows(&v, what)?.to_vec(), next_page(&r)))
    }

    /// A write of the JSON `body` to `path`: its JSON answer. `safe` when sending it twice does
    /// no harm (a `PUT` of a level).
    pub(crate) async fn write(
        &self,
        method: Method,
        path: &str,
        body: Value,
        safe: bool,
        what: &str,
    ) -> R<Value> {
        let mut req = self.api.request(method, path).json(body);
        if safe {
            req = req.idempotent();
        }
        Self::send(req, what).await
    }

    /// Checks that the token's user owns the group (directly or by inheritance).
    ///
    /// Errors: `InsufficientPermission` for a lower role, or for a user who is not a member
    /// (GitLab answers 404 alike when the group is not visible).
    async fn check_owner(&self) -> R<()> {
        let what = "read the account's membership";
        let path = self.path(&format!("/members/all/{}", segment(&self.me)));
        let mine = found(Self::send(self.api.get(&path), what).await)?;
        let Some(mine) = mine else {
            return Err(E::InsufficientPermission(format!(
                "the automation account is not a member of the GitLab group {:?} (or GitLab \
                 has no such group): make it an owner",
                self.group
            )));
        };
        match group_member(&mine, None, what)?.roles[0].as_str() {
            OWNER => Ok(()),
            role => Err(E::InsufficientPermission(format!(
                "the automation account is a {role} of the GitLab group: make it an owner"
            ))),
        }
    }

    /// The group's member with this address, through the `query` filter.
    async fn member_by_email(&self, email: &str) -> R<Option<AppMember>> {
        let q = [("query", email.to_owned())];
        let what = "find a member by address";
        let (all, _) = self.listing(&self.path("/members"), None, &q, what).await?;
        let shown = |v: &&Value| v["email"].as_str().is_some_and(|e| !e.is_empty());
        let hit = match all.iter().find(|v| shown(v)) {
            // GitLab shows addresses: the one that is this address.
            Some(_) => all.iter().find(|v| {
                let e = v["email"].as_str().unwrap_or("");
                e.eq_ignore_ascii_case(email)
            }),
            // It shows none: a whole address matches one member's exactly.
            None if all.len() == 1 => all.first(),
            None => None,
        };
        hit.map(|v| group_member(v, Some(email), what)).transpose()
    }

    /// The group's pending invitation of this address.
    async fn invitation_of(&self, email: &str) -> R<Option<AppMember>> {
        let q = [("query", email.to_owned())];
        let what = "find an invitation";
        let (all, _) = self
            .listing(&self.path("/invitations"), None, &q, what)
            .await?;
        let invited = all.iter().map(|v| invitation(v, what));
        let hit = invited
            .filter_map(Result::ok)
            .find(|m| m.email.as_deref() == Some(email));
        Ok(hit)
    }

    /// The path of a member (`/members/<user_id>`) or invitation (`/invitations/<email>`).
    fn member_path(&self, m: &AppMember) -> String {
        match m.app_member_id.strip_prefix(INVITATION) {
            Some(email) => self.path(&format!("/invitations/{}", segment(email))),
            None => self.path(&format!("/members/{}", segment(&m.app_member_id))),
        }
    }
}

#[async_trait]
impl Members for Group<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.check_owner().await
    }

    /// Direct members, then pending invitations, 100 a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (i, page) = saas::phase(APP, cursor, &LISTINGS)?;
        let (rest, what) = match i {
            0 => ("/members", "list members"),
            _ => ("/invitations", "list invitations"),
        };
        let (all, next) = self.listing(&self.path(rest), page, &[], what).await?;
        let read = |v: &Value| match i {
            0 => group_member(v, None, what),
            _ => invitation(v, what),
        };
        let members = all.iter().map(read).collect::<R<Vec<_>>>()?;
        let next = saas::next_phase(&LISTINGS, i, next);
        Ok(MemberPage { members, next })
    }

    /// A member by user id, a pending invitation by `invitation:<email>`, or whoever holds an
    /// address.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if let Some(email) = id.strip_prefix(INVITATION) {
            return self.invitation_of(&normalize_email(email)?).await;
        }
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Ok(None);
        }
        let what = "read a member";
        let path = self.path(&format!("/members/{id}"));
        let got = found(Self::send(self.api.get(&path), what).await)?;
        got.map(|v| group_member(&v, None, what)).transpose()
    }

    /// The member with this address, else its pending invitation.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        match self.member_by_email(email).await? {
            Some(m) => Ok(Some(m)),
            None => self.invitation_of(email).await,
        }
    }

    fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }

    /// One of the six roles, any case, as named here.
    async fn role(&self, role: &str) -> R<String> {
        let role = role.to_ascii_lowercase();
        let roles: Vec<String> = LEVELS.iter().map(|(r, _)| (*r).to_owned()).collect();
        known(APP, &role, &roles).map(|()| role)
    }

    /// Sets the access level of the membership or invitation (one `PUT`).
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let what = "change a member's role";
        let level = level_of(role).ok_or_else(|| unexpected(APP, what))?;
        let body = json!({ "access_level": level });
        let v = self
            .write(Method::PUT, &self.member_path(&m), body, true, what)
            .await?;
        match m.app_member_id.starts_with(INVITATION) {
            true => invitation(&v, what),
            false => group_member(&v, m.email.as_deref(), what),
        }
    }

    /// GitLab has no usernames to choose: the address names the person.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Invites the address with the role (a user who has it joins at once); sent once. The
    /// member is read again by address.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "invite a member";
        let level = level_of(to.role).ok_or_else(|| unexpected(APP, what))?;
        let body = json!({ "email": to.email, "access_level": level });
        let path = self.path("/invitations");
        let v = self.write(Method::POST, &path, body, false, what).await?;
        if let Some(e) = invitation_error(&v) {
            return Err(e);
        }
        let m = self.by_email(to.email).await?;
        let m = m.ok_or_else(|| unexpected(APP, what))?;
        debug!(member = %m.app_member_id, "invited to a GitLab group");
        Ok(m)
    }

    /// Removes the member from the group, or deletes the pending invitation.
    async fn remove(&self, m: AppMember) -> R<()> {
        let req = self.api.request(Method::DELETE, &self.member_path(&m));
        saas::deleted(req, |r| map_error(r, "remove a member")).await
    }

    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        resources::list(self, cursor).await
    }

    async fn resource_members(&self, id: &str, cursor: Option<&str>) -> R<ResourceMemberPage> {
        resources::members(self, id, cursor).await
    }

    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        resources::grant(self, grant).await
    }

    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        resources::revoke(self, id, member).await
    }
}
