//! SMTP sessions driven by hand against a real listener: the normal path, and malformed or
//! abusive sessions that must be refused cleanly with nothing stored.
#![forbid(unsafe_code)]

mod common;

use std::time::Duration;

use castellan_inbox::{extract, parse_mail, SmtpConfig};
use common::hostile;
use common::server::{config, expect, start, Client};

const MSG: &str = "From: GitHub <noreply@github.com>\r\nTo: github-k3x9q2@mail.castellan.test\r\n\
Subject: [GitHub] Please verify your device\r\n\r\nVerification code: 83921047\r\n..leading dot\r\n";

async fn open_transaction(c: &mut Client) {
    expect(&c.cmd("EHLO client.example").await, "250");
    expect(&c.cmd("MAIL FROM:<noreply@github.com>").await, "250");
    expect(
        &c.cmd("RCPT TO:<GitHub-K3X9Q2@mail.castellan.test>").await,
        "250",
    );
}

#[tokio::test]
async fn a_message_is_stored_once_with_its_code() {
    let server = start(config()).await;
    let mut c = Client::connect(server.addr).await;
    let ehlo = c.cmd("EHLO client.example").await;
    for ext in [
        "SIZE 10485760",
        "8BITMIME",
        "PIPELINING",
        "ENHANCEDSTATUSCODES",
    ] {
        assert!(ehlo.contains(ext), "{ehlo}");
    }
    assert!(!ehlo.contains("STARTTLS"), "no TLS configured: {ehlo}");
    expect(&c.cmd("VRFY someone").await, "252");
    expect(&c.cmd("NOOP").await, "250");
    expect(
        &c.cmd("MAIL FROM:<noreply@github.com> SIZE=400 BODY=8BITMIME")
            .await,
        "250",
    );
    expect(
        &c.cmd("RCPT TO:<GitHub-K3X9Q2@mail.castellan.test>").await,
        "250",
    );
    expect(&c.cmd("DATA").await, "354");
    c.send(format!("{MSG}.\r\n").as_bytes()).await;
    expect(&c.reply().await, "250");
    // The same message again (a client retry): same key, stored once.
    open_again(&mut c).await;
    c.send(format!("{MSG}.\r\n").as_bytes()).await;
    expect(&c.reply().await, "250");
    expect(&c.cmd("QUIT").await, "221");
    assert_eq!(
        server
            .sink
            .deliveries
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
    let stored = server.sink.all();
    assert_eq!(stored.len(), 1);
    let mail = &stored[0];
    assert_eq!(mail.rcpt_to, vec!["github-k3x9q2@mail.castellan.test"]);
    assert_eq!(mail.mail_from, "noreply@github.com");
    assert_eq!(mail.message_key.len(), 64);
    let raw = String::from_utf8(mail.raw.clone()).unwrap();
    assert!(
        raw.starts_with("Received: from client.example ([127.0.0.1])"),
        "{raw}"
    );
    assert!(
        raw.ends_with("\r\n.leading dot\r\n"),
        "dot-unstuffed: {raw}"
    );
    let parsed = parse_mail(&mail.raw).unwrap();
    assert_eq!(extract(&parsed, None).code.as_deref(), Some("83921047"));
    server.shutdown().await;
}

async fn open_again(c: &mut Client) {
    expect(&c.cmd("MAIL FROM:<noreply@github.com>").await, "250");
    expect(
        &c.cmd("RCPT TO:<github-k3x9q2@mail.castellan.test>").await,
        "250",
    );
    expect(&c.cmd("DATA").await, "354");
}

#[tokio::test]
async fn talking_before_the_greeting_is_refused() {
    let server = start(config()).await;
    let mut c = Client::connect_silent(server.addr).await;
    c.send(b"EHLO spammer\r\nMAIL FROM:<x@evil.example>\r\n")
        .await;
    expect(&c.reply().await, "554");
    assert!(c.closed().await);
    assert_eq!(server.sink.count(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn pipelining_past_data_is_refused_without_desync() {
    let server = start(config()).await;
    let mut c = Client::connect(server.addr).await;
    expect(&c.cmd("EHLO client.example").await, "250");
    // A whole transaction and a second message's commands in one write, not waiting for 354.
    let batch = format!(
        "MAIL FROM:<a@evil.example>\r\nRCPT TO:<a@mail.castellan.test>\r\nDATA\r\n{MSG}.\r\n\
         MAIL FROM:<b@evil.example>\r\nRCPT TO:<b@mail.castellan.test>\r\nDATA\r\n{MSG}.\r\nQUIT\r\n"
    );
    c.send(batch.as_bytes()).await;
    expect(&c.reply().await, "250");
    expect(&c.reply().await, "250");
    expect(&c.reply().await, "554");
    assert!(c.closed().await);
    assert_eq!(server.sink.count(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn sequence_errors_get_503() {
    let server = start(SmtpConfig {
        max_errors: 50,
        ..config()
    })
    .await;
    let mut c = Client::connect(server.addr).await;
    expect(&c.cmd("MAIL FROM:<a@b.example>").await, "503"); // before EHLO
    expect(&c.cmd("HELO client.example").await, "250");
    expect(&c.cmd("RCPT TO:<a@mail.castellan.test>").await, "503"); // before MAIL
    expect(&c.cmd("DATA").await, "503"); // before MAIL
    expect(&c.cmd("MAIL FROM:<a@b.example>").await, "250");
    expect(&c.cmd("MAIL FROM:<a@b.example>").await, "503"); // nested
    expect(&c.cmd("DATA").await, "503"); // no RCPT
    expect(&c.cmd("RSET").await, "250");
    expect(&c.cmd("BDAT 10 LAST").await, "502");
    expect(&c.cmd("AUTH PLAIN AGFAYg==").await, "502");
    expect(&c.cmd("STARTTLS").await, "502");
    expect(&c.cmd("XYZZY").await, "500");
    expect(&c.cmd("MAIL FROM:<not an address>").await, "501");
    expect(&c.cmd("QUIT").await, "221");
    assert_eq!(server.sink.count(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn quit_after_rcpt_stores_nothing() {
    let server = start(config()).await;
    let mut c = Client::connect(server.addr).await;
    open_transaction(&mut c).await;
    expect(&c.cmd("QUIT").await, "221");
    // A connection dropped in the middle of DATA stores nothing either.
    let mut c = Client::connect(server.addr).await;
    open_transaction(&mut c).await;
    expect(&c.cmd("DATA").await, "354");
    c.send(b"Subject: half\r\n\r\nYour code is 123456\r\n")
        .await;
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.sink.count(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn recipients_are_checked() {
    let server = start(SmtpConfig {
        max_recipients: 3,
        ..config()
    })
    .await;
    let mut c = Client::connect(server.addr).await;
    expect(&c.cmd("EHLO client.example").await, "250");
    expect(&c.cmd("MAIL FROM:<<>>").await, "501");
    expect(&c.cmd("MAIL FROM:<>").await, "250"); // null sender (bounces) is fine
    expect(
        &c.cmd("RCPT TO:<nobody@mail.castellan.test>").await,
        "550 5.1.1",
    );
    for r in ["a", "b", "c"] {
        expect(
            &c.cmd(&format!("RCPT TO:<{r}@mail.castellan.test>")).await,
            "250",
        );
    }
    expect(&c.cmd("RCPT TO:<d@mail.castellan.test>").await, "452");
    expect(&c.cmd("DATA").await, "354");
    c.send(format!("{MSG}.\r\n").as_bytes()).await;
    expect(&c.reply().await, "250");
    let stored = server.sink.all();
    assert_eq!(stored[0].rcpt_to.len(), 3);
    assert_eq!(stored[0].mail_from, "");
    server.shutdown().await;
}

#[tokio::test]
async fn over_long_lines_are_refused() {
    let server = start(config()).await;
    let mut c = Client::connect(server.addr).await;
    let long = format!("NOOP {}", "x".repeat(1200));
    expect(&c.cmd(&long).await, "500");
    expect(&c.cmd("NOOP").await, "250"); // still in step
    open_transaction(&mut c).await;
    expect(&c.cmd("DATA").await, "354");
    let body = format!(
        "Subject: long\r\n\r\n{}\r\ncode 123456\r\n.\r\n",
        "y".repeat(5000)
    );
    c.send(body.as_bytes()).await;
    expect(&c.reply().await, "500");
    assert_eq!(server.sink.count(), 0);
    // The session goes on and a good message still arrives.
    open_again_after_helo(&mut c).await;
    c.send(format!("{MSG}.\r\n").as_bytes()).await;
    expect(&c.reply().await, "250");
    assert_eq!(server.sink.count(), 1);
    server.shutdown().await;
}

async fn open_again_after_helo(c: &mut Client) {
    expect(&c.cmd("MAIL FROM:<noreply@github.com>").await, "250");
    expect(
        &c.cmd("RCPT TO:<github-k3x9q2@mail.castellan.test>").await,
        "250",
    );
    expect(&c.cmd("DATA").await, "354");
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let server = start(SmtpConfig {
        max_message_bytes: 64 * 1024,
        ..config()
    })
    .await;
    let mut c = Client::connect(server.addr).await;
    expect(&c.cmd("EHLO client.example").await, "250");
    expect(&c.cmd("MAIL FROM:<a@b.example> SIZE=100000").await, "552");
    expect(&c.cmd("MAIL FROM:<a@b.example>").await, "250");
    expect(&c.cmd("RCPT TO:<a@mail.castellan.test>").await, "250");
    expect(&c.cmd("DATA").await, "354");
    let line = format!("{}\r\n", "z".repeat(70));
    let body = format!("Subject: big\r\n\r\n{}.\r\n", line.repeat(2000));
    c.send(body.as_bytes()).await;
    expect(&c.reply().await, "552");
    expect(&c.cmd("NOOP").await, "250"); // read to the end: still in step
    assert_eq!(server.sink.count(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn bare_lf_dot_does_not_end_data() {
    let server = start(config()).await;
    let mut c = Client::connect(server.addr).await;
    open_transaction(&mut c).await;
    expect(&c.cmd("DATA").await, "354");
    // "<LF>.<CRLF>" is content, not the end (SMTP smuggling); the real end follows.
    c.send(b"Subject: a\r\n\r\ncode 123456\n.\r\nMAIL FROM:<x@evil.example>\r\n.\r\n")
        .await;
    expect(&c.reply().await, "250");
    let raw = String::from_utf8(server.sink.all()[0].raw.clone()).unwrap();
    assert!(raw.contains("MAIL FROM:<x@evil.example>"), "{raw}");
    server.shutdown().await;
}

#[tokio::test]
async fn sink_failure_is_a_temporary_error() {
    let server = start(config()).await;
    server
        .sink
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut c = Client::connect(server.addr).await;
    open_transaction(&mut c).await;
    expect(&c.cmd("DATA").await, "354");
    c.send(format!("{MSG}.\r\n").as_bytes()).await;
    expect(&c.reply().await, "451");
    assert_eq!(server.sink.count(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_errors_and_idle_clients_are_dropped() {
    let server = start(SmtpConfig {
        idle_timeout: Duration::from_secs(1),
        ..config()
    })
    .await;
    let mut c = Client::connect(server.addr).await;
    for _ in 0..10 {
        expect(&c.cmd("BOGUS").await, "500");
    }
    expect(&c.reply().await, "421");
    assert!(c.closed().await);
    let mut idle = Client::connect(server.addr).await;
    expect(&idle.reply().await, "421");
    assert!(idle.closed().await);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_tells_idle_sessions() {
    let server = start(config()).await;
    let mut c = Client::connect(server.addr).await;
    expect(&c.cmd("EHLO client.example").await, "250");
    let stopping = tokio::spawn(server.shutdown());
    expect(&c.reply().await, "421");
    stopping.await.unwrap();
}

#[tokio::test]
async fn hostile_mime_over_smtp_is_refused_cleanly() {
    let server = start(config()).await;
    let cases: [(Vec<u8>, &str); 4] = [
        (hostile::deep_nesting(10_000, true), "554"),
        (hostile::huge_header(1024 * 1024, true), "554"),
        (hostile::many_parts(100_000), "554"),
        (hostile::endless_boundary(), "250"),
    ];
    let mut c = Client::connect(server.addr).await;
    expect(&c.cmd("EHLO client.example").await, "250");
    for (raw, want) in cases {
        expect(&c.cmd("MAIL FROM:<attacker@evil.example>").await, "250");
        expect(&c.cmd("RCPT TO:<a@mail.castellan.test>").await, "250");
        expect(&c.cmd("DATA").await, "354");
        let mut data = raw.clone();
        data.extend_from_slice(b".\r\n");
        c.send(&data).await;
        expect(&c.reply().await, want);
    }
    let stored = server.sink.all();
    assert_eq!(
        stored.len(),
        1,
        "only the endless-boundary message is stored"
    );
    let parsed = parse_mail(&stored[0].raw).unwrap();
    assert_eq!(extract(&parsed, None).code.as_deref(), Some("246135"));
    server.shutdown().await;
}
