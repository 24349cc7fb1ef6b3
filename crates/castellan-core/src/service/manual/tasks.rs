//! Manual hubs on the [`Hubs`] capability: uploading (or typing in) the roster, the app admin's
//! tasks and marking one done; the app admin settings checked at connect; and the hub status
//! the pending tasks give after a check for updates.

use std::collections::{BTreeMap, HashMap};

use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::connector::Connector;
use crate::error::{CoreError, CoreResult};
use crate::hub::{Hub, HubId, Job, Task, Trigger};
use crate::manual::{
    due_hours, parse_roster, ManualTask, ManualTaskId, TaskState, APP_ADMIN, MANUAL,
};
use crate::model::PersonStatus;
use crate::permissions::{allows, can, Action, Permit};
use crate::ports::JobFilter;
use crate::service::hubs::unfinished;
use crate::service::manual::ManualConnector;
use crate::service::{Castellan, Hubs};
use crate::validate;

/// A task as the API, the web app and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    /// The task.
    pub task: ManualTask,
    /// Still pending past its due time (computed when read).
    pub overdue: bool,
    /// The app admin's email (`None` when the person is gone).
    pub assignee_email: Option<String>,
}

/// What a roster upload did.
#[derive(Debug, Clone)]
pub struct RosterUploaded {
    /// Members in the new roster.
    pub members: usize,
    /// The tasks the roster showed done, now verified.
    pub verified: Vec<TaskView>,
    /// The check for updates it queued (or the one already waiting).
    pub job: Job,
}

/// A task with its hub, in the app admin's own list ([`Hubs::my_tasks`]).
#[derive(Debug, Clone)]
pub struct AssignedTask {
    /// The hub.
    pub hub_id: HubId,
    /// Its label.
    pub hub_label: String,
    /// The task.
    pub view: TaskView,
}

impl Castellan {
    /// The app admin's email a manual hub names (lowercased); `None` for other hubs.
    fn app_admin_of(hub: &Hub) -> Option<String> {
        (hub.connector.as_deref() == Some(MANUAL))
            .then(|| hub.settings.get(APP_ADMIN))
            .flatten()
            .map(|e| e.trim().to_lowercase())
    }

    /// Checks a manual hub's own settings (after the schema check) and normalizes the app
    /// admin's email: `task_due_hours` is 0..=720 hours; `app_admin` names an active person
    /// whose workspace role may work on tasks (`HubTasks`). Errors: `Validation` on
    /// `settings.<key>`.
    pub(crate) async fn check_manual_settings(
        &self,
        settings: &mut BTreeMap<String, String>,
    ) -> CoreResult<()> {
        due_hours(settings)?;
        let field = format!("settings.{APP_ADMIN}");
        let given = settings.get(APP_ADMIN).cloned().unwrap_or_default();
        let email = validate::email(&field, &given)?;
        let p = self.store.person_by_email(&email).await?;
        match p {
            Some(p) if p.status == PersonStatus::Deactivated => Err(CoreError::invalid(
                field,
                format!("`{email}` is deactivated: name an active person as the app admin"),
            )),
            Some(p) if !allows(p.role, Action::HubTasks) => Err(CoreError::invalid(
                field,
                format!(
                    "`{email}` has the workspace role `{}`, which may not {}: name a person with the role user or above",
                    p.role,
                    Action::HubTasks.words()
                ),
            )),
            Some(_) => {
                settings.insert(APP_ADMIN.to_owned(), email);
                Ok(())
            }
            None => Err(CoreError::invalid(
                field,
                format!("`{email}` is not a person of the workspace: invite them first"),
            )),
        }
    }

    /// Whether `actor` may see (`manage == false`) or mark done (`true`) the tasks of `hub`:
    /// with `HubRead` / `HubManage`, or as the hub's app admin. Errors: `Forbidden`.
    async fn task_access(&self, actor: &Actor, hub: &Hub, manage: bool) -> CoreResult<()> {
        let by_role = if manage {
            actor.permit::<can::HubManage>().is_ok()
        } else {
            actor.permit::<can::HubRead>().is_ok()
        };
        if by_role {
            return Ok(());
        }
        let me = match actor.person_id {
            Some(id) => self.store.person(id).await?,
            None => None,
        };
        match (Self::app_admin_of(hub), me) {
            (Some(admin), Some(me)) if admin == me.email => Ok(()),
            _ => Err(CoreError::Forbidden(
                "only the hub's app admin, or someone who may manage business hubs, works on its tasks"
                    .into(),
            )),
        }
    }

    /// The check for updates waiting (or running) for a hub, if any.
    async fn pending_sync(&self, hub: HubId) -> CoreResult<Option<Job>> {
        Ok(self
            .store
            .jobs(&JobFilter {
                hub_id: Some(hub),
                states: Some(unfinished()),
                limit: Some(100),
            })
            .await?
            .into_iter()
            .find(|j| j.task == Task::CheckForUpdates))
    }

    /// Tasks with their overdue flag at `now` and their assignee's email.
    async fn task_views(&self, tasks: Vec<ManualTask>) -> CoreResult<Vec<TaskView>> {
        let now = self.now();
        let emails: HashMap<_, _> = self
            .store
            .people()
            .await?
            .into_iter()
            .map(|p| (p.id, p.email))
            .collect();
        Ok(tasks
            .into_iter()
            .map(|t| TaskView {
                overdue: t.is_overdue(now),
                assignee_email: emails.get(&t.assignee).cloned(),
                task: t,
            })
            .collect())
    }

