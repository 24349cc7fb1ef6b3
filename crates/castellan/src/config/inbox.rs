//! The shared inbox's settings (`serve`): the SMTP receiver, the mail domains, retention and
//! the SMS webhook.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{bail, Result};
use castellan_core::service::{DEFAULT_INBOX_RETENTION_DAYS, DEFAULT_MAIL_DOMAIN};
use clap::Args;

use super::keys::{
    INBOX_RETENTION_DAYS, MAIL_DOMAINS, MAX_MESSAGE_BYTES, PUBLIC_URL, SMS_AUTH_TOKEN, SMTP_LISTEN,
    SMTP_TLS_CERT, SMTP_TLS_KEY,
};
use super::{Layers, Secret};

/// Default SMTP listen address.
pub const DEFAULT_SMTP_LISTEN: &str = "127.0.0.1:2525";
/// Default largest accepted message: 10 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
/// The largest message size an operator may allow: 1 GiB (the receiver holds a message in
/// memory).
const MAX_MESSAGE_BYTES_LIMIT: usize = 1 << 30;
/// The longest retention: ten years.
const MAX_RETENTION_DAYS: u32 = 3650;

/// `castellan serve` flags of the shared inbox.
#[derive(Debug, Clone, Default, Args)]
pub struct InboxArgs {
    /// SMTP listen address for managed addresses, IP and port (default 127.0.0.1:2525; port 0
    /// picks a free port; `off` disables the receiver).
    #[arg(long, value_name = "ADDR")]
    smtp_listen: Option<SmtpListen>,
    /// PEM certificate chain for STARTTLS (with --smtp-tls-key).
    #[arg(long, value_name = "PATH")]
    smtp_tls_cert: Option<PathBuf>,
    /// PEM private key for STARTTLS (with --smtp-tls-cert).
    #[arg(long, value_name = "PATH")]
    smtp_tls_key: Option<PathBuf>,
    /// Mail domain for managed addresses (repeatable; the first one is used for new
    /// addresses; the variable takes a comma-separated list, the file a list). Default
    /// castellan.localhost.
    #[arg(long = "mail-domain", value_name = "DOMAIN", value_delimiter = ',')]
    mail_domains: Vec<String>,
    /// Largest accepted message in bytes, 1024 to 1073741824; default 10485760.
    #[arg(long, value_name = "BYTES")]
    max_message_bytes: Option<usize>,
    /// Days the shared inbox keeps messages, 1 to 3650; default 30. Older ones are purged
    /// hourly.
    #[arg(long, value_name = "DAYS")]
    inbox_retention_days: Option<u32>,
    /// Auth token of the SMS provider: turns on the inbound SMS webhook
    /// (/api/v1/webhooks/sms), whose `X-Twilio-Signature` it checks.
    #[arg(long, value_name = "TOKEN")]
    sms_auth_token: Option<Secret>,
    /// The server's public base URL: the SMS provider calls it (default http://<listen
    /// address>; the webhook's signature covers it), and OAuth 2.0 redirect URIs are built on
    /// it (default: the request's Host).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

/// The SMTP receiver's address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpListen {
    /// No receiver.
    Off,
    /// Listen here.
    At(SocketAddr),
}

impl FromStr for SmtpListen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        s.trim()
            .parse()
            .map(Self::At)
            .map_err(|_| "give an IP address and port such as 127.0.0.1:2525, or `off`".to_owned())
    }
}

/// The resolved inbox settings.
#[derive(Debug, Clone)]
pub struct InboxSettings {
    /// Where the SMTP receiver listens; `None` when off.
    pub smtp_listen: Option<SocketAddr>,
    /// STARTTLS certificate and key files.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Mail domains, the first one for new addresses (never empty).
    pub mail_domains: Vec<String>,
    /// Largest accepted message, in bytes.
    pub max_message_bytes: usize,
    /// Retention in days.
    pub retention_days: u32,
    /// The SMS provider's auth token, when the webhook is on.
    pub sms_auth_token: Option<Secret>,
    /// The public base URL (an http or https URL with a host), if configured.
    pub public_url: Option<String>,
}

/// The inbox retention in days (1 to 3650, default 30) from `layers`, with `flag`
/// (`--inbox-retention-days`) first. Errors name the value's origin.
pub fn retention_days(layers: &Layers, flag: Option<u32>) -> Result<u32> {
    layers
        .get_or(&INBOX_RETENTION_DAYS, flag, DEFAULT_INBOX_RETENTION_DAYS)?
        .within(1, MAX_RETENTION_DAYS, " days")
}

