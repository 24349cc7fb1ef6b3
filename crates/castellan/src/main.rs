//! `castellan`: the server (`serve`), host-local administration (`init`, `keys`) and the CLI
//! client of the REST API (every other subcommand).
#![forbid(unsafe_code)]

#[macro_use]
mod output;
mod cli;
mod client;
mod config;
mod host;
mod inbox_glue;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
