//! [`ManualConnector`]: the connector of manual hubs. It talks to no app: it lists the hub's
//! roster with its pending tasks applied ([`crate::manual::project`]) and turns every write into
//! a task for the hub's app admin ([`crate::ports::ManualStore::open_task`], idempotent).

use async_trait::async_trait;
use secrecy::SecretString;

use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::catalog::{App, Capability};
use crate::connector::settings::BASE_URL;
use crate::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo, Invitation,
    MemberPage, SettingField, SettingKind, SignIn,
};
use crate::desired::{step, Desired, Step};
use crate::error::CoreError;
use crate::hub::HubId;
use crate::ids::PersonId;
use crate::manual::{
    due_at, due_hours, project, ManualTask, ManualTaskId, RosterMember, TaskKind, TaskState,
    APP_ADMIN, MANUAL, MAX_TASK_DUE_HOURS, TASK_DUE_HOURS,
};
use crate::model::PersonStatus;
use crate::service::Castellan;

/// Members per page of [`Connector::list_members`].
const PAGE: usize = 500;

/// The manual connector for one catalog app: its roles are the app's catalog roles (`member`
/// when the catalog lists none). Made by [`Castellan::hub_connector`] for hubs whose connector
/// is `manual`; it needs the call's [`ConnectorContext::hub_id`].
#[derive(Debug, Clone)]
pub struct ManualConnector {
    svc: Castellan,
    roles: Vec<String>,
}

/// A store error as the bot sees it from a connector: the store being away is retryable
/// (`Unavailable`), a missing hub, app admin or setting is the hub's configuration.
fn from_core(e: CoreError) -> ConnectorError {
    match e {
        CoreError::Unavailable(_) | CoreError::Overloaded { .. } | CoreError::Internal(_) => {
            ConnectorError::Unavailable("Castellan's store could not be reached".into())
        }
        other => ConnectorError::Configuration(other.to_string()),
    }
}

impl ManualConnector {
    /// The manual connector for hubs on `app`.
    pub fn new(svc: Castellan, app: &App) -> Self {
        let roles = if app.roles.is_empty() {
            vec!["member".to_owned()]
        } else {
            app.roles.clone()
        };
        Self { svc, roles }
    }

    /// The settings a manual hub needs: an optional base URL, the app admin (required) and the
    /// hours a task has before it is overdue.
    pub fn settings() -> Vec<SettingField> {
        vec![
            SettingField::new(BASE_URL, "Base URL", SettingKind::Url, false)
                .help("Where the app admin manages the app's members (optional)."),
            SettingField::new(APP_ADMIN, "App admin", SettingKind::Text, true).help(
                "The email of the workspace person who invites, changes and removes members in the app and marks the tasks done.",
            ),
            SettingField::new(TASK_DUE_HOURS, "Task due in (hours)", SettingKind::Text, false)
                .help(&format!(
                    "Hours the app admin has for a task before it is flagged overdue: 0 to {MAX_TASK_DUE_HOURS} (default 72)."
                )),
        ]
    }

    fn hub(ctx: &ConnectorContext) -> Result<HubId, ConnectorError> {
        ctx.hub_id.ok_or_else(|| {
            ConnectorError::Configuration("the manual connector runs only for a hub".into())
        })
    }

    /// The roster and every task of the call's hub.
    async fn state(
        &self,
        ctx: &ConnectorContext,
    ) -> Result<(Vec<RosterMember>, Vec<ManualTask>), ConnectorError> {
        let hub = Self::hub(ctx)?;
        let roster = self.svc.store.roster(hub).await.map_err(from_core)?;
        let tasks = self.svc.store.tasks(hub).await.map_err(from_core)?;
        Ok((roster, tasks))
    }

    /// The member `id` (or, without one, `email`) as listed: the roster with the pending tasks.
    async fn projected(
        &self,
        ctx: &ConnectorContext,
        id: Option<&str>,
        email: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        let (roster, tasks) = self.state(ctx).await?;
        let all = project(&roster, &tasks);
        let m = match id {
            Some(id) => all.iter().find(|m| m.app_member_id == id),
            None => all.iter().find(|m| m.email == email),
        };
        Ok(m.map(RosterMember::as_app_member))
    }

    /// The app admin named by the hub's settings, who must be an active person.
    async fn app_admin(&self, ctx: &ConnectorContext) -> Result<PersonId, ConnectorError> {
        let email = ctx.setting(APP_ADMIN).ok_or_else(|| {
            ConnectorError::Configuration("the hub names no app admin (`app_admin`)".into())
        })?;
        let p = self
            .svc
            .store
            .person_by_email(&email.to_lowercase())
            .await
            .map_err(from_core)?;
        match p {
            Some(p) if p.status != PersonStatus::Deactivated => Ok(p.id),
            _ => Err(ConnectorError::Configuration(format!(
                "the app admin `{email}` is not an active person of the workspace: name another in the hub's settings"
            ))),
        }
    }

