//! Collections and shares: a collection is a named set of accounts shared together, and a share
//! gives a grantee (a person or a team) an item role on a vault, a collection or an account.
//! [`effective_item_grants`] is the one rule that turns a person's own grants and the shares
//! that reach them (their own collection shares and every share of each team they are in) into
//! the item role they hold on each vault and account: the highest role wins.
//!
//! Access through a share is read at each use: when a person leaves a team, or a share, a
//! collection or an account in it goes, the next read no longer finds it (there is nothing to
//! undo).
//!
//! No I/O here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{AccountId, PersonId, VaultId};
use crate::model::{ItemRole, VaultAccess};
use crate::team::TeamId;

crate::uuid_id!(/// A collection of accounts.
    CollectionId, "collection");

/// Longest collection name, in characters.
pub const MAX_COLLECTION_NAME: usize = 200;

/// Most accounts a collection may hold.
pub const MAX_COLLECTION_ACCOUNTS: usize = 10_000;

/// A named set of accounts shared together. The accounts may sit in different vaults; a share
/// of the collection reaches each of them, and only them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collection {
    /// Id.
    pub id: CollectionId,
    /// Name, unique case-insensitively (1 to [`MAX_COLLECTION_NAME`] characters).
    pub name: String,
    /// Optional description (at most 1000 characters).
    pub description: Option<String>,
    /// Row version: 1 when made, one more with each change. A change is written only over the
    /// version it was made from (`CoreError::Stale` otherwise).
    pub version: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Who a share gives access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Grantee {
    /// One person.
    Person(PersonId),
    /// Every member of a team, while they are members.
    Team(TeamId),
}

/// What a share reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ItemTarget {
    /// Every account in a vault.
    Vault(VaultId),
    /// Every account in a collection.
    Collection(CollectionId),
    /// One account.
    Account(AccountId),
}

impl ItemTarget {
    /// `vault`, `collection` or `account`: the stored and sent kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Vault(_) => "vault",
            Self::Collection(_) => "collection",
            Self::Account(_) => "account",
        }
    }

    /// The target's id as text.
    pub fn id_string(&self) -> String {
        match self {
            Self::Vault(v) => v.to_string(),
            Self::Collection(c) => c.to_string(),
            Self::Account(a) => a.to_string(),
        }
    }
}

/// One share: `grantee` holds `role` on `target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Share {
    /// Who.
    pub grantee: Grantee,
    /// On what.
    pub target: ItemTarget,
    /// The item role on each account the target reaches.
    pub role: ItemRole,
    /// When it was given or last changed.
    pub updated_at: DateTime<Utc>,
}

/// What reaches a person through shares, as the store reads it in one go: the shares of the
/// person and of each team they are in, and the accounts of every collection among them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// The shares (their grantee is the person or one of their teams).
    pub shares: Vec<(ItemTarget, ItemRole)>,
    /// `(collection, account)` for each account of each collection in `shares`.
    pub collection_accounts: Vec<(CollectionId, AccountId)>,
}

/// The item roles a person holds: one per vault and one per account reached outside a vault
/// grant. Each list is ordered by id, each id once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemGrants {
    /// Vault grants: the role on every account in the vault.
    pub vaults: Vec<VaultAccess>,
    /// Account grants (direct, or through a collection).
    pub accounts: Vec<(AccountId, ItemRole)>,
}

impl ItemGrants {
    /// The role on vault `v`, if any.
    pub fn vault(&self, v: VaultId) -> Option<ItemRole> {
        self.vaults
            .binary_search_by(|g| g.vault_id.cmp(&v))
            .ok()
            .map(|i| self.vaults[i].role)
    }

    /// The role on account `a` from an account grant (not from its vault), if any.
    pub fn account(&self, a: AccountId) -> Option<ItemRole> {
        self.accounts
            .binary_search_by(|(id, _)| id.cmp(&a))
            .ok()
            .map(|i| self.accounts[i].1)
    }
}

/// Keeps the stronger role (`ItemRole` orders `owner` < `manager` < `collaborator`).
fn keep_stronger<K: Ord>(map: &mut BTreeMap<K, ItemRole>, key: K, role: ItemRole) {
    map.entry(key)
        .and_modify(|r| *r = (*r).min(role))
        .or_insert(role);
}

/// The item roles `person` holds: their own vault grants and account grants, and every share
/// in `reach` (a vault share adds a vault grant; an account share, and each account of a
/// shared collection, an account grant). Where several give a role on the same vault or the
/// same account, the highest wins (`owner`, then `manager`, then `collaborator`). The caller
/// still applies the workspace role ([`crate::permissions::effective_item_role`]).
pub fn effective_item_grants(
    person: PersonId,
    own_vaults: Vec<VaultAccess>,
    own_accounts: Vec<(AccountId, ItemRole)>,
    reach: &Reach,
) -> ItemGrants {
    let mut vaults = BTreeMap::new();
    let mut accounts = BTreeMap::new();
    for g in own_vaults {
        keep_stronger(&mut vaults, g.vault_id, g.role);
    }
    for (a, r) in own_accounts {
        keep_stronger(&mut accounts, a, r);
    }
    let mut collections = BTreeMap::new();
    for (target, role) in &reach.shares {
        match *target {
            ItemTarget::Vault(v) => keep_stronger(&mut vaults, v, *role),
            ItemTarget::Account(a) => keep_stronger(&mut accounts, a, *role),
            ItemTarget::Collection(c) => keep_stronger(&mut collections, c, *role),
        }
    }
    for (c, a) in &reach.collection_accounts {
        if let Some(role) = collections.get(c) {
            keep_stronger(&mut accounts, *a, *role);
        }
    }
    ItemGrants {
        vaults: vaults
            .into_iter()
            .map(|(vault_id, role)| VaultAccess {
                vault_id,
                person_id: person,
                role,
            })
            .collect(),
        accounts: accounts.into_iter().collect(),
    }
}
