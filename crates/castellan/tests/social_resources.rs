//! The whole story of a paid-social hub with roles on its assets, through Castellan itself: a
//! server with a Meta Business Manager hub and one with a TikTok Business Center hub, each on
//! its stand-in (`castellan_standins`, served on loopback in this process; the hubs allow
//! private addresses for it). A share gives the person an app role and a role on a Page (an
//! advertiser account on TikTok), a second share changes both, a revoke removes the person;
//! after each step the bot's jobs complete, the stand-in shows it, and the next check for
//! updates finds no drift.
//!
//! The stand-ins' invitees accept at once: Meta and TikTok assign assets to people who joined,
//! and a person accepting an emailed invitation is not part of what Castellan does.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;

use castellan_standins::meta::{Meta, BUSINESS};
use castellan_standins::tiktok::{TikTok, BC_ID};
use hub_fixture::{assert_no_drift, assert_story_jobs, wait_idle};
use serde_json::json;

/// A workspace with the person Ana and a healthy hub on `app` at `base` as `organization`,
/// whose automation account keeps `token` as its API token. Returns the server (kept alive),
/// the CLI, Ana's email and the hub's label.
fn social_hub(
    tmp: &std::path::Path,
    app: &str,
    base: &str,
    organization: &str,
    token: &str,
) -> (common::Server, common::Cli, String, String) {
    let t = synapse_common::tag();
    let (server, cli, ana) = hub_fixture::story_workspace(tmp, "Ana", &t);
    // The token goes in through a file, never on the command line.
    let token_file = tmp.join("api-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let secret = format!("api_token={}", token_file.display());
    let extra = ["--secret-field-file", secret.as_str()];
    hub_fixture::add_app_account(
        &cli,
        "Social bot",
        app,
        "bot",
        "unused-password",
        "placeholder",
        &extra,
    );
    let label = format!("{app} {t}");
    let settings = [
        "--organization-id",
        organization,
        "--setting",
        "allow_private=yes",
    ];
    hub_fixture::connect_healthy(&cli, app, &label, "Social bot", base, &settings);
    let report = &cli.json(&["hub", "show", &label])["last_report"];
    let caps = report["capabilities"].as_array().unwrap();
    assert!(caps.contains(&json!("resource_roles")), "{report:#}");
    (server, cli, ana, label)
}

/// Shares the hub with `person` as `app_role` with `resource` (`ID=ROLE`) and waits for the bot.
fn share(cli: &common::Cli, label: &str, person: &str, app_role: &str, resource: &str) {
    cli.ok(&[
        "hub",
        "share",
        label,
        person,
        "--app-role",
        app_role,
        "--resource",
        resource,
    ]);
    wait_idle(cli, label);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meta_hub_shares_changes_and_revokes_a_page_role() {
    let meta = Meta::start();
    meta.accept_at_once(true);
    let tmp = tempfile::tempdir().unwrap();
    let (_server, cli, ana, label) = social_hub(
        tmp.path(),
        "meta-business-suite",
        &meta.base_url,
        BUSINESS,
        &meta.admin_token,
    );
    let resources = cli.json(&["hub", "resources", &label]).to_string();
    assert!(resources.contains(&meta.page_id) && resources.contains(&meta.ad_account_id));

    // Shared as an employee and a Page editor: invited (accepted at once) and assigned.
    share(
        &cli,
        &label,
        &ana,
        "employee",
        &format!("{}=editor", meta.page_id),
    );
    let id = meta.user_id(&ana).expect("Ana is a business user");
    assert_eq!(meta.role_of(&ana).as_deref(), Some("EMPLOYEE"));
    let editor = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE"];
    assert_eq!(meta.tasks(&meta.page_id, &id), editor);
    assert_no_drift(&cli, &label);

    // Changed: an admin of the business, an analyst of the Page.
    share(
        &cli,
        &label,
        &ana,
        "admin",
        &format!("{}=analyst", meta.page_id),
    );
    assert_eq!(meta.role_of(&ana).as_deref(), Some("ADMIN"));
    assert_eq!(meta.tasks(&meta.page_id, &id), ["ANALYZE"]);
    assert_no_drift(&cli, &label);

    // Revoked: the business user is removed, with their tasks.
    cli.ok(&["hub", "revoke", &label, &ana]);
    let jobs = wait_idle(&cli, &label);
    assert_eq!(meta.user_id(&ana), None);
    assert!(meta.tasks(&meta.page_id, &id).is_empty());
    assert_no_drift(&cli, &label);
    assert_story_jobs(&jobs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiktok_hub_shares_changes_and_revokes_an_advertiser_role() {
    let tt = TikTok::start();
    tt.accept_at_once(true);
    let tmp = tempfile::tempdir().unwrap();
    let (_server, cli, ana, label) =
        social_hub(tmp.path(), "tiktok", &tt.base_url, BC_ID, &tt.admin_token);
    let adv = tt.advertiser_id.clone();

    // Shared as a standard member and an operator of the advertiser account.
    share(&cli, &label, &ana, "standard", &format!("{adv}=OPERATOR"));
    let (id, role, status) = tt.member(&ana).expect("Ana is a member");
    let id = id.expect("Ana joined");
    assert_eq!((role.as_str(), status.as_str()), ("STANDARD", "BOUND"));
    assert_eq!(tt.advertiser_role(&adv, &id).as_deref(), Some("OPERATOR"));
    assert_no_drift(&cli, &label);

    // Changed: a Business Center admin, an analyst of the account.
    share(&cli, &label, &ana, "admin", &format!("{adv}=ANALYST"));
    assert_eq!(tt.member(&ana).unwrap().1, "ADMIN");
    assert_eq!(tt.advertiser_role(&adv, &id).as_deref(), Some("ANALYST"));
    assert_no_drift(&cli, &label);

    // Revoked: the member is deleted from the Business Center, with their account role.
    cli.ok(&["hub", "revoke", &label, &ana]);
    let jobs = wait_idle(&cli, &label);
    assert!(tt.member(&ana).is_none());
    assert_eq!(tt.advertiser_role(&adv, &id), None);
    assert_no_drift(&cli, &label);
    assert_story_jobs(&jobs);
}
