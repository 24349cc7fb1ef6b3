//! MediaWiki through its own special pages in a headless browser, as a sysop and bureaucrat
//! signed in with its password: the browser bot's connector for a wiki whose Action API is off
//! or blocked (the `mediawiki` connector is the API one). It opens only the pages a person would
//! use (`index.php`): no `api.php` request, no database. Its semantics are the `mediawiki`
//! connector's: roles are user groups (MediaWiki's own ranked first, then the wiki's others by
//! name, `user` for none), a role change leaves the member in exactly that group, removal takes
//! every group away and blocks indefinitely (MediaWiki cannot delete users), an invitation again
//! unblocks.
//!
//! - **Sign-in** on `Special:UserLogin` (username, password); MediaWiki's refusal, in its own
//!   words, is `BadCredentials`; any other page that does not show the account signed in (a
//!   second factor, a captcha, a password to change first) is `NeedsHuman`. Who is signed in is
//!   read from the page's configuration (`wgUserName`, `wgUserId`). An uploaded session is taken
//!   when a page shows the automation account signed in with it.
//! - **Members**: `Special:ListUsers`, every user by name, 100 a page, continued from its own
//!   next link's `offset` (the last name shown: no page loses or repeats a user), read with
//!   `uselang=qqx` so that groups (`group-<group>-member`) and sitewide blocks
//!   (`listusers-blocked`, `deactivated`) read alike in every language. A member's id is its
//!   **username**: no page shows the user ids of a list. A user id (digits) is still found, as
//!   the API connector finds it, through `Special:Redirect/user/<id>` (the user's page).
//! - **Roles** are the group boxes of `Special:UserRights` (the automation account's own page
//!   lists every group), ranked as the API connector ranks them.
//! - **Invitation**: `Special:CreateAccount` as the automation account (the username from the
//!   address as the API connector derives it, a random password nobody keeps, the address, the
//!   real name, reason "Castellan", not "send a temporary password by email"), then the group
//!   on `Special:UserRights/<name>`. The form's live checks, which would ask `api.php`, are
//!   switched off first ([`pages::QUIET_SIGNUP`]).
//! - **Role change**: the group boxes of `Special:UserRights/<name>`, exactly the role's ticked.
//! - **Removal**: every group off, then `Special:Block/<name>`: sitewide, indefinite, no
//!   autoblock. **Reactivation**: `Special:Unblock/<name>`.
//! - **Email addresses**: MediaWiki shows nobody's, so each invitation first records
//!   `<address> <username>` on the automation account's private watchlist, and the connector
//!   reads those records with the API connector's own (its options, which every page carries for
//!   its scripts): see [`crate::mediawiki`]'s `invites` module. `find_by_email` finds the members
//!   Castellan invited through either connector.
//!
//! Sources: <https://www.mediawiki.org/wiki/Help:Special_pages>,
//! <https://www.mediawiki.org/wiki/Help:Logging_in> (Special:UserLogin),
//! <https://www.mediawiki.org/wiki/Help:Special:ListUsers>,
//! <https://www.mediawiki.org/wiki/Manual:User_rights> and
//! <https://www.mediawiki.org/wiki/Help:Assigning_permissions> (Special:UserRights),
//! <https://www.mediawiki.org/wiki/Help:Blocking_users> (Special:Block, Special:Unblock),
//! <https://www.mediawiki.org/wiki/Manual:Creating_and_managing_accounts> (Special:CreateAccount),
//! <https://www.mediawiki.org/wiki/Help:Watchlist> (Special:EditWatchlist, the Watch action),
//! <https://www.mediawiki.org/wiki/Manual:Language#qqx> (`uselang=qqx`),
//! <https://www.mediawiki.org/wiki/Manual:Interface/JavaScript> (`mw.config`, `mw.user.options`).

mod members;
mod pages;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use castellan_core::connector::browser::BrowserCookie;
use castellan_core::connector::{AppMember, AppSession, ConnectorContext as Ctx};
use castellan_core::connector::{ConnectorError as E, ConnectorInfo};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::MappedMutexGuard;

