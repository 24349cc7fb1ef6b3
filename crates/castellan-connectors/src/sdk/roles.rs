//! App roles that connectors share: an app's roles ranked in its own order (most privileged
//! first), and a role checked against the roles an app has.

use castellan_core::connector::ConnectorError;

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
    }
}
