//! The connector builder, after the model of ConductorOne baton-sdk's `connectorbuilder`: a
//! connector declares only what is particular to its app, and [`AppConnector`] makes the whole
//! [`Connector`] of it, with the flows every member connector would otherwise write again.
//!
//! A connector writes two small things:
//! - an [`App`]: its [`ConnectorInfo`], its sign-in, and how to open its API for one call;
//! - that API's [`Members`]: list a page, read a member by id and by email, create one, set a
//!   role, remove one, the app's roles, whether a member is the automation account; where the
//!   app has them, its resources and the roles members hold on them.
//!
//! The SDK supplies, for every such connector alike:
//! - a tracing span per call with the connector's name and the member, role or cursor;
//! - lookups by email with the address checked and lowercased ([`normalize_email`]), so every
//!   app finds members by email without case;
//! - invitations idempotent by email ([`invite`]): whoever holds the address is the invitee
//!   (reactivated with the role when deactivated); a chosen username names that member
//!   ([`Members::named`]); else the first free username ([`first_unused`]); a role the app does
//!   not have is refused before anyone is made, and the member ends with exactly the role;
//! - role changes checked against the app's roles and skipped when the member holds exactly that
//!   role already ([`update_role`]);
//! - removal of a member already gone is done ([`remove`]), keep-seat removal of a deactivated
//!   member too ([`keep_seat`]);
//! - the guard around the automation account: it never changes its own role, removes or
//!   deactivates itself (`Conflict`, [`not_self`]);
//! - the optional capabilities answered from what the connector declares: [`Capability::ListRoles`]
//!   (else the declared roles), [`Capability::KeepSeat`], [`Capability::ListResources`] and
//!   [`Capability::ResourceRoles`] (else `Unsupported`);
//! - for apps with no endpoint for their roles ([`Members::DEFAULT_ROLES`]), the roles members
//!   hold, learned from one full listing and kept up to date by every listing and role change
//!   since ([`HeldRoles`]): reading the roles before each check for updates does not list every
//!   member a second time.
//!
//! The flows are public functions too, for connectors that write their own [`Connector`].
//!
//! ## Adding a connector
//!
//! 1. `src/<app>/mod.rs`: the module's doc (the app's API and what the connector does with it,
//!    with the vendor's reference pages), `pub const NAME` (the catalog's `connector` value),
//!    `pub type <App>Connector = AppConnector<<App>>`, the [`App`] (its roles, capabilities and
//!    settings, its sign-in, its API for a call) and the [`Members`] of that API; beside it, a
//!    `model.rs` for the app's records and its one table from answers to errors (on
//!    [`super::errors::common_error`] and [`super::rest::status_error`]).
//! 2. Register it in `src/lib.rs` ([`crate::Registry`]); the catalog's entry names it.
//! 3. `tests/<app>.rs`: a fixture of the conformance suite (`castellan_conformance::Fixture`:
//!    start the app with `scripts/start-<app>.sh`, its automation account, members seeded out of
//!    band) and one call of `castellan_conformance::run`, then what only the app has. Run it
//!    with `cargo test -p castellan-connectors --test <app>`.

use std::collections::BTreeSet;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::browser::BrowserCookie;
use castellan_core::connector::{
    AppMember, AppRole, AppSession, Connector, ConnectorContext as Ctx, ConnectorError as E,
    ConnectorInfo, Invitation, MemberPage, MemberState, ResourceGrant, ResourceMemberPage,
    ResourcePage,
};
use tracing::instrument;

use super::members::{given, normalize_email, not_self};
use super::roles::{known, labelled, HeldRoles};
use super::usernames::{candidates, MAX_TRIES};
use super::{AddressPolicy, HttpClient};

type R<T> = Result<T, E>;

