//! Router tests of the shared inbox: managed addresses and numbers, the signed SMS webhook,
//! reading messages and codes, and who may see what.

mod common;

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use common::{TestApp, World, SMS_AUTH_TOKEN, SMS_PUBLIC_URL};
use serde_json::{json, Value};

/// An owner, an account of theirs with a managed number, and the number.
async fn with_number(app: &TestApp, owner: &str) -> (String, String) {
    let acc = app
        .post(
            "/api/v1/accounts",
            owner,
            json!({ "label": "GitHub bot", "app": "github" }),
        )
        .await
        .ok()
        .str("id");
    app.post(
        "/api/v1/phone-numbers",
        owner,
        json!({ "numbers": ["+1 500 555 0006"] }),
    )
    .await
    .ok();
    let n = app
        .post(&format!("/api/v1/accounts/{acc}/phone"), owner, json!({}))
        .await
        .ok()
        .str("e164");
    assert_eq!(n, "+15005550006");
    (acc, n)
}

fn messages(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn sms_webhook_stores_signed_messages_once_and_refuses_the_rest() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let t = owner.token.as_str();
    let (acc, number) = with_number(&app, t).await;

    let r = app
        .sms(
            "+14155550100",
            &number,
            "Your GitHub verification code: 834921",
            "SM1",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.content_type(), "application/xml");
    // A retry of the same provider message is stored once.
    app.sms(
        "+14155550100",
        &number,
        "Your GitHub verification code: 834921",
        "SM1",
    )
    .await
    .ok();
    let list = app.get("/api/v1/inbox", t).await.ok().json();
    assert_eq!(messages(&list), 1, "{list}");
    assert_eq!(list[0]["kind"], "sms");
    assert_eq!(list[0]["has_code"], true);
    assert!(list[0]["code"].is_null(), "listings leave codes out");

    let code = app
        .get(&format!("/api/v1/accounts/{acc}/inbox/code"), t)
        .await
        .ok()
        .json();
    assert_eq!(code["code"], "834921");
    assert_eq!(code["kind"], "sms");
    let shown = app
        .get(
            &format!("/api/v1/inbox/{}", list[0]["id"].as_str().unwrap()),
            t,
        )
        .await
        .ok()
        .json();
    assert_eq!(shown["code"], "834921");
    assert_eq!(shown["text"], "Your GitHub verification code: 834921");

    // A tampered body, a missing signature, and a signature over another URL: 403.
    let form = "From=%2B14155550100&To=%2B15005550006&Body=Your+code+is+000000&MessageSid=SM2";
    let good_sig = castellan_inbox::twilio_signature(
        SMS_AUTH_TOKEN,
        &format!("{SMS_PUBLIC_URL}/api/v1/webhooks/sms"),
        &[
            ("From".into(), "+14155550100".into()),
            ("To".into(), "+15005550006".into()),
            ("Body".into(), "Your code is 111111".into()),
            ("MessageSid".into(), "SM2".into()),
        ],
    );
    let other_url = castellan_inbox::twilio_signature(
        SMS_AUTH_TOKEN,
        "http://elsewhere.test/api/v1/webhooks/sms",
        &[
            ("From".into(), "+14155550100".into()),
            ("To".into(), "+15005550006".into()),
            ("Body".into(), "Your code is 000000".into()),
            ("MessageSid".into(), "SM2".into()),
        ],
    );
    let form_ct = (header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let sig = header::HeaderName::from_static("x-twilio-signature");
    for headers in [
        vec![form_ct.clone(), (sig.clone(), good_sig.as_str())],
        vec![form_ct.clone()],
        vec![form_ct.clone(), (sig.clone(), other_url.as_str())],
    ] {
        let r = app
            .raw("POST", "/api/v1/webhooks/sms", &headers, form.into())
            .await;
        r.assert_problem(StatusCode::FORBIDDEN, &["X-Twilio-Signature"]);
    }
    // An unknown number and a free one: 404, nothing stored.
    app.post(
        "/api/v1/phone-numbers",
        t,
        json!({ "numbers": ["+15005550007"] }),
    )
    .await
    .ok();
    for to in ["+15005550009", "+15005550007"] {
        let r = app
            .sms("+14155550100", to, "Your code is 222222", "SM3")
            .await;
        r.assert_problem(StatusCode::NOT_FOUND, &["phone number"]);
    }
    // A signed form without `To`: 400.
    let r = app.sms("+14155550100", "", "x", "SM4").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(messages(&app.get("/api/v1/inbox", t).await.ok().json()), 1);
}

#[tokio::test]
async fn managed_addresses_and_numbers() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let t = owner.token.as_str();
    let acc = app
        .post(
            "/api/v1/accounts",
            t,
            json!({ "label": "Ops Figma", "app": "figma", "username": "ops@example.com" }),
        )
        .await
        .ok()
        .str("id");
    // No body: an address, the username unchanged.
    let r = app
        .raw(
            "POST",
            &format!("/api/v1/accounts/{acc}/email"),
            &[(header::AUTHORIZATION, &format!("Bearer {t}"))],
            vec![],
        )
        .await
        .ok();
    let address = r.str("address");
    assert!(
        address.starts_with("figma-") && address.ends_with("@castellan.localhost"),
        "{address}"
    );
    let a = app.get(&format!("/api/v1/accounts/{acc}"), t).await.ok();
    assert_eq!(a.str("username"), "ops@example.com");
    // Again with use_as_username: the same address, now the username.
    let again = app
        .post(
            &format!("/api/v1/accounts/{acc}/email"),
            t,
            json!({ "use_as_username": true }),
        )
        .await
        .ok();
    assert_eq!(again.str("address"), address);
    let a = app.get(&format!("/api/v1/accounts/{acc}"), t).await.ok();
    assert_eq!(a.str("username"), address);
    // Unknown fields are refused.
    let r = app
        .post(
            &format!("/api/v1/accounts/{acc}/email"),
            t,
            json!({ "use_as_usernme": true }),
        )
        .await;
    assert!(r.status.is_client_error() && r.detail().contains("use_as_usernme"));

    // Numbers: E.164 checked, duplicates skipped, an empty pool is a 409 on assignment.
    let r = app
        .post(
            "/api/v1/phone-numbers",
            t,
            json!({ "numbers": ["+1 500 555 0006", "555-0100"] }),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["numbers[1]", "E.164"]);
    let r = app
        .post(&format!("/api/v1/accounts/{acc}/phone"), t, json!({}))
        .await;
    r.assert_problem(StatusCode::CONFLICT, &["no free phone number"]);
    let pool = app
        .post(
            "/api/v1/phone-numbers",
            t,
            json!({ "numbers": ["+15005550006", "0015005550006"] }),
        )
        .await;
    assert_eq!(pool.status, StatusCode::CREATED);
    assert_eq!(messages(&pool.json()), 1);
    let n = app
        .post(&format!("/api/v1/accounts/{acc}/phone"), t, json!({}))
        .await
        .ok();
    assert_eq!(n.str("e164"), "+15005550006");
    assert_eq!(n.json()["account_id"], json!(acc));
}

