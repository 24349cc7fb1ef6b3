//! Box users, roles and error bodies as the connector reads them.
//!
//! - User (Full) (`id` a string, `login`, `name`, `status`, `role`, `is_platform_access_only`):
//!   <https://developer.box.com/reference/resources/user--full/>
//! - Client error (`{"type": "error", "status", "code", "message", "context_info", "help_url",
//!   "request_id"}`): <https://developer.box.com/reference/resources/client-error/>
//! - Common errors (`access_denied_insufficient_permissions`, `insufficient_scope`, 409
//!   `user_login_already_used`):
//!   <https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/>

use castellan_core::connector::{AppMember, ConnectorError as E};
use reqwest::StatusCode;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::json::{id, text};
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// The enterprise's primary admin (one a enterprise; the API never gives it).
pub const ADMIN: &str = "admin";
/// A co-admin: manages users with the permissions the primary admin gave them.
pub const COADMIN: &str = "coadmin";
/// A managed user without admin rights: the role of invited members unless asked otherwise.
pub const USER: &str = "user";
/// The roles the connector gives, most privileged first, as on the wire (`role` of `POST` and
/// `PUT /users`).
pub(crate) const ROLES: [&str; 2] = [COADMIN, USER];
/// The roles that may manage users (a co-admin only with the "Manage users" permission).
pub(crate) const MANAGERS: [&str; 2] = [ADMIN, COADMIN];
/// `status` of a user who cannot sign in (keep-seat); `active` gives access back.
pub(crate) const INACTIVE: &str = "inactive";
/// The fields every user call asks for (`fields`): the standard variant has no `role`, and with
/// `fields` Box answers the mini variant (`id`, `type`, `name`, `login`) and these.
pub(crate) const FIELDS: &str = "id,type,name,login,status,role,is_platform_access_only";

/// A user as Box sends it with [`FIELDS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BoxUser {
    /// Box's id, a string of digits.
    pub(super) id: String,
    pub(super) login: String,
    name: String,
    pub(super) role: String,
    pub(super) status: String,
    /// An App User (a service's own account, no seat): not a member.
    pub(super) app_user: bool,
}

impl BoxUser {
    /// The user in `v`.
    ///
    /// Errors: `AppChanged` without an id or a role (the `fields` asked for were not honoured).
    pub(super) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        let (Some(uid), Some(role)) = (id(&v["id"]), v["role"].as_str()) else {
            return Err(unexpected(APP, what));
        };
        Ok(Self {
            id: uid,
            login: text(&v["login"]).trim().to_lowercase(),
            name: text(&v["name"]).to_owned(),
            role: role.to_owned(),
            status: text(&v["status"]).to_owned(),
            app_user: v["is_platform_access_only"] == true,
        })
    }

    /// The users in a collection's `entries`.
    ///
    /// Errors: `AppChanged` without `entries`, or for a user [`BoxUser::parse`] refuses.
    pub(super) fn entries(v: &Value, what: &str) -> Result<Vec<Self>, E> {
        let rows = v["entries"]
            .as_array()
            .ok_or_else(|| unexpected(APP, what))?;
        rows.iter().map(|r| Self::parse(r, what)).collect()
    }

    /// As an app member with its role as sent; an `inactive` user is `deactivated` (the other
    /// statuses, `cannot_delete_edit` and `cannot_delete_edit_upload`, sign in: active).
    pub(super) fn member(self) -> AppMember {
        let off = self.status == INACTIVE;
        member(
            self.id,
            Some(&self.login),
            Some(&self.name),
            vec![self.role],
            off,
        )
    }
}

/// The one table from Box's error answers to connector errors: a refused token is
/// `BadCredentials`, a taken login `Conflict`, a missing scope or permission
/// `InsufficientPermission`; the rest by status ([`refused`]). Box's `request_id` is kept in
/// the message (Box support asks for it).
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let body = r.json.as_ref();
    let code = body.and_then(|b| b["code"].as_str()).unwrap_or("");
    let mut says = says(r, &["code", "message", "context_info"]);
    if let Some(req) = body.and_then(|b| b["request_id"].as_str()) {
        says = format!("{says} (request_id {req})");
    }
    match (r.status, code) {
        (StatusCode::UNAUTHORIZED, _) => E::BadCredentials(format!(
            "Box did not accept the access token (a Client Credentials token lasts an hour): \
             {says}"
        )),
        (StatusCode::CONFLICT, "user_login_already_used") => E::Conflict(format!(
            "Box refused to {what}: the address has a Box account already (an enterprise user, \
             or a personal account to invite from the Admin Console): {says}"
        )),
        (StatusCode::FORBIDDEN, "insufficient_scope") => E::InsufficientPermission(format!(
            "the Box app's scopes do not allow it to {what} (Manage users, and Read and write all \
             files and folders to move a removed user's files): {says}"
        )),
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_core::connector::MemberState;
    use serde_json::json;

    #[test]
    fn users_and_errors() {
        let v = json!({"id": "11446498", "type": "user", "name": "Ana", "login": "Ana@X.org",
            "status": "inactive", "role": "coadmin", "is_platform_access_only": false});
        let u = BoxUser::parse(&v, "x").unwrap();
        assert!(!u.app_user);
        let m = u.member();
        assert_eq!(
            (m.app_member_id.as_str(), m.email.as_deref(), m.state),
            ("11446498", Some("ana@x.org"), MemberState::Deactivated)
        );
        assert_eq!(m.roles, ["coadmin"]);
        let active = json!({"id": "7", "login": "b@x.org", "status": "cannot_delete_edit",
            "role": "user"});
        let b = BoxUser::parse(&active, "x").unwrap().member();
        assert_eq!(b.state, MemberState::Active);
        // Without `fields`, Box sends no role: the answer is not what was asked for.
        assert!(matches!(
            BoxUser::parse(&json!({"id": "7", "login": "b@x.org"}), "x"),
            Err(E::AppChanged(_))
        ));
        assert!(BoxUser::entries(&json!({"total_count": 0}), "x").is_err());

        let e = |status: u16, body: Value| {
            map_error(
                &Reply::new(status, &body.to_string(), None, "http://b"),
                "x",
            )
        };
        let err = |status: u16, code: &str, message: &str| {
            json!({"type": "error", "status": status, "code": code, "message": message,
                "request_id": "abc123"})
        };
        let taken = e(409, err(409, "user_login_already_used", "User exists"));
        assert!(matches!(taken, E::Conflict(m) if m.contains("abc123")));
        assert!(matches!(e(401, json!({})), E::BadCredentials(_)));
        let scope = e(
            403,
            err(403, "insufficient_scope", "The request requires scopes"),
        );
        assert!(matches!(scope, E::InsufficientPermission(m) if m.contains("files and folders")));
        let denied = err(
            403,
            "access_denied_insufficient_permissions",
            "Access denied - insufficient permission",
        );
        assert!(
            matches!(e(403, denied), E::InsufficientPermission(m) if m.contains("Access denied"))
        );
        assert!(matches!(
            e(404, err(404, "not_found", "Not Found")),
            E::NotFound(_)
        ));
        let bad = json!({"type": "error", "status": 400, "code": "bad_request",
            "message": "Bad Request", "context_info": {"message": "name is required"}});
        assert!(matches!(e(400, bad), E::Configuration(m) if m.contains("name is required")));
        assert!(e(429, err(429, "rate_limit_exceeded", "slow down")).is_retryable());
    }
}
