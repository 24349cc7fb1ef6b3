//! Pinterest Business Access (a business account's Business Manager), through Pinterest API v5
//! with an OAuth 2.0 access token (Bearer) of a member who is a `BIZ_ADMIN` of the business.
//!
//! Members are the business's members with their business roles as Pinterest writes them
//! (`BIZ_ADMIN`, `EMPLOYEE`), and its pending member invitations (`invited`, app member id
//! `invitation:<email>`). Resources are the business's ad accounts and profiles; a member's
//! roles on one are the permissions Pinterest gives on it, as written (ad account: `ADMIN`,
//! `CAMPAIGN_MANAGER`, `FINANCE_MANAGER`, `AUDIENCE_MANAGER`, `CATALOGS_MANAGER`, `ANALYST`;
//! profile: `PROFILE_PUBLISHER`).
//!
//! Paths below are under the hub's base URL, `https://api.pinterest.com/v5`; the business id is
//! the hub's organization id.
//!
//! - Sign-in: `GET /user_account` gives the token's user id; `GET /businesses/employers` must
//!   show the business with `BIZ_ADMIN` among its `business_roles`.
//! - Listing: `GET /businesses/{business_id}/members?page_size=250`, then `GET
//!   /businesses/{business_id}/invites?is_member=true&invite_status=PENDING&invite_type=
//!   MEMBER_INVITE&page_size=250`, each paged with `bookmark` while the answer has one.
//! - Lookups: a member by id with the `member_ids` filter of the members listing; by email and
//!   invitations through the listings (Pinterest filters neither by address).
//! - Invitation: `POST /businesses/{business_id}/invites` with `invite_type` `MEMBER_INVITE`,
//!   `business_role` and `members` (the address; Pinterest emails the invitation); the member is
//!   read again by email.
//! - Role change: `PATCH /businesses/{business_id}/members` with `[{"member_id",
//!   "business_role"}]`; a pending invitation is cancelled and sent again with the new role.
//! - Removal: `DELETE /businesses/{business_id}/members` with `{"members": [{"member_id",
//!   "business_role"}]}`; a pending invitation is cancelled with `DELETE
//!   /businesses/{business_id}/invites` and `{"invite_ids": [...]}`.
//! - Resources: `GET /businesses/{business_id}/assets?asset_type=AD_ACCOUNT`, then `PROFILE`;
//!   who holds what: `GET /businesses/{business_id}/assets/{asset_id}/members`; grants `PATCH
//!   /businesses/{business_id}/members/assets/access` with `{"accesses": [{"asset_id",
//!   "member_id", "permissions"}]}`, revocations `DELETE` of the same path with `{"accesses":
//!   [{"asset_id", "member_id"}]}` ([`assets`]). Assets go to members who joined: a grant to a
//!   pending invitation is a `Conflict` until the person accepts.
//! - Errors and rate limits: `{"code", "message"}` bodies ([`model::map_error`]) and the
//!   `exception` of each item of a batch write ([`model::item_error`]); 429 (code 8) waits as
//!   `Retry-After` says, else `X-RateLimit-Reset`.
//!
//! Assumptions where Pinterest's reference is silent: a member's id is their user account id (the
//! schemas give the same example for both), so the automation account is the member whose id is
//! `/user_account`'s; in `/businesses/employers` a row's `id` (or its `user.id`) is the employer
//! business's id; a grant's `permissions` replace the member's permissions on the asset (as
//! Pinterest says of the partners' endpoint); `X-RateLimit-Reset` holds the seconds until the
//! window resets; a 429 whose message names spam is not retried.
//!
//! Not modelled: partners, system users, asset groups, catalogs and conversion tags, asset
//! permissions given with an invitation. Pages:
//! - OpenAPI description (v5, release 5.23.0): <https://github.com/pinterest/api-description>
//! - Business members: <https://developers.pinterest.com/docs/api/v5/#operation/get/business_members>,
//!   <https://developers.pinterest.com/docs/api/v5/#operation/update/business_memberships>,
//!   <https://developers.pinterest.com/docs/api/v5/#operation/delete_business_membership>
//! - Invites: <https://developers.pinterest.com/docs/api/v5/#operation/create_membership_or_partnership_invites>,
//!   <https://developers.pinterest.com/docs/api/v5/#operation/get/invites>,
//!   <https://developers.pinterest.com/docs/api/v5/#operation/cancel_invites_or_requests>
//! - Assets: <https://developers.pinterest.com/docs/api/v5/#operation/business_assets/get>,
//!   <https://developers.pinterest.com/docs/api/v5/#operation/business_asset_members/get>,
//!   <https://developers.pinterest.com/docs/api/v5/#operation/business_members_asset_access/update>,
//!   <https://developers.pinterest.com/docs/api/v5/#operation/business_members_asset_access/delete>
//! - Employers: <https://developers.pinterest.com/docs/api/v5/#operation/get/business_employers>
//! - Paging: <https://developers.pinterest.com/docs/reference/pagination/>; rate limits:
//!   <https://developers.pinterest.com/docs/reference/rate-limits/>
//! - Roles and permissions: <https://help.pinterest.com/en/business/article/business-manager-overview>