#[tokio::test]
async fn people_see_only_messages_of_accounts_they_may_view() {
    let w = World::new().await;
    let owner = w.owner.token.clone();
    let (acc, number) = with_number(&w.app, &owner).await;
    w.app
        .sms("+14155550100", &number, "Your code is 135790", "SM1")
        .await
        .ok();
    let id = w.app.get("/api/v1/inbox", &owner).await.ok().json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = w.of(WorkspaceRole::User).clone();
    assert_eq!(
        messages(&w.app.get("/api/v1/inbox", &user.token).await.ok().json()),
        0
    );
    w.app
        .get(&format!("/api/v1/inbox/{id}"), &user.token)
        .await
        .assert_problem(StatusCode::NOT_FOUND, &["inbox message"]);
    w.app
        .get(&format!("/api/v1/accounts/{acc}/inbox/code"), &user.token)
        .await
        .assert_problem(StatusCode::NOT_FOUND, &["account"]);
    // Shared as a collaborator: visible, and the code is readable.
    w.app
        .put(
            &format!("/api/v1/accounts/{acc}/access/{}", user.person_id),
            &owner,
            json!({ "role": "collaborator" }),
        )
        .await
        .ok();
    assert_eq!(
        messages(&w.app.get("/api/v1/inbox", &user.token).await.ok().json()),
        1
    );
    let code = w
        .app
        .get(&format!("/api/v1/accounts/{acc}/inbox/code"), &user.token)
        .await
        .ok()
        .json();
    assert_eq!(code["code"], "135790");
    // Reads are recorded, without the code.
    let events = w
        .app
        .get("/api/v1/activity?action=inbox.", &owner)
        .await
        .ok()
        .text();
    assert!(events.contains("inbox.code_received") && events.contains("inbox.code_read"));
    assert!(!events.contains("135790"));
    // Waiting for a code that never comes: 404 after the wait.
    let started = std::time::Instant::now();
    let since = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    w.app
        .get(
            &format!(
                "/api/v1/accounts/{acc}/inbox/code?wait=1&since={}",
                url::form_urlencoded::byte_serialize(since.as_bytes()).collect::<String>()
            ),
            &user.token,
        )
        .await
        .assert_problem(StatusCode::NOT_FOUND, &["within 1 s"]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    // Filters: by kind and by a bad kind.
    assert_eq!(
        messages(
            &w.app
                .get("/api/v1/inbox?kind=email", &owner)
                .await
                .ok()
                .json()
        ),
        0
    );
    assert_eq!(
        w.app.get("/api/v1/inbox?kind=fax", &owner).await.status,
        StatusCode::BAD_REQUEST
    );
}

/// The labels of the accounts of `GET /api/v1/inbox?{query}`, newest message first.
async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let list = app
        .get(&format!("/api/v1/inbox?{query}"), token)
        .await
        .ok()
        .json();
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|m| m["account_label"].as_str().unwrap().to_owned())
        .collect()
}

