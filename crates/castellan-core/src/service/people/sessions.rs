//! The [`Sessions`] capability, signing in: setup (init and claim), sign-in, accepting an
//! invitation, and authenticating a presented token.

use castellan_crypto::{hash_token, issue_token, verify_password, DataKey};
use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::activity::{ActivityAction, Actor, ActorKind, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::{PersonId, TokenId, VaultId, WorkspaceId};
use crate::model::{
    Person, PersonRecord, PersonStatus, TokenKind, TokenRecord, Vault, VaultKind, Workspace,
    WorkspaceRole,
};
use crate::service::{blocking, Sessions};
use crate::validate;

/// Prefix of personal API tokens.
pub const TOKEN_PREFIX: &str = "cst";
/// Prefix of web session tokens (the web app's session cookie). Disjoint from
/// [`TOKEN_PREFIX`] tokens (`cst_…`): the API refuses these, and the web app accepts only these.
pub const SESSION_PREFIX: &str = "cstweb";
/// Prefix of SCIM tokens (the identity provider's; they open only `/scim/v2`).
pub const SCIM_PREFIX: &str = "cstscim";
/// Where a token is presented to [`Sessions::authenticate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// `Authorization: Bearer` on the API: API tokens only.
    Api,
    /// `Authorization: Bearer` on `/scim/v2`: SCIM tokens only.
    Scim,
    /// The web app's session cookie: web session tokens only.
    WebSession,
}

/// Prefix of setup tokens.
pub const SETUP_PREFIX: &str = "cst_setup";
/// Prefix of invitation tokens.
pub const INVITE_PREFIX: &str = "cst_invite";
/// A token's use is written to the activity log at most once per this window (seconds).
pub const TOKEN_USE_LOG_WINDOW_SECS: i64 = 300;
/// Shortest person password, in characters (NIST SP 800-63B section 5.1.1.2).
pub const MIN_PERSON_PASSWORD: usize = 12;

/// Whether the workspace exists and has an owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetupStatus {
    /// A workspace exists.
    pub initialized: bool,
    /// The owner has claimed it.
    pub claimed: bool,
    /// Workspace name, when initialized.
    pub workspace_name: Option<String>,
}

/// Claiming the workspace with the setup token.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The setup token printed by `castellan serve` / `castellan init`.
    pub setup_token: SecretString,
    /// The owner's email.
    pub email: String,
    /// The owner's name.
    pub name: String,
    /// The owner's password (at least 12 characters).
    pub password: SecretString,
}

/// Signing in with email and password.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// Email.
    pub email: String,
    /// Password.
    pub password: SecretString,
    /// The person's current two-step code (RFC 6238 TOTP, 6 digits), required when they have
    /// set up two-step sign-in.
    pub totp_code: Option<String>,
    /// Label for the token created (default "sign-in").
    pub token_name: Option<String>,
    /// Token lifetime in days (1..=365, default 30).
    pub expires_in_days: Option<u32>,
    /// Issue a web session token ([`SESSION_PREFIX`]) instead of an API token. Not part of the
    /// API body: only the web app sets it.
    pub web_session: bool,
}

/// A person and the token issued to them (shown once).
#[derive(Debug, Clone)]
pub struct ClaimResult {
    /// The person.
    pub person: Person,
    /// The new API token: shown once, stored only as a hash.
    pub token: String,
    /// Token id.
    pub token_id: TokenId,
}

pub(crate) fn person_password(field: &str, pw: &SecretString) -> CoreResult<()> {
    let p = pw.expose_secret();
    let n = p.chars().count();
    if n < MIN_PERSON_PASSWORD {
        return Err(CoreError::invalid(
            field,
            format!("must be at least {MIN_PERSON_PASSWORD} characters"),
        ));
    }
    validate::secret(field, p, 1024)
}

/// `actor` (an anonymous caller) as the person `p`: for events the person is the author of
/// (accepting an invitation, using a reset link).
pub(crate) fn acting_as(actor: &Actor, p: &PersonRecord) -> Actor {
    let mut me = actor.clone();
    me.kind = ActorKind::Person;
    me.person_id = Some(p.id);
    me.role = p.role;
    me.name = p.email.clone();
    me
}

pub(crate) fn token_days(days: Option<u32>, default: u32) -> CoreResult<chrono::Duration> {
    let d = days.unwrap_or(default);
    if !(1..=365).contains(&d) {
        return Err(CoreError::invalid(
            "expires_in_days",
            "must be between 1 and 365",
        ));
    }
    Ok(Duration::days(i64::from(d)))
}

