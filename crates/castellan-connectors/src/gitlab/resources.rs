//! A GitLab group's subgroups and projects as resources, with the roles of group members on
//! them: their direct memberships, through the same members API as the group's.
//!
//! - Subgroups: `GET /groups/{id}/descendant_groups` (every level below the group), id
//!   `group:<id>`, named by `full_path`; projects: `GET /groups/{id}/projects?include_subgroups=
//!   true&simple=true`, id `project:<id>`, named by `path_with_namespace`:
//!   <https://docs.gitlab.com/api/groups/>.
//! - Who holds what: `GET /groups/{id}/members` or `GET /projects/{id}/members` (direct members);
//!   a role is given with `POST …/members` (`user_id`, `access_level`) or `PUT
//!   …/members/{user_id}`, and taken with `DELETE …/members/{user_id}`:
//!   <https://docs.gitlab.com/api/members/>. GitLab refuses a level below the one the user
//!   inherits from the group (400, which is `Configuration` here).

use castellan_core::connector::{
    AppResource, ConnectorError as E, ResourceGrant, ResourceMember, ResourceMemberPage,
    ResourcePage,
};
use reqwest::Method;
use serde_json::{json, Value};
use tracing::debug;

use super::model::{level_of, role_of, INVITATION, LEVELS};
use super::{Group, APP};
use crate::sdk::builder::existing;
use crate::sdk::errors::{found, unexpected};
use crate::sdk::json::{id, text};
use crate::sdk::saas;

type R<T> = Result<T, E>;

/// Resource cursors: subgroups, then projects, each with its page number.
const KINDS: [&str; 2] = ["g:", "p:"];

/// The members path (`/groups/<n>/members` or `/projects/<n>/members`) of the resource `id`.
///
/// Errors: `NotFound` for an id that names no subgroup or project of this connector.
fn members_path(id: &str) -> R<String> {
    let id = id.trim();
    let (kind, n) = match (id.strip_prefix("group:"), id.strip_prefix("project:")) {
        (Some(n), _) => ("groups", n),
        (_, Some(n)) => ("projects", n),
        _ => ("", ""),
    };
    match !kind.is_empty() && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
        true => Ok(format!("/{kind}/{n}/members")),
        false => Err(E::NotFound(format!("no GitLab subgroup or project {id:?}"))),
    }
}

/// A user id: `None` for a pending invitation (or anything else that is no user id).
fn user_id(member: &str) -> Option<&str> {
    let member = member.trim();
    let digits = !member.is_empty() && member.chars().all(|c| c.is_ascii_digit());
    digits.then_some(member)
}

/// One page of the group's subgroups, then of its projects.
pub(super) async fn list(g: &Group<'_>, cursor: Option<&str>) -> R<ResourcePage> {
    let (i, page) = saas::phase(APP, cursor, &KINDS)?;
    let yes = || "true".to_owned();
    let (rest, q, kind, name, what) = match i {
        0 => (
            "/descendant_groups",
            vec![],
            "subgroup",
            "full_path",
            "list subgroups",
        ),
        _ => (
            "/projects",
            vec![("include_subgroups", yes()), ("simple", yes())],
            "project",
            "path_with_namespace",
            "list projects",
        ),
    };
    let (rows, next) = g.listing(&g.path(rest), page, &q, what).await?;
    let prefix = if i == 0 { "group:" } else { "project:" };
    let roles: Vec<String> = LEVELS.iter().map(|(r, _)| (*r).to_owned()).collect();
    let resource = |v: &Value| {
        Some(AppResource {
            resource_id: format!("{prefix}{}", id(&v["id"])?),
            kind: kind.to_owned(),
            name: text(&v[name]).to_owned(),
            roles: roles.clone(),
        })
    };
    let resources = rows.iter().map(resource).collect::<Option<Vec<_>>>();
    Ok(ResourcePage {
        resources: resources.ok_or_else(|| unexpected(APP, what))?,
        next: saas::next_phase(&KINDS, i, next),
    })
}

/// One page of the direct members of the resource `id`, with their roles.
pub(super) async fn members(
    g: &Group<'_>,
    id: &str,
    cursor: Option<&str>,
) -> R<ResourceMemberPage> {
    let what = "list a resource's members";
    let (rows, next) = g.listing(&members_path(id)?, cursor, &[], what).await?;
    let member = |v: &Value| {
        Some(ResourceMember {
            app_member_id: super::model::group_member(v, None, what)
                .ok()?
                .app_member_id,
            roles: vec![role_of(v["access_level"].as_u64()?)],
        })
    };
    let members = rows.iter().map(member).collect::<Option<Vec<_>>>();
    let members = members.ok_or_else(|| unexpected(APP, what))?;
    Ok(ResourceMemberPage { members, next })
}

/// Gives the group member exactly the grant's role on the subgroup or project: a `PUT` of the
/// level when they are a direct member there already, else a `POST` (and a `PUT` when GitLab
/// answers that they are, 409).
///
/// Errors: `Configuration` for another role (or one below what the user inherits); `Conflict`
/// for a pending invitation; `NotFound` for no such member or resource.
pub(super) async fn grant(g: &Group<'_>, grant: &ResourceGrant) -> R<()> {
    let role = grant.role.trim().to_ascii_lowercase();
    let Some(level) = level_of(&role) else {
        let roles: Vec<&str> = LEVELS.iter().map(|(r, _)| *r).collect();
        return Err(E::Configuration(format!(
            "a GitLab subgroup or project has no role {role:?} (its roles: {})",
            roles.join(", ")
        )));
    };
    let path = members_path(&grant.resource_id)?;
    let Some(uid) = user_id(&grant.app_member_id) else {
        return Err(E::Conflict(format!(
            "GitLab gives roles in subgroups and projects to users who joined: {} has not \
             accepted the invitation yet",
            grant.app_member_id.trim_start_matches(INVITATION)
        )));
    };
    existing(g, uid).await?;
    let what = "give a role on a subgroup or project";
    let one = format!("{path}/{uid}");
    let now = found(Group::send(g.api.get(&one), what).await)?;
    let put = || {
        g.write(
            Method::PUT,
            &one,
            json!({ "access_level": level }),
            true,
            what,
        )
    };
    match now.map(|v| v["access_level"].as_u64()) {
        Some(Some(l)) if l == level => return Ok(()),
        Some(_) => {
            put().await?;
        }
        None => {
            let body = json!({ "user_id": uid, "access_level": level });
            match g.write(Method::POST, &path, body, false, what).await {
                Err(E::Conflict(_)) => {
                    put().await?;
                }
                other => {
                    other?;
                }
            }
        }
    }
    debug!(resource = %grant.resource_id, member = uid, role, "gave a GitLab role");
    Ok(())
}

/// Takes the member's direct membership of the subgroup or project away; one who has none (or
/// a pending invitation) is done.
pub(super) async fn revoke(g: &Group<'_>, id: &str, member: &str) -> R<()> {
    let path = members_path(id)?;
    let Some(uid) = user_id(member) else {
        return Ok(());
    };
    let req = g.api.request(Method::DELETE, &format!("{path}/{uid}"));
    let what = "take a role on a subgroup or project";
    saas::deleted(req, |r| super::model::map_error(r, what)).await
}
