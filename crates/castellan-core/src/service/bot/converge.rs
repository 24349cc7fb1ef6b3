//! Write jobs (invite, role change, removal): each decides when it runs, from the current
//! grant and the members as the app shows them then ([`crate::desired`]).

use std::sync::Arc;

use super::{Bot, Failure};
use crate::connector::{AppSession, Connector, ConnectorContext, Invitation, MemberState};
use crate::desired::{decide, desired, Decision, Desired, Seen, Step};
use crate::error::CoreError;
use crate::hub::{Hub, HubMember, Job, JobParams, Matching, Task};
use crate::ids::PersonId;
use crate::model::PersonStatus;
use crate::CoreResult;

impl Bot {
    /// Every write job (invite, role change, removal) decides when it runs, from the current
    /// grant and the members as the app shows them now ([`crate::desired::decide`]): a retry
    /// never acts twice, and a delayed job never carries out a change that is no longer wanted.
    /// One job per person at a time (its dedupe key), so no two jobs act on one person at once.
    pub(super) async fn converge(&self, job: &mut Job, hub: &Hub) -> Result<String, Failure> {
        let planned_role = job.params.role().map(str::to_owned);
        let ids = job.params.app_member_ids().to_vec();
        let manual = job.params.manual();
        // A manual removal of a member no person was matched to: a check for updates may have
        // matched the member to a person since (who may hold the hub now).
        let person: Option<PersonId> = match job.params.person_id() {
            None if manual => self
                .svc
                .store
                .hub_members(hub.id)
                .await?
                .into_iter()
                .find(|m| ids.contains(&m.app_member_id))
                .and_then(|m| m.person_id),
            p => p,
        };
        let (c, ctx, s) = self.session(job, hub).await?;
        let (want, record, on_resources) = match person {
            Some(pid) => {
                let record = self.svc.store.person(pid).await?;
                let grants = self.svc.effective_grants(hub).await?;
                let grant = grants.iter().find(|g| g.person_id == pid);
                let active = record
                    .as_ref()
                    .is_some_and(|p| p.status != PersonStatus::Deactivated);
                let on_resources = grant.map(|g| g.resource_roles.clone());
                (
                    desired(grant, active),
                    record,
                    on_resources.unwrap_or_default(),
                )
            }
            // A removal an admin asked for by hand, of a member no person is matched to.
            None => (Desired::Absent, None, vec![]),
        };
        // A removal an admin asked for by hand removes, unless the person was given the hub
        // since: then the grant wins (and a manual removal never turns into an invitation).
        let given_since = manual && matches!(want, Desired::Member { .. });
        let want = match want {
            Desired::Member { .. } if manual => Desired::Unmanaged,
            _ if manual => Desired::Absent,
            other => other,
        };
        let email = job
            .params
            .email()
            .map(str::to_owned)
            .or_else(|| record.as_ref().map(|p| p.email.clone()));
        // Re-read before writing: the app is the truth about what is already done.
        let mut members = vec![];
        for id in &ids {
            members.push(c.get_member(&ctx, &s, id).await?);
        }
        if members.iter().all(Option::is_none) {
            if let Some(e) = &email {
                members = vec![c.find_by_email(&ctx, &s, e).await?];
            }
        }
        if members.is_empty() {
            members.push(None);
        }
        // A person wanted in the app has one member; an unwanted one loses every member.
        if want != Desired::Absent {
            members.truncate(1);
        }
        let mut outcomes = vec![];
        for member in members {
            let seen = member.as_ref().map(|m| Seen {
                state: m.state,
                roles: &m.roles,
            });
            let mut decision = decide(job.task, planned_role.as_deref(), &want, seen);
            if given_since {
                decision.superseded = Some(
                    "skipped: the person was given the hub after the removal was asked for".into(),
                );
            }
            let (outcome, after) = self
                .take_step(
                    &c,
                    &ctx,
                    &s,
                    &decision,
                    member.clone(),
                    &email,
                    &record,
                    job,
                )
                .await?;
            self.record(job, outcome).await?;
            if let Some(m) = &after {
                let matched = person.filter(|_| matches!(decision.step, Step::Invite { .. }));
                self.remember(hub, m, matched).await?;
            } else if let (Step::Remove, Some(gone)) = (&decision.step, &member) {
                // The app deleted the member: the snapshot keeps them as deactivated until the
                // next listing drops them, so their absence then is no sign of a broken listing.
                let mut gone = gone.clone();
                gone.state = crate::connector::MemberState::Deactivated;
                self.remember(hub, &gone, None).await?;
            }
            let target = member
                .map(|m| m.app_member_id)
                .or_else(|| email.clone())
                .unwrap_or_default();
            let role = match &decision.step {
                Step::Invite { role } | Step::UpdateRole { role } => format!(" as {role}"),
                _ => String::new(),
            };
            // A wanted member holds the grant's roles on resources too (a role change may be
            // planned for those alone: its app role is then already in place).
            let on_resources = match (&want, &after) {
                (Desired::Member { .. }, Some(m))
                    if m.state != MemberState::Deactivated && !on_resources.is_empty() =>
                {
                    self.fence(job).await?;
                    self.apply_resource_roles(&c, &ctx, &s, &on_resources, &m.app_member_id)
                        .await?
                        .map(|r| format!("; {r}"))
                        .unwrap_or_default()
                }
                _ => String::new(),
            };
            outcomes.push(match decision.superseded {
                Some(why) => format!("{target}: {outcome}{role}{on_resources} ({why})"),
                None => format!("{target}: {outcome}{role}{on_resources}"),
            });
        }
        Ok(outcomes.join("; "))
    }

