//! Sharing accounts: who has a direct item role ([`Accounts::access`]), sharing and unsharing
//! ([`Accounts::share`]), and the account's managed email address and phone number.

use crate::activity::{ActivityAction, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, PersonId};
use crate::inbox::{ManagedAddress, ManagedNumber};
use crate::model::{ItemRole, PersonStatus, WorkspaceRole};
use crate::permissions::{can, ItemAction, Permit};
use crate::service::Accounts;

impl Accounts<'_> {
    /// Who has a direct item role on the account. Needs the account to be viewable.
    pub async fn access(
        &self,
        permit: &Permit<can::AccountRead>,
        id: AccountId,
    ) -> CoreResult<Vec<(PersonId, ItemRole)>> {
        let actor = permit.actor();
        self.account_for(actor, id, ItemAction::View).await?;
        self.store.account_access(id).await
    }

    /// The account's managed email address and managed phone number, when it has them. Needs
    /// the account to be viewable (`NotFound` otherwise).
    pub async fn contacts(
        &self,
        permit: &Permit<can::AccountRead>,
        id: AccountId,
    ) -> CoreResult<(Option<ManagedAddress>, Option<ManagedNumber>)> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, id, ItemAction::View).await?;
        Ok((
            self.store.managed_address_of(a.id).await?,
            self.store.number_of(a.id).await?,
        ))
    }

    /// Shares an account with a person with an item role, or unshares (`None`). Needs
    /// `AccountWrite` and an item role that may share; only item owners hand out `owner`; only
    /// owners and super admins may change their own access (others: `Forbidden`).
    pub async fn share(
        &self,
        permit: &Permit<can::AccountWrite>,
        id: AccountId,
        person: PersonId,
        role: Option<ItemRole>,
    ) -> CoreResult<Vec<(PersonId, ItemRole)>> {
        let actor = permit.actor();
        let (a, my_role) = self.account_for(actor, id, ItemAction::Share).await?;
        // Access that came through a team or a collection ends with it: nobody turns it into a
        // grant of their own (owners and super admins reach every account anyway).
        let sees_all = matches!(actor.role, WorkspaceRole::Owner | WorkspaceRole::SuperAdmin);
        if actor.person_id == Some(person) && !sees_all {
            return Err(CoreError::Forbidden(
                "you may not change your own access to an account; ask its owner or an admin"
                    .into(),
            ));
        }
        if role == Some(ItemRole::Owner) && my_role != ItemRole::Owner {
            return Err(CoreError::Forbidden(
                "only an item owner can make another owner".into(),
            ));
        }
        let p = self.person_record(person).await?;
        if role.is_some() && p.status == PersonStatus::Deactivated {
            return Err(CoreError::invalid(
                "person_id",
                "this person is deactivated",
            ));
        }
        let current = self
            .store
            .account_access(id)
            .await?
            .into_iter()
            .find(|(who, _)| *who == person)
            .map(|(_, r)| r);
        if current == Some(ItemRole::Owner) && my_role != ItemRole::Owner {
            return Err(CoreError::Forbidden(
                "only an item owner can change or remove another owner's access".into(),
            ));
        }
        let action = if role.is_some() {
            ActivityAction::AccountShare
        } else {
            ActivityAction::AccountUnshare
        };
        let ev = NewEvent::new(actor, action, self.now())
            .target("account", a.id, &a.label)
            .details(serde_json::json!({ "person_id": p.id, "email": p.email, "role": role }));
        self.store.set_account_access(id, person, role, &ev).await?;
        self.store.account_access(id).await
    }
}
