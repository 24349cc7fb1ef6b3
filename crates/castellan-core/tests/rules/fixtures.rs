//! Shared steps of the rules tests.

use castellan_core::activity::ActivityEvent;
use castellan_core::connector::MemberState;
use castellan_core::hub::{Hub, HubId, Job, Task, Trigger};
use castellan_core::ids::PersonId;
use castellan_core::ports::{ActivityFilter, ActivityStore, HubStore};
use castellan_core::service::{RevokeHub, ShareHub};
use castellan_testkit::World;

/// A person as the identity provider describes them: `email` as userName and email, no
/// other addresses, active or not.
pub fn idp_person(email: &str, active: bool) -> castellan_core::service::IdpPerson {
    castellan_core::service::IdpPerson {
        user_name: email.into(),
        email: email.into(),
        emails: Vec::new(),
        name: "Ana".into(),
        given_name: None,
        family_name: None,
        external_id: None,
        active: Some(active),
    }
}

/// Queues a check for updates of `hub` by its owner and runs the bot until it settles.
pub async fn sync(w: &World, hub: HubId) {
    w.svc
        .hubs()
        .sync(&w.owner.permit().unwrap(), hub, false, Trigger::Manual)
        .await
        .expect("queue a check for updates");
    w.drain().await;
}

/// A world with a connected and synced hub labelled `Chat` (healthy, no grants yet).
pub async fn synced_world() -> (World, Hub) {
    let w = World::new().await;
    let hub = w.connect("Chat").await.expect("connect the hub");
    w.drain().await;
    (w, hub)
}

/// A synced hub with nine guests, shared with Ana, then revoked (one removal of ten
/// members, under the safeguard), with the bot quiet.
pub async fn shared_then_revoked() -> (World, Hub) {
    let (w, hub) = synced_world().await;
    add_guests(&w, 9);
    let ana = w.person("ana@example.com").await;
    share(&w, hub.id, ana, None).await;
    w.drain().await;
    revoke(&w, hub.id, &[ana]).await;
    w.drain().await;
    (w, hub)
}

/// Adds `n` members from outside the workspace to the app (guests nobody manages), so that a
/// removal or two stays under the safeguard's threshold.
pub fn add_guests(w: &World, n: usize) {
    for i in 0..n {
        w.app.add(
            &format!("g{i:03}"),
            Some(&format!("guest{i}@elsewhere.org")),
            "member",
            MemberState::Active,
        );
    }
}

/// Shares the hub with the person (app role `role`, or the app's default).
pub async fn share(w: &World, hub: HubId, person: PersonId, role: Option<&str>) {
    w.svc
        .hubs()
        .share(
            &w.owner.permit().unwrap(),
            hub,
            person,
            ShareHub {
                hub_role: None,
                app_role: role.map(str::to_owned),
                resource_roles: None,
            },
        )
        .await
        .expect("share the hub");
}

/// Revokes the people's grants (one plan for all).
pub async fn revoke(w: &World, hub: HubId, people: &[PersonId]) {
    w.svc
        .hubs()
        .revoke(
            &w.owner.permit().unwrap(),
            hub,
            RevokeHub {
                person_ids: people.to_vec(),
                keep_seat: false,
            },
        )
        .await
        .expect("revoke");
}

/// The hub's jobs of one task, oldest first.
pub async fn jobs_of(w: &World, hub: HubId, task: Task) -> Vec<Job> {
    let mut jobs: Vec<Job> = w
        .jobs(hub)
        .await
        .into_iter()
        .filter(|j| j.task == task)
        .collect();
    jobs.reverse();
    jobs
}

/// The one job of `task` on the hub (panics when there is not exactly one).
pub async fn only_job(w: &World, hub: HubId, task: Task) -> Job {
    let jobs = jobs_of(w, hub, task).await;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    jobs.into_iter().next().unwrap()
}

/// Every event with this action, oldest first.
pub async fn events(w: &World, action: &str) -> Vec<ActivityEvent> {
    let mut evs = w
        .store
        .events(&ActivityFilter {
            action: Some(action.to_owned()),
            limit: Some(u32::MAX),
            ..Default::default()
        })
        .await
        .unwrap();
    evs.reverse();
    evs
}

/// The hub's member snapshot.
pub async fn snapshot(w: &World, hub: HubId) -> Vec<castellan_core::hub::HubMember> {
    w.store.hub_members(hub).await.unwrap()
}
