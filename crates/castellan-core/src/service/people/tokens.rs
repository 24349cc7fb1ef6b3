//! Personal API tokens: the [`Sessions`] capability's use cases for one's own tokens
//! (issue, list, revoke); and the workspace's SCIM tokens (the Owner's, for the identity
//! provider: they open only `/scim/v2`).

use castellan_crypto::issue_token;
use secrecy::ExposeSecret;

use super::sessions::{token_days, SCIM_PREFIX, TOKEN_PREFIX};
use crate::activity::{ActivityAction, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::TokenId;
use crate::model::{ApiToken, TokenKind, TokenRecord};
use crate::permissions::{can, Permit};
use crate::service::Sessions;
use crate::validate;

/// A new API token request.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Label.
    pub name: String,
    /// Lifetime in days (1..=365, default 90).
    pub expires_in_days: Option<u32>,
}

/// A newly issued token: the secret is shown once.
#[derive(Debug, Clone)]
pub struct IssuedApiToken {
    /// The token row.
    pub token: ApiToken,
    /// The secret, shown once.
    pub secret: String,
}

impl Sessions<'_> {
    /// Issues a personal API token for the actor (shown once). Needs `TokensManageOwn`.
    pub async fn create_token(
        &self,
        permit: &Permit<can::TokensManageOwn>,
        input: NewToken,
    ) -> CoreResult<IssuedApiToken> {
        self.issue(permit.actor(), TokenKind::Api, input).await
    }

    /// Issues a token of `kind` for `actor` (shown once, stored as its SHA-256 only) and logs
    /// `token.create` (with the kind for a SCIM token). Lifetime: `expires_in_days`, 1..=365;
    /// by default 90 days for an API token, 365 for a SCIM token. Errors: `Validation` for the
    /// name or lifetime; `NotFound` when the actor is no person.
    async fn issue(
        &self,
        actor: &crate::activity::Actor,
        kind: TokenKind,
        input: NewToken,
    ) -> CoreResult<IssuedApiToken> {
        let person = actor
            .person_id
            .ok_or(CoreError::NotFound { kind: "person" })?;
        let name = validate::text("name", &input.name, validate::MAX_LABEL)?;
        let (default_days, prefix) = match kind {
            TokenKind::Api => (90, TOKEN_PREFIX),
            TokenKind::Scim => (365, SCIM_PREFIX),
        };
        let lifetime = token_days(input.expires_in_days, default_days)?;
        let now = self.now();
        let issued = issue_token(prefix);
        let t = TokenRecord {
            kind,
            id: TokenId::new(),
            person_id: person,
            name,
            hash: issued.hash.clone(),
            created_at: now,
            expires_at: Some(now + lifetime),
            last_used_at: None,
            revoked_at: None,
        };
        let mut ev =
            NewEvent::new(actor, ActivityAction::TokenCreate, now).target("token", t.id, &t.name);
        if kind == TokenKind::Scim {
            ev = ev.details(serde_json::json!({ "kind": "scim" }));
        }
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
            .filter(|t| t.kind == TokenKind::Api)
            .map(ApiToken::from)
            .collect())
    }

    /// Revokes one of the actor's API tokens. Errors: `NotFound` if it is not theirs or is a
    /// SCIM token (those are revoked with [`Sessions::revoke_scim_token`]).
    pub async fn revoke_token(
        &self,
        permit: &Permit<can::TokensManageOwn>,
        id: TokenId,
    ) -> CoreResult<()> {
        let actor = permit.actor();
        let person = actor
            .person_id
            .ok_or(CoreError::NotFound { kind: "token" })?;
        let mine = self.store.tokens_of(person).await?;
        if !mine.iter().any(|t| t.id == id && t.kind == TokenKind::Api) {
            return Err(CoreError::NotFound { kind: "token" });
        }
        let ev =
            NewEvent::new(actor, ActivityAction::TokenRevoke, self.now()).target("token", id, "");
        self.store.revoke_token(person, id, self.now(), &ev).await
    }

    /// Issues a SCIM token for the identity provider (RFC 7644 §2: a bearer token), shown once
    /// and stored as its SHA-256 only. It opens `/scim/v2` and nothing else; its calls are
    /// logged with the actor `SCIM (<name>)`. Needs `ScimTokensManage` (the Owner). Lifetime:
    /// `expires_in_days` (1..=365, default 365). Errors: `Validation` for the name or lifetime.
    pub async fn create_scim_token(
        &self,
        permit: &Permit<can::ScimTokensManage>,
        input: NewToken,
    ) -> CoreResult<IssuedApiToken> {
        self.issue(permit.actor(), TokenKind::Scim, input).await
    }

    /// The workspace's SCIM tokens (whoever created them), newest first. Needs
    /// `ScimTokensManage`.
    pub async fn scim_tokens(
        &self,
        _: &Permit<can::ScimTokensManage>,
    ) -> CoreResult<Vec<ApiToken>> {
        Ok(self
            .store
            .tokens_of_kind(TokenKind::Scim)
            .await?
            .iter()
            .map(ApiToken::from)
            .collect())
    }

    /// Revokes a SCIM token: the identity provider's next call gets 401. Needs
    /// `ScimTokensManage`. Errors: `NotFound` when no SCIM token has this id.
    pub async fn revoke_scim_token(
        &self,
        permit: &Permit<can::ScimTokensManage>,
        id: TokenId,
    ) -> CoreResult<()> {
        let ev = NewEvent::new(permit.actor(), ActivityAction::TokenRevoke, self.now())
            .target("token", id, "")
            .details(serde_json::json!({ "kind": "scim" }));
        self.store
            .revoke_token_of_kind(TokenKind::Scim, id, self.now(), &ev)
            .await
    }
}
