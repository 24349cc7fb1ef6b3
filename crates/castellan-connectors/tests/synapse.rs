//! The Synapse connector against a real Synapse on loopback: the conformance suite through
//! [`SynapseFixture`], then what only Synapse has (full user ids, namesakes of departed members,
//! listing while users are created, Matrix error bodies).
//!
//! The server is started once per test binary with `scripts/start-synapse.sh` (which installs
//! Synapse from PyPI on first use) in `CASTELLAN_SYNAPSE_DIR` (default `<workspace>/target/synapse`)
//! on `CASTELLAN_SYNAPSE_PORT` (default 18008), and left running; `scripts/stop-synapse.sh DIR`
//! stops it. If the script fails, every test fails with its output. Tests share the server, so
//! each one uses its own usernames and emails.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use castellan_conformance::harness::{
    canned_server, password_context, unique, AdminApi, PasswordApp,
};
use castellan_conformance::Fixture;
use castellan_connectors::{Registry, SynapseConnector};
use castellan_core::connector::{
    Connector, ConnectorContext, ConnectorError, ConnectorRegistry, Invitation, MemberState,
};
use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

/// The app and its automation account (a server admin, made by the start script).
const SYNAPSE: PasswordApp = PasswordApp::new("synapse", 18008, "admin", "adminpass");
const ADMIN: &str = SYNAPSE.username;
const ADMIN_PASS: &str = SYNAPSE.password;
/// An account that signs in but is no server admin.
const PLAIN: &str = "conformance_plain";
const PLAIN_PASS: &str = "plain-pass-1";

fn base() -> String {
    SYNAPSE.base_url()
}

fn enc(s: &str) -> String {
    s.replace('@', "%40")
        .replace(':', "%3A")
        .replace('+', "%2B")
}

/// The Admin API as `admin`, signed in once.
async fn raw() -> &'static AdminApi {
    static RAW: OnceCell<AdminApi> = OnceCell::const_new();
    RAW.get_or_init(|| async {
        let api = AdminApi::new(&base());
        let body = api
            .ok(
                Method::POST,
                "/_matrix/client/v3/login",
                Some(json!({"type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": ADMIN}, "password": ADMIN_PASS})),
            )
            .await;
        api.with_bearer(body["access_token"].as_str().unwrap())
    })
    .await
}

async fn user(id: &str) -> Option<Value> {
    raw()
        .await
        .get(&format!("/_synapse/admin/v2/users/{}", enc(id)))
        .await
}

/// Creates or modifies a user (the Admin API's upsert).
async fn put_user(id: &str, body: Value) -> Value {
    let path = format!("/_synapse/admin/v2/users/{}", enc(id));
    raw().await.ok(Method::PUT, &path, Some(body)).await
}

/// User ids containing `part` (deactivated included).
async fn ids_containing(part: &str) -> HashSet<String> {
    let path = format!("/_synapse/admin/v2/users?user_id={part}&limit=10000&deactivated=true");
    let body = raw().await.ok(Method::GET, &path, None).await;
    body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The conformance fixture: `admin` is the automation account, `conformance_plain` the account
/// without admin rights; members are made with the Admin API.
struct SynapseFixture;

#[async_trait]
impl Fixture for SynapseFixture {
    castellan_conformance::password_fixture!(
        Registry::default()
            .connector("synapse")
            .expect("registered"),
        SYNAPSE
    );

    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        let id = format!("@{PLAIN}:localhost");
        put_user(&id, json!({"password": PLAIN_PASS, "admin": false})).await;
        Some(password_context(base_url, PLAIN, PLAIN_PASS))
    }

    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        // One seeding at a time in this process; a concurrent one elsewhere may create a user
        // first, which is as good.
        static SEEDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one = SEEDING.lock().await;
        let existing = ids_containing(prefix).await;
        let existing = &existing;
        let email = |i: usize| format!("{prefix}{i}@example.com");
        stream::iter(0..n)
            .for_each_concurrent(8, |i| async move {
                let id = format!("@{prefix}{i}:localhost");
                if existing.contains(&id) {
                    return;
                }
                let body = json!({"displayname": format!("Page {i}"), "admin": false,
                    "threepids": [{"medium": "email", "address": email(i)}]});
                let path = format!("/_synapse/admin/v2/users/{}", enc(&id));
                let (status, answer) = raw().await.call(Method::PUT, &path, Some(body)).await;
                assert!(
                    (200..300).contains(&status) || user(&id).await.is_some(),
                    "PUT {id}: HTTP {status} {answer}"
                );
            })
            .await;
        (0..n).map(email).collect()
    }

    async fn automation_member(&self) -> Option<String> {
        Some(format!("@{ADMIN}:localhost"))
    }
}

