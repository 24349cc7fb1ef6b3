//! The SCIM calls the connector makes (RFC 7644), on one endpoint with the API token, and what
//! tells one service provider from another where RFC 7644 leaves room ([`Quirks`]): the `scim`
//! connector speaks to any provider with [`RFC`]; an app's own connector built on SCIM (Slack)
//! gives its own.

use castellan_core::connector::ConnectorError;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tracing::debug;

use super::model::{
    for_put, new_user, parse_cursor, Deactivate, Roles, RolesFrom, ScimGroup, ScimUser, Settings,
};
use super::{APP, GROUP_PAGE_SIZE, PAGE_SIZE};
use crate::sdk::errors::unexpected;
use crate::sdk::http::segment;
use crate::sdk::paging::{next_offset, AnchoredOffset, ScimPage};
use crate::sdk::scim::{
    eq_filter, patch_body, patch_op, scim_error, scim_json, scim_type, ListPage, ProviderConfig,
    ScimRequest,
};
use crate::sdk::{Endpoint, Reply};

/// A User as read: the fields the connector uses and the whole resource (for `PUT`, and for a
/// provider's own extensions).
pub(crate) type UserRead = (ScimUser, Value);

/// What tells one SCIM service provider from another where RFC 7644 leaves room.
#[derive(Debug)]
pub(crate) struct Quirks {
    /// The provider's name in messages (`Slack`).
    pub(crate) app: &'static str,
    /// The attributes an address is looked up by, in this order (RFC 7644 §3.4.2.2 `eq`
    /// filters): `userName` then `emails.value` for RFC 7643 Users; a provider may name its own.
    pub(crate) email_filters: &'static [&'static str],
    /// Users a page the connector asks for (`count`), unless `filter.maxResults` says less.
    pub(crate) page_size: u64,
    /// The one table from the provider's error answers to connector errors (`what`: the call in
    /// words, e.g. `list users`).
    pub(crate) error: fn(&Reply, &str) -> ConnectorError,
}

/// Any provider that follows RFC 7643/7644: errors by [`scim_error`].
pub(crate) const RFC: Quirks = Quirks {
    app: APP,
    email_filters: &["userName", "emails.value"],
    page_size: PAGE_SIZE,
    error: rfc_error,
};

fn rfc_error(r: &Reply, what: &str) -> ConnectorError {
    scim_error(r, APP, what)
}

/// The JSON body of a successful answer, else the provider's error (`quirks.error`).
///
/// Errors: that error; `Configuration` for a success without JSON (not a SCIM base URL).
fn answer(r: Reply, quirks: &Quirks, what: &str) -> Result<Value, ConnectorError> {
    match r.status.is_success() {
        true => scim_json(r, quirks.app, what),
        false => Err((quirks.error)(&r, what)),
    }
}

/// What a 404 at sign-in means: the base URL is not the SCIM base.
pub(super) fn not_scim_base(base_url: &str, e: ConnectorError) -> ConnectorError {
    match e {
        ConnectorError::NotFound(_) => ConnectorError::Configuration(format!(
            "{base_url} has no SCIM Users endpoint: set the base URL to the SCIM base (ending in \
             /v2 or /scim/v2, as the app's admin page shows)"
        )),
        e => e,
    }
}

/// Signs in to the provider at `ep` (the token on it): reads `/ServiceProviderConfig` (RFC 7643
/// §5; it may be public, and a provider without one gets the defaults, RFC 7644 §4), then checks
/// the token on the Users.
///
/// Errors: the provider's (`quirks.error`); `Configuration` when the base URL has no Users.
pub(crate) async fn sign_in(
    ep: &Endpoint<'_>,
    quirks: &Quirks,
) -> Result<ProviderConfig, ConnectorError> {
    let r = ep.get("/ServiceProviderConfig").scim().send().await?;
    let config = match r.status {
        s if s.is_success() => r
            .json
            .as_ref()
            .map(ProviderConfig::parse)
            .unwrap_or_default(),
        StatusCode::NOT_FOUND | StatusCode::NOT_IMPLEMENTED => ProviderConfig::default(),
        _ => return Err((quirks.error)(&r, "read its configuration")),
    };
    let q = [("count", "1".to_owned()), ("attributes", "id".to_owned())];
    let r = ep.get("/Users").query(&q).scim().send().await?;
    answer(r, quirks, "list users").map_err(|e| not_scim_base(ep.base().as_str(), e))?;
    Ok(config)
}

