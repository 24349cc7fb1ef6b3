//! 2FA managed by Castellan: each account's authenticator.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use base64::Engine;
use castellan_core::ids::AccountId;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::wire::{
    self, ImportedAccount, MigrationImport, TotpCode, TotpExport, TotpInput, TotpVerification,
    TotpView,
};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_totp, set_totp, remove_totp))
        .routes(routes!(totp_code))
        .routes(routes!(verify_totp))
        .routes(routes!(export_totp))
        .routes(routes!(totp_qr))
        .routes(routes!(import_migration))
}

/// A code typed back from the app.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyCode {
    /// The code.
    pub code: String,
}

/// The account's authenticator settings (no secret).
#[utoipa::path(get, path = "/api/v1/accounts/{id}/totp", tag = "totp", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), responses((status = 200, body = TotpView), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_totp(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<TotpView>> {
    Ok(Json(
        s.svc.authenticator().get(&a.permit()?, id).await?.into(),
    ))
}

/// Turns on 2FA managed by Castellan: a base32 secret, an otpauth URI or a QR image (base64).
#[utoipa::path(put, path = "/api/v1/accounts/{id}/totp", tag = "totp", security(("bearer" = [])), request_body = TotpInput,
    params(("id" = String, Path, description = "Account id")), responses((status = 200, body = TotpView), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn set_totp(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(t): ApiJson<TotpInput>,
) -> ApiResult<Json<TotpView>> {
    Ok(Json(
        s.svc
            .authenticator()
            .set(&a.permit()?, id, t.into())
            .await?
            .into(),
    ))
}

/// Turns 2FA off and deletes the secret.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/totp", tag = "totp", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), responses((status = 204)))]
async fn remove_totp(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<StatusCode> {
    s.svc.authenticator().remove(&a.permit()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The current code and seconds remaining (HOTP: the next counter). Recorded.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/totp/code", tag = "totp", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), responses((status = 200, body = TotpCode)))]
async fn totp_code(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<TotpCode>> {
    Ok(Json(
        s.svc.authenticator().code(&a.permit()?, id).await?.into(),
    ))
}

/// Verifies a typed code (±1 time step; a code is never accepted twice).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/totp/verify", tag = "totp", security(("bearer" = [])), request_body = VerifyCode,
    params(("id" = String, Path, description = "Account id")), responses((status = 200, body = TotpVerification)))]
async fn verify_totp(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(v): ApiJson<VerifyCode>,
) -> ApiResult<Json<TotpVerification>> {
    Ok(Json(
        s.svc
            .authenticator()
            .verify(&a.permit()?, id, &v.code)
            .await?
            .into(),
    ))
}

/// Exports the secret as an otpauth URI and a QR PNG (base64). Recorded.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/totp/export", tag = "totp", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), responses((status = 200, body = TotpExport)))]
async fn export_totp(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<TotpExport>> {
    Ok(Json(
        s.svc.authenticator().export(&a.permit()?, id).await?.into(),
    ))
}

/// The secret's QR code as a PNG image. Recorded.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/totp/qr.png", tag = "totp", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), responses((status = 200, content_type = "image/png", body = Vec<u8>)))]
async fn totp_qr(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<impl IntoResponse> {
    let e = s.svc.authenticator().export(&a.permit()?, id).await?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(e.qr_png_base64)
        .map_err(|e| ApiError::from(castellan_core::CoreError::internal(e)))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png))
}

/// Imports a Google Authenticator export (`otpauth-migration://` URI or its QR image): one new
/// account per entry, each with 2FA managed by Castellan.
#[utoipa::path(post, path = "/api/v1/accounts/import-migration", tag = "totp", security(("bearer" = [])), request_body = MigrationImport,
    responses((status = 201, body = Vec<ImportedAccount>), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn import_migration(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(m): ApiJson<MigrationImport>,
) -> ApiResult<(StatusCode, Json<Vec<ImportedAccount>>)> {
    Ok((
        StatusCode::CREATED,
        Json(wire::list(
            s.svc
                .authenticator()
                .import_migration(&a.permit()?, m.into())
                .await?,
        )),
    ))
}
