//! The shared inbox's adapters, wired into `castellan serve`: the SMTP receiver
//! (`castellan_inbox::serve_smtp`) delivering into the service through [`CastellanSink`], the
//! SMS webhook's settings for the HTTP server, the mail domains, and the hourly retention purge.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use castellan_core::service::{ReceivedMessage, DEFAULT_INBOX_RETENTION_DAYS, DEFAULT_MAIL_DOMAIN};
use castellan_core::{Castellan, CoreError};
use castellan_inbox::{Hints, InboundMail, MailSink, SinkError, SmtpConfig};
use castellan_server::SmsWebhook;
use clap::Args;
use secrecy::SecretString;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{read_file_config, secret_from_file_var};

/// Default SMTP listen address.
pub const DEFAULT_SMTP_LISTEN: &str = "127.0.0.1:2525";
/// Default largest accepted message: 10 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
/// How often the retention purge runs.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// `castellan serve` flags of the shared inbox.
#[derive(Debug, Clone, Args)]
pub struct InboxArgs {
    /// SMTP listen address for managed addresses (default 127.0.0.1:2525; port 0 picks a free
    /// port; `off` disables the receiver).
    #[arg(long, env = "CASTELLAN_SMTP_LISTEN", value_name = "ADDR")]
    smtp_listen: Option<String>,
    /// PEM certificate chain for STARTTLS (with --smtp-tls-key).
    #[arg(long, env = "CASTELLAN_SMTP_TLS_CERT", value_name = "PATH")]
    smtp_tls_cert: Option<PathBuf>,
    /// PEM private key for STARTTLS (with --smtp-tls-cert).
    #[arg(long, env = "CASTELLAN_SMTP_TLS_KEY", value_name = "PATH")]
    smtp_tls_key: Option<PathBuf>,
    /// Mail domain for managed addresses (repeatable; the first one is used for new
    /// addresses; the variable takes a comma-separated list). Default castellan.localhost.
    #[arg(
        long = "mail-domain",
        env = "CASTELLAN_MAIL_DOMAINS",
        value_name = "DOMAIN",
        value_delimiter = ','
    )]
    mail_domains: Vec<String>,
    /// Largest accepted message in bytes (default 10485760).
    #[arg(long, env = "CASTELLAN_MAX_MESSAGE_BYTES", value_name = "BYTES")]
    max_message_bytes: Option<usize>,
    /// Days the shared inbox keeps messages (default 30); older ones are purged hourly.
    #[arg(long, env = "CASTELLAN_INBOX_RETENTION_DAYS", value_name = "DAYS")]
    inbox_retention_days: Option<u32>,
    /// Auth token of the SMS provider: turns on the inbound SMS webhook
    /// (/api/v1/webhooks/sms), whose `X-Twilio-Signature` it checks. Also
    /// CASTELLAN_SMS_AUTH_TOKEN_FILE.
    #[arg(
        long,
        env = "CASTELLAN_SMS_AUTH_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    sms_auth_token: Option<String>,
    /// The public base URL the SMS provider calls (default http://<listen address>); the
    /// webhook's signature covers it.
    #[arg(long, env = "CASTELLAN_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
}

/// The resolved inbox settings.
#[derive(Debug, Clone)]
pub struct InboxSettings {
    /// Where the SMTP receiver listens; `None` when off.
    pub smtp_listen: Option<String>,
    /// STARTTLS certificate and key files.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Mail domains, the first one for new addresses.
    pub mail_domains: Vec<String>,
    /// Largest accepted message.
    pub max_message_bytes: usize,
    /// Retention in days.
    pub retention_days: u32,
    /// The SMS provider's auth token, when the webhook is on.
    pub sms_auth_token: Option<SecretString>,
    /// The public base URL, if configured.
    pub public_url: Option<String>,
}

