//! Client commands for 2FA managed by Castellan.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use base64::Engine;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::accounts::account_id;
use super::admin::{vault_id, JsonFlag};
use super::read_stdin_line;
use crate::client::Client;
use crate::output;

/// `castellan totp …`.
#[derive(Debug, Subcommand)]
pub enum TotpCmd {
    /// Turn on 2FA for an account: a secret or an otpauth:// URI from standard input, or a QR image.
    Add {
        /// Account (id or label).
        account: String,
        /// Read a base32 secret from standard input.
        #[arg(long, conflicts_with_all = ["uri_stdin", "qr"])]
        secret_stdin: bool,
        /// Read an otpauth:// URI from standard input.
        #[arg(long, conflicts_with = "qr")]
        uri_stdin: bool,
        /// A PNG or JPEG image of the QR code.
        #[arg(long, value_name = "FILE")]
        qr: Option<std::path::PathBuf>,
        /// With --secret-stdin: sha1, sha256 or sha512.
        #[arg(long)]
        algorithm: Option<String>,
        /// With --secret-stdin: 6 to 10 digits.
        #[arg(long)]
        digits: Option<u32>,
        /// With --secret-stdin: the time step in seconds.
        #[arg(long)]
        period: Option<u64>,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Show the current code and the seconds remaining (recorded).
    Show {
        account: String,
        /// Keep showing codes until interrupted.
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        j: JsonFlag,
    },
    /// Check a code typed back from the app (each code is accepted once).
    Verify { account: String, code: String },
    /// Export the secret as an otpauth URI (and a QR PNG with --qr). Recorded.
    Export {
        account: String,
        /// Write the QR code PNG here.
        #[arg(long, value_name = "FILE")]
        qr: Option<std::path::PathBuf>,
    },
    /// Turn 2FA off for an account.
    Remove { account: String },
    /// Import a Google Authenticator export (otpauth-migration:// from stdin, or its QR image).
    Import {
        /// The export's QR image.
        #[arg(long, value_name = "FILE")]
        qr: Option<std::path::PathBuf>,
        /// Vault for the new accounts.
        #[arg(long)]
        vault: Option<String>,
        #[command(flatten)]
        j: JsonFlag,
    },
}

fn image_b64(path: &std::path::Path) -> Result<String> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Dispatches `totp`.
pub async fn run(cmd: TotpCmd, server: Option<String>) -> Result<ExitCode> {
    let c = Client::new(server, None)?;
    match cmd {
        TotpCmd::Add {
            account,
            secret_stdin,
            uri_stdin,
            qr,
            algorithm,
            digits,
            period,
            j,
        } => {
            let id = account_id(&c, &account).await?;
            let mut body = json!({});
            if secret_stdin {
                body["secret"] = read_stdin_line()?.into();
                if let Some(a) = algorithm {
                    body["algorithm"] = a.into();
                }
                if let Some(d) = digits {
                    body["digits"] = d.into();
                }
                if let Some(p) = period {
                    body["period"] = p.into();
                }
            } else if uri_stdin {
                body["uri"] = read_stdin_line()?.into();
            } else if let Some(path) = qr {
                body["qr_image_base64"] = image_b64(&path)?.into();
            } else {
                bail!("give --secret-stdin, --uri-stdin or --qr FILE");
            }
            let v = c
                .call(Method::PUT, &format!("/accounts/{id}/totp"), Some(&body))
                .await?;
            for w in v["warnings"].as_array().into_iter().flatten() {
                eprintln!("warning: {}", w.as_str().unwrap_or_default());
            }
            output::object(&v, j.json);
        }
        TotpCmd::Show { account, watch, j } => {
            let id = account_id(&c, &account).await?;
            loop {
                let v = c
                    .call(Method::GET, &format!("/accounts/{id}/totp/code"), None)
                    .await?;
                if j.json {
                    output::object(&v, true);
                } else {
                    out!(
                        "{}  ({}s left)",
                        v["code"].as_str().unwrap_or_default(),
                        v["seconds_remaining"]
                    );
                }
                if !watch {
                    break;
                }
                let wait = v["seconds_remaining"].as_u64().unwrap_or(30).max(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
        }
        TotpCmd::Verify { account, code } => {
            let id = account_id(&c, &account).await?;
            let v: Value = c
                .call(
                    Method::POST,
                    &format!("/accounts/{id}/totp/verify"),
                    Some(&json!({ "code": code })),
                )
                .await?;
            if v["valid"] == true {
                out!("valid");
            } else {
                out!("refused: {}", v["reason"].as_str().unwrap_or("invalid"));
                return Ok(ExitCode::FAILURE);
            }
        }
        TotpCmd::Export { account, qr } => {
            let id = account_id(&c, &account).await?;
            let v = c
                .call(Method::GET, &format!("/accounts/{id}/totp/export"), None)
                .await?;
            out!("{}", v["uri"].as_str().unwrap_or_default());
            if let Some(path) = qr {
                let png = base64::engine::general_purpose::STANDARD
                    .decode(v["qr_png_base64"].as_str().unwrap_or_default())?;
                std::fs::write(&path, png)?;
                eprintln!("wrote {}", path.display());
            }
        }
        TotpCmd::Remove { account } => {
            let id = account_id(&c, &account).await?;
            c.call(Method::DELETE, &format!("/accounts/{id}/totp"), None)
                .await?;
            out!("2FA removed from {account}");
        }
        TotpCmd::Import { qr, vault, j } => {
            let mut body = json!({});
            match qr {
                Some(path) => body["qr_image_base64"] = image_b64(&path)?.into(),
                None => body["uri"] = read_stdin_line()?.into(),
            }
            if let Some(v) = vault {
                body["vault_id"] = vault_id(&c, &v).await?.into();
            }
            let r = c
                .call(Method::POST, "/accounts/import-migration", Some(&body))
                .await?;
            if j.json {
                output::object(&r, true);
            } else {
                for a in r.as_array().into_iter().flatten() {
                    out!(
                        "imported {}",
                        a["account"]["label"].as_str().unwrap_or_default()
                    );
                    for w in a["warnings"].as_array().into_iter().flatten() {
                        eprintln!("  warning: {}", w.as_str().unwrap_or_default());
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
