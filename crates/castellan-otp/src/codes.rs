//! Code generation and verification: RFC 4226 (HOTP), RFC 6238 (TOTP) and Steam Guard.
//!
//! Why not the `totp-rs` crate: it panics for 10 digits (it supports 6 to 9), has no HOTP
//! counter API, and refuses secrets under 128 bits unless its checks are bypassed. The
//! cryptography is done by the RustCrypto `hmac`, `sha1` and `sha2` crates; what remains is
//! RFC 4226 section 5.3 "dynamic truncation", a few lines below.

use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use crate::{Algorithm, Kind, OtpParams};

/// The 26 characters of Steam Guard codes (no vowels, no look-alike digits), as described by
/// the public Steam Guard reimplementations (steamguard-cli, SteamAuth, node-steam-totp).
pub const STEAM_ALPHABET: &[u8; 26] = b"23456789BCDFGHJKMNPQRTVWXY";

/// HMAC of the 8-byte big-endian counter under `key` (RFC 4226 section 5.2, RFC 6238 section 4).
fn hmac_counter(algorithm: Algorithm, key: &[u8], counter: u64) -> Vec<u8> {
    let message = counter.to_be_bytes();
    // HMAC accepts keys of any length (RFC 2104 section 2), so `new_from_slice` cannot fail.
    match algorithm {
        Algorithm::Sha1 => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key");
            mac.update(&message);
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::Sha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
            mac.update(&message);
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::Sha512 => {
            let mut mac = Hmac::<sha2::Sha512>::new_from_slice(key).expect("HMAC takes any key");
            mac.update(&message);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// RFC 4226 section 5.3 dynamic truncation: the low 4 bits of the last byte pick an offset;
/// the 4 bytes there, big-endian, with the top bit cleared, give a 31-bit integer.
fn dynamic_truncation(digest: &[u8]) -> u32 {
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let bytes = [
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ];
    u32::from_be_bytes(bytes)
}

/// The truncated 31-bit value for `counter` (the "Snum" of RFC 4226 section 5.3).
fn truncated(p: &OtpParams, counter: u64) -> u32 {
    dynamic_truncation(&hmac_counter(p.algorithm, p.secret.as_bytes(), counter))
}

/// The code for one counter value, decimal or Steam, per `p.kind`.
fn code_for_counter(p: &OtpParams, counter: u64) -> String {
    let value = truncated(p, counter);
    if p.kind == Kind::Steam {
        steam_code(value)
    } else {
        // Clamped so that hand-built parameters cannot overflow; parsed ones are 6..=10.
        // 10 digits: the value is below 2^31 < 10^10, so it is shown whole, zero-padded.
        let digits = p.digits.clamp(1, 10);
        let code = u64::from(value) % 10u64.pow(digits);
        format!("{code:0width$}", width = digits as usize)
    }
}

/// Steam Guard encoding: five times, take `value mod 26` as an index into
/// [`STEAM_ALPHABET`] and divide by 26 (the algorithm used by the Steam mobile app, as
/// published by steamguard-cli and SteamAuth; always 5 characters).
fn steam_code(mut value: u32) -> String {
    let mut code = String::with_capacity(5);
    for _ in 0..crate::params::STEAM_DIGITS {
        code.push(char::from(STEAM_ALPHABET[(value % 26) as usize]));
        value /= 26;
    }
    code
}

/// The time step containing `unix_time`: `floor(unix_time / period)` (RFC 6238 section 4.2,
/// T0 = 0). A period of 0 is treated as 1 second.
fn time_step(p: &OtpParams, unix_time: u64) -> u64 {
    unix_time / p.period.max(1)
}

/// The HOTP code (RFC 4226) for `counter`, with `p`'s algorithm and digits.
///
/// Output: `p.digits` decimal digits, zero-padded (for a Steam `p`, 5 Steam characters).
/// `p.kind`, `p.period` and `p.counter` are not used.
pub fn hotp(p: &OtpParams, counter: u64) -> String {
    code_for_counter(p, counter)
}

/// The TOTP (RFC 6238) or Steam Guard code valid at `unix_time` (seconds since 1970-01-01 UTC).
///
/// Output: `p.digits` decimal digits, zero-padded, or 5 Steam characters. For HOTP
/// parameters the time is ignored and the code is the one for `p.counter`.
pub fn code_at(p: &OtpParams, unix_time: u64) -> String {
    match p.kind {
        Kind::Hotp => code_for_counter(p, p.counter),
        Kind::Totp | Kind::Steam => code_for_counter(p, time_step(p, unix_time)),
    }
}

/// Seconds until the code valid at `unix_time` expires: 1 to `p.period`.
/// HOTP codes do not expire: 0.
pub fn seconds_remaining(p: &OtpParams, unix_time: u64) -> u64 {
    match p.kind {
        Kind::Hotp => 0,
        Kind::Totp | Kind::Steam => {
            let period = p.period.max(1);
            period - unix_time % period
        }
    }
}

/// Checks a code typed by a person.
///
/// TOTP and Steam: tries the time steps from `step(unix_time) - skew_steps` to
/// `step(unix_time) + skew_steps` (RFC 6238 section 5.2 suggests 1). HOTP: tries counters
/// `p.counter` to `p.counter + skew_steps` (a look-ahead window, RFC 4226 section 7.2).
/// Spaces in `code` are ignored; Steam codes are compared ignoring case.
///
/// Output: the matching time step (HOTP: counter); if several match, the largest. `None` if
/// none matches. Every candidate is computed and compared in constant time, so the timing
/// does not tell which step matched. The caller must refuse a step it has accepted before
/// (RFC 6238 section 5.2) and, for HOTP, store the returned counter + 1.
pub fn verify_totp(p: &OtpParams, code: &str, unix_time: u64, skew_steps: u64) -> Option<u64> {
    let mut typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if p.kind == Kind::Steam {
        typed.make_ascii_uppercase();
    }
    let (first, last) = match p.kind {
        Kind::Hotp => (p.counter, p.counter.saturating_add(skew_steps)),
        Kind::Totp | Kind::Steam => {
            let now = time_step(p, unix_time);
            (
                now.saturating_sub(skew_steps),
                now.saturating_add(skew_steps),
            )
        }
    };
    let mut matched = None;
    for step in first..=last {
        let expected = code_for_counter(p, step);
        if bool::from(expected.as_bytes().ct_eq(typed.as_bytes())) {
            matched = Some(step);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn rfc_sha1(digits: u32) -> OtpParams {
        let mut p = OtpParams::new(
            Kind::Totp,
            Secret::from_bytes(b"12345678901234567890".to_vec()),
        );
        p.digits = digits;
        p
    }

    #[test]
    fn truncation_matches_rfc4226_section_5_4_example() {
        // RFC 4226 section 5.4: this SHA-1 result truncates to 0x50ef7f19 = 1357872921.
        let digest = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(dynamic_truncation(&digest), 0x50ef_7f19);
    }

    #[test]
    fn seconds_remaining_counts_down() {
        let p = rfc_sha1(6);
        assert_eq!(seconds_remaining(&p, 0), 30);
        assert_eq!(seconds_remaining(&p, 59), 1);
        assert_eq!(seconds_remaining(&p, 60), 30);
    }

    #[test]
    fn verify_window_and_spaces() {
        // RFC 6238 Appendix B, SHA1, 8 digits: T=1111111109 → 07081804, step 37037036.
        let p = rfc_sha1(8);
        assert_eq!(
            verify_totp(&p, "0708 1804", 1_111_111_109, 0),
            Some(37_037_036)
        );
        // One step later, accepted only with a skew of 1.
        assert_eq!(verify_totp(&p, "07081804", 1_111_111_139, 0), None);
        assert_eq!(
            verify_totp(&p, "07081804", 1_111_111_139, 1),
            Some(37_037_036)
        );
        assert_eq!(verify_totp(&p, "07081805", 1_111_111_109, 1), None);
        assert_eq!(verify_totp(&p, "", 1_111_111_109, 1), None);
    }

    #[test]
    fn hotp_verify_looks_ahead_from_the_stored_counter() {
        // RFC 4226 Appendix D: counter 3 → 969429.
        let mut p = rfc_sha1(6);
        p.kind = Kind::Hotp;
        p.counter = 1;
        assert_eq!(verify_totp(&p, "969429", 0, 1), None);
        assert_eq!(verify_totp(&p, "969429", 0, 2), Some(3));
        assert_eq!(code_at(&p, 12345), "287082");
        assert_eq!(seconds_remaining(&p, 12345), 0);
    }
}
