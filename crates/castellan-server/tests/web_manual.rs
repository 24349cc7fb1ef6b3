//! Router tests of manual hubs in the web app: the hub page's "Tasks for the app admin" section
//! and roster upload (a bad row shows the error and keeps what was typed; a good roster
//! verifies the task), and `/tasks`, where the app admin (a `user`, who cannot open the hub
//! page) marks a task done with the session's CSRF token. The bot runs in process.

mod common;
#[path = "common/web.rs"]
mod web;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use castellan_core::service::{Bot, BotConfig};
use common::{Resp, TestApp, PASSWORD};
use serde_json::{json, Value};
use web::{attr, block, location, Browser};

/// Runs the bot until no job is due.
async fn drain(app: &TestApp) {
    let bot = Bot::new(
        app.svc.clone(),
        Arc::new(castellan_testkit::FakeRegistry::new()),
        BotConfig::default(),
    );
    while bot.run_one().await.expect("run a job") {}
}

/// Posts `multipart/form-data` with the session cookie: the CSRF token first, then `fields`.
async fn post_multipart(b: &Browser, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Resp {
    let boundary = "castellan-roster-boundary-41c2";
    let mut body = String::new();
    for (k, v) in [("csrf", b.csrf.as_str())].iter().chain(fields) {
        let file = if *k == "roster" {
            "; filename=\"roster.csv\"\r\nContent-Type: text/csv"
        } else {
            ""
        };
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"{file}\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let ct = format!("multipart/form-data; boundary={boundary}");
    app.raw(
        "POST",
        path,
        &[(header::COOKIE, &b.cookie), (header::CONTENT_TYPE, &ct)],
        body.into_bytes(),
    )
    .await
}

async fn tasks(app: &TestApp, token: &str, hub: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/hubs/{hub}/tasks"), token)
        .await
        .ok()
        .json()
        .as_array()
        .expect("tasks")
        .clone()
}

#[tokio::test]
async fn the_app_admin_sees_and_marks_tasks_and_a_roster_upload_verifies_them() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let it = app
        .person(&owner.token, "it@example.com", WorkspaceRole::User)
        .await;
    let ana = app
        .person(&owner.token, "ana@example.com", WorkspaceRole::User)
        .await;
    let acc = app
        .post(
            "/api/v1/accounts",
            &owner.token,
            json!({ "label": "monday.com admin", "app": "monday", "username": "it@example.com", "password": "monday-pass-1" }),
        )
        .await
        .ok()
        .str("id");
    let hub = app
        .post(
            "/api/v1/hubs",
            &owner.token,
            json!({ "app": "monday", "label": "monday.com", "connector": "manual", "automation_account_id": acc, "settings": { "app_admin": "it@example.com" } }),
        )
        .await
        .ok()
        .str("id");
    drain(&app).await;
    app.put(
        &format!("/api/v1/hubs/{hub}/grants/{}", ana.person_id),
        &owner.token,
        json!({ "app_role": "member" }),
    )
    .await
    .ok();
    drain(&app).await;
    let t = tasks(&app, &owner.token, &hub).await;
    assert_eq!(t.len(), 1, "{t:#?}");
    let task = t[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (t[0]["kind"].as_str(), t[0]["state"].as_str()),
        (Some("invite"), Some("open"))
    );

    // The hub page of a manual hub shows the tasks and the upload form.
    let owner_b = Browser::sign_in(&app, &owner.email, PASSWORD).await;
    let page = owner_b.get(&app, &format!("/hubs/{hub}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    let section = block(&html, "tasks", "</section>").expect("a tasks section");
    assert!(section.contains("it@example.com"), "{section}");
    assert!(
        section.contains(&format!("id=\"done-{task}\"")),
        "{section}"
    );
    assert!(section.contains("ana@example.com"), "{section}");
    assert!(section.contains("id=\"roster-upload\""), "{section}");

    // The app admin cannot open the hub page, but sees the task on /tasks and marks it done.
    let it_b = Browser::sign_in(&app, &it.email, PASSWORD).await;
    assert_eq!(
        it_b.get(&app, &format!("/hubs/{hub}")).await.status,
        StatusCode::FORBIDDEN
    );
    let mine = it_b.get(&app, "/tasks").await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    let html = mine.text();
    assert!(html.contains("href=\"/tasks\""), "the nav shows Tasks");
    let row = block(&html, &format!("task-{task}"), "</tr>").expect("the task's row");
    assert!(
        row.contains("monday.com") && row.contains("Invite"),
        "{row}"
    );
    let done_path = format!("/hubs/{hub}/tasks/{task}/done");
    let r = it_b
        .post_raw(&app, &done_path, &[("csrf", "wrong"), ("back", "tasks")])
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a bad CSRF token is refused"
    );
    let r = it_b.post(&app, &done_path, &[("back", "tasks")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(location(&r), "/tasks?done=task_done");
    let after = it_b.get(&app, "/tasks?done=task_done").await.text();
    assert!(after.contains("Marked done"), "{after}");
    assert_eq!(tasks(&app, &owner.token, &hub).await[0]["state"], "done");

    // A bad roster row: the page again (422) with the error, what was typed kept, nothing written.
    let bad = "email,name,role\nana@example.com,Ana,captain\n";
    let r = post_multipart(
        &owner_b,
        &app,
        &format!("/hubs/{hub}/roster"),
        &[("roster_text", bad), ("roster", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = r.text();
    let err = block(&html, "roster-error", "</p>").expect("the error");
    assert!(err.contains("Line 2") && err.contains("captain"), "{err}");
    assert_eq!(
        attr(&html, "roster-file", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(
        html.contains("ana@example.com,Ana,captain"),
        "what was typed is kept"
    );
    // A good file verifies the task and the hub comes in line.
    let good = "email,name,role\nit@example.com,IT,admin\nana@example.com,Ana,member\n";
    let r = post_multipart(
        &owner_b,
        &app,
        &format!("/hubs/{hub}/roster"),
        &[("roster", good)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(location(&r), format!("/hubs/{hub}?done=roster#tasks"));
    assert_eq!(
        tasks(&app, &owner.token, &hub).await[0]["state"],
        "verified"
    );
    drain(&app).await;
    let h = app
        .get(&format!("/api/v1/hubs/{hub}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(h["status"], "healthy", "{h:#}");
    // Without the CSRF token first, the upload is refused before anything is read.
    let r = app
        .raw(
            "POST",
            &format!("/hubs/{hub}/roster"),
            &[
                (header::COOKIE, &owner_b.cookie),
                (header::CONTENT_TYPE, "multipart/form-data; boundary=x"),
            ],
            b"--x\r\nContent-Disposition: form-data; name=\"roster_text\"\r\n\r\nemail,name,role\r\n--x--\r\n".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
}

#[tokio::test]
async fn a_roster_of_100000_members_fits_one_request_and_one_more_is_refused() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    app.person(&owner.token, "it@example.com", WorkspaceRole::User)
        .await;
    let acc = app
        .post(
            "/api/v1/accounts",
            &owner.token,
            json!({ "label": "monday.com admin", "app": "monday", "username": "it@example.com", "password": "monday-pass-1" }),
        )
        .await
        .ok()
        .str("id");
    let hub = app
        .post(
            "/api/v1/hubs",
            &owner.token,
            json!({ "app": "monday", "label": "monday.com", "connector": "manual", "automation_account_id": acc, "settings": { "app_admin": "it@example.com" } }),
        )
        .await
        .ok()
        .str("id");
    let path = format!("/api/v1/hubs/{hub}/roster");
    let auth = format!("Bearer {}", owner.token);
    let put = |body: String| {
        let (app, path, auth) = (&app, path.clone(), auth.clone());
        async move {
            app.raw(
                "PUT",
                &path,
                &[
                    (header::AUTHORIZATION, auth.as_str()),
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                ],
                body.into_bytes(),
            )
            .await
        }
    };
    let mut csv = String::from("email,name,role,id\n");
    for i in 0..100_000 {
        csv.push_str(&format!(
            "member{i}@example.com,Member {i},member,U{i:06}\n"
        ));
    }
    let started = std::time::Instant::now();
    let r = put(csv.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["members"], 100_000);
    eprintln!("100,000 members uploaded in {:?}", started.elapsed());
    // One more row: refused, naming its line.
    csv.push_str("one.more@example.com,One more,member,U100000\n");
    let r = put(csv).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.detail().contains("line 100002"), "{}", r.detail());
    // Past 20 MiB: 413 before anything is parsed; not CSV: 415.
    let r = put("x".repeat(21 * 1024 * 1024)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    let r = app
        .put(&path, &owner.token, json!({ "email": "a@example.com" }))
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text());
}
