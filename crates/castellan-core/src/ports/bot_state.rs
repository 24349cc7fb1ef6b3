//! Ports of what the bot keeps between runs: signed-in app sessions, the steps of browser jobs
//! and OAuth 2.0 grants and flows (split from `ports.rs` along that seam; re-exported there).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::CoreResult;
use crate::hub::{HubId, JobId};
use crate::ids::{AccountId, DataKeyId, PersonId};

/// A signed-in app session kept for an automation account (session reuse), sealed under the
/// account's vault data key like the account's own secrets: the store never sees it in
/// plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAppSession {
    /// The automation account that signed in.
    pub account_id: AccountId,
    /// Which app the session is for: a hex SHA-256 of the connector, base URL and organization
    /// (not secret; an account may sign in to more than one hub).
    pub scope: String,
    /// The data key it is sealed under.
    pub dek_id: DataKeyId,
    /// The sealed session (token, connector data, and a fingerprint of the credentials).
    pub ciphertext: Vec<u8>,
    /// When the bot signed in.
    pub signed_in_at: DateTime<Utc>,
    /// When the session stops being reused.
    pub expires_at: DateTime<Utc>,
}

/// App sessions kept between jobs and shared by every instance on the same database, and the
/// claim that lets one sign-in at a time run per automation account and app.
#[async_trait]
pub trait AppSessionStore: Send + Sync {
    /// The session kept for `(account, scope)`, fresh or not (`None`: none kept).
    async fn kept_app_session(
        &self,
        account: AccountId,
        scope: &str,
    ) -> CoreResult<Option<KeptAppSession>>;
    /// Keeps `s` (replacing the one kept for its account and scope) and ends any sign-in claim
    /// on it; forgets every session of any account that expired before `s.signed_in_at`.
    async fn keep_app_session(&self, s: &KeptAppSession) -> CoreResult<()>;
    /// Forgets the session kept for `(account, scope)` (nothing kept: no error).
    async fn forget_app_session(&self, account: AccountId, scope: &str) -> CoreResult<()>;
    /// Claims the one sign-in for `(account, scope)` for `holder` until `until`: `true` when
    /// claimed, `false` while another holder's claim runs past `now`.
    async fn claim_app_sign_in(
        &self,
        account: AccountId,
        scope: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> CoreResult<bool>;
    /// Ends `holder`'s sign-in claim on `(account, scope)`, if it still holds it.
    async fn release_app_sign_in(
        &self,
        account: AccountId,
        scope: &str,
        holder: &str,
    ) -> CoreResult<()>;
}

/// A step of a job's record as kept: what, URL and error sealed together, the screenshot
/// sealed on its own, both under the automation account's vault data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptJobStep {
    /// The job.
    pub job_id: JobId,
    /// Its place in the job's record, from 1.
    pub seq: i64,
    /// The attempt that took it.
    pub attempt: i32,
    /// When.
    pub at: DateTime<Utc>,
    /// The data key both are sealed under.
    pub dek_id: DataKeyId,
    /// The sealed what, URL and error (JSON).
    pub sealed: Vec<u8>,
    /// The sealed screenshot: `Some` when written; reads of a record leave it `None` and say
    /// whether one is kept in `has_screenshot`.
    pub screenshot: Option<Vec<u8>>,
    /// Whether a screenshot is kept.
    pub has_screenshot: bool,
}

/// Jobs' step records (the automation log's detail).
#[async_trait]
pub trait JobStepStore: Send + Sync {
    /// Adds a step. `Conflict` when the job already has one at `s.seq`; `NotFound { kind:
    /// "job" }` for a missing job.
    async fn add_job_step(&self, s: &KeptJobStep) -> CoreResult<()>;
    /// The job's steps by `seq`, without their screenshots.
    async fn job_steps(&self, job: JobId) -> CoreResult<Vec<KeptJobStep>>;
    /// The sealed screenshot of step `seq` of `job`, with its data key (`None`: none kept).
    async fn job_step_screenshot(
        &self,
        job: JobId,
        seq: i64,
    ) -> CoreResult<Option<(DataKeyId, Vec<u8>)>>;
    /// Drops every screenshot of `job` (the steps stay); returns how many were dropped.
    async fn drop_job_screenshots(&self, job: JobId) -> CoreResult<u64>;
}

