//! The GitHub records as the REST API writes them, with the fields its OpenAPI description
//! requires: `simple-user`, `private-user`, `org-membership`, `organization-simple`,
//! `organization-invitation`, `team`, `team-full`, `team-membership`, and the error bodies
//! (`basic-error`, `validation-error`).

use serde_json::{json, Value};

use super::state::{Invitation, Team, User};

/// Where GitHub's documentation of the organization member endpoints is.
pub(super) const DOCS: &str = "https://docs.github.com/rest/orgs/members";
/// A fixed time for every record's dates.
const WHEN: &str = "2024-01-15T10:00:00Z";

/// A user as `simple-user`.
pub(super) fn simple_user(base: &str, u: &User) -> Value {
    let (login, id) = (&u.login, u.id);
    let api = format!("{base}/users/{login}");
    json!({
        "login": login, "id": id, "node_id": format!("U_kgDO{id:08}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "", "url": api, "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"), "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": "User", "user_view_type": "public", "site_admin": false,
    })
}

/// The token's own user as `private-user` (`GET /user`).
pub(super) fn private_user(base: &str, u: &User) -> Value {
    let mut v = simple_user(base, u);
    let more = json!({
        "name": u.name, "company": null, "blog": "", "location": null, "email": u.public_email,
        "hireable": null, "bio": null, "twitter_username": null, "public_repos": 0,
        "public_gists": 0, "followers": 0, "following": 0, "created_at": WHEN,
        "updated_at": WHEN, "private_gists": 0, "total_private_repos": 0,
        "owned_private_repos": 0, "disk_usage": 0, "collaborators": 0,
        "two_factor_authentication": true,
    });
    if let (Some(v), Some(more)) = (v.as_object_mut(), more.as_object()) {
        v.extend(more.clone());
    }
    v
}

/// The organization as `organization-simple`.
pub(super) fn organization(base: &str, org: &str, id: u64) -> Value {
    let api = format!("{base}/orgs/{org}");
    json!({
        "login": org, "id": id, "node_id": format!("O_kgDO{id:08}"), "url": api,
        "repos_url": format!("{api}/repos"), "events_url": format!("{api}/events"),
        "hooks_url": format!("{api}/hooks"), "issues_url": format!("{api}/issues"),
        "members_url": format!("{api}/members{{/member}}"),
        "public_members_url": format!("{api}/public_members{{/member}}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "description": null,
    })
}

/// A membership as `org-membership`: `state` is `active` or `pending`.
pub(super) fn membership(base: &str, org: (&str, u64), u: &User, role: &str, state: &str) -> Value {
    json!({
        "url": format!("{base}/orgs/{}/memberships/{}", org.0, u.login),
        "state": state, "role": role,
        "organization_url": format!("{base}/orgs/{}", org.0),
        "organization": organization(base, org.0, org.1),
        "user": simple_user(base, u),
    })
}

/// A pending invitation as `organization-invitation`.
pub(super) fn invitation(base: &str, org_id: u64, inv: &Invitation, inviter: &User) -> Value {
    json!({
        "id": inv.id, "node_id": format!("OI_kwDO{:08}", inv.id), "login": inv.login,
        "email": inv.email, "role": inv.role, "created_at": WHEN, "failed_at": null,
        "failed_reason": null, "inviter": simple_user(base, inviter), "team_count": 0,
        "invitation_teams_url": format!("{base}/organizations/{org_id}/invitations/{}/teams", inv.id),
        "invitation_source": "member",
    })
}

/// A team as `team` (in listings).
pub(super) fn team(base: &str, org_id: u64, t: &Team) -> Value {
    let api = format!("{base}/organizations/{org_id}/team/{}", t.id);
    json!({
        "id": t.id, "node_id": format!("T_kwDO{:08}", t.id), "url": api,
        "html_url": format!("https://github.com/orgs/org/teams/{}", t.slug),
        "name": t.name, "slug": t.slug, "description": null, "privacy": "closed",
        "notification_setting": "notifications_enabled", "permission": "pull",
        "members_url": format!("{api}/members{{/member}}"),
        "repositories_url": format!("{api}/repos"), "parent": null, "type": "organization",
        "organization_id": org_id,
    })
}

/// A team as `team-full` (`GET /orgs/{org}/teams/{team_slug}`).
pub(super) fn team_full(base: &str, org: (&str, u64), t: &Team) -> Value {
    let mut v = team(base, org.1, t);
    let mut o = organization(base, org.0, org.1);
    let extra = json!({
        "html_url": format!("https://github.com/{}", org.0), "has_organization_projects": true,
        "has_repository_projects": true, "public_repos": 0, "public_gists": 0, "followers": 0,
        "following": 0, "type": "Organization", "created_at": WHEN, "updated_at": WHEN,
        "archived_at": null,
    });
    if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
        o.extend(extra.clone());
    }
    v["created_at"] = json!(WHEN);
    v["updated_at"] = json!(WHEN);
    v["members_count"] = json!(t.members.len());
    v["repos_count"] = json!(0);
    v["organization"] = o;
    v
}

/// A team membership as `team-membership`.
pub(super) fn team_membership(base: &str, org_id: u64, t: &Team, login: &str, role: &str) -> Value {
    json!({
        "url": format!("{base}/organizations/{org_id}/team/{}/memberships/{login}", t.id),
        "role": role, "state": "active",
    })
}

/// A `basic-error` body.
pub(super) fn error(status: u16, message: &str) -> Value {
    json!({ "message": message, "documentation_url": DOCS, "status": status.to_string() })
}

/// A `validation-error` body (422) with one error.
pub(super) fn invalid(resource: &str, field: &str, code: &str, message: &str) -> Value {
    json!({
        "message": "Validation Failed",
        "errors": [{ "resource": resource, "field": field, "code": code, "message": message }],
        "documentation_url": DOCS, "status": "422",
    })
}
