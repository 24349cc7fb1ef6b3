//! People driven by the identity provider (the SCIM service provider, RFC 7644 §3.3, §3.5,
//! §3.6): create, replace and deactivate a person from the IdP's description of them.
//!
//! The SCIM wire format lives in the server; here a person is an [`IdpPerson`]: email (and
//! every address the IdP gave, as written), name, external id and whether they are active.
//! The rules are the ones an admin's changes follow (`People::invite`, `People::update`): the
//! same validation, the one-owner guard, the same deactivation path (tokens revoked with the
//! change, then every hub grant revoked).

use serde_json::{json, Map, Value};

use crate::activity::{ActivityAction, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::PersonId;
use crate::model::{IdpEmail, Person, PersonRecord, PersonStatus, WorkspaceRole, MAX_IDP_EMAILS};
use crate::permissions::{can, may_manage_role, Permit};
use crate::ports::ActivityFilter;
use crate::service::People;
use crate::validate;

/// A person as the identity provider describes them (a SCIM User, RFC 7643 §4.1, reduced to
/// what Castellan keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpPerson {
    /// SCIM `userName` as sent (unique case-insensitively); often the email, but Entra ID sends
    /// the UPN, which may differ.
    pub user_name: String,
    /// Email: the primary SCIM `emails` value, else the `userName` (lowercased; unique).
    pub email: String,
    /// SCIM `emails` as written (RFC 7643 §4.1.2), one of which is `email`; empty when the
    /// IdP sent none, or only `email` as the one `work` and primary address (what SCIM shows
    /// for a person with none kept).
    pub emails: Vec<IdpEmail>,
    /// Display name.
    pub name: String,
    /// `name.givenName`, if sent.
    pub given_name: Option<String>,
    /// `name.familyName`, if sent.
    pub family_name: Option<String>,
    /// The IdP's id for the person (SCIM `externalId`).
    pub external_id: Option<String>,
    /// SCIM `active`: `Some(false)` deactivates the person, `Some(true)` reactivates them,
    /// `None` (the IdP did not send it) keeps their state.
    pub active: Option<bool>,
}

/// What an [`IdpPerson`] holds, checked and normalised as stored.
struct Checked {
    email: String,
    user_name: Option<String>,
    name: String,
    given_name: Option<String>,
    family_name: Option<String>,
    external_id: Option<String>,
    idp_emails: Vec<IdpEmail>,
}

impl IdpPerson {
    /// Validates every field; `user_name` is `None` when the userName is the email.
    fn check(&self) -> CoreResult<Checked> {
        let email = validate::email("emails", &self.email)?;
        let user_name = validate::text("userName", &self.user_name, validate::MAX_EMAIL)?;
        let user_name = validate::email_key(&user_name);
        // The parts first: a bad part is named as such, not as the name made from it.
        let given_name = validate::opt_text(
            "name.givenName",
            self.given_name.as_deref(),
            validate::MAX_LABEL,
        )?;
        let family_name = validate::opt_text(
            "name.familyName",
            self.family_name.as_deref(),
            validate::MAX_LABEL,
        )?;
        let idp_emails = check_emails(&self.emails, &email)?;
        Ok(Checked {
            user_name: (user_name != email).then_some(user_name),
            idp_emails,
            email,
            name: validate::text("name", &self.name, validate::MAX_LABEL)?,
            given_name,
            family_name,
            external_id: validate::opt_text("externalId", self.external_id.as_deref(), 256)?,
        })
    }
}

/// Checks the IdP's addresses (RFC 7643 §4.1.2, §2.4): at most [`MAX_IDP_EMAILS`], each a valid
/// address with its `type` and `display` plain text, at most one `primary`, and `email` (the
/// person's, lowercased) among them. Returns them trimmed and NFC-normalized, case kept.
/// Errors: `Validation` naming `emails`.
fn check_emails(emails: &[IdpEmail], email: &str) -> CoreResult<Vec<IdpEmail>> {
    if emails.len() > MAX_IDP_EMAILS {
        return Err(CoreError::invalid(
            "emails",
            format!("at most {MAX_IDP_EMAILS} addresses are kept per person"),
        ));
    }
    if emails.iter().filter(|e| e.primary == Some(true)).count() > 1 {
        return Err(CoreError::invalid(
            "emails",
            "at most one address is primary (RFC 7643 §2.4)",
        ));
    }
    let mut out = Vec::with_capacity(emails.len());
    for e in emails {
        let value = validate::text("emails.value", &e.value, validate::MAX_EMAIL)?;
        validate::email("emails.value", &value)?;
        out.push(IdpEmail {
            value,
            kind: validate::opt_text("emails.type", e.kind.as_deref(), validate::MAX_LABEL)?,
            primary: e.primary,
            display: validate::opt_text(
                "emails.display",
                e.display.as_deref(),
                validate::MAX_LABEL,
            )?,
        });
    }
    if !out.is_empty() && !out.iter().any(|e| validate::email_key(&e.value) == email) {
        return Err(CoreError::invalid(
            "emails",
            format!(
                "the person's email `{}` must be one of `emails`",
                validate::clip(email)
            ),
        ));
    }
    Ok(out)
}

