//! Account recovery through the API: changing one's password, password reset links (role
//! limits, single use, expiry, a newer link voiding an older one), renewing invitations, the
//! shared rate limit on reset links, and look-alike labels.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use castellan_core::model::WorkspaceRole;
use castellan_store::SqlStore;
use common::{Resp, Session, TestApp, World, PASSWORD};
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// The `field` of the first entry of a 422's `errors`.
fn field(r: &Resp) -> String {
    r.json()["errors"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> Resp {
    app.call(
        "POST",
        "/api/v1/auth/sign-in",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

async fn use_link(app: &TestApp, token: &str, password: &str) -> Resp {
    app.call(
        "POST",
        "/api/v1/auth/reset-password",
        None,
        Some(json!({ "reset_token": token, "new_password": password })),
    )
    .await
}

/// Asserts `email` signs in with [`NEW_PASSWORD`] and no longer with [`PASSWORD`].
async fn only_the_new_password_signs_in(app: &TestApp, email: &str) {
    sign_in(app, email, PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["wrong email or password"]);
    assert_eq!(
        sign_in(app, email, NEW_PASSWORD).await.status,
        StatusCode::CREATED
    );
}

/// Every activity event with `action`, newest first.
async fn events(app: &TestApp, owner: &str, action: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/v1/activity?action={action}&limit=500"),
            owner,
        )
        .await
        .ok();
    r.json()
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

/// Asserts no activity event holds `secret` anywhere.
async fn log_never_holds(app: &TestApp, owner: &str, secret: &str) {
    let all = app
        .get("/api/v1/activity?limit=10000", owner)
        .await
        .ok()
        .text();
    assert!(!all.contains(secret), "the activity log holds a secret");
}

#[tokio::test]
async fn changing_ones_password_ends_the_other_sessions_and_tokens() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let ana = app
        .person(&owner.token, "ana@example.com", WorkspaceRole::User)
        .await;
    let (other, _) = app.new_token(&ana.token, "laptop").await;
    let (api_token, _) = app.new_token(&ana.token, "script").await;
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });

    // Refusals, as the owner: every attempt counts against the sign-in limit of 5 a minute per
    // email, and Ana's are counted below.
    let me = &owner.token;
    let r = app
        .post(
            "/api/v1/me/password",
            me,
            change("wrong password!", NEW_PASSWORD),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["not right"]);
    assert_eq!(field(&r), "current_password");
    let r = app
        .post("/api/v1/me/password", me, change(PASSWORD, "short"))
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["at least 12"]);
    assert_eq!(field(&r), "new_password");
    let r = app
        .post("/api/v1/me/password", me, change(PASSWORD, PASSWORD))
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["differ"]);
    app.get("/api/v1/me", me).await.ok();

    let r = app
        .post(
            "/api/v1/me/password",
            &ana.token,
            change(PASSWORD, NEW_PASSWORD),
        )
        .await
        .ok();
    assert_eq!(r.json()["revoked_tokens"], json!(2), "{}", r.text());
    app.get("/api/v1/me", &ana.token).await.ok();
    for t in [&other, &api_token] {
        let r = app.get("/api/v1/me", t).await;
        r.assert_problem(StatusCode::UNAUTHORIZED, &["revoked"]);
    }
    only_the_new_password_signs_in(&app, "ana@example.com").await;

    let done = events(&app, &owner.token, "person.password_change").await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["target_label"], json!("ana@example.com"));
    assert_eq!(
        events(&app, &owner.token, "person.password_change_failed")
            .await
            .len(),
        1
    );
    log_never_holds(&app, &owner.token, NEW_PASSWORD).await;
}

/// Issues a reset link for `person` as `by`.
async fn issue(app: &TestApp, by: &str, person: &str) -> Resp {
    app.post(
        &format!("/api/v1/people/{person}/password-reset"),
        by,
        json!({}),
    )
    .await
}

