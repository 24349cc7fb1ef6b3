//! GitLab group members, invitations, roles, pages and error bodies as the GitLab connector reads
//! them.
//!
//! - Roles are GitLab's access levels (`Gitlab::Access`): 10 Guest, 15 Planner, 20 Reporter,
//!   30 Developer, 40 Maintainer, 50 Owner (and 5 Minimal access, read only here):
//!   <https://docs.gitlab.com/api/members/#roles>.
//! - Members (`id`, `username`, `name`, `state`, `access_level`, `membership_state`, and
//!   `email` only for the group's enterprise users, to its owners):
//!   <https://docs.gitlab.com/api/members/>.
//! - Invitations (`invite_email`, `access_level`, `created_at`; `POST` answers `{"status":
//!   "success"}` or `{"status": "error", "message": {<email>: <reason>}}`):
//!   <https://docs.gitlab.com/api/invitations/>.
//! - Pages: `page` and `per_page` (at most 100), the next page in `X-Next-Page` (empty on the
//!   last) and in `Link: rel="next"`: <https://docs.gitlab.com/api/rest/#pagination>.
//! - Errors: `{"message": …}` (a string, or an object of field errors) or `{"error": …}`:
//!   <https://docs.gitlab.com/api/rest/troubleshooting/>.

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::json::{id, text};
use crate::sdk::members::member;
use crate::sdk::paging::next_link;
use crate::sdk::saas::refused;
use crate::sdk::Reply;

/// The roles Castellan gives, most privileged first, with their access levels on the wire.
pub(crate) const LEVELS: [(&str, u64); 6] = [
    ("owner", 50),
    ("maintainer", 40),
    ("developer", 30),
    ("reporter", 20),
    ("planner", 15),
    ("guest", 10),
];
/// The group owner: the role the automation account needs.
pub const OWNER: &str = "owner";
/// Guest: the least privileged role, the default of invitations.
pub const GUEST: &str = "guest";
/// The prefix of a pending invitation's app member id (`invitation:<email>`): GitLab names an
/// invitation by its address until someone accepts it.
pub(crate) const INVITATION: &str = "invitation:";
/// The user states GitLab shows for accounts that cannot sign in.
const OFF: [&str; 4] = [
    "blocked",
    "banned",
    "deactivated",
    "blocked_pending_approval",
];

/// The role named by an access level: one of [`LEVELS`], `minimal_access` for 5, else
/// `access_level_<n>` (a level this connector does not know).
pub(crate) fn role_of(level: u64) -> String {
    match LEVELS.iter().find(|(_, l)| *l == level) {
        Some((name, _)) => (*name).to_owned(),
        None if level == 5 => "minimal_access".to_owned(),
        None => format!("access_level_{level}"),
    }
}

/// The access level of a role of [`LEVELS`] (any case), `None` for another.
pub(crate) fn level_of(role: &str) -> Option<u64> {
    let role = role.trim().to_ascii_lowercase();
    LEVELS.iter().find(|(r, _)| *r == role).map(|(_, l)| *l)
}

/// A member row as an app member under its user id, with its role, its address where GitLab
/// shows it (else `email`, the address it was found by), `invited` while the membership awaits
/// approval or a seat, `deactivated` when the account is blocked, banned or deactivated.
///
/// Errors: `AppChanged` without an `id` or `access_level`.
pub(crate) fn group_member(v: &Value, email: Option<&str>, what: &str) -> Result<AppMember, E> {
    let (Some(uid), Some(level)) = (id(&v["id"]), v["access_level"].as_u64()) else {
        return Err(unexpected(APP, what));
    };
    let shown = v["email"].as_str().filter(|e| !e.trim().is_empty());
    let off = OFF.contains(&text(&v["state"]));
    let mut m = member(
        uid,
        shown.or(email),
        v["name"].as_str(),
        vec![role_of(level)],
        off,
    );
    if !off && v["membership_state"] == "awaiting" {
        m.state = MemberState::Invited;
    }
    Ok(m)
}

