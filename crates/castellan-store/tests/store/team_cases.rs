//! Teams: members, uniqueness, versions, grants on hubs, and the access that ends with them.

use castellan_core::hub::{HubRole, Task};
use castellan_core::model::WorkspaceRole;
use castellan_core::ports::{AccessChange, JobFilter};
use castellan_core::team::{ended_access, Team, TeamId, TeamKind};
use castellan_core::CoreError;

use crate::fixtures::*;
use crate::harness::SuiteStore;

fn team(name: &str, external_id: Option<&str>) -> Team {
    Team {
        id: TeamId::new(),
        name: name.into(),
        kind: TeamKind::Idp,
        external_id: external_id.map(str::to_owned),
        version: 1,
        created_at: t(10),
        updated_at: t(10),
    }
}

pub async fn teams_and_access<S: SuiteStore>(store: S) {
    let (ana, bo, cy) = (
        person("ana@acme.io", WorkspaceRole::User),
        person("bo@acme.io", WorkspaceRole::User),
        person("cy@acme.io", WorkspaceRole::User),
    );
    for p in [&ana, &bo, &cy] {
        store.insert_person(p, &ev("person.invite")).await.unwrap();
    }
    let h = hub("Synapse");
    store.insert_hub(&h, &[], &ev("hub.connect")).await.unwrap();
    let none = AccessChange::default();

    // A team with members; a second one with the same name in another case, or the same
    // external id, is refused and writes nothing.
    let eng = team("Engineering", Some("okta-1"));
    let mut n = seq(&store).await;
    store
        .insert_team(&eng, &[bo.id, ana.id], &none, &ev("team.create"))
        .await
        .unwrap();
    n = appended_one(&store, n, "team.create").await;
    let mut members = vec![ana.id, bo.id];
    members.sort();
    assert_eq!(store.team_members(eng.id).await.unwrap(), members);
    assert_eq!(store.team(eng.id).await.unwrap().unwrap(), eng);
    for dup in [team("ENGINEERING", None), team("Other", Some("okta-1"))] {
        let err = store
            .insert_team(&dup, &[], &none, &ev("team.create"))
            .await
            .unwrap_err();
        assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    }
    let ghost = castellan_core::ids::PersonId::new();
    let err = store
        .insert_team(&team("Ghosts", None), &[ghost], &none, &ev("team.create"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n, "refused writes append nothing");
    assert_eq!(store.teams().await.unwrap().len(), 1, "and write nothing");

    // The team is given the hub: its grant lists the members; the hub's grants version moves
    // and the check for updates is queued in the same write.
    let version = store.grants_version(h.id).await.unwrap();
    let sync = job(h.id, Task::CheckForUpdates, 20, Some("sync:teams"));
    let change = AccessChange {
        ended: vec![],
        hubs: vec![h.id],
        jobs: vec![sync.clone()],
    };
    store
        .set_team_grant(
            h.id,
            eng.id,
            Some((HubRole::Collaborator, "user")),
            &change,
            &ev("hub.share_team"),
        )
        .await
        .unwrap();
    assert_eq!(store.grants_version(h.id).await.unwrap(), version + 1);
    let queued = store
        .jobs(&JobFilter {
            hub_id: Some(h.id),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert!(queued.iter().any(|j| j.id == sync.id));
    let grants = store.team_grants(h.id).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        (grants[0].app_role.as_str(), &grants[0].members),
        ("user", &members)
    );
    assert_eq!(store.grants_of_team(eng.id).await.unwrap()[0].0, h.id);
    assert_eq!(store.teams_of_person(ana.id).await.unwrap(), vec![eng.id]);

    // Two changes from one read: the first lands, the second is stale.
    let mut first = eng.clone();
    first.name = "Eng".into();
    // Ana leaves; she holds a grant of her own (kept), Bo holds none (a revoked one is
    // recorded), and Cy joins.
    store
        .upsert_grant(
            h.id,
            &grant(ana.id, HubRole::Collaborator, "admin"),
            None,
            &no_supersede(),
            &[],
            &ev("hub.share"),
        )
        .await
        .unwrap();
    let ended = ended_access(&[(h.id, "user".into())], &[ana.id, bo.id], t(40));
    let change = AccessChange {
        ended,
        hubs: vec![h.id],
        jobs: vec![],
    };
    let written = store
        .update_team(&first, Some(&[cy.id]), &change, &ev("team.update"))
        .await
        .unwrap();
    assert_eq!((written.version, written.name.as_str()), (2, "Eng"));
    assert_eq!(store.team(eng.id).await.unwrap().unwrap().version, 2);
    assert_eq!(store.team_members(eng.id).await.unwrap(), vec![cy.id]);
    let own = store.grants(h.id).await.unwrap();
    let of = |p| own.iter().find(|g| g.person_id == p).cloned();
    assert!(
        !of(ana.id).unwrap().revoked,
        "an own grant is never overwritten"
    );
    assert!(of(bo.id).unwrap().revoked && !of(bo.id).unwrap().keep_seat);
    assert!(of(cy.id).is_none());
    let mut second = eng.clone();
    second.name = "Lost".into();
    let n = seq(&store).await;
    let err = store
        .update_team(&second, Some(&[]), &none, &ev("team.update"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Stale { kind: "team" }), "{err:?}");
    assert_eq!(seq(&store).await, n);
    assert_eq!(store.team_members(eng.id).await.unwrap(), vec![cy.id]);

    // Deleting over an old version is stale; over the current one it takes the grants along.
    let err = store
        .delete_team(eng.id, Some(1), &none, &ev("team.delete"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Stale { .. }), "{err:?}");
    let ended = ended_access(&[(h.id, "user".into())], &[cy.id], t(50));
    let change = AccessChange {
        ended,
        hubs: vec![h.id],
        jobs: vec![],
    };
    store
        .delete_team(eng.id, Some(2), &change, &ev("team.delete"))
        .await
        .unwrap();
    assert!(store.team(eng.id).await.unwrap().is_none());
    assert!(store.team_grants(h.id).await.unwrap().is_empty());
    assert!(store.teams_of_person(cy.id).await.unwrap().is_empty());
    let cy_grant = store
        .grants(h.id)
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.person_id == cy.id);
    assert!(cy_grant.unwrap().revoked);
    let err = store
        .set_team_grant(h.id, eng.id, None, &none, &ev("hub.revoke_team"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "team" }),
        "{err:?}"
    );
    assert_intact(&store).await;
}
