//! Personal API tokens: the [`Sessions`] capability's use cases for one's own tokens
//! (issue, list, revoke).

use castellan_crypto::issue_token;
use secrecy::ExposeSecret;

use super::sessions::{token_days, TOKEN_PREFIX};
use crate::activity::{ActivityAction, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::TokenId;
use crate::model::{ApiToken, TokenRecord};
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
        let ev = NewEvent::new(actor, ActivityAction::TokenCreate, self.now())
            .target("token", t.id, &t.name);
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
        let ev =
            NewEvent::new(actor, ActivityAction::TokenRevoke, self.now()).target("token", id, "");
        self.store.revoke_token(person, id, self.now(), &ev).await
    }
}
