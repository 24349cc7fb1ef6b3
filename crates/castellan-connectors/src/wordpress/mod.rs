//! WordPress, through its REST API as an administrator signed in with an Application Password
//! (HTTP Basic). Roles are the site's: the five defaults and custom ones; WordPress has no REST
//! endpoint for roles, so [`Connector::list_roles`] adds to the defaults every role a member
//! holds (a custom role nobody holds is not seen). A user with no role on the site is reported
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

use std::collections::BTreeSet;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{self, SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppRole, AppSession as Session, Connector, ConnectorContext as Ctx,
    ConnectorError as E, ConnectorInfo, Invitation, MemberPage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::{debug, instrument};

use crate::sdk::errors::{found, gone, unexpected};
use crate::sdk::http::Request;
use crate::sdk::members::{email_local_part, given, normalize_email, not_self, require_rights};
use crate::sdk::paging::{first_in_pages, growing_ids_page, AnchoredOffset, Rows};
use crate::sdk::rest::{header_count, json_body};
use crate::sdk::usernames::{candidates, derive, random_password};
use crate::sdk::{Auth, Endpoint};
use model::{app_roles, map_error, WpUser, ADMIN, DEFAULT_ROLES, NEEDED};

/// The connector's name in the catalog.
pub const NAME: &str = "wordpress";
/// The hub setting naming who receives a removed member's posts and links.
pub const REASSIGN_TO: &str = "reassign_to";
const APP: &str = "WordPress";
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

crate::sdk::http_connector!(
    /// The WordPress connector. Cheap to clone; share one per process (it pools connections).
    WordPressConnector
);

impl WordPressConnector {
    fn site(&self, ctx: &Ctx, token: &SecretString, me: Option<u64>) -> R<Site<'_>> {
        let api = self.http.endpoint_for(ctx)?;
        let user = ctx.username.trim().to_owned();
        let password = token.clone();
        let api = api.with_auth(Auth::Basic { user, password });
        Ok(Site { api, me })
    }

    fn session(&self, ctx: &Ctx, s: &Session) -> R<Site<'_>> {
        self.site(ctx, &s.token, s.data["user_id"].as_u64())
    }
}

/// The REST API as the automation account (WordPress user id `me`) for one call.
struct Site<'a> {
    api: Endpoint<'a>,
    me: Option<u64>,
}

impl Site<'_> {
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

    async fn existing(&self, key: &str) -> R<WpUser> {
        let u = self.resolve(key).await?;
        u.ok_or_else(|| E::NotFound(format!("no WordPress user {key}")))
    }

    /// Replaces a user's roles (none: no access to the site). Safe to send twice.
    async fn set_roles(&self, u: &WpUser, roles: &[&str]) -> R<AppMember> {
        let me = self.me == Some(u.id);
        not_self(me && roles != ["administrator"], "demote itself")?;
        let req = self.at(Method::POST, &format!("{USERS}/{}", u.id));
        let req = req.json(json!({ "roles": roles })).idempotent();
        let (u, _) = Self::send(req, "change a user's roles").await?;
        Ok(WpUser::parse(&u, "change a user's roles")?.member())
    }

    /// Creates a user with a random password nobody keeps; sent once.
    async fn create(&self, login: &str, email: &str, inv: &Invitation) -> R<AppMember> {
        let password = random_password();
        let mut body = json!({ "username": login, "email": email, "password": password });
        body["roles"] = json!([inv.role.trim()]);
        if let Some(name) = given(&inv.name) {
            body["name"] = json!(name);
        }
        let (u, _) = Self::send(self.at(Method::POST, USERS).json(body), "create a user").await?;
        let u = WpUser::parse(&u, "create a user")?;
        debug!(member = u.id, "created a WordPress user");
        Ok(u.member())
    }

    /// One page of the listing from `at`: the users not listed yet and the next cursor. User
    /// ids only grow, so [`growing_ids_page`] misses nobody while users are deleted.
    async fn page(&self, at: &AnchoredOffset) -> R<(Vec<WpUser>, Option<AnchoredOffset>)> {
        growing_ids_page(at, PAGE, |u: &WpUser| u.id, |from| self.users(from, None)).await
    }

    /// Gives the user `key` exactly `roles` (none: no access to the site), unless they have
    /// them. Errors: `NotFound` for no such user.
    async fn ensure_roles(&self, key: &str, roles: &[&str]) -> R<AppMember> {
        let u = self.existing(key).await?;
        match u.roles == roles {
            true => Ok(u.member()),
            false => self.set_roles(&u, roles).await,
        }
    }
}

#[async_trait]
impl Connector for WordPressConnector {
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
    #[instrument(skip_all, fields(connector = NAME, username = %ctx.username))]
    async fn login(&self, ctx: &Ctx) -> R<Session> {
        let token = ctx.api_token.as_ref().unwrap_or(&ctx.password).clone();
        let site = self.site(ctx, &token, None)?;
        let (me, _) = site.get(ME, &[], "sign in").await?;
        let me = WpUser::parse(&me, "sign in")?;
        debug!(user_id = me.id, "signed in to WordPress");
        let data = json!({ "user_id": me.id, "username": me.username });
        Ok(Session { token, data })
    }

