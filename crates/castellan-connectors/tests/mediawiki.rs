//! The MediaWiki connector against a real MediaWiki on loopback.
//!
//! The wiki is started once per test binary with `scripts/start-mediawiki.sh` (which installs
//! Debian's `mediawiki` with SQLite on first use and makes the automation account `Admin` /
//! `adminpass123`, a sysop and bureaucrat) in `CASTELLAN_MEDIAWIKI_DIR` (default
//! `<workspace>/target/mediawiki`) on `CASTELLAN_MEDIAWIKI_PORT` (default 18081). The script
//! serialises concurrent starts with a file lock and leaves the wiki running for the next test
//! run; `scripts/stop-mediawiki.sh DIR` stops it. If the script fails, every test fails with its
//! output.
//!
//! [`MediaWiki`] is the conformance suite's fixture (members are seeded out of band through the
//! Action API as `Admin`). Until `castellan_conformance::run` lands, the tests below drive the
//! connector directly. Tests share the wiki, so each one uses its own names and addresses.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use castellan_conformance::Fixture;
use castellan_connectors::mediawiki::MediaWikiConnector;
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry,
    Invitation, MemberState,
};
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::Value;

const ADMIN: &str = "Admin";
const ADMIN_PASS: &str = "adminpass123";
/// More than two pages of 100.
const SEEDED: usize = 230;

// ---- the wiki and the fixture -----------------------------------------------------------------

fn workspace() -> PathBuf {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    ws.canonicalize().unwrap_or(ws)
}

/// The shared wiki's base URL, started on first use.
fn base() -> &'static str {
    static BASE: OnceLock<Result<String, String>> = OnceLock::new();
    match BASE.get_or_init(start_mediawiki) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    }
}

fn start_mediawiki() -> Result<String, String> {
    let ws = workspace();
    let dir = std::env::var_os("CASTELLAN_MEDIAWIKI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.join("target/mediawiki"));
    let port = std::env::var("CASTELLAN_MEDIAWIKI_PORT").unwrap_or_else(|_| "18081".into());
    let script = ws.join("scripts/start-mediawiki.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .arg(&port)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} {port} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            script.display(),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        ));
    }
    Ok(format!("http://127.0.0.1:{port}"))
}

fn ctx_at(base_url: &str, user: &str, pass: &str) -> ConnectorContext {
    ConnectorContext::new(base_url, user, SecretString::from(pass.to_owned()))
}

/// A suffix no other test (or earlier run) uses.
fn unique() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// The conformance suite's fixture: the real wiki, `Admin` as the automation account, members
/// seeded through the Action API as `Admin` (not through the connector).
#[derive(Debug, Default)]
pub struct MediaWiki;

#[async_trait]
impl Fixture for MediaWiki {
    fn connector(&self) -> Arc<dyn Connector> {
        Registry::default()
            .connector("mediawiki")
            .expect("registered")
    }

    fn base_url(&self) -> String {
        base().to_owned()
    }

    fn context(&self, base_url: &str) -> ConnectorContext {
        ctx_at(base_url, ADMIN, ADMIN_PASS)
    }

    /// `Plain user`, in no group, made on first use.
    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        let raw = Raw::admin().await;
        if raw.user("Plain user").await.is_none() {
            raw.create("Plain user", "plain@users.test").await;
        }
        Some(ctx_at(base_url, "Plain user", "plain-user-pass-1"))
    }

    /// Users named `<Prefix><i>` with the address `<prefix><i>@seed.test`, made once.
    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        let raw = Raw::admin().await;
        let have = raw.names_with_prefix(&seed_name(prefix, "")).await;
        let emails: Vec<String> = (0..n).map(|i| format!("{prefix}{i}@seed.test")).collect();
        let missing = emails.iter().enumerate().filter_map(|(i, email)| {
            let name = seed_name(prefix, &i.to_string());
            (!have.contains(&name)).then_some((name, email))
        });
        // Four at a time: the wiki serves four requests at once.
        futures::stream::iter(missing)
            .for_each_concurrent(4, |(name, email)| {
                let raw = &raw;
                async move { raw.create(&name, email).await }
            })
            .await;
        emails.iter().map(|e| e.to_lowercase()).collect()
    }
}

