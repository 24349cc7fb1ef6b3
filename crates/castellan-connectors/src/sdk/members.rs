//! Small rules about members shared by connectors: email addresses, app members built from what
//! the app reports, the guards every connector keeps around its automation account, and apps
//! whose roles are an administrator flag.

use castellan_core::catalog::Capability;
use castellan_core::connector::{settings, AppMember, ConnectorError, ConnectorInfo};
use castellan_core::connector::{MemberState, SignIn};

/// The role of an app's administrators, for apps whose only role is an administrator flag.
pub const ROLE_ADMIN: &str = "admin";
/// The role of everybody else in such apps.
pub const ROLE_USER: &str = "user";

/// The prefix of the app member id of a pending invitation (`invitation:<the app's id for it>`),
/// in apps whose invitations are not members yet (Calendly, Meta, TikTok, Pinterest).
pub const INVITATION: &str = "invitation:";

/// The guard of apps that give `what` (a resource, e.g. "advertiser accounts") only to members
/// who joined: `member` must not be a pending invitation ([`INVITATION`]).
///
/// Errors: `Conflict` ("<app> gives <what> only to members who joined: <member> has not
/// accepted the invitation yet").
pub fn joined(app: &str, what: &str, member: &str) -> Result<(), ConnectorError> {
    match member.trim().starts_with(INVITATION) {
        true => Err(ConnectorError::Conflict(format!(
            "{app} gives {what} only to members who joined: {member} has not accepted the \
             invitation yet"
        ))),
        false => Ok(()),
    }
}

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

/// The mailbox of an address: its local part without a `+tag` (sub-addressing, RFC 5233).
pub fn mailbox(email: &str) -> &str {
    let local = email_local_part(email);
    local.split('+').next().unwrap_or(local)
}

/// A person's name split for apps that ask for a first and a last name apart (Zoom's
/// `first_name` and `last_name`, Dropbox's `given_name` and `surname`): the first word and the
/// rest, trimmed; the rest is `None` when there is none. `"Ana María López"` gives `("Ana",
/// Some("María López"))`.
pub fn first_and_last(name: &str) -> (&str, Option<&str>) {
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, rest)) => (first, Some(rest.trim()).filter(|r| !r.is_empty())),
        None => (name, None),
    }
}

/// A setting or an invitation's field that is present and not blank, trimmed.
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// An app member from what the app reports: `id`, the email trimmed and lowercased, the name
/// trimmed (blank ones left out), `roles` as given, `active` or `deactivated`.
pub fn member(
    id: impl ToString,
    email: Option<&str>,
    name: Option<&str>,
    roles: Vec<String>,
    deactivated: bool,
) -> AppMember {
    let text = |s: Option<&str>| Some(s?.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
    AppMember {
        app_member_id: id.to_string(),
        email: text(email).map(|e| e.to_lowercase()),
        name: text(name),
        roles,
        state: match deactivated {
            true => MemberState::Deactivated,
            false => MemberState::Active,
        },
    }
}

/// The guard around the automation account: it may not do `what` to itself (demote, delete,
/// deactivate itself), or it would lose the access the hub needs.
///
/// Errors: `Conflict` ("the automation account cannot <what>") when `is_me`.
pub fn not_self(is_me: bool, what: &str) -> Result<(), ConnectorError> {
    match is_me {
        true => Err(ConnectorError::Conflict(format!(
            "the automation account cannot {what}"
        ))),
        false => Ok(()),
    }
}

/// Checks that the automation account holds every right (capability, permission) in `needed`,
/// by `has`.
///
/// Errors: `InsufficientPermission` naming the missing ones and `fix` (what to make the
/// account, e.g. "make it an administrator").
pub fn require_rights(
    needed: &[&str],
    has: impl Fn(&str) -> bool,
    fix: &str,
) -> Result<(), ConnectorError> {
    let missing: Vec<&str> = needed.iter().copied().filter(|r| !has(r)).collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(ConnectorError::InsufficientPermission(format!(
            "the account lacks {}: {fix}",
            missing.join(", ")
        ))),
    }
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

/// What a self-hosted app whose only role is an administrator flag declares (Synapse, Redmine):
/// its connector's `name` and `capabilities`, the roles [`ROLE_ADMIN`] and [`ROLE_USER`] (the
/// default), a password sign-in and the settings of a self-hosted app
/// ([`settings::self_hosted_password`]).
pub fn admin_flag_app(name: &str, capabilities: Vec<Capability>) -> ConnectorInfo {
    ConnectorInfo {
        name: name.to_owned(),
        roles: vec![ROLE_ADMIN.to_owned(), ROLE_USER.to_owned()],
        capabilities,
        default_role: ROLE_USER.to_owned(),
        sign_in: SignIn::Password,
        settings: settings::self_hosted_password(),
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
        assert_eq!((mailbox("a.b+x+y@h"), mailbox("+x@h")), ("a.b", ""));
        assert_eq!(
            first_and_last(" Ana  María López "),
            ("Ana", Some("María López"))
        );
        assert_eq!(first_and_last("Ana"), ("Ana", None));
        assert!(role_is_admin("App", "Admin").unwrap());
        assert!(!role_is_admin("App", "user").unwrap());
        assert!(matches!(
            role_is_admin("App", "owner"),
            Err(ConnectorError::Configuration(m)) if m.starts_with("App has no role")
        ));
        assert_eq!(admin_role(true), "admin");
        let info = admin_flag_app("app", vec![Capability::Remove]);
        assert_eq!(
            (info.roles.join(" "), info.default_role),
            ("admin user".into(), "user".into())
        );
    }

    #[test]
    fn members_and_guards() {
        let (blank, some) = (Some(" ".to_owned()), Some(" Ana ".to_owned()));
        assert_eq!(
            (given(&blank), given(&some), given(&None)),
            (None, Some("Ana"), None)
        );
        let m = member(7, Some(" A@X.org "), Some(" "), vec!["x".into()], true);
        assert_eq!(
            (
                m.app_member_id.as_str(),
                m.email.as_deref(),
                m.name,
                m.state
            ),
            ("7", Some("a@x.org"), None, MemberState::Deactivated)
        );
        assert_eq!(
            member("a", None, Some("Ana"), vec![], false).state,
            MemberState::Active
        );
        assert!(not_self(false, "delete itself").is_ok());
        assert!(matches!(
            not_self(true, "delete itself"),
            Err(ConnectorError::Conflict(m)) if m == "the automation account cannot delete itself"
        ));
        assert!(joined("App", "pages", "42").is_ok());
        assert!(matches!(
            joined("App", "pages", " invitation:7"),
            Err(ConnectorError::Conflict(m)) if m.contains("pages") && m.contains("accepted")
        ));
        assert!(require_rights(&["a", "b"], |_| true, "x").is_ok());
        assert!(matches!(
            require_rights(&["a", "b", "c"], |r| r == "b", "make it an admin"),
            Err(ConnectorError::InsufficientPermission(m))
                if m == "the account lacks a, c: make it an admin"
        ));
    }
}
