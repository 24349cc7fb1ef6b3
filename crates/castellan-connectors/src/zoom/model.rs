//! Zoom users, roles, error bodies and rate-limit answers as the Zoom connector reads them.
//!
//! - Users (`id`, `email`, `first_name`, `last_name`, `type`, `status` `active`, `inactive` or
//!   `pending`, `role_id`): <https://developers.zoom.us/docs/api/users/> ("List users", "Get a
//!   user")
//! - Roles (`id` `0` Owner, `1` Admin, `2` Member, and the account's custom roles; Zoom's own
//!   sample of "List roles"): <https://developers.zoom.us/docs/api/accounts/> ("Roles")
//! - Errors (`{"code", "message"}`, `errors[]` for invalid fields):
//!   <https://developers.zoom.us/docs/api/errors/>
//! - Rate limits (429; `X-RateLimit-Category`, `X-RateLimit-Type` `QPS` or `Daily-limit`,
//!   `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `Retry-After`):
//!   <https://developers.zoom.us/docs/api/rate-limits/>

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// The account owner (role id `0`): read, never given, demoted or removed by the connector.
pub const OWNER: &str = "owner";
/// An admin (role id `1`): manages users, the role the automation account needs.
pub const ADMIN: &str = "admin";
/// A member (role id `2`): the role of every new user, and the default.
pub const MEMBER: &str = "member";
/// Zoom's ids of its three system roles, by the connector's names.
const SYSTEM: [(&str, &str); 3] = [(OWNER, "0"), (ADMIN, "1"), (MEMBER, "2")];

/// The connector's name of the role with Zoom's id `id`: `owner`, `admin`, `member` for the
/// system roles, the id itself for a custom role.
pub(crate) fn role_name(id: &str) -> String {
    let system = SYSTEM.iter().find(|(_, i)| *i == id);
    system.map_or(id, |(name, _)| name).to_owned()
}

/// Zoom's role id of the connector's role `role` (a custom role's name is its id).
pub(crate) fn role_id(role: &str) -> &str {
    let system = SYSTEM.iter().find(|(name, _)| *name == role);
    system.map_or(role, |(_, id)| id)
}

/// A Zoom user as the Users API sends it (the fields the connector reads).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ZoomUser {
    pub(crate) id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    /// `active`, `inactive` (deactivated) or `pending` (invited, not confirmed yet); Zoom's
    /// answer to `POST /users` has none: a new user is `pending`.
    #[serde(default)]
    status: Option<String>,
    /// The role's id; `POST /users` answers without one: a new user is a Member (`2`).
    #[serde(default)]
    role_id: Option<String>,
    /// The license: 1 Basic, 2 Licensed, …
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<u64>,
}

impl ZoomUser {
    /// A user object.
    ///
    /// Errors: `AppChanged` for another body.
    pub(crate) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        let u = Self::deserialize(v).map_err(|_| unexpected(APP, what))?;
        match u.id.trim().is_empty() {
            true => Err(unexpected(APP, what)),
            false => Ok(u),
        }
    }

    /// The users of a `{"users": [...]}` page.
    ///
    /// Errors: `AppChanged` for another body.
    pub(crate) fn page(v: &Value, what: &str) -> Result<Vec<Self>, E> {
        Vec::deserialize(&v["users"]).map_err(|_| unexpected(APP, what))
    }

    /// Its status: `pending` when Zoom sends none (a user just made).
    pub(crate) fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("pending")
    }

    /// Its role as the connector names it ([`role_name`]); `member` when Zoom sends none.
    pub(crate) fn role(&self) -> String {
        role_name(self.role_id.as_deref().unwrap_or("2"))
    }

    /// As an app member: `pending` is invited, `inactive` deactivated.
    pub(crate) fn member(self) -> AppMember {
        let name = format!("{} {}", self.first_name.trim(), self.last_name.trim());
        let status = self.status().to_owned();
        let roles = vec![self.role()];
        let mut m = member(
            self.id,
            Some(&self.email),
            Some(&name),
            roles,
            status == "inactive",
        );
        if status == "pending" {
            m.state = MemberState::Invited;
        }
        m
    }
}

/// The wait a 429 of Zoom's per-second limit asks for: Zoom sends `X-RateLimit-Type: QPS` and
/// no `Retry-After` (the SDK reads one when present, as seconds, an HTTP-date or Zoom's RFC 3339
/// date of a daily limit), so a second; `None` for any other answer.
pub(crate) fn per_second(r: &Reply) -> Option<Duration> {
    let qps = r
        .header("x-ratelimit-type")
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("QPS"));
    (r.status == StatusCode::TOO_MANY_REQUESTS && r.retry_after.is_none() && qps)
        .then_some(Duration::from_secs(1))
}

