//! The MediaWiki browser connector (the wiki's special pages in headless Chromium) against the
//! same real MediaWiki as the API connector (`tests/mediawiki.rs`, `tests/mediawiki_site`): the
//! conformance suite through [`BrowserFixture`], a logging proxy showing it sends no request to
//! `api.php`, and what only the browser has (MediaWiki's own words for a wrong password, roles
//! read from `Special:UserRights`, the invitation records both connectors read).
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/install-test-deps.sh installs them).
//! The automation account is `Admin`; members and the account without rights are made out of
//! band through the Action API, as for the API connector's tests.
//!
//! MediaWiki shows nobody's email address, so the fixture says so ([`Fixture::shows_emails`]):
//! the suite knows seeded members by name, and its lookup by the address of a member made
//! outside Castellan is unsupported.

use std::sync::Arc;

use async_trait::async_trait;
use castellan_browser::{ChromiumConfig, ChromiumEngine};
use castellan_conformance::fault_proxy::{Fault, FaultProxy, Write, ANY_WRITE};
use castellan_conformance::harness::{password_context, session_cookie, unique};
use castellan_conformance::{Fixture, Outcome};
use castellan_connectors::mediawiki::MediaWikiConnector;
use castellan_connectors::mediawiki_browser::{MediaWikiBrowserConnector, MediaWikiPages};
use castellan_connectors::sdk::browser::BrowserBot;
use castellan_core::connector::browser::BrowserCookie;
use castellan_core::connector::{
    Connector, ConnectorContext, ConnectorError, Invitation, MemberState,
};

mod mediawiki_site;
use mediawiki_site::*;

/// A browser bot of its own per test (each test has its own runtime).
fn bot() -> BrowserBot {
    BrowserBot::new(Arc::new(ChromiumEngine::new(ChromiumConfig::default())))
}

fn connector() -> MediaWikiBrowserConnector {
    MediaWikiPages::connector(bot())
}

/// The conformance suite's fixture for the browser connector: `Admin`, `Conformance plain` and
/// the seeded members as for the API connector. A member's id is its username.
struct BrowserFixture {
    bot: BrowserBot,
}

#[async_trait]
impl Fixture for BrowserFixture {
    fn connector(&self) -> Arc<dyn Connector> {
        Arc::new(MediaWikiPages::connector(self.bot.clone()))
    }

    fn base_url(&self) -> String {
        base()
    }

    fn context(&self, base_url: &str) -> ConnectorContext {
        WIKI.context(base_url)
    }

    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        Some(plain_context(base_url).await)
    }

    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        seed(prefix, n).await
    }

    async fn automation_member(&self) -> Option<String> {
        Some(ADMIN.into())
    }

    fn shows_emails(&self) -> bool {
        false
    }

    /// MediaWiki answers the forms the connector sends with a page of its own: a redirect (302)
    /// after a sign-in or a change of groups (`Special:UserRights`), and a page that says what it
    /// did (200) after an account creation, a block, an unblock and a Watch or Unwatch. A form
    /// it refused is shown again with its reason, also 200: the status cannot tell the two
    /// apart, so every form MediaWiki answered counts as carried out (a refused one sent twice
    /// counts as a write done twice), but for the Watch and Unwatch of an invitation record
    /// (`action=watch`, `action=unwatch`): a title is on the watchlist or not, MediaWiki answers
    /// 200 either way, so the answer cannot say whether this request changed anything, and one
    /// sent again changes nothing. (Chromium sends a form again by itself when the connection is
    /// reset before the answer, as the "reset after a write" case does to the invitation's first
    /// write, the record's Watch.) [`it_sends_nothing_to_api_php`] checks these statuses in the
    /// proxy's log.
    fn carried_out(&self, w: &Write) -> bool {
        let record = w.path.contains("action=watch") || w.path.contains("action=unwatch");
        matches!(w.status, 200 | 302 | 303) && !record
    }
}

