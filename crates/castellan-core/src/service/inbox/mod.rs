//! Managed email addresses, managed phone numbers and the shared inbox.
//!
//! Adapters (the SMTP receiver, the SMS webhook) parse and extract; core gets plain values
//! ([`ReceivedMessage`]), routes them to the account of the managed address or number, seals
//! the contents under the account's vault data key and records a "code received" event.
//! Reading follows the account's item roles: a person sees a message only if they may view its
//! account, and every read of a code or message is recorded.

use std::time::Duration;

use async_trait::async_trait;
use castellan_crypto::{field_aad, DataKey};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::accounts::{AccountPatch, AccountView};
use super::{Castellan, Inbox, InboxDelivery};
use crate::activity::{truncate_ms, Actor, NewEvent};
use crate::catalog::InboxHints;
use crate::connector::{CodeWaiter, ConnectorError};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, VaultId};
use crate::inbox::{
    InboxCode, InboxFilter, InboxKind, InboxMessage, InboxMessageId, InboxMessageRecord,
    ManagedAddress, ManagedAddressId, ManagedNumber, ManagedNumberId,
};
use crate::model::{AccountRecord, WorkspaceRole};
use crate::permissions::{can, ItemAction, Permit};
use crate::validate;

/// The mail domain used when none is configured.
pub const DEFAULT_MAIL_DOMAIN: &str = "castellan.localhost";
/// Messages older than this many days are purged (the default of `inbox_retention_days`).
pub const DEFAULT_INBOX_RETENTION_DAYS: u32 = 30;
/// The longest a code read may wait for a message.
pub const MAX_CODE_WAIT: Duration = Duration::from_secs(120);
/// How often a waiting code read looks at the store.
const CODE_POLL: Duration = Duration::from_millis(500);
/// Random characters in a managed address' local part.
const ADDRESS_RANDOM_LEN: usize = 8;
/// Longest slug before the random part.
const ADDRESS_SLUG_MAX: usize = 24;
/// Most numbers added in one call.
const MAX_NUMBERS_PER_CALL: usize = 1000;
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

/// The bot's [`CodeWaiter`]: waits for codes sent to one automation account by reading the
/// shared inbox as the bot ([`Inbox::wait_for_code`]), so each code handed to a connector is
/// recorded as `inbox.code_read` with the bot as the actor.
pub(crate) struct InboxCodeWaiter {
    svc: Castellan,
    account: AccountId,
    permit: Permit<can::AccountRead>,
    max_wait: Duration,
}

impl InboxCodeWaiter {
    /// A waiter for `account`'s codes, reading with `permit`; each wait is capped at
    /// `max_wait` (and at [`MAX_CODE_WAIT`]).
    pub(crate) fn new(
        svc: Castellan,
        account: AccountId,
        permit: Permit<can::AccountRead>,
        max_wait: Duration,
    ) -> Self {
        Self {
            svc,
            account,
            permit,
            max_wait: max_wait.min(MAX_CODE_WAIT),
        }
    }
}

impl std::fmt::Debug for InboxCodeWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxCodeWaiter")
            .field("account", &self.account)
            .field("actor", &self.permit.actor().name)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CodeWaiter for InboxCodeWaiter {
    async fn next_code(
        &self,
        since: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<Option<InboxCode>, ConnectorError> {
        let wait = timeout.min(self.max_wait);
        self.svc
            .inbox()
            .wait_for_code(&self.permit, self.account, Some(truncate_ms(since)), wait)
            .await
            .map_err(|e| match e {
                CoreError::Unavailable(detail) | CoreError::Internal(detail) => {
                    tracing::warn!(
                        account_id = %self.account,
                        error = %detail,
                        "a connector could not read the shared inbox"
                    );
                    ConnectorError::Unavailable(
                        "cannot read the automation account's shared inbox now".into(),
                    )
                }
                other => ConnectorError::Configuration(format!(
                    "cannot read the automation account's shared inbox: {other}"
                )),
            })
    }
}

/// The sealed part of a message.
#[derive(Serialize, Deserialize, Default)]
struct Content {
    subject: Option<String>,
    text: String,
    code: Option<String>,
    link: Option<String>,
}

/// Checks and normalizes one mail domain: lowercase, no trailing dot, at least two labels of
/// `a-z`, `0-9` and `-` (not at either end), at most 253 characters.
pub fn normalize_mail_domain(field: &str, d: &str) -> CoreResult<String> {
    let norm = d.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad = || {
        CoreError::invalid(
            field,
            format!(
                "`{}` is not a domain name (for example mail.example.com)",
                validate::clip(d)
            ),
        )
    };
    if norm.is_empty() || norm.len() > 253 {
        return Err(bad());
    }
    let labels: Vec<&str> = norm.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(bad());
    }
    Ok(norm)
}

