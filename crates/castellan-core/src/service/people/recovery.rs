//! Account recovery, on the [`Sessions`] capability (changing one's own password, using a reset
//! link, the Owner's host-local reset) and the [`People`] capability (password reset links issued
//! by admins for the people their role manages, renewing invitations).
//!
//! Every new password follows the same rule as at claim and invitation (at least
//! [`super::sessions::MIN_PERSON_PASSWORD`] characters) and is hashed with Argon2id by
//! `castellan_crypto`; setting one ends the person's other sessions and tokens and their
//! pending reset links in the same transaction. Nothing secret reaches the activity log.

use castellan_crypto::{hash_password, hash_token, issue_token};
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::sessions::{acting_as, person_password};
use super::{Invited, INVITATION_DAYS};
use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::{PasswordResetId, PersonId};
use crate::model::{
    NewPassword, PasswordResetRecord, Person, PersonRecord, PersonStatus, WorkspaceRole,
};
use crate::permissions::{can, Permit};
use crate::service::{blocking, Castellan, People, Sessions};

/// Prefix of password reset link tokens.
pub const RESET_PREFIX: &str = "cst_reset";
/// How long a password reset link works, in minutes.
pub const RESET_LINK_MINUTES: i64 = 60;
/// The web page a reset link opens (`?token=` follows).
pub const RESET_PATH: &str = "/reset-password";

/// Changing one's own password.
#[derive(Debug, Clone)]
pub struct ChangePassword {
    /// The current password.
    pub current_password: SecretString,
    /// The new password (at least 12 characters, not the current one).
    pub new_password: SecretString,
}

/// A password that was set.
#[derive(Debug, Clone)]
pub struct PasswordChanged {
    /// The person.
    pub person: Person,
    /// How many of their other web sessions and API tokens were ended.
    pub revoked_tokens: u64,
}

/// A new password reset link (its token is shown once).
#[derive(Debug, Clone)]
pub struct PasswordResetLink {
    /// Whose password it resets.
    pub person: Person,
    /// The link's token: give it to the person; it works once, for 60 minutes.
    pub reset_token: String,
    /// The web page to open, with the token: `/reset-password?token=…` (prefix the server's
    /// address).
    pub reset_path: String,
    /// When it stops working (RFC 3339).
    pub expires_at: DateTime<Utc>,
}

/// Using a password reset link.
#[derive(Debug, Clone)]
pub struct UseResetLink {
    /// The link's token (`cst_reset_…`).
    pub reset_token: SecretString,
    /// The new password (at least 12 characters).
    pub new_password: SecretString,
}

/// The refusal of a reset link that is unknown, used, void or expired: one message for all.
fn link_not_valid() -> CoreError {
    CoreError::Unauthenticated(
        "the reset link is not valid, was already used or has expired; ask an admin for a new one"
            .into(),
    )
}

impl Castellan {
    /// Hashes a person's new password (Argon2id through `castellan_crypto`, off the async
    /// runtime): the one place core hashes person passwords.
    pub(super) async fn hash_new_password(&self, password: &SecretString) -> CoreResult<String> {
        let pw = password.clone();
        Ok(blocking(move || hash_password(pw.expose_secret())).await??)
    }

    /// Refuses unless the actor's role may manage `p`'s role (the permission matrix's
    /// [`crate::permissions::may_manage_role`]): `Forbidden` naming both roles.
    pub(crate) fn require_manages(&self, actor: &Actor, p: &PersonRecord) -> CoreResult<()> {
        if crate::permissions::may_manage_role(actor.role, p.role) {
            Ok(())
        } else {
            Err(CoreError::Forbidden(format!(
                "your role `{}` may not manage a person with role `{}`",
                actor.role, p.role
            )))
        }
    }
}

