//! The Google Ads connector against its stand-in (`castellan_standins::google_ads`, written from
//! the Google Ads API reference; Google Ads cannot run here): the conformance suite through
//! [`fixture`], then what only Google Ads has (invitations whose role cannot change, access
//! through a manager account with `login-customer-id`, the optional developer token, the last
//! admin kept, multi-party approval, `GoogleAdsFailure` bodies, `RESOURCE_EXHAUSTED` with its
//! `retryDelay`, Google's OAuth endpoints asking for offline access).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test google_ads`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::google_ads::{
    self, ADMIN, DEVELOPER_TOKEN, LOGIN_CUSTOMER_ID, READ_ONLY, STANDARD,
};
use castellan_connectors::sdk::oauth2::OAuth2Http;
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::oauth2::{OAuth2Client, OAuth2Config, OAUTH2_CLIENT_ID};
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState, SignIn,
};
use castellan_standins::google_ads::{GoogleAds, CLIENT, MANAGER};
use secrecy::ExposeSecret;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(google_ads::NAME)
        .expect("google_ads is registered")
}

/// The conformance fixture: its own stand-in with pages of 20 rows (60 seeded users are more
/// than three pages), the automation account's address and access token, a `STANDARD` user as
/// the account without admin rights, the client account's customer ID as the organization;
/// `googleAds:search` is a `POST` that only reads.
fn fixture(ga: &GoogleAds) -> TokenFixture {
    ga.set_page_rows(20);
    let seeder = ga.clone();
    TokenFixture::new(
        connector(),
        &ga.base_url,
        &ga.admin_email,
        &ga.admin_token,
        move |email, _| {
            seeder.seed(email, "READ_ONLY");
        },
    )
    .organization(CLIENT)
    .reads_by_post(&["googleAds:search"])
    .non_admin_as("standard@standin.test", &ga.standard_token)
    .listing_size(60)
    .automation_member(&ga.admin_id)
}

#[tokio::test]
async fn conformance() {
    let ga = GoogleAds::start();
    let report = castellan_conformance::run(&fixture(&ga)).await;
    assert!(report.failures().is_empty());
    assert!(report.passed("role changes") && report.passed("listing over pages"));
}

// ---- what only Google Ads has ------------------------------------------------------------------

fn context(ga: &GoogleAds, email: &str, token: &str) -> ConnectorContext {
    let mut ctx = token_context(&ga.base_url, email, token);
    ctx.organization_id = Some(CLIENT.to_owned());
    ctx
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin signs in")
}

#[test]
fn it_is_registered_with_oauth_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(info.sign_in, SignIn::OAuth2);
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("admin standard read_only email_only".into(), READ_ONLY)
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "google-ads").unwrap();
    assert_eq!(app.connector.as_deref(), Some(google_ads::NAME));
    assert_eq!(app.roles, info.roles);
    assert!(app.capabilities.iter().all(|c| info.can(*c)));
    assert!(!info.can(Capability::KeepSeat));
}

/// The hub's OAuth settings default to Google's endpoints: the authorization request asks for
/// the Google Ads scope, offline access (a refresh token) and consent, with PKCE.
#[test]
fn the_authorization_request_asks_google_for_offline_access() {
    let schema = connector().describe().settings;
    let settings = [(
        OAUTH2_CLIENT_ID.to_owned(),
        "castellan.apps.googleusercontent.com".to_owned(),
    )]
    .into_iter()
    .collect();
    let cfg = OAuth2Config::from_schema(&schema, &settings).unwrap();
    assert_eq!(cfg.token_url, google_ads::TOKEN_URL);
    let req = OAuth2Http::default()
        .authorization_request(&cfg, "https://castellan.example.org/oauth2/callback")
        .unwrap();
    let url = url::Url::parse(&req.url).unwrap();
    assert_eq!(url.host_str(), Some("accounts.google.com"));
    let q: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("access_type"), Some("offline"));
    assert_eq!(get("prompt"), Some("consent"));
    assert_eq!(get("scope"), Some(google_ads::SCOPE));
    assert_eq!(get("code_challenge_method"), Some("S256"));
    assert!(req
        .verifier
        .is_some_and(|v| !req.url.contains(v.expose_secret())));
}

/// An invitation is an invited member `invitation:<email>`; its role cannot be updated, so a
/// change sends it again (same member id); once accepted, the person is a user with a user id,
/// whose role is updated in place; both are removed.
#[tokio::test]
async fn invitations_are_sent_again_for_a_role_and_accepted_users_updated() {
    let ga = GoogleAds::start();
    let c = connector();
    let ctx = context(&ga, &ga.admin_email, &ga.admin_token);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("Nia@Example.com", STANDARD))
        .await
        .unwrap();
    assert_eq!(
        (m.app_member_id.as_str(), m.state),
        ("invitation:nia@example.com", MemberState::Invited)
    );
    assert_eq!(ga.invited("nia@example.com").as_deref(), Some("STANDARD"));
    let again = c
        .update_role(&ctx, &s, &m.app_member_id, ADMIN)
        .await
        .unwrap();
    assert_eq!(
        (again.app_member_id, again.roles),
        (m.app_member_id.clone(), vec![ADMIN.to_owned()])
    );
    assert_eq!(ga.invited("nia@example.com").as_deref(), Some("ADMIN"));

    let user = ga.accept("nia@example.com").unwrap();
    let found = c
        .find_by_email(&ctx, &s, "nia@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.app_member_id.as_str(), found.state),
        (user.as_str(), MemberState::Active)
    );
    let m = c.update_role(&ctx, &s, &user, READ_ONLY).await.unwrap();
    assert_eq!(m.roles, [READ_ONLY]);
    assert_eq!(ga.role("nia@example.com").as_deref(), Some("READ_ONLY"));
    c.remove(&ctx, &s, &user).await.unwrap();
    assert!(ga.role("nia@example.com").is_none());

    let pending = c
        .invite(&ctx, &s, &invitation("bo@example.com", READ_ONLY))
        .await
        .unwrap();
    c.remove(&ctx, &s, &pending.app_member_id).await.unwrap();
    assert!(ga.invited("bo@example.com").is_none());
    c.remove(&ctx, &s, &pending.app_member_id).await.unwrap();
}

