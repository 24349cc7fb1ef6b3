//! Meta Business Manager (a business portfolio), through the Graph API with the access token of
//! one of the business's system users (Bearer), who must be an `ADMIN` of the business.
//!
//! Members are the business users, with their base role (`admin`, `employee`: Meta's `ADMIN`
//! and `EMPLOYEE`, lowercase as Castellan's app roles are), and the
//! pending invitations (`invited`, app member id `invitation:<role request id>`). Resources are
//! the business's Pages and ad accounts (`act_<id>`); a member's role on one is the classic role
//! their task set makes (Page: `admin`, `editor`, `moderator`, `advertiser`, `analyst`; ad
//! account: `admin`, `advertiser`, `analyst`; [`model::PAGE`], [`model::AD_ACCOUNT`]).
//!
//! Paths below are under `/v21.0` ([`GRAPH_VERSION`]); the hub's base URL is the API's origin.
//!
//! - Sign-in: `GET /me` gives the system user's id; `GET /{business-id}/system_users
//!   ?fields=id,name,role` must show it as `ADMIN`.
//! - Listing: `GET /{business-id}/business_users?fields=id,name,email,role&limit=100`, then
//!   `GET /{business-id}/pending_users?fields=id,email,role,status&limit=100`, each paged with
//!   `after` from `paging.cursors.after` while `paging.next` is there.
//! - Lookups: `GET /{id}?fields=id,name,email,role,business` (a business user of this business
//!   only), `GET /{role-request-id}?fields=id,email,role,status`; by email through the business
//!   users, then `pending_users?email=…`.
//! - Invitation: `POST /{business-id}/business_users` with `email` and `role` (Meta emails the
//!   invitation); the member is read again by email, as the invitation made it.
//! - Role change: `POST /{business-user-id}` (or `/{role-request-id}`) with `role`.
//! - Removal: `DELETE /{business-user-id}`; a pending invitation is cancelled with
//!   `DELETE /{role-request-id}`.
//! - Resources: `GET /{business-id}/owned_pages`, then `/owned_ad_accounts` (`fields=id,name`);
//!   who holds what: `GET /{asset-id}/assigned_users?business=…&fields=id,name,tasks`; a grant
//!   is `POST /{asset-id}/assigned_users` with `user`, `tasks` (a JSON array) and `business`, a
//!   revocation `DELETE /{asset-id}/assigned_users?user=…&business=…`. Meta assigns assets to
//!   business users only: a grant to a pending invitation is a `Conflict` until the person
//!   accepts.
//! - Errors and rate limits: Graph's error bodies by `code` ([`model::map_error`]), throttles
//!   (codes 4, 17, 32, 613, 80000–80014) `RateLimited` with the wait Meta's usage headers
//!   estimate ([`model::wait_of`]).
//!
//! Not modelled: finance and developer roles (the `role` field of business users holds the base
//! roles only), system users as members, business asset groups, Instagram accounts and catalogs.
//! Pages:
//! - Business users: <https://developers.facebook.com/docs/marketing-api/reference/business/business_users/>
//! - Business user (update, delete): <https://developers.facebook.com/docs/marketing-api/reference/business-user/>
//! - Pending users: <https://developers.facebook.com/docs/marketing-api/reference/business/pending_users/>
//! - Role requests: <https://developers.facebook.com/docs/graph-api/reference/business-role-request/>
//! - Page assigned users: <https://developers.facebook.com/docs/graph-api/reference/page/assigned_users/>
//! - System users: <https://developers.facebook.com/docs/marketing-api/system-users/>

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
use serde_json::Value;
use tracing::debug;

use crate::sdk::builder::{confirmed, App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, unexpected};
use crate::sdk::http::{segment, Request};
use crate::sdk::members::normalize_email;
use crate::sdk::rest::json_body;
use crate::sdk::roles::spelled;
use crate::sdk::saas::{self, Scope};
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{business_user, data, map_error, next_page, pending, wire, INVITATION, ROLES};
pub use model::{ADMIN, EMPLOYEE};

/// The connector's name in the catalog.
pub const NAME: &str = "meta_business";
/// The Graph API version the connector speaks (in every path).
pub const GRAPH_VERSION: &str = "v21.0";
pub(crate) const APP: &str = "Meta";
/// Rows per page.
const PAGE: usize = 100;
/// Listing cursors: business users, then pending invitations.
const LISTINGS: [&str; 2] = ["u:", "i:"];
const USER_FIELDS: &str = "id,name,email,role";
const PENDING_FIELDS: &str = "id,email,role,status";

