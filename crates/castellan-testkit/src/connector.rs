//! [`FakeConnector`]: an in-memory app behind core's [`Connector`] port, with scriptable
//! failures and a log of every call; [`FakeRegistry`] hands it to the bot by connector name.
//!
//! The app keeps members (id, email, name, roles, state) in id order. Member ids are
//! `m0001`, `m0002`, … in the order of invitation (or any id given to [`FakeConnector::add`]).
//! `remove` deactivates the member (as Synapse does) unless [`FakeConnector::set_remove_deletes`]
//! asks for deletion. Listing pages by id (a keyset cursor), so pages never lose or repeat a
//! member while the set is unchanged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo, Invitation,
    MemberPage, MemberState,
};
use secrecy::{ExposeSecret, SecretString};

/// A held call ([`FakeConnector::hold`], [`FakeConnector::hold_before`]): it waits, before or
/// after the app carried it out, until [`Hold::release`]. Models a slow connector call: a
/// listing that read the app before a concurrent write landed, or a write still in flight.
#[derive(Debug, Clone, Default)]
pub struct Hold {
    arrived: Arc<tokio::sync::Notify>,
    released: Arc<tokio::sync::Notify>,
}

impl Hold {
    /// Resolves once the held call was carried out and is waiting (at once if it already is).
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets the held call return its answer (now, or as soon as it arrives).
    pub fn release(&self) {
        self.released.notify_one();
    }
}

/// A connector operation, for the call log and for aiming failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`Connector::login`].
    Login,
    /// [`Connector::verify_permissions`].
    VerifyPermissions,
    /// [`Connector::list_members`].
    ListMembers,
    /// [`Connector::get_member`].
    GetMember,
    /// [`Connector::find_by_email`].
    FindByEmail,
    /// [`Connector::invite`].
    Invite,
    /// [`Connector::update_role`].
    UpdateRole,
    /// [`Connector::remove`].
    Remove,
    /// [`Connector::adopt_session`].
    AdoptSession,
}

impl Op {
    /// Whether the operation changes the app.
    pub fn is_write(self) -> bool {
        matches!(self, Op::Invite | Op::UpdateRole | Op::Remove)
    }
}

/// One call the connector received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Which operation.
    pub op: Op,
    /// What it was about: the app member id (get, update role, remove), the email (find,
    /// invite) or the cursor (list); `None` for login and permission checks.
    pub target: Option<String>,
    /// The role asked for (invite, update role).
    pub role: Option<String>,
    /// How the call ended as far as the script goes.
    pub outcome: Outcome,
}

/// How a call ended as far as the failure script goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No scripted failure: the app answered (possibly with its own error, e.g. `NotFound`).
    Answered,
    /// A scripted failure answered instead of the app; nothing changed.
    Failed(ConnectorError),
    /// The app carried the call out, then its answer was lost: the caller got this error.
    AnswerLost(ConnectorError),
}

/// A scripted failure: the next `times` calls that match (operation and/or target) fail with
/// `error` before touching the app (or, with [`Fail::after_applying`], after). Build with
/// [`Fail::next`] or [`Fail::always`].
#[derive(Debug, Clone)]
pub struct Fail {
    op: Option<Op>,
    target: Option<String>,
    /// `None`: every matching call.
    times: Option<usize>,
    error: ConnectorError,
    after: bool,
}

impl Fail {
    /// The next `n` calls fail with `error`.
    pub fn next(n: usize, error: ConnectorError) -> Self {
        Self {
            op: None,
            target: None,
            times: Some(n),
            error,
            after: false,
        }
    }

    /// Every call fails with `error` (until [`FakeConnector::clear_failures`]).
    pub fn always(error: ConnectorError) -> Self {
        Self {
            op: None,
            target: None,
            times: None,
            error,
            after: false,
        }
    }

    /// Only calls of this operation.
    pub fn on(mut self, op: Op) -> Self {
        self.op = Some(op);
        self
    }

