//! What connectors of SaaS apps' admin APIs share (Zendesk, HubSpot, Calendly, Meta, TikTok,
//! Atlassian, Asana, Pinterest, App Store Connect, Box, Freshdesk, Trello, GitLab…): the
//! declaration of an app signed in with an API token ([`token_app`]), a hub's settings with
//! public addresses only by default, the vendor's default API address ([`endpoint_or`]), its
//! organization id and own settings, the account's own member id there ([`Scope`]), the
//! automation account's token, a Bearer endpoint with it and an API key sent as a Basic user
//! name ([`key_as_user`]), the message of a vendor's JSON error body (at its top or in a list of
//! errors), the cursor of the next page read from a JSON answer, and cursors over listings read
//! one after another ([`phase`]).
//!
//! A SaaS connector is built with [`connector`]: its client refuses loopback and private
//! addresses unless the hub's `allow_private` says `yes` (a stand-in, or a vendor's on-premises
//! proxy), so a hub's base URL cannot be pointed at the company's own network by mistake.

use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{
    allow_private, requests_per_second, SettingField, ALLOW_PRIVATE_NO, ALLOW_PRIVATE_YES,
};
use castellan_core::connector::{
    AppMember, AppSession, ConnectorContext, ConnectorError, ConnectorInfo, SettingKind, SignIn,
};
use secrecy::SecretString;
use serde_json::{json, Value};

use super::builder::{App, AppConnector};
use super::errors::gone;
use super::http::{Endpoint, HttpClient, Reply, Request};
use super::rest::status_error;
use super::{AddressPolicy, Auth};

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
    let private = allow_private()
        .help(&format!(
            "{ALLOW_PRIVATE_NO} (default): public addresses only, as the vendor's API is; \
             {ALLOW_PRIVATE_YES}: a loopback or private address (a stand-in or a proxy). \
             Link-local and cloud metadata addresses are refused either way"
        ))
        .default_value(ALLOW_PRIVATE_NO);
    let mut all = vec![base_url];
    all.extend(own);
    all.extend([requests_per_second(), private]);
    all
}

/// What a SaaS app whose automation account signs in with an API token declares: the
/// connector's `name`, its `roles` (most privileged first) and `default` role, its
/// `capabilities`, and the hub's [`settings`] of `base_url` and the connector's `own` fields
/// (e.g. the organization id and the token).
pub fn token_app(
    name: &str,
    roles: &[&str],
    default: &str,
    capabilities: Vec<Capability>,
    base_url: SettingField,
    own: impl IntoIterator<Item = SettingField>,
) -> ConnectorInfo {
    ConnectorInfo {
        name: name.to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        capabilities,
        default_role: default.to_owned(),
        sign_in: SignIn::ApiToken,
        settings: settings(base_url, own),
    }
}

/// The hub's own setting `key` (trimmed), one the connector declares as required.
///
/// Errors: `Configuration` ("the hub has no <what> (its `<key>` setting)") when it is missing
/// or blank.
pub fn setting(ctx: &ConnectorContext, key: &str, what: &str) -> Result<String, ConnectorError> {
    match ctx.settings.get(key).map(|v| v.trim()) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(ConnectorError::Configuration(format!(
            "the hub has no {what} (its `{key}` setting)"
        ))),
    }
}

/// The hub's organization id (trimmed, without surrounding slashes: a group's path may be
/// pasted with one): the business, account, group or workspace the connector
/// manages, `what` in the vendor's words (e.g. "business id").
///
/// Errors: `Configuration` ("the hub has no <what> (its organization id)") when it has none.
pub fn organization(ctx: &ConnectorContext, what: &str) -> Result<String, ConnectorError> {
    let id = ctx
        .organization_id
        .as_deref()
        .map(|o| o.trim().trim_matches('/'));
    match id.filter(|o| !o.is_empty()) {
        Some(o) => Ok(o.to_owned()),
        None => Err(ConnectorError::Configuration(format!(
            "the hub has no {what} (its organization id)"
        ))),
    }
}

/// The hub's endpoint ([`HttpClient::endpoint_for`]) sending `token` as `Authorization:
/// Bearer` (RFC 6750 §2.1).
///
/// Errors: `Configuration` for a base URL the hub's address policy refuses.
pub fn bearer<'a>(
    http: &'a HttpClient,
    ctx: &ConnectorContext,
    token: &SecretString,
) -> Result<Endpoint<'a>, ConnectorError> {
    Ok(http
        .endpoint_for(ctx)?
        .with_auth(Auth::Bearer(token.clone())))
}