use crate::mediawiki::{canonical, info, APP};
use crate::sdk::browser::{session_of, BrowserBot, CallPage, Page};
use crate::sdk::builder::{App, AppConnector};
use crate::sdk::records::{RecordStore, Records};
use crate::sdk::HttpClient;
use pages::{index, Row, Table, Who, LANDING, USERS, WHO};

/// The connector's name in the catalog.
pub const NAME: &str = "mediawiki_browser";
/// Users of `Special:ListUsers` per page.
const PER_PAGE: &str = "100";
/// How long the connector waits for a page's scripts (the records, the sign-up form).
const SCRIPTS: Duration = Duration::from_secs(10);

type R<T> = Result<T, E>;

/// The connector ([`AppConnector`] of [`MediaWikiPages`]).
pub type MediaWikiBrowserConnector = AppConnector<MediaWikiPages>;

/// MediaWiki's special pages as the connector builder's [`App`], on a [`BrowserBot`] (without
/// one, every call is `Unavailable`).
#[derive(Debug, Clone, Default)]
pub struct MediaWikiPages {
    bot: Option<BrowserBot>,
}

impl MediaWikiPages {
    /// The connector on `bot`.
    pub fn connector(bot: BrowserBot) -> MediaWikiBrowserConnector {
        AppConnector::with_app(Self { bot: Some(bot) })
    }

    fn bot(&self) -> R<&BrowserBot> {
        BrowserBot::running(self.bot.as_ref())
    }
}

#[async_trait]
impl App for MediaWikiPages {
    const NAME: &'static str = NAME;
    type Api<'a> = Admin;

    /// The `mediawiki` connector's roles and capabilities (a hub may switch between them).
    fn describe(&self) -> ConnectorInfo {
        info(
            NAME,
            "Where index.php is (the wiki's script path), e.g. https://wiki.example.org/w",
        )
    }

    /// Signs in on `Special:UserLogin`.
    ///
    /// Errors: `Configuration` when the page is no MediaWiki sign-in; `BadCredentials` for what
    /// MediaWiki refuses (its words); `NeedsHuman` for any other page after the sign-in.
    async fn login(&self, _: &HttpClient, ctx: &Ctx) -> R<AppSession> {
        let user = ctx.username.trim();
        if user.is_empty() {
            return Err(E::Configuration(
                "the automation account has no username".into(),
            ));
        }
        let bot = self.bot()?;
        let mut p = bot.open(ctx, APP).await?;
        p.visit(&index("Special:UserLogin", &[])).await?;
        if !p.wait_for(pages::LOGIN_NAME, Duration::ZERO).await? {
            let at = p.url_of("/index.php");
            return Err(E::Configuration(format!(
                "{at} shows no MediaWiki sign-in: give the wiki's script path"
            )));
        }
        p.fill(pages::LOGIN_NAME, user).await?;
        p.fill(pages::LOGIN_PASSWORD, ctx.password.expose_secret())
            .await?;
        p.submit(pages::LOGIN_BUTTON).await?;
        let who: Who = p.read("read who is signed in", WHO, vec![]).await?;
        let e = match (&who.user, who.errors.first()) {
            (Some(_), _) => return signed_in(bot, ctx, p, who).await,
            (None, Some(said)) if who.special.as_deref() == Some("Userlogin") => {
                E::BadCredentials(format!("MediaWiki refused the sign-in: {said}"))
            }
            _ => E::NeedsHuman(format!(
                "MediaWiki shows {} after the sign-in: neither a page signed in nor a refusal \
                 the connector knows",
                p.path()
            )),
        };
        Err(p.failed("sign in", e).await)
    }

