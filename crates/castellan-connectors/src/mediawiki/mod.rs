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

mod wiki;

use async_trait::async_trait;
use castellan_core::catalog::Capability::*;
use castellan_core::connector::settings::{self_hosted, SettingField, SettingKind, BASE_URL};
use castellan_core::connector::{AppMember as Member, AppRole, AppSession as S, Connector};
use castellan_core::connector::{ConnectorContext as Ctx, ConnectorError as E, ConnectorInfo};
use castellan_core::connector::{Invitation, MemberPage, MemberState, SignIn};
use secrecy::ExposeSecret;
use serde_json::json;
use tracing::{debug, instrument};

use crate::sdk::cookies::CookieJar;
use crate::sdk::errors::{gone, unexpected};
use crate::sdk::json::{items, text};
use crate::sdk::members::{given, normalize_email, not_self, require_rights};
use crate::sdk::records::{key, value, Records};
use crate::sdk::usernames::{candidates, random_password};
use crate::sdk::{roles::known, Auth};
use wiki::{body, groups, refused, username, Wiki, RANKED, RECORD, USER};

/// The connector's name in the catalog.
pub const NAME: &str = "mediawiki";
const APP: &str = "MediaWiki";

type R<T> = Result<T, E>;

crate::sdk::http_connector!(
    /// The MediaWiki connector. Cheap to clone; share one per process (it pools connections).
    MediaWikiConnector
);

impl MediaWikiConnector {
    /// The API at the wiki's script path (the hub's base URL), with the session's cookies.
    fn wiki(&self, ctx: &Ctx, s: Option<&S>) -> R<Wiki<'_>> {
        let ep = self.http.endpoint_for(ctx);
        let auth = s.map_or(Auth::None, |s| Auth::Header("Cookie", s.token.clone()));
        Ok(Wiki(ep?.with_auth(auth), s.is_some()))
    }
}

