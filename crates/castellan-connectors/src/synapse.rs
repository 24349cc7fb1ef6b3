//! Matrix Synapse, driven through its Admin API with a server-admin automation account.
//!
//! App roles are Synapse's server-admin flag: `admin` and `user`. Removal deactivates the account
//! (Synapse cannot delete users). Room membership and power levels are not managed (yet).
//!
//! APIs used:
//! - Log in with a password (client-server API):
//!   <https://spec.matrix.org/v1.15/client-server-api/#post_matrixclientv3login>
//! - Admin API authentication (a server admin's access token):
//!   <https://element-hq.github.io/synapse/latest/usage/administration/admin_api/index.html>
//! - User Admin API (list accounts v2, query account v2, create or modify account v2,
//!   deactivate account, change whether a user is a server administrator, find a user based on
//!   their third-party ID): <https://element-hq.github.io/synapse/latest/admin_api/user_admin_api.html>
//!
//! Listing pages through `GET /_synapse/admin/v2/users` ordered by user id (`order_by=name`,
//! ties broken by user id), `deactivated=true` (include deactivated users; without it they are
//! left out), `locked=true` (include locked users), `guests=false`. Synapse pages by offset; the
//! cursor carries the offset and the last user id seen, and the next request starts one row
//! earlier so that users created meanwhile before the cursor shift the window without repeating
//! anybody. The list has no email addresses, so each member's details (`threepids`) are read too,
//! eight requests at a time.

use std::time::Duration;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo, Invitation,
    MemberPage, MemberState,
};
use futures::stream::{self, StreamExt, TryStreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::distributions::{Alphanumeric, DistString};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tracing::{debug, instrument, warn};

/// The connector's name in the catalog.
pub const NAME: &str = "synapse";

const ROLE_ADMIN: &str = "admin";
const ROLE_USER: &str = "user";
/// Members per page (Synapse's own default).
const PAGE_SIZE: usize = 100;
/// Concurrent detail requests while listing.
const DETAIL_CONCURRENCY: usize = 8;
/// One device for every login of the automation account, so logins do not pile up devices.
const DEVICE_ID: &str = "CASTELLAN_BOT";
const DEVICE_NAME: &str = "Castellan bot";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Length of the random password given to created (or reactivated) accounts.
const PASSWORD_LEN: usize = 32;

/// Characters escaped in a path segment: all but unreserved ones (so `@`, `:` and `+` are too).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The Synapse connector. Cheap to clone; share one per process (it pools connections).
#[derive(Debug, Clone)]
pub struct SynapseConnector {
    http: reqwest::Client,
}

impl Default for SynapseConnector {
    fn default() -> Self {
        Self::new()
    }
}

impl SynapseConnector {
    /// A connector with its own HTTP client (no redirects followed, so a token never leaves
    /// the configured base URL).
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("castellan/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        Self { http }
    }

    /// A connector over a given HTTP client.
    pub fn with_client(http: reqwest::Client) -> Self {
        Self { http }
    }

    fn api<'a>(
        &'a self,
        ctx: &ConnectorContext,
        token: Option<&'a SecretString>,
    ) -> Result<Api<'a>, ConnectorError> {
        Ok(Api {
            http: &self.http,
            base: base_url(&ctx.base_url)?,
            token,
            timeout: if ctx.timeout.is_zero() {
                DEFAULT_TIMEOUT
            } else {
                ctx.timeout
            },
        })
    }

    fn admin_api<'a>(
        &'a self,
        ctx: &ConnectorContext,
        s: &'a AppSession,
    ) -> Result<Api<'a>, ConnectorError> {
        self.api(ctx, Some(&s.token))
    }

    /// Full details of one user, `None` when Synapse does not know them.
    async fn user(
        &self,
        api: &Api<'_>,
        user_id: &str,
    ) -> Result<Option<SynapseUser>, ConnectorError> {
        let reply = api
            .send(
                Method::GET,
                &format!("/_synapse/admin/v2/users/{}", seg(user_id)),
                &[],
                None,
            )
            .await?;
        match reply.status {
            StatusCode::NOT_FOUND if reply.errcode() == Some("M_NOT_FOUND") => Ok(None),
            // A malformed or foreign user id (“Can only look up local users”): nobody here.
            StatusCode::BAD_REQUEST if reply.errcode().is_some() => Ok(None),
            _ => {
                let body = reply.ok(Call::Admin, "read a user")?;
                SynapseUser::from_json(&body)
                    .map(Some)
                    .ok_or_else(|| unexpected("read a user"))
            }
        }
    }

    /// Creates or modifies a user (`PUT /_synapse/admin/v2/users/<user_id>`, an upsert).
    async fn put_user(
        &self,
        api: &Api<'_>,
        user_id: &str,
        body: Value,
        what: &str,
    ) -> Result<SynapseUser, ConnectorError> {
        let reply = api
            .send(
                Method::PUT,
                &format!("/_synapse/admin/v2/users/{}", seg(user_id)),
                &[],
                Some(&body),
            )
            .await?;
        let body = reply.ok(Call::Admin, what)?;
        SynapseUser::from_json(&body).ok_or_else(|| unexpected(what))
    }
}

