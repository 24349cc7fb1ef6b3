//! Pinterest's Business Access records and error bodies as the Pinterest connector reads them:
//! business members, member invitations, assets and the permissions members hold on them,
//! Pinterest's `{"code", "message"}` errors and the per-item exceptions of its batch writes.
//!
//! From Pinterest's OpenAPI description of API v5 (<https://github.com/pinterest/api-description>,
//! `v5/openapi.yaml`, release 5.23.0), the schemas:
//! - `Paginated` (`{"items": [...], "bookmark"}`, `bookmark` null on the last page);
//! - `UserBusinessRoleBinding` (a member: `id`, `business_roles` of `EMPLOYEE`, `BIZ_ADMIN`,
//!   `PARTNER`, `user`: `BusinessAccessUserSummary` `{"id", "email", "username"}`);
//! - `InviteResponse` (`id`, `business_roles`, `invite_data` `{"invite_status", "invite_type"}`,
//!   `is_received_invite`, `user`);
//! - `GetBusinessAssetsResponse` (`asset_id`, `asset_type`), `UserSingleAssetBinding`
//!   (`permissions`, `user`), `Permissions` (`ADMIN`, `ANALYST`, `FINANCE_MANAGER`, …,
//!   `PROFILE_PUBLISHER`);
//! - `Error` (`{"code", "message"}`): code 2 "Authentication failed." (401), 3 a token without
//!   the scopes (401), 29 "You are not permitted to access that resource." (403), 8 a rate
//!   limit (429);
//! - `InviteExceptionResponse` and the `exception` of batch answers (`{"code", "message"}`, the
//!   code an HTTP status).
//!
//! Ad account permissions from <https://help.pinterest.com/en/business/article/add-people-to-your-ad-account>,
//! profile permissions (Publisher only) from
//! <https://help.pinterest.com/en/business/article/profile-permissions-in-business-access>.

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use serde_json::Value;

use super::APP;
use crate::sdk::json::{id, items, text};
use crate::sdk::members::{member, INVITATION};
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// A business admin: full control of roles, adds employees and partners and grants asset
/// access (`BIZ_ADMIN`, as Pinterest writes it).
pub const BIZ_ADMIN: &str = "BIZ_ADMIN";
/// A business employee: sees and works on the assets assigned to them (the default role).
pub const EMPLOYEE: &str = "EMPLOYEE";
/// The business roles of members, most privileged first.
pub(crate) const ROLES: [&str; 2] = [BIZ_ADMIN, EMPLOYEE];
/// The permissions on an ad account, most privileged first (`ANALYST` is view only).
pub(crate) const AD_ACCOUNT_ROLES: [&str; 6] = [
    "ADMIN",
    "CAMPAIGN_MANAGER",
    "FINANCE_MANAGER",
    "AUDIENCE_MANAGER",
    "CATALOGS_MANAGER",
    "ANALYST",
];
/// The permissions on a profile: Publisher (its boards and Pins; "not customisable").
pub(crate) const PROFILE_ROLES: [&str; 1] = ["PROFILE_PUBLISHER"];

/// A kind of asset the connector lists: Pinterest's `asset_type`, Castellan's resource kind and
/// the permissions members may hold on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AssetKind {
    /// `AD_ACCOUNT` or `PROFILE`.
    pub(crate) wire: &'static str,
    /// `ad account` or `profile`.
    pub(crate) kind: &'static str,
    /// Its permissions, most privileged first.
    pub(crate) roles: &'static [&'static str],
}

/// Ad accounts, then profiles (the order of the resource listing).
pub(crate) const ASSET_KINDS: [AssetKind; 2] = [
    AssetKind {
        wire: "AD_ACCOUNT",
        kind: "ad account",
        roles: &AD_ACCOUNT_ROLES,
    },
    AssetKind {
        wire: "PROFILE",
        kind: "profile",
        roles: &PROFILE_ROLES,
    },
];