/// The hub setting choosing how the token is sent, for vendors that take an API token or an
/// OAuth access token alike (Zendesk, Pipedrive): [`AUTH_API_TOKEN`] (default) or
/// [`AUTH_OAUTH`].
pub const AUTH_WITH: &str = "auth_with";
/// [`AUTH_WITH`]: the vendor's API token, sent as the vendor documents it (HTTP Basic, a header).
pub const AUTH_API_TOKEN: &str = "api_token";
/// [`AUTH_WITH`]: an OAuth access token, sent as `Authorization: Bearer` (RFC 6750 §2.1).
pub const AUTH_OAUTH: &str = "oauth";

/// The [`AUTH_WITH`] setting (optional; a choice of [`AUTH_API_TOKEN`] and [`AUTH_OAUTH`]) with
/// the vendor's `help`.
pub fn auth_with(help: &str) -> SettingField {
    let choice = SettingKind::Choice(vec![AUTH_API_TOKEN.into(), AUTH_OAUTH.into()]);
    SettingField::new(AUTH_WITH, "Sign in with", choice, false).help(help)
}

/// Whether the hub's [`AUTH_WITH`] says [`AUTH_OAUTH`] (any case): the token is an OAuth access
/// token, sent as Bearer.
pub fn uses_oauth(ctx: &ConnectorContext) -> bool {
    ctx.setting(AUTH_WITH)
        .is_some_and(|a| a.trim().eq_ignore_ascii_case(AUTH_OAUTH))
}

/// The token the automation account signs in with: its `api_token`, else its password (an
/// account item that keeps the token as its password).
pub fn token(ctx: &ConnectorContext) -> SecretString {
    ctx.api_token.as_ref().unwrap_or(&ctx.password).clone()
}

/// What the session of a connector that manages one organization keeps beside its token: the
/// organization (a business, a Business Center: the hub's organization id, [`organization`]) and
/// the automation account's own member id there, learnt at sign-in (empty where the account is
/// no member, as Meta's system users), for the guard around the automation account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The organization's id.
    pub org: String,
    /// The automation account's member id, or empty.
    pub me: String,
}

impl Scope {
    /// The session of `token` in this scope (`data`: `{"org", "me"}`, no secret).
    pub fn session(&self, token: SecretString) -> AppSession {
        let data = json!({ "org": self.org, "me": self.me });
        AppSession { token, data }
    }

    /// The scope a session keeps ([`Scope::session`]); empty fields where it keeps none.
    pub fn of(s: &AppSession) -> Self {
        let text = |k: &str| s.data[k].as_str().unwrap_or_default().to_owned();
        Self {
            org: text("org"),
            me: text("me"),
        }
    }

    /// Whether `m` is the automation account (never when its member id is unknown).
    pub fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }
}

/// HTTP Basic (RFC 7617) with an API key as the user name and `password` (Freshdesk's key and
/// `X`): the whole `Authorization` value is one secret header, so neither the key nor the header
/// shows in `Debug` output or logs ([`Auth::Basic`] keeps its user name in the clear).
pub fn key_as_user(key: &SecretString, password: &str) -> Auth {
    use secrecy::ExposeSecret;
    let pair = format!("{}:{password}", key.expose_secret());
    let value = format!("Basic {}", data_encoding::BASE64.encode(pair.as_bytes()));
    Auth::Header("authorization", SecretString::from(value))
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
    says_at(r, "", fields)
}

/// The message of a vendor's JSON error body whose details sit in an object at `pointer`
/// (RFC 6901), e.g. the first of a list of errors (`/errors/0`: Atlassian's `{"errors":
/// [{"code", "title", "detail"}]}`, Asana's `{"errors": [{"message", "help"}]}`, JSON:API's,
/// Meta's `/error`; `""` is the whole body): the non-empty strings among its `fields`, in that
/// order, joined with `: `, a field holding an object read for its own `title` and `message`.
/// Empty when there is none.
pub fn says_at(r: &Reply, pointer: &str, fields: &[&str]) -> String {
    let Some(at) = r.json.as_ref().and_then(|b| b.pointer(pointer)) else {
        return String::new();
    };
    let mut parts: Vec<&str> = Vec::new();
    for f in fields {
        match &at[*f] {
            Value::String(s) => parts.push(s),
            Value::Object(o) => parts.extend(
                ["title", "message"]
                    .iter()
                    .filter_map(|k| o.get(*k).and_then(Value::as_str)),
            ),
            _ => {}
        }
    }
    let parts: Vec<&str> = parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
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
    gone(sent(req.idempotent(), map).await)
}

