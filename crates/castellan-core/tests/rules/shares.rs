//! Collections and shares over the memory store: what a team or a collection gives a person,
//! the highest item role winning, access ending the moment it should, and who may change it.

use castellan_core::activity::Actor;
use castellan_core::collection::{Grantee, ItemTarget};
use castellan_core::ids::{AccountId, VaultId};
use castellan_core::model::{ItemRole, WorkspaceRole};
use castellan_core::service::{AccountInput, CollectionInput, NewVault, TeamInput};
use castellan_core::team::{TeamId, TeamKind};
use castellan_core::CoreError;
use castellan_testkit::World;
use secrecy::SecretString;

/// A vault made by the owner with two accounts in it.
async fn vault_with_accounts(w: &World, name: &str) -> (VaultId, AccountId, AccountId) {
    let v = w
        .svc
        .vaults()
        .create(
            &w.owner.permit().unwrap(),
            NewVault {
                name: name.into(),
                description: None,
                kind: None,
            },
        )
        .await
        .unwrap();
    let mut ids = vec![];
    for label in ["Slack", "Notion"] {
        let a = w
            .svc
            .accounts()
            .create(
                &w.owner.permit().unwrap(),
                AccountInput {
                    label: format!("{label} {name}"),
                    app: None,
                    login_url: None,
                    username: Some("ops@acme.io".into()),
                    password: Some(SecretString::from("correct horse battery".to_owned())),
                    generate_password: false,
                    vault_id: Some(v.id),
                    setup: None,
                    notes: None,
                    custom_fields: vec![],
                    backup_codes: vec![],
                },
            )
            .await
            .unwrap();
        ids.push(a.id);
    }
    (v.id, ids[0], ids[1])
}

async fn team(w: &World, name: &str, members: Vec<castellan_core::ids::PersonId>) -> TeamId {
    let input = TeamInput {
        name: name.into(),
        external_id: None,
        members,
    };
    w.svc
        .teams()
        .create(&w.owner.permit().unwrap(), TeamKind::Managed, input)
        .await
        .unwrap()
        .team
        .id
}

/// The accounts `who` can list, with their item role.
async fn reachable(w: &World, who: &Actor) -> Vec<(AccountId, ItemRole)> {
    let mut out: Vec<_> = w
        .svc
        .accounts()
        .list(&who.permit().unwrap(), None, None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.id, a.my_role))
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<(AccountId, ItemRole)>) -> Vec<(AccountId, ItemRole)> {
    v.sort();
    v
}

