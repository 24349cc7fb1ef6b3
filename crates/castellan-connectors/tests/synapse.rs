//! The Synapse connector against a real Synapse on loopback.
//!
//! The server is started once per test binary with `scripts/start-synapse.sh` (which installs
//! Synapse from PyPI on first use) in `CASTELLAN_SYNAPSE_DIR` (default `<workspace>/target/synapse`)
//! on `CASTELLAN_SYNAPSE_PORT` (default 18008). The script serialises concurrent starts with a
//! file lock and leaves the server running for the next test run; `scripts/stop-synapse.sh DIR`
//! stops it. If the script fails, every test fails with its output.
//!
//! Tests share the server, so each one uses its own usernames and emails.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use castellan_connectors::{Registry, SynapseConnector};
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry,
    Invitation, MemberState,
};
use futures::stream::{self, StreamExt};
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "admin";
const ADMIN_PASS: &str = "adminpass";
/// Users created once (idempotently) for the paging test: more than two pages.
const PAGING_USERS: usize = 250;
const PAGING_PREFIX: &str = "castellan_page_";

// ---- harness ---------------------------------------------------------------------------------

fn workspace() -> PathBuf {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    ws.canonicalize().unwrap_or(ws)
}

/// The base URL of the shared Synapse, started on first use.
fn base() -> &'static str {
    static BASE: OnceLock<Result<String, String>> = OnceLock::new();
    match BASE.get_or_init(start_synapse) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    }
}

