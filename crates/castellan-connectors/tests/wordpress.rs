//! The WordPress connector against a real WordPress on loopback, through [`WordPressFixture`].
//!
//! The site is started once per test binary with `scripts/start-wordpress.sh` (Debian's
//! `wordpress` on PHP's built-in web server with a private MariaDB; installed on first use) in
//! `CASTELLAN_WORDPRESS_DIR` (default `<workspace>/target/wordpress`) on
//! `CASTELLAN_WORDPRESS_PORT` (default 18080), and left running; `scripts/stop-wordpress.sh DIR`
//! stops it. The automation account is the administrator `admin` with the application password
//! the script writes to `DIR/app-password`. Tests share the site, so each uses its own emails.
//!
//! Until the conformance suite's `run` lands, the tests below drive the connector directly
//! through the same cases; the WordPress-only ones (content handed over on removal, keep-seat
//! demotion, custom roles, a listing while members are deleted) stay after it lands.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use castellan_conformance::Fixture;
use castellan_connectors::wordpress::{self, WordPressConnector};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry,
    Invitation, MemberState, SignIn,
};
use futures::stream::{self, StreamExt};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

const ADMIN: &str = "admin";
/// An account that signs in but may not manage members: an editor with its own application
/// password.
const EDITOR: &str = "castellan_editor";
/// The custom role the start script adds.
const CUSTOM_ROLE: &str = "castellan_reviewer";
/// Members seeded for the listing: two and a half pages of 100.
const LISTING: usize = 250;

// ---- the site ----------------------------------------------------------------------------------

struct Site {
    base: String,
    dir: PathBuf,
}

fn workspace() -> PathBuf {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    ws.canonicalize().unwrap_or(ws)
}

/// The shared WordPress, started on first use.
fn site() -> &'static Site {
    static SITE: OnceLock<Result<Site, String>> = OnceLock::new();
    match SITE.get_or_init(start) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