    /// Opens (or finds) the task for the app admin.
    async fn open(
        &self,
        ctx: &ConnectorContext,
        kind: TaskKind,
        app_member_id: Option<String>,
        email: &str,
        role: Option<String>,
    ) -> Result<ManualTask, ConnectorError> {
        let hub = Self::hub(ctx)?;
        let assignee = self.app_admin(ctx).await?;
        let hours = due_hours(&ctx.settings).map_err(from_core)?;
        let now = self.svc.now();
        let task = ManualTask {
            id: ManualTaskId::new(),
            hub_id: hub,
            kind,
            app_member_id,
            email: email.to_lowercase(),
            role,
            assignee,
            state: TaskState::Open,
            due_at: due_at(now, hours),
            created_at: now,
            done_at: None,
            done_by: None,
            verified_at: None,
            cancelled_at: None,
        };
        let bot = Actor::bot("bot (manual connector)");
        let ev = NewEvent::new(&bot, ActivityAction::HubTaskOpen, now);
        let cancelled = NewEvent::new(&bot, ActivityAction::HubTaskCancel, now);
        self.svc
            .store
            .open_task(&task, &ev, &cancelled)
            .await
            .map_err(from_core)
    }

    /// Cancels the pending tasks for `email`: the roster already shows what they asked for, or
    /// an invitation nobody sent yet is no longer wanted.
    async fn cancel_for(
        &self,
        ctx: &ConnectorContext,
        tasks: &[ManualTask],
        email: &str,
    ) -> Result<(), ConnectorError> {
        let ids: Vec<ManualTaskId> = tasks
            .iter()
            .filter(|t| t.is_pending() && t.email == email)
            .map(|t| t.id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let now = self.svc.now();
        let ev = NewEvent::new(
            &Actor::bot("bot (manual connector)"),
            ActivityAction::HubTaskCancel,
            now,
        );
        self.svc
            .store
            .cancel_tasks(Self::hub(ctx)?, &ids, now, &ev)
            .await
            .map_err(from_core)?;
        Ok(())
    }
}

/// Whether `m` already is an active (or invited) member holding `role`.
fn has_role(m: &RosterMember, role: &str) -> bool {
    let want = Desired::Member {
        role: role.to_owned(),
    };
    step(
        &want,
        Some(crate::desired::Seen {
            state: m.state,
            roles: &m.roles,
        }),
    ) == Step::Nothing
}

#[async_trait]
impl Connector for ManualConnector {
    fn describe(&self) -> ConnectorInfo {
        let default_role = if self.roles.iter().any(|r| r == "member") {
            "member".to_owned()
        } else {
            self.roles
                .last()
                .cloned()
                .unwrap_or_else(|| "member".into())
        };
        ConnectorInfo {
            name: MANUAL.into(),
            roles: self.roles.clone(),
            capabilities: vec![
                Capability::ListMembers,
                Capability::Invite,
                Capability::UpdateRole,
                Capability::Remove,
            ],
            default_role,
            sign_in: SignIn::Password,
            settings: Self::settings(),
        }
    }

    /// No app to sign in to: an empty session.
    async fn login(&self, ctx: &ConnectorContext) -> Result<AppSession, ConnectorError> {
        Self::hub(ctx)?;
        Ok(AppSession {
            token: SecretString::from(String::new()),
            data: serde_json::Value::Null,
        })
    }

    /// The app admin must still be an active person (`Configuration` otherwise).
    async fn verify_permissions(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
    ) -> Result<(), ConnectorError> {
        self.app_admin(ctx).await.map(drop)
    }

