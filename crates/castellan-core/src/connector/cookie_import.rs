//! Cookies a person exports from their own browser, signed in as the automation account, to
//! hand the browser bot a session (how a job that needs attention is resolved, as Cerby's
//! session transfer does).
//!
//! Two formats are read:
//! - **JSON**: an array of cookie objects as browser extensions export them (Cookie-Editor,
//!   EditThisCookie): `name`, `value`, `domain`, `path`, `secure`, `httpOnly`, and
//!   `expirationDate` (seconds since the Unix epoch; absent or `session: true` for a session
//!   cookie). Chrome's extension API names the same fields:
//!   <https://developer.chrome.com/docs/extensions/reference/api/cookies#type-Cookie>.
//! - **Netscape `cookies.txt`** (curl's `-c`, wget's `--save-cookies`): one cookie a line, seven
//!   tab-separated fields `domain`, `include subdomains`, `path`, `secure`, `expiry`, `name`,
//!   `value`; `#HttpOnly_` before the domain marks an HttpOnly cookie, other `#` lines are
//!   comments (<https://curl.se/docs/http-cookies.html>).
//!
//! Only cookies the browser would send to the hub's host are kept (domain matching of RFC 6265
//! §5.1.3), expired ones are dropped, and at least one must remain.

use serde::Deserialize;

use super::browser::BrowserCookie;

/// The largest export read, in bytes.
pub const MAX_EXPORT: usize = 256 * 1024;
/// The most cookies kept.
pub const MAX_COOKIES: usize = 300;

/// A cookie of a JSON export (unknown fields ignored).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Exported {
    name: String,
    value: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    secure: bool,
    #[serde(default)]
    http_only: bool,
    #[serde(default)]
    expiration_date: Option<f64>,
    #[serde(default)]
    session: bool,
}

/// Whether a cookie of `domain` is sent to `host` (RFC 6265 §5.1.3; a leading dot ignored).
fn domain_matches(domain: &str, host: &str) -> bool {
    let domain = domain.trim_start_matches('.').to_ascii_lowercase();
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    host == domain
        || (host.ends_with(&format!(".{domain}")) && host.parse::<std::net::IpAddr>().is_err())
}

fn parse_json(text: &str) -> Result<Vec<BrowserCookie>, String> {
    let rows: Vec<Exported> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON array of cookies ({e})"))?;
    Ok(rows
        .into_iter()
        .map(|c| BrowserCookie {
            name: c.name,
            value: c.value,
            path: c.path,
            domain: c.domain,
            secure: c.secure,
            http_only: c.http_only,
            expiry: match (c.session, c.expiration_date) {
                (false, Some(at)) if at.is_finite() && at > 0.0 => Some(at as u64),
                _ => None,
            },
        })
        .collect())
}

fn parse_netscape(text: &str) -> Result<Vec<BrowserCookie>, String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [domain, _subdomains, path, secure, expiry, name, value] = f[..] else {
            return Err(format!(
                "line {}: a cookies.txt line has 7 tab-separated fields, this one {}",
                n + 1,
                f.len()
            ));
        };
        let expiry: u64 = expiry
            .parse()
            .map_err(|_| format!("line {}: the expiry {expiry:?} is not a number", n + 1))?;
        found.push(BrowserCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            path: Some(path.to_owned()),
            domain: Some(domain.to_owned()),
            secure: secure.eq_ignore_ascii_case("TRUE"),
            http_only,
            expiry: (expiry > 0).then_some(expiry),
        });
    }
    Ok(found)
}

/// A cookie's name and value as RFC 6265 §4.1.1 allows them (no controls, separators in names,
/// or `;` in values), at most 4096 bytes together.
fn well_formed(c: &BrowserCookie) -> bool {
    let name_ok = !c.name.is_empty()
        && c.name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    let value_ok = c
        .value
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b';' && b != b',');
    name_ok && value_ok && c.name.len() + c.value.len() <= 4096
}

