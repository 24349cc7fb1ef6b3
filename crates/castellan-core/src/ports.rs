//! Ports: the traits core needs from adapters, split by capability. `castellan-store`
//! implements them for SQLite and PostgreSQL.
//!
//! Every write method takes the [`NewEvent`] that records it; the store appends the event to the
//! hash chain inside the same transaction, so a write and its activity land together or not at all.
//! Errors: `CoreError::Conflict` for unique violations and stale versions, `CoreError::NotFound`
//! when the target row is missing, `CoreError::Unavailable` when the database cannot be reached,
//! `CoreError::Internal` otherwise (never with database text meant for clients).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::activity::{ActivityEvent, ChainHead, NewEvent};
use crate::catalog::App;
use crate::error::CoreResult;
use crate::hub::{Grant, Hub, HubId, HubMember, Job, JobId, JobState, SyncReport};
use crate::ids::{AccountId, DataKeyId, PersonId, TokenId, VaultId};
use crate::manual::{ManualTask, ManualTaskId, RosterMember};
mod bot_state;
mod collections;
pub use bot_state::*;
pub use collections::*;
mod teams;
pub use teams::*;

use crate::model::{
    AccountRecord, ItemRole, NewPassword, OtpRecord, PasswordResetRecord, PersonRecord,
    PersonTwoStep, SealedField, TokenKind, TokenRecord, Vault, VaultAccess, VaultKeyRecord,
    Workspace,
};

/// The workspace row and its one-time setup.
/// The `Conflict` message of a grant change whose expected grants version moved
/// ([`HubStore::upsert_grant`]).
pub const GRANTS_CHANGED: &str = "the hub's grants changed while this change was made: try again";

#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// The workspace, if initialized.
    async fn workspace(&self) -> CoreResult<Option<Workspace>>;
    /// Creates the workspace, its default vault and the vault's wrapped data key, in one
    /// transaction. `Conflict` when a workspace already exists.
    async fn create_workspace(
        &self,
        ws: &Workspace,
        default_vault: &Vault,
        vault_key: &VaultKeyRecord,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// Replaces the setup token hash, only while unclaimed. Returns `false` if already claimed.
    async fn reset_setup_token(&self, hash: &str, event: &NewEvent) -> CoreResult<bool>;
    /// Atomically: consumes the setup token (only if `setup_token_hash` still matches), inserts
    /// the owner and their first token. Returns `false` (and writes nothing) if the token does
    /// not match or the workspace is already claimed.
    async fn claim_workspace(
        &self,
        setup_token_hash: &str,
        owner: &PersonRecord,
        token: &TokenRecord,
        event: &NewEvent,
    ) -> CoreResult<bool>;
    /// Rewrites the readiness probe's row with `at` in a write transaction and commits it:
    /// `Ok` proves the database takes writes now. `Unavailable` when it does not (disk full,
    /// locked past the busy timeout, unreachable).
    async fn probe_write(&self, at: DateTime<Utc>) -> CoreResult<()>;
}