impl InboxArgs {
    /// Flags and variables, then the config file `config`, then defaults.
    pub fn resolve(&self, config: Option<&Path>) -> Result<InboxSettings> {
        let file = read_file_config(config)?;
        let smtp_listen = self
            .smtp_listen
            .clone()
            .or(file.smtp_listen)
            .unwrap_or_else(|| DEFAULT_SMTP_LISTEN.into());
        let smtp_listen = (!smtp_listen.trim().eq_ignore_ascii_case("off"))
            .then(|| smtp_listen.trim().to_owned());
        let cert = self.smtp_tls_cert.clone().or(file.smtp_tls_cert);
        let key = self.smtp_tls_key.clone().or(file.smtp_tls_key);
        let tls = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => bail!("STARTTLS needs both --smtp-tls-cert and --smtp-tls-key"),
        };
        let mut mail_domains: Vec<String> = self
            .mail_domains
            .iter()
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty())
            .collect();
        if mail_domains.is_empty() {
            mail_domains = file.mail_domains.unwrap_or_default();
        }
        if mail_domains.is_empty() {
            mail_domains.push(DEFAULT_MAIL_DOMAIN.into());
        }
        let max_message_bytes = self
            .max_message_bytes
            .or(file.max_message_bytes)
            .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
        if max_message_bytes < 1024 {
            bail!("--max-message-bytes must be at least 1024");
        }
        let retention_days = self
            .inbox_retention_days
            .or(file.inbox_retention_days)
            .unwrap_or(DEFAULT_INBOX_RETENTION_DAYS);
        if retention_days == 0 {
            bail!("--inbox-retention-days must be at least 1");
        }
        let sms_auth_token = match self.sms_auth_token.clone() {
            Some(t) => Some(t),
            None => match secret_from_file_var("CASTELLAN_SMS_AUTH_TOKEN")? {
                Some(t) => Some(t),
                None => file.sms_auth_token,
            },
        }
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .map(SecretString::from);
        let public_url = self.public_url.clone().or(file.public_url);
        if let Some(u) = &public_url {
            let parsed = url::Url::parse(u).context("--public-url is not a URL")?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                bail!("--public-url must be an http(s) URL such as https://castellan.example.com");
            }
        }
        Ok(InboxSettings {
            smtp_listen,
            tls,
            mail_domains,
            max_message_bytes,
            retention_days,
            sms_auth_token,
            public_url,
        })
    }
}

/// What `serve` runs beside the HTTP server.
#[derive(Debug)]
pub struct Running {
    /// The service, with the mail domains set.
    pub svc: Castellan,
    /// The SMS webhook's settings for the HTTP server.
    pub sms: SmsWebhook,
    /// The SMTP receiver and the purge loop; they end when `shutdown` turns true.
    pub tasks: Vec<JoinHandle<()>>,
    /// Whether the SMTP receiver's accept loop runs (`None` when it is off), for readiness.
    pub smtp_up: Option<Arc<AtomicBool>>,
}

