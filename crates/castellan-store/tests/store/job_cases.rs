//! The job queue: claim order, leases, guarded updates, concurrent claimers, the run log.

use std::collections::HashSet;
use std::sync::Arc;

use crate::harness::{Instances, SuiteStore};
use castellan_core::hub::{Job, JobId, JobParams, JobState, Task};
use castellan_core::ports::{HubStore, JobFilter, JobStore, Store};
use castellan_core::CoreError;
use chrono::Duration;
use tokio::sync::Barrier;

use crate::fixtures::*;

fn lease() -> Duration {
    Duration::seconds(30)
}

pub async fn claims_in_order_with_leases<S: SuiteStore>(store: S) {
    let h = hub("Slack");
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let n = seq(&store).await;
    let late = job(h.id, Task::InviteMember, 10, None);
    let mut early = job(h.id, Task::RemoveMember, 5, None);
    // The SCIM request behind a job is kept (a claim returns it too).
    early.scim_request = Some(castellan_core::activity::ScimRequest::new(
        "PATCH",
        "/scim/v2/Users/1",
    ));
    let future = job(h.id, Task::CheckForUpdates, 1000, None);
    let mut retrying = job(h.id, Task::UpdateMemberRole, 20, None);
    retrying.state = JobState::Retrying;
    retrying.attempts = 2;
    retrying.error = Some("rate limited".into());
    let mut done = job(h.id, Task::InviteMember, 1, None);
    done.state = JobState::Completed;
    let all = [
        late.clone(),
        early.clone(),
        future.clone(),
        retrying.clone(),
        done.clone(),
    ];
    assert_eq!(store.enqueue(&all, None).await.unwrap().len(), 5);

    // Due jobs by run_at; finished and future jobs are never handed out.
    let a = store
        .claim_job("w-a", t(50), lease())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.id, a.state, a.worker_id.as_deref()),
        (early.id, JobState::Started, Some("w-a"))
    );
    assert_eq!(
        (a.lease_until, a.updated_at, a.run_at),
        (Some(t(80)), t(50), t(5))
    );
    assert_eq!(a.params, early.params);
    assert_eq!(a.scim_request, early.scim_request);
    let stored = store.job(early.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.state,
            stored.worker_id.as_deref(),
            stored.lease_until
        ),
        (JobState::Started, Some("w-a"), Some(t(80)))
    );
    let b = store
        .claim_job("w-b", t(50), lease())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.id, b.scim_request.as_ref()), (late.id, None));
    let c = store
        .claim_job("w-b", t(50), lease())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.id, c.attempts, c.error.as_deref()),
        (retrying.id, 2, Some("rate limited"))
    );
    assert!(store
        .claim_job("w-c", t(50), lease())
        .await
        .unwrap()
        .is_none());
    assert_eq!(seq(&store).await, n, "claims append no event");
    // w-b keeps its two jobs for a long while.
    for held in [&b, &c] {
        let mut k = held.clone();
        k.state = JobState::Running;
        k.lease_until = Some(t(300));
        assert!(store.update_job(&k, "w-b", None, None).await.unwrap());
    }

    // The worker keeps its lease alive; the lease is checked against the stored worker.
    let mut running = a.clone();
    running.state = JobState::Running;
    running.attempts = 1;
    running.progress = Some("listed 10 members".into());
    running.lease_until = Some(t(90));
    running.updated_at = t(60);
    assert!(store.update_job(&running, "w-a", None, None).await.unwrap());
    assert!(
        !store.update_job(&running, "w-x", None, None).await.unwrap(),
        "not the holder"
    );
    let stored = store.job(a.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.state,
            stored.attempts,
            stored.progress.as_deref(),
            stored.lease_until
        ),
        (JobState::Running, 1, Some("listed 10 members"), Some(t(90)))
    );
    // Not expired yet at t(85) (lease_until t(90)); expired at t(91): w-c takes it over.
    assert!(store
        .claim_job("w-c", t(85), lease())
        .await
        .unwrap()
        .is_none());
    let taken = store
        .claim_job("w-c", t(91), lease())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            taken.id,
            taken.state,
            taken.worker_id.as_deref(),
            taken.attempts
        ),
        (a.id, JobState::Started, Some("w-c"), 1)
    );
    // w-a lost the lease: its writes, and their events, are refused.
    let mut stale = running.clone();
    stale.state = JobState::Completed;
    stale.lease_until = None;
    stale.updated_at = t(95);
    assert!(!store
        .update_job(&stale, "w-a", Some(&ev("job.completed")), None)
        .await
        .unwrap());
    assert_eq!(seq(&store).await, n);
    assert_eq!(
        store.job(a.id).await.unwrap().unwrap().worker_id.as_deref(),
        Some("w-c")
    );

    // The engine writes `retrying` through update_job, then the final state from `retrying`.
    let mut r = taken.clone();
    r.state = JobState::Retrying;
    r.attempts = 2;
    r.error = Some("unavailable".into());
    r.run_at = t(200);
    r.lease_until = None;
    r.updated_at = t(96);
    assert!(store
        .update_job(&r, "w-c", Some(&ev("job.retrying")), None)
        .await
        .unwrap());
    let n = appended_one(&store, n, "job.retrying").await;
    assert!(
        store
            .claim_job("w-d", t(199), lease())
            .await
            .unwrap()
            .is_none(),
        "not before run_at"
    );
    let again = store
        .claim_job("w-d", t(200), lease())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.id, again.attempts, again.worker_id.as_deref()),
        (a.id, 2, Some("w-d"))
    );
    let mut fin = again.clone();
    fin.state = JobState::Completed;
    fin.error = None;
    fin.lease_until = None;
    fin.updated_at = t(201);
    assert!(store
        .update_job(&fin, "w-d", Some(&ev("job.completed")), None)
        .await
        .unwrap());
    let n = appended_one(&store, n, "job.completed").await;
    assert!(
        !store.update_job(&fin, "w-d", None, None).await.unwrap(),
        "a finished job is no longer held"
    );
    let got = store.job(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.state, got.error, got.run_at, got.lease_until),
        (JobState::Completed, None, t(200), None)
    );

    // The automation log: newest first, by hub and state, limited.
    let newest = store.jobs(&JobFilter::default()).await.unwrap();
    assert_eq!(
        newest.iter().map(|j| j.id).collect::<Vec<_>>(),
        [future.id, retrying.id, late.id, early.id, done.id]
    );
    let f = JobFilter {
        hub_id: Some(h.id),
        states: Some(vec![JobState::Completed, JobState::Queued]),
        limit: Some(2),
    };
    assert_eq!(
        store
            .jobs(&f)
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        [future.id, early.id]
    );
    let none = JobFilter {
        states: Some(vec![]),
        ..Default::default()
    };
    assert!(store.jobs(&none).await.unwrap().is_empty());
    let other = JobFilter {
        hub_id: Some(hub("x").id),
        ..Default::default()
    };
    assert!(store.jobs(&other).await.unwrap().is_empty());
    assert_eq!(seq(&store).await, n);
    assert_intact(&store).await;
}

