//! Roles on resources (contract v2): a hub share may give a person, besides the app role, a
//! role on resources inside the app (a Redmine project, a SCIM group, a Synapse room). The rules
//! here are pure: how a share's resource roles replace the grant's, what a share may ask for,
//! which resources a hub manages, and what is not yet in effect in the app. No I/O here.
//!
//! A grant keeps a resource it no longer gives as an entry without a role
//! ([`ResourceRole::role`] `None`): Castellan then takes whatever role the member holds there
//! away, so narrowing a share is as effective as revoking one. The resources any grant names
//! are the hub's *managed* resources; a check for updates reads who holds which role on them
//! (and on no other), and people without a grant are left alone there, as in the app itself.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::connector::AppResource;
use crate::error::{CoreError, CoreResult};
use crate::hub::Grant;
use crate::validate;

/// One resource role on a grant: the role the person should hold on the resource, or `None`
/// for none (a role Castellan gave before and takes away).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRole {
    /// The resource's app id ([`AppResource::resource_id`]).
    pub resource_id: String,
    /// The role on it (one of [`AppResource::roles`]), or `None` for no role.
    pub role: Option<String>,
}

/// Who holds which roles on each managed resource: resource id → app member id → roles (most
/// privileged first), as a check for updates read them.
pub type Holdings = HashMap<String, HashMap<String, Vec<String>>>;

/// The grant's resource roles after a share: `asked` `None` keeps `old` as it is; otherwise the
/// asked entries win, and a resource `old` gave a role on that `asked` leaves out is kept with
/// no role (so the bot takes the role away). Ordered by resource id.
pub fn merge(old: &[ResourceRole], asked: Option<&[ResourceRole]>) -> Vec<ResourceRole> {
    let Some(asked) = asked else {
        return old.to_vec();
    };
    let mut out: Vec<ResourceRole> = asked.to_vec();
    for o in old {
        if !asked.iter().any(|a| a.resource_id == o.resource_id) {
            out.push(ResourceRole {
                resource_id: o.resource_id.clone(),
                role: None,
            });
        }
    }
    out.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    out
}

/// The entries of a grant that ends (a revoke, a deactivation): every resource kept with no
/// role, so that a later share takes any role still held there away.
pub fn taken_away(roles: &[ResourceRole]) -> Vec<ResourceRole> {
    roles
        .iter()
        .map(|r| ResourceRole {
            resource_id: r.resource_id.clone(),
            role: None,
        })
        .collect()
}

/// Checks what a share asks for against the resources the app listed at the last check
/// (`resources`), and spells each role as the app does. Errors (`Validation`, field
/// `resource_roles`): a resource named twice, a resource the app did not list, a role the
/// resource does not have (matched case-insensitively).
pub fn checked(asked: &[ResourceRole], resources: &[AppResource]) -> CoreResult<Vec<ResourceRole>> {
    let invalid = |m: String| CoreError::invalid("resource_roles", m);
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(asked.len());
    for a in asked {
        let id = a.resource_id.trim();
        if !seen.insert(id.to_owned()) {
            return Err(invalid(format!(
                "the resource `{}` is named twice",
                validate::clip(id)
            )));
        }
        let Some(r) = resources.iter().find(|r| r.resource_id == id) else {
            return Err(invalid(format!(
                "the app listed no resource `{}` at the last check for updates",
                validate::clip(id)
            )));
        };
        let role = match a.role.as_deref().map(str::trim) {
            None => None,
            Some(role) => Some(
                r.roles
                    .iter()
                    .find(|x| x.eq_ignore_ascii_case(role))
                    .cloned()
                    .ok_or_else(|| {
                        invalid(format!(
                            "`{}` is not a role on the {} `{}`: {}",
                            validate::clip(role),
                            r.kind,
                            r.name,
                            r.roles.join(", ")
                        ))
                    })?,
            ),
        };
        out.push(ResourceRole {
            resource_id: id.to_owned(),
            role,
        });
    }
    Ok(out)
}