    /// The reason a manual hub is not healthy while tasks wait for its app admin (how many are
    /// open, done but not yet shown by a roster, and overdue now); `None` for other hubs and
    /// when no task waits.
    pub(crate) async fn manual_status(&self, hub: &Hub) -> CoreResult<Option<String>> {
        let Some(admin) = Self::app_admin_of(hub) else {
            return Ok(None);
        };
        let now = self.now();
        let tasks = self.store.tasks(hub.id).await?;
        let count = |s: TaskState| tasks.iter().filter(|t| t.state == s).count();
        let (open, done) = (count(TaskState::Open), count(TaskState::Done));
        if open + done == 0 {
            return Ok(None);
        }
        let overdue = tasks.iter().filter(|t| t.is_overdue(now)).count();
        let mut reason = format!(
            "{} task(s) wait for the app admin {admin}: {open} open, {done} done but not yet in an uploaded roster",
            open + done
        );
        if overdue > 0 {
            reason.push_str(&format!("; {overdue} overdue"));
        }
        Ok(Some(reason))
    }
}

impl Hubs<'_> {
    /// Replaces a manual hub's roster with the members of `csv` (the format of
    /// [`crate::manual::parse_roster`], checked whole before anything is written), verifies the
    /// tasks the roster shows done, in one transaction, then queues a check for updates
    /// (trigger `manual`). Needs `HubManage`. Errors: `Validation` on `roster` naming the line;
    /// `Conflict` when the hub is not a manual one.
    pub async fn upload_roster(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        csv: &str,
    ) -> CoreResult<RosterUploaded> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        if hub.connector.as_deref() != Some(MANUAL) {
            return Err(CoreError::Conflict(
                "only a manual hub takes a roster; this one is driven by its app's connector"
                    .into(),
            ));
        }
        let app = self.app_of(&hub).await?;
        let roles = ManualConnector::new((**self).clone(), &app)
            .describe()
            .roles;
        let members = parse_roster(csv, &roles)?;
        let now = self.now();
        let ev = NewEvent::new(actor, ActivityAction::HubRosterUpload, now)
            .target("hub", hub.id, &hub.label)
            .details(serde_json::json!({ "members": members.len() }));
        let verified_ev = NewEvent::new(actor, ActivityAction::HubTaskVerified, now);
        let job = self.sync_job(hub.id, Trigger::Manual, actor, false);
        let verified = self
            .store
            .replace_roster(
                hub.id,
                &members,
                now,
                &ev,
                &verified_ev,
                std::slice::from_ref(&job),
            )
            .await?;
        let job = match self.store.job(job.id).await? {
            Some(j) => j,
            // A check already waited: it runs on the new roster.
            None => self.pending_sync(hub.id).await?.unwrap_or(job),
        };
        Ok(RosterUploaded {
            members: members.len(),
            verified: self.task_views(verified).await?,
            job,
        })
    }

    /// A hub's tasks for its app admin, newest first, each with its overdue flag (none for a
    /// hub that is not manual). Needs `HubTasks`, and `HubRead` unless the actor is the hub's
    /// app admin.
    pub async fn tasks(
        &self,
        permit: &Permit<can::HubTasks>,
        id: HubId,
    ) -> CoreResult<Vec<TaskView>> {
        let hub = self.hub_record(id).await?;
        self.task_access(permit.actor(), &hub, false).await?;
        let tasks = self.store.tasks(id).await?;
        self.task_views(tasks).await
    }

    /// The tasks of every manual hub whose app admin the actor is: pending ones first (oldest
    /// due first), then the others, newest first. Needs `HubTasks`.
    pub async fn my_tasks(&self, permit: &Permit<can::HubTasks>) -> CoreResult<Vec<AssignedTask>> {
        let Some(me) = permit.actor().person_id else {
            return Ok(vec![]);
        };
        let Some(me) = self.store.person(me).await? else {
            return Ok(vec![]);
        };
        let mut out = vec![];
        for hub in self.store.hubs().await? {
            if Castellan::app_admin_of(&hub).as_deref() != Some(me.email.as_str()) {
                continue;
            }
            let tasks = self.store.tasks(hub.id).await?;
            for view in self.task_views(tasks).await? {
                out.push(AssignedTask {
                    hub_id: hub.id,
                    hub_label: hub.label.clone(),
                    view,
                });
            }
        }
        out.sort_by(|a, b| {
            let key = |t: &AssignedTask| (!t.view.task.is_pending(), t.view.task.due_at);
            let (ka, kb) = (key(a), key(b));
            match ka.0.cmp(&kb.0) {
                std::cmp::Ordering::Equal if !ka.0 => ka.1.cmp(&kb.1),
                std::cmp::Ordering::Equal => b.view.task.created_at.cmp(&a.view.task.created_at),
                o => o,
            }
        });
        Ok(out)
    }

    /// Marks a task done (the app admin made the change in the app); the next roster upload
    /// verifies it. Marking a task already done again changes nothing. Needs `HubTasks`, and
    /// `HubManage` unless the actor is the hub's app admin. Errors: `NotFound` (hub or task),
    /// `Conflict` when the task is verified or cancelled.
    pub async fn mark_task_done(
        &self,
        permit: &Permit<can::HubTasks>,
        id: HubId,
        task: ManualTaskId,
    ) -> CoreResult<TaskView> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        self.task_access(actor, &hub, true).await?;
        let person = actor
            .person_id
            .ok_or_else(|| CoreError::Forbidden("only a person marks a task done".into()))?;
        let now = self.now();
        let ev = NewEvent::new(actor, ActivityAction::HubTaskDone, now);
        let done = self
            .store
            .mark_task_done(id, task, person, now, &ev)
            .await?;
        self.task_views(vec![done])
            .await?
            .pop()
            .ok_or_else(|| CoreError::internal("a marked task vanished"))
    }
}
