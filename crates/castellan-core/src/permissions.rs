//! The permission matrix: which workspace role may do what, and which item role may do what
//! to an account. Every API endpoint names one [`Action`]; a core use case that needs one takes
//! a [`Permit`] for its marker in [`can`], which only the matrix check ([`Permit::check`]) makes.
//! The actions, their words and the matrix are one table (`workspace_actions!` below).

use std::marker::PhantomData;

use serde::Serialize;

use crate::activity::Actor;

use crate::error::CoreError;
use crate::model::{ItemRole, WorkspaceRole};

/// Declares the workspace actions from one table: each row is an action with its doc, the words
/// an error uses for it, and the workspace roles that may take it. From it come [`Action`],
/// [`MATRIX`], the marker types in [`can`] and [`each_permission`], so a new action is one row.
macro_rules! workspace_actions {
    ($( $(#[doc = $doc:literal])+ $name:ident, $words:literal, [$($role:ident),+ $(,)?]; )+) => {
        /// Workspace-level actions, one per kind of endpoint.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Action {
            $( $(#[doc = $doc])+ $name, )+
        }

        impl Action {
            /// Every action, in table order.
            pub const ALL: &'static [Action] = &[$(Action::$name),+];

            /// What the action lets one do, as an error message says it ("manage vaults").
            pub fn words(self) -> &'static str {
                match self {
                    $(Action::$name => $words,)+
                }
            }
        }

        /// The matrix: each action with the workspace roles that may take it. One table, read
        /// by [`allows`]; the router test walks every endpoint against it.
        pub const MATRIX: &[(Action, &[WorkspaceRole])] = &[
            $( (Action::$name, &[$(WorkspaceRole::$role),+]), )+
        ];

        /// One marker type per [`Action`]: `Permit<can::VaultManage>` is the proof that an
        /// actor may manage vaults.
        pub mod can {
            $(
                #[doc = concat!("The permission to take [`super::Action::", stringify!($name), "`].")]
                #[derive(Debug)]
                pub enum $name {}
                impl super::sealed::Sealed for $name {}
                impl super::Permission for $name {
                    const ACTION: super::Action = super::Action::$name;
                }
            )+
        }

        /// Calls `v` once per permission marker, in table order (for walks over the whole
        /// matrix, e.g. the rules test that checks every role against every permit).
        pub fn each_permission(v: &mut impl PermissionVisitor) {
            $( v.visit::<can::$name>(); )+
        }
    };
}

/// A walk over every permission marker ([`each_permission`]).
pub trait PermissionVisitor {
    /// Called once per marker type.
    fn visit<P: Permission>(&mut self);
}

workspace_actions! {
    /// Read the workspace summary and one's own profile.
    WorkspaceRead, "read the workspace", [Owner, SuperAdmin, Admin, User, LoginOnly, Guest];
    /// List and show people.
    PeopleRead, "list people", [Owner, SuperAdmin, Admin, User];
    /// Invite people, change roles (up to one's own rank), deactivate.
    PeopleManage, "manage people", [Owner, SuperAdmin, Admin];
    /// Hand the Owner role to someone else.
    OwnershipTransfer, "transfer ownership", [Owner];
    /// Create, list and revoke the workspace's SCIM tokens (the identity provider's, which
    /// open only `/scim/v2`).
    ScimTokensManage, "manage SCIM tokens", [Owner];
    /// Create, list and revoke one's own API tokens.
    TokensManageOwn, "manage API tokens", [Owner, SuperAdmin, Admin, User, LoginOnly, Guest];
    /// List the vaults one can reach.
    VaultRead, "list vaults", [Owner, SuperAdmin, Admin, User, LoginOnly, Guest];
    /// Create vaults and grant or revoke access to them.
    VaultManage, "manage vaults", [Owner, SuperAdmin, Admin];
    /// List, search and show accounts one can reach (per item role).
    AccountRead, "read accounts", [Owner, SuperAdmin, Admin, User, LoginOnly, Guest];
    /// Add accounts.
    AccountCreate, "add accounts", [Owner, SuperAdmin, Admin, User];
    /// Edit, delete and share accounts (per item role).
    AccountWrite, "change accounts", [Owner, SuperAdmin, Admin, User];
    /// Reveal passwords and other secret fields (per item role).
    AccountReveal, "reveal secrets", [Owner, SuperAdmin, Admin, User];
    /// Read the app catalog.
    CatalogRead, "read the app catalog", [Owner, SuperAdmin, Admin, User, LoginOnly, Guest];
    /// Add apps to the catalog.
    CatalogManage, "change the app catalog", [Owner, SuperAdmin, Admin];
    /// Use the password generator.
    Generate, "generate passwords", [Owner, SuperAdmin, Admin, User, LoginOnly, Guest];
    /// List, filter and export the activity log.
    ActivityRead, "read the activity log", [Owner, SuperAdmin, Admin];
    /// Verify the activity log's hash chain.
    ActivityVerify, "verify the activity log", [Owner, SuperAdmin];
    /// List hubs, their members, reports and the automation log.
    HubRead, "read business hubs", [Owner, SuperAdmin, Admin];
    /// Connect hubs, share and revoke them, match and exempt members, run syncs, retry and
    /// cancel jobs.
    HubManage, "manage business hubs", [Owner, SuperAdmin, Admin];
    /// See and mark done the tasks of a manual hub (`crate::manual`). Besides this permit, the
    /// use case asks for `HubRead` (to see) or `HubManage` (to mark done), unless the actor is
    /// the hub's named app admin, who may do both on that hub only.
    HubTasks, "work on a manual hub's tasks", [Owner, SuperAdmin, Admin, User];
    /// Manage the shared inbox's phone number pool (add and list numbers).
    InboxManage, "manage the phone number pool", [Owner, SuperAdmin, Admin];
}

/// Whether `role` may take `action`, from [`MATRIX`]. An action missing from the table is denied.
pub fn allows(role: WorkspaceRole, action: Action) -> bool {
    MATRIX
        .iter()
        .find(|(a, _)| *a == action)
        .is_some_and(|(_, roles)| roles.contains(&role))
}

/// A permission: a marker type in [`can`] naming one [`Action`] of the matrix. Sealed: only
/// the markers below exist.
pub trait Permission: sealed::Sealed {
    /// The action of the matrix this permission stands for.
    const ACTION: Action;
}

mod sealed {
    pub trait Sealed {}
}

/// Proof that an actor passed the matrix for permission `P`: a use case that needs `P` takes
/// a `&Permit<P>`, so it cannot be called without the check. Only [`Permit::check`] (or
/// [`Actor::permit`]) makes one; its fields are private to this module.
pub struct Permit<P: Permission> {
    actor: Actor,
    _permission: PhantomData<fn() -> P>,
}

impl<P: Permission> Clone for Permit<P> {
    fn clone(&self) -> Self {
        Self {
            actor: self.actor.clone(),
            _permission: PhantomData,
        }
    }
}

impl<P: Permission> std::fmt::Debug for Permit<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("action", &P::ACTION)
            .field("actor", &self.actor.name)
            .field("role", &self.actor.role)
            .finish()
    }
}

