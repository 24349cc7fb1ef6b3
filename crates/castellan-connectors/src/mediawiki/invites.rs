//! Where MediaWiki's connectors keep their invitation records ([`crate::sdk::records`]):
//! MediaWiki shows nobody's email address, so each invitation records `<address> <username>`
//! among the automation account's own private values, and both connectors read what either
//! wrote.
//!
//! - The `mediawiki` connector (Action API) writes them as the account's **private options**
//!   `userjs-castellan-invite-<SHA-256 of the address>` ([`RECORD`], `action=options`,
//!   <https://www.mediawiki.org/wiki/API:Options>). A web page cannot write such an option (only
//!   `api.php` can); it can read them, as every page of a signed-in user carries the user's
//!   options for its scripts (`mw.user.options`, the private `user.options` module embedded in
//!   the page).
//! - The `mediawiki_browser` connector (the wiki's own pages) writes them as titles on the
//!   account's **watchlist** ([`watch_title`]: `Castellan invitation/<address>/<username>`,
//!   added with the page's Watch action and removed with Unwatch, read on
//!   `Special:EditWatchlist/raw`): a watchlist is shown to its owner only
//!   (<https://www.mediawiki.org/wiki/Help:Watchlist>), as options are. The address is kept
//!   (escaped for a title, [`escape`]), not only its hash: listings show each invited member's
//!   address, as the options' records let the API connector do. The pages need not exist.
//!
//! Both connectors read both (the API connector the watchlist with `list=watchlistraw`), so a
//! hub may move from either connector to the other; where both hold a record for one address,
//! the watchlist's wins ([`merged`]).

use serde_json::Value;

use crate::sdk::records::{key, Record, Records};

/// The prefix of the automation account's options that record invitations.
pub(crate) const RECORD: &str = "userjs-castellan-invite-";
/// The prefix of the watchlist titles that record invitations.
pub(crate) const WATCHED: &str = "Castellan invitation/";
/// The longest title MediaWiki takes, in bytes (`page_title`).
const TITLE_MAX: usize = 255;

/// The invitation records among the automation account's options (a JSON object of option
/// names and values: `meta=userinfo&uiprop=options`, or a page's `mw.user.options`).
pub(crate) fn of_options(options: &Value) -> Records {
    Records::of_object(RECORD, options)
}

/// The watchlist title that records `name` for `email` (lowercase): [`WATCHED`], the address
/// escaped ([`escape`]), `/`, the username; `None` when it would be longer than a title may be.
pub(crate) fn watch_title(email: &str, name: &str) -> Option<String> {
    let title = format!("{WATCHED}{}/{name}", escape(email));
    (title.len() <= TITLE_MAX).then_some(title)
}

/// The invitation records among watchlist titles (others are left out); each record's key is
/// its address's ([`key`] with [`RECORD`]), so that it meets the options' record of the same
/// address.
pub(crate) fn of_watchlist<'a>(titles: impl IntoIterator<Item = &'a str>) -> Records {
    let rec = |t: &str| {
        let (address, name) = t.trim().strip_prefix(WATCHED)?.split_once('/')?;
        let email = unescape(address)?;
        let name = name.trim();
        (!name.is_empty()).then(|| Record {
            key: key(RECORD, &email),
            email,
            name: name.to_owned(),
        })
    };
    Records(titles.into_iter().filter_map(rec).collect())
}

/// The watchlist's records, then the options' records of the other addresses.
pub(crate) fn merged(watched: Records, options: Records) -> Records {
    let mut all = watched;
    let other: Vec<Record> = options
        .0
        .into_iter()
        .filter(|o| all.of_key(&o.key).is_none())
        .collect();
    all.0.extend(other);
    all
}

/// An address as a part of a title: `a`–`z`, digits, `.`, `@`, `+` and `-` as they are, every
/// other byte as `!` and two uppercase hex digits (`_` would be read as a space, `#`, `[`, `|`
/// and others are not allowed in titles, `/` separates the parts).
pub(crate) fn escape(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    for b in email.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'.' | b'@' | b'+' | b'-' => out.push(char::from(b)),
            b => out.push_str(&format!("!{b:02X}")),
        }
    }
    out
}

/// The address [`escape`] gave `part`; `None` for anything it does not give.
pub(crate) fn unescape(part: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(part.len());
    let mut it = part.bytes();
    while let Some(b) = it.next() {
        match b {
            b'!' => {
                let hex = [it.next()?, it.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
            }
            b'a'..=b'z' | b'0'..=b'9' | b'.' | b'@' | b'+' | b'-' => bytes.push(b),
            _ => return None,
        }
    }
    String::from_utf8(bytes).ok().filter(|e| e.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchlist_titles_record_addresses_and_names() {
        let email = "ana_b!x+news@élan.test";
        let t = watch_title(email, "Ana b").unwrap();
        assert_eq!(
            t,
            "Castellan invitation/ana!5Fb!21x+news@!C3!A9lan.test/Ana b"
        );
        assert_eq!(unescape(&escape(email)).as_deref(), Some(email));
        for bad in ["Ana@x", "a!4@x", "a!zz@x", "nobody", "a b@x"] {
            assert_eq!(unescape(bad), None, "{bad}");
        }
        assert!(watch_title(&format!("{}@x.test", "a".repeat(240)), "A").is_none());

        let titles = [
            t.as_str(),
            "Castellan invitation/bo@x.test/Bo/2",
            "Castellan invitation/bo@x.test/ ",
            "Main Page",
        ];
        let watched = of_watchlist(titles);
        assert_eq!(watched.0.len(), 2);
        assert_eq!(watched.email_of("Bo/2"), Some("bo@x.test"));
        assert_eq!(watched.0[0].key, key(RECORD, email));

        let options = serde_json::json!({
            key(RECORD, "bo@x.test"): "bo@x.test Bo",
            key(RECORD, "cy@x.test"): "cy@x.test Cy",
            "gender": "unknown",
        });
        let all = merged(watched, of_options(&options));
        assert_eq!(
            all.0.len(),
            3,
            "Bo's option record gives way to the watchlist's"
        );
        assert_eq!(all.email_of("Bo"), None);
        assert_eq!(all.email_of("Cy"), Some("cy@x.test"));
    }
}
