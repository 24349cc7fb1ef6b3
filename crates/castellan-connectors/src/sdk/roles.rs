//! App roles that connectors share: an app's roles ranked in its own order (most privileged
//! first) and labelled, a role checked against the roles an app has, and the roles members were
//! seen holding, for apps with no endpoint for their roles ([`HeldRoles`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use castellan_core::connector::{AppMember, AppRole, ConnectorError};

use super::usernames::capitalized;

/// `roles` without repeats: those in `order` first, in its order (most privileged first), then
/// the others by name.
pub fn ranked<S: AsRef<str>>(roles: impl IntoIterator<Item = S>, order: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = roles.into_iter().map(|r| r.as_ref().to_owned()).collect();
    let rank = |r: &str| order.iter().position(|o| *o == r).unwrap_or(order.len());
    out.sort_by(|a, b| (rank(a), a).cmp(&(rank(b), b)));
    out.dedup();
    out
}

/// Checks that `role` is one of `app`'s `roles`.
///
/// Errors: `Configuration` naming `app`, the role and its roles.
pub fn known(app: &str, role: &str, roles: &[String]) -> Result<(), ConnectorError> {
    match roles.iter().any(|r| r == role) {
        true => Ok(()),
        false => Err(ConnectorError::Configuration(format!(
            "{app} has no role {role:?} (its roles: {})",
            roles.join(", ")
        ))),
    }
}

/// `role` trimmed and lowercased, when it is one of `app`'s `roles` (Castellan's lowercase names
/// of roles an app sends in capitals, such as TikTok's `ADMIN` or Google Ads' `READ_ONLY`).
///
/// Errors: `Configuration` as [`known`] says.
pub fn lowercase_role(app: &str, role: &str, roles: &[&str]) -> Result<String, ConnectorError> {
    let role = role.trim().to_ascii_lowercase();
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    known(app, &role, &roles).map(|()| role)
}

/// An app's `defaults` (most privileged first, labelled with their names capitalised:
/// `administrator` is `Administrator`) and the `held` ones (labelled as they are), without
/// repeats, ranked by [`ranked`].
pub fn labelled(defaults: &[&str], held: impl IntoIterator<Item = String>) -> Vec<AppRole> {
    let all = defaults.iter().map(|r| r.to_string()).chain(held);
    let role = |role: String| match defaults.contains(&role.as_str()) {
        true => AppRole {
            label: capitalized(&role),
            role,
        },
        false => AppRole::plain(&role),
    };
    ranked(all, defaults).into_iter().map(role).collect()
}

/// The roles an app's members were seen holding, per site (its base URL), for apps with no
/// endpoint for their roles (WordPress): known for a site once a full listing recorded them
/// ([`HeldRoles::set`]), then kept up to date with every member seen since ([`HeldRoles::saw`]).
/// A role nobody holds any more stays until the process ends. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct HeldRoles(Arc<Mutex<HashMap<String, BTreeSet<String>>>>);

impl HeldRoles {
    fn sites(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeSet<String>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The roles held on `site`, `None` until a full listing recorded them.
    pub fn get(&self, site: &str) -> Option<BTreeSet<String>> {
        self.sites().get(site).cloned()
    }

    /// Records the roles a full listing of `site` found.
    pub fn set(&self, site: &str, held: BTreeSet<String>) {
        self.sites().insert(site.to_owned(), held);
    }

    /// Adds the roles `members` of `site` hold, when the site's roles are known.
    pub fn saw<'a>(&self, site: &str, members: impl IntoIterator<Item = &'a AppMember>) {
        if let Some(held) = self.sites().get_mut(site) {
            held.extend(members.into_iter().flat_map(|m| m.roles.iter().cloned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_rank_in_the_apps_order() {
        let order = ["owner", "admin"];
        let got = ranked(["zeta", "admin", "abc", "owner", "admin"], &order);
        assert_eq!(got, ["owner", "admin", "abc", "zeta"]);
        assert!(ranked(Vec::<String>::new(), &order).is_empty());
        let all = ranked(order, &order);
        assert!(known("App", "admin", &all).is_ok());
        assert!(matches!(
            known("App", "root", &all),
            Err(ConnectorError::Configuration(m)) if m == "App has no role \"root\" (its roles: owner, admin)"
        ));
        assert_eq!(lowercase_role("App", " ADMIN ", &order).unwrap(), "admin");
        assert!(matches!(
            lowercase_role("App", "root", &order),
            Err(ConnectorError::Configuration(_))
        ));
        let roles = labelled(&order, ["zeta".to_owned(), "owner".to_owned()]);
        assert_eq!(roles.len(), 3);
        assert_eq!(
            (roles[0].label.as_str(), &roles[2]),
            ("Owner", &AppRole::plain("zeta"))
        );
    }

    #[test]
    fn held_roles_are_known_after_a_full_listing_and_kept_up_to_date() {
        let held = HeldRoles::default();
        let member = |roles: &[&str]| AppMember {
            app_member_id: "1".into(),
            email: None,
            name: None,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            state: castellan_core::connector::MemberState::Active,
        };
        held.saw("http://a", [&member(&["x"])]);
        assert_eq!(held.get("http://a"), None, "unknown until a full listing");
        held.set("http://a", BTreeSet::from(["y".to_owned()]));
        held.clone().saw("http://a", [&member(&["x", "y"])]);
        let want = BTreeSet::from(["x".to_owned(), "y".to_owned()]);
        assert_eq!(
            (held.get("http://a"), held.get("http://b")),
            (Some(want), None)
        );
    }
}
