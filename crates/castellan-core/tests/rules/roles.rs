//! Roles from the app: a connector that reads the app's roles (custom ones included) records
//! them at each check for updates, and shares take them; other connectors keep their fixed list.

use castellan_core::error::CoreError;
use castellan_core::ports::HubStore;
use castellan_core::service::ShareHub;
use castellan_testkit::{FakeConnector, World, CONNECTOR};

#[tokio::test]
async fn roles_the_app_lists_can_be_shared() {
    let app =
        FakeConnector::new(CONNECTOR).with_listed_roles(&["owner", "admin", "editor", "member"]);
    let w = World::with_app(app).await;
    let hub = w.connect("Wiki").await.expect("connect");
    w.drain().await;
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
