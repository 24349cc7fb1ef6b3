//! The test connector of `connectors_wait_for_the_code_sent_during_a_login`: an "app" that
//! emails a one-time code at every sign-in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo,
    ConnectorRegistry, Invitation, MemberPage,
};
use castellan_core::inbox::InboxCode;
use serde_json::Value;

use super::{swaks, text};

/// A connector for an app that emails a one-time code at every sign-in: its `login` makes the
/// "app" send the code (with swaks, to the automation account's username, its managed address),
/// then waits for it through `ctx.codes`, as a real connector would; a second wait, when no
/// further mail comes, must time out with `None`. What the waits gave is kept for the test.
#[derive(Debug)]
pub struct EmailCodeConnector {
    pub smtp: (String, u16),
    /// The code the "app" sends at sign-in, as written in the mail.
    pub sends: String,
    /// `(first wait, second wait, how long the second took)`.
    pub seen: std::sync::Mutex<Vec<WaitOutcome>>,
}

pub type WaitOutcome = (
    Result<Option<InboxCode>, ConnectorError>,
    Result<Option<InboxCode>, ConnectorError>,
    Duration,
);

#[async_trait::async_trait]
impl Connector for EmailCodeConnector {
    fn describe(&self) -> ConnectorInfo {
        ConnectorInfo {
            name: "synapse".into(),
            roles: vec!["admin".into(), "user".into()],
            capabilities: vec![],
            default_role: "user".into(),
            sign_in: castellan_core::connector::SignIn::Password,
            settings: castellan_core::connector::settings::self_hosted_password(),
        }
    }

    async fn login(&self, ctx: &ConnectorContext) -> Result<AppSession, ConnectorError> {
        let codes = ctx
            .codes
            .clone()
            .ok_or_else(|| ConnectorError::Configuration("the bot gave no code waiter".into()))?;
        let since = chrono::Utc::now();
        let (smtp, to) = (self.smtp.clone(), ctx.username.clone());
        let body = format!(
            "Someone is signing in to your account.\n\nYour sign-in code is {}.\n\nThe team, 1 Main St, 2024-05-01",
            self.sends
        );
        let sender = tokio::task::spawn_blocking(move || {
            // The app takes a moment to send: the waiter must really wait.
            std::thread::sleep(Duration::from_millis(800));
            swaks(&smtp, &to, "Your sign-in code", &body, &[])
        });
        let first = codes.next_code(since, Duration::from_secs(30)).await;
        let sent = sender.await.expect("swaks task");
        assert!(sent.status.success(), "swaks failed: {}", text(&sent));
        let started = Instant::now();
        let second = codes
            .next_code(chrono::Utc::now(), Duration::from_millis(1500))
            .await;
        self.seen
            .lock()
            .unwrap()
            .push((first, second, started.elapsed()));
        Ok(AppSession {
            token: "test-session".to_owned().into(),
            data: Value::Null,
        })
    }

    async fn verify_permissions(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
    ) -> Result<(), ConnectorError> {
        Ok(())
    }

    async fn list_members(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: Option<String>,
    ) -> Result<MemberPage, ConnectorError> {
        Ok(MemberPage {
            members: vec![],
            next: None,
        })
    }

    async fn get_member(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        Ok(None)
    }

    async fn find_by_email(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        Ok(None)
    }

    async fn invite(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &Invitation,
    ) -> Result<AppMember, ConnectorError> {
        Err(ConnectorError::Configuration("not in this test".into()))
    }

    async fn update_role(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &str,
        _: &str,
    ) -> Result<AppMember, ConnectorError> {
        Err(ConnectorError::Configuration("not in this test".into()))
    }

    async fn remove(
        &self,
        _: &ConnectorContext,
        _: &AppSession,
        _: &str,
    ) -> Result<(), ConnectorError> {
        Err(ConnectorError::Configuration("not in this test".into()))
    }
}

/// Every connector name gives the test connector.
#[derive(Debug)]
pub struct OneConnector(pub Arc<EmailCodeConnector>);

impl ConnectorRegistry for OneConnector {
    fn connector(&self, _: &str) -> Option<Arc<dyn Connector>> {
        Some(self.0.clone())
    }
}
