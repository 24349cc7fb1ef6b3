//! "Connect with <app>" in the browser (the hub wizard's OAuth 2.0 step, RFC 6749 §4.1):
//!
//! - `POST /hubs/{id}/oauth2/start` (a CSRF-checked form on the hub page): keeps the request
//!   server-side (bound to this session, 10 minutes) and redirects to the vendor's consent page;
//! - `GET /oauth2/callback`: where the vendor sends the browser back. The session cookie is
//!   `SameSite=Strict`, so this cross-site arrival carries none: the page moves the browser on to
//!   the same query under `/oauth2/finish` from Castellan's own origin (a `meta` refresh, no
//!   script), which does;
//! - `GET /oauth2/finish`: checks the `state` (once, same admin and session, in time), exchanges
//!   the code, keeps the tokens sealed and goes on to the hub page; a refusal (`access_denied`),
//!   a wrong, expired or replayed `state` show an error page that says what to do.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::hub_id;
use crate::routes::oauth2::{callback_url, OAuth2Callback};
use crate::web::{see_other, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

/// The start form: only its CSRF token.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StartForm {}

pub(super) async fn start(
    State(s): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    WebForm(_): WebForm<StartForm>,
) -> WebResult {
    let id = hub_id(&id)?;
    let url = s
        .svc
        .hubs()
        .start_oauth2(&user.actor.permit()?, id, &callback_url(&s, &headers))
        .await?;
    Ok(see_other(&url))
}

/// The vendor's redirect: moves on to `/oauth2/finish` with the same query, same-site.
pub(super) async fn callback(uri: axum::http::Uri) -> Response {
    let query = uri.query().unwrap_or("");
    // The query goes into an attribute: escape what HTML would read.
    let to = format!("/oauth2/finish?{query}")
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={to}\"><title>Connecting…</title></head><body><p>Connecting… <a href=\"{to}\">Continue</a></p></body></html>"
    );
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(page),
    )
        .into_response()
}

/// The callback's query (RFC 6749 §4.1.2 and §4.1.2.1).
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub(super) async fn finish(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<CallbackQuery>,
) -> WebResult {
    let Some(state) = q.state.filter(|s| !s.is_empty()) else {
        return Err(WebError::status(
            StatusCode::BAD_REQUEST,
            "The app sent no state back: start Connect with the app again from the hub's page.",
        ));
    };
    let cb = OAuth2Callback {
        state: state.clone(),
        code: q.code,
        error: q.error,
        error_description: q.error_description,
    };
    let hub = s
        .svc
        .hubs()
        .finish_oauth2(&user.actor.permit()?, &state, cb.outcome())
        .await?;
    Ok(see_other(&format!("/hubs/{}?done=oauth2", hub.id)))
}