/// People.
#[async_trait]
pub trait PeopleStore: Send + Sync {
    /// Inserts a person. `Conflict` on a duplicate email.
    async fn insert_person(&self, p: &PersonRecord, event: &NewEvent) -> CoreResult<()>;
    /// One person by id.
    async fn person(&self, id: PersonId) -> CoreResult<Option<PersonRecord>>;
    /// One person by normalized email.
    async fn person_by_email(&self, email: &str) -> CoreResult<Option<PersonRecord>>;
    /// Every person, ordered by email.
    /// The person whose SCIM `userName` is `user_name` (already lowercased): their
    /// `user_name`, or their email when they have none.
    async fn person_by_user_name(&self, user_name: &str) -> CoreResult<Option<PersonRecord>>;
    async fn people(&self) -> CoreResult<Vec<PersonRecord>>;
    /// Replaces a person's mutable fields (email, name, role, status, external id, password and
    /// invitation hashes). `Conflict` when the email belongs to another person. When the status becomes `deactivated`, their tokens are revoked in the same transaction.
    async fn update_person(&self, p: &PersonRecord, event: &NewEvent) -> CoreResult<()>;
    /// Makes `to` the owner and `from` a `super_admin`, atomically; `Conflict` if `from` is no
    /// longer the owner.
    async fn transfer_ownership(
        &self,
        from: PersonId,
        to: PersonId,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// Sets (or with `None`, removes) a person's two-step authenticator, including its last
    /// accepted step. [`PeopleStore::update_person`] never touches these columns, so a stale
    /// record cannot roll the step back. `NotFound` if the person is missing.
    async fn set_person_two_step(
        &self,
        id: PersonId,
        two_step: Option<&PersonTwoStep>,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// Signs in with a two-step code, atomically: claims time step `step` for the person (only
    /// while they have an authenticator and `step` is above its last accepted step), then
    /// inserts `token` and appends `event`. Returns `false`, writing nothing, when the step was
    /// already used (a replayed code) or two-step is off.
    async fn sign_in_with_step(
        &self,
        person: PersonId,
        step: i64,
        token: &TokenRecord,
        event: &NewEvent,
    ) -> CoreResult<bool>;
    /// Stores a new password reset link and revokes (at `r.created_at`) the person's earlier
    /// links that are still pending, then appends `event`, in one transaction. `NotFound` if
    /// the person is missing.
    async fn insert_password_reset(
        &self,
        r: &PasswordResetRecord,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// The reset link with this SHA-256 hash and its person.
    async fn password_reset_by_hash(
        &self,
        hash: &str,
    ) -> CoreResult<Option<(PasswordResetRecord, PersonRecord)>>;
    /// Sets a person's password atomically: when `change.reset` is given, first marks that link
    /// used (only while it is pending and not expired at `change.at`; otherwise writes nothing
    /// and returns `None`); then stores the hash, revokes every token of the person but
    /// `change.keep_token` and every pending reset link, and appends `event`. Returns how many
    /// tokens it revoked. `NotFound` if the person is missing.
    async fn set_password(&self, change: &NewPassword, event: &NewEvent)
        -> CoreResult<Option<u64>>;
}

/// Personal API tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Inserts a token.
    async fn insert_token(&self, t: &TokenRecord, event: &NewEvent) -> CoreResult<()>;
    /// The token with this SHA-256 hash and its person.
    async fn token_by_hash(&self, hash: &str) -> CoreResult<Option<(TokenRecord, PersonRecord)>>;
    /// A person's tokens, newest first.
    async fn tokens_of(&self, person: PersonId) -> CoreResult<Vec<TokenRecord>>;
    /// Every token of one kind (whoever's), newest first: the workspace's SCIM tokens.
    async fn tokens_of_kind(&self, kind: TokenKind) -> CoreResult<Vec<TokenRecord>>;
    /// Sets `revoked_at` on the token of that kind (keeping an earlier one) and appends
    /// `event`, in one transaction. `NotFound` if no token of that kind has this id.
    async fn revoke_token_of_kind(
        &self,
        kind: TokenKind,
        id: TokenId,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// Sets `revoked_at` on the person's token. `NotFound` if it is not theirs.
    async fn revoke_token(
        &self,
        person: PersonId,
        id: TokenId,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// Records a use: sets `last_used_at = at`; when the previous use is older than
    /// `log_after` (or absent) also appends `event`. Returns whether the event was appended.
    async fn touch_token(
        &self,
        id: TokenId,
        at: DateTime<Utc>,
        log_after: chrono::Duration,
        event: &NewEvent,
    ) -> CoreResult<bool>;
}

/// Vaults, their grants and their wrapped data keys.
#[async_trait]
pub trait VaultStore: Send + Sync {
    /// Inserts a vault with its wrapped data key(s) and initial grants. `Conflict` on a duplicate name.
    async fn insert_vault(
        &self,
        v: &Vault,
        keys: &[VaultKeyRecord],
        grants: &[VaultAccess],
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// One vault.
    async fn vault(&self, id: VaultId) -> CoreResult<Option<Vault>>;
    /// Every vault, ordered by name.
    async fn vaults(&self) -> CoreResult<Vec<Vault>>;
    /// Grants (or with `None`, revokes) a person's access to a vault.
    async fn set_vault_access(
        &self,
        vault: VaultId,
        person: PersonId,
        role: Option<ItemRole>,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// A vault's grants.
    async fn vault_access(&self, vault: VaultId) -> CoreResult<Vec<VaultAccess>>;
    /// A person's vault grants.
    async fn vault_grants_of(&self, person: PersonId) -> CoreResult<Vec<VaultAccess>>;
    /// The wrapped copies of a vault's current data key.
    async fn vault_keys(&self, vault: VaultId) -> CoreResult<Vec<VaultKeyRecord>>;
    /// Every wrapped key whose wrapping key id is `wrapping_key_id` (for rotation).
    async fn keys_wrapped_by(&self, wrapping_key_id: &str) -> CoreResult<Vec<VaultKeyRecord>>;
    /// Replaces wrapped copies, each matched on (vault, dek, wrap kind, old wrapping key id), in
    /// one transaction. Returns how many rows were replaced.
    async fn rewrap_keys(
        &self,
        replacements: &[(VaultKeyRecord, VaultKeyRecord)],
        event: &NewEvent,
    ) -> CoreResult<u64>;
}

/// A filter for listing accounts.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// Only these vaults (`None` = all).
    pub vaults: Option<Vec<VaultId>>,
    /// Also these accounts (direct grants), OR-ed with `vaults`.
    pub also_accounts: Vec<AccountId>,
    /// Case-insensitive substring of label, username, app id or login URL.
    pub query: Option<String>,
    /// Only this app.
    pub app_id: Option<String>,
    /// At most this many (default 500).
    pub limit: Option<u32>,
}

/// Account items and their sealed secrets.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Inserts an account, its sealed fields and direct grants. `Conflict` on a duplicate label
    /// in the vault.
    async fn insert_account(
        &self,
        a: &AccountRecord,
        sealed: &[SealedField],
        grants: &[(PersonId, ItemRole)],
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// Replaces the account's non-secret fields (only if its stored version is
    /// `a.version - 1`, else `Conflict`), upserts `sealed` and deletes `remove_fields`.
    async fn update_account(
        &self,
        a: &AccountRecord,
        sealed: &[SealedField],
        remove_fields: &[String],
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// Deletes the account, its sealed fields and grants.
    async fn delete_account(&self, id: AccountId, event: &NewEvent) -> CoreResult<()>;
    /// One account.
    async fn account(&self, id: AccountId) -> CoreResult<Option<AccountRecord>>;
    /// Accounts matching the filter, ordered by label.
    async fn accounts(&self, f: &AccountFilter) -> CoreResult<Vec<AccountRecord>>;
    /// The account's sealed fields.
    async fn sealed_fields(&self, id: AccountId) -> CoreResult<Vec<SealedField>>;
    /// Direct grants on an account.
    async fn account_access(&self, id: AccountId) -> CoreResult<Vec<(PersonId, ItemRole)>>;
    /// A person's direct grants.
    async fn account_grants_of(&self, person: PersonId) -> CoreResult<Vec<(AccountId, ItemRole)>>;
    /// Grants (or with `None`, revokes) a person's item role on an account.
    async fn set_account_access(
        &self,
        id: AccountId,
        person: PersonId,
        role: Option<ItemRole>,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// How many sealed fields reference the data key (for key hygiene checks).
    async fn count_sealed_with(&self, dek: DataKeyId) -> CoreResult<i64>;
}

/// Custom catalog entries.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Inserts a custom app. `Conflict` on a duplicate id.
    async fn insert_app(&self, app: &App, event: &NewEvent) -> CoreResult<()>;
    /// Every custom app.
    async fn custom_apps(&self) -> CoreResult<Vec<App>>;
}

/// A filter for listing activity.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Action prefix, e.g. `account.` or `account.reveal`.
    pub action: Option<String>,
    /// Actor person id.
    pub actor_id: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
    /// Only events with `seq` below this (for paging backwards).
    pub before_seq: Option<i64>,
    /// At most this many (default 100, newest first).
    pub limit: Option<u32>,
}

/// The activity log.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Appends one event on its own (sign-in, reveal, failures).
    async fn append(&self, event: &NewEvent) -> CoreResult<ActivityEvent>;
    /// Appends `event` unless the same token already did the same action on the same target
    /// recently: the last such event's time and `event.at` go through
    /// [`crate::activity::log_due`] with `window`. Events without a token or a target are always
    /// appended. Returns whether it appended. Serialized with every other append.
    async fn append_throttled(
        &self,
        event: &NewEvent,
        window: chrono::Duration,
    ) -> CoreResult<bool>;
    /// Events matching the filter, newest first.
    async fn events(&self, f: &ActivityFilter) -> CoreResult<Vec<ActivityEvent>>;
    /// Events with `seq > after`, oldest first, at most `limit` (for verification and export).
    async fn events_after(&self, after: i64, limit: u32) -> CoreResult<Vec<ActivityEvent>>;
    /// The chain head.
    async fn chain_head(&self) -> CoreResult<ChainHead>;
}

/// Everything core needs from a store.
pub trait Store:
    WorkspaceStore
    + PeopleStore
    + TokenStore
    + VaultStore
    + AccountStore
    + CatalogStore
    + ActivityStore
    + HubStore
    + JobStore
    + OtpStore
    + crate::inbox::InboxStore
    + ManualStore
    + AppSessionStore
    + JobStepStore
    + OAuth2Store
    + TeamStore
    + CollectionStore
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}

/// Business hubs: settings, member snapshots, sync reports and grants.
#[async_trait]
pub trait HubStore: Send + Sync {
    /// Inserts a hub and its first jobs. `Conflict` on a duplicate label (case-insensitive).
    async fn insert_hub(&self, h: &Hub, jobs: &[Job], event: &NewEvent) -> CoreResult<()>;
    /// One hub.
    async fn hub(&self, id: HubId) -> CoreResult<Option<Hub>>;
    /// Every hub, ordered by label.
    async fn hubs(&self) -> CoreResult<Vec<Hub>>;
    /// Replaces the hub's settings and status fields (everything but id and created_*).
    /// `event` is appended when given.
    async fn update_hub(&self, h: &Hub, event: Option<&NewEvent>) -> CoreResult<()>;
    /// The hub's member snapshot, ordered by app member id.
    async fn hub_members(&self, id: HubId) -> CoreResult<Vec<HubMember>>;
    /// Replaces the snapshot, stores the report (with the job that made it), updates the hub
    /// (status, last sync) and enqueues the planned `jobs` (deduplicated like
    /// [`JobStore::enqueue`]), all in one transaction.
    async fn save_sync(
        &self,
        h: &Hub,
        members: &[HubMember],
        report: &SyncReport,
        job: JobId,
        event: &NewEvent,
        jobs: &[Job],
    ) -> CoreResult<()>;
    /// The latest report and when it was made.
    async fn last_report(&self, id: HubId) -> CoreResult<Option<(DateTime<Utc>, SyncReport)>>;
    /// Inserts or replaces one member of the snapshot (after a match, an exemption or a bot
    /// write), keyed by app member id. `event` is appended when given.
    async fn upsert_hub_member(
        &self,
        id: HubId,
        m: &HubMember,
        event: Option<&NewEvent>,
    ) -> CoreResult<()>;
    /// The hub's grants (active and revoked).
    async fn grants(&self, id: HubId) -> CoreResult<Vec<Grant>>;
    /// In one transaction: inserts or replaces a person's grant on a hub, bumps the hub's
    /// grants version, cancels the write jobs the change makes obsolete (`supersede`), enqueues
    /// `jobs` (deduplicated like [`JobStore::enqueue`]) and appends `event`. Returns the ids of
    /// the cancelled jobs. `NotFound` (`hub` or `person`) writes nothing; so does `Conflict`
    /// when `expected` is given and the hub's grants version is no longer it (another grant
    /// change landed since the caller read the grants it built `g` from).
    async fn upsert_grant(
        &self,
        id: HubId,
        g: &Grant,
        expected: Option<i64>,
        supersede: &Supersede,
        jobs: &[Job],
        event: &NewEvent,
    ) -> CoreResult<Vec<JobId>>;
    /// The hub's grants version: a counter bumped by every change of its desired state (a
    /// grant, or a person's deactivation). `NotFound { kind: "hub" }` when missing.
    async fn grants_version(&self, id: HubId) -> CoreResult<i64>;
    /// Bumps the grants version of `hubs` (the desired state changed outside a grant, e.g. a
    /// person was deactivated) and enqueues `jobs`, in one transaction that takes the same
    /// locks as [`Self::upsert_grant`]. Unknown hub ids are ignored.
    async fn mark_desired_changed(&self, hubs: &[HubId], jobs: &[Job]) -> CoreResult<()>;
    /// Every hub a person holds a grant on, with the grant.
    async fn grants_of_person(&self, person: PersonId) -> CoreResult<Vec<(HubId, Grant)>>;
    /// Hubs whose `next_sync_at` is due: sets it to now + interval atomically (so only one
    /// instance wins) and returns their ids.
    async fn claim_due_syncs(&self, now: DateTime<Utc>) -> CoreResult<Vec<HubId>>;
}

/// The write jobs a grant change makes obsolete (see [`crate::desired`]): on the hub, every
/// `queued` or `retrying` job whose `dedupe_key` starts with `key_prefix` is cancelled
/// (`not_completed`, its `error` set to `reason`), each with a copy of `event` (a
/// `job.superseded` event) targeted at the job. Jobs held by a worker are left to re-decide
/// when they run.
#[derive(Debug, Clone)]
pub struct Supersede {
    /// Dedupe-key prefix of the obsolete jobs ([`crate::desired::supersede_prefix`]).
    pub key_prefix: String,
    /// Why, for the automation log.
    pub reason: String,
    /// The event to append per cancelled job (its id and target are set per job).
    pub event: NewEvent,
}

/// Jobs to enqueue when a job completes: a check for updates when the hub's desired state
/// changed under it, and one whatever the version says when the job's own effects need a
/// second look (see `settle`).
#[derive(Debug, Clone)]
pub struct FollowUp {
    /// The hub's grants version read before the job read the grants.
    pub seen_grants_version: i64,
    /// The job to enqueue when the version moved past `seen_grants_version` (a check for
    /// updates).
    pub job: Job,
    /// A check for updates to enqueue in any case: after a manual removal (a person may have
    /// been matched to the member and given the hub meanwhile, which no version tracks), or,
    /// due later, after a job whose earlier attempt was interrupted (a call it sent may still
    /// land in the app after this attempt re-read it).
    pub settle: Option<Job>,
}

/// A filter for the automation log.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this hub.
    pub hub_id: Option<HubId>,
    /// Only these states.
    pub states: Option<Vec<JobState>>,
    /// At most this many (default 100), newest first.
    pub limit: Option<u32>,
}

/// The bot's durable job queue.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues jobs. A job whose `dedupe_key` matches a *waiting* job (queued, retrying) is
    /// skipped: that one will run from the same current state. A job a worker holds (started,
    /// running) absorbs nothing, because it may have read the app or the grants before the
    /// change the new job is for. Returns the ids actually enqueued.
    async fn enqueue(&self, jobs: &[Job], event: Option<&NewEvent>) -> CoreResult<Vec<JobId>>;
    /// Claims the next due job for `worker`: a `queued`/`retrying` job with `run_at <= now`, or a
    /// `started`/`running` job whose lease expired (its worker died). Sets state `started`,
    /// `worker_id`, `lease_until = now + lease`. Two workers never claim the same job
    /// (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time), and a job is not
    /// claimed while another job with its `dedupe_key` is held (started or running, whatever
    /// its lease): jobs with one key run one at a time, in order. Likewise a check for updates
    /// is not claimed while another check of its hub is held (whatever their keys).
    async fn claim_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> CoreResult<Option<Job>>;
    /// Writes the job's mutable fields only while `worker` still holds it (`worker_id` matches
    /// and the state is `started`/`running`/`retrying`). Returns `false` when the lease was lost.
    /// `Conflict` (nothing written) when the job would go back to waiting (`retrying`) while a
    /// newer job with its `dedupe_key` waits; the engine then records it as superseded.
    /// `event` is appended in the same transaction when given. With `follow_up` (and an
    /// `event`), the same transaction then reads the hub's grants version and enqueues the
    /// follow-up job when it moved past the version the job started from (the read happens
    /// under the lock that every grant change takes, so no change slips between the two), and
    /// enqueues `follow_up.settle` when given.
    async fn update_job(
        &self,
        job: &Job,
        worker: &str,
        event: Option<&NewEvent>,
        follow_up: Option<&FollowUp>,
    ) -> CoreResult<bool>;
    /// Extends the lease of a job `worker` holds (a heartbeat while a connector call is in
    /// flight): sets `lease_until = until` only while `worker_id` matches and the state is
    /// `started`/`running`. Returns `false` when the lease was lost. Appends no event.
    async fn renew_lease(&self, id: JobId, worker: &str, until: DateTime<Utc>) -> CoreResult<bool>;
    /// Writes the job's mutable fields only while its state is one of `from` (admin retry and
    /// cancel). Returns `false` otherwise.
    async fn update_job_if(
        &self,
        job: &Job,
        from: &[JobState],
        event: &NewEvent,
    ) -> CoreResult<bool>;
    /// One job.
    async fn job(&self, id: JobId) -> CoreResult<Option<Job>>;
    /// Jobs, newest first.
    async fn jobs(&self, f: &JobFilter) -> CoreResult<Vec<Job>>;
    /// Records that `worker` executed the job's side effect once (for audits and the
    /// exactly-once tests): appends a row (job id, worker, at, outcome).
    async fn record_job_run(
        &self,
        id: JobId,
        worker: &str,
        at: DateTime<Utc>,
        outcome: &str,
    ) -> CoreResult<()>;
    /// How many runs were recorded per job (job id, count), for audits.
    async fn job_run_counts(&self) -> CoreResult<Vec<(JobId, i64)>>;
    /// Keeps one page a check for updates listed (resumable listing): replaces the job's page
    /// with the same number. `NotFound { kind: "job" }` when the job is missing.
    async fn save_listed_page(&self, id: JobId, page: &ListedPage) -> CoreResult<()>;
    /// The pages kept for a job, by page number.
    async fn listed_pages(&self, id: JobId) -> CoreResult<Vec<ListedPage>>;
    /// Forgets the pages kept for a job.
    async fn clear_listed_pages(&self, id: JobId) -> CoreResult<()>;
}

/// One page of members a check for updates listed, kept so that a retry of the job resumes at
/// the page after it instead of listing the app again from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPage {
    /// Page number, from 0.
    pub page: i64,
    /// The members on it.
    pub members: Vec<crate::connector::AppMember>,
    /// The connector's cursor of the next page (`None`: this was the last page).
    pub next: Option<String>,
    /// When it was listed.
    pub listed_at: DateTime<Utc>,
}

