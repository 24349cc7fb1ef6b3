//! Meta's Graph API records and error bodies as the Meta connector reads them: business users,
//! pending invitations (business role requests), the task sets of Pages and ad accounts, Graph
//! error bodies and Meta's rate-limit headers.
//!
//! - Business users (`id`, `name`, `email`, `role`: only the base roles `ADMIN` and `EMPLOYEE`):
//!   <https://developers.facebook.com/docs/marketing-api/reference/business/business_users/>
//! - Pending invitations (`BusinessRoleRequest`: `id`, `email`, `role`, `status`):
//!   <https://developers.facebook.com/docs/marketing-api/reference/business/pending_users/>
//! - Tasks on a Page and the classic Page roles they make up (Admin, Editor, Moderator,
//!   Advertiser, Analyst): <https://developers.facebook.com/docs/graph-api/reference/page/assigned_users/>
//!   and <https://www.facebook.com/help/289207354498410>; tasks on an ad account (Admin,
//!   Advertiser, Analyst): <https://developers.facebook.com/docs/marketing-api/reference/ad-account/assigned_users/>
//! - Errors (`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`):
//!   <https://developers.facebook.com/docs/graph-api/guides/error-handling/>
//! - Rate limits (codes 4, 17, 32, 613, 80000–80014; `X-Business-Use-Case-Usage` with
//!   `estimated_time_to_regain_access` in minutes, `X-Ad-Account-Usage` with
//!   `reset_time_duration` in seconds, `X-App-Usage`):
//!   <https://developers.facebook.com/docs/graph-api/overview/rate-limiting/>

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::json::{items, text};
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says_at};
use crate::sdk::Reply;

/// A business admin: controls every part of the business, people included (`ADMIN` on the
/// wire; Castellan's app roles are lowercase).
pub const ADMIN: &str = "admin";
/// A business employee: works on the assets assigned to them (the default role; `EMPLOYEE` on
/// the wire).
pub const EMPLOYEE: &str = "employee";
/// The base roles of business users, most privileged first.
pub(crate) const ROLES: [&str; 2] = [ADMIN, EMPLOYEE];

/// A role as Meta writes it (`ADMIN`).
pub(crate) fn wire(role: &str) -> String {
    role.to_ascii_uppercase()
}

/// The role of a row as Castellan names it: Meta's `role` lowercased, `employee` when absent.
fn role_of(v: &Value) -> Vec<String> {
    let role = Some(text(&v["role"])).filter(|r| !r.is_empty());
    vec![role.map_or(EMPLOYEE.to_owned(), str::to_ascii_lowercase)]
}

// A pending invitation's app member id is `invitation:<role request id>`: invitations and
// business users are different nodes with ids of their own.
pub(crate) use crate::sdk::members::INVITATION;
/// The wait when Meta throttles without saying how long: its windows roll over an hour, and a
/// minute lets the engine's retries space out.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// A kind of asset: its resource kind, id prefix, and its roles as the task sets Meta gives them,
/// most privileged first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AssetKind {
    /// `page` or `ad account`.
    pub(crate) kind: &'static str,
    /// The roles and their tasks.
    pub(crate) roles: &'static [(&'static str, &'static [&'static str])],
}

/// Pages: the classic Page roles as Meta's task sets.
pub(crate) const PAGE: AssetKind = AssetKind {
    kind: "page",
    roles: &[
        (
            "admin",
            &[
                "MANAGE",
                "CREATE_CONTENT",
                "MODERATE",
                "ADVERTISE",
                "ANALYZE",
            ],
        ),
        (
            "editor",
            &["CREATE_CONTENT", "MODERATE", "ADVERTISE", "ANALYZE"],
        ),
        ("moderator", &["MODERATE", "ADVERTISE", "ANALYZE"]),
        ("advertiser", &["ADVERTISE", "ANALYZE"]),
        ("analyst", &["ANALYZE"]),
    ],
};

/// Ad accounts (`act_<id>`): the ad account roles as Meta's task sets.
pub(crate) const AD_ACCOUNT: AssetKind = AssetKind {
    kind: "ad account",
    roles: &[
        ("admin", &["MANAGE", "ADVERTISE", "ANALYZE"]),
        ("advertiser", &["ADVERTISE", "ANALYZE"]),
        ("analyst", &["ANALYZE"]),
    ],
};

impl AssetKind {
    /// The kind of the asset `id`: an ad account for `act_<id>`, else a Page.
    pub(crate) fn of(id: &str) -> Self {
        match id.starts_with("act_") {
            true => AD_ACCOUNT,
            false => PAGE,
        }
    }

