//! The Slack connector against its stand-in (`castellan_standins::slack`, written from Slack's
//! SCIM API reference; Slack cannot run here): the conformance suite through [`fixture`] (with
//! an IdP group as the resource), then what only Slack has (multi-channel guests made in one
//! request, Owners who cannot be made guests, single-channel guests shown but not made, removal
//! by `DELETE` that deactivates, lookups by Slack's `email` filter, pages capped by
//! `maxResults`, Slack's error codes, 429 with `Retry-After`).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test slack`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::slack::{self, MEMBER, MULTI_CHANNEL_GUEST, SINGLE_CHANNEL_GUEST};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState,
};
use castellan_standins::slack::Slack;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(slack::NAME)
        .expect("slack is registered")
}

/// The conformance fixture: its own stand-in with pages of 20 (so 60 seeded users are three),
/// the primary owner's token and address as the automation account's, a full member's token as
/// the account without admin rights, an IdP group as the resource.
fn fixture(sl: &Slack) -> TokenFixture {
    sl.set_max_results(20);
    let seeder = sl.clone();
    TokenFixture::new(
        connector(),
        &sl.base_url,
        &sl.owner_email,
        &sl.owner_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "member");
        },
    )
    .non_admin(&sl.member_token)
    .resource(&sl.group("Designers"))
    .listing_size(60)
    .automation_member(&sl.owner_id)
}

#[tokio::test]
async fn conformance() {
    let sl = Slack::start();
    let report = castellan_conformance::run(&fixture(&sl)).await;
    assert!(report.failures().is_empty());
    assert!(
        report.passed("resource roles"),
        "{:?}",
        report.outcome("resource roles")
    );
}

// ---- what only Slack has -----------------------------------------------------------------------

fn context(sl: &Slack) -> ConnectorContext {
    token_context(&sl.base_url, &sl.owner_email, &sl.owner_token)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the owner's token signs in")
}

#[test]
fn it_is_registered_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        ("member multi_channel_guest".into(), MEMBER)
    );
    assert!(info.can(Capability::KeepSeat) && info.can(Capability::ResourceRoles));
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "slack").unwrap();
    assert_eq!(app.connector.as_deref(), Some(slack::NAME));
    assert_eq!(app.roles, info.roles);
    assert!(app.capabilities.iter().all(|c| info.can(*c)));
    let scim = app.scim.as_ref().expect("the [app.scim] table is kept");
    assert_eq!(scim.base_url, "https://api.slack.com/scim/v2");
}

/// A multi-channel guest is made in one `POST` with Slack's guest extension (never a full
/// member, not even for a moment), turned into a full member and back by `PATCH`; an Admin is
/// refused as a guest with Slack's reason; a single-channel guest is shown but not made.
#[tokio::test]
async fn guests_are_made_in_one_request_and_owners_are_refused() {
    let sl = Slack::start();
    let c = connector();
    let ctx = context(&sl);
    let s = session(&*c, &ctx).await;
    let before = sl.requests().len();
    let g = c
        .invite(
            &ctx,
            &s,
            &invitation("Gia@Example.com", MULTI_CHANNEL_GUEST),
        )
        .await
        .unwrap();
    assert_eq!(
        (g.roles.join(""), g.email.as_deref()),
        (MULTI_CHANNEL_GUEST.into(), Some("gia@example.com"))
    );
    let writes: Vec<String> = sl.requests()[before..]
        .iter()
        .filter(|r| !r.starts_with("GET"))
        .cloned()
        .collect();
    assert_eq!(writes, ["POST /Users"], "one write made the guest");
    assert_eq!(sl.user("gia@example.com").unwrap()["userName"], "gia");

    let m = c
        .update_role(&ctx, &s, &g.app_member_id, MEMBER)
        .await
        .unwrap();
    assert_eq!(m.roles, [MEMBER]);
    assert!(sl
        .user("gia@example.com")
        .unwrap()
        .get(slack_guest())
        .is_none());
    let m = c
        .update_role(&ctx, &s, &g.app_member_id, MULTI_CHANNEL_GUEST)
        .await
        .unwrap();
    assert_eq!(m.roles, [MULTI_CHANNEL_GUEST]);

    let admin = sl.seed("boss@example.com", "Boss", "admin");
    let err = c
        .update_role(&ctx, &s, &admin, MULTI_CHANNEL_GUEST)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Conflict(m) if m.contains("cannot_make_user_guest")),
        "{err}"
    );

    let single = sl.seed("one@example.com", "One", "single_channel_guest");
    let got = c.get_member(&ctx, &s, &single).await.unwrap().unwrap();
    assert_eq!(got.roles, [SINGLE_CHANNEL_GUEST]);
    let err = c
        .invite(
            &ctx,
            &s,
            &invitation("two@example.com", SINGLE_CHANNEL_GUEST),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err}");
    assert!(sl.user("two@example.com").is_none(), "nobody was made");
}