/// The hub's managed resources: every resource a grant names, with or without a role.
pub fn managed(grants: &[Grant]) -> BTreeSet<String> {
    grants
        .iter()
        .flat_map(|g| g.resource_roles.iter().map(|r| r.resource_id.clone()))
        .collect()
}

/// The entries of `want` not in effect for `app_member_id` according to `holdings`: a role the
/// member does not hold first, or a role to take away that they still hold. A resource missing
/// from `holdings` (not read, or gone from the app) is skipped: nothing is known about it.
pub fn pending(
    want: &[ResourceRole],
    app_member_id: &str,
    holdings: &Holdings,
) -> Vec<ResourceRole> {
    want.iter()
        .filter(|w| {
            let Some(holders) = holdings.get(&w.resource_id) else {
                return false;
            };
            let held = holders.get(app_member_id).and_then(|r| r.first());
            match (&w.role, held) {
                (Some(role), held) => held != Some(role),
                (None, held) => held.is_some(),
            }
        })
        .cloned()
        .collect()
}

/// How a resource role reads in reports and the automation log: `project-x: Manager`, or
/// `project-x: none`.
pub fn describe(r: &ResourceRole) -> String {
    format!("{}: {}", r.resource_id, r.role.as_deref().unwrap_or("none"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(id: &str, role: Option<&str>) -> ResourceRole {
        ResourceRole {
            resource_id: id.into(),
            role: role.map(Into::into),
        }
    }

    fn project(id: &str) -> AppResource {
        AppResource {
            resource_id: id.into(),
            kind: "project".into(),
            name: id.to_uppercase(),
            roles: vec!["Manager".into(), "Developer".into()],
        }
    }

    #[test]
    fn a_share_replaces_resource_roles_and_keeps_dropped_ones_without_a_role() {
        let old = [rr("a", Some("Manager")), rr("b", Some("Developer"))];
        assert_eq!(merge(&old, None), old.to_vec());
        let asked = [rr("c", Some("Developer")), rr("a", Some("Developer"))];
        assert_eq!(
            merge(&old, Some(&asked)),
            [
                rr("a", Some("Developer")),
                rr("b", None),
                rr("c", Some("Developer"))
            ]
        );
        // Narrowing to nothing takes every role away; so does the end of the grant.
        assert_eq!(merge(&old, Some(&[])), [rr("a", None), rr("b", None)]);
        assert_eq!(taken_away(&old), [rr("a", None), rr("b", None)]);
    }

    #[test]
    fn a_share_names_listed_resources_and_their_roles_only() {
        let listed = [project("a"), project("b")];
        let ok = checked(&[rr(" a ", Some("manager")), rr("b", None)], &listed).unwrap();
        assert_eq!(ok, [rr("a", Some("Manager")), rr("b", None)]);
        for (asked, says) in [
            (vec![rr("zz", Some("Manager"))], "no resource `zz`"),
            (vec![rr("a", Some("Owner"))], "Manager, Developer"),
            (vec![rr("a", None), rr("a", Some("Manager"))], "named twice"),
        ] {
            match checked(&asked, &listed) {
                Err(CoreError::Validation { field, message }) => {
                    assert_eq!(field, "resource_roles");
                    assert!(message.contains(says), "{message}");
                }
                other => panic!("{asked:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn pending_compares_the_first_role_held_and_skips_unread_resources() {
        let mut h: Holdings = HashMap::new();
        h.insert(
            "a".into(),
            HashMap::from([("7".into(), vec!["Developer".into()])]),
        );
        h.insert("b".into(), HashMap::new());
        let want = [
            rr("a", Some("Developer")),
            rr("b", Some("Manager")),
            rr("gone", Some("Manager")),
        ];
        assert_eq!(pending(&want, "7", &h), [rr("b", Some("Manager"))]);
        let away = [rr("a", None), rr("b", None)];
        assert_eq!(pending(&away, "7", &h), [rr("a", None)]);
        assert_eq!(pending(&away, "8", &h), Vec::<ResourceRole>::new());
        assert_eq!(describe(&rr("a", None)), "a: none");
    }
}
