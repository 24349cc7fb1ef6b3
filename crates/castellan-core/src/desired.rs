//! The desired state of one person on one hub, and the one step that brings the app there.
//!
//! This is the bot's invariant as one rule: once the bot is quiet, every app matches the
//! current grants (or its hub says why not). [`crate::reconcile::plan`] (a check for updates)
//! and every write job *when it runs* decide through [`desired`] and [`step`], so a delayed job
//! (a dead worker's lease, a retry after a 503, another worker on PostgreSQL) acts on the grants
//! as they are now, never on the plan it was made from. A newer intent always wins:
//! - a grant change cancels the queued and retrying write jobs it makes obsolete
//!   ([`supersede_prefix`]);
//! - a write job that runs anyway (it was already held by a worker) re-reads the grant and the
//!   app, and does what the grant says now ([`decide`]);
//! - a job that completes after the grants changed under it queues a check for updates in the
//!   same transaction that completes it (the store's `complete_job` follow-up).
//!
//! No I/O here.

use crate::connector::MemberState;
use crate::hub::{Grant, HubId, Task};
use crate::ids::PersonId;

/// What the grants want for one person on one hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desired {
    /// An active member with this app role.
    Member {
        /// The app role the grant gives.
        role: String,
    },
    /// No active member: the grant was revoked (without keep-seat) or the person was
    /// deactivated.
    Absent,
    /// Castellan does not manage this person here: no grant, or a seat kept on revoke.
    Unmanaged,
}

/// The desired state from the person's grant on the hub (if any) and whether the person is
/// active (`false` for a deactivated or missing person).
///
/// Rules, in order: a seat kept on revoke (`keep_seat`) is left alone; a deactivated person
/// leaves every app; no grant means not managed; a revoked grant means absent; otherwise a
/// member with the grant's app role.
pub fn desired(grant: Option<&Grant>, person_active: bool) -> Desired {
    let kept = grant.is_some_and(|g| g.keep_seat && (g.revoked || !person_active));
    match grant {
        _ if kept => Desired::Unmanaged,
        _ if !person_active => Desired::Absent,
        None => Desired::Unmanaged,
        Some(g) if g.revoked => Desired::Absent,
        Some(g) => Desired::Member {
            role: g.app_role.clone(),
        },
    }
}

/// The app member as the bot last saw it: its state and every app role it holds (an app may
/// give a member several).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen<'a> {
    /// State in the app.
    pub state: MemberState,
    /// The member's app roles.
    pub roles: &'a [String],
}

/// The one change that brings a member (or its absence, `None`) to the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Invite (or reactivate a deactivated member) with this role.
    Invite {
        /// App role.
        role: String,
    },
    /// Change the member's role.
    UpdateRole {
        /// New app role.
        role: String,
    },
    /// Remove (deactivate) the member.
    Remove,
    /// Already as desired.
    Nothing,
}

/// The step from `member` (as seen in the app; `None` when there is none) to `desired`.
pub fn step(desired: &Desired, member: Option<Seen<'_>>) -> Step {
    let active = member.filter(|m| m.state != MemberState::Deactivated);
    match (desired, active) {
        (Desired::Member { role }, None) => Step::Invite { role: role.clone() },
        (Desired::Member { role }, Some(m)) if !m.roles.iter().any(|r| r == role) => {
            Step::UpdateRole { role: role.clone() }
        }
        (Desired::Absent, Some(_)) => Step::Remove,
        _ => Step::Nothing,
    }
}

/// What a write job does when it runs, and why, when that is not what it was planned to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The step to take now.
    pub step: Step,
    /// Set when the current grant no longer agrees with the job's instruction: the recorded
    /// reason for skipping or adapting (for the automation log).
    pub superseded: Option<String>,
}

