//! Redmine projects as resources, and project memberships as the roles members hold on them.
//!
//! - A resource is a project, by its identifier (`castellan-conformance`; the numeric id is
//!   accepted too), of kind `project`. Listed with `GET /projects.json` (offset/limit ≤ 100,
//!   `total_count`): <https://www.redmine.org/projects/redmine/wiki/Rest_Projects>.
//! - The roles on a project are Redmine's givable roles (`GET /roles.json`: Manager, Developer,
//!   Reporter…), by name (unique in Redmine); a role's numeric id is accepted too:
//!   <https://www.redmine.org/projects/redmine/wiki/Rest_Roles>.
//! - A member's roles on a project are their membership's roles, those inherited from a group
//!   included (`GET /projects/:id/memberships.json`, paged like projects; group memberships are
//!   left out). Granting creates the membership (`POST /projects/:id/memberships.json` with
//!   `user_id` and `role_ids`) or replaces its roles (`PUT /memberships/:id.json` with
//!   `role_ids`, which keeps inherited roles); revoking deletes it (`DELETE
//!   /memberships/:id.json`), which Redmine refuses (422) while the member holds a role through
//!   a group: <https://www.redmine.org/projects/redmine/wiki/Rest_Memberships>.
//!
//! Every write re-reads the membership first, so a retried grant or revocation never acts twice.

use castellan_core::connector::{
    AppResource, ConnectorError, ResourceGrant, ResourceMember, ResourceMemberPage, ResourcePage,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tracing::debug;

use super::rest::Rest;
use super::rest::{Call, RedmineReply};
use super::{APP, PAGE_SIZE};
use crate::sdk::errors::unexpected;
use crate::sdk::http::segment;
use crate::sdk::paging::{next_offset, offset_query};
use crate::sdk::Endpoint;

/// What a resource is in Redmine's words.
const KIND: &str = "project";

/// A role of Redmine's (`Role`): numeric id and unique name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Role {
    id: u64,
    name: String,
}

/// A user's membership of one project: its id, the roles the membership itself gives, and all
/// the roles the user holds there (group roles included), by name.
#[derive(Debug, Clone)]
struct Membership {
    id: u64,
    own_role_ids: Vec<u64>,
    member: ResourceMember,
}

/// An offset cursor (`"200"`), `0` for the first page.
fn offset(cursor: Option<&str>) -> Result<usize, ConnectorError> {
    cursor.map_or(Ok(0), |c| {
        c.parse()
            .map_err(|_| ConnectorError::Configuration(format!("not a Redmine cursor: {c:?}")))
    })
}

/// One page of a Redmine list: its rows under `key` and the next page's cursor.
async fn page(
    api: &Endpoint<'_>,
    path: &str,
    key: &str,
    cursor: Option<&str>,
    what: &str,
) -> Result<(Vec<Value>, Option<String>), ConnectorError> {
    let start = offset(cursor)?;
    let body = api
        .get(path)
        .query(&offset_query(start, PAGE_SIZE))
        .send()
        .await?
        .json(Call::Api, what)?;
    let rows = body
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| unexpected(APP, what))?
        .clone();
    let total = body.get("total_count").and_then(Value::as_u64);
    let next = next_offset(start, rows.len(), total).map(|n| n.to_string());
    Ok((rows, next))
}