/// The provider's API for one connector call (RFC 7644, with the token as a bearer), what its
/// `/ServiceProviderConfig` says (RFC 7643 §5), its [`Quirks`] and the hub's settings: its Users
/// as [`castellan_core::connector::AppMember`]s, its Groups as roles or resources.
#[derive(Debug)]
pub struct Api<'a> {
    pub(super) ep: Endpoint<'a>,
    pub(super) config: ProviderConfig,
    pub(super) settings: Settings,
    pub(super) quirks: &'static Quirks,
}

impl<'a> Api<'a> {
    /// The API of a provider whose Groups are resources and whose removal deletes the user (as
    /// `roles_from = none` and `deactivate_with = delete` say for the `scim` connector): an
    /// app's own connector on SCIM, which reads roles its own way.
    pub(crate) fn for_provider(
        ep: Endpoint<'a>,
        config: ProviderConfig,
        quirks: &'static Quirks,
    ) -> Self {
        let settings = Settings {
            roles_from: RolesFrom::None,
            deactivate: Deactivate::Delete,
        };
        Self {
            ep,
            config,
            settings,
            quirks,
        }
    }
}

impl Api<'_> {
    /// Resources per page of Users: the quirks' page size, or less when the provider says so.
    pub(super) fn page_size(&self) -> u64 {
        let size = self.quirks.page_size;
        self.config.max_results.map_or(size, |m| m.min(size))
    }

    /// The provider's error for the answer `r` to `what`.
    pub(super) fn fail(&self, r: &Reply, what: &str) -> ConnectorError {
        (self.quirks.error)(r, what)
    }

    /// The JSON body of a successful answer, else the provider's error.
    pub(super) fn body(&self, r: Reply, what: &str) -> Result<Value, ConnectorError> {
        answer(r, self.quirks, what)
    }

    /// `AppChanged`: the provider answered `what` with a body that is not SCIM's.
    pub(super) fn odd(&self, what: &str) -> ConnectorError {
        unexpected(self.quirks.app, what)
    }

    async fn get_json(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Value, ConnectorError> {
        let r = self.ep.get(path).query(query).scim().send().await?;
        self.body(r, what)
    }

    /// `GET /Users?count=1`: the token may list users.
    ///
    /// Errors: the provider's; `Configuration` when the base URL has no Users.
    pub(crate) async fn probe(&self) -> Result<(), ConnectorError> {
        let one = [("count", "1".to_owned())];
        let r = self.ep.get("/Users").query(&one).scim().send().await?;
        self.body(r, "list users")
            .map(drop)
            .map_err(|e| not_scim_base(self.ep.base().as_str(), e))
    }

    /// One page of Users after the opaque `cursor`, an [`AnchoredOffset`] over `startIndex`
    /// (RFC 7644 §3.4.2.4) anchored on the previous page's last id, so a user created or
    /// removed meanwhile is neither lost nor repeated; and the next cursor, `None` at the end.
    ///
    /// Errors: `Configuration` for a cursor that is not one; the provider's.
    pub(crate) async fn users_after(
        &self,
        cursor: Option<&str>,
    ) -> Result<(Vec<UserRead>, Option<String>), ConnectorError> {
        let mut at = parse_cursor(cursor)?;
        loop {
            let from = at.read_from();
            let (users, total) = self.users_page(from).await?;
            let skip = at.skip(users.iter().map(|(u, _)| u.id.as_str()));
            let n = users.len();
            let next = match users.last() {
                Some(_) if (from + n) as u64 >= total => None,
                Some((last, _)) => Some(AnchoredOffset::after(from, n, &last.id)),
                None => None,
            };
            let users: Vec<UserRead> = users.into_iter().skip(skip).collect();
            if let (true, Some(n)) = (users.is_empty(), &next) {
                at = n.clone();
                continue;
            }
            debug!(count = users.len(), total, "listed a page of SCIM users");
            return Ok((users, next.map(|n| n.encode())));
        }
    }

    /// One page of Users from 0-based `offset` (`startIndex` is `offset + 1`).
    pub(super) async fn users_page(
        &self,
        offset: usize,
    ) -> Result<(Vec<UserRead>, u64), ConnectorError> {
        let page = ScimPage {
            start_index: offset as u64 + 1,
            count: self.page_size(),
        };
        let body = self.get_json("/Users", &page.query(), "list users").await?;
        let list = ListPage::parse(&body).ok_or_else(|| self.odd("list users"))?;
        let users = list
            .resources
            .into_iter()
            .map(|r| ScimUser::from_json(&r).map(|u| (u, r)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.odd("list users"))?;
        Ok((users, list.total_results))
    }

    /// A User by SCIM id, `None` when the provider has none.
    pub(crate) async fn user(&self, id: &str) -> Result<Option<UserRead>, ConnectorError> {
        let r = self
            .ep
            .get(&format!("/Users/{}", segment(id)))
            .scim()
            .send()
            .await?;
        if r.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = self.body(r, "read a user")?;
        let u = ScimUser::from_json(&body).ok_or_else(|| self.odd("read a user"))?;
        Ok(Some((u, body)))
    }

    /// A User by SCIM id. Errors: `NotFound` when the provider has none.
    pub(crate) async fn existing_user(&self, id: &str) -> Result<UserRead, ConnectorError> {
        self.user(id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no SCIM user {id}")))
    }

    /// Users matching `filter` (RFC 7644 §3.4.2.2), first page only (an `eq` on a unique or
    /// nearly unique attribute). `None` when the provider refuses the filter (any 400, as
    /// providers that filter on other attributes answer `invalidFilter` or nothing more
    /// precise, or 501): the caller looks another way.
    async fn filtered(&self, filter: String) -> Result<Option<Vec<UserRead>>, ConnectorError> {
        let q = [("filter", filter), ("count", self.page_size().to_string())];
        let r = self.ep.get("/Users").query(&q).scim().send().await?;
        let refused = matches!(
            r.status,
            StatusCode::NOT_IMPLEMENTED | StatusCode::BAD_REQUEST
        );
        if refused {
            debug!(status = r.status.as_u16(), "the provider refused a filter");
            return Ok(None);
        }
        let body = self.body(r, "find users")?;
        let list = ListPage::parse(&body).ok_or_else(|| self.odd("find users"))?;
        Ok(Some(
            list.resources
                .into_iter()
                .filter_map(|r| ScimUser::from_json(&r).map(|u| (u, r)))
                .collect(),
        ))
    }

    /// The User whose `userName` or one of whose `emails` is `email` (lowercase; compared
    /// without case): `filter=userName eq "…"`, then `filter=emails.value eq "…"` (RFC 7644
    /// §3.4.2.2), or a scan of every User when the provider has no filters.
    pub(crate) async fn find(&self, email: &str) -> Result<Option<UserRead>, ConnectorError> {
        let hit = |rows: Vec<UserRead>| rows.into_iter().find(|(u, r)| u.has_email(r, email));
        if self.config.filter {
            let mut filtered = false;
            for attr in self.quirks.email_filters {
                if let Some(rows) = self.filtered(eq_filter(attr, email)?).await? {
                    filtered = true;
                    if let Some(found) = hit(rows) {
                        return Ok(Some(found));
                    }
                }
            }
            if filtered {
                return Ok(None);
            }
        }
        let mut offset = 0;
        loop {
            let (rows, total) = self.users_page(offset).await?;
            let n = rows.len();
            if let Some(found) = hit(rows) {
                return Ok(Some(found));
            }
            match next_offset(offset, n, Some(total)) {
                Some(next) => offset = next,
                None => return Ok(None),
            }
        }
    }

    /// `POST /Users` (RFC 7644 §3.3) of [`new_user`]. `Ok(None)` on 409 or `uniqueness`: the
    /// `userName` is taken.
    pub(super) async fn create(
        &self,
        email: &str,
        name: Option<&str>,
    ) -> Result<Option<UserRead>, ConnectorError> {
        self.create_user(new_user(email, name)).await
    }

    /// `POST /Users` (RFC 7644 §3.3) of `user` (sent once). `Ok(None)` on 409 or `uniqueness`:
    /// the `userName` or address is taken.
    ///
    /// Errors: the provider's; `AppChanged` for an answer that is no User.
    pub(crate) async fn create_user(
        &self,
        user: Value,
    ) -> Result<Option<UserRead>, ConnectorError> {
        let r = self
            .ep
            .request(Method::POST, "/Users")
            .scim()
            .json(user)
            .send()
            .await?;
        if r.status == StatusCode::CONFLICT || scim_type(&r) == Some("uniqueness") {
            return Ok(None);
        }
        let body = self.body(r, "create a user")?;
        let u = ScimUser::from_json(&body).ok_or_else(|| self.odd("create a user"))?;
        Ok(Some((u, body)))
    }

    /// Sets a User's `active` (PATCH `replace`, or `PUT` of the whole User).
    pub(crate) async fn set_active(
        &self,
        user: &UserRead,
        active: bool,
    ) -> Result<(), ConnectorError> {
        let what = if active {
            "reactivate a user"
        } else {
            "deactivate a user"
        };
        let ops = vec![patch_op(
            "replace",
            Some("active"),
            Some(Value::from(active)),
        )];
        self.change(
            &format!("/Users/{}", segment(&user.0.id)),
            ops,
            what,
            |mut u| {
                u["active"] = Value::from(active);
                u
            },
        )
        .await
    }

    /// `DELETE /Users/{id}` (RFC 7644 §3.6); a User already gone is done.
    pub(crate) async fn delete(&self, id: &str) -> Result<(), ConnectorError> {
        let r = self
            .ep
            .request(Method::DELETE, &format!("/Users/{}", segment(id)))
            .scim()
            .idempotent()
            .send()
            .await?;
        if r.status.is_success() || r.status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(self.fail(&r, "delete a user"))
        }
    }

    /// Every Group with its direct members (`attributes=displayName,members`, RFC 7644
    /// §3.4.2.5), page by page.
    pub(super) async fn groups(&self) -> Result<Roles, ConnectorError> {
        let mut page = ScimPage::first(GROUP_PAGE_SIZE);
        let mut groups = Vec::new();
        loop {
            let mut q = page.query().to_vec();
            q.push(("attributes", "displayName,members".into()));
            let body = self.get_json("/Groups", &q, "list groups").await?;
            let list = ListPage::parse(&body).ok_or_else(|| self.odd("list groups"))?;
            let n = list.resources.len() as u64;
            for r in &list.resources {
                groups.push(ScimGroup::from_json(r).ok_or_else(|| self.odd("list groups"))?);
            }
            match page.next(n, list.total_results) {
                Some(next) => page = next,
                None => return Ok(Roles { groups }),
            }
        }
    }

    /// Adds the User `user_id` to `group` or takes them out (PATCH `add` on `members` or `remove`
    /// on `members[value eq "…"]`, RFC 7644 §3.5.2.1 and §3.5.2.2; or `PUT` of the Group).
    pub(super) async fn set_member(
        &self,
        group: &ScimGroup,
        user_id: &str,
        member: bool,
    ) -> Result<(), ConnectorError> {
        let ops = if member {
            vec![patch_op(
                "add",
                Some("members"),
                Some(json!([{ "value": user_id }])),
            )]
        } else {
            let path = format!("members[{}]", eq_filter("value", user_id)?);
            vec![patch_op("remove", Some(&path), None)]
        };
        let what = if member {
            "add a group member"
        } else {
            "remove a group member"
        };
        let uid = user_id.to_owned();
        self.change(
            &format!("/Groups/{}", segment(&group.id)),
            ops,
            what,
            move |mut g| {
                let mut members: Vec<Value> = g
                    .get("members")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                members.retain(|m| m.get("value").and_then(Value::as_str) != Some(uid.as_str()));
                if member {
                    members.push(json!({ "value": uid }));
                }
                g["members"] = Value::Array(members);
                g
            },
        )
        .await
    }

    /// Changes the resource at `path`: PATCH with `ops` when the provider has PATCH, else (or
    /// when it answers 501 or 405) `GET` then `PUT` of the resource as `put` changes it (RFC 7644
    /// §3.5.1). Both are idempotent here: the operations set values.
    pub(crate) async fn change(
        &self,
        path: &str,
        ops: Vec<Value>,
        what: &str,
        put: impl FnOnce(Value) -> Value,
    ) -> Result<(), ConnectorError> {
        if self.config.patch {
            let r = self
                .ep
                .request(Method::PATCH, path)
                .scim()
                .json(patch_body(ops))
                .idempotent()
                .send()
                .await?;
            if !matches!(
                r.status,
                StatusCode::NOT_IMPLEMENTED | StatusCode::METHOD_NOT_ALLOWED
            ) {
                return self.done(r, what);
            }
            debug!(
                status = r.status.as_u16(),
                "PATCH refused; falling back to PUT"
            );
        }
        let current = self.get_json(path, &[], what).await?;
        let r = self
            .ep
            .request(Method::PUT, path)
            .scim()
            .json(put(for_put(current)))
            .idempotent()
            .send()
            .await?;
        self.done(r, what)
    }

    /// Success (any body), or the provider's error.
    fn done(&self, r: Reply, what: &str) -> Result<(), ConnectorError> {
        match r.status.is_success() {
            true => Ok(()),
            false => Err(self.fail(&r, what)),
        }
    }
}
