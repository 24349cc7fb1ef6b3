//! WordPress users, roles and error bodies as the connector reads them.

use castellan_core::connector::{AppMember, AppRole, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::APP;
use crate::sdk::errors::{common_error, unexpected};
use crate::sdk::rest::plain_text;
use crate::sdk::Reply;

/// WordPress's default roles with their labels, most privileged first
/// (<https://wordpress.org/documentation/article/roles-and-capabilities/>).
pub(super) const DEFAULT_ROLES: [(&str, &str); 5] = [
    ("administrator", "Administrator"),
    ("editor", "Editor"),
    ("author", "Author"),
    ("contributor", "Contributor"),
    ("subscriber", "Subscriber"),
];

/// What the automation account must be able to do: see, create, change the role of and delete
/// users.
pub(super) const NEEDED: [&str; 4] = [
    "list_users",
    "create_users",
    "promote_users",
    "delete_users",
];

/// A user as `/wp/v2/users` reports it with `context=edit` (`username`, `email`, `roles`).
#[derive(Debug, Clone)]
pub(super) struct WpUser {
    pub(super) id: u64,
    pub(super) login: String,
    pub(super) member: AppMember,
}

/// The fields of a user object the connector reads.
#[derive(Deserialize)]
struct Raw {
    id: u64,
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    roles: Vec<String>,
}

impl WpUser {
    /// From a user object. Errors: `AppChanged` without an id, username or roles.
    pub(super) fn parse(v: &Value, what: &str) -> Result<Self, E> {
        let u = Raw::deserialize(v).map_err(|_| unexpected(APP, what))?;
        let mut roles = u.roles;
        sort_roles(&mut roles);
        // A user with no role on the site keeps the account but can do nothing there.
        let state = match roles.is_empty() {
            true => MemberState::Deactivated,
            false => MemberState::Active,
        };
        let text = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let member = AppMember {
            app_member_id: u.id.to_string(),
            email: text(u.email.to_lowercase()),
            name: text(u.name),
            roles,
            state,
        };
        Ok(Self {
            id: u.id,
            login: u.username,
            member,
        })
    }
}

/// Default roles in their order first, then the others by name; no repeats.
fn sort_roles(roles: &mut Vec<String>) {
    let rank = |r: &String| DEFAULT_ROLES.iter().position(|(d, _)| d == r);
    roles.sort_by_key(|r| (rank(r).unwrap_or(usize::MAX), r.clone()));
    roles.dedup();
}

/// The five default roles and the `held` ones, most privileged first.
pub(super) fn app_roles(held: impl IntoIterator<Item = String>) -> Vec<AppRole> {
    let mut roles: Vec<String> = DEFAULT_ROLES.iter().map(|(r, _)| (*r).to_owned()).collect();
    roles.extend(held);
    sort_roles(&mut roles);
    let label = |r: &String| DEFAULT_ROLES.iter().find(|(d, _)| d == r).map(|(_, l)| *l);
    let role = |r: String| AppRole {
        label: label(&r).unwrap_or(&r).to_owned(),
        role: r,
    };
    roles.into_iter().map(role).collect()
}

/// The one table from WordPress's answers to connector errors. The error `code` comes first:
/// `wp_insert_user`'s errors (`existing_user_login`…) carry no status, so they arrive as 500.
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let field = |k: &str| r.json.as_ref().and_then(|b| b[k].as_str()).unwrap_or("");
    let (code, msg) = (field("code"), plain_text(field("message")));
    let says = format!("WordPress refused to {what}: {msg} ({code})");
    match code {
        "existing_user_login" | "existing_user_email" | "rest_user_exists" => {
            return E::Conflict(says)
        }
        "rest_user_invalid_id" => return E::NotFound(says),
        "rest_cannot_delete" if r.status == StatusCode::NOT_IMPLEMENTED => {
            return E::Unsupported("WordPress multisite deletes no users by REST".into())
        }
        "rest_no_route" => return E::Configuration(format!("{} has no route to {what}", r.base)),
        _ => {}
    }
    if let Some(e) = common_error(r, what, "the WordPress site's address") {
        return e;
    }
    match r.status {
        StatusCode::UNAUTHORIZED => E::BadCredentials(format!(
            "WordPress did not accept the username and application password ({code}); \
             Application Passwords need HTTPS, and the web server must pass the \
             Authorization header on"
        )),
        StatusCode::FORBIDDEN => E::InsufficientPermission(says),
        s if r.json.is_none() => E::Configuration(format!(
            "{} answered '{what}' with HTTP {s}: not a WordPress site (or not its address)",
            r.base
        )),
        StatusCode::NOT_FOUND => E::NotFound(says),
        s if s.is_client_error() => E::Configuration(says),
        s => E::AppChanged(format!("{APP} answered '{what}' with HTTP {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_and_roles() {
        let v = json!({"id": 7, "username": "ana", "email": "Ana@X.org", "roles": ["x", "editor"]});
        let u = WpUser::parse(&v, "x").unwrap().member;
        assert_eq!((u.email.as_deref(), u.name), (Some("ana@x.org"), None));
        assert_eq!(u.state, MemberState::Active);
        assert_eq!(u.roles, ["editor", "x"]);
        let none = WpUser::parse(&json!({"id": 8, "username": "b", "roles": []}), "x");
        assert_eq!(none.unwrap().member.state, MemberState::Deactivated);
        assert!(WpUser::parse(&json!({"id": 9, "username": "c"}), "x").is_err());
        let roles = app_roles(["zeta".to_owned(), "editor".to_owned()]);
        assert_eq!((roles.len(), roles[0].label.as_str()), (6, "Administrator"));
        assert_eq!(roles[5], AppRole::plain("zeta"));
    }

    #[test]
    fn errors_map_by_code_then_status() {
        use E::*;
        let e = |s: u16, code: &str| {
            let body = json!({"code": code, "message": "<b>Error:</b> no"}).to_string();
            map_error(&Reply::new(s, &body, None, "http://wp"), "x")
        };
        assert!(matches!(e(500, "existing_user_login"), Conflict(m) if m.contains(": Error: no")));
        assert!(matches!(e(404, "rest_user_invalid_id"), NotFound(_)));
        assert!(matches!(e(401, "rest_not_logged_in"), BadCredentials(_)));
        assert!(matches!(
            e(403, "rest_cannot_edit"),
            InsufficientPermission(_)
        ));
        assert!(matches!(e(400, "rest_user_invalid_role"), Configuration(_)));
        assert!(matches!(e(404, "rest_no_route"), Configuration(_)));
        assert!(matches!(e(501, "rest_cannot_delete"), Unsupported(_)));
        assert!(e(500, "db_error").is_retryable());
        let html = Reply::new(404, "<html>", None, "http://wp");
        assert!(matches!(map_error(&html, "x"), Configuration(_)));
    }
}
