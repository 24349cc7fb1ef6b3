//! App Store Connect's users, user invitations, JSON:API documents and error bodies as the App
//! Store Connect connector reads them.
//!
//! - `User` (`type` `users`, `id`, `attributes`: `username` (the person's Apple Account, an
//!   email address), `firstName`, `lastName`, `roles`, `allAppsVisible`, `provisioningAllowed`):
//!   <https://developer.apple.com/documentation/appstoreconnectapi/user>
//! - `UserInvitation` (`type` `userInvitations`, `attributes`: `email`, `firstName`,
//!   `lastName`, `expirationDate`, `roles`, `allAppsVisible`, `provisioningAllowed`):
//!   <https://developer.apple.com/documentation/appstoreconnectapi/userinvitation>
//! - `UserRole` (`ADMIN`, `FINANCE`, `ACCOUNT_HOLDER`, `SALES`, `MARKETING`, `APP_MANAGER`,
//!   `DEVELOPER`, `ACCESS_TO_REPORTS`, `CUSTOMER_SUPPORT`, and the add-on permissions
//!   `CREATE_APPS`, `CLOUD_MANAGED_DEVELOPER_ID`, `CLOUD_MANAGED_APP_DISTRIBUTION`, `IMAGE_MANAGER`):
//!   <https://developer.apple.com/documentation/appstoreconnectapi/userrole>, the roles' rights:
//!   <https://developer.apple.com/support/roles/>
//! - Lists: `{"data": [...], "links": {"self", "next"}, "meta": {"paging": {"total", "limit"}}}`,
//!   `links.next` the URL of the next page (its `cursor` parameter) and absent on the last one.
//! - `ErrorResponse` (`{"errors": [{"id", "status", "code", "title", "detail", "source"}]}`,
//!   `code` hierarchical, e.g. `NOT_AUTHORIZED`, `FORBIDDEN_ERROR`, `NOT_FOUND`,
//!   `ENTITY_ERROR.ATTRIBUTE.INVALID`, `RATE_LIMIT_EXCEEDED`):
//!   <https://developer.apple.com/documentation/appstoreconnectapi/errorresponse>,
//!   <https://developer.apple.com/documentation/appstoreconnectapi/parsing-the-error-response-code>,
//!   <https://developer.apple.com/documentation/appstoreconnectapi/about-the-http-status-code>
//! - Rate limits: `X-Rate-Limit: user-hour-lim:3500;user-hour-rem:500;` on every answer, a
//!   rolling hour; past it 429 `RATE_LIMIT_EXCEEDED`:
//!   <https://developer.apple.com/documentation/appstoreconnectapi/identifying-rate-limits>

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use serde_json::Value;

use super::APP;
use crate::sdk::json::{items, text};
use crate::sdk::members::{member, INVITATION};
use crate::sdk::saas::{refused, says_at};
use crate::sdk::Reply;

/// An admin: every right, users and API keys included (the role the automation account's API
/// key needs).
pub const ADMIN: &str = "ADMIN";
/// A developer: builds, certificates and TestFlight (the default role).
pub const DEVELOPER: &str = "DEVELOPER";
/// The Account Holder: one person, who holds the agreements; Apple gives the role only by a
/// transfer in App Store Connect.
pub const ACCOUNT_HOLDER: &str = "ACCOUNT_HOLDER";
/// The roles the connector gives, most privileged first, as Apple writes them.
pub(crate) const ROLES: [&str; 8] = [
    ADMIN,
    "FINANCE",
    "APP_MANAGER",
    DEVELOPER,
    "MARKETING",
    "SALES",
    "CUSTOMER_SUPPORT",
    "ACCESS_TO_REPORTS",
];
/// The wait after a 429 without `Retry-After`: Apple's limit is a rolling hour and names no
/// reset, so the next minute (a slot frees as the oldest request of the hour ages out).
pub(crate) const RATE_WAIT: Duration = Duration::from_secs(60);

