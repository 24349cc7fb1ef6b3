//! WordPress through its own admin pages (`wp-admin`) in a headless browser, as an administrator
//! signed in with its password: the browser bot's connector for a WordPress whose REST API is
//! off or blocked (the `wordpress` connector is the API one). It makes no request to the REST
//! API (`/wp-json`, `rest_route`) or to `admin-ajax.php`: only the pages a person would open.
//!
//! - **Sign-in** on `wp-login.php`; the account's user id is read from its profile
//!   (`profile.php`, `#user_id`). A sign-in page that asks for more than the password (a second
//!   factor, a captcha) is `NeedsHuman`. The users table is set to the hub's `rows_per_page`
//!   (default 100; Screen Options) at each sign-in.
//! - **Members**: `users.php` ordered by user id, `paged` as the cursor; a row's roles are the
//!   classes of its checkbox (role slugs). Lookups use the table's search (`s`: the email column
//!   for an address, the user id and username for digits).
//! - **Roles** are those the Role select of `user-new.php` offers (custom ones too).
//! - **Invitation**: `user-new.php` (username from the address as the API connector makes it,
//!   the name as first and last name, a random password nobody keeps, no notification
//!   email) with the role.
//! - **Role change** and **keep-seat removal** (no role for this site): `user-edit.php`.
//! - **Removal**: the row's Delete link, content attributed to the hub's `reassign_to` user.
//!
//! Sources: <https://wordpress.org/documentation/article/users-screen/>,
//! <https://wordpress.org/documentation/article/users-add-new-screen/>,
//! <https://wordpress.org/documentation/article/users-your-profile-screen/>,
//! <https://wordpress.org/documentation/article/roles-and-capabilities/>.

mod pages;

use std::collections::BTreeMap;

use async_trait::async_trait;
use castellan_core::catalog::Capability::*;
use castellan_core::connector::browser::BrowserCookie;
use castellan_core::connector::settings::{self_hosted, SettingField, SettingKind, BASE_URL};
use castellan_core::connector::{AppMember, AppRole, AppSession, ConnectorContext as Ctx};
use castellan_core::connector::{ConnectorError as E, ConnectorInfo, MemberPage, SignIn};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::time::Duration;
use tokio::sync::MappedMutexGuard;

use crate::sdk::browser::{session_of, BrowserBot, CallPage, Page};
use crate::sdk::builder::{first_unused, App, AppConnector, Invitee, Members};
use crate::sdk::emailed::{emailed_link, sign_in_with, with_emailed_link};
use crate::sdk::members::given;
use crate::sdk::roles::ranked;
use crate::sdk::usernames::random_password;
use crate::sdk::HttpClient;
use crate::wordpress::{login_of, APP, DEFAULT_ROLES, REASSIGN_TO};
use pages::{split_name, Messages, Table, JUDGED, MESSAGES, NOTIFIES, ROLES, USERS, WEAK};

/// The connector's name in the catalog.
pub const NAME: &str = "wordpress_browser";
/// The hub setting: rows of the users table per page.
pub const ROWS_PER_PAGE: &str = "rows_per_page";
/// [`ROWS_PER_PAGE`] unless the hub says.
const DEFAULT_ROWS: &str = "100";
/// What [`sign_in_with`]'s emailed link is on WordPress.
const EMAILED: &str =
    "WordPress's \"Lost your password?\" link: the bot sets a new random password \
    with it whenever it signs in (for a placeholder account whose password nobody keeps)";
/// A page of the site that needs no session, where a kept session's cookies are set.
const LANDING: &str = "/wp-login.php";

type R<T> = Result<T, E>;

/// The connector ([`AppConnector`] of [`WordPressAdmin`]).
pub type WordPressBrowserConnector = AppConnector<WordPressAdmin>;

/// WordPress's admin pages as the connector builder's [`App`], on a [`BrowserBot`] (without
/// one, every call is `Unavailable`).
#[derive(Debug, Clone, Default)]
pub struct WordPressAdmin {
    bot: Option<BrowserBot>,
}

