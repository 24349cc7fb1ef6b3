//! The Meta Business Manager connector against its stand-in (`castellan_standins::meta`,
//! written from Meta's Graph API reference; Meta cannot run here): the conformance suite through
//! [`MetaFixture`] (with its Page as the resource), then what only Meta has (business users and
//! pending invitations over pages, invitations shown as invited, Page and ad account task sets
//! as roles, Graph error bodies, throttles with the wait Meta's usage headers estimate).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test meta`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::meta::{self, ADMIN, EMPLOYEE};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState,
    ResourceGrant,
};
use castellan_standins::meta::{Meta, BUSINESS};

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(meta::NAME)
        .expect("meta_business is registered")
}

fn context(base_url: &str, token: &str) -> ConnectorContext {
    let mut ctx = token_context(base_url, "system user", token);
    ctx.organization_id = Some(BUSINESS.to_owned());
    ctx
}

/// The conformance fixture: its own stand-in whose invitees accept at once (the suite grants a
/// Page role right after an invitation, and Meta assigns assets to business users only), the
/// admin system user's token as the automation account's, the employee system user's as the
/// account without admin rights, the business's Page as the resource.
fn fixture(meta: &Meta) -> TokenFixture {
    let seeder = meta.clone();
    TokenFixture::new(
        connector(),
        &meta.base_url,
        "system user",
        &meta.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "EMPLOYEE");
        },
    )
    .organization(BUSINESS)
    .non_admin(&meta.employee_token)
    .resource(&meta.page_id)
}

#[tokio::test]
async fn conformance() {
    let meta = Meta::start();
    meta.accept_at_once(true);
    let report = castellan_conformance::run(&fixture(&meta)).await;
    assert!(report.failures().is_empty());
    assert!(
        report.passed("resource roles"),
        "{:?}",
        report.outcome("resource roles")
    );
}

// ---- what only Meta has ------------------------------------------------------------------------

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin system user signs in")
}

#[test]
fn it_is_registered_with_resources_and_matches_the_catalog() {
    let info = connector().describe();
    assert!(info.can(Capability::ResourceRoles) && info.can(Capability::ListResources));
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("admin employee".into(), EMPLOYEE)
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps
        .iter()
        .find(|a| a.id.as_str() == "meta-business-suite")
        .unwrap();
    assert_eq!(app.connector.as_deref(), Some(meta::NAME));
    assert_eq!(app.roles, info.roles);
    assert!(app.capabilities.contains(&Capability::ResourceRoles));
}

/// 230 business users and 120 pending invitations: three pages of users and two of
/// invitations (`after` while `paging.next` is there); invitations are `invited`.
#[tokio::test]
async fn business_users_then_invitations_are_listed_over_pages() {
    let meta = Meta::start();
    for i in 0..229 {
        meta.seed(&format!("u{i}@example.com"), "User", "EMPLOYEE");
    }
    meta.seed("boss@example.com", "Boss", "ADMIN");
    let c = connector();
    let ctx = context(&meta.base_url, &meta.admin_token);
    let s = session(&*c, &ctx).await;
    for i in 0..120 {
        let inv = invitation(&format!("inv{i}@example.com"), EMPLOYEE);
        let m = c.invite(&ctx, &s, &inv).await.unwrap();
        assert_eq!(m.state, MemberState::Invited);
    }
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (230 + 120, 5));
    let invited = all.iter().filter(|m| m.state == MemberState::Invited);
    assert_eq!(invited.count(), 120);
    let admins = all.iter().filter(|m| m.roles == [ADMIN]).count();
    assert_eq!(admins, 1);
}

/// A pending invitation is shown as invited, takes a role change and is cancelled on removal;
/// it cannot be given a Page until the person accepts.
#[tokio::test]
async fn a_pending_invitation_is_invited_changed_and_cancelled() {
    let meta = Meta::start();
    let c = connector();
    let ctx = context(&meta.base_url, &meta.admin_token);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("Pending@Example.com", EMPLOYEE))
        .await
        .unwrap();
    assert!(m.app_member_id.starts_with("invitation:"), "{m:?}");
    assert_eq!(m.state, MemberState::Invited);
    let found = c
        .find_by_email(&ctx, &s, "pending@example.com")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&m));
    let m = c
        .update_role(&ctx, &s, &m.app_member_id, "admin")
        .await
        .unwrap();
    assert_eq!(m.roles, [ADMIN]);
    let grant = ResourceGrant {
        resource_id: meta.page_id.clone(),
        app_member_id: m.app_member_id.clone(),
        role: "analyst".into(),
    };
    let err = c.grant_resource_role(&ctx, &s, &grant).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Conflict(m) if m.contains("accepted")),
        "{err}"
    );
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert_eq!(
        meta.invitation_status("pending@example.com").as_deref(),
        Some("CANCELED")
    );
    assert!(c
        .get_member(&ctx, &s, &m.app_member_id)
        .await
        .unwrap()
        .is_none());
}

