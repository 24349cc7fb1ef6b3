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
    b.el("h1").await;
    assert_eq!(b.path().await, "/accounts");
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
    b.el("main h1").await;
    assert_eq!(b.path().await, "/accounts");
    b.shot("signed-in").await;
}
