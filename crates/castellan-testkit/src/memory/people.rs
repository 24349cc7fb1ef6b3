//! The workspace, people, their API tokens and password reset links.

use async_trait::async_trait;
use castellan_core::activity::{log_due, NewEvent};
use castellan_core::ids::{PersonId, TokenId};
use castellan_core::model::{
    NewPassword, PasswordResetRecord, PersonRecord, PersonStatus, PersonTwoStep, TokenKind,
    TokenRecord, Vault, VaultKeyRecord, Workspace, WorkspaceRole,
};
use castellan_core::ports::{PeopleStore, TokenStore, WorkspaceStore};
use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, Utc};

use super::tables::{ms, Stored, Tables};
use super::MemoryStore;

const SECOND_OWNER: &str = "the workspace already has an owner";

impl Tables {
    /// Inserts a person. `Conflict` on a duplicate id or email, or a second owner.
    pub(crate) fn insert_person(&mut self, p: &PersonRecord) -> CoreResult<()> {
        if p.role == WorkspaceRole::Owner
            && self.people.values().any(|o| o.role == WorkspaceRole::Owner)
        {
            return Err(CoreError::Conflict(SECOND_OWNER.into()));
        }
        if self
            .people
            .values()
            .any(|o| user_name_of(o) == user_name_of(p))
        {
            return Err(CoreError::Conflict(format!(
                "a person with userName `{}` already exists",
                user_name_of(p)
            )));
        }
        if self.people.contains_key(&p.id) || self.people.values().any(|o| o.email == p.email) {
            return Err(CoreError::Conflict(format!(
                "a person with email `{}` already exists",
                p.email
            )));
        }
        // A new row starts at version 1, as the SQL column's default.
        self.people.insert(
            p.id,
            PersonRecord {
                version: 1,
                ..p.stored()
            },
        );
        Ok(())
    }

    /// Inserts a token. `NotFound { kind: "person" }` when its person is missing; `Conflict`
    /// on a duplicate id or hash.
    pub(crate) fn insert_token(&mut self, t: &TokenRecord) -> CoreResult<()> {
        if self.tokens.contains_key(&t.id) || self.tokens.values().any(|o| o.hash == t.hash) {
            return Err(CoreError::Conflict("this token already exists".into()));
        }
        if !self.people.contains_key(&t.person_id) {
            return Err(CoreError::NotFound { kind: "person" });
        }
        self.tokens.insert(t.id, t.stored());
        Ok(())
    }

    /// Revokes the person's pending reset links at `at`.
    fn revoke_pending_resets(&mut self, person: PersonId, at: DateTime<Utc>) {
        for r in self.resets.values_mut() {
            if r.person_id == person && r.used_at.is_none() && r.revoked_at.is_none() {
                r.revoked_at = Some(ms(at));
            }
        }
    }

    fn person_mut(&mut self, id: PersonId) -> CoreResult<&mut PersonRecord> {
        self.people
            .get_mut(&id)
            .ok_or(CoreError::NotFound { kind: "person" })
    }

    /// A row with its person, for the by-hash lookups.
    fn with_person<T: Clone>(
        &self,
        row: Option<&T>,
        person: impl Fn(&T) -> PersonId,
    ) -> Option<(T, PersonRecord)> {
        let row = row?;
        let p = self.people.get(&person(row))?;
        Some((row.clone(), p.clone()))
    }
}

#[async_trait]
impl WorkspaceStore for MemoryStore {
    async fn workspace(&self) -> CoreResult<Option<Workspace>> {
        self.read(|t| Ok(t.workspace.clone()))
    }

