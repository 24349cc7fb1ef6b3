//! The Zoom connector against its stand-in (`castellan_standins::zoom`, written from Zoom's REST
//! API v2 reference; Zoom cannot run here): the conformance suite through [`fixture`], then what
//! only Zoom has (users in three states listed 300 a call, Zoom's roles with a custom one and the
//! owner kept, removal as a disassociation after a demotion, keep-seat as a deactivation that
//! Zoom takes the license of, the member's token refused, Zoom's error bodies, and its 429s per
//! second and per day).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test zoom`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use castellan_conformance::harness::{assert_rate_limited, invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::zoom::{self, DELETE, LICENSE_TYPE, REMOVE_WITH};
use castellan_connectors::Registry;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState, SignIn,
};
use castellan_standins::zoom::{Zoom, HELP_DESK};
use secrecy::SecretString;
use serde_json::json;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(zoom::NAME)
        .expect("zoom is registered")
}

/// The conformance fixture: its own stand-in, the Server-to-Server OAuth app's token (an
/// admin's) as the automation account's, a member's token as the account without admin rights;
/// seeded members are active Members. 700 members: more than two pages of 300 active users.
fn fixture(z: &Zoom) -> TokenFixture {
    let seeder = z.clone();
    TokenFixture::new(
        connector(),
        &z.base_url,
        "zoom",
        &z.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "2", "active");
        },
    )
    .non_admin(&z.member_token)
    .automation_member(&z.admin_id)
    .listing_size(700)
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&Zoom::start())).await;
    assert!(report.failures().is_empty());
}

// ---- what only Zoom has -----------------------------------------------------------------------

fn admin(z: &Zoom) -> ConnectorContext {
    token_context(&z.base_url, "zoom", &z.admin_token)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the app's token signs in")
}

#[test]
fn it_is_registered_with_its_settings_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(info.sign_in, SignIn::ApiToken);
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("admin member".into(), "member")
    );
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "api_token",
            LICENSE_TYPE,
            REMOVE_WITH,
            "requests_per_second",
            "allow_private"
        ]
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "zoom").unwrap();
    assert_eq!(app.connector.as_deref(), Some(zoom::NAME));
    assert_eq!(app.roles, info.roles);
    assert_eq!(app.capabilities, info.capabilities);
    assert!(app.scim.is_some(), "the SCIM table stays as documentation");
}

/// Active, pending and inactive users, 300 a call: 400 active users take two calls, the pending
/// and inactive ones one each; roles and states as Zoom sends them.
#[tokio::test]
async fn users_in_three_states_are_listed_300_a_call() {
    let z = Zoom::start();
    for i in 0..400 {
        z.seed(&format!("u{i}@example.com"), "User", "2", "active");
    }
    for i in 0..5 {
        z.seed(&format!("p{i}@example.com"), "Pending", "2", "pending");
    }
    for i in 0..3 {
        z.seed(&format!("d{i}@example.com"), "Gone", "2", "inactive");
    }
    let c = connector();
    let ctx = admin(&z);
    let s = session(&*c, &ctx).await;
    let before = z.served();
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (403 + 5 + 3, 4));
    assert_eq!(z.served() - before, 4, "one request a page");
    let state = |st: MemberState| all.iter().filter(|m| m.state == st).count();
    assert_eq!(
        (
            state(MemberState::Active),
            state(MemberState::Invited),
            state(MemberState::Deactivated)
        ),
        (403, 5, 3)
    );
    let role = |r: &str| all.iter().filter(|m| m.roles == [r]).count();
    assert_eq!((role("owner"), role("admin"), role("member")), (1, 1, 409));
}

/// Zoom's roles: the system ones by name, the custom one by id with its name; a custom role is
/// given and read back; the owner is never given another role or removed; `owner` is given to
/// nobody.
#[tokio::test]
async fn roles_are_zooms_and_the_owner_is_kept() {
    let z = Zoom::start();
    let c = connector();
    let ctx = admin(&z);
    let s = session(&*c, &ctx).await;
    let roles = c.list_roles(&ctx, &s).await.unwrap();
    let shown: Vec<(&str, &str)> = roles
        .iter()
        .map(|r| (r.role.as_str(), r.label.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("owner", "Owner"),
            ("admin", "Admin"),
            ("member", "Member"),
            (HELP_DESK, "Help desk")
        ]
    );
    let id = z.seed("desk@example.com", "Desk Person", "2", "active");
    let m = c.update_role(&ctx, &s, &id, HELP_DESK).await.unwrap();
    assert_eq!(m.roles, [HELP_DESK]);
    assert_eq!(
        z.user(&id).unwrap()["role_id"],
        HELP_DESK,
        "as sent on the wire"
    );
    let m = c.update_role(&ctx, &s, &id, "admin").await.unwrap();
    assert_eq!(
        (m.roles[0].as_str(), &z.user(&id).unwrap()["role_id"]),
        ("admin", &json!("1"))
    );
    c.update_role(&ctx, &s, &id, "member").await.unwrap();
    assert_eq!(z.user(&id).unwrap()["role_id"], "2");

    let owner = c.update_role(&ctx, &s, &z.owner_id, "admin").await;
    assert!(
        matches!(owner, Err(ConnectorError::Conflict(_))),
        "{owner:?}"
    );
    let gone = c.remove(&ctx, &s, &z.owner_id).await;
    assert!(matches!(gone, Err(ConnectorError::Conflict(_))), "{gone:?}");
    let made = c
        .invite(&ctx, &s, &invitation("boss@example.com", "owner"))
        .await;
    assert!(
        matches!(made, Err(ConnectorError::Configuration(_))),
        "{made:?}"
    );
}

