//! What connectors of SaaS apps' admin APIs share (Zendesk, HubSpot, Calendly, Meta, TikTok): a
//! hub's settings with public addresses only by default, the automation account's token, the
//! message of a vendor's JSON error body, the cursor of the next page read from a JSON answer,
//! cursors over listings read one after another ([`phase`]), the hub's organization id and the
//! vendor's default API address ([`organization`], [`endpoint_or`]).
//!
//! A SaaS connector is built with [`connector`]: its client refuses loopback and private
//! addresses unless the hub's `allow_private` says `yes` (a stand-in, or a vendor's on-premises
//! proxy), so a hub's base URL cannot be pointed at the company's own network by mistake.

use castellan_core::connector::settings::{
    allow_private, requests_per_second, SettingField, ALLOW_PRIVATE_NO, ALLOW_PRIVATE_YES,
};
use castellan_core::connector::{ConnectorContext, ConnectorError};
use secrecy::SecretString;
use serde_json::Value;

use super::builder::{App, AppConnector};
use super::errors::gone;
use super::http::{Endpoint, HttpClient, Reply, Request};
use super::rest::status_error;
use super::AddressPolicy;

/// The connector of the SaaS app `A`, whose hubs reach public addresses only unless their
/// `allow_private` setting says `yes`.
pub fn connector<A: App>() -> AppConnector<A> {
    AppConnector::with_policy(AddressPolicy::PUBLIC_ONLY)
}

/// The settings of a hub on a SaaS app: its `base_url` field (with the vendor's label and help),
/// the connector's `own` fields, the request rate ([`requests_per_second`]) and `allow_private`
/// (default `no` for a SaaS app).
pub fn settings(
    base_url: SettingField,
    own: impl IntoIterator<Item = SettingField>,
) -> Vec<SettingField> {
    let private = allow_private().help(&format!(
        "{ALLOW_PRIVATE_NO} (default): public addresses only, as the vendor's API is; \
         {ALLOW_PRIVATE_YES}: a loopback or private address (a stand-in or a proxy). Link-local \
         and cloud metadata addresses are refused either way"
    ));
    let mut all = vec![base_url];
    all.extend(own);
    all.extend([requests_per_second(), private]);
    all
}

/// The token the automation account signs in with: its `api_token`, else its password (an
/// account item that keeps the token as its password).
pub fn token(ctx: &ConnectorContext) -> SecretString {
    ctx.api_token.as_ref().unwrap_or(&ctx.password).clone()
}

/// The hub's organization id (a workspace, group or business), trimmed, without surrounding
/// slashes (a group's path may be pasted with one).
///
/// Errors: `Configuration` ("the hub has no <what> (its organization id)") when it is blank.
pub fn organization<'c>(ctx: &'c ConnectorContext, what: &str) -> Result<&'c str, ConnectorError> {
    let org = ctx.organization_id.as_deref().unwrap_or("");
    match org.trim().trim_matches('/') {
        "" => Err(ConnectorError::Configuration(format!(
            "the hub has no {what} (its organization id)"
        ))),
        org => Ok(org),
    }
}

/// The endpoint of a call to `ctx`'s hub ([`HttpClient::endpoint_for`]), at `default` when the
/// hub sets no base URL (the vendor's one API address, e.g. `https://gitlab.com/api/v4`).
///
/// Errors: `Configuration` for a base URL the hub's address policy refuses.
pub fn endpoint_or<'h>(
    http: &'h HttpClient,
    ctx: &ConnectorContext,
    default: &str,
) -> Result<Endpoint<'h>, ConnectorError> {
    match ctx.base_url.trim() {
        "" => {
            let mut ctx = ctx.clone();
            ctx.base_url = default.to_owned();
            http.endpoint_for(&ctx)
        }
        _ => http.endpoint_for(ctx),
    }
}

/// The message of a vendor's JSON error body: the non-empty strings among its `fields`, in that
/// order, joined with `: ` (e.g. Calendly's `title` and `message`); a field holding an object is
/// read for its own `title` and `message` (Zendesk's `{"error": {"title", "message"}}`). Empty
/// when the body has none. The body is the vendor's answer to the request, never a secret of
/// the account.
pub fn says(r: &Reply, fields: &[&str]) -> String {
    let Some(body) = r.json.as_ref() else {
        return String::new();
    };
    let mut parts: Vec<&str> = Vec::new();
    for f in fields {
        match &body[*f] {
            Value::String(s) => parts.push(s),
            Value::Object(o) => parts.extend(
                ["title", "message"]
                    .iter()
                    .filter_map(|k| o.get(*k).and_then(Value::as_str)),
            ),
            _ => {}
        }
    }
    parts.retain(|p| !p.trim().is_empty());
    parts.join(": ")
}

/// The error of a failed call of `app` whose body says `says` ([`says`]), for what the
/// connector's own table leaves: [`status_error`] with the message "<app> refused to <what>:
/// <says>" (or the status without a message).
pub fn refused(r: &Reply, app: &str, what: &str, says: &str) -> ConnectorError {
    let says = match says {
        "" => format!("{app} refused to {what} (HTTP {})", r.status.as_u16()),
        s => format!("{app} refused to {what}: {s}"),
    };
    status_error(r, app, what, &says)
}

/// Sends a `DELETE` (safe to send twice) and reads its answer: any success is done, and so is
/// `NotFound` (gone already); else `map`'s error, the connector's one table.
///
/// Errors: transport failures; `map`'s error other than `NotFound`.
pub async fn deleted(
    req: Request<'_>,
    map: impl FnOnce(&Reply) -> ConnectorError,
) -> Result<(), ConnectorError> {
    let r = req.idempotent().send().await?;
    match r.status.is_success() {
        true => Ok(()),
        false => gone(Err::<(), _>(map(&r))),
    }
}

