//! Two-step sign-in: a person sets up their own TOTP authenticator (`/account-security`).
//!
//! The secret appears only in the answer to a POST ("Set up"), as a QR code and as text; it
//! travels back in a hidden field with the first code, and is stored (sealed) only when that
//! code matches. Turning it off needs the person's password.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::service::TwoStepEnrollment;
use castellan_core::CoreError;
use secrecy::SecretString;
use serde::Deserialize;

use super::auth::FieldErrors;
use super::{render, render_status, see_other, Chrome, WebForm, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/account-security", get(security_page))
        .route("/account-security/two-step/begin", post(begin))
        .route("/account-security/two-step", post(enable))
        .route("/account-security/two-step/disable", post(disable))
}

#[derive(askama::Template)]
#[template(path = "two_step.html")]
struct SecurityPage {
    chrome: Chrome,
    enabled: bool,
    errors: FieldErrors,
}

#[derive(askama::Template)]
#[template(path = "two_step_setup.html")]
struct SetupPage {
    chrome: Chrome,
    /// The base32 secret, as typed into an app.
    secret: String,
    /// The secret in groups of four, easier to read.
    secret_grouped: String,
    qr_png_base64: String,
    code: String,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

const TITLE: &str = "Two-step sign-in";

fn notice(done: Option<&str>) -> Option<String> {
    match done? {
        "on" => Some(
            "Two-step sign-in is on. From now on, signing in asks for a code from your app.".into(),
        ),
        "off" => Some("Two-step sign-in is off. Signing in needs only your password.".into()),
        "password" => Some(
            "Your password was changed. Your other browsers and API tokens were signed out.".into(),
        ),
        _ => None,
    }
}

async fn security_page(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<DoneQuery>,
) -> WebResult {
    let enabled = s
        .svc
        .sessions()
        .two_step_status(&user.actor.permit()?)
        .await?;
    let mut chrome = user.chrome(TITLE, "sessions");
    chrome.notice = notice(q.done.as_deref());
    Ok(render(&SecurityPage {
        chrome,
        enabled,
        errors: FieldErrors::default(),
    }))
}

fn setup_page(
    user: &WebUser,
    e: TwoStepEnrollment,
    code: String,
    errors: FieldErrors,
) -> SetupPage {
    let secret_grouped = e
        .secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    SetupPage {
        chrome: user.chrome("Set up two-step sign-in", "sessions"),
        secret: e.secret,
        secret_grouped,
        qr_png_base64: e.qr_png_base64,
        code,
        errors,
    }
}

#[derive(Debug, Deserialize)]
struct Empty {}

/// "Set up": a fresh secret, shown once as a QR code and as text.
async fn begin(State(s): State<AppState>, user: WebUser, WebForm(_): WebForm<Empty>) -> WebResult {
    let e = s
        .svc
        .sessions()
        .begin_two_step(&user.actor.permit()?)
        .await?;
    Ok(render(&setup_page(
        &user,
        e,
        String::new(),
        FieldErrors::default(),
    )))
}

/// No `Debug`: it holds a secret as typed, which must never reach a log.
#[derive(Deserialize)]
struct EnableForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

/// Turns two-step sign-in on when the code matches the secret; else shows the same secret
/// again with the error next to the code field.
async fn enable(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<EnableForm>,
) -> WebResult {
    let secret = SecretString::from(f.secret.clone());
    match s
        .svc
        .sessions()
        .enable_two_step(
            &user.actor.permit()?,
            &secret,
            &f.code,
            &SecretString::from(f.password.clone()),
        )
        .await
    {
        Ok(()) => Ok(see_other("/account-security?done=on")),
        Err(e @ CoreError::Validation { .. }) => {
            let mut errors = FieldErrors::from_core(e);
            if errors.has("secret") {
                // A secret that does not parse did not come from the page: start again.
                errors.0[0].0 = "general".into();
                let e = s
                    .svc
                    .sessions()
                    .begin_two_step(&user.actor.permit()?)
                    .await?;
                return Ok(render_status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &setup_page(&user, e, String::new(), errors),
                ));
            }
            let e = s
                .svc
                .sessions()
                .resume_two_step(&user.actor.permit()?, &secret)
                .await?;
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &setup_page(&user, e, f.code.trim().to_owned(), errors),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// No `Debug`: it holds a secret as typed, which must never reach a log.
#[derive(Deserialize)]
struct DisableForm {
    #[serde(default)]
    password: String,
}

/// Turns two-step sign-in off after checking the password.
async fn disable(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<DisableForm>,
) -> WebResult {
    let password = SecretString::from(f.password);
    match s
        .svc
        .sessions()
        .disable_two_step(&user.actor.permit()?, &password)
        .await
    {
        Ok(()) => Ok(see_other("/account-security?done=off")),
        Err(e @ CoreError::Validation { .. }) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SecurityPage {
                chrome: user.chrome(TITLE, "sessions"),
                enabled: true,
                errors: FieldErrors::from_core(e),
            },
        )),
        Err(e) => Err(e.into()),
    }
}