impl<P: Permission> Permit<P> {
    /// Checks `actor`'s workspace role against [`MATRIX`] for `P::ACTION`. Errors:
    /// `CoreError::Forbidden` naming the role and the action.
    pub fn check(actor: &Actor) -> Result<Self, CoreError> {
        require(actor.role, P::ACTION)?;
        Ok(Self {
            actor: actor.clone(),
            _permission: PhantomData,
        })
    }

    /// The actor who holds the permit.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Narrows this permit to another permission the same actor also holds, checking the
    /// matrix again. Errors: `Forbidden`.
    pub fn and<Q: Permission>(&self) -> Result<Permit<Q>, CoreError> {
        Permit::check(&self.actor)
    }
}

impl Actor {
    /// The permit for `P`, checked against the matrix (see [`Permit::check`]). The type of
    /// `P` usually comes from the use case the permit is passed to:
    /// `svc.vaults().create(&actor.permit()?, input)`.
    pub fn permit<P: Permission>(&self) -> Result<Permit<P>, CoreError> {
        Permit::check(self)
    }
}

/// `Ok(())` when allowed, else `CoreError::Forbidden` naming the role and the action.
pub fn require(role: WorkspaceRole, action: Action) -> Result<(), CoreError> {
    if allows(role, action) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(format!(
            "the workspace role `{role}` may not {}",
            action.words()
        )))
    }
}

/// What an item role allows on one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemAction {
    /// See the account (label, app, username).
    View,
    /// Sign in with it (autofill, TOTP code) without seeing the password.
    Use,
    /// Reveal the password and secret fields.
    Reveal,
    /// Edit fields.
    Edit,
    /// Share with people and change their item roles.
    Share,
    /// Delete the account.
    Delete,
}