/// A pending invitation as an `invited` member `invitation:<email>` with its role.
///
/// Errors: `AppChanged` without an `invite_email` or `access_level`.
pub(crate) fn invitation(v: &Value, what: &str) -> Result<AppMember, E> {
    let email = text(&v["invite_email"]).trim().to_lowercase();
    let Some(level) = v["access_level"].as_u64().filter(|_| !email.is_empty()) else {
        return Err(unexpected(APP, what));
    };
    let name = v["user_name"].as_str();
    let id = format!("{INVITATION}{email}");
    let mut m = member(id, Some(&email), name, vec![role_of(level)], false);
    m.state = MemberState::Invited;
    Ok(m)
}

/// The rows of a listing, which must be an array.
///
/// Errors: `AppChanged` for another body.
pub(crate) fn rows<'v>(v: &'v Value, what: &str) -> Result<&'v [Value], E> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| unexpected(APP, what))
}

/// The next page after the answer `r`: `X-Next-Page` (empty on the last page), else the `page`
/// of the `Link: rel="next"` target, else `None`.
pub(crate) fn next_page(r: &Reply) -> Option<String> {
    if let Some(n) = r.header("x-next-page") {
        return Some(n.trim().to_owned()).filter(|n| !n.is_empty());
    }
    let link = next_link(r.header("link")?)?;
    let url = url::Url::parse(&link)
        .or_else(|_| url::Url::parse("http://h/")?.join(&link))
        .ok()?;
    let page = url.query_pairs().find(|(k, _)| k == "page")?;
    Some(page.1.into_owned())
}

/// What GitLab said: its `message` (a string, or `field: reason` for each of an object's field
/// errors) and `error`, joined with `: `; a plain-text body (its 429's `Retry later`) as it is,
/// at most 200 characters.
pub(crate) fn said(r: &Reply) -> String {
    let Some(body) = r.json.as_ref() else {
        return r.text.trim().chars().take(200).collect();
    };
    let mut parts: Vec<String> = Vec::new();
    for key in ["message", "error"] {
        match &body[key] {
            Value::String(s) => parts.push(s.clone()),
            Value::Object(fields) => parts.extend(fields.iter().map(|(f, why)| {
                let why: Vec<&str> = match why {
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    other => other.as_str().into_iter().collect(),
                };
                format!("{f} {}", why.join(", "))
            })),
            _ => {}
        }
    }
    parts.retain(|p| !p.trim().is_empty());
    parts.join(": ")
}

/// The one table from GitLab's answers to connector errors: 401 `BadCredentials`, 409
/// `Conflict`, the rest by status ([`refused`]: 403 `InsufficientPermission`, 404 `NotFound`,
/// another 4xx `Configuration`, 429 `RateLimited` with its `Retry-After`, 5xx `Unavailable`).
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    let says = said(r);
    match r.status {
        StatusCode::UNAUTHORIZED => {
            E::BadCredentials(format!("GitLab did not accept the access token: {says}"))
        }
        StatusCode::CONFLICT => E::Conflict(format!("GitLab refused to {what}: {says}")),
        _ => refused(r, APP, what, &says),
    }
}

