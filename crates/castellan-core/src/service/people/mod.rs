//! The [`People`] capability (people of the workspace: list, invite, change, transfer
//! ownership) and, in its submodules, the [`Sessions`](crate::service::Sessions) capability (one's own sign-in and
//! credentials):
//!
//! - [`sessions`]: setup and claim, sign-in, accepting an invitation, token authentication;
//! - [`tokens`]: personal API tokens;
//! - [`two_step`]: two-step sign-in (a person's own TOTP);
//! - [`recovery`]: password changes, reset links, renewed invitations;
//! - [`provision`]: people created and changed by the identity provider (SCIM).

mod provision;
mod recovery;
mod sessions;
mod tokens;
mod two_step;

use castellan_crypto::issue_token;

use secrecy::ExposeSecret;

use crate::activity::{ActivityAction, NewEvent};
use crate::clock::Jitter;
use crate::error::{CoreError, CoreResult};
use crate::ids::PersonId;
use crate::model::{Person, PersonRecord, PersonStatus, WorkspaceRole};
use crate::permissions::{can, may_manage_role, Permit};
use crate::service::{Castellan, People};
use crate::validate;
use sessions::INVITE_PREFIX;

pub use provision::IdpPerson;
pub use recovery::{
    ChangePassword, PasswordChanged, PasswordResetLink, UseResetLink, RESET_LINK_MINUTES,
    RESET_PATH, RESET_PREFIX,
};
pub use sessions::{
    Claim, ClaimResult, SetupStatus, SignIn, TokenUse, SCIM_PREFIX, SESSION_PREFIX,
};
pub use tokens::{IssuedApiToken, NewToken};
pub use two_step::{
    DisableTwoStep, EnableTwoStep, TwoStepEnrollment, TwoStepStatus, TWO_STEP_ISSUER,
    TWO_STEP_SECRET_BYTES,
};

/// How many times a read-change-write of a person is tried when another change lands between
/// its read and its write.
pub const STALE_RETRIES: u32 = 24;

/// Runs `attempt` (a read-change-write that applies a delta to what it reads) again while it
/// fails with [`CoreError::Stale`], at most [`STALE_RETRIES`] times, after a random pause of up
/// to 2^n ms (at most 64 ms) before the n-th retry, so that writers racing on one person spread
/// out; the last error is returned. The one retry rule for compare-and-swap writes of people; the SCIM PATCH
/// uses it too.
pub async fn retry_stale<T, F, Fut>(mut attempt: F) -> CoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = CoreResult<T>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(CoreError::Stale { .. }) if tries < STALE_RETRIES => {
                let most = f64::from(1u32 << tries.min(6));
                let ms = crate::clock::ThreadJitter.factor(0.0, most);
                tokio::time::sleep(std::time::Duration::from_secs_f64(ms / 1000.0)).await;
                tries += 1;
            }
            done => return done,
        }
    }
}

/// Invitation lifetime, in days.
pub const INVITATION_DAYS: i64 = 7;

/// Inviting a person.
#[derive(Debug, Clone)]
pub struct InvitePerson {
    /// Email (unique in the workspace).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Workspace role (not `owner`: ownership is transferred).
    pub role: WorkspaceRole,
    /// IdP id, if provisioned from the IdP.
    pub external_id: Option<String>,
}

/// A new person with their invitation token (shown once).
#[derive(Debug, Clone)]
pub struct Invited {
    /// The person, in status `invited`.
    pub person: Person,
    /// The invitation token: give it to the person; valid for 7 days.
    pub invitation_token: String,
}

/// Changing a person.
#[derive(Debug, Clone, Default)]
pub struct PersonPatch {
    /// New display name.
    pub name: Option<String>,
    /// New workspace role (not `owner`).
    pub role: Option<WorkspaceRole>,
    /// `active` or `deactivated`.
    pub status: Option<PersonStatus>,
}

impl Castellan {
    pub(crate) async fn person_record(&self, id: PersonId) -> CoreResult<PersonRecord> {
        self.store
            .person(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "person" })
    }
}

