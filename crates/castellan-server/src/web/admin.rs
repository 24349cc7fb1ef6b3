//! Admin pages: people and workspace roles, vaults, the activity log (filter and CSV export).

use axum::Router;

use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