#[async_trait]
impl Connector for SynapseConnector {
    fn describe(&self) -> ConnectorInfo {
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: vec![ROLE_ADMIN.to_owned(), ROLE_USER.to_owned()],
            capabilities: vec![
                Capability::ListMembers,
                Capability::Invite,
                Capability::UpdateRole,
                Capability::Remove,
            ],
            default_role: ROLE_USER.to_owned(),
        }
    }

    #[instrument(skip_all, fields(connector = NAME, username = %ctx.username))]
    async fn login(&self, ctx: &ConnectorContext) -> Result<AppSession, ConnectorError> {
        let api = self.api(ctx, None)?;
        let user = ctx.username.trim();
        if user.is_empty() {
            return Err(ConnectorError::Configuration(
                "the automation account has no username".into(),
            ));
        }
        let body = json!({
            "type": "m.login.password",
            "identifier": { "type": "m.id.user", "user": user },
            "password": ctx.password.expose_secret(),
            "device_id": DEVICE_ID,
            "initial_device_display_name": DEVICE_NAME,
        });
        let reply = api
            .send(Method::POST, "/_matrix/client/v3/login", &[], Some(&body))
            .await?;
        let body = reply.ok(Call::Login, "log in")?;
        let (Some(token), Some(user_id)) = (
            body.get("access_token").and_then(Value::as_str),
            body.get("user_id").and_then(Value::as_str),
        ) else {
            return Err(ConnectorError::Configuration(format!(
                "{} answered the login without an access token: not a Matrix homeserver",
                api.base
            )));
        };
        let Some((_, server_name)) = user_id.split_once(':') else {
            return Err(unexpected("log in"));
        };
        debug!(user_id, "signed in to Synapse");
        Ok(AppSession {
            token: SecretString::from(token.to_owned()),
            data: json!({
                "server_name": server_name,
                "user_id": user_id,
                "device_id": body.get("device_id").and_then(Value::as_str).unwrap_or(DEVICE_ID),
            }),
        })
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn verify_permissions(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> Result<(), ConnectorError> {
        let api = self.admin_api(ctx, s)?;
        let reply = api
            .send(
                Method::GET,
                "/_synapse/admin/v2/users",
                &[("limit", "1".into()), ("guests", "false".into())],
                None,
            )
            .await?;
        reply.ok(Call::Admin, "list users").map(drop)
    }

    #[instrument(skip_all, fields(connector = NAME, cursor = cursor.as_deref().unwrap_or("")))]
    async fn list_members(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        cursor: Option<String>,
    ) -> Result<MemberPage, ConnectorError> {
        let api = self.admin_api(ctx, s)?;
        let cursor = cursor.as_deref().map(Cursor::parse).transpose()?;
        // With a cursor, re-read the last member of the previous page (the anchor) as well.
        let (start, limit) = match &cursor {
            Some(c) => (c.offset - 1, PAGE_SIZE + 1),
            None => (0, PAGE_SIZE),
        };
        let query = [
            ("from", start.to_string()),
            ("limit", limit.to_string()),
            ("guests", "false".to_owned()),
            ("deactivated", "true".to_owned()),
            ("locked", "true".to_owned()),
            ("order_by", "name".to_owned()),
            ("dir", "f".to_owned()),
        ];
        let body = api
            .send(Method::GET, "/_synapse/admin/v2/users", &query, None)
            .await?
            .ok(Call::Admin, "list users")?;
        let Some(rows) = body.get("users").and_then(Value::as_array) else {
            return Err(unexpected("list users"));
        };
        let names: Vec<&str> = rows
            .iter()
            .map(|u| {
                u.get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unexpected("list users"))
            })
            .collect::<Result<_, _>>()?;
        let skip = match &cursor {
            None => 0,
            Some(c) => match names.iter().position(|n| *n == c.anchor) {
                Some(i) => i + 1,
                None => {
                    // The anchor moved more than a page (or vanished): fall back to the offset.
                    warn!(anchor = %c.anchor, "the previous page's last member is not where expected");
                    1.min(rows.len())
                }
            },
        };
        let next = match (body.get("next_token").is_some(), names.last()) {
            (true, Some(last)) => Some(
                Cursor {
                    offset: start + rows.len(),
                    anchor: (*last).to_owned(),
                }
                .encode(),
            ),
            (true, None) => return Err(unexpected("list users")),
            (false, _) => None,
        };

        let listed = rows[skip..]
            .iter()
            .map(|row| SynapseUser::from_json(row).ok_or_else(|| unexpected("list users")))
            .collect::<Result<Vec<_>, _>>()?;
        let members = stream::iter(listed)
            .map(|u| self.with_details(&api, u))
            .buffered(DETAIL_CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
        debug!(
            count = members.len(),
            more = next.is_some(),
            "listed a page of Synapse users"
        );
        Ok(MemberPage { members, next })
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id))]
    async fn get_member(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        let api = self.admin_api(ctx, s)?;
        let id = qualify(app_member_id, server_name(s)?);
        Ok(self.user(&api, &id).await?.map(|u| u.member))
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn find_by_email(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        email: &str,
    ) -> Result<Option<AppMember>, ConnectorError> {
        let api = self.admin_api(ctx, s)?;
        Ok(self.user_by_email(&api, email).await?.map(|u| u.member))
    }

    #[instrument(skip_all, fields(connector = NAME, role = %inv.role))]
    async fn invite(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        inv: &Invitation,
    ) -> Result<AppMember, ConnectorError> {
        let admin = role_is_admin(&inv.role)?;
        let email = normalize_email(&inv.email)?;
        let server = server_name(s)?;
        let api = self.admin_api(ctx, s)?;

        // Whoever already holds the address is the invitee: invite is idempotent by email.
        if let Some(existing) = self.user_by_email(&api, &email).await? {
            if !existing.deactivated {
                debug!(member = %existing.member.app_member_id, "already a member with this email");
                return Ok(existing.member);
            }
            let id = existing.member.app_member_id.clone();
            return self.reactivate(&api, &id, &email, inv, admin).await;
        }

        let named = match &inv.username {
            Some(u) if !u.trim().is_empty() => {
                let u = u.trim();
                Some(
                    match u.strip_prefix('@').and_then(|rest| rest.split_once(':')) {
                        Some((local, srv)) if srv == server => {
                            format!("@{}:{server}", derive_localpart(local)?)
                        }
                        Some(_) => {
                            return Err(ConnectorError::Configuration(format!(
                                "{u} is not a user of this homeserver ({server})"
                            )))
                        }
                        None => format!("@{}:{server}", derive_localpart(u)?),
                    },
                )
            }
            _ => None,
        };
        if let Some(user_id) = named {
            // A username the caller chose: that account, reactivated when it was deactivated
            // (the engine names a person's own former member).
            return match self.user(&api, &user_id).await? {
                None => self.create_user(&api, &user_id, &email, inv, admin).await,
                Some(u) if u.deactivated => {
                    self.reactivate(&api, &user_id, &email, inv, admin).await
                }
                Some(u) if u.emails.contains(&email) => Ok(u.member),
                Some(_) => Err(ConnectorError::Conflict(format!(
                    "the user id {user_id} is taken by an account with another email address"
                ))),
            };
        }
        // A username derived from the email never revives someone else's account: Synapse drops
        // a deactivated user's addresses, so a departed `ana@` and a new `ana@` look alike. The
        // first free id among `ana`, `ana-2`, … `ana-20` is taken instead.
        let base = derive_localpart(email_local_part(&email))?;
        for n in 1..=MAX_LOCALPART_TRIES {
            let user_id = match n {
                1 => format!("@{base}:{server}"),
                n => format!("@{base}-{n}:{server}"),
            };
            match self.user(&api, &user_id).await? {
                None => return self.create_user(&api, &user_id, &email, inv, admin).await,
                Some(u) if !u.deactivated && u.emails.contains(&email) => return Ok(u.member),
                Some(_) => {}
            }
        }
        Err(ConnectorError::Conflict(format!(
            "the user ids @{base}:{server} to @{base}-{MAX_LOCALPART_TRIES}:{server} are all taken by other accounts"
        )))
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id, role = %role))]
    async fn update_role(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
        role: &str,
    ) -> Result<AppMember, ConnectorError> {
        let admin = role_is_admin(role)?;
        let api = self.admin_api(ctx, s)?;
        let id = qualify(app_member_id, server_name(s)?);
        let current = self
            .user(&api, &id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no Synapse user {id}")))?;
        if current.admin == admin {
            return Ok(current.member);
        }
        if !admin && session_user(s) == Some(id.as_str()) {
            return Err(ConnectorError::Conflict(
                "the automation account cannot take away its own server admin role".into(),
            ));
        }
        api.send(
            Method::PUT,
            &format!("/_synapse/admin/v1/users/{}/admin", seg(&id)),
            &[],
            Some(&json!({ "admin": admin })),
        )
        .await?
        .ok(Call::Admin, "set the server admin flag")?;
        self.user(&api, &id)
            .await?
            .map(|u| u.member)
            .ok_or_else(|| ConnectorError::NotFound(format!("no Synapse user {id}")))
    }

    #[instrument(skip_all, fields(connector = NAME, member = %app_member_id))]
    async fn remove(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
        app_member_id: &str,
    ) -> Result<(), ConnectorError> {
        let api = self.admin_api(ctx, s)?;
        let id = qualify(app_member_id, server_name(s)?);
        if session_user(s) == Some(id.as_str()) {
            return Err(ConnectorError::Conflict(
                "the automation account cannot deactivate itself".into(),
            ));
        }
        let reply = api
            .send(
                Method::POST,
                &format!("/_synapse/admin/v1/deactivate/{}", seg(&id)),
                &[],
                Some(&json!({ "erase": false })),
            )
            .await?;
        if reply.status == StatusCode::BAD_REQUEST && reply.message().contains("local users") {
            return Err(ConnectorError::NotFound(format!(
                "{id} is not a user of this homeserver"
            )));
        }
        reply.ok(Call::Admin, "deactivate a user")?;
        debug!(member = %id, "deactivated a Synapse user");
        Ok(())
    }
}