/// An OAuth 2.0 grant kept for an automation account: its tokens sealed under the account's
/// vault data key (the store never sees a token), and the version that makes every change a
/// compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptOAuth2Grant {
    /// The automation account the grant was given to.
    pub account_id: AccountId,
    /// Which client and server: a hex SHA-256 of the client id and token endpoint (not secret).
    pub scope: String,
    /// The data key it is sealed under.
    pub dek_id: DataKeyId,
    /// The sealed access token, refresh token and expiry (JSON).
    pub ciphertext: Vec<u8>,
    /// When the access token expires (`None`: the vendor gave no lifetime). Not secret.
    pub expires_at: Option<DateTime<Utc>>,
    /// Incremented at every write; a write names the version it replaces.
    pub version: i64,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// An authorization request in flight: the admin's browser is at the vendor's consent page.
/// Kept server-side until the callback (single use) or its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Flow {
    /// Hex SHA-256 of the `state` sent to the vendor (the state itself is never stored).
    pub state_hash: String,
    /// The hub being connected.
    pub hub_id: HubId,
    /// The admin who started it.
    pub person_id: PersonId,
    /// Hex SHA-256 of the admin's session (its token id): the callback must come in the same
    /// session.
    pub session_hash: String,
    /// The redirect URI sent (the exchange repeats it, RFC 6749 §4.1.3).
    pub redirect_uri: String,
    /// The data key the verifier is sealed under.
    pub dek_id: DataKeyId,
    /// The sealed PKCE code verifier (empty string sealed when the vendor has no PKCE).
    pub sealed_verifier: Vec<u8>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it can no longer be finished.
    pub expires_at: DateTime<Utc>,
}

/// OAuth 2.0 grants of automation accounts and the authorization requests in flight.
#[async_trait]
pub trait OAuth2Store: Send + Sync {
    /// The grant kept for `(account, scope)`, if any.
    async fn oauth2_grant(
        &self,
        account: AccountId,
        scope: &str,
    ) -> CoreResult<Option<KeptOAuth2Grant>>;
    /// Keeps a new grant for its account and scope (a fresh authorization replaces the old
    /// one, whatever its version), at the old version + 1 (1 for the first); ends any refresh
    /// claim. Returns the version written. `NotFound { kind: "account" }` for a missing account.
    async fn put_oauth2_grant(&self, g: &KeptOAuth2Grant) -> CoreResult<i64>;
    /// Claims the one refresh of `(account, scope)` at `version` for `holder` until `until`:
    /// `true` when claimed; `false` when the grant moved past `version` or another holder's
    /// claim runs past `now`.
    async fn claim_oauth2_refresh(
        &self,
        account: AccountId,
        scope: &str,
        version: i64,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> CoreResult<bool>;
    /// Replaces the grant at `g.version - 1` with `g` if `holder` still claims its refresh
    /// (compare-and-set), ending the claim: `false` when it does not (nothing written).
    async fn swap_oauth2_grant(&self, g: &KeptOAuth2Grant, holder: &str) -> CoreResult<bool>;
    /// Ends `holder`'s refresh claim on `(account, scope)`, if it still holds it.
    async fn release_oauth2_refresh(
        &self,
        account: AccountId,
        scope: &str,
        holder: &str,
    ) -> CoreResult<()>;
    /// Keeps an authorization request in flight; forgets those expired before `f.created_at`.
    /// `Conflict` when its state is already kept.
    async fn insert_oauth2_flow(&self, f: &OAuth2Flow) -> CoreResult<()>;
    /// Takes (returns and deletes, in one step) the request whose state hashes to `state_hash`
    /// and that was started in the session hashing to `session_hash`: a second take of the same
    /// state, or a take from another session, finds nothing (and leaves it to its session).
    async fn take_oauth2_flow(
        &self,
        state_hash: &str,
        session_hash: &str,
    ) -> CoreResult<Option<OAuth2Flow>>;
}
