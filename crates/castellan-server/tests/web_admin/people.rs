//! The people page: inviting, an invitation accepted on the web, workspace roles and
//! deactivation, and an admin turning off a person's lost authenticator.

use axum::http::{header, StatusCode};
use castellan_core::model::WorkspaceRole;
use serde_json::json;

use super::common::{TestApp, PASSWORD};
use super::web::{by_id, Browser};
use super::{assert_redirect, assert_status, enroll};

#[tokio::test]
async fn people_invite_accept_role_and_deactivate() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let mut b = Browser::with_session(&app, &owner.email).await;
    let page = b.get("/people").await;
    assert_status(&page, StatusCode::OK);
    let html = page.text();
    for id in [
        "invite-email",
        "invite-name",
        "invite-role",
        "invite-submit",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id}");
        assert!(
            id == "invite-submit" || html.contains(&format!("<label for=\"{id}\"")),
            "label for #{id}"
        );
    }
    assert!(html.contains("owner@example.com"));
    assert!(
        !html.contains("<option value=\"owner\""),
        "owner is never offered"
    );

    // CSRF: none or wrong is refused and nobody is invited.
    let r = b
        .post_raw(
            "/people/invite",
            &[("email", "x@example.com"), ("name", "X"), ("role", "user")],
        )
        .await;
    assert_status(&r, StatusCode::FORBIDDEN);
    let r = b
        .post_raw(
            "/people/invite",
            &[
                ("csrf", "nope"),
                ("email", "x@example.com"),
                ("name", "X"),
                ("role", "user"),
            ],
        )
        .await;
    assert_status(&r, StatusCode::FORBIDDEN);
    let people = app.get("/api/v1/people", &owner.token).await.ok().json();
    assert_eq!(people.as_array().map(Vec::len), Some(1));

    // A bad email: the error next to the field, what was typed kept.
    let r = b
        .post(
            "/people/invite",
            &[
                ("email", "not-an-email"),
                ("name", "Uma User"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_status(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(html.contains("id=\"invite-email-error\""), "{html}");
    assert!(html.contains("value=\"Uma User\"") && html.contains("value=\"not-an-email\""));
    assert!(html.contains("<option value=\"admin\" selected>"));

    let r = b
        .post(
            "/people/invite",
            &[
                ("email", "uma@example.com"),
                ("name", "Uma User"),
                ("role", "user"),
            ],
        )
        .await;
    assert_status(&r, StatusCode::OK);
    let token = by_id(&r.text(), "invitation-token");
    assert!(token.starts_with("cst_invite"), "{token}");
    // A taken email is shown next to the email field.
    let r = b
        .post(
            "/people/invite",
            &[
                ("email", "uma@example.com"),
                ("name", "Uma"),
                ("role", "user"),
            ],
        )
        .await;
    assert_status(&r, StatusCode::CONFLICT);
    assert!(by_id(&r.text(), "invite-email-error").contains("already exists"));
    let html = b.get("/people").await.text();
    assert!(html.contains("uma@example.com") && html.contains(">invited<"));
    assert!(
        !html.contains(&token),
        "the invitation token is shown only once"
    );

    // Uma accepts on the web: a wrong token, then the right one signs her in.
    let mut uma = Browser::new(&app);
    let r = uma
        .open_form("/accept-invitation?email=uma%40example.com")
        .await;
    assert!(r.text().contains("value=\"uma@example.com\""));
    let no_csrf = uma
        .post_raw(
            "/accept-invitation",
            &[
                ("email", "uma@example.com"),
                ("invitation_token", &token),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_status(&no_csrf, StatusCode::FORBIDDEN);
    let r = uma
        .post(
            "/accept-invitation",
            &[
                ("email", "uma@example.com"),
                ("invitation_token", "cst_invite_wrong"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_status(&r, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("id=\"invitation_token-error\""));
    let r = uma
        .post(
            "/accept-invitation",
            &[
                ("email", "uma@example.com"),
                ("invitation_token", &token),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_redirect(&r, "/accounts");
    assert_status(&uma.get("/accounts").await, StatusCode::OK);
    // As a user, Uma may not see the admin pages.
    for path in ["/people", "/vaults", "/activity", "/activity.csv"] {
        assert_status(&uma.get(path).await, StatusCode::FORBIDDEN);
    }
    let r = uma
        .post(
            "/people/invite",
            &[("email", "v@example.com"), ("name", "V"), ("role", "user")],
        )
        .await;
    assert_status(&r, StatusCode::FORBIDDEN);

    // The owner makes Uma an admin, then deactivates her.
    let people = app.get("/api/v1/people", &owner.token).await.ok().json();
    let uma_id = people
        .as_array()
        .expect("people")
        .iter()
        .find(|p| p["email"] == "uma@example.com")
        .and_then(|p| p["id"].as_str())
        .expect("uma")
        .to_owned();
    let r = b
        .post(&format!("/people/{uma_id}/role"), &[("role", "admin")])
        .await;
    assert_redirect(&r, "/people?done=role");
    let p = app
        .get(&format!("/api/v1/people/{uma_id}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(p["role"], "admin");
    // Now an admin, she may open the people page.
    assert_status(&uma.get("/people").await, StatusCode::OK);
    let r = b
        .post(&format!("/people/{uma_id}/role"), &[("role", "owner")])
        .await;
    assert_status(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"people-error\""));

    let r = b
        .post(
            &format!("/people/{uma_id}/status"),
            &[("status", "deactivated")],
        )
        .await;
    assert_redirect(&r, "/people?done=deactivated");
    let p = app
        .get(&format!("/api/v1/people/{uma_id}"), &owner.token)
        .await
        .ok()
        .json();
    assert_eq!(p["status"], "deactivated");
    // Her web session stopped working.
    let r = uma.get("/accounts").await;
    assert_status(&r, StatusCode::SEE_OTHER);
    assert!(r.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/sign-in"));
    // The owner cannot deactivate themselves; the refusal is shown on the page.
    let r = b
        .post(
            &format!("/people/{}/status", owner.person_id),
            &[("status", "deactivated")],
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
}

#[tokio::test]
async fn an_admin_turns_off_a_lost_authenticator() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let admin = app
        .person(&owner.token, "ada@example.com", WorkspaceRole::Admin)
        .await;
    let user = app
        .person(&owner.token, "ulla@example.com", WorkspaceRole::User)
        .await;
    let mut u = Browser::with_session(&app, &user.email).await;
    enroll(&mut u).await;
    let mut o = Browser::with_session(&app, &owner.email).await;
    enroll(&mut o).await;

    let mut a = Browser::with_session(&app, &admin.email).await;
    let html = a.get("/people").await.text();
    assert!(html.contains(&format!("id=\"two-step-reset-{}\"", user.person_id)));
    assert!(
        !html.contains(&format!("id=\"two-step-reset-{}\"", owner.person_id)),
        "an admin cannot manage the owner"
    );
    // Pages stay within the CSP: no inline scripts, styles or handlers.
    assert!(!html.contains("<script>") && !html.contains(" style=") && !html.contains(" onclick="));
    let r = a
        .post(&format!("/people/{}/two-step/reset", owner.person_id), &[])
        .await;
    assert_status(&r, StatusCode::FORBIDDEN);
    let r = a
        .post(&format!("/people/{}/two-step/reset", user.person_id), &[])
        .await;
    assert_redirect(&r, "/people?done=two-step");
    let me = app.get("/api/v1/me", &user.token).await.ok().json();
    assert_eq!(me["two_step"], json!(false));
    let owner_me = app.get("/api/v1/me", &owner.token).await.ok().json();
    assert_eq!(owner_me["two_step"], json!(true));
    let reset = app
        .get(
            "/api/v1/activity?action=person.two_step_reset",
            &owner.token,
        )
        .await
        .ok()
        .json();
    assert_eq!(reset[0]["target_label"], "ulla@example.com");
    // The person signs in with the password alone again.
    app.sign_in(&user.email, WorkspaceRole::User).await;
}
