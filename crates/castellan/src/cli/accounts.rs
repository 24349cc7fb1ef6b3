//! Client commands for accounts and the password generator.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::admin::{vault_id, JsonFlag};
use super::read_password;
use crate::client::{q, Client};
use crate::output;

/// The query that confirms a look-alike label (`--allow-confusable`), or "".
pub fn confirm_query(allow: bool) -> &'static str {
    if allow {
        "?confirm_confusable=true"
    } else {
        ""
    }
}

/// Fields of the "Add account" form.
#[derive(Debug, Args)]
pub struct AccountFields {
    /// Keep a label that looks like another one in the vault (same letters from another
    /// script, `I` for `l`…); without it such a label is refused, naming the existing one.
    #[arg(long)]
    allow_confusable: bool,
    /// App: a catalog id or name (`slack`) or a login URL.
    #[arg(long)]
    app: Option<String>,
    /// Explicit login URL.
    #[arg(long)]
    login_url: Option<String>,
    /// Username or email.
    #[arg(long)]
    username: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with_all = ["prompt_password", "generate_password"])]
    password_stdin: bool,
    /// Prompt for the password.
    #[arg(long, conflicts_with = "generate_password")]
    prompt_password: bool,
    /// Generate a password that fits the app's rules.
    #[arg(long)]
    generate_password: bool,
    /// Setup kind: placeholder, idp_provisioned, individual, shared.
    #[arg(long)]
    setup: Option<String>,
    /// Notes (stored encrypted).
    #[arg(long)]
    notes: Option<String>,
    /// Custom field `NAME=VALUE` (repeatable).
    #[arg(long = "field", value_name = "NAME=VALUE")]
    fields: Vec<String>,
    /// Secret custom field `NAME=VALUE` (repeatable; stored encrypted). The value shows in the
    /// process list and shell history: prefer `--secret-field-file`.
    #[arg(long = "secret-field", value_name = "NAME=VALUE")]
    secret_fields: Vec<String>,
    /// Secret custom field read from a file, `NAME=PATH` (repeatable; one trailing newline is
    /// dropped), e.g. an API token: `--secret-field-file api_token=/run/secrets/token`.
    #[arg(long = "secret-field-file", value_name = "NAME=PATH")]
    secret_field_files: Vec<String>,
    /// Backup code (repeatable).
    #[arg(long = "backup-code")]
    backup_codes: Vec<String>,
}