/// The run-time decision of a write job planned as `task` (with `planned_role` for invites
/// and role changes) given the current desired state and the member as the app shows it now.
/// `Step::Nothing` without a reason means the change is already done (a retry after a lost
/// answer); with a reason, the change is no longer wanted.
pub fn decide(
    task: Task,
    planned_role: Option<&str>,
    desired: &Desired,
    member: Option<Seen<'_>>,
) -> Decision {
    let step = step(desired, member);
    let still_wanted = match (task, desired) {
        (Task::InviteMember | Task::UpdateMemberRole, Desired::Member { role }) => {
            planned_role == Some(role.as_str())
        }
        (Task::RemoveMember, Desired::Absent) => true,
        _ => false,
    };
    let superseded = (!still_wanted).then(|| {
        let now = match desired {
            Desired::Member { role } => format!("the grant now asks for role `{role}`"),
            Desired::Absent => {
                "the grant was revoked or the person deactivated since the job was planned".into()
            }
            Desired::Unmanaged => {
                "the person no longer holds a grant that Castellan manages on this hub".into()
            }
        };
        match &step {
            Step::Nothing => format!("skipped: {now}"),
            Step::Invite { role } => format!("adapted to an invitation as `{role}`: {now}"),
            Step::UpdateRole { role } => format!("adapted to a role change to `{role}`: {now}"),
            Step::Remove => format!("adapted to a removal: {now}"),
        }
    });
    Decision { step, superseded }
}

/// The deduplication key of a write job on a hub: one waiting write job per person (it
/// converges all of the person's members), and jobs with one key run one at a time, so two
/// jobs never act on one person at once.
/// `person` is `None` for a manual removal of a member no person is matched to, keyed by the
/// member (`app_member_id`).
pub fn member_job_key(hub: HubId, person: Option<PersonId>, app_member_id: Option<&str>) -> String {
    match person {
        Some(p) => format!("member:{hub}:{p}"),
        None => format!("member:{hub}:-:{}", app_member_id.unwrap_or_default()),
    }
}

