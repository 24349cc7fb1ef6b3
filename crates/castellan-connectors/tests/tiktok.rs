//! The TikTok Business Center connector against its stand-in (`castellan_standins::tiktok`,
//! written from TikTok API for Business's reference; TikTok cannot run here): the conformance
//! suite through [`TikTokFixture`] (with its advertiser account as the resource), then what only
//! TikTok has (members and pending invitations over pages, invitations shown as invited,
//! advertiser roles, return codes in the body of a 200, 40100 as a rate limit).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test tiktok`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::tiktok::{self, ADMIN, STANDARD};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState,
    ResourceGrant,
};
use castellan_standins::tiktok::{TikTok, BC_ID};

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(tiktok::NAME)
        .expect("tiktok_business is registered")
}

fn context(base_url: &str, token: &str) -> ConnectorContext {
    let mut ctx = token_context(base_url, "bc admin", token);
    ctx.organization_id = Some(BC_ID.to_owned());
    ctx
}

/// The conformance fixture: its own stand-in whose invitees join at once (the suite grants an
/// advertiser role right after an invitation, and TikTok assigns accounts to members who
/// joined), the admin's token as the automation account's, a standard member's as the account
/// without admin rights, the advertiser account as the resource; pages of 20, so 60 members
/// are three.
fn fixture(tt: &TikTok) -> TokenFixture {
    let seeder = tt.clone();
    TokenFixture::new(
        connector(),
        &tt.base_url,
        "bc admin",
        &tt.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "STANDARD");
        },
    )
    .organization(BC_ID)
    .non_admin(&tt.standard_token)
    .resource(&tt.advertiser_id)
    .listing_size(60)
    .automation_member(&tt.admin_id)
}

#[tokio::test]
async fn conformance() {
    let tt = TikTok::start();
    tt.accept_at_once(true);
    let report = castellan_conformance::run(&fixture(&tt)).await;
    assert!(report.failures().is_empty());
    assert!(
        report.passed("resource roles"),
        "{:?}",
        report.outcome("resource roles")
    );
}

// ---- what only TikTok has ----------------------------------------------------------------------

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin's token signs in")
}

#[test]
fn it_is_registered_with_resources_and_matches_the_catalog() {
    let info = connector().describe();
    assert!(info.can(Capability::ResourceRoles) && info.can(Capability::ListResources));
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("admin standard".into(), STANDARD)
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "tiktok").unwrap();
    assert_eq!(app.connector.as_deref(), Some(tiktok::NAME));
    assert_eq!(app.roles, info.roles);
    assert!(app.capabilities.contains(&Capability::ResourceRoles));
}

/// 48 members who joined (the two accounts included) and 15 pending invitations: four pages
/// of 20; invitations `invited`, named by their address.
#[tokio::test]
async fn members_and_invitations_are_listed_over_pages() {
    let tt = TikTok::start();
    for i in 0..45 {
        tt.seed(&format!("m{i}@example.com"), "Member", "STANDARD");
    }
    tt.seed("boss@example.com", "Boss", "ADMIN");
    let c = connector();
    let ctx = context(&tt.base_url, &tt.admin_token);
    let s = session(&*c, &ctx).await;
    for i in 0..15 {
        let m = c
            .invite(
                &ctx,
                &s,
                &invitation(&format!("inv{i}@example.com"), STANDARD),
            )
            .await
            .unwrap();
        assert_eq!(m.state, MemberState::Invited);
        assert_eq!(m.app_member_id, format!("invitation:inv{i}@example.com"));
    }
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (48 + 15, 4));
    let invited = all.iter().filter(|m| m.state == MemberState::Invited);
    assert_eq!(invited.count(), 15);
    assert_eq!(all.iter().filter(|m| m.roles == [ADMIN]).count(), 2);
}

