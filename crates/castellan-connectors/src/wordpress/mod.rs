//! WordPress, through its REST API as an administrator signed in with an Application Password
//! (HTTP Basic). Roles are the site's: the five defaults and custom ones; WordPress has no REST
//! endpoint for roles, so the SDK adds to the defaults every role a member holds
//! ([`Members::DEFAULT_ROLES`]: a custom role nobody holds is not seen). A user with no role on the site is reported
//! `deactivated`: keep-seat removal takes every role away. Removal deletes the user and hands
//! their posts to the hub's `reassign_to` user (an id, username or email; required).
//! Invited members get a username from their email (`ana`, else `ana-2`…) and a password nobody
//! keeps (WordPress sends no email: "Lost your password?"). Calls go to
//! `<base>/?rest_route=/wp/v2/…`, which works without pretty permalinks too.
//!
//! - Users (`context=edit`, `search`, `orderby=id`, `offset`, `per_page` ≤ 100, `_fields`,
//!   `X-WP-Total`; create; `roles`; delete with `force` and `reassign`):
//!   <https://developer.wordpress.org/rest-api/reference/users/>,
//!   <https://developer.wordpress.org/rest-api/using-the-rest-api/pagination/>
//! - Application Passwords (HTTPS or a `local` site only):
//!   <https://make.wordpress.org/core/2020/11/05/application-passwords-integration-guide/>
//! - Capabilities: <https://wordpress.org/documentation/article/roles-and-capabilities/>

mod model;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{self, SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo,
    MemberPage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::debug;

use crate::sdk::builder::{first_unused, App, AppConnector, Invitee, Members};
use crate::sdk::errors::{found, gone, unexpected};
use crate::sdk::http::Request;
use crate::sdk::members::{email_local_part, given, normalize_email, require_rights};
use crate::sdk::paging::{first_in_pages, growing_ids_members, Rows};
use crate::sdk::rest::{header_count, json_body};
use crate::sdk::usernames::{derive, random_password};
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{map_error, WpUser, NEEDED};
pub(crate) use model::{ADMIN, DEFAULT_ROLES};

/// The connector's name in the catalog.
pub const NAME: &str = "wordpress";
/// The hub setting naming who receives a removed member's posts and links.
pub const REASSIGN_TO: &str = "reassign_to";
pub(crate) const APP: &str = "WordPress";
const USERS: &str = "/wp/v2/users";
const ME: &str = "/wp/v2/users/me";
/// Users per page: the REST API's maximum `per_page`.
const PAGE: usize = 100;
/// `user_login` is `varchar(60)`; strict `sanitize_user` keeps these characters (and `@`).
const LOGIN_MAX: usize = 60;
const LOGIN_CHARS: fn(char) -> bool = |c| c.is_ascii_alphanumeric() || "._-".contains(c);

type R<T> = Result<T, E>;
/// A JSON answer and its `X-WP-Total` count.
type Got = R<(Value, Option<usize>)>;

/// The WordPress connector ([`AppConnector`] of [`WordPress`]). Cheap to clone; share one per
/// process (it pools connections).
pub type WordPressConnector = AppConnector<WordPress>;

/// WordPress as the connector builder's [`App`]: its settings, its sign-in with an application
/// password (`GET /wp/v2/users/me`), and its REST API ([`Site`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct WordPress;

#[async_trait]
impl App for WordPress {
    const NAME: &'static str = NAME;
    type Api<'a> = Site<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Secret, Text, Url};
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: DEFAULT_ROLES.map(String::from).into(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, KeepSeat, ListRoles],
            default_role: "subscriber".to_owned(), // WordPress's own `default_role`
            sign_in: SignIn::UsernameAndToken,
            settings: settings::self_hosted(
                SettingField::new(BASE_URL, "Site address", Url, true)
                    .help("Settings → General → Site Address, e.g. https://blog.example.org"),
                [
                    SettingField::new(API_TOKEN, "Application password", Secret, false).help(
                        "An application password of the automation account, an administrator \
                         (Users → Profile → Application Passwords); else its password is one",
                    ),
                    SettingField::new(REASSIGN_TO, "Give removed members' content to", Text, true)
                        .help("The id, username or email of who gets a removed member's posts"),
                ],
            ),
        }
    }

    /// Reads the account itself (`/wp/v2/users/me`) with the application password: the
    /// `api_token` secret, else the account's password.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = ctx.api_token.as_ref().unwrap_or(&ctx.password).clone();
        let site = Site::new(http, ctx, &token, None)?;
        let (me, _) = site.get(ME, &[], "sign in").await?;
        let me = WpUser::parse(&me, "sign in")?;
        debug!(user_id = me.id, "signed in to WordPress");
        let data = json!({ "user_id": me.id, "username": me.username });
        Ok(Session { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Site<'a>> {
        Site::new(http, ctx, &s.token, s.data["user_id"].as_u64())
    }
}

