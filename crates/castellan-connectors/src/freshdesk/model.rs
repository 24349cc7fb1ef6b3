//! Freshdesk agents, contacts, roles and error bodies as the connector reads them.
//!
//! - Agents (`id`, `role_ids`, `ticket_scope`, `occasional`, `contact.{email, name, active}`):
//!   <https://developers.freshdesk.com/api/#agents>
//! - Roles (`id`, `name`, `description`, `default`): <https://developers.freshdesk.com/api/#roles>
//! - Contacts (`id`, `email`, `name`, `active`, `deleted`):
//!   <https://developers.freshdesk.com/api/#contacts>
//! - Errors (`{"description", "errors": [{"field", "message", "code"}]}`; `{"code", "message"}`
//!   for 401 and 403): <https://developers.freshdesk.com/api/#error>

use std::collections::BTreeMap;

use castellan_core::connector::{AppMember, AppRole, ConnectorError as E, MemberState};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::APP;
use crate::sdk::errors::unexpected;
use crate::sdk::json::{id, items, text};
use crate::sdk::members::member;
use crate::sdk::saas::{refused, says};
use crate::sdk::Reply;

/// The Account Administrator role (billing and account, and everything an admin does).
pub const ACCOUNT_ADMIN: &str = "account_admin";
/// The Administrator role (every feature of the Admin tab, agents included).
pub const ADMIN: &str = "admin";
/// The Supervisor role.
pub const SUPERVISOR: &str = "supervisor";
/// The Agent role: the role of invited members unless asked otherwise.
pub const AGENT: &str = "agent";
/// Freshdesk's default roles (`default: true`), by the connector's key and their name as sent,
/// most privileged first. A custom role's key is its id.
pub(crate) const DEFAULTS: [(&str, &str); 4] = [
    (ACCOUNT_ADMIN, "Account Administrator"),
    (ADMIN, "Administrator"),
    (SUPERVISOR, "Supervisor"),
    (AGENT, "Agent"),
];
/// The roles that may add, change and delete agents.
pub(crate) const MANAGERS: [&str; 2] = [ACCOUNT_ADMIN, ADMIN];

/// A role as `GET /roles` sends it: its key (a default role's, else its id) and its name.
pub(super) fn roles(v: &Value, what: &str) -> Result<Vec<AppRole>, E> {
    let rows = v.as_array().ok_or_else(|| unexpected(APP, what))?;
    let mut out = Vec::new();
    for r in rows {
        let (Some(rid), name) = (id(&r["id"]), text(&r["name"])) else {
            return Err(unexpected(APP, what));
        };
        let default = DEFAULTS
            .iter()
            .find(|(_, n)| r["default"] == true && *n == name);
        let role = default.map_or(rid, |(key, _)| (*key).to_owned());
        out.push(AppRole {
            role,
            label: name.to_owned(),
        });
    }
    let rank = |r: &AppRole| DEFAULTS.iter().position(|(k, _)| *k == r.role);
    out.sort_by_key(|r| (rank(r).unwrap_or(DEFAULTS.len()), r.label.clone()));
    Ok(out)
}

/// The ids of the default roles by key, and back: what the session keeps of `GET /roles` (the
/// default roles exist as long as the account; a custom role's key is its id, so none is kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RoleIds(BTreeMap<String, String>);

impl RoleIds {
    /// The default roles of a `GET /roles` answer.
    ///
    /// Errors: `AppChanged` for another body.
    pub(super) fn of(v: &Value, what: &str) -> Result<Self, E> {
        let rows = v.as_array().ok_or_else(|| unexpected(APP, what))?;
        let mut ids = BTreeMap::new();
        for r in rows.iter().filter(|r| r["default"] == true) {
            let hit = DEFAULTS.iter().find(|(_, n)| *n == text(&r["name"]));
            if let (Some((key, _)), Some(rid)) = (hit, id(&r["id"])) {
                ids.insert((*key).to_owned(), rid);
            }
        }
        Ok(Self(ids))
    }

