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
mod logging;
mod ops;

fn main() -> std::process::ExitCode {
    let args = cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            logging::fatal(&format!("cannot start the runtime: {e}"));
            return std::process::ExitCode::FAILURE;
        }
    };
    let code = match rt.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(e) => {
            logging::fatal(&format!("{e:#}"));
            std::process::ExitCode::FAILURE
        }
    };
    // Blocking work still queued (a password hash) gets a moment, not a say in when we exit.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    code
}
