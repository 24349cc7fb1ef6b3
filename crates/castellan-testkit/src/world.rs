//! [`World`]: a claimed workspace over the fakes, for tests of core's services and bot.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use castellan_core::activity::{truncate_ms, ActivityAction, Actor, ActorKind, NewEvent};
use castellan_core::connector::ConnectorRegistry;
use castellan_core::hub::{Hub, HubId, Job};
use castellan_core::ids::{AccountId, PersonId};
use castellan_core::model::{AccountSetup, PersonRecord, PersonStatus, WorkspaceRole};
use castellan_core::ports::{JobFilter, JobStore, PeopleStore, Store};
use castellan_core::service::{
    unfinished, AccountInput, Bot, BotConfig, Claim, ConnectHub, TokenUse,
};
use castellan_core::{Castellan, CoreResult, StaticKeys};
use castellan_crypto::Keyring;
use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};

use crate::{FakeClock, FakeConnector, FakeRegistry, FixedJitter, MemoryStore};

/// The catalog app the world's hubs use: the built-in `matrix-synapse`, whose connector name
/// (`synapse`) the world's registry gives to [`World::app`].
pub const APP: &str = "matrix-synapse";

/// The connector name [`World::app`] is registered under.
pub const CONNECTOR: &str = "synapse";

/// The automation account's password in the world's vault (the fake app accepts it).
pub const BOT_PASSWORD: &str = "automation-password-1";

/// A claimed workspace on a [`MemoryStore`], with a fake app and a bot.
///
/// The bot's backoff base is 1 ms (retries come due at once) and its lease 60 s.
#[derive(Debug, Clone)]
pub struct World {
    /// The service, over [`World::store`] and [`World::registry`].
    pub svc: Castellan,
    /// The store (shared with the service).
    pub store: Arc<MemoryStore>,
    /// The app every hub of this world drives.
    pub app: FakeConnector,
    /// The registry the service and the bot look connectors up in.
    pub registry: FakeRegistry,
    /// The workspace owner (`owner@example.com`), signed in with an API token.
    pub owner: Actor,
    /// A worker (`test-worker`).
    pub bot: Bot,
    /// The service's clock: it moves only when the test (or [`World::drain`]) moves it.
    pub clock: FakeClock,
    /// The master keys the service seals with.
    pub keys: Arc<Keyring>,
}

impl World {
    /// A fresh workspace, initialized and claimed by its owner. Panics if that fails (a bug
    /// in core or in the fakes).
    pub async fn new() -> World {
        Self::with_app(FakeConnector::new(CONNECTOR)).await
    }

    /// A fresh workspace like [`World::new`] whose hubs drive `app` (made with
    /// `FakeConnector::new(CONNECTOR)`, e.g. with another settings schema); its credentials are
    /// set to the automation account's.
    pub async fn with_app(app: FakeConnector) -> World {
        let store = Arc::new(MemoryStore::new());
        app.set_credentials("castellan-bot", BOT_PASSWORD);
        let registry = FakeRegistry::with(&app);
        let clock = FakeClock::default();
        let keys = Arc::new(Keyring::generate());
        let svc = service(&store, &keys, &registry, &clock);
        let setup = svc
            .sessions()
            .init("Test workspace")
            .await
            .expect("init")
            .expect("a fresh store gives a setup token");
        let claimed = svc
            .sessions()
            .claim(
                &Actor::anonymous(None, None),
                Claim {
                    setup_token: SecretString::from(setup.expose_secret().to_owned()),
                    email: "owner@example.com".into(),
                    name: "Owner".into(),
                    password: SecretString::from("owner-password-1".to_owned()),
                },
            )
            .await
            .expect("claim");
        let owner = svc
            .sessions()
            .authenticate(&claimed.token, TokenUse::Api, None, None)
            .await
            .expect("the owner's token works");
        let bot = worker(&svc, &registry, "test-worker");
        World {
            svc,
            store,
            app,
            registry,
            owner,
            bot,
            clock,
            keys,
        }
    }

    /// Another instance on the same store, keys, registry and clock (a restarted process, or a
    /// second process on the same database): its own service, so nothing one process keeps in
    /// memory is shared, and a worker `id` on it.
    pub fn another_instance(&self, id: &str) -> (Castellan, Bot) {
        let svc = service(&self.store, &self.keys, &self.registry, &self.clock);
        let bot = worker(&svc, &self.registry, id);
        (svc, bot)
    }

    /// Another worker on the same service and registry (the world's own is `test-worker`),
    /// with the same settings.
    pub fn worker(&self, id: &str) -> Bot {
        worker(&self.svc, &self.registry, id)
    }

    /// Adds an active person with the `user` role straight to the store; returns their id.
    pub async fn person(&self, email: &str) -> PersonId {
        self.person_with_role(email, WorkspaceRole::User).await
    }