    /// The account must be an administrator or hold every capability in [`NEEDED`].
    #[instrument(skip_all, fields(connector = NAME))]
    async fn verify_permissions(&self, ctx: &Ctx, s: &Session) -> R<()> {
        let site = self.session(ctx, s)?;
        let (me, _) = site.get(ME, &[], "read the account").await?;
        let roles = WpUser::parse(&me, "read the account")?.roles;
        let admin = roles.iter().any(|r| r == ADMIN);
        let has = |c: &str| admin || me["capabilities"][c] == true;
        require_rights(&NEEDED, has, "make it a WordPress administrator")
    }

    #[instrument(skip_all, fields(connector = NAME, cursor = cursor.as_deref().unwrap_or("")))]
    async fn list_members(&self, ctx: &Ctx, s: &Session, cursor: Option<String>) -> R<MemberPage> {
        let numeric = |a: Option<&str>| a.is_none_or(|a| a.parse::<u64>().is_ok());
        let at = AnchoredOffset::from_cursor(cursor.as_deref(), APP, numeric)?;
        let (users, next) = self.session(ctx, s)?.page(&at).await?;
        let members = users.into_iter().map(WpUser::member).collect();
        let next = next.map(|n| n.encode());
        Ok(MemberPage { members, next })
    }

    #[instrument(skip_all, fields(connector = NAME, member = %id))]
    async fn get_member(&self, ctx: &Ctx, s: &Session, id: &str) -> R<Option<AppMember>> {
        Ok(self.session(ctx, s)?.resolve(id).await?.map(WpUser::member))
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn find_by_email(&self, ctx: &Ctx, s: &Session, email: &str) -> R<Option<AppMember>> {
        self.get_member(ctx, s, &normalize_email(email)?).await
    }

    /// Idempotent by email: the user holding the address is the invitee (given the role back
    /// when they have none). A chosen username names that user; a derived one is never reused.
    #[instrument(skip_all, fields(connector = NAME, role = %inv.role))]
    async fn invite(&self, ctx: &Ctx, s: &Session, inv: &Invitation) -> R<AppMember> {
        let role = inv.role.trim();
        if role.is_empty() {
            let why = "an invitation needs a WordPress role";
            return Err(E::Configuration(why.into()));
        }
        let (email, site) = (normalize_email(&inv.email)?, self.session(ctx, s)?);
        if let Some(u) = site.resolve(&email).await? {
            if u.roles.is_empty() {
                return site.set_roles(&u, &[role]).await;
            }
            return Ok(u.member());
        }
        if let Some(name) = given(&inv.username) {
            return match site.resolve(name).await? {
                None => site.create(name, &email, inv).await,
                Some(u) if u.roles.is_empty() => site.set_roles(&u, &[role]).await,
                Some(u) => Err(E::Conflict(format!("{} is somebody else's", u.username))),
            };
        }
        let base = derive(email_local_part(&email), LOGIN_CHARS, LOGIN_MAX);
        let base = base.unwrap_or_else(|| "member".into());
        for login in candidates(&base) {
            if site.resolve(&login).await?.is_none() {
                return site.create(&login, &email, inv).await;
            }
        }
        let why = format!("the usernames {base} to {base}-20 are all taken");
        Err(E::Conflict(why))
    }

    #[instrument(skip_all, fields(connector = NAME, member = %id, role = %role))]
    async fn update_role(&self, ctx: &Ctx, s: &Session, id: &str, role: &str) -> R<AppMember> {
        self.session(ctx, s)?.ensure_roles(id, &[role.trim()]).await
    }

    /// Deletes the user (`force=true`); their content goes to `reassign_to`. Gone: done.
    #[instrument(skip_all, fields(connector = NAME, member = %id))]
    async fn remove(&self, ctx: &Ctx, s: &Session, id: &str) -> R<()> {
        let site = self.session(ctx, s)?;
        let Some(u) = site.resolve(id).await? else {
            return Ok(());
        };
        not_self(site.me == Some(u.id), "delete itself")?;
        let to = match ctx.setting(REASSIGN_TO) {
            Some(key) => site.resolve(key).await?.map(|t| t.id),
            None => None,
        };
        let Some(to) = to.filter(|t| *t != u.id) else {
            let why = format!("{REASSIGN_TO} must name another WordPress user");
            return Err(E::Configuration(why));
        };
        let q = [("force", "true".to_owned()), ("reassign", to.to_string())];
        let req = site.at(Method::DELETE, &format!("{USERS}/{}", u.id));
        gone(Site::send(req.query(&q).idempotent(), "delete a user").await)?;
        debug!(member = u.id, to, "deleted a WordPress user");
        Ok(())
    }

    /// The five default roles and every role a member holds (a full listing).
    #[instrument(skip_all, fields(connector = NAME))]
    async fn list_roles(&self, ctx: &Ctx, s: &Session) -> R<Vec<AppRole>> {
        let site = self.session(ctx, s)?;
        let (mut held, mut at) = (BTreeSet::new(), AnchoredOffset::default());
        loop {
            let (users, next) = site.page(&at).await?;
            held.extend(users.into_iter().flat_map(|u| u.roles));
            match next {
                Some(n) => at = n,
                None => return Ok(app_roles(held)),
            }
        }
    }

    /// Takes every role on the site away (`roles: []`); the account stays.
    #[instrument(skip_all, fields(connector = NAME, member = %id))]
    async fn remove_keep_seat(&self, ctx: &Ctx, s: &Session, id: &str) -> R<AppMember> {
        self.session(ctx, s)?.ensure_roles(id, &[]).await
    }
}
