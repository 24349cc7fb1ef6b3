//! Wire types of collections and shares.

use castellan_core::collection::{CollectionId, Grantee, ItemTarget};
use castellan_core::ids::AccountId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ItemRole;

/// A named set of accounts shared together.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Collection {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: CollectionId,
    /// Name, unique case-insensitively.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Row version (one more with every change).
    pub version: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<castellan_core::collection::Collection> for Collection {
    fn from(v: castellan_core::collection::Collection) -> Self {
        Self {
            id: v.id,
            name: v.name,
            description: v.description,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// A collection with its accounts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CollectionView {
    /// The collection.
    #[serde(flatten)]
    pub collection: Collection,
    /// Its accounts' ids, ordered.
    #[schema(value_type = Vec<String>)]
    pub accounts: Vec<AccountId>,
}

impl From<castellan_core::service::CollectionView> for CollectionView {
    fn from(v: castellan_core::service::CollectionView) -> Self {
        Self {
            collection: v.collection.into(),
            accounts: v.accounts,
        }
    }
}

/// A collection's name, description and accounts (a full replacement on `PUT`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionInput {
    /// Name (1 to 200 characters, unique case-insensitively).
    pub name: String,
    /// Description (at most 1000 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// Account ids (repeats count once; at most 10,000).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub accounts: Vec<AccountId>,
    /// On `PUT`: the version the change was made from (409 when the collection has changed
    /// since); without it, the change is written over the current one.
    #[serde(default)]
    pub version: Option<i64>,
}

impl From<CollectionInput> for castellan_core::service::CollectionInput {
    fn from(v: CollectionInput) -> Self {
        Self {
            name: v.name,
            description: v.description,
            accounts: v.accounts,
        }
    }
}

/// Who a share gives access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GranteeKind {
    /// One person.
    Person,
    /// Every member of a team.
    Team,
}

/// What a share reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareTargetKind {
    /// Every account in a vault.
    Vault,
    /// Every account in a collection.
    Collection,
    /// One account.
    Account,
}

impl ShareTargetKind {
    /// The target `id` of this kind. `Validation` (`target_id`) for text that is not a UUID.
    pub fn target(self, id: &str) -> Result<ItemTarget, castellan_core::CoreError> {
        Ok(match self {
            Self::Vault => ItemTarget::Vault(id.parse()?),
            Self::Collection => ItemTarget::Collection(id.parse()?),
            Self::Account => ItemTarget::Account(id.parse()?),
        })
    }
}

/// A share: the grantee (each member of a team) holds `role` on every account the target
/// reaches, unless another grant ranks higher.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Share {
    /// `person` or `team`.
    pub grantee_kind: GranteeKind,
    /// The person's or the team's id.
    pub grantee_id: String,
    /// `vault`, `collection` or `account`.
    pub target_kind: ShareTargetKind,
    /// The target's id.
    pub target_id: String,
    /// Item role on each account the target reaches.
    pub role: ItemRole,
    /// When given or last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<castellan_core::collection::Share> for Share {
    fn from(v: castellan_core::collection::Share) -> Self {
        let (grantee_kind, grantee_id) = match v.grantee {
            Grantee::Person(p) => (GranteeKind::Person, p.to_string()),
            Grantee::Team(t) => (GranteeKind::Team, t.to_string()),
        };
        let target_kind = match v.target {
            ItemTarget::Vault(_) => ShareTargetKind::Vault,
            ItemTarget::Collection(_) => ShareTargetKind::Collection,
            ItemTarget::Account(_) => ShareTargetKind::Account,
        };
        Self {
            grantee_kind,
            grantee_id,
            target_kind,
            target_id: v.target.id_string(),
            role: v.role.into(),
            updated_at: v.updated_at,
        }
    }
}
