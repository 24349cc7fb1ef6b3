//! Account pages: add an account, the account page (reveal, 2FA, managed email and phone, sharing, activity) and the shared inbox.

use axum::Router;

use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
