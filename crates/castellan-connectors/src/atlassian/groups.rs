//! The directories' groups as resources, and being in one as the resource role `member`
//! ([`super::MEMBER`]). A grant or a revocation reads the membership first, so a retried one
//! never acts twice.

use castellan_core::connector::{
    AppResource, ConnectorError as E, ResourceGrant, ResourceMember, ResourceMemberPage,
    ResourcePage,
};
use reqwest::Method;
use serde_json::json;
use tracing::debug;

use super::model::{data, map_error, MEMBER};
use super::{Org, APP, PAGE};
use crate::sdk::builder::existing;
use crate::sdk::errors::unexpected;
use crate::sdk::http::segment;
use crate::sdk::json::text;
use crate::sdk::roles::known;
use crate::sdk::saas::{self, next_cursor};

type R<T> = Result<T, E>;

impl Org<'_> {
    /// One page of the groups of every directory, 50 a page.
    pub(super) async fn groups(&self, cursor: Option<&str>) -> R<ResourcePage> {
        let what = "list groups";
        let mut q = vec![("limit", PAGE.to_string())];
        q.extend(cursor.map(|c| ("cursor", c.to_owned())));
        let req = self.api.get(&self.path("v2", "/directories/-/groups"));
        let v = Self::send(req.query(&q), what).await?;
        let resources = data(&v, what)?
            .iter()
            .map(|g| {
                Some(AppResource {
                    resource_id: g["id"].as_str().filter(|i| !i.is_empty())?.to_owned(),
                    kind: "group".to_owned(),
                    name: text(&g["name"]).to_owned(),
                    roles: vec![MEMBER.to_owned()],
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, what))?;
        let next = next_cursor(&v, "/links/next");
        Ok(ResourcePage { resources, next })
    }

    /// One page of the users in the group `id`.
    pub(super) async fn group_members(
        &self,
        id: &str,
        cursor: Option<&str>,
    ) -> R<ResourceMemberPage> {
        let v = self
            .users(vec![("groupIds", id.trim().to_owned())], cursor)
            .await?;
        let members = data(&v, "list a group's users")?
            .iter()
            .filter_map(|u| u["accountId"].as_str())
            .map(|id| ResourceMember {
                app_member_id: id.to_owned(),
                roles: vec![MEMBER.to_owned()],
            })
            .collect();
        let next = next_cursor(&v, "/links/next");
        Ok(ResourceMemberPage { members, next })
    }

    /// Whether the user `member` is in the group `group`.
    async fn in_group(&self, group: &str, member: &str) -> R<bool> {
        let q = vec![
            ("groupIds", group.to_owned()),
            ("accountIds", member.to_owned()),
        ];
        let v = self.users(q, None).await?;
        let rows = data(&v, "list a group's users")?;
        Ok(rows.iter().any(|u| u["accountId"] == member))
    }

    /// `/v1/…/directory/groups/{groupId}/memberships`.
    fn memberships(&self, group: &str) -> String {
        let rest = format!("/directory/groups/{}/memberships", segment(group));
        self.path("v1", &rest)
    }

    /// Adds the member to the group (the grant's role must be `member`).
    ///
    /// Errors: `Configuration` for another role; `NotFound` for no such member or group.
    pub(super) async fn join(&self, grant: &ResourceGrant) -> R<()> {
        let role = grant.role.trim().to_ascii_lowercase();
        known("An Atlassian group", &role, &[MEMBER.to_owned()])?;
        let m = existing(self, grant.app_member_id.trim()).await?;
        let group = grant.resource_id.trim();
        if self.in_group(group, &m.app_member_id).await? {
            return Ok(());
        }
        let body = json!({ "account_id": m.app_member_id });
        let path = self.memberships(group);
        self.write(Method::POST, &path, Some(body), "add a user to a group")
            .await?;
        debug!(group, member = %m.app_member_id, "added to an Atlassian group");
        Ok(())
    }

    /// Takes the member out of the group; one who is not in it is done.
    pub(super) async fn leave(&self, id: &str, member: &str) -> R<()> {
        let (group, member) = (id.trim(), member.trim());
        if !self.in_group(group, member).await? {
            return Ok(());
        }
        let path = format!("{}/{}", self.memberships(group), segment(member));
        let req = self.api.request(Method::DELETE, &path);
        saas::deleted(req, |r| map_error(r, "remove a user from a group")).await?;
        debug!(group, member, "removed from an Atlassian group");
        Ok(())
    }
}
