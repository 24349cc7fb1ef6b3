//! The Zendesk connector against its stand-in (`castellan_standins::zendesk`, written from
//! Zendesk's Users API reference; Zendesk cannot run here): the conformance suite through
//! [`ZendeskFixture`], then what only Zendesk has (agents and admins listed a hundred a call,
//! roles as on the wire, removal as a downgrade to `end-user` and a suspension, keep-seat as a
//! suspension, OAuth tokens, the agent's token refused, Zendesk's error bodies and 429s).
//!
//! Each test starts its own stand-in (in memory, on a loopback port); members are seeded
//! straight into it, out of band. Run: `cargo test -p castellan-connectors --test zendesk`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::zendesk::{self, AUTH_OAUTH, AUTH_WITH};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::ALLOW_PRIVATE;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState, SignIn,
};
use castellan_standins::zendesk::Zendesk;
use secrecy::SecretString;
use serde_json::json;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(zendesk::NAME)
        .expect("zendesk is registered")
}

/// The conformance suite's fixture: its own stand-in, the admin's API token as the automation
/// account's, the agent's as the account without admin rights; seeded members are agents, made
/// as an admin would in Zendesk's own pages.
fn fixture(zd: &Zendesk) -> TokenFixture {
    let seeder = zd.clone();
    TokenFixture::new(
        connector(),
        &zd.base_url,
        &zd.admin_email,
        &zd.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "agent");
        },
    )
    .non_admin_as(&zd.agent_email, &zd.agent_token)
    .automation_member(&zd.admin_id.to_string())
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&Zendesk::start())).await;
    assert!(report.failures().is_empty());
}

// ---- what only Zendesk has ---------------------------------------------------------------------

fn admin(zd: &Zendesk) -> ConnectorContext {
    token_context(&zd.base_url, &zd.admin_email, &zd.admin_token)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin's token signs in")
}

#[test]
fn it_is_registered_with_its_settings_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(info.sign_in, SignIn::UsernameAndToken);
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("admin agent".into(), "agent")
    );
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "api_token",
            AUTH_WITH,
            "requests_per_second",
            "allow_private"
        ]
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "zendesk").unwrap();
    assert_eq!(app.connector.as_deref(), Some(zendesk::NAME));
    assert_eq!(app.roles, info.roles);
    assert!(app.capabilities.contains(&Capability::KeepSeat));
}

/// A SaaS hub reaches public addresses only, unless it allows private ones.
#[tokio::test]
async fn a_hub_reaches_loopback_only_when_it_allows_private_addresses() {
    let zd = Zendesk::start();
    let mut ctx = admin(&zd);
    ctx.settings.remove(ALLOW_PRIVATE);
    let err = connector().login(&ctx).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(m) if m.contains("allow_private")),
        "{err}"
    );
}

/// Agents and admins only (end users are customers, no seat), a hundred a call: 150 agents and
/// the two accounts take two calls; roles as Zendesk sends them.
#[tokio::test]
async fn agents_and_admins_are_listed_a_hundred_a_call_with_their_roles() {
    let zd = Zendesk::start();
    for i in 0..150 {
        zd.seed(&format!("agent{i}@example.com"), "Agent", "agent");
    }
    zd.seed("boss@example.com", "Boss", "admin");
    for i in 0..5 {
        zd.seed(&format!("customer{i}@example.com"), "Customer", "end-user");
    }
    let c = connector();
    let ctx = admin(&zd);
    let s = session(&*c, &ctx).await;
    let before = zd.served();
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (153, 2));
    assert_eq!(zd.served() - before, 2, "one request a page");
    assert!(all
        .iter()
        .all(|m| m.roles == ["agent"] || m.roles == ["admin"]));
    let boss = all
        .iter()
        .find(|m| m.email.as_deref() == Some("boss@example.com"))
        .unwrap();
    assert_eq!(
        (boss.roles[0].as_str(), boss.state),
        ("admin", MemberState::Active)
    );
    assert!(!all
        .iter()
        .any(|m| m.email.as_deref().unwrap_or("").starts_with("customer")));
}

