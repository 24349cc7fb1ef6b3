//! MediaWiki, driven through its Action API (`api.php`) by an automation account in the groups
//! `sysop` and `bureaucrat`, signed in with its password (`action=clientlogin`; bot passwords
//! cannot change user groups).
//!
//! - **Roles are user groups** (`meta=siteinfo&siprop=usergroups`), most privileged first:
//!   `bureaucrat`, `suppress`, `sysop`, `interface-admin`, `bot`, the wiki's other groups by
//!   name, then `user` for a member in no explicit group (the implicit `*`, `user` and
//!   `autoconfirmed` are not roles). A member may hold several; a role change
//!   (`action=userrights`) leaves the member in exactly that group.
//! - **Members** are `list=allusers` in name order, 100 a page, continued from the next name
//!   (`aufrom`): no page loses or repeats a user. Id: the user id; name: the username; a
//!   sitewide block is `deactivated`.
//! - **Removal** takes every group away and blocks the user indefinitely (`action=block`, no
//!   autoblock): MediaWiki cannot delete users. Inviting a blocked member again unblocks them.
//! - **Invitation** (`action=createaccount`) gives the address, the real name and a random
//!   password nobody sees (the member sets one through "Forgot your password?"), then the group.
//!   The username comes from the address (`ana.b@x`: `Ana.b`, or `Ana.b-2` … past accounts
//!   Castellan made for other addresses).
//! - **Email addresses:** MediaWiki shows nobody's address but one's own, not even to
//!   bureaucrats (API:Users has no such `usprop`). Each invitation therefore first records
//!   `<address> <username>` in the automation account's own private options
//!   (`userjs-castellan-invite-<SHA-256 of the address>`, [`crate::sdk::records`]), read with
//!   every listing: `find_by_email` finds only members Castellan invited (else `None`). An
//!   invitation whose username belongs to an account Castellan did not record is a `Conflict`:
//!   a person tells whose it is.
//!
//! Sources: <https://www.mediawiki.org/wiki/API:Login#Method_2._clientlogin>,
//! <https://www.mediawiki.org/wiki/API:Userinfo>, <https://www.mediawiki.org/wiki/API:Siteinfo>,
//! <https://www.mediawiki.org/wiki/API:Allusers>, <https://www.mediawiki.org/wiki/API:Account_creation>,
//! <https://www.mediawiki.org/wiki/API:User_group_membership>, <https://www.mediawiki.org/wiki/API:Block>,
//! <https://www.mediawiki.org/wiki/API:Options>, <https://www.mediawiki.org/wiki/Manual:User_rights>.

mod invites;
mod wiki;

use async_trait::async_trait;
use castellan_core::catalog::Capability::*;
use castellan_core::connector::settings::{self_hosted, SettingField, SettingKind, BASE_URL};
use castellan_core::connector::{AppMember as Member, AppRole, AppSession as S};
use castellan_core::connector::{ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo};
use castellan_core::connector::{MemberPage, MemberState, SignIn};
use secrecy::ExposeSecret;
use serde_json::json;
use tracing::debug;

use crate::sdk::builder::{confirmed, only, rejoin, App, AppConnector, Chosen, Invitee, Members};
use crate::sdk::cookies::CookieJar;
use crate::sdk::errors::{gone, unexpected};
use crate::sdk::json::{items, text};
use crate::sdk::members::require_rights;
use crate::sdk::records::RecordStore;
use crate::sdk::usernames::{candidates, random_password};
use crate::sdk::{Auth, HttpClient};
pub(crate) use invites::{merged, of_options, of_watchlist, watch_title, RECORD};
pub use wiki::Wiki;
use wiki::{body, refused};
pub(crate) use wiki::{canonical, groups, username, RANKED, USER};

/// The connector's name in the catalog.
pub const NAME: &str = "mediawiki";
/// The app's name in messages.
pub(crate) const APP: &str = "MediaWiki";

type R<T> = Result<T, E>;

/// The MediaWiki connector ([`AppConnector`] of [`MediaWiki`]). Cheap to clone; share one per
/// process (it pools connections).
pub type MediaWikiConnector = AppConnector<MediaWiki>;

/// MediaWiki as the connector builder's [`App`]: its settings, its sign-in
/// (`action=clientlogin`, <https://www.mediawiki.org/wiki/API:Login>) and its Action API
/// ([`Wiki`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct MediaWiki;

