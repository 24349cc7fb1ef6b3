//! Wire types of teams and their grants on hubs.

use castellan_core::hub::HubId;
use castellan_core::ids::PersonId;
use castellan_core::team::TeamId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::HubRole;

/// Who keeps a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TeamKind {
    /// Admins edit it in Castellan.
    Managed,
    /// The identity provider keeps it over SCIM (`/scim/v2/Groups`); read-only in Castellan.
    Idp,
}

impl From<castellan_core::team::TeamKind> for TeamKind {
    fn from(v: castellan_core::team::TeamKind) -> Self {
        match v {
            castellan_core::team::TeamKind::Managed => Self::Managed,
            castellan_core::team::TeamKind::Idp => Self::Idp,
        }
    }
}

/// A team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Team {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: TeamId,
    /// Name, unique case-insensitively.
    pub name: String,
    /// Who keeps it.
    pub kind: TeamKind,
    /// The identity provider's id for the group (SCIM `externalId`).
    pub external_id: Option<String>,
    /// Row version (one more with every change).
    pub version: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<castellan_core::team::Team> for Team {
    fn from(v: castellan_core::team::Team) -> Self {
        Self {
            id: v.id,
            name: v.name,
            kind: v.kind.into(),
            external_id: v.external_id,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// A team with its members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamView {
    /// The team.
    #[serde(flatten)]
    pub team: Team,
    /// Its members' person ids, ordered.
    #[schema(value_type = Vec<String>)]
    pub members: Vec<PersonId>,
}

impl From<castellan_core::service::TeamView> for TeamView {
    fn from(v: castellan_core::service::TeamView) -> Self {
        Self {
            team: v.team.into(),
            members: v.members,
        }
    }
}

/// A self-managed team: its name and members (a full replacement on `PUT`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// Name (1 to 200 characters, unique case-insensitively).
    pub name: String,
    /// Members' person ids (repeats count once; at most 50,000).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub members: Vec<PersonId>,
}

impl From<TeamInput> for castellan_core::service::TeamInput {
    fn from(v: TeamInput) -> Self {
        Self {
            name: v.name,
            external_id: None,
            members: v.members,
        }
    }
}

/// A team's grant on a hub: each member gets these roles unless a grant of their own or
/// another team's ranks higher.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamGrant {
    /// The hub.
    #[schema(value_type = String, format = Uuid)]
    pub hub_id: HubId,
    /// The team.
    #[schema(value_type = String, format = Uuid)]
    pub team_id: TeamId,
    /// The team's name.
    pub team_name: String,
    /// Hub role of each member.
    pub hub_role: HubRole,
    /// App role of each member.
    pub app_role: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<(HubId, castellan_core::team::TeamGrant)> for TeamGrant {
    fn from((hub_id, g): (HubId, castellan_core::team::TeamGrant)) -> Self {
        Self {
            hub_id,
            team_id: g.team_id,
            team_name: g.team_name,
            hub_role: g.hub_role.into(),
            app_role: g.app_role,
            updated_at: g.updated_at,
        }
    }
}

/// Giving a team a hub (or changing its roles there).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareHubWithTeam {
    /// Hub role of each member: `manager` or `collaborator` (default).
    #[serde(default)]
    pub hub_role: Option<HubRole>,
    /// App role of each member (default: the hub's default role).
    #[serde(default)]
    pub app_role: Option<String>,
}
