//! Apple App Store Connect (a developer team's Users and Access), through the App Store Connect
//! API v1 with a team API key of the Admin role: each request carries a JSON Web Token the
//! connector signs with the key (ES256; header `kid` the key id, `typ` JWT; claims `iss` the
//! issuer id, `iat`, `exp` 15 minutes later, `aud` `appstoreconnect-v1`; [`crate::sdk::jwt`]).
//! The key (the `.p8` file, PKCS#8 PEM) is the automation account's secret (its API token or
//! password); the key id and the issuer id are the hub's settings [`KEY_ID`] and [`ISSUER_ID`].
//!
//! Members are the team's users, with their roles as Apple writes them (`ADMIN`, `FINANCE`,
//! `APP_MANAGER`, `DEVELOPER`, `MARKETING`, `SALES`, `CUSTOMER_SUPPORT`, `ACCESS_TO_REPORTS`;
//! `ACCOUNT_HOLDER` and add-on permissions shown as held), and the pending user invitations
//! (`invited`, app member id `invitation:<email>`). A user's address is their `username` (their
//! Apple Account).
//!
//! Paths below are under the hub's base URL, `https://api.appstoreconnect.apple.com/v1`.
//!
//! - Sign-in: a token is signed, then `GET /users?limit=1` must answer (an API key of another
//!   role is refused with 403). A session keeps its token and reuses it while it has more than
//!   5 minutes left, as Apple advises; then a new one is signed.
//! - Listing: `GET /users?limit=200&fields[users]=…`, then `GET /userInvitations?limit=200`,
//!   each paged by the query of `links.next` (its `cursor`).
//! - Lookups: `GET /users/{id}`; by email with `filter[username]`, then `filter[email]` of the
//!   invitations.
//! - Invitation: `POST /userInvitations` with `email`, `firstName`, `lastName`, `roles` and
//!   `allAppsVisible` (Apple emails the invitation); the member is read again by email.
//! - Role change: `PATCH /users/{id}` with `roles` (Apple's roles are a list; the connector sets
//!   exactly one); a pending invitation is cancelled and sent again with the role.
//! - Removal: `DELETE /users/{id}`; a pending invitation is cancelled with `DELETE
//!   /userInvitations/{id}`.
//! - Errors and rate limits: JSON:API `errors` ([`model::map_error`]); 429 `RATE_LIMIT_EXCEEDED`
//!   waits as `Retry-After` says, else a minute ([`model::throttle`]); `X-Rate-Limit` is logged.
//!
//! Assumptions where Apple's reference is silent: an invitation without a name in Castellan is
//! sent with the address's local part as its names (`firstName` and `lastName` are required), a
//! one-word name as both; invitations make apps visible to all (`allAppsVisible`, as App Store
//! Connect's own form does by default) and leave provisioning off; a team key is no user, so no
//! member is the automation account (the Account Holder cannot be removed by Apple's rules);
//! the next page is the query of `links.next` sent again to the hub's own base URL.
//!
//! Not modelled: visible apps (per-app access), provisioning, individual API keys. Pages:
//! - Users: <https://developer.apple.com/documentation/appstoreconnectapi/users>,
//!   <https://developer.apple.com/documentation/appstoreconnectapi/get-v1-users>,
//!   <https://developer.apple.com/documentation/appstoreconnectapi/patch-v1-users-_id_>,
//!   <https://developer.apple.com/documentation/appstoreconnectapi/delete-v1-users-_id_>
//! - Invitations: <https://developer.apple.com/documentation/appstoreconnectapi/user-invitations>,
//!   <https://developer.apple.com/documentation/appstoreconnectapi/post-v1-userinvitations>
//! - Tokens: <https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests>
//! - Rate limits: <https://developer.apple.com/documentation/appstoreconnectapi/identifying-rate-limits>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    Invitation, MemberPage, MemberState, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{confirmed, App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, unexpected};
use crate::sdk::http::{segment, Request};
use crate::sdk::members::{email_local_part, normalize_email, INVITATION};
use crate::sdk::rest::json_body;
use crate::sdk::roles::spelled;
use crate::sdk::saas;
use crate::sdk::{jwt, Auth, Endpoint, HttpClient};
use model::{data, invitation, map_error, next_query, user, Invite, ROLES};
pub use model::{ACCOUNT_HOLDER, ADMIN, DEVELOPER};

