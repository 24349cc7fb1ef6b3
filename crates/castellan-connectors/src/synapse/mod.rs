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
    AppMember, AppSession, ConnectorContext, ConnectorError, ConnectorInfo, MemberPage,
};
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{confirmed, first_unused, App, AppConnector, Chosen, Invitee, Members};
use crate::sdk::errors::unexpected;
use crate::sdk::http::segment;
use crate::sdk::members::{
    admin_flag_app, admin_role, email_local_part, role_is_admin, ROLE_ADMIN,
};
use crate::sdk::paging::AnchoredOffset;
use crate::sdk::{Auth, Endpoint, HttpClient};
pub use admin::Admin;
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

type R<T> = Result<T, ConnectorError>;

/// The Synapse connector ([`AppConnector`] of [`Synapse`]). Cheap to clone; share one per
/// process (it pools connections).
pub type SynapseConnector = AppConnector<Synapse>;

/// Synapse as the connector builder's [`App`]: its sign-in (a password login of the
/// client-server API) and its Admin API ([`Admin`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Synapse;

/// The API at the hub's base URL, with Matrix's rate-limit hint, as the bearer of `token`.
fn endpoint<'a>(
    http: &'a HttpClient,
    ctx: &ConnectorContext,
    token: Option<&SecretString>,
) -> R<Endpoint<'a>> {
    let api = http.endpoint_for(ctx)?.with_retry_hint(admin::retry_hint);
    Ok(match token {
        Some(t) => api.with_auth(Auth::Bearer(t.clone())),
        None => api,
    })
}

#[async_trait]
impl App for Synapse {
    const NAME: &'static str = NAME;
    type Api<'a> = Admin<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        admin_flag_app(NAME, vec![ListMembers, Invite, UpdateRole, Remove])
    }

    async fn login(&self, http: &HttpClient, ctx: &ConnectorContext) -> R<AppSession> {
        let api = endpoint(http, ctx, None)?;
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

    fn api<'a>(
        &self,
        http: &'a HttpClient,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> R<Admin<'a>> {
        let ep = endpoint(http, ctx, Some(&s.token))?;
        let server = server_name(s)?.to_owned();
        let me = session_user(s).map(str::to_owned);
        Ok(Admin { ep, server, me })
    }
}

#[async_trait]
impl Members for Admin<'_> {
    const APP: &'static str = APP;

    /// The account lists users (`GET /_synapse/admin/v2/users`): only server admins may.
    async fn verify_permissions(&self) -> R<()> {
        let reply = self
            .ep
            .get("/_synapse/admin/v2/users")
            .query(&[("limit", "1".into()), ("guests", "false".into())])
            .send()
            .await?;
        reply.ok(Call::Admin, "list users").map(drop)
    }

    /// Users ordered by id, deactivated and locked ones too, 100 a page from the cursor's
    /// offset, one row earlier (the anchor, the previous page's last user id); then each
    /// member's details (the list has no email addresses), eight requests at a time.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let cursor = parse_cursor(cursor)?;
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
        let body = self
            .ep
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
            .map(|u| self.with_details(u))
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

    /// A user by user id, or by localpart on this homeserver.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = qualify(id, &self.server);
        Ok(self.user(&id).await?.map(|u| u.member))
    }

    /// The user holding the address (`GET /_synapse/admin/v1/threepid/email/users/…`).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        Ok(self.user_by_email(email).await?.map(|u| u.member))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.as_deref() == Some(m.app_member_id.as_str())
    }

    /// `admin` or `user` (any case): the server-admin flag.
    async fn role(&self, role: &str) -> R<String> {
        Ok(admin_role(role_is_admin(APP, role)?))
    }

    /// Sets the server-admin flag (`PUT /_synapse/admin/v1/users/<user_id>/admin`).
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let id = &m.app_member_id;
        self.ep
            .request(
                Method::PUT,
                &format!("/_synapse/admin/v1/users/{}/admin", segment(id)),
            )
            .json(json!({ "admin": role == ROLE_ADMIN }))
            .idempotent()
            .send()
            .await?
            .ok(Call::Admin, "set the server admin flag")?;
        confirmed(self, id, role).await
    }

    /// A deactivated account made again with the invitation (a new password, the role, the
    /// address and name); a locked or suspended one is left as it is.
    async fn reactivate(&self, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
        match self.user(&m.app_member_id).await? {
            Some(u) if u.deactivated => {
                self.make_user(&m.app_member_id, to, Making::Reactivate)
                    .await
            }
            _ => Ok(m),
        }
    }

    /// A username the caller chose, as a user id of this homeserver: that account, or the id
    /// to create. Errors: `Configuration` for a user of another homeserver.
    async fn chosen(&self, u: &str) -> R<Chosen> {
        let server = &self.server;
        let id = match u.strip_prefix('@').and_then(|rest| rest.split_once(':')) {
            Some((local, srv)) if srv == server => {
                format!("@{}:{server}", derive_localpart(local)?)
            }
            Some(_) => {
                return Err(ConnectorError::Configuration(format!(
                    "{u} is not a user of this homeserver ({server})"
                )))
            }
            None => format!("@{}:{server}", derive_localpart(u)?),
        };
        Ok(match self.user(&id).await? {
            Some(u) => Chosen::Member(u.member),
            None => Chosen::New(id),
        })
    }

    /// The first free localpart among the address's, then with `-2` … `-20`: a username derived
    /// from the email never revives someone else's account (Synapse drops a deactivated user's
    /// addresses, so a departed `ana@` and a new `ana@` look alike).
    async fn free_username(&self, email: &str) -> R<String> {
        first_unused(self, &derive_localpart(email_local_part(email))?).await
    }

    async fn create(&self, username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let id = qualify(username, &self.server);
        self.make_user(&id, to, Making::Create).await
    }

    /// Deactivates the account (`POST /_synapse/admin/v1/deactivate/<user_id>`, not erased):
    /// Synapse cannot delete users.
    async fn remove(&self, m: AppMember) -> R<()> {
        let id = &m.app_member_id;
        let reply = self
            .ep
            .request(
                Method::POST,
                &format!("/_synapse/admin/v1/deactivate/{}", segment(id)),
            )
            .json(json!({ "erase": false }))
            .send()
            .await?;
        if reply.status == reqwest::StatusCode::BAD_REQUEST
            && reply.message().contains("local users")
        {
            return Err(ConnectorError::NotFound(format!(
                "{id} is not a user of this homeserver"
            )));
        }
        reply.ok(Call::Admin, "deactivate a user")?;
        debug!(member = %id, "deactivated a Synapse user");
        Ok(())
    }
}
