//! Freshdesk, through its API v2 (`https://<domain>.freshdesk.com/api/v2`) with the API key of
//! an Account Administrator or Administrator (HTTP Basic: the key as username, `X` as
//! password). Members are the agents, with their roles by key: the default roles
//! `account_admin`, `admin`, `supervisor`, `agent` (matched by name among the roles
//! `GET /roles` marks `default`), a custom role by its id; `list_roles` labels them with
//! Freshdesk's names ([`Capability::ListRoles`]).
//!
//! - Sign-in and probe: `GET /agents/me`, then `GET /roles` (kept in the session: the default
//!   roles' ids); the account must hold an Account Administrator or Administrator role, as
//!   Freshdesk asks of whoever adds, edits or deletes agents.
//! - Listing: `GET /agents?per_page=100&page=<n>`, the next page read from the `Link` header's
//!   `rel="next"` until there is none: one call a hundred agents.
//! - Lookups: `GET /agents/{id}`; by email `GET /agents?email=<addr>`. A former agent is a
//!   contact (deleting an agent turns them into one): `GET /contacts/{id}` and `GET
//!   /contacts?email=` find them, `deactivated` with no role.
//! - Invitation: `POST /agents` with `email`, `name` (when given), `ticket_scope` (the hub's
//!   setting, default global), `role_ids`, `agent_type: 1` (a support agent) and `occasional:
//!   false` (a full-time seat); Freshdesk emails them to activate the account. A contact
//!   (a customer, or a former agent) is converted instead, as Freshdesk asks ("Email has
//!   already been taken": convert the contact), with `PUT /contacts/{id}/make_agent` and the
//!   same fields, then read back.
//! - Role change: one `PUT /agents/{id}` with `role_ids` (Freshdesk replaces them).
//! - Removal: `DELETE /agents/{id}`, Freshdesk's only way: the agent becomes a contact (their
//!   tickets are unassigned, their history stays) and the seat is freed. A contact is done.
//! - Rate limits: per account and minute, by plan; every answer carries `X-RateLimit-Total`,
//!   `X-RateLimit-Remaining` and `X-RateLimit-Used-CurrentRequest`, and a 429 `Retry-After`
//!   (seconds), which the SDK honours ([`crate::sdk::http`]). Errors: `{"description",
//!   "errors": [{"field", "message", "code"}]}` ([`model::map_error`]).
//!
//! Assumptions where the reference is silent: `GET /agents` carries each agent's `role_ids`
//! (the agent object's attribute); an agent keeps its id as a contact and back (agents and
//! contacts are one user in Freshdesk); a 404 has no body; `POST /agents` takes `name` (the
//! bulk create documents it). Not modelled: groups, skills, occasional agents and day passes,
//! field agents and collaborators, keep-seat (the API deactivates no agent). Pages:
//! - API v2 (authentication, pagination, rate limit, errors):
//!   <https://developers.freshdesk.com/api/>
//! - Agents (list, view, me, create, update, delete): <https://developers.freshdesk.com/api/#agents>
//! - Make agent: <https://developers.freshdesk.com/api/#make_agent>
//! - Roles: <https://developers.freshdesk.com/api/#roles>
//! - Adding an agent (Administrators and above; an address of a contact is taken):
//!   <https://support.freshdesk.com/en/support/solutions/articles/227569-how-to-add-an-agent-or-user-to-the-helpdesk->,
//!   <https://support.freshdesk.com/en/support/solutions/articles/225312-why-do-i-get-the-error-user-is-already-taken-when-i-try-to-save-an-email-address->
//! - What deleting an agent does (tickets unassigned, a contact kept):
//!   <https://supportsandbox.freshdesk.com/support/solutions/articles/11000000028187-bulk-delete-delete-an-agent>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppRole, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E,
    ConnectorInfo, MemberPage, MemberState, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, unexpected};
use crate::sdk::http::{segment, Request};
use crate::sdk::json::items;
use crate::sdk::members::{given, normalize_email};
use crate::sdk::paging::{link_param, next_link};
use crate::sdk::rest::json_body;
use crate::sdk::saas;
use crate::sdk::{Endpoint, HttpClient, Reply};
use model::{agent, contact, map_error, RoleIds, DEFAULTS, MANAGERS};
pub use model::{ACCOUNT_ADMIN, ADMIN, AGENT, SUPERVISOR};

/// The connector's name in the catalog.
pub const NAME: &str = "freshdesk";
/// The hub setting choosing the ticket scope of invited agents: `global` (default), `group`
/// or `restricted` (Freshdesk's `ticket_scope` 1, 2, 3).
pub const TICKET_SCOPE: &str = "ticket_scope";
pub(crate) const APP: &str = "Freshdesk";
const SCOPES: [&str; 3] = ["global", "group", "restricted"];
const AGENTS: &str = "/api/v2/agents";
const CONTACTS: &str = "/api/v2/contacts";
const ROLES: &str = "/api/v2/roles";
/// Agents per page: the API's largest `per_page`.
const PAGE: usize = 100;

