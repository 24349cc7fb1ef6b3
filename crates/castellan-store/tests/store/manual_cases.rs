//! Manual hubs: rosters replaced in one transaction that verifies tasks, and the app admin's
//! tasks (idempotent opening, one pending task per member, done, cancelled).

use crate::harness::SuiteStore;
use castellan_core::connector::MemberState;
use castellan_core::hub::Task;
use castellan_core::ids::PersonId;
use castellan_core::manual::{ManualTask, ManualTaskId, RosterMember, TaskKind, TaskState};
use castellan_core::model::WorkspaceRole;
use castellan_core::ports::JobFilter;
use castellan_core::CoreError;
use chrono::Duration;

use crate::fixtures::*;

fn member(id: &str, email: &str, role: &str, state: MemberState) -> RosterMember {
    RosterMember {
        app_member_id: id.into(),
        email: email.into(),
        name: Some(format!("Name {id}")),
        roles: vec![role.into(), "member".into()],
        state,
    }
}

fn task(
    hub: castellan_core::hub::HubId,
    admin: PersonId,
    kind: TaskKind,
    id: Option<&str>,
    email: &str,
    role: Option<&str>,
    at: i64,
) -> ManualTask {
    ManualTask {
        id: ManualTaskId::new(),
        hub_id: hub,
        kind,
        app_member_id: id.map(str::to_owned),
        email: email.into(),
        role: role.map(str::to_owned),
        assignee: admin,
        state: TaskState::Open,
        due_at: t(at) + Duration::hours(72),
        created_at: t(at),
        done_at: None,
        done_by: None,
        verified_at: None,
        cancelled_at: None,
    }
}

