//! GitHub, one organization through the REST API with a token of an organization owner: a
//! personal access token (fine-grained with the organization's "Members: read and write"
//! permission, or classic with `admin:org`), sent as `Authorization: Bearer`. A GitHub App's
//! installation token is not taken: it lasts an hour and cannot read `GET /user`, which sign-in
//! reads. Every request says `Accept: application/vnd.github+json` and
//! `X-GitHub-Api-Version: 2022-11-28`. The base URL is `https://api.github.com` (the default), or
//! `https://<host>/api/v3` for GitHub Enterprise Server; the organization is the hub's
//! organization id (its login, as in `github.com/<org>`).
//!
//! - **Sign-in** reads the token's user (`GET /user`): 401 is `BadCredentials`. The **permission
//!   probe** reads that user's membership (`GET /orgs/{org}/memberships/{username}`), which must
//!   be `active` with the role `admin` (an owner), else `InsufficientPermission`.
//! - **Members** are the organization's members (`GET /orgs/{org}/members?role=admin`, then
//!   `?role=member`, 100 a page, following `Link: rel="next"`), known by their login, `active`,
//!   with the role as on the wire (`admin` or `member`); then the pending invitations
//!   (`GET /orgs/{org}/invitations`), `invited`, known by their address (or the invited login),
//!   with the invitation's role (`direct_member` is `member`). **GitHub shows no member's
//!   email**: a listing gives none (a user's public email shows on their profile only), so an
//!   active member has none here, and only a pending invitation is found by its address. Once
//!   the invitee accepts, the invitation is gone and the member is known by their login, which
//!   the invitation did not name: matching them to a person is the workspace's own work.
//! - **Invite** sends an invitation by email (`POST /orgs/{org}/invitations` with `email` and
//!   `role` `admin` or `direct_member`): the member is `invited` until the person accepts.
//!   `Invitation::username` is not used (the invitee signs in with their own GitHub account).
//!   An address already invited is that invitation.
//! - **Role changes**: a member's role is set with `PUT /orgs/{org}/memberships/{username}`
//!   (`admin` or `member`); an invitation's, by cancelling it and inviting again with the new
//!   role (GitHub has no endpoint to change one). Billing managers are reported with the role
//!   `billing_manager` when read, but not given.
//! - **Remove**: `DELETE /orgs/{org}/memberships/{username}` (a member, or an invitation by
//!   username), `DELETE /orgs/{org}/invitations/{invitation_id}` (an invitation by email). What
//!   is gone already is done.
//! - **Resources** are the organization's teams (`GET /orgs/{org}/teams`), kind `team`, known by
//!   their slug, with the roles `maintainer` and `member`: members are listed with
//!   `GET /orgs/{org}/teams/{team_slug}/members?role=…`, given a role with
//!   `PUT /orgs/{org}/teams/{team_slug}/memberships/{username}` and taken out with `DELETE`.
//!   Only members who joined hold team roles (a pending invitee has no login yet: `Conflict`).
//! - **Rate limits**: the primary limit (403 or 429 with `x-ratelimit-remaining: 0`, wait until
//!   `x-ratelimit-reset`) and secondary limits (403 or 429 with `retry-after`, else a minute) are
//!   retried in the call by the SDK when the wait fits ([`crate::sdk::http`]), else
//!   `RateLimited` with the wait ([`model::throttle`]).
//! - **Errors** are read from GitHub's bodies (`message`, `documentation_url`, `errors`):
//!   [`model::map_error`].
//!
//! References:
//! - <https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api>
//! - <https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api>
//! - <https://docs.github.com/en/rest/about-the-rest-api/api-versions>
//! - <https://docs.github.com/en/rest/users/users#get-the-authenticated-user>
//! - <https://docs.github.com/en/rest/orgs/members> (list members, memberships, invitations)
//! - <https://docs.github.com/en/rest/teams/teams>, <https://docs.github.com/en/rest/teams/members>
//! - <https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api>
//! - <https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>
//! - <https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api>
//! - <https://docs.github.com/en/organizations/managing-peoples-access-to-your-organization-with-roles/roles-in-an-organization>

