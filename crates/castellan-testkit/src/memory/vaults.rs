//! Vaults, their grants and wrapped data keys, and custom catalog entries.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::catalog::App;
use castellan_core::ids::{PersonId, VaultId};
use castellan_core::model::{ItemRole, Vault, VaultAccess, VaultKeyRecord};
use castellan_core::ports::{CatalogStore, VaultStore};
use castellan_core::validate::label_key;
use castellan_core::{CoreError, CoreResult};

use super::tables::{Stored, Tables};
use super::MemoryStore;

/// The primary key of a wrapped key row.
fn key_of(k: &VaultKeyRecord) -> (VaultId, castellan_core::ids::DataKeyId, &str, &str) {
    (
        k.vault_id,
        k.dek_id,
        k.wrap_kind.as_str(),
        &k.wrapping_key_id,
    )
}

const DUPLICATE_KEY: &str = "this wrapped data key already exists";

impl Tables {
    /// Inserts a vault row. `Conflict` on a duplicate id or name (case- and space-insensitive).
    pub(crate) fn insert_vault(&mut self, v: &Vault) -> CoreResult<()> {
        let key = label_key(&v.name);
        if self.vaults.contains_key(&v.id)
            || self.vaults.values().any(|o| label_key(&o.name) == key)
        {
            return Err(CoreError::Conflict(format!(
                "a vault named `{}` already exists",
                v.name
            )));
        }
        self.vaults.insert(v.id, v.stored());
        Ok(())
    }

    /// Inserts one wrapped data key. `Conflict` on a duplicate (vault, dek, wrap kind, wrapping
    /// key id); `NotFound { kind: "vault" }` when the vault is missing.
    pub(crate) fn insert_key(&mut self, k: &VaultKeyRecord) -> CoreResult<()> {
        if self.vault_keys.iter().any(|o| key_of(o) == key_of(k)) {
            return Err(CoreError::Conflict(DUPLICATE_KEY.into()));
        }
        if !self.vaults.contains_key(&k.vault_id) {
            return Err(CoreError::NotFound { kind: "vault" });
        }
        self.vault_keys.push(k.stored());
        Ok(())
    }

    /// Inserts or replaces a vault grant. `NotFound { kind: "person" }` when the vault or the
    /// person is missing (the SQL store names `person` for either foreign key).
    fn upsert_vault_access(&mut self, g: &VaultAccess) -> CoreResult<()> {
        if !self.vaults.contains_key(&g.vault_id) || !self.people.contains_key(&g.person_id) {
            return Err(CoreError::NotFound { kind: "person" });
        }
        self.vault_access.insert((g.vault_id, g.person_id), g.role);
        Ok(())
    }
}

fn access(((vault_id, person_id), role): (&(VaultId, PersonId), &ItemRole)) -> VaultAccess {
    VaultAccess {
        vault_id: *vault_id,
        person_id: *person_id,
        role: *role,
    }
}

