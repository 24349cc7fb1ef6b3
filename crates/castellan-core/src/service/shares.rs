//! Shares ([`crate::collection`]), on the [`Shares`] capability: a person's collections, and a
//! team's vaults, collections and accounts; and [`Castellan::item_grants`], the one read of
//! what a person reaches that every account, vault and inbox read goes through.

use serde_json::{json, Value};

use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::collection::{effective_item_grants, Grantee, ItemGrants, ItemTarget, Share};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, PersonId};
use crate::model::{ItemRole, PersonStatus, WorkspaceRole};
use crate::permissions::{
    can, effective_item_role, item_allows, may_manage_role, ItemAction, Permit,
};
use crate::service::{Castellan, Shares};

impl Castellan {
    /// The item roles `person` holds on vaults and accounts ([`effective_item_grants`]): their
    /// own vault and account grants, their collections, and every share of each team they are
    /// in, the highest role winning. Read at each use, so access through a team ends when the
    /// person leaves it.
    pub(crate) async fn item_grants(&self, person: PersonId) -> CoreResult<ItemGrants> {
        let own_vaults = self.store.vault_grants_of(person).await?;
        let own_accounts = self.store.account_grants_of(person).await?;
        let reach = self.store.reach(person).await?;
        Ok(effective_item_grants(
            person,
            own_vaults,
            own_accounts,
            &reach,
        ))
    }

    /// The item grants of an actor that is a person; none for anyone else.
    pub(crate) async fn actor_item_grants(&self, actor: &Actor) -> CoreResult<ItemGrants> {
        match actor.person_id {
            Some(me) => self.item_grants(me).await,
            None => Ok(ItemGrants::default()),
        }
    }

    /// `{kind, id, name}` of a grantee, checking it exists and that `actor` may change the
    /// access it gives: never their own (directly or through a team they are in), and only of
    /// people whose role they may manage ([`may_manage_role`]). Owners and super admins are left
    /// aside on both sides, as they reach every account anyway.
    ///
    /// Returns the grantee's `{kind, id, name}` and, for a team, the version its members were
    /// read at (a share is written only over it, so a concurrent change of the members is
    /// never checked against the old ones).
    pub(crate) async fn grantee_checked(
        &self,
        actor: &Actor,
        grantee: Grantee,
        giving: bool,
    ) -> CoreResult<(Value, Option<i64>)> {
        let refuse = |what: &str| {
            CoreError::Forbidden(format!("you may not change {what}; ask another admin"))
        };
        // Owners and super admins reach every account whatever they hold: their own shares widen
        // nothing, and nobody's change narrows what they reach.
        let sees_all =
            |r: WorkspaceRole| matches!(r, WorkspaceRole::Owner | WorkspaceRole::SuperAdmin);
        match grantee {
            Grantee::Person(id) => {
                let p = self.person_record(id).await?;
                if actor.person_id == Some(p.id) && !sees_all(actor.role) {
                    return Err(refuse("your own access"));
                }
                if !sees_all(p.role) && !may_manage_role(actor.role, p.role) {
                    return Err(refuse(&format!("the access of a `{}`", p.role.as_str())));
                }
                if giving && p.status == PersonStatus::Deactivated {
                    return Err(CoreError::invalid(
                        "person_id",
                        "this person is deactivated",
                    ));
                }
                Ok((
                    json!({ "kind": "person", "id": p.id, "name": p.email }),
                    None,
                ))
            }
            Grantee::Team(id) => {
                let t = self.team_record(id).await?;
                let members = self.store.team_members(id).await?;
                let mine = actor.person_id.is_some_and(|me| members.contains(&me));
                if mine && !sees_all(actor.role) {
                    return Err(refuse("the access of a team you are in"));
                }
                self.require_manageable(actor, &members).await?;
                Ok((
                    json!({ "kind": "team", "id": t.id, "name": t.name }),
                    Some(t.version),
                ))
            }
        }
    }

    /// Refuses (`Forbidden`) when `actor` may not manage the role of one of `people` (owners
    /// and super admins aside: they reach every vault whatever their teams hold).
    pub(crate) async fn require_manageable(
        &self,
        actor: &Actor,
        people: &[PersonId],
    ) -> CoreResult<()> {
        if people.is_empty() || actor.role == WorkspaceRole::Owner {
            return Ok(());
        }
        for p in self.store.people().await? {
            if people.binary_search(&p.id).is_err()
                || matches!(p.role, WorkspaceRole::Owner | WorkspaceRole::SuperAdmin)
            {
                continue;
            }
            if !may_manage_role(actor.role, p.role) {
                return Err(CoreError::Forbidden(format!(
                    "the workspace role `{}` may not change the access of a `{}` ({}); ask \
                     another admin",
                    actor.role.as_str(),
                    p.role.as_str(),
                    p.email
                )));
            }
        }
        Ok(())
    }

    /// Refuses (`Forbidden`) a change of what `target` reaches when `actor` may not change the
    /// access of everyone who holds it ([`Castellan::grantee_checked`] on each share): a
    /// collection an admin holds, or that another admin holds, is not theirs to widen.
    pub(crate) async fn require_may_change_holders(
        &self,
        actor: &Actor,
        target: ItemTarget,
    ) -> CoreResult<()> {
        for share in self.store.shares_on(target).await? {
            self.grantee_checked(actor, share.grantee, false).await?;
        }
        Ok(())
    }