fn slack_guest() -> &'static str {
    castellan_standins::slack::GUEST
}

/// Removal is `DELETE`, which deactivates: the user is still listed, deactivated, and out of
/// their groups; removing again is done; inviting the address again reactivates the same user;
/// keep-seat deactivates too. The automation account is never deactivated.
#[tokio::test]
async fn delete_deactivates_and_an_invitation_reactivates() {
    let sl = Slack::start();
    let c = connector();
    let ctx = context(&sl);
    let s = session(&*c, &ctx).await;
    let ana = sl.seed("ana@example.com", "Ana Lima", "member");
    let group = sl.group("Ops");
    let grant = castellan_core::connector::ResourceGrant {
        resource_id: group.clone(),
        app_member_id: ana.clone(),
        role: "member".into(),
    };
    c.grant_resource_role(&ctx, &s, &grant).await.unwrap();
    assert_eq!(sl.group_members(&group), std::slice::from_ref(&ana));

    c.remove(&ctx, &s, &ana).await.unwrap();
    assert!(sl.requests().contains(&format!("DELETE /Users/{ana}")));
    let gone = c.get_member(&ctx, &s, &ana).await.unwrap().unwrap();
    assert_eq!(gone.state, MemberState::Deactivated);
    assert!(sl.group_members(&group).is_empty());
    c.remove(&ctx, &s, &ana).await.unwrap();

    let back = c
        .invite(&ctx, &s, &invitation("ana@example.com", MEMBER))
        .await
        .unwrap();
    assert_eq!(
        (back.app_member_id.as_str(), back.state),
        (ana.as_str(), MemberState::Active)
    );
    let kept = c.remove_keep_seat(&ctx, &s, &ana).await.unwrap();
    assert_eq!(kept.state, MemberState::Deactivated);

    let err = c.remove(&ctx, &s, &sl.owner_id).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err}");
    assert_eq!(sl.user(&sl.owner_email).unwrap()["active"], true);
}

/// Lookups by address use Slack's `email` filter; listings ask for 1,000 users a page and
/// follow `maxResults` when Slack says less: 47 users in pages of 20 are three pages.
#[tokio::test]
async fn lookups_use_the_email_filter_and_pages_follow_max_results() {
    let sl = Slack::start();
    sl.set_max_results(20);
    for i in 0..45 {
        sl.seed(&format!("m{i}@example.com"), "Member", "member");
    }
    let c = connector();
    let ctx = context(&sl);
    let s = session(&*c, &ctx).await;
    let found = c
        .find_by_email(&ctx, &s, "M7@Example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.email.as_deref(), Some("m7@example.com"));
    let last = sl.requests().last().cloned().unwrap();
    assert_eq!(last, r#"GET /Users?filter=email eq "m7@example.com""#);
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (47, 3));
}

/// Slack's codes: a wrong token is `BadCredentials` (never quoted), a full member's token
/// `InsufficientPermission`, a hub username no user has `Configuration`.
#[tokio::test]
async fn slacks_error_codes_are_mapped() {
    let sl = Slack::start();
    let c = connector();
    let as_owner = |token: &str| token_context(&sl.base_url, &sl.owner_email, token);
    let err = c.login(&as_owner("xoxp-nope-secret")).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("invalid_authentication") && !m.contains("xoxp-nope-secret")),
        "{err}"
    );
    let err = c.login(&as_owner(&sl.member_token)).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("permission_denied")),
        "{err}"
    );
    let stranger = token_context(&sl.base_url, "nobody@example.com", &sl.owner_token);
    let err = c.login(&stranger).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err}");
}

/// Past the organization's per-minute limit, Slack answers 429 with `Retry-After`: a minute,
/// more than the SDK waits in one call, so `RateLimited` with it.
#[tokio::test]
async fn a_429_carries_slacks_retry_after() {
    let sl = Slack::start();
    let c = connector();
    let ctx = context(&sl);
    let s = session(&*c, &ctx).await;
    sl.set_rate_limit(0);
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
