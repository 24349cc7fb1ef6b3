//! "Revoked means revoked" in the store: a grant change cancels the write jobs it makes
//! obsolete and bumps the hub's grants version; completing a job queues its follow-up in the
//! same transaction when the version moved, even against a concurrent grant change; a job a
//! worker holds absorbs no newer job with its key.

use std::sync::Arc;

use crate::harness::{Instances, SuiteStore};
use castellan_core::desired::{member_job_key, supersede_prefix};
use castellan_core::hub::{Job, JobState, Task};
use castellan_core::ids::PersonId;
use castellan_core::model::WorkspaceRole;
use castellan_core::ports::{ActivityFilter, FollowUp, HubStore, JobStore, PeopleStore, Supersede};
use chrono::Duration;
use tokio::sync::Barrier;

use crate::fixtures::*;

fn supersede_for(hub: castellan_core::hub::HubId, person: PersonId) -> Supersede {
    Supersede {
        key_prefix: supersede_prefix(hub, person),
        reason: "superseded: the grant was revoked by admin@acme.io".into(),
        event: ev("job.superseded"),
    }
}

/// Claims the next due job as `worker` at `now` seconds; it must be `want`.
async fn claim(store: &impl SuiteStore, worker: &str, now: i64, want: &Job) -> Job {
    let got = store
        .claim_job(worker, t(now), Duration::seconds(600))
        .await
        .unwrap()
        .expect("a due job");
    assert_eq!(got.id, want.id, "claimed {:?}", got.dedupe_key);
    got
}