    /// Refuses (`Validation`, field `accounts`) accounts `actor` may not share: an account is
    /// shared only by whoever may share it ([`ItemAction::Share`]), and one they cannot see
    /// reads as one that does not exist.
    pub(crate) async fn require_shareable(
        &self,
        actor: &Actor,
        accounts: &[AccountId],
    ) -> CoreResult<()> {
        if accounts.is_empty() {
            return Ok(());
        }
        let grants = self.actor_item_grants(actor).await?;
        for id in accounts {
            let role = match self.store.account(*id).await? {
                Some(a) => {
                    effective_item_role(actor.role, grants.vault(a.vault_id), grants.account(a.id))
                }
                None => None,
            };
            if !role.is_some_and(|r| item_allows(r, ItemAction::Share)) {
                return Err(CoreError::invalid(
                    "accounts",
                    format!("no account {id} that you may share"),
                ));
            }
        }
        Ok(())
    }

    /// `{kind, id, name}` of a target, checking it exists.
    async fn target_named(&self, target: ItemTarget) -> CoreResult<Value> {
        let name = match target {
            ItemTarget::Vault(v) => {
                self.store
                    .vault(v)
                    .await?
                    .ok_or(CoreError::NotFound { kind: "vault" })?
                    .name
            }
            ItemTarget::Collection(c) => self.collection_record(c).await?.name,
            ItemTarget::Account(a) => {
                self.store
                    .account(a)
                    .await?
                    .ok_or(CoreError::NotFound { kind: "account" })?
                    .label
            }
        };
        Ok(json!({ "kind": target.kind(), "id": target.id_string(), "name": name }))
    }
}

impl Shares<'_> {
    /// Gives `grantee` `role` on `target` (or changes it), or takes the share away (`None`).
    /// Every account the target reaches becomes usable by the grantee (each member of a team)
    /// with that role, unless another grant ranks higher ([`effective_item_grants`]). People
    /// take collections here; their vaults and accounts are set on the vault
    /// ([`crate::service::Vaults::set_access`]) or the account
    /// ([`crate::service::Accounts::share`]). One `share.grant` or `share.revoke` event.
    /// Needs `VaultManage`.
    ///
    /// A team's share is written over the version its members were read at, so a concurrent
    /// change of the members is checked again (`Stale` is retried).
    ///
    /// Errors: `NotFound` (grantee or target, or an account the actor may not share; taking
    /// away a share that does not exist is `NotFound { kind: "share" }`); `Validation` for a
    /// person's vault or account, or a
    /// deactivated person; `Forbidden` for the actor's own access, a team they are in, or a
    /// person whose workspace role they may not manage.
    pub async fn set(
        &self,
        permit: &Permit<can::VaultManage>,
        grantee: Grantee,
        target: ItemTarget,
        role: Option<ItemRole>,
    ) -> CoreResult<()> {
        if let (Grantee::Person(_), ItemTarget::Vault(_) | ItemTarget::Account(_)) =
            (grantee, target)
        {
            return Err(CoreError::invalid(
                "target",
                "a person's access to a vault or an account is set on the vault or the account",
            ));
        }
        let actor = permit.actor();
        if let ItemTarget::Account(a) = target {
            self.require_shareable(actor, &[a])
                .await
                .map_err(|_| CoreError::NotFound { kind: "account" })?;
        }
        super::retry_stale(|| async {
            let (who, team_version) = self.grantee_checked(actor, grantee, role.is_some()).await?;
            let what = self.target_named(target).await?;
            let current = self
                .store
                .shares_of(grantee)
                .await?
                .into_iter()
                .find(|s| s.target == target);
            let (action, shown) = match (role, &current) {
                (Some(r), _) => (ActivityAction::ShareGrant, r),
                (None, Some(s)) => (ActivityAction::ShareRevoke, s.role),
                (None, None) => return Err(CoreError::NotFound { kind: "share" }),
            };
            if current.as_ref().map(|s| s.role) == role {
                return Ok(());
            }
            let label = what["name"].as_str().unwrap_or("").to_owned();
            let ev = NewEvent::new(actor, action, self.now())
                .target(target.kind(), target.id_string(), label)
                .details(json!({ "grantee": who, "target": what, "role": shown }));
            self.store
                .set_share(grantee, target, role, team_version, &ev)
                .await
        })
        .await
    }

    /// The shares a grantee holds (a person's collections; a team's vaults, collections and
    /// accounts). Needs `VaultManage`. `NotFound` (person, team).
    pub async fn of(
        &self,
        _: &Permit<can::VaultManage>,
        grantee: Grantee,
    ) -> CoreResult<Vec<Share>> {
        match grantee {
            Grantee::Person(p) => {
                self.person_record(p).await?;
            }
            Grantee::Team(t) => {
                self.team_record(t).await?;
            }
        }
        self.store.shares_of(grantee).await
    }

    /// The shares on a vault, a collection or an account (people's collections and teams).
    /// Needs `VaultManage`. `NotFound` (target).
    pub async fn on(
        &self,
        _: &Permit<can::VaultManage>,
        target: ItemTarget,
    ) -> CoreResult<Vec<Share>> {
        self.target_named(target).await?;
        self.store.shares_on(target).await
    }
}