impl WordPressAdmin {
    /// The connector on `bot`.
    pub fn connector(bot: BrowserBot) -> WordPressBrowserConnector {
        AppConnector::with_app(Self { bot: Some(bot) })
    }

    fn bot(&self) -> R<&BrowserBot> {
        BrowserBot::running(self.bot.as_ref())
    }
}

#[async_trait]
impl App for WordPressAdmin {
    const NAME: &'static str = NAME;
    type Api<'a> = Admin;

    fn describe(&self) -> ConnectorInfo {
        let url = SettingField::new(BASE_URL, "Site address", SettingKind::Url, true);
        let url = url.help("Settings → General → Site Address, e.g. https://blog.example.org");
        let heir = SettingField::new(
            REASSIGN_TO,
            "Give removed members' content to",
            SettingKind::Text,
            true,
        );
        let heir = heir.help("The id, username or email of who gets a removed member's posts");
        let kind = SettingKind::Number { min: 20, max: 999 };
        let rows = SettingField::new(ROWS_PER_PAGE, "Users listed per page", kind, false);
        let rows = rows.help("How many users the Users screen shows the bot a page (Screen Options, 20 to 999; default 100): more rows, fewer pages per check for updates, but a slower page after each added or deleted user. An option of the automation account");
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: DEFAULT_ROLES.map(String::from).into(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, KeepSeat, ListRoles],
            default_role: "subscriber".to_owned(),
            sign_in: SignIn::Password,
            settings: self_hosted(url, [heir, rows, sign_in_with(EMAILED)]),
        }
    }

    /// Signs in on `wp-login.php` with the account's password, or, when the hub signs in with
    /// an emailed link, with a new random password set through the link ([`reset_by_email`]).
    async fn login(&self, _: &HttpClient, ctx: &Ctx) -> R<AppSession> {
        let bot = self.bot()?;
        let mut p = bot.open(ctx, APP).await?;
        let password = match with_emailed_link(ctx) {
            true => reset_by_email(&mut p, ctx).await?,
            false => ctx.password.clone(),
        };
        for _ in 0..3 {
            p.visit(LANDING).await?;
            p.fill("#user_login", ctx.username.trim()).await?;
            p.fill("#user_pass", password.expose_secret()).await?;
            p.submit("#wp-submit").await?;
            // WordPress keeps an account's sessions in one user meta row, rewritten whole: a
            // sign-in of the same account at the same moment can drop this one, and wp-admin
            // then asks to sign in again (`reauth=1`). Sign in again.
            if !p.path().contains("reauth=1") {
                break;
            }
        }
        if !p.path().starts_with("/wp-admin") {
            return Err(refused(&mut p, "sign in").await);
        }
        signed_in(bot, ctx, p).await
    }

    /// Cookies of wp-admin signed in as the automation account: set on the sign-in page, then
    /// the profile must open (not the sign-in page again).
    async fn adopt(&self, _: &HttpClient, ctx: &Ctx, cookies: Vec<BrowserCookie>) -> R<AppSession> {
        let bot = self.bot()?;
        let p = bot.open_with(ctx, APP, cookies, LANDING).await?;
        signed_in(bot, ctx, p).await
    }

    fn api(&self, _: &HttpClient, ctx: &Ctx, s: &AppSession) -> R<Admin> {
        let me = s.data["user_id"].as_str().unwrap_or_default().to_owned();
        let call = CallPage::new(self.bot()?.clone(), ctx.clone(), s.clone(), APP, LANDING);
        Ok(Admin { call, me })
    }
}

