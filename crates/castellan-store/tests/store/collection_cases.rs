//! Collections and shares: uniqueness, versions, account lists, shares of people and teams, what
//! reaches a person, and the cascades when a team, a collection or an account goes.

use castellan_core::collection::{Collection, CollectionId, Grantee, ItemTarget};
use castellan_core::model::{ItemRole, WorkspaceRole};
use castellan_core::ports::AccessChange;
use castellan_core::team::{Team, TeamId, TeamKind};
use castellan_core::CoreError;

use crate::fixtures::*;
use crate::harness::SuiteStore;

fn collection(name: &str) -> Collection {
    Collection {
        id: CollectionId::new(),
        name: name.into(),
        description: None,
        version: 1,
        created_at: t(10),
        updated_at: t(10),
    }
}

pub async fn collections_and_shares<S: SuiteStore>(store: S) {
    let (ana, bo) = (
        person("ana@acme.io", WorkspaceRole::User),
        person("bo@acme.io", WorkspaceRole::User),
    );
    for p in [&ana, &bo] {
        store.insert_person(p, &ev("person.invite")).await.unwrap();
    }
    let (v1, v2) = (vault("Ops"), vault("Sales"));
    for v in [&v1, &v2] {
        store
            .insert_vault(v, &[], &[], &ev("vault.create"))
            .await
            .unwrap();
    }
    let (a1, a2, a3) = (
        account(v1.id, "Slack", "a@acme.io"),
        account(v1.id, "Notion", "b@acme.io"),
        account(v2.id, "Figma", "c@acme.io"),
    );
    for a in [&a1, &a2, &a3] {
        store
            .insert_account(a, &[], &[], &ev("account.create"))
            .await
            .unwrap();
    }

    // A collection with accounts from two vaults; the same name in another case, or an
    // unknown account, is refused and writes nothing.
    let design = collection("Design");
    let mut n = seq(&store).await;
    store
        .insert_collection(&design, &[a3.id, a1.id], &ev("collection.create"))
        .await
        .unwrap();
    n = appended_one(&store, n, "collection.create").await;
    let mut accounts = vec![a1.id, a3.id];
    accounts.sort();
    assert_eq!(
        store.collection_accounts(design.id).await.unwrap(),
        accounts
    );
    assert_eq!(store.collection(design.id).await.unwrap().unwrap(), design);
    let err = store
        .insert_collection(&collection("DESIGN"), &[], &ev("collection.create"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    let err = store
        .insert_collection(
            &collection("Ghosts"),
            &[castellan_core::ids::AccountId::new()],
            &ev("collection.create"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "account" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n, "refused inserts wrote no event");
    assert_eq!(store.collections().await.unwrap().len(), 1);

    // Updates are written over the version read; a stale one is refused.
    let mut renamed = design.clone();
    renamed.name = "Design team".into();
    let written = store
        .update_collection(&renamed, Some(&[a1.id]), &ev("collection.update"))
        .await
        .unwrap();
    assert_eq!(written.version, 2);
    let err = store
        .update_collection(&renamed, None, &ev("collection.update"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Stale { .. }), "{err:?}");
    assert_eq!(
        store.collection_accounts(design.id).await.unwrap(),
        vec![a1.id]
    );

    // A team holding a vault and an account; Ana holds the collection herself.
    let eng = Team {
        id: TeamId::new(),
        name: "Engineering".into(),
        kind: TeamKind::Managed,
        external_id: None,
        version: 1,
        created_at: t(10),
        updated_at: t(10),
    };
    store
        .insert_team(&eng, &[bo.id], &AccessChange::default(), &ev("team.create"))
        .await
        .unwrap();
    let team = Grantee::Team(eng.id);
    let shares = [
        (team, ItemTarget::Vault(v1.id), ItemRole::Collaborator),
        (team, ItemTarget::Account(a3.id), ItemRole::Manager),
        (
            Grantee::Person(ana.id),
            ItemTarget::Collection(design.id),
            ItemRole::Manager,
        ),
    ];
    for (g, x, r) in shares {
        n = seq(&store).await;
        store
            .set_share(g, x, Some(r), None, &ev("share.grant"))
            .await
            .unwrap();
        appended_one(&store, n, "share.grant").await;
    }
    // Changing a role replaces it.
    store
        .set_share(
            team,
            ItemTarget::Vault(v1.id),
            Some(ItemRole::Manager),
            Some(1),
            &ev("share.grant"),
        )
        .await
        .unwrap();
    // Written over the team's version, which moves: a second write over the old one is stale.
    assert_eq!(store.team(eng.id).await.unwrap().unwrap().version, 2);
    let err = store
        .set_share(
            team,
            ItemTarget::Vault(v1.id),
            Some(ItemRole::Owner),
            Some(1),
            &ev("share.grant"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Stale { kind: "team" }), "{err:?}");
    let of_team = store.shares_of(team).await.unwrap();
    assert_eq!(of_team.len(), 2, "{of_team:?}");
    assert!(of_team
        .iter()
        .any(|s| s.target == ItemTarget::Vault(v1.id) && s.role == ItemRole::Manager));
    let on = store
        .shares_on(ItemTarget::Collection(design.id))
        .await
        .unwrap();
    assert_eq!(on.len(), 1);
    assert_eq!(on[0].grantee, Grantee::Person(ana.id));

    // What reaches each person.
    let bo_reach = store.reach(bo.id).await.unwrap();
    let mut got = bo_reach.shares.clone();
    got.sort();
    let mut want = vec![
        (ItemTarget::Vault(v1.id), ItemRole::Manager),
        (ItemTarget::Account(a3.id), ItemRole::Manager),
    ];
    want.sort();
    assert_eq!(got, want);
    assert!(bo_reach.collection_accounts.is_empty());
    let ana_reach = store.reach(ana.id).await.unwrap();
    assert_eq!(
        ana_reach.shares,
        vec![(ItemTarget::Collection(design.id), ItemRole::Manager)]
    );
    assert_eq!(ana_reach.collection_accounts, vec![(design.id, a1.id)]);

    // A share to a missing target is refused and writes nothing.
    n = seq(&store).await;
    let err = store
        .set_share(
            team,
            ItemTarget::Vault(castellan_core::ids::VaultId::new()),
            Some(ItemRole::Owner),
            None,
            &ev("share.grant"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    assert_eq!(seq(&store).await, n);

    // Leaving the team ends what it gave (nothing to undo: the next read finds nothing).
    let current = store.team(eng.id).await.unwrap().unwrap();
    store
        .update_team(
            &current,
            Some(&[]),
            &AccessChange::default(),
            &ev("team.update"),
        )
        .await
        .unwrap();
    assert!(store.reach(bo.id).await.unwrap().shares.is_empty());

    // Taking a share away; deleting an account drops it from collections and shares; deleting
    // a collection drops its shares.
    store
        .set_share(
            team,
            ItemTarget::Account(a3.id),
            None,
            None,
            &ev("share.revoke"),
        )
        .await
        .unwrap();
    assert_eq!(store.shares_of(team).await.unwrap().len(), 1);
    store
        .delete_account(a1.id, &ev("account.delete"))
        .await
        .unwrap();
    assert!(store
        .collection_accounts(design.id)
        .await
        .unwrap()
        .is_empty());
    let err = store
        .delete_collection(design.id, Some(1), &ev("collection.delete"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Stale { .. }), "{err:?}");
    store
        .delete_collection(design.id, Some(2), &ev("collection.delete"))
        .await
        .unwrap();
    assert!(store.collection(design.id).await.unwrap().is_none());
    assert!(store.reach(ana.id).await.unwrap().shares.is_empty());
    let err = store
        .delete_collection(design.id, None, &ev("collection.delete"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "collection" }),
        "{err:?}"
    );
    // Deleting the team drops its shares.
    store
        .delete_team(eng.id, None, &AccessChange::default(), &ev("team.delete"))
        .await
        .unwrap();
    assert!(store
        .shares_on(ItemTarget::Vault(v1.id))
        .await
        .unwrap()
        .is_empty());
    assert_intact(&store).await;
}
