//! Grants, on the [`Hubs`] capability: sharing a hub with a person (or changing their app
//! role), revoking grants, revoking everywhere when a person is deactivated, and superseding
//! the write jobs a grant change makes obsolete.

use chrono::{DateTime, Utc};

use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::catalog::Capability;
use crate::desired::supersede_prefix;
use crate::error::{CoreError, CoreResult};
use crate::hub::{Grant, Hub, HubId, HubRole, Job, Trigger};
use crate::ids::PersonId;
use crate::model::PersonStatus;
use crate::permissions::{can, Permit};
use crate::ports::Supersede;
use crate::resource_roles::{self, ResourceRole};
use crate::service::{Castellan, Hubs};
use crate::validate;

/// Sharing a hub (or changing the app role).
#[derive(Debug, Clone, Default)]
pub struct ShareHub {
    /// Hub role (default collaborator).
    pub hub_role: Option<HubRole>,
    /// App role (default: the connector's default role).
    pub app_role: Option<String>,
    /// Roles on resources inside the app: `None` keeps the grant's as they are; a list
    /// replaces them (a resource left out keeps no role: the bot takes it away). Each names a
    /// resource the app listed at the last check for updates.
    pub resource_roles: Option<Vec<ResourceRole>>,
}

/// How many times a share is made again when another grant change lands while it is made.
const SHARE_ATTEMPTS: u32 = 5;

/// Revoking people's access.
#[derive(Debug, Clone)]
pub struct RevokeHub {
    /// The people.
    pub person_ids: Vec<PersonId>,
    /// Keep their seat: drop only Castellan's management.
    pub keep_seat: bool,
}

/// The write jobs a change of `person`'s grant on `hub` makes obsolete, with the reason and
/// the `job.superseded` event for the automation log.
fn supersede(
    now: DateTime<Utc>,
    actor: &Actor,
    hub: HubId,
    person: PersonId,
    what: &str,
) -> Supersede {
    let reason = format!("superseded: the grant was {what} by {}", actor.name);
    let event = NewEvent::new(actor, ActivityAction::JobSuperseded, now)
        .details(serde_json::json!({ "hub_id": hub, "person_id": person, "reason": reason }));
    Supersede {
        key_prefix: supersede_prefix(hub, person),
        reason,
        event,
    }
}

impl Castellan {
    /// What a share asks for on resources, checked against the resources the app listed at the
    /// hub's last check for updates ([`resource_roles::checked`]). `Validation`
    /// (`resource_roles`) when the hub's connector has no roles on resources or no check has
    /// listed any yet.
    async fn resource_roles_asked(
        &self,
        hub: &Hub,
        asked: &[ResourceRole],
    ) -> CoreResult<Vec<ResourceRole>> {
        if asked.is_empty() {
            return Ok(vec![]);
        }
        let can = self
            .hub_connector(hub, None)
            .await?
            .is_some_and(|c| c.describe().can(Capability::ResourceRoles));
        if !can {
            return Err(CoreError::invalid(
                "resource_roles",
                "this hub's connector has no roles on resources",
            ));
        }
        let report = self.store.last_report(hub.id).await?.map(|(_, r)| r);
        // The last check may have found the capability off for this instance (a setting, a plan).
        let discovered = report.as_ref().map(|r| r.capabilities.as_slice());
        if discovered.is_some_and(|c| !c.is_empty() && !c.contains(&Capability::ResourceRoles)) {
            return Err(CoreError::invalid(
                "resource_roles",
                "the app has no roles on resources for this hub (found at the last check for updates)",
            ));
        }
        let listed = report.map(|r| r.resources).unwrap_or_default();
        if listed.is_empty() {
            return Err(CoreError::invalid(
                "resource_roles",
                "the app listed no resources yet: check for updates first",
            ));
        }
        resource_roles::checked(asked, &listed)
    }

    /// The roles a grant on `hub` may give and the default one: its connector's (resolved by
    /// [`Castellan::hub_connector`]), else the app's catalog roles.
    pub(crate) async fn connector_roles(&self, hub: &Hub) -> CoreResult<(Vec<String>, String)> {
        // Roles the app itself listed at the last check win over the connector's fixed list.
        let listed = self
            .store
            .last_report(hub.id)
            .await?
            .map(|(_, r)| r.roles)
            .unwrap_or_default();
        if let Some(c) = self.hub_connector(hub, None).await? {
            let info = c.describe();
            if listed.is_empty() {
                return Ok((info.roles, info.default_role));
            }
            let default = if listed.contains(&info.default_role) {
                info.default_role
            } else {
                listed.last().cloned().unwrap_or_default()
            };
            return Ok((listed, default));
        }
        let app = self.app_of(hub).await?;
        let default = app.roles.last().cloned().unwrap_or_else(|| "user".into());
        Ok((app.roles, default))
    }

