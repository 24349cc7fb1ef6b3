//! The activity log: filters, tamper detection, concurrent appends.

use crate::harness::SuiteStore;
use castellan_core::activity::{ActivityEvent, GENESIS_HASH};
use castellan_core::model::WorkspaceRole;
use castellan_core::ports::ActivityFilter;
use chrono::Duration;

use crate::fixtures::*;

pub async fn events_filters<S: SuiteStore>(store: S) {
    let specs = [
        ("account.create", "p1", "acc-1", 10),
        ("account.reveal", "p2", "acc-1", 20),
        ("accountant.x", "p1", "acc-2", 30),
        ("auth.sign_in", "p2", "p2", 40),
        ("a_b.x", "p1", "t", 50),
        ("aXb.x", "p1", "t", 60),
    ];
    for (action, actor, target, at) in specs {
        let mut e = ev(action).target("account", target, "label");
        e.actor_id = Some(actor.into());
        e.at = t(at);
        let sealed = store.append(&e).await.unwrap();
        assert_eq!((sealed.action.as_str(), sealed.at), (action, t(at)));
    }
    let actions = |evs: Vec<ActivityEvent>| evs.into_iter().map(|e| e.action).collect::<Vec<_>>();
    let all = store.events(&ActivityFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [6, 5, 4, 3, 2, 1],
        "newest first"
    );
    let f = |action: &str| ActivityFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    assert_eq!(
        actions(store.events(&f("account.")).await.unwrap()),
        ["account.reveal", "account.create"]
    );
    assert_eq!(
        actions(store.events(&f("account.create")).await.unwrap()),
        ["account.create"]
    );
    assert_eq!(actions(store.events(&f("account")).await.unwrap()).len(), 3);
    assert_eq!(
        actions(store.events(&f("a_b")).await.unwrap()),
        ["a_b.x"],
        "`_` is literal"
    );
    let by_actor = ActivityFilter {
        actor_id: Some("p2".into()),
        ..Default::default()
    };
    assert_eq!(
        actions(store.events(&by_actor).await.unwrap()),
        ["auth.sign_in", "account.reveal"]
    );
    let by_target = ActivityFilter {
        target_id: Some("acc-1".into()),
        ..Default::default()
    };
    assert_eq!(store.events(&by_target).await.unwrap().len(), 2);
    let window = ActivityFilter {
        since: Some(t(20)),
        until: Some(t(40)),
        ..Default::default()
    };
    assert_eq!(
        actions(store.events(&window).await.unwrap()),
        ["accountant.x", "account.reveal"]
    );
    let page = ActivityFilter {
        before_seq: Some(5),
        limit: Some(2),
        ..Default::default()
    };
    assert_eq!(
        store
            .events(&page)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        [4, 3]
    );
    let everything = ActivityFilter {
        limit: Some(u32::MAX),
        ..Default::default()
    };
    assert_eq!(store.events(&everything).await.unwrap().len(), 6);

    let after = store.events_after(2, 3).await.unwrap();
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(after[0], all[3], "the same event either way");
    assert_eq!(after[0].prev_hash, all[4].hash);
    assert_eq!(all[5].prev_hash, GENESIS_HASH);
    assert_eq!(store.chain_head().await.unwrap().hash, all[0].hash);
    assert_intact(&store).await;
}

pub async fn tampering_is_detected<S: SuiteStore>(store: S) {
    for action in ["auth.sign_in", "account.reveal", "account.delete"] {
        store.append(&ev(action)).await.unwrap();
    }
    assert_intact(&store).await;
    store.tamper_action(2, "x").await;
    let report = verify(&store).await;
    assert!(!report.intact);
    assert_eq!(report.checked, 3);
    assert_eq!(report.problems[0].seq, 2, "{:?}", report.problems);
}

pub async fn concurrent_appends<S: SuiteStore>(store: S) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.append(&ev(&format!("test.concurrent_{i}"))).await })
        })
        .collect();
    let mut seqs = vec![];
    for task in tasks {
        match task.await.unwrap() {
            Ok(e) => seqs.push(e.seq),
            Err(e) => panic!("append failed under concurrency: {e:?}"),
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(seq(&store).await, 20);
    assert_intact(&store).await;
}

/// Read-then-write transactions under contention: exactly one of 20 simultaneous first uses of a
/// token logs, and none fails on a lock.
pub async fn concurrent_token_touches<S: SuiteStore>(store: S) {
    let p = person("p@x.io", WorkspaceRole::User);
    let tok = token(p.id, "hash", 1);
    store.insert_person(&p, &ev("person.create")).await.unwrap();
    store.insert_token(&tok, &ev("token.create")).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .touch_token(tok.id, t(100), Duration::minutes(5), &ev("token.use"))
                    .await
            })
        })
        .collect();
    let mut logged = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(true) => logged += 1,
            Ok(false) => {}
            Err(e) => panic!("touch failed under concurrency: {e:?}"),
        }
    }
    assert_eq!(logged, 1);
    appended_one(&store, 2, "token.use").await;
    assert_intact(&store).await;
}
