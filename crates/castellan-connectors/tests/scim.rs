//! The SCIM connector against a real SCIM 2.0 service provider on loopback: `scim2-server`
//! (PyPI), an in-memory SCIM server.
//!
//! The server is started once per test binary with `scripts/start-scim.sh` (which installs it
//! into a venv on first use and makes a bearer token in `DIR/token`) in `CASTELLAN_SCIM_DIR`
//! (default `<workspace>/target/scim`) on `CASTELLAN_SCIM_PORT` (default 18082). The script
//! serialises concurrent starts with a file lock and leaves the server running;
//! `scripts/stop-scim.sh DIR` stops it (and its data, kept in memory, is gone). If the script
//! fails, every test fails with its output.
//!
//! Tests share the server, so each one uses its own user names, emails and group names. The
//! fixture seeds users and groups out of band with plain HTTP. The server's token may do
//! everything, so there is no non-admin account.
//!
//! The conformance suite (`castellan_conformance::run`) is not in main yet: until it is, the
//! tests below drive the connector directly through the same cases.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use castellan_conformance::Fixture;
use castellan_connectors::scim::{self, ScimConnector};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, Invitation,
    MemberState,
};
use secrecy::SecretString;
use serde_json::{json, Value};

// ---- harness ---------------------------------------------------------------------------------

fn workspace() -> PathBuf {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    ws.canonicalize().unwrap_or(ws)
}

struct Server {
    /// The SCIM base URL, `http://127.0.0.1:PORT/v2`.
    base: String,
    token: String,
}

/// The shared scim2-server, started on first use.
fn server() -> &'static Server {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    match SERVER.get_or_init(start_scim) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