/// The business roles of a row, as sent (`EMPLOYEE` when it names none).
fn roles_of(v: &Value) -> Vec<String> {
    let roles: Vec<String> = items(&v["business_roles"])
        .iter()
        .map(|r| text(r).to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    match roles.is_empty() {
        true => vec![EMPLOYEE.to_owned()],
        false => roles,
    }
}

/// A business member (`UserBusinessRoleBinding`) as an active member: its `id` (else its
/// user's), the user's email and username, its business roles.
///
/// Errors: `AppChanged` without an id.
pub(crate) fn business_member(v: &Value, what: &str) -> Result<AppMember, E> {
    let user = &v["user"];
    let id = id(&v["id"])
        .or_else(|| id(&user["id"]))
        .ok_or_else(|| crate::sdk::errors::unexpected(APP, what))?;
    let (email, name) = (user["email"].as_str(), user["username"].as_str());
    Ok(member(id, email, name, roles_of(v), false))
}

/// A member invitation the business sent (`InviteResponse`) as an `invited` member named
/// `invitation:<email>` (`invitation:<invite id>` when Pinterest shows no address, an invitation
/// sent to a username), with the invite's own id; `None` for one that is not a pending member
/// invitation the business sent, or has no id.
pub(crate) fn invite(v: &Value) -> Option<(String, AppMember)> {
    let data = &v["invite_data"];
    let pending = matches!(data["invite_status"].as_str(), None | Some("PENDING"));
    let of_member = matches!(data["invite_type"].as_str(), None | Some("MEMBER_INVITE"));
    if !pending || !of_member || v["is_received_invite"].as_bool() == Some(true) {
        return None;
    }
    let invite_id = id(&v["id"])?;
    let user = &v["user"];
    let email = user["email"].as_str().map(|e| e.trim().to_lowercase());
    let email = email.filter(|e| !e.is_empty());
    let key = email.clone().unwrap_or_else(|| invite_id.clone());
    let name = user["username"].as_str();
    let mut m = member(
        format!("{INVITATION}{key}"),
        email.as_deref(),
        name,
        roles_of(v),
        false,
    );
    m.state = MemberState::Invited;
    Some((invite_id, m))
}

/// The rows of a page (`items`).
///
/// Errors: `AppChanged` for a body without `items`.
pub(crate) fn page_items<'v>(v: &'v Value, what: &str) -> Result<&'v [Value], E> {
    match v["items"].is_array() {
        true => Ok(items(&v["items"])),
        false => Err(crate::sdk::errors::unexpected(APP, what)),
    }
}

/// The bookmark of the next page, `None` on the last one.
pub(crate) fn bookmark(v: &Value) -> Option<String> {
    crate::sdk::saas::next_cursor(v, "/bookmark")
}

/// Pinterest's words in an error body: its `message` with its `code`, and the request id of the
/// `x-pinterest-rid` header (for Pinterest's support); never the token.
fn words(r: &Reply) -> String {
    let msg = says(r, &["message"]);
    let code = r.json.as_ref().and_then(|b| b["code"].as_i64());
    let rid = r.header("x-pinterest-rid");
    let mut out = msg;
    if let Some(c) = code {
        out = format!("{out} (code {c})");
    }
    if let Some(rid) = rid {
        out = format!("{out} [request {rid}]");
    }
    out.trim().to_owned()
}

/// The one table from Pinterest's error answers to connector errors, by status and `code`: 429
/// is `RateLimited` with the wait the answer names (`Retry-After`, else `X-RateLimit-Reset`)
/// unless Pinterest says it is for spam (`NeedsHuman`: retrying makes it worse); 401 with code 3
/// (the token lacks a scope) is `InsufficientPermission`, another 401 `BadCredentials`; 403
/// `InsufficientPermission`; 404 `NotFound`; the rest by status ([`refused`]).
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    let says = words(r);
    let code = r.json.as_ref().and_then(|b| b["code"].as_i64());
    match r.status.as_u16() {
        429 if says.to_lowercase().contains("spam") => E::NeedsHuman(format!(
            "Pinterest refused to {what} as spam: {says} (see the business's account status)"
        )),
        429 => E::RateLimited {
            retry_after: r.retry_after,
        },
        401 if code == Some(3) => E::InsufficientPermission(format!(
            "Pinterest refused to {what}: {says} (authorize the app with the biz_access:read, \
             biz_access:write and user_accounts:read scopes)"
        )),
        401 => E::BadCredentials(format!("Pinterest did not accept the access token: {says}")),
        403 => E::InsufficientPermission(format!(
            "Pinterest refused to {what}: {says} (the token's user must be a BIZ_ADMIN of the \
             business)"
        )),
        404 => E::NotFound(format!("Pinterest has no such object: {says}")),
        _ => refused(r, APP, what, &says),
    }
}

