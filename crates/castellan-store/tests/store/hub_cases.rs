//! Business hubs: settings, member snapshots and reports, grants, the sync schedule.

use std::sync::Arc;
use std::time::Instant;

use crate::harness::{Instances, SuiteStore};
use castellan_core::hub::{HubId, HubRole, HubStatus, JobId, JobState, Matching, SyncReport, Task};
use castellan_core::model::WorkspaceRole;
use castellan_core::ports::{HubStore, JobFilter};
use castellan_core::CoreError;
use chrono::Duration;
use tokio::sync::Barrier;

use crate::fixtures::*;

pub async fn hubs_lifecycle<S: SuiteStore>(store: S) {
    let p = person("admin@acme.io", WorkspaceRole::Admin);
    store.insert_person(&p, &ev("person.create")).await.unwrap();
    let mut h = hub("Slack  Acme");
    h.created_by = Some(p.id);
    let first = job(h.id, Task::CheckForUpdates, 4, Some("sync:h:false"));
    store
        .insert_hub(&h, std::slice::from_ref(&first), &ev("hub.connect"))
        .await
        .unwrap();
    let mut n = appended_one(&store, 1, "hub.connect").await;
    let got = store.hub(h.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.label.as_str(),
            got.app_id.as_str(),
            got.organization_id.as_deref()
        ),
        ("Slack  Acme", "slack", Some("T0123"))
    );
    assert_eq!(
        (got.status, got.warnings.clone(), got.safeguard_threshold),
        (HubStatus::UnderValidation, h.warnings.clone(), 0.2)
    );
    assert_eq!(
        (got.sync_interval_secs, got.next_sync_at, got.last_sync_at),
        (600, Some(t(600)), None)
    );
    assert_eq!(
        (got.automation_account_id, got.created_by, got.created_at),
        (h.automation_account_id, Some(p.id), t(4))
    );
    let jobs = store.jobs(&JobFilter::default()).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let j = &jobs[0];
    assert_eq!(
        (j.id, j.hub_id, j.task, j.state),
        (first.id, h.id, Task::CheckForUpdates, JobState::Queued)
    );
    assert_eq!(
        (j.params.clone(), j.dedupe_key.clone()),
        (first.params.clone(), first.dedupe_key.clone())
    );
    assert_eq!(
        (j.attempts, j.max_attempts, j.run_at, j.lease_until),
        (0, 5, t(4), None)
    );

    // A duplicate label (ignoring case and spacing) writes nothing: no hub, no job, no event.
    let head = store.chain_head().await.unwrap();
    let dup = hub(" slack acme ");
    let dup_job = job(dup.id, Task::CheckForUpdates, 5, None);
    let err = store
        .insert_hub(&dup, &[dup_job], &ev("hub.connect"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Conflict(m) if m.contains("already exists")),
        "{err:?}"
    );
    assert_eq!(store.chain_head().await.unwrap(), head);
    assert!(store.hub(dup.id).await.unwrap().is_none());
    assert_eq!(store.jobs(&JobFilter::default()).await.unwrap().len(), 1);

    // Ordered by label; a whole threshold (1.0) reads back as a float on both backends.
    let mut b = hub("Asana");
    b.safeguard_threshold = 1.0;
    b.next_sync_at = None;
    b.warnings = vec![];
    store.insert_hub(&b, &[], &ev("hub.connect")).await.unwrap();
    n = appended_one(&store, n, "hub.connect").await;
    let all = store.hubs().await.unwrap();
    assert_eq!(
        all.iter().map(|h| h.label.as_str()).collect::<Vec<_>>(),
        ["Asana", "Slack  Acme"]
    );
    assert_eq!(
        (all[0].safeguard_threshold, all[0].warnings.len()),
        (1.0, 0)
    );

    // Update without an event appends nothing; with one, exactly one.
    let mut up = got.clone();
    up.status = HubStatus::Healthy;
    up.status_reason = None;
    up.label = "Slack".into();
    up.safeguard_threshold = 0.35;
    up.last_sync_at = Some(t(700));
    up.updated_at = t(700);
    store.update_hub(&up, None).await.unwrap();
    assert_eq!(seq(&store).await, n);
    let got = store.hub(h.id).await.unwrap().unwrap();
    assert_eq!(
        (got.label.as_str(), got.status, got.status_reason.clone()),
        ("Slack", HubStatus::Healthy, None)
    );
    assert_eq!(
        (
            got.safeguard_threshold,
            got.last_sync_at,
            got.updated_at,
            got.created_at
        ),
        (0.35, Some(t(700)), t(700), t(4))
    );
    up.status_reason = Some("settings changed".into());
    store
        .update_hub(&up, Some(&ev("hub.update")))
        .await
        .unwrap();
    n = appended_one(&store, n, "hub.update").await;
    // The old label is free again; the other hub's label is not.
    let c = hub("Slack Acme");
    store.insert_hub(&c, &[], &ev("hub.connect")).await.unwrap();
    n = appended_one(&store, n, "hub.connect").await;
    let mut clash = up.clone();
    clash.label = "ASANA".into();
    let err = store
        .update_hub(&clash, Some(&ev("hub.update")))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    let err = store.update_hub(&hub("Nowhere"), None).await.unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "hub" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n);
    assert_intact(&store).await;
}

