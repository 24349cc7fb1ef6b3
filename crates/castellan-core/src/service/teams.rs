//! Teams ([`crate::team`]), on the [`Teams`] capability: self-managed teams that admins edit,
//! teams the identity provider keeps over SCIM, their members, and their grants on hubs.
//!
//! Every change that gives or takes access through a team marks the hubs concerned as changed
//! and queues a check for updates on each, in the change's own transaction; access that ends
//! is recorded as revoked grants ([`crate::team::ended_access`]), so the bot removes whoever no
//! other grant keeps.

use serde_json::{json, Value};

use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::hub::{Grant, Hub, HubId, HubRole, Job, Trigger};
use crate::ids::PersonId;
use crate::model::WorkspaceRole;
use crate::permissions::{can, Permit};
use crate::ports::AccessChange;
use crate::service::{Castellan, Teams};
use crate::team::{
    effective_grants, ended_access, member_changes, Team, TeamGrant, TeamId, TeamKind,
    MAX_TEAM_MEMBERS, MAX_TEAM_NAME,
};
use crate::validate;

/// A team with its members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TeamView {
    /// The team.
    #[serde(flatten)]
    pub team: Team,
    /// Its members' ids, ordered.
    pub members: Vec<PersonId>,
}

/// What a team is made of, as an admin or the identity provider gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamInput {
    /// Name (1 to [`MAX_TEAM_NAME`] characters, unique case-insensitively).
    pub name: String,
    /// The identity provider's id for the group (SCIM `externalId`), at most 500 characters.
    pub external_id: Option<String>,
    /// The members (people ids; repeats count once; at most [`MAX_TEAM_MEMBERS`]).
    pub members: Vec<PersonId>,
}

/// Up to this many new members are read one by one; more, and every person is read once.
const ONE_BY_ONE: usize = 32;

/// How many ids an event lists of the members added or removed (the counts are always there).
const EVENT_IDS: usize = 100;

impl TeamInput {
    fn check(&self) -> CoreResult<(String, Option<String>, Vec<PersonId>)> {
        let name = validate::text("name", &validate::normalized(&self.name), MAX_TEAM_NAME)?;
        let external_id = validate::opt_text("external_id", self.external_id.as_deref(), 500)?;
        let mut members = self.members.clone();
        members.sort();
        members.dedup();
        if members.len() > MAX_TEAM_MEMBERS {
            return Err(CoreError::invalid(
                "members",
                format!("a team has at most {MAX_TEAM_MEMBERS} members"),
            ));
        }
        Ok((name, external_id, members))
    }
}

/// An unknown member is the caller's mistake, said as such.
fn members_error(e: CoreError) -> CoreError {
    match e {
        CoreError::NotFound { kind: "person" } => {
            CoreError::invalid("members", "a member is not a person of this workspace")
        }
        e => e,
    }
}

/// The first [`EVENT_IDS`] ids.
fn some_ids(ids: &[PersonId]) -> Vec<PersonId> {
    ids.iter().take(EVENT_IDS).copied().collect()
}

impl Castellan {
    /// The grants the bot follows on `hub` ([`effective_grants`]): the people's own grants and
    /// the hub's team grants, ranked by the hub's roles.
    pub(crate) async fn effective_grants(&self, hub: &Hub) -> CoreResult<Vec<Grant>> {
        let personal = self.store.grants(hub.id).await?;
        let teams = self.store.team_grants(hub.id).await?;
        if teams.is_empty() {
            return Ok(personal);
        }
        let (roles, _) = self.connector_roles(hub).await?;
        Ok(effective_grants(personal, &teams, &roles))
    }

    /// Queues a check for updates on every hub granted to a team `person` is in (their access
    /// through teams came back, e.g. when they are reactivated).
    pub(crate) async fn team_access_changed(
        &self,
        actor: &Actor,
        person: PersonId,
    ) -> CoreResult<()> {
        let mut hubs = vec![];
        for t in self.store.teams_of_person(person).await? {
            hubs.extend(
                self.store
                    .grants_of_team(t)
                    .await?
                    .into_iter()
                    .map(|(h, _)| h),
            );
        }
        hubs.sort();
        hubs.dedup();
        if hubs.is_empty() {
            return Ok(());
        }
        let jobs = self.syncs(&hubs, actor);
        self.store.mark_desired_changed(&hubs, &jobs).await
    }

    fn syncs(&self, hubs: &[HubId], actor: &Actor) -> Vec<Job> {
        hubs.iter()
            .map(|h| self.sync_job(*h, Trigger::GrantChange, actor, false))
            .collect()
    }

