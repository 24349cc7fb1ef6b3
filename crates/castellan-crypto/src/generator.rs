//! Strong password and passphrase generator. All randomness comes from the
//! operating system (`rand::rngs::OsRng`); choices use `rand`'s unbiased
//! uniform sampling (`SliceRandom::choose`, `SliceRandom::shuffle`,
//! `Rng::gen_range`).

use std::fmt;

use diceware_wordlists::Wordlist;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::Rng;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::CryptoError;

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
/// Symbol set used when [`PasswordOptions::symbols`] is `None`.
pub const DEFAULT_SYMBOLS: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";
/// Characters dropped by [`PasswordOptions::exclude_lookalikes`]:
/// `I l 1 O 0 o | ` ' "` (capital i, small L, one, capital o, zero, small o,
/// bar, backtick, single and double quote).
pub const LOOKALIKES: &str = "Il1O0o|`'\"";

/// Minimum and maximum password length, in characters.
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 8..=128;
/// Minimum and maximum passphrase word count.
pub const PASSPHRASE_WORDS: std::ops::RangeInclusive<usize> = 3..=20;
/// Maximum passphrase separator length, in characters.
pub const MAX_SEPARATOR_CHARS: usize = 3;

/// Which character classes a generated password draws from (and contains at
/// least one of each). `Default`: all four enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharClasses {
    /// `a`–`z`.
    pub lower: bool,
    /// `A`–`Z`.
    pub upper: bool,
    /// `0`–`9`.
    pub digits: bool,
    /// The symbol set of [`PasswordOptions::symbols`].
    pub symbols: bool,
}

impl Default for CharClasses {
    fn default() -> Self {
        Self {
            lower: true,
            upper: true,
            digits: true,
            symbols: true,
        }
    }
}

/// Options of [`generate_password`]. `Default`: length 20, all classes,
/// default symbols, look-alikes allowed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordOptions {
    /// Length in characters (all ASCII, so also bytes); must be in 8..=128.
    pub length: usize,
    /// Enabled character classes; at least one.
    pub classes: CharClasses,
    /// Allowed symbols; `None` means [`DEFAULT_SYMBOLS`]. Every char must be
    /// printable ASCII, not a letter, digit or space; duplicates are ignored.
    pub symbols: Option<String>,
    /// Drop the look-alike characters [`LOOKALIKES`] from every class.
    pub exclude_lookalikes: bool,
}

impl Default for PasswordOptions {
    fn default() -> Self {
        Self {
            length: 20,
            classes: CharClasses::default(),
            symbols: None,
            exclude_lookalikes: false,
        }
    }
}

/// Options of [`generate_passphrase`]. `Default`: 5 words, separator `"-"`,
/// no capitalization, no number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PassphraseOptions {
    /// Number of words, 3..=20.
    pub words: usize,
    /// Placed between words; at most 3 characters, none of them a letter, a
    /// digit or a control character (may be empty).
    pub separator: String,
    /// Upper-case the first letter of every word.
    pub capitalize: bool,
    /// Append one random digit 0–9 to one randomly chosen word.
    pub include_number: bool,
}

impl Default for PassphraseOptions {
    fn default() -> Self {
        Self {
            words: 5,
            separator: "-".to_owned(),
            capitalize: false,
            include_number: false,
        }
    }
}

/// A generated secret and its estimated strength. `Debug` shows only the
/// entropy.
pub struct Generated {
    /// The password or passphrase.
    pub value: SecretString,
    /// Estimated entropy in bits (see each generator for the formula).
    pub entropy_bits: f64,
}

impl fmt::Debug for Generated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generated")
            .field("value", &"[REDACTED]")
            .field("entropy_bits", &self.entropy_bits)
            .finish()
    }
}

/// Generates a random password of `opts.length` ASCII characters.
///
/// One character is drawn uniformly from each enabled class, the rest
/// uniformly from the union of enabled classes (after removing look-alikes
/// if asked), then all positions are shuffled (Fisher–Yates, `OsRng`). So the
/// result contains at least one character of every enabled class.
///
/// `entropy_bits = log2(pool_size) * length`, where `pool_size` is the number
/// of distinct allowed characters. This is the entropy of a uniform draw and
/// an upper bound: the class-coverage constraint costs a fraction of a bit
/// (e.g. about 0.2 bits for 20 chars from all four default classes).
///
/// # Errors
/// [`CryptoError::Generator`] if `length` is outside 8..=128, no class is
/// enabled, `length` is below the number of enabled classes, `symbols`
/// contains a letter, digit, space or non-printable / non-ASCII char, or the
/// symbol class is enabled but empty (after look-alike removal).
pub fn generate_password(opts: &PasswordOptions) -> Result<Generated, CryptoError> {
    if !PASSWORD_LENGTH.contains(&opts.length) {
        return Err(CryptoError::Generator(format!(
            "length must be between {} and {} characters, got {}",
            PASSWORD_LENGTH.start(),
            PASSWORD_LENGTH.end(),
            opts.length
        )));
    }
    let symbols = opts.symbols.as_deref().unwrap_or(DEFAULT_SYMBOLS);
    if let Some(bad) = symbols
        .chars()
        .find(|c| !c.is_ascii_graphic() || c.is_ascii_alphanumeric())
    {
        return Err(CryptoError::Generator(format!(
            "symbols may only contain printable ASCII punctuation, found {bad:?}"
        )));
    }
    let c = opts.classes;
    let mut classes: Vec<Vec<u8>> = Vec::with_capacity(4);
    for (enabled, set, name) in [
        (c.lower, LOWER, "lower"),
        (c.upper, UPPER, "upper"),
        (c.digits, DIGITS, "digits"),
        (c.symbols, symbols, "symbols"),
    ] {
        if !enabled {
            continue;
        }
        let mut chars: Vec<u8> = set
            .bytes()
            .filter(|b| !(opts.exclude_lookalikes && LOOKALIKES.as_bytes().contains(b)))
            .collect();
        chars.sort_unstable();
        chars.dedup();
        if chars.is_empty() {
            return Err(CryptoError::Generator(format!(
                "character class {name} is enabled but has no allowed characters"
            )));
        }
        classes.push(chars);
    }
    if classes.is_empty() {
        return Err(CryptoError::Generator(
            "enable at least one character class".to_owned(),
        ));
    }
    if opts.length < classes.len() {
        return Err(CryptoError::Generator(format!(
            "length {} is shorter than the {} enabled classes",
            opts.length,
            classes.len()
        )));
    }
    // Classes are disjoint (symbols are validated non-alphanumeric).
    let pool: Vec<u8> = classes.concat();

    let mut out = Zeroizing::new(Vec::with_capacity(opts.length));
    for class in &classes {
        out.push(*class.choose(&mut OsRng).expect("class is non-empty"));
    }
    while out.len() < opts.length {
        out.push(*pool.choose(&mut OsRng).expect("pool is non-empty"));
    }
    out.shuffle(&mut OsRng);

    Ok(Generated {
        value: secret_from_utf8(&out),
        entropy_bits: log2_usize(pool.len()) * usize_f64(opts.length),
    })
}

