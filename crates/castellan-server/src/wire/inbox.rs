//! Wire types of managed addresses and numbers, inbox messages and codes.

use castellan_core::ids::{AccountId, AppId, VaultId};
use castellan_core::inbox::{InboxMessageId, ManagedAddressId, ManagedNumberId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a message reached the shared inbox.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InboxKind {
    /// By SMTP, to a managed email address.
    Email,
    /// By the inbound SMS webhook, to a managed phone number.
    Sms,
}

impl From<castellan_core::inbox::InboxKind> for InboxKind {
    fn from(v: castellan_core::inbox::InboxKind) -> Self {
        match v {
            castellan_core::inbox::InboxKind::Email => Self::Email,
            castellan_core::inbox::InboxKind::Sms => Self::Sms,
        }
    }
}

impl From<InboxKind> for castellan_core::inbox::InboxKind {
    fn from(v: InboxKind) -> Self {
        match v {
            InboxKind::Email => Self::Email,
            InboxKind::Sms => Self::Sms,
        }
    }
}

/// An email address on a Castellan mail domain, assigned to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManagedAddress {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: ManagedAddressId,
    /// The account it belongs to.
    #[schema(value_type = String, format = Uuid)]
    pub account_id: AccountId,
    /// The address, lowercased: `<app-or-label>-<8 random characters>@<mail domain>`.
    pub address: String,
    /// When assigned.
    pub created_at: DateTime<Utc>,
}

impl From<castellan_core::inbox::ManagedAddress> for ManagedAddress {
    fn from(v: castellan_core::inbox::ManagedAddress) -> Self {
        Self {
            id: v.id,
            account_id: v.account_id,
            address: v.address,
            created_at: v.created_at,
        }
    }
}

/// A phone number of the workspace's pool, free or assigned to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManagedNumber {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: ManagedNumberId,
    /// The number in E.164 form (`+14155550100`).
    pub e164: String,
    /// The account it is assigned to; `None` while free.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub account_id: Option<AccountId>,
    /// When added to the pool.
    pub created_at: DateTime<Utc>,
    /// When assigned, if assigned.
    pub assigned_at: Option<DateTime<Utc>>,
}

impl From<castellan_core::inbox::ManagedNumber> for ManagedNumber {
    fn from(v: castellan_core::inbox::ManagedNumber) -> Self {
        Self {
            id: v.id,
            e164: v.e164,
            account_id: v.account_id,
            created_at: v.created_at,
            assigned_at: v.assigned_at,
        }
    }
}

/// A message as the API shows it. Listings leave `code`, `link` and `text` out (`null`): they
/// are shown by `GET /api/v1/inbox/{id}` and the code endpoint, which record the read.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InboxMessage {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: InboxMessageId,
    /// `email` or `sms`.
    pub kind: InboxKind,
    /// The account.
    #[schema(value_type = String, format = Uuid)]
    pub account_id: AccountId,
    /// The account's label.
    pub account_label: String,
    /// The vault whose data key sealed the message.
    #[schema(value_type = String, format = Uuid)]
    pub vault_id: VaultId,
    /// The account's catalog app when received.
    #[schema(value_type = Option<String>)]
    pub app_id: Option<AppId>,
    /// When received.
    pub received_at: DateTime<Utc>,
    /// The sender.
    pub from: String,
    /// The managed address or number.
    pub to: String,
    /// The subject (emails).
    pub subject: Option<String>,
    /// Whether a one-time code was found.
    pub has_code: bool,
    /// Whether a verification or magic link was found.
    pub has_link: bool,
    /// The code (shown messages only).
    pub code: Option<String>,
    /// The link (shown messages only).
    pub link: Option<String>,
    /// When the code or link expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The idempotency key.
    pub message_key: String,
    /// The plain text body (shown messages only).
    pub text: Option<String>,
}

impl From<castellan_core::inbox::InboxMessage> for InboxMessage {
    fn from(v: castellan_core::inbox::InboxMessage) -> Self {
        Self {
            id: v.id,
            kind: v.kind.into(),
            account_id: v.account_id,
            account_label: v.account_label,
            vault_id: v.vault_id,
            app_id: v.app_id,
            received_at: v.received_at,
            from: v.from,
            to: v.to,
            subject: v.subject,
            has_code: v.has_code,
            has_link: v.has_link,
            code: v.code,
            link: v.link,
            expires_at: v.expires_at,
            message_key: v.message_key,
            text: v.text,
        }
    }
}

/// The latest one-time code (or link) received for an account: what `castellan inbox code`,
/// `GET /api/v1/accounts/{id}/inbox/code` and a connector's
/// [`CodeWaiter`](crate::connector::CodeWaiter) give. `Debug` leaves the code and the link out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxCode {
    /// The message it came in.
    #[schema(value_type = String, format = Uuid)]
    pub message_id: InboxMessageId,
    /// The account.
    #[schema(value_type = String, format = Uuid)]
    pub account_id: AccountId,
    /// `email` or `sms`.
    pub kind: InboxKind,
    /// The code, normalized (letters and digits only), if one was found.
    pub code: Option<String>,
    /// The verification or magic link, if one was found.
    pub link: Option<String>,
    /// The sender.
    pub from: String,
    /// When received.
    pub received_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<castellan_core::inbox::InboxCode> for InboxCode {
    fn from(v: castellan_core::inbox::InboxCode) -> Self {
        Self {
            message_id: v.message_id,
            account_id: v.account_id,
            kind: v.kind.into(),
            code: v.code,
            link: v.link,
            from: v.from,
            received_at: v.received_at,
            expires_at: v.expires_at,
        }
    }
}

impl std::fmt::Debug for InboxCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxCode")
            .field("message_id", &self.message_id)
            .field("account_id", &self.account_id)
            .field("kind", &self.kind)
            .field("has_code", &self.code.is_some())
            .field("has_link", &self.link.is_some())
            .field("from", &self.from)
            .field("received_at", &self.received_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}
