//! Redmine, signed in through its web login (password, then a TOTP code from Castellan's
//! authenticator when the account has two-factor authentication), then driven through its REST
//! API with the account's own API key.
//!
//! App roles are Redmine's administrator flag: `admin` and `user`. Projects are resources, and
//! project memberships with project roles (Manager, Developer, Reporter…) the roles members hold
//! on them ([`resources`]: Projects, Roles and Memberships APIs). Removal locks the user (status 3), which keeps the user's issues,
//! comments and history: Redmine could delete users (`DELETE /users/{id}.json`), but the
//! connector never does. States: status 1 (active) → `active`, 2 (registered, not yet
//! activated) → `invited`, 3 (locked) → `deactivated`.
//!
//! How a session is made ([`RedmineConnector::login`]):
//! 1. `GET /login` gives the session cookie and the form's `authenticity_token` (Rails CSRF).
//! 2. `POST /login` with `username`, `password`: a wrong password renders the login page again
//!    with an error (HTTP 200); success redirects to `/my/page`; when the account has 2FA on,
//!    Redmine redirects to `/account/twofa/confirm` (`AccountController#password_authentication`
//!    in Redmine 5.0).
//! 3. Second factor: `GET /account/twofa/confirm`, then `POST /account/twofa` with
//!    `twofa_code`. The code comes from [`castellan_otp::code_at`] at that moment. Redmine
//!    remembers the last time step it accepted (`twofa_totp_last_used_at`) and refuses a code of
//!    that step or an earlier one, so a refused code is tried once more with the next step's
//!    code. Redmine allows three codes per password entry. It keeps one pending two-factor
//!    sign-in per user: two concurrent sign-ins of the same account end each other's
//!    (`Unavailable`, retryable), so the bot should not sign in twice at once with one account.
//! 4. `GET /my/api_key` shows the account's API key (Redmine creates it if there is none). The
//!    REST API does not accept the web session (`ApplicationController#find_current_user`
//!    ignores the session for `.json` requests, and refuses HTTP Basic with a password once 2FA
//!    is on), so every later call sends the key in `X-Redmine-API-Key`.
//!
//! The [`AppSession`]'s token holds the API key and the web session's cookies (never logged); its
//! data holds the account's user id, login and administrator flag.
//!
//! Turning 2FA on with Castellan as the authenticator ([`enable_totp_for`], then
//! [`confirm_totp`]) follows Redmine's own pairing pages: `POST /my/twofa/totp/activate/init`
//! (a new secret is stored on the user), `GET /my/twofa/totp/activate/confirm` (the page shows
//! the secret as a QR code and as plain text), `POST /my/twofa/totp/activate` with `twofa_code`.
//!
//! APIs and pages used:
//! - REST API (authentication by API key, paging with `offset`/`limit` ≤ 100, `total_count`):
//!   <https://www.redmine.org/projects/redmine/wiki/Rest_api>
//! - Users API (list with `status` (1 active, 2 registered, 3 locked; empty for all) and `name`
//!   filters, show, create with `generate_password`, update `admin` and `status`):
//!   <https://www.redmine.org/projects/redmine/wiki/Rest_Users>
//! - Two-factor authentication (TOTP, Redmine 4.2+, the administration setting
//!   "Two-factor authentication": disabled, optional, required, required for administrators):
//!   <https://www.redmine.org/projects/redmine/wiki/RedmineAccounts> and
//!   <https://www.redmine.org/projects/redmine/wiki/RedmineSettings#Two-factor-authentication>
//! - API access key on the "My account" page: <https://www.redmine.org/projects/redmine/wiki/RedmineAccounts#My-account>

mod html;
mod model;
mod resources;
mod rest;
#[cfg(test)]
mod tests;
mod twofa;
mod web_sign_in;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, ConnectorContext, ConnectorError, ConnectorInfo, MemberPage,
    MemberState, ResourceGrant, ResourceMemberPage, ResourcePage,
};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Chosen, Invitee, Members};
use crate::sdk::errors::unexpected;
use crate::sdk::members::{
    admin_flag_app, admin_role, email_local_part, role_is_admin, ROLE_ADMIN,
};
use crate::sdk::{Auth, HttpClient};
pub(crate) use model::{derive_login, split_name};
use model::{session_user, Cursor, RedmineUser, SessionToken};
pub use rest::Rest;
use rest::{map_error, Call, RedmineReply};
pub(crate) use twofa::{
    check_authenticator, codes_refused, held_at, second_factor, twofa_code, twofa_session_ended,
};
pub use web_sign_in::{confirm_totp, enable_totp_for, TotpSetup};
use web_sign_in::{password_step, totp_step, unexpected_page, web, AfterPassword};

/// The connector's name in the catalog.
pub const NAME: &str = "redmine";