pub async fn save_sync_replaces_members<S: SuiteStore>(store: S) {
    let ana = person("ana@acme.io", WorkspaceRole::User);
    store
        .insert_person(&ana, &ev("person.create"))
        .await
        .unwrap();
    let h = hub("Slack");
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let other = hub("Other");
    store
        .insert_hub(&other, &[], &ev("hub.connect"))
        .await
        .unwrap();
    let mut n = seq(&store).await;
    assert!(store.hub_members(h.id).await.unwrap().is_empty());
    assert!(store.last_report(h.id).await.unwrap().is_none());

    // Single upserts, with and without an event.
    let mut m = member(1);
    store.upsert_hub_member(h.id, &m, None).await.unwrap();
    assert_eq!(seq(&store).await, n);
    m.matching = Matching::Onboarded;
    m.person_id = Some(ana.id);
    m.app_role = Some("owner".into());
    store
        .upsert_hub_member(h.id, &m, Some(&ev("hub.member_match")))
        .await
        .unwrap();
    n = appended_one(&store, n, "hub.member_match").await;
    store
        .upsert_hub_member(other.id, &member(9), None)
        .await
        .unwrap();
    assert_eq!(store.hub_members(h.id).await.unwrap(), [m.clone()]);
    let err = store
        .upsert_hub_member(HubId::new(), &member(2), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "hub" }),
        "{err:?}"
    );
    let mut ghost = member(3);
    ghost.person_id = Some(castellan_core::ids::PersonId::new());
    let err = store
        .upsert_hub_member(h.id, &ghost, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );

    // A 5,000-member snapshot round-trips, in app member id order, and saves fast.
    let mut members: Vec<_> = (0..5000).rev().map(member).collect();
    members[17].person_id = Some(ana.id);
    members[17].matching = Matching::Onboarded;
    let report = SyncReport {
        total: 5000,
        new: vec!["U000002".into()],
        gone: vec!["U999999".into()],
        onboarded: 1,
        unmatched: 2500,
        planned_invites: vec!["bob@acme.io".into()],
        drift: 1,
        ..Default::default()
    };
    let mut synced = h.clone();
    synced.status = HubStatus::RequiresSync;
    synced.status_reason = Some("1 change(s) queued for the bot".into());
    synced.last_sync_at = Some(t(900));
    synced.updated_at = t(900);
    let job1 = JobId::new();
    let started = Instant::now();
    store
        .save_sync(
            &synced,
            &members,
            &report,
            job1,
            &ev("hub.check_for_updates"),
            &[],
        )
        .await
        .unwrap();
    let took = started.elapsed();
    eprintln!(
        "{}: save_sync of 5,000 members took {took:?}",
        store.backend()
    );
    assert!(
        took < std::time::Duration::from_secs(20),
        "save_sync too slow: {took:?}"
    );
    n = appended_one(&store, n, "hub.check_for_updates").await;
    let got = store.hub_members(h.id).await.unwrap();
    let mut want = members.clone();
    want.sort_by(|a, b| a.app_member_id.cmp(&b.app_member_id));
    assert_eq!(got.len(), 5000);
    assert!(got == want, "the snapshot does not round-trip");
    assert_eq!(
        store.hub_members(other.id).await.unwrap().len(),
        1,
        "other hubs untouched"
    );
    let (at, got_report) = store.last_report(h.id).await.unwrap().unwrap();
    assert_eq!((at, got_report), (t(900), report.clone()));
    let got_hub = store.hub(h.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got_hub.status,
            got_hub.last_sync_at,
            got_hub.status_reason.as_deref()
        ),
        (
            HubStatus::RequiresSync,
            Some(t(900)),
            Some("1 change(s) queued for the bot")
        )
    );

    // The next sync replaces the snapshot and its report becomes the latest.
    let small: Vec<_> = (0..3).map(member).collect();
    let report2 = SyncReport {
        total: 3,
        halted: Some("too many gone".into()),
        ..Default::default()
    };
    synced.last_sync_at = Some(t(1000));
    store
        .save_sync(
            &synced,
            &small,
            &report2,
            JobId::new(),
            &ev("hub.check_for_updates"),
            &[],
        )
        .await
        .unwrap();
    n = appended_one(&store, n, "hub.check_for_updates").await;
    assert_eq!(store.hub_members(h.id).await.unwrap(), small);
    assert_eq!(
        store.last_report(h.id).await.unwrap().unwrap(),
        (t(1000), report2.clone())
    );

    // A failing save writes nothing: missing hub, or a member naming a missing person.
    let err = store
        .save_sync(
            &hub("Gone"),
            &small,
            &report,
            JobId::new(),
            &ev("hub.check_for_updates"),
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "hub" }),
        "{err:?}"
    );
    let mut bad = members.clone();
    bad[4999].person_id = Some(castellan_core::ids::PersonId::new());
    synced.last_sync_at = Some(t(1100));
    let err = store
        .save_sync(
            &synced,
            &bad,
            &report,
            JobId::new(),
            &ev("hub.check_for_updates"),
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );
    assert_eq!(store.hub_members(h.id).await.unwrap(), small);
    assert_eq!(store.last_report(h.id).await.unwrap().unwrap().0, t(1000));
    assert_eq!(
        store.hub(h.id).await.unwrap().unwrap().last_sync_at,
        Some(t(1000))
    );
    assert_eq!(seq(&store).await, n);
    assert_intact(&store).await;
}