impl InboxArgs {
    /// Resolves the flags over `layers`. Errors: a value does not parse or is out of bounds,
    /// only one of the STARTTLS files is given, or the public URL is not an http(s) URL; each
    /// names where the value came from.
    pub fn resolve(&self, layers: &Layers) -> Result<InboxSettings> {
        let smtp_listen = match layers.get(&SMTP_LISTEN, self.smtp_listen)? {
            Some(s) => s.value,
            None => SmtpListen::At(DEFAULT_SMTP_LISTEN.parse().expect("a socket address")),
        };
        let cert = layers.get(&SMTP_TLS_CERT, self.smtp_tls_cert.clone())?;
        let key = layers.get(&SMTP_TLS_KEY, self.smtp_tls_key.clone())?;
        let tls = match (cert, key) {
            (Some(c), Some(k)) => Some((c.value, k.value)),
            (None, None) => None,
            (Some(one), None) | (None, Some(one)) => bail!(
                "STARTTLS needs both a certificate and a key (smtp_tls_cert and smtp_tls_key), \
                 but only {} is set",
                one.origin
            ),
        };
        let mail_domains = layers
            .get_list(&MAIL_DOMAINS, &self.mail_domains)?
            .map_or_else(|| vec![DEFAULT_MAIL_DOMAIN.to_owned()], |d| d.value);
        let max_message_bytes = layers
            .get_or(
                &MAX_MESSAGE_BYTES,
                self.max_message_bytes,
                DEFAULT_MAX_MESSAGE_BYTES,
            )?
            .within(1024, MAX_MESSAGE_BYTES_LIMIT, " bytes")?;
        let sms_auth_token = layers
            .get(&SMS_AUTH_TOKEN, self.sms_auth_token.clone())?
            .map(|t| t.value.expose().trim().to_owned())
            .filter(|t| !t.is_empty())
            .map(Secret::from);
        let public_url = match layers.get::<String>(&PUBLIC_URL, self.public_url.clone())? {
            Some(u) => {
                let ok = url::Url::parse(&u.value).is_ok_and(|p| {
                    matches!(p.scheme(), "http" | "https") && p.host_str().is_some()
                });
                if !ok {
                    bail!(
                        "{} must be an http(s) URL such as https://castellan.example.com, not `{}`",
                        u.origin,
                        u.value
                    );
                }
                Some(u.value)
            }
            None => None,
        };
        Ok(InboxSettings {
            smtp_listen: match smtp_listen {
                SmtpListen::Off => None,
                SmtpListen::At(a) => Some(a),
            },
            tls,
            mail_domains,
            max_message_bytes,
            retention_days: retention_days(layers, self.inbox_retention_days)?,
            sms_auth_token,
            public_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_layers;

    fn resolve(args: &InboxArgs, file: &str, env: &[(&str, &str)]) -> Result<InboxSettings> {
        args.resolve(&test_layers(file, env)?)
    }

    #[test]
    fn defaults_and_off() {
        let d = resolve(&InboxArgs::default(), "", &[]).unwrap();
        assert_eq!(d.smtp_listen, Some("127.0.0.1:2525".parse().unwrap()));
        assert_eq!(d.mail_domains, [DEFAULT_MAIL_DOMAIN]);
        assert_eq!(d.retention_days, 30);
        assert!(d.sms_auth_token.is_none() && d.tls.is_none());
        let off = resolve(&InboxArgs::default(), "smtp_listen = \"OFF\"", &[]).unwrap();
        assert_eq!(off.smtp_listen, None);
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let refused = |file: &str, env: &[(&str, &str)], expected: &str| {
            let e = resolve(&InboxArgs::default(), file, env).unwrap_err();
            assert!(e.to_string().contains(expected), "{e}");
        };
        refused(
            "smtp_listen = \"mail:25\"",
            &[],
            "`smtp_listen` in c.toml: `mail:25` is not valid",
        );
        refused(
            "smtp_tls_cert = \"c.pem\"",
            &[],
            "only `smtp_tls_cert` in c.toml is set",
        );
        refused(
            "",
            &[("CASTELLAN_PUBLIC_URL", "ftp://x")],
            "CASTELLAN_PUBLIC_URL must be an http(s) URL",
        );
        refused(
            "max_message_bytes = 10",
            &[],
            "must be between 1024 and 1073741824 bytes, not 10",
        );
        refused(
            "inbox_retention_days = 0",
            &[],
            "`inbox_retention_days` in c.toml must be between 1 and 3650 days, not 0",
        );
    }

    #[test]
    fn an_empty_sms_token_leaves_the_webhook_off() {
        let on = resolve(&InboxArgs::default(), "sms_auth_token = \" t0k \"", &[]).unwrap();
        assert_eq!(on.sms_auth_token.unwrap().expose(), "t0k");
        let flags = InboxArgs {
            sms_auth_token: Some("  ".parse().unwrap()),
            ..InboxArgs::default()
        };
        assert!(resolve(&flags, "", &[]).unwrap().sms_auth_token.is_none());
    }
}
