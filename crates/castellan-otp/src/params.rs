//! What an authenticator needs to know about one account: kind, secret, algorithm, digits,
//! period, counter, and the names shown to people.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{OtpError, Secret};

/// The HMAC hash function (RFC 6238 section 1.2 allows SHA-1, SHA-256 and SHA-512).
///
/// Serialized in lower case (`"sha1"`); displayed as the Key URI Format writes it (`"SHA1"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// HMAC-SHA-1, the default of RFC 4226 and of the Key URI Format.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        })
    }
}

impl FromStr for Algorithm {
    type Err = OtpError;

    /// Parses `SHA1`, `SHA256` or `SHA512` in any case (also `SHA-1` etc.).
    /// Anything else, MD5 included, is [`OtpError::UnsupportedAlgorithm`] naming it in upper case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        match upper.replace('-', "").as_str() {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(OtpError::UnsupportedAlgorithm(upper)),
        }
    }
}

/// Which kind of one-time password.
///
/// Serialized and displayed in lower case, as in the URI (`otpauth://totp/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Time-based, RFC 6238: the counter is `unix_time / period`.
    #[default]
    Totp,
    /// Counter-based, RFC 4226: the caller stores and advances the counter.
    Hotp,
    /// Steam Guard: TOTP with HMAC-SHA1 and 30 s, shown as 5 characters from
    /// `23456789BCDFGHJKMNPQRTVWXY` instead of decimal digits.
    Steam,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Totp => "totp",
            Kind::Hotp => "hotp",
            Kind::Steam => "steam",
        })
    }
}

/// Code length of Steam Guard codes, in characters.
pub const STEAM_DIGITS: u32 = 5;
/// Default time step in seconds (RFC 6238 section 5.2 recommends 30).
pub const DEFAULT_PERIOD: u64 = 30;
/// Default number of decimal digits (RFC 4226 section 5.3).
pub const DEFAULT_DIGITS: u32 = 6;

/// Everything an authenticator needs for one account.
///
/// Values produced by [`crate::parse_uri`] and [`crate::parse_migration`] are valid
/// ([`OtpParams::validate`]) and normalized: `counter` is 0 unless `kind` is HOTP, names are
/// trimmed and empty names are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpParams {
    /// TOTP, HOTP or Steam.
    pub kind: Kind,
    /// The shared secret (bytes; `Debug` is redacted).
    pub secret: Secret,
    /// HMAC hash; always SHA1 for Steam.
    pub algorithm: Algorithm,
    /// Code length: 6 to 10 decimal digits for TOTP and HOTP; 5 characters for Steam.
    pub digits: u32,
    /// Time step in seconds for TOTP and Steam (default 30). Ignored for HOTP.
    pub period: u64,
    /// The next HOTP counter value. 0 and ignored for TOTP and Steam.
    pub counter: u64,
    /// The `issuer` parameter of the URI (the export's issuer field).
    pub issuer: Option<String>,
    /// The issuer prefix of the label, before the first `:`.
    pub label_issuer: Option<String>,
    /// The account name: the label after the first `:`, or the whole label.
    pub account_name: Option<String>,
}

impl OtpParams {
    /// Parameters with the defaults of the Key URI Format for `kind`: SHA1, 30 seconds,
    /// counter 0, no names, and 6 digits (5 characters for Steam).
    pub fn new(kind: Kind, secret: Secret) -> Self {
        OtpParams {
            kind,
            secret,
            algorithm: Algorithm::Sha1,
            digits: if kind == Kind::Steam {
                STEAM_DIGITS
            } else {
                DEFAULT_DIGITS
            },
            period: DEFAULT_PERIOD,
            counter: 0,
            issuer: None,
            label_issuer: None,
            account_name: None,
        }
    }

    /// The issuer to show: the `issuer` parameter, else the label's prefix.
    pub fn display_issuer(&self) -> Option<&str> {
        self.issuer.as_deref().or(self.label_issuer.as_deref())
    }

