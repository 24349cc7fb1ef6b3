//! Asana workspace memberships, team memberships and error bodies as the Asana connector reads
//! them.
//!
//! - Workspace memberships (`GET /workspaces/{workspace_gid}/workspace_memberships`): `{gid,
//!   resource_type, user: {gid, name, email}, is_active, is_admin, is_guest}` with the
//!   `opt_fields` asked for; `is_active` false once the user was removed.
//!   <https://developers.asana.com/reference/getworkspacemembershipsforworkspace>
//! - Lists: `{"data": [...], "next_page": {"offset", "path", "uri"} | null}` when a `limit` is
//!   given (1–100). <https://developers.asana.com/docs/pagination>
//! - Errors: `{"errors": [{"message", "help", "phrase"}]}` (`phrase` on server errors).
//!   <https://developers.asana.com/docs/errors>

use castellan_core::connector::{AppMember, ConnectorError as E};
use reqwest::StatusCode;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::json::{id, items};
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says_at};
use crate::sdk::Reply;

/// A workspace admin (`is_admin`): manages the organization's members in the admin console.
pub const ADMIN: &str = "admin";
/// A full member of the workspace (the default role; the one an invitation gives addresses of
/// the organization's domains).
pub const MEMBER: &str = "member";
/// A guest (`is_guest`): an address outside the organization's domains, who sees only what is
/// shared with them.
pub const GUEST: &str = "guest";
/// The roles Asana shows, most privileged first.
pub(crate) const SHOWN: [&str; 3] = [ADMIN, MEMBER, GUEST];
/// The fields a workspace membership is read with.
pub(crate) const MEMBERSHIP_FIELDS: &str = "user.name,user.email,is_active,is_admin,is_guest";

/// A workspace membership as a member named by its user's gid, with the role Asana shows
/// (`admin`, `guest`, else `member`); `None` for a removed user (`is_active` false).
///
/// Errors: `AppChanged` without a user gid.
pub(crate) fn membership(v: &Value, what: &str) -> Result<Option<AppMember>, E> {
    let user = &v["user"];
    let gid = id(&user["gid"]).ok_or_else(|| unexpected(APP, what))?;
    if v["is_active"] == false {
        return Ok(None);
    }
    let role = match (v["is_admin"] == true, v["is_guest"] == true) {
        (true, _) => ADMIN,
        (_, true) => GUEST,
        _ => MEMBER,
    };
    let (email, name) = (user["email"].as_str(), user["name"].as_str());
    Ok(Some(member(gid, email, name, vec![role.to_owned()], false)))
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

/// The one table from Asana's error answers to connector errors by status, with the first
/// error's `message`, `help` and `phrase` in the text.
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    let says = says_at(r, "/errors/0", &["message", "help", "phrase"]);
    match r.status {
        StatusCode::UNAUTHORIZED => {
            E::BadCredentials(format!("Asana did not accept the access token: {says}"))
        }
        StatusCode::PAYMENT_REQUIRED => {
            E::Unsupported(format!("Asana refused to {what} on this plan: {says}"))
        }
        StatusCode::FORBIDDEN => E::InsufficientPermission(format!(
            "Asana refused to {what}: {says} (the token's user must be an admin of the workspace, \
             and a member of a team to change its members)"
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
    fn memberships_and_errors() {
        let row = |admin: bool, guest: bool, active: bool| {
            json!({"gid": "77", "resource_type": "workspace_membership",
                "user": {"gid": "12", "name": "Ana", "email": "Ana@X.org"},
                "is_active": active, "is_admin": admin, "is_guest": guest})
        };
        let m = membership(&row(false, false, true), "x").unwrap().unwrap();
        assert_eq!(
            (m.app_member_id.as_str(), m.email.as_deref(), m.state),
            ("12", Some("ana@x.org"), MemberState::Active)
        );
        assert_eq!(m.roles, [MEMBER]);
        let role = |a, g| membership(&row(a, g, true), "x").unwrap().unwrap().roles;
        assert_eq!(
            (role(true, false), role(false, true)),
            (vec![ADMIN.to_owned()], vec![GUEST.to_owned()])
        );
        assert!(membership(&row(false, false, false), "x")
            .unwrap()
            .is_none());
        assert!(membership(&json!({"gid": "77"}), "x").is_err());
        assert!(data(&json!({"errors": []}), "x").is_err());

        let e = |status: u16, body: Value| {
            map_error(&Reply::new(status, &body.to_string(), None, "h"), "x")
        };
        let no = json!({"errors": [{"message": "Not Authorized"}]});
        assert!(matches!(e(401, no), E::BadCredentials(m) if m.contains("Not Authorized")));
        let forbidden = json!({"errors": [{"message": "Forbidden", "help": "See docs"}]});
        assert!(
            matches!(e(403, forbidden), E::InsufficientPermission(m) if m.contains("Forbidden: See docs"))
        );
        let gone = json!({"errors": [{"message": "user: Unknown object: 5"}]});
        assert!(matches!(e(404, gone), E::NotFound(m) if m.contains("Unknown object")));
        let bad = json!({"errors": [{"message": "offset: Your pagination token is invalid"}]});
        assert!(matches!(e(400, bad), E::Configuration(_)));
        assert!(matches!(e(402, json!({"errors": []})), E::Unsupported(_)));
        assert!(e(
            500,
            json!({"errors": [{"message": "m", "phrase": "6 sad squid"}]})
        )
        .is_retryable());
    }
}
