//! The Pipedrive connector against its stand-in (`castellan_standins::pipedrive`, written from
//! Pipedrive's API v1 reference; Pipedrive cannot run here): the conformance suite (every user
//! in one page, as `GET /users` answers), then what only Pipedrive has (every user in one call,
//! roles from the Deals app's permission sets as on the wire, invitations that give them and no
//! role change, removal as a deactivation, the token only in the `x-api-token` header or as an
//! OAuth Bearer token, the regular user refused, Pipedrive's error bodies and 429s).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test pipedrive`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{catalog_app, invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::pipedrive::{self, ADMIN, REGULAR};
use castellan_connectors::sdk::saas::{AUTH_OAUTH, AUTH_WITH};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState,
};
use castellan_standins::pipedrive::{Pipedrive, SALES_ADMIN, SALES_CUSTOM, SALES_REGULAR};
use secrecy::SecretString;
use serde_json::json;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(pipedrive::NAME)
        .expect("pipedrive is registered")
}

/// The conformance fixture: its own stand-in, the admin's API token as the automation
/// account's, the regular user's as the account without user management; seeded members are
/// regular users who accepted their invitation; every user comes in one answer.
fn fixture(pd: &Pipedrive) -> TokenFixture {
    let seeder = pd.clone();
    TokenFixture::new(
        connector(),
        &pd.base_url,
        "",
        &pd.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), SALES_REGULAR);
        },
    )
    .non_admin(&pd.regular_token)
    .automation_member(&pd.admin_id.to_string())
    .one_page()
}

#[tokio::test]
async fn conformance() {
    let pd = Pipedrive::start();
    let report = castellan_conformance::run(&fixture(&pd)).await;
    assert!(report.failures().is_empty());
    assert_eq!(pd.query_tokens(), 0, "the token never went in a URL");
}

// ---- what only Pipedrive has -------------------------------------------------------------------

fn admin(pd: &Pipedrive) -> ConnectorContext {
    token_context(&pd.base_url, "", &pd.admin_token)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin's token signs in")
}

#[test]
fn it_is_registered_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("regular".into(), REGULAR)
    );
    assert!(info.can(Capability::ListRoles) && !info.can(Capability::UpdateRole));
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
    let app = catalog_app("pipedrive");
    assert_eq!(app.connector.as_deref(), Some(pipedrive::NAME));
    assert_eq!(app.roles, [ADMIN, REGULAR]);
    assert!(app.capabilities.contains(&Capability::ListRoles));
    assert!(!app.capabilities.contains(&Capability::UpdateRole));
}

/// 300 users and the two accounts come in one call (and one for the permission sets that name
/// the roles), with their roles: admin, regular, or a custom set's id.
#[tokio::test]
async fn every_user_comes_in_one_call_with_their_role() {
    let pd = Pipedrive::start();
    for i in 0..300 {
        pd.seed(&format!("rep{i}@example.com"), "Rep", SALES_REGULAR);
    }
    pd.seed("boss@example.com", "Boss", SALES_ADMIN);
    pd.seed("closer@example.com", "Closer", SALES_CUSTOM);
    let c = connector();
    let ctx = admin(&pd);
    let s = session(&*c, &ctx).await;
    let before = pd.served();
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (304, 1));
    assert_eq!(
        pd.served() - before,
        2,
        "the users, then the permission sets"
    );
    let role = |email: &str| {
        let m = all.iter().find(|m| m.email.as_deref() == Some(email));
        m.map(|m| (m.roles.clone(), m.state))
    };
    let active = MemberState::Active;
    assert_eq!(role("boss@example.com"), Some((vec![ADMIN.into()], active)));
    assert_eq!(
        role("rep7@example.com"),
        Some((vec![REGULAR.into()], active))
    );
    assert_eq!(
        role("closer@example.com"),
        Some((vec![SALES_CUSTOM.into()], active))
    );
    let err = c
        .list_members(&ctx, &s, Some("2".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err}");
}

/// The roles are the Deals app's permission sets, labelled with their names; an invitation
/// gives one as Pipedrive's `access` says it, and no call changes it afterwards.
#[tokio::test]
async fn invitations_give_a_permission_set_and_roles_do_not_change() {
    let pd = Pipedrive::start();
    let c = connector();
    let ctx = admin(&pd);
    let s = session(&*c, &ctx).await;
    let roles = c.list_roles(&ctx, &s).await.unwrap();
    let listed: Vec<(&str, &str)> = roles
        .iter()
        .map(|r| (r.role.as_str(), r.label.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (ADMIN, "Deals admin"),
            (SALES_CUSTOM, "Closer"),
            (REGULAR, "Regular user")
        ]
    );
    for (email, role, set) in [
        ("ana@example.com", ADMIN, SALES_ADMIN),
        ("bo@example.com", SALES_CUSTOM, SALES_CUSTOM),
        ("cy@example.com", REGULAR, SALES_REGULAR),
    ] {
        let m = c.invite(&ctx, &s, &invitation(email, role)).await.unwrap();
        assert_eq!((m.roles[0].as_str(), m.state), (role, MemberState::Invited));
        let raw = pd.user(m.app_member_id.parse().unwrap()).unwrap();
        assert_eq!(
            raw["access"],
            json!([{"app": "sales", "admin": role == ADMIN,
            "permission_set_id": set}])
        );
        assert_eq!(raw["activated"], false, "invited until they accept");
    }
    let cy = c
        .find_by_email(&ctx, &s, "CY@example.com")
        .await
        .unwrap()
        .unwrap();
    let err = c
        .update_role(&ctx, &s, &cy.app_member_id, ADMIN)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unsupported(m) if m.contains("Manage users")),
        "{err}"
    );
    let raw = pd.user(cy.app_member_id.parse().unwrap()).unwrap();
    assert_eq!(raw["access"][0]["permission_set_id"], SALES_REGULAR);
    let err = c
        .invite(
            &ctx,
            &s,
            &invitation("dee@example.com", pipedrive::NO_DEALS),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err}");
}

