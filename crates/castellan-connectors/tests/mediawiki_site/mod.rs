//! The real MediaWiki the MediaWiki connectors' tests share (`tests/mediawiki.rs`,
//! `tests/mediawiki_browser.rs`): started once per test binary with
//! `scripts/start-mediawiki.sh` (which installs Debian's `mediawiki` with SQLite on first use and
//! makes the automation account `Admin` / `adminpass123`, a sysop and bureaucrat) in
//! `CASTELLAN_MEDIAWIKI_DIR` (default `<workspace>/target/mediawiki`) on
//! `CASTELLAN_MEDIAWIKI_PORT` (default 18081), and left running; `scripts/stop-mediawiki.sh DIR`
//! stops it. Its Action API as `Admin` out of band ([`Raw`]: to seed and to check what a
//! connector did), the conformance suite's seeded members and the account without rights. Tests
//! share the wiki, so each one uses its own names and addresses.
#![allow(dead_code)]

use std::collections::HashSet;

use castellan_conformance::harness::{password_context, PasswordApp};
use castellan_core::connector::{AppMember, AppSession, Connector, ConnectorContext};
use futures::StreamExt;
use serde_json::Value;

/// The wiki and its automation account (a sysop and bureaucrat, made by the start script).
pub const WIKI: PasswordApp = PasswordApp::new("mediawiki", 18081, "Admin", "adminpass123");
pub const ADMIN: &str = WIKI.username;
pub const ADMIN_PASS: &str = WIKI.password;
/// An account in no group, and its password.
pub const PLAIN: &str = "Conformance plain";
pub const PASS: &str = "plain-user-pass-1";

pub fn base() -> String {
    WIKI.base_url()
}

/// The context of `Conformance plain`, an account in no group (made on first use).
pub async fn plain_context(base_url: &str) -> ConnectorContext {
    let raw = Raw::admin().await;
    if raw.user(PLAIN).await.is_none() {
        raw.create(PLAIN, "plain@users.test").await;
    }
    password_context(base_url, PLAIN, PASS)
}

/// Checks that connector `c` lists the wiki's default groups as roles, most privileged first,
/// as its fixed list says too, and returns user 1 (`Admin`, in `bureaucrat`, `sysop` and
/// `interface-admin`) found by its id.
pub async fn roles_and_admin(
    c: &dyn Connector,
    ctx: &ConnectorContext,
    s: &AppSession,
) -> AppMember {
    let listed = c.list_roles(ctx, s).await.unwrap().into_iter();
    let roles: Vec<String> = listed.map(|r| r.role).collect();
    let want = [
        "bureaucrat",
        "suppress",
        "sysop",
        "interface-admin",
        "bot",
        "user",
    ];
    assert_eq!(roles, want);
    assert_eq!(
        c.describe().roles,
        roles,
        "the fixed list is the wiki's default"
    );
    let admin = c.get_member(ctx, s, "1").await.unwrap().expect("user 1");
    assert_eq!(admin.roles, ["bureaucrat", "sysop", "interface-admin"]);
    admin
}

/// The conformance suite's members: users named `<prefix><i>` (MediaWiki shows `Conformance
/// page 7`) with the address `<prefix><i>@seed.test`, made once through the Action API, four at
/// a time (the wiki serves four requests at once). Returns the addresses.
pub async fn seed(prefix: &str, n: usize) -> Vec<String> {
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

/// A username as MediaWiki stores it: `_` as a space, the first letter capitalised.
pub fn canonical(name: &str) -> String {
    let name = name.replace('_', " ");
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The groups a user is in explicitly.
pub fn explicit(u: &Value) -> Vec<&str> {
    u["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|g| !["*", "user", "autoconfirmed"].contains(g))
        .collect()
}

/// The Action API used directly as `Admin` (a cookie session of its own), to seed and to check
/// what the connector did.
pub struct Raw {
    http: reqwest::Client,
    api: String,
    cookies: std::sync::Mutex<Vec<String>>,
}

impl Raw {
    pub async fn admin() -> Self {
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

    /// The session's cookies (`name=value`), as a person would export them from their browser
    /// signed in to the wiki.
    pub fn cookie_pairs(&self) -> Vec<(String, String)> {
        let jar = self.cookies.lock().unwrap();
        jar.iter()
            .filter_map(|c| c.split_once('='))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// Sends with the session's cookies, keeps the ones the wiki sets, returns the JSON.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Value {
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

    pub async fn token(&self, kind: &str) -> String {
        let v = self
            .get(&[("action", "query"), ("meta", "tokens"), ("type", kind)])
            .await;
        v["query"]["tokens"][format!("{kind}token")]
            .as_str()
            .unwrap_or_else(|| panic!("no {kind} token: {v}"))
            .to_owned()
    }

    pub async fn post(&self, form: &[(&str, &str)]) -> Value {
        let mut form = form.to_vec();
        form.extend([("format", "json"), ("formatversion", "2")]);
        self.send(self.http.post(&self.api).form(&form)).await
    }

    pub async fn get(&self, query: &[(&str, &str)]) -> Value {
        let mut q = query.to_vec();
        q.extend([("format", "json"), ("formatversion", "2")]);
        self.send(self.http.get(&self.api).query(&q)).await
    }

    /// A user row of `list=users` (groups, block, whether an address is stored), by name.
    pub async fn user(&self, name: &str) -> Option<Value> {
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
    pub async fn create(&self, name: &str, email: &str) {
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

    pub async fn block(&self, name: &str) {
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

    pub async fn add_group(&self, name: &str, group: &str) {
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
    pub async fn names_with_prefix(&self, prefix: &str) -> HashSet<String> {
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
