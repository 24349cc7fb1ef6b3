//! The web app in a real headless Chromium (Debian's `chromium` + `chromium-driver`), against
//! the real `castellan serve` and a real Matrix Synapse: the story of issue 6 with a
//! screenshot of each step under `target/browser-screenshots/`, and a keyboard-only pass over
//! sign-in, Add account and the hub page.

#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/synapse.rs"]
mod synapse_common;

use browser::Browser;
use common::{host_args, Server};
use fantoccini::key::Key;

const OWNER: &str = "owner@example.com";
const OWNER_PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_and_sign_in_with_the_keyboard() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&host_args(&tmp.path().join("data"), None, None));
    let mut b = Browser::start("sign-in").await;

    // A new workspace: `/` leads to the claim page.
    b.goto(&server.url).await;
    assert_eq!(b.path().await, "/setup");
    let csp = reqwest::get(format!("{}/setup", server.url)).await.unwrap();
    let h = csp.headers();
    let policy = h["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(h["referrer-policy"], "no-referrer");

    // A wrong setup token: the error sits next to the field and what was typed stays.
    b.fill("#setup_token", "cst_setup_wrong").await;
    b.fill("#name", "Olive Owner").await;
    b.fill("#email", OWNER).await;
    b.fill("#password", OWNER_PASSWORD).await;
    b.click("button[type=submit]").await;
    b.el("#setup_token-error").await;
    assert_eq!(
        b.el("#email").await.prop("value").await.unwrap().as_deref(),
        Some(OWNER)
    );
    assert_eq!(
        b.el("#name").await.prop("value").await.unwrap().as_deref(),
        Some("Olive Owner")
    );
    b.shot("claim-wrong-token").await;

    b.fill("#setup_token", &server.setup_token()).await;
    b.fill("#password", OWNER_PASSWORD).await;
    b.click("button[type=submit]").await;
    assert_eq!(b.wait_path("/accounts", 20).await, "/accounts");
    assert!(b.text().await.contains(OWNER));
    b.shot("claimed").await;

    // Sign out: the session is revoked on the server, so the old cookie no longer works.
    let cookie = b.c.get_named_cookie("castellan_session").await.unwrap();
    b.click("header form button[type=submit]").await;
    b.el("#email").await;
    assert_eq!(b.path().await, "/sign-in");
    let r = reqwest::Client::new()
        .get(format!("{}/accounts", server.url))
        .header("cookie", format!("castellan_session={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.url().path(),
        "/sign-in",
        "a revoked session still opens pages"
    );

    // Keyboard only: the email field has focus; Tab walks password, code, the button.
    let f = b.focused().await;
    assert_eq!(f["id"], "email", "{f}");
    b.type_here(OWNER).await;
    assert_eq!(b.tab_to("password", 1).await, ["password"]);
    b.type_here("not the password").await;
    assert_eq!(b.tab_to("code", 1).await, ["code"]);
    let stops = b.tab_to("", 1).await.len();
    assert_eq!(stops, 1);
    let f = b.focused().await;
    assert_eq!(
        (f["tag"].as_str(), f["label"].as_str()),
        (Some("button"), Some("Sign in")),
        "{f}"
    );
    b.press(Key::Enter).await;
    let err = b.el("#general-error").await.text().await.unwrap();
    assert!(err.contains("wrong email or password"), "{err}");
    b.shot("sign-in-wrong-password").await;

    b.fill("#password", OWNER_PASSWORD).await;
    b.el("#password")
        .await
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    assert_eq!(b.wait_path("/accounts", 20).await, "/accounts");
    b.shot("signed-in").await;
}

/// The RFC 6238 SHA1 seed "12345678901234567890" in base32.
const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

const FAST_BOT: &[(&str, &str)] = &[
    ("CASTELLAN_JOB_LEASE_SECS", "3"),
    ("CASTELLAN_RETRY_BASE_SECS", "1"),
    ("CASTELLAN_WORKERS", "1"),
];

/// Claims the workspace through the setup page and lands signed in on the accounts page.
async fn claim(b: &Browser, server: &Server) {
    b.goto(&format!("{}/setup", server.url)).await;
    b.fill("#setup_token", &server.setup_token()).await;
    b.fill("#name", "Olive Owner").await;
    b.fill("#email", OWNER).await;
    b.fill("#password", OWNER_PASSWORD).await;
    b.click("button[type=submit]").await;
    assert_eq!(b.wait_path("/accounts", 20).await, "/accounts");
}

/// Issue 10: changing one's password in the web app. The new password is asked twice (a typo is
/// caught next to the field), a wrong current password is refused, and once it changes this
/// browser stays signed in while another browser's session ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_in_chromium() {
    const NEW_PASSWORD: &str = "a brand new passphrase";
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&host_args(&tmp.path().join("data"), None, None));
    let mut b = Browser::start("password").await;
    claim(&b, &server).await;
    // A second browser signed in as the same person.
    let other = Browser::start("password-other").await;
    other.goto(&format!("{}/sign-in", server.url)).await;
    other.fill("#email", OWNER).await;
    other.fill("#password", OWNER_PASSWORD).await;
    other.click("button[type=submit]").await;
    assert_eq!(other.wait_path("/accounts", 20).await, "/accounts");

    // From "Your sessions" to the form, with the keyboard's order: current, new, again.
    b.goto(&format!("{}/sessions", server.url)).await;
    b.click("a[href='/account-security/password']").await;
    assert_eq!(b.path().await, "/account-security/password");
    b.fill("#current_password", OWNER_PASSWORD).await;
    b.fill("#new_password", NEW_PASSWORD).await;
    b.fill("#confirm_password", "a brand new passphrasf").await;
    b.click("#password-submit").await;
    let err = b.el("#confirm_password-error").await.text().await.unwrap();
    assert!(err.contains("differ"), "{err}");
    b.shot("password-typo").await;

    b.fill("#current_password", "not my password at all").await;
    b.fill("#new_password", NEW_PASSWORD).await;
    b.fill("#confirm_password", NEW_PASSWORD).await;
    b.click("#password-submit").await;
    let err = b.el("#current_password-error").await.text().await.unwrap();
    assert!(err.contains("not right"), "{err}");

    b.fill("#current_password", OWNER_PASSWORD).await;
    b.fill("#new_password", NEW_PASSWORD).await;
    b.fill("#confirm_password", NEW_PASSWORD).await;
    b.el("#confirm_password")
        .await
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    assert_eq!(
        b.wait_path("/account-security", 20).await,
        "/account-security"
    );
    assert!(
        b.text().await.contains("Your password was changed"),
        "{}",
        b.text().await
    );
    b.shot("password-changed").await;

    // This browser stays signed in; the other one is sent to sign in.
    b.goto(&format!("{}/accounts", server.url)).await;
    assert_eq!(b.path().await, "/accounts");
    other.goto(&format!("{}/accounts", server.url)).await;
    assert_eq!(other.path().await, "/sign-in");
    // There, only the new password works.
    other.fill("#email", OWNER).await;
    other.fill("#password", OWNER_PASSWORD).await;
    other.click("button[type=submit]").await;
    let err = other.el("#general-error").await.text().await.unwrap();
    assert!(err.contains("wrong email or password"), "{err}");
    other.fill("#password", NEW_PASSWORD).await;
    other.click("button[type=submit]").await;
    assert_eq!(other.wait_path("/accounts", 20).await, "/accounts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_story_in_chromium_on_a_real_synapse() {
    let syn = synapse_common::Synapse::ensure("main", synapse_common::Synapse::main_port()).await;
    let t = synapse_common::tag();
    let bot = format!("castellan_web_bot_{t}");
    syn.put_user(&bot, "bot-password-1", true, None).await;
    let ana = format!("ana_web_{t}@example.com");

    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(&host_args(&tmp.path().join("data"), None, None), FAST_BOT);
    let mut b = Browser::start("story").await;
    let url = |p: &str| format!("{}{p}", server.url);

    // 1. Claim the workspace and sign in.
    claim(&b, &server).await;
    b.shot("claimed-and-signed-in").await;

    // 2. Add an account with a generated password.
    // Keyboard only: label (focused first), app, username, password, the generator, save.
    b.goto(&url("/accounts/new")).await;
    let f = b.focused().await;
    if f["id"] != "label" {
        b.tab_to("label", 40).await;
    }
    b.type_here("Design team Figma").await;
    b.tab_to("app", 1).await;
    b.type_here("Figma").await;
    b.tab_to("username", 1).await;
    b.type_here("design@example.com").await;
    b.tab_to("password", 1).await;
    b.tab_to("generate", 1).await;
    b.press(Key::Enter).await;
    b.el("#password-note").await;
    let generated = b
        .el("#password")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        generated.chars().count() >= 16,
        "generated password: {generated:?}"
    );
    assert_eq!(
        b.el("#label").await.prop("value").await.unwrap().as_deref(),
        Some("Design team Figma"),
        "the generator keeps what was typed"
    );
    b.shot("add-account-generated-password").await;
    b.tab_to("save", 8).await;
    b.press(Key::Enter).await;
    b.el("#reveal").await;
    let account_page = b.path().await;
    assert!(account_page.starts_with("/accounts/"), "{account_page}");
    let html = b.html().await;
    assert!(
        !html.contains(&generated),
        "the password is in the page before a reveal"
    );
    b.click("#reveal").await;
    let shown = b
        .el("#revealed-password")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(shown.as_deref(), Some(generated.as_str()));
    b.shot("password-revealed").await;

    // 3. Add 2FA by uploading a QR image, and read the code.
    let (secret, _) = castellan_otp::parse_secret(RFC_SECRET).unwrap();
    let mut params = castellan_otp::OtpParams::new(castellan_otp::Kind::Totp, secret);
    params.issuer = Some("Figma".into());
    params.account_name = Some("design@example.com".into());
    let qr = tmp.path().join("figma-qr.png");
    std::fs::write(&qr, castellan_otp::qr_png(&params).unwrap()).unwrap();
    b.goto(&url(&account_page)).await;
    b.el("#totp-qr")
        .await
        .send_keys(&qr.display().to_string())
        .await
        .unwrap();
    b.click("#totp-qr-submit").await;
    let code = b
        .el("#totp-code")
        .await
        .text()
        .await
        .unwrap()
        .replace(' ', "");
    let t0 = now();
    let expected = [t0 - 30, t0, t0 + 1].map(|s| castellan_otp::code_at(&params, s));
    assert!(
        expected.contains(&code),
        "code {code} is not one of {expected:?}"
    );
    let countdown: u64 = b
        .el("#totp-countdown")
        .await
        .text()
        .await
        .unwrap()
        .trim_end_matches('s')
        .trim()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&countdown), "{countdown}");
    // The countdown ticks in the page (app.js), without a reload.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let later = b.el("#totp-countdown").await.text().await.unwrap();
    assert_ne!(
        later.trim_end_matches('s').trim(),
        countdown.to_string(),
        "the countdown did not move"
    );
    b.shot_at("#totp-code", "totp-code").await;

    // 4. Connect a hub on the real Synapse. First the automation account (a placeholder:
    //    a dedicated Synapse admin), then the connect wizard.
    b.goto(&url("/accounts/new")).await;
    b.fill("#label", "Synapse bot").await;
    b.fill("#app", "Matrix Synapse").await;
    b.fill("#username", &bot).await;
    b.fill("#password", "bot-password-1").await;
    b.click("#save").await;
    b.el("#reveal").await;

    b.goto(&url("/hubs/new")).await;
    b.select("#hub-app", "Synapse").await;
    b.shot("hub-wizard-app").await;
    b.click("#hub-next").await;
    b.fill("#hub-label", &format!("Matrix {t}")).await;
    b.fill("#hub-url", &syn.base).await;
    b.click("#hub-next").await;
    b.el("#hub-next, #hub-account").await;
    if b.c
        .find(fantoccini::Locator::Css("#hub-account"))
        .await
        .is_err()
    {
        b.shot("hub-wizard-method").await;
        b.click("#hub-next").await;
    }
    b.select("#hub-account", "Synapse bot").await;
    b.shot("hub-wizard-account").await;
    b.click("#hub-connect").await;
    b.el("#hub-status").await;
    let hub_page = b.path().await;
    assert!(hub_page.starts_with("/hubs/"), "{hub_page}");
    let status = b
        .reload_until_css("#hub-status[data-status=healthy]", 120)
        .await;
    // The shared Synapse keeps the users of every earlier test run, so the report names only
    // the first of them: check the count, not one name.
    let listed: usize = status
        .split("Added (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        listed >= 1,
        "the first sync lists Synapse's members:\n{status}"
    );
    b.shot("hub-connected").await;

    // 5. Share it with a person and see the member appear with the right role.
    b.goto(&url("/people")).await;
    b.fill("#invite-email", &ana).await;
    b.fill("#invite-name", "Ana Web").await;
    b.select("#invite-role", "user").await;
    b.click("#invite-submit").await;
    b.wait_text("Invitation created", 20).await;
    // The hub page with the keyboard only: the skip link first, every stop named and with a
    // visible focus, "Check for updates" reachable, then the share form filled and sent.
    b.goto(&url(&hub_page)).await;
    let stops = b.tab_to("check-for-updates", 40).await;
    let first = b
        .js(
            "return document.querySelector('a.skip').textContent",
            vec![],
        )
        .await;
    assert_eq!(first, "Skip to content");
    assert!(stops.len() > 3, "{stops:?}");
    b.tab_to("share-person", 60).await;
    b.type_here(&ana).await;
    b.tab_to("share-role", 3).await;
    b.type_here("user").await;
    assert_eq!(
        b.el("#share-role")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("user")
    );
    b.tab_to("share-submit", 4).await;
    b.shot_at("#share-submit", "hub-share").await;
    b.press(Key::Enter).await;
    b.el("#hub-status").await;
    // Live progress: the page follows the bot's jobs and reloads itself when they finish,
    // so the member appears without anyone refreshing.
    let member = format!("#members-table tr[data-email=\"{ana}\"]");
    b.el_within(&member, 90).await;
    let row = b.el(&member).await.text().await.unwrap();
    assert!(
        row.contains("user"),
        "ana's member row shows the app role `user`: {row}"
    );
    let u = syn
        .user_by_email(&ana)
        .await
        .expect("ana exists in Synapse");
    assert_eq!(u["admin"], false);
    assert_eq!(u["deactivated"], false);
    b.shot_at(&member, "member-onboarded").await;

    // 6. Revoke, and see them go.
    let ana_id = u["name"].as_str().unwrap().to_owned();
    b.click(&format!("button[data-email=\"{ana}\"]")).await;
    b.goto(&url(&format!("{hub_page}?tab=onboarded"))).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while b.c.find(fantoccini::Locator::Css(&member)).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "ana is still onboarded:\n{}",
            b.text().await
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        b.c.refresh().await.unwrap();
    }
    // The grant is gone from the active grants (listed as revoked, or not at all).
    let active = format!("tr[data-email=\"{ana}\"][data-state=active]");
    assert!(b.c.find(fantoccini::Locator::Css(&active)).await.is_err());
    assert_eq!(syn.user(&ana_id).await.unwrap()["deactivated"], true);
    b.shot_at("#members", "member-revoked").await;
}
