//! End-to-end: the shared inbox with the real binary. Real SMTP clients (`swaks` from Debian and
//! Python's `smtplib`) deliver mail to `castellan serve`'s SMTP receiver; the SMS webhook gets
//! Twilio-signed requests; the CLI reads codes. Needs `swaks` (with `libnet-ssleay-perl` for
//! STARTTLS), `python3` and `openssl` on PATH.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use castellan_core::inbox::InboxKind;
use castellan_core::service::{Bot, BotConfig};
use castellan_core::{Castellan, StaticKeys};
use castellan_crypto::Keyring;
use castellan_store::SqlStore;
use common::{host_args, Cli, Server};
#[path = "inbox/email_code.rs"]
mod email_code;
use email_code::{EmailCodeConnector, OneConnector};
use serde_json::Value;

/// Fails the test with an install hint when a tool is missing.
fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{tool}` is required by the inbox end-to-end tests but is not on PATH: install it \
         (Debian: `apt-get install -y {package}`)"
    );
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Sends one message with swaks; returns its output (transcript on stdout).
fn swaks(smtp: &(String, u16), to: &str, subject: &str, body: &str, extra: &[&str]) -> Output {
    Command::new("swaks")
        .args(["--server", &smtp.0, "--port", &smtp.1.to_string()])
        .args(["--to", to, "--from", "no-reply@slack.com"])
        .args(["--helo", "client.example.com", "--timeout", "30"])
        .args(["--header", &format!("Subject: {subject}")])
        .args(["--body", body])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run swaks")
}

/// Sends one message with Python's smtplib; returns its output.
fn smtplib(smtp: &(String, u16), to: &str, subject: &str, html: &str) -> Output {
    let script = r#"
import smtplib, sys
from email.message import EmailMessage
host, port, to, subject, html = sys.argv[1:6]
m = EmailMessage()
m["From"] = "Slack <no-reply@slack.com>"
m["To"] = to
m["Subject"] = subject
m.set_content(html, subtype="html", charset="utf-8", cte="quoted-printable")
with smtplib.SMTP(host, int(port), timeout=30) as s:
    s.ehlo("client.example.com")
    s.send_message(m)
print("sent")
"#;
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args([&smtp.0, &smtp.1.to_string(), to, subject, html])
        .stdin(Stdio::null())
        .output()
        .expect("run python3")
}

/// POSTs a form to the SMS webhook, signed over `signed` (which may differ from `sent` to
/// simulate tampering). Returns (status, content type, body).
fn post_sms(
    server: &Server,
    token: &str,
    signed: &[(&str, &str)],
    sent: &[(&str, &str)],
) -> (u16, String, String) {
    let url = format!("{}/api/v1/webhooks/sms", server.url);
    let own = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let signature = castellan_inbox::twilio_signature(token, &url, &own(signed));
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(sent.iter())
        .finish();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let r = reqwest::Client::new()
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", signature)
            .body(body)
            .send()
            .await
            .expect("webhook request");
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ct, r.text().await.unwrap_or_default())
    })
}

fn count(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// Whether `needle` occurs in any file of the SQLite database (main file, WAL, shared memory).
fn in_database(data: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = vec![];
    for name in ["castellan.db", "castellan.db-wal", "castellan.db-shm"] {
        let path = data.join(name);
        if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                hits.push(name.to_owned());
            }
        }
    }
    hits
}

#[test]
fn mail_from_real_clients_reaches_the_inbox_encrypted_and_only_for_those_who_may_see_it() {
    require("swaks", "swaks");
    require("python3", "python3");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&host_args(&data, None, None));
    let smtp = server.smtp_addr();
    let owner = Cli::new(&server.url, &tmp.path().join("owner"));
    owner.claim(&server.setup_token(), "owner@example.com");

    // A managed address: readable, unguessable, on the default mail domain; one step makes it
    // the username; asking again gives the same address.
    owner.ok(&[
        "accounts",
        "add",
        "--label",
        "Slack bot",
        "--app",
        "slack",
        "--username",
        "old@example.com",
    ]);
    let assigned = owner.json(&["accounts", "email", "Slack bot", "--use-as-username"]);
    let address = assigned["address"].as_str().unwrap().to_owned();
    let (local, domain) = address.split_once('@').unwrap();
    assert_eq!(domain, "castellan.localhost");
    let random = local.strip_prefix("slack-").expect("slack-<random>");
    assert!(
        random.len() == 8
            && random
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{address}"
    );
    assert_eq!(
        owner.json(&["accounts", "show", "Slack bot"])["username"],
        address.as_str()
    );
    assert_eq!(
        owner.ok(&["accounts", "email", "Slack bot"]).trim(),
        address
    );

    // swaks delivers; the code is in the inbox.
    let phrase = "marmalade-otter-7734-unique";
    let out = swaks(
        &smtp,
        &address,
        "Slack confirmation code: 493-812",
        &format!(
            "Hi,\n\nYour confirmation code is 493-812.\nIt expires in 10 minutes.\n\n{phrase}\n"
        ),
        &[],
    );
    assert!(out.status.success(), "swaks failed: {}", text(&out));
    assert_eq!(owner.ok(&["inbox", "code", "Slack bot"]).trim(), "493812");

    // An unknown recipient is refused at RCPT TO with 550, and nothing is stored.
    let out = swaks(
        &smtp,
        "nobody-00000000@castellan.localhost",
        "Your code 111222",
        "Your code is 111222",
        &[],
    );
    assert!(
        !out.status.success(),
        "unknown recipient accepted: {}",
        text(&out)
    );
    assert!(text(&out).contains("550"), "{}", text(&out));
    assert_eq!(count(&owner.json(&["inbox", "list"])), 1);

    // Python's smtplib delivers an HTML-only, quoted-printable message while `inbox code
    // --wait` long-polls for it.
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let waiter = Command::new(common::bin())
        .args([
            "inbox",
            "code",
            "Slack bot",
            "--wait",
            "30s",
            "--since",
            &since,
        ])
        .env("CASTELLAN_SERVER", &owner.server)
        .env("CASTELLAN_CONFIG_DIR", &owner.config_dir)
        .env_remove("CASTELLAN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let out = smtplib(
        &smtp,
        &address,
        "Confirm your email",
        "<html><body><p style=\"color:#336699\">Your Slack code is</p><h1>271828</h1><p>Order #55512 on 2024-05-01.</p></body></html>",
    );
    assert!(out.status.success(), "smtplib failed: {}", text(&out));
    let waited = waiter.wait_with_output().unwrap();
    assert!(
        waited.status.success(),
        "inbox code --wait: {}",
        text(&waited)
    );
    assert_eq!(String::from_utf8_lossy(&waited.stdout).trim(), "271828");

    // Listing shows both, without codes; showing one shows its code and text.
    let list = owner.json(&["inbox", "list", "--account", "Slack bot", "--kind", "email"]);
    assert_eq!(count(&list), 2, "{list}");
    for m in list.as_array().unwrap() {
        assert_eq!(m["has_code"], true);
        assert!(m["code"].is_null() && m["text"].is_null(), "{m}");
    }
    let first = list.as_array().unwrap()[1].clone();
    assert_eq!(first["subject"], "Slack confirmation code: 493-812");
    assert_eq!(first["from"], "no-reply@slack.com");
    let id = first["id"].as_str().unwrap().to_owned();
    let shown = owner.json(&["inbox", "show", &id]);
    assert_eq!(shown["code"], "493812");
    assert!(shown["text"].as_str().unwrap().contains(phrase));
    assert!(owner.ok(&["inbox", "show", &id]).contains(phrase));
    assert_eq!(count(&owner.json(&["inbox", "list", "--kind", "sms"])), 0);
    // The other filters: app, vault and time (`since` was taken between the two messages).
    assert_eq!(count(&owner.json(&["inbox", "list", "--app", "slack"])), 2);
    assert_eq!(count(&owner.json(&["inbox", "list", "--app", "github"])), 0);
    let vaults = owner.json(&["vaults", "list"]);
    let default_vault = vaults
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["is_default"] == true)
        .expect("a default vault");
    let default_vault = default_vault["name"].as_str().unwrap();
    assert_eq!(
        count(&owner.json(&["inbox", "list", "--vault", default_vault])),
        2
    );
    owner.ok(&["vaults", "create", "Empty vault"]);
    assert_eq!(
        count(&owner.json(&["inbox", "list", "--vault", "Empty vault"])),
        0
    );
    let newer = owner.json(&["inbox", "list", "--since", &since]);
    assert_eq!(count(&newer), 1, "{newer}");
    assert_eq!(newer[0]["subject"], "Confirm your email");
    let older = owner.json(&["inbox", "list", "--until", &since]);
    assert_eq!(count(&older), 1, "{older}");
    assert_eq!(older[0]["subject"], "Slack confirmation code: 493-812");
    for (flag, value) in [("--kind", "fax"), ("--since", "yesterday")] {
        let refused = owner.run(&["inbox", "list", flag, value]);
        assert!(!refused.status.success(), "{flag} {value} accepted");
        let said = text(&refused);
        assert!(
            said.contains("HTTP 400") && said.contains(&flag[2..]),
            "{flag} {value}: {said}"
        );
    }

    // A person without access to the account sees none of its messages.
    let inv = owner.json(&[
        "people",
        "invite",
        "--email",
        "uma@example.com",
        "--name",
        "Uma",
        "--role",
        "user",
    ]);
    let uma = Cli::new(&server.url, &tmp.path().join("uma"));
    uma.ok_stdin(
        &[
            "accept-invitation",
            "--email",
            "uma@example.com",
            "--invitation-token",
            inv["invitation_token"].as_str().unwrap(),
            "--password-stdin",
        ],
        "uma-password-1234\n",
    );
    uma.ok_stdin(
        &["login", "--email", "uma@example.com", "--password-stdin"],
        "uma-password-1234\n",
    );
    assert_eq!(count(&uma.json(&["inbox", "list"])), 0);
    let denied = uma.run(&["inbox", "show", &id]);
    assert!(!denied.status.success());
    assert!(text(&denied).contains("not found"), "{}", text(&denied));
    let account = first["account_id"].as_str().unwrap();
    let denied = uma.run(&["inbox", "code", account]);
    assert!(!denied.status.success());
    assert!(!text(&denied).contains("271828"));
    // Shared with her as a collaborator, she sees them.
    owner.ok(&[
        "accounts",
        "share",
        "Slack bot",
        "uma@example.com",
        "--role",
        "collaborator",
    ]);
    assert_eq!(count(&uma.json(&["inbox", "list"])), 2);
    assert_eq!(uma.ok(&["inbox", "code", account]).trim(), "271828");

    // Receiving and reading are recorded, never with the code.
    let events = owner.json(&["activity", "list", "--action", "inbox.", "--limit", "100"]);
    let actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "inbox.address_assign",
        "inbox.code_received",
        "inbox.code_read",
        "inbox.read",
    ] {
        assert!(actions.contains(&a), "no {a} in {actions:?}");
    }
    let all = owner.ok(&["activity", "export"]);
    for secret in ["493812", "493-812", "271828", phrase] {
        assert!(!all.contains(secret), "the activity log holds {secret}");
    }

    // The raw message is encrypted at rest: neither the body nor the subject is in the
    // database files (which the search does read: the managed address is stored in the clear).
    assert!(
        !in_database(&data, address.as_bytes()).is_empty(),
        "the database files were not read"
    );
    for needle in [phrase, "Slack confirmation code", "Your Slack code is"] {
        let hits = in_database(&data, needle.as_bytes());
        assert!(hits.is_empty(), "{needle:?} in plaintext in {hits:?}");
    }

    // The webhook is off without an auth token.
    let (status, _, _) = post_sms(
        &server,
        "any",
        &[("From", "+14155550100"), ("To", "+15005550006")],
        &[("From", "+14155550100"), ("To", "+15005550006")],
    );
    assert_eq!(status, 404);

    // Retention: nothing is 30 days old; `--older-than-days 0` purges everything, recorded.
    let host = host_args(&data, None, None);
    let mut purge = vec!["inbox", "purge", "--older-than-days", "30"];
    purge.extend(host.iter().map(String::as_str));
    assert!(owner.ok(&purge).contains("purged 0 message"));
    purge[3] = "0";
    assert!(owner.ok(&purge).contains("purged 2 message"));
    assert_eq!(count(&owner.json(&["inbox", "list"])), 0);
    assert_eq!(
        count(&owner.json(&["activity", "list", "--action", "inbox.purge"])),
        1
    );
    assert!(!owner.run(&["inbox", "code", "Slack bot"]).status.success());

    server.stop();
    for needle in [phrase, "Slack confirmation code"] {
        let hits = in_database(&data, needle.as_bytes());
        assert!(
            hits.is_empty(),
            "{needle:?} in plaintext in {hits:?} after stop"
        );
    }
}

