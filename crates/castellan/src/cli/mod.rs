//! Command-line definitions and dispatch.

mod accounts;
mod admin;
mod collections;
mod hubs;
mod inbox;
mod manual;
mod recovery;
mod serve;
mod teams;
mod totp;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Castellan: takes over the apps your identity provider cannot manage.
#[derive(Debug, Parser)]
#[command(name = "castellan", version, about, propagate_version = true)]
pub struct Cli {
    /// Server URL for client commands (default http://127.0.0.1:8460 or the saved login).
    #[arg(long, global = true, env = "CASTELLAN_SERVER", value_name = "URL")]
    pub server: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creates the workspace on first start and prints the setup token).
    #[command(after_help = crate::config::AFTER_HELP)]
    Serve(Box<serve::ServeArgs>),
    /// Create the workspace without serving (non-interactive, for scripts).
    #[command(after_help = crate::config::AFTER_HELP)]
    Init(serve::InitArgs),
    /// Master key administration (host-local).
    #[command(subcommand)]
    Keys(serve::KeysCmd),
    /// Claim a new workspace as its Owner with the setup token, and save the login.
    Claim(admin::ClaimArgs),
    /// Sign in and save an API token for later commands.
    Login(admin::LoginArgs),
    /// Forget the saved login (revoke the token itself with `castellan tokens revoke ID`).
    Logout,
    /// Show the signed-in person.
    Whoami(admin::JsonFlag),
    /// Accept an invitation and set your password.
    AcceptInvitation(admin::AcceptArgs),
    /// Your password: change it, or set a new one with a reset link from an admin.
    #[command(subcommand)]
    Password(recovery::PasswordCmd),
    /// The Owner's recovery on the host (needs the master key file).
    #[command(subcommand)]
    Owner(recovery::OwnerCmd),
    /// People and workspace roles.
    #[command(subcommand)]
    People(admin::PeopleCmd),
    /// Teams: self-managed and kept by the identity provider, and the hubs they hold.
    #[command(subcommand)]
    Teams(teams::TeamsCmd),
    /// Collections: named sets of accounts shared together, and who holds them.
    #[command(subcommand)]
    Collections(collections::CollectionsCmd),
    /// Personal API tokens.
    #[command(subcommand)]
    Tokens(admin::TokensCmd),
    /// Vaults and access to them.
    #[command(subcommand)]
    Vaults(admin::VaultsCmd),
    /// The app catalog.
    #[command(subcommand)]
    Apps(admin::AppsCmd),
    /// Accounts (items).
    #[command(subcommand)]
    Accounts(accounts::AccountsCmd),
    /// Generate a strong password or passphrase.
    Generate(accounts::GenerateArgs),
    /// The activity log.
    #[command(subcommand)]
    Activity(admin::ActivityCmd),
    /// Business hubs: connect apps and keep their members in line.
    #[command(subcommand)]
    Hub(hubs::HubCmd),
    /// The automation log (the bot's jobs).
    #[command(subcommand)]
    Jobs(hubs::JobsCmd),
    /// 2FA managed by Castellan: each account's authenticator.
    #[command(subcommand)]
    Totp(totp::TotpCmd),
    /// Run bot workers without the HTTP server (for more capacity on PostgreSQL).
    #[command(after_help = crate::config::AFTER_HELP)]
    Worker(serve::WorkerArgs),
    /// The shared inbox: emails and SMS received for managed addresses and numbers, and codes.
    #[command(subcommand)]
    Inbox(inbox::InboxCmd),
    /// The workspace's pool of managed phone numbers.
    #[command(subcommand)]
    Numbers(inbox::NumbersCmd),
}

/// The command line as the derive builds it, before [`crate::config::annotate_help`].
pub fn command_without_annotations() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Parses the process's arguments; `--help` names each setting's variable and config key.
/// Exits with clap's message on a usage error.
pub fn parse() -> Cli {
    let mut matches = crate::config::annotate_help(command_without_annotations()).get_matches();
    match <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    }
}

/// Runs a parsed command line. Returns the process exit code.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let server = cli.server.clone();
    match cli.command {
        Command::Serve(a) => serve::serve(*a).await,
        Command::Init(a) => serve::init(a).await,
        Command::Keys(k) => serve::keys(k).await,
        Command::Owner(o) => recovery::owner(o).await,
        Command::Password(p) => recovery::password(p, server).await,
        Command::Accounts(c) => accounts::run(c, server).await,
        Command::Generate(g) => accounts::generate(g, server).await,
        Command::Hub(h) => hubs::hub(h, server).await,
        Command::Jobs(j) => hubs::jobs(j, server).await,
        Command::Worker(w) => serve::worker(w).await,
        Command::Totp(t) => totp::run(t, server).await,
        Command::Teams(t) => teams::run(t, server).await,
        Command::Collections(c) => collections::run(c, server).await,
        Command::Inbox(i) => inbox::run(i, server).await,
        Command::Numbers(n) => inbox::numbers(n, server).await,
        other => admin::run(other, server).await,
    }
}

/// The id of the item of `list_path` (a JSON array of objects with `id`) whose `field`
/// equals `s` case-insensitively, or `s` itself when it is a UUID. The error is `missing`.
pub(crate) async fn id_by(
    c: &crate::client::Client,
    list_path: &str,
    field: &str,
    s: &str,
    missing: String,
) -> Result<String> {
    if uuid::Uuid::parse_str(s).is_ok() {
        return Ok(s.to_owned());
    }
    let all: serde_json::Value = c.get(list_path).await?;
    all.as_array()
        .into_iter()
        .flatten()
        .find(|x| x[field].as_str().is_some_and(|n| n.eq_ignore_ascii_case(s)))
        .and_then(|x| x["id"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!(missing))
}

/// Reads one line from standard input (for `--password-stdin`), without the newline.
pub fn read_stdin_line() -> Result<String> {
    let mut s = String::new();
    std::io::stdin().read_line(&mut s)?;
    Ok(s.trim_end_matches(['\n', '\r']).to_owned())
}

/// A new password: the first line of stdin (`from_stdin`, no confirmation), or typed twice at
/// a prompt (refused when the two differ, before anything is sent).
pub fn read_new_password(from_stdin: bool, prompt: &str) -> Result<String> {
    if from_stdin {
        return read_stdin_line();
    }
    let first = rpassword::prompt_password(prompt)?;
    let again = rpassword::prompt_password("Type it again: ")?;
    if first != again {
        anyhow::bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

/// A password from stdin (`from_stdin`) or an interactive prompt.
pub fn read_password(from_stdin: bool, prompt: &str) -> Result<String> {
    if from_stdin {
        read_stdin_line()
    } else {
        Ok(rpassword::prompt_password(prompt)?)
    }
}