/// A member invitation: Apple's id for it, the names it was sent with, and the `invited`
/// member (`invitation:<email>`).
#[derive(Debug, Clone)]
pub(crate) struct Invite {
    /// The `userInvitations` id.
    pub(crate) id: String,
    /// `firstName`, `lastName`.
    pub(crate) names: (String, String),
    /// The member.
    pub(crate) member: AppMember,
}

/// `firstName lastName` of a resource's attributes.
fn full_name(a: &Value) -> String {
    format!("{} {}", text(&a["firstName"]), text(&a["lastName"]))
}

/// The roles of a resource's attributes, as sent.
fn roles_of(a: &Value) -> Vec<String> {
    let roles = items(&a["roles"]).iter().map(|r| text(r).to_owned());
    roles.filter(|r| !r.is_empty()).collect()
}

/// A `users` resource as an active member: its id, its `username` as the address.
///
/// Errors: `AppChanged` without an id.
pub(crate) fn user(v: &Value, what: &str) -> Result<AppMember, E> {
    let id = v["id"].as_str().filter(|i| !i.is_empty());
    let id = id.ok_or_else(|| crate::sdk::errors::unexpected(APP, what))?;
    let a = &v["attributes"];
    let name = full_name(a);
    Ok(member(
        id,
        a["username"].as_str(),
        Some(&name),
        roles_of(a),
        false,
    ))
}

/// A `userInvitations` resource as an [`Invite`], `None` without an id or an address.
pub(crate) fn invitation(v: &Value) -> Option<Invite> {
    let id = v["id"].as_str().filter(|i| !i.is_empty())?.to_owned();
    let a = &v["attributes"];
    let email = a["email"].as_str()?.trim().to_lowercase();
    let names = (
        text(&a["firstName"]).to_owned(),
        text(&a["lastName"]).to_owned(),
    );
    let mut m = member(
        format!("{INVITATION}{email}"),
        Some(&email),
        Some(&full_name(a)),
        roles_of(a),
        false,
    );
    m.state = MemberState::Invited;
    (!email.is_empty()).then_some(Invite {
        id,
        names,
        member: m,
    })
}

/// The resources of a document (`data`).
///
/// Errors: `AppChanged` for a body without a `data` array.
pub(crate) fn data<'v>(v: &'v Value, what: &str) -> Result<&'v [Value], E> {
    match v["data"].is_array() {
        true => Ok(items(&v["data"])),
        false => Err(crate::sdk::errors::unexpected(APP, what)),
    }
}

/// The query of the next page's URL (`links.next`), `None` on the last page.
pub(crate) fn next_query(v: &Value) -> Option<String> {
    let next = crate::sdk::saas::next_cursor(v, "/links/next")?;
    let url = url::Url::parse(&next).ok()?;
    url.query().filter(|q| !q.is_empty()).map(str::to_owned)
}

/// The wait of a 429: `Retry-After` when Apple sends one, else [`RATE_WAIT`]; `None` for
/// another answer (an [`crate::sdk::http::Throttle`]).
pub(crate) fn throttle(r: &Reply) -> Option<Duration> {
    (r.status.as_u16() == 429).then(|| r.retry_after.unwrap_or(RATE_WAIT))
}

/// The requests left this hour by `X-Rate-Limit` (`user-hour-rem`), when Apple says.
pub(crate) fn requests_left(r: &Reply) -> Option<u64> {
    let header = r.header("x-rate-limit")?;
    let rem = header
        .split(';')
        .find_map(|kv| kv.trim().strip_prefix("user-hour-rem:"));
    rem?.trim().parse().ok()
}

