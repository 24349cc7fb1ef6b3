//! Redmine through its own administration pages in a headless browser, as an administrator
//! signed in with its password (and a TOTP code when the account has two-factor
//! authentication): the browser bot's connector for a Redmine whose REST API is off (the
//! `redmine` connector is the API one). It opens only the pages a person would use: no
//! `*.json` or `*.xml` endpoint, no database.
//!
//! - **Sign-in** on `/login` (username, password). When Redmine asks for the second factor
//!   (`/account/twofa/confirm`), a code from the account's authenticator (`ctx.totp`, computed
//!   at that moment); Redmine refuses a code of a time step it has accepted before, so a refused
//!   code is followed by the next step's, as the API connector's web sign-in does. The account's
//!   user id is read from the layout's "Logged in as" link. A page after the sign-in that is
//!   neither Redmine signed in nor a known refusal is `NeedsHuman`.
//! - **Members**: Administration → Users (`/users`), every status (`status=`), by login, 100
//!   rows a page (`per_page`, `page`); a row's class says its status (registered → `invited`,
//!   locked → `deactivated`). Roles are the administrator flag, `admin` and `user`, as the
//!   `redmine` connector names them. Lookups use the list's search (`name`: login, names and
//!   email); a user by id is read on its edit page (`/users/<id>/edit`).
//! - **Invitation**: New user (`/users/new`): the login derived as the API connector derives it,
//!   first and last name, email, a random password nobody keeps, no "Send account information"
//!   mail, the Administrator box by role.
//! - **Role change**: the Administrator box of the user's edit page.
//! - **Removal** deletes the user (the edit page's Delete, confirmed); **keep-seat removal**
//!   locks the user (its Lock link), as the API connector's removal does; invited again, a
//!   locked user is unlocked.
//!
//! Sources: <https://www.redmine.org/projects/redmine/wiki/RedmineUsers> (the users list, new
//! user, edit, lock and delete), <https://www.redmine.org/projects/redmine/wiki/RedmineAccounts>
//! (signing in, two-factor authentication) and
//! <https://www.redmine.org/projects/redmine/wiki/RedmineSettings#Two-factor-authentication>.

mod pages;

use std::time::Duration;

use async_trait::async_trait;
use castellan_core::catalog::Capability::*;
use castellan_core::connector::browser::BrowserCookie;
use castellan_core::connector::{AppMember, AppSession, ConnectorContext as Ctx};
use castellan_core::connector::{ConnectorError as E, ConnectorInfo, MemberPage, MemberState};
use serde_json::{json, Value};
use tokio::sync::MappedMutexGuard;

use crate::redmine::{check_authenticator, derive_login, held_at, split_name, APP};
use crate::sdk::browser::{session_of, BrowserBot, CallPage, Page};
use crate::sdk::builder::{confirmed, App, AppConnector, Chosen, Invitee, Members};
use crate::sdk::members::ROLE_ADMIN;
use crate::sdk::members::{admin_flag_app, admin_role, email_local_part, role_is_admin};
use crate::sdk::usernames::random_password;
use crate::sdk::HttpClient;
use pages::{refusal, sign_in, Cursor, Messages, Row, Table};
use pages::{
    CONFIRM_DELETE, CONFIRM_LOGIN, CONFIRM_WAIT, CREATE, DELETE, LOCK, LOGIN_PAGE, SAVE, UNLOCK,
};

/// The connector's name in the catalog.
pub const NAME: &str = "redmine_browser";
/// Rows of the users table per page (one of Redmine's default "Objects per page options").
const PER_PAGE: u32 = 100;

type R<T> = Result<T, E>;

/// The connector ([`AppConnector`] of [`RedmineAdmin`]).
pub type RedmineBrowserConnector = AppConnector<RedmineAdmin>;

/// Redmine's administration pages as the connector builder's [`App`], on a [`BrowserBot`]
/// (without one, every call is `Unavailable`).
#[derive(Debug, Clone, Default)]
pub struct RedmineAdmin {
    bot: Option<BrowserBot>,
}

