//! A whole SMTP session (castellan_inbox::serve_smtp_stream) fed arbitrary client bytes.
//!
//! Input: the first byte is the mode, the rest is what the client sends, then it closes.
//! Mode bits 0-1 choose the sink's answer to DATA (0, 1: stored; 2: temporary failure;
//! 3: permanent failure); bits 2-7 are the read size: 0 hands the session one line per read
//! (a client that waits for replies), 1-63 hands it that many bytes per read (a pipelining
//! client, or one whose lines arrive in pieces).
//!
//! Checks: no panic; the session ends when the input does; every reply line is a 3-digit code
//! and text, the first one the 220 greeting; each stored message has accepted, lowercased,
//! distinct recipients within the limit, a `Received:` line, a body within the size limit
//! that passes check_structure, and a 64-hex-digit key; every "queued" reply matches one
//! stored message.
#![no_main]

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use async_trait::async_trait;
use castellan_inbox::mime::check_structure;
use castellan_inbox::{serve_smtp_stream, InboundMail, MailSink, SinkError, SmtpConfig};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const DOMAIN: &str = "@mail.castellan.test";
const MAX_MESSAGE_BYTES: usize = 2048;
const MAX_RECIPIENTS: usize = 3;

/// The client: hands out `input` in reads of the mode's size, collects replies in `output`.
struct Scripted {
    input: Vec<u8>,
    at: usize,
    /// 0: one line per read; else bytes per read.
    chunk: usize,
    output: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Scripted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let rest = &self.input[self.at..];
        let want = match self.chunk {
            0 => rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1),
            n => n,
        };
        let n = want.min(rest.len()).min(buf.remaining());
        buf.put_slice(&rest[..n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.output.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Accepts the addresses of one domain; checks and counts what is delivered.
struct CheckingSink {
    answer: u8,
    stored: AtomicUsize,
}

#[async_trait]
impl MailSink for CheckingSink {
    async fn accepts(&self, rcpt: &str) -> bool {
        rcpt.ends_with(DOMAIN)
    }

    async fn deliver(&self, msg: InboundMail) -> Result<(), SinkError> {
        assert!(!msg.rcpt_to.is_empty(), "a message without recipients");
        assert!(
            msg.rcpt_to.len() <= MAX_RECIPIENTS,
            "over the recipient limit"
        );
        for (i, r) in msg.rcpt_to.iter().enumerate() {
            assert!(r.ends_with(DOMAIN), "a refused recipient was kept");
            assert_eq!(r, &r.to_lowercase(), "recipient not lowercased");
            assert!(!msg.rcpt_to[..i].contains(r), "duplicate recipient");
        }
        assert!(
            !msg.mail_from.contains(['<', '>']),
            "angle brackets in MAIL FROM"
        );
        assert!(msg.raw.starts_with(b"Received: from "), "no trace line");
        let body_at = msg
            .raw
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w == b"\r\n")
            .nth(2)
            .map(|(i, _)| i + 2)
            .expect("a three-line Received: header");
        let body = &msg.raw[body_at..];
        assert!(body.len() <= MAX_MESSAGE_BYTES, "over the size limit");
        check_structure(body).expect("a stored message passes check_structure");
        assert!(
            msg.message_key.len() == 64
                && msg
                    .message_key
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "message key {:?}",
            msg.message_key
        );
        match self.answer {
            2 => Err(SinkError::Temporary("fuzz".into())),
            3 => Err(SinkError::Permanent("fuzz".into())),
            _ => {
                self.stored.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let output = Arc::new(Mutex::new(Vec::new()));
    let client = Scripted {
        input: input.to_vec(),
        at: 0,
        chunk: usize::from(mode >> 2),
        output: output.clone(),
    };
    let sink = Arc::new(CheckingSink {
        answer: mode & 3,
        stored: AtomicUsize::new(0),
    });
    let cfg = SmtpConfig {
        hostname: "mx.castellan.test".to_owned(),
        max_message_bytes: MAX_MESSAGE_BYTES,
        max_recipients: MAX_RECIPIENTS,
        ..SmtpConfig::default()
    };
    let peer = SocketAddr::from(([192, 0, 2, 1], 40000));
    let dyn_sink: Arc<dyn MailSink> = sink.clone();
    runtime().block_on(serve_smtp_stream(client, peer, cfg, dyn_sink));

    let output = output.lock().unwrap();
    let text = String::from_utf8(output.clone()).expect("replies are UTF-8");
    assert!(
        text.starts_with("220 mx.castellan.test "),
        "greeting: {text:?}"
    );
    assert!(text.ends_with("\r\n"), "unterminated reply: {text:?}");
    let mut queued = 0;
    for line in text.split_terminator("\r\n") {
        let b = line.as_bytes();
        assert!(
            b.len() > 4 && b[..3].iter().all(u8::is_ascii_digit) && matches!(b[3], b' ' | b'-'),
            "malformed reply line {line:?}"
        );
        assert!(!line.contains(['\r', '\n']), "bare CR or LF in {line:?}");
        if line.starts_with("250 2.0.0 Ok: queued as ") {
            queued += 1;
        }
    }
    assert_eq!(
        queued,
        sink.stored.load(Ordering::SeqCst),
        "queued replies vs stored"
    );
});
