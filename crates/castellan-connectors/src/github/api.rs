//! The REST API of one organization as the automation account, for one call: requests with
//! GitHub's headers, JSON answers through the one error table, and pages followed by their
//! `Link: rel="next"` header.
//!
//! - Headers (`Accept: application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28`,
//!   `Authorization: Bearer`): <https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api>,
//!   <https://docs.github.com/en/rest/about-the-rest-api/api-versions>,
//!   <https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api>
//! - Paging: <https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api>

use castellan_core::connector::ConnectorError as E;
use reqwest::header::{HeaderName, ACCEPT};
use reqwest::Method;
use serde_json::Value;

use super::model::{map_error, GhInvitation};
use crate::sdk::http::{segment, Request};
use crate::sdk::paging::{link_param, next_link};
use crate::sdk::rest::json_body;
use crate::sdk::{Endpoint, Reply};

/// GitHub's media type for JSON answers.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.github+json";
/// The REST API version the connector is written against.
pub(crate) const API_VERSION: &str = "2022-11-28";
/// Rows per page: the most GitHub gives.
pub(crate) const PER_PAGE: &str = "100";

type R<T> = Result<T, E>;

/// One page of a listing: its rows and the path (with its query, under the base URL) of the
/// next page, `None` at the end.
pub(crate) type Page = (Vec<Value>, Option<String>);

/// The organization `org` as the account `me` (its login), over `ep`.
#[derive(Debug)]
pub struct Org<'a> {
    pub(crate) ep: Endpoint<'a>,
    pub(crate) org: String,
    pub(crate) me: String,
}

impl Org<'_> {
    /// A request to `path` (under the base URL) with GitHub's media type and API version.
    pub(crate) fn req(&self, method: Method, path: &str) -> Request<'_> {
        self.ep
            .request(method, path)
            .header(ACCEPT, MEDIA_TYPE)
            .header(HeaderName::from_static("x-github-api-version"), API_VERSION)
    }

    /// `/orgs/<org><rest>`.
    pub(crate) fn path(&self, rest: &str) -> String {
        format!("/orgs/{}{rest}", segment(&self.org))
    }

    /// Sends `req` and reads the JSON answer of a success, else the error table's error.
    pub(crate) async fn json(req: Request<'_>, what: &str) -> R<Value> {
        Self::reply(req, what).await.map(|(v, _)| v)
    }

    /// Sends `req`: the JSON answer of a success and the reply (for its headers).
    async fn reply(req: Request<'_>, what: &str) -> R<(Value, Reply)> {
        let r = req.send().await?;
        let headers = r.clone();
        Ok((
            json_body(r, super::APP, what, |r| map_error(r, what))?,
            headers,
        ))
    }

    /// Sends a write answered `204 No Content` on success (or `200`).
    ///
    /// Errors: the error table's.
    pub(crate) async fn no_content(req: Request<'_>, what: &str) -> R<()> {
        let r = req.send().await?;
        match r.status.is_success() {
            true => Ok(()),
            false => Err(map_error(&r, what)),
        }
    }

    /// One page of a listing at `path` (with its query): its rows and the next page's path,
    /// which is `path` with the `page` the `Link` header's `rel="next"` names. Only the page
    /// number is taken from the link: GitHub's links name the organization by its numeric id
    /// (`/organizations/{org_id}/members?page=2`), a route its OpenAPI description does not
    /// have, and the token goes to no address the link could name.
    ///
    /// Errors: the error table's; `AppChanged` when the answer is not an array or the next
    /// link names no page number.
    pub(crate) async fn rows(&self, path: &str, what: &str) -> R<Page> {
        let (body, r) = Self::reply(self.req(Method::GET, path), what).await?;
        let Value::Array(rows) = body else {
            return Err(super::model::changed(what));
        };
        let next = r.header("link").and_then(next_link);
        let next = next.map(|n| with_page_of(path, &n, what)).transpose()?;
        Ok((rows, next))
    }

    /// The first path of a listing at `rest` under the organization, with `query` and the
    /// largest page.
    pub(crate) fn first(&self, rest: &str, query: &[(&str, &str)]) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            q.append_pair(k, v);
        }
        q.append_pair("per_page", PER_PAGE);
        format!("{}?{}", self.path(rest), q.finish())
    }

    /// Every pending invitation of the organization (`GET /orgs/{org}/invitations`, every
    /// page).
    pub(crate) async fn invitations(&self) -> R<Vec<GhInvitation>> {
        let what = "list the organization's invitations";
        let mut path = Some(self.first("/invitations", &[]));
        let mut all = Vec::new();
        while let Some(p) = path {
            let (rows, next) = owners_only(self.rows(&p, what).await)?;
            all.extend(GhInvitation::list(&Value::Array(rows), what)?);
            path = next;
        }
        Ok(all)
    }

    /// The pending invitation sent to `email` (lowercase), if any.
    pub(crate) async fn invitation_for(&self, email: &str) -> R<Option<GhInvitation>> {
        let all = self.invitations().await?;
        Ok(all
            .into_iter()
            .find(|i| i.email().as_deref() == Some(email)))
    }
}

