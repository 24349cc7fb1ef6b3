//! Trello workspace memberships, rate-limit answers and error bodies as the Trello connector
//! reads them.
//!
//! - Memberships (`GET /organizations/{id}/memberships?member=true`: `id`, `idMember`,
//!   `memberType` `admin` or `normal`, `unconfirmed`, `deactivated`, and the nested `member`
//!   with `id`, `username`, `fullName`, `email`):
//!   <https://developer.atlassian.com/cloud/trello/rest/api-group-organizations/>, the Member
//!   object: <https://developer.atlassian.com/cloud/trello/rest/api-group-members/>.
//! - Rate limits (429 with `{"error": "API_TOKEN_LIMIT_EXCEEDED" | "API_KEY_LIMIT_EXCEEDED",
//!   "message"}`, windows of 10 s, the `X-Rate-Limit-Api-Token-*` and `X-Rate-Limit-Api-Key-*`
//!   headers, no `Retry-After`):
//!   <https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/>.
//! - Errors: plain-text bodies (`invalid id`, `invalid token`, `unauthorized permission
//!   requested`) with 400, 401 or 404; Trello answers 401 both for a token it does not accept
//!   and for one whose member may not do what was asked.

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::{common_error, unexpected};
use crate::sdk::json::{items, text};
use crate::sdk::members::member;
use crate::sdk::saas::says;
use crate::sdk::Reply;

/// A workspace admin: manages the workspace's members (`memberType` on the wire).
pub const ADMIN: &str = "admin";
/// A workspace member who is no admin (`normal` on the wire; "Member" in Trello's pages).
pub const NORMAL: &str = "normal";
/// The workspace roles, most privileged first.
pub(crate) const ROLES: [&str; 2] = [ADMIN, NORMAL];
/// The wait after a 429 that names none: one of Trello's 10-second windows.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);
/// The headers naming the length of Trello's rate-limit windows, in milliseconds.
const INTERVALS: [&str; 2] = [
    "x-rate-limit-api-token-interval-ms",
    "x-rate-limit-api-key-interval-ms",
];
/// The words of Trello's 401 answers to a key or token it does not accept (any other 401 is a
/// member who may not do what was asked).
const NOT_ACCEPTED: [&str; 4] = [
    "invalid token",
    "invalid key",
    "expired token",
    "invalid app",
];

/// A membership row as an app member, known by its `idMember` (the id the member endpoints
/// take): `deactivated` ones deactivated, `unconfirmed` ones (an address Trello invited that has
/// no confirmed account yet) invited; the address where Trello shows it.
///
/// Errors: `AppChanged` without an `idMember` or `memberType`.
pub(crate) fn membership(v: &Value, what: &str) -> Result<AppMember, E> {
    let (id, role) = (text(&v["idMember"]), text(&v["memberType"]));
    if id.is_empty() || role.is_empty() {
        return Err(unexpected(APP, what));
    }
    let who = &v["member"];
    let (email, name) = (who["email"].as_str(), who["fullName"].as_str());
    let mut m = member(id, email, name, vec![role.to_owned()], false);
    if v["deactivated"] == true {
        m.state = MemberState::Deactivated;
    } else if v["unconfirmed"] == true {
        m.state = MemberState::Invited;
    }
    Ok(m)
}

/// The memberships of an answer, which must be an array, with each member's username (Trello's
/// paths take a member's id or username).
///
/// Errors: `AppChanged` for another body or a row [`membership`] refuses.
pub(crate) fn memberships(v: &Value, what: &str) -> Result<Vec<(AppMember, String)>, E> {
    if !v.is_array() {
        return Err(unexpected(APP, what));
    }
    let row = |r: &Value| {
        Ok((
            membership(r, what)?,
            text(&r["member"]["username"]).to_owned(),
        ))
    };
    items(v).iter().map(row).collect()
}

/// Trello's rate limit: a 429 is retried after its `Retry-After` when one is sent, else after
/// the longest window the `X-Rate-Limit-*-Interval-Ms` headers name, else [`WINDOW`] (Trello
/// counts requests in fixed windows and does not say when the current one ends).
pub(crate) fn throttle(r: &Reply) -> Option<Duration> {
    if r.status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let interval = INTERVALS
        .iter()
        .filter_map(|h| r.header(h)?.trim().parse::<u64>().ok())
        .max()
        .map(Duration::from_millis);
    r.retry_after.or(interval).or(Some(WINDOW))
}