impl Rest<'_> {
    /// Redmine's givable roles, in its order (most privileged first in the default data).
    async fn roles(&self) -> Result<Vec<Role>, ConnectorError> {
        let body = self
            .ep
            .get("/roles.json")
            .send()
            .await?
            .json(Call::Api, "list roles")?;
        body.get("roles")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected(APP, "list roles"))?
            .iter()
            .map(|r| {
                Some(Role {
                    id: r.get("id")?.as_u64()?,
                    name: r.get("name")?.as_str()?.to_owned(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, "list roles"))
    }

    /// One page of projects, each with every givable role.
    pub(super) async fn project_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<ResourcePage, ConnectorError> {
        let roles: Vec<String> = self.roles().await?.into_iter().map(|r| r.name).collect();
        let (rows, next) = page(
            &self.ep,
            "/projects.json",
            "projects",
            cursor,
            "list projects",
        )
        .await?;
        let resources = rows
            .iter()
            .map(|p| {
                Some(AppResource {
                    resource_id: p.get("identifier")?.as_str()?.to_owned(),
                    kind: KIND.to_owned(),
                    name: p.get("name")?.as_str()?.to_owned(),
                    roles: roles.clone(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, "list projects"))?;
        Ok(ResourcePage { resources, next })
    }

    /// One page of a project's user memberships (group memberships left out).
    async fn membership_page(
        &self,
        project: &str,
        cursor: Option<&str>,
    ) -> Result<(Vec<Membership>, Option<String>), ConnectorError> {
        let path = format!("/projects/{}/memberships.json", segment(project.trim()));
        let what = "list a project's members";
        let (rows, next) = page(&self.ep, &path, "memberships", cursor, what).await?;
        let memberships = rows
            .iter()
            .filter(|m| m.get("user").is_some())
            .map(membership)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, what))?;
        Ok((memberships, next))
    }

    /// One page of who holds which roles on a project.
    pub(super) async fn project_members(
        &self,
        project: &str,
        cursor: Option<&str>,
    ) -> Result<ResourceMemberPage, ConnectorError> {
        let (memberships, next) = self.membership_page(project, cursor).await?;
        Ok(ResourceMemberPage {
            members: memberships.into_iter().map(|m| m.member).collect(),
            next,
        })
    }

    /// The membership of user `user_id` in `project`, read from every page.
    async fn membership_of(
        &self,
        project: &str,
        user_id: u64,
    ) -> Result<Option<Membership>, ConnectorError> {
        let user = user_id.to_string();
        let mut cursor = None;
        loop {
            let (memberships, next) = self.membership_page(project, cursor.as_deref()).await?;
            if let Some(m) = memberships
                .into_iter()
                .find(|m| m.member.app_member_id == user)
            {
                return Ok(Some(m));
            }
            match next {
                Some(n) => cursor = Some(n),
                None => return Ok(None),
            }
        }
    }

    /// Gives the member exactly the grant's role on the project (besides roles from groups).
    pub(super) async fn grant_project_role(
        &self,
        grant: &ResourceGrant,
    ) -> Result<(), ConnectorError> {
        let roles = self.roles().await?;
        let wanted = grant.role.trim();
        let role = roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(wanted) || r.id.to_string() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
                ConnectorError::Configuration(format!(
                    "Redmine has no project role {wanted:?} (its roles: {})",
                    names.join(", ")
                ))
            })?;
        let user = self.resolve_existing(&grant.app_member_id).await?;
        let project = grant.resource_id.trim();
        match self.membership_of(project, user.id).await? {
            Some(m) if m.own_role_ids == [role.id] => Ok(()),
            Some(m) => {
                self.ep
                    .request(Method::PUT, &format!("/memberships/{}.json", m.id))
                    .json(json!({ "membership": { "role_ids": [role.id] } }))
                    .idempotent()
                    .send()
                    .await?
                    .ok(Call::Api, "change a member's project roles")?;
                debug!(project, member = user.id, role = %role.name, "changed a project role");
                Ok(())
            }
            None => {
                let path = format!("/projects/{}/memberships.json", segment(project));
                self.ep
                    .request(Method::POST, &path)
                    .json(json!({ "membership": { "user_id": user.id, "role_ids": [role.id] } }))
                    .send()
                    .await?
                    .ok(Call::Api, "add a member to a project")?;
                debug!(project, member = user.id, role = %role.name, "added a project member");
                Ok(())
            }
        }
    }

    /// Ends the member's membership of the project; done already when they have none (or
    /// Redmine does not know them).
    pub(super) async fn revoke_project_roles(
        &self,
        project: &str,
        app_member_id: &str,
    ) -> Result<(), ConnectorError> {
        let Some(user) = self.resolve(app_member_id).await? else {
            return Ok(());
        };
        let project = project.trim();
        let Some(m) = self.membership_of(project, user.id).await? else {
            return Ok(());
        };
        let r = self
            .ep
            .request(Method::DELETE, &format!("/memberships/{}.json", m.id))
            .idempotent()
            .send()
            .await?;
        match r.status {
            // Gone meanwhile: done.
            StatusCode::NOT_FOUND => Ok(()),
            StatusCode::UNPROCESSABLE_ENTITY => Err(ConnectorError::Conflict(format!(
                "Redmine keeps {app_member_id}'s membership of {project}: they hold a role there \
                 through a group"
            ))),
            _ => {
                r.ok(Call::Api, "remove a member from a project")?;
                debug!(project, member = user.id, "removed a project member");
                Ok(())
            }
        }
    }
}

/// A user membership row: `{"id", "user": {"id"}, "roles": [{"id", "name", "inherited"?}]}`.
fn membership(v: &Value) -> Option<Membership> {
    let user_id = v.get("user")?.get("id")?.as_u64()?;
    let mut names: Vec<String> = Vec::new();
    let mut own = Vec::new();
    for r in v.get("roles")?.as_array()? {
        let name = r.get("name")?.as_str()?.to_owned();
        if !r.get("inherited").and_then(Value::as_bool).unwrap_or(false) {
            own.push(r.get("id")?.as_u64()?);
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Some(Membership {
        id: v.get("id")?.as_u64()?,
        own_role_ids: own,
        member: ResourceMember {
            app_member_id: user_id.to_string(),
            roles: names,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_read_own_and_inherited_roles() {
        let m = membership(&json!({
            "id": 4, "project": {"id": 1, "name": "Redmine"},
            "user": {"id": 27, "name": "John Smith"},
            "roles": [{"id": 2, "name": "Developer"},
                      {"id": 3, "name": "Contributor", "inherited": true},
                      {"id": 2, "name": "Developer", "inherited": true}]
        }))
        .unwrap();
        assert_eq!(m.id, 4);
        assert_eq!(m.own_role_ids, [2]);
        assert_eq!(m.member.app_member_id, "27");
        assert_eq!(m.member.roles, ["Developer", "Contributor"]);
        assert!(membership(&json!({"id": 3, "group": {"id": 24}, "roles": []})).is_none());
        assert_eq!(offset(None).unwrap(), 0);
        assert_eq!(offset(Some("200")).unwrap(), 200);
        assert!(matches!(
            offset(Some("x")),
            Err(ConnectorError::Configuration(_))
        ));
    }
}
