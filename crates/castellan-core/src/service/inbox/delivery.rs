//! The [`InboxDelivery`] capability: the shared inbox's receiving side (the SMTP receiver, the
//! SMS webhook, retention). No actor: the host delivers.

use std::time::Duration;

use castellan_crypto::field_aad;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::Content;
use crate::activity::{truncate_ms, ActivityAction, Actor, NewEvent};
use crate::catalog::InboxHints;
use crate::error::{CoreError, CoreResult};
use crate::inbox::{InboxKind, InboxMessageId, InboxMessageRecord};
use crate::model::AccountRecord;
use crate::service::{Castellan, InboxDelivery};

/// Largest text body kept (characters); the raw message keeps everything.
const MAX_TEXT_CHARS: usize = 1 << 20;
/// Longest sender and subject kept (characters).
const MAX_HEADER_CHARS: usize = 998;

/// A message as an adapter received, parsed and extracted it.
#[derive(Clone, Default)]
pub struct ReceivedMessage {
    /// The managed address (lowercased) or number (E.164) it was sent to.
    pub to: String,
    /// The sender: the `From:` address (else the envelope sender), or the SMS sender.
    pub from: String,
    /// The subject (emails).
    pub subject: Option<String>,
    /// The plain text body.
    pub text: String,
    /// The raw message as received (emails).
    pub raw: Option<Vec<u8>>,
    /// When received.
    pub received_at: DateTime<Utc>,
    /// The adapter's idempotency key for the message (the same delivery retried gives the same
    /// key); combined with `to`, so one message to two managed addresses is stored once for each.
    pub message_key: String,
    /// The one-time code found, normalized.
    pub code: Option<String>,
    /// The verification or magic link found.
    pub link: Option<String>,
    /// How long the code or link stays valid.
    pub expires_in: Option<Duration>,
}

impl std::fmt::Debug for ReceivedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedMessage")
            .field("received_at", &self.received_at)
            .field("text_bytes", &self.text.len())
            .field("raw_bytes", &self.raw.as_ref().map(Vec::len))
            .field("has_code", &self.code.is_some())
            .field("has_link", &self.link.is_some())
            .finish_non_exhaustive()
    }
}

fn clip_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl Castellan {
    /// The catalog hints of an account's app.
    async fn account_hints(&self, a: &AccountRecord) -> CoreResult<Option<InboxHints>> {
        let Some(app) = &a.app_id else {
            return Ok(None);
        };
        Ok(self
            .all_apps()
            .await?
            .into_iter()
            .find(|x| &x.id == app)
            .and_then(|x| x.inbox_hints))
    }

    async fn recipient_account(&self, kind: InboxKind, to: &str) -> CoreResult<AccountRecord> {
        let account = match kind {
            InboxKind::Email => self
                .store
                .managed_address(&to.trim().to_lowercase())
                .await?
                .map(|m| m.account_id),
            InboxKind::Sms => self
                .store
                .number(to.trim())
                .await?
                .and_then(|n| n.account_id),
        };
        let missing = || CoreError::NotFound {
            kind: match kind {
                InboxKind::Email => "managed address",
                InboxKind::Sms => "managed phone number",
            },
        };
        let id = account.ok_or_else(missing)?;
        self.store.account(id).await?.ok_or_else(missing)
    }

    #[tracing::instrument(skip_all, err, fields(kind = %kind))]
    async fn receive(
        &self,
        kind: InboxKind,
        m: ReceivedMessage,
    ) -> CoreResult<Option<InboxMessageId>> {
        let to = match kind {
            InboxKind::Email => m.to.trim().to_lowercase(),
            InboxKind::Sms => m.to.trim().to_owned(),
        };
        let a = self.recipient_account(kind, &to).await?;
        let id = InboxMessageId::new();
        let (dek_id, dek) = self.data_key(a.vault_id).await?;
        let content = Content {
            subject: m.subject.map(|s| clip_chars(&s, MAX_HEADER_CHARS)),
            text: clip_chars(&m.text, MAX_TEXT_CHARS),
            code: m.code,
            link: m.link,
        };
        let content_json = serde_json::to_vec(&content).map_err(CoreError::internal)?;
        let row = id.to_string();
        let sealed_content = dek.seal(&content_json, &field_aad("inbox_messages", &row, "content"));
        let raw_bytes = m.raw.as_ref().map_or(0, Vec::len);
        let sealed_raw = m
            .raw
            .as_ref()
            .map(|r| dek.seal(r, &field_aad("inbox_messages", &row, "raw")));
        let received_at = truncate_ms(m.received_at);
        let found = content.code.is_some() || content.link.is_some();
        let expires_at = m
            .expires_in
            .filter(|_| found)
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| received_at + d);
        let key = hex::encode(Sha256::digest(
            format!("{kind}\n{}\n{to}", m.message_key).as_bytes(),
        ));
        let rec = InboxMessageRecord {
            id,
            kind,
            account_id: a.id,
            vault_id: a.vault_id,
            app_id: a.app_id.clone(),
            received_at,
            from: clip_chars(m.from.trim(), MAX_HEADER_CHARS),
            to,
            has_code: content.code.is_some(),
            has_link: content.link.is_some(),
            expires_at,
            message_key: key,
            dek_id,
            content: sealed_content,
            raw: sealed_raw,
            raw_bytes: i64::try_from(raw_bytes).unwrap_or(i64::MAX),
        };
        let action = if found {
            ActivityAction::InboxCodeReceived
        } else {
            ActivityAction::InboxMessageReceived
        };
        // Never the code, the link or the text: only that something arrived, and from whom.
        let ev = NewEvent::new(
            &Actor::system(&format!("inbox ({kind})")),
            action,
            self.now(),
        )
        .target("account", a.id, &a.label)
        .details(serde_json::json!({
            "message_id": id,
            "kind": kind,
            "from": rec.from,
            "has_code": rec.has_code,
            "has_link": rec.has_link,
        }));
        let stored = self.store.insert_inbox_message(&rec, &ev).await?;
        tracing::info!(message_id = %id, account_id = %a.id, stored, "inbox message received");
        Ok(stored.then_some(id))
    }
}

