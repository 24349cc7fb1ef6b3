//! The Redmine connector against a real Redmine on loopback: the conformance suite through
//! [`RedmineFixture`] (with a project as the resource), then what only Redmine has (the
//! two-factor story, locked and registered users, logins and names from emails, its pages).
//!
//! The server is started once per test binary with `scripts/start-redmine.sh` (which installs
//! Debian's `redmine` and `redmine-sqlite` on first use, enables the REST API, makes two-factor
//! authentication optional and sets `admin` / `adminpass123`) in `CASTELLAN_REDMINE_DIR`
//! (default `<workspace>/target/redmine`) on `CASTELLAN_REDMINE_PORT` (default 13001), and left
//! running; `scripts/stop-redmine.sh DIR` stops it. If the script fails, every test fails with
//! its output. Tests share the server (and its database), so each one uses its own logins and
//! emails. `admin` has no 2FA, so most tests sign in quickly; the 2FA story uses its own
//! automation account.

use std::collections::HashMap;

use async_trait::async_trait;
use castellan_conformance::harness::{list_all, password_context, unique};
use castellan_conformance::{Fixture, Outcome};
use castellan_connectors::redmine::{self, RedmineConnector};
use castellan_connectors::Registry;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, Connector, ConnectorContext, ConnectorError, ConnectorRegistry, Invitation,
    MemberState,
};
use castellan_otp::{Algorithm, Kind};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;

mod redmine_site;
use redmine_site::*;

/// The project the suite grants and revokes roles on.
const PROJECT: &str = "castellan-conformance";

/// The conformance fixture: `admin` is the automation account, `conformance_plain` the account
/// without admin rights, the project `castellan-conformance` the resource; members and the
/// project are made with the REST API.
struct RedmineFixture;

#[async_trait]
impl Fixture for RedmineFixture {
    castellan_conformance::password_fixture!(
        Registry::default()
            .connector("redmine")
            .expect("registered"),
        REDMINE
    );

    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        Some(plain_context(base_url).await)
    }

    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        seed(prefix, n).await
    }

    async fn resource(&self) -> Option<String> {
        if raw()
            .get(&format!("/projects/{PROJECT}.json"))
            .await
            .is_none()
        {
            let project = json!({"project": {"name": "Castellan conformance",
                "identifier": PROJECT, "is_public": false}});
            let (status, why) = raw()
                .call(Method::POST, "/projects.json", Some(project))
                .await;
            // 422: another run made it meanwhile.
            assert!(
                matches!(status, 201 | 422),
                "create {PROJECT}: HTTP {status} {why}"
            );
        }
        Some(PROJECT.to_owned())
    }

    async fn automation_member(&self) -> Option<String> {
        Some("1".to_owned())
    }
}

#[tokio::test]
async fn redmine_passes_the_conformance_suite() {
    let report = castellan_conformance::run(&RedmineFixture).await;
    assert_eq!(
        report.outcome("resource roles"),
        Some(&Outcome::Passed),
        "Redmine has projects"
    );
}

// ---- the 2FA story -----------------------------------------------------------------------------

