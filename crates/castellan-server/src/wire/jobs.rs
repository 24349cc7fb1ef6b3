//! Wire types of the bot's jobs (the automation log).

use castellan_core::hub::{HubId, JobId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The bot's tasks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Sync members and roles, write a report, plan changes.
    CheckForUpdates,
    /// Invite a member.
    InviteMember,
    /// Change a member's app role.
    UpdateMemberRole,
    /// Remove (or deactivate) a member.
    RemoveMember,
}

impl From<castellan_core::hub::Task> for Task {
    fn from(v: castellan_core::hub::Task) -> Self {
        match v {
            castellan_core::hub::Task::CheckForUpdates => Self::CheckForUpdates,
            castellan_core::hub::Task::InviteMember => Self::InviteMember,
            castellan_core::hub::Task::UpdateMemberRole => Self::UpdateMemberRole,
            castellan_core::hub::Task::RemoveMember => Self::RemoveMember,
        }
    }
}

impl From<Task> for castellan_core::hub::Task {
    fn from(v: Task) -> Self {
        match v {
            Task::CheckForUpdates => Self::CheckForUpdates,
            Task::InviteMember => Self::InviteMember,
            Task::UpdateMemberRole => Self::UpdateMemberRole,
            Task::RemoveMember => Self::RemoveMember,
        }
    }
}

/// Job states.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Claimed by a worker.
    Started,
    /// Talking to the app.
    Running,
    /// Failed with a retryable error; waits for `run_at`.
    Retrying,
    /// Stopped at something only a person can get past (see `attention`): waits for a session
    /// upload or a retry.
    NeedsAttention,
    /// Gave up, failed permanently or was cancelled.
    NotCompleted,
    /// Done.
    Completed,
}

impl From<castellan_core::hub::JobState> for JobState {
    fn from(v: castellan_core::hub::JobState) -> Self {
        match v {
            castellan_core::hub::JobState::Queued => Self::Queued,
            castellan_core::hub::JobState::Started => Self::Started,
            castellan_core::hub::JobState::Running => Self::Running,
            castellan_core::hub::JobState::Retrying => Self::Retrying,
            castellan_core::hub::JobState::NeedsAttention => Self::NeedsAttention,
            castellan_core::hub::JobState::NotCompleted => Self::NotCompleted,
            castellan_core::hub::JobState::Completed => Self::Completed,
        }
    }
}

impl From<JobState> for castellan_core::hub::JobState {
    fn from(v: JobState) -> Self {
        match v {
            JobState::Queued => Self::Queued,
            JobState::Started => Self::Started,
            JobState::Running => Self::Running,
            JobState::Retrying => Self::Retrying,
            JobState::NeedsAttention => Self::NeedsAttention,
            JobState::NotCompleted => Self::NotCompleted,
            JobState::Completed => Self::Completed,
        }
    }
}

/// What made a job.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An admin clicked or ran a command.
    Manual,
    /// The hub's schedule.
    Schedule,
    /// A grant changed (share, role change, revoke, deactivation).
    GrantChange,
    /// An API client.
    Api,
    /// Connecting the hub.
    Connect,
}

impl From<castellan_core::hub::Trigger> for Trigger {
    fn from(v: castellan_core::hub::Trigger) -> Self {
        match v {
            castellan_core::hub::Trigger::Manual => Self::Manual,
            castellan_core::hub::Trigger::Schedule => Self::Schedule,
            castellan_core::hub::Trigger::GrantChange => Self::GrantChange,
            castellan_core::hub::Trigger::Api => Self::Api,
            castellan_core::hub::Trigger::Connect => Self::Connect,
        }
    }
}

impl From<Trigger> for castellan_core::hub::Trigger {
    fn from(v: Trigger) -> Self {
        match v {
            Trigger::Manual => Self::Manual,
            Trigger::Schedule => Self::Schedule,
            Trigger::GrantChange => Self::GrantChange,
            Trigger::Api => Self::Api,
            Trigger::Connect => Self::Connect,
        }
    }
}