impl SynapseConnector {
    /// A listed member completed with their details (the list has no email addresses); a user
    /// gone meanwhile keeps the listed values.
    async fn with_details(
        &self,
        api: &Api<'_>,
        listed: SynapseUser,
    ) -> Result<AppMember, ConnectorError> {
        Ok(match self.user(api, &listed.member.app_member_id).await? {
            Some(full) => full.member,
            None => listed.member,
        })
    }

    async fn user_by_email(
        &self,
        api: &Api<'_>,
        email: &str,
    ) -> Result<Option<SynapseUser>, ConnectorError> {
        // Synapse stores email addresses lowercased (its canonical form).
        let email = email.trim().to_lowercase();
        if email.is_empty() {
            return Ok(None);
        }
        let reply = api
            .send(
                Method::GET,
                &format!("/_synapse/admin/v1/threepid/email/users/{}", seg(&email)),
                &[],
                None,
            )
            .await?;
        if reply.status == StatusCode::NOT_FOUND && reply.errcode() == Some("M_NOT_FOUND") {
            return Ok(None);
        }
        let body = reply.ok(Call::Admin, "find a user by email")?;
        let Some(user_id) = body.get("user_id").and_then(Value::as_str) else {
            return Err(unexpected("find a user by email"));
        };
        self.user(api, user_id).await
    }