pub async fn grant_changes_supersede_obsolete_jobs<S: SuiteStore>(store: S) {
    let ana = person("ana@acme.io", WorkspaceRole::User);
    let bob = person("bob@acme.io", WorkspaceRole::User);
    let cy = person("cy@acme.io", WorkspaceRole::User);
    for p in [&ana, &bob, &cy] {
        store.insert_person(p, &ev("person.create")).await.unwrap();
    }
    let (h, h2) = (hub("Slack"), hub("Notion"));
    for x in [&h, &h2] {
        store.insert_hub(x, &[], &ev("hub.connect")).await.unwrap();
    }
    let key = |hub, p: &castellan_core::model::PersonRecord| member_job_key(hub, Some(p.id), None);
    // One write job per person: Ana's is held by a worker, Bob's waits to retry, Cy's is queued;
    // Cy also has one on another hub, which must not be touched.
    let held = job(h.id, Task::RemoveMember, 1, Some(&key(h.id, &ana)));
    let retrying = job(h.id, Task::UpdateMemberRole, 2, Some(&key(h.id, &bob)));
    let queued = job(h.id, Task::InviteMember, 500, Some(&key(h.id, &cy)));
    let other_hub = job(h2.id, Task::InviteMember, 500, Some(&key(h2.id, &cy)));
    let twice = job(h.id, Task::UpdateMemberRole, 501, Some(&key(h.id, &ana)));
    let all = [&held, &retrying, &queued, &other_hub, &twice].map(Clone::clone);
    assert_eq!(
        store.enqueue(&all, None).await.unwrap().len(),
        4,
        "a second job for Ana is a duplicate"
    );
    let mut running = claim(&store, "w-a", 10, &held).await;
    running.state = JobState::Running;
    assert!(store.update_job(&running, "w-a", None, None).await.unwrap());
    let mut r = claim(&store, "w-b", 10, &retrying).await;
    r.state = JobState::Retrying;
    r.attempts = 1;
    r.run_at = t(400);
    r.lease_until = None;
    assert!(store
        .update_job(&r, "w-b", Some(&ev("job.retrying")), None)
        .await
        .unwrap());

    let v0 = store.grants_version(h.id).await.unwrap();
    let before = seq(&store).await;
    let mut cancelled = vec![];
    for p in [&ana, &bob, &cy] {
        let mut g = grant(p.id, castellan_core::hub::HubRole::Collaborator, "member");
        g.revoked = true;
        let sync = job(h.id, Task::CheckForUpdates, 20, Some("sync:h:false"));
        cancelled.extend(
            store
                .upsert_grant(
                    h.id,
                    &g,
                    None,
                    &supersede_for(h.id, p.id),
                    std::slice::from_ref(&sync),
                    &ev("hub.revoke"),
                )
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        cancelled,
        [retrying.id, queued.id],
        "Bob's retrying and Cy's queued job; Ana's held job re-decides when it runs"
    );
    assert_eq!(store.grants_version(h.id).await.unwrap(), v0 + 3);
    assert_eq!(store.grants_version(h2.id).await.unwrap(), v0);
    for id in [retrying.id, queued.id] {
        let j = store.job(id).await.unwrap().unwrap();
        assert_eq!(j.state, JobState::NotCompleted);
        assert_eq!(
            j.error.as_deref(),
            Some("superseded: the grant was revoked by admin@acme.io")
        );
        assert_eq!(j.lease_until, None);
    }
    for (j, state) in [(&held, JobState::Running), (&other_hub, JobState::Queued)] {
        assert_eq!(store.job(j.id).await.unwrap().unwrap().state, state);
    }
    // One event per cancelled job, targeted at it, plus the three revocations.
    assert_eq!(seq(&store).await, before + 5);
    let superseded = store
        .events(&ActivityFilter {
            action: Some("job.superseded".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut targets: Vec<String> = superseded
        .iter()
        .filter_map(|e| e.target_id.clone())
        .collect();
    targets.sort();
    let mut want: Vec<String> = [retrying.id, queued.id]
        .iter()
        .map(ToString::to_string)
        .collect();
    want.sort();
    assert_eq!(targets, want);
    assert_eq!(last_action(&store).await, "hub.revoke");

    // The key is free again: a newer job for Cy is accepted, not dropped as a duplicate.
    let newer = job(h.id, Task::InviteMember, 30, Some(&key(h.id, &cy)));
    assert_eq!(
        store
            .enqueue(std::slice::from_ref(&newer), None)
            .await
            .unwrap(),
        [newer.id]
    );
    // Desired-state changes outside grants bump every named hub; unknown hubs are ignored.
    store
        .mark_desired_changed(&[h.id, h2.id, castellan_core::hub::HubId::new()], &[])
        .await
        .unwrap();
    assert_eq!(store.grants_version(h.id).await.unwrap(), v0 + 4);
    assert_eq!(store.grants_version(h2.id).await.unwrap(), v0 + 1);
    assert!(matches!(
        store
            .grants_version(castellan_core::hub::HubId::new())
            .await
            .unwrap_err(),
        castellan_core::CoreError::NotFound { kind: "hub" }
    ));
    assert_intact(&store).await;
}

/// Completing a job: the follow-up is queued only when the grants moved since it started.
pub async fn follow_up_only_when_the_grants_moved<S: SuiteStore>(store: S) {
    let ana = person("ana@acme.io", WorkspaceRole::User);
    store
        .insert_person(&ana, &ev("person.create"))
        .await
        .unwrap();
    let h = hub("Slack");
    let key = format!("sync:{}:false", h.id);
    let first = job(h.id, Task::CheckForUpdates, 1, Some(&key));
    store
        .insert_hub(&h, std::slice::from_ref(&first), &ev("hub.connect"))
        .await
        .unwrap();

    // Nothing changed: completing queues nothing.
    let mut s1 = claim(&store, "w", 10, &first).await;
    let seen = store.grants_version(h.id).await.unwrap();
    s1.state = JobState::Completed;
    let f1 = job(h.id, Task::CheckForUpdates, 11, Some(&key));
    let follow = FollowUp {
        seen_grants_version: seen,
        job: f1.clone(),
        settle: None,
    };
    assert!(store
        .update_job(&s1, "w", Some(&ev("job.completed")), Some(&follow))
        .await
        .unwrap());
    assert!(store.job(f1.id).await.unwrap().is_none());

    // A grant changes while the next sync runs: its own sync is queued behind the running one
    // (which may have listed the app already), and completing the running one then queues no
    // second follow-up: the waiting sync covers it.
    let second = job(h.id, Task::CheckForUpdates, 12, Some(&key));
    store
        .enqueue(std::slice::from_ref(&second), None)
        .await
        .unwrap();
    let mut s2 = claim(&store, "w", 20, &second).await;
    let seen = store.grants_version(h.id).await.unwrap();
    let dropped = job(h.id, Task::CheckForUpdates, 21, Some(&key));
    store
        .upsert_grant(
            h.id,
            &grant(ana.id, castellan_core::hub::HubRole::Collaborator, "member"),
            None,
            &supersede_for(h.id, ana.id),
            std::slice::from_ref(&dropped),
            &ev("hub.share"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.job(dropped.id).await.unwrap().unwrap().state,
        JobState::Queued,
        "a held sync absorbs no newer one"
    );
    s2.state = JobState::Completed;
    let f2 = job(h.id, Task::CheckForUpdates, 22, Some(&key));
    let follow = FollowUp {
        seen_grants_version: seen,
        job: f2.clone(),
        settle: None,
    };
    // Without an event nothing is completed through this path, and no follow-up is queued.
    s2.progress = Some("progress".into());
    let mut progress = s2.clone();
    progress.state = JobState::Running;
    assert!(store
        .update_job(&progress, "w", None, Some(&follow))
        .await
        .unwrap());
    assert!(store.job(f2.id).await.unwrap().is_none());
    // A lost lease writes nothing, follow-up included.
    assert!(!store
        .update_job(
            &s2,
            "someone-else",
            Some(&ev("job.completed")),
            Some(&follow)
        )
        .await
        .unwrap());
    assert!(store.job(f2.id).await.unwrap().is_none());
    assert!(store
        .update_job(&s2, "w", Some(&ev("job.completed")), Some(&follow))
        .await
        .unwrap());
    assert!(
        store.job(f2.id).await.unwrap().is_none(),
        "deduplicated into the waiting sync"
    );
    // With no sync waiting, completing after a grant change queues the follow-up.
    let mut s3 = claim(&store, "w", 30, &dropped).await;
    let seen = store.grants_version(h.id).await.unwrap();
    store.mark_desired_changed(&[h.id], &[]).await.unwrap();
    s3.state = JobState::Completed;
    let f3 = job(h.id, Task::CheckForUpdates, 31, Some(&key));
    let follow = FollowUp {
        seen_grants_version: seen,
        job: f3.clone(),
        settle: None,
    };
    assert!(store
        .update_job(&s3, "w", Some(&ev("job.completed")), Some(&follow))
        .await
        .unwrap());
    assert_eq!(
        store.job(f3.id).await.unwrap().unwrap().state,
        JobState::Queued
    );
    assert_intact(&store).await;
}

/// Jobs with one dedupe key: a held job absorbs no newer one, the newer one is not started
/// while the held one runs (even once its lease expired), and a held job cannot go back to
/// waiting while a newer one waits.
pub async fn a_held_job_absorbs_no_newer_one<S: SuiteStore>(store: S) {
    let h = hub("Slack");
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let key = format!("sync:{}:false", h.id);
    let a = job(h.id, Task::CheckForUpdates, 1, Some(&key));
    store.enqueue(std::slice::from_ref(&a), None).await.unwrap();
    let mut held = claim(&store, "w-a", 10, &a).await;
    held.state = JobState::Running;
    assert!(store.update_job(&held, "w-a", None, None).await.unwrap());

    let (b, c) = (
        job(h.id, Task::CheckForUpdates, 11, Some(&key)),
        job(h.id, Task::CheckForUpdates, 12, Some(&key)),
    );
    assert_eq!(
        store.enqueue(&[b.clone(), c.clone()], None).await.unwrap(),
        [b.id],
        "the held job absorbs nothing; the waiting one absorbs the third"
    );
    // Another worker finds nothing to start: B waits for A.
    assert!(store
        .claim_job("w-b", t(20), Duration::seconds(600))
        .await
        .unwrap()
        .is_none());
    // A's worker died: after the lease, A is taken over (not B).
    let mut a2 = claim(&store, "w-b", 700, &a).await;
    assert_eq!(a2.worker_id.as_deref(), Some("w-b"));
    // A cannot go back to waiting while B waits: a conflict, and nothing is written.
    a2.state = JobState::Retrying;
    a2.lease_until = None;
    let err = store
        .update_job(&a2, "w-b", Some(&ev("job.retrying")), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, castellan_core::CoreError::Conflict(_)),
        "{err:?}"
    );
    assert_eq!(
        store.job(a.id).await.unwrap().unwrap().state,
        JobState::Started
    );
    a2.state = JobState::NotCompleted;
    assert!(store
        .update_job(&a2, "w-b", Some(&ev("job.superseded")), None)
        .await
        .unwrap());
    // Now B starts; while it runs, no other check of the hub starts, whatever its key.
    let mut b_held = claim(&store, "w-b", 701, &b).await;
    let confirm = job(
        h.id,
        Task::CheckForUpdates,
        1,
        Some(&format!("sync:{}:true", h.id)),
    );
    store
        .enqueue(std::slice::from_ref(&confirm), None)
        .await
        .unwrap();
    assert!(store
        .claim_job("w-c", t(702), Duration::seconds(600))
        .await
        .unwrap()
        .is_none());
    // Completing B with a settle check queues it even though the grants did not move; the
    // confirmed check starts after B.
    b_held.state = JobState::Completed;
    let settle = job(h.id, Task::CheckForUpdates, 760, Some("settle:h"));
    let follow = FollowUp {
        seen_grants_version: store.grants_version(h.id).await.unwrap(),
        job: job(h.id, Task::CheckForUpdates, 703, Some(&key)),
        settle: Some(settle.clone()),
    };
    assert!(store
        .update_job(&b_held, "w-b", Some(&ev("job.completed")), Some(&follow))
        .await
        .unwrap());
    assert!(store.job(follow.job.id).await.unwrap().is_none());
    assert_eq!(
        store.job(settle.id).await.unwrap().unwrap().state,
        JobState::Queued
    );
    let mut c2 = claim(&store, "w-c", 702, &confirm).await;
    c2.state = JobState::Completed;
    assert!(store
        .update_job(&c2, "w-c", Some(&ev("job.completed")), None)
        .await
        .unwrap());
    let mut s2 = claim(&store, "w-c", 761, &settle).await;
    s2.state = JobState::Completed;
    assert!(store
        .update_job(&s2, "w-c", Some(&ev("job.completed")), None)
        .await
        .unwrap());
    // Jobs without a key never wait for each other.
    let (x, y) = (
        job(h.id, Task::RemoveMember, 702, None),
        job(h.id, Task::RemoveMember, 703, None),
    );
    store.enqueue(&[x.clone(), y.clone()], None).await.unwrap();
    claim(&store, "w-c", 800, &x).await;
    claim(&store, "w-d", 800, &y).await;
    assert_intact(&store).await;
}

/// A grant change racing the completion of a running sync, on two connections: whichever
/// commits first, exactly one check for updates is left queued afterwards.
pub async fn grant_change_racing_a_completion_leaves_a_sync<I: Instances>(db: I) {
    let a = db.open().await;
    let b = db.open().await;
    let ana = person("ana@acme.io", WorkspaceRole::User);
    a.insert_person(&ana, &ev("person.create")).await.unwrap();
    let h = hub("Race");
    a.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let key = format!("sync:{}:false", h.id);
    for round in 0..25_i64 {
        let base = 1000 * (round + 1);
        let running = job(h.id, Task::CheckForUpdates, base, Some(&key));
        a.enqueue(std::slice::from_ref(&running), None)
            .await
            .unwrap();
        let mut s = claim(&a, "w", base + 1, &running).await;
        let seen = a.grants_version(h.id).await.unwrap();
        s.state = JobState::Completed;
        let barrier = Arc::new(Barrier::new(2));
        let (ba, bb) = (barrier.clone(), barrier);
        let follow = FollowUp {
            seen_grants_version: seen,
            job: job(h.id, Task::CheckForUpdates, base + 2, Some(&key)),
            settle: None,
        };
        let (store_a, store_b) = (a.clone(), b.clone());
        let complete = tokio::spawn(async move {
            ba.wait().await;
            store_a
                .update_job(&s, "w", Some(&ev("job.completed")), Some(&follow))
                .await
                .unwrap()
        });
        let mut g = grant(ana.id, castellan_core::hub::HubRole::Collaborator, "member");
        g.revoked = round % 2 == 0;
        g.updated_at = t(base + 3);
        let sync = job(h.id, Task::CheckForUpdates, base + 3, Some(&key));
        let change = tokio::spawn(async move {
            bb.wait().await;
            store_b
                .upsert_grant(
                    h.id,
                    &g,
                    None,
                    &supersede_for(h.id, ana.id),
                    std::slice::from_ref(&sync),
                    &ev("hub.share"),
                )
                .await
                .unwrap()
        });
        assert!(complete.await.unwrap());
        change.await.unwrap();
        let queued = a
            .jobs(&castellan_core::ports::JobFilter {
                hub_id: Some(h.id),
                states: Some(vec![JobState::Queued]),
                limit: None,
            })
            .await
            .unwrap();
        assert_eq!(queued.len(), 1, "round {round}: {queued:#?}");
        // Complete it so the next round starts from a quiet hub.
        let mut next = claim(&a, "w", base + 5, &queued[0]).await;
        next.state = JobState::Completed;
        assert!(a
            .update_job(&next, "w", Some(&ev("job.completed")), None)
            .await
            .unwrap());
    }
    assert_intact(&a).await;
}
