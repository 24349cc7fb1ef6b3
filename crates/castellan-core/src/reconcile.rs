//! Pure reconciliation: match app members to people, compare with the previous snapshot and
//! with the grants, plan the bot's changes and apply the sync safeguard. No I/O here.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::connector::{AppMember, MemberState};
use crate::desired::{desired, step, Desired, Step};
use crate::hub::{Grant, HubMember, Matching, SyncReport};
use crate::ids::PersonId;
use crate::resource_roles::{pending, Holdings, ResourceRole};

/// A person as matching needs them.
#[derive(Debug, Clone)]
pub struct MatchPerson {
    /// Id.
    pub id: PersonId,
    /// Normalized email.
    pub email: String,
    /// Whether the person is active.
    pub active: bool,
}

/// Normalizes an email for matching: trimmed and lowercased; for the local part, a `+tag`
/// suffix is dropped (sub-addressing, RFC 5233) so `ana+slack@x` matches `ana@x`.
pub fn normalize_email(e: &str) -> String {
    let e = e.trim().to_lowercase();
    match e.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            format!("{local}@{domain}")
        }
        None => e,
    }
}

/// The domain of an email, lowercased.
fn domain_of(email: &str) -> Option<String> {
    email.rsplit_once('@').map(|(_, d)| d.to_lowercase())
}

/// The workspace's own email domains: the domains of its people's addresses.
pub fn workspace_domains(people: &[MatchPerson]) -> HashSet<String> {
    people.iter().filter_map(|p| domain_of(&p.email)).collect()
}

/// Matches fresh members to people, keeping exemptions and manual matches from the previous
/// snapshot (by app member id). Returns the new snapshot.
pub fn match_members(
    members: &[AppMember],
    previous: &[HubMember],
    people: &[MatchPerson],
    now: DateTime<Utc>,
) -> Vec<HubMember> {
    let by_email: HashMap<String, &MatchPerson> = people
        .iter()
        .map(|p| (normalize_email(&p.email), p))
        .collect();
    let domains = workspace_domains(people);
    let prev: HashMap<&str, &HubMember> = previous
        .iter()
        .map(|m| (m.app_member_id.as_str(), m))
        .collect();
    members
        .iter()
        .map(|m| {
            let old = prev.get(m.app_member_id.as_str());
            let email = m.email.as_deref().map(normalize_email);
            let person = email.as_deref().and_then(|e| by_email.get(e)).map(|p| p.id);
            let (matching, person_id, exempt_reason) = match old {
                Some(o) if o.matching == Matching::Exempted => {
                    (Matching::Exempted, o.person_id, o.exempt_reason.clone())
                }
                _ => match person.or(old.and_then(|o| o.person_id)) {
                    Some(pid) => (Matching::Onboarded, Some(pid), None),
                    None => {
                        let outside = email
                            .as_deref()
                            .and_then(domain_of)
                            .is_some_and(|d| !domains.contains(&d));
                        (
                            if outside {
                                Matching::Guest
                            } else {
                                Matching::Unmatched
                            },
                            None,
                            None,
                        )
                    }
                },
            };
            HubMember {
                app_member_id: m.app_member_id.clone(),
                email: m.email.as_ref().map(|e| e.trim().to_lowercase()),
                name: m.name.clone(),
                app_role: m.roles.first().cloned(),
                roles: m.roles.clone(),
                state: m.state,
                matching,
                person_id,
                exempt_reason,
                first_seen_at: old.map(|o| o.first_seen_at).unwrap_or(now),
                last_seen_at: now,
            }
        })
        .collect()
}

/// New, changed and gone members between two snapshots (by app member id).
pub fn diff(previous: &[HubMember], current: &[HubMember], report: &mut SyncReport) {
    let prev: HashMap<&str, &HubMember> = previous
        .iter()
        .map(|m| (m.app_member_id.as_str(), m))
        .collect();
    let cur: HashSet<&str> = current.iter().map(|m| m.app_member_id.as_str()).collect();
    for m in current {
        match prev.get(m.app_member_id.as_str()) {
            None => report.new.push(m.app_member_id.clone()),
            Some(o)
                if o.held_roles() != m.held_roles() || o.state != m.state || o.email != m.email =>
            {
                report.changed.push(m.app_member_id.clone())
            }
            _ => {}
        }
    }
    report.gone = previous
        .iter()
        .filter(|m| !cur.contains(m.app_member_id.as_str()))
        .map(|m| m.app_member_id.clone())
        .collect();
    report.total = current.len();
    for m in current {
        match m.matching {
            Matching::Onboarded => report.onboarded += 1,
            Matching::Unmatched => report.unmatched += 1,
            Matching::Guest => report.guests += 1,
            Matching::Exempted => report.exempted += 1,
        }
    }
}

