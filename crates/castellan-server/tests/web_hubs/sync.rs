//! Syncs from the hub page: check for updates with live job progress as JSON, the automation log
//! with retry and cancel, and the safeguard's confirm button on a halted sync.

use axum::http::StatusCode;
use castellan_core::activity::{ActivityAction, Actor, NewEvent};
use castellan_core::hub::{HubStatus, SyncReport};
use castellan_core::ports::{JobFilter, JobStore};
use castellan_store::SqlStore;

use super::web::{attr, block};
use super::{api_hub, owner_world, see_other, seed_sync};

#[tokio::test]
async fn check_for_updates_live_progress_and_the_automation_log() {
    let (app, token, b) = owner_world().await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    let other = api_hub(&app, &token, "Wiki", "placeholder").await;

    // The first sync is queued: the page polls its feed and offers Refresh and Cancel.
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    assert_eq!(
        attr(&html, "hub-jobs", "data-poll"),
        Some(format!("/hubs/{hub}/jobs.json"))
    );
    assert_eq!(
        attr(&html, "jobs-refresh", "href"),
        Some(format!("/hubs/{hub}?tab=onboarded#hub-jobs"))
    );

    let r = b.post(&app, &format!("/hubs/{hub}/sync"), &[]).await;
    see_other(&r, &format!("/hubs/{hub}?done=sync"));
    let feed = b.get(&app, &format!("/hubs/{hub}/jobs.json")).await.ok();
    assert!(
        feed.content_type().starts_with("application/json"),
        "{}",
        feed.content_type()
    );
    let feed = feed.json();
    let jobs = feed["jobs"].as_array().unwrap();
    assert!(!jobs.is_empty());
    assert!(
        jobs.iter().all(|j| j["hub_id"] == hub.as_str()),
        "only this hub's jobs: {feed}"
    );
    assert_eq!(jobs[0]["task"], "check_for_updates");
    assert_eq!(jobs[0]["state"], "queued");
    assert_eq!(feed["active"], jobs.len());
    let job = jobs[0]["id"].as_str().unwrap().to_owned();

    // Cancel, then retry, from the hub page.
    let back = format!("/hubs/{hub}?tab=guest");
    let r = b
        .post(
            &app,
            &format!("/automation-log/{job}/cancel"),
            &[("back", &back)],
        )
        .await;
    assert_eq!(
        see_other(&r, &back),
        format!("{back}&done=cancelled#hub-jobs")
    );
    let j = app
        .get(&format!("/api/v1/jobs/{job}"), &token)
        .await
        .ok()
        .json();
    assert_eq!(j["state"], "not_completed");
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    assert!(html.contains(&format!("id=\"retry-{job}\"")));
    assert!(
        attr(&html, "hub-jobs", "data-poll").is_none(),
        "nothing to follow"
    );
    let r = b
        .post(
            &app,
            &format!("/automation-log/{job}/retry"),
            &[("back", "https://evil.test/")],
        )
        .await;
    see_other(&r, "/automation-log?done=retried");
    let j = app
        .get(&format!("/api/v1/jobs/{job}"), &token)
        .await
        .ok()
        .json();
    assert_eq!(j["state"], "queued");
    // A `back` with a CR/LF (header injection attempt) falls back to the log, no 500.
    let r = b
        .post(
            &app,
            &format!("/automation-log/{job}/cancel"),
            &[("back", &format!("/hubs/{hub}\r\nSet-Cookie: x=1"))],
        )
        .await;
    see_other(&r, "/automation-log?done=cancelled");
    let r = b
        .post(
            &app,
            &format!("/automation-log/{job}/retry"),
            &[("back", "/automation-log")],
        )
        .await;
    see_other(&r, "/automation-log?done=retried");
    // Retrying a queued job is refused with the reason.
    let r = b
        .post(&app, &format!("/automation-log/{job}/retry"), &[])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // The automation log: every hub, one hub, one state.
    let html = b.get(&app, "/automation-log").await.ok().text();
    assert!(html.contains(&format!("data-job=\"{job}\"")));
    assert!(html.contains("Chat") && html.contains("Wiki"));
    let html = b.get(&app, &format!("/hubs/{other}/log")).await.ok().text();
    assert!(
        !html.contains(&format!("data-job=\"{job}\"")),
        "another hub's log"
    );
    assert!(html.contains("Check for updates"));
    let html = b
        .get(&app, &format!("/automation-log?hub={hub}&state=completed"))
        .await
        .ok()
        .text();
    assert!(!html.contains(&format!("data-job=\"{job}\"")));
    assert!(html.contains("0 jobs"));
}

#[tokio::test]
async fn a_halted_sync_offers_a_confirm_button() {
    let (app, token, b) = owner_world().await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    // Let the connect job finish so the confirming sync is a new job.
    let store = SqlStore::connect(&app.db_url).await.unwrap();
    let mut j = store
        .jobs(&JobFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.hub_id.to_string() == hub)
        .unwrap();
    j.state = castellan_core::hub::JobState::Completed;
    let ev = NewEvent::new(
        &Actor::bot("test"),
        ActivityAction::JobCompleted,
        chrono::Utc::now(),
    );
    assert!(store
        .update_job_if(&j, &[castellan_core::hub::JobState::Queued], &ev)
        .await
        .unwrap());
    store.close().await;
    let report = SyncReport {
        total: 10,
        planned_removals: vec!["@a:x".into(), "@b:x".into(), "@c:x".into()],
        halted: Some("3 of 10 members (30%) would be removed; the safeguard allows 20%".into()),
        ..Default::default()
    };
    seed_sync(&app, &hub, &[], &report, HubStatus::RequiresSync).await;

    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let halted = block(&html, "safeguard-halted", "</div>").expect("the halted notice");
    assert!(halted.contains("30%"), "{halted}");
    assert!(halted.contains("id=\"confirm-sync\""));
    assert!(block(&html, "hub-status", "</section>")
        .unwrap()
        .contains("requires sync"));

    let r = b
        .post(&app, &format!("/hubs/{hub}/sync"), &[("confirm", "true")])
        .await;
    see_other(&r, &format!("/hubs/{hub}?done=confirmed"));
    let jobs = app
        .get(&format!("/api/v1/jobs?hub_id={hub}&state=queued"), &token)
        .await
        .ok()
        .json();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["params"]["confirm"], true);
}
