use castellan_core::connector::{Connector, ConnectorContext, ConnectorError, MemberState};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::model::{
    for_put, new_user, parse_cursor, Deactivate, Roles, RolesFrom, ScimGroup, ScimUser, Settings,
};
use super::*;

fn ctx(pairs: &[(&str, &str)]) -> ConnectorContext {
    let mut c = ConnectorContext::new("https://h/scim/v2", "", SecretString::from(String::new()));
    for (k, v) in pairs {
        c.settings.insert((*k).to_owned(), (*v).to_owned());
    }
    c
}

#[test]
fn settings_default_and_refuse_unknown_values() {
    let s = Settings::of(&ctx(&[])).unwrap();
    assert_eq!(
        (s.roles_from, s.deactivate),
        (RolesFrom::Groups, Deactivate::ActiveFalse)
    );
    let s = Settings::of(&ctx(&[(ROLES_FROM, "none"), (DEACTIVATE_WITH, "delete")])).unwrap();
    assert_eq!(
        (s.roles_from, s.deactivate),
        (RolesFrom::None, Deactivate::Delete)
    );
    for bad in [(ROLES_FROM, "roles"), (DEACTIVATE_WITH, "suspend")] {
        assert!(matches!(
            Settings::of(&ctx(&[bad])),
            Err(ConnectorError::Configuration(_))
        ));
    }
    // The schema the connector declares accepts its own defaults and choices.
    let schema = ScimConnector::new().describe().settings;
    let values = [
        ("base_url", "https://api.example.com/scim/v2"),
        ("api_token", "t"),
        (ROLES_FROM, ROLES_NONE),
        (DEACTIVATE_WITH, DEACTIVATE_DELETE),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    castellan_core::connector::settings::check_settings(&schema, &values).unwrap();
}

#[test]
fn the_token_is_the_api_token_else_the_password() {
    let mut c = ctx(&[]);
    assert!(matches!(token(&c), Err(ConnectorError::BadCredentials(_))));
    c.password = SecretString::from("pw ".to_owned());
    assert_eq!(token(&c).unwrap().expose_secret(), "pw");
    c.api_token = Some(SecretString::from("tok".to_owned()));
    assert_eq!(token(&c).unwrap().expose_secret(), "tok");
    c.api_token = Some(SecretString::from(" ".to_owned()));
    assert_eq!(token(&c).unwrap().expose_secret(), "pw");
}

#[test]
fn users_become_members() {
    let v = json!({
        "id": "u1", "userName": "ana", "active": false,
        "name": {"givenName": "Ana", "familyName": "Lima"},
        "emails": [{"value": "Other@X.org", "type": "home"}, {"value": "Ana@X.org", "primary": true}]
    });
    let u = ScimUser::from_json(&v).unwrap();
    let m = u.member(vec!["admins".into()]);
    assert_eq!(m.app_member_id, "u1");
    assert_eq!(m.email.as_deref(), Some("ana@x.org"));
    assert_eq!(m.name.as_deref(), Some("Ana Lima"));
    assert_eq!(m.state, MemberState::Deactivated);
    assert!(u.has_email(&v, "other@x.org"));
    assert!(!u.has_email(&v, "nobody@x.org"));

    // No emails: the userName when it is an address; `active` absent means active.
    let v = json!({"id": "u2", "userName": "Bo@X.org", "displayName": "Bo"});
    let u = ScimUser::from_json(&v).unwrap();
    assert_eq!(u.email.as_deref(), Some("bo@x.org"));
    assert!(u.active && u.has_email(&v, "bo@x.org"));
    let v =
        json!({"id": "u3", "userName": "carol", "emails": [{"value": "c@x.org", "type": "work"}]});
    assert_eq!(
        ScimUser::from_json(&v).unwrap().email.as_deref(),
        Some("c@x.org")
    );
    assert_eq!(
        ScimUser::from_json(&json!({"id": "u4", "userName": "d"}))
            .unwrap()
            .email,
        None
    );
    assert_eq!(ScimUser::from_json(&json!({"userName": "d"})), None);
}

#[test]
fn new_users_and_puts_are_shaped_for_rfc_7643() {
    let u = new_user("ana@x.org", Some("Ana Maria Lima"));
    assert_eq!(u["userName"], "ana@x.org");
    assert_eq!(u["emails"][0]["primary"], true);
    assert_eq!(u["name"]["givenName"], "Ana Maria");
    assert_eq!(u["name"]["familyName"], "Lima");
    assert_eq!(u["active"], true);
    let u = new_user("bo@x.org", None);
    assert!(u.get("name").is_none() && u.get("displayName").is_none());
    let put = for_put(json!({"id": "1", "meta": {}, "groups": [], "userName": "x"}));
    assert_eq!(put, json!({"id": "1", "userName": "x"}));
}

fn group(id: &str, name: &str, members: &[&str]) -> ScimGroup {
    ScimGroup::from_json(&json!({
        "id": id,
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

#[test]
fn groups_are_roles() {
    let g = ScimGroup::from_json(&json!({
        "id": "g", "displayName": " Admins ",
        "members": [{"value": "u1"}, {"value": "g2", "type": "Group"}, {"value": "u2", "type": "User"}]
    }))
    .unwrap();
    assert_eq!(g.role(), "admins");
    assert_eq!(g.members.iter().collect::<Vec<_>>(), ["u1", "u2"]);

    let roles = Roles {
        groups: vec![
            group("1", "Editors", &["u1"]),
            group("2", "Admins", &["u1", "u2"]),
            group("3", "ops", &[]),
            group("4", "OPS", &[]),
        ],
    };
    assert_eq!(roles.of("u1"), ["admins", "editors"]);
    assert_eq!(roles.of("u9"), [BASE_ROLE]);
    assert_eq!(roles.group_for("ADMINS").unwrap().unwrap().id, "2");
    assert_eq!(roles.group_for("member").unwrap(), None);
    assert!(matches!(
        roles.group_for("owners"),
        Err(ConnectorError::Configuration(_))
    ));
    assert!(
        matches!(roles.group_for("ops"), Err(ConnectorError::Configuration(m)) if m.contains("2 SCIM groups"))
    );
    let listed: Vec<(String, String)> = roles
        .app_roles()
        .into_iter()
        .map(|r| (r.role, r.label))
        .collect();
    assert_eq!(listed[0], ("admins".to_owned(), "Admins".to_owned()));
    assert_eq!(listed.last().unwrap().0, BASE_ROLE);
    assert_eq!(listed.len(), 4);

    // A group called `member` is that role.
    let roles = Roles {
        groups: vec![group("1", "Member", &["u1"])],
    };
    assert_eq!(roles.group_for("member").unwrap().unwrap().id, "1");
    assert_eq!(roles.app_roles().len(), 1);
}

#[test]
fn cursors_round_trip() {
    assert_eq!(parse_cursor(None).unwrap(), Default::default());
    let c = crate::sdk::paging::AnchoredOffset::after(0, 100, "2819c223-7f76-453a");
    assert_eq!(parse_cursor(Some(&c.encode())).unwrap(), c);
    assert!(matches!(
        parse_cursor(Some("x")),
        Err(ConnectorError::Configuration(_))
    ));
}

#[test]
fn the_connector_declares_an_api_token_and_its_settings() {
    let info = ScimConnector::new().describe();
    assert_eq!(info.name, NAME);
    assert_eq!(info.sign_in, SignIn::ApiToken);
    assert!(info.can(Capability::ListRoles) && info.can(Capability::KeepSeat));
    let keys: Vec<&str> = info.settings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "base_url",
            "api_token",
            ROLES_FROM,
            DEACTIVATE_WITH,
            "requests_per_second",
            "allow_private"
        ]
    );
    assert_eq!(info.default_role, BASE_ROLE);
}
