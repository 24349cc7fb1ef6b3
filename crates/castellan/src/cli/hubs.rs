//! Client commands for business hubs and the automation log.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use castellan_core::hub::{LoginMethod, UserManagement};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::admin::{vault_id, JsonFlag};
use crate::client::{q, Client};
use crate::output;

/// `castellan hub connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Catalog app id or name (e.g. matrix-synapse).
    #[arg(long)]
    app: String,
    /// Hub label.
    #[arg(long)]
    label: String,
    /// The app's organization or business id.
    #[arg(long)]
    organization_id: Option<String>,
    /// The app instance's base URL (self-hosted apps).
    #[arg(long)]
    base_url: Option<String>,
    /// User management method: api (default) or browser.
    #[arg(long, value_name = "METHOD")]
    user_management: Option<UserManagement>,
    /// Login method: password (default), password_totp or password_email_code.
    #[arg(long, value_name = "METHOD")]
    login_method: Option<LoginMethod>,
    /// Existing automation account (id or label).
    #[arg(long, conflicts_with = "placeholder_username")]
    account: Option<String>,
    /// Make a new placeholder account with this username and a generated password.
    #[arg(long)]
    placeholder_username: Option<String>,
    /// Vault for the placeholder account.
    #[arg(long)]
    vault: Option<String>,
    /// Safeguard threshold, 0.0-1.0 (default 0.2).
    #[arg(long)]
    safeguard_threshold: Option<f64>,
    /// Seconds between scheduled syncs (default 86400).
    #[arg(long)]
    sync_interval_secs: Option<i64>,
    /// A connector setting as KEY=VALUE (repeatable), as the app's connector declares them
    /// (`castellan hub settings --app APP` lists them). Secrets such as `api_token` are not
    /// given here: store them as secret custom fields of the automation account.
    #[arg(long = "setting", value_name = "KEY=VALUE", value_parser = parse_setting)]
    settings: Vec<(String, String)>,
    /// The connector: `manual` makes a manual hub on any catalog app (members from an uploaded
    /// roster, changes as tasks for the app admin named by `--setting app_admin=EMAIL`); the
    /// app's browser connector (e.g. `wordpress_browser`: its pages in the browser bot);
    /// default: the app's own.
    #[arg(long)]
    connector: Option<String>,
    /// Wait for the first sync and show its progress; exit non-zero unless the hub ends healthy.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    j: JsonFlag,
}