/// What a write of [`People::reprovision_once`] does besides applying the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A change (PUT, PATCH): a person the IdP deleted is not found.
    Change,
    /// A SCIM DELETE: also marks the person deleted for the IdP (not found from then on).
    Delete,
    /// A create that meets a person the IdP deleted: brings them back.
    Revive,
}

/// Refusal for any IdP change to the workspace owner.
fn owner_refused() -> CoreError {
    CoreError::Forbidden(
        "the workspace owner is managed in Castellan only: the identity provider cannot change \
         or deactivate them"
            .into(),
    )
}

impl People<'_> {
    /// Creates a person from the identity provider with the workspace role `user`: status
    /// `invited` with no invitation token (the IdP has no way to hand one over; an admin renews
    /// the invitation to give it), or `deactivated` when `active` is false. One insert with its
    /// `person.provision` event. Needs `PeopleManage`.
    ///
    /// Errors: `Validation` for a bad email, name or external id; `Conflict` when a person has
    /// this email (emails are lowercased, so the check is case-insensitive).
    pub async fn provision(
        &self,
        permit: &Permit<can::PeopleManage>,
        input: IdpPerson,
    ) -> CoreResult<Person> {
        let actor = permit.actor();
        let c = input.check()?;
        let role = WorkspaceRole::User;
        if !may_manage_role(actor.role, role) {
            return Err(CoreError::Forbidden(format!(
                "your role `{}` may not give the role `{role}`",
                actor.role
            )));
        }
        // A person the IdP deleted comes back with the same id when it creates them again.
        let user_name = c.user_name.as_deref().unwrap_or(&c.email);
        let held = match self.store.person_by_user_name(user_name).await? {
            Some(p) => Some(p),
            None => self.store.person_by_email(&c.email).await?,
        };
        if let Some(gone) = held.filter(|p| p.idp_deleted_at.is_some()) {
            return super::retry_stale(|| {
                self.reprovision_once(permit, gone.id, None, &input, Mode::Revive)
            })
            .await;
        }
        self.require_free(&c, None).await?;
        let now = self.now();
        let status = if input.active == Some(false) {
            PersonStatus::Deactivated
        } else {
            PersonStatus::Invited
        };
        let p = PersonRecord {
            id: PersonId::new(),
            email: c.email,
            name: c.name,
            role,
            status,
            password_hash: None,
            invitation_hash: None,
            invitation_expires_at: None,
            external_id: c.external_id,
            user_name: c.user_name,
            given_name: c.given_name,
            family_name: c.family_name,
            idp_emails: c.idp_emails,
            idp_deleted_at: None,
            two_step: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let ev = NewEvent::new(actor, ActivityAction::PersonProvision, now)
            .target("person", p.id, &p.email)
            .details(json!({ "role": p.role, "status": p.status, "external_id": p.external_id }));
        self.store.insert_person(&p, &ev).await?;
        Ok(Person::from(&p))
    }

    /// Replaces what the identity provider owns of a person (SCIM PUT, or PATCH once applied):
    /// email and the addresses as written, name, external id and, when `input.active` is set,
    /// the state. Nothing is written when nothing changed. `active: false` deactivates through
    /// the same path as an admin's deactivation; `active: true` reactivates a deactivated person
    /// (to `active` when they have a password, else back to `invited`, with no invitation
    /// token). Needs `PeopleManage` and a role that manages the person's.
    ///
    /// `version`: `Some(v)` writes only over the person's version `v` (the one the input was
    /// made from: a PATCH applied to a read, or SCIM `If-Match`), else `Stale`; `None` applies
    /// the input to the person as stored when it is written, reading again while other changes
    /// land ([`retry_stale`](super::retry_stale)).
    ///
    /// Errors: `NotFound`; `Forbidden` for the workspace owner (changed in Castellan only) or a
    /// person above the actor's reach; `Validation`; `Conflict` when another person has the email;
    /// `Stale` as above.
    pub async fn reprovision(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: PersonId,
        version: Option<i64>,
        input: IdpPerson,
    ) -> CoreResult<Person> {
        match version {
            Some(v) => {
                self.reprovision_once(permit, id, Some(v), &input, Mode::Change)
                    .await
            }
            None => {
                super::retry_stale(|| self.reprovision_once(permit, id, None, &input, Mode::Change))
                    .await
            }
        }
    }

    /// One read-change-write of [`People::reprovision`].
    async fn reprovision_once(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: PersonId,
        version: Option<i64>,
        input: &IdpPerson,
        mode: Mode,
    ) -> CoreResult<Person> {
        let actor = permit.actor();
        let mut p = self.person_record(id).await?;
        // Deleted for the IdP: not found, except to the create that brings them back.
        if p.idp_deleted_at.is_some() != (mode == Mode::Revive) {
            return Err(CoreError::NotFound { kind: "person" });
        }
        if version.is_some_and(|v| v != p.version) {
            return Err(CoreError::Stale { kind: "person" });
        }
        if p.role == WorkspaceRole::Owner {
            return Err(owner_refused());
        }
        self.require_manages(actor, &p)?;
        let c = input.check()?;
        let mut changes = Map::new();
        let mut change = |field: &str, from: Value, to: Value| {
            if from != to {
                changes.insert(field.into(), json!({ "from": from, "to": to }));
            }
        };
        if c.email != p.email || c.user_name != p.user_name {
            // Only a new userName or email can collide: a deactivation never meets a 409.
            self.require_free(&c, Some(p.id)).await?;
        }
        change("email", json!(p.email), json!(c.email));
        change("user_name", json!(p.user_name), json!(c.user_name));
        change("name", json!(p.name), json!(c.name));
        change("given_name", json!(p.given_name), json!(c.given_name));
        change("family_name", json!(p.family_name), json!(c.family_name));
        change("external_id", json!(p.external_id), json!(c.external_id));
        change("emails", json!(p.idp_emails), json!(c.idp_emails));
        let status = match (input.active, p.status) {
            (None, s) => s,
            (Some(false), _) => PersonStatus::Deactivated,
            (Some(true), PersonStatus::Deactivated) if p.password_hash.is_some() => {
                PersonStatus::Active
            }
            (Some(true), PersonStatus::Deactivated) => PersonStatus::Invited,
            (Some(true), s) => s,
        };
        change("status", json!(p.status), json!(status));
        let deleted = match mode {
            Mode::Change => p.idp_deleted_at,
            Mode::Delete => Some(self.now()),
            Mode::Revive => None,
        };
        change(
            "idp_deleted",
            json!(p.idp_deleted_at.is_some()),
            json!(deleted.is_some()),
        );
        if changes.is_empty() {
            return Ok(Person::from(&p));
        }
        if p.status == PersonStatus::Deactivated && status != p.status {
            self.require_idp_deactivation(&p).await?;
        }
        changes.insert("source".into(), "idp".into());
        let deactivating = status == PersonStatus::Deactivated && p.status != status;
        p.email = c.email;
        p.user_name = c.user_name;
        p.name = c.name;
        p.given_name = c.given_name;
        p.family_name = c.family_name;
        p.external_id = c.external_id;
        p.idp_emails = c.idp_emails;
        p.status = status;
        p.idp_deleted_at = deleted;
        self.save_change(actor, p, changes, deactivating).await
    }

    /// Refuses a userName or an email another person has (`Conflict`): a person's userName
    /// is their `user_name`, else their email. `me` is the person being changed, if any.
    async fn require_free(&self, c: &Checked, me: Option<PersonId>) -> CoreResult<()> {
        let user_name = c.user_name.as_deref().unwrap_or(&c.email);
        let other = |o: Option<PersonRecord>| o.is_some_and(|o| Some(o.id) != me);
        if other(self.store.person_by_user_name(user_name).await?) {
            return Err(taken("userName", user_name));
        }
        if other(self.store.person_by_email(&c.email).await?) {
            return Err(taken("email", &c.email));
        }
        Ok(())
    }

    /// The identity provider reactivates only whom it deactivated: a person deactivated in
    /// Castellan (by an admin: a leaver, a security response) stays so until an admin
    /// reactivates them, whatever the next sync says. Errors: `Forbidden` naming who deactivated.
    async fn require_idp_deactivation(&self, p: &PersonRecord) -> CoreResult<()> {
        let last = self
            .store
            .events(&ActivityFilter {
                action: Some(ActivityAction::PersonDeactivate.as_str().into()),
                target_id: Some(p.id.to_string()),
                limit: Some(1),
                ..ActivityFilter::default()
            })
            .await?;
        let by_idp = last.first().is_some_and(|e| {
            serde_json::from_str::<Value>(&e.details).is_ok_and(|d| d["source"] == "idp")
        });
        // No deactivation event: the IdP created them deactivated (`person.provision`).
        if by_idp || last.is_empty() {
            return Ok(());
        }
        let who = last
            .first()
            .map_or("in Castellan", |e| e.actor_name.as_str());
        Err(CoreError::Forbidden(format!(
            "this person was deactivated by {who} in Castellan, not by the identity provider: \
             an admin reactivates them in Castellan"
        )))
    }

    /// Deactivates a person for the identity provider (SCIM DELETE, RFC 7644 §3.6: Castellan
    /// never deletes people): the same path as [`People::reprovision`] with `active: false` and
    /// the rest as stored, then takes them out of the teams the identity provider keeps. Deactivating a deactivated person changes nothing. `version` as for
    /// `reprovision` (SCIM `If-Match`). Errors as for `reprovision`.
    pub async fn deprovision(
        &self,
        permit: &Permit<can::PeopleManage>,
        id: PersonId,
        version: Option<i64>,
    ) -> CoreResult<Person> {
        let once = || async {
            let p = self.person_record(id).await?;
            let input = IdpPerson {
                user_name: p.user_name.clone().unwrap_or_else(|| p.email.clone()),
                email: p.email.clone(),
                emails: p.idp_emails.clone(),
                name: p.name.clone(),
                given_name: p.given_name.clone(),
                family_name: p.family_name.clone(),
                external_id: p.external_id.clone(),
                active: Some(false),
            };
            self.reprovision_once(
                permit,
                id,
                Some(version.unwrap_or(p.version)),
                &input,
                Mode::Delete,
            )
            .await
        };
        let p = match version {
            Some(_) => once().await,
            None => super::retry_stale(once).await,
        }?;
        // Gone for SCIM: out of the groups it keeps too (RFC 7644 §3.6: a deleted resource is
        // no longer returned, as a member neither).
        self.leave_idp_teams(permit, id).await?;
        Ok(p)
    }
}