/// The agent's token signs in but may not manage agents; a wrong token is refused without
/// repeating it; the admin's OAuth token signs in as Bearer.
#[tokio::test]
async fn the_agent_is_refused_and_oauth_tokens_sign_in() {
    let zd = Zendesk::start();
    let c = connector();
    let agent = token_context(&zd.base_url, &zd.agent_email, &zd.agent_token);
    let err = c.login(&agent).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("agent")),
        "{err}"
    );
    let wrong = token_context(&zd.base_url, &zd.admin_email, "not-the-token");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::BadCredentials(m) if !m.contains("not-the-token")));
    let mut oauth = token_context(&zd.base_url, "", &zd.oauth_token);
    oauth.settings.insert(AUTH_WITH.into(), AUTH_OAUTH.into());
    let s = c.login(&oauth).await.expect("the OAuth token signs in");
    c.verify_permissions(&oauth, &s).await.unwrap();
    let no_email = token_context(&zd.base_url, " ", &zd.admin_token);
    assert!(matches!(
        c.login(&no_email).await,
        Err(ConnectorError::Configuration(_))
    ));
}

/// Zendesk's own error bodies reach the errors: the agent's 403 `{"error": {"title", "message"}}`
/// on a write is `InsufficientPermission` with Zendesk's words.
#[tokio::test]
async fn zendesk_error_bodies_are_mapped() {
    let zd = Zendesk::start();
    let c = connector();
    let agent = token_context(&zd.base_url, &zd.agent_email, &zd.agent_token);
    let s = AppSession {
        token: SecretString::from(zd.agent_token.clone()),
        data: json!({ "user_id": 2 }),
    };
    let err = c
        .invite(&agent, &s, &invitation("new@example.com", "agent"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m)
            if m.contains("Forbidden") && m.contains("do not have access")),
        "{err}"
    );
    assert!(zd.user(1000).is_none(), "nobody was made");
}

/// Past Zendesk's per-minute limit, reads are `RateLimited` with the `Retry-After` Zendesk
/// sent (a minute: more than the SDK waits in one call).
#[tokio::test]
async fn zendesks_own_429_carries_its_retry_after() {
    let zd = Zendesk::start();
    let c = connector();
    let ctx = admin(&zd);
    let s = session(&*c, &ctx).await;
    zd.set_rate_limit(0);
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => {
            assert!(
                d > Duration::from_secs(30) && d <= Duration::from_secs(60),
                "{d:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// Removal downgrades to `end-user` and suspends (the seat is freed, the user stays); inviting
/// the address again gives the role back; keep-seat suspends and keeps the role.
#[tokio::test]
async fn removal_downgrades_and_keep_seat_suspends() {
    let zd = Zendesk::start();
    let c = connector();
    let ctx = admin(&zd);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("Ana@Example.com", "admin"))
        .await
        .unwrap();
    assert_eq!(
        (m.roles[0].as_str(), m.state),
        ("admin", MemberState::Invited)
    );
    let id: u64 = m.app_member_id.parse().unwrap();
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    let raw = zd.user(id).unwrap();
    assert_eq!(
        (raw["role"].as_str(), raw["suspended"].as_bool()),
        (Some("end-user"), Some(true))
    );
    let after = c
        .get_member(&ctx, &s, &m.app_member_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.roles[0].as_str(), after.state),
        ("end-user", MemberState::Deactivated)
    );
    let (all, _) = list_all(&*c, &ctx, &s).await.unwrap();
    assert!(
        !all.iter().any(|x| x.app_member_id == m.app_member_id),
        "no longer a seat"
    );

    let back = c
        .invite(&ctx, &s, &invitation("ana@example.com", "agent"))
        .await
        .unwrap();
    assert_eq!(
        back.app_member_id, m.app_member_id,
        "the same user, upgraded"
    );
    let raw = zd.user(id).unwrap();
    assert_eq!(
        (raw["role"].as_str(), raw["suspended"].as_bool()),
        (Some("agent"), Some(false))
    );

    let kept = c
        .remove_keep_seat(&ctx, &s, &m.app_member_id)
        .await
        .unwrap();
    assert_eq!(
        (kept.roles[0].as_str(), kept.state),
        ("agent", MemberState::Deactivated)
    );
    assert_eq!(zd.user(id).unwrap()["role"], "agent", "the seat stays");

    // A customer who writes in already is upgraded, not made twice.
    let customer = zd.seed("client@example.com", "Client", "end-user");
    let up = c
        .invite(&ctx, &s, &invitation("client@example.com", "agent"))
        .await
        .unwrap();
    assert_eq!(
        (up.app_member_id, up.roles),
        (customer.to_string(), vec!["agent".to_owned()])
    );
    let bad = c
        .invite(&ctx, &s, &invitation("x@example.com", "end-user"))
        .await;
    assert!(
        matches!(bad, Err(ConnectorError::Configuration(_))),
        "end-user is no seat"
    );
}
