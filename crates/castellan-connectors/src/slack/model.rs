//! Slack's SCIM 2.0 users as members (their account type read from Slack's guest extension),
//! the bodies that give an account type, and the one table from Slack's error answers to
//! connector errors.
//!
//! - Users and the guest extension `urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User`
//!   (`type` `multi`; converting a full member to a multi-channel guest and back, each
//!   reactivating a deactivated user): <https://docs.slack.dev/reference/scim-api>
//! - Errors (`{"schemas": [...Error], "detail": "<code>", "status": 400}`, the codes and what
//!   they mean): <https://docs.slack.dev/reference/scim-api> ("Errors")

use castellan_core::connector::ConnectorError as E;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::APP;
use crate::scim::{new_user, UserRead};
use crate::sdk::scim::{patch_op, scim_error};
use crate::sdk::Reply;
use castellan_core::connector::AppMember;

/// A full member of the workspace: Slack's SCIM API shows Owners and Admins alike (their
/// account type is not among its attributes).
pub const MEMBER: &str = "member";
/// A multi-channel guest (Slack's guest extension with `type` `multi`).
pub const MULTI_CHANNEL_GUEST: &str = "multi_channel_guest";
/// A single-channel guest (the guest extension with `type` `single`): read only, as Slack's
/// SCIM API makes none.
pub const SINGLE_CHANNEL_GUEST: &str = "single_channel_guest";
/// Slack's guest extension of a User.
pub(super) const GUEST: &str = "urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User";

/// Slack's error codes (`detail`) that protect an Owner, the primary owner or another account
/// SCIM may not change, with what Slack says of each: `Conflict`, done by a person in Slack.
const PROTECTED: [(&str, &str); 6] = [
    (
        "cannot_make_user_guest",
        "Admins, Owners and Primary owners cannot be made guests via SCIM",
    ),
    (
        "cannot_modify_owner",
        "a workspace's ownership cannot be modified via SCIM",
    ),
    (
        "cannot_disable_primary_owner",
        "the primary owner cannot be deactivated",
    ),
    (
        "primary_owner_check_failure",
        "the primary owner of a workspace cannot be deactivated",
    ),
    (
        "cannot_disable_bot_user_with_scim",
        "bot users are deactivated in the bot's admin pages",
    ),
    (
        "cannot_modify_gdpr",
        "users whose information was forgotten under GDPR cannot be modified",
    ),
];

/// The Castellan role of a User: its guest extension's `type` (`multi`, `single`), else
/// [`MEMBER`].
pub(super) fn role_of(user: &Value) -> &'static str {
    match user[GUEST]["type"].as_str() {
        Some("multi") => MULTI_CHANNEL_GUEST,
        Some("single") => SINGLE_CHANNEL_GUEST,
        _ => MEMBER,
    }
}

/// A User as a member with its account type as role.
pub(super) fn member((user, body): &UserRead) -> AppMember {
    user.member(vec![role_of(body).to_owned()])
}

/// The body of `POST /Users` for `email` as `role`: an RFC 7643 User (the address as
/// `userName`, which Slack turns into a username of its own, and as the primary address), with
/// the guest extension for a multi-channel guest, so a guest is never a full member, not even
/// for a moment.
pub(super) fn new_member(email: &str, name: Option<&str>, role: &str) -> Value {
    let mut u = new_user(email, name);
    if role == MULTI_CHANNEL_GUEST {
        if let Some(schemas) = u["schemas"].as_array_mut() {
            schemas.push(json!(GUEST));
        }
        u[GUEST] = json!({ "type": "multi" });
    }
    u
}

/// The PATCH operations (RFC 7644 §3.5.2) that make a user `role`: `add` of the guest
/// extension with `type` `multi`, or its `remove` for a full member.
pub(super) fn role_ops(role: &str) -> Vec<Value> {
    match role {
        MULTI_CHANNEL_GUEST => vec![patch_op(
            "add",
            Some(GUEST),
            Some(json!({ "type": "multi" })),
        )],
        _ => vec![patch_op("remove", Some(GUEST), None)],
    }
}

/// `user` as a whole resource with `role` (for a `PUT` where `PATCH` is refused).
pub(super) fn with_role(mut user: Value, role: &str) -> Value {
    if let Some(o) = user.as_object_mut() {
        o.remove(GUEST);
        if role == MULTI_CHANNEL_GUEST {
            o.insert(GUEST.to_owned(), json!({ "type": "multi" }));
        }
    }
    user
}

/// Slack's error code: the body's `detail` when it is one (letters, digits and `_`, at most 64).
fn code(r: &Reply) -> Option<&str> {
    let d = r.json.as_ref()?.get("detail")?.as_str()?.trim();
    let ok =
        !d.is_empty() && d.len() <= 64 && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(d)
}