/// The EFF large word list (7776 words, <https://www.eff.org/dice>), as
/// bundled by `diceware_wordlists` (`Wordlist::EffLong`).
pub fn eff_large_wordlist() -> &'static [&'static str] {
    Wordlist::EffLong.get_list()
}

/// Generates a passphrase of `opts.words` words drawn uniformly and
/// independently from the EFF large word list (7776 words, 5 dice each;
/// <https://www.eff.org/dice>), joined by `opts.separator`.
///
/// With `capitalize`, each word's first letter is upper-cased; with
/// `include_number`, one uniform digit 0–9 is appended to one uniformly
/// chosen word. Note that four EFF words contain a hyphen (`drop-down`,
/// `felt-tip`, `t-shirt`, `yo-yo`).
///
/// `entropy_bits = words * log2(7776)` (≈ 12.925 bits per word), plus
/// `log2(10)` with `include_number` (the choice of word is not counted, so
/// this is a slight under-estimate).
///
/// # Errors
/// [`CryptoError::Generator`] if `words` is outside 3..=20, or `separator`
/// has more than 3 characters or contains a letter, digit or control
/// character.
pub fn generate_passphrase(opts: &PassphraseOptions) -> Result<Generated, CryptoError> {
    if !PASSPHRASE_WORDS.contains(&opts.words) {
        return Err(CryptoError::Generator(format!(
            "words must be between {} and {}, got {}",
            PASSPHRASE_WORDS.start(),
            PASSPHRASE_WORDS.end(),
            opts.words
        )));
    }
    if opts.separator.chars().count() > MAX_SEPARATOR_CHARS {
        return Err(CryptoError::Generator(format!(
            "separator must be at most {MAX_SEPARATOR_CHARS} characters"
        )));
    }
    if let Some(bad) = opts
        .separator
        .chars()
        .find(|c| c.is_alphanumeric() || c.is_control())
    {
        return Err(CryptoError::Generator(format!(
            "separator may not contain letters, digits or control characters, found {bad:?}"
        )));
    }
    let list = eff_large_wordlist();
    // Indices rather than `&str`s so the choice can be zeroized.
    let picks: Zeroizing<Vec<usize>> = Zeroizing::new(
        (0..opts.words)
            .map(|_| OsRng.gen_range(0..list.len()))
            .collect(),
    );
    let number = opts
        .include_number
        .then(|| (OsRng.gen_range(0..opts.words), OsRng.gen_range(0..10u8)));

    let cap = picks.iter().map(|&w| list[w].len()).sum::<usize>()
        + opts.separator.len() * (opts.words - 1)
        + usize::from(number.is_some());
    let mut out = Zeroizing::new(Vec::with_capacity(cap));
    for (i, &pick) in picks.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(opts.separator.as_bytes());
        }
        let start = out.len();
        out.extend_from_slice(list[pick].as_bytes());
        if opts.capitalize {
            out[start].make_ascii_uppercase();
        }
        if let Some((at, digit)) = number {
            if at == i {
                out.push(b'0' + digit);
            }
        }
    }
    debug_assert_eq!(out.len(), cap);

    let mut entropy = usize_f64(opts.words) * log2_usize(list.len());
    if number.is_some() {
        entropy += 10f64.log2();
    }
    Ok(Generated {
        value: secret_from_utf8(&out),
        entropy_bits: entropy,
    })
}

/// Copies ASCII/UTF-8 bytes into a `SecretString` through one exactly-sized
/// buffer (no reallocation, so no stray copies).
fn secret_from_utf8(bytes: &[u8]) -> SecretString {
    let s = std::str::from_utf8(bytes).expect("generated text is UTF-8");
    let mut owned = String::with_capacity(s.len());
    owned.push_str(s);
    SecretString::from(owned)
}

/// `n as f64` for the small counts used here (all far below 2^52).
fn usize_f64(n: usize) -> f64 {
    u32::try_from(n).map(f64::from).unwrap_or(f64::MAX)
}

fn log2_usize(n: usize) -> f64 {
    usize_f64(n).log2()
}

#[cfg(test)]
#[path = "generator_tests.rs"]
mod tests;