/// Every case the API connector passes but "resource roles" (MediaWiki has no resources) and
/// "get and find by email" (MediaWiki shows nobody's address: unsupported, as for the API
/// connector).
#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&BrowserFixture { bot: bot() }).await;
    for case in ["resource roles", "get and find by email"] {
        assert!(
            matches!(report.outcome(case), Some(Outcome::Unsupported(_))),
            "{case}: {:?}",
            report.outcome(case)
        );
    }
    for case in castellan_conformance::CASES {
        if !["resource roles", "get and find by email"].contains(case) {
            assert_eq!(report.outcome(case), Some(&Outcome::Passed), "{case}");
        }
    }
}

fn invitation(email: &str, username: Option<&str>, role: &str) -> Invitation {
    Invitation {
        email: email.to_owned(),
        username: username.map(str::to_owned),
        name: Some("Browser Person".to_owned()),
        role: role.to_owned(),
    }
}

/// Through a proxy that logs every request and refuses (403) any to `api.php`: a sign-in, a
/// listing, an invitation as `sysop` (`Special:CreateAccount`, then `Special:UserRights`), a
/// role change, removal (every group off, `Special:Block`) and an invitation again
/// (`Special:Unblock`) all work, and no request reached `api.php` at all: only `index.php`
/// (the special pages, the Watch action) and `load.php` (the pages' scripts and styles).
///
/// The sign-up form's own scripts would ask `api.php` whether the name is free
/// (`list=users`) and the password good (`action=validatepassword`, a POST) as a person types;
/// the connector switches those live checks off before it types (MediaWiki checks both again
/// when the form is sent), which the empty `api.php` log shows, and the refusal rule shows that
/// nothing the connector needs comes from `api.php`.
///
/// The log also shows how MediaWiki answers the forms ([`BrowserFixture::carried_out`]): the
/// sign-in and the change of groups with a redirect, the account creation and the block with
/// a page (200).
#[tokio::test]
async fn it_sends_nothing_to_api_php() {
    let proxy = FaultProxy::start(&base()).await;
    let refused = Fault::Status(403);
    proxy.fail("GET", "api.php", refused, 1000);
    proxy.fail(ANY_WRITE, "api.php", Fault::Status(403), 1000);
    let c = connector();
    let ctx = WIKI.context(&proxy.url);
    let s = c
        .login(&ctx)
        .await
        .expect("Admin signs in through the proxy");
    assert_eq!(
        (s.data["user"].as_str(), s.data["user_id"].as_u64()),
        (Some(ADMIN), Some(1))
    );
    let first = c.list_members(&ctx, &s, None).await.unwrap();
    assert!(first.members.iter().any(|m| m.app_member_id == ADMIN));

    let sfx = unique();
    let email = format!("mwb.pages.{sfx}@browser.test");
    let m = c
        .invite(&ctx, &s, &invitation(&email, None, "sysop"))
        .await
        .unwrap();
    let name = format!("Mwb.pages.{sfx}");
    assert_eq!(
        (
            m.app_member_id.as_str(),
            m.email.as_deref(),
            m.roles.clone()
        ),
        (
            name.as_str(),
            Some(email.as_str()),
            vec!["sysop".to_owned()]
        )
    );
    let u = Raw::admin().await.user(&name).await.expect("made");
    assert_eq!(
        (explicit(&u), u["emailable"].as_bool()),
        (vec!["sysop"], Some(true))
    );

    let up = c.update_role(&ctx, &s, &name, "bot").await.unwrap();
    assert_eq!(up.roles, ["bot"]);
    c.remove(&ctx, &s, &name).await.unwrap();
    let u = Raw::admin().await.user(&name).await.unwrap();
    assert_eq!(
        (u["blockexpiry"].as_str(), explicit(&u)),
        (Some("infinite"), vec![])
    );
    let gone = c.get_member(&ctx, &s, &name).await.unwrap().unwrap();
    assert_eq!(gone.state, MemberState::Deactivated);
    let back = c
        .invite(&ctx, &s, &invitation(&email, None, "user"))
        .await
        .unwrap();
    assert_eq!(
        (back.app_member_id.as_str(), back.state, back.roles.clone()),
        (name.as_str(), MemberState::Active, vec!["user".to_owned()])
    );

    let seen = proxy.requests();
    assert!(seen.len() > 20, "{seen:?}");
    let api: Vec<_> = seen.iter().filter(|(_, p)| p.contains("api.php")).collect();
    assert!(api.is_empty(), "the browser called api.php: {api:?}");
    let other: Vec<_> = seen
        .iter()
        .map(|(_, p)| p.split('?').next().unwrap_or_default())
        .filter(|p| !["/index.php", "/load.php"].contains(p))
        .filter(|p| !p.starts_with("/resources/") && !p.starts_with("/skins/"))
        .filter(|p| !p.starts_with("/index.php/") && *p != "/favicon.ico")
        .collect();
    assert!(
        other.is_empty(),
        "requests beside the wiki's pages: {other:?}"
    );

    let answered = |form: &str| -> Vec<u16> {
        let writes = proxy.writes().into_iter();
        writes
            .filter(|w| w.path.contains(form))
            .map(|w| w.status)
            .collect()
    };
    assert_eq!(
        answered("Special:UserLogin").first(),
        Some(&302),
        "{:?}",
        proxy.writes()
    );
    assert_eq!(answered("Special:CreateAccount"), [200]);
    assert!(answered("Special:UserRights").iter().all(|s| *s == 302));
    assert_eq!(answered("Special:Block"), [200]);
}

