//! The GitLab connector against its stand-in (`castellan_standins::gitlab`, written from GitLab's
//! REST API v4 reference; GitLab cannot run here): the conformance suite through [`fixture`]
//! (with the subgroup as the resource), then what only GitLab has (members then invitations
//! over `X-Next-Page` pages, roles named and sent as access levels, addresses shown for
//! enterprise users only, invitations that add existing users at once, subgroups and projects
//! and GitLab's inherited-level rule, a group named by its URL-encoded path, 429 with
//! `Retry-After`, a self-managed instance on a private address).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test gitlab`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all};
use castellan_conformance::TokenFixture;
use castellan_connectors::gitlab::{self, GUEST, OWNER};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::ALLOW_PRIVATE;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState,
    ResourceGrant,
};
use castellan_standins::gitlab::GitLab;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(gitlab::NAME)
        .expect("gitlab is registered")
}

/// The conformance fixture: the group owner's token as the automation account's, a developer's
/// as the account without admin rights, the subgroup as the resource; seeded members are the
/// group's enterprise users (their addresses are at its verified domain, so GitLab shows them to
/// owners), Guests. 250 members are three pages of 100.
fn fixture(g: &GitLab) -> TokenFixture {
    let seeder = g.clone();
    TokenFixture::new(
        connector(),
        &g.base_url,
        "",
        &g.owner_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), 10);
        },
    )
    .organization(&g.group_path)
    .non_admin(&g.developer_token)
    .resource(&format!("group:{}", g.subgroup_id))
    .automation_member(&g.owner_id.to_string())
}

/// Invitees have GitLab accounts already (the suite grants roles on the subgroup right after an
/// invitation, and GitLab gives them to users who joined).
#[tokio::test]
async fn conformance() {
    let g = GitLab::start();
    g.sign_up_on_invite(true);
    let report = castellan_conformance::run(&fixture(&g)).await;
    assert!(report.failures().is_empty());
    assert!(
        report.passed("resource roles"),
        "{:?}",
        report.outcome("resource roles")
    );
}

// ---- what only GitLab has ----------------------------------------------------------------------

fn context(g: &GitLab, token: &str) -> ConnectorContext {
    fixture(g).context_with(&g.base_url, token)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the owner's token signs in")
}

#[test]
fn it_is_registered_with_resources_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        (
            "owner maintainer developer reporter planner guest".into(),
            GUEST
        )
    );
    assert!(info.can(Capability::ResourceRoles) && info.can(Capability::ListResources));
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "gitlab").unwrap();
    assert_eq!(app.connector.as_deref(), Some(gitlab::NAME));
    assert_eq!(app.roles, info.roles);
    assert_eq!(app.capabilities, info.capabilities);
}

/// 150 members and the two accounts, then 30 pending invitations: three pages (100 and 52
/// members, then the invitations), following `X-Next-Page`; roles named from their access
/// levels; addresses shown for enterprise users only, and for the one a lookup found.
#[tokio::test]
async fn members_then_invitations_over_pages_with_named_roles() {
    let g = GitLab::start();
    for i in 0..149 {
        g.seed(&format!("m{i}@example.com"), "Member", 30);
    }
    let outside = g.seed("ext@other.org", "Outsider", 40);
    let c = connector();
    let ctx = context(&g, &g.owner_token);
    let s = session(&*c, &ctx).await;
    for i in 0..30 {
        let m = c
            .invite(
                &ctx,
                &s,
                &invitation(&format!("inv{i}@new.org"), "reporter"),
            )
            .await
            .unwrap();
        assert_eq!(m.state, MemberState::Invited);
        assert_eq!(m.app_member_id, format!("invitation:inv{i}@new.org"));
    }
    assert_eq!(
        g.invitation("inv0@new.org"),
        Some(20),
        "reporter is 20 on the wire"
    );
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (152 + 30, 3));
    let count = |role: &str| all.iter().filter(|m| m.roles == [role]).count();
    assert_eq!(
        (count("developer"), count("reporter"), count(OWNER)),
        (150, 30, 1)
    );
    let ext = all.iter().find(|m| m.app_member_id == outside.to_string());
    assert_eq!(
        ext.map(|m| (m.roles[0].as_str(), m.email.clone())),
        Some(("maintainer", None))
    );
    let found = c.find_by_email(&ctx, &s, "EXT@other.org").await.unwrap();
    assert_eq!(
        found.map(|m| (m.app_member_id, m.email)),
        Some((outside.to_string(), Some("ext@other.org".into())))
    );
    let seen = g.requests();
    assert!(seen
        .iter()
        .any(|r| r.contains("per_page=100") && r.contains("page=2")));
}

/// An invitation of a GitLab user's address adds them at once; one without an account is a
/// pending invitation whose role changes with `PUT /invitations/{email}` and which is deleted
/// by its address; roles go over the wire as access levels.
#[tokio::test]
async fn invitations_add_users_or_wait_and_roles_are_access_levels() {
    let g = GitLab::start();
    let known = g.seed_user("known@example.com", "Known");
    let c = connector();
    let ctx = context(&g, &g.owner_token);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("Known@Example.com", "maintainer"))
        .await
        .unwrap();
    assert_eq!(
        (m.app_member_id, m.state, m.email.as_deref()),
        (
            known.to_string(),
            MemberState::Active,
            Some("known@example.com")
        )
    );
    assert_eq!(g.level(g.group_id, known), Some(40));
    let up = c
        .update_role(&ctx, &s, &known.to_string(), "Planner")
        .await
        .unwrap();
    assert_eq!(
        (up.roles[0].as_str(), g.level(g.group_id, known)),
        ("planner", Some(15))
    );

    let p = c
        .invite(&ctx, &s, &invitation("pending@new.org", GUEST))
        .await
        .unwrap();
    let again = c
        .invite(&ctx, &s, &invitation("pending@new.org", GUEST))
        .await
        .unwrap();
    assert_eq!(again.app_member_id, p.app_member_id);
    let p = c
        .update_role(&ctx, &s, &p.app_member_id, "developer")
        .await
        .unwrap();
    assert_eq!(
        (p.roles[0].as_str(), g.invitation("pending@new.org")),
        ("developer", Some(30))
    );
    c.remove(&ctx, &s, &p.app_member_id).await.unwrap();
    assert_eq!(g.invitation("pending@new.org"), None);
    c.remove(&ctx, &s, &p.app_member_id)
        .await
        .expect("gone already is done");
    let bad = c.invite(&ctx, &s, &invitation("x@new.org", "admin")).await;
    assert!(
        matches!(bad, Err(ConnectorError::Configuration(_))),
        "{bad:?}"
    );
}

