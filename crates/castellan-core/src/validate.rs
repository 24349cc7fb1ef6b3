//! Validation at the edge: field limits and normalizers shared by every entry point.

use crate::error::CoreError;

/// Longest label (account, vault, token, hub), in characters.
pub const MAX_LABEL: usize = 200;
/// Longest username or email, in characters (RFC 5321 section 4.5.3.1.3 path limit is 256 octets).
pub const MAX_USERNAME: usize = 320;
/// Longest password or secret custom field value, in bytes.
pub const MAX_SECRET: usize = 4096;
/// Longest notes, in bytes.
pub const MAX_NOTES: usize = 65_536;
/// Longest URL, in bytes.
pub const MAX_URL: usize = 2048;
/// Most custom fields on one account.
pub const MAX_CUSTOM_FIELDS: usize = 50;
/// Most backup codes on one account.
pub const MAX_BACKUP_CODES: usize = 64;

/// Shortens untrusted text to at most 64 characters for use inside an error message.
pub fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(64).filter(|c| !c.is_control()).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// Trims `value` and checks it is non-empty, at most `max` characters and free of control
/// characters. Returns the trimmed text or a `Validation` error naming `field`.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, CoreError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    let n = v.chars().count();
    if n > max {
        return Err(CoreError::invalid(
            field,
            format!("is {n} characters long; the limit is {max}"),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(CoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_owned())
}

/// Like [`text`] but `None`/empty gives `None`.
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, CoreError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// Checks a secret's size in bytes (secrets are not trimmed: spaces may be meaningful).
pub fn secret(field: &str, value: &str, max_bytes: usize) -> Result<(), CoreError> {
    if value.len() > max_bytes {
        return Err(CoreError::invalid(
            field,
            format!("is {} bytes long; the limit is {max_bytes}", value.len()),
        ));
    }
    Ok(())
}

/// Parses an absolute `http` or `https` URL of at most [`MAX_URL`] bytes.
pub fn http_url(field: &str, value: &str) -> Result<url::Url, CoreError> {
    let v = value.trim();
    if v.len() > MAX_URL {
        return Err(CoreError::invalid(
            field,
            format!("is {} bytes long; the limit is {MAX_URL}", v.len()),
        ));
    }
    let url = url::Url::parse(v).map_err(|e| {
        CoreError::invalid(field, format!("`{}` is not a valid URL ({e})", clip(v)))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CoreError::invalid(
            field,
            format!("`{}` must be an http or https URL with a host", clip(v)),
        ));
    }
    Ok(url)
}

/// Normalizes an email address for matching: trimmed, lowercased (RFC 5321 treats the
/// domain case-insensitively; nearly every provider also folds the local part). Errors when the
/// value is not `local@domain` with a dot-free-or-dotted domain and no spaces.
pub fn email(field: &str, value: &str) -> Result<String, CoreError> {
    let v = value.trim().to_lowercase();
    let bad = || {
        CoreError::invalid(
            field,
            format!("`{}` is not a valid email address", clip(value)),
        )
    };
    if v.len() > MAX_USERNAME || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = v.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty() || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
        return Err(bad());
    }
    Ok(v)
}

/// The key used for case-insensitive uniqueness of labels: trimmed, lowercased, inner runs of
/// white space folded to one space.
pub fn label_key(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits() {
        assert_eq!(text("f", "  hi ", 5).unwrap(), "hi");
        assert!(text("f", "   ", 5).is_err());
        assert!(text("f", "abcdef", 5).is_err());
        assert!(text("f", "a\u{0}b", 5).is_err());
    }

    #[test]
    fn urls() {
        assert!(http_url("u", "https://app.example.com/login").is_ok());
        assert!(http_url("u", "ftp://x.example").is_err());
        assert!(http_url("u", "not a url").is_err());
        assert!(http_url("u", "javascript:alert(1)").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(email("e", " Ann@Example.COM ").unwrap(), "ann@example.com");
        assert!(email("e", "ann").is_err());
        assert!(email("e", "a b@x.com").is_err());
        assert!(email("e", "@x.com").is_err());
    }

    #[test]
    fn label_keys_fold_case_and_space() {
        assert_eq!(label_key("  Slack   Admin "), "slack admin");
    }
}