mod api;
mod members;
pub(crate) mod model;
mod teams;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{self, SettingField, SettingKind};
use castellan_core::connector::settings::{API_TOKEN, BASE_URL, ORGANIZATION_ID};
use castellan_core::connector::{
    AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo, SignIn,
};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tracing::debug;

use crate::sdk::builder::{App, AppConnector};
use crate::sdk::{Auth, HttpClient};
pub use api::Org;
use model::{GhUser, MEMBER, ROLES};

/// The connector's name in the catalog.
pub const NAME: &str = "github";
/// GitHub.com's REST API: the base URL when the hub sets none.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";
pub(crate) const APP: &str = "GitHub";

type R<T> = Result<T, E>;

/// The GitHub connector ([`AppConnector`] of [`GitHub`]). Cheap to clone; share one per process.
pub type GitHubConnector = AppConnector<GitHub>;

/// GitHub as the connector builder's [`App`]: its settings, its sign-in with a token
/// (`GET /user`), and one organization's REST API ([`Org`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct GitHub;

/// The token: the automation account's `api_token`, else its password (trimmed).
///
/// Errors: `BadCredentials` when there is none.
fn token(ctx: &Ctx) -> R<SecretString> {
    [ctx.api_token.as_ref(), Some(&ctx.password)]
        .into_iter()
        .flatten()
        .map(|t| t.expose_secret().trim())
        .find(|t| !t.is_empty())
        .map(|t| SecretString::from(t.to_owned()))
        .ok_or_else(|| E::BadCredentials("the automation account has no GitHub token".into()))
}

/// The organization: the hub's organization id (the org's login), trimmed.
///
/// Errors: `Configuration` when there is none.
fn org_of(ctx: &Ctx) -> R<String> {
    let given = ctx.organization_id.as_deref().map(str::trim);
    let given = given.filter(|o| !o.is_empty()).map(str::to_owned);
    given.ok_or_else(|| {
        E::Configuration("no GitHub organization given (the hub's organization id)".into())
    })
}

/// The API of `ctx`'s organization with `token` as the account `me`.
fn org<'a>(http: &'a HttpClient, ctx: &Ctx, token: SecretString, me: &str) -> R<Org<'a>> {
    let mut ctx = ctx.clone();
    if ctx.base_url.trim().is_empty() {
        ctx.base_url = DEFAULT_BASE_URL.to_owned();
    }
    let ep = http.endpoint_for(&ctx)?.with_auth(Auth::Bearer(token));
    let ep = ep.with_throttle(model::throttle);
    Ok(Org {
        ep,
        org: org_of(&ctx)?,
        me: me.to_owned(),
    })
}

#[async_trait]
impl App for GitHub {
    const NAME: &'static str = NAME;
    type Api<'a> = Org<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: ROLES.map(String::from).into(),
            capabilities: vec![
                ListMembers,
                Invite,
                UpdateRole,
                Remove,
                ListResources,
                ResourceRoles,
            ],
            default_role: MEMBER.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: vec![
                SettingField::new(BASE_URL, "API base URL", SettingKind::Url, false).help(
                    "https://api.github.com (the default); GitHub Enterprise Server: \
                     https://<host>/api/v3",
                ),
                SettingField::new(ORGANIZATION_ID, "Organization", SettingKind::Text, true)
                    .help("The organization's login, as in https://github.com/<org>"),
                SettingField::new(API_TOKEN, "Token", SettingKind::Secret, true).help(
                    "A token of an organization owner: a fine-grained personal access token \
                     with the organization permission Members (read and write), or a classic \
                     one with admin:org",
                ),
                settings::requests_per_second(),
                settings::allow_private(),
            ],
        }
    }

    /// Reads the token's user (`GET /user`); the session holds the token and the login.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = token(ctx)?;
        let api = org(http, ctx, token.clone(), "")?;
        let what = "read the token's user";
        let me = Org::json(api.req(Method::GET, "/user"), what).await?;
        let me = GhUser::parse(&me, what)?;
        debug!(login = %me.login, "signed in to GitHub");
        Ok(Session {
            token,
            data: json!({ "login": me.login }),
        })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Org<'a>> {
        let me = s.data["login"].as_str().unwrap_or_default();
        org(http, ctx, s.token.clone(), me)
    }
}
