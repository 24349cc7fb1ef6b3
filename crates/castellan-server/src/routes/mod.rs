//! The `/api/v1` handlers, one module per resource. Each handler takes the authenticated
//! [`Auth`](crate::extract::Auth) and calls one core use case, which checks the permission
//! matrix before it touches the store.

mod accounts;
pub(crate) mod activity;
mod catalog;
mod collections;
pub(crate) mod health;
mod hubs;
pub(crate) mod inbox;
mod manual;
pub(crate) mod oauth2;
mod people;
mod scim_tokens;
mod setup;
mod teams;
mod totp;
pub(crate) mod vaults;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// Every API route, with its OpenAPI operation.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(setup::routes())
        .merge(health::routes())
        .merge(people::routes())
        .merge(teams::routes())
        .merge(scim_tokens::routes())
        .merge(vaults::routes())
        .merge(collections::routes())
        .merge(accounts::routes())
        .merge(catalog::routes())
        .merge(activity::routes())
        .merge(hubs::routes())
        .merge(totp::routes())
        .merge(inbox::routes())
        .merge(manual::routes())
        .merge(oauth2::routes())
}
