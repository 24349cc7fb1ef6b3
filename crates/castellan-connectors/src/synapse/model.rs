//! Synapse's users, ids and list cursors as the connector reads and writes them.

use castellan_core::connector::{AppMember, AppSession, ConnectorError, Invitation, MemberState};
use serde_json::{json, Value};

use crate::sdk::members::admin_role;
use crate::sdk::paging::AnchoredOffset;
use crate::sdk::usernames::random_password;

pub(super) fn server_name(s: &AppSession) -> Result<&str, ConnectorError> {
    s.data
        .get("server_name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ConnectorError::Configuration(
                "the session has no Synapse server name; log in again".into(),
            )
        })
}

pub(super) fn session_user(s: &AppSession) -> Option<&str> {
    s.data.get("user_id").and_then(Value::as_str)
}

/// `ana` → `@ana:server`; a full user id is kept.
pub(super) fn qualify(id: &str, server: &str) -> String {
    let id = id.trim();
    if id.starts_with('@') {
        id.to_owned()
    } else {
        format!("@{id}:{server}")
    }
}

/// A Matrix localpart from a username or an email's local part: lowercase, `[a-z0-9._=-]` kept,
/// anything else replaced with `_`.
pub(super) fn derive_localpart(raw: &str) -> Result<String, ConnectorError> {
    let local: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '_' | '=' | '-' => c,
            _ => '_',
        })
        .collect();
    if local.is_empty() {
        return Err(ConnectorError::Configuration(format!(
            "cannot derive a Matrix username from {raw:?}"
        )));
    }
    Ok(local)
}

/// The body of `PUT /_synapse/admin/v2/users/<user_id>` that (re)makes an invited member: a
/// random password, the server-admin flag of the role, the email and the display name.
pub(super) fn user_body(email: &str, inv: &Invitation, admin: bool) -> Value {
    let mut body = json!({
        "password": random_password(),
        "admin": admin,
        "threepids": [{ "medium": "email", "address": email }],
    });
    if let Some(name) = inv.name.as_deref().filter(|n| !n.trim().is_empty()) {
        body["displayname"] = json!(name.trim());
    }
    body
}

/// The opaque list cursor, an [`AnchoredOffset`] with the user id of the previous page's last
/// member: `<offset>:<user id>`; the first page without one.
///
/// Errors: `Configuration` when `raw` is not one.
pub(super) fn parse_cursor(raw: Option<&str>) -> Result<AnchoredOffset, ConnectorError> {
    let user_id = |a: Option<&str>| a.is_some_and(|a| a.starts_with('@'));
    AnchoredOffset::from_cursor(raw, "Synapse", user_id)
}

/// A user as Synapse reports it, with the fields the connector decides on.
#[derive(Debug, Clone)]
pub(super) struct SynapseUser {
    pub(super) member: AppMember,
    pub(super) deactivated: bool,
}

impl SynapseUser {
    /// From a list row or a user's details (`threepids` only in details).
    pub(super) fn from_json(v: &Value) -> Option<Self> {
        let id = v.get("name")?.as_str()?.to_owned();
        let admin = flag(v, "admin");
        let deactivated = flag(v, "deactivated");
        let emails: Vec<String> = v
            .get("threepids")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter(|t| t.get("medium").and_then(Value::as_str) == Some("email"))
                    .filter_map(|t| t.get("address").and_then(Value::as_str))
                    .map(|a| a.trim().to_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let state = if deactivated || flag(v, "locked") || flag(v, "suspended") {
            MemberState::Deactivated
        } else {
            MemberState::Active
        };
        let member = AppMember {
            app_member_id: id,
            email: emails.first().cloned(),
            name: v
                .get("displayname")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            roles: vec![admin_role(admin)],
            state,
        };
        Some(Self {
            member,
            deactivated,
        })
    }
}

/// Synapse reports flags as booleans, older versions as 0/1.
pub(super) fn flag(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}
