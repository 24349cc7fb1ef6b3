//! The web app: server-rendered HTML pages (askama templates in `templates/`), a hand-written
//! stylesheet and script under `/static/`, session cookies, CSRF-protected forms and the
//! sign-in rate limit. Every page is answered with [`security::PAGE_CSP`],
//! `frame-ancestors 'none'` and `Referrer-Policy: no-referrer`.
//!
//! Building blocks for pages: [`WebUser`] (the signed-in person, or a redirect to sign-in),
//! [`WebForm`] (a CSRF-checked `application/x-www-form-urlencoded` body), [`Chrome`] (what the
//! layout needs) and [`WebError`] (an HTML error page).

mod accounts;
mod admin;
mod auth;
pub mod hubs;
mod pages;
mod recovery;
pub mod security;
mod two_step;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use castellan_core::activity::Actor;
use castellan_core::model::WorkspaceRole;
use castellan_core::CoreError;
use serde::de::DeserializeOwned;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::extract::Source;
use crate::AppState;
use security::{
    cookie_value, csrf_for_session, csrf_matches, CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE,
};

/// The web routes (everything outside `/api/`).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(auth::home))
        .merge(auth::routes())
        .merge(pages::routes())
        .merge(accounts::routes())
        .merge(hubs::routes())
        .merge(admin::routes())
        .merge(two_step::routes())
        .merge(recovery::routes())
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(security::PAGE_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/app.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/app.js"),
    )
}

/// What the layout (`base.html`) shows around every page.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The page title (without the product name).
    pub title: String,
    /// The navigation entry to mark as current (`accounts`, `hubs`, …).
    pub nav: &'static str,
    /// The signed-in person's email, if any.
    pub who: Option<String>,
    /// Their workspace role, as its API name.
    pub role: String,
    /// Whether to show the admin entries (people, vaults, activity, automation log).
    pub admin: bool,
    /// Whether to show the app admin's tasks (the role may work on manual hubs' tasks).
    pub tasks: bool,
    /// The CSRF token every form on the page carries.
    pub csrf: String,
    /// A notice shown at the top (after a redirect), already plain text.
    pub notice: Option<String>,
}

/// The signed-in person of a page request, from the session cookie. Missing, expired or
/// revoked sessions redirect to `/sign-in?next=<path>`.
#[derive(Debug, Clone)]
pub struct WebUser {
    /// The actor for service calls.
    pub actor: Actor,
    /// The CSRF token of this session.
    pub csrf: String,
}

impl WebUser {
    /// The layout context for a page titled `title` under navigation entry `nav`.
    pub fn chrome(&self, title: impl Into<String>, nav: &'static str) -> Chrome {
        Chrome {
            title: title.into(),
            nav,
            who: Some(self.actor.name.clone()),
            role: self.actor.role.as_str().replace('_', " "),
            admin: matches!(
                self.actor.role,
                WorkspaceRole::Owner | WorkspaceRole::SuperAdmin | WorkspaceRole::Admin
            ),
            tasks: castellan_core::permissions::allows(
                self.actor.role,
                castellan_core::permissions::Action::HubTasks,
            ),
            csrf: self.csrf.clone(),
            notice: None,
        }
    }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let to_sign_in = || WebError::SignIn { next: next.clone() };
        let token = cookie_value(&parts.headers, SESSION_COOKIE).ok_or_else(to_sign_in)?;
        let src = Source::from_request_parts(parts, state)
            .await
            .map_err(|_| to_sign_in())?;
        let used_as = castellan_core::service::TokenUse::WebSession;
        match state
            .svc
            .sessions()
            .authenticate(&token, used_as, src.ip, src.user_agent)
            .await
        {
            Ok(actor) => Ok(Self {
                actor,
                csrf: csrf_for_session(&token),
            }),
            Err(CoreError::Unauthenticated(_)) => Err(to_sign_in()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A form body (`application/x-www-form-urlencoded`, at most 1 MiB) whose `csrf` field matched
/// the session's CSRF token (or, before sign-in, the CSRF cookie). A mismatch is refused with
/// 403 before the handler runs; a body that does not fit `T` with 400.
#[derive(Debug, Clone)]
pub struct WebForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for WebForm<T> {
    type Rejection = WebError;
    async fn from_request(req: Request, _: &AppState) -> Result<Self, WebError> {
        let (parts, body) = req.into_parts();
        check_csrf_source(&parts)?;
        let expected = expected_csrf(&parts.headers);
        let bytes = axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                WebError::status(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.")
            })?;
        let given = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if !csrf_matches(&expected, &given) {
            return Err(WebError::Csrf);
        }
        if !bytes.is_ascii() {
            // Browsers percent-encode every non-ASCII byte; raw ones would be decoded lossily.
            return Err(WebError::status(
                StatusCode::BAD_REQUEST,
                "The form is not valid application/x-www-form-urlencoded: it has raw non-ASCII bytes.",
            ));
        }
        let v = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            WebError::status(
                StatusCode::BAD_REQUEST,
                format!("The form could not be read: {e}."),
            )
        })?;
        Ok(Self(v))
    }
}