/// The canonical username of a seeded member: first letter capitalised, `_` as a space.
fn seed_name(prefix: &str, i: &str) -> String {
    let name = format!("{prefix}{i}").replace('_', " ");
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The Action API used directly as `Admin` (a cookie session of its own), to seed and to check
/// what the connector did.
struct Raw {
    http: reqwest::Client,
    api: String,
    cookies: std::sync::Mutex<Vec<String>>,
}

impl Raw {
    async fn admin() -> Self {
        let raw = Raw {
            http: reqwest::Client::new(),
            api: format!("{}/api.php", base()),
            cookies: Default::default(),
        };
        let token = raw.token("login").await;
        let v = raw
            .post(&[
                ("action", "clientlogin"),
                ("username", ADMIN),
                ("password", ADMIN_PASS),
                ("loginreturnurl", "http://127.0.0.1/"),
                ("logintoken", &token),
            ])
            .await;
        assert_eq!(v["clientlogin"]["status"], "PASS", "{v}");
        raw
    }

    /// Sends with the session's cookies, keeps the ones the wiki sets, returns the JSON.
    async fn send(&self, req: reqwest::RequestBuilder) -> Value {
        let cookie = self.cookies.lock().unwrap().join("; ");
        let r = req.header("Cookie", cookie).send().await.unwrap();
        {
            let mut jar = self.cookies.lock().unwrap();
            for c in r.headers().get_all("set-cookie") {
                let pair = c.to_str().unwrap().split(';').next().unwrap().to_owned();
                let name = format!("{}=", pair.split('=').next().unwrap());
                jar.retain(|c| !c.starts_with(&name));
                jar.push(pair);
            }
        }
        r.json().await.unwrap()
    }

    async fn token(&self, kind: &str) -> String {
        let v = self
            .get(&[("action", "query"), ("meta", "tokens"), ("type", kind)])
            .await;
        v["query"]["tokens"][format!("{kind}token")]
            .as_str()
            .unwrap_or_else(|| panic!("no {kind} token: {v}"))
            .to_owned()
    }

    async fn post(&self, form: &[(&str, &str)]) -> Value {
        let mut form = form.to_vec();
        form.extend([("format", "json"), ("formatversion", "2")]);
        self.send(self.http.post(&self.api).form(&form)).await
    }

    async fn get(&self, query: &[(&str, &str)]) -> Value {
        let mut q = query.to_vec();
        q.extend([("format", "json"), ("formatversion", "2")]);
        self.send(self.http.get(&self.api).query(&q)).await
    }

    /// A user row of `list=users` (groups, block, whether an address is stored), by name.
    async fn user(&self, name: &str) -> Option<Value> {
        let v = self
            .get(&[
                ("action", "query"),
                ("list", "users"),
                ("ususers", name),
                ("usprop", "groups|blockinfo|emailable"),
            ])
            .await;
        let u = v["query"]["users"][0].clone();
        (u.get("missing").is_none() && u.get("userid").is_some()).then_some(u)
    }

    /// Creates an account (no group) with the password `plain-user-pass-1`.
    async fn create(&self, name: &str, email: &str) {
        let token = self.token("createaccount").await;
        let v = self
            .post(&[
                ("action", "createaccount"),
                ("username", name),
                ("password", "plain-user-pass-1"),
                ("retype", "plain-user-pass-1"),
                ("email", email),
                ("createreturnurl", "http://127.0.0.1/"),
                ("createtoken", &token),
            ])
            .await;
        assert_eq!(v["createaccount"]["status"], "PASS", "create {name}: {v}");
    }

    async fn block(&self, name: &str) {
        let token = self.token("csrf").await;
        let v = self
            .post(&[
                ("action", "block"),
                ("user", name),
                ("expiry", "infinite"),
                ("token", &token),
            ])
            .await;
        assert!(v.get("block").is_some(), "block {name}: {v}");
    }

    async fn add_group(&self, name: &str, group: &str) {
        let token = self.token("userrights").await;
        let v = self
            .post(&[
                ("action", "userrights"),
                ("user", name),
                ("add", group),
                ("token", &token),
            ])
            .await;
        assert!(v.get("userrights").is_some(), "userrights {name}: {v}");
    }

    /// Every username starting with `prefix`.
    async fn names_with_prefix(&self, prefix: &str) -> HashSet<String> {
        let mut names = HashSet::new();
        let mut from = String::new();
        loop {
            let mut q = vec![
                ("action", "query"),
                ("list", "allusers"),
                ("auprefix", prefix),
                ("aulimit", "500"),
            ];
            if !from.is_empty() {
                q.push(("aufrom", &from));
            }
            let v = self.get(&q).await;
            for u in v["query"]["allusers"].as_array().unwrap() {
                names.insert(u["name"].as_str().unwrap().to_owned());
            }
            match v["continue"]["aufrom"].as_str() {
                Some(next) => from = next.to_owned(),
                None => return names,
            }
        }
    }
}

async fn admin_session(c: &MediaWikiConnector) -> (ConnectorContext, AppSession) {
    let ctx = MediaWiki.context(base());
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

async fn list_all(
    c: &MediaWikiConnector,
    ctx: &ConnectorContext,
    s: &AppSession,
) -> Vec<AppMember> {
    let (mut all, mut cursor, mut pages) = (vec![], None, 0);
    loop {
        let page = c.list_members(ctx, s, cursor).await.expect("a page");
        assert!(page.members.len() <= 100);
        all.extend(page.members);
        pages += 1;
        match page.next {
            Some(n) => cursor = Some(n),
            None => return all,
        }
        assert!(pages < 1000, "the listing does not end");
    }
}

// ---- direct tests (until castellan_conformance::run lands) -----------------------------------

#[tokio::test]
async fn it_is_registered_with_groups_as_roles() {
    let c = Registry::default()
        .connector("mediawiki")
        .expect("registered");
    let info = c.describe();
    assert_eq!(info.name, "mediawiki");
    assert_eq!(info.default_role, "user");
    assert_eq!(info.roles.first().map(String::as_str), Some("bureaucrat"));
    assert!(info.can(Capability::ListRoles) && info.can(Capability::Remove));
    assert!(!info.can(Capability::KeepSeat));
}

#[tokio::test]
async fn sign_in_good_wrong_and_not_an_admin() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    c.verify_permissions(&ctx, &s)
        .await
        .expect("Admin may manage members");
    assert!(
        !format!("{s:?}").contains("wiki_session="),
        "the session is redacted in Debug"
    );

    for (user, pass) in [(ADMIN, "wrong-password"), ("Nobody at all", "x-password-1")] {
        match c.login(&ctx_at(base(), user, pass)).await {
            Err(ConnectorError::BadCredentials(m)) => assert!(!m.contains(pass), "{m}"),
            other => panic!("{user}: {other:?}"),
        }
    }

    let plain = MediaWiki.non_admin(base()).await.expect("a plain user");
    let ps = c.login(&plain).await.expect("a plain user signs in");
    match c.verify_permissions(&plain, &ps).await {
        Err(ConnectorError::InsufficientPermission(m)) => assert!(m.contains("userrights"), "{m}"),
        other => panic!("a plain user may not manage members: {other:?}"),
    }

    // A session that has ended is refused, never used anonymously.
    let gone = AppSession {
        token: SecretString::from("wiki_session=gone".to_owned()),
        data: s.data.clone(),
    };
    match c.list_members(&ctx, &gone, None).await {
        Err(ConnectorError::BadCredentials(m)) => assert!(m.contains("assertuserfailed"), "{m}"),
        other => panic!("an ended session: {other:?}"),
    }

    // No MediaWiki at the address.
    let nowhere = ctx_at(&format!("{}/nowhere", base()), ADMIN, ADMIN_PASS);
    match c.login(&nowhere).await {
        Err(ConnectorError::Configuration(m)) => assert!(m.contains("api.php"), "{m}"),
        other => panic!("not a wiki: {other:?}"),
    }
}

#[tokio::test]
async fn listing_pages_through_every_member_once() {
    let prefix = "cs_page_";
    let seeded = MediaWiki.seed_members(prefix, SEEDED).await;
    assert_eq!(seeded.len(), SEEDED);
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let before = Raw::admin().await.names_with_prefix("").await;
    let all = list_all(&c, &ctx, &s).await;
    let ids: HashSet<&str> = all.iter().map(|m| m.app_member_id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "no member is listed twice");
    let names: HashSet<&str> = all.iter().filter_map(|m| m.name.as_deref()).collect();
    for i in 0..SEEDED {
        assert!(
            names.contains(seed_name(prefix, &i.to_string()).as_str()),
            "seeded {i} is listed"
        );
    }
    assert!(
        before.iter().all(|n| names.contains(n.as_str())),
        "no member is lost"
    );
    let shown = |n: &str| all.iter().find(|m| m.name.as_deref() == Some(n)).unwrap();
    assert_eq!(shown("Cs page 3").email, None, "MediaWiki shows no address");

    let admin = all
        .iter()
        .find(|m| m.name.as_deref() == Some(ADMIN))
        .unwrap();
    assert_eq!(
        admin.roles[0], "bureaucrat",
        "most privileged first: {:?}",
        admin.roles
    );
    assert!(admin.roles.contains(&"sysop".to_owned()) && !admin.roles.contains(&"user".to_owned()));
    let one = all
        .iter()
        .find(|m| m.name.as_deref() == Some("Cs page 7"))
        .unwrap();
    assert_eq!(
        (one.roles.clone(), one.state),
        (vec!["user".to_owned()], MemberState::Active)
    );

    // get by id and by name; missing ones are None.
    let got = c.get_member(&ctx, &s, &one.app_member_id).await.unwrap();
    assert_eq!(got.as_ref(), Some(one));
    let by_name = c.get_member(&ctx, &s, "Cs page 7").await.unwrap();
    assert_eq!(by_name.as_ref(), Some(one));
    assert_eq!(c.get_member(&ctx, &s, "999999999").await.unwrap(), None);
    assert_eq!(
        c.get_member(&ctx, &s, "Nobody here at all").await.unwrap(),
        None
    );
    assert_eq!(c.get_member(&ctx, &s, "bad|name<>").await.unwrap(), None);

    // A member made outside Castellan is not found by its address: nobody can know it.
    assert_eq!(c.find_by_email(&ctx, &s, &seeded[7]).await.unwrap(), None);
}

#[tokio::test]
async fn roles_come_from_the_wiki_most_privileged_first() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let roles: Vec<String> = c
        .list_roles(&ctx, &s)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.role)
        .collect();
    assert_eq!(
        roles,
        [
            "bureaucrat",
            "suppress",
            "sysop",
            "interface-admin",
            "bot",
            "user"
        ]
    );
}