/// A connector's declaration of its app: what [`AppConnector`] cannot know.
#[async_trait]
pub trait App: Send + Sync + Default + std::fmt::Debug + 'static {
    /// The connector's name in the catalog, e.g. `wordpress` (in every call's span).
    const NAME: &'static str;
    /// The app's API for one call, signed in: the app's half of the member flows.
    type Api<'a>: Members;

    /// Roles, capabilities, sign-in and settings ([`Connector::describe`]).
    fn describe(&self) -> ConnectorInfo;

    /// Signs in as the automation account with `http` ([`Connector::login`]).
    ///
    /// Errors: `BadCredentials`, `Unavailable`, `Configuration`, as the contract says.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<AppSession>;

    /// The API for one call as the session `s` (no request is sent).
    ///
    /// Errors: `Configuration` for a base URL the hub's address policy refuses.
    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &AppSession) -> R<Self::Api<'a>>;

    /// A session from cookies a person exported from their browser
    /// ([`Connector::adopt_session`]). Default: `Unsupported` (apps driven over HTTP).
    async fn adopt(
        &self,
        _http: &HttpClient,
        _ctx: &Ctx,
        _cookies: Vec<BrowserCookie>,
    ) -> R<AppSession> {
        Err(unsupported(
            &format!("the {} connector", Self::NAME),
            "use for a session uploaded from a browser",
        ))
    }
}

/// The app's half of the member flows, on one call's API. Members are [`AppMember`]s: a
/// deactivated one ([`MemberState::Deactivated`]) keeps its account but no access.
#[async_trait]
pub trait Members: Send + Sync {
    /// The app's name in messages, e.g. `WordPress`.
    const APP: &'static str;

    /// Checks that the automation account may list and change members.
    ///
    /// Errors: `InsufficientPermission` naming what it lacks.
    async fn verify_permissions(&self) -> R<()>;

    /// The capabilities this instance really has for this account, of the `declared` ones
    /// ([`Connector::discover`]: a plan, a setting, a server's configuration). Default: all.
    async fn discover(&self, declared: Vec<Capability>) -> R<Vec<Capability>> {
        Ok(declared)
    }

    /// One page of members from `cursor` (`None`: the first page) and the next cursor.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage>;

    /// A member by the ids the app accepts (its app member id; a username where the app has
    /// them), `None` when there is none.
    async fn member(&self, id: &str) -> R<Option<AppMember>>;

    /// The member holding `email` (checked and lowercased), `None` when there is none.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>>;

    /// Whether `m` is the automation account itself.
    fn is_me(&self, m: &AppMember) -> bool;

