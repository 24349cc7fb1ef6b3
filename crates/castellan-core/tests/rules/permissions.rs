//! The permission checks in front of the hub use cases: a role outside the matrix gets
//! `Forbidden` and nothing is written.

use castellan_core::hub::Trigger;
use castellan_core::model::WorkspaceRole;
use castellan_core::ports::{ActivityStore, JobFilter};
use castellan_core::service::{RevokeHub, ShareHub};
use castellan_core::CoreError;

use crate::fixtures::*;

fn forbidden<T: std::fmt::Debug>(r: Result<T, CoreError>) {
    assert!(matches!(r, Err(CoreError::Forbidden(_))), "{r:?}");
}

#[tokio::test]
async fn users_may_not_manage_hubs_or_verify_the_log() {
    let (w, hub) = synced_world().await;
    let user = w.signed_in("user@example.com", WorkspaceRole::User).await;
    let ana = w.person("ana@example.com").await;
    let before = w.store.chain_head().await.unwrap();
    forbidden(
        w.svc
            .share_hub(
                &user,
                hub.id,
                ana,
                ShareHub {
                    hub_role: None,
                    app_role: None,
                },
            )
            .await,
    );
    forbidden(
        w.svc
            .revoke_hub(
                &user,
                hub.id,
                RevokeHub {
                    person_ids: vec![ana],
                    keep_seat: false,
                },
            )
            .await,
    );
    forbidden(w.svc.sync_hub(&user, hub.id, true, Trigger::Manual).await);
    forbidden(w.svc.verify_activity(&user).await);
    forbidden(w.svc.jobs(&user, JobFilter::default()).await);
    assert_eq!(
        w.store.chain_head().await.unwrap(),
        before,
        "nothing written"
    );
    assert!(w.svc.hub_grants(&w.owner, hub.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn guests_and_login_only_people_may_not_see_hubs() {
    let (w, hub) = synced_world().await;
    for role in [WorkspaceRole::Guest, WorkspaceRole::LoginOnly] {
        let who = w.signed_in(&format!("{role}@example.com"), role).await;
        forbidden(w.svc.hubs(&who).await);
        forbidden(w.svc.hub_members(&who, hub.id, None).await);
    }
}

#[tokio::test]
async fn an_admin_may_share_a_hub() {
    let (w, hub) = synced_world().await;
    let admin = w.signed_in("admin@example.com", WorkspaceRole::Admin).await;
    let ana = w.person("ana@example.com").await;
    w.svc
        .share_hub(
            &admin,
            hub.id,
            ana,
            ShareHub {
                hub_role: None,
                app_role: None,
            },
        )
        .await
        .expect("an admin may share");
    w.drain().await;
    assert!(w.app.member_by_email("ana@example.com").is_some());
}
