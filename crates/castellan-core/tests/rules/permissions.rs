//! The permission handles: a use case that needs a permission takes a `Permit<can::…>`, and
//! only the matrix makes one. A role outside the matrix gets `Forbidden` before any use case
//! runs, so nothing is written; a role inside it gets a permit that the use case accepts.

use castellan_core::activity::Actor;
use castellan_core::model::WorkspaceRole;
use castellan_core::permissions::{
    allows, can, each_permission, Action, Permission, PermissionVisitor, Permit,
};
use castellan_core::ports::ActivityStore;
use castellan_core::service::ShareHub;
use castellan_core::CoreError;

use crate::fixtures::*;

fn forbidden<P: Permission>(who: &Actor) {
    let r = Permit::<P>::check(who);
    assert!(
        matches!(r, Err(CoreError::Forbidden(_))),
        "{} holds {:?}: {r:?}",
        who.role,
        P::ACTION
    );
}

#[tokio::test]
async fn users_get_no_permit_to_manage_hubs_or_verify_the_log() {
    let (w, hub) = synced_world().await;
    let user = w.signed_in("user@example.com", WorkspaceRole::User).await;
    let before = w.store.chain_head().await.unwrap();
    forbidden::<can::HubManage>(&user);
    forbidden::<can::HubRead>(&user);
    forbidden::<can::ActivityVerify>(&user);
    assert_eq!(
        w.store.chain_head().await.unwrap(),
        before,
        "asking for a permit writes nothing"
    );
    let owner_read = w.owner.permit().unwrap();
    assert!(w
        .svc
        .hubs()
        .grants(&owner_read, hub.id)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn guests_and_login_only_people_get_no_permit_to_see_hubs() {
    let (w, _hub) = synced_world().await;
    for role in [WorkspaceRole::Guest, WorkspaceRole::LoginOnly] {
        let who = w.signed_in(&format!("{role}@example.com"), role).await;
        forbidden::<can::HubRead>(&who);
        forbidden::<can::AccountReveal>(&who);
    }
}

#[tokio::test]
async fn an_admin_gets_a_permit_and_may_share_a_hub() {
    let (w, hub) = synced_world().await;
    let admin = w.signed_in("admin@example.com", WorkspaceRole::Admin).await;
    let ana = w.person("ana@example.com").await;
    let permit: Permit<can::HubManage> = admin.permit().expect("admins manage hubs");
    assert_eq!(
        permit.actor().name,
        admin.name,
        "the permit carries its actor"
    );
    w.svc
        .hubs()
        .share(
            &permit,
            hub.id,
            ana,
            ShareHub {
                hub_role: None,
                app_role: None,
                resource_roles: None,
            },
        )
        .await
        .expect("an admin may share");
    w.drain().await;
    assert!(w.app.member_by_email("ana@example.com").is_some());
}

/// Every role × action of the matrix: a permit is made exactly where the table allows.
#[test]
fn permits_follow_the_one_matrix() {
    struct Walk(WorkspaceRole, Vec<Action>);
    impl PermissionVisitor for Walk {
        fn visit<P: Permission>(&mut self) {
            let who = Actor {
                role: self.0,
                ..Actor::system("matrix walk")
            };
            assert_eq!(
                Permit::<P>::check(&who).is_ok(),
                allows(self.0, P::ACTION),
                "{} / {:?}",
                self.0,
                P::ACTION
            );
            self.1.push(P::ACTION);
        }
    }
    for r in [
        WorkspaceRole::Owner,
        WorkspaceRole::SuperAdmin,
        WorkspaceRole::Admin,
        WorkspaceRole::User,
        WorkspaceRole::LoginOnly,
        WorkspaceRole::Guest,
    ] {
        let mut walk = Walk(r, vec![]);
        each_permission(&mut walk);
        assert_eq!(walk.1, Action::ALL, "one marker per action, in table order");
    }
}