/// The cookies of `text` (a JSON export or a `cookies.txt`) that a browser would send to
/// `host` (the hub's base URL's host), not expired at `now` (seconds since the Unix epoch).
///
/// Errors (a sentence for the person who uploaded it; never a cookie's value): larger than
/// [`MAX_EXPORT`], unreadable, a malformed cookie, or no cookie left for `host`.
pub fn import_cookies(text: &str, host: &str, now: u64) -> Result<Vec<BrowserCookie>, String> {
    if text.len() > MAX_EXPORT {
        return Err(format!(
            "the export is larger than {} KiB",
            MAX_EXPORT / 1024
        ));
    }
    let all = if text.trim_start().starts_with(['[', '{']) {
        parse_json(text)?
    } else {
        parse_netscape(text)?
    };
    if all.is_empty() {
        return Err("the export holds no cookie".into());
    }
    if let Some(bad) = all.iter().find(|c| !well_formed(c)) {
        return Err(format!(
            "the cookie {:?} has a malformed name or value",
            bad.name.chars().take(40).collect::<String>()
        ));
    }
    let total = all.len();
    let kept: Vec<BrowserCookie> = all
        .into_iter()
        .filter(|c| c.domain.as_deref().is_none_or(|d| domain_matches(d, host)))
        .filter(|c| c.expiry.is_none_or(|at| at > now))
        .take(MAX_COOKIES)
        .map(|mut c| {
            // A cookie without a domain is the host's own.
            c.domain
                .get_or_insert_with(|| host.trim_matches(['[', ']']).to_owned());
            c
        })
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "none of the {total} cookies is for {host} and still valid: export them from the \
             app's own address, right after signing in"
        ));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_json_export_keeps_the_hosts_cookies_that_are_still_valid() {
        let text = r#"[
          {"name": "wordpress_logged_in_x", "value": "admin%7C1", "domain": "wp.example.org",
           "path": "/", "secure": true, "httpOnly": true, "expirationDate": 1900000000.5,
           "hostOnly": true, "sameSite": "lax", "storeId": "0"},
          {"name": "sid", "value": "a", "domain": ".example.org", "path": "/", "session": true},
          {"name": "old", "value": "b", "domain": "wp.example.org", "expirationDate": 1700000000},
          {"name": "other", "value": "c", "domain": "tracker.test"}
        ]"#;
        let got = import_cookies(text, "wp.example.org", NOW).unwrap();
        let names: Vec<&str> = got.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["wordpress_logged_in_x", "sid"]);
        assert_eq!(got[0].expiry, Some(1_900_000_000));
        assert!(got[0].secure && got[0].http_only);
        assert_eq!(got[1].expiry, None, "a session cookie");
    }

    #[test]
    fn a_cookies_txt_is_read_with_its_http_only_marks() {
        let text = "# Netscape HTTP Cookie File\n\
            #HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\twordpress_x\tadmin%7C2\n\
            127.0.0.1\tFALSE\t/wp-admin\tFALSE\t1900000000\twp-settings-1\tm%3D1\n";
        let got = import_cookies(text, "127.0.0.1", NOW).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].http_only && got[0].expiry.is_none());
        assert_eq!(got[1].path.as_deref(), Some("/wp-admin"));
        // An IP address matches itself only, never as a subdomain of a shorter "domain".
        let parent = "0.0.1\tTRUE\t/\tFALSE\t0\tsid\tx\n";
        assert!(import_cookies(parent, "127.0.0.1", NOW).is_err());
        assert!(import_cookies(parent, "a.0.0.1", NOW).is_ok());
    }

    #[test]
    fn bad_exports_get_a_sentence_without_any_value() {
        let none = import_cookies(
            r#"[{"name":"a","value":"secret-1","domain":"x.test"}]"#,
            "y.test",
            NOW,
        );
        let e = none.unwrap_err();
        assert!(e.contains("none of the 1 cookies is for y.test"), "{e}");
        assert!(!e.contains("secret-1"));
        let e = import_cookies("{\"name\": 1}", "y.test", NOW).unwrap_err();
        assert!(e.starts_with("not a JSON array"), "{e}");
        let e = import_cookies("y.test\tFALSE\t/\n", "y.test", NOW).unwrap_err();
        assert!(e.contains("7 tab-separated fields"), "{e}");
        let e =
            import_cookies(r#"[{"name":"a b","value":"secret-2"}]"#, "y.test", NOW).unwrap_err();
        assert!(e.contains("malformed") && !e.contains("secret-2"), "{e}");
        assert!(import_cookies("[]", "y.test", NOW)
            .unwrap_err()
            .contains("no cookie"));
        let huge = "#".repeat(MAX_EXPORT + 1);
        assert!(import_cookies(&huge, "y.test", NOW)
            .unwrap_err()
            .contains("KiB"));
    }
}
