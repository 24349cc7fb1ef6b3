//! Teams: groups of people, self-managed (admins edit them) or synced from the identity provider
//! (a SCIM group, read-only in Castellan), and the one rule that turns a person's own grant and
//! their teams' grants on a hub into the grant the bot follows ([`effective_grants`]).
//!
//! A team granted a hub gives each of its members the team's hub role and app role there. The
//! bot never reads a grant any other way: a check for updates, a write job when it runs and an
//! admin's removal all go through [`effective_grants`]. When access through a team ends (the
//! person leaves the team, the team loses the hub, the team is deleted), core records a revoked
//! grant of the person's own on the hub where they hold none ([`ended_access`]), so the bot
//! removes them unless another grant still gives them the hub: revoked means revoked, for teams
//! too.
//!
//! No I/O here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::hub::{Grant, HubId, HubRole};
use crate::ids::PersonId;

crate::uuid_id!(/// A team.
    TeamId, "team");

crate::str_enum!(
    /// Who keeps a team's name and members. Stored and sent as its `snake_case` name.
    TeamKind, "team_kind" {
        /// Admins edit it in Castellan.
        Managed = "managed",
        /// The identity provider keeps it over SCIM (`/scim/v2/Groups`); read-only in Castellan.
        Idp = "idp",
    }
);

/// Longest team name, in characters.
pub const MAX_TEAM_NAME: usize = 200;

/// Most members a team may have (a SCIM group larger than this is refused whole, never cut).
pub const MAX_TEAM_MEMBERS: usize = 50_000;

/// A team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// Display name (SCIM `displayName`), unique case-insensitively.
    pub name: String,
    /// Who keeps it.
    pub kind: TeamKind,
    /// The identity provider's id for the group (SCIM `externalId`), unique when set.
    pub external_id: Option<String>,
    /// Row version: 1 when made, one more with each change of the name or the members. A change
    /// is written only over the version it was made from (`CoreError::Stale` otherwise).
    pub version: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A team's grant on one hub with the team's members at the time of reading: what
/// [`effective_grants`] takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamGrant {
    /// The team.
    pub team_id: TeamId,
    /// The team's name (for views and reasons).
    pub team_name: String,
    /// The hub role each member gets (`manager` or `collaborator`: a team never owns a hub).
    pub hub_role: HubRole,
    /// The app role each member gets.
    pub app_role: String,
    /// The team's members.
    pub members: Vec<PersonId>,
    /// When the grant was last changed.
    pub updated_at: DateTime<Utc>,
}

/// The grant the bot follows for each person on one hub: one per person who holds a grant of
/// their own (`personal`, active or revoked) or is a member of a team in `teams`.
///
/// The highest role wins: among a person's active own grant and every team grant they hold
/// through a team, the app role that comes first in `roles` (the app's roles, most privileged
/// first; a role not among them ranks after every listed one, and on a tie the own grant, then
/// the team first by name, wins), and the most privileged hub role. Roles on resources come
/// from the person's own grant only. A person with no active own grant and no team grant keeps
/// their own grant as it is (revoked: the bot removes them, or leaves a kept seat alone).
///
/// Output: ordered by person id.
pub fn effective_grants(personal: Vec<Grant>, teams: &[TeamGrant], roles: &[String]) -> Vec<Grant> {
    let rank = |role: &str| roles.iter().position(|r| r == role).unwrap_or(roles.len());
    let mut by_person: BTreeMap<PersonId, Grant> = BTreeMap::new();
    for g in personal {
        by_person.insert(g.person_id, g);
    }
    let mut teams: Vec<&TeamGrant> = teams.iter().collect();
    teams.sort_by(|a, b| {
        a.team_name
            .cmp(&b.team_name)
            .then(a.team_id.cmp(&b.team_id))
    });
    for t in teams {
        for &person in &t.members {
            let from_team = Grant {
                person_id: person,
                hub_role: t.hub_role,
                app_role: t.app_role.clone(),
                revoked: false,
                keep_seat: false,
                resource_roles: vec![],
                updated_at: t.updated_at,
            };
            match by_person.get_mut(&person) {
                None => {
                    by_person.insert(person, from_team);
                }
                // A revoked own grant gives nothing: the team's access replaces it.
                Some(own) if own.revoked => *own = from_team,
                Some(held) => {
                    if rank(&t.app_role) < rank(&held.app_role) {
                        held.app_role = t.app_role.clone();
                    }
                    held.hub_role = held.hub_role.min(t.hub_role);
                    held.updated_at = held.updated_at.max(t.updated_at);
                }
            }
        }
    }
    by_person.into_values().collect()
}

/// The revoked grants to record when access through a team ends: for each hub in `hubs` (the
/// team's grants, with the app role each gave) and each person in `people` (who left, or every
/// member when the team or its grant goes), a revoked grant without a kept seat. The store
/// writes each only where the person holds no grant of their own on the hub (an own grant, active
/// or revoked, is the admin's decision and stays).
pub fn ended_access(
    hubs: &[(HubId, String)],
    people: &[PersonId],
    now: DateTime<Utc>,
) -> Vec<(HubId, Grant)> {
    let mut out = Vec::with_capacity(hubs.len() * people.len());
    for (hub, app_role) in hubs {
        for &person in people {
            out.push((
                *hub,
                Grant {
                    person_id: person,
                    hub_role: HubRole::Collaborator,
                    app_role: app_role.clone(),
                    revoked: true,
                    keep_seat: false,
                    resource_roles: vec![],
                    updated_at: now,
                },
            ));
        }
    }
    out
}