/// The error of the first item of a batch write's answer (`{"items": [{"exception": {"code",
/// "message"}, …}]}`), `None` when it has none: its code read as an HTTP status (403
/// `InsufficientPermission`, 404 `NotFound`, 409 `Conflict`, 429 `RateLimited`, 5xx
/// `Unavailable`, others `Configuration`).
pub(crate) fn item_error(v: &Value, what: &str) -> Option<E> {
    let first = items(&v["items"]).first()?;
    let ex = first.get("exception").filter(|e| e.is_object())?;
    let says = format!("{} (code {})", text(&ex["message"]), ex["code"]);
    Some(match ex["code"].as_u64().unwrap_or(0) {
        403 => E::InsufficientPermission(format!("Pinterest refused to {what}: {says}")),
        404 => E::NotFound(format!("Pinterest refused to {what}: {says}")),
        409 => E::Conflict(format!("Pinterest refused to {what}: {says}")),
        429 => E::RateLimited { retry_after: None },
        500..=599 => E::Unavailable(format!("Pinterest failed to {what}: {says}")),
        _ => E::Configuration(format!("Pinterest refused to {what}: {says}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_invitations_and_pages() {
        let m = business_member(
            &json!({"id": "7", "business_roles": ["BIZ_ADMIN"],
                "user": {"id": "7", "email": "A@X.org", "username": "ana"}}),
            "x",
        )
        .unwrap();
        assert_eq!(
            (
                m.app_member_id.as_str(),
                m.email.as_deref(),
                m.roles.clone()
            ),
            ("7", Some("a@x.org"), vec![BIZ_ADMIN.to_owned()])
        );
        assert_eq!(
            business_member(&json!({"user": {"id": "8"}}), "x")
                .unwrap()
                .roles,
            [EMPLOYEE]
        );
        assert!(business_member(&json!({"user": {}}), "x").is_err());
        let row = |status: &str, received: bool| {
            json!({"id": "9", "business_roles": ["EMPLOYEE"], "is_received_invite": received,
                "invite_data": {"invite_status": status, "invite_type": "MEMBER_INVITE"},
                "user": {"email": "B@X.org"}})
        };
        let (iid, inv) = invite(&row("PENDING", false)).unwrap();
        assert_eq!(
            (iid.as_str(), inv.app_member_id.as_str(), inv.state),
            ("9", "invitation:b@x.org", MemberState::Invited)
        );
        assert!(invite(&row("EXPIRED", false)).is_none());
        assert!(invite(&row("PENDING", true)).is_none());
        let by_name = json!({"id": "10", "user": {"username": "bob"}});
        assert_eq!(invite(&by_name).unwrap().1.app_member_id, "invitation:10");
        assert_eq!(
            bookmark(&json!({"items": [], "bookmark": "b2"})).as_deref(),
            Some("b2")
        );
        assert_eq!(bookmark(&json!({"items": [], "bookmark": null})), None);
        assert!(page_items(&json!({"nope": 1}), "x").is_err());
    }

    #[test]
    fn errors_and_exceptions() {
        let e = |status: u16, code: i64, msg: &str| {
            let body = json!({"code": code, "message": msg}).to_string();
            map_error(&Reply::new(status, &body, None, "http://h"), "x")
        };
        assert!(
            matches!(e(401, 2, "Authentication failed."), E::BadCredentials(m)
            if m.contains("Authentication failed. (code 2)"))
        );
        assert!(matches!(e(401, 3, "scopes"), E::InsufficientPermission(_)));
        assert!(matches!(e(403, 29, "no"), E::InsufficientPermission(_)));
        assert!(matches!(e(404, 404, "gone"), E::NotFound(_)));
        assert!(matches!(e(400, 1, "bad"), E::Configuration(_)));
        assert_eq!(e(429, 8, "limit"), E::RateLimited { retry_after: None });
        assert!(matches!(e(429, 8, "Blocked as spam"), E::NeedsHuman(_)));
        assert!(e(503, 4197, "ramped down").is_retryable());
        let v = json!({"items": [{"exception": {"code": 403, "message": "max invites"}}]});
        assert!(
            matches!(item_error(&v, "x"), Some(E::InsufficientPermission(m))
            if m.contains("max invites"))
        );
        let ok = json!({"items": [{"exception": null, "invite": {"id": "1"}}]});
        assert_eq!(item_error(&ok, "x"), None);
        assert_eq!(item_error(&json!({"items": []}), "x"), None);
    }
}