/// The item-role table: (action, roles allowed).
pub const ITEM_MATRIX: &[(ItemAction, &[ItemRole])] = &[
    (
        ItemAction::View,
        &[ItemRole::Owner, ItemRole::Manager, ItemRole::Collaborator],
    ),
    (
        ItemAction::Use,
        &[ItemRole::Owner, ItemRole::Manager, ItemRole::Collaborator],
    ),
    (ItemAction::Reveal, &[ItemRole::Owner, ItemRole::Manager]),
    (ItemAction::Edit, &[ItemRole::Owner, ItemRole::Manager]),
    (ItemAction::Share, &[ItemRole::Owner, ItemRole::Manager]),
    (ItemAction::Delete, &[ItemRole::Owner]),
];

/// Whether `role` may take `action` on an account.
pub fn item_allows(role: ItemRole, action: ItemAction) -> bool {
    ITEM_MATRIX
        .iter()
        .find(|(a, _)| *a == action)
        .is_some_and(|(_, roles)| roles.contains(&role))
}

/// The item role a person holds on an account, from their workspace role, their vault grant and
/// their direct grant on the account:
/// - `owner` and `super_admin` hold `owner` on every account;
/// - otherwise the stronger of the vault grant and the direct grant;
/// - `login_only` and `guest` are capped at `collaborator`: they never reveal or edit.
pub fn effective_item_role(
    role: WorkspaceRole,
    vault_grant: Option<ItemRole>,
    direct_grant: Option<ItemRole>,
) -> Option<ItemRole> {
    if matches!(role, WorkspaceRole::Owner | WorkspaceRole::SuperAdmin) {
        return Some(ItemRole::Owner);
    }
    // ItemRole orders Owner < Manager < Collaborator (declaration order): min is the stronger.
    let best = match (vault_grant, direct_grant) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match role {
        WorkspaceRole::LoginOnly | WorkspaceRole::Guest => best.map(|_| ItemRole::Collaborator),
        _ => best,
    }
}

/// Whether a person of role `actor` may give or take away role `target` (both the person's
/// current role and the new one must pass). Only the owner hands out `owner`, through a
/// transfer; super admins manage everyone else; admins manage `user`, `login_only` and `guest`.
pub fn may_manage_role(actor: WorkspaceRole, target: WorkspaceRole) -> bool {
    match actor {
        WorkspaceRole::Owner => target != WorkspaceRole::Owner,
        WorkspaceRole::SuperAdmin => target.rank() >= WorkspaceRole::SuperAdmin.rank(),
        WorkspaceRole::Admin => target.rank() > WorkspaceRole::Admin.rank(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_in_the_matrix_once() {
        for a in Action::ALL {
            assert_eq!(MATRIX.iter().filter(|(x, _)| x == a).count(), 1, "{a:?}");
        }
        assert_eq!(MATRIX.len(), Action::ALL.len());
    }

    #[test]
    fn login_only_and_guest_never_reveal() {
        for r in [WorkspaceRole::LoginOnly, WorkspaceRole::Guest] {
            assert!(!allows(r, Action::AccountReveal));
            let item = effective_item_role(r, Some(ItemRole::Owner), Some(ItemRole::Owner));
            assert_eq!(item, Some(ItemRole::Collaborator));
            assert!(!item_allows(item.unwrap(), ItemAction::Reveal));
        }
    }

    #[test]
    fn collaborator_uses_but_does_not_reveal() {
        assert!(item_allows(ItemRole::Collaborator, ItemAction::Use));
        assert!(!item_allows(ItemRole::Collaborator, ItemAction::Reveal));
        assert!(item_allows(ItemRole::Manager, ItemAction::Reveal));
        assert!(!item_allows(ItemRole::Manager, ItemAction::Delete));
    }

    #[test]
    fn stronger_grant_wins() {
        let r = effective_item_role(
            WorkspaceRole::User,
            Some(ItemRole::Collaborator),
            Some(ItemRole::Manager),
        );
        assert_eq!(r, Some(ItemRole::Manager));
        assert_eq!(effective_item_role(WorkspaceRole::Admin, None, None), None);
        assert_eq!(
            effective_item_role(WorkspaceRole::SuperAdmin, None, None),
            Some(ItemRole::Owner)
        );
    }

    #[test]
    fn admins_cannot_mint_super_admins() {
        assert!(!may_manage_role(
            WorkspaceRole::Admin,
            WorkspaceRole::SuperAdmin
        ));
        assert!(!may_manage_role(WorkspaceRole::Admin, WorkspaceRole::Admin));
        assert!(may_manage_role(WorkspaceRole::Admin, WorkspaceRole::Guest));
        assert!(!may_manage_role(
            WorkspaceRole::SuperAdmin,
            WorkspaceRole::Owner
        ));
        assert!(!may_manage_role(WorkspaceRole::User, WorkspaceRole::Guest));
    }
}
