//! Hub status transitions and the sync safeguard.

use castellan_core::connector::{ConnectorError, MemberState};
use castellan_core::hub::{Attention, HubStatus, JobState, Task, Trigger};
use castellan_core::service::HubPatch;
use castellan_testkit::{Fail, Op, World};

use crate::fixtures::*;

async fn sync(w: &World, hub: castellan_core::hub::HubId, confirm: bool) {
    w.svc
        .hubs()
        .sync(&w.owner.permit().unwrap(), hub, confirm, Trigger::Manual)
        .await
        .expect("queue a sync");
    w.drain().await;
}

#[tokio::test]
async fn a_hub_is_validated_then_healthy_and_requires_sync_while_changes_wait() {
    let w = World::new().await;
    let bob = w.person("bob@example.com").await;
    let hub = w.connect("Chat").await.unwrap();
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::UnderValidation);
    assert!(h.status_reason.is_some());
    w.drain().await;
    let h = w.hub(hub.id).await;
    assert_eq!((h.status, h.status_reason), (HubStatus::Healthy, None));
    // A share: the sync plans one change and says so until the bot has made it.
    share(&w, hub.id, bob, None).await;
    assert!(w.bot.run_one().await.unwrap());
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::RequiresSync);
    assert_eq!(
        h.status_reason.as_deref(),
        Some("1 change(s) queued for the bot")
    );
    w.drain().await;
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
}

#[tokio::test]
async fn refused_credentials_send_the_hub_to_review_service_account_until_fixed() {
    let w = World::new().await;
    w.app.set_credentials("castellan-bot", "another-password");
    let hub = w.connect("Chat").await.unwrap();
    w.drain().await;
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::ReviewServiceAccount);
    assert!(h.status_reason.unwrap().contains("credentials"));
    let sync_job = only_job(&w, hub.id, Task::CheckForUpdates).await;
    assert_eq!(sync_job.state, JobState::NotCompleted);
    assert_eq!(sync_job.attempts, 1, "bad credentials are not retried");
    // The app's admin fixes the account; the next sync clears the status.
    w.app
        .set_credentials("castellan-bot", castellan_testkit::BOT_PASSWORD);
    sync(&w, hub.id, false).await;
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
}

#[tokio::test]
async fn missing_permissions_send_the_hub_to_review_service_account() {
    let w = World::new().await;
    w.app.set_permitted(false);
    let hub = w.connect("Chat").await.unwrap();
    w.drain().await;
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::ReviewServiceAccount);
    assert!(h.status_reason.unwrap().contains("permission"));
}

#[tokio::test]
async fn a_wrong_setting_sends_the_hub_to_review_configuration_until_fixed() {
    let w = World::new().await;
    w.app.fail(
        Fail::always(ConnectorError::Configuration("no such organization".into())).on(Op::Login),
    );
    let hub = w.connect("Chat").await.unwrap();
    w.drain().await;
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::ReviewConfiguration);
    assert!(h.status_reason.unwrap().contains("no such organization"));
    // The admin corrects the base URL and syncs again.
    w.app.clear_failures();
    w.svc
        .hubs()
        .update(
            &w.owner.permit().unwrap(),
            hub.id,
            HubPatch {
                settings: None,
                base_url: Some("https://chat.example".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    sync(&w, hub.id, false).await;
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::Healthy);
    assert_eq!(h.base_url, "https://chat.example");
}

#[tokio::test]
async fn a_plan_removing_too_many_members_halts_until_confirmed() {
    let (w, hub) = synced_world().await;
    let mut people = vec![];
    for name in ["ana", "bob", "cy", "dee", "eve"] {
        let p = w.person(&format!("{name}@example.com")).await;
        share(&w, hub.id, p, None).await;
        people.push(p);
    }
    w.drain().await;
    assert_eq!(w.app.members().len(), 5);
    // Three of five at once: 60% is above the default threshold of 20%.
    revoke(&w, hub.id, &people[..3]).await;
    w.drain().await;
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::RequiresSync);
    assert!(
        h.status_reason.as_deref().unwrap().contains("safeguard"),
        "{:?}",
        h.status_reason
    );
    assert!(jobs_of(&w, hub.id, Task::RemoveMember).await.is_empty());
    assert!(w
        .app
        .members()
        .iter()
        .all(|m| m.state == MemberState::Active));
    // An admin confirms: the removals go ahead.
    sync(&w, hub.id, true).await;
    let deactivated = w
        .app
        .members()
        .iter()
        .filter(|m| m.state == MemberState::Deactivated)
        .count();
    assert_eq!(deactivated, 3);
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
}

