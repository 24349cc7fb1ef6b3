//! What the connector finds on Redmine's pages (Redmine 5.0's views): the sign-in with its
//! second factor, the fields and links it uses, and the scripts that read the users table of
//! Administration → Users, a user's edit form, the page's messages and who is signed in.

use std::time::Duration;

use castellan_core::connector::MemberState;
use castellan_core::connector::{AppMember, ConnectorContext as Ctx, ConnectorError as E};
use castellan_otp::OtpParams;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::redmine::{codes_refused, held_at, second_factor, twofa_code, twofa_session_ended};
use crate::sdk::browser::Page;
use crate::sdk::members::{admin_role, member};

/// The sign-in page, which needs no session (a kept session's cookies are set there).
pub(super) const LOGIN_PAGE: &str = "/login";
/// Where Redmine asks for the second factor (`account/twofa_confirm`).
pub(super) const TWOFA: &str = "/account/twofa/confirm";
/// The Save button of a user's edit form (`users/_general`).
pub(super) const SAVE: &str = "form[id^='edit_user'] input[type=submit][name=commit]";
/// The Create button of New user (`users/new`; "Create and continue" is `continue`).
pub(super) const CREATE: &str = "#new_user input[type=submit][name=commit]";
/// The links of a user's edit page (`users/edit`, `change_status_link`, `delete_link`).
pub(super) const LOCK: &str = "#content .contextual a.icon-lock";
pub(super) const UNLOCK: &str = "#content .contextual a.icon-unlock";
pub(super) const DELETE: &str = "#content .contextual a.icon-del";
/// The login to type on the delete confirmation (`users/destroy`), and its Delete button
/// (Lock is `lock`).
pub(super) const CONFIRM_LOGIN: &str = "#content #confirm";
pub(super) const CONFIRM_DELETE: &str = "#content form input[type=submit][name=commit]";
/// How long the confirmation may take to show after the Delete link (the page has loaded by
/// then; this covers a slow script).
pub(super) const CONFIRM_WAIT: Duration = Duration::from_secs(2);
/// What the confirmation's login field holds.
pub(super) const CONFIRM_TYPED: &str =
    "const e = document.querySelector('#content #confirm'); return e ? e.value : null;";

/// Who is signed in, from the layout's "Logged in as" (`#loggedas`, a link to `/users/<id>`),
/// and the page's messages ([`MESSAGES`]): the sign-in's answer.
pub(super) const SIGNED_IN: &str = r#"
const a = document.querySelector('#loggedas a[href*="/users/"]');
const id = a ? ((a.getAttribute('href').match(/\/users\/(\d+)/) || [])[1] ?? null) : null;
const text = s => [...document.querySelectorAll(s)].map(e => e.innerText.trim()).filter(t => t);
return {
  id,
  login: a ? a.textContent.trim() : null,
  errors: text('#flash_error, #errorExplanation li'),
};"#;

/// The users table of `/users` (`table.list.users`, one `tr.user` a user): the id (from the
/// login's link to `/users/<id>/edit`), login, first and last name, email, the administrator
/// tick (an icon in the first `td.tick` only for administrators; the second, `td.twofa`, says
/// whether 2FA is on) and the status (the row's class:
/// `active`, `registered` or `locked`, `User#css_classes`); the pagination's `(from-to/total)`;
/// whether the page is the users list at all (`body.controller-users.action-index`).
pub(super) const USERS: &str = r#"
const list = document.body.classList.contains('controller-users')
  && document.body.classList.contains('action-index');
const rows = [...document.querySelectorAll('table.list.users tbody tr')].map(tr => {
  const q = s => tr.querySelector(s);
  const text = s => q(s)?.textContent.trim() ?? '';
  const link = q('td.username a[href*="/users/"]');
  const id = link ? ((link.getAttribute('href').match(/\/users\/(\d+)/) || [])[1] ?? '') : '';
  const tick = q('td.tick:not(.twofa)');
  return {
    id,
    login: link ? link.textContent.trim() : '',
    first: text('td.firstname'),
    last: text('td.lastname'),
    email: text('td.email'),
    admin: !!tick && tick.querySelector('img, span, svg') !== null,
    status: ['locked', 'registered'].find(c => tr.classList.contains(c)) ?? 'active',
  };
});
const items = document.querySelector('.pagination .items')?.textContent ?? '';
const m = items.match(/(\d+)\s*-\s*(\d+)\s*\/\s*(\d+)/);
return {
  list,
  rows,
  to: m ? parseInt(m[2], 10) : rows.length,
  total: m ? parseInt(m[3], 10) : rows.length,
};"#;

