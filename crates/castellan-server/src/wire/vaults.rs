//! Wire types of vaults and access to them.

use castellan_core::ids::{PersonId, VaultId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Item roles on an account (and the default item role a vault grant gives).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ItemRole {
    /// Everything, including delete and sharing.
    Owner,
    /// Use, reveal, edit and share.
    Manager,
    /// Use the account to sign in; may not reveal its password.
    Collaborator,
}

impl From<castellan_core::model::ItemRole> for ItemRole {
    fn from(v: castellan_core::model::ItemRole) -> Self {
        match v {
            castellan_core::model::ItemRole::Owner => Self::Owner,
            castellan_core::model::ItemRole::Manager => Self::Manager,
            castellan_core::model::ItemRole::Collaborator => Self::Collaborator,
        }
    }
}

impl From<ItemRole> for castellan_core::model::ItemRole {
    fn from(v: ItemRole) -> Self {
        match v {
            ItemRole::Owner => Self::Owner,
            ItemRole::Manager => Self::Manager,
            ItemRole::Collaborator => Self::Collaborator,
        }
    }
}

/// Where a vault's data key lives.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VaultKind {
    /// Encrypted at rest on the server: the data key is wrapped by the workspace master key.
    Cloud,
    /// End-to-end encrypted: the data key is wrapped only to trusted devices' public keys.
    Local,
}

impl From<castellan_core::model::VaultKind> for VaultKind {
    fn from(v: castellan_core::model::VaultKind) -> Self {
        match v {
            castellan_core::model::VaultKind::Cloud => Self::Cloud,
            castellan_core::model::VaultKind::Local => Self::Local,
        }
    }
}

impl From<VaultKind> for castellan_core::model::VaultKind {
    fn from(v: VaultKind) -> Self {
        match v {
            VaultKind::Cloud => Self::Cloud,
            VaultKind::Local => Self::Local,
        }
    }
}

/// A vault row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Vault {
    /// Id (UUID).
    #[schema(value_type = String, format = Uuid)]
    pub id: VaultId,
    /// Name, unique in the workspace (case-insensitive).
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Cloud or local.
    pub kind: VaultKind,
    /// The vault made at init.
    pub is_default: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<castellan_core::model::Vault> for Vault {
    fn from(v: castellan_core::model::Vault) -> Self {
        Self {
            id: v.id,
            name: v.name,
            description: v.description,
            kind: v.kind.into(),
            is_default: v.is_default,
            created_at: v.created_at,
        }
    }
}

/// A grant of a vault to a person: every account in it is reachable with `role`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VaultAccess {
    /// The vault.
    #[schema(value_type = String, format = Uuid)]
    pub vault_id: VaultId,
    /// The person.
    #[schema(value_type = String, format = Uuid)]
    pub person_id: PersonId,
    /// The item role on the vault's accounts.
    pub role: ItemRole,
}

impl From<castellan_core::model::VaultAccess> for VaultAccess {
    fn from(v: castellan_core::model::VaultAccess) -> Self {
        Self {
            vault_id: v.vault_id,
            person_id: v.person_id,
            role: v.role.into(),
        }
    }
}

/// Creating a vault.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVault {
    /// Name (unique, case-insensitive).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `cloud` (default). `local` vaults need trusted devices (not yet available).
    #[serde(default)]
    pub kind: Option<VaultKind>,
}

impl From<NewVault> for castellan_core::service::NewVault {
    fn from(v: NewVault) -> Self {
        Self {
            name: v.name,
            description: v.description,
            kind: v.kind.map(Into::into),
        }
    }
}
