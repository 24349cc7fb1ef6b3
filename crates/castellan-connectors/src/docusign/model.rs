//! DocuSign eSignature users, permission profiles, error bodies and rate-limit answers as the
//! connector reads them.
//!
//! - Users (`userInformation`: `userId`, `userName`, `email`, `userStatus`, `isAdmin` as the
//!   strings `"True"`/`"False"`, `permissionProfileId`, `permissionProfileName`, `userSettings`
//!   with `accountManagementGranular.canManageUsers`) and lists (`users`, `resultSetSize`,
//!   `totalSetSize`, `startPosition`, `nextUri`, numbers as strings):
//!   <https://developers.docusign.com/docs/esign-rest-api/reference/users/users/>
//! - `newUsers` answers with a per-user `errorDetails` (`USER_ALREADY_EXISTS_IN_ACCOUNT`):
//!   <https://developers.docusign.com/docs/esign-rest-api/reference/users/users/create/>
//! - Permission profiles (`permissionProfiles: [{permissionProfileId, permissionProfileName}]`):
//!   <https://developers.docusign.com/docs/esign-rest-api/reference/accounts/accountpermissionprofiles/list/>
//! - Errors (`{"errorCode", "message"}`) and the hourly limit's
//!   `HOURLY_APIINVOCATION_LIMIT_EXCEEDED`:
//!   <https://www.docusign.com/blog/developers/dsdev-from-the-trenches-api-rate-limits>

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::http::reset_wait;
use crate::sdk::json::text;
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// DocuSign's built-in profile of account administrators.
pub const ACCOUNT_ADMINISTRATOR: &str = "Account Administrator";
/// DocuSign's built-in profile of users who send envelopes: the default role.
pub const SENDER: &str = "DocuSign Sender";
/// DocuSign's built-in profile of users who only view and sign.
pub const VIEWER: &str = "DocuSign Viewer";
/// The built-in profiles, most privileged first.
pub const ROLES: [&str; 3] = [ACCOUNT_ADMINISTRATOR, SENDER, VIEWER];
/// How long a burst limit lasts (DocuSign's 30-second window), the wait when a limit answer
/// names none.
pub(super) const BURST_WINDOW: Duration = Duration::from_secs(30);
/// The codes of a user DocuSign does not have (in the account).
const NO_USER: [&str; 4] = [
    "INVALID_USERID",
    "USER_NOT_FOUND",
    "USER_DOES_NOT_EXIST_IN_SYSTEM",
    "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT",
];

/// A user as the Users API sends it (the fields the connector reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DsUser {
    pub(super) user_id: String,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    user_status: Option<String>,
    #[serde(default)]
    is_admin: Option<String>,
    #[serde(default)]
    permission_profile_id: Option<String>,
    #[serde(default)]
    permission_profile_name: Option<String>,
    #[serde(default)]
    user_settings: Value,
    #[serde(default)]
    error_details: Option<ErrorDetails>,
}

/// A per-user `errorDetails` of a bulk answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ErrorDetails {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    message: String,
}

impl ErrorDetails {
    /// Whether it says DocuSign has no such user.
    pub(super) fn no_user(&self) -> bool {
        NO_USER.contains(&self.error_code.to_ascii_uppercase().as_str())
    }

    /// As a connector error: `Conflict` for a user who exists already, else `Configuration`.
    pub(super) fn error(&self, what: &str) -> E {
        let says = format!(
            "DocuSign refused to {what}: {}: {}",
            self.error_code, self.message
        );
        match self.error_code.as_str() {
            "USER_ALREADY_EXISTS_IN_ACCOUNT" => E::Conflict(says),
            _ => E::Configuration(says),
        }
    }
}

