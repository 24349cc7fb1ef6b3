//! The [`Inbox`] capability (the shared inbox as people use it) and, in [`delivery`], the
//! [`InboxDelivery`](crate::service::InboxDelivery) capability (its receiving side).
//!
//! Adapters (the SMTP receiver, the SMS webhook) parse and extract; core gets plain values
//! ([`ReceivedMessage`]), routes them to the account of the managed address or number, seals
//! the contents under the account's vault data key and records a "code received" event.
//! Reading follows the account's item roles: a person sees a message only if they may view its
//! account, and every read of a code or message is recorded.
//!
//! - here: the shared inbox's filters and reads (list, one message, the raw email);
//! - [`addresses`]: managed email addresses, the mail domains, and the pool of phone numbers;
//! - [`codes`]: the newest code for an account, waiting for one, and the bot's code waiter;
//! - [`delivery`]: receiving email and SMS, and the retention purge.

mod addresses;
mod codes;
mod delivery;

use std::time::Duration;

use castellan_crypto::{field_aad, DataKey};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::{ActivityAction, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, VaultId};
use crate::inbox::{InboxFilter, InboxKind, InboxMessage, InboxMessageId, InboxMessageRecord};
use crate::model::{AccountRecord, WorkspaceRole};
use crate::permissions::{can, ItemAction, Permit};
use crate::service::{Castellan, Inbox};

pub use addresses::{normalize_e164, normalize_mail_domain};
pub(crate) use codes::InboxCodeWaiter;
pub use delivery::ReceivedMessage;

/// The mail domain used when none is configured.
pub const DEFAULT_MAIL_DOMAIN: &str = "castellan.localhost";
/// Messages older than this many days are purged (the default of `inbox_retention_days`).
pub const DEFAULT_INBOX_RETENTION_DAYS: u32 = 30;
/// The longest a code read may wait for a message.
pub const MAX_CODE_WAIT: Duration = Duration::from_secs(120);

/// Filters of the shared inbox.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InboxQuery {
    /// Only messages received for this catalog app (id).
    pub app: Option<String>,
    /// Only this account.
    pub account: Option<AccountId>,
    /// Only accounts in this vault.
    pub vault: Option<VaultId>,
    /// Only email or only SMS.
    pub kind: Option<InboxKind>,
    /// Received at or after.
    pub since: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// The sealed part of a message.
#[derive(Serialize, Deserialize, Default)]
struct Content {
    subject: Option<String>,
    text: String,
    code: Option<String>,
    link: Option<String>,
}

fn not_found_message() -> CoreError {
    CoreError::NotFound {
        kind: "inbox message",
    }
}

impl Castellan {
    /// The data key that sealed a message.
    async fn message_key_of(&self, r: &InboxMessageRecord) -> CoreResult<DataKey> {
        let (dek_id, dek) = self.data_key(r.vault_id).await?;
        if dek_id != r.dek_id {
            return Err(CoreError::internal(format!(
                "inbox message sealed under unknown data key {}",
                r.dek_id
            )));
        }
        Ok(dek)
    }

    async fn open_content(&self, r: &InboxMessageRecord) -> CoreResult<Content> {
        let dek = self.message_key_of(r).await?;
        let bytes = dek.open(
            &r.content,
            &field_aad("inbox_messages", &r.id.to_string(), "content"),
        )?;
        serde_json::from_slice(&bytes).map_err(CoreError::internal)
    }

    fn view_of(
        r: &InboxMessageRecord,
        label: &str,
        c: Option<Content>,
        full: bool,
    ) -> InboxMessage {
        let c = c.unwrap_or_default();
        InboxMessage {
            id: r.id,
            kind: r.kind,
            account_id: r.account_id,
            account_label: label.to_owned(),
            vault_id: r.vault_id,
            app_id: r.app_id.clone(),
            received_at: r.received_at,
            from: r.from.clone(),
            to: r.to.clone(),
            subject: c.subject,
            has_code: r.has_code,
            has_link: r.has_link,
            code: if full { c.code } else { None },
            link: if full { c.link } else { None },
            expires_at: r.expires_at,
            message_key: r.message_key.clone(),
            text: full.then_some(c.text),
        }
    }

