//! Session reuse: jobs in a row sign in once while the session is fresh; a reused session the
//! app refuses leads to one more sign-in and the call repeated, a refusal right after a sign-in
//! is reported as usual.

use castellan_core::connector::ConnectorError;
use castellan_core::hub::Trigger;
use castellan_core::ports::HubStore;
use castellan_core::service::AccountPatch;
use castellan_core::service::SESSION_REUSE;
use castellan_testkit::{Fail, Op, World};
use secrecy::SecretString;

use crate::fixtures::{sync, synced_world};

/// Runs `bot` until it finds no job due.
async fn run_all(bot: &castellan_core::service::Bot) {
    while bot.run_one().await.expect("run a job") {}
}

fn refused() -> ConnectorError {
    ConnectorError::BadCredentials("the session expired".into())
}

#[tokio::test]
async fn jobs_in_a_row_sign_in_once_while_the_session_is_fresh() {
    let (w, hub) = synced_world().await;
    assert_eq!(w.app.calls_of(Op::Login).len(), 1);
    sync(&w, hub.id).await;
    sync(&w, hub.id).await;
    assert_eq!(w.app.calls_of(Op::Login).len(), 1, "the session is reused");
    assert_eq!(w.app.calls_of(Op::ListMembers).len(), 3);

    w.clock
        .advance(SESSION_REUSE + chrono::Duration::seconds(1));
    sync(&w, hub.id).await;
    assert_eq!(
        w.app.calls_of(Op::Login).len(),
        2,
        "a stale session is not reused"
    );
}

#[tokio::test]
async fn a_kept_session_serves_a_restarted_or_second_instance() {
    let (w, hub) = synced_world().await;
    assert_eq!(w.app.calls_of(Op::Login).len(), 1);
    let (svc, bot) = w.another_instance("second-worker");
    svc.hubs()
        .sync(&w.owner.permit().unwrap(), hub.id, false, Trigger::Manual)
        .await
        .expect("queue a check for updates");
    run_all(&bot).await;
    assert_eq!(
        w.app.calls_of(Op::ListMembers).len(),
        2,
        "the other instance ran the check"
    );
    assert_eq!(
        w.app.calls_of(Op::Login).len(),
        1,
        "it reused the session the first one kept"
    );
}

/// Two instances on one store, each with a job for the same account and app while no session
/// is kept: the second waits for the first one's sign-in and reuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sign_in_once_at_a_time() {
    let (w, hub) = synced_world().await;
    let account = w.hub(hub.id).await.automation_account_id;
    let other = w
        .connect_with("Chat two", account)
        .await
        .expect("a second hub on the same account and app");
    w.drain().await;
    assert_eq!(w.app.calls_of(Op::Login).len(), 1);
    w.clock
        .advance(SESSION_REUSE + chrono::Duration::seconds(1));
    let (svc, second) = w.another_instance("second-worker");
    let hold = w.app.hold_before(Op::Login);
    for (s, h) in [(&w.svc, hub.id), (&svc, other.id)] {
        s.hubs()
            .sync(&w.owner.permit().unwrap(), h, false, Trigger::Manual)
            .await
            .expect("queue a check for updates");
    }
    let first = w.bot.clone();
    let one = tokio::spawn(async move { first.run_one().await });
    hold.arrived().await;
    let two = tokio::spawn(async move { second.run_one().await });
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        w.app.calls_of(Op::Login).len(),
        1,
        "the second instance does not sign in while the first one does"
    );
    hold.release();
    assert!(one.await.unwrap().expect("the first job runs"));
    assert!(two.await.unwrap().expect("the second job runs"));
    assert_eq!(
        w.app.calls_of(Op::Login).len(),
        2,
        "one sign-in served both instances"
    );
}

#[tokio::test]
async fn the_kept_session_is_sealed_in_the_store() {
    let (w, hub) = synced_world().await;
    let account = w.hub(hub.id).await.automation_account_id;
    let kept = w.store.kept_sessions_of(account);
    assert_eq!(kept.len(), 1, "one session kept for the automation account");
    let token = b"fake-session-castellan-bot";
    assert!(
        !kept[0]
            .ciphertext
            .windows(token.len())
            .any(|w| w == token.as_slice()),
        "the token is not kept in plaintext"
    );
}

