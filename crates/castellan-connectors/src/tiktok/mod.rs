//! TikTok Business Center, through TikTok API for Business (v1.3) with the access token of a
//! Business Center admin (`Access-Token` header).
//!
//! Members are the Business Center's members, with their base role (`admin`, `standard`:
//! TikTok's `ADMIN` and `STANDARD`, lowercase as Castellan's app roles are): those who joined (`BOUND`) by their `user_id`, pending invitations (`PENDING`,
//! shown as invited) as `invitation:<email>`. Resources are its advertiser accounts, with the
//! roles `ADMIN`, `OPERATOR` and `ANALYST`.
//!
//! Paths below are under `/open_api` (the hub's base URL is the API's origin).
//!
//! - Sign-in: `GET /v1.3/user/info/` (the token's user, `core_user_id`), then
//!   `GET /v1.3/bc/get/?bc_id=…`, whose `user_role` must be `ADMIN`.
//! - Listing: `GET /v1.3/bc/member/get/?bc_id=…&page=…&page_size=20` (`page_info.total_page`).
//! - Lookups: through the listing; by email with its `filtering` `keyword`.
//! - Invitation: `POST /v1.3/bc/member/invite/` with `emails` and `user_role` (TikTok emails the
//!   invitation); the member is read again by email.
//! - Role change: `POST /v1.3/bc/member/update/` with `user_id` and `user_role`; a pending
//!   invitation is cancelled and sent again with the new role.
//! - Removal: `POST /v1.3/bc/member/delete/` with `user_id`, or `user_email` for a pending
//!   invitation.
//! - Resources: `GET /v1.3/bc/asset/get/?asset_type=ADVERTISER`; who holds what:
//!   `GET /v1.3/bc/asset/member/get/`; grants `POST /v1.3/bc/asset/assign/` with
//!   `advertiser_role` (it replaces the member's role), revocations `POST
//!   /v1.3/bc/asset/unassign/`. TikTok assigns assets to members who joined: a grant to a
//!   pending invitation is a `Conflict` until the person accepts.
//! - Errors: `code` in the body of an HTTP 200 ([`model::code_error`]); 40100 (too many
//!   requests) is `RateLimited` for a minute.
//!
//! Not modelled: finance roles (`ext_user_role`), catalogs, pixels, TikTok accounts and other
//! asset types, asset groups, partners. Pages: <https://business-api.tiktok.com/portal/docs>
//! ("Business Center > Members", "Business Center > Assets", "Return codes").

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{
    SettingField, SettingKind, API_TOKEN, BASE_URL, ORGANIZATION_ID,
};
use castellan_core::connector::{
    AppMember, AppResource, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E,
    ConnectorInfo, MemberPage, MemberState, ResourceGrant, ResourceMember, ResourceMemberPage,
    ResourcePage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{confirmed, existing, App, AppConnector, Invitee, Members};
use crate::sdk::errors::unexpected;
use crate::sdk::http::Request;
use crate::sdk::json::text;
use crate::sdk::members::normalize_email;
use crate::sdk::rest::body_json;
use crate::sdk::roles::{known, lowercase_role};
use crate::sdk::saas;
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{bc_member, code_error, list, next_page, ADVERTISER_ROLES, INVITATION, ROLES};
pub use model::{ADMIN, STANDARD};

/// The connector's name in the catalog.
pub const NAME: &str = "tiktok_business";
pub(crate) const APP: &str = "TikTok";
/// Members per page: the largest `page_size` of `/bc/member/get/`.
const MEMBER_PAGE: usize = 20;
/// Assets and asset members per page.
const ASSET_PAGE: usize = 50;
const ADVERTISER: &str = "ADVERTISER";

type R<T> = Result<T, E>;

/// The TikTok connector ([`AppConnector`] of [`TikTok`]); the registry builds it with
/// [`saas::connector`].
pub type TikTokConnector = AppConnector<TikTok>;

/// TikTok Business Center as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TikTok;

#[async_trait]
impl App for TikTok {
    const NAME: &'static str = NAME;
    type Api<'a> = Center<'a>;

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
            default_role: STANDARD.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true)
                    .help("https://business-api.tiktok.com (TikTok API for Business)"),
                [
                    SettingField::new(ORGANIZATION_ID, "Business Center ID", Text, true)
                        .help("Business Center → Business info → Business Center ID"),
                    SettingField::new(API_TOKEN, "Access token", Secret, true).help(
                        "a long-term access token of a developer app authorized by a Business \
                         Center admin, with the Business Center management scope",
                    ),
                ],
            ),
        }
    }

    /// Reads the token's user, whose role in the Business Center must be `ADMIN`.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let bc = ctx.organization_id.as_deref().map(str::trim).unwrap_or("");
        if bc.is_empty() {
            let why = "the hub has no Business Center id (its organization id)";
            return Err(E::Configuration(why.into()));
        }
        let center = Center::new(http, ctx, &token, &json!({ "bc": bc }))?;
        let me = center
            .call(center.api.get("/open_api/v1.3/user/info/"), "sign in")
            .await?;
        // The token's own user: without it the automation account could remove itself.
        let me = crate::sdk::json::id(&me["data"]["core_user_id"]).ok_or_else(|| {
            E::AppChanged("TikTok's user information names no core_user_id".into())
        })?;
        center.check_admin().await?;
        debug!(bc, "signed in to TikTok Business Center");
        let data = json!({ "bc": bc, "me": me });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Center<'a>> {
        Center::new(http, ctx, &s.token, &s.data)
    }
}

