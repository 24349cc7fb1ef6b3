//! The App Store Connect connector against its stand-in (`castellan_standins::app_store_connect`,
//! written from Apple's App Store Connect API reference; Apple cannot run here): the conformance
//! suite through [`fixture`] (a team key of the Admin role as the automation account's, one of
//! the Developer role as the account without admin rights), then what only App Store Connect has
//! (tokens signed with the team's key and checked by the stand-in, users and invitations over
//! `links.next` pages, roles as Apple writes them, invitations sent again on a role change, the
//! Account Holder kept, JSON:API errors, the hourly rate limit's 429).
//!
//! Each test starts its own stand-in. Run:
//! `cargo test -p castellan-connectors --test app_store_connect`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use castellan_conformance::harness::{invitation, list_all};
use castellan_conformance::TokenFixture;
use castellan_connectors::app_store_connect::{self, DEVELOPER, ISSUER_ID, KEY_ID};
use castellan_connectors::sdk::jwt::now;
use castellan_connectors::Registry;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, Invitation,
    MemberState, SignIn,
};
use castellan_standins::app_store_connect::{AppStoreConnect, AUDIENCE};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(app_store_connect::NAME)
        .expect("app_store_connect is registered")
}

/// The conformance fixture: its own stand-in, the Admin key (its `.p8` text as the account's
/// token, its id and the issuer id as the hub's settings), the Developer key as the account
/// without admin rights (with its own key id); pages of 200, so 500 users are three.
fn fixture(asc: &AppStoreConnect) -> TokenFixture {
    let seeder = asc.clone();
    TokenFixture::new(
        connector(),
        &asc.base_url,
        "team key",
        &asc.admin_key,
        move |email, i| {
            seeder.seed(email, &format!("Seeded{i}"), &[DEVELOPER]);
        },
    )
    .setting(KEY_ID, &asc.admin_key_id)
    .setting(ISSUER_ID, &asc.issuer_id)
    .non_admin(&asc.developer_key)
    .non_admin_setting(KEY_ID, &asc.developer_key_id)
    .listing_size(500)
}

#[tokio::test]
async fn conformance() {
    let asc = AppStoreConnect::start();
    let report = castellan_conformance::run(&fixture(&asc)).await;
    assert!(report.failures().is_empty());
}

// ---- what only App Store Connect has -----------------------------------------------------------

fn context(asc: &AppStoreConnect) -> ConnectorContext {
    fixture(asc).context_with(&asc.base_url, &asc.admin_key)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the Admin key signs in")
}

/// The claims of a token (its middle part; the signature is the stand-in's to check).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[test]
fn it_signs_its_own_tokens_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(info.sign_in, SignIn::ApiToken);
    assert_eq!(
        (info.roles[0].as_str(), info.default_role.as_str()),
        ("ADMIN", DEVELOPER)
    );
    for key in [KEY_ID, ISSUER_ID] {
        let field = info.settings.iter().find(|f| f.key == key);
        assert!(field.is_some_and(|f| f.required), "{key}");
    }
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps
        .iter()
        .find(|a| a.id.as_str() == "app-store-connect")
        .unwrap();
    assert_eq!(app.connector.as_deref(), Some(app_store_connect::NAME));
    assert_eq!(app.roles, info.roles);
}

/// The session's token is an ES256 JWT of the hub's key and issuer for Apple's audience, living
/// 15 minutes; the stand-in refuses expired, foreign-audience and too long-lived tokens with
/// 401 `NOT_AUTHORIZED`; a session near its token's end signs a new one.
#[tokio::test]
async fn tokens_are_signed_checked_and_renewed() {
    let asc = AppStoreConnect::start();
    let c = connector();
    let ctx = context(&asc);
    let s = session(&*c, &ctx).await;
    let token = s.token.expose_secret();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(
        (header.alg, header.kid.as_deref()),
        (
            jsonwebtoken::Algorithm::ES256,
            Some(asc.admin_key_id.as_str())
        )
    );
    let got = claims(token);
    assert_eq!(
        (&got["iss"], &got["aud"]),
        (&json!(asc.issuer_id), &json!(AUDIENCE))
    );
    assert_eq!(
        got["exp"].as_u64().unwrap() - got["iat"].as_u64().unwrap(),
        900
    );

    let http = reqwest::Client::new();
    let t = now();
    let iss = asc.issuer_id.as_str();
    for bad in [
        json!({"iss": iss, "iat": t - 1300, "exp": t - 100, "aud": AUDIENCE}),
        json!({"iss": iss, "iat": t, "exp": t + 600, "aud": "appstoreconnect-v2"}),
        json!({"iss": "someone-else", "iat": t, "exp": t + 600, "aud": AUDIENCE}),
        json!({"iss": iss, "iat": t, "exp": t + 1800, "aud": AUDIENCE}),
    ] {
        let r = http
            .get(format!("{}/users", asc.base_url))
            .bearer_auth(asc.token(&bad))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{bad}");
        assert!(r.headers().contains_key("x-rate-limit"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "NOT_AUTHORIZED", "{bad}");
    }

    let expired = asc.token(&json!({"iss": iss, "iat": t - 1300, "exp": t - 100, "aud": AUDIENCE}));
    let stale = AppSession {
        token: SecretString::from(expired),
        data: json!({ "exp": t + 600 }),
    };
    let err = c.list_members(&ctx, &stale, None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if m.contains("NOT_AUTHORIZED")),
        "{err}"
    );
    let ending = AppSession {
        data: json!({ "exp": t + 60 }),
        ..stale
    };
    assert!(c.list_members(&ctx, &ending, None).await.is_ok());
}