type R<T> = Result<T, E>;

/// The Freshdesk connector ([`AppConnector`] of [`Freshdesk`]); the registry builds it with
/// [`saas::connector`].
pub type FreshdeskConnector = AppConnector<Freshdesk>;

/// Freshdesk as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Freshdesk;

#[async_trait]
impl App for Freshdesk {
    const NAME: &'static str = NAME;
    type Api<'a> = Desk<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Choice, Secret, Url};
        let scopes = Choice(SCOPES.map(String::from).into());
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: DEFAULTS.map(|(k, _)| k.to_owned()).into(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, ListRoles],
            default_role: AGENT.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "Freshdesk address", Url, true)
                    .help("https://<domain>.freshdesk.com, the address agents sign in at"),
                [
                    SettingField::new(API_TOKEN, "API key", Secret, true).help(
                        "Profile settings → View API key, of an Account Administrator or \
                         Administrator",
                    ),
                    SettingField::new(TICKET_SCOPE, "Ticket scope of new agents", scopes, false)
                        .help(
                            "global (default): every ticket; group: their groups' tickets; \
                               restricted: tickets assigned to them",
                        )
                        .default_value(SCOPES[0]),
                ],
            ),
        }
    }

    /// Reads the account (`/agents/me`) and the roles: it must be an Account Administrator or
    /// Administrator.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let desk = Desk::new(http, ctx, &token, &json!({}))?;
        let (me, roles) = desk.admin().await?;
        debug!(agent_id = %me, "signed in to Freshdesk");
        Ok(Session {
            token,
            data: json!({ "agent_id": me, "roles": roles.to_json() }),
        })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Desk<'a>> {
        Desk::new(http, ctx, &s.token, &s.data)
    }
}

/// Freshdesk's API v2 as the automation account (agent id `me`) for one call.
#[derive(Debug)]
pub struct Desk<'a> {
    api: Endpoint<'a>,
    me: Option<String>,
    /// The default roles' ids, from the session.
    roles: RoleIds,
    /// `ticket_scope` of new agents: 1, 2 or 3.
    scope: u8,
}

impl<'a> Desk<'a> {
    /// The API at the hub's base URL with the API key as Basic username.
    ///
    /// Errors: `Configuration` for a refused base URL or a ticket scope Freshdesk lacks.
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, data: &Value) -> R<Self> {
        let api = http
            .endpoint_for(ctx)?
            .with_auth(saas::key_as_user(token, "X"));
        let scope = ctx.setting(TICKET_SCOPE).unwrap_or(SCOPES[0]);
        let Some(i) = SCOPES.iter().position(|s| s.eq_ignore_ascii_case(scope)) else {
            return Err(E::Configuration(format!(
                "{TICKET_SCOPE} must be global, group or restricted, not {scope:?}"
            )));
        };
        Ok(Self {
            api,
            me: crate::sdk::json::id(&data["agent_id"]),
            roles: RoleIds::from_json(&data["roles"]),
            scope: u8::try_from(i + 1).unwrap_or(1),
        })
    }

    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        Self::reply(req, what).await.map(|(v, _)| v)
    }

    /// Sends `req`: the JSON of a success and the reply (for its headers).
    async fn reply(req: Request<'_>, what: &str) -> R<(Value, Reply)> {
        let r = req.send().await?;
        let headers = r.clone();
        Ok((json_body(r, APP, what, |r| map_error(r, what))?, headers))
    }

    /// The account's agent id and the default roles' ids; it must hold a role of
    /// [`MANAGERS`].
    ///
    /// Errors: `BadCredentials` for a refused key; `InsufficientPermission` for an agent who
    /// may not manage agents (Freshdesk's 403 on the roles, or roles of no admin).
    async fn admin(&self) -> R<(String, RoleIds)> {
        let what = "read the account";
        let me = Self::send(self.api.get(&format!("{AGENTS}/me")), what).await?;
        let id = crate::sdk::json::id(&me["id"]).ok_or_else(|| unexpected(APP, what))?;
        let fix = "make the automation account an Account Administrator or Administrator";
        let roles = match Self::send(self.api.get(ROLES), "list roles").await {
            Err(E::InsufficientPermission(why)) => {
                return Err(E::InsufficientPermission(format!("{fix} ({why})")))
            }
            other => RoleIds::of(&other?, "list roles")?,
        };
        let mine = agent(&me, &roles, what)?.roles;
        match mine.iter().any(|r| MANAGERS.contains(&r.as_str())) {
            true => Ok((id, roles)),
            false => Err(E::InsufficientPermission(format!(
                "the automation account holds the Freshdesk roles {mine:?}: {fix}"
            ))),
        }
    }

    /// An agent by id, `None` when Freshdesk has no such agent.
    async fn agent(&self, id: &str) -> R<Option<AppMember>> {
        let what = "read an agent";
        let path = format!("{AGENTS}/{}", segment(id));
        let got = found(Self::send(self.api.get(&path), what).await)?;
        got.map(|v| agent(&v, &self.roles, what)).transpose()
    }

    /// The first row of `rows` (a listing filtered by `email`) with exactly that address.
    fn exact(rows: Vec<AppMember>, email: &str) -> Option<AppMember> {
        rows.into_iter().find(|m| m.email.as_deref() == Some(email))
    }

    /// `role_ids` for the role `key`.
    fn role_ids(&self, key: &str) -> R<Value> {
        let rid = self.roles.id(key)?;
        Ok(match rid.parse::<u64>() {
            Ok(n) => json!([n]),
            Err(_) => json!([rid]),
        })
    }
}