    /// For an app with no endpoint for its roles: its default roles, most privileged first; its
    /// others are those its members hold ([`HeldRoles`]). `None` (the default): the app lists
    /// its roles ([`Members::roles`]).
    const DEFAULT_ROLES: Option<&'static [&'static str]> = None;

    /// The app's roles, most privileged first ([`Capability::ListRoles`]), unless it declares
    /// [`Members::DEFAULT_ROLES`]. Default: none.
    async fn roles(&self) -> R<Vec<AppRole>> {
        Ok(vec![])
    }

    /// Checks `role` (trimmed, not empty) before an invitation or a role change, and returns it
    /// as the app names it. Default: one of [`Members::roles`] when the app lists its roles
    /// ([`known`]), else as it is (the app checks it when it is given).
    ///
    /// Errors: `Configuration` for a role the app does not have.
    async fn role(&self, role: &str) -> R<String> {
        let roles: Vec<String> = self.roles().await?.into_iter().map(|r| r.role).collect();
        match roles.is_empty() {
            true => Ok(role.to_owned()),
            false => known(Self::APP, role, &roles).map(|()| role.to_owned()),
        }
    }

    /// Makes `role` the only role of `m`, who does not hold exactly it, and returns `m` as it
    /// is after.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember>;

    /// Gives the deactivated `m`, invited as `to`, access again (with the role where the app
    /// gives it at once), and returns `m` as after: [`rejoin`] then gives the role when `m` is
    /// active and lacks it. Default: [`Members::set_role`].
    async fn reactivate(&self, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
        self.set_role(m, to.role).await
    }

    /// The invitee `to` asked for the username of `m`, who holds another address or none the
    /// app shows. Default: a deactivated `m` is the person's own former member (the engine
    /// names only those), reactivated ([`rejoin`]); an active one is somebody else's.
    ///
    /// Errors: `Conflict` for somebody else's member.
    async fn named(&self, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
        match m.state {
            MemberState::Deactivated => rejoin(self, m, to).await,
            _ => Err(E::Conflict(format!(
                "{} member {} is somebody else's",
                Self::APP,
                m.app_member_id
            ))),
        }
    }

    /// What the username an invitation chooses, `name`, names: the member who has it, else the
    /// username to create. Default: [`Members::member`], else `name` as it is.
    ///
    /// Errors: the app's, for a name it cannot make.
    async fn chosen(&self, name: &str) -> R<Chosen> {
        Ok(match self.member(name).await? {
            Some(m) => Chosen::Member(m),
            None => Chosen::New(name.to_owned()),
        })
    }

    /// The username to create for `email` when the invitation chooses none, e.g. the first free
    /// one derived from the address ([`first_unused`]).
    ///
    /// Errors: `Conflict` when every candidate is taken.
    async fn free_username(&self, email: &str) -> R<String>;

    /// Creates the member `username` for the invitee `to` (the address, the invitation's name,
    /// and the role where the app gives it at once: [`invite`] then gives the role when the
    /// member lacks it); sent once.
    async fn create(&self, username: &str, to: &Invitee<'_>) -> R<AppMember>;

    /// Removes `m`, who is not the automation account: deletes or deactivates it.
    async fn remove(&self, m: AppMember) -> R<()>;

    /// Takes every access of `m` away but keeps the account ([`Capability::KeepSeat`]), and
    /// returns `m` as it is after. Default: `Unsupported`.
    async fn deactivate(&self, _m: AppMember) -> R<AppMember> {
        Err(unsupported(Self::APP, "keeping a seat on removal"))
    }

    /// One page of the app's resources from `cursor` ([`Capability::ListResources`]). Default:
    /// `Unsupported`.
    async fn resources(&self, _cursor: Option<&str>) -> R<ResourcePage> {
        Err(unsupported(Self::APP, "resources"))
    }

    /// One page of who holds which role on the resource `id` ([`Capability::ResourceRoles`]).
    /// Default: `Unsupported`.
    ///
    /// Errors: `NotFound` when the resource is gone.
    async fn resource_members(&self, _id: &str, _cursor: Option<&str>) -> R<ResourceMemberPage> {
        Err(unsupported(Self::APP, "roles on resources"))
    }

    /// Gives a member a role on a resource, replacing the one they held there; idempotent.
    /// Default: `Unsupported`.
    ///
    /// Errors: `NotFound` (resource or member), `Configuration` (a role the resource lacks).
    async fn grant(&self, _grant: &ResourceGrant) -> R<()> {
        Err(unsupported(Self::APP, "roles on resources"))
    }

    /// Takes every role the member `member` holds on the resource `id` away; one who holds none
    /// is done. Default: `Unsupported`.
    async fn revoke(&self, _id: &str, _member: &str) -> R<()> {
        Err(unsupported(Self::APP, "roles on resources"))
    }
}

/// `Unsupported` ("<who> has no <what>").
fn unsupported(who: &str, what: &str) -> E {
    E::Unsupported(format!("{who} has no {what}"))
}

/// An invitation as the flows hand it to the app: the address checked and lowercased, the role
/// as the app names it ([`Members::role`]), and the invitation itself (the name, the chosen
/// username).
#[derive(Debug, Clone, Copy)]
pub struct Invitee<'a> {
    /// The address, lowercase.
    pub email: &'a str,
    /// The role, as the app names it.
    pub role: &'a str,
    /// The invitation.
    pub inv: &'a Invitation,
}

/// What a chosen username names ([`Members::chosen`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    /// The member who has it.
    Member(AppMember),
    /// Nobody: the username to create.
    New(String),
}

/// The [`Connector`] the SDK builds from an [`App`]: one [`HttpClient`] (pooled connections,
/// the hubs' address policies and rate limits), the app's declaration, and the roles members
/// were seen holding ([`HeldRoles`]). Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct AppConnector<A> {
    http: HttpClient,
    app: A,
    held: HeldRoles,
}

impl<A: App> Default for AppConnector<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: App> AppConnector<A> {
    /// A connector with its own HTTP client (no redirects followed, so a credential never leaves
    /// the configured base URL), allowing private and loopback addresses
    /// ([`AddressPolicy::SELF_HOSTED`]) to hubs whose `allow_private` setting does not say `no`.
    pub fn new() -> Self {
        Self::with_policy(AddressPolicy::SELF_HOSTED)
    }

