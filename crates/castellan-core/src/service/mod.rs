//! The application service: every use case, each taking the [`Actor`](crate::activity::Actor) and checking the
//! permission matrix before it touches the store. The server and the CLI call only this.
//!
//! [`Castellan`] is the wiring root; it hands out one capability handle per folder or file
//! (declared by `handles!` below), and permission-checked use cases take a
//! [`Permit`](crate::permissions::Permit). Helpers several capabilities share stay
//! `pub(crate)` methods on [`Castellan`], in the module of the capability they belong to.
//!
//! | module | handle | what |
//! |---|---|---|
//! | `people/` | [`People`], [`Sessions`] | people and roles; sign-in, API tokens, two-step sign-in, recovery |
//! | `accounts/` | [`Accounts`] | accounts in vaults: reads, writes, sealed fields, sharing |
//! | `authenticator.rs` | [`Authenticator`] | each account's TOTP/HOTP secret and codes |
//! | `hubs/` | [`Hubs`] | business hubs: connect, grants, members, jobs |
//! | `manual/` | [`Hubs`] | manual hubs: the manual connector, rosters, the app admin's tasks |
//! | `inbox/` | [`Inbox`], [`InboxDelivery`] | managed addresses and numbers, codes, receiving |
//! | `teams.rs` | [`Teams`] | teams, their members and their grants on hubs |
//! | `vaults.rs` | [`Vaults`] | vaults and who can reach them |
//! | `collections.rs` | [`Collections`] | collections: named sets of accounts shared together |
//! | `shares.rs` | [`Shares`] | shares of vaults, collections and accounts with people and teams |
//! | `catalog.rs` | [`Catalog`] | the app catalog and the password generator |
//! | `activity.rs` | [`Activity`] | the activity log |
//! | `keys.rs` | [`Keys`] | master keys and vault data keys |
//! | `bot/` | (none: [`Bot`]) | the bot's job engine |

mod accounts;
mod activity;
mod authenticator;
mod bot;
mod catalog;
mod collections;
mod hubs;
mod inbox;
mod keys;
mod manual;
mod people;
mod shares;
mod teams;
mod vaults;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use castellan_crypto::{DataKey, Keyring};
use chrono::{DateTime, Utc};

use crate::activity::truncate_ms;
use crate::catalog::{parse_catalog, App, BUILTIN_CATALOG};
use crate::clock::{Clock, Jitter, SystemClock, ThreadJitter};
use crate::connector::ConnectorRegistry;
use crate::error::{CoreError, CoreResult};
use crate::ids::{DataKeyId, VaultId};

use crate::ports::Store;

pub use accounts::{AccountInput, AccountPatch, AccountSecrets, AccountView};
pub use authenticator::{
    ImportedAccount, MigrationImport, TotpCode, TotpExport, TotpInput, TotpVerification, TotpView,
    TOTP_READ_LOG_WINDOW_SECS,
};
pub use bot::{backoff, Bot, BotConfig, RESUME_WITHIN, SESSION_REUSE};
pub use catalog::{GenerateRequest, GenerateResult};
pub use collections::{CollectionInput, CollectionView};
pub use hubs::{
    unfinished, ConnectHub, HubDetail, HubPatch, MemberAction, NewPlaceholder, OAuth2Refusal,
    RevokeHub, SessionUpload, ShareHub, DEFAULT_SAFEGUARD, OAUTH2_FLOW_TTL, UPLOADED_SESSION_REUSE,
};
pub use inbox::{
    normalize_e164, normalize_mail_domain, InboxQuery, ReceivedMessage,
    DEFAULT_INBOX_RETENTION_DAYS, DEFAULT_MAIL_DOMAIN, MAX_CODE_WAIT,
};
pub use keys::RotationReport;
pub use manual::{AssignedTask, ManualConnector, RosterUploaded, TaskView};
pub use people::{
    retry_stale, ChangePassword, Claim, ClaimResult, DisableTwoStep, EnableTwoStep, IdpPerson,
    InvitePerson, Invited, IssuedApiToken, NewToken, PasswordChanged, PasswordResetLink,
    PersonPatch, SetupStatus, SignIn, TokenUse, TwoStepEnrollment, TwoStepStatus, UseResetLink,
    INVITATION_DAYS, RESET_LINK_MINUTES, RESET_PATH, RESET_PREFIX, SCIM_PREFIX, SESSION_PREFIX,
    STALE_RETRIES, TWO_STEP_ISSUER, TWO_STEP_SECRET_BYTES,
};
pub use teams::{TeamInput, TeamView};
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