mod assets;
mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::oauth2::{fields, OAuth2Spec};
use castellan_core::connector::settings::{SettingField, SettingKind, BASE_URL, ORGANIZATION_ID};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, MemberState, ResourceGrant, ResourceMemberPage, ResourcePage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{confirmed, App, AppConnector, Invitee, Members};
use crate::sdk::errors::unexpected;
use crate::sdk::http::{segment, Request};
use crate::sdk::json::{id, items, text};
use crate::sdk::members::{normalize_email, INVITATION};
use crate::sdk::rest::json_body;
use crate::sdk::roles::spelled;
use crate::sdk::saas::{self, Scope};
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{bookmark, business_member, invite, item_error, map_error, page_items, ROLES};
pub use model::{BIZ_ADMIN, EMPLOYEE};

/// The connector's name in the catalog.
pub const NAME: &str = "pinterest_business";
pub(crate) const APP: &str = "Pinterest";
/// Rows per page: the largest `page_size`.
const PAGE: usize = 250;
/// Listing cursors: members, then pending member invitations.
const LISTINGS: [&str; 2] = ["m:", "i:"];
/// The scopes the connector needs: reading and managing Business Access, reading the account.
pub const SCOPES: &str = "biz_access:read biz_access:write user_accounts:read";

type R<T> = Result<T, E>;

/// The Pinterest connector ([`AppConnector`] of [`Pinterest`]); the registry builds it with
/// [`saas::connector`].
pub type PinterestConnector = AppConnector<Pinterest>;

/// Pinterest Business Access as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Pinterest;

#[async_trait]
impl App for Pinterest {
    const NAME: &'static str = NAME;
    type Api<'a> = Business<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Text, Url};
        let oauth = OAuth2Spec {
            authorize_url: Some("https://www.pinterest.com/oauth/".into()),
            token_url: Some("https://api.pinterest.com/v5/oauth/token".into()),
            scopes: SCOPES.into(),
            pkce: false,
        };
        let mut own = vec![
            SettingField::new(ORGANIZATION_ID, "Business ID", Text, true)
                .help("Business Manager → Business settings: the business account's id"),
        ];
        own.extend(fields(&oauth));
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: ROLES.iter().map(|r| (*r).to_owned()).collect(),
            capabilities: vec![
                ListMembers,
                Invite,
                UpdateRole,
                Remove,
                ListResources,
                ResourceRoles,
            ],
            default_role: EMPLOYEE.to_owned(),
            sign_in: SignIn::OAuth2,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true)
                    .help("https://api.pinterest.com/v5 (Pinterest API v5)"),
                own,
            ),
        }
    }

    /// Reads the token's user (`/user_account`), who must be a `BIZ_ADMIN` of the business.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let org = saas::organization(ctx, "business id")?;
        let api = Business::new(http, ctx, &token, Scope { org, me: "".into() })?;
        let me = api.call(api.api.get("/user_account"), "sign in").await?;
        // The token's own user: without it the automation account could remove itself.
        let me = id(&me["id"])
            .ok_or_else(|| E::AppChanged("Pinterest's user account names no id".into()))?;
        api.check_admin().await?;
        debug!(business = %api.scope.org, "signed in to Pinterest Business Access");
        Ok(Scope { me, ..api.scope }.session(token))
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Business<'a>> {
        Business::new(http, ctx, &s.token, Scope::of(s))
    }
}

/// Pinterest API v5 as a business admin for one call, in its business.
#[derive(Debug)]
pub struct Business<'a> {
    api: Endpoint<'a>,
    /// The business and the token's user id (its member id).
    scope: Scope,
}

