//! The Action API as the connector calls it (JSON `formatversion=2`, the session's cookies,
//! `assert=user` so that no call acts anonymously once the session has ended, tokens, one table
//! from error codes to connector errors) and its users. Sources:
//! <https://www.mediawiki.org/wiki/API:Errors_and_warnings>, <https://www.mediawiki.org/wiki/API:Assert>,
//! <https://www.mediawiki.org/wiki/API:Tokens>, <https://www.mediawiki.org/wiki/API:Users>.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use castellan_core::connector::ConnectorError as E;
use castellan_core::connector::{AppMember, AppSession, ConnectorContext as Ctx, MemberPage};
use reqwest::Method;
use serde_json::Value;

use super::invites::{merged, of_options, of_watchlist, RECORD, WATCHED};
use super::{APP, R};
use crate::sdk::errors::unexpected;
use crate::sdk::json::{items, text};
use crate::sdk::members::{mailbox, member};
use crate::sdk::records::{RecordStore, Records};
use crate::sdk::rest::body_json;
use crate::sdk::roles::ranked;
use crate::sdk::usernames::{capitalized, derive};
use crate::sdk::{Auth, Endpoint, HttpClient, Reply};

/// Groups every user is in implicitly (`$wgImplicitGroups`): not roles.
const IMPLICIT: [&str; 3] = ["*", "user", "autoconfirmed"];
/// MediaWiki's own groups, most privileged first; other groups follow by name, `user` last.
pub(crate) const RANKED: [&str; 5] = ["bureaucrat", "suppress", "sysop", "interface-admin", "bot"];
/// The role of a member in no explicit group.
pub(crate) const USER: &str = "user";

/// Parameters as pairs.
pub(super) type Pairs<'a> = &'a [(&'a str, &'a str)];

/// The Action API of one wiki (<https://www.mediawiki.org/wiki/API:Main_page>) at the hub's
/// base URL (the script path), as the session's user: its users as [`AppMember`]s.
#[derive(Debug)]
pub struct Wiki<'a> {
    pub(super) ep: Endpoint<'a>,
    /// The session's user name: signed in, checked with `assert=user` on every call.
    pub(super) me: Option<Value>,
    /// This call's copy of the invitation records ([`RecordStore`]).
    recs: Mutex<Option<Records>>,
}

impl<'a> Wiki<'a> {
    /// The API at the hub's base URL with the session's cookies (`None`: signing in).
    pub(super) fn new(http: &'a HttpClient, ctx: &Ctx, s: Option<&AppSession>) -> R<Self> {
        let auth = s.map_or(Auth::None, |s| Auth::Header("Cookie", s.token.clone()));
        let ep = http.endpoint_for(ctx)?.with_auth(auth);
        let (me, recs) = (s.map(|s| s.data["user"].clone()), Mutex::default());
        Ok(Self { ep, me, recs })
    }

    /// A call with `fixed` parameters (a query string) and the non-empty `extra` ones: a `GET`
    /// or a `POST` form. Writes but sign-in and account creation set a state: sent again safely.
    pub(super) async fn send(&self, post: bool, fixed: &str, extra: Pairs<'_>) -> R<Reply> {
        let mut p = vec![("format", "json"), ("formatversion", "2")];
        p.extend(self.me.is_some().then_some(("assert", "user")));
        p.extend(fixed.split('&').filter_map(|kv| kv.split_once('=')));
        p.extend(extra.iter().filter(|p| !p.1.is_empty()));
        if !post {
            let q: Vec<_> = p.iter().map(|(k, v)| (*k, v.to_string())).collect();
            return self.ep.get("/api.php").query(&q).send().await;
        }
        let req = self.ep.request(Method::POST, "/api.php").form(&p);
        let action = fixed.split('&').next().unwrap_or_default();
        let once = ["action=clientlogin", "action=createaccount"].contains(&action);
        if once { req } else { req.idempotent() }.send().await
    }

    /// A read: the answer's JSON.
    pub(super) async fn get(&self, fixed: &str, extra: Pairs<'_>, what: &str) -> R<Value> {
        body(self.send(false, fixed, extra).await?, what)
    }

    /// A write with a token of `kind` (`csrf`, `userrights`, `createaccount`).
    pub(super) async fn write(&self, fixed: &str, kind: &str, extra: Pairs<'_>) -> R<Value> {
        let what = fixed.split('&').next().unwrap_or_default();
        let q = "action=query&meta=tokens";
        let v = self.get(q, &[("type", kind)], what).await?;
        let token = text(&v["query"]["tokens"][format!("{kind}token")]);
        let name = ["token", "createtoken"][usize::from(kind == "createaccount")];
        let all = [extra, &[(name, token)]].concat();
        body(self.send(true, fixed, &all).await?, what)
    }

