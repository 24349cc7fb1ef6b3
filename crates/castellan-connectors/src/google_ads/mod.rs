//! Google Ads, through the Google Ads API (REST, version 26, the latest Google lists; v26 was
//! released on 2026-10-14) with the OAuth 2.0 access token of a Google account that has
//! `ADMIN` access to the advertiser's account (its customer ID is the hub's organization ID).
//!
//! Members are the account's user accesses, with their access role (`admin`, `standard`,
//! `read_only`, `email_only`: Google's `ADMIN`, `STANDARD`, `READ_ONLY`, `EMAIL_ONLY`,
//! lowercase as Castellan's app roles are; the default is `read_only`, the least access that
//! still sees the account), by user id; and the pending invitations, as invited members
//! `invitation:<email>`. Paths below are under the base URL `https://googleads.googleapis.com`.
//!
//! - Sign-in (OAuth 2.0, [`SignIn::OAuth2`]): Google's authorization endpoint with
//!   `access_type=offline` and `prompt=consent` (so Google returns a refresh token), PKCE, the
//!   scope `https://www.googleapis.com/auth/adwords`; every call carries `Authorization: Bearer`,
//!   `login-customer-id` when the hub sets a manager account, and `developer-token` when the hub
//!   still sets one (Google sunset developer tokens on 2026-09-09 and ignores the header; a
//!   plain hub setting, sent only in that header, whose name keeps it out of the SDK's logs).
//!   The hub's username is the Google account that granted the access: sign-in finds its access
//!   on the manager account when the hub sets one, else on the account, and it must be `ADMIN`
//!   (the API cannot say whose token it is; a grant by another account is found out at the
//!   first change, 403).
//! - Listing: `POST /v26/customers/{id}/googleAds:search` with `SELECT
//!   customer_user_access.user_id, …email_address, …access_role FROM customer_user_access`,
//!   then `… FROM customer_user_access_invitation WHERE …invitation_status = PENDING`, each paged
//!   by `nextPageToken` (10,000 rows a page; Google fixes the size). Lookups: by user id with
//!   `WHERE customer_user_access.user_id = <number>`; by address through the listing, compared
//!   without case (one page for nearly every account; no address is written into a query).
//! - Invitation: `POST /v26/customers/{id}/customerUserAccessInvitations:mutate` with
//!   `{"operation": {"create": {"emailAddress", "accessRole"}}}`; Google emails the person, who
//!   joins when they accept (it may take Google a day to show it).
//! - Role change: `POST /v26/customers/{id}/customerUserAccesses:mutate` with `{"operation":
//!   {"update": {"resourceName", "accessRole"}, "updateMask": "accessRole"}}`; an invitation's
//!   role cannot change, so a pending one is revoked and sent again with the new role.
//! - Removal: the same endpoints with `{"operation": {"remove": "<resource name>"}}` (an access,
//!   or a pending invitation). Google refuses to remove or demote the last admin (`Conflict`).
//! - Multi-party approval: a change Google holds for another admin's approval
//!   (`result.multiPartyAuthReview`) is `NeedsHuman`.
//! - Errors: Google's `{"error": {"code", "message", "status", "details": [GoogleAdsFailure]}}`
//!   ([`model::map_error`]); `RESOURCE_EXHAUSTED` (429) waits `retryDelay` from the failure's
//!   `quotaErrorDetails` ([`crate::sdk::http::Endpoint::with_retry_hint`]).
//!
//! Not modelled: service accounts, manager accounts' client links, account-level (customer)
//! resources. Pages:
//! - Versions: <https://developers.google.com/google-ads/api/docs/release-notes>,
//!   <https://developers.google.com/google-ads/api/docs/sunset-dates>
//! - Manage user access:
//!   <https://developers.google.com/google-ads/api/docs/account-management/managing-users>;
//!   invitations:
//!   <https://developers.google.com/google-ads/api/docs/account-management/managing-invitations>
//! - REST search and headers: <https://developers.google.com/google-ads/api/rest/common/search>,
//!   <https://developers.google.com/google-ads/api/rest/auth>
//! - Developer token sunset:
//!   <https://developers.google.com/google-ads/api/docs/api-policy/developer-token>
//! - OAuth 2.0: <https://developers.google.com/identity/protocols/oauth2/web-server>
//! - Rate limits: <https://developers.google.com/google-ads/api/docs/best-practices/rate-limits>

mod api;
mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::oauth2::{self, OAuth2Spec};
use castellan_core::connector::settings::{SettingField, SettingKind, BASE_URL, ORGANIZATION_ID};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, MemberState, SignIn,
};
use serde_json::json;
use tracing::debug;

