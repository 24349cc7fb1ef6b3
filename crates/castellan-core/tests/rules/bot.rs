//! The bot against the fake app: the grant lifecycle, retries with backoff, permanent
//! failures, lost answers, supersession and leases.

use castellan_core::connector::{ConnectorError, MemberState};
use castellan_core::hub::{HubStatus, JobState, Matching, Task};
use castellan_core::ports::{HubStore, JobStore};
use castellan_core::service::backoff;
use castellan_testkit::{permanent, transient, Fail, Op, Outcome, World};
use chrono::Duration;

use crate::fixtures::*;

#[tokio::test]
async fn matching_then_share_role_change_and_revoke_converge() {
    let w = World::new().await;
    let ana = w.person("ana@example.com").await;
    let bob = w.person("bob@example.com").await;
    w.app.add(
        "m-ana",
        Some("Ana@Example.com"),
        "member",
        MemberState::Active,
    );
    w.app.add(
        "m-x",
        Some("stranger@example.com"),
        "member",
        MemberState::Active,
    );
    add_guests(&w, 8);
    let hub = w.connect("Chat").await.unwrap();
    assert_eq!(hub.status, HubStatus::UnderValidation);
    w.drain().await;
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
    let members = snapshot(&w, hub.id).await;
    let find = |id: &str| members.iter().find(|m| m.app_member_id == id).unwrap();
    assert_eq!(find("m-ana").matching, Matching::Onboarded);
    assert_eq!(find("m-ana").person_id, Some(ana));
    assert_eq!(find("m-x").matching, Matching::Unmatched);
    assert_eq!(find("g000").matching, Matching::Guest);

    // Share: the bot invites Bob with the app's default role.
    share(&w, hub.id, bob, None).await;
    w.drain().await;
    let m = w
        .app
        .member_by_email("bob@example.com")
        .expect("bob invited");
    assert_eq!(
        (m.roles[0].as_str(), m.state),
        ("member", MemberState::Active)
    );
    // Role change, then revoke.
    share(&w, hub.id, bob, Some("admin")).await;
    w.drain().await;
    assert_eq!(w.app.member(&m.app_member_id).unwrap().roles, ["admin"]);
    revoke(&w, hub.id, &[bob]).await;
    w.drain().await;
    assert_eq!(
        w.app.member(&m.app_member_id).unwrap().state,
        MemberState::Deactivated
    );
    // Exactly one write per change, none on the members nobody manages.
    let writes: Vec<Op> = w.app.writes().iter().map(|c| c.op).collect();
    assert_eq!(writes, [Op::Invite, Op::UpdateRole, Op::Remove]);
    // The next sync finds nothing to do.
    w.svc
        .hubs()
        .sync(
            &w.owner.permit().unwrap(),
            hub.id,
            false,
            castellan_core::hub::Trigger::Manual,
        )
        .await
        .unwrap();
    w.drain().await;
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::Healthy, "{:?}", h.status_reason);
    let (_, report) = w.store.last_report(hub.id).await.unwrap().unwrap();
    assert_eq!(report.drift, 0, "{report:#?}");
    assert_eq!(w.app.writes().len(), 3);
    for task in [
        Task::InviteMember,
        Task::UpdateMemberRole,
        Task::RemoveMember,
    ] {
        assert_eq!(only_job(&w, hub.id, task).await.state, JobState::Completed);
    }
}

#[tokio::test]
async fn transient_failures_are_retried_until_the_write_succeeds() {
    let (w, hub) = synced_world().await;
    let bob = w.person("bob@example.com").await;
    w.app.fail(Fail::next(2, transient()).on(Op::Invite));
    share(&w, hub.id, bob, None).await;
    w.drain().await;
    let job = only_job(&w, hub.id, Task::InviteMember).await;
    assert_eq!(job.state, JobState::Completed, "{job:#?}");
    assert_eq!(job.attempts, 3);
    let outcomes: Vec<Outcome> = w
        .app
        .calls_of(Op::Invite)
        .into_iter()
        .map(|c| c.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Failed(transient()),
            Outcome::Failed(transient()),
            Outcome::Answered
        ]
    );
    assert_eq!(events(&w, "job.retrying").await.len(), 2);
    assert!(w.app.member_by_email("bob@example.com").is_some());
}

