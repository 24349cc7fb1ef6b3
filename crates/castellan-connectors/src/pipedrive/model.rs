//! Pipedrive users, permission sets and error bodies as the connector reads them.
//!
//! - Users (`id`, `name`, `email`, `access: [{app, admin, permission_set_id}]`, `active_flag`,
//!   `activated`, `is_deleted`; `is_admin` until February 2023):
//!   <https://developers.pipedrive.com/docs/api/v1/Users>
//! - Permission sets (`id`, `name`, `description`, `app`, `type`: `admin`, `manager`,
//!   `regular`, `custom`): <https://developers.pipedrive.com/docs/api/v1/PermissionSets>
//! - The `access` field and `is_admin`'s removal:
//!   <https://developers.pipedrive.com/changelog/post/improvements-to-permissionsets-api-and-users-api>,
//!   <https://developers.pipedrive.com/changelog/post/removal-of-fields-from-users-api>
//! - Errors (`{"success": false, "error", "error_info", "data": null}`):
//!   <https://developers.pipedrive.com/changelog/post/introducing-a-new-permission-changing-the-owner-of-an-entity>

use castellan_core::connector::{AppMember, AppRole, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// The role of a user whose Deals app access is admin (the Deals app's `admin` permission set).
pub const ADMIN: &str = "admin";
/// The role of a user with the Deals app's `regular` permission set: Pipedrive's default access.
pub const REGULAR: &str = "regular";
/// The role of a user without Deals app access (no paid seat: account settings only); the
/// connector gives nobody this role.
pub const NO_DEALS: &str = "no_deals_access";
/// The Deals app, as the API names it in `access` and `permissionSets?app=`.
pub(super) const SALES: &str = "sales";
/// The app whose access lets a user manage users, billing and company settings.
const ACCOUNT_SETTINGS: &str = "account_settings";

/// One item of a user's `access`: an app, with its admin flag and permission set.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Access {
    app: String,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    permission_set_id: Option<String>,
}

/// A user as the Users API sends it (the fields the connector reads).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct PdUser {
    pub(super) id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    access: Option<Vec<Access>>,
    #[serde(default)]
    active_flag: Option<bool>,
    #[serde(default)]
    activated: Option<bool>,
    #[serde(default)]
    pub(super) is_deleted: bool,
    /// Deprecated in August 2022 and removed in February 2023: read only when `access` is
    /// missing (`true`, or `1` in the oldest answers).
    #[serde(default)]
    is_admin: Value,
}

impl PdUser {
    /// A user object.
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        Self::deserialize(v).map_err(|_| unexpected(APP, what))
    }

    /// The users of a `data` array (`null`: none, as `/users/find` answers no match).
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn list(v: &Value, what: &str) -> Result<Vec<Self>, E> {
        match v {
            Value::Null => Ok(vec![]),
            v => Vec::deserialize(v).map_err(|_| unexpected(APP, what)),
        }
    }

    /// Its address, trimmed and lowercased (`""` without one).
    pub(super) fn email(&self) -> String {
        self.email.as_deref().unwrap_or("").trim().to_lowercase()
    }

    /// Its Deals app access, when it has any.
    fn deals(&self) -> Option<&Access> {
        self.access.iter().flatten().find(|a| a.app == SALES)
    }

    /// Whether its role needs the Deals app's permission sets to be named (a permission set
    /// that is not the admin one).
    pub(super) fn needs_sets(&self) -> bool {
        self.deals()
            .is_some_and(|a| !a.admin && a.permission_set_id.is_some())
    }

    /// Whether it may manage users: account settings access (Pipedrive's user management), or
    /// in an answer without `access`, the former `is_admin`.
    pub(super) fn manages_users(&self) -> bool {
        match &self.access {
            Some(access) => access.iter().any(|a| a.app == ACCOUNT_SETTINGS),
            None => self.is_admin == true || self.is_admin == 1,
        }
    }

    /// Its role: [`ADMIN`] for Deals app admin access, else its Deals permission set as `sets`
    /// names it ([`Sets::role`]), [`REGULAR`] for the default access, [`NO_DEALS`] without.
    pub(super) fn role(&self, sets: &Sets) -> String {
        match self.deals() {
            None => NO_DEALS.to_owned(),
            Some(a) if a.admin => ADMIN.to_owned(),
            Some(a) => match &a.permission_set_id {
                Some(id) => sets.role(id),
                None => REGULAR.to_owned(),
            },
        }
    }

    /// As an app member: `deactivated` when its `active_flag` is off, `invited` until the person
    /// accepts the invitation (`activated: false`), else active.
    pub(super) fn member(&self, sets: &Sets) -> AppMember {
        let email = self.email();
        let mut m = member(
            self.id,
            Some(&email),
            self.name.as_deref(),
            vec![self.role(sets)],
            self.active_flag == Some(false),
        );
        if m.state == MemberState::Active && self.activated == Some(false) {
            m.state = MemberState::Invited;
        }
        m
    }
}

/// A permission set as `GET /permissionSets` sends it.
#[derive(Debug, Clone, Deserialize)]
struct PermissionSet {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    r#type: String,
}

/// The Deals app's permission sets.
#[derive(Debug, Clone, Default)]
pub(super) struct Sets(Vec<PermissionSet>);