pub async fn retry_and_cancel<S: SuiteStore>(store: S) {
    let h = hub("Slack");
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let mut n = seq(&store).await;
    let mut failed = job(h.id, Task::InviteMember, 5, Some("invite:ana"));
    failed.state = JobState::NotCompleted;
    failed.attempts = 5;
    failed.worker_id = Some("w-old".into());
    failed.error = Some("gave up".into());
    let queued = job(h.id, Task::RemoveMember, 6, Some("remove:bob"));
    store
        .enqueue(&[failed.clone(), queued.clone()], None)
        .await
        .unwrap();

    // Retry: not_completed → queued, clearing the worker; only once.
    let mut retry = failed.clone();
    retry.state = JobState::Queued;
    retry.attempts = 0;
    retry.error = None;
    retry.worker_id = None;
    retry.run_at = t(100);
    retry.updated_at = t(100);
    assert!(store
        .update_job_if(&retry, &[JobState::NotCompleted], &ev("job.retry"))
        .await
        .unwrap());
    n = appended_one(&store, n, "job.retry").await;
    let got = store.job(failed.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.state,
            got.attempts,
            got.error,
            got.worker_id,
            got.run_at
        ),
        (JobState::Queued, 0, None, None, t(100))
    );
    assert!(!store
        .update_job_if(&retry, &[JobState::NotCompleted], &ev("job.retry"))
        .await
        .unwrap());
    assert!(!store
        .update_job_if(&retry, &[], &ev("job.retry"))
        .await
        .unwrap());
    assert_eq!(seq(&store).await, n, "a refused update appends nothing");

    // Cancel: queued → not_completed; a claimed job can no longer be cancelled.
    let claimed = store.claim_job("w", t(50), lease()).await.unwrap().unwrap();
    assert_eq!(claimed.id, queued.id);
    let mut cancel = queued.clone();
    cancel.state = JobState::NotCompleted;
    cancel.error = Some("cancelled by admin".into());
    cancel.updated_at = t(51);
    let from = [JobState::Queued, JobState::Retrying];
    assert!(!store
        .update_job_if(&cancel, &from, &ev("job.cancel"))
        .await
        .unwrap());
    let mut cancel2 = retry.clone();
    cancel2.state = JobState::NotCompleted;
    cancel2.error = Some("cancelled by admin".into());
    cancel2.updated_at = t(101);
    assert!(store
        .update_job_if(&cancel2, &from, &ev("job.cancel"))
        .await
        .unwrap());
    n = appended_one(&store, n, "job.cancel").await;
    assert_eq!(
        store.job(failed.id).await.unwrap().unwrap().state,
        JobState::NotCompleted
    );

    // Re-queueing next to a waiting job with the same key is a conflict, not a duplicate.
    let twin = job(h.id, Task::InviteMember, 110, Some("invite:ana"));
    assert_eq!(
        store
            .enqueue(std::slice::from_ref(&twin), None)
            .await
            .unwrap(),
        [twin.id]
    );
    let err = store
        .update_job_if(&retry, &[JobState::NotCompleted], &ev("job.retry"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.job(failed.id).await.unwrap().unwrap().state,
        JobState::NotCompleted
    );
    assert_eq!(seq(&store).await, n);
    assert_intact(&store).await;
}

