//! What the connector finds on MediaWiki's pages (MediaWiki 1.39's special pages): their paths,
//! the fields and buttons it uses, and the scripts that read who is signed in, the users of
//! `Special:ListUsers`, the group boxes of `Special:UserRights`, the watchlist and options that
//! hold the invitation records, and a page's messages.

use castellan_core::connector::AppMember;
use serde::Deserialize;
use serde_json::Value;

use crate::mediawiki::{groups, USER};
use crate::sdk::members::member;
use crate::sdk::records::Records;

/// A page that needs no session, where a kept session's cookies are set.
pub(super) const LANDING: &str = "/index.php?title=Special:BlankPage";
/// The sign-in form's fields and button (`Special:UserLogin`).
pub(super) const LOGIN_NAME: &str = "#wpName1";
pub(super) const LOGIN_PASSWORD: &str = "#wpPassword1";
pub(super) const LOGIN_BUTTON: &str = "#wpLoginAttempt";
/// The form of `Special:CreateAccount` as a signed-in account sees it: name, password twice,
/// address, real name, reason, the "send a temporary password by email" box, the button.
pub(super) const NEW_NAME: &str = "#wpName2";
pub(super) const NEW_PASSWORD: &str = "#wpPassword2";
pub(super) const NEW_RETYPE: &str = "#wpRetype";
pub(super) const NEW_EMAIL: &str = "#wpEmail";
pub(super) const NEW_REAL_NAME: &str = "#wpRealName";
pub(super) const NEW_REASON: &str = "#wpReason";
pub(super) const NEW_BY_MAIL: &str = "#wpCreateaccountMail";
pub(super) const NEW_BUTTON: &str = "#wpCreateaccount";
/// The reason and the Save button of `Special:UserRights/<name>` (`#mw-userrights-form2`).
pub(super) const RIGHTS_REASON: &str = "#mw-userrights-form2 #wpReason";
pub(super) const RIGHTS_SAVE: &str = "#mw-userrights-form2 input[name=saveusergroups]";
/// The button of the page's form (Block, Unblock, Watch, Unwatch: HTMLForm).
pub(super) const FORM_BUTTON: &str = "#mw-content-text form [type=submit]";
/// The reason every change gives (in the wiki's logs).
pub(super) const REASON: &str = "Castellan";

/// The path of `index.php` for `title` with `query` (encoded).
pub(super) fn index(title: &str, query: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("title", title);
    for (k, v) in query {
        q.append_pair(k, v);
    }
    format!("/index.php?{}", q.finish())
}

/// The page's configuration for its scripts (`RLCONF`, set in the page's head before any
/// script runs): who is signed in (`wgUserName`, `wgUserId`), which page it is, and the user it
/// is about (a user page: `wgRelevantUserName`); the messages it shows ([`MESSAGES`]).
pub(super) const WHO: &str = r#"
const c = window.RLCONF || {};
const text = s => [...document.querySelectorAll(s)].map(e => e.innerText.trim()).filter(t => t);
const seen = new Set();
return {
  user: c.wgUserName ?? null,
  id: c.wgUserId ?? null,
  namespace: c.wgCanonicalNamespace ?? null,
  special: c.wgCanonicalSpecialPageName || null,
  relevant: c.wgRelevantUserName ?? null,
  errors: text('#mw-content-text .mw-message-box-error, #mw-content-text .errorbox, '
    + '#mw-content-text .error, #mw-content-text .permissions-errors, '
    + '#mw-content-text .oo-ui-flaggedElement-error.oo-ui-messageWidget')
    .filter(t => !seen.has(t) && seen.add(t)),
};"#;

