//! The shared inbox's model and its store port: managed email addresses, the workspace's pool of
//! phone numbers, and every email and SMS received for them.
//!
//! Message contents (subject, text, code, link) and the raw email are sealed under the account's
//! vault data key, with associated data binding each ciphertext to its row and field
//! (`inbox_messages/<id>/content`, `inbox_messages/<id>/raw`). Only routing data (kind,
//! account, sender, recipient, times, whether a code or link was found) is stored in the clear.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::NewEvent;
use crate::error::CoreResult;
use crate::ids::{AccountId, AppId, DataKeyId, VaultId};

crate::uuid_id!(/// A message in the shared inbox.
    InboxMessageId, "inbox_message");
crate::uuid_id!(/// A managed email address.
    ManagedAddressId, "managed_address");
crate::uuid_id!(/// A phone number of the workspace's pool.
    ManagedNumberId, "managed_number");

crate::str_enum!(
    /// How a message reached the shared inbox.
    InboxKind, "kind" {
        /// By SMTP, to a managed email address.
        Email = "email",
        /// By the inbound SMS webhook, to a managed phone number.
        Sms = "sms",
    }
);

/// An email address on a Castellan mail domain, assigned to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedAddress {
    /// Id.
    pub id: ManagedAddressId,
    /// The account it belongs to.
    pub account_id: AccountId,
    /// The address, lowercased: `<app-or-label>-<8 random characters>@<mail domain>`.
    pub address: String,
    /// When assigned.
    pub created_at: DateTime<Utc>,
}

/// A phone number of the workspace's pool, free or assigned to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedNumber {
    /// Id.
    pub id: ManagedNumberId,
    /// The number in E.164 form (`+14155550100`).
    pub e164: String,
    /// The account it is assigned to; `None` while free.
    pub account_id: Option<AccountId>,
    /// When added to the pool.
    pub created_at: DateTime<Utc>,
    /// When assigned, if assigned.
    pub assigned_at: Option<DateTime<Utc>>,
}

/// A message as the store keeps it: routing data in the clear, contents sealed.
#[derive(Clone)]
pub struct InboxMessageRecord {
    /// Id.
    pub id: InboxMessageId,
    /// Email or SMS.
    pub kind: InboxKind,
    /// The account of the managed address or number.
    pub account_id: AccountId,
    /// The account's vault when received (its data key sealed the contents).
    pub vault_id: VaultId,
    /// The account's catalog app when received.
    pub app_id: Option<AppId>,
    /// When received.
    pub received_at: DateTime<Utc>,
    /// The sender (the `From:` address, or the SMS sender).
    pub from: String,
    /// The managed address or number it was sent to.
    pub to: String,
    /// Whether a one-time code was found.
    pub has_code: bool,
    /// Whether a verification or magic link was found.
    pub has_link: bool,
    /// When the code or link expires, when one was found.
    pub expires_at: Option<DateTime<Utc>>,
    /// Idempotency key, unique: a message delivered twice is stored once.
    pub message_key: String,
    /// The data key that sealed `content` and `raw`.
    pub dek_id: DataKeyId,
    /// Sealed JSON of the subject, text, code and link.
    pub content: Vec<u8>,
    /// The sealed raw message (emails; `None` for SMS, and in listings, which do not load it).
    pub raw: Option<Vec<u8>>,
    /// Size of the raw message in bytes (0 for SMS).
    pub raw_bytes: i64,
}

impl std::fmt::Debug for InboxMessageRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxMessageRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("account_id", &self.account_id)
            .field("received_at", &self.received_at)
            .field("has_code", &self.has_code)
            .field("has_link", &self.has_link)
            .field("raw_bytes", &self.raw_bytes)
            .finish_non_exhaustive()
    }
}