    /// Creates a user (`PUT /_synapse/admin/v2/users/<user_id>`) with a random password, the
    /// invitation's role, email and name.
    async fn create_user(
        &self,
        api: &Api<'_>,
        user_id: &str,
        email: &str,
        inv: &Invitation,
        admin: bool,
    ) -> Result<AppMember, ConnectorError> {
        let mut body = user_body(email, inv, admin);
        body["logout_devices"] = json!(false);
        let created = self.put_user(api, user_id, body, "create a user").await?;
        debug!(member = %user_id, "created a Synapse user");
        Ok(created.member)
    }

    /// Reactivates a deactivated account with a new random password (Synapse asks for one when
    /// password login is on), the invitation's role and email.
    async fn reactivate(
        &self,
        api: &Api<'_>,
        user_id: &str,
        email: &str,
        inv: &Invitation,
        admin: bool,
    ) -> Result<AppMember, ConnectorError> {
        let mut body = user_body(email, inv, admin);
        body["deactivated"] = json!(false);
        let user = self
            .put_user(api, user_id, body, "reactivate a user")
            .await?;
        debug!(member = %user_id, "reactivated a Synapse user");
        Ok(user.member)
    }
}

/// What a call was, for mapping its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// The password login: 401/403 mean the credentials were refused.
    Login,
    /// An Admin API call with the session's token: 403 means the account is no server admin.
    Admin,
}