impl RedmineAdmin {
    /// The connector on `bot`.
    pub fn connector(bot: BrowserBot) -> RedmineBrowserConnector {
        AppConnector::with_app(Self { bot: Some(bot) })
    }

    fn bot(&self) -> R<&BrowserBot> {
        BrowserBot::running(self.bot.as_ref())
    }
}

#[async_trait]
impl App for RedmineAdmin {
    const NAME: &'static str = NAME;
    type Api<'a> = Admin;

    /// The `redmine` connector's roles and member capabilities (a hub may switch between them);
    /// no projects.
    fn describe(&self) -> ConnectorInfo {
        admin_flag_app(
            NAME,
            vec![ListMembers, Invite, UpdateRole, Remove, KeepSeat],
        )
    }

    async fn login(&self, _: &HttpClient, ctx: &Ctx) -> R<AppSession> {
        check_authenticator(ctx)?;
        let user = ctx.username.trim();
        if user.is_empty() {
            return Err(E::Configuration(
                "the automation account has no username".into(),
            ));
        }
        let bot = self.bot()?;
        let mut p = bot.open(ctx, APP).await?;
        let (id, login, second) = sign_in(&mut p, user, ctx).await?;
        let second = if second { "totp" } else { "none" };
        let data = json!({ "user_id": id, "login": login, "second_factor": second });
        let s = session_of(&mut p, data).await?;
        bot.keep(ctx, &s, p);
        Ok(s)
    }

    /// Cookies of Redmine signed in as the automation account: set on the sign-in page, then
    /// `/my/page` must show that account signed in.
    async fn adopt(&self, _: &HttpClient, ctx: &Ctx, cookies: Vec<BrowserCookie>) -> R<AppSession> {
        let bot = self.bot()?;
        let mut p = bot.open_with(ctx, APP, cookies, LOGIN_PAGE).await?;
        p.visit("/my/page").await?;
        let who: pages::SignedIn = p
            .read("read who is signed in", pages::SIGNED_IN, vec![])
            .await?;
        let (Some(id), Some(login)) = (who.id, who.login) else {
            let e = E::BadCredentials(format!(
                "Redmine does not take the session as signed in (it shows {})",
                p.path()
            ));
            return Err(p.failed("open My page with the uploaded session", e).await);
        };
        if !login.eq_ignore_ascii_case(ctx.username.trim()) {
            let e = E::BadCredentials(format!(
                "the session is signed in as {login}, not as the automation account"
            ));
            return Err(p.failed("open My page with the uploaded session", e).await);
        }
        let data = json!({ "user_id": id, "login": login, "second_factor": "uploaded" });
        let s = session_of(&mut p, data).await?;
        bot.keep(ctx, &s, p);
        Ok(s)
    }

    fn api(&self, _: &HttpClient, ctx: &Ctx, s: &AppSession) -> R<Admin> {
        let me = s.data["user_id"].as_str().unwrap_or_default().to_owned();
        let call = CallPage::new(self.bot()?.clone(), ctx.clone(), s.clone(), APP, LOGIN_PAGE);
        Ok(Admin { call, me })
    }
}

/// Redmine's administration as the session's account for one call, in the call's browser
/// ([`CallPage`]).
#[derive(Debug)]
pub struct Admin {
    call: CallPage,
    me: String,
}