#[async_trait]
impl VaultStore for MemoryStore {
    async fn insert_vault(
        &self,
        v: &Vault,
        keys: &[VaultKeyRecord],
        grants: &[VaultAccess],
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.insert_vault(v)?;
            for k in keys {
                tx.t.insert_key(k)?;
            }
            for g in grants {
                tx.t.upsert_vault_access(g)?;
            }
            tx.append(event);
            Ok(())
        })
    }

    async fn vault(&self, id: VaultId) -> CoreResult<Option<Vault>> {
        self.read(|t| Ok(t.vaults.get(&id).cloned()))
    }

    /// Ordered by name (case- and space-insensitive), then id.
    async fn vaults(&self) -> CoreResult<Vec<Vault>> {
        self.read(|t| {
            let mut all: Vec<Vault> = t.vaults.values().cloned().collect();
            all.sort_by_cached_key(|v| (label_key(&v.name), v.id));
            Ok(all)
        })
    }

    async fn set_vault_access(
        &self,
        vault: VaultId,
        person: PersonId,
        role: Option<ItemRole>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if !tx.t.vaults.contains_key(&vault) {
                return Err(CoreError::NotFound { kind: "vault" });
            }
            if !tx.t.people.contains_key(&person) {
                return Err(CoreError::NotFound { kind: "person" });
            }
            match role {
                Some(role) => tx.t.upsert_vault_access(&VaultAccess {
                    vault_id: vault,
                    person_id: person,
                    role,
                })?,
                None => {
                    tx.t.vault_access.remove(&(vault, person));
                }
            }
            tx.append(event);
            Ok(())
        })
    }

    /// Ordered by person id.
    async fn vault_access(&self, vault: VaultId) -> CoreResult<Vec<VaultAccess>> {
        self.read(|t| {
            Ok(t.vault_access
                .iter()
                .filter(|((v, _), _)| *v == vault)
                .map(access)
                .collect())
        })
    }

    /// Ordered by vault id.
    async fn vault_grants_of(&self, person: PersonId) -> CoreResult<Vec<VaultAccess>> {
        self.read(|t| {
            Ok(t.vault_access
                .iter()
                .filter(|((_, p), _)| *p == person)
                .map(access)
                .collect())
        })
    }

    /// Newest first, then by data key id, wrap kind and wrapping key id.
    async fn vault_keys(&self, vault: VaultId) -> CoreResult<Vec<VaultKeyRecord>> {
        self.read(|t| {
            let mut all: Vec<VaultKeyRecord> = t
                .vault_keys
                .iter()
                .filter(|k| k.vault_id == vault)
                .cloned()
                .collect();
            all.sort_by(|a, b| {
                b.created_at
                    .cmp(&a.created_at)
                    .then_with(|| key_of(a).cmp(&key_of(b)))
            });
            Ok(all)
        })
    }

    /// Ordered by vault id, data key id and wrap kind.
    async fn keys_wrapped_by(&self, wrapping_key_id: &str) -> CoreResult<Vec<VaultKeyRecord>> {
        self.read(|t| {
            let mut all: Vec<VaultKeyRecord> = t
                .vault_keys
                .iter()
                .filter(|k| k.wrapping_key_id == wrapping_key_id)
                .cloned()
                .collect();
            all.sort_by(|a, b| key_of(a).cmp(&key_of(b)));
            Ok(all)
        })
    }

    /// Each `(old, new)` pair: the row with `old`'s key takes every column of `new`; a pair
    /// whose old row is gone replaces nothing. `Conflict` when `new` collides with another row.
    async fn rewrap_keys(
        &self,
        replacements: &[(VaultKeyRecord, VaultKeyRecord)],
        event: &NewEvent,
    ) -> CoreResult<u64> {
        self.write(|tx| {
            let mut replaced = 0;
            for (old, new) in replacements {
                let Some(i) =
                    tx.t.vault_keys
                        .iter()
                        .position(|k| key_of(k) == key_of(old))
                else {
                    continue;
                };
                let clash =
                    tx.t.vault_keys
                        .iter()
                        .enumerate()
                        .any(|(j, k)| j != i && key_of(k) == key_of(new));
                if clash {
                    return Err(CoreError::Conflict(DUPLICATE_KEY.into()));
                }
                if !tx.t.vaults.contains_key(&new.vault_id) {
                    return Err(CoreError::NotFound { kind: "vault" });
                }
                tx.t.vault_keys[i] = new.stored();
                replaced += 1;
            }
            tx.append(event);
            Ok(replaced)
        })
    }
}

#[async_trait]
impl CatalogStore for MemoryStore {
    /// Kept as JSON, like the SQL store. `Conflict` on a duplicate id.
    async fn insert_app(&self, app: &App, event: &NewEvent) -> CoreResult<()> {
        let json = serde_json::to_string(app).map_err(CoreError::internal)?;
        self.write(|tx| {
            let id = app.id.as_str().to_owned();
            if tx.t.apps.contains_key(&id) {
                return Err(CoreError::Conflict(format!(
                    "an app with id `{}` already exists",
                    app.id
                )));
            }
            tx.t.apps.insert(id, json);
            tx.append(event);
            Ok(())
        })
    }

    /// Ordered by id.
    async fn custom_apps(&self) -> CoreResult<Vec<App>> {
        self.read(|t| {
            t.apps
                .values()
                .map(|j| serde_json::from_str(j).map_err(CoreError::internal))
                .collect()
        })
    }
}