/// The REST API as the automation account (WordPress user id `me`) for one call: its users
/// (<https://developer.wordpress.org/rest-api/reference/users/>) as [`AppMember`]s.
#[derive(Debug)]
pub struct Site<'a> {
    api: Endpoint<'a>,
    me: Option<u64>,
    reassign_to: Option<String>,
}

impl<'a> Site<'a> {
    /// The API at the hub's base URL as the account with `token` (user id `me`, once known).
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: Option<u64>) -> R<Self> {
        let (user, password) = (ctx.username.trim().to_owned(), token.clone());
        let api = http.endpoint_for(ctx)?;
        let api = api.with_auth(Auth::Basic { user, password });
        let reassign_to = ctx.setting(REASSIGN_TO).map(str::to_owned);
        Ok(Self {
            api,
            me,
            reassign_to,
        })
    }

    /// A request to a REST route: `<base>/?rest_route=<route>`.
    fn at(&self, method: Method, route: &str) -> Request<'_> {
        let q = [("rest_route", route.to_owned())];
        self.api.request(method, "/").query(&q)
    }

    /// Sends `req` (writes once, unless marked idempotent): the JSON answer, `X-WP-Total`.
    async fn send(req: Request<'_>, what: &str) -> Got {
        let r = req.send().await?;
        let total = header_count(&r, "x-wp-total");
        Ok((json_body(r, APP, what, |r| map_error(r, what))?, total))
    }

    /// A read with `context=edit` (emails, usernames and roles).
    async fn get(&self, route: &str, q: &[(&str, String)], what: &str) -> Got {
        let edit = [("context", "edit".to_owned())];
        Self::send(self.at(Method::GET, route).query(&edit).query(q), what).await
    }

    /// A user by id, `None` when WordPress has none.
    async fn user(&self, id: u64) -> R<Option<WpUser>> {
        let u = found(self.get(&format!("{USERS}/{id}"), &[], "read a user").await)?;
        u.map(|(u, _)| WpUser::parse(&u, "read a user")).transpose()
    }

    /// Users by id from `offset` (only the fields read: `context=edit` adds every capability),
    /// and their total. With `search`, WordPress looks in the email column when it has an `@`,
    /// else in username, email, URL, nicename and display name.
    async fn users(&self, offset: usize, search: Option<&str>) -> Rows<WpUser> {
        let mut q = vec![("orderby", "id".into()), ("offset", offset.to_string())];
        q.push(("per_page", PAGE.to_string()));
        q.push(("_fields", "id,username,name,email,roles".into()));
        q.extend(search.map(|s| ("search", s.to_owned())));
        let (body, total) = self.get(USERS, &q, "list users").await?;
        let users = Vec::deserialize(&body).map_err(|_| unexpected(APP, "list users"))?;
        Ok((users, total))
    }

    /// The first user `search` finds for whom `hit` holds.
    async fn find(&self, search: &str, hit: impl Fn(&WpUser) -> bool) -> R<Option<WpUser>> {
        first_in_pages(PAGE, |at| self.users(at, Some(search)), hit).await
    }

    /// A user by id (digits), email (with `@`) or username (any case).
    async fn resolve(&self, key: &str) -> R<Option<WpUser>> {
        let key = key.trim();
        if let Ok(id) = key.parse::<u64>() {
            return self.user(id).await;
        }
        if key.contains('@') {
            let email = normalize_email(key)?;
            let hit = |u: &WpUser| u.email() == email;
            return self.find(&email, hit).await;
        }
        let hit = |u: &WpUser| u.username.eq_ignore_ascii_case(key);
        Ok(match key {
            "" => None,
            _ => self.find(key, hit).await?,
        })
    }

    /// Replaces a user's roles (none: no access to the site). Safe to send twice.
    async fn set_roles(&self, m: &AppMember, roles: &[&str]) -> R<AppMember> {
        let req = self.at(Method::POST, &format!("{USERS}/{}", m.app_member_id));
        let req = req.json(json!({ "roles": roles })).idempotent();
        let (u, _) = Self::send(req, "change a user's roles").await?;
        Ok(WpUser::parse(&u, "change a user's roles")?.member())
    }
}