#[test]
fn sms_webhook_checks_twilio_signatures_and_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let token = "test-sms-auth-token";
    let server = Server::start_env(
        &host_args(&data, None, None),
        &[("CASTELLAN_SMS_AUTH_TOKEN", token)],
    );
    let owner = Cli::new(&server.url, &tmp.path().join("owner"));
    owner.claim(&server.setup_token(), "owner@example.com");

    let pool = owner.json(&["numbers", "add", "+1 500-555-0006", "+15005550007"]);
    assert_eq!(count(&pool), 2, "{pool}");
    owner.ok(&[
        "accounts",
        "add",
        "--label",
        "GitHub bot",
        "--app",
        "github",
    ]);
    assert_eq!(
        owner.ok(&["accounts", "phone", "GitHub bot"]).trim(),
        "+15005550006"
    );
    let listed = owner.json(&["numbers", "list"]);
    assert!(!listed[0]["account_id"].is_null() && listed[1]["account_id"].is_null());

    let sms = [
        ("From", "+14155550100"),
        ("To", "+15005550006"),
        (
            "Body",
            "Your GitHub verification code: 834921. Don't share it.",
        ),
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
    ];
    let (status, ct, body) = post_sms(&server, token, &sms, &sms);
    assert_eq!(status, 200, "{body}");
    assert!(ct.starts_with("application/xml"), "{ct}");
    assert!(body.contains("<Response>"));
    assert_eq!(owner.ok(&["inbox", "code", "GitHub bot"]).trim(), "834921");
    // The provider retries the same message: stored once.
    assert_eq!(post_sms(&server, token, &sms, &sms).0, 200);
    let list = owner.json(&["inbox", "list", "--kind", "sms"]);
    assert_eq!(count(&list), 1, "{list}");
    assert_eq!(list[0]["from"], "+14155550100");

    // Tampered: signed for one body, sent with another. Refused, nothing stored.
    let mut tampered = sms;
    tampered[2] = ("Body", "Your GitHub verification code: 000000");
    tampered[3] = ("MessageSid", "SM_tampered");
    let mut signed = sms;
    signed[3] = ("MessageSid", "SM_tampered");
    let (status, ct, body) = post_sms(&server, token, &signed, &tampered);
    assert_eq!(status, 403, "{body}");
    assert_eq!(ct, "application/problem+json");
    assert!(body.contains("signature"), "{body}");
    // The wrong auth token: refused too.
    let (status, _, _) = post_sms(&server, "another-token", &sms, &sms);
    assert_eq!(status, 403);
    // A number not in the pool, and one in the pool but assigned to no account: 404.
    for to in ["+15005550009", "+15005550007"] {
        let mut other = sms;
        other[1] = ("To", to);
        other[3] = ("MessageSid", "SM_other");
        let (status, ct, body) = post_sms(&server, token, &other, &other);
        assert_eq!(status, 404, "{to}: {body}");
        assert_eq!(ct, "application/problem+json");
    }
    assert_eq!(count(&owner.json(&["inbox", "list"])), 1);
    assert_eq!(owner.ok(&["inbox", "code", "GitHub bot"]).trim(), "834921");

    // Only admins manage the pool.
    let inv = owner.json(&[
        "people",
        "invite",
        "--email",
        "uma@example.com",
        "--name",
        "Uma",
        "--role",
        "user",
    ]);
    let uma = Cli::new(&server.url, &tmp.path().join("uma"));
    uma.ok_stdin(
        &[
            "accept-invitation",
            "--email",
            "uma@example.com",
            "--invitation-token",
            inv["invitation_token"].as_str().unwrap(),
            "--password-stdin",
        ],
        "uma-password-1234\n",
    );
    uma.ok_stdin(
        &["login", "--email", "uma@example.com", "--password-stdin"],
        "uma-password-1234\n",
    );
    let denied = uma.run(&["numbers", "add", "+15005550010"]);
    assert!(!denied.status.success());
    assert!(text(&denied).contains("HTTP 403"), "{}", text(&denied));
    assert_eq!(count(&uma.json(&["inbox", "list"])), 0);
}

