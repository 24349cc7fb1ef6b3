//! `otpauth://` URIs in the Google Authenticator Key URI Format
//! (<https://github.com/google/google-authenticator/wiki/Key-Uri-Format>):
//!
//! `otpauth://TYPE/LABEL?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30&counter=N`

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::form_urlencoded;
use zeroize::Zeroizing;

use crate::params::{MAX_PERIOD_SECS, STEAM_DIGITS};
use crate::secret::parse_secret;
use crate::{Algorithm, Kind, OtpError, OtpParams, Warning};

/// Characters written as-is in labels and parameter values: RFC 3986 unreserved characters
/// and `@` (common in account names, allowed in paths and queries). `+` is always encoded
/// because readers decode it as a space.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// Strips `prefix` from the start of `s`, ignoring ASCII case (URI schemes are
/// case-insensitive, RFC 3986 section 3.1).
pub(crate) fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `Some(trimmed)` unless the trimmed text is empty.
pub(crate) fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Splits a decoded label at its first `:` into (issuer prefix, account name), both trimmed
/// (the Key URI Format allows spaces after the colon). Also used for migration names.
pub(crate) fn split_label(label: &str) -> (Option<String>, Option<String>) {
    match label.split_once(':') {
        Some((issuer, account)) => (non_empty(issuer), non_empty(account)),
        None => (None, non_empty(label)),
    }
}

/// The inverse of [`split_label`], over parts written with `encode`: `issuer:account`, or the
/// account alone. An account name that holds a `:` and has no issuer is written `:account`
/// (an empty issuer prefix), else reading it back would take the text before its `:` for the
/// issuer. Also used for migration names.
pub(crate) fn join_label(
    issuer: Option<&str>,
    account: Option<&str>,
    encode: impl Fn(&str) -> String,
) -> String {
    let account = account.unwrap_or("");
    match issuer {
        Some(issuer) => format!("{}:{}", encode(issuer), encode(account)),
        None if account.contains(':') => format!(":{}", encode(account)),
        None => encode(account),
    }
}

/// [`Warning::IssuerMismatch`] when both issuers are present and differ, ignoring case.
pub(crate) fn issuer_mismatch(p: &OtpParams) -> Option<Warning> {
    match (&p.label_issuer, &p.issuer) {
        (Some(label), Some(parameter)) if label.to_lowercase() != parameter.to_lowercase() => {
            Some(Warning::IssuerMismatch {
                label: label.clone(),
                parameter: parameter.clone(),
            })
        }
        _ => None,
    }
}

/// The query parameters: names compared ignoring case, the first occurrence wins.
/// Values are form-decoded: `%XX` escapes, and `+` as a space.
struct Query(Vec<(String, Zeroizing<String>)>);

