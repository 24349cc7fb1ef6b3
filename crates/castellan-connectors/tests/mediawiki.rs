//! The MediaWiki connector against a real MediaWiki on loopback: the conformance suite through
//! [`MediaWikiFixture`], then what only MediaWiki has (groups as roles read from the wiki, one
//! group per member, removal by block, usernames from addresses, the invitation records).
//!
//! The wiki, its automation account, the seeded members and the out-of-band Action API client
//! ([`Raw`]) are shared with the browser connector's tests (`tests/mediawiki_site`).
//!
//! MediaWiki shows nobody's email address but one's own, so the fixture says so
//! ([`Fixture::shows_emails`]): the suite knows seeded members by name, and its lookup by the
//! address of a member made outside Castellan is unsupported.

use async_trait::async_trait;
use castellan_conformance::harness::unique;
use castellan_conformance::{Fixture, Outcome};
use castellan_connectors::mediawiki::MediaWikiConnector;
use castellan_connectors::Registry;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, Invitation,
    MemberState,
};
use secrecy::SecretString;

mod mediawiki_site;
use mediawiki_site::*;

/// The conformance fixture: `Admin` is the automation account, `Conformance plain` the account
/// without rights; members are made through the Action API as `Admin` (not the connector).
struct MediaWikiFixture;

#[async_trait]
impl Fixture for MediaWikiFixture {
    castellan_conformance::password_fixture!(
        Registry::default()
            .connector("mediawiki")
            .expect("registered"),
        WIKI
    );

    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        Some(plain_context(base_url).await)
    }

    /// Users named `<prefix><i>` with the address `<prefix><i>@seed.test` ([`seed`]).
    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        seed(prefix, n).await
    }

    async fn automation_member(&self) -> Option<String> {
        Some("1".to_owned())
    }

    fn shows_emails(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn mediawiki_passes_the_conformance_suite() {
    let report = castellan_conformance::run(&MediaWikiFixture).await;
    assert!(report.passed("invite again after removal"));
    assert!(matches!(
        report.outcome("get and find by email"),
        Some(Outcome::Unsupported(_))
    ));
}

async fn admin_session(c: &MediaWikiConnector) -> (ConnectorContext, AppSession) {
    let ctx = WIKI.context(&base());
    let s = c.login(&ctx).await.expect("Admin signs in");
    (ctx, s)
}

fn invitation(email: &str, username: Option<&str>, role: &str) -> Invitation {
    Invitation {
        email: email.to_owned(),
        username: username.map(str::to_owned),
        name: Some("Invited Person".to_owned()),
        role: role.to_owned(),
    }
}

// ---- what only MediaWiki has ------------------------------------------------------------------

#[tokio::test]
async fn roles_are_the_wikis_groups_most_privileged_first() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let admin = roles_and_admin(&c, &ctx, &s).await;
    assert_eq!(c.get_member(&ctx, &s, ADMIN).await.unwrap(), Some(admin));
    assert_eq!(c.get_member(&ctx, &s, "bad|name").await.unwrap(), None);
}

#[tokio::test]
async fn a_role_change_leaves_exactly_one_group() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::admin().await;
    let name = format!("Roles {}", unique());
    raw.create(&name, "roles@x.test").await;
    raw.add_group(&name, "bot").await;
    let id = raw.user(&name).await.unwrap()["userid"].to_string();
    for role in ["sysop", "bureaucrat", "user", "bot"] {
        let m = c.update_role(&ctx, &s, &id, role).await.expect(role);
        assert_eq!(m.roles, [role]);
        let want: &[&str] = if role == "user" { &[] } else { &[role] };
        assert_eq!(explicit(&raw.user(&name).await.unwrap()), want);
    }
}

#[tokio::test]
async fn invitations_name_accounts_from_addresses_and_record_them() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::admin().await;
    let sfx = unique();
    let email = format!("ana.{sfx}@invite.test");
    let m = c
        .invite(&ctx, &s, &invitation(&email, None, "sysop"))
        .await
        .unwrap();
    let name = format!("Ana.{sfx}");
    assert_eq!(m.name.as_deref(), Some(name.as_str()));
    assert_eq!(
        m.email.as_deref(),
        Some(email.as_str()),
        "the address it was invited with"
    );
    let u = raw.user(&name).await.expect("the account exists");
    assert_eq!(u["emailable"], true, "the wiki stored the address: {u}");

    // Another address with the same local part gets the next name.
    let other = format!("ana.{sfx}@elsewhere.test");
    let two = c
        .invite(&ctx, &s, &invitation(&other, None, "user"))
        .await
        .unwrap();
    assert_eq!(two.name, Some(format!("{name}-2")));
    // The mailbox without its `+tag`, `_` as a space, the first letter capitalised.
    let tagged = invitation(&format!("x_{sfx}+news@invite.test"), None, "user");
    let tagged = c.invite(&ctx, &s, &tagged).await.unwrap();
    assert_eq!(tagged.name, Some(format!("X {sfx}")));
    // A name taken by an account Castellan did not make: a person must decide.
    raw.create(&format!("Bo.{sfx}"), "someone@else.test").await;
    let bo = invitation(&format!("bo.{sfx}@invite.test"), None, "user");
    assert!(matches!(
        c.invite(&ctx, &s, &bo).await,
        Err(ConnectorError::Conflict(_))
    ));
    // A member made outside Castellan has no address, and is not found by one.
    let found = c
        .find_by_email(&ctx, &s, "someone@else.test")
        .await
        .unwrap();
    assert_eq!(found, None);
    let listed = c
        .get_member(&ctx, &s, &format!("Bo.{sfx}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.email, None);
}

#[tokio::test]
async fn removal_blocks_and_inviting_again_unblocks() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::admin().await;
    let sfx = unique();
    let email = format!("leaver.{sfx}@remove.test");
    let m = c
        .invite(&ctx, &s, &invitation(&email, None, "sysop"))
        .await
        .unwrap();
    c.remove(&ctx, &s, &m.app_member_id).await.expect("removed");
    let u = raw.user(m.name.as_deref().unwrap()).await.unwrap();
    assert_eq!(
        (u["blockexpiry"].as_str(), explicit(&u)),
        (Some("infinite"), vec![])
    );
    let back = c
        .invite(&ctx, &s, &invitation(&email, None, "bot"))
        .await
        .unwrap();
    assert_eq!(
        (back.app_member_id, back.state),
        (m.app_member_id, MemberState::Active)
    );

    // A blocked member made outside Castellan, invited again by its id (as the engine does for a
    // person's own former member), is unblocked and from then on found by the address.
    let name = format!("Outsider {sfx}");
    let address = format!("outsider.{sfx}@x.test");
    raw.create(&name, &address).await;
    raw.block(&name).await;
    let id = raw.user(&name).await.unwrap()["userid"].to_string();
    let back = c
        .invite(&ctx, &s, &invitation(&address, Some(&id), "user"))
        .await
        .unwrap();
    assert_eq!((back.app_member_id, back.state), (id, MemberState::Active));
    let found = c
        .find_by_email(&ctx, &s, &address.to_uppercase())
        .await
        .unwrap();
    assert_eq!(found.and_then(|f| f.name), Some(name));
}

#[tokio::test]
async fn an_ended_session_is_refused_not_used_anonymously() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let gone = AppSession {
        token: SecretString::from("wiki_session=gone".to_owned()),
        data: s.data.clone(),
    };
    match c.list_members(&ctx, &gone, None).await {
        Err(ConnectorError::BadCredentials(m)) => assert!(m.contains("assertuserfailed"), "{m}"),
        other => panic!("an ended session: {other:?}"),
    }
}
