//! Usernames for invited members, for apps that need one: derived from the email's local part,
//! then made unique with a counter (`ana`, `ana-2`, … `ana-20`), and random passwords nobody
//! keeps (the member sets their own through the app's password reset or SSO).

use rand::distributions::{Alphanumeric, DistString};

/// Length of [`random_password`]'s passwords.
pub const PASSWORD_LEN: usize = 32;

/// How many usernames [`candidates`] proposes.
pub const MAX_TRIES: u32 = 20;

/// `raw` trimmed and lowercased, each character `keep` refuses replaced with `_`, cut to `max`
/// characters less room for a `-20` suffix; `None` when nothing but `_`, `.` and `-` is left.
pub fn derive(raw: &str, keep: impl Fn(char) -> bool, max: usize) -> Option<String> {
    let name: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if keep(c) { c } else { '_' })
        .take(max.saturating_sub(3))
        .collect();
    (!name.trim_matches(['_', '.', '-']).is_empty()).then_some(name)
}

/// `base`, `base-2`, … `base-<MAX_TRIES>`: the usernames to try in turn, taking the first free
/// one, so that a derived username never revives somebody else's account.
pub fn candidates(base: &str) -> impl Iterator<Item = String> + '_ {
    (1..=MAX_TRIES).map(move |n| match n {
        1 => base.to_owned(),
        n => format!("{base}-{n}"),
    })
}

/// `w` with its first letter uppercase (`élan` gives `Élan`).
pub fn capitalized(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A random alphanumeric password of [`PASSWORD_LEN`] characters: never stored or logged.
pub fn random_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), PASSWORD_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_derived_and_counted() {
        let keep = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        assert_eq!(
            derive(" Ana.Lopez+x ", keep, 60).as_deref(),
            Some("ana.lopez_x")
        );
        assert_eq!(derive("++", keep, 60), None);
        assert_eq!(derive(&"a".repeat(80), keep, 60).unwrap().len(), 57);
        let c: Vec<String> = candidates("ana").collect();
        assert_eq!(
            (c.len(), c[0].as_str(), c[19].as_str()),
            (20, "ana", "ana-20")
        );
        assert_eq!(random_password().len(), PASSWORD_LEN);
        assert_eq!(
            (capitalized("élan b"), capitalized("")),
            ("Élan b".into(), "".into())
        );
    }
}
