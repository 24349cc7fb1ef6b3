//! The WordPress browser connector (`wp-admin` in headless Chromium) against the same real
//! WordPress as the API connector: the conformance suite through [`BrowserFixture`], then that it
//! opened only wp-admin's pages (no REST API, no admin-ajax) and what only the browser has.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/install-test-deps.sh installs them).
//! The automation account is `admin` with its password (`DIR/admin-password`).

use std::sync::Arc;

use async_trait::async_trait;
use castellan_browser::{ChromiumConfig, ChromiumEngine};
use castellan_conformance::fault_proxy::{FaultProxy, Write};
use castellan_conformance::harness::unique;
use castellan_conformance::Fixture;
use castellan_connectors::sdk::browser::BrowserBot;
use castellan_connectors::wordpress::REASSIGN_TO;
use castellan_connectors::wordpress_browser::{
    WordPressAdmin, WordPressBrowserConnector, ROWS_PER_PAGE,
};
use castellan_core::connector::{Connector, ConnectorContext, ConnectorError, Invitation};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

mod wordpress_site;
use wordpress_site::*;

/// An editor that signs in with a password but may not manage users.
const BROWSER_EDITOR: &str = "castellan_browser_editor";

/// One test at a time: WordPress keeps an account's sessions in one user meta row rewritten
/// whole, so `admin` signing in from several tests at once can drop another test's session.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A browser bot of its own per test (each test has its own runtime).
fn bot() -> BrowserBot {
    BrowserBot::new(Arc::new(ChromiumEngine::new(ChromiumConfig::default())))
}

/// The users table at 100 rows a page: the suite's listing case (250 seeded members) then
/// reads it over several pages.
fn password_context(base: &str, username: &str, password: &str) -> ConnectorContext {
    let mut ctx = ConnectorContext::new(base, username, SecretString::from(password.to_owned()));
    ctx.settings.insert(REASSIGN_TO.into(), ADMIN.into());
    ctx.settings.insert(ROWS_PER_PAGE.into(), "100".into());
    ctx
}

/// The conformance suite's fixture for the browser connector.
#[derive(Debug)]
struct BrowserFixture {
    bot: BrowserBot,
}

#[async_trait]
impl Fixture for BrowserFixture {
    fn connector(&self) -> Arc<dyn Connector> {
        Arc::new(WordPressAdmin::connector(self.bot.clone()))
    }

    fn base_url(&self) -> String {
        site().base_url
    }

    /// `admin` with its password; removed members' posts go to `admin`.
    fn context(&self, base_url: &str) -> ConnectorContext {
        password_context(base_url, ADMIN, &secret_file("admin-password"))
    }

    /// An editor with a fresh password, set out of band.
    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        let raw = raw();
        let found = search(&raw, BROWSER_EDITOR).await;
        let id = match found.iter().find(|u| u["username"] == BROWSER_EDITOR) {
            Some(u) => u["id"].clone(),
            None => {
                let email = "browser-editor@castellan.test";
                create_user(&raw, BROWSER_EDITOR, email, "editor").await["id"].clone()
            }
        };
        let password = format!("Pw-{}", unique());
        let body = json!({ "password": password });
        raw.ok(
            Method::POST,
            &format!("/wp-json/wp/v2/users/{id}"),
            Some(body),
        )
        .await;
        Some(password_context(base_url, BROWSER_EDITOR, &password))
    }

    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        seed(prefix, n).await
    }

    async fn automation_member(&self) -> Option<String> {
        Some("1".into())
    }

    /// wp-admin answers a form it carried out with a redirect; one it refused is shown again.
    fn carried_out(&self, w: &Write) -> bool {
        matches!(w.status, 302 | 303)
    }
}

#[tokio::test]
async fn conformance() {
    let _one = ONE_AT_A_TIME.lock().await;
    castellan_conformance::run(&BrowserFixture { bot: bot() }).await;
}

fn invitation(email: &str, role: &str) -> Invitation {
    let name = Some("Browser Person".to_owned());
    Invitation {
        email: email.to_owned(),
        username: None,
        name,
        role: role.to_owned(),
    }
}

/// Through a proxy that logs every request: a sign-in, a listing, an invitation, a role change,
/// keep-seat removal and removal open only wp-admin's pages and the sign-in page, with their
/// scripts, styles and images, and never the REST API (`/wp-json`, `rest_route`) or XML-RPC.
/// (The pages' own scripts may post to `admin-ajax.php`, as in a person's browser: Add New
/// User asks it for a generated password.)
#[tokio::test]
async fn it_opens_only_the_admin_pages() {
    let _one = ONE_AT_A_TIME.lock().await;
    let proxy = FaultProxy::start(&site().base_url).await;
    let f = BrowserFixture { bot: bot() };
    let (c, ctx) = (
        WordPressAdmin::connector(f.bot.clone()),
        f.context(&proxy.url),
    );
    let s = c
        .login(&ctx)
        .await
        .expect("admin signs in through the proxy");
    c.list_members(&ctx, &s, None).await.unwrap();
    let email = format!("wpb_pages_{}@example.com", unique());
    let m = c
        .invite(&ctx, &s, &invitation(&email, "author"))
        .await
        .unwrap();
    assert_eq!(
        (m.email.as_deref(), m.name.as_deref()),
        (Some(email.as_str()), Some("Browser Person"))
    );
    assert_eq!(
        c.update_role(&ctx, &s, &m.app_member_id, "editor")
            .await
            .unwrap()
            .roles,
        ["editor"]
    );
    let kept = c
        .remove_keep_seat(&ctx, &s, &m.app_member_id)
        .await
        .unwrap();
    assert!(kept.roles.is_empty());
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert_eq!(
        c.get_member(&ctx, &s, &m.app_member_id).await.unwrap(),
        None
    );
    let seen = proxy.requests();
    assert!(seen.len() > 10, "{seen:?}");
    let api: Vec<_> = seen
        .iter()
        .filter(|(_, p)| p.contains("wp-json") || p.contains("rest_route") || p.contains("xmlrpc"))
        .collect();
    assert!(api.is_empty(), "the browser called the app's API: {api:?}");
    let pages: Vec<_> = seen
        .iter()
        .filter(|(_, p)| {
            !p.starts_with("/wp-admin/")
                && !p.starts_with("/wp-login.php")
                && !p.starts_with("/wp-includes/")
        })
        .collect();
    assert!(
        pages
            .iter()
            .all(|(_, p)| p.starts_with("/wp-content/") || p == "/favicon.ico"),
        "{pages:?}"
    );
}

