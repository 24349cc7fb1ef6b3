//! The Freshdesk connector against its stand-in (`castellan_standins::freshdesk`, written from
//! Freshdesk's API v2 reference; Freshdesk cannot run here): the conformance suite, then what
//! only Freshdesk has (agents a hundred a call following the `Link` header, roles by key and
//! custom roles by id as `GET /roles` sends them, the Agent's key refused, removal that leaves a
//! contact and invitations that convert contacts, the ticket scope setting, Freshdesk's error
//! bodies and its 429).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test
//! freshdesk`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{assert_rate_limited, invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::freshdesk::{self, TICKET_SCOPE};
use castellan_connectors::Registry;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState, SignIn,
};
use castellan_standins::freshdesk::Freshdesk;
use secrecy::SecretString;
use serde_json::json;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(freshdesk::NAME)
        .expect("freshdesk is registered")
}

/// The conformance fixture: its own stand-in, the Account Administrator's API key as the
/// automation account's, an Agent's as the account without admin rights; seeded members are
/// activated agents with the Agent role.
fn fixture(fd: &Freshdesk) -> TokenFixture {
    let seeder = fd.clone();
    TokenFixture::new(
        connector(),
        &fd.base_url,
        "",
        &fd.admin_key,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "Agent");
        },
    )
    .non_admin(&fd.agent_key)
    .automation_member(&fd.admin_id)
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&Freshdesk::start())).await;
    assert!(report.failures().is_empty());
}

// ---- what only Freshdesk has -------------------------------------------------------------------

fn admin(fd: &Freshdesk) -> ConnectorContext {
    token_context(&fd.base_url, "", &fd.admin_key)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin's key signs in")
}

fn custom() -> String {
    Freshdesk::role_id("Billing Specialist")
        .unwrap()
        .to_string()
}

#[test]
fn it_is_registered_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(
        (
            info.sign_in,
            info.roles.join(" "),
            info.default_role.as_str()
        ),
        (
            SignIn::ApiToken,
            "account_admin admin supervisor agent".into(),
            "agent"
        )
    );
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "api_token",
            TICKET_SCOPE,
            "requests_per_second",
            "allow_private"
        ]
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "freshdesk").unwrap();
    assert_eq!(app.connector.as_deref(), Some(freshdesk::NAME));
    assert_eq!(
        (&app.roles, &app.capabilities),
        (&info.roles, &info.capabilities)
    );
}

/// 248 agents and the two accounts take three calls of a hundred, each page found in the
/// previous one's `Link` header; roles by key, a custom role by its id; contacts are no agents.
#[tokio::test]
async fn agents_are_listed_a_hundred_a_call_with_their_roles() {
    let fd = Freshdesk::start();
    for i in 0..247 {
        fd.seed(&format!("a{i}@example.com"), "Agent", "Agent");
    }
    fd.seed("billing@example.com", "Bill", "Billing Specialist");
    fd.seed_contact("customer@example.com", "A customer");
    let c = connector();
    let ctx = admin(&fd);
    let s = session(&*c, &ctx).await;
    let before = fd.served();
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages, fd.served() - before), (250, 3, 3));
    let roles = |email: &str| {
        let m = all.iter().find(|m| m.email.as_deref() == Some(email));
        m.map(|m| m.roles.join(" "))
    };
    assert_eq!(
        roles("admin@standin.test").as_deref(),
        Some("account_admin")
    );
    assert_eq!(roles("a7@example.com").as_deref(), Some("agent"));
    assert_eq!(roles("billing@example.com"), Some(custom()));
    assert_eq!(roles("customer@example.com"), None, "a contact is no agent");
}

/// The roles are the account's, as `GET /roles` sends them; a member is given a custom role by
/// its id, then a default role by its key, one `PUT` each, and Freshdesk holds their ids.
#[tokio::test]
async fn roles_are_the_accounts_as_sent() {
    let fd = Freshdesk::start();
    let c = connector();
    let ctx = admin(&fd);
    let s = session(&*c, &ctx).await;
    let roles = c.list_roles(&ctx, &s).await.unwrap();
    let got: Vec<(&str, &str)> = roles
        .iter()
        .map(|r| (r.role.as_str(), r.label.as_str()))
        .collect();
    let billing = custom();
    assert_eq!(
        got,
        [
            ("account_admin", "Account Administrator"),
            ("admin", "Administrator"),
            ("supervisor", "Supervisor"),
            ("agent", "Agent"),
            (billing.as_str(), "Billing Specialist"),
        ]
    );
    let m = c
        .invite(&ctx, &s, &invitation("rep@example.com", &billing))
        .await
        .unwrap();
    assert_eq!(
        (m.roles.clone(), m.state),
        (vec![billing.clone()], MemberState::Invited)
    );
    let id: u64 = m.app_member_id.parse().unwrap();
    let raw = fd.agent(id).unwrap();
    assert_eq!(
        (raw["role_ids"].clone(), raw["ticket_scope"].clone()),
        (json!([billing.parse::<u64>().unwrap()]), json!(1))
    );
    let after = c
        .update_role(&ctx, &s, &m.app_member_id, "supervisor")
        .await
        .unwrap();
    assert_eq!(after.roles, ["supervisor"]);
    let supervisor = Freshdesk::role_id("Supervisor").unwrap();
    assert_eq!(fd.agent(id).unwrap()["role_ids"], json!([supervisor]));
}

