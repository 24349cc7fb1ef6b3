//! Google Ads user accesses and pending invitations as members, the Google Ads Query Language
//! queries that read them, customer IDs, mutate results, and the one table from Google's error
//! answers (`{"error": {"code", "message", "status", "details": [GoogleAdsFailure]}}`) to
//! connector errors.
//!
//! - `CustomerUserAccess` (`resource_name`, `user_id`, `email_address`, `access_role`):
//!   <https://developers.google.com/google-ads/api/reference/rpc/v26/CustomerUserAccess>
//! - `CustomerUserAccessInvitation` (`invitation_id`, `email_address`, `access_role`,
//!   `invitation_status`):
//!   <https://developers.google.com/google-ads/api/reference/rpc/v26/CustomerUserAccessInvitation>
//! - Errors: <https://developers.google.com/google-ads/api/docs/get-started/handle-errors>,
//!   `CustomerUserAccessError`, `AccessInvitationError`, `AuthorizationError`,
//!   `QuotaErrorDetails.retry_delay`:
//!   <https://developers.google.com/google-ads/api/reference/rpc/v26/QuotaErrorDetails>

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde_json::Value;

use super::APP;
use crate::sdk::json::{id, items, text};
use crate::sdk::members::member;
use crate::sdk::saas::refused;
use crate::sdk::Reply;

/// Google Ads' `ADMIN` access: manages users, billing and everything else.
pub const ADMIN: &str = "admin";
/// `STANDARD`: changes the account, but not its users.
pub const STANDARD: &str = "standard";
/// `READ_ONLY`: sees the account (the connector's default role).
pub const READ_ONLY: &str = "read_only";
/// `EMAIL_ONLY`: receives the account's emails and reports.
pub const EMAIL_ONLY: &str = "email_only";
/// The access roles, most privileged first, as Castellan names them (Google's, lowercase).
pub(super) const ROLES: [&str; 4] = [ADMIN, STANDARD, READ_ONLY, EMAIL_ONLY];
/// The prefix of a pending invitation's member id (`invitation:<email>`): it keeps its id when
/// a role change sends the invitation again (an invitation's role cannot be updated).
pub const INVITATION: &str = "invitation:";

/// Every user access of a customer.
pub(super) const ACCESSES: &str = "SELECT customer_user_access.user_id, \
    customer_user_access.email_address, customer_user_access.access_role FROM \
    customer_user_access";
/// Every pending invitation of a customer.
pub(super) const INVITATIONS: &str = "SELECT customer_user_access_invitation.invitation_id, \
    customer_user_access_invitation.email_address, customer_user_access_invitation.access_role, \
    customer_user_access_invitation.invitation_status FROM customer_user_access_invitation WHERE \
    customer_user_access_invitation.invitation_status = PENDING";

/// The access of the user `user_id` (a number: nothing else is written into a query).
pub(super) fn access_of(user_id: u64) -> String {
    format!("{ACCESSES} WHERE customer_user_access.user_id = {user_id}")
}

/// A customer ID as Google Ads takes it in paths and headers: exactly 10 digits (the UI shows
/// `123-456-7890`).
///
/// Errors: `Configuration` naming `what` (the setting).
pub(super) fn customer_id(raw: &str, what: &str) -> Result<String, E> {
    let id = raw.trim();
    if id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(id.to_owned());
    }
    let hint = match id.contains('-') {
        true => format!(" (write {id} without dashes)"),
        false => String::new(),
    };
    Err(E::Configuration(format!(
        "the {what} must be a Google Ads customer ID of 10 digits{hint}"
    )))
}

/// The `results` of a search answer.
pub(super) fn results(v: &Value) -> &[Value] {
    items(&v["results"])
}

/// Castellan's role for Google's `access_role` (`ADMIN` → `admin`).
fn role(wire: &Value) -> Option<String> {
    Some(wire.as_str()?.trim().to_ascii_lowercase()).filter(|r| !r.is_empty())
}

/// A `customerUserAccess` row as an active member (user id, address, role); `None` when it
/// lacks one of them.
pub(super) fn access(row: &Value) -> Option<AppMember> {
    let a = &row["customerUserAccess"];
    let (user, role) = (id(&a["userId"])?, role(&a["accessRole"])?);
    Some(member(
        user,
        a["emailAddress"].as_str(),
        None,
        vec![role],
        false,
    ))
}

