//! The SCIM calls the connector makes (RFC 7644), on one endpoint with the API token.

use castellan_core::connector::ConnectorError;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tracing::debug;

use super::model::{for_put, new_user, Roles, ScimGroup, ScimUser, Settings};
use super::{APP, GROUP_PAGE_SIZE, PAGE_SIZE};
use crate::sdk::errors::unexpected;
use crate::sdk::http::segment;
use crate::sdk::paging::{next_offset, ScimPage};
use crate::sdk::scim::{
    eq_filter, patch_body, patch_op, scim_error, scim_json, scim_type, ListPage, ProviderConfig,
    ScimRequest,
};
use crate::sdk::{Endpoint, Reply};

/// A User as read: the fields the connector uses and the whole resource (for `PUT`).
pub(super) type UserRead = (ScimUser, Value);

/// The provider's API for one connector call (RFC 7644, with the token as a bearer), what its
/// `/ServiceProviderConfig` says (RFC 7643 §5) and the hub's settings: its Users as
/// [`castellan_core::connector::AppMember`]s, its Groups as roles or resources.
#[derive(Debug)]
pub struct Api<'a> {
    pub(super) ep: Endpoint<'a>,
    pub(super) config: ProviderConfig,
    pub(super) settings: Settings,
}

impl Api<'_> {
    /// Resources per page of Users: [`PAGE_SIZE`], or less when the provider says so.
    pub(super) fn page_size(&self) -> u64 {
        self.config
            .max_results
            .map_or(PAGE_SIZE, |m| m.min(PAGE_SIZE))
    }

    async fn get_json(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Value, ConnectorError> {
        let r = self.ep.get(path).query(query).scim().send().await?;
        scim_json(r, APP, what)
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
        let list = ListPage::parse(&body).ok_or_else(|| unexpected(APP, "list users"))?;
        let users = list
            .resources
            .into_iter()
            .map(|r| ScimUser::from_json(&r).map(|u| (u, r)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, "list users"))?;
        Ok((users, list.total_results))
    }

    /// A User by SCIM id, `None` when the provider has none.
    pub(super) async fn user(&self, id: &str) -> Result<Option<UserRead>, ConnectorError> {
        let r = self
            .ep
            .get(&format!("/Users/{}", segment(id)))
            .scim()
            .send()
            .await?;
        if r.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = scim_json(r, APP, "read a user")?;
        let u = ScimUser::from_json(&body).ok_or_else(|| unexpected(APP, "read a user"))?;
        Ok(Some((u, body)))
    }

    /// A User by SCIM id. Errors: `NotFound` when the provider has none.
    pub(super) async fn existing_user(&self, id: &str) -> Result<UserRead, ConnectorError> {
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
        let body = scim_json(r, APP, "find users")?;
        let list = ListPage::parse(&body).ok_or_else(|| unexpected(APP, "find users"))?;
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
    pub(super) async fn find(&self, email: &str) -> Result<Option<UserRead>, ConnectorError> {
        let hit = |rows: Vec<UserRead>| rows.into_iter().find(|(u, r)| u.has_email(r, email));
        if self.config.filter {
            let mut filtered = false;
            for attr in ["userName", "emails.value"] {
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

    /// `POST /Users` (RFC 7644 §3.3). `Ok(None)` on 409 or `uniqueness`: the `userName` is taken.
    pub(super) async fn create(
        &self,
        email: &str,
        name: Option<&str>,
    ) -> Result<Option<UserRead>, ConnectorError> {
        let r = self
            .ep
            .request(Method::POST, "/Users")
            .scim()
            .json(new_user(email, name))
            .send()
            .await?;
        if r.status == StatusCode::CONFLICT || scim_type(&r) == Some("uniqueness") {
            return Ok(None);
        }
        let body = scim_json(r, APP, "create a user")?;
        let u = ScimUser::from_json(&body).ok_or_else(|| unexpected(APP, "create a user"))?;
        Ok(Some((u, body)))
    }

    /// Sets a User's `active` (PATCH `replace`, or `PUT` of the whole User).
    pub(super) async fn set_active(
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
    pub(super) async fn delete(&self, id: &str) -> Result<(), ConnectorError> {
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
            Err(scim_error(&r, APP, "delete a user"))
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
            let list = ListPage::parse(&body).ok_or_else(|| unexpected(APP, "list groups"))?;
            let n = list.resources.len() as u64;
            for r in &list.resources {
                groups.push(ScimGroup::from_json(r).ok_or_else(|| unexpected(APP, "list groups"))?);
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
    async fn change(
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
                return ok(r, what);
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
        ok(r, what)
    }
}

/// Success (any body), or the typed error.
fn ok(r: Reply, what: &str) -> Result<(), ConnectorError> {
    if r.status.is_success() {
        Ok(())
    } else {
        Err(scim_error(&r, APP, what))
    }
}
