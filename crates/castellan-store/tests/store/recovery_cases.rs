//! Account recovery: password reset links, setting a password (which ends the person's other
//! tokens and pending links), and throttled activity.

use crate::harness::SuiteStore;
use castellan_core::activity::{ActivityAction, Actor, NewEvent};
use castellan_core::ids::{PasswordResetId, PersonId, TokenId};
use castellan_core::model::{NewPassword, PasswordResetRecord, WorkspaceRole};
use castellan_core::CoreError;
use chrono::Duration;

use crate::fixtures::*;

fn reset(person: PersonId, hash: &str, created: i64, expires: i64) -> PasswordResetRecord {
    PasswordResetRecord {
        id: PasswordResetId::new(),
        person_id: person,
        hash: hash.into(),
        created_by: None,
        created_at: t(created),
        expires_at: t(expires),
        used_at: None,
        revoked_at: None,
    }
}

fn change(person: PersonId, hash: &str, at: i64) -> NewPassword {
    NewPassword {
        person_id: person,
        password_hash: hash.into(),
        at: t(at),
        keep_token: None,
        reset: None,
    }
}

async fn password_of(store: &impl SuiteStore, p: PersonId) -> Option<String> {
    store.person(p).await.unwrap().unwrap().password_hash
}

async fn revoked(store: &impl SuiteStore, hash: &str) -> bool {
    let (tok, _) = store.token_by_hash(hash).await.unwrap().unwrap();
    tok.revoked_at.is_some()
}

