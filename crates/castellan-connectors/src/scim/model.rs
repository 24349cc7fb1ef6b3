//! The hub's SCIM settings, SCIM Users and Groups as the connector reads them, and list cursors.

use std::collections::{BTreeMap, BTreeSet};

use castellan_core::connector::{
    AppMember, AppRole, ConnectorContext, ConnectorError, MemberState,
};
use serde_json::{json, Value};

use super::{
    BASE_ROLE, DEACTIVATE_ACTIVE_FALSE, DEACTIVATE_DELETE, DEACTIVATE_WITH, ROLES_FROM,
    ROLES_GROUPS, ROLES_NONE,
};
use crate::sdk::members::normalize_email;
use crate::sdk::paging::AnchoredOffset;
use crate::sdk::scim::USER_SCHEMA;

/// Where a member's roles come from (setting [`ROLES_FROM`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RolesFrom {
    /// Each Group is a role; a member's roles are the Groups they are a direct member of.
    Groups,
    /// No roles: every member has [`BASE_ROLE`].
    None,
}

/// How a member is removed (setting [`DEACTIVATE_WITH`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Deactivate {
    /// `active` set to false: the user stays, signed out, and can be reactivated.
    ActiveFalse,
    /// `DELETE /Users/{id}`.
    Delete,
}

/// The hub's plain settings, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Settings {
    pub(super) roles_from: RolesFrom,
    pub(super) deactivate: Deactivate,
}

impl Settings {
    /// Reads [`ROLES_FROM`] (default `groups`) and [`DEACTIVATE_WITH`] (default `active_false`).
    ///
    /// Errors: `Configuration` for another value.
    pub(super) fn of(ctx: &ConnectorContext) -> Result<Self, ConnectorError> {
        let roles_from = match ctx.setting(ROLES_FROM).unwrap_or(ROLES_GROUPS) {
            ROLES_GROUPS => RolesFrom::Groups,
            ROLES_NONE => RolesFrom::None,
            other => {
                return Err(ConnectorError::Configuration(format!(
                    "{ROLES_FROM} is {other:?}; it must be {ROLES_GROUPS} or {ROLES_NONE}"
                )))
            }
        };
        let deactivate = match ctx
            .setting(DEACTIVATE_WITH)
            .unwrap_or(DEACTIVATE_ACTIVE_FALSE)
        {
            DEACTIVATE_ACTIVE_FALSE => Deactivate::ActiveFalse,
            DEACTIVATE_DELETE => Deactivate::Delete,
            other => {
                return Err(ConnectorError::Configuration(format!(
                    "{DEACTIVATE_WITH} is {other:?}; it must be {DEACTIVATE_ACTIVE_FALSE} or \
                     {DEACTIVATE_DELETE}"
                )))
            }
        };
        Ok(Self {
            roles_from,
            deactivate,
        })
    }
}

/// A SCIM User (RFC 7643 §4.1) as the connector needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScimUser {
    /// The SCIM `id`.
    pub(crate) id: String,
    /// `userName`.
    pub(crate) user_name: String,
    /// The primary address, else the first work one, else the first, else `userName` when it
    /// is an address (lowercase).
    pub(crate) email: Option<String>,
    /// `displayName`, else `name.formatted`, else given and family names.
    pub(crate) name: Option<String>,
    /// `active` (absent: active).
    pub(crate) active: bool,
}

impl ScimUser {
    /// Reads a User resource; `None` without `id` or `userName`.
    pub(super) fn from_json(v: &Value) -> Option<Self> {
        let id = v.get("id")?.as_str()?.to_owned();
        let user_name = v.get("userName")?.as_str()?.to_owned();
        Some(Self {
            email: primary_email(v).or_else(|| normalize_email(&user_name).ok()),
            name: display_name(v),
            // `active` is optional (RFC 7643 §4.1.1); a provider that leaves it out has no
            // deactivated users.
            active: v.get("active").and_then(Value::as_bool).unwrap_or(true),
            id,
            user_name,
        })
    }

    /// Whether `email` (lowercase) is this user's `userName` or one of their addresses.
    pub(super) fn has_email(&self, v: &Value, email: &str) -> bool {
        self.user_name.trim().eq_ignore_ascii_case(email)
            || emails(v)
                .iter()
                .any(|(e, _, _)| e.eq_ignore_ascii_case(email))
    }

    /// The member, with `roles`.
    pub(crate) fn member(&self, roles: Vec<String>) -> AppMember {
        AppMember {
            app_member_id: self.id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            roles,
            state: if self.active {
                MemberState::Active
            } else {
                MemberState::Deactivated
            },
        }
    }
}

