//! Accounts (items): the "Add account" form, listing and search, reveal, update, delete, share.

use std::collections::{BTreeMap, HashSet};

use castellan_crypto::{field_aad, DataKey};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Accounts, Castellan};
use crate::activity::{Actor, NewEvent};
use crate::catalog::App;
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, AppId, PersonId, VaultId};
use crate::inbox::{ManagedAddress, ManagedNumber};
use crate::model::{
    AccountRecord, AccountSetup, CustomField, ItemRole, PersonStatus, SealedField, WorkspaceRole,
};
use crate::permissions::{can, effective_item_role, item_allows, ItemAction, Permit};
use crate::ports::AccountFilter;
use crate::validate::{self, LookAlike};

/// Secret field names.
pub const PASSWORD: &str = "password";
/// Notes (sealed).
pub const NOTES: &str = "notes";
/// Backup codes (sealed, JSON array).
pub const BACKUP_CODES: &str = "backup_codes";
/// TOTP secret (sealed).
pub const TOTP_SECRET: &str = "totp_secret";
const CUSTOM_PREFIX: &str = "custom:";

/// The "Add account" form.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// Account label, unique in its vault (case-insensitive), 1..=200 characters.
    pub label: String,
    /// App: a catalog app id or name (`slack`, `Slack`), or a login URL (`https://…`).
    #[serde(default)]
    pub app: Option<String>,
    /// Explicit login URL (overrides the app's first login URL).
    #[serde(default)]
    pub login_url: Option<String>,
    /// Username or email used to sign in (at most 320 characters).
    #[serde(default)]
    pub username: Option<String>,
    /// Current password (at most 4096 bytes).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub password: Option<SecretString>,
    /// Generate a password that fits the app's password rules instead of giving one.
    #[serde(default)]
    pub generate_password: bool,
    /// Vault (default: the default vault).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub vault_id: Option<VaultId>,
    /// Account setup kind (default `shared`).
    #[serde(default)]
    pub setup: Option<AccountSetup>,
    /// Notes (sealed; at most 64 KiB).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Option<SecretString>,
    /// Custom fields (at most 50).
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    /// Backup codes (sealed; at most 64 of at most 100 characters).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub backup_codes: Vec<SecretString>,
}

/// Changes to an account. Absent fields stay; `""` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// The version the change is based on (from `GET`); a stale one is refused with 409.
    #[serde(default)]
    pub version: Option<i64>,
    /// New label.
    #[serde(default)]
    pub label: Option<String>,
    /// New app (id, name or URL); `""` clears.
    #[serde(default)]
    pub app: Option<String>,
    /// New login URL; `""` clears.
    #[serde(default)]
    pub login_url: Option<String>,
    /// New username; `""` clears.
    #[serde(default)]
    pub username: Option<String>,
    /// New password; `""` clears.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub password: Option<SecretString>,
    /// Generate a new password under the app's rules.
    #[serde(default)]
    pub generate_password: bool,
    /// Move to another vault (secrets are re-sealed under its key).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub vault_id: Option<VaultId>,
    /// New setup kind.
    #[serde(default)]
    pub setup: Option<AccountSetup>,
    /// New notes; `""` clears.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Option<SecretString>,
    /// Replaces all custom fields; a secret field given with no value keeps its stored value.
    #[serde(default)]
    pub custom_fields: Option<Vec<CustomField>>,
    /// Replaces the backup codes; `[]` clears.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub backup_codes: Option<Vec<SecretString>>,
}

/// An account as listed and shown (no secret values).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: AccountId,
    /// Vault.
    #[schema(value_type = String, format = Uuid)]
    pub vault_id: VaultId,
    /// Label.
    pub label: String,
    /// Catalog app id, if matched.
    #[schema(value_type = Option<String>)]
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
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
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

struct Plain {
    field: String,
    value: String,
}