#[tokio::test]
async fn reset_links_follow_the_roles_one_manages() {
    let w = World::new().await;
    let app = &w.app;
    let of = |r| w.of(r).clone();
    let (owner, sup, admin, user) = (
        of(WorkspaceRole::Owner),
        of(WorkspaceRole::SuperAdmin),
        of(WorkspaceRole::Admin),
        of(WorkspaceRole::User),
    );
    let admin2 = app
        .person(&owner.token, "admin2@example.com", WorkspaceRole::Admin)
        .await;
    // Admins reset users, login-only people and guests; not admins, super admins or the owner.
    for target in [&owner, &sup, &admin2] {
        issue(app, &admin.token, &target.person_id)
            .await
            .assert_problem(StatusCode::FORBIDDEN, &["may not manage"]);
    }
    for r in [
        WorkspaceRole::User,
        WorkspaceRole::LoginOnly,
        WorkspaceRole::Guest,
    ] {
        let r = issue(app, &admin.token, &w.of(r).person_id).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    // Super admins also reset admins and super admins; nobody resets the owner this way.
    assert_eq!(
        issue(app, &sup.token, &admin.person_id).await.status,
        StatusCode::CREATED
    );
    for by in [&sup, &owner] {
        issue(app, &by.token, &owner.person_id)
            .await
            .assert_problem(StatusCode::FORBIDDEN, &["owner"]);
    }
    // Nobody issues one for themselves (they change their password with the current one),
    // and people who may not manage people cannot issue any.
    let r = issue(app, &sup.token, &sup.person_id).await;
    r.assert_problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        &["change your own password"],
    );
    issue(app, &user.token, &w.of(WorkspaceRole::Guest).person_id)
        .await
        .assert_problem(StatusCode::FORBIDDEN, &["may not manage people"]);
    // An invited person gets a renewed invitation instead.
    let (invited, _) = app
        .invite(&owner.token, "later@example.com", WorkspaceRole::User)
        .await;
    issue(app, &admin.token, &invited)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["renew the invitation"]);
}

#[tokio::test]
async fn a_reset_link_works_once_ends_every_session_and_is_recorded() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let ana = app
        .person(&owner.token, "ana@example.com", WorkspaceRole::User)
        .await;
    let (api_token, _) = app.new_token(&ana.token, "script").await;

    let link = issue(&app, &owner.token, &ana.person_id).await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.text());
    let token = link.str("reset_token");
    assert!(token.starts_with("cst_reset_"), "{token}");
    assert_eq!(
        link.str("reset_path"),
        format!("/reset-password?token={token}")
    );
    assert_eq!(link.json()["person"]["email"], json!("ana@example.com"));
    let expires = chrono::DateTime::parse_from_rfc3339(&link.str("expires_at")).unwrap();
    let minutes = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!((58..=60).contains(&minutes), "expires in {minutes} minutes");

    // A bad password is refused before the link is spent; an unknown token is refused.
    let r = use_link(&app, &token, "short").await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["at least 12"]);
    assert_eq!(field(&r), "new_password");
    use_link(&app, "cst_reset_not-a-real-token", NEW_PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["not valid"]);

    let r = use_link(&app, &token, NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.str("email"), "ana@example.com");
    for t in [&ana.token, &api_token] {
        app.get("/api/v1/me", t)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, &["revoked"]);
    }
    only_the_new_password_signs_in(&app, "ana@example.com").await;
    // Single use.
    use_link(&app, &token, "yet another passphrase")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["already used"]);
    assert_eq!(
        sign_in(&app, "ana@example.com", NEW_PASSWORD).await.status,
        StatusCode::CREATED
    );

    let issued = events(&app, &owner.token, "person.password_reset_issue").await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0]["actor_name"], json!("owner@example.com"));
    let used = events(&app, &owner.token, "person.password_reset").await;
    assert_eq!(used.len(), 1);
    assert_eq!(used[0]["actor_name"], json!("ana@example.com"));
    assert_eq!(
        events(&app, &owner.token, "person.password_reset_failed")
            .await
            .len(),
        2
    );
    log_never_holds(&app, &owner.token, &token).await;
    log_never_holds(&app, &owner.token, NEW_PASSWORD).await;
}

#[tokio::test]
async fn an_expired_or_replaced_reset_link_is_refused() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let ana = app
        .person(&owner.token, "ana@example.com", WorkspaceRole::User)
        .await;
    let first = issue(&app, &owner.token, &ana.person_id)
        .await
        .ok()
        .str("reset_token");
    let second = issue(&app, &owner.token, &ana.person_id)
        .await
        .ok()
        .str("reset_token");
    use_link(&app, &first, NEW_PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["not valid"]);

    // Expire the pending link in the database (no API can backdate one).
    let store = SqlStore::connect(&app.db_url).await.expect("connect");
    let done = sqlx::query(
        "UPDATE password_resets SET expires_at = 1 WHERE used_at IS NULL AND revoked_at IS NULL",
    )
    .execute(store.pool())
    .await
    .expect("update");
    assert_eq!(done.rows_affected(), 1);
    store.close().await;
    use_link(&app, &second, NEW_PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["expired"]);
    // Nothing changed: the old password still signs in, the session still works.
    assert_eq!(
        sign_in(&app, "ana@example.com", PASSWORD).await.status,
        StatusCode::CREATED
    );
    app.get("/api/v1/me", &ana.token).await.ok();

    // A link for a person who was deactivated since is refused too.
    let third = issue(&app, &owner.token, &ana.person_id)
        .await
        .ok()
        .str("reset_token");
    app.patch(
        &format!("/api/v1/people/{}", ana.person_id),
        &owner.token,
        json!({ "status": "deactivated" }),
    )
    .await
    .ok();
    use_link(&app, &third, NEW_PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, &["not valid"]);
}

