//! The activity chain: every write and every bot step lands in one hash chain that
//! verification walks, and a changed or removed event breaks it where it happened.

use castellan_core::ports::ActivityStore;
use castellan_core::CoreError;
use castellan_testkit::World;

use crate::fixtures::*;

/// A world with some history: a hub connected, synced, shared and revoked.
async fn busy_world() -> World {
    shared_then_revoked().await.0
}

#[tokio::test]
async fn the_bots_steps_are_chained_and_verify() {
    let w = busy_world().await;
    let report = w
        .svc
        .activity()
        .verify(&w.owner.permit().unwrap())
        .await
        .unwrap();
    assert!(report.intact, "{:?}", report.problems);
    let head = w.store.chain_head().await.unwrap();
    assert_eq!(report.checked, head.seq);
    for action in [
        "workspace.claim",
        "hub.connect",
        "hub.check_for_updates",
        "hub.share",
        "hub.revoke",
        "job.completed",
    ] {
        assert!(
            !events(&w, action).await.is_empty(),
            "no {action} in the log"
        );
    }
}

#[tokio::test]
async fn verification_finds_a_changed_event() {
    let w = busy_world().await;
    let seq = events(&w, "hub.revoke").await[0].seq;
    assert!(w
        .store
        .tamper_event(seq, |e| e.actor_name = "someone else".into()));
    let report = w
        .svc
        .activity()
        .verify(&w.owner.permit().unwrap())
        .await
        .unwrap();
    assert!(!report.intact);
    assert_eq!(report.problems[0].seq, seq, "{:?}", report.problems);
}

#[tokio::test]
async fn verification_finds_a_removed_event_and_a_cut_tail() {
    let w = busy_world().await;
    assert!(w.store.remove_event(3));
    let report = w
        .svc
        .activity()
        .verify(&w.owner.permit().unwrap())
        .await
        .unwrap();
    assert!(!report.intact);
    assert_eq!(report.problems[0].seq, 4, "{:?}", report.problems);

    let w = busy_world().await;
    let last = w.store.chain_head().await.unwrap().seq;
    assert!(w.store.remove_event(last));
    let report = w
        .svc
        .activity()
        .verify(&w.owner.permit().unwrap())
        .await
        .unwrap();
    assert!(!report.intact, "a removed last event is found by the head");
}

#[tokio::test]
async fn a_refused_write_leaves_no_event() {
    let (w, _hub) = synced_world().await;
    let account = w.automation_account("Second bot").await;
    let before = w.store.chain_head().await.unwrap();
    // A second hub with the same label (in other case): refused, and nothing is logged.
    let err = w.connect_with("chat", account).await.unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    assert_eq!(w.store.chain_head().await.unwrap(), before);
    assert_eq!(events(&w, "hub.connect").await.len(), 1);
    assert!(
        w.svc
            .activity()
            .verify(&w.owner.permit().unwrap())
            .await
            .unwrap()
            .intact
    );
}