impl Admin {
    async fn page(&self) -> R<MappedMutexGuard<'_, Page>> {
        self.call.get().await
    }

    /// The page at `path`, signed in; `None` when Redmine answers 404.
    ///
    /// Errors: `BadCredentials` when Redmine sends the browser to sign in again (or holds the
    /// account, [`held_at`]); `InsufficientPermission` for a page it refuses (403).
    async fn open(&self, path: &str) -> R<Option<MappedMutexGuard<'_, Page>>> {
        let mut p = self.page().await?;
        let load = p.visit(path).await?;
        if p.path().starts_with(LOGIN_PAGE) {
            return Err(E::BadCredentials(
                "the Redmine session has ended: sign in again".into(),
            ));
        }
        if let Some(held) = held_at(p.path()) {
            return Err(held);
        }
        match load.status {
            Some(403) => Err(E::InsufficientPermission(
                "the account is not a Redmine administrator".into(),
            )),
            Some(404) => Ok(None),
            _ => Ok(Some(p)),
        }
    }

    /// The page at `path`, signed in ([`Admin::open`]).
    ///
    /// Errors: `NotFound` for a 404; [`Admin::open`]'s.
    async fn go(&self, path: &str) -> R<MappedMutexGuard<'_, Page>> {
        let found = self.open(path).await?;
        found.ok_or_else(|| E::NotFound(format!("no Redmine page {path}")))
    }

    /// Page `n` of the users table by login, every status, searched for `search` (`None`:
    /// everyone).
    async fn table(&self, n: u32, search: Option<&str>) -> R<Table> {
        let q: String = search
            .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect())
            .unwrap_or_default();
        let path = format!("/users?status=&sort=login&per_page={PER_PAGE}&page={n}&name={q}");
        let mut p = self.go(&path).await?;
        let t: Table = p.read("read the users table", pages::USERS, vec![]).await?;
        if !t.list {
            return Err(E::AppChanged(format!("no users list at {}", p.path())));
        }
        Ok(t)
    }

    /// The first row the search for `search` finds for which `hit` holds, through every page.
    async fn find(&self, search: &str, hit: impl Fn(&Row) -> bool) -> R<Option<Row>> {
        for n in 1.. {
            let t = self.table(n, Some(search)).await?;
            let more = t.more();
            if let Some(r) = t.rows.into_iter().find(&hit) {
                return Ok(Some(r));
            }
            if !more {
                break;
            }
        }
        Ok(None)
    }

    /// A user by id (digits, read on its edit page) or login (any case), as the API connector
    /// resolves them.
    async fn row(&self, key: &str) -> R<Option<Row>> {
        let key = key.trim();
        if key.is_empty() {
            return Ok(None);
        }
        if !key.bytes().all(|b| b.is_ascii_digit()) {
            return self.find(key, |r| r.login.eq_ignore_ascii_case(key)).await;
        }
        match self.login_at(key).await? {
            Some(login) => self.find(&login, |r| r.id == key).await,
            None => Ok(None),
        }
    }

    /// The page's messages, as an error unless it says it saved.
    async fn saved(&self, what: &str) -> R<()> {
        let mut p = self.page().await?;
        let said: Messages = p
            .read("read the page's messages", pages::MESSAGES, vec![])
            .await?;
        if said.saved && said.errors.is_empty() {
            return Ok(());
        }
        Err(refusal(&said.errors, what, p.path()))
    }

    /// Clicks the link `css` of user `id`'s edit page (Lock, Unlock: Redmine's scripts send
    /// them as forms) and reads whether Redmine did `what`.
    async fn act(&self, id: &str, css: &str, what: &str) -> R<()> {
        let mut p = self.go(&edit(id)).await?;
        if !p.wait_for(css, Duration::ZERO).await? {
            let why = format!("no link to {what} on user {id}'s page");
            return Err(E::InsufficientPermission(why));
        }
        p.submit(css).await?;
        drop(p);
        self.saved(what).await
    }

    /// The login of user `id` as its edit page shows it; `None` when there is no such user.
    async fn login_at(&self, id: &str) -> R<Option<String>> {
        match self.open(&edit(id)).await? {
            Some(mut p) => p.read("read the user's login", pages::LOGIN, vec![]).await,
            None => Ok(None),
        }
    }

    /// One try of [`Members::remove`]'s clicks on user `id`, who must still have the login
    /// `was` when a first try read one (else `NotFound`: that user is gone and another holds
    /// the id). Returns the login it deleted, where the browser was after the clicks and what
    /// that page said.
    async fn delete_once(&self, id: &str, was: Option<&str>) -> R<(String, String)> {
        let mut p = self.go(&edit(id)).await?;
        let login: Option<String> = p
            .read("read the user's login", pages::LOGIN, vec![])
            .await?;
        let login = login.ok_or_else(|| E::AppChanged(format!("no login on user {id}'s page")))?;
        if was.is_some_and(|w| w != login) {
            return Err(E::NotFound(format!("user {id} is now {login}")));
        }
        if !p.wait_for(DELETE, Duration::ZERO).await? {
            let why = format!("no Delete link on user {id}'s page");
            return Err(E::InsufficientPermission(why));
        }
        p.read::<bool>("answer yes to the question", pages::CONFIRM_YES, vec![])
            .await?;
        p.submit(DELETE).await?;
        if p.wait_for(CONFIRM_LOGIN, CONFIRM_WAIT).await? {
            p.fill(CONFIRM_LOGIN, &login).await?;
            let typed: Option<String> = p
                .read("read the typed login", pages::CONFIRM_TYPED, vec![])
                .await?;
            if typed.as_deref() != Some(login.as_str()) {
                return Err(E::AppChanged(format!(
                    "the confirmation of user {id}'s deletion did not take its login"
                )));
            }
            p.submit(CONFIRM_DELETE).await?;
        }
        let said: Messages = p
            .read("read the page's messages", pages::MESSAGES, vec![])
            .await?;
        Ok((login, format!("on {}; {:?}", p.path(), said.errors)))
    }

    /// User `id` as it is now.
    async fn reread(&self, id: &str) -> R<AppMember> {
        let r = self.row(id).await?;
        r.map(|r| r.member())
            .ok_or_else(|| E::NotFound(format!("no Redmine user {id}")))
    }
}