/// Four workers (each its own store: its own pool, as separate instances would be) claim 200
/// jobs at once: every job is claimed exactly once. On PostgreSQL they do it while another
/// transaction holds the activity chain lock.
pub async fn concurrent_claims<I: Instances>(db: I) {
    let first = db.open().await;
    let h = hub("Slack");
    first.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let jobs: Vec<Job> = (0..200)
        .map(|i| {
            job(
                h.id,
                Task::InviteMember,
                i % 17,
                Some(&format!("invite:{i}")),
            )
        })
        .collect();
    assert_eq!(first.enqueue(&jobs, None).await.unwrap().len(), 200);
    let mut stores = vec![first.clone()];
    for _ in 1..4 {
        stores.push(db.open().await);
    }
    // PostgreSQL: claims must not wait for the activity chain lock, so hold it meanwhile.
    let chain_lock = first.hold_chain_lock().await;
    let barrier = Arc::new(Barrier::new(4));
    let tasks: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(w, s)| {
            let (s, barrier) = (s.clone(), barrier.clone());
            tokio::spawn(async move {
                let worker = format!("worker-{w}");
                barrier.wait().await;
                let mut mine = vec![];
                while let Some(j) = s.claim_job(&worker, t(100), lease()).await.unwrap() {
                    assert_eq!(j.worker_id.as_deref(), Some(worker.as_str()));
                    s.record_job_run(j.id, &worker, t(100), "claimed")
                        .await
                        .unwrap();
                    mine.push(j.id);
                }
                mine
            })
        })
        .collect();
    let mut claimed = vec![];
    let mut per_worker = vec![];
    for task in tasks {
        let mine = tokio::time::timeout(std::time::Duration::from_secs(60), task)
            .await
            .expect("claims blocked (on the chain lock?)")
            .unwrap();
        per_worker.push(mine.len());
        claimed.extend(mine);
    }
    drop(chain_lock);
    eprintln!("{}: claims per worker {per_worker:?}", first.backend());
    assert_eq!(claimed.len(), 200);
    let unique: HashSet<JobId> = claimed.iter().copied().collect();
    assert_eq!(unique.len(), 200, "a job was claimed twice");
    assert_eq!(unique, jobs.iter().map(|j| j.id).collect::<HashSet<_>>());
    let counts = first.job_run_counts().await.unwrap();
    assert_eq!(counts.len(), 200);
    assert!(counts.iter().all(|(_, c)| *c == 1), "{counts:?}");
    let started = JobFilter {
        states: Some(vec![JobState::Started]),
        limit: Some(1000),
        ..Default::default()
    };
    assert_eq!(first.jobs(&started).await.unwrap().len(), 200);
    assert_eq!(seq(&first).await, 1, "claims append no event");
    for s in stores {
        s.close_store().await;
    }
}

