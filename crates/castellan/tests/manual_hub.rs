//! A manual hub end to end through the real binary (issue 12, point 5's acceptance): monday.com has
//! no connector, so its hub is a manual one. The owner uploads the roster, shares the hub with
//! a person, the app admin (a plain `user`) sees the invitation task and marks it done, the next
//! roster shows the member: onboarded, the task verified. A hub giving tasks 0 hours shows its
//! task overdue, in the API, the CLI and the hub's status.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;

use std::path::Path;

use common::{host_args, Cli, Server};
use hub_fixture::{wait_idle, FAST_BOT};
use serde_json::Value;
use synapse_common::tag;

/// Invites a person with `role`; for `user` also accepts the invitation and signs them in
/// with their own CLI login (config dir `dir`).
fn person(owner: &Cli, server: &Server, dir: &Path, email: &str, role: &str) -> Option<Cli> {
    let inv = owner.json(&[
        "people", "invite", "--email", email, "--name", email, "--role", role,
    ]);
    if role != "user" {
        return None;
    }
    let cli = Cli::new(&server.url, dir);
    let token = inv["invitation_token"].as_str().unwrap();
    cli.ok_stdin(
        &[
            "accept-invitation",
            "--email",
            email,
            "--invitation-token",
            token,
            "--password-stdin",
        ],
        "app-admin-password-1\n",
    );
    cli.ok_stdin(
        &["login", "--email", email, "--password-stdin"],
        "app-admin-password-1\n",
    );
    Some(cli)
}

/// Stores the app admin's monday.com account (the item a manual hub's automation account is).
fn monday_account(cli: &Cli, label: &str, username: &str) {
    cli.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            label,
            "--app",
            "monday",
            "--username",
            username,
            "--setup",
            "individual",
            "--password-stdin",
        ],
        "monday-password-1\n",
    );
}

fn write(dir: &Path, name: &str, csv: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, csv).unwrap();
    p.display().to_string()
}

fn tasks(cli: &Cli, hub: &str) -> Vec<Value> {
    cli.json(&["hub", "tasks", hub]).as_array().unwrap().clone()
}