impl Sessions<'_> {
    /// The signed-in person changes their own password: needs the current one (a wrong one is
    /// recorded as `person.password_change_failed` and refused on `current_password`). Ends
    /// every other web session and API token of theirs (keeping the one used) and their
    /// pending reset links; recorded as `person.password_change`. Errors: `Validation` on
    /// `new_password` (under 12 characters, or the current one) or `current_password`.
    pub async fn change_password(
        &self,
        permit: &Permit<can::TokensManageOwn>,
        input: &ChangePassword,
    ) -> CoreResult<PasswordChanged> {
        let actor = permit.actor();
        let me = self.own_record(permit).await?;
        person_password("new_password", &input.new_password)?;
        self.confirm_password(
            actor,
            &me,
            "current_password",
            &input.current_password,
            ActivityAction::PersonPasswordChangeFailed,
        )
        .await?;
        if input.new_password.expose_secret() == input.current_password.expose_secret() {
            return Err(CoreError::invalid(
                "new_password",
                "must differ from the current password",
            ));
        }
        let change = NewPassword {
            person_id: me.id,
            password_hash: self.hash_new_password(&input.new_password).await?,
            at: self.now(),
            keep_token: actor.token_id,
            reset: None,
        };
        let ev = NewEvent::new(actor, ActivityAction::PersonPasswordChange, self.now())
            .target("person", me.id, &me.email);
        let revoked = self.store.set_password(&change, &ev).await?.unwrap_or(0);
        Ok(PasswordChanged {
            person: Person::from(&me),
            revoked_tokens: revoked,
        })
    }

    /// Uses a reset link: sets the person's new password, marks the link used and ends every
    /// session and token of theirs; recorded as `person.password_reset` by the person. Errors:
    /// `Validation` on `new_password`; `Unauthenticated` (one message) for an unknown, used,
    /// void or expired link or a person who is no longer active, recorded as
    /// `person.password_reset_failed`.
    pub async fn reset_password(&self, actor: &Actor, input: &UseResetLink) -> CoreResult<Person> {
        person_password("new_password", &input.new_password)?;
        let hash = hash_token(input.reset_token.expose_secret().trim());
        let found = self.store.password_reset_by_hash(&hash).await?;
        let now = self.now();
        let failed = |p: Option<&PersonRecord>| {
            let ev = NewEvent::new(actor, ActivityAction::PersonPasswordResetFailed, self.now());
            match p {
                Some(p) => ev.target("person", p.id, &p.email),
                None => ev,
            }
        };
        let issuer = match found.as_ref().and_then(|(r, _)| r.created_by) {
            Some(id) => self.store.person(id).await?,
            None => None,
        };
        let (r, p) = match found {
            Some((r, p))
                if r.used_at.is_none()
                    && r.revoked_at.is_none()
                    && r.expires_at > now
                    && p.status == PersonStatus::Active
                    && link_still_stands(&r, &p, issuer.as_ref()) =>
            {
                (r, p)
            }
            other => {
                self.store
                    .append(&failed(other.as_ref().map(|(_, p)| p)))
                    .await?;
                return Err(link_not_valid());
            }
        };
        let change = NewPassword {
            person_id: p.id,
            password_hash: self.hash_new_password(&input.new_password).await?,
            at: self.now(),
            keep_token: None,
            reset: Some(r.id),
        };
        let ev = NewEvent::new(
            &acting_as(actor, &p),
            ActivityAction::PersonPasswordReset,
            self.now(),
        )
        .target("person", p.id, &p.email)
        .details(serde_json::json!({ "reset_id": r.id }));
        if self.store.set_password(&change, &ev).await?.is_none() {
            // Used or voided by someone else meanwhile.
            self.store.append(&failed(Some(&p))).await?;
            return Err(link_not_valid());
        }
        Ok(Person::from(&p))
    }

    /// Sets the Owner's password on the host (`castellan owner reset-password`, which opened
    /// the database with this workspace's master key file): ends every session and token of
    /// the Owner and their pending reset links, and with `turn_off_two_step` also their
    /// two-step sign-in. Recorded as `person.owner_password_reset` (and
    /// `person.two_step_reset`) by the system actor. Returns the Owner and how many tokens
    /// ended. Errors: `Validation` on `new_password`, `Conflict` when the workspace has no
    /// owner yet (claim it with the setup token).
    pub async fn reset_owner_password(
        &self,
        new_password: &SecretString,
        turn_off_two_step: bool,
    ) -> CoreResult<(Person, u64)> {
        person_password("new_password", new_password)?;
        let owner = self
            .store
            .people()
            .await?
            .into_iter()
            .find(|p| p.role == WorkspaceRole::Owner)
            .ok_or_else(|| {
                CoreError::Conflict(
                    "the workspace has no owner yet: claim it with the setup token".into(),
                )
            })?;
        let system = Actor::system("castellan owner reset-password");
        let change = NewPassword {
            person_id: owner.id,
            password_hash: self.hash_new_password(new_password).await?,
            at: self.now(),
            keep_token: None,
            reset: None,
        };
        let ev = NewEvent::new(
            &system,
            ActivityAction::PersonOwnerPasswordReset,
            self.now(),
        )
        .target("person", owner.id, &owner.email);
        let revoked = self.store.set_password(&change, &ev).await?.unwrap_or(0);
        if turn_off_two_step && owner.two_step.is_some() {
            let ev = NewEvent::new(&system, ActivityAction::PersonTwoStepReset, self.now()).target(
                "person",
                owner.id,
                &owner.email,
            );
            self.store.set_person_two_step(owner.id, None, &ev).await?;
        }
        let owner = self.person_record(owner.id).await?;
        Ok((Person::from(&owner), revoked))
    }
}