/// Accounts' authenticators (2FA managed by Castellan).
#[async_trait]
pub trait OtpStore: Send + Sync {
    /// In one transaction: updates the account like [`AccountStore::update_account`] (version
    /// check, upsert `sealed`, delete `remove_fields`), then stores (`Some`) or deletes (`None`)
    /// its authenticator settings, and appends `event`.
    async fn set_account_otp(
        &self,
        a: &AccountRecord,
        sealed: &[SealedField],
        remove_fields: &[String],
        otp: Option<&OtpRecord>,
        event: &NewEvent,
    ) -> CoreResult<()>;
    /// The account's authenticator settings.
    async fn account_otp(&self, id: AccountId) -> CoreResult<Option<OtpRecord>>;
    /// Atomically takes the next HOTP counter (returns the value to use and stores +1), and
    /// appends `event`. Two readers never get the same counter. `NotFound` without settings.
    async fn next_hotp_counter(&self, id: AccountId, event: &NewEvent) -> CoreResult<i64>;
    /// Records an accepted verification at `step` only if it is later than the last accepted
    /// one; returns `false` (a replay) otherwise. Appends `event` when it returns `true`.
    async fn claim_otp_step(&self, id: AccountId, step: i64, event: &NewEvent) -> CoreResult<bool>;
}

