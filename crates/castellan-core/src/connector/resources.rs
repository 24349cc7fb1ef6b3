//! Contract v2's optional parts: roles read from the app, resources inside an app (rooms,
//! projects, sites, teams, ad accounts) with roles on them, and the automation account's own
//! password and second factor. A connector declares which it has in
//! [`super::ConnectorInfo::capabilities`] and confirms them at run time with
//! [`super::Connector::discover`]; the methods it does not have answer
//! [`super::ConnectorError::Unsupported`].

use serde::{Deserialize, Serialize};

/// A role as the app names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRole {
    /// The value the connector takes and reports (`administrator`, `sysop`, a Redmine role id).
    pub role: String,
    /// What the app shows (`Administrator`, `Administrators`, `Manager`).
    pub label: String,
}

impl AppRole {
    /// A role whose label is its value.
    pub fn plain(role: &str) -> Self {
        Self {
            role: role.to_owned(),
            label: role.to_owned(),
        }
    }
}

/// Something inside an app that members hold a role on: a Synapse room (power level), a Redmine
/// project (project roles), a site of a WordPress network, a GitHub team, a SCIM group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppResource {
    /// The app's own id for it (`!abc:example.org`, a project identifier, a group id).
    pub resource_id: String,
    /// What kind of thing it is, in the app's words, singular and lowercase: `room`, `project`,
    /// `site`, `team`, `group`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// The roles a member may hold on it, most privileged first.
    pub roles: Vec<String>,
}

/// One page of resources and the cursor of the next page (`None` at the end).
#[derive(Debug, Clone, Default)]
pub struct ResourcePage {
    /// Resources on this page.
    pub resources: Vec<AppResource>,
    /// Opaque cursor for the next page.
    pub next: Option<String>,
}

/// Who holds which role on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceMember {
    /// The member's app id (as in [`super::AppMember::app_member_id`]).
    pub app_member_id: String,
    /// Their roles on the resource, most privileged first (never empty).
    pub roles: Vec<String>,
}

/// One page of a resource's members and the cursor of the next page (`None` at the end).
#[derive(Debug, Clone, Default)]
pub struct ResourceMemberPage {
    /// Members on this page.
    pub members: Vec<ResourceMember>,
    /// Opaque cursor for the next page.
    pub next: Option<String>,
}

/// A grant of one role on one resource to one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGrant {
    /// The resource's app id.
    pub resource_id: String,
    /// The member's app id.
    pub app_member_id: String,
    /// The role on the resource (one of [`AppResource::roles`]).
    pub role: String,
}

/// Whether the automation account has a second factor in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorState {
    /// A second factor is required at sign-in.
    pub enabled: bool,
    /// The methods the app reports (`totp`, `sms`, `webauthn`, `email`), lowercase.
    pub methods: Vec<String>,
}
