//! Unit tests of the Synapse connector's pure parts.

use std::time::Duration;

use castellan_core::connector::{ConnectorError, MemberState};
use serde_json::{json, Value};

use super::admin::{map_error, retry_hint, Call};
use super::model::{derive_localpart, parse_cursor, SynapseUser};
use crate::sdk::members::{email_local_part, role_is_admin};
use crate::sdk::paging::AnchoredOffset;
use crate::sdk::Reply;

fn reply(status: u16, body: Value) -> Reply {
    let mut r = Reply::new(status, &body.to_string(), None, "http://h");
    r.retry_after = r.json.as_ref().and_then(retry_hint);
    r
}

#[test]
fn localparts_are_derived_from_usernames_and_emails() {
    assert_eq!(derive_localpart("Ana.Lopez").unwrap(), "ana.lopez");
    assert_eq!(
        derive_localpart(email_local_part("j+o b@x.org")).unwrap(),
        "j_o_b"
    );
    assert_eq!(derive_localpart("zoë=1-2_3").unwrap(), "zo_=1-2_3");
    assert!(derive_localpart("  ").is_err());
}

#[test]
fn cursors_round_trip() {
    let c = AnchoredOffset::after(99, 1, "@a:b:8448");
    assert_eq!(parse_cursor(Some(&c.encode())).unwrap(), c);
    assert_eq!(parse_cursor(None).unwrap(), AnchoredOffset::default());
    assert_eq!(c.encode(), "100:@a:b:8448");
    for bad in ["0:@a:b", "x", "5:a", "5"] {
        assert!(parse_cursor(Some(bad)).is_err(), "{bad}");
    }
}

#[test]
fn errors_map_to_the_contract() {
    let r = reply(
        429,
        json!({"errcode": "M_LIMIT_EXCEEDED", "error": "slow", "retry_after_ms": 1500}),
    );
    assert_eq!(
        map_error(&r, Call::Login, "log in"),
        ConnectorError::RateLimited {
            retry_after: Some(Duration::from_millis(1500))
        }
    );
    let r = reply(
        403,
        json!({"errcode": "M_FORBIDDEN", "error": "Invalid username or password"}),
    );
    assert!(matches!(
        map_error(&r, Call::Login, "log in"),
        ConnectorError::BadCredentials(_)
    ));
    let r = reply(
        403,
        json!({"errcode": "M_FORBIDDEN", "error": "You are not a server admin"}),
    );
    assert_eq!(
        map_error(&r, Call::Admin, "list users"),
        ConnectorError::InsufficientPermission("the account is not a Synapse server admin".into())
    );
    let r = reply(
        404,
        json!({"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}),
    );
    assert!(matches!(
        map_error(&r, Call::Admin, "x"),
        ConnectorError::Configuration(_)
    ));
    let r = reply(
        404,
        json!({"errcode": "M_NOT_FOUND", "error": "User not found"}),
    );
    assert!(matches!(
        map_error(&r, Call::Admin, "x"),
        ConnectorError::NotFound(_)
    ));
    let r = reply(502, json!({}));
    assert!(map_error(&r, Call::Admin, "x").is_retryable());
    let r = Reply::new(404, "<html>", None, "http://h");
    assert!(matches!(
        map_error(&r, Call::Login, "log in"),
        ConnectorError::Configuration(_)
    ));
    let r = reply(400, json!({"errcode": "M_USER_IN_USE", "error": "taken"}));
    assert!(matches!(
        map_error(&r, Call::Admin, "x"),
        ConnectorError::Conflict(_)
    ));
}

#[test]
fn members_are_read_from_details() {
    let u = SynapseUser::from_json(&json!({
        "name": "@ana:h", "admin": 1, "deactivated": false, "displayname": "Ana",
        "threepids": [{"medium": "msisdn", "address": "123"}, {"medium": "email", "address": "Ana@X.org"}]
    }))
    .unwrap();
    assert_eq!(u.member.email.as_deref(), Some("ana@x.org"));
    assert_eq!(u.member.roles, ["admin"]);
    assert_eq!(u.member.state, MemberState::Active);
    let u = SynapseUser::from_json(&json!({"name": "@b:h", "admin": false, "deactivated": true}))
        .unwrap();
    assert_eq!(
        (u.member.roles[0].as_str(), u.member.state),
        ("user", MemberState::Deactivated)
    );
}

#[test]
fn roles_are_checked() {
    assert!(role_is_admin("Synapse", "admin").unwrap());
    assert!(!role_is_admin("Synapse", "User").unwrap());
    assert!(matches!(
        role_is_admin("Synapse", "owner"),
        Err(ConnectorError::Configuration(_))
    ));
}