/// The connector's name in the catalog.
pub const NAME: &str = "app_store_connect";
pub(crate) const APP: &str = "App Store Connect";
/// The hub setting holding the API key's id (the token's `kid`).
pub const KEY_ID: &str = "key_id";
/// The hub setting holding the team's issuer id (the token's `iss`).
pub const ISSUER_ID: &str = "issuer_id";
/// The token's audience.
pub const AUDIENCE: &str = "appstoreconnect-v1";
/// A token's lifetime, in seconds: under Apple's 20 minutes with room for clock drift.
const LIFETIME: u64 = 15 * 60;
/// A session's token is signed anew when it has less than this left, in seconds.
const RENEW_BEFORE: u64 = 5 * 60;
/// Rows per page: the API's largest `limit`.
const PAGE: usize = 200;
/// Listing cursors: users, then pending invitations.
const LISTINGS: [&str; 2] = ["u:", "i:"];
const USER_FIELDS: &str = "username,firstName,lastName,roles,allAppsVisible";
const INVITE_FIELDS: &str = "email,firstName,lastName,roles,allAppsVisible,expirationDate";

type R<T> = Result<T, E>;

/// The App Store Connect connector ([`AppConnector`] of [`AppStoreConnect`]); the registry
/// builds it with [`saas::connector`].
pub type AppStoreConnectConnector = AppConnector<AppStoreConnect>;

/// App Store Connect as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AppStoreConnect;

/// A token for the hub's key, signed now, and when it expires (Unix seconds).
///
/// Errors: `Configuration` without the key id or issuer id; `BadCredentials` for a secret that
/// is not the key.
fn signed(ctx: &Ctx) -> R<(SecretString, u64)> {
    let key_id = saas::setting(ctx, KEY_ID, "API key id")?;
    let issuer = saas::setting(ctx, ISSUER_ID, "issuer id")?;
    let iat = jwt::now();
    let exp = iat + LIFETIME;
    let claims = json!({ "iss": issuer, "iat": iat, "exp": exp, "aud": AUDIENCE });
    Ok((jwt::es256(&saas::token(ctx), &key_id, &claims)?, exp))
}

#[async_trait]
impl App for AppStoreConnect {
    const NAME: &'static str = NAME;
    type Api<'a> = Team<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Text, Url};
        let here = "App Store Connect → Users and Access → Integrations → Team Keys";
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: ROLES.iter().map(|r| (*r).to_owned()).collect(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove],
            default_role: DEVELOPER.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true)
                    .help("https://api.appstoreconnect.apple.com/v1 (App Store Connect API)"),
                [
                    SettingField::new(KEY_ID, "Key ID", Text, true)
                        .help(&format!("{here}: the Admin key's Key ID")),
                    SettingField::new(ISSUER_ID, "Issuer ID", Text, true)
                        .help(&format!("{here}: the Issuer ID above the keys")),
                    SettingField::new(API_TOKEN, "Private key (.p8)", Secret, true).help(
                        "the whole .p8 file of that key (PKCS#8 PEM), downloaded once when the \
                         key was made",
                    ),
                ],
            ),
        }
    }

    /// Signs a token and reads one user: the key must be valid and of the Admin role.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let (token, exp) = signed(ctx)?;
        Team::new(http, ctx, &token)?.check_access().await?;
        debug!("signed in to App Store Connect");
        Ok(Session {
            token,
            data: json!({ "exp": exp }),
        })
    }

    /// The session's token while it has more than [`RENEW_BEFORE`] left, else a new one.
    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Team<'a>> {
        let exp = s.data["exp"].as_u64().unwrap_or(0);
        match exp > jwt::now() + RENEW_BEFORE {
            true => Team::new(http, ctx, &s.token),
            false => Team::new(http, ctx, &signed(ctx)?.0),
        }
    }
}

/// The App Store Connect API with the team's key for one call.
#[derive(Debug)]
pub struct Team<'a> {
    api: Endpoint<'a>,
}