/// An admin of the manager account reaches the client account with `login-customer-id`; Google
/// keeps the client's last admin. Without the header the same account is refused, with a hint.
#[tokio::test]
async fn a_manager_admin_works_through_login_customer_id_and_the_last_admin_stays() {
    let ga = GoogleAds::start();
    let c = connector();
    let mut ctx = context(&ga, &ga.manager_email, &ga.manager_token);
    let err = c.login(&ctx).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("login customer ID")),
        "{err}"
    );
    ctx.settings
        .insert(LOGIN_CUSTOMER_ID.into(), MANAGER.into());
    let s = session(&*c, &ctx).await;
    c.verify_permissions(&ctx, &s).await.unwrap();
    let (all, _) = list_all(&*c, &ctx, &s).await.unwrap();
    assert!(all
        .iter()
        .any(|m| m.email.as_deref() == Some("admin@standin.test")));
    assert!(ga
        .headers_seen()
        .iter()
        .any(|(_, l)| l.as_deref() == Some(MANAGER)));
    let err = c
        .update_role(&ctx, &s, &ga.admin_id, STANDARD)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Conflict(m) if m.contains("LAST_ADMIN_USER_OF_SERVING_CUSTOMER")),
        "{err}"
    );
    assert_eq!(ga.role(&ga.admin_email).as_deref(), Some("ADMIN"));
}

/// The developer token is sent when the hub still sets one, never otherwise, and never shows in
/// an error.
#[tokio::test]
async fn the_developer_token_is_sent_only_when_set() {
    let ga = GoogleAds::start();
    let c = connector();
    let mut ctx = context(&ga, &ga.admin_email, &ga.admin_token);
    session(&*c, &ctx).await;
    assert!(ga.headers_seen().iter().all(|(dev, _)| !dev));
    ctx.settings
        .insert(DEVELOPER_TOKEN.into(), "DEVTOKEN-sekret-22chars".into());
    let s = session(&*c, &ctx).await;
    assert!(ga.headers_seen().last().is_some_and(|(dev, _)| *dev));
    ctx.api_token = Some("ya29.revoked".to_owned().into());
    let err = c.login(&ctx).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::BadCredentials(_)), "{err}");
    assert!(!format!("{err} {s:?}").contains("DEVTOKEN-sekret"));
}

/// Sign-in refuses what Google Ads would: a customer ID with dashes, a STANDARD user, a wrong
/// token (Google's `UNAUTHENTICATED`, never quoting it).
#[tokio::test]
async fn sign_in_checks_the_customer_id_the_role_and_the_token() {
    let ga = GoogleAds::start();
    let c = connector();
    let mut dashed = context(&ga, &ga.admin_email, &ga.admin_token);
    dashed.organization_id = Some("123-456-7890".into());
    let err = c.login(&dashed).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(m) if m.contains("without dashes")),
        "{err}"
    );
    let standard = context(&ga, "standard@standin.test", &ga.standard_token);
    let err = c.login(&standard).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("STANDARD")),
        "{err}"
    );
    let wrong = context(&ga, &ga.admin_email, "ya29.not-a-token");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("OAUTH_TOKEN_INVALID") && m.contains("request id") && !m.contains("ya29.not")),
        "{err}"
    );
}

/// A change Google holds for another admin's approval is `NeedsHuman`, and nothing is made.
#[tokio::test]
async fn multi_party_approval_needs_a_person() {
    let ga = GoogleAds::start();
    let c = connector();
    let ctx = context(&ga, &ga.admin_email, &ga.admin_token);
    let s = session(&*c, &ctx).await;
    ga.require_approval(true);
    let err = c
        .invite(&ctx, &s, &invitation("mpa@example.com", READ_ONLY))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::NeedsHuman(m) if m.contains("multiPartyAuthReviews")),
        "{err}"
    );
    assert!(ga.invited("mpa@example.com").is_none());
}

/// `RESOURCE_EXHAUSTED` is `RateLimited` with the `retryDelay` of Google's
/// `quotaErrorDetails` (a minute: more than the SDK waits in one call).
#[tokio::test]
async fn resource_exhausted_carries_googles_retry_delay() {
    let ga = GoogleAds::start();
    let c = connector();
    let ctx = context(&ga, &ga.admin_email, &ga.admin_token);
    let s = session(&*c, &ctx).await;
    ga.set_rate_limit(0);
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