use crate::sdk::builder::{confirmed, App, AppConnector, Chosen, Invitee, Members};
use crate::sdk::errors::gone;
use crate::sdk::members::normalize_email;
use crate::sdk::roles::spelled;
use crate::sdk::saas::{self, next_cursor};
use crate::sdk::HttpClient;
use api::admin;
pub use api::Account;
use model::{access, access_of, invitation, results, ACCESSES, INVITATIONS, ROLES};
pub use model::{ADMIN, EMAIL_ONLY, INVITATION, READ_ONLY, STANDARD};

/// The connector's name in the catalog.
pub const NAME: &str = "google_ads";
pub(crate) const APP: &str = "Google Ads";
/// The Google Ads API version the connector speaks (in every path).
pub const API_VERSION: &str = "v26";
/// Setting: the manager account's customer ID, sent as `login-customer-id`.
pub const LOGIN_CUSTOMER_ID: &str = "login_customer_id";
/// Setting: a developer token, sent as `developer-token` when set.
pub const DEVELOPER_TOKEN: &str = "developer_token";
/// Google's authorization endpoint, asking for a refresh token (`access_type=offline`) every
/// time the admin connects (`prompt=consent`).
pub const AUTHORIZE_URL: &str =
    "https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent";
/// Google's token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The Google Ads API's OAuth scope.
pub const SCOPE: &str = "https://www.googleapis.com/auth/adwords";
/// Listing cursors: user accesses then pending invitations, each with Google's page token.
const LISTINGS: [&str; 2] = ["a:", "i:"];

type R<T> = Result<T, E>;

/// The Google Ads connector ([`AppConnector`] of [`GoogleAds`]); the registry builds it with
/// [`saas::connector`].
pub type GoogleAdsConnector = AppConnector<GoogleAds>;

/// Google Ads as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GoogleAds;

/// Google's OAuth 2.0 server as the hub's OAuth settings default to it.
fn oauth() -> OAuth2Spec {
    OAuth2Spec {
        authorize_url: Some(AUTHORIZE_URL.to_owned()),
        token_url: Some(TOKEN_URL.to_owned()),
        scopes: SCOPE.to_owned(),
        pkce: true,
    }
}

#[async_trait]
impl App for GoogleAds {
    const NAME: &'static str = NAME;
    type Api<'a> = Account<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Text, Url};
        let mut own = vec![
            SettingField::new(ORGANIZATION_ID, "Customer ID", Text, true)
                .help("the Google Ads account's customer ID, 10 digits without dashes"),
            SettingField::new(LOGIN_CUSTOMER_ID, "Login customer ID", Text, false).help(
                "the manager account's customer ID (10 digits) when the automation account's \
                 access comes through a manager account",
            ),
            SettingField::new(DEVELOPER_TOKEN, "Developer token", Text, false).help(
                "optional: Google sunset developer tokens on 2026-09-09 and ignores them; API \
                 access belongs to the OAuth client's Google Cloud project",
            ),
        ];
        own.extend(oauth2::fields(&oauth()));
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: ROLES.iter().map(|r| (*r).to_owned()).collect(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove],
            default_role: READ_ONLY.to_owned(),
            sign_in: SignIn::OAuth2,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true)
                    .help("https://googleads.googleapis.com (the Google Ads API)"),
                own,
            ),
        }
    }

    /// Finds the automation account's own access, by the hub's username, where Google weighs
    /// it: on the manager account when the hub sets one (`login-customer-id`), else on the
    /// account; it must be `ADMIN`.
    ///
    /// Errors: `Configuration` for a customer ID that is not 10 digits or a username no user
    /// has; `InsufficientPermission` for a role below `ADMIN`; Google's.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let account = Account::new(http, ctx, &token, &json!({}))?;
        let place = account.login.clone().unwrap_or(account.customer.clone());
        let who = || {
            E::Configuration(format!(
                "no user of Google Ads account {place} has the address {:?}: the hub's username \
                 is the Google account that granted Castellan access",
                ctx.username
            ))
        };
        let email = normalize_email(&ctx.username).map_err(|_| who())?;
        let what = "read the account's users";
        let rows = account.all(&place, ACCESSES, what).await?;
        let me = rows
            .iter()
            .filter_map(access)
            .find(|m| m.email.as_deref() == Some(&email))
            .ok_or_else(who)?;
        admin(&me)?;
        debug!(customer = %account.customer, via = %place, "signed in to Google Ads");
        let data = json!({ "me": me.app_member_id, "via": place });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Account<'a>> {
        Account::new(http, ctx, &s.token, &s.data)
    }
}