/// Sets a new random password through WordPress's emailed password-reset link ("Lost your
/// password?", `wp-login.php?action=lostpassword`): asks for the link for the account's
/// username, opens it from the shared inbox ([`emailed_link`]), types the new password and
/// saves it. Returns the password, kept by nobody (the next sign-in asks for a link again).
///
/// Errors: `BadCredentials` with WordPress's words when it refuses to send the link (an unknown
/// username, mail it cannot send) or the link (used or expired), or when no link comes;
/// `NeedsHuman` for a page that asks for more (a captcha).
async fn reset_by_email(p: &mut Page, ctx: &Ctx) -> R<SecretString> {
    p.visit("/wp-login.php?action=lostpassword").await?;
    p.fill("#user_login", ctx.username.trim()).await?;
    let since = Utc::now();
    p.submit("#wp-submit").await?;
    // Sent: WordPress shows the sign-in page with `checkemail=confirm`.
    if !p.path().contains("checkemail=confirm") {
        return Err(refused(p, "ask for a password-reset link").await);
    }
    let link = emailed_link(ctx, APP, since).await?;
    let what = "open the password-reset link from the inbox";
    p.open_link(&link, what).await?;
    // WordPress keeps the key in a cookie and shows `action=rp`; a used or old key sends the
    // browser back to `action=lostpassword&error=invalidkey` (or `expiredkey`).
    if !p.wait_for("#pass1", Duration::ZERO).await? {
        let e = E::BadCredentials(format!(
            "WordPress does not take the emailed link (it shows {})",
            p.path()
        ));
        return Err(p.failed(what, e).await);
    }
    let password = random_password();
    p.fill("#pass1", &password).await?;
    // The confirmation field is hidden; the page's script copies the password into it.
    let js = "const b = document.getElementById('pass2'); \
              if (b) b.value = document.getElementById('pass1').value; return true;";
    p.read::<bool>("confirm the new password", js, vec![])
        .await?;
    p.submit("#wp-submit").await?;
    // Saved: "Your password has been reset." (`p.reset-pass`); refused: the form again with
    // WordPress's words.
    if !p.wait_for("p.message.reset-pass", Duration::ZERO).await? {
        return Err(refused(p, "save the new password").await);
    }
    Ok(password.into())
}

/// What the sign-in page said instead of doing `what`: `BadCredentials` with its words, or
/// `NeedsHuman` when it says nothing (it asks for more: a second factor, a captcha).
async fn refused(p: &mut Page, what: &str) -> E {
    let said: Result<Messages, E> = p.read("read the page's answer", MESSAGES, vec![]).await;
    let e = match said {
        Ok(said) => match said.errors.into_iter().next() {
            Some(e) => E::BadCredentials(e),
            None => E::NeedsHuman(format!("the sign-in page asks for more at {}", p.path())),
        },
        Err(e) => e,
    };
    p.failed(what, e).await
}

/// The session of a browser signed in to wp-admin: the account's user id from its profile
/// (`profile.php`, `#user_id`), the users table set to [`ROWS_PER_PAGE`] rows, the cookies; the
/// browser is kept for the session's next call.
///
/// Errors: `BadCredentials` when the profile asks to sign in (an uploaded session WordPress
/// does not take: expired, signed out, or exported from another address) or shows another
/// account than the automation account.
async fn signed_in(bot: &BrowserBot, ctx: &Ctx, mut p: Page) -> R<AppSession> {
    p.visit("/wp-admin/profile.php").await?;
    if !p.path().starts_with("/wp-admin") {
        let e = E::BadCredentials(format!(
            "WordPress does not take the session as signed in (it shows {})",
            p.path()
        ));
        return Err(p.failed("open the profile", e).await);
    }
    let js = "const v = i => document.getElementById(i)?.value ?? null; \
              return [v('user_id'), v('user_login'), v('email')];";
    let who: [Option<String>; 3] = p.read("read the account's id", js, vec![]).await?;
    let [Some(id), Some(login), email] = who else {
        let e = E::AppChanged("no user id on profile.php".into());
        return Err(p.failed("read the account's id", e).await);
    };
    // An uploaded session must be the automation account's (its username, or its address,
    // which WordPress also signs in with).
    let me = ctx.username.trim();
    let mine = |v: &str| v.trim().eq_ignore_ascii_case(me);
    if !mine(&login) && !email.as_deref().is_some_and(mine) {
        let e = E::BadCredentials(format!(
            "the session is signed in as {login}, not as the automation account"
        ));
        return Err(p.failed("read the account's id", e).await);
    }
    per_page(&mut p, ctx.setting(ROWS_PER_PAGE).unwrap_or(DEFAULT_ROWS)).await?;
    let s = session_of(&mut p, json!({ "user_id": id })).await?;
    bot.keep(ctx, &s, p);
    Ok(s)
}

