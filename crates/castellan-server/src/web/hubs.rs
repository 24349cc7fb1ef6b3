//! Business hub pages: the connect wizard, the hub page (status, members, actions, last sync report, live job progress) and the automation log.

use axum::Router;

use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
