//! What the connector reads on wp-admin's pages, each with one script: the users table
//! (`WP_Users_List_Table`), a page's messages, the sign-in's answer and the roles offered.

use castellan_core::connector::AppMember;
use serde::Deserialize;

use crate::sdk::members::member;
use crate::sdk::roles::ranked;
use crate::wordpress::DEFAULT_ROLES;

/// The users table of `users.php` (`#the-list`): per row (`tr#user-<id>`) the login (in
/// `strong`), the name (an em dash with "Unknown" when none), the email, the roles (the slugs
/// are the classes of the row's checkbox) and the delete link (with its nonce); the number of
/// pages; the message of a page WordPress refused (`wp_die`: `body#error-page`).
pub(super) const USERS: &str = r#"
// WordPress's emoji script shows emoji as images: read them back as their text.
const text = e => { const c = e.cloneNode(true); c.querySelectorAll('img.emoji, img.wp-smiley').forEach(i => i.replaceWith(i.alt)); return c.textContent.trim(); };
const rows = [...document.querySelectorAll('#the-list tr[id^="user-"]')].map(tr => {
  const q = s => tr.querySelector(s);
  const name = q('td.column-name');
  const cb = q('th.check-column input[type=checkbox]');
  const del = q('.row-actions .delete a');
  return {
    id: tr.id.slice(5),
    login: q('td.column-username strong')?.textContent.trim() ?? '',
    name: !name || name.querySelector('.screen-reader-text') ? null : text(name),
    email: q('td.column-email a')?.textContent.trim() ?? null,
    // A user with no role on the site has the class `none` (`get_role_list`).
    roles: cb ? [...cb.classList].filter(c => c !== 'none') : [],
    delete: del ? del.getAttribute('href') : null,
  };
});
const pages = document.querySelector('.tablenav.top .total-pages');
return {
  table: !!document.getElementById('the-list'),
  rows,
  pages: pages ? parseInt(pages.textContent.replace(/\D/g, ''), 10) : 1,
  refused: document.body.id === 'error-page' ? document.body.innerText.trim() : null,
};"#;

/// The messages a wp-admin page shows: errors (`div.error`, `.notice-error`, `wp_die`'s page,
/// the sign-in's `#login_error`) and whether it says it saved (`#message.updated`,
/// `.notice-success`).
pub(super) const MESSAGES: &str = r#"
const text = s => [...document.querySelectorAll(s)].filter(e => e.getClientRects().length > 0)
  .map(e => e.innerText.trim()).filter(t => t);
const refused = document.body.id === 'error-page' ? [document.body.innerText.trim()] : [];
return {
  errors: refused.concat(text('#wpbody-content div.error, #wpbody-content .notice-error, #login_error')),
  saved: text('#message.updated, .notice-success').length > 0,
};"#;

/// The options of the role select of `user-new.php` (`#role`): the roles the account may give,
/// as `[slug, label]`; `null` without the select.
pub(super) const ROLES: &str = r#"
if (!document.getElementById('role')) return null;
return [...document.querySelectorAll('#role option')].filter(o => o.value).map(o => [o.value, o.textContent.trim()]);"#;

/// Whether the send-notification box of `user-new.php` is ticked.
pub(super) const NOTIFIES: &str =
    "return !!document.getElementById('send_user_notification')?.checked;";

/// The password-strength meter of `user-new.php` once it has judged a password (the classes
/// `wp-admin/js/user-profile.js`'s `check_pass_strength` gives `#pass-strength-result`).
pub(super) const JUDGED: &str = "#pass-strength-result.short, #pass-strength-result.bad, \
                                 #pass-strength-result.good, #pass-strength-result.strong";

/// Whether `user-new.php` asks to confirm a weak password (its unticked `#pw-weak` is shown).
pub(super) const WEAK: &str = "const b = document.getElementById('pw-weak'); \
                               return !!b && !b.checked && b.getClientRects().length > 0;";

/// One row of the users table ([`USERS`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Row {
    pub(super) id: String,
    pub(super) login: String,
    name: Option<String>,
    email: Option<String>,
    roles: Vec<String>,
    /// The path of the delete link, relative to `wp-admin/`.
    pub(super) delete: Option<String>,
}

impl Row {
    /// As an app member, its roles most privileged first: a user with no role on the site
    /// keeps the account but can do nothing there (`deactivated`).
    pub(super) fn member(&self) -> AppMember {
        let roles = ranked(self.roles.clone(), &DEFAULT_ROLES);
        let off = roles.is_empty();
        member(
            &self.id,
            self.email.as_deref(),
            self.name.as_deref(),
            roles,
            off,
        )
    }
}

/// The users table ([`USERS`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Table {
    pub(super) table: bool,
    pub(super) rows: Vec<Row>,
    pub(super) pages: u32,
    pub(super) refused: Option<String>,
}

/// A page's messages ([`MESSAGES`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Messages {
    pub(super) errors: Vec<String>,
    pub(super) saved: bool,
}

/// The first name and the rest of a full name (`Ana María Ruiz`: `Ana`, `María Ruiz`): wp-admin
/// shows "first last".
pub(super) fn split_name(name: &str) -> (&str, &str) {
    let name = name.trim();
    name.split_once(' ')
        .map_or((name, ""), |(f, l)| (f, l.trim()))
}
