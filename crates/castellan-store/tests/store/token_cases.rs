//! Personal API tokens.

use crate::harness::SuiteStore;
use castellan_core::ids::{PersonId, TokenId};
use castellan_core::model::WorkspaceRole;
use castellan_core::CoreError;
use chrono::Duration;

use crate::fixtures::*;

pub async fn tokens_lifecycle<S: SuiteStore>(store: S) {
    let p = person("p@x.io", WorkspaceRole::User);
    let q = person("q@x.io", WorkspaceRole::User);
    store.insert_person(&p, &ev("person.create")).await.unwrap();
    store.insert_person(&q, &ev("person.create")).await.unwrap();
    let older = token(p.id, "hash-older", 10);
    let newer = token(p.id, "hash-newer", 20);
    store
        .insert_token(&older, &ev("token.create"))
        .await
        .unwrap();
    store
        .insert_token(&newer, &ev("token.create"))
        .await
        .unwrap();
    let mut n = appended_one(&store, 3, "token.create").await;
    let err = store
        .insert_token(&token(PersonId::new(), "orphan", 1), &ev("token.create"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );
    let err = store
        .insert_token(&token(q.id, "hash-older", 1), &ev("token.create"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    assert_eq!(seq(&store).await, n);

    let (t1, owner) = store.token_by_hash("hash-older").await.unwrap().unwrap();
    assert_eq!(
        (t1.id, owner.id, owner.email.as_str()),
        (older.id, p.id, "p@x.io")
    );
    assert_eq!(
        (t1.created_at, t1.expires_at, t1.last_used_at),
        (t(10), Some(t(86_410)), None)
    );
    assert!(store.token_by_hash("nope").await.unwrap().is_none());
    let ids: Vec<_> = store
        .tokens_of(p.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, [newer.id, older.id]);
    assert!(store.tokens_of(q.id).await.unwrap().is_empty());

    let err = store
        .revoke_token(q.id, older.id, t(30), &ev("token.revoke"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "token" }),
        "{err:?}"
    );
    store
        .revoke_token(p.id, older.id, t(30), &ev("token.revoke"))
        .await
        .unwrap();
    n = appended_one(&store, n, "token.revoke").await;
    let (t1, _) = store.token_by_hash("hash-older").await.unwrap().unwrap();
    assert_eq!(t1.revoked_at, Some(t(30)));

    // Uses are logged at most once per window.
    let window = Duration::hours(1);
    assert!(store
        .touch_token(newer.id, t(100), window, &ev("token.use"))
        .await
        .unwrap());
    n = appended_one(&store, n, "token.use").await;
    assert!(!store
        .touch_token(newer.id, t(160), window, &ev("token.use"))
        .await
        .unwrap());
    assert!(!store
        .touch_token(newer.id, t(160 + 3600), window, &ev("token.use"))
        .await
        .unwrap());
    assert_eq!(seq(&store).await, n);
    let (t2, _) = store.token_by_hash("hash-newer").await.unwrap().unwrap();
    assert_eq!(t2.last_used_at, Some(t(3760)));
    assert!(store
        .touch_token(newer.id, t(3760 + 3601), window, &ev("token.use"))
        .await
        .unwrap());
    appended_one(&store, n, "token.use").await;
    let err = store
        .touch_token(TokenId::new(), t(1), window, &ev("token.use"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "token" }),
        "{err:?}"
    );
    assert_intact(&store).await;
}
