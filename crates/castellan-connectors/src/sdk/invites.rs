//! What connectors make when they create an invited member's account: the usernames to try in
//! turn, and a password nobody knows.

use rand::distributions::{Alphanumeric, DistString};

/// Length of [`random_password`]'s passwords.
pub const PASSWORD_LEN: usize = 32;

/// A random password of [`PASSWORD_LEN`] letters and digits, never shown or logged: the member
/// sets their own (a reset by email, SSO).
pub fn random_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), PASSWORD_LEN)
}

/// `base`, then `base` with `sep` and 2, 3, … `tries` appended (`ana`, `ana-2`, … `ana-20`): the
/// usernames an invitation tries in turn when one is taken.
pub fn numbered(base: &str, sep: &str, tries: u32) -> Vec<String> {
    let more = (2..=tries).map(|n| format!("{base}{sep}{n}"));
    std::iter::once(base.to_owned()).chain(more).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords() {
        assert_eq!(numbered("ana", "-", 3), ["ana", "ana-2", "ana-3"]);
        assert_eq!(numbered("Ana", " ", 1), ["Ana"]);
        let p = random_password();
        assert!(p.len() == PASSWORD_LEN && p.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(p, random_password());
    }
}
