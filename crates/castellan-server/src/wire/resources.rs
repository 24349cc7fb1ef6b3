//! Wire types of resources inside an app (Redmine projects, SCIM groups) and the roles a grant
//! gives on them (contract v2; `castellan_core::resource_roles`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One role on a resource that a grant gives, or takes away (`role` null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceRole {
    /// The resource's id in the app (as `resources` in the hub's last report lists it).
    pub resource_id: String,
    /// The role on it (one of the resource's `roles`, matched case-insensitively); null for no
    /// role: the bot takes away the role the member holds there.
    #[serde(default)]
    pub role: Option<String>,
}

impl From<castellan_core::resource_roles::ResourceRole> for ResourceRole {
    fn from(v: castellan_core::resource_roles::ResourceRole) -> Self {
        Self {
            resource_id: v.resource_id,
            role: v.role,
        }
    }
}

impl From<ResourceRole> for castellan_core::resource_roles::ResourceRole {
    fn from(v: ResourceRole) -> Self {
        Self {
            resource_id: v.resource_id,
            role: v.role,
        }
    }
}

/// Something inside the app that members hold a role on, as a check for updates listed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppResource {
    /// The app's id for it (a Redmine project identifier, a SCIM group id).
    pub resource_id: String,
    /// What it is, in the app's words: `project`, `group`, `room`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// The roles a member may hold on it, most privileged first.
    pub roles: Vec<String>,
}

impl From<castellan_core::connector::AppResource> for AppResource {
    fn from(v: castellan_core::connector::AppResource) -> Self {
        Self {
            resource_id: v.resource_id,
            kind: v.kind,
            name: v.name,
            roles: v.roles,
        }
    }
}