    /// A connector whose client enforces `policy` for hubs whose `allow_private` setting
    /// chooses none.
    pub fn with_policy(policy: AddressPolicy) -> Self {
        Self::over(HttpClient::new(policy))
    }

    /// A connector over a given HTTP client (it must not follow redirects; its DNS resolution is
    /// its own, so only literal IP base URLs are checked against the address policy).
    pub fn with_client(http: reqwest::Client) -> Self {
        Self::over(HttpClient::with_client(http, AddressPolicy::SELF_HOSTED))
    }

    /// A connector over `app` as given (e.g. a browser connector with its engine), with its
    /// own HTTP client as [`AppConnector::new`] makes it.
    pub fn with_app(app: A) -> Self {
        Self { app, ..Self::new() }
    }

    fn over(http: HttpClient) -> Self {
        let (app, held) = (A::default(), HeldRoles::default());
        Self { http, app, held }
    }

    /// The HTTP client, for a connector's own calls beside the contract (e.g. Redmine's TOTP
    /// pairing).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn api(&self, ctx: &Ctx, s: &AppSession) -> R<A::Api<'_>> {
        self.app.api(&self.http, ctx, s)
    }

    /// `Ok` when the connector declares `c`, else `Unsupported` ("the <name> connector has no
    /// <what>", as the contract's defaults say).
    fn declares(&self, c: Capability, what: &str) -> R<()> {
        match self.describe().can(c) {
            true => Ok(()),
            false => Err(unsupported(&format!("the {} connector", A::NAME), what)),
        }
    }

    /// Notes the roles of members a call returned, for [`HeldRoles`].
    fn saw(&self, ctx: &Ctx, members: &[AppMember]) {
        self.held.saw(site(ctx), members);
    }
}

#[async_trait]
impl<A: App> Connector for AppConnector<A> {
    fn describe(&self) -> ConnectorInfo {
        self.app.describe()
    }

    #[instrument(skip_all, fields(connector = A::NAME, username = %ctx.username))]
    async fn login(&self, ctx: &Ctx) -> R<AppSession> {
        self.app.login(&self.http, ctx).await
    }

    #[instrument(skip_all, fields(connector = A::NAME, cookies = cookies.len()))]
    async fn adopt_session(&self, ctx: &Ctx, cookies: Vec<BrowserCookie>) -> R<AppSession> {
        self.app.adopt(&self.http, ctx, cookies).await
    }

    #[instrument(skip_all, fields(connector = A::NAME))]
    async fn verify_permissions(&self, ctx: &Ctx, s: &AppSession) -> R<()> {
        self.api(ctx, s)?.verify_permissions().await
    }

    /// [`Members::discover`] of the declared capabilities.
    #[instrument(skip_all, fields(connector = A::NAME))]
    async fn discover(&self, ctx: &Ctx, s: &AppSession) -> R<Vec<Capability>> {
        let declared = self.describe().capabilities;
        self.api(ctx, s)?.discover(declared).await
    }

    #[instrument(skip_all, fields(connector = A::NAME, cursor = cursor.as_deref().unwrap_or("")))]
    async fn list_members(
        &self,
        ctx: &Ctx,
        s: &AppSession,
        cursor: Option<String>,
    ) -> R<MemberPage> {
        let page = self.api(ctx, s)?.page(cursor.as_deref()).await?;
        self.saw(ctx, &page.members);
        Ok(page)
    }

    #[instrument(skip_all, fields(connector = A::NAME, member = %id))]
    async fn get_member(&self, ctx: &Ctx, s: &AppSession, id: &str) -> R<Option<AppMember>> {
        self.api(ctx, s)?.member(id).await
    }

    #[instrument(skip_all, fields(connector = A::NAME))]
    async fn find_by_email(&self, ctx: &Ctx, s: &AppSession, email: &str) -> R<Option<AppMember>> {
        self.api(ctx, s)?.by_email(&normalize_email(email)?).await
    }

    #[instrument(skip_all, fields(connector = A::NAME, role = %inv.role))]
    async fn invite(&self, ctx: &Ctx, s: &AppSession, inv: &Invitation) -> R<AppMember> {
        let m = invite(&self.api(ctx, s)?, inv).await?;
        self.saw(ctx, std::slice::from_ref(&m));
        Ok(m)
    }