    /// Only calls about this member: its app member id or its email (compared lowercased).
    pub fn for_member(mut self, id_or_email: &str) -> Self {
        self.target = Some(id_or_email.to_lowercase());
        self
    }

    /// The call is carried out, then fails: the answer was lost on its way back (a timeout
    /// after the app acted). A retry then finds the change already made.
    pub fn after_applying(mut self) -> Self {
        self.after = true;
        self
    }
}

/// A transient failure (retried by the bot): `ConnectorError::Unavailable`.
pub fn transient() -> ConnectorError {
    ConnectorError::Unavailable("the fake app is down for a moment".into())
}

/// A permanent failure (not retried): `ConnectorError::Conflict`.
pub fn permanent() -> ConnectorError {
    ConnectorError::Conflict("the fake app refuses".into())
}

#[derive(Debug)]
struct App {
    members: BTreeMap<String, AppMember>,
    next_id: u64,
    calls: Vec<Call>,
    failures: Vec<Fail>,
    credentials: Option<(String, String)>,
    permitted: bool,
    page_size: usize,
    remove_deletes: bool,
    /// The error to give once the call in progress is carried out ([`Fail::after_applying`]).
    lost: Option<ConnectorError>,
    /// Calls to hold: operation, whether before the app carries it out, the hold. Each holds
    /// one call.
    holds: Vec<(Op, bool, Hold)>,
    /// What the last sign-in was given.
    seen: Option<SeenContext>,
}

impl App {
    /// The call's answer: `r`, unless a scripted failure said to lose it.
    fn answer<T>(&mut self, r: Result<T, ConnectorError>) -> Result<T, ConnectorError> {
        match self.lost.take() {
            Some(e) => Err(e),
            None => r,
        }
    }

    fn login(&mut self, ctx: &ConnectorContext) -> Result<AppSession, ConnectorError> {
        self.seen = Some(SeenContext {
            api_token: ctx.api_token.as_ref().map(|t| t.expose_secret().to_owned()),
            settings: ctx.settings.clone(),
        });
        if let Some((user, password)) = &self.credentials {
            if ctx.username != *user || ctx.password.expose_secret() != password {
                return Err(ConnectorError::BadCredentials(
                    "the fake app does not know this username and password".into(),
                ));
            }
        }
        Ok(AppSession {
            token: SecretString::from(format!("fake-session-{}", ctx.username)),
            data: serde_json::json!({}),
        })
    }

    fn verify_permissions(&self) -> Result<(), ConnectorError> {
        if self.permitted {
            Ok(())
        } else {
            Err(ConnectorError::InsufficientPermission(
                "the automation account is not an admin of the fake app".into(),
            ))
        }
    }

    fn list(&self, cursor: Option<String>) -> MemberPage {
        let from = std::ops::Bound::Excluded(cursor.unwrap_or_default());
        let mut members: Vec<AppMember> = self
            .members
            .range((from, std::ops::Bound::Unbounded))
            .map(|(_, m)| m.clone())
            .collect();
        let next = if members.len() > self.page_size {
            members.truncate(self.page_size);
            members.last().map(|m| m.app_member_id.clone())
        } else {
            None
        };
        MemberPage { members, next }
    }

    fn by_email(&self, email: &str) -> Option<AppMember> {
        let email = email.to_lowercase();
        self.members
            .values()
            .find(|m| m.email.as_deref() == Some(email.as_str()))
            .cloned()
    }

