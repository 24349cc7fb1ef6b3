//! The [`Vaults`] capability: vaults and access to them.

use castellan_crypto::DataKey;

use super::{Castellan, Vaults};
use crate::activity::{ActivityAction, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::{PersonId, VaultId};
use crate::model::{ItemRole, PersonStatus, Vault, VaultAccess, VaultKind, WorkspaceRole};
use crate::permissions::{can, Permit};
use crate::validate::{self, LookAlike};

/// Creating a vault.
#[derive(Debug, Clone)]
pub struct NewVault {
    /// Name (unique, case-insensitive).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// `cloud` (default). `local` vaults need trusted devices (not yet available).
    pub kind: Option<VaultKind>,
}

impl Castellan {
    /// The default vault.
    pub(crate) async fn default_vault(&self) -> CoreResult<Vault> {
        self.store
            .vaults()
            .await?
            .into_iter()
            .find(|v| v.is_default)
            .ok_or(CoreError::NotFound { kind: "vault" })
    }
}

impl Vaults<'_> {
    /// Vaults the actor can reach: owners, super admins and admins see every vault; others see
    /// the vaults they were granted.
    pub async fn list(&self, p: &Permit<can::VaultRead>) -> CoreResult<Vec<Vault>> {
        let actor = p.actor();
        let all = self.store.vaults().await?;
        if matches!(
            actor.role,
            WorkspaceRole::Owner | WorkspaceRole::SuperAdmin | WorkspaceRole::Admin
        ) {
            return Ok(all);
        }
        let mine = self.actor_item_grants(actor).await?;
        Ok(all
            .into_iter()
            .filter(|v| mine.vault(v.id).is_some())
            .collect())
    }

    /// One reachable vault. Errors: `NotFound` (also when the actor cannot reach it).
    pub async fn get(&self, p: &Permit<can::VaultRead>, id: VaultId) -> CoreResult<Vault> {
        self.list(p)
            .await?
            .into_iter()
            .find(|v| v.id == id)
            .ok_or(CoreError::NotFound { kind: "vault" })
    }

    /// Creates a cloud vault with a fresh data key; the creator gets `owner` on it. Needs
    /// `VaultManage`. Errors: `Conflict` for a taken name; `Validation` for `local` (needs
    /// trusted devices, a later feature).
    pub async fn create(&self, p: &Permit<can::VaultManage>, input: NewVault) -> CoreResult<Vault> {
        self.create_checked(p, input, LookAlike::Refuse).await
    }

    /// [`Vaults::create`], where `look_alike` says whether a name that looks like
    /// another vault's ([`validate::look_alike`]) is accepted; refused, it is a `Validation`
    /// error on `name` naming the existing vault.
    pub async fn create_checked(
        &self,
        p: &Permit<can::VaultManage>,
        input: NewVault,
        look_alike: LookAlike,
    ) -> CoreResult<Vault> {
        let actor = p.actor();
        let name = validate::text("name", &input.name, validate::MAX_LABEL)?;
        let description = validate::opt_text("description", input.description.as_deref(), 1000)?;
        let kind = input.kind.unwrap_or(VaultKind::Cloud);
        if kind == VaultKind::Local {
            return Err(CoreError::invalid(
                "kind",
                "local vaults need trusted devices, which this version does not have yet",
            ));
        }
        let key = validate::label_key(&name);
        let vaults = self.store.vaults().await?;
        if vaults.iter().any(|v| validate::label_key(&v.name) == key) {
            return Err(CoreError::Conflict(format!(
                "a vault named `{name}` already exists"
            )));
        }
        validate::check_look_alike(
            "name",
            "vault name",
            &name,
            vaults.iter().map(|v| v.name.as_str()),
            look_alike,
        )?;
        let v = Vault {
            id: VaultId::new(),
            name,
            description,
            kind,
            is_default: false,
            created_at: self.now(),
        };
        let (wrapped, _) = self.wrap_new_data_key(v.id, &DataKey::generate())?;
        let grants: Vec<VaultAccess> = actor
            .person_id
            .map(|p| VaultAccess {
                vault_id: v.id,
                person_id: p,
                role: ItemRole::Owner,
            })
            .into_iter()
            .collect();
        let ev = NewEvent::new(actor, ActivityAction::VaultCreate, self.now())
            .target("vault", v.id, &v.name);
        self.store
            .insert_vault(&v, &[wrapped], &grants, &ev)
            .await?;
        Ok(v)
    }

    /// Grants a person access to a vault with an item role, or revokes it (`role: None`).
    /// Needs `VaultManage`. Errors: `Forbidden` for the caller's own access and for a person
    /// whose workspace role the caller may not manage ([`crate::permissions::may_manage_role`]);
    /// `NotFound`; `Validation` for a deactivated person.
    pub async fn set_access(
        &self,
        permit: &Permit<can::VaultManage>,
        vault: VaultId,
        person: PersonId,
        role: Option<ItemRole>,
    ) -> CoreResult<Vec<VaultAccess>> {
        let actor = permit.actor();
        let v = self
            .store
            .vault(vault)
            .await?
            .ok_or(CoreError::NotFound { kind: "vault" })?;
        let p = self.person_record(person).await?;
        // Vault access reaches secrets: nobody changes their own, and admins change only the
        // people whose role they may manage (so an admin cannot make themselves a vault owner
        // and reveal what they were not given, nor cut off the owner or a super admin).
        if actor.person_id == Some(p.id) {
            return Err(CoreError::Forbidden(
                "you may not change your own vault access; ask another admin".into(),
            ));
        }
        if !crate::permissions::may_manage_role(actor.role, p.role) {
            return Err(CoreError::Forbidden(format!(
                "the workspace role `{}` may not change the vault access of a `{}`",
                actor.role.as_str(),
                p.role.as_str()
            )));
        }
        if role.is_some() && p.status == PersonStatus::Deactivated {
            return Err(CoreError::invalid(
                "person_id",
                "this person is deactivated",
            ));
        }
        let action = if role.is_some() {
            ActivityAction::VaultGrant
        } else {
            ActivityAction::VaultRevoke
        };
        let ev = NewEvent::new(actor, action, self.now())
            .target("vault", v.id, &v.name)
            .details(serde_json::json!({ "person_id": p.id, "email": p.email, "role": role }));
        self.store
            .set_vault_access(vault, person, role, &ev)
            .await?;
        self.store.vault_access(vault).await
    }

    /// Who can reach a vault. Needs `VaultManage`.
    pub async fn access(
        &self,
        _: &Permit<can::VaultManage>,
        vault: VaultId,
    ) -> CoreResult<Vec<VaultAccess>> {
        self.store
            .vault(vault)
            .await?
            .ok_or(CoreError::NotFound { kind: "vault" })?;
        self.store.vault_access(vault).await
    }
}
