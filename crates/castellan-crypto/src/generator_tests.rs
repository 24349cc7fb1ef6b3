//! Tests of the password / passphrase generator (`generator.rs`).

use std::collections::HashSet;

use secrecy::ExposeSecret;

use super::*;

fn classes(lower: bool, upper: bool, digits: bool, symbols: bool) -> CharClasses {
    CharClasses {
        lower,
        upper,
        digits,
        symbols,
    }
}

fn check_password(opts: &PasswordOptions, pw: &str) {
    let symbols = opts.symbols.as_deref().unwrap_or(DEFAULT_SYMBOLS);
    assert_eq!(pw.len(), opts.length, "{pw}");
    assert_eq!(pw.chars().count(), opts.length);
    let c = opts.classes;
    assert_eq!(
        c.lower,
        pw.chars().any(|ch| ch.is_ascii_lowercase()),
        "{pw}"
    );
    assert_eq!(
        c.upper,
        pw.chars().any(|ch| ch.is_ascii_uppercase()),
        "{pw}"
    );
    assert_eq!(c.digits, pw.chars().any(|ch| ch.is_ascii_digit()), "{pw}");
    assert_eq!(c.symbols, pw.chars().any(|ch| symbols.contains(ch)), "{pw}");
    for ch in pw.chars() {
        assert!(
            ch.is_ascii_alphanumeric() || symbols.contains(ch),
            "{ch:?} not allowed in {pw}"
        );
        if opts.exclude_lookalikes {
            assert!(!LOOKALIKES.contains(ch), "look-alike {ch:?} in {pw}");
        }
    }
}

#[test]
fn passwords_respect_options() {
    let cases = [
        PasswordOptions::default(),
        PasswordOptions {
            length: 8,
            ..Default::default()
        },
        PasswordOptions {
            length: 8,
            exclude_lookalikes: true,
            ..Default::default()
        },
        PasswordOptions {
            length: 12,
            classes: classes(true, false, true, true),
            symbols: Some("-_.".into()),
            exclude_lookalikes: false,
        },
        PasswordOptions {
            length: 10,
            classes: classes(false, true, true, true),
            symbols: Some("|!`".into()),
            exclude_lookalikes: true,
        },
        PasswordOptions {
            length: 128,
            classes: classes(false, false, true, false),
            symbols: None,
            exclude_lookalikes: true,
        },
    ];
    for opts in &cases {
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let g = generate_password(opts).unwrap();
            let pw = g.value.expose_secret();
            check_password(opts, pw);
            seen.insert(pw.to_owned());
        }
        // Random: essentially no repeats.
        assert!(seen.len() > 1990, "{} distinct of 2000", seen.len());
    }
}

#[test]
fn every_pool_char_can_appear() {
    let opts = PasswordOptions {
        length: 64,
        exclude_lookalikes: true,
        ..Default::default()
    };
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.extend(
            generate_password(&opts)
                .unwrap()
                .value
                .expose_secret()
                .chars(),
        );
    }
    let expected: HashSet<char> = format!("{LOWER}{UPPER}{DIGITS}{DEFAULT_SYMBOLS}")
        .chars()
        .filter(|c| !LOOKALIKES.contains(*c))
        .collect();
    assert_eq!(seen, expected);
}

#[test]
fn password_entropy() {
    let g = generate_password(&PasswordOptions::default()).unwrap();
    let pool = 26.0 + 26.0 + 10.0 + 28.0;
    assert!((g.entropy_bits - 20.0 * f64::log2(pool)).abs() < 1e-9);
    let g = generate_password(&PasswordOptions {
        length: 10,
        classes: classes(false, false, true, false),
        symbols: None,
        exclude_lookalikes: true,
    })
    .unwrap();
    assert!((g.entropy_bits - 10.0 * 3.0).abs() < 1e-9); // 8 digits left
                                                         // Duplicate symbols do not inflate the pool.
    let g = generate_password(&PasswordOptions {
        length: 10,
        classes: classes(false, false, false, true),
        symbols: Some("!!!!#".into()),
        exclude_lookalikes: false,
    })
    .unwrap();
    assert!((g.entropy_bits - 10.0).abs() < 1e-9);
}

#[test]
fn password_option_errors() {
    let bad = |opts: PasswordOptions| {
        assert!(
            matches!(generate_password(&opts), Err(CryptoError::Generator(_))),
            "{opts:?} accepted"
        );
    };
    bad(PasswordOptions {
        length: 7,
        ..Default::default()
    });
    bad(PasswordOptions {
        length: 129,
        ..Default::default()
    });
    bad(PasswordOptions {
        length: 0,
        ..Default::default()
    });
    bad(PasswordOptions {
        classes: classes(false, false, false, false),
        ..Default::default()
    });
    for symbols in ["ab!", "1!", "! ", "!\t", "!é", ""] {
        bad(PasswordOptions {
            symbols: Some(symbols.into()),
            ..Default::default()
        });
    }
    bad(PasswordOptions {
        symbols: Some("|`'\"".into()),
        exclude_lookalikes: true,
        ..Default::default()
    });
    for length in [8, 128] {
        assert!(generate_password(&PasswordOptions {
            length,
            ..Default::default()
        })
        .is_ok());
    }
}

