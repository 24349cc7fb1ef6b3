//! The Atlassian connector against its stand-in (`castellan_standins::atlassian`, written from
//! the reference of Atlassian's organizations REST API; Atlassian cannot run here): the
//! conformance suite through [`fixture`] (with a group as the resource), then what only
//! Atlassian has (directory users over cursor pages with the org admins marked, the org admin
//! role assigned and revoked on the wire, suspension as the kept seat and its restore, groups,
//! another organization's key refused with Atlassian's error body, 429 with `Retry-After`).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test atlassian`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::atlassian::{self, MEMBER, ORG_ADMIN, USER};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState,
    ResourceGrant,
};
use castellan_standins::atlassian::{Atlassian, ORG_ID};

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(atlassian::NAME)
        .expect("atlassian is registered")
}

fn context(at: &Atlassian, key: &str) -> ConnectorContext {
    let mut ctx = token_context(&at.base_url, &at.admin_email, key);
    ctx.organization_id = Some(ORG_ID.to_owned());
    ctx
}

/// The conformance fixture: its own stand-in, the organization's API key as the automation
/// account's (its username the org admin's email), another organization's key as the account
/// without admin rights, the group `jira-software-users` as the resource; pages of 50, so 130
/// seeded members make three.
fn fixture(at: &Atlassian) -> TokenFixture {
    let seeder = at.clone();
    TokenFixture::new(
        connector(),
        &at.base_url,
        &at.admin_email,
        &at.api_key,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), false);
        },
    )
    .organization(ORG_ID)
    .non_admin(&at.other_key)
    .resource(&at.group_id)
    .listing_size(130)
    .automation_member(&at.admin_id)
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&Atlassian::start())).await;
    assert!(report.failures().is_empty());
    assert!(
        report.passed("resource roles"),
        "{:?}",
        report.outcome("resource roles")
    );
}

// ---- what only Atlassian has -------------------------------------------------------------------

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the organization's key signs in")
}

#[test]
fn it_is_registered_with_groups_and_matches_the_catalog() {
    let info = connector().describe();
    assert!(info.can(Capability::ResourceRoles) && info.can(Capability::KeepSeat));
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("organization_admin user".into(), USER)
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "atlassian").unwrap();
    assert_eq!(app.connector.as_deref(), Some(atlassian::NAME));
    assert_eq!(app.roles, info.roles);
    assert_eq!(app.capabilities, info.capabilities);
}

/// 120 seeded users and the two of the stand-in, over three cursor pages of 50; the org admins
/// (the automation account and two more) marked, a suspended one deactivated, a removed one
/// gone.
#[tokio::test]
async fn directory_users_are_listed_over_cursor_pages_with_their_roles() {
    let at = Atlassian::start();
    for i in 0..118 {
        at.seed(&format!("m{i}@example.com"), "Member", false);
    }
    for boss in ["boss1@example.com", "boss2@example.com"] {
        at.seed(boss, "Boss", true);
    }
    let c = connector();
    let ctx = context(&at, &at.api_key);
    let s = session(&*c, &ctx).await;
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (122, 3));
    assert_eq!(all.iter().filter(|m| m.roles == [ORG_ADMIN]).count(), 3);
    let suspended = at.seed("gone-for-now@example.com", "S", false);
    let kept = c.remove_keep_seat(&ctx, &s, &suspended).await.unwrap();
    assert_eq!(kept.state, MemberState::Deactivated);
    let removed = at.seed("gone@example.com", "G", false);
    c.remove(&ctx, &s, &removed).await.unwrap();
    let (all, _) = list_all(&*c, &ctx, &s).await.unwrap();
    let state = |id: &str| all.iter().find(|m| m.app_member_id == id).map(|m| m.state);
    assert_eq!(state(&suspended), Some(MemberState::Deactivated));
    assert_eq!(state(&removed), None);
    assert_eq!(at.user("gone@example.com").unwrap().1, "no_membership");
}

/// The org admin role is assigned and revoked on the wire; the automation account (the hub's
/// username) can be neither demoted nor removed; another role is refused before any call.
/// The automation account is the directory user whose email is the hub's username: a hub
/// whose username is no email, or nobody's, cannot sign in (the guard would protect nobody).
#[tokio::test]
async fn sign_in_needs_the_admin_the_hub_acts_as() {
    let at = Atlassian::start();
    let c = connector();
    for who in ["admin", "nobody@example.com"] {
        let mut ctx = context(&at, &at.api_key);
        ctx.username = who.to_owned();
        let e = c.login(&ctx).await.unwrap_err();
        assert!(
            matches!(&e, ConnectorError::Configuration(m) if m.contains("organization admin the hub acts as")),
            "{who}: {e}"
        );
    }
}