type R<T> = Result<T, E>;

/// The Meta connector ([`AppConnector`] of [`Meta`]); the registry builds it with
/// [`saas::connector`].
pub type MetaConnector = AppConnector<Meta>;

/// Meta Business Manager as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta;

#[async_trait]
impl App for Meta {
    const NAME: &'static str = NAME;
    type Api<'a> = Business<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Text, Url};
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
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "Graph API address", Url, true).help(
                    "https://graph.facebook.com (Meta's Graph API; the connector speaks v21.0)",
                ),
                [
                    SettingField::new(ORGANIZATION_ID, "Business ID", Text, true)
                        .help("Business settings → Business info → Business portfolio ID"),
                    SettingField::new(API_TOKEN, "System user access token", Secret, true).help(
                        "Business settings → Users → System users: an admin system user's token \
                         with the business_management permission",
                    ),
                ],
            ),
        }
    }

    /// Reads the system user (`/me`), which must be an admin system user of the business.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let org = saas::organization(ctx, "business id")?;
        let api = Business::new(http, ctx, &token, Scope { org, me: "".into() })?;
        let me = Business::send(api.get("/me"), "sign in").await?;
        let me = me["id"]
            .as_str()
            .ok_or_else(|| unexpected(APP, "sign in"))?;
        api.check_admin(me).await?;
        debug!(business = %api.scope.org, "signed in to Meta");
        let me = me.to_owned();
        Ok(Scope { me, ..api.scope }.session(token))
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Business<'a>> {
        Business::new(http, ctx, &s.token, Scope::of(s))
    }
}

/// The Graph API as the system user for one call, in its business.
#[derive(Debug)]
pub struct Business<'a> {
    api: Endpoint<'a>,
    /// The business and the system user's id.
    scope: Scope,
}

