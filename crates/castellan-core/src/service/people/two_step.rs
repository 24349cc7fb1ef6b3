//! Two-step sign-in, on the [`Sessions`] capability (one's own) and the [`People`] capability
//! (an admin's reset): a person's own authenticator (RFC 6238 TOTP). Setting it up shows a fresh
//! secret (text, `otpauth://` URI and QR code); turning it on needs a code that matches, and
//! stores the secret sealed with the default vault's data key. Signing in then needs a current
//! code, and a code's time step is accepted only once.

use base64::Engine;
use castellan_crypto::{field_aad, verify_password};
use castellan_otp::{Kind, OtpParams, Secret};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::activity::{ActivityAction, Actor, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::PersonId;
use crate::model::{PersonRecord, PersonTwoStep};
use crate::permissions::{can, Permit};
use crate::service::{blocking, Castellan, People, Sessions};

/// The issuer shown in authenticator apps.
pub const TWO_STEP_ISSUER: &str = "Castellan";
/// Size of a new two-step secret, in bytes (160 bits, RFC 4226 section 4).
pub const TWO_STEP_SECRET_BYTES: usize = 20;
/// Time steps either side of now that a typed code may come from (RFC 6238 section 5.2).
const SKEW_STEPS: u64 = 1;
/// The sealed field's name in its AAD.
const FIELD: &str = "totp_secret";

/// A new authenticator to add to the person's app. Nothing is stored until
/// [`Sessions::enable_two_step`] gets a matching code.
#[derive(Debug, Clone, Serialize)]
pub struct TwoStepEnrollment {
    /// The secret, base32 (to type into the app by hand).
    pub secret: String,
    /// The `otpauth://totp/…` URI (issuer `Castellan`, account the person's email).
    pub uri: String,
    /// PNG of the URI's QR code, base64.
    pub qr_png_base64: String,
}

/// Turning two-step sign-in on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnableTwoStep {
    /// The secret from the enrollment (base32).
    pub secret: SecretString,
    /// The code the authenticator app shows now.
    pub code: String,
}

/// Turning two-step sign-in off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableTwoStep {
    /// The person's password.
    pub password: SecretString,
}

/// Whether two-step sign-in is on.
#[derive(Debug, Clone, Serialize)]
pub struct TwoStepStatus {
    /// On: signing in needs a code.
    pub enabled: bool,
}

/// The authenticator parameters for a person: TOTP, SHA1, 6 digits, 30 seconds (what every
/// authenticator app supports).
fn params(secret: Secret, email: &str) -> OtpParams {
    let mut p = OtpParams::new(Kind::Totp, secret);
    p.issuer = Some(TWO_STEP_ISSUER.into());
    p.label_issuer = Some(TWO_STEP_ISSUER.into());
    p.account_name = Some(email.into());
    p
}

/// A secret typed or sent back for a new authenticator: base32, at least 128 bits.
fn parse_new_secret(secret: &SecretString) -> CoreResult<Secret> {
    let (secret, _) = castellan_otp::parse_secret(secret.expose_secret())
        .map_err(|e| CoreError::invalid("secret", e.to_string()))?;
    if secret.bits() < castellan_otp::RECOMMENDED_MIN_BITS {
        return Err(CoreError::invalid(
            "secret",
            format!(
                "must be at least {} bits",
                castellan_otp::RECOMMENDED_MIN_BITS
            ),
        ));
    }
    Ok(secret)
}

fn enrollment(p: OtpParams) -> CoreResult<TwoStepEnrollment> {
    let png = castellan_otp::qr_png(&p).map_err(CoreError::internal)?;
    Ok(TwoStepEnrollment {
        secret: p.secret.to_base32(),
        uri: castellan_otp::to_uri(&p),
        qr_png_base64: base64::engine::general_purpose::STANDARD.encode(png),
    })
}

fn aad(person: PersonId) -> Vec<u8> {
    field_aad("people", &person.to_string(), FIELD)
}