#[tokio::test]
async fn reset_link_use_is_rate_limited_per_client() {
    let app = TestApp::new().await;
    app.claim().await;
    let peer: SocketAddr = "127.0.0.7:4000".parse().unwrap();
    let mut last = StatusCode::OK;
    for _ in 0..=castellan_server::web::security::ATTEMPTS_PER_IP_PER_MINUTE {
        let body = json!({ "reset_token": "cst_reset_guess", "new_password": NEW_PASSWORD });
        let mut req = Request::post("/api/v1/auth/reset-password")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
        last = app.send(req).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_renewed_invitation_replaces_the_old_token() {
    let w = World::new().await;
    let app = &w.app;
    let owner = w.owner.clone();
    let admin: Session = w.of(WorkspaceRole::Admin).clone();
    let (id, old) = app
        .invite(&admin.token, "late@example.com", WorkspaceRole::User)
        .await;
    // Inviting again is a conflict that says what to do.
    let r = app
        .post(
            "/api/v1/people",
            &admin.token,
            json!({ "email": "late@example.com", "name": "Late", "role": "user" }),
        )
        .await;
    r.assert_problem(StatusCode::CONFLICT, &["renew their invitation", &id]);

    let r = app
        .post(
            &format!("/api/v1/people/{id}/invitation"),
            &admin.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let new = r.str("invitation_token");
    assert_ne!(new, old);
    let accept = |token: &str| json!({ "email": "late@example.com", "invitation_token": token, "password": PASSWORD });
    let r = app
        .call(
            "POST",
            "/api/v1/auth/accept-invitation",
            None,
            Some(accept(&old)),
        )
        .await;
    r.assert_problem(StatusCode::UNAUTHORIZED, &["not valid"]);
    let r = app
        .call(
            "POST",
            "/api/v1/auth/accept-invitation",
            None,
            Some(accept(&new)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Once accepted there is nothing to renew.
    app.post(
        &format!("/api/v1/people/{id}/invitation"),
        &admin.token,
        json!({}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, &["password reset link"]);
    // Admins renew only the roles they manage.
    let (sup_id, _) = app
        .invite(&owner.token, "boss@example.com", WorkspaceRole::SuperAdmin)
        .await;
    app.post(
        &format!("/api/v1/people/{sup_id}/invitation"),
        &admin.token,
        json!({}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, &["may not manage"]);
    let renewed = events(app, &owner.token, "person.invitation_renew").await;
    assert_eq!(renewed.len(), 1);
    log_never_holds(app, &owner.token, &new).await;
}

#[tokio::test]
async fn look_alike_and_invisible_labels_are_refused_unless_confirmed() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let t = &owner.token;
    let add = |label: &str| json!({ "label": label, "username": "admin@example.com" });
    let real = app
        .post("/api/v1/accounts", t, add("Slack admin"))
        .await
        .ok();

    // Cyrillic `а` in place of Latin `a`: refused, naming the existing label.
    let fake = "Sl\u{430}ck admin";
    let r = app.post("/api/v1/accounts", t, add(fake)).await;
    r.assert_problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        &["`Slack admin`", "mixes"],
    );
    assert_eq!(field(&r), "label");
    let r = app.post("/api/v1/accounts", t, add("SIack admin")).await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["`Slack admin`"]);
    // The same label is still a plain conflict.
    app.post("/api/v1/accounts", t, add("slack admin"))
        .await
        .assert_problem(StatusCode::CONFLICT, &["already exists"]);
    // Confirmed, it is accepted.
    let r = app
        .post("/api/v1/accounts?confirm_confusable=true", t, add(fake))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.str("label"), fake);

    // Renaming another account to a look-alike is refused the same way.
    let other = app
        .post("/api/v1/accounts", t, add("Payroll"))
        .await
        .ok()
        .str("id");
    let path = format!("/api/v1/accounts/{other}");
    app.patch(&path, t, json!({ "label": "Sl\u{430}ck Adm\u{456}n" }))
        .await
        .assert_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["looks like the existing label"],
        );
    app.patch(
        &format!("{path}?confirm_confusable=true"),
        t,
        json!({ "label": "SIack Admin" }),
    )
    .await
    .ok();

    // Bidi overrides and zero-width characters are refused, naming the field.
    for (bad, code) in [
        ("invoice\u{202E}gpj.exe", "U+202E"),
        ("Slack\u{200B}admin", "U+200B"),
    ] {
        let r = app.post("/api/v1/accounts", t, add(bad)).await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["label", code]);
        assert_eq!(field(&r), "label");
    }
    let r = app
        .post(
            "/api/v1/accounts",
            t,
            json!({ "label": "Zoom", "username": "ops\u{200D}@example.com" }),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["U+200D"]);
    assert_eq!(field(&r), "username");
    let r = app
        .post(
            "/api/v1/people",
            t,
            json!({ "email": "x@example.com", "name": "Ana\u{2066}", "role": "user" }),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["U+2066"]);
    assert_eq!(field(&r), "name");

    // Labels are stored NFC-normalized: `e` + combining acute becomes `é`, and the two
    // spellings are one label.
    let r = app
        .post("/api/v1/accounts", t, add("Cafe\u{301} team"))
        .await
        .ok();
    assert_eq!(r.str("label"), "Caf\u{e9} team");
    app.post("/api/v1/accounts", t, add("Caf\u{e9} team"))
        .await
        .assert_problem(StatusCode::CONFLICT, &["already exists"]);

    // Vault names too.
    app.post("/api/v1/vaults", t, json!({ "name": "Marketing" }))
        .await
        .ok();
    let r = app
        .post("/api/v1/vaults", t, json!({ "name": "Market\u{456}ng" }))
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &["`Marketing`"]);
    assert_eq!(field(&r), "name");
    app.post(
        "/api/v1/vaults?confirm_confusable=true",
        t,
        json!({ "name": "Market\u{456}ng" }),
    )
    .await
    .ok();
    // The real account is untouched.
    let again = app
        .get(&format!("/api/v1/accounts/{}", real.str("id")), t)
        .await
        .ok();
    assert_eq!(again.str("label"), "Slack admin");
}

