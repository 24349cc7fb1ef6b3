//! The GitHub connector against the GitHub stand-in (`castellan_standins::github`, written from
//! GitHub's REST reference; GitHub itself cannot run here): the conformance suite through
//! [`GitHubFixture`], then what only GitHub has (invitations that become members, owners and
//! members, teams as resources, rate limits, a token that is no owner's). Each test starts its
//! own stand-in.
//!
//! Every exchange with a stand-in is checked against GitHub's official OpenAPI description
//! (npm `@octokit/openapi`, pinned in `scripts/install-github-openapi.sh`, which this file runs
//! when the description is missing): the request (operation, parameters, body) and the answer
//! (documented status, body schema). See [`checked`].

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use castellan_conformance::fault_proxy::{Fault, FaultProxy};
use castellan_conformance::harness::{list_all, token_context, workspace};
use castellan_conformance::{Fixture, Outcome};
use castellan_connectors::github::{self, DEFAULT_BASE_URL};
use castellan_connectors::Registry;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError as E, ConnectorRegistry,
    Invitation, MemberState, ResourceGrant,
};
use castellan_standins::github::{start, GitHubStandIn, Limit, ADMIN_LOGIN, MEMBER_LOGIN};
use castellan_standins::openapi::{GlobalAnswer, Spec};
use secrecy::SecretString;

// ---- GitHub's OpenAPI description ------------------------------------------------------------

/// GitHub's description, installed on first use.
fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = match std::env::var_os("CASTELLAN_GITHUB_OPENAPI") {
            Some(p) => PathBuf::from(p),
            None => {
                let script = workspace().join("scripts/install-github-openapi.sh");
                let out = std::process::Command::new(&script)
                    .output()
                    .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
                assert!(out.status.success(), "{}: {:?}", script.display(), out);
                PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
            }
        };
        // GitHub's rate-limit page: any request may be answered 403 or 429 at the primary
        // limit (`x-ratelimit-remaining: 0`) or a secondary one (`retry-after`).
        let limits = [403, 429].map(|status| GlobalAnswer {
            status,
            marked_by: vec![
                ("x-ratelimit-remaining".into(), Some("0".into())),
                ("retry-after".into(), None),
            ],
            schema: "#/components/schemas/basic-error".into(),
        });
        Spec::load(&path)
            .expect("GitHub's OpenAPI description")
            .also_answers(limits.into())
    })
}

/// Fails unless every exchange the stand-in served so far keeps to GitHub's OpenAPI
/// description and carries GitHub's headers (a bearer token, its media type and API version).
/// Returns how many exchanges were checked.
fn checked(s: &GitHubStandIn) -> usize {
    let all = s.exchanges();
    let mut wrong = Vec::new();
    for ex in &all {
        wrong.extend(spec().check(ex));
        let h = |n| ex.request_header(n).unwrap_or("");
        if h("accept") != "application/vnd.github+json" || h("x-github-api-version") != "2022-11-28"
        {
            wrong.push(format!(
                "{} {}: without GitHub's Accept and API version",
                ex.method, ex.path
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} violation(s):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    all.len()
}

// ---- the conformance suite -------------------------------------------------------------------

/// The conformance fixture: one stand-in per fixture, the owner's token as the automation
/// account's `api_token`, the member's as the account without admin rights. Members seeded out
/// of band are pending invitations by email: GitHub shows the address of nobody else.
///
/// The fixture gives no resource: the suite grants team roles to a member it has just invited,
/// and on GitHub an invitee has no account in the organization until they accept (team roles
/// are given to members; `team_roles_are_resources` tests them on members who joined).
struct GitHubFixture {
    s: GitHubStandIn,
}

fn context(s: &GitHubStandIn, base_url: &str, token: &str) -> ConnectorContext {
    let mut c = token_context(base_url, "", token);
    c.organization_id = Some(s.org.clone());
    c.timeout = Duration::from_secs(10);
    c
}

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(github::NAME)
        .expect("github is registered")
}

#[async_trait]
impl Fixture for GitHubFixture {
    fn connector(&self) -> Arc<dyn Connector> {
        connector()
    }

    fn base_url(&self) -> String {
        self.s.base_url.clone()
    }

    fn context(&self, base_url: &str) -> ConnectorContext {
        context(&self.s, base_url, &self.s.admin_token)
    }

    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        Some(context(&self.s, base_url, &self.s.member_token))
    }

    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        let have: Vec<String> = self.s.invitations().into_iter().map(|(e, _)| e).collect();
        (0..n)
            .map(|i| format!("{prefix}{i}@example.com").to_lowercase())
            .inspect(|e| {
                if !have.contains(e) {
                    self.s.add_invitation(e, "direct_member");
                }
            })
            .collect()
    }

    async fn automation_member(&self) -> Option<String> {
        Some(ADMIN_LOGIN.to_owned())
    }
}