fn start_synapse() -> Result<String, String> {
    let ws = workspace();
    let dir = std::env::var_os("CASTELLAN_SYNAPSE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.join("target/synapse"));
    let port: u16 = match std::env::var("CASTELLAN_SYNAPSE_PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("CASTELLAN_SYNAPSE_PORT={p:?} is not a port"))?,
        Err(_) => 18008,
    };
    let script = ws.join("scripts/start-synapse.sh");
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
    Ok(format!("http://127.0.0.1:{port}"))
}

fn ctx_at(base_url: &str, username: &str, password: &str) -> ConnectorContext {
    ConnectorContext {
        hub_id: None,
        base_url: base_url.to_owned(),
        organization_id: None,
        username: username.to_owned(),
        password: SecretString::from(password.to_owned()),
        totp: None,
        codes: None,
        api_token: None,
        settings: Default::default(),
        timeout: Duration::from_secs(30),
    }
}

fn ctx(username: &str, password: &str) -> ConnectorContext {
    ctx_at(base(), username, password)
}

fn admin_ctx() -> ConnectorContext {
    ctx(ADMIN, ADMIN_PASS)
}

async fn admin_session(c: &SynapseConnector) -> (ConnectorContext, AppSession) {
    let ctx = admin_ctx();
    let s = c.login(&ctx).await.expect("the admin logs in");
    (ctx, s)
}

/// A suffix no other test (or earlier run) uses.
fn unique() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

fn enc(s: &str) -> String {
    s.replace('@', "%40")
        .replace(':', "%3A")
        .replace('+', "%2B")
}

/// The Admin API used directly, to set up and to check what the connector did.
struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn new() -> Self {
        let http = reqwest::Client::new();
        let base = base().to_owned();
        let body: Value = http
            .post(format!("{base}/_matrix/client/v3/login"))
            .json(&json!({"type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": ADMIN}, "password": ADMIN_PASS}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        Self { http, base, token }
    }

    async fn user(&self, id: &str) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}/_synapse/admin/v2/users/{}", self.base, enc(id)))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        Some(r.error_for_status().unwrap().json().await.unwrap())
    }

    async fn put_user(&self, id: &str, body: Value) -> Value {
        let r = self
            .http
            .put(format!("{}/_synapse/admin/v2/users/{}", self.base, enc(id)))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "PUT {id}: {status} {v}");
        v
    }

    async fn deactivate(&self, id: &str) {
        self.http
            .post(format!(
                "{}/_synapse/admin/v1/deactivate/{}",
                self.base,
                enc(id)
            ))
            .bearer_auth(&self.token)
            .json(&json!({"erase": false}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    /// User ids containing `part` (deactivated included).
    async fn ids_containing(&self, part: &str) -> HashSet<String> {
        let body: Value = self
            .http
            .get(format!("{}/_synapse/admin/v2/users", self.base))
            .query(&[
                ("user_id", part),
                ("limit", "10000"),
                ("deactivated", "true"),
                ("guests", "false"),
            ])
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn paging_id(i: usize) -> String {
    format!("@{PAGING_PREFIX}{i:03}:localhost")
}

fn paging_email(i: usize) -> String {
    format!("page{i:03}@paging.test")
}

/// Every 50th paging user is deactivated.
fn paging_deactivated(i: usize) -> bool {
    i % 50 == 7
}

/// Creates the paging users once per server (idempotent across runs and tests).
async fn paging_users() -> &'static [String] {
    static USERS: tokio::sync::OnceCell<Vec<String>> = tokio::sync::OnceCell::const_new();
    USERS
        .get_or_init(|| async {
            let raw = Raw::new().await;
            let existing = raw.ids_containing(PAGING_PREFIX).await;
            let raw = &raw;
            let existing = &existing;
            stream::iter(0..PAGING_USERS)
                .for_each_concurrent(8, |i| async move {
                    let id = paging_id(i);
                    if !existing.contains(&id) {
                        raw.put_user(
                            &id,
                            json!({"displayname": format!("Page {i}"), "admin": false,
                                "threepids": [{"medium": "email", "address": paging_email(i)}]}),
                        )
                        .await;
                    }
                    if paging_deactivated(i)
                        && !raw.user(&id).await.unwrap()["deactivated"]
                            .as_bool()
                            .unwrap()
                    {
                        raw.deactivate(&id).await;
                    }
                })
                .await;
            (0..PAGING_USERS).map(paging_id).collect()
        })
        .await
}

/// Lists every member, page by page; `between` runs after the first page.
async fn list_all<F, Fut>(
    c: &SynapseConnector,
    ctx: &ConnectorContext,
    s: &AppSession,
    between: F,
) -> (Vec<AppMember>, usize)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut between = Some(between);
    let mut all = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = c
            .list_members(ctx, s, cursor)
            .await
            .expect("a page of members");
        pages += 1;
        assert!(page.members.len() <= 100, "pages hold at most 100 members");
        all.extend(page.members);
        if let Some(f) = between.take() {
            f().await;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return (all, pages),
        }
        assert!(pages < 10_000, "the listing does not end");
    }
}

fn invitation(email: &str, username: Option<&str>, role: &str) -> Invitation {
    Invitation {
        email: email.to_owned(),
        username: username.map(str::to_owned),
        name: Some("Invited Person".to_owned()),
        role: role.to_owned(),
    }
}

// ---- tests -----------------------------------------------------------------------------------

#[tokio::test]
async fn the_admin_logs_in_and_may_manage_members() {
    let c = SynapseConnector::new();
    let (ctx, s) = admin_session(&c).await;
    assert_eq!(s.data["server_name"], "localhost");
    assert_eq!(s.data["user_id"], "@admin:localhost");
    assert!(
        !format!("{s:?}").contains("syt_"),
        "Debug of a session hides the token"
    );
    c.verify_permissions(&ctx, &s)
        .await
        .expect("the admin is a server admin");

    // A full user id works as the username too.
    let full = ctx_at(base(), "@admin:localhost", ADMIN_PASS);
    let s2 = c.login(&full).await.expect("login with a full user id");
    c.verify_permissions(&full, &s2).await.unwrap();
}

#[tokio::test]
async fn a_wrong_password_is_bad_credentials() {
    let c = SynapseConnector::new();
    let err = c.login(&ctx(ADMIN, "not-the-password")).await.unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
    assert!(!err.is_retryable());
    let err = c
        .login(&ctx(&format!("nobody_{}", unique()), "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
}

#[tokio::test]
async fn a_non_admin_account_lacks_permission() {
    let raw = Raw::new().await;
    let name = format!("plain_{}", unique());
    raw.put_user(
        &format!("@{name}:localhost"),
        json!({"password": "plain-pass-1", "admin": false}),
    )
    .await;

    let c = SynapseConnector::new();
    let ctx = ctx(&name, "plain-pass-1");
    let s = c.login(&ctx).await.expect("a non-admin can log in");
    let err = c.verify_permissions(&ctx, &s).await.unwrap_err();
    assert_eq!(
        err,
        ConnectorError::InsufficientPermission("the account is not a Synapse server admin".into())
    );
    let err = c.list_members(&ctx, &s, None).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::InsufficientPermission(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn members_are_listed_page_by_page_without_loss_or_repeat() {
    let expected = paging_users().await;
    let c = SynapseConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::new().await;
    let run = unique();

    // Users created after the first page, sorted before everything listed so far, shift
    // Synapse's offsets; the cursor must neither repeat nor skip anybody because of them.
    let (members, pages) = list_all(&c, &ctx, &s, || async {
        for k in 0..3 {
            raw.put_user(
                &format!("@0_castellan_shift_{run}_{k}:localhost"),
                json!({"admin": false}),
            )
            .await;
        }
    })
    .await;
    assert!(
        pages >= 3,
        "{PAGING_USERS} users take several pages, got {pages}"
    );

    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &members {
        *seen.entry(m.app_member_id.as_str()).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "members repeated across pages: {repeated:?}"
    );

    let by_id: HashMap<&str, &AppMember> = members
        .iter()
        .map(|m| (m.app_member_id.as_str(), m))
        .collect();
    for (i, id) in expected.iter().enumerate() {
        let m = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{id} is missing from the listing"));
        assert_eq!(m.roles, ["user"]);
        assert_eq!(m.name.as_deref(), Some(format!("Page {i}").as_str()));
        if paging_deactivated(i) {
            assert_eq!(m.state, MemberState::Deactivated, "{id}");
        } else {
            assert_eq!(m.state, MemberState::Active, "{id}");
            assert_eq!(m.email.as_deref(), Some(paging_email(i).as_str()), "{id}");
        }
    }
    let admin = by_id
        .get("@admin:localhost")
        .expect("the admin is listed too");
    assert_eq!(admin.roles, ["admin"]);
}

#[tokio::test]
async fn invite_update_role_remove_and_reinvite() {
    let c = SynapseConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::new().await;
    let sfx = unique();
    let email = format!("Ana.Inv+{sfx}@Example.TEST");
    let lower = email.to_lowercase();
    let id = format!("@ana.inv_{sfx}:localhost");

    // Invite: the member exists in Synapse with the role and the email.
    let m = c
        .invite(&ctx, &s, &invitation(&email, None, "user"))
        .await
        .expect("invite");
    assert_eq!(m.app_member_id, id);
    assert_eq!(m.email.as_deref(), Some(lower.as_str()));
    assert_eq!(m.roles, ["user"]);
    assert_eq!(m.state, MemberState::Active);
    assert_eq!(m.name.as_deref(), Some("Invited Person"));
    let u = raw.user(&id).await.expect("the user exists in Synapse");
    assert_eq!(u["admin"], false);
    assert_eq!(u["deactivated"], false);
    assert_eq!(u["threepids"][0]["address"], lower.as_str());

    // Inviting the same email again changes nothing.
    let again = c
        .invite(&ctx, &s, &invitation(&lower, None, "user"))
        .await
        .expect("invite again");
    assert_eq!(again, m);

    // Lookups.
    assert_eq!(c.get_member(&ctx, &s, &id).await.unwrap(), Some(m.clone()));
    assert_eq!(
        c.find_by_email(&ctx, &s, &email.to_uppercase())
            .await
            .unwrap(),
        Some(m.clone())
    );

    // Roles: user → admin → user, as Synapse shows them.
    let up = c
        .update_role(&ctx, &s, &id, "admin")
        .await
        .expect("promote");
    assert_eq!(up.roles, ["admin"]);
    assert_eq!(raw.user(&id).await.unwrap()["admin"], true);
    let same = c
        .update_role(&ctx, &s, &id, "admin")
        .await
        .expect("promote again");
    assert_eq!(same.roles, ["admin"]);
    let down = c.update_role(&ctx, &s, &id, "user").await.expect("demote");
    assert_eq!(down.roles, ["user"]);
    assert_eq!(raw.user(&id).await.unwrap()["admin"], false);
    let err = c.update_role(&ctx, &s, &id, "owner").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");

    // Remove deactivates; removing twice is harmless.
    c.remove(&ctx, &s, &id).await.expect("remove");
    assert_eq!(raw.user(&id).await.unwrap()["deactivated"], true);
    let gone = c
        .get_member(&ctx, &s, &id)
        .await
        .unwrap()
        .expect("still known");
    assert_eq!(gone.state, MemberState::Deactivated);
    c.remove(&ctx, &s, &id).await.expect("remove again");

    // Another person whose email has the same local part never gets the departed account:
    // Synapse dropped its address, so the derived id is skipped for the next free one.
    let other = format!("ana.inv_{sfx}@elsewhere.test");
    let stranger = c
        .invite(&ctx, &s, &invitation(&other, None, "user"))
        .await
        .expect("invite a namesake");
    assert_eq!(
        stranger.app_member_id,
        format!("@ana.inv_{sfx}-2:localhost")
    );
    assert_eq!(raw.user(&id).await.unwrap()["deactivated"], true);
    let again = c
        .invite(&ctx, &s, &invitation(&other, None, "user"))
        .await
        .expect("the namesake again");
    assert_eq!(
        again.app_member_id, stranger.app_member_id,
        "idempotent by email"
    );

    // Inviting the person again names their own former member (as the engine does): the
    // account is reactivated with the requested role and the email.
    let back = c
        .invite(&ctx, &s, &invitation(&email, Some(&id), "admin"))
        .await
        .expect("re-invite");
    assert_eq!(back.app_member_id, id);
    assert_eq!(back.state, MemberState::Active);
    assert_eq!(back.roles, ["admin"]);
    assert_eq!(back.email.as_deref(), Some(lower.as_str()));
    let u = raw.user(&id).await.unwrap();
    assert_eq!(
        (u["deactivated"].as_bool(), u["admin"].as_bool()),
        (Some(false), Some(true))
    );
}

#[tokio::test]
async fn invite_with_a_username_and_the_admin_role() {
    let c = SynapseConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::new().await;
    let sfx = unique();
    let inv = invitation(
        &format!("boss_{sfx}@example.test"),
        Some(&format!("The Boss {sfx}")),
        "admin",
    );
    let m = c.invite(&ctx, &s, &inv).await.expect("invite");
    let id = format!("@the_boss_{sfx}:localhost");
    assert_eq!(m.app_member_id, id);
    assert_eq!(m.roles, ["admin"]);
    assert_eq!(raw.user(&id).await.unwrap()["admin"], true);

    // A full user id as the username.
    let inv = invitation(
        &format!("full_{sfx}@example.test"),
        Some(&format!("@full_{sfx}:localhost")),
        "user",
    );
    assert_eq!(
        c.invite(&ctx, &s, &inv).await.unwrap().app_member_id,
        format!("@full_{sfx}:localhost")
    );
    let inv = invitation(
        &format!("x_{sfx}@example.test"),
        Some("@x:elsewhere.test"),
        "user",
    );
    assert!(matches!(
        c.invite(&ctx, &s, &inv).await,
        Err(ConnectorError::Configuration(_))
    ));
    let inv = invitation(&format!("y_{sfx}@example.test"), None, "owner");
    assert!(matches!(
        c.invite(&ctx, &s, &inv).await,
        Err(ConnectorError::Configuration(_))
    ));
    let inv = invitation("not-an-email", None, "user");
    assert!(matches!(
        c.invite(&ctx, &s, &inv).await,
        Err(ConnectorError::Configuration(_))
    ));
}

#[tokio::test]
async fn invite_conflicts_with_a_taken_username() {
    let c = SynapseConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::new().await;
    let sfx = unique();
    let name = format!("taken_{sfx}");
    raw.put_user(
        &format!("@{name}:localhost"),
        json!({"threepids": [{"medium": "email", "address": format!("first_{sfx}@example.test")}]}),
    )
    .await;
    let err = c
        .invite(
            &ctx,
            &s,
            &invitation(&format!("second_{sfx}@example.test"), Some(&name), "user"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    // The account that already holds the email is the invitee, whatever the username asked.
    let m = c
        .invite(
            &ctx,
            &s,
            &invitation(
                &format!("first_{sfx}@example.test"),
                Some("someone_else"),
                "user",
            ),
        )
        .await
        .expect("idempotent by email");
    assert_eq!(m.app_member_id, format!("@{name}:localhost"));
}

#[tokio::test]
async fn unknown_members_are_none_or_not_found() {
    let c = SynapseConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let sfx = unique();
    let id = format!("@nobody_{sfx}:localhost");
    assert_eq!(c.get_member(&ctx, &s, &id).await.unwrap(), None);
    assert_eq!(
        c.get_member(&ctx, &s, &format!("nobody_{sfx}"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        c.get_member(&ctx, &s, "@someone:elsewhere.test")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        c.find_by_email(&ctx, &s, &format!("nobody_{sfx}@example.test"))
            .await
            .unwrap(),
        None
    );
    let err = c.update_role(&ctx, &s, &id, "admin").await.unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
    let err = c.remove(&ctx, &s, &id).await.unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");

    // A bare localpart means a user of this server.
    let admin = c
        .get_member(&ctx, &s, "admin")
        .await
        .unwrap()
        .expect("the admin");
    assert_eq!(admin.app_member_id, "@admin:localhost");
}

#[tokio::test]
async fn the_automation_account_does_not_demote_or_remove_itself() {
    let c = SynapseConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let err = c
        .update_role(&ctx, &s, "@admin:localhost", "user")
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    let err = c.remove(&ctx, &s, "@admin:localhost").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    c.verify_permissions(&ctx, &s)
        .await
        .expect("still an admin");
}

/// An HTTP server answering every request with `status`, `content_type` and `body`.
async fn fake_server(status: &str, content_type: &str, body: &str) -> String {
    let response: std::sync::Arc<str> = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the body announced by Content-Length, then answer.
                loop {
                    let n = match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let _ = sock.write_all(response.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_bad_base_url_is_unavailable_or_configuration() {
    let c = SynapseConnector::new();

    // Nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = c
        .login(&ctx_at(
            &format!("http://127.0.0.1:{port}"),
            ADMIN,
            ADMIN_PASS,
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());

    // Not a URL.
    let err = c
        .login(&ctx_at("not a url", ADMIN, ADMIN_PASS))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");

    // A web server that is no Matrix homeserver.
    let html = fake_server("404 Not Found", "text/html", "not found").await;
    let err = c
        .login(&ctx_at(&html, ADMIN, ADMIN_PASS))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
    let page = fake_server("200 OK", "text/html", "<html></html>").await;
    let err = c
        .login(&ctx_at(&page, ADMIN, ADMIN_PASS))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");

    // The right server under a wrong path.
    let err = c
        .login(&ctx_at(&format!("{}/nope", base()), ADMIN, ADMIN_PASS))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");

    // A server error is retryable; a rate limit carries its delay.
    let broken = fake_server("502 Bad Gateway", "text/html", "bad").await;
    let err = c
        .login(&ctx_at(&broken, ADMIN, ADMIN_PASS))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");
    let limited = fake_server(
        "429 Too Many Requests",
        "application/json",
        r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":2500}"#,
    )
    .await;
    let err = c
        .login(&ctx_at(&limited, ADMIN, ADMIN_PASS))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConnectorError::RateLimited {
            retry_after: Some(Duration::from_millis(2500))
        }
    );
}

#[tokio::test]
async fn the_registry_serves_the_synapse_connector() {
    let registry = Registry::default();
    let c = registry.connector("synapse").expect("registered");
    let info = c.describe();
    assert_eq!(info.roles, ["admin", "user"]);
    assert_eq!(info.default_role, "user");
    // Through the trait object, against the real server.
    let ctx = admin_ctx();
    let s = c.login(&ctx).await.unwrap();
    c.verify_permissions(&ctx, &s).await.unwrap();
}