/// The login on a user's edit page (`#user_login`), `null` elsewhere.
pub(super) const LOGIN: &str = "return document.getElementById('user_login')?.value ?? null;";

/// Whether the administrator box of a user's form (`#user_admin`) is ticked; `null` without
/// one, or when it may not be changed (disabled: the signed-in account's own).
pub(super) const ADMIN_BOX: &str = "const b = document.getElementById('user_admin'); \
                                    return !b || b.disabled ? null : b.checked;";

/// Whether the box `arguments[0]` (an id) is on the page and ticked.
pub(super) const TICKED: &str = "return !!document.getElementById(arguments[0])?.checked;";

/// Answers yes to the page's `confirm()` questions ("Are you sure?" before a delete), as a
/// person clicking OK would: a headless browser would dismiss them.
pub(super) const CONFIRM_YES: &str = "window.confirm = () => true; return true;";

/// The messages a page shows: errors (`#flash_error`, a form's `#errorExplanation`) and
/// whether it says it saved (`#flash_notice`).
pub(super) const MESSAGES: &str = r#"
const text = s => [...document.querySelectorAll(s)].map(e => e.innerText.trim()).filter(t => t);
return {
  errors: text('#flash_error, #errorExplanation li'),
  saved: text('#flash_notice').length > 0,
};"#;

/// Signs in on [`LOGIN_PAGE`] as `user` with the context's password, then the second factor
/// when Redmine asks for it ([`two_factor`]): the account's user id and login, and whether it
/// took a second factor.
///
/// Errors: `Configuration` when the page is no Redmine sign-in; `BadCredentials` for what
/// Redmine refuses (its words) or an account it holds ([`held_at`]); `NeedsHuman` for any
/// other page after the sign-in.
pub(super) async fn sign_in(
    p: &mut Page,
    user: &str,
    ctx: &Ctx,
) -> Result<(String, String, bool), E> {
    p.visit(LOGIN_PAGE).await?;
    if !p.wait_for("#username", Duration::ZERO).await? {
        let at = p.url_of(LOGIN_PAGE);
        return Err(E::Configuration(format!(
            "{at} is not a Redmine login page"
        )));
    }
    p.fill("#username", user).await?;
    p.fill("#password", ctx.password.expose_secret()).await?;
    p.submit("#login-submit").await?;
    let second = p.path().starts_with(TWOFA);
    if second {
        two_factor(p, second_factor(ctx)?).await?;
    }
    let who: SignedIn = p.read("read who is signed in", SIGNED_IN, vec![]).await?;
    if let Some(held) = held_at(p.path()) {
        return Err(held);
    }
    match (who.id, who.login, who.errors.first()) {
        (Some(id), Some(login), _) => Ok((id, login, second)),
        (_, _, Some(e)) if p.path().starts_with(LOGIN_PAGE) => {
            Err(E::BadCredentials(format!("Redmine refused the login: {e}")))
        }
        _ => Err(E::NeedsHuman(format!(
            "Redmine shows {} after the sign-in: neither its pages signed in nor a refusal the \
             connector knows",
            p.path()
        ))),
    }
}

/// Redmine's second factor on its page ([`TWOFA`]): a code from the account's authenticator,
/// and once more with the next time step's code when Redmine refuses the first (it refuses a
/// step it has accepted before).
///
/// Errors: `BadCredentials` when Redmine refuses both; `Unavailable` when it ended the pending
/// two-factor sign-in (another sign-in of the account meanwhile: a retry may succeed).
pub(super) async fn two_factor(p: &mut Page, params: &OtpParams) -> Result<(), E> {
    let mut refused = None;
    for _ in 0..2 {
        let (code, step) = twofa_code(params, refused).await;
        p.fill("#twofa_code", &code).await?;
        p.submit("#twofa_form input[type=submit]").await?;
        if p.path().starts_with(TWOFA) {
            refused = Some(step);
            continue;
        }
        // Redmine allows three codes per password entry and this sends two at most: back on
        // the home or the sign-in page, signed out, the pending two-factor sign-in is gone.
        let who: SignedIn = p.read("read who is signed in", SIGNED_IN, vec![]).await?;
        let path = p.path().split('?').next().unwrap_or_default();
        let out = matches!(path, "" | "/") || path.starts_with(LOGIN_PAGE);
        if who.id.is_none() && held_at(path).is_none() && out {
            return Err(twofa_session_ended());
        }
        return Ok(());
    }
    Err(codes_refused())
}