#[async_trait]
impl Members for Desk<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.admin().await.map(drop)
    }

    /// Agents, a hundred a page, the next page from `Link: <…page=n>; rel="next"`.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let page = match cursor.map(str::parse::<u32>) {
            None => 1,
            Some(Ok(n)) if n > 1 => n,
            Some(_) => {
                let why = format!("not a Freshdesk cursor: {cursor:?}");
                return Err(E::Configuration(why));
            }
        };
        let what = "list agents";
        let q = [("per_page", PAGE.to_string()), ("page", page.to_string())];
        let (v, r) = Self::reply(self.api.get(AGENTS).query(&q), what).await?;
        let rows = v.as_array().ok_or_else(|| unexpected(APP, what))?;
        let members = rows.iter().map(|a| agent(a, &self.roles, what));
        let next = r.header("link").and_then(next_link);
        Ok(MemberPage {
            members: members.collect::<R<_>>()?,
            next: next.and_then(|l| link_param(&l, "page")),
        })
    }

    /// An agent by id (digits), else the contact it became; by email with `@`.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        if let Some(m) = self.agent(id).await? {
            return Ok(Some(m));
        }
        let what = "read a contact";
        let got = found(Self::send(self.api.get(&format!("{CONTACTS}/{id}")), what).await)?;
        Ok(got.map(|v| contact(&v, what)).transpose()?.flatten())
    }

    /// The agent with this address, else the contact who holds it (`deactivated`).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let q = [("email", email.to_owned())];
        let what = "find an agent by email";
        let v = Self::send(self.api.get(AGENTS).query(&q), what).await?;
        let agents = items(&v).iter().map(|a| agent(a, &self.roles, what));
        if let Some(m) = Self::exact(agents.collect::<R<_>>()?, email) {
            return Ok(Some(m));
        }
        let what = "find a contact by email";
        let v = Self::send(self.api.get(CONTACTS).query(&q), what).await?;
        let contacts = items(&v).iter().map(|c| contact(c, what));
        let contacts: Vec<AppMember> = contacts
            .collect::<R<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        Ok(Self::exact(contacts, email))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.as_deref() == Some(m.app_member_id.as_str())
    }

    /// The account's roles (`GET /roles`): the default ones by key, then custom ones by id,
    /// labelled with their names.
    async fn roles(&self) -> R<Vec<AppRole>> {
        let what = "list roles";
        model::roles(&Self::send(self.api.get(ROLES), what).await?, what)
    }

    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let what = "change an agent's role";
        let path = format!("{AGENTS}/{}", segment(&m.app_member_id));
        let body = json!({ "role_ids": self.role_ids(role)? });
        let req = self.api.request(Method::PUT, &path).json(body);
        let v = Self::send(req.idempotent(), what).await?;
        agent(&v, &self.roles, what)
    }

    /// Converts the contact into an agent with the role (`make_agent`), then reads it back.
    async fn reactivate(&self, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
        let what = "convert a contact into an agent";
        let path = format!("{CONTACTS}/{}/make_agent", segment(&m.app_member_id));
        let body = json!({ "occasional": false, "ticket_scope": self.scope,
            "role_ids": self.role_ids(to.role)? });
        Self::send(self.api.request(Method::PUT, &path).json(body), what).await?;
        let back = self.agent(&m.app_member_id).await?;
        back.ok_or_else(|| unexpected(APP, what))
    }

    /// Freshdesk has no usernames: the address names the agent.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Creates a full-time support agent with the role; Freshdesk emails them. Sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let mut body = json!({ "email": to.email, "ticket_scope": self.scope,
            "role_ids": self.role_ids(to.role)?, "agent_type": 1, "occasional": false });
        if let Some(name) = given(&to.inv.name) {
            body["name"] = json!(name);
        }
        let what = "create an agent";
        let v = Self::send(self.api.request(Method::POST, AGENTS).json(body), what).await?;
        let m = agent(&v, &self.roles, what)?;
        debug!(member = %m.app_member_id, "created a Freshdesk agent");
        Ok(m)
    }

    /// Deletes the agent (Freshdesk makes them a contact); a contact is done already.
    async fn remove(&self, m: AppMember) -> R<()> {
        if m.state == MemberState::Deactivated && m.roles.is_empty() {
            return Ok(());
        }
        let path = format!("{AGENTS}/{}", segment(&m.app_member_id));
        let req = self.api.request(Method::DELETE, &path);
        saas::deleted(req, |r| map_error(r, "delete an agent")).await
    }
}
