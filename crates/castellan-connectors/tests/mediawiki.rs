//! The MediaWiki connector against a real MediaWiki on loopback: the conformance suite through
//! [`MediaWikiFixture`], then what only MediaWiki has (groups as roles read from the wiki, one
//! group per member, removal by block, usernames from addresses, the invitation records).
//!
//! The wiki is started once per test binary with `scripts/start-mediawiki.sh` (which installs
//! Debian's `mediawiki` with SQLite on first use and makes the automation account `Admin` /
//! `adminpass123`, a sysop and bureaucrat) in `CASTELLAN_MEDIAWIKI_DIR` (default
//! `<workspace>/target/mediawiki`) on `CASTELLAN_MEDIAWIKI_PORT` (default 18081), and left
//! running; `scripts/stop-mediawiki.sh DIR` stops it. Tests share the wiki, so each one uses its
//! own names and addresses.
//!
//! MediaWiki shows nobody's email address but one's own, so the fixture says so
//! ([`Fixture::shows_emails`]): the suite knows seeded members by name, and its lookup by the
//! address of a member made outside Castellan is unsupported.

use std::collections::HashSet;

use async_trait::async_trait;
use castellan_conformance::harness::{password_context, unique, PasswordApp};
use castellan_conformance::{Fixture, Outcome};
use castellan_connectors::mediawiki::MediaWikiConnector;
use castellan_connectors::Registry;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, Invitation,
    MemberState,
};
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::Value;

/// The wiki and its automation account (a sysop and bureaucrat, made by the start script).
const WIKI: PasswordApp = PasswordApp::new("mediawiki", 18081, "Admin", "adminpass123");
const ADMIN: &str = WIKI.username;
const ADMIN_PASS: &str = WIKI.password;
/// An account in no group, and its password.
const PLAIN: &str = "Conformance plain";
const PASS: &str = "plain-user-pass-1";

fn base() -> String {
    WIKI.base_url()
}

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
        let raw = Raw::admin().await;
        if raw.user(PLAIN).await.is_none() {
            raw.create(PLAIN, "plain@users.test").await;
        }
        Some(password_context(base_url, PLAIN, PASS))
    }

    /// Users named `<prefix><i>` (MediaWiki shows `Conformance page 7`) with the address
    /// `<prefix><i>@seed.test`, four at a time (the wiki serves four requests at once).
    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        let raw = Raw::admin().await;
        let have = raw.names_with_prefix(&canonical(prefix)).await;
        let emails: Vec<String> = (0..n).map(|i| format!("{prefix}{i}@seed.test")).collect();
        let missing = emails.iter().enumerate().filter_map(|(i, email)| {
            let name = canonical(&format!("{prefix}{i}"));
            (!have.contains(&name)).then_some((name, email))
        });
        futures::stream::iter(missing)
            .for_each_concurrent(4, |(name, email)| {
                let raw = &raw;
                async move { raw.create(&name, email).await }
            })
            .await;
        emails
    }

    async fn automation_member(&self) -> Option<String> {
        Some("1".to_owned())
    }

    fn shows_emails(&self) -> bool {
        false
    }
}

/// A username as MediaWiki stores it: `_` as a space, the first letter capitalised.
fn canonical(name: &str) -> String {
    let name = name.replace('_', " ");
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
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

    /// Creates an account (no group) with the password `plain-user-pass-1`. A token the wiki
    /// refuses (`badtoken`: concurrent requests on one session can lose the session's write on a
    /// fresh SQLite wiki) is fetched again, up to five tries; a name that exists by then is done.
    async fn create(&self, name: &str, email: &str) {
        for attempt in 1..=5 {
            let token = self.token("createaccount").await;
            let v = self
                .post(&[
                    ("action", "createaccount"),
                    ("username", name),
                    ("password", PASS),
                    ("retype", PASS),
                    ("email", email),
                    ("createreturnurl", "http://127.0.0.1/"),
                    ("createtoken", &token),
                ])
                .await;
            let code = v["error"]["code"]
                .as_str()
                .or(v["createaccount"]["messagecode"].as_str());
            match (v["createaccount"]["status"].as_str(), code) {
                (Some("PASS"), _) => return,
                (_, Some("badtoken")) if attempt < 5 => continue,
                (_, Some("userexists")) if attempt > 1 => return,
                _ => panic!("create {name}: {v}"),
            }
        }
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

/// The groups a user is in explicitly.
fn explicit(u: &Value) -> Vec<&str> {
    u["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|g| !["*", "user", "autoconfirmed"].contains(g))
        .collect()
}

// ---- what only MediaWiki has ------------------------------------------------------------------

#[tokio::test]
async fn roles_are_the_wikis_groups_most_privileged_first() {
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
    assert_eq!(
        c.describe().roles,
        roles,
        "the fixed list is the wiki's default"
    );
    let admin = c.get_member(&ctx, &s, "1").await.unwrap().expect("Admin");
    assert_eq!(admin.roles, ["bureaucrat", "sysop", "interface-admin"]);
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