    /// Deactivation of a person: revokes their grants on every hub (called by `update_person`).
    pub(crate) async fn revoke_everywhere(
        &self,
        actor: &Actor,
        person: PersonId,
    ) -> CoreResult<()> {
        // Every hub re-plans: members matched to the person are removed even without a grant.
        // Their desired state changed, so jobs running now queue a follow-up when they finish.
        let hubs: Vec<HubId> = self.store.hubs().await?.iter().map(|h| h.id).collect();
        let syncs: Vec<Job> = hubs
            .iter()
            .map(|h| self.sync_job(*h, Trigger::GrantChange, actor, false))
            .collect();
        self.store.mark_desired_changed(&hubs, &syncs).await?;
        for (hub, g) in self.store.grants_of_person(person).await? {
            if g.revoked {
                continue;
            }
            self.revoke_grant(
                actor,
                &Revocation {
                    hub,
                    hub_label: "",
                    person,
                    keep_seat: false,
                    why: "revoked: the person was deactivated",
                    details: serde_json::json!({ "person_id": person, "reason": "person deactivated" }),
                },
                &[self.sync_job(hub, Trigger::GrantChange, actor, false)],
            )
            .await?;
        }
        Ok(())
    }
}

/// One person's revocation on one hub ([`Castellan::revoke_grant`]).
struct Revocation<'a> {
    hub: HubId,
    /// For the activity event's target (may be empty).
    hub_label: &'a str,
    person: PersonId,
    keep_seat: bool,
    /// Why write jobs planned before it are superseded.
    why: &'a str,
    /// The `hub.revoke` event's details.
    details: serde_json::Value,
}

impl Castellan {
    /// Revokes one person's grant: read, change, write with the grants version as the guard
    /// (like [`Hubs::share`]), so a concurrent share's roles on resources are never written
    /// back over the revocation, nor lost from it. Queues `jobs` with the write. A grant
    /// someone revoked meanwhile is returned as it is.
    async fn revoke_grant(
        &self,
        actor: &Actor,
        r: &Revocation<'_>,
        jobs: &[Job],
    ) -> CoreResult<Grant> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let version = self.store.grants_version(r.hub).await?;
            let current = self
                .store
                .grants(r.hub)
                .await?
                .into_iter()
                .find(|g| g.person_id == r.person)
                .ok_or(CoreError::NotFound { kind: "grant" })?;
            if current.revoked {
                if !jobs.is_empty() {
                    self.store.enqueue(jobs, None).await?;
                }
                return Ok(current);
            }
            let mut g = current;
            g.revoked = true;
            g.keep_seat = r.keep_seat;
            // Roles on resources end with the grant (a kept seat keeps whatever it holds).
            if !g.keep_seat {
                g.resource_roles = resource_roles::taken_away(&g.resource_roles);
            }
            g.updated_at = self.now();
            let ev = NewEvent::new(actor, ActivityAction::HubRevoke, self.now())
                .target("hub", r.hub, r.hub_label)
                .details(r.details.clone());
            let wrote = self
                .store
                .upsert_grant(
                    r.hub,
                    &g,
                    Some(version),
                    &supersede(self.now(), actor, r.hub, g.person_id, r.why),
                    jobs,
                    &ev,
                )
                .await;
            match wrote {
                Err(CoreError::Conflict(_)) if attempts < SHARE_ATTEMPTS => continue,
                Err(e) => return Err(e),
                Ok(_) => return Ok(g),
            }
        }
    }
}