/// A listing of invitations with GitHub's 404 for accounts that are no owner as
/// `InsufficientPermission`.
pub(crate) fn owners_only<T>(r: R<T>) -> R<T> {
    match r {
        Err(E::NotFound(why)) => Err(E::InsufficientPermission(format!(
            "only organization owners see its invitations ({why})"
        ))),
        r => r,
    }
}

/// Whether a member id is a pending invitation's address (logins have no `@`).
pub(crate) fn is_email(id: &str) -> bool {
    id.contains('@')
}

/// `path` (a path with its query) with `page` set to the page number of the link `next`.
///
/// Errors: `AppChanged` when the link names no page number.
fn with_page_of(path: &str, next: &str, what: &str) -> R<String> {
    let page = link_param(next, "page")
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| E::AppChanged(format!("GitHub's next page for '{what}' names no page")))?;
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "page") {
        q.append_pair(&k, &v);
    }
    q.append_pair("page", &page);
    Ok(format!("{route}?{}", q.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{AddressPolicy, HttpClient};
    use std::time::Duration;

    #[test]
    fn next_pages_keep_the_route_and_take_only_the_page_number() {
        let http = HttpClient::new(AddressPolicy::SELF_HOSTED);
        let ep = http
            .endpoint("https://ghe.example/api/v3/", Duration::ZERO)
            .unwrap();
        let org = Org {
            ep,
            org: "acme co".into(),
            me: "bot".into(),
        };
        assert_eq!(org.path("/members"), "/orgs/acme%20co/members");
        assert_eq!(
            org.first("/members", &[("role", "admin")]),
            "/orgs/acme%20co/members?role=admin&per_page=100"
        );
        // GitHub's links name the organization by id; only their page is followed.
        let first = org.first("/members", &[("role", "admin")]);
        let next =
            "https://ghe.example/api/v3/organizations/9919/members?role=admin&per_page=100&page=2";
        assert_eq!(
            with_page_of(&first, next, "x").unwrap(),
            "/orgs/acme%20co/members?role=admin&per_page=100&page=2"
        );
        let third = with_page_of(&first, "/organizations/9919/members?page=3", "x").unwrap();
        assert_eq!(
            third,
            "/orgs/acme%20co/members?role=admin&per_page=100&page=3"
        );
        assert_eq!(
            with_page_of(&third, "https://evil.example/x?page=4", "x").unwrap(),
            "/orgs/acme%20co/members?role=admin&per_page=100&page=4"
        );
        for bad in [
            "https://ghe.example/api/v3/orgs/a",
            "/x?page=two",
            "/x?page=",
        ] {
            assert!(
                matches!(with_page_of(&first, bad, "x"), Err(E::AppChanged(_))),
                "{bad}"
            );
        }
        assert!(is_email("a@b") && !is_email("octocat"));
    }
}
