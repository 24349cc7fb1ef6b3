//! Managed addresses and numbers, on the [`Inbox`] capability: the mail domains, a managed
//! email address for an account (and as its username), and the workspace's pool of phone
//! numbers.

use rand::Rng;

use super::DEFAULT_MAIL_DOMAIN;
use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::AccountId;
use crate::inbox::{ManagedAddress, ManagedAddressId, ManagedNumber, ManagedNumberId};
use crate::model::AccountRecord;
use crate::permissions::{can, ItemAction, Permit};
use crate::service::accounts::{AccountPatch, AccountView};
use crate::service::{Castellan, Inbox};
use crate::validate;

/// Random characters in a managed address' local part.
const ADDRESS_RANDOM_LEN: usize = 8;
/// Longest slug before the random part.
const ADDRESS_SLUG_MAX: usize = 24;
/// Most numbers added in one call.
const MAX_NUMBERS_PER_CALL: usize = 1000;

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
    let label_ok = |l: &&str| l.is_ascii() && validate::domain_label(l);
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
            let ev = NewEvent::new(actor, ActivityAction::InboxAddressAssign, self.now())
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
        let ev = NewEvent::new(actor, ActivityAction::InboxNumbersAdd, self.now()).details(
            serde_json::json!({
                "numbers": list.iter().map(|m| m.e164.as_str()).collect::<Vec<_>>(),
            }),
        );
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
        let ev = NewEvent::new(actor, ActivityAction::InboxNumberAssign, self.now())
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