impl Hubs<'_> {
    /// The hub's grants. Needs `HubRead`.
    pub async fn grants(&self, _: &Permit<can::HubRead>, id: HubId) -> CoreResult<Vec<Grant>> {
        self.hub_record(id).await?;
        self.store.grants(id).await
    }

    /// Shares the hub with a person (or changes their app role): the bot then invites them or
    /// updates their role. Needs `HubManage`.
    pub async fn share(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        person: PersonId,
        s: ShareHub,
    ) -> CoreResult<Grant> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        let p = self.person_record(person).await?;
        if p.status == PersonStatus::Deactivated {
            return Err(CoreError::invalid(
                "person_id",
                "this person is deactivated",
            ));
        }
        let (roles, default) = self.connector_roles(&hub).await?;
        let asked_role = s.app_role.as_ref().map(|r| r.trim().to_lowercase());
        if let Some(r) = asked_role.as_ref().filter(|r| !roles.contains(r)) {
            return Err(CoreError::invalid(
                "app_role",
                format!(
                    "`{}` is not one of the app's roles: {}",
                    validate::clip(r),
                    roles.join(", ")
                ),
            ));
        }
        let asked = match &s.resource_roles {
            Some(asked) => Some(self.resource_roles_asked(&hub, asked).await?),
            None => None,
        };
        // Read, merge, write, with the grants version as the guard: a concurrent change of the
        // hub's grants makes the write fail with `Conflict`, and the share is made again from
        // what is there now (another share's resource roles are never lost).
        let mut attempts = 0;
        loop {
            attempts += 1;
            let version = self.store.grants_version(id).await?;
            let before = self
                .store
                .grants(id)
                .await?
                .into_iter()
                .find(|g| g.person_id == person);
            let active = before.as_ref().filter(|g| !g.revoked);
            // What the share leaves out stays as the active grant has it; a revoked grant's roles
            // on resources ended with it, so the bot takes any still held away.
            let kept = match (&before, active) {
                (_, Some(g)) => g.resource_roles.clone(),
                (Some(g), None) => resource_roles::taken_away(&g.resource_roles),
                (None, None) => vec![],
            };
            let g = Grant {
                person_id: person,
                hub_role: s
                    .hub_role
                    .or(active.map(|g| g.hub_role))
                    .unwrap_or(HubRole::Collaborator),
                app_role: asked_role
                    .clone()
                    .or(active
                        .map(|g| g.app_role.clone())
                        .filter(|r| roles.contains(r)))
                    .unwrap_or_else(|| default.clone()),
                revoked: false,
                keep_seat: false,
                resource_roles: resource_roles::merge(&kept, asked.as_deref()),
                updated_at: self.now(),
            };
            let ev = NewEvent::new(actor, ActivityAction::HubShare, self.now())
                .target("hub", hub.id, &hub.label)
                .details(serde_json::json!({
                    "person_id": p.id, "email": p.email, "hub_role": g.hub_role,
                    "app_role": g.app_role, "resource_roles": g.resource_roles
                }));
            let why = format!("shared with app role `{}`", g.app_role);
            let wrote = self
                .store
                .upsert_grant(
                    id,
                    &g,
                    Some(version),
                    &supersede(self.now(), actor, id, person, &why),
                    &[self.sync_job(id, Trigger::GrantChange, actor, false)],
                    &ev,
                )
                .await;
            match wrote {
                Err(CoreError::Conflict(_)) if attempts < SHARE_ATTEMPTS => continue,
                Err(e) => return Err(e),
                Ok(_) => return Ok(g),
            }
        }
    }

    /// Revokes people's grants: the bot removes them (or, with keep-seat, only stops managing
    /// them). All revocations land in one plan, so the safeguard sees them together.
    pub async fn revoke(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        r: RevokeHub,
    ) -> CoreResult<Vec<Grant>> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        if r.person_ids.is_empty() {
            return Err(CoreError::invalid("person_ids", "name at least one person"));
        }
        // Every person must hold an active grant, checked before anything is written.
        let grants = self.store.grants(id).await?;
        for (i, pid) in r.person_ids.iter().enumerate() {
            if !grants.iter().any(|g| g.person_id == *pid && !g.revoked) {
                return Err(CoreError::invalid(
                    format!("person_ids[{i}]"),
                    "this person holds no active grant on the hub",
                ));
            }
        }
        let mut out = vec![];
        let last = r.person_ids.len() - 1;
        for (i, pid) in r.person_ids.iter().enumerate() {
            // One sync job after the last grant: the plan sees every revocation at once.
            let jobs = if i == last {
                vec![self.sync_job(id, Trigger::GrantChange, actor, false)]
            } else {
                vec![]
            };
            let why = if r.keep_seat {
                "revoked, keeping the seat"
            } else {
                "revoked"
            };
            let one = Revocation {
                hub: hub.id,
                hub_label: &hub.label,
                person: *pid,
                keep_seat: r.keep_seat,
                why,
                details: serde_json::json!({ "person_id": pid, "keep_seat": r.keep_seat }),
            };
            out.push(self.revoke_grant(actor, &one, &jobs).await?);
        }
        Ok(out)
    }
}