    /// The members listed (`list=users` or `list=allusers`) in the answer to `fixed` and
    /// `extra`, with the addresses Castellan invited them with (the invitation records, read in
    /// the same call), and the name `list=allusers` goes on from (`continue.aufrom`).
    pub(super) async fn members(&self, fixed: &str, extra: Pairs<'_>) -> R<MemberPage> {
        let q = format!("{fixed}&meta=userinfo&uiprop=options");
        let v = self.get(&q, extra, "list users").await?;
        let recs = records(&v);
        let rows = items(&v["query"]["users"]).iter();
        let rows = rows.chain(items(&v["query"]["allusers"]));
        let rows = rows.filter(|r| r.get("missing").or(r.get("invalid")).is_none());
        let members = rows.map(|r| user(r, &recs)).collect::<Option<_>>();
        let members = members.ok_or_else(|| unexpected(APP, "list users"))?;
        let next = v["continue"]["aufrom"].as_str().map(str::to_owned);
        Ok(MemberPage { members, next })
    }

    /// Existing users by name, or by id when every one is digits; missing ones are left out.
    pub(super) async fn users<S: AsRef<str>>(&self, ids: &[S]) -> R<Vec<AppMember>> {
        let ids: Vec<&str> = ids.iter().map(|i| i.as_ref().trim()).collect();
        let digits = |i: &&str| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit());
        let key = ["ususers", "ususerids"][usize::from(ids.iter().all(digits))];
        let q = "action=query&list=users&usprop=groups|blockinfo";
        Ok(self.members(q, &[(key, &ids.join("|"))]).await?.members)
    }

    /// The wiki's groups as roles, most privileged first, and `user`
    /// (`meta=siteinfo&siprop=usergroups`).
    pub(super) async fn groups(&self) -> R<Vec<String>> {
        let q = "action=query&meta=siteinfo&siprop=usergroups";
        let v = self.get(q, &[], "read the groups").await?;
        let names = items(&v["query"]["usergroups"]).iter();
        let mut all = groups(names.map(|g| text(&g["name"])));
        all.push(USER.to_owned());
        Ok(all)
    }
}

/// The invitation records are the automation account's own options ([`RECORD`]…,
/// `action=options`, <https://www.mediawiki.org/wiki/API:Options>), and the ones the browser
/// connector keeps on the account's watchlist (`list=watchlistraw`, titles from
/// [`WATCHED`], <https://www.mediawiki.org/wiki/API:Watchlistraw>), which win for their
/// addresses ([`merged`]): a hub may move from either connector to the other.
#[async_trait]
impl RecordStore for Wiki<'_> {
    const PREFIX: &'static str = RECORD;

    fn copy(&self) -> &Mutex<Option<Records>> {
        &self.recs
    }

    async fn read_records(&self) -> R<Records> {
        let what = "read the invitation records";
        let q = "action=query&meta=userinfo&uiprop=options";
        let options = records(&self.get(q, &[], what).await?);
        // Main-namespace titles from "Castellan invitation" up to "Castellan invitation0" ('0'
        // follows '/'): every record title and nothing much else.
        let q = "action=query&list=watchlistraw&wrnamespace=0&wrlimit=max";
        let (from, to) = (
            WATCHED.trim_end_matches('/'),
            format!("{}0", WATCHED.trim_end_matches('/')),
        );
        let mut titles: Vec<String> = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut args = vec![("wrfromtitle", from), ("wrtotitle", to.as_str())];
            if let Some(c) = next.as_deref() {
                args.push(("wrcontinue", c));
            }
            let v = self.get(q, &args, what).await?;
            let rows = items(&v["watchlistraw"]).iter();
            titles.extend(rows.map(|t| text(&t["title"]).to_owned()));
            next = v["continue"]["wrcontinue"].as_str().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        let watched = of_watchlist(titles.iter().map(String::as_str));
        Ok(merged(watched, options))
    }

    async fn write_record(&self, key: &str, value: &str) -> R<()> {
        let f = [("optionname", key), ("optionvalue", value)];
        self.write("action=options", "csrf", &f).await.map(drop)
    }
}

/// The JSON of an answer, or the typed error: the SDK's common answers (429, 5xx, redirects),
/// no MediaWiki API at the address, or an API error ([`map_code`]).
pub(super) fn body(r: Reply, what: &str) -> R<Value> {
    let fix = "the wiki's script path (where api.php is)";
    body_json(r, APP, what, fix, |v, wait| {
        let e = v.get("error")?;
        Some(map_code(text(&e["code"]), text(&e["info"]), wait, what))
    })
}