/// Normalizes a phone number to E.164: `+`, then 8 to 15 digits not starting with 0. Spaces,
/// dots, hyphens and parentheses are dropped and a leading `00` becomes `+`.
pub fn normalize_e164(s: &str) -> Option<String> {
    let compact: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = compact
        .strip_prefix('+')
        .or_else(|| compact.strip_prefix("00"))?;
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then(|| format!("+{digits}"))
}

/// A readable slug for a managed address: the app id, else the label, reduced to `a-z`, `0-9`
/// and single hyphens, at most [`ADDRESS_SLUG_MAX`] characters.
fn address_slug(a: &AccountRecord) -> String {
    let source = a.app_id.as_ref().map_or(a.label.as_str(), |id| id.as_str());
    let mut slug = String::new();
    for c in source.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= ADDRESS_SLUG_MAX {
            break;
        }
    }
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        "account".to_owned()
    } else {
        slug
    }
}

/// `len` random characters of `a-z0-9` from the OS-seeded thread RNG (about 41 bits for 8).
fn random_part(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}

fn clip_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn not_found_message() -> CoreError {
    CoreError::NotFound {
        kind: "inbox message",
    }
}

impl Castellan {
    /// Sets the mail domains managed addresses are made on (the first one is used for new
    /// addresses). Errors: `Validation` when the list is empty or a domain is malformed.
    pub fn with_mail_domains(mut self, domains: Vec<String>) -> CoreResult<Self> {
        let mut list: Vec<String> = vec![];
        for (i, d) in domains.iter().enumerate() {
            let d = normalize_mail_domain(&format!("mail_domains[{i}]"), d)?;
            if !list.contains(&d) {
                list.push(d);
            }
        }
        if list.is_empty() {
            return Err(CoreError::invalid(
                "mail_domains",
                "give at least one mail domain",
            ));
        }
        self.mail_domains = std::sync::Arc::new(list);
        Ok(self)
    }

    /// The configured mail domains (the first one is used for new addresses).
    pub fn mail_domains(&self) -> &[String] {
        &self.mail_domains
    }

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

    async fn new_address(&self, actor: &Actor, a: &AccountRecord) -> CoreResult<ManagedAddress> {
        let domain = self
            .mail_domains
            .first()
            .cloned()
            .unwrap_or_else(|| DEFAULT_MAIL_DOMAIN.to_owned());
        let slug = address_slug(a);
        let mut last = None;
        for _ in 0..5 {
            let m = ManagedAddress {
                id: ManagedAddressId::new(),
                account_id: a.id,
                address: format!("{slug}-{}@{domain}", random_part(ADDRESS_RANDOM_LEN)),
                created_at: self.now(),
            };
            let ev = NewEvent::new(actor, "inbox.address_assign", self.now())
                .target("account", a.id, &a.label)
                .details(serde_json::json!({ "address": m.address }));
            match self.store.insert_managed_address(&m, &ev).await {
                Ok(()) => return Ok(m),
                Err(CoreError::Conflict(e)) => {
                    // Another request gave this account an address meanwhile: use it.
                    if let Some(m) = self.store.managed_address_of(a.id).await? {
                        return Ok(m);
                    }
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(CoreError::internal(format!(
            "no free managed address after 5 tries: {}",
            last.unwrap_or_default()
        )))
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
            "inbox.code_received"
        } else {
            "inbox.message_received"
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

    /// Stores an SMS received for a managed number, like [`Castellan::receive_email`].
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
        let ev = NewEvent::new(&Actor::system("inbox retention"), "inbox.purge", self.now()).details(
            serde_json::json!({ "older_than_seconds": older_than.num_seconds(), "before": before }),
        );
        self.store.purge_inbox(before, &ev).await
    }
}

impl Inbox<'_> {
    /// Gives an account a managed email address (or returns the one it has), and with
    /// `use_as_username` also makes it the account's username. Needs `AccountWrite` and an item
    /// role that may edit. Recorded as `inbox.address_assign`.
    pub async fn assign_email(
        &self,
        permit: &Permit<can::AccountWrite>,
        account: AccountId,
        use_as_username: bool,
    ) -> CoreResult<ManagedAddress> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, account, ItemAction::Edit).await?;
        let existing = self.store.managed_address_of(a.id).await?;
        let address = match existing {
            Some(m) => m,
            None => self.new_address(actor, &a).await?,
        };
        if use_as_username && a.username.as_deref() != Some(address.address.as_str()) {
            self.use_address_as_username(&permit.and()?, account)
                .await?;
        }
        Ok(address)
    }