    #[instrument(skip_all, fields(connector = A::NAME, member = %id, role = %role))]
    async fn update_role(&self, ctx: &Ctx, s: &AppSession, id: &str, role: &str) -> R<AppMember> {
        let m = update_role(&self.api(ctx, s)?, id, role).await?;
        self.saw(ctx, std::slice::from_ref(&m));
        Ok(m)
    }

    #[instrument(skip_all, fields(connector = A::NAME, member = %id))]
    async fn remove(&self, ctx: &Ctx, s: &AppSession, id: &str) -> R<()> {
        remove(&self.api(ctx, s)?, id).await
    }

    /// The app's roles where the connector declares [`Capability::ListRoles`], else the
    /// declared ones. An app with [`Members::DEFAULT_ROLES`]: those and the roles its members
    /// hold, listed through every page ([`held_roles`]) the first time only.
    #[instrument(skip_all, fields(connector = A::NAME))]
    async fn list_roles(&self, ctx: &Ctx, s: &AppSession) -> R<Vec<AppRole>> {
        let info = self.describe();
        if !info.can(Capability::ListRoles) {
            return Ok(info.roles.iter().map(|r| AppRole::plain(r)).collect());
        }
        let api = self.api(ctx, s)?;
        let Some(defaults) = <A::Api<'_> as Members>::DEFAULT_ROLES else {
            return api.roles().await;
        };
        let held = match self.held.get(site(ctx)) {
            Some(held) => held,
            None => {
                let held = held_roles(&api).await?;
                self.held.set(site(ctx), held.clone());
                held
            }
        };
        Ok(labelled(defaults, held))
    }

    /// [`keep_seat`] where the connector declares [`Capability::KeepSeat`], else `Unsupported`.
    #[instrument(skip_all, fields(connector = A::NAME, member = %id))]
    async fn remove_keep_seat(&self, ctx: &Ctx, s: &AppSession, id: &str) -> R<AppMember> {
        self.declares(Capability::KeepSeat, "keeping a seat on removal")?;
        keep_seat(&self.api(ctx, s)?, id).await
    }

    /// [`Members::resources`] where the connector declares [`Capability::ListResources`].
    #[instrument(skip_all, fields(connector = A::NAME, cursor = cursor.as_deref().unwrap_or("")))]
    async fn list_resources(
        &self,
        ctx: &Ctx,
        s: &AppSession,
        cursor: Option<String>,
    ) -> R<ResourcePage> {
        self.declares(Capability::ListResources, "resources")?;
        self.api(ctx, s)?.resources(cursor.as_deref()).await
    }

    /// [`Members::resource_members`] where the connector declares
    /// [`Capability::ResourceRoles`].
    #[instrument(skip_all, fields(connector = A::NAME, resource = %id))]
    async fn list_resource_members(
        &self,
        ctx: &Ctx,
        s: &AppSession,
        id: &str,
        cursor: Option<String>,
    ) -> R<ResourceMemberPage> {
        self.declares(Capability::ResourceRoles, "roles on resources")?;
        self.api(ctx, s)?
            .resource_members(id, cursor.as_deref())
            .await
    }

    /// [`Members::grant`] where the connector declares [`Capability::ResourceRoles`].
    #[instrument(skip_all, fields(connector = A::NAME, resource = %grant.resource_id,
        member = %grant.app_member_id, role = %grant.role))]
    async fn grant_resource_role(&self, ctx: &Ctx, s: &AppSession, grant: &ResourceGrant) -> R<()> {
        self.declares(Capability::ResourceRoles, "roles on resources")?;
        self.api(ctx, s)?.grant(grant).await
    }

    /// [`Members::revoke`] where the connector declares [`Capability::ResourceRoles`].
    #[instrument(skip_all, fields(connector = A::NAME, resource = %id, member = %member))]
    async fn revoke_resource_role(
        &self,
        ctx: &Ctx,
        s: &AppSession,
        id: &str,
        member: &str,
    ) -> R<()> {
        self.declares(Capability::ResourceRoles, "roles on resources")?;
        self.api(ctx, s)?.revoke(id, member).await
    }
}