#[tokio::test]
async fn github_passes_the_conformance_suite() {
    let f = GitHubFixture { s: start() };
    let report = castellan_conformance::run(&f).await;
    for case in [
        "sign-in without admin rights",
        "listing over pages",
        "get and find by email",
        "role changes",
        "invite again after removal",
        "fault: 429 on listing",
        "fault: 429 until a date on listing",
        "fault: reset after a write",
        "automation account protects itself",
    ] {
        assert_eq!(report.outcome(case), Some(&Outcome::Passed), "{case}");
    }
    let n = checked(&f.s);
    assert!(n > 200, "only {n} exchanges");
    println!("github: {n} exchanges with the stand-in keep to GitHub's OpenAPI description");
}

// ---- what only GitHub has --------------------------------------------------------------------

/// A stand-in, the connector, the owner's context and session.
async fn signed_in() -> (
    GitHubStandIn,
    Arc<dyn Connector>,
    ConnectorContext,
    AppSession,
) {
    let s = start();
    let c = connector();
    let ctx = context(&s, &s.base_url, &s.admin_token);
    let session = c.login(&ctx).await.expect("the owner signs in");
    (s, c, ctx, session)
}

fn invitation(email: &str, role: &str) -> Invitation {
    Invitation {
        email: email.into(),
        username: None,
        name: None,
        role: role.into(),
    }
}

async fn everyone(c: &dyn Connector, ctx: &ConnectorContext, s: &AppSession) -> Vec<AppMember> {
    list_all(c, ctx, s).await.expect("list every member").0
}

#[tokio::test]
async fn an_invitation_is_pending_until_accepted_then_an_active_member() {
    let (s, c, ctx, session) = signed_in().await;
    let m = c
        .invite(&ctx, &session, &invitation("Ana@Example.com", "admin"))
        .await
        .unwrap();
    assert_eq!(
        (m.app_member_id.as_str(), m.state),
        ("ana@example.com", MemberState::Invited)
    );
    assert_eq!(m.roles, ["admin"]);
    assert_eq!(
        s.invitations(),
        [("ana@example.com".to_owned(), "admin".to_owned())]
    );
    let found = c
        .find_by_email(&ctx, &session, "ANA@example.com")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&m));

    assert!(s.accept_invitation("ana@example.com", "ana-gh"));
    let all = everyone(&*c, &ctx, &session).await;
    let ana = all
        .iter()
        .find(|m| m.app_member_id == "ana-gh")
        .expect("ana-gh is listed");
    assert_eq!(
        (ana.state, ana.roles.as_slice()),
        (MemberState::Active, &["admin".to_owned()][..])
    );
    assert_eq!(ana.email, None, "GitHub shows no member's address");
    assert!(!all.iter().any(|m| m.state == MemberState::Invited));
    assert_eq!(
        c.find_by_email(&ctx, &session, "ana@example.com")
            .await
            .unwrap(),
        None
    );
    let read = c
        .get_member(&ctx, &session, "ANA-GH")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.app_member_id.as_str(), read.state),
        ("ana-gh", MemberState::Active)
    );
    checked(&s);
}