/// `castellan accounts …`.
#[derive(Debug, Subcommand)]
pub enum AccountsCmd {
    /// List accounts you can reach.
    List {
        /// Only this vault (id or name).
        #[arg(long)]
        vault: Option<String>,
        /// Only this catalog app id.
        #[arg(long)]
        app: Option<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Search accounts by label, username, app or URL.
    Search {
        query: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Show an account (id or label); `--reveal` shows secrets and is recorded.
    Show {
        account: String,
        #[arg(long)]
        reveal: bool,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Add an account.
    Add {
        /// Account label.
        #[arg(long)]
        label: String,
        /// Vault (id or name; default: the default vault).
        #[arg(long)]
        vault: Option<String>,
        #[command(flatten)]
        f: AccountFields,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Change an account.
    Update {
        account: String,
        #[arg(long)]
        label: Option<String>,
        /// Move to this vault.
        #[arg(long)]
        vault: Option<String>,
        #[command(flatten)]
        f: AccountFields,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Delete an account.
    Delete { account: String },
    /// Direct grants on an account.
    Access {
        account: String,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Share with a person (email or id) with an item role (owner, manager, collaborator).
    Share {
        account: String,
        person: String,
        #[arg(long, default_value = "collaborator")]
        role: String,
    },
    /// Stop sharing with a person.
    Unshare { account: String, person: String },
    /// Give the account a managed email address (or show the one it has).
    Email {
        /// Account (id or label).
        account: String,
        /// Also make the address the account's username.
        #[arg(long)]
        use_as_username: bool,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Give the account a managed phone number from the workspace's pool (or show its number).
    Phone {
        /// Account (id or label).
        account: String,
        #[command(flatten)]
        j: JsonFlag,
    },
}

/// `castellan generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Length in characters (8-128).
    #[arg(long, default_value_t = 20)]
    length: usize,
    /// Leave out symbols.
    #[arg(long)]
    no_symbols: bool,
    /// Leave out digits.
    #[arg(long)]
    no_digits: bool,
    /// Leave out upper case.
    #[arg(long)]
    no_upper: bool,
    /// Leave out lower case.
    #[arg(long)]
    no_lower: bool,
    /// Only these symbols.
    #[arg(long)]
    symbols: Option<String>,
    /// Leave out look-alike characters.
    #[arg(long)]
    no_lookalikes: bool,
    /// A passphrase of words from the EFF large word list.
    #[arg(long)]
    passphrase: bool,
    /// Passphrase words (3-20).
    #[arg(long, default_value_t = 5)]
    words: usize,
    /// Passphrase separator.
    #[arg(long, default_value = "-")]
    separator: String,
    /// Follow this catalog app's password rules.
    #[arg(long)]
    app: Option<String>,
    /// Follow the password rules of this account's app (id).
    #[arg(long)]
    account: Option<String>,
    #[command(flatten)]
    j: JsonFlag,
}

const ACCOUNT_COLS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("label", "/label"),
    ("app", "/app_name"),
    ("username", "/username"),
    ("role", "/my_role"),
];

/// The id of an account given by id or label.
pub async fn account_id(c: &Client, s: &str) -> Result<String> {
    if uuid::Uuid::parse_str(s).is_ok() {
        return Ok(s.to_owned());
    }
    let found: Value = c.get(&format!("/accounts?q={}", q(s))).await?;
    let exact: Vec<&Value> = found
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| {
            a["label"]
                .as_str()
                .is_some_and(|l| l.eq_ignore_ascii_case(s))
        })
        .collect();
    match exact.as_slice() {
        [one] => Ok(one["id"].as_str().unwrap_or_default().to_owned()),
        [] => bail!("no account labelled `{s}` that you can reach"),
        _ => bail!("several accounts are labelled `{s}` (in different vaults): use the id"),
    }
}

fn split_pair(s: &str) -> Result<(String, String)> {
    s.split_once('=')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .ok_or_else(|| anyhow::anyhow!("`{s}` is not NAME=VALUE"))
}

fn fields_body(f: &AccountFields, body: &mut Map<String, Value>) -> Result<()> {
    for (k, v) in [
        ("app", &f.app),
        ("login_url", &f.login_url),
        ("username", &f.username),
        ("setup", &f.setup),
        ("notes", &f.notes),
    ] {
        if let Some(v) = v {
            body.insert(k.into(), v.clone().into());
        }
    }
    if f.password_stdin || f.prompt_password {
        body.insert(
            "password".into(),
            read_password(f.password_stdin, "Account password: ")?.into(),
        );
    }
    if f.generate_password {
        body.insert("generate_password".into(), true.into());
    }
    if !f.fields.is_empty() || !f.secret_fields.is_empty() || !f.secret_field_files.is_empty() {
        let mut list = vec![];
        for s in &f.fields {
            let (n, v) = split_pair(s)?;
            list.push(json!({"name": n, "value": v, "secret": false}));
        }
        for s in &f.secret_fields {
            let (n, v) = split_pair(s)?;
            list.push(json!({"name": n, "value": v, "secret": true}));
        }
        for s in &f.secret_field_files {
            let (n, path) = split_pair(s)?;
            let v = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("--secret-field-file {n}: cannot read {path}: {e}"))?;
            let v = v.strip_suffix('\n').unwrap_or(&v);
            let v = v.strip_suffix('\r').unwrap_or(v);
            list.push(json!({"name": n, "value": v, "secret": true}));
        }
        body.insert("custom_fields".into(), list.into());
    }
    if !f.backup_codes.is_empty() {
        body.insert("backup_codes".into(), f.backup_codes.clone().into());
    }
    Ok(())
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

/// Dispatches `accounts`.
pub async fn run(cmd: AccountsCmd, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server, None)?;
    match cmd {
        AccountsCmd::List { vault, app, j } => {
            let mut qs = vec![];
            if let Some(v) = vault {
                qs.push(format!("vault_id={}", vault_id(&c, &v).await?));
            }
            if let Some(a) = app {
                qs.push(format!("app={}", q(&a)));
            }
            let path = if qs.is_empty() {
                "/accounts".to_owned()
            } else {
                format!("/accounts?{}", qs.join("&"))
            };
            output::list(
                &c.call(Method::GET, &path, None).await?,
                j.json,
                ACCOUNT_COLS,
            );
        }
        AccountsCmd::Search { query, j } => output::list(
            &c.call(Method::GET, &format!("/accounts?q={}", q(&query)), None)
                .await?,
            j.json,
            ACCOUNT_COLS,
        ),
        AccountsCmd::Show { account, reveal, j } => {
            let id = account_id(&c, &account).await?;
            let mut v = c
                .call(Method::GET, &format!("/accounts/{id}"), None)
                .await?;
            if reveal {
                let s = c
                    .call(Method::POST, &format!("/accounts/{id}/reveal"), None)
                    .await?;
                if let (Some(o), Some(sec)) = (v.as_object_mut(), s.as_object()) {
                    for (k, val) in sec {
                        o.insert(format!("secret.{k}"), val.clone());
                    }
                }
            }
            output::object(&v, j.json);
        }
        AccountsCmd::Add { label, vault, f, j } => {
            let mut body = Map::new();
            body.insert("label".into(), label.into());
            if let Some(v) = vault {
                body.insert("vault_id".into(), vault_id(&c, &v).await?.into());
            }
            fields_body(&f, &mut body)?;
            let path = format!("/accounts{}", confirm_query(f.allow_confusable));
            output::object(
                &c.call(Method::POST, &path, Some(&Value::Object(body)))
                    .await?,
                j.json,
            );
        }
        AccountsCmd::Update {
            account,
            label,
            vault,
            f,
            j,
        } => {
            let id = account_id(&c, &account).await?;
            let mut body = Map::new();
            if let Some(l) = label {
                body.insert("label".into(), l.into());
            }
            if let Some(v) = vault {
                body.insert("vault_id".into(), vault_id(&c, &v).await?.into());
            }
            fields_body(&f, &mut body)?;
            output::object(
                &c.call(
                    Method::PATCH,
                    &format!("/accounts/{id}{}", confirm_query(f.allow_confusable)),
                    Some(&Value::Object(body)),
                )
                .await?,
                j.json,
            );
        }
        AccountsCmd::Delete { account } => {
            let id = account_id(&c, &account).await?;
            c.call(Method::DELETE, &format!("/accounts/{id}"), None)
                .await?;
            out!("deleted {account}");
        }
        AccountsCmd::Access { account, j } => {
            let id = account_id(&c, &account).await?;
            output::list(
                &c.call(Method::GET, &format!("/accounts/{id}/access"), None)
                    .await?,
                j.json,
                &[("person", "/person_id"), ("role", "/role")],
            );
        }
        AccountsCmd::Share {
            account,
            person,
            role,
        } => {
            let (id, p) = (
                account_id(&c, &account).await?,
                person_id(&c, &person).await?,
            );
            c.call(
                Method::PUT,
                &format!("/accounts/{id}/access/{p}"),
                Some(&json!({"role": role})),
            )
            .await?;
            out!("shared {account} with {person} as {role}");
        }
        AccountsCmd::Unshare { account, person } => {
            let (id, p) = (
                account_id(&c, &account).await?,
                person_id(&c, &person).await?,
            );
            c.call(Method::DELETE, &format!("/accounts/{id}/access/{p}"), None)
                .await?;
            out!("stopped sharing {account} with {person}");
        }
        AccountsCmd::Email {
            account,
            use_as_username,
            j,
        } => super::inbox::account_email(&c, &account, use_as_username, j.json).await?,
        AccountsCmd::Phone { account, j } => {
            super::inbox::account_phone(&c, &account, j.json).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `castellan generate`.
pub async fn generate(g: GenerateArgs, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server, None)?;
    let mut body = json!({
        "mode": if g.passphrase { "passphrase" } else { "password" },
        "length": g.length,
        "lower": !g.no_lower, "upper": !g.no_upper, "digits": !g.no_digits, "symbols": !g.no_symbols,
        "exclude_lookalikes": g.no_lookalikes,
        "words": g.words, "separator": g.separator,
    });
    if let Some(s) = g.symbols {
        body["symbol_set"] = s.into();
    }
    if let Some(a) = g.app {
        body["app"] = a.into();
    }
    if let Some(a) = g.account {
        body["account_id"] = account_id(&c, &a).await?.into();
    }
    let r = c.call(Method::POST, "/generate", Some(&body)).await?;
    if g.j.json {
        output::object(&r, true);
    } else {
        out!("{}", r["value"].as_str().unwrap_or_default());
        eprintln!("strength: {} bits", r["entropy_bits"]);
    }
    Ok(ExitCode::SUCCESS)
}