    fn invite(&mut self, inv: &Invitation) -> Result<AppMember, ConnectorError> {
        let email = inv.email.to_lowercase();
        if let Some(m) = inv
            .username
            .as_deref()
            .and_then(|u| self.members.get_mut(u))
            .filter(|m| m.state == MemberState::Deactivated)
        {
            m.state = MemberState::Active;
            m.roles = vec![inv.role.clone()];
            m.email = Some(email);
            return Ok(m.clone());
        }
        let taken = self.members.values().any(|m| {
            m.email.as_deref() == Some(email.as_str()) && m.state != MemberState::Deactivated
        });
        if taken {
            return Err(ConnectorError::Conflict(format!(
                "{email} is already a member of the fake app"
            )));
        }
        let id = format!("m{:04}", self.next_id);
        self.next_id += 1;
        let m = AppMember {
            app_member_id: id.clone(),
            email: Some(email),
            name: inv.name.clone(),
            roles: vec![inv.role.clone()],
            state: MemberState::Active,
        };
        self.members.insert(id, m.clone());
        Ok(m)
    }

    fn update_role(&mut self, id: &str, role: &str) -> Result<AppMember, ConnectorError> {
        let m = self
            .members
            .get_mut(id)
            .ok_or_else(|| ConnectorError::NotFound(id.to_owned()))?;
        m.roles = vec![role.to_owned()];
        Ok(m.clone())
    }

    fn remove(&mut self, id: &str) -> Result<(), ConnectorError> {
        let gone = || ConnectorError::NotFound(id.to_owned());
        if self.remove_deletes {
            return self.members.remove(id).map(|_| ()).ok_or_else(gone);
        }
        let m = self.members.get_mut(id).ok_or_else(gone)?;
        m.state = MemberState::Deactivated;
        Ok(())
    }
}

/// An in-memory app and its connector. Cheap to clone: clones share the app, so a test keeps
/// one handle and registers another.
#[derive(Debug, Clone)]
pub struct FakeConnector {
    pub(crate) name: String,
    roles: Vec<String>,
    default_role: String,
    /// Roles the app itself lists (`Capability::ListRoles`), when set.
    listed_roles: Option<Vec<String>>,
    sign_in: castellan_core::connector::SignIn,
    settings: Vec<castellan_core::connector::SettingField>,
    app: Arc<Mutex<App>>,
}

/// What the connector was given at its last sign-in: the API token (exposed: a fake) and the
/// hub's plain settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenContext {
    /// `ctx.api_token`, exposed.
    pub api_token: Option<String>,
    /// `ctx.settings`.
    pub settings: BTreeMap<String, String>,
}

