//! The [`Keys`] capability (host-local key commands) and the vault data keys every other
//! capability seals with.
//!
//! The key hierarchy: workspace master keys (in the key file) wrap per-vault data keys (in the
//! store); data keys seal secret fields. A local vault will wrap its data key to trusted devices'
//! public keys instead (`WrapKind::Device`), with no master-key copy.

use castellan_crypto::{data_key_aad, DataKey, KeyId, WrappedKey};
use serde::Serialize;

use super::{Castellan, Keys};
use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::{DataKeyId, VaultId};
use crate::model::{VaultKeyRecord, WrapKind};

/// What a re-wrap did.
#[derive(Debug, Clone, Serialize)]
pub struct RotationReport {
    /// The active master key id after the run.
    pub active_key_id: String,
    /// How many wrapped data keys were re-wrapped.
    pub rewrapped: u64,
}

impl Castellan {
    /// Wraps `dek` for `vault` under the active master key. Returns the record and the dek id.
    pub(crate) fn wrap_new_data_key(
        &self,
        vault: VaultId,
        dek: &DataKey,
    ) -> CoreResult<(VaultKeyRecord, DataKeyId)> {
        let ring = self.keys.keyring()?;
        let dek_id = DataKeyId::new();
        let w = ring.wrap(dek, &data_key_aad(&vault.to_string(), &dek_id.to_string()));
        Ok((
            VaultKeyRecord {
                vault_id: vault,
                dek_id,
                wrap_kind: WrapKind::Master,
                wrapping_key_id: w.key_id.0,
                wrapped: w.ciphertext,
                created_at: self.now(),
            },
            dek_id,
        ))
    }

    /// The vault's data key, unwrapped with the master keyring (cached in memory).
    /// Errors: `Forbidden` for a local vault (its key never reaches the server),
    /// `Internal` when no master key can unwrap it.
    pub(crate) async fn data_key(&self, vault: VaultId) -> CoreResult<(DataKeyId, DataKey)> {
        if let Some(hit) = self
            .data_keys
            .read()
            .map_err(CoreError::internal)?
            .get(&vault)
        {
            return Ok(hit.clone());
        }
        let rows = self.store.vault_keys(vault).await?;
        let row = rows
            .iter()
            .find(|r| r.wrap_kind == WrapKind::Master)
            .ok_or_else(|| {
                CoreError::Forbidden(
                    "this vault is end-to-end encrypted; its key is only on trusted devices".into(),
                )
            })?;
        let wrapped = WrappedKey {
            key_id: KeyId(row.wrapping_key_id.clone()),
            ciphertext: row.wrapped.clone(),
        };
        let aad = data_key_aad(&vault.to_string(), &row.dek_id.to_string());
        let mut ring = self.keys.keyring()?;
        if ring.get(&wrapped.key_id).is_none() {
            ring = self.keys.reload()?;
        }
        let dek = ring.unwrap(&wrapped, &aad)?;
        self.data_keys
            .write()
            .map_err(CoreError::internal)?
            .insert(vault, (row.dek_id, dek.clone()));
        Ok((row.dek_id, dek))
    }
}

/// Host-local key operations: no actor, the caller holds the key file.
impl Keys<'_> {
    /// Whether `ring` (a key file read again, e.g. for readiness) opens the database's vault
    /// keys: the first cloud vault's master-wrapped data key must unwrap with it, without the
    /// cache. Errors: `Internal` (a foreign or damaged key file), `Unavailable` (the store).
    pub async fn check_keyring(&self, ring: &castellan_crypto::Keyring) -> CoreResult<()> {
        for v in self.store.vaults().await? {
            if v.kind != crate::model::VaultKind::Cloud {
                continue;
            }
            let rows = self.store.vault_keys(v.id).await?;
            if let Some(row) = rows.iter().find(|r| r.wrap_kind == WrapKind::Master) {
                let wrapped = WrappedKey {
                    key_id: KeyId(row.wrapping_key_id.clone()),
                    ciphertext: row.wrapped.clone(),
                };
                let aad = data_key_aad(&v.id.to_string(), &row.dek_id.to_string());
                ring.unwrap(&wrapped, &aad).map_err(|e| {
                    CoreError::internal(format!(
                        "the key file does not open this database's vault keys: {e}"
                    ))
                })?;
                return Ok(());
            }
        }
        Ok(())
    }

    /// Unwraps every cloud vault's data key once, to prove the key file matches the database.
    /// Errors: `Internal` naming the failure.
    pub async fn check(&self) -> CoreResult<()> {
        for v in self.store.vaults().await? {
            if v.kind == crate::model::VaultKind::Cloud {
                self.data_key(v.id).await?;
            }
        }
        Ok(())
    }

    /// Re-wraps every vault data key that is wrapped by a master key other than the active one,
    /// under the active key. Data keys themselves do not change, so every sealed field stays
    /// readable and a running server keeps serving. Loops until none is left (a vault created
    /// concurrently under the old key is caught on the next pass). Host-local (the CLI's
    /// `keys rotate` calls it after adding the new key to the key file).
    pub async fn rewrap(&self) -> CoreResult<RotationReport> {
        let ring = self.keys.reload()?;
        let active = ring.active().id().clone();
        let mut total = 0;
        for _pass in 0..5 {
            let mut replacements = vec![];
            for old_id in ring.key_ids().into_iter().filter(|k| *k != active) {
                for row in self.store.keys_wrapped_by(&old_id.0).await? {
                    let aad = data_key_aad(&row.vault_id.to_string(), &row.dek_id.to_string());
                    let old = WrappedKey {
                        key_id: old_id.clone(),
                        ciphertext: row.wrapped.clone(),
                    };
                    let dek = ring.unwrap(&old, &aad)?;
                    let new = ring.wrap(&dek, &aad);
                    let mut next = row.clone();
                    next.wrapping_key_id = new.key_id.0;
                    next.wrapped = new.ciphertext;
                    next.created_at = self.now();
                    replacements.push((row, next));
                }
            }
            if replacements.is_empty() {
                break;
            }
            let ev = NewEvent::new(
                &Actor::system("castellan keys rotate"),
                ActivityAction::KeysRewrap,
                self.now(),
            )
            .target("master_key", &active, &active.0)
            .details(serde_json::json!({ "count": replacements.len() }));
            total += self.store.rewrap_keys(&replacements, &ev).await?;
        }
        Ok(RotationReport {
            active_key_id: active.0,
            rewrapped: total,
        })
    }

    /// How many vault data keys are still wrapped by the master key `key_id` (a key may be
    /// retired from the key file only at 0). Errors: the store's.
    pub async fn wrapped_by(&self, key_id: &str) -> CoreResult<usize> {
        Ok(self.store.keys_wrapped_by(key_id).await?.len())
    }
}
