//! The organization's teams as resources, and being in one as the resource role `member`
//! ([`super::MEMBER`]). A grant or a revocation reads the team membership first, so a retried
//! one never acts twice.

use castellan_core::connector::{
    AppResource, ConnectorError as E, ResourceGrant, ResourceMember, ResourceMemberPage,
    ResourcePage,
};
use tracing::debug;

use super::model::{data, map_error, MEMBER};
use super::{Workspace, APP, PAGE};
use crate::sdk::builder::existing;
use crate::sdk::errors::{gone, unexpected};
use crate::sdk::http::segment;
use crate::sdk::json::{id, text};
use crate::sdk::roles::known;
use crate::sdk::saas::{self, next_cursor};

type R<T> = Result<T, E>;

/// The `limit`, `opt_fields` and `offset` of a page.
fn paged(fields: &str, offset: Option<&str>) -> Vec<(&'static str, String)> {
    let mut q = vec![
        ("limit", PAGE.to_string()),
        ("opt_fields", fields.to_owned()),
    ];
    q.extend(offset.map(|o| ("offset", o.to_owned())));
    q
}

impl Workspace<'_> {
    /// One page of the organization's teams, 100 a page.
    pub(super) async fn teams(&self, cursor: Option<&str>) -> R<ResourcePage> {
        let what = "list teams";
        let q = paged("name", cursor);
        let v = self.read(&self.path("/teams"), &q, what).await?;
        let resources = data(&v, what)?
            .iter()
            .map(|t| {
                Some(AppResource {
                    resource_id: id(&t["gid"])?,
                    kind: "team".to_owned(),
                    name: text(&t["name"]).to_owned(),
                    roles: vec![MEMBER.to_owned()],
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, what))?;
        let next = next_cursor(&v, "/next_page/offset");
        Ok(ResourcePage { resources, next })
    }

    /// One page of the members of the team `team`, 100 a page.
    pub(super) async fn team_members(
        &self,
        team: &str,
        cursor: Option<&str>,
    ) -> R<ResourceMemberPage> {
        let what = "list a team's members";
        let path = format!("/teams/{}/team_memberships", segment(team.trim()));
        let v = self.read(&path, &paged("user.name", cursor), what).await?;
        let members = data(&v, what)?
            .iter()
            .filter_map(|m| id(&m["user"]["gid"]))
            .map(|gid| ResourceMember {
                app_member_id: gid,
                roles: vec![MEMBER.to_owned()],
            })
            .collect();
        let next = next_cursor(&v, "/next_page/offset");
        Ok(ResourceMemberPage { members, next })
    }

    /// Whether the user `user` is in the team `team`.
    async fn in_team(&self, team: &str, user: &str) -> R<bool> {
        let q = [
            ("team", team.to_owned()),
            ("user", user.to_owned()),
            ("opt_fields", "user".to_owned()),
        ];
        let v = self
            .read("/team_memberships", &q, "read a team membership")
            .await?;
        let rows = data(&v, "read a team membership")?;
        Ok(rows.iter().any(|m| m["user"]["gid"] == user))
    }

    /// Adds the member to the team (the grant's role must be `member`).
    ///
    /// Errors: `Configuration` for another role; `NotFound` for no such member or team;
    /// `InsufficientPermission` when the account is not in the team.
    pub(super) async fn join(&self, grant: &ResourceGrant) -> R<()> {
        let role = grant.role.trim().to_ascii_lowercase();
        known("An Asana team", &role, &[MEMBER.to_owned()])?;
        let m = existing(self, grant.app_member_id.trim()).await?;
        let team = grant.resource_id.trim();
        if self.in_team(team, &m.app_member_id).await? {
            return Ok(());
        }
        let path = format!("/teams/{}/addUser", segment(team));
        let req = self.user_call(&path, &m.app_member_id, true);
        Self::send(req, "add a user to a team").await?;
        debug!(team, member = %m.app_member_id, "added to an Asana team");
        Ok(())
    }

    /// Takes the member out of the team; one who is not in it is done.
    pub(super) async fn leave(&self, team: &str, user: &str) -> R<()> {
        let (team, user) = (team.trim(), user.trim());
        if !self.in_team(team, user).await? {
            return Ok(());
        }
        let path = format!("/teams/{}/removeUser", segment(team));
        let req = self.user_call(&path, user, true);
        gone(saas::sent(req, |r| map_error(r, "remove a user from a team")).await)?;
        debug!(team, member = user, "removed from an Asana team");
        Ok(())
    }
}