/// A reset link or an invitation stands only as issued: a later promotion, ownership transfer,
/// deactivation and reactivation of the person, or the issuer's own deactivation, voids it, so
/// an admin cannot keep a link and use it once the person's role is out of their reach.
#[tokio::test]
async fn later_changes_void_reset_links_and_invitations() {
    let w = World::new().await;
    let app = &w.app;
    let owner = w.owner.clone();
    let admin: Session = w.of(WorkspaceRole::Admin).clone();
    let link = |r: Resp| {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.str("reset_token")
    };
    let voided = |r: Resp| r.assert_problem(StatusCode::UNAUTHORIZED, &["not valid"]);

    // Promoted to super admin after the admin issued the link.
    let bob = app
        .person(&owner.token, "bob@example.com", WorkspaceRole::User)
        .await;
    let t = link(issue(app, &admin.token, &bob.person_id).await);
    let r = app
        .patch(
            &format!("/api/v1/people/{}", bob.person_id),
            &owner.token,
            json!({ "role": "super_admin" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    voided(use_link(app, &t, NEW_PASSWORD).await);

    // Given the workspace after the link was issued (by a super admin who may reset admins).
    let sup: Session = w.of(WorkspaceRole::SuperAdmin).clone();
    let cy = app
        .person(&owner.token, "cy@example.com", WorkspaceRole::Admin)
        .await;
    let t = link(issue(app, &sup.token, &cy.person_id).await);
    let r = app
        .post(
            &format!("/api/v1/people/{}/transfer-ownership", cy.person_id),
            &owner.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    voided(use_link(app, &t, NEW_PASSWORD).await);

    // Deactivated and reactivated after the link was issued.
    let dee = app
        .person(&cy.token, "dee@example.com", WorkspaceRole::User)
        .await;
    let t = link(issue(app, &admin.token, &dee.person_id).await);
    for status in ["deactivated", "active"] {
        let r = app
            .patch(
                &format!("/api/v1/people/{}", dee.person_id),
                &cy.token,
                json!({ "status": status }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    voided(use_link(app, &t, NEW_PASSWORD).await);

    // The issuer was deactivated after issuing it.
    let eve = app
        .person(&cy.token, "eve@example.com", WorkspaceRole::User)
        .await;
    let t = link(issue(app, &admin.token, &eve.person_id).await);
    let r = app
        .patch(
            &format!("/api/v1/people/{}", admin.person_id),
            &cy.token,
            json!({ "status": "deactivated" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    voided(use_link(app, &t, NEW_PASSWORD).await);
    // A link that still stands works.
    let t = link(issue(app, &sup.token, &eve.person_id).await);
    assert_eq!(use_link(app, &t, NEW_PASSWORD).await.status, StatusCode::OK);

    // An invitation whose role changes before it is accepted needs a new one.
    let (fay, token) = app
        .invite(&cy.token, "fay@example.com", WorkspaceRole::User)
        .await;
    let r = app
        .patch(
            &format!("/api/v1/people/{fay}"),
            &cy.token,
            json!({ "role": "super_admin" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .call(
            "POST",
            "/api/v1/auth/accept-invitation",
            None,
            Some(json!({ "email": "fay@example.com", "invitation_token": token, "password": PASSWORD })),
        )
        .await;
    r.assert_problem(StatusCode::UNAUTHORIZED, &["not valid"]);
}
