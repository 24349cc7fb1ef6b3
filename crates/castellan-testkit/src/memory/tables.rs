//! The in-memory tables, one map per SQL table, keyed like the SQL primary keys so iteration
//! order is the SQL store's `ORDER BY` on those keys (UUIDs order like their hyphenated text).

use std::collections::BTreeMap;

use castellan_core::activity::truncate_ms;
use castellan_core::hub::{Grant, Hub, HubId, HubMember, Job, JobId, SyncReport};
use castellan_core::ids::{AccountId, PasswordResetId, PersonId, TokenId, VaultId};
use castellan_core::inbox::{
    InboxMessageId, InboxMessageRecord, ManagedAddress, ManagedAddressId, ManagedNumber,
    ManagedNumberId,
};
use castellan_core::manual::{ManualTask, ManualTaskId, RosterMember};
use castellan_core::model::{
    AccountRecord, ItemRole, OtpRecord, PasswordResetRecord, PersonRecord, SealedField,
    TokenRecord, Vault, VaultKeyRecord, Workspace,
};
use chrono::{DateTime, Utc};

/// A hub row: the hub and its grants version (a column the `Hub` model does not carry).
#[derive(Debug, Clone)]
pub(crate) struct HubRow {
    pub(crate) hub: Hub,
    pub(crate) grants_version: i64,
}

/// A stored sync report.
#[derive(Debug, Clone)]
pub(crate) struct ReportRow {
    pub(crate) hub_id: HubId,
    pub(crate) at: DateTime<Utc>,
    /// Insertion order (the SQL store's UUIDv7 id breaks ties the same way).
    pub(crate) n: u64,
    pub(crate) report: SyncReport,
}

/// One recorded job run.
#[derive(Debug, Clone)]
pub(crate) struct RunRow {
    pub(crate) job_id: JobId,
}

/// Every table but the activity log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tables {
    pub(crate) workspace: Option<Workspace>,
    pub(crate) people: BTreeMap<PersonId, PersonRecord>,
    pub(crate) tokens: BTreeMap<TokenId, TokenRecord>,
    pub(crate) resets: BTreeMap<PasswordResetId, PasswordResetRecord>,
    pub(crate) vaults: BTreeMap<VaultId, Vault>,
    pub(crate) vault_access: BTreeMap<(VaultId, PersonId), ItemRole>,
    pub(crate) vault_keys: Vec<VaultKeyRecord>,
    pub(crate) accounts: BTreeMap<AccountId, AccountRecord>,
    pub(crate) secrets: BTreeMap<(AccountId, String), SealedField>,
    pub(crate) account_access: BTreeMap<(AccountId, PersonId), ItemRole>,
    pub(crate) otp: BTreeMap<AccountId, OtpRecord>,
    /// Custom apps as JSON text, by id (as the SQL store keeps them).
    pub(crate) apps: BTreeMap<String, String>,
    pub(crate) hubs: BTreeMap<HubId, HubRow>,
    pub(crate) members: BTreeMap<HubId, BTreeMap<String, HubMember>>,
    pub(crate) reports: Vec<ReportRow>,
    pub(crate) grants: BTreeMap<(HubId, PersonId), Grant>,
    pub(crate) jobs: BTreeMap<JobId, Job>,
    pub(crate) job_runs: Vec<RunRow>,
    /// Pages kept for resumable listings, by job and page number.
    pub(crate) listed_pages: BTreeMap<JobId, BTreeMap<i64, castellan_core::ports::ListedPage>>,
    pub(crate) addresses: BTreeMap<ManagedAddressId, ManagedAddress>,
    pub(crate) numbers: BTreeMap<ManagedNumberId, ManagedNumber>,
    pub(crate) messages: BTreeMap<InboxMessageId, InboxMessageRecord>,
    /// Manual hubs' rosters, by hub then app member id.
    pub(crate) rosters: BTreeMap<HubId, BTreeMap<String, RosterMember>>,
    /// Manual hubs' tasks, by id.
    pub(crate) tasks: BTreeMap<ManualTaskId, ManualTask>,
    /// Kept app sessions and sign-in claims, by account and scope.
    pub(crate) app_sessions: BTreeMap<(AccountId, String), AppSessionRow>,
    /// `job_steps`, by job and seq (screenshots included).
    pub(crate) job_steps: BTreeMap<(JobId, i64), castellan_core::ports::KeptJobStep>,
    /// `oauth2_grants`, by account and scope: the grant and its refresh claim.
    pub(crate) oauth2_grants: BTreeMap<(AccountId, String), OAuth2GrantRow>,
    /// `teams`, by id.
    pub(crate) teams: BTreeMap<castellan_core::team::TeamId, castellan_core::team::Team>,
    /// `team_members`: (team, person).
    pub(crate) team_members: std::collections::BTreeSet<(castellan_core::team::TeamId, PersonId)>,
    /// `team_grants`, by hub and team: hub role, app role, last change.
    pub(crate) team_grants: BTreeMap<
        (HubId, castellan_core::team::TeamId),
        (castellan_core::hub::HubRole, String, DateTime<Utc>),
    >,
    /// `collections`, by id.
    pub(crate) collections:
        BTreeMap<castellan_core::collection::CollectionId, castellan_core::collection::Collection>,
    /// `collection_accounts`: (collection, account).
    pub(crate) collection_accounts:
        std::collections::BTreeSet<(castellan_core::collection::CollectionId, AccountId)>,
    /// `shares`, by grantee and target: role, last change.
    pub(crate) shares: BTreeMap<
        (
            castellan_core::collection::Grantee,
            castellan_core::collection::ItemTarget,
        ),
        (ItemRole, DateTime<Utc>),
    >,
    /// `oauth2_flows`, by state hash.
    pub(crate) oauth2_flows: BTreeMap<String, castellan_core::ports::OAuth2Flow>,
}

