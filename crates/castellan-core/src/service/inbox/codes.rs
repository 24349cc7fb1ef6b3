//! Codes, on the [`Inbox`] capability: the newest code or link received for an account, waiting
//! for one to arrive, and the bot's [`CodeWaiter`] that reads them as the bot.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MAX_CODE_WAIT;
use crate::activity::{truncate_ms, ActivityAction, NewEvent};
use crate::connector::{CodeWaiter, ConnectorError};
use crate::error::{CoreError, CoreResult};
use crate::ids::AccountId;
use crate::inbox::{InboxCode, InboxFilter};
use crate::permissions::{can, ItemAction, Permit};
use crate::service::{Castellan, Inbox};

/// How often a waiting code read looks at the store.
const CODE_POLL: Duration = Duration::from_millis(500);

/// The bot's [`CodeWaiter`]: waits for codes sent to one automation account by reading the
/// shared inbox as the bot ([`Inbox::wait_for_code`]), so each code handed to a connector is
/// recorded as `inbox.code_read` with the bot as the actor.
pub(crate) struct InboxCodeWaiter {
    svc: Castellan,
    account: AccountId,
    permit: Permit<can::AccountRead>,
    max_wait: Duration,
}

impl InboxCodeWaiter {
    /// A waiter for `account`'s codes, reading with `permit`; each wait is capped at
    /// `max_wait` (and at [`MAX_CODE_WAIT`]).
    pub(crate) fn new(
        svc: Castellan,
        account: AccountId,
        permit: Permit<can::AccountRead>,
        max_wait: Duration,
    ) -> Self {
        Self {
            svc,
            account,
            permit,
            max_wait: max_wait.min(MAX_CODE_WAIT),
        }
    }
}

impl std::fmt::Debug for InboxCodeWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxCodeWaiter")
            .field("account", &self.account)
            .field("actor", &self.permit.actor().name)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CodeWaiter for InboxCodeWaiter {
    async fn next_code(
        &self,
        since: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<Option<InboxCode>, ConnectorError> {
        let wait = timeout.min(self.max_wait);
        self.svc
            .inbox()
            .wait_for_code(&self.permit, self.account, Some(truncate_ms(since)), wait)
            .await
            .map_err(|e| match e {
                CoreError::Unavailable(detail) | CoreError::Internal(detail) => {
                    tracing::warn!(
                        account_id = %self.account,
                        error = %detail,
                        "a connector could not read the shared inbox"
                    );
                    ConnectorError::Unavailable(
                        "cannot read the automation account's shared inbox now".into(),
                    )
                }
                other => ConnectorError::Configuration(format!(
                    "cannot read the automation account's shared inbox: {other}"
                )),
            })
    }
}

impl Inbox<'_> {
    /// The newest code or link received for an account: at or after `since` when given, else
    /// the newest one that has not expired. `None` when there is none. Needs `AccountRead` and
    /// an item role that may view the account. Recorded as `inbox.code_read`.
    pub async fn latest_code(
        &self,
        permit: &Permit<can::AccountRead>,
        account: AccountId,
        since: Option<DateTime<Utc>>,
    ) -> CoreResult<Option<InboxCode>> {
        self.wait_for_code(permit, account, since, Duration::ZERO)
            .await
    }

    /// Like [`Inbox::latest_code`], waiting up to `wait` (at most [`MAX_CODE_WAIT`]) for a
    /// message to arrive: the store is read every 500 ms. The bot calls this with
    /// `Actor::bot(..)` during a login that sends a code by email or SMS.
    pub async fn wait_for_code(
        &self,
        permit: &Permit<can::AccountRead>,
        account: AccountId,
        since: Option<DateTime<Utc>>,
        wait: Duration,
    ) -> CoreResult<Option<InboxCode>> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, account, ItemAction::View).await?;
        let deadline = tokio::time::Instant::now() + wait.min(MAX_CODE_WAIT);
        loop {
            let f = InboxFilter {
                account_id: Some(a.id),
                since,
                valid_at: since.is_none().then(Utc::now),
                with_code_or_link: true,
                limit: Some(1),
                ..InboxFilter::default()
            };
            if let Some(r) = self.store.inbox_messages(&f).await?.into_iter().next() {
                let c = self.open_content(&r).await?;
                let ev = NewEvent::new(actor, ActivityAction::InboxCodeRead, self.now())
                    .target("account", a.id, &a.label)
                    .details(serde_json::json!({ "message_id": r.id, "kind": r.kind }));
                self.store.append(&ev).await?;
                return Ok(Some(InboxCode {
                    message_id: r.id,
                    account_id: a.id,
                    kind: r.kind,
                    code: c.code,
                    link: c.link,
                    from: r.from,
                    received_at: r.received_at,
                    expires_at: r.expires_at,
                }));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(CODE_POLL.min(deadline - now)).await;
        }
    }
}