/// A message as the API shows it. Listings leave `code`, `link` and `text` out (`null`): they
/// are shown by `GET /api/v1/inbox/{id}` and the code endpoint, which record the read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboxMessage {
    /// Id.
    pub id: InboxMessageId,
    /// `email` or `sms`.
    pub kind: InboxKind,
    /// The account.
    pub account_id: AccountId,
    /// The account's label.
    pub account_label: String,
    /// The vault whose data key sealed the message.
    pub vault_id: VaultId,
    /// The account's catalog app when received.
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

/// The latest one-time code (or link) received for an account: what `castellan inbox code`,
/// `GET /api/v1/accounts/{id}/inbox/code` and a connector's
/// [`CodeWaiter`](crate::connector::CodeWaiter) give. `Debug` leaves the code and the link out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxCode {
    /// The message it came in.
    pub message_id: InboxMessageId,
    /// The account.
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

/// A filter for listing messages.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    /// Only messages of accounts in these vaults (by the account's current vault) or listed in
    /// `also_accounts` (`None` = every account; both empty = nothing).
    pub vaults: Option<Vec<VaultId>>,
    /// Also these accounts (direct grants), OR-ed with `vaults`.
    pub also_accounts: Vec<AccountId>,
    /// Only this account.
    pub account_id: Option<AccountId>,
    /// Only accounts currently in this vault.
    pub vault_id: Option<VaultId>,
    /// Only messages received for this catalog app.
    pub app_id: Option<String>,
    /// Only this kind.
    pub kind: Option<InboxKind>,
    /// Received at or after.
    pub since: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
    /// Only messages with a code or a link.
    pub with_code_or_link: bool,
    /// Only messages whose code or link expires after this time.
    pub valid_at: Option<DateTime<Utc>>,
    /// At most this many (default 100), newest first.
    pub limit: Option<u32>,
}

/// The shared inbox's store.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Inserts a managed address. `Conflict` when the address is taken or the account already
    /// has one; `NotFound` when the account is missing.
    async fn insert_managed_address(&self, a: &ManagedAddress, event: &NewEvent) -> CoreResult<()>;
    /// The account's managed address.
    async fn managed_address_of(&self, account: AccountId) -> CoreResult<Option<ManagedAddress>>;
    /// A managed address by its (lowercased) text.
    async fn managed_address(&self, address: &str) -> CoreResult<Option<ManagedAddress>>;
    /// Adds numbers to the pool, skipping those already in it; appends `event`. Returns how many
    /// were added.
    async fn add_numbers(&self, numbers: &[ManagedNumber], event: &NewEvent) -> CoreResult<u64>;
    /// The whole pool, ordered by number.
    async fn numbers(&self) -> CoreResult<Vec<ManagedNumber>>;
    /// One number of the pool.
    async fn number(&self, e164: &str) -> CoreResult<Option<ManagedNumber>>;
    /// The number assigned to an account.
    async fn number_of(&self, account: AccountId) -> CoreResult<Option<ManagedNumber>>;
    /// Atomically assigns the first free number to `account` and appends `event`; `None` (and
    /// nothing written) when the pool has no free number.
    async fn assign_free_number(
        &self,
        account: AccountId,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<Option<ManagedNumber>>;
    /// Stores a message and appends `event`, unless a message with the same `message_key` is
    /// already stored: then nothing is written and it returns `false`.
    async fn insert_inbox_message(
        &self,
        m: &InboxMessageRecord,
        event: &NewEvent,
    ) -> CoreResult<bool>;
    /// Messages matching the filter, newest first, without their raw message.
    async fn inbox_messages(&self, f: &InboxFilter) -> CoreResult<Vec<InboxMessageRecord>>;
    /// One message with its raw message.
    async fn inbox_message(&self, id: InboxMessageId) -> CoreResult<Option<InboxMessageRecord>>;
    /// Deletes every message received before `before`; appends `event` when any was deleted.
    /// Returns how many were deleted.
    async fn purge_inbox(&self, before: DateTime<Utc>, event: &NewEvent) -> CoreResult<u64>;
}