impl People<'_> {
    /// Every person. Needs `PeopleRead`.
    pub async fn list(&self, _: &Permit<can::PeopleRead>) -> CoreResult<Vec<Person>> {
        Ok(self
            .store
            .people()
            .await?
            .iter()
            .map(Person::from)
            .collect())
    }

    /// The actor's own profile (any role).
    pub async fn me(&self, permit: &Permit<can::WorkspaceRead>) -> CoreResult<Person> {
        let actor = permit.actor();
        let id = actor
            .person_id
            .ok_or(CoreError::NotFound { kind: "person" })?;
        let p = self
            .store
            .person(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "person" })?;
        Ok(Person::from(&p))
    }

    /// One person. Needs `PeopleRead`. Errors: `NotFound`.
    pub async fn get(&self, _: &Permit<can::PeopleRead>, id: PersonId) -> CoreResult<Person> {
        let p = self
            .store
            .person(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "person" })?;
        Ok(Person::from(&p))
    }

    /// Invites a person with a role. Needs `PeopleManage` and a role the actor may hand out.
    /// Errors: `Conflict` for a taken email, `Forbidden` for a role above the actor's reach.
    pub async fn invite(
        &self,
        permit: &Permit<can::PeopleManage>,
        input: InvitePerson,
    ) -> CoreResult<Invited> {
        let actor = permit.actor();
        let email = validate::email("email", &input.email)?;
        let name = validate::text("name", &input.name, validate::MAX_LABEL)?;
        let external_id = validate::opt_text("external_id", input.external_id.as_deref(), 256)?;
        if input.role == WorkspaceRole::Owner {
            return Err(CoreError::invalid(
                "role",
                "there is exactly one owner; transfer ownership instead",
            ));
        }
        if !may_manage_role(actor.role, input.role) {
            return Err(CoreError::Forbidden(format!(
                "your role `{}` may not give the role `{}`",
                actor.role, input.role
            )));
        }
        if let Some(existing) = self.store.person_by_email(&email).await? {
            let hint = if existing.status == PersonStatus::Invited {
                format!(
                    "; they were invited already: renew their invitation (POST \
                     /api/v1/people/{}/invitation, `castellan people reinvite {email}`)",
                    existing.id
                )
            } else {
                String::new()
            };
            return Err(CoreError::Conflict(format!(
                "a person with email `{email}` already exists{hint}"
            )));
        }
        let now = self.now();
        let inv = issue_token(INVITE_PREFIX);
        let p = PersonRecord {
            id: PersonId::new(),
            email,
            name,
            role: input.role,
            status: PersonStatus::Invited,
            password_hash: None,
            invitation_hash: Some(inv.hash.clone()),
            invitation_expires_at: Some(now + chrono::Duration::days(INVITATION_DAYS)),
            external_id,
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
        let ev = NewEvent::new(actor, ActivityAction::PersonInvite, self.now())
            .target("person", p.id, &p.email)
            .details(serde_json::json!({ "role": p.role }));
        self.store.insert_person(&p, &ev).await?;
        Ok(Invited {
            person: Person::from(&p),
            invitation_token: inv.secret.expose_secret().to_owned(),
        })
    }

    /// Changes a person's name, role or status. Needs `PeopleManage`, and the actor must be able
    /// to manage both the person's current and new role; nobody changes the owner this way
    /// (transfer ownership) and nobody deactivates themselves. The change is applied to the
    /// person as stored when it is written: a change that lands meanwhile (an identity
    /// provider's, another admin's) is read again and kept ([`retry_stale`]).
    pub async fn update(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: PersonId,
        patch: PersonPatch,
    ) -> CoreResult<Person> {
        retry_stale(|| self.update_once(permit, id, &patch)).await
    }

    /// One read-change-write of [`People::update`]; `Stale` when the person changed after the
    /// read.
    async fn update_once(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: PersonId,
        patch: &PersonPatch,
    ) -> CoreResult<Person> {
        let actor = permit.actor();
        let mut p = self.person_record(id).await?;
        if p.role == WorkspaceRole::Owner {
            return Err(CoreError::Forbidden(
                "the owner's role and status change only by transferring ownership".into(),
            ));
        }
        self.require_manages(actor, &p)?;
        let mut changes = serde_json::Map::new();
        if let Some(name) = &patch.name {
            p.name = validate::text("name", name, validate::MAX_LABEL)?;
            changes.insert("name".into(), p.name.clone().into());
        }
        if let Some(role) = patch.role {
            if role == WorkspaceRole::Owner {
                return Err(CoreError::invalid(
                    "role",
                    "use the ownership transfer to make an owner",
                ));
            }
            if !may_manage_role(actor.role, role) {
                return Err(CoreError::Forbidden(format!(
                    "your role `{}` may not give the role `{role}`",
                    actor.role
                )));
            }
            changes.insert(
                "role".into(),
                serde_json::json!({ "from": p.role, "to": role }),
            );
            p.role = role;
            // An invitation issued for the old role does not carry over to the new one: whoever
            // holds its token could otherwise accept a role the issuer may not give.
            if p.status == PersonStatus::Invited {
                p.invitation_hash = None;
                p.invitation_expires_at = None;
            }
        }
        if let Some(status) = patch.status {
            if status == PersonStatus::Invited {
                return Err(CoreError::invalid(
                    "status",
                    "must be `active` or `deactivated`",
                ));
            }
            if Some(p.id) == actor.person_id && status == PersonStatus::Deactivated {
                return Err(CoreError::invalid(
                    "status",
                    "you cannot deactivate yourself",
                ));
            }
            if status == PersonStatus::Active && p.password_hash.is_none() {
                return Err(CoreError::invalid(
                    "status",
                    "this person has not accepted their invitation yet",
                ));
            }
            changes.insert(
                "status".into(),
                serde_json::json!({ "from": p.status, "to": status }),
            );
            p.status = status;
        }
        let deactivating = patch.status == Some(PersonStatus::Deactivated);
        self.save_change(actor, p, changes, deactivating).await
    }

    /// Writes a changed person with one `person.update` (or `person.deactivate` when
    /// `deactivating`) event carrying `changes`; the store revokes a deactivated person's tokens
    /// in the same transaction, and then every hub grant of theirs is revoked (the bot removes
    /// them from each app). The one path for changing and deactivating people.
    pub(crate) async fn save_change(
        &self,
        actor: &crate::activity::Actor,
        mut p: PersonRecord,
        changes: serde_json::Map<String, serde_json::Value>,
        deactivating: bool,
    ) -> CoreResult<Person> {
        p.updated_at = self.now();
        let reactivated = changes
            .get("status")
            .is_some_and(|s| s["from"] == "deactivated");
        let action = if deactivating {
            ActivityAction::PersonDeactivate
        } else {
            ActivityAction::PersonUpdate
        };
        let ev = NewEvent::new(actor, action, self.now())
            .target("person", p.id, &p.email)
            .details(serde_json::Value::Object(changes));
        self.store.update_person(&p, &ev).await?;
        p.version += 1;
        if p.status == PersonStatus::Deactivated {
            // A person who leaves loses every hub: the bot removes them from each app.
            self.revoke_everywhere(actor, p.id).await?;
        } else if reactivated {
            // Back: the hubs their teams hold take them in again.
            self.team_access_changed(actor, p.id).await?;
        }
        Ok(Person::from(&p))
    }

    /// Hands the Owner role to `to` (who must be active); the old owner becomes `super_admin`.
    /// Needs `OwnershipTransfer`.
    pub async fn transfer_ownership(
        &self,
        permit: &Permit<can::OwnershipTransfer>,
        to: PersonId,
    ) -> CoreResult<Person> {
        let actor = permit.actor();
        let from = actor
            .person_id
            .ok_or(CoreError::NotFound { kind: "person" })?;
        let target = self.person_record(to).await?;
        if target.id == from {
            return Err(CoreError::invalid("person_id", "you are already the owner"));
        }
        if target.status != PersonStatus::Active {
            return Err(CoreError::invalid(
                "person_id",
                "the new owner must be an active person",
            ));
        }
        let ev = NewEvent::new(
            actor,
            ActivityAction::WorkspaceTransferOwnership,
            self.now(),
        )
        .target("person", to, &target.email);
        self.store.transfer_ownership(from, to, &ev).await?;
        Ok(Person::from(&self.person_record(to).await?))
    }
}