/// Roles on Pages and ad accounts are Meta's task sets: an editor holds CREATE_CONTENT,
/// MODERATE, ADVERTISE and ANALYZE on the Page; an ad account analyst ANALYZE; a change
/// replaces the set; a revocation empties it.
#[tokio::test]
async fn resource_roles_are_task_sets() {
    let meta = Meta::start();
    let c = connector();
    let ctx = context(&meta.base_url, &meta.admin_token);
    let s = session(&*c, &ctx).await;
    let ana = meta.seed("ana@example.com", "Ana", "EMPLOYEE");
    let page = c.list_resources(&ctx, &s, None).await.unwrap();
    assert_eq!(page.resources[0].kind, "page");
    assert_eq!(page.resources[0].roles[..2], ["admin", "editor"]);
    let accounts = c.list_resources(&ctx, &s, page.next.clone()).await.unwrap();
    assert_eq!(accounts.resources[0].resource_id, meta.ad_account_id);
    assert_eq!(
        accounts.resources[0].roles,
        ["admin", "advertiser", "analyst"]
    );
    assert!(accounts.next.is_none());

    let grant = |resource: &str, role: &str| ResourceGrant {
        resource_id: resource.to_owned(),
        app_member_id: ana.clone(),
        role: role.to_owned(),
    };
    c.grant_resource_role(&ctx, &s, &grant(&meta.page_id, "editor"))
        .await
        .unwrap();
    assert_eq!(
        meta.tasks(&meta.page_id, &ana),
        ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE"]
    );
    c.grant_resource_role(&ctx, &s, &grant(&meta.ad_account_id, "analyst"))
        .await
        .unwrap();
    assert_eq!(meta.tasks(&meta.ad_account_id, &ana), ["ANALYZE"]);
    c.grant_resource_role(&ctx, &s, &grant(&meta.page_id, "advertiser"))
        .await
        .unwrap();
    assert_eq!(meta.tasks(&meta.page_id, &ana), ["ADVERTISE", "ANALYZE"]);
    let held = c
        .list_resource_members(&ctx, &s, &meta.page_id, None)
        .await
        .unwrap();
    assert_eq!(held.members[0].roles, ["advertiser"]);
    let bad = c
        .grant_resource_role(&ctx, &s, &grant(&meta.ad_account_id, "editor"))
        .await;
    assert!(matches!(bad, Err(ConnectorError::Configuration(_))));
    c.revoke_resource_role(&ctx, &s, &meta.page_id, &ana)
        .await
        .unwrap();
    assert!(meta.tasks(&meta.page_id, &ana).is_empty());
}

/// The employee system user is refused at sign-in and its writes with Graph's words; a wrong
/// token is `BadCredentials` with Meta's trace id, never the token.
#[tokio::test]
async fn graph_errors_are_mapped() {
    let meta = Meta::start();
    let c = connector();
    let employee = context(&meta.base_url, &meta.employee_token);
    let err = c.login(&employee).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("EMPLOYEE")),
        "{err}"
    );
    let admin = context(&meta.base_url, &meta.admin_token);
    let s = session(&*c, &admin).await;
    let s_employee = AppSession {
        token: secrecy::SecretString::from(meta.employee_token.clone()),
        ..s.clone()
    };
    let err = c
        .invite(
            &employee,
            &s_employee,
            &invitation("x@example.com", EMPLOYEE),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("(#200)")),
        "{err}"
    );
    let wrong = context(&meta.base_url, "EAAnope");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("AStandInTrace") && !m.contains("EAAnope")),
        "{err}"
    );
    let mut no_business = admin.clone();
    no_business.organization_id = None;
    assert!(matches!(
        c.login(&no_business).await,
        Err(ConnectorError::Configuration(_))
    ));
}

/// A throttle (400, code 17) is `RateLimited` with the wait of `X-Business-Use-Case-Usage`
/// (`estimated_time_to_regain_access`, in minutes).
#[tokio::test]
async fn throttles_wait_as_metas_usage_headers_say() {
    let meta = Meta::start();
    let c = connector();
    let ctx = context(&meta.base_url, &meta.admin_token);
    let s = session(&*c, &ctx).await;
    meta.set_rate_limit(0);
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => assert_eq!(d, Duration::from_secs(60)),
        other => panic!("{other:?}"),
    }
}
