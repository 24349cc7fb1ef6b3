//! 2FA managed by Castellan through the CLI and the real server.

mod common;

use common::{host_args, Cli, Server};

/// The RFC 6238 SHA1 seed "12345678901234567890" in base32.
const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rfc_params() -> castellan_otp::OtpParams {
    let (secret, _) = castellan_otp::parse_secret(RFC_SECRET).unwrap();
    castellan_otp::OtpParams::new(castellan_otp::Kind::Totp, secret)
}

#[test]
fn authenticator_by_secret_uri_qr_and_migration_with_codes_verification_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&host_args(&data, None, None));
    let cli = Cli::new(&server.url, &tmp.path().join("cfg"));
    cli.claim(&server.setup_token(), "owner@example.com");
    for label in ["GitHub", "Slack", "Figma", "Counter"] {
        cli.ok_stdin(
            &[
                "accounts",
                "add",
                "--label",
                label,
                "--app",
                &label.to_lowercase().replace("counter", "zoom"),
                "--password-stdin",
            ],
            "pw-1234567890\n",
        );
    }

    // 1. A pasted secret, sloppy: lower case, spaces, hyphens. Codes match an independent
    //    computation (castellan-otp, tested against the RFC vectors).
    let sloppy = "gezd gnbv-gy3t qojq gezd gnbv gy3t qojq";
    let v = cli.json_stdin(
        &["totp", "add", "GitHub", "--secret-stdin"],
        &format!("{sloppy}\n"),
    );
    assert_eq!(v["kind"], "totp");
    assert_eq!(v["digits"], 6);
    let shown = cli.json(&["totp", "show", "GitHub"]);
    let t = now();
    let expected = [
        castellan_otp::code_at(&rfc_params(), t - 1),
        castellan_otp::code_at(&rfc_params(), t),
    ];
    assert!(
        expected.contains(&shown["code"].as_str().unwrap().to_owned()),
        "{shown} vs {expected:?}"
    );
    assert!(shown["seconds_remaining"].as_u64().unwrap() <= 30);
    assert!(cli.json(&["accounts", "show", "GitHub"])["has_totp"]
        .as_bool()
        .unwrap());

    // 2. Verification: a typed code is accepted once, never twice.
    let code = castellan_otp::code_at(&rfc_params(), now());
    assert!(cli
        .ok(&["totp", "verify", "GitHub", &code])
        .contains("valid"));
    let again = cli.run(&["totp", "verify", "GitHub", &code]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already used"));
    assert!(
        !cli.run(&["totp", "verify", "GitHub", "000000"])
            .status
            .success()
            || code == "000000"
    );

    // 3. An otpauth URI with an 80-bit secret (accepted with a warning) and disagreeing issuers.
    let out = cli.run_stdin(&["totp", "add", "Slack", "--uri-stdin"], "otpauth://totp/Slack%20Corp:ops%40acme.com?secret=JBSWY3DPEHPK3PXP&issuer=Slack&digits=8&period=60&algorithm=SHA256\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warn = String::from_utf8_lossy(&out.stderr);
    assert!(warn.contains("80"), "short-secret warning: {warn}");
    let v = cli.json(&["totp", "show", "Slack"]);
    assert_eq!(v["code"].as_str().unwrap().len(), 8);
    assert_eq!(v["period"], 60);

    // 4. A QR image: export GitHub's QR to a PNG, upload it to Figma: same codes.
    let png = tmp.path().join("github.png");
    let uri = cli.ok(&["totp", "export", "GitHub", "--qr", png.to_str().unwrap()]);
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    cli.ok(&["totp", "add", "Figma", "--qr", png.to_str().unwrap()]);
    let (a, b) = (
        cli.json(&["totp", "show", "GitHub"]),
        cli.json(&["totp", "show", "Figma"]),
    );
    assert_eq!(a["code"], b["code"]);

    // 5. A Google Authenticator export with three accounts makes three accounts with 2FA.
    let mut entries = vec![];
    for (issuer, name) in [
        ("GitLab", "ops@acme.com"),
        ("Dropbox", "it@acme.com"),
        ("Unknown Co", "x@acme.com"),
    ] {
        let mut p = rfc_params();
        p.issuer = Some(issuer.into());
        p.account_name = Some(name.into());
        entries.push(p);
    }
    let mig = castellan_otp::migration_uri(&entries);
    let imported = cli.json_stdin(&["totp", "import"], &format!("{mig}\n"));
    assert_eq!(imported.as_array().unwrap().len(), 3, "{imported}");
    let gl = imported
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"]["label"] == "GitLab (ops@acme.com)")
        .expect("GitLab imported");
    assert_eq!(gl["account"]["app_id"], "gitlab");
    assert_eq!(gl["account"]["has_totp"], true);
    let c = cli.json(&["totp", "show", "GitLab (ops@acme.com)"]);
    let t = now();
    assert!([
        castellan_otp::code_at(&rfc_params(), t - 1),
        castellan_otp::code_at(&rfc_params(), t)
    ]
    .contains(&c["code"].as_str().unwrap().to_owned()));

    // 6. Refusals name the problem and change nothing.
    for (input, needle) in [
        ("\n", "secret is empty"),
        ("JBSWY3DPEHPK3PX1\n", "not a base32 character"),
    ] {
        let out = cli.run_stdin(&["totp", "add", "Counter", "--secret-stdin"], input);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        cli.json(&["accounts", "show", "Counter"])["has_totp"],
        false
    );

    // 7. HOTP: counters advance atomically; 20 concurrent readers never get the same code.
    cli.ok_stdin(
        &["totp", "add", "Counter", "--uri-stdin"],
        &format!("otpauth://hotp/Zoom:bot?secret={RFC_SECRET}&counter=0\n"),
    );
    let codes: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..20)
            .map(|_| {
                s.spawn(|| {
                    cli.json(&["totp", "show", "Counter"])["code"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut expected: Vec<String> = (0..20)
        .map(|c| castellan_otp::hotp(&rfc_params(), c))
        .collect();
    let mut got = codes.clone();
    got.sort();
    expected.sort();
    assert_eq!(
        got, expected,
        "each HOTP counter 0..20 handed out exactly once"
    );

    // Every HOTP read is recorded (each uses a code up); TOTP reads once per session and
    // account in 10 minutes (GitHub was read twice by this login); the export is recorded; the
    // chain verifies.
    let reads = cli.json(&[
        "activity",
        "list",
        "--action",
        "account.totp_code",
        "--limit",
        "100",
    ]);
    let reads = reads.as_array().unwrap();
    let on = |label: &str| {
        reads
            .iter()
            .filter(|e| e["target_label"] == serde_json::json!(label))
            .count()
    };
    assert_eq!((on("Counter"), on("GitHub")), (20, 1));
    assert_eq!(reads.len(), 24, "20 HOTP reads and 4 accounts' TOTP reads");
    assert_eq!(
        cli.json(&["activity", "list", "--action", "account.totp_export"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(cli.ok(&["activity", "verify"]).contains("intact"));

    // The secret is never stored in plaintext.
    for entry in std::fs::read_dir(&data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for needle in [RFC_SECRET.as_bytes(), b"JBSWY3DPEHPK3PXP".as_slice()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "secret in a database file"
            );
        }
    }
    assert!(!server.logs().contains(RFC_SECRET));
}

#[test]
fn collaborators_read_codes_but_cannot_export_the_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&host_args(&tmp.path().join("data"), None, None));
    let owner = Cli::new(&server.url, &tmp.path().join("owner"));
    owner.claim(&server.setup_token(), "owner@example.com");
    owner.ok_stdin(
        &[
            "accounts",
            "add",
            "--label",
            "X",
            "--app",
            "x-twitter",
            "--password-stdin",
        ],
        "pw-1234567890\n",
    );
    owner.ok_stdin(
        &["totp", "add", "X", "--secret-stdin"],
        &format!("{RFC_SECRET}\n"),
    );
    let inv = owner.json(&[
        "people",
        "invite",
        "--email",
        "cara@example.com",
        "--name",
        "Cara",
        "--role",
        "user",
    ]);
    let cara = Cli::new(&server.url, &tmp.path().join("cara"));
    cara.ok_stdin(
        &[
            "accept-invitation",
            "--email",
            "cara@example.com",
            "--invitation-token",
            inv["invitation_token"].as_str().unwrap(),
            "--password-stdin",
        ],
        "cara-password-123\n",
    );
    cara.ok_stdin(
        &["login", "--email", "cara@example.com", "--password-stdin"],
        "cara-password-123\n",
    );
    owner.ok(&[
        "accounts",
        "share",
        "X",
        "cara@example.com",
        "--role",
        "collaborator",
    ]);
    assert_eq!(
        cara.json(&["totp", "show", "X"])["code"]
            .as_str()
            .unwrap()
            .len(),
        6
    );
    let out = cara.run(&["totp", "export", "X"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));
}
