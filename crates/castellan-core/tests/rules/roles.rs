//! Roles from the app: a connector that reads the app's roles (custom ones included) records
//! them at each check for updates, and shares take them; other connectors keep their fixed list.

use castellan_core::error::CoreError;
use castellan_core::ports::HubStore;
use castellan_core::service::ShareHub;
use castellan_testkit::{FakeConnector, World, CONNECTOR};

/// A synced hub on an app that lists its roles (owner, admin, editor, member).
async fn wiki() -> (World, castellan_core::hub::Hub) {
    let app =
        FakeConnector::new(CONNECTOR).with_listed_roles(&["owner", "admin", "editor", "member"]);
    let w = World::with_app(app).await;
    let hub = w.connect("Wiki").await.expect("connect");
    w.drain().await;
    (w, hub)
}

#[tokio::test]
async fn roles_the_app_lists_can_be_shared() {
    let (w, hub) = wiki().await;
    let (_, report) = w
        .store
        .last_report(hub.id)
        .await
        .unwrap()
        .expect("a report");
    assert_eq!(report.roles, ["owner", "admin", "editor", "member"]);

    let ana = w.person("ana@example.com").await;
    w.svc
        .hubs()
        .share(
            &w.owner.permit().unwrap(),
            hub.id,
            ana,
            ShareHub {
                hub_role: None,
                app_role: Some("editor".into()),
                resource_roles: None,
            },
        )
        .await
        .expect("a role the app listed");
    w.drain().await;
    let m = w.app.member_by_email("ana@example.com").expect("invited");
    assert_eq!(m.roles, ["editor"]);
}

#[tokio::test]
async fn a_connector_without_listed_roles_keeps_its_fixed_list() {
    let w = World::new().await;
    let hub = w.connect("Chat").await.expect("connect");
    w.drain().await;
    let (_, report) = w
        .store
        .last_report(hub.id)
        .await
        .unwrap()
        .expect("a report");
    assert!(report.roles.is_empty());
    let ana = w.person("ana@example.com").await;
    let e = w
        .svc
        .hubs()
        .share(
            &w.owner.permit().unwrap(),
            hub.id,
            ana,
            ShareHub {
                hub_role: None,
                app_role: Some("editor".into()),
                resource_roles: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, CoreError::Validation { ref field, .. } if field == "app_role"),
        "{e:?}"
    );
}

/// An app may give a member several roles: the snapshot keeps them all, and a member holding
/// the granted role among others is in sync (no role change), whichever comes first.
#[tokio::test]
async fn a_member_holding_the_granted_role_among_several_is_in_sync() {
    let (w, hub) = wiki().await;
    let ana = w.person("ana@example.com").await;
    crate::fixtures::share(&w, hub.id, ana, Some("editor")).await;
    w.drain().await;
    let id = w
        .app
        .member_by_email("ana@example.com")
        .expect("invited")
        .app_member_id;
    assert!(w.app.set_roles(&id, &["member", "editor"]));
    w.app.clear_calls();
    crate::fixtures::sync(&w, hub.id).await;
    let kept = w
        .store
        .hub_members(hub.id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.app_member_id == id)
        .expect("in the snapshot");
    assert_eq!(kept.roles, ["member", "editor"]);
    assert_eq!(kept.app_role.as_deref(), Some("member"));
    assert!(
        w.app.writes().is_empty(),
        "no role change: {:?}",
        w.app.writes()
    );

    // Without the granted role among them, the bot changes it.
    assert!(w.app.set_roles(&id, &["member", "owner"]));
    crate::fixtures::sync(&w, hub.id).await;
    assert_eq!(
        w.app.member_by_email("ana@example.com").unwrap().roles,
        ["editor"]
    );
}