impl People<'_> {
    /// An admin issues a single-use password reset link for an active person whose role they
    /// manage (the same rule as for roles and invitations); an earlier pending link of that
    /// person stops working. Recorded as `person.password_reset_issue` (never the token).
    /// Errors: `Forbidden` (the matrix, or a role the actor may not manage: nobody resets the
    /// Owner this way, see [`Sessions::reset_owner_password`]), `NotFound`, `Validation` on
    /// `person_id` (themselves: they change their own password with the current one; an
    /// invited or deactivated person).
    pub async fn issue_password_reset(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: PersonId,
    ) -> CoreResult<PasswordResetLink> {
        let actor = permit.actor();
        let p = self.person_record(id).await?;
        self.require_manages(actor, &p)?;
        if Some(p.id) == actor.person_id {
            return Err(CoreError::invalid(
                "person_id",
                "change your own password instead: it needs your current one",
            ));
        }
        match p.status {
            PersonStatus::Active => {}
            PersonStatus::Invited => return Err(CoreError::invalid(
                "person_id",
                "this person has not accepted their invitation yet: renew the invitation instead",
            )),
            PersonStatus::Deactivated => {
                return Err(CoreError::invalid(
                    "person_id",
                    "this person is deactivated: reactivate them first",
                ))
            }
        }
        let now = self.now();
        let issued = issue_token(RESET_PREFIX);
        let r = PasswordResetRecord {
            id: PasswordResetId::new(),
            person_id: p.id,
            hash: issued.hash.clone(),
            created_by: actor.person_id,
            created_at: now,
            expires_at: now + Duration::minutes(RESET_LINK_MINUTES),
            used_at: None,
            revoked_at: None,
        };
        let ev = NewEvent::new(actor, ActivityAction::PersonPasswordResetIssue, self.now())
            .target("person", p.id, &p.email)
            .details(serde_json::json!({ "reset_id": r.id, "expires_at": r.expires_at }));
        self.store.insert_password_reset(&r, &ev).await?;
        let token = issued.secret.expose_secret().to_owned();
        Ok(PasswordResetLink {
            person: Person::from(&p),
            reset_path: format!("{RESET_PATH}?token={token}"),
            reset_token: token,
            expires_at: r.expires_at,
        })
    }

    /// Renews an invitation that was not accepted (lost or expired): a new token valid for 7
    /// days; the old one stops working. Needs `PeopleManage` and a role that may manage the
    /// person's. Recorded as `person.invitation_renew` (never the token). Errors: `Forbidden`,
    /// `NotFound`, `Conflict` when the person already accepted (issue a reset link instead).
    pub async fn renew_invitation(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: PersonId,
    ) -> CoreResult<Invited> {
        let actor = permit.actor();
        let mut p = self.person_record(id).await?;
        self.require_manages(actor, &p)?;
        if p.status != PersonStatus::Invited {
            return Err(CoreError::Conflict(
                "this person already accepted their invitation: issue a password reset link instead"
                    .into(),
            ));
        }
        let now = self.now();
        let inv = issue_token(super::sessions::INVITE_PREFIX);
        p.invitation_hash = Some(inv.hash.clone());
        p.invitation_expires_at = Some(now + Duration::days(INVITATION_DAYS));
        p.updated_at = now;
        let ev = NewEvent::new(actor, ActivityAction::PersonInvitationRenew, self.now())
            .target("person", p.id, &p.email)
            .details(serde_json::json!({ "expires_at": p.invitation_expires_at }));
        self.store.update_person(&p, &ev).await?;
        p.version += 1;
        Ok(Invited {
            person: Person::from(&p),
            invitation_token: inv.secret.expose_secret().to_owned(),
        })
    }
}

/// A reset link stands only as issued: the person was not changed since (a role change, an
/// ownership transfer, a deactivation and reactivation all void it), and the admin who issued
/// it is still active and still manages the person's role. Checked when the link is used, so
/// no later change can turn an admin's link into a way into a more powerful account.
fn link_still_stands(
    r: &PasswordResetRecord,
    p: &PersonRecord,
    issuer: Option<&PersonRecord>,
) -> bool {
    p.updated_at <= r.created_at
        && issuer.is_some_and(|i| {
            i.status == PersonStatus::Active
                && i.id != p.id
                && crate::permissions::may_manage_role(i.role, p.role)
        })
}
