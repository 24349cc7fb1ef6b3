//! One SMTP session: the RFC 5321 state machine over a [`Conn`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::{Error as ParseError, Request};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

mod data;

use super::conn::{Conn, Line, LineReader};
use super::{MailSink, SmtpConfig};

/// How long a sink may take to say whether it knows a recipient.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether the session goes on after a reply.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// The mail transaction opened by MAIL FROM (RFC 5321 section 3.3).
#[derive(Debug)]
struct Transaction {
    mail_from: String,
    rcpts: Vec<String>,
}

pub(super) struct Session {
    id: u64,
    peer: SocketAddr,
    cfg: Arc<SmtpConfig>,
    sink: Arc<dyn MailSink>,
    acceptor: Option<TlsAcceptor>,
    stop: watch::Receiver<bool>,
    conn: Conn,
    reader: LineReader,
    helo: Option<String>,
    tx: Option<Transaction>,
    tls: bool,
    errors: usize,
    deadline: Instant,
}

impl Session {
    pub(super) fn new(
        id: u64,
        peer: SocketAddr,
        cfg: Arc<SmtpConfig>,
        sink: Arc<dyn MailSink>,
        acceptor: Option<TlsAcceptor>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let deadline = Instant::now() + cfg.session_timeout;
        Self {
            id,
            peer,
            cfg,
            sink,
            acceptor,
            stop,
            conn: Conn::Closed,
            reader: LineReader::default(),
            helo: None,
            tx: None,
            tls: false,
            errors: 0,
            deadline,
        }
    }

