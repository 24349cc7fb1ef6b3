//! Any SCIM 2.0 service provider, driven as a client (RFC 7643 schemas, RFC 7644 protocol) with
//! an API token: Slack, Zoom, Atlassian, Dropbox and the many SaaS apps that publish a SCIM
//! endpoint for admins (see the catalog's `[app.scim]` tables), and any self-hosted one.
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
    AppMember, AppRole, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo,
    Invitation, MemberPage, ResourceGrant, ResourceMemberPage, ResourcePage, SettingField,
    SettingKind, SignIn,
};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tracing::{debug, instrument};

use crate::sdk::members::normalize_email;
use crate::sdk::paging::AnchoredOffset;
use crate::sdk::scim::{scim_error, scim_json, ProviderConfig, ScimRequest};
use crate::sdk::Auth;
use api::{Api, UserRead};
use model::{parse_cursor, Deactivate, Roles, RolesFrom, Settings};
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

crate::sdk::http_connector!(
    /// The SCIM 2.0 connector. Cheap to clone; share one per process (it pools connections).
    ScimConnector
);

impl ScimConnector {
    /// The API with the session's token and the provider's configuration.
    fn api(&self, ctx: &ConnectorContext, s: &AppSession) -> Result<Api<'_>, ConnectorError> {
        let ep = self
            .http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(s.token.clone()));
        let config = ProviderConfig::from_json(s.data.get("config").unwrap_or(&Value::Null));
        Ok(Api { ep, config })
    }

    /// The roles of every member: the Groups (with `roles_from = groups`), else none.
    async fn roles(&self, api: &Api<'_>, settings: Settings) -> Result<Roles, ConnectorError> {
        match settings.roles_from {
            RolesFrom::Groups => api.groups().await,
            RolesFrom::None => Ok(Roles::default()),
        }
    }

    /// A user as a member, with their roles read now.
    async fn member(
        &self,
        api: &Api<'_>,
        settings: Settings,
        user: &UserRead,
    ) -> Result<AppMember, ConnectorError> {
        let roles = self.roles(api, settings).await?;
        Ok(user.0.member(roles.of(&user.0.id)))
    }

    /// Makes `role` the member's only role: into its Group, out of the others. `Ok` when it
    /// already is. Errors: `Configuration` for a role the provider does not have.
    async fn set_role(
        &self,
        api: &Api<'_>,
        settings: Settings,
        user_id: &str,
        role: &str,
    ) -> Result<(), ConnectorError> {
        if settings.roles_from == RolesFrom::None {
            return only_base_role(role);
        }
        let roles = api.groups().await?;
        let target = roles.group_for(role)?;
        for g in &roles.groups {
            let want = target.is_some_and(|t| t.id == g.id);
            if g.members.contains(user_id) != want {
                api.set_member(g, user_id, want).await?;
                debug!(group = %g.id, member = want, "changed a SCIM group's members");
            }
        }
        Ok(())
    }
}

/// `Ok` for [`BASE_ROLE`], the only role of a hub that reads no roles (`roles_from = none`).
/// Errors: `Configuration` for another.
fn only_base_role(role: &str) -> Result<(), ConnectorError> {
    if role.trim().eq_ignore_ascii_case(BASE_ROLE) {
        Ok(())
    } else {
        Err(ConnectorError::Configuration(format!(
            "the hub reads no roles from the SCIM service provider ({ROLES_FROM} = {ROLES_NONE}): \
             its only role is {BASE_ROLE}, not {role:?}"
        )))
    }
}

