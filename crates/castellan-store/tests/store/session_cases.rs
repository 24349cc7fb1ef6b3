//! Kept app sessions (session reuse): kept per account and scope, replaced, forgotten, gone
//! with their account; and the sign-in claim that lets one holder at a time sign in. Jobs' step
//! records (sealed steps and screenshots).

use crate::harness::SuiteStore;
use castellan_core::ids::DataKeyId;
use castellan_core::ports::KeptAppSession;
use castellan_core::CoreError;

use crate::fixtures::*;

pub async fn app_sessions_are_kept_and_claimed<S: SuiteStore>(store: S) {
    let v = vault("Ops");
    store
        .insert_vault(&v, &[], &[], &ev("vault.create"))
        .await
        .unwrap();
    let a = account(v.id, "Bot", "bot@acme.io");
    let b = account(v.id, "Other bot", "other@acme.io");
    for x in [&a, &b] {
        store
            .insert_account(x, &[], &[], &ev("account.create"))
            .await
            .unwrap();
    }
    let kept = |account, scope: &str, byte: u8, at: i64| KeptAppSession {
        account_id: account,
        scope: scope.to_owned(),
        dek_id: DataKeyId::new(),
        ciphertext: vec![byte; 40],
        signed_in_at: t(at),
        expires_at: t(at + 600),
    };
    assert_eq!(store.kept_app_session(a.id, "s1").await.unwrap(), None);

    // A claim: the first holder wins, a second waits until it ends or is released.
    assert!(store
        .claim_app_sign_in(a.id, "s1", "one", t(0), t(120))
        .await
        .unwrap());
    assert!(!store
        .claim_app_sign_in(a.id, "s1", "two", t(60), t(180))
        .await
        .unwrap());
    assert!(
        store
            .claim_app_sign_in(a.id, "s1", "one", t(60), t(180))
            .await
            .unwrap(),
        "the holder may renew its claim"
    );
    assert_eq!(
        store.kept_app_session(a.id, "s1").await.unwrap(),
        None,
        "a claim is not a session"
    );
    assert!(
        store
            .claim_app_sign_in(a.id, "s1", "two", t(180), t(300))
            .await
            .unwrap(),
        "an ended claim may be taken over"
    );
    store.release_app_sign_in(a.id, "s1", "one").await.unwrap();
    assert!(
        !store
            .claim_app_sign_in(a.id, "s1", "one", t(200), t(320))
            .await
            .unwrap(),
        "only the holder releases its claim"
    );
    store.release_app_sign_in(a.id, "s1", "two").await.unwrap();
    assert!(store
        .claim_app_sign_in(a.id, "s1", "one", t(200), t(320))
        .await
        .unwrap());

    // Keeping a session ends the claim on it.
    let s1 = kept(a.id, "s1", 1, 1000);
    store.keep_app_session(&s1).await.unwrap();
    assert_eq!(store.kept_app_session(a.id, "s1").await.unwrap(), Some(s1));
    assert!(store
        .claim_app_sign_in(a.id, "s1", "two", t(1001), t(1100))
        .await
        .unwrap());

    // Replaced by scope; other scopes and accounts keep theirs.
    let s2 = kept(a.id, "s2", 2, 1000);
    let sb = kept(b.id, "s1", 3, 1000);
    store.keep_app_session(&s2).await.unwrap();
    store.keep_app_session(&sb).await.unwrap();
    let newer = kept(a.id, "s1", 4, 1100);
    store.keep_app_session(&newer).await.unwrap();
    assert_eq!(
        store.kept_app_session(a.id, "s1").await.unwrap(),
        Some(newer)
    );
    assert_eq!(store.kept_app_session(a.id, "s2").await.unwrap(), Some(s2));

    // Keeping one sweeps the sessions that expired before it was made.
    let late = kept(b.id, "s9", 5, 5000);
    store.keep_app_session(&late).await.unwrap();
    assert_eq!(store.kept_app_session(a.id, "s2").await.unwrap(), None);
    assert_eq!(store.kept_app_session(b.id, "s1").await.unwrap(), None);
    assert_eq!(
        store.kept_app_session(b.id, "s9").await.unwrap(),
        Some(late)
    );

    store.forget_app_session(b.id, "s9").await.unwrap();
    store.forget_app_session(b.id, "s9").await.unwrap();
    assert_eq!(store.kept_app_session(b.id, "s9").await.unwrap(), None);

    // Sessions go with their account.
    let s3 = kept(a.id, "s3", 6, 5000);
    store.keep_app_session(&s3).await.unwrap();
    store
        .delete_account(a.id, &ev("account.delete"))
        .await
        .unwrap();
    assert_eq!(store.kept_app_session(a.id, "s3").await.unwrap(), None);
    let e = store.keep_app_session(&s3).await.unwrap_err();
    assert!(matches!(e, CoreError::NotFound { .. }), "{e:?}");
    assert_intact(&store).await;
}

/// Jobs' step records: kept in order with their sealed parts, listed without screenshots, a
/// screenshot read on its own, screenshots dropped while steps stay; a taken number is a
/// conflict and a missing job is not found. A job's `attention` is kept with its state.
pub async fn job_steps_are_kept<S: SuiteStore>(store: S) {
    use castellan_core::hub::{Attention, JobId, JobState, Task};
    use castellan_core::ports::KeptJobStep;

    let h = hub("Steps");
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let mut j = job(h.id, Task::InviteMember, 1, None);
    j.state = JobState::NeedsAttention;
    j.attention = Some(Attention::Challenge);
    store.enqueue(std::slice::from_ref(&j), None).await.unwrap();
    let stored = store.job(j.id).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::NeedsAttention);
    assert_eq!(stored.attention, Some(Attention::Challenge));

    let dek = DataKeyId::new();
    let step = |seq: i64, shot: Option<Vec<u8>>| KeptJobStep {
        job_id: j.id,
        seq,
        attempt: 1,
        at: t(seq),
        dek_id: dek,
        sealed: vec![seq as u8; 24],
        has_screenshot: shot.is_some(),
        screenshot: shot,
    };
    store.add_job_step(&step(2, None)).await.unwrap();
    store
        .add_job_step(&step(1, Some(vec![7; 300])))
        .await
        .unwrap();
    let e = store.add_job_step(&step(1, None)).await.unwrap_err();
    assert!(matches!(e, CoreError::Conflict(_)), "{e:?}");
    let mut orphan = step(1, None);
    orphan.job_id = JobId::new();
    let e = store.add_job_step(&orphan).await.unwrap_err();
    assert!(matches!(e, CoreError::NotFound { kind: "job" }), "{e:?}");

    let kept = store.job_steps(j.id).await.unwrap();
    assert_eq!(kept.iter().map(|s| s.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(kept[0].sealed, vec![1; 24]);
    assert_eq!(kept[0].at, t(1));
    assert!(kept[0].has_screenshot && !kept[1].has_screenshot);
    assert!(
        kept.iter().all(|s| s.screenshot.is_none()),
        "listed without the images"
    );
    assert_eq!(
        store.job_step_screenshot(j.id, 1).await.unwrap(),
        Some((dek, vec![7; 300]))
    );
    assert_eq!(store.job_step_screenshot(j.id, 2).await.unwrap(), None);

    assert_eq!(store.drop_job_screenshots(j.id).await.unwrap(), 1);
    assert_eq!(store.job_step_screenshot(j.id, 1).await.unwrap(), None);
    let kept = store.job_steps(j.id).await.unwrap();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|s| !s.has_screenshot));
}