/// The acceptance story at the connector level: 2FA is turned on for a dedicated
/// automation account with Castellan's authenticator, then the bot signs in with username,
/// password and a TOTP code, and lists the users.
#[tokio::test]
async fn an_automation_account_with_2fa_signs_in_with_a_code_and_lists_users() {
    let base = base();
    let sfx = unique();
    let bot = format!("castellan_bot_{sfx}");
    let bot_pass = format!("Bot-pass-{sfx}");
    let bot_mail = format!("castellan_bot_{sfx}@bots.test");
    let bot_id = create_user(
        &bot,
        &bot_mail,
        &bot_pass,
        json!({"firstname": "Castellan", "lastname": "Bot", "admin": true}),
    )
    .await;

    // 1. Turn on 2FA: Redmine's pairing page shows the secret; Castellan's authenticator
    //    takes it and computes the code that confirms the pairing.
    let setup = redmine::enable_totp_for(&base, &bot, &bot_pass)
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
    let issuer = base.trim_start_matches("http://").replace(':', "_");
    assert_eq!(from_qr.display_issuer(), Some(issuer.as_str()));

    // A wrong code does not pair.
    let good = castellan_otp::code_at(&params, now());
    let wrong = format!("{:06}", (good.parse::<u32>().unwrap() + 1) % 1_000_000);
    let err = redmine::confirm_totp(&base, &bot, &bot_pass, &wrong)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
    assert!(user(&bot_id.to_string()).await.unwrap()["twofa_scheme"].is_null());

    redmine::confirm_totp(
        &base,
        &bot,
        &bot_pass,
        &castellan_otp::code_at(&params, now()),
    )
    .await
    .expect("the pairing is confirmed with Castellan's code");
    assert_eq!(
        user(&bot_id.to_string()).await.unwrap()["twofa_scheme"],
        "totp"
    );
    // Pairing again needs a code now: the helpers say 2FA is already on.
    let err = redmine::enable_totp_for(&base, &bot, &bot_pass)
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
    assert!(!format!("{s:?}").contains(&api_key()));

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
    let (members, _) = list_all(&c, &bot_ctx, &s).await.unwrap();
    let by_id: HashMap<&str, &AppMember> = members
        .iter()
        .map(|m| (m.app_member_id.as_str(), m))
        .collect();
    let admin = by_id.get("1").expect("the admin is listed");
    assert_eq!(admin.roles, ["admin"]);
    assert_eq!(admin.email.as_deref(), Some("admin@example.net"));
    let me = by_id
        .get(bot_id.to_string().as_str())
        .expect("the bot is listed");
    assert_eq!(me.roles, ["admin"]);
    assert_eq!(me.email.as_deref(), Some(bot_mail.as_str()));
    assert_eq!(me.name.as_deref(), Some("Castellan Bot"));
}

// ---- what only Redmine has ---------------------------------------------------------------------

