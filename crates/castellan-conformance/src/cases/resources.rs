//! Roles on resources: a member is granted each role the fixture's resource has, the listing of
//! the resource's members shows it, and a revocation takes it away.

use castellan_core::catalog::Capability;
use castellan_core::connector::{AppResource, AppSession, ResourceGrant, ResourceMember};

use super::{ensure, Check, OrFail, Stop, Suite};

/// Grants each of the resource's roles to a new member (each replacing the one before, the last
/// one twice), then revokes (twice: the second time there is nothing to take).
pub(super) async fn grant_and_revoke(s: &Suite<'_>) -> Check {
    if !s.info.can(Capability::ResourceRoles) {
        return Err(Stop::Unsupported(
            "the connector declares no roles on resources".into(),
        ));
    }
    let Some(resource_id) = s.f.resource().await else {
        return Err(Stop::Unsupported("the fixture gives no resource".into()));
    };
    let session = s.session().await?;
    let resource = find_resource(s, session, &resource_id).await?;
    ensure!(
        !resource.roles.is_empty(),
        "resource {resource_id} has no roles"
    );
    let m = s.invite_new("resource", &s.info.default_role).await?;
    let id = m.app_member_id.clone();

    let mut order = resource.roles.clone();
    order.extend(resource.roles.last().cloned());
    let mut before: Option<&String> = None;
    for role in &order {
        let grant = ResourceGrant {
            resource_id: resource_id.clone(),
            app_member_id: id.clone(),
            role: role.clone(),
        };
        s.c.grant_resource_role(&s.ctx, session, &grant)
            .await
            .or_fail(&format!("grant {role} on {resource_id} to {id}"))?;
        let held = holder(s, session, &resource_id, &id)
            .await?
            .or_fail(&format!("{id} among the members of {resource_id}"))?;
        ensure!(
            held.roles.contains(role),
            "granted {role}, {id} holds {:?} on {resource_id}",
            held.roles
        );
        if let Some(prev) = before.filter(|p| *p != role) {
            ensure!(
                !held.roles.contains(prev),
                "granting {role} kept the role before it, {prev}: {:?}",
                held.roles
            );
        }
        before = Some(role);
    }
    for time in ["", " again"] {
        s.c.revoke_resource_role(&s.ctx, session, &resource_id, &id)
            .await
            .or_fail(&format!("revoke {id}'s roles on {resource_id}{time}"))?;
        let held = holder(s, session, &resource_id, &id).await?;
        ensure!(
            held.is_none(),
            "after the revocation {id} still holds {held:?} on {resource_id}"
        );
    }
    s.clean_up(&m).await;
    Ok(())
}

/// The resource `id` as the connector lists it (every page read).
async fn find_resource(s: &Suite<'_>, session: &AppSession, id: &str) -> Result<AppResource, Stop> {
    let mut cursor = None;
    for _ in 0..1_000 {
        let page =
            s.c.list_resources(&s.ctx, session, cursor)
                .await
                .or_fail("list resources")?;
        if let Some(r) = page.resources.into_iter().find(|r| r.resource_id == id) {
            return Ok(r);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Err(Stop::Failed(format!(
        "the fixture's resource {id} is not among the resources listed"
    )))
}

/// What `member` holds on `resource`, from every page of its members; fails when the member is
/// listed twice.
async fn holder(
    s: &Suite<'_>,
    session: &AppSession,
    resource: &str,
    member: &str,
) -> Result<Option<ResourceMember>, Stop> {
    let mut cursor = None;
    let mut found = Vec::new();
    for _ in 0..1_000 {
        let page =
            s.c.list_resource_members(&s.ctx, session, resource, cursor)
                .await
                .or_fail(&format!("list the members of {resource}"))?;
        found.extend(
            page.members
                .into_iter()
                .filter(|m| m.app_member_id == member),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    ensure!(
        found.len() <= 1,
        "{member} is listed {} times among the members of {resource}",
        found.len()
    );
    Ok(found.pop())
}
