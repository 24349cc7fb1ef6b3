//! The Pinterest Business Access connector against its stand-in (`castellan_standins::pinterest`,
//! written from Pinterest's API v5 reference and OpenAPI description; Pinterest cannot run here):
//! the conformance suite through [`fixture`] (with an ad account as the resource), then what only
//! Pinterest has (members and pending invitations over bookmarked pages, roles exactly as on the
//! wire, ad account and profile permissions, an employee's token refused, Pinterest's error
//! bodies, its 429 with `X-RateLimit-Reset`).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test pinterest`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all};
use castellan_conformance::TokenFixture;
use castellan_connectors::pinterest::{self, BIZ_ADMIN, EMPLOYEE};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::oauth2::{OAUTH2_CLIENT_ID, OAUTH2_SCOPES, OAUTH2_TOKEN_URL};
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState,
    ResourceGrant, SignIn,
};
use castellan_standins::pinterest::{Pinterest, BUSINESS};

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(pinterest::NAME)
        .expect("pinterest_business is registered")
}

/// The conformance fixture: its own stand-in whose invitees accept at once (the suite grants an
/// ad account permission right after an invitation, and Pinterest gives assets to members who
/// joined), the admin's access token as the automation account's, an employee's as the account
/// without admin rights, the ad account as the resource; pages of 250, so 630 members are three.
fn fixture(pin: &Pinterest) -> TokenFixture {
    let seeder = pin.clone();
    TokenFixture::new(
        connector(),
        &pin.base_url,
        "business admin",
        &pin.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("seeded{i}"), EMPLOYEE);
        },
    )
    .organization(BUSINESS)
    .non_admin(&pin.employee_token)
    .resource(&pin.ad_account_id)
    .listing_size(630)
    .automation_member(&pin.admin_id)
}

#[tokio::test]
async fn conformance() {
    let pin = Pinterest::start();
    pin.accept_at_once(true);
    let report = castellan_conformance::run(&fixture(&pin)).await;
    assert!(report.failures().is_empty());
    assert!(
        report.passed("resource roles"),
        "{:?}",
        report.outcome("resource roles")
    );
    assert!(report.passed("automation account protects itself"));
}

// ---- what only Pinterest has -------------------------------------------------------------------

fn context(pin: &Pinterest, token: &str) -> ConnectorContext {
    fixture(pin).context_with(&pin.base_url, token)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin's token signs in")
}

#[test]
fn it_signs_in_with_oauth_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(info.sign_in, SignIn::OAuth2);
    assert!(info.can(Capability::ResourceRoles) && info.can(Capability::ListResources));
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("BIZ_ADMIN EMPLOYEE".into(), EMPLOYEE)
    );
    let field = |k: &str| info.settings.iter().find(|f| f.key == k).cloned();
    assert!(field(OAUTH2_CLIENT_ID).is_some_and(|f| f.required));
    assert_eq!(
        field(OAUTH2_TOKEN_URL).and_then(|f| f.default).as_deref(),
        Some("https://api.pinterest.com/v5/oauth/token")
    );
    assert_eq!(
        field(OAUTH2_SCOPES).and_then(|f| f.default).as_deref(),
        Some(pinterest::SCOPES)
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "pinterest").unwrap();
    assert_eq!(app.connector.as_deref(), Some(pinterest::NAME));
    assert_eq!(app.roles, info.roles);
    assert!(app.capabilities.contains(&Capability::ResourceRoles));
}

