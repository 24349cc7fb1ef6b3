//! SCIM 2.0 client plumbing (RFC 7643 schemas, RFC 7644 protocol) for any connector that talks
//! to a SCIM service provider: the media type, schema URNs, `eq` filters with the value escaped,
//! PATCH operations, list responses, the service provider's configuration and the one table
//! from SCIM error bodies to connector errors. The `scim` connector is built on it; an app
//! whose own connector also offers SCIM (GitHub Enterprise, Slack) can reuse it.
//!
//! Sources: RFC 7643 <https://www.rfc-editor.org/rfc/rfc7643> and RFC 7644
//! <https://www.rfc-editor.org/rfc/rfc7644>.

use castellan_core::connector::ConnectorError;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::errors::common_error;
use super::http::{Reply, Request};

/// SCIM's media type (RFC 7644 §3.1); servers must also accept `application/json`.
pub const MEDIA_TYPE: &str = "application/scim+json";
/// The core User schema (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// A PATCH request's schema (RFC 7644 §3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// A list response's schema (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The longest `detail` of an error body quoted in a connector error, in characters.
const DETAIL_MAX: usize = 200;

/// SCIM headers on a request: `Content-Type` and `Accept` of [`MEDIA_TYPE`] (`Accept` also
/// names `application/json`, which some providers answer with).
pub trait ScimRequest {
    /// The request with SCIM's media type.
    fn scim(self) -> Self;
}

impl ScimRequest for Request<'_> {
    fn scim(self) -> Self {
        self.header(CONTENT_TYPE, MEDIA_TYPE)
            .header(ACCEPT, "application/scim+json, application/json")
    }
}

/// `<attr> eq "<value>"`: an equality filter (RFC 7644 §3.4.2.2) whose value is a JSON string
/// (RFC 8259 §7), so quotes, backslashes and control characters are escaped. `attr` is an
/// attribute path (`userName`, `emails.value`, `urn:…:User:userName`).
///
/// Errors: `Configuration` when `attr` is not an attribute path (it is never escaped).
pub fn eq_filter(attr: &str, value: &str) -> Result<String, ConnectorError> {
    let ok = !attr.is_empty()
        && attr.starts_with(|c: char| c.is_ascii_alphabetic())
        && attr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '$'));
    if !ok {
        return Err(ConnectorError::Configuration(format!(
            "{attr:?} is not a SCIM attribute path"
        )));
    }
    Ok(format!("{attr} eq {}", Value::from(value)))
}

/// A PATCH request body (RFC 7644 §3.5.2) with these operations.
pub fn patch_body(operations: Vec<Value>) -> Value {
    json!({ "schemas": [PATCH_OP], "Operations": operations })
}

/// A PATCH operation: `op` is `add`, `remove` or `replace`; `path` may be absent (`replace`
/// with an object of attributes) and `value` is absent for `remove`.
pub fn patch_op(op: &str, path: Option<&str>, value: Option<Value>) -> Value {
    let mut o = json!({ "op": op });
    if let Some(p) = path {
        o["path"] = Value::from(p);
    }
    if let Some(v) = value {
        o["value"] = v;
    }
    o
}

/// One page of a list response (RFC 7644 §3.4.2): its resources and `totalResults`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// `Resources` (absent when empty, RFC 7644 §3.4.2).
    pub resources: Vec<Value>,
    /// `totalResults`: how many match in all.
    pub total_results: u64,
}

impl ListPage {
    /// Reads a list response. `None` when `body` is not one.
    pub fn parse(body: &Value) -> Option<Self> {
        let total_results = body.get("totalResults")?.as_u64()?;
        let resources = match body.get("Resources") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return None,
        };
        Some(Self {
            resources,
            total_results,
        })
    }
}

/// What a service provider says it supports (RFC 7643 §5, `/ServiceProviderConfig`). A missing
/// or unreadable configuration reads as [`ProviderConfig::default`]: PATCH and filters assumed
/// (most providers have both; a refusal is handled where it happens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderConfig {
    /// `patch.supported`.
    pub patch: bool,
    /// `filter.supported`.
    pub filter: bool,
    /// `filter.maxResults`, when given: the most resources one response holds.
    pub max_results: Option<u64>,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            patch: true,
            filter: true,
            max_results: None,
        }
    }
}

