//! Choosing the verification or magic link of a message, and unwrapping click-tracking
//! redirects around it.
//!
//! Unwrapping, repeated up to 4 times for wrappers around wrappers:
//! - Google `https://www.google.*/url?q=<target>` (or `url=`), Facebook
//!   `https://l.facebook.com/l.php?u=<target>`, Outlook Safe Links
//!   `https://*.safelinks.protection.outlook.com/?url=<target>`;
//! - Proofpoint `https://urldefense.com/v3/__<target>__;...` and
//!   `https://urldefense.proofpoint.com/v2/url?u=<target with - for % and _ for />`;
//! - Amazon SES `https://*.awstrack.me/L0/<target>/...`;
//! - on hosts or paths that look like click trackers (`click.`, `links.`, `/click`, `/track`,
//!   `/redirect`...), a parameter named `url`, `u`, `redirect`, `redirect_url`, `target`, `dest`,
//!   `destination`, `link`, `goto`, `to` or `r` whose value is an absolute http(s) URL.
//!
//! Parameter values are percent-decoded exactly once. Opaque wrappers (SendGrid
//! `/ls/click?upn=...`, `t.co`) cannot be unwrapped and are kept as they are.

use percent_encoding::percent_decode_str;
use url::Url;

use super::lexicon::{BAD_LINK, GOOD_LINK};

/// A link worth reporting, with its score.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Chosen {
    pub url: String,
    pub score: f32,
}

/// The least score a link needs.
const THRESHOLD: f32 = 2.0;

const GENERIC_KEYS: &[&str] = &[
    "url",
    "u",
    "redirect",
    "redirect_url",
    "redirect_to",
    "redirecturl",
    "target",
    "dest",
    "destination",
    "link",
    "goto",
    "to",
    "r",
];
const TRACKER_LABELS: &[&str] = &[
    "click",
    "clicks",
    "track",
    "tracking",
    "trk",
    "link",
    "links",
    "email",
    "e",
    "em",
    "go",
    "l",
    "lnk",
    "r",
    "redirect",
    "redir",
    "t",
    "url",
    "ablink",
    "mail",
    "news",
    "newsletter",
];
const TRACKER_SEGMENTS: &[&str] = &[
    "click", "clicks", "track", "tracking", "redirect", "redir", "r", "l", "out", "ls", "c",
    "link", "wf",
];

/// Picks the best link among (href, visible text or surrounding words) pairs.
pub(super) fn choose(links: &[(String, String)]) -> Option<Chosen> {
    let mut best: Option<Chosen> = None;
    for (href, label) in links {
        let href = href.trim();
        let lower = href.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            continue;
        }
        let url = unwrap(href);
        let score = score(&url, label);
        if score >= THRESHOLD && best.as_ref().is_none_or(|b| score > b.score) {
            best = Some(Chosen { url, score });
        }
    }
    best
}

fn score(url: &str, label: &str) -> f32 {
    let label = label.to_lowercase();
    // Only the path and query speak for the link, not the sender's domain name.
    let tail = Url::parse(url)
        .map(|u| {
            let host = u.host_str().unwrap_or_default().to_owned();
            format!("{host}{}?{}", u.path(), u.query().unwrap_or_default())
        })
        .unwrap_or_else(|_| url.to_owned())
        .to_lowercase();
    let path_words = tail.replace(['-', '_', '/', '.', '?', '&', '='], " ");
    let mut s = 0.0;
    s += 3.0 * (GOOD_LINK.find(&label).len().min(2) as f32);
    s += 2.0 * (GOOD_LINK.find(&path_words).len().min(2) as f32);
    if BAD_LINK.any(&label) {
        s -= 8.0;
    }
    if BAD_LINK.any(&tail) {
        s -= 6.0;
    }
    s
}

/// The target behind click-tracking redirects, or `url` itself.
pub fn unwrap(url: &str) -> String {
    let mut current = url.to_owned();
    for _ in 0..4 {
        match unwrap_once(&current) {
            Some(next) if next != current => current = next,
            _ => break,
        }
    }
    current
}

