//! Session reuse: jobs in a row sign in once while the session is fresh; a reused session the
//! app refuses leads to one more sign-in and the call repeated, a refusal right after a sign-in
//! is reported as usual.

use castellan_core::connector::ConnectorError;
use castellan_core::hub::{HubId, Trigger};
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