/// Manual hubs (`crate::manual`): each hub's roster and the tasks of its app admin. Every
/// `hub.task_*` event a method appends is made from the `NewEvent` template it is given with
/// [`crate::manual::task_event`] (a new id, the task as target, the task's details).
#[async_trait]
pub trait ManualStore: Send + Sync {
    /// In one transaction: replaces the hub's roster with `members` (ids unique), gives the
    /// hub's member snapshot the roster's ids for its provisional ones
    /// ([`crate::manual::provisional_renames`]), verifies
    /// every pending (open or done) task of the hub that the new roster shows done
    /// ([`crate::manual::verified_tasks`]: state `verified`, `verified_at = now`), appends
    /// `event`, then a `verified` event per verified task, and enqueues `jobs` (deduplicated
    /// like [`JobStore::enqueue`]). Returns the verified tasks as stored. `NotFound { kind:
    /// "hub" }` when the hub is missing (nothing written).
    async fn replace_roster(
        &self,
        hub: HubId,
        members: &[RosterMember],
        now: DateTime<Utc>,
        event: &NewEvent,
        verified: &NewEvent,
        jobs: &[Job],
    ) -> CoreResult<Vec<ManualTask>>;
    /// The hub's roster, ordered by app member id (empty before the first upload).
    async fn roster(&self, hub: HubId) -> CoreResult<Vec<RosterMember>>;
    /// Opens a task, idempotently, as [`crate::manual::plan_open`] says from the hub's tasks:
    /// returns the pending task of the same kind for the same email that stands for it (an
    /// open one updated with the new role and member id), or inserts `task`; cancels the other
    /// pending tasks for the email (`cancelled_at = task.created_at`). Appends an `opened`
    /// event when it inserted or changed a task, and a `cancelled` event per cancelled task.
    /// `NotFound` (`hub`, or `person` for the assignee) writes nothing.
    async fn open_task(
        &self,
        task: &ManualTask,
        opened: &NewEvent,
        cancelled: &NewEvent,
    ) -> CoreResult<ManualTask>;
    /// The hub's tasks, newest first.
    async fn tasks(&self, hub: HubId) -> CoreResult<Vec<ManualTask>>;
    /// Marks an open task done by `person` at `now` and appends a `done` event; a task already
    /// done is returned as it is (nothing written). `NotFound { kind: "task" }` when the hub
    /// has no such task; `Conflict` when it is verified or cancelled.
    async fn mark_task_done(
        &self,
        hub: HubId,
        task: ManualTaskId,
        person: PersonId,
        now: DateTime<Utc>,
        done: &NewEvent,
    ) -> CoreResult<ManualTask>;
    /// Cancels the hub's pending tasks among `tasks` (state `cancelled`, `cancelled_at = now`),
    /// appending a `cancelled` event per cancelled task. Tasks no longer pending, or of another
    /// hub, are left alone. Returns the cancelled tasks as stored.
    async fn cancel_tasks(
        &self,
        hub: HubId,
        tasks: &[ManualTaskId],
        now: DateTime<Utc>,
        cancelled: &NewEvent,
    ) -> CoreResult<Vec<ManualTask>>;
}