#[tokio::test]
async fn a_listing_that_shrinks_too_much_keeps_the_old_snapshot_until_confirmed() {
    let w = World::new().await;
    add_guests(&w, 10);
    let hub = w.connect("Chat").await.unwrap();
    w.drain().await;
    assert_eq!(snapshot(&w, hub.id).await.len(), 10);
    for i in 0..5 {
        w.app.delete(&format!("g{i:03}"));
    }
    sync(&w, hub.id, false).await;
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::RequiresSync);
    assert!(h.status_reason.unwrap().contains("disappeared"));
    assert_eq!(
        snapshot(&w, hub.id).await.len(),
        10,
        "the old snapshot stays"
    );
    sync(&w, hub.id, true).await;
    assert_eq!(snapshot(&w, hub.id).await.len(), 5);
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
}

#[tokio::test]
async fn a_small_removal_stays_under_the_safeguard() {
    // One of ten members: 10% is under the threshold.
    let (w, hub) = shared_then_revoked().await;
    assert_eq!(
        only_job(&w, hub.id, Task::RemoveMember).await.state,
        JobState::Completed
    );
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
}

#[tokio::test]
async fn a_cancelled_change_keeps_the_hub_from_looking_healthy() {
    let (w, hub) = synced_world().await;
    let (ana, bob) = (
        w.person("ana@example.com").await,
        w.person("bob@example.com").await,
    );
    share(&w, hub.id, ana, None).await;
    share(&w, hub.id, bob, None).await;
    // The check plans both invitations; an admin cancels Ana's, Bob's goes through.
    assert!(w.bot.run_one().await.unwrap());
    let invites = jobs_of(&w, hub.id, Task::InviteMember).await;
    assert_eq!(invites.len(), 2);
    let ana_job = invites
        .iter()
        .find(|j| j.target.as_deref() == Some("ana@example.com"))
        .unwrap();
    w.svc
        .hubs()
        .cancel_job(&w.owner.permit().unwrap(), ana_job.id)
        .await
        .unwrap();
    w.drain().await;
    assert!(w.app.member_by_email("bob@example.com").is_some());
    assert!(w.app.member_by_email("ana@example.com").is_none());
    let h = w.hub(hub.id).await;
    assert_eq!(h.status, HubStatus::RequiresSync, "{:?}", h.status_reason);
    assert!(h.status_reason.unwrap().contains("cancelled"));
    // The next check plans Ana's invitation again, and the hub ends healthy.
    sync(&w, hub.id, false).await;
    assert!(w.app.member_by_email("ana@example.com").is_some());
    assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
}

/// A captcha (`NeedsHuman`) or an unknown page (`AppChanged`) is not retried: the job waits for
/// a person (`needs_attention`, saying which), the hub asks for a review; once the cause is gone
/// a person's retry completes it and the hub ends healthy.
#[tokio::test]
async fn an_app_that_needs_a_person_or_answers_unknown_pages_waits_for_one() {
    for (error, status, words, attention) in [
        (
            ConnectorError::NeedsHuman("a captcha on the sign-in page".into()),
            HubStatus::ReviewServiceAccount,
            "Captcha resolution required: the app needs a person to continue: a captcha",
            Attention::Challenge,
        ),
        (
            ConnectorError::AppChanged("the member list has no `users` array".into()),
            HubStatus::ReviewConfiguration,
            "Unexpected page: the app answered in a way the connector does not know",
            Attention::UnexpectedPage,
        ),
    ] {
        let w = World::new().await;
        w.app.fail(Fail::always(error).on(Op::ListMembers));
        let hub = w.connect("Chat").await.unwrap();
        w.drain().await;
        let h = w.hub(hub.id).await;
        assert_eq!(h.status, status, "{:?}", h.status_reason);
        assert!(h.status_reason.unwrap().starts_with(words));
        assert_eq!(
            w.app.calls_of(Op::ListMembers).len(),
            1,
            "no blind retry of the listing"
        );
        let check = only_job(&w, hub.id, Task::CheckForUpdates).await;
        assert_eq!(
            (check.state, check.attempts, check.attention),
            (JobState::NeedsAttention, 1, Some(attention))
        );
        let waiting = events(&w, "job.needs_attention").await;
        assert_eq!(waiting.len(), 1);
        let details: serde_json::Value = serde_json::from_str(&waiting[0].details).unwrap();
        assert_eq!(details["attention"], attention.as_str());

        // A person fixed it in the app and retries: the job completes, the hub is healthy.
        w.app.clear_failures();
        let again = w
            .svc
            .hubs()
            .retry_job(&w.owner.permit().unwrap(), check.id)
            .await
            .unwrap();
        assert_eq!((again.state, again.attention), (JobState::Queued, None));
        let h = w.hub(hub.id).await;
        assert_eq!(h.status, HubStatus::RequiresSync, "{:?}", h.status_reason);
        w.drain().await;
        let check = only_job(&w, hub.id, Task::CheckForUpdates).await;
        assert_eq!(check.state, JobState::Completed);
        assert_eq!(w.hub(hub.id).await.status, HubStatus::Healthy);
    }
}