    /// As kept in the session: `{"<key>": "<id>"}`.
    pub(super) fn to_json(&self) -> Value {
        json!(self.0)
    }

    /// As [`RoleIds::to_json`] made it (anything else reads as none).
    pub(super) fn from_json(v: &Value) -> Self {
        let pairs = v.as_object().into_iter().flatten();
        let ids = pairs.filter_map(|(k, v)| Some((k.clone(), id(v)?)));
        Self(ids.collect())
    }

    /// The key of the role `rid`: a default role's, else the id.
    pub(super) fn key(&self, rid: &str) -> String {
        let hit = self.0.iter().find(|(_, v)| *v == rid);
        hit.map_or(rid, |(k, _)| k.as_str()).to_owned()
    }

    /// The id of the role `key`: a default role's id, else the key (a custom role's id).
    ///
    /// Errors: `Configuration` for a default key the account lacks.
    pub(super) fn id(&self, key: &str) -> Result<String, E> {
        if let Some(rid) = self.0.get(key) {
            return Ok(rid.clone());
        }
        match key.bytes().all(|b| b.is_ascii_digit()) && !key.is_empty() {
            true => Ok(key.to_owned()),
            false => Err(E::Configuration(format!(
                "this Freshdesk account has no default role {key:?}"
            ))),
        }
    }
}

/// An agent (`GET /agents`, `/agents/{id}`, `/agents/me`) as an app member: roles by key
/// ([`RoleIds::key`]); `invited` while its contact is not `active` (the agent has not
/// activated the account from Freshdesk's email).
///
/// Errors: `AppChanged` without an id.
pub(super) fn agent(v: &Value, roles: &RoleIds, what: &str) -> Result<AppMember, E> {
    let aid = id(&v["id"]).ok_or_else(|| unexpected(APP, what))?;
    let keys = items(&v["role_ids"]).iter().filter_map(id);
    let contact = &v["contact"];
    let mut m = member(
        aid,
        contact["email"].as_str(),
        contact["name"].as_str(),
        keys.map(|r| roles.key(&r)).collect(),
        false,
    );
    if contact["active"] == false {
        m.state = MemberState::Invited;
    }
    Ok(m)
}

/// A contact (`GET /contacts`, `/contacts/{id}`) as a former agent: `deactivated`, no role;
/// `None` for a deleted one.
///
/// Errors: `AppChanged` without an id.
pub(super) fn contact(v: &Value, what: &str) -> Result<Option<AppMember>, E> {
    let cid = id(&v["id"]).ok_or_else(|| unexpected(APP, what))?;
    let m = member(cid, v["email"].as_str(), v["name"].as_str(), vec![], true);
    Ok((v["deleted"] != true).then_some(m))
}

