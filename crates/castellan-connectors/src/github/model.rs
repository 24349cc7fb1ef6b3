//! GitHub's records as the connector reads them (simple-user, org-membership,
//! organization-invitation, team), the roles as on the wire, the rate-limit answers and the one
//! table from GitHub's error answers to connector errors.
//!
//! - Shapes: <https://docs.github.com/en/rest/orgs/members>,
//!   <https://docs.github.com/en/rest/teams/teams>, <https://docs.github.com/en/rest/teams/members>
//! - Error bodies (`message`, `documentation_url`, `errors`):
//!   <https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api>
//! - Rate limits: <https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::APP;
use crate::sdk::json::{items, text};
use crate::sdk::members::member;
use crate::sdk::rest::status_error;
use crate::sdk::Reply;

/// The organization role of owners (`role` in org-membership, as on the wire).
pub(crate) const ADMIN: &str = "admin";
/// The organization role of everybody else who is a member.
pub(crate) const MEMBER: &str = "member";
/// The organization roles the connector gives, most privileged first.
pub(crate) const ROLES: [&str; 2] = [ADMIN, MEMBER];
/// The team roles (`role` in team-membership), most privileged first.
pub(crate) const TEAM_ROLES: [&str; 2] = ["maintainer", "member"];
/// How long to wait after a secondary rate limit that names no wait: "at least one minute".
pub(crate) const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// A user as GitHub lists them (`simple-user`): only `login` and `id` are read for sure; `email`
/// and `name` are in the schema but GitHub.com fills them in no listing (a user's public email
/// shows on their profile only).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GhUser {
    pub(crate) login: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl GhUser {
    /// From a simple-user object. Errors: `AppChanged` without a login.
    pub(crate) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        Self::deserialize(v).map_err(|_| changed(what))
    }

    /// As an active member with `role`.
    pub(crate) fn member(self, role: &str) -> AppMember {
        let mut m = member(
            &self.login,
            self.email.as_deref(),
            self.name.as_deref(),
            vec![role.to_owned()],
            false,
        );
        m.state = MemberState::Active;
        m
    }
}

/// An organization membership (`org-membership`): its user as a member, `active` or (invited by
/// username, not yet accepted) `invited`, with the role as on the wire (`admin`, `member`,
/// `billing_manager`).
pub(crate) fn membership(v: &Value, what: &str) -> Result<AppMember, E> {
    let user = GhUser::parse(&v["user"], what)?;
    let role = text(&v["role"]);
    if role.is_empty() {
        return Err(changed(what));
    }
    let mut m = user.member(role);
    if text(&v["state"]) == "pending" {
        m.state = MemberState::Invited;
    }
    Ok(m)
}

/// A pending invitation (`organization-invitation`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GhInvitation {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) login: Option<String>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    pub(crate) role: String,
}

impl GhInvitation {
    /// From an invitation object. Errors: `AppChanged` without an id or role.
    pub(crate) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        Self::deserialize(v).map_err(|_| changed(what))
    }

    /// The invitations of a listing page. Errors: `AppChanged` for anything but an array of them.
    pub(crate) fn list(v: &Value, what: &str) -> Result<Vec<Self>, E> {
        match v.is_array() {
            true => items(v).iter().map(|i| Self::parse(i, what)).collect(),
            false => Err(changed(what)),
        }
    }

    /// The address, lowercase, when it was sent to one.
    pub(crate) fn email(&self) -> Option<String> {
        let e = self
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        e.map(str::to_lowercase)
    }

    /// As an invited member: known by the invited GitHub login when it names one, else by the
    /// address (which has an `@`, and no login has); the invitation's role as a membership's.
    pub(crate) fn member(&self) -> AppMember {
        let login = self.login.as_deref().filter(|l| !l.is_empty());
        let email = self.email();
        let id = login
            .map(str::to_owned)
            .or(email.clone())
            .unwrap_or_default();
        let mut m = member(
            id,
            email.as_deref(),
            None,
            vec![org_role(&self.role)],
            false,
        );
        m.state = MemberState::Invited;
        m
    }
}