/// 421 users and 210 invitations: three pages of users and two of invitations (`links.next`),
/// roles as Apple sends them (several for one user), invitations `invited`.
#[tokio::test]
async fn users_then_invitations_are_listed_over_pages() {
    let asc = AppStoreConnect::start();
    for i in 0..419 {
        asc.seed(&format!("u{i}@example.com"), "User", &[DEVELOPER]);
    }
    asc.seed("money@example.com", "Money", &["FINANCE", "SALES"]);
    let c = connector();
    let ctx = context(&asc);
    let s = session(&*c, &ctx).await;
    for i in 0..210 {
        let inv = invitation(&format!("inv{i}@example.com"), "marketing");
        let m = c.invite(&ctx, &s, &inv).await.unwrap();
        assert_eq!(
            (m.state, m.roles.clone()),
            (MemberState::Invited, vec!["MARKETING".to_owned()])
        );
    }
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (421 + 210, 5));
    let roles = |email: &str| {
        let m = all
            .iter()
            .find(|m| m.email.as_deref() == Some(email))
            .unwrap();
        m.roles.clone()
    };
    assert_eq!(roles("money@example.com"), ["FINANCE", "SALES"]);
    assert_eq!(roles("holder@standin.test"), ["ACCOUNT_HOLDER", "ADMIN"]);
}

/// A user's roles become exactly the one given; `ACCOUNT_HOLDER` is refused before anything is
/// sent; a pending invitation is sent again with the new role and its names; the Account Holder
/// cannot be removed (Apple's 409); a removed user is gone.
#[tokio::test]
async fn roles_invitations_and_the_account_holder() {
    let asc = AppStoreConnect::start();
    let c = connector();
    let ctx = context(&asc);
    let s = session(&*c, &ctx).await;
    let money = asc.seed("money@example.com", "Money", &["FINANCE", "SALES"]);
    let m = c
        .update_role(&ctx, &s, &money, "app_manager")
        .await
        .unwrap();
    assert_eq!(
        (m.roles.clone(), asc.roles(&money)),
        (
            vec!["APP_MANAGER".to_owned()],
            Some(vec!["APP_MANAGER".to_owned()])
        )
    );
    let holder = c.update_role(&ctx, &s, &money, "ACCOUNT_HOLDER").await;
    assert!(matches!(holder, Err(ConnectorError::Configuration(m)) if m.contains("transfer")));

    let inv = Invitation {
        name: Some("Ana María López".into()),
        ..invitation("Ana@Example.com", DEVELOPER)
    };
    let m = c.invite(&ctx, &s, &inv).await.unwrap();
    assert_eq!(m.app_member_id, "invitation:ana@example.com");
    let sent = |r: &str| {
        Some((
            vec![r.to_owned()],
            "Ana".to_owned(),
            "María López".to_owned(),
        ))
    };
    assert_eq!(asc.invitation("ana@example.com"), sent(DEVELOPER));
    let m = c
        .update_role(&ctx, &s, &m.app_member_id, "MARKETING")
        .await
        .unwrap();
    assert_eq!(
        (m.state, asc.invitation("ana@example.com")),
        (MemberState::Invited, sent("MARKETING"))
    );
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert_eq!(asc.invitation("ana@example.com"), None);

    let err = c
        .remove(&ctx, &s, &asc.account_holder_id)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Conflict(m) if m.contains("Account Holder")),
        "{err}"
    );
    c.remove(&ctx, &s, &money).await.unwrap();
    assert_eq!(asc.roles(&money), None);
    assert!(c.get_member(&ctx, &s, &money).await.unwrap().is_none());
}

/// A Developer key is refused with Apple's `FORBIDDEN_ERROR`; a hub without a key id is
/// `Configuration`; a secret that is no key is `BadCredentials` that does not quote it.
#[tokio::test]
async fn keys_and_settings_are_checked() {
    let asc = AppStoreConnect::start();
    let c = connector();
    let mut dev = fixture(&asc).context_with(&asc.base_url, &asc.developer_key);
    dev.settings
        .insert(KEY_ID.into(), asc.developer_key_id.clone());
    let err = c.login(&dev).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("FORBIDDEN_ERROR")),
        "{err}"
    );
    let mut no_key_id = context(&asc);
    no_key_id.settings.remove(KEY_ID);
    assert!(
        matches!(c.login(&no_key_id).await, Err(ConnectorError::Configuration(m)) if m.contains("key_id"))
    );
    let other_key = fixture(&asc).context_with(&asc.base_url, &asc.developer_key);
    let err = c.login(&other_key).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::BadCredentials(_)), "{err}");
    let pem = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----";
    let err = c
        .login(&fixture(&asc).context_with(&asc.base_url, pem))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if !m.contains("c2VjcmV0")),
        "{err}"
    );
}

/// Past the hour's budget Apple answers 429 `RATE_LIMIT_EXCEEDED` without `Retry-After`: a
/// minute's wait, more than one call waits, so the listing is `RateLimited` with it.
#[tokio::test]
async fn the_hourly_limit_is_rate_limited() {
    let asc = AppStoreConnect::start();
    let c = connector();
    let ctx = context(&asc);
    let s = session(&*c, &ctx).await;
    asc.set_rate_limit(0);
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(60)))
        }
        other => panic!("{other:?}"),
    }
}