/// The API token: the automation account's `api_token`, else its password.
fn token(ctx: &ConnectorContext) -> Result<SecretString, ConnectorError> {
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

/// What a 404 at sign-in means: the base URL is not the SCIM base.
fn not_scim_base(ctx: &ConnectorContext, e: ConnectorError) -> ConnectorError {
    match e {
        ConnectorError::NotFound(_) => ConnectorError::Configuration(format!(
            "{} has no SCIM Users endpoint: set the base URL to the SCIM base (ending in /v2 \
             or /scim/v2, as the app's admin page shows)",
            ctx.base_url
        )),
        e => e,
    }
}

#[async_trait]
impl Connector for ScimConnector {
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

    #[instrument(skip_all, fields(connector = NAME))]
    async fn login(&self, ctx: &ConnectorContext) -> Result<AppSession, ConnectorError> {
        Settings::of(ctx)?;
        let token = token(ctx)?;
        let ep = self
            .http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()));
        // RFC 7644 §4: the configuration may be public; a provider without it gets the defaults.
        let r = ep.get("/ServiceProviderConfig").scim().send().await?;
        let config = match r.status {
            s if s.is_success() => r
                .json
                .as_ref()
                .map(ProviderConfig::parse)
                .unwrap_or_default(),
            StatusCode::NOT_FOUND | StatusCode::NOT_IMPLEMENTED => ProviderConfig::default(),
            _ => return Err(scim_error(&r, APP, "read its configuration")),
        };
        // The token itself is checked on the Users.
        let r = ep
            .get("/Users")
            .query(&[("count", "1".into()), ("attributes", "id".into())])
            .scim()
            .send()
            .await?;
        scim_json(r, APP, "list users").map_err(|e| not_scim_base(ctx, e))?;
        debug!(?config, "signed in to a SCIM service provider");
        Ok(AppSession {
            token,
            data: json!({ "config": config.to_json() }),
        })
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn verify_permissions(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> Result<(), ConnectorError> {
        let settings = Settings::of(ctx)?;
        let api = self.api(ctx, s)?;
        let one = [("count", "1".to_owned())];
        let r = api.ep.get("/Users").query(&one).scim().send().await?;
        scim_json(r, APP, "list users").map_err(|e| not_scim_base(ctx, e))?;
        if settings.roles_from == RolesFrom::Groups {
            let r = api.ep.get("/Groups").query(&one).scim().send().await?;
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
    #[instrument(skip_all, fields(connector = NAME))]
    async fn discover(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> Result<Vec<Capability>, ConnectorError> {
        let settings = Settings::of(ctx)?;
        let api = self.api(ctx, s)?;
        let r = api.ep.get("/ServiceProviderConfig").scim().send().await?;
        if let (true, Some(body)) = (r.status.is_success(), r.json.as_ref()) {
            debug!(config = ?ProviderConfig::parse(body), "the SCIM service provider's configuration");
        }
        let r = api
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
        let roles = groups && settings.roles_from == RolesFrom::Groups;
        let resources = groups && settings.roles_from == RolesFrom::None;
        Ok(self
            .describe()
            .capabilities
            .into_iter()
            .filter(|c| match c {
                Capability::ListRoles | Capability::UpdateRole => roles,
                Capability::ListResources | Capability::ResourceRoles => resources,
                _ => true,
            })
            .collect())
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn list_roles(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> Result<Vec<AppRole>, ConnectorError> {
        let settings = Settings::of(ctx)?;
        let api = self.api(ctx, s)?;
        Ok(self.roles(&api, settings).await?.app_roles())
    }

    #[instrument(skip_all, fields(connector = NAME, cursor = cursor.as_deref().unwrap_or("")))]
    async fn list_members(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        cursor: Option<String>,
    ) -> Result<MemberPage, ConnectorError> {
        let settings = Settings::of(ctx)?;
        let api = self.api(ctx, s)?;
        let mut at = parse_cursor(cursor.as_deref())?;
        loop {
            let from = at.read_from();
            let (users, total) = api.users_page(from).await?;
            let skip = at.skip(users.iter().map(|(u, _)| u.id.as_str()));
            let n = users.len();
            let next = match users.last() {
                Some((last, _)) if (from + n) as u64 >= total => None,
                Some((last, _)) => Some(AnchoredOffset::after(from, n, &last.id)),
                None => None,
            };
            let users: Vec<UserRead> = users.into_iter().skip(skip).collect();
            if users.is_empty() {
                if let Some(n) = next {
                    at = n;
                    continue;
                }
            }
            let roles = match users.is_empty() {
                true => Roles::default(),
                false => self.roles(&api, settings).await?,
            };
            debug!(count = users.len(), total, "listed a page of SCIM users");
            return Ok(MemberPage {
                members: users
                    .iter()
                    .map(|(u, _)| u.member(roles.of(&u.id)))
                    .collect(),
                next: next.map(|n| n.encode()),
            });
        }
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id))]
    async fn get_member(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        let settings = Settings::of(ctx)?;
        let api = self.api(ctx, s)?;
        match api.user(app_member_id).await? {
            Some(u) => Ok(Some(self.member(&api, settings, &u).await?)),
            None => Ok(None),
        }
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn find_by_email(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        email: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        let settings = Settings::of(ctx)?;
        let email = normalize_email(email)?;
        let api = self.api(ctx, s)?;
        match api.find(&email).await? {
            Some(u) => Ok(Some(self.member(&api, settings, &u).await?)),
            None => Ok(None),
        }
    }

    #[instrument(skip_all, fields(connector = NAME, role = %inv.role))]
    async fn invite(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        inv: &Invitation,
    ) -> Result<AppMember, ConnectorError> {
        let settings = Settings::of(ctx)?;
        let email = normalize_email(&inv.email)?;
        let api = self.api(ctx, s)?;
        // The role must exist before anyone is created.
        match settings.roles_from {
            RolesFrom::Groups => {
                api.groups().await?.group_for(&inv.role)?;
            }
            RolesFrom::None => only_base_role(&inv.role)?,
        }
        // Whoever already has the address is the invitee: invite is idempotent by email.
        let user = match api.find(&email).await? {
            Some(u) => u,
            None => match api.create(&email, inv.name.as_deref()).await? {
                Some(created) => {
                    debug!(member = %created.0.id, "created a SCIM user");
                    self.set_role(&api, settings, &created.0.id, &inv.role)
                        .await?;
                    return self.member(&api, settings, &created).await;
                }
                // Taken meanwhile, or under a userName that differs only in case.
                None => api.find(&email).await?.ok_or_else(|| {
                    ConnectorError::Conflict(format!(
                        "the SCIM service provider says the user name {email} is taken, but \
                         no user has it"
                    ))
                })?,
            },
        };
        if user.0.active {
            debug!(member = %user.0.id, "already a SCIM user with this email");
            return self.member(&api, settings, &user).await;
        }
        api.set_active(&user, true).await?;
        self.set_role(&api, settings, &user.0.id, &inv.role).await?;
        debug!(member = %user.0.id, "reactivated a SCIM user");
        let user = api.existing_user(&user.0.id).await?;
        self.member(&api, settings, &user).await
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id, role = %role))]
    async fn update_role(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
        role: &str,
    ) -> Result<AppMember, ConnectorError> {
        let settings = Settings::of(ctx)?;
        let api = self.api(ctx, s)?;
        let user = api.existing_user(app_member_id).await?;
        self.set_role(&api, settings, &user.0.id, role).await?;
        self.member(&api, settings, &user).await
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id))]
    async fn remove(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
    ) -> Result<(), ConnectorError> {
        let settings = Settings::of(ctx)?;
        let api = self.api(ctx, s)?;
        match settings.deactivate {
            Deactivate::Delete => api.delete(app_member_id).await,
            Deactivate::ActiveFalse => match api.user(app_member_id).await? {
                None => Ok(()),
                Some(u) if !u.0.active => Ok(()),
                Some(u) => match api.set_active(&u, false).await {
                    Err(ConnectorError::NotFound(_)) => Ok(()),
                    r => r,
                },
            },
        }
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id))]
    async fn remove_keep_seat(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
    ) -> Result<AppMember, ConnectorError> {
        let settings = Settings::of(ctx)?;
        let api = self.api(ctx, s)?;
        let user = api.existing_user(app_member_id).await?;
        if user.0.active {
            api.set_active(&user, false).await?;
        }
        let user = api.existing_user(app_member_id).await?;
        self.member(&api, settings, &user).await
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn list_resources(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        cursor: Option<String>,
    ) -> Result<ResourcePage, ConnectorError> {
        resources_on(Settings::of(ctx)?)?;
        self.api(ctx, s)?.group_page(cursor.as_deref()).await
    }

    #[instrument(skip_all, fields(connector = NAME, group = %resource_id))]
    async fn list_resource_members(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        resource_id: &str,
        _cursor: Option<String>,
    ) -> Result<ResourceMemberPage, ConnectorError> {
        resources_on(Settings::of(ctx)?)?;
        self.api(ctx, s)?.group_members(resource_id).await
    }

    #[instrument(skip_all, fields(connector = NAME, group = %grant.resource_id,
        member = %grant.app_member_id))]
    async fn grant_resource_role(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        grant: &ResourceGrant,
    ) -> Result<(), ConnectorError> {
        resources_on(Settings::of(ctx)?)?;
        self.api(ctx, s)?.grant_group(grant).await
    }

    #[instrument(skip_all, fields(connector = NAME, group = %resource_id, member = %app_member_id))]
    async fn revoke_resource_role(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        resource_id: &str,
        app_member_id: &str,
    ) -> Result<(), ConnectorError> {
        resources_on(Settings::of(ctx)?)?;
        self.api(ctx, s)?
            .revoke_group(resource_id, app_member_id)
            .await
    }
}
