//! The Asana connector against its stand-in (`castellan_standins::asana`, written from Asana's
//! API reference; Asana cannot run here): the conformance suite through [`fixture`] (with a team
//! as the resource), then what only Asana has (workspace memberships over offset pages with
//! their `opt_fields`, roles as Asana shows them and never set, guests made by the invitee's
//! domain, teams, Asana's error bodies, 429 with `Retry-After`).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test asana`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::asana::{self, ADMIN, GUEST, MEMBER};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, ResourceGrant,
};
use castellan_standins::asana::{Asana, WORKSPACE};
use secrecy::SecretString;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(asana::NAME)
        .expect("asana is registered")
}

fn context(base_url: &str, token: &str) -> ConnectorContext {
    let mut ctx = token_context(base_url, "admin", token);
    ctx.organization_id = Some(WORKSPACE.to_owned());
    ctx
}

/// The conformance fixture: its own stand-in, the admin's token as the automation account's, a
/// plain member's as the account without admin rights, the team `Marketing` as the resource;
/// pages of 100, so 260 seeded members make three.
fn fixture(asana: &Asana) -> TokenFixture {
    let seeder = asana.clone();
    TokenFixture::new(
        connector(),
        &asana.base_url,
        "admin",
        &asana.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), MEMBER);
        },
    )
    .organization(WORKSPACE)
    .non_admin(&asana.member_token)
    .resource(&asana.team_gid)
    .listing_size(260)
    .automation_member(&asana.admin_gid)
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&Asana::start())).await;
    assert!(report.failures().is_empty());
    assert!(
        report.passed("resource roles"),
        "{:?}",
        report.outcome("resource roles")
    );
}

// ---- what only Asana has -----------------------------------------------------------------------

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin's token signs in")
}

#[test]
fn it_is_registered_without_role_changes_and_matches_the_catalog() {
    let info = connector().describe();
    assert!(!info.can(Capability::UpdateRole) && info.can(Capability::ResourceRoles));
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("member".into(), MEMBER)
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "asana").unwrap();
    assert_eq!(app.connector.as_deref(), Some(asana::NAME));
    assert_eq!(app.roles, [ADMIN, MEMBER, GUEST]);
    assert_eq!(app.capabilities, info.capabilities);
}

/// 250 seeded members, an admin and a guest besides the two of the stand-in, over three offset
/// pages of 100, with the emails and roles `opt_fields` asked for; a removed user is left out.
#[tokio::test]
async fn memberships_are_listed_over_offset_pages_with_their_roles() {
    let asana = Asana::start();
    for i in 0..250 {
        asana.seed(&format!("m{i}@example.com"), "Member", MEMBER);
    }
    asana.seed("boss@example.com", "Boss", ADMIN);
    asana.seed("visitor@elsewhere.org", "Visitor", GUEST);
    let c = connector();
    let ctx = context(&asana.base_url, &asana.admin_token);
    let s = session(&*c, &ctx).await;
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (254, 3));
    let roles = |r: &str| all.iter().filter(|m| m.roles == [r]).count();
    assert_eq!((roles(ADMIN), roles(MEMBER), roles(GUEST)), (2, 251, 1));
    assert!(all
        .iter()
        .all(|m| m.email.as_deref().is_some_and(|e| e.contains('@'))));
    let gone = asana.seed("gone@example.com", "Gone", MEMBER);
    c.remove(&ctx, &s, &gone).await.unwrap();
    assert_eq!(asana.user("gone@example.com").map(|u| u.1), Some(false));
    let (all, _) = list_all(&*c, &ctx, &s).await.unwrap();
    assert!(all.iter().all(|m| m.app_member_id != gone));
    assert!(c.get_member(&ctx, &s, &gone).await.unwrap().is_none());
}