/// An invitation's role as a membership's role: `direct_member` is `member`; the others
/// (`admin`, `billing_manager`, …) as they are.
pub(crate) fn org_role(invitation_role: &str) -> String {
    match invitation_role {
        "direct_member" => MEMBER.to_owned(),
        other => other.to_owned(),
    }
}

/// A membership's role as an invitation's (`member` is `direct_member`).
pub(crate) fn invitation_role(role: &str) -> &str {
    match role {
        MEMBER => "direct_member",
        other => other,
    }
}

/// `AppChanged` for an answer that is not what GitHub documents.
pub(crate) fn changed(what: &str) -> E {
    crate::sdk::errors::unexpected(APP, what)
}

/// GitHub's rate-limit answers ([`crate::sdk::http::Throttle`]), as its rate-limit page says:
/// a 403 or 429 with `retry-after` (a secondary limit) waits that long; with
/// `x-ratelimit-remaining: 0` (the primary limit) until `x-ratelimit-reset` (UTC epoch
/// seconds); a 429, or a 403 whose message speaks of a rate limit, with neither waits
/// [`SECONDARY_WAIT`]. Any other 403 is a refusal.
pub(crate) fn throttle(r: &Reply) -> Option<Duration> {
    if !matches!(r.status.as_u16(), 403 | 429) {
        return None;
    }
    if let Some(wait) = r.retry_after {
        return Some(wait);
    }
    if r.header("x-ratelimit-remaining").map(str::trim) == Some("0") {
        let wait = crate::sdk::http::reset_wait(r, "x-ratelimit-reset");
        return Some(wait.unwrap_or(SECONDARY_WAIT));
    }
    let says = message(r).to_lowercase();
    (r.status == StatusCode::TOO_MANY_REQUESTS || says.contains("rate limit"))
        .then_some(SECONDARY_WAIT)
}

/// GitHub's `message`, with the `errors` of a validation failure (`field code`, or their own
/// `message`) after it.
pub(crate) fn message(r: &Reply) -> String {
    let Some(body) = &r.json else {
        return String::new();
    };
    let mut says = text(&body["message"]).to_owned();
    let details: Vec<String> = items(&body["errors"])
        .iter()
        .map(|e| match e.as_str() {
            Some(s) => s.to_owned(),
            None if !text(&e["message"]).is_empty() => text(&e["message"]).to_owned(),
            None => format!("{} {}", text(&e["field"]), text(&e["code"])),
        })
        .collect();
    if !details.is_empty() {
        says = format!("{says} ({})", details.join("; "));
    }
    says
}

/// The one table from GitHub's answers to connector errors, for the call `what`:
/// rate limits (see [`throttle`]) → `RateLimited`; 401 → `BadCredentials`; a 403 about SAML SSO
/// → `InsufficientPermission` saying to authorize the token; 422 saying something already
/// exists → `Conflict`; the rest by status ([`status_error`]: 403 `InsufficientPermission`,
/// 404 `NotFound`, other 4xx `Configuration`, 5xx `Unavailable`).
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    let msg = message(r);
    let says = format!("GitHub refused to {what}: {msg}");
    match r.status {
        _ if r.throttled => E::RateLimited {
            retry_after: r.retry_after,
        },
        StatusCode::UNAUTHORIZED => E::BadCredentials(format!(
            "GitHub did not accept the token ({msg}): it is wrong, expired or revoked"
        )),
        StatusCode::FORBIDDEN if r.header("x-github-sso").is_some() || msg.contains("SAML") => {
            E::InsufficientPermission(format!(
                "{says}: authorize the token for the organization's SAML single sign-on"
            ))
        }
        StatusCode::UNPROCESSABLE_ENTITY if already(r) => E::Conflict(says),
        _ => status_error(r, APP, what, &says),
    }
}

