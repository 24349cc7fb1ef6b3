//! The shared inbox: managed email addresses and phone numbers, messages and codes, and the
//! inbound SMS webhook (Twilio's format and signature).

use std::time::Duration;

use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use castellan_core::ids::{AccountId, VaultId};
use castellan_core::inbox::InboxKind;
use castellan_core::service::{InboxQuery, ReceivedMessage, MAX_CODE_WAIT};
use castellan_core::CoreError;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{optional_json, ApiJson, ApiPath, ApiQuery, Auth};
use crate::wire::{self, InboxCode, InboxMessage, ManagedAddress, ManagedNumber};
use crate::AppState;

/// The inbound SMS webhook's settings. The default leaves the webhook off: it answers 404.
#[derive(Clone, Default)]
pub struct SmsWebhook {
    /// The provider's auth token, the HMAC-SHA1 key of `X-Twilio-Signature`; `None` turns the
    /// webhook off.
    pub auth_token: Option<SecretString>,
    /// The public base URL the provider calls (scheme, host and port, no trailing slash), e.g.
    /// `https://castellan.example.com`: the signature covers this URL plus the path and query.
    pub public_url: String,
}

impl SmsWebhook {
    /// A webhook checking signatures with `auth_token` against `public_url` (a trailing slash
    /// is dropped).
    pub fn new(auth_token: SecretString, public_url: &str) -> Self {
        Self {
            auth_token: Some(auth_token),
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }
}

impl std::fmt::Debug for SmsWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsWebhook")
            .field("enabled", &self.auth_token.is_some())
            .field("public_url", &self.public_url)
            .finish()
    }
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(assign_email))
        .routes(routes!(assign_phone))
        .routes(routes!(list_numbers, add_numbers))
        .routes(routes!(list_inbox))
        .routes(routes!(get_message))
        .routes(routes!(latest_code))
        .routes(routes!(sms_webhook))
}

/// Options of a managed email address.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignEmail {
    /// Also make the address the account's username.
    #[serde(default)]
    pub use_as_username: bool,
}

/// Numbers to add to the pool.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddNumbers {
    /// Phone numbers in E.164 form (`+14155550100`; spaces and hyphens are fine).
    pub numbers: Vec<String>,
}

/// Filters of the shared inbox; they combine (AND). A value that does not parse, or a parameter
/// not listed here, is refused with 400 naming it; `since` after `until` with 422.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    /// Only messages received for accounts of this catalog app id (e.g. `slack`), as the account
    /// was when the message came.
    pub app: Option<String>,
    /// Only this account (UUID).
    #[param(value_type = Option<String>, format = Uuid)]
    pub account_id: Option<AccountId>,
    /// Only accounts now in this vault (UUID).
    #[param(value_type = Option<String>, format = Uuid)]
    pub vault_id: Option<VaultId>,
    /// `email` or `sms`.
    #[param(value_type = Option<String>)]
    pub kind: Option<InboxKind>,
    /// Received at or after this time (RFC 3339, e.g. `2024-05-01T00:00:00Z`; percent-encode a
    /// `+` offset).
    pub since: Option<DateTime<Utc>>,
    /// Received before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// How long to wait for a code. Unknown parameters are refused with 400.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CodeParams {
    /// Seconds to wait for a message with a code or link (0 to 120, default 0).
    pub wait: Option<u64>,
    /// Only messages received at or after this time (RFC 3339); without it, the newest code
    /// that has not expired.
    pub since: Option<DateTime<Utc>>,
}

