//! The fakes' own behaviour: paging, scripted failures, the code waiter, an unavailable store.

use std::time::Duration as StdDuration;

use castellan_core::connector::{
    CodeWaiter, Connector, ConnectorContext, ConnectorError, MemberState,
};
use castellan_core::ids::AccountId;
use castellan_core::ports::{ActivityStore, WorkspaceStore};
use castellan_core::CoreError;
use castellan_testkit::{
    transient, Fail, FakeClock, FakeCodeWaiter, FakeConnector, MemoryStore, Op, Outcome,
};
use chrono::Duration;
use secrecy::SecretString;

fn ctx() -> ConnectorContext {
    let mut ctx = ConnectorContext::new(
        "https://app.example",
        "bot",
        SecretString::from("pw".to_owned()),
    );
    ctx.timeout = StdDuration::from_secs(5);
    ctx
}

#[tokio::test]
async fn pages_never_lose_or_repeat_a_member() {
    let app = FakeConnector::new("fake");
    for i in 0..5 {
        app.add(&format!("u{i}"), None, "member", MemberState::Active);
    }
    app.set_page_size(2);
    let s = app.login(&ctx()).await.unwrap();
    let (mut seen, mut cursor, mut pages) = (vec![], None, 0);
    loop {
        let page = app.list_members(&ctx(), &s, cursor).await.unwrap();
        pages += 1;
        seen.extend(page.members.into_iter().map(|m| m.app_member_id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["u0", "u1", "u2", "u3", "u4"]);
}

#[tokio::test]
async fn failures_hit_the_calls_they_aim_at_and_are_logged() {
    let app = FakeConnector::new("fake");
    app.add("u1", Some("ana@x.io"), "member", MemberState::Active);
    app.fail(
        Fail::next(1, transient())
            .on(Op::GetMember)
            .for_member("ana@x.io"),
    );
    let s = app.login(&ctx()).await.unwrap();
    // A rule for the email also catches a call naming the member's id.
    assert_eq!(app.get_member(&ctx(), &s, "u1").await, Err(transient()));
    assert!(app.get_member(&ctx(), &s, "u1").await.unwrap().is_some());
    // Removal whose answer is lost: the member is deactivated all the same.
    app.fail(Fail::next(1, transient()).on(Op::Remove).after_applying());
    assert_eq!(app.remove(&ctx(), &s, "u1").await, Err(transient()));
    assert_eq!(app.member("u1").unwrap().state, MemberState::Deactivated);
    let outcomes: Vec<(Op, Outcome)> = app.calls().into_iter().map(|c| (c.op, c.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (Op::Login, Outcome::Answered),
            (Op::GetMember, Outcome::Failed(transient())),
            (Op::GetMember, Outcome::Answered),
            (Op::Remove, Outcome::AnswerLost(transient())),
        ]
    );
    assert_eq!(app.writes().len(), 1);
    app.set_credentials("bot", "other");
    assert!(matches!(
        app.login(&ctx()).await,
        Err(ConnectorError::BadCredentials(_))
    ));
}

#[tokio::test]
async fn the_code_waiter_gives_the_newest_code_since() {
    let clock = FakeClock::default();
    let inbox = FakeCodeWaiter::new(AccountId::new());
    let t0 = clock.now();
    inbox.deliver_at("111111", t0);
    inbox.deliver_at("222222", clock.advance(Duration::seconds(30)));
    let got = inbox
        .next_code(t0, StdDuration::ZERO)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.code.as_deref(), Some("222222"));
    let later = clock.advance(Duration::seconds(1));
    assert!(inbox
        .next_code(later, StdDuration::ZERO)
        .await
        .unwrap()
        .is_none());
    assert_eq!(inbox.requests().len(), 2);
}

#[tokio::test]
async fn an_unavailable_store_fails_every_call_until_it_is_back() {
    let store = MemoryStore::new();
    store.set_unavailable(Some("disk on fire"));
    assert!(matches!(
        store.workspace().await,
        Err(CoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.chain_head().await,
        Err(CoreError::Unavailable(_))
    ));
    store.set_unavailable(None);
    assert_eq!(store.chain_head().await.unwrap().seq, 0);
}
