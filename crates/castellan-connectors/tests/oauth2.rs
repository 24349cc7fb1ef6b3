//! The SDK's OAuth 2.0 client (`sdk::oauth2`) against the stand-in authorization server
//! (`castellan_standins::oauth2`, written from RFC 6749 and RFC 7636): the authorization request
//! with PKCE S256 and `state`, the code exchange, single-use codes, refresh with rotation, and a
//! revoked grant mapped to `BadCredentials` with the server's reason.
//!
//! `cargo test -p castellan-connectors --test oauth2`

use castellan_connectors::sdk::oauth2::OAuth2Http;
use castellan_core::connector::oauth2::{OAuth2Client, OAuth2Config};
use castellan_core::connector::ConnectorError;
use castellan_standins::oauth2::{Client, OAuth2StandIn};
use secrecy::{ExposeSecret, SecretString};

const REDIRECT: &str = "http://castellan.test/oauth2/callback";

fn stand_in(secret: Option<&str>, require_pkce: bool) -> OAuth2StandIn {
    OAuth2StandIn::start(Client {
        id: "castellan".into(),
        secret: secret.map(str::to_owned),
        redirect_uri: REDIRECT.into(),
        require_pkce,
    })
}

fn config(s: &OAuth2StandIn, pkce: bool) -> OAuth2Config {
    OAuth2Config {
        client_id: "castellan".into(),
        authorize_url: s.authorize_url(),
        token_url: s.token_url(),
        scopes: vec!["users:read".into(), "users:write".into()],
        pkce,
        allow_private: true,
    }
}

/// Follows the authorization URL as the admin's browser would, and returns the redirect's
/// query pairs.
async fn approve(url: &str) -> Vec<(String, String)> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(REDIRECT), "{to}");
    url::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn authorization_code_with_pkce_then_refresh_with_rotation_then_revocation() {
    let s = stand_in(Some("s3cret"), true);
    let client = OAuth2Http::default();
    let cfg = config(&s, true);
    let secret = SecretString::from("s3cret");
    let req = client.authorization_request(&cfg, REDIRECT).unwrap();
    let url = url::Url::parse(&req.url).unwrap();
    let q: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    assert_eq!(get(&q, "response_type"), Some("code"));
    assert_eq!(get(&q, "code_challenge_method"), Some("S256"));
    assert_eq!(get(&q, "scope"), Some("users:read users:write"));
    assert_eq!(get(&q, "state"), Some(req.state.expose_secret()));
    assert!(req.state.expose_secret().len() >= 16, "state too short");
    let verifier = req.verifier.expect("a PKCE verifier");
    assert!(
        !req.url.contains(verifier.expose_secret()),
        "the verifier left"
    );

    let back = approve(&req.url).await;
    assert_eq!(get(&back, "state"), Some(req.state.expose_secret()));
    let code = SecretString::from(get(&back, "code").unwrap().to_owned());

    // A wrong verifier is refused, and spends the code (single use).
    let wrong = SecretString::from("x".repeat(50));
    let e = client
        .exchange_code(&cfg, Some(&secret), REDIRECT, &code, Some(&wrong))
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectorError::BadCredentials(_)), "{e}");
    assert!(e.to_string().contains("invalid_grant"), "{e}");

    let req = client.authorization_request(&cfg, REDIRECT).unwrap();
    let back = approve(&req.url).await;
    let code = SecretString::from(get(&back, "code").unwrap().to_owned());
    let tokens = client
        .exchange_code(&cfg, Some(&secret), REDIRECT, &code, req.verifier.as_ref())
        .await
        .unwrap();
    assert_eq!(
        tokens.expires_in,
        Some(std::time::Duration::from_secs(3600))
    );
    let first = tokens.refresh_token.expect("a refresh token");
    // The code works once.
    let e = client
        .exchange_code(&cfg, Some(&secret), REDIRECT, &code, req.verifier.as_ref())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already used"), "{e}");
    assert!(!e.to_string().contains(code.expose_secret()), "{e}");

    // The grant was revoked by the code's reuse (RFC 6749 §4.1.2): start again.
    let req = client.authorization_request(&cfg, REDIRECT).unwrap();
    let back = approve(&req.url).await;
    let code = SecretString::from(get(&back, "code").unwrap().to_owned());
    let tokens = client
        .exchange_code(&cfg, Some(&secret), REDIRECT, &code, req.verifier.as_ref())
        .await
        .unwrap();
    let rt1 = tokens.refresh_token.unwrap();
    assert_ne!(rt1.expose_secret(), first.expose_secret());
    let refreshed = client.refresh(&cfg, Some(&secret), &rt1).await.unwrap();
    let rt2 = refreshed.refresh_token.expect("a rotated refresh token");
    assert_ne!(rt2.expose_secret(), rt1.expose_secret());
    assert_eq!(s.stats().refreshes, 1);
    // The old refresh token is spent.
    let e = client.refresh(&cfg, Some(&secret), &rt1).await.unwrap_err();
    assert!(matches!(e, ConnectorError::BadCredentials(_)), "{e}");

    s.revoke_all();
    let e = client.refresh(&cfg, Some(&secret), &rt2).await.unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ConnectorError::BadCredentials(_)), "{text}");
    assert!(text.contains("invalid_grant"), "{text}");
    assert!(text.contains("invalid, expired or revoked"), "{text}");
    assert!(!text.contains(rt2.expose_secret()), "{text}");
}

#[tokio::test]
async fn client_errors_are_named_and_public_clients_send_their_id() {
    let s = stand_in(Some("s3cret"), false);
    let client = OAuth2Http::default();
    let cfg = config(&s, false);
    let req = client.authorization_request(&cfg, REDIRECT).unwrap();
    assert!(req.verifier.is_none());
    assert!(!req.url.contains("code_challenge"));
    let back = approve(&req.url).await;
    let code = SecretString::from(get(&back, "code").unwrap().to_owned());
    let wrong = SecretString::from("not-the-secret");
    let e = client
        .exchange_code(&cfg, Some(&wrong), REDIRECT, &code, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid_client"), "{e}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");

    let public = stand_in(None, true);
    let cfg = config(&public, true);
    let req = client.authorization_request(&cfg, REDIRECT).unwrap();
    let back = approve(&req.url).await;
    let code = SecretString::from(get(&back, "code").unwrap().to_owned());
    let t = client
        .exchange_code(&cfg, None, REDIRECT, &code, req.verifier.as_ref())
        .await
        .unwrap();
    assert!(t.refresh_token.is_some());

    // An unreachable token endpoint is Unavailable (retried by the engine).
    let mut gone = cfg.clone();
    gone.token_url = "http://127.0.0.1:9/token".into();
    let e = client
        .refresh(&gone, None, &SecretString::from("rt"))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    // A token endpoint on a private address is refused for a public-only hub.
    gone.allow_private = false;
    let e = client
        .refresh(&gone, None, &SecretString::from("rt"))
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectorError::Configuration(_)), "{e}");
}
