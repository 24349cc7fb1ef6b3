//! The business's ad accounts and profiles as resources, and the permissions members hold on
//! them as resource roles ([`super::model::ASSET_KINDS`]).
//!
//! Every write reads the member's permissions on the asset first ([`held_on`]), so a retried
//! grant or revocation never acts twice; a grant sets the member's whole permission list on the
//! asset to its one role.

use castellan_core::connector::{
    AppResource, ConnectorError as E, ResourceGrant, ResourceMember, ResourceMemberPage,
    ResourcePage,
};
use reqwest::Method;
use serde_json::{json, Value};
use tracing::debug;

use super::model::{bookmark, map_error, page_items, ASSET_KINDS};
use super::{Business, APP};
use crate::sdk::builder::{existing, held_on};
use crate::sdk::errors::unexpected;
use crate::sdk::http::segment;
use crate::sdk::json::{id, items, text};
use crate::sdk::members::joined;
use crate::sdk::roles::spelled;
use crate::sdk::saas;

/// Resource cursors: ad accounts, then profiles.
const ASSETS: [&str; 2] = ["a:", "p:"];

type R<T> = Result<T, E>;

/// A member on an asset (`UserSingleAssetBinding`): their id and permissions, `None` without an
/// id or with no permission.
fn holder(v: &Value) -> Option<ResourceMember> {
    let member = id(&v["user"]["id"])?;
    let roles: Vec<String> = items(&v["permissions"])
        .iter()
        .map(|p| text(p).to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    (!roles.is_empty()).then_some(ResourceMember {
        app_member_id: member,
        roles,
    })
}

/// Every permission the connector gives on an asset of some kind (a role of neither kind is
/// refused before anything is sent; one of the other kind, by Pinterest).
fn any_permission() -> Vec<&'static str> {
    ASSET_KINDS
        .iter()
        .flat_map(|k| k.roles.iter().copied())
        .collect()
}

impl Business<'_> {
    /// One page of the business's ad accounts, then of its profiles.
    pub(super) async fn assets(&self, cursor: Option<&str>) -> R<ResourcePage> {
        let (i, after) = saas::phase(APP, cursor, &ASSETS)?;
        let kind = ASSET_KINDS[i];
        let what = format!("list {}s", kind.kind);
        let q = [("asset_type", kind.wire.to_owned())];
        let v = self.list(&self.path("/assets"), &q, after).await?;
        let resources = page_items(&v, &what)?
            .iter()
            .map(|a| {
                let asset = id(&a["asset_id"])?;
                Some(AppResource {
                    name: format!("{} {asset}", kind.kind),
                    resource_id: asset,
                    kind: kind.kind.to_owned(),
                    roles: kind.roles.iter().map(|r| (*r).to_owned()).collect(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, &what))?;
        let next = saas::next_phase(&ASSETS, i, bookmark(&v));
        Ok(ResourcePage { resources, next })
    }

    /// One page of the members with permissions on the asset `id`.
    pub(super) async fn asset_members(
        &self,
        id: &str,
        cursor: Option<&str>,
    ) -> R<ResourceMemberPage> {
        let path = self.path(&format!("/assets/{}/members", segment(id.trim())));
        let v = self.list(&path, &[], cursor).await?;
        let rows = page_items(&v, "list an asset's members")?;
        Ok(ResourceMemberPage {
            members: rows.iter().filter_map(holder).collect(),
            next: bookmark(&v),
        })
    }

    /// Gives the member exactly the grant's permission on the asset.
    ///
    /// Errors: `Conflict` for a pending invitation; `Configuration` for a permission Pinterest
    /// does not give (or not on this kind of asset); `NotFound` for no such member.
    pub(super) async fn assign(&self, grant: &ResourceGrant) -> R<()> {
        let role = spelled("A Pinterest asset", &grant.role, &any_permission())?;
        joined(APP, "assets", &grant.app_member_id)?;
        let m = existing(self, grant.app_member_id.trim()).await?;
        let asset = grant.resource_id.trim();
        if held_on(self, asset, &m.app_member_id).await? == [role.as_str()] {
            return Ok(());
        }
        let body = json!({ "accesses": [{ "asset_id": asset, "member_id": m.app_member_id,
            "permissions": [role] }] });
        let req = self.req(Method::PATCH, "/members/assets/access").json(body);
        // Safe to send twice: it sets the member's permissions on the asset.
        self.batch(req.idempotent(), "give a member access to an asset")
            .await?;
        debug!(asset, member = %m.app_member_id, role, "gave access to a Pinterest asset");
        Ok(())
    }

    /// Takes the member's permissions on the asset away; one who holds none is done.
    pub(super) async fn unassign(&self, id: &str, member: &str) -> R<()> {
        let (asset, member) = (id.trim(), member.trim());
        if joined(APP, "assets", member).is_err() || held_on(self, asset, member).await?.is_empty()
        {
            return Ok(());
        }
        let body = json!({ "accesses": [{ "asset_id": asset, "member_id": member }] });
        let req = self
            .req(Method::DELETE, "/members/assets/access")
            .json(body);
        let what = "take a member's access to an asset away";
        saas::deleted(req, |r| map_error(r, what)).await?;
        debug!(asset, member, "took access to a Pinterest asset away");
        Ok(())
    }
}