fn check_custom_fields(fields: &[CustomField]) -> CoreResult<Vec<CustomField>> {
    if fields.len() > validate::MAX_CUSTOM_FIELDS {
        return Err(CoreError::invalid(
            "custom_fields",
            format!("at most {} custom fields", validate::MAX_CUSTOM_FIELDS),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = vec![];
    for (i, f) in fields.iter().enumerate() {
        let name = validate::text(&format!("custom_fields[{i}].name"), &f.name, 100)?;
        if !seen.insert(name.to_lowercase()) {
            return Err(CoreError::invalid(
                format!("custom_fields[{i}].name"),
                format!("`{name}` appears twice"),
            ));
        }
        if let Some(v) = &f.value {
            let max = if f.secret { validate::MAX_SECRET } else { 4096 };
            validate::secret(&format!("custom_fields[{i}].value"), v, max)?;
        }
        out.push(CustomField {
            name,
            value: f.value.clone(),
            secret: f.secret,
        });
    }
    Ok(out)
}

fn check_backup_codes(codes: &[SecretString]) -> CoreResult<Option<String>> {
    if codes.len() > validate::MAX_BACKUP_CODES {
        return Err(CoreError::invalid(
            "backup_codes",
            format!("at most {} backup codes", validate::MAX_BACKUP_CODES),
        ));
    }
    let mut list = vec![];
    for (i, c) in codes.iter().enumerate() {
        let c = c.expose_secret().trim();
        if c.is_empty() || c.chars().count() > 100 || c.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                format!("backup_codes[{i}]"),
                "must be 1 to 100 printable characters",
            ));
        }
        list.push(c.to_owned());
    }
    Ok((!list.is_empty()).then(|| serde_json::Value::from(list).to_string()))
}

/// The most accounts one listing returns.
pub const MAX_LISTED_ACCOUNTS: u32 = 100_000;

impl Castellan {
    /// Every catalog app: built-in and custom.
    pub(crate) async fn all_apps(&self) -> CoreResult<Vec<App>> {
        let mut apps: Vec<App> = self.builtin_apps.as_ref().clone();
        apps.extend(self.store.custom_apps().await?);
        Ok(apps)
    }

    /// Resolves the form's "app name or URL": a URL gives the login URL and, when its host is a
    /// catalog domain, the app; otherwise the text must be a catalog id or name.
    async fn resolve_app(
        &self,
        app: Option<&str>,
        login_url: Option<&str>,
    ) -> CoreResult<(Option<App>, Option<String>)> {
        let apps = self.all_apps().await?;
        let explicit_url = match login_url.map(str::trim).filter(|s| !s.is_empty()) {
            Some(u) => Some(validate::http_url("login_url", u)?),
            None => None,
        };
        let Some(text) = app.map(str::trim).filter(|s| !s.is_empty()) else {
            let matched = explicit_url
                .as_ref()
                .and_then(|u| apps.iter().find(|a| a.matches_url(u)).cloned());
            return Ok((matched, explicit_url.map(|u| u.to_string())));
        };
        if text.contains(['/', ':']) || text.starts_with("www.") {
            let url = validate::http_url("app", text)?;
            let matched = apps.iter().find(|a| a.matches_url(&url)).cloned();
            let login = explicit_url.unwrap_or(url);
            return Ok((matched, Some(login.to_string())));
        }
        let found = apps
            .iter()
            .find(|a| a.id.as_str() == text || a.name.eq_ignore_ascii_case(text))
            .cloned()
            .ok_or_else(|| {
                CoreError::invalid(
                    "app",
                    format!(
                        "`{}` is not a catalog app; give a catalog app id or name, or a login URL",
                        validate::clip(text)
                    ),
                )
            })?;
        let login = explicit_url
            .map(|u| u.to_string())
            .or_else(|| found.login_urls.first().cloned());
        Ok((Some(found), login))
    }