#[tokio::test]
async fn owners_and_members_are_listed_with_their_roles_across_link_pages() {
    let (s, c, ctx, session) = signed_in().await;
    for i in 0..3 {
        s.add_member(&format!("owner-{i}"), "admin");
    }
    for i in 0..230 {
        s.add_member(&format!("dev-{i:03}"), "member");
    }
    s.add_invitation("new@example.com", "direct_member");
    let (all, pages) = list_all(&*c, &ctx, &session).await.unwrap();
    // Owners (1 page), members (232: 3 pages), invitations (1 page).
    assert_eq!(pages, 5);
    assert_eq!(all.len(), 4 + 231 + 1);
    let role = |id: &str| {
        all.iter()
            .find(|m| m.app_member_id == id)
            .map(|m| m.roles.clone())
    };
    assert_eq!(role("owner-2"), Some(vec!["admin".to_owned()]));
    assert_eq!(role(ADMIN_LOGIN), Some(vec!["admin".to_owned()]));
    assert_eq!(role("dev-229"), Some(vec!["member".to_owned()]));
    assert_eq!(role(MEMBER_LOGIN), Some(vec!["member".to_owned()]));
    assert_eq!(role("new@example.com"), Some(vec!["member".to_owned()]));
    let ex = s.exchanges();
    let lists: Vec<_> = ex.iter().filter(|e| e.path.ends_with("/members")).collect();
    assert_eq!(lists.len(), 4);
    assert!(lists
        .iter()
        .all(|e| e.query.as_deref().unwrap_or("").contains("per_page=100")));
    assert!(
        lists[2].query.as_deref().unwrap().contains("page=2"),
        "the Link header is followed"
    );
    assert!(ex
        .iter()
        .all(|e| e.response_header("x-ratelimit-remaining").is_some()));
    checked(&s);
}

#[tokio::test]
async fn roles_change_for_members_and_invitations() {
    let (s, c, ctx, session) = signed_in().await;
    s.add_member("dev", "member");
    let m = c.update_role(&ctx, &session, "dev", "admin").await.unwrap();
    assert_eq!(
        (m.roles.join(","), s.role_of("dev")),
        ("admin".into(), Some("admin".into()))
    );
    c.update_role(&ctx, &session, "dev", "member")
        .await
        .unwrap();
    assert_eq!(s.role_of("dev").as_deref(), Some("member"));

    c.invite(&ctx, &session, &invitation("bo@example.com", "member"))
        .await
        .unwrap();
    let m = c
        .update_role(&ctx, &session, "bo@example.com", "admin")
        .await
        .unwrap();
    assert_eq!(
        (m.state, m.roles.join(",")),
        (MemberState::Invited, "admin".into())
    );
    assert_eq!(
        s.invitations(),
        [("bo@example.com".to_owned(), "admin".to_owned())]
    );

    let before = s.exchanges().len();
    let e = c
        .invite(&ctx, &session, &invitation("cy@example.com", "owner"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, E::Configuration(m) if m.contains("admin, member")),
        "{e}"
    );
    let e = c
        .update_role(&ctx, &session, "dev", "billing_manager")
        .await
        .unwrap_err();
    assert!(matches!(e, E::Configuration(_)), "{e}");
    assert_eq!(
        s.exchanges().len(),
        before,
        "nothing is sent for a role GitHub does not give"
    );

    c.remove(&ctx, &session, "dev").await.unwrap();
    c.remove(&ctx, &session, "bo@example.com").await.unwrap();
    assert_eq!((s.role_of("dev"), s.invitations().len()), (None, 0));
    c.remove(&ctx, &session, "dev").await.unwrap();
    checked(&s);
}