/// Sets the users table to `rows` a page (Screen Options of `users.php`) unless it is; an
/// account that may not list users is left as it is.
async fn per_page(p: &mut Page, rows: &str) -> R<()> {
    p.visit("/wp-admin/users.php").await?;
    let js = "return document.getElementById('users_per_page')?.value ?? null;";
    let now: Option<String> = p.read("read the rows per page", js, vec![]).await?;
    if now.is_none_or(|n| n == rows) {
        return Ok(());
    }
    p.click("#show-settings-link").await?;
    p.wait_shown("#users_per_page", std::time::Duration::from_secs(5))
        .await?;
    p.fill("#users_per_page", rows).await?;
    p.submit("#screen-options-apply").await.map(drop)
}

/// wp-admin as the session's account for one call, in the call's browser ([`CallPage`]).
#[derive(Debug)]
pub struct Admin {
    call: CallPage,
    me: String,
}

impl Admin {
    async fn page(&self) -> R<MappedMutexGuard<'_, Page>> {
        self.call.get().await
    }

    /// The page at `path` of `wp-admin/`, signed in.
    ///
    /// Errors: `BadCredentials` when WordPress sends the browser to sign in again.
    async fn go(&self, path: &str) -> R<MappedMutexGuard<'_, Page>> {
        let mut p = self.page().await?;
        p.visit(&format!("/wp-admin/{path}")).await?;
        if p.path().starts_with(LANDING) {
            return Err(E::BadCredentials(
                "the WordPress session has ended: sign in again".into(),
            ));
        }
        Ok(p)
    }

    /// Page `n` of the users table, by user id, searched for `search` (`None`: everyone).
    async fn table(&self, n: u32, search: Option<&str>) -> R<Table> {
        let s: String = search
            .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect())
            .unwrap_or_default();
        let mut p = self
            .go(&format!("users.php?orderby=ID&order=asc&paged={n}&s={s}"))
            .await?;
        let mut t: Table = p.read("read the users table", USERS, vec![]).await?;
        if let Some(why) = t.refused {
            return Err(E::InsufficientPermission(format!("WordPress: {why}")));
        }
        if !t.table {
            return Err(E::AppChanged(format!("no users table at {}", p.path())));
        }
        // Past the last page WordPress sends the last one instead.
        if n > 1 && !p.path().contains(&format!("paged={n}")) {
            t.rows.clear();
        }
        Ok(t)
    }

    /// The first row the search for `search` finds for which `hit` holds, through every page.
    async fn find(&self, search: &str, hit: impl Fn(&pages::Row) -> bool) -> R<Option<pages::Row>> {
        for n in 1.. {
            let t = self.table(n, Some(search)).await?;
            if let Some(r) = t.rows.into_iter().find(&hit) {
                return Ok(Some(r));
            }
            if n >= t.pages {
                break;
            }
        }
        Ok(None)
    }

    /// A user by id (digits: the id only), email (with `@`) or username (any case).
    async fn row(&self, key: &str) -> R<Option<pages::Row>> {
        let key = key.trim();
        match key {
            "" => Ok(None),
            k if k.contains('@') => {
                let k = k.to_lowercase();
                self.find(&k, |r| r.member().email.as_deref() == Some(k.as_str()))
                    .await
            }
            // Digits are a user id only (a username may be digits too, e.g. `12`).
            k if k.bytes().all(|b| b.is_ascii_digit()) => self.find(k, |r| r.id == k).await,
            k => self.find(k, |r| r.login.eq_ignore_ascii_case(k)).await,
        }
    }

    /// The page's messages, as an error unless it says it saved.
    async fn saved(&self, what: &str) -> R<()> {
        let mut p = self.page().await?;
        let said: Messages = p.read("read the page's messages", MESSAGES, vec![]).await?;
        if said.saved && said.errors.is_empty() {
            return Ok(());
        }
        Err(refusal(&said.errors, what, p.path()))
    }

    /// Gives user `id` the role `role` (`""`: no role for this site) on `user-edit.php`.
    async fn edit(&self, id: &str, role: &str) -> R<AppMember> {
        let mut p = self.go(&format!("user-edit.php?user_id={id}")).await?;
        let said: Messages = p.read("read the page's messages", MESSAGES, vec![]).await?;
        if !said.errors.is_empty() {
            return Err(E::NotFound(format!(
                "WordPress user {id}: {}",
                said.errors.join(" ")
            )));
        }
        p.choose("#role", role).await?;
        p.submit("#submit").await?;
        drop(p);
        self.saved("change a user's role").await?;
        self.member(id)
            .await?
            .ok_or_else(|| E::NotFound(format!("WordPress user {id}")))
    }
}