    /// The actor's item role on an account, or `None` if they cannot reach it.
    async fn item_role(&self, actor: &Actor, a: &AccountRecord) -> CoreResult<Option<ItemRole>> {
        let Some(me) = actor.person_id else {
            return Ok(effective_item_role(actor.role, None, None));
        };
        let vault = self
            .store
            .vault_grants_of(me)
            .await?
            .into_iter()
            .find(|g| g.vault_id == a.vault_id)
            .map(|g| g.role);
        let direct = self
            .store
            .account_grants_of(me)
            .await?
            .into_iter()
            .find(|(id, _)| *id == a.id)
            .map(|(_, r)| r);
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

    /// The vault the actor may add to: they need `manager` or `owner` on it (owners and super
    /// admins always do). `Validation` naming `vault_id` when it is unknown or out of reach.
    async fn writable_vault(&self, actor: &Actor, id: Option<VaultId>) -> CoreResult<VaultId> {
        let vault = match id {
            Some(id) => self.store.vault(id).await?,
            None => Some(self.default_vault().await?),
        };
        let unknown = || {
            CoreError::invalid(
                "vault_id",
                format!(
                    "no vault {} that you can add accounts to",
                    id.map(|i| i.to_string()).unwrap_or_default()
                ),
            )
        };
        let vault = vault.ok_or_else(unknown)?;
        let grant = match actor.person_id {
            Some(me) => self
                .store
                .vault_grants_of(me)
                .await?
                .into_iter()
                .find(|g| g.vault_id == vault.id)
                .map(|g| g.role),
            None => None,
        };
        let role = effective_item_role(actor.role, grant, None);
        if role.is_some_and(|r| item_allows(r, ItemAction::Edit)) {
            Ok(vault.id)
        } else if id.is_none() {
            Err(CoreError::invalid(
                "vault_id",
                "choose a vault: you have no write access to the default vault",
            ))
        } else {
            Err(unknown())
        }
    }

    async fn seal_all(
        &self,
        vault: VaultId,
        account: AccountId,
        plain: &[Plain],
    ) -> CoreResult<Vec<SealedField>> {
        let (dek_id, dek) = self.data_key(vault).await?;
        Ok(plain
            .iter()
            .map(|p| SealedField {
                field: p.field.clone(),
                dek_id,
                ciphertext: dek.seal(
                    p.value.as_bytes(),
                    &field_aad("accounts", &account.to_string(), &p.field),
                ),
            })
            .collect())
    }

    async fn open_all(&self, a: &AccountRecord) -> CoreResult<Vec<Plain>> {
        let (dek_id, dek): (_, DataKey) = self.data_key(a.vault_id).await?;
        let mut out = vec![];
        for s in self.store.sealed_fields(a.id).await? {
            if s.dek_id != dek_id {
                return Err(CoreError::internal(format!(
                    "field sealed under unknown data key {}",
                    s.dek_id
                )));
            }
            let bytes = dek.open(
                &s.ciphertext,
                &field_aad("accounts", &a.id.to_string(), &s.field),
            )?;
            let value = String::from_utf8(bytes).map_err(CoreError::internal)?;
            out.push(Plain {
                field: s.field,
                value,
            });
        }
        Ok(out)
    }

    /// Seals `(field, value)` pairs for an account under its vault's data key.
    pub(crate) async fn seal_fields(
        &self,
        vault: VaultId,
        account: AccountId,
        fields: &[(String, String)],
    ) -> CoreResult<Vec<SealedField>> {
        let plain: Vec<Plain> = fields
            .iter()
            .map(|(f, v)| Plain {
                field: f.clone(),
                value: v.clone(),
            })
            .collect();
        self.seal_all(vault, account, &plain).await
    }

    /// Every secret field of an account, decrypted: `(field, value)` pairs. For the bot.
    pub(crate) async fn open_fields(&self, a: &AccountRecord) -> CoreResult<Vec<(String, String)>> {
        Ok(self
            .open_all(a)
            .await?
            .into_iter()
            .map(|p| (p.field, p.value))
            .collect())
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

    fn check_setup(setup: AccountSetup, app: Option<&App>) -> CoreResult<()> {
        if setup == AccountSetup::IdpProvisioned && !app.is_some_and(|a| a.saml_sso) {
            return Err(CoreError::invalid(
                "setup",
                "an `idp_provisioned` account needs a catalog app that supports SAML SSO",
            ));
        }
        Ok(())
    }

    /// Refuses a label another account of the vault has (`Conflict`) or, unless `look_alike`
    /// allows it, one that looks like another account's label (`Validation` on `label`).
    async fn ensure_label_free(
        &self,
        vault: VaultId,
        label: &str,
        except: Option<AccountId>,
        look_alike: LookAlike,
    ) -> CoreResult<()> {
        let key = validate::label_key(label);
        let others: Vec<String> = self
            .store
            .accounts(&AccountFilter {
                vaults: Some(vec![vault]),
                limit: Some(MAX_LISTED_ACCOUNTS),
                ..Default::default()
            })
            .await?
            .into_iter()
            .filter(|a| Some(a.id) != except)
            .map(|a| a.label)
            .collect();
        if others.iter().any(|l| validate::label_key(l) == key) {
            return Err(CoreError::Conflict(format!(
                "an account labelled `{label}` already exists in this vault"
            )));
        }
        validate::check_look_alike(
            "label",
            "label",
            label,
            others.iter().map(String::as_str),
            look_alike,
        )
    }
}

impl Accounts<'_> {
    /// Adds an account. Needs `AccountCreate` and write access to the vault. The creator gets
    /// the `owner` item role. Errors: `Validation` (unknown vault, bad URL, unknown app,
    /// over-long fields), `Conflict` (label taken in the vault).
    pub async fn create(
        &self,
        permit: &Permit<can::AccountCreate>,
        input: AccountInput,
    ) -> CoreResult<AccountView> {
        self.create_checked(permit, input, LookAlike::Refuse).await
    }

    /// [`Accounts::create`], where `look_alike` says whether a label that looks like
    /// another one in the vault ([`validate::look_alike`]) is accepted; refused, it is a
    /// `Validation` error on `label` naming the existing label.
    pub async fn create_checked(
        &self,
        permit: &Permit<can::AccountCreate>,
        input: AccountInput,
        look_alike: LookAlike,
    ) -> CoreResult<AccountView> {
        let actor = permit.actor();
        let label = validate::text("label", &input.label, validate::MAX_LABEL)?;
        let username = validate::opt_text(
            "username",
            input.username.as_deref(),
            validate::MAX_USERNAME,
        )?;
        let custom = check_custom_fields(&input.custom_fields)?;
        let backup = check_backup_codes(&input.backup_codes)?;
        if let Some(p) = &input.password {
            validate::secret("password", p.expose_secret(), validate::MAX_SECRET)?;
        }
        if let Some(n) = &input.notes {
            validate::secret("notes", n.expose_secret(), validate::MAX_NOTES)?;
        }
        if input.generate_password && input.password.is_some() {
            return Err(CoreError::invalid(
                "password",
                "give a password or ask to generate one, not both",
            ));
        }
        let (app, login_url) = self
            .resolve_app(input.app.as_deref(), input.login_url.as_deref())
            .await?;
        let setup = input.setup.unwrap_or(AccountSetup::Shared);
        Castellan::check_setup(setup, app.as_ref())?;
        let vault_id = self.writable_vault(actor, input.vault_id).await?;
        self.ensure_label_free(vault_id, &label, None, look_alike)
            .await?;

        let id = AccountId::new();
        let mut plain = vec![];
        let password = if input.generate_password {
            Some(
                self.generate_for_app(app.as_ref())?
                    .value
                    .expose_secret()
                    .to_owned(),
            )
        } else {
            input
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .filter(|p| !p.is_empty())
        };
        if let Some(p) = password {
            plain.push(Plain {
                field: PASSWORD.into(),
                value: p,
            });
        }
        if let Some(n) = input
            .notes
            .as_ref()
            .map(|n| n.expose_secret().to_owned())
            .filter(|n| !n.is_empty())
        {
            plain.push(Plain {
                field: NOTES.into(),
                value: n,
            });
        }
        if let Some(b) = backup {
            plain.push(Plain {
                field: BACKUP_CODES.into(),
                value: b,
            });
        }
        let mut public_fields = vec![];
        for f in custom {
            if f.secret {
                if let Some(v) = f.value.filter(|v| !v.is_empty()) {
                    plain.push(Plain {
                        field: format!("{CUSTOM_PREFIX}{}", f.name),
                        value: v,
                    });
                }
                public_fields.push(CustomField {
                    name: f.name,
                    value: None,
                    secret: true,
                });
            } else {
                public_fields.push(f);
            }
        }
        let now = self.now();
        let rec = AccountRecord {
            id,
            vault_id,
            label,
            app_id: app.as_ref().map(|a| a.id.clone()),
            login_url,
            username,
            setup,
            custom_fields: public_fields,
            secret_fields: plain.iter().map(|p| p.field.clone()).collect(),
            version: 1,
            created_by: actor.person_id,
            created_at: now,
            updated_at: now,
        };
        let sealed = self.seal_all(vault_id, id, &plain).await?;
        let grants: Vec<(PersonId, ItemRole)> = actor
            .person_id
            .map(|p| (p, ItemRole::Owner))
            .into_iter()
            .collect();
        let ev = NewEvent::new(actor, "account.create", self.now())
            .target("account", id, &rec.label)
            .details(
                serde_json::json!({ "vault_id": vault_id, "app_id": rec.app_id, "setup": setup }),
            );
        self.store
            .insert_account(&rec, &sealed, &grants, &ev)
            .await?;
        Ok(self.view(&rec, ItemRole::Owner, &self.all_apps().await?))
    }

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
        let (vault_grants, direct) = match actor.person_id {
            Some(me) if !all_access => (
                self.store.vault_grants_of(me).await?,
                self.store.account_grants_of(me).await?,
            ),
            _ => (vec![], vec![]),
        };
        let mut filter = AccountFilter {
            query,
            app_id: app,
            // Every reachable account: the store's default page (500) would hide the rest.
            limit: Some(MAX_LISTED_ACCOUNTS),
            ..Default::default()
        };
        if !all_access {
            filter.vaults = Some(vault_grants.iter().map(|g| g.vault_id).collect());
            filter.also_accounts = direct.iter().map(|(a, _)| *a).collect();
        }
        let apps = self.all_apps().await?;
        let mut out = vec![];
        for a in self.store.accounts(&filter).await? {
            if vault.is_some_and(|v| v != a.vault_id) {
                continue;
            }
            let vg = vault_grants
                .iter()
                .find(|g| g.vault_id == a.vault_id)
                .map(|g| g.role);
            let dg = direct.iter().find(|(id, _)| *id == a.id).map(|(_, r)| *r);
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

    /// Reveals secret fields (all, or those named: `password`, `notes`, `backup_codes`,
    /// `custom:<name>`). Needs `AccountReveal` and an item role that may reveal; recorded as
    /// `account.reveal` with the field names (never the values).
    pub async fn reveal(
        &self,
        permit: &Permit<can::AccountReveal>,
        id: AccountId,
        fields: Option<Vec<String>>,
    ) -> CoreResult<AccountSecrets> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, id, ItemAction::Reveal).await?;
        let mut out = AccountSecrets::default();
        let mut shown = vec![];
        for p in self.open_all(&a).await? {
            if p.field == TOTP_SECRET || fields.as_ref().is_some_and(|f| !f.contains(&p.field)) {
                continue;
            }
            shown.push(p.field.clone());
            match p.field.as_str() {
                PASSWORD => out.password = Some(p.value),
                NOTES => out.notes = Some(p.value),
                BACKUP_CODES => out.backup_codes = serde_json::from_str(&p.value).ok(),
                other => {
                    if let Some(name) = other.strip_prefix(CUSTOM_PREFIX) {
                        out.custom_fields.insert(name.to_owned(), p.value);
                    }
                }
            }
        }
        let ev = NewEvent::new(actor, "account.reveal", self.now())
            .target("account", a.id, &a.label)
            .details(serde_json::json!({ "fields": shown }));
        self.store.append(&ev).await?;
        Ok(out)
    }

