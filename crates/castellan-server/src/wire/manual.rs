//! Wire types of manual hubs: the app admin's tasks and what a roster upload did.

use castellan_core::hub::HubId;
use castellan_core::ids::PersonId;
use castellan_core::manual::ManualTaskId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Job;

/// What a task asks the app admin to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Invite the person into the app with the role.
    Invite,
    /// Give the member the role.
    UpdateRole,
    /// Remove (or deactivate) the member.
    Remove,
}

impl From<castellan_core::manual::TaskKind> for TaskKind {
    fn from(v: castellan_core::manual::TaskKind) -> Self {
        match v {
            castellan_core::manual::TaskKind::Invite => Self::Invite,
            castellan_core::manual::TaskKind::UpdateRole => Self::UpdateRole,
            castellan_core::manual::TaskKind::Remove => Self::Remove,
        }
    }
}

impl From<TaskKind> for castellan_core::manual::TaskKind {
    fn from(v: TaskKind) -> Self {
        match v {
            TaskKind::Invite => Self::Invite,
            TaskKind::UpdateRole => Self::UpdateRole,
            TaskKind::Remove => Self::Remove,
        }
    }
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for the app admin.
    Open,
    /// The app admin says it is done; the next roster will tell.
    Done,
    /// A roster showed the change made.
    Verified,
    /// No longer wanted (a grant changed since).
    Cancelled,
}

impl From<castellan_core::manual::TaskState> for TaskState {
    fn from(v: castellan_core::manual::TaskState) -> Self {
        match v {
            castellan_core::manual::TaskState::Open => Self::Open,
            castellan_core::manual::TaskState::Done => Self::Done,
            castellan_core::manual::TaskState::Verified => Self::Verified,
            castellan_core::manual::TaskState::Cancelled => Self::Cancelled,
        }
    }
}

impl From<TaskState> for castellan_core::manual::TaskState {
    fn from(v: TaskState) -> Self {
        match v {
            TaskState::Open => Self::Open,
            TaskState::Done => Self::Done,
            TaskState::Verified => Self::Verified,
            TaskState::Cancelled => Self::Cancelled,
        }
    }
}

/// A task for a manual hub's app admin.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ManualTask {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: ManualTaskId,
    /// The hub.
    #[schema(value_type = String, format = Uuid)]
    pub hub_id: HubId,
    /// What to do.
    pub kind: TaskKind,
    /// The member in the app (role changes and removals).
    pub app_member_id: Option<String>,
    /// The person's or member's email.
    pub email: String,
    /// The role to give (invitations and role changes).
    pub role: Option<String>,
    /// The app admin who does it.
    #[schema(value_type = String, format = Uuid)]
    pub assignee: PersonId,
    /// The app admin's email (absent when the person is gone).
    pub assignee_email: Option<String>,
    /// Where it stands.
    pub state: TaskState,
    /// Still open or done-but-unverified past `due_at` (computed when read).
    pub overdue: bool,
    /// Overdue after this instant.
    pub due_at: DateTime<Utc>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When the app admin marked it done.
    pub done_at: Option<DateTime<Utc>>,
    /// Who marked it done.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub done_by: Option<PersonId>,
    /// When a roster verified it.
    pub verified_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<castellan_core::service::TaskView> for ManualTask {
    fn from(v: castellan_core::service::TaskView) -> Self {
        let t = v.task;
        Self {
            id: t.id,
            hub_id: t.hub_id,
            kind: t.kind.into(),
            app_member_id: t.app_member_id,
            email: t.email,
            role: t.role,
            assignee: t.assignee,
            assignee_email: v.assignee_email,
            state: t.state.into(),
            overdue: v.overdue,
            due_at: t.due_at,
            created_at: t.created_at,
            done_at: t.done_at,
            done_by: t.done_by,
            verified_at: t.verified_at,
            cancelled_at: t.cancelled_at,
        }
    }
}

/// What a roster upload did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RosterUploaded {
    /// Members in the new roster.
    pub members: usize,
    /// The tasks the roster showed done, now verified.
    pub verified: Vec<ManualTask>,
    /// The check for updates it queued (or the one already waiting).
    pub job: Job,
}

impl From<castellan_core::service::RosterUploaded> for RosterUploaded {
    fn from(v: castellan_core::service::RosterUploaded) -> Self {
        Self {
            members: v.members,
            verified: super::list(v.verified),
            job: v.job.into(),
        }
    }
}

/// A task with its hub, in the app admin's own list (`GET /api/v1/tasks`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssignedTask {
    /// The hub's label.
    pub hub_label: String,
    /// The task.
    #[serde(flatten)]
    pub task: ManualTask,
}

impl From<castellan_core::service::AssignedTask> for AssignedTask {
    fn from(v: castellan_core::service::AssignedTask) -> Self {
        Self {
            hub_label: v.hub_label,
            task: v.view.into(),
        }
    }
}