/// A wrong password is `BadCredentials` with WordPress's own words; roles come from the app's
/// Role select, custom ones included.
#[tokio::test]
async fn wrong_password_and_roles_from_the_role_select() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c: WordPressBrowserConnector = WordPressAdmin::connector(bot());
    let base = site().base_url;
    let bad = password_context(&base, ADMIN, "not-the-password");
    let err = c.login(&bad).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if m.contains("password")),
        "{err:?}"
    );
    let ctx = password_context(&base, ADMIN, &secret_file("admin-password"));
    let s = c.login(&ctx).await.unwrap();
    check_roles(&c.list_roles(&ctx, &s).await.unwrap());
}

/// Digits are a user id only: a user whose username is digits is not found by them (the id of
/// nobody here), so a role change or a removal by id never reaches another user.
#[tokio::test]
async fn digits_name_a_user_id_never_a_username() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = WordPressAdmin::connector(bot());
    let ctx = BrowserFixture { bot: bot() }.context(&site().base_url);
    let s = c.login(&ctx).await.unwrap();
    let login = format!(
        "9{}",
        100_000_000 + unique().len() * 1_000 + std::process::id() as usize
    );
    let u = create_user(
        &raw(),
        &login,
        &format!("wpb_digits_{}@example.com", unique()),
        "subscriber",
    )
    .await;
    assert_eq!(
        c.get_member(&ctx, &s, &login).await.unwrap(),
        None,
        "{login} is nobody's id"
    );
    let by_id = c
        .get_member(&ctx, &s, &u["id"].to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id.app_member_id, u["id"].to_string());
    c.remove(&ctx, &s, &by_id.app_member_id).await.unwrap();
}

/// One browser at most, three calls at once on one session: each waits for the browser the
/// one before leaves (none is kept idle while a call waits), and all succeed.
#[tokio::test]
async fn calls_waiting_for_the_only_browser_all_get_it() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cfg = ChromiumConfig {
        max_browsers: 1,
        open_timeout: std::time::Duration::from_secs(30),
        ..ChromiumConfig::default()
    };
    let bot = BrowserBot::new(Arc::new(ChromiumEngine::new(cfg)));
    let c = Arc::new(WordPressAdmin::connector(bot.clone()));
    let ctx = BrowserFixture { bot }.context(&site().base_url);
    let s = c.login(&ctx).await.unwrap();
    let calls = (0..3).map(|_| {
        let (c, ctx, s) = (c.clone(), ctx.clone(), s.clone());
        tokio::spawn(async move { c.get_member(&ctx, &s, "1").await })
    });
    for call in calls.collect::<Vec<_>>() {
        let admin = call
            .await
            .unwrap()
            .expect("the call got the browser in time");
        assert_eq!(admin.map(|m| m.app_member_id).as_deref(), Some("1"));
    }
}

/// The cookies WordPress sets for `user`'s own sign-in on `base` (as a person would export them
/// from their browser), each for the site's host.
async fn signed_in_cookies(
    base: &str,
    user: &str,
    password: &str,
) -> Vec<castellan_core::connector::browser::BrowserCookie> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = [("log", user), ("pwd", password), ("testcookie", "1")];
    let r = http
        .post(format!("{base}/wp-login.php"))
        .header("Cookie", "wordpress_test_cookie=WP%20Cookie%20check")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "{user} signs in");
    let pairs = r.headers().get_all("set-cookie").iter();
    let pairs = pairs.filter_map(|v| v.to_str().ok()?.split(';').next()?.split_once('='));
    pairs
        .filter(|(name, _)| *name != "wordpress_test_cookie")
        .map(|(name, value)| castellan_conformance::harness::session_cookie(name, value))
        .collect()
}

/// An uploaded session is taken only when wp-admin shows the automation account: another
/// user's own signed-in session is refused.
#[tokio::test]
async fn an_uploaded_session_must_be_the_automation_accounts() {
    let _one = ONE_AT_A_TIME.lock().await;
    let base = site().base_url;
    let f = BrowserFixture { bot: bot() };
    let c = WordPressAdmin::connector(f.bot.clone());
    let ctx = f.context(&base);
    let other = f
        .non_admin(&base)
        .await
        .expect("a user without admin rights");
    let theirs = signed_in_cookies(
        &base,
        &other.username,
        secrecy::ExposeSecret::expose_secret(&other.password),
    )
    .await;
    let err = c.adopt_session(&ctx, theirs).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if m.contains("not as the automation account")),
        "{err:?}"
    );
    let pass = secrecy::ExposeSecret::expose_secret(&ctx.password).to_owned();
    let mine = signed_in_cookies(&base, &ctx.username, &pass).await;
    c.adopt_session(&ctx, mine)
        .await
        .expect("the automation account's own session");
}
