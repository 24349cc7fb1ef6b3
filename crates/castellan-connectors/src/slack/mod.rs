//! Slack, through its SCIM API version 2.0 (Business+ and Enterprise Grid plans), built on the
//! `scim` connector's client ([`crate::scim::Api`], RFC 7643/7644) with Slack's own quirks.
//! Slack documents SCIM 1.1 (`/scim/v1`) and 2.0 (`/scim/v2`) side by side and recommends 2.0
//! to identity providers; the connector speaks 2.0 only.
//!
//! - **Sign-in**: a user token (`xoxp-`) with the `admin` scope from a Slack app that an Owner
//!   or Admin installed (on Enterprise Grid an Org Owner installs it on the organization), as
//!   `Authorization: Bearer`; base URL `https://api.slack.com/scim/v2`. The token's user must
//!   remain an Owner or Admin. Sign-in reads `GET /ServiceProviderConfig`, lists one user, and
//!   finds the automation account's own user by the hub's username, its Slack address
//!   (`filter=email eq "…"`): it is never deactivated or turned into a guest by the connector.
//! - **Members** are the Users (`GET /Users?startIndex=…&count=1000`; Slack asks for pages of
//!   at most 1,000; the cursor is anchored on the previous page's last id), deactivated ones
//!   (`active: false`) included. Lookups: `GET /Users/{id}`; by address, `filter=email eq "…"`
//!   (Slack filters on `username` and `email`, not `emails.value`).
//! - **Roles**, decided here as Slack's SCIM API shows account types: `member` (a full member;
//!   Owners, Admins and Members look alike in SCIM, which has no attribute for them) and
//!   `multi_channel_guest` (Slack's guest extension with `type` `multi`, Enterprise plans). A
//!   single-channel guest reads as `single_channel_guest` but cannot be given one (Slack's SCIM
//!   API makes multi-channel guests only). Slack's `roles` and `userType` attributes are profile
//!   fields (a job role, "Employee"), not permissions, and are not used. Owners and Admins are
//!   made in Slack's admin pages.
//! - **Invite**: `POST /Users` with the address as `userName` (Slack turns it into a username)
//!   and as primary address, and for a guest the guest extension in the same request. Slack
//!   sends its own welcome. An address a deactivated user has is that user, reactivated.
//! - **Role change**: `PATCH /Users/{id}` `add` of the guest extension (`{"type": "multi"}`), or
//!   its `remove` for a full member; then read again. Slack refuses to make Owners and Admins
//!   guests (`cannot_make_user_guest`: `Conflict`).
//! - **Remove and keep-seat**: `DELETE /Users/{id}`, which Slack documents as deactivating the
//!   user (the account stays, can be reactivated by `PATCH` `active: true`); gone already is
//!   done.
//! - **Resources**: the Groups (IdP groups, or user groups), kind `group`, one role `member`:
//!   granting adds the user to `members` (`PATCH /Groups/{id}`), revoking removes
//!   `members[value eq "…"]`.
//! - **Errors**: SCIM 2.0 error bodies with Slack's code as `detail` ([`model::map_error`]).
//!   **Rate limits**: per minute across the organization (reads 1,000, writes 600, less per
//!   endpoint), and a user or group being updated is locked; both answer 429 with
//!   `Retry-After`, which the SDK honours.
//!
//! Pages:
//! - Using the SCIM API (versions, token, plans): <https://docs.slack.dev/admins/scim-api>
//! - Reference (users, guest extension, groups, filter, errors):
//!   <https://docs.slack.dev/reference/scim-api>
//! - Rate limits: <https://docs.slack.dev/reference/scim-api/rate-limits>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, ResourceGrant, ResourceMemberPage, ResourcePage, SignIn,
};
use serde_json::{json, Value};
use tracing::debug;