/// Sets the mail domains on `svc`, starts the SMTP receiver (printing `castellan smtp on ADDR`
/// on stderr) and the hourly retention purge, and builds the SMS webhook's settings (its
/// public URL defaults to `http://<http_addr>`).
pub async fn start(
    svc: Castellan,
    s: &InboxSettings,
    limits: &crate::ops::Limits,
    http_addr: std::net::SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> Result<Running> {
    let svc = svc
        .with_mail_domains(s.mail_domains.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tasks = vec![];
    let mut smtp_up = None;
    if let Some(listen) = &s.smtp_listen {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
            format!("cannot listen for SMTP on {listen} (give another --smtp-listen address, or `off`)")
        })?;
        let addr = listener.local_addr()?;
        let tls = match &s.tls {
            Some((cert, key)) => {
                let cert_pem = std::fs::read(cert)
                    .with_context(|| format!("cannot read {}", cert.display()))?;
                let key_pem =
                    std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
                Some(
                    castellan_inbox::tls_config_from_pem(&cert_pem, &key_pem)
                        .context("cannot use the SMTP TLS certificate and key")?,
                )
            }
            None => None,
        };
        let cfg = SmtpConfig {
            listen: addr,
            hostname: svc.mail_domains()[0].clone(),
            max_message_bytes: s.max_message_bytes,
            tls,
            max_sessions: limits.smtp_max_sessions,
            idle_timeout: limits.smtp_command_timeout,
            session_timeout: limits.smtp_session_timeout,
            shutdown_grace: limits.http.shutdown_drain,
            ..SmtpConfig::default()
        };
        let starttls = cfg.tls.is_some();
        let sink: Arc<dyn MailSink> = Arc::new(CastellanSink { svc: svc.clone() });
        let mut rx = shutdown.clone();
        let up = Arc::new(AtomicBool::new(true));
        smtp_up = Some(up.clone());
        tasks.push(tokio::spawn(async move {
            let stop = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            if let Err(e) = castellan_inbox::serve_smtp(listener, cfg, sink, stop).await {
                tracing::error!(error = %e, "the SMTP receiver stopped");
            }
            up.store(false, Ordering::Release);
        }));
        tracing::info!(%addr, starttls, "SMTP receiver started");
        crate::logging::notice(&format!("castellan smtp on {addr}"));
    }
    let retention = chrono::Duration::days(i64::from(s.retention_days));
    let purger = svc.clone();
    let mut rx = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            match purger.inbox_delivery().purge(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "purged old inbox messages"),
                Err(e) => tracing::warn!(error = %e, "purging the inbox failed"),
            }
            tokio::select! {
                _ = rx.wait_for(|stop| *stop) => break,
                () = tokio::time::sleep(PURGE_EVERY) => {}
            }
        }
    }));
    let sms = match &s.sms_auth_token {
        Some(token) => {
            let url = s
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{http_addr}"));
            tracing::info!(public_url = %url, "SMS webhook on at /api/v1/webhooks/sms");
            SmsWebhook::new(token.clone(), &url)
        }
        None => SmsWebhook::default(),
    };
    Ok(Running {
        svc,
        sms,
        tasks,
        smtp_up,
    })
}

/// Delivers accepted mail into the service: parses it, extracts the code or link with the
/// account's app hints, and stores it once per managed recipient.
#[derive(Debug)]
pub struct CastellanSink {
    svc: Castellan,
}

fn sink_error(e: CoreError) -> SinkError {
    match e {
        CoreError::Unavailable(d) | CoreError::Internal(d) => {
            tracing::warn!(error = %d, "storing a message failed; the client will retry");
            SinkError::Temporary("cannot store the message now".into())
        }
        other => SinkError::Permanent(other.to_string()),
    }
}

#[async_trait]
impl MailSink for CastellanSink {
    async fn accepts(&self, rcpt: &str) -> bool {
        match self.svc.inbox_delivery().accepts_recipient(rcpt).await {
            Ok(known) => known,
            Err(e) => {
                // Do not bounce on a database hiccup: accept here, and `deliver` answers 451.
                tracing::warn!(error = %e, "checking a recipient failed");
                true
            }
        }
    }

    async fn deliver(&self, msg: InboundMail) -> Result<(), SinkError> {
        let parsed = castellan_inbox::parse_mail(&msg.raw)
            .map_err(|e| SinkError::Permanent(format!("unreadable message: {e}")))?;
        let from = parsed
            .from
            .clone()
            .unwrap_or_else(|| msg.mail_from.to_lowercase());
        let mut known = 0;
        for rcpt in &msg.rcpt_to {
            let hints = match self.svc.inbox_delivery().recipient_hints(rcpt).await {
                Ok(h) => h,
                Err(CoreError::NotFound { .. }) => continue,
                Err(e) => return Err(sink_error(e)),
            };
            known += 1;
            let hints = hints.map(|h| Hints {
                senders: h.senders,
                code_pattern: h.code_pattern,
            });
            let found = castellan_inbox::extract(&parsed, hints.as_ref());
            let m = ReceivedMessage {
                to: rcpt.clone(),
                from: from.clone(),
                subject: parsed.subject.clone(),
                text: parsed.text.clone(),
                raw: Some(msg.raw.clone()),
                received_at: msg.received_at,
                message_key: msg.message_key.clone(),
                code: found.code,
                link: found.link,
                expires_in: found.expires_in,
            };
            self.svc
                .inbox_delivery()
                .receive_email(m)
                .await
                .map_err(sink_error)?;
        }
        if known == 0 {
            return Err(SinkError::Permanent(
                "no managed address among the recipients".into(),
            ));
        }
        Ok(())
    }
}
