//! Redmine's users, the session token and list cursors as the connector reads and writes them.

use castellan_core::connector::{AppMember, AppSession, ConnectorError, MemberState};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{LOGIN_MAX, NAME_MAX, STATUSES, STATUS_ACTIVE, STATUS_LOCKED, STATUS_REGISTERED};
use crate::sdk::members::{admin_role, email_local_part};
use crate::sdk::paging::AnchoredOffset;
use crate::sdk::usernames::capitalized;

// ---- session, cursor, members --------------------------------------------------------------------

/// The secret half of a [`AppSession`]: the API key for the REST API and the web session's
/// cookies (kept for web-only pages), as JSON inside the `SecretString`.
pub(super) struct SessionToken {
    pub(super) api_key: SecretString,
    pub(super) cookie: SecretString,
}

impl SessionToken {
    pub(super) fn encode(&self) -> SecretString {
        SecretString::from(
            json!({
                "api_key": self.api_key.expose_secret(),
                "cookie": self.cookie.expose_secret(),
            })
            .to_string(),
        )
    }

    pub(super) fn parse(s: &AppSession) -> Result<Self, ConnectorError> {
        let bad = || {
            ConnectorError::Configuration(
                "the session is not a Redmine session; log in again".into(),
            )
        };
        let v: Value = serde_json::from_str(s.token.expose_secret()).map_err(|_| bad())?;
        let field = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(|x| SecretString::from(x.to_owned()))
        };
        Ok(Self {
            api_key: field("api_key").ok_or_else(bad)?,
            cookie: field("cookie").unwrap_or_else(|| SecretString::from(String::new())),
        })
    }
}

pub(super) fn session_user(s: &AppSession) -> Option<u64> {
    s.data.get("user_id").and_then(Value::as_u64)
}

/// Opaque list cursor: `<status>:<offset>[:<login of the previous page's last user>]`, an
/// [`AnchoredOffset`] within one status (the list does not report statuses, so it is listed
/// status by status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cursor {
    pub(super) status: u8,
    pub(super) at: AnchoredOffset,
}

impl Cursor {
    pub(super) fn start(status: u8) -> Self {
        Self {
            status,
            at: AnchoredOffset::default(),
        }
    }

    pub(super) fn parse(raw: &str) -> Result<Self, ConnectorError> {
        let bad = || ConnectorError::Configuration(format!("not a Redmine member cursor: {raw:?}"));
        let (status, rest) = raw.split_once(':').ok_or_else(bad)?;
        let status: u8 = status.parse().map_err(|_| bad())?;
        if !STATUSES.contains(&status) {
            return Err(bad());
        }
        let at = AnchoredOffset::parse(rest).ok_or_else(bad)?;
        Ok(Self { status, at })
    }

    pub(super) fn encode(&self) -> String {
        format!("{}:{}", self.status, self.at.encode())
    }
}

/// A user as Redmine reports it, with the fields the connector decides on.
#[derive(Debug, Clone)]
pub(super) struct RedmineUser {
    pub(super) id: u64,
    pub(super) login: String,
    pub(super) member: AppMember,
}

impl RedmineUser {
    /// From a list row (whose status is the list's `status` filter) or a user's details (which
    /// report `status` to administrators).
    pub(super) fn from_json(v: &Value, listed_status: Option<u8>) -> Option<Self> {
        let id = v.get("id")?.as_u64()?;
        let login = v.get("login")?.as_str()?.to_owned();
        let admin = v.get("admin").and_then(Value::as_bool).unwrap_or(false);
        let status = listed_status
            .or_else(|| {
                v.get("status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u8::try_from(s).ok())
            })
            .unwrap_or(STATUS_ACTIVE);
        let name = [v.get("firstname"), v.get("lastname")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let member = AppMember {
            app_member_id: id.to_string(),
            email: v
                .get("mail")
                .and_then(Value::as_str)
                .map(|m| m.trim().to_lowercase())
                .filter(|m| !m.is_empty()),
            name: (!name.is_empty()).then_some(name),
            roles: vec![admin_role(admin)],
            state: match status {
                STATUS_REGISTERED => MemberState::Invited,
                STATUS_LOCKED => MemberState::Deactivated,
                _ => MemberState::Active,
            },
        };
        Some(Self { id, login, member })
    }
}

/// A Redmine login from a username or an email's local part: lowercase, `[a-z0-9_-@.]` kept
/// (Redmine's rule), anything else replaced with `_`, at most 60 characters.
pub(crate) fn derive_login(raw: &str) -> Result<String, ConnectorError> {
    let login: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' | '@' | '.' => c,
            _ => '_',
        })
        .take(LOGIN_MAX)
        .collect();
    if login.is_empty() {
        return Err(ConnectorError::Configuration(format!(
            "cannot derive a Redmine login from {raw:?}"
        )));
    }
    Ok(login)
}

/// First and last name (both required by Redmine, 30 characters each): from the display name
/// (last word apart), else from the email's local part (`ana.lopez` → `Ana`, `Lopez`); `-`
/// stands for a missing last name.
pub(crate) fn split_name(name: Option<&str>, email: &str) -> (String, String) {
    let words: Vec<String> = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.split_whitespace().map(str::to_owned).collect(),
        None => email_local_part(email)
            .split(['.', '_', '-', '+'])
            .filter(|w| !w.is_empty())
            .map(capitalized)
            .collect(),
    };
    let clip = |s: &str| s.chars().take(NAME_MAX).collect::<String>();
    match words.as_slice() {
        [] => (clip(email_local_part(email)), "-".to_owned()),
        [one] => (clip(one), "-".to_owned()),
        [first @ .., last] => (clip(&first.join(" ")), clip(last)),
    }
}
