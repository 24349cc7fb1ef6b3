//! The [`Hubs`] capability: business hubs.
//!
//! - here: connecting a hub, listing, showing and changing hubs;
//! - [`grants`]: who the hub is shared with (share, change role, revoke; revocation when a
//!   person is deactivated) and the write jobs a grant change supersedes;
//! - [`members`]: the app's members, matching, exemptions and removals;
//! - [`jobs`]: syncs on demand, the automation log (the bot's jobs: retry, cancel), and the
//!   jobs and connector context the service makes for the bot.
//! - [`steps`]: jobs' step records (sealed URLs and screenshots) and session uploads.

mod attention;
mod grants;
mod jobs;
mod members;
mod oauth2;
mod settings;
mod steps;

use chrono::{Duration, Utc};

use crate::activity::{ActivityAction, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::hub::{Hub, HubId, HubStatus, LoginMethod, SyncReport, Trigger, UserManagement};
use crate::ids::{AccountId, VaultId};
use crate::manual::MANUAL;
use crate::model::AccountSetup;
use crate::permissions::{can, Permit};
use crate::ports::JobFilter;
use crate::service::accounts::{AccountInput, AccountView};
use crate::service::{Castellan, Hubs};
use crate::validate;

pub use attention::{SessionUpload, UPLOADED_SESSION_REUSE};
pub use grants::{RevokeHub, ShareHub};
pub use jobs::{unfinished, CONNECTOR_CALL_TIMEOUT};
pub use members::MemberAction;
pub(crate) use oauth2::{expiry, grant_scope, SealedTokens};
pub use oauth2::{OAuth2Refusal, FLOW_TTL as OAUTH2_FLOW_TTL};

/// Default safeguard threshold: a sync or plan that would remove more than 20% halts.
pub const DEFAULT_SAFEGUARD: f64 = 0.2;
/// Default schedule: daily.
pub const DEFAULT_SYNC_INTERVAL_SECS: i64 = 86_400;

/// A new placeholder ("ghost") automation account made while connecting.
#[derive(Debug, Clone)]
pub struct NewPlaceholder {
    /// The account's username in the app.
    pub username: String,
    /// Vault for the new account (default vault when absent).
    pub vault_id: Option<VaultId>,
}

/// Connecting a hub.
#[derive(Debug, Clone)]
pub struct ConnectHub {
    /// Catalog app id or name.
    pub app: String,
    /// Hub label (unique).
    pub label: String,
    /// The app's organization or business id.
    pub organization_id: Option<String>,
    /// The app instance's base URL (default: the account's or the app's login URL origin).
    pub base_url: Option<String>,
    /// `api` (default) or `browser`.
    pub user_management: Option<String>,
    /// `password` (default), `password_totp` or `password_email_code`.
    pub login_method: Option<String>,
    /// An existing account item to use as the automation account.
    pub automation_account_id: Option<AccountId>,
    /// Or a new placeholder account with a generated password.
    pub placeholder: Option<NewPlaceholder>,
    /// Safeguard threshold, 0.0..=1.0 (default 0.2).
    pub safeguard_threshold: Option<f64>,
    /// Seconds between scheduled syncs, 300..=2592000 (default 86400).
    pub sync_interval_secs: Option<i64>,
    /// The connector's other plain settings by key, as its settings schema declares them
    /// (`connector::settings`); secrets are secret custom fields of the automation account.
    pub settings: std::collections::BTreeMap<String, String>,
    /// The connector to drive the hub with: `manual` (tasks for an app admin, any app), the
    /// app's browser connector (its catalog `browser_connector`: its pages in the browser bot)
    /// or the app's own (the default).
    pub connector: Option<String>,
}

/// Changing a hub's settings.
#[derive(Debug, Clone, Default)]
pub struct HubPatch {
    /// New label.
    pub label: Option<String>,
    /// New base URL.
    pub base_url: Option<String>,
    /// New safeguard threshold.
    pub safeguard_threshold: Option<f64>,
    /// New schedule.
    pub sync_interval_secs: Option<i64>,
    /// Another automation account.
    pub automation_account_id: Option<AccountId>,
    /// The connector's plain settings, replacing the hub's (checked against its schema).
    pub settings: Option<std::collections::BTreeMap<String, String>>,
}

/// A hub with its latest report.
#[derive(Debug, Clone)]
pub struct HubDetail {
    /// The hub.
    pub hub: Hub,
    /// App name.
    pub app_name: String,
    /// When the last report was made.
    pub last_report_at: Option<chrono::DateTime<Utc>>,
    /// The last report.
    pub last_report: Option<SyncReport>,
    /// Unfinished jobs.
    pub pending_jobs: usize,
}

fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}

