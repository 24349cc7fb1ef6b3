//! Synapse's Admin API calls and the one table from its answers to connector errors.

use std::time::Duration;

use castellan_core::connector::{AppMember, ConnectorError};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tracing::debug;

use super::model::{user_body, SynapseUser};
use super::APP;
use crate::sdk::builder::Invitee;
use crate::sdk::errors::{common_error, unexpected};
use crate::sdk::http::segment;
use crate::sdk::members::ROLE_ADMIN;
use crate::sdk::{Endpoint, Reply};

/// How [`Admin::make_user`] makes an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Making {
    /// A new account.
    Create,
    /// A deactivated account, reactivated.
    Reactivate,
}

/// What a call was, for mapping its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    /// The password login: 401/403 mean the credentials were refused.
    Login,
    /// An Admin API call with the session's token: 403 means the account is no server admin.
    Admin,
}

/// The Admin API of one homeserver as a server admin, for one call: its users
/// (<https://element-hq.github.io/synapse/latest/admin_api/user_admin_api.html>) as
/// [`AppMember`]s.
#[derive(Debug)]
pub struct Admin<'a> {
    pub(super) ep: Endpoint<'a>,
    /// The homeserver's name (`example.org` in `@ana:example.org`).
    pub(super) server: String,
    /// The automation account's user id.
    pub(super) me: Option<String>,
}

impl Admin<'_> {
    /// Full details of one user, `None` when Synapse does not know them.
    pub(super) async fn user(&self, user_id: &str) -> Result<Option<SynapseUser>, ConnectorError> {
        let reply = self
            .ep
            .get(&format!("/_synapse/admin/v2/users/{}", segment(user_id)))
            .send()
            .await?;
        match reply.status {
            StatusCode::NOT_FOUND if reply.errcode() == Some("M_NOT_FOUND") => Ok(None),
            // A malformed or foreign user id (“Can only look up local users”): nobody here.
            StatusCode::BAD_REQUEST if reply.errcode().is_some() => Ok(None),
            _ => {
                let body = reply.ok(Call::Admin, "read a user")?;
                SynapseUser::from_json(&body)
                    .map(Some)
                    .ok_or_else(|| unexpected(APP, "read a user"))
            }
        }
    }

    /// Creates or modifies a user (`PUT /_synapse/admin/v2/users/<user_id>`, an upsert).
    pub(super) async fn put_user(
        &self,
        user_id: &str,
        body: Value,
        what: &str,
    ) -> Result<SynapseUser, ConnectorError> {
        let reply = self
            .ep
            .request(
                Method::PUT,
                &format!("/_synapse/admin/v2/users/{}", segment(user_id)),
            )
            .json(body)
            .idempotent()
            .send()
            .await?;
        let body = reply.ok(Call::Admin, what)?;
        SynapseUser::from_json(&body).ok_or_else(|| unexpected(APP, what))
    }

    /// A listed member completed with their details (the list has no email addresses); a user
    /// gone meanwhile keeps the listed values.
    pub(super) async fn with_details(
        &self,
        listed: SynapseUser,
    ) -> Result<AppMember, ConnectorError> {
        Ok(match self.user(&listed.member.app_member_id).await? {
            Some(full) => full.member,
            None => listed.member,
        })
    }

    /// The user holding `email`, found by its third-party id.
    pub(super) async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<SynapseUser>, ConnectorError> {
        // Synapse stores email addresses lowercased (its canonical form).
        let email = email.trim().to_lowercase();
        if email.is_empty() {
            return Ok(None);
        }
        let reply = self
            .ep
            .get(&format!(
                "/_synapse/admin/v1/threepid/email/users/{}",
                segment(&email)
            ))
            .send()
            .await?;
        if reply.status == StatusCode::NOT_FOUND && reply.errcode() == Some("M_NOT_FOUND") {
            return Ok(None);
        }
        let body = reply.ok(Call::Admin, "find a user by email")?;
        let Some(user_id) = body.get("user_id").and_then(Value::as_str) else {
            return Err(unexpected(APP, "find a user by email"));
        };
        self.user(user_id).await
    }

    /// Makes the account of the invitee `to` (`PUT /_synapse/admin/v2/users/<user_id>`) with
    /// a random password, the invitation's role, email and name: a new account, or a
    /// deactivated one reactivated (Synapse asks for a new password when password login is on).
    pub(super) async fn make_user(
        &self,
        user_id: &str,
        to: &Invitee<'_>,
        how: Making,
    ) -> Result<AppMember, ConnectorError> {
        let mut body = user_body(to.email, to.inv, to.role == ROLE_ADMIN);
        let what = match how {
            Making::Create => {
                body["logout_devices"] = json!(false);
                "create a user"
            }
            Making::Reactivate => {
                body["deactivated"] = json!(false);
                "reactivate a user"
            }
        };
        let user = self.put_user(user_id, body, what).await?;
        debug!(member = %user_id, "did {what} in Synapse");
        Ok(user.member)
    }
}

/// Matrix's rate-limit hint: `retry_after_ms` in an `M_LIMIT_EXCEEDED` body (client-server API,
/// "Rate limiting"); it wins over `Retry-After`.
pub(super) fn retry_hint(body: &Value) -> Option<Duration> {
    body.get("retry_after_ms")
        .and_then(Value::as_u64)
        .map(Duration::from_millis)
}

/// What Synapse's replies carry: a Matrix error body `{"errcode": …, "error": …}`.
pub(super) trait SynapseReply {
    /// The Matrix error code (`M_NOT_FOUND`, …), if the body has one.
    fn errcode(&self) -> Option<&str>;
    /// The Matrix error message, or `""`.
    fn message(&self) -> &str;
    /// The JSON body of a success, or the typed error.
    fn ok(self, call: Call, what: &str) -> Result<Value, ConnectorError>;
}

impl SynapseReply for Reply {
    fn errcode(&self) -> Option<&str> {
        self.json.as_ref()?.get("errcode")?.as_str()
    }

    fn message(&self) -> &str {
        self.json
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn ok(self, call: Call, what: &str) -> Result<Value, ConnectorError> {
        if self.status.is_success() {
            return self.json.ok_or_else(|| {
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
pub(super) fn map_error(r: &Reply, call: Call, what: &str) -> ConnectorError {
    use ConnectorError as E;
    let status = r.status;
    let code = r.errcode();
    let msg = r.message();
    let detail = match code {
        Some(c) => format!("{what}: {c}: {msg}"),
        None => format!("{what}: HTTP {status}"),
    };
    if code == Some("M_LIMIT_EXCEEDED") {
        return E::RateLimited {
            retry_after: r.retry_after,
        };
    }
    if let Some(e) = common_error(r, what, "the homeserver's client API address") {
        return e;
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
