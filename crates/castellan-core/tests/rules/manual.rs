//! Manual hubs (issue 12, point 5) over the fakes: a share, a role change and a revoke become
//! one task each for the app admin (never two for one change), the app admin marks them done,
//! the next roster verifies them, a task past its due time is flagged, and the checks at
//! connect and at upload refuse what would not work.

use castellan_core::activity::Actor;
use castellan_core::connector::{Connector, ConnectorContext, Invitation, MemberState};
use castellan_core::error::CoreError;
use castellan_core::hub::{Hub, HubId, HubStatus, Matching, Task, Trigger};
use castellan_core::manual::{TaskKind, TaskState};
use castellan_core::model::{AccountSetup, WorkspaceRole};
use castellan_core::service::{AccountInput, ConnectHub, ManualConnector, TaskView};
use castellan_testkit::{connect_input, World};
use chrono::Duration;
use secrecy::SecretString;

use crate::fixtures::*;

const ADMIN: &str = "it@example.com";

/// The app admin's monday.com account item.
async fn monday_account(w: &World, label: &str) -> castellan_core::ids::AccountId {
    w.svc
        .accounts()
        .create(
            &w.owner.permit().unwrap(),
            AccountInput {
                label: label.into(),
                app: Some("monday".into()),
                login_url: None,
                username: Some(ADMIN.into()),
                password: Some(SecretString::from("monday-password-1".to_owned())),
                generate_password: false,
                vault_id: None,
                setup: Some(AccountSetup::Individual),
                notes: None,
                custom_fields: vec![],
                backup_codes: vec![],
            },
        )
        .await
        .expect("create the account")
        .id
}

async fn connect_manual(
    w: &World,
    label: &str,
    settings: &[(&str, &str)],
) -> Result<Hub, CoreError> {
    let account = monday_account(w, &format!("{label} admin")).await;
    w.svc
        .hubs()
        .connect(
            &w.owner.permit().unwrap(),
            ConnectHub {
                connector: Some("manual".into()),
                settings: settings
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                base_url: None,
                ..connect_input("monday", label, account)
            },
        )
        .await
}

/// A world with the app admin (a `user`) and a manual monday.com hub, synced on an empty roster.
async fn manual_world(settings: &[(&str, &str)]) -> (World, Hub, Actor) {
    let w = World::new().await;
    let admin = w.signed_in(ADMIN, WorkspaceRole::User).await;
    let mut all = vec![("app_admin", ADMIN)];
    all.extend_from_slice(settings);
    let hub = connect_manual(&w, "monday.com", &all)
        .await
        .expect("connect");
    assert_eq!(hub.connector.as_deref(), Some("manual"));
    w.drain().await;
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
    (w, hub, admin)
}

async fn upload(w: &World, hub: HubId, csv: &str) -> Vec<TaskView> {
    let up = w
        .svc
        .hubs()
        .upload_roster(&w.owner.permit().unwrap(), hub, csv)
        .await
        .expect("upload the roster");
    assert_eq!(up.job.trigger, Trigger::Manual);
    w.drain().await;
    up.verified
}

async fn tasks(w: &World, hub: HubId) -> Vec<TaskView> {
    w.svc
        .hubs()
        .tasks(&w.owner.permit().unwrap(), hub)
        .await
        .expect("list tasks")
}

fn member<'a>(
    snap: &'a [castellan_core::hub::HubMember],
    email: &str,
) -> Option<&'a castellan_core::hub::HubMember> {
    snap.iter().find(|m| m.email.as_deref() == Some(email))
}