    /// Checks the rules that the parsers enforce, for parameters built by hand.
    ///
    /// Errors: [`OtpError::EmptySecret`]; [`OtpError::InvalidDigits`] unless 6 to 10 (TOTP,
    /// HOTP); [`OtpError::SteamDigits`] unless 5 and [`OtpError::SteamAlgorithm`] unless SHA1
    /// (Steam); [`OtpError::InvalidPeriod`] for 0 seconds or more than [`MAX_PERIOD_SECS`].
    pub fn validate(&self) -> Result<(), OtpError> {
        if self.secret.as_bytes().is_empty() {
            return Err(OtpError::EmptySecret);
        }
        if self.kind == Kind::Steam {
            if self.digits != STEAM_DIGITS {
                return Err(OtpError::SteamDigits(self.digits.to_string()));
            }
            if self.algorithm != Algorithm::Sha1 {
                return Err(OtpError::SteamAlgorithm(self.algorithm.to_string()));
            }
        } else if !(6..=10).contains(&self.digits) {
            return Err(OtpError::InvalidDigits(self.digits.to_string()));
        }
        if self.period == 0 || self.period > MAX_PERIOD_SECS {
            return Err(OtpError::InvalidPeriod(self.period.to_string()));
        }
        Ok(())
    }
}

/// The longest time step accepted, in seconds (a day). RFC 6238 §5.2 recommends 30 s; a
/// longer step is legal, but one of years would make a code that never changes.
pub const MAX_PERIOD_SECS: u64 = 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::Sha256.to_string(), "SHA256");
        assert_eq!("sha512".parse::<Algorithm>().unwrap(), Algorithm::Sha512);
        assert_eq!("SHA-1".parse::<Algorithm>().unwrap(), Algorithm::Sha1);
        assert_eq!(
            "md5".parse::<Algorithm>().unwrap_err().to_string(),
            "unsupported algorithm MD5"
        );
        assert_eq!(serde_json_str(&Algorithm::Sha1), "\"sha1\"");
        assert_eq!(Kind::Steam.to_string(), "steam");
    }

    fn serde_json_str(a: &Algorithm) -> String {
        serde_json::to_string(a).unwrap()
    }

    #[test]
    fn debug_of_params_hides_the_secret() {
        let p = OtpParams::new(
            Kind::Totp,
            Secret::from_bytes(b"12345678901234567890".to_vec()),
        );
        let shown = format!("{p:?}");
        assert!(shown.contains("<redacted, 160 bits>"), "{shown}");
        assert!(
            !shown.contains("GEZDGNBV") && !shown.contains("49, 50"),
            "{shown}"
        );
    }

    #[test]
    fn validate_rules() {
        let secret = Secret::from_bytes(vec![1; 20]);
        let mut p = OtpParams::new(Kind::Totp, secret.clone());
        assert_eq!(p.validate(), Ok(()));
        p.digits = 11;
        assert!(matches!(p.validate(), Err(OtpError::InvalidDigits(_))));
        p.digits = 10;
        p.period = 0;
        assert!(matches!(p.validate(), Err(OtpError::InvalidPeriod(_))));
        p.period = MAX_PERIOD_SECS;
        assert_eq!(p.validate(), Ok(()));
        p.period = MAX_PERIOD_SECS + 1;
        assert!(matches!(p.validate(), Err(OtpError::InvalidPeriod(_))));
        let mut s = OtpParams::new(Kind::Steam, secret);
        assert_eq!(s.digits, 5);
        assert_eq!(s.validate(), Ok(()));
        s.algorithm = Algorithm::Sha256;
        assert!(matches!(s.validate(), Err(OtpError::SteamAlgorithm(_))));
        let empty = OtpParams::new(Kind::Hotp, Secret::from_bytes(Vec::new()));
        assert_eq!(empty.validate(), Err(OtpError::EmptySecret));
    }
}
