//! The Twilio-compatible inbound SMS webhook: form parsing, E.164 numbers, and the
//! `X-Twilio-Signature` check.
//!
//! Source: Twilio, "Webhooks security"
//! (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>): the signature is
//! `base64(HMAC-SHA1(auth_token, url + key1 + value1 + key2 + value2 ...))` over the full URL
//! Twilio requested (scheme, host, path and query string exactly as configured) followed by the
//! POST parameters sorted by name. It is sent in the `X-Twilio-Signature` header.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The largest form body [`parse_sms_form`] reads, in bytes (Twilio's own bodies are a few KiB:
/// an SMS is at most 1600 characters).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Errors from [`parse_sms_form`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The body is larger than [`MAX_FORM_BYTES`].
    #[error("form body of {0} bytes is over the limit")]
    TooLarge(usize),
    /// A required parameter (`From` or `To`) is missing.
    #[error("missing form parameter {0}")]
    Missing(&'static str),
    /// `To` is not an E.164 number, or `From` is neither E.164, a short code nor an
    /// alphanumeric sender id.
    #[error("form parameter {0} is not a valid phone number")]
    InvalidNumber(&'static str),
}

/// One inbound SMS, as the provider reported it.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundSms {
    /// The sender: E.164 (`+14155550100`), or a short code (`22395`) or an alphanumeric sender
    /// id (`Google`) as providers report them for application-to-person messages.
    pub from: String,
    /// The managed number that received the message, E.164.
    pub to: String,
    /// The message text (may be empty).
    pub body: String,
}

impl std::fmt::Debug for InboundSms {
    // The body may hold a one-time code: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundSms")
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Computes the `X-Twilio-Signature` value for a request: base64 of
/// HMAC-SHA1(`auth_token`, `url` followed by every `key + value` of `params` sorted by key, then
/// by value). `url` must be the exact URL Twilio requested, query string included.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(url.as_bytes());
    for (key, value) in sorted {
        mac.update(key.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks an `X-Twilio-Signature` header in constant time. Like Twilio's own SDKs, a URL with the
/// scheme's default port (`:443`, `:80`) is also tried without it and a URL without a port also
/// with it, since the signing side may have used either form. Any other difference in the URL or
/// the parameters fails.
pub fn verify_twilio_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: &str,
) -> bool {
    let header = header.trim().as_bytes();
    if header.is_empty() {
        return false;
    }
    let mut ok = subtle::Choice::from(0u8);
    for candidate in url_variants(url) {
        let expected = twilio_signature(auth_token, &candidate, params);
        ok |= expected.as_bytes().ct_eq(header);
    }
    bool::from(ok)
}

/// The URL as given, plus the same URL with its default port toggled.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Ok(parsed) = url::Url::parse(url) else {
        return out;
    };
    let Some(default) = parsed.port_or_known_default() else {
        return out;
    };
    let Some(host) = parsed.host_str() else {
        return out;
    };
    let authority = match parsed.port() {
        // url::Url drops a default port while parsing, so look at the text itself.
        None if url.contains(&format!("{host}:{default}")) => host.to_owned(),
        None => format!("{host}:{default}"),
        Some(_) => return out,
    };
    let prefix = format!("{}://", parsed.scheme());
    if let Some(rest) = url.strip_prefix(&prefix) {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let userinfo_end = rest[..end].rfind('@').map_or(0, |i| i + 1);
        out.push(format!(
            "{prefix}{}{authority}{}",
            &rest[..userinfo_end],
            &rest[end..]
        ));
    }
    out
}