    /// Applies a patch. Needs `AccountWrite` and an item role that may edit. Errors as for
    /// create, plus `Conflict` for a stale `version`.
    pub async fn update(
        &self,
        permit: &Permit<can::AccountWrite>,
        id: AccountId,
        patch: AccountPatch,
    ) -> CoreResult<AccountView> {
        self.update_checked(permit, id, patch, LookAlike::Refuse)
            .await
    }

    /// [`Accounts::update`], where `look_alike` says whether a new label (or a move to
    /// another vault) that looks like another account's label there is accepted.
    pub async fn update_checked(
        &self,
        permit: &Permit<can::AccountWrite>,
        id: AccountId,
        patch: AccountPatch,
        look_alike: LookAlike,
    ) -> CoreResult<AccountView> {
        let actor = permit.actor();
        let (mut a, role) = self.account_for(actor, id, ItemAction::Edit).await?;
        if patch.version.is_some_and(|v| v != a.version) {
            return Err(CoreError::Conflict(format!(
                "the account changed since version {}; it is now at version {}: reload and retry",
                patch.version.unwrap_or_default(),
                a.version
            )));
        }
        let mut changed: Vec<&str> = vec![];
        if let Some(l) = &patch.label {
            a.label = validate::text("label", l, validate::MAX_LABEL)?;
            changed.push("label");
        }
        if let Some(u) = &patch.username {
            a.username = validate::opt_text("username", Some(u), validate::MAX_USERNAME)?;
            changed.push("username");
        }
        let mut app = match &a.app_id {
            Some(id) => self.all_apps().await?.into_iter().find(|x| &x.id == id),
            None => None,
        };
        if patch.app.is_some() || patch.login_url.is_some() {
            let (new_app, url) = self
                .resolve_app(
                    patch
                        .app
                        .as_deref()
                        .or(a.app_id.as_ref().map(AppId::as_str)),
                    patch.login_url.as_deref().or(a.login_url.as_deref()),
                )
                .await?;
            app = new_app;
            a.app_id = app.as_ref().map(|x| x.id.clone());
            a.login_url = url;
            changed.push("app");
        }
        if let Some(s) = patch.setup {
            a.setup = s;
            changed.push("setup");
        }
        Castellan::check_setup(a.setup, app.as_ref())?;
        if patch.generate_password && patch.password.is_some() {
            return Err(CoreError::invalid(
                "password",
                "give a password or ask to generate one, not both",
            ));
        }
        let old_vault = a.vault_id;
        if let Some(v) = patch.vault_id.filter(|v| *v != a.vault_id) {
            a.vault_id = self.writable_vault(actor, Some(v)).await?;
            changed.push("vault_id");
        }
        if changed.contains(&"label") || changed.contains(&"vault_id") {
            self.ensure_label_free(a.vault_id, &a.label, Some(a.id), look_alike)
                .await?;
        }
        // Current secrets, to re-seal on a vault move and to keep secret custom fields.
        let mut plain = self
            .open_all(&AccountRecord {
                vault_id: old_vault,
                ..a.clone()
            })
            .await?;
        let mut set = |field: &str, value: Option<String>| {
            plain.retain(|p| p.field != field);
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                plain.push(Plain {
                    field: field.to_owned(),
                    value: v,
                });
            }
        };
        if let Some(p) = &patch.password {
            validate::secret("password", p.expose_secret(), validate::MAX_SECRET)?;
            set(PASSWORD, Some(p.expose_secret().to_owned()));
            changed.push("password");
        } else if patch.generate_password {
            set(
                PASSWORD,
                Some(
                    self.generate_for_app(app.as_ref())?
                        .value
                        .expose_secret()
                        .to_owned(),
                ),
            );
            changed.push("password");
        }
        if let Some(n) = &patch.notes {
            validate::secret("notes", n.expose_secret(), validate::MAX_NOTES)?;
            set(NOTES, Some(n.expose_secret().to_owned()));
            changed.push("notes");
        }
        if let Some(b) = &patch.backup_codes {
            set(BACKUP_CODES, check_backup_codes(b)?);
            changed.push("backup_codes");
        }
        if let Some(fields) = &patch.custom_fields {
            let fields = check_custom_fields(fields)?;
            let mut public = vec![];
            let old: Vec<(String, String)> = plain
                .iter()
                .filter_map(|p| {
                    p.field
                        .strip_prefix(CUSTOM_PREFIX)
                        .map(|n| (n.to_owned(), p.value.clone()))
                })
                .collect();
            plain.retain(|p| !p.field.starts_with(CUSTOM_PREFIX));
            for f in fields {
                if f.secret {
                    let value = f.value.clone().or_else(|| {
                        old.iter()
                            .find(|(n, _)| *n == f.name)
                            .map(|(_, v)| v.clone())
                    });
                    if let Some(v) = value.filter(|v| !v.is_empty()) {
                        plain.push(Plain {
                            field: format!("{CUSTOM_PREFIX}{}", f.name),
                            value: v,
                        });
                    }
                    public.push(CustomField {
                        name: f.name,
                        value: None,
                        secret: true,
                    });
                } else {
                    public.push(f);
                }
            }
            a.custom_fields = public;
            changed.push("custom_fields");
        }
        if changed.is_empty() {
            return Ok(self.view(&a, role, &self.all_apps().await?));
        }
        let before: HashSet<String> = a.secret_fields.iter().cloned().collect();
        a.secret_fields = plain.iter().map(|p| p.field.clone()).collect();
        let remove: Vec<String> = before
            .into_iter()
            .filter(|f| !a.secret_fields.contains(f))
            .collect();
        let sealed = self.seal_all(a.vault_id, a.id, &plain).await?;
        a.version += 1;
        a.updated_at = self.now();
        let ev = NewEvent::new(actor, "account.update", self.now())
            .target("account", a.id, &a.label)
            .details(serde_json::json!({ "changed": changed }));
        self.store.update_account(&a, &sealed, &remove, &ev).await?;
        Ok(self.view(&a, role, &self.all_apps().await?))
    }

    /// Deletes an account and its secrets. Needs `AccountWrite` and the `owner` item role.
    pub async fn delete(
        &self,
        permit: &Permit<can::AccountWrite>,
        id: AccountId,
    ) -> CoreResult<()> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, id, ItemAction::Delete).await?;
        if let Some(h) = self
            .store
            .hubs()
            .await?
            .iter()
            .find(|h| h.automation_account_id == a.id)
        {
            return Err(CoreError::Conflict(format!(
                "the hub `{}` uses this account as its automation account; choose another account for the hub first",
                h.label
            )));
        }
        let ev =
            NewEvent::new(actor, "account.delete", self.now()).target("account", a.id, &a.label);
        self.store.delete_account(a.id, &ev).await
    }

    /// Who has a direct item role on the account. Needs the account to be viewable.
    pub async fn access(
        &self,
        permit: &Permit<can::AccountRead>,
        id: AccountId,
    ) -> CoreResult<Vec<(PersonId, ItemRole)>> {
        let actor = permit.actor();
        self.account_for(actor, id, ItemAction::View).await?;
        self.store.account_access(id).await
    }

    /// The account's managed email address and managed phone number, when it has them. Needs
    /// the account to be viewable (`NotFound` otherwise).
    pub async fn contacts(
        &self,
        permit: &Permit<can::AccountRead>,
        id: AccountId,
    ) -> CoreResult<(Option<ManagedAddress>, Option<ManagedNumber>)> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, id, ItemAction::View).await?;
        Ok((
            self.store.managed_address_of(a.id).await?,
            self.store.number_of(a.id).await?,
        ))
    }

    /// Shares an account with a person with an item role, or unshares (`None`). Needs
    /// `AccountWrite` and an item role that may share; only item owners hand out `owner`.
    pub async fn share(
        &self,
        permit: &Permit<can::AccountWrite>,
        id: AccountId,
        person: PersonId,
        role: Option<ItemRole>,
    ) -> CoreResult<Vec<(PersonId, ItemRole)>> {
        let actor = permit.actor();
        let (a, my_role) = self.account_for(actor, id, ItemAction::Share).await?;
        if role == Some(ItemRole::Owner) && my_role != ItemRole::Owner {
            return Err(CoreError::Forbidden(
                "only an item owner can make another owner".into(),
            ));
        }
        let p = self.person_record(person).await?;
        if role.is_some() && p.status == PersonStatus::Deactivated {
            return Err(CoreError::invalid(
                "person_id",
                "this person is deactivated",
            ));
        }
        let current = self
            .store
            .account_access(id)
            .await?
            .into_iter()
            .find(|(who, _)| *who == person)
            .map(|(_, r)| r);
        if current == Some(ItemRole::Owner) && my_role != ItemRole::Owner {
            return Err(CoreError::Forbidden(
                "only an item owner can change or remove another owner's access".into(),
            ));
        }
        let action = if role.is_some() {
            "account.share"
        } else {
            "account.unshare"
        };
        let ev = NewEvent::new(actor, action, self.now())
            .target("account", a.id, &a.label)
            .details(serde_json::json!({ "person_id": p.id, "email": p.email, "role": role }));
        self.store.set_account_access(id, person, role, &ev).await?;
        self.store.account_access(id).await
    }
}
