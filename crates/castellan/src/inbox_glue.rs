//! The shared inbox's adapters, wired into `castellan serve`: the SMTP receiver
//! (`castellan_inbox::serve_smtp`) delivering into the service through [`CastellanSink`], the
//! SMS webhook's settings for the HTTP server, the mail domains, and the hourly retention purge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use castellan_core::service::ReceivedMessage;
use castellan_core::{Castellan, CoreError};
use castellan_inbox::{Hints, InboundMail, MailSink, SinkError, SmtpConfig};
use castellan_server::SmsWebhook;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::InboxSettings;

/// How often the retention purge runs.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

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
    limits: &crate::config::Limits,
    http_addr: std::net::SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> Result<Running> {
    let svc = svc
        .with_mail_domains(s.mail_domains.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tasks = vec![];
    let mut smtp_up = None;
    if let Some(listen) = s.smtp_listen {
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
            SmsWebhook::new(token.clone().into_secret_string(), &url)
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
