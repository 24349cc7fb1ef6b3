//! The Calendly connector against its stand-in (`castellan_standins::calendly`, written from
//! Calendly's API v2 reference; Calendly cannot run here): the conformance suite through
//! [`CalendlyFixture`], then what only Calendly has (memberships and pending invitations over
//! pages, roles as sent, role changes unsupported, invitations revoked, a `user`'s token refused,
//! Calendly's error bodies and its 429 with `X-RateLimit-Reset`).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test calendly`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::calendly;
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState,
};
use castellan_standins::calendly::Calendly;
use secrecy::SecretString;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(calendly::NAME)
        .expect("calendly is registered")
}

/// The conformance fixture: its own stand-in, the owner's personal access token as the
/// automation account's, a `user`'s as the account without admin rights; seeded members have
/// accepted their invitations.
fn fixture(cal: &Calendly) -> TokenFixture {
    let seeder = cal.clone();
    TokenFixture::new(
        connector(),
        &cal.base_url,
        "owner",
        &cal.owner_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "user");
        },
    )
    .non_admin(&cal.user_token)
    .automation_member(&cal.owner_membership)
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&Calendly::start())).await;
    assert!(report.failures().is_empty());
}

// ---- what only Calendly has --------------------------------------------------------------------

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the owner's token signs in")
}

#[test]
fn it_is_registered_without_role_changes_and_matches_the_catalog() {
    let info = connector().describe();
    assert!(!info.can(Capability::UpdateRole));
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("user".into(), "user")
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "calendly").unwrap();
    assert_eq!(app.connector.as_deref(), Some(calendly::NAME));
    assert!(!app.capabilities.contains(&Capability::UpdateRole));
}

/// 150 memberships and 120 pending invitations: two pages of each (`page_token`), roles as
/// sent, invitations `invited`; one call a page.
#[tokio::test]
async fn memberships_then_invitations_are_listed_over_pages() {
    let cal = Calendly::start();
    for i in 0..147 {
        cal.seed(&format!("m{i}@example.com"), "Member", "user");
    }
    cal.seed("boss@example.com", "Boss", "admin");
    let c = connector();
    let ctx = token_context(&cal.base_url, "owner", &cal.owner_token);
    let s = session(&*c, &ctx).await;
    for i in 0..120 {
        c.invite(
            &ctx,
            &s,
            &invitation(&format!("inv{i}@example.com"), "user"),
        )
        .await
        .unwrap();
    }
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (150 + 120, 4));
    let roles = |r: &str| all.iter().filter(|m| m.roles == [r]).count();
    assert_eq!((roles("owner"), roles("admin"), roles("user")), (1, 1, 268));
    let invited = all
        .iter()
        .filter(|m| m.state == MemberState::Invited)
        .count();
    assert_eq!(invited, 120);
}

/// Invitations carry no role and no endpoint changes one: `Unsupported`, nothing sent; an
/// unknown role is `Configuration`. A pending invitation is revoked on removal, a membership
/// deleted; the owner cannot be removed by the connector or by Calendly.
#[tokio::test]
async fn roles_cannot_change_and_removal_revokes_or_deletes() {
    let cal = Calendly::start();
    let c = connector();
    let ctx = token_context(&cal.base_url, "owner", &cal.owner_token);
    let s = session(&*c, &ctx).await;
    let admin = c
        .invite(&ctx, &s, &invitation("a@example.com", "admin"))
        .await;
    assert!(
        matches!(admin, Err(ConnectorError::Unsupported(_))),
        "{admin:?}"
    );
    assert!(c
        .find_by_email(&ctx, &s, "a@example.com")
        .await
        .unwrap()
        .is_none());
    let member = cal.seed("m@example.com", "M", "user");
    let err = c.update_role(&ctx, &s, &member, "admin").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err}");
    let bad = c.update_role(&ctx, &s, &member, "boss").await;
    assert!(matches!(bad, Err(ConnectorError::Configuration(_))));

    let inv = c
        .invite(&ctx, &s, &invitation("Pending@Example.com", "user"))
        .await
        .unwrap();
    let uuid = inv
        .app_member_id
        .strip_prefix("invitation:")
        .unwrap()
        .to_owned();
    c.remove(&ctx, &s, &inv.app_member_id).await.unwrap();
    assert_eq!(cal.invitation_status(&uuid).as_deref(), Some("revoked"));
    c.remove(&ctx, &s, &member).await.unwrap();
    assert!(!cal.has_membership(&member));
    let me = c.remove(&ctx, &s, &cal.owner_membership).await;
    assert!(matches!(me, Err(ConnectorError::Conflict(_))));
}

/// A `user`'s token is refused at sign-in; Calendly's 403 body reaches the error.
#[tokio::test]
async fn a_users_token_is_refused_with_calendlys_words() {
    let cal = Calendly::start();
    let c = connector();
    let user = token_context(&cal.base_url, "owner", &cal.user_token);
    let err = c.login(&user).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("Calendly user")),
        "{err}"
    );
    let owner = token_context(&cal.base_url, "owner", &cal.owner_token);
    let s = session(&*c, &owner).await;
    let s = AppSession {
        token: SecretString::from(cal.user_token.clone()),
        ..s
    };
    let err = c
        .invite(&user, &s, &invitation("x@example.com", "user"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("Permission Denied")),
        "{err}"
    );
    let wrong = token_context(&cal.base_url, "owner", "nope");
    assert!(matches!(
        c.login(&wrong).await,
        Err(ConnectorError::BadCredentials(_))
    ));
}

/// Calendly's 429 has no `Retry-After`: the wait comes from `X-RateLimit-Reset` (a minute,
/// more than one call waits, so the listing is `RateLimited` with it).
#[tokio::test]
async fn calendlys_429_waits_for_its_reset() {
    let cal = Calendly::start();
    let c = connector();
    let ctx = token_context(&cal.base_url, "owner", &cal.owner_token);
    let s = session(&*c, &ctx).await;
    cal.set_rate_limit(0);
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
