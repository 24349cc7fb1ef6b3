//! Jobs with one dedupe key racing each other: a write that lands while a check for updates is
//! listing the app, and a job that would retry while a newer one with its key waits. Both end
//! with the app matching the current grants once the bot is quiet, without a manual check.

use castellan_core::connector::MemberState;
use castellan_core::hub::{JobState, Task};
use castellan_core::service::{unfinished, MemberAction};
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

#[tokio::test]
async fn a_revoke_removes_every_member_matched_to_the_person() {
    let w = castellan_testkit::World::new().await;
    let bob = w.person("bob@example.com").await;
    // Two accounts of Bob's: one found by a `+tag` address, one with his address.
    w.app.add(
        "m-bob-tag",
        Some("bob+chat@example.com"),
        "member",
        MemberState::Active,
    );
    w.app.add(
        "m-bob",
        Some("bob@example.com"),
        "member",
        MemberState::Active,
    );
    add_guests(&w, 8);
    let hub = w.connect("Chat").await.unwrap();
    w.drain().await;
    let matched: Vec<_> = snapshot(&w, hub.id)
        .await
        .into_iter()
        .filter(|m| m.person_id == Some(bob))
        .collect();
    assert_eq!(matched.len(), 2, "{matched:#?}");
    share(&w, hub.id, bob, None).await;
    w.drain().await;
    assert!(
        w.app.calls_of(Op::Invite).is_empty(),
        "Bob is already a member"
    );
    revoke(&w, hub.id, &[bob]).await;
    w.drain().await;
    for id in ["m-bob-tag", "m-bob"] {
        assert_eq!(
            w.app.member(id).unwrap().state,
            MemberState::Deactivated,
            "{id} keeps no access after the revoke"
        );
    }
}

#[tokio::test]
async fn a_manual_removal_yields_to_a_grant_given_since() {
    let w = castellan_testkit::World::new().await;
    // A member from before Bob was a person: unmatched at the first check.
    w.app.add(
        "m-ext",
        Some("bob@example.com"),
        "member",
        MemberState::Active,
    );
    add_guests(&w, 8);
    let hub = w.connect("Chat").await.unwrap();
    w.drain().await;
    let bob = w.person("bob@example.com").await;
    // Bob is given the hub, and right after an admin removes the (still unmatched) member.
    share(&w, hub.id, bob, None).await;
    w.svc
        .hubs()
        .act_on_member(
            &w.owner.permit().unwrap(),
            hub.id,
            "m-ext",
            MemberAction::Remove,
        )
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(
        w.app.member("m-ext").unwrap().state,
        MemberState::Active,
        "Bob's grant wins over the older removal"
    );
    let removal = only_job(&w, hub.id, Task::RemoveMember).await;
    let outcome = removal.progress.unwrap_or_default();
    assert!(outcome.contains("given the hub"), "{outcome}");
}

#[tokio::test]
async fn a_call_of_a_dead_attempt_that_lands_late_is_corrected() {
    let (w, hub) = synced_world().await;
    add_guests(&w, 8);
    let bob = w.person("bob@example.com").await;
    share(&w, hub.id, bob, None).await;
    assert!(
        w.bot.run_one().await.unwrap(),
        "the check plans the invitation"
    );
    // A worker sends the invitation and dies before hearing back.
    let invite = w.app.hold_before(Op::Invite);
    let a = w.worker("a");
    let dead = tokio::spawn(async move { a.run_one().await });
    invite.arrived().await;
    dead.abort();
    // Bob is revoked; after the lease another worker takes the invitation over, re-reads the
    // app (no Bob yet) and skips it.
    revoke(&w, hub.id, &[bob]).await;
    w.clock.advance(chrono::Duration::seconds(61));
    assert!(w.worker("b").run_one().await.unwrap());
    assert!(w.worker("b").run_one().await.unwrap());
    // Then the dead attempt's call lands after all.
    w.app.add(
        "m-late",
        Some("bob@example.com"),
        "member",
        MemberState::Active,
    );
    // The check queued for when such a call has ended removes it.
    let settle: Vec<_> = jobs_of(&w, hub.id, Task::CheckForUpdates)
        .await
        .into_iter()
        .filter(|j| j.dedupe_key.as_deref() == Some(&format!("settle:{}", hub.id)))
        .collect();
    assert_eq!(settle.len(), 1, "a settle check is queued");
    w.drain().await;
    assert_eq!(
        w.app.member("m-late").unwrap().state,
        MemberState::Deactivated
    );
}
