//! `dateTime` values (RFC 7643 §2.3.5: `xsd:dateTime`, in practice RFC 3339) as instants, read
//! with chrono.

use chrono::{DateTime, FixedOffset};

/// Parses an RFC 3339 §5.6 date-time (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `T` and `Z`
/// in either case) into an instant that orders as time; anything else (no time zone,
/// out-of-range fields) is `None`.
pub(crate) fn parse(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn secs(s: &str) -> Option<(i64, u32)> {
        parse(s).map(|t| (t.timestamp(), t.timestamp_subsec_nanos()))
    }

    #[test]
    fn instants() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(secs("2011-05-13T04:42:34Z"), Some((1_305_261_754, 0)));
        assert_eq!(
            secs("2011-05-13T06:42:34.5+02:00"),
            Some((1_305_261_754, 500_000_000))
        );
        assert_eq!(secs("2000-02-29t00:00:00z"), Some((951_782_400, 0)));
        assert!(parse("2011-05-13T06:42:34+02:00") == parse("2011-05-13T04:42:34Z"));
        assert!(parse("2011-05-13T06:42:35+02:00") > parse("2011-05-13T04:42:34Z"));
        for bad in [
            "2011-05-13T04:42:34",
            "2011-05-13",
            "2011-13-13T04:42:34Z",
            "2001-02-29T00:00:00Z",
            "2011-05-13T04:42:34.Z",
            "2011-05-13T04:42:34Zx",
            "2011-05-13T04:42:34+0200",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