#[tokio::test]
async fn invite_is_idempotent_by_address_and_sets_the_group() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::admin().await;
    let sfx = unique();
    let email = format!("ana.{sfx}@invite.test");

    let m = c
        .invite(&ctx, &s, &invitation(&email, None, "sysop"))
        .await
        .expect("invited");
    let name = format!("Ana.{sfx}");
    assert_eq!(m.name.as_deref(), Some(name.as_str()));
    assert_eq!(
        (m.roles.clone(), m.state),
        (vec!["sysop".to_owned()], MemberState::Active)
    );
    assert_eq!(
        m.email.as_deref(),
        Some(email.as_str()),
        "the address it was invited with"
    );
    let u = raw.user(&name).await.expect("the account exists");
    assert_eq!(u["emailable"], true, "the address is stored: {u}");

    // Again (a retry), in other case: the same member, no second account.
    let again = c
        .invite(&ctx, &s, &invitation(&email.to_uppercase(), None, "sysop"))
        .await
        .unwrap();
    assert_eq!(again.app_member_id, m.app_member_id);
    assert!(raw.user(&format!("{name} 2")).await.is_none());
    let found = c
        .find_by_email(&ctx, &s, &email.to_uppercase())
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&m));
    let read = c.get_member(&ctx, &s, &m.app_member_id).await.unwrap();
    assert_eq!(read.as_ref(), Some(&m));
    let unknown = format!("nobody.{sfx}@invite.test");
    assert_eq!(c.find_by_email(&ctx, &s, &unknown).await.unwrap(), None);

    // A username Castellan made for another address is not handed over.
    let taken = invitation(&format!("x.{sfx}@invite.test"), Some(&name), "user");
    assert!(matches!(
        c.invite(&ctx, &s, &taken).await,
        Err(ConnectorError::Conflict(_))
    ));

    // Another address with the same local part gets the next name.
    let other = c
        .invite(
            &ctx,
            &s,
            &invitation(&format!("ana.{sfx}@elsewhere.test"), None, "user"),
        )
        .await
        .unwrap();
    assert_eq!(other.name, Some(format!("{name} 2")));
    assert_eq!(other.roles, ["user"]);

    // A name taken by an account Castellan did not make: a person must decide.
    raw.create(&format!("Bo.{sfx}"), "someone@else.test").await;
    match c
        .invite(
            &ctx,
            &s,
            &invitation(&format!("bo.{sfx}@invite.test"), None, "user"),
        )
        .await
    {
        Err(ConnectorError::Conflict(_)) => {}
        other => panic!("a foreign account's name: {other:?}"),
    }
    // An unknown role is refused before anything is made.
    match c
        .invite(
            &ctx,
            &s,
            &invitation(&format!("cy.{sfx}@invite.test"), None, "wizard"),
        )
        .await
    {
        Err(ConnectorError::Configuration(m)) => assert!(m.contains("wizard"), "{m}"),
        other => panic!("an unknown role: {other:?}"),
    }
    assert!(raw.user(&format!("Cy.{sfx}")).await.is_none());
}