    /// What a change of a team's members does: the removed lose the team's hubs, and each hub
    /// is checked again when anyone came or went.
    async fn access_change(
        &self,
        actor: &Actor,
        team: TeamId,
        added: &[PersonId],
        removed: &[PersonId],
    ) -> CoreResult<AccessChange> {
        if added.is_empty() && removed.is_empty() {
            return Ok(AccessChange::default());
        }
        let grants: Vec<(HubId, String)> = self
            .store
            .grants_of_team(team)
            .await?
            .into_iter()
            .map(|(h, g)| (h, g.app_role))
            .collect();
        let hubs: Vec<HubId> = grants.iter().map(|(h, _)| *h).collect();
        Ok(AccessChange {
            ended: ended_access(&grants, removed, self.now()),
            jobs: self.syncs(&hubs, actor),
            hubs,
        })
    }

    /// Refuses, as new members, people the identity provider deleted (SCIM DELETE): they are
    /// gone for SCIM, and a team must not hand them hubs if they come back. `Validation`
    /// (`members`).
    async fn require_present(&self, added: &[PersonId]) -> CoreResult<()> {
        // A PATCH adds one member or a few: read those. A group pushed whole reads everyone once.
        let deleted = if added.len() <= ONE_BY_ONE {
            let mut any = false;
            for id in added {
                any |= self
                    .store
                    .person(*id)
                    .await?
                    .is_some_and(|p| p.idp_deleted_at.is_some());
            }
            any
        } else {
            let gone: std::collections::HashSet<PersonId> = self
                .store
                .people()
                .await?
                .into_iter()
                .filter(|p| p.idp_deleted_at.is_some())
                .map(|p| p.id)
                .collect();
            added.iter().any(|p| gone.contains(p))
        };
        if deleted {
            return Err(CoreError::invalid(
                "members",
                "a member was deleted by the identity provider and cannot join a team",
            ));
        }
        Ok(())
    }