/// Whether a 422 says that what was asked exists already (`already_exists`, "already").
fn already(r: &Reply) -> bool {
    let body = r.json.as_ref();
    let codes = body.map(|b| items(&b["errors"])).unwrap_or_default();
    codes.iter().any(|e| text(&e["code"]) == "already_exists")
        || message(r).to_lowercase().contains("already")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn reply(status: u16, body: Value, headers: &[(&'static str, &str)]) -> Reply {
        let mut r = Reply::new(status, &body.to_string(), None, "http://gh");
        for (k, v) in headers {
            r.headers.insert(*k, v.parse().unwrap());
        }
        r
    }

    #[test]
    fn members_invitations_and_roles() {
        let m = membership(
            &json!({"state": "pending", "role": "admin", "user": {"login": "Octo", "id": 1}}),
            "x",
        )
        .unwrap();
        assert_eq!(
            (m.app_member_id.as_str(), m.roles.join(",")),
            ("Octo", "admin".into())
        );
        assert_eq!((m.state, m.email), (MemberState::Invited, None));
        let inv = json!({"id": 7, "login": null, "email": "Ana@X.org", "role": "direct_member"});
        let m = GhInvitation::parse(&inv, "x").unwrap().member();
        assert_eq!(m.app_member_id, "ana@x.org");
        assert_eq!(
            (m.roles.join(","), m.state),
            ("member".into(), MemberState::Invited)
        );
        assert_eq!(
            (org_role("admin"), invitation_role("member")),
            ("admin".into(), "direct_member")
        );
        assert!(GhInvitation::list(&json!({"message": "x"}), "x").is_err());
        assert!(membership(&json!({"role": "admin"}), "x").is_err());
    }

    #[test]
    fn rate_limits_are_read_as_github_documents_them() {
        let body = json!({"message": "API rate limit exceeded for user ID 1."});
        let soon = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 30;
        let primary = reply(
            403,
            body.clone(),
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &soon.to_string()),
            ],
        );
        let wait = throttle(&primary).unwrap();
        assert!(
            wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28),
            "{wait:?}"
        );
        let mut secondary = reply(
            403,
            json!({"message": "You have exceeded a secondary rate limit"}),
            &[],
        );
        assert_eq!(throttle(&secondary), Some(SECONDARY_WAIT));
        secondary.retry_after = Some(Duration::from_secs(5));
        assert_eq!(throttle(&secondary), Some(Duration::from_secs(5)));
        let refused = reply(403, json!({"message": "Must have admin rights"}), &[]);
        assert_eq!(throttle(&refused), None);
        assert_eq!(
            throttle(&reply(404, body, &[("x-ratelimit-remaining", "0")])),
            None
        );
        assert_eq!(throttle(&reply(429, json!({}), &[])), Some(SECONDARY_WAIT));
    }

    #[test]
    fn errors_map_once() {
        let e = |s: u16, body: Value| map_error(&reply(s, body, &[]), "x");
        assert!(matches!(
            e(401, json!({"message": "Bad credentials"})),
            E::BadCredentials(_)
        ));
        assert!(matches!(
            e(404, json!({"message": "Not Found"})),
            E::NotFound(_)
        ));
        let taken = json!({"message": "Validation Failed",
            "errors": [{"resource": "OrganizationInvitation", "field": "email", "code": "already_exists"}]});
        assert!(matches!(e(422, taken), E::Conflict(m) if m.contains("email already_exists")));
        let bad = json!({"message": "Validation Failed", "errors": [{"field": "role", "code": "invalid"}]});
        assert!(matches!(e(422, bad), E::Configuration(m) if m.contains("role invalid")));
        let sso = json!({"message": "Resource protected by organization SAML enforcement."});
        assert!(matches!(e(403, sso), E::InsufficientPermission(m) if m.contains("authorize")));
        let mut limited = reply(403, json!({}), &[]);
        limited.throttled = true;
        limited.retry_after = Some(Duration::from_secs(9));
        assert_eq!(
            map_error(&limited, "x"),
            E::RateLimited {
                retry_after: Some(Duration::from_secs(9))
            }
        );
    }
}