/// 602 members and 260 pending invitations: three bookmarked pages of members and two of
/// invitations; roles exactly as Pinterest writes them; invitations `invited`.
#[tokio::test]
async fn members_then_invitations_are_listed_over_bookmarked_pages() {
    let pin = Pinterest::start();
    for i in 0..599 {
        pin.seed(&format!("u{i}@example.com"), "user", EMPLOYEE);
    }
    pin.seed("boss@example.com", "boss", BIZ_ADMIN);
    let c = connector();
    let ctx = context(&pin, &pin.admin_token);
    let s = session(&*c, &ctx).await;
    for i in 0..260 {
        let inv = invitation(&format!("inv{i}@example.com"), "employee");
        let m = c.invite(&ctx, &s, &inv).await.unwrap();
        assert_eq!(
            (m.state, m.roles.clone()),
            (MemberState::Invited, vec![EMPLOYEE.to_owned()])
        );
    }
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (602 + 260, 5));
    let invited = all.iter().filter(|m| m.state == MemberState::Invited);
    assert_eq!(invited.count(), 260);
    let admins: Vec<&str> = all
        .iter()
        .filter(|m| m.roles == [BIZ_ADMIN])
        .map(|m| m.app_member_id.as_str())
        .collect();
    assert_eq!(admins.len(), 2);
    assert!(admins.contains(&pin.admin_id.as_str()));
}

/// A pending invitation is `invitation:<email>`, changes role by being sent again, cannot be
/// given an asset until the person accepts, and is cancelled on removal.
#[tokio::test]
async fn a_pending_invitation_is_invited_changed_and_cancelled() {
    let pin = Pinterest::start();
    let c = connector();
    let ctx = context(&pin, &pin.admin_token);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("Pending@Example.com", EMPLOYEE))
        .await
        .unwrap();
    assert_eq!(
        (m.app_member_id.as_str(), m.state),
        ("invitation:pending@example.com", MemberState::Invited)
    );
    let found = c
        .find_by_email(&ctx, &s, "PENDING@example.com")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&m));
    let m = c
        .update_role(&ctx, &s, &m.app_member_id, "biz_admin")
        .await
        .unwrap();
    assert_eq!(
        (m.roles.clone(), m.state),
        (vec![BIZ_ADMIN.to_owned()], MemberState::Invited)
    );
    let grant = ResourceGrant {
        resource_id: pin.ad_account_id.clone(),
        app_member_id: m.app_member_id.clone(),
        role: "ANALYST".into(),
    };
    let err = c.grant_resource_role(&ctx, &s, &grant).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Conflict(m) if m.contains("accepted")),
        "{err}"
    );
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert_eq!(
        pin.invitation_status("pending@example.com").as_deref(),
        Some("CANCELLED")
    );
    assert!(c
        .get_member(&ctx, &s, &m.app_member_id)
        .await
        .unwrap()
        .is_none());
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
}

