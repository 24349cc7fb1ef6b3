//! The Trello connector against its stand-in (`castellan_standins::trello`, written from
//! Trello's REST API reference; Trello cannot run here): the conformance suite through
//! [`fixture`], then what only Trello has (the whole workspace in every answer, handed out in
//! pages; `admin` and `normal` as on the wire; unconfirmed invitees; deactivation; the key and
//! token in the `Authorization` header, never in a URL; plain-text errors; 429s without
//! `Retry-After`).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test trello`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use castellan_conformance::harness::{assert_rate_limited, invitation, list_all};
use castellan_conformance::TokenFixture;
use castellan_connectors::trello::{self, ADMIN, API_KEY, NORMAL};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState, SignIn,
};
use castellan_standins::trello::Trello;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(trello::NAME)
        .expect("trello is registered")
}

/// The conformance fixture: the workspace admin's token as the automation account's (with the
/// API key and the workspace id as the hub's), a normal member's as the account without admin
/// rights; members seeded as confirmed `normal` members; Trello lists a workspace in one page.
fn fixture(t: &Trello) -> TokenFixture {
    let seeder = t.clone();
    TokenFixture::new(
        connector(),
        &t.base_url,
        "",
        &t.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "normal");
        },
    )
    .organization(&t.org_id)
    .setting(API_KEY, &t.api_key)
    .non_admin(&t.normal_token)
    .automation_member(&t.admin_id)
    .one_page()
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&Trello::start())).await;
    assert!(report.failures().is_empty());
}

// ---- what only Trello has ----------------------------------------------------------------------

fn context(t: &Trello, token: &str) -> ConnectorContext {
    fixture(t).context_with(&t.base_url, token)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the admin's token signs in")
}

#[test]
fn it_is_registered_with_its_settings_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(info.sign_in, SignIn::ApiToken);
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("admin normal".into(), NORMAL)
    );
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "organization_id",
            API_KEY,
            "api_token",
            "requests_per_second",
            "allow_private"
        ]
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "trello").unwrap();
    assert_eq!(app.connector.as_deref(), Some(trello::NAME));
    assert_eq!(app.roles, info.roles);
    assert_eq!(app.capabilities, info.capabilities);
    assert!(app.capabilities.contains(&Capability::KeepSeat));
}

/// Trello answers the whole workspace at every call: 1,200 members and the two accounts are
/// one page of one call, nobody lost or repeated; types as on the wire; a cursor is refused.
#[tokio::test]
async fn the_whole_workspace_is_one_page_of_one_call() {
    let t = Trello::start();
    for i in 0..1_200 {
        t.seed(&format!("m{i}@example.com"), "Member", NORMAL);
    }
    let boss = t.seed("boss@example.com", "Boss", ADMIN);
    let c = connector();
    let ctx = context(&t, &t.admin_token);
    let s = session(&*c, &ctx).await;
    let before = t.requests().len();
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (1_203, 1));
    assert_eq!(t.requests().len() - before, 1, "one call");
    let e = c
        .list_members(&ctx, &s, Some("x".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectorError::Configuration(_)), "{e}");
    let mut ids: Vec<&str> = all.iter().map(|m| m.app_member_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1_203);
    let b = all.iter().find(|m| m.app_member_id == boss).unwrap();
    assert_eq!(
        (b.roles[0].as_str(), b.email.as_deref(), b.state),
        (ADMIN, Some("boss@example.com"), MemberState::Active)
    );
    assert_eq!(all.iter().filter(|m| m.roles == [ADMIN]).count(), 2);
}

/// An address with a Trello account joins at once; one without is an unconfirmed (invited)
/// member until the person signs up; inviting again is the same member; types change on the
/// wire; a lookup by username works too.
#[tokio::test]
async fn invitations_join_accounts_or_make_unconfirmed_members() {
    let t = Trello::start();
    let known = t.seed_account("known@example.com", "Known Person");
    let c = connector();
    let ctx = context(&t, &t.admin_token);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("Known@Example.com", ADMIN))
        .await
        .unwrap();
    assert_eq!(
        (m.app_member_id.as_str(), m.state, m.roles[0].as_str()),
        (known.as_str(), MemberState::Active, ADMIN)
    );
    let new = c
        .invite(&ctx, &s, &invitation("new@example.com", NORMAL))
        .await
        .unwrap();
    assert_eq!(new.state, MemberState::Invited);
    assert_eq!(
        t.membership(&new.app_member_id),
        Some((NORMAL.to_owned(), true, false))
    );
    let again = c
        .invite(&ctx, &s, &invitation("new@example.com", NORMAL))
        .await
        .unwrap();
    assert_eq!(again.app_member_id, new.app_member_id);
    let up = c
        .update_role(&ctx, &s, &new.app_member_id, "ADMIN")
        .await
        .unwrap();
    assert_eq!(up.roles, [ADMIN]);
    assert_eq!(t.membership(&new.app_member_id).unwrap().0, ADMIN);
    let by_name = c.get_member(&ctx, &s, "new").await.unwrap().unwrap();
    assert_eq!(by_name.app_member_id, new.app_member_id);
    let bad = c
        .update_role(&ctx, &s, &new.app_member_id, "observer")
        .await;
    assert!(
        matches!(bad, Err(ConnectorError::Configuration(_))),
        "{bad:?}"
    );
}