/// TikTok API for Business as a Business Center admin for one call, in its Business Center.
#[derive(Debug)]
pub struct Center<'a> {
    api: Endpoint<'a>,
    bc: String,
    me: String,
}

impl<'a> Center<'a> {
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, data: &Value) -> R<Self> {
        let api = http.endpoint_for(ctx)?;
        let api = api.with_auth(Auth::Header("Access-Token", token.clone()));
        let text = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            api,
            bc: text("bc"),
            me: text("me"),
        })
    }

    /// Sends `req` and reads its answer: `data` of a `code` 0, else TikTok's error.
    async fn call(&self, req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        body_json(r, APP, what, "TikTok API for Business's address", |v, _| {
            code_error(v, what)
        })
    }

    /// A `GET` of `path` in the Business Center with `q`.
    async fn read(&self, path: &str, q: &[(&str, String)], what: &str) -> R<Value> {
        let mut q = q.to_vec();
        q.push(("bc_id", self.bc.clone()));
        self.call(self.api.get(path).query(&q), what).await
    }

    /// A `POST` of `body` (with the Business Center's id) to `path`; `safe` when sending it twice
    /// does no harm.
    async fn write(&self, path: &str, mut body: Value, safe: bool, what: &str) -> R<Value> {
        body["bc_id"] = json!(self.bc);
        let mut req = self.api.request(Method::POST, path).json(body);
        if safe {
            req = req.idempotent();
        }
        self.call(req, what).await
    }

    /// Checks that the token's user is an admin of the Business Center.
    ///
    /// Errors: `InsufficientPermission` for a standard member.
    async fn check_admin(&self) -> R<()> {
        let what = "read the Business Center";
        let v = self.read("/open_api/v1.3/bc/get/", &[], what).await?;
        let row = list(&v).first().ok_or_else(|| unexpected(APP, what))?;
        match text(&row["user_role"]) {
            "ADMIN" => Ok(()),
            role => Err(E::InsufficientPermission(format!(
                "the token's user is a TikTok Business Center {role} member: make it an admin"
            ))),
        }
    }

    /// One page of members (`page` from 1), filtered by `keyword`.
    async fn members(&self, page: &str, keyword: Option<&str>) -> R<Value> {
        let mut q = vec![
            ("page", page.to_owned()),
            ("page_size", MEMBER_PAGE.to_string()),
        ];
        q.extend(keyword.map(|k| ("filtering", json!({ "keyword": k }).to_string())));
        self.read("/open_api/v1.3/bc/member/get/", &q, "list members")
            .await
    }

    /// The advertiser role `member` holds on `asset` (every page read), `None` for none.
    async fn role_on(&self, asset: &str, member: &str) -> R<Option<String>> {
        let mut cursor = None;
        loop {
            let page = self.resource_members(asset, cursor.as_deref()).await?;
            if let Some(m) = page.members.into_iter().find(|m| m.app_member_id == member) {
                return Ok(m.roles.into_iter().next());
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => return Ok(None),
            }
        }
    }
}

