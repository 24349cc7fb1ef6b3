//! Any SCIM 2.0 service provider, driven as a client (RFC 7643 schemas, RFC 7644 protocol) with
//! an API token: Zoom, Atlassian, Dropbox and the many SaaS apps that publish a SCIM endpoint
//! for admins (see the catalog's `[app.scim]` tables), and any self-hosted one. Its client
//! ([`Api`]) also serves apps whose own connector speaks SCIM with quirks of their own
//! ([`crate::slack`]): they give their [`Quirks`] (name, lookup filters, page size, error table)
//! and read roles their own way.
//!
//! - **Sign-in** ([`SignIn::ApiToken`]): the hub's API token (the automation account's
//!   `api_token`, else its password) as `Authorization: Bearer` (RFC 6750) on every call; the
//!   session holds the token and what `/ServiceProviderConfig` (RFC 7643 §5) says the provider
//!   supports (PATCH, filters, `maxResults`).
//! - **Members** are the provider's Users (RFC 7643 §4.1): member id = SCIM `id`; email = the
//!   primary `emails` value (else the first work one, else the first), or `userName` when it is
//!   an address; state `active` / `deactivated` from `active`. Listing pages with
//!   `startIndex`/`count` (RFC 7644 §3.4.2.4), anchored on the previous page's last id so a user
//!   created meanwhile is neither lost nor repeated. Finding by email filters
//!   `userName eq "…"` then `emails.value eq "…"` (RFC 7644 §3.4.2.2; the value escaped as a
//!   JSON string), and compares without case; a provider without filters is scanned.
//! - **Invite** is `POST /Users` (RFC 7644 §3.3) with `userName` = the email, `emails`, `name`
//!   and `active: true`. A user who already has the address is the invitee (deactivated: set
//!   active again); a 409 `uniqueness` is read again the same way, else `Conflict`.
//! - **Roles** (setting `roles_from`): `groups` (default) makes each SCIM Group a role: a
//!   member's roles are the lowercase display names of the Groups they are a direct member of,
//!   sorted, or `member` when none. They are read from the Groups' `members`, not from
//!   `User.groups`: that attribute is read-only and many providers (scim2-server among them)
//!   leave it out. Setting a role adds the member to that Group (PATCH `add` on `members`) and
//!   takes them out of their other Groups (PATCH `remove` on `members[value eq "…"]`, RFC 7644
//!   §3.5.2); `member` takes them out of every Group. `none`: every member is `member`, and
//!   the Groups are resources instead (kind `group`, one role `member`: granting adds the
//!   member to the Group, revoking takes them out).
//! - `Invitation::username` is not used: the SCIM `userName` is the email.
//! - **Remove** (setting `deactivate_with`): `active_false` (default) sets `active` to false
//!   (the user stays and can be reactivated; also the keep-seat removal), `delete` deletes the
//!   user (RFC 7644 §3.6). A user already gone is done.
//! - **Writes** use PATCH (RFC 7644 §3.5.2) unless the provider says it has none or answers
//!   501/405, then `GET` and `PUT` of the whole resource (§3.5.1). Each write sets a value, so a
//!   retry does not act twice; every change is read first.
//! - **Errors** follow RFC 7644 §3.12: see [`crate::sdk::scim::scim_error`]. Requests and answers
//!   are `application/scim+json` (§3.1).
//! - **Addresses** (setting `allow_private`): `yes` (default) lets the base URL be on a loopback
//!   or private network, for a self-hosted provider; a hub on a SaaS app from the catalog sets
//!   `no` (public addresses only).

