//! Matching and plans as a whole: whatever the order of grant changes and bot runs, once the
//! bot is quiet the app matches the current grants and the next sync plans nothing.

use castellan_core::connector::MemberState;
use castellan_core::hub::{HubStatus, Trigger};
use castellan_core::ids::PersonId;
use castellan_core::ports::HubStore;
use castellan_core::service::HubPatch;
use castellan_testkit::World;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::fixtures::*;

const PEOPLE: usize = 5;

/// What the test last asked for each person: `Some(role)` shared, `None` revoked or never.
type Wanted = Vec<Option<&'static str>>;

async fn random_story(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let w = World::new().await;
    let mut people: Vec<(PersonId, String)> = vec![];
    for i in 0..PEOPLE {
        let email = format!("p{i}@example.com");
        people.push((w.person(&email).await, email.clone()));
        // Some people are already in the app, with any role and state.
        if rng.gen_bool(0.5) {
            let role = ["admin", "member"][rng.gen_range(0..2)];
            let state = [MemberState::Active, MemberState::Deactivated][rng.gen_range(0..2)];
            w.app.add(&format!("pre{i}"), Some(&email), role, state);
        }
    }
    add_guests(&w, 3);
    let hub = w.connect("Chat").await.unwrap();
    // Random revocations may remove many members at once: this test is about convergence.
    w.svc
        .hubs()
        .update(
            &w.owner.permit().unwrap(),
            hub.id,
            HubPatch {
                settings: None,
                safeguard_threshold: Some(1.0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut wanted: Wanted = vec![None; PEOPLE];
    for _ in 0..12 {
        let i = rng.gen_range(0..PEOPLE);
        match (rng.gen_range(0..3), wanted[i]) {
            (0, Some(_)) => {
                revoke(&w, hub.id, &[people[i].0]).await;
                wanted[i] = None;
            }
            (0, None) => {}
            (_, _) => {
                let role = ["admin", "member"][rng.gen_range(0..2)];
                share(&w, hub.id, people[i].0, Some(role)).await;
                wanted[i] = Some(role);
            }
        }
        // The bot gets a few jobs in between, or none.
        for _ in 0..rng.gen_range(0..3) {
            w.bot.run_one().await.unwrap();
        }
    }
    w.drain().await;
    w.svc
        .hubs()
        .sync(&w.owner.permit().unwrap(), hub.id, false, Trigger::Manual)
        .await
        .unwrap();
    w.drain().await;
    let h = w.hub(hub.id).await;
    assert_eq!(
        h.status,
        HubStatus::Healthy,
        "seed {seed}: {:?}",
        h.status_reason
    );
    for (i, (_, email)) in people.iter().enumerate() {
        let active: Vec<_> = w
            .app
            .members()
            .into_iter()
            .filter(|m| m.email.as_deref() == Some(email) && m.state != MemberState::Deactivated)
            .collect();
        match wanted[i] {
            Some(role) => {
                assert_eq!(active.len(), 1, "seed {seed}: {email} {active:?}");
                assert_eq!(active[0].roles, [role], "seed {seed}: {email}");
            }
            // Never shared: left alone; revoked: gone.
            None => {
                let was_shared = w
                    .svc
                    .hubs()
                    .grants(&w.owner.permit().unwrap(), hub.id)
                    .await
                    .unwrap()
                    .iter()
                    .any(|g| g.person_id == people[i].0);
                if was_shared {
                    assert!(active.is_empty(), "seed {seed}: {email} {active:?}");
                }
            }
        }
    }
    let (_, report) = w.store.last_report(hub.id).await.unwrap().unwrap();
    assert_eq!(report.drift, 0, "seed {seed}: {report:#?}");
}

#[tokio::test]
async fn any_order_of_grant_changes_and_bot_runs_converges() {
    for seed in 0..12 {
        random_story(seed).await;
    }
}