async fn set(w: &World, g: Grantee, t: ItemTarget, r: Option<ItemRole>) {
    w.svc
        .shares()
        .set(&w.owner.permit().unwrap(), g, t, r)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_team_share_reaches_its_members_while_they_are_members() {
    let w = World::new().await;
    let (ops, slack, notion) = vault_with_accounts(&w, "Ops").await;
    let (_, figma, _) = vault_with_accounts(&w, "Design").await;
    let ana = w.signed_in("ana@acme.io", WorkspaceRole::User).await;
    let bo = w.signed_in("bo@acme.io", WorkspaceRole::User).await;
    let (ana_id, bo_id) = (ana.person_id.unwrap(), bo.person_id.unwrap());
    assert!(reachable(&w, &ana).await.is_empty());

    let support = team(&w, "Support", vec![ana_id, bo_id]).await;
    set(
        &w,
        Grantee::Team(support),
        ItemTarget::Vault(ops),
        Some(ItemRole::Collaborator),
    )
    .await;
    set(
        &w,
        Grantee::Team(support),
        ItemTarget::Account(figma),
        Some(ItemRole::Collaborator),
    )
    .await;
    let want = sorted(vec![
        (slack, ItemRole::Collaborator),
        (notion, ItemRole::Collaborator),
        (figma, ItemRole::Collaborator),
    ]);
    assert_eq!(reachable(&w, &ana).await, want);
    assert_eq!(reachable(&w, &bo).await, want);
    // The vault shows in their vault list; a collaborator may not reveal the password.
    let vaults = w.svc.vaults().list(&ana.permit().unwrap()).await.unwrap();
    assert_eq!(vaults.iter().map(|v| v.id).collect::<Vec<_>>(), vec![ops]);
    let err = w
        .svc
        .accounts()
        .reveal(&ana.permit().unwrap(), slack, None)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");

    // The highest role wins: Ana's own grant on Slack (manager) over the team's collaborator.
    w.svc
        .accounts()
        .share(
            &w.owner.permit().unwrap(),
            slack,
            ana_id,
            Some(ItemRole::Manager),
        )
        .await
        .unwrap();
    let mine = reachable(&w, &ana).await;
    assert!(mine.contains(&(slack, ItemRole::Manager)), "{mine:?}");
    assert!(mine.contains(&(notion, ItemRole::Collaborator)), "{mine:?}");
    let secrets = w
        .svc
        .accounts()
        .reveal(&ana.permit().unwrap(), slack, Some(vec!["password".into()]))
        .await
        .unwrap();
    assert!(secrets.password.is_some());

    // Bo leaves the team: everything it gave is gone at once.
    let input = TeamInput {
        name: "Support".into(),
        external_id: None,
        members: vec![ana_id],
    };
    w.svc
        .teams()
        .replace(
            &w.owner.permit().unwrap(),
            support,
            TeamKind::Managed,
            None,
            input,
        )
        .await
        .unwrap();
    assert!(reachable(&w, &bo).await.is_empty());
    let err = w
        .svc
        .accounts()
        .get(&bo.permit().unwrap(), notion)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");

    // The team loses the vault: Ana keeps only her own grant and the Figma share.
    set(&w, Grantee::Team(support), ItemTarget::Vault(ops), None).await;
    assert_eq!(
        reachable(&w, &ana).await,
        sorted(vec![
            (slack, ItemRole::Manager),
            (figma, ItemRole::Collaborator)
        ])
    );
    // Deleting the team ends the rest.
    w.svc
        .teams()
        .delete(&w.owner.permit().unwrap(), support, TeamKind::Managed, None)
        .await
        .unwrap();
    assert_eq!(reachable(&w, &ana).await, vec![(slack, ItemRole::Manager)]);
}

#[tokio::test]
async fn a_collection_reaches_its_accounts_only() {
    let w = World::new().await;
    let (_, slack, notion) = vault_with_accounts(&w, "Ops").await;
    let (_, figma, _) = vault_with_accounts(&w, "Design").await;
    let ana = w.signed_in("ana@acme.io", WorkspaceRole::User).await;
    let guest = w.signed_in("gil@partner.io", WorkspaceRole::Guest).await;
    let owner = w.owner.permit().unwrap();
    let c = w
        .svc
        .collections()
        .create(
            &owner,
            CollectionInput {
                name: "Launch".into(),
                description: Some("what the launch needs".into()),
                accounts: vec![figma, slack, slack],
            },
        )
        .await
        .unwrap();
    assert_eq!(c.accounts.len(), 2, "repeats count once");
    let target = ItemTarget::Collection(c.collection.id);
    set(
        &w,
        Grantee::Person(ana.person_id.unwrap()),
        target,
        Some(ItemRole::Manager),
    )
    .await;
    set(
        &w,
        Grantee::Person(guest.person_id.unwrap()),
        target,
        Some(ItemRole::Owner),
    )
    .await;
    assert_eq!(
        reachable(&w, &ana).await,
        sorted(vec![(slack, ItemRole::Manager), (figma, ItemRole::Manager)])
    );
    // A guest is capped at collaborator, whatever the share says.
    assert_eq!(
        reachable(&w, &guest).await,
        sorted(vec![
            (slack, ItemRole::Collaborator),
            (figma, ItemRole::Collaborator)
        ])
    );
    // Ana sees the collection; a person it is not shared with does not.
    let seen = w
        .svc
        .collections()
        .list(&ana.permit().unwrap())
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    let cy = w.signed_in("cy@acme.io", WorkspaceRole::User).await;
    assert!(w
        .svc
        .collections()
        .list(&cy.permit().unwrap())
        .await
        .unwrap()
        .is_empty());
    let err = w
        .svc
        .collections()
        .get(&cy.permit().unwrap(), c.collection.id)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");

    // An account taken out of the collection is gone for those it reached through it.
    let input = CollectionInput {
        name: "Launch".into(),
        description: None,
        accounts: vec![notion],
    };
    let after = w
        .svc
        .collections()
        .replace(&owner, c.collection.id, Some(1), input.clone())
        .await
        .unwrap();
    assert_eq!(after.collection.version, 2);
    assert_eq!(reachable(&w, &ana).await, vec![(notion, ItemRole::Manager)]);
    // A write over an old version is refused.
    let err = w
        .svc
        .collections()
        .replace(&owner, c.collection.id, Some(1), input)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Stale { .. }), "{err:?}");
    // Deleted, it reaches no one; the accounts stay.
    w.svc
        .collections()
        .delete(&owner, c.collection.id, None)
        .await
        .unwrap();
    assert!(reachable(&w, &ana).await.is_empty());
    let read = w.owner.permit().unwrap();
    assert!(w.svc.accounts().get(&read, notion).await.is_ok());
}

