//! Vaults and custom apps.

use crate::harness::SuiteStore;
use castellan_core::ids::{PersonId, VaultId};
use castellan_core::model::{ItemRole, VaultAccess, VaultKeyRecord, WorkspaceRole};
use castellan_core::CoreError;

use crate::fixtures::*;

pub async fn vaults_grants_and_keys<S: SuiteStore>(store: S) {
    let p1 = person("p1@x.io", WorkspaceRole::Admin);
    let p2 = person("p2@x.io", WorkspaceRole::User);
    store
        .insert_person(&p1, &ev("person.create"))
        .await
        .unwrap();
    store
        .insert_person(&p2, &ev("person.create"))
        .await
        .unwrap();
    let v = vault("Shared Vault");
    let key = vault_key(v.id, "mk-1");
    let grant = VaultAccess {
        vault_id: v.id,
        person_id: p1.id,
        role: ItemRole::Owner,
    };
    store
        .insert_vault(
            &v,
            std::slice::from_ref(&key),
            &[grant],
            &ev("vault.create"),
        )
        .await
        .unwrap();
    let mut n = appended_one(&store, 2, "vault.create").await;
    let b = vault("Billing");
    store
        .insert_vault(&b, &[vault_key(b.id, "mk-1")], &[], &ev("vault.create"))
        .await
        .unwrap();
    n = appended_one(&store, n, "vault.create").await;

    let got = store.vault(v.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.name.as_str(),
            got.description.as_deref(),
            got.is_default
        ),
        ("Shared Vault", Some("for tests"), false)
    );
    assert!(store.vault(VaultId::new()).await.unwrap().is_none());
    let names: Vec<_> = store
        .vaults()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["Billing", "Shared Vault"]);
    let keys = store.vault_keys(v.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0].dek_id, &keys[0].wrapped, keys[0].created_at),
        (key.dek_id, &key.wrapped, key.created_at)
    );

    // Names are unique ignoring case and spacing; nothing of the duplicate is written.
    let dup = vault("  shared   VAULT ");
    let err = store
        .insert_vault(&dup, &[vault_key(dup.id, "mk-1")], &[], &ev("vault.create"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Conflict(m) if m.contains("already exists")),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n);
    assert!(store.vault_keys(dup.id).await.unwrap().is_empty());
    // A grant to a missing person rolls back the whole vault.
    let c = vault("Ghosts");
    let bad = VaultAccess {
        vault_id: c.id,
        person_id: PersonId::new(),
        role: ItemRole::Owner,
    };
    let err = store
        .insert_vault(&c, &[], &[bad], &ev("vault.create"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    assert!(store.vault(c.id).await.unwrap().is_none());

    store
        .set_vault_access(v.id, p2.id, Some(ItemRole::Manager), &ev("vault.grant"))
        .await
        .unwrap();
    n = appended_one(&store, n, "vault.grant").await;
    assert_eq!(store.vault_access(v.id).await.unwrap().len(), 2);
    store
        .set_vault_access(
            v.id,
            p2.id,
            Some(ItemRole::Collaborator),
            &ev("vault.grant"),
        )
        .await
        .unwrap();
    n = appended_one(&store, n, "vault.grant").await;
    let mine = store.vault_grants_of(p2.id).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].vault_id, mine[0].role),
        (v.id, ItemRole::Collaborator)
    );
    store
        .set_vault_access(v.id, p2.id, None, &ev("vault.revoke"))
        .await
        .unwrap();
    n = appended_one(&store, n, "vault.revoke").await;
    assert!(store.vault_grants_of(p2.id).await.unwrap().is_empty());
    let access = store.vault_access(v.id).await.unwrap();
    assert_eq!(
        access
            .iter()
            .map(|g| (g.person_id, g.role))
            .collect::<Vec<_>>(),
        [(p1.id, ItemRole::Owner)]
    );
    let err = store
        .set_vault_access(
            VaultId::new(),
            p2.id,
            Some(ItemRole::Owner),
            &ev("vault.grant"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "vault" }),
        "{err:?}"
    );
    let err = store
        .set_vault_access(
            v.id,
            PersonId::new(),
            Some(ItemRole::Owner),
            &ev("vault.grant"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n);

    // Re-wrapping replaces the rows wrapped by the old master key.
    assert_eq!(store.keys_wrapped_by("mk-1").await.unwrap().len(), 2);
    let replacements: Vec<_> = store
        .keys_wrapped_by("mk-1")
        .await
        .unwrap()
        .into_iter()
        .map(|old| {
            let new = VaultKeyRecord {
                wrapping_key_id: "mk-2".into(),
                wrapped: vec![9; 8],
                created_at: t(500),
                ..old.clone()
            };
            (old, new)
        })
        .collect();
    assert_eq!(
        store
            .rewrap_keys(&replacements, &ev("keys.rotate"))
            .await
            .unwrap(),
        2
    );
    n = appended_one(&store, n, "keys.rotate").await;
    assert!(store.keys_wrapped_by("mk-1").await.unwrap().is_empty());
    let keys = store.vault_keys(v.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (
            keys[0].dek_id,
            keys[0].wrapping_key_id.as_str(),
            &keys[0].wrapped
        ),
        (key.dek_id, "mk-2", &vec![9; 8])
    );
    // Replaying the same replacements finds no old rows.
    assert_eq!(
        store
            .rewrap_keys(&replacements, &ev("keys.rotate"))
            .await
            .unwrap(),
        0
    );
    appended_one(&store, n, "keys.rotate").await;
    assert_intact(&store).await;
}

pub async fn custom_apps<S: SuiteStore>(store: S) {
    assert!(store.custom_apps().await.unwrap().is_empty());
    store
        .insert_app(&app("zulip-cloud"), &ev("catalog.create"))
        .await
        .unwrap();
    store
        .insert_app(&app("acme-crm"), &ev("catalog.create"))
        .await
        .unwrap();
    let n = appended_one(&store, 1, "catalog.create").await;
    let apps = store.custom_apps().await.unwrap();
    assert_eq!(apps, [app("acme-crm"), app("zulip-cloud")]);
    let err = store
        .insert_app(&app("acme-crm"), &ev("catalog.create"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Conflict(m) if m.contains("acme-crm")),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n);
    assert_intact(&store).await;
}