    /// Runs the session to its end; errors are logged, never propagated.
    pub(super) async fn run(self, stream: TcpStream) {
        if !self.cfg.greet_pause.is_zero() {
            let mut probe = [0u8; 1];
            match tokio::time::timeout(self.cfg.greet_pause, stream.peek(&mut probe)).await {
                Err(_) => {}
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(_)) => {
                    tracing::info!(id = self.id, peer = %self.peer, "SMTP client talked before the greeting");
                    let mut stream = stream;
                    let _ = stream
                        .write_all(b"554 5.5.1 Error: talking before the greeting\r\n")
                        .await;
                    let _ = stream.shutdown().await;
                    return;
                }
            }
        }
        self.run_on(Conn::Plain(stream)).await;
    }

    /// Runs the session over `conn` from the greeting on; errors are logged, never propagated.
    pub(super) async fn run_on(mut self, conn: Conn) {
        self.conn = conn;
        let result = self.serve().await;
        if let Err(e) = &result {
            tracing::debug!(id = self.id, error = %e, "SMTP session ended with an I/O error");
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.conn.shutdown()).await;
        tracing::debug!(id = self.id, errors = self.errors, "SMTP session closed");
    }

    async fn serve(&mut self) -> io::Result<()> {
        let greeting = format!("220 {} ESMTP Castellan", self.cfg.hostname);
        self.reply(&greeting).await?;
        loop {
            let stop = stopped(self.stop.clone());
            let line = tokio::select! {
                line = self.next_line() => line?,
                () = stop => {
                    self.reply("421 4.3.2 Service shutting down").await?;
                    return Ok(());
                }
            };
            let flow = match line {
                None => return Ok(()),
                Some(Line::Eof) => return Ok(()),
                Some(Line::TooLong(_)) => self.error("500 5.5.2 Error: line too long").await?,
                Some(Line::Complete(line)) => self.command(&line).await?,
            };
            if flow == Flow::Close {
                return Ok(());
            }
        }
    }

    /// The next line, or `None` after a timeout (the 421 reply is already sent).
    async fn next_line(&mut self) -> io::Result<Option<Line>> {
        let idle_end = Instant::now() + self.cfg.idle_timeout;
        let until = idle_end.min(self.deadline);
        let read = self
            .reader
            .read_line(&mut self.conn, self.cfg.max_line_bytes);
        match tokio::time::timeout_at(until, read).await {
            Ok(line) => line.map(Some),
            Err(_) => {
                tracing::debug!(id = self.id, "SMTP session timed out");
                self.reply("421 4.4.2 Timeout, closing connection").await?;
                Ok(None)
            }
        }
    }

    async fn reply(&mut self, text: &str) -> io::Result<()> {
        self.conn.write_all(text.as_bytes()).await?;
        self.conn.write_all(b"\r\n").await?;
        self.conn.flush().await
    }

    /// Sends an error reply and counts it; past the limit the session ends with 421.
    async fn error(&mut self, text: &str) -> io::Result<Flow> {
        self.errors += 1;
        self.reply(text).await?;
        if self.errors >= self.cfg.max_errors {
            tracing::info!(
                id = self.id,
                errors = self.errors,
                "SMTP session: too many errors"
            );
            self.reply("421 4.7.0 Too many errors, closing connection")
                .await?;
            return Ok(Flow::Close);
        }
        Ok(Flow::Continue)
    }

    async fn command(&mut self, line: &[u8]) -> io::Result<Flow> {
        let request = match Request::parse(&mut line.iter()) {
            Ok(request) => request,
            Err(e) => return self.error(&parse_error_reply(&e)).await,
        };
        match request {
            Request::Ehlo { host } => self.hello(host, true).await,
            Request::Helo { host } => self.hello(host, false).await,
            Request::Mail { from } => {
                if self.helo.is_none() {
                    return self.error("503 5.5.1 Error: send HELO/EHLO first").await;
                }
                if self.tx.is_some() {
                    return self.error("503 5.5.1 Error: nested MAIL command").await;
                }
                if from.size > self.cfg.max_message_bytes {
                    return self
                        .error("552 5.3.4 Error: message size exceeds fixed maximum message size")
                        .await;
                }
                self.tx = Some(Transaction {
                    mail_from: from.address,
                    rcpts: Vec::new(),
                });
                self.reply("250 2.1.0 Ok").await.map(|()| Flow::Continue)
            }
            Request::Rcpt { to } => self.rcpt(to.address).await,
            Request::Data => self.data().await,
            Request::Rset => {
                self.tx = None;
                self.reply("250 2.0.0 Ok").await.map(|()| Flow::Continue)
            }
            Request::Noop { .. } => self.reply("250 2.0.0 Ok").await.map(|()| Flow::Continue),
            Request::Quit => {
                self.reply("221 2.0.0 Bye").await?;
                Ok(Flow::Close)
            }
            Request::Vrfy { .. } => self
                .reply("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery")
                .await
                .map(|()| Flow::Continue),
            Request::Help { .. } => self
                .reply("214 2.0.0 See RFC 5321")
                .await
                .map(|()| Flow::Continue),
            Request::StartTls => self.starttls().await,
            Request::Expn { .. }
            | Request::Auth { .. }
            | Request::Bdat { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. }
            | Request::Lhlo { .. } => self.error("502 5.5.1 Error: command not implemented").await,
        }
    }

    async fn hello(&mut self, host: String, extended: bool) -> io::Result<Flow> {
        let host = sanitize_host(&host);
        self.helo = Some(if host.is_empty() {
            "unknown".to_owned()
        } else {
            host
        });
        self.tx = None;
        let name = &self.cfg.hostname;
        if !extended {
            let text = format!("250 {name}");
            return self.reply(&text).await.map(|()| Flow::Continue);
        }
        let mut lines = vec![
            name.clone(),
            format!("SIZE {}", self.cfg.max_message_bytes),
            "8BITMIME".to_owned(),
            "PIPELINING".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.acceptor.is_some() && !self.tls {
            lines.push("STARTTLS".to_owned());
        }
        let last = lines.len() - 1;
        let text: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
            .collect();
        self.reply(&text.join("\r\n"))
            .await
            .map(|()| Flow::Continue)
    }

    async fn rcpt(&mut self, address: String) -> io::Result<Flow> {
        let count = match &self.tx {
            None => return self.error("503 5.5.1 Error: need MAIL command").await,
            Some(tx) => tx.rcpts.len(),
        };
        if count >= self.cfg.max_recipients {
            return self.error("452 4.5.3 Error: too many recipients").await;
        }
        let address = address.to_lowercase();
        let known = if address.is_empty() {
            Some(false)
        } else {
            tokio::time::timeout(LOOKUP_TIMEOUT, self.sink.accepts(&address))
                .await
                .ok()
        };
        let Some(known) = known else {
            tracing::warn!(id = self.id, "SMTP recipient lookup timed out");
            return self
                .reply("451 4.3.0 Error: temporary failure, try again later")
                .await
                .map(|()| Flow::Continue);
        };
        if !known {
            return self
                .error("550 5.1.1 Error: recipient address rejected: user unknown")
                .await;
        }
        if let Some(tx) = &mut self.tx {
            if !tx.rcpts.contains(&address) {
                tx.rcpts.push(address);
            }
        }
        self.reply("250 2.1.5 Ok").await.map(|()| Flow::Continue)
    }

    async fn starttls(&mut self) -> io::Result<Flow> {
        let Some(acceptor) = self.acceptor.clone() else {
            return self.error("502 5.5.1 Error: command not implemented").await;
        };
        if self.tls {
            return self.error("503 5.5.1 Error: TLS already active").await;
        }
        self.reply("220 2.0.0 Ready to start TLS").await?;
        // RFC 3207 section 4.2: nothing the client sent before the handshake counts.
        self.reader.clear();
        let Conn::Plain(stream) = std::mem::replace(&mut self.conn, Conn::Closed) else {
            return Ok(Flow::Close);
        };
        let handshake = tokio::time::timeout(self.cfg.idle_timeout, acceptor.accept(stream));
        match handshake.await {
            Ok(Ok(tls)) => {
                self.conn = Conn::Tls(Box::new(tls));
                self.tls = true;
                self.helo = None;
                self.tx = None;
                tracing::debug!(id = self.id, "SMTP session upgraded to TLS");
                Ok(Flow::Continue)
            }
            Ok(Err(e)) => {
                tracing::info!(id = self.id, error = %e, "SMTP TLS handshake failed");
                Ok(Flow::Close)
            }
            Err(_) => Ok(Flow::Close),
        }
    }
}

/// Completes once the server asks sessions to stop (never, if the server is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Keeps a client's HELO name safe to echo into a header.
fn sanitize_host(host: &str) -> String {
    host.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
        .take(255)
        .collect()
}

fn parse_error_reply(e: &ParseError) -> String {
    match e {
        ParseError::UnknownCommand => "500 5.5.2 Error: command not recognized".to_owned(),
        ParseError::SyntaxError { syntax } => format!("501 5.5.4 Syntax: {syntax}"),
        ParseError::InvalidSenderAddress => "501 5.1.7 Error: bad sender address syntax".to_owned(),
        ParseError::InvalidRecipientAddress => {
            "501 5.1.3 Error: bad recipient address syntax".to_owned()
        }
        ParseError::InvalidParameter { param } => {
            format!("501 5.5.4 Error: invalid parameter {param}")
        }
        ParseError::UnsupportedParameter { .. } => {
            "555 5.5.4 Error: unsupported MAIL/RCPT parameter".to_owned()
        }
        ParseError::NeedsMoreData { .. }
        | ParseError::ResponseTooLong
        | ParseError::InvalidResponse { .. } => "500 5.5.2 Error: syntax error".to_owned(),
    }
}