impl FakeConnector {
    /// An empty app whose connector is called `name`, with roles `admin` and `member` (the
    /// default), any credentials accepted, permissions granted, pages of 50.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            roles: vec!["admin".into(), "member".into()],
            default_role: "member".into(),
            listed_roles: None,
            sign_in: castellan_core::connector::SignIn::Password,
            settings: castellan_core::connector::settings::self_hosted_password(),
            app: Arc::new(Mutex::new(App {
                seen: None,
                members: BTreeMap::new(),
                next_id: 1,
                calls: vec![],
                failures: vec![],
                credentials: None,
                permitted: true,
                page_size: 50,
                remove_deletes: false,
                lost: None,
                holds: vec![],
            })),
        }
    }

    /// The same app with other roles (most privileged first) and default role. Set them
    /// before registering the connector.
    pub fn with_roles(mut self, roles: &[&str], default_role: &str) -> Self {
        self.roles = roles.iter().map(|r| (*r).to_owned()).collect();
        self.default_role = default_role.to_owned();
        self
    }

    /// The same app, whose connector also reads its roles from the app
    /// (`Capability::ListRoles`): `roles`, most privileged first, e.g. custom roles beside the
    /// fixed list. Roles of both lists are accepted.
    pub fn with_listed_roles(mut self, roles: &[&str]) -> Self {
        self.listed_roles = Some(roles.iter().map(|r| (*r).to_owned()).collect());
        self
    }

    /// The same app with another sign-in and settings schema (default: password, base URL
    /// only). Set it before registering the connector.
    pub fn with_schema(
        mut self,
        sign_in: castellan_core::connector::SignIn,
        settings: Vec<castellan_core::connector::SettingField>,
    ) -> Self {
        self.sign_in = sign_in;
        self.settings = settings;
        self
    }

    /// What the connector was given at its last sign-in, if it signed in.
    pub fn seen_context(&self) -> Option<SeenContext> {
        self.lock().seen.clone()
    }

    fn lock(&self) -> MutexGuard<'_, App> {
        self.app.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds (or replaces) a member directly in the app, as someone working in the app would,
    /// without a logged call. `email` is lowercased.
    pub fn add(&self, id: &str, email: Option<&str>, role: &str, state: MemberState) -> AppMember {
        let m = AppMember {
            app_member_id: id.to_owned(),
            email: email.map(str::to_lowercase),
            name: None,
            roles: vec![role.to_owned()],
            state,
        };
        self.lock().members.insert(id.to_owned(), m.clone());
        m
    }

    /// Gives a member these roles directly in the app (no logged call); an app may give a member
    /// several. Returns whether the member exists.
    pub fn set_roles(&self, id: &str, roles: &[&str]) -> bool {
        match self.lock().members.get_mut(id) {
            Some(m) => {
                m.roles = roles.iter().map(|r| (*r).to_owned()).collect();
                true
            }
            None => false,
        }
    }

    /// Deletes a member directly in the app (no logged call). Returns whether it existed.
    pub fn delete(&self, id: &str) -> bool {
        self.lock().members.remove(id).is_some()
    }

    /// The app's members, by id.
    pub fn members(&self) -> Vec<AppMember> {
        self.lock().members.values().cloned().collect()
    }

    /// One member by id.
    pub fn member(&self, id: &str) -> Option<AppMember> {
        self.lock().members.get(id).cloned()
    }

    /// The member with this email (lowercased), if any.
    pub fn member_by_email(&self, email: &str) -> Option<AppMember> {
        self.lock().by_email(email)
    }

    /// Only this username and password sign in (`BadCredentials` otherwise).
    pub fn set_credentials(&self, username: &str, password: &str) {
        self.lock().credentials = Some((username.to_owned(), password.to_owned()));
    }

    /// Whether the automation account may manage members (`InsufficientPermission` otherwise).
    pub fn set_permitted(&self, permitted: bool) {
        self.lock().permitted = permitted;
    }

    /// Members per listed page (at least 1).
    pub fn set_page_size(&self, n: usize) {
        self.lock().page_size = n.max(1);
    }

    /// `remove` deletes the member instead of deactivating it.
    pub fn set_remove_deletes(&self, deletes: bool) {
        self.lock().remove_deletes = deletes;
    }

    /// Adds a scripted failure; rules are tried in the order added, and the first that matches
    /// a call answers it.
    pub fn fail(&self, rule: Fail) {
        self.lock().failures.push(rule);
    }

    /// Drops every scripted failure.
    pub fn clear_failures(&self) {
        self.lock().failures.clear();
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The calls of one operation, in order.
    pub fn calls_of(&self, op: Op) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.op == op)
            .cloned()
            .collect()
    }

    /// The write calls (invite, update role, remove) that reached the app (calls answered by a
    /// scripted failure before the app are left out).
    pub fn writes(&self) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.op.is_write() && !matches!(c.outcome, Outcome::Failed(_)))
            .cloned()
            .collect()
    }

    /// Holds the answer of the next call of `op` (after the app carried it out) until the
    /// returned [`Hold`] is released. Applies to listing and the writes (invite, role change,
    /// remove).
    pub fn hold(&self, op: Op) -> Hold {
        let h = Hold::default();
        self.lock().holds.push((op, false, h.clone()));
        h
    }

    /// Holds the next call of `op` before it reaches the app (a write still in flight) until
    /// the returned [`Hold`] is released. Same operations as [`FakeConnector::hold`], and
    /// sign-in ([`Op::Login`]: a slow sign-in).
    pub fn hold_before(&self, op: Op) -> Hold {
        let h = Hold::default();
        self.lock().holds.push((op, true, h.clone()));
        h
    }

    /// Waits while a [`Hold`] for `op` at this stage is pending, consuming it.
    async fn wait_if_held(&self, op: Op, before: bool) {
        let hold = {
            let mut app = self.lock();
            let i = app
                .holds
                .iter()
                .position(|(o, b, _)| *o == op && *b == before);
            i.map(|i| app.holds.remove(i).2)
        };
        if let Some(h) = hold {
            h.arrived.notify_one();
            h.released.notified().await;
        }
    }

    /// Carries out a call between its two possible holds.
    async fn held<T>(
        &self,
        op: Op,
        call: impl FnOnce() -> Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        self.wait_if_held(op, true).await;
        let r = call()?;
        self.wait_if_held(op, false).await;
        Ok(r)
    }

    /// Forgets the call log.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Logs a call and answers it with a scripted failure when one matches.
    fn enter(
        &self,
        op: Op,
        target: Option<&str>,
        role: Option<&str>,
    ) -> Result<MutexGuard<'_, App>, ConnectorError> {
        let mut app = self.lock();
        let t = target.map(str::to_lowercase);
        // A rule for a member also matches calls naming the member's id when it was given by
        // email, and the other way round.
        let aliases: Vec<String> = match &t {
            Some(t) => app
                .members
                .values()
                .filter(|m| m.app_member_id.to_lowercase() == *t || m.email.as_deref() == Some(t))
                .flat_map(|m| {
                    [Some(m.app_member_id.to_lowercase()), m.email.clone()]
                        .into_iter()
                        .flatten()
                })
                .chain(std::iter::once(t.clone()))
                .collect(),
            None => vec![],
        };
        let hit = app.failures.iter_mut().position(|f| {
            f.op.is_none_or(|o| o == op)
                && f.target.as_ref().is_none_or(|ft| aliases.contains(ft))
                && f.times != Some(0)
        });
        let outcome = match hit {
            None => Outcome::Answered,
            Some(i) => {
                let f = &mut app.failures[i];
                if let Some(n) = f.times.as_mut() {
                    *n -= 1;
                }
                if f.after {
                    Outcome::AnswerLost(f.error.clone())
                } else {
                    Outcome::Failed(f.error.clone())
                }
            }
        };
        app.calls.push(Call {
            op,
            target: target.map(str::to_owned),
            role: role.map(str::to_owned),
            outcome: outcome.clone(),
        });
        match outcome {
            Outcome::Answered => Ok(app),
            Outcome::Failed(e) => Err(e),
            Outcome::AnswerLost(e) => {
                app.lost = Some(e);
                Ok(app)
            }
        }
    }

    fn capabilities(&self) -> Vec<Capability> {
        let mut c = vec![
            Capability::ListMembers,
            Capability::Invite,
            Capability::UpdateRole,
            Capability::Remove,
        ];
        if self.listed_roles.is_some() {
            c.push(Capability::ListRoles);
        }
        c
    }

    fn check_role(&self, role: &str) -> Result<(), ConnectorError> {
        let listed = self.listed_roles.iter().flatten();
        if self.roles.iter().chain(listed).any(|r| r == role) {
            Ok(())
        } else {
            Err(ConnectorError::Configuration(format!(
                "the fake app has no role `{role}`"
            )))
        }
    }
}

