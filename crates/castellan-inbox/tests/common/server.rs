//! A real SMTP listener on 127.0.0.1 port 0 with an in-memory sink, and a raw client.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use castellan_inbox::{serve_smtp, InboundMail, MailSink, SinkError, SmtpConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Managed addresses the test sink accepts.
pub const KNOWN: &[&str] = &[
    "github-k3x9q2@mail.castellan.test",
    "slack-77hqa1@mail.castellan.test",
    "a@mail.castellan.test",
    "b@mail.castellan.test",
    "c@mail.castellan.test",
    "d@mail.castellan.test",
];

/// Stores messages by `message_key`, once each, like the real store.
#[derive(Debug, Default)]
pub struct TestSink {
    pub stored: Mutex<BTreeMap<String, InboundMail>>,
    pub deliveries: AtomicUsize,
    pub fail: AtomicBool,
}

impl TestSink {
    pub fn count(&self) -> usize {
        self.stored.lock().unwrap().len()
    }

    pub fn all(&self) -> Vec<InboundMail> {
        self.stored.lock().unwrap().values().cloned().collect()
    }
}

#[async_trait]
impl MailSink for TestSink {
    async fn accepts(&self, rcpt: &str) -> bool {
        KNOWN.contains(&rcpt)
    }

    async fn deliver(&self, msg: InboundMail) -> Result<(), SinkError> {
        self.deliveries.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(SinkError::Temporary("database unavailable".into()));
        }
        self.stored
            .lock()
            .unwrap()
            .entry(msg.message_key.clone())
            .or_insert(msg);
        Ok(())
    }
}

/// A running receiver.
pub struct Server {
    pub addr: SocketAddr,
    pub sink: Arc<TestSink>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("server stops")
                .expect("server task")
                .expect("serve_smtp result");
        }
    }
}

/// Test defaults: a short greet pause, everything else as in production.
pub fn config() -> SmtpConfig {
    SmtpConfig {
        hostname: "mx.castellan.test".to_owned(),
        greet_pause: Duration::from_millis(150),
        ..SmtpConfig::default()
    }
}

pub async fn start(cfg: SmtpConfig) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let sink = Arc::new(TestSink::default());
    let (stop, stopped) = oneshot::channel::<()>();
    let dyn_sink: Arc<dyn MailSink> = sink.clone();
    let task = tokio::spawn(serve_smtp(listener, cfg, dyn_sink, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        sink,
        stop: Some(stop),
        task: Some(task),
    }
}

/// A hand-driven SMTP client.
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects without reading anything.
    pub async fn connect_silent(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self {
            reader: BufReader::new(stream),
        }
    }

    /// Connects and reads the greeting.
    pub async fn connect(addr: SocketAddr) -> Self {
        let mut c = Self::connect_silent(addr).await;
        let greeting = c.reply().await;
        assert!(greeting.starts_with("220 "), "greeting: {greeting}");
        c
    }

    /// One whole reply (all lines of a multi-line reply), or "" at EOF.
    pub async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(15), self.reader.read_line(&mut line))
                .await
                .expect("reply in time")
                .unwrap_or(0);
            if n == 0 {
                return all;
            }
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).await.expect("write");
    }

    /// Sends one command line and returns its reply.
    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Whether the server closed the connection (reads EOF).
    pub async fn closed(&mut self) -> bool {
        self.reply().await.is_empty()
    }
}

/// Asserts a reply's code.
#[track_caller]
pub fn expect(reply: &str, code: &str) {
    assert!(reply.starts_with(code), "expected {code}, got {reply:?}");
}