mod api;
mod model;
mod resources;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{self, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppRole, AppSession, ConnectorContext, ConnectorError, ConnectorInfo, MemberPage,
    ResourceGrant, ResourceMemberPage, ResourcePage, SettingField, SettingKind, SignIn,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{rejoin, App, AppConnector, Chosen, Invitee, Members};
use crate::sdk::scim::{scim_json, ProviderConfig, ScimRequest};
use crate::sdk::{Auth, HttpClient};
pub use api::Api;
pub(crate) use api::{sign_in, Quirks, UserRead, RFC};
pub(crate) use model::new_user;
use model::{Deactivate, Roles, RolesFrom, Settings};
use resources::resources_on;

/// The connector's name in the catalog.
pub const NAME: &str = "scim";
/// Setting: where roles come from, [`ROLES_GROUPS`] or [`ROLES_NONE`].
pub const ROLES_FROM: &str = "roles_from";
/// `roles_from`: each SCIM Group is a role.
pub const ROLES_GROUPS: &str = "groups";
/// `roles_from`: no roles (every member is [`BASE_ROLE`]).
pub const ROLES_NONE: &str = "none";
/// Setting: how a member is removed, [`DEACTIVATE_ACTIVE_FALSE`] or [`DEACTIVATE_DELETE`].
pub const DEACTIVATE_WITH: &str = "deactivate_with";
/// `deactivate_with`: set `active` to false.
pub const DEACTIVATE_ACTIVE_FALSE: &str = "active_false";
/// `deactivate_with`: delete the user.
pub const DEACTIVATE_DELETE: &str = "delete";
/// The role of a member in no Group (and of everyone with `roles_from = none`).
pub const BASE_ROLE: &str = "member";

/// The provider's name in messages.
const APP: &str = "The SCIM service provider";
/// Users per page (providers may lower it with `filter.maxResults`).
const PAGE_SIZE: u64 = 100;
/// Groups per page.
const GROUP_PAGE_SIZE: u64 = 100;

type R<T> = Result<T, ConnectorError>;

/// The SCIM 2.0 connector ([`AppConnector`] of [`Scim`]). Cheap to clone; share one per process
/// (it pools connections).
pub type ScimConnector = AppConnector<Scim>;

/// A SCIM 2.0 service provider as the connector builder's [`App`]: its settings, its sign-in
/// with an API token (RFC 6750) and its API ([`Api`], RFC 7644).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scim;

impl Api<'_> {
    /// The roles of every member: the Groups (with `roles_from = groups`), else none.
    async fn roles_now(&self) -> R<Roles> {
        match self.settings.roles_from {
            RolesFrom::Groups => self.groups().await,
            RolesFrom::None => Ok(Roles::default()),
        }
    }

    /// A user as a member, with their roles read now.
    async fn member_of(&self, user: &UserRead) -> R<AppMember> {
        let roles = self.roles_now().await?;
        Ok(user.0.member(roles.of(&user.0.id)))
    }

    /// Makes `role` the member's only role: into its Group, out of the others. `Ok` when it
    /// already is. Errors: `Configuration` for a role the provider does not have.
    async fn set_only_role(&self, user_id: &str, role: &str) -> R<()> {
        if self.settings.roles_from == RolesFrom::None {
            return only_base_role(role);
        }
        let roles = self.groups().await?;
        let target = roles.group_for(role)?;
        for g in &roles.groups {
            let want = target.is_some_and(|t| t.id == g.id);
            if g.members.contains(user_id) != want {
                self.set_member(g, user_id, want).await?;
                debug!(group = %g.id, member = want, "changed a SCIM group's members");
            }
        }
        Ok(())
    }
}

/// `Ok` for [`BASE_ROLE`], the only role of a hub that reads no roles (`roles_from = none`).
/// Errors: `Configuration` for another.
fn only_base_role(role: &str) -> R<()> {
    if role.trim().eq_ignore_ascii_case(BASE_ROLE) {
        Ok(())
    } else {
        Err(ConnectorError::Configuration(format!(
            "the hub reads no roles from the SCIM service provider ({ROLES_FROM} = {ROLES_NONE}): \
             its only role is {BASE_ROLE}, not {role:?}"
        )))
    }
}

/// The API token: the automation account's `api_token`, else its password, trimmed.
///
/// Errors: `BadCredentials` when both are blank.
pub(crate) fn token(ctx: &ConnectorContext) -> R<SecretString> {
    [ctx.api_token.as_ref(), Some(&ctx.password)]
        .into_iter()
        .flatten()
        .find(|t| !t.expose_secret().trim().is_empty())
        .map(|t| SecretString::from(t.expose_secret().trim().to_owned()))
        .ok_or_else(|| {
            ConnectorError::BadCredentials(
                "the automation account has no API token for the SCIM service provider".into(),
            )
        })
}

#[async_trait]
impl App for Scim {
    const NAME: &'static str = NAME;
    type Api<'a> = Api<'a>;