#[async_trait]
impl Connector for FakeConnector {
    /// Roles `admin`, `member` (default `member`); lists, invites, updates roles, removes.
    fn describe(&self) -> ConnectorInfo {
        ConnectorInfo {
            name: self.name.clone(),
            roles: self.roles.clone(),
            capabilities: self.capabilities(),
            default_role: self.default_role.clone(),
            sign_in: self.sign_in,
            settings: self.settings.clone(),
        }
    }

    /// The listed roles (`with_listed_roles`), else the fixed ones.
    async fn list_roles(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<Vec<castellan_core::connector::AppRole>, ConnectorError> {
        let roles = self.listed_roles.as_ref().unwrap_or(&self.roles);
        Ok(roles
            .iter()
            .map(|r| castellan_core::connector::AppRole::plain(r))
            .collect())
    }

    /// `BadCredentials` when credentials were set and these differ. A
    /// [`FakeConnector::hold_before`] on [`Op::Login`] holds it before the app sees it.
    async fn login(&self, ctx: &ConnectorContext) -> Result<AppSession, ConnectorError> {
        self.wait_if_held(Op::Login, true).await;
        let mut app = self.enter(Op::Login, None, None)?;
        let r = app.login(ctx);
        app.answer(r)
    }

    /// A session made of the uploaded cookies (the token names them), as a browser
    /// connector's would be; failures through [`FakeConnector::fail`] on [`Op::AdoptSession`].
    async fn adopt_session(
        &self,
        _ctx: &ConnectorContext,
        cookies: Vec<castellan_core::connector::browser::BrowserCookie>,
    ) -> Result<AppSession, ConnectorError> {
        let mut app = self.enter(Op::AdoptSession, None, None)?;
        let names: Vec<&str> = cookies.iter().map(|c| c.name.as_str()).collect();
        let r = Ok(AppSession {
            token: SecretString::from(format!("fake-uploaded-{}", names.join(","))),
            data: serde_json::json!({}),
        });
        app.answer(r)
    }

    /// `InsufficientPermission` after [`FakeConnector::set_permitted`]`(false)`.
    async fn verify_permissions(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<(), ConnectorError> {
        let mut app = self.enter(Op::VerifyPermissions, None, None)?;
        let r = app.verify_permissions();
        app.answer(r)
    }

    /// Pages of [`FakeConnector::set_page_size`] members in id order; the cursor is the last
    /// id of the previous page.
    async fn list_members(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        cursor: Option<String>,
    ) -> Result<MemberPage, ConnectorError> {
        self.held(Op::ListMembers, || {
            let mut app = self.enter(Op::ListMembers, cursor.as_deref(), None)?;
            let page = app.list(cursor);
            app.answer(Ok(page))
        })
        .await
    }

    async fn get_member(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        app_member_id: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        let mut app = self.enter(Op::GetMember, Some(app_member_id), None)?;
        let m = app.members.get(app_member_id).cloned();
        app.answer(Ok(m))
    }

    async fn find_by_email(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        email: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        let mut app = self.enter(Op::FindByEmail, Some(email), None)?;
        let m = app.by_email(email);
        app.answer(Ok(m))
    }

    /// Reactivates the deactivated member named by `inv.username`, else creates a new member
    /// (`m0001`, …). `Conflict` when an active or invited member has the email; `Configuration`
    /// for an unknown role.
    async fn invite(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        inv: &Invitation,
    ) -> Result<AppMember, ConnectorError> {
        self.check_role(&inv.role)?;
        self.held(Op::Invite, || {
            let mut app = self.enter(Op::Invite, Some(&inv.email), Some(&inv.role))?;
            let r = app.invite(inv);
            app.answer(r)
        })
        .await
    }

    /// `NotFound` for an unknown member; `Configuration` for an unknown role.
    async fn update_role(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        app_member_id: &str,
        role: &str,
    ) -> Result<AppMember, ConnectorError> {
        self.check_role(role)?;
        self.held(Op::UpdateRole, || {
            let mut app = self.enter(Op::UpdateRole, Some(app_member_id), Some(role))?;
            let r = app.update_role(app_member_id, role);
            app.answer(r)
        })
        .await
    }

    /// Deactivates (or deletes) the member. `NotFound` for an unknown member.
    async fn remove(
        &self,
        _ctx: &ConnectorContext,
        _s: &AppSession,
        app_member_id: &str,
    ) -> Result<(), ConnectorError> {
        self.held(Op::Remove, || {
            let mut app = self.enter(Op::Remove, Some(app_member_id), None)?;
            let r = app.remove(app_member_id);
            app.answer(r)
        })
        .await
    }
}