#[test]
fn starttls_and_the_size_limit_with_swaks() {
    require("swaks", "swaks");
    require("openssl", "openssl");
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    let o = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=mail.test.example"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl: {}", text(&o));
    let data = tmp.path().join("data");
    let server = Server::start_env(
        &host_args(&data, None, None),
        &[
            ("CASTELLAN_SMTP_TLS_CERT", cert.to_str().unwrap()),
            ("CASTELLAN_SMTP_TLS_KEY", key.to_str().unwrap()),
            (
                "CASTELLAN_MAIL_DOMAINS",
                "mail.test.example,other.test.example",
            ),
            ("CASTELLAN_MAX_MESSAGE_BYTES", "4096"),
        ],
    );
    let smtp = server.smtp_addr();
    let owner = Cli::new(&server.url, &tmp.path().join("owner"));
    owner.claim(&server.setup_token(), "owner@example.com");
    owner.ok(&["accounts", "add", "--label", "Team Notion"]);
    let address = owner
        .ok(&["accounts", "email", "Team Notion"])
        .trim()
        .to_owned();
    assert!(
        address.starts_with("team-notion-") && address.ends_with("@mail.test.example"),
        "{address}"
    );

    let out = swaks(
        &smtp,
        &address,
        "Your login code",
        "Your login code is 55 66 77.",
        &["--tls"],
    );
    assert!(out.status.success(), "swaks --tls: {}", text(&out));
    assert!(text(&out).contains("STARTTLS"), "{}", text(&out));
    assert_eq!(owner.ok(&["inbox", "code", "Team Notion"]).trim(), "556677");

    // Over the size limit: refused with 552, nothing stored.
    let lines: String = (0..120)
        .map(|i| format!("line {i} {}\n", "x".repeat(60)))
        .collect();
    let big = format!("Your code is 909090.\n{lines}");
    let out = swaks(&smtp, &address, "Too big", &big, &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("552"), "{}", text(&out));
    assert_eq!(count(&owner.json(&["inbox", "list"])), 1);
}

