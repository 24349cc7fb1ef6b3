//! The API's wire types: the JSON request and response bodies of `/api/v1` and their OpenAPI
//! schemas. Core types carry no schema; the handlers convert at the edge.
//!
//! - A request type derives `Deserialize` and `ToSchema` and converts into its core input with
//!   `From` (`ApiJson<NewVault>` → `castellan_core::service::NewVault`).
//! - A response type derives `Serialize` and `ToSchema` and is built from its core value with
//!   `From`; it serializes exactly as the core type does.
//! - An enum mirrors its core enum with `From` both ways, written as exhaustive matches: a new
//!   core variant does not compile until the wire enum has it too.
//!
//! Every type keeps the name of the core type it mirrors, so the schema names of the OpenAPI
//! document (`#/components/schemas/<name>`) are those clients already know.

mod accounts;
mod activity;
mod catalog;
mod collections;
mod connector;
mod hubs;
mod inbox;
mod jobs;
mod manual;
mod people;
mod resources;
mod setup;
mod teams;
mod totp;
mod vaults;

pub use accounts::{
    AccountInput, AccountPatch, AccountSecrets, AccountSetup, AccountView, CustomField,
};
pub use activity::{ActivityEvent, ActorKind, ChainProblem, ChainReport};
pub use catalog::{
    App, AppSource, Capability, CharClass, GenerateRequest, GenerateResult, InboxHints,
    PasswordRules, ScimInfo,
};
pub use collections::{
    Collection, CollectionInput, CollectionView, GranteeKind, Share, ShareTargetKind,
};
pub use connector::{ConnectorInfo, ConnectorSetting, ConnectorSignIn};
pub use hubs::{
    ConnectHub, Grant, Hub, HubDetail, HubMember, HubPatch, HubRole, HubStatus, Matching,
    MemberAction, MemberState, NewPlaceholder, RevokeHub, ShareHub, SyncReport,
};
pub use inbox::{InboxCode, InboxKind, InboxMessage, ManagedAddress, ManagedNumber};
pub use jobs::{Attention, Job, JobState, JobStep, SessionExport, SessionUpload, Task, Trigger};
pub use manual::{AssignedTask, ManualTask, RosterUploaded, TaskKind, TaskState};
pub use people::{
    ApiToken, ChangePassword, InvitePerson, Invited, IssuedApiToken, NewToken, PasswordChanged,
    PasswordResetLink, Person, PersonPatch, PersonStatus, WorkspaceRole,
};
pub use resources::{AppResource, ResourceRole};
pub use setup::{Claim, ClaimResult, SetupStatus, SignIn, UseResetLink};
pub use teams::{ShareHubWithTeam, Team, TeamGrant, TeamInput, TeamKind, TeamView};
pub use totp::{
    ImportedAccount, MigrationImport, TotpCode, TotpExport, TotpInput, TotpVerification, TotpView,
};
pub use vaults::{ItemRole, NewVault, Vault, VaultAccess, VaultKind};

/// Converts a list of core values into their wire form, in order.
pub(crate) fn list<T, W: From<T>>(v: Vec<T>) -> Vec<W> {
    v.into_iter().map(W::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of a mirrored enum serializes as the core's wire and database spelling
    /// (`as_str`), and converts back to the same core value.
    macro_rules! same_spelling {
        ($($core:ty => $wire:ty),+ $(,)?) => {$(
            for c in <$core>::ALL {
                let w = <$wire>::from(*c);
                assert_eq!(
                    serde_json::to_value(w).expect("serializes"),
                    serde_json::Value::from(c.as_str()),
                    "{}",
                    stringify!($wire)
                );
                assert_eq!(<$core>::from(w), *c);
            }
        )+};
    }

    #[test]
    fn enums_spell_as_core() {
        same_spelling!(
            castellan_core::model::WorkspaceRole => WorkspaceRole,
            castellan_core::model::PersonStatus => PersonStatus,
            castellan_core::model::ItemRole => ItemRole,
            castellan_core::model::VaultKind => VaultKind,
            castellan_core::model::AccountSetup => AccountSetup,
            castellan_core::hub::HubStatus => HubStatus,
            castellan_core::hub::Matching => Matching,
            castellan_core::hub::HubRole => HubRole,
            castellan_core::hub::Task => Task,
            castellan_core::hub::JobState => JobState,
            castellan_core::hub::Trigger => Trigger,
            castellan_core::inbox::InboxKind => InboxKind,
            castellan_core::manual::TaskKind => TaskKind,
            castellan_core::manual::TaskState => TaskState,
        );
    }
}