/// The users of `Special:ListUsers` shown with `uselang=qqx` (message keys for words, so that
/// groups and blocks read alike in every language): per row (`li` with its `a.mw-userlink`)
/// the username, the groups (`(group-<group>-member: <name>)`, a link where the group has a
/// page) and whether it is blocked from the whole wiki (`(listusers-blocked: <name>)`); the
/// offset of the next page (the pager's `a.mw-nextlink`), `null` on the last. The markers are
/// read with the row's own name in them and outside its user link, so a name that spells a
/// marker (`Eve (listusers-blocked)`) reads as nothing.
pub(super) const USERS: &str = r#"
const c = window.RLCONF || {};
const esc = s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const rows = [...document.querySelectorAll('#mw-content-text li')]
  .filter(li => li.querySelector('a.mw-userlink'))
  .map(li => {
    const name = li.querySelector('a.mw-userlink').textContent.trim();
    const rest = li.cloneNode(true);
    rest.querySelectorAll('a.mw-userlink, .mw-usertoollinks').forEach(e => e.remove());
    const t = rest.textContent;
    const member = new RegExp('\\(group-([^\\s():]+?)-member: ' + esc(name) + '\\)', 'g');
    return {
      name,
      groups: [...t.matchAll(member)].map(m => m[1]),
      blocked: t.includes('(listusers-blocked: ' + name + ')'),
    };
  });
const next = document.querySelector('#mw-content-text a.mw-nextlink');
return {
  list: c.wgCanonicalSpecialPageName === 'Listusers',
  rows,
  next: next ? new URL(next.href, location.href).searchParams.get('offset') : null,
};"#;

/// The group boxes of `Special:UserRights/<name>` (`input.mw-userrights-groupcheckbox`, id
/// `wpGroup-<group>`): the group, whether it is ticked and whether the signed-in account may
/// change it (not disabled); whether the form to change them is there at all.
pub(super) const RIGHTS: &str = r#"
const form = document.getElementById('mw-userrights-form2');
const boxes = form ? [...form.querySelectorAll('input.mw-userrights-groupcheckbox')] : [];
return {
  form: !!form && !!form.querySelector('input[name=saveusergroups]'),
  boxes: boxes.map(b => ({ group: b.id.replace(/^wpGroup-/, ''), on: b.checked, can: !b.disabled })),
};"#;

/// The invitation records a page can read, once its scripts have run (else `null`): the
/// signed-in account's options (`mw.user.options`, from the page's private `user.options`
/// module: no request) and the titles of its watchlist (the textarea of
/// `Special:EditWatchlist/raw`, `null` elsewhere).
pub(super) const RECORDS: &str = r#"
if (!window.mw || !mw.loader || mw.loader.getState('user.options') !== 'ready') return null;
const raw = document.querySelector('textarea[name=wpTitles]');
return {
  options: mw.user.options.get() || {},
  titles: raw ? raw.value.split('\n').map(t => t.trim()).filter(t => t) : null,
};"#;

/// Whether the page's scripts have run: every module the page loads (`RLPAGEMODULES`) is
/// ready (or failed); `null` until then. Forms are set after them, as their scripts rebuild
/// some fields (OOUI widgets take their first values again).
pub(super) const SETTLED: &str = r#"
if (!window.mw || !mw.loader) return null;
const done = ['ready', 'error', 'missing'];
return (window.RLPAGEMODULES || []).every(m => done.includes(mw.loader.getState(m))) || null;"#;

/// Switches the live checks of `Special:CreateAccount` off, once its scripts have run
/// ([`SETTLED`]): their handlers on the fields are taken off and `mw.Api` sends nothing from
/// this page, so typing asks `api.php` nothing (the checks would ask whether the name is free,
/// `list=users`, and the password good, `action=validatepassword`: MediaWiki checks both again
/// when the form is sent).
pub(super) const QUIET_SIGNUP: &str = r#"
if (window.mw && mw.Api) {
  mw.Api.prototype.ajax = function () {
    return jQuery.Deferred().reject('castellan-no-api').promise({ abort: function () {} });
  };
}
if (window.jQuery) jQuery('#wpName2, #wpPassword2, #wpRetype, #wpEmail, #wpRealName').off();
return true;"#;

/// Whether the box `arguments[0]` (a CSS selector) is on the page and ticked.
pub(super) const TICKED: &str = "return !!document.querySelector(arguments[0])?.checked;";

