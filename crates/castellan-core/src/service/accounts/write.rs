//! Writing accounts: the "Add account" form ([`Accounts::create`]), changes
//! ([`Accounts::update`]) and deletion, with the checks they share (the app or URL, the vault,
//! the setup kind, the label, custom fields and backup codes).

use std::collections::HashSet;

use secrecy::{ExposeSecret, SecretString};

use super::sealing::Plain;
use super::{
    AccountInput, AccountPatch, AccountView, BACKUP_CODES, CUSTOM_PREFIX, MAX_LISTED_ACCOUNTS,
    NOTES, PASSWORD,
};
use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::catalog::App;
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, AppId, PersonId, VaultId};
use crate::model::{AccountRecord, AccountSetup, CustomField, ItemRole};
use crate::permissions::{can, effective_item_role, item_allows, ItemAction, Permit};
use crate::ports::AccountFilter;
use crate::service::{Accounts, Castellan};
use crate::validate::{self, LookAlike};

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

impl Castellan {
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
        let grant = self.actor_item_grants(actor).await?.vault(vault.id);
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
                        field: super::custom_field_key(&f.name),
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
        let ev = NewEvent::new(actor, ActivityAction::AccountCreate, self.now())
            .target("account", id, &rec.label)
            .details(
                serde_json::json!({ "vault_id": vault_id, "app_id": rec.app_id, "setup": setup }),
            );
        self.store
            .insert_account(&rec, &sealed, &grants, &ev)
            .await?;
        Ok(self.view(&rec, ItemRole::Owner, &self.all_apps().await?))
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
                            field: super::custom_field_key(&f.name),
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
        let ev = NewEvent::new(actor, ActivityAction::AccountUpdate, self.now())
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
        let ev = NewEvent::new(actor, ActivityAction::AccountDelete, self.now())
            .target("account", a.id, &a.label);
        self.store.delete_account(a.id, &ev).await
    }
}