impl InboxDelivery<'_> {
    /// Whether `address` is a managed address (the SMTP receiver refuses others at `RCPT TO`).
    pub async fn accepts_recipient(&self, address: &str) -> CoreResult<bool> {
        let address = address.trim().to_lowercase();
        Ok(self.store.managed_address(&address).await?.is_some())
    }

    /// The catalog hints for mail to a managed address (its account's app).
    /// `NotFound` when the address is not managed.
    pub async fn recipient_hints(&self, address: &str) -> CoreResult<Option<InboxHints>> {
        let a = self.recipient_account(InboxKind::Email, address).await?;
        self.account_hints(&a).await
    }

    /// The catalog hints for an SMS to a managed number (its account's app).
    /// `NotFound` when the number is not in the pool or not assigned.
    pub async fn number_hints(&self, e164: &str) -> CoreResult<Option<InboxHints>> {
        let a = self.recipient_account(InboxKind::Sms, e164).await?;
        self.account_hints(&a).await
    }

    /// Stores an email received for a managed address. Returns the new message's id, or `None`
    /// when the same message was already stored. `NotFound` when the address is not managed.
    pub async fn receive_email(&self, m: ReceivedMessage) -> CoreResult<Option<InboxMessageId>> {
        self.receive(InboxKind::Email, m).await
    }

    /// Stores an SMS received for a managed number, like [`InboxDelivery::receive_email`].
    pub async fn receive_sms(&self, m: ReceivedMessage) -> CoreResult<Option<InboxMessageId>> {
        self.receive(InboxKind::Sms, m).await
    }

    /// Deletes messages received more than `older_than` ago (the retention period). A system
    /// task: the server runs it hourly, `castellan inbox purge` runs it on the host. Recorded
    /// as `inbox.purge` when anything was deleted. Returns how many messages were deleted.
    pub async fn purge(&self, older_than: chrono::Duration) -> CoreResult<u64> {
        if older_than < chrono::Duration::zero() {
            return Err(CoreError::invalid(
                "older_than",
                "the retention period cannot be negative",
            ));
        }
        let before = self.now() - older_than;
        let ev = NewEvent::new(
            &Actor::system("inbox retention"),
            ActivityAction::InboxPurge,
            self.now(),
        )
        .details(
            serde_json::json!({ "older_than_seconds": older_than.num_seconds(), "before": before }),
        );
        self.store.purge_inbox(before, &ev).await
    }
}
