//! Calendly, through its API v2 with a personal access token (Bearer) of an organization
//! `owner` or `admin`. Members are the organization's memberships, with their roles as sent
//! (`owner`, `admin`, `user`), and its pending invitations (`invited`, role `user`, app member id
//! `invitation:<uuid>`).
//!
//! - Sign-in: `GET /users/me` gives `current_organization`; `GET /organization_memberships
//!   ?organization=…&user=<me>` must show `owner` or `admin`.
//! - Listing: `GET /organization_memberships?organization=…&count=100`, then
//!   `GET /organizations/{uuid}/invitations?status=pending&count=100`, each paged with
//!   `page_token` from `pagination.next_page_token`.
//! - Lookups: `GET /organization_memberships/{uuid}`, `GET /organizations/{uuid}/invitations/
//!   {uuid}`; by email with the `email` filter of both listings.
//! - Invitation: `POST /organizations/{uuid}/invitations` with `email` (Calendly emails the
//!   invitee; the invitation carries no role: members join as `user`).
//! - Role change: unsupported. Calendly's API has no endpoint that changes a membership's role
//!   (an owner or admin does it in Calendly's admin pages); the connector declares only `user`
//!   and answers `Unsupported` for any other role.
//! - Removal: `DELETE /organization_memberships/{uuid}`; a pending invitation is revoked with
//!   `DELETE /organizations/{uuid}/invitations/{uuid}`.
//! - Rate limits: 429 with `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
//!   (seconds to wait; Calendly sends no `Retry-After`): the SDK waits that long
//!   ([`crate::sdk::http::Endpoint::with_wait_header`]). Errors: `{title, message, details}`
//!   ([`model::map_error`]).
//!
//! Pages:
//! - List memberships:
//!   <https://developer.calendly.com/api-docs/calendly-api/organizations/list-organization-memberships>
//! - Revoke an invitation:
//!   <https://developer.calendly.com/api-docs/calendly-api/organizations/revoke-organization-invitation>
//! - Rate limits: <https://developer.calendly.com/api-docs/overview/rate-limits>
//! - Conventions (resources by URI): <https://developer.calendly.com/api-docs/overview/api/api-conventions>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, unexpected};
use crate::sdk::http::{segment, Request};
use crate::sdk::members::normalize_email;
use crate::sdk::rest::json_body;
use crate::sdk::saas::{self, next_cursor};
use crate::sdk::{Auth, Endpoint, HttpClient};
pub use model::USER;
use model::{collection, invitation, map_error, membership, uuid_of, INVITATION, MANAGERS};

/// The connector's name in the catalog.
pub const NAME: &str = "calendly";
pub(crate) const APP: &str = "Calendly";
const MEMBERSHIPS: &str = "/organization_memberships";
/// Rows per page: the API's largest `count`.
const PAGE: usize = 100;
/// Listing cursors: memberships then pending invitations, each with Calendly's page token.
const LISTINGS: [&str; 2] = ["m:", "i:"];

type R<T> = Result<T, E>;

/// The Calendly connector ([`AppConnector`] of [`Calendly`]); the registry builds it with
/// [`saas::connector`].
pub type CalendlyConnector = AppConnector<Calendly>;

/// Calendly as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Calendly;

#[async_trait]
impl App for Calendly {
    const NAME: &'static str = NAME;
    type Api<'a> = Org<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Url};
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: vec![USER.to_owned()],
            capabilities: vec![ListMembers, Invite, Remove],
            default_role: USER.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true)
                    .help("https://api.calendly.com (Calendly's API, for every organization)"),
                [
                    SettingField::new(API_TOKEN, "Personal access token", Secret, true).help(
                        "Integrations & apps → API and webhooks → personal access tokens, made by \
                     an owner or admin of the organization",
                    ),
                ],
            ),
        }
    }

    /// Reads the account (`/users/me`) and its membership, which must be `owner` or `admin`.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let org = Org::new(http, ctx, &token, &json!({}))?;
        let me = Org::send(org.api.get("/users/me"), "sign in").await?;
        let (user, org_uri) = (
            &me["resource"]["uri"],
            &me["resource"]["current_organization"],
        );
        let (Some(user), Some(org_uri)) = (user.as_str(), org_uri.as_str()) else {
            return Err(unexpected(APP, "sign in"));
        };
        let data = json!({ "organization": org_uri, "user": user });
        let org = Org::new(http, ctx, &token, &data)?;
        let mine = org.my_membership().await?;
        debug!(organization = uuid_of(org_uri), "signed in to Calendly");
        let data = json!({ "organization": org_uri, "user": user, "membership": mine });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Org<'a>> {
        Org::new(http, ctx, &s.token, &s.data)
    }
}

/// Calendly's API as the automation account for one call, in its organization.
#[derive(Debug)]
pub struct Org<'a> {
    api: Endpoint<'a>,
    /// The organization's URI (`https://api.calendly.com/organizations/<uuid>`).
    org: String,
    /// The account's user URI.
    user: String,
    /// The account's own membership uuid.
    me: Option<String>,
}

