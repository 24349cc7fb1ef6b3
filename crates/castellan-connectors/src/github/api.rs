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
use crate::sdk::paging::next_link;
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

    /// One page of a listing at `path` (with its query): its rows and the next page's path, from
    /// the `Link` header.
    ///
    /// Errors: the error table's; `AppChanged` when the answer is not an array or the next
    /// link leaves the base URL.
    pub(crate) async fn rows(&self, path: &str, what: &str) -> R<Page> {
        let (body, r) = Self::reply(self.req(Method::GET, path), what).await?;
        let Value::Array(rows) = body else {
            return Err(super::model::changed(what));
        };
        let next = r.header("link").and_then(next_link);
        let next = next.map(|n| self.under_base(&n, what)).transpose()?;
        Ok((rows, next))
    }

    /// The path and query of a link, which must be under the base URL (the token is sent to no
    /// other address). Errors: `AppChanged` for a link elsewhere.
    fn under_base(&self, link: &str, what: &str) -> R<String> {
        let base = url::Url::parse(&format!("{}/", self.ep.base())).map_err(|_| changed(what))?;
        let url = base.join(link).map_err(|_| changed(what))?;
        let rest = url.as_str().strip_prefix(self.ep.base().as_str());
        match rest {
            Some(rest) if rest.starts_with('/') => Ok(rest.to_owned()),
            _ => Err(E::AppChanged(format!(
                "GitHub's next page for '{what}' is not under the base URL"
            ))),
        }
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

fn changed(what: &str) -> E {
    super::model::changed(what)
}

/// Whether a member id is a pending invitation's address (logins have no `@`).
pub(crate) fn is_email(id: &str) -> bool {
    id.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{AddressPolicy, HttpClient};
    use std::time::Duration;

    #[test]
    fn next_links_stay_under_the_base_url() {
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
        let ok = org.under_base("https://ghe.example/api/v3/orgs/a/members?page=2", "x");
        assert_eq!(ok.unwrap(), "/orgs/a/members?page=2");
        assert_eq!(
            org.under_base("/api/v3/orgs/a/members?page=3", "x")
                .unwrap(),
            "/orgs/a/members?page=3"
        );
        for bad in [
            "https://evil.example/api/v3/orgs/a",
            "https://ghe.example/api/v30/x",
        ] {
            assert!(
                matches!(org.under_base(bad, "x"), Err(E::AppChanged(_))),
                "{bad}"
            );
        }
        assert!(is_email("a@b") && !is_email("octocat"));
    }
}