impl Sets {
    /// The sets of a `data` array.
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        Vec::deserialize(v)
            .map(Self)
            .map_err(|_| unexpected(APP, what))
    }

    /// The role of the set `id`: [`ADMIN`] and [`REGULAR`] for Pipedrive's built-in sets (by
    /// their `type`), the id as sent for the others (`custom`, `manager`, or one not listed).
    pub(super) fn role(&self, id: &str) -> String {
        let kind = self
            .0
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.r#type.as_str());
        match kind {
            Some(ADMIN) => ADMIN.to_owned(),
            Some(REGULAR) => REGULAR.to_owned(),
            _ => id.to_owned(),
        }
    }

    /// Every set as a role labelled with its name, most privileged first: the admin set, the
    /// others (by name), the regular set.
    pub(super) fn roles(&self) -> Vec<AppRole> {
        let rank = |s: &PermissionSet| match s.r#type.as_str() {
            ADMIN => 0,
            REGULAR => 2,
            _ => 1,
        };
        let mut sets: Vec<&PermissionSet> = self.0.iter().collect();
        sets.sort_by(|a, b| (rank(a), &a.name).cmp(&(rank(b), &b.name)));
        sets.into_iter()
            .map(|s| AppRole {
                role: self.role(&s.id),
                label: s.name.clone(),
            })
            .collect()
    }
}

/// The `data` of a Pipedrive answer, whose `success` must not be `false`.
///
/// Errors: `AppChanged` for an answer that says it failed with a 2xx status.
pub(super) fn data(mut v: Value, what: &str) -> Result<Value, E> {
    match v["success"] == false {
        true => Err(unexpected(APP, what)),
        false => Ok(v["data"].take()),
    }
}

/// The one table from Pipedrive's error answers to connector errors by status, with its
/// `error` in the text (`error_info` only points at the developer pages).
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let says = says(r, &["error"]);
    match r.status {
        StatusCode::UNAUTHORIZED => E::BadCredentials(format!(
            "Pipedrive did not accept the token: {}",
            if says.is_empty() { "HTTP 401" } else { &says }
        )),
        StatusCode::CONFLICT => E::Conflict(format!("Pipedrive refused to {what}: {says}")),
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sets() -> Sets {
        Sets::parse(
            &json!([{"id": "a", "name": "Deals admin", "app": "sales", "type": "admin"},
                {"id": "r", "name": "Regular user", "app": "sales", "type": "regular"},
                {"id": "c", "name": "Closer", "app": "sales", "type": "custom"}]),
            "x",
        )
        .unwrap()
    }

    #[test]
    fn users_roles_and_states() {
        let u = |v: Value| PdUser::parse(&v, "x").unwrap();
        let admin = u(
            json!({"id": 1, "email": "A@X.org", "active_flag": true, "activated": true,
            "access": [{"app": "sales", "admin": true, "permission_set_id": "a"},
                {"app": "account_settings", "admin": true}]}),
        );
        assert!(admin.manages_users() && !admin.needs_sets());
        let m = admin.member(&Sets::default());
        assert_eq!(
            (m.roles[0].as_str(), m.email.as_deref(), m.state),
            ("admin", Some("a@x.org"), MemberState::Active)
        );
        let custom = u(
            json!({"id": 2, "email": "b@x.org", "active_flag": true, "activated": false,
            "access": [{"app": "sales", "admin": false, "permission_set_id": "c"}]}),
        );
        assert!(custom.needs_sets() && !custom.manages_users());
        let m = custom.member(&sets());
        assert_eq!((m.roles[0].as_str(), m.state), ("c", MemberState::Invited));
        let regular = u(json!({"id": 3, "active_flag": false,
            "access": [{"app": "sales", "permission_set_id": "r"}, {"app": "global"}]}));
        let m = regular.member(&sets());
        assert_eq!(
            (m.roles[0].as_str(), m.state),
            ("regular", MemberState::Deactivated)
        );
        let none = u(json!({"id": 4, "access": [{"app": "account_settings"}]}));
        assert_eq!(none.role(&sets()), NO_DEALS);
        assert!(u(json!({"id": 5, "is_admin": 1})).manages_users());
        assert!(!u(json!({"id": 5, "is_admin": 1, "access": []})).manages_users());
        assert!(PdUser::parse(&json!({"email": "x"}), "x").is_err());
        assert!(PdUser::list(&Value::Null, "x").unwrap().is_empty());

        let roles: Vec<String> = sets().roles().into_iter().map(|r| r.role).collect();
        assert_eq!(roles, ["admin", "c", "regular"]);
        assert_eq!(sets().role("gone"), "gone");
    }

    #[test]
    fn errors_and_envelopes() {
        let e = |status: u16, says: &str| {
            let body = json!({"success": false, "error": says,
                "error_info": "Please check developers.pipedrive.com", "data": null});
            map_error(
                &Reply::new(status, &body.to_string(), None, "http://h"),
                "x",
            )
        };
        assert!(matches!(e(401, "unauthorized access"), E::BadCredentials(m)
            if m.contains("unauthorized access")));
        assert!(matches!(e(403, "no"), E::InsufficientPermission(m) if m.contains("no")));
        assert!(matches!(e(404, "User not found"), E::NotFound(_)));
        assert!(matches!(e(400, "Invalid email"), E::Configuration(m) if m.contains("Invalid")));
        assert!(matches!(
            e(429, "Request over limit"),
            E::RateLimited { .. }
        ));
        assert_eq!(
            data(json!({"success": true, "data": [1]}), "x").unwrap(),
            json!([1])
        );
        assert!(data(json!({"success": false, "data": null}), "x").is_err());
    }
}