/// Parses `KEY=VALUE` (the key trimmed, the value as given).
fn parse_setting(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// `castellan hub …`.
#[derive(Debug, Subcommand)]
pub enum HubCmd {
    /// Connect a business hub.
    Connect(ConnectArgs),
    /// What a hub on an app needs: its connector's settings (key, kind, required, help).
    Settings {
        /// Catalog app id or name.
        #[arg(long)]
        app: String,
        /// `manual` or the app's browser connector for their settings (default: the app's own
        /// connector).
        #[arg(long)]
        connector: Option<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// List hubs.
    List(JsonFlag),
    /// Show a hub: status, reason, warnings, last report.
    Show {
        hub: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Check for updates now and show progress.
    Sync {
        hub: String,
        /// Let a plan halted by the safeguard proceed.
        #[arg(long)]
        confirm: bool,
        /// Return at once instead of following the job.
        #[arg(long)]
        no_wait: bool,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Members by matching tab (onboarded, unmatched, guest, exempted).
    Members {
        hub: String,
        #[arg(long)]
        matching: Option<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Grants on the hub.
    Grants {
        hub: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Share the hub with a person (email or id), or change their app role.
    Share {
        hub: String,
        person: String,
        /// App role (default: the app's default role).
        #[arg(long)]
        app_role: Option<String>,
        /// Hub role: owner, manager, collaborator.
        #[arg(long)]
        hub_role: Option<String>,
        /// A role on a resource inside the app, `RESOURCE=ROLE` (`RESOURCE=none` takes it away);
        /// repeat for several. Replaces the grant's roles on resources: one it named before
        /// and this share leaves out loses its role. See `hub resources`.
        #[arg(long = "resource", value_name = "RESOURCE=ROLE")]
        resources: Vec<String>,
        /// Take every role on resources the grant gives away.
        #[arg(long, conflicts_with = "resources")]
        no_resources: bool,
    },
    /// The resources inside the app (projects, groups) and their roles, as the last check for
    /// updates listed them.
    Resources {
        hub: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Revoke people (emails or ids): the bot removes them.
    Revoke {
        hub: String,
        #[arg(required = true)]
        people: Vec<String>,
        /// Keep their seat: drop only Castellan's management.
        #[arg(long)]
        keep_seat: bool,
    },
    /// Match an unmatched member to a person.
    Match {
        hub: String,
        member: String,
        person: String,
    },
    /// Exempt a member, with a reason.
    Exempt {
        hub: String,
        member: String,
        #[arg(long)]
        reason: String,
    },
    /// Remove a member from the app.
    RemoveMember { hub: String, member: String },
    /// Upload a signed-in session for the hub's automation account: cookies exported from your
    /// browser right after signing in as it (a JSON export of a cookie extension, or a
    /// cookies.txt; `-` reads standard input). The jobs that need attention run again.
    Session {
        hub: String,
        file: std::path::PathBuf,
    },
    /// Replace a manual hub's roster with a CSV file (`email,name,role[,state][,id]`; `-` reads
    /// standard input): verifies the tasks it shows done, then checks for updates.
    Roster {
        hub: String,
        file: std::path::PathBuf,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// A manual hub's tasks for its app admin; without HUB, your own as an app admin.
    Tasks {
        hub: Option<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Mark a manual hub's task done (you made the change in the app).
    TaskDone {
        hub: String,
        task: String,
        #[command(flatten)]
        j: JsonFlag,
    },
}

/// `castellan jobs …`.
#[derive(Debug, Subcommand)]
pub enum JobsCmd {
    /// The automation log.
    List {
        /// Only this hub (id or label).
        #[arg(long)]
        hub: Option<String>,
        /// Only this state.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// One job.
    Show {
        id: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Queue a not-completed or needs-attention job again (after fixing the cause in the app).
    Retry { id: String },
    /// A job's record: each step the bot took, its URL, the failing step's error.
    Steps {
        id: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Save the screenshot of a job's step as a PNG (recorded: it may show personal data).
    Screenshot {
        id: String,
        /// The step's number (`seq` in `castellan jobs steps`).
        seq: i64,
        /// Where to write the PNG.
        #[arg(long, short)]
        out: std::path::PathBuf,
    },
    /// Cancel a queued or retrying job.
    Cancel { id: String },
}

const STEP_COLS: &[(&str, &str)] = &[
    ("seq", "/seq"),
    ("attempt", "/attempt"),
    ("at", "/at"),
    ("what", "/what"),
    ("url", "/url"),
    ("screenshot", "/screenshot"),
    ("error", "/error"),
];

const JOB_COLS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("task", "/task"),
    ("state", "/state"),
    ("target", "/target"),
    ("trigger", "/trigger"),
    ("actor", "/actor"),
    ("updated", "/updated_at"),
    ("error", "/error"),
];

/// A hub's id from its id or label.
pub(super) async fn hub_id(c: &Client, s: &str) -> Result<String> {
    super::id_by(c, "/hubs", "label", s, format!("no hub labelled `{s}`")).await
}

async fn person_id(c: &Client, s: &str) -> Result<String> {
    if uuid::Uuid::parse_str(s).is_ok() {
        return Ok(s.to_owned());
    }
    let people: Value = c.get("/people").await?;
    people
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(s))
        })
        .and_then(|p| p["id"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("no person with email `{s}`"))
}

/// Follows a job until it finishes, printing its progress on stderr. Returns the final job.
async fn follow(c: &Client, id: &str) -> Result<Value> {
    let mut last = String::new();
    loop {
        let j = c.call(Method::GET, &format!("/jobs/{id}"), None).await?;
        let state = j["state"].as_str().unwrap_or_default().to_owned();
        let line = format!(
            "{} {}: {}",
            j["task"].as_str().unwrap_or_default(),
            state,
            j["progress"].as_str().unwrap_or("")
        );
        if line != last {
            eprintln!("{line}");
            last = line;
        }
        // `needs_attention` waits for a person: stop following, with the reason on stderr.
        if matches!(
            state.as_str(),
            "completed" | "not_completed" | "needs_attention"
        ) {
            if let Some(label) = j["attention_label"].as_str() {
                eprintln!("{label}: {}", j["error"].as_str().unwrap_or_default());
                eprintln!(
                    "hint: `castellan jobs steps {id}` shows where; upload a signed-in session with \
                     `castellan hub session HUB FILE`, or fix the cause and `castellan jobs retry {id}`"
                );
            }
            return Ok(j);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Whether a hub (as `GET /hubs/{id}` returns it) came out of its check for updates well:
/// `healthy`, or `requires_sync` only because changes are queued for the bot. A hub that needs a
/// person (`review_configuration`, `review_service_account`), is still `under_validation`, or
/// whose last sync the safeguard halted fails, with the reason on stderr.
fn healthy_or_failure(hub: &Value) -> ExitCode {
    let status = hub["status"].as_str().unwrap_or_default();
    let halted = hub["last_report"]["halted"].as_str();
    let fine = match status {
        "healthy" => true,
        "requires_sync" => halted.is_none(),
        _ => false,
    };
    if fine {
        return ExitCode::SUCCESS;
    }
    let reason = halted
        .or(hub["status_reason"].as_str())
        .unwrap_or("no reason given");
    eprintln!("the hub is {status}: {reason}");
    ExitCode::FAILURE
}

/// Dispatches `hub`.
pub async fn hub(cmd: HubCmd, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server, None)?;
    match cmd {
        HubCmd::Connect(a) => {
            let mut body = Map::new();
            body.insert("app".into(), a.app.into());
            body.insert("label".into(), a.label.into());
            for (k, v) in [
                ("organization_id", a.organization_id),
                ("base_url", a.base_url),
                ("user_management", a.user_management.map(|v| v.to_string())),
                ("login_method", a.login_method.map(|v| v.to_string())),
                ("connector", a.connector),
            ] {
                if let Some(v) = v {
                    body.insert(k.into(), v.into());
                }
            }
            if let Some(acc) = a.account {
                body.insert(
                    "automation_account_id".into(),
                    super::accounts::account_id(&c, &acc).await?.into(),
                );
            }
            if let Some(u) = a.placeholder_username {
                let mut p = json!({ "username": u });
                if let Some(v) = a.vault {
                    p["vault_id"] = vault_id(&c, &v).await?.into();
                }
                body.insert("placeholder".into(), p);
            }
            if let Some(t) = a.safeguard_threshold {
                body.insert("safeguard_threshold".into(), t.into());
            }
            if let Some(i) = a.sync_interval_secs {
                body.insert("sync_interval_secs".into(), i.into());
            }
            if !a.settings.is_empty() {
                let settings: Map<String, Value> = a
                    .settings
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                body.insert("settings".into(), Value::Object(settings));
            }
            let hub = c
                .call(Method::POST, "/hubs", Some(&Value::Object(body)))
                .await?;
            for w in hub["warnings"].as_array().into_iter().flatten() {
                eprintln!("warning: {}", w.as_str().unwrap_or_default());
            }
            if a.wait {
                let id = hub["id"].as_str().unwrap_or_default().to_owned();
                let jobs = c
                    .call(Method::GET, &format!("/jobs?hub_id={id}"), None)
                    .await?;
                if let Some(job) = jobs
                    .as_array()
                    .and_then(|j| j.last())
                    .and_then(|j| j["id"].as_str())
                {
                    follow(&c, job).await?;
                }
                let hub = c.call(Method::GET, &format!("/hubs/{id}"), None).await?;
                output::object(&hub, a.j.json);
                return Ok(healthy_or_failure(&hub));
            } else {
                output::object(&hub, a.j.json);
            }
        }
        HubCmd::Settings { app, connector, j } => {
            let over = connector
                .map(|c| format!("?connector={}", q(&c)))
                .unwrap_or_default();
            let info = c
                .call(
                    Method::GET,
                    &format!("/apps/{}/connector{over}", q(&app)),
                    None,
                )
                .await?;
            if !j.json {
                eprintln!(
                    "connector {}: signs in with {}; secret settings are secret custom fields of the automation account",
                    info["name"].as_str().unwrap_or_default(),
                    info["sign_in"].as_str().unwrap_or_default()
                );
            }
            output::list(
                &info["settings"],
                j.json,
                &[
                    ("key", "/key"),
                    ("kind", "/kind"),
                    ("required", "/required"),
                    ("label", "/label"),
                    ("help", "/help"),
                ],
            );
        }
        HubCmd::List(j) => output::list(
            &c.call(Method::GET, "/hubs", None).await?,
            j.json,
            &[
                ("id", "/id"),
                ("label", "/label"),
                ("app", "/app_id"),
                ("status", "/status"),
                ("reason", "/status_reason"),
                ("last sync", "/last_sync_at"),
            ],
        ),
        HubCmd::Show { hub, j } => {
            let id = hub_id(&c, &hub).await?;
            output::object(
                &c.call(Method::GET, &format!("/hubs/{id}"), None).await?,
                j.json,
            );
        }
        HubCmd::Sync {
            hub,
            confirm,
            no_wait,
            j,
        } => {
            let id = hub_id(&c, &hub).await?;
            let job = c
                .call(
                    Method::POST,
                    &format!("/hubs/{id}/sync"),
                    Some(&json!({ "confirm": confirm })),
                )
                .await?;
            if no_wait {
                output::object(&job, j.json);
            } else {
                let done = follow(&c, job["id"].as_str().unwrap_or_default()).await?;
                output::object(&done, j.json);
                if done["state"] != "completed" {
                    return Ok(ExitCode::FAILURE);
                }
                // A sync the safeguard halted completes, but leaves the hub needing a person.
                let hub = c.call(Method::GET, &format!("/hubs/{id}"), None).await?;
                return Ok(healthy_or_failure(&hub));
            }
        }
        HubCmd::Members { hub, matching, j } => {
            let id = hub_id(&c, &hub).await?;
            let qs = matching
                .map(|m| format!("?matching={}", q(&m)))
                .unwrap_or_default();
            output::list(
                &c.call(Method::GET, &format!("/hubs/{id}/members{qs}"), None)
                    .await?,
                j.json,
                &[
                    ("member", "/app_member_id"),
                    ("email", "/email"),
                    ("name", "/name"),
                    ("role", "/app_role"),
                    ("state", "/state"),
                    ("matching", "/matching"),
                    ("reason", "/exempt_reason"),
                ],
            );
        }
        HubCmd::Grants { hub, j } => {
            let id = hub_id(&c, &hub).await?;
            output::list(
                &c.call(Method::GET, &format!("/hubs/{id}/grants"), None)
                    .await?,
                j.json,
                &[
                    ("person", "/person_id"),
                    ("hub role", "/hub_role"),
                    ("app role", "/app_role"),
                    ("revoked", "/revoked"),
                    ("keep seat", "/keep_seat"),
                    ("resource roles", "/resource_roles"),
                ],
            );
        }
        HubCmd::Share {
            hub,
            person,
            app_role,
            hub_role,
            resources,
            no_resources,
        } => {
            let mut body = json!({ "app_role": app_role, "hub_role": hub_role });
            if no_resources || !resources.is_empty() {
                body["resource_roles"] = resource_roles(&resources)?;
            }
            let (id, p) = (hub_id(&c, &hub).await?, person_id(&c, &person).await?);
            let g = c
                .call(Method::PUT, &format!("/hubs/{id}/grants/{p}"), Some(&body))
                .await?;
            out!(
                "shared {hub} with {person} as {}; the bot will bring the app in line",
                g["app_role"].as_str().unwrap_or_default()
            );
        }
        HubCmd::Resources { hub, j } => {
            let id = hub_id(&c, &hub).await?;
            let detail = c.call(Method::GET, &format!("/hubs/{id}"), None).await?;
            output::list(
                &detail
                    .pointer("/last_report/resources")
                    .cloned()
                    .unwrap_or_else(|| json!([])),
                j.json,
                &[
                    ("resource", "/resource_id"),
                    ("kind", "/kind"),
                    ("name", "/name"),
                    ("roles", "/roles"),
                ],
            );
        }
        HubCmd::Revoke {
            hub,
            people,
            keep_seat,
        } => {
            let id = hub_id(&c, &hub).await?;
            let mut ids = vec![];
            for p in &people {
                ids.push(person_id(&c, p).await?);
            }
            c.call(
                Method::POST,
                &format!("/hubs/{id}/revoke"),
                Some(&json!({ "person_ids": ids, "keep_seat": keep_seat })),
            )
            .await?;
            out!(
                "revoked {} on {hub}{}",
                people.join(", "),
                if keep_seat { " (seats kept)" } else { "" }
            );
        }
        HubCmd::Match {
            hub,
            member,
            person,
        } => {
            let (id, p) = (hub_id(&c, &hub).await?, person_id(&c, &person).await?);
            c.call(
                Method::POST,
                &format!("/hubs/{id}/members/{}", q(&member)),
                Some(&json!({ "action": "match", "person_id": p })),
            )
            .await?;
            out!("matched {member} to {person}");
        }
        HubCmd::Exempt {
            hub,
            member,
            reason,
        } => {
            let id = hub_id(&c, &hub).await?;
            c.call(
                Method::POST,
                &format!("/hubs/{id}/members/{}", q(&member)),
                Some(&json!({ "action": "exempt", "reason": reason })),
            )
            .await?;
            out!("exempted {member}");
        }
        HubCmd::RemoveMember { hub, member } => {
            let id = hub_id(&c, &hub).await?;
            c.call(
                Method::POST,
                &format!("/hubs/{id}/members/{}", q(&member)),
                Some(&json!({ "action": "remove" })),
            )
            .await?;
            out!("the bot will remove {member}");
        }
        HubCmd::Roster { hub, file, j } => {
            return super::manual::roster(&c, &hub, &file, j.json).await
        }
        HubCmd::Session { hub, file } => {
            let text = if file == std::path::Path::new("-") {
                std::io::read_to_string(std::io::stdin())
                    .context("reading the cookies from stdin")?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading the cookies {}", file.display()))?
            };
            let id = hub_id(&c, &hub).await?;
            let up = c
                .call(
                    Method::PUT,
                    &format!("/hubs/{id}/session"),
                    Some(&json!({ "cookies": text })),
                )
                .await?;
            out!(
                "kept {} cookie(s) for {hub}; queued again: {}",
                up["cookies"],
                up["requeued"].as_array().map_or(0, Vec::len)
            );
        }
        HubCmd::Tasks { hub, j } => return super::manual::tasks(&c, hub.as_deref(), j.json).await,
        HubCmd::TaskDone { hub, task, j } => {
            return super::manual::task_done(&c, &hub, &task, j.json).await
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Dispatches `jobs`.
pub async fn jobs(cmd: JobsCmd, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server, None)?;
    match cmd {
        JobsCmd::List {
            hub,
            state,
            limit,
            j,
        } => {
            let mut qs = vec![format!("limit={limit}")];
            if let Some(h) = hub {
                qs.push(format!("hub_id={}", hub_id(&c, &h).await?));
            }
            if let Some(s) = state {
                qs.push(format!("state={}", q(&s)));
            }
            output::list(
                &c.call(Method::GET, &format!("/jobs?{}", qs.join("&")), None)
                    .await?,
                j.json,
                JOB_COLS,
            );
        }
        JobsCmd::Show { id, j } => output::object(
            &c.call(Method::GET, &format!("/jobs/{}", q(&id)), None)
                .await?,
            j.json,
        ),
        JobsCmd::Retry { id } => {
            c.call(Method::POST, &format!("/jobs/{}/retry", q(&id)), None)
                .await?;
            out!("queued {id} again");
        }
        JobsCmd::Steps { id, j } => output::list(
            &c.call(Method::GET, &format!("/jobs/{}/steps", q(&id)), None)
                .await?,
            j.json,
            STEP_COLS,
        ),
        JobsCmd::Screenshot { id, seq, out } => {
            let png = c
                .get_bytes(&format!("/jobs/{}/steps/{seq}/screenshot", q(&id)))
                .await?;
            std::fs::write(&out, png).with_context(|| format!("writing {}", out.display()))?;
            out!("saved step {seq}'s screenshot to {}", out.display());
        }
        JobsCmd::Cancel { id } => {
            c.call(Method::POST, &format!("/jobs/{}/cancel", q(&id)), None)
                .await?;
            out!("cancelled {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `RESOURCE=ROLE` arguments as the API's `resource_roles` (`none` for no role). Errors on an
/// argument without `=`.
fn resource_roles(args: &[String]) -> anyhow::Result<serde_json::Value> {
    let mut out = vec![];
    for a in args {
        let Some((resource, role)) = a.rsplit_once('=') else {
            anyhow::bail!("--resource takes RESOURCE=ROLE (or RESOURCE=none), not {a:?}");
        };
        let role = Some(role.trim()).filter(|r| !r.eq_ignore_ascii_case("none"));
        out.push(json!({ "resource_id": resource.trim(), "role": role }));
    }
    Ok(serde_json::Value::Array(out))
}