/// The error of a sign-in or account creation that did not pass: AuthManager's `FAIL` (its
/// `messagecode`), or `UI`, `REDIRECT`, `RESTART` (a captcha, a second factor, another
/// provider: a person must act). <https://www.mediawiki.org/wiki/API:Login#Method_2._clientlogin>
pub(super) fn refused(res: &Value, wait: Option<Duration>, what: &str) -> E {
    let (status, msg) = (text(&res["status"]), text(&res["message"]));
    match map_code(text(&res["messagecode"]), msg, wait, what) {
        _ if status != "FAIL" => E::NeedsHuman(format!("to {what}, the wiki asks: {msg}")),
        E::AppChanged(m) if what == "sign in" => E::BadCredentials(m),
        e => e,
    }
}

/// The one table from MediaWiki's error codes (an API error's `code`, or the `messagecode` of a
/// sign-in or account creation) to connector errors; an unknown code is `AppChanged`.
pub(super) fn map_code(code: &str, info: &str, retry_after: Option<Duration>, what: &str) -> E {
    let detail = format!("{what}: {code}: {info}");
    match code {
        "ratelimited" | "maxlag" | "login-throttled" | "acct_creation_throttle_hit" => {
            E::RateLimited { retry_after }
        }
        "readonly" | "internal_api_error_DBQueryError" => E::Unavailable(detail),
        "wrongpassword" | "wrongpasswordempty" | "nosuchuser" | "badtoken" => {
            E::BadCredentials(detail)
        }
        "assertuserfailed" | "assertnameduserfailed" => E::BadCredentials(format!(
            "{what}: the session has ended ({code}): sign in again"
        )),
        "permissiondenied" | "blocked" | "autoblocked" | "sitewideblocked"
        | "cantcreateaccount" | "badaccess-groups" => E::InsufficientPermission(detail),
        "userexists" | "createaccount-hook-aborted" => E::Conflict(detail),
        "nosuchuserid" | "cantunblock" => E::NotFound(detail),
        "invaliduser" | "noname" => E::Configuration(detail),
        c if c.contains("captcha") => E::NeedsHuman(detail),
        _ => E::AppChanged(format!("MediaWiki refused to {detail}")),
    }
}

/// Groups as roles: without implicit ones and repeats, most privileged first (see [`RANKED`]).
pub(crate) fn groups<'a>(groups: impl Iterator<Item = &'a str>) -> Vec<String> {
    ranked(groups.filter(|g| !IMPLICIT.contains(g)), &RANKED)
}

/// The invitation records in an answer with the automation account's options: values
/// `<address> <username>` of the options named [`RECORD`]… ([`of_options`]).
fn records(v: &Value) -> Records {
    of_options(&v["query"]["userinfo"]["options"])
}

/// A user as an app member, from a `list=allusers` or `list=users` row with `groups` and
/// `blockinfo`: the user id, the username as name, the address Castellan invited them with
/// (MediaWiki shows nobody's but one's own), the explicit groups or `user` as roles,
/// deactivated when blocked from the whole wiki (a partial block still lets them work).
fn user(v: &Value, recs: &Records) -> Option<AppMember> {
    let name = v["name"].as_str()?;
    let groups = groups(v["groups"].as_array()?.iter().filter_map(Value::as_str));
    let roles = Some(groups).filter(|g| !g.is_empty());
    let blocked = v.get("blockid").is_some() && v["blockpartial"] != true;
    let (id, email) = (v["userid"].as_u64()?, recs.email_of(name));
    let roles = roles.unwrap_or(vec![USER.to_owned()]);
    Some(member(id, email, Some(name), roles, blocked))
}

/// The username an address gives: its [`mailbox`] with characters other than letters, digits,
/// `.` and `-` as spaces ([`derive`]), at most 60 characters, as MediaWiki stores it
/// ([`canonical`]: `ana.b_c+x@h` gives `Ana.b c`), or `Member` when no letter or digit is left.
/// Digits alone get `Member ` before them (`1234@h` gives `Member 1234`): a name of digits
/// only would read as a user id wherever a member is looked up by id or name.
pub(crate) fn username(email: &str) -> String {
    let keep = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let name = derive(mailbox(email), keep, 60 + 3).map_or("Member".into(), |n| canonical(&n));
    match name.bytes().all(|b| b.is_ascii_digit()) {
        true => format!("Member {name}"),
        false => name,
    }
}

/// A username as MediaWiki stores it: `_` as a space, runs of spaces as one, trimmed, the first
/// letter capitalised.
pub(crate) fn canonical(name: &str) -> String {
    let words = name.replace('_', " ");
    capitalized(&words.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::username;

    #[test]
    fn usernames_from_addresses_are_never_digits_alone() {
        assert_eq!(username("ana.b_c+x@h.test"), "Ana.b c");
        assert_eq!(username("1@corp.test"), "Member 1");
        assert_eq!(username("2+wiki@corp.test"), "Member 2");
        assert_eq!(username("5551234567@vtext.com"), "Member 5551234567");
        assert_eq!(username("1-2@corp.test"), "1-2");
        assert_eq!(username("__@corp.test"), "Member");
    }
}