fn start() -> Result<Site, String> {
    let ws = workspace();
    let dir = std::env::var_os("CASTELLAN_WORDPRESS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.join("target/wordpress"));
    let port = std::env::var("CASTELLAN_WORDPRESS_PORT").unwrap_or_else(|_| "18080".into());
    let script = ws.join("scripts/start-wordpress.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .arg(&port)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} {port} failed ({}):\n{}",
            script.display(),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(Site {
        base: format!("http://127.0.0.1:{port}"),
        dir,
    })
}

fn secret_file(name: &str) -> String {
    let file = site().dir.join(name);
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .trim()
        .to_owned()
}

/// A context at `base` as `username` with an application password (and a password beside it,
/// as an automation account item has).
fn token_context(base: &str, username: &str, token: &str) -> ConnectorContext {
    let mut ctx = ConnectorContext::new(base, username, SecretString::from("unused".to_owned()));
    ctx.api_token = Some(SecretString::from(token.to_owned()));
    ctx
}

fn unique() -> String {
    format!("{:010x}", rand::random::<u64>() & 0xff_ffff_ffff)
}

/// WordPress's REST API used directly (`/wp-json/…`) as `user`, to set up and to check.
struct Raw {
    http: reqwest::Client,
    user: String,
    token: String,
}

impl Raw {
    fn admin() -> Self {
        Self {
            http: reqwest::Client::new(),
            user: ADMIN.into(),
            token: secret_file("app-password"),
        }
    }

    async fn call(&self, method: Method, route: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/wp-json{route}", site().base);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .basic_auth(&self.user, Some(&self.token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{route}: {e}"));
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: Method, route: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method.clone(), route, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {route}: {status} {v}"
        );
        v
    }

    /// Every user whose email or login holds `search`.
    async fn search(&self, search: &str) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let route =
                format!("/wp/v2/users?context=edit&per_page=100&page={page}&search={search}");
            let (status, v) = self.call(Method::GET, &route, None).await;
            match v.as_array() {
                Some(rows) if status == 200 && !rows.is_empty() => all.extend(rows.clone()),
                _ => break,
            }
        }
        all
    }

    async fn create_user(&self, login: &str, email: &str, role: &str) -> Value {
        let body =
            json!({"username": login, "email": email, "password": unique(), "roles": [role]});
        self.ok(Method::POST, "/wp/v2/users", Some(body)).await
    }

    async fn user(&self, id: &str) -> Option<Value> {
        let (status, v) = self
            .call(
                Method::GET,
                &format!("/wp/v2/users/{id}?context=edit"),
                None,
            )
            .await;
        (status == 200).then_some(v)
    }
}

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
        site().base.clone()
    }

    fn context(&self, base_url: &str) -> ConnectorContext {
        let mut ctx = token_context(base_url, ADMIN, &secret_file("app-password"));
        ctx.password = SecretString::from(secret_file("admin-password"));
        ctx
    }

    /// `castellan_editor`, an editor, with a fresh application password of its own.
    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        let raw = Raw::admin();
        let found = raw.search(EDITOR).await;
        let id = match found.iter().find(|u| u["username"] == EDITOR) {
            Some(u) => u["id"].clone(),
            None => raw
                .create_user(EDITOR, "editor@castellan.test", "editor")
                .await["id"]
                .clone(),
        };
        let route = format!("/wp/v2/users/{id}/application-passwords");
        raw.ok(Method::DELETE, &route, None).await;
        let made = raw
            .ok(Method::POST, &route, Some(json!({"name": "conformance"})))
            .await;
        let token = made["password"].as_str().expect("an application password");
        Some(token_context(base_url, EDITOR, token))
    }

    /// Subscribers `<prefix><i>@seed.test`, made through the REST API as `admin`, four at a
    /// time (PHP's server has four workers). One seeding at a time per test binary; a user made
    /// meanwhile by another binary (`existing_user_*`) is taken as made.
    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one = ONE_AT_A_TIME.lock().await;
        let raw = Raw::admin();
        let emails: Vec<String> = (0..n).map(|i| format!("{prefix}{i}@seed.test")).collect();
        let have: HashSet<String> = raw
            .search(prefix)
            .await
            .iter()
            .filter_map(|u| u["email"].as_str().map(str::to_lowercase))
            .collect();
        let missing: Vec<&String> = emails.iter().filter(|e| !have.contains(*e)).collect();
        stream::iter(missing)
            .for_each_concurrent(4, |e| {
                let raw = &raw;
                async move {
                    let login = e.split('@').next().unwrap();
                    let body = json!({"username": login, "email": e, "password": unique(),
                        "roles": ["subscriber"]});
                    let (status, v) = raw.call(Method::POST, "/wp/v2/users", Some(body)).await;
                    let code = v["code"].as_str().unwrap_or("");
                    assert!(
                        status == 201 || code.starts_with("existing_user_"),
                        "seed {e}: {status} {v}"
                    );
                }
            })
            .await;
        emails
    }
}

// ---- helpers -------------------------------------------------------------------------------------

fn connector() -> WordPressConnector {
    WordPressConnector::new()
}

