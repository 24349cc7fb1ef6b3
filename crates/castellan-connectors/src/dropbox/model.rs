//! Dropbox team members, roles, user selectors and error bodies as the Dropbox connector reads
//! them, from the API's Stone specification (`team.stone`, `auth.stone`, `async.stone` of
//! <https://github.com/dropbox/dropbox-api-spec>) and its HTTP reference:
//!
//! - `TeamMemberInfoV2`: `{"profile": TeamMemberProfile, "roles": [TeamMemberRole]}`, a
//!   profile's `team_member_id`, `email`, `name.display_name` and `status` (`.tag` `active`,
//!   `invited`, `suspended`, or `removed` with `is_recoverable`); a role's `role_id`, `name`
//!   (`Team admin`, `User management admin`, `Support admin`, `Billing admin`, …) and
//!   `description`; no role is a member who is no admin (`AdminTier.member_only`).
//! - Unions as JSON: `{".tag": "<variant>", …the variant's fields}`.
//! - Errors: 400 plain text (a malformed call), 401 `AuthError` (`invalid_access_token`,
//!   `expired_access_token`, `missing_scope` with `required_scope`), 403 `AccessError`, 409 the
//!   route's own error, 429 `RateLimitError` (`reason`, `retry_after` seconds) with
//!   `Retry-After`, all as `{"error_summary", "error": {".tag", …}}`:
//!   <https://www.dropbox.com/developers/documentation/http/documentation#error-handling>

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::APP;
use crate::sdk::errors::common_error;
use crate::sdk::json::{items, text};
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// A team admin (every permission).
pub const TEAM_ADMIN: &str = "team_admin";
/// A user management admin (adds, removes and manages members).
pub const USER_MANAGEMENT_ADMIN: &str = "user_management_admin";
/// A support admin (a limited set of support tasks).
pub const SUPPORT_ADMIN: &str = "support_admin";
/// A member with no admin role, the default.
pub const MEMBER_ONLY: &str = "member_only";
/// The roles that may manage members, one of which the automation account's admin needs.
pub(crate) const MANAGERS: [&str; 2] = [TEAM_ADMIN, USER_MANAGEMENT_ADMIN];

/// A role's wire name from its `TeamMemberRole.name`: each of Dropbox's `AdminTier`s
/// (`team_admin`, `user_management_admin`, `support_admin`) "corresponds to a new
/// TeamMemberRole with a matching name" (`Team admin`, …), so the name lowercased with `_` for
/// what is not a letter or digit; other roles alike (`Billing admin` is `billing_admin`).
pub(crate) fn wire_name(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.join("_")
}

/// The roles of a `roles` list by their wire names ([`wire_name`]): [`MEMBER_ONLY`] for none.
pub(crate) fn roles_of(roles: &Value) -> Vec<String> {
    let names: Vec<String> = items(roles)
        .iter()
        .map(|r| wire_name(text(&r["name"])))
        .filter(|n| !n.is_empty())
        .collect();
    match names.is_empty() {
        true => vec![MEMBER_ONLY.to_owned()],
        false => names,
    }
}

/// A `UserSelectorArg`: an address by `email`, anything else by `team_member_id`.
pub(crate) fn selector(key: &str) -> Value {
    match key.contains('@') {
        true => json!({ ".tag": "email", "email": key }),
        false => json!({ ".tag": "team_member_id", "team_member_id": key }),
    }
}

/// Where a member stands in the team, from its profile's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Joined.
    Active,
    /// Invited, not joined yet.
    Invited,
    /// Suspended: the account and its license stay, signing in does not (`members/unsuspend`).
    Suspended,
    /// Removed, recoverable for a while (`members/recover`).
    Removed,
}

/// A team member (`TeamMemberInfoV2`, or a union variant holding one) as an app member and its
/// standing; `None` for a removed member Dropbox can no longer recover (gone).
///
/// Errors: `AppChanged` without a `team_member_id` or a known status.
pub(crate) fn team_member(v: &Value, what: &str) -> Result<Option<(AppMember, Standing)>, E> {
    let p = &v["profile"];
    let id = text(&p["team_member_id"]);
    let standing = match text(&p["status"][".tag"]) {
        "active" => Standing::Active,
        "invited" => Standing::Invited,
        "suspended" => Standing::Suspended,
        "removed" if p["status"]["is_recoverable"] == true => Standing::Removed,
        "removed" => return Ok(None),
        _ => return Err(crate::sdk::errors::unexpected(APP, what)),
    };
    if id.is_empty() {
        return Err(crate::sdk::errors::unexpected(APP, what));
    }
    let (email, name) = (p["email"].as_str(), p["name"]["display_name"].as_str());
    let off = matches!(standing, Standing::Suspended | Standing::Removed);
    let mut m = member(id, email, name, roles_of(&v["roles"]), off);
    if standing == Standing::Invited {
        m.state = MemberState::Invited;
    }
    Ok(Some((m, standing)))
}

/// The wait in a 429's `RateLimitError` body (`error.retry_after`, seconds); it wins over the
/// `Retry-After` header, which says the same.
pub(crate) fn retry_hint(v: &Value) -> Option<Duration> {
    v["error"]["retry_after"].as_u64().map(Duration::from_secs)
}

/// The `.tag` of a Dropbox error body (`error.".tag"`), else the first part of its
/// `error_summary` (`user_not_found/..`), else `""`.
pub(crate) fn tag(r: &Reply) -> String {
    let Some(body) = r.json.as_ref() else {
        return String::new();
    };
    match text(&body["error"][".tag"]) {
        "" => text(&body["error_summary"])
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        t => t.to_owned(),
    }
}