/// The HTTP side of one connector call.
struct Api<'a> {
    http: &'a reqwest::Client,
    base: String,
    token: Option<&'a SecretString>,
    timeout: Duration,
}

impl Api<'_> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Reply, ConnectorError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).timeout(self.timeout);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(token) = self.token {
            req = req.bearer_auth(token.expose_secret());
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(&self.base, &e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(&self.base, &e))?;
        Ok(Reply {
            status,
            body: serde_json::from_slice(&bytes).ok(),
            retry_after,
            location,
            base: self.base.clone(),
        })
    }
}

/// One HTTP answer, its body parsed when it is JSON.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: Option<Value>,
    retry_after: Option<Duration>,
    location: Option<String>,
    base: String,
}

impl Reply {
    fn errcode(&self) -> Option<&str> {
        self.body.as_ref()?.get("errcode")?.as_str()
    }

    fn message(&self) -> &str {
        self.body
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The JSON body of a success, or the typed error.
    fn ok(self, call: Call, what: &str) -> Result<Value, ConnectorError> {
        if self.status.is_success() {
            return self.body.ok_or_else(|| {
                ConnectorError::Configuration(format!(
                    "{} answered '{what}' without JSON: not a Synapse homeserver",
                    self.base
                ))
            });
        }
        Err(map_error(&self, call, what))
    }
}

/// The one table from Synapse's HTTP answers to connector errors.
fn map_error(r: &Reply, call: Call, what: &str) -> ConnectorError {
    use ConnectorError as E;
    let status = r.status;
    let code = r.errcode();
    let msg = r.message();
    let detail = match code {
        Some(c) => format!("{what}: {c}: {msg}"),
        None => format!("{what}: HTTP {status}"),
    };
    if status == StatusCode::TOO_MANY_REQUESTS || code == Some("M_LIMIT_EXCEEDED") {
        let from_body = r
            .body
            .as_ref()
            .and_then(|b| b.get("retry_after_ms"))
            .and_then(Value::as_u64)
            .map(Duration::from_millis);
        return E::RateLimited {
            retry_after: from_body.or(r.retry_after),
        };
    }
    if status.is_server_error() {
        return E::Unavailable(format!("{} failed to {detail}", r.base));
    }
    if status.is_redirection() {
        return E::Configuration(format!(
            "{} redirects to {}: set the base URL to the homeserver's client API address",
            r.base,
            r.location.as_deref().unwrap_or("another address")
        ));
    }
    // Anything without a Matrix error body is not a Synapse talking.
    let Some(code) = code else {
        return E::Configuration(format!(
            "{} answered '{what}' with HTTP {status} and no Matrix error: not a Synapse homeserver",
            r.base
        ));
    };
    if code == "M_UNRECOGNIZED" || status == StatusCode::METHOD_NOT_ALLOWED {
        return E::Configuration(match call {
            Call::Login => format!("{} does not offer the Matrix login API", r.base),
            Call::Admin => format!(
                "{} does not offer the Synapse Admin API (not a Synapse, or a proxy hides /_synapse/admin)",
                r.base
            ),
        });
    }
    match (call, status) {
        (Call::Login, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            E::BadCredentials(match code {
                "M_USER_DEACTIVATED" => "the account is deactivated".to_owned(),
                "M_USER_LOCKED" => "the account is locked".to_owned(),
                "M_FORBIDDEN" => "wrong username or password".to_owned(),
                _ => detail,
            })
        }
        (Call::Login, StatusCode::BAD_REQUEST) => E::Configuration(format!(
            "the homeserver refused a password login ({code}: {msg}); is password login enabled?"
        )),
        (Call::Admin, StatusCode::UNAUTHORIZED) => E::BadCredentials(format!(
            "the access token was refused ({code}); sign in again"
        )),
        (Call::Admin, StatusCode::FORBIDDEN) if msg.contains("not a server admin") => {
            E::InsufficientPermission("the account is not a Synapse server admin".into())
        }
        (Call::Admin, StatusCode::FORBIDDEN) => E::InsufficientPermission(detail),
        (_, StatusCode::NOT_FOUND) => E::NotFound(detail),
        (_, StatusCode::CONFLICT) => E::Conflict(detail),
        (_, StatusCode::BAD_REQUEST)
            if matches!(code, "M_USER_IN_USE" | "M_THREEPID_IN_USE" | "M_EXCLUSIVE") =>
        {
            E::Conflict(detail)
        }
        (_, StatusCode::BAD_REQUEST) => E::Configuration(format!("Synapse refused to {detail}")),
        _ => E::Unavailable(format!("{} failed to {detail}", r.base)),
    }
}

fn transport_error(base: &str, e: &reqwest::Error) -> ConnectorError {
    if e.is_builder() {
        ConnectorError::Configuration(format!("cannot build a request to {base}: {e}"))
    } else if e.is_timeout() {
        ConnectorError::Unavailable(format!("{base} did not answer in time"))
    } else if e.is_connect() {
        ConnectorError::Unavailable(format!("cannot connect to {base}"))
    } else {
        ConnectorError::Unavailable(format!("request to {base} failed: {e}"))
    }
}

fn unexpected(what: &str) -> ConnectorError {
    ConnectorError::Unavailable(format!("Synapse answered '{what}' with an unexpected body"))
}

/// Checks the hub's base URL: http(s), a host, no credentials, no query. Returns it without a
/// trailing slash (a path prefix is kept, for homeservers behind a reverse proxy).
fn base_url(raw: &str) -> Result<String, ConnectorError> {
    let raw = raw.trim();
    let url = url::Url::parse(raw).map_err(|e| {
        ConnectorError::Configuration(format!("the base URL is not a valid URL: {e}"))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConnectorError::Configuration(
            "the base URL must not contain credentials".into(),
        ));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConnectorError::Configuration(format!(
            "the base URL {url} is not an http(s) URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConnectorError::Configuration(format!(
            "the base URL {url} must not have a query"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

fn server_name(s: &AppSession) -> Result<&str, ConnectorError> {
    s.data
        .get("server_name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ConnectorError::Configuration(
                "the session has no Synapse server name; log in again".into(),
            )
        })
}

fn session_user(s: &AppSession) -> Option<&str> {
    s.data.get("user_id").and_then(Value::as_str)
}

/// `ana` → `@ana:server`; a full user id is kept.
fn qualify(id: &str, server: &str) -> String {
    let id = id.trim();
    if id.starts_with('@') {
        id.to_owned()
    } else {
        format!("@{id}:{server}")
    }
}

fn role_is_admin(role: &str) -> Result<bool, ConnectorError> {
    match role.trim().to_ascii_lowercase().as_str() {
        ROLE_ADMIN => Ok(true),
        ROLE_USER => Ok(false),
        other => Err(ConnectorError::Configuration(format!(
            "Synapse has no role {other:?} (its roles: admin, user)"
        ))),
    }
}

fn normalize_email(email: &str) -> Result<String, ConnectorError> {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !email.contains(char::is_whitespace) =>
        {
            Ok(email)
        }
        _ => Err(ConnectorError::Configuration(format!(
            "{email:?} is not an email address"
        ))),
    }
}

fn email_local_part(email: &str) -> &str {
    email.rsplit_once('@').map_or(email, |(local, _)| local)
}

/// A Matrix localpart from a username or an email's local part: lowercase, `[a-z0-9._=-]` kept,
/// anything else replaced with `_`.
fn derive_localpart(raw: &str) -> Result<String, ConnectorError> {
    let local: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '_' | '=' | '-' => c,
            _ => '_',
        })
        .collect();
    if local.is_empty() {
        return Err(ConnectorError::Configuration(format!(
            "cannot derive a Matrix username from {raw:?}"
        )));
    }
    Ok(local)
}

