//! The business's Pages and ad accounts as resources, and the tasks business users hold on them
//! as resource roles ([`super::model::AssetKind`]).
//!
//! Every write reads the member's tasks on the asset first, so a retried grant or revocation
//! never acts twice; a grant sets the member's whole task set on the asset.

use castellan_core::connector::{
    AppResource, ConnectorError as E, ResourceGrant, ResourceMember, ResourceMemberPage,
    ResourcePage,
};
use reqwest::Method;
use serde_json::Value;
use tracing::debug;

use super::model::{data, map_error, next_page, AssetKind, AD_ACCOUNT, INVITATION, PAGE};
use super::{Business, APP};
use crate::sdk::builder::existing;
use crate::sdk::errors::unexpected;
use crate::sdk::http::segment;
use crate::sdk::json::{items, text};
use crate::sdk::saas;

/// Resource cursors: Pages, then ad accounts.
const ASSETS: [&str; 2] = ["p:", "a:"];

type R<T> = Result<T, E>;

/// A member on an asset: their id and the tasks they hold there.
fn holder(v: &Value) -> Option<(String, Vec<String>)> {
    let id = v["id"].as_str()?.to_owned();
    let tasks = items(&v["tasks"]).iter().map(|t| text(t).to_owned());
    Some((id, tasks.filter(|t| !t.is_empty()).collect()))
}

impl Business<'_> {
    /// One page of the business's Pages, then of its ad accounts.
    pub(super) async fn assets(&self, cursor: Option<&str>) -> R<ResourcePage> {
        let (i, after) = saas::phase(APP, cursor, &ASSETS)?;
        let (edge, kind) = match i {
            0 => ("owned_pages", PAGE),
            _ => ("owned_ad_accounts", AD_ACCOUNT),
        };
        let what = format!("list {edge}");
        let q = [("fields", "id,name".to_owned())];
        let v = self.list(&self.edge(edge), &q, after).await?;
        let resources = data(&v, &what)?
            .iter()
            .map(|a| {
                Some(AppResource {
                    resource_id: a["id"].as_str()?.to_owned(),
                    kind: kind.kind.to_owned(),
                    name: text(&a["name"]).to_owned(),
                    roles: kind.role_names(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, &what))?;
        let next = saas::next_phase(&ASSETS, i, next_page(&v));
        Ok(ResourcePage { resources, next })
    }

    /// One page of the business users (and system users) assigned to the asset `id`.
    async fn assigned_page(&self, id: &str, after: Option<&str>) -> R<Value> {
        let q = [
            ("business", self.scope.org.clone()),
            ("fields", "id,name,tasks".to_owned()),
        ];
        let path = format!("/{}/assigned_users", segment(id.trim()));
        self.list(&path, &q, after).await
    }

    /// One page of who holds which role on the asset `id`.
    pub(super) async fn assigned(&self, id: &str, cursor: Option<&str>) -> R<ResourceMemberPage> {
        let kind = AssetKind::of(id);
        let v = self.assigned_page(id, cursor).await?;
        let rows = data(&v, "list an asset's users")?;
        let members = rows
            .iter()
            .map(holder)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, "list an asset's users"))?
            .into_iter()
            .filter_map(|(id, tasks)| {
                let role = kind.role_of(&tasks)?;
                Some(ResourceMember {
                    app_member_id: id,
                    roles: vec![role],
                })
            })
            .collect();
        Ok(ResourceMemberPage {
            members,
            next: next_page(&v),
        })
    }

    /// The tasks `member` holds on the asset `id` (every page read), empty for none.
    async fn tasks_of(&self, id: &str, member: &str) -> R<Vec<String>> {
        let mut after = None;
        loop {
            let v = self.assigned_page(id, after.as_deref()).await?;
            let rows = data(&v, "list an asset's users")?;
            if let Some((_, tasks)) = rows.iter().filter_map(holder).find(|(u, _)| u == member) {
                return Ok(tasks);
            }
            match next_page(&v) {
                Some(n) => after = Some(n),
                None => return Ok(vec![]),
            }
        }
    }

    /// Gives the business user exactly the grant role's tasks on the asset.
    ///
    /// Errors: `Conflict` for a pending invitation (Meta assigns assets to business users only);
    /// `Configuration` for a role the asset does not have; `NotFound` for no such member.
    pub(super) async fn assign(&self, grant: &ResourceGrant) -> R<()> {
        let kind = AssetKind::of(&grant.resource_id);
        let tasks = kind.tasks(&grant.role)?;
        let member = grant.app_member_id.trim();
        crate::sdk::members::joined(APP, &format!("{}s", kind.kind), member)?;
        let m = existing(self, member).await?;
        let asset = grant.resource_id.trim();
        let mut held = self.tasks_of(asset, &m.app_member_id).await?;
        held.sort();
        let mut want: Vec<String> = tasks.iter().map(|t| (*t).to_owned()).collect();
        want.sort();
        if held == want {
            return Ok(());
        }
        let tasks = serde_json::to_string(tasks).expect("a list of strings serializes");
        let form = [
            ("user", m.app_member_id.as_str()),
            ("tasks", tasks.as_str()),
            ("business", self.scope.org.as_str()),
        ];
        let path = format!("/{}/assigned_users", segment(asset));
        let req = self.req(Method::POST, &path).form(&form);
        // Safe to send twice: it sets the whole task set.
        Self::send(req.idempotent(), "assign an asset").await?;
        debug!(asset, member = %m.app_member_id, role = %grant.role, "assigned a Meta asset");
        Ok(())
    }

    /// Takes every task of `member` on the asset away; one who holds none is done.
    pub(super) async fn unassign(&self, id: &str, member: &str) -> R<()> {
        let (asset, member) = (id.trim(), member.trim());
        if member.starts_with(INVITATION) || self.tasks_of(asset, member).await?.is_empty() {
            return Ok(());
        }
        let path = format!("/{}/assigned_users", segment(asset));
        let q = [
            ("user", member.to_owned()),
            ("business", self.scope.org.clone()),
        ];
        let req = self.req(Method::DELETE, &path).query(&q);
        saas::deleted(req, |r| map_error(r, "unassign an asset")).await?;
        debug!(asset, member, "unassigned a Meta asset");
        Ok(())
    }
}