/// The one table from Slack's SCIM error answers to connector errors (`what`: the call), by
/// Slack's code (`detail`) first, then by status:
/// - the codes that protect Owners and special accounts (`cannot_make_user_guest`,
///   `cannot_disable_primary_owner`, …) → `Conflict`, with Slack's explanation;
/// - `email_taken`, `username_taken` → `Conflict`; `no_such_user`, `unknown_user`,
///   `no_such_group` → `NotFound`;
/// - `plus_teams_only` → `Unsupported` (SCIM is on Business+ and Enterprise Grid);
///   `non_org_teams_only` → `Configuration` (install the app on the organization);
/// - 401, `invalid_authentication`, `missing_authentication` → `BadCredentials` (a user token
///   with the `admin` scope, from an Owner or Admin, is needed);
/// - 403, `permission_denied` → `InsufficientPermission` (the token's user must stay an Owner or
///   Admin);
/// - the rest as RFC 7644 §3.12 says ([`scim_error`]: 429 `RateLimited` with `Retry-After`,
///   5xx `Unavailable`, other 4xx `Configuration`).
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let code = code(r).unwrap_or("");
    let says = match code {
        "" => format!("HTTP {}", r.status.as_u16()),
        c => c.to_owned(),
    };
    if let Some((_, why)) = PROTECTED.iter().find(|(c, _)| *c == code) {
        return E::Conflict(format!("{APP} refused to {what} ({code}): {why}"));
    }
    let known = match code {
        "email_taken" | "username_taken" => {
            Some(E::Conflict(format!("{APP} refused to {what} ({code})")))
        }
        "no_such_user" | "unknown_user" | "no_such_group" => {
            Some(E::NotFound(format!("{APP}: {what}: {code}")))
        }
        "plus_teams_only" => Some(E::Unsupported(format!(
            "{APP}'s SCIM API is on the Business+ and Enterprise Grid plans only ({code})"
        ))),
        "non_org_teams_only" => Some(E::Configuration(format!(
            "{APP} refused to {what} ({code}): on Enterprise Grid the SCIM app is installed on \
             the organization, not on a workspace"
        ))),
        _ => None,
    };
    if let Some(e) = known {
        return e;
    }
    if r.status == StatusCode::UNAUTHORIZED
        || matches!(code, "invalid_authentication" | "missing_authentication")
    {
        return E::BadCredentials(format!(
            "{APP} refused the token to {what} ({says}): a user token (xoxp-) with the admin \
             scope, made by an Owner or Admin, is needed"
        ));
    }
    if r.status == StatusCode::FORBIDDEN || code == "permission_denied" {
        return E::InsufficientPermission(format!(
            "{APP} does not let the token {what} ({says}): the user who made it must remain an \
             Owner or Admin, and the token keep the admin scope"
        ));
    }
    scim_error(r, APP, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, detail: &str) -> Reply {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "detail": detail, "status": status});
        Reply::new(
            status,
            &body.to_string(),
            None,
            "https://api.slack.com/scim/v2",
        )
    }

    #[test]
    fn account_types_and_bodies() {
        assert_eq!(role_of(&json!({})), MEMBER);
        assert_eq!(
            role_of(&json!({ GUEST: {"type": "multi"} })),
            MULTI_CHANNEL_GUEST
        );
        assert_eq!(
            role_of(&json!({ GUEST: {"type": "single"} })),
            SINGLE_CHANNEL_GUEST
        );
        let guest = new_member("g@x.org", Some("Gia"), MULTI_CHANNEL_GUEST);
        assert_eq!(guest[GUEST]["type"], "multi");
        assert!(guest["schemas"].as_array().unwrap().contains(&json!(GUEST)));
        assert!(new_member("m@x.org", None, MEMBER).get(GUEST).is_none());
        assert_eq!(role_ops(MULTI_CHANNEL_GUEST)[0]["op"], "add");
        assert_eq!(role_ops(MEMBER)[0], json!({"op": "remove", "path": GUEST}));
        let u = with_role(json!({"id": "U1", GUEST: {"type": "multi"}}), MEMBER);
        assert_eq!(u, json!({"id": "U1"}));
        assert_eq!(with_role(u, MULTI_CHANNEL_GUEST)[GUEST]["type"], "multi");
    }

    #[test]
    fn slacks_codes_map_to_connector_errors() {
        let e = |s, d| map_error(&reply(s, d), "x");
        assert!(
            matches!(e(401, "invalid_authentication"), E::BadCredentials(m) if m.contains("admin scope"))
        );
        assert!(
            matches!(e(403, "permission_denied"), E::InsufficientPermission(m) if m.contains("Owner or Admin"))
        );
        assert!(
            matches!(e(400, "cannot_make_user_guest"), E::Conflict(m) if m.contains("cannot be made guests"))
        );
        assert!(matches!(
            e(400, "cannot_disable_primary_owner"),
            E::Conflict(_)
        ));
        assert!(matches!(e(409, "email_taken"), E::Conflict(_)));
        assert!(matches!(e(404, "no_such_user"), E::NotFound(_)));
        assert!(matches!(e(403, "plus_teams_only"), E::Unsupported(_)));
        assert!(matches!(
            e(403, "something_else"),
            E::InsufficientPermission(_)
        ));
        assert!(matches!(e(400, "invalid_query"), E::Configuration(_)));
        assert!(matches!(e(429, "too_many_requests"), E::RateLimited { .. }));
        assert!(e(503, "").is_retryable());
    }
}
