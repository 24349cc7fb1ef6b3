//! Claiming the workspace, signing in and out, and the person's sessions.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::activity::Actor;
use castellan_core::ids::TokenId;
use castellan_core::service::{Claim, SignIn};
use castellan_core::CoreError;
use secrecy::SecretString;
use serde::Deserialize;

use super::security::{self, SESSION_COOKIE, SESSION_DAYS};
use super::{
    render, render_status, safe_next, see_other, Chrome, WebError, WebForm, WebResult, WebUser,
};
use crate::extract::Source;
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_page).post(setup_submit))
        .route("/sign-in", get(sign_in_page).post(sign_in_submit))
        .route("/sign-out", post(sign_out))
        .route("/sessions", get(sessions_page))
        .route("/sessions/{id}/revoke", post(revoke_session))
}

/// Token names of web sessions start with this (the sessions page lists only those).
pub const SESSION_TOKEN_PREFIX: &str = "web session";

/// `/`: the claim page on a new workspace, the sign-in page when signed out, else accounts.
pub(super) async fn home(State(s): State<AppState>, headers: HeaderMap) -> WebResult {
    let st = s.svc.sessions().setup_status().await?;
    if !st.claimed {
        return Ok(see_other("/setup"));
    }
    if security::cookie_value(&headers, SESSION_COOKIE).is_some() {
        return Ok(see_other("/accounts"));
    }
    Ok(see_other("/sign-in"))
}

/// A form field error shown next to the field.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    /// The message for `field`, or "".
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .unwrap_or("")
    }
    /// Whether `field` has an error.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }
    /// From a core error: a validation error names its field; anything else is `general`.
    pub fn from_core(e: CoreError) -> Self {
        match e {
            CoreError::Validation { field, message } => Self(vec![(field, message)]),
            other => {
                let (_, msg) = crate::ApiError::from(other).public_parts();
                Self(vec![("general".into(), msg)])
            }
        }
    }
}

/// The CSRF token for a form shown before sign-in (claim, sign-in, invitation, reset link): the
/// one [`super::WebForm`] will expect. With a session cookie (even an expired or revoked one,
/// e.g. after a password change ended it) that is the session's token; otherwise the CSRF
/// cookie's, set here when missing. Returns the token and the cookie to set, if any.
pub(super) fn public_csrf(headers: &HeaderMap) -> (String, Option<axum::http::HeaderValue>) {
    if let Some(t) = security::cookie_value(headers, SESSION_COOKIE) {
        return (security::csrf_for_session(&t), None);
    }
    match security::cookie_value(headers, security::CSRF_COOKIE) {
        Some(v) if v.len() == 64 => (v, None),
        _ => {
            let v = security::new_csrf_cookie();
            let c = security::set_cookie(security::CSRF_COOKIE, &v, 86_400);
            (v, Some(c))
        }
    }
}

