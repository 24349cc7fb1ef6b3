//! The port of teams ([`crate::team`]): teams, their members and their grants on hubs.

use async_trait::async_trait;

use crate::activity::NewEvent;
use crate::error::CoreResult;
use crate::hub::{Grant, HubId, HubRole, Job};
use crate::ids::PersonId;
use crate::team::{Team, TeamGrant, TeamId};

/// What a team change does to hubs, written in the same transaction as the change: the
/// revoked grants of access that ended ([`crate::team::ended_access`]), the hubs whose desired
/// state changed and the jobs that bring their apps there.
#[derive(Debug, Clone, Default)]
pub struct AccessChange {
    /// Revoked grants, each written only where the person holds no grant on the hub (an own
    /// grant, active or revoked, stays as it is).
    pub ended: Vec<(HubId, Grant)>,
    /// Hubs whose grants version is bumped (see [`crate::ports::HubStore::grants_version`]).
    pub hubs: Vec<HubId>,
    /// Jobs to enqueue (deduplicated like [`crate::ports::JobStore::enqueue`]).
    pub jobs: Vec<Job>,
}

/// Teams, their members and their grants on hubs. Every write takes the [`NewEvent`] that
/// records it and an [`AccessChange`], all in one transaction.
#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Inserts a team (version 1) with its members. `Conflict` when another team has the name
    /// (case-insensitive) or the external id; `NotFound { kind: "person" }` for an unknown
    /// member. Writes nothing on error.
    async fn insert_team(
        &self,
        t: &Team,
        members: &[PersonId],
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// One team.
    async fn team(&self, id: TeamId) -> CoreResult<Option<Team>>;
    /// Every team, ordered by name (case-insensitive), then id.
    async fn teams(&self) -> CoreResult<Vec<Team>>;
    /// A team's members, ordered by person id.
    async fn team_members(&self, id: TeamId) -> CoreResult<Vec<PersonId>>;
    /// The teams a person is a member of, ordered by id.
    async fn teams_of_person(&self, person: PersonId) -> CoreResult<Vec<TeamId>>;
    /// Writes `t`'s name and external id (and its members, when given) over the version `t`
    /// holds, which becomes one more; returns the team as written. `Stale { kind: "team" }`
    /// when the team's version is no longer `t.version`; `NotFound` (team or a member) and
    /// `Conflict` (name, external id) as for insert. Writes nothing on error.
    async fn update_team(
        &self,
        t: &Team,
        members: Option<&[PersonId]>,
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<Team>;
    /// Deletes a team, its members and its grants, over `version` when given (`Stale`
    /// otherwise). `NotFound` when missing.
    async fn delete_team(
        &self,
        id: TeamId,
        version: Option<i64>,
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// The grants of teams on a hub, each with the team's members, ordered by team name.
    async fn team_grants(&self, hub: HubId) -> CoreResult<Vec<TeamGrant>>;
    /// A team's grants: the hubs, each with the grant (its `members` empty), ordered by hub id.
    async fn grants_of_team(&self, team: TeamId) -> CoreResult<Vec<(HubId, TeamGrant)>>;
    /// Gives the team the hub with `grant`'s roles (or changes them), or takes it away
    /// (`grant` `None`). `NotFound` (team or hub).
    async fn set_team_grant(
        &self,
        hub: HubId,
        team: TeamId,
        grant: Option<(HubRole, &str)>,
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<()>;
}
