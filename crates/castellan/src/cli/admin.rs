//! Client commands for setup, sign-in, people, tokens, vaults, the catalog and the activity log.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use super::{read_new_password, read_password, Command};
use crate::client::{forget_credentials, q, save_credentials, Client, Credentials};
use crate::config::HostArgs;
use crate::output;

/// `--json` alone.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `castellan claim`.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// The setup token printed at first start.
    #[arg(long, env = "CASTELLAN_SETUP_TOKEN", hide_env_values = true)]
    setup_token: String,
    /// Your email.
    #[arg(long)]
    email: String,
    /// Your name.
    #[arg(long)]
    name: String,
    /// Read the password from the first line of standard input instead of prompting (twice).
    #[arg(long)]
    password_stdin: bool,
}

/// `castellan login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Your email.
    #[arg(long)]
    email: String,
    /// Read the password from standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Token lifetime in days (1-365).
    #[arg(long, default_value_t = 30)]
    days: u32,
}

/// `castellan accept-invitation`.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// Your email.
    #[arg(long)]
    email: String,
    /// The invitation token.
    #[arg(long, env = "CASTELLAN_INVITATION_TOKEN", hide_env_values = true)]
    invitation_token: String,
    /// Read the new password from standard input.
    #[arg(long)]
    password_stdin: bool,
}