/// The CSRF token a form posted with these headers must carry: bound to the session cookie
/// when there is one, else the CSRF cookie (empty when neither: nothing matches).
pub fn expected_csrf(headers: &axum::http::HeaderMap) -> String {
    match cookie_value(headers, SESSION_COOKIE) {
        Some(t) => csrf_for_session(&t),
        None => cookie_value(headers, CSRF_COOKIE).unwrap_or_default(),
    }
}

/// Refuses cross-site form posts by their `Origin`/`Sec-Fetch-Site` headers (defence in depth
/// beside the token and `SameSite=Strict`).
pub fn check_csrf_source(parts: &Parts) -> Result<(), WebError> {
    let site = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site") | Some("same-site")) {
        return Err(WebError::Csrf);
    }
    Ok(())
}

/// Checks a CSRF token given outside a urlencoded form (e.g. a multipart field) against the
/// request headers. Errors: [`WebError::Csrf`].
pub fn check_csrf(headers: &axum::http::HeaderMap, given: &str) -> Result<(), WebError> {
    if csrf_matches(&expected_csrf(headers), given) {
        Ok(())
    } else {
        Err(WebError::Csrf)
    }
}

/// Renders an askama template into an HTML response (500 with a plain page if rendering fails).
pub fn render<T: askama::Template>(t: &T) -> Response {
    match t.render() {
        Ok(s) => Html(s).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            WebError::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
            .into_response()
        }
    }
}

/// Renders with a status other than 200 (e.g. 422 for a form with field errors).
pub fn render_status<T: askama::Template>(status: StatusCode, t: &T) -> Response {
    let mut r = render(t);
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// A 303 redirect (after a successful form post).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A web error: an HTML page with a status, or a redirect to sign-in.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in: redirect to the sign-in page, then back to `next`.
    SignIn {
        /// Where to return after signing in (a local path).
        next: String,
    },
    /// The form's CSRF token did not match (403).
    Csrf,
    /// Any other failure, with a message safe to show.
    Page {
        /// HTTP status.
        status: StatusCode,
        /// Message shown on the page.
        message: String,
    },
}

impl WebError {
    /// An error page with `status` and `message`.
    pub fn status(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Page {
            status,
            message: message.into(),
        }
    }
}

impl From<CoreError> for WebError {
    fn from(e: CoreError) -> Self {
        let api = crate::ApiError::from(e);
        let (status, message) = api.public_parts();
        Self::Page { status, message }
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next } => {
                let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Redirect::to(&format!("/sign-in?next={q}")).into_response()
            }
            Self::Csrf => render_status(
                StatusCode::FORBIDDEN,
                &ErrorPage {
                    chrome: Chrome {
                        title: "Form expired".into(),
                        ..Default::default()
                    },
                    status: 403,
                    message: "This form has expired or did not come from Castellan. Go back, reload the page and try again.".into(),
                },
            ),
            Self::Page { status, message } => {
                let body = ErrorPage {
                    chrome: Chrome {
                        title: status.canonical_reason().unwrap_or("Error").into(),
                        ..Default::default()
                    },
                    status: status.as_u16(),
                    message,
                };
                match askama::Template::render(&body) {
                    Ok(s) => (status, Html(s)).into_response(),
                    Err(_) => (status, message_only(status)).into_response(),
                }
            }
        }
    }
}

fn message_only(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    )
}

/// Result of page handlers.
pub type WebResult<T = Response> = Result<T, WebError>;

/// Whether `p` is a path on this origin that is safe to redirect to: starts with one `/`, no
/// backslash or control character anywhere (browsers drop tabs and newlines from URLs and read
/// `\` as `/`, which would turn `/\t/evil.test` into `//evil.test`), under 2 KiB.
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
        && p.len() < 2048
}

/// A local path to return to after sign-in ([`is_local_path`]), otherwise `/accounts`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_owned(),
        _ => "/accounts".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_origin() {
        assert_eq!(safe_next(Some("/hubs/1")), "/hubs/1");
        assert_eq!(safe_next(Some("//evil.test/")), "/accounts");
        assert_eq!(safe_next(Some("/\\evil.test")), "/accounts");
        assert_eq!(safe_next(Some("https://evil.test/")), "/accounts");
        assert_eq!(safe_next(None), "/accounts");
        assert_eq!(safe_next(Some("/\t/evil.test")), "/accounts");
        assert_eq!(safe_next(Some("/\n/evil.test")), "/accounts");
        assert_eq!(safe_next(Some("/a\r\nSet-Cookie: x=1")), "/accounts");
        assert_eq!(safe_next(Some("/a/\\evil")), "/accounts");
    }
}
