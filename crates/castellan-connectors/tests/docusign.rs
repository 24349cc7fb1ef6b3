//! The DocuSign eSignature connector against its stand-in (`castellan_standins::docusign`,
//! written from DocuSign's eSignature REST API v2.1 reference; DocuSign cannot run here): the
//! conformance suite, then what only DocuSign has (users over pages of 100, permission profiles
//! as roles by name, the token's user found through the account server's user info, user
//! managers who are not administrators, removal as a closed membership that an invitation
//! reopens, DocuSign's error bodies with HTTP 400, the hourly limit's 429).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test docusign`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{catalog_app, invitation, list_all};
use castellan_conformance::TokenFixture;
use castellan_connectors::docusign::{self, ACCOUNT_ADMINISTRATOR, ROLES, SENDER, VIEWER};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::oauth2::OAUTH2_TOKEN_URL;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState, SignIn,
};
use castellan_standins::docusign::{DocuSign, ACCOUNT_ID, USER_MANAGER};
use secrecy::SecretString;
use serde_json::json;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(docusign::NAME)
        .expect("docusign is registered")
}

/// The conformance fixture: its own stand-in, the Account Administrator's access token as the
/// automation account's, a DocuSign Sender's as the account without user management; seeded
/// members are active senders; the account id as the organization, the stand-in's token URL
/// as the hub's (its origin serves `/oauth/userinfo`).
fn fixture(ds: &DocuSign) -> TokenFixture {
    let seeder = ds.clone();
    TokenFixture::new(
        connector(),
        &ds.base_url,
        "",
        &ds.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), SENDER);
        },
    )
    .organization(ACCOUNT_ID)
    .setting(OAUTH2_TOKEN_URL, &ds.token_url)
    .non_admin(&ds.sender_token)
    .automation_member(&ds.admin_id)
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&DocuSign::start())).await;
    assert!(report.failures().is_empty());
}

// ---- what only DocuSign has --------------------------------------------------------------------

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx)
        .await
        .expect("the administrator's token signs in")
}

#[test]
fn it_is_registered_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(info.sign_in, SignIn::OAuth2);
    assert_eq!(
        (info.roles.clone(), info.default_role.as_str()),
        (ROLES.map(String::from).to_vec(), SENDER)
    );
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert!(keys.starts_with(&["base_url", "organization_id", "oauth2_client_id"]));
    assert!(keys.contains(&OAUTH2_TOKEN_URL));
    let token_url = info.settings.iter().find(|f| f.key == OAUTH2_TOKEN_URL);
    let default = token_url.and_then(|f| f.default.clone());
    assert_eq!(
        default.as_deref(),
        Some("https://account.docusign.com/oauth/token")
    );
    let app = catalog_app("docusign");
    assert_eq!(app.connector.as_deref(), Some(docusign::NAME));
    assert_eq!(app.roles, info.roles);
    assert!(app.capabilities.contains(&Capability::UpdateRole));
    assert!(app.capabilities.contains(&Capability::ListRoles));
}

/// 230 users and the three accounts: three pages of 100 by `start_position`, one request each,
/// roles by profile name; a closed user is listed deactivated.
#[tokio::test]
async fn users_are_listed_a_hundred_a_page_with_their_profiles() {
    let ds = DocuSign::start();
    for i in 0..230 {
        ds.seed(&format!("u{i}@example.com"), "User", VIEWER);
    }
    let boss = ds.seed("boss@example.com", "Boss", ACCOUNT_ADMINISTRATOR);
    let c = connector();
    let ctx = fixture(&ds).context_with(&ds.base_url, &ds.admin_token);
    let s = session(&*c, &ctx).await;
    c.remove(&ctx, &s, &boss).await.unwrap();
    let before = ds.served();
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (234, 3));
    assert_eq!(ds.served() - before, 3, "one request a page");
    let find = |email: &str| all.iter().find(|m| m.email.as_deref() == Some(email));
    let u7 = find("u7@example.com").unwrap();
    assert_eq!(
        (u7.roles[0].as_str(), u7.state),
        (VIEWER, MemberState::Active)
    );
    let gone = find("boss@example.com").unwrap();
    assert_eq!(
        (gone.roles[0].as_str(), gone.state),
        (ACCOUNT_ADMINISTRATOR, MemberState::Deactivated)
    );
    let manager = find("manager@standin.test").unwrap();
    assert_eq!(manager.roles, [USER_MANAGER]);
}

