//! 2FA on the account page: the current code (and its JSON for the countdown script), adding
//! an authenticator by secret, otpauth URI or QR image upload, and removing it.

use axum::extract::{Multipart, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use castellan_core::ids::AccountId;
use castellan_core::service::TotpInput;
use castellan_core::CoreError;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{account_id, account_response, account_with_error, outcome, Empty, PageExtras};
use crate::web::security::CSRF_FIELD;
use crate::web::{check_csrf, check_csrf_source, see_other, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts/{id}/totp-code.json", get(code_json))
        .route("/accounts/{id}/totp", post(add_by_text))
        .route("/accounts/{id}/totp/qr", post(add_by_qr))
        .route("/accounts/{id}/totp/remove", post(remove))
        .route("/accounts/{id}/totp/next", post(next_hotp))
}

/// The largest QR image accepted, in bytes (the router's body limit is 1 MiB as well).
const MAX_QR_BYTES: usize = 1024 * 1024;

/// The current code, for the countdown script.
#[derive(Debug, Serialize)]
struct CodeJson {
    code: String,
    seconds_remaining: u64,
    period: i64,
}

/// `GET /accounts/{id}/totp-code.json`: the current TOTP code and the seconds left (each read
/// is recorded by the service). HOTP codes are not served here: each read would advance the
/// counter.
async fn code_json(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = account_id(&id)?;
    let t = s.svc.authenticator().get(&user.actor.permit()?, id).await?;
    if t.kind == "hotp" {
        return Err(WebError::status(
            StatusCode::NOT_FOUND,
            "This account's authenticator counts codes (HOTP): use the button on the account page.",
        ));
    }
    let c = s
        .svc
        .authenticator()
        .code(&user.actor.permit()?, id)
        .await?;
    Ok(Json(CodeJson {
        code: c.code,
        seconds_remaining: c.seconds_remaining,
        period: c.period,
    })
    .into_response())
}

/// The 2FA text field: a base32 secret or an `otpauth://` URI.
/// No `Debug`: it holds a secret as typed, which must never reach a log.
#[derive(Deserialize)]
struct SecretForm {
    #[serde(default)]
    secret: String,
}

/// The service input for what was pasted: an `otpauth://` URI, else a base32 secret.
fn input_of(text: &str) -> TotpInput {
    let t = text.trim();
    let is_uri = t
        .get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case("otpauth://"));
    let value = Some(SecretString::from(t.to_owned()));
    TotpInput {
        secret: if is_uri { None } else { value.clone() },
        uri: if is_uri { value } else { None },
        qr_image_base64: None,
        algorithm: None,
        digits: None,
        period: None,
    }
}

/// Sets the authenticator and answers with a redirect to the account page, or the page with
/// the error next to `field`.
async fn set(
    s: &AppState,
    user: &WebUser,
    id: AccountId,
    input: TotpInput,
    field: &str,
) -> WebResult {
    let r = s
        .svc
        .authenticator()
        .set(&user.actor.permit()?, id, input)
        .await;
    outcome(s, user, id, r, "totp", field, PageExtras::default()).await
}

/// `POST /accounts/{id}/totp`: 2FA from a pasted secret or otpauth URI.
async fn add_by_text(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<SecretForm>,
) -> WebResult {
    let id = account_id(&id)?;
    if f.secret.trim().is_empty() {
        let e = CoreError::invalid("secret", "paste the secret or the otpauth:// link first");
        return account_with_error(&s, &user, id, e, "totp-secret", PageExtras::default()).await;
    }
    set(&s, &user, id, input_of(&f.secret), "totp-secret").await
}

/// `POST /accounts/{id}/totp/qr` (multipart): 2FA from an uploaded QR image. The form's
/// `csrf` field is checked before the image is read.
async fn add_by_qr(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    parts: Parts,
    mut form: Multipart,
) -> WebResult {
    let id = account_id(&id)?;
    let bad_form = |_| WebError::status(StatusCode::BAD_REQUEST, "The upload could not be read.");
    let mut csrf_ok = false;
    let mut image: Option<Vec<u8>> = None;
    check_csrf_source(&parts)?;
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        let name = field.name().map(str::to_owned);
        match name.as_deref() {
            Some(CSRF_FIELD) => {
                let given = field.text().await.map_err(bad_form)?;
                check_csrf(&parts.headers, &given)?;
                csrf_ok = true;
            }
            Some("qr") if csrf_ok => {
                let bytes = field.bytes().await.map_err(|_| {
                    WebError::status(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "The image is too large (at most 1 MiB).",
                    )
                })?;
                if bytes.len() > MAX_QR_BYTES {
                    return Err(WebError::status(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "The image is too large (at most 1 MiB).",
                    ));
                }
                image = Some(bytes.to_vec());
            }
            // The token must come first (it does in the form): anything before it is refused.
            _ if !csrf_ok => return Err(WebError::Csrf),
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(WebError::Csrf);
    }
    let image = image.filter(|i| !i.is_empty());
    let Some(image) = image else {
        let e = CoreError::invalid("qr", "choose an image of the QR code first");
        return account_with_error(&s, &user, id, e, "totp-qr", PageExtras::default()).await;
    };
    // QR decoding is CPU work (up to the 20-megapixel cap): off the async runtime.
    let decoded = tokio::task::spawn_blocking(move || castellan_otp::decode_qr_image(&image))
        .await
        .map_err(|e| CoreError::Internal(format!("QR decoding task failed: {e}")))?;
    let uri = match decoded {
        Ok(u) => u,
        Err(e) => {
            let e = CoreError::invalid("qr", e.to_string());
            return account_with_error(&s, &user, id, e, "totp-qr", PageExtras::default()).await;
        }
    };
    let mut input = input_of(&uri);
    if input.uri.is_none() {
        // A QR code must carry an otpauth:// link, not a bare secret.
        input = TotpInput {
            uri: input.secret.take(),
            ..input
        };
    }
    set(&s, &user, id, input, "totp-qr").await
}

/// The "Remove 2FA" form: its box must be ticked.
#[derive(Debug, Deserialize)]
struct RemoveForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /accounts/{id}/totp/remove`: turns 2FA off (the secret is deleted), only with the
/// confirmation box ticked (browsers enforce it too; without JavaScript the server does).
async fn remove(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<RemoveForm>,
) -> WebResult {
    let id = account_id(&id)?;
    if f.confirm != "1" {
        let e = CoreError::invalid(
            "confirm",
            "tick the box to confirm: removing 2FA deletes the secret, and codes cannot be read again",
        );
        return account_with_error(&s, &user, id, e, "totp-remove", PageExtras::default()).await;
    }
    s.svc
        .authenticator()
        .remove(&user.actor.permit()?, id)
        .await?;
    Ok(see_other(&format!("/accounts/{id}?done=totp-removed")))
}

/// `POST /accounts/{id}/totp/next`: an HOTP authenticator's next code (the counter advances;
/// recorded).
async fn next_hotp(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(_): WebForm<Empty>,
) -> WebResult {
    let id = account_id(&id)?;
    let c = s
        .svc
        .authenticator()
        .code(&user.actor.permit()?, id)
        .await?;
    account_response(
        &s,
        &user,
        id,
        PageExtras {
            hotp_code: Some(c.code),
            ..PageExtras::default()
        },
    )
    .await
}
