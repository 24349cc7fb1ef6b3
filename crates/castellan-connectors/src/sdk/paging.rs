//! Paging helpers: page/per-page, offset/limit, RFC 8288 `Link` headers (and a parameter of
//! their targets), SCIM `startIndex`/`count` (RFC 7644 §3.4.2.4), an offset cursor anchored on
//! the previous page's last row, for apps that page by offset over a list that may change
//! between pages (with [`growing_ids_page`] for lists ordered by ids that only grow), and a search
//! through offset pages ([`first_in_pages`]).

use std::future::Future;

use castellan_core::connector::{AppMember, ConnectorError, MemberPage};
use tracing::warn;

/// Rows read from an offset, and the total the app reports (e.g. a `X-Total-Count` header).
pub type Rows<T> = Result<(Vec<T>, Option<usize>), ConnectorError>;

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

/// The value of the query parameter `name` in a link, absolute or relative (e.g. the `page` of
/// a `rel="next"` link from [`next_link`], for APIs whose next page is a page number): the
/// first one, decoded; `None` without it or for a link that is no URL reference.
pub fn link_param(link: &str, name: &str) -> Option<String> {
    let base = url::Url::parse("http://link.invalid/").ok()?;
    let url = base.join(link.trim()).ok()?;
    let value = url.query_pairs().find(|(k, _)| k == name)?.1;
    Some(value.into_owned())
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

    /// The cursor of a listing call: the first page without `raw`, else the cursor
    /// [`Self::encode`] made, whose anchor (`None` without one) `anchor_ok` accepts.
    ///
    /// Errors: `Configuration` ("not a <app> member cursor") for anything else.
    pub fn from_cursor(
        raw: Option<&str>,
        app: &str,
        anchor_ok: impl Fn(Option<&str>) -> bool,
    ) -> Result<Self, ConnectorError> {
        let Some(raw) = raw else {
            return Ok(Self::default());
        };
        Self::parse(raw)
            .filter(|c| anchor_ok(c.anchor.as_deref()))
            .ok_or_else(|| {
                ConnectorError::Configuration(format!("not a {app} member cursor: {raw:?}"))
            })
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

/// One page of a list ordered by ids that only grow (a new row comes last), paged by offset
/// with `size` rows a page, from the cursor `at` (its anchor: the previous page's last id):
/// the rows not listed yet and the next cursor (`None` at the end). `fetch(offset)` reads the
/// rows from `offset` and the total when the app reports one.
///
/// The rows listed already are those up to the anchor. The page is read from one row before
/// the cursor; when even its first row comes after the anchor, rows deleted meanwhile have
/// shifted others before the window, so it is read again a page further back: nobody is
/// missed, however many were deleted, and nobody is listed twice.
///
/// Errors: `fetch`'s.
pub async fn growing_ids_page<T, F, Fut>(
    at: &AnchoredOffset,
    size: usize,
    id: impl Fn(&T) -> u64,
    mut fetch: F,
) -> Result<(Vec<T>, Option<AnchoredOffset>), ConnectorError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Rows<T>>,
{
    let anchor: Option<u64> = at.anchor.as_deref().and_then(|a| a.parse().ok());
    let mut start = at.read_from();
    let (rows, total) = loop {
        let (rows, total) = fetch(start).await?;
        let behind = |a| rows.first().is_some_and(|r| id(r) > a);
        if start == 0 || !anchor.is_some_and(behind) {
            break (rows, total);
        }
        start = start.saturating_sub(size);
    };
    let more = total.map_or(rows.len() == size, |t| start + rows.len() < t);
    let last = rows.last().filter(|_| more);
    let last = last.map(|l| id(l).max(anchor.unwrap_or(0)).to_string());
    let next = last.map(|l| AnchoredOffset::after(start, rows.len(), &l));
    let fresh = |r: &T| anchor.is_none_or(|a| id(r) > a);
    Ok((rows.into_iter().filter(fresh).collect(), next))
}

/// One page of members of a list ordered by ids that only grow, `size` rows a page by offset
/// ([`growing_ids_page`]), from a listing's `cursor` (`None`: the first page; else the
/// [`AnchoredOffset`] the previous page gave, with a numeric anchor): the members, as `member`
/// makes them of rows, and the next cursor. `fetch(offset)` reads the rows from `offset` and the
/// total when the app reports one; `id` is a row's id.
///
/// Errors: `Configuration` for a cursor that is not one of `app`'s; `fetch`'s.
pub async fn growing_ids_members<T, F, Fut>(
    cursor: Option<&str>,
    app: &str,
    size: usize,
    id: impl Fn(&T) -> u64,
    member: impl Fn(T) -> AppMember,
    fetch: F,
) -> Result<MemberPage, ConnectorError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Rows<T>>,
{
    let numeric = |a: Option<&str>| a.is_none_or(|a| a.parse::<u64>().is_ok());
    let at = AnchoredOffset::from_cursor(cursor, app, numeric)?;
    let (rows, next) = growing_ids_page(&at, size, id, fetch).await?;
    let members = rows.into_iter().map(member).collect();
    let next = next.map(|n| n.encode());
    Ok(MemberPage { members, next })
}

/// The first row for which `hit` holds, reading pages of `size` rows by offset with
/// `fetch(offset)` until a short page or the reported total: for apps whose search returns
/// more than the row asked for (a search in several columns).
///
/// Errors: `fetch`'s.
pub async fn first_in_pages<T, F, Fut>(
    size: usize,
    mut fetch: F,
    hit: impl Fn(&T) -> bool,
) -> Result<Option<T>, ConnectorError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Rows<T>>,
{
    let mut offset = 0;
    loop {
        let (rows, total) = fetch(offset).await?;
        let n = rows.len();
        if let Some(r) = rows.into_iter().find(&hit) {
            return Ok(Some(r));
        }
        offset += n;
        if n < size || total.is_some_and(|t| offset >= t) {
            return Ok(None);
        }
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
        let next = "https://acme.freshdesk.com/api/v2/agents?per_page=100&page=3";
        assert_eq!(link_param(next, "page").as_deref(), Some("3"));
        assert_eq!(link_param("/u?a=1&page=%32", "page").as_deref(), Some("2"));
        assert_eq!(link_param("/u?a=1", "page"), None);
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

    /// The rows of `ids` from `offset`, `size` a page, with their total.
    fn rows(ids: &[u64], offset: usize, size: usize) -> Rows<u64> {
        let page = ids.iter().skip(offset).take(size).copied().collect();
        Ok((page, Some(ids.len())))
    }

    #[tokio::test]
    async fn growing_ids_pages_survive_deletions() {
        let mut ids: Vec<u64> = (1..=10).collect();
        let id = |r: &u64| *r;
        let read = |ids: Vec<u64>| move |o| std::future::ready(rows(&ids, o, 4));
        let (first, next) = growing_ids_page(&AnchoredOffset::default(), 4, id, read(ids.clone()))
            .await
            .unwrap();
        assert_eq!(first, [1, 2, 3, 4]);
        let next = next.unwrap();
        assert_eq!(next.encode(), "4:4");
        // Three users listed already and one not yet are deleted, one is added: nobody is
        // missed or listed twice.
        ids.retain(|i| *i > 4 || *i == 1);
        ids.retain(|i| *i != 5);
        ids.push(11);
        let mut seen = first;
        let mut at = next;
        loop {
            let (page, next) = growing_ids_page(&at, 4, id, read(ids.clone()))
                .await
                .unwrap();
            seen.extend(page);
            match next {
                Some(n) => at = n,
                None => break,
            }
        }
        assert_eq!(seen, [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
        let cursor = AnchoredOffset::from_cursor(Some("4:4"), "App", |a| a.is_some());
        assert_eq!(cursor.unwrap(), AnchoredOffset::after(0, 4, "4"));
        assert_eq!(
            AnchoredOffset::from_cursor(None, "App", |_| false).unwrap(),
            AnchoredOffset::default()
        );
        let bad = AnchoredOffset::from_cursor(Some("4:x"), "App", |a| a == Some("4"));
        assert!(matches!(bad, Err(ConnectorError::Configuration(m)) if m.contains("App member")));
    }

    #[tokio::test]
    async fn a_search_reads_pages_until_a_hit_or_the_end() {
        let ids: Vec<u64> = (1..=10).collect();
        let read = |o| std::future::ready(rows(&ids, o, 4));
        assert_eq!(first_in_pages(4, read, |r| *r == 9).await.unwrap(), Some(9));
        assert_eq!(first_in_pages(4, read, |r| *r == 99).await.unwrap(), None);
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
