//! The account page's two-factor code: by secret, by a pasted otpauth URI, HOTP's next code on
//! request, and by QR upload (an image that is not a QR code refused), each showing the right code.

use axum::http::StatusCode;
use castellan_otp::{Kind, OtpParams};
use serde_json::json;

use super::web::{api_account, assert_see_other, attr, events, owner_in_browser, tag};
use super::{post_multipart, text_of};

/// The codes valid around now for `p` (the step may turn between request and check).
fn codes_now(p: &OtpParams) -> Vec<String> {
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    [now.saturating_sub(2), now, now + 2]
        .iter()
        .map(|t| castellan_otp::code_at(p, *t))
        .collect()
}

#[tokio::test]
async fn two_factor_by_secret_and_by_qr_upload_shows_the_right_code() {
    let (app, owner, b) = owner_in_browser().await;
    let a = api_account(
        &app,
        &owner.token,
        json!({ "label": "Redmine", "app": "redmine" }),
    )
    .await;
    let q = api_account(
        &app,
        &owner.token,
        json!({ "label": "Notion", "app": "notion" }),
    )
    .await;

    // No 2FA yet: the forms to add it.
    let html = b.get(&app, &format!("/accounts/{a}")).await.text();
    assert!(tag(&html, "totp-code").is_none());
    assert!(tag(&html, "totp-secret").is_some());
    let qr = tag(&html, "totp-qr").expect("the QR upload");
    assert!(qr.contains("type=\"file\"") && qr.contains("accept=\"image/*\""));
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(tag(&html, "totp-qr-submit").is_some());

    // A bad secret: the error next to the field, nothing echoed.
    let r = b
        .post(
            &app,
            &format!("/accounts/{a}/totp"),
            &[("secret", "not base32 !!")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = r.text();
    assert!(text_of(&html, "totp-secret-error").is_some(), "{html}");
    assert!(!html.contains("not base32 !!"));

    // By secret.
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let r = b
        .post(&app, &format!("/accounts/{a}/totp"), &[("secret", secret)])
        .await;
    assert_see_other(&r, &format!("/accounts/{a}?done=totp"));
    let html = b.get(&app, &format!("/accounts/{a}")).await.text();
    let (p, _) = castellan_otp::parse_uri(&format!("otpauth://totp/R:me?secret={secret}")).unwrap();
    let shown = text_of(&html, "totp-code").expect("a code");
    assert!(codes_now(&p).contains(&shown), "{shown}");
    let seconds: u64 = text_of(&html, "totp-countdown").unwrap().parse().unwrap();
    assert!((1..=30).contains(&seconds), "{seconds}");
    assert_eq!(
        attr(&html, "totp-countdown", "data-code-url"),
        Some(format!("/accounts/{a}/totp-code.json"))
    );
    assert!(!html.contains(secret), "the secret is in the page");
    assert!(events(&app, &owner.token, "account.totp_code", &a).await >= 1);
    let j = b.get(&app, &format!("/accounts/{a}/totp-code.json")).await;
    assert_eq!(j.status, StatusCode::OK);
    assert!(j.content_type().starts_with("application/json"));
    assert!(codes_now(&p).contains(&j.json()["code"].as_str().unwrap().to_owned()));

    // By an otpauth URI pasted in the same field.
    let uri = "otpauth://totp/Notion:ops@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Notion&digits=8";
    let r = b
        .post(&app, &format!("/accounts/{q}/totp"), &[("secret", uri)])
        .await;
    assert_see_other(&r, &format!("/accounts/{q}"));
    let html = b.get(&app, &format!("/accounts/{q}")).await.text();
    assert_eq!(text_of(&html, "totp-code").unwrap().len(), 8);
    let r = b
        .post(
            &app,
            &format!("/accounts/{q}/totp/remove"),
            &[("confirm", "1")],
        )
        .await;
    assert_see_other(&r, &format!("/accounts/{q}?done=totp-removed"));
    let html = b.get(&app, &format!("/accounts/{q}")).await.text();
    assert!(tag(&html, "totp-code").is_none() && tag(&html, "totp-qr").is_some());

    // HOTP: the page never uses a code up on its own; the button shows the next one.
    let h = api_account(
        &app,
        &owner.token,
        json!({ "label": "Counter", "app": "miro" }),
    )
    .await;
    let hotp = "otpauth://hotp/Miro:ops?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=5";
    let r = b
        .post(&app, &format!("/accounts/{h}/totp"), &[("secret", hotp)])
        .await;
    assert_see_other(&r, &format!("/accounts/{h}"));
    let html = b.get(&app, &format!("/accounts/{h}")).await.text();
    assert!(tag(&html, "totp-code").is_none() && tag(&html, "totp-next").is_some());
    assert_eq!(
        b.get(&app, &format!("/accounts/{h}/totp-code.json"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let (hp, _) = castellan_otp::parse_uri(hotp).unwrap();
    let expected: Vec<String> = (5..8).map(|c| castellan_otp::hotp(&hp, c)).collect();
    let first = text_of(
        &b.post(&app, &format!("/accounts/{h}/totp/next"), &[])
            .await
            .text(),
        "totp-code",
    )
    .unwrap();
    let second = text_of(
        &b.post(&app, &format!("/accounts/{h}/totp/next"), &[])
            .await
            .text(),
        "totp-code",
    )
    .unwrap();
    assert!(
        expected.contains(&first) && expected.contains(&second),
        "{first} {second} {expected:?}"
    );
    assert_ne!(first, second);

    // By QR upload: an image that is not a QR code is refused next to the upload field.
    let r = post_multipart(
        &b,
        &app,
        &format!("/accounts/{q}/totp/qr"),
        &[("csrf", &b.csrf)],
        ("qr", "cat.png", b"\x89PNG not really"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(text_of(&r.text(), "totp-qr-error").is_some());
    let (mut p, _) = castellan_otp::parse_secret("KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU")
        .map(|(s, w)| (OtpParams::new(Kind::Totp, s), w))
        .unwrap();
    p.issuer = Some("Notion".into());
    p.account_name = Some("ops@example.com".into());
    let png = castellan_otp::qr_png(&p).unwrap();
    let r = post_multipart(
        &b,
        &app,
        &format!("/accounts/{q}/totp/qr"),
        &[("csrf", &b.csrf)],
        ("qr", "qr.png", &png),
    )
    .await;
    assert_see_other(&r, &format!("/accounts/{q}?done=totp"));
    let html = b.get(&app, &format!("/accounts/{q}")).await.text();
    let shown = text_of(&html, "totp-code").expect("a code");
    assert!(codes_now(&p).contains(&shown), "{shown}");
    assert!(html.contains("(Notion)"));
}