/// What Trello said: the `error` and `message` of a JSON body (its 429s), else the plain text
/// of the body (its other errors), at most 200 characters.
pub(crate) fn said(r: &Reply) -> String {
    match says(r, &["error", "message"]) {
        s if !s.is_empty() => s,
        _ => r.text.trim().chars().take(200).collect(),
    }
}

/// The one table from Trello's answers to connector errors: 429, 5xx and redirects as every
/// app's ([`common_error`]); 401 `BadCredentials` for a key or token Trello does not accept,
/// else `InsufficientPermission` (`unauthorized permission requested`); 403
/// `InsufficientPermission`; 404 and 400 `invalid id` `NotFound`; 409 `Conflict`; another 4xx
/// `Configuration`; anything else `AppChanged`.
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    if let Some(e) = common_error(r, what, "https://api.trello.com/1") {
        return e;
    }
    let says = said(r);
    let lower = says.to_ascii_lowercase();
    let refused = format!("Trello refused to {what}: {says}");
    match r.status {
        StatusCode::UNAUTHORIZED if NOT_ACCEPTED.iter().any(|w| lower.contains(w)) => {
            E::BadCredentials(format!(
                "Trello did not accept the API key and token: {says}"
            ))
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => E::InsufficientPermission(refused),
        StatusCode::NOT_FOUND => E::NotFound(refused),
        StatusCode::BAD_REQUEST if lower.contains("invalid id") => E::NotFound(refused),
        StatusCode::CONFLICT => E::Conflict(refused),
        s if s.is_client_error() => E::Configuration(refused),
        s => E::AppChanged(format!("Trello answered '{what}' with HTTP {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn memberships_states_and_errors() {
        let row = |extra: Value| {
            let mut v = json!({"id": "m1", "idMember": "a1", "memberType": "normal",
                "unconfirmed": false, "deactivated": false,
                "member": {"id": "a1", "username": "ana", "fullName": "Ana", "email": "A@X.org"}});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            v
        };
        let all = memberships(&json!([row(json!({}))]), "x").unwrap();
        let (m, username) = &all[0];
        assert_eq!(
            (
                m.app_member_id.as_str(),
                m.email.as_deref(),
                username.as_str()
            ),
            ("a1", Some("a@x.org"), "ana")
        );
        assert_eq!(
            (m.roles[0].as_str(), m.state),
            (NORMAL, MemberState::Active)
        );
        let m = membership(&row(json!({"unconfirmed": true})), "x").unwrap();
        assert_eq!(m.state, MemberState::Invited);
        let m = membership(&row(json!({"deactivated": true, "unconfirmed": true})), "x").unwrap();
        assert_eq!(m.state, MemberState::Deactivated);
        let hidden = membership(&row(json!({"member": {"email": null}})), "x").unwrap();
        assert_eq!(hidden.email, None);
        assert!(membership(&json!({"memberType": "admin"}), "x").is_err());
        assert!(memberships(&json!({"a": 1}), "x").is_err());

        let e = |status: u16, body: &str| map_error(&Reply::new(status, body, None, "h"), "x");
        assert!(
            matches!(e(401, "invalid token"), E::BadCredentials(m) if m.contains("invalid token"))
        );
        assert!(matches!(
            e(401, "unauthorized permission requested"),
            E::InsufficientPermission(m) if m.contains("unauthorized permission requested")
        ));
        assert!(matches!(e(400, "invalid id"), E::NotFound(_)));
        assert!(matches!(
            e(400, "invalid value for type"),
            E::Configuration(_)
        ));
        assert!(matches!(
            e(404, "The requested resource was not found."),
            E::NotFound(_)
        ));
        let busy = r#"{"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}"#;
        assert!(matches!(e(429, busy), E::RateLimited { .. }));
        assert_eq!(
            said(&Reply::new(429, busy, None, "h")),
            "API_TOKEN_LIMIT_EXCEEDED: Rate limit exceeded"
        );
    }

    #[test]
    fn a_429_waits_for_the_window() {
        let mut r = Reply::new(429, "{}", None, "h");
        assert_eq!(throttle(&r), Some(WINDOW));
        r.headers.insert(INTERVALS[0], "1500".parse().unwrap());
        r.headers.insert(INTERVALS[1], "900".parse().unwrap());
        assert_eq!(throttle(&r), Some(Duration::from_millis(1500)));
        r.retry_after = Some(Duration::from_secs(1));
        assert_eq!(throttle(&r), Some(Duration::from_secs(1)));
        assert_eq!(throttle(&Reply::new(200, "[]", None, "h")), None);
    }
}
