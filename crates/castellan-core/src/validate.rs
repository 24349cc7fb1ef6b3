//! Validation at the edge: field limits and normalizers shared by every entry point.
//!
//! Every label, name and username goes through [`text`]: trimmed, NFC-normalized (UAX #15), and
//! refused when it holds control characters, bidirectional controls or invisible characters
//! ([`visible`]). Labels that only *look* like an existing one (UTS #39 confusable skeletons)
//! are found by [`look_alike`]; the use cases refuse them unless the caller confirms
//! ([`LookAlike::Allow`]).

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::{skeleton, MixedScript};

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

/// Text as Castellan stores it: trimmed, in Unicode Normalization Form C. Values compared with
/// stored text (a SCIM filter's literal, a search) go through this first, so that `a\u{301}` finds
/// `á`.
pub fn normalized(value: &str) -> String {
    let v: String = value.trim().nfc().collect();
    v.trim().to_owned()
}

/// Whether `label` is one label of a domain name (RFC 1035 §2.3.1, with the letters and digits
/// of any script as internationalized names have them): 1 to 63 bytes of letters, digits and
/// hyphens, no hyphen at either end. The one label rule of email and mail domains.
pub fn domain_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Longest email address, in bytes: RFC 5321 §4.5.3.1.3 limits a path to 256 octets, two of
/// them its angle brackets.
pub const MAX_EMAIL: usize = 254;

/// Trims `value`, normalizes it to NFC and checks it is non-empty, at most `max` characters
/// (counted after normalization) and free of control characters and of the invisible and
/// direction-changing characters [`visible`] refuses. Returns the normalized text or a
/// `Validation` error naming `field`.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, CoreError> {
    let v: String = value.trim().nfc().collect();
    let v = v.trim();
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
    visible(field, v)?;
    Ok(v.to_owned())
}

/// Whether `c` is in Unicode's `Default_Ignorable_Code_Point` set (DerivedCoreProperties.txt,
/// Unicode 15.1): characters that render as nothing, such as zero-width spaces, joiners,
/// variation selectors and Hangul fillers.
fn default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// What is wrong with `c` in a label or name (`prev` is the character before it), or `None`.
/// Emoji presentation selectors (U+FE0E, U+FE0F) are fine right after a symbol (`☁️`).
fn hidden_kind(c: char, prev: Option<char>) -> Option<&'static str> {
    match c {
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => Some("a bidirectional control, which can reverse how the text reads"),
        '\u{FE0E}' | '\u{FE0F}'
            if prev.is_some_and(|p| p.general_category() == GeneralCategory::OtherSymbol) =>
        {
            None
        }
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => Some("a zero-width character"),
        '\u{2028}' | '\u{2029}' => Some("an invisible line or paragraph separator"),
        _ if default_ignorable(c) || c.general_category() == GeneralCategory::Format => {
            Some("an invisible formatting character")
        }
        _ => None,
    }
}

/// Refuses text holding a bidirectional control (U+202A–U+202E, U+2066–U+2069, LRM, RLM,
/// ALM), a zero-width or other invisible character (the `Cf` category and the
/// `Default_Ignorable_Code_Point` set), or a line or paragraph separator: with them two labels
/// that read the same can differ, and `invoice\u{202E}gpj.exe` reads as `invoiceexe.jpg`.
/// The `Validation` error names `field`, the code point and its position (from 1).
pub fn visible(field: &str, value: &str) -> Result<(), CoreError> {
    let mut prev = None;
    for (i, c) in value.chars().enumerate() {
        if let Some(kind) = hidden_kind(c, prev) {
            return Err(CoreError::invalid(
                field,
                format!(
                    "must not contain invisible or direction-changing characters: U+{:04X} ({kind}) at character {}",
                    u32::from(c),
                    i + 1
                ),
            ));
        }
        prev = Some(c);
    }
    Ok(())
}

/// Whether a label that looks like an existing one (see [`look_alike`]) is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookAlike {
    /// Refuse it with a `Validation` error naming the existing label (the default).
    #[default]
    Refuse,
    /// The caller confirmed it (`confirm_confusable=true`, `--allow-confusable`, the web
    /// form's checkbox).
    Allow,
}

impl LookAlike {
    /// `Allow` when `confirmed`, else `Refuse`.
    pub fn confirmed(confirmed: bool) -> Self {
        if confirmed {
            Self::Allow
        } else {
            Self::Refuse
        }
    }
}

/// The words every look-alike refusal starts its message with (the web forms key on them to
/// offer the confirmation checkbox).
pub const LOOK_ALIKE_MESSAGE: &str = "looks like the existing";