    /// Adds an active person with `role` straight to the store; returns their id.
    pub async fn person_with_role(&self, email: &str, role: WorkspaceRole) -> PersonId {
        let now = truncate_ms(self.clock.now());
        let p = PersonRecord {
            id: PersonId::new(),
            email: email.to_lowercase(),
            name: format!("Name of {email}"),
            role,
            status: PersonStatus::Active,
            password_hash: None,
            invitation_hash: None,
            invitation_expires_at: None,
            external_id: None,
            user_name: None,
            given_name: None,
            family_name: None,
            idp_emails: Vec::new(),
            idp_deleted_at: None,
            two_step: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let ev = NewEvent::new(
            &Actor::system("testkit"),
            ActivityAction::PersonInvite,
            self.clock.now(),
        )
        .target("person", p.id, &p.email);
        self.store
            .insert_person(&p, &ev)
            .await
            .expect("insert a person");
        p.id
    }

    /// A new active person with `role`, as the actor of their requests (as if signed in
    /// through the API, without a token).
    pub async fn signed_in(&self, email: &str, role: WorkspaceRole) -> Actor {
        let id = self.person_with_role(email, role).await;
        Actor {
            kind: ActorKind::Person,
            person_id: Some(id),
            role,
            name: email.to_lowercase(),
            token_id: None,
            source_ip: None,
            user_agent: None,
            scim_request: None,
        }
    }

    /// Stores an automation account (username `castellan-bot`, password [`BOT_PASSWORD`]) for
    /// [`APP`] in the default vault.
    pub async fn automation_account(&self, label: &str) -> AccountId {
        self.automation_account_for(APP, label).await
    }

    /// [`World::automation_account`] for the catalog app `app`.
    pub async fn automation_account_for(&self, app: &str, label: &str) -> AccountId {
        self.svc
            .accounts()
            .create(
                &self.owner.permit().unwrap(),
                AccountInput {
                    label: label.into(),
                    app: Some(app.into()),
                    login_url: Some("https://app.example/login".into()),
                    username: Some("castellan-bot".into()),
                    password: Some(SecretString::from(BOT_PASSWORD.to_owned())),
                    generate_password: false,
                    vault_id: None,
                    setup: Some(AccountSetup::Placeholder),
                    notes: None,
                    custom_fields: vec![],
                    backup_codes: vec![],
                },
            )
            .await
            .expect("create the automation account")
            .id
    }

    /// Connects a hub labelled `label` with a new automation account (its first
    /// `check_for_updates` is queued, not run).
    pub async fn connect(&self, label: &str) -> CoreResult<Hub> {
        let account = self
            .automation_account(&format!("{label} automation"))
            .await;
        self.connect_with(label, account).await
    }

    /// Connects a hub labelled `label` to `https://app.example` with the given automation
    /// account and the default settings. Errors as `Castellan::connect_hub`.
    pub async fn connect_with(&self, label: &str, account: AccountId) -> CoreResult<Hub> {
        let input = connect_input(APP, label, account);
        self.svc
            .hubs()
            .connect(&self.owner.permit().unwrap(), input)
            .await
    }

    /// The hub as stored now.
    pub async fn hub(&self, id: HubId) -> Hub {
        self.svc
            .hubs()
            .get(&self.owner.permit().unwrap(), id)
            .await
            .expect("read the hub")
            .hub
    }

    /// The hub's jobs, newest first.
    pub async fn jobs(&self, id: HubId) -> Vec<Job> {
        self.svc
            .hubs()
            .jobs(
                &self.owner.permit().unwrap(),
                JobFilter {
                    hub_id: Some(id),
                    states: None,
                    limit: Some(1000),
                },
            )
            .await
            .expect("list jobs")
    }

    /// Runs the bot until no job is unfinished; returns how many job runs it made. When no job
    /// is due, the fake clock jumps to the next job's `run_at` (retries and backoff take no
    /// real time), or by a lease when every unfinished job is leased. Panics after 10 s of
    /// work or 10,000 jumps (a job that never settles).
    pub async fn drain(&self) -> usize {
        let started = Instant::now();
        let mut runs = 0;
        let mut jumps = 0;
        loop {
            if self.bot.run_one().await.expect("run a job") {
                runs += 1;
                continue;
            }
            let pending = self
                .store
                .jobs(&JobFilter {
                    hub_id: None,
                    states: Some(unfinished()),
                    limit: Some(1000),
                })
                .await
                .expect("list unfinished jobs");
            if pending.is_empty() {
                return runs;
            }
            jumps += 1;
            assert!(
                started.elapsed() < StdDuration::from_secs(10) && jumps < 10_000,
                "the bot did not settle: {pending:#?}"
            );
            let now = self.clock.now();
            let next = pending
                .iter()
                .map(|j| j.run_at)
                .filter(|t| *t > now)
                .min()
                .unwrap_or(now + Duration::seconds(61));
            self.clock.set(next);
            tokio::task::yield_now().await;
        }
    }
}

/// A worker with the world's settings: lease 60 s, poll 5 ms, backoff base 1 ms.
fn service(
    store: &Arc<MemoryStore>,
    keys: &Arc<Keyring>,
    registry: &FakeRegistry,
    clock: &FakeClock,
) -> Castellan {
    let dyn_store: Arc<dyn Store> = store.clone();
    Castellan::new(dyn_store, Arc::new(StaticKeys(keys.clone())))
        .expect("the service starts")
        .with_connectors(Arc::new(registry.clone()))
        .with_clock(Arc::new(clock.clone()))
        .with_jitter(Arc::new(FixedJitter::default()))
}

fn worker(svc: &Castellan, registry: &FakeRegistry, id: &str) -> Bot {
    let registry: Arc<dyn ConnectorRegistry> = Arc::new(registry.clone());
    Bot::new(
        svc.clone(),
        registry,
        BotConfig {
            worker_id: id.into(),
            lease: Duration::seconds(60),
            poll: StdDuration::from_millis(5),
            backoff_base: Duration::milliseconds(1),
        },
    )
}

/// What connecting a hub labelled `label` on the catalog app `app` at `https://app.example` with
/// the automation account `account` takes, with every other field at its default (the app's own
/// connector, no settings).
pub fn connect_input(app: &str, label: &str, account: AccountId) -> ConnectHub {
    ConnectHub {
        connector: None,
        settings: Default::default(),
        app: app.into(),
        label: label.into(),
        organization_id: None,
        base_url: Some("https://app.example".into()),
        user_management: None,
        login_method: None,
        automation_account_id: Some(account),
        placeholder: None,
        safeguard_threshold: None,
        sync_interval_secs: None,
    }
}
