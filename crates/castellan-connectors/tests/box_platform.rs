//! The Box connector against its stand-in (`castellan_standins::box_platform`, written from the
//! Box Platform API reference; Box cannot run here): the conformance suite, then what only Box
//! has (a thousand managed users a call with marker paging, App Users left out, roles as on the
//! wire, co-admins without the Manage users permission refused, removal that moves the user's
//! files before deleting, keep-seat as `inactive`, Box's error bodies and its 429).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test
//! box_platform`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{assert_rate_limited, invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::box_platform::{self, TRANSFER_TO};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState, SignIn,
};
use castellan_standins::box_platform::BoxEnterprise;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(box_platform::NAME)
        .expect("box is registered")
}

/// The conformance fixture: its own stand-in, the primary admin's token as the automation
/// account's, a user's as the account without admin rights; seeded members are managed users,
/// two and a half pages of a thousand.
fn fixture(bx: &BoxEnterprise) -> TokenFixture {
    let seeder = bx.clone();
    TokenFixture::new(
        connector(),
        &bx.base_url,
        "",
        &bx.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "user");
        },
    )
    .non_admin(&bx.user_token)
    .automation_member(&bx.admin_id)
    .listing_size(2500)
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&BoxEnterprise::start())).await;
    assert!(report.failures().is_empty());
}

// ---- what only Box has -------------------------------------------------------------------------

fn as_token(bx: &BoxEnterprise, token: &str) -> ConnectorContext {
    token_context(&bx.base_url, "", token)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin's token signs in")
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
        (SignIn::ApiToken, "coadmin user".into(), "user")
    );
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "api_token",
            TRANSFER_TO,
            "requests_per_second",
            "allow_private"
        ]
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "box").unwrap();
    assert_eq!(app.connector.as_deref(), Some(box_platform::NAME));
    assert_eq!(app.roles, info.roles);
    assert_eq!(app.capabilities, info.capabilities);
    assert!(app.capabilities.contains(&Capability::KeepSeat));
}

/// 1500 managed users and the four accounts take two calls of a thousand (marker paging);
/// App Users hold no seat and are left out; roles come as Box sends them.
#[tokio::test]
async fn managed_users_are_listed_a_thousand_a_call() {
    let bx = BoxEnterprise::start();
    for i in 0..1500 {
        bx.seed(&format!("u{i}@example.com"), "User", "user");
    }
    bx.seed_app_user("svc@example.com", "A service");
    let c = connector();
    let ctx = as_token(&bx, &bx.admin_token);
    let s = session(&*c, &ctx).await;
    let before = bx.served();
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages, bx.served() - before), (1504, 2, 2));
    let role = |login: &str| {
        let m = all.iter().find(|m| m.email.as_deref() == Some(login));
        m.map(|m| m.roles.join(" "))
    };
    assert_eq!(role("admin@standin.test").as_deref(), Some("admin"));
    assert_eq!(role("coadmin@standin.test").as_deref(), Some("coadmin"));
    assert_eq!(role("u7@example.com").as_deref(), Some("user"));
    assert_eq!(role("svc@example.com"), None, "App Users are no seats");
    let found = c.find_by_email(&ctx, &s, "U1@Example.com").await.unwrap();
    assert_eq!(found.unwrap().email.as_deref(), Some("u1@example.com"));
}

/// A user's token and a co-admin's without the Manage users permission are refused; a
/// co-admin with it signs in; a wrong token is `BadCredentials`, not repeated.
#[tokio::test]
async fn only_admins_and_coadmins_who_manage_users_sign_in() {
    let bx = BoxEnterprise::start();
    let c = connector();
    let err = c.login(&as_token(&bx, &bx.user_token)).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("Box user")),
        "{err}"
    );
    let limited = as_token(&bx, &bx.limited_coadmin_token);
    let err = c.login(&limited).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m)
            if m.contains("Manage users") && m.contains("Access denied")),
        "{err}"
    );
    let co = as_token(&bx, &bx.coadmin_token);
    let s = c.login(&co).await.expect("a co-admin who manages users");
    c.verify_permissions(&co, &s).await.unwrap();
    let err = c
        .login(&as_token(&bx, "box-wrong-token"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if !m.contains("box-wrong-token")),
        "{err}"
    );
}

