//! SCIM Groups as resources (with `roles_from = none`): each Group is a resource of kind
//! `group` whose one role is [`BASE_ROLE`] (being a direct member); granting adds the member to
//! the Group, revoking takes them out (PATCH on `members`, RFC 7644 §3.5.2, or `PUT`). With
//! `roles_from = groups` the Groups are the app's roles instead, so the two never manage the same
//! memberships.

use castellan_core::connector::{
    AppResource, ConnectorError, ResourceGrant, ResourceMember, ResourceMemberPage, ResourcePage,
};
use reqwest::StatusCode;
use serde_json::Value;

use super::api::Api;
use super::model::{RolesFrom, ScimGroup, Settings};
use super::{BASE_ROLE, GROUP_PAGE_SIZE, ROLES_FROM, ROLES_NONE};
use crate::sdk::http::segment;
use crate::sdk::paging::ScimPage;
use crate::sdk::scim::{ListPage, ScimRequest};

/// What a resource is, in SCIM's words.
const KIND: &str = "group";

/// `Unsupported` unless the hub manages Groups as resources (`roles_from = none`).
pub(super) fn resources_on(settings: Settings) -> Result<(), ConnectorError> {
    match settings.roles_from {
        RolesFrom::None => Ok(()),
        RolesFrom::Groups => Err(ConnectorError::Unsupported(format!(
            "the SCIM groups are this hub's roles; set {ROLES_FROM} to {ROLES_NONE} to manage \
             them as resources"
        ))),
    }
}

impl Api<'_> {
    /// One page of Groups as resources; the cursor is the next `startIndex`.
    pub(crate) async fn group_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<ResourcePage, ConnectorError> {
        let start_index = match cursor {
            None => 1,
            Some(c) => c.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ConnectorError::Configuration(format!("not a SCIM group cursor: {c:?}"))
            })?,
        };
        let page = ScimPage {
            start_index,
            count: GROUP_PAGE_SIZE,
        };
        let mut q = page.query().to_vec();
        q.push(("attributes", "displayName".into()));
        let r = self.ep.get("/Groups").query(&q).scim().send().await?;
        let body = self.body(r, "list groups")?;
        let list = ListPage::parse(&body).ok_or_else(|| self.odd("list groups"))?;
        let n = list.resources.len() as u64;
        let resources = list
            .resources
            .iter()
            .map(|g| {
                let group = ScimGroup::from_json(g)?;
                Some(AppResource {
                    resource_id: group.id,
                    kind: KIND.to_owned(),
                    name: group.name,
                    roles: vec![BASE_ROLE.to_owned()],
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.odd("list groups"))?;
        Ok(ResourcePage {
            resources,
            next: page
                .next(n, list.total_results)
                .map(|p| p.start_index.to_string()),
        })
    }

    /// One Group with its members. Errors: `NotFound` when it is gone.
    pub(super) async fn group(&self, id: &str) -> Result<ScimGroup, ConnectorError> {
        let r = self
            .ep
            .get(&format!("/Groups/{}", segment(id)))
            .scim()
            .send()
            .await?;
        if r.status == StatusCode::NOT_FOUND {
            return Err(ConnectorError::NotFound(format!("no SCIM group {id}")));
        }
        let body: Value = self.body(r, "read a group")?;
        ScimGroup::from_json(&body).ok_or_else(|| self.odd("read a group"))
    }

    /// A Group's direct members, each holding [`BASE_ROLE`] (one page: SCIM returns a Group's
    /// members with the Group).
    pub(crate) async fn group_members(
        &self,
        id: &str,
    ) -> Result<ResourceMemberPage, ConnectorError> {
        let group = self.group(id).await?;
        Ok(ResourceMemberPage {
            members: group
                .members
                .into_iter()
                .map(|m| ResourceMember {
                    app_member_id: m,
                    roles: vec![BASE_ROLE.to_owned()],
                })
                .collect(),
            next: None,
        })
    }

    /// Makes the member a direct member of the Group (nothing when they are). Errors:
    /// `Configuration` for a role other than [`BASE_ROLE`], `NotFound` for a Group or user that
    /// is gone.
    pub(crate) async fn grant_group(&self, grant: &ResourceGrant) -> Result<(), ConnectorError> {
        if !grant.role.trim().eq_ignore_ascii_case(BASE_ROLE) {
            return Err(ConnectorError::Configuration(format!(
                "a SCIM group has one role, {BASE_ROLE}, not {:?}",
                grant.role
            )));
        }
        let group = self.group(&grant.resource_id).await?;
        if group.members.contains(&grant.app_member_id) {
            return Ok(());
        }
        let user = self.existing_user(&grant.app_member_id).await?;
        self.set_member(&group, &user.0.id, true).await
    }

    /// Takes the member out of the Group; done when they are not in it.
    pub(crate) async fn revoke_group(
        &self,
        resource_id: &str,
        member: &str,
    ) -> Result<(), ConnectorError> {
        let group = self.group(resource_id).await?;
        if !group.members.contains(member) {
            return Ok(());
        }
        self.set_member(&group, member, false).await
    }
}