/// Removal makes an admin a member, then disassociates (or deletes, as the hub says); a pending
/// user is disassociated. Keep-seat deactivates (Zoom takes the license); inviting the address
/// again activates, gives the license back and the role.
#[tokio::test]
async fn removal_disassociates_and_keep_seat_deactivates() {
    let z = Zoom::start();
    let c = connector();
    let ctx = admin(&z);
    let s = session(&*c, &ctx).await;
    let new = c
        .invite(&ctx, &s, &invitation("New.Admin@Example.com", "admin"))
        .await
        .unwrap();
    assert_eq!(
        (new.roles[0].as_str(), new.state),
        ("admin", MemberState::Invited)
    );
    let raw = z.user(&new.app_member_id).unwrap();
    assert_eq!(
        (raw["type"].as_u64(), raw["status"].as_str()),
        (Some(2), Some("pending"))
    );
    c.remove(&ctx, &s, &new.app_member_id).await.unwrap();
    let boss = z.seed("boss@example.com", "Big Boss", "1", "active");
    c.remove(&ctx, &s, &boss).await.unwrap();
    let mut deleting = admin(&z);
    deleting.settings.insert(REMOVE_WITH.into(), DELETE.into());
    let plain = z.seed("plain@example.com", "Plain User", "2", "active");
    c.remove(&deleting, &s, &plain).await.unwrap();
    let pending_delete = c
        .invite(&deleting, &s, &invitation("late@example.com", "member"))
        .await
        .unwrap();
    c.remove(&deleting, &s, &pending_delete.app_member_id)
        .await
        .unwrap();
    let done: Vec<(String, String)> = z.removals();
    let want = [
        (new.app_member_id.clone(), "disassociate"),
        (boss, "disassociate"),
        (plain, "delete"),
        (pending_delete.app_member_id, "disassociate"),
    ];
    let want: Vec<(String, String)> = want.into_iter().map(|(i, a)| (i, a.into())).collect();
    assert_eq!(done, want);
    c.remove(&ctx, &s, &new.app_member_id).await.unwrap();

    let lead = z.seed("lead@example.com", "Team Lead", "1", "active");
    let kept = c.remove_keep_seat(&ctx, &s, &lead).await.unwrap();
    assert_eq!(
        (kept.roles[0].as_str(), kept.state),
        ("member", MemberState::Deactivated)
    );
    assert_eq!(z.user(&lead).unwrap()["type"], 1, "Zoom takes the license");
    let back = c
        .invite(&ctx, &s, &invitation("lead@example.com", "admin"))
        .await
        .unwrap();
    assert_eq!(
        (
            back.app_member_id.as_str(),
            back.state,
            back.roles[0].as_str()
        ),
        (lead.as_str(), MemberState::Active, "admin")
    );
    assert_eq!(z.user(&lead).unwrap()["type"], 2, "the license is back");
    let pending = c
        .invite(&ctx, &s, &invitation("wait@example.com", "member"))
        .await
        .unwrap();
    let err = c.remove_keep_seat(&ctx, &s, &pending.app_member_id).await;
    assert!(matches!(err, Err(ConnectorError::Conflict(_))), "{err:?}");
}

/// A member's token signs in but is refused (a member, no admin scopes); Zoom's 4711 body
/// reaches the error of a write; a wrong token is refused without being repeated.
#[tokio::test]
async fn the_members_token_is_refused_with_zooms_words() {
    let z = Zoom::start();
    let c = connector();
    let member = token_context(&z.base_url, "zoom", &z.member_token);
    let err = c.login(&member).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("member")),
        "{err}"
    );
    let s = AppSession {
        token: SecretString::from(z.member_token.clone()),
        data: json!({ "user_id": z.member_id }),
    };
    let err = c
        .invite(&member, &s, &invitation("x@example.com", "member"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m)
            if m.contains("does not contain scopes") && m.contains("4711")),
        "{err}"
    );
    let wrong = token_context(&z.base_url, "zoom", "not-the-token");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("code 124") && !m.contains("not-the-token")),
        "{err}"
    );
}

/// Zoom's per-second 429 has no `Retry-After`: the connector waits a second and the read goes
/// through; its daily 429 names the next midnight UTC as an RFC 3339 date, more than a call
/// waits: `RateLimited` with that wait.
#[tokio::test]
async fn zooms_429s_per_second_and_per_day() {
    let z = Zoom::start();
    let c = connector();
    let ctx = admin(&z);
    let s = session(&*c, &ctx).await;
    z.set_rate_limit(1);
    c.get_member(&ctx, &s, &z.owner_id).await.unwrap();
    let started = Instant::now();
    let m = c.get_member(&ctx, &s, &z.member_id).await.unwrap();
    assert!(m.is_some());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited a second"
    );
    z.set_rate_limit(castellan_standins::zoom::DEFAULT_LIMIT);
    z.set_daily_limit(0);
    let day = Duration::from_secs(86_400);
    assert_rate_limited(c.list_members(&ctx, &s, None).await, Duration::ZERO, day);
}