#[tokio::test]
async fn synapse_passes_the_conformance_suite() {
    castellan_conformance::run(&SynapseFixture).await;
}

// ---- what only Synapse has ---------------------------------------------------------------------

#[tokio::test]
async fn user_ids_are_full_or_bare_localparts() {
    let c = SynapseConnector::new();
    let ctx = SYNAPSE.context(&base());
    let s = c.login(&ctx).await.unwrap();
    assert_eq!(s.data["server_name"], "localhost");
    assert_eq!(s.data["user_id"], "@admin:localhost");
    assert!(!format!("{s:?}").contains("syt_"), "Debug hides the token");
    // A bare localpart is a user of this server; a foreign user id is nobody here.
    let admin = c.get_member(&ctx, &s, ADMIN).await.unwrap().unwrap();
    assert_eq!(admin.app_member_id, "@admin:localhost");
    let nobody = format!("nobody_{}", unique());
    assert_eq!(c.get_member(&ctx, &s, &nobody).await.unwrap(), None);
    let foreign = "@someone:elsewhere.test";
    assert_eq!(c.get_member(&ctx, &s, foreign).await.unwrap(), None);
    let full = password_context(&base(), "@admin:localhost", ADMIN_PASS);
    let s2 = c.login(&full).await.expect("login with a full user id");
    c.verify_permissions(&full, &s2).await.unwrap();
    let err = c
        .login(&password_context(
            &base(),
            &format!("nobody_{}", unique()),
            "x",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
}

/// Users created after the first page, sorted before everything listed so far, shift Synapse's
/// offsets; the cursor neither repeats nor skips anybody because of them. Deactivated users are
/// listed, as deactivated.
#[tokio::test]
async fn listing_survives_users_created_between_pages() {
    let f = SynapseFixture;
    let seeded = f
        .seed_members(
            castellan_conformance::SEED_PREFIX,
            castellan_conformance::LISTING_SIZE,
        )
        .await;
    let run = unique();
    let gone = format!("@castellan_gone_{run}:localhost");
    put_user(&gone, json!({"admin": false})).await;
    raw()
        .await
        .ok(
            Method::POST,
            &format!("/_synapse/admin/v1/deactivate/{}", enc(&gone)),
            Some(json!({"erase": false})),
        )
        .await;

    let c = SynapseConnector::new();
    let ctx = f.context(&base());
    let s = c.login(&ctx).await.unwrap();
    let first = c.list_members(&ctx, &s, None).await.unwrap();
    for k in 0..3 {
        put_user(
            &format!("@0_castellan_shift_{run}_{k}:localhost"),
            json!({"admin": false}),
        )
        .await;
    }
    let mut members = first.members;
    let mut cursor = first.next;
    while let Some(next) = cursor {
        let page = c.list_members(&ctx, &s, Some(next)).await.unwrap();
        members.extend(page.members);
        cursor = page.next;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &members {
        *seen.entry(m.app_member_id.as_str()).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "repeated across pages: {repeated:?}");
    let emails: HashSet<&str> = members.iter().filter_map(|m| m.email.as_deref()).collect();
    for e in &seeded {
        assert!(
            emails.contains(e.as_str()),
            "{e} is missing from the listing"
        );
    }
    let g = members
        .iter()
        .find(|m| m.app_member_id == gone)
        .expect("a deactivated user is listed");
    assert_eq!(g.state, MemberState::Deactivated);
    let admin = members
        .iter()
        .find(|m| m.app_member_id == "@admin:localhost")
        .expect("the admin is listed");
    assert_eq!(admin.roles, ["admin"]);
}

fn invitation(email: &str, username: Option<&str>, role: &str) -> Invitation {
    Invitation {
        email: email.to_owned(),
        username: username.map(str::to_owned),
        name: Some("Invited Person".to_owned()),
        role: role.to_owned(),
    }
}

/// A username may be a full user id of this server, not of another; a user id derived from an
/// email never revives a departed namesake's deactivated account.
#[tokio::test]
async fn user_ids_from_usernames_and_emails() {
    let c = SynapseConnector::new();
    let ctx = SYNAPSE.context(&base());
    let s = c.login(&ctx).await.unwrap();
    let sfx = unique();

    let inv = invitation(
        &format!("boss_{sfx}@example.test"),
        Some(&format!("The Boss {sfx}")),
        "admin",
    );
    let m = c.invite(&ctx, &s, &inv).await.expect("invite");
    assert_eq!(m.app_member_id, format!("@the_boss_{sfx}:localhost"));
    assert_eq!(user(&m.app_member_id).await.unwrap()["admin"], true);
    let full = format!("@full_{sfx}:localhost");
    let inv = invitation(&format!("full_{sfx}@example.test"), Some(&full), "user");
    assert_eq!(c.invite(&ctx, &s, &inv).await.unwrap().app_member_id, full);
    let inv = invitation(
        &format!("x_{sfx}@example.test"),
        Some("@x:elsewhere.test"),
        "user",
    );
    let err = c.invite(&ctx, &s, &inv).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");

    // Ana leaves; Synapse drops her address with the account. A new ana@ elsewhere gets the next
    // free id, and Ana's own account stays deactivated.
    let ana = format!("ana_{sfx}@example.test");
    let first = c
        .invite(&ctx, &s, &invitation(&ana, None, "user"))
        .await
        .unwrap();
    c.remove(&ctx, &s, &first.app_member_id).await.unwrap();
    let other = format!("ana_{sfx}@elsewhere.test");
    let namesake = c
        .invite(&ctx, &s, &invitation(&other, None, "user"))
        .await
        .unwrap();
    assert_eq!(namesake.app_member_id, format!("@ana_{sfx}-2:localhost"));
    assert_eq!(
        user(&first.app_member_id).await.unwrap()["deactivated"],
        true
    );
    for m in [m, first, namesake] {
        c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    }
}

/// What a base URL that is no Synapse gives: a web server's pages and the right server under a
/// wrong path are configuration errors, a 502 is retryable, and Matrix's `retry_after_ms` is the
/// rate limit's wait.
#[tokio::test]
async fn a_base_url_that_is_no_synapse_is_configuration() {
    let c = SynapseConnector::new();
    for url in [
        canned_server("404 Not Found", "text/html", "not found").await,
        canned_server("200 OK", "text/html", "<html></html>").await,
        format!("{}/nope", base()),
    ] {
        let err = c.login(&SYNAPSE.context(&url)).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Configuration(_)),
            "{url}: {err:?}"
        );
    }
    let broken = canned_server("502 Bad Gateway", "text/html", "bad").await;
    let err = c.login(&SYNAPSE.context(&broken)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");
    let limited = canned_server(
        "429 Too Many Requests",
        "application/json",
        r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":2500}"#,
    )
    .await;
    let err = c.login(&SYNAPSE.context(&limited)).await.unwrap_err();
    assert_eq!(
        err,
        ConnectorError::RateLimited {
            retry_after: Some(Duration::from_millis(2500))
        }
    );
}
