//! Two-step sign-in: a person sets up their own TOTP authenticator.

use axum::Router;

use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
