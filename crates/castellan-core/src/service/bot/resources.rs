//! Roles on resources, as the bot reads and writes them (contract v2): a check for updates lists
//! the app's resources and who holds which role on the hub's managed ones
//! ([`crate::resource_roles::managed`]); a write job for a wanted member then gives the grant's
//! roles on resources and takes away the ones it no longer gives. Connectors without the
//! capability (or whose hub's settings turn it off, `Unsupported` at run time) have none.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Bot, Failure};
use crate::catalog::Capability;
use crate::connector::{
    AppResource, AppSession, Connector, ConnectorContext, ConnectorError, ResourceGrant,
};
use crate::hub::Grant;
use crate::resource_roles::{self, describe, Holdings, ResourceRole};

/// The most pages one listing of resources (or of one resource's holders) reads: a cursor
/// that never ends is an app fault, not a reason to list forever.
const MAX_PAGES: usize = 10_000;

/// Ends a listing page by page: `Ok(None)` when the capability is missing at run time.
fn unsupported_is_none<T>(r: Result<T, ConnectorError>) -> Result<Option<T>, ConnectorError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ConnectorError::Unsupported(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Bot {
    /// The app's resources (every page; empty without `Capability::ListResources` among `caps`,
    /// the discovered capabilities) and the holders of the roles on the hub's managed resources
    /// (without `Capability::ResourceRoles`, none). A managed resource the app no longer has is left out
    /// of the holdings, so nothing is planned on it.
    pub(super) async fn resources(
        &self,
        c: &Arc<dyn Connector>,
        ctx: &ConnectorContext,
        s: &AppSession,
        grants: &[Grant],
        caps: &[Capability],
    ) -> Result<(Vec<AppResource>, Holdings), Failure> {
        let mut listed: Vec<AppResource> = vec![];
        if caps.contains(&Capability::ListResources) {
            let mut cursor = None;
            for _ in 0..MAX_PAGES {
                let Some(page) = unsupported_is_none(c.list_resources(ctx, s, cursor).await)?
                else {
                    break;
                };
                listed.extend(page.resources);
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
        }
        let mut holdings = Holdings::new();
        if !caps.contains(&Capability::ResourceRoles) {
            return Ok((listed, holdings));
        }
        for id in resource_roles::managed(grants) {
            if !listed.iter().any(|r| r.resource_id == id) {
                continue;
            }
            let mut holders: HashMap<String, Vec<String>> = HashMap::new();
            let mut cursor = None;
            for _ in 0..MAX_PAGES {
                let page = match c.list_resource_members(ctx, s, &id, cursor).await {
                    Ok(p) => p,
                    Err(ConnectorError::NotFound(_) | ConnectorError::Unsupported(_)) => {
                        holders.clear();
                        break;
                    }
                    Err(e) => return Err(e.into()),
                };
                for m in page.members {
                    holders.insert(m.app_member_id, m.roles);
                }
                cursor = page.next;
                if cursor.is_none() {
                    holdings.insert(id.clone(), std::mem::take(&mut holders));
                    break;
                }
            }
        }
        Ok((listed, holdings))
    }

    /// Gives `app_member_id` the grant's roles on resources and takes away the ones it keeps
    /// without a role. Each write is idempotent in the contract, so a retried job does no harm.
    /// Returns what it did for the automation log (`None` when the grant names no resource).
    pub(super) async fn apply_resource_roles(
        &self,
        c: &Arc<dyn Connector>,
        ctx: &ConnectorContext,
        s: &AppSession,
        want: &[ResourceRole],
        app_member_id: &str,
    ) -> Result<Option<String>, Failure> {
        if want.is_empty() {
            return Ok(None);
        }
        let mut done = Vec::with_capacity(want.len());
        for w in want {
            let wrote = match &w.role {
                Some(role) => {
                    let grant = ResourceGrant {
                        resource_id: w.resource_id.clone(),
                        app_member_id: app_member_id.to_owned(),
                        role: role.clone(),
                    };
                    c.grant_resource_role(ctx, s, &grant).await
                }
                None => {
                    c.revoke_resource_role(ctx, s, &w.resource_id, app_member_id)
                        .await
                }
            };
            // A resource deleted in the app since the share: nothing left to give or take.
            done.push(match wrote {
                Ok(()) => describe(w),
                Err(ConnectorError::NotFound(_)) => format!("{}: gone from the app", w.resource_id),
                Err(e) => return Err(e.into()),
            });
        }
        Ok(Some(format!("resources {}", done.join(", "))))
    }
}
