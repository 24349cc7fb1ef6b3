//! Collections ([`crate::collection`]), on the [`Collections`] capability: named sets of
//! accounts shared together, made and changed by admins.

use serde_json::json;

use crate::activity::{ActivityAction, NewEvent};
use crate::collection::{
    Collection, CollectionId, ItemTarget, MAX_COLLECTION_ACCOUNTS, MAX_COLLECTION_NAME,
};
use crate::error::{CoreError, CoreResult};
use crate::ids::AccountId;
use crate::model::WorkspaceRole;
use crate::permissions::{can, Permit};
use crate::service::{Castellan, Collections};
use crate::validate;

/// A collection with its accounts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CollectionView {
    /// The collection.
    #[serde(flatten)]
    pub collection: Collection,
    /// Its accounts' ids, ordered.
    pub accounts: Vec<AccountId>,
}

/// What a collection is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionInput {
    /// Name (1 to [`MAX_COLLECTION_NAME`] characters, unique case-insensitively).
    pub name: String,
    /// Description (at most 1000 characters; empty is none).
    pub description: Option<String>,
    /// The accounts (repeats count once; at most [`MAX_COLLECTION_ACCOUNTS`]).
    pub accounts: Vec<AccountId>,
}

impl CollectionInput {
    fn check(&self) -> CoreResult<(String, Option<String>, Vec<AccountId>)> {
        let name = validate::text(
            "name",
            &validate::normalized(&self.name),
            MAX_COLLECTION_NAME,
        )?;
        let description = validate::opt_text("description", self.description.as_deref(), 1000)?;
        let mut accounts = self.accounts.clone();
        accounts.sort();
        accounts.dedup();
        if accounts.len() > MAX_COLLECTION_ACCOUNTS {
            return Err(CoreError::invalid(
                "accounts",
                format!("a collection holds at most {MAX_COLLECTION_ACCOUNTS} accounts"),
            ));
        }
        Ok((name, description, accounts))
    }
}

/// An unknown account is the caller's mistake, said as such.
fn accounts_error(e: CoreError) -> CoreError {
    match e {
        CoreError::NotFound { kind: "account" } => {
            CoreError::invalid("accounts", "an account is not in this workspace")
        }
        e => e,
    }
}

/// `(added, removed)` between two sorted id lists.
fn changes(before: &[AccountId], after: &[AccountId]) -> (Vec<AccountId>, Vec<AccountId>) {
    let added = after
        .iter()
        .filter(|a| before.binary_search(a).is_err())
        .copied()
        .collect();
    let removed = before
        .iter()
        .filter(|a| after.binary_search(a).is_err())
        .copied()
        .collect();
    (added, removed)
}

impl Castellan {
    pub(crate) async fn collection_record(&self, id: CollectionId) -> CoreResult<Collection> {
        self.store
            .collection(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "collection" })
    }
}