#[tokio::test]
async fn a_share_is_one_task_the_app_admin_marks_done_and_the_next_roster_verifies() {
    let (w, hub, admin) = manual_world(&[]).await;
    upload(&w, hub.id, "email,name,role\nit@example.com,IT,admin\n").await;
    let ana = w.person("ana@example.com").await;
    share(&w, hub.id, ana, None).await;
    w.drain().await;

    // One invitation task for the app admin, with the app's default role.
    let t = tasks(&w, hub.id).await;
    assert_eq!(t.len(), 1, "{t:#?}");
    let task = &t[0].task;
    assert_eq!((task.kind, task.state), (TaskKind::Invite, TaskState::Open));
    assert_eq!(
        (task.email.as_str(), task.role.as_deref()),
        ("ana@example.com", Some("member"))
    );
    assert_eq!(t[0].assignee_email.as_deref(), Some(ADMIN));
    assert!(!t[0].overdue);
    // The bot sees the invitation as made (an invited member), and the hub says what waits.
    let snap = snapshot(&w, hub.id).await;
    let m = member(&snap, "ana@example.com").expect("ana listed");
    assert_eq!(
        (m.state, m.matching, m.person_id),
        (MemberState::Invited, Matching::Onboarded, Some(ana))
    );
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::RequiresSync);
    assert!(
        h.status_reason
            .as_deref()
            .unwrap()
            .contains("1 task(s) wait for the app admin it@example.com"),
        "{h:?}"
    );

    // Checking again plans nothing new: still one task, one invite job.
    sync(&w, hub.id).await;
    assert_eq!(tasks(&w, hub.id).await.len(), 1);
    assert_eq!(jobs_of(&w, hub.id, Task::InviteMember).await.len(), 1);
    // The connector itself is idempotent: inviting again returns the same task.
    let app = w
        .svc
        .catalog()
        .get(&w.owner.permit().unwrap(), "monday")
        .await
        .unwrap();
    let c = ManualConnector::new(w.svc.clone(), &app);
    let mut ctx = ConnectorContext::new("https://monday.com", "", String::new().into());
    ctx.hub_id = Some(hub.id);
    ctx.settings = w.hub(hub.id).await.settings;
    let s = c.login(&ctx).await.unwrap();
    let inv = Invitation {
        email: "Ana@Example.com".into(),
        username: None,
        name: None,
        role: "member".into(),
    };
    let got = c.invite(&ctx, &s, &inv).await.unwrap();
    assert_eq!(
        (got.app_member_id.as_str(), got.state),
        ("ana@example.com", MemberState::Invited)
    );
    assert_eq!(tasks(&w, hub.id).await.len(), 1);

    // Another user may not mark it done; the app admin may, without HubManage.
    let other = w.signed_in("bo@example.com", WorkspaceRole::User).await;
    let err = w
        .svc
        .hubs()
        .mark_task_done(&other.permit().unwrap(), hub.id, task.id)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    assert!(w
        .svc
        .hubs()
        .tasks(&other.permit().unwrap(), hub.id)
        .await
        .is_err());
    assert_eq!(
        w.svc
            .hubs()
            .tasks(&admin.permit().unwrap(), hub.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let done = w
        .svc
        .hubs()
        .mark_task_done(&admin.permit().unwrap(), hub.id, task.id)
        .await
        .unwrap();
    assert_eq!(
        (done.task.state, done.task.done_by),
        (TaskState::Done, admin.person_id)
    );

    // The next roster shows Ana: the task is verified, the member onboarded, the hub healthy.
    let verified = upload(
        &w,
        hub.id,
        "email,name,role\nit@example.com,IT,admin\nana@example.com,Ana,member\n",
    )
    .await;
    assert_eq!(
        verified.iter().map(|v| v.task.id).collect::<Vec<_>>(),
        vec![task.id]
    );
    assert_eq!(tasks(&w, hub.id).await[0].task.state, TaskState::Verified);
    let snap = snapshot(&w, hub.id).await;
    let m = member(&snap, "ana@example.com").unwrap();
    assert_eq!(
        (m.state, m.matching),
        (MemberState::Active, Matching::Onboarded)
    );
    let d = w
        .svc
        .hubs()
        .get(&w.owner.permit().unwrap(), hub.id)
        .await
        .unwrap();
    assert_eq!(
        (d.hub.status, d.hub.status_reason),
        (HubStatus::Healthy, None)
    );
    assert_eq!(d.last_report.unwrap().drift, 0);
    for (action, n) in [
        ("hub.task_open", 1),
        ("hub.task_done", 1),
        ("hub.task_verified", 1),
        ("hub.roster_upload", 2),
    ] {
        assert_eq!(events(&w, action).await.len(), n, "{action}");
    }
    // The manual connector signs in nowhere: the account was never decrypted for the bot.
    assert!(events(&w, "account.use").await.is_empty());
}

#[tokio::test]
async fn a_role_change_and_a_removal_are_tasks_and_one_member_has_one_pending_task() {
    let (w, hub, _) = manual_world(&[]).await;
    let ana = w.person("ana@example.com").await;
    // Guests keep one departure under the shrink safeguard (20%), as in any hub.
    let guests: String = (0..9)
        .map(|i| format!("g{i}@elsewhere.org,Guest {i},member,G{i}\n"))
        .collect();
    let roster = format!(
        "email,name,role,id\nit@example.com,IT,admin,U1\n{guests}ana@example.com,Ana,member,U2\n"
    );
    let roster = roster.as_str();
    upload(&w, hub.id, roster).await;
    share(&w, hub.id, ana, Some("member")).await;
    w.drain().await;
    assert!(
        tasks(&w, hub.id).await.is_empty(),
        "ana is already a member"
    );

    share(&w, hub.id, ana, Some("admin")).await;
    w.drain().await;
    let t = tasks(&w, hub.id).await;
    assert_eq!(t.len(), 1);
    assert_eq!(
        (
            t[0].task.kind,
            t[0].task.app_member_id.as_deref(),
            t[0].task.role.as_deref()
        ),
        (TaskKind::UpdateRole, Some("U2"), Some("admin"))
    );
    assert_eq!(
        member(&snapshot(&w, hub.id).await, "ana@example.com")
            .unwrap()
            .app_role
            .as_deref(),
        Some("admin")
    );

    // A revoke before the app admin acted: a removal task replaces the role change.
    revoke(&w, hub.id, &[ana]).await;
    w.drain().await;
    let t = tasks(&w, hub.id).await;
    assert_eq!(
        t.iter()
            .map(|v| (v.task.kind, v.task.state))
            .collect::<Vec<_>>(),
        vec![
            (TaskKind::Remove, TaskState::Open),
            (TaskKind::UpdateRole, TaskState::Cancelled)
        ]
    );
    assert_eq!(
        member(&snapshot(&w, hub.id).await, "ana@example.com")
            .unwrap()
            .state,
        MemberState::Deactivated
    );
    assert_eq!(jobs_of(&w, hub.id, Task::RemoveMember).await.len(), 1);

    // A roster that still shows Ana verifies nothing; one without her verifies the removal.
    assert!(upload(&w, hub.id, roster).await.is_empty());
    assert_eq!(
        jobs_of(&w, hub.id, Task::RemoveMember).await.len(),
        1,
        "no second removal"
    );
    let without = format!("email,name,role,id\nit@example.com,IT,admin,U1\n{guests}");
    let verified = upload(&w, hub.id, &without).await;
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].task.kind, TaskKind::Remove);
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::Healthy, "{:?}", h.status_reason);
}

