//! The app catalog and the password generator.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::wire::{self, App, ConnectorInfo, GenerateRequest, GenerateResult};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_apps, add_app))
        .routes(routes!(get_app))
        .routes(routes!(get_connector))
        .routes(routes!(generate))
}

/// Which connector's declaration to show.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectorQuery {
    /// `manual` for the manual connector (any app: tasks for an app admin); default: the
    /// app's own connector.
    pub connector: Option<String>,
}

/// The catalog: built-in and custom apps, by name.
#[utoipa::path(get, path = "/api/v1/apps", tag = "catalog", security(("bearer" = [])), responses((status = 200, body = Vec<App>)))]
async fn list_apps(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Json<Vec<App>>> {
    Ok(Json(wire::list(s.svc.catalog().list(&a.permit()?).await?)))
}

/// Adds a custom app to the catalog.
#[utoipa::path(post, path = "/api/v1/apps", tag = "catalog", security(("bearer" = [])), request_body = App,
    responses((status = 201, body = App), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn add_app(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(app): ApiJson<App>,
) -> ApiResult<(StatusCode, Json<App>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.svc.catalog().add(&a.permit()?, app.into()).await?.into()),
    ))
}

/// One app by id or name.
#[utoipa::path(get, path = "/api/v1/apps/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = String, Path, description = "App id (slug) or name")),
    responses((status = 200, body = App), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_app(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<App>> {
    Ok(Json(s.svc.catalog().get(&a.permit()?, &id).await?.into()))
}

/// What the app's connector can do and which settings a hub on it needs (its settings schema):
/// what the wizard and `castellan hub connect` ask for; with `?connector=manual`, the manual
/// connector's (any app). 404 when the app has no such connector in this build.
#[utoipa::path(get, path = "/api/v1/apps/{id}/connector", tag = "catalog", security(("bearer" = [])),
    params(("id" = String, Path, description = "App id (slug) or name"), ConnectorQuery),
    responses((status = 200, body = ConnectorInfo), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_connector(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ConnectorQuery>,
) -> ApiResult<Json<ConnectorInfo>> {
    let app = s.svc.catalog().get(&a.permit()?, &id).await?;
    let over = match q.connector.as_deref() {
        None => None,
        Some(c) if Some(c) == app.connector.as_deref() => None,
        Some(c) if app.drives(c) => Some(c),
        Some(_) => {
            return Err(castellan_core::error::CoreError::NotFound { kind: "connector" }.into())
        }
    };
    let info = s
        .svc
        .connector_info(&app, over)
        .ok_or(castellan_core::error::CoreError::NotFound { kind: "connector" })?;
    Ok(Json(info.into()))
}

/// Generates a password or passphrase from the OS CSPRNG, with a strength estimate in bits.
/// With `app` or `account_id` it keeps to that app's password rules.
#[utoipa::path(post, path = "/api/v1/generate", tag = "catalog", security(("bearer" = [])), request_body = GenerateRequest,
    responses((status = 200, body = GenerateResult), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn generate(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<GenerateRequest>,
) -> ApiResult<Json<GenerateResult>> {
    Ok(Json(
        s.svc
            .catalog()
            .generate(&a.permit()?, req.into())
            .await?
            .into(),
    ))
}