    /// Cookies of the wiki signed in as the automation account: set on a page that needs no
    /// session, then a page must show that account signed in.
    async fn adopt(&self, _: &HttpClient, ctx: &Ctx, cookies: Vec<BrowserCookie>) -> R<AppSession> {
        let bot = self.bot()?;
        let mut p = bot.open_with(ctx, APP, cookies, LANDING).await?;
        p.visit(LANDING).await?;
        let who: Who = p.read("read who is signed in", WHO, vec![]).await?;
        let want = canonical(ctx.username.trim());
        let e = match &who.user {
            Some(user) if *user == want => return signed_in(bot, ctx, p, who).await,
            Some(user) => E::BadCredentials(format!(
                "the session is signed in as {user}, not as the automation account"
            )),
            None => E::BadCredentials(format!(
                "MediaWiki does not take the session as signed in (it shows {})",
                p.path()
            )),
        };
        Err(p.failed("open a page with the uploaded session", e).await)
    }

    fn api(&self, _: &HttpClient, ctx: &Ctx, s: &AppSession) -> R<Admin> {
        let me = s.data["user"].as_str().unwrap_or_default().to_owned();
        let call = CallPage::new(self.bot()?.clone(), ctx.clone(), s.clone(), APP, LANDING);
        let recs = Mutex::default();
        Ok(Admin { call, me, recs })
    }
}

/// The session of a browser signed in as `who`: its username and user id, the cookies; the
/// browser is kept for the session's next call.
async fn signed_in(bot: &BrowserBot, ctx: &Ctx, mut p: Page, who: Who) -> R<AppSession> {
    let data = json!({ "user": who.user, "user_id": who.id });
    let s = session_of(&mut p, data).await?;
    bot.keep(ctx, &s, p);
    Ok(s)
}

/// MediaWiki's special pages as the session's account for one call, in the call's browser
/// ([`CallPage`]), with this call's copy of the invitation records.
#[derive(Debug)]
pub struct Admin {
    call: CallPage,
    /// The automation account's username.
    me: String,
    recs: Mutex<Option<Records>>,
}