/// The error of an invitation GitLab answered with `{"status": "error", "message": …}`:
/// `Conflict` when it says the address is taken or a member already, else `Configuration`.
pub(crate) fn invitation_error(v: &Value) -> Option<E> {
    if v["status"] != "error" {
        return None;
    }
    let reasons: Vec<String> = match &v["message"] {
        Value::Object(o) => o
            .iter()
            .map(|(k, why)| format!("{k}: {}", text(why)))
            .collect(),
        other => vec![text(other).to_owned()],
    };
    let says = reasons.join("; ");
    let taken = says.contains("already");
    let what = format!("GitLab refused the invitation: {says}");
    Some(if taken {
        E::Conflict(what)
    } else {
        E::Configuration(what)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_members_and_invitations() {
        assert_eq!(
            (role_of(30), role_of(15), role_of(5)),
            (
                "developer".into(),
                "planner".into(),
                "minimal_access".into()
            )
        );
        assert_eq!(role_of(25), "access_level_25");
        assert_eq!(
            (level_of("Owner"), level_of("guest"), level_of("admin")),
            (Some(50), Some(10), None)
        );
        let row = json!({"id": 7, "username": "ana", "name": "Ana", "state": "active",
            "access_level": 40, "membership_state": "active", "email": "Ana@X.org"});
        let m = group_member(&row, None, "x").unwrap();
        assert_eq!(
            (
                m.app_member_id.as_str(),
                m.email.as_deref(),
                m.roles[0].as_str(),
                m.state
            ),
            ("7", Some("ana@x.org"), "maintainer", MemberState::Active)
        );
        let hidden = json!({"id": 8, "name": "Bo", "state": "blocked", "access_level": 10});
        let m = group_member(&hidden, Some("bo@x.org"), "x").unwrap();
        assert_eq!(
            (m.email.as_deref(), m.state),
            (Some("bo@x.org"), MemberState::Deactivated)
        );
        let waiting = json!({"id": 9, "access_level": 10, "membership_state": "awaiting"});
        assert_eq!(
            group_member(&waiting, None, "x").unwrap().state,
            MemberState::Invited
        );
        assert!(group_member(&json!({"id": 1}), None, "x").is_err());
        let inv = invitation(
            &json!({"invite_email": "New@X.org", "access_level": 30}),
            "x",
        )
        .unwrap();
        assert_eq!(
            (inv.app_member_id.as_str(), inv.roles[0].as_str(), inv.state),
            ("invitation:new@x.org", "developer", MemberState::Invited)
        );
    }

    #[test]
    fn pages_messages_and_errors() {
        let mut r = Reply::new(200, "[]", None, "h");
        r.headers.insert("x-next-page", "3".parse().unwrap());
        assert_eq!(next_page(&r).as_deref(), Some("3"));
        r.headers.insert("x-next-page", "".parse().unwrap());
        assert_eq!(next_page(&r), None);
        let mut r = Reply::new(200, "[]", None, "h");
        let link = r#"<https://gitlab.example.com/api/v4/groups/9/members?page=2&per_page=100>; rel="next""#;
        r.headers.insert("link", link.parse().unwrap());
        assert_eq!(next_page(&r).as_deref(), Some("2"));
        assert_eq!(next_page(&Reply::new(200, "[]", None, "h")), None);

        let e = |status: u16, body: &str| map_error(&Reply::new(status, body, None, "h"), "x");
        assert!(
            matches!(e(401, r#"{"message": "401 Unauthorized"}"#), E::BadCredentials(m) if m.contains("401 Unauthorized"))
        );
        assert!(matches!(
            e(403, r#"{"message": "403 Forbidden"}"#),
            E::InsufficientPermission(_)
        ));
        assert!(matches!(
            e(404, r#"{"message": "404 Member Not Found"}"#),
            E::NotFound(_)
        ));
        assert!(matches!(
            e(409, r#"{"message": "Member already exists"}"#),
            E::Conflict(_)
        ));
        let field = r#"{"message": {"access_level": ["should be greater than or equal to Developer inherited membership from group Top"]}}"#;
        assert!(
            matches!(e(400, field), E::Configuration(m) if m.contains("access_level should be greater"))
        );
        assert!(
            matches!(e(400, r#"{"error": "access_level does not have a valid value"}"#), E::Configuration(m) if m.contains("valid value"))
        );
        assert_eq!(
            said(&Reply::new(429, "Retry later\n", None, "h")),
            "Retry later"
        );

        let taken = json!({"status": "error", "message": {"a@x.org": "Invite email has already been taken"}});
        assert!(
            matches!(invitation_error(&taken), Some(E::Conflict(m)) if m.contains("already been taken"))
        );
        let bad = json!({"status": "error", "message": {"a@x.org": "Email is invalid"}});
        assert!(matches!(invitation_error(&bad), Some(E::Configuration(_))));
        assert!(invitation_error(&json!({"status": "success"})).is_none());
    }
}
