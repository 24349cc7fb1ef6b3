//! People, workspace roles and personal API tokens.

use castellan_crypto::issue_token;

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{token_days, INVITE_PREFIX, TOKEN_PREFIX};
use super::{Castellan, People, Sessions};
use crate::activity::NewEvent;
use crate::error::{CoreError, CoreResult};
use crate::ids::{PersonId, TokenId};
use crate::model::{ApiToken, Person, PersonRecord, PersonStatus, TokenRecord, WorkspaceRole};
use crate::permissions::{can, may_manage_role, Permit};
use crate::validate;

/// Invitation lifetime, in days.
pub const INVITATION_DAYS: i64 = 7;

/// Inviting a person.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitePerson {
    /// Email (unique in the workspace).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Workspace role (not `owner`: ownership is transferred).
    pub role: WorkspaceRole,
    /// IdP id, if provisioned from the IdP.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A new person with their invitation token (shown once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invited {
    /// The person, in status `invited`.
    pub person: Person,
    /// The invitation token: give it to the person; valid for 7 days.
    pub invitation_token: String,
}

/// Changing a person.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    /// New display name.
    #[serde(default)]
    pub name: Option<String>,
    /// New workspace role (not `owner`).
    #[serde(default)]
    pub role: Option<WorkspaceRole>,
    /// `active` or `deactivated`.
    #[serde(default)]
    pub status: Option<PersonStatus>,
}

/// A new API token request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Label.
    pub name: String,
    /// Lifetime in days (1..=365, default 90).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A newly issued token: the secret is shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedApiToken {
    /// The token row.
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret, shown once.
    pub secret: String,
}

impl Castellan {
    pub(crate) async fn person_record(&self, id: PersonId) -> CoreResult<PersonRecord> {
        self.store
            .person(id)
            .await?
            .ok_or(CoreError::NotFound { kind: "person" })
    }
}

impl Sessions<'_> {
    /// Issues a personal API token for the actor (shown once). Needs `TokensManageOwn`.
    pub async fn create_token(
        &self,
        permit: &Permit<can::TokensManageOwn>,
        input: NewToken,
    ) -> CoreResult<IssuedApiToken> {
        let actor = permit.actor();
        let person = actor
            .person_id
            .ok_or(CoreError::NotFound { kind: "person" })?;
        let name = validate::text("name", &input.name, validate::MAX_LABEL)?;
        let lifetime = token_days(input.expires_in_days, 90)?;
        let now = self.now();
        let issued = issue_token(TOKEN_PREFIX);
        let t = TokenRecord {
            id: TokenId::new(),
            person_id: person,
            name,
            hash: issued.hash.clone(),
            created_at: now,
            expires_at: Some(now + lifetime),
            last_used_at: None,
            revoked_at: None,
        };
        let ev = NewEvent::new(actor, "token.create", self.now()).target("token", t.id, &t.name);
        self.store.insert_token(&t, &ev).await?;
        Ok(IssuedApiToken {
            token: ApiToken::from(&t),
            secret: issued.secret.expose_secret().to_owned(),
        })
    }

    /// The actor's tokens, newest first.
    pub async fn tokens(&self, permit: &Permit<can::TokensManageOwn>) -> CoreResult<Vec<ApiToken>> {
        let actor = permit.actor();
        let person = actor
            .person_id
            .ok_or(CoreError::NotFound { kind: "person" })?;
        Ok(self
            .store
            .tokens_of(person)
            .await?
            .iter()
            .map(ApiToken::from)
            .collect())
    }

    /// Revokes one of the actor's tokens. Errors: `NotFound` if it is not theirs.
    pub async fn revoke_token(
        &self,
        permit: &Permit<can::TokensManageOwn>,
        id: TokenId,
    ) -> CoreResult<()> {
        let actor = permit.actor();
        let person = actor
            .person_id
            .ok_or(CoreError::NotFound { kind: "token" })?;
        let ev = NewEvent::new(actor, "token.revoke", self.now()).target("token", id, "");
        self.store.revoke_token(person, id, self.now(), &ev).await
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
            two_step: None,
            created_at: now,
            updated_at: now,
        };
        let ev = NewEvent::new(actor, "person.invite", self.now())
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
    /// (transfer ownership) and nobody deactivates themselves.
    pub async fn update(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: PersonId,
        patch: PersonPatch,
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
        p.updated_at = self.now();
        let action = if patch.status == Some(PersonStatus::Deactivated) {
            "person.deactivate"
        } else {
            "person.update"
        };
        let ev = NewEvent::new(actor, action, self.now())
            .target("person", p.id, &p.email)
            .details(serde_json::Value::Object(changes));
        self.store.update_person(&p, &ev).await?;
        if p.status == PersonStatus::Deactivated {
            // A person who leaves loses every hub: the bot removes them from each app.
            self.revoke_everywhere(actor, p.id).await?;
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
        let ev = NewEvent::new(actor, "workspace.transfer_ownership", self.now()).target(
            "person",
            to,
            &target.email,
        );
        self.store.transfer_ownership(from, to, &ev).await?;
        Ok(Person::from(&self.person_record(to).await?))
    }
}
