//! Account recovery in the web app: changing one's own password
//! (`/account-security/password`) and the public page a password reset link opens
//! (`/reset-password?token=…`). Both ask for the new password twice and count against the
//! sign-in rate limit. Admins issue reset links and renew invitations from the people page
//! (`admin.rs`).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use castellan_core::activity::Actor;
use castellan_core::service::{ChangePassword, UseResetLink};
use castellan_core::CoreError;
use secrecy::SecretString;
use serde::Deserialize;

use super::auth::{public_csrf, too_many, with_cookie, FieldErrors};
use super::{render, render_status, see_other, Chrome, WebForm, WebResult, WebUser};
use crate::extract::Source;
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/account-security/password",
            get(change_page).post(change_submit),
        )
        .route("/reset-password", get(reset_page).post(reset_submit))
}

/// The error when the two typed new passwords differ.
fn mismatch() -> FieldErrors {
    FieldErrors(vec![(
        "confirm_password".into(),
        "The two new passwords differ. Type the new password twice.".into(),
    )])
}

#[derive(askama::Template)]
#[template(path = "password_change.html")]
struct ChangePage {
    chrome: Chrome,
    email: String,
    errors: FieldErrors,
}

fn change_view(user: &WebUser, errors: FieldErrors) -> ChangePage {
    ChangePage {
        chrome: user.chrome("Change your password", "sessions"),
        email: user.actor.name.clone(),
        errors,
    }
}

async fn change_page(user: WebUser) -> Response {
    render(&change_view(&user, FieldErrors::default()))
}

/// No `Debug`: it holds passwords as typed, which must never reach a log.
#[derive(Deserialize)]
struct ChangeForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// Changes the password; the other sessions and tokens end, this one stays.
async fn change_submit(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<ChangeForm>,
) -> WebResult {
    let again = |errors: FieldErrors, status: StatusCode| {
        render_status(status, &change_view(&user, errors))
    };
    if f.new_password != f.confirm_password {
        return Ok(again(mismatch(), StatusCode::UNPROCESSABLE_ENTITY));
    }
    let ip = user.actor.source_ip.as_deref().and_then(|i| i.parse().ok());
    if let Err(wait) = s.limiter.check(ip, &user.actor.name) {
        return Ok(again(too_many(wait), StatusCode::TOO_MANY_REQUESTS));
    }
    let input = ChangePassword {
        current_password: SecretString::from(f.current_password),
        new_password: SecretString::from(f.new_password),
    };
    match s
        .svc
        .sessions()
        .change_password(&user.actor.permit()?, &input)
        .await
    {
        Ok(_) => Ok(see_other("/account-security?done=password")),
        Err(e @ CoreError::Validation { .. }) => Ok(again(
            FieldErrors::from_core(e),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(askama::Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    chrome: Chrome,
    /// The token from the link (kept in a hidden field), or what was typed.
    token: String,
    /// The token came with the link: no field to type it in.
    has_token: bool,
    errors: FieldErrors,
    /// The password was changed.
    done: bool,
}

fn reset_view(csrf: String, token: String, errors: FieldErrors, done: bool) -> ResetPage {
    ResetPage {
        chrome: Chrome {
            title: "Choose a new password".into(),
            csrf,
            ..Default::default()
        },
        has_token: !token.is_empty() && !errors.has("token"),
        token,
        errors,
        done,
    }
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The page a reset link opens (public).
async fn reset_page(headers: HeaderMap, Query(q): Query<TokenQuery>) -> Response {
    let (csrf, set) = public_csrf(&headers);
    let token = q.token.unwrap_or_default().chars().take(200).collect();
    with_cookie(
        render(&reset_view(csrf, token, FieldErrors::default(), false)),
        set,
    )
}

/// No `Debug`: it holds the link's token and passwords as typed.
#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// Uses the link: sets the new password, then offers to sign in.
async fn reset_submit(
    State(s): State<AppState>,
    src: Source,
    headers: HeaderMap,
    WebForm(f): WebForm<ResetForm>,
) -> WebResult {
    let (csrf, _) = public_csrf(&headers);
    let again = |errors: FieldErrors, status: StatusCode| {
        render_status(
            status,
            &reset_view(csrf.clone(), f.token.clone(), errors, false),
        )
    };
    if f.new_password != f.confirm_password {
        return Ok(again(mismatch(), StatusCode::UNPROCESSABLE_ENTITY));
    }
    let ip = src.ip.as_deref().and_then(|i| i.parse().ok());
    if let Err(wait) = s.limiter.check(ip, "") {
        return Ok(again(too_many(wait), StatusCode::TOO_MANY_REQUESTS));
    }
    let actor = Actor::anonymous(src.ip.clone(), src.user_agent.clone());
    let input = UseResetLink {
        reset_token: SecretString::from(f.token.clone()),
        new_password: SecretString::from(f.new_password.clone()),
    };
    match s.svc.sessions().reset_password(&actor, &input).await {
        Ok(_) => Ok(render(&reset_view(
            csrf.clone(),
            String::new(),
            FieldErrors::default(),
            true,
        ))),
        Err(CoreError::Unauthenticated(m)) => Ok(again(
            FieldErrors(vec![("general".into(), m)]),
            StatusCode::UNAUTHORIZED,
        )),
        Err(e @ CoreError::Validation { .. }) => Ok(again(
            FieldErrors::from_core(e),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(e.into()),
    }
}
