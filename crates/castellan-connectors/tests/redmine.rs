//! The Redmine connector against a real Redmine on loopback.
//!
//! The server is started once per test binary with `scripts/start-redmine.sh` (which installs
//! Debian's `redmine` and `redmine-sqlite` on first use, enables the REST API, makes
//! two-factor authentication optional and sets `admin` / `adminpass123`) in
//! `CASTELLAN_REDMINE_DIR` (default `<workspace>/target/redmine`) on `CASTELLAN_REDMINE_PORT`
//! (default 13001). The script serialises concurrent starts with a file lock and leaves the
//! server running for the next test run; `scripts/stop-redmine.sh DIR` stops it. If the script
//! fails, every test fails with its output.
//!
//! Tests share the server (and its database), so each one uses its own logins and emails.
//! The administrator `admin` has no 2FA, so the lifecycle tests sign in quickly; the 2FA story
//! uses its own automation account.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use castellan_connectors::redmine::{self, RedmineConnector};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry,
    Invitation, MemberState,
};
use castellan_otp::{Algorithm, Kind, OtpParams};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

const ADMIN: &str = "admin";
const ADMIN_PASS: &str = "adminpass123";
/// Users created once (idempotently) for the paging test: more than one page of 100.
const PAGING_USERS: usize = 120;
const PAGING_PREFIX: &str = "castellan_page_";

// ---- harness ---------------------------------------------------------------------------------

fn workspace() -> PathBuf {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    ws.canonicalize().unwrap_or(ws)
}

struct Server {
    base: String,
    api_key: String,
}

/// The shared Redmine, started on first use.
fn server() -> &'static Server {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    match SERVER.get_or_init(start_redmine) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

fn base() -> &'static str {
    &server().base
}

