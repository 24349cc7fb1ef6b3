//! Client commands for teams: self-managed teams, their members, and their grants on hubs.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::accounts::account_id;
use super::admin::{person_id, vault_id, JsonFlag};
use super::collections::{collection_id, SHARE_COLS};
use super::hubs::hub_id;
use crate::client::Client;
use crate::output;

/// `castellan teams …`.
#[derive(Debug, Subcommand)]
pub enum TeamsCmd {
    /// List teams (self-managed and kept by the identity provider).
    List(JsonFlag),
    /// Make a self-managed team.
    Create {
        /// Name (unique, case-insensitive).
        #[arg(long)]
        name: String,
        /// A member (email or person id); repeat for more.
        #[arg(long = "member", value_name = "PERSON")]
        members: Vec<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Show a team with its members.
    Show {
        /// Team (id or name).
        team: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Rename a self-managed team or replace its members (members left out leave the team and
    /// lose its hubs).
    Set {
        /// Team (id or name).
        team: String,
        /// New name (default: the current one).
        #[arg(long)]
        name: Option<String>,
        /// The members from now on (email or person id); repeat for more. Without it (and
        /// without --clear) the members stay as they are.
        #[arg(long = "member", value_name = "PERSON")]
        members: Vec<String>,
        /// Remove every member.
        #[arg(long, conflicts_with = "members")]
        clear: bool,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Delete a self-managed team; its members lose its hubs.
    Delete {
        /// Team (id or name).
        team: String,
    },
    /// Give a team a hub: the bot invites each member with the app role (unless a grant of
    /// their own or another team's ranks higher).
    Grant {
        /// Team (id or name).
        team: String,
        /// Hub (id or label).
        hub: String,
        /// App role (default: the hub's default role).
        #[arg(long)]
        app_role: Option<String>,
        /// Hub role: `collaborator` (default) or `manager`.
        #[arg(long)]
        hub_role: Option<String>,
    },
    /// Take a hub from a team: members no other grant keeps are removed from the app.
    Revoke {
        /// Team (id or name).
        team: String,
        /// Hub (id or label).
        hub: String,
    },
    /// Share a vault, a collection or an account with a team: each member, while a member,
    /// uses every account it reaches with the item role (unless another grant ranks higher).
    Share {
        /// Team (id or name).
        team: String,
        #[command(flatten)]
        target: ShareTarget,
        /// `collaborator` (default), `manager` or `owner`.
        #[arg(long, default_value = "collaborator")]
        role: String,
    },
    /// Take a vault, a collection or an account from a team.
    Unshare {
        /// Team (id or name).
        team: String,
        #[command(flatten)]
        target: ShareTarget,
    },
    /// The vaults, collections and accounts a team holds.
    Shares {
        /// Team (id or name).
        team: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// The hubs a team holds.
    Hubs {
        /// Team (id or name).
        team: String,
        #[command(flatten)]
        j: JsonFlag,
    },
}

/// What a team share reaches: exactly one of a vault, a collection or an account.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ShareTarget {
    /// A vault (id or name).
    #[arg(long)]
    vault: Option<String>,
    /// A collection (id or name).
    #[arg(long)]
    collection: Option<String>,
    /// An account (id or label).
    #[arg(long)]
    account: Option<String>,
}

impl ShareTarget {
    /// `(kind, id)` for the API path.
    async fn resolve(&self, c: &Client) -> Result<(&'static str, String)> {
        Ok(match (&self.vault, &self.collection, &self.account) {
            (Some(v), _, _) => ("vault", vault_id(c, v).await?),
            (_, Some(x), _) => ("collection", collection_id(c, x).await?),
            (_, _, Some(a)) => ("account", account_id(c, a).await?),
            _ => anyhow::bail!("give --vault, --collection or --account"),
        })
    }
}

const TEAM_COLS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("name", "/name"),
    ("kind", "/kind"),
    ("external id", "/external_id"),
    ("updated", "/updated_at"),
];

const GRANT_COLS: &[(&str, &str)] = &[
    ("hub", "/hub_id"),
    ("hub role", "/hub_role"),
    ("app role", "/app_role"),
    ("updated", "/updated_at"),
];

/// A team's id from its id or name (case-insensitive).
async fn team_id(c: &Client, s: &str) -> Result<String> {
    super::id_by(c, "/teams", "name", s, format!("no team named `{s}`")).await
}

async fn member_ids(c: &Client, members: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(members.len());
    for m in members {
        ids.push(person_id(c, m).await?);
    }
    Ok(ids)
}

/// Dispatches `teams`.
pub async fn run(cmd: TeamsCmd, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server, None)?;
    match cmd {
        TeamsCmd::List(j) => output::list(
            &c.call(Method::GET, "/teams", None).await?,
            j.json,
            TEAM_COLS,
        ),
        TeamsCmd::Create { name, members, j } => {
            let body = json!({ "name": name, "members": member_ids(&c, &members).await? });
            output::object(&c.call(Method::POST, "/teams", Some(&body)).await?, j.json);
        }
        TeamsCmd::Show { team, j } => {
            let id = team_id(&c, &team).await?;
            output::object(
                &c.call(Method::GET, &format!("/teams/{id}"), None).await?,
                j.json,
            );
        }
        TeamsCmd::Set {
            team,
            name,
            members,
            clear,
            j,
        } => {
            let id = team_id(&c, &team).await?;
            let current = c.call(Method::GET, &format!("/teams/{id}"), None).await?;
            let name =
                name.unwrap_or_else(|| current["name"].as_str().unwrap_or_default().to_owned());
            let members = if clear || !members.is_empty() {
                json!(member_ids(&c, &members).await?)
            } else {
                current["members"].clone()
            };
            let body = json!({ "name": name, "members": members });
            output::object(
                &c.call(Method::PUT, &format!("/teams/{id}"), Some(&body))
                    .await?,
                j.json,
            );
        }
        TeamsCmd::Delete { team } => {
            let id = team_id(&c, &team).await?;
            c.call(Method::DELETE, &format!("/teams/{id}"), None)
                .await?;
        }
        TeamsCmd::Grant {
            team,
            hub,
            app_role,
            hub_role,
        } => {
            let (t, h) = (team_id(&c, &team).await?, hub_id(&c, &hub).await?);
            let body = json!({ "app_role": app_role, "hub_role": hub_role });
            c.call(Method::PUT, &format!("/hubs/{h}/teams/{t}"), Some(&body))
                .await?;
        }
        TeamsCmd::Revoke { team, hub } => {
            let (t, h) = (team_id(&c, &team).await?, hub_id(&c, &hub).await?);
            c.call(Method::DELETE, &format!("/hubs/{h}/teams/{t}"), None)
                .await?;
        }
        TeamsCmd::Share { team, target, role } => {
            let t = team_id(&c, &team).await?;
            let (kind, id) = target.resolve(&c).await?;
            let body = json!({ "role": role });
            c.call(
                Method::PUT,
                &format!("/teams/{t}/shares/{kind}/{id}"),
                Some(&body),
            )
            .await?;
        }
        TeamsCmd::Unshare { team, target } => {
            let t = team_id(&c, &team).await?;
            let (kind, id) = target.resolve(&c).await?;
            c.call(
                Method::DELETE,
                &format!("/teams/{t}/shares/{kind}/{id}"),
                None,
            )
            .await?;
        }
        TeamsCmd::Shares { team, j } => {
            let id = team_id(&c, &team).await?;
            output::list(
                &c.call(Method::GET, &format!("/teams/{id}/shares"), None)
                    .await?,
                j.json,
                SHARE_COLS,
            );
        }
        TeamsCmd::Hubs { team, j } => {
            let id = team_id(&c, &team).await?;
            output::list(
                &c.call(Method::GET, &format!("/teams/{id}/grants"), None)
                    .await?,
                j.json,
                GRANT_COLS,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