impl<'a> Team<'a> {
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString) -> R<Self> {
        let api = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()))
            .with_throttle(model::throttle);
        Ok(Self { api })
    }

    /// Sends `req` and reads its JSON answer, or Apple's error.
    async fn call(&self, req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        if let Some(left) = model::requests_left(&r) {
            debug!(left, "App Store Connect requests left this hour");
        }
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// One page of `path` with `q` (the first page), or the query of a `links.next`.
    async fn list(&self, path: &str, q: &[(&str, String)], next: Option<&str>) -> R<Value> {
        let pairs: Vec<(String, String)> = match next {
            Some(query) => url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
            None => q
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        };
        let pairs: Vec<(&str, String)> =
            pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let req = self.api.get(path).query(&pairs);
        self.call(req, &format!("list {path}")).await
    }

    /// Checks that the key may read the team's users (an Admin key).
    ///
    /// Errors: `InsufficientPermission` for a key of another role; `BadCredentials` for a token
    /// Apple refuses.
    async fn check_access(&self) -> R<()> {
        let q = [
            ("limit", "1".to_owned()),
            ("fields[users]", "roles".to_owned()),
        ];
        self.list("/users", &q, None).await.map(drop)
    }

    /// The pending invitations of `email` (Apple filters by address).
    async fn invites_of(&self, email: &str) -> R<Vec<Invite>> {
        let q = [
            ("filter[email]", email.to_owned()),
            ("fields[userInvitations]", INVITE_FIELDS.to_owned()),
            ("limit", PAGE.to_string()),
        ];
        let v = self.list("/userInvitations", &q, None).await?;
        let rows = data(&v, "find an invitation")?
            .iter()
            .filter_map(invitation);
        Ok(rows
            .filter(|i| i.member.email.as_deref() == Some(email))
            .collect())
    }

    /// Sends an invitation of `email` with `role` and `names`; sent once.
    async fn send_invite(&self, email: &str, role: &str, names: &(String, String)) -> R<()> {
        let body = json!({ "data": { "type": "userInvitations", "attributes": {
            "email": email, "firstName": names.0, "lastName": names.1, "roles": [role],
            "allAppsVisible": true, "provisioningAllowed": false } } });
        let req = self
            .api
            .request(Method::POST, "/userInvitations")
            .json(body);
        let v = self.call(req, "invite a person to the team").await?;
        debug!(id = %v["data"]["id"], "invited to an App Store Connect team");
        Ok(())
    }

    /// Cancels the pending invitations of the invited member `m`; none left is done.
    async fn cancel(&self, m: &AppMember) -> R<()> {
        let email = m.email.as_deref().unwrap_or_default();
        for inv in self.invites_of(email).await? {
            let path = format!("/userInvitations/{}", segment(&inv.id));
            let req = self.api.request(Method::DELETE, &path);
            saas::deleted(req, |r| map_error(r, "cancel an invitation")).await?;
        }
        Ok(())
    }
}

/// The first and last names of an invitation: its name's first word and the rest (a one-word
/// name as both), else the address's local part split at `.`, `_` or `-`.
fn names(inv: &Invitation, email: &str) -> (String, String) {
    let given = inv.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let source = given.map_or_else(
        || email_local_part(email).replace(['.', '_', '-', '+'], " "),
        str::to_owned,
    );
    let source = source.trim();
    match source.split_once(char::is_whitespace) {
        Some((first, last)) => (first.to_owned(), last.trim().to_owned()),
        None => (source.to_owned(), source.to_owned()),
    }
}

