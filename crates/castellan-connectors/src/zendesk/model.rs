//! Zendesk Support users, roles and error bodies as the connector reads them.
//!
//! - Users (JSON format, `role`, `suspended`, `active`, `verified`):
//!   <https://developer.zendesk.com/api-reference/ticketing/users/users/>
//! - Errors (`{"error", "description", "details"}`, 422 `RecordInvalid` with `DuplicateValue`):
//!   <https://developer.zendesk.com/api-reference/introduction/requests/>

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// Zendesk's administrator role, the one the automation account needs.
pub const ADMIN: &str = "admin";
/// Zendesk's agent role (a billed seat), the role of invited members unless asked otherwise.
pub const AGENT: &str = "agent";
/// Customers: no seat. A member downgraded to it is removed (Zendesk bills agents and admins).
pub const END_USER: &str = "end-user";
/// The roles of members (seats), most privileged first, as on the wire.
pub(crate) const ROLES: [&str; 2] = [ADMIN, AGENT];

/// A user as Zendesk's Users API sends it (the fields the connector reads).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ZdUser {
    /// `null` for the anonymous user `/users/me` answers a request without credentials.
    pub(super) id: Option<u64>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    pub(super) role: String,
    /// `false` once the user is deleted (soft delete).
    #[serde(default = "yes")]
    pub(super) active: bool,
    #[serde(default)]
    suspended: bool,
    /// `false` until the user verified an email address (set a password from the welcome
    /// email).
    #[serde(default = "yes")]
    verified: bool,
}

fn yes() -> bool {
    true
}

impl ZdUser {
    /// The user in `{"user": {...}}`.
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn from_envelope(v: &Value, what: &str) -> Result<Self, E> {
        Self::deserialize(&v["user"]).map_err(|_| unexpected(APP, what))
    }

    /// The users in `{"users": [...]}`.
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn list(v: &Value, what: &str) -> Result<Vec<Self>, E> {
        Vec::deserialize(&v["users"]).map_err(|_| unexpected(APP, what))
    }

    /// The address, trimmed and lowercased (empty without one).
    pub(super) fn email(&self) -> String {
        self.email.as_deref().unwrap_or("").trim().to_lowercase()
    }

    /// As an app member with its role as sent: an end user (no seat) or a suspended agent is
    /// `deactivated`, an agent who has not verified an address yet `invited`.
    pub(super) fn member(self) -> AppMember {
        let off = self.suspended || self.role == END_USER;
        let id = self.id.unwrap_or_default();
        let mut m = member(
            id,
            self.email.as_deref(),
            self.name.as_deref(),
            vec![self.role],
            off,
        );
        if !off && !self.verified {
            m.state = MemberState::Invited;
        }
        m
    }
}

/// The one table from Zendesk's error answers to connector errors: a duplicate address is
/// `Conflict`, another invalid record `Configuration`, `RecordNotFound` `NotFound`, a refused
/// token `BadCredentials`; the rest by status ([`refused`]).
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let body = r.json.as_ref();
    let code = body.and_then(|b| b["error"].as_str()).unwrap_or("");
    let mut says = says(r, &["error", "description"]);
    let details = body
        .map(|b| detail_errors(&b["details"]))
        .unwrap_or_default();
    if !details.is_empty() {
        says = format!("{says} ({})", details.join("; "));
    }
    let duplicate = body.is_some_and(|b| has_detail(&b["details"], "DuplicateValue"));
    match (r.status, code) {
        (StatusCode::UNPROCESSABLE_ENTITY, _) if duplicate => {
            E::Conflict(format!("Zendesk refused to {what}: {says}"))
        }
        (StatusCode::UNAUTHORIZED, _) => E::BadCredentials(format!(
            "Zendesk did not accept the automation account's email and API token (or OAuth \
             token): {says}"
        )),
        (_, "RecordNotFound") => E::NotFound(format!("Zendesk has no such user: {says}")),
        _ => refused(r, APP, what, &says),
    }
}

/// The `description`s of a `details` object (`{"email": [{"description", "error"}]}`).
fn detail_errors(details: &Value) -> Vec<String> {
    let Some(fields) = details.as_object() else {
        return vec![];
    };
    let each = fields
        .values()
        .flat_map(|v| v.as_array().into_iter().flatten());
    each.filter_map(|e| e["description"].as_str().map(str::to_owned))
        .collect()
}

/// Whether a `details` object holds an error with the code `code`.
fn has_detail(details: &Value, code: &str) -> bool {
    let Some(fields) = details.as_object() else {
        return false;
    };
    let mut each = fields
        .values()
        .flat_map(|v| v.as_array().into_iter().flatten());
    each.any(|e| e["error"] == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_states_and_errors() {
        let u = |extra: Value| {
            let mut v = json!({"id": 7, "email": "A@X.org", "name": "A", "role": "agent"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            ZdUser::from_envelope(&json!({ "user": v }), "x")
                .unwrap()
                .member()
        };
        let m = u(json!({}));
        assert_eq!(
            (m.email.as_deref(), m.roles.join(" "), m.state),
            (Some("a@x.org"), "agent".into(), MemberState::Active)
        );
        assert_eq!(
            u(json!({"suspended": true})).state,
            MemberState::Deactivated
        );
        let end = u(json!({"role": "end-user"}));
        assert_eq!(
            (end.state, end.roles[0].as_str()),
            (MemberState::Deactivated, END_USER)
        );
        assert_eq!(u(json!({"verified": false})).state, MemberState::Invited);
        assert!(ZdUser::from_envelope(&json!({"users": []}), "x").is_err());

        let e = |status: u16, body: Value| {
            map_error(
                &Reply::new(status, &body.to_string(), None, "http://z"),
                "x",
            )
        };
        let dup = json!({"error": "RecordInvalid", "description": "Record validation errors",
            "details": {"email": [{"description": "Email: a@x.org is already being used by \
            another user", "error": "DuplicateValue"}]}});
        assert!(matches!(e(422, dup), E::Conflict(m) if m.contains("already being used")));
        let bad = json!({"error": "RecordInvalid", "details": {"role": [{"description": "no",
            "error": "InvalidValue"}]}});
        assert!(matches!(e(422, bad), E::Configuration(m) if m.contains("(no)")));
        let gone = json!({"error": "RecordNotFound", "description": "Not found"});
        assert!(matches!(e(404, gone), E::NotFound(_)));
        let who = json!({"error": "Couldn't authenticate you"});
        assert!(matches!(e(401, who), E::BadCredentials(m) if m.contains("authenticate")));
        let no = json!({"error": {"title": "Forbidden", "message": "You do not have access"}});
        assert!(matches!(e(403, no), E::InsufficientPermission(m) if m.contains("Forbidden")));
    }
}