/// A pending `customerUserAccessInvitation` row as an invited member (`invitation:<email>`)
/// and its invitation id; `None` for another status or a row that lacks a field.
pub(super) fn invitation(row: &Value) -> Option<(AppMember, String)> {
    let i = &row["customerUserAccessInvitation"];
    if text(&i["invitationStatus"]) != "PENDING" {
        return None;
    }
    let (inv, role) = (id(&i["invitationId"])?, role(&i["accessRole"])?);
    let email = text(&i["emailAddress"]).trim().to_lowercase();
    if email.is_empty() {
        return None;
    }
    let mut m = member(
        format!("{INVITATION}{email}"),
        Some(&email),
        None,
        vec![role],
        false,
    );
    m.state = MemberState::Invited;
    Some((m, inv))
}

/// The resource name a mutate answered with (`result.resourceName`).
///
/// Errors: `NeedsHuman` when Google asks for another admin's approval instead
/// (`result.multiPartyAuthReview`, multi-party approval); `AppChanged` for another body.
pub(super) fn mutated(v: &Value, what: &str) -> Result<String, E> {
    let result = &v["result"];
    if let Some(review) = result["multiPartyAuthReview"]
        .as_str()
        .filter(|r| !r.is_empty())
    {
        return Err(E::NeedsHuman(format!(
            "Google Ads asks another admin of the account to approve this change ({what}; \
             multi-party approval {review}): approve or deny it in Google Ads"
        )));
    }
    match result["resourceName"].as_str().filter(|r| !r.is_empty()) {
        Some(name) => Ok(name.to_owned()),
        None => Err(crate::sdk::errors::unexpected(APP, what)),
    }
}

