//! TikTok Business Center members, advertiser accounts and answers as the TikTok connector
//! reads them.
//!
//! From TikTok API for Business's reference (<https://business-api.tiktok.com/portal/docs>,
//! v1.3: "Business Center > Members" and "Business Center > Assets"), with the field notes of
//! the Go SDK `bububa/tiktok-business` (`model/bc`) as a cross-check:
//! - Answers: `{"code", "message", "request_id", "data": {"list", "page_info": {"page",
//!   "page_size", "total_number", "total_page"}}}`, `code` 0 on success, errors in the body of
//!   an HTTP 200.
//! - Members (`/bc/member/get/`: `user_id`, `user_name`, `user_email`, `user_role` `ADMIN` or
//!   `STANDARD`, `relation_status` `BOUND`, `PENDING` or `REJECTED`, `ext_user_role.finance_role`).
//! - Advertiser accounts (`/bc/asset/get/` with `asset_type=ADVERTISER`) and their roles
//!   (`advertiser_role`: `ADMIN`, `OPERATOR`, `ANALYST`).
//! - Return codes: 40001 no permission, 40002 bad parameter, 40007 no such object, 40100 too
//!   many requests, 40102/40104/40105 access token expired, empty or invalid, 5xxxx system
//!   errors.

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use serde_json::Value;

use super::APP;
use crate::sdk::json::{items, text};
use crate::sdk::members::member;

/// A Business Center admin: manages members and assets (`ADMIN` on the wire; Castellan's app
/// roles are lowercase).
pub const ADMIN: &str = "admin";
/// A standard member: works on the assets assigned to them (the default role; `STANDARD` on
/// the wire).
pub const STANDARD: &str = "standard";
/// The base roles of Business Center members, most privileged first.
pub(crate) const ROLES: [&str; 2] = [ADMIN, STANDARD];
/// The roles on an advertiser account, most privileged first.
pub(crate) const ADVERTISER_ROLES: [&str; 3] = ["ADMIN", "OPERATOR", "ANALYST"];
// A pending invitation's app member id is `invitation:<email>`: TikTok names invitees by their
// address until they join.
pub(crate) use crate::sdk::members::INVITATION;
/// The wait after 40100: TikTok's limits count requests a second and a minute and name no wait,
/// so the next minute.
pub(crate) const RATE_WAIT: Duration = Duration::from_secs(60);

/// A member row as an app member: `BOUND` ones active under their `user_id`, `PENDING` ones
/// invited under `invitation:<email>`; `None` for a `REJECTED` invitation.
///
/// Errors: `AppChanged` for a row without its id or address (a member Castellan cannot see
/// must not look gone).
pub(crate) fn bc_member(v: &Value) -> Result<Option<AppMember>, E> {
    let unreadable = || crate::sdk::errors::unexpected(APP, "read a member row");
    let role = Some(text(&v["user_role"])).filter(|r| !r.is_empty());
    let roles = vec![role.map_or(STANDARD.to_owned(), str::to_ascii_lowercase)];
    let email = v["user_email"].as_str();
    let name = v["user_name"].as_str();
    match text(&v["relation_status"]) {
        "PENDING" => {
            let email = email.filter(|e| !e.is_empty()).ok_or_else(unreadable)?;
            let email = email.to_lowercase();
            let mut m = member(
                format!("{INVITATION}{email}"),
                Some(&email),
                name,
                roles,
                false,
            );
            m.state = MemberState::Invited;
            Ok(Some(m))
        }
        "REJECTED" => Ok(None),
        _ => {
            let id = v["user_id"].as_str().filter(|i| !i.is_empty());
            Ok(Some(member(
                id.ok_or_else(unreadable)?,
                email,
                name,
                roles,
                false,
            )))
        }
    }
}

/// The rows of `data.list`.
pub(crate) fn list(v: &Value) -> &[Value] {
    items(&v["data"]["list"])
}

/// The next page number after the answer `v`, `None` on the last page (`page_info.page` ≥
/// `page_info.total_page`).
pub(crate) fn next_page(v: &Value) -> Option<String> {
    let info = &v["data"]["page_info"];
    let (page, total) = (info["page"].as_u64()?, info["total_page"].as_u64()?);
    (page < total).then(|| (page + 1).to_string())
}

/// The error of an answer whose `code` is not 0 (`None` for a success): the one table from
/// TikTok's return codes to connector errors, with TikTok's `message` and `request_id`.
pub(crate) fn code_error(v: &Value, what: &str) -> Option<E> {
    let code = v["code"].as_i64()?;
    let says = format!(
        "{} (code {code}, request {})",
        text(&v["message"]),
        text(&v["request_id"])
    );
    Some(match code {
        0 => return None,
        40100 => E::RateLimited {
            retry_after: Some(RATE_WAIT),
        },
        40102 | 40104 | 40105 => {
            E::BadCredentials(format!("TikTok did not accept the access token: {says}"))
        }
        40001 => E::InsufficientPermission(format!(
            "TikTok refused to {what}: {says} (the token's user must be a Business Center admin)"
        )),
        40007 => E::NotFound(format!("TikTok has no such object: {says}")),
        c if (50000..60000).contains(&c) => {
            E::Unavailable(format!("TikTok failed to {what}: {says}"))
        }
        c if (40000..50000).contains(&c) => {
            E::Configuration(format!("{APP} refused to {what}: {says}"))
        }
        _ => E::AppChanged(format!("{APP} answered '{what}' with code {code}: {says}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_pages_and_codes() {
        let bound = bc_member(
            &json!({"user_id": "7", "user_name": "Ana", "user_email": "A@X.org",
            "user_role": "ADMIN", "relation_status": "BOUND"}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (
                bound.app_member_id.as_str(),
                bound.roles[0].as_str(),
                bound.state
            ),
            ("7", "admin", MemberState::Active)
        );
        let pending = bc_member(&json!({"user_email": "B@X.org", "user_role": "STANDARD",
            "relation_status": "PENDING"}))
        .unwrap()
        .unwrap();
        assert_eq!(
            (pending.app_member_id.as_str(), pending.state),
            ("invitation:b@x.org", MemberState::Invited)
        );
        let rejected = json!({"user_id": "9", "relation_status": "REJECTED"});
        assert!(bc_member(&rejected).unwrap().is_none());
        // A row Castellan cannot read is the app's change, not a member gone.
        for row in [
            json!({"user_name": "No id", "relation_status": "BOUND"}),
            json!({"user_role": "STANDARD", "relation_status": "PENDING"}),
        ] {
            assert!(matches!(bc_member(&row), Err(E::AppChanged(_))), "{row}");
        }
        let page = |p: u64, t: u64| json!({"data": {"page_info": {"page": p, "total_page": t}}});
        assert_eq!(next_page(&page(1, 3)).as_deref(), Some("2"));
        assert_eq!(next_page(&page(3, 3)), None);
        let e = |code: i64| {
            code_error(
                &json!({"code": code, "message": "m", "request_id": "R1"}),
                "x",
            )
        };
        assert_eq!(e(0), None);
        assert_eq!(
            e(40100),
            Some(E::RateLimited {
                retry_after: Some(RATE_WAIT)
            })
        );
        assert!(matches!(e(40105), Some(E::BadCredentials(m)) if m.contains("R1")));
        assert!(matches!(e(40001), Some(E::InsufficientPermission(_))));
        assert!(matches!(e(40002), Some(E::Configuration(_))));
        assert!(matches!(e(40007), Some(E::NotFound(_))));
        assert!(e(51000).unwrap().is_retryable());
    }
}