#[async_trait]
impl Connector for MediaWikiConnector {
    fn describe(&self) -> ConnectorInfo {
        let url = SettingField::new(BASE_URL, "Base URL", SettingKind::Url, true);
        let url = url.help("Where api.php is, e.g. https://wiki.example.org/w");
        let roles = RANKED.iter().chain(&[USER]).map(|r| r.to_string());
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: roles.collect(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, ListRoles],
            default_role: USER.to_owned(),
            sign_in: SignIn::Password,
            settings: self_hosted(url, []),
        }
    }

    #[instrument(skip_all, fields(connector = NAME, username = %ctx.username))]
    async fn login(&self, ctx: &Ctx) -> R<S> {
        let mut w = self.wiki(ctx, None)?;
        let mut jar = CookieJar::default();
        let r = w.send(false, "action=query&meta=tokens&type=login", &[]);
        let r = r.await?;
        jar.store_all(&r.set_cookies);
        let token = body(r, "sign in")?["query"]["tokens"]["logintoken"].take();
        let back = w.0.base().to_string();
        let f = [
            ("username", ctx.username.trim()),
            ("password", ctx.password.expose_secret()),
            ("logintoken", text(&token)),
            ("loginreturnurl", &back),
        ];
        w.0 = w.0.with_auth(Auth::Header("Cookie", jar.header()));
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

    #[instrument(skip_all, fields(connector = NAME))]
    async fn verify_permissions(&self, ctx: &Ctx, s: &S) -> R<()> {
        let w = self.wiki(ctx, Some(s))?;
        let q = "action=query&meta=userinfo&uiprop=rights|blockinfo";
        let v = w.get(q, &[], "read its rights").await?;
        let me = &v["query"]["userinfo"];
        if me.get("blockid").is_some() {
            return Err(E::InsufficientPermission("the account is blocked".into()));
        }
        let rights = ["createaccount", "userrights", "block", "editmyoptions"];
        let has = |r: &str| items(&me["rights"]).contains(&json!(r));
        require_rights(&rights, has, "make it a sysop and a bureaucrat")
    }

    #[instrument(skip_all, fields(connector = NAME, cursor = ?cursor))]
    async fn list_members(&self, ctx: &Ctx, s: &S, cursor: Option<String>) -> R<MemberPage> {
        let w = self.wiki(ctx, Some(s))?;
        let q = "action=query&list=allusers&auprop=groups|blockinfo&aulimit=100";
        let from: Vec<_> = cursor.iter().map(|c| ("aufrom", c.as_str())).collect();
        let (members, v) = w.members(q, &from).await?;
        let next = v["continue"]["aufrom"].as_str().map(str::to_owned);
        Ok(MemberPage { members, next })
    }

    #[instrument(skip_all, fields(connector = NAME, member = %id))]
    async fn get_member(&self, ctx: &Ctx, s: &S, id: &str) -> R<Option<Member>> {
        self.wiki(ctx, Some(s))?.user(id).await
    }

    #[instrument(skip_all, fields(connector = NAME))]
    async fn find_by_email(&self, ctx: &Ctx, s: &S, email: &str) -> R<Option<Member>> {
        let w = self.wiki(ctx, Some(s))?;
        let key = key(RECORD, &normalize_email(email)?);
        recorded(&w, &w.records().await?, &key).await
    }

    #[instrument(skip_all, fields(connector = NAME, role = %inv.role))]
    async fn invite(&self, ctx: &Ctx, s: &S, inv: &Invitation) -> R<Member> {
        let w = self.wiki(ctx, Some(s))?;
        roles(&w, Some(&inv.role)).await?;
        let email = normalize_email(&inv.email)?;
        let (key, recs) = (key(RECORD, &email), w.records().await?);
        // The account Castellan made for this address.
        if let Some(u) = recorded(&w, &recs, &key).await? {
            return revive(&w, u, &inv.role).await;
        }
        let name = match given(&inv.username) {
            None => free_name(&w, &email, &recs).await?,
            // The member the engine names: the person's own (former) member, unless Castellan
            // made it for another address.
            Some(n) => match w.user(n).await? {
                Some(u) if recs.made(name(&u)) => {
                    return Err(E::Conflict(format!("{n} was invited with another address")))
                }
                Some(u) => {
                    record(&w, &key, &email, name(&u)).await?;
                    return revive(&w, u, &inv.role).await;
                }
                None if n.parse::<u64>().is_ok() => return Err(E::NotFound(format!("user {n}"))),
                None => wiki::canonical(n),
            },
        };
        // Recorded first: a retry after a lost answer finds the account this call makes.
        if recs.of_key(&key).is_none_or(|r| r.name != name) {
            record(&w, &key, &email, &name).await?;
        }
        let (pass, back) = (random_password(), w.0.base().to_string());
        let f = [
            ("username", name.as_str()),
            ("password", &pass),
            ("retype", &pass),
            ("email", &email),
            ("realname", inv.name.as_deref().unwrap_or_default()),
            ("createreturnurl", &back),
        ];
        let q = "action=createaccount&reason=Castellan";
        let res = w.write(q, "createaccount", &f).await?["createaccount"].take();
        if res["status"] != "PASS" {
            // Refused: the name is not this address's after all.
            record(&w, &key, "", "").await?;
            return Err(refused(&res, None, "create an account"));
        }
        let made = w.user(text(&res["username"])).await?;
        let made = made.ok_or_else(|| unexpected(APP, "create an account"))?;
        set_groups(&w, made, &inv.role).await
    }

    #[instrument(skip_all, fields(connector = NAME, member = %id, role = %role))]
    async fn update_role(&self, ctx: &Ctx, s: &S, id: &str, role: &str) -> R<Member> {
        let w = self.wiki(ctx, Some(s))?;
        roles(&w, Some(role)).await?;
        let u = w.user(id).await?.ok_or(E::NotFound(format!("user {id}")))?;
        not_self(is_me(s, &u) && u.roles != [role], "change its own groups")?;
        set_groups(&w, u, role).await
    }

    #[instrument(skip_all, fields(connector = NAME, member = %id))]
    async fn remove(&self, ctx: &Ctx, s: &S, id: &str) -> R<()> {
        let w = self.wiki(ctx, Some(s))?;
        let Some(u) = w.user(id).await? else {
            return Ok(());
        };
        not_self(is_me(s, &u), "block itself")?;
        let u = set_groups(&w, u, USER).await?;
        if u.state != MemberState::Deactivated {
            // `reblock` makes a partial block sitewide; no `autoblock` (it would block the
            // member's last IP address, maybe the bot's own).
            let q = "action=block&expiry=infinite&reblock=1&reason=Castellan";
            w.write(q, "csrf", &[("user", name(&u))]).await?;
            debug!(member = u.app_member_id, "blocked a MediaWiki user");
        }
        Ok(())
    }

    async fn list_roles(&self, ctx: &Ctx, s: &S) -> R<Vec<AppRole>> {
        let roles = roles(&self.wiki(ctx, Some(s))?, None).await?;
        Ok(roles.iter().map(|r| AppRole::plain(r)).collect())
    }
}