/// Declares the capability handles: each is a small borrowed view of the service whose
/// methods are the use cases of one capability, reached through the accessor on [`Castellan`].
macro_rules! handles {
    ($($(#[$doc:meta])* $name:ident => $accessor:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy)]
            pub struct $name<'a>(&'a Castellan);

            impl std::ops::Deref for $name<'_> {
                type Target = Castellan;
                fn deref(&self) -> &Castellan {
                    self.0
                }
            }

            impl std::fmt::Debug for $name<'_> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.debug_tuple(stringify!($name)).finish()
                }
            }
        )*

        impl Castellan {
            $(
                #[doc = concat!("The [`", stringify!($name), "`] capability.")]
                pub fn $accessor(&self) -> $name<'_> {
                    $name(self)
                }
            )*
        }
    };
}

handles! {
    /// People of the workspace: invitations, roles, ownership, recovery by an admin.
    People => people;
    /// Signing in and one's own credentials: claim, sign-in, invitations accepted, API
    /// tokens, two-step sign-in, password changes and reset links.
    Sessions => sessions;
    /// Accounts in vaults: their fields, secrets and sharing.
    Accounts => accounts;
    /// The authenticator: each account's TOTP/HOTP secret, codes and migration imports.
    Authenticator => authenticator;
    /// Business hubs: connecting apps, sharing and revoking them, members, syncs and the
    /// automation log (the bot's jobs).
    Hubs => hubs;
    /// The shared inbox as people use it: managed addresses and numbers, messages and codes.
    Inbox => inbox;
    /// The shared inbox's receiving side (the SMTP receiver, the SMS webhook, retention):
    /// no actor, the host delivers.
    InboxDelivery => inbox_delivery;
    /// Teams: self-managed and kept by the identity provider, their members and their hubs.
    Teams => teams;
    /// Vaults and who can reach them.
    Vaults => vaults;
    /// Collections: named sets of accounts shared together.
    Collections => collections;
    /// Shares: a person's collections; a team's vaults, collections and accounts.
    Shares => shares;
    /// The activity log: listing, export and verification of its hash chain.
    Activity => activity;
    /// The app catalog and the password generator.
    Catalog => catalog;
    /// Workspace master keys and vault data keys (host-local commands).
    Keys => keys;
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
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Jitter>,
    /// Signed-in app sessions kept for the bot's workers in this process.
    app_sessions: Arc<bot::AppSessions>,
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
            clock: Arc::new(SystemClock),
            jitter: Arc::new(ThreadJitter),
            app_sessions: Arc::default(),
        })
    }

    /// Replaces the clock (tests run core's rules under a fake clock; shipping builds keep
    /// [`SystemClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the source of retry jitter (tests pin it; shipping builds keep
    /// [`ThreadJitter`]).
    pub fn with_jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// The current time in whole seconds since the Unix epoch (the `T` input of RFC 6238 §4.2),
    /// from the service's clock; 0 before 1970.
    pub(crate) fn now_secs(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp()).unwrap_or_default()
    }

    /// The current instant from the service's clock, truncated to milliseconds (the stores'
    /// precision).
    pub fn now(&self) -> DateTime<Utc> {
        truncate_ms(self.clock.now())
    }

    /// Adds the connector registry (connecting a hub checks that its connector exists).
    pub fn with_connectors(mut self, registry: Arc<dyn ConnectorRegistry>) -> Self {
        self.connectors = Some(registry);
        self
    }

    /// The store's backend name (`sqlite` or `postgres`), for the operator's notices.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Readiness: the store commits a small write now (see
    /// [`crate::ports::WorkspaceStore::probe_write`]). No permission check: it reveals nothing.
    pub async fn probe_store(&self) -> CoreResult<()> {
        self.store.probe_write(self.now()).await
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