#[tokio::test]
async fn role_changes_leave_exactly_one_group() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::admin().await;
    let sfx = unique();
    let name = format!("Roles {sfx}");
    raw.create(&name, &format!("roles.{sfx}@x.test")).await;
    raw.add_group(&name, "bot").await;
    let id = raw.user(&name).await.unwrap()["userid"].to_string();

    for role in ["sysop", "bureaucrat", "interface-admin", "user", "bot"] {
        let m = c.update_role(&ctx, &s, &id, role).await.expect(role);
        assert_eq!(m.roles, [role]);
        let groups = raw.user(&name).await.unwrap()["groups"].clone();
        let explicit: Vec<&str> = groups
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|g| !["*", "user", "autoconfirmed"].contains(g))
            .collect();
        let want: Vec<&str> = if role == "user" { vec![] } else { vec![role] };
        assert_eq!(explicit, want);
    }
    // Again: nothing to do.
    assert_eq!(
        c.update_role(&ctx, &s, &id, "bot").await.unwrap().roles,
        ["bot"]
    );
    assert!(matches!(
        c.update_role(&ctx, &s, &id, "wizard").await,
        Err(ConnectorError::Configuration(_))
    ));
    assert!(matches!(
        c.update_role(&ctx, &s, "999999999", "user").await,
        Err(ConnectorError::NotFound(_))
    ));
    assert!(matches!(
        c.update_role(&ctx, &s, ADMIN, "user").await,
        Err(ConnectorError::Conflict(_))
    ));
}