impl Collections<'_> {
    /// The collections the actor can see: owners, super admins and admins see every one;
    /// others those shared with them or a team they are in. Ordered by name. Needs `VaultRead`.
    pub async fn list(&self, p: &Permit<can::VaultRead>) -> CoreResult<Vec<Collection>> {
        let actor = p.actor();
        let all = self.store.collections().await?;
        if matches!(
            actor.role,
            WorkspaceRole::Owner | WorkspaceRole::SuperAdmin | WorkspaceRole::Admin
        ) {
            return Ok(all);
        }
        let Some(me) = actor.person_id else {
            return Ok(vec![]);
        };
        let reach = self.store.reach(me).await?;
        Ok(all
            .into_iter()
            .filter(|c| {
                reach
                    .shares
                    .iter()
                    .any(|(t, _)| *t == ItemTarget::Collection(c.id))
            })
            .collect())
    }

    /// One collection the actor can see, with its accounts. Needs `VaultRead`. `NotFound` (also
    /// when the actor cannot see it).
    pub async fn get(
        &self,
        p: &Permit<can::VaultRead>,
        id: CollectionId,
    ) -> CoreResult<CollectionView> {
        let collection = self
            .list(p)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(CoreError::NotFound { kind: "collection" })?;
        let accounts = self.store.collection_accounts(id).await?;
        Ok(CollectionView {
            collection,
            accounts,
        })
    }

    /// Makes a collection with its accounts; one `collection.create` event. Needs
    /// `VaultManage`. Errors: `Validation` (name, description, accounts: unknown, not shareable
    /// by the actor, or too many); `Conflict` for a taken name.
    pub async fn create(
        &self,
        permit: &Permit<can::VaultManage>,
        input: CollectionInput,
    ) -> CoreResult<CollectionView> {
        let (name, description, accounts) = input.check()?;
        self.require_shareable(permit.actor(), &accounts).await?;
        let now = self.now();
        let collection = Collection {
            id: CollectionId::new(),
            name,
            description,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let ev = NewEvent::new(permit.actor(), ActivityAction::CollectionCreate, now)
            .target("collection", collection.id, &collection.name)
            .details(json!({
                "description": collection.description.is_some(),
                "accounts": accounts.len(),
            }));
        self.store
            .insert_collection(&collection, &accounts, &ev)
            .await
            .map_err(accounts_error)?;
        Ok(CollectionView {
            collection,
            accounts,
        })
    }

    /// Replaces a collection's name, description and accounts. With `version` the change is
    /// written only over that version (else `Stale`); without, over the version read (again
    /// while other changes land). Whoever reached an account only through this collection
    /// loses it at once. One `collection.update` event (nothing is written when nothing
    /// changed). Changing its accounts changes its holders' access, so the actor must be one
    /// who may change each holder's ([`Castellan::require_may_change_holders`]). Needs
    /// `VaultManage`. Errors: as [`Collections::create`]; `NotFound`; `Forbidden`.
    pub async fn replace(
        &self,
        permit: &Permit<can::VaultManage>,
        id: CollectionId,
        version: Option<i64>,
        input: CollectionInput,
    ) -> CoreResult<CollectionView> {
        let (name, description, accounts) = input.check()?;
        let once = || async {
            let current = self.collection_record(id).await?;
            if version.is_some_and(|v| v != current.version) {
                return Err(CoreError::Stale { kind: "collection" });
            }
            let before = self.store.collection_accounts(id).await?;
            let (added, removed) = changes(&before, &accounts);
            if !added.is_empty() || !removed.is_empty() {
                let actor = permit.actor();
                self.require_may_change_holders(actor, ItemTarget::Collection(id))
                    .await?;
                self.require_shareable(actor, &added).await?;
            }
            let mut details = serde_json::Map::new();
            if current.name != name {
                details.insert("name".into(), json!({ "from": current.name, "to": name }));
            }
            if current.description != description {
                details.insert("description".into(), json!(true));
            }
            if details.is_empty() && added.is_empty() && removed.is_empty() {
                return Ok(CollectionView {
                    collection: current,
                    accounts: before,
                });
            }
            details.insert("added".into(), json!(added));
            details.insert("removed".into(), json!(removed));
            let mut c = current;
            c.name.clone_from(&name);
            c.description.clone_from(&description);
            c.updated_at = self.now();
            let ev = NewEvent::new(permit.actor(), ActivityAction::CollectionUpdate, self.now())
                .target("collection", c.id, &c.name)
                .details(serde_json::Value::Object(details));
            let collection = self
                .store
                .update_collection(&c, Some(&accounts), &ev)
                .await
                .map_err(accounts_error)?;
            Ok(CollectionView {
                collection,
                accounts: accounts.clone(),
            })
        };
        match version {
            Some(_) => once().await,
            None => super::retry_stale(once).await,
        }
    }

    /// Deletes a collection and its shares (the accounts stay where they are). With `version`,
    /// only over that version (else `Stale`). One `collection.delete` event. Needs
    /// `VaultManage`. Errors: `NotFound`; `Forbidden` as for [`Collections::replace`].
    pub async fn delete(
        &self,
        permit: &Permit<can::VaultManage>,
        id: CollectionId,
        version: Option<i64>,
    ) -> CoreResult<()> {
        let c = self.collection_record(id).await?;
        self.require_may_change_holders(permit.actor(), ItemTarget::Collection(id))
            .await?;
        let accounts = self.store.collection_accounts(id).await?;
        let ev = NewEvent::new(permit.actor(), ActivityAction::CollectionDelete, self.now())
            .target("collection", c.id, &c.name)
            .details(json!({ "accounts": accounts.len() }));
        self.store.delete_collection(id, version, &ev).await
    }
}