fn start_scim() -> Result<Server, String> {
    let ws = workspace();
    let dir = std::env::var_os("CASTELLAN_SCIM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.join("target/scim"));
    let port: u16 = match std::env::var("CASTELLAN_SCIM_PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("CASTELLAN_SCIM_PORT={p:?} is not a port"))?,
        Err(_) => 18082,
    };
    let script = ws.join("scripts/start-scim.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .arg(port.to_string())
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
    let token = std::fs::read_to_string(dir.join("token"))
        .map_err(|e| format!("{}/token: {e}", dir.display()))?
        .trim()
        .to_owned();
    Ok(Server {
        base: format!("http://127.0.0.1:{port}/v2"),
        token,
    })
}

/// A suffix no other test (or earlier run) uses.
fn unique() -> String {
    format!("{:010x}", rand::random::<u64>() & 0xff_ffff_ffff)
}

/// The provider used directly with the token, to set up and to check what the connector did.
struct Raw {
    http: reqwest::Client,
}

impl Raw {
    fn new() -> Self {
        Self {
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let s = server();
        let mut req = self
            .http
            .request(method, format!("{}{path}", s.base))
            .bearer_auth(&s.token)
            .header("Content-Type", "application/scim+json");
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Users whose `userName` is `name` (the server compares without case).
    async fn users_named(&self, name: &str) -> Vec<Value> {
        let filter = format!("userName eq {}", Value::from(name));
        let (s, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/Users?filter={}", urlencode(&filter)),
                None,
            )
            .await;
        assert_eq!(s, 200, "{body}");
        body["Resources"].as_array().cloned().unwrap_or_default()
    }

    /// Creates a user (or finds the one with this `userName`); returns its id.
    async fn user(&self, user_name: &str, email: Option<&str>) -> String {
        if let Some(u) = self.users_named(user_name).await.first() {
            return u["id"].as_str().unwrap().to_owned();
        }
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": true,
        });
        if let Some(e) = email {
            body["emails"] = json!([{ "value": e, "primary": true }]);
        }
        let (s, b) = self.call(reqwest::Method::POST, "/Users", Some(body)).await;
        assert_eq!(s, 201, "create {user_name}: {b}");
        b["id"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str) -> Option<Value> {
        let (s, body) = self.call(reqwest::Method::GET, path, None).await;
        match s {
            404 => None,
            200 => Some(body),
            s => panic!("GET {path}: {s} {body}"),
        }
    }

    /// Creates a group; returns its id.
    async fn group(&self, name: &str) -> String {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
        });
        let (s, b) = self
            .call(reqwest::Method::POST, "/Groups", Some(body))
            .await;
        assert_eq!(s, 201, "create group {name}: {b}");
        b["id"].as_str().unwrap().to_owned()
    }

    /// The ids of a group's members.
    async fn members(&self, group: &str) -> Vec<String> {
        let g = self.get(&format!("/Groups/{group}")).await.unwrap();
        let mut ids: Vec<String> = g["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- the fixture -----------------------------------------------------------------------------

/// The conformance fixture: the SCIM connector against scim2-server with its bearer token.
struct ScimFixture;

#[async_trait]
impl Fixture for ScimFixture {
    fn connector(&self) -> Arc<dyn Connector> {
        Registry::default()
            .connector(scim::NAME)
            .expect("scim is registered")
    }

    fn base_url(&self) -> String {
        server().base.clone()
    }

    fn context(&self, base_url: &str) -> ConnectorContext {
        let mut c =
            ConnectorContext::new(base_url, "scim-token", SecretString::from(String::new()));
        c.api_token = Some(SecretString::from(server().token.clone()));
        c.timeout = Duration::from_secs(30);
        c
    }

    /// scim2-server has one kind of token, allowed everything.
    async fn non_admin(&self, _base_url: &str) -> Option<ConnectorContext> {
        None
    }

    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        let raw = Raw::new();
        let mut emails = Vec::with_capacity(n);
        for i in 0..n {
            let email = format!("{prefix}{i}@example.test").to_lowercase();
            raw.user(&email, Some(&email)).await;
            emails.push(email);
        }
        emails
    }
}

fn ctx() -> ConnectorContext {
    ScimFixture.context(&server().base)
}

fn ctx_with(pairs: &[(&str, &str)]) -> ConnectorContext {
    let mut c = ctx();
    for (k, v) in pairs {
        c.settings.insert((*k).to_owned(), (*v).to_owned());
    }
    c
}

async fn session(c: &ScimConnector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the token signs in")
}

fn invitation(email: &str, role: &str) -> Invitation {
    Invitation {
        email: email.to_owned(),
        username: None,
        name: Some("Ana Lima".into()),
        role: role.to_owned(),
    }
}

// ---- direct tests (until the conformance suite lands) ----------------------------------------

#[tokio::test]
async fn a_token_signs_in_and_a_wrong_one_is_refused() {
    let c = ScimConnector::new();
    let ctx = ctx();
    let s = session(&c, &ctx).await;
    assert_eq!(s.data["config"]["patch"], true, "{}", s.data);
    c.verify_permissions(&ctx, &s).await.unwrap();
    let caps = c.discover(&ctx, &s).await.unwrap();
    assert!(caps.contains(&Capability::ListRoles), "{caps:?}");

    let none = ctx_with(&[(scim::ROLES_FROM, scim::ROLES_NONE)]);
    let caps = c.discover(&none, &s).await.unwrap();
    assert!(!caps.contains(&Capability::ListRoles) && caps.contains(&Capability::Remove));

    let mut bad = ScimFixture.context(&server().base);
    bad.api_token = Some(SecretString::from("not-the-token".to_owned()));
    assert!(
        matches!(c.login(&bad).await, Err(ConnectorError::BadCredentials(_))),
        "a wrong token"
    );
    bad.api_token = None;
    assert!(matches!(
        c.login(&bad).await,
        Err(ConnectorError::BadCredentials(_))
    ));
    // A base URL that is no SCIM base.
    let mut wrong = ScimFixture.context(&server().base);
    wrong.base_url = format!("{}/nothing-here", server().base);
    assert!(
        matches!(c.login(&wrong).await, Err(ConnectorError::Configuration(_))),
        "{:?}",
        c.login(&wrong).await
    );
}

#[tokio::test]
async fn listing_pages_loses_and_repeats_no_member_while_users_are_created() {
    let c = ScimConnector::new();
    let ctx = ctx();
    let s = session(&c, &ctx).await;
    let seeded = ScimFixture.seed_members("castellan-page-", 230).await;

    let mut seen = std::collections::HashMap::new();
    let mut cursor = None;
    let mut pages = 0;
    let extra = unique();
    loop {
        let page = c.list_members(&ctx, &s, cursor.clone()).await.unwrap();
        pages += 1;
        for m in page.members {
            *seen.entry(m.app_member_id.clone()).or_insert(0) += 1;
        }
        if pages == 1 {
            // Users created while listing shift the order (the server sorts by id).
            for i in 0..3 {
                let e = format!("castellan-mid-{extra}-{i}@example.test");
                Raw::new().user(&e, Some(&e)).await;
            }
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert!(pages >= 3, "{pages} pages");
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "listed twice: {repeated:?}");
    let raw = Raw::new();
    for e in &seeded {
        let id = raw.users_named(e).await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(seen.contains_key(&id), "{e} was not listed");
    }
}

#[tokio::test]
async fn members_are_found_by_email_in_any_case_and_by_id() {
    let c = ScimConnector::new();
    let ctx = ctx();
    let s = session(&c, &ctx).await;
    let u = unique();
    let raw = Raw::new();

    let email = format!("ana-{u}@example.test");
    let id = raw.user(&email.to_uppercase(), Some(&email)).await;
    let m = c
        .find_by_email(&ctx, &s, &format!("ANA-{u}@Example.Test"))
        .await
        .unwrap()
        .expect("found by userName");
    assert_eq!(m.app_member_id, id);
    assert_eq!(m.email.as_deref(), Some(email.as_str()));
    assert_eq!(m.state, MemberState::Active);
    assert_eq!(m.roles, [scim::BASE_ROLE]);
    assert_eq!(c.get_member(&ctx, &s, &id).await.unwrap(), Some(m));
    assert_eq!(c.get_member(&ctx, &s, "no-such-id").await.unwrap(), None);

    // Only in `emails`, with a user name that is no address.
    let other = format!("bo-{u}@example.test");
    let id = raw.user(&format!("bo-{u}"), Some(&other)).await;
    let m = c.find_by_email(&ctx, &s, &other).await.unwrap().unwrap();
    assert_eq!(
        (m.app_member_id.as_str(), m.email.as_deref()),
        (id.as_str(), Some(other.as_str()))
    );

    // Quotes and backslashes are escaped in the filter.
    let odd = format!("o\"b\\rien-{u}@example.test");
    let id = raw.user(&odd, None).await;
    let m = c.find_by_email(&ctx, &s, &odd).await.unwrap().unwrap();
    assert_eq!(m.app_member_id, id);

    assert_eq!(
        c.find_by_email(&ctx, &s, &format!("nobody-{u}@example.test"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn invite_creates_once_and_gives_the_group_role() {
    let c = ScimConnector::new();
    let ctx = ctx();
    let s = session(&c, &ctx).await;
    let u = unique();
    let raw = Raw::new();
    let admins = format!("Admins-{u}");
    let gid = raw.group(&admins).await;

    let email = format!("new-{u}@example.test");
    let m = c
        .invite(&ctx, &s, &invitation(&email, &admins.to_lowercase()))
        .await
        .unwrap();
    assert_eq!(m.email.as_deref(), Some(email.as_str()));
    assert_eq!(m.name.as_deref(), Some("Ana Lima"));
    assert_eq!(m.roles, [admins.to_lowercase()]);
    assert_eq!(raw.members(&gid).await, [m.app_member_id.as_str()]);
    let user = raw
        .get(&format!("/Users/{}", m.app_member_id))
        .await
        .unwrap();
    assert_eq!(user["userName"], email.as_str());
    assert_eq!(user["active"], true);

    // Again, in another case: the same member, not a second user.
    let again = c
        .invite(&ctx, &s, &invitation(&email.to_uppercase(), &admins))
        .await
        .unwrap();
    assert_eq!(again.app_member_id, m.app_member_id);
    assert_eq!(raw.users_named(&email).await.len(), 1);

    // A role the provider does not have creates nobody.
    let nobody = format!("nobody-{u}@example.test");
    assert!(matches!(
        c.invite(&ctx, &s, &invitation(&nobody, "owners")).await,
        Err(ConnectorError::Configuration(_))
    ));
    assert!(raw.users_named(&nobody).await.is_empty());

    // A deactivated user with the address is reactivated.
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    let back = c
        .invite(&ctx, &s, &invitation(&email, scim::BASE_ROLE))
        .await
        .unwrap();
    assert_eq!(back.app_member_id, m.app_member_id);
    assert_eq!(back.state, MemberState::Active);
    assert_eq!(back.roles, [scim::BASE_ROLE]);
    assert!(raw.members(&gid).await.is_empty());
}

/// Each role change, with PATCH and with the PUT fallback (a session whose provider has no
/// PATCH).
#[tokio::test]
async fn roles_are_groups_changed_with_patch_or_put() {
    let c = ScimConnector::new();
    let ctx = ctx();
    let s = session(&c, &ctx).await;
    let mut no_patch = s.clone();
    no_patch.data["config"]["patch"] = Value::Bool(false);
    let u = unique();
    let raw = Raw::new();
    let admins = raw.group(&format!("admins-{u}")).await;
    let editors = raw.group(&format!("editors-{u}")).await;
    // The bystander stays in their group whatever happens to the member.
    let bystander = raw.user(&format!("by-{u}@example.test"), None).await;
    c.update_role(&ctx, &s, &bystander, &format!("admins-{u}"))
        .await
        .unwrap();
    for (label, s) in [("patch", &s), ("put", &no_patch)] {
        let email = format!("role-{label}-{u}@example.test");
        let id = raw.user(&email, Some(&email)).await;

        let m = c
            .update_role(&ctx, s, &id, &format!("ADMINS-{u}"))
            .await
            .unwrap();
        assert_eq!(m.roles, [format!("admins-{u}")], "{label}");
        assert!(raw.members(&admins).await.contains(&id), "{label}");

        let m = c
            .update_role(&ctx, s, &id, &format!("editors-{u}"))
            .await
            .unwrap();
        assert_eq!(m.roles, [format!("editors-{u}")], "{label}");
        assert!(!raw.members(&admins).await.contains(&id), "{label}");
        assert!(raw.members(&editors).await.contains(&id), "{label}");
        // Idempotent.
        let again = c
            .update_role(&ctx, s, &id, &format!("editors-{u}"))
            .await
            .unwrap();
        assert_eq!(again, m);

        let m = c.update_role(&ctx, s, &id, scim::BASE_ROLE).await.unwrap();
        assert_eq!(m.roles, [scim::BASE_ROLE], "{label}");
        assert!(!raw.members(&editors).await.contains(&id), "{label}");
        assert!(raw.members(&admins).await.contains(&bystander), "{label}");
        let user = raw.get(&format!("/Users/{id}")).await.unwrap();
        assert_eq!(
            user["emails"][0]["value"],
            email.as_str(),
            "{label}: PUT kept the user"
        );
    }

    let roles = c.list_roles(&ctx, &s).await.unwrap();
    assert!(roles.iter().any(|r| r.role == format!("admins-{u}")));
    assert_eq!(roles.last().unwrap().role, scim::BASE_ROLE);
    assert!(matches!(
        c.update_role(&ctx, &s, "no-such-id", scim::BASE_ROLE).await,
        Err(ConnectorError::NotFound(_))
    ));
    let none = ctx_with(&[(scim::ROLES_FROM, scim::ROLES_NONE)]);
    assert!(matches!(
        c.update_role(&none, &s, &bystander, &format!("admins-{u}"))
            .await,
        Err(ConnectorError::Configuration(_))
    ));
    let m = c.get_member(&none, &s, &bystander).await.unwrap().unwrap();
    assert_eq!(m.roles, [scim::BASE_ROLE]);
}

#[tokio::test]
async fn remove_deactivates_or_deletes_and_a_member_already_gone_is_done() {
    let c = ScimConnector::new();
    let ctx = ctx();
    let s = session(&c, &ctx).await;
    let mut no_patch = s.clone();
    no_patch.data["config"]["patch"] = Value::Bool(false);
    let u = unique();
    let raw = Raw::new();

    for (label, s) in [("patch", &s), ("put", &no_patch)] {
        let email = format!("rm-{label}-{u}@example.test");
        let id = raw.user(&email, Some(&email)).await;
        c.remove(&ctx, s, &id).await.unwrap();
        let m = c.get_member(&ctx, s, &id).await.unwrap().unwrap();
        assert_eq!(m.state, MemberState::Deactivated, "{label}");
        assert_eq!(m.email.as_deref(), Some(email.as_str()), "{label}");
        c.remove(&ctx, s, &id).await.unwrap();
    }

    let email = format!("seat-{u}@example.test");
    let id = raw.user(&email, Some(&email)).await;
    let m = c.remove_keep_seat(&ctx, &s, &id).await.unwrap();
    assert_eq!(m.state, MemberState::Deactivated);

    let delete = ctx_with(&[(scim::DEACTIVATE_WITH, scim::DEACTIVATE_DELETE)]);
    let email = format!("del-{u}@example.test");
    let id = raw.user(&email, Some(&email)).await;
    c.remove(&delete, &s, &id).await.unwrap();
    assert!(raw.get(&format!("/Users/{id}")).await.is_none());
    assert_eq!(c.get_member(&delete, &s, &id).await.unwrap(), None);
    c.remove(&delete, &s, &id).await.unwrap();
    c.remove(&ctx, &s, &id).await.unwrap();
}

#[tokio::test]
async fn the_fixture_seeds_idempotently() {
    let f = ScimFixture;
    let u = unique();
    let a = f.seed_members(&format!("Seed-{u}-"), 3).await;
    let b = f.seed_members(&format!("Seed-{u}-"), 3).await;
    assert_eq!(a, b);
    assert_eq!(a[0], format!("seed-{u}-0@example.test"));
    assert!(f.non_admin(&f.base_url()).await.is_none());
    assert!(f.resource().await.is_none());
    assert_eq!(f.connector().describe().name, scim::NAME);
    assert_eq!(Raw::new().users_named(&a[2]).await.len(), 1);
}

/// Through the fault proxy in front of the real server: 429 with `Retry-After` and 503 on reads
/// are retried in the call (or become `RateLimited` once the attempts are spent), and a reset
/// connection on the invitation's `POST` creates the user once when the invitation is retried.
#[tokio::test]
async fn faults_are_retried_or_typed_and_no_write_is_done_twice() {
    use castellan_conformance::fault_proxy::{Fault, FaultProxy};

    let c = ScimConnector::new();
    let proxy = FaultProxy::start(&server().base).await;
    let ctx = ScimFixture.context(&proxy.url);
    let s = session(&c, &ctx).await;
    let retry_after = || Fault::StatusWith(429, vec![("Retry-After".into(), "1".into())]);

    proxy.fail("GET", "/Users", retry_after(), 1);
    proxy.fail("GET", "/Groups", Fault::Status(503), 1);
    c.list_members(&ctx, &s, None)
        .await
        .expect("one 429 and one 503 are retried in the call");
    proxy.fail("GET", "/Users", retry_after(), 3);
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(1)))
        }
        other => panic!("three 429s gave {other:?}"),
    }

    let email = format!("fault-{}@example.test", unique());
    proxy.fail("POST", "/Users", Fault::Reset, 1);
    let first = c
        .invite(&ctx, &s, &invitation(&email, scim::BASE_ROLE))
        .await;
    assert!(
        matches!(&first, Err(e) if e.is_retryable()),
        "a reset connection: {first:?}"
    );
    let m = c
        .invite(&ctx, &s, &invitation(&email, scim::BASE_ROLE))
        .await
        .expect("the retried invitation");
    assert_eq!(m.email.as_deref(), Some(email.as_str()));
    assert_eq!(Raw::new().users_named(&email).await.len(), 1);
    let posts = proxy
        .writes()
        .into_iter()
        .filter(|w| w.method == "POST" && w.body.contains(&email))
        .count();
    assert_eq!(posts, 1, "the user was created once");
}
