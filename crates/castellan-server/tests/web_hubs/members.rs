//! Members from the hub page: share, change role and revoke, and match and exempt members (an
//! exemption needs a reason).

use axum::http::StatusCode;
use castellan_core::connector::MemberState;
use castellan_core::hub::{HubStatus, Matching, SyncReport};
use castellan_core::model::WorkspaceRole;
use serde_json::Value;

use super::common::TestApp;
use super::web::{attr, block, has_attr};
use super::{api_hub, grants, member, owner_world, refused, see_other, seed_sync};

async fn members(app: &TestApp, token: &str, hub: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/hubs/{hub}/members"), token)
        .await
        .ok()
        .json()
        .as_array()
        .expect("members")
        .clone()
}

#[tokio::test]
async fn share_change_role_and_revoke_from_the_hub_page() {
    let (app, token, b) = owner_world().await;
    app.person(&token, "ana@example.com", WorkspaceRole::User)
        .await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    let path = format!("/hubs/{hub}/share");

    // Unknown person and unknown role: field errors, what was typed kept.
    let html = refused(
        &b,
        &app,
        &path,
        &[
            ("form", "share"),
            ("person", "nobody@example.com"),
            ("app_role", "user"),
        ],
    )
    .await;
    assert_eq!(
        attr(&html, "share-person", "value").as_deref(),
        Some("nobody@example.com")
    );
    assert!(has_attr(&html, "share-person", "aria-invalid"));
    assert!(html.contains("No person in the workspace has this email."));
    let html = refused(
        &b,
        &app,
        &path,
        &[
            ("form", "share"),
            ("person", "ana@example.com"),
            ("app_role", "wizard"),
        ],
    )
    .await;
    assert!(has_attr(&html, "share-role", "aria-invalid"), "{html}");
    assert!(
        html.contains("is not one of the app&#39;s roles")
            || html.contains("is not one of the app's roles")
    );
    assert!(grants(&app, &token, &hub).await.is_empty());

    // Share.
    let r = b
        .post(
            &app,
            &path,
            &[
                ("form", "share"),
                ("person", "Ana@Example.com"),
                ("app_role", "user"),
            ],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?done=shared"));
    let g = grants(&app, &token, &hub).await;
    assert_eq!(g.len(), 1);
    assert_eq!(g[0]["app_role"], "user");
    assert_eq!(g[0]["revoked"], false);
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let row = block(&html, "grant-ana@example.com", "</tr>").expect("grant row");
    assert!(
        row.contains("id=\"revoke-ana@example.com\"")
            && row.contains("data-email=\"ana@example.com\""),
        "{row}"
    );

    // Change role.
    let r = b
        .post(
            &app,
            &path,
            &[
                ("form", "role"),
                ("person", "ana@example.com"),
                ("hub_role", "collaborator"),
                ("app_role", "admin"),
            ],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?done=role"));
    assert_eq!(grants(&app, &token, &hub).await[0]["app_role"], "admin");

    // Revoke.
    let person = g[0]["person_id"].as_str().unwrap();
    let r = b
        .post(
            &app,
            &format!("/hubs/{hub}/revoke"),
            &[("person_id", person)],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?done=revoked"));
    let g = grants(&app, &token, &hub).await;
    assert_eq!(g[0]["revoked"], true);
    // While ana is still a member of the app, the revoked grant is listed (being removed)…
    let mut ana = member(
        "@ana:example.org",
        "ana@example.com",
        Matching::Onboarded,
        "admin",
    );
    ana.person_id = Some(person.parse().unwrap());
    seed_sync(
        &app,
        &hub,
        &[ana.clone()],
        &SyncReport::default(),
        HubStatus::Healthy,
    )
    .await;
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let row = block(&html, "grant-ana@example.com", "</tr>").expect("the revoked grant");
    assert!(row.contains("revoked"), "{row}");
    assert!(
        !row.contains("id=\"revoke-ana@example.com\""),
        "no revoke button on a revoked grant"
    );
    // …and once the app has deactivated her, she is gone from the page's grants and members.
    ana.state = MemberState::Deactivated;
    ana.email = None;
    seed_sync(
        &app,
        &hub,
        &[ana],
        &SyncReport::default(),
        HubStatus::Healthy,
    )
    .await;
    let html = b.get(&app, &format!("/hubs/{hub}")).await.ok().text();
    let shared = block(&html, "grants", "</section>").unwrap();
    let listed = block(&html, "members", "</section>").unwrap();
    assert!(!shared.contains("ana@example.com"), "{shared}");
    assert!(!listed.contains("ana@example.com"), "{listed}");
    assert!(listed.contains("Show 1 deactivated member"), "{listed}");
    let all = b
        .get(&app, &format!("/hubs/{hub}?tab=onboarded&state=all"))
        .await
        .ok()
        .text();
    let row = block(&all, "member-@ana:example.org", "</tr>").expect("shown on request");
    assert!(
        row.contains("deactivated") && row.contains("ana@example.com"),
        "{row}"
    );
    assert_eq!(
        attr(&all, "tab-guest", "href").as_deref(),
        Some(format!("/hubs/{hub}?tab=guest&state=all#members").as_str())
    );
    // Revoking again is a form error, not a crash.
    let html = refused(
        &b,
        &app,
        &format!("/hubs/{hub}/revoke"),
        &[("person_id", person)],
    )
    .await;
    assert!(html.contains("role=\"alert\""));
}

#[tokio::test]
async fn match_and_exempt_members_an_exemption_needs_a_reason() {
    let (app, token, b) = owner_world().await;
    app.person(&token, "ana@example.com", WorkspaceRole::User)
        .await;
    let hub = api_hub(&app, &token, "Chat", "placeholder").await;
    let ms = [
        member(
            "@bob:example.org",
            "bob@example.com",
            Matching::Unmatched,
            "user",
        ),
        member(
            "@ana2:example.org",
            "ana.other@example.com",
            Matching::Unmatched,
            "user",
        ),
    ];
    seed_sync(&app, &hub, &ms, &SyncReport::default(), HubStatus::Healthy).await;
    let path = format!("/hubs/{hub}/members");

    let html = refused(
        &b,
        &app,
        &path,
        &[
            ("member", "@bob:example.org"),
            ("action", "exempt"),
            ("reason", "  "),
            ("tab", "unmatched"),
        ],
    )
    .await;
    assert!(
        has_attr(&html, "reason-@bob:example.org", "aria-invalid"),
        "{html}"
    );
    assert!(html.contains("id=\"reason-@bob:example.org-error\""));
    assert!(
        has_attr(&html, "tab-unmatched", "aria-current"),
        "the same tab is shown again"
    );

    let r = b
        .post(
            &app,
            &path,
            &[
                ("member", "@bob:example.org"),
                ("action", "exempt"),
                ("reason", "CI service user"),
                ("tab", "unmatched"),
            ],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?tab=unmatched&done=exempted"));

    let html = refused(
        &b,
        &app,
        &path,
        &[
            ("member", "@ana2:example.org"),
            ("action", "match"),
            ("person", "zed@example.com"),
            ("tab", "unmatched"),
        ],
    )
    .await;
    assert_eq!(
        attr(&html, "match-@ana2:example.org", "value").as_deref(),
        Some("zed@example.com")
    );
    let r = b
        .post(
            &app,
            &path,
            &[
                ("member", "@ana2:example.org"),
                ("action", "match"),
                ("person", "ana@example.com"),
                ("tab", "unmatched"),
            ],
        )
        .await;
    see_other(&r, &format!("/hubs/{hub}?tab=unmatched&done=matched"));

    let ms = members(&app, &token, &hub).await;
    let by = |id: &str| {
        ms.iter()
            .find(|m| m["app_member_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by("@bob:example.org")["matching"], "exempted");
    assert_eq!(by("@bob:example.org")["exempt_reason"], "CI service user");
    assert_eq!(by("@ana2:example.org")["matching"], "onboarded");
    let html = b
        .get(&app, &format!("/hubs/{hub}?tab=onboarded"))
        .await
        .ok()
        .text();
    let row = block(&html, "member-@ana2:example.org", "</tr>").unwrap();
    assert!(
        row.contains("ana@example.com"),
        "the matched person is shown: {row}"
    );

    let r = b
        .post(
            &app,
            &path,
            &[("member", "@nobody"), ("action", "exempt"), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