impl Castellan {
    /// The hub. `NotFound { kind: "hub" }` when missing.
    pub(crate) async fn hub_record(&self, id: HubId) -> CoreResult<Hub> {
        self.store
            .hub(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "hub" })
    }
}

impl Hubs<'_> {
    /// Connects a hub. Checks the app has a connector (or the hub asks for the manual one, which
    /// any app may have, with an app admin who is an active person), the account-setup rules (an
    /// `idp_provisioned` account needs an app with SAML SSO), makes a placeholder account when
    /// asked, records warnings (individual account, no 2FA managed by Castellan), sets the status
    /// `under_validation` and queues `check_for_updates`. Needs `HubManage`.
    pub async fn connect(
        &self,
        permit: &Permit<can::HubManage>,
        input: ConnectHub,
    ) -> CoreResult<Hub> {
        let actor = permit.actor();
        let label = validate::text("label", &input.label, validate::MAX_LABEL)?;
        let app = self
            .catalog()
            .get(&actor.permit()?, input.app.trim())
            .await
            .map_err(|_| {
                CoreError::invalid(
                    "app",
                    format!("`{}` is not a catalog app", validate::clip(&input.app)),
                )
            })?;
        let over = input
            .connector
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let asked: Option<UserManagement> = input
            .user_management
            .as_deref()
            .map(str::parse)
            .transpose()?;
        let (connector, user_management) = choose_connector(&app, over, asked)?;
        if connector != MANUAL {
            if let Some(reg) = &self.connectors {
                if reg.connector(&connector).is_none() {
                    return Err(CoreError::invalid(
                        "app",
                        format!("the `{connector}` connector is not available in this build"),
                    ));
                }
            }
        }
        let mut input = input;
        let threshold = input.safeguard_threshold.unwrap_or(DEFAULT_SAFEGUARD);
        if !(0.0..=1.0).contains(&threshold) || threshold.is_nan() {
            return Err(CoreError::invalid(
                "safeguard_threshold",
                "must be between 0 and 1",
            ));
        }
        let interval = input
            .sync_interval_secs
            .unwrap_or(DEFAULT_SYNC_INTERVAL_SECS);
        if !(300..=2_592_000).contains(&interval) {
            return Err(CoreError::invalid(
                "sync_interval_secs",
                "must be between 300 (5 minutes) and 2592000 (30 days)",
            ));
        }
        let login_method: LoginMethod = input
            .login_method
            .as_deref()
            .map(str::parse)
            .transpose()?
            .unwrap_or_default();
        let organization_id = validate::opt_text(
            "organization_id",
            input.organization_id.as_deref(),
            validate::MAX_LABEL,
        )?;
        let key = validate::label_key(&label);
        if self
            .store
            .hubs()
            .await?
            .iter()
            .any(|h| validate::label_key(&h.label) == key)
        {
            return Err(CoreError::Conflict(format!(
                "a hub labelled `{label}` already exists"
            )));
        }
        let account: AccountView = match (input.automation_account_id, &input.placeholder) {
            (Some(_), Some(_)) => {
                return Err(CoreError::invalid(
                    "automation_account_id",
                    "choose an existing account or a placeholder, not both",
                ))
            }
            (None, None) => {
                return Err(CoreError::invalid(
                    "automation_account_id",
                    "choose the automation account, or ask for a placeholder",
                ))
            }
            (Some(id), None) => {
                self.accounts()
                    .get(&actor.permit()?, id)
                    .await
                    .map_err(|e| match e {
                        CoreError::NotFound { .. } => CoreError::invalid(
                            "automation_account_id",
                            "no such account that you can reach",
                        ),
                        other => other,
                    })?
            }
            (None, Some(p)) => {
                let input = AccountInput {
                    label: format!("{} automation ({label})", app.name),
                    app: Some(app.id.to_string()),
                    login_url: input.base_url.clone(),
                    username: Some(p.username.clone()),
                    password: None,
                    generate_password: true,
                    vault_id: p.vault_id,
                    setup: Some(AccountSetup::Placeholder),
                    notes: None,
                    custom_fields: vec![],
                    backup_codes: vec![],
                };
                self.accounts().create(&actor.permit()?, input).await?
            }
        };
        // Pointing the bot at a URL sends it the account's password: only someone who may reveal
        // the password may choose the account and the URL.
        self.account_for(actor, account.id, crate::permissions::ItemAction::Reveal)
            .await?;
        account_fits_app(&account, &app)?;
        if account.setup == AccountSetup::IdpProvisioned && !app.saml_sso {
            return Err(CoreError::invalid(
                "automation_account_id",
                format!("{} does not support SAML SSO, so an `idp_provisioned` automation account cannot work", app.name),
            ));
        }
        let mut warnings = vec![];
        if account.setup == AccountSetup::Individual {
            warnings.push("the automation account is a person's individual account: use a dedicated (placeholder or IdP-provisioned) account".to_owned());
        }
        if !account.has_totp {
            warnings.push("the automation account has no 2FA managed by Castellan: turn on 2FA with Castellan as the authenticator".to_owned());
        }
        let base_url = match input.base_url.as_deref() {
            Some(u) => validate::http_url("base_url", u)?
                .origin()
                .ascii_serialization(),
            None => account
                .login_url
                .as_deref()
                .and_then(origin_of)
                .or_else(|| app.login_urls.first().and_then(|u| origin_of(u)))
                .ok_or_else(|| CoreError::invalid("base_url", "give the app's base URL"))?,
        };
        let info = self.connector_info(&app, Some(&connector));
        if connector == MANUAL {
            self.check_manual_settings(&mut input.settings).await?;
        }
        match &info {
            Some(info) => settings::check_hub_settings(
                info,
                &base_url,
                organization_id.as_deref(),
                &input.settings,
                &account,
            )?,
            None if !account.has_password => {
                return Err(CoreError::invalid(
                    "automation_account_id",
                    "the automation account has no password stored",
                ))
            }
            None => {}
        }
        let now = self.now();
        // An OAuth hub has no grant yet: its first check waits for "Connect with <app>".
        let oauth2 = info
            .as_ref()
            .is_some_and(|i| i.sign_in == crate::connector::SignIn::OAuth2);
        let reason = match oauth2 {
            true => "waiting for an admin to connect with the app (OAuth) to authorize the automation account",
            false => "validating the automation account",
        };
        let hub = Hub {
            id: HubId::new(),
            app_id: app.id.clone(),
            label,
            organization_id,
            base_url,
            settings: input.settings,
            connector: (Some(connector.as_str()) != app.connector.as_deref())
                .then(|| connector.clone()),
            user_management,
            login_method,
            automation_account_id: account.id,
            status: HubStatus::UnderValidation,
            status_reason: Some(reason.into()),
            warnings,
            safeguard_threshold: threshold,
            sync_interval_secs: interval,
            next_sync_at: Some(now + Duration::seconds(interval)),
            last_sync_at: None,
            created_by: actor.person_id,
            created_at: now,
            updated_at: now,
        };
        let job = self.sync_job(hub.id, Trigger::Connect, actor, false);
        let ev = NewEvent::new(actor, ActivityAction::HubConnect, self.now())
            .target("hub", hub.id, &hub.label)
            .details(serde_json::json!({ "app_id": hub.app_id, "automation_account_id": hub.automation_account_id, "warnings": hub.warnings }));
        let jobs = if oauth2 { vec![] } else { vec![job] };
        self.store.insert_hub(&hub, &jobs, &ev).await?;
        Ok(hub)
    }

    /// Every hub. Needs `HubRead`.
    pub async fn list(&self, _: &Permit<can::HubRead>) -> CoreResult<Vec<Hub>> {
        self.store.hubs().await
    }

    /// One hub with its latest report. Needs `HubRead`.
    pub async fn get(&self, _: &Permit<can::HubRead>, id: HubId) -> CoreResult<HubDetail> {
        let hub = self.hub_record(id).await?;
        let report = self.store.last_report(id).await?;
        let pending = self
            .store
            .jobs(&JobFilter {
                hub_id: Some(id),
                states: Some(unfinished()),
                limit: Some(10_000),
            })
            .await?
            .len();
        let app_name = self
            .all_apps()
            .await?
            .into_iter()
            .find(|a| a.id == hub.app_id)
            .map(|a| a.name)
            .unwrap_or_default();
        Ok(HubDetail {
            app_name,
            last_report_at: report.as_ref().map(|r| r.0),
            last_report: report.map(|r| r.1),
            pending_jobs: pending,
            hub,
        })
    }

    /// Changes a hub's settings. Needs `HubManage`.
    pub async fn update(
        &self,
        permit: &Permit<can::HubManage>,
        id: HubId,
        p: HubPatch,
    ) -> CoreResult<Hub> {
        let actor = permit.actor();
        let mut hub = self.hub_record(id).await?;
        if let Some(l) = &p.label {
            hub.label = validate::text("label", l, validate::MAX_LABEL)?;
        }
        // Settings that say where the automation account's secrets are sent (the OAuth 2.0
        // endpoints and client, private addresses) change like the base URL: only by someone
        // who may reveal those secrets.
        let redirects_secrets = p.settings.as_ref().is_some_and(|new| {
            let keys = new.keys().chain(hub.settings.keys());
            keys.filter(|k| {
                k.starts_with("oauth2_") || k.as_str() == crate::connector::settings::ALLOW_PRIVATE
            })
            .any(|k| new.get(k) != hub.settings.get(k))
        });
        if p.base_url.is_some() || p.automation_account_id.is_some() || redirects_secrets {
            let acc = p.automation_account_id.unwrap_or(hub.automation_account_id);
            self.account_for(actor, acc, crate::permissions::ItemAction::Reveal)
                .await?;
        }
        if let Some(u) = &p.base_url {
            hub.base_url = validate::http_url("base_url", u)?
                .origin()
                .ascii_serialization();
        }
        if let Some(t) = p.safeguard_threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(CoreError::invalid(
                    "safeguard_threshold",
                    "must be between 0 and 1",
                ));
            }
            hub.safeguard_threshold = t;
        }
        if let Some(i) = p.sync_interval_secs {
            if !(300..=2_592_000).contains(&i) {
                return Err(CoreError::invalid(
                    "sync_interval_secs",
                    "must be between 300 and 2592000",
                ));
            }
            hub.sync_interval_secs = i;
            hub.next_sync_at = Some(self.now() + Duration::seconds(i));
        }
        if let Some(a) = p.automation_account_id {
            let account = self.accounts().get(&actor.permit()?, a).await?;
            let app = self
                .catalog()
                .get(&actor.permit()?, hub.app_id.as_str())
                .await?;
            account_fits_app(&account, &app)?;
            hub.automation_account_id = a;
        }
        if let Some(s) = p.settings {
            hub.settings = s;
            if hub.connector.as_deref() == Some(MANUAL) {
                self.check_manual_settings(&mut hub.settings).await?;
            }
        }
        let app = self
            .catalog()
            .get(&actor.permit()?, hub.app_id.as_str())
            .await?;
        if let Some(info) = self.connector_info(&app, hub.connector.as_deref()) {
            let account = self
                .accounts()
                .get(&actor.permit()?, hub.automation_account_id)
                .await?;
            settings::check_hub_settings(
                &info,
                &hub.base_url,
                hub.organization_id.as_deref(),
                &hub.settings,
                &account,
            )?;
        }
        hub.updated_at = self.now();
        let ev = NewEvent::new(actor, ActivityAction::HubUpdate, self.now())
            .target("hub", hub.id, &hub.label);
        self.store.update_hub(&hub, Some(&ev)).await?;
        Ok(hub)
    }
}