impl Query {
    fn parse(query: &str) -> Self {
        let pairs = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), Zeroizing::new(v.into_owned())))
            .collect();
        Query(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an `otpauth://` URI (Key URI Format).
///
/// Input: `otpauth://TYPE/LABEL?PARAMETERS`, scheme and type in any case. TYPE is `totp`,
/// `hotp` or `steam` (Steam Guard, as written by Aegis and others; a `totp` URI with
/// `encoder=steam` or issuer "Steam" stays TOTP). LABEL is percent-decoded (literal spaces
/// are tolerated) and split at its first `:` (also written `%3A`) into `label_issuer` and
/// `account_name`. Parameters: `secret` (required, base32 as in [`crate::parse_secret`]),
/// `issuer`, `algorithm` (`SHA1`, `SHA256`, `SHA512`; default SHA1), `digits` (6 to 10,
/// default 6; Steam: 5), `period` (seconds, 1 to [`MAX_PERIOD_SECS`], default 30), `counter` (required for HOTP).
/// Values are form-decoded (`+` is a space). Unknown parameters are ignored.
///
/// Output: normalized, valid parameters and warnings: [`Warning::ShortSecret`] under 128 bits,
/// [`Warning::IssuerMismatch`] when the label prefix and `issuer` differ (both are kept).
///
/// Errors: [`OtpError::NotOtpauthUri`], [`OtpError::UnknownType`], [`OtpError::MissingSecret`],
/// the secret's errors, [`OtpError::UnsupportedAlgorithm`] (e.g. MD5),
/// [`OtpError::InvalidDigits`], [`OtpError::SteamDigits`], [`OtpError::SteamAlgorithm`],
/// [`OtpError::InvalidPeriod`], [`OtpError::MissingCounter`], [`OtpError::InvalidCounter`],
/// [`OtpError::InvalidUtf8`].
pub fn parse_uri(uri: &str) -> Result<(OtpParams, Vec<Warning>), OtpError> {
    let rest = strip_prefix_ignore_case(uri.trim(), "otpauth://").ok_or(OtpError::NotOtpauthUri)?;
    let (type_part, after_type) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let kind = match type_part.to_ascii_lowercase().as_str() {
        "totp" => Kind::Totp,
        "hotp" => Kind::Hotp,
        "steam" => Kind::Steam,
        _ => {
            let shown = percent_decode_str(type_part).decode_utf8_lossy();
            return Err(OtpError::UnknownType(shown.into_owned()));
        }
    };
    let (path, query) = after_type.split_once('?').unwrap_or((after_type, ""));
    let raw_label = path.strip_prefix('/').unwrap_or(path);
    let label = percent_decode_str(raw_label)
        .decode_utf8()
        .map_err(|_| OtpError::InvalidUtf8("label"))?;
    let (label_issuer, account_name) = split_label(&label);
    let query = Query::parse(query);

    let (secret, mut warnings) = parse_secret(query.get("secret").ok_or(OtpError::MissingSecret)?)?;
    let mut p = OtpParams::new(kind, secret);
    p.label_issuer = label_issuer;
    p.account_name = account_name;
    p.issuer = query.get("issuer").and_then(non_empty);

    if let Some(value) = query.get("algorithm") {
        let algorithm: Algorithm = value.parse()?;
        if kind == Kind::Steam && algorithm != Algorithm::Sha1 {
            return Err(OtpError::SteamAlgorithm(algorithm.to_string()));
        }
        p.algorithm = algorithm;
    }
    if let Some(value) = query.get("digits") {
        let digits = value.trim().parse::<u32>().ok();
        p.digits = match (kind, digits) {
            (Kind::Steam, Some(STEAM_DIGITS)) => STEAM_DIGITS,
            (Kind::Steam, _) => return Err(OtpError::SteamDigits(value.to_string())),
            (_, Some(d)) if (6..=10).contains(&d) => d,
            _ => return Err(OtpError::InvalidDigits(value.to_string())),
        };
    }
    if let Some(value) = query.get("period") {
        p.period = match value.trim().parse::<u64>() {
            Ok(period) if (1..=MAX_PERIOD_SECS).contains(&period) => period,
            _ => return Err(OtpError::InvalidPeriod(value.to_string())),
        };
    }
    if kind == Kind::Hotp {
        let value = query.get("counter").ok_or(OtpError::MissingCounter)?;
        p.counter = value
            .trim()
            .parse::<u64>()
            .map_err(|_| OtpError::InvalidCounter(value.to_string()))?;
    }
    warnings.extend(issuer_mismatch(&p));
    Ok((p, warnings))
}

/// Writes `p` as an `otpauth://` URI (Key URI Format).
///
/// Output: `otpauth://KIND/LABEL?secret=…[&issuer=…]&algorithm=…&digits=…&period=…[&counter=…]`
/// where LABEL is `label_issuer:account_name` (or just the account name), each part
/// percent-encoded; `secret` is upper-case base32 without padding; `counter` only for HOTP.
///
/// An account name that holds a `:` and has no label issuer is written after an empty issuer
/// prefix (`otpauth://totp/:a%3Ab?…`), so that it reads back whole.
///
/// `parse_uri(&to_uri(p))` gives back `p` for every normalized `p` (as the parsers produce)
/// whose `label_issuer` contains no `:`: the Key URI Format cannot express those.
pub fn to_uri(p: &OtpParams) -> String {
    let encode = |s: &str| utf8_percent_encode(s, URI_COMPONENT).to_string();
    let label = join_label(p.label_issuer.as_deref(), p.account_name.as_deref(), encode);
    let mut uri = format!(
        "otpauth://{}/{label}?secret={}",
        p.kind,
        p.secret.to_base32()
    );
    if let Some(issuer) = &p.issuer {
        uri.push_str("&issuer=");
        uri.push_str(&encode(issuer));
    }
    uri.push_str(&format!(
        "&algorithm={}&digits={}&period={}",
        p.algorithm, p.digits, p.period
    ));
    if p.kind == Kind::Hotp {
        uri.push_str(&format!("&counter={}", p.counter));
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_uri_format_wiki_example() {
        // The example of the Key URI Format wiki page.
        let uri = "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example";
        let (p, warnings) = parse_uri(uri).unwrap();
        assert_eq!(p.kind, Kind::Totp);
        assert_eq!(p.label_issuer.as_deref(), Some("Example"));
        assert_eq!(p.issuer.as_deref(), Some("Example"));
        assert_eq!(p.account_name.as_deref(), Some("alice@google.com"));
        assert_eq!(p.secret.as_bytes(), b"Hello!\xde\xad\xbe\xef");
        assert_eq!((p.digits, p.period, p.algorithm), (6, 30, Algorithm::Sha1));
        assert_eq!(warnings, vec![Warning::ShortSecret { bits: 80 }]);
    }

    #[test]
    fn plus_in_a_parameter_is_a_space_but_not_in_the_label() {
        let uri = "otpauth://totp/A+B:c?secret=JBSWY3DPEHPK3PXP&issuer=Big+Corp";
        let (p, _) = parse_uri(uri).unwrap();
        assert_eq!(p.label_issuer.as_deref(), Some("A+B"));
        assert_eq!(p.issuer.as_deref(), Some("Big Corp"));
        let (back, _) = parse_uri(&to_uri(&p)).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn first_occurrence_of_a_parameter_wins() {
        let uri = "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=8&digits=6";
        assert_eq!(parse_uri(uri).unwrap().0.digits, 8);
    }
}
