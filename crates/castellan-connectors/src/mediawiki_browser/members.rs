//! The member flows on MediaWiki's special pages ([`Members`] of [`Admin`]) and the invitation
//! records on the automation account's watchlist ([`RecordStore`] of [`Admin`]).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use castellan_core::connector::MemberState;
use castellan_core::connector::{AppMember, AppRole, ConnectorError as E, MemberPage};
use serde_json::Value;

use super::pages::{self, index, GroupBox, Held, Rights, REASON};
use super::{named, Admin, PER_PAGE, R};
use crate::mediawiki::{canonical, groups, merged, of_options, of_watchlist, username};
use crate::mediawiki::{watch_title, APP, RECORD, USER};
use crate::sdk::builder::{confirmed, only, rejoin, Chosen, Invitee, Members};
use crate::sdk::records::{RecordStore, Records};
use crate::sdk::usernames::{candidates, random_password};

impl Admin {
    /// The group form of `Special:UserRights/<name>`.
    ///
    /// Errors: `InsufficientPermission` when the page has no form to change groups (the account
    /// may not change them).
    async fn rights(&self, name: &str) -> R<Rights> {
        let (mut p, who) = self.go(&rights_path(name)).await?;
        let r: Rights = p
            .read("read the group boxes", pages::RIGHTS, vec![])
            .await?;
        if !r.form || !r.boxes.iter().any(|b| b.can) {
            let why = format!(
                "the account may not change the groups of {name} {}",
                who.errors.join(" ")
            );
            return Err(E::InsufficientPermission(why.trim().to_owned()));
        }
        Ok(r)
    }

    /// The titles on the automation account's watchlist (`Special:EditWatchlist/raw`) and its
    /// options, once the page's scripts have run.
    async fn held(&self) -> R<Held> {
        drop(self.go(&index("Special:EditWatchlist/raw", &[])).await?);
        self.once_ready("read the invitation records", pages::RECORDS)
            .await
    }

    /// Sends the Watch (`watch`) or Unwatch (`unwatch`) form of `title`.
    async fn watch(&self, title: &str, action: &str) -> R<()> {
        let path = index(title, &[("action", action)]);
        let set = "return true;";
        let what = format!("{action} a page (an invitation record)");
        self.send_form(&path, set, &[], &what).await
    }
}

/// The path of `Special:UserRights/<name>`.
fn rights_path(name: &str) -> String {
    index(&format!("Special:UserRights/{name}"), &[])
}

/// The invitation records: the watchlist's titles ([`watch_title`]) and the `mediawiki`
/// connector's options, read on `Special:EditWatchlist/raw`; written with the Watch and Unwatch
/// actions of single titles (no list is rewritten: calls at once keep each other's records).
#[async_trait]
impl RecordStore for Admin {
    const PREFIX: &'static str = RECORD;

    fn copy(&self) -> &Mutex<Option<Records>> {
        &self.recs
    }

    async fn read_records(&self) -> R<Records> {
        let held = self.held().await?;
        let titles = held.titles.unwrap_or_default();
        let watched = of_watchlist(titles.iter().map(String::as_str));
        Ok(merged(watched, of_options(&held.options)))
    }

