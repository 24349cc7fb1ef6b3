//! Teams, their members and their grants on hubs.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::hub::{HubId, HubRole};
use castellan_core::ids::PersonId;
use castellan_core::ports::{AccessChange, TeamStore};
use castellan_core::team::{Team, TeamGrant, TeamId};
use castellan_core::{CoreError, CoreResult};

use super::tables::{ms, Stored, Tables};
use super::{MemoryStore, Tx};

impl Tables {
    /// `Conflict` when another team than `t` has its name (case-insensitive) or external id.
    fn team_unique(&self, t: &Team) -> CoreResult<()> {
        for o in self.teams.values().filter(|o| o.id != t.id) {
            if o.name.to_lowercase() == t.name.to_lowercase() {
                return Err(CoreError::Conflict(format!(
                    "a team named `{}` already exists",
                    t.name
                )));
            }
            if t.external_id.is_some() && o.external_id == t.external_id {
                return Err(CoreError::Conflict(format!(
                    "a team with external id `{}` already exists",
                    t.external_id.as_deref().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    fn set_team_members(&mut self, team: TeamId, members: &[PersonId]) -> CoreResult<()> {
        if members.iter().any(|p| !self.people.contains_key(p)) {
            return Err(CoreError::NotFound { kind: "person" });
        }
        self.team_members.retain(|(t, _)| *t != team);
        self.team_members.extend(members.iter().map(|p| (team, *p)));
        Ok(())
    }

    fn grant_of(&self, hub: HubId, team: TeamId) -> Option<TeamGrant> {
        let (hub_role, app_role, at) = self.team_grants.get(&(hub, team))?;
        Some(TeamGrant {
            team_id: team,
            team_name: self.teams.get(&team)?.name.clone(),
            hub_role: *hub_role,
            app_role: app_role.clone(),
            members: vec![],
            updated_at: *at,
        })
    }
}

impl Tx<'_> {
    fn apply_change(&mut self, change: &AccessChange, event: &NewEvent) -> CoreResult<()> {
        for (hub, g) in &change.ended {
            if !self.t.people.contains_key(&g.person_id) {
                return Err(CoreError::NotFound { kind: "person" });
            }
            self.t
                .grants
                .entry((*hub, g.person_id))
                .or_insert_with(|| g.stored());
        }
        self.t.bump_grants_version(&change.hubs);
        self.t.enqueue(&change.jobs)?;
        self.append(event);
        Ok(())
    }
}

fn stored_team(t: &Team) -> Team {
    let mut t = t.clone();
    t.created_at = ms(t.created_at);
    t.updated_at = ms(t.updated_at);
    t
}

#[async_trait]
impl TeamStore for MemoryStore {
    async fn insert_team(
        &self,
        t: &Team,
        members: &[PersonId],
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.team_unique(t)?;
            if tx.t.teams.contains_key(&t.id) {
                return Err(CoreError::Conflict("this team already exists".into()));
            }
            tx.t.teams.insert(t.id, stored_team(t));
            tx.t.set_team_members(t.id, members)?;
            tx.apply_change(change, event)
        })
    }

    async fn team(&self, id: TeamId) -> CoreResult<Option<Team>> {
        self.read(|t| Ok(t.teams.get(&id).cloned()))
    }

    async fn teams(&self) -> CoreResult<Vec<Team>> {
        self.read(|t| {
            let mut all: Vec<Team> = t.teams.values().cloned().collect();
            all.sort_by_key(|a| (a.name.to_lowercase(), a.id));
            Ok(all)
        })
    }

    async fn team_members(&self, id: TeamId) -> CoreResult<Vec<PersonId>> {
        self.read(|t| {
            Ok(t.team_members
                .iter()
                .filter(|(x, _)| *x == id)
                .map(|(_, p)| *p)
                .collect())
        })
    }

    async fn teams_of_person(&self, person: PersonId) -> CoreResult<Vec<TeamId>> {
        self.read(|t| {
            Ok(t.team_members
                .iter()
                .filter(|(_, p)| *p == person)
                .map(|(x, _)| *x)
                .collect())
        })
    }

    async fn update_team(
        &self,
        t: &Team,
        members: Option<&[PersonId]>,
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<Team> {
        self.write(|tx| {
            let current =
                tx.t.teams
                    .get(&t.id)
                    .ok_or(CoreError::NotFound { kind: "team" })?;
            if current.version != t.version {
                return Err(CoreError::Stale { kind: "team" });
            }
            tx.t.team_unique(t)?;
            let mut written = stored_team(t);
            written.version += 1;
            tx.t.teams.insert(t.id, written.clone());
            if let Some(m) = members {
                tx.t.set_team_members(t.id, m)?;
            }
            tx.apply_change(change, event)?;
            Ok(written)
        })
    }

    async fn delete_team(
        &self,
        id: TeamId,
        version: Option<i64>,
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            let current =
                tx.t.teams
                    .get(&id)
                    .ok_or(CoreError::NotFound { kind: "team" })?;
            if version.is_some_and(|v| v != current.version) {
                return Err(CoreError::Stale { kind: "team" });
            }
            tx.apply_change(change, event)?;
            tx.t.teams.remove(&id);
            tx.t.team_members.retain(|(t, _)| *t != id);
            tx.t.team_grants.retain(|(_, t), _| *t != id);
            tx.t.shares
                .retain(|(g, _), _| *g != castellan_core::collection::Grantee::Team(id));
            Ok(())
        })
    }

    /// Ordered by team name (case-insensitive), then id.
    async fn team_grants(&self, hub: HubId) -> CoreResult<Vec<TeamGrant>> {
        self.read(|t| {
            let mut out: Vec<TeamGrant> = t
                .team_grants
                .keys()
                .filter(|(h, _)| *h == hub)
                .filter_map(|(h, team)| t.grant_of(*h, *team))
                .collect();
            for g in &mut out {
                g.members = t
                    .team_members
                    .iter()
                    .filter(|(x, _)| *x == g.team_id)
                    .map(|(_, p)| *p)
                    .collect();
                g.members.sort();
            }
            out.sort_by_key(|a| (a.team_name.to_lowercase(), a.team_id));
            Ok(out)
        })
    }

    async fn grants_of_team(&self, team: TeamId) -> CoreResult<Vec<(HubId, TeamGrant)>> {
        self.read(|t| {
            let mut out: Vec<(HubId, TeamGrant)> = t
                .team_grants
                .keys()
                .filter(|(_, x)| *x == team)
                .filter_map(|(h, x)| t.grant_of(*h, *x).map(|g| (*h, g)))
                .collect();
            out.sort_by_key(|(h, _)| *h);
            Ok(out)
        })
    }

    async fn set_team_grant(
        &self,
        hub: HubId,
        team: TeamId,
        grant: Option<(HubRole, &str)>,
        change: &AccessChange,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if !tx.t.hubs.contains_key(&hub) {
                return Err(CoreError::NotFound { kind: "hub" });
            }
            if !tx.t.teams.contains_key(&team) {
                return Err(CoreError::NotFound { kind: "team" });
            }
            match grant {
                Some((hub_role, app_role)) => {
                    tx.t.team_grants
                        .insert((hub, team), (hub_role, app_role.to_owned(), ms(event.at)));
                }
                None => {
                    if tx.t.team_grants.remove(&(hub, team)).is_none() {
                        return Err(CoreError::NotFound { kind: "grant" });
                    }
                }
            }
            tx.apply_change(change, event)
        })
    }
}