#[async_trait]
impl Members for Account<'_> {
    const APP: &'static str = APP;

    /// The automation account's access is still `ADMIN`.
    ///
    /// Errors: `InsufficientPermission` for a lower role or no access.
    async fn verify_permissions(&self) -> R<()> {
        let user: u64 = self.me.parse().map_err(|_| {
            E::Configuration("the session names no Google Ads user: sign in again".into())
        })?;
        let what = "read the automation account's access";
        let rows = self.all(&self.via, &access_of(user), what).await?;
        match rows.iter().find_map(access) {
            Some(me) => admin(&me),
            None => Err(E::InsufficientPermission(format!(
                "the automation account no longer has access to Google Ads account {}",
                self.via
            ))),
        }
    }

    /// User accesses, then pending invitations, a page of Google's each.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (i, token) = saas::phase(APP, cursor, &LISTINGS)?;
        let (query, what) = match i {
            0 => (ACCESSES, "list users"),
            _ => (INVITATIONS, "list invitations"),
        };
        let v = self.search(&self.customer, query, token, what).await?;
        let rows = results(&v).iter();
        let members = match i {
            0 => rows.filter_map(access).collect(),
            _ => rows.filter_map(|r| invitation(r).map(|(m, _)| m)).collect(),
        };
        let next = saas::next_phase(&LISTINGS, i, next_cursor(&v, "/nextPageToken"));
        Ok(MemberPage { members, next })
    }

    /// A user by id (digits), a pending invitation by `invitation:<email>`, or whoever has an
    /// address.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if let Some(email) = id.strip_prefix(INVITATION) {
            let email = normalize_email(email)?;
            return Ok(self.pending(&email).await?.map(|(m, _)| m));
        }
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        let Ok(user) = id.parse::<u64>() else {
            return Ok(None);
        };
        let rows = self
            .all(&self.customer, &access_of(user), "read a user")
            .await?;
        Ok(rows.iter().find_map(access))
    }

    /// The user with this address, else its pending invitation (compared without case).
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let rows = self.all(&self.customer, ACCESSES, "list users").await?;
        let user = rows
            .iter()
            .filter_map(access)
            .find(|m| m.email.as_deref() == Some(email));
        match user {
            Some(m) => Ok(Some(m)),
            None => Ok(self.pending(email).await?.map(|(m, _)| m)),
        }
    }

    fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }

    /// `admin`, `standard`, `read_only` or `email_only` (any case).
    async fn role(&self, role: &str) -> R<String> {
        spelled(APP, role, &ROLES)
    }

    /// Updates the access role; a pending invitation is revoked and sent again with the role.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        if m.state == MemberState::Invited {
            let email = m.email.clone().unwrap_or_default();
            self.revoke(&email).await?;
            self.invite(&email, role).await?;
        } else {
            let name = format!(
                "customers/{}/customerUserAccesses/{}",
                self.customer, m.app_member_id
            );
            let update = json!({ "resourceName": name, "accessRole": role.to_ascii_uppercase() });
            let op = json!({ "update": update, "updateMask": "accessRole" });
            self.mutate(
                "customerUserAccesses",
                op,
                true,
                "change a user's access role",
            )
            .await?;
        }
        debug!(member = %m.app_member_id, role, "changed a Google Ads access role");
        confirmed(self, &m.app_member_id, role).await
    }

    /// Google Ads has no usernames: a chosen one is not used.
    async fn chosen(&self, name: &str) -> R<Chosen> {
        Ok(Chosen::New(name.to_owned()))
    }

    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Invites the address with the role (Google emails the person); sent once. An address
    /// that got access or an invitation meanwhile is that member.
    async fn create(&self, _: &str, to: &Invitee<'_>) -> R<AppMember> {
        match self.invite(to.email, to.role).await {
            Ok(()) => {}
            Err(E::Conflict(why)) => {
                return self.by_email(to.email).await?.ok_or(E::Conflict(why));
            }
            Err(e) => return Err(e),
        }
        debug!("invited to Google Ads");
        let email = to.email.to_owned();
        let mut m = crate::sdk::members::member(
            format!("{INVITATION}{email}"),
            Some(&email),
            None,
            vec![to.role.to_owned()],
            false,
        );
        m.state = MemberState::Invited;
        Ok(m)
    }

    /// Removes the user's access, or revokes the pending invitation; gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        if m.state == MemberState::Invited {
            return self.revoke(m.email.as_deref().unwrap_or_default()).await;
        }
        let name = format!(
            "customers/{}/customerUserAccesses/{}",
            self.customer, m.app_member_id
        );
        let op = json!({ "remove": name });
        let r = self
            .mutate("customerUserAccesses", op, true, "remove a user's access")
            .await;
        gone(r)
    }
}