#[tokio::test]
async fn a_rate_limited_retry_waits_at_least_as_long_as_the_app_asks() {
    let (w, hub) = synced_world().await;
    let bob = w.person("bob@example.com").await;
    let wait = std::time::Duration::from_secs(30);
    w.app.fail(
        Fail::next(
            1,
            ConnectorError::RateLimited {
                retry_after: Some(wait),
            },
        )
        .on(Op::Invite),
    );
    share(&w, hub.id, bob, None).await;
    // The sync, then the invite's first attempt.
    assert!(w.bot.run_one().await.unwrap());
    assert!(w.bot.run_one().await.unwrap());
    let job = only_job(&w, hub.id, Task::InviteMember).await;
    assert_eq!(job.state, JobState::Retrying);
    assert!(
        job.run_at >= job.updated_at + Duration::seconds(30),
        "run_at {} updated_at {}",
        job.run_at,
        job.updated_at
    );
    assert!(!w.bot.run_one().await.unwrap(), "not due yet");
}

#[test]
fn backoff_doubles_with_jitter_up_to_ten_minutes() {
    let base = Duration::seconds(5);
    for attempt in 1..=5 {
        let nominal = 5_000 * (1i64 << (attempt - 1));
        for _ in 0..50 {
            let d = backoff(&castellan_core::clock::ThreadJitter, base, attempt, None)
                .num_milliseconds();
            assert!(
                (nominal * 8 / 10..=nominal * 12 / 10).contains(&d),
                "attempt {attempt}: {d} ms"
            );
        }
    }
    assert!(backoff(&castellan_core::clock::ThreadJitter, base, 30, None) <= Duration::minutes(12));
    let asked = std::time::Duration::from_secs(3600);
    assert_eq!(
        backoff(&castellan_core::clock::ThreadJitter, base, 1, Some(asked)),
        Duration::hours(1)
    );
}

#[tokio::test]
async fn a_permanent_failure_is_not_retried() {
    let (w, hub) = synced_world().await;
    let bob = w.person("bob@example.com").await;
    w.app.fail(Fail::next(1, permanent()).on(Op::Invite));
    share(&w, hub.id, bob, None).await;
    w.drain().await;
    let job = only_job(&w, hub.id, Task::InviteMember).await;
    assert_eq!(job.state, JobState::NotCompleted);
    assert_eq!(job.attempts, 1);
    assert!(job.error.unwrap().contains("refuses"));
    assert_eq!(w.app.calls_of(Op::Invite).len(), 1);
    assert!(events(&w, "job.retrying").await.is_empty());
    assert_eq!(events(&w, "job.not_completed").await.len(), 1);
}

#[tokio::test]
async fn retries_give_up_after_the_last_attempt() {
    let (w, hub) = synced_world().await;
    let bob = w.person("bob@example.com").await;
    w.app.fail(Fail::always(transient()).on(Op::Invite));
    share(&w, hub.id, bob, None).await;
    w.drain().await;
    let job = only_job(&w, hub.id, Task::InviteMember).await;
    assert_eq!(job.state, JobState::NotCompleted);
    assert_eq!(job.attempts, job.max_attempts);
    assert_eq!(w.app.calls_of(Op::Invite).len(), job.max_attempts as usize);
    assert_eq!(events(&w, "job.gave_up").await.len(), 1);
    // An app that stays unreachable sends the hub to review its configuration.
    assert_eq!(w.hub(hub.id).await.status, HubStatus::ReviewConfiguration);
}