/// `Conflict` for a pending invitation, whom TikTok gives no asset until they join.
fn joined(member: &str) -> R<()> {
    match member.starts_with(INVITATION) {
        true => Err(E::Conflict(format!(
            "TikTok assigns advertiser accounts to members who joined: {member} has not \
             accepted the invitation yet"
        ))),
        false => Ok(()),
    }
}

#[async_trait]
impl Members for Center<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.check_admin().await
    }

    /// Members and pending invitations, 20 a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let v = self.members(cursor.unwrap_or("1"), None).await?;
        Ok(MemberPage {
            members: list(&v).iter().filter_map(bc_member).collect(),
            next: next_page(&v),
        })
    }

    /// A member by `user_id` or a pending invitation by `invitation:<email>` (every page read).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.is_empty() {
            return Ok(None);
        }
        if id.contains('@') {
            let email = id.strip_prefix(INVITATION).unwrap_or(id);
            let found = self.by_email(&normalize_email(email)?).await?;
            // `invitation:<email>` names the invitation only; an address names whoever has it.
            return Ok(found.filter(|m| !id.starts_with(INVITATION) || m.app_member_id == id));
        }
        let mut cursor = None;
        loop {
            let page = self.page(cursor.as_deref()).await?;
            if let Some(m) = page.members.into_iter().find(|m| m.app_member_id == id) {
                return Ok(Some(m));
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => return Ok(None),
            }
        }
    }

    /// The member (or pending invitation) with this address, through the `keyword` filter.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let mut page = "1".to_owned();
        loop {
            let v = self.members(&page, Some(email)).await?;
            let hit = list(&v).iter().filter_map(bc_member);
            if let Some(m) = hit.into_iter().find(|m| m.email.as_deref() == Some(email)) {
                return Ok(Some(m));
            }
            match next_page(&v) {
                Some(n) => page = n,
                None => return Ok(None),
            }
        }
    }

    fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }

    /// `admin` or `standard` (any case).
    async fn role(&self, role: &str) -> R<String> {
        lowercase_role(APP, role, &ROLES)
    }

    /// `member/update` for a member who joined; a pending invitation is sent again with the role.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let what = "change a member's role";
        if m.state == MemberState::Invited {
            let email = m.email.clone().unwrap_or_default();
            self.remove(m.clone()).await?;
            let body = json!({ "emails": [email], "user_role": role.to_ascii_uppercase() });
            self.write("/open_api/v1.3/bc/member/invite/", body, false, what)
                .await?;
        } else {
            let role = role.to_ascii_uppercase();
            let body = json!({ "user_id": m.app_member_id, "user_role": role });
            self.write("/open_api/v1.3/bc/member/update/", body, true, what)
                .await?;
        }
        confirmed(self, &m.app_member_id, role).await
    }

    /// TikTok has no usernames: the address names the person.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Invites the address with the role (TikTok emails the invitation); sent once. The member
    /// is read again by email.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "invite a member";
        let body = json!({ "emails": [to.email], "user_role": to.role.to_ascii_uppercase() });
        self.write("/open_api/v1.3/bc/member/invite/", body, false, what)
            .await?;
        debug!("invited to a TikTok Business Center");
        let m = self.by_email(to.email).await?;
        m.ok_or_else(|| unexpected(APP, what))
    }

    /// Deletes the member, or cancels the pending invitation (by its address).
    async fn remove(&self, m: AppMember) -> R<()> {
        let body = match m.app_member_id.strip_prefix(INVITATION) {
            Some(email) => json!({ "user_email": email }),
            None => json!({ "user_id": m.app_member_id }),
        };
        let r = self
            .write(
                "/open_api/v1.3/bc/member/delete/",
                body,
                true,
                "remove a member",
            )
            .await;
        crate::sdk::errors::gone(r)
    }

    /// The Business Center's advertiser accounts, 50 a page.
    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        let q = [
            ("asset_type", ADVERTISER.to_owned()),
            ("page", cursor.unwrap_or("1").to_owned()),
            ("page_size", ASSET_PAGE.to_string()),
        ];
        let what = "list advertiser accounts";
        let v = self.read("/open_api/v1.3/bc/asset/get/", &q, what).await?;
        let resources = list(&v)
            .iter()
            .map(|a| {
                Some(AppResource {
                    resource_id: a["asset_id"].as_str()?.to_owned(),
                    kind: "advertiser account".to_owned(),
                    name: text(&a["asset_name"]).to_owned(),
                    roles: ADVERTISER_ROLES.iter().map(|r| (*r).to_owned()).collect(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, what))?;
        Ok(ResourcePage {
            resources,
            next: next_page(&v),
        })
    }

    /// The members with a role on the advertiser account `id`, 50 a page.
    async fn resource_members(&self, id: &str, cursor: Option<&str>) -> R<ResourceMemberPage> {
        let q = [
            ("asset_type", ADVERTISER.to_owned()),
            ("asset_id", id.trim().to_owned()),
            ("page", cursor.unwrap_or("1").to_owned()),
            ("page_size", ASSET_PAGE.to_string()),
        ];
        let v = self
            .read(
                "/open_api/v1.3/bc/asset/member/get/",
                &q,
                "list an account's members",
            )
            .await?;
        let members = list(&v)
            .iter()
            .filter_map(|row| {
                let role = Some(text(&row["advertiser_role"])).filter(|r| !r.is_empty())?;
                Some(ResourceMember {
                    app_member_id: bc_member(row)?.app_member_id,
                    roles: vec![role.to_owned()],
                })
            })
            .collect();
        Ok(ResourceMemberPage {
            members,
            next: next_page(&v),
        })
    }

    /// Gives the member exactly the grant's role on the advertiser account.
    ///
    /// Errors: `Conflict` for a pending invitation; `Configuration` for another role;
    /// `NotFound` for no such member.
    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        let role = grant.role.trim().to_ascii_uppercase();
        let roles: Vec<String> = ADVERTISER_ROLES.iter().map(|r| (*r).to_owned()).collect();
        known("A TikTok advertiser account", &role, &roles)?;
        joined(&grant.app_member_id)?;
        let m = existing(self, grant.app_member_id.trim()).await?;
        let asset = grant.resource_id.trim();
        if self.role_on(asset, &m.app_member_id).await?.as_deref() == Some(role.as_str()) {
            return Ok(());
        }
        let body = json!({ "user_id": m.app_member_id, "asset_type": ADVERTISER,
            "asset_id": asset, "advertiser_role": role });
        // Safe to send twice: it sets the member's role on the account.
        self.write(
            "/open_api/v1.3/bc/asset/assign/",
            body,
            true,
            "assign an advertiser account",
        )
        .await?;
        debug!(asset, member = %m.app_member_id, role, "assigned a TikTok advertiser account");
        Ok(())
    }

    /// Takes the member's role on the advertiser account away; one who holds none is done.
    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        let (asset, member) = (id.trim(), member.trim());
        if joined(member).is_err() || self.role_on(asset, member).await?.is_none() {
            return Ok(());
        }
        let body = json!({ "user_id": member, "asset_type": ADVERTISER, "asset_id": asset });
        let r = self
            .write(
                "/open_api/v1.3/bc/asset/unassign/",
                body,
                true,
                "unassign an advertiser account",
            )
            .await;
        crate::sdk::errors::gone(r)?;
        debug!(asset, member, "unassigned a TikTok advertiser account");
        Ok(())
    }
}
