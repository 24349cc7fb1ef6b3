//! The application service: every use case, each taking the [`Actor`] and checking the
//! permission matrix before it touches the store. The server and the CLI call only this.

mod accounts;
mod activity_log;
mod auth;
mod bot;
mod generate;
mod hubs;
mod inbox;
mod keys;
mod people;
mod recovery;
mod totp;
mod two_step;
mod vaults;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use castellan_crypto::{DataKey, Keyring};

use crate::activity::Actor;
use crate::catalog::{parse_catalog, App, BUILTIN_CATALOG};
use crate::connector::ConnectorRegistry;
use crate::error::{CoreError, CoreResult};
use crate::ids::{DataKeyId, VaultId};
use crate::permissions::{self, Action};
use crate::ports::Store;

pub use accounts::{AccountInput, AccountPatch, AccountSecrets, AccountView};
pub use auth::{Claim, ClaimResult, SetupStatus, SignIn, TokenUse, SESSION_PREFIX};
pub use bot::{backoff, Bot, BotConfig};
pub use generate::{GenerateRequest, GenerateResult};
pub use hubs::{
    unfinished, ConnectHub, HubDetail, HubPatch, MemberAction, NewPlaceholder, RevokeHub, ShareHub,
    DEFAULT_SAFEGUARD,
};
pub use inbox::{
    normalize_e164, normalize_mail_domain, InboxQuery, ReceivedMessage,
    DEFAULT_INBOX_RETENTION_DAYS, DEFAULT_MAIL_DOMAIN, MAX_CODE_WAIT,
};
pub use keys::RotationReport;
pub use people::{InvitePerson, Invited, IssuedApiToken, NewToken, PersonPatch, INVITATION_DAYS};
pub use recovery::{
    ChangePassword, PasswordChanged, PasswordResetLink, UseResetLink, RESET_LINK_MINUTES,
    RESET_PATH, RESET_PREFIX,
};
pub use totp::{
    ImportedAccount, MigrationImport, TotpCode, TotpExport, TotpInput, TotpVerification, TotpView,
    TOTP_READ_LOG_WINDOW_SECS,
};
pub use two_step::{
    DisableTwoStep, EnableTwoStep, TwoStepEnrollment, TwoStepStatus, TWO_STEP_ISSUER,
    TWO_STEP_SECRET_BYTES,
};
pub use vaults::NewVault;

/// Source of the workspace master keys. The server's implementation re-reads the key file when
/// it changes, so `castellan keys rotate` takes effect while it serves.
pub trait KeyProvider: Send + Sync + std::fmt::Debug {
    /// The current keyring. Errors when the key file cannot be read.
    fn keyring(&self) -> CoreResult<Arc<Keyring>>;
    /// Re-reads the key file now (after an unknown key id was met).
    fn reload(&self) -> CoreResult<Arc<Keyring>>;
}

/// A fixed in-memory keyring (tests, `init`).
#[derive(Debug)]
pub struct StaticKeys(pub Arc<Keyring>);

impl KeyProvider for StaticKeys {
    fn keyring(&self) -> CoreResult<Arc<Keyring>> {
        Ok(self.0.clone())
    }
    fn reload(&self) -> CoreResult<Arc<Keyring>> {
        Ok(self.0.clone())
    }
}

/// The service. Cheap to clone (everything inside is shared).
#[derive(Clone)]
pub struct Castellan {
    store: Arc<dyn Store>,
    keys: Arc<dyn KeyProvider>,
    builtin_apps: Arc<Vec<App>>,
    data_keys: Arc<RwLock<HashMap<VaultId, (DataKeyId, DataKey)>>>,
    connectors: Option<Arc<dyn ConnectorRegistry>>,
    mail_domains: Arc<Vec<String>>,
}

impl std::fmt::Debug for Castellan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Castellan")
            .field("backend", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl Castellan {
    /// Builds the service over a store and a key provider, loading the built-in catalog.
    /// Errors: `Validation` if the embedded catalog is broken (a build defect).
    pub fn new(store: Arc<dyn Store>, keys: Arc<dyn KeyProvider>) -> CoreResult<Self> {
        Ok(Self {
            store,
            keys,
            builtin_apps: Arc::new(parse_catalog(BUILTIN_CATALOG)?),
            data_keys: Arc::new(RwLock::new(HashMap::new())),
            connectors: None,
            mail_domains: Arc::new(vec![inbox::DEFAULT_MAIL_DOMAIN.to_owned()]),
        })
    }

    /// Adds the connector registry (connecting a hub checks that its connector exists).
    pub fn with_connectors(mut self, registry: Arc<dyn ConnectorRegistry>) -> Self {
        self.connectors = Some(registry);
        self
    }

    /// The store (for host-local commands and health checks).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Readiness: the store commits a small write now (see
    /// [`crate::ports::WorkspaceStore::probe_write`]). No permission check: it reveals nothing.
    pub async fn probe_store(&self) -> CoreResult<()> {
        self.store.probe_write(chrono::Utc::now()).await
    }

    /// Checks `action` against the matrix for the actor's role.
    pub(crate) fn require(&self, actor: &Actor, action: Action) -> CoreResult<()> {
        permissions::require(actor.role, action)
    }
}

/// Runs blocking work (Argon2) off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> CoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::internal(format!("blocking task failed: {e}")))
}