/// Pipedrive cannot delete users: removal deactivates (`active_flag: false`), the user stays
/// listed as deactivated, and inviting the address again activates the same user.
#[tokio::test]
async fn removal_deactivates_and_an_invitation_activates_again() {
    let pd = Pipedrive::start();
    let c = connector();
    let ctx = admin(&pd);
    let s = session(&*c, &ctx).await;
    let id = pd.seed("leaver@example.com", "Leaver", SALES_REGULAR);
    c.remove(&ctx, &s, &id.to_string()).await.unwrap();
    assert_eq!(pd.user(id).unwrap()["active_flag"], false);
    let (all, _) = list_all(&*c, &ctx, &s).await.unwrap();
    let gone = all
        .iter()
        .find(|m| m.app_member_id == id.to_string())
        .unwrap();
    assert_eq!(gone.state, MemberState::Deactivated);
    c.remove(&ctx, &s, &id.to_string()).await.unwrap();
    let back = c
        .invite(&ctx, &s, &invitation("leaver@example.com", REGULAR))
        .await
        .unwrap();
    assert_eq!(back.app_member_id, id.to_string());
    assert_eq!(
        (back.state, pd.user(id).unwrap()["active_flag"].clone()),
        (MemberState::Active, json!(true))
    );
}

/// The token goes in the `x-api-token` header, never in a URL; an OAuth token signs in as
/// Bearer; the regular user's token is refused for want of account settings access; a wrong
/// token is refused without repeating it.
#[tokio::test]
async fn tokens_go_in_headers_and_only_user_managers_sign_in() {
    let pd = Pipedrive::start();
    let c = connector();
    let ctx = admin(&pd);
    let s = session(&*c, &ctx).await;
    c.verify_permissions(&ctx, &s).await.unwrap();
    c.find_by_email(&ctx, &s, "nobody@example.com")
        .await
        .unwrap();
    let mut oauth = token_context(&pd.base_url, "", &pd.oauth_token);
    oauth.settings.insert(AUTH_WITH.into(), AUTH_OAUTH.into());
    let s = c.login(&oauth).await.expect("the OAuth token signs in");
    c.list_members(&oauth, &s, None).await.unwrap();
    let as_header = token_context(&pd.base_url, "", &pd.oauth_token);
    assert!(matches!(
        c.login(&as_header).await,
        Err(ConnectorError::BadCredentials(_))
    ));
    let regular = token_context(&pd.base_url, "", &pd.regular_token);
    let err = c.login(&regular).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("account settings")),
        "{err}"
    );
    let wrong = token_context(&pd.base_url, "", "pd-wrong-token");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("unauthorized access") && !m.contains("pd-wrong-token")),
        "{err}"
    );
    assert_eq!(pd.query_tokens(), 0);
}

/// Pipedrive's own error bodies reach the errors: a write with the regular user's token is
/// 403 `{"success": false, "error"}`, `InsufficientPermission` with Pipedrive's words.
#[tokio::test]
async fn pipedrive_error_bodies_are_mapped() {
    let pd = Pipedrive::start();
    let c = connector();
    let ctx = token_context(&pd.base_url, "", &pd.regular_token);
    let s = AppSession {
        token: SecretString::from(pd.regular_token.clone()),
        data: json!({ "user_id": "2" }),
    };
    let err = c
        .invite(&ctx, &s, &invitation("new@example.com", REGULAR))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m)
            if m.contains("You do not have permission")),
        "{err}"
    );
    assert!(pd.user(1000).is_none(), "nobody was added");
}

/// Past the 2-second window's limit Pipedrive answers 429 with `x-ratelimit-reset` and no
/// `Retry-After`: reads wait that long in the call, then are `RateLimited` with that wait.
#[tokio::test]
async fn pipedrives_429_is_waited_for_by_its_reset_header() {
    let pd = Pipedrive::start();
    let c = connector();
    let ctx = admin(&pd);
    let s = session(&*c, &ctx).await;
    pd.set_rate_limit(0);
    let before = pd.served();
    let started = std::time::Instant::now();
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => assert!(
            d >= Duration::from_secs(1) && d <= Duration::from_secs(2),
            "{d:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(pd.served() - before, 3, "tried three times in the call");
    assert!(started.elapsed() >= Duration::from_secs(2));
}