impl<'a> Business<'a> {
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, scope: Scope) -> R<Self> {
        let api = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()))
            .with_wait_header("x-ratelimit-reset");
        Ok(Self { api, scope })
    }

    /// Sends `req` and reads its JSON answer, or Pinterest's error.
    async fn call(&self, req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// Sends a batch write and reads its answer: Pinterest's error, or its first item's.
    async fn batch(&self, req: Request<'_>, what: &str) -> R<Value> {
        let v = self.call(req, what).await?;
        match item_error(&v, what) {
            Some(e) => Err(e),
            None => Ok(v),
        }
    }

    /// `/businesses/{business_id}<rest>`.
    fn path(&self, rest: &str) -> String {
        format!("/businesses/{}{rest}", segment(&self.scope.org))
    }

    /// A request of `method` to `/businesses/{business_id}<rest>`.
    fn req(&self, method: Method, rest: &str) -> Request<'_> {
        self.api.request(method, &self.path(rest))
    }

    /// One page of the list at `path` with `q`, after `bookmark`.
    async fn list(&self, path: &str, q: &[(&str, String)], after: Option<&str>) -> R<Value> {
        let mut q = q.to_vec();
        q.push(("page_size", PAGE.to_string()));
        q.extend(after.map(|b| ("bookmark", b.to_owned())));
        self.call(self.api.get(path).query(&q), &format!("list {path}"))
            .await
    }

    /// Checks that the token's user is a `BIZ_ADMIN` of the business, through its employers.
    ///
    /// Errors: `InsufficientPermission` for an employee, or a user of another business.
    async fn check_admin(&self) -> R<()> {
        let mut after = None;
        loop {
            let v = self
                .list("/businesses/employers", &[], after.as_deref())
                .await?;
            let rows = page_items(&v, "list the user's businesses")?;
            let ours = |r: &&Value| {
                [&r["id"], &r["user"]["id"]]
                    .iter()
                    .any(|v| id(v).as_deref() == Some(self.scope.org.as_str()))
            };
            if let Some(row) = rows.iter().find(ours) {
                let roles: Vec<&str> = items(&row["business_roles"]).iter().map(text).collect();
                return match roles.contains(&BIZ_ADMIN) {
                    true => Ok(()),
                    false => Err(E::InsufficientPermission(format!(
                        "the token's user is a Pinterest {} of the business: make it a \
                         BIZ_ADMIN (Business Manager → People)",
                        roles.join("+")
                    ))),
                };
            }
            match bookmark(&v) {
                Some(b) => after = Some(b),
                None => break,
            }
        }
        Err(E::InsufficientPermission(
            "the token's user is not a member of this Pinterest business".into(),
        ))
    }

    /// One page of pending member invitations the business sent: `(invite id, member)`.
    async fn invites(&self, after: Option<&str>) -> R<(Vec<(String, AppMember)>, Option<String>)> {
        let q = [
            ("is_member", "true".to_owned()),
            ("invite_status", "PENDING".to_owned()),
            ("invite_type", "MEMBER_INVITE".to_owned()),
        ];
        let v = self.list(&self.path("/invites"), &q, after).await?;
        let rows = page_items(&v, "list invitations")?;
        Ok((rows.iter().filter_map(invite).collect(), bookmark(&v)))
    }

    /// The pending invitation named `app_member_id` (every page read): its invite id and member.
    async fn invitation(&self, app_member_id: &str) -> R<Option<(String, AppMember)>> {
        let mut after = None;
        loop {
            let (rows, next) = self.invites(after.as_deref()).await?;
            if let Some(hit) = rows
                .into_iter()
                .find(|(_, m)| m.app_member_id == app_member_id)
            {
                return Ok(Some(hit));
            }
            match next {
                Some(n) => after = Some(n),
                None => return Ok(None),
            }
        }
    }

    /// Sends a member invitation of `email` with `role`; sent once.
    async fn send_invite(&self, email: &str, role: &str, what: &str) -> R<()> {
        let body = json!({ "invite_type": "MEMBER_INVITE", "business_role": role,
            "members": [email] });
        let v = self
            .batch(self.req(Method::POST, "/invites").json(body), what)
            .await?;
        debug!(id = %v["items"][0]["invite"]["id"], "invited to a Pinterest business");
        Ok(())
    }

    /// Cancels the pending invitation `app_member_id`; one already gone is done.
    async fn cancel(&self, app_member_id: &str) -> R<()> {
        let Some((invite_id, _)) = self.invitation(app_member_id).await? else {
            return Ok(());
        };
        let body = json!({ "invite_ids": [invite_id] });
        let req = self.req(Method::DELETE, "/invites").json(body).idempotent();
        self.batch(req, "cancel an invitation").await.map(drop)
    }
}

