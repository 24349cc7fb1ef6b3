//! The port of collections and shares ([`crate::collection`]).

use async_trait::async_trait;

use crate::activity::NewEvent;
use crate::collection::{Collection, CollectionId, Grantee, ItemTarget, Reach, Share};
use crate::error::CoreResult;
use crate::ids::{AccountId, PersonId};
use crate::model::ItemRole;

/// Collections, their accounts, and shares of vaults, collections and accounts with people and
/// teams. Every write takes the [`NewEvent`] that records it, in one transaction.
///
/// A person's own vault and account grants stay in [`crate::ports::VaultStore`] and
/// [`crate::ports::AccountStore`]; shares hold everything else (a person's collections, and
/// teams' vaults, collections and accounts).
#[async_trait]
pub trait CollectionStore: Send + Sync {
    /// Inserts a collection (version 1) with its accounts. `Conflict` when another collection
    /// has the name (case-insensitive); `NotFound { kind: "account" }` for an unknown account.
    /// Writes nothing on error.
    async fn insert_collection(
        &self,
        c: &Collection,
        accounts: &[AccountId],
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// One collection.
    async fn collection(&self, id: CollectionId) -> CoreResult<Option<Collection>>;
    /// Every collection, ordered by name (case-insensitive), then id.
    async fn collections(&self) -> CoreResult<Vec<Collection>>;
    /// A collection's accounts, ordered by id.
    async fn collection_accounts(&self, id: CollectionId) -> CoreResult<Vec<AccountId>>;
    /// Writes `c`'s name and description (and its accounts, when given) over the version `c`
    /// holds, which becomes one more; returns the collection as written. `Stale { kind:
    /// "collection" }` when the stored version is no longer `c.version`; `NotFound`
    /// (collection, account) and `Conflict` (name) as for insert. Writes nothing on error.
    async fn update_collection(
        &self,
        c: &Collection,
        accounts: Option<&[AccountId]>,
        event: &NewEvent,
    ) -> CoreResult<Collection>;
    /// Deletes a collection, its account list and its shares, over `version` when given
    /// (`Stale` otherwise). `NotFound` when missing.
    async fn delete_collection(
        &self,
        id: CollectionId,
        version: Option<i64>,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// Gives `grantee` `role` on `target` (or changes it), or takes the share away (`None`;
    /// taking away a share that does not exist writes only the event). `NotFound` with the
    /// kind of the missing grantee or target (`person`, `team`, `vault`, `collection`,
    /// `account`). With `team_version` (a team grantee), the team's version must still be that
    /// one and becomes one more (`Stale { kind: "team" }` otherwise), so a change of its members
    /// and a change of its shares never both pass checks made on what the other replaced.
    async fn set_share(
        &self,
        grantee: Grantee,
        target: ItemTarget,
        role: Option<ItemRole>,
        team_version: Option<i64>,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// The shares a grantee holds, ordered by target kind, then id.
    async fn shares_of(&self, grantee: Grantee) -> CoreResult<Vec<Share>>;
    /// The shares on a target, ordered by grantee kind, then id.
    async fn shares_on(&self, target: ItemTarget) -> CoreResult<Vec<Share>>;
    /// What reaches `person` through shares: theirs and those of every team they are in, with
    /// the accounts of each collection among them.
    async fn reach(&self, person: PersonId) -> CoreResult<Reach>;
}