/// The username an address gives: its local part with characters WordPress refuses as `_`
/// ([`derive`]), else `member` (to be made unique with [`first_unused`]).
pub(crate) fn login_of(email: &str) -> String {
    let base = derive(email_local_part(email), LOGIN_CHARS, LOGIN_MAX);
    base.unwrap_or_else(|| "member".into())
}

#[async_trait]
impl Members for Site<'_> {
    const APP: &'static str = APP;
    /// WordPress has no REST endpoint for roles: the five defaults, and those members hold.
    const DEFAULT_ROLES: Option<&'static [&'static str]> = Some(&DEFAULT_ROLES);

    /// The account must be an administrator or hold every capability in [`NEEDED`].
    async fn verify_permissions(&self) -> R<()> {
        let (me, _) = self.get(ME, &[], "read the account").await?;
        let roles = WpUser::parse(&me, "read the account")?.roles;
        let admin = roles.iter().any(|r| r == ADMIN);
        let has = |c: &str| admin || me["capabilities"][c] == true;
        require_rights(&NEEDED, has, "make it a WordPress administrator")
    }

    /// Users by id, 100 a page ([`growing_ids_members`]: user ids only grow, so nobody is missed
    /// while users are deleted).
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let fetch = |from| self.users(from, None);
        growing_ids_members(cursor, APP, PAGE, |u: &WpUser| u.id, WpUser::member, fetch).await
    }

    /// A user by id (digits), email (with `@`) or username (any case).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        Ok(self.resolve(id).await?.map(WpUser::member))
    }

    /// The user WordPress's search of the email column finds with exactly this address.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        self.member(email).await
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.is_some_and(|me| m.app_member_id == me.to_string())
    }

    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        self.set_roles(&m, &[role]).await
    }

    /// The address's username ([`login_of`]), made unique with [`first_unused`].
    async fn free_username(&self, email: &str) -> R<String> {
        first_unused(self, &login_of(email)).await
    }

    /// Creates a user with a random password nobody keeps; sent once.
    async fn create(&self, login: &str, to: &Invitee<'_>) -> R<AppMember> {
        let password = random_password();
        let mut body = json!({ "username": login, "email": to.email, "password": password });
        body["roles"] = json!([to.role]);
        if let Some(name) = given(&to.inv.name) {
            body["name"] = json!(name);
        }
        let (u, _) = Self::send(self.at(Method::POST, USERS).json(body), "create a user").await?;
        let u = WpUser::parse(&u, "create a user")?;
        debug!(member = u.id, "created a WordPress user");
        Ok(u.member())
    }

    /// Deletes the user (`force=true`); their content goes to `reassign_to`. Gone: done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let to = match &self.reassign_to {
            Some(key) => self.resolve(key).await?.map(|t| t.id.to_string()),
            None => None,
        };
        let Some(to) = to.filter(|t| *t != m.app_member_id) else {
            let why = format!("{REASSIGN_TO} must name another WordPress user");
            return Err(E::Configuration(why));
        };
        let q = [("force", "true".to_owned()), ("reassign", to.clone())];
        let req = self.at(Method::DELETE, &format!("{USERS}/{}", m.app_member_id));
        gone(Self::send(req.query(&q).idempotent(), "delete a user").await)?;
        debug!(member = %m.app_member_id, to, "deleted a WordPress user");
        Ok(())
    }

    /// Takes every role on the site away (`roles: []`); the account stays.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        self.set_roles(&m, &[]).await
    }
}