impl Admin {
    async fn page(&self) -> R<MappedMutexGuard<'_, Page>> {
        self.call.get().await
    }

    /// The page at `path`, signed in, and what it says ([`WHO`]).
    ///
    /// Errors: `BadCredentials` when the page shows nobody signed in (the session has ended).
    async fn go(&self, path: &str) -> R<(MappedMutexGuard<'_, Page>, Who)> {
        let mut p = self.page().await?;
        p.visit(path).await?;
        let who: Who = p.read("read who is signed in", WHO, vec![]).await?;
        if who.user.is_none() {
            let e = E::BadCredentials("the MediaWiki session has ended: sign in again".into());
            return Err(p.failed("open a page signed in", e).await);
        }
        Ok((p, who))
    }

    /// What the page says now ([`WHO`]).
    async fn said(&self) -> R<Who> {
        let mut p = self.page().await?;
        p.read("read the page's messages", WHO, vec![]).await
    }

    /// Runs `script` on the page until it gives something but `null` (its scripts have run),
    /// for [`SCRIPTS`] at most.
    ///
    /// Errors: `AppChanged` when it gives `null` all along.
    async fn once_ready<T: DeserializeOwned>(&self, what: &str, script: &str) -> R<T> {
        let started = Instant::now();
        loop {
            let v: Value = self.page().await?.read(what, script, vec![]).await?;
            if !v.is_null() {
                let t = serde_json::from_value(v);
                return t.map_err(|e| E::AppChanged(format!("{what}: unexpected page: {e}")));
            }
            if started.elapsed() > SCRIPTS {
                let e = E::AppChanged(format!("{what}: the page's scripts did not run"));
                return Err(self.page().await?.failed(what, e).await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page's scripts have run ([`pages::SETTLED`]), for [`SCRIPTS`] at most
    /// (then goes on: a form works without them).
    async fn settle(&self) -> R<()> {
        let started = Instant::now();
        while started.elapsed() < SCRIPTS {
            let v: Value = (self.page().await?)
                .read("wait for the page's scripts", pages::SETTLED, vec![])
                .await?;
            if !v.is_null() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// A page of `Special:ListUsers` (in `qqx`), from `offset` (`None`: the first), `limit`
    /// users.
    ///
    /// Errors: `AppChanged` when the page is not the users list.
    async fn table(&self, from: Option<(&str, &str)>, limit: &str) -> R<Table> {
        let mut q = vec![("limit", limit), ("uselang", "qqx")];
        q.extend(from);
        let (mut p, _) = self.go(&index("Special:ListUsers", &q)).await?;
        let t: Table = p.read("read the users list", USERS, vec![]).await?;
        if !t.list {
            let e = E::AppChanged(format!("no users list at {}", p.path()));
            return Err(p.failed("read the users list", e).await);
        }
        Ok(t)
    }

    /// The user `name` (as MediaWiki stores it) on `Special:ListUsers`, if any.
    async fn row(&self, name: &str) -> R<Option<Row>> {
        let name = canonical(name);
        if name.is_empty() {
            return Ok(None);
        }
        let t = self.table(Some(("username", &name)), "1").await?;
        Ok(t.rows.into_iter().find(|r| r.name == name))
    }

    /// The username of user id `id` (`Special:Redirect/user/<id>` leads to the user's page).
    async fn name_of(&self, id: &str) -> R<Option<String>> {
        let (_, who) = self
            .go(&index(&format!("Special:Redirect/user/{id}"), &[]))
            .await?;
        Ok(match who.namespace.as_deref() {
            Some("User") => who.relevant,
            _ => None,
        })
    }

    /// The member with this username, else, for digits no user has as a name, the user with
    /// this user id (an id the API connector gave); `None` when there is none (a name never
    /// holds `|`, `#`, `<`, `>`, `[`, `]`, `{`, `}`). The name comes first: this connector's
    /// member ids are usernames, and a username may be digits.
    async fn lookup(&self, key: &str) -> R<Option<AppMember>> {
        let key = key.trim();
        if key.is_empty() || key.contains(['|', '#', '<', '>', '[', ']', '{', '}']) {
            return Ok(None);
        }
        let mut row = self.row(key).await?;
        if row.is_none() && key.bytes().all(|b| b.is_ascii_digit()) {
            if let Some(name) = self.name_of(key).await? {
                row = self.row(&name).await?;
            }
        }
        match row {
            Some(row) => Ok(Some(row.member(&self.records().await?))),
            None => Ok(None),
        }
    }

    /// The member `name`, who must exist.
    ///
    /// Errors: `AppChanged` naming `what` the connector just did when it is gone.
    async fn reread(&self, name: &str, what: &str) -> R<AppMember> {
        let m = self.lookup(name).await?;
        m.ok_or_else(|| E::AppChanged(format!("user {name} is gone after {what}")))
    }

    /// Sends the form of the page at `path` (its button, [`pages::FORM_BUTTON`]) after `set`
    /// (a script setting its boxes; `false`: no such form) and typing each of `fills` (a field
    /// and its value; fields the page lacks are left out), for `what`.
    ///
    /// Errors: `InsufficientPermission` when the page has no such form (MediaWiki refused it:
    /// its words); `Configuration` for the words of a form shown again with an error.
    async fn send_form(&self, path: &str, set: &str, fills: &[(&str, &str)], what: &str) -> R<()> {
        let (p, who) = self.go(path).await?;
        drop(p);
        self.settle().await?;
        let mut p = self.page().await?;
        let ready: bool = p.read(what, set, vec![]).await?;
        if !ready || !p.wait_for(pages::FORM_BUTTON, Duration::ZERO).await? {
            let why = who.errors.join(" ");
            let e = E::InsufficientPermission(format!("MediaWiki does not let it {what}: {why}"));
            return Err(p.failed(what, e).await);
        }
        for (css, value) in fills {
            if p.wait_for(css, Duration::ZERO).await? {
                p.fill(css, value).await?;
            }
        }
        p.submit(pages::FORM_BUTTON).await?;
        drop(p);
        let after = self.said().await?;
        match after.errors.is_empty() {
            true => Ok(()),
            false => Err(E::Configuration(format!(
                "MediaWiki refused to {what}: {}",
                after.errors.join(" ")
            ))),
        }
    }
}

/// Whether `m` is the member named `me`.
fn named(me: &str, m: &AppMember) -> bool {
    !me.is_empty() && m.app_member_id == me
}