/// An `oauth2_grants` row: the grant and the refresh claim on it.
#[derive(Debug, Clone)]
pub(crate) struct OAuth2GrantRow {
    pub(crate) grant: castellan_core::ports::KeptOAuth2Grant,
    pub(crate) claim: Option<(String, DateTime<Utc>)>,
}

/// An `app_sessions` row: a kept session, a sign-in claim, or both.
#[derive(Debug, Clone, Default)]
pub(crate) struct AppSessionRow {
    pub(crate) kept: Option<castellan_core::ports::KeptAppSession>,
    pub(crate) claim: Option<(String, DateTime<Utc>)>,
}

/// A time at the store's precision (milliseconds).
pub(crate) fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    truncate_ms(t)
}

/// An optional time at the store's precision.
pub(crate) fn oms(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    t.map(truncate_ms)
}

/// A record as the SQL store would read it back: times cut to milliseconds.
pub(crate) trait Stored: Clone {
    /// The record with every time at millisecond precision.
    fn stored(&self) -> Self;
}

impl Stored for Workspace {
    fn stored(&self) -> Self {
        Self {
            created_at: ms(self.created_at),
            ..self.clone()
        }
    }
}

impl Stored for PersonRecord {
    fn stored(&self) -> Self {
        Self {
            invitation_expires_at: oms(self.invitation_expires_at),
            idp_deleted_at: oms(self.idp_deleted_at),
            created_at: ms(self.created_at),
            updated_at: ms(self.updated_at),
            ..self.clone()
        }
    }
}

impl Stored for TokenRecord {
    fn stored(&self) -> Self {
        Self {
            created_at: ms(self.created_at),
            expires_at: oms(self.expires_at),
            last_used_at: oms(self.last_used_at),
            revoked_at: oms(self.revoked_at),
            ..self.clone()
        }
    }
}

impl Stored for PasswordResetRecord {
    fn stored(&self) -> Self {
        Self {
            created_at: ms(self.created_at),
            expires_at: ms(self.expires_at),
            used_at: oms(self.used_at),
            revoked_at: oms(self.revoked_at),
            ..self.clone()
        }
    }
}

impl Stored for Vault {
    fn stored(&self) -> Self {
        Self {
            created_at: ms(self.created_at),
            ..self.clone()
        }
    }
}

impl Stored for VaultKeyRecord {
    fn stored(&self) -> Self {
        Self {
            created_at: ms(self.created_at),
            ..self.clone()
        }
    }
}

impl Stored for AccountRecord {
    fn stored(&self) -> Self {
        Self {
            created_at: ms(self.created_at),
            updated_at: ms(self.updated_at),
            ..self.clone()
        }
    }
}

impl Stored for OtpRecord {
    fn stored(&self) -> Self {
        Self {
            created_at: ms(self.created_at),
            ..self.clone()
        }
    }
}

impl Stored for Hub {
    fn stored(&self) -> Self {
        Self {
            next_sync_at: oms(self.next_sync_at),
            last_sync_at: oms(self.last_sync_at),
            created_at: ms(self.created_at),
            updated_at: ms(self.updated_at),
            ..self.clone()
        }
    }
}

impl Stored for HubMember {
    fn stored(&self) -> Self {
        Self {
            first_seen_at: ms(self.first_seen_at),
            last_seen_at: ms(self.last_seen_at),
            ..self.clone()
        }
    }
}

impl Stored for Grant {
    fn stored(&self) -> Self {
        Self {
            updated_at: ms(self.updated_at),
            ..self.clone()
        }
    }
}

impl Stored for Job {
    fn stored(&self) -> Self {
        Self {
            run_at: ms(self.run_at),
            lease_until: oms(self.lease_until),
            created_at: ms(self.created_at),
            updated_at: ms(self.updated_at),
            ..self.clone()
        }
    }
}

impl Stored for ManagedAddress {
    fn stored(&self) -> Self {
        Self {
            created_at: ms(self.created_at),
            ..self.clone()
        }
    }
}

impl Stored for ManagedNumber {
    fn stored(&self) -> Self {
        Self {
            created_at: ms(self.created_at),
            assigned_at: oms(self.assigned_at),
            ..self.clone()
        }
    }
}

impl Stored for InboxMessageRecord {
    fn stored(&self) -> Self {
        Self {
            received_at: ms(self.received_at),
            expires_at: oms(self.expires_at),
            ..self.clone()
        }
    }
}

impl Stored for ManualTask {
    fn stored(&self) -> Self {
        Self {
            due_at: ms(self.due_at),
            created_at: ms(self.created_at),
            done_at: oms(self.done_at),
            verified_at: oms(self.verified_at),
            cancelled_at: oms(self.cancelled_at),
            ..self.clone()
        }
    }
}