    /// Carries out one step on one member; returns the outcome and the member afterwards.
    #[allow(clippy::too_many_arguments)]
    async fn take_step(
        &self,
        c: &Arc<dyn Connector>,
        ctx: &ConnectorContext,
        s: &AppSession,
        decision: &Decision,
        member: Option<crate::connector::AppMember>,
        email: &Option<String>,
        record: &Option<crate::model::PersonRecord>,
        job: &Job,
    ) -> Result<(&'static str, Option<crate::connector::AppMember>), Failure> {
        let member_id = || {
            member
                .as_ref()
                .map(|m| m.app_member_id.clone())
                .unwrap_or_default()
        };
        if decision.step != Step::Nothing {
            self.fence(job).await?;
        }
        Ok(match &decision.step {
            Step::Invite { role } => {
                let email = email.clone().ok_or_else(|| {
                    Failure::Core(CoreError::internal(format!(
                        "job {} has no email to invite",
                        job.id
                    )))
                })?;
                // Reactivating names the person's own (deactivated) member; a new member's
                // username is the connector's to choose, never a departed person's.
                let inv = Invitation {
                    email,
                    username: member.as_ref().map(|m| m.app_member_id.clone()),
                    name: record.as_ref().map(|p| p.name.clone()),
                    role: role.clone(),
                };
                ("invited", Some(c.invite(ctx, s, &inv).await?))
            }
            Step::UpdateRole { role } => {
                let m = c.update_role(ctx, s, &member_id(), role).await?;
                ("role_updated", Some(m))
            }
            Step::Remove => {
                let id = member_id();
                c.remove(ctx, s, &id).await?;
                ("removed", c.get_member(ctx, s, &id).await?)
            }
            Step::Nothing => {
                let outcome = match (&decision.superseded, job.task, &member) {
                    (Some(_), _, _) => "superseded",
                    (None, Task::InviteMember, _) => "already_member",
                    (None, Task::UpdateMemberRole, _) => "already_in_role",
                    (None, _, None) => "already_gone",
                    (None, _, Some(_)) => "already_deactivated",
                };
                (outcome, member)
            }
        })
    }

    pub(super) async fn remember(
        &self,
        hub: &Hub,
        m: &crate::connector::AppMember,
        person: Option<PersonId>,
    ) -> CoreResult<()> {
        let now = self.now();
        let prev = self
            .svc
            .store
            .hub_members(hub.id)
            .await?
            .into_iter()
            .find(|x| x.app_member_id == m.app_member_id);
        let hm = HubMember {
            app_member_id: m.app_member_id.clone(),
            email: m.email.clone(),
            name: m.name.clone(),
            app_role: m.roles.first().cloned(),
            roles: m.roles.clone(),
            state: m.state,
            matching: if person.is_some() {
                Matching::Onboarded
            } else {
                prev.as_ref()
                    .map(|p| p.matching)
                    .unwrap_or(Matching::Unmatched)
            },
            person_id: person.or(prev.as_ref().and_then(|p| p.person_id)),
            exempt_reason: prev.as_ref().and_then(|p| p.exempt_reason.clone()),
            first_seen_at: prev.map(|p| p.first_seen_at).unwrap_or(now),
            last_seen_at: now,
        };
        self.svc.store.upsert_hub_member(hub.id, &hm, None).await
    }
}

/// One write job per person (they share a dedupe key): a deactivated person matched to several
/// members gets one removal job over all of them.
pub(super) fn one_job_per_person(jobs: Vec<Job>) -> Vec<Job> {
    let mut out: Vec<Job> = Vec::with_capacity(jobs.len());
    for j in jobs {
        let same = out
            .iter_mut()
            .find(|o| o.dedupe_key.is_some() && o.dedupe_key == j.dedupe_key);
        match same {
            Some(o) => {
                if let (JobParams::RemoveMember(a), JobParams::RemoveMember(b)) =
                    (&mut o.params, &j.params)
                {
                    a.app_member_ids.extend(b.app_member_ids.iter().cloned());
                }
            }
            None => out.push(j),
        }
    }
    out
}