#[async_trait]
impl App for MediaWiki {
    const NAME: &'static str = NAME;
    type Api<'a> = Wiki<'a>;

    fn describe(&self) -> ConnectorInfo {
        info(NAME, "Where api.php is, e.g. https://wiki.example.org/w")
    }

    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<S> {
        let mut w = Wiki::new(http, ctx, None)?;
        let mut jar = CookieJar::default();
        let q = "action=query&meta=tokens&type=login";
        let r = w.send(false, q, &[]).await?;
        jar.store_all(&r.set_cookies);
        let token = body(r, "sign in")?["query"]["tokens"]["logintoken"].take();
        let back = w.ep.base().to_string();
        let f = [
            ("username", ctx.username.trim()),
            ("password", ctx.password.expose_secret()),
            ("logintoken", text(&token)),
            ("loginreturnurl", &back),
        ];
        w.ep = w.ep.with_auth(Auth::Header("Cookie", jar.header()));
        let r = w.send(true, "action=clientlogin", &f).await?;
        jar.store_all(&r.set_cookies);
        let wait = r.retry_after;
        let res = body(r, "sign in")?["clientlogin"].take();
        match text(&res["status"]) {
            "PASS" => debug!(user = text(&res["username"]), "signed in to MediaWiki"),
            _ => return Err(refused(&res, wait, "sign in")),
        }
        let (token, data) = (jar.header(), json!({ "user": res["username"] }));
        Ok(S { token, data })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &S) -> R<Wiki<'a>> {
        Wiki::new(http, ctx, Some(s))
    }
}

/// What MediaWiki's connectors (`mediawiki`, `mediawiki_browser`) declare alike, for the
/// connector `name`: MediaWiki's own groups ranked ([`RANKED`]) and `user` as roles (`user` the
/// default), members listed, invited, given a role and removed, the wiki's groups listed, a
/// password sign-in, and the base URL (`help` says which).
pub(crate) fn info(name: &str, help: &str) -> ConnectorInfo {
    let url = SettingField::new(BASE_URL, "Base URL", SettingKind::Url, true).help(help);
    let roles = RANKED.iter().chain(&[USER]).map(|r| r.to_string());
    ConnectorInfo {
        name: name.to_owned(),
        roles: roles.collect(),
        capabilities: vec![ListMembers, Invite, UpdateRole, Remove, ListRoles],
        default_role: USER.to_owned(),
        sign_in: SignIn::Password,
        settings: self_hosted(url, []),
    }
}