#[tokio::test]
async fn admins_may_not_give_themselves_access_through_teams() {
    let w = World::new().await;
    let (ops, slack, _) = vault_with_accounts(&w, "Ops").await;
    let admin = w.signed_in("ad@acme.io", WorkspaceRole::Admin).await;
    let other_admin = w.signed_in("od@acme.io", WorkspaceRole::Admin).await;
    let ana = w.signed_in("ana@acme.io", WorkspaceRole::User).await;
    let (me, ana_id) = (admin.person_id.unwrap(), ana.person_id.unwrap());
    let p = admin.permit().unwrap();

    // An admin may share with a team of people they manage…
    let users = team(&w, "Users", vec![ana_id]).await;
    w.svc
        .shares()
        .set(
            &p,
            Grantee::Team(users),
            ItemTarget::Vault(ops),
            Some(ItemRole::Manager),
        )
        .await
        .unwrap();
    // …but not move themselves into it, nor share with a team they are in or that holds
    // another admin.
    let input = TeamInput {
        name: "Users".into(),
        external_id: None,
        members: vec![ana_id, me],
    };
    let err = w
        .svc
        .teams()
        .replace(
            &admin.permit().unwrap(),
            users,
            TeamKind::Managed,
            None,
            input,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    assert!(reachable(&w, &admin).await.is_empty());
    let mine = team(&w, "Mine", vec![me]).await;
    let err = w
        .svc
        .shares()
        .set(
            &p,
            Grantee::Team(mine),
            ItemTarget::Vault(ops),
            Some(ItemRole::Owner),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    // An account is shared only by whoever may share it: this admin cannot even see Slack.
    let err = w
        .svc
        .shares()
        .set(
            &p,
            Grantee::Team(users),
            ItemTarget::Account(slack),
            Some(ItemRole::Owner),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "account" }),
        "{err:?}"
    );
    let admins = team(&w, "Admins", vec![other_admin.person_id.unwrap()]).await;
    let err = w
        .svc
        .shares()
        .set(
            &p,
            Grantee::Team(admins),
            ItemTarget::Vault(ops),
            Some(ItemRole::Owner),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    // A person's vault is set on the vault, not as a share.
    let err = w
        .svc
        .shares()
        .set(
            &p,
            Grantee::Person(ana_id),
            ItemTarget::Vault(ops),
            Some(ItemRole::Owner),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Validation { .. }), "{err:?}");
    // Taking away a share that does not exist says so.
    let err = w
        .svc
        .shares()
        .set(
            &w.owner.permit().unwrap(),
            Grantee::Team(users),
            ItemTarget::Account(slack),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "share" }),
        "{err:?}"
    );
    // Deleting a team that holds shares takes access from its members: not another admin's.
    w.svc
        .shares()
        .set(
            &w.owner.permit().unwrap(),
            Grantee::Team(admins),
            ItemTarget::Vault(ops),
            Some(ItemRole::Manager),
        )
        .await
        .unwrap();
    let err = w
        .svc
        .teams()
        .delete(&admin.permit().unwrap(), admins, TeamKind::Managed, None)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");

    // A collection the admin holds is not theirs to widen, and nobody adds an account they
    // may not share.
    let c = w
        .svc
        .collections()
        .create(
            &w.owner.permit().unwrap(),
            CollectionInput {
                name: "Launch".into(),
                description: None,
                accounts: vec![],
            },
        )
        .await
        .unwrap();
    let target = ItemTarget::Collection(c.collection.id);
    set(&w, Grantee::Person(me), target, Some(ItemRole::Manager)).await;
    let widen = CollectionInput {
        name: "Launch".into(),
        description: None,
        accounts: vec![slack],
    };
    let err = w
        .svc
        .collections()
        .replace(&p, c.collection.id, None, widen.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    let err = w
        .svc
        .collections()
        .create(
            &p,
            CollectionInput {
                name: "Mine".into(),
                description: None,
                accounts: vec![slack],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Validation { .. }), "{err:?}");
    let err = w
        .svc
        .collections()
        .delete(&p, c.collection.id, None)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    assert!(reachable(&w, &admin).await.is_empty());

    // Access through a team is not turned into a grant of one's own.
    let err = w
        .svc
        .accounts()
        .share(&ana.permit().unwrap(), slack, ana_id, Some(ItemRole::Owner))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");

    // A user may not share at all (the matrix).
    assert!(ana
        .permit::<castellan_core::permissions::can::VaultManage>()
        .is_err());
}