/// An automation account must be for the hub's app (an account with only a login URL and no
/// catalog app is accepted). Errors: `Validation` on `automation_account_id` naming both apps.
fn account_fits_app(account: &AccountView, app: &crate::catalog::App) -> CoreResult<()> {
    match &account.app_id {
        Some(other) if other.as_str() != app.id.as_str() => Err(CoreError::invalid(
            "automation_account_id",
            format!(
                "the account `{}` is for {}, not {}",
                account.label,
                account.app_name.as_deref().unwrap_or(other.as_str()),
                app.name
            ),
        )),
        _ => Ok(()),
    }
}

/// The connector a hub on `app` runs on and how the bot manages its users, from the hub's
/// `connector` override and its `user_management` (both optional): the app's own connector
/// (`api`), its browser connector (`browser`: named, or asked for with `user_management`), or
/// `manual` (tasks for an app admin; any `user_management`).
///
/// Errors: `Validation` on `connector` for one that does not drive the app, on `app` when it has
/// no connector and none was asked for, and on `user_management` when it contradicts the
/// connector or the app has no browser connector.
fn choose_connector(
    app: &crate::catalog::App,
    over: Option<&str>,
    asked: Option<UserManagement>,
) -> CoreResult<(String, UserManagement)> {
    let browser = app.browser_connector.as_deref();
    let connector = match over {
        Some(MANUAL) => return Ok((MANUAL.to_owned(), asked.unwrap_or_default())),
        Some(c) if app.drives(c) => c.to_owned(),
        Some(c) => {
            let pages = browser.map(|b| format!(", `{b}` (its pages in the browser bot)"));
            return Err(CoreError::invalid(
                "connector",
                format!(
                    "`{}` does not drive {}: leave the connector out, or give `manual` (tasks for an app admin){}",
                    validate::clip(c),
                    app.name,
                    pages.unwrap_or_default()
                ),
            ));
        }
        None if asked == Some(UserManagement::Browser) => browser.map(str::to_owned).ok_or_else(|| {
            CoreError::invalid(
                "user_management",
                format!("Castellan has no browser connector for {} yet: choose `api`, or connect it as a manual hub (connector `manual`)", app.name),
            )
        })?,
        None => app.connector.clone().ok_or_else(|| {
            CoreError::invalid(
                "app",
                format!(
                    "Castellan has no connector for {} yet: connect it as a manual hub (connector `manual`)",
                    app.name
                ),
            )
        })?,
    };
    let on_pages = Some(connector.as_str()) == browser;
    let chosen = if on_pages {
        UserManagement::Browser
    } else {
        UserManagement::Api
    };
    match asked {
        Some(um) if um != chosen => Err(CoreError::invalid(
            "user_management",
            format!(
                "the `{connector}` connector manages users {}: user_management is `{}`",
                if on_pages {
                    "on the app's web pages"
                } else {
                    "through the app's API"
                },
                chosen.as_str()
            ),
        )),
        _ => Ok((connector, chosen)),
    }
}