/// The failure of a typed code, in the words the sign-in page keys on ("two-step").
pub(crate) fn code_not_valid() -> CoreError {
    CoreError::Unauthenticated("the two-step code is not valid".into())
}

impl Castellan {
    pub(super) async fn own_record(
        &self,
        permit: &Permit<can::TokensManageOwn>,
    ) -> CoreResult<PersonRecord> {
        let id = permit
            .actor()
            .person_id
            .ok_or(CoreError::NotFound { kind: "person" })?;
        self.person_record(id).await
    }

    /// Checks the signed-in person's own password before a change to how they sign in; a wrong
    /// one is recorded as `failed_action` and refused as an error on `field`.
    pub(super) async fn confirm_password(
        &self,
        actor: &Actor,
        me: &PersonRecord,
        field: &str,
        password: &SecretString,
        failed_action: ActivityAction,
    ) -> CoreResult<()> {
        let phc = me.password_hash.clone();
        let pw = password.clone();
        let ok = blocking(move || match phc {
            Some(h) => verify_password(pw.expose_secret(), &h),
            None => Ok(false),
        })
        .await??;
        if !ok {
            let ev =
                NewEvent::new(actor, failed_action, self.now()).target("person", me.id, &me.email);
            self.store.append(&ev).await?;
            return Err(CoreError::invalid(field, "the password is not right"));
        }
        Ok(())
    }

    /// The time step `code` matches for a person with two-step sign-in on, or `None`.
    pub(crate) async fn match_two_step(
        &self,
        p: &PersonRecord,
        ts: &PersonTwoStep,
        code: &str,
    ) -> CoreResult<Option<i64>> {
        let (dek_id, dek) = self.data_key(ts.vault_id).await?;
        if dek_id != ts.dek_id {
            return Err(CoreError::internal(format!(
                "the two-step secret of a person was sealed with data key {} which vault {} no longer has",
                ts.dek_id, ts.vault_id
            )));
        }
        let plain = dek.open(&ts.sealed_secret, &aad(p.id))?;
        let b32 = SecretString::from(String::from_utf8(plain).map_err(CoreError::internal)?);
        let (secret, _) =
            castellan_otp::parse_secret(b32.expose_secret()).map_err(CoreError::internal)?;
        let params = params(secret, &p.email);
        Ok(
            castellan_otp::verify_totp(&params, code, self.now_secs(), SKEW_STEPS)
                .map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        )
    }
}