/// The app's name in messages.
pub(crate) const APP: &str = "Redmine";
/// The REST API's authentication header.
const API_KEY_HEADER: &str = "X-Redmine-API-Key";
/// Users per page: the REST API's maximum `limit`.
const PAGE_SIZE: usize = 100;
/// Redmine's user statuses (`User::STATUS_*`), listed in this order.
const STATUS_ACTIVE: u8 = 1;
const STATUS_REGISTERED: u8 = 2;
const STATUS_LOCKED: u8 = 3;
const STATUSES: [u8; 3] = [STATUS_ACTIVE, STATUS_REGISTERED, STATUS_LOCKED];
/// Redmine's limits (`app/models/user.rb`).
const LOGIN_MAX: usize = 60;
const NAME_MAX: usize = 30;

type R<T> = Result<T, ConnectorError>;

/// The Redmine connector ([`AppConnector`] of [`Redmine`]). Cheap to clone; share one per
/// process (it pools connections).
pub type RedmineConnector = AppConnector<Redmine>;

/// Redmine as the connector builder's [`App`]: its sign-in through the web login and its REST
/// API with the account's API key ([`Rest`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Redmine;

#[async_trait]
impl App for Redmine {
    const NAME: &'static str = NAME;
    type Api<'a> = Rest<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        let members = vec![ListMembers, Invite, UpdateRole, Remove, KeepSeat];
        let resources = [ListResources, ResourceRoles];
        admin_flag_app(NAME, members.into_iter().chain(resources).collect())
    }

    /// The web login (password, then a TOTP code when Redmine asks), then the account's API
    /// key from `/my/api_key`, checked on `/users/current.json`.
    async fn login(&self, http: &HttpClient, ctx: &ConnectorContext) -> R<AppSession> {
        check_authenticator(ctx)?;
        let mut web = web(http, ctx)?;
        let second_factor = match password_step(&mut web, ctx).await? {
            AfterPassword::SignedIn => false,
            AfterPassword::SecondFactor => {
                totp_step(&mut web, second_factor(ctx)?).await?;
                true
            }
        };

        let page = web.get("/my/api_key").await?;
        let api_key = match (page.status, page.location_path()) {
            (StatusCode::OK, _) => html::api_key(&page.text).ok_or_else(|| {
                if html::has_field(&page.text, "sudo_password") {
                    ConnectorError::Configuration(
                        "Redmine asks for the password again (sudo mode) to show the API key"
                            .into(),
                    )
                } else {
                    unexpected_page(&page, "show the API key")
                }
            })?,
            (s, Some(path)) if s.is_redirection() => {
                return Err(if let Some(held) = held_at(&path) {
                    held
                } else if path.ends_with("/login") {
                    ConnectorError::BadCredentials("Redmine ended the web session".into())
                } else {
                    unexpected_page(&page, "show the API key")
                });
            }
            _ => return Err(map_error(&page, Call::Web, "show the API key")),
        };

        // The key just read must open the REST API; a 401 here means the API is disabled.
        let key = SecretString::from(api_key);
        let api = web
            .ep
            .clone()
            .with_auth(Auth::Header(API_KEY_HEADER, key.clone()));
        let r = api.get("/users/current.json").send().await?;
        if r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::FORBIDDEN {
            return Err(ConnectorError::Configuration(
                "Redmine's REST API is disabled: enable it in Administration → Settings → API"
                    .into(),
            ));
        }
        let me = r.json(Call::Api, "read the signed-in user")?;
        let me = me.get("user").unwrap_or(&Value::Null);
        let (Some(id), Some(login)) = (
            me.get("id").and_then(Value::as_u64),
            me.get("login").and_then(Value::as_str),
        ) else {
            return Err(unexpected(APP, "read the signed-in user"));
        };
        debug!(user_id = id, second_factor, "signed in to Redmine");
        Ok(AppSession {
            token: SessionToken {
                api_key: key,
                cookie: web.cookies.header(),
            }
            .encode(),
            data: json!({
                "user_id": id,
                "login": login,
                "admin": me.get("admin").and_then(Value::as_bool).unwrap_or(false),
                "second_factor": if second_factor { "totp" } else { "none" },
            }),
        })
    }

    /// The REST API with the session's API key.
    fn api<'a>(&self, http: &'a HttpClient, ctx: &ConnectorContext, s: &AppSession) -> R<Rest<'a>> {
        let key = SessionToken::parse(s)?.api_key;
        let ep = http.endpoint_for(ctx)?;
        let ep = ep.with_auth(Auth::Header(API_KEY_HEADER, key));
        Ok(Rest {
            ep,
            me: session_user(s),
        })
    }
}