use crate::scim::{self, Quirks};
use crate::sdk::builder::{confirmed, rejoin, App, AppConnector, Chosen, Invitee, Members};
use crate::sdk::http::segment;
use crate::sdk::members::normalize_email;
use crate::sdk::saas;
use crate::sdk::scim::ProviderConfig;
use crate::sdk::{Auth, HttpClient};
use model::{member, new_member, role_ops, with_role};
pub use model::{MEMBER, MULTI_CHANNEL_GUEST, SINGLE_CHANNEL_GUEST};

/// The connector's name in the catalog.
pub const NAME: &str = "slack";
pub(crate) const APP: &str = "Slack";

/// Slack's SCIM quirks: its name, its `email` filter, pages of 1,000 users (the most Slack
/// advises), its error codes.
const QUIRKS: Quirks = Quirks {
    app: APP,
    email_filters: &["email"],
    page_size: 1000,
    error: model::map_error,
};

type R<T> = Result<T, E>;

/// The Slack connector ([`AppConnector`] of [`Slack`]); the registry builds it with
/// [`saas::connector`].
pub type SlackConnector = AppConnector<Slack>;

/// Slack as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Slack;

#[async_trait]
impl App for Slack {
    const NAME: &'static str = NAME;
    type Api<'a> = Workspace<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Url};
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: vec![MEMBER.to_owned(), MULTI_CHANNEL_GUEST.to_owned()],
            capabilities: vec![
                ListMembers,
                Invite,
                UpdateRole,
                Remove,
                KeepSeat,
                ListResources,
                ResourceRoles,
            ],
            default_role: MEMBER.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "SCIM base URL", Url, true)
                    .help("https://api.slack.com/scim/v2 (Slack's SCIM API 2.0)"),
                [SettingField::new(API_TOKEN, "User token (xoxp-)", Secret, true)
                    .help(
                    "the user token of a Slack app with the admin scope, installed by an Owner \
                     or Admin (on Enterprise Grid, an Org Owner installs it on the organization); \
                     the hub's username is that person's Slack address",
                )],
            ),
        }
    }

    /// Reads Slack's configuration, checks the token on the Users and finds the automation
    /// account's own user by the hub's username.
    ///
    /// Errors: `BadCredentials`, `InsufficientPermission` (Slack's); `Configuration` when no
    /// user has the hub's username as address.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = scim::token(ctx)?;
        let ep = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()));
        let config = scim::sign_in(&ep, &QUIRKS).await?;
        let api = scim::Api::for_provider(ep, config, &QUIRKS);
        let not_found = || {
            E::Configuration(format!(
                "no Slack user has the address {:?}: the hub's username must be the Slack \
                 address of the Owner or Admin who made the token",
                ctx.username
            ))
        };
        let email = normalize_email(&ctx.username).map_err(|_| not_found())?;
        let me = api.find(&email).await?.ok_or_else(not_found)?.0.id;
        debug!(me, "signed in to Slack's SCIM API");
        let data = json!({ "config": config.to_json(), "me": me });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Workspace<'a>> {
        let ep = http.endpoint_for(ctx)?;
        let ep = ep.with_auth(Auth::Bearer(s.token.clone()));
        let config = ProviderConfig::from_json(s.data.get("config").unwrap_or(&Value::Null));
        Ok(Workspace {
            scim: scim::Api::for_provider(ep, config, &QUIRKS),
            me: s.data["me"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

/// Slack's SCIM API as the automation account for one call.
#[derive(Debug)]
pub struct Workspace<'a> {
    scim: scim::Api<'a>,
    /// The automation account's user id.
    me: String,
}

impl Workspace<'_> {
    /// The user `id` as a member.
    ///
    /// Errors: `NotFound` when there is none.
    async fn read(&self, id: &str) -> R<AppMember> {
        Ok(member(&self.scim.existing_user(id).await?))
    }
}

#[async_trait]
impl Members for Workspace<'_> {
    const APP: &'static str = APP;

    /// The token lists users: Slack's SCIM API is for Owners and Admins only.
    async fn verify_permissions(&self) -> R<()> {
        self.scim.probe().await
    }

    /// Users, 1,000 a page (fewer when Slack's configuration says so).
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (users, next) = self.scim.users_after(cursor).await?;
        let members = users.iter().map(member).collect();
        Ok(MemberPage { members, next })
    }

    /// A user by id (`U…`, `W…`), or by address.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        if id.is_empty() {
            return Ok(None);
        }
        Ok(self.scim.user(id).await?.as_ref().map(member))
    }

    /// The user with this address (`filter=email eq "…"`).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        Ok(self.scim.find(email).await?.as_ref().map(member))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }

    /// `member` or `multi_channel_guest` (any case).
    ///
    /// Errors: `Unsupported` for `single_channel_guest`; `Configuration` for another.
    async fn role(&self, role: &str) -> R<String> {
        match role.trim().to_ascii_lowercase().as_str() {
            r @ (MEMBER | MULTI_CHANNEL_GUEST) => Ok(r.to_owned()),
            SINGLE_CHANNEL_GUEST => Err(E::Unsupported(
                "Slack's SCIM API makes multi-channel guests only: a single-channel guest is \
                 made in Slack's admin pages"
                    .into(),
            )),
            r => Err(E::Configuration(format!(
                "Slack has no role {r:?} (its roles here: {MEMBER}, {MULTI_CHANNEL_GUEST})"
            ))),
        }
    }

    /// Converts the user to a multi-channel guest or to a full member (Slack reactivates a
    /// deactivated user on conversion), and reads them again.
    ///
    /// Errors: `Conflict` for an Owner or Admin made a guest; `InsufficientPermission` when the
    /// user is not `role` after.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let path = format!("/Users/{}", segment(&m.app_member_id));
        let what = "change a user's account type";
        let to = role.to_owned();
        let put = move |u| with_role(u, &to);
        self.scim.change(&path, role_ops(role), what, put).await?;
        debug!(member = %m.app_member_id, role, "changed a Slack user's account type");
        confirmed(self, &m.app_member_id, role).await
    }

    /// Sets `active` again (the SDK then gives the role).
    async fn reactivate(&self, m: AppMember, _: &Invitee<'_>) -> R<AppMember> {
        let user = self.scim.existing_user(&m.app_member_id).await?;
        self.scim.set_active(&user, true).await?;
        debug!(member = %m.app_member_id, "reactivated a Slack user");
        self.read(&m.app_member_id).await
    }

    /// Slack makes the username from the address: a chosen one is not used.
    async fn chosen(&self, name: &str) -> R<Chosen> {
        Ok(Chosen::New(name.to_owned()))
    }

    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// `POST /Users` with the account type at once; an address taken meanwhile is the user who
    /// has it, reactivated when deactivated, else `Conflict`.
    async fn create(&self, _: &str, to: &Invitee<'_>) -> R<AppMember> {
        let body = new_member(to.email, to.inv.name.as_deref(), to.role);
        if let Some(made) = self.scim.create_user(body).await? {
            debug!(member = %made.0.id, "made a Slack user");
            return Ok(member(&made));
        }
        let found = self.by_email(to.email).await?.ok_or_else(|| {
            E::Conflict(format!(
                "Slack says {} is taken, but no user has it",
                to.email
            ))
        })?;
        rejoin(self, found, to).await
    }

    /// `DELETE /Users/{id}`: Slack deactivates the user. Gone already: done.
    async fn remove(&self, m: AppMember) -> R<()> {
        self.scim.delete(&m.app_member_id).await
    }

    /// `DELETE /Users/{id}` (the account stays, deactivated), then the user as after.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        self.scim.delete(&m.app_member_id).await?;
        self.read(&m.app_member_id).await
    }

    /// The Groups, 100 a page.
    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        self.scim.group_page(cursor).await
    }

    async fn resource_members(&self, id: &str, _: Option<&str>) -> R<ResourceMemberPage> {
        self.scim.group_members(id).await
    }

    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        self.scim.grant_group(grant).await
    }

    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        self.scim.revoke_group(id, member).await
    }
}