    fn describe(&self) -> ConnectorInfo {
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: vec![BASE_ROLE.to_owned()],
            capabilities: vec![
                Capability::ListMembers,
                Capability::Invite,
                Capability::UpdateRole,
                Capability::Remove,
                Capability::KeepSeat,
                Capability::ListRoles,
                Capability::ListResources,
                Capability::ResourceRoles,
            ],
            default_role: BASE_ROLE.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: vec![
                SettingField::new(BASE_URL, "SCIM base URL", SettingKind::Url, true).help(
                    "The SCIM 2.0 base URL the app's admin settings show, e.g. \
                     https://api.example.com/scim/v2",
                ),
                SettingField::new(API_TOKEN, "SCIM API token", SettingKind::Secret, true)
                    .help("The bearer token the app's admin settings give for SCIM provisioning"),
                SettingField::new(
                    ROLES_FROM,
                    "Roles from",
                    SettingKind::Choice(vec![ROLES_GROUPS.into(), ROLES_NONE.into()]),
                    false,
                )
                .help(
                    "groups: each SCIM group is a role (default); none: members have no roles \
                     and the groups are resources",
                ),
                SettingField::new(
                    DEACTIVATE_WITH,
                    "Remove members by",
                    SettingKind::Choice(vec![
                        DEACTIVATE_ACTIVE_FALSE.into(),
                        DEACTIVATE_DELETE.into(),
                    ]),
                    false,
                )
                .help(
                    "active_false: deactivate, keeping the user (default); delete: delete the \
                     user, where the app documents deletion",
                ),
                settings::requests_per_second(),
                settings::allow_private(),
            ],
        }
    }

    /// Checks the settings, reads `/ServiceProviderConfig` (RFC 7643 §5) and checks the token on
    /// the Users ([`sign_in`]).
    async fn login(&self, http: &HttpClient, ctx: &ConnectorContext) -> R<AppSession> {
        Settings::of(ctx)?;
        let token = token(ctx)?;
        let ep = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()));
        let config = sign_in(&ep, &RFC).await?;
        debug!(?config, "signed in to a SCIM service provider");
        Ok(AppSession {
            token,
            data: json!({ "config": config.to_json() }),
        })
    }

    /// The API with the session's token, the provider's configuration and the hub's settings.
    fn api<'a>(&self, http: &'a HttpClient, ctx: &ConnectorContext, s: &AppSession) -> R<Api<'a>> {
        let settings = Settings::of(ctx)?;
        let ep = http.endpoint_for(ctx)?;
        let ep = ep.with_auth(Auth::Bearer(s.token.clone()));
        let config = ProviderConfig::from_json(s.data.get("config").unwrap_or(&Value::Null));
        Ok(Api {
            ep,
            config,
            settings,
            quirks: &RFC,
        })
    }
}