/// Case- and space-folded UTS #39 skeletons of a label: of the text as written and of its
/// lowercase form (`SIack` and `slack` both reach `slack`).
fn skeletons(label: &str) -> [String; 2] {
    let fold = |s: String| label_key(&s);
    [
        fold(skeleton(label).collect()),
        fold(skeleton(&label.to_lowercase()).collect()),
    ]
}

/// The first of `existing` that `label` can be mistaken for: a different label (by
/// [`label_key`]) with the same confusable skeleton (UTS #39 section 4, case and white space
/// folded), e.g. `Slаck admin` (Cyrillic `а`) or `SIack admin` (capital `I`) for
/// `Slack admin`. An identical label is not a look-alike (it is a duplicate: a conflict).
pub fn look_alike<'a>(label: &str, existing: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let key = label_key(label);
    let mine = skeletons(label);
    existing.into_iter().find(|other| {
        label_key(other) != key && {
            let theirs = skeletons(other);
            mine.iter().any(|m| theirs.contains(m))
        }
    })
}

/// The refusal of `label` in `field` because it looks like `existing` (`noun`: "label",
/// "vault name"); says when the label mixes scripts and how to confirm.
pub fn look_alike_error(field: &str, noun: &str, label: &str, existing: &str) -> CoreError {
    let mixed = if label.is_single_script() {
        ""
    } else {
        " (it mixes letters of different scripts)"
    };
    CoreError::invalid(
        field,
        format!(
            "`{}` {LOOK_ALIKE_MESSAGE} {noun} `{}`{mixed}; if it is meant to, confirm it (API: \
             `confirm_confusable=true`, CLI: `--allow-confusable`)",
            clip(label),
            clip(existing)
        ),
    )
}

/// Refuses `label` when it looks like one of `existing` (see [`look_alike`]), unless `allow`
/// is [`LookAlike::Allow`].
pub fn check_look_alike<'a>(
    field: &str,
    noun: &str,
    label: &str,
    existing: impl IntoIterator<Item = &'a str>,
    allow: LookAlike,
) -> Result<(), CoreError> {
    if allow == LookAlike::Allow {
        return Ok(());
    }
    match look_alike(label, existing) {
        Some(other) => Err(look_alike_error(field, noun, label, other)),
        None => Ok(()),
    }
}