/// The one table from Dropbox's error answers to connector errors: 429 and 5xx as every app
/// ([`common_error`]); 400 (a plain-text message) `Configuration`; 401 `missing_scope`
/// `InsufficientPermission` naming the scope, any other 401 `BadCredentials`; 403
/// `InsufficientPermission`; 409 by its tag: no such member `NotFound`, the last admin, a
/// suspended member or one already on a team `Conflict`, the rest `Configuration`.
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    if let Some(e) = common_error(
        r,
        what,
        "Dropbox's API address (https://api.dropboxapi.com)",
    ) {
        return e;
    }
    let tag = tag(r);
    let says = match says(r, &["error_summary"]) {
        s if s.is_empty() => r.text.chars().take(300).collect(),
        s => s,
    };
    match (r.status, tag.as_str()) {
        (StatusCode::BAD_REQUEST, _) => {
            E::Configuration(format!("Dropbox refused to {what}: {says}"))
        }
        (StatusCode::UNAUTHORIZED, "missing_scope") => {
            let scope = r.json.as_ref().map(|b| text(&b["error"]["required_scope"]));
            E::InsufficientPermission(format!(
                "the Dropbox app lacks the scope {} to {what}: {says}",
                scope.unwrap_or_default()
            ))
        }
        (StatusCode::UNAUTHORIZED, _) => E::BadCredentials(format!(
            "Dropbox did not accept the team access token: {says}"
        )),
        (StatusCode::FORBIDDEN, _) => {
            E::InsufficientPermission(format!("Dropbox refused to {what}: {says}"))
        }
        (_, "user_not_found" | "user_not_in_team" | "id_not_found") => {
            E::NotFound(format!("Dropbox has no such team member: {says}"))
        }
        (
            _,
            "last_admin"
            | "remove_last_admin"
            | "suspend_last_admin"
            | "cannot_set_permissions"
            | "suspend_inactive_user"
            | "user_already_on_team"
            | "user_on_another_team"
            | "cannot_keep_invited_user_account"
            | "user_unrecoverable",
        ) => E::Conflict(format!("Dropbox refused to {what}: {says}")),
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_members_and_selectors() {
        assert_eq!(wire_name("User management admin"), "user_management_admin");
        assert_eq!(wire_name(" Team  admin "), "team_admin");
        assert_eq!(roles_of(&json!([])), [MEMBER_ONLY]);
        assert_eq!(roles_of(&Value::Null), [MEMBER_ONLY]);
        let info = |status: Value| {
            json!({"profile": {"team_member_id": "dbmid:A", "email": "A@X.org",
                "name": {"display_name": "Ana Lima"}, "status": status},
                "roles": [{"role_id": "pid_dbtmr:1", "name": "Support admin"}]})
        };
        let (m, s) = team_member(&info(json!({".tag": "active"})), "x")
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                m.app_member_id.as_str(),
                m.email.as_deref(),
                m.roles[0].as_str(),
                s
            ),
            ("dbmid:A", Some("a@x.org"), SUPPORT_ADMIN, Standing::Active)
        );
        let state = |status: Value| {
            team_member(&info(status), "x")
                .unwrap()
                .map(|(m, s)| (m.state, s))
        };
        assert_eq!(
            state(json!({".tag": "invited"})),
            Some((MemberState::Invited, Standing::Invited))
        );
        assert_eq!(
            state(json!({".tag": "suspended"})),
            Some((MemberState::Deactivated, Standing::Suspended))
        );
        let removed =
            |r: bool| json!({".tag": "removed", "is_recoverable": r, "is_disconnected": false});
        assert_eq!(
            state(removed(true)),
            Some((MemberState::Deactivated, Standing::Removed))
        );
        assert_eq!(state(removed(false)), None);
        assert!(team_member(&info(json!({".tag": "new"})), "x").is_err());
        assert_eq!(selector("a@x.org")[".tag"], "email");
        assert_eq!(selector("dbmid:A")["team_member_id"], "dbmid:A");
    }

    #[test]
    fn errors() {
        let e =
            |status: u16, body: &str| map_error(&Reply::new(status, body, None, "http://d"), "x");
        let scope = r#"{"error_summary": "missing_scope/..", "error": {".tag": "missing_scope",
            "required_scope": "members.write"}}"#;
        assert!(
            matches!(e(401, scope), E::InsufficientPermission(m) if m.contains("members.write"))
        );
        let bad = r#"{"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}}"#;
        assert!(matches!(e(401, bad), E::BadCredentials(_)));
        let gone =
            r#"{"error_summary": "user_not_found/...", "error": {".tag": "user_not_found"}}"#;
        assert!(matches!(e(409, gone), E::NotFound(_)));
        assert!(matches!(
            e(409, r#"{"error_summary": "remove_last_admin/."}"#),
            E::Conflict(_)
        ));
        let text = "Error in call to API function \"team/members/add_v2\": missing new_members";
        assert!(matches!(e(400, text), E::Configuration(m) if m.contains("missing new_members")));
        let other = r#"{"error_summary": "role_not_found/", "error": {".tag": "role_not_found"}}"#;
        assert!(matches!(e(409, other), E::Configuration(m) if m.contains("role_not_found")));
        let limited = r#"{"error_summary": "too_many_requests/", "error": {"reason":
            {".tag": "too_many_requests"}, "retry_after": 300}}"#;
        let v: Value = serde_json::from_str(limited).unwrap();
        assert_eq!(retry_hint(&v), Some(Duration::from_secs(300)));
        assert!(e(429, limited).is_retryable());
    }
}