fn start_redmine() -> Result<Server, String> {
    let ws = workspace();
    let dir = std::env::var_os("CASTELLAN_REDMINE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.join("target/redmine"));
    let port: u16 = match std::env::var("CASTELLAN_REDMINE_PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("CASTELLAN_REDMINE_PORT={p:?} is not a port"))?,
        Err(_) => 13001,
    };
    let script = ws.join("scripts/start-redmine.sh");
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
    let api_key = std::fs::read_to_string(dir.join("api-key"))
        .map_err(|e| format!("{}/api-key: {e}", dir.display()))?
        .trim()
        .to_owned();
    Ok(Server {
        base: format!("http://127.0.0.1:{port}"),
        api_key,
    })
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

async fn admin_session(c: &RedmineConnector) -> (ConnectorContext, AppSession) {
    let ctx = ctx(ADMIN, ADMIN_PASS);
    let s = c.login(&ctx).await.expect("the admin logs in");
    (ctx, s)
}

/// A suffix no other test (or earlier run) uses.
fn unique() -> String {
    format!("{:010x}", rand::random::<u64>() & 0xff_ffff_ffff)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Redmine's REST API used directly as `admin`, to set up and to check what the connector did.
struct Raw {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Raw {
    fn new() -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base().to_owned(),
            key: server().api_key.clone(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Redmine-API-Key", &self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates a user; returns its id.
    async fn create_user(&self, user: Value) -> u64 {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/users.json",
                Some(json!({ "user": user })),
            )
            .await;
        assert_eq!(status, 201, "create {user}: {body}");
        body["user"]["id"].as_u64().unwrap()
    }

    async fn user(&self, id: &str) -> Option<Value> {
        let (status, body) = self
            .call(reqwest::Method::GET, &format!("/users/{id}.json"), None)
            .await;
        match status {
            404 => None,
            200 => Some(body["user"].clone()),
            s => panic!("GET user {id}: {s} {body}"),
        }
    }

    async fn set_status(&self, id: u64, status: u8) {
        let (s, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/users/{id}.json"),
                Some(json!({"user": {"status": status}})),
            )
            .await;
        assert!((200..300).contains(&s), "PUT status {id}: {s} {body}");
    }

    /// Logins (any status) containing `part`, with their ids.
    async fn logins_containing(&self, part: &str) -> HashMap<String, u64> {
        let mut found = HashMap::new();
        let mut offset = 0;
        loop {
            let (s, body) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/users.json?status=&name={part}&limit=100&offset={offset}"),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{body}");
            let rows = body["users"].as_array().unwrap();
            for u in rows {
                found.insert(
                    u["login"].as_str().unwrap().to_owned(),
                    u["id"].as_u64().unwrap(),
                );
            }
            offset += rows.len();
            if rows.is_empty() || offset as u64 >= body["total_count"].as_u64().unwrap() {
                return found;
            }
        }
    }
}

fn paging_login(i: usize) -> String {
    format!("{PAGING_PREFIX}{i:03}")
}

fn paging_email(i: usize) -> String {
    format!("page{i:03}@paging.test")
}

/// The status each paging user has: a few locked (3), a few registered (2), the rest active.
fn paging_status(i: usize) -> u8 {
    match i % 40 {
        7 => 3,
        13 => 2,
        _ => 1,
    }
}

/// Creates the paging users once per server (idempotent across runs and tests). Sequential:
/// Redmine's SQLite database does not like concurrent writers.
async fn paging_users() {
    static USERS: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    USERS
        .get_or_init(|| async {
            let raw = Raw::new();
            let existing = raw.logins_containing(PAGING_PREFIX).await;
            for i in 0..PAGING_USERS {
                let login = paging_login(i);
                if existing.contains_key(&login) {
                    continue;
                }
                let id = raw
                    .create_user(json!({
                        "login": login, "firstname": "Page", "lastname": format!("{i:03}"),
                        "mail": paging_email(i), "password": "page-pass-123",
                    }))
                    .await;
                if paging_status(i) != 1 {
                    raw.set_status(id, paging_status(i)).await;
                }
            }
        })
        .await;
}

/// Lists every member, page by page.
async fn list_all(
    c: &RedmineConnector,
    ctx: &ConnectorContext,
    s: &AppSession,
) -> (Vec<AppMember>, usize) {
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

fn totp_from_secret(secret: &str) -> OtpParams {
    let (secret, warnings) = castellan_otp::parse_secret(secret).expect("a base32 secret");
    assert!(warnings.is_empty(), "{warnings:?}");
    OtpParams::new(Kind::Totp, secret)
}

// ---- the 2FA story -----------------------------------------------------------------------------

/// The acceptance story at the connector level: 2FA is turned on for a dedicated
/// automation account with Castellan's authenticator, then the bot signs in with username,
/// password and a TOTP code, and lists the users.
#[tokio::test]
async fn an_automation_account_with_2fa_signs_in_with_a_code_and_lists_users() {
    let raw = Raw::new();
    let sfx = unique();
    let bot = format!("castellan_bot_{sfx}");
    let bot_pass = format!("Bot-pass-{sfx}");
    let bot_mail = format!("castellan_bot_{sfx}@bots.test");
    let bot_id = raw
        .create_user(json!({
            "login": bot, "firstname": "Castellan", "lastname": "Bot", "mail": bot_mail,
            "password": bot_pass, "admin": true,
        }))
        .await;

    // 1. Turn on 2FA: Redmine's pairing page shows the secret; Castellan's authenticator
    //    takes it and computes the code that confirms the pairing.
    let setup = redmine::enable_totp_for(base(), &bot, &bot_pass)
        .await
        .expect("the pairing starts");
    assert!(!format!("{setup:?}").contains(setup.secret.expose_secret()));
    let params = totp_from_secret(setup.secret.expose_secret());
    assert_eq!(params.secret.bits(), 160, "ROTP::Base32.random: 20 bytes");
    // The QR code on the same page holds the same secret and Redmine's (ROTP's) parameters.
    let uri = setup.otpauth_uri.as_ref().expect("the QR code reads");
    let (from_qr, _) = castellan_otp::parse_uri(uri.expose_secret()).expect("an otpauth URI");
    assert_eq!(from_qr.secret, params.secret);
    assert_eq!(
        (
            from_qr.kind,
            from_qr.algorithm,
            from_qr.digits,
            from_qr.period
        ),
        (Kind::Totp, Algorithm::Sha1, 6, 30)
    );
    assert_eq!(from_qr.account_name.as_deref(), Some(bot.as_str()));
    // The issuer is Redmine's host name setting, with ':' replaced by ROTP.
    let issuer = base().trim_start_matches("http://").replace(':', "_");
    assert_eq!(from_qr.display_issuer(), Some(issuer.as_str()));

    // A wrong code does not pair.
    let good = castellan_otp::code_at(&params, now());
    let wrong = format!("{:06}", (good.parse::<u32>().unwrap() + 1) % 1_000_000);
    let err = redmine::confirm_totp(base(), &bot, &bot_pass, &wrong)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
    assert!(raw.user(&bot_id.to_string()).await.unwrap()["twofa_scheme"].is_null());

    redmine::confirm_totp(
        base(),
        &bot,
        &bot_pass,
        &castellan_otp::code_at(&params, now()),
    )
    .await
    .expect("the pairing is confirmed with Castellan's code");
    assert_eq!(
        raw.user(&bot_id.to_string()).await.unwrap()["twofa_scheme"],
        "totp"
    );
    // Pairing again needs a code now: the helpers say 2FA is already on.
    let err = redmine::enable_totp_for(base(), &bot, &bot_pass)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");

    // 2. Without Castellan's authenticator the login stops at the second factor; a wrong
    //    password stops before it.
    let c = RedmineConnector::new();
    let err = c.login(&ctx(&bot, &bot_pass)).await.unwrap_err();
    assert_eq!(
        err,
        ConnectorError::BadCredentials(
            "Redmine asks for a second factor and the account has no 2FA managed by Castellan"
                .into()
        )
    );
    let mut wrong_pass = ctx(&bot, "not-the-password");
    wrong_pass.totp = Some(params.clone());
    let err = c.login(&wrong_pass).await.unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
    assert!(
        err.to_string().contains("Invalid user or password"),
        "{err}"
    );

    // 3. The bot signs in with username, password and a TOTP code. The confirmation has just
    //    used this time step, so Redmine refuses the first code and the connector sends the
    //    next step's code. (One sign-in at a time: Redmine keeps one pending two-factor
    //    sign-in per user.)
    let mut bot_ctx = ctx(&bot, &bot_pass);
    bot_ctx.totp = Some(params.clone());
    let s = c
        .login(&bot_ctx)
        .await
        .expect("the bot signs in with a code from Castellan's authenticator");
    assert_eq!(s.data["login"], bot.as_str());
    assert_eq!(s.data["user_id"], bot_id);
    assert_eq!(s.data["admin"], true);
    assert_eq!(s.data["second_factor"], "totp");
    assert!(!format!("{s:?}").contains(&server().api_key));

    // An authenticator with another secret: both of its codes are refused.
    let mut other_ctx = ctx(&bot, &bot_pass);
    other_ctx.totp = Some(totp_from_secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"));
    let err = c.login(&other_ctx).await.unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
    assert!(err.to_string().contains("TOTP"), "{err}");

    // 4. It lists the users.
    c.verify_permissions(&bot_ctx, &s)
        .await
        .expect("the bot is an administrator");
    let (members, _) = list_all(&c, &bot_ctx, &s).await;
    let by_id: HashMap<&str, &AppMember> = members
        .iter()
        .map(|m| (m.app_member_id.as_str(), m))
        .collect();
    let admin = by_id.get("1").expect("the admin is listed");
    assert_eq!(admin.roles, ["admin"]);
    assert_eq!(admin.email.as_deref(), Some("admin@example.net"));
    assert_eq!(admin.state, MemberState::Active);
    let me = by_id
        .get(bot_id.to_string().as_str())
        .expect("the bot is listed");
    assert_eq!(me.roles, ["admin"]);
    assert_eq!(me.email.as_deref(), Some(bot_mail.as_str()));
    assert_eq!(me.name.as_deref(), Some("Castellan Bot"));
}

// ---- login and permissions ---------------------------------------------------------------------

#[tokio::test]
async fn the_admin_logs_in_without_2fa_and_may_manage_members() {
    let c = RedmineConnector::new();
    let (ctx, s) = admin_session(&c).await;
    assert_eq!(s.data["login"], "admin");
    assert_eq!(s.data["user_id"], 1);
    assert_eq!(s.data["second_factor"], "none");
    assert!(!format!("{s:?}").contains(&server().api_key));
    c.verify_permissions(&ctx, &s)
        .await
        .expect("the admin is an administrator");

    // An authenticator that Redmine does not ask for is not used.
    let mut with_totp = ctx.clone();
    with_totp.totp = Some(totp_from_secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"));
    c.login(&with_totp).await.expect("no second factor asked");

    let info = Registry::default()
        .connector("redmine")
        .expect("registered")
        .describe();
    assert_eq!(info.roles, ["admin", "user"]);
    assert_eq!(info.default_role, "user");
    assert!(info.capabilities.contains(&Capability::KeepSeat));
}

#[tokio::test]
async fn wrong_passwords_unknown_and_locked_accounts_are_bad_credentials() {
    let c = RedmineConnector::new();
    for ctx in [
        ctx(ADMIN, "not-the-password"),
        ctx(&format!("nobody_{}", unique()), "x"),
    ] {
        let err = c.login(&ctx).await.unwrap_err();
        assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
        assert!(!err.is_retryable());
    }

    let raw = Raw::new();
    let sfx = unique();
    let login = format!("locked_{sfx}");
    let id = raw
        .create_user(json!({"login": login, "firstname": "L", "lastname": "K",
            "mail": format!("{login}@example.test"), "password": "locked-pass-1"}))
        .await;
    raw.set_status(id, 3).await;
    let err = c.login(&ctx(&login, "locked-pass-1")).await.unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
    assert!(err.to_string().contains("locked"), "{err}");
}

#[tokio::test]
async fn a_non_admin_account_lacks_permission() {
    let raw = Raw::new();
    let name = format!("plain_{}", unique());
    raw.create_user(
        json!({"login": name, "firstname": "Plain", "lastname": "User",
        "mail": format!("{name}@example.test"), "password": "plain-pass-1"}),
    )
    .await;

    let c = RedmineConnector::new();
    let ctx = ctx(&name, "plain-pass-1");
    let s = c.login(&ctx).await.expect("a non-admin can log in");
    assert_eq!(s.data["admin"], false);
    let err = c.verify_permissions(&ctx, &s).await.unwrap_err();
    assert_eq!(
        err,
        ConnectorError::InsufficientPermission("the account is not a Redmine administrator".into())
    );
    let err = c.list_members(&ctx, &s, None).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::InsufficientPermission(_)),
        "{err:?}"
    );
}

// ---- members -------------------------------------------------------------------------------------

#[tokio::test]
async fn members_are_listed_page_by_page_with_their_states() {
    paging_users().await;
    let c = RedmineConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let (members, pages) = list_all(&c, &ctx, &s).await;
    assert!(
        pages >= 3,
        "{PAGING_USERS} users and three statuses: {pages} pages"
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

    let by_email: HashMap<&str, &AppMember> = members
        .iter()
        .filter_map(|m| Some((m.email.as_deref()?, m)))
        .collect();
    for i in 0..PAGING_USERS {
        let email = paging_email(i);
        let m = by_email
            .get(email.as_str())
            .unwrap_or_else(|| panic!("{email} is missing from the listing"));
        assert_eq!(m.roles, ["user"]);
        assert_eq!(m.name.as_deref(), Some(format!("Page {i:03}").as_str()));
        let expected = match paging_status(i) {
            2 => MemberState::Invited,
            3 => MemberState::Deactivated,
            _ => MemberState::Active,
        };
        assert_eq!(m.state, expected, "{email}");
    }
    let admin = members
        .iter()
        .find(|m| m.app_member_id == "1")
        .expect("the admin is listed too");
    assert_eq!(admin.roles, ["admin"]);

    // A bad cursor is a configuration error, not a crash.
    let err = c
        .list_members(&ctx, &s, Some("nonsense".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
}

#[tokio::test]
async fn invite_update_role_remove_and_reinvite() {
    let c = RedmineConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::new();
    let sfx = unique();
    let email = format!("Ana.Inv+{sfx}@Example.TEST");
    let lower = email.to_lowercase();
    let login = format!("ana.inv_{sfx}");

    // Invite: the user exists in Redmine with the login, the role and the email.
    let m = c
        .invite(&ctx, &s, &invitation(&email, None, "user"))
        .await
        .expect("invite");
    assert_eq!(m.email.as_deref(), Some(lower.as_str()));
    assert_eq!(m.roles, ["user"]);
    assert_eq!(m.state, MemberState::Active);
    assert_eq!(m.name.as_deref(), Some("Invited Person"));
    let id = m.app_member_id.clone();
    let u = raw.user(&id).await.expect("the user exists in Redmine");
    assert_eq!(u["login"], login.as_str());
    assert_eq!(u["admin"], false);
    assert_eq!(u["status"], 1);
    assert_eq!(u["mail"], lower.as_str());

    // Inviting the same email again changes nothing.
    let again = c
        .invite(&ctx, &s, &invitation(&lower, None, "admin"))
        .await
        .expect("invite again");
    assert_eq!(again, m);

    // Lookups: by id, by login, by email in any case.
    assert_eq!(c.get_member(&ctx, &s, &id).await.unwrap(), Some(m.clone()));
    assert_eq!(
        c.get_member(&ctx, &s, &login).await.unwrap(),
        Some(m.clone())
    );
    assert_eq!(
        c.find_by_email(&ctx, &s, &email.to_uppercase())
            .await
            .unwrap(),
        Some(m.clone())
    );

    // Roles: user → admin → user, as Redmine shows them.
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

    // Remove locks (the user and their data stay); removing twice is harmless.
    c.remove(&ctx, &s, &id).await.expect("remove");
    assert_eq!(raw.user(&id).await.unwrap()["status"], 3);
    let gone = c
        .get_member(&ctx, &s, &id)
        .await
        .unwrap()
        .expect("still known");
    assert_eq!(gone.state, MemberState::Deactivated);
    c.remove(&ctx, &s, &id).await.expect("remove again");
    assert_eq!(
        c.find_by_email(&ctx, &s, &lower)
            .await
            .unwrap()
            .map(|m| m.state),
        Some(MemberState::Deactivated)
    );

    // Inviting again unlocks the user with the requested role.
    let back = c
        .invite(&ctx, &s, &invitation(&email, None, "admin"))
        .await
        .expect("re-invite");
    assert_eq!(back.app_member_id, id);
    assert_eq!(back.state, MemberState::Active);
    assert_eq!(back.roles, ["admin"]);
    let u = raw.user(&id).await.unwrap();
    assert_eq!(
        (u["status"].as_u64(), u["admin"].as_bool()),
        (Some(1), Some(true))
    );
}

#[tokio::test]
async fn invite_with_a_username_the_admin_role_and_bad_input() {
    let c = RedmineConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::new();
    let sfx = unique();
    let inv = Invitation {
        email: format!("boss@{sfx}.example.test"),
        username: Some(format!("The Boss {sfx}")),
        name: None,
        role: "admin".into(),
    };
    let m = c.invite(&ctx, &s, &inv).await.expect("invite");
    assert_eq!(m.roles, ["admin"]);
    assert_eq!(
        m.name.as_deref(),
        Some("Boss -"),
        "names from the email's local part"
    );
    let u = raw.user(&m.app_member_id).await.unwrap();
    assert_eq!(u["login"], format!("the_boss_{sfx}").as_str());
    assert_eq!(u["admin"], true);

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
async fn invite_conflicts_with_a_taken_login() {
    let c = RedmineConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let raw = Raw::new();
    let sfx = unique();
    let login = format!("taken_{sfx}");
    let id = raw
        .create_user(json!({"login": login, "firstname": "T", "lastname": "K",
            "mail": format!("first_{sfx}@example.test"), "password": "taken-pass-1"}))
        .await;
    let err = c
        .invite(
            &ctx,
            &s,
            &invitation(&format!("second_{sfx}@example.test"), Some(&login), "user"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("has already been taken"), "{err}");
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
    assert_eq!(m.app_member_id, id.to_string());
}

#[tokio::test]
async fn unknown_members_are_none_or_not_found() {
    let c = RedmineConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let sfx = unique();
    assert_eq!(c.get_member(&ctx, &s, "999999999").await.unwrap(), None);
    assert_eq!(
        c.get_member(&ctx, &s, &format!("nobody_{sfx}"))
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
    let err = c
        .update_role(&ctx, &s, "999999999", "admin")
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
    let err = c.remove(&ctx, &s, "999999999").await.unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn the_automation_account_does_not_demote_or_lock_itself() {
    let c = RedmineConnector::new();
    let (ctx, s) = admin_session(&c).await;
    let err = c.update_role(&ctx, &s, "1", "user").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    let err = c.remove(&ctx, &s, "admin").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err:?}");
    c.verify_permissions(&ctx, &s)
        .await
        .expect("still an administrator");
}

#[tokio::test]
async fn a_bad_base_url_is_unavailable_or_configuration() {
    let c = RedmineConnector::new();
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

    let err = c
        .login(&ctx_at("not a url", ADMIN, ADMIN_PASS))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");

    // A Redmine page that is not the login page (a wrong path under the real server).
    let err = c
        .login(&ctx_at(&format!("{}/projects", base()), ADMIN, ADMIN_PASS))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
}