#[tokio::test]
async fn an_invitation_not_yet_sent_is_cancelled_by_a_revoke() {
    let (w, hub, _) = manual_world(&[]).await;
    let ana = w.person("ana@example.com").await;
    share(&w, hub.id, ana, None).await;
    w.drain().await;
    revoke(&w, hub.id, &[ana]).await;
    w.drain().await;
    let t = tasks(&w, hub.id).await;
    assert_eq!(
        t.iter()
            .map(|v| (v.task.kind, v.task.state))
            .collect::<Vec<_>>(),
        vec![(TaskKind::Invite, TaskState::Cancelled)]
    );
    assert_eq!(events(&w, "hub.task_cancel").await.len(), 1);
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
}

#[tokio::test]
async fn a_task_past_its_due_time_is_flagged_overdue() {
    let (w, hub, _) = manual_world(&[("task_due_hours", "0")]).await;
    let ana = w.person("ana@example.com").await;
    share(&w, hub.id, ana, None).await;
    w.drain().await;
    w.clock.advance(Duration::seconds(1));
    let t = tasks(&w, hub.id).await;
    assert!(t[0].overdue, "{t:#?}");
    assert_eq!(t[0].task.due_at, t[0].task.created_at);
    sync(&w, hub.id).await;
    assert!(w
        .hub(hub.id)
        .await
        .status_reason
        .unwrap()
        .contains("1 overdue"));

    // The default: 72 hours.
    let (w, hub, _) = manual_world(&[]).await;
    let ana = w.person("ana@example.com").await;
    share(&w, hub.id, ana, None).await;
    w.drain().await;
    w.clock.advance(Duration::hours(71));
    assert!(!tasks(&w, hub.id).await[0].overdue);
    w.clock.advance(Duration::hours(2));
    assert!(tasks(&w, hub.id).await[0].overdue);
}

