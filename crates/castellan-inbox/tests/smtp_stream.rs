//! `serve_smtp_stream`: one SMTP session over an in-memory stream (as the `smtp_session` fuzz
//! target drives it), with the same state machine and delivery as a TCP session, no STARTTLS.
#![forbid(unsafe_code)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use castellan_inbox::{serve_smtp_stream, MailSink};
use common::server::{config, expect, TestSink};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// Reads one whole reply (every line of a multi-line one), or "" at the end of the stream.
async fn reply<R: AsyncBufReadExt + Unpin>(r: &mut R) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.expect("read") == 0 {
            return all;
        }
        all.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return all;
        }
    }
}

/// Sends `line` (CRLF included) and reads the reply.
async fn cmd(c: &mut BufReader<DuplexStream>, line: &str) -> String {
    c.get_mut().write_all(line.as_bytes()).await.expect("write");
    reply(c).await
}

#[tokio::test]
async fn a_session_over_a_stream_stores_a_message_and_offers_no_starttls() {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let sink = Arc::new(TestSink::default());
    let dyn_sink: Arc<dyn MailSink> = sink.clone();
    let peer = SocketAddr::from(([192, 0, 2, 7], 40000));
    let session = tokio::spawn(serve_smtp_stream(server, peer, config(), dyn_sink));
    let mut c = BufReader::new(client);
    expect(&reply(&mut c).await, "220 mx.castellan.test");
    let ehlo = cmd(&mut c, "EHLO client.example\r\n").await;
    assert!(
        ehlo.contains("PIPELINING") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    expect(&cmd(&mut c, "STARTTLS\r\n").await, "502");
    expect(
        &cmd(&mut c, "MAIL FROM:<noreply@github.com>\r\n").await,
        "250",
    );
    expect(
        &cmd(&mut c, "RCPT TO:<A@mail.castellan.test>\r\n").await,
        "250",
    );
    expect(&cmd(&mut c, "DATA\r\n").await, "354");
    expect(
        &cmd(&mut c, "Subject: hi\r\n\r\nYour code is 482913\r\n.\r\n").await,
        "250 2.0.0 Ok: queued as",
    );
    expect(&cmd(&mut c, "QUIT\r\n").await, "221");
    assert_eq!(reply(&mut c).await, "", "closed after QUIT");
    session.await.expect("the session ends");
    let stored = sink.all();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].rcpt_to, vec!["a@mail.castellan.test"]);
    assert_eq!(stored[0].peer, peer);
    let raw = String::from_utf8(stored[0].raw.clone()).expect("utf-8");
    assert!(
        raw.starts_with("Received: from client.example ([192.0.2.7])"),
        "{raw}"
    );
}

#[tokio::test]
async fn a_session_over_a_stream_ends_when_the_client_closes() {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let sink = Arc::new(TestSink::default());
    let dyn_sink: Arc<dyn MailSink> = sink.clone();
    let peer = SocketAddr::from(([192, 0, 2, 7], 40000));
    let session = tokio::spawn(serve_smtp_stream(server, peer, config(), dyn_sink));
    // A transaction cut off in the middle of DATA: nothing is stored.
    client
        .write_all(b"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<a@mail.castellan.test>\r\n")
        .await
        .expect("write");
    let mut replies = BufReader::new(client);
    for code in ["220", "250", "250", "250"] {
        expect(&reply(&mut replies).await, code);
    }
    replies
        .get_mut()
        .write_all(b"DATA\r\n")
        .await
        .expect("write");
    expect(&reply(&mut replies).await, "354");
    replies
        .get_mut()
        .write_all(b"Subject: cut\r\n")
        .await
        .expect("write");
    replies.get_mut().shutdown().await.expect("close");
    assert_eq!(reply(&mut replies).await, "");
    session.await.expect("the session ends");
    assert_eq!(sink.count(), 0);
}