/// The Agent's key signs in but may not manage agents; a wrong key is `BadCredentials`,
/// not repeated.
#[tokio::test]
async fn the_agent_is_refused() {
    let fd = Freshdesk::start();
    let c = connector();
    let agent = token_context(&fd.base_url, "", &fd.agent_key);
    let err = c.login(&agent).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m)
            if m.contains("Administrator") && m.contains("not authorized")),
        "{err}"
    );
    let wrong = token_context(&fd.base_url, "", "fd-wrong-key");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if !m.contains("fd-wrong-key")),
        "{err}"
    );
}

/// Removal deletes the agent, who is a contact after; inviting the address again converts the
/// contact back (same id, the role asked for), as it does a customer's; new agents get the
/// hub's ticket scope.
#[tokio::test]
async fn removal_leaves_a_contact_and_invitations_convert_contacts() {
    let fd = Freshdesk::start();
    let c = connector();
    let mut ctx = admin(&fd);
    ctx.settings
        .insert(TICKET_SCOPE.into(), "restricted".into());
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("Ana@Example.com", "agent"))
        .await
        .unwrap();
    let id: u64 = m.app_member_id.parse().unwrap();
    assert_eq!(fd.agent(id).unwrap()["ticket_scope"], 3);
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert!(fd.agent(id).is_none());
    assert_eq!(fd.contact(id).unwrap()["email"], "ana@example.com");
    let gone = c
        .get_member(&ctx, &s, &m.app_member_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (gone.state, gone.roles.len()),
        (MemberState::Deactivated, 0)
    );
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();

    let back = c
        .invite(&ctx, &s, &invitation("ana@example.com", "supervisor"))
        .await
        .unwrap();
    assert_eq!(
        (back.app_member_id.as_str(), back.roles.join(" ")),
        (m.app_member_id.as_str(), "supervisor".into())
    );
    let customer = fd.seed_contact("client@example.com", "Client");
    let agent = c
        .invite(&ctx, &s, &invitation("client@example.com", "agent"))
        .await
        .unwrap();
    assert_eq!(
        (agent.app_member_id, agent.state),
        (customer.to_string(), MemberState::Active)
    );
    ctx.settings
        .insert(TICKET_SCOPE.into(), "everything".into());
    assert!(matches!(
        c.list_members(&ctx, &s, None).await,
        Err(ConnectorError::Configuration(m)) if m.contains(TICKET_SCOPE)
    ));
}

/// Freshdesk's own error bodies reach the errors: the Agent's 403 `access_denied` on a write
/// is `InsufficientPermission` with Freshdesk's words, and nobody is made.
#[tokio::test]
async fn freshdesk_error_bodies_are_mapped() {
    let fd = Freshdesk::start();
    let c = connector();
    let ctx = token_context(&fd.base_url, "", &fd.agent_key);
    let s = AppSession {
        token: SecretString::from(fd.agent_key.clone()),
        data: json!({ "agent_id": "2", "roles": {"agent": "43000000104"} }),
    };
    let err = c
        .invite(&ctx, &s, &invitation("new@example.com", "agent"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("not authorized")),
        "{err}"
    );
    let found = c.find_by_email(&ctx, &s, "new@example.com").await.unwrap();
    assert_eq!(found, None, "nobody was made");
}

/// Past the account's per-minute budget, reads are `RateLimited` with Freshdesk's
/// `Retry-After` (the rest of the minute: more than the SDK waits in one call).
#[tokio::test]
async fn freshdesks_429_carries_its_retry_after() {
    let fd = Freshdesk::start();
    let c = connector();
    let ctx = admin(&fd);
    let s = session(&*c, &ctx).await;
    fd.set_rate_limit(0);
    let (half, minute) = (Duration::from_secs(30), Duration::from_secs(60));
    assert_rate_limited(c.list_members(&ctx, &s, None).await, half, minute);
}