/// The key prefix of the write job for `person` on `hub`: a change of the person's grant
/// cancels it while it is queued or retrying (a held job re-decides when it runs).
pub fn supersede_prefix(hub: HubId, person: PersonId) -> String {
    member_job_key(hub, Some(person), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed instant: the rules take `now` as input, so tests need no clock.
    fn t0() -> chrono::DateTime<chrono::Utc> {
        use chrono::TimeZone;
        chrono::Utc.timestamp_opt(1_780_000_000, 0).unwrap()
    }
    use crate::hub::HubRole;

    fn grant(role: &str, revoked: bool, keep_seat: bool) -> Grant {
        Grant {
            person_id: PersonId::new(),
            hub_role: HubRole::Collaborator,
            app_role: role.into(),
            revoked,
            keep_seat,
            resource_roles: vec![],
            updated_at: t0(),
        }
    }

    fn seen(state: MemberState, role: &str) -> Option<Seen<'static>> {
        held(state, &[role])
    }

    /// A member holding `roles` (leaked: tests only).
    fn held(state: MemberState, roles: &[&str]) -> Option<Seen<'static>> {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        Some(Seen {
            state,
            roles: Box::leak(roles.into_boxed_slice()),
        })
    }

    #[test]
    fn a_member_with_several_roles_has_the_granted_one_among_them() {
        use MemberState::Active;
        assert_eq!(
            step(&member("editor"), held(Active, &["author", "editor"])),
            Step::Nothing
        );
        assert_eq!(
            step(&member("admin"), held(Active, &["author", "editor"])),
            Step::UpdateRole {
                role: "admin".into()
            }
        );
        assert_eq!(
            step(&member("user"), held(Active, &[])),
            Step::UpdateRole {
                role: "user".into()
            }
        );
    }

    fn member(role: &str) -> Desired {
        Desired::Member { role: role.into() }
    }

    #[test]
    fn desired_follows_the_grant_and_the_person() {
        assert_eq!(
            desired(Some(&grant("user", false, false)), true),
            member("user")
        );
        assert_eq!(
            desired(Some(&grant("user", true, false)), true),
            Desired::Absent
        );
        assert_eq!(
            desired(Some(&grant("user", true, true)), true),
            Desired::Unmanaged
        );
        assert_eq!(desired(None, true), Desired::Unmanaged);
        // A deactivated person leaves every app, with or without a grant, unless a seat is kept.
        assert_eq!(desired(None, false), Desired::Absent);
        assert_eq!(
            desired(Some(&grant("user", false, false)), false),
            Desired::Absent
        );
        assert_eq!(
            desired(Some(&grant("user", true, true)), false),
            Desired::Unmanaged
        );
    }

    #[test]
    fn step_converges_on_the_desired_state() {
        use MemberState::*;
        assert_eq!(
            step(&member("user"), None),
            Step::Invite {
                role: "user".into()
            }
        );
        assert_eq!(
            step(&member("user"), seen(Deactivated, "user")),
            Step::Invite {
                role: "user".into()
            }
        );
        assert_eq!(
            step(&member("admin"), seen(Active, "user")),
            Step::UpdateRole {
                role: "admin".into()
            }
        );
        assert_eq!(step(&member("user"), seen(Invited, "user")), Step::Nothing);
        assert_eq!(step(&Desired::Absent, seen(Active, "user")), Step::Remove);
        assert_eq!(
            step(&Desired::Absent, seen(Deactivated, "user")),
            Step::Nothing
        );
        assert_eq!(step(&Desired::Absent, None), Step::Nothing);
        assert_eq!(
            step(&Desired::Unmanaged, seen(Active, "user")),
            Step::Nothing
        );
    }

    /// Sequence 1 of the issue: an invite whose create call was lost runs after a revoke.
    #[test]
    fn a_delayed_invite_after_a_revoke_does_nothing_or_removes_what_it_made() {
        let d = Desired::Absent;
        let no_member = decide(Task::InviteMember, Some("user"), &d, None);
        assert_eq!(no_member.step, Step::Nothing);
        assert!(no_member
            .superseded
            .unwrap()
            .starts_with("skipped: the grant was revoked"));
        // The lost call did reach the app: the member it made goes again.
        let made = decide(
            Task::InviteMember,
            Some("user"),
            &d,
            seen(MemberState::Active, "user"),
        );
        assert_eq!(made.step, Step::Remove);
        assert!(made.superseded.unwrap().starts_with("adapted to a removal"));
    }

    /// The role sequence: admin, then back to user, with the admin change delayed.
    #[test]
    fn a_delayed_role_change_yields_to_the_newer_role() {
        let now_user = member("user");
        let untouched = decide(
            Task::UpdateMemberRole,
            Some("admin"),
            &now_user,
            seen(MemberState::Active, "user"),
        );
        assert_eq!(untouched.step, Step::Nothing);
        assert!(untouched.superseded.unwrap().contains("`user`"));
        // The admin change reached the app before the job died: it is turned back.
        let applied = decide(
            Task::UpdateMemberRole,
            Some("admin"),
            &now_user,
            seen(MemberState::Active, "admin"),
        );
        assert_eq!(
            applied.step,
            Step::UpdateRole {
                role: "user".into()
            }
        );
        assert!(applied.superseded.is_some());
    }

    #[test]
    fn a_retry_of_a_still_wanted_change_is_not_superseded() {
        let d = member("user");
        let retry = decide(
            Task::InviteMember,
            Some("user"),
            &d,
            seen(MemberState::Active, "user"),
        );
        assert_eq!(
            retry,
            Decision {
                step: Step::Nothing,
                superseded: None
            }
        );
        let first = decide(Task::InviteMember, Some("user"), &d, None);
        assert_eq!(
            first.step,
            Step::Invite {
                role: "user".into()
            }
        );
        assert_eq!(first.superseded, None);
        let gone = decide(Task::RemoveMember, None, &Desired::Absent, None);
        assert_eq!(
            gone,
            Decision {
                step: Step::Nothing,
                superseded: None
            }
        );
    }

    #[test]
    fn a_re_share_after_a_revoke_turns_a_delayed_removal_around() {
        let d = member("user");
        let removal = decide(
            Task::RemoveMember,
            None,
            &d,
            seen(MemberState::Deactivated, "user"),
        );
        assert_eq!(
            removal.step,
            Step::Invite {
                role: "user".into()
            }
        );
        assert!(removal
            .superseded
            .unwrap()
            .starts_with("adapted to an invitation"));
        let kept = decide(
            Task::RemoveMember,
            None,
            &d,
            seen(MemberState::Active, "user"),
        );
        assert_eq!(kept.step, Step::Nothing);
        assert!(kept.superseded.unwrap().starts_with("skipped"));
    }

    #[test]
    fn one_write_job_key_per_person() {
        let hub = HubId::new();
        let p = PersonId::new();
        let prefix = supersede_prefix(hub, p);
        assert_eq!(member_job_key(hub, Some(p), None), prefix);
        assert_eq!(member_job_key(hub, Some(p), Some("@ana:x")), prefix);
        let manual = member_job_key(hub, None, Some("@ana:x"));
        assert!(!manual.starts_with(&prefix));
        assert_ne!(manual, member_job_key(hub, None, Some("@bo:x")));
        assert!(!member_job_key(HubId::new(), Some(p), None).starts_with(&prefix));
    }
}
