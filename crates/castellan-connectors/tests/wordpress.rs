//! The WordPress connector against a real WordPress on loopback: the conformance suite through
//! [`WordPressFixture`], then what only WordPress has (content handed over on removal, keep-seat
//! demotion to no role, custom roles, usernames from emails, a listing while users are deleted).
//!
//! The site is started once per test binary with `scripts/start-wordpress.sh` (Debian's
//! `wordpress` on PHP's built-in web server with a private MariaDB; installed on first use) in
//! `CASTELLAN_WORDPRESS_DIR` (default `<workspace>/target/wordpress`) on
//! `CASTELLAN_WORDPRESS_PORT` (default 18080), and left running; `scripts/stop-wordpress.sh DIR`
//! stops it. The automation account is the administrator `admin` with the application password
//! the script writes to `DIR/app-password`. Tests share the site, so each uses its own emails.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use castellan_conformance::harness::unique;
use castellan_conformance::Fixture;
use castellan_connectors::wordpress::{self, WordPressConnector};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry,
    Invitation, MemberState, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

mod wordpress_site;
use wordpress_site::*;

// ---- the fixture ---------------------------------------------------------------------------------

/// The conformance suite's fixture for WordPress.
#[derive(Debug, Default)]
struct WordPressFixture;

#[async_trait]
impl Fixture for WordPressFixture {
    fn connector(&self) -> Arc<dyn Connector> {
        Arc::new(WordPressConnector::new())
    }

    fn base_url(&self) -> String {
        site().base_url
    }

    /// `admin` with its application password as the API token (and its password beside it,
    /// as an automation account item has); removed members' posts go to `admin`.
    fn context(&self, base_url: &str) -> ConnectorContext {
        let mut ctx = token_context(base_url, ADMIN, &secret_file("app-password"));
        ctx.password = SecretString::from(secret_file("admin-password"));
        ctx.settings
            .insert(wordpress::REASSIGN_TO.into(), ADMIN.into());
        ctx
    }

    /// `castellan_editor`, an editor, with a fresh application password of its own.
    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        let raw = raw();
        let found = search(&raw, EDITOR).await;
        let id = match found.iter().find(|u| u["username"] == EDITOR) {
            Some(u) => u["id"].clone(),
            None => {
                create_user(&raw, EDITOR, "editor@castellan.test", "editor").await["id"].clone()
            }
        };
        let path = format!("/wp-json/wp/v2/users/{id}/application-passwords");
        raw.ok(Method::DELETE, &path, None).await;
        let made = raw
            .ok(Method::POST, &path, Some(json!({"name": "conformance"})))
            .await;
        let token = made["password"].as_str().expect("an application password");
        Some(token_context(base_url, EDITOR, token))
    }

    /// Subscribers `<prefix><i>@seed.test`, made through the REST API as `admin`, four at a
    /// time (PHP's server has four workers). A user made meanwhile by another test binary
    /// (`existing_user_*`) is taken as made.
    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        seed(prefix, n).await
    }

    async fn automation_member(&self) -> Option<String> {
        Some("1".into())
    }
}

#[tokio::test]
async fn conformance() {
    castellan_conformance::run(&WordPressFixture).await;
}

// ---- what only WordPress has ---------------------------------------------------------------------

fn admin_ctx() -> ConnectorContext {
    WordPressFixture.context(&site().base_url)
}

async fn session(c: &WordPressConnector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the automation account signs in")
}

fn email(tag: &str) -> String {
    format!("wp_{tag}_{}@example.com", unique())
}

fn invitation(email: &str, role: &str) -> Invitation {
    Invitation {
        email: email.to_owned(),
        username: None,
        name: Some("Invited Person".into()),
        role: role.to_owned(),
    }
}

#[test]
fn it_is_registered_with_its_settings_and_matches_the_catalog() {
    let info = Registry::default()
        .connector(wordpress::NAME)
        .expect("registered")
        .describe();
    assert_eq!(info.sign_in, SignIn::UsernameAndToken);
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "api_token",
            "reassign_to",
            "requests_per_second",
            "allow_private"
        ]
    );
    let required: Vec<bool> = info.settings.iter().map(|f| f.required).collect();
    assert_eq!(
        required,
        [true, false, true, false, false],
        "the password may carry the token"
    );
    assert!(info.can(Capability::KeepSeat) && info.can(Capability::ListRoles));
    let toml = std::fs::read_to_string(
        castellan_conformance::harness::workspace().join("catalog/apps.toml"),
    )
    .unwrap();
    let entry = toml
        .split("[[app]]")
        .find(|e| e.contains("id = \"wordpress\""))
        .unwrap();
    assert!(
        entry.contains(&format!("roles = {:?}", info.roles)),
        "{entry}"
    );
    let caps = r#"["list_members", "invite", "update_role", "remove", "keep_seat", "list_roles"]"#;
    assert!(entry.contains(&format!("capabilities = {caps}")), "{entry}");
}

