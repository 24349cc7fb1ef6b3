//! The [`Accounts`] capability: accounts (items) in vaults.
//!
//! - here: the form's types, listing and search, one account, and the item-role checks every
//!   capability that touches an account goes through ([`Castellan::account_for`]);
//! - [`write`](mod@write): the "Add account" form, changes and deletion;
//! - [`sealing`]: sealing and opening an account's secret fields, and revealing them;
//! - [`sharing`]: who has access, sharing, and the account's managed email and number.

mod sealing;
mod sharing;
mod write;

use std::collections::BTreeMap;

use chrono::Utc;
use secrecy::SecretString;

use crate::activity::Actor;
use crate::catalog::App;
use crate::collection::ItemGrants;
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, AppId, VaultId};
use crate::model::{AccountRecord, AccountSetup, CustomField, ItemRole, WorkspaceRole};
use crate::permissions::{can, effective_item_role, item_allows, ItemAction, Permit};
use crate::ports::AccountFilter;
use crate::service::{Accounts, Castellan};
use crate::validate;

/// Secret field names.
pub const PASSWORD: &str = "password";
/// Notes (sealed).
pub const NOTES: &str = "notes";
/// Backup codes (sealed, JSON array).
pub const BACKUP_CODES: &str = "backup_codes";
/// TOTP secret (sealed).
pub const TOTP_SECRET: &str = "totp_secret";
const CUSTOM_PREFIX: &str = "custom:";

/// The sealed field name of a secret custom field called `name` (`custom:<name>`).
pub(crate) fn custom_field_key(name: &str) -> String {
    format!("{CUSTOM_PREFIX}{name}")
}

/// The "Add account" form.
#[derive(Debug, Clone)]
pub struct AccountInput {
    /// Account label, unique in its vault (case-insensitive), 1..=200 characters.
    pub label: String,
    /// App: a catalog app id or name (`slack`, `Slack`), or a login URL (`https://…`).
    pub app: Option<String>,
    /// Explicit login URL (overrides the app's first login URL).
    pub login_url: Option<String>,
    /// Username or email used to sign in (at most 320 characters).
    pub username: Option<String>,
    /// Current password (at most 4096 bytes).
    pub password: Option<SecretString>,
    /// Generate a password that fits the app's password rules instead of giving one.
    pub generate_password: bool,
    /// Vault (default: the default vault).
    pub vault_id: Option<VaultId>,
    /// Account setup kind (default `shared`).
    pub setup: Option<AccountSetup>,
    /// Notes (sealed; at most 64 KiB).
    pub notes: Option<SecretString>,
    /// Custom fields (at most 50).
    pub custom_fields: Vec<CustomField>,
    /// Backup codes (sealed; at most 64 of at most 100 characters).
    pub backup_codes: Vec<SecretString>,
}

/// Changes to an account. Absent fields stay; `""` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    /// The version the change is based on (from `GET`); a stale one is refused with 409.
    pub version: Option<i64>,
    /// New label.
    pub label: Option<String>,
    /// New app (id, name or URL); `""` clears.
    pub app: Option<String>,
    /// New login URL; `""` clears.
    pub login_url: Option<String>,
    /// New username; `""` clears.
    pub username: Option<String>,
    /// New password; `""` clears.
    pub password: Option<SecretString>,
    /// Generate a new password under the app's rules.
    pub generate_password: bool,
    /// Move to another vault (secrets are re-sealed under its key).
    pub vault_id: Option<VaultId>,
    /// New setup kind.
    pub setup: Option<AccountSetup>,
    /// New notes; `""` clears.
    pub notes: Option<SecretString>,
    /// Replaces all custom fields; a secret field given with no value keeps its stored value.
    pub custom_fields: Option<Vec<CustomField>>,
    /// Replaces the backup codes; `[]` clears.
    pub backup_codes: Option<Vec<SecretString>>,
}

/// An account as listed and shown (no secret values).
#[derive(Debug, Clone)]
pub struct AccountView {
    /// Id.
    pub id: AccountId,
    /// Vault.
    pub vault_id: VaultId,
    /// Label.
    pub label: String,
    /// Catalog app id, if matched.
    pub app_id: Option<AppId>,
    /// Catalog app name, if matched.
    pub app_name: Option<String>,
    /// Login URL.
    pub login_url: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Setup kind.
    pub setup: AccountSetup,
    /// Custom fields; secret values are `null` until revealed.
    pub custom_fields: Vec<CustomField>,
    /// Whether a password is stored.
    pub has_password: bool,
    /// Whether a TOTP secret is stored (2FA managed by Castellan).
    pub has_totp: bool,
    /// Whether notes are stored.
    pub has_notes: bool,
    /// Whether backup codes are stored.
    pub has_backup_codes: bool,
    /// The caller's item role.
    pub my_role: ItemRole,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Creation time.
    pub created_at: chrono::DateTime<Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<Utc>,
}