#[async_trait]
impl Members for Wiki<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        let q = "action=query&meta=userinfo&uiprop=rights|blockinfo";
        let v = self.get(q, &[], "read its rights").await?;
        let me = &v["query"]["userinfo"];
        if me.get("blockid").is_some() {
            return Err(E::InsufficientPermission("the account is blocked".into()));
        }
        let rights = ["createaccount", "userrights", "block", "editmyoptions"];
        let has = |r: &str| items(&me["rights"]).contains(&json!(r));
        require_rights(&rights, has, "make it a sysop and a bureaucrat")
    }

    /// `list=allusers` in name order, 100 a page, continued from the next name (`aufrom`).
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let q = "action=query&list=allusers&auprop=groups|blockinfo&aulimit=100";
        let from: Vec<_> = cursor.iter().map(|c| ("aufrom", *c)).collect();
        self.members(q, &from).await
    }

    /// One user by id or name, `None` when there is none (a name never holds a `|`).
    async fn member(&self, id: &str) -> R<Option<Member>> {
        if id.contains('|') {
            return Ok(None);
        }
        Ok(self.users(&[id]).await?.pop())
    }

    /// The account recorded for the address, if any: MediaWiki shows no addresses.
    async fn by_email(&self, email: &str) -> R<Option<Member>> {
        match self.recorded(email).await? {
            Some(name) => self.member(&name).await,
            None => Ok(None),
        }
    }

    fn is_me(&self, m: &Member) -> bool {
        self.me.as_ref().is_some_and(|me| *me == name(m))
    }

    async fn roles(&self) -> R<Vec<AppRole>> {
        let roles = self.groups().await?;
        Ok(roles.iter().map(|r| AppRole::plain(r)).collect())
    }

    /// Leaves `u` in exactly the group `role` (none for `user`; `action=userrights`) and
    /// returns the user as after ([`confirmed`]: `InsufficientPermission` when the group was not
    /// added).
    async fn set_role(&self, u: Member, role: &str) -> R<Member> {
        let others = u.roles.iter().filter(|g| *g != role && *g != USER);
        let others = others.cloned().collect::<Vec<_>>().join("|");
        let add = if role == USER { "" } else { role };
        let f = [("user", name(&u)), ("add", add), ("remove", &others)];
        let q = "action=userrights&reason=Castellan";
        self.write(q, "userrights", &f).await?;
        confirmed(self, &u.app_member_id, role).await
    }

    /// Unblocks the user (`action=unblock`; `cantunblock`, `NotFound`: the block is gone
    /// already).
    async fn reactivate(&self, u: Member, _: &Invitee<'_>) -> R<Member> {
        let q = "action=unblock&reason=Castellan";
        gone(self.write(q, "csrf", &[("user", name(&u))]).await)?;
        let u = self.member(&u.app_member_id).await?;
        u.ok_or_else(|| unexpected(APP, "unblock"))
    }

    /// The member the engine names: the person's own (former) member, recorded with the
    /// address and reactivated, unless Castellan made it for another address (`Conflict`).
    async fn named(&self, u: Member, to: &Invitee<'_>) -> R<Member> {
        self.claim(to.email, name(&u)).await?;
        rejoin(self, u, to).await
    }

    /// The user with this id or name, else the name as MediaWiki stores it; a user id nobody
    /// has is `NotFound`.
    async fn chosen(&self, n: &str) -> R<Chosen> {
        Ok(match self.member(n).await? {
            Some(u) => Chosen::Member(u),
            None if n.parse::<u64>().is_ok() => return Err(E::NotFound(format!("user {n}"))),
            None => Chosen::New(wiki::canonical(n)),
        })
    }

    /// The first free one of the address's [`username`], then with `-2` … `-20`, past the
    /// accounts Castellan made for other addresses ([`Records::first_free`]: a `Conflict` at an
    /// account Castellan did not make, or when all are taken).
    async fn free_username(&self, email: &str) -> R<String> {
        let names: Vec<String> = candidates(&username(email)).collect();
        let (found, recs) = (self.users(&names).await?, self.records().await?);
        recs.first_free(email, names, |n| found.iter().any(|u| name(u) == n))
    }

    /// Records the name for the address first (a retry after a lost answer finds the account
    /// this call makes), then `action=createaccount` with the address, the real name and a
    /// random password nobody sees (the SDK then gives the group).
    async fn create(&self, name: &str, to: &Invitee<'_>) -> R<Member> {
        let (email, inv) = (to.email, to.inv);
        self.record(email, name).await?;
        let (pass, back) = (random_password(), self.ep.base().to_string());
        let f = [
            ("username", name),
            ("password", &pass),
            ("retype", &pass),
            ("email", email),
            ("realname", inv.name.as_deref().unwrap_or_default()),
            ("createreturnurl", &back),
        ];
        let q = "action=createaccount&reason=Castellan";
        let res = self.write(q, "createaccount", &f).await?["createaccount"].take();
        if res["status"] != "PASS" {
            // Refused: the name is not this address's after all.
            self.record(email, "").await?;
            return Err(refused(&res, None, "create an account"));
        }
        let made = self.member(text(&res["username"])).await?;
        made.ok_or_else(|| unexpected(APP, "create an account"))
    }

    /// Takes every group away and blocks the user indefinitely (`action=block`).
    async fn remove(&self, m: Member) -> R<()> {
        let u = only(self, m, USER).await?;
        if u.state != MemberState::Deactivated {
            // `reblock` makes a partial block sitewide; no `autoblock` (it would block the
            // member's last IP address, maybe the bot's own).
            let q = "action=block&expiry=infinite&reblock=1&reason=Castellan";
            self.write(q, "csrf", &[("user", name(&u))]).await?;
            debug!(member = u.app_member_id, "blocked a MediaWiki user");
        }
        Ok(())
    }
}

fn name(u: &Member) -> &str {
    u.name.as_deref().unwrap_or_default()
}
