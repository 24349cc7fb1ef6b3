//! Router tests of a job's page in the web app: the job and its (empty) record; a job that
//! needs attention shows why and offers the session upload, whose refusal is shown on the page;
//! the upload needs the CSRF token; a missing screenshot is a 404. No worker runs here.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;
use castellan_core::activity::{ActivityAction, Actor, NewEvent};
use castellan_core::hub::{Attention, JobState};
use castellan_core::ports::{JobFilter, JobStore};
use castellan_store::SqlStore;
use common::{TestApp, PASSWORD};
use serde_json::json;
use web::Browser;

/// A hub on the fake Synapse address with its first check queued; returns the hub and the job.
async fn hub_with_a_job(app: &TestApp, token: &str) -> (String, String) {
    let acc = app
        .post(
            "/api/v1/accounts",
            token,
            json!({ "label": "Chat bot", "app": "matrix-synapse", "username": "admin", "password": "adminpass", "setup": "placeholder" }),
        )
        .await
        .ok()
        .str("id");
    let hub = app
        .post(
            "/api/v1/hubs",
            token,
            json!({ "app": "matrix-synapse", "label": "Chat", "base_url": "http://127.0.0.1:9", "automation_account_id": acc }),
        )
        .await
        .ok()
        .str("id");
    let jobs = app
        .get(&format!("/api/v1/jobs?hub_id={hub}"), token)
        .await
        .ok()
        .json();
    let job = jobs[0]["id"].as_str().unwrap().to_owned();
    (hub, job)
}

/// Puts the queued `job` in `needs_attention` (a captcha), as the bot would.
async fn needs_attention(app: &TestApp, job: &str) {
    let store = SqlStore::connect(&app.db_url).await.unwrap();
    let mut j = store.job(job.parse().unwrap()).await.unwrap().unwrap();
    j.state = JobState::NeedsAttention;
    j.attention = Some(Attention::Challenge);
    j.error = Some("the app needs a person to continue: a captcha".into());
    let ev = NewEvent::new(
        &Actor::bot("test"),
        ActivityAction::JobNeedsAttention,
        chrono::Utc::now(),
    );
    assert!(store
        .update_job_if(&j, &[JobState::Queued], &ev)
        .await
        .unwrap());
    assert_eq!(
        store.jobs(&JobFilter::default()).await.unwrap().len(),
        1,
        "one job"
    );
    store.close().await;
}

#[tokio::test]
async fn a_jobs_page_shows_its_record_and_how_to_resolve_what_needs_attention() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let b = Browser::sign_in(&app, &owner.email, PASSWORD).await;
    let (hub, job) = hub_with_a_job(&app, &owner.token).await;

    let html = b
        .get(&app, &format!("/automation-log/{job}"))
        .await
        .ok()
        .text();
    assert!(html.contains("Check for updates"), "{html}");
    assert!(html.contains("No step recorded"));
    assert!(
        !html.contains("id=\"session-upload\""),
        "only when a person is needed"
    );
    // The log links to the page.
    let log = b.get(&app, &format!("/hubs/{hub}/log")).await.ok().text();
    assert!(log.contains(&format!("href=\"/automation-log/{job}\"")));

    needs_attention(&app, &job).await;
    let html = b
        .get(&app, &format!("/automation-log/{job}"))
        .await
        .ok()
        .text();
    assert!(html.contains("Captcha resolution required"), "{html}");
    assert!(html.contains("id=\"session-upload\""));
    assert!(html.contains(&format!("id=\"retry-{job}\"")));
    let log = b
        .get(&app, "/automation-log?state=needs_attention")
        .await
        .ok()
        .text();
    assert!(
        log.contains(&format!("data-job=\"{job}\"")) && log.contains("Captcha resolution required")
    );

    // An upload the hub's host has no cookie in: refused on the page, nothing queued.
    let cookies = r#"[{"name": "sid", "value": "secret-value-1", "domain": "elsewhere.test"}]"#;
    let r = b
        .post(
            &app,
            &format!("/hubs/{hub}/session"),
            &[("cookies", cookies), ("job", &job)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(
        html.contains("none of the 1 cookies is for 127.0.0.1"),
        "{html}"
    );
    assert!(!html.contains("secret-value-1"), "never echoed");
    let j = app
        .get(&format!("/api/v1/jobs/{job}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(j["state"], "needs_attention");
    // Without the CSRF token: refused.
    let ours = r#"[{"name": "sid", "value": "secret-value-2"}]"#;
    let fields = [("cookies", ours), ("job", job.as_str())];
    let r = b
        .post_raw(&app, &format!("/hubs/{hub}/session"), &fields)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A cookie for the hub's host (no domain: the host's own), which the app takes: the job is
    // queued again and the page says so.
    let r = b.post(&app, &format!("/hubs/{hub}/session"), &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let back = format!("/automation-log/{job}?done=session");
    assert_eq!(r.headers["location"].to_str().unwrap(), back);
    let html = b.get(&app, &back).await.ok().text();
    assert!(
        html.contains("jobs that needed attention run again"),
        "{html}"
    );
    let j = app
        .get(&format!("/api/v1/jobs/{job}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(
        (&j["state"], &j["attention"]),
        (&json!("queued"), &json!(null))
    );
    let log = app
        .get("/api/v1/activity?action=hub.session_upload", &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(log.as_array().unwrap().len(), 1, "{log:#}");
    assert!(
        !log.to_string().contains("secret-value-2"),
        "no cookie in the log"
    );
    // No screenshot kept: 404, as through the API.
    let r = b
        .get(&app, &format!("/automation-log/{job}/steps/1.png"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get(&format!("/api/v1/jobs/{job}/steps"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(r, json!([]));
}