#[tokio::test]
async fn a_changed_password_signs_in_again() {
    let (w, hub) = synced_world().await;
    let account = w.hub(hub.id).await.automation_account_id;
    w.svc
        .accounts()
        .update(
            &w.owner.permit().unwrap(),
            account,
            AccountPatch {
                password: Some(SecretString::from("rotated-password-2".to_owned())),
                ..AccountPatch::default()
            },
        )
        .await
        .expect("change the automation account's password");
    w.app.set_credentials("castellan-bot", "rotated-password-2");
    sync(&w, hub.id).await;
    assert_eq!(
        w.app.calls_of(Op::Login).len(),
        2,
        "a session made with the old password is not used with the new one"
    );
    assert_eq!(w.hub(hub.id).await.status.as_str(), "healthy");
}

#[tokio::test]
async fn a_refused_reused_session_signs_in_again_and_repeats_the_call() {
    let (w, hub) = synced_world().await;
    w.app.fail(Fail::next(1, refused()).on(Op::ListMembers));
    sync(&w, hub.id).await;
    assert_eq!(w.app.calls_of(Op::Login).len(), 2, "one more sign-in");
    assert_eq!(
        w.app.calls_of(Op::ListMembers).len(),
        3,
        "the refused call was repeated"
    );
    let h = w.hub(hub.id).await;
    assert_eq!(h.status.as_str(), "healthy", "{:?}", h.status_reason);
}

#[tokio::test]
async fn a_refusal_right_after_signing_in_needs_review() {
    let w = World::new().await;
    w.app.fail(Fail::next(1, refused()).on(Op::ListMembers));
    let hub = w.connect("Chat").await.expect("connect");
    w.drain().await;
    assert_eq!(w.app.calls_of(Op::Login).len(), 1);
    let h = w.hub(hub.id).await;
    assert_eq!(h.status.as_str(), "review_service_account");
}

#[tokio::test]
async fn a_refused_session_twice_is_reported() {
    let (w, hub) = synced_world().await;
    w.app.fail(Fail::next(2, refused()).on(Op::ListMembers));
    sync(&w, hub.id).await;
    assert_eq!(
        w.app.calls_of(Op::Login).len(),
        2,
        "signs in again only once"
    );
    assert_eq!(
        w.hub(hub.id).await.status.as_str(),
        "review_service_account"
    );
}

/// Resumable listing: a check for updates interrupted on page 2 (rate limited past the in-call
/// retries) resumes at page 2 on its retry, and the snapshot holds every member once.
#[tokio::test]
async fn an_interrupted_listing_resumes_at_the_page_it_stopped() {
    let (w, hub) = synced_world().await;
    w.app.set_page_size(50);
    crate::fixtures::add_guests(&w, 120);
    let ids: Vec<String> = w
        .app
        .members()
        .into_iter()
        .map(|m| m.app_member_id)
        .collect();
    let total = ids.len();
    assert!(total > 100, "three pages at least");
    // The fake's cursor is the last member id of the page before (members in id order).
    let page_2 = ids[49].clone();
    let before = w.app.calls_of(Op::ListMembers).len();
    w.app.fail(
        Fail::next(
            1,
            ConnectorError::RateLimited {
                retry_after: Some(std::time::Duration::from_secs(1)),
            },
        )
        .on(Op::ListMembers)
        .for_member(&page_2),
    );
    sync(&w, hub.id).await;
    let pages = total.div_ceil(50);
    // Page 1, page 2 refused, then page 2 onwards on the retry: not page 1 again.
    assert_eq!(w.app.calls_of(Op::ListMembers).len() - before, pages + 1);
    let members = w.store.hub_members(hub.id).await.unwrap();
    assert_eq!(members.len(), total, "every member once");
}