/// What Redmine's messages `errors` mean, for a page at `path` that did not do `what`.
pub(super) fn refusal(errors: &[String], what: &str, path: &str) -> E {
    let said = errors.join(" ");
    if said.contains("has already been taken") {
        E::Conflict(format!("Redmine refused to {what}: {said}"))
    } else if said.is_empty() {
        E::AppChanged(format!("Redmine did not {what} (at {path})"))
    } else {
        E::Configuration(format!("Redmine refused to {what}: {said}"))
    }
}

/// Who is signed in ([`SIGNED_IN`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct SignedIn {
    pub(super) id: Option<String>,
    pub(super) login: Option<String>,
    pub(super) errors: Vec<String>,
}

/// One row of the users table ([`USERS`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Row {
    pub(super) id: String,
    pub(super) login: String,
    first: String,
    last: String,
    pub(super) email: String,
    admin: bool,
    status: String,
}

impl Row {
    /// As an app member: `admin` or `user`; registered (not activated yet) is `invited`, locked
    /// `deactivated`, as the API connector reads Redmine's statuses.
    pub(super) fn member(&self) -> AppMember {
        let name = format!("{} {}", self.first, self.last);
        let mut m = member(
            &self.id,
            Some(&self.email),
            Some(&name),
            vec![admin_role(self.admin)],
            self.status == "locked",
        );
        if self.status == "registered" {
            m.state = MemberState::Invited;
        }
        m
    }
}

/// The users table ([`USERS`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Table {
    pub(super) list: bool,
    pub(super) rows: Vec<Row>,
    to: u64,
    total: u64,
}

impl Table {
    /// Whether pages follow this one.
    pub(super) fn more(&self) -> bool {
        !self.rows.is_empty() && self.to < self.total
    }
}

/// A page's messages ([`MESSAGES`]).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Messages {
    pub(super) errors: Vec<String>,
    pub(super) saved: bool,
}

/// A listing's cursor: the page of the users table (by login, 2 or more) and the id of the
/// last user listed, `<page>:<id>`. The page is read again from the row after that user, so
/// users made or deleted meanwhile before the cursor neither repeat nor hide anybody (see
/// `Admin::page`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cursor {
    pub(super) page: u32,
    pub(super) after: String,
}

impl Cursor {
    /// The cursor `raw` of a listing.
    ///
    /// Errors: `Configuration` for one the connector never gave.
    pub(super) fn of(raw: &str) -> Result<Self, E> {
        let bad = || E::Configuration(format!("not a {} member cursor: {raw:?}", super::NAME));
        Self::parse(raw).ok_or_else(bad)
    }

    pub(super) fn parse(raw: &str) -> Option<Self> {
        let (page, after) = raw.split_once(':')?;
        let page: u32 = page.parse().ok().filter(|p| *p >= 2)?;
        let digits = !after.is_empty() && after.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| Self {
            page,
            after: after.to_owned(),
        })
    }

    pub(super) fn encode(&self) -> String {
        format!("{}:{}", self.page, self.after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_members() {
        let c = Cursor {
            page: 3,
            after: "42".into(),
        };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        for bad in ["", "3", "1:4", "x:4", "3:", "3:a", "3:4:5"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
        let row = |status: &str| Row {
            id: "7".into(),
            login: "ana".into(),
            first: "Ana".into(),
            last: " ".into(),
            email: "Ana@X.org".into(),
            admin: true,
            status: status.into(),
        };
        let m = row("active").member();
        assert_eq!(
            (m.email.as_deref(), m.name.as_deref(), m.roles, m.state),
            (
                Some("ana@x.org"),
                Some("Ana"),
                vec!["admin".to_owned()],
                MemberState::Active
            )
        );
        assert_eq!(row("locked").member().state, MemberState::Deactivated);
        assert_eq!(row("registered").member().state, MemberState::Invited);
    }
}
