//! Teams against the fake app: a team's hub reaches its members through the bot, the highest
//! role wins, and access that ends through a team (leaving it, the team losing the hub,
//! deactivation) removes the member unless a grant of their own keeps them.

use castellan_core::connector::MemberState;
use castellan_core::hub::HubRole;
use castellan_core::service::TeamInput;
use castellan_core::team::TeamKind;
use castellan_core::CoreError;
use castellan_testkit::World;

use crate::fixtures::*;

fn state(w: &World, email: &str) -> Option<(String, MemberState)> {
    w.app
        .member_by_email(email)
        .map(|m| (m.roles[0].clone(), m.state))
}

fn active(role: &str) -> Option<(String, MemberState)> {
    Some((role.to_owned(), MemberState::Active))
}

#[tokio::test]
async fn a_team_reaches_its_hubs_and_leaving_it_removes_the_member() {
    let (w, hub) = synced_world().await;
    add_guests(&w, 12);
    let ana = w.person("ana@example.com").await;
    let bob = w.person("bob@example.com").await;
    let cy = w.person("cy@example.com").await;
    let admin = w.owner.permit().unwrap();
    // Cy holds the hub as an admin of their own: the team's `member` ranks lower.
    share(&w, hub.id, cy, Some("admin")).await;
    let team = w
        .svc
        .teams()
        .create(
            &admin,
            TeamKind::Managed,
            TeamInput {
                name: "Support".into(),
                external_id: None,
                members: vec![ana, bob, cy],
            },
        )
        .await
        .unwrap();
    w.svc
        .teams()
        .grant_hub(
            &w.owner.permit().unwrap(),
            hub.id,
            team.team.id,
            None,
            Some("member".into()),
        )
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(state(&w, "ana@example.com"), active("member"));
    assert_eq!(state(&w, "bob@example.com"), active("member"));
    assert_eq!(
        state(&w, "cy@example.com"),
        active("admin"),
        "the highest role wins"
    );

    // The team's role goes up: everyone in it gets it.
    w.svc
        .teams()
        .grant_hub(
            &w.owner.permit().unwrap(),
            hub.id,
            team.team.id,
            Some(HubRole::Manager),
            Some("admin".into()),
        )
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(state(&w, "bob@example.com"), active("admin"));

    // Bob leaves the team: he holds no grant of his own, so the bot removes him. Cy leaves
    // too and keeps the hub through their own grant.
    w.svc
        .teams()
        .replace(
            &admin,
            team.team.id,
            TeamKind::Managed,
            None,
            TeamInput {
                name: "Support".into(),
                external_id: None,
                members: vec![ana],
            },
        )
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(
        state(&w, "bob@example.com").map(|s| s.1),
        Some(MemberState::Deactivated)
    );
    assert_eq!(state(&w, "cy@example.com"), active("admin"));
    assert_eq!(state(&w, "ana@example.com"), active("admin"));
    let ev = events(&w, "team.update").await;
    assert_eq!(ev.len(), 1);
    let d: serde_json::Value = serde_json::from_str(&ev[0].details).unwrap();
    assert_eq!(d["removed_count"], 2);

    // The identity provider deactivates Ana: removed; it reactivates her: the team's hub takes
    // her in again.
    let idp = |active: bool| idp_person("ana@example.com", active);
    w.svc
        .people()
        .reprovision(&w.owner.permit().unwrap(), ana, None, idp(false))
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(
        state(&w, "ana@example.com").map(|s| s.1),
        Some(MemberState::Deactivated)
    );
    w.svc
        .people()
        .reprovision(&w.owner.permit().unwrap(), ana, None, idp(true))
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(state(&w, "ana@example.com"), active("admin"));

    // The team loses the hub: Ana goes; Cy's own grant keeps Cy.
    w.svc
        .teams()
        .revoke_hub(&w.owner.permit().unwrap(), hub.id, team.team.id)
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(
        state(&w, "ana@example.com").map(|s| s.1),
        Some(MemberState::Deactivated)
    );
    assert_eq!(state(&w, "cy@example.com"), active("admin"));
}

#[tokio::test]
async fn each_keeper_changes_only_its_own_teams() {
    let (w, _hub) = synced_world().await;
    let ana = w.person("ana@example.com").await;
    let admin = w.owner.permit().unwrap();
    let input = |name: &str| TeamInput {
        name: name.into(),
        external_id: None,
        members: vec![ana],
    };
    let idp = w
        .svc
        .teams()
        .create(&admin, TeamKind::Idp, input("From Okta"))
        .await
        .unwrap();
    let own = w
        .svc
        .teams()
        .create(&admin, TeamKind::Managed, input("Ours"))
        .await
        .unwrap();
    let err = w
        .svc
        .teams()
        .replace(
            &admin,
            idp.team.id,
            TeamKind::Managed,
            None,
            input("Renamed"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    let err = w
        .svc
        .teams()
        .delete(&admin, own.team.id, TeamKind::Idp, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "team" }),
        "{err:?}"
    );
    // Names are unique whatever the case; a stale version is refused.
    let err = w
        .svc
        .teams()
        .create(&admin, TeamKind::Managed, input("OURS"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    let err = w
        .svc
        .teams()
        .replace(
            &admin,
            own.team.id,
            TeamKind::Managed,
            Some(7),
            input("Ours 2"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Stale { .. }), "{err:?}");
    // An unknown member is named as the caller's mistake.
    let err = w
        .svc
        .teams()
        .create(
            &admin,
            TeamKind::Managed,
            TeamInput {
                name: "Ghosts".into(),
                external_id: None,
                members: vec![castellan_core::ids::PersonId::new()],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, CoreError::Validation { .. }), "{err:?}");
    // A team never owns a hub.
    let hubs = w.svc.hubs().list(&w.owner.permit().unwrap()).await.unwrap();
    let err = w
        .svc
        .teams()
        .grant_hub(
            &w.owner.permit().unwrap(),
            hubs[0].id,
            own.team.id,
            Some(HubRole::Owner),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, CoreError::Validation { .. }), "{err:?}");
}
