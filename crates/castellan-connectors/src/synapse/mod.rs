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

mod admin;
mod model;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo, Invitation,
    MemberPage,
};
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tracing::{debug, instrument};

use crate::sdk::errors::unexpected;
use crate::sdk::http::segment;
use crate::sdk::members::{
    email_local_part, normalize_email, not_self, role_is_admin, ROLE_ADMIN, ROLE_USER,
};
use crate::sdk::paging::AnchoredOffset;
use crate::sdk::usernames::{candidates, MAX_TRIES};
use crate::sdk::{Auth, Endpoint};
use admin::{Call, Making, SynapseReply};
use model::{derive_localpart, parse_cursor, qualify, server_name, session_user, SynapseUser};

/// The connector's name in the catalog.
pub const NAME: &str = "synapse";
/// The app's name in messages.
const APP: &str = "Synapse";

/// Members per page (Synapse's own default).
const PAGE_SIZE: usize = 100;
/// Concurrent detail requests while listing.
const DETAIL_CONCURRENCY: usize = 8;
/// One device for every login of the automation account, so logins do not pile up devices.
const DEVICE_ID: &str = "CASTELLAN_BOT";
const DEVICE_NAME: &str = "Castellan bot";

crate::sdk::http_connector!(
    /// The Synapse connector. Cheap to clone; share one per process (it pools connections).
    SynapseConnector
);

impl SynapseConnector {
    fn api(
        &self,
        ctx: &ConnectorContext,
        token: Option<&SecretString>,
    ) -> Result<Endpoint<'_>, ConnectorError> {
        let api = self
            .http
            .endpoint_for(ctx)?
            .with_retry_hint(admin::retry_hint);
        Ok(match token {
            Some(t) => api.with_auth(Auth::Bearer(t.clone())),
            None => api,
        })
    }

    fn admin_api(
        &self,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> Result<Endpoint<'_>, ConnectorError> {
        self.api(ctx, Some(&s.token))
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
            sign_in: castellan_core::connector::SignIn::Password,
            settings: castellan_core::connector::settings::self_hosted_password(),
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
            .request(Method::POST, "/_matrix/client/v3/login")
            .json(body)
            .send()
            .await?;
        let body = reply.ok(Call::Login, "log in")?;
        let (Some(token), Some(user_id)) = (
            body.get("access_token").and_then(Value::as_str),
            body.get("user_id").and_then(Value::as_str),
        ) else {
            return Err(ConnectorError::Configuration(format!(
                "{} answered the login without an access token: not a Matrix homeserver",
                api.base()
            )));
        };
        let Some((_, server_name)) = user_id.split_once(':') else {
            return Err(unexpected(APP, "log in"));
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
            .get("/_synapse/admin/v2/users")
            .query(&[("limit", "1".into()), ("guests", "false".into())])
            .send()
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
        let cursor = parse_cursor(cursor.as_deref())?;
        // With a cursor, re-read the last member of the previous page (the anchor) as well.
        let start = cursor.read_from();
        let limit = PAGE_SIZE + usize::from(cursor.anchor.is_some());
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
            .get("/_synapse/admin/v2/users")
            .query(&query)
            .send()
            .await?
            .ok(Call::Admin, "list users")?;
        let Some(rows) = body.get("users").and_then(Value::as_array) else {
            return Err(unexpected(APP, "list users"));
        };
        let names: Vec<&str> = rows
            .iter()
            .map(|u| {
                u.get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unexpected(APP, "list users"))
            })
            .collect::<Result<_, _>>()?;
        let skip = cursor.skip(names.iter().copied());
        let next = match (body.get("next_token").is_some(), names.last()) {
            (true, Some(last)) => Some(AnchoredOffset::after(start, rows.len(), last).encode()),
            (true, None) => return Err(unexpected(APP, "list users")),
            (false, _) => None,
        };

        let listed = rows[skip..]
            .iter()
            .map(|row| SynapseUser::from_json(row).ok_or_else(|| unexpected(APP, "list users")))
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
        let admin = role_is_admin(APP, &inv.role)?;
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
            return self
                .make_user(&api, &id, &email, inv, admin, Making::Reactivate)
                .await;
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
                None => {
                    self.make_user(&api, &user_id, &email, inv, admin, Making::Create)
                        .await
                }
                Some(u) if u.deactivated => {
                    self.make_user(&api, &user_id, &email, inv, admin, Making::Reactivate)
                        .await
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
        for user_id in candidates(&base).map(|c| format!("@{c}:{server}")) {
            match self.user(&api, &user_id).await? {
                None => {
                    return self
                        .make_user(&api, &user_id, &email, inv, admin, Making::Create)
                        .await
                }
                Some(u) if !u.deactivated && u.emails.contains(&email) => return Ok(u.member),
                Some(_) => {}
            }
        }
        Err(ConnectorError::Conflict(format!(
            "the user ids @{base}:{server} to @{base}-{MAX_TRIES}:{server} are all taken by other accounts"
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
        let admin = role_is_admin(APP, role)?;
        let api = self.admin_api(ctx, s)?;
        let id = qualify(app_member_id, server_name(s)?);
        let current = self
            .user(&api, &id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no Synapse user {id}")))?;
        if current.admin == admin {
            return Ok(current.member);
        }
        let me = session_user(s) == Some(id.as_str());
        not_self(me && !admin, "take away its own server admin role")?;
        api.request(
            Method::PUT,
            &format!("/_synapse/admin/v1/users/{}/admin", segment(&id)),
        )
        .json(json!({ "admin": admin }))
        .idempotent()
        .send()
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
        not_self(session_user(s) == Some(id.as_str()), "deactivate itself")?;
        let reply = api
            .request(
                Method::POST,
                &format!("/_synapse/admin/v1/deactivate/{}", segment(&id)),
            )
            .json(json!({ "erase": false }))
            .send()
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
