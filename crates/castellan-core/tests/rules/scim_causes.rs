//! The SCIM request behind a change, through the bot (issue 15): an identity provider's
//! deactivation names its request (`scim_request`) on the person's event, on the hub
//! revocation, on the check for updates it queues and on the removal that check plans, and
//! every event of the bot about those jobs names it too.

use std::collections::HashSet;

use castellan_core::activity::{ActivityEvent, ScimRequest, SCIM_REQUEST};
use castellan_core::connector::MemberState;
use castellan_core::hub::{JobState, Task};
use serde_json::Value;

use crate::fixtures::{add_guests, events, idp_person, share, synced_world};

fn request_of(e: &ActivityEvent) -> Value {
    serde_json::from_str::<Value>(&e.details).unwrap()[SCIM_REQUEST].clone()
}

fn detail(e: &ActivityEvent, key: &str) -> Value {
    serde_json::from_str::<Value>(&e.details).unwrap()[key].clone()
}

#[tokio::test]
async fn a_scim_deactivation_names_its_request_on_its_jobs_and_their_events() {
    let (w, hub) = synced_world().await;
    add_guests(&w, 9);
    let ana = w.person("ana@example.com").await;
    share(&w, hub.id, ana, None).await;
    w.drain().await;
    let earlier: HashSet<_> = w.jobs(hub.id).await.iter().map(|j| j.id).collect();

    let request = ScimRequest::new("PATCH", &format!("/scim/v2/Users/{ana}"));
    let scim = w.owner.clone().with_scim_request(Some(request.clone()));
    w.svc
        .people()
        .reprovision(
            &scim.permit().unwrap(),
            ana,
            None,
            idp_person("ana@example.com", false),
        )
        .await
        .unwrap();
    w.drain().await;
    let gone = w.app.member_by_email("ana@example.com").map(|m| m.state);
    assert_eq!(gone, Some(MemberState::Deactivated), "the bot removed her");

    let want = serde_json::to_value(&request).unwrap();
    // The events of the request itself.
    for action in ["person.deactivate", "hub.revoke"] {
        let ev = events(&w, action).await;
        assert_eq!(ev.len(), 1, "{action}: {ev:#?}");
        assert_eq!(request_of(&ev[0]), want, "{action}");
    }
    // The check it queued and the removal that check planned name it.
    let jobs: Vec<_> = w
        .jobs(hub.id)
        .await
        .into_iter()
        .filter(|j| !earlier.contains(&j.id))
        .collect();
    let check = jobs
        .iter()
        .find(|j| j.task == Task::CheckForUpdates && j.scim_request.is_some())
        .unwrap_or_else(|| panic!("no check names the request: {jobs:#?}"));
    assert_eq!(check.scim_request.as_ref(), Some(&request));
    assert_eq!(check.actor, w.owner.name, "who asked, as before");
    let removal = jobs
        .iter()
        .find(|j| j.task == Task::RemoveMember)
        .unwrap_or_else(|| panic!("no removal: {jobs:#?}"));
    assert_eq!(removal.scim_request.as_ref(), Some(&request));
    assert_eq!(removal.state, JobState::Completed);
    // Every event of the bot about those two jobs names it.
    for job in [check, removal] {
        let id = job.id.to_string();
        let done: Vec<_> = events(&w, "job.completed")
            .await
            .into_iter()
            .filter(|e| e.target_id.as_deref() == Some(id.as_str()))
            .collect();
        assert_eq!(done.len(), 1, "{}: {done:#?}", job.task);
        assert_eq!(request_of(&done[0]), want, "{}", job.task);
        let used: Vec<_> = events(&w, "account.use")
            .await
            .into_iter()
            .filter(|e| detail(e, "job_id") == Value::String(id.clone()))
            .collect();
        assert!(!used.is_empty(), "{}: the account was used", job.task);
        assert!(used.iter().all(|e| request_of(e) == want), "{used:#?}");
    }
    let report: Vec<_> = events(&w, "hub.check_for_updates")
        .await
        .into_iter()
        .filter(|e| detail(e, "job_id") == Value::String(check.id.to_string()))
        .collect();
    assert_eq!(report.len(), 1, "{report:#?}");
    assert_eq!(request_of(&report[0]), want);
    // A check nobody's SCIM request caused names none.
    let first = events(&w, "hub.check_for_updates").await;
    assert!(first[0].details.find(SCIM_REQUEST).is_none(), "{first:#?}");
}