#[async_trait]
impl Members for Team<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        self.check_access().await
    }

    /// Users, then pending invitations, 200 a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (i, next) = saas::phase(APP, cursor, &LISTINGS)?;
        let limit = ("limit", PAGE.to_string());
        let (members, after) = match i {
            0 => {
                let q = [("fields[users]", USER_FIELDS.to_owned()), limit];
                let v = self.list("/users", &q, next).await?;
                let rows = data(&v, "list users")?
                    .iter()
                    .map(|u| user(u, "list users"));
                (rows.collect::<R<Vec<_>>>()?, next_query(&v))
            }
            _ => {
                let q = [("fields[userInvitations]", INVITE_FIELDS.to_owned()), limit];
                let v = self.list("/userInvitations", &q, next).await?;
                let rows = data(&v, "list invitations")?.iter().filter_map(invitation);
                (rows.map(|i| i.member).collect(), next_query(&v))
            }
        };
        Ok(MemberPage {
            members,
            next: saas::next_phase(&LISTINGS, i, after),
        })
    }

    /// A user by id, or a pending invitation by `invitation:<email>`.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if let Some(email) = id.strip_prefix(INVITATION) {
            let email = normalize_email(email)?;
            return Ok(self.invites_of(&email).await?.pop().map(|i| i.member));
        }
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        if id.is_empty() {
            return Ok(None);
        }
        let path = format!("/users/{}", segment(id));
        let req = self
            .api
            .get(&path)
            .query(&[("fields[users]", USER_FIELDS.to_owned())]);
        match found(self.call(req, "read a user").await)? {
            Some(v) => user(&v["data"], "read a user").map(Some),
            None => Ok(None),
        }
    }

    /// The user whose Apple Account is this address, else its pending invitation.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let q = [
            ("filter[username]", email.to_owned()),
            ("fields[users]", USER_FIELDS.to_owned()),
            ("limit", PAGE.to_string()),
        ];
        let v = self.list("/users", &q, None).await?;
        for row in data(&v, "find a user")? {
            let m = user(row, "find a user")?;
            if m.email.as_deref() == Some(email) {
                return Ok(Some(m));
            }
        }
        Ok(self.invites_of(email).await?.pop().map(|i| i.member))
    }

    /// A team key is no user: none is the automation account.
    fn is_me(&self, _m: &AppMember) -> bool {
        false
    }

    /// One of [`ROLES`] (any case); `ACCOUNT_HOLDER` only moves by a transfer in App Store
    /// Connect.
    async fn role(&self, role: &str) -> R<String> {
        if role.trim().eq_ignore_ascii_case(ACCOUNT_HOLDER) {
            return Err(E::Configuration(
                "Apple gives the Account Holder role only by a transfer in App Store Connect"
                    .into(),
            ));
        }
        spelled(APP, role, &ROLES)
    }

    /// `PATCH /users/{id}` with the one role; a pending invitation is sent again with it.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let what = "change a user's roles";
        if m.state == MemberState::Invited {
            let email = m.email.clone().unwrap_or_default();
            let old = self.invites_of(&email).await?.pop();
            let old = old.ok_or_else(|| E::NotFound(format!("no invitation of {email}")))?;
            self.cancel(&m).await?;
            self.send_invite(&email, role, &old.names).await?;
        } else {
            let body = json!({ "data": { "type": "users", "id": m.app_member_id,
                "attributes": { "roles": [role] } } });
            let path = format!("/users/{}", segment(&m.app_member_id));
            // Safe to send twice: it sets the roles.
            let req = self.api.request(Method::PATCH, &path).json(body);
            self.call(req.idempotent(), what).await?;
        }
        confirmed(self, &m.app_member_id, role).await
    }

    /// Apple invites an address: it names the person.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Invites the address with the role (Apple emails the invitation); sent once. The member
    /// is read again by email: a pending invitation until the person accepts.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        self.send_invite(to.email, to.role, &names(to.inv, to.email))
            .await?;
        let m = self.by_email(to.email).await?;
        m.ok_or_else(|| unexpected(APP, "invite a person to the team"))
    }

    /// Removes the user from the team, or cancels the pending invitation; gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        if m.state == MemberState::Invited {
            return self.cancel(&m).await;
        }
        let path = format!("/users/{}", segment(&m.app_member_id));
        let req = self.api.request(Method::DELETE, &path);
        saas::deleted(req, |r| map_error(r, "remove a user")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_names() {
        let inv = |name: Option<&str>| Invitation {
            email: "x@y.org".into(),
            username: None,
            name: name.map(str::to_owned),
            role: DEVELOPER.into(),
        };
        let n = |name: Option<&str>, email: &str| names(&inv(name), email);
        assert_eq!(
            n(Some(" Ana  María López "), "a@x.org"),
            ("Ana".into(), "María López".into())
        );
        assert_eq!(n(Some("Cher"), "c@x.org"), ("Cher".into(), "Cher".into()));
        assert_eq!(n(None, "ana.lopez@x.org"), ("ana".into(), "lopez".into()));
        assert_eq!(n(Some(" "), "bob@x.org"), ("bob".into(), "bob".into()));
    }
}