/// One run of a task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Job {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: JobId,
    /// The hub.
    #[schema(value_type = String, format = Uuid)]
    pub hub_id: HubId,
    /// Task.
    pub task: Task,
    /// State.
    pub state: JobState,
    /// What made it.
    pub trigger: Trigger,
    /// Who asked (email, or `bot`/`schedule`).
    pub actor: String,
    /// Target: person email or app member id.
    pub target: Option<String>,
    /// Task parameters (person id, email, role, confirm flag).
    pub params: serde_json::Value,
    /// Attempts so far.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Not before.
    pub run_at: DateTime<Utc>,
    /// Worker holding it.
    pub worker_id: Option<String>,
    /// Lease end; a job whose worker died is taken up again after it.
    pub lease_until: Option<DateTime<Utc>>,
    /// Progress text while running.
    pub progress: Option<String>,
    /// At most one unfinished job per key (e.g. `invite:<hub>:<person>`); `None` = no dedupe.
    pub dedupe_key: Option<String>,
    /// Error, when not completed or retrying.
    pub error: Option<String>,
    /// Why a person is needed, when the state is `needs_attention`.
    pub attention: Option<Attention>,
    /// The automation log's words for `attention`: "Captcha resolution required" or
    /// "Unexpected page".
    pub attention_label: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Why a job needs a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// A captcha, a consent or another check only a person can pass.
    Challenge,
    /// A page (or an answer) the connector does not know.
    UnexpectedPage,
}

impl From<castellan_core::hub::Attention> for Attention {
    fn from(v: castellan_core::hub::Attention) -> Self {
        match v {
            castellan_core::hub::Attention::Challenge => Self::Challenge,
            castellan_core::hub::Attention::UnexpectedPage => Self::UnexpectedPage,
        }
    }
}

/// One step of a job's record: what the bot did and the URL it ended on; the screenshot is at
/// `GET /api/v1/jobs/{id}/steps/{seq}/screenshot` while `screenshot` is true.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobStep {
    /// Its place in the job's record, from 1.
    pub seq: i64,
    /// The attempt that took it.
    pub attempt: i32,
    /// When.
    pub at: DateTime<Utc>,
    /// What it did, e.g. `visit /wp-admin/users.php`.
    pub what: String,
    /// The URL the page showed after it.
    pub url: String,
    /// Why it failed, for the failing step.
    pub error: Option<String>,
    /// Whether a screenshot is kept (a completed job's are dropped).
    pub screenshot: bool,
}

impl From<castellan_core::connector::steps::JobStep> for JobStep {
    fn from(v: castellan_core::connector::steps::JobStep) -> Self {
        Self {
            seq: v.seq,
            attempt: v.attempt,
            at: v.at,
            what: v.what,
            url: v.url,
            error: v.error,
            screenshot: v.screenshot,
        }
    }
}

impl From<castellan_core::hub::Job> for Job {
    fn from(v: castellan_core::hub::Job) -> Self {
        Self {
            id: v.id,
            hub_id: v.hub_id,
            task: v.task.into(),
            state: v.state.into(),
            trigger: v.trigger.into(),
            actor: v.actor,
            target: v.target,
            params: serde_json::to_value(&v.params).unwrap_or(serde_json::Value::Null),
            attempts: v.attempts,
            max_attempts: v.max_attempts,
            run_at: v.run_at,
            worker_id: v.worker_id,
            lease_until: v.lease_until,
            progress: v.progress,
            dedupe_key: v.dedupe_key,
            error: v.error,
            attention: v.attention.map(Into::into),
            attention_label: v.attention.map(|a| a.label().to_owned()),
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// A session export to upload.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionExport {
    /// The cookies, as text: a JSON array as browser extensions export it (Cookie-Editor,
    /// EditThisCookie) or a Netscape `cookies.txt`. At most 256 KiB.
    pub cookies: String,
}

/// What a session upload did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionUpload {
    /// Cookies kept (those for the hub's host, still valid).
    pub cookies: usize,
    /// The jobs that needed attention, queued again.
    #[schema(value_type = Vec<String>)]
    pub requeued: Vec<JobId>,
}

impl From<castellan_core::service::SessionUpload> for SessionUpload {
    fn from(v: castellan_core::service::SessionUpload) -> Self {
        Self {
            cookies: v.cookies,
            requeued: v.requeued,
        }
    }
}