/// The key of the site a call is for in [`HeldRoles`]: its base URL, trimmed.
fn site(ctx: &Ctx) -> &str {
    ctx.base_url.trim().trim_end_matches('/')
}

/// Every role the members hold, read through every page of the listing.
///
/// Errors: [`Members::page`]'s.
pub async fn held_roles<M: Members + ?Sized>(api: &M) -> R<BTreeSet<String>> {
    let (mut held, mut cursor) = (BTreeSet::new(), None);
    loop {
        let page = api.page(cursor.as_deref()).await?;
        held.extend(page.members.into_iter().flat_map(|m| m.roles));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(held),
        }
    }
}

/// Invites `inv` idempotently by email: its role (trimmed) is checked first
/// ([`Members::role`]); the member holding the address is the invitee ([`rejoin`]); a chosen
/// username that a member has names that member ([`Members::chosen`], [`Members::named`]);
/// else the member is created ([`Members::create`]) with the chosen username or a free one
/// ([`Members::free_username`]), and given the role when the app did not give it.
///
/// Errors: `Configuration` for no role, a role the app does not have or no email address;
/// `Conflict` for a username that is somebody else's; the app's errors.
pub async fn invite<M: Members + ?Sized>(api: &M, inv: &Invitation) -> R<AppMember> {
    let role = role_of(api, &inv.role).await?;
    let email = normalize_email(&inv.email)?;
    let (role, email) = (role.as_str(), email.as_str());
    let to = Invitee { email, role, inv };
    if let Some(m) = api.by_email(email).await? {
        return rejoin(api, m, &to).await;
    }
    let username = match given(&inv.username) {
        Some(name) => match api.chosen(name).await? {
            Chosen::Member(m) => return api.named(m, &to).await,
            Chosen::New(name) => name,
        },
        None => api.free_username(email).await?,
    };
    let m = api.create(&username, &to).await?;
    only(api, m, role).await
}

/// `role` trimmed, as the app names it ([`Members::role`]).
///
/// Errors: `Configuration` for no role or one the app does not have.
pub async fn role_of<M: Members + ?Sized>(api: &M, role: &str) -> R<String> {
    match role.trim() {
        "" => Err(E::Configuration(format!("no {} role given", M::APP))),
        role => api.role(role).await,
    }
}

/// `m` with exactly `role`: as they are when they hold exactly it, else given it
/// ([`Members::set_role`]).
///
/// Errors: [`Members::set_role`]'s.
pub async fn only<M: Members + ?Sized>(api: &M, m: AppMember, role: &str) -> R<AppMember> {
    match m.roles == [role] {
        true => Ok(m),
        false => api.set_role(m, role).await,
    }
}

/// The member who is the invitee `to` already: as they are when not deactivated (whatever
/// their role: the engine changes roles apart), else reactivated ([`Members::reactivate`]) and,
/// once active, given exactly the role ([`only`]).
///
/// Errors: [`Members::reactivate`]'s and [`Members::set_role`]'s.
pub async fn rejoin<M: Members + ?Sized>(api: &M, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
    if m.state != MemberState::Deactivated {
        return Ok(m);
    }
    match api.reactivate(m, to).await? {
        m if m.state == MemberState::Deactivated => Ok(m),
        m => only(api, m, to.role).await,
    }
}

/// Gives the member `id` exactly `role` (trimmed, checked with [`Members::role`]), unless they
/// hold exactly it already, and returns them as after, who must hold `role`.
///
/// Errors: `NotFound` for no such member; `Conflict` for the automation account;
/// `Configuration` for a role the app does not have; `InsufficientPermission` when the app
/// answered the change but the member does not hold `role` after it.
pub async fn update_role<M: Members + ?Sized>(api: &M, id: &str, role: &str) -> R<AppMember> {
    let role = role_of(api, role).await?;
    let m = existing(api, id).await?;
    if m.roles == [role.as_str()] {
        return Ok(m);
    }
    not_self(api.is_me(&m), "change its own role")?;
    let after = api.set_role(m, &role).await?;
    match after.roles.iter().any(|r| r.eq_ignore_ascii_case(&role)) {
        true => Ok(after),
        false => Err(E::InsufficientPermission(format!(
            "{} kept {} its role{}: {role} was not given",
            M::APP,
            after.name.as_deref().unwrap_or(&after.app_member_id),
            match after.roles.as_slice() {
                [] => String::new(),
                held => format!(" ({})", held.join(", ")),
            }
        ))),
    }
}

