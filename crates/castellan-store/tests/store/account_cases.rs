//! Accounts: sealed fields, grants, versions, filters.

use crate::harness::SuiteStore;
use castellan_core::ids::{AccountId, AppId, DataKeyId, VaultId};
use castellan_core::model::{AccountRecord, ItemRole, WorkspaceRole};
use castellan_core::ports::AccountFilter;
use castellan_core::CoreError;

use crate::fixtures::*;

pub async fn accounts_lifecycle<S: SuiteStore>(store: S) {
    let p = person("p@x.io", WorkspaceRole::User);
    store.insert_person(&p, &ev("person.create")).await.unwrap();
    let (v1, v2) = (vault("One"), vault("Two"));
    store
        .insert_vault(&v1, &[], &[], &ev("vault.create"))
        .await
        .unwrap();
    store
        .insert_vault(&v2, &[], &[], &ev("vault.create"))
        .await
        .unwrap();
    let dek = DataKeyId::new();
    let mut a = account(v1.id, "Slack Admin", "bot@acme.io");
    a.created_by = Some(p.id);
    let fields = [sealed("password", dek, 1), sealed("custom:pin", dek, 2)];
    store
        .insert_account(
            &a,
            &fields,
            &[(p.id, ItemRole::Manager)],
            &ev("account.create"),
        )
        .await
        .unwrap();
    let mut n = appended_one(&store, 3, "account.create").await;

    let got = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.label.as_str(), got.app_id.as_ref().map(AppId::as_str)),
        ("Slack Admin", Some("slack"))
    );
    assert_eq!(
        (got.custom_fields.clone(), got.secret_fields.clone()),
        (a.custom_fields.clone(), a.secret_fields.clone())
    );
    assert_eq!(
        (got.version, got.created_by, got.created_at),
        (1, Some(p.id), a.created_at)
    );
    let s = store.sealed_fields(a.id).await.unwrap();
    assert_eq!(
        s.iter()
            .map(|f| (f.field.as_str(), f.ciphertext[0]))
            .collect::<Vec<_>>(),
        [("custom:pin", 2), ("password", 1)]
    );
    assert_eq!(
        store.account_access(a.id).await.unwrap(),
        [(p.id, ItemRole::Manager)]
    );
    assert_eq!(store.count_sealed_with(dek).await.unwrap(), 2);

    // A duplicate label (ignoring case and spacing) writes nothing, not even its event.
    let head = store.chain_head().await.unwrap();
    let dup = account(v1.id, "  slack   ADMIN ", "other@acme.io");
    let err = store
        .insert_account(
            &dup,
            &[sealed("password", dek, 3)],
            &[(p.id, ItemRole::Owner)],
            &ev("account.create"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Conflict(m) if m.contains("already exists in this vault")),
        "{err:?}"
    );
    assert_eq!(store.chain_head().await.unwrap(), head);
    assert!(store.account(dup.id).await.unwrap().is_none());
    assert!(store.sealed_fields(dup.id).await.unwrap().is_empty());
    assert_eq!(store.count_sealed_with(dek).await.unwrap(), 2);
    // The same label in another vault is fine.
    let b = account(v2.id, "Slack admin", "ops@acme.io");
    store
        .insert_account(&b, &[], &[], &ev("account.create"))
        .await
        .unwrap();
    n = appended_one(&store, n, "account.create").await;

    let mut up = got.clone();
    up.username = Some("root@acme.io".into());
    up.secret_fields = vec!["password".into()];
    up.version = 2;
    up.updated_at = t(60);
    store
        .update_account(
            &up,
            &[sealed("password", dek, 7)],
            &["custom:pin".into()],
            &ev("account.update"),
        )
        .await
        .unwrap();
    n = appended_one(&store, n, "account.update").await;
    let got = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.version, got.username.as_deref(), got.updated_at),
        (2, Some("root@acme.io"), t(60))
    );
    let s = store.sealed_fields(a.id).await.unwrap();
    assert_eq!(
        s.iter()
            .map(|f| (f.field.as_str(), f.ciphertext[0]))
            .collect::<Vec<_>>(),
        [("password", 7)]
    );
    // Stale version (stored is 2, so 2 is not "stored + 1").
    let err = store
        .update_account(&up, &[], &[], &ev("account.update"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    let mut ghost = up.clone();
    ghost.id = AccountId::new();
    let err = store
        .update_account(&ghost, &[], &[], &ev("account.update"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "account" }),
        "{err:?}"
    );
    let mut clash = store.account(b.id).await.unwrap().unwrap();
    clash.label = "SLACK ADMIN".into();
    clash.vault_id = v1.id;
    clash.version += 1;
    let err = store
        .update_account(&clash, &[], &[], &ev("account.update"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    assert_eq!(seq(&store).await, n);

    // Direct grants.
    let q = person("q@x.io", WorkspaceRole::Guest);
    store.insert_person(&q, &ev("person.create")).await.unwrap();
    store
        .set_account_access(
            b.id,
            q.id,
            Some(ItemRole::Collaborator),
            &ev("account.share"),
        )
        .await
        .unwrap();
    n = appended_one(&store, n + 1, "account.share").await;
    assert_eq!(
        store.account_grants_of(q.id).await.unwrap(),
        [(b.id, ItemRole::Collaborator)]
    );
    store
        .set_account_access(b.id, q.id, None, &ev("account.unshare"))
        .await
        .unwrap();
    n = appended_one(&store, n, "account.unshare").await;
    assert!(store.account_grants_of(q.id).await.unwrap().is_empty());
    let err = store
        .set_account_access(
            AccountId::new(),
            q.id,
            Some(ItemRole::Owner),
            &ev("account.share"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "account" }),
        "{err:?}"
    );

    filters(&store, &a, &b, v1.id, v2.id).await;
    n += 2; // `filters` creates and deletes one account.

    store
        .delete_account(a.id, &ev("account.delete"))
        .await
        .unwrap();
    n = appended_one(&store, n, "account.delete").await;
    assert!(store.account(a.id).await.unwrap().is_none());
    assert!(store.sealed_fields(a.id).await.unwrap().is_empty());
    assert!(store.account_access(a.id).await.unwrap().is_empty());
    assert!(store.account_grants_of(p.id).await.unwrap().is_empty());
    assert_eq!(store.count_sealed_with(dek).await.unwrap(), 0);
    let err = store
        .delete_account(a.id, &ev("account.delete"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "account" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n);
    assert_intact(&store).await;
}

async fn labels(store: &impl SuiteStore, f: AccountFilter) -> Vec<String> {
    store
        .accounts(&f)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.label)
        .collect()
}

/// `a` is "Slack Admin" (root@acme.io) in `v1`, `b` is "Slack admin" (ops@acme.io) in `v2`.
async fn filters(
    store: &impl SuiteStore,
    a: &AccountRecord,
    b: &AccountRecord,
    v1: VaultId,
    v2: VaultId,
) {
    let mut c = account(v2, "Figma 100% design_team", "designer@acme.io");
    c.app_id = Some(AppId::parse("figma").unwrap());
    c.login_url = Some("https://www.figma.com/login".into());
    store
        .insert_account(&c, &[], &[], &ev("account.create"))
        .await
        .unwrap();

    assert_eq!(
        store
            .accounts(&AccountFilter::default())
            .await
            .unwrap()
            .len(),
        3
    );
    let q = |s: &str| AccountFilter {
        query: Some(s.into()),
        ..Default::default()
    };
    assert_eq!(labels(store, q("SLACK")).await.len(), 2);
    assert_eq!(labels(store, q("root@ACME")).await, [a.label.as_str()]);
    assert_eq!(labels(store, q("figma.com")).await, [c.label.as_str()]);
    assert_eq!(labels(store, q("100%")).await, [c.label.as_str()]);
    assert!(
        labels(store, q("1_0")).await.is_empty(),
        "`_` is not a wildcard"
    );
    assert_eq!(labels(store, q("%")).await.len(), 1, "`%` is literal");
    let vaults = |vs: Vec<VaultId>, also: Vec<AccountId>| AccountFilter {
        vaults: Some(vs),
        also_accounts: also,
        ..Default::default()
    };
    assert_eq!(
        store
            .accounts(&vaults(vec![v1], vec![]))
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        [a.id]
    );
    assert_eq!(labels(store, vaults(vec![v2], vec![])).await.len(), 2);
    assert_eq!(
        store
            .accounts(&vaults(vec![], vec![b.id]))
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        [b.id]
    );
    assert_eq!(labels(store, vaults(vec![v1], vec![b.id])).await.len(), 2);
    assert!(labels(store, vaults(vec![], vec![])).await.is_empty());
    let by_app = AccountFilter {
        app_id: Some("figma".into()),
        ..Default::default()
    };
    assert_eq!(labels(store, by_app).await, [c.label.as_str()]);
    let limited = AccountFilter {
        limit: Some(1),
        ..Default::default()
    };
    assert_eq!(
        labels(store, limited).await,
        [c.label.as_str()],
        "ordered by label"
    );
    store
        .delete_account(c.id, &ev("account.delete"))
        .await
        .unwrap();
}