/// An application password in the password field signs in too (the engine passes no token
/// yet); the account's real password is no application password.
#[tokio::test]
async fn the_password_field_is_the_fallback_for_the_token() {
    let c = WordPressConnector::new();
    let mut ctx = admin_ctx();
    let token = ctx.api_token.take().unwrap();
    let err = c.login(&ctx).await.unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
    ctx.password = token;
    c.verify_permissions(&ctx, &session(&c, &ctx).await)
        .await
        .unwrap();
}

/// Users of the listing's own, seeded for this run: nobody else deletes them.
#[tokio::test]
async fn a_listing_loses_and_repeats_nobody_while_users_before_the_cursor_are_deleted() {
    let prefix = format!("wp_del_{}_", unique());
    let mine: HashSet<String> = WordPressFixture
        .seed_members(&prefix, 120)
        .await
        .into_iter()
        .collect();
    let c = WordPressConnector::new();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    let is_mine = |m: &AppMember| m.email.as_ref().is_some_and(|e| mine.contains(e));
    // Page through to the first page with some of these users and a page after it; three of
    // them listed on it are deleted before the next page is read.
    let (mut seen, mut cursor, mut gone) = (Vec::new(), None, Vec::new());
    loop {
        let p = c.list_members(&ctx, &s, cursor).await.unwrap();
        if gone.is_empty()
            && p.next.is_some()
            && p.members.iter().filter(|m| is_mine(m)).count() >= 3
        {
            gone = p
                .members
                .iter()
                .filter(|m| is_mine(m))
                .take(3)
                .cloned()
                .collect();
            for m in &gone {
                let path = format!(
                    "/wp-json/wp/v2/users/{}?force=true&reassign=1",
                    m.app_member_id
                );
                raw().ok(Method::DELETE, &path, None).await;
            }
        }
        seen.extend(p.members);
        cursor = p.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        gone.len(),
        3,
        "no page held three of the seeded users before another page"
    );
    let ids: Vec<&str> = seen.iter().map(|m| m.app_member_id.as_str()).collect();
    let once: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(once.len(), ids.len(), "a member is listed twice");
    let listed: HashSet<&String> = seen.iter().filter_map(|m| m.email.as_ref()).collect();
    let lost: Vec<&String> = mine.iter().filter(|e| !listed.contains(e)).collect();
    assert!(lost.is_empty(), "lost {lost:?}");
    let admin = seen.iter().find(|m| m.app_member_id == "1").unwrap();
    assert_eq!(
        (admin.roles.join(","), admin.state),
        ("administrator".into(), MemberState::Active)
    );
    let err = c
        .list_members(&ctx, &s, Some("100:ana".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
}

#[tokio::test]
async fn usernames_come_from_emails_and_the_next_free_one_is_taken() {
    let c = WordPressConnector::new();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    let raw = raw();
    let e = email("inv");
    let local = e.split('@').next().unwrap();
    let m = c
        .invite(&ctx, &s, &invitation(&e.to_uppercase(), "author"))
        .await
        .unwrap();
    assert_eq!(
        (m.email.as_deref(), m.name.as_deref()),
        (Some(e.as_str()), Some("Invited Person"))
    );
    let user = |id: String| {
        let raw = &raw;
        async move {
            raw.ok(
                Method::GET,
                &format!("/wp-json/wp/v2/users/{id}?context=edit"),
                None,
            )
            .await
        }
    };
    assert_eq!(user(m.app_member_id.clone()).await["username"], local);
    // Same local part, another domain: `<local>-2`.
    let m2 = c
        .invite(
            &ctx,
            &s,
            &invitation(&format!("{local}@other.test"), "subscriber"),
        )
        .await
        .unwrap();
    assert_eq!(
        user(m2.app_member_id.clone()).await["username"],
        format!("{local}-2")
    );
    assert_eq!(
        c.get_member(&ctx, &s, &format!("{local}-2")).await.unwrap(),
        Some(m2.clone())
    );
    // A chosen username with an `@` that another user holds: WordPress refuses it (HTTP 500,
    // `existing_user_login`), a Conflict.
    let at_login = format!("wp_at_{}@login.test", unique());
    create_user(&raw, &at_login, &email("holder"), "subscriber").await;
    let mut taken = invitation(&email("taken"), "subscriber");
    taken.username = Some(at_login);
    let err = c.invite(&ctx, &s, &taken).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    for id in [&m.app_member_id, &m2.app_member_id] {
        c.remove(&ctx, &s, id).await.unwrap();
    }
}

#[tokio::test]
async fn a_custom_role_is_given_and_read_from_the_app() {
    let c = WordPressConnector::new();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation(&email("custom"), CUSTOM_ROLE))
        .await
        .unwrap();
    assert_eq!(m.roles, [CUSTOM_ROLE]);
    check_roles(&c.list_roles(&ctx, &s).await.unwrap());
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
}

#[tokio::test]
async fn removal_hands_the_posts_to_the_reassign_to_user() {
    let c = WordPressConnector::new();
    let raw = raw();
    let heir = create_user(
        &raw,
        &format!("wp_heir_{}", unique()),
        &email("heir"),
        "editor",
    )
    .await;
    let mut ctx = admin_ctx();
    ctx.settings.insert(
        wordpress::REASSIGN_TO.into(),
        heir["username"].as_str().unwrap().into(),
    );
    let s = session(&c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation(&email("rm"), "author"))
        .await
        .unwrap();
    let id: u64 = m.app_member_id.parse().unwrap();
    let post = json!({"title": "by the leaver", "status": "publish", "author": id});
    let post = raw
        .ok(Method::POST, "/wp-json/wp/v2/posts", Some(post))
        .await;
    let post_path = format!("/wp-json/wp/v2/posts/{}?context=edit", post["id"]);
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert!(c
        .get_member(&ctx, &s, &m.app_member_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        raw.ok(Method::GET, &post_path, None).await["author"],
        heir["id"]
    );

    // The heir cannot be removed while named; a heir nobody is, or none, is a configuration
    // error (WordPress would delete the posts).
    let heir_id = heir["id"].to_string();
    for heir in [Some(heir_id.as_str()), Some("nobody_at_all"), None] {
        ctx.settings.clear();
        ctx.settings
            .extend(heir.map(|h| (wordpress::REASSIGN_TO.to_owned(), h.to_owned())));
        let err = c.remove(&ctx, &s, &heir_id).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Configuration(_)),
            "{heir:?}: {err:?}"
        );
    }
    // By id: the posts go to `admin`.
    ctx.settings
        .insert(wordpress::REASSIGN_TO.into(), "1".into());
    c.remove(&ctx, &s, &heir_id).await.unwrap();
    assert_eq!(raw.ok(Method::GET, &post_path, None).await["author"], 1);
}