#[tokio::test]
async fn the_org_admin_role_is_assigned_and_revoked() {
    let at = Atlassian::start();
    let c = connector();
    let ctx = context(&at, &at.api_key);
    let s = session(&*c, &ctx).await;
    let ana = at.seed("ana@example.com", "Ana", false);
    let m = c
        .update_role(&ctx, &s, &ana, "Organization_Admin")
        .await
        .unwrap();
    assert_eq!(m.roles, [ORG_ADMIN]);
    assert!(at.user("ana@example.com").unwrap().2);
    c.update_role(&ctx, &s, &ana, USER).await.unwrap();
    assert!(!at.user("ana@example.com").unwrap().2);
    let bad = c.update_role(&ctx, &s, &ana, "site_admin").await;
    assert!(
        matches!(bad, Err(ConnectorError::Configuration(_))),
        "{bad:?}"
    );
    let me = c.update_role(&ctx, &s, &at.admin_id, USER).await;
    assert!(matches!(me, Err(ConnectorError::Conflict(_))), "{me:?}");
    let me = c.remove_keep_seat(&ctx, &s, &at.admin_id).await;
    assert!(matches!(me, Err(ConnectorError::Conflict(_))), "{me:?}");
    assert!(at.user(&at.admin_email).unwrap().2);
}

/// A suspended member keeps their groups; inviting them again restores their access, with the
/// role asked for. A new address gets an account, active at once.
#[tokio::test]
async fn a_suspended_member_is_restored_by_an_invitation() {
    let at = Atlassian::start();
    let c = connector();
    let ctx = context(&at, &at.api_key);
    let s = session(&*c, &ctx).await;
    let bo = at.seed("bo@example.com", "Bo", false);
    let grant = ResourceGrant {
        resource_id: at.group_id.clone(),
        app_member_id: bo.clone(),
        role: MEMBER.into(),
    };
    c.grant_resource_role(&ctx, &s, &grant).await.unwrap();
    c.remove_keep_seat(&ctx, &s, &bo).await.unwrap();
    assert_eq!(at.user("bo@example.com").unwrap().1, "suspended");
    assert!(at.in_group(&at.group_id, &bo));
    let back = c
        .invite(&ctx, &s, &invitation("Bo@Example.com", ORG_ADMIN))
        .await
        .unwrap();
    assert_eq!(
        (back.app_member_id.as_str(), back.state),
        (bo.as_str(), MemberState::Active)
    );
    assert_eq!(back.roles, [ORG_ADMIN]);
    assert_eq!(
        at.user("bo@example.com").unwrap(),
        (bo, "active".into(), true)
    );
    let new = c
        .invite(&ctx, &s, &invitation("new@example.com", USER))
        .await
        .unwrap();
    assert_eq!(
        (new.state, new.roles),
        (MemberState::Active, vec![USER.to_owned()])
    );
}

/// Groups are the resources, `member` their one role; a grant and a revocation act once each,
/// and another role is refused.
#[tokio::test]
async fn group_memberships_are_granted_and_revoked() {
    let at = Atlassian::start();
    let c = connector();
    let ctx = context(&at, &at.api_key);
    let s = session(&*c, &ctx).await;
    let page = c.list_resources(&ctx, &s, None).await.unwrap();
    assert_eq!(page.resources.len(), 1);
    let group = &page.resources[0];
    assert_eq!(
        (group.kind.as_str(), group.roles.join(" ")),
        ("group", MEMBER.to_owned())
    );
    let cy = at.seed("cy@example.com", "Cy", false);
    let grant = |role: &str| ResourceGrant {
        resource_id: at.group_id.clone(),
        app_member_id: cy.clone(),
        role: role.into(),
    };
    let bad = c.grant_resource_role(&ctx, &s, &grant("admin")).await;
    assert!(
        matches!(bad, Err(ConnectorError::Configuration(_))),
        "{bad:?}"
    );
    for _ in 0..2 {
        c.grant_resource_role(&ctx, &s, &grant("MEMBER"))
            .await
            .unwrap();
    }
    assert!(at.in_group(&at.group_id, &cy));
    let held = c
        .list_resource_members(&ctx, &s, &at.group_id, None)
        .await
        .unwrap();
    assert_eq!(held.members.len(), 1);
    for _ in 0..2 {
        c.revoke_resource_role(&ctx, &s, &at.group_id, &cy)
            .await
            .unwrap();
    }
    assert!(!at.in_group(&at.group_id, &cy));
}

/// Another organization's key is refused with Atlassian's code; a wrong key is
/// `BadCredentials` and is not repeated; 429 is `RateLimited` with `Retry-After`'s wait.
#[tokio::test]
async fn atlassians_errors_and_rate_limits_are_mapped() {
    let at = Atlassian::start();
    let c = connector();
    let err = c.login(&context(&at, &at.other_key)).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("ADMIN-403-3")),
        "{err}"
    );
    let err = c.login(&context(&at, "ATATT-nope")).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if !m.contains("ATATT-nope")),
        "{err}"
    );
    let mut no_org = context(&at, &at.api_key);
    no_org.organization_id = None;
    assert!(matches!(
        c.login(&no_org).await,
        Err(ConnectorError::Configuration(_))
    ));
    let ctx = context(&at, &at.api_key);
    let s = session(&*c, &ctx).await;
    at.set_rate_limit(0);
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => assert!(d > Duration::from_secs(30), "{d:?}"),
        other => panic!("{other:?}"),
    }
}
