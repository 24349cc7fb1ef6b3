//! Checks for updates: list the app's members, match them to people, compare with the last
//! snapshot and the grants, apply the safeguard, store the report and plan the write jobs.

use super::converge::one_job_per_person;
use super::{Bot, Failure};
use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::desired::member_job_key;
use crate::error::CoreResult;
use crate::hub::{
    Hub, HubStatus, InviteParams, Job, JobParams, RemoveParams, RoleParams, SyncReport,
};
use crate::model::PersonStatus;
use crate::reconcile::{self, MatchPerson, PlannedChange};
use crate::resource_roles::describe;

impl Bot {
    async fn people(&self) -> CoreResult<Vec<MatchPerson>> {
        Ok(self
            .svc
            .store
            .people()
            .await?
            .into_iter()
            .map(|p| MatchPerson {
                id: p.id,
                email: p.email,
                active: p.status != PersonStatus::Deactivated,
            })
            .collect())
    }

    pub(super) async fn check_for_updates(
        &self,
        job: &mut Job,
        hub: &Hub,
    ) -> Result<String, Failure> {
        let (c, ctx, s) = self.session(job, hub).await?;
        c.verify_permissions(&ctx, &s).await?;
        // What this instance really has for this account (a plan, a setting, a server's config).
        let caps = c.discover(&ctx, &s).await?;
        let roles = self.app_roles(&c, &ctx, &s, &caps).await?;
        let members = self.list_all(job, &c, &ctx, &s).await?;
        let confirm = job.params.confirm();
        let people = self.people().await?;
        let previous = self.svc.store.hub_members(hub.id).await?;
        let now = self.now();
        let snapshot = reconcile::match_members(&members, &previous, &people, now);
        let mut report = SyncReport {
            roles,
            capabilities: caps.clone(),
            ..SyncReport::default()
        };
        reconcile::diff(&previous, &snapshot, &mut report);
        let grants = self.svc.effective_grants(hub).await?;
        let (resources, holdings) = self.resources(&c, &ctx, &s, &grants, &caps).await?;
        report.resources = resources;
        let plan = reconcile::plan(&snapshot, &grants, &people, &holdings);
        let mut hub = hub.clone();
        hub.last_sync_at = Some(now);
        hub.updated_at = now;
        let bot = Actor::bot("bot (check_for_updates)").with_scim_request(job.scim_request.clone());
        let mut to_enqueue: Vec<Job> = vec![];
        let current_ids: std::collections::HashSet<&str> =
            members.iter().map(|m| m.app_member_id.as_str()).collect();
        let shrunk = reconcile::shrink_safeguard(&previous, &current_ids, hub.safeguard_threshold);
        let halted = if let (false, Some(reason)) = (confirm, &shrunk) {
            Some(reason.clone())
        } else if confirm {
            None
        } else {
            reconcile::safeguard(&plan, &snapshot, hub.safeguard_threshold).or_else(|| {
                reconcile::resource_safeguard(&plan, &holdings, hub.safeguard_threshold)
            })
        };
        for change in &plan {
            match change {
                PlannedChange::Invite {
                    email, resources, ..
                } => {
                    report.planned_invites.push(email.clone());
                    report.planned_resource_roles.extend(
                        resources
                            .iter()
                            .map(|r| format!("{email} on {}", describe(r))),
                    );
                }
                PlannedChange::UpdateRole {
                    app_member_id,
                    resources,
                    ..
                } => {
                    report.planned_updates.push(app_member_id.clone());
                    report.planned_resource_roles.extend(
                        resources
                            .iter()
                            .map(|r| format!("{app_member_id} on {}", describe(r))),
                    );
                }
                PlannedChange::Remove { app_member_id, .. } => {
                    report.planned_removals.push(app_member_id.clone())
                }
            }
        }
        report.drift = plan.len();
        report.halted = halted.clone();
        if halted.is_none() {
            for change in &plan {
                to_enqueue.push(self.job_for(hub.id, change, job));
            }
        }
        let to_enqueue = one_job_per_person(to_enqueue);
        // A manual hub is in line only once its app admin's tasks show in a roster.
        let waiting = self.svc.manual_status(&hub).await?;
        (hub.status, hub.status_reason) = match (&halted, plan.len()) {
            (Some(reason), _) => (HubStatus::RequiresSync, Some(reason.clone())),
            (None, 0) if waiting.is_some() => (HubStatus::RequiresSync, waiting),
            (None, 0) => (HubStatus::Healthy, None),
            (None, n) => (
                HubStatus::RequiresSync,
                Some(format!("{n} change(s) queued for the bot")),
            ),
        };
        let keep_old = !confirm && shrunk.is_some();
        let ev = NewEvent::new(&bot, ActivityAction::HubCheckForUpdates, self.now())
            .target("hub", hub.id, &hub.label)
            .details(serde_json::json!({
                "job_id": job.id, "total": report.total, "new": report.new.len(), "changed": report.changed.len(),
                "gone": report.gone.len(), "drift": report.drift, "halted": report.halted.is_some()
            }));
        let saved = if keep_old { &previous } else { &snapshot };
        self.svc
            .store
            .save_sync(&hub, saved, &report, job.id, &ev, &to_enqueue)
            .await?;
        Ok(format!(
            "{} members; {} new, {} changed, {} gone; {} change(s) planned{}",
            report.total,
            report.new.len(),
            report.changed.len(),
            report.gone.len(),
            plan.len(),
            if halted.is_some() {
                "; halted by the safeguard"
            } else {
                ""
            }
        ))
    }

    fn job_for(&self, hub: crate::hub::HubId, change: &PlannedChange, parent: &Job) -> Job {
        // The write jobs name who asked for the check, and the SCIM request behind it.
        let actor = Actor::bot(&parent.actor).with_scim_request(parent.scim_request.clone());
        let trigger = parent.trigger;
        match change {
            PlannedChange::Invite {
                person_id,
                email,
                role,
                app_member_id,
                ..
            } => self.svc.new_job(
                hub,
                trigger,
                &actor,
                Some(email.clone()),
                JobParams::InviteMember(InviteParams {
                    person_id: *person_id,
                    email: email.clone(),
                    role: role.clone(),
                    app_member_ids: app_member_id.iter().cloned().collect(),
                }),
                Some(member_job_key(hub, Some(*person_id), None)),
            ),
            PlannedChange::UpdateRole {
                person_id,
                app_member_id,
                role,
                ..
            } => self.svc.new_job(
                hub,
                trigger,
                &actor,
                Some(app_member_id.clone()),
                JobParams::UpdateMemberRole(RoleParams {
                    person_id: *person_id,
                    app_member_ids: vec![app_member_id.clone()],
                    role: role.clone(),
                }),
                Some(member_job_key(hub, Some(*person_id), Some(app_member_id))),
            ),
            PlannedChange::Remove {
                person_id,
                app_member_id,
            } => self.svc.new_job(
                hub,
                trigger,
                &actor,
                Some(app_member_id.clone()),
                JobParams::RemoveMember(RemoveParams {
                    person_id: *person_id,
                    app_member_ids: vec![app_member_id.clone()],
                    manual: false,
                }),
                Some(member_job_key(hub, *person_id, Some(app_member_id))),
            ),
        }
    }
}
