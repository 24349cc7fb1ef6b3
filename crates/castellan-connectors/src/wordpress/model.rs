//! WordPress users, roles and error bodies as the connector reads them.

use castellan_core::connector::{AppMember, ConnectorError as E};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::members::member;
use crate::sdk::rest::{plain_text, status_error};
use crate::sdk::roles::ranked;
use crate::sdk::Reply;

/// The role that may do anything on a single site.
pub(crate) const ADMIN: &str = "administrator";
/// WordPress's default roles, most privileged first; their labels are the names capitalised
/// (<https://wordpress.org/documentation/article/roles-and-capabilities/>).
pub(crate) const DEFAULT_ROLES: [&str; 5] =
    [ADMIN, "editor", "author", "contributor", "subscriber"];

/// What the automation account must be able to do: see, create, promote and delete users.
pub(super) const NEEDED: [&str; 4] = [
    "list_users",
    "create_users",
    "promote_users",
    "delete_users",
];

/// A user as `/wp/v2/users` reports it with `context=edit`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WpUser {
    pub(super) id: u64,
    pub(super) username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    pub(super) roles: Vec<String>,
}

impl WpUser {
    /// From a user object. Errors: `AppChanged` without an id, username or roles.
    pub(super) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        Self::deserialize(v).map_err(|_| unexpected(APP, what))
    }

    /// The email, trimmed and lowercased.
    pub(super) fn email(&self) -> String {
        self.email.trim().to_lowercase()
    }

    /// As an app member, its roles most privileged first: a user with no role on the site
    /// keeps the account but can do nothing there (`deactivated`).
    pub(super) fn member(self) -> AppMember {
        let roles = ranked(self.roles, &DEFAULT_ROLES);
        let (email, name, off) = (Some(&*self.email), Some(&*self.name), roles.is_empty());
        member(self.id, email, name, roles, off)
    }
}

/// The one table from WordPress's answers to connector errors: the error `code` first
/// (`wp_insert_user`'s errors carry no status, so they arrive as 500), then the status.
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let field = |k: &str| r.json.as_ref().and_then(|b| b[k].as_str()).unwrap_or("");
    let (code, msg) = (field("code"), plain_text(field("message")));
    let says = format!("WordPress refused to {what}: {msg} ({code})");
    match (code, r.status) {
        ("existing_user_login" | "existing_user_email", _) => E::Conflict(says),
        ("rest_user_invalid_id", _) => E::NotFound(says),
        ("rest_cannot_delete", StatusCode::NOT_IMPLEMENTED) => {
            E::Unsupported("WordPress multisite deletes no users through the REST API".into())
        }
        ("rest_no_route", _) => E::Configuration(format!("{} has no route to {what}", r.base)),
        (_, StatusCode::UNAUTHORIZED) => E::BadCredentials(format!(
            "WordPress did not accept the username and application password ({code}); \
             Application Passwords need HTTPS, and the web server must pass the \
             Authorization header on"
        )),
        _ => status_error(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_roles_and_the_errors_the_real_site_rarely_gives() {
        let v = json!({"id": 7, "username": "a", "email": "A@X.org", "roles": ["x", "editor"]});
        let m = WpUser::parse(&v, "x").unwrap().member();
        assert_eq!(
            (m.email.as_deref(), m.roles.join(" ")),
            (Some("a@x.org"), "editor x".into())
        );
        let e = |s: u16, code: &str| {
            let body = json!({"code": code, "message": "<b>Error:</b> no"}).to_string();
            map_error(&Reply::new(s, &body, None, "http://wp"), "x")
        };
        assert!(
            matches!(e(500, "existing_user_email"), E::Conflict(m) if m.contains(": Error: no"))
        );
        assert!(matches!(e(404, "rest_no_route"), E::Configuration(_)));
        assert!(matches!(e(501, "rest_cannot_delete"), E::Unsupported(_)));
    }
}