    /// Sets the account's username to its managed address, in one step. Needs `AccountWrite`
    /// and an item role that may edit; `Validation` when the account has no managed address.
    pub async fn use_address_as_username(
        &self,
        permit: &Permit<can::AccountWrite>,
        account: AccountId,
    ) -> CoreResult<AccountView> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, account, ItemAction::Edit).await?;
        let m = self.store.managed_address_of(a.id).await?.ok_or_else(|| {
            CoreError::invalid(
                "account_id",
                "this account has no managed email address yet: assign one first",
            )
        })?;
        self.accounts()
            .update(
                &actor.permit()?,
                account,
                AccountPatch {
                    username: Some(m.address),
                    ..AccountPatch::default()
                },
            )
            .await
    }

    /// Adds numbers (E.164; spaces, dots, hyphens and parentheses are fine) to the workspace's
    /// pool; numbers already in it are skipped. Needs `InboxManage`. Returns the whole pool.
    pub async fn add_numbers(
        &self,
        permit: &Permit<can::InboxManage>,
        numbers: Vec<String>,
    ) -> CoreResult<Vec<ManagedNumber>> {
        let actor = permit.actor();
        if numbers.is_empty() || numbers.len() > MAX_NUMBERS_PER_CALL {
            return Err(CoreError::invalid(
                "numbers",
                format!("give 1 to {MAX_NUMBERS_PER_CALL} phone numbers"),
            ));
        }
        let now = self.now();
        let mut list: Vec<ManagedNumber> = vec![];
        for (i, n) in numbers.iter().enumerate() {
            let e164 = normalize_e164(n).ok_or_else(|| {
                CoreError::invalid(
                    format!("numbers[{i}]"),
                    format!(
                        "`{}` is not a phone number in E.164 form (+ country code and number, e.g. +14155550100)",
                        validate::clip(n)
                    ),
                )
            })?;
            if !list.iter().any(|m| m.e164 == e164) {
                list.push(ManagedNumber {
                    id: ManagedNumberId::new(),
                    e164,
                    account_id: None,
                    created_at: now,
                    assigned_at: None,
                });
            }
        }
        let ev = NewEvent::new(actor, "inbox.numbers_add", self.now()).details(serde_json::json!({
            "numbers": list.iter().map(|m| m.e164.as_str()).collect::<Vec<_>>(),
        }));
        self.store.add_numbers(&list, &ev).await?;
        self.store.numbers().await
    }

    /// The workspace's pool of phone numbers. Needs `InboxManage`.
    pub async fn phone_numbers(
        &self,
        _: &Permit<can::InboxManage>,
    ) -> CoreResult<Vec<ManagedNumber>> {
        self.store.numbers().await
    }

    /// Gives an account a free number of the pool (or returns the one it has). Needs
    /// `AccountWrite` and an item role that may edit. `Conflict` when no number is free.
    /// Recorded as `inbox.number_assign`.
    pub async fn assign_number(
        &self,
        permit: &Permit<can::AccountWrite>,
        account: AccountId,
    ) -> CoreResult<ManagedNumber> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, account, ItemAction::Edit).await?;
        if let Some(n) = self.store.number_of(a.id).await? {
            return Ok(n);
        }
        let ev = NewEvent::new(actor, "inbox.number_assign", self.now())
            .target("account", a.id, &a.label);
        self.store
            .assign_free_number(a.id, self.now(), &ev)
            .await?
            .ok_or_else(|| {
                CoreError::Conflict(
                    "the workspace's pool has no free phone number: an admin adds numbers with `castellan numbers add`"
                        .into(),
                )
            })
    }

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
            let (vaults, accounts) = match actor.person_id {
                Some(me) => (
                    self.store.vault_grants_of(me).await?,
                    self.store.account_grants_of(me).await?,
                ),
                None => (vec![], vec![]),
            };
            f.vaults = Some(vaults.iter().map(|g| g.vault_id).collect());
            f.also_accounts = accounts.iter().map(|(a, _)| *a).collect();
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
        let ev = NewEvent::new(permit.actor(), "inbox.read", self.now())
            .target("account", a.id, &a.label)
            .details(serde_json::json!({ "message_id": r.id, "kind": r.kind }));
        self.store.append(&ev).await?;
        Ok(Castellan::view_of(&r, &a.label, Some(content), true))
    }

    /// The newest code or link received for an account: at or after `since` when given, else
    /// the newest one that has not expired. `None` when there is none. Needs `AccountRead` and
    /// an item role that may view the account. Recorded as `inbox.code_read`.
    pub async fn latest_code(
        &self,
        permit: &Permit<can::AccountRead>,
        account: AccountId,
        since: Option<DateTime<Utc>>,
    ) -> CoreResult<Option<InboxCode>> {
        self.wait_for_code(permit, account, since, Duration::ZERO)
            .await
    }

    /// Like [`Inbox::latest_code`], waiting up to `wait` (at most [`MAX_CODE_WAIT`]) for a
    /// message to arrive: the store is read every 500 ms. The bot calls this with
    /// `Actor::bot(..)` during a login that sends a code by email or SMS.
    pub async fn wait_for_code(
        &self,
        permit: &Permit<can::AccountRead>,
        account: AccountId,
        since: Option<DateTime<Utc>>,
        wait: Duration,
    ) -> CoreResult<Option<InboxCode>> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, account, ItemAction::View).await?;
        let deadline = tokio::time::Instant::now() + wait.min(MAX_CODE_WAIT);
        loop {
            let f = InboxFilter {
                account_id: Some(a.id),
                since,
                valid_at: since.is_none().then(Utc::now),
                with_code_or_link: true,
                limit: Some(1),
                ..InboxFilter::default()
            };
            if let Some(r) = self.store.inbox_messages(&f).await?.into_iter().next() {
                let c = self.open_content(&r).await?;
                let ev = NewEvent::new(actor, "inbox.code_read", self.now())
                    .target("account", a.id, &a.label)
                    .details(serde_json::json!({ "message_id": r.id, "kind": r.kind }));
                self.store.append(&ev).await?;
                return Ok(Some(InboxCode {
                    message_id: r.id,
                    account_id: a.id,
                    kind: r.kind,
                    code: c.code,
                    link: c.link,
                    from: r.from,
                    received_at: r.received_at,
                    expires_at: r.expires_at,
                }));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(CODE_POLL.min(deadline - now)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_domains_are_checked() {
        assert_eq!(
            normalize_mail_domain("d", " Mail.Example.COM. ").unwrap(),
            "mail.example.com"
        );
        assert_eq!(
            normalize_mail_domain("d", "castellan.localhost").unwrap(),
            "castellan.localhost"
        );
        for bad in ["", "localhost", "a..b", "-a.b", "a b.c", "x@y.z", "a.b-"] {
            assert!(normalize_mail_domain("d", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn e164_numbers() {
        assert_eq!(
            normalize_e164("+1 (415) 555-0100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            normalize_e164("0044 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(normalize_e164("4155550100"), None);
        assert_eq!(normalize_e164("+0123456789"), None);
        assert_eq!(normalize_e164("+1234"), None);
    }

    #[test]
    fn random_parts_are_lowercase_alphanumeric() {
        let r = random_part(8);
        assert_eq!(r.len(), 8);
        assert!(r
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_ne!(random_part(8), random_part(8));
    }
}