/// Can `s` be split into exactly `n` EFF words joined by `sep`? (Some EFF
/// words contain `-`, so a plain split is not enough.)
fn segments_into(s: &str, sep: &str, n: usize, words: &HashSet<&str>) -> bool {
    if n == 1 {
        return words.contains(s);
    }
    s.match_indices(sep).any(|(i, _)| {
        words.contains(&s[..i]) && segments_into(&s[i + sep.len()..], sep, n - 1, words)
    })
}

#[test]
fn passphrases_use_eff_words() {
    let list = eff_large_wordlist();
    assert_eq!(list.len(), 7776);
    assert_eq!(list[0], "abacus");
    assert_eq!(list[7775], "zoom");
    let words: HashSet<&str> = list.iter().copied().collect();
    assert_eq!(words.len(), 7776);

    for n in [3, 5, 20] {
        let opts = PassphraseOptions {
            words: n,
            ..Default::default()
        };
        for _ in 0..300 {
            let g = generate_passphrase(&opts).unwrap();
            let p = g.value.expose_secret();
            assert!(segments_into(p, "-", n, &words), "{p}");
            assert!((g.entropy_bits - n as f64 * 7776f64.log2()).abs() < 1e-9);
        }
    }
    // A separator that no word contains: a plain split must give the words.
    let opts = PassphraseOptions {
        words: 6,
        separator: " . ".into(),
        ..Default::default()
    };
    for _ in 0..300 {
        let g = generate_passphrase(&opts).unwrap();
        let parts: Vec<&str> = g.value.expose_secret().split(" . ").collect();
        assert_eq!(parts.len(), 6);
        assert!(parts.iter().all(|w| words.contains(w)), "{parts:?}");
    }
}

#[test]
fn passphrase_capitalize_and_number() {
    let words: HashSet<&str> = eff_large_wordlist().iter().copied().collect();
    let opts = PassphraseOptions {
        words: 4,
        separator: "_".into(),
        capitalize: true,
        include_number: true,
    };
    let mut positions = HashSet::new();
    for _ in 0..500 {
        let g = generate_passphrase(&opts).unwrap();
        let p = g.value.expose_secret();
        let parts: Vec<&str> = p.split('_').collect();
        assert_eq!(parts.len(), 4, "{p}");
        assert_eq!(p.chars().filter(char::is_ascii_digit).count(), 1, "{p}");
        for (i, part) in parts.iter().enumerate() {
            assert!(part.starts_with(|c: char| c.is_ascii_uppercase()), "{p}");
            let base = part.trim_end_matches(|c: char| c.is_ascii_digit());
            if base.len() != part.len() {
                positions.insert(i);
            }
            assert!(words.contains(base.to_ascii_lowercase().as_str()), "{p}");
        }
        let expected = 4.0 * 7776f64.log2() + 10f64.log2();
        assert!((g.entropy_bits - expected).abs() < 1e-9);
    }
    assert_eq!(positions.len(), 4, "number lands on every word position");
}

#[test]
fn passphrase_option_errors() {
    let bad = |opts: PassphraseOptions| {
        assert!(
            matches!(generate_passphrase(&opts), Err(CryptoError::Generator(_))),
            "{opts:?} accepted"
        );
    };
    for words in [0, 2, 21] {
        bad(PassphraseOptions {
            words,
            ..Default::default()
        });
    }
    for separator in ["----", "a", "1", "\n"] {
        bad(PassphraseOptions {
            separator: separator.into(),
            ..Default::default()
        });
    }
    for separator in ["", " ", "-+-", "·•·"] {
        let g = generate_passphrase(&PassphraseOptions {
            separator: separator.into(),
            ..Default::default()
        })
        .unwrap();
        assert!(g.value.expose_secret().len() >= 5 * 3);
    }
}

#[test]
fn defaults() {
    let p = PasswordOptions::default();
    assert_eq!(p.length, 20);
    assert_eq!(p.classes, classes(true, true, true, true));
    assert_eq!(p.symbols, None);
    assert!(!p.exclude_lookalikes);
    let q = PassphraseOptions::default();
    assert_eq!((q.words, q.separator.as_str()), (5, "-"));
    assert!(!q.capitalize && !q.include_number);
}

#[test]
fn debug_is_redacted() {
    let g = generate_password(&PasswordOptions::default()).unwrap();
    let dbg = format!("{g:?}");
    assert!(!dbg.contains(g.value.expose_secret()));
    assert!(dbg.contains("REDACTED") && dbg.contains("entropy_bits"));
    let g = generate_passphrase(&PassphraseOptions::default()).unwrap();
    let dbg = format!("{g:?}");
    for word in g.value.expose_secret().split('-') {
        assert!(!dbg.contains(word), "{dbg}");
    }
}
