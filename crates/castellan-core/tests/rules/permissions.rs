//! The permission handles: a use case that needs a permission takes a `Permit<can::…>`, and
//! only the matrix makes one. A role outside the matrix gets `Forbidden` before any use case
//! runs, so nothing is written; a role inside it gets a permit that the use case accepts.

use castellan_core::activity::Actor;
use castellan_core::model::{ItemRole, WorkspaceRole};
use castellan_core::permissions::{
    allows, can, each_permission, Action, Permission, PermissionVisitor, Permit,
};
use castellan_core::ports::ActivityStore;
use castellan_core::service::{HubPatch, ShareHub};
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

/// Settings that say where the automation account's secrets go (the OAuth 2.0 endpoints and
/// client, `allow_private`) change only by someone who may reveal that account, as the base
/// URL does; an admin without access to its vault keeps every other hub setting.
#[tokio::test]
async fn where_secrets_are_sent_changes_only_with_the_right_to_reveal_them() {
    let (w, hub) = synced_world().await;
    let admin = w.signed_in("admin@example.com", WorkspaceRole::Admin).await;
    let permit: Permit<can::HubManage> = admin.permit().expect("admins manage hubs");
    // The admin sees the automation account (collaborator) but may not reveal its secrets.
    w.svc
        .accounts()
        .share(
            &w.owner.permit().unwrap(),
            w.hub(hub.id).await.automation_account_id,
            admin.person_id.unwrap(),
            Some(ItemRole::Collaborator),
        )
        .await
        .unwrap();
    let before = w.hub(hub.id).await.settings;
    for (key, value) in [
        ("oauth2_token_url", "https://collector.example/token"),
        (
            "oauth2_authorize_url",
            "https://collector.example/authorize",
        ),
        ("allow_private", "yes"),
    ] {
        let mut settings = before.clone();
        settings.insert(key.to_owned(), value.to_owned());
        let r = w
            .svc
            .hubs()
            .update(
                &permit,
                hub.id,
                HubPatch {
                    settings: Some(settings),
                    ..Default::default()
                },
            )
            .await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "{key}: {r:?}");
        assert_eq!(w.hub(hub.id).await.settings, before, "{key} unchanged");
    }
    // The same settings again, and the safeguard: no secret moves.
    w.svc
        .hubs()
        .update(
            &permit,
            hub.id,
            HubPatch {
                settings: Some(before.clone()),
                safeguard_threshold: Some(0.5),
                ..Default::default()
            },
        )
        .await
        .expect("other settings need no right to the account");
    assert_eq!(w.hub(hub.id).await.safeguard_threshold, 0.5);
}