/// Sets the boxes of the form of `Special:Block/<name>` for Castellan's block (as the
/// `mediawiki` connector blocks): the whole wiki (`wpEditingRestriction=sitewide`), no autoblock
/// (it would block the member's last address, maybe the bot's own), account creation and email
/// allowed, the user page not watched; the expiry's list on "Other time" (its field then takes
/// `infinite`: [`BLOCK_EXPIRY`]). Each box is clicked, as a person would, so that the page's
/// widgets know. Whether the form is there.
pub(super) const BLOCK_FORM: &str = r#"
const f = n => document.querySelector(`#mw-content-text form [name="${n}"]`);
if (!f('wpTarget')) return false;
const click = (e, on) => { if (e && e.checked !== on) e.click(); };
click(document.querySelector('#mw-content-text input[name=wpEditingRestriction][value=sitewide]'), true);
for (const n of ['wpAutoBlock', 'wpCreateAccount', 'wpDisableEmail', 'wpDisableUTEdit', 'wpHideUser', 'wpWatch']) {
  const b = f(n);
  if (b && b.type === 'checkbox') click(b, false);
}
const expiry = f('wpExpiry');
if (expiry && expiry.value !== 'other') {
  expiry.value = 'other';
  expiry.dispatchEvent(new Event('change', { bubbles: true }));
}
return true;"#;

/// The field of the expiry ("Other time") and of the reason ("Other/additional reason") of the
/// forms of `Special:Block` and `Special:Unblock`, typed into as a person would.
pub(super) const BLOCK_EXPIRY: &str = "#mw-content-text form [name=\"wpExpiry-other\"]";
pub(super) const BLOCK_REASON: &str = "#mw-content-text form [name=\"wpReason-other\"]";
pub(super) const UNBLOCK_REASON: &str = "#mw-content-text form [name=\"wpReason\"]";

/// Who is signed in and what the page says ([`WHO`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Who {
    pub(super) user: Option<String>,
    pub(super) id: Option<u64>,
    pub(super) namespace: Option<String>,
    pub(super) special: Option<String>,
    pub(super) relevant: Option<String>,
    pub(super) errors: Vec<String>,
}

/// One user of `Special:ListUsers` ([`USERS`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Row {
    pub(super) name: String,
    groups: Vec<String>,
    blocked: bool,
}

impl Row {
    /// As an app member, as the `mediawiki` connector reads a user but for its id (the
    /// username: no page shows the user ids of a list): the address Castellan invited them with
    /// (`recs`), the explicit groups most privileged first or `user`, deactivated when blocked
    /// from the whole wiki.
    pub(super) fn member(&self, recs: &Records) -> AppMember {
        let mut roles = groups(self.groups.iter().map(String::as_str));
        if roles.is_empty() {
            roles.push(USER.to_owned());
        }
        let email = recs.email_of(&self.name);
        member(&self.name, email, Some(&self.name), roles, self.blocked)
    }
}

/// A page of `Special:ListUsers` ([`USERS`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Table {
    pub(super) list: bool,
    pub(super) rows: Vec<Row>,
    pub(super) next: Option<String>,
}

/// One group box of `Special:UserRights` ([`RIGHTS`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct GroupBox {
    pub(super) group: String,
    pub(super) on: bool,
    pub(super) can: bool,
}

/// The group form of `Special:UserRights` ([`RIGHTS`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Rights {
    pub(super) form: bool,
    pub(super) boxes: Vec<GroupBox>,
}

/// The records a page shows ([`RECORDS`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Held {
    pub(super) options: Value,
    pub(super) titles: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_core::connector::MemberState;

    #[test]
    fn paths_and_members() {
        assert_eq!(
            index("Special:Block/Ana b+c", &[("wpExpiry", "infinite")]),
            "/index.php?title=Special%3ABlock%2FAna+b%2Bc&wpExpiry=infinite"
        );
        let recs = Records::parse("p-", [("p-1", "ana@x.test Ana"), ("p-2", "bo@x.test Bo")]);
        let row = |groups: &[&str], blocked| Row {
            name: "Ana".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            blocked,
        };
        let m = row(&["bot", "sysop"], false).member(&recs);
        assert_eq!(
            (m.app_member_id.as_str(), m.email.as_deref(), m.roles),
            (
                "Ana",
                Some("ana@x.test"),
                vec!["sysop".into(), "bot".into()]
            )
        );
        let m = row(&[], true).member(&Records::default());
        assert_eq!(
            (m.email, m.roles, m.state),
            (None, vec!["user".to_owned()], MemberState::Deactivated)
        );
    }
}