impl Sessions<'_> {
    /// Creates the workspace, its default cloud vault (with a fresh data key wrapped by the active
    /// master key) and a setup token. Returns `Some(setup token)` when it created the workspace,
    /// `None` when one already existed (idempotent).
    pub async fn init(&self, workspace_name: &str) -> CoreResult<Option<SecretString>> {
        if self.store.workspace().await?.is_some() {
            return Ok(None);
        }
        let name = validate::text("workspace_name", workspace_name, validate::MAX_LABEL)?;
        let now = self.now();
        let token = issue_token(SETUP_PREFIX);
        let ws = Workspace {
            id: WorkspaceId::new(),
            name: name.clone(),
            setup_token_hash: Some(token.hash.clone()),
            created_at: now,
        };
        let vault = Vault {
            id: VaultId::new(),
            name: "Shared".into(),
            description: Some("The default cloud vault".into()),
            kind: VaultKind::Cloud,
            is_default: true,
            created_at: now,
        };
        let (key, _) = self.wrap_new_data_key(vault.id, &DataKey::generate())?;
        let actor = Actor::system("castellan init");
        let ev = NewEvent::new(&actor, ActivityAction::WorkspaceCreate, self.now()).target(
            "workspace",
            ws.id,
            &name,
        );
        self.store.create_workspace(&ws, &vault, &key, &ev).await?;
        Ok(Some(token.secret))
    }

    /// Issues a new setup token while the workspace is unclaimed (the old one stops working).
    /// Errors: `Conflict` when already claimed or not initialized.
    pub async fn new_setup_token(&self) -> CoreResult<SecretString> {
        let token = issue_token(SETUP_PREFIX);
        let ev = NewEvent::new(
            &Actor::system("castellan init"),
            ActivityAction::WorkspaceSetupTokenReset,
            self.now(),
        );
        if self.store.reset_setup_token(&token.hash, &ev).await? {
            Ok(token.secret)
        } else {
            Err(CoreError::Conflict(
                "the workspace is already claimed".into(),
            ))
        }
    }

    /// Whether the workspace exists and is claimed.
    pub async fn setup_status(&self) -> CoreResult<SetupStatus> {
        let ws = self.store.workspace().await?;
        Ok(SetupStatus {
            initialized: ws.is_some(),
            claimed: ws.as_ref().is_some_and(|w| w.setup_token_hash.is_none()),
            workspace_name: ws.map(|w| w.name),
        })
    }

    /// The Owner claims the workspace with the setup token. Returns the owner and a first API
    /// token. Errors: `Unauthenticated` for a wrong token, `Conflict` when already claimed,
    /// `Validation` for bad email, name or a password under 12 characters.
    pub async fn claim(&self, actor: &Actor, c: Claim) -> CoreResult<ClaimResult> {
        let email = validate::email("email", &c.email)?;
        let name = validate::text("name", &c.name, validate::MAX_LABEL)?;
        person_password("password", &c.password)?;
        let ws = self.store.workspace().await?.ok_or_else(|| {
            CoreError::Conflict("the workspace is not initialized; run `castellan init`".into())
        })?;
        let Some(expected) = ws.setup_token_hash else {
            return Err(CoreError::Conflict(
                "the workspace is already claimed".into(),
            ));
        };
        let given = hash_token(c.setup_token.expose_secret().trim());
        if !castellan_crypto::hashes_equal(&given, &expected) {
            let ev = NewEvent::new(actor, ActivityAction::WorkspaceClaimFailed, self.now());
            self.store.append(&ev).await?;
            return Err(CoreError::Unauthenticated(
                "the setup token is not valid".into(),
            ));
        }
        let phc = self.hash_new_password(&c.password).await?;
        let now = self.now();
        let owner = PersonRecord {
            id: PersonId::new(),
            email,
            name,
            role: WorkspaceRole::Owner,
            status: PersonStatus::Active,
            password_hash: Some(phc),
            invitation_hash: None,
            invitation_expires_at: None,
            external_id: None,
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
        let issued = issue_token(TOKEN_PREFIX);
        let token = TokenRecord {
            kind: crate::model::TokenKind::Api,
            id: TokenId::new(),
            person_id: owner.id,
            name: "setup".into(),
            hash: issued.hash.clone(),
            created_at: now,
            expires_at: Some(now + Duration::days(30)),
            last_used_at: None,
            revoked_at: None,
        };
        let mut owner_actor = actor.clone();
        owner_actor.kind = ActorKind::Person;
        owner_actor.person_id = Some(owner.id);
        owner_actor.name = owner.email.clone();
        let ev = NewEvent::new(&owner_actor, ActivityAction::WorkspaceClaim, self.now()).target(
            "person",
            owner.id,
            &owner.email,
        );
        if !self
            .store
            .claim_workspace(&expected, &owner, &token, &ev)
            .await?
        {
            return Err(CoreError::Conflict(
                "the workspace is already claimed".into(),
            ));
        }
        Ok(ClaimResult {
            person: Person::from(&owner),
            token: issued.secret.expose_secret().to_owned(),
            token_id: token.id,
        })
    }

    /// Signs in with email and password and issues an API token. Every attempt is recorded
    /// (`auth.sign_in` or `auth.sign_in_failed`). Errors: `Unauthenticated` with one message for
    /// unknown email, wrong password or inactive person (no account enumeration). When the person
    /// has two-step sign-in on, and only once the password checked out, `totp_code` must be a
    /// current code whose time step was not used before: `Unauthenticated("a two-step code is
    /// required")` without one, `Unauthenticated("the two-step code is not valid")` for a wrong
    /// or reused one. The accepted step and the new token are stored in one transaction.
    pub async fn sign_in(&self, actor: &Actor, s: SignIn) -> CoreResult<ClaimResult> {
        let lifetime = token_days(s.expires_in_days, 30)?;
        let token_name =
            validate::opt_text("token_name", s.token_name.as_deref(), validate::MAX_LABEL)?
                .unwrap_or_else(|| "sign-in".into());
        let email = validate::email_key(&s.email);
        let person = if email.is_empty() {
            None
        } else {
            self.store.person_by_email(&email).await?
        };
        let phc = person.as_ref().and_then(|p| p.password_hash.clone());
        let pw = s.password.clone();
        // Verify against a dummy hash when the person is unknown, so timing does not tell.
        let ok = blocking(move || match phc {
            Some(h) => verify_password(pw.expose_secret(), &h),
            None => verify_password(pw.expose_secret(), DUMMY_PHC).map(|_| false),
        })
        .await??;
        let person = match person {
            Some(p) if ok && p.status == PersonStatus::Active => p,
            _ => {
                let mut ev = NewEvent::new(actor, ActivityAction::AuthSignInFailed, self.now());
                if let Some(p) = &person {
                    ev = ev.target("person", p.id, &p.email);
                }
                self.store.append(&ev).await?;
                return Err(CoreError::Unauthenticated("wrong email or password".into()));
            }
        };
        let now = self.now();
        let issued = issue_token(if s.web_session {
            SESSION_PREFIX
        } else {
            TOKEN_PREFIX
        });
        let token = TokenRecord {
            kind: crate::model::TokenKind::Api,
            id: TokenId::new(),
            person_id: person.id,
            name: token_name,
            hash: issued.hash.clone(),
            created_at: now,
            expires_at: Some(now + lifetime),
            last_used_at: None,
            revoked_at: None,
        };
        let mut me = acting_as(actor, &person);
        me.token_id = Some(token.id);
        let ev = NewEvent::new(&me, ActivityAction::AuthSignIn, self.now()).target(
            "person",
            person.id,
            &person.email,
        );
        match &person.two_step {
            None => self.store.insert_token(&token, &ev).await?,
            Some(ts) => {
                // Only now, after the password checked out, does the answer mention a code.
                let code = s.totp_code.as_deref().map(str::trim).unwrap_or_default();
                let failed = |reason: &str| {
                    NewEvent::new(actor, ActivityAction::AuthSignInFailed, self.now())
                        .target("person", person.id, &person.email)
                        .details(serde_json::json!({ "reason": reason }))
                };
                if code.is_empty() {
                    self.store.append(&failed("two_step_code_missing")).await?;
                    return Err(CoreError::Unauthenticated(
                        "a two-step code is required".into(),
                    ));
                }
                let step = if code.len() > 20 {
                    None
                } else {
                    self.match_two_step(&person, ts, code).await?
                };
                let Some(step) = step else {
                    self.store.append(&failed("two_step_code_wrong")).await?;
                    return Err(super::two_step::code_not_valid());
                };
                if !self
                    .store
                    .sign_in_with_step(person.id, step, &token, &ev)
                    .await?
                {
                    self.store.append(&failed("two_step_code_reused")).await?;
                    return Err(super::two_step::code_not_valid());
                }
            }
        }
        Ok(ClaimResult {
            person: Person::from(&person),
            token: issued.secret.expose_secret().to_owned(),
            token_id: token.id,
        })
    }

    /// Accepts an invitation: sets the person's password and activates them. Errors:
    /// `Unauthenticated` for an unknown or expired invitation.
    pub async fn accept_invitation(
        &self,
        actor: &Actor,
        email: &str,
        invitation: &SecretString,
        password: &SecretString,
    ) -> CoreResult<Person> {
        person_password("password", password)?;
        let email = validate::email_key(email);
        let bad =
            || CoreError::Unauthenticated("the invitation is not valid or has expired".into());
        let mut p = self.store.person_by_email(&email).await?.ok_or_else(bad)?;
        let given = hash_token(invitation.expose_secret().trim());
        let valid = p.status == PersonStatus::Invited
            && p.invitation_hash
                .as_deref()
                .is_some_and(|h| castellan_crypto::hashes_equal(h, &given))
            && p.invitation_expires_at.is_some_and(|t| t > self.now());
        if !valid {
            return Err(bad());
        }
        p.password_hash = Some(self.hash_new_password(password).await?);
        p.invitation_hash = None;
        p.invitation_expires_at = None;
        p.status = PersonStatus::Active;
        p.updated_at = self.now();
        let ev = NewEvent::new(
            &acting_as(actor, &p),
            ActivityAction::PersonAcceptInvitation,
            self.now(),
        )
        .target("person", p.id, &p.email);
        self.store.update_person(&p, &ev).await?;
        p.version += 1;
        Ok(Person::from(&p))
    }

    /// Resolves a token to an actor. `used_as` says where it was presented: web session tokens
    /// ([`SESSION_PREFIX`]) open only pages and API tokens only the API, so a stolen session
    /// cookie cannot be used to mint API tokens. Refuses unknown, revoked and expired tokens and
    /// tokens of people who are not active (`Unauthenticated`). Records the use (`token.use`,
    /// at most once per token per 5 minutes; mutations are recorded with the token id anyway).
    pub async fn authenticate(
        &self,
        bearer: &str,
        used_as: TokenUse,
        source_ip: Option<String>,
        user_agent: Option<String>,
    ) -> CoreResult<Actor> {
        let is_session = bearer.trim().starts_with(&format!("{SESSION_PREFIX}_"));
        match (used_as, is_session) {
            (TokenUse::Scim, true) => {
                return Err(CoreError::Unauthenticated(
                    "a web session cannot call SCIM; the workspace Owner creates a SCIM token \
                     (POST /api/v1/scim/tokens)"
                        .into(),
                ))
            }
            (TokenUse::Api, true) => {
                return Err(CoreError::Unauthenticated(
                    "a web session cannot be used as an API token; create an API token \
                     (`castellan tokens create` or POST /api/v1/tokens)"
                        .into(),
                ))
            }
            (TokenUse::WebSession, false) => {
                return Err(CoreError::Unauthenticated(
                    "an API token is not a web session; sign in".into(),
                ))
            }
            _ => {}
        }
        let hash = hash_token(bearer.trim());
        let bad = |why: &str| CoreError::Unauthenticated(format!("the API token {why}"));
        let (t, p) = self
            .store
            .token_by_hash(&hash)
            .await?
            .ok_or_else(|| bad("is not valid"))?;
        let now = self.now();
        if t.revoked_at.is_some() {
            return Err(bad("was revoked"));
        }
        if t.expires_at.is_some_and(|e| e <= now) {
            return Err(bad("has expired"));
        }
        if p.status != PersonStatus::Active {
            return Err(bad("belongs to a person who is not active"));
        }
        match (used_as, t.kind) {
            (TokenUse::Scim, TokenKind::Api) => {
                return Err(CoreError::Unauthenticated(
                    "an API token cannot call SCIM; the workspace Owner creates a SCIM token \
                     (POST /api/v1/scim/tokens)"
                        .into(),
                ))
            }
            (TokenUse::Api | TokenUse::WebSession, TokenKind::Scim) => {
                return Err(CoreError::Unauthenticated(
                    "a SCIM token can only call /scim/v2".into(),
                ))
            }
            _ => {}
        }
        // A SCIM token acts with its creator's role, named after the token in the log.
        let name = match t.kind {
            TokenKind::Scim => format!("SCIM ({})", t.name),
            TokenKind::Api => p.email.clone(),
        };
        let actor = Actor {
            kind: ActorKind::Person,
            person_id: Some(p.id),
            role: p.role,
            name,
            token_id: Some(t.id),
            source_ip,
            user_agent,
            scim_request: None,
        };
        // Touching takes the write lock: skip it when the token was used in the last minute
        // (`last_used_at` is then precise to a minute; the log keeps one `token.use` per window).
        if t.last_used_at
            .is_none_or(|last| now - last > Duration::seconds(60))
        {
            let ev = NewEvent::new(&actor, ActivityAction::TokenUse, self.now())
                .target("token", t.id, &t.name);
            self.store
                .touch_token(t.id, now, Duration::seconds(TOKEN_USE_LOG_WINDOW_SECS), &ev)
                .await?;
        }
        Ok(actor)
    }
}

/// An Argon2id hash of a random string, verified against when the email is unknown.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$2Nh9hRjh5V0Xm0VZt6iXr7G5wSLdo3a8g2d6wnYVb4Q";
