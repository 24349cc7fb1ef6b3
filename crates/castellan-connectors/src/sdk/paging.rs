//! Paging helpers: page/per-page, offset/limit, RFC 8288 `Link` headers, SCIM
//! `startIndex`/`count` (RFC 7644 §3.4.2.4), and an offset cursor anchored on the previous
//! page's last row, for apps that page by offset over a list that may change between pages.

use tracing::warn;

/// `offset` and `limit` query parameters (e.g. Redmine's REST API).
pub fn offset_query(offset: usize, limit: usize) -> [(&'static str, String); 2] {
    [("offset", offset.to_string()), ("limit", limit.to_string())]
}

/// The offset of the next page after `rows` rows read from `offset`, `None` at the end: when
/// the page was empty, or `total` (when the app reports one) is reached.
pub fn next_offset(offset: usize, rows: usize, total: Option<u64>) -> Option<usize> {
    let next = offset + rows;
    let done = rows == 0 || total.is_some_and(|t| next as u64 >= t);
    (!done).then_some(next)
}

/// A page by number (1-based) and size, e.g. `?page=2&per_page=50`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber {
    /// The page, from 1.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

impl PageNumber {
    /// The first page of `per_page` rows.
    pub fn first(per_page: u32) -> Self {
        Self { page: 1, per_page }
    }

    /// The `page` and `per_page` query parameters.
    pub fn query(&self) -> [(&'static str, String); 2] {
        [
            ("page", self.page.to_string()),
            ("per_page", self.per_page.to_string()),
        ]
    }

    /// The next page after this one returned `rows` rows, `None` at the end: a short page, or
    /// `total` rows (when reported) reached.
    pub fn next(&self, rows: usize, total: Option<u64>) -> Option<Self> {
        let seen = u64::from(self.page) * u64::from(self.per_page);
        let done = rows < self.per_page as usize || total.is_some_and(|t| seen >= t);
        (!done).then_some(Self {
            page: self.page + 1,
            per_page: self.per_page,
        })
    }
}

/// The target of the `rel="next"` link in a `Link` header value (RFC 8288 §3), as written
/// (maybe relative: resolve it against the request URL). `rel` may list several relation
/// types (`rel="next last"`), quoted or not; relation types compare case-insensitively.
pub fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        // The parameters run to the next link (a `<` after a comma outside quotes).
        let mut end = after.len();
        let mut quoted = false;
        for (i, c) in after.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let is_next = after[..end].split(';').any(|p| {
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.trim().to_owned());
        }
        rest = &after[end..];
    }
    None
}

/// A SCIM list page (RFC 7644 §3.4.2.4): `startIndex` is 1-based, `count` the page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimPage {
    /// The 1-based index of the first result.
    pub start_index: u64,
    /// Results per page.
    pub count: u64,
}

impl ScimPage {
    /// The first page of `count` results.
    pub fn first(count: u64) -> Self {
        Self {
            start_index: 1,
            count,
        }
    }

    /// The `startIndex` and `count` query parameters.
    pub fn query(&self) -> [(&'static str, String); 2] {
        [
            ("startIndex", self.start_index.to_string()),
            ("count", self.count.to_string()),
        ]
    }

    /// The next page after a response with `items_per_page` resources and `total_results`,
    /// `None` at the end (an empty page, or past `totalResults`).
    pub fn next(&self, items_per_page: u64, total_results: u64) -> Option<Self> {
        let start_index = self.start_index + items_per_page;
        (items_per_page > 0 && start_index <= total_results).then_some(Self {
            start_index,
            count: self.count,
        })
    }
}

/// An offset cursor anchored on the id of the previous page's last row, for lists ordered by
/// id and paged by offset that may change between pages. The next page is read from one row
/// earlier ([`AnchoredOffset::read_from`]), and the rows up to the anchor are skipped
/// ([`AnchoredOffset::skip`]): rows created or removed before the cursor meanwhile shift the
/// window, and nobody is listed twice or (while they stay) missed.
///
/// Encoded as `<offset>:<anchor>` (or `<offset>` without an anchor); connectors wrap it in
/// their own cursors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnchoredOffset {
    /// The offset of the first row not yet listed.
    pub offset: usize,
    /// The id of the last row listed, `None` on a first page.
    pub anchor: Option<String>,
}

impl AnchoredOffset {
    /// The offset to read from: one row before [`Self::offset`] with an anchor.
    pub fn read_from(&self) -> usize {
        match self.anchor {
            Some(_) => self.offset.saturating_sub(1),
            None => self.offset,
        }
    }

