//! The shared inbox: managed addresses, the phone number pool, messages (exactly once),
//! filters, access reach, retention and cascades.

use crate::harness::SuiteStore;
use castellan_core::ids::{AccountId, AppId, DataKeyId, VaultId};
use castellan_core::inbox::{
    InboxFilter, InboxKind, InboxMessageId, InboxMessageRecord, ManagedAddress, ManagedAddressId,
    ManagedNumber, ManagedNumberId,
};
use castellan_core::CoreError;

use crate::fixtures::*;

fn address(account: AccountId, text: &str) -> ManagedAddress {
    ManagedAddress {
        id: ManagedAddressId::new(),
        account_id: account,
        address: text.into(),
        created_at: t(10),
    }
}

fn number(e164: &str) -> ManagedNumber {
    ManagedNumber {
        id: ManagedNumberId::new(),
        e164: e164.into(),
        account_id: None,
        created_at: t(10),
        assigned_at: None,
    }
}

fn message(
    account: AccountId,
    vault: VaultId,
    kind: InboxKind,
    at: i64,
    key: &str,
    code: bool,
) -> InboxMessageRecord {
    InboxMessageRecord {
        id: InboxMessageId::new(),
        kind,
        account_id: account,
        vault_id: vault,
        app_id: Some(AppId::parse("slack").unwrap()),
        received_at: t(at),
        from: "no-reply@slack.com".into(),
        to: "slack-abc@castellan.localhost".into(),
        has_code: code,
        has_link: false,
        expires_at: code.then(|| t(at + 600)),
        message_key: key.into(),
        dek_id: DataKeyId::new(),
        content: vec![1, 2, 3, at as u8],
        raw: (kind == InboxKind::Email).then(|| vec![9; 64]),
        raw_bytes: if kind == InboxKind::Email { 64 } else { 0 },
    }
}

async fn two_accounts(store: &impl SuiteStore) -> (VaultId, VaultId, AccountId, AccountId) {
    let (v1, v2) = (vault("Inbox One"), vault("Inbox Two"));
    for v in [&v1, &v2] {
        store
            .insert_vault(v, &[], &[], &ev("vault.create"))
            .await
            .unwrap();
    }
    let a1 = account(v1.id, "Slack", "a@x.io");
    let a2 = account(v2.id, "Figma", "b@x.io");
    for a in [&a1, &a2] {
        store
            .insert_account(a, &[], &[], &ev("account.create"))
            .await
            .unwrap();
    }
    (v1.id, v2.id, a1.id, a2.id)
}

pub async fn managed_addresses<S: SuiteStore>(store: S) {
    let (_, _, a1, a2) = two_accounts(&store).await;
    let before = seq(&store).await;
    let m = address(a1, "slack-abcd1234@castellan.localhost");
    store
        .insert_managed_address(&m, &ev("inbox.address_assign"))
        .await
        .unwrap();
    appended_one(&store, before, "inbox.address_assign").await;
    assert_eq!(store.managed_address_of(a1).await.unwrap(), Some(m.clone()));
    assert_eq!(
        store.managed_address(&m.address).await.unwrap(),
        Some(m.clone())
    );
    assert_eq!(store.managed_address("nobody@x.io").await.unwrap(), None);
    let n = seq(&store).await;
    // The same address for another account, and a second address for the same account:
    // refused, nothing written.
    let taken = store
        .insert_managed_address(&address(a2, &m.address), &ev("inbox.address_assign"))
        .await;
    assert!(
        matches!(taken, Err(CoreError::Conflict(ref s)) if s.contains("taken")),
        "{taken:?}"
    );
    let second = store
        .insert_managed_address(
            &address(a1, "slack-other@castellan.localhost"),
            &ev("inbox.address_assign"),
        )
        .await;
    assert!(
        matches!(second, Err(CoreError::Conflict(ref s)) if s.contains("already has")),
        "{second:?}"
    );
    let missing = store
        .insert_managed_address(
            &address(AccountId::new(), "x-1@castellan.localhost"),
            &ev("inbox.address_assign"),
        )
        .await;
    assert!(matches!(missing, Err(CoreError::NotFound { .. })));
    assert_eq!(seq(&store).await, n);
    // Deleting the account deletes its address.
    store
        .delete_account(a1, &ev("account.delete"))
        .await
        .unwrap();
    assert_eq!(store.managed_address(&m.address).await.unwrap(), None);
    assert_intact(&store).await;
}

