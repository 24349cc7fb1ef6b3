//! DATA (RFC 5321 section 4.1.1.4): reading the text, limits, and handing it to the sink.

use std::io;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Flow, Session, Transaction};
use crate::smtp::conn::Line;
use crate::smtp::{InboundMail, SinkError};

/// How long a sink may take to store one message before the client gets 451.
const DELIVER_TIMEOUT: Duration = Duration::from_secs(60);

impl Session {
    pub(super) async fn data(&mut self) -> io::Result<Flow> {
        match &self.tx {
            None => return self.error("503 5.5.1 Error: need MAIL command").await,
            Some(tx) if tx.rcpts.is_empty() => {
                if self.reader.has_buffered() {
                    return self.pipelining_abuse().await;
                }
                return self.error("503 5.5.1 Error: need RCPT command").await;
            }
            Some(_) => {}
        }
        // RFC 2920 section 3.1: DATA ends a pipelined group; text sent before our 354 means a
        // client that does not wait for replies, and reading on would desynchronize us.
        if self.reader.has_buffered() {
            return self.pipelining_abuse().await;
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>").await?;
        let max = self.cfg.max_message_bytes;
        let hard_cap = max.saturating_mul(2).saturating_add(1 << 20);
        let (mut raw, mut total) = (Vec::new(), 0usize);
        let (mut oversize, mut long_line, mut after_crlf) = (false, false, true);
        loop {
            let line = match self.next_line().await? {
                None | Some(Line::Eof) => return Ok(Flow::Close),
                Some(Line::TooLong(n)) => {
                    (long_line, after_crlf, total) = (true, true, total.saturating_add(n));
                    raw = Vec::new();
                    continue;
                }
                Some(Line::Complete(line)) => line,
            };
            total = total.saturating_add(line.len());
            // Only <CRLF>.<CRLF> ends the text: a bare LF before the dot does not (SMTP smuggling).
            if after_crlf && line == b".\r\n" {
                break;
            }
            after_crlf = line.ends_with(b"\r\n");
            let text = line.strip_prefix(b".").unwrap_or(&line);
            if !oversize && !long_line {
                if raw.len() + text.len() > max {
                    oversize = true;
                    raw = Vec::new();
                } else {
                    raw.extend_from_slice(text);
                }
            }
            if total > hard_cap {
                self.reply("552 5.3.4 Error: message far over the size limit, closing")
                    .await?;
                return Ok(Flow::Close);
            }
        }
        let rcpt_count = self.tx.as_ref().map_or(0, |t| t.rcpts.len());
        let Some(tx) = self.tx.take() else {
            return Ok(Flow::Continue);
        };
        if long_line {
            tracing::info!(
                id = self.id,
                bytes = total,
                "SMTP message refused: line too long"
            );
            let text = format!(
                "500 5.5.2 Error: line longer than {} bytes, message refused",
                self.cfg.max_line_bytes
            );
            return self.error(&text).await;
        }
        if oversize {
            tracing::info!(
                id = self.id,
                bytes = total,
                "SMTP message refused: over the size limit"
            );
            return self
                .error("552 5.3.4 Error: message size exceeds fixed maximum message size")
                .await;
        }
        let raw = if self.cfg.check_mime {
            let checked = tokio::task::spawn_blocking(move || {
                let verdict = crate::mime::check_structure(&raw);
                (raw, verdict)
            })
            .await;
            match checked {
                Ok((raw, Ok(()))) => raw,
                Ok((_, Err(e))) => {
                    tracing::info!(id = self.id, bytes = total, reason = %e, "SMTP message refused: MIME structure");
                    let text = format!("554 5.6.0 Error: message structure refused: {e}");
                    return self.error(&text).await;
                }
                Err(_) => {
                    return self
                        .reply("451 4.3.0 Error: temporary failure")
                        .await
                        .map(|()| Flow::Continue)
                }
            }
        } else {
            raw
        };
        let mail = self.build_mail(tx, raw);
        let key = mail.message_key.clone();
        let bytes = mail.raw.len();
        let outcome = tokio::time::timeout(DELIVER_TIMEOUT, self.sink.deliver(mail)).await;
        let text = match outcome {
            Ok(Ok(())) => {
                tracing::info!(id = self.id, bytes, rcpts = rcpt_count, message_key = %key, "SMTP message accepted");
                format!("250 2.0.0 Ok: queued as {}", &key[..16])
            }
            Ok(Err(SinkError::Permanent(_))) => {
                tracing::warn!(id = self.id, message_key = %key, "SMTP sink refused a message");
                "554 5.3.0 Error: message refused".to_owned()
            }
            Ok(Err(SinkError::Temporary(_))) | Err(_) => {
                tracing::warn!(id = self.id, message_key = %key, "SMTP sink failed to store a message");
                "451 4.3.0 Error: temporary failure, try again later".to_owned()
            }
        };
        self.reply(&text).await.map(|()| Flow::Continue)
    }

    async fn pipelining_abuse(&mut self) -> io::Result<Flow> {
        tracing::info!(id = self.id, "SMTP client pipelined past DATA");
        self.reply("554 5.5.0 Error: improper command pipelining after DATA, closing")
            .await?;
        Ok(Flow::Close)
    }

    fn build_mail(&self, tx: Transaction, raw: Vec<u8>) -> InboundMail {
        let mut hash = Sha256::new();
        hash.update(&raw);
        for rcpt in &tx.rcpts {
            hash.update(b"\n");
            hash.update(rcpt.as_bytes());
        }
        let message_key = hex::encode(hash.finalize());
        let received_at = chrono::Utc::now();
        let trace = format!(
            "Received: from {} ([{}])\r\n\tby {} with {} id {};\r\n\t{}\r\n",
            self.helo.as_deref().unwrap_or("unknown"),
            self.peer.ip(),
            self.cfg.hostname,
            if self.tls { "ESMTPS" } else { "ESMTP" },
            &message_key[..16],
            received_at.to_rfc2822()
        );
        let mut with_trace = Vec::with_capacity(trace.len() + raw.len());
        with_trace.extend_from_slice(trace.as_bytes());
        with_trace.extend_from_slice(&raw);
        InboundMail {
            mail_from: tx.mail_from,
            rcpt_to: tx.rcpts,
            raw: with_trace,
            received_at,
            peer: self.peer,
            message_key,
        }
    }
}