#[tokio::test]
async fn a_failure_for_one_member_leaves_the_others_alone() {
    let (w, hub) = synced_world().await;
    let ana = w.person("ana@example.com").await;
    let bob = w.person("bob@example.com").await;
    w.app
        .fail(Fail::always(permanent()).for_member("bob@example.com"));
    share(&w, hub.id, ana, None).await;
    share(&w, hub.id, bob, None).await;
    w.drain().await;
    assert!(w.app.member_by_email("ana@example.com").is_some());
    assert!(w.app.member_by_email("bob@example.com").is_none());
    let invites = jobs_of(&w, hub.id, Task::InviteMember).await;
    let state_of = |email: &str| {
        invites
            .iter()
            .find(|j| j.target.as_deref() == Some(email))
            .map(|j| j.state)
    };
    assert_eq!(state_of("ana@example.com"), Some(JobState::Completed));
    assert_eq!(state_of("bob@example.com"), Some(JobState::NotCompleted));
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_does_not_act_twice() {
    let (w, hub) = synced_world().await;
    let bob = w.person("bob@example.com").await;
    w.app
        .fail(Fail::next(1, transient()).on(Op::Invite).after_applying());
    share(&w, hub.id, bob, None).await;
    w.drain().await;
    let job = only_job(&w, hub.id, Task::InviteMember).await;
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(job.attempts, 2);
    assert_eq!(w.app.calls_of(Op::Invite).len(), 1, "invited once");
    assert!(job.progress.unwrap().contains("already_member"));
    let members: Vec<_> = w
        .app
        .members()
        .into_iter()
        .filter(|m| m.email.as_deref() == Some("bob@example.com"))
        .collect();
    assert_eq!(members.len(), 1);
}

#[tokio::test]
async fn a_revoke_supersedes_an_invitation_still_queued() {
    let (w, hub) = synced_world().await;
    let bob = w.person("bob@example.com").await;
    share(&w, hub.id, bob, None).await;
    // Only the sync runs: it plans the invitation.
    assert!(w.bot.run_one().await.unwrap());
    let invite = only_job(&w, hub.id, Task::InviteMember).await;
    assert_eq!(invite.state, JobState::Queued);
    revoke(&w, hub.id, &[bob]).await;
    let invite = w.store.job(invite.id).await.unwrap().unwrap();
    assert_eq!(invite.state, JobState::NotCompleted);
    assert!(invite.error.unwrap().starts_with("superseded"));
    w.drain().await;
    assert!(w.app.calls_of(Op::Invite).is_empty());
    assert!(w.app.member_by_email("bob@example.com").is_none());
    assert_eq!(events(&w, "job.superseded").await.len(), 1);
}

#[tokio::test]
async fn a_dead_workers_job_is_taken_over_when_its_lease_expires() {
    let w = World::new().await;
    let hub = w.connect("Chat").await.unwrap();
    // A worker claimed the first sync for a minute, then died.
    let held = w
        .store
        .claim_job("dead-worker", w.clock.now(), Duration::minutes(1))
        .await
        .unwrap()
        .expect("the sync is due");
    assert_eq!(held.worker_id.as_deref(), Some("dead-worker"));
    w.clock.advance(Duration::seconds(59));
    assert!(
        !w.bot.run_one().await.unwrap(),
        "a lease with a second left is not taken over"
    );
    w.clock.advance(Duration::seconds(2));
    assert!(
        w.bot.run_one().await.unwrap(),
        "the expired lease is taken over"
    );
    let job = w.store.job(held.id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(job.worker_id.as_deref(), Some("test-worker"));
    assert_eq!(job.attempts, 1);
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
}

#[tokio::test]
async fn a_live_lease_is_not_taken_over() {
    let w = World::new().await;
    w.connect("Chat").await.unwrap();
    let held = w
        .store
        .claim_job("other-worker", w.clock.now(), Duration::minutes(1))
        .await
        .unwrap()
        .unwrap();
    assert!(!w.bot.run_one().await.unwrap());
    let job = w.store.job(held.id).await.unwrap().unwrap();
    assert_eq!(job.worker_id.as_deref(), Some("other-worker"));
    // The other worker's lease ran out while it kept failing: its attempts are used up.
    let mut worn = job.clone();
    worn.attempts = worn.max_attempts;
    worn.lease_until = Some(w.clock.now() - Duration::seconds(1));
    assert!(w
        .store
        .update_job(&worn, "other-worker", None, None)
        .await
        .unwrap());
    assert!(w.bot.run_one().await.unwrap());
    let job = w.store.job(held.id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::NotCompleted);
    assert!(job.error.unwrap().contains("gave up after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_racing_on_one_queue_run_each_job_once() {
    let (w, hub) = synced_world().await;
    let mut people = vec![];
    for i in 0..12 {
        people.push(w.person(&format!("p{i}@example.com")).await);
    }
    for p in &people {
        share(&w, hub.id, *p, None).await;
    }
    let workers: Vec<_> = (0..4)
        .map(|n| {
            let bot = w.worker(&format!("worker-{n}"));
            tokio::spawn(async move {
                let mut ran = 0;
                for _ in 0..200 {
                    match bot.run_one().await.unwrap() {
                        true => ran += 1,
                        false => tokio::time::sleep(std::time::Duration::from_millis(2)).await,
                    }
                }
                ran
            })
        })
        .collect();
    for t in workers {
        t.await.unwrap();
    }
    w.drain().await;
    assert_eq!(w.app.calls_of(Op::Invite).len(), 12, "one invitation each");
    let counts = w.store.job_run_counts().await.unwrap();
    assert!(counts.iter().all(|(_, n)| *n == 1), "{counts:?}");
    assert_eq!(counts.len(), 12);
}

/// Under the fake clock and a pinned jitter, a failed write comes back exactly when its
/// backoff says (base 1 ms × 2^(attempt−1)), and not a millisecond before.
#[tokio::test]
async fn a_retry_comes_due_exactly_after_its_backoff() {
    let (w, hub) = synced_world().await;
    let bob = w.person("bob@example.com").await;
    w.app.fail(Fail::next(2, transient()).on(Op::Invite));
    share(&w, hub.id, bob, None).await;
    // The sync plans the invitation; the invitation fails once.
    assert!(w.bot.run_one().await.unwrap());
    assert!(w.bot.run_one().await.unwrap());
    let failed_at = w.clock.now();
    let job = only_job(&w, hub.id, Task::InviteMember).await;
    assert_eq!(job.state, JobState::Retrying, "{job:#?}");
    assert_eq!(job.run_at, failed_at + Duration::milliseconds(1));
    assert!(!w.bot.run_one().await.unwrap(), "not due yet");
    w.clock.advance(Duration::milliseconds(1));
    assert!(w.bot.run_one().await.unwrap(), "due after 1 ms");
    // The second failure doubles the delay.
    let job = only_job(&w, hub.id, Task::InviteMember).await;
    assert_eq!(job.state, JobState::Retrying);
    assert_eq!(job.run_at, w.clock.now() + Duration::milliseconds(2));
    w.clock.advance(Duration::milliseconds(1));
    assert!(!w.bot.run_one().await.unwrap(), "1 ms of 2 is not enough");
    w.clock.advance(Duration::milliseconds(1));
    assert!(w.bot.run_one().await.unwrap());
    let job = only_job(&w, hub.id, Task::InviteMember).await;
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(job.attempts, 3);
}

#[tokio::test]
async fn a_job_whose_parameters_cannot_be_read_ends_and_blocks_nothing() {
    let (w, hub) = synced_world().await;
    let mut bad = only_job(&w, hub.id, Task::CheckForUpdates).await;
    bad.id = castellan_core::hub::JobId::new();
    bad.state = JobState::Queued;
    bad.dedupe_key = None;
    bad.task = Task::InviteMember;
    bad.params = castellan_core::hub::JobParams::Unreadable {
        task: Task::InviteMember,
        stored: serde_json::json!({ "confirm": false }),
        error: "missing field `person_id`".into(),
    };
    w.store
        .enqueue(std::slice::from_ref(&bad), None)
        .await
        .unwrap();
    let bob = w.person("bob@example.com").await;
    share(&w, hub.id, bob, None).await;
    w.drain().await;
    let bad = w.store.job(bad.id).await.unwrap().unwrap();
    assert_eq!(bad.state, JobState::NotCompleted);
    assert!(bad.error.unwrap().contains("cannot be read"));
    assert!(w.app.member_by_email("bob@example.com").is_some());
}