/// Parses an `application/x-www-form-urlencoded` webhook body. Returns the message and every
/// parameter in the order received (for [`verify_twilio_signature`]). `To` must be E.164 (`+`
/// then 8 to 15 digits, see [`normalize_e164`]); `From` may also be a short code (3 to 8 digits)
/// or an alphanumeric sender id (up to 11 characters), which providers use for verification
/// messages. A missing `Body` is an empty text.
///
/// # Errors
/// [`SmsError::TooLarge`] over [`MAX_FORM_BYTES`]; [`SmsError::Missing`] without `From` or `To`;
/// [`SmsError::InvalidNumber`] when a number fails the rules above.
pub fn parse_sms_form(body: &[u8]) -> Result<(InboundSms, Vec<(String, String)>), SmsError> {
    if body.len() > MAX_FORM_BYTES {
        return Err(SmsError::TooLarge(body.len()));
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let from = get("From").ok_or(SmsError::Missing("From"))?;
    let to = get("To").ok_or(SmsError::Missing("To"))?;
    let to = normalize_e164(to).ok_or(SmsError::InvalidNumber("To"))?;
    let from = normalize_sender(from).ok_or(SmsError::InvalidNumber("From"))?;
    let body = get("Body").unwrap_or_default().to_owned();
    Ok((InboundSms { from, to, body }, params))
}

/// Normalizes a phone number to E.164 (ITU-T E.164: `+`, a country code that does not start
/// with 0, at most 15 digits in all; here at least 8). Spaces, dots, hyphens and parentheses are
/// removed and a leading international `00` becomes `+`. Returns `None` for anything else, such
/// as a number without a country code.
pub fn normalize_e164(s: &str) -> Option<String> {
    let compact: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = compact
        .strip_prefix('+')
        .or_else(|| compact.strip_prefix("00"))?;
    let valid = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    valid.then(|| format!("+{digits}"))
}

/// A sender: E.164 when it looks like a full number, else a short code or an alphanumeric id.
fn normalize_sender(s: &str) -> Option<String> {
    let s = s.trim();
    if s.starts_with('+') || s.starts_with("00") {
        return normalize_e164(s);
    }
    let short_code = (3..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let alphanumeric = (1..=11).contains(&s.len())
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'.' | b'&' | b'_'));
    (short_code || alphanumeric).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn e164_rules() {
        assert_eq!(
            normalize_e164("+1 (415) 555-0100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            normalize_e164("0049 30 1234567").as_deref(),
            Some("+49301234567")
        );
        assert_eq!(normalize_e164("4155550100"), None);
        assert_eq!(normalize_e164("+0155550100"), None);
        assert_eq!(normalize_e164("+1234567"), None);
        assert_eq!(normalize_e164("+1234567890123456"), None);
        assert_eq!(normalize_e164("+1415abc0100"), None);
    }

    #[test]
    fn senders_may_be_short_codes_or_names() {
        assert_eq!(normalize_sender("22395").as_deref(), Some("22395"));
        assert_eq!(normalize_sender("Google").as_deref(), Some("Google"));
        assert_eq!(normalize_sender("+12"), None);
        assert_eq!(normalize_sender("12"), None);
        assert_eq!(normalize_sender("<script>"), None);
    }

    #[test]
    fn port_variants() {
        let v = url_variants("https://example.com/sms?x=1");
        assert_eq!(v[1], "https://example.com:443/sms?x=1");
        let v = url_variants("https://example.com:443/sms");
        assert_eq!(v[1], "https://example.com/sms");
        assert_eq!(url_variants("https://example.com:8443/sms").len(), 1);
    }

    #[test]
    fn signature_with_default_port_still_verifies() {
        let params = pairs(&[("From", "+14155550100"), ("Body", "hi")]);
        let sig = twilio_signature("t0ken", "https://example.com:443/sms", &params);
        assert!(verify_twilio_signature(
            "t0ken",
            "https://example.com/sms",
            &params,
            &sig
        ));
        assert!(!verify_twilio_signature(
            "t0ken",
            "https://example.com/sms2",
            &params,
            &sig
        ));
        assert!(!verify_twilio_signature(
            "t0ken",
            "https://example.com/sms",
            &params,
            ""
        ));
    }
}
