//! An RFC 5321 mail receiver on tokio, for Castellan's managed addresses.
//!
//! Each connection runs in its own task: a panic or an error there ends that session only.
//! Command lines are parsed by `smtp-proto`; the session state machine is in `session.rs`.
//! Supported: EHLO/HELO, MAIL (with `SIZE=`, RFC 1870), RCPT, DATA (dot-unstuffing, RFC 5321
//! section 4.5.2), RSET, NOOP, QUIT, VRFY (252), HELP, STARTTLS (RFC 3207) when a certificate is
//! configured, PIPELINING (RFC 2920), 8BITMIME (RFC 6152) and ENHANCEDSTATUSCODES (RFC 2034,
//! RFC 3463). Not supported (502): AUTH, EXPN, BDAT, ETRN, ATRN, BURL, LHLO.

mod conn;
mod session;

pub use conn::SessionIo;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::rustls::ServerConfig;

/// How long past [`SmtpConfig::session_timeout`] a session may run before it is cut off.
const SESSION_OVERRUN: Duration = Duration::from_secs(60);

/// Settings of the SMTP receiver. [`SmtpConfig::default`] gives the documented defaults.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Where the server should listen (informational here: [`serve_smtp`] takes a bound
    /// listener). Default `127.0.0.1:2525`.
    pub listen: SocketAddr,
    /// The name this server gives in its greeting, EHLO reply and `Received:` lines.
    pub hostname: String,
    /// Largest accepted message, in bytes after dot-unstuffing (advertised as `SIZE`, RFC 1870).
    /// Default 10 MiB. A larger message is read to its end, refused with 552 and not stored.
    pub max_message_bytes: usize,
    /// Most recipients per message; further `RCPT TO` get 452 (RFC 5321 section 4.5.3.1.10).
    /// Default 50.
    pub max_recipients: usize,
    /// TLS settings; when present, `STARTTLS` is advertised and offered.
    pub tls: Option<Arc<ServerConfig>>,
    /// How long the server waits for the next line from the client, in seconds-scale
    /// [`Duration`]. Default 60 s; then 421 and close.
    pub idle_timeout: Duration,
    /// Longest line, in bytes including CRLF, for commands and message text alike (RFC 5321
    /// section 4.5.3.1.6 sets 1000). A longer command gets 500; a longer DATA line makes the
    /// message refused with 500 once its end is read.
    pub max_line_bytes: usize,
    /// Client errors allowed in one session before 421 and close. Default 10.
    pub max_errors: usize,
    /// How long the server listens before it greets. A client that talks first is refused with
    /// 554 and disconnected (as Postfix's postscreen does). Default 300 ms; zero disables.
    pub greet_pause: Duration,
    /// Concurrent sessions; further connections get 421 and are closed. Default 100.
    pub max_sessions: usize,
    /// Longest session, whatever the traffic. Default 10 minutes; then 421 and close. A
    /// session still going a minute later (a client that stopped reading our replies, say) is
    /// cut off without a reply.
    pub session_timeout: Duration,
    /// On shutdown, how long sessions in progress may go on (idle ones are told 421 at once)
    /// before they are cut off. Default 10 s.
    pub shutdown_grace: Duration,
    /// Whether a message must pass [`crate::mime::check_structure`] (nesting, header size and
    /// part count limits) before it is stored; a failure is refused with 554. Default true.
    pub check_mime: bool,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 2525)),
            hostname: "localhost".to_owned(),
            max_message_bytes: 10 * 1024 * 1024,
            max_recipients: 50,
            tls: None,
            idle_timeout: Duration::from_secs(60),
            max_line_bytes: 1000,
            max_errors: 10,
            greet_pause: Duration::from_millis(300),
            max_sessions: 100,
            session_timeout: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(10),
            check_mime: true,
        }
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("listen", &self.listen)
            .field("hostname", &self.hostname)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_recipients", &self.max_recipients)
            .field("tls", &self.tls.is_some())
            .field("idle_timeout", &self.idle_timeout)
            .field("max_line_bytes", &self.max_line_bytes)
            .field("max_errors", &self.max_errors)
            .field("greet_pause", &self.greet_pause)
            .field("max_sessions", &self.max_sessions)
            .field("session_timeout", &self.session_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("check_mime", &self.check_mime)
            .finish()
    }
}

/// Why a [`MailSink`] could not store a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Try again later: the client gets 451 4.3.0 and keeps the message queued.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Never: the client gets 554 5.3.0 and bounces the message.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Where accepted mail goes; Castellan's store implements it.
#[async_trait]
pub trait MailSink: Send + Sync + 'static {
    /// Whether `rcpt` (lowercased address) is a managed address. Unknown → 550 at RCPT TO.
    async fn accepts(&self, rcpt: &str) -> bool;
    /// Stores one accepted message exactly once (the sink dedups on `message_key`); Err → 451
    /// temporary failure ([`SinkError::Permanent`] → 554).
    async fn deliver(&self, msg: InboundMail) -> Result<(), SinkError>;
}