#[async_trait]
impl Members for Business<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.check_admin().await
    }

    /// Members, then pending invitations, 250 a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (i, after) = saas::phase(APP, cursor, &LISTINGS)?;
        let (members, next) = match i {
            0 => {
                let v = self.list(&self.path("/members"), &[], after).await?;
                let rows = page_items(&v, "list members")?;
                let all = rows.iter().map(|r| business_member(r, "list members"));
                (all.collect::<R<Vec<_>>>()?, bookmark(&v))
            }
            _ => {
                let (rows, next) = self.invites(after).await?;
                (rows.into_iter().map(|(_, m)| m).collect(), next)
            }
        };
        Ok(MemberPage {
            members,
            next: saas::next_phase(&LISTINGS, i, next),
        })
    }

    /// A member by id (`member_ids`), or a pending invitation by `invitation:<email>`.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.starts_with(INVITATION) {
            return Ok(self.invitation(id).await?.map(|(_, m)| m));
        }
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        // Pinterest's ids are digits; anything else names nobody (and would be a 400).
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let q = [("member_ids", id.to_owned())];
        let v = self.list(&self.path("/members"), &q, None).await?;
        for row in page_items(&v, "read a member")? {
            let m = business_member(row, "read a member")?;
            if m.app_member_id == id {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }

    /// The member or pending invitation with this address (every page read).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let mut cursor = None;
        loop {
            let page = self.page(cursor.as_deref()).await?;
            let hit = page
                .members
                .into_iter()
                .find(|m| m.email.as_deref() == Some(email));
            if hit.is_some() {
                return Ok(hit);
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => return Ok(None),
            }
        }
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.scope.is_me(m)
    }

    /// `BIZ_ADMIN` or `EMPLOYEE` (any case).
    async fn role(&self, role: &str) -> R<String> {
        spelled(APP, role, &ROLES)
    }

    /// `PATCH /members` for a member; a pending invitation is cancelled and sent again.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let what = "change a member's business role";
        if m.state == MemberState::Invited {
            let email = m.email.clone().ok_or_else(|| {
                E::Conflict(format!(
                    "Pinterest's invitation {} names no address to invite again with the role: \
                     cancel it and invite the person again",
                    m.app_member_id
                ))
            })?;
            self.cancel(&m.app_member_id).await?;
            self.send_invite(&email, role, what).await?;
        } else {
            let body = json!([{ "member_id": m.app_member_id, "business_role": role }]);
            // Safe to send twice: it sets the role.
            let req = self.req(Method::PATCH, "/members").json(body).idempotent();
            self.call(req, what).await?;
        }
        confirmed(self, &m.app_member_id, role).await
    }

    /// Pinterest invites an address (or a username): the address names the person.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Invites the address with the role (Pinterest emails the invitation); sent once. The
    /// member is read again by email: a pending invitation until the person accepts.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "invite a person to the business";
        self.send_invite(to.email, to.role, what).await?;
        let m = self.by_email(to.email).await?;
        m.ok_or_else(|| unexpected(APP, what))
    }

    /// Terminates the membership (with the member's role, as Pinterest asks), or cancels the
    /// pending invitation; gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        if m.state == MemberState::Invited {
            return self.cancel(&m.app_member_id).await;
        }
        let role = m.roles.first().map_or(EMPLOYEE, String::as_str);
        let body = json!({ "members": [{ "member_id": m.app_member_id, "business_role": role }] });
        let req = self.req(Method::DELETE, "/members").json(body);
        let what = "remove a member";
        saas::deleted(req, |r| map_error(r, what)).await?;
        // Pinterest lists the memberships it ended; one it kept is still there.
        match self.member(&m.app_member_id).await? {
            None => Ok(()),
            Some(_) => Err(E::Conflict(format!(
                "Pinterest kept member {} in the business",
                m.app_member_id
            ))),
        }
    }

    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        self.assets(cursor).await
    }

    async fn resource_members(&self, id: &str, cursor: Option<&str>) -> R<ResourceMemberPage> {
        self.asset_members(id, cursor).await
    }

    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        self.assign(grant).await
    }

    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        self.unassign(id, member).await
    }
}