/// The one table from Freshdesk's error answers to connector errors: a refused API key is
/// `BadCredentials`, a taken address (`duplicate_value`, 409) `Conflict`, a 404 without a body
/// `NotFound`; the rest by status ([`refused`]), with each `errors[]` entry in the message.
pub(super) fn map_error(r: &Reply, what: &str) -> E {
    let mut says = says(r, &["description", "code", "message"]);
    let errors = r.json.as_ref().map(|b| items(&b["errors"])).unwrap_or(&[]);
    let each: Vec<String> = errors
        .iter()
        .map(|e| {
            let (field, message, code) = (text(&e["field"]), text(&e["message"]), text(&e["code"]));
            format!("{field}: {message} ({code})")
        })
        .collect();
    if !each.is_empty() {
        says = format!("{says} ({})", each.join("; "));
    }
    let duplicate = errors.iter().any(|e| e["code"] == "duplicate_value");
    match r.status {
        StatusCode::UNAUTHORIZED => E::BadCredentials(format!(
            "Freshdesk did not accept the automation account's API key: {says}"
        )),
        StatusCode::CONFLICT => E::Conflict(format!("Freshdesk refused to {what}: {says}")),
        _ if duplicate => E::Conflict(format!("Freshdesk refused to {what}: {says}")),
        StatusCode::NOT_FOUND if r.text.trim().is_empty() => {
            E::NotFound(format!("Freshdesk has no such record ({what})"))
        }
        _ => refused(r, APP, what, &says),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role_list() -> Value {
        json!([
            {"id": 43000000101_u64, "name": "Account Administrator", "default": true},
            {"id": 43000000104_u64, "name": "Agent", "default": true},
            {"id": 43000000105_u64, "name": "Billing Specialist", "default": false},
            {"id": 43000000106_u64, "name": "Agent", "default": false},
        ])
    }

    #[test]
    fn roles_are_keyed_and_ranked() {
        let got = roles(&role_list(), "x").unwrap();
        let pairs: Vec<(&str, &str)> = got
            .iter()
            .map(|r| (r.role.as_str(), r.label.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("account_admin", "Account Administrator"),
                ("agent", "Agent"),
                ("43000000106", "Agent"),
                ("43000000105", "Billing Specialist"),
            ]
        );
        let ids = RoleIds::of(&role_list(), "x").unwrap();
        assert_eq!(RoleIds::from_json(&ids.to_json()), ids);
        assert_eq!(
            (ids.key("43000000104"), ids.key("43000000105")),
            ("agent".into(), "43000000105".into())
        );
        assert_eq!(ids.id("agent").unwrap(), "43000000104");
        assert_eq!(ids.id("43000000105").unwrap(), "43000000105");
        assert!(matches!(ids.id("supervisor"), Err(E::Configuration(_))));
        assert!(roles(&json!({"roles": []}), "x").is_err());
    }

    #[test]
    fn agents_contacts_and_errors() {
        let ids = RoleIds::of(&role_list(), "x").unwrap();
        let v = json!({"id": 7, "role_ids": [43000000104_u64, 43000000105_u64],
            "contact": {"email": "Ana@X.org", "name": "Ana", "active": false}});
        let m = agent(&v, &ids, "x").unwrap();
        assert_eq!(
            (m.email.as_deref(), m.roles.join(" "), m.state),
            (
                Some("ana@x.org"),
                "agent 43000000105".into(),
                MemberState::Invited
            )
        );
        let c = contact(&json!({"id": 7, "email": "a@x.org", "deleted": false}), "x");
        assert_eq!(c.unwrap().unwrap().state, MemberState::Deactivated);
        assert_eq!(
            contact(&json!({"id": 7, "deleted": true}), "x").unwrap(),
            None
        );

        let e =
            |status: u16, body: &str| map_error(&Reply::new(status, body, None, "http://f"), "x");
        let dup = json!({"description": "Validation failed", "errors": [{"field": "email",
            "message": "It should be a unique value", "code": "duplicate_value"}]});
        assert!(matches!(e(409, &dup.to_string()), E::Conflict(m) if m.contains("unique value")));
        let bad = json!({"description": "Validation failed", "errors": [{"field": "role_ids",
            "message": "It should contain elements of type Positive Integer only",
            "code": "invalid_value"}]});
        let bad = e(400, &bad.to_string());
        assert!(matches!(bad, E::Configuration(m) if m.contains("role_ids: It should")));
        let key = json!({"code": "invalid_credentials", "message": "You have to be logged in"});
        assert!(matches!(e(401, &key.to_string()), E::BadCredentials(_)));
        let no = json!({"code": "access_denied", "message": "You are not authorized"});
        assert!(
            matches!(e(403, &no.to_string()), E::InsufficientPermission(m) if m.contains("not authorized"))
        );
        assert!(matches!(e(404, ""), E::NotFound(_)));
        assert!(matches!(e(404, "<html>nope</html>"), E::Configuration(_)));
    }
}