/// Subgroups and projects are resources with the six roles; a role on the project is given,
/// changed and taken; GitLab refuses one below the role inherited from the group, with its
/// words; a pending invitee gets none (`Conflict`).
#[tokio::test]
async fn subgroups_and_projects_take_roles_above_the_inherited_one() {
    let g = GitLab::start();
    let dev = g.seed("dev2@example.com", "Dev", 30);
    let c = connector();
    let ctx = context(&g, &g.owner_token);
    let s = session(&*c, &ctx).await;
    let page = c.list_resources(&ctx, &s, None).await.unwrap();
    let mut all = page.resources;
    if let Some(next) = page.next {
        all.extend(
            c.list_resources(&ctx, &s, Some(next))
                .await
                .unwrap()
                .resources,
        );
    }
    let kinds: Vec<(&str, &str)> = all
        .iter()
        .map(|r| (r.resource_id.as_str(), r.kind.as_str()))
        .collect();
    assert_eq!(kinds, [("group:11", "subgroup"), ("project:20", "project")]);
    assert_eq!(all[1].name, "castellan/platform/api");
    let project = format!("project:{}", g.project_id);
    let grant = |role: &str, who: &str| ResourceGrant {
        resource_id: project.clone(),
        app_member_id: who.to_owned(),
        role: role.to_owned(),
    };
    let who = dev.to_string();
    c.grant_resource_role(&ctx, &s, &grant("maintainer", &who))
        .await
        .unwrap();
    assert_eq!(g.level(g.project_id, dev), Some(40));
    c.grant_resource_role(&ctx, &s, &grant("Owner", &who))
        .await
        .unwrap();
    assert_eq!(g.level(g.project_id, dev), Some(50));
    let held = c
        .list_resource_members(&ctx, &s, &project, None)
        .await
        .unwrap();
    assert_eq!(held.members[0].roles, [OWNER]);
    let err = c
        .grant_resource_role(&ctx, &s, &grant("guest", &who))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(m)
            if m.contains("greater than or equal to Developer inherited membership")),
        "{err}"
    );
    c.revoke_resource_role(&ctx, &s, &project, &who)
        .await
        .unwrap();
    c.revoke_resource_role(&ctx, &s, &project, &who)
        .await
        .unwrap();
    assert_eq!(g.level(g.project_id, dev), None);
    let p = c
        .invite(&ctx, &s, &invitation("later@new.org", GUEST))
        .await
        .unwrap();
    let err = c
        .grant_resource_role(&ctx, &s, &grant("guest", &p.app_member_id))
        .await
        .unwrap_err();
    assert!(matches!(&err, ConnectorError::Conflict(_)), "{err}");
}

/// A developer signs in but is refused (the probe needs Owner); a wrong token is
/// `BadCredentials` with GitLab's message; a subgroup named by its path works, URL-encoded.
#[tokio::test]
async fn owners_only_and_groups_by_path() {
    let g = GitLab::start();
    let c = connector();
    let dev = context(&g, &g.developer_token);
    let err = c.login(&dev).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("developer")),
        "{err}"
    );
    let wrong = context(&g, "glpat-wrong");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("401 Unauthorized") && !m.contains("glpat-wrong")),
        "{err}"
    );
    let mut sub = context(&g, &g.owner_token);
    sub.organization_id = Some("castellan/platform".into());
    let s = session(&*c, &sub).await;
    let m = c
        .invite(&sub, &s, &invitation("sub@new.org", "reporter"))
        .await
        .unwrap();
    assert_eq!(m.state, MemberState::Invited);
    assert!(g
        .requests()
        .iter()
        .any(|r| r.contains("/groups/castellan%2Fplatform/invitations")));
}

/// GitLab's 429 carries `Retry-After` (here, the rest of a minute: more than the SDK waits in
/// one call): `RateLimited` with that wait.
#[tokio::test]
async fn a_429_carries_its_retry_after() {
    let g = GitLab::start();
    let c = connector();
    let ctx = context(&g, &g.owner_token);
    let s = session(&*c, &ctx).await;
    g.set_rate_limit(0);
    match c.list_members(&ctx, &s, None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(d),
        }) => assert!(
            d > Duration::from_secs(30) && d <= Duration::from_secs(60),
            "{d:?}"
        ),
        other => panic!("{other:?}"),
    }
}

/// A self-managed instance on a private address is reached only when the hub allows private
/// addresses.
#[tokio::test]
async fn a_self_managed_instance_on_a_private_address_needs_allow_private() {
    let g = GitLab::start();
    let mut ctx = context(&g, &g.owner_token);
    ctx.settings.insert(ALLOW_PRIVATE.into(), "no".into());
    let err = connector().login(&ctx).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Configuration(m) if m.contains("allow_private")),
        "{err}"
    );
}