impl DsUser {
    /// A user object.
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        Self::deserialize(v).map_err(|_| unexpected(APP, what))
    }

    /// The users of an answer's `field` array (`users`, `newUsers`); none when it is missing.
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn list(v: &Value, field: &str, what: &str) -> Result<Vec<Self>, E> {
        match &v[field] {
            Value::Null => Ok(vec![]),
            users => Vec::deserialize(users).map_err(|_| unexpected(APP, what)),
        }
    }

    /// Its address, trimmed and lowercased.
    pub(super) fn email(&self) -> String {
        self.email.as_deref().unwrap_or("").trim().to_lowercase()
    }

    /// The `errorDetails` DocuSign put on this user of a bulk answer.
    pub(super) fn error_details(&self) -> Option<&ErrorDetails> {
        self.error_details.as_ref()
    }

    /// Whether its membership is closed (removed from the account).
    pub(super) fn closed(&self) -> bool {
        self.status() == "closed"
    }

    fn status(&self) -> String {
        self.user_status
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase()
    }

    /// Its role: its permission profile's name as sent, else the profile's id.
    pub(super) fn role(&self) -> Option<String> {
        let name = self.permission_profile_name.as_deref().map(str::trim);
        let id = self.permission_profile_id.as_deref().map(str::trim);
        name.filter(|n| !n.is_empty())
            .or(id.filter(|i| !i.is_empty()))
            .map(str::to_owned)
    }

    /// Whether it may manage users: an account administrator (`isAdmin`), or a profile whose
    /// `canManageUsers` is on.
    pub(super) fn manages_users(&self) -> bool {
        let yes = |v: &Value| v == true || text(v).eq_ignore_ascii_case("true");
        let granular = &self.user_settings["accountManagementGranular"];
        self.is_admin
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("true"))
            || yes(&granular["canManageUsers"])
    }

    /// As an app member: `invited` until the person activates (`ActivationSent`,
    /// `ActivationRequired`), `deactivated` when `Closed` or `Disabled`.
    pub(super) fn member(&self) -> AppMember {
        let status = self.status();
        let off = matches!(status.as_str(), "closed" | "disabled");
        let roles = self.role().into_iter().collect();
        let email = self.email();
        let mut m = member(
            &self.user_id,
            Some(&email),
            self.user_name.as_deref(),
            roles,
            off,
        );
        if status.starts_with("activation") {
            m.state = MemberState::Invited;
        }
        m
    }
}

/// The account's permission profiles as `(id, name)`.
///
/// Errors: `AppChanged` for another body.
pub(super) fn profiles(v: &Value, what: &str) -> Result<Vec<(String, String)>, E> {
    let list = v["permissionProfiles"]
        .as_array()
        .ok_or_else(|| unexpected(APP, what))?;
    Ok(list
        .iter()
        .filter_map(|p| {
            let id = crate::sdk::json::id(&p["permissionProfileId"])?;
            let name = text(&p["permissionProfileName"]).trim();
            (!name.is_empty()).then(|| (id, name.to_owned()))
        })
        .collect())
}

/// The start of the page after one read from `start` (`resultSetSize` rows of
/// `totalSetSize`), `None` at the end; without sizes, while DocuSign sends a `nextUri`.
pub(super) fn next_start(v: &Value, start: usize) -> Option<usize> {
    let num = |k: &str| text(&v[k]).trim().parse::<usize>().ok();
    let more = !text(&v["nextUri"]).trim().is_empty();
    match (num("resultSetSize"), num("totalSetSize")) {
        (Some(0), _) => None,
        (Some(n), Some(total)) => (start + n < total).then_some(start + n),
        (Some(n), None) => more.then_some(start + n),
        (None, _) => None,
    }
}

/// DocuSign's `errorCode`, uppercase (`""` without one).
fn code(r: &Reply) -> String {
    let body = r.json.as_ref().map(|b| text(&b["errorCode"]));
    body.unwrap_or("").trim().to_ascii_uppercase()
}

/// DocuSign's rate-limit answers ([`crate::sdk::http::Throttle`]): a 429, or an `errorCode`
/// ending in `_LIMIT_EXCEEDED` (`HOURLY_APIINVOCATION_LIMIT_EXCEEDED`, the burst and envelope
/// polling limits, which DocuSign has answered with 400). The wait: `Retry-After`; for a burst
/// limit, its 30-second window; else until `X-RateLimit-Reset`; else the 30 seconds.
pub(super) fn throttle(r: &Reply) -> Option<Duration> {
    let code = code(r);
    if r.status != StatusCode::TOO_MANY_REQUESTS && !code.ends_with("_LIMIT_EXCEEDED") {
        return None;
    }
    if let Some(wait) = r.retry_after {
        return Some(wait);
    }
    if code.starts_with("BURST") {
        return Some(BURST_WINDOW);
    }
    Some(reset_wait(r, "x-ratelimit-reset").unwrap_or(BURST_WINDOW))
}