impl Sessions<'_> {
    /// Whether the actor has two-step sign-in on. Any signed-in person.
    pub async fn two_step_status(&self, permit: &Permit<can::TokensManageOwn>) -> CoreResult<bool> {
        Ok(self.own_record(permit).await?.two_step.is_some())
    }

    /// A fresh random 160-bit secret for the actor's authenticator app, as text, URI and QR
    /// code. Stores nothing. Errors: `Conflict` when two-step sign-in is already on.
    pub async fn begin_two_step(
        &self,
        permit: &Permit<can::TokensManageOwn>,
    ) -> CoreResult<TwoStepEnrollment> {
        let me = self.own_record(permit).await?;
        if me.two_step.is_some() {
            return Err(CoreError::Conflict(
                "two-step sign-in is already on; turn it off first to set up a new authenticator"
                    .into(),
            ));
        }
        let mut bytes = vec![0u8; TWO_STEP_SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        enrollment(params(Secret::from_bytes(bytes), &me.email))
    }

    /// The enrollment for a secret given back by the person's browser (to show the QR code
    /// again after a code that did not match). Stores nothing. Errors: `Validation` on `secret`
    /// (not base32, under 128 bits), `Conflict` when two-step sign-in is already on.
    pub async fn resume_two_step(
        &self,
        permit: &Permit<can::TokensManageOwn>,
        secret: &SecretString,
    ) -> CoreResult<TwoStepEnrollment> {
        let me = self.own_record(permit).await?;
        if me.two_step.is_some() {
            return Err(CoreError::Conflict("two-step sign-in is already on".into()));
        }
        enrollment(params(parse_new_secret(secret)?, &me.email))
    }

    /// Turns two-step sign-in on with `secret` (from [`Sessions::begin_two_step`]) once `code`
    /// matches it (±1 time step). The secret is sealed with the default vault's data key; the
    /// code's step counts as used. Recorded as `person.two_step_enable`. Errors: `Validation`
    /// on `password` (not the person's own: the change needs it, so a hijacked session cannot
    /// lock the person out), `secret` (not base32, under 128 bits) or `code` (empty, or does
    /// not match); `Conflict` when already on.
    pub async fn enable_two_step(
        &self,
        permit: &Permit<can::TokensManageOwn>,
        secret: &SecretString,
        code: &str,
        password: &SecretString,
    ) -> CoreResult<()> {
        let actor = permit.actor();
        let me = self.own_record(permit).await?;
        if me.two_step.is_some() {
            return Err(CoreError::Conflict("two-step sign-in is already on".into()));
        }
        self.confirm_password(
            actor,
            &me,
            "password",
            password,
            ActivityAction::PersonTwoStepEnableFailed,
        )
        .await?;
        let secret = parse_new_secret(secret)?;
        let code = code.trim();
        if code.is_empty() || code.len() > 20 {
            return Err(CoreError::invalid(
                "code",
                "type the 6-digit code your authenticator app shows",
            ));
        }
        let p = params(secret, &me.email);
        let step = castellan_otp::verify_totp(&p, code, self.now_secs(), SKEW_STEPS).ok_or_else(|| {
            CoreError::invalid(
                "code",
                "the code does not match; check that your phone's clock is right and type the current code",
            )
        })?;
        let vault = self.default_vault().await?;
        let (dek_id, dek) = self.data_key(vault.id).await?;
        let sealed = dek.seal(p.secret.to_base32().as_bytes(), &aad(me.id));
        let ts = PersonTwoStep {
            sealed_secret: sealed,
            vault_id: vault.id,
            dek_id,
            last_step: Some(i64::try_from(step).unwrap_or(i64::MAX)),
        };
        let ev = NewEvent::new(actor, ActivityAction::PersonTwoStepEnable, self.now())
            .target("person", me.id, &me.email);
        self.store.set_person_two_step(me.id, Some(&ts), &ev).await
    }

    /// Turns the actor's two-step sign-in off; needs their password. Recorded as
    /// `person.two_step_disable`. Errors: `Validation` on `password` when it is wrong,
    /// `Conflict` when two-step sign-in is off.
    pub async fn disable_two_step(
        &self,
        permit: &Permit<can::TokensManageOwn>,
        password: &SecretString,
    ) -> CoreResult<()> {
        let actor = permit.actor();
        let me = self.own_record(permit).await?;
        if me.two_step.is_none() {
            return Err(CoreError::Conflict("two-step sign-in is off".into()));
        }
        self.confirm_password(
            actor,
            &me,
            "password",
            password,
            ActivityAction::PersonTwoStepDisableFailed,
        )
        .await?;
        let ev = NewEvent::new(actor, ActivityAction::PersonTwoStepDisable, self.now())
            .target("person", me.id, &me.email);
        self.store.set_person_two_step(me.id, None, &ev).await
    }
}

impl People<'_> {
    /// An admin turns another person's two-step sign-in off (a lost phone). Needs
    /// `PeopleManage` and a role that may manage the person's role. Recorded as
    /// `person.two_step_reset`. Errors: `Forbidden`, `NotFound`, `Conflict` when it is off.
    pub async fn reset_two_step(
        &self,
        permit: &Permit<can::PeopleManage>,
        person: PersonId,
    ) -> CoreResult<()> {
        let actor = permit.actor();
        let p = self.person_record(person).await?;
        self.require_manages(actor, &p)?;
        if p.two_step.is_none() {
            return Err(CoreError::Conflict(
                "this person has two-step sign-in off".into(),
            ));
        }
        let ev = NewEvent::new(actor, ActivityAction::PersonTwoStepReset, self.now())
            .target("person", p.id, &p.email);
        self.store.set_person_two_step(p.id, None, &ev).await
    }
}