impl<'a> Business<'a> {
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, scope: Scope) -> R<Self> {
        let api = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()));
        Ok(Self { api, scope })
    }

    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// A request to the Graph API's `path` in [`GRAPH_VERSION`] (a hub's base URL is the
    /// API's origin).
    fn req(&self, method: Method, path: &str) -> Request<'_> {
        self.api.request(method, &format!("/{GRAPH_VERSION}{path}"))
    }

    /// A `GET` of `path` ([`Business::req`]).
    fn get(&self, path: &str) -> Request<'_> {
        self.req(Method::GET, path)
    }

    /// One page of the Graph list at `path` with `fields`, after `after`.
    async fn list(&self, path: &str, q: &[(&str, String)], after: Option<&str>) -> R<Value> {
        let mut q = q.to_vec();
        q.push(("limit", PAGE.to_string()));
        q.extend(after.map(|a| ("after", a.to_owned())));
        Self::send(self.get(path).query(&q), &format!("list {path}")).await
    }

    /// `/{business-id}/<edge>`.
    fn edge(&self, edge: &str) -> String {
        format!("/{}/{edge}", segment(&self.scope.org))
    }

    /// Checks that the system user `me` is an admin system user of the business.
    ///
    /// Errors: `InsufficientPermission` for an employee system user, or one of another business.
    async fn check_admin(&self, me: &str) -> R<()> {
        let q = [("fields", "id,name,role".to_owned())];
        let mut after = None;
        loop {
            let v = self
                .list(&self.edge("system_users"), &q, after.as_deref())
                .await?;
            if let Some(row) = data(&v, "list system users")?
                .iter()
                .find(|u| u["id"] == me)
            {
                return match row["role"].as_str() {
                    Some("ADMIN") => Ok(()),
                    role => Err(E::InsufficientPermission(format!(
                        "the system user is a Meta {}: give it admin access to the business",
                        role.unwrap_or("system user without a role")
                    ))),
                };
            }
            match next_page(&v) {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        Err(E::InsufficientPermission(
            "the token's system user is not a system user of this business".into(),
        ))
    }

    /// A node by id with `fields`, `None` when Meta has none.
    async fn node(&self, id: &str, fields: &str, what: &str) -> R<Option<Value>> {
        let req = self.get(&format!("/{}", segment(id)));
        found(Self::send(req.query(&[("fields", fields.to_owned())]), what).await)
    }

    /// A `POST` with form fields to `path` whose answer is `{"success": true}` or a node.
    async fn post(&self, path: &str, form: &[(&str, &str)], what: &str) -> R<Value> {
        let req = self.req(Method::POST, path).form(form);
        Self::send(req, what).await
    }
}

#[async_trait]
impl Members for Business<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.check_admin(&self.scope.me).await
    }

    /// Business users, then pending invitations, 100 a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (i, after) = saas::phase(APP, cursor, &LISTINGS)?;
        let members = match i {
            0 => {
                let q = [("fields", USER_FIELDS.to_owned())];
                let v = self.list(&self.edge("business_users"), &q, after).await?;
                let rows = data(&v, "list business users")?;
                let all = rows.iter().map(|r| business_user(r, "list business users"));
                (all.collect::<R<Vec<_>>>()?, next_page(&v))
            }
            _ => {
                let q = [("fields", PENDING_FIELDS.to_owned())];
                let v = self.list(&self.edge("pending_users"), &q, after).await?;
                let rows = data(&v, "list pending users")?;
                let all = rows.iter().map(|r| pending(r, "list pending users"));
                let all = all.filter_map(Result::transpose).collect::<R<Vec<_>>>()?;
                (all, next_page(&v))
            }
        };
        let (members, next) = members;
        Ok(MemberPage {
            members,
            next: saas::next_phase(&LISTINGS, i, next),
        })
    }

    /// A business user of this business by id, or a pending invitation by
    /// `invitation:<role request id>`.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b':') {
            return Ok(None);
        }
        if let Some(rid) = id.strip_prefix(INVITATION) {
            let v = self.node(rid, PENDING_FIELDS, "read an invitation").await?;
            return Ok(match v {
                Some(v) => pending(&v, "read an invitation")?,
                None => None,
            });
        }
        let fields = format!("{USER_FIELDS},business");
        let v = self.node(id, &fields, "read a business user").await?;
        match v {
            Some(v) if v["business"]["id"] == self.scope.org.as_str() => {
                business_user(&v, "read a business user").map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The business user with this address (every page read), else its pending invitation.
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
                // The pending invitations are filtered by Meta itself.
                Some(n) if n == LISTINGS[1] => break,
                Some(n) => cursor = Some(n),
                None => return Ok(None),
            }
        }
        let q = [
            ("fields", PENDING_FIELDS.to_owned()),
            ("email", email.to_owned()),
        ];
        let v = self.list(&self.edge("pending_users"), &q, None).await?;
        for row in data(&v, "find an invitation")? {
            let m = pending(row, "find an invitation")?;
            if let Some(m) = m.filter(|m| m.email.as_deref() == Some(email)) {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }

    /// The system user is no business user: none is the automation account.
    fn is_me(&self, _m: &AppMember) -> bool {
        false
    }

    /// `admin` or `employee` (any case).
    async fn role(&self, role: &str) -> R<String> {
        spelled(APP, role, &ROLES)
    }

    /// `POST /{id}` with the role, for a business user or a pending invitation alike.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let node = m.app_member_id.strip_prefix(INVITATION);
        let node = node.unwrap_or(&m.app_member_id);
        let what = "change a business user's role";
        let form = [("role", wire(role))];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(&format!("/{}", segment(node)), &form, what)
            .await?;
        confirmed(self, &m.app_member_id, role).await
    }

    /// Meta has no usernames: the address names the person.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Invites the address with the role (Meta emails the invitation); sent once. The member is
    /// read again by email: a pending invitation until the person accepts.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "invite a person to the business";
        let role = wire(to.role);
        let form = [("email", to.email), ("role", role.as_str())];
        let made = self.post(&self.edge("business_users"), &form, what).await?;
        debug!(id = %made["id"], "invited to a Meta business");
        let m = self.by_email(to.email).await?;
        m.ok_or_else(|| unexpected(APP, what))
    }

    /// Deletes the business user, or cancels the pending invitation; gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let node = m.app_member_id.strip_prefix(INVITATION);
        let node = node.unwrap_or(&m.app_member_id);
        let req = self.req(Method::DELETE, &format!("/{}", segment(node)));

        saas::deleted(req, |r| map_error(r, "remove a business user")).await
    }

    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        self.assets(cursor).await
    }

    async fn resource_members(&self, id: &str, cursor: Option<&str>) -> R<ResourceMemberPage> {
        self.assigned(id, cursor).await
    }

    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        self.assign(grant).await
    }

    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        self.unassign(id, member).await
    }
}