/// Gives the account a managed email address (or returns the one it has); with
/// `use_as_username`, also makes it the account's username. Recorded.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/email", tag = "inbox", security(("bearer" = [])), request_body = AssignEmail,
    params(("id" = String, Path, description = "Account id (UUID)")),
    responses((status = 200, body = ManagedAddress), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn assign_email(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<ManagedAddress>> {
    let opts = optional_json::<AssignEmail>(body)?.unwrap_or_default();
    Ok(Json(
        s.svc
            .inbox()
            .assign_email(&a.permit()?, id, opts.use_as_username)
            .await?
            .into(),
    ))
}

/// Gives the account a free phone number of the workspace's pool (or returns the one it has).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/phone", tag = "inbox", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id (UUID)")),
    responses((status = 200, body = ManagedNumber), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn assign_phone(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<ManagedNumber>> {
    Ok(Json(
        s.svc.inbox().assign_number(&a.permit()?, id).await?.into(),
    ))
}

/// The workspace's pool of phone numbers.
#[utoipa::path(get, path = "/api/v1/phone-numbers", tag = "inbox", security(("bearer" = [])),
    responses((status = 200, body = Vec<ManagedNumber>)))]
async fn list_numbers(
    State(s): State<AppState>,
    Auth(a): Auth,
) -> ApiResult<Json<Vec<ManagedNumber>>> {
    Ok(Json(wire::list(
        s.svc.inbox().phone_numbers(&a.permit()?).await?,
    )))
}

/// Adds numbers to the pool (numbers already in it are skipped); returns the pool.
#[utoipa::path(post, path = "/api/v1/phone-numbers", tag = "inbox", security(("bearer" = [])), request_body = AddNumbers,
    responses((status = 201, body = Vec<ManagedNumber>), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_numbers(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiJson(n): ApiJson<AddNumbers>,
) -> ApiResult<(StatusCode, Json<Vec<ManagedNumber>>)> {
    Ok((
        StatusCode::CREATED,
        Json(wire::list(
            s.svc.inbox().add_numbers(&a.permit()?, n.numbers).await?,
        )),
    ))
}

/// The shared inbox: messages of the accounts the caller may view, newest first. Codes, links
/// and bodies are left out; read them with `GET /api/v1/inbox/{id}` (recorded).
#[utoipa::path(get, path = "/api/v1/inbox", tag = "inbox", security(("bearer" = [])), params(InboxParams),
    responses((status = 200, body = Vec<InboxMessage>)))]
async fn list_inbox(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiQuery(q): ApiQuery<InboxParams>,
) -> ApiResult<Json<Vec<InboxMessage>>> {
    let q = InboxQuery {
        app: q.app,
        account: q.account_id,
        vault: q.vault_id,
        kind: q.kind,
        since: q.since,
        until: q.until,
        limit: q.limit,
    };
    Ok(Json(wire::list(s.svc.inbox().list(&a.permit()?, q).await?)))
}

/// One message with its code, link and text. Recorded as `inbox.read`.
#[utoipa::path(get, path = "/api/v1/inbox/{id}", tag = "inbox", security(("bearer" = [])),
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses((status = 200, body = InboxMessage), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_message(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<castellan_core::inbox::InboxMessageId>,
) -> ApiResult<Json<InboxMessage>> {
    Ok(Json(s.svc.inbox().message(&a.permit()?, id).await?.into()))
}

/// The newest code or link received for the account, waiting up to `wait` seconds (at most
/// 120) for one to arrive. 404 when none came. Recorded as `inbox.code_read`.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/inbox/code", tag = "inbox", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id (UUID)"), CodeParams),
    responses((status = 200, body = InboxCode), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn latest_code(
    State(s): State<AppState>,
    Auth(a): Auth,
    ApiPath(id): ApiPath<AccountId>,
    ApiQuery(q): ApiQuery<CodeParams>,
) -> ApiResult<Json<InboxCode>> {
    let wait = Duration::from_secs(q.wait.unwrap_or(0)).min(MAX_CODE_WAIT);
    match s
        .svc
        .inbox()
        .wait_for_code(&a.permit()?, id, q.since, wait)
        .await?
    {
        Some(c) => Ok(Json(c.into())),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!(
                "no code or link received for this account{}",
                if wait.is_zero() {
                    String::new()
                } else {
                    format!(" within {} s", wait.as_secs())
                }
            ),
        )),
    }
}

/// An empty TwiML answer: no reply SMS.
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

/// The inbound SMS webhook, in Twilio's format: a form with `From`, `To` and `Body`, signed in
/// `X-Twilio-Signature` (HMAC-SHA1 with the auth token over the public URL and the sorted
/// parameters). A bad signature is refused with 403 and an unknown number with 404; nothing is
/// stored then. Off (404) unless an auth token is configured.
#[utoipa::path(post, path = "/api/v1/webhooks/sms", tag = "inbox",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's inbound message parameters (From, To, Body, MessageSid, ...)"),
    params(("X-Twilio-Signature" = String, Header, description = "base64 HMAC-SHA1 signature")),
    responses((status = 200, content_type = "application/xml", body = String, description = "Empty TwiML"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn sms_webhook(
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<impl IntoResponse> {
    let Some(token) = &s.sms.auth_token else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "no such endpoint; see /api/v1/openapi.json",
        ));
    };
    let body = body.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Payload too large",
            "the body is larger than 1 MiB",
        )
    })?;
    if body.len() > castellan_inbox::sms::MAX_FORM_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Payload too large",
            "the form is larger than 64 KiB",
        ));
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", s.sms.public_url);
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !castellan_inbox::verify_twilio_signature(token.expose_secret(), &url, &params, signature) {
        tracing::warn!("SMS webhook: bad or missing X-Twilio-Signature");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad-signature",
            "Bad signature",
            "the X-Twilio-Signature header does not match this request",
        ));
    }
    let (sms, params) = castellan_inbox::parse_sms_form(&body)
        .map_err(|e| ApiError::bad_request(format!("the SMS form is not valid: {e}")))?;
    let hints = s
        .svc
        .inbox_delivery()
        .number_hints(&sms.to)
        .await?
        .map(|h| castellan_inbox::Hints {
            senders: h.senders,
            code_pattern: h.code_pattern,
        });
    let found = castellan_inbox::extract_sms(&sms.body, hints.as_ref());
    // The provider's message id makes a retried webhook call a duplicate; without one, every
    // call is a new message.
    let sid = params
        .iter()
        .find(|(k, _)| k == "MessageSid" || k == "SmsSid")
        .map(|(_, v)| v.clone());
    let message_key = match sid {
        Some(sid) => format!("twilio:{sid}"),
        None => format!("sms:{}", uuid::Uuid::now_v7()),
    };
    let id = s
        .svc
        .inbox_delivery()
        .receive_sms(ReceivedMessage {
            to: sms.to,
            from: sms.from,
            subject: None,
            text: sms.body,
            raw: None,
            received_at: Utc::now(),
            message_key,
            code: found.code,
            link: found.link,
            expires_in: found.expires_in,
        })
        .await
        .map_err(|e| match e {
            CoreError::NotFound { .. } => ApiError::from(CoreError::NotFound {
                kind: "managed phone number",
            }),
            other => ApiError::from(other),
        })?;
    tracing::info!(stored = id.is_some(), "SMS webhook: message received");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml")],
        EMPTY_TWIML,
    ))
}