/// Revealed secret fields (only those that are set and were asked for).
#[derive(Debug, Clone, Default)]
pub struct AccountSecrets {
    /// Password.
    pub password: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Backup codes.
    pub backup_codes: Option<Vec<String>>,
    /// Secret custom fields by name.
    pub custom_fields: BTreeMap<String, String>,
}

/// The most accounts one listing returns.
pub const MAX_LISTED_ACCOUNTS: u32 = 100_000;

impl Castellan {
    /// The actor's item role on an account, or `None` if they cannot reach it.
    async fn item_role(&self, actor: &Actor, a: &AccountRecord) -> CoreResult<Option<ItemRole>> {
        if matches!(actor.role, WorkspaceRole::Owner | WorkspaceRole::SuperAdmin) {
            return Ok(effective_item_role(actor.role, None, None));
        }
        let grants = self.actor_item_grants(actor).await?;
        let vault = grants.vault(a.vault_id);
        let direct = grants.account(a.id);
        Ok(effective_item_role(actor.role, vault, direct))
    }

    /// Loads an account and checks the actor may take `what` on it. `NotFound` when they cannot
    /// even view it (no existence leak); `Forbidden` when they can view but not do `what`.
    pub(crate) async fn account_for(
        &self,
        actor: &Actor,
        id: AccountId,
        what: ItemAction,
    ) -> CoreResult<(AccountRecord, ItemRole)> {
        let a = self
            .store
            .account(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "account" })?;
        let role = self
            .item_role(actor, &a)
            .await?
            .ok_or(CoreError::NotFound { kind: "account" })?;
        if !item_allows(role, what) {
            return Err(CoreError::Forbidden(format!(
                "your item role `{role}` on this account does not allow this"
            )));
        }
        Ok((a, role))
    }

    fn view(&self, a: &AccountRecord, role: ItemRole, apps: &[App]) -> AccountView {
        let app = a
            .app_id
            .as_ref()
            .and_then(|id| apps.iter().find(|x| &x.id == id));
        AccountView {
            id: a.id,
            vault_id: a.vault_id,
            label: a.label.clone(),
            app_id: a.app_id.clone(),
            app_name: app.map(|x| x.name.clone()),
            login_url: a.login_url.clone(),
            username: a.username.clone(),
            setup: a.setup,
            custom_fields: a.custom_fields.clone(),
            has_password: a.secret_fields.iter().any(|f| f == PASSWORD),
            has_totp: a.secret_fields.iter().any(|f| f == TOTP_SECRET),
            has_notes: a.secret_fields.iter().any(|f| f == NOTES),
            has_backup_codes: a.secret_fields.iter().any(|f| f == BACKUP_CODES),
            my_role: role,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

impl Accounts<'_> {
    /// Accounts the actor can reach (at most [`MAX_LISTED_ACCOUNTS`]), ordered by label,
    /// optionally searched (label, username, app, URL) and filtered by vault or app.
    pub async fn list(
        &self,
        permit: &Permit<can::AccountRead>,
        query: Option<String>,
        vault: Option<VaultId>,
        app: Option<String>,
    ) -> CoreResult<Vec<AccountView>> {
        let actor = permit.actor();
        let query = validate::opt_text("q", query.as_deref(), validate::MAX_LABEL)?;
        let all_access = matches!(actor.role, WorkspaceRole::Owner | WorkspaceRole::SuperAdmin);
        let grants = if all_access {
            ItemGrants::default()
        } else {
            self.actor_item_grants(actor).await?
        };
        let mut filter = AccountFilter {
            query,
            app_id: app,
            // Every reachable account: the store's default page (500) would hide the rest.
            limit: Some(MAX_LISTED_ACCOUNTS),
            ..Default::default()
        };
        if !all_access {
            filter.vaults = Some(grants.vaults.iter().map(|g| g.vault_id).collect());
            filter.also_accounts = grants.accounts.iter().map(|(a, _)| *a).collect();
        }
        let apps = self.all_apps().await?;
        let mut out = vec![];
        for a in self.store.accounts(&filter).await? {
            if vault.is_some_and(|v| v != a.vault_id) {
                continue;
            }
            let (vg, dg) = (grants.vault(a.vault_id), grants.account(a.id));
            if let Some(role) = effective_item_role(actor.role, vg, dg) {
                out.push(self.view(&a, role, &apps));
            }
        }
        Ok(out)
    }

    /// One account (no secrets). Errors: `NotFound`.
    pub async fn get(
        &self,
        permit: &Permit<can::AccountRead>,
        id: AccountId,
    ) -> CoreResult<AccountView> {
        let actor = permit.actor();
        let (a, role) = self.account_for(actor, id, ItemAction::View).await?;
        Ok(self.view(&a, role, &self.all_apps().await?))
    }
}