pub async fn phone_number_pool<S: SuiteStore>(store: S) {
    let (_, _, a1, a2) = two_accounts(&store).await;
    let before = seq(&store).await;
    let added = store
        .add_numbers(
            &[number("+14155550101"), number("+14155550100")],
            &ev("inbox.numbers_add"),
        )
        .await
        .unwrap();
    assert_eq!(added, 2);
    appended_one(&store, before, "inbox.numbers_add").await;
    // Already in the pool: skipped.
    let again = store
        .add_numbers(&[number("+14155550100")], &ev("inbox.numbers_add"))
        .await
        .unwrap();
    assert_eq!(again, 0);
    let pool = store.numbers().await.unwrap();
    assert_eq!(
        pool.iter().map(|n| n.e164.as_str()).collect::<Vec<_>>(),
        ["+14155550100", "+14155550101"]
    );
    assert!(pool.iter().all(|n| n.account_id.is_none()));

    let first = store
        .assign_free_number(a1, t(20), &ev("inbox.number_assign"))
        .await
        .unwrap()
        .expect("a free number");
    assert_eq!(
        (first.e164.as_str(), first.account_id, first.assigned_at),
        ("+14155550100", Some(a1), Some(t(20)))
    );
    assert_eq!(store.number_of(a1).await.unwrap(), Some(first.clone()));
    assert_eq!(
        store.number("+14155550100").await.unwrap(),
        Some(first.clone())
    );
    // The same account twice: refused by the unique account column.
    let twice = store
        .assign_free_number(a1, t(21), &ev("inbox.number_assign"))
        .await;
    assert!(matches!(twice, Err(CoreError::Conflict(_))), "{twice:?}");
    let second = store
        .assign_free_number(a2, t(22), &ev("inbox.number_assign"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.e164, "+14155550101");
    // The pool is empty now: nothing assigned, nothing recorded.
    let a3 = account(first_vault(&store).await, "Third", "c@x.io");
    store
        .insert_account(&a3, &[], &[], &ev("account.create"))
        .await
        .unwrap();
    let n = seq(&store).await;
    assert_eq!(
        store
            .assign_free_number(a3.id, t(23), &ev("inbox.number_assign"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(seq(&store).await, n);
    // Deleting an account returns its number to the pool.
    store
        .delete_account(a1, &ev("account.delete"))
        .await
        .unwrap();
    let freed = store.number("+14155550100").await.unwrap().unwrap();
    assert_eq!(freed.account_id, None);
    let again = store
        .assign_free_number(a3.id, t(24), &ev("inbox.number_assign"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.e164, "+14155550100");
    assert_intact(&store).await;
}

async fn first_vault(store: &impl SuiteStore) -> VaultId {
    store.vaults().await.unwrap()[0].id
}

pub async fn messages_exactly_once_filters_and_purge<S: SuiteStore>(store: S) {
    let (v1, v2, a1, a2) = two_accounts(&store).await;
    let before = seq(&store).await;
    let m1 = message(a1, v1, InboxKind::Email, 100, "key-1", true);
    assert!(store
        .insert_inbox_message(&m1, &ev("inbox.code_received"))
        .await
        .unwrap());
    appended_one(&store, before, "inbox.code_received").await;
    // The same key again (a client retrying): nothing stored, nothing recorded.
    let mut dup = message(a1, v1, InboxKind::Email, 101, "key-1", true);
    dup.content = vec![7; 8];
    assert!(!store
        .insert_inbox_message(&dup, &ev("inbox.code_received"))
        .await
        .unwrap());
    assert_eq!(seq(&store).await, before + 1);
    assert_eq!(
        store.inbox_message(dup.id).await.unwrap().map(|m| m.id),
        None
    );

    let m2 = message(a1, v1, InboxKind::Sms, 200, "key-2", false);
    let m3 = message(a2, v2, InboxKind::Sms, 300, "key-3", true);
    for m in [&m2, &m3] {
        assert!(store
            .insert_inbox_message(m, &ev("inbox.message_received"))
            .await
            .unwrap());
    }
    let got = store.inbox_message(m1.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.kind,
            got.account_id,
            got.vault_id,
            got.received_at,
            got.expires_at,
            got.content.clone(),
            got.raw.clone(),
            got.raw_bytes,
            got.has_code,
            got.message_key.clone(),
            got.dek_id,
        ),
        (
            m1.kind,
            m1.account_id,
            m1.vault_id,
            m1.received_at,
            m1.expires_at,
            m1.content.clone(),
            m1.raw.clone(),
            64,
            true,
            "key-1".to_owned(),
            m1.dek_id,
        )
    );
    assert_eq!(got.app_id.as_ref().map(AppId::as_str), Some("slack"));

    let ids = |f: InboxFilter| {
        let store = store.clone();
        async move {
            store
                .inbox_messages(&f)
                .await
                .unwrap()
                .iter()
                .map(|m| m.id)
                .collect::<Vec<_>>()
        }
    };
    // Newest first, without the raw message.
    let all = store.inbox_messages(&InboxFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|m| m.id).collect::<Vec<_>>(),
        [m3.id, m2.id, m1.id]
    );
    assert!(all.iter().all(|m| m.raw.is_none()));
    assert_eq!(
        ids(InboxFilter {
            account_id: Some(a1),
            ..Default::default()
        })
        .await,
        [m2.id, m1.id]
    );
    assert_eq!(
        ids(InboxFilter {
            kind: Some(InboxKind::Sms),
            ..Default::default()
        })
        .await,
        [m3.id, m2.id]
    );
    assert_eq!(
        ids(InboxFilter {
            since: Some(t(200)),
            until: Some(t(300)),
            ..Default::default()
        })
        .await,
        [m2.id]
    );
    assert_eq!(
        ids(InboxFilter {
            vault_id: Some(v2),
            ..Default::default()
        })
        .await,
        [m3.id]
    );
    assert_eq!(
        ids(InboxFilter {
            app_id: Some("figma".into()),
            ..Default::default()
        })
        .await,
        Vec::<InboxMessageId>::new()
    );
    assert_eq!(
        ids(InboxFilter {
            with_code_or_link: true,
            limit: Some(1),
            ..Default::default()
        })
        .await,
        [m3.id]
    );
    assert_eq!(
        ids(InboxFilter {
            with_code_or_link: true,
            valid_at: Some(t(750)),
            ..Default::default()
        })
        .await,
        [m3.id]
    );
    // Reach: a vault grant OR a direct grant; neither gives nothing.
    assert_eq!(
        ids(InboxFilter {
            vaults: Some(vec![v2]),
            ..Default::default()
        })
        .await,
        [m3.id]
    );
    assert_eq!(
        ids(InboxFilter {
            vaults: Some(vec![]),
            also_accounts: vec![a1],
            ..Default::default()
        })
        .await,
        [m2.id, m1.id]
    );
    assert!(ids(InboxFilter {
        vaults: Some(vec![]),
        ..Default::default()
    })
    .await
    .is_empty());

    // Retention: older than t(250) goes; one event records the count.
    let n = seq(&store).await;
    assert_eq!(
        store.purge_inbox(t(250), &ev("inbox.purge")).await.unwrap(),
        2
    );
    appended_one(&store, n, "inbox.purge").await;
    assert_eq!(ids(InboxFilter::default()).await, [m3.id]);
    // Nothing to purge: nothing recorded.
    assert_eq!(
        store.purge_inbox(t(250), &ev("inbox.purge")).await.unwrap(),
        0
    );
    assert_eq!(seq(&store).await, n + 1);
    // Deleting the account deletes its messages.
    store
        .delete_account(a2, &ev("account.delete"))
        .await
        .unwrap();
    assert!(ids(InboxFilter::default()).await.is_empty());
    assert_intact(&store).await;
}