/// The cursor of the next page at `pointer` (RFC 6901) in a JSON answer: a non-empty string,
/// else `None` (the last page). E.g. `/meta/after_cursor`, `/paging/next/after`,
/// `/pagination/next_page_token`.
pub fn next_cursor(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Where a cursor over listings read one after another stands (Calendly's memberships then its
/// invitations; Meta's business users then its pending invitations, its Pages then its ad
/// accounts): the index of the listing among `phases` (each a prefix such as `m:`) and that
/// listing's own cursor (`None` for its first page). `None` is the first listing's first page.
///
/// Errors: `Configuration` ("not a <app> cursor") for a cursor of no listing.
pub fn phase<'c>(
    app: &str,
    cursor: Option<&'c str>,
    phases: &[&str],
) -> Result<(usize, Option<&'c str>), ConnectorError> {
    let Some(cursor) = cursor else {
        return Ok((0, None));
    };
    let found = phases
        .iter()
        .enumerate()
        .find_map(|(i, p)| cursor.strip_prefix(p).map(|rest| (i, rest)));
    match found {
        Some((i, rest)) => Ok((i, Some(rest).filter(|r| !r.is_empty()))),
        None => Err(ConnectorError::Configuration(format!(
            "not a {app} cursor: {cursor:?}"
        ))),
    }
}

/// The cursor after a page of the listing `phases[i]` whose own next cursor is `next`: that
/// listing's next page, else the next listing's first page, else `None` (the end).
pub fn next_phase(phases: &[&str], i: usize, next: Option<String>) -> Option<String> {
    match next {
        Some(n) => Some(format!("{}{n}", phases[i])),
        None => phases.get(i + 1).map(|p| (*p).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_core::connector::settings::{ALLOW_PRIVATE, BASE_URL, REQUESTS_PER_SECOND};
    use castellan_core::connector::SettingKind;
    use serde_json::json;

    #[test]
    fn settings_tokens_messages_and_cursors() {
        let url = SettingField::new(BASE_URL, "URL", SettingKind::Url, true);
        let keys: Vec<String> = settings(url, []).into_iter().map(|f| f.key).collect();
        assert_eq!(keys, [BASE_URL, REQUESTS_PER_SECOND, ALLOW_PRIVATE]);
        let mut ctx = ConnectorContext::new("http://h", "u", SecretString::from("pw".to_owned()));
        use secrecy::ExposeSecret;
        assert_eq!(token(&ctx).expose_secret(), "pw");
        ctx.api_token = Some(SecretString::from("tok".to_owned()));
        assert_eq!(token(&ctx).expose_secret(), "tok");

        let r = Reply::new(
            400,
            r#"{"title":"Bad","message":"no","x":1}"#,
            None,
            "http://h",
        );
        assert_eq!(says(&r, &["title", "message", "x"]), "Bad: no");
        let r = Reply::new(
            403,
            r#"{"error":{"title":"Forbidden","message":"m"}}"#,
            None,
            "h",
        );
        assert_eq!(says(&r, &["error", "description"]), "Forbidden: m");
        assert_eq!(says(&Reply::new(500, "<html>", None, "h"), &["error"]), "");
        let e = refused(&Reply::new(403, "{}", None, "h"), "App", "list", "");
        assert!(matches!(e, ConnectorError::InsufficientPermission(m) if m.contains("HTTP 403")));

        assert!(matches!(
            organization(&ctx, "GitLab group"),
            Err(ConnectorError::Configuration(m)) if m == "the hub has no GitLab group (its organization id)"
        ));
        ctx.organization_id = Some(" /my-group/sub/ ".into());
        assert_eq!(organization(&ctx, "x").unwrap(), "my-group/sub");
        let http = HttpClient::new(super::super::AddressPolicy::SELF_HOSTED);
        ctx.base_url = " ".into();
        let ep = endpoint_or(&http, &ctx, "https://api.example.org/v1").unwrap();
        assert_eq!(ep.base().as_str(), "https://api.example.org/v1");
        ctx.base_url = "http://127.0.0.1:9/api".into();
        let ep = endpoint_or(&http, &ctx, "https://api.example.org/v1").unwrap();
        assert_eq!(ep.base().as_str(), "http://127.0.0.1:9/api");

        let v = json!({"meta": {"after_cursor": "abc", "before": ""}});
        assert_eq!(
            next_cursor(&v, "/meta/after_cursor").as_deref(),
            Some("abc")
        );
        assert_eq!(next_cursor(&v, "/meta/before"), None);
        assert_eq!(next_cursor(&v, "/nope"), None);

        let phases = ["m:", "i:"];
        assert_eq!(phase("App", None, &phases).unwrap(), (0, None));
        assert_eq!(phase("App", Some("i:"), &phases).unwrap(), (1, None));
        assert_eq!(
            phase("App", Some("m:abc"), &phases).unwrap(),
            (0, Some("abc"))
        );
        assert!(matches!(
            phase("App", Some("x"), &phases),
            Err(ConnectorError::Configuration(m)) if m.contains("not a App cursor")
        ));
        assert_eq!(
            next_phase(&phases, 0, Some("t".into())).as_deref(),
            Some("m:t")
        );
        assert_eq!(next_phase(&phases, 0, None).as_deref(), Some("i:"));
        assert_eq!(next_phase(&phases, 1, None), None);
    }
}