/// `castellan people …`.
#[derive(Debug, Subcommand)]
pub enum PeopleCmd {
    /// List people.
    List(JsonFlag),
    /// Show one person (id or email).
    Show {
        person: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Invite a person; prints the invitation token once.
    Invite {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// owner is not allowed here (use transfer-ownership): super_admin, admin, user, login_only, guest.
        #[arg(long, default_value = "user")]
        role: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Change a person's role, name or status.
    Update {
        person: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// active or deactivated.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Deactivate a person (their tokens are revoked).
    Deactivate { person: String },
    /// Issue a single-use password reset link for a person (shown once, works for 60 minutes);
    /// admins reset the roles they manage.
    ResetPassword {
        person: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Renew an invitation that was not accepted: a new token (shown once, valid 7 days); the
    /// old one stops working.
    Reinvite {
        person: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Make another person the Owner; you become super_admin.
    TransferOwnership { person: String },
}

/// `castellan tokens …`.
#[derive(Debug, Subcommand)]
pub enum TokensCmd {
    /// List your tokens.
    List(JsonFlag),
    /// Create a token (shown once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Revoke a token by id.
    Revoke { id: String },
}

/// `castellan vaults …`.
#[derive(Debug, Subcommand)]
pub enum VaultsCmd {
    /// List vaults you can reach.
    List(JsonFlag),
    /// Show a vault (id or name).
    Show {
        vault: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Create a cloud vault.
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// Keep a name that looks like another vault's (refused otherwise).
        #[arg(long)]
        allow_confusable: bool,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Who can reach a vault.
    Access {
        vault: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Give a person access with an item role (owner, manager, collaborator).
    Grant {
        vault: String,
        person: String,
        #[arg(long, default_value = "collaborator")]
        role: String,
    },
    /// Take a person's access away.
    Revoke { vault: String, person: String },
}

/// `castellan apps …`.
#[derive(Debug, Subcommand)]
pub enum AppsCmd {
    /// List catalog apps.
    List(JsonFlag),
    /// Show one app (id or name).
    Show {
        app: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Add a custom app from a JSON file (same fields as the API).
    Add {
        file: std::path::PathBuf,
        #[command(flatten)]
        j: JsonFlag,
    },
}

/// `castellan activity …`.
#[derive(Debug, Subcommand)]
pub enum ActivityCmd {
    /// List events, newest first.
    List {
        /// Action or prefix (e.g. `account.` or `account.reveal`).
        #[arg(long)]
        action: Option<String>,
        /// Actor person id.
        #[arg(long)]
        actor: Option<String>,
        /// Target id.
        #[arg(long)]
        target: Option<String>,
        /// RFC 3339 lower bound.
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 upper bound.
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Export events as CSV to standard output.
    Export {
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
    },
    /// Verify the hash chain; exits 1 when it is broken.
    Verify {
        /// Read the database directly instead of asking the server.
        #[arg(long)]
        local: bool,
        #[command(flatten)]
        host: HostArgs,
        #[command(flatten)]
        j: JsonFlag,
    },
}

pub(super) async fn person_id(c: &Client, s: &str) -> Result<String> {
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

/// The id of a vault given by id or name.
pub async fn vault_id(c: &Client, s: &str) -> Result<String> {
    let missing = format!("no vault named `{s}` that you can reach");
    super::id_by(c, "/vaults", "name", s, missing).await
}

const PEOPLE_COLS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("email", "/email"),
    ("name", "/name"),
    ("role", "/role"),
    ("status", "/status"),
];
const VAULT_COLS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("name", "/name"),
    ("kind", "/kind"),
    ("default", "/is_default"),
];

/// Dispatches the admin commands.
pub async fn run(cmd: Command, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server.clone(), None)?;
    match cmd {
        Command::Claim(a) => {
            let pw = read_new_password(
                a.password_stdin,
                "Owner password (at least 12 characters): ",
            )?;
            let r = c.call(Method::POST, "/setup/claim", Some(&json!({"setup_token": a.setup_token, "email": a.email, "name": a.name, "password": pw}))).await?;
            let path = save_credentials(&Credentials {
                server: c.server().to_owned(),
                token: r["token"].as_str().unwrap_or_default().to_owned(),
                token_id: r["token_id"].as_str().map(str::to_owned),
            })?;
            out!(
                "claimed the workspace as {}; login saved to {}",
                r["person"]["email"].as_str().unwrap_or_default(),
                path.display()
            );
        }
        Command::Login(a) => {
            let pw = read_password(a.password_stdin, "Password: ")?;
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "cli".into());
            let r = c.call(Method::POST, "/auth/sign-in", Some(&json!({"email": a.email, "password": pw, "token_name": format!("cli on {host}"), "expires_in_days": a.days}))).await?;
            let path = save_credentials(&Credentials {
                server: c.server().to_owned(),
                token: r["token"].as_str().unwrap_or_default().to_owned(),
                token_id: r["token_id"].as_str().map(str::to_owned),
            })?;
            out!(
                "signed in as {}; token saved to {}",
                r["person"]["email"].as_str().unwrap_or_default(),
                path.display()
            );
        }
        Command::Logout => {
            // Revoke the saved token on the server first, then forget it here; a token the
            // server no longer knows (expired, revoked elsewhere) is forgotten all the same.
            let saved = crate::client::load_credentials().ok().flatten();
            let revoked = match saved.as_ref().and_then(|s| s.token_id.clone()) {
                Some(id) => match c.call(Method::DELETE, &format!("/tokens/{id}"), None).await {
                    Ok(_) => true,
                    Err(e) => {
                        eprintln!("castellan: could not revoke the token on the server: {e:#}");
                        false
                    }
                },
                None => false,
            };
            forget_credentials()?;
            if revoked {
                out!("signed out: the token was revoked on the server and forgotten here");
            } else {
                out!(
                    "forgot the saved login; the token was not revoked on the server (revoke it with `castellan tokens revoke`)"
                );
            }
        }
        Command::Whoami(j) => output::object(&c.call(Method::GET, "/me", None).await?, j.json),
        Command::AcceptInvitation(a) => {
            let pw =
                read_new_password(a.password_stdin, "New password (at least 12 characters): ")?;
            let r = c.call(Method::POST, "/auth/accept-invitation", Some(&json!({"email": a.email, "invitation_token": a.invitation_token, "password": pw}))).await?;
            out!(
                "welcome, {}: sign in with `castellan login --email {}`",
                r["name"].as_str().unwrap_or_default(),
                a.email
            );
        }
        Command::People(p) => people(&c, p).await?,
        Command::Tokens(t) => tokens(&c, t).await?,
        Command::Vaults(v) => vaults(&c, v).await?,
        Command::Apps(a) => apps(&c, a).await?,
        Command::Activity(a) => return activity(&c, a).await,
        _ => bail!("unexpected command"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn people(c: &Client, cmd: PeopleCmd) -> Result<()> {
    match cmd {
        PeopleCmd::List(j) => output::list(
            &c.call(Method::GET, "/people", None).await?,
            j.json,
            PEOPLE_COLS,
        ),
        PeopleCmd::Show { person, j } => {
            let id = person_id(c, &person).await?;
            output::object(
                &c.call(Method::GET, &format!("/people/{id}"), None).await?,
                j.json,
            );
        }
        PeopleCmd::Invite {
            email,
            name,
            role,
            j,
        } => {
            let r = c
                .call(
                    Method::POST,
                    "/people",
                    Some(&json!({"email": email, "name": name, "role": role})),
                )
                .await?;
            if j.json {
                output::object(&r, true);
            } else {
                out!("invited {} as {}", email, role);
                out!(
                    "invitation token (shown once, valid 7 days): {}",
                    r["invitation_token"].as_str().unwrap_or_default()
                );
            }
        }
        PeopleCmd::Update {
            person,
            role,
            name,
            status,
            j,
        } => {
            let id = person_id(c, &person).await?;
            let mut body = serde_json::Map::new();
            if let Some(r) = role {
                body.insert("role".into(), r.into());
            }
            if let Some(n) = name {
                body.insert("name".into(), n.into());
            }
            if let Some(s) = status {
                body.insert("status".into(), s.into());
            }
            output::object(
                &c.call(
                    Method::PATCH,
                    &format!("/people/{id}"),
                    Some(&Value::Object(body)),
                )
                .await?,
                j.json,
            );
        }
        PeopleCmd::ResetPassword { person, j } => {
            let id = person_id(c, &person).await?;
            super::recovery::reset_link(c, &id, j.json).await?;
        }
        PeopleCmd::Reinvite { person, j } => {
            let id = person_id(c, &person).await?;
            super::recovery::reinvite(c, &id, j.json).await?;
        }
        PeopleCmd::Deactivate { person } => {
            let id = person_id(c, &person).await?;
            c.call(
                Method::PATCH,
                &format!("/people/{id}"),
                Some(&json!({"status": "deactivated"})),
            )
            .await?;
            out!("deactivated {person}");
        }
        PeopleCmd::TransferOwnership { person } => {
            let id = person_id(c, &person).await?;
            c.call(
                Method::POST,
                &format!("/people/{id}/transfer-ownership"),
                None,
            )
            .await?;
            out!("{person} is now the owner; you are a super_admin");
        }
    }
    Ok(())
}

async fn tokens(c: &Client, cmd: TokensCmd) -> Result<()> {
    match cmd {
        TokensCmd::List(j) => output::list(
            &c.call(Method::GET, "/tokens", None).await?,
            j.json,
            &[
                ("id", "/id"),
                ("name", "/name"),
                ("expires", "/expires_at"),
                ("last used", "/last_used_at"),
                ("revoked", "/revoked_at"),
            ],
        ),
        TokensCmd::Create { name, days, j } => {
            let r = c
                .call(
                    Method::POST,
                    "/tokens",
                    Some(&json!({"name": name, "expires_in_days": days})),
                )
                .await?;
            if j.json {
                output::object(&r, true)
            } else {
                out!("{}", r["secret"].as_str().unwrap_or_default())
            }
        }
        TokensCmd::Revoke { id } => {
            c.call(Method::DELETE, &format!("/tokens/{id}"), None)
                .await?;
            out!("revoked {id}");
        }
    }
    Ok(())
}

async fn vaults(c: &Client, cmd: VaultsCmd) -> Result<()> {
    match cmd {
        VaultsCmd::List(j) => output::list(
            &c.call(Method::GET, "/vaults", None).await?,
            j.json,
            VAULT_COLS,
        ),
        VaultsCmd::Show { vault, j } => {
            let id = vault_id(c, &vault).await?;
            output::object(
                &c.call(Method::GET, &format!("/vaults/{id}"), None).await?,
                j.json,
            );
        }
        VaultsCmd::Create {
            name,
            description,
            allow_confusable,
            j,
        } => output::object(
            &c.call(
                Method::POST,
                &format!(
                    "/vaults{}",
                    super::accounts::confirm_query(allow_confusable)
                ),
                Some(&json!({"name": name, "description": description})),
            )
            .await?,
            j.json,
        ),
        VaultsCmd::Access { vault, j } => {
            let id = vault_id(c, &vault).await?;
            output::list(
                &c.call(Method::GET, &format!("/vaults/{id}/access"), None)
                    .await?,
                j.json,
                &[("person", "/person_id"), ("role", "/role")],
            );
        }
        VaultsCmd::Grant {
            vault,
            person,
            role,
        } => {
            let (v, p) = (vault_id(c, &vault).await?, person_id(c, &person).await?);
            c.call(
                Method::PUT,
                &format!("/vaults/{v}/access/{p}"),
                Some(&json!({"role": role})),
            )
            .await?;
            out!("granted {person} {role} on {vault}");
        }
        VaultsCmd::Revoke { vault, person } => {
            let (v, p) = (vault_id(c, &vault).await?, person_id(c, &person).await?);
            c.call(Method::DELETE, &format!("/vaults/{v}/access/{p}"), None)
                .await?;
            out!("revoked {person}'s access to {vault}");
        }
    }
    Ok(())
}

async fn apps(c: &Client, cmd: AppsCmd) -> Result<()> {
    match cmd {
        AppsCmd::List(j) => output::list(
            &c.call(Method::GET, "/apps", None).await?,
            j.json,
            &[
                ("id", "/id"),
                ("name", "/name"),
                ("saml sso", "/saml_sso"),
                ("connector", "/connector"),
                ("category", "/category"),
            ],
        ),
        AppsCmd::Show { app, j } => output::object(
            &c.call(Method::GET, &format!("/apps/{}", q(&app)), None)
                .await?,
            j.json,
        ),
        AppsCmd::Add { file, j } => {
            let text = std::fs::read_to_string(&file)?;
            let body: Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not valid JSON: {e}", file.display()))?;
            output::object(&c.call(Method::POST, "/apps", Some(&body)).await?, j.json);
        }
    }
    Ok(())
}

fn activity_query(pairs: &[(&str, &Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", q(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

async fn activity(c: &Client, cmd: ActivityCmd) -> Result<ExitCode> {
    match cmd {
        ActivityCmd::List {
            action,
            actor,
            target,
            since,
            until,
            limit,
            j,
        } => {
            let mut qs = activity_query(&[
                ("action", &action),
                ("actor_id", &actor),
                ("target_id", &target),
                ("since", &since),
                ("until", &until),
            ]);
            qs.push_str(if qs.is_empty() { "?" } else { "&" });
            qs.push_str(&format!("limit={limit}"));
            output::list(
                &c.call(Method::GET, &format!("/activity{qs}"), None).await?,
                j.json,
                &[
                    ("seq", "/seq"),
                    ("at", "/at"),
                    ("actor", "/actor_name"),
                    ("action", "/action"),
                    ("target", "/target_label"),
                    ("ip", "/source_ip"),
                ],
            );
        }
        ActivityCmd::Export {
            action,
            since,
            until,
        } => {
            let qs = activity_query(&[("action", &action), ("since", &since), ("until", &until)]);
            print!(
                "{}",
                c.get_text(&format!("/activity/export.csv{qs}")).await?
            );
        }
        ActivityCmd::Verify { local, host, j } => {
            let report: Value = if local {
                let cfg = host.load()?;
                let svc = crate::host::open(&cfg, false).await?;
                // Host-local: whoever holds the data dir acts as the system (an owner).
                let system = castellan_core::activity::Actor::system("castellan activity verify");
                serde_json::to_value(
                    svc.activity()
                        .verify(
                            &system
                                .permit()
                                .map_err(|e| anyhow::anyhow!(e.to_string()))?,
                        )
                        .await
                        .map_err(|e| anyhow::anyhow!(crate::host::describe(&e)))?,
                )?
            } else {
                c.call(Method::GET, "/activity/verify", None).await?
            };
            let intact = report["intact"].as_bool().unwrap_or(false);
            if j.json {
                output::object(&report, true);
            } else if intact {
                out!("activity log intact: {} events verified", report["checked"]);
            } else {
                out!("ACTIVITY LOG BROKEN: {} events checked", report["checked"]);
                for p in report["problems"].as_array().into_iter().flatten() {
                    out!(
                        "  event #{}: {}",
                        p["seq"],
                        p["problem"].as_str().unwrap_or_default()
                    );
                }
            }
            return Ok(if intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}
