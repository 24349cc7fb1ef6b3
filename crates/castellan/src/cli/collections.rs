//! Client commands for collections (named sets of accounts shared together) and their shares
//! with people; `castellan teams share` gives them to teams.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::accounts::account_id;
use super::admin::{person_id, JsonFlag};
use crate::client::Client;
use crate::output;

/// `castellan collections …`.
#[derive(Debug, Subcommand)]
pub enum CollectionsCmd {
    /// List the collections you can see.
    List(JsonFlag),
    /// Make a collection.
    Create {
        /// Name (unique, case-insensitive).
        #[arg(long)]
        name: String,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        /// An account (id or label); repeat for more.
        #[arg(long = "account", value_name = "ACCOUNT")]
        accounts: Vec<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Show a collection with its accounts.
    Show {
        /// Collection (id or name).
        collection: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Rename a collection, change its description or replace its accounts (accounts left out
    /// leave it: whoever reached them only through it loses them).
    Set {
        /// Collection (id or name).
        collection: String,
        /// New name (default: the current one).
        #[arg(long)]
        name: Option<String>,
        /// New description (default: the current one; empty removes it).
        #[arg(long)]
        description: Option<String>,
        /// The accounts from now on (id or label); repeat for more. Without it (and without
        /// --clear) the accounts stay as they are.
        #[arg(long = "account", value_name = "ACCOUNT")]
        accounts: Vec<String>,
        /// Remove every account.
        #[arg(long, conflicts_with = "accounts")]
        clear: bool,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Delete a collection and its shares (the accounts stay).
    Delete {
        /// Collection (id or name).
        collection: String,
    },
    /// Share a collection with a person with an item role.
    Share {
        /// Collection (id or name).
        collection: String,
        /// Person (email or id).
        person: String,
        /// `collaborator` (default), `manager` or `owner`.
        #[arg(long, default_value = "collaborator")]
        role: String,
    },
    /// Take a collection from a person.
    Unshare {
        /// Collection (id or name).
        collection: String,
        /// Person (email or id).
        person: String,
    },
    /// Who holds a collection: people and teams.
    Shares {
        /// Collection (id or name).
        collection: String,
        #[command(flatten)]
        j: JsonFlag,
    },
}

const COLLECTION_COLS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("name", "/name"),
    ("description", "/description"),
    ("updated", "/updated_at"),
];

/// Columns of a share list.
pub(super) const SHARE_COLS: &[(&str, &str)] = &[
    ("grantee", "/grantee_kind"),
    ("grantee id", "/grantee_id"),
    ("target", "/target_kind"),
    ("target id", "/target_id"),
    ("role", "/role"),
    ("updated", "/updated_at"),
];

/// A collection's id from its id or name (case-insensitive).
pub(super) async fn collection_id(c: &Client, s: &str) -> Result<String> {
    let missing = format!("no collection named `{s}`");
    super::id_by(c, "/collections", "name", s, missing).await
}

async fn account_ids(c: &Client, accounts: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(accounts.len());
    for a in accounts {
        ids.push(account_id(c, a).await?);
    }
    Ok(ids)
}

/// Dispatches `collections`.
pub async fn run(cmd: CollectionsCmd, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server, None)?;
    match cmd {
        CollectionsCmd::List(j) => output::list(
            &c.call(Method::GET, "/collections", None).await?,
            j.json,
            COLLECTION_COLS,
        ),
        CollectionsCmd::Create {
            name,
            description,
            accounts,
            j,
        } => {
            let body = json!({
                "name": name,
                "description": description,
                "accounts": account_ids(&c, &accounts).await?,
            });
            output::object(
                &c.call(Method::POST, "/collections", Some(&body)).await?,
                j.json,
            );
        }
        CollectionsCmd::Show { collection, j } => {
            let id = collection_id(&c, &collection).await?;
            output::object(
                &c.call(Method::GET, &format!("/collections/{id}"), None)
                    .await?,
                j.json,
            );
        }
        CollectionsCmd::Set {
            collection,
            name,
            description,
            accounts,
            clear,
            j,
        } => {
            let id = collection_id(&c, &collection).await?;
            let current = c
                .call(Method::GET, &format!("/collections/{id}"), None)
                .await?;
            let name = name.unwrap_or_else(|| current["name"].as_str().unwrap_or("").to_owned());
            let description = match description {
                Some(d) => json!(d),
                None => current["description"].clone(),
            };
            let accounts = if clear || !accounts.is_empty() {
                json!(account_ids(&c, &accounts).await?)
            } else {
                current["accounts"].clone()
            };
            let body = json!({
                "name": name,
                "description": description,
                "accounts": accounts,
                "version": current["version"],
            });
            output::object(
                &c.call(Method::PUT, &format!("/collections/{id}"), Some(&body))
                    .await?,
                j.json,
            );
        }
        CollectionsCmd::Delete { collection } => {
            let id = collection_id(&c, &collection).await?;
            c.call(Method::DELETE, &format!("/collections/{id}"), None)
                .await?;
        }
        CollectionsCmd::Share {
            collection,
            person,
            role,
        } => {
            let id = collection_id(&c, &collection).await?;
            let p = person_id(&c, &person).await?;
            let body = json!({ "role": role });
            c.call(
                Method::PUT,
                &format!("/collections/{id}/access/{p}"),
                Some(&body),
            )
            .await?;
        }
        CollectionsCmd::Unshare { collection, person } => {
            let id = collection_id(&c, &collection).await?;
            let p = person_id(&c, &person).await?;
            c.call(
                Method::DELETE,
                &format!("/collections/{id}/access/{p}"),
                None,
            )
            .await?;
        }
        CollectionsCmd::Shares { collection, j } => {
            let id = collection_id(&c, &collection).await?;
            output::list(
                &c.call(Method::GET, &format!("/collections/{id}/shares"), None)
                    .await?,
                j.json,
                SHARE_COLS,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