pub async fn password_resets_and_changes<S: SuiteStore>(store: S) {
    let p = person("p@x.io", WorkspaceRole::User);
    let q = person("q@x.io", WorkspaceRole::User);
    store.insert_person(&p, &ev("person.create")).await.unwrap();
    store.insert_person(&q, &ev("person.create")).await.unwrap();
    for (who, h) in [(p.id, "p-1"), (p.id, "p-2"), (q.id, "q-1")] {
        store
            .insert_token(&token(who, h, 10), &ev("token.create"))
            .await
            .unwrap();
    }

    // A newer link voids the pending one.
    let first = reset(p.id, "reset-1", 100, 3700);
    store
        .insert_password_reset(&first, &ev("person.password_reset_issue"))
        .await
        .unwrap();
    let (r, who) = store
        .password_reset_by_hash("reset-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.clone(), who.id), (first.clone(), p.id));
    let second = reset(p.id, "reset-2", 200, 3800);
    store
        .insert_password_reset(&second, &ev("person.password_reset_issue"))
        .await
        .unwrap();
    let (r, _) = store
        .password_reset_by_hash("reset-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.revoked_at, Some(t(200)));
    assert!(store
        .password_reset_by_hash("nope")
        .await
        .unwrap()
        .is_none());
    let err = store
        .insert_password_reset(
            &reset(PersonId::new(), "orphan", 1, 2),
            &ev("person.password_reset_issue"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );

    // A revoked link and an expired one change nothing and append nothing.
    let n = seq(&store).await;
    let mut by_link = change(p.id, "new-hash", 300);
    by_link.reset = Some(first.id);
    let done = store
        .set_password(&by_link, &ev("person.password_reset"))
        .await;
    assert_eq!(done.unwrap(), None);
    by_link.reset = Some(second.id);
    by_link.at = t(3800);
    let done = store
        .set_password(&by_link, &ev("person.password_reset"))
        .await;
    assert_eq!(done.unwrap(), None, "a link is refused at its expiry");
    assert_eq!(seq(&store).await, n);
    assert_eq!(
        password_of(&store, p.id).await.as_deref(),
        Some("$argon2id$v=19$fake")
    );
    assert!(!revoked(&store, "p-1").await);

    // A pending link sets the password once and ends every token of that person only.
    by_link.at = t(3799);
    let done = store
        .set_password(&by_link, &ev("person.password_reset"))
        .await;
    assert_eq!(done.unwrap(), Some(2));
    appended_one(&store, n, "person.password_reset").await;
    assert_eq!(password_of(&store, p.id).await.as_deref(), Some("new-hash"));
    assert!(revoked(&store, "p-1").await && revoked(&store, "p-2").await);
    assert!(
        !revoked(&store, "q-1").await,
        "another person's token stays"
    );
    let (r, _) = store
        .password_reset_by_hash("reset-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.used_at, Some(t(3799)));
    by_link.password_hash = "again".into();
    let n = seq(&store).await;
    let done = store
        .set_password(&by_link, &ev("person.password_reset"))
        .await;
    assert_eq!(done.unwrap(), None, "a link works once");
    assert_eq!(seq(&store).await, n);

    // Changing one's password keeps the token used and voids pending links.
    let kept = token(p.id, "p-3", 4000);
    store
        .insert_token(&kept, &ev("token.create"))
        .await
        .unwrap();
    store
        .insert_token(&token(p.id, "p-4", 4000), &ev("token.create"))
        .await
        .unwrap();
    store
        .insert_password_reset(&reset(p.id, "reset-3", 4000, 9000), &ev("x"))
        .await
        .unwrap();
    let mut own = change(p.id, "changed", 4100);
    own.keep_token = Some(kept.id);
    let n = seq(&store).await;
    assert_eq!(
        store
            .set_password(&own, &ev("person.password_change"))
            .await
            .unwrap(),
        Some(1)
    );
    appended_one(&store, n, "person.password_change").await;
    assert!(!revoked(&store, "p-3").await);
    assert!(revoked(&store, "p-4").await);
    let (r, _) = store
        .password_reset_by_hash("reset-3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.revoked_at, Some(t(4100)));
    assert_eq!(password_of(&store, p.id).await.as_deref(), Some("changed"));

    let err = store
        .set_password(&change(PersonId::new(), "x", 1), &ev("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );
    assert_intact(&store).await;
}

/// An event by one token on one target at `secs`.
fn read(token: Option<TokenId>, target: &str, action: &str, secs: i64) -> NewEvent {
    let mut actor = Actor::system("store tests");
    actor.token_id = token;
    let e = NewEvent::new(&actor, ActivityAction::AccountReveal, chrono::Utc::now())
        .target("account", target, "GitHub");
    let mut e = with_action(e, action);
    e.at = t(secs);
    e
}

pub async fn throttled_appends<S: SuiteStore>(store: S) {
    let window = Duration::minutes(10);
    let (a, b) = (Some(TokenId::new()), Some(TokenId::new()));
    let n = seq(&store).await;
    let code = "account.totp_code";
    assert!(store
        .append_throttled(&read(a, "acc-1", code, 0), window)
        .await
        .unwrap());
    // The same session on the same account, every 30 s for 10 minutes: nothing more.
    for s in (30..=600).step_by(30) {
        assert!(!store
            .append_throttled(&read(a, "acc-1", code, s), window)
            .await
            .unwrap());
    }
    assert_eq!(seq(&store).await, n + 1);
    // Another session, another account or another action count on their own.
    assert!(store
        .append_throttled(&read(b, "acc-1", code, 60), window)
        .await
        .unwrap());
    assert!(store
        .append_throttled(&read(a, "acc-2", code, 60), window)
        .await
        .unwrap());
    assert!(store
        .append_throttled(&read(a, "acc-1", "account.reveal", 60), window)
        .await
        .unwrap());
    // Past the window, once more; without a token, always.
    assert!(store
        .append_throttled(&read(a, "acc-1", code, 601), window)
        .await
        .unwrap());
    assert!(!store
        .append_throttled(&read(a, "acc-1", code, 700), window)
        .await
        .unwrap());
    assert!(store
        .append_throttled(&read(None, "acc-1", code, 700), window)
        .await
        .unwrap());
    assert!(store
        .append_throttled(&read(None, "acc-1", code, 701), window)
        .await
        .unwrap());
    assert_eq!(seq(&store).await, n + 7);
    assert_intact(&store).await;
}