/// Whether `e` is a look-alike refusal (see [`look_alike_error`]).
pub fn is_look_alike(e: &CoreError) -> bool {
    matches!(e, CoreError::Validation { message, .. } if message.contains(LOOK_ALIKE_MESSAGE))
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

/// An email address as stored and looked up, without checking it: trimmed, NFC, lowercased.
/// Sign-in and other lookups use this, so an address stored under older rules still matches.
pub fn email_key(value: &str) -> String {
    normalized(value).to_lowercase()
}

/// Normalizes an email address for matching: trimmed, NFC, lowercased (RFC 5321 treats the
/// domain case-insensitively; nearly every provider also folds the local part). Errors unless
/// the value is at most [`MAX_EMAIL`] bytes of `local@domain` where the local part is letters,
/// digits (any script, RFC 6531) and RFC 5322 §3.2.3 `atext` symbols in dot-separated runs (no
/// quoted local parts), and the domain is dot-separated labels of letters, digits and inner
/// hyphens.
pub fn email(field: &str, value: &str) -> Result<String, CoreError> {
    let v = email_key(value);
    let bad = || {
        CoreError::invalid(
            field,
            format!("`{}` is not a valid email address", clip(value)),
        )
    };
    if v.len() > MAX_EMAIL {
        return Err(bad());
    }
    visible(field, &v)?;
    let (local, domain) = v.rsplit_once('@').ok_or_else(bad)?;
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let runs_of = |s: &str, ok: &dyn Fn(&str) -> bool| !s.is_empty() && s.split('.').all(ok);
    let local_ok = runs_of(local, &|run| !run.is_empty() && run.chars().all(atext));
    let domain_ok = runs_of(domain, &|label| domain_label(label));
    if !local_ok || !domain_ok {
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
    fn emails_are_plain_addresses() {
        assert_eq!(email("e", " Ana@Example.COM ").unwrap(), "ana@example.com");
        assert_eq!(
            email("e", "a.b+tag@sub.example.io").unwrap(),
            "a.b+tag@sub.example.io"
        );
        assert_eq!(
            email("e", "jos\u{e9}@exemple.fr").unwrap(),
            "jos\u{e9}@exemple.fr"
        );
        assert_eq!(
            email("e", "jose\u{301}@exemple.fr").unwrap(),
            "jos\u{e9}@exemple.fr"
        );
        for bad in [
            "<script>@example.com",
            "a\"b@example.com",
            "a\u{ff20}b@example.com",
            "a@b\u{ff20}example.com",
            "a..b@example.com",
            ".a@example.com",
            "a@example..com",
            "a@-example.com",
            "a@",
            "@example.com",
            "a b@example.com",
            "a@example.com.",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_EMAIL));
        assert!(email("e", &long).is_err());
        let fits = format!("{}@example.com", "a".repeat(MAX_EMAIL - 12));
        assert!(email("e", &fits).is_ok());
    }

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

    #[test]
    fn text_is_nfc_normalized() {
        // `e` + combining acute (NFD) becomes the one precomposed `é` (NFC).
        let nfd = "Cafe\u{301} team";
        let nfc = text("name", nfd, 20).unwrap();
        assert_eq!(nfc, "Caf\u{e9} team");
        assert_eq!(nfc.chars().count(), 9);
        assert_eq!(text("name", "Caf\u{e9} team", 20).unwrap(), nfc);
        // Compatibility forms are not folded (NFC, not NFKC): the confusable check sees them.
        assert_eq!(text("label", "\u{FF33}lack", 20).unwrap(), "\u{FF33}lack");
        assert_eq!(
            email("email", "Jos\u{65}\u{301}@Example.com").unwrap(),
            "jos\u{e9}@example.com"
        );
    }

    #[test]
    fn invisible_and_bidi_characters_are_refused_naming_the_field() {
        for (bad, what) in [
            ("invoice\u{202E}gpj.exe", "U+202E"),
            ("Slack\u{200B} admin", "U+200B"),
            ("Slack\u{200D}admin", "U+200D"),
            ("\u{FEFF}Slack admin", "U+FEFF"),
            ("Slack\u{2066}admin\u{2069}", "U+2066"),
            ("Slack\u{00AD}admin", "U+00AD"),
            ("Slack\u{E0041}", "U+E0041"),
            ("S\u{FE0F}lack", "U+FE0F"),
            ("Slack\u{2028}admin", "U+2028"),
            ("\u{3164}", "U+3164"),
        ] {
            let e = text("label", bad, 200).unwrap_err();
            let CoreError::Validation { field, message } = e else {
                panic!("{bad:?}: not a validation error");
            };
            assert_eq!(field, "label");
            assert!(message.contains(what), "{bad:?}: {message}");
            assert!(
                message.contains("invisible or direction-changing"),
                "{message}"
            );
        }
        assert!(email("email", "ana\u{200B}@example.com").is_err());
        // Right-to-left scripts, accents and emoji need none of them.
        for ok in [
            "\u{5E9}\u{5DC}\u{5D5}\u{5DD}",
            "Café",
            "\u{2601}\u{FE0F} Cloud",
            "Zoë Ødegaard",
            "東京オフィス",
        ] {
            assert!(text("label", ok, 200).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn look_alike_labels_are_found() {
        let existing = ["Slack admin", "GitHub", "Payroll"];
        let hit = |l: &str| look_alike(l, existing.iter().copied());
        assert_eq!(hit("Sl\u{430}ck admin"), Some("Slack admin")); // Cyrillic а
        assert_eq!(hit("SIack admin"), Some("Slack admin")); // capital I for l
        assert_eq!(hit("sIack  admin"), Some("Slack admin")); // case and spaces folded
        assert_eq!(hit("\u{FF33}lack admin"), Some("Slack admin")); // fullwidth S
        assert_eq!(hit("Slack adrnin"), Some("Slack admin")); // rn for m
        assert_eq!(hit("G\u{456}tHub"), Some("GitHub")); // Cyrillic і
                                                         // The same label is a duplicate (a conflict), not a look-alike; others are fine.
        assert_eq!(hit("slack admin"), None);
        assert_eq!(hit("Slack billing"), None);
        assert_eq!(hit("GitLab"), None);
        let e = look_alike_error("label", "label", "Sl\u{430}ck admin", "Slack admin");
        assert!(is_look_alike(&e));
        let CoreError::Validation { field, message } = e else {
            panic!()
        };
        assert_eq!(field, "label");
        assert!(message.contains("`Slack admin`"), "{message}");
        assert!(
            message.contains("mixes letters of different scripts"),
            "{message}"
        );
        assert!(
            check_look_alike("label", "label", "SIack admin", existing, LookAlike::Refuse).is_err()
        );
        assert!(
            check_look_alike("label", "label", "SIack admin", existing, LookAlike::Allow).is_ok()
        );
    }
}