    /// Takes a person the identity provider deleted out of the teams it keeps (their hubs
    /// through those teams end with it), each team written over the version read.
    pub(crate) async fn leave_idp_teams(
        &self,
        permit: &Permit<can::PeopleManage>,
        person: PersonId,
    ) -> CoreResult<()> {
        for team in self.store.teams_of_person(person).await? {
            let Some(t) = self.store.team(team).await? else {
                continue;
            };
            if t.kind != TeamKind::Idp {
                continue;
            }
            let members = self.store.team_members(team).await?;
            let input = TeamInput {
                name: t.name.clone(),
                external_id: t.external_id.clone(),
                members: members.into_iter().filter(|m| *m != person).collect(),
            };
            match self
                .teams()
                .replace(permit, team, TeamKind::Idp, None, input)
                .await
            {
                Ok(_) | Err(CoreError::NotFound { kind: "team" }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Where a managed team holds shares of vaults, collections or accounts, moving a person
    /// in or out changes their access to secrets: an admin may not move themselves, nor a
    /// person whose role they may not manage (as for a vault grant). `Forbidden`.
    async fn require_may_move(
        &self,
        actor: &Actor,
        team: TeamId,
        added: &[PersonId],
        removed: &[PersonId],
    ) -> CoreResult<()> {
        if added.is_empty() && removed.is_empty() {
            return Ok(());
        }
        let grantee = crate::collection::Grantee::Team(team);
        if self.store.shares_of(grantee).await?.is_empty() {
            return Ok(());
        }
        let mut moved: Vec<PersonId> = added.iter().chain(removed).copied().collect();
        moved.sort();
        // Owners and super admins reach every account whatever team they are in.
        let sees_all = matches!(actor.role, WorkspaceRole::Owner | WorkspaceRole::SuperAdmin);
        let me_moved = actor
            .person_id
            .is_some_and(|me| moved.binary_search(&me).is_ok());
        if me_moved && !sees_all {
            return Err(CoreError::Forbidden(
                "this team holds vaults, collections or accounts: you may not move yourself in \
                 or out of it; ask another admin"
                    .into(),
            ));
        }
        self.require_manageable(actor, &moved).await
    }

    pub(crate) async fn team_record(&self, id: TeamId) -> CoreResult<Team> {
        self.store
            .team(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "team" })
    }
}

/// Who may change a team: admins change managed teams, the identity provider its own.
fn require_keeper(t: &Team, by: TeamKind) -> CoreResult<()> {
    match (t.kind, by) {
        (a, b) if a == b => Ok(()),
        (TeamKind::Idp, _) => Err(CoreError::Forbidden(
            "this team is kept by the identity provider: change the group there".into(),
        )),
        (TeamKind::Managed, _) => Err(CoreError::NotFound { kind: "team" }),
    }
}

impl Teams<'_> {
    /// Every team, ordered by name. Needs `PeopleRead`.
    pub async fn list(&self, _: &Permit<can::PeopleRead>) -> CoreResult<Vec<Team>> {
        self.store.teams().await
    }

    /// One team with its members. Needs `PeopleRead`. `NotFound { kind: "team" }`.
    pub async fn get(&self, _: &Permit<can::PeopleRead>, id: TeamId) -> CoreResult<TeamView> {
        let team = self.team_record(id).await?;
        let members = self.store.team_members(id).await?;
        Ok(TeamView { team, members })
    }

    /// Makes a team kept by `by` (`managed`: an admin; `idp`: the identity provider over SCIM)
    /// with its members. One insert with its `team.create` event. Needs `PeopleManage`.
    ///
    /// Errors: `Validation` (name, external id, members: an unknown person or too many);
    /// `Conflict` when another team has the name or the external id.
    pub async fn create(
        &self,
        permit: &Permit<can::PeopleManage>,
        by: TeamKind,
        input: TeamInput,
    ) -> CoreResult<TeamView> {
        let (name, external_id, members) = input.check()?;
        self.require_present(&members).await?;
        let now = self.now();
        let team = Team {
            id: TeamId::new(),
            name,
            kind: by,
            external_id,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let ev = NewEvent::new(permit.actor(), ActivityAction::TeamCreate, now)
            .target("team", team.id, &team.name)
            .details(json!({
                "kind": by,
                "external_id": team.external_id,
                "members": members.len(),
                "source": source(by),
            }));
        self.store
            .insert_team(&team, &members, &AccessChange::default(), &ev)
            .await
            .map_err(members_error)?;
        Ok(TeamView { team, members })
    }

    /// Replaces a team's name, external id and members, for its keeper `by`. With `version`
    /// the change is written only over that version (else `Stale`); without, over the version
    /// read (again while other changes land). Members who leave lose the team's hubs; every hub
    /// the team holds is checked again. One `team.update` event with what changed (nothing is
    /// written when nothing did). Needs `PeopleManage`.
    ///
    /// Errors: as [`Teams::create`]; `NotFound`; `Forbidden` for a team the other keeper keeps
    /// (an IdP team is read-only in Castellan; SCIM never sees managed teams: `NotFound`).
    pub async fn replace(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: TeamId,
        by: TeamKind,
        version: Option<i64>,
        input: TeamInput,
    ) -> CoreResult<TeamView> {
        let (name, external_id, members) = input.check()?;
        let once = || async {
            let current = self.team_record(id).await?;
            require_keeper(&current, by)?;
            if version.is_some_and(|v| v != current.version) {
                return Err(CoreError::Stale { kind: "team" });
            }
            let before = self.store.team_members(id).await?;
            let (added, removed) = member_changes(&before, &members);
            self.require_present(&added).await?;
            if by == TeamKind::Managed {
                self.require_may_move(permit.actor(), id, &added, &removed)
                    .await?;
            }
            let mut changes = serde_json::Map::new();
            if current.name != name {
                changes.insert("name".into(), json!({ "from": current.name, "to": name }));
            }
            if current.external_id != external_id {
                changes.insert(
                    "external_id".into(),
                    json!({ "from": current.external_id, "to": external_id }),
                );
            }
            if changes.is_empty() && added.is_empty() && removed.is_empty() {
                return Ok(TeamView {
                    team: current,
                    members: before,
                });
            }
            let actor = permit.actor();
            changes.insert("added".into(), json!(some_ids(&added)));
            changes.insert("added_count".into(), json!(added.len()));
            changes.insert("removed".into(), json!(some_ids(&removed)));
            changes.insert("removed_count".into(), json!(removed.len()));
            changes.insert("source".into(), json!(source(by)));
            let change = self.access_change(actor, id, &added, &removed).await?;
            let mut t = current;
            t.name.clone_from(&name);
            t.external_id.clone_from(&external_id);
            t.updated_at = self.now();
            let ev = NewEvent::new(actor, ActivityAction::TeamUpdate, self.now())
                .target("team", t.id, &t.name)
                .details(Value::Object(changes));
            let team = self
                .store
                .update_team(&t, Some(&members), &change, &ev)
                .await
                .map_err(members_error)?;
            Ok(TeamView {
                team,
                members: members.clone(),
            })
        };
        match version {
            Some(_) => once().await,
            None => super::retry_stale(once).await,
        }
    }

    /// Deletes a team, for its keeper `by`: its members lose its hubs (the bot removes whoever
    /// no other grant keeps). With `version`, only over that version (else `Stale`). Needs
    /// `PeopleManage`. Errors: `NotFound`; `Forbidden` as for [`Teams::replace`].
    pub async fn delete(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: TeamId,
        by: TeamKind,
        version: Option<i64>,
    ) -> CoreResult<()> {
        let t = self.team_record(id).await?;
        require_keeper(&t, by)?;
        let members = self.store.team_members(id).await?;
        let actor = permit.actor();
        if by == TeamKind::Managed {
            self.require_may_move(actor, id, &[], &members).await?;
        }
        let change = self.access_change(actor, id, &[], &members).await?;
        let ev = NewEvent::new(actor, ActivityAction::TeamDelete, self.now())
            .target("team", t.id, &t.name)
            .details(json!({ "members": members.len(), "source": source(by) }));
        self.store.delete_team(id, version, &change, &ev).await
    }

    /// A team's grants on hubs, ordered by hub id. Needs `HubRead`.
    pub async fn grants(
        &self,
        _: &Permit<can::HubRead>,
        id: TeamId,
    ) -> CoreResult<Vec<(HubId, TeamGrant)>> {
        self.team_record(id).await?;
        self.store.grants_of_team(id).await
    }

    /// The teams' grants on a hub, each with the team's members, ordered by team name. Needs
    /// `HubRead`. `NotFound { kind: "hub" }`.
    pub async fn on_hub(&self, _: &Permit<can::HubRead>, hub: HubId) -> CoreResult<Vec<TeamGrant>> {
        self.hub_record(hub).await?;
        self.store.team_grants(hub).await
    }

    /// Gives a team a hub (or changes its roles there): each member gets `hub_role` (default
    /// `collaborator`; `owner` is refused) and `app_role` (default: the hub's default role) on
    /// the hub, unless a grant of their own or another team's ranks higher
    /// ([`effective_grants`]); the bot invites them at the hub's next check for updates, queued
    /// now. One `hub.share_team` event. Needs `HubManage`.
    ///
    /// Errors: `NotFound` (hub, team); `Validation` for an app role the app does not have or
    /// the `owner` hub role.
    pub async fn grant_hub(
        &self,
        permit: &Permit<can::HubManage>,
        hub: HubId,
        team: TeamId,
        hub_role: Option<HubRole>,
        app_role: Option<String>,
    ) -> CoreResult<()> {
        let h = self.hub_record(hub).await?;
        let t = self.team_record(team).await?;
        let hub_role = hub_role.unwrap_or(HubRole::Collaborator);
        if hub_role == HubRole::Owner {
            return Err(CoreError::invalid(
                "hub_role",
                "a team cannot own a hub: give it `manager` or `collaborator`",
            ));
        }
        let (roles, default) = self.connector_roles(&h).await?;
        let app_role = match app_role.map(|r| r.trim().to_lowercase()) {
            None => default,
            Some(r) if roles.contains(&r) => r,
            Some(r) => {
                return Err(CoreError::invalid(
                    "app_role",
                    format!(
                        "`{}` is not one of the app's roles: {}",
                        validate::clip(&r),
                        roles.join(", ")
                    ),
                ))
            }
        };
        let actor = permit.actor();
        let ev = NewEvent::new(actor, ActivityAction::HubShareTeam, self.now())
            .target("hub", hub, &h.label)
            .details(json!({
                "team_id": team, "team_name": t.name, "hub_role": hub_role, "app_role": app_role,
            }));
        let change = AccessChange {
            ended: vec![],
            hubs: vec![hub],
            jobs: self.syncs(&[hub], actor),
        };
        self.store
            .set_team_grant(hub, team, Some((hub_role, &app_role)), &change, &ev)
            .await
    }

    /// Takes a hub from a team: its members lose it (the bot removes whoever no other grant
    /// keeps). One `hub.revoke_team` event. Needs `HubManage`. `NotFound` (hub, team, or a
    /// team without the hub: `kind` `grant`).
    pub async fn revoke_hub(
        &self,
        permit: &Permit<can::HubManage>,
        hub: HubId,
        team: TeamId,
    ) -> CoreResult<()> {
        let h = self.hub_record(hub).await?;
        let t = self.team_record(team).await?;
        let Some((_, g)) = self
            .store
            .grants_of_team(team)
            .await?
            .into_iter()
            .find(|(x, _)| *x == hub)
        else {
            return Err(CoreError::NotFound { kind: "grant" });
        };
        let members = self.store.team_members(team).await?;
        let actor = permit.actor();
        let change = AccessChange {
            ended: ended_access(&[(hub, g.app_role)], &members, self.now()),
            hubs: vec![hub],
            jobs: self.syncs(&[hub], actor),
        };
        let ev = NewEvent::new(actor, ActivityAction::HubRevokeTeam, self.now())
            .target("hub", hub, &h.label)
            .details(json!({ "team_id": team, "team_name": t.name }));
        self.store
            .set_team_grant(hub, team, None, &change, &ev)
            .await
    }
}

/// The `source` of a team event: `idp` for the identity provider's changes.
fn source(by: TeamKind) -> &'static str {
    match by {
        TeamKind::Idp => "idp",
        TeamKind::Managed => "castellan",
    }
}