/// The members of `after` missing from `before`, and those of `before` missing from `after`
/// (added, removed), each sorted and without repeats.
pub fn member_changes(before: &[PersonId], after: &[PersonId]) -> (Vec<PersonId>, Vec<PersonId>) {
    use std::collections::BTreeSet;
    let b: BTreeSet<PersonId> = before.iter().copied().collect();
    let a: BTreeSet<PersonId> = after.iter().copied().collect();
    (
        a.difference(&b).copied().collect(),
        b.difference(&a).copied().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000, 0).unwrap()
    }

    fn own(p: PersonId, role: &str, revoked: bool) -> Grant {
        Grant {
            person_id: p,
            hub_role: HubRole::Collaborator,
            app_role: role.into(),
            revoked,
            keep_seat: false,
            resource_roles: vec![],
            updated_at: t0(),
        }
    }

    fn team(name: &str, role: &str, hub_role: HubRole, members: &[PersonId]) -> TeamGrant {
        TeamGrant {
            team_id: TeamId::new(),
            team_name: name.into(),
            hub_role,
            app_role: role.into(),
            members: members.to_vec(),
            updated_at: t0(),
        }
    }

    fn roles() -> Vec<String> {
        vec!["admin".into(), "member".into(), "guest".into()]
    }

    fn of(gs: &[Grant], p: PersonId) -> &Grant {
        gs.iter().find(|g| g.person_id == p).expect("a grant")
    }

    #[test]
    fn the_highest_role_across_own_and_team_grants_wins() {
        let (a, b, c) = (PersonId::new(), PersonId::new(), PersonId::new());
        let gs = effective_grants(
            vec![own(a, "guest", false), own(b, "admin", false)],
            &[
                team("eng", "member", HubRole::Collaborator, &[a, b, c]),
                team("ops", "guest", HubRole::Manager, &[c]),
            ],
            &roles(),
        );
        assert_eq!(gs.len(), 3);
        assert_eq!(
            of(&gs, a).app_role,
            "member",
            "the team's role outranks the own one"
        );
        assert_eq!(
            of(&gs, b).app_role,
            "admin",
            "the own role outranks the team's"
        );
        assert_eq!(of(&gs, c).app_role, "member");
        assert_eq!(
            of(&gs, c).hub_role,
            HubRole::Manager,
            "hub roles: the highest too"
        );
        assert!(gs.iter().all(|g| !g.revoked));
    }

    #[test]
    fn a_team_grant_replaces_a_revoked_own_grant_and_keeps_nothing_of_it() {
        let a = PersonId::new();
        let mut revoked = own(a, "admin", true);
        revoked.keep_seat = true;
        let gs = effective_grants(
            vec![revoked.clone()],
            &[team("eng", "guest", HubRole::Collaborator, &[a])],
            &roles(),
        );
        assert_eq!(of(&gs, a).app_role, "guest");
        assert!(!of(&gs, a).revoked && !of(&gs, a).keep_seat);
        // Without the team, the revoked grant stands as it is.
        let gs = effective_grants(vec![revoked.clone()], &[], &roles());
        assert_eq!(gs, vec![revoked]);
    }

    #[test]
    fn unknown_roles_rank_last_and_ties_go_to_the_own_grant_then_the_first_team_by_name() {
        let (a, b) = (PersonId::new(), PersonId::new());
        let gs = effective_grants(
            vec![own(a, "custom", false)],
            &[
                team("zeta", "other", HubRole::Collaborator, &[a, b]),
                team("alpha", "another", HubRole::Collaborator, &[b]),
            ],
            &roles(),
        );
        assert_eq!(of(&gs, a).app_role, "custom");
        assert_eq!(of(&gs, b).app_role, "another");
        let gs = effective_grants(
            vec![],
            &[team("t", "guest", HubRole::Collaborator, &[a])],
            &roles(),
        );
        assert_eq!(of(&gs, a).app_role, "guest");
    }

    #[test]
    fn resource_roles_come_from_the_own_grant_only() {
        let a = PersonId::new();
        let mut g = own(a, "guest", false);
        g.resource_roles = vec![crate::resource_roles::ResourceRole {
            resource_id: "r1".into(),
            role: Some("viewer".into()),
        }];
        let gs = effective_grants(
            vec![g.clone()],
            &[team("t", "admin", HubRole::Collaborator, &[a])],
            &roles(),
        );
        assert_eq!(of(&gs, a).resource_roles, g.resource_roles);
        assert_eq!(of(&gs, a).app_role, "admin");
    }

    #[test]
    fn ended_access_is_one_revoked_grant_per_hub_and_person() {
        let (h1, h2) = (HubId::new(), HubId::new());
        let (a, b) = (PersonId::new(), PersonId::new());
        let out = ended_access(
            &[(h1, "member".into()), (h2, "guest".into())],
            &[a, b],
            t0(),
        );
        assert_eq!(out.len(), 4);
        assert!(out.iter().all(|(_, g)| g.revoked && !g.keep_seat));
        assert_eq!(out[2].0, h2);
        assert_eq!(out[2].1.app_role, "guest");
    }

    #[test]
    fn member_changes_are_sets() {
        let (a, b, c) = (PersonId::new(), PersonId::new(), PersonId::new());
        let (added, removed) = member_changes(&[a, b, b], &[b, c, c]);
        assert_eq!(added, vec![c]);
        assert_eq!(removed, vec![a]);
    }
}