    async fn create_workspace(
        &self,
        ws: &Workspace,
        default_vault: &Vault,
        vault_key: &VaultKeyRecord,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if tx.t.workspace.is_some() {
                return Err(CoreError::Conflict("a workspace already exists".into()));
            }
            tx.t.workspace = Some(ws.stored());
            tx.t.insert_vault(default_vault)?;
            tx.t.insert_key(vault_key)?;
            tx.append(event);
            Ok(())
        })
    }

    async fn reset_setup_token(&self, hash: &str, event: &NewEvent) -> CoreResult<bool> {
        self.write(|tx| {
            let Some(ws) =
                tx.t.workspace
                    .as_mut()
                    .filter(|w| w.setup_token_hash.is_some())
            else {
                return Ok(false);
            };
            ws.setup_token_hash = Some(hash.to_owned());
            tx.append(event);
            Ok(true)
        })
    }

    async fn claim_workspace(
        &self,
        setup_token_hash: &str,
        owner: &PersonRecord,
        token: &TokenRecord,
        event: &NewEvent,
    ) -> CoreResult<bool> {
        self.write(|tx| {
            let Some(ws) =
                tx.t.workspace
                    .as_mut()
                    .filter(|w| w.setup_token_hash.as_deref() == Some(setup_token_hash))
            else {
                return Ok(false);
            };
            ws.setup_token_hash = None;
            tx.t.insert_person(owner)?;
            tx.t.insert_token(token)?;
            tx.append(event);
            Ok(true)
        })
    }

    /// Always succeeds unless the store was set unavailable.
    async fn probe_write(&self, _at: DateTime<Utc>) -> CoreResult<()> {
        self.write(|_| Ok(()))
    }
}