pub async fn grants_enqueue_deduped_jobs<S: SuiteStore>(store: S) {
    let ana = person("ana@acme.io", WorkspaceRole::User);
    let bob = person("bob@acme.io", WorkspaceRole::User);
    store
        .insert_person(&ana, &ev("person.create"))
        .await
        .unwrap();
    store
        .insert_person(&bob, &ev("person.create"))
        .await
        .unwrap();
    let (h, h2) = (hub("Slack"), hub("Notion"));
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    store
        .insert_hub(&h2, &[], &ev("hub.connect"))
        .await
        .unwrap();
    let mut n = seq(&store).await;
    let key = format!("sync:{}:false", h.id);
    let unfinished = JobFilter {
        hub_id: Some(h.id),
        states: Some(vec![
            JobState::Queued,
            JobState::Started,
            JobState::Running,
            JobState::Retrying,
        ]),
        limit: None,
    };

    let g = grant(ana.id, HubRole::Collaborator, "member");
    let first = job(h.id, Task::CheckForUpdates, 40, Some(&key));
    store
        .upsert_grant(
            h.id,
            &g,
            None,
            &no_supersede(),
            std::slice::from_ref(&first),
            &ev("hub.share"),
        )
        .await
        .unwrap();
    n = appended_one(&store, n, "hub.share").await;
    assert_eq!(store.grants(h.id).await.unwrap(), std::slice::from_ref(&g));

    // The same sync is skipped while the first is unfinished; the grant still changes.
    let mut g2 = g.clone();
    g2.hub_role = HubRole::Manager;
    g2.app_role = "admin".into();
    g2.updated_at = t(50);
    let second = job(h.id, Task::CheckForUpdates, 50, Some(&key));
    store
        .upsert_grant(
            h.id,
            &g2,
            None,
            &no_supersede(),
            std::slice::from_ref(&second),
            &ev("hub.role_change"),
        )
        .await
        .unwrap();
    n = appended_one(&store, n, "hub.role_change").await;
    assert_eq!(store.grants(h.id).await.unwrap(), [g2.clone()]);
    let ids =
        |jobs: Vec<castellan_core::hub::Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(ids(store.jobs(&unfinished).await.unwrap()), [first.id]);
    assert!(store.job(second.id).await.unwrap().is_none());

    // `enqueue` skips duplicates of stored jobs and within one batch; no key, no dedupe.
    let third = job(h.id, Task::CheckForUpdates, 60, Some(&key));
    let (inv1, inv2) = (
        job(h.id, Task::InviteMember, 61, Some("invite:x")),
        job(h.id, Task::InviteMember, 62, Some("invite:x")),
    );
    let (free1, free2) = (
        job(h.id, Task::RemoveMember, 63, None),
        job(h.id, Task::RemoveMember, 64, None),
    );
    let got = store
        .enqueue(
            &[
                third.clone(),
                inv1.clone(),
                inv2.clone(),
                free1.clone(),
                free2.clone(),
            ],
            None,
        )
        .await
        .unwrap();
    assert_eq!(got, [inv1.id, free1.id, free2.id]);
    assert_eq!(seq(&store).await, n, "no event given, none appended");
    let got = store
        .enqueue(
            &[job(h.id, Task::InviteMember, 65, Some("invite:x"))],
            Some(&ev("hub.invite")),
        )
        .await
        .unwrap();
    assert!(got.is_empty());
    n = appended_one(&store, n, "hub.invite").await;
    // The same key on another hub's job is a different key only if the key says so: keys are global.
    assert!(store
        .enqueue(
            &[job(h2.id, Task::InviteMember, 66, Some("invite:x"))],
            None
        )
        .await
        .unwrap()
        .is_empty());
    // A duplicate job id is a conflict, a missing hub is not found.
    let err = store
        .enqueue(std::slice::from_ref(&free1), None)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    let err = store
        .enqueue(&[job(HubId::new(), Task::InviteMember, 1, None)], None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "hub" }),
        "{err:?}"
    );

    // Once a worker holds the first sync, the same key is accepted again: a held job absorbs
    // nothing (it may have read the app already). The newer one waits for it.
    let mut claimed = store
        .claim_job("w1", t(100), Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, first.id);
    let fourth = job(h.id, Task::CheckForUpdates, 1, Some(&key));
    assert_eq!(
        store
            .enqueue(std::slice::from_ref(&fourth), None)
            .await
            .unwrap(),
        [fourth.id],
        "a started job absorbs no newer one"
    );
    let next = store
        .claim_job("w2", t(100), Duration::seconds(30))
        .await
        .unwrap();
    assert_ne!(
        next.as_ref().map(|j| j.id),
        Some(fourth.id),
        "not started while the first runs"
    );
    if let Some(mut other) = next {
        other.state = JobState::Completed;
        assert!(store
            .update_job(&other, "w2", Some(&ev("job.completed")), None)
            .await
            .unwrap());
        n = appended_one(&store, n, "job.completed").await;
    }
    claimed.state = JobState::Completed;
    claimed.lease_until = None;
    claimed.updated_at = t(101);
    assert!(store
        .update_job(&claimed, "w1", Some(&ev("job.completed")), None)
        .await
        .unwrap());
    n = appended_one(&store, n, "job.completed").await;
    let g3 = grant(bob.id, HubRole::Collaborator, "member");
    store
        .upsert_grant(
            h.id,
            &g3,
            None,
            &no_supersede(),
            std::slice::from_ref(&third),
            &ev("hub.share"),
        )
        .await
        .unwrap();
    n = appended_one(&store, n, "hub.share").await;
    assert!(
        store.job(third.id).await.unwrap().is_none(),
        "deduplicated into the waiting one"
    );
    assert_eq!(
        store.job(fourth.id).await.unwrap().unwrap().state,
        JobState::Queued
    );
    assert_eq!(store.grants(h.id).await.unwrap().len(), 2);

    // Grants of a person, across hubs; revoked grants stay listed.
    let mut g4 = grant(ana.id, HubRole::Owner, "owner");
    g4.revoked = true;
    g4.keep_seat = true;
    // Roles on resources are kept as given, a role taken away (`None`) included.
    g4.resource_roles = vec![
        castellan_core::resource_roles::ResourceRole {
            resource_id: "project-a".into(),
            role: Some("Manager".into()),
        },
        castellan_core::resource_roles::ResourceRole {
            resource_id: "project-b".into(),
            role: None,
        },
    ];
    // A grant change made from grants read at an older version is refused and writes nothing;
    // at the current version it lands.
    let v = store.grants_version(h2.id).await.unwrap();
    let stale = store
        .upsert_grant(
            h2.id,
            &g4,
            Some(v - 1),
            &no_supersede(),
            &[],
            &ev("hub.revoke"),
        )
        .await
        .unwrap_err();
    assert!(matches!(stale, CoreError::Conflict(_)), "{stale:?}");
    assert_eq!(store.grants_version(h2.id).await.unwrap(), v);
    assert!(store.grants(h2.id).await.unwrap().iter().all(|g| *g != g4));
    store
        .upsert_grant(h2.id, &g4, Some(v), &no_supersede(), &[], &ev("hub.revoke"))
        .await
        .unwrap();
    assert_eq!(store.grants_version(h2.id).await.unwrap(), v + 1);
    n = appended_one(&store, n, "hub.revoke").await;
    let mut of_ana = store.grants_of_person(ana.id).await.unwrap();
    of_ana.sort_by_key(|(hub, _)| *hub);
    let mut want = vec![(h.id, g2.clone()), (h2.id, g4.clone())];
    want.sort_by_key(|(hub, _)| *hub);
    assert_eq!(of_ana, want);
    assert_eq!(
        store.grants_of_person(bob.id).await.unwrap(),
        [(h.id, g3.clone())]
    );

    // Missing hub or person: not found, nothing written.
    let err = store
        .upsert_grant(
            HubId::new(),
            &g,
            None,
            &no_supersede(),
            &[],
            &ev("hub.share"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "hub" }),
        "{err:?}"
    );
    let stranger = grant(
        castellan_core::ids::PersonId::new(),
        HubRole::Collaborator,
        "member",
    );
    let lost = job(h.id, Task::InviteMember, 70, Some("invite:stranger"));
    let err = store
        .upsert_grant(
            h.id,
            &stranger,
            None,
            &no_supersede(),
            std::slice::from_ref(&lost),
            &ev("hub.share"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );
    assert!(store.job(lost.id).await.unwrap().is_none());
    assert_eq!(seq(&store).await, n);
    assert_intact(&store).await;
}