/// The one table from App Store Connect's error answers to connector errors, by status and the
/// first error's `code`; the message carries its `title`, `detail` and `code`, never the token.
pub(crate) fn map_error(r: &Reply, what: &str) -> E {
    let code = r
        .json
        .as_ref()
        .map_or("", |b| text(&b["errors"][0]["code"]));
    let says = says_at(r, "/errors/0", &["title", "detail", "code"]);
    match r.status.as_u16() {
        401 => E::BadCredentials(format!(
            "App Store Connect did not accept the API key's token: {says} (check the key id, \
             the issuer id and the key)"
        )),
        403 => E::InsufficientPermission(format!(
            "App Store Connect refused to {what}: {says} (the API key needs the Admin role)"
        )),
        404 => E::NotFound(format!("App Store Connect has no such resource: {says}")),
        409 if code.starts_with("ENTITY_ERROR.ATTRIBUTE") => {
            E::Configuration(format!("App Store Connect refused to {what}: {says}"))
        }
        409 => E::Conflict(format!("App Store Connect refused to {what}: {says}")),
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_invitations_and_pages() {
        let u = user(
            &json!({"type": "users", "id": "u-1", "attributes": {"username": "Ana@X.org",
                "firstName": "Ana", "lastName": "Lopez", "roles": ["FINANCE", "SALES"]}}),
            "x",
        )
        .unwrap();
        assert_eq!(
            (
                u.app_member_id.as_str(),
                u.email.as_deref(),
                u.name.as_deref()
            ),
            ("u-1", Some("ana@x.org"), Some("Ana Lopez"))
        );
        assert_eq!(u.roles, ["FINANCE", "SALES"]);
        assert!(user(&json!({"attributes": {}}), "x").is_err());
        let inv = invitation(
            &json!({"type": "userInvitations", "id": "i-9", "attributes":
            {"email": "B@X.org", "firstName": "B", "lastName": "C", "roles": ["DEVELOPER"]}}),
        )
        .unwrap();
        assert_eq!(
            (
                inv.id.as_str(),
                inv.member.app_member_id.as_str(),
                inv.member.state
            ),
            ("i-9", "invitation:b@x.org", MemberState::Invited)
        );
        assert_eq!(inv.names, ("B".to_owned(), "C".to_owned()));
        assert!(invitation(&json!({"id": "i", "attributes": {}})).is_none());
        let next = json!({"links": {"next": "https://h/v1/users?cursor=Mg.AB&limit=200"}});
        assert_eq!(next_query(&next).as_deref(), Some("cursor=Mg.AB&limit=200"));
        assert_eq!(next_query(&json!({"links": {"self": "x"}})), None);
        assert!(data(&json!({"errors": []}), "x").is_err());
    }

    #[test]
    fn errors_and_rate_limits() {
        let e = |status: u16, code: &str| {
            let body = json!({"errors": [{"id": "e1", "status": status.to_string(), "code": code,
                "title": "T", "detail": "D"}]});
            map_error(
                &Reply::new(status, &body.to_string(), None, "http://h"),
                "x",
            )
        };
        assert!(matches!(e(401, "NOT_AUTHORIZED"), E::BadCredentials(m)
            if m.contains("T: D: NOT_AUTHORIZED")));
        assert!(matches!(
            e(403, "FORBIDDEN_ERROR"),
            E::InsufficientPermission(_)
        ));
        assert!(matches!(e(404, "NOT_FOUND"), E::NotFound(_)));
        assert!(matches!(
            e(409, "ENTITY_ERROR.ATTRIBUTE.INVALID"),
            E::Configuration(_)
        ));
        assert!(matches!(e(409, "ENTITY_ERROR"), E::Conflict(_)));
        assert!(matches!(
            e(422, "ENTITY_UNPROCESSABLE"),
            E::Configuration(_)
        ));
        assert!(e(500, "UNEXPECTED_ERROR").is_retryable());
        let mut r = Reply::new(429, "{}", None, "h");
        assert_eq!(throttle(&r), Some(RATE_WAIT));
        r.retry_after = Some(Duration::from_secs(5));
        assert_eq!(throttle(&r), Some(Duration::from_secs(5)));
        assert_eq!(throttle(&Reply::new(200, "{}", None, "h")), None);
        r.headers.insert(
            "x-rate-limit",
            "user-hour-lim:3500;user-hour-rem:42;".parse().unwrap(),
        );
        assert_eq!(requests_left(&r), Some(42));
    }
}