#[async_trait]
impl PeopleStore for MemoryStore {
    async fn insert_person(&self, p: &PersonRecord, event: &NewEvent) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.insert_person(p)?;
            tx.append(event);
            Ok(())
        })
    }

    async fn person(&self, id: PersonId) -> CoreResult<Option<PersonRecord>> {
        self.read(|t| Ok(t.people.get(&id).cloned()))
    }

    async fn person_by_email(&self, email: &str) -> CoreResult<Option<PersonRecord>> {
        self.read(|t| Ok(t.people.values().find(|p| p.email == email).cloned()))
    }

    async fn person_by_user_name(&self, user_name: &str) -> CoreResult<Option<PersonRecord>> {
        self.read(|t| {
            Ok(t.people
                .values()
                .find(|p| user_name_of(p) == user_name)
                .cloned())
        })
    }

    /// Ordered by email.
    async fn people(&self) -> CoreResult<Vec<PersonRecord>> {
        self.read(|t| {
            let mut all: Vec<PersonRecord> = t.people.values().cloned().collect();
            all.sort_by(|a, b| a.email.cmp(&b.email));
            Ok(all)
        })
    }

    /// Like the SQL store: replaces name, role, status, password and invitation hashes,
    /// invitation expiry, external id and `updated_at`; deactivating revokes the person's
    /// unrevoked tokens at `p.updated_at`.
    async fn update_person(&self, p: &PersonRecord, event: &NewEvent) -> CoreResult<()> {
        self.write(|tx| {
            match tx.t.people.get(&p.id) {
                None => return Err(CoreError::NotFound { kind: "person" }),
                Some(o) if o.version != p.version => {
                    return Err(CoreError::Stale { kind: "person" })
                }
                Some(_) => {}
            }
            if p.role == WorkspaceRole::Owner
                && tx
                    .t
                    .people
                    .values()
                    .any(|o| o.role == WorkspaceRole::Owner && o.id != p.id)
            {
                return Err(CoreError::Conflict(SECOND_OWNER.into()));
            }
            if tx
                .t
                .people
                .values()
                .any(|o| o.email == p.email && o.id != p.id)
            {
                return Err(CoreError::Conflict(format!(
                    "a person with email `{}` already exists",
                    p.email
                )));
            }
            if tx
                .t
                .people
                .values()
                .any(|o| user_name_of(o) == user_name_of(p) && o.id != p.id)
            {
                return Err(CoreError::Conflict(format!(
                    "a person with userName `{}` already exists",
                    user_name_of(p)
                )));
            }
            let p = p.stored();
            let row = tx.t.person_mut(p.id)?;
            row.email = p.email;
            row.name = p.name;
            row.role = p.role;
            row.status = p.status;
            row.password_hash = p.password_hash;
            row.invitation_hash = p.invitation_hash;
            row.invitation_expires_at = p.invitation_expires_at;
            row.external_id = p.external_id;
            row.user_name = p.user_name;
            row.given_name = p.given_name;
            row.family_name = p.family_name;
            row.idp_emails = p.idp_emails;
            row.idp_deleted_at = p.idp_deleted_at;
            row.updated_at = p.updated_at;
            row.version += 1;
            if p.status == PersonStatus::Deactivated {
                for t in tx.t.tokens.values_mut() {
                    if t.person_id == p.id && t.revoked_at.is_none() {
                        t.revoked_at = Some(p.updated_at);
                    }
                }
            }
            tx.append(event);
            Ok(())
        })
    }

    async fn transfer_ownership(
        &self,
        from: PersonId,
        to: PersonId,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            let at = ms(event.at);
            match tx.t.people.get_mut(&from) {
                Some(p) if p.role == WorkspaceRole::Owner => {
                    p.role = WorkspaceRole::SuperAdmin;
                    p.updated_at = at;
                    p.version += 1;
                }
                _ => {
                    return Err(CoreError::Conflict(
                        "ownership changed meanwhile: that person is no longer the owner".into(),
                    ))
                }
            }
            let p = tx.t.person_mut(to)?;
            p.role = WorkspaceRole::Owner;
            p.updated_at = at;
            p.version += 1;
            for t in tx.t.tokens.values_mut() {
                if t.person_id == from && t.kind == TokenKind::Scim && t.revoked_at.is_none() {
                    t.revoked_at = Some(at);
                }
            }
            tx.append(event);
            Ok(())
        })
    }

    async fn set_person_two_step(
        &self,
        id: PersonId,
        two_step: Option<&PersonTwoStep>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            let p = tx.t.person_mut(id)?;
            p.two_step = two_step.cloned();
            p.updated_at = ms(event.at);
            tx.append(event);
            Ok(())
        })
    }

    async fn sign_in_with_step(
        &self,
        person: PersonId,
        step: i64,
        token: &TokenRecord,
        event: &NewEvent,
    ) -> CoreResult<bool> {
        self.write(|tx| {
            let Some(ts) =
                tx.t.people
                    .get_mut(&person)
                    .and_then(|p| p.two_step.as_mut())
                    .filter(|ts| ts.last_step.is_none_or(|last| last < step))
            else {
                return Ok(false);
            };
            ts.last_step = Some(step);
            tx.t.insert_token(token)?;
            tx.append(event);
            Ok(true)
        })
    }

    async fn insert_password_reset(
        &self,
        r: &PasswordResetRecord,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.revoke_pending_resets(r.person_id, r.created_at);
            if tx.t.resets.contains_key(&r.id) || tx.t.resets.values().any(|o| o.hash == r.hash) {
                return Err(CoreError::Conflict("this reset link already exists".into()));
            }
            let creator_missing = r.created_by.is_some_and(|c| !tx.t.people.contains_key(&c));
            if !tx.t.people.contains_key(&r.person_id) || creator_missing {
                return Err(CoreError::NotFound { kind: "person" });
            }
            tx.t.resets.insert(r.id, r.stored());
            tx.append(event);
            Ok(())
        })
    }

    async fn password_reset_by_hash(
        &self,
        hash: &str,
    ) -> CoreResult<Option<(PasswordResetRecord, PersonRecord)>> {
        self.read(|t| {
            let row = t.resets.values().find(|r| r.hash == hash);
            Ok(t.with_person(row, |r| r.person_id))
        })
    }

    async fn set_password(&self, c: &NewPassword, event: &NewEvent) -> CoreResult<Option<u64>> {
        self.write(|tx| {
            let at = ms(c.at);
            if let Some(reset) = c.reset {
                let Some(r) = tx.t.resets.get_mut(&reset).filter(|r| {
                    r.person_id == c.person_id
                        && r.used_at.is_none()
                        && r.revoked_at.is_none()
                        && r.expires_at > at
                }) else {
                    return Ok(None);
                };
                r.used_at = Some(at);
            }
            let p = tx.t.person_mut(c.person_id)?;
            p.password_hash = Some(c.password_hash.clone());
            p.updated_at = at;
            p.version += 1;
            let mut revoked = 0;
            for t in tx.t.tokens.values_mut() {
                if t.person_id == c.person_id
                    && t.revoked_at.is_none()
                    && Some(t.id) != c.keep_token
                {
                    t.revoked_at = Some(at);
                    revoked += 1;
                }
            }
            tx.t.revoke_pending_resets(c.person_id, at);
            tx.append(event);
            Ok(Some(revoked))
        })
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_token(&self, t: &TokenRecord, event: &NewEvent) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.insert_token(t)?;
            tx.append(event);
            Ok(())
        })
    }

    async fn token_by_hash(&self, hash: &str) -> CoreResult<Option<(TokenRecord, PersonRecord)>> {
        self.read(|t| {
            let row = t.tokens.values().find(|x| x.hash == hash);
            Ok(t.with_person(row, |x| x.person_id))
        })
    }

    /// Newest first (then by id, descending).
    async fn tokens_of(&self, person: PersonId) -> CoreResult<Vec<TokenRecord>> {
        self.read(|t| {
            let mut all: Vec<TokenRecord> = t
                .tokens
                .values()
                .filter(|x| x.person_id == person)
                .cloned()
                .collect();
            all.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
            Ok(all)
        })
    }

    /// Newest first (then by id, descending).
    async fn tokens_of_kind(&self, kind: TokenKind) -> CoreResult<Vec<TokenRecord>> {
        self.read(|t| {
            let mut all: Vec<TokenRecord> = t
                .tokens
                .values()
                .filter(|x| x.kind == kind)
                .cloned()
                .collect();
            all.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
            Ok(all)
        })
    }

    /// Keeps an earlier `revoked_at`. `NotFound { kind: "token" }` unless the token is of
    /// that kind.
    async fn revoke_token_of_kind(
        &self,
        kind: TokenKind,
        id: TokenId,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.revoke_token_if(id, |t| t.kind == kind, at, event)
    }

    /// Keeps an earlier `revoked_at`. `NotFound { kind: "token" }` unless the token is the
    /// person's.
    async fn revoke_token(
        &self,
        person: PersonId,
        id: TokenId,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.revoke_token_if(id, |t| t.person_id == person, at, event)
    }

    async fn touch_token(
        &self,
        id: TokenId,
        at: DateTime<Utc>,
        log_after: chrono::Duration,
        event: &NewEvent,
    ) -> CoreResult<bool> {
        self.write(|tx| {
            let t =
                tx.t.tokens
                    .get_mut(&id)
                    .ok_or(CoreError::NotFound { kind: "token" })?;
            let previous = t.last_used_at;
            t.last_used_at = Some(ms(at));
            let log = log_due(previous, at, log_after);
            if log {
                tx.append(event);
            }
            Ok(log)
        })
    }
}

impl MemoryStore {
    /// Revokes token `id` when `owns` holds for it, with its event, keeping an earlier
    /// `revoked_at`. `NotFound { kind: "token" }` otherwise.
    fn revoke_token_if(
        &self,
        id: TokenId,
        owns: impl Fn(&TokenRecord) -> bool,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            let t =
                tx.t.tokens
                    .get_mut(&id)
                    .filter(|t| owns(t))
                    .ok_or(CoreError::NotFound { kind: "token" })?;
            t.revoked_at = t.revoked_at.or(Some(ms(at)));
            tx.append(event);
            Ok(())
        })
    }
}

/// A person's SCIM userName: their `user_name`, else their email (the SQL index
/// `people_user_name` keeps it unique).
fn user_name_of(p: &PersonRecord) -> &str {
    p.user_name.as_deref().unwrap_or(&p.email)
}