/// Two instances call the scheduler at the same moment: each due hub goes to exactly one.
pub async fn claim_due_syncs_single_winner<I: Instances>(db: I) {
    let a = db.open().await;
    let b = db.open().await;
    let mut due = hub("Due");
    due.next_sync_at = Some(t(0));
    due.sync_interval_secs = 600;
    let mut later = hub("Later");
    later.next_sync_at = Some(t(100_000));
    let mut never = hub("Never");
    never.next_sync_at = None;
    for h in [&due, &later, &never] {
        a.insert_hub(h, &[], &ev("hub.connect")).await.unwrap();
    }
    let n = seq(&a).await;
    for round in 0..20_i64 {
        let now = t(1000 * round);
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|s| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.claim_due_syncs(now).await.unwrap()
                })
            })
            .collect();
        let mut won = vec![];
        for task in tasks {
            won.extend(task.await.unwrap());
        }
        assert_eq!(
            won,
            [due.id],
            "round {round}: exactly one caller gets the due hub"
        );
        let h = a.hub(due.id).await.unwrap().unwrap();
        assert_eq!(h.next_sync_at, Some(now + Duration::seconds(600)));
        assert!(
            a.claim_due_syncs(now).await.unwrap().is_empty(),
            "not due again yet"
        );
    }
    assert_eq!(
        a.hub(later.id).await.unwrap().unwrap().next_sync_at,
        Some(t(100_000))
    );
    assert_eq!(a.hub(never.id).await.unwrap().unwrap().next_sync_at, None);
    assert_eq!(seq(&a).await, n, "the schedule appends no event");
    a.close_store().await;
    b.close_store().await;
}