#[test]
fn a_manual_hub_from_roster_to_task_to_verified_member() {
    let t = tag();
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(&host_args(&tmp.path().join("data"), None, None), FAST_BOT);
    let owner = Cli::new(&server.url, &tmp.path().join("owner"));
    owner.claim(&server.setup_token(), "owner@example.com");
    let admin_email = format!("it_{t}@example.com");
    let ana = format!("ana_{t}@example.com");
    let admin = person(
        &owner,
        &server,
        &tmp.path().join("it"),
        &admin_email,
        "user",
    )
    .unwrap();
    person(&owner, &server, &tmp.path().join("ana"), &ana, "guest");

    // What a manual hub on monday.com needs: the app admin, and how long tasks may take.
    let settings = owner.json(&[
        "hub",
        "settings",
        "--app",
        "monday",
        "--connector",
        "manual",
    ]);
    let keys: Vec<&str> = settings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"app_admin") && keys.contains(&"task_due_hours"),
        "{keys:?}"
    );
    // Without `--connector manual`, monday.com cannot be connected: it has no connector.
    monday_account(&owner, "monday.com admin", &admin_email);
    let label = format!("monday.com {t}");
    let out = owner.run(&[
        "hub",
        "connect",
        "--app",
        "monday",
        "--label",
        &label,
        "--account",
        "monday.com admin",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("connector `manual`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 1. Connect the manual hub; its first check sees an empty roster.
    let setting = format!("app_admin={admin_email}");
    let hub = owner.json(&[
        "hub",
        "connect",
        "--app",
        "monday",
        "--label",
        &label,
        "--account",
        "monday.com admin",
        "--connector",
        "manual",
        "--setting",
        &setting,
        "--wait",
    ]);
    assert_eq!(hub["connector"], "manual", "{hub:#}");
    assert_eq!(hub["status"], "healthy", "{hub:#}");

    // 2. Upload the roster: the app admin and an outside guest.
    let roster = write(
        tmp.path(),
        "roster1.csv",
        &format!("email,name,role,id\n{admin_email},IT,admin,U1\nguest_{t}@elsewhere.org,Guest,member,U2\n"),
    );
    let up = owner.json(&["hub", "roster", &label, &roster]);
    assert_eq!(up["members"], 2, "{up:#}");
    wait_idle(&owner, &label);
    let members = owner.json(&["hub", "members", &label, "--matching", "onboarded"]);
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == admin_email.as_str()),
        "{members:#}"
    );

    // 3. Share the hub with Ana: the bot opens one invitation task for the app admin.
    owner.ok(&["hub", "share", &label, &ana]);
    wait_idle(&owner, &label);
    let tk = tasks(&owner, &label);
    assert_eq!(tk.len(), 1, "{tk:#?}");
    assert_eq!(
        (
            tk[0]["kind"].as_str(),
            tk[0]["state"].as_str(),
            tk[0]["email"].as_str(),
            tk[0]["role"].as_str()
        ),
        (
            Some("invite"),
            Some("open"),
            Some(ana.as_str()),
            Some("member")
        )
    );
    assert_eq!(tk[0]["assignee_email"], admin_email.as_str());
    assert_eq!(tk[0]["overdue"], false);
    let task = tk[0]["id"].as_str().unwrap().to_owned();
    let shown = owner.json(&["hub", "show", &label]);
    assert_eq!(shown["status"], "requires_sync", "{shown:#}");
    assert!(
        shown["status_reason"]
            .as_str()
            .unwrap()
            .contains("wait for the app admin"),
        "{shown:#}"
    );

    // 4. The app admin, a plain user, sees their task (without naming the hub, or by its label)
    // and marks it done; they cannot upload a roster.
    let mine = admin.json(&["hub", "tasks"]);
    assert_eq!(mine[0]["id"], task.as_str(), "{mine:#}");
    assert_eq!(mine[0]["hub_label"], label.as_str());
    assert_eq!(tasks(&admin, &label).len(), 1);
    let done = admin.json(&["hub", "task-done", &label, &task]);
    assert_eq!(done["state"], "done", "{done:#}");
    let refused = admin.run(&["hub", "roster", &label, &roster]);
    assert!(
        !refused.status.success(),
        "only a hub manager uploads the roster"
    );

    // 5. The next roster shows Ana: the task is verified, Ana is onboarded, the hub healthy.
    let roster2 = write(
        tmp.path(),
        "roster2.csv",
        &format!(
            "email,name,role,id\n{admin_email},IT,admin,U1\nguest_{t}@elsewhere.org,Guest,member,U2\n{ana},Ana,member,U3\n"
        ),
    );
    let up = owner.json(&["hub", "roster", &label, &roster2]);
    assert_eq!(up["verified"][0]["id"], task.as_str(), "{up:#}");
    let jobs = wait_idle(&owner, &label);
    assert!(jobs.iter().all(|j| j["state"] == "completed"), "{jobs:#?}");
    assert_eq!(tasks(&owner, &label)[0]["state"], "verified");
    let onboarded = owner.json(&["hub", "members", &label, "--matching", "onboarded"]);
    assert!(
        onboarded
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == ana.as_str()
                && m["app_member_id"] == "U3"
                && m["state"] == "active"),
        "{onboarded:#}"
    );
    let shown = owner.json(&["hub", "show", &label]);
    assert_eq!(shown["status"], "healthy", "{shown:#}");
    assert_eq!(shown["last_report"]["drift"], 0, "{shown:#}");

    // The automation log and the activity log tell the story.
    let acts = owner.json(&["activity", "list", "--limit", "500"]);
    let actions: Vec<&str> = acts
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "hub.roster_upload",
        "hub.task_open",
        "hub.task_done",
        "hub.task_verified",
        "job.completed",
    ] {
        assert!(actions.contains(&a), "no {a} in the activity log");
    }
    assert!(owner.ok(&["activity", "verify"]).contains("intact"));

    // 6. A hub that gives tasks 0 hours: its task is overdue at once.
    monday_account(&owner, "monday.com admin 2", &admin_email);
    let late = format!("monday.com late {t}");
    owner.json(&[
        "hub",
        "connect",
        "--app",
        "monday",
        "--label",
        &late,
        "--account",
        "monday.com admin 2",
        "--connector",
        "manual",
        "--setting",
        &setting,
        "--setting",
        "task_due_hours=0",
        "--wait",
    ]);
    owner.ok(&["hub", "share", &late, &ana]);
    wait_idle(&owner, &late);
    let tk = tasks(&owner, &late);
    assert_eq!(tk.len(), 1, "{tk:#?}");
    assert_eq!(tk[0]["overdue"], true, "{tk:#?}");
    let table = owner.ok(&["hub", "tasks", &late]);
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(
        table.contains("OVERDUE") && row.contains(" yes "),
        "the CLI's table shows it overdue: {table}"
    );
    let out = owner.run(&["hub", "sync", &late]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = owner.json(&["hub", "show", &late]);
    assert!(
        shown["status_reason"]
            .as_str()
            .unwrap()
            .contains("1 overdue"),
        "{shown:#}"
    );
}
