//! Roles on resources, the whole story on a real Redmine (Debian package, shared harness): the
//! hub lists the projects, a share gives a person a project role besides the app role, a new
//! project role replaces it, narrowing the share takes it away, bad resource roles are refused
//! with the field named, a revoke removes the member, and the next check finds no drift.

mod common;
#[path = "common/hub_fixture.rs"]
mod hub_fixture;
#[path = "common/synapse.rs"]
mod synapse_common;

use hub_fixture::{assert_no_drift, wait_idle};
use reqwest::Method;
use serde_json::{json, Value};

/// Redmine's REST API with the harness admin's API key.
struct Redmine {
    base: String,
    key: String,
}

impl Redmine {
    fn start() -> Self {
        let app = castellan_conformance::harness::start_app("redmine", 13001);
        let key = std::fs::read_to_string(app.dir.join("api-key")).expect("api-key");
        Self {
            base: app.base_url,
            key: key.trim().to_owned(),
        }
    }

    async fn call(&self, method: Method, route: &str, body: Option<Value>) -> Value {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{route}", self.base))
            .header("X-Redmine-API-Key", &self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{route}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The roles the user with `email` holds on `project` (empty when not a member).
    async fn project_roles(&self, project: &str, email: &str) -> Vec<String> {
        self.membership(project, email)
            .await
            .map(|(_, roles)| roles)
            .unwrap_or_default()
    }

    /// The Redmine user (any status) whose email is `email`.
    async fn user(&self, email: &str) -> Option<Value> {
        let route = format!("/users.json?name={email}&status=");
        let users = self.call(Method::GET, &route, None).await;
        let mut all = users["users"].as_array().unwrap().iter();
        all.find(|u| u["mail"] == email).cloned()
    }

    /// The membership id of the user with `email` on `project` and its roles.
    async fn membership(&self, project: &str, email: &str) -> Option<(u64, Vec<String>)> {
        let id = self.user(email).await?["id"].clone();
        let route = format!("/projects/{project}/memberships.json?limit=100");
        let found = self.call(Method::GET, &route, None).await;
        let m = found["memberships"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["id"] == id)?
            .clone();
        let roles = m["roles"].as_array().unwrap().iter();
        let roles = roles.map(|r| r["name"].as_str().unwrap().to_owned());
        Some((m["id"].as_u64().unwrap(), roles.collect()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_gives_and_takes_a_project_role_on_redmine() {
    let rm = Redmine::start();
    let t = synapse_common::tag();
    let (bot, password) = (format!("rrbot{t}"), format!("Bot-password-{t}"));
    let user = json!({ "user": { "login": bot, "firstname": "Castellan", "lastname": "Bot",
        "mail": format!("{bot}@example.com"), "password": password, "admin": true,
        "must_change_passwd": false } });
    rm.call(Method::POST, "/users.json", Some(user)).await;
    let project = format!("rr-{t}");
    let body = json!({ "project": { "name": format!("Resources {t}"), "identifier": project } });
    rm.call(Method::POST, "/projects.json", Some(body)).await;

    let tmp = tempfile::tempdir().unwrap();
    let (server, cli, ana) = hub_fixture::story_workspace(tmp.path(), "Ana", &t);
    hub_fixture::add_app_account(
        &cli,
        "Redmine bot",
        "redmine",
        &bot,
        &password,
        "placeholder",
        &[],
    );
    let label = format!("Redmine {t}");
    hub_fixture::connect_healthy(&cli, "redmine", &label, "Redmine bot", &rm.base, &[]);

    // 1. The check for updates listed the projects with their roles.
    let resources = cli.json(&["hub", "resources", &label]);
    let listed = resources
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource_id"] == project.as_str())
        .unwrap_or_else(|| panic!("{project} not listed: {resources:#}"));
    assert_eq!(listed["kind"], "project");
    let report = &cli.json(&["hub", "show", &label])["last_report"];
    let found = report["capabilities"].as_array().unwrap();
    assert!(found.contains(&json!("resource_roles")), "{report:#}");
    assert_eq!(listed["roles"], json!(["Manager", "Developer", "Reporter"]));

    // 2. Bad resource roles are refused, naming the field; nothing is granted.
    for (arg, says) in [
        (format!("no-such-{t}=Manager"), "no resource"),
        (format!("{project}=Owner"), "Manager, Developer, Reporter"),
        (project.clone(), "RESOURCE=ROLE"),
    ] {
        let out = cli.run(&["hub", "share", &label, &ana, "--resource", &arg]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{arg}: {err}");
    }
    assert!(cli
        .json(&["hub", "grants", &label])
        .as_array()
        .unwrap()
        .is_empty());

    // 3. A share with a project role: the bot invites the person and makes them a Developer.
    let dev = format!("{project}=developer");
    cli.ok(&[
        "hub",
        "share",
        &label,
        &ana,
        "--resource",
        &dev,
        "--app-role",
        "admin",
        "--hub-role",
        "manager",
    ]);
    wait_idle(&cli, &label);
    assert_eq!(rm.project_roles(&project, &ana).await, ["Developer"]);
    let grants = cli.json(&["hub", "grants", &label]);
    assert_eq!(
        grants[0]["resource_roles"],
        json!([{ "resource_id": project, "role": "Developer" }])
    );

    // The web app's hub page shows the grant's project role.
    let page = hub_page(&server.url, &label, &cli).await;
    assert!(
        page.contains(&format!("On resources: {project}: Developer")),
        "{page}"
    );

    // 4. Another project role, the app role kept: only the project role changes.
    cli.ok(&[
        "hub",
        "share",
        &label,
        &ana,
        "--resource",
        &format!("{project}=Manager"),
    ]);
    let jobs = wait_idle(&cli, &label);
    assert_eq!(rm.project_roles(&project, &ana).await, ["Manager"]);
    assert!(
        jobs.iter().any(|j| j["task"] == "update_member_role"
            && j["progress"]
                .as_str()
                .unwrap_or_default()
                .contains("Manager")),
        "{jobs:#?}"
    );
    assert_no_drift(&cli, &label);

    // 5. A role on the project given in Redmine by hand drifts back at the next check.
    let (membership, _) = rm.membership(&project, &ana).await.unwrap();
    let reporter = rm.call(Method::GET, "/roles.json", None).await["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Reporter")
        .unwrap()["id"]
        .clone();
    let put = json!({ "membership": { "role_ids": [reporter] } });
    rm.call(
        Method::PUT,
        &format!("/memberships/{membership}.json"),
        Some(put),
    )
    .await;
    let out = cli.json(&["hub", "sync", &label]);
    assert_eq!(out["state"], "completed", "{out:#}");
    let shown = cli.json(&["hub", "show", &label]);
    let planned = shown["last_report"]["planned_resource_roles"].to_string();
    assert!(
        planned.contains(&format!("{project}: Manager")),
        "{shown:#}"
    );
    wait_idle(&cli, &label);
    assert_eq!(rm.project_roles(&project, &ana).await, ["Manager"]);

    // 6. Narrowing the share takes the project role away; the person stays a member.
    cli.ok(&["hub", "share", &label, &ana, "--no-resources"]);
    wait_idle(&cli, &label);
    assert!(rm.project_roles(&project, &ana).await.is_empty());
    let grants = cli.json(&["hub", "grants", &label]);
    assert_eq!(
        grants[0]["resource_roles"],
        json!([{ "resource_id": project, "role": null }])
    );
    // A share that names only resources keeps the app role and the hub role it gave.
    assert_eq!(grants[0]["app_role"], "admin", "{grants:#}");
    assert_eq!(grants[0]["hub_role"], "manager", "{grants:#}");
    assert_no_drift(&cli, &label);

    // 7. Revoke: the member goes; the next check finds no drift.
    cli.ok(&["hub", "share", &label, &ana, "--resource", &dev]);
    wait_idle(&cli, &label);
    assert_eq!(rm.project_roles(&project, &ana).await, ["Developer"]);
    cli.ok(&["hub", "revoke", &label, &ana]);
    wait_idle(&cli, &label);
    let u = rm.user(&ana).await.expect("the user stays, locked");
    assert_ne!(u["status"], 1, "still active: {u:#}");
    assert_no_drift(&cli, &label);
    // Redmine locks the user and keeps the membership; the grant keeps the project with no role.
    assert_eq!(rm.project_roles(&project, &ana).await, ["Developer"]);
    let grants = cli.json(&["hub", "grants", &label]);
    assert_eq!(
        grants[0]["resource_roles"],
        json!([{ "resource_id": project, "role": null }])
    );

    // 8. Shared again without resources: the user is unlocked and the old project role, which
    //    ended with the revoke, does not come back.
    cli.ok(&["hub", "share", &label, &ana]);
    wait_idle(&cli, &label);
    assert!(rm.project_roles(&project, &ana).await.is_empty());
    assert_no_drift(&cli, &label);
}

/// The value of the first hidden `csrf` field of a page.
fn csrf(html: &str) -> String {
    let needle = "name=\"csrf\" value=\"";
    let at = html.find(needle).expect("a csrf field") + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// The cookie `name=value` a response sets.
fn cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

/// The hub's page in the web app, signed in as the owner through the sign-in form.
async fn hub_page(base: &str, label: &str, cli: &common::Cli) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = http.get(format!("{base}/sign-in")).send().await.unwrap();
    let csrf_cookie = cookie(&form, "castellan_csrf");
    let field = csrf(&form.text().await.unwrap());
    let signed = http
        .post(format!("{base}/sign-in"))
        .header(reqwest::header::COOKIE, &csrf_cookie)
        .form(&[
            ("csrf", field.as_str()),
            ("email", "owner@example.com"),
            ("password", hub_fixture::OWNER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303, "sign in");
    let session = cookie(&signed, "castellan_session");
    let id = cli.json(&["hub", "show", label])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = http
        .get(format!("{base}/hubs/{id}"))
        .header(reqwest::header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}
