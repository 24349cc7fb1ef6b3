//! Atlassian organization directory users, groups and error bodies as the Atlassian connector
//! reads them.
//!
//! - Directory users (`GET /admin/v2/orgs/{orgId}/directories/{directoryId}/users`): `data` of
//!   `{accountId, name, nickname, email, status, accountStatus, membershipStatus, …}` and
//!   `links: {self, prev, next}` (cursors). `status` is the composite of the account's and the
//!   membership's: `active`, `suspended`, `not_invited` (no membership), `deactivated` (account
//!   inactive), `for_deletion`.
//!   <https://developer.atlassian.com/cloud/admin/organization/rest/api-group-users/>
//! - Groups (`GET /admin/v2/orgs/{orgId}/directories/{directoryId}/groups`): `data` of `{id,
//!   name, description, directoryId, …}`.
//!   <https://developer.atlassian.com/cloud/admin/organization/rest/api-group-groups/>
//! - Errors: `{"errors": [{"id", "status", "code", "title", "detail"}]}` with codes such as
//!   `ADMIN-403-3` (not allowed to manage the org), `ADMIN-404-8` (user not found),
//!   `ADMIN-404-10` (group not found), `ADMIN-429-1` (limit exceeded).
//!   <https://developer.atlassian.com/cloud/admin/organization/rest/intro/>

use castellan_core::connector::{AppMember, ConnectorError as E};
use reqwest::StatusCode;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::json::{items, text};
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says, says_at};
use crate::sdk::Reply;

/// An organization admin: holds Atlassian's `atlassian/org-admin` role (every administrative
/// task in Atlassian Administration, people included).
pub const ORG_ADMIN: &str = "organization_admin";
/// Everybody else in the organization's directory (the default role); what they reach in the
/// apps comes from their groups (the connector's resources).
pub const USER: &str = "user";
/// The organization roles, most privileged first.
pub(crate) const ROLES: [&str; 2] = [ORG_ADMIN, USER];
/// Atlassian's id of the organization admin role, as the role assignment endpoints and the
/// `roleIds` filter write it.
pub(crate) const ORG_ADMIN_ROLE: &str = "atlassian/org-admin";
/// The one role a member holds on a group: being in it.
pub const MEMBER: &str = "member";

/// A directory user as a member with the role `user` (the organization admins are marked
/// apart): `active` ones active, `suspended` and `deactivated` ones deactivated; `None` for an
/// account without a membership in the organization (`not_invited`), one scheduled for
/// deletion, or a closed account. A status Atlassian adds later reads as deactivated (no access
/// assumed).
///
/// Errors: `AppChanged` without an `accountId`.
pub(crate) fn directory_user(v: &Value, what: &str) -> Result<Option<AppMember>, E> {
    let id = crate::sdk::json::id(&v["accountId"]).ok_or_else(|| unexpected(APP, what))?;
    let status = match text(&v["status"]) {
        "" => fallback_status(v),
        s => s,
    };
    let deactivated = match status {
        "active" => false,
        "not_invited" | "for_deletion" | "closed" => return Ok(None),
        _ => true,
    };
    let name = Some(text(&v["name"])).filter(|n| !n.is_empty());
    let name = name.or_else(|| v["nickname"].as_str());
    let roles = vec![USER.to_owned()];
    Ok(Some(member(
        id,
        v["email"].as_str(),
        name,
        roles,
        deactivated,
    )))
}

/// The composite status of a row that sends only `accountStatus` and `membershipStatus`.
fn fallback_status(v: &Value) -> &'static str {
    match (text(&v["accountStatus"]), text(&v["membershipStatus"])) {
        ("closed", _) => "closed",
        ("inactive", _) => "deactivated",
        (_, "no_membership") => "not_invited",
        (_, "suspended") => "suspended",
        _ => "active",
    }
}

/// The rows of a `{"data": [...]}` answer.
///
/// Errors: `AppChanged` for another body.
pub(crate) fn data<'v>(v: &'v Value, what: &str) -> Result<&'v [Value], E> {
    match v["data"].is_array() {
        true => Ok(items(&v["data"])),
        false => Err(unexpected(APP, what)),
    }
}

/// The one table from Atlassian's error answers to connector errors by status, with the first
/// error's `code`, `title` and `detail` in the text (or a top-level `message`).
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    let mut msg = says_at(r, "/errors/0", &["code", "title", "detail"]);
    if msg.is_empty() {
        msg = says(r, &["message"]);
    }
    match r.status {
        StatusCode::UNAUTHORIZED => E::BadCredentials(format!(
            "Atlassian did not accept the organization API key: {msg}"
        )),
        StatusCode::FORBIDDEN => E::InsufficientPermission(format!(
            "Atlassian refused to {what}: {msg} (the hub needs an API key of this \
             organization, made by an organization admin, with the user and group scopes)"
        )),
        StatusCode::CONFLICT => E::Conflict(format!("Atlassian refused to {what}: {msg}")),
        _ => refused(r, APP, what, &msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_core::connector::MemberState;
    use serde_json::json;

    #[test]
    fn directory_users_and_errors() {
        let row = |status: &str| {
            json!({"accountId": "5b10a2844c20165700ede21g", "name": "Ana", "email": "Ana@X.org",
                "status": status, "accountStatus": "active"})
        };
        let m = directory_user(&row("active"), "x").unwrap().unwrap();
        assert_eq!(
            (m.app_member_id.as_str(), m.email.as_deref(), m.state),
            (
                "5b10a2844c20165700ede21g",
                Some("ana@x.org"),
                MemberState::Active
            )
        );
        assert_eq!(m.roles, [USER]);
        let s = directory_user(&row("suspended"), "x").unwrap().unwrap();
        assert_eq!(s.state, MemberState::Deactivated);
        assert!(directory_user(&row("not_invited"), "x").unwrap().is_none());
        let old = json!({"accountId": "a1", "accountStatus": "active",
            "membershipStatus": "suspended", "nickname": "ana"});
        let old = directory_user(&old, "x").unwrap().unwrap();
        assert_eq!(
            (old.state, old.name.as_deref()),
            (MemberState::Deactivated, Some("ana"))
        );
        assert!(directory_user(&json!({"name": "x"}), "x").is_err());
        assert!(data(&json!({"data": []}), "x").unwrap().is_empty());
        assert!(data(&json!({"values": []}), "x").is_err());

        let e = |status: u16, body: Value| {
            map_error(&Reply::new(status, &body.to_string(), None, "h"), "x")
        };
        let no = json!({"errors": [{"status": "403", "code": "ADMIN-403-3",
            "title": "Forbidden", "detail": "Not allowed to manage the org"}]});
        assert!(matches!(e(403, no), E::InsufficientPermission(m) if m.contains("ADMIN-403-3")));
        assert!(matches!(
            e(401, json!({"code": 401, "message": "Unauthorized"})),
            E::BadCredentials(m) if m.contains("Unauthorized")
        ));
        let gone = json!({"errors": [{"code": "ADMIN-404-8", "title": "User not found"}]});
        assert!(matches!(e(404, gone), E::NotFound(m) if m.contains("ADMIN-404-8")));
        assert!(matches!(e(400, json!({"errors": []})), E::Configuration(_)));
    }
}
