//! HubSpot users, roles and error bodies as the connector reads them.
//!
//! - Users (`PublicUser`: `id`, `email`, `roleId`, `roleIds`, `superAdmin`, `primaryTeamId`):
//!   <https://developers.hubspot.com/docs/api-reference/legacy/account/settings/user-provisioning/guide>
//! - Errors (`{"status": "error", "message", "correlationId", "category"}`) and the 429 body's
//!   `policyName`: <https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details>

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// The role of a user with no HubSpot role (HubSpot's default permissions): the default role.
pub const USER: &str = "user";
/// The role of super admins, who hold every permission; the API cannot make one.
pub const SUPER_ADMIN: &str = "super_admin";

/// A user as the user provisioning API sends it (the fields the connector reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HsUser {
    pub(super) id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role_id: Option<String>,
    #[serde(default)]
    role_ids: Vec<String>,
    #[serde(default)]
    super_admin: bool,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
}

impl HsUser {
    /// A user object.
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        Self::deserialize(v).map_err(|_| unexpected(APP, what))
    }

    /// The users of a `{"results": [...]}` page.
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn page(v: &Value, what: &str) -> Result<Vec<Self>, E> {
        Vec::deserialize(&v["results"]).map_err(|_| unexpected(APP, what))
    }

    /// Its roles as on the wire: `super_admin` for a super admin, else its role ids
    /// (`roleIds`, else `roleId`), else `user` (no role).
    pub(super) fn roles(&self) -> Vec<String> {
        if self.super_admin {
            return vec![SUPER_ADMIN.to_owned()];
        }
        let mut ids = self.role_ids.clone();
        if ids.is_empty() {
            ids.extend(self.role_id.clone().filter(|r| !r.is_empty()));
        }
        match ids.is_empty() {
            true => vec![USER.to_owned()],
            false => ids,
        }
    }

    /// As an app member (HubSpot users are active: the API shows no pending state).
    pub(super) fn member(self) -> AppMember {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let roles = self.roles();
        member(self.id, Some(&self.email), Some(&name), roles, false)
    }
}

/// The wait HubSpot's 429 body asks for by its `policyName`: a second for `SECONDLY`, ten for
/// `TEN_SECONDLY_ROLLING`; none for the daily limit (the engine's retry waits longer).
pub(super) fn retry_hint(v: &Value) -> Option<Duration> {
    match v["policyName"].as_str()? {
        "SECONDLY" => Some(Duration::from_secs(1)),
        "TEN_SECONDLY_ROLLING" => Some(Duration::from_secs(10)),
        _ => None,
    }
}

/// The one table from HubSpot's error answers to connector errors, by `category` then status;
/// the message carries HubSpot's `correlationId` (for HubSpot's support).
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let category = r.json.as_ref().and_then(|b| b["category"].as_str());
    let says = says(r, &["message", "correlationId"]);
    match (category.unwrap_or(""), r.status) {
        ("INVALID_AUTHENTICATION", _) | (_, StatusCode::UNAUTHORIZED) => E::BadCredentials(
            format!("HubSpot did not accept the private app's access token: {says}"),
        ),
        ("MISSING_SCOPES", _) => E::InsufficientPermission(format!(
            "the private app lacks a scope to {what} (settings.users.read and \
             settings.users.write): {says}"
        )),
        ("OBJECT_NOT_FOUND", _) => E::NotFound(format!("HubSpot has no such user: {says}")),
        ("CONFLICT", _) | (_, StatusCode::CONFLICT) => {
            E::Conflict(format!("HubSpot refused to {what}: {says}"))
        }
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_roles_and_errors() {
        let u = |v: Value| HsUser::parse(&v, "x").unwrap();
        let plain = u(json!({"id": "7", "email": "A@X.org", "firstName": "Ana"}));
        assert_eq!(plain.roles(), ["user"]);
        let m = plain.member();
        assert_eq!(
            (m.email.as_deref(), m.name.as_deref()),
            (Some("a@x.org"), Some("Ana"))
        );
        assert_eq!(u(json!({"id": "7", "roleId": "12"})).roles(), ["12"]);
        assert_eq!(
            u(json!({"id": "7", "roleIds": ["1", "2"], "roleId": "1"})).roles(),
            ["1", "2"]
        );
        assert_eq!(
            u(json!({"id": "7", "superAdmin": true, "roleId": "1"})).roles(),
            ["super_admin"]
        );
        assert!(HsUser::parse(&json!({"email": "x"}), "x").is_err());

        let e = |status: u16, category: &str| {
            let body = json!({"status": "error", "message": "m", "correlationId": "c-1",
                "category": category});
            map_error(
                &Reply::new(status, &body.to_string(), None, "http://h"),
                "x",
            )
        };
        assert!(
            matches!(e(401, "INVALID_AUTHENTICATION"), E::BadCredentials(m) if m.contains("c-1"))
        );
        assert!(matches!(
            e(403, "MISSING_SCOPES"),
            E::InsufficientPermission(_)
        ));
        assert!(matches!(e(404, "OBJECT_NOT_FOUND"), E::NotFound(_)));
        assert!(matches!(e(409, "CONFLICT"), E::Conflict(_)));
        assert!(
            matches!(e(400, "VALIDATION_ERROR"), E::Configuration(m) if m.contains(": m: c-1"))
        );
        assert_eq!(
            retry_hint(&json!({"policyName": "TEN_SECONDLY_ROLLING"})),
            Some(Duration::from_secs(10))
        );
        assert_eq!(retry_hint(&json!({"policyName": "DAILY"})), None);
    }
}
