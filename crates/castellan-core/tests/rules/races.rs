//! Jobs with one dedupe key racing each other: a write that lands while a check for updates is
//! listing the app, and a job that would retry while a newer one with its key waits. Both end
//! with the app matching the current grants once the bot is quiet, without a manual check.

use castellan_core::hub::{JobState, Task};
use castellan_core::service::unfinished;
use castellan_testkit::{transient, Fail, Op};

use crate::fixtures::*;

/// The member's roles in the app, comma-separated.
fn role_of(w: &castellan_testkit::World, email: &str) -> String {
    w.app
        .member_by_email(email)
        .expect("a member")
        .roles
        .join(",")
}

#[tokio::test]
async fn a_write_landing_while_a_check_for_updates_lists_the_app_is_followed_up() {
    let (w, hub) = synced_world().await;
    let bob = w.person("bob@example.com").await;
    share(&w, hub.id, bob, None).await;
    w.drain().await;
    assert_eq!(role_of(&w, "bob@example.com"), "member");

    // The change to admin: the check plans it, and its write is still in flight...
    share(&w, hub.id, bob, Some("admin")).await;
    assert!(w.bot.run_one().await.unwrap(), "the check plans the change");
    let write = w.app.hold_before(Op::UpdateRole);
    let a = w.worker("a");
    let first = tokio::spawn(async move { a.run_one().await });
    write.arrived().await;
    // ...when Bob goes back to member: that check lists the app before the write lands.
    let listing = w.app.hold(Op::ListMembers);
    share(&w, hub.id, bob, Some("member")).await;
    let b = w.worker("b");
    let check = tokio::spawn(async move { b.run_one().await });
    listing.arrived().await;
    write.release();
    assert!(first.await.unwrap().unwrap());
    assert_eq!(
        role_of(&w, "bob@example.com"),
        "admin",
        "the late write landed"
    );
    // Its follow-up check is queued, and waits for the check still running.
    let waiting: Vec<_> = jobs_of(&w, hub.id, Task::CheckForUpdates)
        .await
        .into_iter()
        .filter(|j| j.state == JobState::Queued)
        .collect();
    assert_eq!(waiting.len(), 1, "{waiting:#?}");
    assert!(
        !w.worker("c").run_one().await.unwrap(),
        "no worker starts a check while another check of the hub runs"
    );
    listing.release();
    assert!(check.await.unwrap().unwrap());
    assert_eq!(
        role_of(&w, "bob@example.com"),
        "admin",
        "the running check saw no drift"
    );

    w.drain().await;
    assert_eq!(
        role_of(&w, "bob@example.com"),
        "member",
        "the newer role won"
    );
    assert!(w
        .jobs(hub.id)
        .await
        .iter()
        .all(|j| !unfinished().contains(&j.state)));
}

#[tokio::test]
async fn a_job_that_would_retry_yields_to_a_newer_one_waiting() {
    let (w, hub) = synced_world().await;
    let bob = w.person("bob@example.com").await;
    let ana = w.person("ana@example.com").await;
    // The first check's listing is in flight, and will fail with a retryable error.
    let listing = w.app.hold_before(Op::ListMembers);
    w.app.fail(Fail::next(1, transient()).on(Op::ListMembers));
    share(&w, hub.id, bob, None).await;
    let a = w.worker("a");
    let first = tokio::spawn(async move { a.run_one().await });
    listing.arrived().await;
    // A newer check is queued meanwhile (it is not absorbed by the running one).
    share(&w, hub.id, ana, None).await;
    listing.release();
    assert!(first.await.unwrap().unwrap());

    let checks = jobs_of(&w, hub.id, Task::CheckForUpdates).await;
    let (older, newer) = (&checks[checks.len() - 2], &checks[checks.len() - 1]);
    assert_eq!(older.state, JobState::NotCompleted, "{older:#?}");
    let why = older.error.as_deref().unwrap();
    assert!(why.starts_with("superseded"), "{why}");
    assert_eq!(newer.state, JobState::Queued);
    let superseded = events(&w, "job.superseded").await;
    assert_eq!(superseded.len(), 1);
    assert_eq!(superseded[0].target_id, Some(older.id.to_string()));

    w.drain().await;
    for email in ["bob@example.com", "ana@example.com"] {
        assert_eq!(role_of(&w, email), "member");
    }
    assert_eq!(w.app.calls_of(Op::Invite).len(), 2, "one invitation each");
}
