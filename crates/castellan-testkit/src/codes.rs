//! [`FakeCodeWaiter`]: the shared inbox as a connector sees it during a login
//! ([`CodeWaiter`]), fed by the test with codes instead of emails and SMS.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use castellan_core::activity::truncate_ms;
use castellan_core::connector::{CodeWaiter, ConnectorError};
use castellan_core::ids::AccountId;
use castellan_core::inbox::{InboxCode, InboxKind, InboxMessageId};
use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
struct Inbox {
    codes: Vec<InboxCode>,
    asked: Vec<(DateTime<Utc>, Duration)>,
    failure: Option<ConnectorError>,
}

/// A fake inbox for one automation account. Cheap to clone: clones share the inbox.
///
/// [`CodeWaiter::next_code`] answers like the bot's waiter: the newest delivered code received
/// at or after `since` (compared in milliseconds), or `None` at once when there is none (it
/// never sleeps, whatever the timeout).
#[derive(Debug, Clone)]
pub struct FakeCodeWaiter {
    account: AccountId,
    inbox: Arc<Mutex<Inbox>>,
}

impl FakeCodeWaiter {
    /// An empty inbox for `account`.
    pub fn new(account: AccountId) -> Self {
        Self {
            account,
            inbox: Arc::new(Mutex::new(Inbox::default())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers an email carrying `code`, received at `at`; returns what a waiter will see.
    pub fn deliver_at(&self, code: &str, at: DateTime<Utc>) -> InboxCode {
        let c = InboxCode {
            message_id: InboxMessageId::new(),
            account_id: self.account,
            kind: InboxKind::Email,
            code: Some(code.to_owned()),
            link: None,
            from: "no-reply@app.example".into(),
            received_at: truncate_ms(at),
            expires_at: Some(truncate_ms(at) + chrono::Duration::minutes(10)),
        };
        self.lock().codes.push(c.clone());
        c
    }

    /// Delivers an email carrying `code`, received now.
    pub fn deliver(&self, code: &str) -> InboxCode {
        self.deliver_at(code, Utc::now())
    }

    /// Every `next_code` call so far: its `since` and `timeout`.
    pub fn requests(&self) -> Vec<(DateTime<Utc>, Duration)> {
        self.lock().asked.clone()
    }

    /// With `Some(error)`, every `next_code` call fails with it (e.g. `Unavailable`).
    pub fn set_failure(&self, error: Option<ConnectorError>) {
        self.lock().failure = error;
    }
}

#[async_trait]
impl CodeWaiter for FakeCodeWaiter {
    async fn next_code(
        &self,
        since: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<Option<InboxCode>, ConnectorError> {
        let mut inbox = self.lock();
        inbox.asked.push((since, timeout));
        if let Some(e) = &inbox.failure {
            return Err(e.clone());
        }
        let since = truncate_ms(since);
        Ok(inbox
            .codes
            .iter()
            .filter(|c| c.received_at >= since)
            .max_by_key(|c| c.received_at)
            .cloned())
    }
}