    /// Its role names, most privileged first.
    pub(crate) fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|(r, _)| (*r).to_owned()).collect()
    }

    /// The tasks of `role` (any case).
    ///
    /// Errors: `Configuration` for a role this kind of asset does not have.
    pub(crate) fn tasks(&self, role: &str) -> Result<&'static [&'static str], E> {
        let role = role.trim().to_ascii_lowercase();
        let found = self.roles.iter().find(|(r, _)| *r == role);
        found.map(|(_, t)| *t).ok_or_else(|| {
            E::Configuration(format!(
                "a Meta {} has no role {role:?} (its roles: {})",
                self.kind,
                self.role_names().join(", ")
            ))
        })
    }

    /// The role `held` tasks make: the most privileged one whose tasks are all held; else the
    /// tasks themselves joined with `+` (a set no classic role has, e.g. `MESSAGING`). `None`
    /// for no task.
    pub(crate) fn role_of(&self, held: &[String]) -> Option<String> {
        if held.is_empty() {
            return None;
        }
        let has = |t: &&str| held.iter().any(|h| h == t);
        let role = self.roles.iter().find(|(_, tasks)| tasks.iter().all(has));
        Some(match role {
            Some((r, _)) => (*r).to_owned(),
            None => held.join("+"),
        })
    }
}

/// A business user (`{"id", "name", "email", "role"}`) as an active member.
///
/// Errors: `AppChanged` without an `id`.
pub(crate) fn business_user(v: &Value, what: &str) -> Result<AppMember, E> {
    let id = v["id"].as_str().ok_or_else(|| unexpected(APP, what))?;
    let roles = role_of(v);
    Ok(member(
        id,
        v["email"].as_str(),
        v["name"].as_str(),
        roles,
        false,
    ))
}

/// A business role request (`{"id", "email", "role", "status"}`) as an `invited` member, `None`
/// when it is no longer pending (accepted, declined, expired).
///
/// Errors: `AppChanged` without an `id`.
pub(crate) fn pending(v: &Value, what: &str) -> Result<Option<AppMember>, E> {
    let id = v["id"].as_str().ok_or_else(|| unexpected(APP, what))?;
    if !matches!(v["status"].as_str(), None | Some("PENDING")) {
        return Ok(None);
    }
    let roles = role_of(v);
    let mut m = member(
        format!("{INVITATION}{id}"),
        v["email"].as_str(),
        None,
        roles,
        false,
    );
    m.state = MemberState::Invited;
    Ok(Some(m))
}

/// The rows of a Graph list (`{"data": [...], "paging": {...}}`).
///
/// Errors: `AppChanged` for another body.
pub(crate) fn data<'v>(v: &'v Value, what: &str) -> Result<&'v [Value], E> {
    match v["data"].is_array() {
        true => Ok(items(&v["data"])),
        false => Err(unexpected(APP, what)),
    }
}

/// The cursor of the next page of a Graph list: `paging.cursors.after` when `paging.next` is
/// there (Graph leaves `next` out on the last page, `cursors` not).
pub(crate) fn next_page(v: &Value) -> Option<String> {
    v.pointer("/paging/next")?;
    crate::sdk::saas::next_cursor(v, "/paging/cursors/after")
}

/// Graph's error codes that mean "slow down": the application (4), a user (17), a Page (32),
/// a call-specific limit (613) and the business use case limits (80000–80014).
pub(crate) fn is_throttle(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 613 | 80_000..=80_014)
}

/// How long Meta asks to wait, from the headers of a throttled answer: the longest
/// `estimated_time_to_regain_access` (minutes) of `X-Business-Use-Case-Usage`, else the
/// `reset_time_duration` (seconds) of `X-Ad-Account-Usage`, else [`DEFAULT_WAIT`].
pub(crate) fn wait_of(r: &Reply) -> Duration {
    let json = |name: &str| -> Option<Value> { serde_json::from_str(r.header(name)?).ok() };
    let minutes = json("x-business-use-case-usage").and_then(|v| {
        let uses = v.as_object()?.values().flat_map(items);
        uses.filter_map(|u| u["estimated_time_to_regain_access"].as_u64())
            .max()
    });
    let seconds = json("x-ad-account-usage").and_then(|v| v["reset_time_duration"].as_u64());
    match (minutes, seconds) {
        (Some(m), _) if m > 0 => Duration::from_secs(m * 60),
        (_, Some(s)) if s > 0 => Duration::from_secs(s),
        _ => DEFAULT_WAIT,
    }
}