    async fn list_members(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        cursor: Option<String>,
    ) -> Result<MemberPage, ConnectorError> {
        let from: usize = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| {
                ConnectorError::Configuration(format!("`{c}` is not a roster page cursor"))
            })?,
        };
        let (roster, tasks) = self.state(ctx).await?;
        let all = project(&roster, &tasks);
        let end = (from + PAGE).min(all.len());
        Ok(MemberPage {
            members: all
                .get(from..end)
                .unwrap_or_default()
                .iter()
                .map(RosterMember::as_app_member)
                .collect(),
            next: (end < all.len()).then(|| end.to_string()),
        })
    }

    async fn get_member(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        app_member_id: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        self.projected(ctx, Some(app_member_id), "").await
    }

    async fn find_by_email(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        email: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        self.projected(ctx, None, &email.trim().to_lowercase())
            .await
    }

    /// An invitation task (reviving the member `inv.username` when the roster has them); the
    /// member as listed afterwards (`invited`). When the roster already shows the member with
    /// the role, pending tasks for them are cancelled instead.
    async fn invite(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        inv: &Invitation,
    ) -> Result<AppMember, ConnectorError> {
        if !self.roles.contains(&inv.role) {
            return Err(ConnectorError::Configuration(format!(
                "`{}` is not one of the app's roles",
                inv.role
            )));
        }
        let (roster, tasks) = self.state(ctx).await?;
        let email = inv.email.trim().to_lowercase();
        let m = inv
            .username
            .as_ref()
            .and_then(|id| roster.iter().find(|m| &m.app_member_id == id))
            .or_else(|| roster.iter().find(|m| m.email == email));
        if let Some(m) = m.filter(|m| has_role(m, &inv.role)) {
            self.cancel_for(ctx, &tasks, &m.email).await?;
            return Ok(m.as_app_member());
        }
        let email = m.map_or(email, |m| m.email.clone());
        let id = m.map(|m| m.app_member_id.clone());
        self.open(
            ctx,
            TaskKind::Invite,
            id.clone(),
            &email,
            Some(inv.role.clone()),
        )
        .await?;
        self.projected(ctx, id.as_deref(), &email)
            .await?
            .ok_or_else(|| ConnectorError::AppChanged("the invited member is not listed".into()))
    }

    /// A role-change task (or, for a member only invited by a task not yet done, a new role on
    /// that invitation). `NotFound` when nobody has the id.
    async fn update_role(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        app_member_id: &str,
        role: &str,
    ) -> Result<AppMember, ConnectorError> {
        if !self.roles.iter().any(|r| r == role) {
            return Err(ConnectorError::Configuration(format!(
                "`{role}` is not one of the app's roles"
            )));
        }
        let (roster, tasks) = self.state(ctx).await?;
        let role = Some(role.to_owned());
        match roster.iter().find(|m| m.app_member_id == app_member_id) {
            Some(m) if role.as_deref().is_some_and(|r| has_role(m, r)) => {
                self.cancel_for(ctx, &tasks, &m.email).await?;
            }
            Some(m) => {
                let id = Some(m.app_member_id.clone());
                self.open(ctx, TaskKind::UpdateRole, id, &m.email, role)
                    .await?;
            }
            None => {
                // Listed only through a pending invitation (its id is the email): an open one
                // takes the new role; one the app admin already sent needs a role change.
                let pending = tasks.iter().find(|t| {
                    t.is_pending()
                        && t.kind != TaskKind::Remove
                        && t.app_member_id.is_none()
                        && t.email == app_member_id
                });
                let kind = match pending.map(|t| (t.kind, t.state)) {
                    Some((TaskKind::Invite, TaskState::Open)) => TaskKind::Invite,
                    Some(_) => TaskKind::UpdateRole,
                    None => return Err(ConnectorError::NotFound(app_member_id.to_owned())),
                };
                self.open(ctx, kind, None, app_member_id, role).await?;
            }
        }
        self.projected(ctx, Some(app_member_id), "")
            .await?
            .ok_or_else(|| ConnectorError::NotFound(app_member_id.to_owned()))
    }

    /// A removal task; a member the roster does not show (or shows deactivated) needs none:
    /// an invitation not yet sent is cancelled, one the app admin already sent gets a removal.
    async fn remove(
        &self,
        ctx: &ConnectorContext,
        _s: &AppSession,
        app_member_id: &str,
    ) -> Result<(), ConnectorError> {
        let (roster, tasks) = self.state(ctx).await?;
        match roster.iter().find(|m| m.app_member_id == app_member_id) {
            Some(m) if m.state != crate::connector::MemberState::Deactivated => {
                let id = Some(m.app_member_id.clone());
                self.open(ctx, TaskKind::Remove, id, &m.email, None).await?;
            }
            Some(m) => self.cancel_for(ctx, &tasks, &m.email).await?,
            None => {
                // An invitation counts as sent once marked done (a role change of a member
                // the roster does not show yet exists only after that).
                let sent = tasks.iter().any(|t| {
                    t.is_pending()
                        && t.email == app_member_id
                        && (t.state == TaskState::Done || t.kind == TaskKind::UpdateRole)
                });
                if sent {
                    self.open(ctx, TaskKind::Remove, None, app_member_id, None)
                        .await?;
                } else {
                    self.cancel_for(ctx, &tasks, app_member_id).await?;
                }
            }
        }
        Ok(())
    }
}