/// A wrong password is `BadCredentials` in MediaWiki's own words; the roles are the groups of
/// `Special:UserRights`, most privileged first; a member is found by username or user id alike.
#[tokio::test]
async fn wrong_password_roles_and_ids() {
    let c = connector();
    let wrong = password_context(&base(), ADMIN, "not-the-password");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if m.contains("Incorrect username or password")),
        "{err:?}"
    );
    let ctx = WIKI.context(&base());
    let s = c.login(&ctx).await.unwrap();
    let admin = roles_and_admin(&c, &ctx, &s).await;
    assert_eq!(admin.app_member_id, ADMIN, "a member's id is its username");
    assert_eq!(c.get_member(&ctx, &s, "admin").await.unwrap(), Some(admin));
    assert_eq!(c.get_member(&ctx, &s, "999999999").await.unwrap(), None);
    assert_eq!(c.get_member(&ctx, &s, "bad|name").await.unwrap(), None);
    // The account without rights signs in but may not manage members.
    let plain = plain_context(&base()).await;
    let ps = c.login(&plain).await.expect("the plain account signs in");
    assert!(matches!(
        c.verify_permissions(&plain, &ps).await,
        Err(ConnectorError::InsufficientPermission(_))
    ));
}

/// Each connector finds by address the members the other invited: the browser reads the API
/// connector's records (the account's options, which every page carries) besides its own (the
/// account's watchlist), and the API connector reads the watchlist's; a name the API connector
/// made for another address stays that address's.
#[tokio::test]
async fn each_connector_reads_the_others_records() {
    let api = MediaWikiConnector::new();
    let ctx = WIKI.context(&base());
    let api_s = api.login(&ctx).await.unwrap();
    let sfx = unique();
    let email = format!("both.{sfx}@records.test");
    let made = api
        .invite(&ctx, &api_s, &invitation(&email, None, "user"))
        .await
        .unwrap();
    let name = made.name.clone().unwrap();

    let c = connector();
    let s = c.login(&ctx).await.unwrap();
    let found = c
        .find_by_email(&ctx, &s, &email.to_uppercase())
        .await
        .unwrap();
    assert_eq!(
        found.map(|m| (m.app_member_id, m.email)),
        Some((name.clone(), Some(email.clone())))
    );
    // Another address asking for that username is refused.
    let other = invitation(&format!("other.{sfx}@records.test"), Some(&name), "user");
    assert!(matches!(
        c.invite(&ctx, &s, &other).await,
        Err(ConnectorError::Conflict(_))
    ));
    // The browser's own invitation is listed with its address.
    let mine = format!("mine.{sfx}@records.test");
    let m = c
        .invite(&ctx, &s, &invitation(&mine, None, "user"))
        .await
        .unwrap();
    let (all, _) = castellan_conformance::harness::list_all(&c, &ctx, &s)
        .await
        .unwrap();
    let listed = all.iter().find(|a| a.app_member_id == m.app_member_id);
    assert_eq!(listed.and_then(|l| l.email.as_deref()), Some(mine.as_str()));

    // The API connector reads the browser's records (a hub may move back): it finds the
    // browser's invitee by address, and inviting that address again gives the same account.
    let api_s = api.login(&ctx).await.unwrap();
    let found = api.find_by_email(&ctx, &api_s, &mine).await.unwrap();
    assert_eq!(
        found.as_ref().and_then(|f| f.name.as_deref()),
        Some(m.app_member_id.as_str())
    );
    let again = api
        .invite(&ctx, &api_s, &invitation(&mine, None, "user"))
        .await
        .unwrap();
    assert_eq!(again.name.as_deref(), Some(m.app_member_id.as_str()));
}