/// The body of `PUT /_synapse/admin/v2/users/<user_id>` that (re)makes an invited member: a
/// random password, the server-admin flag of the role, the email and the display name.
fn user_body(email: &str, inv: &Invitation, admin: bool) -> Value {
    let mut body = json!({
        "password": random_password(),
        "admin": admin,
        "threepids": [{ "medium": "email", "address": email }],
    });
    if let Some(name) = inv.name.as_deref().filter(|n| !n.trim().is_empty()) {
        body["displayname"] = json!(name.trim());
    }
    body
}

/// How many user ids (`ana`, `ana-2`, …) an invitation tries before it gives up.
const MAX_LOCALPART_TRIES: u32 = 20;

/// A password nobody knows: the member signs in through SSO or resets it.
fn random_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), PASSWORD_LEN)
}

/// Opaque list cursor: `<offset>:<user id of the previous page's last member>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    offset: usize,
    anchor: String,
}

impl Cursor {
    fn parse(raw: &str) -> Result<Self, ConnectorError> {
        let bad = || ConnectorError::Configuration(format!("not a Synapse member cursor: {raw:?}"));
        let (offset, anchor) = raw.split_once(':').ok_or_else(bad)?;
        let offset: usize = offset.parse().map_err(|_| bad())?;
        if offset == 0 || !anchor.starts_with('@') {
            return Err(bad());
        }
        Ok(Self {
            offset,
            anchor: anchor.to_owned(),
        })
    }