fn unwrap_once(s: &str) -> Option<String> {
    let parsed = Url::parse(s).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let path = parsed.path();
    if host == "urldefense.com" || host.ends_with(".urldefense.com") {
        if let Some(i) = s.find("/v3/__") {
            let inner = &s[i + 6..];
            let end = inner.find("__;").unwrap_or(inner.len());
            return absolute(&inner[..end]);
        }
    }
    let params = raw_query(parsed.query().unwrap_or_default());
    let get = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            params
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(k))
                .map(|(_, v)| percent_decode_str(v).decode_utf8_lossy().into_owned())
        })
    };
    if host == "urldefense.proofpoint.com" {
        let u = params.iter().find(|(k, _)| *k == "u")?.1;
        let restored = u.replace('-', "%").replace('_', "/");
        return absolute(&percent_decode_str(&restored).decode_utf8_lossy());
    }
    if host.ends_with(".awstrack.me") {
        let mut segments = path.split('/').filter(|p| !p.is_empty());
        if segments.next() == Some("L0") {
            let target = segments.next()?;
            return absolute(&percent_decode_str(target).decode_utf8_lossy());
        }
    }
    let google = host.starts_with("www.google.") || host.starts_with("google.");
    if google && path == "/url" {
        return absolute(&get(&["q", "url"])?);
    }
    if matches!(host.as_str(), "l.facebook.com" | "lm.facebook.com") {
        return absolute(&get(&["u"])?);
    }
    if host.ends_with(".safelinks.protection.outlook.com") {
        return absolute(&get(&["url"])?);
    }
    let first_label = host.split('.').next().unwrap_or_default();
    let tracker = TRACKER_LABELS.contains(&first_label)
        || path
            .split('/')
            .any(|seg| TRACKER_SEGMENTS.contains(&seg.to_ascii_lowercase().as_str()));
    if tracker {
        return absolute(&get(GENERIC_KEYS)?);
    }
    None
}

/// `s` if it is an absolute http(s) URL.
fn absolute(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let ok =
        (lower.starts_with("https://") || lower.starts_with("http://")) && Url::parse(s).is_ok();
    ok.then(|| s.to_owned())
}

/// Query pairs, still percent-encoded.
fn raw_query(query: &str) -> Vec<(&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers() {
        let target = "https://app.example.com/verify?token=abc&x=1";
        let enc = "https%3A%2F%2Fapp.example.com%2Fverify%3Ftoken%3Dabc%26x%3D1";
        for wrapped in [
            format!("https://www.google.com/url?q={enc}&sa=D"),
            format!("https://l.facebook.com/l.php?u={enc}&h=AT0"),
            format!("https://eur01.safelinks.protection.outlook.com/?url={enc}&data=05"),
            format!("https://click.mailer.example.net/track?id=9&url={enc}"),
            "https://urldefense.com/v3/__https://app.example.com/verify?token=abc&x=1__;!!x!y$"
                .to_owned(),
            format!(
                "https://eur01.safelinks.protection.outlook.com/?url={}",
                percent_encoding::utf8_percent_encode(
                    &format!("https://www.google.com/url?q={enc}"),
                    percent_encoding::NON_ALPHANUMERIC
                )
            ),
        ] {
            assert_eq!(unwrap(&wrapped), target, "{wrapped}");
        }
    }

    #[test]
    fn opaque_and_own_redirects_are_kept() {
        for url in [
            "https://u123.ct.sendgrid.net/ls/click?upn=abcDEF",
            "https://t.co/AbCd123",
            "https://app.example.com/magic?token=x&redirect=https%3A%2F%2Fapp.example.com%2Fhome",
        ] {
            assert_eq!(unwrap(url), url);
        }
    }

    #[test]
    fn chooses_the_verification_link() {
        let links = vec![
            ("https://x.example/help".to_owned(), "Help".to_owned()),
            (
                "https://x.example/unsubscribe".to_owned(),
                "Unsubscribe".to_owned(),
            ),
            (
                "https://x.example/e/abc".to_owned(),
                "Confirm your email".to_owned(),
            ),
            ("mailto:a@x.example".to_owned(), "Verify".to_owned()),
        ];
        assert_eq!(choose(&links).unwrap().url, "https://x.example/e/abc");
    }
}