#[tokio::test]
async fn connect_and_upload_refuse_what_would_not_work() {
    let w = World::new().await;
    w.signed_in(ADMIN, WorkspaceRole::User).await;
    w.signed_in("guest@example.com", WorkspaceRole::Guest).await;
    let field = |e: CoreError| match e {
        CoreError::Validation { field, message } => format!("{field}: {message}"),
        other => panic!("{other:?}"),
    };
    let e = field(connect_manual(&w, "A", &[]).await.unwrap_err());
    assert!(e.starts_with("settings.app_admin"), "{e}");
    let e = field(
        connect_manual(&w, "B", &[("app_admin", "nobody@example.com")])
            .await
            .unwrap_err(),
    );
    assert!(e.contains("not a person of the workspace"), "{e}");
    let e = field(
        connect_manual(&w, "C", &[("app_admin", "guest@example.com")])
            .await
            .unwrap_err(),
    );
    assert!(e.contains("role `guest`"), "{e}");
    let e = field(
        connect_manual(&w, "D", &[("app_admin", ADMIN), ("task_due_hours", "721")])
            .await
            .unwrap_err(),
    );
    assert!(e.starts_with("settings.task_due_hours"), "{e}");
    // monday.com has no connector: without `manual` the error says how to connect it.
    let mut input = ConnectHub {
        connector: None,
        settings: Default::default(),
        app: "monday".into(),
        label: "E".into(),
        organization_id: None,
        base_url: None,
        user_management: None,
        login_method: None,
        automation_account_id: Some(monday_account(&w, "E admin").await),
        placeholder: None,
        safeguard_threshold: None,
        sync_interval_secs: None,
    };
    let e = field(
        w.svc
            .hubs()
            .connect(&w.owner.permit().unwrap(), input.clone())
            .await
            .unwrap_err(),
    );
    assert!(e.contains("connector `manual`"), "{e}");
    input.connector = Some("synapse".into());
    let e = field(
        w.svc
            .hubs()
            .connect(&w.owner.permit().unwrap(), input)
            .await
            .unwrap_err(),
    );
    assert!(e.starts_with("connector"), "{e}");
    let hub = connect_manual(&w, "F", &[("app_admin", " IT@Example.com ")])
        .await
        .unwrap();
    assert_eq!(hub.settings["app_admin"], ADMIN, "normalized");

    // A bad row refuses the whole roster, naming its line; nothing is written.
    let bad = "email,name,role\nit@example.com,IT,admin\nana@example.com,Ana,captain\n";
    let e = field(
        w.svc
            .hubs()
            .upload_roster(&w.owner.permit().unwrap(), hub.id, bad)
            .await
            .unwrap_err(),
    );
    assert!(e.contains("line 3") && e.contains("captain"), "{e}");
    assert!(events(&w, "hub.roster_upload").await.is_empty());
    // Only a manual hub takes a roster.
    let auto = w.connect("Chat").await.unwrap();
    let err = w
        .svc
        .hubs()
        .upload_roster(&w.owner.permit().unwrap(), auto.id, "email,name,role\n")
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
}