    /// Unwatches the titles that record another username for the address, then watches the one
    /// that records `value` (`<address> <username>`; empty: none). An options' record (the
    /// `mediawiki` connector's) cannot be changed from a page: the watchlist's wins over it.
    async fn write_record(&self, k: &str, value: &str) -> R<()> {
        let new = match value.split_once(' ') {
            Some((email, name)) => Some(watch_title(email, name).ok_or_else(|| {
                E::Configuration(format!("the address {email} is too long to record"))
            })?),
            None => None,
        };
        let titles = self.held().await?.titles.unwrap_or_default();
        let ours = |t: &&String| {
            of_watchlist([t.as_str()])
                .0
                .first()
                .is_some_and(|r| r.key == k)
        };
        let old: Vec<&String> = titles.iter().filter(ours).collect();
        for t in old.iter().filter(|t| Some(t.as_str()) != new.as_deref()) {
            self.watch(t, "unwatch").await?;
        }
        match new {
            Some(t) if !old.iter().any(|o| **o == t) => self.watch(&t, "watch").await,
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Members for Admin {
    const APP: &'static str = APP;

    /// The account may create accounts (the form of `Special:CreateAccount`), change groups
    /// (a box it may change on its own `Special:UserRights`) and block (the form of
    /// `Special:Block`).
    async fn verify_permissions(&self) -> R<()> {
        let checks = [
            ("Special:CreateAccount", pages::NEW_NAME, "createaccount"),
            (
                "Special:Block",
                "#mw-content-text form [name=wpTarget]",
                "block",
            ),
        ];
        for (title, field, right) in checks {
            let (mut p, _) = self.go(&index(title, &[])).await?;
            if !p.wait_for(field, Duration::ZERO).await? {
                let why = format!("the account lacks the right {right}: make it a sysop");
                return Err(E::InsufficientPermission(why));
            }
        }
        self.rights(&self.me).await.map(drop).map_err(|_| {
            E::InsufficientPermission(
                "the account may not change user groups: make it a bureaucrat".into(),
            )
        })
    }

    /// `Special:ListUsers` by name, [`PER_PAGE`] a page, from its next link's offset.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let t = self.table(cursor.map(|c| ("offset", c)), PER_PAGE).await?;
        let recs = self.records().await?;
        let members = t.rows.iter().map(|r| r.member(&recs)).collect();
        Ok(MemberPage {
            members,
            next: t.next.filter(|n| !n.is_empty()),
        })
    }

    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        self.lookup(id).await
    }

    /// The account recorded for the address, if any: MediaWiki shows no addresses.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        match self.recorded(email).await? {
            Some(name) => self.lookup(&name).await,
            None => Ok(None),
        }
    }

    fn is_me(&self, m: &AppMember) -> bool {
        named(&self.me, m)
    }

    /// Every group of the automation account's `Special:UserRights` (which lists them all),
    /// ranked, and `user`.
    async fn roles(&self) -> R<Vec<AppRole>> {
        let r = self.rights(&self.me).await?;
        let mut all = groups(r.boxes.iter().map(|b| b.group.as_str()));
        all.push(USER.to_owned());
        Ok(all.iter().map(|g| AppRole::plain(g)).collect())
    }

    /// Ticks exactly the group `role` (none for `user`) among the boxes the account may change
    /// on `Special:UserRights/<name>`, saves, and returns the member as after ([`confirmed`]:
    /// `InsufficientPermission` when the group was not given).
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let name = &m.app_member_id;
        let r = self.rights(name).await?;
        let flip: Vec<&GroupBox> = (r.boxes.iter())
            .filter(|b| b.can && b.on != (b.group == role))
            .collect();
        if !flip.is_empty() {
            let mut p = self.page().await?;
            for b in flip {
                p.click(&format!(
                    "#mw-userrights-form2 [id=\"wpGroup-{}\"]",
                    b.group
                ))
                .await?;
            }
            p.fill(pages::RIGHTS_REASON, REASON).await?;
            p.submit(pages::RIGHTS_SAVE).await?;
            drop(p);
            let said = self.said().await?;
            if !said.errors.is_empty() {
                let why = format!(
                    "MediaWiki refused to change the groups of {name}: {}",
                    said.errors.join(" ")
                );
                return Err(E::Conflict(why));
            }
        }
        confirmed(self, name, role).await
    }

    /// Unblocks the user (`Special:Unblock/<name>`).
    async fn reactivate(&self, m: AppMember, _: &Invitee<'_>) -> R<AppMember> {
        let name = &m.app_member_id;
        let path = index(&format!("Special:Unblock/{name}"), &[]);
        let set = "return !!document.querySelector('#mw-content-text form [name=wpTarget]');";
        let fills = [(pages::UNBLOCK_REASON, REASON)];
        self.send_form(&path, set, &fills, "unblock a user").await?;
        self.reread(name, "its unblock").await
    }

    /// The member the engine names: the person's own (former) member, recorded with the
    /// address and reactivated, unless Castellan made it for another address (`Conflict`).
    async fn named(&self, m: AppMember, to: &Invitee<'_>) -> R<AppMember> {
        self.claim(to.email, &m.app_member_id).await?;
        rejoin(self, m, to).await
    }

    /// The user with this name or id, else the name as MediaWiki stores it; a user id nobody
    /// has is `NotFound`.
    async fn chosen(&self, n: &str) -> R<Chosen> {
        Ok(match self.lookup(n).await? {
            Some(m) => Chosen::Member(m),
            None if n.trim().parse::<u64>().is_ok() => {
                return Err(E::NotFound(format!("user {n}")))
            }
            None => Chosen::New(canonical(n)),
        })
    }

    /// The first free one of the address's [`username`], then with `-2` … `-20`, past the
    /// accounts Castellan made for other addresses ([`Records::first_free`]), each looked up on
    /// `Special:ListUsers` until one is free or not Castellan's.
    async fn free_username(&self, email: &str) -> R<String> {
        let names: Vec<String> = candidates(&username(email)).collect();
        let recs = self.records().await?;
        let mut taken = HashSet::new();
        for n in &names {
            if self.row(n).await?.is_none() {
                break;
            }
            taken.insert(n.clone());
            if !recs.made(n) {
                break;
            }
        }
        recs.first_free(email, names, |n| taken.contains(n))
    }

    /// Records the name for the address first (a retry after a lost answer finds the account
    /// this call makes), then `Special:CreateAccount` with the address, the real name, reason
    /// "Castellan" and a random password nobody keeps (the SDK then gives the group). The
    /// account the name has afterwards is the invitee's; a refusal without one forgets the
    /// record: `Configuration` in MediaWiki's words (`NeedsHuman` for a captcha).
    async fn create(&self, name: &str, to: &Invitee<'_>) -> R<AppMember> {
        self.record(to.email, name).await?;
        let (mut p, who) = self.go(&index("Special:CreateAccount", &[])).await?;
        if !p.wait_for(pages::NEW_NAME, Duration::ZERO).await? {
            let why = format!(
                "MediaWiki shows no account creation form: {}",
                who.errors.join(" ")
            );
            return Err(E::InsufficientPermission(why));
        }
        drop(p);
        self.settle().await?;
        let mut p = self.page().await?;
        let what = "switch the form's live checks off";
        p.read::<bool>(what, pages::QUIET_SIGNUP, vec![]).await?;
        let pass = random_password();
        let real = to.inv.name.as_deref().unwrap_or_default();
        let fields = [
            (pages::NEW_NAME, name),
            (pages::NEW_PASSWORD, &pass),
            (pages::NEW_RETYPE, &pass),
            (pages::NEW_EMAIL, to.email),
            (pages::NEW_REAL_NAME, real),
            (pages::NEW_REASON, REASON),
        ];
        for (css, value) in fields {
            if !value.is_empty() && p.wait_for(css, Duration::ZERO).await? {
                p.fill(css, value).await?;
            }
        }
        let by_mail = Value::from(pages::NEW_BY_MAIL);
        if p.read::<bool>("read a box", pages::TICKED, vec![by_mail])
            .await?
        {
            p.click(pages::NEW_BY_MAIL).await?;
        }
        if p.wait_for("#wpCaptchaWord", Duration::ZERO).await? {
            let e = E::NeedsHuman("MediaWiki asks for a captcha to create an account".into());
            return Err(p.failed("create an account", e).await);
        }
        p.submit(pages::NEW_BUTTON).await?;
        drop(p);
        let said = self.said().await?;
        // Made, or refused because it exists: the account was free when this call chose it and
        // the address's record (written first) names it, so it is the one this call's form made
        // (Chromium sends a form again when the connection was reset before the answer).
        if let Some(m) = self.lookup(name).await? {
            return Ok(m);
        }
        // Refused: the name is not this address's after all.
        self.record(to.email, "").await?;
        let said = said.errors.join(" ");
        Err(match said.is_empty() {
            true => E::AppChanged(format!("MediaWiki did not create the account {name}")),
            false => E::Configuration(format!("MediaWiki refused to create {name}: {said}")),
        })
    }

    /// Takes every group away and blocks the user (`Special:Block/<name>`: the whole wiki,
    /// indefinitely, no autoblock).
    async fn remove(&self, m: AppMember) -> R<()> {
        let u = only(self, m, USER).await?;
        if u.state == MemberState::Deactivated {
            return Ok(());
        }
        let name = &u.app_member_id;
        let path = index(&format!("Special:Block/{name}"), &[]);
        let fills = [
            (pages::BLOCK_EXPIRY, "infinite"),
            (pages::BLOCK_REASON, REASON),
        ];
        self.send_form(&path, pages::BLOCK_FORM, &fills, "block a user")
            .await?;
        match self.reread(name, "its block").await?.state {
            MemberState::Deactivated => Ok(()),
            _ => Err(E::AppChanged(format!(
                "user {name} is not blocked after Special:Block"
            ))),
        }
    }
}
