//! Client commands of manual hubs (issue 12, point 5): upload a hub's roster, list the app
//! admin's tasks (a hub's, or one's own), mark a task done. `castellan hub connect --connector
//! manual --setting app_admin=EMAIL …` connects one.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::Value;

use crate::client::{q, Client};
use crate::output;

/// Columns of a task list.
const TASK_COLS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("task", "/kind"),
    ("email", "/email"),
    ("member", "/app_member_id"),
    ("role", "/role"),
    ("state", "/state"),
    ("overdue", "/overdue"),
    ("due", "/due_at"),
    ("app admin", "/assignee_email"),
];

/// A hub's id from its id or label. The app admin of a manual hub may not list hubs: their
/// own tasks name the hubs they work on.
async fn hub_id(c: &Client, s: &str) -> Result<String> {
    if uuid::Uuid::parse_str(s).is_ok() {
        return Ok(s.to_owned());
    }
    if let Ok(id) = super::hubs::hub_id(c, s).await {
        return Ok(id);
    }
    let mine = c.call(Method::GET, "/tasks", None).await?;
    mine.as_array()
        .into_iter()
        .flatten()
        .find(|t| {
            t["hub_label"]
                .as_str()
                .is_some_and(|l| l.eq_ignore_ascii_case(s))
        })
        .and_then(|t| t["hub_id"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("no hub labelled `{s}`"))
}

/// `castellan hub roster HUB FILE`: replaces a manual hub's roster with a CSV file (`-` reads
/// standard input).
pub async fn roster(c: &Client, hub: &str, file: &Path, json: bool) -> Result<ExitCode> {
    let csv = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading the roster from stdin")?
    } else {
        std::fs::read_to_string(file)
            .with_context(|| format!("reading the roster {}", file.display()))?
    };
    let id = hub_id(c, hub).await?;
    let up = c
        .call_raw(
            Method::PUT,
            &format!("/hubs/{id}/roster"),
            "text/csv",
            csv.into_bytes(),
        )
        .await?;
    if json {
        output::object(&up, true);
    } else {
        let verified = up["verified"].as_array().map_or(0, Vec::len);
        out!(
            "uploaded a roster of {} member(s) to {hub}; {verified} task(s) verified; checking for updates (job {})",
            up["members"],
            up["job"]["id"].as_str().unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `castellan hub tasks [HUB]`: a manual hub's tasks, or without HUB one's own as app admin.
pub async fn tasks(c: &Client, hub: Option<&str>, json: bool) -> Result<ExitCode> {
    let rows: Value = match hub {
        Some(h) => {
            let id = hub_id(c, h).await?;
            c.call(Method::GET, &format!("/hubs/{id}/tasks"), None)
                .await?
        }
        None => c.call(Method::GET, "/tasks", None).await?,
    };
    let mut cols = TASK_COLS.to_vec();
    if hub.is_none() {
        cols.insert(1, ("hub", "/hub_label"));
    }
    output::list(&rows, json, &cols);
    Ok(ExitCode::SUCCESS)
}

/// `castellan hub task-done HUB TASK_ID`: marks a task done.
pub async fn task_done(c: &Client, hub: &str, task: &str, json: bool) -> Result<ExitCode> {
    let id = hub_id(c, hub).await?;
    let t = c
        .call(
            Method::POST,
            &format!("/hubs/{id}/tasks/{}/done", q(task)),
            None,
        )
        .await?;
    if json {
        output::object(&t, true);
    } else {
        out!(
            "marked the task to {} {} done; the next roster upload verifies it",
            t["kind"].as_str().unwrap_or_default().replace('_', " "),
            t["email"].as_str().unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
