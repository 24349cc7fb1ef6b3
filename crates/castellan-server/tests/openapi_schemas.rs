//! The names of the OpenAPI document's schemas (`#/components/schemas/<name>`) are what clients
//! generate code from. The API's types live in the server's `wire` module and mirror core types
//! by name; moving or renaming one must not change these names without this list changing too.

mod common;

use std::collections::BTreeSet;

use common::TestApp;

/// Every schema of the document, by name.
const SCHEMAS: &[&str] = &[
    "AcceptInvitation",
    "AccountGrant",
    "AccountInput",
    "AccountPatch",
    "AccountSecrets",
    "AccountSetup",
    "AccountView",
    "ActivityEvent",
    "ActorKind",
    "AddNumbers",
    "ApiToken",
    "App",
    "AppResource",
    "AppSource",
    "AssignedTask",
    "AssignEmail",
    "Attention",
    "Capability",
    "ChainProblem",
    "ChainReport",
    "ChangePassword",
    "CharClass",
    "CheckOutcome",
    "Claim",
    "ClaimResult",
    "Collection",
    "CollectionInput",
    "CollectionView",
    "ConnectHub",
    "ConnectorInfo",
    "ConnectorSetting",
    "ConnectorSignIn",
    "CustomField",
    "FieldError",
    "GenerateRequest",
    "GenerateResult",
    "Grant",
    "GranteeKind",
    "Health",
    "Hub",
    "HubDetail",
    "HubMember",
    "HubPatch",
    "HubRole",
    "HubStatus",
    "ImportedAccount",
    "InboxCode",
    "InboxHints",
    "InboxKind",
    "InboxMessage",
    "InvitePerson",
    "Invited",
    "IssuedApiToken",
    "ItemRole",
    "Job",
    "JobState",
    "JobStep",
    "Live",
    "ManagedAddress",
    "ManagedNumber",
    "ManualTask",
    "Matching",
    "MemberAction",
    "MemberState",
    "MigrationImport",
    "NewPlaceholder",
    "NewToken",
    "NewVault",
    "OAuth2Callback",
    "OAuth2Started",
    "PasswordChanged",
    "PasswordResetLink",
    "PasswordRules",
    "Person",
    "PersonPatch",
    "PersonStatus",
    "Problem",
    "Ready",
    "ResourceRole",
    "RevealRequest",
    "RevokeHub",
    "RoleGrant",
    "RosterUploaded",
    "ScimInfo",
    "SessionExport",
    "SessionUpload",
    "SetupStatus",
    "Share",
    "ShareHub",
    "ShareHubWithTeam",
    "ShareTargetKind",
    "SignIn",
    "SyncReport",
    "SyncRequest",
    "Task",
    "TaskKind",
    "TaskState",
    "Team",
    "TeamGrant",
    "TeamInput",
    "TeamKind",
    "TeamView",
    "TotpCode",
    "TotpExport",
    "TotpInput",
    "TotpVerification",
    "TotpView",
    "Trigger",
    "UseResetLink",
    "Vault",
    "VaultAccess",
    "VaultKind",
    "VerifyCode",
    "WorkspaceRole",
];

#[tokio::test]
async fn schema_names_are_pinned() {
    let app = TestApp::new().await;
    let doc = serde_json::to_value(&app.openapi).expect("openapi to json");
    let names: BTreeSet<&str> = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas")
        .keys()
        .map(String::as_str)
        .collect();
    let pinned: BTreeSet<&str> = SCHEMAS.iter().copied().collect();
    let added: Vec<_> = names.difference(&pinned).collect();
    let gone: Vec<_> = pinned.difference(&names).collect();
    assert!(
        added.is_empty() && gone.is_empty(),
        "schemas not in the list: {added:?}; listed schemas missing: {gone:?}"
    );
}