/// The one table from Zoom's error answers (`{"code", "message"}`) to connector errors:
/// 401 (code 124, an invalid or expired token) `BadCredentials`; a token without the scopes
/// (code 4700 or 4711) or 403 `InsufficientPermission`; 404 or code 1001 (no such user)
/// `NotFound`; 409 or code 1005 (the address is taken) `Conflict`; the rest by status
/// ([`refused`]). The message carries Zoom's code and, for invalid fields, their names.
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    let body = r.json.as_ref();
    let code = body.and_then(|b| b["code"].as_u64()).unwrap_or(0);
    let mut says = says(r, &["message"]);
    let fields: Vec<&str> = body
        .and_then(|b| b["errors"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    if !fields.is_empty() {
        says = format!("{says} ({})", fields.join(", "));
    }
    if code != 0 {
        says = format!("{says} (Zoom code {code})");
    }
    match (r.status, code) {
        (StatusCode::UNAUTHORIZED, _) => E::BadCredentials(format!(
            "Zoom did not accept the access token (expired or revoked: get a new one with the \
             Server-to-Server OAuth app's account credentials): {says}"
        )),
        (_, 4700 | 4711) | (StatusCode::FORBIDDEN, _) => E::InsufficientPermission(format!(
            "Zoom refused to {what}: the app lacks a scope or the account a privilege: {says}"
        )),
        (StatusCode::NOT_FOUND, _) | (_, 1001) => E::NotFound(format!("Zoom: {says}")),
        (StatusCode::CONFLICT, _) | (_, 1005) => {
            E::Conflict(format!("Zoom refused to {what}: {says}"))
        }
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_roles_and_states() {
        let u = |extra: Value| {
            let mut v = json!({"id": "z1", "email": "A@X.org", "first_name": "Ana",
                "last_name": "Lima", "type": 2});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            ZoomUser::parse(&v, "x").unwrap().member()
        };
        let m = u(json!({"status": "active", "role_id": "1"}));
        assert_eq!(
            (m.email.as_deref(), m.name.as_deref(), m.state),
            (Some("a@x.org"), Some("Ana Lima"), MemberState::Active)
        );
        assert_eq!(m.roles, ["admin"]);
        let new = u(json!({}));
        assert_eq!(
            (new.state, new.roles[0].as_str()),
            (MemberState::Invited, "member")
        );
        assert_eq!(
            u(json!({"status": "inactive"})).state,
            MemberState::Deactivated
        );
        assert_eq!(u(json!({"role_id": "hd7"})).roles, ["hd7"]);
        assert!(ZoomUser::parse(&json!({"id": " "}), "x").is_err());
        assert_eq!(
            (role_id(OWNER), role_id(MEMBER), role_id("hd7")),
            ("0", "2", "hd7")
        );
        assert_eq!(role_name("0"), "owner");
    }

    #[test]
    fn errors_and_rate_limits() {
        let e = |status: u16, body: Value| {
            map_error(
                &Reply::new(status, &body.to_string(), None, "http://z"),
                "x",
            )
        };
        let bad = e(
            401,
            json!({"code": 124, "message": "Invalid access token."}),
        );
        assert!(matches!(bad, E::BadCredentials(m) if m.contains("code 124")));
        let scope = json!({"code": 4711, "message": "Invalid access token, does not contain \
            scopes:[user:write:admin]."});
        assert!(matches!(e(400, scope), E::InsufficientPermission(m) if m.contains("scopes")));
        let gone = e(
            404,
            json!({"code": 1001, "message": "User does not exist: x."}),
        );
        assert!(matches!(gone, E::NotFound(_)));
        let taken = e(
            409,
            json!({"code": 1005, "message": "User already in the account."}),
        );
        assert!(matches!(taken, E::Conflict(_)));
        let invalid = json!({"code": 300, "message": "Validation Failed.",
            "errors": [{"field": "user_info.email", "message": "Invalid field."}]});
        assert!(matches!(e(400, invalid), E::Configuration(m) if m.contains("(user_info.email)")));

        let mut r = Reply::new(429, "{}", None, "http://z");
        assert_eq!(per_second(&r), None);
        r.headers.insert("x-ratelimit-type", "QPS".parse().unwrap());
        assert_eq!(per_second(&r), Some(Duration::from_secs(1)));
        r.retry_after = Some(Duration::from_secs(5));
        assert_eq!(per_second(&r), None, "Zoom's own wait wins");
    }
}
