//! The HubSpot connector against its stand-in (`castellan_standins::hubspot`, written from
//! HubSpot's user provisioning reference; HubSpot cannot run here): the conformance suite through
//! [`HubSpotFixture`], then what only HubSpot has (the account's roles as sent, role ids given
//! and taken, a token without the write scope refused, HubSpot's error bodies and its 429).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test hubspot`.

use std::sync::Arc;

use castellan_conformance::harness::{invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::hubspot;
use castellan_connectors::Registry;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, Invitation, SignIn,
};
use castellan_standins::hubspot::HubSpot;
use secrecy::SecretString;
use serde_json::json;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(hubspot::NAME)
        .expect("hubspot is registered")
}

/// The conformance fixture: its own stand-in, the admin's private app token as the automation
/// account's, the read-only token as the account without admin rights.
fn fixture(hs: &HubSpot) -> TokenFixture {
    let seeder = hs.clone();
    TokenFixture::new(
        connector(),
        &hs.base_url,
        "private-app",
        &hs.admin_token,
        move |email, _| {
            seeder.seed(email, None);
        },
    )
    .non_admin(&hs.read_only_token)
    .automation_member(&hs.admin_id.to_string())
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&HubSpot::start())).await;
    assert!(report.failures().is_empty());
}

// ---- what only HubSpot has ---------------------------------------------------------------------

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin's token signs in")
}

#[test]
fn it_is_registered_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(
        (info.sign_in, info.default_role.as_str()),
        (SignIn::ApiToken, "user")
    );
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "api_token",
            "requests_per_second",
            "allow_private"
        ]
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "hubspot").unwrap();
    assert_eq!(app.connector.as_deref(), Some(hubspot::NAME));
}

/// The roles come from the account, as sent (ids, labelled with names), then `user`; a member
/// is given a role id, then another, then none, in one call each; super admins are reported and
/// cannot be made.
#[tokio::test]
async fn roles_are_the_accounts_as_sent() {
    let hs = HubSpot::start();
    let c = connector();
    let ctx = token_context(&hs.base_url, "private-app", &hs.admin_token);
    let s = session(&*c, &ctx).await;
    let roles = c.list_roles(&ctx, &s).await.unwrap();
    let got: Vec<(&str, &str)> = roles
        .iter()
        .map(|r| (r.role.as_str(), r.label.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("1001", "Sales Rep"),
            ("1002", "Marketing Manager"),
            ("user", "User (no role)")
        ]
    );
    let m = c
        .invite(
            &ctx,
            &s,
            &Invitation {
                name: Some("Ana Lima".into()),
                ..invitation("rep@example.com", "1001")
            },
        )
        .await
        .unwrap();
    assert_eq!(m.roles, ["1001"]);
    let id: u64 = m.app_member_id.parse().unwrap();
    assert_eq!(hs.user(id).unwrap()["firstName"], "Ana");
    let after = c
        .update_role(&ctx, &s, &m.app_member_id, "1002")
        .await
        .unwrap();
    assert_eq!(after.roles, ["1002"]);
    assert_eq!(hs.user(id).unwrap()["roleId"], "1002");
    let plain = c
        .update_role(&ctx, &s, &m.app_member_id, "user")
        .await
        .unwrap();
    assert_eq!(
        (plain.roles.clone(), hs.user(id).unwrap()["roleId"].clone()),
        (vec!["user".to_owned()], json!(null))
    );
    let err = c
        .update_role(&ctx, &s, &m.app_member_id, "super_admin")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(e) if e.contains("super admins")),
        "{err}"
    );
    let owner = c.get_member(&ctx, &s, "1").await.unwrap().unwrap();
    assert_eq!(owner.roles, ["super_admin"]);
}

/// 250 users take three calls of 100 (`paging.next.after`); removal deletes the user.
#[tokio::test]
async fn users_are_listed_a_hundred_a_call_and_removed() {
    let hs = HubSpot::start();
    for i in 0..248 {
        hs.seed(&format!("u{i}@example.com"), Some("1001"));
    }
    let c = connector();
    let ctx = token_context(&hs.base_url, "private-app", &hs.admin_token);
    let s = session(&*c, &ctx).await;
    let before = hs.served();
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages, hs.served() - before), (250, 3, 3));
    let m = c
        .find_by_email(&ctx, &s, "U7@Example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.roles, ["1001"]);
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert!(hs.user(m.app_member_id.parse().unwrap()).is_none());
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
}

/// A token without `settings.users.write` is refused at sign-in; a wrong one is
/// `BadCredentials`; HubSpot's `MISSING_SCOPES` body on a write is `InsufficientPermission` with
/// its correlation id.
#[tokio::test]
async fn scopes_are_checked_and_error_bodies_mapped() {
    let hs = HubSpot::start();
    let c = connector();
    let reader = token_context(&hs.base_url, "private-app", &hs.read_only_token);
    let err = c.login(&reader).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("settings.users.write")),
        "{err}"
    );
    let wrong = token_context(&hs.base_url, "private-app", "pat-na1-wrong");
    assert!(
        matches!(c.login(&wrong).await, Err(ConnectorError::BadCredentials(m)) if !m.contains("pat-na1-wrong"))
    );
    let s = AppSession {
        token: SecretString::from(hs.read_only_token.clone()),
        data: json!({ "user_id": "2" }),
    };
    let err = c
        .invite(&reader, &s, &invitation("x@example.com", "user"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m)
            if m.contains("required scopes") && m.contains("00000000-0000-4000-8000")),
        "{err}"
    );
}

/// HubSpot's 429 names its policy, not a `Retry-After`: reads are retried after the ten seconds
/// of `TEN_SECONDLY_ROLLING`, then `RateLimited` with that wait.
#[tokio::test]
async fn hubspots_429_waits_for_its_policy() {
    let hs = HubSpot::start();
    let c = connector();
    let ctx = token_context(&hs.base_url, "private-app", &hs.admin_token);
    let s = session(&*c, &ctx).await;
    hs.set_rate_limit(0);
    let before = hs.served();
    let started = std::time::Instant::now();
    let got = c.list_members(&ctx, &s, None).await;
    assert_eq!(
        got.map(|p| p.members.len()),
        Err(ConnectorError::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(10))
        })
    );
    assert_eq!(hs.served() - before, 3, "three attempts");
    assert!(started.elapsed() >= std::time::Duration::from_secs(20));
}