impl ProviderConfig {
    /// Reads a `/ServiceProviderConfig` body; absent features keep their defaults.
    pub fn parse(body: &Value) -> Self {
        let d = Self::default();
        let flag = |k: &str, default: bool| {
            body.get(k)
                .and_then(|f| f.get("supported"))
                .and_then(Value::as_bool)
                .unwrap_or(default)
        };
        Self {
            patch: flag("patch", d.patch),
            filter: flag("filter", d.filter),
            max_results: body
                .get("filter")
                .and_then(|f| f.get("maxResults"))
                .and_then(Value::as_u64)
                .filter(|n| *n > 0),
        }
    }

    /// As JSON, to keep in a session's data.
    pub fn to_json(self) -> Value {
        json!({
            "patch": self.patch,
            "filter": self.filter,
            "max_results": self.max_results,
        })
    }

    /// What [`Self::to_json`] wrote; defaults where it is missing.
    pub fn from_json(v: &Value) -> Self {
        let d = Self::default();
        let flag = |k: &str, default: bool| v.get(k).and_then(Value::as_bool).unwrap_or(default);
        Self {
            patch: flag("patch", d.patch),
            filter: flag("filter", d.filter),
            max_results: v.get("max_results").and_then(Value::as_u64),
        }
    }
}

/// An error body's `scimType` (RFC 7644 §3.12), when there is one.
pub fn scim_type(r: &Reply) -> Option<&str> {
    r.json.as_ref()?.get("scimType")?.as_str()
}