/// One change the bot should make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedChange {
    /// Invite the person with the role.
    Invite {
        /// The person.
        person_id: PersonId,
        /// Their email.
        email: String,
        /// App role.
        role: String,
        /// The person's own deactivated member, to reactivate (never another person's).
        app_member_id: Option<String>,
        /// The roles on resources the grant gives, applied once the member exists.
        resources: Vec<ResourceRole>,
    },
    /// Change the member's role.
    UpdateRole {
        /// The person.
        person_id: PersonId,
        /// App member id.
        app_member_id: String,
        /// The app role the grant gives (the member may hold it already).
        role: String,
        /// The roles on resources not yet in effect (empty when only the app role changes).
        resources: Vec<ResourceRole>,
    },
    /// Remove the member.
    Remove {
        /// The person, if matched.
        person_id: Option<PersonId>,
        /// App member id.
        app_member_id: String,
    },
}

/// Compares grants with the snapshot, through the one rule of [`crate::desired`]:
/// - an active grant whose person has no active member → invite;
/// - an active grant whose member has another role → update the role;
/// - a revoked grant (without keep-seat) or a deactivated person whose member is still active →
///   remove;
/// - an active grant whose member holds the app role but not yet the grant's roles on
///   resources (by `holdings`, the managed resources' holders) → a role change for those.
///
/// Members without a grant are left alone: Castellan manages only what it was given.
pub fn plan(
    members: &[HubMember],
    grants: &[Grant],
    people: &[MatchPerson],
    holdings: &Holdings,
) -> Vec<PlannedChange> {
    let people: HashMap<PersonId, &MatchPerson> = people.iter().map(|p| (p.id, p)).collect();
    let grant_of: HashMap<PersonId, &Grant> = grants.iter().map(|g| (g.person_id, g)).collect();
    let active = |p: PersonId| people.get(&p).is_some_and(|p| p.active);
    let mut out = vec![];
    // A deactivated person leaves every app, granted through Castellan or matched by email.
    for m in members {
        let Some(pid) = m.person_id else { continue };
        if m.matching != Matching::Onboarded || active(pid) || !people.contains_key(&pid) {
            continue;
        }
        let d = desired(grant_of.get(&pid).copied(), false);
        if step(&d, Some(m.seen())) == Step::Remove {
            out.push(PlannedChange::Remove {
                person_id: Some(pid),
                app_member_id: m.app_member_id.clone(),
            });
        }
    }
    for g in grants {
        let matched: Vec<&HubMember> = members
            .iter()
            .filter(|m| m.person_id == Some(g.person_id) && m.matching != Matching::Exempted)
            .collect();
        let d = desired(Some(g), active(g.person_id));
        // Unwanted: every member matched to the person goes (a second account, found by a
        // `+tag` address or matched by hand, must not keep access after a revoke).
        let removals: Vec<&HubMember> = matched
            .iter()
            .copied()
            .filter(|m| step(&d, Some(m.seen())) == Step::Remove)
            .collect();
        if !removals.is_empty() {
            for m in removals {
                let planned = out.iter().any(|c| {
                    matches!(c, PlannedChange::Remove { app_member_id, .. } if *app_member_id == m.app_member_id)
                });
                if !planned {
                    out.push(PlannedChange::Remove {
                        person_id: Some(g.person_id),
                        app_member_id: m.app_member_id.clone(),
                    });
                }
            }
            continue;
        }
        // Wanted: one member carries the grant, an active one when there is one.
        let member = matched
            .iter()
            .copied()
            .find(|m| m.state != MemberState::Deactivated)
            .or(matched.first().copied());
        let email = || people.get(&g.person_id).map(|p| p.email.clone());
        let on_resources = |m: &HubMember| pending(&g.resource_roles, &m.app_member_id, holdings);
        match (step(&d, member.map(HubMember::seen)), member) {
            (Step::Invite { role }, m) => {
                // Apps such as Synapse drop a deactivated member's email: use the person's.
                if let Some(email) = email() {
                    out.push(PlannedChange::Invite {
                        person_id: g.person_id,
                        email,
                        role,
                        app_member_id: m.map(|m| m.app_member_id.clone()),
                        resources: g
                            .resource_roles
                            .iter()
                            .filter(|r| r.role.is_some())
                            .cloned()
                            .collect(),
                    });
                }
            }
            (Step::UpdateRole { role }, Some(m)) => out.push(PlannedChange::UpdateRole {
                person_id: g.person_id,
                app_member_id: m.app_member_id.clone(),
                role,
                resources: on_resources(m),
            }),
            (Step::Nothing, Some(m)) if matches!(d, Desired::Member { .. }) => {
                let resources = on_resources(m);
                if let (false, Desired::Member { role }) = (resources.is_empty(), &d) {
                    out.push(PlannedChange::UpdateRole {
                        person_id: g.person_id,
                        app_member_id: m.app_member_id.clone(),
                        role: role.clone(),
                        resources,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// The fewest removals the safeguard ever holds: one removal is an admin's revoke or one
/// leaver, never the mass removal the safeguard is for, even in a hub of three members.
pub const SAFEGUARD_MIN_REMOVALS: usize = 2;

/// The one threshold rule of every safeguard: `Some(share)` (0..=1) when `n` of `of` is at
/// least [`SAFEGUARD_MIN_REMOVALS`] and its share exceeds `threshold`.
fn held(n: usize, of: usize, threshold: f64) -> Option<f64> {
    if n < SAFEGUARD_MIN_REMOVALS || of == 0 {
        return None;
    }
    let share = n as f64 / of as f64;
    (share > threshold).then_some(share)
}

/// The safeguard: `Some(reason)` when the removals number at least
/// [`SAFEGUARD_MIN_REMOVALS`] and exceed `threshold` (0..=1) of the active members. Halts need
/// an admin's confirmation.
pub fn safeguard(
    changes: &[PlannedChange],
    members: &[HubMember],
    threshold: f64,
) -> Option<String> {
    let removals = changes
        .iter()
        .filter(|c| matches!(c, PlannedChange::Remove { .. }))
        .count();
    let active = members
        .iter()
        .filter(|m| m.state != MemberState::Deactivated)
        .count();
    held(removals, active, threshold).map(|share| {
        format!(
            "the plan would remove {removals} of {active} members ({:.0}%), above the safeguard threshold of {:.0}%: confirm to proceed",
            share * 100.0,
            threshold * 100.0
        )
    })
}

/// The safeguard on roles on resources: `Some(reason)` when the roles the plan takes away on
/// managed resources number at least [`SAFEGUARD_MIN_REMOVALS`] and exceed `threshold` (0..=1)
/// of the roles held there (`holdings`). Halts need an admin's confirmation.
pub fn resource_safeguard(
    changes: &[PlannedChange],
    holdings: &Holdings,
    threshold: f64,
) -> Option<String> {
    let taken = changes
        .iter()
        .flat_map(|c| match c {
            PlannedChange::UpdateRole { resources, .. } => resources.as_slice(),
            _ => &[],
        })
        .filter(|r| r.role.is_none())
        .count();
    let holders: usize = holdings.values().map(HashMap::len).sum();
    held(taken, holders, threshold).map(|share| {
        format!(
            "the plan would take {taken} of {holders} roles on resources away ({:.0}%), above the safeguard threshold of {:.0}%: confirm to proceed",
            share * 100.0,
            threshold * 100.0
        )
    })
}

/// The shrink safeguard: many members vanishing from a listing at once is more likely a broken
/// listing than real departures. `Some(reason)` when the members of `previous` that were active
/// and are missing from `current_ids` number at least [`SAFEGUARD_MIN_REMOVALS`] and exceed
/// `threshold` (0..=1) of the previously active members. A deactivated member (or one the bot
/// removed) may vanish without counting, and one vanished member never halts, as for plans.
pub fn shrink_safeguard(
    previous: &[HubMember],
    current_ids: &HashSet<&str>,
    threshold: f64,
) -> Option<String> {
    let active: Vec<&HubMember> = previous
        .iter()
        .filter(|m| m.state != MemberState::Deactivated)
        .collect();
    let vanished = active
        .iter()
        .filter(|m| !current_ids.contains(m.app_member_id.as_str()))
        .count();
    held(vanished, active.len(), threshold).map(|share| {
        format!(
            "{vanished} of {} active members disappeared since the last sync ({:.0}%), above the safeguard threshold of {:.0}%: confirm to accept",
            active.len(),
            share * 100.0,
            threshold * 100.0
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::HubRole;

    /// A fixed instant: the rules take `now` as input, so tests need no clock.
    fn t0() -> chrono::DateTime<chrono::Utc> {
        use chrono::TimeZone;
        chrono::Utc.timestamp_opt(1_780_000_000, 0).unwrap()
    }

    fn person(email: &str) -> MatchPerson {
        MatchPerson {
            id: PersonId::new(),
            email: email.into(),
            active: true,
        }
    }

    fn member(id: &str, email: &str, role: &str) -> AppMember {
        AppMember {
            app_member_id: id.into(),
            email: Some(email.into()),
            name: None,
            roles: vec![role.into()],
            state: MemberState::Active,
        }
    }

    fn grant(p: &MatchPerson, role: &str, revoked: bool) -> Grant {
        Grant {
            person_id: p.id,
            hub_role: HubRole::Collaborator,
            app_role: role.into(),
            revoked,
            keep_seat: false,
            resource_roles: vec![],
            updated_at: t0(),
        }
    }

    #[test]
    fn matching_sorts_members() {
        let ana = person("ana@acme.com");
        let bo = person("bo@acme.com");
        let members = [
            member("@ana", " Ana+slack@ACME.com ", "user"),
            member("@zed", "zed@acme.com", "user"),
            member("@ext", "x@partner.io", "user"),
        ];
        let snap = match_members(&members, &[], &[ana.clone(), bo], t0());
        assert_eq!(snap[0].matching, Matching::Onboarded);
        assert_eq!(snap[0].person_id, Some(ana.id));
        assert_eq!(snap[1].matching, Matching::Unmatched);
        assert_eq!(snap[2].matching, Matching::Guest);
    }

    #[test]
    fn exemptions_survive_a_sync() {
        let now = t0();
        let mut first = match_members(
            &[member("@ext", "x@partner.io", "user")],
            &[],
            &[person("a@acme.com")],
            now,
        );
        first[0].matching = Matching::Exempted;
        first[0].exempt_reason = Some("contractor".into());
        let second = match_members(
            &[member("@ext", "x@partner.io", "user")],
            &first,
            &[person("a@acme.com")],
            now,
        );
        assert_eq!(second[0].matching, Matching::Exempted);
        assert_eq!(second[0].exempt_reason.as_deref(), Some("contractor"));
    }

    #[test]
    fn diff_reports_new_changed_gone() {
        let people = [person("a@acme.com")];
        let before = match_members(
            &[
                member("@a", "a@acme.com", "user"),
                member("@b", "b@acme.com", "user"),
            ],
            &[],
            &people,
            t0(),
        );
        let after = match_members(
            &[
                member("@a", "a@acme.com", "admin"),
                member("@c", "c@acme.com", "user"),
            ],
            &before,
            &people,
            t0(),
        );
        let mut r = SyncReport::default();
        diff(&before, &after, &mut r);
        assert_eq!(r.new, vec!["@c"]);
        assert_eq!(r.changed, vec!["@a"]);
        assert_eq!(r.gone, vec!["@b"]);
    }

    #[test]
    fn plan_invites_updates_and_removes() {
        let (a, b, c) = (
            person("a@acme.com"),
            person("b@acme.com"),
            person("c@acme.com"),
        );
        let people = [a.clone(), b.clone(), c.clone()];
        let snap = match_members(
            &[
                member("@b", "b@acme.com", "user"),
                member("@c", "c@acme.com", "user"),
            ],
            &[],
            &people,
            t0(),
        );
        let grants = [
            grant(&a, "user", false),
            grant(&b, "admin", false),
            grant(&c, "user", true),
        ];
        let p = plan(&snap, &grants, &people, &Holdings::new());
        assert_eq!(p.len(), 3);
        assert!(matches!(&p[0], PlannedChange::Invite { email, .. } if email == "a@acme.com"));
        assert!(matches!(&p[1], PlannedChange::UpdateRole { role, .. } if role == "admin"));
        assert!(
            matches!(&p[2], PlannedChange::Remove { app_member_id, .. } if app_member_id == "@c")
        );
        let mut keep = grants[2].clone();
        keep.keep_seat = true;
        assert!(plan(&snap, &[keep], &people, &Holdings::new()).is_empty());
    }

    /// Roles on resources: a member in the right app role gets a role change for the resource
    /// roles not yet held; an invite carries the grant's roles; taking many away is held.
    #[test]
    fn resource_roles_are_planned_and_their_removal_is_safeguarded() {
        let people: Vec<MatchPerson> = (0..4).map(|i| person(&format!("p{i}@acme.com"))).collect();
        let members: Vec<AppMember> = (0..3)
            .map(|i| member(&format!("@p{i}"), &format!("p{i}@acme.com"), "user"))
            .collect();
        let snap = match_members(&members, &[], &people, t0());
        let rr = |id: &str, role: Option<&str>| ResourceRole {
            resource_id: id.into(),
            role: role.map(Into::into),
        };
        let mut grants: Vec<Grant> = people.iter().map(|p| grant(p, "user", false)).collect();
        grants[0].resource_roles = vec![rr("x", Some("Manager"))];
        grants[1].resource_roles = vec![rr("x", None)];
        grants[2].resource_roles = vec![rr("x", Some("Developer"))];
        grants[3].resource_roles = vec![rr("x", Some("Developer"))];
        let mut holders = HashMap::new();
        holders.insert("@p0".to_owned(), vec!["Developer".to_owned()]);
        holders.insert("@p1".to_owned(), vec!["Developer".to_owned()]);
        holders.insert("@p2".to_owned(), vec!["Developer".to_owned()]);
        let holdings: Holdings = HashMap::from([("x".to_owned(), holders)]);
        let p = plan(&snap, &grants, &people, &holdings);
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(
            p[0],
            PlannedChange::UpdateRole {
                person_id: people[0].id,
                app_member_id: "@p0".into(),
                role: "user".into(),
                resources: vec![rr("x", Some("Manager"))],
            }
        );
        assert!(
            matches!(&p[1], PlannedChange::UpdateRole { resources, .. } if *resources == [rr("x", None)])
        );
        assert!(
            matches!(&p[2], PlannedChange::Invite { resources, .. } if *resources == [rr("x", Some("Developer"))])
        );
        // One role taken away of three held passes; two are held.
        assert!(resource_safeguard(&p, &holdings, 0.2).is_none());
        grants[0].resource_roles = vec![rr("x", None)];
        let p = plan(&snap, &grants, &people, &holdings);
        assert!(resource_safeguard(&p, &holdings, 0.2).is_some());
        assert!(resource_safeguard(&p, &holdings, 0.7).is_none());
    }

    #[test]
    fn safeguard_halts_above_threshold() {
        let people: Vec<MatchPerson> = (0..10).map(|i| person(&format!("p{i}@acme.com"))).collect();
        let members: Vec<AppMember> = (0..10)
            .map(|i| member(&format!("@p{i}"), &format!("p{i}@acme.com"), "user"))
            .collect();
        let snap = match_members(&members, &[], &people, t0());
        let grants: Vec<Grant> = people
            .iter()
            .enumerate()
            .map(|(i, p)| grant(p, "user", i < 3))
            .collect();
        let changes = plan(&snap, &grants, &people, &Holdings::new());
        assert_eq!(changes.len(), 3);
        assert!(safeguard(&changes, &snap, 0.2).is_some());
        assert!(safeguard(&changes[..2], &snap, 0.2).is_none());
        assert!(safeguard(&changes, &snap, 0.3).is_none());
    }

    #[test]
    fn one_removal_is_never_held_even_in_a_small_hub() {
        let people: Vec<MatchPerson> = (0..3).map(|i| person(&format!("p{i}@acme.com"))).collect();
        let members: Vec<AppMember> = (0..3)
            .map(|i| member(&format!("@p{i}"), &format!("p{i}@acme.com"), "user"))
            .collect();
        let snap = match_members(&members, &[], &people, t0());
        let revoke = |n: usize| -> Vec<Grant> {
            people
                .iter()
                .enumerate()
                .map(|(i, p)| grant(p, "user", i < n))
                .collect()
        };
        let one = plan(&snap, &revoke(1), &people, &Holdings::new());
        assert_eq!(one.len(), 1, "{one:?}");
        assert!(
            safeguard(&one, &snap, 0.2).is_none(),
            "1 of 3 is a revoke, not a mass removal"
        );
        let two = plan(&snap, &revoke(2), &people, &Holdings::new());
        assert!(safeguard(&two, &snap, 0.2).is_some(), "2 of 3 is held");
    }

    #[test]
    fn the_shrink_safeguard_counts_active_members_and_never_one() {
        let mut members: Vec<AppMember> = (0..3)
            .map(|i| member(&format!("m{i}"), &format!("m{i}@x.org"), "user"))
            .collect();
        members[2].state = MemberState::Deactivated;
        let previous = match_members(&members, &[], &[], t0());
        let ids = |keep: &[&'static str]| keep.iter().copied().collect::<HashSet<&str>>();
        // One active member of two vanished: 50%, but one never halts.
        assert_eq!(shrink_safeguard(&previous, &ids(&["m1", "m2"]), 0.2), None);
        // A deactivated member vanishing does not count.
        assert_eq!(shrink_safeguard(&previous, &ids(&["m0", "m1"]), 0.2), None);
        // Both active members vanished: halted.
        let why = shrink_safeguard(&previous, &ids(&["m2"]), 0.2).expect("halted");
        assert!(
            why.starts_with("2 of 2 active members disappeared"),
            "{why}"
        );
        // Under the threshold: not halted.
        assert_eq!(shrink_safeguard(&previous, &ids(&["m2"]), 1.0), None);
    }
}