/// An admin adding themselves to a team while sharing a vault with it: the two checks read
/// what the other changes, so one of the two must lose (the share is written over the team's
/// version).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_a_team_and_sharing_with_it_never_both_pass() {
    let w = World::new().await;
    let (ops, _, _) = vault_with_accounts(&w, "Ops").await;
    let admin = w.signed_in("ad@acme.io", WorkspaceRole::Admin).await;
    let ana = w.signed_in("ana@acme.io", WorkspaceRole::User).await;
    let (me, ana_id) = (admin.person_id.unwrap(), ana.person_id.unwrap());
    for round in 0..100 {
        let name = format!("Race {round}");
        let t = team(&w, &name, vec![ana_id]).await;
        let join = TeamInput {
            name,
            external_id: None,
            members: vec![ana_id, me],
        };
        // Two tasks on the two worker threads, so the reads and writes interleave.
        let (s1, s2) = (w.svc.clone(), w.svc.clone());
        let (a1, a2) = (admin.clone(), admin.clone());
        let join = tokio::spawn(async move {
            let p = a1.permit().unwrap();
            s1.teams()
                .replace(&p, t, TeamKind::Managed, None, join)
                .await
        });
        let share = tokio::spawn(async move {
            let p = a2.permit().unwrap();
            let (g, x) = (Grantee::Team(t), ItemTarget::Vault(ops));
            s2.shares().set(&p, g, x, Some(ItemRole::Owner)).await
        });
        let (joined, shared) = (join.await.unwrap(), share.await.unwrap());
        assert!(
            joined.is_err() || shared.is_err(),
            "round {round}: both passed"
        );
    }
    assert!(reachable(&w, &admin).await.is_empty());
}

/// The owner and super admins reach every account: a team they are in is still theirs to
/// share with, join, leave or delete (nobody else outranks the owner to ask).
#[tokio::test]
async fn the_owner_keeps_managing_teams_they_are_in() {
    let w = World::new().await;
    let (ops, _, _) = vault_with_accounts(&w, "Ops").await;
    let sa = w.signed_in("sa@acme.io", WorkspaceRole::SuperAdmin).await;
    let sa_id = sa.person_id.unwrap();
    let t = team(&w, "Leads", vec![sa_id]).await;
    let p = sa.permit().unwrap();
    w.svc
        .shares()
        .set(
            &p,
            Grantee::Team(t),
            ItemTarget::Vault(ops),
            Some(ItemRole::Manager),
        )
        .await
        .unwrap();
    let leave = TeamInput {
        name: "Leads".into(),
        external_id: None,
        members: vec![],
    };
    w.svc
        .teams()
        .replace(&sa.permit().unwrap(), t, TeamKind::Managed, None, leave)
        .await
        .unwrap();
    w.svc
        .teams()
        .delete(&sa.permit().unwrap(), t, TeamKind::Managed, None)
        .await
        .unwrap();
}
