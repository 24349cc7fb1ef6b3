//! The Dropbox connector against its stand-in (`castellan_standins::dropbox`, written from the
//! team endpoints of Dropbox's API v2 and its Stone specification; Dropbox cannot run here): the
//! conformance suite through [`fixture`] (Dropbox reads with `POST`: the fault cases are told
//! which routes only read), then what only Dropbox has (a thousand members a call, roles as wire
//! names given by their ids, asynchronous jobs polled, removal that Dropbox can recover and
//! keep-seat as a suspension, the support admin's token refused, Dropbox's error bodies and its
//! 429).
//!
//! Each test starts its own stand-in. Run: `cargo test -p castellan-connectors --test dropbox`.

use std::sync::Arc;
use std::time::Duration;

use castellan_conformance::harness::{assert_rate_limited, invitation, list_all, token_context};
use castellan_conformance::TokenFixture;
use castellan_connectors::dropbox::{self, WIPE_DATA};
use castellan_connectors::Registry;
use castellan_core::connector::{
    AppSession, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, MemberState, SignIn,
};
use castellan_standins::dropbox::Dropbox;
use secrecy::SecretString;
use serde_json::json;

fn connector() -> Arc<dyn Connector> {
    Registry::default()
        .connector(dropbox::NAME)
        .expect("dropbox is registered")
}

/// The conformance fixture: its own stand-in, the team admin's token as the automation
/// account's, a support admin's as the account without the rights; seeded members are active
/// members with no admin role. 2,600 members: more than two pages of a thousand.
fn fixture(d: &Dropbox) -> TokenFixture {
    let seeder = d.clone();
    TokenFixture::new(
        connector(),
        &d.base_url,
        "dropbox",
        &d.admin_token,
        move |email, i| {
            seeder.seed(email, &format!("Seeded {i}"), "member_only", "active");
        },
    )
    .non_admin(&d.support_token)
    .automation_member(&d.admin_id)
    .listing_size(2600)
    .reads_by_post(&dropbox::READS)
}

#[tokio::test]
async fn conformance() {
    let report = castellan_conformance::run(&fixture(&Dropbox::start())).await;
    assert!(report.failures().is_empty());
}

// ---- what only Dropbox has --------------------------------------------------------------------

fn admin(d: &Dropbox) -> ConnectorContext {
    token_context(&d.base_url, "dropbox", &d.admin_token)
}

async fn session(c: &dyn Connector, ctx: &ConnectorContext) -> AppSession {
    c.login(ctx).await.expect("the team admin's token signs in")
}

#[test]
fn it_is_registered_with_its_settings_and_matches_the_catalog() {
    let info = connector().describe();
    assert_eq!(info.sign_in, SignIn::ApiToken);
    assert_eq!(
        (info.roles.join(" "), info.default_role.as_str()),
        (
            "team_admin user_management_admin support_admin member_only".into(),
            "member_only"
        )
    );
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "api_token",
            WIPE_DATA,
            "requests_per_second",
            "allow_private"
        ]
    );
    let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
        .expect("the catalog parses");
    let app = apps.iter().find(|a| a.id.as_str() == "dropbox").unwrap();
    assert_eq!(app.connector.as_deref(), Some(dropbox::NAME));
    assert_eq!(app.roles, info.roles);
    assert_eq!(app.capabilities, info.capabilities);
}