/// One accepted message, handed to [`MailSink::deliver`].
#[derive(Clone)]
pub struct InboundMail {
    /// The reverse-path from `MAIL FROM` without angle brackets; empty for the null sender `<>`.
    pub mail_from: String,
    /// Accepted recipients, lowercased, in `RCPT TO` order.
    pub rcpt_to: Vec<String>,
    /// The message as received (after dot-unstuffing), with this server's `Received:` trace
    /// line (RFC 5321 section 4.4) prepended.
    pub raw: Vec<u8>,
    /// When the end of DATA was received.
    pub received_at: DateTime<Utc>,
    /// The client's address.
    pub peer: SocketAddr,
    /// Idempotency key: lowercase hex SHA-256 over the message as the client sent it (without
    /// the `Received:` line added here) followed, for each recipient, by `\n` and the recipient.
    /// A client that retries the same message to the same recipients yields the same key.
    pub message_key: String,
}

impl fmt::Debug for InboundMail {
    // Neither the body nor the addresses are printed: they may carry codes and secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundMail")
            .field("raw_bytes", &self.raw.len())
            .field("rcpt_count", &self.rcpt_to.len())
            .field("received_at", &self.received_at)
            .field("peer", &self.peer)
            .field("message_key", &self.message_key)
            .finish_non_exhaustive()
    }
}

/// Accepts connections on `listener` until `shutdown` completes, running each session in its
/// own task. On shutdown, idle sessions are told 421 and closed; sessions still busy get up to
/// [`SmtpConfig::shutdown_grace`] before they are aborted.
///
/// # Errors
/// None in practice: accept errors (for example, out of file descriptors) are logged and the
/// loop continues after a short pause. The `io::Result` leaves room for setup errors.
pub async fn serve_smtp(
    listener: TcpListener,
    cfg: SmtpConfig,
    sink: Arc<dyn MailSink>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let cfg = Arc::new(cfg);
    let acceptor = cfg.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(cfg.max_sessions.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut sessions = JoinSet::new();
    let mut next_id: u64 = 0;
    tokio::pin!(shutdown);
    tracing::info!(addr = ?listener.local_addr().ok(), tls = acceptor.is_some(), "SMTP receiver listening");
    loop {
        while let Some(done) = sessions.try_join_next() {
            if let Err(e) = done {
                tracing::error!(error = %e, "SMTP session task failed");
            }
        }
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        next_id += 1;
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "SMTP session limit reached");
            sessions.spawn(refuse(
                stream,
                b"421 4.3.2 Too many connections, try later\r\n",
            ));
            continue;
        };
        let session = session::Session::new(
            next_id,
            peer,
            cfg.clone(),
            sink.clone(),
            acceptor.clone(),
            stop_rx.clone(),
        );
        let hard_stop = cfg.session_timeout + SESSION_OVERRUN;
        sessions.spawn(async move {
            if tokio::time::timeout(hard_stop, session.run(stream))
                .await
                .is_err()
            {
                tracing::info!(%peer, "SMTP session cut off past its time limit");
            }
            drop(permit);
        });
    }
    tracing::info!(sessions = sessions.len(), "SMTP receiver stopping");
    let _ = stop_tx.send(true);
    let drain = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(cfg.shutdown_grace, drain)
        .await
        .is_err()
    {
        sessions.abort_all();
    }
    Ok(())
}

/// Runs one SMTP session over an already-connected byte stream, to its end: the same state
/// machine, replies, limits and delivery to `sink` as a session of [`serve_smtp`].
///
/// Differences, because there is no TCP socket: no greet pause (the client's first bytes are
/// read after the greeting whatever their timing), STARTTLS is neither advertised nor accepted
/// (502, whatever `cfg.tls` says), and no server shutdown reaches the session. `peer` is the
/// address written in the `Received:` line and handed to the sink. Returns when the client
/// quits, closes its side (end of input) or breaks a limit, or on an I/O error of `stream`,
/// which is logged, not returned. The fuzz target `smtp_session` (docs/fuzzing.md) drives
/// sessions through it from arbitrary client bytes.
pub async fn serve_smtp_stream<S: conn::SessionIo + 'static>(
    stream: S,
    peer: SocketAddr,
    cfg: SmtpConfig,
    sink: Arc<dyn MailSink>,
) {
    // The sender is dropped at once: a session waiting for a stop that never comes.
    let (_, stop_rx) = watch::channel(false);
    let session = session::Session::new(0, peer, Arc::new(cfg), sink, None, stop_rx);
    session.run_on(conn::Conn::Stream(Box::new(stream))).await;
}

/// Writes one reply and closes, for connections that get no session.
async fn refuse(mut stream: TcpStream, reply: &'static [u8]) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = stream.write_all(reply).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