#[async_trait]
impl Members for Admin {
    const APP: &'static str = APP;

    /// The account may list users (Administration → Users): only administrators may.
    async fn verify_permissions(&self) -> R<()> {
        self.table(1, None).await.map(drop)
    }

    /// Page by page by login; from a cursor, the page is read from the row after the last one
    /// listed (rows made before it meanwhile are skipped), and when that row has moved back to
    /// the page before (rows deleted meanwhile), the rest of that page comes first.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let at = cursor.map(Cursor::of).transpose()?;
        let n = at.as_ref().map_or(1, |c| c.page);
        let t = self.table(n, None).await?;
        let next = t.rows.last().filter(|_| t.more()).map(|last| Cursor {
            page: n + 1,
            after: last.id.clone(),
        });
        let mut rows = t.rows;
        if let Some(at) = at {
            match rows.iter().position(|r| r.id == at.after) {
                Some(i) => drop(rows.drain(..=i)),
                None => {
                    let before = self.table(n - 1, None).await?.rows;
                    if let Some(i) = before.iter().position(|r| r.id == at.after) {
                        rows.splice(0..0, before.into_iter().skip(i + 1));
                    }
                }
            }
        }
        Ok(MemberPage {
            members: rows.iter().map(Row::member).collect(),
            next: next.map(|c| c.encode()),
        })
    }

    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        Ok(self.row(id).await?.map(|r| r.member()))
    }

    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let hit = |r: &Row| r.email.trim().eq_ignore_ascii_case(email);
        Ok(self.find(email, hit).await?.map(|r| r.member()))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }

    /// `admin` or `user` (any case): the administrator flag.
    async fn role(&self, role: &str) -> R<String> {
        Ok(admin_role(role_is_admin(APP, role)?))
    }

    /// Ticks or unticks the Administrator box of the user's edit page.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let id = &m.app_member_id;
        let admin = role == ROLE_ADMIN;
        let mut p = self.go(&edit(id)).await?;
        let now: Option<bool> = p
            .read("read the administrator box", pages::ADMIN_BOX, vec![])
            .await?;
        match now {
            None => {
                let why = format!("the administrator box of user {id} cannot be changed");
                return Err(E::InsufficientPermission(why));
            }
            Some(now) if now != admin => {
                p.click("#user_admin").await?;
                p.submit(SAVE).await?;
                drop(p);
                self.saved("change a user's administrator flag").await?;
            }
            Some(_) => drop(p),
        }
        confirmed(self, id, role).await
    }

    /// Unlocks the user (its Unlock link); [`Members::reactivate`]'s caller then gives the role.
    async fn reactivate(&self, m: AppMember, _to: &Invitee<'_>) -> R<AppMember> {
        let id = &m.app_member_id;
        self.act(id, UNLOCK, "unlock a user").await?;
        self.reread(id).await
    }

    /// The login a chosen username gives, to create: Redmine refuses one that is taken
    /// (`Conflict`), as the API connector does.
    async fn chosen(&self, name: &str) -> R<Chosen> {
        Ok(Chosen::New(derive_login(name)?))
    }

    /// The login the address's local part gives (Redmine refuses a taken one: `Conflict`).
    async fn free_username(&self, email: &str) -> R<String> {
        derive_login(email_local_part(email))
    }

    /// New user with a random password nobody keeps and no account information mail; sent
    /// once.
    async fn create(&self, login: &str, to: &Invitee<'_>) -> R<AppMember> {
        let mut p = self.go("/users/new").await?;
        let (first, last) = split_name(to.inv.name.as_deref(), to.email);
        p.fill("#user_login", login).await?;
        p.fill("#user_firstname", &first).await?;
        p.fill("#user_lastname", &last).await?;
        p.fill("#user_mail", to.email).await?;
        for (box_id, want) in [
            ("user_admin", to.role == ROLE_ADMIN),
            ("user_generate_password", false),
            ("user_must_change_passwd", false),
            ("send_information", false),
        ] {
            let on: bool = p
                .read("read a box", pages::TICKED, vec![Value::from(box_id)])
                .await?;
            if on != want {
                p.click(&format!("#{box_id}")).await?;
            }
        }
        let password = random_password();
        p.fill("#user_password", &password).await?;
        p.fill("#user_password_confirmation", &password).await?;
        p.submit(CREATE).await?;
        // Made: Redmine shows the new user's edit page (`/users/<id>/edit`).
        let made = p
            .path()
            .strip_prefix("/users/")
            .and_then(|rest| rest.split_once("/edit"))
            .map(|(id, _)| id.to_owned())
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        let path = p.path().to_owned();
        drop(p);
        let Some(id) = made else {
            let said: Messages = self
                .page()
                .await?
                .read("read the page's messages", pages::MESSAGES, vec![])
                .await?;
            return match refusal(&said.errors, "create a user", &path) {
                // Chromium sends a form again when the connection was reset before the answer:
                // the user the first one made holds the address.
                E::Conflict(why) => self.by_email(to.email).await?.ok_or(E::Conflict(why)),
                e => Err(e),
            };
        };
        self.reread(&id).await
    }

    /// Deletes the user: the Delete link of its edit page ("Are you sure?" answered yes), then,
    /// where Redmine asks for it (5.0's confirmation page, `users/destroy`), its login typed
    /// into the confirmation. Tried twice when the user is still there afterwards (the link's
    /// script may not have sent the DELETE, e.g. on a page still starting up); the error then
    /// says where the browser ended up and what the page said.
    async fn remove(&self, m: AppMember) -> R<()> {
        let id = &m.app_member_id;
        let mut last = String::new();
        let mut was: Option<String> = None;
        for _ in 0..2 {
            let (login, ended_on) = match self.delete_once(id, was.as_deref()).await {
                // A deletion the first try sent landed late: gone is what was asked.
                Err(E::NotFound(_)) => return Ok(()),
                r => r?,
            };
            // Redmine says nothing after a delete: the user's page is gone (404), or shows
            // another user, since Redmine on SQLite gives a freed highest id to the next user
            // made; that one is never deleted in its place.
            if self.login_at(id).await?.as_deref() != Some(login.as_str()) {
                return Ok(());
            }
            was = Some(login);
            last = ended_on;
        }
        Err(E::AppChanged(format!(
            "user {id} is still there after its deletion ({last})"
        )))
    }

    /// Locks the user (its Lock link): it keeps its account, issues and history but may not
    /// sign in.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        let id = &m.app_member_id;
        self.act(id, LOCK, "lock a user").await?;
        let after = self.reread(id).await?;
        match after.state {
            MemberState::Deactivated => Ok(after),
            _ => Err(E::AppChanged(format!(
                "user {id} is not locked after its Lock link"
            ))),
        }
    }
}

/// The path of user `id`'s edit page.
fn edit(id: &str) -> String {
    format!("/users/{id}/edit")
}