#[async_trait]
impl Members for Rest<'_> {
    const APP: &'static str = APP;

    /// The account lists users of any status (`GET /users.json`): only administrators may.
    async fn verify_permissions(&self) -> R<()> {
        self.ep
            .get("/users.json")
            .query(&[("status", String::new()), ("limit", "1".into())])
            .send()
            .await?
            .json(Call::Api, "list users")
            .map(drop)
    }

    /// Users status by status (the list does not report a user's status), by login, 100 a
    /// page; an empty status moves on to the next one within the same call.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let mut cursor = match cursor {
            Some(c) => Cursor::parse(c)?,
            None => Cursor::start(STATUS_ACTIVE),
        };
        // Status by status (the list does not report a user's status); an empty status moves
        // on to the next one within the same call.
        loop {
            let (members, next) = self.list_page(&cursor).await?;
            if !members.is_empty() {
                debug!(
                    count = members.len(),
                    status = cursor.status,
                    "listed a page of Redmine users"
                );
                return Ok(MemberPage {
                    members,
                    next: next.map(|c| c.encode()),
                });
            }
            match next {
                Some(n) => cursor = n,
                None => {
                    return Ok(MemberPage {
                        members,
                        next: None,
                    })
                }
            }
        }
    }

    /// A user by numeric id, or by login.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        Ok(self.resolve(id).await?.map(|u| u.member))
    }

    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        Ok(self.user_by_email(email).await?.map(|u| u.member))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.is_some_and(|me| m.app_member_id == me.to_string())
    }

    /// `admin` or `user` (any case): the administrator flag.
    async fn role(&self, role: &str) -> R<String> {
        Ok(admin_role(role_is_admin(APP, role)?))
    }

    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let fields = json!({ "admin": role == ROLE_ADMIN });
        let u = self.update_user(id(&m)?, fields, "set the administrator flag");
        Ok(u.await?.member)
    }

    /// Unlocks the user (status 1) with the invitation's administrator flag.
    async fn reactivate(&self, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
        let fields = json!({ "status": STATUS_ACTIVE, "admin": to.role == ROLE_ADMIN });
        let u = self.update_user(id(&m)?, fields, "unlock a user").await?;
        debug!(member = %u.member.app_member_id, "unlocked a Redmine user");
        Ok(u.member)
    }

    /// The login a chosen username gives, to create: Redmine refuses one that is taken
    /// (`Conflict`, "has already been taken").
    async fn chosen(&self, name: &str) -> R<Chosen> {
        Ok(Chosen::New(derive_login(name)?))
    }

    /// The login the address's local part gives (Redmine refuses a login taken: `Conflict`).
    async fn free_username(&self, email: &str) -> R<String> {
        derive_login(email_local_part(email))
    }

    /// `POST /users.json` with a generated password, which Redmine mails to the new user.
    async fn create(&self, login: &str, to: &Invitee<'_>) -> R<AppMember> {
        let (firstname, lastname) = split_name(to.inv.name.as_deref(), to.email);
        let body = json!({
            "user": {
                "login": login,
                "firstname": firstname,
                "lastname": lastname,
                "mail": to.email,
                "generate_password": true,
                "admin": to.role == ROLE_ADMIN,
            },
            // Redmine mails the new user their login and the generated password.
            "send_information": true,
        });
        let created = self
            .ep
            .request(Method::POST, "/users.json")
            .json(body)
            .send()
            .await?
            .json(Call::Api, "create a user")?;
        let u = RedmineUser::from_json(created.get("user").unwrap_or(&Value::Null), None)
            .ok_or_else(|| unexpected(APP, "create a user"))?;
        debug!(member = %u.member.app_member_id, "created a Redmine user");
        Ok(u.member)
    }

    /// Locks the user (status 3): their issues, comments and history stay.
    async fn remove(&self, m: AppMember) -> R<()> {
        if m.state == MemberState::Deactivated {
            return Ok(());
        }
        let id = id(&m)?;
        let locked = json!({ "status": STATUS_LOCKED });
        self.update_user(id, locked, "lock a user").await?;
        debug!(member = id, "locked a Redmine user");
        Ok(())
    }

    /// Locks the user, as removal does ([`Capability::KeepSeat`]: Redmine's removal keeps the
    /// account): the user as it is after.
    ///
    /// Errors: `NotFound` when the user is gone.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        let key = m.app_member_id.clone();
        self.remove(m).await?;
        let after = self.member(&key).await?;
        after.ok_or_else(|| ConnectorError::NotFound(format!("no Redmine user {key}")))
    }

    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        self.project_page(cursor).await
    }

    async fn resource_members(&self, id: &str, cursor: Option<&str>) -> R<ResourceMemberPage> {
        self.project_members(id, cursor).await
    }

    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        self.grant_project_role(grant).await
    }

    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        self.revoke_project_roles(id, member).await
    }
}

/// A member's Redmine user id.
fn id(m: &AppMember) -> R<u64> {
    m.app_member_id
        .parse()
        .map_err(|_| unexpected(APP, "read a user"))
}