pub async fn job_run_counts<S: SuiteStore>(store: S) {
    let h = hub("Slack");
    let (a, b) = (
        job(h.id, Task::InviteMember, 1, None),
        job(h.id, Task::RemoveMember, 2, None),
    );
    store
        .insert_hub(&h, &[a.clone(), b.clone()], &ev("hub.connect"))
        .await
        .unwrap();
    let n = seq(&store).await;
    assert!(store.job_run_counts().await.unwrap().is_empty());
    store
        .record_job_run(a.id, "w1", t(10), "invited")
        .await
        .unwrap();
    store
        .record_job_run(a.id, "w2", t(11), "already_member")
        .await
        .unwrap();
    store
        .record_job_run(b.id, "w1", t(12), "removed")
        .await
        .unwrap();
    let mut counts = store.job_run_counts().await.unwrap();
    counts.sort();
    let mut want = vec![(a.id, 2), (b.id, 1)];
    want.sort();
    assert_eq!(counts, want);
    let err = store
        .record_job_run(JobId::new(), "w1", t(13), "x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "job" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n, "runs append no event");
}

/// A job whose stored parameters this build cannot read (edited by hand, or written by an
/// incompatible build) is listed, claimed and shown as stored; it blocks no other job.
pub async fn unreadable_params_block_nothing(store: castellan_store::SqlStore) {
    let h = hub("Slack");
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let (bad, worse, good) = (
        job(h.id, Task::InviteMember, 1, None),
        job(h.id, Task::CheckForUpdates, 2, None),
        job(h.id, Task::RemoveMember, 3, None),
    );
    store
        .enqueue(&[bad.clone(), worse.clone(), good.clone()], None)
        .await
        .unwrap();
    for (id, params) in [(bad.id, r#"{"confirm":false}"#), (worse.id, "not json")] {
        sqlx::query("UPDATE jobs SET params = $1 WHERE id = $2")
            .bind(params)
            .bind(id.to_string())
            .execute(store.pool())
            .await
            .unwrap();
    }
    let listed = store
        .jobs(&JobFilter {
            hub_id: Some(h.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    let shown = listed.iter().find(|j| j.id == bad.id).unwrap();
    assert!(matches!(shown.params, JobParams::Unreadable { .. }));
    assert_eq!(
        serde_json::to_value(&shown.params).unwrap(),
        serde_json::json!({ "confirm": false })
    );
    for want in [&bad, &worse, &good] {
        let got = store
            .claim_job("w", t(10), Duration::seconds(60))
            .await
            .unwrap()
            .expect("every job is claimed in turn");
        assert_eq!(got.id, want.id);
    }
}

/// Resumable listing: pages are kept per job, replaced by number, read in order, cleared, and
/// go with their job.
pub async fn listed_pages_are_kept_per_job<S: SuiteStore>(store: S) {
    use castellan_core::connector::{AppMember, MemberState};
    use castellan_core::ports::ListedPage;
    let h = hub("Slack");
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let a = job(h.id, Task::CheckForUpdates, 1, None);
    let b = job(h.id, Task::InviteMember, 1, None);
    store.enqueue(&[a.clone(), b.clone()], None).await.unwrap();
    let member = |id: &str| AppMember {
        app_member_id: id.into(),
        email: Some(format!("{id}@example.com")),
        name: Some("Ünïcode \"name\"".into()),
        roles: vec!["admin".into()],
        state: MemberState::Active,
    };
    let page = |n: i64, ids: &[&str], next: Option<&str>| ListedPage {
        page: n,
        members: ids.iter().map(|i| member(i)).collect(),
        next: next.map(str::to_owned),
        listed_at: t(n * 10),
    };
    store
        .save_listed_page(a.id, &page(1, &["c"], Some("p2")))
        .await
        .unwrap();
    store
        .save_listed_page(a.id, &page(0, &["a", "b"], Some("p1")))
        .await
        .unwrap();
    store
        .save_listed_page(b.id, &page(0, &["z"], None))
        .await
        .unwrap();
    // The same number again replaces the page.
    store
        .save_listed_page(a.id, &page(1, &["c", "d"], Some("p2b")))
        .await
        .unwrap();
    assert_eq!(
        store.listed_pages(a.id).await.unwrap(),
        [
            page(0, &["a", "b"], Some("p1")),
            page(1, &["c", "d"], Some("p2b"))
        ]
    );
    store.clear_listed_pages(a.id).await.unwrap();
    assert!(store.listed_pages(a.id).await.unwrap().is_empty());
    assert_eq!(
        store.listed_pages(b.id).await.unwrap().len(),
        1,
        "other jobs keep theirs"
    );
    let e = store
        .save_listed_page(castellan_core::hub::JobId::new(), &page(0, &[], None))
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::NotFound { kind: "job" }), "{e:?}");
}
