//! The SCIM connector against a real SCIM 2.0 service provider on loopback, `scim2-server`
//! (PyPI, an in-memory SCIM server): the conformance suite through [`ScimFixture`], then what
//! only SCIM has (Groups as roles, the PUT fallback, `emails.value` and escaped filters,
//! deactivation or deletion as the hub says, a base URL that is no SCIM base).
//!
//! The server is started once per test binary with `scripts/start-scim.sh` (which installs it
//! into a venv on first use and makes a bearer token in `DIR/token`) in `CASTELLAN_SCIM_DIR`
//! (default `<workspace>/target/scim`) on `CASTELLAN_SCIM_PORT` (default 18082), and left
//! running; `scripts/stop-scim.sh DIR` stops it (its data, kept in memory, is then gone). Tests
//! share the server, so each one uses its own user names, emails and group names. Users and
//! groups are made out of band with plain HTTP. The server's token may do everything, so there
//! is no account without admin rights, and the token is no member.

use async_trait::async_trait;
use castellan_conformance::harness::{start_app, unique, AdminApi};
use castellan_conformance::{Fixture, Outcome};
use castellan_connectors::scim::{self, ScimConnector};
use castellan_connectors::Registry;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, Invitation,
    MemberState,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

/// The port scim2-server listens on unless `CASTELLAN_SCIM_PORT` says otherwise.
const PORT: u16 = 18082;

/// The SCIM base URL of the started server: `http://127.0.0.1:<port>/v2`.
fn base() -> String {
    format!("{}/v2", start_app("scim", PORT).base_url)
}

/// The bearer token the start script made.
fn token() -> String {
    let file = start_app("scim", PORT).dir.join("token");
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .trim()
        .to_owned()
}

/// The provider used directly with the token, to set up and to check what the connector did.
struct Raw(AdminApi);

impl Raw {
    fn new() -> Self {
        Self(AdminApi::new(&base()).with_bearer(&token()))
    }

    /// Users whose `userName` is `name` (the server compares without case).
    async fn users_named(&self, name: &str) -> Vec<Value> {
        let filter = format!("userName eq {}", Value::from(name));
        let q: String = url_escape(&filter);
        let body = self
            .0
            .ok(Method::GET, &format!("/Users?filter={q}"), None)
            .await;
        body["Resources"].as_array().cloned().unwrap_or_default()
    }

    /// Makes a user (or finds the one with this `userName`); returns its id.
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
        let made = self.0.ok(Method::POST, "/Users", Some(body)).await;
        made["id"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str) -> Option<Value> {
        self.0.get(path).await
    }

    /// Makes a group; returns its id.
    async fn group(&self, name: &str) -> String {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
        });
        let made = self.0.ok(Method::POST, "/Groups", Some(body)).await;
        made["id"].as_str().unwrap().to_owned()
    }

    /// The ids of a group's members, sorted.
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

/// `s` percent-encoded for a query value (RFC 3986 unreserved characters kept).
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- the conformance suite -------------------------------------------------------------------

/// The group the suite grants and revokes membership of.
const GROUP: &str = "castellan-conformance";

/// The conformance fixture: the SCIM connector against scim2-server with its bearer token (as the
/// automation account's `api_token`) and `roles_from = none`, so the Groups are resources (the
/// suite's role case uses the connector's fixed role; Groups as roles have their own test below);
/// members and the group are made with plain HTTP.
struct ScimFixture;

#[async_trait]
impl Fixture for ScimFixture {
    fn connector(&self) -> std::sync::Arc<dyn Connector> {
        Registry::default()
            .connector(scim::NAME)
            .expect("scim is registered")
    }

    fn base_url(&self) -> String {
        base()
    }

    fn context(&self, base_url: &str) -> ConnectorContext {
        let mut c =
            ConnectorContext::new(base_url, "scim-token", SecretString::from(String::new()));
        c.api_token = Some(SecretString::from(token()));
        c.settings
            .insert(scim::ROLES_FROM.to_owned(), scim::ROLES_NONE.to_owned());
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
            let email = format!("{prefix}{i}@example.com").to_lowercase();
            raw.user(&email, Some(&email)).await;
            emails.push(email);
        }
        emails
    }

    async fn resource(&self) -> Option<String> {
        let raw = Raw::new();
        let filter = url_escape(&format!("displayName eq {}", Value::from(GROUP)));
        let found = raw
            .0
            .ok(Method::GET, &format!("/Groups?filter={filter}"), None)
            .await;
        Some(match found["Resources"][0]["id"].as_str() {
            Some(id) => id.to_owned(),
            None => raw.group(GROUP).await,
        })
    }
}

#[tokio::test]
async fn scim_passes_the_conformance_suite() {
    let report = castellan_conformance::run(&ScimFixture).await;
    for case in [
        "listing over pages",
        "role changes",
        "invite again after removal",
        "resource roles",
    ] {
        assert_eq!(report.outcome(case), Some(&Outcome::Passed), "{case}");
    }
}

// ---- what only SCIM has ----------------------------------------------------------------------

/// The automation account's context with the default settings (Groups as roles).
fn ctx() -> ConnectorContext {
    let mut c = ScimFixture.context(&base());
    c.settings.clear();
    c
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

/// The provider's configuration is kept in the session; `discover` drops the roles when the hub
/// reads none; a base URL that answers but is no SCIM base is `Configuration`.
#[tokio::test]
async fn sign_in_reads_the_configuration_and_refuses_a_base_that_is_no_scim_base() {
    use castellan_core::catalog::Capability;
    let c = ScimConnector::new();
    let ctx = ctx();
    let s = session(&c, &ctx).await;
    assert_eq!(s.data["config"]["patch"], true, "{}", s.data);
    assert!(c
        .discover(&ctx, &s)
        .await
        .unwrap()
        .contains(&Capability::ListRoles));
    let none = ctx_with(&[(scim::ROLES_FROM, scim::ROLES_NONE)]);
    assert!(!c
        .discover(&ctx, &s)
        .await
        .unwrap()
        .contains(&Capability::ListResources));
    assert!(matches!(
        c.list_resources(&ctx, &s, None).await,
        Err(ConnectorError::Unsupported(_))
    ));
    let caps = c.discover(&none, &s).await.unwrap();
    assert!(!caps.contains(&Capability::ListRoles) && caps.contains(&Capability::Remove));
    assert!(caps.contains(&Capability::ResourceRoles));
    let mut wrong = ctx.clone();
    wrong.base_url = format!("{}/nothing-here", base());
    let e = c.login(&wrong).await;
    assert!(matches!(e, Err(ConnectorError::Configuration(_))), "{e:?}");
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