/// The one table from DocuSign's error answers (`{"errorCode", "message"}`, most with HTTP 400)
/// to connector errors, by `errorCode` then status.
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let says = says(r, &["errorCode", "message"]);
    let code = code(r);
    match code.as_str() {
        _ if r.status == StatusCode::UNAUTHORIZED || code.starts_with("AUTHORIZATION_") => {
            E::BadCredentials(format!("DocuSign did not accept the access token: {says}"))
        }
        "USER_AUTHENTICATION_FAILED" | "PARTNER_AUTHENTICATION_FAILED" => {
            E::BadCredentials(format!("DocuSign did not accept the access token: {says}"))
        }
        "USER_LACKS_PERMISSIONS" | "ACCOUNT_LACKS_PERMISSIONS" => {
            E::InsufficientPermission(format!(
                "DocuSign refused to {what}: {says} (the automation account must be an \
                 Account Administrator, or have a profile that can manage users)"
            ))
        }
        c if NO_USER.contains(&c) => E::NotFound(format!("DocuSign has no such user: {says}")),
        "USER_ALREADY_EXISTS_IN_ACCOUNT" => {
            E::Conflict(format!("DocuSign refused to {what}: {says}"))
        }
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_states_and_roles() {
        let u = |v: Value| DsUser::parse(&v, "x").unwrap();
        let admin = u(
            json!({"userId": "u-1", "email": "A@X.org", "userName": "Ana",
            "userStatus": "Active", "isAdmin": "True", "permissionProfileId": "1",
            "permissionProfileName": "Account Administrator"}),
        );
        assert!(admin.manages_users());
        let m = admin.member();
        assert_eq!(
            (m.roles[0].as_str(), m.email.as_deref(), m.state),
            (ACCOUNT_ADMINISTRATOR, Some("a@x.org"), MemberState::Active)
        );
        let manager = u(
            json!({"userId": "u-2", "isAdmin": "False", "userStatus": "ActivationSent",
            "permissionProfileId": "9", "userSettings": {"accountManagementGranular":
            {"canManageUsers": "true"}}}),
        );
        assert!(manager.manages_users());
        let m = manager.member();
        assert_eq!((m.roles[0].as_str(), m.state), ("9", MemberState::Invited));
        let closed = u(
            json!({"userId": "u-3", "userStatus": "Closed", "isAdmin": "False",
            "permissionProfileName": "DocuSign Viewer"}),
        );
        assert!(closed.closed() && !closed.manages_users());
        assert_eq!(closed.member().state, MemberState::Deactivated);
        assert!(DsUser::parse(&json!({"email": "x"}), "x").is_err());

        let p = profiles(
            &json!({"permissionProfiles": [{"permissionProfileId": "1",
                "permissionProfileName": "DocuSign Sender"}, {"permissionProfileId": 2}]}),
            "x",
        )
        .unwrap();
        assert_eq!(p, [("1".to_owned(), SENDER.to_owned())]);
        let page = |size: &str, total: &str| json!({"resultSetSize": size, "totalSetSize": total, "nextUri": ""});
        assert_eq!(next_start(&page("100", "250"), 100), Some(200));
        assert_eq!(next_start(&page("50", "250"), 200), None);
        assert_eq!(next_start(&page("0", "250"), 0), None);
        assert_eq!(
            next_start(
                &json!({"resultSetSize": "100", "nextUri": "/users?start_position=100"}),
                0
            ),
            Some(100)
        );
    }

    #[test]
    fn errors_and_limits() {
        let reply = |status: u16, code: &str| {
            let body = json!({"errorCode": code, "message": "m"}).to_string();
            Reply::new(status, &body, None, "http://h")
        };
        let e = |status: u16, code: &str| map_error(&reply(status, code), "x");
        assert!(matches!(
            e(401, "AUTHORIZATION_INVALID_TOKEN"),
            E::BadCredentials(m) if m.contains("AUTHORIZATION_INVALID_TOKEN: m")
        ));
        assert!(matches!(
            e(400, "USER_LACKS_PERMISSIONS"),
            E::InsufficientPermission(_)
        ));
        assert!(matches!(e(400, "INVALID_USERID"), E::NotFound(_)));
        assert!(matches!(
            e(400, "USER_ALREADY_EXISTS_IN_ACCOUNT"),
            E::Conflict(_)
        ));
        assert!(matches!(
            e(400, "INVALID_REQUEST_PARAMETER"),
            E::Configuration(_)
        ));

        assert_eq!(throttle(&reply(400, "INVALID_USERID")), None);
        assert_eq!(
            throttle(&reply(400, "BURST_APIINVOCATION_LIMIT_EXCEEDED")),
            Some(BURST_WINDOW)
        );
        let mut hourly = reply(429, "HOURLY_APIINVOCATION_LIMIT_EXCEEDED");
        hourly
            .headers
            .insert("x-ratelimit-reset", "120".parse().unwrap());
        assert_eq!(throttle(&hourly), Some(Duration::from_secs(120)));
        hourly.retry_after = Some(Duration::from_secs(1));
        assert_eq!(throttle(&hourly), Some(Duration::from_secs(1)));
    }
}