pub(super) fn with_cookie(mut r: Response, c: Option<axum::http::HeaderValue>) -> Response {
    if let Some(c) = c {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[derive(askama::Template)]
#[template(path = "setup.html")]
struct SetupPage {
    chrome: Chrome,
    workspace: String,
    email: String,
    name: String,
    errors: FieldErrors,
}

async fn setup_page(State(s): State<AppState>, headers: HeaderMap) -> WebResult {
    let st = s.svc.sessions().setup_status().await?;
    if st.claimed {
        return Ok(see_other("/sign-in"));
    }
    let (csrf, set) = public_csrf(&headers);
    let page = SetupPage {
        chrome: Chrome {
            title: "Claim your workspace".into(),
            csrf,
            ..Default::default()
        },
        workspace: st.workspace_name.unwrap_or_default(),
        email: String::new(),
        name: String::new(),
        errors: FieldErrors::default(),
    };
    Ok(with_cookie(render(&page), set))
}

/// No `Debug`: it holds a secret as typed, which must never reach a log.
#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    setup_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

async fn setup_submit(
    State(s): State<AppState>,
    src: Source,
    headers: HeaderMap,
    WebForm(f): WebForm<SetupForm>,
) -> WebResult {
    let st = s.svc.sessions().setup_status().await?;
    let (csrf, _) = public_csrf(&headers);
    let ip = src.ip.as_deref().and_then(|i| i.parse().ok());
    let again = |errors: FieldErrors, status: StatusCode| {
        render_status(
            status,
            &SetupPage {
                chrome: Chrome {
                    title: "Claim your workspace".into(),
                    csrf: csrf.clone(),
                    ..Default::default()
                },
                workspace: st.workspace_name.clone().unwrap_or_default(),
                email: f.email.clone(),
                name: f.name.clone(),
                errors,
            },
        )
    };
    if let Err(wait) = s.limiter.check(ip, "") {
        return Ok(again(too_many(wait), StatusCode::TOO_MANY_REQUESTS));
    }
    let actor = Actor::anonymous(src.ip.clone(), src.user_agent.clone());
    let claim = Claim {
        setup_token: SecretString::from(f.setup_token.clone()),
        email: f.email.clone(),
        name: f.name.clone(),
        password: SecretString::from(f.password.clone()),
    };
    match s.svc.sessions().claim(&actor, claim).await {
        Ok(_) => {}
        Err(e @ CoreError::Unauthenticated(_)) => {
            let mut fe = FieldErrors::from_core(e);
            fe.0[0].0 = "setup_token".into();
            return Ok(again(fe, StatusCode::UNAUTHORIZED));
        }
        Err(e @ CoreError::Validation { .. }) => {
            return Ok(again(
                FieldErrors::from_core(e),
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(e) => return Err(e.into()),
    }
    start_session(&s, &src, &f.email, f.password, None, "/accounts").await
}

pub(super) fn too_many(wait: std::time::Duration) -> FieldErrors {
    FieldErrors(vec![(
        "general".into(),
        format!(
            "Too many attempts. Wait {} seconds and try again.",
            wait.as_secs()
        ),
    )])
}

/// Signs in and answers with the session cookie and a redirect to `next`.
pub(super) async fn start_session(
    s: &AppState,
    src: &Source,
    email: &str,
    password: String,
    totp_code: Option<String>,
    next: &str,
) -> WebResult {
    let actor = Actor::anonymous(src.ip.clone(), src.user_agent.clone());
    let browser: String = src
        .user_agent
        .as_deref()
        .unwrap_or("unknown browser")
        .chars()
        .take(100)
        .collect();
    let r = s
        .svc
        .sessions()
        .sign_in(
            &actor,
            SignIn {
                email: email.to_owned(),
                password: SecretString::from(password),
                totp_code,
                token_name: Some(format!("{SESSION_TOKEN_PREFIX}: {browser}")),
                expires_in_days: Some(SESSION_DAYS),
                web_session: true,
            },
        )
        .await?;
    let mut resp = see_other(next);
    let max_age = i64::from(SESSION_DAYS) * 86_400;
    resp.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(SESSION_COOKIE, &r.token, max_age),
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(security::CSRF_COOKIE, "", 0),
    );
    Ok(resp)
}

#[derive(askama::Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    email: String,
    next: String,
    errors: FieldErrors,
    ask_code: bool,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn sign_in_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> WebResult {
    if !s.svc.sessions().setup_status().await?.claimed {
        return Ok(see_other("/setup"));
    }
    let (csrf, set) = public_csrf(&headers);
    let page = SignInPage {
        chrome: Chrome {
            title: "Sign in".into(),
            csrf,
            ..Default::default()
        },
        email: String::new(),
        next: safe_next(q.next.as_deref()),
        errors: FieldErrors::default(),
        ask_code: false,
    };
    Ok(with_cookie(render(&page), set))
}

/// No `Debug`: it holds a secret as typed, which must never reach a log.
#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: Option<String>,
}

async fn sign_in_submit(
    State(s): State<AppState>,
    src: Source,
    headers: HeaderMap,
    WebForm(f): WebForm<SignInForm>,
) -> WebResult {
    let next = safe_next(f.next.as_deref());
    let (csrf, _) = public_csrf(&headers);
    let again = |errors: FieldErrors, status: StatusCode, ask_code: bool| {
        render_status(
            status,
            &SignInPage {
                chrome: Chrome {
                    title: "Sign in".into(),
                    csrf: csrf.clone(),
                    ..Default::default()
                },
                email: f.email.clone(),
                next: next.clone(),
                errors,
                ask_code,
            },
        )
    };
    let ip = src.ip.as_deref().and_then(|i| i.parse().ok());
    if let Err(wait) = s.limiter.check(ip, &f.email) {
        let mut r = again(too_many(wait), StatusCode::TOO_MANY_REQUESTS, false);
        if let Ok(v) = wait.as_secs().to_string().parse() {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let code = Some(f.code.trim().to_owned()).filter(|c| !c.is_empty());
    match start_session(&s, &src, &f.email, f.password.clone(), code, &next).await {
        Ok(r) => Ok(r),
        Err(WebError::Page { status, message }) if status == StatusCode::UNAUTHORIZED => {
            let needs_code = message.contains("two-step");
            let field = if needs_code { "code" } else { "general" };
            Ok(again(
                FieldErrors(vec![(field.into(), message)]),
                StatusCode::UNAUTHORIZED,
                needs_code,
            ))
        }
        Err(WebError::Page { status, message }) if status == StatusCode::UNPROCESSABLE_ENTITY => {
            Ok(again(
                FieldErrors(vec![("general".into(), message)]),
                status,
                false,
            ))
        }
        Err(WebError::Page { status, message }) if status == StatusCode::SERVICE_UNAVAILABLE => {
            // Every password check slot is busy (or the store is down): the form stays filled.
            let mut r = again(
                FieldErrors(vec![("general".into(), message)]),
                status,
                false,
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
struct Empty {}

/// Logs out: revokes this session's token on the server and clears the cookie.
async fn sign_out(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(_): WebForm<Empty>,
) -> WebResult {
    if let Some(t) = user.actor.token_id {
        s.svc
            .sessions()
            .revoke_token(&user.actor.permit()?, t)
            .await?;
    }
    let mut r = see_other("/sign-in");
    r.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(SESSION_COOKIE, "", 0),
    );
    Ok(r)
}

/// One row of the sessions page.
#[derive(Debug)]
struct SessionRow {
    id: String,
    browser: String,
    created: String,
    last_used: String,
    expires: String,
    current: bool,
}

#[derive(askama::Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    sessions: Vec<SessionRow>,
}

async fn sessions_page(State(s): State<AppState>, user: WebUser) -> WebResult {
    let now = chrono::Utc::now();
    let sessions = s
        .svc
        .sessions()
        .tokens(&user.actor.permit()?)
        .await?
        .into_iter()
        .filter(|t| t.name.starts_with(SESSION_TOKEN_PREFIX))
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now))
        .map(|t| SessionRow {
            id: t.id.to_string(),
            browser: t
                .name
                .trim_start_matches(SESSION_TOKEN_PREFIX)
                .trim_start_matches(':')
                .trim()
                .to_owned(),
            created: super::pages::when(t.created_at),
            last_used: t
                .last_used_at
                .map(super::pages::when)
                .unwrap_or_else(|| "—".into()),
            expires: t
                .expires_at
                .map(super::pages::when)
                .unwrap_or_else(|| "never".into()),
            current: Some(t.id) == user.actor.token_id,
        })
        .collect();
    Ok(render(&SessionsPage {
        chrome: user.chrome("Your sessions", "sessions"),
        sessions,
    }))
}

async fn revoke_session(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(_): WebForm<Empty>,
) -> WebResult {
    let id: TokenId = id
        .parse()
        .map_err(|_| WebError::status(StatusCode::NOT_FOUND, "No such session."))?;
    s.svc
        .sessions()
        .revoke_token(&user.actor.permit()?, id)
        .await?;
    if Some(id) == user.actor.token_id {
        let mut r = see_other("/sign-in");
        r.headers_mut().append(
            header::SET_COOKIE,
            security::set_cookie(SESSION_COOKIE, "", 0),
        );
        return Ok(r);
    }
    Ok(see_other("/sessions"))
}
