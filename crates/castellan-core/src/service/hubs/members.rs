//! Members, on the [`Hubs`] capability: the app's members as the last sync saw them, and what
//! an admin does with one (match to a person, exempt with a reason, remove from the app).

use crate::activity::{ActivityAction, NewEvent};
use crate::desired::member_job_key;
use crate::error::{CoreError, CoreResult};
use crate::hub::{HubId, HubMember, JobParams, Matching, RemoveParams, Trigger};
use crate::ids::PersonId;
use crate::permissions::{can, Permit};
use crate::service::Hubs;
use crate::validate;

/// What to do with an unmatched member.
#[derive(Debug, Clone)]
pub enum MemberAction {
    /// Match to a person.
    Match {
        /// The person.
        person_id: PersonId,
    },
    /// Exempt with a reason.
    Exempt {
        /// Why.
        reason: String,
    },
    /// Remove from the app.
    Remove,
}

impl Hubs<'_> {
    /// The member snapshot, optionally one matching tab. Needs `HubRead`.
    pub async fn members(
        &self,
        _: &Permit<can::HubRead>,
        id: HubId,
        matching: Option<Matching>,
    ) -> CoreResult<Vec<HubMember>> {
        self.hub_record(id).await?;
        let all = self.store.hub_members(id).await?;
        Ok(all
            .into_iter()
            .filter(|m| matching.is_none_or(|x| m.matching == x))
            .collect())
    }

    /// Matches an unmatched member to a person, exempts them with a reason, or removes them.
    pub async fn act_on_member(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        app_member_id: &str,
        a: MemberAction,
    ) -> CoreResult<HubMember> {
        let actor = permit.actor();
        let hub = self.hub_record(id).await?;
        let mut m = self
            .store
            .hub_members(id)
            .await?
            .into_iter()
            .find(|m| m.app_member_id == app_member_id)
            .ok_or(CoreError::NotFound { kind: "member" })?;
        match a {
            MemberAction::Match { person_id } => {
                let p = self.person_record(person_id).await?;
                if p.status == crate::model::PersonStatus::Deactivated {
                    // The next sync would plan this member's removal (a deactivated person has
                    // no access): exempt the member instead, or reactivate the person.
                    return Err(CoreError::invalid(
                        "person_id",
                        format!(
                            "{} is deactivated; matching would remove this member from the app",
                            p.email
                        ),
                    ));
                }
                m.matching = Matching::Onboarded;
                m.person_id = Some(p.id);
                m.exempt_reason = None;
                let ev = NewEvent::new(actor, ActivityAction::HubMemberMatch, self.now())
                    .target("hub", hub.id, &hub.label)
                    .details(
                        serde_json::json!({ "app_member_id": m.app_member_id, "person_id": p.id }),
                    );
                self.store.upsert_hub_member(id, &m, Some(&ev)).await?;
            }
            MemberAction::Exempt { reason } => {
                let reason = validate::text("reason", &reason, 500)?;
                m.matching = Matching::Exempted;
                m.exempt_reason = Some(reason.clone());
                let ev = NewEvent::new(actor, ActivityAction::HubMemberExempt, self.now())
                    .target("hub", hub.id, &hub.label)
                    .details(
                        serde_json::json!({ "app_member_id": m.app_member_id, "reason": reason }),
                    );
                self.store.upsert_hub_member(id, &m, Some(&ev)).await?;
            }
            MemberAction::Remove => {
                if let Some(pid) = m.person_id {
                    let grants = self.effective_grants(&hub).await?;
                    if grants.iter().any(|g| g.person_id == pid && !g.revoked) {
                        // The grant would bring the member back: one intent at a time.
                        return Err(CoreError::Conflict(
                            "this member's person holds the hub through a grant of their own or a team's: revoke that instead".into(),
                        ));
                    }
                }
                // An admin's explicit removal (no person in the parameters: the job removes,
                // whatever the grants say); a later grant for the person supersedes it.
                let job = self.new_job(
                    id,
                    Trigger::Manual,
                    actor,
                    Some(m.app_member_id.clone()),
                    JobParams::RemoveMember(RemoveParams {
                        person_id: m.person_id,
                        app_member_ids: vec![m.app_member_id.clone()],
                        manual: true,
                    }),
                    Some(member_job_key(id, m.person_id, Some(&m.app_member_id))),
                );
                let ev = NewEvent::new(actor, ActivityAction::HubMemberRemove, self.now())
                    .target("hub", hub.id, &hub.label)
                    .details(serde_json::json!({ "app_member_id": m.app_member_id }));
                if self.store.enqueue(&[job], Some(&ev)).await?.is_empty() {
                    return Err(CoreError::Conflict(
                        "the bot already has a pending job for this member: wait for it to finish"
                            .into(),
                    ));
                }
            }
        }
        Ok(m)
    }
}
