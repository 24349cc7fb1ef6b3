//! Sealing and opening an account's secret fields under its vault's data key, and revealing
//! them ([`Accounts::reveal`]).

use castellan_crypto::{field_aad, DataKey};

use super::{AccountSecrets, BACKUP_CODES, CUSTOM_PREFIX, NOTES, PASSWORD, TOTP_SECRET};
use crate::activity::{ActivityAction, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, VaultId};
use crate::model::{AccountRecord, SealedField};
use crate::permissions::{can, ItemAction, Permit};
use crate::service::{Accounts, Castellan};

pub(super) struct Plain {
    pub(super) field: String,
    pub(super) value: String,
}

impl Castellan {
    pub(super) async fn seal_all(
        &self,
        vault: VaultId,
        account: AccountId,
        plain: &[Plain],
    ) -> CoreResult<Vec<SealedField>> {
        let (dek_id, dek) = self.data_key(vault).await?;
        Ok(plain
            .iter()
            .map(|p| SealedField {
                field: p.field.clone(),
                dek_id,
                ciphertext: dek.seal(
                    p.value.as_bytes(),
                    &field_aad("accounts", &account.to_string(), &p.field),
                ),
            })
            .collect())
    }

    pub(super) async fn open_all(&self, a: &AccountRecord) -> CoreResult<Vec<Plain>> {
        let (dek_id, dek): (_, DataKey) = self.data_key(a.vault_id).await?;
        let mut out = vec![];
        for s in self.store.sealed_fields(a.id).await? {
            if s.dek_id != dek_id {
                return Err(CoreError::internal(format!(
                    "field sealed under unknown data key {}",
                    s.dek_id
                )));
            }
            let bytes = dek.open(
                &s.ciphertext,
                &field_aad("accounts", &a.id.to_string(), &s.field),
            )?;
            let value = String::from_utf8(bytes).map_err(CoreError::internal)?;
            out.push(Plain {
                field: s.field,
                value,
            });
        }
        Ok(out)
    }

    /// Seals `(field, value)` pairs for an account under its vault's data key.
    pub(crate) async fn seal_fields(
        &self,
        vault: VaultId,
        account: AccountId,
        fields: &[(String, String)],
    ) -> CoreResult<Vec<SealedField>> {
        let plain: Vec<Plain> = fields
            .iter()
            .map(|(f, v)| Plain {
                field: f.clone(),
                value: v.clone(),
            })
            .collect();
        self.seal_all(vault, account, &plain).await
    }

    /// Every secret field of an account, decrypted: `(field, value)` pairs. For the bot.
    pub(crate) async fn open_fields(&self, a: &AccountRecord) -> CoreResult<Vec<(String, String)>> {
        Ok(self
            .open_all(a)
            .await?
            .into_iter()
            .map(|p| (p.field, p.value))
            .collect())
    }
}

impl Accounts<'_> {
    /// Reveals secret fields (all, or those named: `password`, `notes`, `backup_codes`,
    /// `custom:<name>`). Needs `AccountReveal` and an item role that may reveal; recorded as
    /// `account.reveal` with the field names (never the values).
    pub async fn reveal(
        &self,
        permit: &Permit<can::AccountReveal>,
        id: AccountId,
        fields: Option<Vec<String>>,
    ) -> CoreResult<AccountSecrets> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, id, ItemAction::Reveal).await?;
        let mut out = AccountSecrets::default();
        let mut shown = vec![];
        for p in self.open_all(&a).await? {
            if p.field == TOTP_SECRET || fields.as_ref().is_some_and(|f| !f.contains(&p.field)) {
                continue;
            }
            shown.push(p.field.clone());
            match p.field.as_str() {
                PASSWORD => out.password = Some(p.value),
                NOTES => out.notes = Some(p.value),
                BACKUP_CODES => out.backup_codes = serde_json::from_str(&p.value).ok(),
                other => {
                    if let Some(name) = other.strip_prefix(CUSTOM_PREFIX) {
                        out.custom_fields.insert(name.to_owned(), p.value);
                    }
                }
            }
        }
        let ev = NewEvent::new(actor, ActivityAction::AccountReveal, self.now())
            .target("account", a.id, &a.label)
            .details(serde_json::json!({ "fields": shown }));
        self.store.append(&ev).await?;
        Ok(out)
    }
}