#[tokio::test]
async fn the_admin_signs_in_without_2fa_and_an_unasked_authenticator_is_not_used() {
    let c = RedmineConnector::new();
    let mut with_totp = ctx(ADMIN, ADMIN_PASS);
    with_totp.totp = Some(totp_from_secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"));
    let s = c.login(&with_totp).await.expect("no second factor asked");
    assert_eq!(s.data["login"], "admin");
    assert_eq!(s.data["user_id"], 1);
    assert_eq!(s.data["second_factor"], "none");
    assert!(!format!("{s:?}").contains(&api_key()));
}

/// Registered (not yet activated) users are invited members, locked ones deactivated; a locked
/// or unknown account cannot sign in; a cursor the connector never gave is a configuration error.
#[tokio::test]
async fn registered_and_locked_users() {
    let sfx = unique();
    let registered = format!("registered_{sfx}");
    let locked = format!("locked_{sfx}");
    let mut ids = Vec::new();
    for (login, status) in [(&registered, 2), (&locked, 3)] {
        let id = create_user(
            login,
            &format!("{login}@example.com"),
            "pass-1234567",
            json!({}),
        )
        .await;
        set_status(id, status).await;
        ids.push(id.to_string());
    }
    let c = RedmineConnector::new();
    let ctx = ctx(ADMIN, ADMIN_PASS);
    let s = c.login(&ctx).await.unwrap();
    let (members, _) = list_all(&c, &ctx, &s).await.unwrap();
    let state = |id: &str| {
        members
            .iter()
            .find(|m| m.app_member_id == id)
            .map(|m| m.state)
    };
    assert_eq!(state(&ids[0]), Some(MemberState::Invited));
    assert_eq!(state(&ids[1]), Some(MemberState::Deactivated));

    let err = c
        .login(&self::ctx(&locked, "pass-1234567"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
    assert!(err.to_string().contains("locked"), "{err}");
    let nobody = self::ctx(&format!("nobody_{sfx}"), "x");
    let err = c.login(&nobody).await.unwrap_err();
    assert!(matches!(err, ConnectorError::BadCredentials(_)), "{err:?}");
    let err = c
        .list_members(&ctx, &s, Some("nonsense".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
}

/// Keep-seat removal locks the user (it keeps its account and history), as removal does; invited
/// again, the user is unlocked.
#[tokio::test]
async fn keep_seat_removal_locks_the_user() {
    let c = RedmineConnector::new();
    let ctx = ctx(ADMIN, ADMIN_PASS);
    let s = c.login(&ctx).await.unwrap();
    let email = format!("keep_seat_{}@example.com", unique());
    let inv = Invitation {
        email: email.clone(),
        username: None,
        name: Some("Kept Seat".into()),
        role: "user".into(),
    };
    let m = c.invite(&ctx, &s, &inv).await.unwrap();
    assert_eq!(m.state, MemberState::Active);
    let kept = c
        .remove_keep_seat(&ctx, &s, &m.app_member_id)
        .await
        .unwrap();
    assert_eq!(kept.app_member_id, m.app_member_id);
    assert_eq!(kept.state, MemberState::Deactivated);
    let again = c.invite(&ctx, &s, &inv).await.unwrap();
    assert_eq!(
        (again.app_member_id, again.state),
        (m.app_member_id, MemberState::Active)
    );
}

/// A login comes from the username (or the email), names from the email's local part; a member
/// is found by login as by id; a taken login is Redmine's "has already been taken".
#[tokio::test]
async fn logins_and_names() {
    let c = RedmineConnector::new();
    let ctx = ctx(ADMIN, ADMIN_PASS);
    let s = c.login(&ctx).await.unwrap();
    let sfx = unique();
    let inv = Invitation {
        email: format!("boss@{sfx}.example.test"),
        username: Some(format!("The Boss {sfx}")),
        name: None,
        role: "admin".into(),
    };
    let m = c.invite(&ctx, &s, &inv).await.expect("invite");
    assert_eq!(m.name.as_deref(), Some("Boss -"));
    let u = user(&m.app_member_id).await.unwrap();
    let login = format!("the_boss_{sfx}");
    assert_eq!(u["login"], login.as_str());
    assert_eq!(u["admin"], true);
    assert_eq!(
        c.get_member(&ctx, &s, &login).await.unwrap(),
        Some(m.clone())
    );

    let inv = Invitation {
        email: format!("other_{sfx}@example.test"),
        username: Some(login),
        name: None,
        role: "user".into(),
    };
    let err = c.invite(&ctx, &s, &inv).await.unwrap_err();
    assert!(err.to_string().contains("has already been taken"), "{err}");
    c.remove(&ctx, &s, &m.app_member_id).await.unwrap();
    assert_eq!(user(&m.app_member_id).await.unwrap()["status"], 3, "locked");
}

/// A Redmine page that is not the login page (a wrong path under the real server) is a
/// configuration error.
#[tokio::test]
async fn a_wrong_path_is_configuration() {
    let c = RedmineConnector::new();
    let err = c
        .login(&password_context(
            &format!("{}/projects", base()),
            ADMIN,
            ADMIN_PASS,
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
}

/// Projects are listed with Redmine's roles by name; a role Redmine does not have is a
/// configuration error.
#[tokio::test]
async fn projects_are_resources_with_redmine_roles() {
    let f = RedmineFixture;
    let project = f.resource().await.unwrap();
    let c = RedmineConnector::new();
    let ctx = ctx(ADMIN, ADMIN_PASS);
    let s = c.login(&ctx).await.unwrap();
    let page = c.list_resources(&ctx, &s, None).await.unwrap();
    let r = page
        .resources
        .iter()
        .find(|r| r.resource_id == project)
        .expect("the project is listed");
    assert_eq!(r.kind, "project");
    assert_eq!(r.name, "Castellan conformance");
    assert_eq!(r.roles, ["Manager", "Developer", "Reporter"]);
    let info = c.describe();
    for cap in [
        Capability::KeepSeat,
        Capability::ListResources,
        Capability::ResourceRoles,
    ] {
        assert!(info.can(cap), "{cap:?}");
    }
    let grant = castellan_core::connector::ResourceGrant {
        resource_id: project,
        app_member_id: "1".into(),
        role: "Owner".into(),
    };
    let err = c.grant_resource_role(&ctx, &s, &grant).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Configuration(_)), "{err:?}");
}