/// Removes the member `id`, then reads them again: gone or deactivated is done. One already
/// gone is done once [`Members::verify_permissions`] passes (the account may still manage the
/// app's members).
///
/// Errors: `Conflict` for the automation account; the probe's for a member not found;
/// [`Members::remove`]'s; `Unavailable` (retried) when the app still lists the member as
/// active or invited after the removal.
pub async fn remove<M: Members + ?Sized>(api: &M, id: &str) -> R<()> {
    let Some(m) = api.member(id).await? else {
        // "Already gone" only if the account still sees the app as one that may manage it: an
        // app that hides its members from a token that lost its rights (GitHub answers 404)
        // must not make a removal look done.
        return api.verify_permissions().await;
    };
    not_self(api.is_me(&m), "remove itself")?;
    api.remove(m).await?;
    // Revoked means revoked: an app that answered the removal without carrying it out (a 404
    // from a token short of a scope, a write it dropped) must not make it look done. A member
    // still listed and not deactivated is checked again by the engine's retry.
    match api.member(id).await? {
        Some(after) if after.state != MemberState::Deactivated => Err(E::Unavailable(format!(
            "{} still lists member {id} right after its removal; it will be checked again",
            M::APP
        ))),
        _ => Ok(()),
    }
}

/// Takes every access of the member `id` away, keeping the account, and returns them as after;
/// a deactivated member is as they are.
///
/// Errors: `NotFound` for no such member; `Conflict` for the automation account;
/// [`Members::deactivate`]'s.
pub async fn keep_seat<M: Members + ?Sized>(api: &M, id: &str) -> R<AppMember> {
    let m = existing(api, id).await?;
    if m.state == MemberState::Deactivated {
        return Ok(m);
    }
    not_self(api.is_me(&m), "deactivate itself")?;
    api.deactivate(m).await
}

/// The member `id`.
///
/// Errors: `NotFound` ("no <app> member <id>") when there is none.
pub async fn existing<M: Members + ?Sized>(api: &M, id: &str) -> R<AppMember> {
    let m = api.member(id).await?;
    m.ok_or_else(|| E::NotFound(format!("no {} member {id}", M::APP)))
}

/// The member `id` read again after a role change ([`Members::set_role`]), who must hold exactly
/// `role` now.
///
/// Errors: `InsufficientPermission` ("<role> was not given") when they do not (the app refused
/// quietly, or the account may not give that role); `NotFound` when they are gone.
pub async fn confirmed<M: Members + ?Sized>(api: &M, id: &str, role: &str) -> R<AppMember> {
    match existing(api, id).await? {
        m if m.roles == [role] => Ok(m),
        _ => Err(E::InsufficientPermission(format!("{role} was not given"))),
    }
}

/// The roles `member` holds on the resource `id`, read through every page of its members
/// ([`Members::resource_members`]); none when they hold none. A grant or a revocation reads them
/// first, so a retried one never acts twice.
///
/// Errors: [`Members::resource_members`]'s.
pub async fn held_on<M: Members + ?Sized>(api: &M, id: &str, member: &str) -> R<Vec<String>> {
    let mut cursor = None;
    loop {
        let page = api.resource_members(id, cursor.as_deref()).await?;
        if let Some(m) = page.members.into_iter().find(|m| m.app_member_id == member) {
            return Ok(m.roles);
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => return Ok(vec![]),
        }
    }
}

/// The first of `base`, `base-2`, … `base-20` ([`candidates`]) that no member has
/// ([`Members::member`]): a username derived from an address never revives somebody else's
/// account.
///
/// Errors: `Conflict` when all are taken.
pub async fn first_unused<M: Members + ?Sized>(api: &M, base: &str) -> R<String> {
    for name in candidates(base) {
        if api.member(&name).await?.is_none() {
            return Ok(name);
        }
    }
    let why = format!("the usernames {base} to {base}-{MAX_TRIES} are all taken");
    Err(E::Conflict(why))
}

#[cfg(test)]
#[path = "builder_tests.rs"]
mod tests;