/// A User's `emails` (RFC 7643 §4.1.2): value (lowercased, trimmed), primary, type.
fn emails(v: &Value) -> Vec<(String, bool, String)> {
    v.get("emails")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let value = normalize_email(e.get("value")?.as_str()?).ok()?;
                    let primary = e.get("primary").and_then(Value::as_bool).unwrap_or(false);
                    let kind = e
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    Some((value, primary, kind))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The primary address, else the first `work` one, else the first.
fn primary_email(v: &Value) -> Option<String> {
    let all = emails(v);
    all.iter()
        .find(|(_, p, _)| *p)
        .or_else(|| all.iter().find(|(_, _, t)| t.eq_ignore_ascii_case("work")))
        .or(all.first())
        .map(|(e, _, _)| e.clone())
}

/// `displayName`, else `name.formatted`, else given and family names.
fn display_name(v: &Value) -> Option<String> {
    let s = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let name = v.get("name");
    s(v.get("displayName"))
        .or_else(|| s(name.and_then(|n| n.get("formatted"))))
        .or_else(|| {
            let parts: Vec<String> = ["givenName", "familyName"]
                .iter()
                .filter_map(|k| s(name.and_then(|n| n.get(*k))))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
}

/// The body of `POST /Users` (RFC 7644 §3.3) for `email`: `userName` is the address, which is
/// also the primary work address; `name` and `displayName` when a name is given (split at the
/// last space into given and family names); `active`.
pub(crate) fn new_user(email: &str, name: Option<&str>) -> Value {
    let mut u = json!({
        "schemas": [USER_SCHEMA],
        "userName": email,
        "emails": [{ "value": email, "type": "work", "primary": true }],
        "active": true,
    });
    if let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) {
        let mut parts = json!({ "formatted": n });
        match n.rsplit_once(' ') {
            Some((given, family)) => {
                parts["givenName"] = Value::from(given.trim());
                parts["familyName"] = Value::from(family.trim());
            }
            None => parts["givenName"] = Value::from(n),
        }
        u["name"] = parts;
        u["displayName"] = Value::from(n);
    }
    u
}

/// A resource as read, ready to `PUT` back (RFC 7644 §3.5.1) with changes: `meta` and the
/// read-only `groups` are left out (a provider may refuse read-only attributes).
pub(super) fn for_put(mut resource: Value) -> Value {
    if let Some(o) = resource.as_object_mut() {
        o.remove("meta");
        o.remove("groups");
    }
    resource
}

/// A SCIM Group (RFC 7643 §4.2) as a role: its id, display name and direct members' ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ScimGroup {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) members: BTreeSet<String>,
}

impl ScimGroup {
    /// Reads a Group resource; `None` without `id` or `displayName`. Members of another type
    /// than `User` (nested groups) are left out.
    pub(super) fn from_json(v: &Value) -> Option<Self> {
        let members = v
            .get("members")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|m| {
                        m.get("type")
                            .and_then(Value::as_str)
                            .is_none_or(|t| t.eq_ignore_ascii_case("user"))
                    })
                    .filter_map(|m| m.get("value")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            id: v.get("id")?.as_str()?.to_owned(),
            name: v.get("displayName")?.as_str()?.trim().to_owned(),
            members,
        })
    }

    /// The role this group stands for: its display name, lowercase.
    pub(super) fn role(&self) -> String {
        self.name.to_lowercase()
    }
}

/// Every Group of the provider, as roles.
#[derive(Debug, Clone, Default)]
pub(super) struct Roles {
    pub(super) groups: Vec<ScimGroup>,
}

impl Roles {
    /// The roles of the member with SCIM id `id`: the groups they are a direct member of, by
    /// role name, sorted; [`BASE_ROLE`] when none.
    pub(super) fn of(&self, id: &str) -> Vec<String> {
        let mine: BTreeSet<String> = self
            .groups
            .iter()
            .filter(|g| g.members.contains(id))
            .map(ScimGroup::role)
            .collect();
        if mine.is_empty() {
            vec![BASE_ROLE.to_owned()]
        } else {
            mine.into_iter().collect()
        }
    }

    /// The group a role names (display name, any case); `Ok(None)` for [`BASE_ROLE`] when no
    /// group is called so.
    ///
    /// Errors: `Configuration` for a role no group has, or one two groups share.
    pub(super) fn group_for(&self, role: &str) -> Result<Option<&ScimGroup>, ConnectorError> {
        let role = role.trim().to_lowercase();
        let hits: Vec<&ScimGroup> = self.groups.iter().filter(|g| g.role() == role).collect();
        match hits.as_slice() {
            [one] => Ok(Some(one)),
            [] if role == BASE_ROLE => Ok(None),
            [] => Err(ConnectorError::Configuration(format!(
                "the SCIM service provider has no group {role:?} (its roles are its groups' \
                 names, and {BASE_ROLE} for no group)"
            ))),
            _ => Err(ConnectorError::Configuration(format!(
                "{} SCIM groups are called {role:?} (ignoring case): rename one",
                hits.len()
            ))),
        }
    }

    /// The roles the provider has: its groups by display name (deduplicated, sorted), then
    /// [`BASE_ROLE`] (a member in no group), unless a group is called so.
    pub(super) fn app_roles(&self) -> Vec<AppRole> {
        let mut by_role: BTreeMap<String, String> = BTreeMap::new();
        for g in &self.groups {
            by_role.entry(g.role()).or_insert_with(|| g.name.clone());
        }
        let mut roles: Vec<AppRole> = by_role
            .into_iter()
            .map(|(role, label)| AppRole { role, label })
            .collect();
        if !roles.iter().any(|r| r.role == BASE_ROLE) {
            roles.push(AppRole {
                role: BASE_ROLE.to_owned(),
                label: "Member (in no group)".to_owned(),
            });
        }
        roles
    }
}

/// Opaque list cursor: an [`AnchoredOffset`] over the Users (offset = `startIndex - 1`, anchor
/// = the SCIM id of the previous page's last user).
pub(super) fn parse_cursor(raw: Option<&str>) -> Result<AnchoredOffset, ConnectorError> {
    match raw {
        None => Ok(AnchoredOffset::default()),
        Some(r) => AnchoredOffset::parse(r).ok_or_else(|| {
            ConnectorError::Configuration(format!("not a SCIM member cursor: {r:?}"))
        }),
    }
}