#[tokio::test]
async fn team_roles_are_resources() {
    let (s, c, ctx, session) = signed_in().await;
    let core = s.add_team("Core Devs");
    s.add_team("Docs");
    s.add_member("dev", "member");
    s.add_member("lead", "member");
    s.add_team_member(&core, "lead", "maintainer");
    let page = c.list_resources(&ctx, &session, None).await.unwrap();
    let names: Vec<_> = page
        .resources
        .iter()
        .map(|r| (r.resource_id.as_str(), r.kind.as_str()))
        .collect();
    assert_eq!(names, [("core-devs", "team"), ("docs", "team")]);
    assert_eq!(page.resources[0].roles, ["maintainer", "member"]);

    let held = |role: &str| ResourceGrant {
        resource_id: core.clone(),
        app_member_id: "dev".into(),
        role: role.into(),
    };
    c.grant_resource_role(&ctx, &session, &held("member"))
        .await
        .unwrap();
    c.grant_resource_role(&ctx, &session, &held("maintainer"))
        .await
        .unwrap();
    assert_eq!(s.team_role(&core, "dev").as_deref(), Some("maintainer"));
    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let p = c
            .list_resource_members(&ctx, &session, &core, cursor)
            .await
            .unwrap();
        seen.extend(
            p.members
                .into_iter()
                .map(|m| (m.app_member_id, m.roles.join(","))),
        );
        match p.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("dev".into(), "maintainer".into()),
            ("lead".into(), "maintainer".into())
        ]
    );
    for _ in 0..2 {
        c.revoke_resource_role(&ctx, &session, &core, "dev")
            .await
            .unwrap();
    }
    assert_eq!(s.team_role(&core, "dev"), None);

    let e = c
        .grant_resource_role(&ctx, &session, &held("owner"))
        .await
        .unwrap_err();
    assert!(matches!(e, E::Configuration(_)), "{e}");
    let gone = ResourceGrant {
        resource_id: "nope".into(),
        ..held("member")
    };
    assert!(matches!(
        c.grant_resource_role(&ctx, &session, &gone).await,
        Err(E::NotFound(_))
    ));
    assert!(matches!(
        c.list_resource_members(&ctx, &session, "nope", None).await,
        Err(E::NotFound(_))
    ));
    let stranger = ResourceGrant {
        app_member_id: "nobody".into(),
        ..held("member")
    };
    assert!(matches!(
        c.grant_resource_role(&ctx, &session, &stranger).await,
        Err(E::NotFound(_))
    ));
    c.invite(&ctx, &session, &invitation("new@example.com", "member"))
        .await
        .unwrap();
    let invitee = ResourceGrant {
        app_member_id: "new@example.com".into(),
        ..held("member")
    };
    assert!(matches!(
        c.grant_resource_role(&ctx, &session, &invitee).await,
        Err(E::Conflict(_))
    ));
    checked(&s);
}

#[tokio::test]
async fn a_token_that_is_no_owners_is_refused() {
    let s = start();
    let c = connector();
    let ctx = context(&s, &s.base_url, &s.member_token);
    let session = c.login(&ctx).await.expect("a member's token signs in");
    let e = c.verify_permissions(&ctx, &session).await.unwrap_err();
    assert!(
        matches!(&e, E::InsufficientPermission(m) if m.contains("owner")),
        "{e}"
    );
    let e = c
        .invite(&ctx, &session, &invitation("x@example.com", "member"))
        .await
        .unwrap_err();
    assert!(matches!(e, E::InsufficientPermission(_)), "{e}");
    s.add_member("dev", "member");
    let e = c
        .update_role(&ctx, &session, "dev", "admin")
        .await
        .unwrap_err();
    assert!(matches!(e, E::InsufficientPermission(_)), "{e}");

    let mut stranger = context(&s, &s.base_url, &s.token_for("outsider"));
    let session = c.login(&stranger).await.unwrap();
    let e = c.verify_permissions(&stranger, &session).await.unwrap_err();
    assert!(
        matches!(&e, E::InsufficientPermission(m) if m.contains("no member")),
        "{e}"
    );

    stranger.api_token = Some(SecretString::from("ghp_revoked0000".to_owned()));
    let e = c.login(&stranger).await.unwrap_err();
    assert!(
        matches!(&e, E::BadCredentials(m) if !m.contains("ghp_revoked")),
        "{e}"
    );
    stranger.organization_id = None;
    assert!(matches!(c.login(&stranger).await, Err(E::Configuration(_))));
    checked(&s);
}

