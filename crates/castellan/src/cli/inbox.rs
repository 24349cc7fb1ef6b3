//! Client commands for the shared inbox, managed addresses and the phone number pool, and the
//! host-local retention purge.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::accounts::account_id;
use super::admin::{vault_id, JsonFlag};
use crate::client::{q, Client};
use crate::config::HostArgs;
use crate::output;

/// `castellan inbox …`.
#[derive(Debug, Subcommand)]
pub enum InboxCmd {
    /// List messages of the accounts you can see, newest first (codes are not shown here).
    List {
        /// Only this account (id or label).
        #[arg(long)]
        account: Option<String>,
        /// `email` or `sms`.
        #[arg(long)]
        kind: Option<String>,
        /// Only this catalog app id.
        #[arg(long)]
        app: Option<String>,
        /// Only accounts in this vault (id or name).
        #[arg(long)]
        vault: Option<String>,
        /// Received at or after (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Received before (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Show one message with its code, link and text (recorded).
    Show {
        /// Message id.
        id: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Print the newest code (or link) received for an account, waiting for one with --wait
    /// (recorded). Exits 1 when none came.
    Code {
        /// Account (id or label).
        account: String,
        /// How long to wait for a message: `60s`, `2m` or seconds (at most 120 s).
        #[arg(long, value_name = "DURATION")]
        wait: Option<String>,
        /// Only messages received at or after this time (RFC 3339); default: the newest code
        /// that has not expired.
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Delete messages older than the retention period now (host-local: reads the database).
    Purge {
        /// Delete messages received more than this many days ago (0: every message); default
        /// the inbox retention (`inbox_retention_days`, CASTELLAN_INBOX_RETENTION_DAYS, 30).
        #[arg(long, value_name = "DAYS")]
        older_than_days: Option<u32>,
        #[command(flatten)]
        host: HostArgs,
    },
}

/// `castellan numbers …`.
#[derive(Debug, Subcommand)]
pub enum NumbersCmd {
    /// Add phone numbers (E.164, e.g. +14155550100) to the workspace's pool.
    Add {
        /// The numbers.
        #[arg(required = true)]
        numbers: Vec<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// List the pool and which account each number is assigned to.
    List {
        #[command(flatten)]
        j: JsonFlag,
    },
}

/// Parses `60s`, `2m`, `90` (seconds) into seconds.
pub fn parse_wait(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        return Ok(n.trim().parse::<u64>().map(|ms| ms.div_ceil(1000))?);
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60)
    } else {
        (t.as_str(), 1)
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("`{s}` is not a duration such as 60s or 2m"))?;
    let secs = n.saturating_mul(mult);
    if secs > 120 {
        bail!("--wait is at most 120s");
    }
    Ok(secs)
}

const COLUMNS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("received", "/received_at"),
    ("kind", "/kind"),
    ("account", "/account_label"),
    ("from", "/from"),
    ("subject", "/subject"),
    ("code", "/has_code"),
    ("link", "/has_link"),
];

/// Dispatches `inbox`.
pub async fn run(cmd: InboxCmd, server: Option<String>) -> Result<ExitCode> {
    if let InboxCmd::Purge {
        older_than_days,
        host,
    } = cmd
    {
        return purge(older_than_days, &host).await;
    }
    let c = Client::new(server, None)?;
    match cmd {
        InboxCmd::List {
            account,
            kind,
            app,
            vault,
            since,
            until,
            limit,
            j,
        } => {
            let mut qs = vec![format!("limit={limit}")];
            if let Some(a) = account {
                qs.push(format!("account_id={}", account_id(&c, &a).await?));
            }
            if let Some(v) = vault {
                qs.push(format!("vault_id={}", vault_id(&c, &v).await?));
            }
            for (k, v) in [
                ("kind", kind),
                ("app", app),
                ("since", since),
                ("until", until),
            ] {
                if let Some(v) = v {
                    qs.push(format!("{k}={}", q(&v)));
                }
            }
            let rows = c
                .call(Method::GET, &format!("/inbox?{}", qs.join("&")), None)
                .await?;
            output::list(&rows, j.json, COLUMNS);
        }
        InboxCmd::Show { id, j } => {
            let m = c
                .call(Method::GET, &format!("/inbox/{}", q(&id)), None)
                .await?;
            if j.json {
                output::object(&m, true);
            } else {
                let mut head = m.clone();
                if let Some(o) = head.as_object_mut() {
                    o.remove("text");
                }
                output::object(&head, false);
                out!();
                out!("{}", m["text"].as_str().unwrap_or_default());
            }
        }
        InboxCmd::Code {
            account,
            wait,
            since,
            j,
        } => {
            let id = account_id(&c, &account).await?;
            let wait = wait.as_deref().map(parse_wait).transpose()?.unwrap_or(0);
            let mut path = format!("/accounts/{id}/inbox/code?wait={wait}");
            if let Some(s) = since {
                path.push_str(&format!("&since={}", q(&s)));
            }
            let v = c.call(Method::GET, &path, None).await?;
            if j.json {
                output::object(&v, true);
            } else if let Some(code) = v["code"].as_str() {
                out!("{code}");
            } else {
                out!("{}", v["link"].as_str().unwrap_or_default());
            }
        }
        InboxCmd::Purge { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `castellan inbox purge`: runs the retention purge against the database.
async fn purge(older_than_days: Option<u32>, host: &HostArgs) -> Result<ExitCode> {
    let layers = host.layers(crate::config::Env::Process)?;
    let cfg = host.resolve(&layers)?;
    let days = match older_than_days {
        Some(d) => d,
        None => crate::config::retention_days(&layers, None)?,
    };
    let svc = crate::host::open(&cfg, false).await?;
    let n = svc
        .inbox_delivery()
        .purge(chrono::Duration::days(i64::from(days)))
        .await
        .map_err(|e| anyhow::anyhow!(crate::host::describe(&e)))?;
    out!("purged {n} message(s) received more than {days} day(s) ago");
    Ok(ExitCode::SUCCESS)
}

/// Dispatches `numbers`.
pub async fn numbers(cmd: NumbersCmd, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server, None)?;
    let cols: &[(&str, &str)] = &[
        ("number", "/e164"),
        ("account", "/account_id"),
        ("assigned", "/assigned_at"),
    ];
    match cmd {
        NumbersCmd::Add { numbers, j } => {
            let pool = c
                .call(
                    Method::POST,
                    "/phone-numbers",
                    Some(&json!({ "numbers": numbers })),
                )
                .await?;
            output::list(&pool, j.json, cols);
        }
        NumbersCmd::List { j } => {
            let pool = c.call(Method::GET, "/phone-numbers", None).await?;
            output::list(&pool, j.json, cols);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `castellan accounts email ACCOUNT [--use-as-username]`.
pub async fn account_email(
    c: &Client,
    account: &str,
    use_as_username: bool,
    json: bool,
) -> Result<()> {
    let id = account_id(c, account).await?;
    let v: Value = c
        .call(
            Method::POST,
            &format!("/accounts/{id}/email"),
            Some(&json!({ "use_as_username": use_as_username })),
        )
        .await?;
    if json {
        output::object(&v, true);
    } else {
        out!("{}", v["address"].as_str().unwrap_or_default());
        if use_as_username {
            eprintln!("the account's username is now this address");
        }
    }
    Ok(())
}

/// `castellan accounts phone ACCOUNT`.
pub async fn account_phone(c: &Client, account: &str, json: bool) -> Result<()> {
    let id = account_id(c, account).await?;
    let v = c
        .call(Method::POST, &format!("/accounts/{id}/phone"), None)
        .await?;
    if json {
        output::object(&v, true);
    } else {
        out!("{}", v["e164"].as_str().unwrap_or_default());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_wait;

    #[test]
    fn waits() {
        assert_eq!(parse_wait("60s").unwrap(), 60);
        assert_eq!(parse_wait("2m").unwrap(), 120);
        assert_eq!(parse_wait("45").unwrap(), 45);
        assert_eq!(parse_wait("1500ms").unwrap(), 2);
        assert!(parse_wait("3m").is_err());
        assert!(parse_wait("soon").is_err());
    }
}