/// The wait a `RESOURCE_EXHAUSTED` answer asks for: the first `quotaErrorDetails.retryDelay`
/// of its `GoogleAdsFailure` (a protobuf `Duration` in JSON, such as `"30s"` or `"1.5s"`).
pub(super) fn retry_delay(v: &Value) -> Option<Duration> {
    items(&v["error"]["details"])
        .iter()
        .flat_map(|d| items(&d["errors"]))
        .find_map(|e| {
            let d = e["details"]["quotaErrorDetails"]["retryDelay"].as_str()?;
            let secs: f64 = d.trim().strip_suffix('s')?.parse().ok()?;
            (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
        })
}

/// The errors of an answer's `GoogleAdsFailure`: `(kind, code, message)`, such as
/// `("authorizationError", "USER_PERMISSION_DENIED", "…")`, and its request id.
fn failure(r: &Reply) -> (Vec<(String, String, String)>, Option<String>) {
    let Some(body) = r.json.as_ref() else {
        return (Vec::new(), None);
    };
    let details = items(&body["error"]["details"]);
    let errors = details
        .iter()
        .flat_map(|d| items(&d["errors"]))
        .filter_map(|e| {
            let (kind, code) = e["errorCode"].as_object()?.iter().next()?;
            let message = clip(text(&e["message"]));
            Some((kind.clone(), code.as_str()?.to_owned(), message))
        })
        .collect();
    let request = details
        .iter()
        .find_map(|d| d["requestId"].as_str())
        .map(clip);
    (errors, request)
}

/// `s` as one short line: no control characters, at most 200 characters.
fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// The one table from Google Ads' error answers to connector errors (`what`: the call), by the
/// `GoogleAdsFailure`'s codes first, then by status:
/// - `customerUserAccessError` `LAST_ADMIN_USER_OF_SERVING_CUSTOMER`,
///   `LAST_ADMIN_USER_OF_MANAGER`, `REMOVAL_DISALLOWED`, `DISALLOWED_ACCESS_ROLE`, and
///   `accessInvitationError` `EMAIL_ADDRESS_ALREADY_HAS_ACCESS`,
///   `EMAIL_ADDRESS_ALREADY_HAS_PENDING_INVITATION`, `PENDING_INVITATIONS_LIMIT_EXCEEDED`,
///   `INVALID_INVITATION_STATUS` → `Conflict`;
/// - `INVALID_USER_ID`, `INVALID_INVITATION_ID`, `requestError` `RESOURCE_NOT_FOUND` →
///   `NotFound`;
/// - a customer ID or `login-customer-id` Google does not take (`CUSTOMER_NOT_FOUND`,
///   `INVALID_CUSTOMER_ID`, `headerError`, …) → `Configuration`;
/// - `authorizationError` `USER_PERMISSION_DENIED` and the Cloud project's API access
///   (`CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION`, …) → `InsufficientPermission` saying what to
///   do; `quotaError` → `RateLimited` with `retryDelay`;
/// - 401 `UNAUTHENTICATED` → `BadCredentials` (connect with Google again); the rest by status
///   ([`refused`]: 403 `InsufficientPermission`, 429 `RateLimited`, 5xx `Unavailable`, other
///   4xx `Configuration`).
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let (errors, request) = failure(r);
    let mut says: Vec<String> = errors
        .iter()
        .map(|(kind, code, msg)| format!("{kind} {code}: {msg}"))
        .collect();
    if says.is_empty() {
        let top = r
            .json
            .as_ref()
            .map(|b| text(&b["error"]["message"]))
            .unwrap_or("");
        says.extend(Some(clip(top)).filter(|s| !s.is_empty()));
    }
    let mut says = says.join("; ");
    if let Some(id) = request {
        says = format!("{says} (request id {id})");
    }
    for (kind, code, _) in &errors {
        let conflict = || E::Conflict(format!("{APP} refused to {what}: {says}"));
        let e = match (kind.as_str(), code.as_str()) {
            (
                "customerUserAccessError",
                "LAST_ADMIN_USER_OF_SERVING_CUSTOMER"
                | "LAST_ADMIN_USER_OF_MANAGER"
                | "REMOVAL_DISALLOWED"
                | "DISALLOWED_ACCESS_ROLE",
            ) => conflict(),
            (
                "accessInvitationError",
                "EMAIL_ADDRESS_ALREADY_HAS_ACCESS"
                | "EMAIL_ADDRESS_ALREADY_HAS_PENDING_INVITATION"
                | "PENDING_INVITATIONS_LIMIT_EXCEEDED"
                | "INVALID_INVITATION_STATUS",
            ) => conflict(),
            ("customerUserAccessError", "INVALID_USER_ID")
            | ("accessInvitationError", "INVALID_INVITATION_ID")
            | ("requestError", "RESOURCE_NOT_FOUND") => E::NotFound(format!("{APP}: {says}")),
            ("authenticationError", "CUSTOMER_NOT_FOUND" | "CLIENT_CUSTOMER_ID_INVALID")
            | ("requestError", "INVALID_CUSTOMER_ID")
            | ("headerError", _)
            | ("authorizationError", "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION") => {
                E::Configuration(format!(
                    "{APP} does not take the hub's customer ID or login customer ID ({says}): the \
                 organization ID is the account's customer ID, and the login customer ID the \
                 manager account the automation account reaches it through"
                ))
            }
            ("authorizationError", "USER_PERMISSION_DENIED") => E::InsufficientPermission(format!(
                "{APP} does not let the automation account {what} ({says}): give it ADMIN access \
                 to the account, or set the login customer ID to the manager account it has \
                 access through"
            )),
            (
                "authorizationError",
                "CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION"
                | "DEVELOPER_TOKEN_NOT_APPROVED"
                | "PROJECT_DISABLED"
                | "MISSING_TOS",
            ) => E::InsufficientPermission(format!(
                "{APP} does not let the OAuth client's Google Cloud project {what} ({says}): \
                 apply for Explorer, Basic or Standard access on the project's Google Ads API \
                 page in the Cloud console"
            )),
            ("quotaError", _) => E::RateLimited {
                retry_after: r.retry_after,
            },
            _ => continue,
        };
        return e;
    }
    let unauthenticated =
        r.json.as_ref().map(|b| text(&b["error"]["status"])) == Some("UNAUTHENTICATED");
    if r.status == StatusCode::UNAUTHORIZED || unauthenticated {
        return E::BadCredentials(format!(
            "{APP} refused the OAuth access token to {what} ({says}): connect the hub with \
             Google again"
        ));
    }
    refused(r, APP, what, &says)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn google(status: u16, name: &str, kind: &str, code: &str, details: Value) -> Reply {
        let body = json!({"error": {"code": status, "message": "m", "status": name,
            "details": [{"@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                "errors": [{"errorCode": {kind: code}, "message": "why", "details": details}],
                "requestId": "req-1"}]}});
        let mut r = Reply::new(
            status,
            &body.to_string(),
            None,
            "https://googleads.googleapis.com",
        );
        r.retry_after = retry_delay(&body);
        r
    }

    #[test]
    fn rows_ids_and_results() {
        let a = json!({"customerUserAccess": {"resourceName": "customers/1/customerUserAccesses/7",
            "userId": "7", "emailAddress": "Ana@X.org", "accessRole": "STANDARD"}});
        let m = access(&a).unwrap();
        assert_eq!(
            (m.app_member_id.as_str(), m.roles[0].as_str()),
            ("7", STANDARD)
        );
        assert_eq!(m.email.as_deref(), Some("ana@x.org"));
        let i = |status: &str| {
            json!({"customerUserAccessInvitation": {"invitationId": "9", "emailAddress": "B@X.org",
                "accessRole": "READ_ONLY", "invitationStatus": status}})
        };
        let (m, id) = invitation(&i("PENDING")).unwrap();
        assert_eq!(
            (m.app_member_id.as_str(), id.as_str()),
            ("invitation:b@x.org", "9")
        );
        assert_eq!(
            (m.state, m.roles[0].as_str()),
            (MemberState::Invited, READ_ONLY)
        );
        assert!(invitation(&i("EXPIRED")).is_none());
        assert_eq!(customer_id(" 1234567890 ", "x").unwrap(), "1234567890");
        for bad in ["123-456-7890", "123456789", "12345678901", "abcdefghij"] {
            assert!(
                matches!(customer_id(bad, "x"), Err(E::Configuration(_))),
                "{bad}"
            );
        }
        assert!(customer_id("123-456-7890", "x")
            .unwrap_err()
            .to_string()
            .contains("without dashes"));
        assert_eq!(
            mutated(&json!({"result": {"resourceName": "customers/1/x/2"}}), "x").unwrap(),
            "customers/1/x/2"
        );
        let review =
            json!({"result": {"multiPartyAuthReview": "customers/1/multiPartyAuthReviews/3"}});
        assert!(matches!(mutated(&review, "x"), Err(E::NeedsHuman(_))));
        assert_eq!(
            access_of(7),
            format!("{ACCESSES} WHERE customer_user_access.user_id = 7")
        );
    }

    #[test]
    fn google_errors_map_to_connector_errors() {
        let e = |s, n, k, c| map_error(&google(s, n, k, c, Value::Null), "x");
        let last = e(
            400,
            "INVALID_ARGUMENT",
            "customerUserAccessError",
            "LAST_ADMIN_USER_OF_SERVING_CUSTOMER",
        );
        assert!(matches!(last, E::Conflict(m) if m.contains("LAST_ADMIN") && m.contains("req-1")));
        let has = e(
            400,
            "INVALID_ARGUMENT",
            "accessInvitationError",
            "EMAIL_ADDRESS_ALREADY_HAS_ACCESS",
        );
        assert!(matches!(has, E::Conflict(_)));
        assert!(matches!(
            e(
                400,
                "INVALID_ARGUMENT",
                "accessInvitationError",
                "INVALID_INVITATION_ID"
            ),
            E::NotFound(_)
        ));
        assert!(matches!(
            e(
                400,
                "INVALID_ARGUMENT",
                "authenticationError",
                "CUSTOMER_NOT_FOUND"
            ),
            E::Configuration(_)
        ));
        let denied = e(
            403,
            "PERMISSION_DENIED",
            "authorizationError",
            "USER_PERMISSION_DENIED",
        );
        assert!(matches!(denied, E::InsufficientPermission(m) if m.contains("login customer ID")));
        let project = e(
            403,
            "PERMISSION_DENIED",
            "authorizationError",
            "CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION",
        );
        assert!(matches!(project, E::InsufficientPermission(m) if m.contains("Cloud")));
        assert!(matches!(
            e(
                403,
                "PERMISSION_DENIED",
                "authorizationError",
                "ACTION_NOT_PERMITTED"
            ),
            E::InsufficientPermission(_)
        ));
        assert!(matches!(
            e(
                401,
                "UNAUTHENTICATED",
                "authenticationError",
                "OAUTH_TOKEN_EXPIRED"
            ),
            E::BadCredentials(_)
        ));
        assert!(matches!(
            e(400, "INVALID_ARGUMENT", "queryError", "UNRECOGNIZED_FIELD"),
            E::Configuration(_)
        ));
        let quota = json!({"quotaErrorDetails": {"rateScope": "ACCOUNT", "retryDelay": "42s"}});
        let r = google(
            429,
            "RESOURCE_EXHAUSTED",
            "quotaError",
            "RESOURCE_TEMPORARILY_EXHAUSTED",
            quota,
        );
        assert_eq!(r.retry_after, Some(Duration::from_secs(42)));
        assert!(
            matches!(map_error(&r, "x"), E::RateLimited { retry_after: Some(d) } if d.as_secs() == 42)
        );
        assert!(map_error(&Reply::new(503, "{}", None, "h"), "x").is_retryable());
    }
}