/// Active, invited and suspended members, a thousand a call; roles as wire names from their
/// `TeamMemberRole` names, `member_only` for none; the team's roles listed with their names.
#[tokio::test]
async fn members_are_listed_a_thousand_a_call_with_wire_roles() {
    let d = Dropbox::start();
    for i in 0..1200 {
        d.seed(
            &format!("m{i}@example.com"),
            "Member",
            "member_only",
            "active",
        );
    }
    for i in 0..3 {
        d.seed(
            &format!("i{i}@example.com"),
            "Invited",
            "member_only",
            "invited",
        );
    }
    d.seed("off@example.com", "Off Duty", "member_only", "suspended");
    d.seed("bill@example.com", "Bill Payer", "billing_admin", "active");
    d.seed(
        "hr@example.com",
        "Hr Person",
        "user_management_admin",
        "active",
    );
    let c = connector();
    let ctx = admin(&d);
    let s = session(&*c, &ctx).await;
    let before = d.served();
    let (all, pages) = list_all(&*c, &ctx, &s).await.unwrap();
    assert_eq!((all.len(), pages), (2 + 1200 + 3 + 3, 2));
    assert_eq!(d.served() - before, 2, "one request a page");
    let state = |st: MemberState| all.iter().filter(|m| m.state == st).count();
    assert_eq!(
        (state(MemberState::Invited), state(MemberState::Deactivated)),
        (3, 1)
    );
    let role = |r: &str| all.iter().filter(|m| m.roles == [r]).count();
    assert_eq!(
        (
            role("team_admin"),
            role("support_admin"),
            role("billing_admin"),
            role("user_management_admin"),
            role("member_only")
        ),
        (1, 1, 1, 1, 1204)
    );
    let roles = c.list_roles(&ctx, &s).await.unwrap();
    let shown: Vec<(&str, &str)> = roles
        .iter()
        .map(|r| (r.role.as_str(), r.label.as_str()))
        .collect();
    assert_eq!(shown[0], ("team_admin", "Team admin"));
    assert_eq!(shown[3], ("billing_admin", "Billing admin"));
    assert_eq!(shown[4].0, "member_only");
}

/// An invitation carries the role's id; a role change sends the new role's id (none for
/// `member_only`) and Dropbox replaces the role; `billing_admin`, which no `AdminTier` names,
/// is given alike; an unknown role is refused before anything is sent.
#[tokio::test]
async fn roles_are_given_by_their_ids() {
    let d = Dropbox::start();
    let c = connector();
    let ctx = admin(&d);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(
            &ctx,
            &s,
            &invitation("Hr.Lead@Example.com", "user_management_admin"),
        )
        .await
        .unwrap();
    assert_eq!(
        (m.roles[0].as_str(), m.state, m.email.as_deref()),
        (
            "user_management_admin",
            MemberState::Invited,
            Some("hr.lead@example.com")
        )
    );
    let added = d.writes("members/add_v2");
    assert_eq!(
        added[0]["new_members"][0]["role_ids"],
        json!(["pid_dbtmr:st02"])
    );
    let id = &m.app_member_id;
    let billing = c.update_role(&ctx, &s, id, "billing_admin").await.unwrap();
    assert_eq!(billing.roles, ["billing_admin"]);
    assert_eq!(d.member(id).unwrap()["roles"][0]["name"], "Billing admin");
    c.update_role(&ctx, &s, id, "member_only").await.unwrap();
    let sent = d.writes("members/set_admin_permissions_v2");
    assert_eq!(sent.last().unwrap()["new_roles"], json!([]));
    assert_eq!(d.member(id).unwrap()["roles"], json!([]));
    let bad = c.update_role(&ctx, &s, id, "owner").await;
    assert!(
        matches!(bad, Err(ConnectorError::Configuration(_))),
        "{bad:?}"
    );
    assert_eq!(d.writes("members/set_admin_permissions_v2").len(), 2);
}

