//! Account recovery from the command line: `password change` and `password reset` (clients of
//! the API), `people reset-password` and `people reinvite` (called from `people`), and the
//! host-local `owner reset-password`, which opens the database directly like `castellan keys`
//! and so needs this workspace's master key file.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

use super::{read_new_password, read_password, read_stdin_line};
use crate::client::Client;
use crate::config::HostArgs;
use crate::{host, output};

/// `castellan password …`.
#[derive(Debug, Subcommand)]
pub enum PasswordCmd {
    /// Change your own password (needs the current one). Your other sessions and API tokens are
    /// signed out; the saved login stays.
    Change {
        /// Read the current password from the first line of standard input and the new one
        /// from the second, instead of prompting (the new one twice).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Choose a new password with a reset link an admin gave you (no login needed). Every
    /// session and API token of yours is signed out.
    Reset {
        /// The link, or just its token (`cst_reset_…`).
        #[arg(long, env = "CASTELLAN_RESET_TOKEN", hide_env_values = true)]
        token: String,
        /// Read the new password from the first line of standard input instead of prompting
        /// (twice).
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `castellan owner …`.
#[derive(Debug, Subcommand)]
pub enum OwnerCmd {
    /// Set the Owner's password on the host, when it is lost. Opens the database directly and
    /// refuses to run without this workspace's master key file; every session and API token of
    /// the Owner is signed out. Recorded in the activity log.
    ResetPassword(OwnerReset),
}

/// `castellan owner reset-password`.
#[derive(Debug, Args)]
pub struct OwnerReset {
    #[command(flatten)]
    host: HostArgs,
    /// Read the new password from the first line of standard input instead of prompting
    /// (twice).
    #[arg(long)]
    password_stdin: bool,
    /// Also turn off the Owner's two-step sign-in (a lost phone too).
    #[arg(long)]
    turn_off_two_step: bool,
}

/// The token in a reset link (`…/reset-password?token=cst_reset_…`), or the text itself.
fn token_of(link_or_token: &str) -> String {
    let t = link_or_token.trim();
    match t.split_once("token=") {
        Some((_, rest)) => rest.split('&').next().unwrap_or_default().to_owned(),
        None => t.to_owned(),
    }
}

/// Runs `castellan password …` against the server.
pub async fn password(cmd: PasswordCmd, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server, None)?;
    match cmd {
        PasswordCmd::Change { password_stdin } => {
            let (current, new) = if password_stdin {
                (read_stdin_line()?, read_stdin_line()?)
            } else {
                (
                    read_password(false, "Current password: ")?,
                    read_new_password(false, "New password (at least 12 characters): ")?,
                )
            };
            let r = c
                .call(
                    Method::POST,
                    "/me/password",
                    Some(&json!({ "current_password": current, "new_password": new })),
                )
                .await?;
            out!(
                "password changed; {} other session(s) and API token(s) signed out",
                r["revoked_tokens"].as_u64().unwrap_or_default()
            );
        }
        PasswordCmd::Reset {
            token,
            password_stdin,
        } => {
            let new = read_new_password(password_stdin, "New password (at least 12 characters): ")?;
            let r = c
                .call(
                    Method::POST,
                    "/auth/reset-password",
                    Some(&json!({ "reset_token": token_of(&token), "new_password": new })),
                )
                .await?;
            let email = r["email"].as_str().unwrap_or_default();
            out!("password changed: sign in with `castellan login --email {email}`");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// POSTs to `path` and prints the answer: as JSON with `json`, else the lines `say` makes of it.
async fn post_and_show(
    c: &Client,
    path: &str,
    json: bool,
    say: impl Fn(&Value) -> Vec<String>,
) -> Result<()> {
    let r = c.call(Method::POST, path, None).await?;
    if json {
        output::object(&r, true);
    } else {
        for line in say(&r) {
            out!("{line}");
        }
    }
    Ok(())
}

/// A string field of an answer, or "".
fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `castellan people reset-password PERSON`: prints the link once.
pub async fn reset_link(c: &Client, person_id: &str, json: bool) -> Result<()> {
    let server = c.server().trim_end_matches('/').to_owned();
    let path = format!("/people/{person_id}/password-reset");
    post_and_show(c, &path, json, |r| {
        vec![
            format!(
                "password reset link for {} (shown once, works once, until {}):",
                s(r, "/person/email"),
                s(r, "/expires_at")
            ),
            format!("{server}{}", s(r, "/reset_path")),
            format!(
                "or: castellan password reset --token {}",
                s(r, "/reset_token")
            ),
        ]
    })
    .await
}

/// `castellan people reinvite PERSON`: prints the new invitation token once.
pub async fn reinvite(c: &Client, person_id: &str, json: bool) -> Result<()> {
    let path = format!("/people/{person_id}/invitation");
    post_and_show(c, &path, json, |r| {
        vec![
            format!(
                "renewed the invitation of {}; the old token no longer works",
                s(r, "/person/email")
            ),
            format!(
                "invitation token (shown once, valid 7 days): {}",
                s(r, "/invitation_token")
            ),
        ]
    })
    .await
}

/// Runs `castellan owner …` on the host.
pub async fn owner(cmd: OwnerCmd) -> Result<ExitCode> {
    let OwnerCmd::ResetPassword(a) = cmd;
    let cfg = a.host.load()?;
    // Opening checks the key file against the database: no key file, another workspace's key
    // file or one readable by others, and nothing happens.
    let svc = host::open(&cfg, false).await?;
    let new = read_new_password(
        a.password_stdin,
        "New Owner password (at least 12 characters): ",
    )?;
    let (owner, revoked) = svc
        .sessions()
        .reset_owner_password(&SecretString::from(new), a.turn_off_two_step)
        .await
        .map_err(|e| anyhow::anyhow!(host::describe(&e)))?;
    out!(
        "the Owner's password was changed ({}); {revoked} session(s) and API token(s) signed out",
        owner.email
    );
    if a.turn_off_two_step {
        out!("two-step sign-in is off for the Owner");
    }
    Ok(ExitCode::SUCCESS)
}