fn admin_ctx() -> ConnectorContext {
    WordPressFixture.context(&site().base)
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

async fn list_all(
    c: &WordPressConnector,
    ctx: &ConnectorContext,
    s: &AppSession,
) -> (Vec<AppMember>, usize) {
    let (mut all, mut cursor, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = c
            .list_members(ctx, s, cursor)
            .await
            .expect("a page of members");
        pages += 1;
        assert!(page.members.len() <= 100);
        all.extend(page.members);
        match page.next {
            Some(n) => cursor = Some(n),
            None => return (all, pages),
        }
    }
}

// ---- the cases -----------------------------------------------------------------------------------

#[test]
fn it_is_registered_with_its_settings_and_matches_the_catalog() {
    let info = Registry::default()
        .connector(wordpress::NAME)
        .expect("registered")
        .describe();
    assert_eq!(info.sign_in, SignIn::UsernameAndToken);
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["base_url", "api_token", "reassign_to"]);
    assert!(info.can(Capability::KeepSeat) && info.can(Capability::ListRoles));
    let toml = std::fs::read_to_string(workspace().join("catalog/apps.toml")).unwrap();
    let entry = toml
        .split("[[app]]")
        .find(|e| e.contains("id = \"wordpress\""))
        .unwrap();
    let roles = format!("roles = {:?}", info.roles).replace("\", \"", "\", \"");
    assert!(entry.contains(&roles), "catalog roles differ from {roles}");
    assert!(entry.contains(r#"capabilities = ["list_members", "invite", "update_role", "remove", "keep_seat", "list_roles"]"#));
}

#[tokio::test]
async fn sign_in_good_wrong_and_without_admin_rights() {
    let c = connector();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    assert!(!format!("{s:?}").contains(&secret_file("app-password")));
    c.verify_permissions(&ctx, &s)
        .await
        .expect("admin passes the probe");

    let mut wrong = ctx.clone();
    let bad = format!("wrong-{}", unique());
    wrong.api_token = Some(SecretString::from(bad.clone()));
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m) if !m.contains(&bad)),
        "{err:?}"
    );
    // Without a token the password field is used: the account's real password is no
    // application password.
    let mut plain = ctx.clone();
    plain.api_token = None;
    let err = c.login(&plain).await.unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");

    let editor = WordPressFixture.non_admin(&site().base).await.unwrap();
    let es = c.login(&editor).await.expect("an editor signs in");
    let err = c.verify_permissions(&editor, &es).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("list_users")),
        "{err:?}"
    );

    let nowhere = token_context("http://127.0.0.1:1", ADMIN, "x");
    assert!(matches!(
        c.login(&nowhere).await,
        Err(ConnectorError::Unavailable(_))
    ));
    let not_url = token_context("not a url", ADMIN, "x");
    assert!(matches!(
        c.login(&not_url).await,
        Err(ConnectorError::Configuration(_))
    ));
}