impl<'a> Org<'a> {
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, data: &Value) -> R<Self> {
        let api = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()));
        let text = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            api: api.with_wait_header("x-ratelimit-reset"),
            org: text("organization"),
            user: text("user"),
            me: data["membership"].as_str().map(str::to_owned),
        })
    }

    async fn send(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// `/organizations/<uuid>/invitations`.
    fn invitations(&self) -> String {
        format!("/organizations/{}/invitations", segment(uuid_of(&self.org)))
    }

    /// The account's membership uuid, which must be `owner` or `admin`.
    ///
    /// Errors: `InsufficientPermission` for a `user`.
    async fn my_membership(&self) -> R<String> {
        let what = "read the account's membership";
        let q = [
            ("organization", self.org.clone()),
            ("user", self.user.clone()),
        ];
        let v = Self::send(self.api.get(MEMBERSHIPS).query(&q), what).await?;
        let mine = collection(&v, what)?
            .first()
            .ok_or_else(|| unexpected(APP, what))?;
        let m = membership(mine, what)?;
        match MANAGERS.contains(&m.roles[0].as_str()) {
            true => Ok(m.app_member_id),
            false => Err(E::InsufficientPermission(format!(
                "the automation account is a Calendly {}: make it an owner or admin",
                m.roles[0]
            ))),
        }
    }

    /// One page of memberships (or pending invitations) after `token`, filtered by `email`.
    async fn rows(&self, invited: bool, token: Option<&str>, email: Option<&str>) -> R<Value> {
        let mut q = vec![("count", PAGE.to_string())];
        let path = match invited {
            true => {
                q.push(("status", "pending".to_owned()));
                self.invitations()
            }
            false => {
                q.push(("organization", self.org.clone()));
                MEMBERSHIPS.to_owned()
            }
        };
        q.extend(token.map(|t| ("page_token", t.to_owned())));
        q.extend(email.map(|e| ("email", e.to_owned())));
        let what = if invited {
            "list invitations"
        } else {
            "list memberships"
        };
        Self::send(self.api.get(&path).query(&q), what).await
    }
}

#[async_trait]
impl Members for Org<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.my_membership().await.map(drop)
    }

    /// Memberships, then pending invitations, 100 a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (i, token) = saas::phase(APP, cursor, &LISTINGS)?;
        let invited = i == 1;
        let v = self.rows(invited, token, None).await?;
        let rows = collection(&v, "list members")?;
        let members = match invited {
            true => rows
                .iter()
                .filter_map(|r| invitation(r, "list invitations").transpose())
                .collect::<R<Vec<_>>>()?,
            false => rows
                .iter()
                .map(|r| membership(r, "list memberships"))
                .collect::<R<Vec<_>>>()?,
        };
        let next = next_cursor(&v, "/pagination/next_page_token");
        let next = saas::next_phase(&LISTINGS, i, next);
        Ok(MemberPage { members, next })
    }

    /// A membership by uuid, or a pending invitation by `invitation:<uuid>`.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        if id.is_empty() {
            return Ok(None);
        }
        if let Some(inv) = id.strip_prefix(INVITATION) {
            let path = format!("{}/{}", self.invitations(), segment(inv));
            let got = found(Self::send(self.api.get(&path), "read an invitation").await)?;
            return Ok(match got {
                Some(v) => invitation(&v["resource"], "read an invitation")?,
                None => None,
            });
        }
        let path = format!("{MEMBERSHIPS}/{}", segment(id));
        let got = found(Self::send(self.api.get(&path), "read a membership").await)?;
        got.map(|v| membership(&v["resource"], "read a membership"))
            .transpose()
    }

    /// The membership with this address, else its pending invitation.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        for invited in [false, true] {
            let v = self.rows(invited, None, Some(email)).await?;
            for row in collection(&v, "find by email")? {
                let m = match invited {
                    true => invitation(row, "list invitations")?,
                    false => Some(membership(row, "list memberships")?),
                };
                if let Some(m) = m.filter(|m| m.email.as_deref() == Some(email)) {
                    return Ok(Some(m));
                }
            }
        }
        Ok(None)
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.as_deref() == Some(m.app_member_id.as_str())
    }

    /// Only `user`: invitations carry no role, and no endpoint changes one.
    ///
    /// Errors: `Unsupported` for `owner` and `admin`, `Configuration` for any other.
    async fn role(&self, role: &str) -> R<String> {
        match role {
            USER => Ok(role.to_owned()),
            r if MANAGERS.contains(&r) => Err(E::Unsupported(format!(
                "Calendly's API gives no role {r}: an owner makes admins in Calendly's admin pages"
            ))),
            r => Err(E::Configuration(format!(
                "Calendly has no role {r:?} (its roles: owner, admin, user)"
            ))),
        }
    }

    /// Calendly's API changes no role.
    async fn set_role(&self, _m: AppMember, role: &str) -> R<AppMember> {
        Err(E::Unsupported(format!(
            "Calendly's API cannot give the role {role}"
        )))
    }

    /// Calendly has no usernames: the address names the member.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Invites the address to the organization; Calendly emails the invitation. Sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "invite a user";
        let req = self.api.request(Method::POST, &self.invitations());
        let v = Self::send(req.json(json!({ "email": to.email })), what).await?;
        let m = invitation(&v["resource"], what)?.ok_or_else(|| unexpected(APP, what))?;
        debug!(member = %m.app_member_id, "invited to Calendly");
        Ok(m)
    }

    /// Removes the membership, or revokes the pending invitation; gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let path = match m.app_member_id.strip_prefix(INVITATION) {
            Some(inv) => format!("{}/{}", self.invitations(), segment(inv)),
            None => format!("{MEMBERSHIPS}/{}", segment(&m.app_member_id)),
        };
        let req = self.api.request(Method::DELETE, &path);
        saas::deleted(req, |r| map_error(r, "remove a member")).await
    }
}