/// Removal keeps the account for the team and wipes devices as the hub says; Dropbox can recover
/// the member for a while (`deactivated`), and inviting the address again recovers them; once
/// unrecoverable, they are gone and a new invitation adds them anew. Keep-seat suspends (data
/// kept on the devices), an invitation unsuspends; an invited member cannot be suspended.
#[tokio::test]
async fn removal_is_recoverable_and_keep_seat_suspends() {
    let d = Dropbox::start();
    let c = connector();
    let ctx = admin(&d);
    let s = session(&*c, &ctx).await;
    let m = c
        .invite(&ctx, &s, &invitation("leaver@example.com", "member_only"))
        .await
        .unwrap();
    let id = m.app_member_id.clone();
    c.remove(&ctx, &s, &id).await.unwrap();
    let sent = d.writes("members/remove");
    assert_eq!(
        sent[0],
        json!({"user": {".tag": "team_member_id", "team_member_id": id},
            "wipe_data": true, "keep_account": false})
    );
    let after = c.get_member(&ctx, &s, &id).await.unwrap().unwrap();
    assert_eq!(after.state, MemberState::Deactivated);
    c.remove(&ctx, &s, &id).await.unwrap();
    let back = c
        .invite(&ctx, &s, &invitation("leaver@example.com", "support_admin"))
        .await
        .unwrap();
    assert_eq!(
        (
            back.app_member_id.as_str(),
            back.state,
            back.roles[0].as_str()
        ),
        (id.as_str(), MemberState::Invited, "support_admin")
    );

    let mut keep_devices = admin(&d);
    keep_devices.settings.insert(WIPE_DATA.into(), "no".into());
    let gone = d.seed("gone@example.com", "Gone Person", "member_only", "active");
    c.remove(&keep_devices, &s, &gone).await.unwrap();
    assert_eq!(d.writes("members/remove")[2]["wipe_data"], false);
    d.expire_removal(&gone);
    assert_eq!(c.get_member(&ctx, &s, &gone).await.unwrap(), None);
    let anew = c
        .invite(&ctx, &s, &invitation("gone@example.com", "member_only"))
        .await
        .unwrap();
    assert_ne!(anew.app_member_id, gone, "a new member");

    let rest = d.seed(
        "rest@example.com",
        "Resting Person",
        "member_only",
        "active",
    );
    let kept = c.remove_keep_seat(&ctx, &s, &rest).await.unwrap();
    assert_eq!(kept.state, MemberState::Deactivated);
    assert_eq!(d.writes("members/suspend")[0]["wipe_data"], false);
    let up = c
        .invite(&ctx, &s, &invitation("rest@example.com", "member_only"))
        .await
        .unwrap();
    assert_eq!((up.app_member_id, up.state), (rest, MemberState::Active));
    let err = c.remove_keep_seat(&ctx, &s, &anew.app_member_id).await;
    assert!(
        matches!(&err, Err(ConnectorError::Conflict(m)) if m.contains("suspend_inactive_user")),
        "{err:?}"
    );
}

/// Additions and removals that Dropbox answers with an asynchronous job are polled until done;
/// each write is sent once.
#[tokio::test]
async fn asynchronous_jobs_are_polled() {
    let d = Dropbox::start();
    let c = connector();
    let ctx = admin(&d);
    let s = session(&*c, &ctx).await;
    d.set_async(true);
    let m = c
        .invite(&ctx, &s, &invitation("later@example.com", "team_admin"))
        .await
        .unwrap();
    assert_eq!(
        (m.roles[0].as_str(), m.state),
        ("team_admin", MemberState::Invited)
    );
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    let after = c.get_member(&ctx, &s, &m.app_member_id).await.unwrap();
    assert_eq!(after.map(|m| m.state), Some(MemberState::Deactivated));
    assert_eq!(
        (
            d.writes("members/add_v2").len(),
            d.writes("members/remove").len()
        ),
        (1, 1)
    );
}

/// The support admin's token signs in but is refused (not a team or user management admin);
/// with its read scopes only, Dropbox's `missing_scope` reaches the error of a write; a wrong
/// token is refused without being repeated.
#[tokio::test]
async fn the_support_admins_token_is_refused_with_dropboxs_words() {
    let d = Dropbox::start();
    let c = connector();
    let support = token_context(&d.base_url, "dropbox", &d.support_token);
    let err = c.login(&support).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("support_admin")),
        "{err}"
    );
    let s = AppSession {
        token: SecretString::from(d.support_token.clone()),
        data: json!({ "me": "dbmid:support" }),
    };
    let err = c
        .invite(&support, &s, &invitation("x@example.com", "member_only"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InsufficientPermission(m) if m.contains("members.write")),
        "{err}"
    );
    let wrong = token_context(&d.base_url, "dropbox", "sl.not-the-token");
    let err = c.login(&wrong).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::BadCredentials(m)
            if m.contains("invalid_access_token") && !m.contains("sl.not-the-token")),
        "{err}"
    );
}

/// Dropbox's 429 names its wait in `Retry-After` and `error.retry_after`: more than a call
/// waits (the rest of the minute), so the listing is `RateLimited` with it.
#[tokio::test]
async fn dropboxs_429_carries_its_wait() {
    let d = Dropbox::start();
    let c = connector();
    let ctx = admin(&d);
    let s = session(&*c, &ctx).await;
    d.set_rate_limit(0);
    let (half, minute) = (Duration::from_secs(30), Duration::from_secs(60));
    assert_rate_limited(c.list_members(&ctx, &s, None).await, half, minute);
}
