//! Migrations, the workspace and its claim, people.

use castellan_core::activity::GENESIS_HASH;
use castellan_core::ids::{DataKeyId, PersonId, VaultId};
use castellan_core::model::{
    IdpEmail, PersonStatus, PersonTwoStep, TokenRecord, Vault, VaultKind, WorkspaceRole,
};
use castellan_core::ports::{ActivityStore, PeopleStore, Store};
use castellan_core::CoreError;
use castellan_store::SqlStore;

use crate::harness::SuiteStore;

use crate::fixtures::*;

pub async fn migrations_are_idempotent(url: String) {
    let first = SqlStore::connect(&url).await.expect("first connect");
    assert!(["sqlite", "postgres"].contains(&first.backend()));
    assert_eq!(first.backend(), first.backend_name());
    if first.backend() == "sqlite" {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(first.pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let fks: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(first.pool())
            .await
            .unwrap();
        assert_eq!(fks, 1);
    }
    let head = first.chain_head().await.unwrap();
    assert_eq!((head.seq, head.hash.as_str()), (0, GENESIS_HASH));
    first
        .insert_person(
            &person("a@x.io", WorkspaceRole::Admin),
            &ev("person.create"),
        )
        .await
        .unwrap();
    // A second instance on the same database re-runs the migrator: nothing to do, no error.
    let second = SqlStore::connect(&url).await.expect("second connect");
    assert_eq!(second.people().await.unwrap().len(), 1);
    first.close().await;
    second.close().await;
    let third = SqlStore::connect(&url).await.expect("third connect");
    assert_eq!(seq(&third).await, 1);
    assert_intact(&third).await;
    third.close().await;
}

fn default_vault() -> Vault {
    Vault {
        is_default: true,
        ..vault("Shared")
    }
}

pub async fn workspace_create_and_claim<S: SuiteStore>(store: S) {
    assert!(store.workspace().await.unwrap().is_none());
    let ws = workspace("setup-1");
    let v = default_vault();
    store
        .create_workspace(&ws, &v, &vault_key(v.id, "mk-1"), &ev("workspace.create"))
        .await
        .unwrap();
    let mut n = appended_one(&store, 0, "workspace.create").await;
    let got = store.workspace().await.unwrap().unwrap();
    assert_eq!(
        (got.id, got.name.as_str(), got.created_at),
        (ws.id, "Acme", ws.created_at)
    );
    assert_eq!(got.setup_token_hash.as_deref(), Some("setup-1"));
    let vaults = store.vaults().await.unwrap();
    assert_eq!(vaults.len(), 1);
    assert!(vaults[0].is_default);
    assert_eq!(vaults[0].kind, VaultKind::Cloud);
    assert_eq!(store.vault_keys(v.id).await.unwrap().len(), 1);

    // A second workspace is refused, and nothing of it is written.
    let v2 = Vault {
        id: VaultId::new(),
        name: "Other".into(),
        ..default_vault()
    };
    let again = store
        .create_workspace(
            &workspace("x"),
            &v2,
            &vault_key(v2.id, "mk-1"),
            &ev("workspace.create"),
        )
        .await;
    assert!(matches!(again, Err(CoreError::Conflict(_))), "{again:?}");
    assert_eq!(seq(&store).await, n);
    assert_eq!(store.vaults().await.unwrap().len(), 1);

    assert!(store
        .reset_setup_token("setup-2", &ev("workspace.setup_token_reset"))
        .await
        .unwrap());
    n = appended_one(&store, n, "workspace.setup_token_reset").await;

    let owner = person("owner@x.io", WorkspaceRole::Owner);
    let tok = token(owner.id, "tok-1", 10);
    // The old setup token no longer matches: nothing written.
    assert!(!store
        .claim_workspace("setup-1", &owner, &tok, &ev("workspace.claim"))
        .await
        .unwrap());
    assert_eq!(seq(&store).await, n);
    assert!(store.people().await.unwrap().is_empty());
    assert!(store.token_by_hash("tok-1").await.unwrap().is_none());

    assert!(store
        .claim_workspace("setup-2", &owner, &tok, &ev("workspace.claim"))
        .await
        .unwrap());
    n = appended_one(&store, n, "workspace.claim").await;
    assert!(store
        .workspace()
        .await
        .unwrap()
        .unwrap()
        .setup_token_hash
        .is_none());
    let (t, p) = store.token_by_hash("tok-1").await.unwrap().unwrap();
    assert_eq!(
        (t.id, p.id, p.role),
        (tok.id, owner.id, WorkspaceRole::Owner)
    );

    let other = person("late@x.io", WorkspaceRole::Owner);
    let late = token(other.id, "tok-2", 10);
    assert!(!store
        .claim_workspace("setup-2", &other, &late, &ev("workspace.claim"))
        .await
        .unwrap());
    assert!(!store
        .reset_setup_token("setup-3", &ev("workspace.setup_token_reset"))
        .await
        .unwrap());
    assert_eq!(seq(&store).await, n);
    assert_eq!(store.people().await.unwrap().len(), 1);
    assert_intact(&store).await;
}

pub async fn people_lifecycle<S: SuiteStore>(store: S) {
    let owner = person("owner@x.io", WorkspaceRole::Owner);
    let admin = person("admin@x.io", WorkspaceRole::Admin);
    store
        .insert_person(&owner, &ev("person.create"))
        .await
        .unwrap();
    store
        .insert_person(&admin, &ev("person.create"))
        .await
        .unwrap();
    let mut n = appended_one(&store, 1, "person.create").await;

    let dup = person("admin@x.io", WorkspaceRole::User);
    let err = store
        .insert_person(&dup, &ev("person.create"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Conflict(m) if m.contains("admin@x.io")),
        "{err:?}"
    );
    let second_owner = person("second@x.io", WorkspaceRole::Owner);
    let err = store
        .insert_person(&second_owner, &ev("person.create"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Conflict(m) if m.contains("owner")),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n);

    let got = store.person(admin.id).await.unwrap().unwrap();
    assert_eq!(got.email, "admin@x.io");
    assert_eq!(got.invitation_expires_at, admin.invitation_expires_at);
    assert_eq!(got.password_hash, admin.password_hash);
    assert_eq!(
        store
            .person_by_email("owner@x.io")
            .await
            .unwrap()
            .unwrap()
            .id,
        owner.id
    );
    assert!(store
        .person_by_email("nobody@x.io")
        .await
        .unwrap()
        .is_none());
    assert!(store.person(PersonId::new()).await.unwrap().is_none());
    let emails: Vec<_> = store
        .people()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.email)
        .collect();
    assert_eq!(emails, ["admin@x.io", "owner@x.io"]);

    let mut changed = admin.clone();
    changed.name = "Ada".into();
    changed.role = WorkspaceRole::SuperAdmin;
    changed.external_id = Some("idp-7".into());
    changed.updated_at = t(50);
    store
        .update_person(&changed, &ev("person.update"))
        .await
        .unwrap();
    n = appended_one(&store, n, "person.update").await;
    let got = store.person(admin.id).await.unwrap().unwrap();
    assert_eq!(
        (got.name.as_str(), got.role, got.updated_at),
        ("Ada", WorkspaceRole::SuperAdmin, t(50))
    );
    assert_eq!(got.external_id.as_deref(), Some("idp-7"));

    let missing = person("ghost@x.io", WorkspaceRole::User);
    let err = store
        .update_person(&missing, &ev("person.update"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );
    // The one-owner index also guards updates.
    let mut usurper = store.person(admin.id).await.unwrap().unwrap();
    usurper.role = WorkspaceRole::Owner;
    let err = store
        .update_person(&usurper, &ev("person.update"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    assert_eq!(seq(&store).await, n);

    // Transfer to a missing person rolls back the demotion too.
    let err = store
        .transfer_ownership(owner.id, PersonId::new(), &ev("person.transfer"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::NotFound { kind: "person" }),
        "{err:?}"
    );
    assert_eq!(
        store.person(owner.id).await.unwrap().unwrap().role,
        WorkspaceRole::Owner
    );

    store
        .transfer_ownership(owner.id, admin.id, &ev("person.transfer"))
        .await
        .unwrap();
    n = appended_one(&store, n, "person.transfer").await;
    assert_eq!(
        store.person(owner.id).await.unwrap().unwrap().role,
        WorkspaceRole::SuperAdmin
    );
    assert_eq!(
        store.person(admin.id).await.unwrap().unwrap().role,
        WorkspaceRole::Owner
    );
    let err = store
        .transfer_ownership(owner.id, admin.id, &ev("person.transfer"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    assert_eq!(seq(&store).await, n);

    // Deactivation revokes the person's live tokens, keeping earlier revocations.
    let live = token(owner.id, "live", 10);
    let mut old = token(owner.id, "old", 5);
    old.revoked_at = Some(t(6));
    store
        .insert_token(&live, &ev("token.create"))
        .await
        .unwrap();
    store.insert_token(&old, &ev("token.create")).await.unwrap();
    n += 2;
    let mut gone = store.person(owner.id).await.unwrap().unwrap();
    gone.status = PersonStatus::Deactivated;
    gone.updated_at = t(99);
    store
        .update_person(&gone, &ev("person.deactivate"))
        .await
        .unwrap();
    appended_one(&store, n, "person.deactivate").await;
    let tokens = store.tokens_of(owner.id).await.unwrap();
    let revoked: Vec<_> = tokens
        .iter()
        .map(|t| (t.hash.as_str(), t.revoked_at))
        .collect();
    assert_eq!(revoked, [("live", Some(t(99))), ("old", Some(t(6)))]);
    assert_intact(&store).await;
}

/// Two-step columns: round trip through every read path, `update_person` leaves them alone,
/// a step is claimed once and only upward (with the token and event in the same transaction),
/// and turning it off clears everything.
pub async fn person_two_step<S: SuiteStore>(store: S) {
    let mut p = person("two@x.io", WorkspaceRole::User);
    store.insert_person(&p, &ev("person.create")).await.unwrap();
    let mut n = seq(&store).await;
    assert!(store
        .person(p.id)
        .await
        .unwrap()
        .unwrap()
        .two_step
        .is_none());

    // Without an authenticator no step can be claimed, and nothing is written.
    let t0 = token(p.id, "tok-0", 5);
    assert!(!store
        .sign_in_with_step(p.id, 10, &t0, &ev("auth.sign_in"))
        .await
        .unwrap());
    assert!(store.token_by_hash("tok-0").await.unwrap().is_none());
    assert_eq!(seq(&store).await, n);

    let ts = PersonTwoStep {
        sealed_secret: vec![0, 1, 2, 254, 255],
        vault_id: VaultId::new(),
        dek_id: DataKeyId::new(),
        last_step: Some(100),
    };
    store
        .set_person_two_step(p.id, Some(&ts), &ev("person.two_step_enable"))
        .await
        .unwrap();
    n = appended_one(&store, n, "person.two_step_enable").await;
    assert_eq!(
        store.person(p.id).await.unwrap().unwrap().two_step,
        Some(ts.clone())
    );
    assert_eq!(
        store
            .person_by_email("two@x.io")
            .await
            .unwrap()
            .unwrap()
            .two_step,
        Some(ts.clone())
    );
    let listed = store.people().await.unwrap();
    assert_eq!(listed[0].two_step, Some(ts.clone()));

    // A stale record written back does not touch the two-step columns.
    p.name = "Renamed".into();
    store.update_person(&p, &ev("person.update")).await.unwrap();
    n = appended_one(&store, n, "person.update").await;
    let got = store.person(p.id).await.unwrap().unwrap();
    assert_eq!(
        (got.name.as_str(), got.two_step),
        ("Renamed", Some(ts.clone()))
    );

    // Steps at or below the last accepted one are refused; a later one is claimed with its token.
    for old in [99, 100] {
        let t = token(p.id, &format!("tok-{old}"), 6);
        assert!(!store
            .sign_in_with_step(p.id, old, &t, &ev("auth.sign_in"))
            .await
            .unwrap());
        assert!(store.token_by_hash(&t.hash).await.unwrap().is_none());
    }
    assert_eq!(seq(&store).await, n);
    let t1 = token(p.id, "tok-101", 7);
    assert!(store
        .sign_in_with_step(p.id, 101, &t1, &ev("auth.sign_in"))
        .await
        .unwrap());
    n = appended_one(&store, n, "auth.sign_in").await;
    let (tok, who) = store.token_by_hash("tok-101").await.unwrap().unwrap();
    assert_eq!(tok.id, t1.id);
    assert_eq!(who.two_step.and_then(|t| t.last_step), Some(101));
    let t2 = token(p.id, "tok-101b", 8);
    assert!(!store
        .sign_in_with_step(p.id, 101, &t2, &ev("auth.sign_in"))
        .await
        .unwrap());
    assert_eq!(seq(&store).await, n);

    // A token that cannot be inserted rolls the claimed step back.
    let dup = TokenRecord {
        hash: "tok-101".into(),
        ..token(p.id, "x", 9)
    };
    assert!(store
        .sign_in_with_step(p.id, 105, &dup, &ev("auth.sign_in"))
        .await
        .is_err());
    let got = store.person(p.id).await.unwrap().unwrap();
    assert_eq!(got.two_step.and_then(|t| t.last_step), Some(101));
    assert_eq!(seq(&store).await, n);

    store
        .set_person_two_step(p.id, None, &ev("person.two_step_disable"))
        .await
        .unwrap();
    n = appended_one(&store, n, "person.two_step_disable").await;
    assert!(store
        .person(p.id)
        .await
        .unwrap()
        .unwrap()
        .two_step
        .is_none());
    let err = store
        .set_person_two_step(PersonId::new(), None, &ev("person.two_step_disable"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    assert_eq!(seq(&store).await, n);
    assert_intact(&store).await;
}

/// A person's row version: 1 when inserted, one more with each write; a change written from an
/// older read is `Stale` and writes nothing (no event either); a password change and an
/// ownership transfer count as writes; the transfer ends the old owner's SCIM tokens only.
pub async fn person_versions<S: SuiteStore>(store: S) {
    let owner = person("owner@x.io", WorkspaceRole::Owner);
    let admin = person("admin@x.io", WorkspaceRole::Admin);
    let mut n = seq(&store).await;
    for p in [&owner, &admin] {
        store.insert_person(p, &ev("person.invite")).await.unwrap();
        n += 1;
    }
    let read = store.person(admin.id).await.unwrap().unwrap();
    assert_eq!(read.version, 1);

    // Two changes from the same read: the first lands, the second is stale.
    let mut first = read.clone();
    first.status = PersonStatus::Deactivated;
    store
        .update_person(&first, &ev("person.deactivate"))
        .await
        .unwrap();
    n = appended_one(&store, n, "person.deactivate").await;
    let mut second = read.clone();
    second.name = "Lost update".into();
    let err = store
        .update_person(&second, &ev("person.update"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::Stale { kind: "person" }),
        "{err:?}"
    );
    assert_eq!(seq(&store).await, n, "a stale write appends no event");
    let got = store.person(admin.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.name.as_str(), got.version),
        (PersonStatus::Deactivated, read.name.as_str(), 2)
    );

    // A password change is a write.
    let change = castellan_core::model::NewPassword {
        person_id: admin.id,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        at: t(70),
        keep_token: None,
        reset: None,
    };
    store
        .set_password(&change, &ev("person.password_change"))
        .await
        .unwrap();
    let after = store.person(admin.id).await.unwrap().unwrap();
    assert_eq!(after.version, 3);
    let err = store
        .update_person(&got, &ev("person.update"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Stale { .. }), "{err:?}");

    // The transfer: both rows are writes; the old owner's SCIM token ends, their API token
    // stays.
    let mut active = after.clone();
    active.status = PersonStatus::Active;
    store
        .update_person(&active, &ev("person.update"))
        .await
        .unwrap();
    let api = token(owner.id, "api-token", 10);
    let mut scim = token(owner.id, "scim-token", 10);
    scim.kind = castellan_core::model::TokenKind::Scim;
    for tk in [&api, &scim] {
        store.insert_token(tk, &ev("token.create")).await.unwrap();
    }
    store
        .transfer_ownership(owner.id, admin.id, &ev("person.transfer"))
        .await
        .unwrap();
    assert_eq!(store.person(owner.id).await.unwrap().unwrap().version, 2);
    assert_eq!(store.person(admin.id).await.unwrap().unwrap().version, 5);
    let revoked: Vec<_> = store
        .tokens_of(owner.id)
        .await
        .unwrap()
        .into_iter()
        .map(|tk| (tk.hash, tk.revoked_at.is_some()))
        .collect();
    assert!(
        revoked.contains(&("api-token".into(), false)),
        "{revoked:?}"
    );
    assert!(
        revoked.contains(&("scim-token".into(), true)),
        "{revoked:?}"
    );

    // A SCIM userName apart from the email: found by it, unique; without one, the email is
    // the userName.
    let mut upn = person("mail@x.io", WorkspaceRole::User);
    upn.user_name = Some("upn@corp.x".into());
    upn.given_name = Some("Ana".into());
    upn.idp_emails = vec![
        IdpEmail {
            value: "Mail@X.io".into(),
            kind: Some("work".into()),
            primary: Some(true),
            display: Some("Ana".into()),
        },
        IdpEmail {
            value: "home@x.io".into(),
            kind: None,
            primary: None,
            display: None,
        },
    ];
    store
        .insert_person(&upn, &ev("person.provision"))
        .await
        .unwrap();
    let found = store
        .person_by_user_name("upn@corp.x")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.given_name.as_deref()),
        (upn.id, Some("Ana"))
    );
    assert_eq!(found.idp_emails, upn.idp_emails, "as written");
    // Written by an update too, and back to none.
    let mut fewer = found.clone();
    fewer.idp_emails.truncate(1);
    store
        .update_person(&fewer, &ev("person.update"))
        .await
        .unwrap();
    let read = store.person(upn.id).await.unwrap().unwrap();
    assert_eq!(read.idp_emails, fewer.idp_emails);
    let mut none = read.clone();
    none.idp_emails.clear();
    store
        .update_person(&none, &ev("person.update"))
        .await
        .unwrap();
    assert!(store
        .person(upn.id)
        .await
        .unwrap()
        .unwrap()
        .idp_emails
        .is_empty());
    assert!(store
        .person_by_user_name("mail@x.io")
        .await
        .unwrap()
        .is_none());
    let by_email = store
        .person_by_user_name("owner@x.io")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_email.id, owner.id);
    let mut twin = person("twin@x.io", WorkspaceRole::User);
    twin.user_name = Some("upn@corp.x".into());
    let err = store
        .insert_person(&twin, &ev("person.provision"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
    // A userName is unique against the userNames that are emails too (one index).
    let mut shadow = person("shadow@x.io", WorkspaceRole::User);
    shadow.user_name = Some("owner@x.io".into());
    let err = store
        .insert_person(&shadow, &ev("person.provision"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Conflict(_)), "{err:?}");
}
