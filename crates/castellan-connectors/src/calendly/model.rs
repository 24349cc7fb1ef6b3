//! Calendly organization memberships, invitations and error bodies as the connector reads them.
//!
//! - Memberships (`uri`, `role`, `user.{uri, name, email}`) and invitations (`uri`, `email`,
//!   `status`): <https://developer.calendly.com/api-docs/calendly-api/organizations/list-organization-memberships>
//! - Errors (`{"title", "message", "details"}`):
//!   <https://developer.calendly.com/api-docs/calendly-api/organizations/revoke-organization-invitation>

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// The role of members who are neither owner nor admin: the only role an invitation gives.
pub const USER: &str = "user";
/// The roles that may manage the organization's members.
pub(crate) const MANAGERS: [&str; 2] = ["owner", "admin"];
/// The prefix of a pending invitation's app member id (`invitation:<uuid>`): invitations and
/// memberships are different resources with their own endpoints.
pub(crate) const INVITATION: &str = "invitation:";

/// The last path segment of a Calendly resource URI (its uuid).
pub(super) fn uuid_of(uri: &str) -> &str {
    uri.trim_end_matches('/').rsplit('/').next().unwrap_or(uri)
}

/// An organization membership as a member, its role as sent (`owner`, `admin`, `user`).
///
/// Errors: `AppChanged` without a `uri`, `role` or `user`.
pub(super) fn membership(v: &Value, what: &str) -> Result<AppMember, E> {
    let (uri, role) = (v["uri"].as_str(), v["role"].as_str());
    let (Some(uri), Some(role)) = (uri, role) else {
        return Err(unexpected(APP, what));
    };
    let user = &v["user"];
    let (email, name) = (user["email"].as_str(), user["name"].as_str());
    Ok(member(
        uuid_of(uri),
        email,
        name,
        vec![role.to_owned()],
        false,
    ))
}

/// A pending invitation as an `invited` member with the role `user`, `None` for one that is no
/// longer pending (accepted, declined, revoked).
///
/// Errors: `AppChanged` without a `uri`.
pub(super) fn invitation(v: &Value, what: &str) -> Result<Option<AppMember>, E> {
    let uri = v["uri"].as_str().ok_or_else(|| unexpected(APP, what))?;
    if v["status"] != "pending" {
        return Ok(None);
    }
    let id = format!("{INVITATION}{}", uuid_of(uri));
    let mut m = member(id, v["email"].as_str(), None, vec![USER.to_owned()], false);
    m.state = MemberState::Invited;
    Ok(Some(m))
}

/// The items of a `{"collection": [...]}` answer.
///
/// Errors: `AppChanged` for another body.
pub(super) fn collection<'v>(v: &'v Value, what: &str) -> Result<&'v [Value], E> {
    let items = v["collection"].as_array();
    items
        .map(Vec::as_slice)
        .ok_or_else(|| unexpected(APP, what))
}

/// The one table from Calendly's error answers to connector errors by status, with Calendly's
/// `title`, `message` and `details` in the text.
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let mut says = says(r, &["title", "message"]);
    let details = r.json.as_ref().and_then(|b| b["details"].as_array());
    let details: Vec<&str> = details
        .into_iter()
        .flatten()
        .filter_map(|d| d["message"].as_str())
        .collect();
    if !details.is_empty() {
        says = format!("{says} ({})", details.join("; "));
    }
    match r.status {
        StatusCode::UNAUTHORIZED => E::BadCredentials(format!(
            "Calendly did not accept the personal access token: {says}"
        )),
        StatusCode::CONFLICT => E::Conflict(format!("Calendly refused to {what}: {says}")),
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn memberships_invitations_and_errors() {
        let m = membership(
            &json!({"uri": "https://api.calendly.com/organization_memberships/M1", "role": "admin",
                "user": {"uri": "https://api.calendly.com/users/U1", "email": "A@X.org",
                "name": "Ana"}}),
            "x",
        )
        .unwrap();
        assert_eq!(
            (m.app_member_id.as_str(), m.roles[0].as_str()),
            ("M1", "admin")
        );
        assert_eq!(m.email.as_deref(), Some("a@x.org"));
        let inv = |status: &str| {
            invitation(
                &json!({"uri": "https://api.calendly.com/organizations/O/invitations/I1",
                "email": "b@x.org", "status": status}),
                "x",
            )
        };
        let pending = inv("pending").unwrap().unwrap();
        assert_eq!(
            (pending.app_member_id.as_str(), pending.state),
            ("invitation:I1", MemberState::Invited)
        );
        assert!(inv("revoked").unwrap().is_none());
        assert!(membership(&json!({"role": "user"}), "x").is_err());

        let e = |status: u16, body: Value| {
            map_error(&Reply::new(status, &body.to_string(), None, "h"), "x")
        };
        let bad = json!({"title": "Invalid Argument", "message": "The supplied parameters are invalid.",
            "details": [{"parameter": "email", "message": "is invalid"}]});
        assert!(matches!(e(400, bad), E::Configuration(m) if m.contains("(is invalid)")));
        assert!(matches!(
            e(401, json!({"title": "Unauthenticated", "message": "m"})),
            E::BadCredentials(_)
        ));
        let no = json!({"title": "Permission Denied", "message": "You do not have permission"});
        assert!(
            matches!(e(403, no), E::InsufficientPermission(m) if m.contains("Permission Denied"))
        );
        assert!(matches!(
            e(404, json!({"title": "Resource Not Found", "message": "m"})),
            E::NotFound(_)
        ));
    }
}