pub async fn rosters_and_tasks<S: SuiteStore>(store: S) {
    let admin = person("it@acme.io", WorkspaceRole::User);
    store
        .insert_person(&admin, &ev("person.create"))
        .await
        .unwrap();
    let mut h = hub("Slack manual");
    h.connector = Some("manual".into());
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    assert_eq!(
        store.hub(h.id).await.unwrap().unwrap().connector.as_deref(),
        Some("manual")
    );
    assert!(store.roster(h.id).await.unwrap().is_empty());
    let opened = ev("hub.task_open");
    let cancelled = ev("hub.task_cancel");

    // A roster (more rows than one insert batch), with a check for updates queued alongside.
    let mut roster: Vec<RosterMember> = (0..450)
        .map(|i| {
            member(
                &format!("U{i:04}"),
                &format!("p{i}@acme.io"),
                "member",
                MemberState::Active,
            )
        })
        .collect();
    roster.push(member(
        "U9999",
        "ana@acme.io",
        "admin",
        MemberState::Invited,
    ));
    let sync = job(h.id, Task::CheckForUpdates, 5, Some("sync:manual:false"));
    let n = seq(&store).await;
    let verified = store
        .replace_roster(
            h.id,
            &roster,
            t(5),
            &ev("hub.roster_upload"),
            &ev("hub.task_verified"),
            std::slice::from_ref(&sync),
        )
        .await
        .unwrap();
    assert!(verified.is_empty());
    appended_one(&store, n, "hub.roster_upload").await;
    let back = store.roster(h.id).await.unwrap();
    assert_eq!(back.len(), 451);
    assert_eq!(back[0].app_member_id, "U0000");
    let ana = back.iter().find(|m| m.app_member_id == "U9999").unwrap();
    assert_eq!(ana, &roster[450]);
    let jobs = store.jobs(&JobFilter::default()).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![sync.id]);

    // A duplicate id writes nothing; a missing hub neither.
    let n = seq(&store).await;
    let dup = vec![roster[0].clone(), roster[0].clone()];
    let err = store
        .replace_roster(
            h.id,
            &dup,
            t(6),
            &ev("hub.roster_upload"),
            &ev("hub.task_verified"),
            &[],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    let err = store
        .replace_roster(
            castellan_core::hub::HubId::new(),
            &dup[..1],
            t(6),
            &ev("hub.roster_upload"),
            &ev("hub.task_verified"),
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "hub" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n);
    assert_eq!(store.roster(h.id).await.unwrap().len(), 451);

    // Opening is idempotent: the same kind for the same email returns the open task, with the
    // new role (one event for the change, none when nothing changed).
    let invite = task(
        h.id,
        admin.id,
        TaskKind::Invite,
        None,
        "carol@acme.io",
        Some("member"),
        10,
    );
    let got = store.open_task(&invite, &opened, &cancelled).await.unwrap();
    assert_eq!(got, invite);
    let n = appended_one(&store, n, "hub.task_open").await;
    let again = task(
        h.id,
        admin.id,
        TaskKind::Invite,
        None,
        "carol@acme.io",
        Some("member"),
        11,
    );
    assert_eq!(
        store.open_task(&again, &opened, &cancelled).await.unwrap(),
        invite
    );
    assert_eq!(seq(&store).await, n);
    let admin_role = task(
        h.id,
        admin.id,
        TaskKind::Invite,
        None,
        "carol@acme.io",
        Some("admin"),
        12,
    );
    let got = store
        .open_task(&admin_role, &opened, &cancelled)
        .await
        .unwrap();
    assert_eq!((got.id, got.role.as_deref()), (invite.id, Some("admin")));
    let n = appended_one(&store, n, "hub.task_open").await;
    let events = store.events_after(n - 1, 1).await.unwrap();
    assert_eq!(
        events[0].target_id.as_deref(),
        Some(invite.id.to_string().as_str())
    );
    assert!(
        events[0].details.contains("carol@acme.io"),
        "{}",
        events[0].details
    );

    // Unknown assignee or hub: nothing written.
    let stranger = task(
        h.id,
        PersonId::new(),
        TaskKind::Invite,
        None,
        "dan@acme.io",
        Some("member"),
        13,
    );
    let err = store
        .open_task(&stranger, &opened, &cancelled)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );
    let mut lost = stranger.clone();
    lost.hub_id = castellan_core::hub::HubId::new();
    lost.assignee = admin.id;
    let err = store
        .open_task(&lost, &opened, &cancelled)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "hub" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n);

    // Done: once; again changes nothing; another hub's or an unknown task is not found.
    let done = store
        .mark_task_done(h.id, invite.id, admin.id, t(20), &ev("hub.task_done"))
        .await
        .unwrap();
    assert_eq!(
        (done.state, done.done_at, done.done_by),
        (TaskState::Done, Some(t(20)), Some(admin.id))
    );
    let n = appended_one(&store, n, "hub.task_done").await;
    let same = store
        .mark_task_done(h.id, invite.id, admin.id, t(21), &ev("hub.task_done"))
        .await
        .unwrap();
    assert_eq!(same, done);
    let err = store
        .mark_task_done(
            h.id,
            ManualTaskId::new(),
            admin.id,
            t(21),
            &ev("hub.task_done"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "task" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n);
    // A done task of the same kind and role stands for a new one.
    let repeat = task(
        h.id,
        admin.id,
        TaskKind::Invite,
        None,
        "carol@acme.io",
        Some("admin"),
        22,
    );
    assert_eq!(
        store.open_task(&repeat, &opened, &cancelled).await.unwrap(),
        done
    );
    assert_eq!(seq(&store).await, n);

    // One pending task per member: a role change for Ana, then her removal, cancels the first.
    let role = task(
        h.id,
        admin.id,
        TaskKind::UpdateRole,
        Some("U9999"),
        "ana@acme.io",
        Some("member"),
        30,
    );
    store.open_task(&role, &opened, &cancelled).await.unwrap();
    let n = appended_one(&store, n, "hub.task_open").await;
    let remove = task(
        h.id,
        admin.id,
        TaskKind::Remove,
        Some("U9999"),
        "ana@acme.io",
        None,
        31,
    );
    store.open_task(&remove, &opened, &cancelled).await.unwrap();
    assert_eq!(seq(&store).await, n + 2, "one cancel and one open");
    let tasks = store.tasks(h.id).await.unwrap();
    assert_eq!(
        tasks.iter().map(|t| (t.kind, t.state)).collect::<Vec<_>>(),
        vec![
            (TaskKind::Remove, TaskState::Open),
            (TaskKind::UpdateRole, TaskState::Cancelled),
            (TaskKind::Invite, TaskState::Done),
        ],
        "newest first"
    );
    assert_eq!(tasks[1].cancelled_at, Some(t(31)));
    let n = n + 2;

    // The next roster shows Carol as admin (the invitation is verified) and Ana still there
    // (her removal stays open). The snapshot listed Carol under her email (a provisional id,
    // from the task): that row takes the roster's id.
    let mut carol = crate::fixtures::member(1);
    carol.app_member_id = "carol@acme.io".into();
    carol.email = Some("carol@acme.io".into());
    store.upsert_hub_member(h.id, &carol, None).await.unwrap();
    roster.push(member(
        "U1000",
        "carol@acme.io",
        "admin",
        MemberState::Active,
    ));
    let verified = store
        .replace_roster(
            h.id,
            &roster,
            t(40),
            &ev("hub.roster_upload"),
            &ev("hub.task_verified"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(
        (verified[0].id, verified[0].state, verified[0].verified_at),
        (invite.id, TaskState::Verified, Some(t(40)))
    );
    assert_eq!(seq(&store).await, n + 2);
    assert_eq!(last_action(&store).await, "hub.task_verified");
    let snap = store.hub_members(h.id).await.unwrap();
    assert_eq!(
        snap.iter()
            .map(|m| m.app_member_id.as_str())
            .collect::<Vec<_>>(),
        vec!["U1000"]
    );
    assert_eq!(snap[0].first_seen_at, carol.first_seen_at, "the same row");
    let err = store
        .mark_task_done(h.id, invite.id, admin.id, t(41), &ev("hub.task_done"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");

    // Cancelling: pending ones only, each with an event.
    let n = seq(&store).await;
    let gone = store
        .cancel_tasks(h.id, &[remove.id, invite.id], t(50), &ev("hub.task_cancel"))
        .await
        .unwrap();
    assert_eq!(
        gone.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![remove.id]
    );
    appended_one(&store, n, "hub.task_cancel").await;
    assert!(store
        .cancel_tasks(h.id, &[remove.id], t(51), &ev("hub.task_cancel"))
        .await
        .unwrap()
        .is_empty());
    // With no pending task, a removal for Ana opens afresh (the index counts pending ones).
    let again = task(
        h.id,
        admin.id,
        TaskKind::Remove,
        Some("U9999"),
        "ana@acme.io",
        None,
        60,
    );
    assert_eq!(
        store.open_task(&again, &opened, &cancelled).await.unwrap(),
        again
    );
    // A roster without Ana verifies her removal.
    roster.retain(|m| m.app_member_id != "U9999");
    let verified = store
        .replace_roster(
            h.id,
            &roster,
            t(70),
            &ev("hub.roster_upload"),
            &ev("hub.task_verified"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        verified.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![again.id]
    );
    assert_intact(&store).await;
}
