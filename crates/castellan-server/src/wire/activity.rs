//! Wire types of the activity log and its chain check.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person (through the API, CLI or web app).
    Person,
    /// The bot.
    Bot,
    /// Castellan itself or a host-local command (`init`, `keys rotate`).
    System,
    /// Someone not signed in (a failed sign-in, claiming the workspace).
    Anonymous,
}

impl From<castellan_core::activity::ActorKind> for ActorKind {
    fn from(v: castellan_core::activity::ActorKind) -> Self {
        match v {
            castellan_core::activity::ActorKind::Person => Self::Person,
            castellan_core::activity::ActorKind::Bot => Self::Bot,
            castellan_core::activity::ActorKind::System => Self::System,
            castellan_core::activity::ActorKind::Anonymous => Self::Anonymous,
        }
    }
}

impl From<ActorKind> for castellan_core::activity::ActorKind {
    fn from(v: ActorKind) -> Self {
        match v {
            ActorKind::Person => Self::Person,
            ActorKind::Bot => Self::Bot,
            ActorKind::System => Self::System,
            ActorKind::Anonymous => Self::Anonymous,
        }
    }
}

/// An event as stored and listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActivityEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Id.
    pub id: String,
    /// Time (RFC 3339, millisecond precision).
    pub at: DateTime<Utc>,
    /// Actor kind.
    pub actor_kind: ActorKind,
    /// Actor person id.
    pub actor_id: Option<String>,
    /// Actor display.
    pub actor_name: String,
    /// Token used.
    pub token_id: Option<String>,
    /// Action.
    pub action: String,
    /// Target kind.
    pub target_kind: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// Target label.
    pub target_label: Option<String>,
    /// Source IP.
    pub source_ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Details (JSON object text).
    pub details: String,
    /// Previous event's hash (hex SHA-256).
    pub prev_hash: String,
    /// This event's hash (hex SHA-256).
    pub hash: String,
}

impl From<castellan_core::activity::ActivityEvent> for ActivityEvent {
    fn from(v: castellan_core::activity::ActivityEvent) -> Self {
        Self {
            seq: v.seq,
            id: v.id,
            at: v.at,
            actor_kind: v.actor_kind.into(),
            actor_id: v.actor_id,
            actor_name: v.actor_name,
            token_id: v.token_id,
            action: v.action,
            target_kind: v.target_kind,
            target_id: v.target_id,
            target_label: v.target_label,
            source_ip: v.source_ip,
            user_agent: v.user_agent,
            details: v.details,
            prev_hash: v.prev_hash,
            hash: v.hash,
        }
    }
}

/// One break found by [`verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainProblem {
    /// The sequence number where the chain breaks.
    pub seq: i64,
    /// What is wrong there.
    pub problem: String,
}

impl From<castellan_core::activity::ChainProblem> for ChainProblem {
    fn from(v: castellan_core::activity::ChainProblem) -> Self {
        Self {
            seq: v.seq,
            problem: v.problem,
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainReport {
    /// Events checked.
    pub checked: i64,
    /// `true` when no problem was found.
    pub intact: bool,
    /// Every break, in order.
    pub problems: Vec<ChainProblem>,
}

impl From<castellan_core::activity::ChainReport> for ChainReport {
    fn from(v: castellan_core::activity::ChainReport) -> Self {
        Self {
            checked: v.checked,
            intact: v.intact,
            problems: v.problems.into_iter().map(Into::into).collect(),
        }
    }
}
