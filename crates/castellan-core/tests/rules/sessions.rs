//! Session reuse: jobs in a row sign in once while the session is fresh; a reused session the
//! app refuses leads to one more sign-in and the call repeated, a refusal right after a sign-in
//! is reported as usual.

use castellan_core::connector::ConnectorError;
use castellan_core::hub::{HubId, Trigger};
use castellan_core::ports::HubStore;
use castellan_core::service::SESSION_REUSE;
use castellan_testkit::{Fail, Op, World};

use crate::fixtures::synced_world;

async fn sync(w: &World, hub: HubId) {
    w.svc
        .hubs()
        .sync(&w.owner.permit().unwrap(), hub, false, Trigger::Manual)
        .await
        .expect("queue a check for updates");
    w.drain().await;
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