/// A pending invitation is invited, is sent again with a new role, gets no advertiser account
/// until the person joins, and is cancelled by its address.
#[tokio::test]
async fn a_pending_invitation_is_invited_changed_and_cancelled() {
    let tt = TikTok::start();
    let c = connector();
    let ctx = context(&tt.base_url, &tt.admin_token);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("Pending@Example.com", STANDARD))
        .await
        .unwrap();
    assert_eq!(m.state, MemberState::Invited);
    let m = c
        .update_role(&ctx, &s, &m.app_member_id, "admin")
        .await
        .unwrap();
    assert_eq!(m.roles, [ADMIN]);
    assert_eq!(
        tt.member("pending@example.com").map(|m| (m.1, m.2)),
        Some(("ADMIN".into(), "PENDING".into()))
    );
    let grant = ResourceGrant {
        resource_id: tt.advertiser_id.clone(),
        app_member_id: m.app_member_id.clone(),
        role: "ANALYST".into(),
    };
    let err = c.grant_resource_role(&ctx, &s, &grant).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Conflict(m) if m.contains("accepted")),
        "{err}"
    );
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert!(tt.member("pending@example.com").is_none());
    assert!(c
        .get_member(&ctx, &s, &m.app_member_id)
        .await
        .unwrap()
        .is_none());
}

/// Advertiser roles: a grant sets one, a second replaces it, the listing shows it, a revocation
/// takes it away; another role is refused before anything is sent.
#[tokio::test]
async fn advertiser_roles_are_granted_replaced_and_revoked() {
    let tt = TikTok::start();
    let c = connector();
    let ctx = context(&tt.base_url, &tt.admin_token);
    let s = session(&*c, &ctx).await;
    let ana = tt.seed("ana@example.com", "Ana", "STANDARD");
    let page = c.list_resources(&ctx, &s, None).await.unwrap();
    assert_eq!(page.resources[0].resource_id, tt.advertiser_id);
    assert_eq!(page.resources[0].roles, ["ADMIN", "OPERATOR", "ANALYST"]);
    let grant = |role: &str| ResourceGrant {
        resource_id: tt.advertiser_id.clone(),
        app_member_id: ana.clone(),
        role: role.to_owned(),
    };
    c.grant_resource_role(&ctx, &s, &grant("operator"))
        .await
        .unwrap();
    assert_eq!(
        tt.advertiser_role(&tt.advertiser_id, &ana).as_deref(),
        Some("OPERATOR")
    );
    c.grant_resource_role(&ctx, &s, &grant("ANALYST"))
        .await
        .unwrap();
    let held = c
        .list_resource_members(&ctx, &s, &tt.advertiser_id, None)
        .await
        .unwrap();
    assert_eq!(held.members[0].roles, ["ANALYST"]);
    let bad = c.grant_resource_role(&ctx, &s, &grant("editor")).await;
    assert!(matches!(bad, Err(ConnectorError::Configuration(_))));
    c.revoke_resource_role(&ctx, &s, &tt.advertiser_id, &ana)
        .await
        .unwrap();
    assert_eq!(tt.advertiser_role(&tt.advertiser_id, &ana), None);
}

/// Return codes in the body of an HTTP 200: a standard member is refused at sign-in and at
/// writes (40001), a wrong token is `BadCredentials` (40105) with TikTok's request id.
#[tokio::test]
async fn return_codes_are_mapped() {
    let tt = TikTok::start();
    let c = connector();
    let standard = context(&tt.base_url, &tt.standard_token);
    let err = c.login(&standard).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("STANDARD")),
        "{err}"
    );
    let admin = context(&tt.base_url, &tt.admin_token);
    let s = session(&*c, &admin).await;
    let as_standard = AppSession {
        token: secrecy::SecretString::from(tt.standard_token.clone()),
        ..s
    };
    let err = c
        .invite(
            &standard,
            &as_standard,
            &invitation("x@example.com", STANDARD),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("40001")),
        "{err}"
    );
    let wrong = context(&tt.base_url, "tt-nope");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("40105") && m.contains("request") && !m.contains("tt-nope")),
        "{err}"
    );
}

/// 40100 is `RateLimited` for a minute.
#[tokio::test]
async fn code_40100_is_a_rate_limit() {
    let tt = TikTok::start();
    let c = connector();
    let ctx = context(&tt.base_url, &tt.admin_token);
    let s = session(&*c, &ctx).await;
    tt.set_rate_limit(0);
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => assert_eq!(d, Duration::from_secs(60)),
        other => panic!("{other:?}"),
    }
}