#[async_trait]
impl Members for Api<'_> {
    const APP: &'static str = APP;

    /// The token lists Users, and Groups when they are the roles.
    async fn verify_permissions(&self) -> R<()> {
        self.probe().await?;
        if self.settings.roles_from == RolesFrom::Groups {
            let one = [("count", "1".to_owned())];
            let r = self.ep.get("/Groups").query(&one).scim().send().await?;
            scim_json(r, APP, "list groups").map_err(|e| match e {
                ConnectorError::NotFound(_) | ConnectorError::Unsupported(_) => {
                    ConnectorError::Configuration(format!(
                        "the SCIM service provider has no Groups: set {ROLES_FROM} to {ROLES_NONE}"
                    ))
                }
                e => e,
            })?;
        }
        Ok(())
    }

    /// The declared capabilities, less the roles when the hub reads none or the provider has no
    /// Groups, and less the resources unless the hub reads no roles and the provider has Groups;
    /// `/ServiceProviderConfig` (RFC 7643 §5) is read again and logged (PATCH and filters have
    /// fallbacks, so they remove nothing).
    async fn discover(&self, declared: Vec<Capability>) -> R<Vec<Capability>> {
        let r = self.ep.get("/ServiceProviderConfig").scim().send().await?;
        if let (true, Some(body)) = (r.status.is_success(), r.json.as_ref()) {
            debug!(config = ?ProviderConfig::parse(body), "the SCIM service provider's configuration");
        }
        let r = self
            .ep
            .get("/Groups")
            .query(&[("count", "1".into())])
            .scim()
            .send()
            .await?;
        let groups = match scim_json(r, APP, "list groups") {
            Ok(_) => true,
            Err(ConnectorError::NotFound(_) | ConnectorError::Unsupported(_)) => false,
            Err(e) => return Err(e),
        };
        let roles = groups && self.settings.roles_from == RolesFrom::Groups;
        let resources = groups && self.settings.roles_from == RolesFrom::None;
        Ok(declared
            .into_iter()
            .filter(|c| match c {
                Capability::ListRoles | Capability::UpdateRole => roles,
                Capability::ListResources | Capability::ResourceRoles => resources,
                _ => true,
            })
            .collect())
    }

    async fn roles(&self) -> R<Vec<AppRole>> {
        Ok(self.roles_now().await?.app_roles())
    }

    /// Users by `startIndex`/`count`, anchored on the previous page's last id
    /// ([`Api::users_after`]), with their Groups as roles.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (users, next) = self.users_after(cursor).await?;
        let roles = match users.is_empty() {
            true => Roles::default(),
            false => self.roles_now().await?,
        };
        Ok(MemberPage {
            members: users
                .iter()
                .map(|(u, _)| u.member(roles.of(&u.id)))
                .collect(),
            next,
        })
    }

    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        match self.user(id).await? {
            Some(u) => Ok(Some(self.member_of(&u).await?)),
            None => Ok(None),
        }
    }

    /// The User whose `userName` or one of whose `emails` is the address ([`Api::find`]).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        match self.find(email).await? {
            Some(u) => Ok(Some(self.member_of(&u).await?)),
            None => Ok(None),
        }
    }

    /// The provider does not say which User the token is.
    fn is_me(&self, _: &AppMember) -> bool {
        false
    }

    /// A Group's name (with `roles_from = groups`), else [`BASE_ROLE`]: checked before anyone
    /// is created.
    async fn role(&self, role: &str) -> R<String> {
        match self.settings.roles_from {
            RolesFrom::Groups => self.groups().await?.group_for(role).map(drop)?,
            RolesFrom::None => only_base_role(role)?,
        }
        Ok(role.to_owned())
    }

    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        self.set_only_role(&m.app_member_id, role).await?;
        self.member_of(&self.existing_user(&m.app_member_id).await?)
            .await
    }

    /// Sets `active` again (the SDK then gives the role).
    async fn reactivate(&self, m: AppMember, _: &Invitee<'_>) -> R<AppMember> {
        self.set_active(&self.existing_user(&m.app_member_id).await?, true)
            .await?;
        debug!(member = %m.app_member_id, "reactivated a SCIM user");
        self.member_of(&self.existing_user(&m.app_member_id).await?)
            .await
    }

    /// The SCIM `userName` is the email: a chosen username is not used.
    async fn chosen(&self, name: &str) -> R<Chosen> {
        Ok(Chosen::New(name.to_owned()))
    }

    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// `POST /Users` with `userName` = the email (RFC 7644 §3.3); a `userName` taken meanwhile
    /// (or under another case) is the user who has the address, reactivated when inactive, else
    /// `Conflict`.
    async fn create(&self, _: &str, to: &Invitee<'_>) -> R<AppMember> {
        if let Some(created) = self.create(to.email, to.inv.name.as_deref()).await? {
            debug!(member = %created.0.id, "created a SCIM user");
            return self.member_of(&created).await;
        }
        let found = self.find(to.email).await?.ok_or_else(|| {
            ConnectorError::Conflict(format!(
                "the SCIM service provider says the user name {} is taken, but no user has it",
                to.email
            ))
        })?;
        rejoin(self, self.member_of(&found).await?, to).await
    }

    /// With `deactivate_with = delete`, `DELETE /Users/{id}` (RFC 7644 §3.6); else `active`
    /// set to false. Gone already: done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let id = &m.app_member_id;
        match self.settings.deactivate {
            Deactivate::Delete => self.delete(id).await,
            Deactivate::ActiveFalse => match self.user(id).await? {
                None => Ok(()),
                Some(u) if !u.0.active => Ok(()),
                Some(u) => match self.set_active(&u, false).await {
                    Err(ConnectorError::NotFound(_)) => Ok(()),
                    r => r,
                },
            },
        }
    }

    /// Sets `active` to false; the user stays.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        let user = self.existing_user(&m.app_member_id).await?;
        if user.0.active {
            self.set_active(&user, false).await?;
        }
        self.member_of(&self.existing_user(&m.app_member_id).await?)
            .await
    }

    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        resources_on(self.settings)?;
        self.group_page(cursor).await
    }

    async fn resource_members(&self, id: &str, _: Option<&str>) -> R<ResourceMemberPage> {
        resources_on(self.settings)?;
        self.group_members(id).await
    }

    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        resources_on(self.settings)?;
        self.grant_group(grant).await
    }

    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        resources_on(self.settings)?;
        self.revoke_group(id, member).await
    }
}