/// An error body's `detail`, clipped to a short line.
fn detail(r: &Reply) -> String {
    let d = r
        .json
        .as_ref()
        .and_then(|b| b.get("detail"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    let mut s: String = d
        .chars()
        .filter(|c| !c.is_control())
        .take(DETAIL_MAX)
        .collect();
    if d.chars().count() > DETAIL_MAX {
        s.push('…');
    }
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

/// The one table from a SCIM service provider's error answers (RFC 7644 §3.12) to connector
/// errors; `app` names the provider in messages, `what` the call in words (`list users`).
///
/// - 429 → `RateLimited`, 5xx → `Unavailable`, 3xx → `Configuration` (the SDK's common table;
///   501 Not Implemented is taken first: `Unsupported`, the provider lacks the feature);
/// - 401 → `BadCredentials` (the token is wrong, expired or revoked);
/// - 403 → `InsufficientPermission`;
/// - 404 → `NotFound`;
/// - 409, or `scimType` `uniqueness` → `Conflict`; 412 (a version that changed, RFC 7644
///   §3.14) → `Conflict`;
/// - 400 with `scimType` `invalidFilter`, `invalidValue`, `invalidPath`, `invalidSyntax`,
///   `noTarget`, `mutability`, `tooMany`, `invalidVers`, `sensitive`, or without one, and 413 →
///   `Configuration` (the provider refuses what this connector sends for this hub);
/// - any other status → `Configuration` (not a SCIM endpoint?).
pub fn scim_error(r: &Reply, app: &str, what: &str) -> ConnectorError {
    use ConnectorError as E;
    let status = r.status;
    if status == StatusCode::NOT_IMPLEMENTED {
        return E::Unsupported(format!("{app} cannot {what} (HTTP 501){}", detail(r)));
    }
    if let Some(e) = common_error(r, what, "the SCIM base URL") {
        return e;
    }
    let kind = scim_type(r).unwrap_or("");
    match status {
        StatusCode::UNAUTHORIZED => E::BadCredentials(format!(
            "{app} refused the API token to {what} (wrong, expired or revoked)"
        )),
        StatusCode::FORBIDDEN => E::InsufficientPermission(format!(
            "{app} does not let the API token {what}{}",
            detail(r)
        )),
        StatusCode::NOT_FOUND => E::NotFound(format!("{app}: {what}: HTTP 404{}", detail(r))),
        StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => {
            E::Conflict(format!("{app} refused to {what}{}", detail(r)))
        }
        StatusCode::BAD_REQUEST if kind == "uniqueness" => {
            E::Conflict(format!("{app} refused to {what}{}", detail(r)))
        }
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => {
            let kind = if kind.is_empty() {
                String::new()
            } else {
                format!(" ({kind})")
            };
            E::Configuration(format!("{app} refused to {what}{kind}{}", detail(r)))
        }
        _ => E::Configuration(format!(
            "{} answered '{what}' with HTTP {status}: not a SCIM 2.0 endpoint?",
            r.base
        )),
    }
}

/// The JSON body of a successful answer, or the typed error ([`scim_error`]). A success without
/// JSON is `Configuration`: the base URL is not a SCIM endpoint (a web page, a proxy).
pub fn scim_json(r: Reply, app: &str, what: &str) -> Result<Value, ConnectorError> {
    if !r.status.is_success() {
        return Err(scim_error(&r, app, what));
    }
    r.json.ok_or_else(|| {
        ConnectorError::Configuration(format!(
            "{} answered '{what}' without JSON: not a SCIM 2.0 base URL",
            r.base
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_escape_their_value() {
        assert_eq!(
            eq_filter("userName", "ana@x.org").unwrap(),
            r#"userName eq "ana@x.org""#
        );
        assert_eq!(
            eq_filter("emails.value", "a\"b\\c\n").unwrap(),
            r#"emails.value eq "a\"b\\c\n""#
        );
        assert_eq!(
            eq_filter("urn:ietf:params:scim:schemas:core:2.0:User:userName", "x").unwrap(),
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#
        );
        for bad in ["", "userName or 1", "a\"", "1x", "members[value"] {
            assert!(eq_filter(bad, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn list_pages_and_configs_parse() {
        let p = ListPage::parse(&json!({"totalResults": 3, "Resources": [{"id": "1"}]})).unwrap();
        assert_eq!((p.resources.len(), p.total_results), (1, 3));
        assert_eq!(
            ListPage::parse(&json!({"totalResults": 0})).unwrap(),
            ListPage {
                resources: vec![],
                total_results: 0
            }
        );
        assert_eq!(ListPage::parse(&json!({"Resources": []})), None);
        assert_eq!(
            ListPage::parse(&json!({"totalResults": 1, "Resources": {}})),
            None
        );

        let c = ProviderConfig::parse(&json!({
            "patch": {"supported": false},
            "filter": {"supported": true, "maxResults": 200},
            "sort": {"supported": true}
        }));
        assert_eq!(
            c,
            ProviderConfig {
                patch: false,
                filter: true,
                max_results: Some(200),
            }
        );
        assert_eq!(ProviderConfig::from_json(&c.to_json()), c);
        assert_eq!(ProviderConfig::parse(&json!({})), ProviderConfig::default());
        assert_eq!(
            patch_body(vec![patch_op("remove", Some("members"), None)]),
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]})
        );
    }

    fn reply(status: u16, body: Value) -> Reply {
        Reply::new(status, &body.to_string(), None, "https://h/scim/v2")
    }

    #[test]
    fn error_bodies_map_to_connector_errors() {
        use ConnectorError as E;
        let e = |s, b| scim_error(&reply(s, b), "App", "create a user");
        let body = |t: &str| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": t, "detail": "nope"});
        assert!(matches!(e(401, json!({})), E::BadCredentials(_)));
        assert!(matches!(e(403, json!({})), E::InsufficientPermission(_)));
        assert!(matches!(e(404, json!({})), E::NotFound(_)));
        assert!(matches!(e(409, body("uniqueness")), E::Conflict(m) if m.ends_with(": nope")));
        assert!(matches!(e(400, body("uniqueness")), E::Conflict(_)));
        assert!(matches!(e(412, json!({})), E::Conflict(_)));
        assert!(
            matches!(e(400, body("invalidFilter")), E::Configuration(m) if m.contains("(invalidFilter): nope"))
        );
        assert!(matches!(e(400, body("invalidValue")), E::Configuration(_)));
        assert!(matches!(e(429, json!({})), E::RateLimited { .. }));
        assert!(matches!(e(503, json!({})), E::Unavailable(_)));
        assert!(matches!(e(501, json!({})), E::Unsupported(_)));
        assert!(matches!(e(302, json!({})), E::Configuration(_)));
        assert!(matches!(e(418, json!({})), E::Configuration(_)));
        let long = json!({"detail": "x".repeat(500)});
        assert!(e(400, long).to_string().len() < 300);
        assert!(matches!(
            scim_json(Reply::new(200, "<html>", None, "https://h"), "App", "x"),
            Err(E::Configuration(_))
        ));
        assert_eq!(
            scim_json(reply(200, json!({"a": 1})), "App", "x").unwrap(),
            json!({"a": 1})
        );
    }
}