/// `since` / `until` query value for `t`, percent-encoded.
fn at(t: chrono::DateTime<chrono::Utc>) -> String {
    let s = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A pause that puts the next message in a later millisecond than `now()` before it.
async fn tick() -> chrono::DateTime<chrono::Utc> {
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    let t = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    t
}

#[tokio::test]
async fn inbox_filters_narrow_the_list_and_bad_filters_are_refused() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let t = owner.token.as_str();
    let personal = app.default_vault(t).await;
    let team = app
        .post("/api/v1/vaults", t, json!({ "name": "Team" }))
        .await
        .ok()
        .str("id");
    let mut ids = vec![];
    for (label, app_id, vault) in [
        ("GitHub bot", "github", &personal),
        ("Slack bot", "slack", &team),
        ("GitHub ops", "github", &team),
    ] {
        ids.push(
            app.post(
                "/api/v1/accounts",
                t,
                json!({ "label": label, "app": app_id, "vault_id": vault }),
            )
            .await
            .ok()
            .str("id"),
        );
    }
    let (github, slack, github_ops) = (&ids[0], &ids[1], &ids[2]);
    app.post(
        "/api/v1/phone-numbers",
        t,
        json!({ "numbers": ["+15005550006", "+15005550007"] }),
    )
    .await
    .ok();
    let mut numbers = vec![];
    for acc in [github, github_ops] {
        numbers.push(
            app.post(&format!("/api/v1/accounts/{acc}/phone"), t, json!({}))
                .await
                .ok()
                .str("e164"),
        );
    }
    let address = app
        .post(&format!("/api/v1/accounts/{slack}/email"), t, json!({}))
        .await
        .ok()
        .str("address");

    // An SMS, then an email, then an SMS, each in its own time slot.
    let t0 = tick().await;
    app.sms(
        "+14155550100",
        &numbers[0],
        "Your GitHub code: 111111",
        "SM1",
    )
    .await
    .ok();
    let t1 = tick().await;
    app.email(
        "feedback@slack.com",
        &address,
        "Slack confirmation code",
        "Your confirmation code is 222-333.",
    )
    .await;
    let t2 = tick().await;
    app.sms(
        "+14155550100",
        &numbers[1],
        "Your GitHub code: 444444",
        "SM2",
    )
    .await
    .ok();
    let t3 = tick().await;

    let all = ["GitHub ops", "Slack bot", "GitHub bot"];
    assert_eq!(listed(&app, t, "").await, all);
    // Each filter narrows the list to exactly the matching messages.
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("app=github".into(), vec!["GitHub ops", "GitHub bot"]),
        ("app=slack".into(), vec!["Slack bot"]),
        ("app=figma".into(), vec![]),
        (format!("account_id={slack}"), vec!["Slack bot"]),
        (format!("account_id={github}"), vec!["GitHub bot"]),
        (format!("vault_id={team}"), vec!["GitHub ops", "Slack bot"]),
        (format!("vault_id={personal}"), vec!["GitHub bot"]),
        ("kind=email".into(), vec!["Slack bot"]),
        ("kind=sms".into(), vec!["GitHub ops", "GitHub bot"]),
        (format!("since={}", at(t1)), vec!["GitHub ops", "Slack bot"]),
        (format!("until={}", at(t1)), vec!["GitHub bot"]),
        (
            format!("since={}&until={}", at(t1), at(t2)),
            vec!["Slack bot"],
        ),
        (format!("since={}&until={}", at(t0), at(t3)), all.to_vec()),
        (format!("since={}", at(t3)), vec![]),
        (
            format!("app=github&vault_id={team}&kind=sms"),
            vec!["GitHub ops"],
        ),
        (format!("kind=email&vault_id={personal}"), vec![]),
        ("limit=1".into(), vec!["GitHub ops"]),
    ];
    for (query, expected) in cases {
        assert_eq!(listed(&app, t, &query).await, expected, "?{query}");
    }

    // Bad values are refused with a problem naming the parameter.
    for (query, status, field) in [
        ("kind=fax", StatusCode::BAD_REQUEST, "kind"),
        ("account_id=slack", StatusCode::BAD_REQUEST, "account_id"),
        ("vault_id=12345", StatusCode::BAD_REQUEST, "vault_id"),
        ("since=yesterday", StatusCode::BAD_REQUEST, "since"),
        (
            "until=2024-13-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
            "until",
        ),
        ("limit=many", StatusCode::BAD_REQUEST, "limit"),
        ("acount_id=x", StatusCode::BAD_REQUEST, "acount_id"),
    ] {
        let r = app.get(&format!("/api/v1/inbox?{query}"), t).await;
        r.assert_problem(status, &[field]);
    }
    let r = app
        .get(
            &format!("/api/v1/inbox?since={}&until={}", at(t2), at(t1)),
            t,
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["since", "until"]);
    assert_eq!(r.json()["errors"][0]["field"], "since");
}
