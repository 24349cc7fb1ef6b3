//! Real SMTP clients deliver mail to the receiver: `swaks` (Debian package) and Python's
//! `smtplib`, in plain text and through STARTTLS with a certificate generated at test time.
//!
//! These tests need `swaks` (with `libnet-ssleay-perl` for `--tls`) and `python3` on the PATH;
//! CI installs them. They fail, rather than skip, when a tool is missing.
#![forbid(unsafe_code)]

mod common;

use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;

use castellan_inbox::{extract, parse_mail, tls_config_from_pem, SmtpConfig};
use common::server::{config, start, Server};
use tokio::process::Command;

fn corpus(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(file)
}

/// Runs a client program; a missing program fails the test with an explanation.
async fn run(program: &str, args: &[String]) -> Output {
    match Command::new(program).args(args).output().await {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{program}` is not installed; these SMTP tests need it \
             (Debian: apt-get install -y swaks libnet-ssleay-perl python3)"
        ),
        Err(e) => panic!("could not run {program}: {e}"),
    }
}

#[track_caller]
fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "client failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The one stored message, its recipients and its extracted code.
fn only_message(server: &Server) -> (Vec<String>, Option<String>, Vec<u8>) {
    let stored = server.sink.all();
    assert_eq!(stored.len(), 1, "exactly one message stored");
    let mail = &stored[0];
    let parsed = parse_mail(&mail.raw).expect("stored message parses");
    let code = extract(&parsed, None).code;
    (mail.rcpt_to.clone(), code, mail.raw.clone())
}

fn swaks_args(server: &Server, file: &str, to: &str) -> Vec<String> {
    vec![
        "--server".into(),
        "127.0.0.1".into(),
        "--port".into(),
        server.addr.port().to_string(),
        "--helo".into(),
        "swaks.client.test".into(),
        "--from".into(),
        "noreply@accounts.google.com".into(),
        "--to".into(),
        to.into(),
        "--data".into(),
        corpus(file).display().to_string(),
        "--timeout".into(),
        "20".into(),
    ]
}

fn python_script(port: u16, file: &str, tls: bool) -> Vec<String> {
    let starttls = if tls {
        "import ssl; ctx = ssl._create_unverified_context(); s.starttls(context=ctx); s.ehlo(); \
         assert 'starttls' not in s.esmtp_features, s.esmtp_features; "
    } else {
        ""
    };
    let script = format!(
        "import smtplib; s = smtplib.SMTP('127.0.0.1', {port}, local_hostname='python.client.test', timeout=20); \
         s.ehlo(); assert s.has_extn('pipelining') and s.has_extn('size'); \
         assert s.has_extn('starttls') == {tls_flag}; {starttls}\
         refused = s.sendmail('noreply@slack.com', ['Slack-77HQA1@mail.castellan.test'], open({path:?}, 'rb').read()); \
         assert refused == {{}}, refused; s.quit()",
        tls_flag = if tls { "True" } else { "False" },
        path = corpus(file).display().to_string(),
    );
    vec!["-c".into(), script]
}

#[tokio::test]
async fn swaks_delivers_a_message() {
    let server = start(config()).await;
    let args = swaks_args(
        &server,
        "en_google_prefixed.eml",
        "github-k3x9q2@mail.castellan.test",
    );
    assert_success(&run("swaks", &args).await);
    let (rcpts, code, _) = only_message(&server);
    assert_eq!(rcpts, vec!["github-k3x9q2@mail.castellan.test"]);
    assert_eq!(code.as_deref(), Some("482913"));
    server.shutdown().await;
}

#[tokio::test]
async fn swaks_to_an_unknown_recipient_is_refused() {
    let server = start(config()).await;
    let args = swaks_args(
        &server,
        "en_google_prefixed.eml",
        "nobody@mail.castellan.test",
    );
    let out = run("swaks", &args).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("<** 550 5.1.1"));
    assert_eq!(server.sink.count(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn python_smtplib_delivers_a_message() {
    let server = start(config()).await;
    let out = run(
        "python3",
        &python_script(server.addr.port(), "en_html_only_css.eml", false),
    )
    .await;
    assert_success(&out);
    let (rcpts, code, _) = only_message(&server);
    assert_eq!(rcpts, vec!["slack-77hqa1@mail.castellan.test"]);
    assert_eq!(code.as_deref(), Some("839201"));
    server.shutdown().await;
}

fn tls_config() -> SmtpConfig {
    let key = rcgen::generate_simple_self_signed(vec![
        "localhost".to_owned(),
        "mx.castellan.test".to_owned(),
    ])
    .expect("self-signed certificate");
    let tls = tls_config_from_pem(
        key.cert.pem().as_bytes(),
        key.signing_key.serialize_pem().as_bytes(),
    )
    .expect("TLS config");
    SmtpConfig {
        tls: Some(Arc::clone(&tls)),
        ..config()
    }
}

#[tokio::test]
async fn python_smtplib_delivers_through_starttls() {
    let server = start(tls_config()).await;
    let out = run(
        "python3",
        &python_script(server.addr.port(), "ja_iso2022jp_fullwidth.eml", true),
    )
    .await;
    assert_success(&out);
    let (_, code, raw) = only_message(&server);
    assert_eq!(code.as_deref(), Some("482913"));
    let trace = String::from_utf8_lossy(&raw[..200]).into_owned();
    assert!(trace.contains("with ESMTPS"), "{trace}");
    server.shutdown().await;
}

#[tokio::test]
async fn swaks_delivers_through_starttls() {
    let server = start(tls_config()).await;
    let mut args = swaks_args(
        &server,
        "de_latin1_split.eml",
        "github-k3x9q2@mail.castellan.test",
    );
    args.push("--tls".into());
    let out = run("swaks", &args).await;
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TLS started"), "{stdout}");
    let (_, code, raw) = only_message(&server);
    assert_eq!(code.as_deref(), Some("538207"));
    assert!(String::from_utf8_lossy(&raw[..200]).contains("with ESMTPS"));
    server.shutdown().await;
}