/// A connector waits for the code the app emails during its login: `castellan serve` receives the
/// mail from swaks on its SMTP port and stores it; a bot worker in this process (over the same
/// database and master key, with a connector registered here) runs the hub's first sync, whose
/// login gets exactly that code through `ConnectorContext::codes`, not an older one, and a wait
/// with no new mail gives `None` after its timeout. The read is recorded as the bot's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_wait_for_the_code_sent_during_a_login() {
    require("swaks", "swaks");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // No workers in the server: the bot under test is the one in this process.
    let server = Server::start_env(&host_args(&data, None, None), &[("CASTELLAN_WORKERS", "0")]);
    let smtp = server.smtp_addr();
    let owner = Cli::new(&server.url, &tmp.path().join("owner"));
    owner.claim(&server.setup_token(), "owner@example.com");
    owner.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "Chat bot",
            "--app",
            "matrix-synapse",
            "--username",
            "bot@example.com",
            "--setup",
            "placeholder",
            "--password-stdin",
        ],
        "bot-password-1\n",
    );
    let address = owner.json(&["accounts", "email", "Chat bot", "--use-as-username"])["address"]
        .as_str()
        .unwrap()
        .to_owned();
    // An older code, sent before the login: the connector must not get it.
    let out = swaks(
        &smtp,
        &address,
        "Your sign-in code",
        "Your sign-in code is 111 222.",
        &[],
    );
    assert!(out.status.success(), "swaks failed: {}", text(&out));
    assert_eq!(owner.ok(&["inbox", "code", "Chat bot"]).trim(), "111222");
    let hub = owner.json(&[
        "hub",
        "connect",
        "--app",
        "matrix-synapse",
        "--label",
        "Chat",
        "--account",
        "Chat bot",
        "--base-url",
        "http://127.0.0.1:9",
        "--login-method",
        "password_email_code",
    ]);
    let hub_id = hub["id"].as_str().unwrap().to_owned();

    let store = SqlStore::connect(&format!("sqlite://{}", data.join("castellan.db").display()))
        .await
        .expect("open the server's database");
    let keys = Keyring::load(&data.join("master.key")).expect("the server's master key");
    let svc = Castellan::new(Arc::new(store), Arc::new(StaticKeys(Arc::new(keys)))).unwrap();
    let connector = Arc::new(EmailCodeConnector {
        smtp: smtp.clone(),
        sends: "604-219".into(),
        seen: std::sync::Mutex::new(vec![]),
    });
    let bot = Bot::new(
        svc,
        Arc::new(OneConnector(connector.clone())),
        BotConfig {
            worker_id: "test-worker".into(),
            lease: chrono::Duration::seconds(120),
            poll: Duration::from_millis(100),
            backoff_base: chrono::Duration::seconds(1),
        },
    );
    assert!(bot.run_one().await.expect("run the job"), "no job queued");

    let seen = std::mem::take(&mut *connector.seen.lock().unwrap());
    assert_eq!(seen.len(), 1, "the connector logged in once");
    let (first, second, waited) = &seen[0];
    let got = first
        .as_ref()
        .expect("the wait succeeds")
        .as_ref()
        .expect("the code sent during the login arrives");
    assert_eq!(got.code.as_deref(), Some("604219"), "{got:?}");
    assert_eq!(got.kind, InboxKind::Email);
    assert_eq!(got.from, "no-reply@slack.com");
    assert!(
        !format!("{got:?}").contains("604219"),
        "Debug shows the code"
    );
    assert_eq!(second, &Ok(None), "no new mail: the wait times out");
    assert!(
        *waited >= Duration::from_millis(1400),
        "the second wait returned after {waited:?}"
    );
    let jobs = owner.json(&["jobs", "list", "--hub", &hub_id]);
    assert_eq!(jobs[0]["state"], "completed", "{jobs:#}");

    // The bot's read is recorded like any other: by the bot, on the account, without the code.
    let reads = owner.json(&["activity", "list", "--action", "inbox.code_read"]);
    let by_bot: Vec<&Value> = reads
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_kind"] == "bot")
        .collect();
    assert_eq!(by_bot.len(), 1, "{reads:#}");
    assert_eq!(by_bot[0]["target_label"], "Chat bot");
    assert!(!reads.to_string().contains("604219"));
}