/// Roles go on the wire as Pinterest writes them; ad accounts, then profiles, each with its own
/// permissions; a grant replaces the member's permissions, one of the other kind of asset is
/// refused with Pinterest's words, a revocation empties them, a removal takes them along.
#[tokio::test]
async fn roles_and_asset_permissions_are_pinterests() {
    let pin = Pinterest::start();
    let c = connector();
    let ctx = context(&pin, &pin.admin_token);
    let s = session(&*c, &ctx).await;
    let ana = pin.seed("ana@example.com", "ana", EMPLOYEE);
    let m = c.update_role(&ctx, &s, &ana, "biz_admin").await.unwrap();
    assert_eq!(
        (m.roles, pin.role(&ana).as_deref()),
        (vec![BIZ_ADMIN.to_owned()], Some(BIZ_ADMIN))
    );

    let accounts = c.list_resources(&ctx, &s, None).await.unwrap();
    let account = &accounts.resources[0];
    assert_eq!(
        (account.resource_id.as_str(), account.kind.as_str()),
        (pin.ad_account_id.as_str(), "ad account")
    );
    assert_eq!(
        (account.roles.first(), account.roles.last()),
        (Some(&"ADMIN".to_owned()), Some(&"ANALYST".to_owned()))
    );
    let profiles = c
        .list_resources(&ctx, &s, accounts.next.clone())
        .await
        .unwrap();
    assert_eq!(profiles.resources[0].resource_id, pin.profile_id);
    assert_eq!(profiles.resources[0].roles, ["PROFILE_PUBLISHER"]);
    assert!(profiles.next.is_none());

    let grant = |resource: &str, role: &str| ResourceGrant {
        resource_id: resource.to_owned(),
        app_member_id: ana.clone(),
        role: role.to_owned(),
    };
    c.grant_resource_role(&ctx, &s, &grant(&pin.ad_account_id, "analyst"))
        .await
        .unwrap();
    assert_eq!(pin.permissions(&pin.ad_account_id, &ana), ["ANALYST"]);
    c.grant_resource_role(&ctx, &s, &grant(&pin.ad_account_id, "CAMPAIGN_MANAGER"))
        .await
        .unwrap();
    assert_eq!(
        pin.permissions(&pin.ad_account_id, &ana),
        ["CAMPAIGN_MANAGER"]
    );
    let held = c
        .list_resource_members(&ctx, &s, &pin.ad_account_id, None)
        .await
        .unwrap();
    assert_eq!(held.members[0].roles, ["CAMPAIGN_MANAGER"]);
    let wrong_kind = c
        .grant_resource_role(&ctx, &s, &grant(&pin.ad_account_id, "PROFILE_PUBLISHER"))
        .await;
    assert!(
        matches!(&wrong_kind, Err(ConnectorError::Configuration(m)) if m.contains("(code 1)")),
        "{wrong_kind:?}"
    );
    let unknown = c
        .grant_resource_role(&ctx, &s, &grant(&pin.ad_account_id, "OWNER"))
        .await;
    assert!(matches!(unknown, Err(ConnectorError::Configuration(_))));
    c.grant_resource_role(&ctx, &s, &grant(&pin.profile_id, "profile_publisher"))
        .await
        .unwrap();
    assert_eq!(
        pin.permissions(&pin.profile_id, &ana),
        ["PROFILE_PUBLISHER"]
    );
    c.revoke_resource_role(&ctx, &s, &pin.ad_account_id, &ana)
        .await
        .unwrap();
    assert!(pin.permissions(&pin.ad_account_id, &ana).is_empty());
    c.remove(&ctx, &s, &ana).await.unwrap();
    assert_eq!(pin.role(&ana), None);
    assert!(pin.permissions(&pin.profile_id, &ana).is_empty());
}

/// An employee's token is refused at sign-in and its writes with Pinterest's code 29; a wrong
/// token is `BadCredentials` with Pinterest's words and request id, never the token.
#[tokio::test]
async fn pinterests_errors_are_mapped() {
    let pin = Pinterest::start();
    let c = connector();
    let employee = context(&pin, &pin.employee_token);
    let err = c.login(&employee).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("EMPLOYEE")),
        "{err}"
    );
    let admin = context(&pin, &pin.admin_token);
    let s = session(&*c, &admin).await;
    let s_employee = AppSession {
        token: secrecy::SecretString::from(pin.employee_token.clone()),
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
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("(code 29)")),
        "{err}"
    );
    let wrong = context(&pin, "pina_nope");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("Authentication failed") && m.contains("[request standin")
                && !m.contains("pina_nope")),
        "{err}"
    );
    let mut no_business = admin.clone();
    no_business.organization_id = None;
    assert!(matches!(
        c.login(&no_business).await,
        Err(ConnectorError::Configuration(_))
    ));
}

/// Pinterest's 429 (code 8) names no `Retry-After`: the wait comes from `X-RateLimit-Reset`
/// (the rest of the minute: more than one call waits, so the listing is `RateLimited` with it).
#[tokio::test]
async fn pinterests_429_waits_for_its_reset() {
    let pin = Pinterest::start();
    let c = connector();
    let ctx = context(&pin, &pin.admin_token);
    let s = session(&*c, &ctx).await;
    pin.set_rate_limit(0);
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => assert!(
            d > Duration::from_secs(30) && d <= Duration::from_secs(60),
            "{d:?}"
        ),
        other => panic!("{other:?}"),
    }
}