    /// A message the actor may read, with its account.
    async fn readable_message(
        &self,
        permit: &Permit<can::AccountRead>,
        id: InboxMessageId,
    ) -> CoreResult<(InboxMessageRecord, AccountRecord)> {
        let actor = permit.actor();
        let r = self
            .store
            .inbox_message(id)
            .await?
            .ok_or_else(not_found_message)?;
        let (a, _) = match self
            .account_for(actor, r.account_id, ItemAction::View)
            .await
        {
            Err(CoreError::NotFound { .. }) => return Err(not_found_message()),
            other => other?,
        };
        Ok((r, a))
    }
}

impl Inbox<'_> {
    /// The raw message of an email, decrypted (for an export or a re-parse).
    pub async fn raw(
        &self,
        permit: &Permit<can::AccountRead>,
        id: InboxMessageId,
    ) -> CoreResult<Vec<u8>> {
        let (r, _) = self.readable_message(permit, id).await?;
        let Some(raw) = &r.raw else {
            return Err(CoreError::NotFound {
                kind: "raw message",
            });
        };
        let dek = self.message_key_of(&r).await?;
        Ok(dek.open(raw, &field_aad("inbox_messages", &r.id.to_string(), "raw"))?)
    }

    /// The shared inbox: messages of the accounts the actor may view, newest first, filtered.
    /// Needs `AccountRead`. Codes, links and bodies are left out (see
    /// [`Inbox::message`]).
    pub async fn list(
        &self,
        permit: &Permit<can::AccountRead>,
        q: InboxQuery,
    ) -> CoreResult<Vec<InboxMessage>> {
        let actor = permit.actor();
        if let (Some(s), Some(u)) = (q.since, q.until) {
            if s > u {
                return Err(CoreError::invalid("since", "`since` is after `until`"));
            }
        }
        let mut f = InboxFilter {
            account_id: q.account,
            vault_id: q.vault,
            app_id: q.app.filter(|s| !s.trim().is_empty()),
            kind: q.kind,
            since: q.since,
            until: q.until,
            limit: Some(q.limit.unwrap_or(100).clamp(1, 1000)),
            ..InboxFilter::default()
        };
        let all_access = matches!(actor.role, WorkspaceRole::Owner | WorkspaceRole::SuperAdmin);
        if !all_access {
            let grants = self.actor_item_grants(actor).await?;
            f.vaults = Some(grants.vaults.iter().map(|g| g.vault_id).collect());
            f.also_accounts = grants.accounts.iter().map(|(a, _)| *a).collect();
        }
        let mut labels: std::collections::HashMap<AccountId, String> = Default::default();
        let mut out = vec![];
        for r in self.store.inbox_messages(&f).await? {
            let label = match labels.entry(r.account_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    match self.store.account(r.account_id).await? {
                        Some(a) => e.insert(a.label).clone(),
                        None => continue,
                    }
                }
            };
            let content = self.open_content(&r).await?;
            out.push(Castellan::view_of(&r, &label, Some(content), false));
        }
        Ok(out)
    }

    /// One message with its code, link and text. Needs `AccountRead` and an item role that may
    /// view its account (others get `NotFound`). Recorded as `inbox.read`.
    pub async fn message(
        &self,
        permit: &Permit<can::AccountRead>,
        id: InboxMessageId,
    ) -> CoreResult<InboxMessage> {
        let (r, a) = self.readable_message(permit, id).await?;
        let content = self.open_content(&r).await?;
        let ev = NewEvent::new(permit.actor(), ActivityAction::InboxRead, self.now())
            .target("account", a.id, &a.label)
            .details(serde_json::json!({ "message_id": r.id, "kind": r.kind }));
        self.store.append(&ev).await?;
        Ok(Castellan::view_of(&r, &a.label, Some(content), true))
    }
}
