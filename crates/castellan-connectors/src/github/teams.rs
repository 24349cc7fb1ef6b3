//! The organization's teams as resources (kind `team`, known by slug) with the team roles
//! `maintainer` and `member`.
//!
//! - <https://docs.github.com/en/rest/teams/teams#list-teams>
//! - <https://docs.github.com/en/rest/teams/teams#get-a-team-by-name>
//! - <https://docs.github.com/en/rest/teams/members#list-team-members>
//! - <https://docs.github.com/en/rest/teams/members#add-or-update-team-membership-for-a-user>
//! - <https://docs.github.com/en/rest/teams/members#remove-team-membership-for-a-user>

use castellan_core::connector::{
    AppResource, ConnectorError as E, ResourceGrant, ResourceMember, ResourceMemberPage,
    ResourcePage,
};
use reqwest::Method;
use serde_json::json;
use tracing::debug;

use super::api::{is_email, Org};
use super::model::{changed, GhUser, TEAM_ROLES};
use crate::sdk::errors::gone;
use crate::sdk::http::segment;
use crate::sdk::json::text;
use crate::sdk::roles::known;

type R<T> = Result<T, E>;

/// What a resource is, in GitHub's words.
const KIND: &str = "team";

impl Org<'_> {
    /// `/orgs/{org}/teams/{team_slug}<rest>`.
    fn team_path(&self, slug: &str, rest: &str) -> String {
        self.path(&format!("/teams/{}{rest}", segment(slug)))
    }

    /// A cursor's path, which must be under `prefix`.
    ///
    /// Errors: `Configuration` ("not a GitHub <what> cursor") for another.
    fn under(prefix: &str, raw: &str, what: &str) -> R<String> {
        match raw.starts_with(prefix) {
            true => Ok(raw.to_owned()),
            false => Err(E::Configuration(format!(
                "not a GitHub {what} cursor: {raw:?}"
            ))),
        }
    }

    /// One page of the organization's teams; the cursor is the next page's path.
    pub(super) async fn teams(&self, cursor: Option<&str>) -> R<ResourcePage> {
        let path = match cursor {
            None => self.first("/teams", &[]),
            Some(raw) => Self::under(&self.path("/teams?"), raw, "team")?,
        };
        let what = "list the organization's teams";
        let (rows, next) = self.rows(&path, what).await?;
        let team = |t: &serde_json::Value| {
            let (slug, name) = (text(&t["slug"]), text(&t["name"]));
            (!slug.is_empty()).then(|| AppResource {
                resource_id: slug.to_owned(),
                kind: KIND.to_owned(),
                name: if name.is_empty() { slug } else { name }.to_owned(),
                roles: TEAM_ROLES.map(String::from).into(),
            })
        };
        let resources = rows.iter().map(team).collect::<Option<Vec<_>>>();
        let resources = resources.ok_or_else(|| changed(what))?;
        Ok(ResourcePage { resources, next })
    }

    /// Checks that the team `slug` exists (`GET /orgs/{org}/teams/{team_slug}`).
    ///
    /// Errors: `NotFound` when it does not.
    async fn team(&self, slug: &str) -> R<()> {
        let req = self.req(Method::GET, &self.team_path(slug, ""));
        match Self::json(req, "read a team").await {
            Err(E::NotFound(_)) => Err(E::NotFound(format!("no GitHub team {slug}"))),
            r => r.map(drop),
        }
    }

    /// One page of a team's members: maintainers, then members, each 100 a page. The cursor is
    /// `<role> <next page's path>`.
    ///
    /// Errors: `NotFound` when the team is gone.
    pub(super) async fn team_members(
        &self,
        slug: &str,
        cursor: Option<&str>,
    ) -> R<ResourceMemberPage> {
        let start = |role: &str| {
            self.first(
                &format!("/teams/{}/members", segment(slug)),
                &[("role", role)],
            )
        };
        let (role, path) = match cursor {
            None => {
                self.team(slug).await?;
                (TEAM_ROLES[0], start(TEAM_ROLES[0]))
            }
            Some(raw) => {
                let bad = || E::Configuration(format!("not a GitHub team member cursor: {raw:?}"));
                let (role, path) = raw.split_once(' ').ok_or_else(bad)?;
                let role = TEAM_ROLES.iter().find(|r| **r == role).ok_or_else(bad)?;
                let prefix = self.team_path(slug, "/members?");
                (*role, Self::under(&prefix, path, "team member")?)
            }
        };
        let what = "list a team's members";
        let (rows, next) = match self.rows(&path, what).await {
            Err(E::NotFound(_)) => return Err(E::NotFound(format!("no GitHub team {slug}"))),
            r => r?,
        };
        let users: R<Vec<GhUser>> = rows.iter().map(|u| GhUser::parse(u, what)).collect();
        let members = users?
            .into_iter()
            .map(|u| ResourceMember {
                app_member_id: u.login,
                roles: vec![role.to_owned()],
            })
            .collect();
        let next = match next {
            Some(path) => Some(format!("{role} {path}")),
            None if role == TEAM_ROLES[0] => {
                Some(format!("{} {}", TEAM_ROLES[1], start(TEAM_ROLES[1])))
            }
            None => None,
        };
        Ok(ResourceMemberPage { members, next })
    }

    /// Gives a member the team role (`PUT …/memberships/{username}`, safe to send twice),
    /// replacing the one they held.
    ///
    /// Errors: `Configuration` for a role teams lack; `NotFound` for a team or member that is
    /// not there; `Conflict` for a pending invitee (no login yet).
    pub(super) async fn grant_team(&self, grant: &ResourceGrant) -> R<()> {
        let roles = TEAM_ROLES.map(String::from);
        known("A GitHub team", &grant.role, &roles)?;
        let login = &grant.app_member_id;
        if is_email(login) {
            return Err(E::Conflict(format!(
                "{login} is invited, not yet a member: team roles are given once they accept"
            )));
        }
        self.team(&grant.resource_id).await?;
        if self.membership_of(login).await?.is_none() {
            return Err(E::NotFound(format!("no GitHub member {login}")));
        }
        let path = self.team_path(
            &grant.resource_id,
            &format!("/memberships/{}", segment(login)),
        );
        let req = self
            .req(Method::PUT, &path)
            .json(json!({ "role": grant.role }));
        let answer = Self::json(req.idempotent(), "give a team role").await?;
        if text(&answer["role"]) != grant.role {
            return Err(changed("give a team role"));
        }
        debug!(team = %grant.resource_id, member = %login, role = %grant.role, "gave a GitHub team role");
        Ok(())
    }

    /// Takes the member out of the team (`DELETE …/memberships/{username}`); one not in it (or
    /// a pending invitee) is done.
    ///
    /// Errors: `NotFound` when the team is gone.
    pub(super) async fn revoke_team(&self, slug: &str, member: &str) -> R<()> {
        self.team(slug).await?;
        if is_email(member) {
            return Ok(());
        }
        let path = self.team_path(slug, &format!("/memberships/{}", segment(member)));
        let req = self.req(Method::DELETE, &path).idempotent();
        gone(Self::no_content(req, "take a member out of a team").await)?;
        debug!(team = %slug, member = %member, "took a member out of a GitHub team");
        Ok(())
    }
}