#[tokio::test]
async fn keep_seat_removal_takes_every_role_and_an_invitation_gives_one_back() {
    let c = WordPressConnector::new();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    let e = email("seat");
    let m = c.invite(&ctx, &s, &invitation(&e, "editor")).await.unwrap();
    let kept = c
        .remove_keep_seat(&ctx, &s, &m.app_member_id)
        .await
        .unwrap();
    assert_eq!(
        (kept.roles.len(), kept.state),
        (0, MemberState::Deactivated)
    );
    assert_eq!(
        c.get_member(&ctx, &s, &m.app_member_id).await.unwrap(),
        Some(kept.clone())
    );
    let path = format!("/wp-json/wp/v2/users/{}?context=edit", m.app_member_id);
    assert_eq!(raw().ok(Method::GET, &path, None).await["roles"], json!([]));
    assert_eq!(
        c.remove_keep_seat(&ctx, &s, &m.app_member_id)
            .await
            .unwrap(),
        kept
    );
    // As the engine invites a former member: naming it.
    let mut back = invitation(&e, "author");
    back.username = Some(m.app_member_id.clone());
    let back = c.invite(&ctx, &s, &back).await.unwrap();
    assert_eq!(
        (back.app_member_id.as_str(), back.state),
        (m.app_member_id.as_str(), MemberState::Active)
    );
    assert_eq!(back.roles, ["author"]);
    // By email alone, too.
    c.remove_keep_seat(&ctx, &s, &m.app_member_id)
        .await
        .unwrap();
    let again = c
        .invite(&ctx, &s, &invitation(&e, "contributor"))
        .await
        .unwrap();
    assert_eq!(
        (again.app_member_id, again.roles),
        (m.app_member_id.clone(), vec!["contributor".to_owned()])
    );
    let err = c.remove_keep_seat(&ctx, &s, "1").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
}