    fn encode(&self) -> String {
        format!("{}:{}", self.offset, self.anchor)
    }
}

/// A user as Synapse reports it, with the fields the connector decides on.
#[derive(Debug, Clone)]
struct SynapseUser {
    member: AppMember,
    admin: bool,
    deactivated: bool,
    emails: Vec<String>,
}

impl SynapseUser {
    /// From a list row or a user's details (`threepids` only in details).
    fn from_json(v: &Value) -> Option<Self> {
        let id = v.get("name")?.as_str()?.to_owned();
        let admin = flag(v, "admin");
        let deactivated = flag(v, "deactivated");
        let emails: Vec<String> = v
            .get("threepids")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter(|t| t.get("medium").and_then(Value::as_str) == Some("email"))
                    .filter_map(|t| t.get("address").and_then(Value::as_str))
                    .map(|a| a.trim().to_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let state = if deactivated || flag(v, "locked") || flag(v, "suspended") {
            MemberState::Deactivated
        } else {
            MemberState::Active
        };
        let member = AppMember {
            app_member_id: id,
            email: emails.first().cloned(),
            name: v
                .get("displayname")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            roles: vec![if admin { ROLE_ADMIN } else { ROLE_USER }.to_owned()],
            state,
        };
        Some(Self {
            member,
            admin,
            deactivated,
            emails,
        })
    }
}

/// Synapse reports flags as booleans, older versions as 0/1.
fn flag(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: Value) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            body: Some(body),
            retry_after: None,
            location: None,
            base: "http://h".into(),
        }
    }

    #[test]
    fn localparts_are_derived_from_usernames_and_emails() {
        assert_eq!(derive_localpart("Ana.Lopez").unwrap(), "ana.lopez");
        assert_eq!(
            derive_localpart(email_local_part("j+o b@x.org")).unwrap(),
            "j_o_b"
        );
        assert_eq!(derive_localpart("zoë=1-2_3").unwrap(), "zo_=1-2_3");
        assert!(derive_localpart("  ").is_err());
    }

    #[test]
    fn user_ids_are_percent_encoded_in_paths() {
        assert_eq!(seg("@ana:example.org"), "%40ana%3Aexample.org");
        assert_eq!(seg("a+b@x.org"), "a%2Bb%40x.org");
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            offset: 100,
            anchor: "@a:b:8448".into(),
        };
        assert_eq!(Cursor::parse(&c.encode()).unwrap(), c);
        assert!(Cursor::parse("0:@a:b").is_err());
        assert!(Cursor::parse("x").is_err());
        assert!(Cursor::parse("5:a").is_err());
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            base_url("http://127.0.0.1:8008/").unwrap(),
            "http://127.0.0.1:8008"
        );
        assert_eq!(base_url("https://h/matrix/").unwrap(), "https://h/matrix");
        assert!(matches!(
            base_url("not a url"),
            Err(ConnectorError::Configuration(_))
        ));
        assert!(matches!(
            base_url("ftp://h"),
            Err(ConnectorError::Configuration(_))
        ));
        let err = base_url("https://u:secret@h").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn errors_map_to_the_contract() {
        let r = reply(
            429,
            json!({"errcode": "M_LIMIT_EXCEEDED", "error": "slow", "retry_after_ms": 1500}),
        );
        assert_eq!(
            map_error(&r, Call::Login, "log in"),
            ConnectorError::RateLimited {
                retry_after: Some(Duration::from_millis(1500))
            }
        );
        let r = reply(
            403,
            json!({"errcode": "M_FORBIDDEN", "error": "Invalid username or password"}),
        );
        assert!(matches!(
            map_error(&r, Call::Login, "log in"),
            ConnectorError::BadCredentials(_)
        ));
        let r = reply(
            403,
            json!({"errcode": "M_FORBIDDEN", "error": "You are not a server admin"}),
        );
        assert_eq!(
            map_error(&r, Call::Admin, "list users"),
            ConnectorError::InsufficientPermission(
                "the account is not a Synapse server admin".into()
            )
        );
        let r = reply(
            404,
            json!({"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}),
        );
        assert!(matches!(
            map_error(&r, Call::Admin, "x"),
            ConnectorError::Configuration(_)
        ));
        let r = reply(
            404,
            json!({"errcode": "M_NOT_FOUND", "error": "User not found"}),
        );
        assert!(matches!(
            map_error(&r, Call::Admin, "x"),
            ConnectorError::NotFound(_)
        ));
        let r = reply(502, json!({}));
        assert!(map_error(&r, Call::Admin, "x").is_retryable());
        let r = Reply {
            body: None,
            ..reply(404, json!(null))
        };
        assert!(matches!(
            map_error(&r, Call::Login, "log in"),
            ConnectorError::Configuration(_)
        ));
        let r = reply(400, json!({"errcode": "M_USER_IN_USE", "error": "taken"}));
        assert!(matches!(
            map_error(&r, Call::Admin, "x"),
            ConnectorError::Conflict(_)
        ));
    }

    #[test]
    fn members_are_read_from_details() {
        let u = SynapseUser::from_json(&json!({
            "name": "@ana:h", "admin": 1, "deactivated": false, "displayname": "Ana",
            "threepids": [{"medium": "msisdn", "address": "123"}, {"medium": "email", "address": "Ana@X.org"}]
        }))
        .unwrap();
        assert_eq!(u.member.email.as_deref(), Some("ana@x.org"));
        assert_eq!(u.member.roles, ["admin"]);
        assert_eq!(u.member.state, MemberState::Active);
        let u =
            SynapseUser::from_json(&json!({"name": "@b:h", "admin": false, "deactivated": true}))
                .unwrap();
        assert_eq!(
            (u.member.roles[0].as_str(), u.member.state),
            ("user", MemberState::Deactivated)
        );
    }

    #[test]
    fn roles_are_checked() {
        assert!(role_is_admin("admin").unwrap());
        assert!(!role_is_admin("User").unwrap());
        assert!(matches!(
            role_is_admin("owner"),
            Err(ConnectorError::Configuration(_))
        ));
    }
}