/// The one table from Graph's error answers to connector errors, by `error.code` (and
/// `error_subcode`), then status; the message carries Meta's `message` and `fbtrace_id` (for
/// Meta's support), never the token.
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    let err = r.json.as_ref().map(|b| &b["error"]);
    let code = err.and_then(|e| e["code"].as_i64()).unwrap_or(0);
    let sub = err.and_then(|e| e["error_subcode"].as_i64()).unwrap_or(0);
    let says = says_at(r, "/error", &["message", "fbtrace_id"]);
    match code {
        c if is_throttle(c) => E::RateLimited {
            retry_after: Some(r.retry_after.unwrap_or_else(|| wait_of(r))),
        },
        102 | 190 => E::BadCredentials(format!(
            "Meta did not accept the system user's access token: {says}"
        )),
        10 | 200..=299 => E::InsufficientPermission(format!(
            "Meta refused to {what}: {says} (the system user must be an admin of the business)"
        )),
        100 if sub == 33 => E::NotFound(format!("Meta has no such object: {says}")),
        803 => E::NotFound(format!("Meta has no such object: {says}")),
        1 | 2 => E::Unavailable(format!("Meta failed to {what}: {says}")),
        368 => E::NeedsHuman(format!("Meta blocked '{what}' as abusive: {says}")),
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_invitations_and_task_sets() {
        let u = business_user(
            &json!({"id": "7", "name": "Ana", "email": "A@X.org", "role": "ADMIN"}),
            "x",
        )
        .unwrap();
        assert_eq!(
            (
                u.app_member_id.as_str(),
                u.roles[0].as_str(),
                u.email.as_deref()
            ),
            ("7", "admin", Some("a@x.org"))
        );
        let p = pending(
            &json!({"id": "9", "email": "b@x.org", "role": "EMPLOYEE",
            "status": "PENDING"}),
            "x",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (p.app_member_id.as_str(), p.state),
            ("invitation:9", MemberState::Invited)
        );
        assert!(pending(&json!({"id": "9", "status": "ACCEPTED"}), "x")
            .unwrap()
            .is_none());
        assert!(business_user(&json!({"name": "x"}), "x").is_err());

        let held = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            PAGE.role_of(&held(&["ANALYZE", "ADVERTISE"])).as_deref(),
            Some("advertiser")
        );
        let all = held(PAGE.tasks("Admin").unwrap());
        assert_eq!(PAGE.role_of(&all).as_deref(), Some("admin"));
        assert_eq!(
            PAGE.role_of(&held(&["MESSAGING"])).as_deref(),
            Some("MESSAGING")
        );
        assert_eq!(PAGE.role_of(&[]), None);
        assert_eq!(AssetKind::of("act_1"), AD_ACCOUNT);
        assert!(matches!(
            AD_ACCOUNT.tasks("editor"),
            Err(E::Configuration(_))
        ));
        let v = json!({"data": [], "paging": {"cursors": {"after": "A"}}});
        assert_eq!(next_page(&v), None);
        let v = json!({"data": [], "paging": {"cursors": {"after": "A"}, "next": "https://g/x"}});
        assert_eq!(next_page(&v).as_deref(), Some("A"));
    }

    #[test]
    fn graph_errors_and_throttles() {
        let e = |status: u16, code: i64, sub: i64| {
            let body = json!({"error": {"message": "m", "type": "OAuthException", "code": code,
                "error_subcode": sub, "fbtrace_id": "T1"}});
            map_error(
                &Reply::new(status, &body.to_string(), None, "http://h"),
                "x",
            )
        };
        assert!(matches!(e(400, 190, 0), E::BadCredentials(m) if m.contains("T1")));
        assert!(matches!(e(403, 200, 0), E::InsufficientPermission(_)));
        assert!(matches!(e(400, 100, 33), E::NotFound(_)));
        assert!(matches!(e(400, 100, 0), E::Configuration(m) if m.contains("m: T1")));
        assert!(e(500, 2, 0).is_retryable());
        assert_eq!(
            e(400, 17, 2_446_079),
            E::RateLimited {
                retry_after: Some(DEFAULT_WAIT)
            }
        );
        let mut r = Reply::new(
            400,
            &json!({"error": {"code": 80_004}}).to_string(),
            None,
            "h",
        );
        let usage = json!({"123": [{"type": "ads_management", "call_count": 100,
            "estimated_time_to_regain_access": 3}]});
        r.headers.insert(
            "x-business-use-case-usage",
            usage.to_string().parse().unwrap(),
        );
        assert_eq!(
            map_error(&r, "x"),
            E::RateLimited {
                retry_after: Some(Duration::from_secs(180))
            }
        );
    }
}