fn is_me(s: &S, u: &Member) -> bool {
    s.data["user"] == name(u)
}

fn name(u: &Member) -> &str {
    u.name.as_deref().unwrap_or_default()
}

/// The wiki's groups as roles, most privileged first, and `user`. Errors: `Configuration` when
/// `role` is given and is not one of them.
async fn roles(w: &Wiki<'_>, role: Option<&str>) -> R<Vec<String>> {
    let q = "action=query&meta=siteinfo&siprop=usergroups";
    let v = w.get(q, &[], "read the groups").await?;
    let mut all = groups(
        items(&v["query"]["usergroups"])
            .iter()
            .map(|g| text(&g["name"])),
    );
    all.push(USER.to_owned());
    role.map_or(Ok(()), |r| known(APP, r, &all))?;
    Ok(all)
}

/// Leaves `u` in exactly the group `role` (none for `user`) and returns the user as after.
/// Errors: `InsufficientPermission` when the group was not added.
async fn set_groups(w: &Wiki<'_>, u: Member, role: &str) -> R<Member> {
    if u.roles == [role] {
        return Ok(u);
    }
    let others = u.roles.iter().filter(|g| *g != role && *g != USER);
    let others = others.cloned().collect::<Vec<_>>().join("|");
    let add = if role == USER { "" } else { role };
    let f = [("user", name(&u)), ("add", add), ("remove", &others)];
    let q = "action=userrights&reason=Castellan";
    w.write(q, "userrights", &f).await?;
    match w.user(&u.app_member_id).await? {
        Some(a) if a.roles == [role] => Ok(a),
        _ => Err(E::InsufficientPermission(format!("{role} was not given"))),
    }
}

/// A member invited again: a blocked one is unblocked and given `role`; an active one stays.
async fn revive(w: &Wiki<'_>, u: Member, role: &str) -> R<Member> {
    if u.state != MemberState::Deactivated {
        return Ok(u);
    }
    let f = [("user", name(&u))];
    // `cantunblock` (`NotFound`): the block is gone already.
    gone(w.write("action=unblock&reason=Castellan", "csrf", &f).await)?;
    let u = w.user(&u.app_member_id).await?;
    set_groups(w, u.ok_or_else(|| unexpected(APP, "unblock"))?, role).await
}

/// The account recorded for `key`, if it (still) exists.
async fn recorded(w: &Wiki<'_>, recs: &Records, key: &str) -> R<Option<Member>> {
    match recs.of_key(key) {
        Some(r) => w.user(&r.name).await,
        None => Ok(None),
    }
}

/// Records the username made for an address (`action=options`); an empty one forgets it.
async fn record(w: &Wiki<'_>, key: &str, email: &str, name: &str) -> R<()> {
    let value = value(email, name);
    let f = [("optionname", key), ("optionvalue", &value)];
    w.write("action=options", "csrf", &f).await.map(drop)
}

/// The first free one of the address's [`username`], then with `-2` … `-20`, past the accounts
/// Castellan made for other addresses ([`Records::first_free`]: a `Conflict` at an account
/// Castellan did not make, or when all are taken).
async fn free_name(w: &Wiki<'_>, email: &str, recs: &Records) -> R<String> {
    let names: Vec<String> = candidates(&username(email)).collect();
    let found = w.users(&names).await?;
    recs.first_free(email, names, |n| found.iter().any(|u| name(u) == n))
}