#[tokio::test]
async fn rate_limits_are_waited_out_in_the_call_or_given_back() {
    let (s, c, ctx, session) = signed_in().await;
    // The primary limit, reset within two seconds: waited for in the call.
    s.limit(Limit::Primary { reset_in: 2 }, 1);
    let started = Instant::now();
    c.list_members(&ctx, &session, None)
        .await
        .expect("the listing after the reset");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    // A secondary limit with `retry-after: 1`.
    s.limit(Limit::Secondary { retry_after: 1 }, 2);
    let started = Instant::now();
    c.get_member(&ctx, &session, ADMIN_LOGIN)
        .await
        .unwrap()
        .expect("the owner");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // A wait beyond the call's budget goes back to the engine with the wait.
    s.limit(Limit::Secondary { retry_after: 120 }, 1);
    let e = c.list_members(&ctx, &session, None).await.unwrap_err();
    assert_eq!(
        e,
        E::RateLimited {
            retry_after: Some(Duration::from_secs(120))
        }
    );
    let limited = s.exchanges().iter().filter(|e| e.status == 403).count();
    assert_eq!(limited, 4);
    checked(&s);
}

#[tokio::test]
async fn a_429_with_an_http_date_is_waited_for() {
    let (s, c, _, _) = signed_in().await;
    let proxy = FaultProxy::start(&s.base_url).await;
    let ctx = context(&s, &proxy.url, &s.admin_token);
    let session = c.login(&ctx).await.unwrap();
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    proxy.fail(
        "GET",
        "/members",
        Fault::StatusWith(429, vec![("Retry-After".into(), at)]),
        1,
    );
    let started = Instant::now();
    let page = c.list_members(&ctx, &session, None).await.unwrap();
    assert_eq!(page.members[0].app_member_id, ADMIN_LOGIN);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.pending(), 0);
    // The next page's link points at the proxy, which stands where GitHub would.
    assert!(page.next.unwrap().starts_with("members /orgs/"));
    checked(&s);
}

#[tokio::test]
async fn the_description_catches_a_wrong_request_and_a_wrong_answer() {
    let s = start();
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        http.post(format!("{}/orgs/{}/invitations", s.base_url, s.org))
            .bearer_auth(&s.admin_token)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .json(&body)
            .send()
    };
    let r = post(serde_json::json!({"email": "a@example.com", "role": "owner"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let ex = s.exchanges().pop().unwrap();
    let wrong = spec().check(&ex);
    assert!(
        wrong
            .iter()
            .any(|w| w.contains("request body") && w.contains("owner")),
        "{wrong:?}"
    );
    // A body that is not an object, and a query parameter the operation does not take.
    let bad = spec().check_request("POST", "/orgs/x/invitations", Some("role=admin"), "[1]");
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(!spec()
        .check_request("PATCH", "/orgs/x/invitations", None, "")
        .is_empty());
    // The stand-in's own answer passes; without the inviter it would not.
    let r = post(serde_json::json!({"email": "b@example.com", "role": "direct_member"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let mut ex = s.exchanges().pop().unwrap();
    assert_eq!(spec().check(&ex), Vec::<String>::new());
    let mut body: serde_json::Value = serde_json::from_str(&ex.response_body).unwrap();
    body.as_object_mut().unwrap().remove("inviter");
    ex.response_body = body.to_string();
    assert_eq!(spec().check_response(&ex).len(), 1);
    let membership = s
        .exchanges()
        .into_iter()
        .find(|e| e.path.contains("/memberships/"));
    assert!(membership.is_none(), "no membership was read yet");
    let mut owner = ex.clone();
    owner.response_body = body.to_string().replace("direct_member", "owner");
    owner.response_body = owner.response_body.replace("\"login\":null", "\"login\":7");
    assert!(
        spec()
            .check_response(&owner)
            .iter()
            .any(|w| w.contains("login")),
        "a login that is no string"
    );
    ex.status = 418;
    assert!(spec().check_response(&ex)[0].contains("not documented"));
    assert!(spec().operations() > 500);
}

#[test]
fn the_default_base_url_is_githubs() {
    assert_eq!(DEFAULT_BASE_URL, "https://api.github.com");
    let info = connector().describe();
    let keys: Vec<_> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "organization_id",
            "api_token",
            "requests_per_second",
            "allow_private"
        ]
    );
}