    /// How many leading rows of a page read from [`Self::read_from`] were listed already: up to
    /// and including the anchor. When the anchor is not in the page (it moved more than a page,
    /// or is gone), the offset is trusted and the one re-read row is skipped.
    pub fn skip<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> usize {
        let Some(anchor) = &self.anchor else {
            return 0;
        };
        let ids: Vec<&str> = ids.into_iter().collect();
        match ids.iter().position(|id| id == anchor) {
            Some(i) => i + 1,
            None => {
                warn!(%anchor, "the previous page's last row is not where expected");
                1.min(ids.len())
            }
        }
    }

    /// The cursor after `rows` rows read from `from`, the last with id `last`.
    pub fn after(from: usize, rows: usize, last: &str) -> Self {
        Self {
            offset: from + rows,
            anchor: Some(last.to_owned()),
        }
    }

    /// `<offset>[:<anchor>]`.
    pub fn encode(&self) -> String {
        match &self.anchor {
            Some(a) => format!("{}:{a}", self.offset),
            None => self.offset.to_string(),
        }
    }

    /// The cursor [`Self::encode`] made; `None` when malformed (an empty anchor, or an anchor
    /// at offset 0). An anchor may contain `:`.
    pub fn parse(raw: &str) -> Option<Self> {
        let (offset, anchor) = match raw.split_once(':') {
            Some((o, a)) => (o, Some(a)),
            None => (raw, None),
        };
        let offset: usize = offset.parse().ok()?;
        if anchor.is_some_and(|a| a.is_empty() || offset == 0) {
            return None;
        }
        Some(Self {
            offset,
            anchor: anchor.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_pages_end() {
        assert_eq!(next_offset(0, 100, Some(250)), Some(100));
        assert_eq!(next_offset(200, 50, Some(250)), None);
        assert_eq!(next_offset(0, 0, None), None);
        assert_eq!(next_offset(10, 5, None), Some(15));
        assert_eq!(offset_query(5, 10)[0], ("offset", "5".to_owned()));
        let p = PageNumber::first(50);
        assert_eq!(p.query()[1], ("per_page", "50".to_owned()));
        assert_eq!(p.next(50, None).map(|p| p.page), Some(2));
        assert_eq!(p.next(49, None), None);
        assert_eq!(p.next(50, Some(50)), None);
    }

    #[test]
    fn next_links_are_found() {
        let h =
            r#"<https://api.x/users?page=3>; rel="next", <https://api.x/users?page=9>; rel="last""#;
        assert_eq!(next_link(h).as_deref(), Some("https://api.x/users?page=3"));
        let h = r#"</u?page=1>; rel="prev first"; title="a, b", </u?page=3>; REL="Next last""#;
        assert_eq!(next_link(h).as_deref(), Some("/u?page=3"));
        assert_eq!(
            next_link("<https://x/?a=1,2>; rel=next").as_deref(),
            Some("https://x/?a=1,2")
        );
        assert_eq!(next_link(r#"<https://x/>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("<broken; rel=next"), None);
    }

    #[test]
    fn scim_pages_follow_rfc_7644() {
        let p = ScimPage::first(100);
        assert_eq!(p.query()[0], ("startIndex", "1".to_owned()));
        assert_eq!(
            p.next(100, 250),
            Some(ScimPage {
                start_index: 101,
                count: 100
            })
        );
        let last = ScimPage {
            start_index: 201,
            count: 100,
        };
        assert_eq!(last.next(50, 250), None);
        assert_eq!(p.next(0, 250), None);
        assert_eq!(p.next(100, 100), None);
    }

    #[test]
    fn anchored_offsets_skip_what_was_listed() {
        let first = AnchoredOffset::default();
        assert_eq!((first.read_from(), first.skip(["a", "b"])), (0, 0));
        let c = AnchoredOffset::after(0, 2, "b");
        assert_eq!(c.read_from(), 1);
        // Nothing changed: the page starts with the anchor.
        assert_eq!(c.skip(["b", "c", "d"]), 1);
        // Two rows were added before it: the anchor moved down.
        assert_eq!(c.skip(["a0", "a1", "b", "c"]), 3);
        // It is gone: trust the offset.
        assert_eq!(c.skip(["c", "d"]), 1);
        assert_eq!(c.skip([]), 0);
        for c in [c, first, AnchoredOffset::after(100, 1, "@a:b:8448")] {
            assert_eq!(AnchoredOffset::parse(&c.encode()), Some(c));
        }
        for bad in ["", "x", "0:a", "5:", "-1"] {
            assert_eq!(AnchoredOffset::parse(bad), None, "{bad}");
        }
    }
}