/// Keep-seat removal deactivates (paid workspaces); inviting the address again reactivates the
/// member with the role asked for; removal takes the member out; a free workspace refuses
/// deactivation with Trello's words.
#[tokio::test]
async fn deactivation_keeps_the_member_and_an_invitation_reactivates() {
    let t = Trello::start();
    let ana = t.seed("ana@example.com", "Ana", NORMAL);
    let c = connector();
    let ctx = context(&t, &t.admin_token);
    let s = session(&*c, &ctx).await;
    let kept = c.remove_keep_seat(&ctx, &s, &ana).await.unwrap();
    assert_eq!(kept.state, MemberState::Deactivated);
    assert_eq!(t.membership(&ana), Some((NORMAL.to_owned(), false, true)));
    let back = c
        .invite(&ctx, &s, &invitation("ana@example.com", ADMIN))
        .await
        .unwrap();
    assert_eq!(
        (
            back.app_member_id.as_str(),
            back.state,
            back.roles[0].as_str()
        ),
        (ana.as_str(), MemberState::Active, ADMIN)
    );
    c.remove(&ctx, &s, &ana).await.unwrap();
    assert_eq!(t.membership(&ana), None);
    c.remove(&ctx, &s, &ana)
        .await
        .expect("gone already is done");

    t.set_paid(false);
    let bob = t.seed("bob@example.com", "Bob", NORMAL);
    let err = c.remove_keep_seat(&ctx, &s, &bob).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("paid workspace")),
        "{err}"
    );
}

/// The key and token travel in the `Authorization` header only: no request's URL holds either.
#[tokio::test]
async fn the_token_never_lands_in_a_url() {
    let t = Trello::start();
    let c = connector();
    let ctx = context(&t, &t.admin_token);
    let s = session(&*c, &ctx).await;
    list_all(&*c, &ctx, &s).await.unwrap();
    c.invite(&ctx, &s, &invitation("x@example.com", NORMAL))
        .await
        .unwrap();
    let all = t.requests();
    assert!(all.len() >= 5, "{all:?}");
    for r in &all {
        assert!(
            !r.contains(&t.admin_token) && !r.contains(&t.api_key) && !r.contains("token="),
            "{r}"
        );
    }
}

/// A normal member signs in but is refused, at sign-in and at a write (Trello's 401
/// `unauthorized permission requested`); a wrong token or key is `BadCredentials` with Trello's
/// words and without the secret; an unknown workspace is `Configuration`.
#[tokio::test]
async fn plain_text_errors_are_mapped() {
    let t = Trello::start();
    let c = connector();
    let normal = context(&t, &t.normal_token);
    let err = c.login(&normal).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("normal")),
        "{err}"
    );
    let admin = context(&t, &t.admin_token);
    let s = session(&*c, &admin).await;
    let as_normal = AppSession {
        token: secrecy::SecretString::from(t.normal_token.clone()),
        ..s
    };
    let err = c
        .invite(&normal, &as_normal, &invitation("y@example.com", NORMAL))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m)
            if m.contains("unauthorized permission requested")),
        "{err}"
    );
    assert_eq!(t.account("y@example.com"), None, "nobody was invited");

    let wrong = context(&t, "ATTAnotthetoken");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("invalid token") && !m.contains("ATTAnotthetoken")),
        "{err}"
    );
    let mut wrong_key = context(&t, &t.admin_token);
    wrong_key.settings.insert(API_KEY.into(), "0123abcd".into());
    let err = c.login(&wrong_key).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if m.contains("invalid key")),
        "{err}"
    );
    let mut elsewhere = context(&t, &t.admin_token);
    elsewhere.organization_id = Some("5abbe4b7ddc1b351ef961414".into());
    let err = c.login(&elsewhere).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(m) if m.contains("no workspace")),
        "{err}"
    );
}

/// Trello's 429 names no wait: the call waits the window its `X-Rate-Limit-*-Interval-Ms`
/// headers name, retries, and ends `RateLimited` with that wait when the limit holds.
#[tokio::test]
async fn a_429_waits_for_trellos_window() {
    let t = Trello::start_with_window(Duration::from_secs(1));
    let c = connector();
    let ctx = context(&t, &t.admin_token);
    let s = session(&*c, &ctx).await;
    t.set_rate_limit(0);
    let started = Instant::now();
    let second = Duration::from_secs(1);
    let got = c.list_members(&ctx, &s, None).await;
    assert_rate_limited(got, second - Duration::from_millis(1), second);
    assert!(
        started.elapsed() >= Duration::from_millis(1_900),
        "waited in the call"
    );
}