fn taken(what: &str, value: &str) -> CoreError {
    CoreError::Conflict(format!("a person with {what} `{value}` already exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(value: &str, primary: Option<bool>) -> IdpEmail {
        IdpEmail {
            value: value.into(),
            kind: Some(" work ".into()),
            primary,
            display: None,
        }
    }

    #[test]
    fn the_idp_s_emails_are_kept_as_written_and_hold_the_person_s_email() {
        let kept = check_emails(
            &[email(" Ana@X.io ", Some(true)), email("b@x.io", None)],
            "ana@x.io",
        )
        .unwrap();
        assert_eq!(kept[0].value, "Ana@X.io", "trimmed, case kept");
        assert_eq!(kept[0].kind.as_deref(), Some("work"));
        assert_eq!(kept[1].primary, None, "absent stays absent");
        assert!(check_emails(&[], "ana@x.io").unwrap().is_empty());
        let refused = [
            check_emails(&[email("b@x.io", None)], "ana@x.io"),
            check_emails(
                &[email("ana@x.io", Some(true)), email("b@x.io", Some(true))],
                "ana@x.io",
            ),
            check_emails(&[email("not an address", None)], "ana@x.io"),
            check_emails(
                &vec![email("ana@x.io", None); MAX_IDP_EMAILS + 1],
                "ana@x.io",
            ),
        ];
        for r in refused {
            assert!(
                matches!(r, Err(CoreError::Validation { ref field, .. }) if field.starts_with("emails")),
                "{r:?}"
            );
        }
    }
}
