//! Extraction from Redmine's HTML pages (Redmine 5.0 views).

use std::sync::OnceLock;

use regex::Regex;

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a valid static pattern"))
}

/// The page's CSRF token: the `csrf-token` meta tag, else a form's `authenticity_token`.
/// Rails accepts either for any form of the session (tokens are not per form in Redmine).
pub(super) fn csrf_token(page: &str) -> Option<String> {
    static META: OnceLock<Regex> = OnceLock::new();
    static FIELD: OnceLock<Regex> = OnceLock::new();
    re(&META, r#"<meta\s+name="csrf-token"\s+content="([^"]+)""#)
        .captures(page)
        .or_else(|| re(&FIELD, r#"name="authenticity_token"\s+value="([^"]+)""#).captures(page))
        .map(|c| unescape(&c[1]))
}

/// Whether the page has a form field named `name`.
pub(super) fn has_field(page: &str, name: &str) -> bool {
    page.contains(&format!("name=\"{name}\""))
}

/// The text of the page's error flash (`<div class="flash error" id="flash_error">`).
pub(super) fn flash_error(page: &str) -> Option<String> {
    static FLASH: OnceLock<Regex> = OnceLock::new();
    re(&FLASH, r#"(?s)id="flash_error"[^>]*>(.*?)</div>"#)
        .captures(page)
        .map(|c| unescape(strip_tags(&c[1]).trim()))
        .filter(|m| !m.is_empty())
}

/// The API key on `/my/api_key` (`<pre>` holding 40 hex digits).
pub(super) fn api_key(page: &str) -> Option<String> {
    static KEY: OnceLock<Regex> = OnceLock::new();
    re(&KEY, r"<pre>\s*([0-9a-f]{40})\s*</pre>")
        .captures(page)
        .map(|c| c[1].to_owned())
}

/// The plain text key on the TOTP pairing page (`<code>ABCD EFGH …</code>`), without spaces.
pub(super) fn totp_key(page: &str) -> Option<String> {
    static KEY: OnceLock<Regex> = OnceLock::new();
    re(
        &KEY,
        r"<code>\s*([A-Z2-7]{4}(?:\s+[A-Z2-7]{1,4})+)\s*</code>",
    )
    .captures(page)
    .map(|c| c[1].split_whitespace().collect())
}

/// The QR code image on the TOTP pairing page (a PNG in a `data:` URL).
pub(super) fn qr_png(page: &str) -> Option<Vec<u8>> {
    static IMG: OnceLock<Regex> = OnceLock::new();
    let b64 = re(&IMG, r#"src="data:image/png;base64,([A-Za-z0-9+/=]+)""#)
        .captures(page)?
        .get(1)?
        .as_str();
    data_encoding::BASE64.decode(b64.as_bytes()).ok()
}

fn strip_tags(s: &str) -> String {
    static TAG: OnceLock<Regex> = OnceLock::new();
    re(&TAG, r"<[^>]*>").replace_all(s, "").into_owned()
}

/// The few entities Rails' `html_escape` writes.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