/// What WordPress's messages `errors` mean, for a page at `path` that did not do `what`.
fn refusal(errors: &[String], what: &str, path: &str) -> E {
    let said = errors.join(" ");
    let l = said.to_lowercase();
    if l.contains("already") {
        E::Conflict(format!("WordPress refused to {what}: {said}"))
    } else if l.contains("not allowed") || l.contains("higher level of permission") {
        E::InsufficientPermission(format!("WordPress refused to {what}: {said}"))
    } else {
        E::AppChanged(format!("WordPress did not {what} (at {path}): {said}"))
    }
}

#[async_trait]
impl Members for Admin {
    const APP: &'static str = APP;

    /// The account may list users (`users.php`) and create them (`user-new.php`).
    async fn verify_permissions(&self) -> R<()> {
        self.table(1, None).await?;
        let mut p = self.go("user-new.php").await?;
        if p.wait_for("#createusersub", std::time::Duration::ZERO)
            .await?
        {
            return Ok(());
        }
        let said: Messages = p.read("read the page's messages", MESSAGES, vec![]).await?;
        let why = format!(
            "it cannot add users: {}; make it an administrator",
            said.errors.join(" ")
        );
        Err(E::InsufficientPermission(why))
    }

    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let n: u32 = match cursor {
            None => 1,
            Some(c) => c
                .parse()
                .map_err(|_| E::Configuration(format!("{c:?} is not a page of {NAME}")))?,
        };
        let t = self.table(n, None).await?;
        let next = (n < t.pages && !t.rows.is_empty()).then(|| (n + 1).to_string());
        Ok(MemberPage {
            members: t.rows.iter().map(pages::Row::member).collect(),
            next,
        })
    }

    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        Ok(self.row(id).await?.map(|r| r.member()))
    }

    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        self.member(email).await
    }

    fn is_me(&self, m: &AppMember) -> bool {
        !self.me.is_empty() && m.app_member_id == self.me
    }

    /// The roles the Role select of `user-new.php` offers, WordPress's own first.
    async fn roles(&self) -> R<Vec<AppRole>> {
        let mut p = self.go("user-new.php").await?;
        let offered: Option<Vec<(String, String)>> =
            p.read("read the roles", ROLES, vec![]).await?;
        let why =
            "it may not give roles (no Role select on Add New User): make it an administrator";
        let offered = offered.ok_or_else(|| E::InsufficientPermission(why.into()))?;
        let labels: BTreeMap<String, String> = offered.into_iter().collect();
        let order = ranked(labels.keys(), &DEFAULT_ROLES);
        Ok(order
            .into_iter()
            .map(|role| AppRole {
                label: labels[&role].clone(),
                role,
            })
            .collect())
    }

    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        self.edit(&m.app_member_id, role).await
    }

    async fn free_username(&self, email: &str) -> R<String> {
        first_unused(self, &login_of(email)).await
    }

    /// `user-new.php` with a random password nobody keeps and no notification email; sent once.
    async fn create(&self, login: &str, to: &Invitee<'_>) -> R<AppMember> {
        let mut p = self.go("user-new.php").await?;
        // Once the strength meter (zxcvbn, a script the page loads on demand) has come, the
        // page's scripts put a generated password into `#pass1`, judge it and move the focus
        // there: keys typed meanwhile would land in the password. Wait for that verdict (at most
        // a few seconds); `submit` types again whatever a late one took.
        p.wait_for(JUDGED, std::time::Duration::from_secs(10))
            .await?;
        p.fill("#user_login", login).await?;
        p.fill("#email", to.email).await?;
        let (first, last) = split_name(given(&to.inv.name).unwrap_or_default());
        p.fill("#first_name", first).await?;
        p.fill("#last_name", last).await?;
        // A random password of ours: the page's generated one comes from its scripts.
        p.fill("#pass1", &random_password()).await?;
        p.choose("#role", to.role).await?;
        if p.read::<bool>("read the notification box", NOTIFIES, vec![])
            .await?
        {
            p.click("#send_user_notification").await?;
        }
        // The meter judges our password as it is typed; a weak verdict holds the form back
        // until it is confirmed (ours is strong: this is for a meter that judged late).
        p.wait_for(JUDGED, std::time::Duration::from_secs(5))
            .await?;
        if p.read::<bool>("read the weak-password box", WEAK, vec![])
            .await?
        {
            p.click("#pw-weak").await?;
        }
        p.submit("#createusersub").await?;
        // Made: `users.php?update=add&id=<id>` (whose `update` wp-admin's script then takes out
        // of the address bar), showing the users table's first page.
        let made = match p.path().starts_with("/wp-admin/users.php?") {
            true => p.path().split_once("id=").map(|(_, id)| id.to_owned()),
            false => None,
        };
        let path = p.path().to_owned();
        let shown: Option<Table> = match made {
            Some(_) => Some(p.read("read the users table", USERS, vec![]).await?),
            None => None,
        };
        drop(p);
        let Some(id) = made else {
            let said: Messages = self
                .page()
                .await?
                .read("read the page's messages", MESSAGES, vec![])
                .await?;
            return match refusal(&said.errors, "create a user", &path) {
                // Chromium sends a form again when the connection was reset before the answer:
                // the user the first one made holds the address.
                E::Conflict(why) => self.by_email(to.email).await?.ok_or(E::Conflict(why)),
                e => Err(e),
            };
        };
        let id: String = id.chars().take_while(char::is_ascii_digit).collect();
        // The new user's row when the page shows it (a table of fewer users than a page), else
        // looked up.
        let row = shown.and_then(|t| t.rows.into_iter().find(|r| r.id == id));
        if let Some(r) = row {
            return Ok(r.member());
        }
        self.member(&id)
            .await?
            .ok_or_else(|| E::AppChanged(format!("user {id} made but not listed")))
    }

    /// The row's Delete link; the content goes to `reassign_to` (required, another user).
    async fn remove(&self, m: AppMember) -> R<()> {
        let heir = match self.call.ctx().setting(REASSIGN_TO) {
            Some(key) => self.row(key).await?.map(|r| r.id),
            None => None,
        };
        let Some(heir) = heir.filter(|h| *h != m.app_member_id) else {
            return Err(E::Configuration(format!(
                "{REASSIGN_TO} must name another WordPress user"
            )));
        };
        let Some(row) = self.row(&m.app_member_id).await? else {
            return Ok(());
        };
        let link = row
            .delete
            .ok_or_else(|| E::InsufficientPermission("no Delete link for the user".into()))?;
        let mut p = self.go(&link).await?;
        if p.wait_for("#delete_option1", std::time::Duration::ZERO)
            .await?
        {
            p.click("#delete_option1").await?;
            p.choose("#reassign_user", &heir).await?;
        }
        p.submit("#submit").await?;
        drop(p);
        self.saved("delete a user").await
    }

    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        self.edit(&m.app_member_id, "").await
    }
}