#[tokio::test]
async fn removal_blocks_and_a_new_invitation_unblocks() {
    let c = MediaWikiConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::admin().await;
    let sfx = unique();
    let email = format!("leaver.{sfx}@remove.test");
    let m = c
        .invite(&ctx, &s, &invitation(&email, None, "sysop"))
        .await
        .unwrap();
    let id = m.app_member_id.clone();

    c.remove(&ctx, &s, &id).await.expect("removed");
    let gone = c
        .get_member(&ctx, &s, &id)
        .await
        .unwrap()
        .expect("still there");
    assert_eq!(
        (gone.state, gone.roles.clone()),
        (MemberState::Deactivated, vec!["user".to_owned()])
    );
    let u = raw.user(gone.name.as_deref().unwrap()).await.unwrap();
    assert_eq!(u["blockexpiry"], "infinite", "{u}");
    // Again, and a missing member: done.
    c.remove(&ctx, &s, &id).await.expect("removed again");
    c.remove(&ctx, &s, "999999999")
        .await
        .expect("nobody to remove");
    assert!(matches!(
        c.remove(&ctx, &s, ADMIN).await,
        Err(ConnectorError::Conflict(_))
    ));

    // Invited again by address: the same account, unblocked, in the group.
    let back = c
        .invite(&ctx, &s, &invitation(&email, None, "bot"))
        .await
        .unwrap();
    assert_eq!(back.app_member_id, id);
    assert_eq!(
        (back.state, back.roles),
        (MemberState::Active, vec!["bot".to_owned()])
    );

    // A member made outside Castellan, blocked, invited again by its id (as the engine does for
    // a person's own former member).
    let name = format!("Outsider {sfx}");
    raw.create(&name, &format!("outsider.{sfx}@x.test")).await;
    raw.block(&name).await;
    let oid = raw.user(&name).await.unwrap()["userid"].to_string();
    let inv = invitation(&format!("outsider.{sfx}@x.test"), Some(&oid), "user");
    let back = c.invite(&ctx, &s, &inv).await.unwrap();
    assert_eq!((back.app_member_id, back.state), (oid, MemberState::Active));
    // Now recorded: found by its address.
    let found = c
        .find_by_email(&ctx, &s, &format!("outsider.{sfx}@x.test"))
        .await
        .unwrap();
    assert_eq!(found.and_then(|f| f.name), Some(name));
}