/// Removal moves what the user owns to the automation account (or the hub's `transfer_to`),
/// then deletes the user: nothing is lost. A heir Box does not have stops the removal before
/// anything is deleted.
#[tokio::test]
async fn removal_moves_the_files_before_deleting() {
    let bx = BoxEnterprise::start();
    let c = connector();
    let ctx = as_token(&bx, &bx.admin_token);
    let s = session(&*c, &ctx).await;
    let ana = bx.seed("ana@example.com", "Ana Lima", "user");
    bx.give_items(&ana, 3);
    c.remove(&ctx, &s, &ana).await.unwrap();
    assert!(bx.user(&ana).is_none());
    assert_eq!(
        bx.received(&bx.admin_id),
        [("Ana Lima's Files and Folders".to_owned(), 3)]
    );
    assert_eq!(bx.purged(), 0);
    c.remove(&ctx, &s, &ana).await.unwrap();

    let mut to_coadmin = ctx.clone();
    to_coadmin.settings.insert(TRANSFER_TO.into(), "2".into());
    let bo = bx.seed("bo@example.com", "Bo", "user");
    bx.give_items(&bo, 1);
    c.remove(&to_coadmin, &s, &bo).await.unwrap();
    assert_eq!(bx.received("2"), [("Bo's Files and Folders".to_owned(), 1)]);

    let mut nowhere = ctx.clone();
    nowhere.settings.insert(TRANSFER_TO.into(), "424242".into());
    let cy = bx.seed("cy@example.com", "Cy", "user");
    bx.give_items(&cy, 2);
    let err = c.remove(&nowhere, &s, &cy).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(m) if m.contains(TRANSFER_TO)),
        "{err}"
    );
    assert!(bx.user(&cy).is_some(), "nothing deleted");
    nowhere.settings.insert(TRANSFER_TO.into(), cy.clone());
    assert!(matches!(
        c.remove(&nowhere, &s, &cy).await,
        Err(ConnectorError::Configuration(_))
    ));
    assert_eq!(bx.purged(), 0);
}

/// Keep-seat sets the user `inactive` (role and seat stay); inviting the address again makes
/// them active with the role asked for. The primary admin is never made.
#[tokio::test]
async fn keep_seat_sets_inactive_and_invites_bring_back() {
    let bx = BoxEnterprise::start();
    let c = connector();
    let ctx = as_token(&bx, &bx.admin_token);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("Dee@Example.com", "coadmin"))
        .await
        .unwrap();
    let raw = bx.user(&m.app_member_id).unwrap();
    assert_eq!(
        (raw["role"].as_str(), raw["name"].as_str()),
        (Some("coadmin"), Some("dee"))
    );
    let kept = c
        .remove_keep_seat(&ctx, &s, &m.app_member_id)
        .await
        .unwrap();
    assert_eq!(
        (kept.state, kept.roles.join(" ")),
        (MemberState::Deactivated, "coadmin".into())
    );
    assert_eq!(bx.user(&m.app_member_id).unwrap()["status"], "inactive");
    let back = c
        .invite(&ctx, &s, &invitation("dee@example.com", "user"))
        .await
        .unwrap();
    assert_eq!(
        (
            back.app_member_id.as_str(),
            back.state,
            back.roles.join(" ")
        ),
        (m.app_member_id.as_str(), MemberState::Active, "user".into())
    );
    let err = c
        .invite(&ctx, &s, &invitation("boss@example.com", "admin"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(m) if m.contains("primary admin")),
        "{err}"
    );
}

/// A login an App User holds already: Box's 409 `user_login_already_used` is `Conflict` with
/// Box's request id.
#[tokio::test]
async fn box_error_bodies_are_mapped() {
    let bx = BoxEnterprise::start();
    let c = connector();
    let ctx = as_token(&bx, &bx.admin_token);
    let s = session(&*c, &ctx).await;
    bx.seed_app_user("svc@example.com", "A service");
    let err = c
        .invite(&ctx, &s, &invitation("svc@example.com", "user"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Conflict(m)
            if m.contains("already exists") && m.contains("request_id")),
        "{err}"
    );
}

/// Past Box's budget, reads are `RateLimited` with the `retry-after` Box sent (the rest of the
/// minute: more than the SDK waits in one call).
#[tokio::test]
async fn boxs_429_carries_its_retry_after() {
    let bx = BoxEnterprise::start();
    let c = connector();
    let ctx = as_token(&bx, &bx.admin_token);
    let s = session(&*c, &ctx).await;
    bx.set_rate_limit(0);
    let (half, minute) = (Duration::from_secs(30), Duration::from_secs(60));
    assert_rate_limited(c.list_members(&ctx, &s, None).await, half, minute);
}
