//! Small rules about members shared by connectors: email addresses, and apps whose roles are an
//! administrator flag.

use castellan_core::connector::ConnectorError;

/// The role of an app's administrators, for apps whose only role is an administrator flag.
pub const ROLE_ADMIN: &str = "admin";
/// The role of everybody else in such apps.
pub const ROLE_USER: &str = "user";

/// An email address trimmed and lowercased, with a non-empty local part and domain and no
/// whitespace.
///
/// Errors: `Configuration` when it is not an address.
pub fn normalize_email(email: &str) -> Result<String, ConnectorError> {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !email.contains(char::is_whitespace) =>
        {
            Ok(email)
        }
        _ => Err(ConnectorError::Configuration(format!(
            "{email:?} is not an email address"
        ))),
    }
}

/// The part before the last `@` (the whole string without one).
pub fn email_local_part(email: &str) -> &str {
    email.rsplit_once('@').map_or(email, |(local, _)| local)
}

/// Whether `role` ([`ROLE_ADMIN`] or [`ROLE_USER`], any case) is the administrator flag.
///
/// Errors: `Configuration` for another role, naming `app`.
pub fn role_is_admin(app: &str, role: &str) -> Result<bool, ConnectorError> {
    match role.trim().to_ascii_lowercase().as_str() {
        ROLE_ADMIN => Ok(true),
        ROLE_USER => Ok(false),
        other => Err(ConnectorError::Configuration(format!(
            "{app} has no role {other:?} (its roles: admin, user)"
        ))),
    }
}

/// The role of a member with or without the administrator flag.
pub fn admin_role(admin: bool) -> String {
    if admin { ROLE_ADMIN } else { ROLE_USER }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_roles() {
        assert_eq!(normalize_email(" Ana@X.org ").unwrap(), "ana@x.org");
        for bad in ["ana", "@x", "a@", "a b@x"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert_eq!(email_local_part("a.b@x@y"), "a.b@x");
        assert_eq!(email_local_part("ab"), "ab");
        assert!(role_is_admin("App", "Admin").unwrap());
        assert!(!role_is_admin("App", "user").unwrap());
        assert!(matches!(
            role_is_admin("App", "owner"),
            Err(ConnectorError::Configuration(m)) if m.starts_with("App has no role")
        ));
        assert_eq!(admin_role(true), "admin");
    }
}