/// A session uploaded for a job that needs attention (the cookies of `Admin`'s own sign-in):
/// taken when the wiki shows the automation account signed in with it, and the connector works
/// on it without signing in; refused when it is not signed in.
#[tokio::test]
async fn an_uploaded_session_is_taken_only_when_the_wiki_shows_the_account() {
    let c = connector();
    let ctx = WIKI.context(&base());
    let raw = Raw::admin().await;
    let cookies: Vec<BrowserCookie> = raw
        .cookie_pairs()
        .into_iter()
        .map(|(name, value)| session_cookie(&name, &value))
        .collect();
    assert!(!cookies.is_empty());
    let s = c
        .adopt_session(&ctx, cookies.clone())
        .await
        .expect("Admin's own session");
    let page = c.list_members(&ctx, &s, None).await.unwrap();
    assert!(!page.members.is_empty());

    let stale: Vec<BrowserCookie> = cookies
        .into_iter()
        .map(|c| session_cookie(&c.name, "not-a-session"))
        .collect();
    let err = c.adopt_session(&ctx, stale).await.unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
}

/// Names that look like something else read as what they are: a username of digits is that
/// user, not the user with that id; a username that spells the list's "blocked" marker is not
/// blocked, and its removal does block it.
#[tokio::test]
async fn names_that_look_like_ids_or_markers_are_only_names() {
    let raw = Raw::admin().await;
    let c = connector();
    let ctx = WIKI.context(&base());
    let s = c.login(&ctx).await.unwrap();

    // "2" as a username (made outside Castellan) besides user id 2, who is someone else.
    if raw.user("2").await.is_none() {
        raw.create("2", "two@outside.test").await;
    }
    let two = c.get_member(&ctx, &s, "2").await.unwrap().expect("user 2");
    assert_eq!(two.name.as_deref(), Some("2"));
    assert_eq!(two.app_member_id, "2");

    let sfx = unique();
    let name = format!("Eve (listusers-blocked) {sfx}");
    raw.create(&name, &format!("eve.{sfx}@outside.test")).await;
    let eve = c.get_member(&ctx, &s, &name).await.unwrap().expect("Eve");
    assert_eq!(eve.state, MemberState::Active, "{eve:?}");
    c.remove(&ctx, &s, &name).await.unwrap();
    let after = raw.user(&name).await.expect("Eve is kept");
    assert!(after.get("blockid").is_some(), "Eve is blocked: {after}");
    let eve = c.get_member(&ctx, &s, &name).await.unwrap().expect("Eve");
    assert_eq!(eve.state, MemberState::Deactivated, "{eve:?}");
}