/// Sends a write whose answer holds nothing the connector reads (a `204`, or a message such as
/// Atlassian's `{"message": "…"}`) and reads its status: any success is done, else `map`'s
/// error (the connector's one table).
///
/// Errors: transport failures; `map`'s error.
pub async fn sent(
    req: Request<'_>,
    map: impl FnOnce(&Reply) -> ConnectorError,
) -> Result<(), ConnectorError> {
    let r = req.send().await?;
    match r.status.is_success() {
        true => Ok(()),
        false => Err(map(&r)),
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
    use serde_json::json;

    #[test]
    fn settings_tokens_messages_and_cursors() {
        let url_field = || SettingField::new(BASE_URL, "URL", SettingKind::Url, true);
        let keys: Vec<String> = settings(url_field(), [])
            .into_iter()
            .map(|f| f.key)
            .collect();
        assert_eq!(keys, [BASE_URL, REQUESTS_PER_SECOND, ALLOW_PRIVATE]);
        let mut ctx = ConnectorContext::new("http://h", "u", SecretString::from("pw".to_owned()));
        use secrecy::ExposeSecret;
        assert_eq!(token(&ctx).expose_secret(), "pw");
        ctx.api_token = Some(SecretString::from("tok".to_owned()));
        assert_eq!(token(&ctx).expose_secret(), "tok");
        assert!(matches!(
            organization(&ctx, "workspace"),
            Err(ConnectorError::Configuration(m)) if m == "the hub has no workspace (its organization id)"
        ));
        assert!(matches!(
            setting(&ctx, "key_id", "key id"),
            Err(ConnectorError::Configuration(m)) if m.contains("`key_id`")
        ));
        ctx.settings.insert("key_id".into(), " K1 ".into());
        assert_eq!(setting(&ctx, "key_id", "key id").unwrap(), "K1");
        ctx.organization_id = Some(" 42 ".into());
        assert_eq!(organization(&ctx, "workspace").unwrap(), "42");
        let info = token_app("app", &["admin", "user"], "user", vec![], url_field(), []);
        assert_eq!(
            (info.roles.join(" "), info.sign_in),
            ("admin user".into(), SignIn::ApiToken)
        );
        let scope = Scope {
            org: "42".into(),
            me: "7".into(),
        };
        let s = scope.session(SecretString::from("s3cr3t-value".to_owned()));
        assert!(!format!("{s:?}").contains("s3cr3t"), "{s:?}");
        assert_eq!(Scope::of(&s), scope);
        let m = |id: &str| crate::sdk::members::member(id, None, None, vec![], false);
        assert!(scope.is_me(&m("7")) && !scope.is_me(&m("8")));
        assert!(!Scope::default().is_me(&m("")));
        let auth = key_as_user(&token(&ctx), "X");
        assert!(!format!("{auth:?}").contains("tok"));
        match auth {
            Auth::Header(name, v) => assert_eq!(
                (name, v.expose_secret()),
                ("authorization", "Basic dG9rOlg=")
            ),
            other => panic!("{other:?}"),
        }
        assert!(!uses_oauth(&ctx));
        ctx.settings.insert(AUTH_WITH.into(), " OAuth ".into());
        assert!(uses_oauth(&ctx));
        assert_eq!(auth_with("h").key, AUTH_WITH);

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
        let r = Reply::new(409, r#"{"errors":[{"title":"T","detail":"D"}]}"#, None, "h");
        assert_eq!(says_at(&r, "/errors/0", &["title", "detail"]), "T: D");
        assert_eq!(says_at(&r, "/errors/1", &["title"]), "");
        assert_eq!(says(&Reply::new(500, "<html>", None, "h"), &["error"]), "");
        let r = Reply::new(
            403,
            r#"{"errors":[{"code":"ADMIN-403-3","title":" ","detail":"No"}]}"#,
            None,
            "h",
        );
        assert_eq!(
            says_at(&r, "/errors/0", &["code", "title", "detail"]),
            "ADMIN-403-3: No"
        );
        assert_eq!(says_at(&r, "/errors/1", &["code"]), "");
        let r = Reply::new(400, "<p>", None, "h");
        assert_eq!(says_at(&r, "/errors/0", &["message"]), "");
        let e = refused(&Reply::new(403, "{}", None, "h"), "App", "list", "");
        assert!(matches!(e, ConnectorError::InsufficientPermission(m) if m.contains("HTTP 403")));

        ctx.organization_id = None;
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