/// The roles are the account's permission profiles by name; an invitation and a role change
/// send the profile's id, as DocuSign's `permissionProfileId`.
#[tokio::test]
async fn permission_profiles_are_the_roles_by_name() {
    let ds = DocuSign::start();
    let c = connector();
    let ctx = fixture(&ds).context_with(&ds.base_url, &ds.admin_token);
    let s = session(&*c, &ctx).await;
    let roles: Vec<String> = c
        .list_roles(&ctx, &s)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.role)
        .collect();
    assert_eq!(roles, [ACCOUNT_ADMINISTRATOR, SENDER, VIEWER, USER_MANAGER]);
    let m = c
        .invite(&ctx, &s, &invitation("ana@example.com", USER_MANAGER))
        .await
        .unwrap();
    assert_eq!(
        (m.roles[0].as_str(), m.state),
        (USER_MANAGER, MemberState::Invited)
    );
    let raw = ds.user(&m.app_member_id).unwrap();
    assert_eq!(
        (
            raw["permissionProfileId"].clone(),
            raw["userStatus"].clone()
        ),
        (json!("10000004"), json!("ActivationSent"))
    );
    let after = c
        .update_role(&ctx, &s, &m.app_member_id, VIEWER)
        .await
        .unwrap();
    assert_eq!(after.roles, [VIEWER]);
    assert_eq!(
        ds.user(&m.app_member_id).unwrap()["permissionProfileName"],
        VIEWER
    );
    let err = c
        .update_role(&ctx, &s, &m.app_member_id, "Signer Only")
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err}");
}

/// The token's user is found through the account server's user info: a User Manager (no
/// administrator, `canManageUsers`) signs in and invites; a Sender is refused naming its
/// profile; a token of no user, or of an account other than the hub's, is refused.
#[tokio::test]
async fn the_tokens_user_must_manage_users_in_the_hubs_account() {
    let ds = DocuSign::start();
    let c = connector();
    let f = fixture(&ds);
    let manager = f.context_with(&ds.base_url, &ds.manager_token);
    let s = c.login(&manager).await.expect("a user manager signs in");
    c.verify_permissions(&manager, &s).await.unwrap();
    c.invite(&manager, &s, &invitation("bo@example.com", SENDER))
        .await
        .unwrap();
    let sender = f.context_with(&ds.base_url, &ds.sender_token);
    let err = c.login(&sender).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains(SENDER)),
        "{err}"
    );
    let wrong = f.context_with(&ds.base_url, "ds-wrong-token");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("AUTHORIZATION_INVALID_TOKEN") && !m.contains("ds-wrong-token")),
        "{err}"
    );
    let mut elsewhere = f.context_with(&ds.base_url, &ds.admin_token);
    elsewhere.organization_id = Some("00000000-0000-0000-0000-000000000000".into());
    let err = c.login(&elsewhere).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("not a member")),
        "{err}"
    );
}

/// Removal closes the membership (DocuSign never deletes users); inviting the address again
/// reopens the same user with the profile asked for.
#[tokio::test]
async fn removal_closes_and_an_invitation_reopens() {
    let ds = DocuSign::start();
    let c = connector();
    let ctx = fixture(&ds).context_with(&ds.base_url, &ds.admin_token);
    let s = session(&*c, &ctx).await;
    let id = ds.seed("leaver@example.com", "Leaver", SENDER);
    c.remove(&ctx, &s, &id).await.unwrap();
    assert_eq!(ds.user(&id).unwrap()["userStatus"], "Closed");
    let read = c.get_member(&ctx, &s, &id).await.unwrap().unwrap();
    assert_eq!(read.state, MemberState::Deactivated);
    c.remove(&ctx, &s, &id).await.unwrap();
    let back = c
        .invite(&ctx, &s, &invitation("leaver@example.com", VIEWER))
        .await
        .unwrap();
    assert_eq!(
        (
            back.app_member_id.as_str(),
            back.roles[0].as_str(),
            back.state
        ),
        (id.as_str(), VIEWER, MemberState::Invited)
    );
}

/// DocuSign's own error bodies reach the errors: a Sender's write is 400
/// `USER_LACKS_PERMISSIONS`, `InsufficientPermission` with DocuSign's words.
#[tokio::test]
async fn docusign_error_bodies_are_mapped() {
    let ds = DocuSign::start();
    let c = connector();
    let ctx = fixture(&ds).context_with(&ds.base_url, &ds.sender_token);
    let s = AppSession {
        token: SecretString::from(ds.sender_token.clone()),
        data: json!({ "user_id": "x" }),
    };
    let err = c
        .invite(&ctx, &s, &invitation("new@example.com", SENDER))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m)
            if m.contains("USER_LACKS_PERMISSIONS") && m.contains("lacks sufficient")),
        "{err}"
    );
}

/// Past the hourly limit DocuSign answers `HOURLY_APIINVOCATION_LIMIT_EXCEEDED` until the top
/// of the hour (`X-RateLimit-Reset`): longer than a call waits, so the listing is `RateLimited`
/// with that wait at once, not retried in the call.
#[tokio::test]
async fn the_hourly_limit_is_rate_limited_until_its_reset() {
    let ds = DocuSign::start();
    let c = connector();
    let ctx = fixture(&ds).context_with(&ds.base_url, &ds.admin_token);
    let s = session(&*c, &ctx).await;
    ds.set_rate_limit(0);
    let before = ds.served();
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => assert!(
            d > Duration::from_secs(3500) && d <= Duration::from_secs(3600),
            "{d:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(ds.served() - before, 1);
}