#[tokio::test]
async fn listing_over_pages_loses_and_repeats_nobody_even_while_members_are_deleted() {
    let seeded = WordPressFixture.seed_members("wp_page_", LISTING).await;
    let c = connector();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    let (all, pages) = list_all(&c, &ctx, &s).await;
    assert!(pages >= 3, "{pages} pages");
    let ids: HashSet<&str> = all.iter().map(|m| m.app_member_id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "a member is listed twice");
    let emails: HashSet<&str> = all.iter().filter_map(|m| m.email.as_deref()).collect();
    assert!(seeded.iter().all(|e| emails.contains(e.as_str())));
    let admin = all.iter().find(|m| m.app_member_id == "1").unwrap();
    assert_eq!(
        (admin.roles.as_slice(), admin.state),
        (&["administrator".to_owned()][..], MemberState::Active)
    );

    // Two members listed on the first page are deleted before the second page is read: every
    // other member is still listed exactly once.
    let raw = Raw::admin();
    let a = raw
        .create_user(
            &format!("wp_gone_a_{}", unique()),
            &email("gone"),
            "subscriber",
        )
        .await;
    let first = c.list_members(&ctx, &s, None).await.unwrap();
    let victim = first.members[first.members.len() / 2].app_member_id.clone();
    let victim = if victim == "1" {
        a["id"].to_string()
    } else {
        victim
    };
    let victim_email = raw.user(&victim).await.unwrap()["email"]
        .as_str()
        .unwrap()
        .to_owned();
    raw.ok(
        Method::DELETE,
        &format!("/wp/v2/users/{victim}?force=true&reassign=1"),
        None,
    )
    .await;
    let mut rest = Vec::new();
    let mut cursor = first.next.clone();
    while let Some(cur) = cursor {
        let p = c.list_members(&ctx, &s, Some(cur)).await.unwrap();
        rest.extend(p.members);
        cursor = p.next;
    }
    let seen: Vec<&str> = first
        .members
        .iter()
        .chain(&rest)
        .map(|m| m.app_member_id.as_str())
        .collect();
    let unique_seen: HashSet<&str> = seen.iter().copied().collect();
    assert_eq!(unique_seen.len(), seen.len(), "a member is listed twice");
    for m in &all {
        if m.email.as_deref() != Some(victim_email.as_str()) {
            assert!(
                unique_seen.contains(m.app_member_id.as_str()),
                "{} was lost",
                m.app_member_id
            );
        }
    }
    let err = c
        .list_members(&ctx, &s, Some("100:ana".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
}

#[tokio::test]
async fn members_are_found_by_email_in_any_case_and_by_id_or_username() {
    let seeded = WordPressFixture.seed_members("wp_page_", LISTING).await;
    let c = connector();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    let e = &seeded[LISTING / 2];
    let m = c
        .find_by_email(&ctx, &s, &e.to_uppercase())
        .await
        .unwrap()
        .expect("found");
    assert_eq!(m.email.as_deref(), Some(e.as_str()));
    assert_eq!(m.roles, ["subscriber"]);
    assert_eq!(
        c.get_member(&ctx, &s, &m.app_member_id).await.unwrap(),
        Some(m.clone())
    );
    let login = e.split('@').next().unwrap();
    assert_eq!(
        c.get_member(&ctx, &s, login).await.unwrap(),
        Some(m.clone())
    );
    // A search that matches many (every seeded address holds `@seed.test`) still finds exactly.
    assert!(c
        .find_by_email(&ctx, &s, "seed.test@seed.test")
        .await
        .unwrap()
        .is_none());
    assert!(c
        .find_by_email(&ctx, &s, &email("nobody"))
        .await
        .unwrap()
        .is_none());
    assert!(c.get_member(&ctx, &s, "999999999").await.unwrap().is_none());
    let err = c
        .update_role(&ctx, &s, "999999999", "editor")
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
    c.remove(&ctx, &s, "999999999")
        .await
        .expect("removing nobody is done");
}

#[tokio::test]
async fn invite_is_idempotent_by_email_and_never_hands_over_a_taken_username() {
    let c = connector();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    let raw = Raw::admin();
    let e = email("inv");
    let m = c
        .invite(&ctx, &s, &invitation(&e.to_uppercase(), "author"))
        .await
        .unwrap();
    assert_eq!(
        (m.email.as_deref(), m.roles.as_slice()),
        (Some(e.as_str()), &["author".to_owned()][..])
    );
    assert_eq!(m.name.as_deref(), Some("Invited Person"));
    let u = raw.user(&m.app_member_id).await.unwrap();
    assert_eq!(u["username"], e.split('@').next().unwrap());
    let again = c.invite(&ctx, &s, &invitation(&e, "editor")).await.unwrap();
    assert_eq!(again, m, "inviting again returns the member as it is");
    assert_eq!(raw.search(e.split('@').next().unwrap()).await.len(), 1);

    // Same local part, another domain: the derived username is taken, so `-2` is used.
    let other = format!("{}@other.test", e.split('@').next().unwrap());
    let m2 = c
        .invite(&ctx, &s, &invitation(&other, "subscriber"))
        .await
        .unwrap();
    assert_ne!(m2.app_member_id, m.app_member_id);
    assert_eq!(
        raw.user(&m2.app_member_id).await.unwrap()["username"],
        format!("{}-2", e.split('@').next().unwrap())
    );
    // A chosen username that another member holds: Conflict.
    let mut taken = invitation(&email("taken"), "subscriber");
    taken.username = Some(u["username"].as_str().unwrap().to_owned());
    let err = c.invite(&ctx, &s, &taken).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    // Bad input: nobody is made.
    let bad = email("badrole");
    let err = c
        .invite(&ctx, &s, &invitation(&bad, "no_such_role"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
    assert!(c.find_by_email(&ctx, &s, &bad).await.unwrap().is_none());
    let err = c
        .invite(&ctx, &s, &invitation("not-an-email", "subscriber"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
    for id in [&m.app_member_id, &m2.app_member_id] {
        c.remove(&ctx, &s, id).await.unwrap();
    }
}

#[tokio::test]
async fn every_role_and_a_custom_one_is_given_and_read_back() {
    let c = connector();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation(&email("roles"), "subscriber"))
        .await
        .unwrap();
    let id = &m.app_member_id;
    let mut roles = c.describe().roles;
    roles.extend([
        CUSTOM_ROLE.to_owned(),
        "subscriber".into(),
        "subscriber".into(),
    ]);
    for role in &roles {
        let after = c.update_role(&ctx, &s, id, role).await.unwrap();
        assert_eq!(after.roles, std::slice::from_ref(role));
        let read = c.get_member(&ctx, &s, id).await.unwrap().unwrap();
        assert_eq!(read.roles, std::slice::from_ref(role));
    }
    let err = c
        .update_role(&ctx, &s, id, "no_such_role")
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");

    // The custom role is read from the app once a member holds it.
    c.update_role(&ctx, &s, id, CUSTOM_ROLE).await.unwrap();
    let listed = c.list_roles(&ctx, &s).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|r| r.role.as_str()).collect();
    assert_eq!(
        &names[..5],
        [
            "administrator",
            "editor",
            "author",
            "contributor",
            "subscriber"
        ]
    );
    assert!(names.contains(&CUSTOM_ROLE), "{names:?}");
    assert_eq!(listed[0].label, "Administrator");
    c.remove(&ctx, &s, id).await.unwrap();
}

#[tokio::test]
async fn removal_hands_the_content_over_and_is_done_when_gone() {
    let c = connector();
    let raw = Raw::admin();
    let heir = raw
        .create_user(&format!("wp_heir_{}", unique()), &email("heir"), "editor")
        .await;
    let heir_login = heir["username"].as_str().unwrap().to_owned();
    let mut ctx = admin_ctx();
    ctx.settings
        .insert(wordpress::REASSIGN_TO.into(), heir_login.clone());
    let s = session(&c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation(&email("rm"), "author"))
        .await
        .unwrap();
    let post = raw
        .ok(Method::POST, "/wp/v2/posts", Some(json!({"title": "by the leaver", "status": "publish", "author": m.app_member_id.parse::<u64>().unwrap()})))
        .await;
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert!(c
        .get_member(&ctx, &s, &m.app_member_id)
        .await
        .unwrap()
        .is_none());
    let post = raw
        .ok(
            Method::GET,
            &format!("/wp/v2/posts/{}?context=edit", post["id"]),
            None,
        )
        .await;
    assert_eq!(post["author"], heir["id"], "the post went to {heir_login}");
    c.remove(&ctx, &s, &m.app_member_id)
        .await
        .expect("gone already: done");

    // The heir cannot be removed while named; an unknown heir is a configuration error.
    let err = c
        .remove(&ctx, &s, &heir["id"].to_string())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
    ctx.settings
        .insert(wordpress::REASSIGN_TO.into(), "nobody_at_all".into());
    let err = c
        .remove(&ctx, &s, &heir["id"].to_string())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
    // Unset: the content goes to the automation account.
    ctx.settings.clear();
    c.remove(&ctx, &s, &heir["id"].to_string()).await.unwrap();
    let post = raw
        .ok(
            Method::GET,
            &format!("/wp/v2/posts/{}?context=edit", post["id"]),
            None,
        )
        .await;
    assert_eq!(post["author"], 1);
}

#[tokio::test]
async fn keep_seat_removal_takes_every_role_and_an_invitation_gives_one_back() {
    let c = connector();
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
    let read = c
        .get_member(&ctx, &s, &m.app_member_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, kept);
    assert_eq!(
        Raw::admin().user(&m.app_member_id).await.unwrap()["roles"],
        json!([])
    );
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
        (back.app_member_id.as_str(), back.roles.as_slice()),
        (m.app_member_id.as_str(), &["author".to_owned()][..])
    );
    assert_eq!(back.state, MemberState::Active);
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
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
}

#[tokio::test]
async fn the_automation_account_protects_itself() {
    let c = connector();
    let ctx = admin_ctx();
    let s = session(&c, &ctx).await;
    let err = c
        .update_role(&ctx, &s, "1", "subscriber")
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    let err = c.remove_keep_seat(&ctx, &s, "1").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    let err = c.remove(&ctx, &s, ADMIN).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    c.update_role(&ctx, &s, "1", "administrator")
        .await
        .expect("no change");
    c.verify_permissions(&ctx, &s).await.unwrap();
    assert!(
        !secret_file("app-password").is_empty()
            && ctx.api_token.as_ref().unwrap().expose_secret().len() >= 24
    );
}