/// Asana's API sets no role: admin and guest are `Unsupported` before anything is sent, another
/// role is `Configuration`; an address outside the organization's domains joins as a guest,
/// which the connector says rather than hides.
#[tokio::test]
async fn roles_are_never_set_and_outsiders_join_as_guests() {
    let asana = Asana::start();
    let c = connector();
    let ctx = context(&asana.base_url, &asana.admin_token);
    let s = session(&*c, &ctx).await;
    let admin = c
        .invite(&ctx, &s, &invitation("a@example.com", ADMIN))
        .await;
    assert!(
        matches!(admin, Err(ConnectorError::Unsupported(_))),
        "{admin:?}"
    );
    assert!(asana.user("a@example.com").is_none());
    let bob = asana.seed("bob@example.com", "Bob", MEMBER);
    let err = c.update_role(&ctx, &s, &bob, GUEST).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err}");
    let bad = c.update_role(&ctx, &s, &bob, "owner").await;
    assert!(
        matches!(bad, Err(ConnectorError::Configuration(_))),
        "{bad:?}"
    );
    let err = c
        .invite(&ctx, &s, &invitation("Out@Elsewhere.org", MEMBER))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unsupported(m) if m.contains("out@elsewhere.org (guest)")),
        "{err}"
    );
    let (_, active, _, guest) = asana.user("out@elsewhere.org").unwrap();
    assert!(active && guest);
    let again = c
        .invite(&ctx, &s, &invitation("out@elsewhere.org", MEMBER))
        .await
        .unwrap();
    assert_eq!(again.roles, [GUEST]);
}

/// Teams are the resources, `member` their one role; a grant and a revocation act once each, and
/// removing a user takes them out of their teams.
#[tokio::test]
async fn team_memberships_are_granted_and_revoked() {
    let asana = Asana::start();
    let c = connector();
    let ctx = context(&asana.base_url, &asana.admin_token);
    let s = session(&*c, &ctx).await;
    let page = c.list_resources(&ctx, &s, None).await.unwrap();
    let team = &page.resources[0];
    assert_eq!(
        (team.kind.as_str(), team.roles.join(" ")),
        ("team", MEMBER.to_owned())
    );
    let cy = asana.seed("cy@example.com", "Cy", MEMBER);
    let grant = |role: &str| ResourceGrant {
        resource_id: asana.team_gid.clone(),
        app_member_id: cy.clone(),
        role: role.into(),
    };
    let bad = c.grant_resource_role(&ctx, &s, &grant("admin")).await;
    assert!(
        matches!(bad, Err(ConnectorError::Configuration(_))),
        "{bad:?}"
    );
    for _ in 0..2 {
        c.grant_resource_role(&ctx, &s, &grant(MEMBER))
            .await
            .unwrap();
    }
    assert!(asana.in_team(&asana.team_gid, &cy));
    let held = c
        .list_resource_members(&ctx, &s, &asana.team_gid, None)
        .await
        .unwrap();
    assert_eq!(held.members.len(), 2);
    for _ in 0..2 {
        c.revoke_resource_role(&ctx, &s, &asana.team_gid, &cy)
            .await
            .unwrap();
    }
    assert!(!asana.in_team(&asana.team_gid, &cy));
    c.grant_resource_role(&ctx, &s, &grant(MEMBER))
        .await
        .unwrap();
    c.remove(&ctx, &s, &cy).await.unwrap();
    assert!(!asana.in_team(&asana.team_gid, &cy));
}

/// A member's token is refused at sign-in and by Asana at removal (its 403 body in the error);
/// a wrong token is `BadCredentials`; 429 is `RateLimited` with `Retry-After`'s wait.
#[tokio::test]
async fn asanas_errors_and_rate_limits_are_mapped() {
    let asana = Asana::start();
    let c = connector();
    let member = context(&asana.base_url, &asana.member_token);
    let err = c.login(&member).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("Asana member")),
        "{err}"
    );
    let ctx = context(&asana.base_url, &asana.admin_token);
    let s = session(&*c, &ctx).await;
    let as_member = AppSession {
        token: SecretString::from(asana.member_token.clone()),
        ..s.clone()
    };
    let dan = asana.seed("dan@example.com", "Dan", MEMBER);
    let err = c.remove(&member, &as_member, &dan).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("Forbidden")),
        "{err}"
    );
    let wrong = context(&asana.base_url, "2/0/nope");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if m.contains("Not Authorized") && !m.contains("nope")),
        "{err}"
    );
    asana.set_rate_limit(0);
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => assert!(d > Duration::from_secs(30), "{d:?}"),
        other => panic!("{other:?}"),
    }
}
